//! OpenID Connect Client-Initiated Backchannel Authentication (CIBA Core
//! 1.0), pure parts: the grant type's name, the delivery modes this build
//! serves, and the parameters of an authentication request (§7.1) read and
//! checked at the edge, with the errors of §13.

use authrim_jose::Jwks;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::assertion::{AssertionRules, ClaimsProblem, IssuedJwt, JwtProblem, KeyProblem};
use crate::client_metadata::BackchannelDeliveryMode;
use crate::form::Params;
use crate::scope::Scope;

/// `grant_type` of the token request (§10.1).
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";

/// Delivery modes served, for discovery (§4): all three, so registration
/// accepts any. Push mode's token response is minted by op-token at
/// op-async's request (local service chaining).
pub const DELIVERY_MODES_SUPPORTED: &[BackchannelDeliveryMode] = &[
    BackchannelDeliveryMode::Poll,
    BackchannelDeliveryMode::Ping,
    BackchannelDeliveryMode::Push,
];

/// Lifetime of a request when the client names no `requested_expiry`.
pub const DEFAULT_TTL: i64 = 300;
/// Longest lifetime granted, whatever `requested_expiry` asks for.
pub const MAX_TTL: i64 = 1800;
/// Longest `binding_message`, in characters: it is shown on a phone-sized
/// page next to the client's own display (§7.1: "relatively short").
pub const MAX_BINDING_MESSAGE_CHARS: usize = 64;
/// Longest hint looked at; ours are far shorter (usernames 255 bytes,
/// ID Tokens a few KB).
pub const MAX_HINT_BYTES: usize = 8 * 1024;
/// Longest `user_code` looked at (a PIN or passphrase; argon2 is not fed
/// more).
pub const MAX_USER_CODE_LEN: usize = 256;
/// Longest `auth_req_id` looked up at the token endpoint; ours are 43
/// characters.
pub const MAX_AUTH_REQ_ID_LEN: usize = 512;
/// Longest `client_notification_token` (§7.1: "the length of the token
/// SHOULD NOT exceed 1024 characters").
pub const MAX_NOTIFICATION_TOKEN_LEN: usize = 1024;

/// How the request names the user (§7.1: exactly one of three).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserHint {
    /// `login_hint`: a username of this OP.
    LoginHint(String),
    /// `id_token_hint`: an ID Token this OP issued to the client.
    IdTokenHint(String),
    /// `login_hint_token`: a JWT from a trusted issuer ([`LoginHintToken`]).
    LoginHintToken(String),
}

/// A backchannel authentication request's parameters, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationRequest {
    /// Contains `openid`.
    pub scope: Scope,
    pub hint: UserHint,
    pub binding_message: Option<String>,
    pub acr_values: Option<String>,
    /// Seconds the request lives (`requested_expiry` capped at [`MAX_TTL`]).
    pub expires_in: i64,
    pub client_notification_token: Option<String>,
    /// §7.1 `user_code`, as sent (checked by the caller against the user's).
    pub user_code: Option<String>,
}

/// The `user_code` a request sent may only be what a client registered for
/// (§7.1: "should only be present if client registration parameter
/// backchannel_user_code_parameter indicates support"): `missing_user_code`
/// when the client registered it and sent none; `invalid_request` when it
/// did not register it and sent one, rather than silently ignoring a
/// user's secret the client believes is checked. The code to check, if any.
pub fn registered_user_code(
    registered: bool,
    sent: Option<&str>,
) -> Result<Option<&str>, OAuthError> {
    match (registered, sent) {
        (true, Some(code)) => Ok(Some(code)),
        (true, None) => Err(OAuthError::with_description(
            ErrorCode::MissingUserCode,
            "this client registered backchannel_user_code_parameter: user_code is required",
        )),
        (false, Some(_)) => Err(OAuthError::invalid_request(
            "user_code is only accepted from clients registered with backchannel_user_code_parameter",
        )),
        (false, None) => Ok(None),
    }
}

