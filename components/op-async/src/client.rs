//! Client authentication at `/device_authorization` (RFC 8628 §3.1: "the
//! client MUST authenticate with the authorization server as described in
//! Section 3.2.1 of [RFC6749]" when it is confidential): the shared
//! `authrim_oauth::client_lookup`, over op-async's [`Store`].

use authrim_oauth::client_auth::AssertionRules;
use authrim_oauth::client_lookup::{self, AuthenticatedClient};
use authrim_oauth::form::Params;
use authrim_protocol::OAuthError;

use crate::store::Store;
use crate::Env;
use authrim_spin::client_records::Lookup;

/// The shared `ClientLookup` over this component's store.
pub fn lookup<S: Store>(store: &S) -> Lookup<'_, S> {
    Lookup {
        records: store,
        log: |message| eprintln!("op-async: {message}"),
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
    client_lookup::authenticate_request(authorization, params, &lookup(env.store), &rules, env.now)
        .await
}
