//! What these endpoints need from the outside world: op-store's interfaces
//! (the records are those of `wit/store.wit`) and, for `private_key_jwt`
//! clients that registered a `jwks_uri`, one outbound HTTP GET. The
//! component implements this over its imports; the unit tests over memory.

pub use authrim_spin::client_records::ClientRecords;

use authrim_protocol::OAuthError;
pub use authrim_spin::store::clients::Client;
pub use authrim_spin::store::grants::Grant;
pub use authrim_spin::store::types::StoreError;

pub trait Store: ClientRecords {
    /// `clients.create`: `conflict` when the id is taken.
    fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// `clients.update`.
    fn update_client(&self, client: &Client) -> Result<(), StoreError>;
    /// `clients.delete`: true when it existed.
    fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
    /// `clients.set-secret`.
    fn set_secret(
        &self,
        client_id: &str,
        secret: &str,
        keep_for_mac: bool,
    ) -> Result<(), StoreError>;
    /// `grants.check-access-token`.
    fn check_access_token(&self, token_hash: &str, now: i64) -> Result<Option<Grant>, StoreError>;
    /// `grants.find-by-refresh`.
    fn find_by_refresh(&self, refresh_hash: &str, now: i64) -> Result<Option<Grant>, StoreError>;
    /// Whether the session with this public `sid` is active at `now`.
    fn session_active(&self, sid: &str, now: i64) -> Result<bool, StoreError>;
    /// `grants.revoke`: the family and its access tokens.
    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError>;
    /// `grants.revoke-access-token`.
    fn revoke_access_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError>;
}

/// A store failure: logged with what was being done, answered as
/// `server_error` (whose description the client never sees).
pub fn fault(doing: &'static str) -> impl FnOnce(StoreError) -> OAuthError {
    move |e| {
        eprintln!("op-management: store {doing}: {e:?}");
        OAuthError::server_error()
    }
}

/// A server-side fault that is not a store error (e.g. a stored record we
/// cannot read): logged, answered as `server_error`.
pub fn internal(what: impl std::fmt::Display) -> OAuthError {
    eprintln!("op-management: {what}");
    OAuthError::server_error()
}
