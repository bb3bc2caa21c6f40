//! DPoP (RFC 9449), interface `dpop`: access tokens recorded with the key
//! thumbprint they are bound to, and stateless server nonces.
//!
//! Nonces (RFC 9449 §8, §9) are `base64url(window || HMAC-SHA256(key,
//! "dpop-nonce" || window)[..16])`, where `window` is the 8-byte big-endian
//! number of the [`NONCE_WINDOW`]-second period and `key` is derived from
//! the master key (HKDF, its own `info`). Issuing or checking one writes
//! nothing; a nonce is accepted in its own window and the next, so each
//! lives between one and two windows.

use authrim_jose::b64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::grants::{check_access_token_with, G_COLS};
use crate::sql::{conflict, params, Sql};
use crate::{AccessToken, BoundGrant, StoreError};

/// Length of a nonce window in seconds.
pub const NONCE_WINDOW: i64 = 300;
/// HKDF `info` of the nonce MAC key.
pub const NONCE_KEY_INFO: &[u8] = b"authrim/dpop-nonce/HMAC-SHA256/v1";
const MAC_LEN: usize = 16;

/// Records an access token with its binding. `not-found` for an unknown
/// grant, `conflict` when the hash exists.
pub fn record_access_token(
    db: &dyn Sql,
    t: &AccessToken,
    jkt: Option<&str>,
) -> Result<(), StoreError> {
    let rows = db
        .execute(
            "INSERT INTO access_tokens (token_hash, grant_id, expires_at, jkt)
             SELECT ?1, id, ?3, ?4 FROM grants WHERE id = ?2
             RETURNING token_hash",
            params![&t.token_hash, &t.grant_id, t.expires_at, jkt],
        )
        .map_err(conflict("access token already exists"))?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// `grants.check-access-token` with the token's `jkt`.
pub fn check_access_token(
    db: &dyn Sql,
    token_hash: &str,
    now: i64,
) -> Result<Option<BoundGrant>, StoreError> {
    let columns = format!("{G_COLS}, t.jkt");
    check_access_token_with(db, &columns, token_hash, now, |row, grant| {
        Ok(BoundGrant {
            grant,
            jkt: crate::sql::Columns::opt_text(row, 9)?,
        })
    })
}

/// The MAC of `window`, ready to finalize or verify (HMAC takes keys of
/// any length, so `None` does not happen with our 32-byte keys).
fn mac(key: &[u8; 32], window: i64) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(b"dpop-nonce");
    m.update(&window.to_be_bytes());
    Some(m)
}

/// The nonce of the window containing `now`.
pub fn nonce(key: &[u8; 32], now: i64) -> Result<String, StoreError> {
    let window = now.div_euclid(NONCE_WINDOW);
    let m = mac(key, window).ok_or_else(|| StoreError::Unavailable("HMAC key".into()))?;
    let mut bytes = Vec::with_capacity(8 + MAC_LEN);
    bytes.extend_from_slice(&window.to_be_bytes());
    bytes.extend_from_slice(&m.finalize().into_bytes()[..MAC_LEN]);
    Ok(b64::encode(bytes))
}

/// Whether `nonce` belongs to the window of `now` or the one before.
pub fn check_nonce(key: &[u8; 32], nonce: &str, now: i64) -> bool {
    let Ok(bytes) = b64::decode(nonce) else {
        return false;
    };
    if bytes.len() != 8 + MAC_LEN {
        return false;
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    let window = i64::from_be_bytes(w);
    let current = now.div_euclid(NONCE_WINDOW);
    if window != current && window != current - 1 {
        return false;
    }
    mac(key, window).is_some_and(|m| m.verify_truncated_left(&bytes[8..]).is_ok())
}
