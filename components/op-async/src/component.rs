//! The thin Spin adapter: the request's parts, the variables, the WASI
//! clock, and [`Store`] over the `authrim:store` imports (op-store,
//! composed in as a component dependency).

use crate::config::Config;
use crate::request::Request;
use crate::store::{
    CibaApproval, CibaRequest, Client, DeviceApproval, DeviceRequest, Session, Store, StoreError,
    TrustedIssuer, User,
};
use crate::Env;
use authrim_protocol::OAuthError;
use authrim_spin::store::{
    ciba_requests, clients, device_grants, keys, one_time, rate_limits, sessions, trusted_issuers,
    user_codes, users,
};
use authrim_spin::wasi_http::{self, read_request, send_response};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;
use std::time::{SystemTime, UNIX_EPOCH};

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

    fn active_session(&self, id_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        sessions::get_active(id_hash, now)
    }

    fn rate_hit(&self, bucket: &str, window_seconds: i64, now: i64) -> Result<u32, StoreError> {
        rate_limits::hit(bucket, window_seconds, now)
    }

    fn create_device(&self, r: &DeviceRequest, now: i64) -> Result<(), StoreError> {
        device_grants::create(r, now)
    }

    fn find_device(&self, user_code: &str, now: i64) -> Result<Option<DeviceRequest>, StoreError> {
        device_grants::find_by_user_code(user_code, now)
    }

    fn approve_device(
        &self,
        user_code: &str,
        approval: &DeviceApproval,
        now: i64,
    ) -> Result<bool, StoreError> {
        device_grants::approve(user_code, approval, now)
    }

    fn deny_device(&self, user_code: &str, now: i64) -> Result<bool, StoreError> {
        device_grants::deny(user_code, now)
    }

    async fn post(
        &self,
        https: bool,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_response: usize,
    ) -> Result<(u16, Vec<u8>), String> {
        // Fails unless op-async's `allowed_outbound_hosts` lists the host.
        wasi_http::post(https, authority, path, headers, body, max_response).await
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        users::find_by_username(username)
    }

    fn jwks(&self) -> Result<String, StoreError> {
        keys::jwks()
    }

    fn create_ciba(&self, r: &CibaRequest, now: i64) -> Result<(), StoreError> {
        ciba_requests::create(r, now)
    }

    fn pending_ciba(&self, user_id: &str, now: i64) -> Result<Vec<CibaRequest>, StoreError> {
        ciba_requests::list_pending(user_id, now)
    }

    fn approve_ciba(
        &self,
        auth_req_id_hash: &str,
        user_id: &str,
        approval: &CibaApproval,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        ciba_requests::approve(auth_req_id_hash, user_id, approval, now)
    }

    fn deny_ciba(
        &self,
        auth_req_id_hash: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<CibaRequest>, StoreError> {
        ciba_requests::deny(auth_req_id_hash, user_id, now)
    }

    fn trusted_issuer(&self, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
        trusted_issuers::get(issuer)
    }

    fn user_code(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        user_codes::get(user_id)
    }

    fn rate_reset(&self, bucket: &str) -> Result<(), StoreError> {
        rate_limits::reset(bucket)
    }
}

fn config() -> Result<Config, OAuthError> {
    Config::from_variables(|name| spin_sdk::variables::get(name).ok()).map_err(|e| {
        crate::log(&e);
        OAuthError::server_error()
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The raw wasi:http handler (`authrim_spin::wasi_http`), as the other
/// components use, to keep spin-sdk's HTTP conversions out of the binary.
#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let resp = match (read_request(req).await, config()) {
        (Ok(raw), Ok(config)) => {
            let request = Request {
                method: &raw.method,
                path: &raw.path,
                query: &raw.query,
                content_type: raw.content_type.as_deref(),
                cookie: raw.cookie.as_deref(),
                authorization: raw.authorization.as_deref(),
                client_addr: raw.client_addr.as_deref(),
                body: &raw.body,
            };
            let env = Env {
                store: &SpinStore,
                config: &config,
                now: now(),
            };
            crate::handle(&env, &request).await
        }
        (Err(e), _) | (_, Err(e)) => e.to_response(),
    };
    send_response(out, resp);
}
