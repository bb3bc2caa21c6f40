//! Signing keys (interface `keys`; the seed's KeyManager).
//!
//! One row per key in `signing_keys`; the private key is sealed (see
//! `authrim_jose::seal`) and only ever leaves the store as a signature.
//!
//! Lifecycle, per algorithm:
//! - `ensure-keys` creates a key, active at once, when the algorithm has
//!   none. The insert is conditional (`INSERT ... SELECT ... WHERE NOT
//!   EXISTS`), one statement, so concurrent callers create at most one;
//!   a loser discards its key and uses the winner's.
//! - The signing key is the newest key (by `activates_at`) with
//!   `activates_at <= now`. `UNIQUE (alg, activates_at)` makes it one row.
//! - `rotate` inserts a key with `activates_at = now + publish-delay` and,
//!   in the same transaction, gives every older key without one
//!   `publish-until = new.activates-at + retention`. A rotation is refused
//!   while a key of the algorithm is scheduled at or after that time, so
//!   activation order is creation order.
//! - The JWKS holds every key with `publish_until` unset or in the future,
//!   so a new key is published `publish-delay` seconds before it signs, and
//!   an old one stays `retention` seconds after it stops.

use authrim_jose::seal::MasterKey;
use authrim_jose::{Alg, SigningKey};

use crate::sql::{first, params, transaction, Columns, Sql};
use crate::{KeyInfo, StoreError};

/// What key management needs from outside the database.
pub struct KeyEnv<'a> {
    /// The current time (UNIX seconds).
    pub now: i64,
    /// The key-encryption key, derived from the `master_key` variable.
    /// Called only when a key is created or used to sign.
    pub master_key: &'a dyn Fn() -> Result<MasterKey, StoreError>,
    /// Generates a new private key.
    pub generate: &'a dyn Fn(Alg) -> Result<SigningKey, StoreError>,
}

/// Derives the key-encryption key from the `master_key` secret; the
/// error never contains the secret.
pub fn master_key_from_secret(secret: &str) -> Result<MasterKey, StoreError> {
    MasterKey::from_secret(secret).map_err(|_| {
        StoreError::Unavailable(format!(
            "master_key must be at least {} bytes (after trimming whitespace)",
            authrim_jose::seal::MIN_MASTER_KEY_BYTES
        ))
    })
}

fn parse_alg(alg: &str) -> Result<Alg, StoreError> {
    alg.parse()
        .map_err(|_| StoreError::Invalid("unsupported alg; supported: RS256, ES256".into()))
}

/// A stored key without its private part.
struct Stored {
    kid: String,
    alg: Alg,
    created_at: i64,
    activates_at: i64,
    publish_until: Option<i64>,
    public_jwk: String,
}

/// Every key, newest first: by `activates_at`, the signing order.
fn all_keys(db: &dyn Sql) -> Result<Vec<Stored>, StoreError> {
    let rows = db.execute(
        "SELECT kid, alg, created_at, activates_at, publish_until, public_jwk FROM signing_keys
         ORDER BY activates_at DESC, created_at DESC, kid",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Stored {
                kid: r.text(0)?,
                alg: parse_alg(&r.text(1)?)?,
                created_at: r.int(2)?,
                activates_at: r.int(3)?,
                publish_until: r.opt_int(4)?,
                public_jwk: r.text(5)?,
            })
        })
        .collect()
}

/// Key infos for `keys` (newest first), marking each alg's signing key.
fn infos(keys: &[Stored], now: i64) -> Vec<KeyInfo> {
    let mut seen: Vec<Alg> = Vec::with_capacity(2);
    keys.iter()
        .map(|k| {
            let signing = k.activates_at <= now && !seen.contains(&k.alg);
            if signing {
                seen.push(k.alg);
            }
            KeyInfo {
                kid: k.kid.clone(),
                alg: k.alg.as_str().to_owned(),
                created_at: k.created_at,
                activates_at: k.activates_at,
                publish_until: k.publish_until,
                signing,
            }
        })
        .collect()
}

