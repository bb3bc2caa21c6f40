//! `GET`/`POST /userinfo` (OIDC Core §5.3, RFC 6750).
//!
//! 1. The access token is taken from the request (`bearer`).
//! 2. op-store is asked on every call whether it is live
//!    (`grants.check-access-token` with its hash): unexpired, unrevoked,
//!    its grant alive, its user enabled, its session (if any) active. No
//!    signature is verified: a token whose hash op-store recorded is exactly
//!    the token this OP signed, so its claims can be read as they are.
//! 3. The token's scope (its `scope` claim: a refreshed token may carry less
//!    than its grant) must contain `openid`, else 403 `insufficient_scope`.
//! 4. The claims: `sub` always, those of the scope values (OIDC Core §5.4)
//!    and those the `claims` request named for `userinfo` (§5.5), from the
//!    user's stored claims.
//!
//! 5. The client's registration decides the form (OIDC Core §5.3.2): JSON;
//!    with `userinfo_signed_response_alg` a JWT signed by the OP with `iss`
//!    and `aud`; with `userinfo_encrypted_response_alg` that JWT (nested,
//!    `cty: JWT`) or the JSON encrypted to the client's key; both JWT forms
//!    as `application/jwt`.
//!
//! Errors carry `WWW-Authenticate: Bearer` (RFC 6750 §3). Every answer has
//! `Cache-Control: no-store` and `Access-Control-Allow-Origin: *` (bearer
//! tokens, no cookies: any origin may call it).

use authrim_jose::{b64, Jwks};
use authrim_oauth::claims::{release_claims, ClaimsRequest};
use authrim_oauth::client_metadata::ClientMetadata;
use authrim_oauth::encryption;
use authrim_oauth::form::{is_form_content_type, Params};
use authrim_oauth::scope::Scope;
use authrim_protocol::error::Challenge;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde_json::{Map, Value};

use crate::bearer::{self, invalid_token, Found, Scheme};
use crate::dpop;
pub use crate::dpop::Env;
use crate::store::{fault, internal, Store, User};

pub struct Request<'a> {
    pub method: &'a str,
    pub authorization: Option<&'a str>,
    pub content_type: Option<&'a str>,
    /// The query string without `?`.
    pub query: &'a str,
    /// The `DPoP` header (RFC 9449 §4.1).
    pub dpop: Option<&'a str>,
    pub body: &'a [u8],
}

const ALLOW: &str = "GET, POST, OPTIONS";

pub async fn respond<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> HttpResponse {
    with_headers(match serve(req, store, env).await {
        Ok(resp) => resp,
        Err(err) => render(err),
    })
}

/// An error found before the request could be read (by the adapter).
pub fn error_response(err: OAuthError) -> HttpResponse {
    with_headers(render(err.challenge(Challenge::Bearer)))
}

fn with_headers(resp: HttpResponse) -> HttpResponse {
    let mut resp = resp
        .header("pragma", "no-cache")
        .header("access-control-allow-origin", "*")
        .header(
            "access-control-expose-headers",
            "WWW-Authenticate, DPoP-Nonce",
        );
    if resp.header_value("cache-control").is_none() {
        resp = resp.header("cache-control", "no-store");
    }
    resp
}

/// RFC 6750 §3.1: a request without any token gets 401 with a bare
/// challenge and no error information.
fn render(err: OAuthError) -> HttpResponse {
    if err.code == ErrorCode::InvalidRequest && err.description.is_none() {
        let mut resp = err.to_response().without_body();
        resp.status = 401;
        resp.headers.retain(|(n, _)| n != "content-type");
        return resp;
    }
    err.to_response()
}

/// Both schemes are accepted, so both are offered (RFC 9449 §7.1).
fn missing_token() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest).challenge(Challenge::BearerOrDpop)
}

fn insufficient_scope() -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InsufficientScope,
        "the access token does not carry the openid scope",
    )
    .challenge(Challenge::Bearer)
}

async fn serve<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    match req.method {
        "GET" | "POST" => {}
        "OPTIONS" => return Ok(preflight()),
        _ => return Err(OAuthError::method_not_allowed(ALLOW)),
    }
    let body_params = if req.method == "POST" && req.content_type.is_some_and(is_form_content_type)
    {
        Some(
            Params::parse_bytes(req.body)
                .map_err(|_| bearer::invalid_request("malformed form body"))?,
        )
    } else {
        None
    };
    let (token, scheme) = match bearer::extract(
        req.method,
        req.authorization,
        req.query,
        req.content_type,
        &body_params,
    )? {
        Found::Token(t, s) => (t, s),
        Found::Missing => return Err(missing_token()),
    };
    let env = env()?;
    let now = env.now;
    let bound = store
        .check_access_token(&hash_token(token), now)
        .map_err(fault("dpop.check-access-token"))?
        .ok_or_else(|| {
            let e = invalid_token("the access token is invalid, expired or revoked");
            match scheme {
                Scheme::Bearer => e,
                Scheme::Dpop => e.challenge(Challenge::Dpop),
            }
        })?;
    match (scheme, bound.jkt.as_deref()) {
        (Scheme::Bearer, None) => {}
        // RFC 9449 §7.2: a bound token is no bearer token.
        (Scheme::Bearer, Some(_)) => {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidToken,
                "a DPoP-bound access token must be sent with the DPoP scheme and a proof",
            )
            .challenge(Challenge::Dpop))
        }
        (Scheme::Dpop, jkt) => match dpop::check(req.dpop, req.method, token, jkt, store, &env) {
            Ok(()) => {}
            Err(e) if e.code == ErrorCode::UseDpopNonce => {
                let nonce = store.dpop_nonce(now).map_err(fault("dpop.nonce"))?;
                return Ok(render(e).header("dpop-nonce", &nonce));
            }
            Err(e) => return Err(e),
        },
    }
    let grant = bound.grant;
    let scope = token_scope(token)?;
    let Some(user_id) = grant.user_id.as_deref() else {
        // client_credentials: there is no End-User to describe.
        return Err(insufficient_scope());
    };
    if !scope.has_openid() {
        return Err(insufficient_scope());
    }
    let user = match store.user(user_id).map_err(fault("users.get"))? {
        Some(u) if !u.disabled => u,
        _ => {
            return Err(invalid_token(
                "the access token is invalid, expired or revoked",
            ))
        }
    };
    let request = claims_request(&grant.grant_json)?;
    let released = release_claims(
        &user.id,
        &user_claims(&user)?,
        &scope,
        request.as_ref(),
        true,
    );
    let client = store
        .client(&grant.client_id)
        .map_err(fault("clients.get"))?
        .ok_or_else(|| invalid_token("the access token is invalid, expired or revoked"))?;
    let metadata = ClientMetadata::from_json(&client.metadata_json).map_err(|e| {
        internal(format_args!(
            "client {}: stored metadata unreadable: {e}",
            grant.client_id
        ))
    })?;
    shape(store, &metadata, &grant.client_id, released.userinfo).await
}

