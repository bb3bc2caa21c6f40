//! Client authentication at the token, introspection, revocation and PAR
//! endpoints (RFC 6749 §2.3, RFC 7521 §4.2, RFC 7523 §2.2 and §3, OIDC Core §9).
//!
//! Two steps, with the store lookup between them:
//!
//! 1. [`ClientCredentials::extract`] finds the one method the request used:
//!    HTTP Basic, `client_secret` in the body, a `client_assertion`, or a
//!    bare `client_id` (public clients). More than one is `invalid_request`.
//! 2. The caller loads the client named by [`ClientCredentials::client_id`]
//!    (and, for `private_key_jwt` with a `jwks_uri`, fetches its keys), then
//!    [`ClientCredentials::authenticate`] checks the credentials against it.
//!    For an assertion the caller finally records its `jti` with op-store
//!    `one-time.mark-used` ([`UsedAssertion`]); a replay is refused.
//!
//! Every failure after step 1 is `invalid_client` (401, with a `Basic`
//! challenge when the client used HTTP Basic, RFC 6749 §5.2). Failures that
//! depend on the stored client (unknown client, wrong method, wrong secret,
//! bad signature) all carry the same description, so the answer never
//! tells whether a client exists. Checks that depend only on the request
//! (malformed assertion, expired, wrong audience) say what is wrong.

use std::fmt;

use authrim_jose::{b64, jws, Jwks};
use authrim_protocol::error::Challenge;
use authrim_protocol::secret::{constant_time_eq, hash_token};
use authrim_protocol::{ErrorCode, OAuthError};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha384, Sha512};

pub use crate::assertion::AssertionRules;
use crate::assertion::{ClaimsProblem, TimeClaims};
use crate::client_metadata::{AuthMethod, ClientId, ClientMetadata, JwsAlg};
use crate::form::{form_decode, Params};

/// `client_assertion_type` for JWT client authentication (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The op-store `one-time` namespace for client assertion `jti`s.
pub const JTI_NAMESPACE: &str = "client-assertion-jti";

const FAILED: &str = "client authentication failed";

/// The credentials a request presented, not yet checked.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic { client_id: ClientId, secret: String },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post { client_id: ClientId, secret: String },
    /// `client_assertion` (`private_key_jwt` or `client_secret_jwt`).
    Jwt(ClientAssertion),
    /// `client_id` alone (`none`).
    None { client_id: ClientId },
}

/// Secrets stay out of logs.
impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {{ client_id: {:?} }}",
            self.method(),
            self.client_id().as_str()
        )
    }
}

/// A parsed client assertion whose signature is not yet verified.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientAssertion {
    client_id: ClientId,
    alg: JwsAlg,
    kid: Option<String>,
    /// `header.payload`, the JWS signing input.
    signing_input: String,
    signature: Vec<u8>,
    times: TimeClaims,
    jti: String,
}

/// The assertion is a bearer credential until its `jti` is recorded: it
/// stays out of logs.
impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertion")
            .field("client_id", &self.client_id.as_str())
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

impl ClientAssertion {
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The header's `alg`.
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    pub fn jti(&self) -> &str {
        &self.jti
    }
}

/// Verifies `client_secret_jwt` MACs with the client's secret, which only
/// op-store can read (it is sealed at rest, not hashed, for this method).
pub trait SecretMac {
    /// Whether `mac` is the HMAC with `alg` (HS256, HS384 or HS512) of
    /// `signing_input` under the client's secret, compared in constant time.
    fn verify(&self, alg: JwsAlg, signing_input: &[u8], mac: &[u8]) -> bool;
}

/// [`SecretMac`] over a secret held in memory. Refuses keys shorter than
/// the hash output (RFC 7518 §3.2), so a 43-character secret serves HS256
/// but not HS384 or HS512.
pub struct HmacSecret<'a>(pub &'a [u8]);

impl SecretMac for HmacSecret<'_> {
    fn verify(&self, alg: JwsAlg, signing_input: &[u8], mac: &[u8]) -> bool {
        fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8], mac: &[u8]) -> bool {
            match <M as Mac>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(input);
                    m.verify_slice(mac).is_ok()
                }
                Err(_) => false,
            }
        }
        let key = self.0;
        match alg {
            JwsAlg::HS256 => key.len() >= 32 && check::<Hmac<Sha256>>(key, signing_input, mac),
            JwsAlg::HS384 => key.len() >= 48 && check::<Hmac<Sha384>>(key, signing_input, mac),
            JwsAlg::HS512 => key.len() >= 64 && check::<Hmac<Sha512>>(key, signing_input, mac),
            JwsAlg::RS256 | JwsAlg::ES256 => false,
        }
    }
}

