//! The thin adapter: Spin's SQLite and variables, the WASI clock and
//! random generator, and the WIT exports delegating to the core.

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use authrim_jose::seal::MasterKey;
use authrim_jose::{Alg, SigningKey};
use spin_sdk::sqlite;

use crate::bindings::exports::authrim::store as wit;
use crate::keys::KeyEnv;
use crate::sql::{Row, Sql, SqlError, Value};
use crate::{
    ciba_requests, clients, codes, consents, device_grants, dpop, grants, keys, one_time,
    rate_limits, sessions, trusted_issuers, user_codes, users, AccessToken, AuthCode, BoundGrant,
    CibaApproval, CibaPollOutcome, CibaRequest, Client, Consent, DeviceApproval, DeviceRequest,
    Grant, KeyInfo, PollOutcome, RedeemOutcome, RotateOutcome, Session, StoreError, TrustedIssuer,
    User,
};

/// `Sql` over the Spin SQLite database `default` (the parent's, through
/// `dependencies_inherit_configuration`).
struct SpinDb(sqlite::Connection);

fn to_spin(v: &Value) -> sqlite::Value {
    match v {
        Value::Null => sqlite::Value::Null,
        Value::Integer(i) => sqlite::Value::Integer(*i),
        Value::Real(r) => sqlite::Value::Real(*r),
        Value::Text(s) => sqlite::Value::Text(s.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn from_spin(v: sqlite::Value) -> Value {
    match v {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(i) => Value::Integer(i),
        sqlite::Value::Real(r) => Value::Real(r),
        sqlite::Value::Text(s) => Value::Text(s),
        sqlite::Value::Blob(b) => Value::Blob(b),
    }
}

/// Spin's error as text (its generated `Display` goes through `Debug`).
fn spin_error(e: sqlite::Error) -> SqlError {
    match e {
        sqlite::Error::Io(message) => SqlError::from_message(message),
        sqlite::Error::NoSuchDatabase => SqlError::Other("no such database".into()),
        sqlite::Error::AccessDenied => SqlError::Other("access to the database denied".into()),
        sqlite::Error::InvalidConnection => SqlError::Other("invalid database connection".into()),
        sqlite::Error::DatabaseFull => SqlError::Other("database full".into()),
    }
}

impl Sql for SpinDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_spin).collect();
        let result = self.0.execute(sql, &params).map_err(spin_error)?;
        Ok(result
            .rows
            .into_iter()
            .map(|row| row.values.into_iter().map(from_spin).collect())
            .collect())
    }
}

thread_local! {
    /// One connection per instance (an instance serves one request of its
    /// parent component): opened on first use, so a request that makes
    /// several store calls opens it once.
    static DB: OnceCell<Rc<SpinDb>> = const { OnceCell::new() };
}

fn open() -> Result<SpinDb, StoreError> {
    let conn = sqlite::Connection::open_default().map_err(|e| {
        StoreError::Unavailable(format!("cannot open SQLite database `default`: {e}"))
    })?;
    // Per connection, outside any transaction. Deletions do not rely on
    // foreign keys (they delete children explicitly), so a host that
    // refuses pragmas only loses referential checks on insert.
    let _ = conn.execute("PRAGMA foreign_keys = ON", &[]);
    let _ = conn.execute("PRAGMA busy_timeout = 5000", &[]);
    Ok(SpinDb(conn))
}

/// The instance's connection (not generic, so one copy of the lookup).
fn db() -> Result<Rc<SpinDb>, StoreError> {
    DB.with(|cell| {
        if let Some(db) = cell.get() {
            return Ok(db.clone());
        }
        let db = Rc::new(open()?);
        Ok(cell.get_or_init(|| db).clone())
    })
}

