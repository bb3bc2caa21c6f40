//! op-userinfo: `GET`/`POST /userinfo` (OIDC Core §5.3) with RFC 6750
//! bearer tokens.
//!
//! It verifies no signature and links no RSA code: op-store recognises the
//! access token by its hash and checks its grant, user and session on every
//! call, so a revoked token or an ended session is refused on the very next
//! request. The endpoint logic (`endpoint`, `bearer`) is free of I/O; the
//! wasm32 adapter below supplies op-store and the clock.

pub mod bearer;
pub mod dpop;
pub mod endpoint;
pub mod store;

#[cfg(test)]
mod tests;

/// The route of the endpoint.
pub const USERINFO_PATH: &str = "/userinfo";

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::endpoint::Env;
    use crate::endpoint::{self, Request};
    use crate::store::{BoundGrant, Client, Store, StoreError, User};
    use authrim_protocol::{Issuer, OAuthError};
    use authrim_spin::store::{clients, dpop, keys, one_time, users};
    use authrim_spin::wasi_http;
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    struct SpinStore;

    impl Store for SpinStore {
        fn check_access_token(
            &self,
            token_hash: &str,
            now: i64,
        ) -> Result<Option<BoundGrant>, StoreError> {
            dpop::check_access_token(token_hash, now)
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

        fn dpop_nonce(&self, now: i64) -> Result<String, StoreError> {
            dpop::nonce(now)
        }

        fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError> {
            dpop::check_nonce(nonce, now)
        }

        fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
            users::get(id)
        }

        fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
            clients::get(client_id)
        }

        fn sign_jwt(
            &self,
            alg: &str,
            typ: Option<&str>,
            claims_json: &str,
        ) -> Result<String, StoreError> {
            keys::sign_jwt(alg, typ, claims_json)
        }

        fn issuer(&self) -> Result<String, OAuthError> {
            let raw = spin_sdk::variables::get("issuer").map_err(|e| {
                eprintln!("op-userinfo: variable `issuer`: {e}");
                OAuthError::server_error()
            })?;
            Issuer::parse(&raw)
                .map(|i| i.as_str().to_string())
                .map_err(|e| {
                    eprintln!("op-userinfo: {e}");
                    OAuthError::server_error()
                })
        }

        async fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
            wasi_http::get_jwks(uri).await
        }
    }

    fn env() -> Result<Env, OAuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .map_err(|_| OAuthError::server_error())?;
        let issuer = spin_sdk::variables::get("issuer")
            .ok()
            .and_then(|raw| Issuer::parse(&raw).ok())
            .ok_or_else(|| {
                eprintln!("op-userinfo: variable `issuer` is missing or invalid");
                OAuthError::server_error()
            })?;
        let dpop_require_nonce = match spin_sdk::variables::get("dpop_require_nonce") {
            Ok(v) => v.trim() == "true",
            Err(_) => false,
        };
        Ok(Env {
            now,
            uri: issuer.endpoint(crate::USERINFO_PATH),
            dpop_require_nonce,
        })
    }

    /// The raw wasi:http handler (`authrim_spin::wasi_http`): it keeps
    /// spin-sdk's `Request`/`Response` conversions out of this component.
    #[http_component]
    async fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let response = match wasi_http::read_request(req).await {
            Ok(raw) => {
                let request = Request {
                    method: &raw.method,
                    authorization: raw.authorization.as_deref(),
                    content_type: raw.content_type.as_deref(),
                    query: &raw.query,
                    dpop: raw.dpop.as_deref(),
                    body: &raw.body,
                };
                endpoint::respond(&request, &SpinStore, env).await
            }
            Err(e) => endpoint::error_response(e),
        };
        wasi_http::send_response(out, response);
    }
}
