//! `GET /consent?interaction=ID` lists what the client asks for, in words;
//! `POST /consent` records the decision.
//!
//! The POST, in order: the interaction exists; the CSRF token matches; the
//! decision is `approve` or `deny`; someone is signed in (else back to the
//! sign-in page); the interaction is taken (one-time). Deny sends
//! `access_denied` to the client. Approve stores the consent (merged with
//! what the user granted this client before) and `flow::proceed` issues
//! the code.

use super::{as_page, check_get_or_post};
use crate::flow::{self, Pending};
use crate::interaction::{self, Interaction};
use crate::pages::{self, ConsentForm};
use crate::request::Request;
use crate::Env;
use authrim_oauth::form::Params;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    as_page(match req.method {
        "POST" => submit(env, req),
        _ => check_get_or_post(req).and_then(|_| show(env, req)),
    })
}

fn load(env: &Env, params: &Params) -> Result<(String, Interaction, Pending), OAuthError> {
    let id = params.get("interaction").ok_or_else(interaction::expired)?;
    let i = interaction::peek(env.store, id, env.now)?.ok_or_else(interaction::expired)?;
    let pending = flow::revalidate(env, &i)?;
    Ok((id.to_string(), i, pending))
}

fn show(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let (id, i, pending) = load(env, &Params::parse(req.query)?)?;
    let Some((_, user)) = flow::current_session(env, req.cookie)? else {
        // Signed out meanwhile: the flow sends the user to sign in.
        return flow::proceed(env, &pending, &i, Some(&id), None);
    };
    let r = &pending.request;
    let items = pages::permission_items(&r.scope, r.claims.as_ref());
    Ok(pages::consent(&ConsentForm {
        client_name: pending.client_name(),
        username: &user.username,
        interaction: &id,
        csrf: &i.csrf,
        items: &items,
        redirect_target: r.redirect_uri.as_str(),
    }))
}

fn submit(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let params = req.params()?;
    let (id, i, pending) = load(env, &params)?;
    if !i.csrf_matches(params.get("csrf")) {
        return Err(interaction::csrf_mismatch());
    }
    let approve = match params.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(OAuthError::invalid_request("Choose Allow or Deny.")),
    };
    let session = flow::current_session(env, req.cookie)?;
    let Some((_, user)) = &session else {
        return flow::proceed(env, &pending, &i, Some(&id), None);
    };
    if interaction::take(env.store, &id, env.now)?.is_none() {
        return Err(interaction::expired());
    }
    let request = &pending.request;
    if !approve {
        return Ok(request.error_response(
            &env.config.issuer,
            OAuthError::with_description(
                ErrorCode::AccessDenied,
                "the End-User denied the request",
            ),
            &env.jarm(),
        ));
    }
    let previous = env.store.consent(&user.id, request.client_id.as_str())?;
    let consent = flow::merged_consent(request, &user.id, previous.as_ref(), env.now);
    env.store.put_consent(&consent)?;
    let mut next = i.successor()?;
    next.consented = true;
    flow::proceed(env, &pending, &next, None, session.as_ref())
}