/// A new key, sealed and ready to insert.
struct NewKey {
    kid: String,
    alg: Alg,
    public_jwk: String,
    sealed: Vec<u8>,
}

fn new_key(env: &KeyEnv<'_>, alg: Alg) -> Result<NewKey, StoreError> {
    // The master key first: no point generating a key we cannot store.
    let master = (env.master_key)()?;
    let key = (env.generate)(alg)?;
    let kid = key.kid();
    let der = key
        .to_pkcs8_der()
        .map_err(|e| StoreError::Unavailable(format!("cannot encode the new key: {e}")))?;
    let sealed = master
        .seal(&kid, alg, &der)
        .map_err(|e| StoreError::Unavailable(format!("cannot seal the new key: {e}")))?;
    Ok(NewKey {
        public_jwk: key.public_key().to_jwk_json(&kid, alg),
        kid,
        alg,
        sealed,
    })
}

/// Creates a key for every algorithm that has none; returns true if any
/// key was inserted by this call.
fn create_missing(db: &dyn Sql, env: &KeyEnv<'_>, keys: &[Stored]) -> Result<bool, StoreError> {
    let mut inserted = false;
    for alg in Alg::ALL {
        if keys.iter().any(|k| k.alg == alg) {
            continue;
        }
        let k = new_key(env, alg)?;
        let rows = db.execute(
            "INSERT INTO signing_keys (kid, alg, public_jwk, private_key, created_at, activates_at, publish_until)
             SELECT ?1, ?2, ?3, ?4, ?5, ?5, NULL
             WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?2)
             RETURNING kid",
            params![&k.kid, k.alg.as_str(), &k.public_jwk, k.sealed, env.now],
        )?;
        inserted |= !rows.is_empty();
    }
    Ok(inserted)
}

/// Every key, after creating those missing.
fn ensured(db: &dyn Sql, env: &KeyEnv<'_>) -> Result<Vec<Stored>, StoreError> {
    let keys = all_keys(db)?;
    if Alg::ALL
        .iter()
        .all(|alg| keys.iter().any(|k| k.alg == *alg))
    {
        return Ok(keys);
    }
    create_missing(db, env, &keys)?;
    // Re-read: whether we or a concurrent caller inserted, this is the state.
    all_keys(db)
}

/// Makes sure every algorithm has a key; returns each algorithm's signing
/// key (one per algorithm).
pub fn ensure_keys(db: &dyn Sql, env: &KeyEnv<'_>) -> Result<Vec<KeyInfo>, StoreError> {
    let keys = ensured(db, env)?;
    Ok(infos(&keys, env.now)
        .into_iter()
        .filter(|k| k.signing)
        .collect())
}

/// The JWK Set of every published signing key, newest first, then the
/// encryption key.
pub fn jwks(db: &dyn Sql, env: &KeyEnv<'_>) -> Result<String, StoreError> {
    let keys = ensured(db, env)?;
    let mut out = String::from(r#"{"keys":["#);
    let published = keys
        .iter()
        .filter(|k| k.publish_until.is_none_or(|t| t > env.now));
    for (i, k) in published.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&k.public_jwk);
    }
    // The encryption key for request objects (`enc_keys`), `use: enc`.
    let (_, enc_jwk) = crate::enc_keys::ensure(db, env)?;
    out.push(',');
    out.push_str(&enc_jwk);
    out.push_str("]}");
    Ok(out)
}

fn signing_key(db: &dyn Sql, alg: Alg, now: i64) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    first(
        db,
        "SELECT kid, private_key FROM signing_keys WHERE alg = ?1 AND activates_at <= ?2
         ORDER BY activates_at DESC LIMIT 1",
        params![alg.as_str(), now],
    )?
    .map(|r| Ok((r.text(0)?, r.blob(1)?)))
    .transpose()
}

