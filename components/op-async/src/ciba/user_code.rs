//! The `user_code` of `/bc-authorize` (CIBA Core §7.1): a secret PIN the
//! user (or the operator, `authrim admin user set-user-code`) chose, that
//! clients registered with `backchannel_user_code_parameter` must send, so
//! that nobody who merely knows a username can make the user's device ring.
//! Stored as an argon2id hash (op-store `user-codes`, made like password
//! hashes) and verified here with `secret::verify_password`.
//!
//! Brute-force protection as op-auth's password sign-in: every try is
//! counted per user in op-store `rate-limits` (one atomic `hit`) BEFORE the
//! code is verified, so parallel guesses cannot slip past; beyond
//! [`LIMIT`] tries in a [`WINDOW`] the request is refused (`access_denied`,
//! the OP denying it) without verifying; a right code clears the count.
//! In effect [`LIMIT`] wrong codes per user per 15 minutes. The price, as
//! for passwords: a client registered for user codes can lock a user's
//! user-code requests for 15 minutes.

use authrim_protocol::secret::{hash_token, verify_password};
use authrim_protocol::{ErrorCode, OAuthError};

use crate::store::{fault, Store, User};
use crate::Env;

pub const WINDOW: i64 = 15 * 60;
pub const LIMIT: u32 = 5;

fn bucket(user: &User) -> String {
    format!("ciba-user-code:{}", hash_token(&user.id))
}

/// Checks `code` against the user's; `invalid_user_code` when it is wrong
/// or the user has none.
pub fn check<S: Store>(env: &Env<'_, S>, user: &User, code: &str) -> Result<(), OAuthError> {
    let bucket = bucket(user);
    let tries = env
        .store
        .rate_hit(&bucket, WINDOW, env.now)
        .map_err(fault("rate-limits.hit"))?;
    if tries > LIMIT {
        return Err(OAuthError::with_description(
            ErrorCode::AccessDenied,
            "too many wrong user codes for this user; try again later",
        ));
    }
    let stored = env
        .store
        .user_code(&user.id)
        .map_err(fault("user-codes.get"))?;
    match stored {
        Some(phc) if verify_password(code, &phc) => env
            .store
            .rate_reset(&bucket)
            .map_err(fault("rate-limits.reset")),
        Some(_) => Err(OAuthError::with_description(
            ErrorCode::InvalidUserCode,
            "user_code is wrong",
        )),
        None => Err(OAuthError::with_description(
            ErrorCode::InvalidUserCode,
            "the user has no user code: requests with user_code cannot reach them",
        )),
    }
}
