//! The OP's encryption key (interface `encryption-keys`): a P-256 key for
//! ECDH-ES, so that clients can encrypt request objects to the OP (RFC
//! 9101 §6.1). One row in `encryption_keys`, created on first use by one
//! conditional `INSERT` (concurrent callers create at most one; a loser
//! uses the winner's). The private key is sealed with the master key like
//! the signing keys and only ever leaves the store as a shared secret Z
//! for one JWE's ephemeral key. No rotation yet.

use authrim_jose::{b64, Alg, PublicKey, SigningKey};

use crate::keys::KeyEnv;
use crate::sql::{first, params, Columns, Sql};
use crate::StoreError;

/// The one key-agreement algorithm of the key (its `+A128KW`/`+A256KW`
/// variants use the same key).
const ALG: &str = "ECDH-ES";

/// The key's JWK for the JWKS: no `alg` member, so that all three ECDH-ES
/// variants may use it (and JWK libraries that know only JWS algorithms
/// still read the set); `use` is `enc`, so no verifier takes it.
fn public_jwk(kid: &str, key: &SigningKey) -> Result<String, StoreError> {
    let PublicKey::P256 { x, y } = key.public_key() else {
        return Err(StoreError::Unavailable(
            "encryption key is not P-256".into(),
        ));
    };
    Ok(format!(
        r#"{{"kty":"EC","kid":"{kid}","use":"enc","crv":"P-256","x":"{}","y":"{}"}}"#,
        b64::encode(x),
        b64::encode(y)
    ))
}

/// The key's `kid` and public JWK, creating the key if there is none.
pub fn ensure(db: &dyn Sql, env: &KeyEnv<'_>) -> Result<(String, String), StoreError> {
    if let Some(found) = current_public(db)? {
        return Ok(found);
    }
    let master = (env.master_key)()?;
    let key = (env.generate)(Alg::ES256)?;
    // Distinct from any signing key's kid, and bound into the seal.
    let kid = format!("enc-{}", key.kid());
    let der = key
        .to_pkcs8_der()
        .map_err(|e| StoreError::Unavailable(format!("cannot encode the new key: {e}")))?;
    let sealed = master
        .seal(&kid, Alg::ES256, &der)
        .map_err(|e| StoreError::Unavailable(format!("cannot seal the new key: {e}")))?;
    db.execute(
        "INSERT INTO encryption_keys (kid, alg, public_jwk, private_key, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5
         WHERE NOT EXISTS (SELECT 1 FROM encryption_keys WHERE alg = ?2)",
        params![&kid, ALG, &public_jwk(&kid, &key)?, sealed, env.now],
    )?;
    current_public(db)?.ok_or_else(|| StoreError::Unavailable("no encryption key".into()))
}

fn current_public(db: &dyn Sql) -> Result<Option<(String, String)>, StoreError> {
    first(
        db,
        "SELECT kid, public_jwk FROM encryption_keys WHERE alg = ?1",
        params![ALG],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// The ECDH shared secret Z of the OP's key and the point (`x`, `y`), the
/// `epk` of a JWE addressed to the key `kid` (when the JWE names one).
/// `invalid` for another `kid`, a malformed point or one not on the curve.
pub fn agree(
    db: &dyn Sql,
    env: &KeyEnv<'_>,
    kid: Option<&str>,
    x: &[u8],
    y: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let (Ok(x), Ok(y)) = (<[u8; 32]>::try_from(x), <[u8; 32]>::try_from(y)) else {
        return Err(StoreError::Invalid(
            "epk coordinates must be 32 bytes".into(),
        ));
    };
    let row = first(
        db,
        "SELECT kid, private_key FROM encryption_keys WHERE alg = ?1",
        params![ALG],
    )?
    .map(|r| Ok::<_, StoreError>((r.text(0)?, r.blob(1)?)))
    .transpose()?;
    let Some((stored_kid, sealed)) = row else {
        return Err(StoreError::Invalid(
            "the OP has no encryption key yet".into(),
        ));
    };
    if kid.is_some_and(|k| k != stored_kid) {
        return Err(StoreError::Invalid("unknown encryption key kid".into()));
    }
    let master = (env.master_key)()?;
    let der = master.open(&stored_kid, Alg::ES256, &sealed).map_err(|_| {
        StoreError::Unavailable(format!(
            "encryption key {stored_kid} cannot be decrypted: wrong master_key or altered row"
        ))
    })?;
    let key = SigningKey::from_pkcs8_der(Alg::ES256, &der).map_err(|e| {
        StoreError::Unavailable(format!("encryption key {stored_kid} is unusable: {e}"))
    })?;
    let z = key
        .ecdh(&x, &y)
        .map_err(|_| StoreError::Invalid("epk is not a point on P-256".into()))?;
    Ok(z.to_vec())
}
