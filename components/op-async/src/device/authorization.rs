//! `POST /device_authorization` (RFC 8628 §3.1, §3.2), in order:
//! 1. `POST` with a form body (at most 16 KB);
//! 2. client authentication (`client::authenticate`: every method the
//!    token endpoint accepts; public clients send `client_id`);
//! 3. the client registered the device code grant, else
//!    `unauthorized_client`;
//! 4. `scope` as `/authorize` checks it (RFC 6749 §3.3, limited to the
//!    client's registered scope); when absent, the registered scope;
//! 5. a `device_code` (256 random bits, stored as its SHA-256) and a
//!    `user_code` (`authrim_oauth::device::UserCode`), stored with the
//!    lifetime and polling interval in force for the client (its
//!    `device_code_ttl` / `device_poll_interval`, else the deployment's).
//!
//! Errors are RFC 6749 §5.2 JSON (`invalid_client` 401 with a `Basic`
//! challenge when the client used HTTP Basic). Every answer carries
//! `Cache-Control: no-store`.

use authrim_oauth::client_metadata::{ClientMetadata, GrantType};
use authrim_oauth::device::{settings, UserCode};
use authrim_oauth::form::Params;
use authrim_oauth::scope::Scope;
use authrim_protocol::secret::{hash_token, random_bytes};
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde::Serialize;

use super::{AUTHORIZATION_PATH, VERIFICATION_PATH};
use crate::request::Request;
use crate::store::{fault, DeviceRequest, Store, StoreError};
use crate::{client, new_token, Env};

/// How often a fresh user code is drawn when the first collides with a
/// live one (about one in 2.5 × 10^10 per live code).
const USER_CODE_ATTEMPTS: usize = 3;

/// RFC 8628 §3.2.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    /// Displayed form, `WDJB-MJHT`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

pub async fn handle<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> HttpResponse {
    let resp = match serve(env, req).await {
        Ok(r) => r,
        Err(e) => e.to_response(),
    };
    resp.header("cache-control", "no-store")
        .header("pragma", "no-cache")
}

async fn serve<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> Result<HttpResponse, OAuthError> {
    if req.method != "POST" {
        return Err(OAuthError::method_not_allowed("POST"));
    }
    let params = req.form()?;
    let client = client::authenticate(req.authorization, &params, AUTHORIZATION_PATH, env).await?;
    if !client.metadata.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            "the client is not allowed to use the device authorization grant",
        ));
    }
    let scope = requested_scope(&params, &client.metadata)?;
    let (ttl, interval) = settings(
        env.config.device_code_ttl,
        env.config.device_poll_interval,
        client.metadata.device_code_ttl,
        client.metadata.device_poll_interval,
    );
    let device_code = new_token()?;
    let user_code = store_request(env, &device_code, client.id.as_str(), &scope, ttl, interval)?;
    let issuer = &env.config.issuer;
    let verification_uri = issuer.endpoint(VERIFICATION_PATH);
    Ok(HttpResponse::json(
        200,
        &DeviceAuthorizationResponse {
            device_code,
            user_code: user_code.display(),
            verification_uri_complete: complete_uri(&verification_uri, &user_code),
            verification_uri,
            expires_in: ttl,
            interval,
        },
    ))
}

/// `verification_uri_complete`: the page with the user code filled in.
pub fn complete_uri(verification_uri: &str, code: &UserCode) -> String {
    format!("{verification_uri}?user_code={}", code.display())
}

/// The requested scope limited to the registered one (as `/authorize`
/// does); the registered scope when the request names none (RFC 6749
/// §3.3), `invalid_scope` when there is neither.
fn requested_scope(params: &Params, metadata: &ClientMetadata) -> Result<Scope, OAuthError> {
    let registered = metadata
        .scope
        .as_deref()
        .map(|s| Scope::from_tokens(s.split(' ')));
    match params.get("scope") {
        Some(raw) if !raw.trim().is_empty() => {
            Scope::parse(raw)?.restrict_to_registered(registered.as_ref())
        }
        _ => registered.filter(|s| !s.is_empty()).ok_or_else(|| {
            OAuthError::with_description(
                ErrorCode::InvalidScope,
                "missing required parameter scope",
            )
        }),
    }
}

/// Stores the request under a fresh user code; returns the code.
fn store_request<S: Store>(
    env: &Env<'_, S>,
    device_code: &str,
    client_id: &str,
    scope: &Scope,
    ttl: i64,
    interval: i64,
) -> Result<UserCode, OAuthError> {
    for _ in 0..USER_CODE_ATTEMPTS {
        let bytes = random_bytes::<32>().map_err(|e| {
            crate::log(&format!("random: {e}"));
            OAuthError::server_error()
        })?;
        let Some(user_code) = UserCode::from_random(&bytes) else {
            continue;
        };
        let request = DeviceRequest {
            device_code_hash: hash_token(device_code),
            user_code: user_code.as_str().to_string(),
            client_id: client_id.to_string(),
            scope: scope.to_string(),
            created_at: env.now,
            expires_at: env.now.saturating_add(ttl),
            interval,
        };
        match env.store.create_device(&request, env.now) {
            Ok(()) => return Ok(user_code),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(fault("device-grants.create")(e)),
        }
    }
    crate::log("no free user code after several attempts");
    Err(OAuthError::new(ErrorCode::TemporarilyUnavailable))
}
