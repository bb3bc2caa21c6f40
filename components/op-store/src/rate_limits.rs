//! Fixed-window rate-limit counters (interface `rate-limits`).
//!
//! A bucket has one row: the start of its current window (`now` rounded
//! down to a multiple of the window length) and the events counted in it.
//! `hit` is one upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`):
//! in the same window it adds one, in a later window it starts again at
//! one, so concurrent hits each get a distinct count. A hit stamped with an
//! earlier window than the stored one (clock skew between instances)
//! counts in the stored, newer window rather than resetting it.

use crate::sql::{first, params, Columns, Sql};
use crate::StoreError;

fn window_start(window_seconds: i64, now: i64) -> Result<i64, StoreError> {
    if window_seconds <= 0 {
        return Err(StoreError::Invalid(
            "window-seconds must be positive".into(),
        ));
    }
    now.checked_sub(now.rem_euclid(window_seconds))
        .ok_or_else(|| StoreError::Invalid("now is out of range".into()))
}

fn to_u32(count: i64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Counts one event; returns the count in the current window including it.
pub fn hit(db: &dyn Sql, bucket: &str, window_seconds: i64, now: i64) -> Result<u32, StoreError> {
    let start = window_start(window_seconds, now)?;
    let row = first(
        db,
        "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1)
         ON CONFLICT (bucket) DO UPDATE SET
           count = CASE WHEN rate_limits.window_start >= excluded.window_start
                        THEN rate_limits.count + 1 ELSE 1 END,
           window_start = max(rate_limits.window_start, excluded.window_start)
         RETURNING count",
        params![bucket, start],
    )?
    .ok_or_else(|| StoreError::Unavailable("the counter upsert returned no row".into()))?;
    Ok(to_u32(row.int(0)?))
}

/// The count in the current window, without counting.
pub fn peek(db: &dyn Sql, bucket: &str, window_seconds: i64, now: i64) -> Result<u32, StoreError> {
    let start = window_start(window_seconds, now)?;
    let row = first(
        db,
        "SELECT count FROM rate_limits WHERE bucket = ?1 AND window_start >= ?2",
        params![bucket, start],
    )?;
    Ok(row.map(|r| r.int(0)).transpose()?.map_or(0, to_u32))
}

/// Forgets the bucket.
pub fn reset(db: &dyn Sql, bucket: &str) -> Result<(), StoreError> {
    db.execute("DELETE FROM rate_limits WHERE bucket = ?1", params![bucket])?;
    Ok(())
}
