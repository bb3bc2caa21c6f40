//! The claims of the tokens Authrim signs: the ID Token (OIDC Core §2,
//! §3.1.3.6, §12.2) and the JWT access token (RFC 9068 §2.2). Each builder
//! produces the claims JSON that `keys.sign-jwt` signs; the header's `typ`
//! is [`ID_TOKEN_TYP`] or [`ACCESS_TOKEN_TYP`].
//!
//! Decisions:
//! - `auth_time` is always present. §2 makes it REQUIRED when `max_age` was
//!   requested or `auth_time` was asked for as essential, and OPTIONAL
//!   otherwise; the session always knows it, so always sending it removes a
//!   rule the token endpoint would have to remember. After a refresh it is
//!   the time of the original authentication (§12.2), which the caller
//!   passes in.
//! - `aud` is the client_id as a single string. Only when further audiences
//!   are added does it become an array, and then `azp` is the client_id
//!   (§2: azp is needed when the ID Token has several audiences).
//! - `nonce` is copied unchanged from the authentication request when one
//!   was sent; an ID Token from a refresh leaves it out (§12.2).
//! - `at_hash` / `c_hash`: the left-most half of the hash of the ASCII
//!   value, hash chosen by the JWS `alg` (SHA-256 for RS256 and ES256),
//!   base64url (§3.1.3.6, §3.3.2.11).
//! - Protocol claims always win over extra (user) claims of the same name.

use crate::scope::Scope;
use authrim_jose::{b64, Alg};
use authrim_protocol::Issuer;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `typ` of ID Tokens (optional in OIDC; `JWT` as RFC 7519 §5.1 suggests).
pub const ID_TOKEN_TYP: &str = "JWT";
/// `typ` of JWT access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims an ID Token sets itself; extra claims with these names are dropped.
const ID_TOKEN_PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "s_hash",
    "jti",
    "nbf",
    "cnf",
    CIBA_AUTH_REQ_ID_CLAIM,
    CIBA_RT_HASH_CLAIM,
];

/// CIBA Core §10.3.1: the ID Token claims of push mode.
pub const CIBA_AUTH_REQ_ID_CLAIM: &str = "urn:openid:params:jwt:claim:auth_req_id";
pub const CIBA_RT_HASH_CLAIM: &str = "urn:openid:params:jwt:claim:rt_hash";

/// `at_hash` / `c_hash` of `value` for an ID Token signed with `alg`.
pub fn token_hash(alg: Alg, value: &str) -> String {
    let digest = match alg {
        Alg::RS256 | Alg::ES256 => Sha256::digest(value.as_bytes()),
    };
    b64::encode(&digest[..digest.len() / 2])
}

