//! An in-memory [`Store`] with op-store's semantics for the calls op-async
//! makes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::store::{
    CibaApproval, CibaRequest, Client, DeviceApproval, DeviceRequest, Session, Store, StoreError,
    TrustedIssuer, User,
};

/// An outbound POST: URL, headers, body.
pub type Post = (String, Vec<(String, String)>, Vec<u8>);

#[derive(Default)]
pub struct MemoryStore {
    pub clients: RefCell<HashMap<String, Client>>,
    pub users: RefCell<HashMap<String, User>>,
    /// By the hash of the cookie value.
    pub sessions: RefCell<HashMap<String, Session>>,
    pub rates: RefCell<HashMap<String, u32>>,
    /// By user code: the request and its state.
    pub devices: RefCell<HashMap<String, (DeviceRequest, DeviceState)>>,
    /// Our published JWK Set.
    pub jwks: RefCell<String>,
    /// CIBA requests by `auth_req_id` hash, with their approval (or
    /// `Some(None)` once denied).
    pub ciba: RefCell<Vec<(CibaRequest, Option<Option<CibaApproval>>)>>,
    /// Outbound POSTs.
    pub posts: RefCell<Vec<Post>>,
    /// What op-token answers a chained request (`*.spin.internal`); none:
    /// the chained request fails.
    pub chained_answer: RefCell<Option<(u16, Vec<u8>)>>,
    pub issuers: RefCell<HashMap<String, TrustedIssuer>>,
    /// CIBA user code hashes by user id.
    pub user_codes: RefCell<HashMap<String, String>>,
}

#[derive(Clone, Debug)]
pub enum DeviceState {
    Pending,
    Approved(DeviceApproval),
    Denied,
}

impl DeviceState {
    pub fn is_pending(&self) -> bool {
        matches!(self, DeviceState::Pending)
    }
}

impl MemoryStore {
    pub fn add_client(&self, id: &str, metadata: &str, secret_hash: Option<String>) {
        self.clients.borrow_mut().insert(
            id.into(),
            Client {
                client_id: id.into(),
                secret_hash,
                metadata_json: metadata.into(),
                registration_token_hash: None,
                created_at: 0,
                updated_at: 0,
            },
        );
    }

    pub fn add_user(&self, id: &str, username: &str) {
        self.users.borrow_mut().insert(
            id.into(),
            User {
                id: id.into(),
                username: username.into(),
                password_hash: None,
                claims_json: "{}".into(),
                disabled: false,
                created_at: 0,
                updated_at: 0,
            },
        );
    }

    pub fn add_session(&self, id_hash: &str, sid: &str, user_id: &str, now: i64) {
        self.sessions.borrow_mut().insert(
            id_hash.into(),
            Session {
                id_hash: id_hash.into(),
                sid: sid.into(),
                user_id: user_id.into(),
                auth_time: now - 30,
                acr: Some("1".into()),
                amr: vec!["pwd".into()],
                created_at: now - 30,
                expires_at: now + 3600,
                ended_at: None,
            },
        );
    }

    pub fn state(&self, user_code: &str) -> Option<DeviceState> {
        self.devices.borrow().get(user_code).map(|(_, s)| s.clone())
    }
}

impl authrim_spin::client_records::ClientRecords for MemoryStore {
    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.clients.borrow().get(client_id).cloned())
    }

    fn verify_secret_mac(&self, _: &str, _: &str, _: &[u8], _: &[u8]) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn mark_used(&self, _: &str, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>> {
        let uri = uri.to_string();
        async move { Err(format!("no network in tests ({uri})")) }
    }
}

