//! An in-memory [`Store`] with op-store's semantics where the endpoint
//! logic depends on them (expiry, one-time take, fixed windows), and
//! fixtures shared by the unit tests.

use crate::store::*;
use std::cell::RefCell;
use std::collections::HashMap;

/// (namespace, key) → (value, expires-at).
type OneTime = HashMap<(String, String), (Vec<u8>, i64)>;

#[derive(Default)]
pub struct MemoryStore {
    pub clients: RefCell<HashMap<String, StoredClient>>,
    pub users: RefCell<Vec<User>>,
    /// Sessions with `ended_at`.
    pub sessions: RefCell<Vec<(Session, Option<i64>)>>,
    pub codes: RefCell<Vec<AuthCode>>,
    pub grants: RefCell<Vec<Grant>>,
    pub access_tokens: RefCell<Vec<AccessToken>>,
    /// (code hash, grant id) of hybrid responses.
    pub code_grants: RefCell<Vec<(String, String)>>,
    pub one_time: RefCell<OneTime>,
    pub used: RefCell<HashMap<(String, String), i64>>,
    pub consents: RefCell<Vec<Consent>>,
    pub rates: RefCell<HashMap<String, (i64, u32)>>,
    pub jwks: RefCell<String>,
    /// The OP's encryption key (`encryption-keys`), kid `enc-test`.
    pub enc_key: RefCell<Option<authrim_jose::SigningKey>>,
    /// Secrets for `verify_secret_mac`, by client id.
    pub mac_secrets: RefCell<HashMap<String, Vec<u8>>>,
    /// Documents `fetch_jwks` serves, by URL, and how often it was called.
    pub jwks_documents: RefCell<HashMap<String, String>>,
    pub jwks_fetches: std::cell::Cell<u32>,
}

impl MemoryStore {
    pub fn add_client(&self, client_id: &str, secret_hash: Option<&str>, metadata: &str) {
        self.clients.borrow_mut().insert(
            client_id.to_string(),
            StoredClient {
                client_id: client_id.to_string(),
                secret_hash: secret_hash.map(str::to_string),
                metadata_json: metadata.to_string(),
            },
        );
    }

    pub fn add_user(&self, id: &str, username: &str, password_hash: Option<&str>) {
        self.users.borrow_mut().push(User {
            id: id.to_string(),
            username: username.to_string(),
            password_hash: password_hash.map(str::to_string),
            claims_json: r#"{"email":"someone@example.com","name":"Someone"}"#.to_string(),
            disabled: false,
        });
    }

    pub fn active_sessions(&self, now: i64) -> Vec<Session> {
        self.sessions
            .borrow()
            .iter()
            .filter(|(s, ended)| ended.is_none() && s.expires_at > now)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

fn window(now: i64, w: i64) -> i64 {
    now - now.rem_euclid(w)
}

impl Store for MemoryStore {
    fn client(&self, client_id: &str) -> StoreResult<Option<StoredClient>> {
        Ok(self.clients.borrow().get(client_id).cloned())
    }

    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> StoreResult<bool> {
        use authrim_oauth::client_auth::{HmacSecret, SecretMac};
        use authrim_oauth::client_metadata::JwsAlg;
        Ok(
            match (self.mac_secrets.borrow().get(client_id), JwsAlg::parse(alg)) {
                (Some(secret), Some(alg)) => HmacSecret(secret).verify(alg, signing_input, mac),
                _ => false,
            },
        )
    }

    fn user(&self, id: &str) -> StoreResult<Option<User>> {
        Ok(self.users.borrow().iter().find(|u| u.id == id).cloned())
    }

    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let wanted = username.to_lowercase();
        Ok(self
            .users
            .borrow()
            .iter()
            .find(|u| u.username.to_lowercase() == wanted)
            .cloned())
    }

    fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.sessions.borrow_mut().push((session.clone(), None));
        Ok(())
    }

