//! An in-memory [`Store`] with op-store's semantics for the calls the token
//! endpoint makes (redeem once, replay revokes, compare-and-set rotation,
//! reuse revokes the family), and real signatures.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;

use authrim_jose::{jws, test_keys, Alg, Jwk, SigningKey};
use authrim_oauth::client_auth::{HmacSecret, SecretMac};
use authrim_oauth::client_metadata::JwsAlg;
use authrim_protocol::secret::hash_token;

use crate::store::{
    AccessToken, AuthCode, CibaPollOutcome, Client, Grant, PollOutcome, RedeemOutcome,
    RotateOutcome, Store, StoreError, TrustedIssuer, User,
};

struct CodeRow {
    code: AuthCode,
    used: bool,
    replayed: bool,
    grant: Option<String>,
}

pub struct FakeStore {
    pub clients: RefCell<HashMap<String, Client>>,
    /// Secrets kept for `client_secret_jwt`.
    pub mac_secrets: RefCell<HashMap<String, Vec<u8>>>,
    pub used: RefCell<HashSet<(String, String)>>,
    pub users: RefCell<HashMap<String, User>>,
    pub issuers: RefCell<HashMap<String, TrustedIssuer>>,
    pub sessions: RefCell<HashSet<String>>,
    codes: RefCell<HashMap<String, CodeRow>>,
    pub grants: RefCell<HashMap<String, Grant>>,
    current: RefCell<HashMap<String, String>>,
    superseded: RefCell<HashMap<String, String>>,
    pub access_tokens: RefCell<HashMap<String, AccessToken>>,
    pub jwks_documents: RefCell<HashMap<String, String>>,
    /// The DPoP binding of each recorded access token.
    pub access_token_jkts: RefCell<HashMap<String, Option<String>>>,
    pub fetches: Cell<u32>,
    /// Device-code hash -> (client id, what the next poll answers); an
    /// approved request answers `invalid` after its first poll.
    pub device: RefCell<HashMap<String, (String, PollOutcome)>>,
    /// The same for CIBA requests, by `auth_req_id` hash.
    pub ciba: RefCell<HashMap<String, (String, CibaPollOutcome)>>,
    /// Simulates a replay of the code arriving between `redeem` and
    /// `attach-grant`.
    pub replay_before_attach: Cell<bool>,
    es256: SigningKey,
    rs256: SigningKey,
}

impl FakeStore {
    pub fn new() -> FakeStore {
        FakeStore {
            clients: RefCell::default(),
            mac_secrets: RefCell::default(),
            used: RefCell::default(),
            users: RefCell::default(),
            issuers: RefCell::default(),
            sessions: RefCell::default(),
            codes: RefCell::default(),
            grants: RefCell::default(),
            current: RefCell::default(),
            superseded: RefCell::default(),
            access_tokens: RefCell::default(),
            jwks_documents: RefCell::default(),
            access_token_jkts: RefCell::default(),
            fetches: Cell::new(0),
            device: RefCell::default(),
            ciba: RefCell::default(),
            replay_before_attach: Cell::new(false),
            es256: SigningKey::generate(Alg::ES256).unwrap(),
            rs256: test_keys::rsa(),
        }
    }

    pub fn put_code(&self, code: AuthCode) {
        self.codes.borrow_mut().insert(
            code.code_hash.clone(),
            CodeRow {
                code,
                used: false,
                replayed: false,
                grant: None,
            },
        );
    }

    /// The public key the fake signs with for `alg`.
    pub fn verification_key(&self, alg: Alg) -> Jwk {
        let key = match alg {
            Alg::ES256 => &self.es256,
            Alg::RS256 => &self.rs256,
        };
        Jwk::parse(&key.public_key().to_jwk_json(&key.kid(), alg)).unwrap()
    }

    /// The live grant of an access token, as `grants.check-access-token`.
    pub fn check_access_token(&self, token: &str, now: i64) -> Option<Grant> {
        let tokens = self.access_tokens.borrow();
        let t = tokens.get(&hash_token(token))?;
        let grant = self.grants.borrow().get(&t.grant_id)?.clone();
        (t.expires_at > now && grant.revoked_at.is_none()).then_some(grant)
    }

    fn live(&self, grant: &Grant, now: i64) -> bool {
        grant.revoked_at.is_none()
            && grant.expires_at > now
            && grant.user_id.as_ref().is_none_or(|u| {
                self.users
                    .borrow()
                    .get(u)
                    .is_some_and(|user| !user.disabled)
            })
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
        self.fetches.set(self.fetches.get() + 1);
        let doc = self.jwks_documents.borrow().get(uri).cloned();
        async move { doc.ok_or_else(|| "host not allowed".to_string()) }
    }
}

