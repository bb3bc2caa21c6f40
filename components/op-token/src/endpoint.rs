//! `POST /token`: parse, authenticate the client, check the grant type,
//! dispatch to the grant (one module each under `grants/`).
//!
//! Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`
//! (RFC 6749 §5.1) and `Access-Control-Allow-Origin: *`: browser-based
//! public clients (code + PKCE) call this endpoint, and it uses no cookies.
//! Errors are RFC 6749 §5.2 JSON; `invalid_client` is 401, with a `Basic`
//! challenge when the client used HTTP Basic.

use authrim_oauth::assertion::JWT_BEARER_GRANT_TYPE;
use authrim_oauth::ciba::CIBA_GRANT_TYPE;
use authrim_oauth::client_metadata::GrantType;
use authrim_oauth::device::DEVICE_CODE_GRANT_TYPE;
use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

use crate::client::{self, Client};
use crate::dpop;
use crate::env::Env;
use crate::grants::{
    authorization_code, ciba, client_credentials, device_code, jwt_bearer, refresh_token,
};
use crate::store::{fault, Store};

pub struct Request<'a> {
    pub method: &'a str,
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// The `DPoP` header (RFC 9449 §4.1).
    pub dpop: Option<&'a str>,
    pub body: &'a [u8],
}

const ALLOW: &str = "POST, OPTIONS";

/// The grant types this endpoint serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
    JwtBearer,
    Ciba,
}

impl Grant {
    fn registered_as(self) -> GrantType {
        match self {
            Grant::AuthorizationCode => GrantType::AuthorizationCode,
            Grant::RefreshToken => GrantType::RefreshToken,
            Grant::ClientCredentials => GrantType::ClientCredentials,
            Grant::DeviceCode => GrantType::DeviceCode,
            Grant::JwtBearer => GrantType::JwtBearer,
            Grant::Ciba => GrantType::Ciba,
        }
    }
}

/// `grant_types_supported` for discovery.
pub const GRANT_TYPES_SUPPORTED: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT_TYPE,
    JWT_BEARER_GRANT_TYPE,
    CIBA_GRANT_TYPE,
];

pub async fn respond<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> HttpResponse {
    render(serve(req, store, env).await)
}

/// The answer, or the error as RFC 6749 §5.2 renders it, with the headers
/// of every token response.
pub fn render(result: Result<HttpResponse, OAuthError>) -> HttpResponse {
    with_headers(match result {
        Ok(resp) => resp,
        Err(err) => token_error(err),
    })
}

/// An error found before the request could be parsed (by the adapter).
pub fn error_response(err: OAuthError) -> HttpResponse {
    with_headers(err.to_response())
}

/// RFC 6749 §5.2: token errors are 400 (`invalid_client` 401); the
/// device grant's `access_denied` too (RFC 8628 §3.5), though elsewhere
/// it is a 403.
fn token_error(err: OAuthError) -> HttpResponse {
    let mut resp = err.to_response();
    if err.code == ErrorCode::AccessDenied {
        resp.status = 400;
    }
    resp
}

fn with_headers(resp: HttpResponse) -> HttpResponse {
    let mut resp = resp
        .header("pragma", "no-cache")
        .header("access-control-allow-origin", "*")
        .header("access-control-expose-headers", "DPoP-Nonce");
    if resp.header_value("cache-control").is_none() {
        resp = resp.header("cache-control", "no-store");
    }
    resp
}

async fn serve<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    match req.method {
        "POST" => {}
        "OPTIONS" => return Ok(preflight()),
        _ => return Err(OAuthError::method_not_allowed(ALLOW)),
    }
    if !req.content_type.is_some_and(is_form_content_type) {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse_bytes(req.body)?;
    let grant = grant_type(&params)?;
    let env = env()?;
    let client = client::authenticate(req.authorization, &params, store, &env).await?;
    check_client_may_use(&client, grant)?;
    let proof = match dpop::check(req.dpop, &client, store, &env) {
        Ok(p) => p,
        // RFC 9449 §8: the error carries the nonce to use.
        Err(e) if e.code == ErrorCode::UseDpopNonce => {
            let nonce = store.dpop_nonce(env.now).map_err(fault("dpop.nonce"))?;
            return Ok(e.to_response().header("dpop-nonce", &nonce));
        }
        Err(e) => return Err(e),
    };
    let proof = proof.as_ref();
    let response = match grant {
        Grant::AuthorizationCode => {
            let keys = client::id_token_keys(&client, store).await?;
            authorization_code::exchange(&params, &client, keys.as_ref(), store, &env, proof)
        }
        Grant::RefreshToken => refresh_token::exchange(&params, &client, store, &env, proof),
        Grant::ClientCredentials => {
            client_credentials::exchange(&params, &client, store, &env, proof)
        }
        Grant::DeviceCode => {
            let keys = client::id_token_keys(&client, store).await?;
            device_code::exchange(&params, &client, keys.as_ref(), store, &env, proof)
        }
        Grant::JwtBearer => jwt_bearer::exchange(&params, &client, store, &env, proof).await,
        Grant::Ciba => {
            let keys = client::id_token_keys(&client, store).await?;
            ciba::exchange(&params, &client, keys.as_ref(), store, &env, proof)
        }
    }?;
    let mut resp = response.into_response();
    if proof.is_some() && env.dpop_require_nonce {
        // §8.2: a fresh nonce for the client's next request.
        let nonce = store.dpop_nonce(env.now).map_err(fault("dpop.nonce"))?;
        resp = resp.header("dpop-nonce", &nonce);
    }
    Ok(resp)
}

fn grant_type(params: &Params) -> Result<Grant, OAuthError> {
    match params.require("grant_type")? {
        "authorization_code" => Ok(Grant::AuthorizationCode),
        "refresh_token" => Ok(Grant::RefreshToken),
        "client_credentials" => Ok(Grant::ClientCredentials),
        DEVICE_CODE_GRANT_TYPE => Ok(Grant::DeviceCode),
        JWT_BEARER_GRANT_TYPE => Ok(Grant::JwtBearer),
        CIBA_GRANT_TYPE => Ok(Grant::Ciba),
        _ => Err(OAuthError::with_description(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token, client_credentials, \
             urn:ietf:params:oauth:grant-type:device_code, \
             urn:ietf:params:oauth:grant-type:jwt-bearer or urn:openid:params:grant-type:ciba",
        )),
    }
}

/// RFC 6749 §5.2 `unauthorized_client`: the client did not register the
/// grant type, or (client_credentials, jwt-bearer) is a public client:
/// client_credentials has no credentials to grant on, and an assertion
/// grant is only issued to a client that authenticates (RFC 7521 §5.2
/// leaves it to us; an intercepted assertion alone must not suffice).
fn check_client_may_use(client: &Client, grant: Grant) -> Result<(), OAuthError> {
    let registered = client.metadata.allows_grant(grant.registered_as());
    let public_cc =
        matches!(grant, Grant::ClientCredentials | Grant::JwtBearer) && client.metadata.is_public();
    if !registered || public_cc {
        return Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            "the client is not allowed to use this grant_type",
        ));
    }
    Ok(())
}

/// CORS preflight (a browser sends one before a POST with `Authorization`).
fn preflight() -> HttpResponse {
    HttpResponse::new(204)
        .header("allow", ALLOW)
        .header("access-control-allow-methods", "POST")
        .header(
            "access-control-allow-headers",
            "authorization, content-type, dpop",
        )
        .header("access-control-max-age", "86400")
}
