//! Encrypted ID Tokens and UserInfo responses (OIDC Core §10.2, OIDC
//! Registration §2): what a client registered with
//! `id_token_encrypted_response_alg`/`enc` and
//! `userinfo_encrypted_response_alg`/`enc` receives.
//!
//! Signed content is signed first, then encrypted as a nested JWT
//! (`cty: JWT`, OIDC Core §16.14 order). The recipient key comes from the
//! client's JWK Set (by value, or fetched from its `jwks_uri` by the
//! caller): the first key whose `kty` fits the `alg`, with `use` `enc` or
//! none, and the same `alg` if it names one.
//!
//! [`seal_id_token`] is the one function every place that issues ID Tokens
//! calls (the token endpoint, and the front channel of hybrid and implicit
//! flows); [`seal_authorization_response`] encrypts JARM responses
//! (`authorization_encrypted_response_alg`/`enc`, JARM §2.2) the same way.

use authrim_jose::jwe::encrypt_compact;
pub use authrim_jose::jwe::{ContentEnc, KeyAlg};
use authrim_jose::Jwks;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client_metadata::ClientMetadata;

/// The `cty` of a nested JWT (RFC 7519 §5.2).
pub const NESTED_JWT_CTY: &str = "JWT";

/// The ID Token to hand to `metadata`'s client: `signed_id_token` as it
/// is, or encrypted to the client's key when it registered
/// `id_token_encrypted_response_alg`. `keys` is the client's JWK Set; it
/// is only read (and may be `None`) when the client registered none.
pub fn seal_id_token(
    metadata: &ClientMetadata,
    keys: Option<&Jwks>,
    signed_id_token: String,
) -> Result<String, OAuthError> {
    match metadata.id_token_encryption() {
        None => Ok(signed_id_token),
        Some((alg, enc)) => encrypt_to(
            keys,
            alg,
            enc,
            Some(NESTED_JWT_CTY),
            signed_id_token.as_bytes(),
            "id_token_encrypted_response_alg",
        ),
    }
}

/// Encrypts a UserInfo response for `metadata`'s client, which registered
/// `userinfo_encrypted_response_alg`: `payload` is the signed UserInfo JWT
/// (`nested` true) or the JSON claims. `None` when the client registered
/// no UserInfo encryption.
pub fn seal_userinfo(
    metadata: &ClientMetadata,
    keys: Option<&Jwks>,
    payload: &[u8],
    nested: bool,
) -> Option<Result<String, OAuthError>> {
    let (alg, enc) = metadata.userinfo_encryption()?;
    Some(encrypt_to(
        keys,
        alg,
        enc,
        nested.then_some(NESTED_JWT_CTY),
        payload,
        "userinfo_encrypted_response_alg",
    ))
}

/// A JARM response JWT for a client that registered
/// `authorization_encrypted_response_alg` (JARM §2.2): the signed JWT
/// encrypted to the client's key as a nested JWT. `keys` is the client's
/// JWK Set.
pub fn seal_authorization_response(
    encryption: (KeyAlg, ContentEnc),
    keys: &Jwks,
    signed_jwt: &str,
) -> Result<String, OAuthError> {
    let (alg, enc) = encryption;
    encrypt_to(
        Some(keys),
        alg,
        enc,
        Some(NESTED_JWT_CTY),
        signed_jwt.as_bytes(),
        "authorization_encrypted_response_alg",
    )
}

/// Whether serving this client needs its JWK Set (to encrypt its ID
/// Tokens or UserInfo responses).
pub fn needs_keys(metadata: &ClientMetadata) -> bool {
    metadata.id_token_encryption().is_some() || metadata.userinfo_encryption().is_some()
}