impl AuthenticationRequest {
    /// Reads §7.1's parameters (client authentication parameters are the
    /// caller's). `invalid_request` for a missing or repeated hint, a
    /// signed `request` (not supported), a malformed `requested_expiry`;
    /// `invalid_user_code` for an oversized `user_code`; `invalid_scope` for a malformed scope;
    /// `invalid_binding_message` for a message that cannot be shown.
    pub fn parse(params: &Params) -> Result<AuthenticationRequest, OAuthError> {
        if params.get("request").is_some() {
            return Err(OAuthError::invalid_request(
                "signed authentication requests (request) are not supported",
            ));
        }
        let raw_scope = params.require("scope")?;
        let scope = Scope::parse(raw_scope)?;
        if !scope.has_openid() {
            return Err(OAuthError::invalid_request(
                "scope must contain openid (CIBA Core section 7.1)",
            ));
        }
        let hint = user_hint(params)?;
        let binding_message = params
            .get("binding_message")
            .map(check_binding_message)
            .transpose()?;
        let acr_values = params
            .get("acr_values")
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string);
        let expires_in = match params.get("requested_expiry") {
            None => DEFAULT_TTL,
            Some(v) => requested_expiry(v)?,
        };
        let client_notification_token = match params.get("client_notification_token") {
            Some(t) if t.len() > MAX_NOTIFICATION_TOKEN_LEN || t.is_empty() => {
                return Err(OAuthError::invalid_request(
                    "client_notification_token must be 1 to 1024 characters",
                ))
            }
            t => t.map(str::to_string),
        };
        let user_code = match params.get("user_code") {
            // An empty value counts as absent (RFC 6749 §3.1, `Params`).
            Some(c) if c.len() > MAX_USER_CODE_LEN => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidUserCode,
                    "user_code must be at most 256 bytes",
                ))
            }
            c => c.map(str::to_string),
        };
        Ok(AuthenticationRequest {
            scope,
            hint,
            binding_message,
            acr_values,
            expires_in,
            client_notification_token,
            user_code,
        })
    }
}

fn user_hint(params: &Params) -> Result<UserHint, OAuthError> {
    let given = |name| params.get(name).filter(|v| !v.is_empty());
    let hints = [
        given("login_hint_token"),
        given("id_token_hint"),
        given("login_hint"),
    ];
    match hints.iter().filter(|h| h.is_some()).count() {
        0 => {
            return Err(OAuthError::invalid_request(
                "one of login_hint, id_token_hint or login_hint_token is required",
            ))
        }
        1 => {}
        _ => {
            return Err(OAuthError::invalid_request(
                "only one of login_hint, id_token_hint and login_hint_token may be sent",
            ))
        }
    }
    match hints {
        [Some(t), _, _] if t.len() <= MAX_HINT_BYTES => Ok(UserHint::LoginHintToken(t.to_string())),
        [_, Some(t), _] if t.len() <= MAX_HINT_BYTES => Ok(UserHint::IdTokenHint(t.to_string())),
        [_, _, Some(u)] if u.len() <= MAX_HINT_BYTES => Ok(UserHint::LoginHint(u.to_string())),
        _ => Err(OAuthError::invalid_request("the hint is too long")),
    }
}

/// A `login_hint_token` (§7.1 leaves its format to the deployment; this
/// OP's is in README, "CIBA"): a JWT signed (RS256 or ES256) by an issuer
/// of the operator's trusted-issuer registry that maps subjects to users,
/// with `iss`, `sub` (the user: an id, else a username), `aud` (this OP),
/// `exp`, and optionally `nbf` and `iat`, checked like a JWT bearer grant's
/// assertion ([`crate::assertion`]). No `jti` is required and none is
/// remembered: the token only names a user, who still approves on their
/// own device. §13: an expired token is `expired_login_hint_token`; any
/// other fault `invalid_request` (a token that does not say who the user
/// is); a `sub` with no active user the caller answers `unknown_user_id`.
#[derive(Clone)]
pub struct LoginHintToken {
    jwt: IssuedJwt,
}

