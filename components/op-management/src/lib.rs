//! op-management: dynamic client registration (`POST /register`, RFC 7591)
//! and the client configuration endpoint (`/register/{client_id}`,
//! RFC 7592), token introspection (`POST /introspect`, RFC 7662) and token
//! revocation (`POST /revoke`, RFC 7009).
//!
//! The endpoint logic is free of I/O (`endpoint`, `registration`,
//! `introspection`, `revocation`, `tokens`, `client`) and reaches op-store
//! through the [`store::Store`] trait; the wasm32 adapter below implements
//! it over the imported store interfaces and Spin's outbound HTTP. Spin
//! variables: `issuer`, `registration_mode` (`open` or `token`, default
//! `token`) and `initial_access_token` (secret). See README.md.

pub mod client;
pub mod endpoint;
pub mod env;
pub mod introspection;
pub mod registration;
pub mod revocation;
pub mod store;
pub mod tokens;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

/// RFC 7591 registration endpoint; `{REGISTRATION_PATH}/{client_id}` is
/// the RFC 7592 client configuration endpoint.
pub const REGISTRATION_PATH: &str = "/register";
pub const INTROSPECTION_PATH: &str = "/introspect";
pub const REVOCATION_PATH: &str = "/revoke";

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::endpoint::{self, Request};
    use crate::env::{Env, Registration};
    use crate::store::{Client, Grant, Store, StoreError};
    use authrim_protocol::{Issuer, OAuthError};
    use authrim_spin::store::{clients, grants, one_time, sessions};
    use authrim_spin::wasi_http::{self, read_request, send_response};
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    /// The raw wasi:http handler (see `authrim_spin::wasi_http`): spin-sdk's
    /// `Request`/`Response` conversions would put this component over its
    /// size budget.
    #[http_component]
    async fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let response = match read_request(req).await {
            Ok(raw) => {
                let request = Request {
                    method: &raw.method,
                    path: &raw.path,
                    content_type: raw.content_type.as_deref(),
                    authorization: raw.authorization.as_deref(),
                    body: &raw.body,
                };
                endpoint::respond(&request, &SpinStore, load_env).await
            }
            Err(e) => endpoint::error_response(&e),
        };
        send_response(out, response);
    }

    /// A variable's value; `None` when the component does not declare it.
    fn variable(name: &str) -> Result<Option<String>, OAuthError> {
        use spin_sdk::variables::Error;
        match spin_sdk::variables::get(name) {
            Ok(v) => Ok(Some(v)),
            Err(Error::Undefined(_)) => Ok(None),
            Err(e) => {
                eprintln!("op-management: variable `{name}`: {e}");
                Err(OAuthError::server_error())
            }
        }
    }

    fn load_env() -> Result<Env, OAuthError> {
        let raw = variable("issuer")?.unwrap_or_default();
        let issuer = Issuer::parse(&raw).map_err(|e| {
            eprintln!("op-management: {e}");
            OAuthError::server_error()
        })?;
        let registration = Registration::from_variables(
            variable("registration_mode")?.as_deref(),
            variable("initial_access_token")?.as_deref(),
        )
        .map_err(|e| {
            eprintln!("op-management: {e}");
            OAuthError::server_error()
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| OAuthError::server_error())?;
        Ok(Env {
            issuer,
            now,
            registration,
        })
    }

    struct SpinStore;

    impl authrim_spin::client_records::ClientRecords for SpinStore {
        fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
            clients::get(client_id)
        }

        fn verify_secret_mac(
            &self,
            client_id: &str,
            alg: &str,
            signing_input: &[u8],
            mac: &[u8],
        ) -> Result<bool, StoreError> {
            clients::verify_secret_mac(client_id, alg, signing_input, mac)
        }

        fn mark_used(
            &self,
            namespace: &str,
            key: &str,
            expires_at: i64,
            now: i64,
        ) -> Result<bool, StoreError> {
            one_time::mark_used(namespace, key, expires_at, now)
        }

        async fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
            wasi_http::get_jwks(uri).await
        }
    }

    impl Store for SpinStore {
        fn create_client(&self, client: &Client) -> Result<(), StoreError> {
            clients::create(client)
        }

        fn update_client(&self, client: &Client) -> Result<(), StoreError> {
            clients::update(client)
        }

        fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
            clients::delete(client_id)
        }

        fn set_secret(
            &self,
            client_id: &str,
            secret: &str,
            keep_for_mac: bool,
        ) -> Result<(), StoreError> {
            clients::set_secret(client_id, secret, keep_for_mac)
        }

        fn check_access_token(
            &self,
            token_hash: &str,
            now: i64,
        ) -> Result<Option<Grant>, StoreError> {
            grants::check_access_token(token_hash, now)
        }

        fn find_by_refresh(
            &self,
            refresh_hash: &str,
            now: i64,
        ) -> Result<Option<Grant>, StoreError> {
            grants::find_by_refresh(refresh_hash, now)
        }

        fn session_active(&self, sid: &str, now: i64) -> Result<bool, StoreError> {
            sessions::get_active_by_sid(sid, now).map(|s| s.is_some())
        }

        fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
            grants::revoke(grant_id, now)
        }

        fn revoke_access_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
            grants::revoke_access_token(token_hash, now)
        }
    }
}
