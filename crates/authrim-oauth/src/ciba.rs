//! OpenID Connect Client-Initiated Backchannel Authentication (CIBA Core
//! 1.0), pure parts: the grant type's name, the delivery modes this build
//! serves, and the parameters of an authentication request (§7.1) read and
//! checked at the edge, with the errors of §13.

use authrim_protocol::{ErrorCode, OAuthError};

use crate::client_metadata::BackchannelDeliveryMode;
use crate::form::Params;
use crate::scope::Scope;

/// `grant_type` of the token request (§10.1).
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";

/// Delivery modes a client may register (§5): all three. Push mode's
/// token response is minted by op-token at op-async's request (local
/// service chaining).
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
}

impl AuthenticationRequest {
    /// Reads §7.1's parameters (client authentication parameters are the
    /// caller's). `invalid_request` for a missing or repeated hint, a
    /// `login_hint_token` (not supported: this OP defines no token format
    /// for it), a signed `request` (not supported), a malformed
    /// `requested_expiry`; `invalid_scope` for a malformed scope;
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
        Ok(AuthenticationRequest {
            scope,
            hint,
            binding_message,
            acr_values,
            expires_in,
            client_notification_token,
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
        [Some(_), _, _] => Err(OAuthError::invalid_request(
            "login_hint_token is not supported; send login_hint or id_token_hint",
        )),
        [_, Some(t), _] if t.len() <= MAX_HINT_BYTES => Ok(UserHint::IdTokenHint(t.to_string())),
        [_, _, Some(u)] if u.len() <= MAX_HINT_BYTES => Ok(UserHint::LoginHint(u.to_string())),
        _ => Err(OAuthError::invalid_request("the hint is too long")),
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
                "scope=openid&login_hint_token=x".into(),
                ErrorCode::InvalidRequest,
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
}
