//! Grants: refresh-token families and their access tokens (interface
//! `grants`; the seed's RefreshTokenRotator).
//!
//! A grant row holds its family's current refresh token hash
//! (`refresh_hash`). Rotation is a compare-and-set on it inside one
//! `BEGIN IMMEDIATE` transaction: of any number of concurrent calls with
//! the same presented token exactly one matches and replaces it; the old
//! hash moves to `superseded_refresh_tokens`. Presenting a superseded hash
//! again is reuse (RFC 9700 4.14.2): the family is revoked with every access
//! token issued in it, in the same transaction.
//!
//! Liveness, used by `rotate`, `find-by-refresh` and `check-access-token`:
//! the grant is not revoked and not past `expires_at`, and its user (if
//! any) exists and is not disabled. Access tokens additionally need their
//! own `expires_at > now`, no revocation, and — when the grant has a `sid`
//! — an active session with that sid. Grants that must outlive the login
//! session (offline access) are created without a `sid`.

use crate::sql::{conflict, first, params, transaction, Columns, Sql, Value};
use crate::{AccessToken, Grant, RotateOutcome, StoreError};

const COLS: &str =
    "id, client_id, user_id, sid, scope, grant_json, created_at, expires_at, revoked_at";
pub(crate) const G_COLS: &str = "g.id, g.client_id, g.user_id, g.sid, g.scope, g.grant_json, g.created_at, g.expires_at, g.revoked_at";

/// SQL condition on alias `g`: the grant is live at the time bound to the
/// parameter `now` (e.g. `"?4"`).
fn live(now: &str) -> String {
    format!(
        "g.revoked_at IS NULL AND g.expires_at > {now}
         AND (g.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = g.user_id AND u.disabled = 0))"
    )
}

fn from_row(r: &[Value]) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: r.text(0)?,
        client_id: r.text(1)?,
        user_id: r.opt_text(2)?,
        sid: r.opt_text(3)?,
        scope: r.text(4)?,
        grant_json: r.text(5)?,
        created_at: r.int(6)?,
        expires_at: r.int(7)?,
        revoked_at: r.opt_int(8)?,
    })
}

/// Starts a family. `conflict` when the id or refresh hash exists,
/// `invalid` when the client or user does not.
pub fn create(
    db: &dyn Sql,
    g: &Grant,
    refresh_hash: Option<&str>,
    refresh_expires_at: i64,
) -> Result<(), StoreError> {
    let rows = db
        .execute(
            "INSERT INTO grants (id, client_id, user_id, sid, scope, grant_json, created_at, expires_at, revoked_at,
                                 refresh_hash, refresh_expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
             WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?2)
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?3))
             RETURNING id",
            params![
                &g.id,
                &g.client_id,
                g.user_id.as_deref(),
                g.sid.as_deref(),
                &g.scope,
                &g.grant_json,
                g.created_at,
                g.expires_at,
                g.revoked_at,
                refresh_hash,
                refresh_hash.map(|_| refresh_expires_at)
            ],
        )
        .map_err(conflict("grant id or refresh token already exists"))?;
    if rows.is_empty() {
        return Err(StoreError::Invalid("unknown client or user".into()));
    }
    Ok(())
}

