//! Proof Key for Code Exchange (RFC 7636).
//!
//! At the authorization endpoint (and PAR) [`CodeChallenge::from_request`]
//! checks `code_challenge` / `code_challenge_method` against the client's
//! [`PkcePolicy`]; errors are `invalid_request` (RFC 7636 §4.4.1), which the
//! caller may redirect. The challenge is stored with the code; at the token
//! endpoint [`verify_code_verifier`] checks `code_verifier` against it;
//! errors are `invalid_grant` (RFC 7636 §4.6).
//!
//! A challenge sent without a method means `plain` (RFC 7636 §4.3). Authrim
//! refuses `plain` unless a confidential client registered
//! `allow_plain_pkce`; public clients must use PKCE, with S256. A
//! `code_verifier` for a code issued without a challenge is refused (the
//! PKCE downgrade of RFC 9700 §4.8.2).

use std::fmt;

use authrim_protocol::secret::constant_time_eq;
use authrim_protocol::{ErrorCode, OAuthError};
use sha2::{Digest, Sha256};

use crate::client_metadata::ClientMetadata;

/// `code_challenge_methods_supported` for discovery: `plain` is only a
/// per-client exception, so it is not advertised.
pub const METHODS_SUPPORTED: &[&str] = &["S256"];

/// `code_challenge_method` (RFC 7636 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    /// Case-sensitive, as the RFC registers them.
    pub fn parse(s: &str) -> Option<ChallengeMethod> {
        match s {
            "S256" => Some(ChallengeMethod::S256),
            "plain" => Some(ChallengeMethod::Plain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }
}

impl fmt::Display for ChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a client must do about PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PkcePolicy {
    /// A request without `code_challenge` is refused.
    pub required: bool,
    /// `plain` is accepted.
    pub allow_plain: bool,
}

impl PkcePolicy {
    /// Public clients must use S256. Confidential clients need PKCE when the
    /// deployment says so (`require_for_all`, as RFC 9700 §2.1.1 recommends),
    /// and may use `plain` only with `allow_plain_pkce`.
    pub fn for_client(client: &ClientMetadata, require_for_all: bool) -> PkcePolicy {
        let public = client.is_public();
        PkcePolicy {
            required: public || require_for_all,
            allow_plain: client.allow_plain_pkce && !public,
        }
    }
}

/// A checked code challenge, as stored with an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge {
    challenge: String,
    method: ChallengeMethod,
}

fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::invalid_request(description)
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidGrant, description)
}

/// `unreserved` of RFC 3986 §2.3, the alphabet of verifiers and challenges.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 7636 §4.1: `43*128unreserved`.
fn is_verifier_syntax(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(is_unreserved)
}

