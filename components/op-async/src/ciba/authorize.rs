//! `POST /bc-authorize` (CIBA Core §7), in order:
//! 1. `POST` with a form body (at most 16 KB);
//! 2. client authentication (`client::authenticate`, as
//!    `/device_authorization`; the CIBA grant needs a confidential client,
//!    which registration enforces);
//! 3. the client registered the CIBA grant and a delivery mode this build
//!    serves, else `unauthorized_client` (§13);
//! 4. the parameters (`authrim_oauth::ciba::AuthenticationRequest`):
//!    `scope` with `openid`, exactly one hint, `binding_message`,
//!    `requested_expiry`; then the scope limited to the registered one;
//! 5. `user_code` only from a client registered with
//!    `backchannel_user_code_parameter`, and then required
//!    (`missing_user_code`; `authrim_oauth::ciba::registered_user_code`);
//! 6. the user: `login_hint` is a username, `id_token_hint` an ID Token
//!    this OP issued to this client (`authrim_oauth::id_token_hint`),
//!    `login_hint_token` a JWT from a trusted issuer (`super::hint_token`);
//!    no such active user is `unknown_user_id`;
//! 7. the user's code, when required (`super::user_code`:
//!    `invalid_user_code`, throttled per user);
//! 8. an `auth_req_id` (256 random bits, stored as its SHA-256) with its
//!    lifetime and the polling interval (`device_poll_interval`);
//! 9. the deployment's webhook, if configured (`super::webhook`), told of
//!    the new request (best effort).
//!
//! §7.3: 200 with `auth_req_id`, `expires_in`, `interval`. Errors are §13
//! JSON (`invalid_client` 401). Every answer carries `Cache-Control:
//! no-store`.

use authrim_jose::Jwks;
use authrim_oauth::ciba::{registered_user_code, AuthenticationRequest, UserHint};
use authrim_oauth::client_lookup::AuthenticatedClient;
use authrim_oauth::client_metadata::{BackchannelDeliveryMode, GrantType};
use authrim_oauth::id_token_hint;
use authrim_oauth::scope::Scope;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde::Serialize;

use super::notify::Notification;
use super::webhook::{signature, Event, Webhook, MAX_IGNORED_ANSWER, SIGNATURE_HEADER};
use super::{hint_token, user_code};
use super::{APPROVAL_PATH, AUTHORIZE_PATH};
use crate::request::Request;
use crate::store::{fault, CibaRequest, Store, User};
use crate::{client, new_token, Env};

/// CIBA Core §7.3.
#[derive(Debug, Serialize)]
pub struct AuthenticationResponse {
    pub auth_req_id: String,
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
    let client = client::authenticate(req.authorization, &params, AUTHORIZE_PATH, env).await?;
    let mode = delivery_mode(&client)?;
    let request = AuthenticationRequest::parse(&params)?;
    let registered = client
        .metadata
        .scope
        .as_deref()
        .map(|s| Scope::from_tokens(s.split(' ')));
    let scope = request.scope.restrict_to_registered(registered.as_ref())?;
    let code = registered_user_code(
        client.metadata.backchannel_user_code_parameter,
        request.user_code.as_deref(),
    )?;
    let user = find_user(env, &client, &request.hint).await?;
    if let Some(code) = code {
        user_code::check(env, &user, code)?;
    }
    let auth_req_id = new_token()?;
    // §7.1: required for ping (and push); kept, with the id, only for the
    // callback. A poll client's token, if it sent one, is not kept.
    let notification_token = match (mode, request.client_notification_token) {
        (BackchannelDeliveryMode::Poll, _) => None,
        (_, Some(token)) => Some(
            Notification {
                auth_req_id: auth_req_id.clone(),
                token,
            }
            .to_stored(),
        ),
        (_, None) => {
            return Err(OAuthError::invalid_request(
                "client_notification_token is required in ping and push modes",
            ))
        }
    };
    let interval = env.config.device_poll_interval;
    let stored = CibaRequest {
        auth_req_id_hash: hash_token(&auth_req_id),
        client_id: client.id.as_str().to_string(),
        user_id: user.id.clone(),
        scope: scope.to_string(),
        acr_values: request.acr_values,
        binding_message: request.binding_message,
        delivery_mode: mode.to_string(),
        notification_token,
        created_at: env.now,
        expires_at: env.now.saturating_add(request.expires_in),
        interval,
    };
    env.store
        .create_ciba(&stored, env.now)
        .map_err(fault("ciba-requests.create"))?;
    if let Some(hook) = &env.config.ciba_webhook {
        let client_name = client
            .metadata
            .client_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(client.id.as_str());
        notify(env, hook, &stored, &user.username, client_name).await;
    }
    Ok(HttpResponse::json(
        200,
        &AuthenticationResponse {
            auth_req_id,
            expires_in: request.expires_in,
            interval,
        },
    ))
}

