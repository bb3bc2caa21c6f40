//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and
//! the pushed authorization request (RFC 9126), validated by one ordered
//! list of small named checks.
//!
//! Two phases, because looking up the client and a pushed request is I/O:
//!
//! 1. [`start`] reads `client_id` and, for a PAR reference, `request_uri`.
//!    The caller loads the client (and the pushed parameters).
//! 2. [`validate`] runs the checks against the parameters and the client
//!    and returns a typed [`AuthorizationRequest`].
//!
//! Where an error goes is part of the error ([`ErrorDisposition`]): every
//! error found before the client and its redirect URI are established
//! (missing or unknown `client_id`, missing or unregistered `redirect_uri`)
//! is shown to the user and never sent to any redirect URI (RFC 6749
//! §4.1.2.1, OIDC Core §3.1.2.6); every later error is redirected to the
//! verified redirect URI with the request's `state`. At the PAR endpoint
//! every error is a direct JSON response (`error.to_response()`).

use crate::claims::ClaimsRequest;
use crate::client_metadata::{ClientId, ClientMetadata, RedirectUri, ResponseType};
use crate::form::Params;
use crate::pkce::{CodeChallenge, PkcePolicy};
use crate::response_mode::{self, Issued, Jarm, JarmTarget, ResponseMode};
use crate::scope::{Scope, OFFLINE_ACCESS};
use authrim_protocol::{ErrorCode, HttpResponse, Issuer, OAuthError};

/// The `request_uri` prefix of pushed authorization requests (RFC 9126 §2.2).
pub const PAR_REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The response types the authorization endpoint serves (discovery
/// `response_types_supported`): the code flow, the hybrid flow (OIDC Core
/// §3.3) and the OpenID implicit flow (§3.2). A client uses those it
/// registered. `token` alone (the plain OAuth implicit grant, which the
/// OAuth 2.0 Security BCP advises against) and `none` are not offered.
pub const RESPONSE_TYPES_SUPPORTED: [&str; 6] = [
    "code",
    "code id_token",
    "code token",
    "code id_token token",
    "id_token",
    "id_token token",
];

/// Length limits of free-text parameters, in bytes.
pub const MAX_NONCE_LEN: usize = 512;
pub const MAX_STATE_LEN: usize = 2048;
pub const MAX_LOGIN_HINT_LEN: usize = 512;
pub const MAX_ID_TOKEN_HINT_LEN: usize = 8192;
pub const MAX_ACR_VALUES_LEN: usize = 1024;
pub const MAX_UI_LOCALES_LEN: usize = 256;
pub const MAX_REQUEST_URI_LEN: usize = 512;

/// The client a request names, as the caller loaded it: its id (stored
/// beside the metadata) and its registered metadata.
#[derive(Clone, Copy, Debug)]
pub struct ClientRef<'a> {
    pub client_id: &'a ClientId,
    pub metadata: &'a ClientMetadata,
}

/// Server-wide settings that change validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthorizeConfig {
    /// Every client must use PAR (RFC 9126 §5
    /// `require_pushed_authorization_requests`).
    pub require_par: bool,
    /// Every client must use PKCE, not only public ones.
    pub require_pkce: bool,
}

/// Where the parameters being validated came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin<'a> {
    /// The authorization endpoint, parameters in the query or form body.
    Authorize,
    /// The PAR endpoint (RFC 9126 §2.1), after client authentication.
    PushedAuthorizationEndpoint,
    /// The authorization endpoint resuming a pushed request: the stored
    /// parameters, and the `client_id` the front channel sent with the
    /// `request_uri` (RFC 9126 §4), which must match them.
    Pushed { client_id: &'a str },
}

/// How the caller answers an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorDisposition {
    /// Render an error page to the user; never redirect.
    ShowToUser,
    /// Send the error to the client's verified redirect URI.
    Redirect {
        redirect_uri: RedirectUri,
        response_mode: ResponseMode,
        state: Option<String>,
        /// The client and its `authorization_signed_response_alg`, for
        /// the JARM modes (boxed: errors stay small).
        jarm: Box<JarmTarget>,
    },
}

/// An authorization request error and where it must go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeError {
    pub error: OAuthError,
    pub disposition: ErrorDisposition,
}

impl AuthorizeError {
    /// An error for the user's eyes only.
    pub fn show_to_user(error: OAuthError) -> Self {
        AuthorizeError {
            error,
            disposition: ErrorDisposition::ShowToUser,
        }
    }

    /// The unknown-client error the caller returns when the lookup fails.
    pub fn unknown_client() -> Self {
        Self::show_to_user(OAuthError::with_description(
            ErrorCode::InvalidClient,
            "unknown client_id",
        ))
    }

    /// The error for a `request_uri` that is unknown, expired or used.
    pub fn invalid_request_uri() -> Self {
        Self::show_to_user(OAuthError::with_description(
            ErrorCode::InvalidRequestUri,
            "request_uri is invalid, expired or already used",
        ))
    }

    /// The response: a redirect (or form_post page) to the client, signed
    /// by `jarm` in a JARM mode, or the JSON error for `ShowToUser`
    /// (components render an HTML page instead).
    pub fn to_response(&self, issuer: &Issuer, jarm: &Jarm<'_>) -> HttpResponse {
        match &self.disposition {
            ErrorDisposition::ShowToUser => self.error.to_response(),
            ErrorDisposition::Redirect {
                redirect_uri,
                response_mode,
                state,
                jarm: target,
            } => response_mode::error_response(
                redirect_uri.as_str(),
                *response_mode,
                issuer,
                &self.error,
                state.as_deref(),
                Some((target, jarm)),
            ),
        }
    }
}

/// The result of [`start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// An ordinary request: load the client, then [`validate`] the same
    /// parameters with [`Origin::Authorize`].
    Direct { client_id: ClientId },
    /// A pushed request (RFC 9126 §4): load the client and the parameters
    /// stored for `request_uri` (unexpired, for this client, unused), then
    /// [`validate`] them with [`Origin::Pushed`]. Other front-channel
    /// parameters are ignored.
    Pushed {
        client_id: ClientId,
        request_uri: String,
    },
}

/// Phase one: the client and, for PAR, the request to load. Errors here
/// are all [`ErrorDisposition::ShowToUser`].
pub fn start(params: &Params) -> Result<Start, AuthorizeError> {
    let raw = params.get("client_id").ok_or_else(|| {
        show(OAuthError::invalid_request(
            "missing required parameter client_id",
        ))
    })?;
    // A malformed client_id names no client.
    let client_id = ClientId::parse(raw).ok_or_else(AuthorizeError::unknown_client)?;
    match params.get("request_uri") {
        Some(uri) if uri.starts_with(PAR_REQUEST_URI_PREFIX) => {
            if uri.len() > MAX_REQUEST_URI_LEN {
                return Err(AuthorizeError::invalid_request_uri());
            }
            if params.contains("request") {
                return Err(show(OAuthError::invalid_request(
                    "request and request_uri must not both be used",
                )));
            }
            Ok(Start::Pushed {
                client_id,
                request_uri: uri.to_string(),
            })
        }
        // Any other request_uri is refused by `validate` once the redirect
        // URI is known, so the client hears about it.
        _ => Ok(Start::Direct { client_id }),
    }
}

