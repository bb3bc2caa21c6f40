//! `POST /revoke` (RFC 7009).
//!
//! Client-authenticated with any method, `none` included: a public client
//! identifies itself with `client_id` and may revoke its own tokens
//! (RFC 7009 §5). A token is revoked only for the client it was issued to:
//! - a refresh token revokes its whole family and every access token
//!   issued in it (`grants.revoke`, one transaction in op-store);
//! - an access token is revoked alone (`grants.revoke-access-token`); its
//!   grant and refresh token stay (RFC 7009 §2.1 allows either).
//!
//! A live token of another client is refused with 400 `invalid_request`
//! (§2.1: "the request is refused and the client is informed of the
//! error"); the caller holds that token already, so this tells it nothing
//! new. Unknown, expired or already revoked tokens answer 200 like a
//! successful revocation (§2.2), and `token_type_hint` only orders the
//! lookups: unknown hints are ignored, never `unsupported_token_type`.
//! The answer is 200 with an empty body.

use authrim_protocol::{HttpResponse, OAuthError};

use crate::client::{authenticate, Accept, Client};
use crate::endpoint::Request;
use crate::env::Env;
use crate::introspection::form;
use crate::store::{fault, Grant, Store};
use crate::tokens::{self, Found};
use crate::REVOCATION_PATH;

pub async fn revoke<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: &Env,
) -> Result<HttpResponse, OAuthError> {
    let params = form(req)?;
    let client = authenticate(
        req.authorization,
        &params,
        Accept::AnyClient,
        REVOCATION_PATH,
        store,
        env,
    )
    .await?;
    match tokens::find(&params, store, env.now)? {
        Some(Found::Refresh { grant }) => {
            owned_by(&grant, &client)?;
            store
                .revoke_grant(&grant.id, env.now)
                .map_err(fault("grants.revoke"))?;
        }
        Some(Found::Access { token_hash, grant }) => {
            owned_by(&grant, &client)?;
            store
                .revoke_access_token(&token_hash, env.now)
                .map_err(fault("grants.revoke-access-token"))?;
        }
        None => {}
    }
    Ok(HttpResponse::new(200))
}

fn owned_by(grant: &Grant, client: &Client) -> Result<(), OAuthError> {
    if grant.client_id == client.id.as_str() {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the token was not issued to this client",
        ))
    }
}
