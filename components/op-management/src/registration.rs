//! Dynamic client registration (RFC 7591, OIDC Dynamic Client Registration
//! 1.0) and the client configuration endpoint (RFC 7592).
//!
//! `POST /register`, in order:
//! 1. admission: open, or the initial access token as a Bearer token
//!    (Spin variables `registration_mode`, `initial_access_token`), else
//!    401 `invalid_token`;
//! 2. a JSON object body (`Content-Type: application/json`, at most 64 KiB);
//! 3. `ClientMetadata::from_json` then `validate` (RFC 7591 §2, §2.1, OIDC
//!    Registration §2, RFC 8252), then this deployment's policy: only the
//!    grant types the token endpoint serves, and no `allow_plain_pkce`
//!    (an administrator's decision, never a registrant's);
//! 4. a random `client_id`, a `registration_access_token` (stored as its
//!    hash) and, for `client_secret_basic`/`_post`/`_jwt`, a client secret
//!    set through op-store `clients.set-secret` (sealed for
//!    `client_secret_jwt`, whose secret is 86 characters so that HS512
//!    works; 43 otherwise);
//! 5. 201 with the registered metadata (defaults filled in) and
//!    `client_id`, `client_secret`, `client_id_issued_at`,
//!    `client_secret_expires_at: 0` (secrets do not expire),
//!    `registration_access_token`, `registration_client_uri`.
//!
//! `/register/{client_id}` takes the registration access token as a Bearer
//! token; an unknown client, a client without one, and a wrong token are
//! all 401 `invalid_token` (RFC 7592 §2.1, §2.2, §2.3), alike. `GET` answers
//! the client information (the token is echoed; the secret, stored only as
//! a hash, is not). `PUT` replaces the metadata (RFC 7592 §2.2): the body
//! must carry the same `client_id`; a `client_secret` in it must be the
//! current one; `registration_access_token`, `registration_client_uri`,
//! `client_secret_expires_at` and `client_id_issued_at` are ignored (clients
//! often send back what they read); a change to a method without a secret
//! drops the secret, a change to one with a secret the client does not
//! have (or to `client_secret_jwt`, whose sealed copy the store only makes
//! from the secret itself) issues a new one, returned once. `DELETE`
//! removes the client and everything issued to it: 204.

use authrim_oauth::client_metadata::{AuthMethod, ClientMetadata, GrantType};
use authrim_protocol::error::Challenge;
use authrim_protocol::secret::{constant_time_eq, hash_token, random_token};
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde_json::{Map, Value};

use crate::endpoint::{is_json_content_type, Request};
use crate::env::Env;
use crate::store::{fault, internal, Client, Store};
use crate::REGISTRATION_PATH;

/// Largest registration request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The grant types a client may register: those op-token serves.
pub const GRANT_TYPES: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
    GrantType::JwtBearer,
    GrantType::Ciba,
];

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1).
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// 401 `invalid_token` with a Bearer challenge; without a description
/// when no token was sent (see `endpoint::render`).
fn unauthorized(presented: Option<&str>, description: &'static str) -> OAuthError {
    let e = match presented {
        Some(_) => OAuthError::with_description(ErrorCode::InvalidToken, description),
        None => OAuthError::new(ErrorCode::InvalidToken),
    };
    e.challenge(Challenge::Bearer)
}

fn invalid_metadata(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidClientMetadata, description)
}

fn secret_fault(e: impl std::fmt::Display) -> OAuthError {
    internal(format_args!("no randomness: {e}"))
}

/// The request body: JSON text (its syntax is checked by the caller).
fn json_body<'r>(req: &Request<'r>) -> Result<&'r str, OAuthError> {
    if !req.content_type.is_some_and(is_json_content_type) {
        return Err(OAuthError::invalid_request(
            "the request body must be application/json",
        ));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(OAuthError::with_description(
            ErrorCode::PayloadTooLarge,
            "the client metadata is too large",
        ));
    }
    std::str::from_utf8(req.body).map_err(|_| invalid_metadata("client metadata is not UTF-8"))
}

