//! op-token: `POST /token` (RFC 6749 §3.2) with the `authorization_code`,
//! `refresh_token`, `client_credentials`, device code (RFC 8628), JWT
//! bearer (RFC 7523 §2.1) and CIBA (poll and ping) grants, client
//! authentication by `client_secret_basic`, `client_secret_post`,
//! `client_secret_jwt`, `private_key_jwt` and `none`, RFC 9068 JWT access
//! tokens and OIDC ID Tokens; and, for op-async through Spin's local
//! service chaining, CIBA push mode's token responses (`chained`).
//!
//! The endpoint logic is free of I/O (`endpoint`, `client`, `grants/*`,
//! `issue`) and reaches op-store through the [`store::Store`] trait; the
//! wasm32 adapter below implements it over the imported store interfaces
//! and Spin's outbound HTTP. Spin variables: `issuer`, `access_token_ttl`,
//! `id_token_ttl`, `refresh_token_ttl` (seconds; see `env` for defaults).

pub mod chained;
pub mod client;
pub mod dpop;
pub mod endpoint;
pub mod env;
pub mod grants;
pub mod issue;
pub mod store;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

/// The route of the endpoint.
pub const TOKEN_PATH: &str = "/token";

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::chained;
    use crate::endpoint::{self, Request};
    use crate::env::{self, Env};
    use crate::store::{
        AccessToken, CibaPollOutcome, Client, Grant, PollOutcome, RedeemOutcome, RotateOutcome,
        Store, StoreError, TrustedIssuer, User,
    };
    use authrim_protocol::{Issuer, OAuthError};
    use authrim_spin::store::{
        ciba_requests, clients, codes, device_grants, dpop, grants, keys, one_time, sessions,
        trusted_issuers, users,
    };
    use authrim_spin::wasi_http;
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    /// The raw wasi:http handler (`authrim_spin::wasi_http`): spin-sdk's
    /// `Request`/`Response` conversions would cost about 100 KB of this
    /// component's 500 KB budget.
    #[http_component]
    async fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let response = match wasi_http::read_request(req).await {
            Ok(raw) => {
                let request = Request {
                    method: &raw.method,
                    content_type: raw.content_type.as_deref(),
                    authorization: raw.authorization.as_deref(),
                    dpop: raw.dpop.as_deref(),
                    body: &raw.body,
                };
                if chained::is_chained(raw.authority.as_deref(), &raw.path) {
                    chained::respond(&request, &SpinStore, load_env).await
                } else {
                    endpoint::respond(&request, &SpinStore, load_env).await
                }
            }
            Err(e) => endpoint::error_response(e),
        };
        wasi_http::send_response(out, response);
    }

    fn load_env() -> Result<Env, OAuthError> {
        let raw = spin_sdk::variables::get("issuer").map_err(|e| {
            eprintln!("op-token: variable `issuer`: {e}");
            OAuthError::server_error()
        })?;
        let issuer = Issuer::parse(&raw).map_err(|e| {
            eprintln!("op-token: {e}");
            OAuthError::server_error()
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .map_err(|_| OAuthError::server_error())?;
        Ok(Env {
            issuer,
            now,
            access_token_ttl: ttl("access_token_ttl", env::DEFAULT_ACCESS_TOKEN_TTL)?,
            id_token_ttl: ttl("id_token_ttl", env::DEFAULT_ID_TOKEN_TTL)?,
            refresh_token_ttl: ttl("refresh_token_ttl", env::DEFAULT_REFRESH_TOKEN_TTL)?,
            dpop_require_nonce: flag("dpop_require_nonce")?,
        })
    }

    /// A boolean variable; false when the component does not declare it.
    fn flag(name: &str) -> Result<bool, OAuthError> {
        use spin_sdk::variables::Error;
        match spin_sdk::variables::get(name) {
            Ok(raw) => match raw.trim() {
                "true" => Ok(true),
                "false" | "" => Ok(false),
                _ => {
                    eprintln!("op-token: variable `{name}` must be true or false");
                    Err(OAuthError::server_error())
                }
            },
            Err(Error::Undefined(_)) => Ok(false),
            Err(e) => {
                eprintln!("op-token: variable `{name}`: {e}");
                Err(OAuthError::server_error())
            }
        }
    }

    /// A lifetime variable; its default when the component does not declare it.
    fn ttl(name: &str, default: i64) -> Result<i64, OAuthError> {
        use spin_sdk::variables::Error;
        match spin_sdk::variables::get(name) {
            Ok(raw) => env::parse_ttl(&raw).ok_or_else(|| {
                eprintln!("op-token: variable `{name}` must be a positive number of seconds");
                OAuthError::server_error()
            }),
            Err(Error::Undefined(_)) => Ok(default),
            Err(e) => {
                eprintln!("op-token: variable `{name}`: {e}");
                Err(OAuthError::server_error())
            }
        }
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
        fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
            users::get(id)
        }

        fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
            users::find_by_username(username)
        }

        fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
            trusted_issuers::get(issuer)
        }

        fn session_active(&self, sid: &str, now: i64) -> Result<bool, StoreError> {
            sessions::get_active_by_sid(sid, now).map(|s| s.is_some())
        }

        fn redeem_code(&self, code_hash: &str, now: i64) -> Result<RedeemOutcome, StoreError> {
            codes::redeem(code_hash, now)
        }

        fn attach_grant(&self, code_hash: &str, grant_id: &str) -> Result<(), StoreError> {
            codes::attach_grant(code_hash, grant_id)
        }

        fn create_grant(
            &self,
            grant: &Grant,
            refresh_hash: Option<&str>,
            refresh_expires_at: i64,
        ) -> Result<(), StoreError> {
            grants::create(grant, refresh_hash, refresh_expires_at)
        }

        fn find_by_refresh(
            &self,
            refresh_hash: &str,
            now: i64,
        ) -> Result<Option<Grant>, StoreError> {
            grants::find_by_refresh(refresh_hash, now)
        }

        fn rotate(
            &self,
            presented_hash: &str,
            new_hash: &str,
            new_expires_at: i64,
            now: i64,
        ) -> Result<RotateOutcome, StoreError> {
            grants::rotate(presented_hash, new_hash, new_expires_at, now)
        }

        fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
            grants::revoke(grant_id, now)
        }

        fn poll_device(
            &self,
            device_code_hash: &str,
            client_id: &str,
            now: i64,
        ) -> Result<PollOutcome, StoreError> {
            device_grants::poll(device_code_hash, client_id, now)
        }

        fn poll_ciba(
            &self,
            auth_req_id_hash: &str,
            client_id: &str,
            now: i64,
        ) -> Result<CibaPollOutcome, StoreError> {
            ciba_requests::poll(auth_req_id_hash, client_id, now)
        }

        fn record_access_token(
            &self,
            token: &AccessToken,
            jkt: Option<&str>,
        ) -> Result<(), StoreError> {
            dpop::record_access_token(token, jkt)
        }

        fn dpop_nonce(&self, now: i64) -> Result<String, StoreError> {
            dpop::nonce(now)
        }

        fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError> {
            dpop::check_nonce(nonce, now)
        }

        fn sign_jwt(
            &self,
            alg: &str,
            typ: Option<&str>,
            claims_json: &str,
        ) -> Result<String, StoreError> {
            keys::sign_jwt(alg, typ, claims_json)
        }
    }
}