/// `aud`: one string, or an array when there are several audiences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    pub fn one(aud: &str) -> Audience {
        Audience(vec![aud.to_string()])
    }

    /// Adds an audience unless already present.
    pub fn add(&mut self, aud: &str) {
        if !self.0.iter().any(|a| a == aud) {
            self.0.push(aud.to_string());
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

/// The claims of an ID Token. Build with [`IdToken::new`] and the `with_*`
/// methods; [`IdToken::to_claims_json`] gives what `keys.sign-jwt` signs.
#[derive(Clone, Debug, PartialEq)]
pub struct IdToken {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    pub nonce: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    pub at_hash: Option<String>,
    pub c_hash: Option<String>,
    /// CIBA push mode (CIBA Core §10.3.1): the `auth_req_id` the tokens
    /// answer, and the hash of the refresh token delivered with them.
    pub ciba_auth_req_id: Option<String>,
    pub rt_hash: Option<String>,
    /// Claims released into the ID Token (see `claims::release_claims`).
    pub extra: Map<String, Value>,
}

impl IdToken {
    /// An ID Token for `client_id` about `sub`, issued at `now`, valid for
    /// `lifetime` seconds, for an authentication at `auth_time`.
    pub fn new(
        issuer: &Issuer,
        sub: &str,
        client_id: &str,
        now: i64,
        lifetime: i64,
        auth_time: i64,
    ) -> IdToken {
        IdToken {
            iss: issuer.as_str().to_string(),
            sub: sub.to_string(),
            client_id: client_id.to_string(),
            aud: Audience::one(client_id),
            iat: now,
            exp: now.saturating_add(lifetime),
            auth_time,
            nonce: None,
            acr: None,
            amr: Vec::new(),
            sid: None,
            at_hash: None,
            c_hash: None,
            ciba_auth_req_id: None,
            rt_hash: None,
            extra: Map::new(),
        }
    }

    pub fn with_nonce(mut self, nonce: Option<&str>) -> Self {
        self.nonce = nonce.map(str::to_string);
        self
    }

    pub fn with_acr(mut self, acr: Option<&str>) -> Self {
        self.acr = acr.map(str::to_string);
        self
    }

    pub fn with_amr(mut self, amr: &[String]) -> Self {
        self.amr = amr.to_vec();
        self
    }

    /// `sid` of the session (OIDC Front/Back-Channel Logout).
    pub fn with_sid(mut self, sid: Option<&str>) -> Self {
        self.sid = sid.map(str::to_string);
        self
    }

    /// Sets `at_hash` for the access token issued with this ID Token.
    pub fn with_access_token(mut self, alg: Alg, access_token: &str) -> Self {
        self.at_hash = Some(token_hash(alg, access_token));
        self
    }

    /// Sets `c_hash` for a code returned with this ID Token (hybrid flow).
    pub fn with_code(mut self, alg: Alg, code: &str) -> Self {
        self.c_hash = Some(token_hash(alg, code));
        self
    }

    /// CIBA push mode (§10.3.1): binds the delivered tokens to the
    /// request they answer, `urn:openid:params:jwt:claim:auth_req_id`, and
    /// to the refresh token, if one is delivered,
    /// `urn:openid:params:jwt:claim:rt_hash` (computed as `at_hash`).
    pub fn with_ciba_push(
        mut self,
        alg: Alg,
        auth_req_id: &str,
        refresh_token: Option<&str>,
    ) -> Self {
        self.ciba_auth_req_id = Some(auth_req_id.to_string());
        self.rt_hash = refresh_token.map(|t| token_hash(alg, t));
        self
    }

    /// Adds an audience besides the client; `azp` then names the client.
    pub fn with_audience(mut self, aud: &str) -> Self {
        self.aud.add(aud);
        self
    }

    /// Claims about the End-User; protocol claim names are ignored.
    pub fn with_extra_claims(mut self, claims: &Map<String, Value>) -> Self {
        for (k, v) in claims {
            if !ID_TOKEN_PROTOCOL_CLAIMS.contains(&k.as_str()) {
                self.extra.insert(k.clone(), v.clone());
            }
        }
        self
    }

    /// The claims set as a JSON object.
    pub fn to_claims(&self) -> Map<String, Value> {
        let mut m = self.extra.clone();
        m.retain(|k, _| !ID_TOKEN_PROTOCOL_CLAIMS.contains(&k.as_str()));
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("iss", self.iss.clone().into());
        put("sub", self.sub.clone().into());
        put(
            "aud",
            serde_json::to_value(&self.aud).unwrap_or(Value::Null),
        );
        put("exp", self.exp.into());
        put("iat", self.iat.into());
        put("auth_time", self.auth_time.into());
        if let Some(n) = &self.nonce {
            put("nonce", n.clone().into());
        }
        if let Some(a) = &self.acr {
            put("acr", a.clone().into());
        }
        if !self.amr.is_empty() {
            put("amr", self.amr.clone().into());
        }
        if self.aud.len() > 1 {
            put("azp", self.client_id.clone().into());
        }
        if let Some(s) = &self.sid {
            put("sid", s.clone().into());
        }
        if let Some(h) = &self.at_hash {
            put("at_hash", h.clone().into());
        }
        if let Some(h) = &self.c_hash {
            put("c_hash", h.clone().into());
        }
        if let Some(id) = &self.ciba_auth_req_id {
            put(CIBA_AUTH_REQ_ID_CLAIM, id.clone().into());
        }
        if let Some(h) = &self.rt_hash {
            put(CIBA_RT_HASH_CLAIM, h.clone().into());
        }
        m
    }

    /// The claims JSON for `keys.sign-jwt`.
    pub fn to_claims_json(&self) -> String {
        Value::Object(self.to_claims()).to_string()
    }
}

/// The claims of a JWT access token (RFC 9068 §2.2), signed with `typ`
/// [`ACCESS_TOKEN_TYP`]. For grants without a user (client_credentials),
/// `sub` is the client_id (§2.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub exp: i64,
    pub aud: Audience,
    pub sub: String,
    pub client_id: String,
    pub iat: i64,
    /// Unique per token; the caller draws it at random.
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// RFC 9449 §6.1: `{"jkt": ...}` for a DPoP-bound token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation claim (RFC 7800) of a DPoP-bound token.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl AccessTokenClaims {
    /// `sub` is the user for user grants, `None` for client grants.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issuer: &Issuer,
        audience: &str,
        sub: Option<&str>,
        client_id: &str,
        jti: &str,
        now: i64,
        lifetime: i64,
        scope: &Scope,
    ) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: issuer.as_str().to_string(),
            exp: now.saturating_add(lifetime),
            aud: Audience::one(audience),
            sub: sub.unwrap_or(client_id).to_string(),
            client_id: client_id.to_string(),
            iat: now,
            jti: jti.to_string(),
            scope: (!scope.is_empty()).then(|| scope.clone()),
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            cnf: None,
        }
    }

    /// Binds the token to a DPoP key (RFC 9449 §6.1).
    pub fn with_jkt(mut self, jkt: Option<&str>) -> Self {
        self.cnf = jkt.map(|j| Confirmation { jkt: j.to_string() });
        self
    }

    /// The authentication the grant came from (RFC 9068 §2.2.1).
    pub fn with_authentication(
        mut self,
        auth_time: i64,
        acr: Option<&str>,
        amr: &[String],
    ) -> Self {
        self.auth_time = Some(auth_time);
        self.acr = acr.map(str::to_string);
        self.amr = amr.to_vec();
        self
    }

    /// The claims JSON for `keys.sign-jwt`.
    pub fn to_claims_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// Access tokens are signed with ES256: about a tenth of the cost of RS256
