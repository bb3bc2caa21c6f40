//! Device authorization requests (interface `device-grants`, RFC 8628; the
//! seed's DeviceCodeStore).
//!
//! `approve` and `deny` are one conditional update each (`status =
//! 'pending'` and unexpired), so a request is decided once. `poll` is one
//! `BEGIN IMMEDIATE` transaction: it reads the row under the write lock,
//! then either records the poll (and grows the interval on `slow_down`) or
//! flips `approved` to `consumed`; of any number of concurrent polls of an
//! approved request exactly one sees `approved`.

use crate::sql::{first, params, transaction, Columns, Sql, Value};
use crate::{DeviceApproval, DeviceRequest, PollOutcome, StoreError};

/// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this
/// and all subsequent requests".
pub const SLOW_DOWN_STEP: i64 = 5;

const COLS: &str =
    "device_code_hash, user_code, client_id, scope, created_at, expires_at, interval";

fn from_row(r: &[Value]) -> Result<DeviceRequest, StoreError> {
    Ok(DeviceRequest {
        device_code_hash: r.text(0)?,
        user_code: r.text(1)?,
        client_id: r.text(2)?,
        scope: r.text(3)?,
        created_at: r.int(4)?,
        expires_at: r.int(5)?,
        interval: r.int(6)?,
    })
}

/// Stores a pending request. An expired request holding the same user
/// code is removed first (same transaction), so user codes are unique
/// only among live requests.
pub fn create(db: &dyn Sql, r: &DeviceRequest, now: i64) -> Result<(), StoreError> {
    if r.interval <= 0 || r.expires_at <= now {
        return Err(StoreError::Invalid(
            "interval and lifetime must be positive".into(),
        ));
    }
    transaction(db, || {
        db.execute(
            "DELETE FROM device_codes WHERE user_code = ?1 AND expires_at <= ?2",
            params![&r.user_code, now],
        )?;
        let rows = db
            .execute(
                &format!(
                    "INSERT INTO device_codes ({COLS})
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                     WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?3)
                     RETURNING device_code_hash"
                ),
                params![
                    &r.device_code_hash,
                    &r.user_code,
                    &r.client_id,
                    &r.scope,
                    r.created_at,
                    r.expires_at,
                    r.interval
                ],
            )
            .map_err(crate::sql::conflict("user code or device code taken"))?;
        if rows.is_empty() {
            return Err(StoreError::Invalid("unknown client".into()));
        }
        Ok(())
    })
}

/// The pending, unexpired request with this user code.
pub fn find_by_user_code(
    db: &dyn Sql,
    user_code: &str,
    now: i64,
) -> Result<Option<DeviceRequest>, StoreError> {
    first(
        db,
        &format!(
            "SELECT {COLS} FROM device_codes
             WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2"
        ),
        params![user_code, now],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// Approves a pending, unexpired request; false when there is none.
pub fn approve(
    db: &dyn Sql,
    user_code: &str,
    a: &DeviceApproval,
    now: i64,
) -> Result<bool, StoreError> {
    let rows = db.execute(
        "UPDATE device_codes SET status = 'approved', user_id = ?2, sid = ?3,
                granted_scope = ?4, grant_json = ?5, decided_at = ?6
         WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?6
           AND EXISTS (SELECT 1 FROM users WHERE id = ?2)
         RETURNING device_code_hash",
        params![
            user_code,
            &a.user_id,
            a.sid.as_deref(),
            &a.scope,
            &a.grant_json,
            now
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Denies a pending, unexpired request; false when there is none.
pub fn deny(db: &dyn Sql, user_code: &str, now: i64) -> Result<bool, StoreError> {
    let rows = db.execute(
        "UPDATE device_codes SET status = 'denied', decided_at = ?2
         WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2
         RETURNING device_code_hash",
        params![user_code, now],
    )?;
    Ok(!rows.is_empty())
}

/// The next interval after a poll at `now` that follows the previous
/// poll at `last` (if any): `None` when the client waited long enough,
/// else the grown interval (RFC 8628 §3.5 `slow_down`).
pub fn slowed_interval(last: Option<i64>, interval: i64, now: i64) -> Option<i64> {
    match last {
        Some(last) if now.saturating_sub(last) < interval => {
            Some(interval.saturating_add(SLOW_DOWN_STEP))
        }
        _ => None,
    }
}

/// One poll (see the module documentation).
pub fn poll(
    db: &dyn Sql,
    device_code_hash: &str,
    client_id: &str,
    now: i64,
) -> Result<PollOutcome, StoreError> {
    transaction(db, || {
        let Some(row) = first(
            db,
            "SELECT client_id, status, expires_at, interval, last_poll_at, user_id, sid,
                    granted_scope, grant_json
             FROM device_codes WHERE device_code_hash = ?1",
            params![device_code_hash],
        )?
        else {
            return Ok(PollOutcome::Invalid);
        };
        let status = row.text(1)?;
        if row.text(0)? != client_id || status == "consumed" {
            return Ok(PollOutcome::Invalid);
        }
        if row.int(2)? <= now {
            return Ok(PollOutcome::Expired);
        }
        match status.as_str() {
            "denied" => return Ok(PollOutcome::Denied),
            "approved" => {
                let consumed = first(
                    db,
                    &format!(
                        "UPDATE device_codes SET status = 'consumed', last_poll_at = ?2
                         WHERE device_code_hash = ?1 AND status = 'approved'
                         RETURNING {COLS}"
                    ),
                    params![device_code_hash, now],
                )?;
                let Some(consumed) = consumed else {
                    return Ok(PollOutcome::Invalid);
                };
                let approval = DeviceApproval {
                    user_id: row.text(5)?,
                    sid: row.opt_text(6)?,
                    scope: row.text(7)?,
                    grant_json: row.text(8)?,
                };
                return Ok(PollOutcome::Approved((from_row(&consumed)?, approval)));
            }
            _ => {}
        }
        let interval = row.int(3)?;
        let slowed = slowed_interval(row.opt_int(4)?, interval, now);
        db.execute(
            "UPDATE device_codes SET last_poll_at = ?2, interval = ?3
             WHERE device_code_hash = ?1",
            params![device_code_hash, now, slowed.unwrap_or(interval)],
        )?;
        Ok(match slowed {
            Some(grown) => PollOutcome::SlowDown(grown),
            None => PollOutcome::Pending(interval),
        })
    })
}
