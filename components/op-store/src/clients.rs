//! OAuth clients (interface `clients`).
//!
//! Secrets: `secret_hash` is the lowercase hex SHA-256 of the client
//! secret (what authrim-protocol's `hash_token` computes, and what client
//! authentication compares). For `client_secret_jwt` clients the secret is
//! also kept sealed under the master key (`secret_sealed`, associated data
//! bound to the client id), because an HMAC can only be checked with the
//! secret itself; it is opened only inside [`verify_secret_mac`].

use authrim_jose::seal::MasterKey;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::sql::{conflict, first, params, transaction, Columns, Sql, Value, MAX_PAGE};
use crate::{Client, StoreError};

const COLS: &str =
    "client_id, secret_hash, metadata_json, registration_token_hash, created_at, updated_at";

fn from_row(r: &[Value]) -> Result<Client, StoreError> {
    Ok(Client {
        client_id: r.text(0)?,
        secret_hash: r.opt_text(1)?,
        metadata_json: r.text(2)?,
        registration_token_hash: r.opt_text(3)?,
        created_at: r.int(4)?,
        updated_at: r.int(5)?,
    })
}

pub fn get(db: &dyn Sql, client_id: &str) -> Result<Option<Client>, StoreError> {
    let sql = format!("SELECT {COLS} FROM clients WHERE client_id = ?1");
    first(db, &sql, params![client_id])?
        .map(|r| from_row(&r))
        .transpose()
}

pub fn create(db: &dyn Sql, c: &Client) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO clients (client_id, secret_hash, metadata_json, registration_token_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            &c.client_id,
            c.secret_hash.as_deref(),
            &c.metadata_json,
            c.registration_token_hash.as_deref(),
            c.created_at,
            c.updated_at
        ],
    )
    .map_err(conflict("client_id already exists"))?;
    Ok(())
}

/// Replaces secret, metadata and registration token; `created_at` stays.
/// The sealed secret survives only while the secret hash is unchanged (the
/// right-hand sides of `SET` see the row as it was).
pub fn update(db: &dyn Sql, c: &Client) -> Result<(), StoreError> {
    let rows = db.execute(
        "UPDATE clients SET secret_sealed = CASE WHEN secret_hash IS ?2 THEN secret_sealed END,
                            secret_hash = ?2, metadata_json = ?3, registration_token_hash = ?4, updated_at = ?5
         WHERE client_id = ?1 RETURNING client_id",
        params![
            &c.client_id,
            c.secret_hash.as_deref(),
            &c.metadata_json,
            c.registration_token_hash.as_deref(),
            c.updated_at
        ],
    )?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the client and everything issued to it: codes, consents, grants,
/// refresh and access tokens. One transaction; children are deleted explicitly, so
/// this holds even where foreign keys are not enforced.
pub fn delete(db: &dyn Sql, client_id: &str) -> Result<bool, StoreError> {
    transaction(db, || {
        let grants = "SELECT id FROM grants WHERE client_id = ?1";
        db.execute(
            &format!("DELETE FROM access_tokens WHERE grant_id IN ({grants})"),
            params![client_id],
        )?;
        db.execute(
            &format!("DELETE FROM superseded_refresh_tokens WHERE grant_id IN ({grants})"),
            params![client_id],
        )?;
        db.execute(
            "DELETE FROM auth_codes WHERE client_id = ?1",
            params![client_id],
        )?;
        db.execute(
            "DELETE FROM consents WHERE client_id = ?1",
            params![client_id],
        )?;
        db.execute(
            "DELETE FROM grants WHERE client_id = ?1",
            params![client_id],
        )?;
        let rows = db.execute(
            "DELETE FROM clients WHERE client_id = ?1 RETURNING client_id",
            params![client_id],
        )?;
        Ok(!rows.is_empty())
    })
}

/// Up to `limit` clients (at most 1000) ordered by id, after `after`.
pub fn list(db: &dyn Sql, limit: u32, after: Option<&str>) -> Result<Vec<Client>, StoreError> {
    let limit = i64::from(limit.min(MAX_PAGE));
    let rows = match after {
        Some(after) => db.execute(
            &format!("SELECT {COLS} FROM clients WHERE client_id > ?1 ORDER BY client_id LIMIT ?2"),
            params![after, limit],
        )?,
        None => db.execute(
            &format!("SELECT {COLS} FROM clients ORDER BY client_id LIMIT ?1"),
            params![limit],
        )?,
    };
    rows.iter().map(|r| from_row(r)).collect()
}

/// The storage hash of a secret: lowercase hex SHA-256 (authrim-protocol's
/// `hash_token`).
fn hash_secret(secret: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Sets the client's secret: its hash always, a sealed copy only when
/// `keep_for_mac` (an earlier sealed copy is dropped otherwise). One
/// `UPDATE`; `master_key` is called only when sealing.
pub fn set_secret(
    db: &dyn Sql,
    master_key: &dyn Fn() -> Result<MasterKey, StoreError>,
    client_id: &str,
    secret: &str,
    keep_for_mac: bool,
    now: i64,
) -> Result<(), StoreError> {
    if secret.is_empty() {
        return Err(StoreError::Invalid("the client secret is empty".into()));
    }
    let sealed = if keep_for_mac {
        let sealed = master_key()?
            .seal_client_secret(client_id, secret.as_bytes())
            .map_err(|e| StoreError::Unavailable(format!("cannot seal the client secret: {e}")))?;
        Some(sealed)
    } else {
        None
    };
    let rows = db.execute(
        "UPDATE clients SET secret_hash = ?2, secret_sealed = ?3, updated_at = ?4
         WHERE client_id = ?1 RETURNING client_id",
        params![client_id, hash_secret(secret), sealed, now],
    )?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Whether `mac` is the HMAC (`alg` HS256, HS384 or HS512) of
/// `signing_input` under the client's sealed secret. `verify_slice`
/// compares in constant time. False without a sealed secret or with one
/// shorter than the hash output (RFC 7518 §3.2); `invalid` for other algs.
pub fn verify_secret_mac(
    db: &dyn Sql,
    master_key: &dyn Fn() -> Result<MasterKey, StoreError>,
    client_id: &str,
    alg: &str,
    signing_input: &[u8],
    mac: &[u8],
) -> Result<bool, StoreError> {
    fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8], mac: &[u8]) -> bool {
        match <M as Mac>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(input);
                m.verify_slice(mac).is_ok()
            }
            Err(_) => false,
        }
    }
    let min_len = match alg {
        "HS256" => 32,
        "HS384" => 48,
        "HS512" => 64,
        _ => {
            return Err(StoreError::Invalid(
                "unsupported alg; supported: HS256, HS384, HS512".into(),
            ))
        }
    };
    let sealed = first(
        db,
        "SELECT secret_sealed FROM clients WHERE client_id = ?1 AND secret_sealed IS NOT NULL",
        params![client_id],
    )?;
    let Some(row) = sealed else {
        return Ok(false);
    };
    let key = master_key()?
        .open_client_secret(client_id, &row.blob(0)?)
        .map_err(|_| {
            StoreError::Unavailable(
                "the client secret cannot be decrypted: wrong master_key or altered row".into(),
            )
        })?;
    if key.len() < min_len {
        return Ok(false);
    }
    Ok(match alg {
        "HS256" => check::<Hmac<Sha256>>(&key, signing_input, mac),
        "HS384" => check::<Hmac<Sha384>>(&key, signing_input, mac),
        _ => check::<Hmac<Sha512>>(&key, signing_input, mac),
    })
}
