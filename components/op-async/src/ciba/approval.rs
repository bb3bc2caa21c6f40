//! `/bc-approve`, the approval page: this OP's authentication device for
//! CIBA requests.
//!
//! `GET` lists the signed-in user's pending, unexpired requests (newest
//! first, at most 20: op-store's `ciba-requests.list-pending`), each with
//! the client's name, the permissions in words, the binding message and
//! the time left, and Allow and Deny. The `POST` approves (binding the
//! session's `sid` and authentication, and the requested scope) or denies
//! one request in op-store, once, and only for the user it names; a
//! ping- or push-mode client is then notified (`super::notify`).
//!
//! Signed out, the page sends the browser to op-auth's sign-in
//! (`/login?return_to=/bc-approve`). Forms carry a CSRF token bound to the
//! session (`session::csrf_token`), compared in constant time; the session
//! cookie is SameSite=Lax.

use authrim_oauth::client_metadata::ClientMetadata;
use authrim_oauth::html::{error_page, permission_items};
use authrim_oauth::scope::Scope;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

use super::notify;
use super::pages::{self, Pending};
use super::APPROVAL_PATH;
use crate::request::Request;
use crate::session::{self, signed_in, SignedIn};
use crate::store::{fault, CibaApproval, CibaRequest, Store};
use crate::Env;

/// The page's label for its CSRF token.
const PAGE: &str = "bc-approve";

pub const GONE: &str =
    "That request is no longer waiting: it was decided, has expired, or was withdrawn.";

pub async fn handle<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> HttpResponse {
    let result = match req.method {
        "GET" => show(env, req),
        "POST" => submit(env, req).await,
        _ => Err(OAuthError::method_not_allowed("GET, POST")),
    };
    result.unwrap_or_else(|e| error_page(&e))
}

fn show<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> Result<HttpResponse, OAuthError> {
    match signed_in(env, req, PAGE)? {
        None => Ok(session::sign_in_first(env, APPROVAL_PATH)),
        Some(me) => list(env, &me, 200, None),
    }
}

async fn submit<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> Result<HttpResponse, OAuthError> {
    let params = req.form()?;
    let Some(me) = signed_in(env, req, PAGE)? else {
        return Ok(session::sign_in_first(env, APPROVAL_PATH));
    };
    if !me.csrf_matches(&params) {
        return Err(OAuthError::invalid_request(
            "The form was not sent by this page. Go back and try again.",
        ));
    }
    let approve = match params.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(OAuthError::invalid_request("Choose Allow or Deny.")),
    };
    let key = params.require("request")?;
    // The scope to grant is the stored request's, never the form's.
    let pending = pending(env, &me)?;
    let Some(request) = pending.iter().find(|r| r.auth_req_id_hash == key) else {
        return list(env, &me, 400, Some(GONE));
    };
    let decided = if approve {
        let approval = CibaApproval {
            sid: Some(me.session.sid.clone()),
            scope: request.scope.clone(),
            grant_json: me.grant_json(),
        };
        env.store
            .approve_ciba(key, &me.user.id, &approval, env.now)
            .map_err(fault("ciba-requests.approve"))?
    } else {
        env.store
            .deny_ciba(key, &me.user.id, env.now)
            .map_err(fault("ciba-requests.deny"))?
    };
    match decided {
        // Decided, or expired, since the look-up a moment ago.
        None => list(env, &me, 400, Some(GONE)),
        Some(r) => {
            let client = client_metadata(env, &r.client_id)?;
            if let Some(client) = &client {
                notify::notify(env, &r, approve, client).await;
            }
            Ok(pages::done(approve, &display_name(client.as_ref(), &r)))
        }
    }
}

fn pending<S: Store>(env: &Env<'_, S>, me: &SignedIn) -> Result<Vec<CibaRequest>, OAuthError> {
    env.store
        .pending_ciba(&me.user.id, env.now)
        .map_err(fault("ciba-requests.list-pending"))
}

/// The client's registered metadata (`None` once it was deleted).
fn client_metadata<S: Store>(
    env: &Env<'_, S>,
    client_id: &str,
) -> Result<Option<ClientMetadata>, OAuthError> {
    Ok(env
        .store
        .client(client_id)
        .map_err(fault("clients.get"))?
        .and_then(|c| ClientMetadata::from_json(&c.metadata_json).ok()))
}

/// The client's registered name, else its id.
fn display_name(client: Option<&ClientMetadata>, r: &CibaRequest) -> String {
    client
        .and_then(|m| m.client_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| r.client_id.clone())
}

fn list<S: Store>(
    env: &Env<'_, S>,
    me: &SignedIn,
    status: u16,
    notice: Option<&str>,
) -> Result<HttpResponse, OAuthError> {
    let requests = pending(env, me)?;
    let mut names = Vec::with_capacity(requests.len());
    let mut items = Vec::with_capacity(requests.len());
    for r in &requests {
        names.push(display_name(
            client_metadata(env, &r.client_id)?.as_ref(),
            r,
        ));
        let scope = Scope::parse(&r.scope).map_err(|_| {
            crate::log("a stored CIBA request has an unreadable scope");
            OAuthError::new(ErrorCode::ServerError)
        })?;
        items.push(permission_items(&scope, None));
    }
    let views: Vec<Pending> = requests
        .iter()
        .zip(names.iter())
        .zip(items)
        .map(|((r, name), items)| Pending {
            key: &r.auth_req_id_hash,
            client_name: name,
            items,
            binding_message: r.binding_message.as_deref(),
            seconds_left: r.expires_at - env.now,
        })
        .collect();
    Ok(pages::list(
        status,
        &me.csrf,
        &me.user.username,
        &views,
        notice,
    ))
}
