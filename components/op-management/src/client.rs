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
use authrim_oauth::client_lookup::{self, FAILED};
use authrim_oauth::client_metadata::AuthMethod;
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
        log: |message| eprintln!("op-management: {message}"),
    }
}

/// Which clients an endpoint serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Confidential clients only (introspection).
    Confidential,
    /// Public clients too, identified by `client_id` (revocation of their
    /// own tokens, RFC 7009 §5).
    AnyClient,
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
    client_lookup::authenticate(credentials, &lookup(store), &rules, env.now).await
}
