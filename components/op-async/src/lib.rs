//! op-async: flows where the client waits while the user decides on
//! another device. The Device Authorization Grant (RFC 8628):
//! `POST /device_authorization` (module `device::authorization`) and the
//! verification page `/device` (`device::verification`); and CIBA (Core
//! 1.0, poll mode): `POST /bc-authorize` (`ciba::authorize`) and the
//! approval page `/bc-approve` (`ciba::approval`). The token endpoint's
//! side is op-token's `device_code` and `ciba` grants. Both flows share
//! `config`, `store`, `client`, `request` and `session`.
//!
//! The endpoint logic is free of I/O: it reaches op-store through the
//! [`store::Store`] trait and is tested natively against an in-memory
//! store. The `component` module (wasm32 only) is the thin Spin adapter.

pub mod ciba;
pub mod client;
pub mod config;
pub mod device;
pub mod request;
pub mod session;
pub mod store;

#[cfg(test)]
mod testing;

#[cfg(target_arch = "wasm32")]
mod component;

use authrim_protocol::{HttpResponse, OAuthError};

/// What every endpoint works with.
pub struct Env<'a, S> {
    pub store: &'a S,
    pub config: &'a config::Config,
    /// UNIX seconds.
    pub now: i64,
}

/// Dispatches on the path (spin.toml routes exactly these paths here).
pub async fn handle<S: store::Store>(env: &Env<'_, S>, req: &request::Request<'_>) -> HttpResponse {
    match req.path {
        device::AUTHORIZATION_PATH => device::authorization::handle(env, req).await,
        device::VERIFICATION_PATH => device::verification::handle(env, req),
        ciba::AUTHORIZE_PATH => ciba::authorize::handle(env, req).await,
        ciba::APPROVAL_PATH => ciba::approval::handle(env, req).await,
        _ => authrim_oauth::html::error_page(&OAuthError::not_found()),
    }
}

/// A new 256-bit random token.
pub(crate) fn new_token() -> Result<String, OAuthError> {
    authrim_protocol::secret::random_token().map_err(|e| {
        log(&format!("random: {e}"));
        OAuthError::server_error()
    })
}

/// Operator-facing detail (never sent to clients).
pub(crate) fn log(message: &str) {
    eprintln!("op-async: {message}");
}
