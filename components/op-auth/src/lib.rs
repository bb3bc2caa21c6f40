//! op-auth: the authorization endpoint (`/authorize`, OIDC Core §3.1.2),
//! pushed authorization requests (`/as/par`, RFC 9126), the login and
//! consent pages (`/login`, `/consent`) and RP-initiated logout
//! (`/logout`, OpenID Connect RP-Initiated Logout 1.0).
//!
//! The endpoint logic is free of I/O: it talks to op-store through the
//! [`store::Store`] trait and is tested natively against an in-memory
//! store. The `component` module (wasm32 only) is the thin Spin adapter.

pub mod config;
pub mod endpoints;
pub mod flow;
pub mod hint;
pub mod interaction;
pub mod jar;
pub mod keys;
pub mod pages;
pub mod request;
pub mod store;

/// The page layout and the session cookie live in authrim-oauth, shared
/// with op-async's device verification page.
pub use authrim_oauth::{html, session_cookie as cookie};

#[cfg(test)]
pub(crate) mod testing;

#[cfg(target_arch = "wasm32")]
mod component;

use authrim_protocol::OAuthError;

/// What every endpoint works with.
pub struct Env<'a> {
    pub store: &'a dyn store::Store,
    pub config: &'a config::Config,
    /// UNIX seconds.
    pub now: i64,
    /// What the component fetched for this request (`jar::wanted`).
    pub fetched: &'a jar::Fetched,
}

/// `typ` of JARM response JWTs (JARM defines none; RFC 7519 §5.1's `JWT`).
pub const JARM_TYP: &str = "JWT";

impl Env<'_> {
    /// What signs JARM responses (op-store's keys, now) and finds the
    /// client's keys to encrypt them.
    pub fn jarm(&self) -> authrim_oauth::response_mode::Jarm<'_> {
        authrim_oauth::response_mode::Jarm {
            now: self.now,
            sign: self,
            keys: self,
        }
    }
}

impl authrim_oauth::response_mode::SignJwt for Env<'_> {
    fn sign_jwt(&self, alg: authrim_jose::Alg, claims_json: &str) -> Result<String, OAuthError> {
        self.store.sign_jwt(alg.as_str(), JARM_TYP, claims_json)
    }
}

/// A new 256-bit random token (codes, ids, CSRF tokens, cookies).
pub(crate) fn new_token() -> Result<String, OAuthError> {
    authrim_protocol::secret::random_token().map_err(|e| {
        log(&format!("random: {e}"));
        OAuthError::server_error()
    })
}

/// Operator-facing detail (never sent to clients).
pub(crate) fn log(message: &str) {
    eprintln!("op-auth: {message}");
}
