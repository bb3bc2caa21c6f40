//! Request objects (RFC 9101 "JAR", OIDC Core §6): the authorization
//! request as a JWT signed by the client, sent by value (`request`) or
//! by reference (`request_uri`).
//!
//! [`verify`] checks a signed request object and returns the parameters
//! inside it, which are then the whole authorization request (RFC 9101
//! §5: outer parameters other than `client_id`, `request` and
//! `request_uri` are ignored; OIDC Core §6.1's duplication of
//! `response_type`/`scope` outside is therefore not needed). The checks,
//! in order (RFC 9101 §6.3, §10.1, §10.2):
//! - at most [`MAX_REQUEST_OBJECT_BYTES`]; a JWE (five parts) is first
//!   opened by [`decrypt`] with the OP's key (RFC 9101 §6.1) and what is
//!   inside must be a signed JWT;
//! - `alg` RS256 or ES256 (`none` and MAC algorithms are refused: an
//!   unsigned object proves nothing), and the client's registered
//!   `request_object_signing_alg` when it registered one;
//! - a signature by a key of the client's JWK Set;
//! - `iss` = the client, `aud` names the issuer, `client_id` inside =
//!   the outer `client_id`;
//! - `exp` required, not past, at most [`MAX_LIFETIME`] ahead; `nbf`
//!   and `iat` not in the future;
//! - `jti`, when present, is single use: the caller records
//!   [`RequestObject::replay`] with op-store's `one-time.mark-used` in
//!   namespace [`JTI_NAMESPACE`] (atomic) and refuses a second use;
//! - no `request` or `request_uri` inside (RFC 9101 §4).
//!
//! Every failure is `invalid_request_object`. Its caller shows it to the
//! user rather than redirecting: until the signature is checked, no
//! `redirect_uri` in the request is trustworthy.

use crate::client_metadata::ClientMetadata;
use crate::form::{form_urlencode, safe_text, Params};
use authrim_jose::jwe::decrypt::EncryptedCompact;
use authrim_jose::jwe::KeyAlg;
use authrim_jose::jws::Compact;
use authrim_jose::{Alg, JoseError, Jwks};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, Issuer, OAuthError};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The op-store `one-time` namespace of used request-object `jti`s.
pub const JTI_NAMESPACE: &str = "request-object-jti";
/// Largest request object accepted, in bytes.
pub const MAX_REQUEST_OBJECT_BYTES: usize = 16 * 1024;
/// Furthest `exp` accepted, in seconds from now: a request object is made
/// for one request, not kept.
pub const MAX_LIFETIME: i64 = 3600;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY: i64 = 60;
/// The signing algorithms accepted (discovery
/// `request_object_signing_alg_values_supported`).
pub const SIGNING_ALGS: [Alg; 2] = Alg::ALL;

/// Largest encrypted request object accepted, in bytes: a JWE around the
/// largest signed one.
pub const MAX_ENCRYPTED_REQUEST_OBJECT_BYTES: usize = 32 * 1024;
/// Key management algorithms of encrypted request objects (to the OP's
/// P-256 key; discovery `request_object_encryption_alg_values_supported`).
pub const ENCRYPTION_ALGS: [KeyAlg; 3] =
    [KeyAlg::EcdhEs, KeyAlg::EcdhEsA128Kw, KeyAlg::EcdhEsA256Kw];

/// Whether `token` is a compact JWE (five parts) rather than a JWS.
pub fn is_encrypted(token: &str) -> bool {
    token.split('.').count() == 5
}

/// The signed request object inside an encrypted one (RFC 9101 §6.1,
/// OIDC Core §6.1: signed, then encrypted to the OP). `agree` computes
/// the ECDH shared secret of the OP's key (named by `kid` when the JWE
/// names one) and the JWE's ephemeral key, or `None` when the key or the
/// point is not the OP's. The client's registered
/// `request_object_encryption_alg`/`enc`, when present, must be used.
/// The result still has to pass [`verify`]: an encrypted object is not
/// trusted for being encrypted (anyone can encrypt to the OP).
pub fn decrypt(
    token: &str,
    metadata: &ClientMetadata,
    agree: impl FnOnce(Option<&str>, &[u8; 32], &[u8; 32]) -> Result<Option<Vec<u8>>, OAuthError>,
) -> Result<String, OAuthError> {
    if token.len() > MAX_ENCRYPTED_REQUEST_OBJECT_BYTES {
        return Err(invalid("request object is too large"));
    }
    let jwe = EncryptedCompact::parse(token).map_err(|e| match e {
        JoseError::UnsupportedAlg(_) => invalid(
            "encrypted request objects must use ECDH-ES, ECDH-ES+A128KW or ECDH-ES+A256KW and A128GCM, A256GCM, A128CBC-HS256 or A256CBC-HS512",
        ),
        _ => invalid("encrypted request object is malformed"),
    })?;
    if metadata
        .request_object_encryption_alg
        .is_some_and(|alg| alg != jwe.alg)
        || metadata
            .request_object_encryption_enc
            .is_some_and(|enc| enc != jwe.enc)
    {
        return Err(invalid(
            "request object alg/enc are not the client's request_object_encryption_alg/enc",
        ));
    }
    let z = agree(jwe.kid.as_deref(), &jwe.epk.0, &jwe.epk.1)?
        .ok_or_else(|| invalid("request object is not encrypted to this server's key"))?;
    let plaintext = jwe
        .decrypt(&z)
        .map_err(|_| invalid("request object does not decrypt"))?;
    String::from_utf8(plaintext.to_vec())
        .map_err(|_| invalid("decrypted request object is not a signed JWT"))
}

