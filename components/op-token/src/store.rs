//! What the token endpoint needs from the outside world: op-store's
//! interfaces (the records are those of `wit/store.wit`) and, for
//! `private_key_jwt` clients that registered a `jwks_uri`, one outbound
//! HTTP GET. The component implements this over its imports; the unit
//! tests over memory.

pub use authrim_spin::client_records::ClientRecords;

use authrim_protocol::OAuthError;
pub use authrim_spin::store::ciba_requests::{CibaApproval, CibaPollOutcome, CibaRequest};
pub use authrim_spin::store::clients::Client;
pub use authrim_spin::store::codes::{AuthCode, RedeemOutcome};
pub use authrim_spin::store::device_grants::{DeviceApproval, DeviceRequest, PollOutcome};
pub use authrim_spin::store::grants::{AccessToken, Grant, RotateOutcome};
pub use authrim_spin::store::trusted_issuers::{SubjectMapping, TrustedIssuer};
pub use authrim_spin::store::types::StoreError;
pub use authrim_spin::store::users::User;

pub trait Store: ClientRecords {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// `users.find-by-username`.
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// `trusted-issuers.get`: an issuer of JWT bearer assertions.
    fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError>;
    /// Whether the session with this public `sid` is active at `now`.
    fn session_active(&self, sid: &str, now: i64) -> Result<bool, StoreError>;
    fn redeem_code(&self, code_hash: &str, now: i64) -> Result<RedeemOutcome, StoreError>;
    fn attach_grant(&self, code_hash: &str, grant_id: &str) -> Result<(), StoreError>;
    fn create_grant(
        &self,
        grant: &Grant,
        refresh_hash: Option<&str>,
        refresh_expires_at: i64,
    ) -> Result<(), StoreError>;
    fn find_by_refresh(&self, refresh_hash: &str, now: i64) -> Result<Option<Grant>, StoreError>;
    fn rotate(
        &self,
        presented_hash: &str,
        new_hash: &str,
        new_expires_at: i64,
        now: i64,
    ) -> Result<RotateOutcome, StoreError>;
    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError>;
    /// `device-grants.poll`.
    fn poll_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<PollOutcome, StoreError>;
    /// `ciba-requests.poll`.
    fn poll_ciba(
        &self,
        auth_req_id_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<CibaPollOutcome, StoreError>;
    /// `dpop.record-access-token`: the token with the DPoP key it is bound to.
    fn record_access_token(&self, token: &AccessToken, jkt: Option<&str>)
        -> Result<(), StoreError>;
    /// `dpop.nonce`.
    fn dpop_nonce(&self, now: i64) -> Result<String, StoreError>;
    /// `dpop.check-nonce`.
    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError>;
    /// `keys.sign-jwt`.
    fn sign_jwt(
        &self,
        alg: &str,
        typ: Option<&str>,
        claims_json: &str,
    ) -> Result<String, StoreError>;
}

/// A store failure: logged with what was being done, answered as
/// `server_error` (whose description the client never sees).
pub fn fault(doing: &'static str) -> impl FnOnce(StoreError) -> OAuthError {
    move |e| {
        eprintln!("op-token: store {doing}: {e:?}");
        OAuthError::server_error()
    }
}

/// A server-side fault that is not a store error (e.g. a stored record we
/// cannot read): logged, answered as `server_error`.
pub fn internal(what: impl std::fmt::Display) -> OAuthError {
    eprintln!("op-token: {what}");
    OAuthError::server_error()
}