/// Signs `claims_json` (a JSON object) as a compact JWS with the signing
/// key of `alg`; the header is `{"alg","kid"[,"typ"]}`.
pub fn sign_jwt(
    db: &dyn Sql,
    env: &KeyEnv<'_>,
    alg: &str,
    typ: Option<&str>,
    claims_json: &str,
) -> Result<String, StoreError> {
    let alg = parse_alg(alg)?;
    if !crate::json::is_object(claims_json) {
        return Err(StoreError::Invalid(
            "claims-json must be a JSON object".into(),
        ));
    }
    let (kid, sealed) = match signing_key(db, alg, env.now)? {
        Some(found) => found,
        None => {
            ensured(db, env)?;
            signing_key(db, alg, env.now)?
                .ok_or_else(|| StoreError::Unavailable(format!("no {alg} key is active yet")))?
        }
    };
    let master = (env.master_key)()?;
    let der = master.open(&kid, alg, &sealed).map_err(|_| {
        StoreError::Unavailable(format!(
            "signing key {kid} cannot be decrypted: wrong master_key or altered row"
        ))
    })?;
    let key = SigningKey::from_pkcs8_der(alg, &der)
        .map_err(|e| StoreError::Unavailable(format!("signing key {kid} is unusable: {e}")))?;
    authrim_jose::jws::sign_compact(&key, &kid, typ, claims_json.as_bytes())
        .map_err(|e| StoreError::Unavailable(format!("signing failed: {e}")))
}

/// Adds a key for `alg` that signs from `now + publish_delay`; older keys
/// stay published until `retention` seconds after that.
pub fn rotate(
    db: &dyn Sql,
    env: &KeyEnv<'_>,
    alg: &str,
    publish_delay: i64,
    retention: i64,
) -> Result<KeyInfo, StoreError> {
    let alg = parse_alg(alg)?;
    if publish_delay < 0 || retention < 0 {
        return Err(StoreError::Invalid(
            "publish-delay and retention must not be negative".into(),
        ));
    }
    let earliest = env
        .now
        .checked_add(publish_delay)
        .ok_or_else(|| StoreError::Invalid("publish-delay too large".into()))?;
    if earliest.checked_add(retention).is_none() {
        return Err(StoreError::Invalid("retention too large".into()));
    }
    // Generated outside the transaction: RSA takes about a second in wasm.
    let k = new_key(env, alg)?;
    let activates_at = transaction(db, || {
        // Refused while another key of this alg is still waiting to
        // activate (a rotation in progress). The new key activates after
        // every existing one, so "the newest active key signs" stays
        // unambiguous even when two rotations fall in the same second.
        let rows = db.execute(
            "INSERT INTO signing_keys (kid, alg, public_jwk, private_key, created_at, activates_at, publish_until)
             SELECT ?1, ?2, ?3, ?4, ?5,
                    MAX(?6, COALESCE((SELECT MAX(activates_at) FROM signing_keys WHERE alg = ?2), ?6 - 1) + 1),
                    NULL
             WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?2 AND activates_at > ?5)
             RETURNING activates_at",
            params![&k.kid, alg.as_str(), &k.public_jwk, k.sealed.as_slice(), env.now, earliest],
        )?;
        let Some(row) = rows.first() else {
            return Err(StoreError::Conflict(format!(
                "a {alg} key is already scheduled to activate after {}",
                env.now
            )));
        };
        let activates_at = row.int(0)?;
        db.execute(
            "UPDATE signing_keys SET publish_until = ?3 WHERE alg = ?1 AND kid <> ?2 AND publish_until IS NULL",
            params![alg.as_str(), &k.kid, activates_at + retention],
        )?;
        Ok(activates_at)
    })?;
    Ok(KeyInfo {
        kid: k.kid,
        alg: alg.as_str().to_owned(),
        created_at: env.now,
        activates_at,
        publish_until: None,
        signing: activates_at <= env.now,
    })
}

/// Every stored key, newest first.
pub fn list_keys(db: &dyn Sql, now: i64) -> Result<Vec<KeyInfo>, StoreError> {
    Ok(infos(&all_keys(db)?, now))
}