/// The `prompt` values (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

impl Prompt {
    /// Parses the space-delimited list. Unknown values, and `none` with any
    /// other value, are `invalid_request`; repeated values collapse.
    pub fn parse(s: &str) -> Result<Prompt, OAuthError> {
        let mut p = Prompt::default();
        for v in s.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => return Err(OAuthError::invalid_request("unsupported prompt value")),
            }
        }
        if p.none && (p.login || p.consent || p.select_account) {
            return Err(OAuthError::invalid_request(
                "prompt none must not be combined with other values",
            ));
        }
        Ok(p)
    }

    /// The values in canonical order, space-delimited (for storage).
    pub fn to_param(self) -> String {
        [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
            (self.select_account, "select_account"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, v)| *v)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// A validated authorization request.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// The verified redirect URI responses go to.
    pub redirect_uri: RedirectUri,
    /// Whether `redirect_uri` was in the request. If it was, the token
    /// request must repeat it (RFC 6749 §4.1.3); keep it with the code.
    pub redirect_uri_in_request: bool,
    /// One of [`RESPONSE_TYPES_SUPPORTED`], registered by the client.
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    /// Who JARM responses are for and the alg they are signed with.
    pub jarm: JarmTarget,
    /// Requested scope, limited to the client's registered scope, with
    /// `offline_access` removed where OIDC Core §11 says to ignore it.
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// `max_age`, or the client's `default_max_age` when absent.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// Kept as given; the component checks it against our own keys.
    pub id_token_hint: Option<String>,
    pub acr_values: Vec<String>,
    pub ui_locales: Vec<String>,
    pub claims: Option<ClaimsRequest>,
    pub code_challenge: Option<CodeChallenge>,
    /// Whether the parameters came from a pushed request.
    pub pushed: bool,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
}

impl AuthorizationRequest {
    /// An OpenID Connect request (scope has `openid`).
    pub fn is_openid(&self) -> bool {
        self.scope.has_openid()
    }

    /// Where errors found after validation (login_required, access_denied,
    /// ...) go.
    pub fn error_disposition(&self) -> ErrorDisposition {
        ErrorDisposition::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
            jarm: Box::new(self.jarm.clone()),
        }
    }

    /// The error response for an error found after validation.
    pub fn error_response(
        &self,
        issuer: &Issuer,
        error: OAuthError,
        jarm: &Jarm<'_>,
    ) -> HttpResponse {
        AuthorizeError {
            error,
            disposition: self.error_disposition(),
        }
        .to_response(issuer, jarm)
    }

    /// The successful response carrying what was `issued`.
    pub fn success_response(
        &self,
        issuer: &Issuer,
        issued: &Issued<'_>,
        jarm: &Jarm<'_>,
    ) -> HttpResponse {
        response_mode::success_response(
            self.redirect_uri.as_str(),
            self.response_mode,
            issuer,
            issued,
            self.state.as_deref(),
            Some((&self.jarm, jarm)),
        )
    }

    /// Whether an access token results from this request, at once or by
    /// redeeming the code: then the scope's claims are served by UserInfo
    /// and not put in the ID Token (OIDC Core §5.4).
    pub fn access_token_results(&self) -> bool {
        self.response_type.has_code() || self.response_type.has_token()
    }
}

/// Phase two: validates `params` for `client`. The checks run in the order
/// below; the first failure wins.
pub fn validate(
    params: &Params,
    client: ClientRef<'_>,
    origin: Origin<'_>,
    config: &AuthorizeConfig,
) -> Result<AuthorizationRequest, AuthorizeError> {
    // Until these two pass there is no redirect URI we may send anything to.
    check_client(params, client, origin).map_err(show)?;
    let redirect_uri = check_redirect_uri(params, client).map_err(show)?;

    let mut cx = Cx::new(params, client, origin, config, redirect_uri);
    let disposition = cx.redirect_disposition();
    for (_name, check) in CHECKS {
        check(&mut cx).map_err(|error| {
            let direct = origin == Origin::PushedAuthorizationEndpoint;
            if error.code.redirectable() && !direct {
                AuthorizeError {
                    error,
                    disposition: disposition.clone(),
                }
            } else {
                show(error)
            }
        })?;
    }
    Ok(cx.finish())
}

type Check = fn(&mut Cx<'_>) -> Result<(), OAuthError>;

/// The checks after `check_client` and `check_redirect_uri`, in order.
/// Their errors are redirected to the client (direct at the PAR endpoint).
const CHECKS: &[(&str, Check)] = &[
    ("check_response_mode", check_response_mode),
    ("check_request_object", check_request_object),
    ("check_response_type", check_response_type),
    ("check_response_mode_fits", check_response_mode_fits),
    ("check_par_required", check_par_required),
    ("check_scope", check_scope),
    ("check_openid_for_id_token", check_openid_for_id_token),
    ("check_prompt", check_prompt),
    ("check_offline_access", check_offline_access),
    ("check_max_age", check_max_age),
    ("check_state_and_nonce", check_state_and_nonce),
    ("check_hints", check_hints),
    ("check_claims", check_claims),
    ("check_pkce", check_pkce),
    ("check_dpop_jkt", check_dpop_jkt),
];

/// RFC 9449 §10: `dpop_jkt` is a JWK SHA-256 thumbprint (RFC 7638), so 43
/// base64url characters.
fn check_dpop_jkt(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    match cx.get("dpop_jkt") {
        None => Ok(()),
        Some(j)
            if j.len() == 43
                && j.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(())
        }
        Some(_) => Err(OAuthError::invalid_request(
            "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
        )),
    }
}

/// The request as it is being validated.
struct Cx<'a> {
    params: &'a Params,
    client: ClientRef<'a>,
    origin: Origin<'a>,
    config: &'a AuthorizeConfig,
    redirect_uri: RedirectUri,
    response_type: ResponseType,
    response_mode: ResponseMode,
    scope: Scope,
    prompt: Prompt,
    max_age: Option<u64>,
    acr_values: Vec<String>,
    ui_locales: Vec<String>,
    claims: Option<ClaimsRequest>,
    code_challenge: Option<CodeChallenge>,
}

impl<'a> Cx<'a> {
    fn new(
        params: &'a Params,
        client: ClientRef<'a>,
        origin: Origin<'a>,
        config: &'a AuthorizeConfig,
        redirect_uri: RedirectUri,
    ) -> Self {
        Cx {
            params,
            client,
            origin,
            config,
            redirect_uri,
            response_type: ResponseType::CODE,
            response_mode: ResponseMode::Query,
            scope: Scope::default(),
            prompt: Prompt::default(),
            max_age: None,
            acr_values: Vec::new(),
            ui_locales: Vec::new(),
            claims: None,
            code_challenge: None,
        }
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.params.get(name)
    }