impl CodeChallenge {
    /// Checks the PKCE parameters of an authorization request. `Ok(None)`
    /// when the client sent none and the policy does not require PKCE.
    pub fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
        policy: PkcePolicy,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let Some(challenge) = challenge else {
            if method.is_some() {
                return Err(invalid_request(
                    "code_challenge_method was sent without code_challenge",
                ));
            }
            if policy.required {
                return Err(invalid_request(
                    "code_challenge is required (PKCE with S256, RFC 7636)",
                ));
            }
            return Ok(None);
        };
        let method = match method {
            None => ChallengeMethod::Plain,
            Some(m) => ChallengeMethod::parse(m)
                .ok_or_else(|| invalid_request("unsupported code_challenge_method: use S256"))?,
        };
        let well_formed = match method {
            // BASE64URL(SHA256(verifier)): always 43 characters.
            ChallengeMethod::S256 => {
                challenge.len() == 43
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }
            ChallengeMethod::Plain => is_verifier_syntax(challenge),
        };
        if method == ChallengeMethod::Plain && !policy.allow_plain {
            return Err(invalid_request(
                "code_challenge_method plain is not allowed: use S256",
            ));
        }
        if !well_formed {
            return Err(invalid_request("code_challenge is malformed"));
        }
        Ok(Some(CodeChallenge {
            challenge: challenge.to_string(),
            method,
        }))
    }

    /// Reads the challenge stored with a code (`code-challenge`,
    /// `code-challenge-method`). A missing method means `plain`, as in the
    /// request; an unknown one is a server fault, never "no PKCE".
    pub fn from_stored(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let method = match method {
            None => ChallengeMethod::Plain,
            Some(m) => ChallengeMethod::parse(m).ok_or_else(OAuthError::server_error)?,
        };
        Ok(Some(CodeChallenge {
            challenge: challenge.to_string(),
            method,
        }))
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    pub fn method(&self) -> ChallengeMethod {
        self.method
    }

    /// Checks `code_verifier` against this challenge in constant time.
    pub fn verify(&self, verifier: &str) -> Result<(), OAuthError> {
        if !is_verifier_syntax(verifier) {
            return Err(invalid_grant("code_verifier is malformed"));
        }
        let ok = match self.method {
            ChallengeMethod::S256 => {
                let computed = authrim_jose::b64::encode(Sha256::digest(verifier.as_bytes()));
                constant_time_eq(computed.as_bytes(), self.challenge.as_bytes())
            }
            ChallengeMethod::Plain => {
                constant_time_eq(verifier.as_bytes(), self.challenge.as_bytes())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(invalid_grant(
                "code_verifier does not match the code_challenge",
            ))
        }
    }
}

/// The token endpoint's PKCE check for a redeemed code: `stored` is the
/// code's challenge, `verifier` the request's `code_verifier`.
pub fn verify_code_verifier(
    stored: Option<&CodeChallenge>,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    match (stored, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier was sent but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is required")),
        (Some(challenge), Some(verifier)) => challenge.verify(verifier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_metadata::AuthMethod;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    const STRICT: PkcePolicy = PkcePolicy {
        required: true,
        allow_plain: false,
    };
    const OPTIONAL: PkcePolicy = PkcePolicy {
        required: false,
        allow_plain: false,
    };
    const PLAIN_OK: PkcePolicy = PkcePolicy {
        required: false,
        allow_plain: true,
    };

    #[test]
    fn rfc7636_appendix_b() {
        let c = CodeChallenge::from_request(Some(CHALLENGE), Some("S256"), STRICT)
            .unwrap()
            .unwrap();
        assert_eq!(c.method(), ChallengeMethod::S256);
        assert_eq!(c.challenge(), CHALLENGE);
        c.verify(VERIFIER).unwrap();
        verify_code_verifier(Some(&c), Some(VERIFIER)).unwrap();
        // The RFC's octets, base64url-encoded, are the verifier.
        let octets = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(authrim_jose::b64::encode(octets), VERIFIER);
    }

    /// challenge, method, policy, expected outcome.
    type RequestRow<'a, T> = (Option<&'a str>, Option<&'a str>, PkcePolicy, T);

    #[test]
    fn authorization_request_table() {
        let v43 = "a".repeat(43);
        let v128 = "~".repeat(128);
        let ok: &[RequestRow<Option<ChallengeMethod>>] = &[
            (None, None, OPTIONAL, None),
            (
                Some(CHALLENGE),
                Some("S256"),
                OPTIONAL,
                Some(ChallengeMethod::S256),
            ),
            (
                Some(CHALLENGE),
                Some("S256"),
                STRICT,
                Some(ChallengeMethod::S256),
            ),
            (
                Some(&v43),
                Some("plain"),
                PLAIN_OK,
                Some(ChallengeMethod::Plain),
            ),
            (Some(&v128), None, PLAIN_OK, Some(ChallengeMethod::Plain)),
            (
                Some(CHALLENGE),
                None,
                PLAIN_OK,
                Some(ChallengeMethod::Plain),
            ),
        ];
        for (challenge, method, policy, expected) in ok {
            let got = CodeChallenge::from_request(*challenge, *method, *policy)
                .unwrap_or_else(|e| panic!("{challenge:?} {method:?}: {e}"));
            assert_eq!(
                got.map(|c| c.method()),
                *expected,
                "{challenge:?} {method:?}"
            );
        }

        let v42 = "a".repeat(42);
        let v129 = "a".repeat(129);
        let s256_44 = format!("{CHALLENGE}A");
        let s256_padded = format!("{}=", &CHALLENGE[..42]);
        let plus = CHALLENGE.replace('-', "+");
        let bad: &[RequestRow<&str>] = &[
            (
                None,
                None,
                STRICT,
                "code_challenge is required (PKCE with S256, RFC 7636)",
            ),
            (
                None,
                Some("S256"),
                OPTIONAL,
                "code_challenge_method was sent without code_challenge",
            ),
            (
                Some(CHALLENGE),
                None,
                STRICT,
                "code_challenge_method plain is not allowed: use S256",
            ),
            (
                Some(CHALLENGE),
                None,
                OPTIONAL,
                "code_challenge_method plain is not allowed: use S256",
            ),
            (
                Some(CHALLENGE),
                Some("plain"),
                STRICT,
                "code_challenge_method plain is not allowed: use S256",
            ),
            (
                Some(CHALLENGE),
                Some("s256"),
                STRICT,
                "unsupported code_challenge_method: use S256",
            ),
            (
                Some(CHALLENGE),
                Some("S512"),
                PLAIN_OK,
                "unsupported code_challenge_method: use S256",
            ),
            (
                Some(CHALLENGE),
                Some("PLAIN"),
                PLAIN_OK,
                "unsupported code_challenge_method: use S256",
            ),
            (
                Some(&s256_44),
                Some("S256"),
                STRICT,
                "code_challenge is malformed",
            ),
            (
                Some(&CHALLENGE[..42]),
                Some("S256"),
                STRICT,
                "code_challenge is malformed",
            ),
            (
                Some(&s256_padded),
                Some("S256"),
                STRICT,
                "code_challenge is malformed",
            ),
            (
                Some(&plus),
                Some("S256"),
                STRICT,
                "code_challenge is malformed",
            ),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw~cM"),
                Some("S256"),
                STRICT,
                "code_challenge is malformed",
            ),
            (
                Some(&v42),
                Some("plain"),
                PLAIN_OK,
                "code_challenge is malformed",
            ),
            (
                Some(&v129),
                Some("plain"),
                PLAIN_OK,
                "code_challenge is malformed",
            ),
            (
                Some("a b c d e f g h i j k l m n o p q r s t u v w"),
                Some("plain"),
                PLAIN_OK,
                "code_challenge is malformed",
            ),
        ];
        for (challenge, method, policy, description) in bad {
            let e = CodeChallenge::from_request(*challenge, *method, *policy).unwrap_err();
            assert_eq!(
                e.code,
                ErrorCode::InvalidRequest,
                "{challenge:?} {method:?}"
            );
            assert_eq!(
                e.description.as_deref(),
                Some(*description),
                "{challenge:?} {method:?}"
            );
        }
    }

    #[test]
    fn token_request_table() {
        let s256 = CodeChallenge::from_stored(Some(CHALLENGE), Some("S256")).unwrap();
        let plain_value = "p".repeat(50);
        let plain = CodeChallenge::from_stored(Some(&plain_value), Some("plain")).unwrap();
        assert_eq!(
            CodeChallenge::from_stored(Some(&plain_value), None).unwrap(),
            plain,
            "a stored challenge without method is plain"
        );
        let ok: &[(Option<&CodeChallenge>, Option<&str>)] = &[
            (None, None),
            (s256.as_ref(), Some(VERIFIER)),
            (plain.as_ref(), Some(&plain_value)),
        ];
        for (stored, verifier) in ok {
            verify_code_verifier(*stored, *verifier).unwrap();
        }
        let last_changed = format!("{}l", &VERIFIER[..42]);
        let bad: &[(Option<&CodeChallenge>, Option<&str>, &str)] = &[
            (
                None,
                Some(VERIFIER),
                "code_verifier was sent but the authorization request had no code_challenge",
            ),
            (s256.as_ref(), None, "code_verifier is required"),
            (
                s256.as_ref(),
                Some(&last_changed),
                "code_verifier does not match the code_challenge",
            ),
            // The challenge itself is not a verifier.
            (
                s256.as_ref(),
                Some(CHALLENGE),
                "code_verifier does not match the code_challenge",
            ),
            (
                s256.as_ref(),
                Some(&VERIFIER[..42]),
                "code_verifier is malformed",
            ),
            (
                s256.as_ref(),
                Some(&"a".repeat(129)),
                "code_verifier is malformed",
            ),
            (
                s256.as_ref(),
                Some("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk"),
                "code_verifier is malformed",
            ),
            (
                plain.as_ref(),
                Some(&"p".repeat(51)),
                "code_verifier does not match the code_challenge",
            ),
            (
                plain.as_ref(),
                Some(CHALLENGE),
                "code_verifier does not match the code_challenge",
            ),
        ];
        for (stored, verifier, description) in bad {
            let e = verify_code_verifier(*stored, *verifier).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidGrant, "{verifier:?}");
            assert_eq!(e.description.as_deref(), Some(*description), "{verifier:?}");
        }
        assert_eq!(
            CodeChallenge::from_stored(Some(CHALLENGE), Some("S512"))
                .unwrap_err()
                .code,
            ErrorCode::ServerError
        );
        assert_eq!(
            CodeChallenge::from_stored(None, Some("S256")).unwrap(),
            None
        );
    }

    #[test]
    fn policy_from_client_metadata() {
        let table = [
            (AuthMethod::None, false, false, true, false),
            (AuthMethod::None, true, false, true, false),
            (AuthMethod::ClientSecretBasic, false, false, false, false),
            (AuthMethod::ClientSecretBasic, false, true, true, false),
            (AuthMethod::PrivateKeyJwt, true, false, false, true),
            (AuthMethod::PrivateKeyJwt, true, true, true, true),
        ];
        for (method, allow_plain_pkce, require_for_all, required, allow_plain) in table {
            let client = ClientMetadata {
                token_endpoint_auth_method: method,
                allow_plain_pkce,
                ..ClientMetadata::default()
            };
            assert_eq!(
                PkcePolicy::for_client(&client, require_for_all),
                PkcePolicy {
                    required,
                    allow_plain
                },
                "{method} {allow_plain_pkce} {require_for_all}"
            );
        }
    }
}
