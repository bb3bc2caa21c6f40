//! JWT assertions (RFC 7521, RFC 7523): the claim checks of RFC 7523 §3
//! that client assertions ([`crate::client_auth`], §2.2) and authorization
//! grants ([`GrantAssertion`], §2.1) share, and the grant's assertion.
//!
//! [`TimeClaims`] reads and checks `aud`, `exp`, `nbf` and `iat` under
//! [`AssertionRules`]; a failure is a [`ClaimsProblem`], which each caller
//! turns into its own error (`invalid_client` for client authentication,
//! `invalid_grant` for the grant, RFC 7521 §5.2).

use authrim_jose::jws::Compact;
use authrim_jose::{Alg, JoseError, Jwks};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};
use serde_json::{Map, Value};

use crate::client_lookup::{keys_at, ClientLookup};

/// `grant_type` of the JWT bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The op-store `one-time` namespace for the `jti`s of grant assertions.
pub const GRANT_JTI_NAMESPACE: &str = "jwt-bearer-jti";

/// Longest `assertion` parsed; refused unread beyond (a signed JWT with a
/// few claims is well under 2 KB).
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// What the caller must know to check an assertion's claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionRules {
    /// Values of `aud` that name this server: its issuer identifier, its
    /// token endpoint URL and, at the PAR endpoint, that URL (RFC 9126 §2).
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub leeway: i64,
    /// Oldest `iat` accepted, in seconds before now.
    pub max_age: i64,
    /// Latest `exp` accepted, in seconds after now: bounds how long a `jti`
    /// must be remembered.
    pub max_lifetime: i64,
}

impl AssertionRules {
    /// 60 s of leeway, `iat` at most 5 minutes old, `exp` at most an hour ahead.
    pub fn new(audiences: Vec<String>) -> AssertionRules {
        AssertionRules {
            audiences,
            leeway: 60,
            max_age: 300,
            max_lifetime: 3600,
        }
    }
}

/// Why an assertion's claims were refused. [`ClaimsProblem::describe`]
/// completes a sentence whose subject is the assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimsProblem {
    Malformed,
    NoAud,
    NoExp,
    WrongAudience,
    Expired,
    ExpTooFar,
    NotYetValid,
    IatInFuture,
    TooOld,
}

impl ClaimsProblem {
    pub fn describe(self) -> &'static str {
        match self {
            ClaimsProblem::Malformed => "is malformed",
            ClaimsProblem::NoAud => "needs aud",
            ClaimsProblem::NoExp => "needs exp",
            ClaimsProblem::WrongAudience => "aud does not name this server",
            ClaimsProblem::Expired => "has expired",
            ClaimsProblem::ExpTooFar => "exp is too far in the future",
            ClaimsProblem::NotYetValid => "is not valid yet",
            ClaimsProblem::IatInFuture => "iat is in the future",
            ClaimsProblem::TooOld => "is too old",
        }
    }
}

/// An assertion's audience and validity claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeClaims {
    pub aud: Vec<String>,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
}

/// A JWT NumericDate (RFC 7519 §2): seconds, possibly fractional.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, ClaimsProblem> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(ClaimsProblem::Malformed),
    }
}