    fn active_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(self
            .active_sessions(now)
            .into_iter()
            .find(|s| s.id_hash == id_hash))
    }

    fn active_session_by_sid(&self, sid: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(self.active_sessions(now).into_iter().find(|s| s.sid == sid))
    }

    fn end_session(&self, id_hash: &str, now: i64) -> StoreResult<bool> {
        let mut sessions = self.sessions.borrow_mut();
        for (s, ended) in sessions.iter_mut() {
            if s.id_hash == id_hash && ended.is_none() && s.expires_at > now {
                *ended = Some(now);
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn put_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.codes.borrow_mut().push(code.clone());
        Ok(())
    }

    fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.grants.borrow_mut().push(grant.clone());
        Ok(())
    }

    fn record_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        self.access_tokens.borrow_mut().push(token.clone());
        Ok(())
    }

    /// An unsigned stand-in with the real shape: header and claims are
    /// readable, the signature names the alg.
    fn link_code_grant(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        self.code_grants
            .borrow_mut()
            .push((code_hash.to_string(), grant_id.to_string()));
        Ok(())
    }

    fn sign_jwt(&self, alg: &str, typ: &str, claims_json: &str) -> StoreResult<String> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine;
        let header = format!(r#"{{"alg":"{alg}","typ":"{typ}"}}"#);
        Ok(format!(
            "{}.{}.sig-{alg}",
            B64.encode(header),
            B64.encode(claims_json)
        ))
    }

    fn one_time_put(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        expires_at: i64,
    ) -> StoreResult<()> {
        self.one_time.borrow_mut().insert(
            (namespace.to_string(), key.to_string()),
            (value.to_vec(), expires_at),
        );
        Ok(())
    }

    fn one_time_peek(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .one_time
            .borrow()
            .get(&(namespace.to_string(), key.to_string()))
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone()))
    }

    fn one_time_take(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .one_time
            .borrow_mut()
            .remove(&(namespace.to_string(), key.to_string()))
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v))
    }

    fn one_time_mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let mut used = self.used.borrow_mut();
        let k = (namespace.to_string(), key.to_string());
        if used.get(&k).is_some_and(|exp| *exp > now) {
            return Ok(false);
        }
        used.insert(k, expires_at);
        Ok(true)
    }

    fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        Ok(self
            .consents
            .borrow()
            .iter()
            .find(|c| c.user_id == user_id && c.client_id == client_id)
            .cloned())
    }

    fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        let mut all = self.consents.borrow_mut();
        all.retain(|c| !(c.user_id == consent.user_id && c.client_id == consent.client_id));
        all.push(consent.clone());
        Ok(())
    }

    fn rate_hit(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32> {
        let start = window(now, window_seconds);
        let mut rates = self.rates.borrow_mut();
        let entry = rates.entry(bucket.to_string()).or_insert((start, 0));
        if entry.0 < start {
            *entry = (start, 0);
        }
        entry.1 += 1;
        Ok(entry.1)
    }

    fn rate_peek(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32> {
        let start = window(now, window_seconds);
        Ok(self
            .rates
            .borrow()
            .get(bucket)
            .filter(|(s, _)| *s >= start)
            .map_or(0, |(_, n)| *n))
    }

    fn rate_reset(&self, bucket: &str) -> StoreResult<()> {
        self.rates.borrow_mut().remove(bucket);
        Ok(())
    }

    fn jwks(&self) -> StoreResult<String> {
        Ok(self.jwks.borrow().clone())
    }

    /// Nonces are `nonce-{window}` with 60-second windows, the current
    /// and the previous one valid, as op-store's.
    fn dpop_nonce(&self, now: i64) -> StoreResult<String> {
        Ok(format!("nonce-{}", now / 60))
    }

    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> StoreResult<bool> {
        Ok(nonce == format!("nonce-{}", now / 60) || nonce == format!("nonce-{}", now / 60 - 1))
    }

    fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
        self.jwks_fetches.set(self.jwks_fetches.get() + 1);
        self.jwks_documents
            .borrow()
            .get(uri)
            .cloned()
            .ok_or_else(|| format!("GET {uri}: status 404"))
    }

    fn agree(&self, kid: Option<&str>, x: &[u8; 32], y: &[u8; 32]) -> StoreResult<Option<Vec<u8>>> {
        let key = self.enc_key.borrow();
        let Some(key) = key.as_ref().filter(|_| kid.is_none_or(|k| k == "enc-test")) else {
            return Ok(None);
        };
        Ok(key.ecdh(x, y).ok().map(|z| z.to_vec()))
    }
}

/// Every page's fixed headers.
pub(crate) fn assert_page_headers(r: &authrim_protocol::HttpResponse) {
    assert_eq!(
        r.header_value("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    assert_eq!(r.header_value("x-frame-options"), Some("DENY"));
    let csp = r.header_value("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}
