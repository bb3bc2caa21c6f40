//! Telling ping and push mode clients (CIBA Core §10.2, §10.3, §12) once
//! the user has decided on the approval page.
//!
//! The client sent a `client_notification_token` with its request (§7.1:
//! required for ping and push). What the callback needs, that token and
//! the `auth_req_id` (the table otherwise keeps only its hash), is stored
//! as a [`Notification`] in the request's `notification-token` field,
//! which op-store seals at rest. op-async then POSTs JSON to the client's
//! `backchannel_client_notification_endpoint` with
//! `Authorization: Bearer <client_notification_token>`:
//!
//! - ping (§10.2): `{"auth_req_id"}`, after approval or denial; the client
//!   fetches the result from `/token` as in poll mode;
//! - push, approved (§10.3.1): the token response with `auth_req_id`,
//!   whose ID Token binds the request and the tokens
//!   (`urn:openid:params:jwt:claim:auth_req_id`, `at_hash`, `rt_hash`).
//!   Token minting belongs to op-token, which op-async asks through Spin's
//!   local service chaining (`http://op-token.spin.internal/ciba/push`);
//!   op-token redeems the request as a poll would, so it is delivered once;
//! - push, denied (§12): `{"error": "access_denied", ...}`; and
//!   `transaction_failed` when op-token could not issue the tokens (the
//!   user was disabled or the session ended meanwhile, a server fault).
//!
//! One attempt, inside the user's request: a failure is logged (a ping
//! client can still poll; a push client's tokens are not sent again).
//! Requests that expire undecided are not reported to push clients
//! (`expired_token` would need a scheduler; the client sees the expiry).

use authrim_oauth::client_metadata::ClientMetadata;
use authrim_oauth::form::form_urlencode;
use serde::Serialize;

use super::webhook::{Target, MAX_IGNORED_ANSWER};
use crate::store::{CibaRequest, Store};
use crate::Env;

/// op-token's component id, for local service chaining.
const TOKEN_COMPONENT: &str = "op-token";
/// op-token's chained endpoint for push-mode token responses.
const PUSH_PATH: &str = "/ciba/push";
/// The largest token response accepted from op-token (ID Tokens encrypted
/// to RSA keys and a claims request stay far below).
const MAX_PUSH_PAYLOAD: usize = 64 * 1024;

/// What a ping- or push-mode request keeps for its callback.
#[derive(Debug, PartialEq, Eq)]
pub struct Notification {
    pub auth_req_id: String,
    pub token: String,
}

impl Notification {
    /// `<auth_req_id> <token>`: our ids are base64url, so the first space
    /// ends the id whatever the client's token holds. (A typed JSON form
    /// would link serde's deserializer into op-async: +40 KB.)
    pub fn to_stored(&self) -> String {
        format!("{} {}", self.auth_req_id, self.token)
    }

    pub fn from_stored(stored: &str) -> Option<Notification> {
        let (id, token) = stored.split_once(' ')?;
        (!id.is_empty() && !token.is_empty()).then(|| Notification {
            auth_req_id: id.to_string(),
            token: token.to_string(),
        })
    }
}

/// The §10.2 callback body.
#[derive(Serialize)]
struct Ping<'a> {
    auth_req_id: &'a str,
}

/// The §12 push error payload.
#[derive(Serialize)]
struct PushError<'a> {
    error: &'static str,
    error_description: &'static str,
    auth_req_id: &'a str,
}

/// Notifies the client of a decided ping- or push-mode request; nothing
/// for poll mode.
pub async fn notify<S: Store>(
    env: &Env<'_, S>,
    request: &CibaRequest,
    approved: bool,
    client: &ClientMetadata,
) {
    let push = match request.delivery_mode.as_str() {
        "ping" => false,
        "push" => true,
        _ => return,
    };
    let Some(notification) = request
        .notification_token
        .as_deref()
        .and_then(Notification::from_stored)
    else {
        return crate::log("a ping- or push-mode CIBA request has no notification token");
    };
    let Some(target) = client
        .backchannel_client_notification_endpoint
        .as_deref()
        .and_then(Target::parse)
    else {
        return crate::log(&format!(
            "client {}: no usable backchannel_client_notification_endpoint",
            request.client_id
        ));
    };
    let id = notification.auth_req_id.as_str();
    let body = match (push, approved) {
        (false, _) => serde_json::to_vec(&Ping { auth_req_id: id }),
        (true, true) => match token_response(env, request, id).await {
            Some(payload) => Ok(payload),
            None => serde_json::to_vec(&PushError {
                error: "transaction_failed",
                error_description: "The tokens could not be issued.",
                auth_req_id: id,
            }),
        },
        (true, false) => serde_json::to_vec(&PushError {
            error: "access_denied",
            error_description: "The end-user denied the authorization request.",
            auth_req_id: id,
        }),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return crate::log(&format!("CIBA callback body: {e}")),
    };
    let bearer = format!("Bearer {}", notification.token);
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    match env
        .store
        .post(
            target.https,
            &target.authority,
            &target.path,
            &headers,
            &body,
            MAX_IGNORED_ANSWER,
        )
        .await
    {
        Ok((status, _)) if (200..300).contains(&status) => {}
        Ok((status, _)) => crate::log(&format!(
            "CIBA callback to client {} answered {status}",
            request.client_id
        )),
        Err(e) => crate::log(&format!(
            "CIBA callback to client {}: {e}",
            request.client_id
        )),
    }
}

/// The push payload op-token mints for the approved request (a token
/// response with `auth_req_id`); `None` when it refused (logged).
async fn token_response<S: Store>(
    env: &Env<'_, S>,
    request: &CibaRequest,
    auth_req_id: &str,
) -> Option<Vec<u8>> {
    let form = form_urlencode([
        ("auth_req_id", auth_req_id),
        ("client_id", request.client_id.as_str()),
    ]);
    let authority = format!("{TOKEN_COMPONENT}.spin.internal");
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    match env
        .store
        .post(
            false,
            &authority,
            PUSH_PATH,
            &headers,
            form.as_bytes(),
            MAX_PUSH_PAYLOAD,
        )
        .await
    {
        Ok((200, payload)) => Some(payload),
        Ok((status, answer)) => {
            crate::log(&format!(
                "CIBA push for client {}: op-token answered {status}: {}",
                request.client_id,
                String::from_utf8_lossy(&answer)
            ));
            None
        }
        Err(e) => {
            crate::log(&format!("CIBA push for client {}: {e}", request.client_id));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_refuses_garbage() {
        let n = Notification {
            auth_req_id: "id".into(),
            token: "t".into(),
        };
        assert_eq!(Notification::from_stored(&n.to_stored()), Some(n));
        let spaced = Notification {
            auth_req_id: "id".into(),
            token: "a token with spaces".into(),
        };
        assert_eq!(Notification::from_stored(&spaced.to_stored()), Some(spaced));
        for bad in ["t", " t", "id "] {
            assert_eq!(Notification::from_stored(bad), None, "{bad}");
        }
    }
}
