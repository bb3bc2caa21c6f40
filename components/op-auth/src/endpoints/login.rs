//! `GET /login?interaction=ID` shows the sign-in form; `POST /login` checks
//! the password and continues the authorization.
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

/// The interaction named by `interaction`, and its request.
fn load(env: &Env, params: &Params) -> Result<(String, Interaction, Pending), OAuthError> {
    let id = params.get("interaction").ok_or_else(interaction::expired)?;
    let i = interaction::peek(env.store, id, env.now)?.ok_or_else(interaction::expired)?;
    let pending = flow::revalidate(env, &i)?;
    Ok((id.to_string(), i, pending))
}

fn form<'a>(
    id: &'a str,
    i: &'a Interaction,
    pending: &'a Pending,
    username: Option<&'a str>,
    error: Option<&'a str>,
) -> LoginForm<'a> {
    LoginForm {
        client_name: pending.client_name(),
        interaction: id,
        csrf: &i.csrf,
        username,
        error,
        redirect_target: pending.request.redirect_uri.as_str(),
    }
}

fn show(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let (id, i, pending) = load(env, &Params::parse(req.query)?)?;
    let hint = pending.request.login_hint.as_deref();
    Ok(pages::login(200, &form(&id, &i, &pending, hint, None)))
}

fn submit(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    let params = req.params()?;
    let (id, i, pending) = load(env, &params)?;
    if !i.csrf_matches(params.get("csrf")) {
        return Err(interaction::csrf_mismatch());
    }
    let retry = |status: u16, username: Option<&str>, message: &str| {
        Ok(pages::login(
            status,
            &form(&id, &i, &pending, username, Some(message)),
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
    let mut next = i.successor()?;
    next.fresh_sid = Some(session.sid.clone());
    let resp = flow::proceed(env, &pending, &next, None, Some(&(session, user)))?;
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
