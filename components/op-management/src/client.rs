//! Client authentication at `/introspect` and `/revoke` (RFC 7662 §2.1,
//! RFC 7009 §2.1): every method of RFC 6749 §2.3, RFC 7523 and OIDC Core §9.
//!
//! `authrim_oauth::client_auth` does the checking; this module supplies what
//! it needs from op-store (the client and its secret hash,
//! `verify-secret-mac` for `client_secret_jwt`, the keys for
//! `private_key_jwt`) and records a client assertion's `jti` as used, so
//! that an assertion is accepted once. Keys of `private_key_jwt` clients
//! come from their registered `jwks`, or from their `jwks_uri`, fetched on
//! each use; only hosts in op-management's `allowed_outbound_hosts` are
//! reachable, any other fetch fails and the client is refused.

use authrim_jose::Jwks;
use authrim_oauth::client_auth::{
    AssertionRules, ClientCredentials, RegisteredClient, SecretMac, UsedAssertion, JTI_NAMESPACE,
};
use authrim_oauth::client_metadata::{AuthMethod, ClientId, ClientMetadata, JwsAlg};
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

use crate::env::Env;
use crate::store::{fault, internal, Store};

/// The description `client_auth` uses for every stored-client failure, so
/// that no answer tells whether a client exists or how it is configured.
const FAILED: &str = "client authentication failed";

/// Which clients an endpoint serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Confidential clients only (introspection).
    Confidential,
    /// Public clients too, identified by `client_id` (revocation of their
    /// own tokens, RFC 7009 §5).
    AnyClient,
}

/// An authenticated client.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
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
                eprintln!("op-management: store clients.verify-secret-mac: {e:?}");
                false
            })
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
                eprintln!("op-management: client {client_id}: keys: {why}");
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
    let rules = AssertionRules::new(env.assertion_audiences(path));
    let authenticated = credentials.authenticate(registered.as_ref(), &rules, env.now)?;
    if let Some(used) = &authenticated.assertion {
        let first = store
            .mark_used(JTI_NAMESPACE, &used.replay_key, used.expires_at, env.now)
            .map_err(fault("one-time.mark-used"))?;
        if !first {
            return Err(UsedAssertion::replay_error());
        }
    }
    Ok(Client {
        id: client_id,
        credentials,
    })
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
            "client {client_id} uses private_key_jwt without jwks or jwks_uri"
        ));
    };
    let body = store.fetch_jwks(uri).await?;
    Jwks::parse(&body).map_err(|e| format!("jwks_uri {uri}: {e}"))
}

/// `https://authority/path?query` split into authority and path-with-query
/// for an outgoing request (an empty path is `/`); `None` for anything
/// else (other schemes, no host, credentials in the authority). The
/// fragment is dropped.
pub fn split_https_uri(uri: &str) -> Option<(&str, String)> {
    let rest = uri.strip_prefix("https://")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.starts_with(':') || authority.contains('@') {
        return None;
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Some((authority, path))
}

#[cfg(test)]
mod tests {
    use super::split_https_uri;

    #[test]
    fn splits_https_urls() {
        let table = [
            (
                "https://rp.example/jwks.json",
                Some(("rp.example", "/jwks.json")),
            ),
            (
                "https://rp.example:8443/k?x=1#f",
                Some(("rp.example:8443", "/k?x=1")),
            ),
            ("https://rp.example", Some(("rp.example", "/"))),
            ("https://rp.example?x", Some(("rp.example", "/?x"))),
            ("http://rp.example/jwks.json", None),
            ("https://", None),
            ("https://:443/x", None),
            ("https://user@rp.example/x", None),
        ];
        for (uri, want) in table {
            let got = split_https_uri(uri);
            assert_eq!(got.as_ref().map(|(a, p)| (*a, p.as_str())), want, "{uri}");
        }
    }
}
