//! The deployment's outbound webhook for new CIBA requests: so that a
//! user's app (or a relay that pushes to it) learns that a request waits
//! for them on `/bc-approve`.
//!
//! Configured by the Spin variables `ciba_webhook_url` (https, or http on
//! a loopback host for a relay on the same machine; empty: off) and
//! `ciba_webhook_secret` (at least 32 characters). For each new request
//! op-async POSTs a JSON [`Event`] with the header
//! `Authrim-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`: the receiver recomputes the MAC over the timestamp,
//! a dot and the raw body, compares in constant time, and rejects old
//! timestamps. Delivery is best effort (one attempt; a failure is logged
//! and the request stands): the approval page works without it.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::store::CibaRequest;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "authrim-signature";

/// What the webhook receives (`Content-Type: application/json`).
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    /// Always `ciba.request.created`.
    pub event: &'static str,
    /// The request's key (the SHA-256 of its `auth_req_id`, never the id
    /// itself, which only the client holds).
    pub request_id: &'a str,
    /// The user's `sub` and username.
    pub user_id: &'a str,
    pub username: &'a str,
    pub client_id: &'a str,
    pub client_name: &'a str,
    pub scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding_message: Option<&'a str>,
    /// Where the user approves or denies.
    pub approval_url: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

impl<'a> Event<'a> {
    pub fn new(
        r: &'a CibaRequest,
        username: &'a str,
        client_name: &'a str,
        approval_url: &'a str,
    ) -> Event<'a> {
        Event {
            event: "ciba.request.created",
            request_id: &r.auth_req_id_hash,
            user_id: &r.user_id,
            username,
            client_id: &r.client_id,
            client_name,
            scope: &r.scope,
            binding_message: r.binding_message.as_deref(),
            approval_url,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// `t=<now>,v1=<hex HMAC-SHA256(secret, "<now>.<body>")>`.
pub fn signature(secret: &str, now: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{now}.").as_bytes());
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={now},v1={hex}")
}

/// The most of a webhook's or a client's answer read (and ignored: §10.2,
/// §10.3 ask only for its status).
pub const MAX_IGNORED_ANSWER: usize = 4096;

/// Where op-async POSTs: an https URL, or http on a loopback host (for a
/// receiver on the same machine), split for `Store::post`. The
/// webhook's URL and a ping client's notification endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub authority: String,
    pub path: String,
}

impl Target {
    /// `None` for any other URL (other schemes, http elsewhere, user
    /// credentials, a fragment, no host).
    pub fn parse(url: &str) -> Option<Target> {
        let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return None,
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
        let valid_authority = !host.is_empty()
            && !authority.contains('@')
            && authority.bytes().all(|b| b.is_ascii_graphic());
        if !valid_authority || url.contains('#') || (!https && !loopback) {
            return None;
        }
        Some(Target {
            https,
            authority: authority.to_string(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
        })
    }
}

/// The webhook's settings, from `ciba_webhook_url` and `ciba_webhook_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub target: Target,
    pub secret: String,
}

impl Webhook {
    /// `None` when the URL is empty (off); an error names the variable.
    pub fn from_settings(url: &str, secret: &str) -> Result<Option<Webhook>, String> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let Some(target) = Target::parse(url) else {
            return Err(
                "variable `ciba_webhook_url` must be an https URL (http only on a loopback host)"
                    .into(),
            );
        };
        if secret.chars().count() < 32 {
            return Err(
                "variable `ciba_webhook_secret` must have at least 32 characters when `ciba_webhook_url` is set"
                    .into(),
            );
        }
        Ok(Some(Webhook {
            target,
            secret: secret.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        let secret = "k".repeat(32);
        assert_eq!(Webhook::from_settings("", "").unwrap(), None);
        let w = Webhook::from_settings("https://hooks.example/ciba?x=1", &secret)
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                w.target.https,
                w.target.authority.as_str(),
                w.target.path.as_str()
            ),
            (true, "hooks.example", "/ciba?x=1")
        );
        let w = Webhook::from_settings("http://127.0.0.1:9000", &secret)
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                w.target.https,
                w.target.authority.as_str(),
                w.target.path.as_str()
            ),
            (false, "127.0.0.1:9000", "/")
        );
        for bad in [
            "http://hooks.example/ciba",
            "ftp://hooks.example",
            "https://user@hooks.example/",
            "https:///x",
            "https://hooks.example/#f",
            "hooks.example",
        ] {
            assert!(Webhook::from_settings(bad, &secret).is_err(), "{bad}");
        }
        assert!(Webhook::from_settings("https://hooks.example/", "short").is_err());
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently (Python's hmac module).
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "t=1700000000,v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        assert_ne!(signature("Jefe", 1, b"x"), signature("Jefe", 2, b"x"));
    }
}
