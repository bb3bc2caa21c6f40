//! The seam between the endpoint logic and op-store: the calls op-auth
//! makes, as a trait over plain values. The component implements it with
//! the `authrim:store` imports (`component.rs`); the unit tests with an
//! in-memory fake (`testing.rs`). Every failure of the store is already a
//! logged `server_error` by the time it reaches the logic.

use authrim_protocol::OAuthError;

pub type StoreResult<T> = Result<T, OAuthError>;

/// A registered client as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClient {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub metadata_json: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: Option<String>,
    /// Standard claims (OIDC Core §5.1) as a JSON object, for front-channel
    /// ID Tokens.
    pub claims_json: String,
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub grant_json: String,
    pub expires_at: i64,
}

/// A grant (`grants.grant`) for access tokens issued at the authorization
/// endpoint (implicit and hybrid flows): no refresh token, ends with the
/// session (`sid`) or its access tokens' lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: Option<String>,
    pub scope: String,
    pub grant_json: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `grants.access-token`: the hash by which op-userinfo, introspection and
/// revocation recognise an access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub token_hash: String,
    pub grant_id: String,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    /// Space-delimited scope values.
    pub scope: String,
    /// JSON array of claim names granted through the claims parameter.
    pub claims_json: String,
    pub granted_at: i64,
}

/// What op-auth asks of op-store (`wit/store.wit`).
pub trait Store {
    fn client(&self, client_id: &str) -> StoreResult<Option<StoredClient>>;
    /// `clients.verify-secret-mac` (client_secret_jwt at the PAR endpoint).
    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> StoreResult<bool>;

    fn user(&self, id: &str) -> StoreResult<Option<User>>;
    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;

    fn create_session(&self, session: &Session) -> StoreResult<()>;
    fn active_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>>;
    fn active_session_by_sid(&self, sid: &str, now: i64) -> StoreResult<Option<Session>>;
    fn end_session(&self, id_hash: &str, now: i64) -> StoreResult<bool>;

    fn put_code(&self, code: &AuthCode) -> StoreResult<()>;

    /// `grants.create` without a refresh token.
    fn create_grant(&self, grant: &Grant) -> StoreResult<()>;
    fn record_access_token(&self, token: &AccessToken) -> StoreResult<()>;
    /// `code-companions.link-grant`: the grant of the access token issued
    /// with the code, which a replay of the code revokes too.
    fn link_code_grant(&self, code_hash: &str, grant_id: &str) -> StoreResult<()>;
    /// `keys.sign-jwt`: a compact JWS over `claims_json`.
    fn sign_jwt(&self, alg: &str, typ: &str, claims_json: &str) -> StoreResult<String>;

    fn one_time_put(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        expires_at: i64,
    ) -> StoreResult<()>;
    fn one_time_peek(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>>;
    fn one_time_take(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>>;
    fn one_time_mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;

    fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>>;
    fn put_consent(&self, consent: &Consent) -> StoreResult<()>;

    fn rate_hit(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32>;
    fn rate_peek(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32>;
    fn rate_reset(&self, bucket: &str) -> StoreResult<()>;

    /// The published JWK Set (to check our own ID Tokens as hints).
    fn jwks(&self) -> StoreResult<String>;

    /// `dpop.nonce` and `dpop.check-nonce` (RFC 9449 §8), for proofs at PAR.
    fn dpop_nonce(&self, now: i64) -> StoreResult<String>;
    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> StoreResult<bool>;

    /// Not op-store, but the component's other outbound call: GETs a
    /// client's `jwks_uri` (to encrypt to it) through Spin's outbound HTTP,
    /// which reaches only op-auth's `allowed_outbound_hosts`. The error is
    /// for the log.
    fn fetch_jwks(&self, uri: &str) -> Result<String, String>;

    /// `encryption-keys.agree`: the ECDH shared secret of the OP's
    /// encryption key (`kid` when named) and a JWE's ephemeral point;
    /// `None` when the store refuses them as not its key (the client's
    /// mistake, not a fault).
    fn agree(&self, kid: Option<&str>, x: &[u8; 32], y: &[u8; 32]) -> StoreResult<Option<Vec<u8>>>;
}
