//! `/device`, the verification page (RFC 8628 §3.3).
//!
//! `GET /device` shows the code entry form; `GET /device?user_code=…`
//! (the `verification_uri_complete`) and the form's `POST` look the code
//! up (case- and dash-insensitive, `UserCode::parse`) and show the request
//! for confirmation: the code, the client, the permissions in words, a QR
//! code of `verification_uri_complete` to continue on a phone, Allow and
//! Deny. The `POST` with a decision approves (binding the user, the
//! session's `sid` and authentication, and the requested scope) or denies
//! the pending request in op-store, once.
//!
//! The user must be signed in: otherwise the page sends them to op-auth's
//! sign-in (`/login?return_to=/device?user_code=…`), which sets the shared
//! session cookie and returns here. Forms carry a CSRF token bound to the
//! session (SHA-256 of a label and the session cookie, which only this
//! browser knows), compared in constant time; the cookie is SameSite=Lax,
//! so cross-site posts carry no session anyway. Every look-up of a code
//! is counted first (`throttle`), per session and per address.

use authrim_oauth::client_metadata::ClientMetadata;
use authrim_oauth::device::UserCode;
use authrim_oauth::form::Params;
use authrim_oauth::html::{error_page, permission_items};
use authrim_oauth::scope::Scope;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};

use super::authorization::complete_uri;
use super::pages::{self, Confirm};
use super::{throttle, VERIFICATION_PATH};
use crate::request::Request;
use crate::session::{self, signed_in, SignedIn};
use crate::store::{fault, DeviceApproval, DeviceRequest, Store};
use crate::Env;

pub const INVALID_CODE: &str =
    "That code is not valid, has expired, or was already used. Check the code on your device and try again.";
pub const TOO_MANY_ATTEMPTS: &str = "Too many codes were tried. Wait 10 minutes and try again.";

pub fn handle<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> HttpResponse {
    let result = match req.method {
        "GET" => show(env, req),
        "POST" => submit(env, req),
        _ => Err(OAuthError::method_not_allowed("GET, POST")),
    };
    result.unwrap_or_else(|e| error_page(&e))
}

/// The page's label for its CSRF token (`session::csrf_token`).
const PAGE: &str = "device";

/// To op-auth's sign-in, returning here (with the code, if it is one).
fn sign_in_first<S: Store>(env: &Env<'_, S>, code: Option<&UserCode>) -> HttpResponse {
    let back = match code {
        Some(c) => complete_uri(VERIFICATION_PATH, c),
        None => VERIFICATION_PATH.to_string(),
    };
    session::sign_in_first(env, &back)
}

fn show<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(req.query)?;
    let typed = params.get("user_code");
    let Some(me) = signed_in(env, req, PAGE)? else {
        return Ok(sign_in_first(env, typed.and_then(UserCode::parse).as_ref()));
    };
    match typed {
        None => Ok(pages::entry(200, &me.csrf, None, None)),
        Some(typed) => look_up(env, req, &me, typed).map(|found| match found {
            Ok((code, request, client)) => confirm(env, &me, &code, &request, &client),
            Err(page) => page,
        }),
    }
}

fn submit<S: Store>(env: &Env<'_, S>, req: &Request<'_>) -> Result<HttpResponse, OAuthError> {
    let params = req.form()?;
    let typed = params.get("user_code").unwrap_or("");
    let Some(me) = signed_in(env, req, PAGE)? else {
        return Ok(sign_in_first(env, UserCode::parse(typed).as_ref()));
    };
    if !me.csrf_matches(&params) {
        return Err(OAuthError::invalid_request(
            "The form was not sent by this page. Go back and try again.",
        ));
    }
    let approve = match params.get("decision") {
        None => None,
        Some("approve") => Some(true),
        Some("deny") => Some(false),
        Some(_) => return Err(OAuthError::invalid_request("Choose Allow or Deny.")),
    };
    let (code, request, client) = match look_up(env, req, &me, typed)? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let Some(approve) = approve else {
        return Ok(confirm(env, &me, &code, &request, &client));
    };
    let decided = if approve {
        let approval = DeviceApproval {
            user_id: me.user.id.clone(),
            sid: Some(me.session.sid.clone()),
            scope: request.scope.clone(),
            grant_json: me.grant_json(),
        };
        env.store
            .approve_device(code.as_str(), &approval, env.now)
            .map_err(fault("device-grants.approve"))?
    } else {
        env.store
            .deny_device(code.as_str(), env.now)
            .map_err(fault("device-grants.deny"))?
    };
    if !decided {
        // Decided, or expired, since the look-up a moment ago.
        return Ok(pages::entry(400, &me.csrf, Some(typed), Some(INVALID_CODE)));
    }
    Ok(pages::done(approve, client_name(&client, &request)))
}

type Found = (UserCode, DeviceRequest, Option<ClientMetadata>);

/// The pending request of a typed code, counted by the throttle; `Err`
/// is the entry page to show instead (with its error).
fn look_up<S: Store>(
    env: &Env<'_, S>,
    req: &Request<'_>,
    me: &SignedIn,
    typed: &str,
) -> Result<Result<Found, HttpResponse>, OAuthError> {
    let retry = |status, message| {
        Ok(Err(pages::entry(
            status,
            &me.csrf,
            Some(typed),
            Some(message),
        )))
    };
    if !throttle::allow(env, req, &me.session)? {
        return retry(429, TOO_MANY_ATTEMPTS);
    }
    let Some(code) = UserCode::parse(typed) else {
        return retry(400, INVALID_CODE);
    };
    let Some(request) = env
        .store
        .find_device(code.as_str(), env.now)
        .map_err(fault("device-grants.find-by-user-code"))?
    else {
        return retry(400, INVALID_CODE);
    };
    let client = match env
        .store
        .client(&request.client_id)
        .map_err(fault("clients.get"))?
    {
        Some(c) => ClientMetadata::from_json(&c.metadata_json).ok(),
        None => return retry(400, INVALID_CODE),
    };
    Ok(Ok((code, request, client)))
}

fn client_name<'a>(client: &'a Option<ClientMetadata>, request: &'a DeviceRequest) -> &'a str {
    client
        .as_ref()
        .and_then(|m| m.client_name.as_deref())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&request.client_id)
}

fn confirm<S: Store>(
    env: &Env<'_, S>,
    me: &SignedIn,
    code: &UserCode,
    request: &DeviceRequest,
    client: &Option<ClientMetadata>,
) -> HttpResponse {
    let scope = match Scope::parse(&request.scope) {
        Ok(s) => s,
        Err(_) => {
            crate::log("a stored device request has an unreadable scope");
            return error_page(&OAuthError::new(ErrorCode::ServerError));
        }
    };
    let items = permission_items(&scope, None);
    let complete = complete_uri(&env.config.issuer.endpoint(VERIFICATION_PATH), code);
    let qr = super::qr::svg(
        &complete,
        "device-qr",
        &format!("QR code of the address {complete}"),
    );
    pages::confirm(&Confirm {
        user_code: &code.display(),
        client_name: client_name(client, request),
        items: &items,
        username: &me.user.username,
        csrf: &me.csrf,
        qr_svg: qr.as_deref(),
    })
}
