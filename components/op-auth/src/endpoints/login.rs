//! `GET /login?interaction=ID` shows the sign-in form; `POST /login` checks
//! the password and continues the authorization.
//!
//! `GET /login?return_to=/device...` is a sign-in for another page of this
//! OP (op-async's device verification page, see
//! `interaction::return_path`): it starts an interaction without an
//! authorization request, and a successful sign-in sets the session
//! cookie and returns there (303) instead of continuing an authorization.
//!
//! The POST, in order: the interaction exists (`peek`); the CSRF token
//! matches; username and password are present; the per-address and
//! per-account limits allow another try; the password verifies (argon2id,
//! `secret::verify_password`); the interaction is taken (one-time); a new
//! session is created and its cookie set; `flow::proceed` goes on to
//! consent or the code.
//!
//! Failed sign-ins never tell whether the account exists: an unknown,
//! disabled or password-less account gets the same message as a wrong
//! password, after an argon2id verification against a dummy hash with the
//! same parameters, so the timing is alike. See `throttle` for the limits.

use super::{as_page, check_get_or_post};
use crate::flow::{self, Pending};
use crate::interaction::{self, Interaction};
use crate::pages::{self, LoginForm};
use crate::request::Request;
use crate::store::{Session, User};
use crate::{cookie, new_token, Env};
use authrim_oauth::form::Params;
use authrim_protocol::secret::{hash_token, verify_password};
use authrim_protocol::{HttpResponse, OAuthError};

/// The Authentication Context Class Reference recorded for a password
/// sign-in (ISO/IEC 29115 level 1).
pub const PASSWORD_ACR: &str = "1";

/// An argon2id hash (OWASP parameters, as `secret::hash_password` makes)
/// of a random string nobody knows: verified against when the account
/// does not exist, so that unknown accounts cost the same time.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$1kzGJ9oWN/K3OWlhIEuixw$9zCcXVzrwTIx6pG5Ib/w+mKRXL7GURDugt+X7nl4OoE";

pub const BAD_CREDENTIALS: &str = "Incorrect username or password.";
pub const MISSING_CREDENTIALS: &str = "Enter your username and password.";
pub const TOO_MANY_ATTEMPTS: &str =
    "Too many failed sign-in attempts. Wait 15 minutes and try again.";

pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    as_page(match req.method {
        "POST" => submit(env, req),
        _ => check_get_or_post(req).and_then(|_| show(env, req)),
    })
}

/// What a sign-in continues with.
enum Next {
    /// The authorization request of the interaction.
    Authorization(Box<Pending>),
    /// A page of this OP (`Interaction::return_to`).
    Page(String),
}

/// The name shown for a sign-in that returns to a page of this OP.
pub const RETURN_TO_NAME: &str = "your device";

/// The interaction named by `interaction`, and what follows it.
fn load(env: &Env, params: &Params) -> Result<(String, Interaction, Next), OAuthError> {
    let id = params.get("interaction").ok_or_else(interaction::expired)?;
    let i = interaction::peek(env.store, id, env.now)?.ok_or_else(interaction::expired)?;
    let next = match &i.return_to {
        Some(path) => Next::Page(path.clone()),
        None => Next::Authorization(Box::new(flow::revalidate(env, &i)?)),
    };
    Ok((id.to_string(), i, next))
}

fn form<'a>(
    env: &'a Env,
    id: &'a str,
    i: &'a Interaction,
    next: &'a Next,
    username: Option<&'a str>,
    error: Option<&'a str>,
) -> LoginForm<'a> {
    let (client_name, redirect_target) = match next {
        Next::Authorization(p) => (p.client_name(), p.request.redirect_uri.as_str()),
        Next::Page(_) => (RETURN_TO_NAME, env.config.issuer.as_str()),
    };
    LoginForm {
        client_name,
        interaction: id,
        csrf: &i.csrf,
        username,
        error,
        redirect_target,
    }
}

fn show(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(req.query)?;
    if !params.contains("interaction") {
        if let Some(path) = params.get("return_to") {
            return start_returning(env, path);
        }
    }
    let (id, i, next) = load(env, &params)?;
    let hint = match &next {
        Next::Authorization(p) => p.request.login_hint.as_deref(),
        Next::Page(_) => None,
    };
    Ok(pages::login(200, &form(env, &id, &i, &next, hint, None)))
}

/// `GET /login?return_to=PATH`: a new interaction for a sign-in that
/// returns to `PATH` (one of `interaction::return_path`'s).
fn start_returning(env: &Env, path: &str) -> Result<HttpResponse, OAuthError> {
    let path = interaction::return_path(path)
        .ok_or_else(|| OAuthError::invalid_request("This sign-in link is not valid."))?;
    let i = Interaction::returning_to(path)?;
    let id = interaction::save(env.store, &i, env.now)?;
    let next = Next::Page(path.to_string());
    Ok(pages::login(200, &form(env, &id, &i, &next, None, None)))
}

