//! Backchannel authentication requests (interface `ciba-requests`, OpenID
//! Connect CIBA Core 1.0).
//!
//! Same shape as [`crate::device_grants`]: `approve` and `deny` are one
//! conditional update each (`status = 'pending'`, unexpired, and the row
//! names the deciding user), so a request is decided once and only by the
//! user it was made for. `poll` is one `BEGIN IMMEDIATE` transaction that
//! reads the row under the write lock, then either records the poll (and
//! grows the interval on `slow_down`) or flips `approved` to `consumed`;
//! of any number of concurrent polls of an approved request exactly one
//! sees `approved`.
//!
//! A ping or push request's `notification_token` (what op-async needs to
//! notify the client: its bearer token and the `auth_req_id`, of which
//! the table otherwise keeps only the hash) is sealed under the master key
//! at rest, bound to its row, and opened when a request is returned.

use authrim_jose::b64;
use authrim_jose::seal::MasterKey;

use crate::device_grants::slowed_interval;
use crate::sql::{first, params, transaction, Columns, Sql, Value};
use crate::{CibaApproval, CibaPollOutcome, CibaRequest, StoreError};

/// The master key, asked for only when a notification token is sealed or
/// opened.
pub type MasterKeyFn<'a> = &'a dyn Fn() -> Result<MasterKey, StoreError>;

/// `seal_labelled` label of notification tokens.
const NOTIFICATION_LABEL: &str = "ciba-notification";

const COLS: &str = "auth_req_id_hash, client_id, user_id, scope, acr_values, binding_message,
     delivery_mode, notification_token, created_at, expires_at, interval";

fn from_row(r: &[Value], master_key: MasterKeyFn) -> Result<CibaRequest, StoreError> {
    let hash = r.text(0)?;
    let notification_token = match r.opt_text(7)? {
        None => None,
        Some(sealed) => {
            let opened = b64::decode(&sealed)
                .ok()
                .and_then(|b| master_key().ok()?.open_labelled(NOTIFICATION_LABEL, &hash, &b).ok())
                .and_then(|p| String::from_utf8(p.to_vec()).ok())
                .ok_or_else(|| {
                    StoreError::Unavailable(
                        "a CIBA notification token cannot be decrypted: wrong master_key or altered row"
                            .into(),
                    )
                })?;
            Some(opened)
        }
    };
    Ok(CibaRequest {
        auth_req_id_hash: hash,
        client_id: r.text(1)?,
        user_id: r.text(2)?,
        scope: r.text(3)?,
        acr_values: r.opt_text(4)?,
        binding_message: r.opt_text(5)?,
        delivery_mode: r.text(6)?,
        notification_token,
        created_at: r.int(8)?,
        expires_at: r.int(9)?,
        interval: r.int(10)?,
    })
}

/// Stores a pending request for an existing client and user.
pub fn create(
    db: &dyn Sql,
    master_key: MasterKeyFn,
    r: &CibaRequest,
    now: i64,
) -> Result<(), StoreError> {
    if r.interval <= 0 || r.expires_at <= now {
        return Err(StoreError::Invalid(
            "interval and lifetime must be positive".into(),
        ));
    }
    if !matches!(r.delivery_mode.as_str(), "poll" | "ping" | "push") {
        return Err(StoreError::Invalid("unknown delivery mode".into()));
    }
    let sealed = match &r.notification_token {
        None => None,
        Some(token) => Some(b64::encode(
            master_key()?
                .seal_labelled(NOTIFICATION_LABEL, &r.auth_req_id_hash, token.as_bytes())
                .map_err(|e| {
                    StoreError::Unavailable(format!("cannot seal the notification token: {e}"))
                })?,
        )),
    };
    let rows = db
        .execute(
            &format!(
                "INSERT INTO ciba_requests ({COLS})
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                 WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?2)
                   AND EXISTS (SELECT 1 FROM users WHERE id = ?3)
                 RETURNING auth_req_id_hash"
            ),
            params![
                &r.auth_req_id_hash,
                &r.client_id,
                &r.user_id,
                &r.scope,
                r.acr_values.as_deref(),
                r.binding_message.as_deref(),
                &r.delivery_mode,
                sealed.as_deref(),
                r.created_at,
                r.expires_at,
                r.interval
            ],
        )
        .map_err(crate::sql::conflict("auth_req_id taken"))?;
    if rows.is_empty() {
        return Err(StoreError::Invalid("unknown client or user".into()));
    }
    Ok(())
}

/// Most requests `list_pending` returns: a page's worth. Newest first, so
/// that a flood of requests cannot hide the one the user just started.
pub const MAX_LISTED: i64 = 20;

