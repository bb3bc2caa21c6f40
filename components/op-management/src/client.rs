//! Client authentication at `/introspect` and `/revoke` (RFC 7662 §2.1,
//! RFC 7009 §2.1): every method of RFC 6749 §2.3, RFC 7523 and OIDC Core §9.
//!
//! `authrim_oauth::client_lookup` does the work (shared with op-token and
//! op-async); this module adapts op-management's [`Store`] to its
//! [`ClientLookup`] trait and refuses public clients where an endpoint
//! serves confidential clients only. Keys of `private_key_jwt` clients
//! come from their registered `jwks`, or from their `jwks_uri`, fetched on
//! each use; only hosts in op-management's `allowed_outbound_hosts` are
//! reachable, any other fetch fails and the client is refused.

use authrim_oauth::client_auth::{AssertionRules, ClientCredentials};
use authrim_oauth::client_lookup::{self, ClientLookup, StoredClient, FAILED};
use authrim_oauth::client_metadata::AuthMethod;
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

pub use authrim_oauth::client_lookup::{split_https_uri, AuthenticatedClient as Client};

use crate::env::Env;
use crate::store::{fault, Store};

/// Which clients an endpoint serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Confidential clients only (introspection).
    Confidential,
    /// Public clients too, identified by `client_id` (revocation of their
    /// own tokens, RFC 7009 §5).
    AnyClient,
}

/// [`ClientLookup`] over op-management's store.
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
                eprintln!("op-management: store clients.verify-secret-mac: {e:?}");
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
        eprintln!("op-management: {message}");
    }
}

/// Authenticates the client of a request to the endpoint at `path`.
pub async fn authenticate<S: Store>(
    authorization: Option<&str>,
    params: &Params,
    accept: Accept,
    path: &str,
    store: &S,
    env: &Env,
) -> Result<Client, OAuthError> {
    let credentials = ClientCredentials::extract(authorization, params)?;
    if accept == Accept::Confidential && credentials.method() == AuthMethod::None {
        // Answered before any lookup: a bare client_id proves nothing.
        return Err(credentials.error(FAILED));
    }
    let rules = AssertionRules::new(env.assertion_audiences(path));
    client_lookup::authenticate(credentials, &Lookup(store), &rules, env.now).await
}
