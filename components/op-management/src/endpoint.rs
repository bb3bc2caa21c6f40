//! Routing for the four endpoints and what every answer shares.
//!
//! Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`
//! (RFC 7591 §3.2.1, RFC 7662 §2.2 hold credentials or token metadata).
//! `/revoke` also answers CORS (`Access-Control-Allow-Origin: *`, and an
//! `OPTIONS` preflight): browser-based public clients revoke their own
//! tokens, and the endpoint uses no cookies.

use authrim_protocol::error::Challenge;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

use crate::env::Env;
use crate::store::Store;
use crate::{introspection, registration, revocation};
use crate::{INTROSPECTION_PATH, REGISTRATION_PATH, REVOCATION_PATH};

pub struct Request<'a> {
    pub method: &'a str,
    /// The path without the query.
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    /// `/register` (RFC 7591).
    Register,
    /// `/register/{client_id}` (RFC 7592 client configuration endpoint).
    Configuration(&'a str),
    Introspect,
    Revoke,
}

fn route(path: &str) -> Option<Route<'_>> {
    match path {
        REGISTRATION_PATH => Some(Route::Register),
        INTROSPECTION_PATH => Some(Route::Introspect),
        REVOCATION_PATH => Some(Route::Revoke),
        _ => {
            let id = path.strip_prefix(REGISTRATION_PATH)?.strip_prefix('/')?;
            (!id.is_empty() && !id.contains('/')).then_some(Route::Configuration(id))
        }
    }
}

impl Route<'_> {
    fn allow(self) -> &'static str {
        match self {
            Route::Register | Route::Introspect => "POST",
            Route::Configuration(_) => "GET, PUT, DELETE",
            Route::Revoke => "POST, OPTIONS",
        }
    }
}

pub async fn respond<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> HttpResponse {
    let route = route(req.path);
    let resp = match serve(req, route, store, env).await {
        Ok(resp) => resp,
        Err(err) => render(&err),
    };
    let resp = resp
        .header("cache-control", "no-store")
        .header("pragma", "no-cache");
    match route {
        Some(Route::Revoke) => resp.header("access-control-allow-origin", "*"),
        _ => resp,
    }
}

async fn serve<S: Store>(
    req: &Request<'_>,
    route: Option<Route<'_>>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    let route = route.ok_or_else(OAuthError::not_found)?;
    let allowed = route.allow().split(", ").any(|m| m == req.method);
    if !allowed {
        return Err(OAuthError::method_not_allowed(route.allow()));
    }
    if req.method == "OPTIONS" {
        return Ok(HttpResponse::new(204)
            .header("allow", route.allow())
            .header("access-control-allow-methods", route.allow())
            .header(
                "access-control-allow-headers",
                "authorization, content-type",
            )
            .header("access-control-max-age", "86400"));
    }
    let env = env()?;
    match route {
        Route::Register => registration::register(req, store, &env),
        Route::Configuration(client_id) => match req.method {
            "GET" => registration::read(req, client_id, store, &env),
            "PUT" => registration::update(req, client_id, store, &env),
            _ => registration::delete(req, client_id, store, &env),
        },
        Route::Introspect => introspection::introspect(req, store, &env).await,
        Route::Revoke => revocation::revoke(req, store, &env).await,
    }
}

/// The answer to a request that could not even be read (e.g. a repeated
/// header), with the headers every answer carries.
pub fn error_response(err: &OAuthError) -> HttpResponse {
    render(err)
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
}

/// The error response. A Bearer challenge for a request that carried no
/// token at all has no error code (RFC 6750 §3.1); such errors are
/// `invalid_token` without a description.
fn render(err: &OAuthError) -> HttpResponse {
    let mut resp = err.to_response();
    let bare = err.code == ErrorCode::InvalidToken
        && err.description.is_none()
        && err.challenge == Some(Challenge::Bearer);
    if bare {
        for (name, value) in &mut resp.headers {
            if name == "www-authenticate" {
                *value = "Bearer realm=\"authrim\"".to_string();
            }
        }
    }
    resp
}

/// Whether a `Content-Type` is `application/json` (parameters allowed).
pub fn is_json_content_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/register"), Some(Route::Register));
        assert_eq!(route("/register/abc"), Some(Route::Configuration("abc")));
        assert_eq!(route("/introspect"), Some(Route::Introspect));
        assert_eq!(route("/revoke"), Some(Route::Revoke));
        for path in [
            "/register/",
            "/register/a/b",
            "/registerx",
            "/register//",
            "/revoke/",
            "/",
        ] {
            assert_eq!(route(path), None, "{path}");
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(!is_json_content_type("application/jsonx"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }
}