fn with_db<T>(f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
    f(db()?.as_ref())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn master_key() -> Result<MasterKey, StoreError> {
    let secret = spin_sdk::variables::get("master_key").map_err(|_| {
        StoreError::Unavailable("master_key is not set (Spin variable `master_key`)".into())
    })?;
    keys::master_key_from_secret(&secret)
}

fn generate(alg: Alg) -> Result<SigningKey, StoreError> {
    SigningKey::generate(alg)
        .map_err(|e| StoreError::Unavailable(format!("key generation failed: {e}")))
}

fn with_keys<T>(
    f: impl FnOnce(&dyn Sql, &KeyEnv<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let env = KeyEnv {
        now: now(),
        master_key: &master_key,
        generate: &generate,
    };
    with_db(|db| f(db, &env))
}

struct Store;

impl wit::keys::Guest for Store {
    fn ensure_keys() -> Result<Vec<KeyInfo>, StoreError> {
        with_keys(keys::ensure_keys)
    }

    fn jwks() -> Result<String, StoreError> {
        with_keys(keys::jwks)
    }

    fn sign_jwt(
        alg: String,
        typ: Option<String>,
        claims_json: String,
    ) -> Result<String, StoreError> {
        with_keys(|db, env| keys::sign_jwt(db, env, &alg, typ.as_deref(), &claims_json))
    }

    fn rotate(alg: String, publish_delay: i64, retention: i64) -> Result<KeyInfo, StoreError> {
        with_keys(|db, env| keys::rotate(db, env, &alg, publish_delay, retention))
    }

    fn list_keys() -> Result<Vec<KeyInfo>, StoreError> {
        with_db(|db| keys::list_keys(db, now()))
    }
}

impl wit::encryption_keys::Guest for Store {
    fn agree(kid: Option<String>, epk_x: Vec<u8>, epk_y: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        with_keys(|db, env| crate::enc_keys::agree(db, env, kid.as_deref(), &epk_x, &epk_y))
    }
}

impl wit::clients::Guest for Store {
    fn get(client_id: String) -> Result<Option<Client>, StoreError> {
        with_db(|db| clients::get(db, &client_id))
    }

    fn create(c: Client) -> Result<(), StoreError> {
        with_db(|db| clients::create(db, &c))
    }

    fn update(c: Client) -> Result<(), StoreError> {
        with_db(|db| clients::update(db, &c))
    }

    fn delete(client_id: String) -> Result<bool, StoreError> {
        with_db(|db| clients::delete(db, &client_id))
    }

    fn list(limit: u32, after: Option<String>) -> Result<Vec<Client>, StoreError> {
        with_db(|db| clients::list(db, limit, after.as_deref()))
    }

    fn set_secret(client_id: String, secret: String, keep_for_mac: bool) -> Result<(), StoreError> {
        with_db(|db| clients::set_secret(db, &master_key, &client_id, &secret, keep_for_mac, now()))
    }

    fn verify_secret_mac(
        client_id: String,
        alg: String,
        signing_input: Vec<u8>,
        mac: Vec<u8>,
    ) -> Result<bool, StoreError> {
        with_db(|db| {
            clients::verify_secret_mac(db, &master_key, &client_id, &alg, &signing_input, &mac)
        })
    }
}

impl wit::users::Guest for Store {
    fn get(id: String) -> Result<Option<User>, StoreError> {
        with_db(|db| users::get(db, &id))
    }

    fn find_by_username(username: String) -> Result<Option<User>, StoreError> {
        with_db(|db| users::find_by_username(db, &username))
    }

    fn create(u: User) -> Result<(), StoreError> {
        with_db(|db| users::create(db, &u))
    }

    fn update(u: User) -> Result<(), StoreError> {
        with_db(|db| users::update(db, &u))
    }

    fn delete(id: String) -> Result<bool, StoreError> {
        with_db(|db| users::delete(db, &id))
    }

    fn list(limit: u32, after: Option<String>) -> Result<Vec<User>, StoreError> {
        with_db(|db| users::list(db, limit, after.as_deref()))
    }
}

impl wit::sessions::Guest for Store {
    fn create(s: Session) -> Result<(), StoreError> {
        with_db(|db| sessions::create(db, &s))
    }

    fn get_active(id_hash: String, now: i64) -> Result<Option<Session>, StoreError> {
        with_db(|db| sessions::get_active(db, &id_hash, now))
    }

    fn get_active_by_sid(sid: String, now: i64) -> Result<Option<Session>, StoreError> {
        with_db(|db| sessions::get_active_by_sid(db, &sid, now))
    }

    fn end(id_hash: String, now: i64) -> Result<bool, StoreError> {
        with_db(|db| sessions::end(db, &id_hash, now))
    }

    fn end_all_for_user(user_id: String, now: i64) -> Result<u32, StoreError> {
        with_db(|db| sessions::end_all_for_user(db, &user_id, now))
    }
}

impl wit::codes::Guest for Store {
    fn put(c: AuthCode) -> Result<(), StoreError> {
        with_db(|db| codes::put(db, &c))
    }

    fn redeem(code_hash: String, now: i64) -> Result<RedeemOutcome, StoreError> {
        with_db(|db| codes::redeem(db, &code_hash, now))
    }

    fn attach_grant(code_hash: String, grant_id: String) -> Result<(), StoreError> {
        with_db(|db| codes::attach_grant(db, &code_hash, &grant_id, now()))
    }
}

impl wit::grants::Guest for Store {
    fn create(
        g: Grant,
        refresh_hash: Option<String>,
        refresh_expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db(|db| grants::create(db, &g, refresh_hash.as_deref(), refresh_expires_at))
    }

    fn get(id: String) -> Result<Option<Grant>, StoreError> {
        with_db(|db| grants::get(db, &id))
    }

    fn rotate(
        presented_hash: String,
        new_hash: String,
        new_expires_at: i64,
        now: i64,
    ) -> Result<RotateOutcome, StoreError> {
        with_db(|db| grants::rotate(db, &presented_hash, &new_hash, new_expires_at, now))
    }

    fn find_by_refresh(refresh_hash: String, now: i64) -> Result<Option<Grant>, StoreError> {
        with_db(|db| grants::find_by_refresh(db, &refresh_hash, now))
    }

    fn revoke(id: String, now: i64) -> Result<bool, StoreError> {
        with_db(|db| grants::revoke(db, &id, now))
    }

    fn record_access_token(t: AccessToken) -> Result<(), StoreError> {
        with_db(|db| grants::record_access_token(db, &t))
    }

    fn check_access_token(token_hash: String, now: i64) -> Result<Option<Grant>, StoreError> {
        with_db(|db| grants::check_access_token(db, &token_hash, now))
    }

    fn revoke_access_token(token_hash: String, now: i64) -> Result<bool, StoreError> {
        with_db(|db| grants::revoke_access_token(db, &token_hash, now))
    }
}

impl wit::one_time::Guest for Store {
    fn mark_used(
        namespace: String,
        key: String,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_db(|db| one_time::mark_used(db, &namespace, &key, expires_at, now))
    }

    fn put(
        namespace: String,
        key: String,
        value: Vec<u8>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db(|db| one_time::put(db, &namespace, &key, &value, expires_at, now()))
    }

    fn take(namespace: String, key: String, now: i64) -> Result<Option<Vec<u8>>, StoreError> {
        with_db(|db| one_time::take(db, &namespace, &key, now))
    }

    fn peek(namespace: String, key: String, now: i64) -> Result<Option<Vec<u8>>, StoreError> {
        with_db(|db| one_time::peek(db, &namespace, &key, now))
    }

    fn purge_expired(now: i64) -> Result<u32, StoreError> {
        with_db(|db| one_time::purge_expired(db, now))
    }
}

impl wit::consents::Guest for Store {
    fn get(user_id: String, client_id: String) -> Result<Option<Consent>, StoreError> {
        with_db(|db| consents::get(db, &user_id, &client_id))
    }

    fn put(c: Consent) -> Result<(), StoreError> {
        with_db(|db| consents::put(db, &c))
    }

    fn revoke(user_id: String, client_id: String, now: i64) -> Result<bool, StoreError> {
        with_db(|db| consents::revoke(db, &user_id, &client_id, now))
    }
}

impl wit::rate_limits::Guest for Store {
    fn hit(bucket: String, window_seconds: i64, now: i64) -> Result<u32, StoreError> {
        with_db(|db| rate_limits::hit(db, &bucket, window_seconds, now))
    }

    fn peek(bucket: String, window_seconds: i64, now: i64) -> Result<u32, StoreError> {
        with_db(|db| rate_limits::peek(db, &bucket, window_seconds, now))
    }

    fn reset(bucket: String) -> Result<(), StoreError> {
        with_db(|db| rate_limits::reset(db, &bucket))
    }
}

impl wit::device_grants::Guest for Store {
    fn create(r: DeviceRequest, now: i64) -> Result<(), StoreError> {
        with_db(|db| device_grants::create(db, &r, now))
    }

    fn find_by_user_code(user_code: String, now: i64) -> Result<Option<DeviceRequest>, StoreError> {
        with_db(|db| device_grants::find_by_user_code(db, &user_code, now))
    }

    fn approve(user_code: String, approval: DeviceApproval, now: i64) -> Result<bool, StoreError> {
        with_db(|db| device_grants::approve(db, &user_code, &approval, now))
    }

    fn deny(user_code: String, now: i64) -> Result<bool, StoreError> {
        with_db(|db| device_grants::deny(db, &user_code, now))
    }

    fn poll(
        device_code_hash: String,
        client_id: String,
        now: i64,
    ) -> Result<PollOutcome, StoreError> {
        with_db(|db| device_grants::poll(db, &device_code_hash, &client_id, now))
    }
}

impl wit::ciba_requests::Guest for Store {
    fn create(r: CibaRequest, now: i64) -> Result<(), StoreError> {
        with_db(|db| ciba_requests::create(db, &master_key, &r, now))
    }

    fn list_pending(user_id: String, now: i64) -> Result<Vec<CibaRequest>, StoreError> {
        with_db(|db| ciba_requests::list_pending(db, &master_key, &user_id, now))
    }

    fn approve(
        auth_req_id_hash: String,
        user_id: String,
        approval: CibaApproval,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        with_db(|db| {
            ciba_requests::approve(db, &master_key, &auth_req_id_hash, &user_id, &approval, now)
        })
    }

    fn deny(
        auth_req_id_hash: String,
        user_id: String,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        with_db(|db| ciba_requests::deny(db, &master_key, &auth_req_id_hash, &user_id, now))
    }

    fn poll(
        auth_req_id_hash: String,
        client_id: String,
        now: i64,
    ) -> Result<CibaPollOutcome, StoreError> {
        with_db(|db| ciba_requests::poll(db, &master_key, &auth_req_id_hash, &client_id, now))
    }
}

impl wit::code_companions::Guest for Store {
    fn link_grant(code_hash: String, grant_id: String) -> Result<(), StoreError> {
        with_db(|db| codes::link_grant(db, &code_hash, &grant_id))
    }
}

impl wit::dpop::Guest for Store {
    fn record_access_token(t: AccessToken, jkt: Option<String>) -> Result<(), StoreError> {
        with_db(|db| dpop::record_access_token(db, &t, jkt.as_deref()))
    }

    fn check_access_token(token_hash: String, now: i64) -> Result<Option<BoundGrant>, StoreError> {
        with_db(|db| dpop::check_access_token(db, &token_hash, now))
    }

    fn nonce(now: i64) -> Result<String, StoreError> {
        dpop::nonce(&master_key()?.derive(dpop::NONCE_KEY_INFO), now)
    }

    fn check_nonce(nonce: String, now: i64) -> Result<bool, StoreError> {
        Ok(dpop::check_nonce(
            &master_key()?.derive(dpop::NONCE_KEY_INFO),
            &nonce,
            now,
        ))
    }
}

crate::bindings::export!(Store with_types_in crate::bindings);

impl wit::trusted_issuers::Guest for Store {
    fn put(i: TrustedIssuer) -> Result<(), StoreError> {
        with_db(|db| trusted_issuers::put(db, &i))
    }

    fn get(issuer: String) -> Result<Option<TrustedIssuer>, StoreError> {
        with_db(|db| trusted_issuers::get(db, &issuer))
    }

    fn list() -> Result<Vec<TrustedIssuer>, StoreError> {
        with_db(|db| trusted_issuers::list(db))
    }

    fn remove(issuer: String) -> Result<bool, StoreError> {
        with_db(|db| trusted_issuers::remove(db, &issuer))
    }
}

impl wit::user_codes::Guest for Store {
    fn set(user_id: String, code_hash: String, now: i64) -> Result<(), StoreError> {
        with_db(|db| user_codes::set(db, &user_id, &code_hash, now))
    }

    fn get(user_id: String) -> Result<Option<String>, StoreError> {
        with_db(|db| user_codes::get(db, &user_id))
    }

    fn clear(user_id: String) -> Result<bool, StoreError> {
        with_db(|db| user_codes::clear(db, &user_id))
    }
}
