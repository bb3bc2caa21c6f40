//! `GET`/`POST /authorize` (OIDC Core §3.1.2, RFC 6749 §4.1.1, RFC 9126 §4).
//!
//! The checks, in order:
//! 1. `check_get_or_post`; parameters from the query (GET) or the form
//!    body (POST); malformed or duplicated parameters are shown, not
//!    redirected (which `redirect_uri` would we trust?).
//! 2. `resolve`: `authorize::start` names the client and, for a pushed
//!    request, the `request_uri`, taken once from op-store (`one-time`
//!    namespace `par`); the client is loaded; `authorize::validate` runs
//!    its checks. `ShowToUser` errors render the error page (400) and never
//!    redirect; every other error goes to the verified redirect URI in
//!    the response mode, with `state` and `iss`.
//!    A request object (`request`, or a registered https `request_uri`)
//!    is verified by `jar::resolve` and its parameters are the request
//!    (RFC 9101 §5); its errors are shown, not redirected. A client with
//!    `require_signed_request_object` that sent none gets
//!    `invalid_request` at its (verified) redirect URI.
//! 3. `check_id_token_hint`: our signature, our `iss`, `aud` has the client.
//! 4. The session from the cookie, then `flow::proceed` (login, consent,
//!    code).

use super::{as_page, check_get_or_post};
use crate::flow::{self, Pending};
use crate::hint;
use crate::html;
use crate::interaction::Interaction;
use crate::jar;
use crate::request::Request;
use crate::Env;
use authrim_oauth::authorize::{self, AuthorizeError, ClientRef, ErrorDisposition, Origin, Start};
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

/// The op-store `one-time` namespace of pushed requests, keyed by the
/// SHA-256 of the `request_uri`.
pub const PAR_NAMESPACE: &str = "par";

pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    as_page(run(env, req))
}

fn run(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    check_get_or_post(req)?;
    let params = req.params()?;
    let (pending, params, pushed) = match resolve(env, &params)? {
        Ok(resolved) => resolved,
        Err(e) => return Ok(render_error(env, &e)),
    };
    let hint_sub = match check_id_token_hint(env, &pending) {
        Ok(sub) => sub,
        Err(e) => {
            return Ok(pending
                .request
                .error_response(&env.config.issuer, e, &env.jarm()))
        }
    };
    let session = flow::current_session(env, req.cookie)?;
    let interaction = Interaction::new(&params, pushed, hint_sub)?;
    flow::proceed(env, &pending, &interaction, None, session.as_ref())
}

/// `ShowToUser` → the error page; `Redirect` → the client.
fn render_error(env: &Env, e: &AuthorizeError) -> HttpResponse {
    match e.disposition {
        ErrorDisposition::ShowToUser => html::error_page(&e.error),
        ErrorDisposition::Redirect { .. } => e.to_response(&env.config.issuer, &env.jarm()),
    }
}

type Resolved = (Pending, Params, bool);

/// The validated request, the parameters it came from (the pushed ones
/// for PAR) and whether they were pushed. The outer `Err` is a server
/// fault; the inner one the request's error.
fn resolve(env: &Env, params: &Params) -> Result<Result<Resolved, AuthorizeError>, OAuthError> {
    let (client_id, pushed) = match authorize::start(params) {
        Ok(Start::Direct { client_id }) => (client_id, None),
        Ok(Start::Pushed {
            client_id,
            request_uri,
        }) => (client_id, Some(request_uri)),
        Err(e) => return Ok(Err(e)),
    };
    let Some((_, metadata)) = flow::load_client(env, client_id.as_str())? else {
        return Ok(Err(AuthorizeError::unknown_client()));
    };
    let client_ref = ClientRef {
        client_id: &client_id,
        metadata: &metadata,
    };
    let mut from_object = pushed.is_some();
    let (params, origin) = match &pushed {
        None => match jar::resolve(env, &client_id, &metadata, params) {
            Ok(Some(inside)) => {
                from_object = true;
                (inside, Origin::Authorize)
            }
            Ok(None) => (params.clone(), Origin::Authorize),
            Err(e) if e.code == ErrorCode::ServerError => return Err(e),
            Err(e) => return Ok(Err(AuthorizeError::show_to_user(e))),
        },
        Some(uri) => {
            let Some(raw) = env
                .store
                .one_time_take(PAR_NAMESPACE, &hash_token(uri), env.now)?
            else {
                return Ok(Err(AuthorizeError::invalid_request_uri()));
            };
            let stored = std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| Params::parse(s).ok());
            let Some(stored) = stored else {
                crate::log("a stored pushed request does not parse");
                return Err(OAuthError::server_error());
            };
            // RFC 9126 §4: issued to this client, or it names nothing.
            if stored.get("client_id") != Some(client_id.as_str()) {
                return Ok(Err(AuthorizeError::invalid_request_uri()));
            }
            (
                stored,
                Origin::Pushed {
                    client_id: client_id.as_str(),
                },
            )
        }
    };
    Ok(
        match authorize::validate(&params, client_ref, origin, &env.config.authorize_config()) {
            // Pushed requests were held to it at the PAR endpoint.
            Ok(request) if metadata.require_signed_request_object && !from_object => {
                Err(AuthorizeError {
                    error: jar::unsigned_refused(),
                    disposition: request.error_disposition(),
                })
            }
            Ok(request) => Ok((
                Pending {
                    request,
                    client: metadata,
                },
                params,
                pushed.is_some(),
            )),
            Err(e) => Err(e),
        },
    )
}

/// The `sub` of a valid `id_token_hint` issued to this client.
fn check_id_token_hint(env: &Env, pending: &Pending) -> Result<Option<String>, OAuthError> {
    let Some(token) = pending.request.id_token_hint.as_deref() else {
        return Ok(None);
    };
    let h = hint::verify(token, &env.store.jwks()?, &env.config.issuer)?;
    if !h.has_audience(pending.request.client_id.as_str()) {
        return Err(hint::invalid());
    }
    Ok(Some(h.sub))
}
