//! The signed-in user of op-async's pages (`/device`, `/bc-approve`): the
//! shared session cookie (`authrim_oauth::session_cookie`, set by op-auth's
//! sign-in), the session it names, and a CSRF token per page bound to that
//! cookie. Signed out, a page sends the browser to op-auth's `/login` with
//! a `return_to` that op-auth accepts (its `interaction::return_path`).

use authrim_oauth::form::{form_urlencode, Params};
use authrim_oauth::session_cookie;
use authrim_protocol::secret::{constant_time_eq, hash_token};
use authrim_protocol::{HttpResponse, OAuthError};

use crate::request::Request;
use crate::store::{fault, Session, Store, User};
use crate::Env;

/// The signed-in user, their session, and the page's CSRF token.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub csrf: String,
}

impl SignedIn {
    /// Whether the form's `csrf` is this session's token (constant time).
    pub fn csrf_matches(&self, params: &Params) -> bool {
        params
            .get("csrf")
            .is_some_and(|c| constant_time_eq(c.as_bytes(), self.csrf.as_bytes()))
    }

    /// auth_time, acr, amr of the session: what an approval rests on (the
    /// `grant-json` op-token reads).
    pub fn grant_json(&self) -> String {
        serde_json::json!({
            "auth_time": self.session.auth_time,
            "acr": self.session.acr,
            "amr": self.session.amr,
        })
        .to_string()
    }
}

/// The user of the request's session cookie, if it names an active
/// session of an enabled user. `page` labels the CSRF token, so that a
/// token of one page is no token of another.
pub fn signed_in<S: Store>(
    env: &Env<'_, S>,
    req: &Request<'_>,
    page: &str,
) -> Result<Option<SignedIn>, OAuthError> {
    let Some(value) = session_cookie::read(&env.config.issuer, req.cookie) else {
        return Ok(None);
    };
    let Some(session) = env
        .store
        .active_session(&hash_token(value), env.now)
        .map_err(fault("sessions.get-active"))?
    else {
        return Ok(None);
    };
    match env
        .store
        .user(&session.user_id)
        .map_err(fault("users.get"))?
    {
        Some(user) if !user.disabled => Ok(Some(SignedIn {
            session,
            user,
            csrf: csrf_token(page, value),
        })),
        _ => Ok(None),
    }
}

/// A form's CSRF token: derived from the session cookie's value (HttpOnly,
/// so only this browser knows it), so it needs no storage and no one
/// without the cookie can compute it.
pub fn csrf_token(page: &str, cookie_value: &str) -> String {
    hash_token(&format!("authrim {page} page csrf:{cookie_value}"))
}

/// To op-auth's sign-in, returning to `back` (a path op-auth accepts).
pub fn sign_in_first<S: Store>(env: &Env<'_, S>, back: &str) -> HttpResponse {
    let location = format!(
        "{}?{}",
        env.config.issuer.endpoint("/login"),
        form_urlencode([("return_to", back)])
    );
    HttpResponse::new(303)
        .header("location", &location)
        .header("cache-control", "no-store")
}