impl Store for MemoryStore {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.borrow().get(id).cloned())
    }

    fn active_session(&self, id_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        Ok(self
            .sessions
            .borrow()
            .get(id_hash)
            .filter(|s| s.expires_at > now && s.ended_at.is_none())
            .cloned())
    }

    fn rate_hit(&self, bucket: &str, _: i64, _: i64) -> Result<u32, StoreError> {
        let mut rates = self.rates.borrow_mut();
        let n = rates.entry(bucket.into()).or_default();
        *n += 1;
        Ok(*n)
    }

    fn create_device(&self, r: &DeviceRequest, _now: i64) -> Result<(), StoreError> {
        let mut devices = self.devices.borrow_mut();
        if devices.contains_key(&r.user_code) {
            return Err(StoreError::Conflict("user code taken".into()));
        }
        devices.insert(r.user_code.clone(), (r.clone(), DeviceState::Pending));
        Ok(())
    }

    fn find_device(&self, user_code: &str, now: i64) -> Result<Option<DeviceRequest>, StoreError> {
        Ok(self
            .devices
            .borrow()
            .get(user_code)
            .filter(|(r, s)| s.is_pending() && r.expires_at > now)
            .map(|(r, _)| r.clone()))
    }

    fn approve_device(
        &self,
        user_code: &str,
        approval: &DeviceApproval,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.decide(user_code, now, DeviceState::Approved(approval.clone()))
    }

    fn deny_device(&self, user_code: &str, now: i64) -> Result<bool, StoreError> {
        self.decide(user_code, now, DeviceState::Denied)
    }

    fn post(
        &self,
        https: bool,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        _max_response: usize,
    ) -> impl Future<Output = Result<(u16, Vec<u8>), String>> {
        let scheme = if https { "https" } else { "http" };
        self.posts.borrow_mut().push((
            format!("{scheme}://{authority}{path}"),
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body.to_vec(),
        ));
        let answer = if authority.ends_with(".spin.internal") {
            self.chained_answer
                .borrow()
                .clone()
                .ok_or_else(|| format!("{authority}: no such component"))
        } else {
            Ok((204, Vec::new()))
        };
        async { answer }
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .cloned())
    }

    fn jwks(&self) -> Result<String, StoreError> {
        Ok(self.jwks.borrow().clone())
    }

    fn create_ciba(&self, r: &CibaRequest, _now: i64) -> Result<(), StoreError> {
        self.ciba.borrow_mut().push((r.clone(), None));
        Ok(())
    }

    fn pending_ciba(&self, user_id: &str, now: i64) -> Result<Vec<CibaRequest>, StoreError> {
        Ok(self
            .ciba
            .borrow()
            .iter()
            .rev()
            .filter(|(r, d)| d.is_none() && r.user_id == user_id && r.expires_at > now)
            .take(20)
            .map(|(r, _)| r.clone())
            .collect())
    }

    fn approve_ciba(
        &self,
        hash: &str,
        user_id: &str,
        approval: &CibaApproval,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        Ok(self.decide_ciba(hash, user_id, now, Some(approval.clone())))
    }

    fn deny_ciba(
        &self,
        hash: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        Ok(self.decide_ciba(hash, user_id, now, None))
    }

    fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
        Ok(self.issuers.borrow().get(issuer).cloned())
    }

    fn user_code(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.user_codes.borrow().get(user_id).cloned())
    }

    fn rate_reset(&self, bucket: &str) -> Result<(), StoreError> {
        self.rates.borrow_mut().remove(bucket);
        Ok(())
    }
}

impl MemoryStore {
    fn decide_ciba(
        &self,
        hash: &str,
        user_id: &str,
        now: i64,
        to: Option<CibaApproval>,
    ) -> Option<CibaRequest> {
        let mut all = self.ciba.borrow_mut();
        let (r, d) = all.iter_mut().find(|(r, d)| {
            r.auth_req_id_hash == hash && r.user_id == user_id && d.is_none() && r.expires_at > now
        })?;
        *d = Some(to);
        Some(r.clone())
    }

    fn decide(&self, user_code: &str, now: i64, to: DeviceState) -> Result<bool, StoreError> {
        let mut devices = self.devices.borrow_mut();
        match devices.get_mut(user_code) {
            Some((r, s)) if s.is_pending() && r.expires_at > now => {
                *s = to;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Runs a future that never waits (the memory store answers at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the endpoint waited"),
    }
}
