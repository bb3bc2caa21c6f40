//! Users (interface `users`).
//!
//! Usernames are unique and looked up case-insensitively: the store keeps
//! `username_key`, the username lowercased with Unicode rules
//! (`str::to_lowercase`), under a unique index. No other normalisation is
//! applied (callers that want NFC or width folding do it before).

use crate::sql::{first, params, transaction, Columns, Sql, SqlError, Value, MAX_PAGE};
use crate::{StoreError, User};

const COLS: &str = "id, username, password_hash, claims_json, disabled, created_at, updated_at";

/// The case-insensitive comparison key of a username.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

fn from_row(r: &[Value]) -> Result<User, StoreError> {
    Ok(User {
        id: r.text(0)?,
        username: r.text(1)?,
        password_hash: r.opt_text(2)?,
        claims_json: r.text(3)?,
        disabled: r.flag(4)?,
        created_at: r.int(5)?,
        updated_at: r.int(6)?,
    })
}

fn taken(e: SqlError) -> StoreError {
    match e {
        SqlError::Constraint(m) if m.contains("username_key") => {
            StoreError::Conflict("username already exists".into())
        }
        SqlError::Constraint(m) if m.contains("UNIQUE") => {
            StoreError::Conflict("user id already exists".into())
        }
        other => other.into(),
    }
}

pub fn get(db: &dyn Sql, id: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLS} FROM users WHERE id = ?1");
    first(db, &sql, params![id])?
        .map(|r| from_row(&r))
        .transpose()
}

pub fn find_by_username(db: &dyn Sql, username: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLS} FROM users WHERE username_key = ?1");
    first(db, &sql, params![username_key(username)])?
        .map(|r| from_row(&r))
        .transpose()
}

pub fn create(db: &dyn Sql, u: &User) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO users (id, username, username_key, password_hash, claims_json, disabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            &u.id,
            &u.username,
            username_key(&u.username),
            u.password_hash.as_deref(),
            &u.claims_json,
            u.disabled,
            u.created_at,
            u.updated_at
        ],
    )
    .map_err(taken)?;
    Ok(())
}

/// Replaces everything but `id` and `created_at`.
pub fn update(db: &dyn Sql, u: &User) -> Result<(), StoreError> {
    let rows = db
        .execute(
            "UPDATE users SET username = ?2, username_key = ?3, password_hash = ?4, claims_json = ?5,
                    disabled = ?6, updated_at = ?7
             WHERE id = ?1 RETURNING id",
            params![
                &u.id,
                &u.username,
                username_key(&u.username),
                u.password_hash.as_deref(),
                &u.claims_json,
                u.disabled,
                u.updated_at
            ],
        )
        .map_err(taken)?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the user with their sessions, consents, codes, grants and tokens, in one
/// transaction (explicitly, whether or not foreign keys are enforced).
pub fn delete(db: &dyn Sql, id: &str) -> Result<bool, StoreError> {
    transaction(db, || {
        let grants = "SELECT id FROM grants WHERE user_id = ?1";
        db.execute(
            &format!("DELETE FROM access_tokens WHERE grant_id IN ({grants})"),
            params![id],
        )?;
        db.execute(
            &format!("DELETE FROM superseded_refresh_tokens WHERE grant_id IN ({grants})"),
            params![id],
        )?;
        db.execute("DELETE FROM auth_codes WHERE user_id = ?1", params![id])?;
        db.execute("DELETE FROM grants WHERE user_id = ?1", params![id])?;
        db.execute("DELETE FROM sessions WHERE user_id = ?1", params![id])?;
        db.execute("DELETE FROM consents WHERE user_id = ?1", params![id])?;
        db.execute("DELETE FROM user_codes WHERE user_id = ?1", params![id])?;
        let rows = db.execute("DELETE FROM users WHERE id = ?1 RETURNING id", params![id])?;
        Ok(!rows.is_empty())
    })
}

/// Up to `limit` users (at most 1000) ordered by id, after `after`.
pub fn list(db: &dyn Sql, limit: u32, after: Option<&str>) -> Result<Vec<User>, StoreError> {
    let limit = i64::from(limit.min(MAX_PAGE));
    let rows = match after {
        Some(after) => db.execute(
            &format!("SELECT {COLS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"),
            params![after, limit],
        )?,
        None => db.execute(
            &format!("SELECT {COLS} FROM users ORDER BY id LIMIT ?1"),
            params![limit],
        )?,
    };
    rows.iter().map(|r| from_row(r)).collect()
}
