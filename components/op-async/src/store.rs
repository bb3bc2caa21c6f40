//! What op-async needs from op-store (the records are those of
//! `wit/store.wit`) and, for `private_key_jwt` clients with a `jwks_uri`,
//! one outbound HTTP GET. The component implements it over its imports;
//! the unit tests over memory. Failures are logged by the caller and
//! answered as `server_error`.

pub use authrim_spin::client_records::ClientRecords;
use std::future::Future;

use authrim_protocol::OAuthError;
pub use authrim_spin::store::ciba_requests::{CibaApproval, CibaRequest};
pub use authrim_spin::store::clients::Client;
pub use authrim_spin::store::device_grants::{DeviceApproval, DeviceRequest};
pub use authrim_spin::store::sessions::Session;
pub use authrim_spin::store::trusted_issuers::{SubjectMapping, TrustedIssuer};
pub use authrim_spin::store::types::StoreError;
pub use authrim_spin::store::users::User;

pub trait Store: ClientRecords {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// `sessions.get-active`.
    fn active_session(&self, id_hash: &str, now: i64) -> Result<Option<Session>, StoreError>;
    /// `rate-limits.hit`.
    fn rate_hit(&self, bucket: &str, window_seconds: i64, now: i64) -> Result<u32, StoreError>;
    /// `device-grants.*`.
    fn create_device(&self, r: &DeviceRequest, now: i64) -> Result<(), StoreError>;
    fn find_device(&self, user_code: &str, now: i64) -> Result<Option<DeviceRequest>, StoreError>;
    fn approve_device(
        &self,
        user_code: &str,
        approval: &DeviceApproval,
        now: i64,
    ) -> Result<bool, StoreError>;
    fn deny_device(&self, user_code: &str, now: i64) -> Result<bool, StoreError>;
    /// POSTs through Spin's outbound HTTP (the CIBA webhook and client
    /// callbacks; op-token through local service chaining): the response
    /// status and body (at most `max_response` bytes), or an error for the
    /// log.
    fn post(
        &self,
        https: bool,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_response: usize,
    ) -> impl Future<Output = Result<(u16, Vec<u8>), String>>;
    /// `users.find-by-username`.
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// `keys.jwks`: our published JWK Set (to verify an `id_token_hint`).
    fn jwks(&self) -> Result<String, StoreError>;
    /// `ciba-requests.*`.
    fn create_ciba(&self, r: &CibaRequest, now: i64) -> Result<(), StoreError>;
    fn pending_ciba(&self, user_id: &str, now: i64) -> Result<Vec<CibaRequest>, StoreError>;
    fn approve_ciba(
        &self,
        auth_req_id_hash: &str,
        user_id: &str,
        approval: &CibaApproval,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError>;
    fn deny_ciba(
        &self,
        auth_req_id_hash: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError>;
    /// `trusted-issuers.get` (issuers of `login_hint_token`s).
    fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError>;
    /// `user-codes.get`: the user's CIBA user code hash.
    fn user_code(&self, user_id: &str) -> Result<Option<String>, StoreError>;
    /// `rate-limits.reset`.
    fn rate_reset(&self, bucket: &str) -> Result<(), StoreError>;
}

/// A store failure: logged with what was being done, answered as
/// `server_error` (whose description the client never sees).
pub fn fault(doing: &'static str) -> impl FnOnce(StoreError) -> OAuthError {
    move |e| {
        crate::log(&format!("store {doing}: {e:?}"));
        OAuthError::server_error()
    }
}
