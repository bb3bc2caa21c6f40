//! An in-memory [`Store`] with op-store's semantics for the calls these
//! endpoints make, and helpers to drive the endpoints natively.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use authrim_jose::b64;
use authrim_oauth::client_auth::{HmacSecret, SecretMac};
use authrim_oauth::client_metadata::JwsAlg;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer};
use serde_json::Value;

use crate::endpoint::{respond, Request};
use crate::env::{Env, Registration};
use crate::store::{Client, Grant, Store, StoreError};

pub const NOW: i64 = 1_700_000_000;
pub const ISSUER: &str = "https://id.example.test";

struct AccessRow {
    grant_id: String,
    expires_at: i64,
    revoked: bool,
}

#[derive(Default)]
pub struct FakeStore {
    pub clients: RefCell<HashMap<String, Client>>,
    /// Secrets kept for `client_secret_jwt` (op-store seals them).
    pub mac_secrets: RefCell<HashMap<String, Vec<u8>>>,
    pub used: RefCell<HashSet<(String, String)>>,
    /// Active sessions by `sid`.
    pub sessions: RefCell<HashSet<String>>,
    pub grants: RefCell<HashMap<String, Grant>>,
    /// Refresh token hash -> grant id.
    refresh: RefCell<HashMap<String, String>>,
    access: RefCell<HashMap<String, AccessRow>>,
    pub jwks_documents: RefCell<HashMap<String, String>>,
    /// Token lookups made (access and refresh).
    pub lookups: Cell<u32>,
    /// When set, `set-secret` fails.
    pub fail_set_secret: Cell<bool>,
}

impl FakeStore {
    pub fn new() -> FakeStore {
        FakeStore::default()
    }

    /// A client with `metadata` (JSON) and, if given, a secret.
    pub fn add_client(&self, id: &str, metadata: &str, secret: Option<&str>) {
        self.clients.borrow_mut().insert(
            id.into(),
            Client {
                client_id: id.into(),
                secret_hash: secret.map(hash_token),
                metadata_json: metadata.into(),
                registration_token_hash: None,
                created_at: NOW,
                updated_at: NOW,
            },
        );
        if let (Some(s), true) = (secret, metadata.contains("client_secret_jwt")) {
            self.mac_secrets
                .borrow_mut()
                .insert(id.into(), s.as_bytes().to_vec());
        }
    }

    pub fn add_grant(&self, id: &str, client_id: &str, user: Option<&str>, sid: Option<&str>) {
        self.grants.borrow_mut().insert(
            id.into(),
            Grant {
                id: id.into(),
                client_id: client_id.into(),
                user_id: user.map(Into::into),
                sid: sid.map(Into::into),
                scope: "openid offline_access".into(),
                grant_json: "{}".into(),
                created_at: NOW - 100,
                expires_at: NOW + 86_400,
                revoked_at: None,
            },
        );
    }

    pub fn add_refresh(&self, token: &str, grant_id: &str) {
        self.refresh
            .borrow_mut()
            .insert(hash_token(token), grant_id.into());
    }

    pub fn add_access(&self, token: &str, grant_id: &str, expires_at: i64) {
        self.access.borrow_mut().insert(
            hash_token(token),
            AccessRow {
                grant_id: grant_id.into(),
                expires_at,
                revoked: false,
            },
        );
    }

    pub fn access_revoked(&self, token: &str) -> bool {
        self.access.borrow()[&hash_token(token)].revoked
    }

    pub fn grant_revoked(&self, id: &str) -> bool {
        self.grants.borrow()[id].revoked_at.is_some()
    }

    fn live_grant(&self, id: &str, now: i64) -> Option<Grant> {
        let grant = self.grants.borrow().get(id)?.clone();
        (grant.revoked_at.is_none() && grant.expires_at > now).then_some(grant)
    }
}

impl authrim_spin::client_records::ClientRecords for FakeStore {
    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.clients.borrow().get(client_id).cloned())
    }

    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> Result<bool, StoreError> {
        let alg = JwsAlg::parse(alg).ok_or(StoreError::Invalid("alg".into()))?;
        Ok(self
            .mac_secrets
            .borrow()
            .get(client_id)
            .is_some_and(|s| HmacSecret(s).verify(alg, signing_input, mac)))
    }

    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        _expires_at: i64,
        _now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .used
            .borrow_mut()
            .insert((namespace.to_string(), key.to_string())))
    }

    fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>> {
        let doc = self.jwks_documents.borrow().get(uri).cloned();
        async move { doc.ok_or_else(|| format!("GET {uri}: unreachable")) }
    }
}

