//! `grant_type=authorization_code` (RFC 6749 §4.1.3, OIDC Core §3.1.3).
//!
//! 1. The code is redeemed atomically (`codes.redeem`): of any number of
//!    requests with one code, one gets it. A replay is `invalid_grant`, and
//!    op-store has already revoked what the first redemption issued.
//! 2. The code must belong to the authenticated client, `redirect_uri`
//!    must repeat the authorization request's (when it carried one) and
//!    `code_verifier` must match the PKCE challenge.
//! 3. The user must still be active, and the session the code came from
//!    still alive.
//! 4. A grant is created (with the session's `sid`, so that its tokens end
//!    with the session, unless `offline_access` was granted) and attached to
//!    the code before any token is signed: a replay racing this request
//!    makes `attach-grant` fail, and then nothing is issued.
//! 5. Access token, ID Token (when `openid` was granted) and, under the
//!    refresh policy below, a refresh token.
//!
//! Steps 4 and 5 are `issue::start_user_grant` and `issue::user_tokens`,
//! shared with the device grant; the refresh policy is written there.

use authrim_jose::Jwks;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_oauth::pkce::{verify_code_verifier, CodeChallenge};
use authrim_protocol::secret::hash_token;
use authrim_protocol::OAuthError;

use crate::client::Client;
use crate::dpop;
use crate::env::Env;
use crate::issue::{self, invalid_grant, stored_scope, GrantData, TokenResponse, UserGrant};
use crate::store::{fault, AuthCode, RedeemOutcome, Store, StoreError};

/// The answer to the one redemption that won the code while a replay of it
/// arrived: RFC 6749 §4.1.2 says to deny, and nothing is issued.
pub const REPLAYED_DURING_REDEMPTION: &str =
    "authorization code was used again while it was being redeemed; nothing was issued";

/// Longest `code` looked up; ours are 43 characters.
const MAX_CODE_LEN: usize = 512;

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?;
    if code.len() > MAX_CODE_LEN {
        return Err(invalid_grant("authorization code is invalid or expired"));
    }
    let code_hash = hash_token(code);
    let code = redeem(store, &code_hash, env.now)?;
    check_client(&code, client)?;
    let data = GrantData::from_json(&code.grant_json)?;
    check_redirect_uri(&code, &data, params.get("redirect_uri"))?;
    check_pkce(&code, client, params.get("code_verifier"))?;
    dpop::check_binding(
        data.dpop_jkt.as_deref(),
        proof,
        "the authorization code is bound to another DPoP key (dpop_jkt)",
    )?;
    let user = issue::active_user(store, &code.user_id)?;
    if let Some(sid) = &code.sid {
        if !store
            .session_active(sid, env.now)
            .map_err(fault("sessions.get-active-by-sid"))?
        {
            return Err(invalid_grant("the login session has ended"));
        }
    }

    let scope = stored_scope(&code.scope)?;
    let grant_data = GrantData {
        redirect_uri_in_request: None,
        dpop_jkt: issue::refresh_binding(client, proof),
        ..data
    };
    let issuing = UserGrant {
        client,
        user: &user,
        sid: code.sid.as_deref(),
        scope: &scope,
        data: &grant_data,
        jkt: proof.map(|p| p.jkt.as_str()),
        ciba_push: None,
    };
    let (grant, refresh_token) = issue::start_user_grant(store, env, &issuing)?;
    match store.attach_grant(&code_hash, &grant.id) {
        Ok(()) => {}
        // The code was replayed meanwhile: op-store revoked this grant.
        Err(StoreError::Conflict(_)) => return Err(invalid_grant(REPLAYED_DURING_REDEMPTION)),
        Err(e) => return Err(fault("codes.attach-grant")(e)),
    }
    issue::user_tokens(
        store,
        env,
        &issuing,
        &grant,
        refresh_token,
        code.nonce.as_deref(),
        keys,
    )
}

fn redeem<S: Store>(store: &S, code_hash: &str, now: i64) -> Result<AuthCode, OAuthError> {
    match store
        .redeem_code(code_hash, now)
        .map_err(fault("codes.redeem"))?
    {
        RedeemOutcome::Redeemed(code) => Ok(code),
        RedeemOutcome::Replayed(_) => Err(invalid_grant("authorization code was already used")),
        RedeemOutcome::Invalid => Err(invalid_grant("authorization code is invalid or expired")),
    }
}

/// RFC 6749 §4.1.3: "ensure that the authorization code was issued to the
/// authenticated confidential client, or if the client is public, ensure
/// that the code was issued to client_id in the request".
fn check_client(code: &AuthCode, client: &Client) -> Result<(), OAuthError> {
    if code.client_id != client.id.as_str() {
        return Err(invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    Ok(())
}

/// RFC 6749 §4.1.3: `redirect_uri` is required if it was included in the
/// authorization request, and the values must be identical. When it was
/// not included but is sent anyway, it must still be the one used.
fn check_redirect_uri(
    code: &AuthCode,
    data: &GrantData,
    requested: Option<&str>,
) -> Result<(), OAuthError> {
    match requested {
        None if data.redirect_uri_in_request.unwrap_or(true) => Err(OAuthError::invalid_request(
            "missing required parameter `redirect_uri`",
        )),
        None => Ok(()),
        Some(uri) if uri == code.redirect_uri => Ok(()),
        Some(_) => Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        )),
    }
}

/// RFC 7636 §4.6. Public clients cannot have obtained a code without a
/// challenge (op-auth requires S256 of them); should one appear, it is
/// refused rather than redeemed without proof of possession.
fn check_pkce(code: &AuthCode, client: &Client, verifier: Option<&str>) -> Result<(), OAuthError> {
    let challenge = CodeChallenge::from_stored(
        code.code_challenge.as_deref(),
        code.code_challenge_method.as_deref(),
    )?;
    if challenge.is_none() && client.metadata.is_public() {
        return Err(invalid_grant(
            "authorization code was issued without PKCE to a public client",
        ));
    }
    verify_code_verifier(challenge.as_ref(), verifier)
}
