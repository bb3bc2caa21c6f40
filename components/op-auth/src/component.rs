//! The thin Spin adapter: the request's parts, the variables, the WASI
//! clock, and [`Store`] over the `authrim:store` imports (op-store,
//! composed in as a component dependency).

use crate::config::Config;
use crate::endpoints;
use crate::jar::{self, Fetched, Wanted};
use crate::request::Request;
use crate::store::{self as s, Store, StoreResult};
use crate::Env;
use authrim_oauth::request_object::MAX_REQUEST_OBJECT_BYTES;
use authrim_protocol::OAuthError;
use authrim_spin::store as wit;
use authrim_spin::wasi_http::{self, read_request, send_response};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;
use std::time::{SystemTime, UNIX_EPOCH};

struct SpinStore;

/// Logs a store failure; the client sees a bare `server_error`.
fn fail(call: &str, e: wit::types::StoreError) -> OAuthError {
    crate::log(&format!("store {call}: {e:?}"));
    OAuthError::server_error()
}

fn session_from(x: wit::sessions::Session) -> s::Session {
    s::Session {
        id_hash: x.id_hash,
        sid: x.sid,
        user_id: x.user_id,
        auth_time: x.auth_time,
        acr: x.acr,
        amr: x.amr,
        created_at: x.created_at,
        expires_at: x.expires_at,
    }
}

fn user_from(x: wit::users::User) -> s::User {
    s::User {
        id: x.id,
        username: x.username,
        password_hash: x.password_hash,
        claims_json: x.claims_json,
        disabled: x.disabled,
    }
}

impl Store for SpinStore {
    fn client(&self, client_id: &str) -> StoreResult<Option<s::StoredClient>> {
        Ok(wit::clients::get(client_id)
            .map_err(|e| fail("clients.get", e))?
            .map(|c| s::StoredClient {
                client_id: c.client_id,
                secret_hash: c.secret_hash,
                metadata_json: c.metadata_json,
            }))
    }

    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> StoreResult<bool> {
        wit::clients::verify_secret_mac(client_id, alg, signing_input, mac)
            .map_err(|e| fail("clients.verify-secret-mac", e))
    }

    fn user(&self, id: &str) -> StoreResult<Option<s::User>> {
        Ok(wit::users::get(id)
            .map_err(|e| fail("users.get", e))?
            .map(user_from))
    }

    fn user_by_username(&self, username: &str) -> StoreResult<Option<s::User>> {
        Ok(wit::users::find_by_username(username)
            .map_err(|e| fail("users.find-by-username", e))?
            .map(user_from))
    }

    fn create_session(&self, x: &s::Session) -> StoreResult<()> {
        wit::sessions::create(&wit::sessions::Session {
            id_hash: x.id_hash.clone(),
            sid: x.sid.clone(),
            user_id: x.user_id.clone(),
            auth_time: x.auth_time,
            acr: x.acr.clone(),
            amr: x.amr.clone(),
            created_at: x.created_at,
            expires_at: x.expires_at,
            ended_at: None,
        })
        .map_err(|e| fail("sessions.create", e))
    }

    fn active_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<s::Session>> {
        Ok(wit::sessions::get_active(id_hash, now)
            .map_err(|e| fail("sessions.get-active", e))?
            .map(session_from))
    }

    fn active_session_by_sid(&self, sid: &str, now: i64) -> StoreResult<Option<s::Session>> {
        Ok(wit::sessions::get_active_by_sid(sid, now)
            .map_err(|e| fail("sessions.get-active-by-sid", e))?
            .map(session_from))
    }

    fn end_session(&self, id_hash: &str, now: i64) -> StoreResult<bool> {
        wit::sessions::end(id_hash, now).map_err(|e| fail("sessions.end", e))
    }

    fn put_code(&self, x: &s::AuthCode) -> StoreResult<()> {
        wit::codes::put(&wit::codes::AuthCode {
            code_hash: x.code_hash.clone(),
            client_id: x.client_id.clone(),
            user_id: x.user_id.clone(),
            sid: x.sid.clone(),
            redirect_uri: x.redirect_uri.clone(),
            scope: x.scope.clone(),
            nonce: x.nonce.clone(),
            code_challenge: x.code_challenge.clone(),
            code_challenge_method: x.code_challenge_method.clone(),
            grant_json: x.grant_json.clone(),
            expires_at: x.expires_at,
        })
        .map_err(|e| fail("codes.put", e))
    }

    fn create_grant(&self, g: &s::Grant) -> StoreResult<()> {
        let grant = wit::grants::Grant {
            id: g.id.clone(),
            client_id: g.client_id.clone(),
            user_id: Some(g.user_id.clone()),
            sid: g.sid.clone(),
            scope: g.scope.clone(),
            grant_json: g.grant_json.clone(),
            created_at: g.created_at,
            expires_at: g.expires_at,
            revoked_at: None,
        };
        wit::grants::create(&grant, None, g.expires_at).map_err(|e| fail("grants.create", e))
    }

    fn record_access_token(&self, t: &s::AccessToken) -> StoreResult<()> {
        wit::grants::record_access_token(&wit::grants::AccessToken {
            token_hash: t.token_hash.clone(),
            grant_id: t.grant_id.clone(),
            expires_at: t.expires_at,
        })
        .map_err(|e| fail("grants.record-access-token", e))
    }

