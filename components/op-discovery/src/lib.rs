//! op-discovery: `/.well-known/openid-configuration`,
//! `/.well-known/oauth-authorization-server` and `/.well-known/jwks.json`.
//!
//! Metadata is built from the `issuer` variable on every request (cheap, and
//! never stale); the JWK Set comes from op-store's key manager, which creates
//! the first keys if none exist yet.

// Natively only the unit tests use the endpoint logic.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod capabilities;
mod endpoint;

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::endpoint::{self, Request};
    use authrim_protocol::{Issuer, OAuthError};
    use authrim_spin::http::{header, into_spin, method_name};
    use authrim_spin::store::keys;
    use spin_sdk::http::{IntoResponse, Request as SpinRequest};
    use spin_sdk::http_component;

    #[http_component]
    fn handle(req: SpinRequest) -> impl IntoResponse {
        let request = Request {
            method: method_name(&req),
            path: req.path(),
            if_none_match: header(&req, "if-none-match"),
        };
        let issuer = || {
            let raw = spin_sdk::variables::get("issuer").map_err(|e| {
                eprintln!("op-discovery: variable `issuer`: {e}");
                OAuthError::server_error()
            })?;
            Issuer::parse(&raw).map_err(|e| {
                eprintln!("op-discovery: {e}");
                OAuthError::server_error()
            })
        };
        let jwks = || {
            keys::jwks().map_err(|e| {
                eprintln!("op-discovery: store keys.jwks: {e:?}");
                OAuthError::server_error()
            })
        };
        // RFC 9126 §5: advertised when the deployment requires PAR.
        let require_par = spin_sdk::variables::get("require_pushed_authorization_requests")
            .map(|v| v.trim() == "true")
            .unwrap_or(false);
        let caps = crate::capabilities::deployed(require_par);
        into_spin(endpoint::respond(&request, &caps, issuer, jwks))
    }
}