/// JWT claims that describe the object itself, not the request.
const JWT_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];

/// A verified request object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestObject {
    /// The authorization request: the claims that are request parameters.
    pub params: Params,
    /// The `jti` to record as used, when the object has one.
    pub replay: Option<Replay>,
}

/// A `jti` to mark as used until it can no longer be presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// SHA-256 of the client id and the `jti`.
    pub key: String,
    pub expires_at: i64,
}

impl Replay {
    /// The error for a request object whose `jti` was seen before.
    pub fn error() -> OAuthError {
        invalid("request object has been used before")
    }
}

fn invalid(description: impl Into<Cow<'static, str>>) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidRequestObject, description)
}

/// Verifies `token`, a request object sent by the client `client_id`
/// (the outer, already loaded client), with the keys of the client's
/// `jwks` (by value or fetched from its `jwks_uri`).
pub fn verify(
    token: &str,
    client_id: &str,
    metadata: &ClientMetadata,
    jwks: Option<&Jwks>,
    issuer: &Issuer,
    now: i64,
) -> Result<RequestObject, OAuthError> {
    if token.len() > MAX_REQUEST_OBJECT_BYTES {
        return Err(invalid("request object is too large"));
    }
    if is_encrypted(token) {
        // Nested encryption: the inside of a JWE must be signed.
        return Err(invalid("request object must be a signed JWT"));
    }
    let jws = Compact::parse(token).map_err(|e| match e {
        JoseError::UnsupportedAlg(_) => {
            invalid("request object must be signed with RS256 or ES256")
        }
        _ => invalid("request object is not a well-formed signed JWT"),
    })?;
    if let Some(registered) = metadata.request_object_signing_alg {
        if registered.asymmetric() != Some(jws.alg) {
            return Err(invalid(
                "request object alg is not the client's request_object_signing_alg",
            ));
        }
    }
    let jwks = jwks.ok_or_else(|| invalid("the client has no keys to verify request objects"))?;
    let key = jwks
        .select(jws.kid(), jws.alg)
        .ok_or_else(|| invalid("no key of the client fits the request object"))?;
    jws.verify(key, &SIGNING_ALGS)
        .map_err(|_| invalid("request object signature is invalid"))?;
    let claims = match serde_json::from_slice::<Value>(&jws.payload) {
        Ok(Value::Object(map)) => map,
        _ => return Err(invalid("request object claims are not a JSON object")),
    };
    check_claims(&claims, client_id, issuer, now)?;
    let replay = match claims.get("jti") {
        None => None,
        Some(Value::String(jti)) if !jti.is_empty() => Some(Replay {
            key: hash_token(&format!("{client_id}\n{jti}")),
            expires_at: numeric(&claims, "exp")?
                .unwrap_or(now)
                .saturating_add(LEEWAY),
        }),
        Some(_) => return Err(invalid("request object jti must be a string")),
    };
    Ok(RequestObject {
        params: to_params(&claims)?,
        replay,
    })
}

/// `iss`, `aud`, `client_id`, `exp`, `nbf`, `iat`.
fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    issuer: &Issuer,
    now: i64,
) -> Result<(), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err(invalid("request object iss must be the client_id"));
    }
    let ours = |a: &Value| a.as_str() == Some(issuer.as_str());
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(ours),
        Some(a) => ours(a),
        None => false,
    };
    if !aud_ok {
        return Err(invalid("request object aud must name this issuer"));
    }
    if text("client_id") != Some(client_id) {
        return Err(invalid(
            "request object client_id must equal the client_id parameter",
        ));
    }
    let exp = numeric(claims, "exp")?.ok_or_else(|| invalid("request object needs exp"))?;
    if now >= exp.saturating_add(LEEWAY) {
        return Err(invalid("request object has expired"));
    }
    if exp > now.saturating_add(MAX_LIFETIME).saturating_add(LEEWAY) {
        return Err(invalid("request object exp is too far in the future"));
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now.saturating_add(LEEWAY));
    if future(numeric(claims, "nbf")?) {
        return Err(invalid("request object is not valid yet"));
    }
    if future(numeric(claims, "iat")?) {
        return Err(invalid("request object iat is in the future"));
    }
    Ok(())
}

/// A NumericDate claim (RFC 7519 §2), whole seconds.
fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, OAuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| invalid(format!("request object {name} must be a number"))),
    }
}

/// The request parameters among the claims: strings as they are, whole
/// numbers (`max_age`) in decimal, objects (`claims`) as JSON text.
fn to_params(claims: &Map<String, Value>) -> Result<Params, OAuthError> {
    let mut pairs: Vec<(&str, Cow<'_, str>)> = Vec::new();
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        if name == "request" || name == "request_uri" {
            return Err(invalid(
                "request objects must not contain request or request_uri",
            ));
        }
        let text = match value {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            Value::Number(n) if n.is_u64() || n.is_i64() => Cow::Owned(n.to_string()),
            Value::Object(_) => Cow::Owned(value.to_string()),
            _ => {
                return Err(invalid(format!(
                    "request object member {} must be a string, a whole number or an object",
                    safe_text(name, 64)
                )))
            }
        };
        pairs.push((name, text));
    }
    Params::parse(&form_urlencode(pairs.iter().map(|(n, v)| (*n, v.as_ref()))))
        .map_err(|e| invalid(e.description.unwrap_or_default()))
}

#[cfg(test)]
mod tests;
