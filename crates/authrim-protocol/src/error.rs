//! The one OAuth/OIDC error type, rendered in one place.
//!
//! Each code knows its HTTP status (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591
//! §3.2.2, OIDC Core §3.1.2.6) and whether it may be sent back to a client's
//! redirect URI. `server_error` never exposes its description: internal
//! details go to the log, not to the client.

use crate::http::HttpResponse;
use std::borrow::Cow;
use std::fmt;

/// Every error code Authrim answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 / §5.2
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    // OIDC Core §3.1.2.6
    InteractionRequired,
    LoginRequired,
    AccountSelectionRequired,
    ConsentRequired,
    InvalidRequestUri,
    InvalidRequestObject,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    // RFC 6750 §3.1
    InvalidToken,
    InsufficientScope,
    // RFC 7591 §3.2.2
    InvalidRedirectUri,
    InvalidClientMetadata,
    // RFC 7009 §2.2.1
    UnsupportedTokenType,
    // RFC 8628 §3.5
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    // RFC 9449 §5, §7.1, §8
    InvalidDpopProof,
    UseDpopNonce,
    // OpenID Connect CIBA Core §13
    ExpiredLoginHintToken,
    UnknownUserId,
    MissingUserCode,
    InvalidUserCode,
    InvalidBindingMessage,
    // Plain HTTP conditions, rendered in the same JSON shape.
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidRequest => "invalid_request",
            InvalidClient => "invalid_client",
            InvalidGrant => "invalid_grant",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope => "invalid_scope",
            AccessDenied => "access_denied",
            ServerError => "server_error",
            TemporarilyUnavailable => "temporarily_unavailable",
            InteractionRequired => "interaction_required",
            LoginRequired => "login_required",
            AccountSelectionRequired => "account_selection_required",
            ConsentRequired => "consent_required",
            InvalidRequestUri => "invalid_request_uri",
            InvalidRequestObject => "invalid_request_object",
            RequestNotSupported => "request_not_supported",
            RequestUriNotSupported => "request_uri_not_supported",
            RegistrationNotSupported => "registration_not_supported",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            InvalidRedirectUri => "invalid_redirect_uri",
            InvalidClientMetadata => "invalid_client_metadata",
            UnsupportedTokenType => "unsupported_token_type",
            AuthorizationPending => "authorization_pending",
            SlowDown => "slow_down",
            ExpiredToken => "expired_token",
            InvalidDpopProof => "invalid_dpop_proof",
            UseDpopNonce => "use_dpop_nonce",
            ExpiredLoginHintToken => "expired_login_hint_token",
            UnknownUserId => "unknown_user_id",
            MissingUserCode => "missing_user_code",
            InvalidUserCode => "invalid_user_code",
            InvalidBindingMessage => "invalid_binding_message",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
        }
    }

    /// The status of a direct (non-redirect) response carrying this code.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            // RFC 6749 §5.2: invalid_client is 401 (a `WWW-Authenticate`
            // challenge is added when the client used HTTP authentication).
            InvalidClient | InvalidToken => 401,
            InsufficientScope | AccessDenied => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            PayloadTooLarge => 413,
            ServerError => 500,
            TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// Whether the code may be delivered to a client's (verified) redirect
    /// URI. Errors about the client or the redirect URI itself never are
    /// (RFC 6749 §4.1.2.1).
    pub fn redirectable(self) -> bool {
        use ErrorCode::*;
        !matches!(
            self,
            InvalidClient
                | InvalidRedirectUri
                | InvalidClientMetadata
                | InvalidToken
                | InsufficientScope
                | NotFound
                | MethodNotAllowed
                | PayloadTooLarge
                | UnsupportedTokenType
                | InvalidDpopProof
                | UseDpopNonce
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

/// The authentication challenge to send with a 401/403.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// RFC 6750 §3: `WWW-Authenticate: Bearer ...`.
    Bearer,
    /// RFC 6749 §5.2: the client tried HTTP Basic authentication.
    Basic,
    /// RFC 9449 §7.1: `WWW-Authenticate: DPoP algs="..."` with the error,
    /// from a protected resource. `invalid_dpop_proof` and `use_dpop_nonce`
    /// are 401 there (400 at the token endpoint, which sends no challenge).
    Dpop,
    /// A resource request without any credentials, where both schemes are
    /// accepted: a bare `Bearer` and a bare `DPoP` challenge.
    BearerOrDpop,
}

/// The JWS algorithms accepted in DPoP proofs (`algs` of the challenge and
/// `dpop_signing_alg_values_supported`).
pub const DPOP_ALGS: &[&str] = &["ES256", "RS256"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Option<Cow<'static, str>>,
    pub challenge: Option<Challenge>,
    /// Methods for the `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode) -> Self {
        OAuthError {
            code,
            description: None,
            challenge: None,
            allow: None,
        }
    }

    pub fn with_description(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            description: Some(description.into()),
            ..Self::new(code)
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::with_description(ErrorCode::InvalidRequest, description)
    }

    /// A server fault. The detail is for the log only; the client sees a
    /// generic description.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError)
    }

    pub fn not_found() -> Self {
        Self::with_description(ErrorCode::NotFound, "no such resource")
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        OAuthError {
            allow: Some(allow),
            ..Self::with_description(ErrorCode::MethodNotAllowed, "method not allowed")
        }
    }

    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The description a client may see.
    pub fn public_description(&self) -> Option<&str> {
        match self.code {
            ErrorCode::ServerError => Some("the server could not complete the request"),
            _ => self.description.as_deref(),
        }
    }

    /// The JSON error response (RFC 6749 §5.2). Never cached.
    pub fn to_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: self.code.as_str(),
            error_description: self.public_description(),
        };
        let status = match (&self.challenge, self.code) {
            (Some(Challenge::Dpop), ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce) => 401,
            _ => self.code.status(),
        };
        let mut resp = HttpResponse::json(status, &body).header("cache-control", "no-store");
        if let Some(allow) = self.allow {
            resp = resp.header("allow", allow);
        }
        if let Some(challenge) = &self.challenge {
            resp = resp.header("www-authenticate", &self.www_authenticate(challenge));
        }
        resp
    }

    fn www_authenticate(&self, challenge: &Challenge) -> String {
        match challenge {
            Challenge::Basic => "Basic realm=\"authrim\"".to_string(),
            Challenge::Bearer => {
                // RFC 6750 §3.1: a request without credentials gets a bare
                // challenge; otherwise the error code (and description).
                let mut v = String::from("Bearer realm=\"authrim\"");
                if self.code != ErrorCode::InvalidRequest || self.description.is_some() {
                    v.push_str(&format!(", error=\"{}\"", self.code.as_str()));
                    if let Some(d) = self.public_description() {
                        v.push_str(&format!(", error_description=\"{}\"", quote_safe(d)));
                    }
                }
                v
            }
            Challenge::Dpop => {
                let mut v = format!("DPoP algs=\"{}\"", DPOP_ALGS.join(" "));
                if self.code != ErrorCode::InvalidRequest || self.description.is_some() {
                    v.push_str(&format!(", error=\"{}\"", self.code.as_str()));
                    if let Some(d) = self.public_description() {
                        v.push_str(&format!(", error_description=\"{}\"", quote_safe(d)));
                    }
                }
                v
            }
            Challenge::BearerOrDpop => format!(
                "Bearer realm=\"authrim\", DPoP algs=\"{}\"",
                DPOP_ALGS.join(" ")
            ),
        }
    }
}

/// RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .collect()
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.code, d),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(resp: &HttpResponse) -> serde_json::Value {
        serde_json::from_slice(&resp.body).unwrap()
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        let table = [
            (ErrorCode::InvalidRequest, 400),
            (ErrorCode::InvalidClient, 401),
            (ErrorCode::InvalidGrant, 400),
            (ErrorCode::UnsupportedGrantType, 400),
            (ErrorCode::InvalidToken, 401),
            (ErrorCode::InsufficientScope, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::ServerError, 500),
            (ErrorCode::TemporarilyUnavailable, 503),
            (ErrorCode::UnknownUserId, 400),
            (ErrorCode::InvalidBindingMessage, 400),
            (ErrorCode::MissingUserCode, 400),
        ];
        for (code, status) in table {
            assert_eq!(code.status(), status, "{code}");
        }
    }

    #[test]
    fn client_and_redirect_errors_are_never_redirected() {
        assert!(!ErrorCode::InvalidClient.redirectable());
        assert!(!ErrorCode::InvalidRedirectUri.redirectable());
        assert!(ErrorCode::InvalidScope.redirectable());
        assert!(ErrorCode::LoginRequired.redirectable());
    }

    #[test]
    fn server_error_hides_its_detail() {
        let e = OAuthError::with_description(ErrorCode::ServerError, "sqlite: disk I/O error");
        let b = body(&e.to_response());
        assert_eq!(b["error"], "server_error");
        assert!(!b["error_description"].as_str().unwrap().contains("sqlite"));
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let r = OAuthError::method_not_allowed("GET, HEAD, OPTIONS").to_response();
        assert_eq!(r.status, 405);
        assert_eq!(r.header_value("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(body(&r)["error"], "method_not_allowed");
    }

    #[test]
    fn bearer_challenge_per_rfc6750() {
        let r = OAuthError::with_description(ErrorCode::InvalidToken, "token \"expired\"")
            .challenge(Challenge::Bearer)
            .to_response();
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header_value("www-authenticate"),
            Some("Bearer realm=\"authrim\", error=\"invalid_token\", error_description=\"token expired\"")
        );
        let bare = OAuthError::new(ErrorCode::InvalidRequest)
            .challenge(Challenge::Bearer)
            .to_response();
        assert_eq!(
            bare.header_value("www-authenticate"),
            Some("Bearer realm=\"authrim\"")
        );
    }

    #[test]
    fn dpop_challenge_per_rfc9449() {
        let r = OAuthError::with_description(ErrorCode::InvalidDpopProof, "bad \"proof\"")
            .challenge(Challenge::Dpop)
            .to_response();
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header_value("www-authenticate"),
            Some("DPoP algs=\"ES256 RS256\", error=\"invalid_dpop_proof\", error_description=\"bad proof\"")
        );
        // At the token endpoint (no challenge) the same code is a 400.
        let t = OAuthError::new(ErrorCode::UseDpopNonce).to_response();
        assert_eq!(t.status, 400);
        assert_eq!(body(&t)["error"], "use_dpop_nonce");
        let both = OAuthError::new(ErrorCode::InvalidRequest)
            .challenge(Challenge::BearerOrDpop)
            .to_response();
        assert_eq!(
            both.header_value("www-authenticate"),
            Some("Bearer realm=\"authrim\", DPoP algs=\"ES256 RS256\"")
        );
    }
}