/// A JSON object (one `Value` parser for every JSON text we read).
fn json_object(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Reads and checks metadata: the specifications' rules, then ours.
/// Members that are not metadata (`client_id`, `client_secret`,
/// `registration_access_token`, ...) are ignored like any unknown member.
fn checked_metadata(json: &str) -> Result<ClientMetadata, OAuthError> {
    let metadata = ClientMetadata::from_json(json)?;
    metadata.validate()?;
    if let Some(g) = metadata
        .grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(g))
    {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidClientMetadata,
            format!("grant type `{g}` is not supported"),
        ));
    }
    if metadata.allow_plain_pkce {
        return Err(invalid_metadata(
            "allow_plain_pkce can only be set by an administrator",
        ));
    }
    // A client must not choose to poll faster (or keep codes longer) than
    // the operator allows.
    if metadata.device_code_ttl.is_some() || metadata.device_poll_interval.is_some() {
        return Err(invalid_metadata(
            "device_code_ttl and device_poll_interval can only be set by an administrator",
        ));
    }
    // CIBA Core §4: https. The loopback exception client metadata allows
    // is the operator's to make (`authrim admin client add`).
    if metadata
        .backchannel_client_notification_endpoint
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://"))
    {
        return Err(invalid_metadata(
            "backchannel_client_notification_endpoint must be an https URL",
        ));
    }
    Ok(metadata)
}

/// A new client secret for `method`: 256 bits (43 characters), doubled for
/// `client_secret_jwt` so that it is long enough for HS512 (RFC 7518 §3.2).
fn new_secret(method: AuthMethod) -> Result<String, OAuthError> {
    let mut secret = random_token().map_err(secret_fault)?;
    if method == AuthMethod::ClientSecretJwt {
        secret.push_str(&random_token().map_err(secret_fault)?);
    }
    Ok(secret)
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the
/// stored metadata (our own serialisation, defaults filled in) and the
/// registration members.
fn client_information(
    status: u16,
    client: &Client,
    registration_access_token: &str,
    new_secret: Option<&str>,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let mut map = json_object(&client.metadata_json).ok_or_else(|| {
        internal(format_args!(
            "client {}: stored metadata is not a JSON object",
            client.client_id
        ))
    })?;
    map.insert("client_id".into(), client.client_id.clone().into());
    if let Some(secret) = new_secret {
        map.insert("client_secret".into(), secret.into());
    }
    if new_secret.is_some() || client.secret_hash.is_some() {
        map.insert("client_secret_expires_at".into(), 0.into());
    }
    map.insert("client_id_issued_at".into(), client.created_at.into());
    map.insert(
        "registration_access_token".into(),
        registration_access_token.into(),
    );
    map.insert(
        "registration_client_uri".into(),
        env.issuer
            .endpoint(&format!("{REGISTRATION_PATH}/{}", client.client_id))
            .into(),
    );
    Ok(HttpResponse::json(status, &Value::Object(map)))
}

fn metadata_json(metadata: &ClientMetadata) -> Result<String, OAuthError> {
    serde_json::to_string(metadata).map_err(|_| internal("client metadata does not serialise"))
}

/// `POST /register`.
pub fn register<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let presented = bearer(req.authorization);
    if !env.registration.admits(presented) {
        return Err(unauthorized(
            presented,
            "the initial access token is not valid",
        ));
    }
    let metadata = checked_metadata(json_body(req)?)?;
    let method = metadata.token_endpoint_auth_method;

    let client_id = random_token().map_err(secret_fault)?;
    let registration_access_token = random_token().map_err(secret_fault)?;
    let secret = match method.uses_secret() {
        true => Some(new_secret(method)?),
        false => None,
    };
    let mut client = Client {
        client_id,
        secret_hash: None,
        metadata_json: metadata_json(&metadata)?,
        registration_token_hash: Some(hash_token(&registration_access_token)),
        created_at: env.now,
        updated_at: env.now,
    };
    store
        .create_client(&client)
        .map_err(fault("clients.create"))?;
    if let Some(secret) = &secret {
        let keep_for_mac = method == AuthMethod::ClientSecretJwt;
        if let Err(e) = store.set_secret(&client.client_id, secret, keep_for_mac) {
            // Not left behind half-made.
            let _ = store.delete_client(&client.client_id);
            return Err(fault("clients.set-secret")(e));
        }
        client.secret_hash = Some(hash_token(secret));
    }
    client_information(
        201,
        &client,
        &registration_access_token,
        secret.as_deref(),
        env,
    )
}

