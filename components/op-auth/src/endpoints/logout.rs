//! `GET`/`POST /logout`: RP-Initiated Logout 1.0 (the `end_session_endpoint`).
//!
//! The request, in order:
//! 1. Parameters from the query or form body.
//! 2. `id_token_hint`, if any: our signature and `iss` (expired is fine);
//!    `client_id`, if also given, must be one of its audiences.
//! 3. The client: `client_id`, else the hint's single audience.
//! 4. `post_logout_redirect_uri` is used only if that client registered it
//!    (exactly, `match_post_logout_redirect_uri`); otherwise there is no
//!    redirect and the user sees the "signed out" page. `state` is passed
//!    back with the redirect.
//! 5. Whom to sign out: the browser's session (cookie). The request is
//!    trusted when the hint names that session (`sid`) or its user
//!    (`sub`): the session ends at once. Otherwise the user confirms on a
//!    page whose form carries a CSRF token (stored with the logout target
//!    for [`INTERACTION_TTL`]). Without a cookie session (a cross-site
//!    POST does not carry our SameSite=Lax cookie), the hint's `sid`
//!    names the session to end.
//!
//! Ending is `sessions.end`: every component reads the session row on
//! every request, so the session is invalid on the very next request
//! anywhere. The cookie is cleared in the same answer.

use super::{as_page, check_get_or_post};
use crate::config::INTERACTION_TTL;
use crate::hint::{self, Hint};
use crate::interaction;
use crate::pages;
use crate::request::Request;
use crate::store::Session;
use crate::{cookie, flow, new_token, Env};
use authrim_oauth::authorize::MAX_STATE_LEN;
use authrim_oauth::form::{form_urlencode, Params};
use authrim_oauth::response_mode::{authorization_response, ResponseMode};
use authrim_protocol::secret::{constant_time_eq, hash_token};
use authrim_protocol::{HttpResponse, OAuthError};

/// The op-store `one-time` namespace of logout confirmations.
pub const NAMESPACE: &str = "logout";

/// A pending confirmation, stored form-encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    csrf: String,
    /// The verified post-logout redirect URI.
    target: Option<String>,
    state: Option<String>,
}

impl Pending {
    fn encode(&self) -> String {
        form_urlencode([
            ("csrf", self.csrf.as_str()),
            ("target", self.target.as_deref().unwrap_or("")),
            ("state", self.state.as_deref().unwrap_or("")),
        ])
    }

    fn decode(bytes: &[u8]) -> Option<Pending> {
        let p = Params::parse_bytes(bytes).ok()?;
        Some(Pending {
            csrf: p.get("csrf")?.to_string(),
            target: p.get("target").map(str::to_string),
            state: p.get("state").map(str::to_string),
        })
    }
}

pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    as_page(check_get_or_post(req).and_then(|_| {
        let params = req.params()?;
        if req.method == "POST" && params.contains("logout") {
            confirm(env, req, &params)
        } else {
            start(env, req, &params)
        }
    }))
}