/// in a component, and only this OP checks them (by their hash).
pub const ACCESS_TOKEN_ALG: Alg = Alg::ES256;

/// The grant an access token is issued in, as far as its claims need it.
#[derive(Clone, Copy, Debug)]
pub struct AccessTokenGrant<'a> {
    pub client_id: &'a str,
    /// `None` for grants without a user (client_credentials).
    pub user_id: Option<&'a str>,
    /// The grant's end: no token outlives it.
    pub expires_at: i64,
    /// The authentication the grant rests on: `auth_time`, `acr`, `amr`.
    pub authentication: Option<(i64, Option<&'a str>, &'a [String])>,
}

/// The claims of an access token issued at `now` in `grant` (the token
/// endpoint and the authorization endpoint mint them alike), and when it
/// expires: after `ttl`, or with its grant if that is sooner. The caller
/// signs the claims with [`ACCESS_TOKEN_ALG`] and typ [`ACCESS_TOKEN_TYP`]
/// and records the token's hash so this OP recognises it.
pub fn mint_access_token(
    issuer: &Issuer,
    grant: &AccessTokenGrant<'_>,
    scope: &Scope,
    jti: &str,
    now: i64,
    ttl: i64,
) -> (AccessTokenClaims, i64) {
    let expires_at = now.saturating_add(ttl).min(grant.expires_at);
    let mut claims = AccessTokenClaims::new(
        issuer,
        issuer.as_str(),
        grant.user_id,
        grant.client_id,
        jti,
        now,
        expires_at - now,
        scope,
    );
    if let (Some(_), Some((auth_time, acr, amr))) = (grant.user_id, grant.authentication) {
        claims = claims.with_authentication(auth_time, acr, amr);
    }
    (claims, expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iss() -> Issuer {
        Issuer::parse("https://server.example.com").unwrap()
    }

    #[test]
    fn hashes_match_oidc_core_examples() {
        // OIDC Core 1.0 Appendix A.3 (access token / at_hash) and A.4
        // (code / c_hash), both RS256.
        let table = [
            (
                Alg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                "77QmUPtjPfzWtF2AnpK9RQ",
            ),
            (
                Alg::RS256,
                "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk",
                "LDktKdoQak3Pk0cnXxCltA",
            ),
            // ES256 uses the same hash (SHA-256).
            (
                Alg::ES256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                "77QmUPtjPfzWtF2AnpK9RQ",
            ),
        ];
        for (alg, value, expected) in table {
            assert_eq!(token_hash(alg, value), expected);
        }
    }

    #[test]
    fn minimal_id_token() {
        let t = IdToken::new(
            &iss(),
            "248289761001",
            "s6BhdRkqt3",
            1311280970,
            600,
            1311280900,
        );
        let v: Value = serde_json::from_str(&t.to_claims_json()).unwrap();
        assert_eq!(
            v,
            json!({
                "iss": "https://server.example.com",
                "sub": "248289761001",
                "aud": "s6BhdRkqt3",
                "exp": 1311281570,
                "iat": 1311280970,
                "auth_time": 1311280900,
            })
        );
    }

    #[test]
    fn full_id_token() {
        let extra = json!({
            "email": "janedoe@example.com",
            "sub": "not-this",
            "iss": "https://evil.example",
            "nonce": "forged",
        });
        let t = IdToken::new(&iss(), "248289761001", "s6BhdRkqt3", 1000, 300, 900)
            .with_nonce(Some("n-0S6_WzA2Mj"))
            .with_acr(Some("urn:mace:incommon:iap:silver"))
            .with_amr(&["pwd".to_string(), "otp".to_string()])
            .with_sid(Some("sid-1"))
            .with_access_token(Alg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")
            .with_extra_claims(extra.as_object().unwrap());
        let v = Value::Object(t.to_claims());
        assert_eq!(
            v,
            json!({
                "iss": "https://server.example.com",
                "sub": "248289761001",
                "aud": "s6BhdRkqt3",
                "exp": 1300,
                "iat": 1000,
                "auth_time": 900,
                "nonce": "n-0S6_WzA2Mj",
                "acr": "urn:mace:incommon:iap:silver",
                "amr": ["pwd", "otp"],
                "sid": "sid-1",
                "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
                "email": "janedoe@example.com",
            })
        );
    }

    #[test]
    fn ciba_push_binds_the_request_and_the_refresh_token() {
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        let forged = json!({ CIBA_AUTH_REQ_ID_CLAIM: "forged", CIBA_RT_HASH_CLAIM: "x" });
        let t = IdToken::new(&iss(), "u", "c1", 0, 60, 0)
            .with_extra_claims(forged.as_object().unwrap())
            .with_ciba_push(
                Alg::RS256,
                "1c266114-a1be-4252-8ad1-04986c5b9ac1",
                Some(token),
            );
        let c = t.to_claims();
        assert_eq!(
            c[CIBA_AUTH_REQ_ID_CLAIM],
            "1c266114-a1be-4252-8ad1-04986c5b9ac1"
        );
        // Computed as at_hash (§10.3.1): the OIDC Core example's value.
        assert_eq!(c[CIBA_RT_HASH_CLAIM], "77QmUPtjPfzWtF2AnpK9RQ");
        let without_refresh =
            IdToken::new(&iss(), "u", "c1", 0, 60, 0).with_ciba_push(Alg::ES256, "id", None);
        assert!(!without_refresh.to_claims().contains_key(CIBA_RT_HASH_CLAIM));
        let plain = IdToken::new(&iss(), "u", "c1", 0, 60, 0).to_claims();
        assert!(!plain.contains_key(CIBA_AUTH_REQ_ID_CLAIM));
    }

    #[test]
    fn azp_only_with_several_audiences() {
        let t = IdToken::new(&iss(), "u", "c1", 0, 60, 0).with_audience("c1");
        assert!(!t.to_claims().contains_key("azp"));
        let t = t.with_audience("https://api.example.com");
        let c = t.to_claims();
        assert_eq!(c["aud"], json!(["c1", "https://api.example.com"]));
        assert_eq!(c["azp"], "c1");
    }

    #[test]
    fn c_hash_for_hybrid() {
        let t = IdToken::new(&iss(), "u", "c1", 0, 60, 0).with_code(
            Alg::RS256,
            "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk",
        );
        assert_eq!(t.to_claims()["c_hash"], "LDktKdoQak3Pk0cnXxCltA");
    }

    #[test]
    fn access_token_claims_per_rfc9068() {
        let scope = Scope::parse("openid email").unwrap();
        let at = AccessTokenClaims::new(
            &iss(),
            "https://rs.example.com",
            Some("u1"),
            "c1",
            "j1",
            100,
            3600,
            &scope,
        )
        .with_authentication(90, Some("1"), &["pwd".to_string()]);
        let v: Value = serde_json::from_str(&at.to_claims_json()).unwrap();
        assert_eq!(
            v,
            json!({
                "iss": "https://server.example.com",
                "exp": 3700,
                "aud": "https://rs.example.com",
                "sub": "u1",
                "client_id": "c1",
                "iat": 100,
                "jti": "j1",
                "scope": "openid email",
                "auth_time": 90,
                "acr": "1",
                "amr": ["pwd"],
            })
        );
        // Client credentials: no user, sub is the client, no scope if none.
        let at = AccessTokenClaims::new(&iss(), "rs", None, "c1", "j2", 0, 60, &Scope::default());
        let v: Value = serde_json::from_str(&at.to_claims_json()).unwrap();
        assert_eq!(v["sub"], "c1");
        assert!(v.get("scope").is_none() && v.get("auth_time").is_none() && v.get("amr").is_none());
        assert_eq!(ACCESS_TOKEN_TYP, "at+jwt");
    }

    #[test]
    fn minted_access_tokens_end_with_their_grant() {
        let scope = Scope::parse("openid").unwrap();
        let amr = ["pwd".to_string()];
        let grant = AccessTokenGrant {
            client_id: "c1",
            user_id: Some("u1"),
            expires_at: 1_000,
            authentication: Some((50, None, &amr)),
        };
        let (c, exp) = mint_access_token(&iss(), &grant, &scope, "j", 100, 3600);
        assert_eq!((exp, c.exp, c.iat), (1_000, 1_000, 100));
        assert_eq!(c.aud, Audience::one("https://server.example.com"));
        assert_eq!((c.auth_time, c.amr.as_slice()), (Some(50), &amr[..]));
        let (_, exp) = mint_access_token(&iss(), &grant, &scope, "j", 100, 60);
        assert_eq!(exp, 160);
        // No user: no authentication claims, whatever the grant says.
        let client = AccessTokenGrant {
            user_id: None,
            ..grant
        };
        let (c, _) = mint_access_token(&iss(), &client, &scope, "j", 100, 60);
        assert_eq!((c.sub.as_str(), c.auth_time), ("c1", None));
        assert_eq!(ACCESS_TOKEN_ALG, Alg::ES256);
    }

    #[test]
    fn exp_never_overflows() {
        let t = IdToken::new(&iss(), "u", "c", i64::MAX - 1, 600, 0);
        assert_eq!(t.exp, i64::MAX);
    }
}
