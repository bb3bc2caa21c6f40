//! One-time use (interface `one-time`): markers for values that may be seen
//! once (`jti`s, DPoP proofs) and values to be taken once (PAR requests,
//! device codes). Each operation is one statement, except `purge-expired`.
//!
//! An entry is alive while `expires_at > now`; expired entries behave as
//! absent and may be replaced before `purge-expired` deletes them.

use crate::sql::{params, transaction, Columns, Sql};
use crate::StoreError;

/// Records `key` as used until `expires_at`. True for the first caller,
/// false for a replay. One upsert: an alive row makes the conflict clause
/// do nothing (no row returned); an expired row is taken over.
pub fn mark_used(
    db: &dyn Sql,
    namespace: &str,
    key: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let rows = db.execute(
        "INSERT INTO one_time_marks (namespace, key, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at
         WHERE one_time_marks.expires_at <= ?4
         RETURNING 1",
        params![namespace, key, expires_at, now],
    )?;
    Ok(!rows.is_empty())
}

/// Stores a value to be taken once. `conflict` while an alive value has the
/// same key; an expired one is replaced.
pub fn put(
    db: &dyn Sql,
    namespace: &str,
    key: &str,
    value: &[u8],
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let rows = db.execute(
        "INSERT INTO one_time_values (namespace, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
         WHERE one_time_values.expires_at <= ?5
         RETURNING 1",
        params![namespace, key, value, expires_at, now],
    )?;
    if rows.is_empty() {
        return Err(StoreError::Conflict("a value with this key exists".into()));
    }
    Ok(())
}

/// Removes and returns the value if it is alive. One `DELETE ... RETURNING`:
/// of concurrent callers at most one gets it.
pub fn take(
    db: &dyn Sql,
    namespace: &str,
    key: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let rows = db.execute(
        "DELETE FROM one_time_values WHERE namespace = ?1 AND key = ?2 AND expires_at > ?3 RETURNING value",
        params![namespace, key, now],
    )?;
    rows.first().map(|r| r.blob(0)).transpose()
}

/// The value if it is alive, without taking it. One `SELECT`.
pub fn peek(
    db: &dyn Sql,
    namespace: &str,
    key: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let rows = db.execute(
        "SELECT value FROM one_time_values WHERE namespace = ?1 AND key = ?2 AND expires_at > ?3",
        params![namespace, key, now],
    )?;
    rows.first().map(|r| r.blob(0)).transpose()
}

/// Deletes expired markers and values; returns how many.
pub fn purge_expired(db: &dyn Sql, now: i64) -> Result<u32, StoreError> {
    transaction(db, || {
        let mut total = 0i64;
        for table in ["one_time_marks", "one_time_values"] {
            db.execute(
                &format!("DELETE FROM {table} WHERE expires_at <= ?1"),
                params![now],
            )?;
            let changed = db.execute("SELECT changes()", &[])?;
            total += changed.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
        }
        Ok(u32::try_from(total).unwrap_or(u32::MAX))
    })
}
