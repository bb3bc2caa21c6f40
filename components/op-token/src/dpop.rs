//! DPoP at the token endpoint (RFC 9449 §5): the proof of a token request.
//!
//! 1. Clients registered with `dpop_bound_access_tokens` must send one
//!    (§5.2).
//! 2. `authrim_oauth::dpop::check_proof` (shared with op-auth's PAR
//!    endpoint) with `htm` POST and `htu` the token endpoint: the stateless
//!    checks; when the `dpop_require_nonce` variable is on, a `nonce` that
//!    op-store issued (§8; otherwise `use_dpop_nonce` with a fresh nonce in
//!    `DPoP-Nonce`, answered by the endpoint); the single use of its `jti`
//!    (`one-time`, namespace `dpop-jti`).
//!
//! The grants then bind what they issue to [`Proof::jkt`].

use authrim_oauth::dpop::{self, Expected, Proof, ProofState};
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::store::{fault, Store};

/// The `one-time` namespace of proof `jti`s (shared with op-userinfo and
/// op-auth's PAR endpoint).
pub use authrim_oauth::dpop::JTI_NAMESPACE;

/// op-store's nonces and one-time marks, for `dpop::check_proof`.
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

pub fn check<S: Store>(
    header: Option<&str>,
    client: &Client,
    store: &S,
    env: &Env,
) -> Result<Option<Proof>, OAuthError> {
    let Some(header) = header else {
        if client.metadata.dpop_bound_access_tokens {
            return Err(dpop::invalid_proof(
                "this client must send a DPoP proof with every token request",
            ));
        }
        return Ok(None);
    };
    let uri = env.token_endpoint();
    let expected = Expected {
        method: "POST",
        uri: &uri,
        access_token: None,
        now: env.now,
    };
    dpop::check_proof(header, &expected, env.dpop_require_nonce, &State(store)).map(Some)
}

/// The key a bound code or refresh token requires, against the proof
/// presented (RFC 9449 §5, §10): a missing or different key is
/// `invalid_grant`.
pub fn check_binding(
    bound: Option<&str>,
    proof: Option<&Proof>,
    what: &'static str,
) -> Result<(), OAuthError> {
    match (bound, proof) {
        (None, _) => Ok(()),
        (Some(jkt), Some(p)) if p.jkt == jkt => Ok(()),
        _ => Err(OAuthError::with_description(ErrorCode::InvalidGrant, what)),
    }
}
