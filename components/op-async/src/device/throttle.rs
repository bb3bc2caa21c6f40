//! Brute-force protection of user-code entry (RFC 8628 §5.1): every
//! look-up of a user code on the verification page (typed, opened from
//! `verification_uri_complete`, or submitted with a decision) is counted
//! before it happens, in op-store `rate-limits` fixed windows of
//! [`WINDOW`] seconds, per session ([`SESSION_LIMIT`]) and per client
//! address ([`ADDRESS_LIMIT`], Spin's `spin-client-addr`; behind a proxy
//! that is the proxy, so everyone shares it). Counting before looking
//! means parallel guesses cannot slip past a check. With 20^8 codes and
//! minutes of lifetime, these limits leave a guesser no useful chance.

use crate::request::Request;
use crate::store::{fault, Session, Store};
use crate::Env;
use authrim_protocol::OAuthError;

pub const WINDOW: i64 = 10 * 60;
pub const SESSION_LIMIT: u32 = 20;
pub const ADDRESS_LIMIT: u32 = 100;

/// Counts one look-up; whether it may go ahead.
pub fn allow<S: Store>(
    env: &Env<'_, S>,
    req: &Request<'_>,
    session: &Session,
) -> Result<bool, OAuthError> {
    let hit = |bucket: &str| {
        env.store
            .rate_hit(bucket, WINDOW, env.now)
            .map_err(fault("rate-limits.hit"))
    };
    let by_session = hit(&format!("device-code-session:{}", session.sid))?;
    let by_address = match req.client_ip() {
        Some(ip) => hit(&format!("device-code-address:{ip}"))?,
        None => 0,
    };
    Ok(by_session <= SESSION_LIMIT && by_address <= ADDRESS_LIMIT)
}