/// The stored client, as far as authentication needs it.
#[derive(Clone, Copy)]
pub struct RegisteredClient<'a> {
    pub metadata: &'a ClientMetadata,
    /// op-store `clients.secret-hash` (`hash_token` of the secret).
    pub secret_hash: Option<&'a str>,
    /// The client's keys (`jwks`, or the document at `jwks_uri`); needed
    /// for `private_key_jwt` only.
    pub jwks: Option<&'a Jwks>,
    /// Needed for `client_secret_jwt` only.
    pub secret_mac: Option<&'a dyn SecretMac>,
}

/// An authenticated client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub client_id: ClientId,
    pub method: AuthMethod,
    /// For JWT methods: the `jti` to record as used.
    pub assertion: Option<UsedAssertion>,
}

/// A client assertion's `jti`, to record with op-store
/// `one-time.mark-used(JTI_NAMESPACE, replay_key, expires_at, now)`. When
/// that returns false the assertion is a replay: answer [`UsedAssertion::replay_error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedAssertion {
    pub jti: String,
    /// `exp` plus the leeway: until then the assertion would be accepted.
    pub expires_at: i64,
    /// SHA-256 hex of the client id and `jti`: `jti`s are unique per client.
    pub replay_key: String,
}

impl UsedAssertion {
    pub fn replay_error() -> OAuthError {
        OAuthError::with_description(
            ErrorCode::InvalidClient,
            "client assertion was already used",
        )
    }
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidClient, description)
}

fn malformed_basic() -> OAuthError {
    invalid_client("malformed HTTP Basic credentials").challenge(Challenge::Basic)
}

/// Standard base64 (RFC 7617), with or without padding.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `Authorization: Basic`, decoded per RFC 6749 §2.3.1: base64, then the id
/// and secret are each form-url-decoded. `None` for other schemes (e.g. a
/// DPoP or Bearer header, which is not client authentication).
fn parse_basic(header: &str) -> Result<Option<(ClientId, String)>, OAuthError> {
    let header = header.trim();
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = BASIC_B64
        .decode(token.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(malformed_basic)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed_basic)?;
    let id = form_decode(id).map_err(|_| malformed_basic())?;
    let secret = form_decode(secret).map_err(|_| malformed_basic())?;
    let id = ClientId::parse(&id).ok_or_else(malformed_basic)?;
    if secret.is_empty() {
        return Err(malformed_basic());
    }
    Ok(Some((id, secret)))
}

impl ClientCredentials {
    /// Finds the client authentication in a request: its `Authorization`
    /// header (if any) and its form parameters.
    pub fn extract(
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<ClientCredentials, OAuthError> {
        let basic = match authorization {
            Some(header) => parse_basic(header)?,
            None => None,
        };
        let secret = params.get("client_secret");
        let assertion = params.get("client_assertion");
        let assertion_type = params.get("client_assertion_type");
        let jwt = assertion.is_some() || assertion_type.is_some();
        if usize::from(basic.is_some()) + usize::from(secret.is_some()) + usize::from(jwt) > 1 {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method was used",
            ));
        }
        let param_id = match params.get("client_id") {
            Some(id) => Some(
                ClientId::parse(id)
                    .ok_or_else(|| OAuthError::invalid_request("client_id is malformed"))?,
            ),
            None => None,
        };
        if let Some((client_id, secret)) = basic {
            if param_id.is_some_and(|p| p != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the HTTP Basic credentials",
                ));
            }
            return Ok(ClientCredentials::Basic { client_id, secret });
        }
        if jwt {
            let (Some(assertion), Some(assertion_type)) = (assertion, assertion_type) else {
                return Err(OAuthError::invalid_request(
                    "client_assertion and client_assertion_type must be sent together",
                ));
            };
            if assertion_type != JWT_BEARER_ASSERTION_TYPE {
                return Err(invalid_client("unsupported client_assertion_type"));
            }
            let assertion = ClientAssertion::parse(assertion)?;
            if param_id.is_some_and(|p| p != assertion.client_id) {
                return Err(invalid_client(
                    "client_id does not match the client assertion",
                ));
            }
            return Ok(ClientCredentials::Jwt(assertion));
        }
        match (param_id, secret) {
            (Some(client_id), Some(secret)) => Ok(ClientCredentials::Post {
                client_id,
                secret: secret.to_string(),
            }),
            (None, Some(_)) => Err(OAuthError::invalid_request(
                "client_secret was sent without client_id",
            )),
            (Some(client_id), None) => Ok(ClientCredentials::None { client_id }),
            (None, None) => Err(invalid_client("client authentication is required")),
        }
    }

    /// The client to look up.
    pub fn client_id(&self) -> &ClientId {
        match self {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. }
            | ClientCredentials::None { client_id } => client_id,
            ClientCredentials::Jwt(a) => &a.client_id,
        }
    }

    /// The method used; it must be the one the client registered.
    pub fn method(&self) -> AuthMethod {
        match self {
            ClientCredentials::Basic { .. } => AuthMethod::ClientSecretBasic,
            ClientCredentials::Post { .. } => AuthMethod::ClientSecretPost,
            ClientCredentials::Jwt(a) if a.alg.is_hmac() => AuthMethod::ClientSecretJwt,
            ClientCredentials::Jwt(_) => AuthMethod::PrivateKeyJwt,
            ClientCredentials::None { .. } => AuthMethod::None,
        }
    }

    /// `invalid_client` for this request: 401 with a `Basic` challenge when
    /// the client used HTTP Basic. Callers use it for their own
    /// authentication failures (e.g. a replayed assertion, a disabled client).
    pub fn error(&self, description: &'static str) -> OAuthError {
        let e = invalid_client(description);
        match self {
            ClientCredentials::Basic { .. } => e.challenge(Challenge::Basic),
            _ => e,
        }
    }

    /// Checks the credentials against the stored client (`None` when no
    /// client has this id). `now` is UNIX seconds.
    pub fn authenticate(
        &self,
        client: Option<&RegisteredClient<'_>>,
        rules: &AssertionRules,
        now: i64,
    ) -> Result<Authenticated, OAuthError> {
        let mut used = None;
        if let ClientCredentials::Jwt(a) = self {
            used = Some(a.check_claims(rules, now)?);
        }
        let Some(client) = client else {
            if let ClientCredentials::Basic { secret, .. }
            | ClientCredentials::Post { secret, .. } = self
            {
                // As much work as for a known client.
                let _ = hash_token(secret);
            }
            return Err(self.error(FAILED));
        };
        if client.metadata.token_endpoint_auth_method != self.method() {
            return Err(self.error(FAILED));
        }
        let ok = match self {
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
                let presented = hash_token(secret);
                client
                    .secret_hash
                    .is_some_and(|stored| constant_time_eq(presented.as_bytes(), stored.as_bytes()))
            }
            ClientCredentials::None { .. } => true,
            ClientCredentials::Jwt(a) => a.verify_signature(client),
        };
        if !ok {
            return Err(self.error(FAILED));
        }
        Ok(Authenticated {
            client_id: self.client_id().clone(),
            method: self.method(),
            assertion: used,
        })
    }
}

