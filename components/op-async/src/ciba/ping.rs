//! Ping mode (CIBA Core §10.2): once the user has decided, op-async tells
//! the client, which then fetches the result from `/token` with the grant
//! as in poll mode.
//!
//! The client sent a `client_notification_token` with its request (§7.1:
//! required for ping). What the callback needs, that token and the
//! `auth_req_id` (the table otherwise keeps only its hash), is stored as a
//! [`Notification`] in the request's `notification-token` field, which
//! op-store seals at rest. On approval or denial op-async POSTs
//! `{"auth_req_id": ...}` to the client's
//! `backchannel_client_notification_endpoint` with
//! `Authorization: Bearer <client_notification_token>` (§10.2). One
//! attempt, inside the user's request: a failure is logged and the client
//! still gets the result by polling.

use authrim_oauth::client_metadata::ClientMetadata;
use serde::Serialize;

use super::webhook::Target;
use crate::store::{CibaRequest, Store};
use crate::Env;

/// What a ping-mode request keeps for its callback.
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
struct Callback<'a> {
    auth_req_id: &'a str,
}

/// Notifies the client of a decided ping-mode request; nothing for other
/// modes.
pub async fn notify<S: Store>(env: &Env<'_, S>, request: &CibaRequest, client: &ClientMetadata) {
    if request.delivery_mode != "ping" {
        return;
    }
    let Some(notification) = request
        .notification_token
        .as_deref()
        .and_then(Notification::from_stored)
    else {
        return crate::log("a ping-mode CIBA request has no notification token");
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
    let body = match serde_json::to_vec(&Callback {
        auth_req_id: &notification.auth_req_id,
    }) {
        Ok(b) => b,
        Err(e) => return crate::log(&format!("CIBA ping body: {e}")),
    };
    let bearer = format!("Bearer {}", notification.token);
    let headers = [("authorization", bearer.as_str())];
    match env
        .store
        .post_json(
            target.https,
            &target.authority,
            &target.path,
            &headers,
            &body,
        )
        .await
    {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => crate::log(&format!(
            "CIBA ping to client {} answered {status}",
            request.client_id
        )),
        Err(e) => crate::log(&format!("CIBA ping to client {}: {e}", request.client_id)),
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