impl TimeClaims {
    /// Reads `aud` (a string or an array of strings; required), `exp`
    /// (required), `nbf` and `iat`.
    pub fn read(claims: &Map<String, Value>) -> Result<TimeClaims, ClaimsProblem> {
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|a| a.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(ClaimsProblem::Malformed)?,
            _ => return Err(ClaimsProblem::NoAud),
        };
        let exp = numeric_date(claims, "exp")?.ok_or(ClaimsProblem::NoExp)?;
        Ok(TimeClaims {
            aud,
            exp,
            nbf: numeric_date(claims, "nbf")?,
            iat: numeric_date(claims, "iat")?,
        })
    }

    /// RFC 7523 §3 items 3 to 6: `aud` names this server, `exp` is neither
    /// past nor beyond the longest lifetime, `nbf` is reached, `iat` is
    /// neither in the future nor too old. Returns until when the assertion
    /// would be accepted (how long to remember its `jti`).
    pub fn check(&self, rules: &AssertionRules, now: i64) -> Result<i64, ClaimsProblem> {
        if !self.aud.iter().any(|a| rules.audiences.contains(a)) {
            return Err(ClaimsProblem::WrongAudience);
        }
        if now >= self.exp.saturating_add(rules.leeway) {
            return Err(ClaimsProblem::Expired);
        }
        if self.exp
            > now
                .saturating_add(rules.max_lifetime)
                .saturating_add(rules.leeway)
        {
            return Err(ClaimsProblem::ExpTooFar);
        }
        if self
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(rules.leeway))
        {
            return Err(ClaimsProblem::NotYetValid);
        }
        if let Some(iat) = self.iat {
            if iat > now.saturating_add(rules.leeway) {
                return Err(ClaimsProblem::IatInFuture);
            }
            if iat
                < now
                    .saturating_sub(rules.max_age)
                    .saturating_sub(rules.leeway)
            {
                return Err(ClaimsProblem::TooOld);
            }
        }
        Ok(self.exp.saturating_add(rules.leeway))
    }
}

/// `invalid_grant` (RFC 7521 §5.2: an assertion that is not valid).
fn invalid_grant(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidGrant, description)
}

fn claims_error(p: ClaimsProblem) -> OAuthError {
    invalid_grant(format!("assertion {}", p.describe()))
}

/// Why a signed JWT from a trusted issuer was refused before its claims
/// were checked. [`JwtProblem::describe`] completes a sentence whose
/// subject is the JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtProblem {
    TooLarge,
    UnsupportedAlg,
    NotSignedJwt,
    NotObject,
    NoIss,
    NoSub,
    Claims(ClaimsProblem),
}

impl JwtProblem {
    pub fn describe(self) -> &'static str {
        match self {
            JwtProblem::TooLarge => "is too large",
            JwtProblem::UnsupportedAlg => "alg must be RS256 or ES256",
            JwtProblem::NotSignedJwt => "is not a signed JWT",
            JwtProblem::NotObject => "claims are not a JSON object",
            JwtProblem::NoIss => "needs iss",
            JwtProblem::NoSub => "needs sub",
            JwtProblem::Claims(p) => p.describe(),
        }
    }
}

/// Why a parsed JWT's signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// No key of the issuer matches its `kid` and `alg`.
    NoKey,
    BadSignature,
}

/// A JWT signed by an issuer of the operator's registry (`trusted-issuers`),
/// parsed but not yet verified: what a JWT bearer grant's assertion and a
/// CIBA `login_hint_token` share. RS256 or ES256 only (`none` and MACs are
/// refused: a MAC would need a secret shared with the issuer), no `crit`,
/// `iss`, `sub`, `aud` and `exp` present; oversized input refused before
/// decoding.
#[derive(Clone)]
pub struct IssuedJwt {
    jws: Compact,
    pub claims: Map<String, Value>,
    pub iss: String,
    pub sub: String,
    pub times: TimeClaims,
}

impl IssuedJwt {
    pub fn parse(token: &str, max_bytes: usize) -> Result<IssuedJwt, JwtProblem> {
        if token.len() > max_bytes {
            return Err(JwtProblem::TooLarge);
        }
        let jws = Compact::parse(token).map_err(|e| match e {
            JoseError::UnsupportedAlg(_) => JwtProblem::UnsupportedAlg,
            _ => JwtProblem::NotSignedJwt,
        })?;
        let claims = match serde_json::from_slice::<Value>(&jws.payload) {
            Ok(Value::Object(map)) => map,
            _ => return Err(JwtProblem::NotObject),
        };
        let iss = non_empty(&claims, "iss").ok_or(JwtProblem::NoIss)?;
        let sub = non_empty(&claims, "sub").ok_or(JwtProblem::NoSub)?;
        let times = TimeClaims::read(&claims).map_err(JwtProblem::Claims)?;
        Ok(IssuedJwt {
            jws,
            claims,
            iss,
            sub,
            times,
        })
    }