fn malformed_assertion() -> OAuthError {
    invalid_client("client assertion is malformed")
}

fn json_object(part: &str) -> Result<Map<String, Value>, OAuthError> {
    let bytes = b64::decode(part).map_err(|_| malformed_assertion())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed_assertion()),
    }
}

/// A shared claims check's failure, said of the client assertion.
fn claims_error(p: ClaimsProblem) -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidClient,
        format!("client assertion {}", p.describe()),
    )
}

impl ClientAssertion {
    /// Parses a compact JWS client assertion without verifying it, and
    /// checks what needs no stored state: `alg`, and `iss` = `sub` = a
    /// client id, `aud`, `exp` and `jti` present (RFC 7523 §3, OIDC Core §9).
    pub fn parse(token: &str) -> Result<ClientAssertion, OAuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed_assertion());
        };
        let header = json_object(h)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(JwsAlg::parse)
            .ok_or_else(|| {
                invalid_client("client assertion alg must be RS256, ES256, HS256, HS384 or HS512")
            })?;
        if header.contains_key("crit") {
            return Err(malformed_assertion());
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed_assertion()),
        };
        let claims = json_object(p)?;
        let signature = b64::decode(s).map_err(|_| malformed_assertion())?;

        let string = |name: &str| claims.get(name).and_then(Value::as_str);
        let (Some(iss), Some(sub)) = (string("iss"), string("sub")) else {
            return Err(invalid_client("client assertion needs iss and sub"));
        };
        if iss != sub {
            return Err(invalid_client(
                "client assertion iss and sub must both be the client_id",
            ));
        }
        let client_id = ClientId::parse(sub).ok_or_else(malformed_assertion)?;
        let times = TimeClaims::read(&claims).map_err(claims_error)?;
        let jti = match string("jti") {
            Some(jti) if !jti.is_empty() => jti.to_string(),
            _ => return Err(invalid_client("client assertion needs jti")),
        };
        Ok(ClientAssertion {
            client_id,
            alg,
            kid,
            signing_input: token[..h.len() + 1 + p.len()].to_string(),
            signature,
            times,
            jti,
        })
    }

    /// The time and audience checks (shared with the JWT bearer grant),
    /// which need no stored state.
    fn check_claims(&self, rules: &AssertionRules, now: i64) -> Result<UsedAssertion, OAuthError> {
        let expires_at = self.times.check(rules, now).map_err(claims_error)?;
        Ok(UsedAssertion {
            jti: self.jti.clone(),
            expires_at,
            replay_key: hash_token(&format!("{}\n{}", self.client_id, self.jti)),
        })
    }

    fn verify_signature(&self, client: &RegisteredClient<'_>) -> bool {
        if client
            .metadata
            .token_endpoint_auth_signing_alg
            .is_some_and(|registered| registered != self.alg)
        {
            return false;
        }
        match self.alg.asymmetric() {
            Some(alg) => client
                .jwks
                .and_then(|jwks| jwks.select(self.kid.as_deref(), alg))
                .is_some_and(|jwk| {
                    jws::verify_signature(
                        &jwk.key,
                        alg,
                        self.signing_input.as_bytes(),
                        &self.signature,
                    )
                    .is_ok()
                }),
            None => client.secret_mac.is_some_and(|mac| {
                mac.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_jose::{test_keys, Alg, SigningKey};
    use serde_json::json;

    const TOKEN_ENDPOINT: &str = "https://id.example.com/token";
    const ISSUER: &str = "https://id.example.com";
    const NOW: i64 = 1_800_000_000;
    const SECRET: &str = "Tr8xQeK3nV0aW9sYbLm2cZ7uH4gJ1pD6fR5tE0iO3kA";

    fn rules() -> AssertionRules {
        AssertionRules::new(vec![ISSUER.into(), TOKEN_ENDPOINT.into()])
    }

    fn basic(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    }

    fn extract(auth: Option<&str>, body: &str) -> Result<ClientCredentials, OAuthError> {
        ClientCredentials::extract(auth, &Params::parse(body).unwrap())
    }

    fn claims(client_id: &str) -> Value {
        json!({
            "iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT,
            "exp": NOW + 60, "iat": NOW, "jti": "jti-1",
        })
    }

    fn hs_jwt(alg: &str, key: &[u8], claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(json!({"alg": alg}).to_string()),
            b64::encode(claims.to_string())
        );
        let mac = match alg {
            "HS256" => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            "HS512" => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            _ => unreachable!(),
        };
        format!("{input}.{}", b64::encode(mac))
    }

    fn signed_jwt(key: &SigningKey, kid: &str, claims: &Value) -> String {
        jws::sign_compact(key, kid, None, claims.to_string().as_bytes()).unwrap()
    }

    fn jwt_without_kid(key: &SigningKey, claims: &Value) -> String {
        let header = json!({"alg": key.alg().as_str()}).to_string();
        let input = format!(
            "{}.{}",
            b64::encode(header),
            b64::encode(claims.to_string())
        );
        format!(
            "{input}.{}",
            b64::encode(key.sign(input.as_bytes()).unwrap())
        )
    }

    fn assertion_body(jwt: &str) -> String {
        format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={jwt}",
            crate::form::form_encode(JWT_BEARER_ASSERTION_TYPE)
        )
    }

    #[test]
    fn extracts_exactly_one_method() {
        let jwt = hs_jwt("HS256", SECRET.as_bytes(), &claims("c1"));
        let a = assertion_body(&jwt);
        let table: &[(Option<&str>, &str, AuthMethod, &str)] = &[
            (
                Some(&basic("c1", "s3cret")),
                "grant_type=x",
                AuthMethod::ClientSecretBasic,
                "c1",
            ),
            (
                Some(&basic("c1", "s3cret")),
                "client_id=c1",
                AuthMethod::ClientSecretBasic,
                "c1",
            ),
            // RFC 6749 §2.3.1: id and secret are form-encoded before base64.
            (
                Some(&basic("my+client%3A1", "p%3Ass")),
                "",
                AuthMethod::ClientSecretBasic,
                "my client:1",
            ),
            (
                Some("basic YzE6czNjcmV0"),
                "",
                AuthMethod::ClientSecretBasic,
                "c1",
            ),
            (
                Some("Basic YzE6czNjcmV0YQ"),
                "",
                AuthMethod::ClientSecretBasic,
                "c1",
            ),
            (
                None,
                "client_id=c1&client_secret=s3cret",
                AuthMethod::ClientSecretPost,
                "c1",
            ),
            (None, &a, AuthMethod::ClientSecretJwt, "c1"),
            (
                None,
                &format!("{a}&client_id=c1"),
                AuthMethod::ClientSecretJwt,
                "c1",
            ),
            (None, "client_id=c1", AuthMethod::None, "c1"),
            (None, "client_id=c1&client_secret=", AuthMethod::None, "c1"),
            // Other schemes are not client authentication.
            (Some("Bearer abc"), "client_id=c1", AuthMethod::None, "c1"),
            (
                Some("DPoP abc"),
                "client_id=c1&client_secret=s",
                AuthMethod::ClientSecretPost,
                "c1",
            ),
        ];
        for (auth, body, method, id) in table {
            let c = extract(*auth, body).unwrap_or_else(|e| panic!("{auth:?} {body}: {e}"));
            assert_eq!(c.method(), *method, "{auth:?} {body}");
            assert_eq!(c.client_id().as_str(), *id, "{auth:?} {body}");
        }
        match extract(Some(&basic("my+client", "p%3As+s%25")), "").unwrap() {
            ClientCredentials::Basic { secret, .. } => assert_eq!(secret, "p:s s%"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_ambiguous_and_malformed_requests() {
        let jwt = hs_jwt("HS256", SECRET.as_bytes(), &claims("c1"));
        let a = assertion_body(&jwt);
        let b = basic("c1", "s");
        use ErrorCode::{InvalidClient as Client, InvalidRequest as Request};
        let table: &[(Option<&str>, &str, ErrorCode, &str, bool)] = &[
            (Some(&b), "client_secret=s", Request, "more than one client authentication method was used", false),
            (Some(&b), "client_id=c1&client_secret=s", Request, "more than one client authentication method was used", false),
            (Some(&b), &a, Request, "more than one client authentication method was used", false),
            (None, &format!("{a}&client_id=c1&client_secret=s"), Request, "more than one client authentication method was used", false),
            (Some(&b), "client_id=c2", Request, "client_id does not match the HTTP Basic credentials", false),
            (None, "client_secret=s", Request, "client_secret was sent without client_id", false),
            (None, "client_id=c%0A1", Request, "client_id is malformed", false),
            (None, "", Client, "client authentication is required", false),
            (None, "grant_type=client_credentials", Client, "client authentication is required", false),
            (None, &format!("client_assertion={jwt}"), Request, "client_assertion and client_assertion_type must be sent together", false),
            (None, &format!("client_assertion_type={}", crate::form::form_encode(JWT_BEARER_ASSERTION_TYPE)), Request, "client_assertion and client_assertion_type must be sent together", false),
            (None, &format!("client_assertion={jwt}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Asaml2-bearer"), Client, "unsupported client_assertion_type", false),
            (None, &format!("{a}&client_id=c2"), Client, "client_id does not match the client assertion", false),
            (Some("Basic"), "", Client, "malformed HTTP Basic credentials", true),
            (Some("Basic !!!"), "", Client, "malformed HTTP Basic credentials", true),
            (Some("Basic YzFzM2NyZXQ="), "", Client, "malformed HTTP Basic credentials", true), // no colon
            (Some(&basic("", "s")), "", Client, "malformed HTTP Basic credentials", true),
            (Some(&basic("c1", "")), "", Client, "malformed HTTP Basic credentials", true),
            (Some(&basic("c1", "%zz")), "", Client, "malformed HTTP Basic credentials", true),
            (Some(&basic("c%0A1", "s")), "", Client, "malformed HTTP Basic credentials", true),
            (Some(&basic("c%C3%A9", "s")), "", Client, "malformed HTTP Basic credentials", true), // not VSCHAR
            (Some("Basic /w=="), "", Client, "malformed HTTP Basic credentials", true), // not UTF-8
        ];
        for (auth, body, code, description, challenge) in table {
            let e = extract(*auth, body).unwrap_err();
            assert_eq!(e.code, *code, "{auth:?} {body}");
            assert_eq!(
                e.description.as_deref(),
                Some(*description),
                "{auth:?} {body}"
            );
            assert_eq!(
                e.challenge == Some(Challenge::Basic),
                *challenge,
                "{auth:?} {body}"
            );
        }
    }

    #[test]
    fn refuses_malformed_assertions() {
        let enc = |v: Value| b64::encode(v.to_string());
        let hs = enc(json!({"alg": "HS256"}));
        let body = |c: Value| format!("{hs}.{}.AAAA", enc(c));
        let mut no_jti = claims("c1");
        no_jti.as_object_mut().unwrap().remove("jti");
        let mut no_exp = claims("c1");
        no_exp.as_object_mut().unwrap().remove("exp");
        let table: Vec<(String, &str)> = vec![
            ("a.b".into(), "client assertion is malformed"),
            ("a.b.c.d".into(), "client assertion is malformed"),
            (
                format!("!.{}.AA", enc(claims("c1"))),
                "client assertion is malformed",
            ),
            (
                format!("{}.{}.AA", enc(json!({"alg": "none"})), enc(claims("c1"))),
                "client assertion alg must be RS256, ES256, HS256, HS384 or HS512",
            ),
            (
                format!("{}.{}.AA", enc(json!({"alg": "PS256"})), enc(claims("c1"))),
                "client assertion alg must be RS256, ES256, HS256, HS384 or HS512",
            ),
            (
                format!("{}.{}.AA", enc(json!({"typ": "JWT"})), enc(claims("c1"))),
                "client assertion alg must be RS256, ES256, HS256, HS384 or HS512",
            ),
            (
                format!(
                    "{}.{}.AA",
                    enc(json!({"alg": "HS256", "crit": ["x"]})),
                    enc(claims("c1"))
                ),
                "client assertion is malformed",
            ),
            (
                format!(
                    "{}.{}.AA",
                    enc(json!({"alg": "HS256", "kid": 5})),
                    enc(claims("c1"))
                ),
                "client assertion is malformed",
            ),
            (
                format!("{hs}.{}.AA", b64::encode("[]")),
                "client assertion is malformed",
            ),
            (
                format!("{hs}.{}.A", enc(claims("c1"))),
                "client assertion is malformed",
            ),
            (
                body(json!({"sub": "c1", "aud": ISSUER, "exp": NOW, "jti": "j"})),
                "client assertion needs iss and sub",
            ),
            (
                body(json!({"iss": "c1", "aud": ISSUER, "exp": NOW, "jti": "j"})),
                "client assertion needs iss and sub",
            ),
            (
                body(json!({"iss": "c1", "sub": "c2", "aud": ISSUER, "exp": NOW, "jti": "j"})),
                "client assertion iss and sub must both be the client_id",
            ),
            (
                body(json!({"iss": "", "sub": "", "aud": ISSUER, "exp": NOW, "jti": "j"})),
                "client assertion is malformed",
            ),
            (
                body(json!({"iss": "c1", "sub": "c1", "exp": NOW, "jti": "j"})),
                "client assertion needs aud",
            ),
            (
                body(json!({"iss": "c1", "sub": "c1", "aud": 5, "exp": NOW, "jti": "j"})),
                "client assertion needs aud",
            ),
            (
                body(json!({"iss": "c1", "sub": "c1", "aud": [ISSUER, 5], "exp": NOW, "jti": "j"})),
                "client assertion is malformed",
            ),
            (body(no_exp), "client assertion needs exp"),
            (
                body(json!({"iss": "c1", "sub": "c1", "aud": ISSUER, "exp": "soon", "jti": "j"})),
                "client assertion is malformed",
            ),
            (
                body(
                    json!({"iss": "c1", "sub": "c1", "aud": ISSUER, "exp": NOW, "iat": "now", "jti": "j"}),
                ),
                "client assertion is malformed",
            ),
            (body(no_jti), "client assertion needs jti"),
            (
                body(json!({"iss": "c1", "sub": "c1", "aud": ISSUER, "exp": NOW, "jti": ""})),
                "client assertion needs jti",
            ),
        ];
        for (jwt, description) in table {
            let e = ClientAssertion::parse(&jwt).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClient, "{jwt}");
            assert_eq!(e.description.as_deref(), Some(description), "{jwt}");
        }
    }

    fn client(method: AuthMethod) -> ClientMetadata {
        ClientMetadata {
            token_endpoint_auth_method: method,
            ..ClientMetadata::default()
        }
    }

    #[test]
    fn client_secrets() {
        let basic_client = client(AuthMethod::ClientSecretBasic);
        let post_client = client(AuthMethod::ClientSecretPost);
        let public_client = client(AuthMethod::None);
        let hash = hash_token(SECRET);
        let stored = |m| RegisteredClient {
            metadata: m,
            secret_hash: Some(&hash),
            jwks: None,
            secret_mac: None,
        };
        let good_basic = basic("c1", SECRET);
        let good_post = format!("client_id=c1&client_secret={SECRET}");
        let ok: &[(Option<&str>, &str, RegisteredClient)] = &[
            (Some(&good_basic), "", stored(&basic_client)),
            (None, &good_post, stored(&post_client)),
            (None, "client_id=c1", stored(&public_client)),
        ];
        for (auth, body, registered) in ok {
            let c = extract(*auth, body).unwrap();
            let a = c.authenticate(Some(registered), &rules(), NOW).unwrap();
            assert_eq!(a.client_id.as_str(), "c1");
            assert_eq!(a.method, registered.metadata.token_endpoint_auth_method);
            assert_eq!(a.assertion, None);
        }

        let wrong_basic = basic("c1", "wrong");
        let no_hash = RegisteredClient {
            secret_hash: None,
            ..stored(&basic_client)
        };
        let bad: &[(Option<&str>, &str, Option<RegisteredClient>, bool)] = &[
            (Some(&wrong_basic), "", Some(stored(&basic_client)), true),
            (Some(&good_basic), "", None, true),
            (Some(&good_basic), "", Some(no_hash), true),
            // The registered method must be the one used.
            (Some(&good_basic), "", Some(stored(&post_client)), true),
            (None, &good_post, Some(stored(&basic_client)), false),
            (None, &good_post, None, false),
            (
                None,
                "client_id=c1&client_secret=wrong",
                Some(stored(&post_client)),
                false,
            ),
            (None, "client_id=c1", Some(stored(&basic_client)), false),
            (None, "client_id=c1", None, false),
            (Some(&good_basic), "", Some(stored(&public_client)), true),
        ];
        for (auth, body, registered, challenge) in bad {
            let c = extract(*auth, body).unwrap();
            let e = c
                .authenticate(registered.as_ref(), &rules(), NOW)
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClient, "{auth:?} {body}");
            assert_eq!(e.code.status(), 401);
            // One description for every failure that depends on the client.
            assert_eq!(e.description.as_deref(), Some(FAILED), "{auth:?} {body}");
            assert_eq!(
                e.challenge == Some(Challenge::Basic),
                *challenge,
                "{auth:?} {body}"
            );
        }
    }

    #[test]
    fn private_key_jwt() {
        let es = SigningKey::generate(Alg::ES256).unwrap();
        let rsa = test_keys::rsa();
        let other = SigningKey::generate(Alg::ES256).unwrap();
        let jwks = Jwks::parse(&format!(
            r#"{{"keys":[{},{}]}}"#,
            es.public_key().to_jwk_json("es", Alg::ES256),
            rsa.public_key().to_jwk_json("rs", Alg::RS256)
        ))
        .unwrap();
        let metadata = client(AuthMethod::PrivateKeyJwt);
        let es_only = ClientMetadata {
            token_endpoint_auth_signing_alg: Some(JwsAlg::ES256),
            ..metadata.clone()
        };
        let registered = |m| RegisteredClient {
            metadata: m,
            secret_hash: None,
            jwks: Some(&jwks),
            secret_mac: None,
        };
        let c = claims("c1");
        let ok = [
            signed_jwt(&es, "es", &c),
            signed_jwt(&rsa, "rs", &c),
            // Without kid: the only key of the alg.
            jwt_without_kid(&es, &c),
        ];
        for jwt in &ok {
            let creds = extract(None, &assertion_body(jwt)).unwrap();
            assert_eq!(creds.method(), AuthMethod::PrivateKeyJwt);
            let a = creds
                .authenticate(Some(&registered(&metadata)), &rules(), NOW)
                .unwrap();
            assert_eq!(a.method, AuthMethod::PrivateKeyJwt);
            let used = a.assertion.unwrap();
            assert_eq!(used.jti, "jti-1");
            assert_eq!(used.expires_at, NOW + 60 + 60);
            assert_eq!(used.replay_key, hash_token("c1\njti-1"));
        }

        let no_keys = RegisteredClient {
            jwks: None,
            ..registered(&metadata)
        };
        let secret_jwt_client = client(AuthMethod::ClientSecretJwt);
        let bad: Vec<(String, RegisteredClient)> = vec![
            (signed_jwt(&other, "es", &c), registered(&metadata)),
            (signed_jwt(&es, "rs", &c), registered(&metadata)),
            (signed_jwt(&es, "nope", &c), registered(&metadata)),
            (signed_jwt(&es, "es", &c), no_keys),
            (signed_jwt(&rsa, "rs", &c), registered(&es_only)),
            (signed_jwt(&es, "es", &c), registered(&secret_jwt_client)),
            (
                hs_jwt("HS256", SECRET.as_bytes(), &c),
                registered(&metadata),
            ),
        ];
        for (jwt, registered) in bad {
            let creds = extract(None, &assertion_body(&jwt)).unwrap();
            let e = creds
                .authenticate(Some(&registered), &rules(), NOW)
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClient);
            assert_eq!(e.description.as_deref(), Some(FAILED));
            assert_eq!(e.challenge, None);
        }
        // A forged payload under a valid signature.
        let jwt = signed_jwt(&es, "es", &c);
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = b64::encode(claims("c2").to_string());
        parts[1] = &forged;
        let creds = extract(None, &assertion_body(&parts.join("."))).unwrap();
        assert!(creds
            .authenticate(Some(&registered(&metadata)), &rules(), NOW)
            .is_err());
    }

    #[test]
    fn client_secret_jwt() {
        let metadata = client(AuthMethod::ClientSecretJwt);
        let hs512_only = ClientMetadata {
            token_endpoint_auth_signing_alg: Some(JwsAlg::HS512),
            ..metadata.clone()
        };
        let long_secret = [7u8; 64];
        let mac = HmacSecret(SECRET.as_bytes());
        let long_mac = HmacSecret(&long_secret);
        let registered = |m, mac| RegisteredClient {
            metadata: m,
            secret_hash: None,
            jwks: None,
            secret_mac: Some(mac),
        };
        let c = claims("c1");
        let ok: Vec<(String, RegisteredClient)> = vec![
            (
                hs_jwt("HS256", SECRET.as_bytes(), &c),
                registered(&metadata, &mac),
            ),
            (
                hs_jwt("HS512", &long_secret, &c),
                registered(&hs512_only, &long_mac),
            ),
        ];
        for (jwt, registered) in ok {
            let creds = extract(None, &assertion_body(&jwt)).unwrap();
            assert_eq!(creds.method(), AuthMethod::ClientSecretJwt);
            let a = creds
                .authenticate(Some(&registered), &rules(), NOW)
                .unwrap();
            assert_eq!(a.assertion.unwrap().jti, "jti-1");
        }
        let no_mac = RegisteredClient {
            secret_mac: None,
            ..registered(&metadata, &mac)
        };
        let key_jwt_client = client(AuthMethod::PrivateKeyJwt);
        let bad: Vec<(String, RegisteredClient)> = vec![
            (
                hs_jwt("HS256", b"another secret of thirty-two bytes!!", &c),
                registered(&metadata, &mac),
            ),
            (
                hs_jwt("HS256", SECRET.as_bytes(), &c),
                registered(&hs512_only, &mac),
            ),
            (hs_jwt("HS256", SECRET.as_bytes(), &c), no_mac),
            // RFC 7518 §3.2: a 43-byte secret is too short for HS512.
            (
                hs_jwt("HS512", SECRET.as_bytes(), &c),
                registered(&metadata, &mac),
            ),
            (
                hs_jwt("HS256", SECRET.as_bytes(), &c),
                registered(&key_jwt_client, &mac),
            ),
        ];
        for (jwt, registered) in bad {
            let creds = extract(None, &assertion_body(&jwt)).unwrap();
            let e = creds
                .authenticate(Some(&registered), &rules(), NOW)
                .unwrap_err();
            assert_eq!(e.description.as_deref(), Some(FAILED));
        }
        let short = HmacSecret(b"short");
        assert!(!short.verify(JwsAlg::HS256, b"x", &[0; 32]));
        assert!(!mac.verify(JwsAlg::RS256, b"x", &[0; 32]));
    }

    #[test]
    fn assertion_claims_are_checked_before_the_client() {
        let metadata = client(AuthMethod::ClientSecretJwt);
        let mac = HmacSecret(SECRET.as_bytes());
        let registered = RegisteredClient {
            metadata: &metadata,
            secret_hash: None,
            jwks: None,
            secret_mac: Some(&mac),
        };
        let with = |changes: Value| {
            let mut c = claims("c1");
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            c
        };
        let ok = [
            with(json!({})),
            with(json!({"aud": ISSUER})),
            with(json!({"aud": ["https://other.example", ISSUER]})),
            with(json!({"iat": null})),
            with(json!({"exp": NOW - 59})),
            with(json!({"exp": NOW + 3600 + 60})),
            with(json!({"exp": (NOW + 60) as f64 + 0.5})),
            with(json!({"nbf": NOW + 60})),
            with(json!({"iat": NOW + 60})),
            with(json!({"iat": NOW - 360})),
        ];
        for c in &ok {
            let creds = extract(
                None,
                &assertion_body(&hs_jwt("HS256", SECRET.as_bytes(), c)),
            )
            .unwrap();
            creds
                .authenticate(Some(&registered), &rules(), NOW)
                .unwrap_or_else(|e| panic!("{c}: {e}"));
        }
        let bad = [
            (
                with(json!({"aud": "https://id.example.com/"})),
                "client assertion aud does not name this server",
            ),
            (
                with(json!({"aud": ["https://other.example"]})),
                "client assertion aud does not name this server",
            ),
            (
                with(json!({"aud": []})),
                "client assertion aud does not name this server",
            ),
            (
                with(json!({"aud": "https://id.example.com/par"})),
                "client assertion aud does not name this server",
            ),
            (
                with(json!({"exp": NOW - 60})),
                "client assertion has expired",
            ),
            (
                with(json!({"exp": i64::MIN})),
                "client assertion has expired",
            ),
            (
                with(json!({"exp": NOW + 3600 + 61})),
                "client assertion exp is too far in the future",
            ),
            (
                with(json!({"exp": i64::MAX})),
                "client assertion exp is too far in the future",
            ),
            (
                with(json!({"exp": 1e300})),
                "client assertion exp is too far in the future",
            ),
            (
                with(json!({"nbf": NOW + 61})),
                "client assertion is not valid yet",
            ),
            (
                with(json!({"iat": NOW + 61})),
                "client assertion iat is in the future",
            ),
            (
                with(json!({"iat": NOW - 361})),
                "client assertion is too old",
            ),
        ];
        for (c, description) in bad {
            let creds = extract(
                None,
                &assertion_body(&hs_jwt("HS256", SECRET.as_bytes(), &c)),
            )
            .unwrap();
            // Detailed even for an unknown client: nothing here depends on it.
            for registered in [Some(&registered), None] {
                let e = creds.authenticate(registered, &rules(), NOW).unwrap_err();
                assert_eq!(e.code, ErrorCode::InvalidClient, "{c}");
                assert_eq!(e.description.as_deref(), Some(description), "{c}");
            }
        }
        // The PAR endpoint adds its own URL to the accepted audiences.
        let par = with(json!({"aud": "https://id.example.com/par"}));
        let mut par_rules = rules();
        par_rules
            .audiences
            .push("https://id.example.com/par".into());
        let creds = extract(
            None,
            &assertion_body(&hs_jwt("HS256", SECRET.as_bytes(), &par)),
        )
        .unwrap();
        creds
            .authenticate(Some(&registered), &par_rules, NOW)
            .unwrap();
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let c = extract(Some(&basic("c1", SECRET)), "").unwrap();
        assert!(!format!("{c:?}").contains(SECRET));
        assert_eq!(
            format!("{c:?}"),
            r#"client_secret_basic { client_id: "c1" }"#
        );
        let e = c.error("client is disabled");
        assert_eq!(e.challenge, Some(Challenge::Basic));
        assert_eq!(
            e.to_response().header_value("www-authenticate"),
            Some("Basic realm=\"authrim\"")
        );
        let e = UsedAssertion::replay_error();
        assert_eq!((e.code, e.code.status()), (ErrorCode::InvalidClient, 401));
    }
}
