//! DPoP at the token endpoint (RFC 9449 §5): the proof of a token request.
//!
//! 1. Clients registered with `dpop_bound_access_tokens` must send one
//!    (§5.2).
//! 2. The stateless checks of `authrim_oauth::dpop::verify` with `htm`
//!    POST and `htu` the token endpoint.
//! 3. When the `dpop_require_nonce` variable is on, the proof's `nonce`
//!    must be one op-store issued (§8); otherwise `use_dpop_nonce` with a
//!    fresh nonce in `DPoP-Nonce` (answered by the endpoint).
//! 4. Its `jti` is recorded in `one-time` (namespace `dpop-jti`): of
//!    any number of requests carrying one proof, at most one gets past here.
//!
//! The grants then bind what they issue to [`Proof::jkt`].

use authrim_oauth::dpop::{self, Expected, Proof};
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::store::{fault, Store};

/// The `one-time` namespace of proof `jti`s (shared with op-userinfo).
pub const JTI_NAMESPACE: &str = "dpop-jti";

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
    let proof = dpop::verify(
        header,
        &Expected {
            method: "POST",
            uri: &uri,
            access_token: None,
            now: env.now,
        },
    )?;
    if env.dpop_require_nonce {
        let valid = match &proof.nonce {
            Some(n) => store
                .check_dpop_nonce(n, env.now)
                .map_err(fault("dpop.check-nonce"))?,
            None => false,
        };
        if !valid {
            return Err(OAuthError::with_description(
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
        return Err(dpop::invalid_proof("the DPoP proof was already used"));
    }
    Ok(Some(proof))
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