/// The user's pending, unexpired requests, newest first, at most
/// [`MAX_LISTED`].
pub fn list_pending(
    db: &dyn Sql,
    master_key: MasterKeyFn,
    user_id: &str,
    now: i64,
) -> Result<Vec<CibaRequest>, StoreError> {
    db.execute(
        &format!(
            "SELECT {COLS} FROM ciba_requests
             WHERE user_id = ?1 AND status = 'pending' AND expires_at > ?2
             ORDER BY created_at DESC, auth_req_id_hash
             LIMIT ?3"
        ),
        params![user_id, now, MAX_LISTED],
    )?
    .iter()
    .map(|r| from_row(r, master_key))
    .collect()
}

/// Approves the user's pending, unexpired request.
pub fn approve(
    db: &dyn Sql,
    master_key: MasterKeyFn,
    auth_req_id_hash: &str,
    user_id: &str,
    a: &CibaApproval,
    now: i64,
) -> Result<Option<CibaRequest>, StoreError> {
    first(
        db,
        &format!(
            "UPDATE ciba_requests SET status = 'approved', sid = ?3, granted_scope = ?4,
                    grant_json = ?5, decided_at = ?6
             WHERE auth_req_id_hash = ?1 AND user_id = ?2 AND status = 'pending'
               AND expires_at > ?6
             RETURNING {COLS}"
        ),
        params![
            auth_req_id_hash,
            user_id,
            a.sid.as_deref(),
            &a.scope,
            &a.grant_json,
            now
        ],
    )?
    .map(|r| from_row(&r, master_key))
    .transpose()
}

/// Denies the user's pending, unexpired request.
pub fn deny(
    db: &dyn Sql,
    master_key: MasterKeyFn,
    auth_req_id_hash: &str,
    user_id: &str,
    now: i64,
) -> Result<Option<CibaRequest>, StoreError> {
    first(
        db,
        &format!(
            "UPDATE ciba_requests SET status = 'denied', decided_at = ?3
             WHERE auth_req_id_hash = ?1 AND user_id = ?2 AND status = 'pending'
               AND expires_at > ?3
             RETURNING {COLS}"
        ),
        params![auth_req_id_hash, user_id, now],
    )?
    .map(|r| from_row(&r, master_key))
    .transpose()
}

/// One poll (see the module documentation).
pub fn poll(
    db: &dyn Sql,
    master_key: MasterKeyFn,
    auth_req_id_hash: &str,
    client_id: &str,
    now: i64,
) -> Result<CibaPollOutcome, StoreError> {
    transaction(db, || {
        let Some(row) = first(
            db,
            "SELECT client_id, status, expires_at, interval, last_poll_at, sid,
                    granted_scope, grant_json
             FROM ciba_requests WHERE auth_req_id_hash = ?1",
            params![auth_req_id_hash],
        )?
        else {
            return Ok(CibaPollOutcome::Invalid);
        };
        let status = row.text(1)?;
        if row.text(0)? != client_id || status == "consumed" {
            return Ok(CibaPollOutcome::Invalid);
        }
        if row.int(2)? <= now {
            return Ok(CibaPollOutcome::Expired);
        }
        match status.as_str() {
            "denied" => return Ok(CibaPollOutcome::Denied),
            "approved" => {
                let consumed = first(
                    db,
                    &format!(
                        "UPDATE ciba_requests SET status = 'consumed', last_poll_at = ?2
                         WHERE auth_req_id_hash = ?1 AND status = 'approved'
                         RETURNING {COLS}"
                    ),
                    params![auth_req_id_hash, now],
                )?;
                let Some(consumed) = consumed else {
                    return Ok(CibaPollOutcome::Invalid);
                };
                let approval = CibaApproval {
                    sid: row.opt_text(5)?,
                    scope: row.text(6)?,
                    grant_json: row.text(7)?,
                };
                return Ok(CibaPollOutcome::Approved((
                    from_row(&consumed, master_key)?,
                    approval,
                )));
            }
            _ => {}
        }
        let interval = row.int(3)?;
        let slowed = slowed_interval(row.opt_int(4)?, interval, now);
        db.execute(
            "UPDATE ciba_requests SET last_poll_at = ?2, interval = ?3
             WHERE auth_req_id_hash = ?1",
            params![auth_req_id_hash, now, slowed.unwrap_or(interval)],
        )?;
        Ok(match slowed {
            Some(grown) => CibaPollOutcome::SlowDown(grown),
            None => CibaPollOutcome::Pending(interval),
        })
    })
}