    /// Where errors after the redirect URI check go: the requested mode if
    /// it is valid (and may carry the requested response type), else the
    /// default of the requested response type.
    fn redirect_disposition(&self) -> ErrorDisposition {
        let requested_type = self.get("response_type").unwrap_or("code");
        let mode = self
            .get("response_mode")
            .and_then(|m| ResponseMode::parse(m, requested_type).ok())
            .map_or(ResponseMode::default_for(requested_type), |m| {
                m.for_errors(requested_type)
            });
        ErrorDisposition::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: mode,
            state: self
                .get("state")
                .filter(|s| s.len() <= MAX_STATE_LEN)
                .map(str::to_string),
            jarm: Box::new(self.jarm_target()),
        }
    }

    fn jarm_target(&self) -> JarmTarget {
        JarmTarget {
            client_id: self.client.client_id.as_str().to_string(),
            alg: self.client.metadata.authorization_signed_response_alg(),
            encryption: self.client.metadata.authorization_encryption(),
        }
    }

    fn finish(self) -> AuthorizationRequest {
        let owned = |name: &str| self.get(name).map(str::to_string);
        AuthorizationRequest {
            client_id: self.client.client_id.clone(),
            redirect_uri_in_request: self.params.contains("redirect_uri"),
            response_type: self.response_type,
            response_mode: self.response_mode,
            jarm: self.jarm_target(),
            state: owned("state"),
            nonce: owned("nonce"),
            login_hint: owned("login_hint"),
            id_token_hint: owned("id_token_hint"),
            pushed: matches!(self.origin, Origin::Pushed { .. }),
            dpop_jkt: owned("dpop_jkt"),
            redirect_uri: self.redirect_uri,
            scope: self.scope,
            prompt: self.prompt,
            max_age: self.max_age,
            acr_values: self.acr_values,
            ui_locales: self.ui_locales,
            claims: self.claims,
            code_challenge: self.code_challenge,
        }
    }
}

fn show(error: OAuthError) -> AuthorizeError {
    AuthorizeError::show_to_user(error)
}

/// `client_id` is present and names the client that was loaded; for a
/// resumed pushed request, the front channel named the same client.
fn check_client(
    params: &Params,
    client: ClientRef<'_>,
    origin: Origin<'_>,
) -> Result<(), OAuthError> {
    let Some(client_id) = params.get("client_id") else {
        return Err(OAuthError::invalid_request(
            "missing required parameter client_id",
        ));
    };
    if client_id != client.client_id.as_str() {
        return Err(OAuthError::invalid_request(
            "client_id does not match the client",
        ));
    }
    if let Origin::Pushed { client_id: front } = origin {
        if front != client_id {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequestUri,
                "request_uri was issued to another client",
            ));
        }
    }
    Ok(())
}

/// `redirect_uri` matches a registered one (`ClientMetadata::
/// match_redirect_uri`: exact, plus the RFC 8252 loopback port rule for
/// native clients). OpenID requests must send it (OIDC Core §3.1.2.1);
/// OAuth requests may omit it when the client registered exactly one
/// (RFC 6749 §3.1.2.3). Whether a request is OpenID is read from the raw
/// scope here, before the scope is validated.
fn check_redirect_uri(params: &Params, client: ClientRef<'_>) -> Result<RedirectUri, OAuthError> {
    let missing = || OAuthError::invalid_request("missing required parameter redirect_uri");
    let openid = params
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|t| t == crate::scope::OPENID));
    match (
        params.get("redirect_uri"),
        client.metadata.redirect_uris.as_slice(),
    ) {
        (Some(uri), _) => client.metadata.match_redirect_uri(uri).ok_or_else(|| {
            OAuthError::invalid_request("redirect_uri is not registered for this client")
        }),
        (None, _) if openid => Err(missing()),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(missing()),
    }
}

/// `response_mode`, or the default of the requested response type
/// (`fragment` for those returning tokens).
fn check_response_mode(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    cx.response_mode = match cx.get("response_mode") {
        Some(m) => ResponseMode::parse(m, cx.get("response_type").unwrap_or("code"))?,
        None => ResponseMode::default_for(cx.get("response_type").unwrap_or("code")),
    };
    Ok(())
}

/// Tokens are never sent in the query (`ResponseMode::allowed_for`).
fn check_response_mode_fits(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    let encrypted = cx.client.metadata.authorization_encryption().is_some();
    if !cx.response_mode.allowed_for(cx.response_type, encrypted) {
        return Err(OAuthError::invalid_request(
            "response_mode query is not allowed for a response type that returns tokens",
        ));
    }
    Ok(())
}

/// Request objects are resolved by the caller before validation
/// (`request_object::verify`: their parameters are validated here, never
/// `request` itself); `request_uri` only as a PAR reference, resolved by
/// [`start`], and never inside a pushed request.
fn check_request_object(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if cx.params.contains("request") {
        return Err(OAuthError::with_description(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if let Some(uri) = cx.get("request_uri") {
        return Err(match cx.origin {
            Origin::PushedAuthorizationEndpoint | Origin::Pushed { .. } => {
                OAuthError::invalid_request("request_uri must not be used in a pushed request")
            }
            Origin::Authorize if uri.starts_with(PAR_REQUEST_URI_PREFIX) => {
                OAuthError::invalid_request("a pushed request_uri must be resolved first")
            }
            Origin::Authorize => OAuthError::with_description(
                ErrorCode::RequestUriNotSupported,
                "only request_uri values from the pushed authorization endpoint are supported",
            ),
        });
    }
    Ok(())
}

/// One of [`RESPONSE_TYPES_SUPPORTED`] (`unsupported_response_type`
/// otherwise), registered by the client (`unauthorized_client` otherwise,
/// RFC 6749 §4.1.2.1).
fn check_response_type(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    let Some(raw) = cx.get("response_type") else {
        return Err(OAuthError::invalid_request(
            "missing required parameter response_type",
        ));
    };
    let Some(rt) = ResponseType::parse(raw).filter(|rt| supported(*rt)) else {
        return Err(OAuthError::with_description(
            ErrorCode::UnsupportedResponseType,
            "unsupported response_type",
        ));
    };
    if !cx.client.metadata.allows_response_type(rt) {
        return Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            format!("the client is not registered for response_type {rt}"),
        ));
    }
    cx.response_type = rt;
    Ok(())
}

fn supported(rt: ResponseType) -> bool {
    RESPONSE_TYPES_SUPPORTED.contains(&rt.as_str())
}

/// An ID Token is an OpenID Connect response: `id_token` needs the
/// `openid` scope (OIDC Core §3.2.2.1, §3.3.2.1).
fn check_openid_for_id_token(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if cx.response_type.has_id_token() && !cx.scope.has_openid() {
        return Err(OAuthError::invalid_request(
            "response_type id_token needs the openid scope",
        ));
    }
    Ok(())
}

/// RFC 9126 §4: a client (or server) that requires PAR may not send its
/// parameters through the front channel.
fn check_par_required(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if cx.origin == Origin::Authorize
        && (cx.config.require_par || cx.client.metadata.require_pushed_authorization_requests)
    {
        return Err(OAuthError::invalid_request(
            "pushed authorization requests are required for this client",
        ));
    }
    Ok(())
}

/// A valid scope (RFC 6749 §3.3) limited to the registered scope.
fn check_scope(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    let Some(raw) = cx.get("scope") else {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidScope,
            "missing required parameter scope",
        ));
    };
    let requested = Scope::parse(raw)?;
    let registered =
        (cx.client.metadata.scope.as_deref()).map(|s| Scope::from_tokens(s.split(' ')));
    cx.scope = requested.restrict_to_registered(registered.as_ref())?;
    Ok(())
}