fn start(env: &Env, req: &Request, params: &Params) -> Result<HttpResponse, OAuthError> {
    let hint = match params.get("id_token_hint") {
        Some(t) => Some(hint::verify(t, &env.store.jwks()?, &env.config.issuer)?),
        None => None,
    };
    let client_id = params.get("client_id");
    if let (Some(h), Some(c)) = (&hint, client_id) {
        if !h.has_audience(c) {
            return Err(OAuthError::invalid_request(
                "client_id is not an audience of id_token_hint",
            ));
        }
    }
    let client_id = client_id.or(hint.as_ref().and_then(Hint::single_audience));
    let client = match client_id {
        Some(id) => flow::load_client(env, id)?,
        None => None,
    };
    let target = params.get("post_logout_redirect_uri").and_then(|uri| {
        let (_, metadata) = client.as_ref()?;
        metadata
            .match_post_logout_redirect_uri(uri)
            .map(|u| u.as_str().to_string())
    });
    let state = params.get("state");
    if state.is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(OAuthError::invalid_request("state is too long"));
    }
    let state = state.map(str::to_string);
    let session = flow::current_session(env, req.cookie)?.map(|(s, _)| s);
    match (&session, &hint) {
        (Some(s), Some(h)) if h.sid.as_deref() == Some(s.sid.as_str()) || h.sub == s.user_id => {
            end(env, Some(s), Some(h))?;
        }
        (Some(_), _) => {
            let pending = Pending {
                csrf: new_token()?,
                target,
                state,
            };
            let id = new_token()?;
            env.store.one_time_put(
                NAMESPACE,
                &hash_token(&id),
                pending.encode().as_bytes(),
                env.now + INTERACTION_TTL,
            )?;
            let client_name = client.as_ref().map(|(stored, metadata)| {
                metadata
                    .client_name
                    .clone()
                    .unwrap_or_else(|| stored.client_id.clone())
            });
            return Ok(pages::logout_confirm(
                client_name.as_deref(),
                &id,
                &pending.csrf,
                pending.target.as_deref(),
            ));
        }
        (None, h) => {
            end(env, None, h.as_ref())?;
        }
    }
    Ok(finish(env, target.as_deref(), state.as_deref()))
}

fn confirm(env: &Env, req: &Request, params: &Params) -> Result<HttpResponse, OAuthError> {
    let id = params.get("logout").unwrap_or("");
    let key = hash_token(id);
    let raw = env
        .store
        .one_time_peek(NAMESPACE, &key, env.now)?
        .ok_or_else(logout_expired)?;
    let pending = Pending::decode(&raw).ok_or_else(OAuthError::server_error)?;
    let csrf = params.get("csrf").unwrap_or("");
    if !constant_time_eq(csrf.as_bytes(), pending.csrf.as_bytes()) {
        return Err(interaction::csrf_mismatch());
    }
    if env.store.one_time_take(NAMESPACE, &key, env.now)?.is_none() {
        return Err(logout_expired());
    }
    let session = flow::current_session(env, req.cookie)?.map(|(s, _)| s);
    end(env, session.as_ref(), None)?;
    Ok(finish(
        env,
        pending.target.as_deref(),
        pending.state.as_deref(),
    ))
}

fn logout_expired() -> OAuthError {
    OAuthError::invalid_request("This sign-out request has expired or was already completed.")
}

/// Ends the browser's session and, for a trusted hint, the session its
/// `sid` names (when it belongs to the same user).
fn end(env: &Env, session: Option<&Session>, hint: Option<&Hint>) -> Result<(), OAuthError> {
    if let Some(s) = session {
        env.store.end_session(&s.id_hash, env.now)?;
    }
    if let Some(sid) = hint.and_then(|h| h.sid.as_deref()) {
        if session.is_some_and(|s| s.sid == sid) {
            return Ok(());
        }
        if let Some(other) = env.store.active_session_by_sid(sid, env.now)? {
            let same_user = hint.is_some_and(|h| h.sub == other.user_id);
            if same_user {
                env.store.end_session(&other.id_hash, env.now)?;
            }
        }
    }
    Ok(())
}

/// Back to the client (with `state`), or the "signed out" page; the
/// cookie is cleared either way.
fn finish(env: &Env, target: Option<&str>, state: Option<&str>) -> HttpResponse {
    let resp = match target {
        Some(uri) => {
            let params: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
            let mut r = if params.is_empty() {
                HttpResponse::new(302).header("location", uri)
            } else {
                authorization_response(uri, ResponseMode::Query, &params)
            };
            r.status = 303;
            r.headers.retain(|(n, _)| n != "cache-control");
            r.header("cache-control", "no-store")
        }
        None => pages::signed_out(),
    };
    resp.header("set-cookie", &cookie::clear(&env.config.issuer))
}
