//! Step 2 of the token endpoint: who is the client?
//!
//! `authrim_oauth::client_lookup` does the work (shared with op-management
//! and op-async); this module adapts op-token's [`Store`] to its
//! [`ClientLookup`] trait. Keys of `private_key_jwt` clients that registered
//! a `jwks_uri` are fetched on each use; outbound requests only reach hosts
//! listed in op-token's `allowed_outbound_hosts` (spin.toml), for any other
//! host the fetch fails and the client is refused with `invalid_client`.

use authrim_jose::Jwks;
use authrim_oauth::client_auth::{AssertionRules, ClientCredentials};
use authrim_oauth::client_lookup::{self, ClientLookup};
use authrim_oauth::client_metadata::{ClientId, ClientMetadata};
use authrim_oauth::encryption;
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

pub use authrim_oauth::client_lookup::AuthenticatedClient as Client;

use crate::env::Env;
use crate::store::Store;
use authrim_spin::client_records::Lookup;

/// The shared `ClientLookup` over this component's store.
pub fn lookup<S: Store>(store: &S) -> Lookup<'_, S> {
    Lookup {
        records: store,
        log: |message| eprintln!("op-token: {message}"),
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
    client_lookup::authenticate_request(authorization, params, &lookup(store), &rules, env.now)
        .await
}

/// A registered client named by another component of this app (not by
/// the request's sender, so not authenticated: `crate::chained`). `None`
/// for an unknown client or unreadable stored metadata (logged).
pub fn registered<S: Store>(store: &S, client_id: &str) -> Result<Option<Client>, OAuthError> {
    let Some(id) = ClientId::parse(client_id) else {
        return Ok(None);
    };
    let Some(stored) = lookup(store).client(client_id)? else {
        return Ok(None);
    };
    match ClientMetadata::from_json(&stored.metadata_json) {
        Ok(metadata) => Ok(Some(Client {
            credentials: ClientCredentials::None {
                client_id: id.clone(),
            },
            id,
            metadata,
        })),
        Err(e) => {
            eprintln!("op-token: client {client_id}: stored metadata: {e:?}");
            Ok(None)
        }
    }
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
    let keys = client_lookup::client_keys(&client.metadata, &client.id, &lookup(store))
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