fn submit(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let params = req.params()?;
    let (id, i, next) = load(env, &params)?;
    if !i.csrf_matches(params.get("csrf")) {
        return Err(interaction::csrf_mismatch());
    }
    let retry = |status: u16, username: Option<&str>, message: &str| {
        Ok(pages::login(
            status,
            &form(env, &id, &i, &next, username, Some(message)),
        ))
    };
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return retry(400, params.get("username"), MISSING_CREDENTIALS);
    };
    let throttle = throttle::Throttle::new(env, username, req.client_ip());
    if !throttle.allow()? {
        return retry(429, Some(username), TOO_MANY_ATTEMPTS);
    }
    let Some(user) = check_password(env, username, password)? else {
        throttle.failed()?;
        return retry(400, Some(username), BAD_CREDENTIALS);
    };
    throttle.succeeded()?;
    if interaction::take(env.store, &id, env.now)?.is_none() {
        return Err(interaction::expired());
    }
    let (session, cookie_value) = start_session(env, req, &user)?;
    let resp = match &next {
        Next::Page(path) => HttpResponse::new(303)
            .header("location", &env.config.issuer.endpoint(path))
            .header("cache-control", "no-store"),
        Next::Authorization(pending) => {
            let mut successor = i.successor()?;
            successor.fresh_sid = Some(session.sid.clone());
            flow::proceed(env, pending, &successor, None, Some(&(session, user)))?
        }
    };
    Ok(resp.header(
        "set-cookie",
        &cookie::set(&env.config.issuer, &cookie_value, env.config.session_ttl),
    ))
}

/// The user whose password this is, or `None` (same work either way).
fn check_password(env: &Env, username: &str, password: &str) -> Result<Option<User>, OAuthError> {
    match env.store.user_by_username(username)? {
        Some(user) if !user.disabled && user.password_hash.is_some() => {
            let phc = user.password_hash.as_deref().unwrap_or(DUMMY_HASH);
            Ok(verify_password(password, phc).then_some(user))
        }
        _ => {
            let _ = verify_password(password, DUMMY_HASH);
            Ok(None)
        }
    }
}

/// A new session for `user`. A session of another user in this browser is
/// ended (the browser changes hands); one of the same user is left alone,
/// so that tokens bound to it keep working.
fn start_session(env: &Env, req: &Request, user: &User) -> Result<(Session, String), OAuthError> {
    if let Some((old, _)) = flow::current_session(env, req.cookie)? {
        if old.user_id != user.id {
            env.store.end_session(&old.id_hash, env.now)?;
        }
    }
    let value = new_token()?;
    let session = Session {
        id_hash: hash_token(&value),
        sid: new_token()?,
        user_id: user.id.clone(),
        auth_time: env.now,
        acr: Some(PASSWORD_ACR.to_string()),
        amr: vec!["pwd".to_string()],
        created_at: env.now,
        expires_at: env.now + env.config.session_ttl,
    };
    env.store.create_session(&session)?;
    Ok((session, value))
}

pub mod throttle {
    //! Failed sign-in limits (op-store `rate-limits`, fixed 15-minute
    //! windows):
    //! - per account: [`ACCOUNT_LIMIT`] tries. Every try is counted before
    //!   the password is checked (one atomic `hit`, so parallel guesses
    //!   cannot slip past), and a successful sign-in clears the bucket: in
    //!   effect 5 failures per 15 minutes. Buckets are keyed by the SHA-256
    //!   of the username with ASCII letters lowercased, whether the account
    //!   exists or not, so the limit itself reveals nothing. (The prices:
    //!   anyone can lock an account's password sign-in for 15 minutes; and
    //!   the store matches usernames with full Unicode case folding, so
    //!   case variants of non-ASCII letters count in separate buckets, still
    //!   under the address limit. Full folding would cost this component
    //!   Unicode tables.)
    //! - per client address: [`ADDRESS_LIMIT`] failures, read from Spin's
    //!   `spin-client-addr` (the TCP peer; behind a reverse proxy that is
    //!   the proxy, so the address limit then counts everyone together;
    //!   `X-Forwarded-For` is not trusted since any client can send it).

    use crate::Env;
    use authrim_protocol::secret::hash_token;
    use authrim_protocol::OAuthError;

    pub const WINDOW: i64 = 15 * 60;
    pub const ACCOUNT_LIMIT: u32 = 5;
    pub const ADDRESS_LIMIT: u32 = 20;

    pub struct Throttle<'a> {
        env: &'a Env<'a>,
        account: String,
        address: Option<String>,
    }

    impl<'a> Throttle<'a> {
        pub fn new(env: &'a Env<'a>, username: &str, ip: Option<&str>) -> Throttle<'a> {
            Throttle {
                env,
                account: format!(
                    "login-account:{}",
                    hash_token(&username.to_ascii_lowercase())
                ),
                address: ip.map(|ip| format!("login-address:{ip}")),
            }
        }

        /// Counts this try against the account; whether it may proceed.
        pub fn allow(&self) -> Result<bool, OAuthError> {
            let store = self.env.store;
            if let Some(address) = &self.address {
                if store.rate_peek(address, WINDOW, self.env.now)? >= ADDRESS_LIMIT {
                    return Ok(false);
                }
            }
            Ok(store.rate_hit(&self.account, WINDOW, self.env.now)? <= ACCOUNT_LIMIT)
        }

        pub fn failed(&self) -> Result<(), OAuthError> {
            if let Some(address) = &self.address {
                self.env.store.rate_hit(address, WINDOW, self.env.now)?;
            }
            Ok(())
        }

        pub fn succeeded(&self) -> Result<(), OAuthError> {
            self.env.store.rate_reset(&self.account)
        }
    }
}
