//! One module per endpoint; each is an ordered list of small checks.

pub mod authorize;
pub mod consent;
pub mod login;
pub mod logout;
pub mod par;

use crate::html;
use crate::request::Request;
use crate::Env;
use authrim_protocol::{HttpResponse, OAuthError};

/// Dispatches on the path (spin.toml routes exactly these paths here).
pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    match req.path {
        "/authorize" => authorize::handle(env, req),
        "/as/par" => par::handle(env, req),
        "/login" => login::handle(env, req),
        "/consent" => consent::handle(env, req),
        "/logout" => logout::handle(env, req),
        _ => html::error_page(&OAuthError::not_found()),
    }
}

/// Pages answer GET and POST only.
pub(crate) fn check_get_or_post(req: &Request) -> Result<(), OAuthError> {
    match req.method {
        "GET" | "POST" => Ok(()),
        _ => Err(OAuthError::method_not_allowed("GET, POST")),
    }
}

/// An endpoint result as a page: errors become the error page.
pub(crate) fn as_page(result: Result<HttpResponse, OAuthError>) -> HttpResponse {
    result.unwrap_or_else(|e| html::error_page(&e))
}

#[cfg(test)]
mod tests;