impl Store for FakeStore {
    fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut clients = self.clients.borrow_mut();
        if clients.contains_key(&client.client_id) {
            return Err(StoreError::Conflict("client_id already exists".into()));
        }
        clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut clients = self.clients.borrow_mut();
        let row = clients
            .get_mut(&client.client_id)
            .ok_or(StoreError::NotFound)?;
        if row.secret_hash != client.secret_hash {
            self.mac_secrets.borrow_mut().remove(&client.client_id);
        }
        *row = Client {
            created_at: row.created_at,
            ..client.clone()
        };
        Ok(())
    }

    fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.grants
            .borrow_mut()
            .retain(|_, g| g.client_id != client_id);
        self.mac_secrets.borrow_mut().remove(client_id);
        Ok(self.clients.borrow_mut().remove(client_id).is_some())
    }

    fn set_secret(
        &self,
        client_id: &str,
        secret: &str,
        keep_for_mac: bool,
    ) -> Result<(), StoreError> {
        if self.fail_set_secret.get() {
            return Err(StoreError::Unavailable("master_key is not set".into()));
        }
        let mut clients = self.clients.borrow_mut();
        let row = clients.get_mut(client_id).ok_or(StoreError::NotFound)?;
        row.secret_hash = Some(hash_token(secret));
        let mut macs = self.mac_secrets.borrow_mut();
        if keep_for_mac {
            macs.insert(client_id.into(), secret.as_bytes().to_vec());
        } else {
            macs.remove(client_id);
        }
        Ok(())
    }

    fn check_access_token(&self, token_hash: &str, now: i64) -> Result<Option<Grant>, StoreError> {
        self.lookups.set(self.lookups.get() + 1);
        let access = self.access.borrow();
        let Some(row) = access.get(token_hash) else {
            return Ok(None);
        };
        if row.revoked || row.expires_at <= now {
            return Ok(None);
        }
        let Some(grant) = self.live_grant(&row.grant_id, now) else {
            return Ok(None);
        };
        let session_ok = grant
            .sid
            .as_ref()
            .is_none_or(|sid| self.sessions.borrow().contains(sid));
        Ok(session_ok.then_some(grant))
    }

    fn find_by_refresh(&self, refresh_hash: &str, now: i64) -> Result<Option<Grant>, StoreError> {
        self.lookups.set(self.lookups.get() + 1);
        let id = self.refresh.borrow().get(refresh_hash).cloned();
        Ok(id.and_then(|id| self.live_grant(&id, now)))
    }

    fn session_active(&self, sid: &str, _now: i64) -> Result<bool, StoreError> {
        Ok(self.sessions.borrow().contains(sid))
    }

    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut grants = self.grants.borrow_mut();
        let Some(g) = grants.get_mut(grant_id) else {
            return Ok(false);
        };
        let first = g.revoked_at.is_none();
        g.revoked_at.get_or_insert(now);
        for row in self.access.borrow_mut().values_mut() {
            if row.grant_id == grant_id {
                row.revoked = true;
            }
        }
        Ok(first)
    }

    fn revoke_access_token(&self, token_hash: &str, _now: i64) -> Result<bool, StoreError> {
        Ok(match self.access.borrow_mut().get_mut(token_hash) {
            Some(row) if !row.revoked => {
                row.revoked = true;
                true
            }
            _ => false,
        })
    }
}

/// Runs a future that never waits (the fake store answers at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the fake store never waits"),
    }
}

pub fn env(registration: Registration) -> Env {
    Env {
        issuer: Issuer::parse(ISSUER).unwrap(),
        now: NOW,
        registration,
    }
}

/// One request through the whole endpoint.
pub fn call(
    store: &FakeStore,
    registration: Registration,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let req = Request {
        method,
        path,
        content_type: header("content-type"),
        authorization: header("authorization"),
        body,
    };
    block_on(respond(&req, store, || Ok(env(registration))))
}

pub fn json(resp: &HttpResponse) -> Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&resp.body)))
}

/// `(status, error code)` of a response.
pub fn error_of(resp: &HttpResponse) -> (u16, String) {
    let code = serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_default();
    (resp.status, code)
}

/// An access token shaped like op-token's (the signature is never checked
/// here: op-store recognises the token by its hash).
pub fn access_token_jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#),
        b64::encode(claims.to_string()),
        b64::encode("signature")
    )
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}
