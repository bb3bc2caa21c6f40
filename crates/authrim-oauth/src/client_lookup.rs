//! Client authentication against stored registrations, shared by every
//! endpoint that authenticates clients (`/token`, `/introspect`,
//! `/revoke`, `/device_authorization`).
//!
//! [`crate::client_auth`] does the checking; this module supplies what it
//! needs through the small [`ClientLookup`] trait that each component
//! implements over its op-store imports: the stored client (metadata and
//! secret hash), `verify-secret-mac` for `client_secret_jwt`, the keys of
//! `private_key_jwt` clients (their `jwks`, or their `jwks_uri` fetched on
//! each use, so a client that rotates keys is never refused with stale
//! ones), and `one-time.mark-used` so that a client assertion is accepted
//! once.

use std::future::Future;

use authrim_jose::Jwks;
use authrim_protocol::OAuthError;

use crate::client_auth::{
    AssertionRules, ClientCredentials, RegisteredClient, SecretMac, UsedAssertion, JTI_NAMESPACE,
};
use crate::client_metadata::{AuthMethod, ClientId, ClientMetadata, JwsAlg};
use crate::form::Params;

/// The description `client_auth` uses for every stored-client failure, so
/// that no answer tells whether a client exists or how it is configured.
pub const FAILED: &str = "client authentication failed";

/// The largest client JWK Set document fetched from a `jwks_uri`.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A client as op-store keeps it.
pub struct StoredClient {
    pub metadata_json: String,
    pub secret_hash: Option<String>,
}

/// What authentication needs from the outside world. Store failures are
/// logged by the implementation and returned as `server_error`.
pub trait ClientLookup {
    fn client(&self, client_id: &str) -> Result<Option<StoredClient>, OAuthError>;
    /// `clients.verify-secret-mac`; false on any failure (logged).
    fn verify_secret_mac(
        &self,
        client_id: &str,
        alg: &str,
        signing_input: &[u8],
        mac: &[u8],
    ) -> bool;
    /// `one-time.mark-used`: true for the first use.
    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, OAuthError>;
    /// GETs a client's `jwks_uri`; the error is for the log.
    fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>>;
    /// Logs operator-facing detail (never sent to the client).
    fn log(&self, message: &str);
}

/// An authenticated client and its registration.
#[derive(Debug)]
pub struct AuthenticatedClient {
    pub id: ClientId,
    pub metadata: ClientMetadata,
    /// How it authenticated; errors for a client that used HTTP Basic
    /// carry a `Basic` challenge.
    pub credentials: ClientCredentials,
}

struct LookupMac<'a, L> {
    lookup: &'a L,
    client_id: &'a str,
}

impl<L: ClientLookup> SecretMac for LookupMac<'_, L> {
    fn verify(&self, alg: JwsAlg, signing_input: &[u8], mac: &[u8]) -> bool {
        self.lookup
            .verify_secret_mac(self.client_id, alg.as_str(), signing_input, mac)
    }
}

