//! DPoP at a protected resource (RFC 9449 §7): the proof that comes with
//! `Authorization: DPoP <token>`.
//!
//! 1. The stateless checks of `authrim_oauth::dpop::verify`, with `htm`
//!    and `htu` of this request and `ath` of the token.
//! 2. The token must be bound to the proof's key (`cnf.jkt` recorded by
//!    op-store when it was issued).
//! 3. The server nonce when `dpop_require_nonce` is on (§9).
//! 4. The proof's `jti` is recorded once (namespace shared with op-token).
//!
//! Every error carries a `DPoP` challenge (401).

use authrim_oauth::dpop::{self, Expected};
use authrim_protocol::error::Challenge;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::store::{fault, Store};

/// The `one-time` namespace of proof `jti`s (the same as op-token's).
pub const JTI_NAMESPACE: &str = "dpop-jti";

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
    if env.dpop_require_nonce {
        let valid = match &proof.nonce {
            Some(n) => store
                .check_dpop_nonce(n, env.now)
                .map_err(fault("dpop.check-nonce"))?,
            None => false,
        };
        if !valid {
            return Err(dpop_error(
                ErrorCode::UseDpopNonce,
                "the DPoP proof must carry the nonce of the DPoP-Nonce header",
            ));
        }
    }
    let first = store
        .mark_used(
            JTI_NAMESPACE,
            &proof.replay_key(),
            proof.replay_expires_at(),
            env.now,
        )
        .map_err(fault("one-time.mark-used"))?;
    if !first {
        return Err(dpop_error(
            ErrorCode::InvalidDpopProof,
            "the DPoP proof was already used",
        ));
    }
    Ok(())
}