/// The grant, live or not.
pub fn get(db: &dyn Sql, id: &str) -> Result<Option<Grant>, StoreError> {
    first(
        db,
        &format!("SELECT {COLS} FROM grants WHERE id = ?1"),
        params![id],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// Compare-and-set on the family's current refresh token.
pub fn rotate(
    db: &dyn Sql,
    presented_hash: &str,
    new_hash: &str,
    new_expires_at: i64,
    now: i64,
) -> Result<RotateOutcome, StoreError> {
    if presented_hash == new_hash {
        return Err(StoreError::Invalid(
            "the new refresh token equals the presented one".into(),
        ));
    }
    transaction(db, || {
        let swapped = first(
            db,
            &format!(
                "UPDATE grants AS g SET refresh_hash = ?2, refresh_expires_at = ?3
                 WHERE g.refresh_hash = ?1 AND g.refresh_expires_at > ?4 AND {}
                 RETURNING {COLS}",
                live("?4")
            ),
            params![presented_hash, new_hash, new_expires_at, now],
        )
        .map_err(conflict("the new refresh token already exists"))?;
        if let Some(row) = swapped {
            let grant = from_row(&row)?;
            db.execute(
                "INSERT INTO superseded_refresh_tokens (token_hash, grant_id, superseded_at) VALUES (?1, ?2, ?3)",
                params![presented_hash, &grant.id, now],
            )?;
            return Ok(RotateOutcome::Rotated(grant));
        }
        // Not current. A superseded token of a family not yet revoked is
        // reuse: revoke the family now.
        let reused = first(
            db,
            "SELECT s.grant_id FROM superseded_refresh_tokens s JOIN grants g ON g.id = s.grant_id
             WHERE s.token_hash = ?1 AND g.revoked_at IS NULL",
            params![presented_hash],
        )?;
        match reused {
            Some(row) => {
                let id = row.text(0)?;
                revoke_in_tx(db, &id, now)?;
                Ok(RotateOutcome::ReuseDetected(id))
            }
            None => Ok(RotateOutcome::Invalid),
        }
    })
}

/// The live grant whose current refresh token is `refresh_hash`.
pub fn find_by_refresh(
    db: &dyn Sql,
    refresh_hash: &str,
    now: i64,
) -> Result<Option<Grant>, StoreError> {
    let sql = format!(
        "SELECT {G_COLS} FROM grants g WHERE g.refresh_hash = ?1 AND g.refresh_expires_at > ?2 AND {}",
        live("?2")
    );
    first(db, &sql, params![refresh_hash, now])?
        .map(|r| from_row(&r))
        .transpose()
}

/// Revokes the grant and its access tokens. Must run inside a transaction.
/// True when the grant was not revoked before.
pub(crate) fn revoke_in_tx(db: &dyn Sql, id: &str, now: i64) -> Result<bool, StoreError> {
    let rows = db.execute(
        "UPDATE grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id",
        params![id, now],
    )?;
    db.execute(
        "UPDATE access_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(!rows.is_empty())
}

/// Revokes the family and every access token issued in it, atomically.
pub fn revoke(db: &dyn Sql, id: &str, now: i64) -> Result<bool, StoreError> {
    transaction(db, || revoke_in_tx(db, id, now))
}

/// Records an access token of a grant. `not-found` for an unknown grant,
/// `conflict` when the hash exists.
pub fn record_access_token(db: &dyn Sql, t: &AccessToken) -> Result<(), StoreError> {
    let rows = db
        .execute(
            "INSERT INTO access_tokens (token_hash, grant_id, expires_at)
             SELECT ?1, id, ?3 FROM grants WHERE id = ?2
             RETURNING token_hash",
            params![&t.token_hash, &t.grant_id, t.expires_at],
        )
        .map_err(conflict("access token already exists"))?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The grant of a usable access token: one query over token, grant, user
/// and session.
pub fn check_access_token(
    db: &dyn Sql,
    token_hash: &str,
    now: i64,
) -> Result<Option<Grant>, StoreError> {
    check_access_token_with(db, G_COLS, token_hash, now, |_, g| Ok(g))
}

/// The query of `check_access_token` selecting `columns` (which start with
/// `G_COLS`), each row read by `read` after the grant.
pub(crate) fn check_access_token_with<T>(
    db: &dyn Sql,
    columns: &str,
    token_hash: &str,
    now: i64,
    read: impl FnOnce(&[Value], Grant) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let sql = format!(
        "SELECT {columns} FROM access_tokens t JOIN grants g ON g.id = t.grant_id
         WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND t.revoked_at IS NULL AND {}
           AND (g.sid IS NULL OR EXISTS (SELECT 1 FROM sessions s
                                         WHERE s.sid = g.sid AND s.ended_at IS NULL AND s.expires_at > ?2))",
        live("?2")
    );
    match first(db, &sql, params![token_hash, now])? {
        Some(r) => {
            let grant = from_row(&r)?;
            read(&r, grant).map(Some)
        }
        None => Ok(None),
    }
}

/// Revokes one access token; true when it was not revoked before.
pub fn revoke_access_token(db: &dyn Sql, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let rows = db.execute(
        "UPDATE access_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL RETURNING 1",
        params![token_hash, now],
    )?;
    Ok(!rows.is_empty())
}