/// The response in the form the client registered (OIDC Core §5.3.2).
async fn shape<S: Store>(
    store: &S,
    metadata: &ClientMetadata,
    client_id: &str,
    mut claims: Map<String, Value>,
) -> Result<HttpResponse, OAuthError> {
    let signing = metadata
        .userinfo_signed_response_alg
        .and_then(|a| a.asymmetric());
    if signing.is_none() && metadata.userinfo_encryption().is_none() {
        return Ok(HttpResponse::json(200, &Value::Object(claims)));
    }
    let payload = match signing {
        Some(alg) => {
            // "If signed, the UserInfo Response MUST contain the Claims iss
            // (Issuer) and aud (Audience) as members."
            claims.insert("iss".into(), Value::String(store.issuer()?));
            claims.insert("aud".into(), Value::String(client_id.to_string()));
            store
                .sign_jwt(alg.as_str(), None, &Value::Object(claims).to_string())
                .map_err(fault("keys.sign-jwt"))?
        }
        None => Value::Object(claims).to_string(),
    };
    let body = if metadata.userinfo_encryption().is_some() {
        let keys = client_keys(store, metadata, client_id).await;
        encryption::seal_userinfo(
            metadata,
            keys.as_ref(),
            payload.as_bytes(),
            signing.is_some(),
        )
        .unwrap_or(Ok(payload))?
    } else {
        payload
    };
    Ok(HttpResponse::new(200)
        .header("content-type", "application/jwt")
        .body(body))
}

/// The client's JWK Set: `jwks`, or the document at `jwks_uri` (fetched on
/// each use, as op-token does). `None`, logged, when neither yields one.
async fn client_keys<S: Store>(
    store: &S,
    metadata: &ClientMetadata,
    client_id: &str,
) -> Option<Jwks> {
    let result = match (metadata.jwks(), metadata.jwks_uri.as_deref()) {
        (Ok(Some(jwks)), _) => Ok(jwks),
        (Ok(None), Some(uri)) => match store.fetch_jwks(uri).await {
            Ok(body) => Jwks::parse(&body).map_err(|e| format!("jwks_uri {uri}: {e}")),
            Err(e) => Err(e),
        },
        (Ok(None), None) => Err("neither jwks nor jwks_uri".to_string()),
        (Err(e), _) => Err(e.to_string()),
    };
    result
        .map_err(|why| eprintln!("op-userinfo: client {client_id}: encryption keys: {why}"))
        .ok()
}

/// The `scope` claim of one of our access tokens (RFC 9068 §2.2.3). Only
/// called once op-store recognised the token, so the payload is ours.
fn token_scope(token: &str) -> Result<Scope, OAuthError> {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| b64::decode(p).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .ok_or_else(|| internal("a recorded access token is not a readable JWT"))?;
    match payload.get("scope") {
        None => Ok(Scope::default()),
        Some(Value::String(s)) => {
            Scope::parse(s).map_err(|e| internal(format_args!("access token scope: {e}")))
        }
        Some(_) => Err(internal("access token scope is not a string")),
    }
}

/// The `claims` member of the grant's `grant-json` (a JSON object, or that
/// object as a string).
fn claims_request(grant_json: &str) -> Result<Option<ClaimsRequest>, OAuthError> {
    if grant_json.trim().is_empty() {
        return Ok(None);
    }
    let data: Value =
        serde_json::from_str(grant_json).map_err(|e| internal(format_args!("grant-json: {e}")))?;
    let parsed = match data.get("claims") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => ClaimsRequest::parse(s),
        Some(v @ Value::Object(_)) => ClaimsRequest::parse(&v.to_string()),
        Some(_) => return Err(internal("grant-json: claims is not an object")),
    };
    parsed
        .map(Some)
        .map_err(|e| internal(format_args!("grant-json: claims: {e}")))
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

/// CORS preflight: `Authorization` is not a CORS-safelisted header.
fn preflight() -> HttpResponse {
    HttpResponse::new(204)
        .header("allow", ALLOW)
        .header("access-control-allow-methods", "GET, POST")
        .header(
            "access-control-allow-headers",
            "authorization, content-type, dpop",
        )
        .header("access-control-max-age", "86400")
}
