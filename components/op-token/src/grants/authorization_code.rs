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
//! Refresh policy: a refresh token is issued when the granted scope has
//! `offline_access` (OIDC Core §11) and the client registered the
//! `refresh_token` grant type.

use authrim_jose::Alg;
use authrim_oauth::claims::release_claims;
use authrim_oauth::client_metadata::GrantType;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_oauth::id_token::{IdToken, ID_TOKEN_TYP};
use authrim_oauth::pkce::{verify_code_verifier, CodeChallenge};
use authrim_oauth::scope::OFFLINE_ACCESS;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::dpop;
use crate::env::Env;
use crate::issue::{
    self, invalid_grant, new_grant, new_secret, stored_scope, GrantData, TokenResponse,
};
use crate::store::{fault, internal, AuthCode, RedeemOutcome, Store, StoreError, User};

/// The answer to the one redemption that won the code while a replay of it
/// arrived: RFC 6749 §4.1.2 says to deny, and nothing is issued.
pub const REPLAYED_DURING_REDEMPTION: &str =
    "authorization code was used again while it was being redeemed; nothing was issued";

/// Longest `code` looked up; ours are 43 characters.
const MAX_CODE_LEN: usize = 512;

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
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
    let user = active_user(store, &code.user_id)?;
    if let Some(sid) = &code.sid {
        if !store
            .session_active(sid, env.now)
            .map_err(fault("sessions.get-active-by-sid"))?
        {
            return Err(invalid_grant("the login session has ended"));
        }
    }

    let scope = stored_scope(&code.scope)?;
    let offline = scope.contains(OFFLINE_ACCESS);
    let refresh = offline && client.metadata.allows_grant(GrantType::RefreshToken);
    let claims_request = data.claims_request()?;
    // RFC 9449 §5: a public client's refresh token is bound to the key of
    // the proof it was issued with; a confidential client's is not (it
    // authenticates instead).
    let grant_data = GrantData {
        redirect_uri_in_request: None,
        dpop_jkt: proof
            .filter(|_| client.metadata.is_public())
            .map(|p| p.jkt.clone()),
        ..data.clone()
    };
    let lifetime = if refresh {
        env.refresh_token_ttl
    } else {
        env.access_token_ttl
    };
    let grant = new_grant(
        client.id.as_str(),
        Some(&user.id),
        if offline { None } else { code.sid.as_deref() },
        &scope,
        &grant_data,
        env.now,
        lifetime,
    )?;
    let refresh_token = if refresh { Some(new_secret()?) } else { None };
    store
        .create_grant(
            &grant,
            refresh_token.as_deref().map(hash_token).as_deref(),
            grant.expires_at,
        )
        .map_err(fault("grants.create"))?;
    match store.attach_grant(&code_hash, &grant.id) {
        Ok(()) => {}
        // The code was replayed meanwhile: op-store revoked this grant.
        Err(StoreError::Conflict(_)) => return Err(invalid_grant(REPLAYED_DURING_REDEMPTION)),
        Err(e) => return Err(fault("codes.attach-grant")(e)),
    }

    let access = issue::access_token(
        store,
        env,
        &grant,
        &scope,
        &grant_data,
        proof.map(|p| p.jkt.as_str()),
    )?;
    let id_token = if scope.has_openid() {
        let auth_time = data
            .auth_time
            .ok_or_else(|| internal("code grant-json has no auth_time"))?;
        let alg = client
            .metadata
            .id_token_signed_response_alg
            .asymmetric()
            .unwrap_or(Alg::RS256);
        let user_claims = user_claims(&user)?;
        let released = release_claims(
            &user.id,
            &user_claims,
            &scope,
            claims_request.as_ref(),
            true,
        );
        let claims = IdToken::new(
            &env.issuer,
            &user.id,
            client.id.as_str(),
            env.now,
            env.id_token_ttl,
            auth_time,
        )
        .with_nonce(code.nonce.as_deref())
        .with_acr(data.acr.as_deref())
        .with_amr(&data.amr)
        .with_sid(code.sid.as_deref())
        .with_access_token(alg, &access.token)
        .with_extra_claims(&released.id_token);
        Some(
            store
                .sign_jwt(alg.as_str(), Some(ID_TOKEN_TYP), &claims.to_claims_json())
                .map_err(fault("keys.sign-jwt"))?,
        )
    } else {
        None
    };
    let mut response = TokenResponse::new(access, &scope);
    response.id_token = id_token;
    response.refresh_token = refresh_token;
    Ok(response)
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

fn active_user<S: Store>(store: &S, user_id: &str) -> Result<User, OAuthError> {
    match store.user(user_id).map_err(fault("users.get"))? {
        Some(user) if !user.disabled => Ok(user),
        _ => Err(OAuthError::with_description(
            ErrorCode::InvalidGrant,
            "the user of this authorization code is no longer active",
        )),
    }
}

fn user_claims(user: &User) -> Result<Map<String, Value>, OAuthError> {
    match serde_json::from_str(&user.claims_json) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(internal(format_args!(
            "user {}: stored claims are not a JSON object",
            user.id
        ))),
    }
}
