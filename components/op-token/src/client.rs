//! Step 2 of the token endpoint: who is the client?
//!
//! `authrim_oauth::client_lookup` does the work (shared with op-management
//! and op-async); this module adapts op-token's [`Store`] to its
//! [`ClientLookup`] trait. Keys of `private_key_jwt` clients that registered
//! a `jwks_uri` are fetched on each use; outbound requests only reach hosts
//! listed in op-token's `allowed_outbound_hosts` (spin.toml), for any other
//! host the fetch fails and the client is refused with `invalid_client`.

use authrim_jose::Jwks;
use authrim_oauth::client_auth::AssertionRules;
use authrim_oauth::client_lookup::{self, ClientLookup, StoredClient};
use authrim_oauth::encryption;
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

pub use authrim_oauth::client_lookup::{split_https_uri, AuthenticatedClient as Client};

use crate::env::Env;
use crate::store::{fault, Store};

/// [`ClientLookup`] over op-token's store.
pub struct Lookup<'a, S>(pub &'a S);

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
                eprintln!("op-token: store clients.verify-secret-mac: {e:?}");
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
        eprintln!("op-token: {message}");
    }
}

/// Authenticates the client of a token request.
pub async fn authenticate<S: Store>(
    authorization: Option<&str>,
    params: &Params,
    store: &S,
    env: &Env,
) -> Result<Client, OAuthError> {
    let rules = AssertionRules::new(env.assertion_audiences());
    client_lookup::authenticate_request(authorization, params, &Lookup(store), &rules, env.now)
        .await
}

/// The keys to encrypt the client's ID Tokens to, when it registered
/// `id_token_encrypted_response_alg`: checked before a code is redeemed,
/// so that a client without a fitting key loses nothing. A `jwks_uri`
/// that cannot be fetched counts as holding no key (the reason is logged).
pub async fn id_token_keys<S: Store>(
    client: &Client,
    store: &S,
) -> Result<Option<Jwks>, OAuthError> {
    let Some((alg, _)) = client.metadata.id_token_encryption() else {
        return Ok(None);
    };
    let missing = || encryption::no_key("id_token_encrypted_response_alg", alg);
    let keys = client_lookup::client_keys(&client.metadata, &client.id, &Lookup(store))
        .await
        .map_err(|why| {
            eprintln!("op-token: client {}: encryption keys: {why}", client.id);
            missing()
        })?;
    if keys.select_encryption(alg).is_none() {
        return Err(missing());
    }
    Ok(Some(keys))
}