fn hint_token_error(p: JwtProblem) -> OAuthError {
    match p {
        JwtProblem::Claims(ClaimsProblem::Expired) => OAuthError::with_description(
            ErrorCode::ExpiredLoginHintToken,
            "login_hint_token has expired",
        ),
        p => OAuthError::invalid_request(format!("login_hint_token {}", p.describe())),
    }
}

impl LoginHintToken {
    /// Parses the token (at most [`MAX_HINT_BYTES`]); not yet verified.
    pub fn parse(token: &str) -> Result<LoginHintToken, OAuthError> {
        IssuedJwt::parse(token, MAX_HINT_BYTES)
            .map(|jwt| LoginHintToken { jwt })
            .map_err(hint_token_error)
    }

    pub fn iss(&self) -> &str {
        &self.jwt.iss
    }

    pub fn sub(&self) -> &str {
        &self.jwt.sub
    }

    /// `aud`, `exp`, `nbf`, `iat` under the rules JWT assertions follow.
    pub fn check_claims(&self, rules: &AssertionRules, now: i64) -> Result<(), OAuthError> {
        self.jwt
            .times
            .check(rules, now)
            .map(|_| ())
            .map_err(|p| hint_token_error(JwtProblem::Claims(p)))
    }

    /// The signature, with the issuer's keys.
    pub fn verify(&self, keys: &Jwks) -> Result<(), OAuthError> {
        self.jwt.verify(keys).map_err(|p| {
            OAuthError::invalid_request(match p {
                KeyProblem::NoKey => {
                    "no key of the login_hint_token issuer matches its kid and alg"
                }
                KeyProblem::BadSignature => "login_hint_token signature is invalid",
            })
        })
    }
}

/// A token is not logged.
impl std::fmt::Debug for LoginHintToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginHintToken")
            .field("iss", &self.jwt.iss)
            .field("sub", &self.jwt.sub)
            .finish_non_exhaustive()
    }
}

/// §7.1: the message is shown on the authentication device, so it must be
/// short, printable text: 1 to [`MAX_BINDING_MESSAGE_CHARS`] characters,
/// letters (any script), digits, spaces and common punctuation; no control
/// or formatting characters that could disguise what the user reads.
pub fn check_binding_message(message: &str) -> Result<String, OAuthError> {
    let count = message.chars().count();
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "-_.,:;!?#()'/+@&%*=".contains(c);
    if count == 0 || count > MAX_BINDING_MESSAGE_CHARS || message.trim() != message {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidBindingMessage,
            "binding_message must be 1 to 64 characters without leading or trailing spaces",
        ));
    }
    if !message.chars().all(allowed) {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidBindingMessage,
            "binding_message may hold letters, digits, spaces and -_.,:;!?#()'/+@&%*= only",
        ));
    }
    Ok(message.to_string())
}

