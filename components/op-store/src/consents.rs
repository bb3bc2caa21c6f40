//! Remembered consent (interface `consents`): one row per (user, client).
//!
//! `put` is one upsert that also checks that the user and the client
//! exist. `revoke` is one transaction: the consent row goes, and every
//! grant of that user for that client is revoked with its access tokens,
//! whether or not a consent row existed (tokens issued under a consent
//! must not outlive its withdrawal).

use crate::json;
use crate::sql::{first, params, transaction, Columns, Sql};
use crate::{Consent, StoreError};

pub fn get(db: &dyn Sql, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError> {
    first(
        db,
        "SELECT user_id, client_id, scope, claims_json, granted_at FROM consents
         WHERE user_id = ?1 AND client_id = ?2",
        params![user_id, client_id],
    )?
    .map(|r| {
        Ok(Consent {
            user_id: r.text(0)?,
            client_id: r.text(1)?,
            scope: r.text(2)?,
            claims_json: r.text(3)?,
            granted_at: r.int(4)?,
        })
    })
    .transpose()
}

/// Inserts or replaces the consent. `invalid` when `claims_json` is not a
/// JSON array of strings or the user or client does not exist.
pub fn put(db: &dyn Sql, c: &Consent) -> Result<(), StoreError> {
    let Some(claims) = json::parse_string_array(&c.claims_json) else {
        return Err(StoreError::Invalid(
            "claims-json must be a JSON array of strings".into(),
        ));
    };
    let rows = db.execute(
        "INSERT INTO consents (user_id, client_id, scope, claims_json, granted_at)
         SELECT ?1, ?2, ?3, ?4, ?5
         WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)
           AND EXISTS (SELECT 1 FROM clients WHERE client_id = ?2)
         ON CONFLICT (user_id, client_id) DO UPDATE
           SET scope = excluded.scope, claims_json = excluded.claims_json, granted_at = excluded.granted_at
         RETURNING 1",
        params![
            &c.user_id,
            &c.client_id,
            &c.scope,
            json::string_array(&claims),
            c.granted_at
        ],
    )?;
    if rows.is_empty() {
        return Err(StoreError::Invalid("unknown user or client".into()));
    }
    Ok(())
}

/// Withdraws the consent and revokes the user's grants for the client
/// (and their access tokens) in one transaction. True when a consent
/// existed.
pub fn revoke(db: &dyn Sql, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
    transaction(db, || {
        let deleted = db.execute(
            "DELETE FROM consents WHERE user_id = ?1 AND client_id = ?2 RETURNING 1",
            params![user_id, client_id],
        )?;
        db.execute(
            "UPDATE access_tokens SET revoked_at = ?3
             WHERE revoked_at IS NULL
               AND grant_id IN (SELECT id FROM grants WHERE user_id = ?1 AND client_id = ?2)",
            params![user_id, client_id, now],
        )?;
        db.execute(
            "UPDATE grants SET revoked_at = ?3
             WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
            params![user_id, client_id, now],
        )?;
        Ok(!deleted.is_empty())
    })
}
