//! `grant_type=refresh_token` (RFC 6749 §6, OIDC Core §12, RFC 9700 §4.14).
//!
//! 1. The family of the presented token is looked up; a token of another
//!    client is refused without touching the family.
//! 2. `scope` may narrow the grant for this access token; widening it is
//!    `invalid_scope`. The family keeps its scope (RFC 6749 §6: the new
//!    refresh token has the scope of the old one).
//! 3. `grants.rotate` replaces the token by compare-and-set: of concurrent
//!    refreshes with one token exactly one rotates. A token that was
//!    already rotated revokes the whole family (reuse detection).
//! 4. The answer is a new access token and a new refresh token and no ID
//!    Token (OIDC Core §12.2 allows leaving it out).

use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_oauth::scope::Scope;
use authrim_protocol::secret::hash_token;
use authrim_protocol::OAuthError;

use crate::client::Client;
use crate::dpop;
use crate::env::Env;
use crate::issue::{self, invalid_grant, new_secret, stored_scope, GrantData, TokenResponse};
use crate::store::{fault, Grant, RotateOutcome, Store};

/// Longest `refresh_token` looked up; ours are 43 characters.
const MAX_REFRESH_TOKEN_LEN: usize = 512;

const INVALID: &str = "refresh token is invalid, expired or revoked";

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    if presented.len() > MAX_REFRESH_TOKEN_LEN {
        return Err(invalid_grant(INVALID));
    }
    let presented_hash = hash_token(presented);

    let current = store
        .find_by_refresh(&presented_hash, env.now)
        .map_err(fault("grants.find-by-refresh"))?;
    if let Some(grant) = &current {
        check_client(grant, client)?;
        narrowed(grant, requested.as_ref())?;
        // Before rotating: a stolen bound token without its key changes nothing.
        check_binding(grant, proof)?;
    }

    let new_token = new_secret()?;
    let new_expires_at = match &current {
        Some(g) => g.expires_at,
        None => env.now.saturating_add(env.refresh_token_ttl),
    };
    let grant = match store
        .rotate(
            &presented_hash,
            &hash_token(&new_token),
            new_expires_at,
            env.now,
        )
        .map_err(fault("grants.rotate"))?
    {
        RotateOutcome::Rotated(grant) => grant,
        RotateOutcome::ReuseDetected(_) => {
            return Err(invalid_grant(
                "refresh token was already used; its grant has been revoked",
            ))
        }
        RotateOutcome::Invalid => return Err(invalid_grant(INVALID)),
    };
    // Reached without step 1 only if the token became current between the
    // two calls, which rotation never does; checked all the same.
    if current.is_none() {
        if let Err(e) = check_client(&grant, client).and_then(|()| check_binding(&grant, proof)) {
            store
                .revoke_grant(&grant.id, env.now)
                .map_err(fault("grants.revoke"))?;
            return Err(e);
        }
    }
    let scope = narrowed(&grant, requested.as_ref())?;
    if let Some(sid) = &grant.sid {
        if !store
            .session_active(sid, env.now)
            .map_err(fault("sessions.get-active-by-sid"))?
        {
            return Err(invalid_grant("the login session has ended"));
        }
    }
    let data = GrantData::from_json(&grant.grant_json)?;
    let access = issue::access_token(
        store,
        env,
        &grant,
        &scope,
        &data,
        proof.map(|p| p.jkt.as_str()),
    )?;
    let mut response = TokenResponse::new(access, &scope);
    response.refresh_token = Some(new_token);
    Ok(response)
}

fn check_client(grant: &Grant, client: &Client) -> Result<(), OAuthError> {
    if grant.client_id != client.id.as_str() {
        return Err(invalid_grant("refresh token was issued to another client"));
    }
    Ok(())
}

/// RFC 9449 §5: a refresh token bound to a DPoP key (a public client's)
/// is only accepted with a proof of that key.
fn check_binding(grant: &Grant, proof: Option<&Proof>) -> Result<(), OAuthError> {
    let data = GrantData::from_json(&grant.grant_json)?;
    dpop::check_binding(
        data.dpop_jkt.as_deref(),
        proof,
        "the refresh token is bound to another DPoP key",
    )
}

/// The scope of this access token: the grant's, or the narrower one asked for.
fn narrowed(grant: &Grant, requested: Option<&Scope>) -> Result<Scope, OAuthError> {
    stored_scope(&grant.scope)?.narrow(requested)
}
