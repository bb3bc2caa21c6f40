//! `POST /introspect` (RFC 7662).
//!
//! Who may introspect: any authenticated confidential client (every method
//! but `none`), for any token of this OP. RFC 7662 §2.1 leaves the policy to
//! the server and expects resource servers, which are often registered as
//! clients of their own, to introspect tokens issued to other clients; the
//! caller must already hold the token, so it learns only that token's
//! metadata. Public clients and unauthenticated callers get 401
//! `invalid_client` before the token is looked at, so they never learn
//! whether a token exists (RFC 7662 §4).
//!
//! Anything not live — unknown, expired, revoked, from an ended session, of
//! a disabled or deleted user or a deleted client — is `{"active":false}`
//! and nothing else (§2.2). Active access tokens (RFC 9068 JWTs, found by
//! their hash in op-store, so their claims are ours and need no signature
//! check) report `scope`, `client_id`, `sub`, `exp`, `iat`, `iss`, `aud`,
//! `jti` from the token and `token_type: "Bearer"`. Active refresh tokens
//! report `scope`, `client_id`, `sub` (user grants), `iss`, `exp` (the end
//! of the family's absolute lifetime, which bounds every refresh token of
//! it) and `iat` (when the grant was made); they have no `token_type` or
//! `aud` (RFC 6749 §7.1 types describe access tokens; a refresh token is
//! only ever presented to this server).

use authrim_jose::b64;
use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::{HttpResponse, OAuthError};
use serde_json::{Map, Value};

use crate::client::{authenticate, Accept};
use crate::endpoint::Request;
use crate::env::Env;
use crate::store::{fault, Grant, Store};
use crate::tokens::{self, Found};
use crate::INTROSPECTION_PATH;

/// The form parameters of an introspection or revocation request.
pub fn form(req: &Request<'_>) -> Result<Params, OAuthError> {
    if !req.content_type.is_some_and(is_form_content_type) {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse_bytes(req.body)
}

pub async fn introspect<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let params = form(req)?;
    authenticate(
        req.authorization,
        &params,
        Accept::Confidential,
        INTROSPECTION_PATH,
        store,
        env,
    )
    .await?;
    let body = match tokens::find(&params, store, env.now)? {
        Some(Found::Access { grant, .. }) => access_token(params.require("token")?, &grant, env),
        Some(Found::Refresh { grant }) if session_alive(&grant, store, env)? => {
            refresh_token(&grant, env)
        }
        _ => inactive(),
    };
    Ok(HttpResponse::json(200, &Value::Object(body)))
}

fn inactive() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("active".into(), false.into());
    map
}

/// A grant tied to a login session lives only as long as that session
/// (grants with offline access have no `sid`).
fn session_alive<S: Store>(grant: &Grant, store: &S, env: &Env) -> Result<bool, OAuthError> {
    match &grant.sid {
        None => Ok(true),
        Some(sid) => store
            .session_active(sid, env.now)
            .map_err(fault("sessions.get-active-by-sid")),
    }
}

/// The claims of a compact JWS, unverified: only for tokens op-store
/// recognised as issued here.
fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let text = String::from_utf8(b64::decode(payload).ok()?).ok()?;
    match serde_json::from_str::<Value>(&text).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn access_token(token: &str, grant: &Grant, env: &Env) -> Map<String, Value> {
    let claims = jwt_claims(token).unwrap_or_default();
    let mut map = Map::new();
    map.insert("active".into(), true.into());
    let scope = claims
        .get("scope")
        .cloned()
        .unwrap_or_else(|| grant.scope.clone().into());
    if scope.as_str().is_some_and(|s| !s.is_empty()) {
        map.insert("scope".into(), scope);
    }
    map.insert("client_id".into(), grant.client_id.clone().into());
    let sub = claims.get("sub").cloned().unwrap_or_else(|| {
        grant
            .user_id
            .clone()
            .unwrap_or_else(|| grant.client_id.clone())
            .into()
    });
    map.insert("sub".into(), sub);
    // `cnf` (RFC 9449 §6.2): the DPoP key a bound token is bound to, as
    // signed into the token when it was issued.
    for name in ["exp", "iat", "aud", "jti", "cnf"] {
        if let Some(v) = claims.get(name) {
            map.insert(name.into(), v.clone());
        }
    }
    let token_type = if claims.contains_key("cnf") {
        "DPoP"
    } else {
        "Bearer"
    };
    map.insert("token_type".into(), token_type.into());
    map.insert("iss".into(), env.issuer.as_str().into());
    map
}

fn refresh_token(grant: &Grant, env: &Env) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("active".into(), true.into());
    if !grant.scope.is_empty() {
        map.insert("scope".into(), grant.scope.clone().into());
    }
    map.insert("client_id".into(), grant.client_id.clone().into());
    if let Some(user) = &grant.user_id {
        map.insert("sub".into(), user.clone().into());
    }
    map.insert("exp".into(), grant.expires_at.into());
    map.insert("iat".into(), grant.created_at.into());
    map.insert("iss".into(), env.issuer.as_str().into());
    map
}
