//! Step 2 of the token endpoint: who is the client?
//!
//! `authrim_oauth::client_auth` does the checking; this module supplies what
//! it needs from op-store (the client, its secret hash, `verify-secret-mac`
//! for `client_secret_jwt`, the keys for `private_key_jwt`) and records a
//! client assertion's `jti` as used, so that an assertion is accepted once.
//!
//! Keys of `private_key_jwt` clients come from their registered `jwks`, or
//! from their `jwks_uri`, fetched on each use (no cache: a client that
//! rotates its keys is never refused with stale ones). Outbound requests
//! only reach hosts listed in op-token's `allowed_outbound_hosts`
//! (spin.toml); for any other host the fetch fails and the client is
//! refused with `invalid_client`.

use authrim_jose::Jwks;
use authrim_oauth::client_auth::{
    AssertionRules, ClientCredentials, RegisteredClient, SecretMac, UsedAssertion, JTI_NAMESPACE,
};
use authrim_oauth::client_metadata::{AuthMethod, ClientId, ClientMetadata, JwsAlg};
use authrim_oauth::encryption;
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

use crate::env::Env;
use crate::store::{fault, internal, Store};

/// Same description as `client_auth` uses, so that no answer tells whether
/// a client exists or how it is configured.
const FAILED: &str = "client authentication failed";

/// An authenticated client and its registration.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    pub metadata: ClientMetadata,
    /// How it authenticated; errors for a client that used HTTP Basic
    /// carry a `Basic` challenge.
    pub credentials: ClientCredentials,
}

/// `client_secret_jwt` MACs are checked by op-store, which alone can read
/// the client's sealed secret.
struct StoreMac<'a, S> {
    store: &'a S,
    client_id: &'a str,
}

impl<S: Store> SecretMac for StoreMac<'_, S> {
    fn verify(&self, alg: JwsAlg, signing_input: &[u8], mac: &[u8]) -> bool {
        self.store
            .verify_secret_mac(self.client_id, alg.as_str(), signing_input, mac)
            .unwrap_or_else(|e| {
                eprintln!("op-token: store clients.verify-secret-mac: {e:?}");
                false
            })
    }
}

/// Authenticates the client of a token request.
pub async fn authenticate<S: Store>(
    authorization: Option<&str>,
    params: &Params,
    store: &S,
    env: &Env,
) -> Result<Client, OAuthError> {
    let credentials = ClientCredentials::extract(authorization, params)?;
    let client_id = credentials.client_id().clone();
    let stored = store
        .client(client_id.as_str())
        .map_err(fault("clients.get"))?;
    let metadata = match &stored {
        Some(c) => Some(ClientMetadata::from_json(&c.metadata_json).map_err(|e| {
            internal(format_args!(
                "client {client_id}: stored metadata unreadable: {e}"
            ))
        })?),
        None => None,
    };
    let jwks = match (&credentials, &metadata) {
        (ClientCredentials::Jwt(a), Some(m))
            if !a.alg().is_hmac() && m.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt =>
        {
            Some(client_keys(m, &client_id, store).await.map_err(|why| {
                eprintln!("op-token: client {client_id}: keys: {why}");
                credentials.error(FAILED)
            })?)
        }
        _ => None,
    };
    let mac = StoreMac {
        store,
        client_id: client_id.as_str(),
    };
    let registered = metadata.as_ref().map(|m| RegisteredClient {
        metadata: m,
        secret_hash: stored.as_ref().and_then(|c| c.secret_hash.as_deref()),
        jwks: jwks.as_ref(),
        secret_mac: Some(&mac),
    });
    let rules = AssertionRules::new(env.assertion_audiences());
    let authenticated = credentials.authenticate(registered.as_ref(), &rules, env.now)?;
    if let Some(used) = &authenticated.assertion {
        let first = store
            .mark_used(JTI_NAMESPACE, &used.replay_key, used.expires_at, env.now)
            .map_err(fault("one-time.mark-used"))?;
        if !first {
            return Err(UsedAssertion::replay_error());
        }
    }
    let Some(metadata) = metadata else {
        // `authenticate` refuses unknown clients; never reached.
        return Err(credentials.error(FAILED));
    };
    Ok(Client {
        id: client_id,
        metadata,
        credentials,
    })
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
    let keys = client_keys(&client.metadata, &client.id, store)
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

/// The client's public keys: its `jwks`, or the document at its `jwks_uri`.
async fn client_keys<S: Store>(
    metadata: &ClientMetadata,
    client_id: &ClientId,
    store: &S,
) -> Result<Jwks, String> {
    if let Some(jwks) = metadata.jwks().map_err(|e| e.to_string())? {
        return Ok(jwks);
    }
    let Some(uri) = metadata.jwks_uri.as_deref() else {
        return Err(format!(
            "client {client_id} registered neither jwks nor jwks_uri"
        ));
    };
    let body = store.fetch_jwks(uri).await?;
    Jwks::parse(&body).map_err(|e| format!("jwks_uri {uri}: {e}"))
}

/// Shared with op-userinfo, which fetches `jwks_uri` documents too.
pub use authrim_spin::https::split_https_uri;