fn encrypt_to(
    keys: Option<&Jwks>,
    alg: KeyAlg,
    enc: ContentEnc,
    cty: Option<&str>,
    payload: &[u8],
    member: &str,
) -> Result<String, OAuthError> {
    let key = keys
        .and_then(|k| k.select_encryption(alg))
        .ok_or_else(|| no_key(member, alg))?;
    encrypt_compact(key, alg, enc, cty, payload).map_err(|e| {
        // A key that parsed but cannot be used (e.g. an RSA modulus under
        // 2048 bits): the client's registration is at fault.
        OAuthError::with_description(
            ErrorCode::InvalidRequest,
            format!("the client's encryption key for {member} {alg} is unusable: {e}"),
        )
    })
}

/// The client registered encryption but its JWK Set (from `jwks_uri`, or
/// changed since) holds no key for it: the client's configuration is at
/// fault, so it is told, not a server error.
pub fn no_key(member: &str, alg: KeyAlg) -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidRequest,
        format!(
            "the client's JWK Set holds no key for {member} {alg} (an {} key with use enc or no use)",
            alg.kty()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_jose::{test_keys, Jwk};

    fn rsa_enc_set() -> Jwks {
        let jwk = Jwk {
            key: test_keys::rsa().public_key(),
            kid: Some("enc-1".into()),
            alg: None,
            use_: Some("enc".into()),
        };
        Jwks { keys: vec![jwk] }
    }

    fn metadata(json: &str) -> ClientMetadata {
        ClientMetadata::from_json(json).unwrap()
    }

    #[test]
    fn id_token_passes_through_without_encryption() {
        let m = metadata("{}");
        assert_eq!(seal_id_token(&m, None, "a.b.c".into()).unwrap(), "a.b.c");
        assert!(!needs_keys(&m));
        assert!(seal_userinfo(&m, None, b"{}", false).is_none());
    }

    #[test]
    fn id_token_is_nested_and_encrypted_to_the_client_key() {
        let m = metadata(r#"{"id_token_encrypted_response_alg":"RSA-OAEP-256"}"#);
        assert!(needs_keys(&m));
        let jwe = seal_id_token(&m, Some(&rsa_enc_set()), "a.b.c".into()).unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header: serde_json::Value =
            serde_json::from_slice(&authrim_jose::b64::decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RSA-OAEP-256");
        assert_eq!(header["enc"], "A128CBC-HS256");
        assert_eq!(header["cty"], "JWT");
        assert_eq!(header["kid"], "enc-1");
        let jarm = seal_authorization_response(
            (KeyAlg::RsaOaep, ContentEnc::A256Gcm),
            &rsa_enc_set(),
            "a.b.c",
        )
        .unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &authrim_jose::b64::decode(jarm.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (&header["alg"], &header["enc"], &header["cty"]),
            (&"RSA-OAEP".into(), &"A256GCM".into(), &"JWT".into())
        );
    }

    #[test]
    fn no_fitting_key_is_the_clients_error() {
        let m = metadata(r#"{"id_token_encrypted_response_alg":"ECDH-ES"}"#);
        for keys in [None, Some(rsa_enc_set())] {
            let e = seal_id_token(&m, keys.as_ref(), "a.b.c".into()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert_eq!(
                e.description.as_deref(),
                Some("the client's JWK Set holds no key for id_token_encrypted_response_alg ECDH-ES (an EC key with use enc or no use)")
            );
        }
        let e = seal_authorization_response(
            (KeyAlg::EcdhEsA128Kw, ContentEnc::A128Gcm),
            &rsa_enc_set(),
            "a.b.c",
        )
        .unwrap_err();
        assert!(e
            .description
            .unwrap()
            .contains("authorization_encrypted_response_alg ECDH-ES+A128KW"));
        let m = metadata(r#"{"userinfo_encrypted_response_alg":"RSA-OAEP"}"#);
        let jwe = seal_userinfo(&m, Some(&rsa_enc_set()), b"{}", false)
            .unwrap()
            .unwrap();
        let header = authrim_jose::b64::decode(jwe.split('.').next().unwrap()).unwrap();
        assert!(!String::from_utf8(header).unwrap().contains("cty"));
    }
}