impl Store for FakeStore {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.borrow().get(id).cloned())
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.username == username)
            .cloned())
    }

    fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
        Ok(self.issuers.borrow().get(issuer).cloned())
    }

    fn session_active(&self, sid: &str, _now: i64) -> Result<bool, StoreError> {
        Ok(self.sessions.borrow().contains(sid))
    }

    fn redeem_code(&self, code_hash: &str, now: i64) -> Result<RedeemOutcome, StoreError> {
        let mut codes = self.codes.borrow_mut();
        let Some(row) = codes.get_mut(code_hash) else {
            return Ok(RedeemOutcome::Invalid);
        };
        if row.used {
            row.replayed = true;
            let grant = row.grant.clone().unwrap_or_default();
            if let Some(g) = self.grants.borrow_mut().get_mut(&grant) {
                g.revoked_at = Some(now);
            }
            return Ok(RedeemOutcome::Replayed(grant));
        }
        if row.code.expires_at <= now {
            return Ok(RedeemOutcome::Invalid);
        }
        row.used = true;
        Ok(RedeemOutcome::Redeemed(row.code.clone()))
    }

    fn attach_grant(&self, code_hash: &str, grant_id: &str) -> Result<(), StoreError> {
        let mut codes = self.codes.borrow_mut();
        let row = codes.get_mut(code_hash).ok_or(StoreError::NotFound)?;
        if self.replay_before_attach.get() {
            row.replayed = true;
        }
        if row.replayed {
            if let Some(g) = self.grants.borrow_mut().get_mut(grant_id) {
                g.revoked_at = Some(0);
            }
            return Err(StoreError::Conflict("code replayed".into()));
        }
        row.grant = Some(grant_id.to_string());
        Ok(())
    }

    fn create_grant(
        &self,
        grant: &Grant,
        refresh_hash: Option<&str>,
        _refresh_expires_at: i64,
    ) -> Result<(), StoreError> {
        self.grants
            .borrow_mut()
            .insert(grant.id.clone(), grant.clone());
        if let Some(h) = refresh_hash {
            self.current
                .borrow_mut()
                .insert(h.to_string(), grant.id.clone());
        }
        Ok(())
    }

    fn find_by_refresh(&self, refresh_hash: &str, now: i64) -> Result<Option<Grant>, StoreError> {
        let Some(id) = self.current.borrow().get(refresh_hash).cloned() else {
            return Ok(None);
        };
        let grant = self.grants.borrow().get(&id).cloned();
        Ok(grant.filter(|g| self.live(g, now)))
    }

    fn rotate(
        &self,
        presented_hash: &str,
        new_hash: &str,
        _new_expires_at: i64,
        now: i64,
    ) -> Result<RotateOutcome, StoreError> {
        if let Some(grant) = self.find_by_refresh(presented_hash, now)? {
            self.current.borrow_mut().remove(presented_hash);
            self.current
                .borrow_mut()
                .insert(new_hash.to_string(), grant.id.clone());
            self.superseded
                .borrow_mut()
                .insert(presented_hash.to_string(), grant.id.clone());
            return Ok(RotateOutcome::Rotated(grant));
        }
        let reused = self.superseded.borrow().get(presented_hash).cloned();
        if let Some(id) = reused {
            let mut grants = self.grants.borrow_mut();
            if let Some(g) = grants.get_mut(&id).filter(|g| g.revoked_at.is_none()) {
                g.revoked_at = Some(now);
                return Ok(RotateOutcome::ReuseDetected(id));
            }
        }
        Ok(RotateOutcome::Invalid)
    }

    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
        Ok(match self.grants.borrow_mut().get_mut(grant_id) {
            Some(g) => {
                g.revoked_at = Some(now);
                true
            }
            None => false,
        })
    }

    fn poll_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        _now: i64,
    ) -> Result<PollOutcome, StoreError> {
        let mut device = self.device.borrow_mut();
        let Some((owner, outcome)) = device.get_mut(device_code_hash) else {
            return Ok(PollOutcome::Invalid);
        };
        if owner != client_id {
            return Ok(PollOutcome::Invalid);
        }
        let answer = outcome.clone();
        if matches!(answer, PollOutcome::Approved(_)) {
            *outcome = PollOutcome::Invalid;
        }
        Ok(answer)
    }

    fn poll_ciba(
        &self,
        auth_req_id_hash: &str,
        client_id: &str,
        _now: i64,
    ) -> Result<CibaPollOutcome, StoreError> {
        let mut ciba = self.ciba.borrow_mut();
        let Some((owner, outcome)) = ciba.get_mut(auth_req_id_hash) else {
            return Ok(CibaPollOutcome::Invalid);
        };
        if owner != client_id {
            return Ok(CibaPollOutcome::Invalid);
        }
        let answer = outcome.clone();
        if matches!(answer, CibaPollOutcome::Approved(_)) {
            *outcome = CibaPollOutcome::Invalid;
        }
        Ok(answer)
    }

    fn record_access_token(
        &self,
        token: &AccessToken,
        jkt: Option<&str>,
    ) -> Result<(), StoreError> {
        if !self.grants.borrow().contains_key(&token.grant_id) {
            return Err(StoreError::NotFound);
        }
        self.access_tokens
            .borrow_mut()
            .insert(token.token_hash.clone(), token.clone());
        self.access_token_jkts
            .borrow_mut()
            .insert(token.token_hash.clone(), jkt.map(str::to_string));
        Ok(())
    }

    /// A nonce per minute: enough to tell fresh from stale in tests.
    fn dpop_nonce(&self, now: i64) -> Result<String, StoreError> {
        Ok(format!("nonce-{}", now / 60))
    }

    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError> {
        Ok(nonce == format!("nonce-{}", now / 60))
    }

    fn sign_jwt(
        &self,
        alg: &str,
        typ: Option<&str>,
        claims_json: &str,
    ) -> Result<String, StoreError> {
        let key = match alg {
            "ES256" => &self.es256,
            "RS256" => &self.rs256,
            _ => return Err(StoreError::Invalid(alg.into())),
        };
        jws::sign_compact(key, &key.kid(), typ, claims_json.as_bytes())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}