/// §7.1 `requested_expiry`: a positive integer (sent as a string in a
/// form), capped at [`MAX_TTL`].
pub fn requested_expiry(raw: &str) -> Result<i64, OAuthError> {
    let digits = !raw.is_empty() && raw.len() <= 10 && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<i64>() {
        Ok(v) if digits && v > 0 => Ok(v.min(MAX_TTL)),
        _ => Err(OAuthError::invalid_request(
            "requested_expiry must be a positive integer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<AuthenticationRequest, OAuthError> {
        Params::parse(body).and_then(|p| AuthenticationRequest::parse(&p))
    }

    #[test]
    fn reads_a_complete_request() {
        let r = parse(
            "scope=openid%20email&login_hint=alice&binding_message=W4SCT&requested_expiry=120&acr_values=1&client_notification_token=t",
        )
        .unwrap();
        assert_eq!(r.scope.to_string(), "openid email");
        assert_eq!(r.hint, UserHint::LoginHint("alice".into()));
        assert_eq!(r.binding_message.as_deref(), Some("W4SCT"));
        assert_eq!(r.expires_in, 120);
        assert_eq!(r.acr_values.as_deref(), Some("1"));
        assert_eq!(r.client_notification_token.as_deref(), Some("t"));
        assert_eq!(r.user_code, None);
        let r = parse("scope=openid&login_hint_token=a.b.c&user_code=1234").unwrap();
        assert_eq!(r.hint, UserHint::LoginHintToken("a.b.c".into()));
        assert_eq!(r.user_code.as_deref(), Some("1234"));
        let r = parse("scope=openid&id_token_hint=a.b.c").unwrap();
        assert_eq!(r.hint, UserHint::IdTokenHint("a.b.c".into()));
        assert_eq!((r.expires_in, r.binding_message), (DEFAULT_TTL, None));
        assert_eq!(
            parse("scope=openid&login_hint=a&requested_expiry=99999")
                .unwrap()
                .expires_in,
            MAX_TTL
        );
    }

    #[test]
    fn refuses_bad_requests_with_the_spec_codes() {
        let long_hint = format!("scope=openid&login_hint={}", "a".repeat(MAX_HINT_BYTES + 1));
        let long_message = format!(
            "scope=openid&login_hint=a&binding_message={}",
            "a".repeat(65)
        );
        let table: Vec<(String, ErrorCode)> = vec![
            ("login_hint=a".into(), ErrorCode::InvalidRequest),
            ("scope=email&login_hint=a".into(), ErrorCode::InvalidRequest),
            (
                "scope=openid%20%22&login_hint=a".into(),
                ErrorCode::InvalidScope,
            ),
            ("scope=openid".into(), ErrorCode::InvalidRequest),
            ("scope=openid&login_hint=".into(), ErrorCode::InvalidRequest),
            (
                "scope=openid&login_hint=a&id_token_hint=b".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint_token=x&login_hint=a".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint_token=x&id_token_hint=y".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "scope=openid&login_hint_token={}",
                    "a".repeat(MAX_HINT_BYTES + 1)
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("scope=openid&login_hint=a&user_code={}", "1".repeat(257)),
                ErrorCode::InvalidUserCode,
            ),
            (
                "scope=openid&login_hint=a&login_hint=b".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint=a&request=x.y.z".into(),
                ErrorCode::InvalidRequest,
            ),
            (long_hint, ErrorCode::InvalidRequest),
            (
                "scope=openid&login_hint=a&binding_message=%3Cb%3E".into(),
                ErrorCode::InvalidBindingMessage,
            ),
            (
                "scope=openid&login_hint=a&binding_message=a%0Ab".into(),
                ErrorCode::InvalidBindingMessage,
            ),
            (
                "scope=openid&login_hint=a&binding_message=%E2%80%AEabc".into(),
                ErrorCode::InvalidBindingMessage,
            ),
            (
                "scope=openid&login_hint=a&binding_message=%20a".into(),
                ErrorCode::InvalidBindingMessage,
            ),
            (long_message, ErrorCode::InvalidBindingMessage),
            (
                "scope=openid&login_hint=a&requested_expiry=0".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint=a&requested_expiry=-5".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint=a&requested_expiry=1e3".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                "scope=openid&login_hint=a&requested_expiry=%2B5".into(),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "scope=openid&login_hint=a&client_notification_token={}",
                    "t".repeat(1025)
                ),
                ErrorCode::InvalidRequest,
            ),
        ];
        for (body, code) in table {
            let got = parse(&body).map(|_| ()).map_err(|e| e.code);
            assert_eq!(got, Err(code), "{body}");
        }
        assert!(check_binding_message("Käse 42: ok?").is_ok());
        assert!(check_binding_message(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn user_code_only_from_clients_registered_for_it() {
        assert_eq!(registered_user_code(true, Some("1234")), Ok(Some("1234")));
        assert_eq!(registered_user_code(false, None), Ok(None));
        let code = |r, s| registered_user_code(r, s).unwrap_err().code;
        assert_eq!(code(true, None), ErrorCode::MissingUserCode);
        assert_eq!(code(false, Some("1234")), ErrorCode::InvalidRequest);
    }

    mod login_hint_token {
        use super::super::*;
        use authrim_jose::{b64, jws, Alg, SigningKey};
        use serde_json::{json, Value};

        const NOW: i64 = 1_800_000_000;
        const OP: &str = "https://op.example";

        fn claims(changes: Value) -> Value {
            let mut c = json!({"iss": "https://idp.example", "sub": "alice", "aud": OP,
                               "exp": NOW + 60, "iat": NOW});
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            c
        }

        fn sign(key: &SigningKey, c: &Value) -> String {
            jws::sign_compact(key, "k1", Some("JWT"), c.to_string().as_bytes()).unwrap()
        }

        fn keys(key: &SigningKey) -> Jwks {
            let jwk = key.public_key().to_jwk_json("k1", key.alg());
            Jwks::parse(&format!("{{\"keys\":[{jwk}]}}")).unwrap()
        }

        fn rules() -> AssertionRules {
            AssertionRules::new(vec![OP.into()])
        }

        /// Parse, check, verify: the first error.
        fn check(token: &str, key: &SigningKey) -> Result<LoginHintToken, OAuthError> {
            let t = LoginHintToken::parse(token)?;
            t.check_claims(&rules(), NOW)?;
            t.verify(&keys(key))?;
            Ok(t)
        }

        #[test]
        fn accepted_from_the_issuer_key() {
            let key = SigningKey::generate(Alg::ES256).unwrap();
            let token = sign(&key, &claims(json!({})));
            let t = check(&token, &key).unwrap();
            assert_eq!((t.iss(), t.sub()), ("https://idp.example", "alice"));
            let signature = token.rsplit('.').next().unwrap();
            assert!(!format!("{t:?}").contains(signature));
        }

        #[test]
        fn refusals_use_the_section_13_codes() {
            let key = SigningKey::generate(Alg::ES256).unwrap();
            let other = SigningKey::generate(Alg::ES256).unwrap();
            let unsigned = |alg: &str| {
                format!(
                    "{}.{}.{}",
                    b64::encode(json!({"alg": alg}).to_string()),
                    b64::encode(claims(json!({})).to_string()),
                    b64::encode([1u8; 32])
                )
            };
            let table: Vec<(String, ErrorCode, &str)> = vec![
                (
                    sign(&key, &claims(json!({"exp": NOW - 61}))),
                    ErrorCode::ExpiredLoginHintToken,
                    "expired",
                ),
                (
                    sign(&key, &claims(json!({"aud": "https://else.example"}))),
                    ErrorCode::InvalidRequest,
                    "aud",
                ),
                (
                    sign(&key, &claims(json!({"exp": null}))),
                    ErrorCode::InvalidRequest,
                    "needs exp",
                ),
                (
                    sign(&key, &claims(json!({"nbf": NOW + 120}))),
                    ErrorCode::InvalidRequest,
                    "not valid yet",
                ),
                (
                    sign(&key, &claims(json!({"iat": NOW - 3600}))),
                    ErrorCode::InvalidRequest,
                    "too old",
                ),
                (
                    sign(&key, &claims(json!({"sub": null}))),
                    ErrorCode::InvalidRequest,
                    "needs sub",
                ),
                (
                    sign(&other, &claims(json!({}))),
                    ErrorCode::InvalidRequest,
                    "signature is invalid",
                ),
                (unsigned("none"), ErrorCode::InvalidRequest, "alg must be"),
                (unsigned("HS256"), ErrorCode::InvalidRequest, "alg must be"),
                ("a.b".into(), ErrorCode::InvalidRequest, "not a signed JWT"),
                (
                    "x".repeat(MAX_HINT_BYTES + 1),
                    ErrorCode::InvalidRequest,
                    "too large",
                ),
            ];
            for (token, code, words) in table {
                let e = check(&token, &key).unwrap_err();
                assert_eq!(e.code, code, "{words}");
                let d = e.description.unwrap();
                assert!(d.contains(words), "{d} / {words}");
            }
        }
    }
}
