//! CIBA user codes (interface `user-codes`): one argon2id PHC string per
//! user, made and verified by the caller. Each operation is one statement.

use crate::sql::{first, params, Columns, Sql};
use crate::StoreError;

/// Sets or replaces the user's code hash; `not-found` without such a user.
pub fn set(db: &dyn Sql, user_id: &str, code_hash: &str, now: i64) -> Result<(), StoreError> {
    // A plain-text code must never land here by mistake.
    if !code_hash.starts_with("$argon2id$") {
        return Err(StoreError::Invalid(
            "code-hash must be an argon2id PHC string".into(),
        ));
    }
    let rows = db.execute(
        "INSERT INTO user_codes (user_id, code_hash, updated_at)
         SELECT id, ?2, ?3 FROM users WHERE id = ?1
         ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash,
           updated_at = excluded.updated_at
         RETURNING user_id",
        params![user_id, code_hash, now],
    )?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn get(db: &dyn Sql, user_id: &str) -> Result<Option<String>, StoreError> {
    first(
        db,
        "SELECT code_hash FROM user_codes WHERE user_id = ?1",
        params![user_id],
    )?
    .map(|r| r.text(0))
    .transpose()
}

pub fn clear(db: &dyn Sql, user_id: &str) -> Result<bool, StoreError> {
    let rows = db.execute(
        "DELETE FROM user_codes WHERE user_id = ?1 RETURNING 1",
        params![user_id],
    )?;
    Ok(!rows.is_empty())
}