    fn link_code_grant(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        wit::code_companions::link_grant(code_hash, grant_id)
            .map_err(|e| fail("code-companions.link-grant", e))
    }

    fn sign_jwt(&self, alg: &str, typ: &str, claims_json: &str) -> StoreResult<String> {
        wit::keys::sign_jwt(alg, Some(typ), claims_json).map_err(|e| fail("keys.sign-jwt", e))
    }

    fn one_time_put(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        expires_at: i64,
    ) -> StoreResult<()> {
        wit::one_time::put(namespace, key, value, expires_at).map_err(|e| fail("one-time.put", e))
    }

    fn one_time_peek(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        wit::one_time::peek(namespace, key, now).map_err(|e| fail("one-time.peek", e))
    }

    fn one_time_take(&self, namespace: &str, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        wit::one_time::take(namespace, key, now).map_err(|e| fail("one-time.take", e))
    }

    fn one_time_mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        wit::one_time::mark_used(namespace, key, expires_at, now)
            .map_err(|e| fail("one-time.mark-used", e))
    }

    fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<s::Consent>> {
        Ok(wit::consents::get(user_id, client_id)
            .map_err(|e| fail("consents.get", e))?
            .map(|c| s::Consent {
                user_id: c.user_id,
                client_id: c.client_id,
                scope: c.scope,
                claims_json: c.claims_json,
                granted_at: c.granted_at,
            }))
    }

    fn put_consent(&self, c: &s::Consent) -> StoreResult<()> {
        wit::consents::put(&wit::consents::Consent {
            user_id: c.user_id.clone(),
            client_id: c.client_id.clone(),
            scope: c.scope.clone(),
            claims_json: c.claims_json.clone(),
            granted_at: c.granted_at,
        })
        .map_err(|e| fail("consents.put", e))
    }

    fn rate_hit(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32> {
        wit::rate_limits::hit(bucket, window_seconds, now).map_err(|e| fail("rate-limits.hit", e))
    }

    fn rate_peek(&self, bucket: &str, window_seconds: i64, now: i64) -> StoreResult<u32> {
        wit::rate_limits::peek(bucket, window_seconds, now).map_err(|e| fail("rate-limits.peek", e))
    }

    fn rate_reset(&self, bucket: &str) -> StoreResult<()> {
        wit::rate_limits::reset(bucket).map_err(|e| fail("rate-limits.reset", e))
    }

    fn jwks(&self) -> StoreResult<String> {
        wit::keys::jwks().map_err(|e| fail("keys.jwks", e))
    }

    fn dpop_nonce(&self, now: i64) -> StoreResult<String> {
        wit::dpop::nonce(now).map_err(|e| fail("dpop.nonce", e))
    }

    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> StoreResult<bool> {
        wit::dpop::check_nonce(nonce, now).map_err(|e| fail("dpop.check-nonce", e))
    }

    fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
        // The endpoint logic is synchronous: block on this one request
        // (nothing else of this handler is in flight while it runs).
        spin_sdk::http::run(wasi_http::get_jwks(uri))
    }

    fn agree(&self, kid: Option<&str>, x: &[u8; 32], y: &[u8; 32]) -> StoreResult<Option<Vec<u8>>> {
        match wit::encryption_keys::agree(kid, x, y) {
            Ok(z) => Ok(Some(z)),
            Err(wit::types::StoreError::Invalid(_)) => Ok(None),
            Err(e) => Err(fail("encryption-keys.agree", e)),
        }
    }
}

fn config() -> Result<Config, OAuthError> {
    Config::from_variables(|name| spin_sdk::variables::get(name).ok()).map_err(|e| {
        crate::log(&e);
        OAuthError::server_error()
    })
}

/// GETs what `jar::wanted` named. Only hosts in op-auth's
/// `allowed_outbound_hosts` (spin.toml; none by default) are reachable;
/// timeouts are the host's.
async fn fetch(wanted: &Wanted) -> Fetched {
    let mut fetched = Fetched::default();
    if let Some(uri) = &wanted.jwks_uri {
        fetched.jwks = Some(wasi_http::get_jwks(uri).await);
    }
    if let Some(uri) = &wanted.request_uri {
        let accept = "application/oauth-authz-req+jwt, application/jwt";
        fetched.request_object =
            Some(wasi_http::get_https_url(uri, accept, MAX_REQUEST_OBJECT_BYTES).await);
    }
    fetched
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

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
                dpop: raw.dpop.as_deref(),
                body: &raw.body,
            };
            let now = now();
            let nothing = Fetched::default();
            let env = Env {
                store: &SpinStore,
                config: &config,
                now,
                fetched: &nothing,
            };
            match jar::wanted(&env, &request) {
                Ok(wanted) => {
                    let fetched = fetch(&wanted).await;
                    endpoints::handle(
                        &Env {
                            fetched: &fetched,
                            ..env
                        },
                        &request,
                    )
                }
                Err(e) => crate::html::error_page(&e),
            }
        }
        (Err(e), _) | (_, Err(e)) => crate::html::error_page(&e),
    };
    send_response(out, resp);
}