    /// A string claim, when present and not empty.
    pub fn string(&self, name: &str) -> Option<String> {
        non_empty(&self.claims, name)
    }

    /// Verifies the signature with the issuer's key named by `kid` (or its
    /// only key for the alg).
    pub fn verify(&self, keys: &Jwks) -> Result<(), KeyProblem> {
        let jwk = keys
            .select(self.jws.kid(), self.jws.alg)
            .ok_or(KeyProblem::NoKey)?;
        self.jws
            .verify(jwk, &[Alg::RS256, Alg::ES256])
            .map_err(|_| KeyProblem::BadSignature)
    }
}

fn non_empty(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The `assertion` of a JWT bearer grant, parsed but not yet verified.
#[derive(Clone)]
pub struct GrantAssertion {
    jwt: IssuedJwt,
    pub iss: String,
    pub sub: String,
    pub jti: String,
    pub times: TimeClaims,
}

/// The assertion is a bearer credential until its `jti` is recorded: it
/// stays out of logs.
impl std::fmt::Debug for GrantAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantAssertion")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

impl GrantAssertion {
    /// Parses the assertion ([`IssuedJwt::parse`] at most
    /// [`MAX_ASSERTION_BYTES`]). `jti` is also required (RFC 7523 makes it
    /// optional) because we accept each assertion once.
    pub fn parse(token: &str) -> Result<GrantAssertion, OAuthError> {
        let jwt = IssuedJwt::parse(token, MAX_ASSERTION_BYTES)
            .map_err(|p| invalid_grant(format!("assertion {}", p.describe())))?;
        let jti = jwt
            .string("jti")
            .ok_or_else(|| invalid_grant("assertion needs jti"))?;
        Ok(GrantAssertion {
            iss: jwt.iss.clone(),
            sub: jwt.sub.clone(),
            times: jwt.times.clone(),
            jti,
            jwt,
        })
    }

    /// The claim checks of [`TimeClaims::check`]; returns until when its
    /// `jti` must be remembered.
    pub fn check_claims(&self, rules: &AssertionRules, now: i64) -> Result<i64, OAuthError> {
        self.times.check(rules, now).map_err(claims_error)
    }

    /// Verifies the signature with the issuer's keys ([`IssuedJwt::verify`]).
    pub fn verify(&self, keys: &Jwks) -> Result<(), OAuthError> {
        self.jwt.verify(keys).map_err(|p| match p {
            KeyProblem::NoKey => {
                invalid_grant("no key of the assertion issuer matches its kid and alg")
            }
            KeyProblem::BadSignature => invalid_grant("assertion signature is invalid"),
        })
    }

    /// The op-store `one-time` key of its `jti` ([`GRANT_JTI_NAMESPACE`]):
    /// `jti`s are unique per issuer.
    pub fn replay_key(&self) -> String {
        hash_token(&format!("{}\n{}", self.iss, self.jti))
    }
}

/// A trusted issuer's keys: its JWK Set by value, or the one at its
/// `jwks_uri`, fetched on each use like a client's (so key rotation needs
/// no restart). The error is for the operator's log.
pub async fn issuer_keys<L: ClientLookup>(
    jwks_json: Option<&str>,
    jwks_uri: Option<&str>,
    lookup: &L,
) -> Result<Jwks, String> {
    match (jwks_json, jwks_uri) {
        (Some(json), _) => Jwks::parse(json).map_err(|e| e.to_string()),
        (None, Some(uri)) => keys_at(uri, lookup).await,
        (None, None) => Err("no keys configured".to_string()),
    }
}

/// The local user a user-subject issuer's `sub` names: the user whose id,
/// or else whose username, it is (the lookups are the caller's store).
pub fn subject_user<U, E>(
    sub: &str,
    by_id: impl FnOnce(&str) -> Result<Option<U>, E>,
    by_username: impl FnOnce(&str) -> Result<Option<U>, E>,
) -> Result<Option<U>, E> {
    match by_id(sub)? {
        Some(u) => Ok(Some(u)),
        None => by_username(sub),
    }
}

/// Whether an issuer that may assert `allowed` subjects (`*` for any) may
/// assert `sub`. Exact comparison.
pub fn subject_allowed(allowed: &[String], sub: &str) -> bool {
    allowed.iter().any(|a| a == "*" || a == sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_jose::{b64, jws, test_keys, SigningKey};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://id.example.com";
    const TOKEN: &str = "https://id.example.com/token";

    fn rules() -> AssertionRules {
        AssertionRules::new(vec![ISSUER.into(), TOKEN.into()])
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example", "sub": "alice", "aud": TOKEN,
               "exp": NOW + 60, "iat": NOW, "jti": "j1"})
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn sign(key: &SigningKey, kid: &str, c: &Value) -> String {
        jws::sign_compact(key, kid, Some("JWT"), c.to_string().as_bytes()).unwrap()
    }

    fn unsigned(header: &Value, c: &Value) -> String {
        format!(
            "{}.{}.{}",
            b64::encode(header.to_string()),
            b64::encode(c.to_string()),
            b64::encode([1u8; 32])
        )
    }

    fn jwks(keys: &[(&SigningKey, &str)]) -> Jwks {
        let list: Vec<String> = keys
            .iter()
            .map(|(k, kid)| k.public_key().to_jwk_json(kid, k.alg()))
            .collect();
        Jwks::parse(&format!("{{\"keys\":[{}]}}", list.join(","))).unwrap()
    }

    fn description(e: OAuthError) -> String {
        assert_eq!(e.code, ErrorCode::InvalidGrant, "{e}");
        e.description.unwrap().into_owned()
    }

    #[test]
    fn time_claims_table() {
        let ok = [
            json!({}),
            json!({"aud": ISSUER}),
            json!({"aud": ["https://other.example", TOKEN]}),
            json!({"iat": null}),
            json!({"exp": NOW - 59}),
            json!({"exp": NOW + 3660}),
            json!({"nbf": NOW + 60}),
            json!({"iat": NOW - 360}),
        ];
        for c in ok {
            let t = TimeClaims::read(with(c.clone()).as_object().unwrap()).unwrap();
            assert_eq!(t.check(&rules(), NOW), Ok(t.exp + 60), "{c}");
        }
        let bad = [
            (json!({"aud": null}), ClaimsProblem::NoAud),
            (json!({"aud": 7}), ClaimsProblem::NoAud),
            (json!({"aud": [7]}), ClaimsProblem::Malformed),
            (json!({"exp": null}), ClaimsProblem::NoExp),
            (json!({"exp": "soon"}), ClaimsProblem::Malformed),
            (json!({"nbf": "x"}), ClaimsProblem::Malformed),
            (
                json!({"aud": "https://id.example.com/"}),
                ClaimsProblem::WrongAudience,
            ),
            (json!({"aud": []}), ClaimsProblem::WrongAudience),
            (json!({"exp": NOW - 60}), ClaimsProblem::Expired),
            (json!({"exp": i64::MIN}), ClaimsProblem::Expired),
            (json!({"exp": NOW + 3661}), ClaimsProblem::ExpTooFar),
            (json!({"exp": 1e300}), ClaimsProblem::ExpTooFar),
            (json!({"nbf": NOW + 61}), ClaimsProblem::NotYetValid),
            (json!({"iat": NOW + 61}), ClaimsProblem::IatInFuture),
            (json!({"iat": NOW - 361}), ClaimsProblem::TooOld),
        ];
        for (c, want) in bad {
            let got = TimeClaims::read(with(c.clone()).as_object().unwrap())
                .and_then(|t| t.check(&rules(), NOW));
            assert_eq!(got, Err(want), "{c}");
        }
    }

    #[test]
    fn grant_assertion_is_verified_with_the_issuer_keys() {
        let rsa = test_keys::rsa();
        let ec = SigningKey::generate(Alg::ES256).unwrap();
        let keys = jwks(&[(&rsa, "r1"), (&ec, "e1")]);
        for (key, kid) in [(&rsa, "r1"), (&ec, "e1")] {
            let a = GrantAssertion::parse(&sign(key, kid, &claims())).unwrap();
            assert_eq!(
                (a.iss.as_str(), a.sub.as_str()),
                ("https://idp.example", "alice")
            );
            assert_eq!(a.check_claims(&rules(), NOW).unwrap(), NOW + 120);
            a.verify(&keys).unwrap();
        }
        // Another key with the same kid; an unknown kid.
        let other = SigningKey::generate(Alg::ES256).unwrap();
        let forged = GrantAssertion::parse(&sign(&other, "e1", &claims())).unwrap();
        assert_eq!(
            description(forged.verify(&keys).unwrap_err()),
            "assertion signature is invalid"
        );
        let unknown = GrantAssertion::parse(&sign(&ec, "nope", &claims())).unwrap();
        assert!(description(unknown.verify(&keys).unwrap_err()).contains("no key"));
        // A replay key per issuer and jti.
        let token = sign(&ec, "e1", &claims());
        let a = GrantAssertion::parse(&token).unwrap();
        let b =
            GrantAssertion::parse(&sign(&ec, "e1", &with(json!({"iss": "https://x"})))).unwrap();
        assert_ne!(a.replay_key(), b.replay_key());
        let signature = token.rsplit('.').next().unwrap();
        assert!(!format!("{a:?}").contains(signature), "no token in Debug");
    }

    #[test]
    fn grant_assertion_refusals() {
        let ec = SigningKey::generate(Alg::ES256).unwrap();
        let table: Vec<(String, &str)> = vec![
            (
                unsigned(&json!({"alg": "none"}), &claims()),
                "alg must be RS256",
            ),
            (
                unsigned(&json!({"alg": "HS256"}), &claims()),
                "alg must be RS256",
            ),
            (
                unsigned(&json!({"alg": "ES256", "crit": ["x"]}), &claims()),
                "not a signed JWT",
            ),
            ("a.b".into(), "not a signed JWT"),
            ("not a jwt".into(), "not a signed JWT"),
            (
                format!(
                    "{}.{}.",
                    b64::encode(r#"{"alg":"ES256"}"#),
                    b64::encode("[1]")
                ),
                "claims are not a JSON object",
            ),
            (sign(&ec, "e1", &with(json!({"iss": null}))), "needs iss"),
            (sign(&ec, "e1", &with(json!({"sub": null}))), "needs sub"),
            (sign(&ec, "e1", &with(json!({"sub": ""}))), "needs sub"),
            (sign(&ec, "e1", &with(json!({"jti": null}))), "needs jti"),
            (
                sign(&ec, "e1", &with(json!({"exp": null}))),
                "assertion needs exp",
            ),
            (
                sign(&ec, "e1", &with(json!({"aud": null}))),
                "assertion needs aud",
            ),
            ("x".repeat(MAX_ASSERTION_BYTES + 1), "too large"),
        ];
        for (token, want) in table {
            let got = description(GrantAssertion::parse(&token).unwrap_err());
            assert!(got.contains(want), "{got} / {want}");
        }
        let expired =
            GrantAssertion::parse(&sign(&ec, "e1", &with(json!({"exp": NOW - 61})))).unwrap();
        assert_eq!(
            description(expired.check_claims(&rules(), NOW).unwrap_err()),
            "assertion has expired"
        );
    }

    #[test]
    fn subjects() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(subject_allowed(&list(&["*"]), "anyone"));
        assert!(subject_allowed(&list(&["a", "b"]), "b"));
        assert!(!subject_allowed(&list(&["a", "b"]), "B"));
        assert!(!subject_allowed(&list(&[]), "a"));
    }
}