fn check_prompt(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if let Some(p) = cx.get("prompt") {
        cx.prompt = Prompt::parse(p)?;
    }
    Ok(())
}

/// OIDC Core §11: `offline_access` is ignored without `prompt=consent`.
fn check_offline_access(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if cx.scope.has_openid() && cx.scope.contains(OFFLINE_ACCESS) {
        cx.scope = cx
            .scope
            .apply_offline_access_rule(true, cx.prompt.consent, false);
    }
    Ok(())
}

/// `max_age`: a non-negative integer of seconds; the client's
/// `default_max_age` applies when absent.
fn check_max_age(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    cx.max_age = match cx.get("max_age") {
        Some(v) => {
            if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(OAuthError::invalid_request(
                    "max_age must be a non-negative integer",
                ));
            }
            Some(v.parse::<u64>().map_err(|_| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })?)
        }
        None => cx.client.metadata.default_max_age,
    };
    Ok(())
}

/// `state` is opaque and echoed; `nonce` is optional for the code flow
/// and `code token`, and REQUIRED whenever the authorization endpoint
/// returns an ID Token (OIDC Core §3.2.2.1, §3.3.2.1), which is what
/// protects that token against replay. Both are bounded.
fn check_state_and_nonce(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if cx.response_type.has_id_token() && cx.get("nonce").is_none_or(str::is_empty) {
        return Err(OAuthError::invalid_request(
            "nonce is required for a response type that returns an ID Token",
        ));
    }
    if cx.get("state").is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(OAuthError::invalid_request("state is too long"));
    }
    if cx.get("nonce").is_some_and(|s| s.len() > MAX_NONCE_LEN) {
        return Err(OAuthError::invalid_request("nonce is too long"));
    }
    Ok(())
}

/// `login_hint`, `id_token_hint`, `acr_values`, `ui_locales`: kept, bounded.
fn check_hints(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    let limits = [
        ("login_hint", MAX_LOGIN_HINT_LEN, "login_hint is too long"),
        (
            "id_token_hint",
            MAX_ID_TOKEN_HINT_LEN,
            "id_token_hint is too long",
        ),
        ("acr_values", MAX_ACR_VALUES_LEN, "acr_values is too long"),
        ("ui_locales", MAX_UI_LOCALES_LEN, "ui_locales is too long"),
    ];
    for (name, max, why) in limits {
        if cx.get(name).is_some_and(|v| v.len() > max) {
            return Err(OAuthError::invalid_request(why));
        }
    }
    let list = |v: Option<&str>| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in v.unwrap_or("").split(' ').filter(|t| !t.is_empty()) {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
        out
    };
    cx.acr_values = list(cx.get("acr_values"));
    cx.ui_locales = list(cx.get("ui_locales"));
    Ok(())
}

fn check_claims(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    if let Some(c) = cx.get("claims") {
        cx.claims = Some(ClaimsRequest::parse(c)?);
    }
    Ok(())
}

