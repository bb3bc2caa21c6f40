//! Request objects at `/authorize` and `/as/par` (RFC 9101, OIDC Core §6):
//! finds the request object a request carries, has
//! `authrim_oauth::request_object` decrypt it (when it is a JWE: with the
//! OP's key, through op-store's `encryption-keys.agree`) and verify it
//! with the client's keys,
//! records its `jti` as used (op-store `one-time.mark-used`, one atomic
//! statement: a replay, even a concurrent one, is refused) and returns
//! the parameters inside it, which replace the outer ones.
//!
//! Errors are `invalid_request_object`, `invalid_request_uri` or
//! `invalid_request` (both `request` and `request_uri`); the caller shows
//! them to the user (at PAR: answers them), never redirecting: no
//! redirect URI is trustworthy before the signature is.

use crate::request::Request;
use crate::{flow, Env};
use authrim_jose::Jwks;
use authrim_oauth::authorize::PAR_REQUEST_URI_PREFIX;
use authrim_oauth::client_auth::ClientCredentials;
use authrim_oauth::client_metadata::{ClientId, ClientMetadata};
use authrim_oauth::form::Params;
use authrim_oauth::request_object::{self, Replay, JTI_NAMESPACE};
use authrim_protocol::{ErrorCode, OAuthError};

/// The parameters of the request object `params` carries (`request`, or
/// a registered https `request_uri`), verified; `None` when it carries
/// none. A PAR `request_uri` is not a request object: the caller
/// resolves it.
pub fn resolve(
    env: &Env,
    client_id: &ClientId,
    metadata: &ClientMetadata,
    params: &Params,
) -> Result<Option<Params>, OAuthError> {
    let token = match (params.get("request"), params.get("request_uri")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "request and request_uri must not both be used",
            ))
        }
        (Some(token), None) => token,
        (None, Some(uri)) if !uri.starts_with(PAR_REQUEST_URI_PREFIX) => {
            // OIDC Core §6.2 / Registration §2: exact match with a
            // registered value, so the OP never fetches what a third
            // party chose.
            if !metadata.request_uris.iter().any(|r| r == uri) {
                return Err(invalid_request_uri(
                    "request_uri is not registered for this client",
                ));
            }
            match &env.fetched.request_object {
                Some(Ok(document)) => document.trim(),
                Some(Err(why)) => {
                    crate::log(&format!(
                        "request_uri of client {:?}: {why}",
                        client_id.as_str()
                    ));
                    return Err(invalid_request_uri(
                        "the request object could not be retrieved from request_uri",
                    ));
                }
                None => {
                    crate::log("a registered request_uri was not fetched");
                    return Err(invalid_request_uri(
                        "the request object could not be retrieved from request_uri",
                    ));
                }
            }
        }
        _ => return Ok(None),
    };
    // RFC 9101 §6.1: decrypted with the OP's key (in op-store), then
    // verified like any signed object.
    let decrypted;
    let token = if request_object::is_encrypted(token) {
        decrypted =
            request_object::decrypt(token, metadata, |kid, x, y| env.store.agree(kid, x, y))?;
        decrypted.as_str()
    } else {
        token
    };
    let jwks = client_keys(env, client_id, metadata);
    let object = request_object::verify(
        token,
        client_id.as_str(),
        metadata,
        jwks.as_ref(),
        &env.config.issuer,
        env.now,
    )?;
    if let Some(replay) = &object.replay {
        if !env
            .store
            .one_time_mark_used(JTI_NAMESPACE, &replay.key, replay.expires_at, env.now)?
        {
            return Err(Replay::error());
        }
    }
    Ok(Some(object.params))
}

fn invalid_request_uri(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidRequestUri, description)
}

/// The keys request objects are verified with: the client's `jwks`, else
/// the document fetched from its `jwks_uri`. Faults are logged; the
/// request then fails for want of a key.
fn client_keys(env: &Env, client_id: &ClientId, metadata: &ClientMetadata) -> Option<Jwks> {
    let log = |what: &str| crate::log(&format!("{what} of client {:?}", client_id.as_str()));
    match metadata.jwks() {
        Ok(Some(jwks)) => return Some(jwks),
        Ok(None) => {}
        Err(e) => {
            log(&format!("stored jwks ({e})"));
            return None;
        }
    }
    match &env.fetched.jwks {
        Some(Ok(document)) => Jwks::parse(document)
            .map_err(|e| log(&format!("jwks_uri document ({e})")))
            .ok(),
        Some(Err(why)) => {
            log(&format!("jwks_uri ({why})"));
            None
        }
        None => None,
    }
}

/// Documents fetched over https before the endpoint logic runs: the
/// component does the (asynchronous) I/O that [`wanted`] names, so the
/// logic itself stays synchronous and testable. `Err` holds why, for
/// the log.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// The client's `jwks_uri` document.
    pub jwks: Option<Result<String, String>>,
    /// The request object at a registered https `request_uri`.
    pub request_object: Option<Result<String, String>>,
}

/// What a request to `/authorize` or `/as/par` needs fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The client's `jwks_uri`, when it sends a request object and
    /// registered no `jwks`.
    pub jwks_uri: Option<String>,
    /// A `request_uri` the client registered (exact match), at
    /// `/authorize` only (RFC 9126 §2.1 forbids it at PAR).
    pub request_uri: Option<String>,
}

/// The documents `req` needs; nothing for requests without a request
/// object or whose client is unknown (the logic answers those).
pub fn wanted(env: &Env, req: &Request) -> Result<Wanted, OAuthError> {
    let at_par = match req.path {
        "/authorize" => false,
        "/as/par" => true,
        _ => return Ok(Wanted::default()),
    };
    let Ok(params) = req.params() else {
        return Ok(Wanted::default());
    };
    let request_uri = params
        .get("request_uri")
        .filter(|u| !at_par && !u.starts_with(PAR_REQUEST_URI_PREFIX));
    if !params.contains("request") && request_uri.is_none() {
        return Ok(Wanted::default());
    }
    let client_id = if at_par {
        ClientCredentials::extract(req.authorization, &params)
            .ok()
            .map(|c| c.client_id().as_str().to_string())
    } else {
        params.get("client_id").map(str::to_string)
    };
    let Some(client_id) = client_id else {
        return Ok(Wanted::default());
    };
    let Some((_, metadata)) = flow::load_client(env, &client_id)? else {
        return Ok(Wanted::default());
    };
    Ok(Wanted {
        jwks_uri: metadata
            .jwks_uri
            .clone()
            .filter(|_| metadata.jwks.is_none()),
        request_uri: request_uri
            .filter(|u| metadata.request_uris.iter().any(|r| r == u))
            .map(str::to_string),
    })
}

/// RFC 9101 §10.5 `require_signed_request_object`: the error for a
/// request of such a client that came without a request object.
pub fn unsigned_refused() -> OAuthError {
    OAuthError::invalid_request(
        "this client must send its authorization request as a signed request object",
    )
}