/// POSTs the signed event to the webhook; failures are only logged (the
/// request stands, and the approval page lists it anyway).
async fn notify<S: Store>(
    env: &Env<'_, S>,
    hook: &Webhook,
    stored: &CibaRequest,
    username: &str,
    client_name: &str,
) {
    let approval_url = env.config.issuer.endpoint(APPROVAL_PATH);
    let event = Event::new(stored, username, client_name, &approval_url);
    let body = match serde_json::to_vec(&event) {
        Ok(b) => b,
        Err(e) => return crate::log(&format!("CIBA webhook event: {e}")),
    };
    let signed = signature(&hook.secret, env.now, &body);
    let headers = [
        ("content-type", "application/json"),
        (SIGNATURE_HEADER, signed.as_str()),
    ];
    match env
        .store
        .post(
            hook.target.https,
            &hook.target.authority,
            &hook.target.path,
            &headers,
            &body,
            MAX_IGNORED_ANSWER,
        )
        .await
    {
        Ok((status, _)) if (200..300).contains(&status) => {}
        Ok((status, _)) => crate::log(&format!("CIBA webhook answered {status}")),
        Err(e) => crate::log(&format!("CIBA webhook: {e}")),
    }
}

/// The client's registered delivery mode, if it may use CIBA here.
fn delivery_mode(client: &AuthenticatedClient) -> Result<BackchannelDeliveryMode, OAuthError> {
    let unauthorized =
        |why: &'static str| OAuthError::with_description(ErrorCode::UnauthorizedClient, why);
    if !client.metadata.allows_grant(GrantType::Ciba) {
        return Err(unauthorized(
            "the client is not allowed to use the CIBA grant",
        ));
    }
    // Registration requires a mode with the grant; every mode is served.
    client
        .metadata
        .backchannel_token_delivery_mode
        .ok_or_else(|| unauthorized("the client registered no backchannel_token_delivery_mode"))
}

fn unknown_user() -> OAuthError {
    OAuthError::with_description(
        ErrorCode::UnknownUserId,
        "the hint does not identify an active user",
    )
}

/// The active user the hint names.
async fn find_user<S: Store>(
    env: &Env<'_, S>,
    client: &AuthenticatedClient,
    hint: &UserHint,
) -> Result<User, OAuthError> {
    let found = match hint {
        UserHint::LoginHint(username) => env
            .store
            .user_by_username(username)
            .map_err(fault("users.find-by-username"))?,
        UserHint::IdTokenHint(token) => {
            let jwks = env.store.jwks().map_err(fault("keys.jwks"))?;
            let keys = Jwks::parse(&jwks).map_err(|e| {
                crate::log(&format!("our own JWK Set does not parse: {e:?}"));
                OAuthError::server_error()
            })?;
            let hint = id_token_hint::verify(token, &keys, &env.config.issuer)?;
            // §7.1: "an ID Token previously issued to the Client".
            if !hint.has_audience(client.id.as_str()) {
                return Err(id_token_hint::invalid());
            }
            env.store.user(&hint.sub).map_err(fault("users.get"))?
        }
        UserHint::LoginHintToken(token) => hint_token::user_of(env, token).await?,
    };
    found.filter(|u| !u.disabled).ok_or_else(unknown_user)
}
