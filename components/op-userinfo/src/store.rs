//! What UserInfo needs from op-store: the live grant of an access token
//! (`grants.check-access-token`: unexpired, unrevoked, user enabled, session
//! active) and the user's claims; for clients that registered signed or
//! encrypted UserInfo responses (OIDC Registration §2), the client, an OP
//! signature (`keys.sign-jwt`), the issuer, and for a `jwks_uri` one
//! outbound HTTP GET.

use std::future::Future;

use authrim_protocol::OAuthError;
pub use authrim_spin::store::clients::Client;
pub use authrim_spin::store::dpop::BoundGrant;
pub use authrim_spin::store::grants::Grant;
pub use authrim_spin::store::types::StoreError;
pub use authrim_spin::store::users::User;

pub trait Store {
    /// `dpop.check-access-token`: the live grant and the token's DPoP key.
    fn check_access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<BoundGrant>, StoreError>;
    fn user(&self, id: &str) -> Result<Option<User>, StoreError>;
    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    /// `keys.sign-jwt`.
    fn sign_jwt(
        &self,
        alg: &str,
        typ: Option<&str>,
        claims_json: &str,
    ) -> Result<String, StoreError>;
    /// The issuer identifier (the `issuer` variable).
    fn issuer(&self) -> Result<String, OAuthError>;
    /// GETs a client's `jwks_uri`; the error is for the log.
    fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>>;
    /// `one-time.mark-used`: true for the first use.
    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// `dpop.nonce`.
    fn dpop_nonce(&self, now: i64) -> Result<String, StoreError>;
    /// `dpop.check-nonce`.
    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError>;
}

/// A store failure: logged, answered as `server_error`.
pub fn fault(doing: &'static str) -> impl FnOnce(StoreError) -> OAuthError {
    move |e| {
        eprintln!("op-userinfo: store {doing}: {e:?}");
        OAuthError::server_error()
    }
}

/// A server-side fault that is not a store error: logged, `server_error`.
pub fn internal(what: impl std::fmt::Display) -> OAuthError {
    eprintln!("op-userinfo: {what}");
    OAuthError::server_error()
}
