//! Authorization codes (interface `codes`; the seed's AuthorizationCodeStore).
//!
//! A code is redeemed at most once. `redeem` is one transaction: the
//! conditional update `used_at IS NULL` lets exactly one caller win; any
//! later caller learns the code was replayed, and in the same transaction
//! the grant issued for the first redemption is revoked with its access
//! tokens (RFC 6749 4.1.2: the server "SHOULD revoke (when possible) all
//! tokens previously issued based on that authorization code").
//!
//! A replay can arrive between `redeem` and `attach-grant` (while the token
//! endpoint is still issuing). Then there is no grant to revoke yet:
//! `redeem` returns `replayed("")` and marks the code; `attach-grant` sees
//! the mark, revokes the grant it is given and fails with `conflict`, so
//! the first redemption does not get tokens either.
//!
//! A code from a hybrid response (`code token`, `code id_token token`) came
//! with an access token whose grant `link-grant` recorded
//! (`code_front_grants`); a replay revokes that grant too, in the same
//! transaction.

use crate::grants::revoke_in_tx;
use crate::sql::{first, params, transaction, Columns, Sql, Value};
use crate::{AuthCode, RedeemOutcome, StoreError};

const COLS: &str =
    "code_hash, client_id, user_id, sid, redirect_uri, scope, nonce, code_challenge, \
                    code_challenge_method, grant_json, expires_at";

fn from_row(r: &[Value]) -> Result<AuthCode, StoreError> {
    Ok(AuthCode {
        code_hash: r.text(0)?,
        client_id: r.text(1)?,
        user_id: r.text(2)?,
        sid: r.opt_text(3)?,
        redirect_uri: r.text(4)?,
        scope: r.text(5)?,
        nonce: r.opt_text(6)?,
        code_challenge: r.opt_text(7)?,
        code_challenge_method: r.opt_text(8)?,
        grant_json: r.text(9)?,
        expires_at: r.int(10)?,
    })
}

/// Stores a new code. `conflict` when the hash exists, `invalid` when the
/// client or user does not.
pub fn put(db: &dyn Sql, c: &AuthCode) -> Result<(), StoreError> {
    let rows = db
        .execute(
            &format!(
                "INSERT INTO auth_codes ({COLS})
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                 WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?2)
                   AND EXISTS (SELECT 1 FROM users WHERE id = ?3)
                 RETURNING code_hash"
            ),
            params![
                &c.code_hash,
                &c.client_id,
                &c.user_id,
                c.sid.as_deref(),
                &c.redirect_uri,
                &c.scope,
                c.nonce.as_deref(),
                c.code_challenge.as_deref(),
                c.code_challenge_method.as_deref(),
                &c.grant_json,
                c.expires_at
            ],
        )
        .map_err(crate::sql::conflict("code already exists"))?;
    if rows.is_empty() {
        return Err(StoreError::Invalid("unknown client or user".into()));
    }
    Ok(())
}

/// Spends the code. Exactly one caller ever gets `redeemed`.
pub fn redeem(db: &dyn Sql, code_hash: &str, now: i64) -> Result<RedeemOutcome, StoreError> {
    transaction(db, || {
        let won = first(
            db,
            &format!(
                "UPDATE auth_codes SET used_at = ?2
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                 RETURNING {COLS}"
            ),
            params![code_hash, now],
        )?;
        if let Some(row) = won {
            return Ok(RedeemOutcome::Redeemed(from_row(&row)?));
        }
        // Not spendable: unknown, expired, or spent before (a replay).
        let replay = first(
            db,
            "UPDATE auth_codes SET replayed_at = COALESCE(replayed_at, ?2)
             WHERE code_hash = ?1 AND used_at IS NOT NULL
             RETURNING grant_id",
            params![code_hash, now],
        )?;
        match replay {
            None => Ok(RedeemOutcome::Invalid),
            Some(row) => {
                let grant_id = row.opt_text(0)?;
                if let Some(grant_id) = &grant_id {
                    revoke_in_tx(db, grant_id, now)?;
                }
                let front = first(
                    db,
                    "SELECT grant_id FROM code_front_grants WHERE code_hash = ?1",
                    params![code_hash],
                )?;
                if let Some(front) = front {
                    revoke_in_tx(db, &front.text(0)?, now)?;
                }
                Ok(RedeemOutcome::Replayed(grant_id.unwrap_or_default()))
            }
        }
    })
}

/// Records the grant of the access token issued with the code in one
/// hybrid response (interface `code-companions`). One statement: both rows
/// must exist and be of the same client.
pub fn link_grant(db: &dyn Sql, code_hash: &str, grant_id: &str) -> Result<(), StoreError> {
    let rows = db.execute(
        "INSERT INTO code_front_grants (code_hash, grant_id)
         SELECT c.code_hash, g.id FROM auth_codes c JOIN grants g ON g.client_id = c.client_id
         WHERE c.code_hash = ?1 AND g.id = ?2
         RETURNING code_hash",
        params![code_hash, grant_id],
    )?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

enum Attach {
    Done,
    Replayed,
}

/// Records the grant issued for a redeemed code. The grant must belong to
/// the code's client. Idempotent for the same grant. When the code was
/// replayed meanwhile, the grant is revoked and the call fails with
/// `conflict`.
pub fn attach_grant(
    db: &dyn Sql,
    code_hash: &str,
    grant_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let outcome = transaction(db, || {
        let attached = first(
            db,
            "UPDATE auth_codes SET grant_id = ?2
             WHERE code_hash = ?1 AND used_at IS NOT NULL AND grant_id IS NULL
               AND EXISTS (SELECT 1 FROM grants g WHERE g.id = ?2 AND g.client_id = auth_codes.client_id)
             RETURNING replayed_at",
            params![code_hash, grant_id],
        )?;
        match attached {
            Some(row) if row.opt_int(0)?.is_some() => {
                revoke_in_tx(db, grant_id, now)?;
                Ok(Attach::Replayed)
            }
            Some(_) => Ok(Attach::Done),
            None => {
                // Say why, from the state the failed update saw.
                let state = first(
                    db,
                    "SELECT used_at, grant_id FROM auth_codes WHERE code_hash = ?1",
                    params![code_hash],
                )?;
                match state {
                    None => Err(StoreError::NotFound),
                    Some(r) if r.opt_int(0)?.is_none() => {
                        Err(StoreError::Invalid("code was not redeemed".into()))
                    }
                    Some(r) => match r.opt_text(1)? {
                        Some(g) if g == grant_id => Ok(Attach::Done),
                        Some(_) => Err(StoreError::Conflict(
                            "another grant is attached to the code".into(),
                        )),
                        None => Err(StoreError::Invalid(
                            "unknown grant, or not of the code's client".into(),
                        )),
                    },
                }
            }
        }
    })?;
    match outcome {
        Attach::Done => Ok(()),
        Attach::Replayed => Err(StoreError::Conflict(
            "the code was replayed; the grant has been revoked".into(),
        )),
    }
}
