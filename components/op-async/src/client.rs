//! Client authentication at `/device_authorization` (RFC 8628 §3.1: "the
//! client MUST authenticate with the authorization server as described in
//! Section 3.2.1 of [RFC6749]" when it is confidential): the shared
//! `authrim_oauth::client_lookup`, over op-async's [`Store`].

use authrim_oauth::client_auth::AssertionRules;
use authrim_oauth::client_lookup::{self, AuthenticatedClient, ClientLookup, StoredClient};
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

use crate::store::{fault, Store};
use crate::Env;

struct Lookup<'a, S>(&'a S);

impl<S: Store> ClientLookup for Lookup<'_, S> {
    fn client(&self, client_id: &str) -> Result<Option<StoredClient>, OAuthError> {
        Ok(self
            .0
            .client(client_id)
            .map_err(fault("clients.get"))?
            .map(|c| StoredClient {
                metadata_json: c.metadata_json,
                secret_hash: c.secret_hash,
            }))
    }

    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> bool {
        self.0
            .verify_secret_mac(client_id, alg, signing_input, mac)
            .unwrap_or_else(|e| {
                crate::log(&format!("store clients.verify-secret-mac: {e:?}"));
                false
            })
    }

    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, OAuthError> {
        self.0
            .mark_used(namespace, key, expires_at, now)
            .map_err(fault("one-time.mark-used"))
    }

    async fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
        self.0.fetch_jwks(uri).await
    }

    fn log(&self, message: &str) {
        crate::log(message);
    }
}

/// Authenticates the client of a request to the endpoint at `path`; a
/// client assertion may name the issuer, the token endpoint or that
/// endpoint as its audience.
pub async fn authenticate<S: Store>(
    authorization: Option<&str>,
    params: &Params,
    path: &str,
    env: &Env<'_, S>,
) -> Result<AuthenticatedClient, OAuthError> {
    let issuer = &env.config.issuer;
    let rules = AssertionRules::new(vec![
        issuer.as_str().to_string(),
        issuer.endpoint("/token"),
        issuer.endpoint(path),
    ]);
    client_lookup::authenticate_request(authorization, params, &Lookup(env.store), &rules, env.now)
        .await
}