/// Authenticates the client of a request whose parameters are `params`
/// and whose `Authorization` header is `authorization`; assertions must
/// name one of `rules`' audiences.
pub async fn authenticate<L: ClientLookup>(
    credentials: ClientCredentials,
    lookup: &L,
    rules: &AssertionRules,
    now: i64,
) -> Result<AuthenticatedClient, OAuthError> {
    let client_id = credentials.client_id().clone();
    let stored = lookup.client(client_id.as_str())?;
    let metadata = match &stored {
        Some(c) => Some(ClientMetadata::from_json(&c.metadata_json).map_err(|e| {
            lookup.log(&format!(
                "client {client_id}: stored metadata unreadable: {e}"
            ));
            OAuthError::server_error()
        })?),
        None => None,
    };
    let jwks = match (&credentials, &metadata) {
        (ClientCredentials::Jwt(a), Some(m))
            if !a.alg().is_hmac() && m.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt =>
        {
            Some(client_keys(m, &client_id, lookup).await.map_err(|why| {
                lookup.log(&format!("client {client_id}: keys: {why}"));
                credentials.error(FAILED)
            })?)
        }
        _ => None,
    };
    let mac = LookupMac {
        lookup,
        client_id: client_id.as_str(),
    };
    let registered = metadata.as_ref().map(|m| RegisteredClient {
        metadata: m,
        secret_hash: stored.as_ref().and_then(|c| c.secret_hash.as_deref()),
        jwks: jwks.as_ref(),
        secret_mac: Some(&mac),
    });
    let authenticated = credentials.authenticate(registered.as_ref(), rules, now)?;
    if let Some(used) = &authenticated.assertion {
        if !lookup.mark_used(JTI_NAMESPACE, &used.replay_key, used.expires_at, now)? {
            return Err(UsedAssertion::replay_error());
        }
    }
    let Some(metadata) = metadata else {
        // `authenticate` refuses unknown clients; never reached.
        return Err(credentials.error(FAILED));
    };
    Ok(AuthenticatedClient {
        id: client_id,
        metadata,
        credentials,
    })
}

/// Extracts the credentials of a request and authenticates them.
pub async fn authenticate_request<L: ClientLookup>(
    authorization: Option<&str>,
    params: &Params,
    lookup: &L,
    rules: &AssertionRules,
    now: i64,
) -> Result<AuthenticatedClient, OAuthError> {
    let credentials = ClientCredentials::extract(authorization, params)?;
    authenticate(credentials, lookup, rules, now).await
}

/// The client's public keys: its `jwks`, or the document at its `jwks_uri`
/// (fetched on each use: a client that rotates its keys is never refused
/// with stale ones). For client authentication and for encrypting to it.
pub async fn client_keys<L: ClientLookup>(
    metadata: &ClientMetadata,
    client_id: &ClientId,
    lookup: &L,
) -> Result<Jwks, String> {
    match registered_keys(metadata, client_id)? {
        RegisteredKeys::Set(jwks) => Ok(jwks),
        RegisteredKeys::Uri(uri) => keys_at(uri, lookup).await,
    }
}

/// Where a client's keys are: [`client_keys`]' first step, for callers
/// that fetch without `async` (op-auth).
pub enum RegisteredKeys<'a> {
    /// Its `jwks`, by value.
    Set(Jwks),
    /// Its `jwks_uri`, to fetch.
    Uri(&'a str),
}

pub fn registered_keys<'a>(
    metadata: &'a ClientMetadata,
    client_id: &ClientId,
) -> Result<RegisteredKeys<'a>, String> {
    if let Some(jwks) = metadata.jwks().map_err(|e| e.to_string())? {
        return Ok(RegisteredKeys::Set(jwks));
    }
    match metadata.jwks_uri.as_deref() {
        Some(uri) => Ok(RegisteredKeys::Uri(uri)),
        None => Err(format!(
            "client {client_id} registered neither jwks nor jwks_uri"
        )),
    }
}

/// The JWK Set at `uri`, fetched now: a client's `jwks_uri` or a trusted
/// assertion issuer's (RFC 7523 grant). The error is for the log.
pub async fn keys_at<L: ClientLookup>(uri: &str, lookup: &L) -> Result<Jwks, String> {
    parse_fetched_keys(uri, &lookup.fetch_jwks(uri).await?)
}

/// The JWK Set fetched from `uri`.
pub fn parse_fetched_keys(uri: &str, body: &str) -> Result<Jwks, String> {
    Jwks::parse(body).map_err(|e| format!("jwks_uri {uri}: {e}"))
}

/// Splits an `https` URL into its authority and its path with query (the
/// fragment dropped; an empty path is `/`), as an outgoing request needs
/// them. `None` for other schemes, an empty host, or credentials in the
/// authority.
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
