//! Login sessions (interface `sessions`). Always read from the database:
//! ending a session takes effect on the very next request.
//!
//! A session is active when it exists, has not ended and `expires_at > now`.

use crate::sql::{first, params, Columns, Sql, Value};
use crate::{Session, StoreError};

const COLS: &str =
    "id_hash, sid, user_id, auth_time, acr, amr_json, created_at, expires_at, ended_at";

fn encode_amr(amr: &[String]) -> String {
    crate::json::string_array(amr)
}

fn decode_amr(json: &str) -> Result<Vec<String>, StoreError> {
    crate::json::parse_string_array(json)
        .ok_or_else(|| StoreError::Unavailable("corrupt amr_json in sessions".into()))
}

fn from_row(r: &[Value]) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: r.text(0)?,
        sid: r.text(1)?,
        user_id: r.text(2)?,
        auth_time: r.int(3)?,
        acr: r.opt_text(4)?,
        amr: decode_amr(&r.text(5)?)?,
        created_at: r.int(6)?,
        expires_at: r.int(7)?,
        ended_at: r.opt_int(8)?,
    })
}

/// Fails with `conflict` when the id hash or sid exists, `invalid` when the
/// user does not.
pub fn create(db: &dyn Sql, s: &Session) -> Result<(), StoreError> {
    let rows = db
        .execute(
            "INSERT INTO sessions (id_hash, sid, user_id, auth_time, acr, amr_json, created_at, expires_at, ended_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?3)
             RETURNING id_hash",
            params![
                &s.id_hash,
                &s.sid,
                &s.user_id,
                s.auth_time,
                s.acr.as_deref(),
                encode_amr(&s.amr),
                s.created_at,
                s.expires_at,
                s.ended_at
            ],
        )
        .map_err(crate::sql::conflict("session id or sid already exists"))?;
    if rows.is_empty() {
        return Err(StoreError::Invalid("unknown user".into()));
    }
    Ok(())
}

pub fn get_active(db: &dyn Sql, id_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM sessions WHERE id_hash = ?1 AND ended_at IS NULL AND expires_at > ?2"
    );
    first(db, &sql, params![id_hash, now])?
        .map(|r| from_row(&r))
        .transpose()
}

pub fn get_active_by_sid(db: &dyn Sql, sid: &str, now: i64) -> Result<Option<Session>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM sessions WHERE sid = ?1 AND ended_at IS NULL AND expires_at > ?2"
    );
    first(db, &sql, params![sid, now])?
        .map(|r| from_row(&r))
        .transpose()
}

/// Ends the session; true when it was active. One conditional update.
pub fn end(db: &dyn Sql, id_hash: &str, now: i64) -> Result<bool, StoreError> {
    let rows = db.execute(
        "UPDATE sessions SET ended_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL AND expires_at > ?2
         RETURNING id_hash",
        params![id_hash, now],
    )?;
    Ok(!rows.is_empty())
}

/// Ends every active session of the user; returns how many.
pub fn end_all_for_user(db: &dyn Sql, user_id: &str, now: i64) -> Result<u32, StoreError> {
    let rows = db.execute(
        "UPDATE sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL AND expires_at > ?2
         RETURNING 1",
        params![user_id, now],
    )?;
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}