/// RFC 7636 (`pkce`): S256, or plain where the client allows it; public
/// clients (and every client when configured) must send S256.
fn check_pkce(cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    // No code, nothing to bind: a challenge would never be checked.
    if !cx.response_type.has_code() {
        if cx.params.contains("code_challenge") || cx.params.contains("code_challenge_method") {
            return Err(OAuthError::invalid_request(
                "code_challenge is only for response types that return a code",
            ));
        }
        return Ok(());
    }
    let policy = PkcePolicy::for_client(cx.client.metadata, cx.config.require_pkce);
    cx.code_challenge = CodeChallenge::from_request(
        cx.get("code_challenge"),
        cx.get("code_challenge_method"),
        policy,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::client_metadata::AuthMethod;
    use crate::pkce::ChallengeMethod;

    const CLIENT_ID: &str = "s6BhdRkqt3";

    fn refuse_to_sign(_: authrim_jose::Alg, _: &str) -> Result<String, OAuthError> {
        Err(OAuthError::server_error())
    }

    /// A signer for tests whose requests use no JARM mode.
    fn no_jarm() -> Jarm<'static> {
        Jarm {
            now: 0,
            sign: &refuse_to_sign,
            keys: &|_: &str| Err(OAuthError::server_error()),
        }
    }

    /// A confidential web client with two redirect URIs.
    fn confidential() -> ClientMetadata {
        ClientMetadata::from_json(
            r#"{"redirect_uris":["https://client.example.org/cb",
                                  "https://client.example.org/cb2?x=1"]}"#,
        )
        .unwrap()
    }

    const BASE: &str = "response_type=code&client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid&state=af0ifjsldkj";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn run_with(
        query: &str,
        metadata: &ClientMetadata,
        origin: Origin<'_>,
        config: &AuthorizeConfig,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let params = Params::parse(query).unwrap();
        let client_id = ClientId::parse(CLIENT_ID).unwrap();
        let client = ClientRef {
            client_id: &client_id,
            metadata,
        };
        validate(&params, client, origin, config)
    }

    fn run(query: &str) -> Result<AuthorizationRequest, AuthorizeError> {
        run_with(
            query,
            &confidential(),
            Origin::Authorize,
            &AuthorizeConfig::default(),
        )
    }

    /// Replaces (or adds, or with "" removes) one parameter of BASE.
    fn with(name: &str, value: &str) -> String {
        let mut pairs: Vec<(String, String)> = BASE
            .split('&')
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap();
                (n.to_string(), v.to_string())
            })
            .filter(|(n, _)| n != name)
            .collect();
        if !value.is_empty() {
            pairs.push((name.to_string(), value.to_string()));
        }
        pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn a_minimal_openid_request() {
        let r = run(BASE).unwrap();
        assert_eq!(r.client_id.as_str(), "s6BhdRkqt3");
        assert_eq!(r.redirect_uri.as_str(), "https://client.example.org/cb");
        assert!(r.redirect_uri_in_request);
        assert_eq!(r.response_type, ResponseType::CODE);
        assert_eq!(r.response_mode, ResponseMode::Query);
        assert!(r.is_openid());
        assert_eq!(r.state.as_deref(), Some("af0ifjsldkj"));
        assert_eq!(r.nonce, None);
        assert_eq!(r.prompt, Prompt::default());
        assert_eq!(r.code_challenge, None);
        assert!(!r.pushed);
    }

    #[test]
    fn every_parameter_is_kept() {
        let q = format!(
            "{BASE}&nonce=n-0S6_WzA2Mj&prompt=login+consent&max_age=0&login_hint=jane%40example.com\
             &id_token_hint=eyJ.x.y&acr_values=urn:a+urn:b+urn:a&ui_locales=ja-JP+en\
             &claims=%7B%22userinfo%22%3A%7B%22email%22%3Anull%7D%7D&response_mode=form_post\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid+email+offline_access"
        );
        let q = q.replacen("&scope=openid&", "&", 1);
        let r = run(&q).unwrap();
        assert_eq!(r.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert!(r.prompt.login && r.prompt.consent && !r.prompt.none);
        assert_eq!(r.prompt.to_param(), "login consent");
        assert_eq!(r.max_age, Some(0));
        assert_eq!(r.login_hint.as_deref(), Some("jane@example.com"));
        assert_eq!(r.id_token_hint.as_deref(), Some("eyJ.x.y"));
        assert_eq!(r.acr_values, vec!["urn:a", "urn:b"]);
        assert_eq!(r.ui_locales, vec!["ja-JP", "en"]);
        assert!(r.claims.unwrap().userinfo_claim("email").is_some());
        assert_eq!(r.response_mode, ResponseMode::FormPost);
        let pkce = r.code_challenge.unwrap();
        assert_eq!(pkce.challenge(), CHALLENGE);
        assert_eq!(pkce.method(), ChallengeMethod::S256);
        // prompt has consent, so offline_access stays (OIDC Core §11).
        assert_eq!(r.scope.to_string(), "openid email offline_access");
    }

    #[test]
    fn offline_access_without_consent_is_ignored() {
        let r = run(&with("scope", "openid+offline_access")).unwrap();
        assert_eq!(r.scope.to_string(), "openid");
        // Outside OpenID it is just a scope value.
        let r = run(&with("scope", "offline_access")).unwrap();
        assert_eq!(r.scope.to_string(), "offline_access");
    }

    #[derive(Debug, PartialEq)]
    enum Goes {
        User,
        Client(ResponseMode),
    }

    fn goes(e: &AuthorizeError) -> Goes {
        match &e.disposition {
            ErrorDisposition::ShowToUser => Goes::User,
            ErrorDisposition::Redirect {
                redirect_uri,
                response_mode,
                state,
                ..
            } => {
                assert_eq!(redirect_uri.as_str(), "https://client.example.org/cb");
                assert_eq!(state.as_deref(), Some("af0ifjsldkj"));
                Goes::Client(*response_mode)
            }
        }
    }

    #[test]
    fn errors_and_where_they_go() {
        use ErrorCode::*;
        use Goes::*;
        let q = ResponseMode::Query;
        let long_nonce = "n".repeat(MAX_NONCE_LEN + 1);
        let long_hint = "h".repeat(MAX_LOGIN_HINT_LEN + 1);
        let table: Vec<(String, ErrorCode, Goes, &str)> = vec![
            // Before the redirect URI is verified: shown to the user.
            (
                with("client_id", ""),
                InvalidRequest,
                User,
                "missing client_id",
            ),
            (
                with("client_id", "other"),
                InvalidRequest,
                User,
                "client_id of another client",
            ),
            (
                with("redirect_uri", ""),
                InvalidRequest,
                User,
                "OIDC without redirect_uri",
            ),
            (
                with("redirect_uri", "https%3A%2F%2Fevil.example%2Fcb"),
                InvalidRequest,
                User,
                "unregistered",
            ),
            (
                with("redirect_uri", "https%3A%2F%2Fclient.example.org%2Fcb%2F"),
                InvalidRequest,
                User,
                "trailing slash",
            ),
            (
                with("redirect_uri", "https%3A%2F%2FCLIENT.example.org%2Fcb"),
                InvalidRequest,
                User,
                "case differs",
            ),
            (
                with("redirect_uri", "https%3A%2F%2Fclient.example.org%2Fcb2"),
                InvalidRequest,
                User,
                "query missing",
            ),
            (
                with(
                    "redirect_uri",
                    "https%3A%2F%2Fclient.example.org%2Fcb%3Fx%3D1",
                ),
                InvalidRequest,
                User,
                "query added",
            ),
            // After: redirected with state.
            (
                with("response_type", ""),
                InvalidRequest,
                Client(q),
                "missing response_type",
            ),
            (
                with("response_type", "token"),
                UnsupportedResponseType,
                Client(ResponseMode::Fragment),
                "token",
            ),
            (
                with("response_type", "id_token"),
                UnauthorizedClient,
                Client(ResponseMode::Fragment),
                "id_token not registered",
            ),
            (
                with("response_type", "code+id_token"),
                UnauthorizedClient,
                Client(ResponseMode::Fragment),
                "hybrid not registered",
            ),
            (
                format!(
                    "{}&response_mode=query",
                    with("response_type", "code+id_token")
                ),
                UnauthorizedClient,
                Client(ResponseMode::Fragment),
                "query never carries a hybrid error",
            ),
            (
                with("response_type", "code+code"),
                UnsupportedResponseType,
                Client(q),
                "repeated word",
            ),
            (
                with("response_type", "none"),
                UnsupportedResponseType,
                Client(q),
                "none",
            ),
            (
                with("response_type", "CODE"),
                UnsupportedResponseType,
                Client(q),
                "case",
            ),
            (
                with("response_mode", "query.JWT"),
                InvalidRequest,
                Client(q),
                "unknown mode",
            ),
            (
                format!("{}&response_mode=form_post", with("response_type", "token")),
                UnsupportedResponseType,
                Client(ResponseMode::FormPost),
                "mode kept",
            ),
            (with("scope", ""), InvalidScope, Client(q), "missing scope"),
            (
                with("scope", "openid+%22x%22"),
                InvalidScope,
                Client(q),
                "bad scope char",
            ),
            (
                with("prompt", "none+login"),
                InvalidRequest,
                Client(q),
                "none with login",
            ),
            (
                with("prompt", "create"),
                InvalidRequest,
                Client(q),
                "unknown prompt",
            ),
            (
                with("max_age", "-1"),
                InvalidRequest,
                Client(q),
                "negative max_age",
            ),
            (
                with("max_age", "1.5"),
                InvalidRequest,
                Client(q),
                "fractional max_age",
            ),
            (
                with("max_age", "%2B5"),
                InvalidRequest,
                Client(q),
                "signed max_age",
            ),
            (
                with("max_age", "99999999999"),
                InvalidRequest,
                Client(q),
                "oversized max_age",
            ),
            (
                with("max_age", "ten"),
                InvalidRequest,
                Client(q),
                "max_age not a number",
            ),
            (
                with("nonce", &long_nonce),
                InvalidRequest,
                Client(q),
                "oversized nonce",
            ),
            (
                with("login_hint", &long_hint),
                InvalidRequest,
                Client(q),
                "oversized login_hint",
            ),
            (
                with("claims", "%7Bnot+json"),
                InvalidRequest,
                Client(q),
                "claims not JSON",
            ),
            (
                with("claims", "%5B%5D"),
                InvalidRequest,
                Client(q),
                "claims an array",
            ),
            (
                with("request", "eyJ.e30."),
                RequestNotSupported,
                Client(q),
                "request object",
            ),
            (
                with("request_uri", "https%3A%2F%2Fclient.example.org%2Freq"),
                RequestUriNotSupported,
                Client(q),
                "request_uri by URL",
            ),
            (
                with(
                    "request_uri",
                    "urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
                ),
                InvalidRequest,
                Client(q),
                "unresolved PAR uri",
            ),
            (
                with("code_challenge_method", "S256"),
                InvalidRequest,
                Client(q),
                "method without challenge",
            ),
            (
                format!("{BASE}&code_challenge={CHALLENGE}"),
                InvalidRequest,
                Client(q),
                "plain by default, not allowed",
            ),
            (
                format!("{BASE}&code_challenge={CHALLENGE}&code_challenge_method=S512"),
                InvalidRequest,
                Client(q),
                "unknown method",
            ),
            (
                format!("{BASE}&code_challenge=short&code_challenge_method=S256"),
                InvalidRequest,
                Client(q),
                "short challenge",
            ),
            (
                format!("{BASE}&code_challenge={CHALLENGE}A&code_challenge_method=S256"),
                InvalidRequest,
                Client(q),
                "44-char S256",
            ),
            (
                format!(
                    "{BASE}&code_challenge={}&code_challenge_method=S256",
                    CHALLENGE.replace('M', "+")
                ),
                InvalidRequest,
                Client(q),
                "S256 with space",
            ),
        ];
        for (query, code, expected, why) in table {
            let err = run(&query).expect_err(why);
            assert_eq!(err.error.code, code, "{why}: {:?}", err.error);
            assert_eq!(goes(&err), expected, "{why}");
        }
    }

    /// A client registered for every front-channel response type.
    fn front_channel_client() -> ClientMetadata {
        ClientMetadata::from_json(
            r#"{"redirect_uris":["https://client.example.org/cb"],
                "grant_types":["authorization_code","implicit"],
                "response_types":["code","code id_token","code token",
                  "code id_token token","id_token","id_token token"]}"#,
        )
        .unwrap()
    }

    fn run_front(query: &str) -> Result<AuthorizationRequest, AuthorizeError> {
        run_with(
            query,
            &front_channel_client(),
            Origin::Authorize,
            &AuthorizeConfig::default(),
        )
    }

    #[test]
    fn hybrid_and_implicit_requests() {
        let table = [
            ("code", None, ResponseMode::Query, true),
            ("code+id_token", Some("n"), ResponseMode::Fragment, true),
            ("code+token", None, ResponseMode::Fragment, true),
            (
                "code+id_token+token",
                Some("n"),
                ResponseMode::Fragment,
                true,
            ),
            (
                "token+id_token+code",
                Some("n"),
                ResponseMode::Fragment,
                true,
            ),
            ("id_token", Some("n"), ResponseMode::Fragment, false),
            ("id_token+token", Some("n"), ResponseMode::Fragment, true),
        ];
        for (rt, nonce, mode, access) in table {
            let mut q = with("response_type", rt);
            if let Some(n) = nonce {
                q.push_str(&format!("&nonce={n}"));
            }
            let r = run_front(&q).unwrap_or_else(|e| panic!("{rt}: {e:?}"));
            let expected = ResponseType::parse(&rt.replace('+', " ")).unwrap();
            assert_eq!(r.response_type, expected, "{rt}");
            assert_eq!(r.response_mode, mode, "{rt}");
            assert_eq!(r.access_token_results(), access, "{rt}");
            assert_eq!(r.nonce.as_deref(), nonce, "{rt}");
            // form_post is allowed for all of them.
            let r = run_front(&format!("{q}&response_mode=form_post")).unwrap();
            assert_eq!(r.response_mode, ResponseMode::FormPost, "{rt}");
        }
    }

    #[test]
    fn jarm_modes_resolve_and_carry_the_client() {
        let front = |q: &str| run_front(q);
        let r = front(&format!("{BASE}&response_mode=jwt")).unwrap();
        assert_eq!(r.response_mode, ResponseMode::QueryJwt);
        assert_eq!(r.jarm.client_id, CLIENT_ID);
        assert_eq!(r.jarm.alg, authrim_jose::Alg::RS256, "JARM's default");
        let q = format!(
            "{}&nonce=n&response_mode=jwt",
            with("response_type", "code+id_token")
        );
        assert_eq!(front(&q).unwrap().response_mode, ResponseMode::FragmentJwt);
        let q = format!(
            "{}&nonce=n&response_mode=form_post.jwt",
            with("response_type", "id_token")
        );
        assert_eq!(front(&q).unwrap().response_mode, ResponseMode::FormPostJwt);
        // query.jwt never carries tokens; the error goes in fragment.jwt.
        let q = format!(
            "{}&nonce=n&response_mode=query.jwt",
            with("response_type", "id_token")
        );
        let err = front(&q).unwrap_err();
        assert_eq!(err.error.code, ErrorCode::InvalidRequest);
        match err.disposition {
            ErrorDisposition::Redirect {
                response_mode,
                jarm,
                ..
            } => {
                assert_eq!(response_mode, ResponseMode::FragmentJwt);
                assert_eq!(jarm.client_id, CLIENT_ID);
            }
            d => panic!("{d:?}"),
        }
        // The client's registered alg.
        let mut es = front_channel_client();
        es.authorization_signed_response_alg = Some(crate::client_metadata::JwsAlg::ES256);
        let cfg = AuthorizeConfig::default();
        let r = run_with(
            &format!("{BASE}&response_mode=jwt"),
            &es,
            Origin::Authorize,
            &cfg,
        );
        assert_eq!(r.unwrap().jarm.alg, authrim_jose::Alg::ES256);
    }

    #[test]
    fn hybrid_and_implicit_negative_table() {
        use ErrorCode::*;
        let frag = ResponseMode::Fragment;
        let table: Vec<(String, ErrorCode, ResponseMode, &str)> = vec![
            (
                with("response_type", "id_token"),
                InvalidRequest,
                frag,
                "id_token without nonce",
            ),
            (
                with("response_type", "code+id_token"),
                InvalidRequest,
                frag,
                "hybrid without nonce",
            ),
            (
                format!("{}&nonce=", with("response_type", "id_token+token")),
                InvalidRequest,
                frag,
                "empty nonce",
            ),
            (
                format!(
                    "{}&nonce=n&response_mode=query",
                    with("response_type", "code+id_token")
                ),
                InvalidRequest,
                frag,
                "query for hybrid",
            ),
            (
                format!(
                    "{}&response_mode=query",
                    with("response_type", "code+token")
                ),
                InvalidRequest,
                frag,
                "query for code token",
            ),
            (
                format!("{}&nonce=n", with("response_type", "token")),
                UnsupportedResponseType,
                frag,
                "plain OAuth implicit is off",
            ),
            (
                format!("{}&nonce=n", with("response_type", "id_token"))
                    .replace("scope=openid", "scope=profile"),
                InvalidRequest,
                frag,
                "id_token without openid",
            ),
            (
                format!(
                    "{}&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256",
                    with("response_type", "id_token")
                ),
                InvalidRequest,
                frag,
                "PKCE without a code",
            ),
            (
                format!(
                    "{}&nonce={}",
                    with("response_type", "id_token"),
                    "n".repeat(MAX_NONCE_LEN + 1)
                ),
                InvalidRequest,
                frag,
                "oversized nonce",
            ),
        ];
        for (q, code, mode, why) in table {
            let err = run_front(&q).expect_err(why);
            assert_eq!(err.error.code, code, "{why}: {:?}", err.error);
            match err.disposition {
                ErrorDisposition::Redirect { response_mode, .. } => {
                    assert_eq!(response_mode, mode, "{why}")
                }
                d => panic!("{why}: {d:?}"),
            }
        }
        // A public client needs no PKCE for an implicit response type.
        let mut public = front_channel_client();
        public.token_endpoint_auth_method = AuthMethod::None;
        let q = format!("{}&nonce=n", with("response_type", "id_token+token"));
        let cfg = AuthorizeConfig::default();
        assert!(run_with(&q, &public, Origin::Authorize, &cfg).is_ok());
        let q = format!("{}&nonce=n", with("response_type", "code+id_token"));
        let err = run_with(&q, &public, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(
            err.error.code,
            ErrorCode::InvalidRequest,
            "hybrid keeps PKCE"
        );
    }

    #[test]
    fn redirected_errors_render_to_the_client() {
        let err = run(&with("prompt", "none+consent")).unwrap_err();
        let iss = Issuer::parse("https://id.example.com").unwrap();
        let resp = err.to_response(&iss, &no_jarm());
        assert_eq!(resp.status, 302);
        let loc = resp.header_value("location").unwrap();
        assert!(loc.starts_with("https://client.example.org/cb?error=invalid_request&"));
        assert!(loc.contains("&state=af0ifjsldkj&iss=https%3A%2F%2Fid.example.com"));
        let shown = run(&with("redirect_uri", "https%3A%2F%2Fevil.example%2Fcb")).unwrap_err();
        let resp = shown.to_response(&iss, &no_jarm());
        assert_eq!(resp.status, 400);
        assert!(resp.header_value("location").is_none());
    }

    #[test]
    fn an_oversized_state_is_not_echoed() {
        let long = "s".repeat(MAX_STATE_LEN + 1);
        let err = run(&with("state", &long)).unwrap_err();
        assert_eq!(err.error.code, ErrorCode::InvalidRequest);
        assert!(matches!(
            err.disposition,
            ErrorDisposition::Redirect { state: None, .. }
        ));
    }

    #[test]
    fn sole_redirect_uri_only_for_oauth_requests() {
        let mut client = confidential();
        client.redirect_uris.truncate(1);
        let cfg = AuthorizeConfig::default();
        let q = with("redirect_uri", "");
        let err = run_with(&q, &client, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(err.disposition, ErrorDisposition::ShowToUser);
        let q = with("scope", "read");
        let q = q.replace("&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb", "");
        let r = run_with(&q, &client, Origin::Authorize, &cfg).unwrap();
        assert_eq!(r.redirect_uri.as_str(), "https://client.example.org/cb");
        assert!(!r.redirect_uri_in_request);
        // With two registered URIs nothing is guessed.
        let err = run(&q).unwrap_err();
        assert_eq!(err.disposition, ErrorDisposition::ShowToUser);
    }

    #[test]
    fn native_loopback_redirect_uri_may_name_any_port() {
        let native = ClientMetadata::from_json(
            r#"{"application_type":"native","token_endpoint_auth_method":"none",
                "redirect_uris":["http://127.0.0.1/cb"]}"#,
        )
        .unwrap();
        let q = format!(
            "{}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            with("redirect_uri", "http%3A%2F%2F127.0.0.1%3A51004%2Fcb")
        );
        let cfg = AuthorizeConfig::default();
        let r = run_with(&q, &native, Origin::Authorize, &cfg).unwrap();
        assert_eq!(r.redirect_uri.as_str(), "http://127.0.0.1:51004/cb");
        let q = q.replace("%2Fcb", "%2Fother");
        let e = run_with(&q, &native, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(e.disposition, ErrorDisposition::ShowToUser);
    }

    #[test]
    fn client_policies() {
        let cfg = AuthorizeConfig::default();
        let s256 = format!("{BASE}&code_challenge={CHALLENGE}&code_challenge_method=S256");
        let plain = format!("{BASE}&code_challenge={CHALLENGE}&code_challenge_method=plain");

        let mut public = confidential();
        public.token_endpoint_auth_method = AuthMethod::None;
        public.allow_plain_pkce = true;
        assert!(run_with(&s256, &public, Origin::Authorize, &cfg).is_ok());
        for (q, why) in [(BASE.to_string(), "no PKCE"), (plain.clone(), "plain")] {
            let e = run_with(&q, &public, Origin::Authorize, &cfg).unwrap_err();
            assert_eq!(e.error.code, ErrorCode::InvalidRequest, "{why}");
        }

        let mut plain_ok = confidential();
        plain_ok.allow_plain_pkce = true;
        let r = run_with(&plain, &plain_ok, Origin::Authorize, &cfg).unwrap();
        assert_eq!(r.code_challenge.unwrap().method(), ChallengeMethod::Plain);

        let strict = AuthorizeConfig {
            require_pkce: true,
            ..cfg
        };
        assert!(run_with(BASE, &confidential(), Origin::Authorize, &strict).is_err());

        let mut no_code = confidential();
        no_code.response_types = vec![];
        no_code.grant_types = vec![];
        let e = run_with(BASE, &no_code, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::UnauthorizedClient);

        let mut scoped = confidential();
        scoped.scope = Some("profile".into());
        let r = run_with(
            &with("scope", "openid+profile+email"),
            &scoped,
            Origin::Authorize,
            &cfg,
        )
        .unwrap();
        assert_eq!(r.scope.to_string(), "openid profile");
        let e = run_with(&with("scope", "email"), &scoped, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::InvalidScope);

        let mut aged = confidential();
        aged.default_max_age = Some(3600);
        assert_eq!(
            run_with(BASE, &aged, Origin::Authorize, &cfg)
                .unwrap()
                .max_age,
            Some(3600)
        );
        let q = with("max_age", "60");
        assert_eq!(
            run_with(&q, &aged, Origin::Authorize, &cfg)
                .unwrap()
                .max_age,
            Some(60)
        );
    }

    #[test]
    fn pushed_authorization_requests() {
        let cfg = AuthorizeConfig::default();
        let mut par_client = confidential();
        par_client.require_pushed_authorization_requests = true;

        // The front channel refuses a PAR-only client's plain request...
        let e = run_with(BASE, &par_client, Origin::Authorize, &cfg).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::InvalidRequest);
        assert!(matches!(e.disposition, ErrorDisposition::Redirect { .. }));
        let server_wide = AuthorizeConfig {
            require_par: true,
            ..cfg
        };
        assert!(run_with(BASE, &confidential(), Origin::Authorize, &server_wide).is_err());

        // ...the PAR endpoint validates the same parameters, errors direct...
        assert!(run_with(BASE, &par_client, Origin::PushedAuthorizationEndpoint, &cfg).is_ok());
        let q = with(
            "request_uri",
            "urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
        );
        let e = run_with(&q, &par_client, Origin::PushedAuthorizationEndpoint, &cfg).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::InvalidRequest);
        assert_eq!(e.disposition, ErrorDisposition::ShowToUser);
        let e = run_with(
            &with("prompt", "bogus"),
            &par_client,
            Origin::PushedAuthorizationEndpoint,
            &cfg,
        )
        .unwrap_err();
        assert_eq!(e.disposition, ErrorDisposition::ShowToUser);

        // ...and resuming checks the front channel's client_id.
        let r = run_with(
            BASE,
            &par_client,
            Origin::Pushed {
                client_id: "s6BhdRkqt3",
            },
            &cfg,
        )
        .unwrap();
        assert!(r.pushed);
        let e = run_with(
            BASE,
            &par_client,
            Origin::Pushed { client_id: "other" },
            &cfg,
        )
        .unwrap_err();
        assert_eq!(e.error.code, ErrorCode::InvalidRequestUri);
        assert_eq!(e.disposition, ErrorDisposition::ShowToUser);
    }

    #[test]
    fn start_finds_the_client_and_par_reference() {
        let p = |q: &str| Params::parse(q).unwrap();
        assert_eq!(
            start(&p(BASE)).unwrap(),
            Start::Direct {
                client_id: ClientId::parse("s6BhdRkqt3").unwrap()
            }
        );
        assert_eq!(
            start(&p("client_id=c1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax1&scope=ignored")).unwrap(),
            Start::Pushed {
                client_id: ClientId::parse("c1").unwrap(),
                request_uri: "urn:ietf:params:oauth:request_uri:x1".into()
            }
        );
        // A non-PAR request_uri is refused later, by `validate`.
        assert!(matches!(
            start(&p("client_id=c1&request_uri=https%3A%2F%2Fx")).unwrap(),
            Start::Direct { .. }
        ));
        let long = format!(
            "client_id=c1&request_uri=urn:ietf:params:oauth:request_uri:{}",
            "x".repeat(MAX_REQUEST_URI_LEN)
        );
        let table = [
            ("response_type=code", ErrorCode::InvalidRequest),
            ("client_id=&response_type=code", ErrorCode::InvalidRequest),
            ("client_id=a%0Ab", ErrorCode::InvalidClient),
            (
                "client_id=c1&request=x&request_uri=urn:ietf:params:oauth:request_uri:x",
                ErrorCode::InvalidRequest,
            ),
            (long.as_str(), ErrorCode::InvalidRequestUri),
        ];
        for (q, code) in table {
            let e = start(&p(q)).unwrap_err();
            assert_eq!(e.error.code, code, "{q}");
            assert_eq!(e.disposition, ErrorDisposition::ShowToUser);
        }
        assert_eq!(
            AuthorizeError::unknown_client().disposition,
            ErrorDisposition::ShowToUser
        );
        // Duplicated parameters never get this far: the form parser refuses them.
        assert!(Params::parse("client_id=a&client_id=b").is_err());
    }

    #[test]
    fn success_response_goes_to_the_redirect_uri() {
        let iss = Issuer::parse("https://id.example.com").unwrap();
        let q = with(
            "redirect_uri",
            "https%3A%2F%2Fclient.example.org%2Fcb2%3Fx%3D1",
        );
        let r = run(&q).unwrap();
        let resp = r.success_response(&iss, &Issued::code("SplxlOBeZQQYbYS6WxSbIA"), &no_jarm());
        assert_eq!(
            resp.header_value("location"),
            Some("https://client.example.org/cb2?x=1&code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&iss=https%3A%2F%2Fid.example.com")
        );
        let resp = r.error_response(&iss, OAuthError::new(ErrorCode::LoginRequired), &no_jarm());
        assert!(resp
            .header_value("location")
            .unwrap()
            .contains("error=login_required"));
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        // Several faults at once: the earliest check reports.
        let table = [
            ("response_mode=xml&response_type=token", "response_mode"),
            ("request=x&response_type=token", "request objects"),
            ("response_type=token&scope=%22", "response_type"),
            ("scope=%22&prompt=bogus", "scope"),
            ("prompt=bogus&max_age=x", "prompt"),
            ("max_age=x&nonce=", "max_age"),
            ("claims=x&code_challenge_method=S256", "claims"),
        ];
        for (extra, reported) in table {
            let mut q = BASE.to_string();
            for pair in extra.split('&') {
                let (n, v) = pair.split_once('=').unwrap();
                q = q
                    .split('&')
                    .filter(|p| !p.starts_with(&format!("{n}=")))
                    .collect::<Vec<_>>()
                    .join("&");
                q.push_str(&format!("&{n}={v}"));
            }
            let err = run(&q).unwrap_err().error;
            let description = err.description.unwrap_or_default();
            assert!(description.contains(reported), "{extra}: {description}");
        }
        let names: Vec<&str> = CHECKS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.first(), Some(&"check_response_mode"));
        assert_eq!(names.last(), Some(&"check_dpop_jkt"));
    }

    #[test]
    fn dpop_jkt_is_a_thumbprint() {
        let jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let r = run(&format!("{BASE}&dpop_jkt={jkt}")).unwrap();
        assert_eq!(r.dpop_jkt.as_deref(), Some(jkt));
        assert_eq!(run(BASE).unwrap().dpop_jkt, None);
        for bad in [
            "short",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X%2B",
            &format!("{jkt}A"),
        ] {
            let err = run(&format!("{BASE}&dpop_jkt={bad}")).unwrap_err().error;
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn prompt_values() {
        let table = [
            ("none", Ok("none")),
            ("login", Ok("login")),
            ("consent login consent", Ok("login consent")),
            ("select_account", Ok("select_account")),
            ("none login", Err(())),
            ("consent none", Err(())),
            ("None", Err(())),
            ("create", Err(())),
        ];
        for (input, expected) in table {
            match expected {
                Ok(s) => assert_eq!(Prompt::parse(input).unwrap().to_param(), s),
                Err(()) => assert_eq!(
                    Prompt::parse(input).unwrap_err().code,
                    ErrorCode::InvalidRequest,
                    "{input}"
                ),
            }
        }
    }
}