/// The client named in the path, if the request bears its registration
/// access token; otherwise 401, the same for every reason.
fn configured_client<'r, S: Store>(
    req: &Request<'r>,
    client_id: &str,
    store: &S,
) -> Result<(Client, &'r str), OAuthError> {
    const INVALID: &str = "the registration access token is not valid for this client";
    let presented = bearer(req.authorization).ok_or_else(|| unauthorized(None, INVALID))?;
    let client = store.client(client_id).map_err(fault("clients.get"))?;
    let presented_hash = hash_token(presented);
    let valid = client
        .as_ref()
        .and_then(|c| c.registration_token_hash.as_deref())
        .is_some_and(|stored| constant_time_eq(stored.as_bytes(), presented_hash.as_bytes()));
    match client {
        Some(client) if valid => Ok((client, presented)),
        _ => Err(unauthorized(Some(presented), INVALID)),
    }
}

fn stored_metadata(client: &Client) -> Result<ClientMetadata, OAuthError> {
    ClientMetadata::from_json(&client.metadata_json).map_err(|e| {
        internal(format_args!(
            "client {}: stored metadata unreadable: {e}",
            client.client_id
        ))
    })
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub fn read<S: Store>(
    req: &Request<'_>,
    client_id: &str,
    store: &S,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let (client, token) = configured_client(req, client_id, store)?;
    client_information(200, &client, token, None, env)
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2).
pub fn update<S: Store>(
    req: &Request<'_>,
    client_id: &str,
    store: &S,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let (client, token) = configured_client(req, client_id, store)?;
    let json = json_body(req)?;
    let map = json_object(json)
        .ok_or_else(|| invalid_metadata("client metadata must be a JSON object"))?;
    match map.get("client_id") {
        Some(Value::String(id)) if id == &client.client_id => {}
        Some(_) => return Err(invalid_metadata("client_id does not match this client")),
        None => return Err(invalid_metadata("client_id is required")),
    }
    let presented_secret = match map.get("client_secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let matches = client.secret_hash.as_deref().is_some_and(|stored| {
                constant_time_eq(stored.as_bytes(), hash_token(s).as_bytes())
            });
            if !matches {
                return Err(invalid_metadata(
                    "client_secret does not match the current secret",
                ));
            }
            Some(s.clone())
        }
        Some(_) => return Err(invalid_metadata("client_secret must be a string")),
    };
    let metadata = checked_metadata(json)?;
    let old_method = stored_metadata(&client)?.token_endpoint_auth_method;
    let method = metadata.token_endpoint_auth_method;

    // What happens to the secret.
    let keep_for_mac = method == AuthMethod::ClientSecretJwt;
    let needs_sealed = keep_for_mac && old_method != AuthMethod::ClientSecretJwt;
    let (secret_hash, set_secret, issued) = if !method.uses_secret() {
        (None, None, None)
    } else if client.secret_hash.is_some() && !needs_sealed {
        (client.secret_hash.clone(), None, None)
    } else if let (true, Some(s)) = (needs_sealed, presented_secret) {
        // Sealed from the secret the client proved it holds: unchanged.
        (None, Some(s), None)
    } else {
        let s = new_secret(method)?;
        (None, Some(s.clone()), Some(s))
    };
    let mut updated = Client {
        secret_hash,
        metadata_json: metadata_json(&metadata)?,
        updated_at: env.now,
        ..client
    };
    store
        .update_client(&updated)
        .map_err(fault("clients.update"))?;
    if let Some(secret) = &set_secret {
        store
            .set_secret(&updated.client_id, secret, keep_for_mac)
            .map_err(fault("clients.set-secret"))?;
        updated.secret_hash = Some(hash_token(secret));
    }
    client_information(200, &updated, token, issued.as_deref(), env)
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
pub fn delete<S: Store>(
    req: &Request<'_>,
    client_id: &str,
    store: &S,
    _env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let (client, _) = configured_client(req, client_id, store)?;
    store
        .delete_client(&client.client_id)
        .map_err(fault("clients.delete"))?;
    Ok(HttpResponse::new(204))
}
