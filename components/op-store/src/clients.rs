//! OAuth clients (interface `clients`).

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
pub fn update(db: &dyn Sql, c: &Client) -> Result<(), StoreError> {
    let rows = db.execute(
        "UPDATE clients SET secret_hash = ?2, metadata_json = ?3, registration_token_hash = ?4, updated_at = ?5
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

/// Deletes the client and everything issued to it: codes, grants, refresh
/// and access tokens. One transaction; children are deleted explicitly, so
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
