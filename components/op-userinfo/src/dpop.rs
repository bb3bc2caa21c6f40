//! DPoP at a protected resource (RFC 9449 §7): the proof that comes with
//! `Authorization: DPoP <token>`.
//!
//! 1. The stateless checks of `authrim_oauth::dpop::verify`, with `htm`
//!    and `htu` of this request and `ath` of the token.
//! 2. The token must be bound to the proof's key (`cnf.jkt` recorded by
//!    op-store when it was issued).
//! 3. `authrim_oauth::dpop::use_proof` (shared with op-token and op-auth):
//!    the server nonce when `dpop_require_nonce` is on (§9), and the
//!    proof's `jti` recorded once.
//!
//! Every error carries a `DPoP` challenge (401).

use authrim_oauth::dpop::{self, Expected, ProofState};
use authrim_protocol::error::Challenge;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::store::{fault, Store};

/// The `one-time` namespace of proof `jti`s (the same as op-token's).
pub use authrim_oauth::dpop::JTI_NAMESPACE;

/// What a resource request runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub now: i64,
    /// This endpoint's URL, the `htu` proofs must name.
    pub uri: String,
    pub dpop_require_nonce: bool,
}

fn dpop_error(code: ErrorCode, description: &'static str) -> OAuthError {
    OAuthError::with_description(code, description).challenge(Challenge::Dpop)
}

/// Checks the proof of a DPoP-scheme request for `token`, which op-store
/// found bound to `bound_jkt`.
pub fn check<S: Store>(
    proof: Option<&str>,
    method: &str,
    token: &str,
    bound_jkt: Option<&str>,
    store: &S,
    env: &Env,
) -> Result<(), OAuthError> {
    let proof = proof.ok_or_else(|| {
        dpop_error(
            ErrorCode::InvalidDpopProof,
            "a DPoP proof is required with the DPoP scheme",
        )
    })?;
    let proof = dpop::verify(
        proof,
        &Expected {
            method,
            uri: &env.uri,
            access_token: Some(token),
            now: env.now,
        },
    )
    .map_err(|e| e.challenge(Challenge::Dpop))?;
    if bound_jkt != Some(proof.jkt.as_str()) {
        return Err(dpop_error(
            ErrorCode::InvalidToken,
            "the access token is not bound to the key of the DPoP proof",
        ));
    }
    // Store failures stay plain server errors; the client's get the
    // DPoP challenge.
    dpop::use_proof(&proof, env.now, env.dpop_require_nonce, &State(store)).map_err(|e| {
        if e.code == ErrorCode::ServerError {
            e
        } else {
            e.challenge(Challenge::Dpop)
        }
    })
}

/// op-store's nonces and one-time marks, for `dpop::use_proof`.
struct State<'a, S>(&'a S);

impl<S: Store> ProofState for State<'_, S> {
    fn check_nonce(&self, nonce: &str, now: i64) -> Result<bool, OAuthError> {
        self.0
            .check_dpop_nonce(nonce, now)
            .map_err(fault("dpop.check-nonce"))
    }

    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, OAuthError> {
        self.0
            .mark_used(namespace, key, expires_at, now)
            .map_err(fault("one-time.mark-used"))
    }
}
