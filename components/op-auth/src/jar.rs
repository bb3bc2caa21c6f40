//! Request objects at `/authorize` and `/as/par` (RFC 9101, OIDC Core §6):
//! finds the request object a request carries, has
//! `authrim_oauth::request_object` verify it with the client's keys,
//! records its `jti` as used (op-store `one-time.mark-used`, one atomic
//! statement: a replay, even a concurrent one, is refused) and returns
//! the parameters inside it, which replace the outer ones.
//!
//! Errors are `invalid_request_object`, `invalid_request_uri` or
//! `request_uri_not_supported`; the caller shows them to the user, never
//! redirecting (no redirect URI is trustworthy before the signature is).

use crate::Env;
use authrim_oauth::authorize::PAR_REQUEST_URI_PREFIX;
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
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequestUri,
                    "request_uri is not registered for this client",
                ));
            }
            return Err(OAuthError::with_description(
                ErrorCode::RequestUriNotSupported,
                "request objects by https reference are not fetched by this server",
            ));
        }
        _ => return Ok(None),
    };
    let jwks = metadata.jwks().unwrap_or_else(|e| {
        crate::log(&format!(
            "stored jwks of client {:?}: {e}",
            client_id.as_str()
        ));
        None
    });
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

/// RFC 9101 §10.5 `require_signed_request_object`: the error for a
/// request of such a client that came without a request object.
pub fn unsigned_refused() -> OAuthError {
    OAuthError::invalid_request(
        "this client must send its authorization request as a signed request object",
    )
}
