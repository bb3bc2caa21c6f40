//! Client metadata: RFC 7591 §2 and OpenID Connect Dynamic Client
//! Registration 1.0 §2, with the RFC 8252 rules for native apps.
//!
//! [`ClientMetadata::from_json`] reads a registration request (or a stored
//! record) into typed fields, filling the defaults of the specifications and
//! ignoring every member it does not understand (RFC 7591 §2: "the
//! authorization server MUST ignore any client metadata sent by the client
//! that it does not understand"). [`ClientMetadata::validate`] then applies
//! the registration rules; its errors are `invalid_redirect_uri` and
//! `invalid_client_metadata` (RFC 7591 §3.2.2). Stored metadata is read with
//! `from_json` alone, so that tightening a rule later does not lock out
//! clients registered before.
//!
//! Redirect URIs are compared byte for byte ([`ClientMetadata::match_redirect_uri`]):
//! no case folding, no percent-decoding, no default-port or trailing-slash
//! games. The one exception is RFC 8252 §7.3: for native clients an `http`
//! loopback redirect URI matches whatever port the request names.

use std::fmt;

use authrim_jose::jwe::{ContentEnc, KeyAlg};
use authrim_jose::{Alg, Jwks};
use authrim_protocol::{ErrorCode, OAuthError};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::form::safe_text;
use crate::scope::Scope;

/// An enum of protocol strings, with `as_str`, `parse` and serde as those
/// strings. Unknown strings are a deserialisation error naming the values
/// we support.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The protocol string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the protocol string (case-sensitive).
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Reads a metadata member; the error says what is wrong
            /// (the same words as the `Deserialize` impl).
            fn from_value(v: &Value) -> Result<$name, String> {
                let s = string(v)?;
                $name::parse(&s).ok_or_else(|| {
                    format!(
                        "unsupported value `{}` (supported: {})",
                        s,
                        [$($text),+].join(", ")
                    )
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    de::Error::custom(format!(
                        "unsupported value `{}` (supported: {})",
                        s,
                        [$($text),+].join(", ")
                    ))
                })
            }
        }
    };
}

string_enum! {
    /// `token_endpoint_auth_method` (RFC 7591 §2, OIDC Core §9).
    #[derive(Default)]
    AuthMethod {
        /// RFC 7591 §2: "If omitted, the default is client_secret_basic".
        #[default]
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        ClientSecretJwt = "client_secret_jwt",
        PrivateKeyJwt = "private_key_jwt",
        /// A public client: no authentication at the token endpoint.
        None = "none",
    }
}

string_enum! {
    /// `grant_types` values (RFC 7591 §2) that Authrim knows. Whether a
    /// grant is switched on in a deployment is the caller's decision.
    GrantType {
        AuthorizationCode = "authorization_code",
        Implicit = "implicit",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        /// RFC 8628.
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        /// RFC 7523 §2.1.
        JwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer",
        /// OpenID Connect CIBA.
        Ciba = "urn:openid:params:grant-type:ciba",
    }
}

string_enum! {
    /// `backchannel_token_delivery_mode` (CIBA Core §4).
    BackchannelDeliveryMode {
        Poll = "poll",
        Ping = "ping",
        Push = "push",
    }
}

string_enum! {
    /// `application_type` (OIDC Registration §2).
    #[derive(Default)]
    ApplicationType {
        /// "The default, if omitted, is web."
        #[default]
        Web = "web",
        Native = "native",
    }
}

string_enum! {
    /// `subject_type` (OIDC Core §8). Pairwise identifiers are not offered.
    #[derive(Default)]
    SubjectType {
        #[default]
        Public = "public",
    }
}

string_enum! {
    /// JWS algorithms a client may register: RS256 and ES256 for ID Tokens
    /// and `private_key_jwt`, the HMAC family for `client_secret_jwt`.
    #[derive(Default)]
    JwsAlg {
        /// The default of `id_token_signed_response_alg` (OIDC Registration §2).
        #[default]
        RS256 = "RS256",
        ES256 = "ES256",
        HS256 = "HS256",
        HS384 = "HS384",
        HS512 = "HS512",
    }
}

impl JwsAlg {
    /// The asymmetric algorithm of `authrim-jose`, or `None` for HMAC.
    pub fn asymmetric(self) -> Option<Alg> {
        match self {
            JwsAlg::RS256 => Some(Alg::RS256),
            JwsAlg::ES256 => Some(Alg::ES256),
            JwsAlg::HS256 | JwsAlg::HS384 | JwsAlg::HS512 => None,
        }
    }

    pub fn is_hmac(self) -> bool {
        self.asymmetric().is_none()
    }
}

impl AuthMethod {
    /// Whether clients with this method hold a secret the server issues.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }
}

/// A `response_type` value: a set of `code`, `id_token` and `token`
/// (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response Type Encoding Practices).
/// Word order does not matter; [`ResponseType::as_str`] is canonical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResponseType {
    code: bool,
    id_token: bool,
    token: bool,
}

impl ResponseType {
    pub const CODE: ResponseType = ResponseType {
        code: true,
        id_token: false,
        token: false,
    };

    /// Parses a space-delimited combination of `code`, `id_token` and
    /// `token`, each at most once. `none` and extensions are not supported.
    pub fn parse(s: &str) -> Option<ResponseType> {
        let mut rt = ResponseType {
            code: false,
            id_token: false,
            token: false,
        };
        for word in s.split(' ') {
            let slot = match word {
                "code" => &mut rt.code,
                "id_token" => &mut rt.id_token,
                "token" => &mut rt.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        Some(rt)
    }

    /// The canonical spelling (`code`, `code id_token`, `code id_token token`, ...).
    pub fn as_str(self) -> &'static str {
        match (self.code, self.id_token, self.token) {
            (true, false, false) => "code",
            (false, true, false) => "id_token",
            (false, false, true) => "token",
            (true, true, false) => "code id_token",
            (true, false, true) => "code token",
            (false, true, true) => "id_token token",
            (true, true, true) => "code id_token token",
            // Not constructible: parse needs at least one word.
            (false, false, false) => "",
        }
    }

    /// Includes `code`: needs the `authorization_code` grant.
    pub fn has_code(self) -> bool {
        self.code
    }

    pub fn has_id_token(self) -> bool {
        self.id_token
    }

    pub fn has_token(self) -> bool {
        self.token
    }

    /// Returns a token or ID Token from the authorization endpoint: needs
    /// the `implicit` grant (RFC 7591 §2.1).
    pub fn is_implicit(self) -> bool {
        self.id_token || self.token
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResponseType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ResponseType {
    fn from_value(v: &Value) -> Result<ResponseType, String> {
        let s = string(v)?;
        ResponseType::parse(&s).ok_or_else(|| {
            format!("unsupported value `{s}` (supported: combinations of code, id_token, token)")
        })
    }
}

impl<'de> Deserialize<'de> for ResponseType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ResponseType::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "unsupported value `{s}` (supported: combinations of code, id_token, token)"
            ))
        })
    }
}

/// A client identifier: 1 to 255 characters of `VSCHAR` (%x20-7E, RFC 6749
/// Appendix A.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_LEN: usize = 255;

    pub fn parse(s: &str) -> Option<ClientId> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes().all(|b| (0x20..=0x7e).contains(&b));
        ok.then(|| ClientId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A redirect URI as registered, or as requested and matched against the
/// registration. Deserialising does not validate it;
/// [`ClientMetadata::validate`] does, at registration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Registered client metadata. Field names and defaults are those of RFC 7591
/// §2 and OIDC Registration §2; `allow_plain_pkce` is Authrim's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientMetadata {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<RedirectUri>,
    pub token_endpoint_auth_method: AuthMethod,
    /// Default `["authorization_code"]`.
    pub grant_types: Vec<GrantType>,
    /// Default `["code"]` when the client may use the authorization code
    /// grant, otherwise `[]` (a `client_credentials` client need not send
    /// `"response_types": []`).
    pub response_types: Vec<ResponseType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Space-separated scope values the client may ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// A JWK Set by value (RFC 7591 §2); exclusive with `jwks_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: JwsAlg,
    /// OIDC Registration §2: ID Tokens signed, then encrypted to the
    /// client's key with this `alg` and `enc` (nested JWT).
    #[serde(skip_serializing_if = "Option::is_none", with = "key_alg_serde")]
    pub id_token_encrypted_response_alg: Option<KeyAlg>,
    /// Defaults to `A128CBC-HS256` when the `alg` is given.
    #[serde(skip_serializing_if = "Option::is_none", with = "content_enc_serde")]
    pub id_token_encrypted_response_enc: Option<ContentEnc>,
    /// UserInfo as a JWT signed with this alg (`application/jwt`); plain
    /// JSON when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<JwsAlg>,
    #[serde(skip_serializing_if = "Option::is_none", with = "key_alg_serde")]
    pub userinfo_encrypted_response_alg: Option<KeyAlg>,
    #[serde(skip_serializing_if = "Option::is_none", with = "content_enc_serde")]
    pub userinfo_encrypted_response_enc: Option<ContentEnc>,
    /// JARM §3: the alg of signed authorization responses; absent means
    /// RS256. RS256 or ES256 (the OP's keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_signed_response_alg: Option<JwsAlg>,
    /// JARM §3: authorization responses signed, then encrypted to the
    /// client's key with this `alg` and `enc` (nested JWT).
    #[serde(skip_serializing_if = "Option::is_none", with = "key_alg_serde")]
    pub authorization_encrypted_response_alg: Option<KeyAlg>,
    /// Defaults to `A128CBC-HS256` when the `alg` is given (JARM §3).
    #[serde(skip_serializing_if = "Option::is_none", with = "content_enc_serde")]
    pub authorization_encrypted_response_enc: Option<ContentEnc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<JwsAlg>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// RFC 9126 §6.
    pub require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_max_age: Option<u64>,
    pub require_auth_time: bool,
    pub subject_type: SubjectType,
    pub application_type: ApplicationType,
    /// Authrim extension: accept `code_challenge_method=plain` from this
    /// (confidential) client. Off by default; public clients never may.
    pub allow_plain_pkce: bool,
    /// Authrim extension (RFC 8628): lifetime in seconds of this client's
    /// device codes, instead of the deployment's `device_code_ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_code_ttl: Option<u64>,
    /// Authrim extension (RFC 8628 §3.2 `interval`): minimum seconds
    /// between this client's polls, instead of `device_poll_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_poll_interval: Option<u64>,
    /// RFC 9449 §5.2: every token request of this client carries a DPoP
    /// proof, so that all its access tokens are DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// CIBA Core §4: how this client receives the result of a backchannel
    /// authentication request; required with the CIBA grant type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_token_delivery_mode: Option<BackchannelDeliveryMode>,
    /// CIBA Core §4: https endpoint notified in ping and push modes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_client_notification_endpoint: Option<String>,
    /// CIBA Core §4: the client sends `user_code` with its requests; the
    /// OP then requires it (`crate::ciba::registered_user_code`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_user_code_parameter: bool,
    /// OIDC Registration §2: the alg every request object of this client
    /// is signed with (RS256 or ES256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<JwsAlg>,
    /// RFC 9101 §10.5: every authorization request of this client comes
    /// as a signed request object (`request`, or PAR with `request`).
    pub require_signed_request_object: bool,
    /// OIDC Registration §2: the https `request_uri` values this client
    /// may send (exact match).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_uris: Vec<String>,
    /// OIDC Registration §2: request objects of this client are encrypted
    /// to the OP's key with this `alg` (an ECDH-ES variant) and `enc`.
    #[serde(skip_serializing_if = "Option::is_none", with = "key_alg_serde")]
    pub request_object_encryption_alg: Option<KeyAlg>,
    #[serde(skip_serializing_if = "Option::is_none", with = "content_enc_serde")]
    pub request_object_encryption_enc: Option<ContentEnc>,
}

impl Default for ClientMetadata {
    fn default() -> Self {
        ClientMetadata {
            redirect_uris: Vec::new(),
            token_endpoint_auth_method: AuthMethod::default(),
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec![ResponseType::CODE],
            client_name: None,
            client_uri: None,
            logo_uri: None,
            scope: None,
            contacts: Vec::new(),
            jwks: None,
            jwks_uri: None,
            id_token_signed_response_alg: JwsAlg::default(),
            id_token_encrypted_response_alg: None,
            id_token_encrypted_response_enc: None,
            userinfo_signed_response_alg: None,
            userinfo_encrypted_response_alg: None,
            userinfo_encrypted_response_enc: None,
            authorization_signed_response_alg: None,
            authorization_encrypted_response_alg: None,
            authorization_encrypted_response_enc: None,
            token_endpoint_auth_signing_alg: None,
            post_logout_redirect_uris: Vec::new(),
            require_pushed_authorization_requests: false,
            default_max_age: None,
            require_auth_time: false,
            subject_type: SubjectType::default(),
            application_type: ApplicationType::default(),
            allow_plain_pkce: false,
            device_code_ttl: None,
            device_poll_interval: None,
            dpop_bound_access_tokens: false,
            backchannel_token_delivery_mode: None,
            backchannel_client_notification_endpoint: None,
            backchannel_user_code_parameter: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            request_uris: Vec::new(),
            request_object_encryption_alg: None,
            request_object_encryption_enc: None,
        }
    }
}

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidClientMetadata,
        safe_text(&description.into(), 300),
    )
}

fn invalid_redirect(uri: &str, why: &str) -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidRedirectUri,
        format!("redirect URI `{}` {why}", safe_text(uri, 100)),
    )
}

impl ClientMetadata {
    /// Reads metadata from JSON: a registration request or a stored record.
    /// `null` members count as absent; unknown members are ignored; a known
    /// member of the wrong type or with an unsupported value is
    /// `invalid_client_metadata` naming the member. Does not validate.
    pub fn from_json(json: &str) -> Result<ClientMetadata, OAuthError> {
        let mut map = match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(invalid_metadata("client metadata must be a JSON object")),
            Err(_) => return Err(invalid_metadata("client metadata is not valid JSON")),
        };
        map.retain(|_, v| !v.is_null());
        if !map.contains_key("response_types") {
            let code_grant = match map.get("grant_types") {
                Some(Value::Array(grants)) => grants.iter().any(|g| g == "authorization_code"),
                // Absent: the default grant is authorization_code. Not an
                // array: let deserialisation report it.
                _ => true,
            };
            if !code_grant {
                map.insert("response_types".into(), Value::Array(Vec::new()));
            }
        }
        // Read member by member rather than with the derived
        // `Deserialize`: the same results and messages, without serde's
        // generic error formatting (about 50 KB of every component that
        // reads client metadata). Members are read in map order, so the
        // first bad one is named.
        let mut metadata = ClientMetadata::default();
        for (name, value) in &map {
            metadata
                .read_member(name, value)
                .map_err(|why| invalid_metadata(format!("{name}: {why}")))?;
        }
        // OIDC Registration §2: "If [the alg] is included, [the enc] MUST
        // also be provided ... the default, if omitted, is A128CBC-HS256".
        // Only with the alg: an enc alone is refused by `validate`.
        for (alg, enc) in [
            (
                metadata.id_token_encrypted_response_alg,
                &mut metadata.id_token_encrypted_response_enc,
            ),
            (
                metadata.userinfo_encrypted_response_alg,
                &mut metadata.userinfo_encrypted_response_enc,
            ),
            (
                metadata.authorization_encrypted_response_alg,
                &mut metadata.authorization_encrypted_response_enc,
            ),
            (
                metadata.request_object_encryption_alg,
                &mut metadata.request_object_encryption_enc,
            ),
        ] {
            if alg.is_some() && enc.is_none() {
                *enc = Some(ContentEnc::A128CbcHs256);
            }
        }
        Ok(metadata)
    }

    /// Sets one member from its JSON value; unknown members are ignored.
    fn read_member(&mut self, name: &str, v: &Value) -> Result<(), String> {
        let uri = |v: &Value| string(v).map(RedirectUri);
        match name {
            "redirect_uris" => self.redirect_uris = list(v, uri)?,
            "token_endpoint_auth_method" => {
                self.token_endpoint_auth_method = AuthMethod::from_value(v)?
            }
            "grant_types" => self.grant_types = list(v, GrantType::from_value)?,
            "response_types" => self.response_types = list(v, ResponseType::from_value)?,
            "client_name" => self.client_name = Some(string(v)?),
            "client_uri" => self.client_uri = Some(string(v)?),
            "logo_uri" => self.logo_uri = Some(string(v)?),
            "scope" => self.scope = Some(string(v)?),
            "contacts" => self.contacts = list(v, string)?,
            "jwks" => self.jwks = Some(v.clone()),
            "jwks_uri" => self.jwks_uri = Some(string(v)?),
            "id_token_signed_response_alg" => {
                self.id_token_signed_response_alg = JwsAlg::from_value(v)?
            }
            "id_token_encrypted_response_alg" => {
                self.id_token_encrypted_response_alg = Some(key_alg(v)?)
            }
            "id_token_encrypted_response_enc" => {
                self.id_token_encrypted_response_enc = Some(content_enc(v)?)
            }
            "userinfo_signed_response_alg" => {
                self.userinfo_signed_response_alg = Some(JwsAlg::from_value(v)?)
            }
            "userinfo_encrypted_response_alg" => {
                self.userinfo_encrypted_response_alg = Some(key_alg(v)?)
            }
            "userinfo_encrypted_response_enc" => {
                self.userinfo_encrypted_response_enc = Some(content_enc(v)?)
            }
            "authorization_signed_response_alg" => {
                self.authorization_signed_response_alg = Some(JwsAlg::from_value(v)?)
            }
            "authorization_encrypted_response_alg" => {
                self.authorization_encrypted_response_alg = Some(key_alg(v)?)
            }
            "authorization_encrypted_response_enc" => {
                self.authorization_encrypted_response_enc = Some(content_enc(v)?)
            }
            "token_endpoint_auth_signing_alg" => {
                self.token_endpoint_auth_signing_alg = Some(JwsAlg::from_value(v)?)
            }
            "post_logout_redirect_uris" => self.post_logout_redirect_uris = list(v, uri)?,
            "require_pushed_authorization_requests" => {
                self.require_pushed_authorization_requests = boolean(v)?
            }
            "default_max_age" => self.default_max_age = Some(unsigned(v)?),
            "require_auth_time" => self.require_auth_time = boolean(v)?,
            "dpop_bound_access_tokens" => self.dpop_bound_access_tokens = boolean(v)?,
            "subject_type" => self.subject_type = SubjectType::from_value(v)?,
            "application_type" => self.application_type = ApplicationType::from_value(v)?,
            "allow_plain_pkce" => self.allow_plain_pkce = boolean(v)?,
            "device_code_ttl" => self.device_code_ttl = Some(unsigned(v)?),
            "device_poll_interval" => self.device_poll_interval = Some(unsigned(v)?),
            "backchannel_token_delivery_mode" => {
                self.backchannel_token_delivery_mode = Some(BackchannelDeliveryMode::from_value(v)?)
            }
            "backchannel_client_notification_endpoint" => {
                self.backchannel_client_notification_endpoint = Some(string(v)?)
            }
            "backchannel_user_code_parameter" => self.backchannel_user_code_parameter = boolean(v)?,
            // CIBA Core §7.1.1 signed authentication requests are not
            // accepted: a client that would send them is refused (and
            // discovery lists no signing algs for them).
            "backchannel_authentication_request_signing_alg" => {
                return Err("signed backchannel authentication requests are not supported".into())
            }
            "request_object_signing_alg" => {
                self.request_object_signing_alg = Some(JwsAlg::from_value(v)?)
            }
            "require_signed_request_object" => self.require_signed_request_object = boolean(v)?,
            "request_uris" => self.request_uris = list(v, string)?,
            "request_object_encryption_alg" => {
                self.request_object_encryption_alg = Some(key_alg(v)?)
            }
            "request_object_encryption_enc" => {
                self.request_object_encryption_enc = Some(content_enc(v)?)
            }
            _ => {}
        }
        Ok(())
    }

    /// The registration rules (RFC 7591 §2, §2.1, OIDC Registration §2,
    /// RFC 8252 §7):
    /// - grant and response types consistent: `code` with
    ///   `authorization_code`, `token`/`id_token` with `implicit`, in both
    ///   directions; `refresh_token` not alone;
    /// - `redirect_uris` required for `authorization_code` and `implicit`;
    ///   each absolute, ASCII, without fragment or credentials; web clients
    ///   `https` (or `http` on localhost, 127.0.0.1, [::1]), and `https` on a
    ///   non-loopback host for `implicit`; native clients `https`, loopback
    ///   `http` or a reverse-domain private-use scheme;
    /// - `none` not with `client_credentials` nor `allow_plain_pkce`;
    ///   `jwks` xor `jwks_uri` (https), required by `private_key_jwt`;
    ///   signing algorithms that fit the method; ID Tokens RS256 or ES256.
    pub fn validate(&self) -> Result<(), OAuthError> {
        self.validate_grants()?;
        self.validate_redirect_uris()?;
        self.validate_authentication()?;
        self.validate_backchannel()?;
        self.validate_other_fields()
    }

    /// CIBA Core §4: the CIBA grant needs a delivery mode (all three are
    /// served); ping and push need an https notification endpoint.
    /// `backchannel_user_code_parameter` is served too (op-async requires
    /// and checks `user_code` for such a client).
    fn validate_backchannel(&self) -> Result<(), OAuthError> {
        let ciba = self.allows_grant(GrantType::Ciba);
        if ciba && self.is_public() {
            return Err(invalid_metadata(
                "the CIBA grant type needs an authenticated client (not token_endpoint_auth_method none)",
            ));
        }
        let Some(mode) = self.backchannel_token_delivery_mode else {
            if ciba {
                return Err(invalid_metadata(
                    "backchannel_token_delivery_mode is required with the CIBA grant type",
                ));
            }
            return Ok(());
        };
        if mode != BackchannelDeliveryMode::Poll {
            // §4 asks for https. An operator may register (`authrim admin
            // client add`; `/register` refuses it) an http endpoint on a
            // loopback host, for a client on the same machine; op-async
            // reaches only hosts listed in its `allowed_outbound_hosts`.
            match self.backchannel_client_notification_endpoint.as_deref().map(parse_uri) {
                Some(Ok(u))
                    if match (u.scheme, u.host) {
                        ("https", Some(h)) => !h.is_empty(),
                        ("http", Some(h)) => is_loopback_host(h),
                        _ => false,
                    } => {}
                _ => {
                    return Err(invalid_metadata(
                        "backchannel_client_notification_endpoint must be an https URL for ping and push (http only on a loopback host)",
                    ))
                }
            }
        }
        Ok(())
    }

    fn validate_grants(&self) -> Result<(), OAuthError> {
        if self.grant_types.is_empty() {
            return Err(invalid_metadata("grant_types must not be empty"));
        }
        let code = self.allows_grant(GrantType::AuthorizationCode);
        let implicit = self.allows_grant(GrantType::Implicit);
        // RFC 7591 §2.1: code <-> authorization_code, token/id_token <-> implicit.
        if let Some(rt) = self.response_types.iter().find(|rt| rt.has_code() && !code) {
            return Err(invalid_metadata(format!(
                "response type `{rt}` needs the authorization_code grant type"
            )));
        }
        if let Some(rt) = self
            .response_types
            .iter()
            .find(|rt| rt.is_implicit() && !implicit)
        {
            return Err(invalid_metadata(format!(
                "response type `{rt}` needs the implicit grant type"
            )));
        }
        if code && !self.response_types.iter().any(|rt| rt.has_code()) {
            return Err(invalid_metadata(
                "grant type authorization_code needs a response type with `code`",
            ));
        }
        if implicit && !self.response_types.iter().any(|rt| rt.is_implicit()) {
            return Err(invalid_metadata(
                "grant type implicit needs a response type with `token` or `id_token`",
            ));
        }
        if self
            .grant_types
            .iter()
            .all(|g| *g == GrantType::RefreshToken)
        {
            return Err(invalid_metadata(
                "grant type refresh_token needs a grant type that issues refresh tokens",
            ));
        }
        Ok(())
    }

    fn validate_redirect_uris(&self) -> Result<(), OAuthError> {
        let redirects = self.allows_grant(GrantType::AuthorizationCode)
            || self.allows_grant(GrantType::Implicit);
        if redirects && self.redirect_uris.is_empty() {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRedirectUri,
                "redirect_uris is required for the authorization_code and implicit grant types",
            ));
        }
        let implicit = self.allows_grant(GrantType::Implicit);
        for uri in &self.redirect_uris {
            check_redirect_uri(uri.as_str(), self.application_type, implicit)
                .map_err(|why| invalid_redirect(uri.as_str(), why))?;
        }
        for uri in &self.post_logout_redirect_uris {
            check_redirect_uri(uri.as_str(), self.application_type, false).map_err(|why| {
                invalid_metadata(format!(
                    "post_logout_redirect_uris: `{}` {why}",
                    safe_text(uri.as_str(), 100)
                ))
            })?;
        }
        Ok(())
    }

    fn validate_authentication(&self) -> Result<(), OAuthError> {
        let method = self.token_endpoint_auth_method;
        if method == AuthMethod::None {
            if self.allows_grant(GrantType::ClientCredentials) {
                return Err(invalid_metadata(
                    "token_endpoint_auth_method none cannot be used with the client_credentials grant type",
                ));
            }
            // The token endpoint issues assertion grants to authenticated
            // clients only (RFC 7521 §5.2 leaves that to the server).
            if self.allows_grant(GrantType::JwtBearer) {
                return Err(invalid_metadata(
                    "token_endpoint_auth_method none cannot be used with the jwt-bearer grant type",
                ));
            }
            if self.allow_plain_pkce {
                return Err(invalid_metadata(
                    "allow_plain_pkce is not available to public clients: they must use S256",
                ));
            }
        }
        if self.jwks.is_some() && self.jwks_uri.is_some() {
            return Err(invalid_metadata(
                "jwks and jwks_uri must not both be present (RFC 7591 section 2)",
            ));
        }
        if let Some(uri) = &self.jwks_uri {
            match parse_uri(uri) {
                Ok(u) if u.scheme == "https" && u.host.is_some_and(|h| !h.is_empty()) => {}
                _ => return Err(invalid_metadata("jwks_uri must be an https URL")),
            }
        }
        if let Some(jwks) = self.jwks()? {
            let signing = jwks
                .keys
                .iter()
                .any(|k| k.allows(Alg::RS256) || k.allows(Alg::ES256));
            let encryption = jwks
                .keys
                .iter()
                .any(|k| KeyAlg::ALL.iter().any(|&a| k.allows_encryption(a)));
            if !signing && !encryption {
                return Err(invalid_metadata(
                    "jwks holds no RSA or P-256 key for signing or encryption",
                ));
            }
        }
        match (method, self.token_endpoint_auth_signing_alg) {
            (AuthMethod::PrivateKeyJwt, _) if self.jwks.is_none() && self.jwks_uri.is_none() => {
                Err(invalid_metadata("private_key_jwt needs jwks or jwks_uri"))
            }
            (AuthMethod::PrivateKeyJwt, Some(alg)) if alg.is_hmac() => Err(invalid_metadata(
                "token_endpoint_auth_signing_alg for private_key_jwt must be RS256 or ES256",
            )),
            (AuthMethod::ClientSecretJwt, Some(alg)) if !alg.is_hmac() => Err(invalid_metadata(
                "token_endpoint_auth_signing_alg for client_secret_jwt must be HS256, HS384 or HS512",
            )),
            _ => Ok(()),
        }
    }

    fn validate_other_fields(&self) -> Result<(), OAuthError> {
        if self.id_token_signed_response_alg.is_hmac() {
            return Err(invalid_metadata(
                "id_token_signed_response_alg must be RS256 or ES256",
            ));
        }
        if self
            .userinfo_signed_response_alg
            .is_some_and(JwsAlg::is_hmac)
        {
            return Err(invalid_metadata(
                "userinfo_signed_response_alg must be RS256 or ES256",
            ));
        }
        if self
            .authorization_signed_response_alg
            .is_some_and(JwsAlg::is_hmac)
        {
            return Err(invalid_metadata(
                "authorization_signed_response_alg must be RS256 or ES256",
            ));
        }
        self.validate_encryption()?;
        self.validate_request_objects()?;
        for (name, uri) in [
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
        ] {
            if let Some(uri) = uri {
                let ok = parse_uri(uri).is_ok_and(|u| {
                    matches!(u.scheme.to_ascii_lowercase().as_str(), "https" | "http")
                        && u.host.is_some_and(|h| !h.is_empty())
                });
                if !ok {
                    return Err(invalid_metadata(format!("{name} must be an http(s) URL")));
                }
            }
        }
        if let Some(scope) = &self.scope {
            if Scope::parse(scope).is_err() {
                return Err(invalid_metadata(
                    "scope must be space-separated scope values (RFC 6749 section 3.3)",
                ));
            }
        }
        if self.contacts.iter().any(|c| c.trim().is_empty()) {
            return Err(invalid_metadata("contacts must not hold empty values"));
        }
        let within = |v: Option<u64>, range: std::ops::RangeInclusive<i64>| {
            v.is_none_or(|v| i64::try_from(v).is_ok_and(|v| range.contains(&v)))
        };
        if !within(self.device_code_ttl, crate::device::TTL_RANGE) {
            return Err(invalid_metadata(
                "device_code_ttl must be between 60 and 86400 seconds",
            ));
        }
        if !within(self.device_poll_interval, crate::device::INTERVAL_RANGE) {
            return Err(invalid_metadata(
                "device_poll_interval must be between 1 and 300 seconds",
            ));
        }
        Ok(())
    }

    /// OIDC Registration §2: an `enc` needs its `alg`; an encryption `alg`
    /// needs keys: `jwks` holding a key for it (RFC 7517 `use` `enc` or
    /// none, its `alg` if any), or a `jwks_uri` (checked when used).
    fn validate_encryption(&self) -> Result<(), OAuthError> {
        let jwks = self.jwks()?;
        for (prefix, alg, enc) in [
            (
                "id_token",
                self.id_token_encrypted_response_alg,
                self.id_token_encrypted_response_enc,
            ),
            (
                "userinfo",
                self.userinfo_encrypted_response_alg,
                self.userinfo_encrypted_response_enc,
            ),
            (
                "authorization",
                self.authorization_encrypted_response_alg,
                self.authorization_encrypted_response_enc,
            ),
        ] {
            let Some(alg) = alg else {
                if enc.is_some() {
                    return Err(invalid_metadata(format!(
                        "{prefix}_encrypted_response_enc needs {prefix}_encrypted_response_alg"
                    )));
                }
                continue;
            };
            match &jwks {
                Some(set) if set.select_encryption(alg).is_none() => {
                    return Err(invalid_metadata(format!(
                        "{prefix}_encrypted_response_alg {alg}: jwks holds no key for it (an {} key with use enc or no use)",
                        alg.kty()
                    )));
                }
                None if self.jwks_uri.is_none() => {
                    return Err(invalid_metadata(format!(
                        "{prefix}_encrypted_response_alg needs jwks or jwks_uri"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// RFC 9101 / OIDC Registration §2: request objects are signed with
    /// RS256 or ES256 by a key the client registered; `request_uris` are
    /// https URLs (a fragment is allowed: OIDC Core §6.2 uses it to tell
    /// versions apart).
    fn validate_request_objects(&self) -> Result<(), OAuthError> {
        if self.request_object_signing_alg.is_some_and(JwsAlg::is_hmac) {
            return Err(invalid_metadata(
                "request_object_signing_alg must be RS256 or ES256",
            ));
        }
        let signs = self.request_object_signing_alg.is_some() || self.require_signed_request_object;
        if signs && self.jwks.is_none() && self.jwks_uri.is_none() {
            return Err(invalid_metadata(
                "signed request objects need jwks or jwks_uri",
            ));
        }
        match (
            self.request_object_encryption_alg,
            self.request_object_encryption_enc,
        ) {
            (None, Some(_)) => {
                return Err(invalid_metadata(
                    "request_object_encryption_enc needs request_object_encryption_alg",
                ))
            }
            // The OP has a P-256 key for ECDH-ES only.
            (Some(alg), _) if alg.kty() != "EC" => return Err(invalid_metadata(
                "request_object_encryption_alg must be ECDH-ES, ECDH-ES+A128KW or ECDH-ES+A256KW",
            )),
            _ => {}
        }
        for uri in &self.request_uris {
            let ok = uri.len() <= crate::authorize::MAX_REQUEST_URI_LEN
                && parse_uri(uri.split('#').next().unwrap_or(uri))
                    .is_ok_and(|u| u.scheme == "https" && u.host.is_some_and(|h| !h.is_empty()));
            if !ok {
                return Err(invalid_metadata("request_uris must be https URLs"));
            }
        }
        Ok(())
    }

    /// The `alg` and `enc` ID Tokens are encrypted with, if any.
    pub fn id_token_encryption(&self) -> Option<(KeyAlg, ContentEnc)> {
        let alg = self.id_token_encrypted_response_alg?;
        Some((
            alg,
            self.id_token_encrypted_response_enc
                .unwrap_or(ContentEnc::A128CbcHs256),
        ))
    }

    /// The `alg` and `enc` JARM responses are encrypted with, if any.
    pub fn authorization_encryption(&self) -> Option<(KeyAlg, ContentEnc)> {
        let alg = self.authorization_encrypted_response_alg?;
        Some((
            alg,
            self.authorization_encrypted_response_enc
                .unwrap_or(ContentEnc::A128CbcHs256),
        ))
    }

    /// The `alg` and `enc` UserInfo responses are encrypted with, if any.
    pub fn userinfo_encryption(&self) -> Option<(KeyAlg, ContentEnc)> {
        let alg = self.userinfo_encrypted_response_alg?;
        Some((
            alg,
            self.userinfo_encrypted_response_enc
                .unwrap_or(ContentEnc::A128CbcHs256),
        ))
    }

    /// The client's JWK Set by value, parsed; `None` when it registered none
    /// (or a `jwks_uri`, which the caller fetches).
    pub fn jwks(&self) -> Result<Option<Jwks>, OAuthError> {
        match &self.jwks {
            None => Ok(None),
            Some(value) => Jwks::parse(&value.to_string())
                .map(Some)
                .map_err(|e| invalid_metadata(format!("jwks: {e}"))),
        }
    }

    /// A public client (`token_endpoint_auth_method` `none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// The alg of the client's JARM responses (JARM §3: RS256 by default).
    pub fn authorization_signed_response_alg(&self) -> Alg {
        self.authorization_signed_response_alg
            .and_then(JwsAlg::asymmetric)
            .unwrap_or(Alg::RS256)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn allows_response_type(&self, response_type: ResponseType) -> bool {
        self.response_types.contains(&response_type)
    }

    /// The redirect URI to use for `requested`, if it is registered: the
    /// exact same string, or (native clients only) an `http` loopback URI
    /// that differs from a registered one in its port alone (RFC 8252 §7.3).
    pub fn match_redirect_uri(&self, requested: &str) -> Option<RedirectUri> {
        match_redirect_uri(&self.redirect_uris, requested, self.application_type)
    }

    /// The same rule for `post_logout_redirect_uri` (OIDC RP-Initiated
    /// Logout §3).
    pub fn match_post_logout_redirect_uri(&self, requested: &str) -> Option<RedirectUri> {
        match_redirect_uri(
            &self.post_logout_redirect_uris,
            requested,
            self.application_type,
        )
    }
}

fn key_alg(v: &Value) -> Result<KeyAlg, String> {
    let s = string(v)?;
    KeyAlg::parse(&s).ok_or_else(|| unsupported(&s, KeyAlg::ALL.iter().map(|a| a.as_str())))
}

fn content_enc(v: &Value) -> Result<ContentEnc, String> {
    let s = string(v)?;
    ContentEnc::parse(&s).ok_or_else(|| unsupported(&s, ContentEnc::ALL.iter().map(|a| a.as_str())))
}

fn unsupported<'a>(value: &str, supported: impl Iterator<Item = &'a str>) -> String {
    format!(
        "unsupported value `{value}` (supported: {})",
        supported.collect::<Vec<_>>().join(", ")
    )
}

/// serde for the JWE names of `authrim-jose` (which has no serde), as
/// their protocol strings.
macro_rules! jose_name_serde {
    ($module:ident, $ty:ty, $read:ident) => {
        mod $module {
            use super::*;

            pub fn serialize<S: Serializer>(v: &Option<$ty>, s: S) -> Result<S::Ok, S::Error> {
                match v {
                    Some(v) => s.serialize_str(v.as_str()),
                    None => s.serialize_none(),
                }
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
                match Option::<String>::deserialize(d)? {
                    None => Ok(None),
                    Some(s) => $read(&Value::String(s))
                        .map(Some)
                        .map_err(de::Error::custom),
                }
            }
        }
    };
}

jose_name_serde!(key_alg_serde, KeyAlg, key_alg);
jose_name_serde!(content_enc_serde, ContentEnc, content_enc);

/// What a JSON value is, in the words of serde_json's errors.
fn unexpected(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".to_string(),
        Value::Object(_) => "map".to_string(),
    }
}

fn invalid_type(v: &Value, expected: &str) -> String {
    format!("invalid type: {}, expected {expected}", unexpected(v))
}

fn string(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid_type(v, "a string"))
}

fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| invalid_type(v, "a boolean"))
}

fn unsigned(v: &Value) -> Result<u64, String> {
    match (v.as_u64(), v.as_i64()) {
        (Some(u), _) => Ok(u),
        (None, Some(i)) => Err(format!("invalid value: integer `{i}`, expected u64")),
        _ => Err(invalid_type(v, "u64")),
    }
}

fn list<T>(v: &Value, item: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    match v {
        Value::Array(items) => items.iter().map(item).collect(),
        _ => Err(invalid_type(v, "a sequence")),
    }
}

/// Byte-for-byte redirect URI matching, with the RFC 8252 §7.3 loopback
/// port exception for native clients. Returns the requested URI, which is
/// what the authorization response goes to and what the token request's
/// `redirect_uri` must equal.
pub fn match_redirect_uri(
    registered: &[RedirectUri],
    requested: &str,
    application_type: ApplicationType,
) -> Option<RedirectUri> {
    if registered.iter().any(|r| r.0 == requested) {
        return Some(RedirectUri(requested.to_string()));
    }
    if application_type != ApplicationType::Native {
        return None;
    }
    let without_port = loopback_without_port(requested)?;
    registered
        .iter()
        .any(|r| loopback_without_port(&r.0).as_deref() == Some(without_port.as_str()))
        .then(|| RedirectUri(requested.to_string()))
}

/// For an `http` URI on a loopback host, the URI with its `:port` removed.
fn loopback_without_port(uri: &str) -> Option<String> {
    let u = parse_uri(uri).ok()?;
    if u.scheme != "http" || !u.host.is_some_and(is_loopback_host) {
        return None;
    }
    let (start, end) = u.port_span;
    Some(format!("{}{}", &uri[..start], &uri[end..]))
}

/// The hosts RFC 8252 §7.3 and §8.3 treat as loopback.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1"
}

/// The registration rules for one redirect URI; the error completes the
/// sentence "redirect URI `...` ...".
fn check_redirect_uri(
    uri: &str,
    application_type: ApplicationType,
    implicit: bool,
) -> Result<(), &'static str> {
    let u = parse_uri(uri)?;
    let scheme = u.scheme.to_ascii_lowercase();
    let web = matches!(scheme.as_str(), "http" | "https");
    if web && u.host.is_none_or(str::is_empty) {
        return Err("has no host");
    }
    let loopback = u.host.is_some_and(is_loopback_host);
    match (application_type, scheme.as_str()) {
        // OIDC Registration §2: web clients using the implicit grant "MUST
        // only register URLs using the https scheme ...; they MUST NOT use
        // localhost as the hostname".
        (ApplicationType::Web, _) if implicit && (scheme != "https" || loopback) => {
            Err("must be https on a host other than localhost for the implicit grant")
        }
        (_, "https") => Ok(()),
        (_, "http") if loopback => Ok(()),
        (_, "http") => Err("must use https (http is allowed only for loopback hosts)"),
        (ApplicationType::Web, _) => {
            Err("must use https (private-use schemes are for native clients)")
        }
        // RFC 8252 §7.1: a private-use scheme is a reverse domain name.
        (ApplicationType::Native, _) => {
            let reverse_domain =
                scheme.contains('.') && scheme.split('.').all(|label| !label.is_empty());
            if !reverse_domain {
                Err("must use https, http on a loopback host, or a private-use scheme in reverse domain form such as com.example.app")
            } else if u.rest_is_empty {
                Err("has nothing after its scheme")
            } else {
                Ok(())
            }
        }
    }
}

/// The parts of an absolute URI the rules above need. A hand-written
/// splitter rather than the `url` crate (its IDNA tables would double the
/// size of every component); it refuses rather than normalises.
struct UriParts<'a> {
    scheme: &'a str,
    /// The host of an authority (`//host:port`), without IPv6 brackets.
    host: Option<&'a str>,
    /// Byte range of `:port` in the URI (empty when there is none).
    port_span: (usize, usize),
    /// Nothing follows `scheme:`.
    rest_is_empty: bool,
}

fn parse_uri(s: &str) -> Result<UriParts<'_>, &'static str> {
    if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err("must not contain spaces, control or non-ASCII characters");
    }
    if s.contains('#') {
        return Err("must not contain a fragment");
    }
    let colon = s.find(':').ok_or("is not an absolute URI")?;
    let scheme = &s[..colon];
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err("is not an absolute URI");
    }
    let rest = &s[colon + 1..];
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(UriParts {
            scheme,
            host: None,
            port_span: (s.len(), s.len()),
            rest_is_empty: rest.is_empty(),
        });
    };
    let authority_start = colon + 3;
    let authority_end = authority_start + after.find(['/', '?']).unwrap_or(after.len());
    let authority = &s[authority_start..authority_end];
    if authority.contains('@') {
        return Err("must not contain user credentials");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let end = v6.find(']').ok_or("has an invalid host")?;
            let host = &v6[..end];
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err("has an invalid host");
            }
            (host, &v6[end + 1..])
        }
        None => {
            let (host, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
            let reg_name = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b);
            if !host.bytes().all(reg_name) {
                return Err("has an invalid host");
            }
            (host, port)
        }
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':').ok_or("has an invalid host")?;
        let valid = !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !valid {
            return Err("has an invalid port");
        }
    }
    Ok(UriParts {
        scheme,
        host: Some(host),
        port_span: (authority_end - port.len(), authority_end),
        rest_is_empty: rest.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ClientMetadata {
        ClientMetadata::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter().map(|u| RedirectUri(u.to_string())).collect()
    }

    const EC_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    #[test]
    fn defaults_follow_the_specifications() {
        let m = parse(r#"{"redirect_uris":["https://c.example/cb"]}"#);
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(m.grant_types, [GrantType::AuthorizationCode]);
        assert_eq!(m.response_types, [ResponseType::CODE]);
        assert_eq!(m.id_token_signed_response_alg, JwsAlg::RS256);
        assert_eq!(m.application_type, ApplicationType::Web);
        assert_eq!(m.subject_type, SubjectType::Public);
        assert!(!m.allow_plain_pkce && !m.require_auth_time);
        assert!(!m.require_pushed_authorization_requests);
        m.validate().unwrap();

        // A client_credentials client gets no response types by default.
        let m = parse(r#"{"grant_types":["client_credentials"]}"#);
        assert!(m.response_types.is_empty());
        m.validate().unwrap();
    }

    #[test]
    fn reads_every_field_and_ignores_unknown_and_null_members() {
        let json = format!(
            r#"{{
            "redirect_uris": ["https://c.example/cb", "https://c.example/cb2"],
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["authorization_code", "refresh_token", "implicit"],
            "response_types": ["code", "id_token code"],
            "client_name": "Example", "client_uri": "https://c.example",
            "logo_uri": "https://c.example/logo.png", "scope": "openid profile",
            "contacts": ["ops@c.example"], "jwks": {{"keys": [{EC_JWK}]}},
            "id_token_signed_response_alg": "ES256",
            "token_endpoint_auth_signing_alg": "ES256",
            "post_logout_redirect_uris": ["https://c.example/bye"],
            "require_pushed_authorization_requests": true, "default_max_age": 3600,
            "require_auth_time": true, "subject_type": "public", "application_type": "web",
            "allow_plain_pkce": true,
            "software_statement": "eyJ...", "client_name#ja-Jpan-JP": "x", "jwks_uri": null,
            "tos_uri": 5
        }}"#
        );
        let m = parse(&json);
        m.validate().unwrap();
        assert_eq!(m.redirect_uris.len(), 2);
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::PrivateKeyJwt);
        assert!(m.allows_grant(GrantType::RefreshToken));
        assert!(m.allows_response_type(ResponseType::parse("code id_token").unwrap()));
        assert!(!m.allows_response_type(ResponseType::parse("id_token").unwrap()));
        assert_eq!(m.client_name.as_deref(), Some("Example"));
        assert_eq!(m.scope.as_deref(), Some("openid profile"));
        assert_eq!(m.jwks().unwrap().unwrap().keys.len(), 1);
        assert_eq!(m.id_token_signed_response_alg, JwsAlg::ES256);
        assert_eq!(m.token_endpoint_auth_signing_alg, Some(JwsAlg::ES256));
        assert_eq!(m.default_max_age, Some(3600));
        assert!(m.require_auth_time && m.require_pushed_authorization_requests);
        assert!(m.allow_plain_pkce);

        // Stored form: canonical, defaults explicit, round-trips.
        let stored = serde_json::to_string(&m).unwrap();
        assert!(
            stored.contains(r#""response_types":["code","code id_token"]"#),
            "{stored}"
        );
        assert!(!stored.contains("software_statement") && !stored.contains("tos_uri"));
        assert_eq!(ClientMetadata::from_json(&stored).unwrap(), m);
        let minimal =
            serde_json::to_value(parse(r#"{"redirect_uris":["https://c.example/cb"]}"#)).unwrap();
        assert_eq!(minimal["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(
            minimal["grant_types"],
            serde_json::json!(["authorization_code"])
        );
        assert_eq!(minimal["response_types"], serde_json::json!(["code"]));
        assert!(minimal.get("client_name").is_none());
    }

    #[test]
    fn encryption_members_and_the_enc_default() {
        let m = parse(
            r#"{"id_token_encrypted_response_alg":"RSA-OAEP","userinfo_encrypted_response_alg":"ECDH-ES","userinfo_encrypted_response_enc":"A256GCM","userinfo_signed_response_alg":"ES256"}"#,
        );
        assert_eq!(
            m.id_token_encryption(),
            Some((KeyAlg::RsaOaep, ContentEnc::A128CbcHs256))
        );
        assert_eq!(
            m.userinfo_encryption(),
            Some((KeyAlg::EcdhEs, ContentEnc::A256Gcm))
        );
        assert_eq!(m.userinfo_signed_response_alg, Some(JwsAlg::ES256));
        // The default enc is stored, so the registration response shows it.
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["id_token_encrypted_response_enc"], "A128CBC-HS256");
        assert_eq!(parse(&json.to_string()), m);
        let plain = parse("{}");
        assert_eq!(plain.id_token_encryption(), None);
        assert_eq!(plain.userinfo_encryption(), None);
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("userinfo_signed_response_alg").is_none());
        for (json, why) in [
            (r#"{"id_token_encrypted_response_alg":"RSA1_5"}"#, "id_token_encrypted_response_alg: unsupported value `RSA1_5` (supported: RSA-OAEP-256, RSA-OAEP, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW)"),
            (r#"{"id_token_encrypted_response_enc":"A192GCM"}"#, "id_token_encrypted_response_enc: unsupported value `A192GCM` (supported: A128GCM, A256GCM, A128CBC-HS256, A256CBC-HS512)"),
            (r#"{"userinfo_encrypted_response_alg":7}"#, "userinfo_encrypted_response_alg: invalid type: integer `7`, expected a string"),
            (r#"{"userinfo_signed_response_alg":"none"}"#, "userinfo_signed_response_alg: unsupported value `none` (supported: RS256, ES256, HS256, HS384, HS512)"),
        ] {
            let e = ClientMetadata::from_json(json).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata);
            assert_eq!(e.description.as_deref(), Some(why), "{json}");
        }
    }

    #[test]
    fn malformed_members_are_named() {
        let table: &[(&str, &str)] = &[
            ("[]", "client metadata must be a JSON object"),
            ("{", "client metadata is not valid JSON"),
            (r#"{"grant_types":"authorization_code"}"#, "grant_types: invalid type: string 'authorization_code', expected a sequence"),
            (r#"{"grant_types":["password"]}"#, "grant_types: unsupported value `password` (supported: authorization_code, implicit, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:jwt-bearer, urn:openid:params:grant-type:ciba)"),
            (r#"{"token_endpoint_auth_method":"tls_client_auth"}"#, "token_endpoint_auth_method: unsupported value `tls_client_auth` (supported: client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none)"),
            (r#"{"response_types":["code code"]}"#, "response_types: unsupported value `code code` (supported: combinations of code, id_token, token)"),
            (r#"{"response_types":["none"]}"#, "response_types: unsupported value `none` (supported: combinations of code, id_token, token)"),
            (r#"{"subject_type":"pairwise"}"#, "subject_type: unsupported value `pairwise` (supported: public)"),
            (r#"{"application_type":"browser"}"#, "application_type: unsupported value `browser` (supported: web, native)"),
            (r#"{"id_token_signed_response_alg":"none"}"#, "id_token_signed_response_alg: unsupported value `none` (supported: RS256, ES256, HS256, HS384, HS512)"),
            (r#"{"default_max_age":-1}"#, "default_max_age: invalid value: integer `-1`, expected u64"),
            (r#"{"require_auth_time":"yes"}"#, "require_auth_time: invalid type: string 'yes', expected a boolean"),
            (r#"{"redirect_uris":[5]}"#, "redirect_uris: invalid type: integer `5`, expected a string"),
        ];
        for (json, description) in table {
            let e = ClientMetadata::from_json(json).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{json}");
            assert_eq!(e.description.as_deref(), Some(*description), "{json}");
        }
    }

    /// The member-by-member reader agrees with the derived `Deserialize`:
    /// same values, same error words.
    #[test]
    fn the_reader_matches_the_derived_deserialize() {
        let values = [
            "null",
            "true",
            "false",
            "0",
            "5",
            "-1",
            "18446744073709551615",
            "1.5",
            "1e300",
            "-0.0",
            r#""""#,
            r#""x""#,
            r#""a \"q\" \n é \u0007""#,
            "[]",
            "[5]",
            "[null]",
            r#"["code"]"#,
            r#"["authorization_code","refresh_token"]"#,
            r#"["https://c/cb"]"#,
            "{}",
            r#"{"keys":[]}"#,
            r#""client_secret_post""#,
            r#""ES256""#,
            r#""native""#,
            r#""public""#,
            r#"["code id_token"]"#,
        ];
        let members = [
            "redirect_uris",
            "token_endpoint_auth_method",
            "grant_types",
            "response_types",
            "client_name",
            "client_uri",
            "logo_uri",
            "scope",
            "contacts",
            "jwks",
            "jwks_uri",
            "id_token_signed_response_alg",
            "token_endpoint_auth_signing_alg",
            "post_logout_redirect_uris",
            "require_pushed_authorization_requests",
            "default_max_age",
            "require_auth_time",
            "subject_type",
            "application_type",
            "allow_plain_pkce",
            "device_code_ttl",
            "device_poll_interval",
            "dpop_bound_access_tokens",
            "unknown_member",
        ];
        for member in members {
            for raw in values {
                let value: Value = serde_json::from_str(raw).unwrap();
                if value.is_null() {
                    continue;
                }
                let mut object = serde_json::Map::new();
                object.insert(member.to_string(), value.clone());
                let derived =
                    ClientMetadata::deserialize(&Value::Object(object)).map_err(|e| e.to_string());
                let mut read = ClientMetadata::default();
                let read = read.read_member(member, &value).map(|()| read);
                assert_eq!(read, derived, "{member}: {raw}");
            }
        }
    }

    #[test]
    fn jarm_signing_alg() {
        let m = parse(r#"{"redirect_uris":["https://rp.example/cb"]}"#);
        assert_eq!(m.authorization_signed_response_alg(), Alg::RS256);
        let m = parse(
            r#"{"redirect_uris":["https://rp.example/cb"],"authorization_signed_response_alg":"ES256"}"#,
        );
        assert_eq!(m.authorization_signed_response_alg(), Alg::ES256);
        assert!(m.validate().is_ok());
        let hs = parse(
            r#"{"redirect_uris":["https://rp.example/cb"],"authorization_signed_response_alg":"HS256"}"#,
        );
        assert_eq!(
            hs.validate().unwrap_err().code,
            ErrorCode::InvalidClientMetadata
        );
        for refused in [
            r#"{"authorization_signed_response_alg":"none"}"#,
            r#"{"authorization_encrypted_response_alg":"RSA1_5"}"#,
            r#"{"authorization_encrypted_response_enc":"A192GCM"}"#,
        ] {
            let e = ClientMetadata::from_json(refused).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{refused}");
        }
    }

    #[test]
    fn registration_rules() {
        let ok: &[&str] = &[
            r#"{"redirect_uris":["https://c.example/cb?x=1"]}"#,
            r#"{"redirect_uris":["http://localhost:8080/cb"]}"#,
            r#"{"redirect_uris":["http://127.0.0.1/cb"]}"#,
            r#"{"redirect_uris":["http://[::1]:3000/cb"]}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["authorization_code","refresh_token"]}"#,
            r#"{"grant_types":["client_credentials"],"response_types":[]}"#,
            r#"{"grant_types":["client_credentials","refresh_token"]}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none"}"#,
            r#"{"redirect_uris":["com.example.app:/cb"],"application_type":"native","token_endpoint_auth_method":"none"}"#,
            r#"{"redirect_uris":["com.example.app://oauth/cb"],"application_type":"native"}"#,
            r#"{"redirect_uris":["http://127.0.0.1/cb","https://app.example/cb"],"application_type":"native"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["implicit"],"response_types":["id_token"]}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["implicit","authorization_code"],"response_types":["code id_token"]}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://c.example/jwks"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"client_secret_jwt","token_endpoint_auth_signing_alg":"HS256"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"post_logout_redirect_uris":["https://c.example/bye"]}"#,
            r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"enc"}]},"id_token_encrypted_response_alg":"ECDH-ES","userinfo_encrypted_response_alg":"ECDH-ES+A256KW","userinfo_encrypted_response_enc":"A256GCM","userinfo_signed_response_alg":"ES256"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"jwks_uri":"https://c.example/jwks","id_token_encrypted_response_alg":"RSA-OAEP-256","id_token_encrypted_response_enc":"A256CBC-HS512"}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"userinfo_signed_response_alg":"RS256"}"#,
        ];
        for json in ok {
            parse(json)
                .validate()
                .unwrap_or_else(|e| panic!("{json}: {e}"));
        }

        use ErrorCode::{InvalidClientMetadata as Meta, InvalidRedirectUri as Redirect};
        let bad: &[(&str, ErrorCode, &str)] = &[
            (r#"{}"#, Redirect, "redirect_uris is required for the authorization_code and implicit grant types"),
            (r#"{"redirect_uris":[]}"#, Redirect, "redirect_uris is required for the authorization_code and implicit grant types"),
            (r#"{"redirect_uris":["https://c.example/cb#frag"]}"#, Redirect, "redirect URI `https://c.example/cb#frag` must not contain a fragment"),
            (r#"{"redirect_uris":["https://c.example/cb#"]}"#, Redirect, "redirect URI `https://c.example/cb#` must not contain a fragment"),
            (r#"{"redirect_uris":["/cb"]}"#, Redirect, "redirect URI `/cb` is not an absolute URI"),
            (r#"{"redirect_uris":[""]}"#, Redirect, "redirect URI `` is not an absolute URI"),
            (r#"{"redirect_uris":["1http://c.example/cb"]}"#, Redirect, "redirect URI `1http://c.example/cb` is not an absolute URI"),
            (r#"{"redirect_uris":["https://c.example/a b"]}"#, Redirect, "redirect URI `https://c.example/a b` must not contain spaces, control or non-ASCII characters"),
            (r#"{"redirect_uris":["https://c.example/é"]}"#, Redirect, "redirect URI `https://c.example/` must not contain spaces, control or non-ASCII characters"),
            (r#"{"redirect_uris":["https:///cb"]}"#, Redirect, "redirect URI `https:///cb` has no host"),
            (r#"{"redirect_uris":["https:/cb"]}"#, Redirect, "redirect URI `https:/cb` has no host"),
            (r#"{"redirect_uris":["https://user:pw@c.example/cb"]}"#, Redirect, "redirect URI `https://user:pw@c.example/cb` must not contain user credentials"),
            (r#"{"redirect_uris":["https://c.example:99999/cb"]}"#, Redirect, "redirect URI `https://c.example:99999/cb` has an invalid port"),
            (r#"{"redirect_uris":["https://c.example:/cb"]}"#, Redirect, "redirect URI `https://c.example:/cb` has an invalid port"),
            (r#"{"redirect_uris":["https://c.example:8x/cb"]}"#, Redirect, "redirect URI `https://c.example:8x/cb` has an invalid port"),
            (r#"{"redirect_uris":["https://[::1/cb"]}"#, Redirect, "redirect URI `https://[::1/cb` has an invalid host"),
            (r#"{"redirect_uris":["https://[::1]x/cb"]}"#, Redirect, "redirect URI `https://[::1]x/cb` has an invalid host"),
            (r#"{"redirect_uris":["http://127.0.0.1\\.evil.example/cb"]}"#, Redirect, "redirect URI `http://127.0.0.1.evil.example/cb` has an invalid host"),
            (r#"{"redirect_uris":["http://c.example/cb"]}"#, Redirect, "redirect URI `http://c.example/cb` must use https (http is allowed only for loopback hosts)"),
            (r#"{"redirect_uris":["http://127.0.0.2/cb"]}"#, Redirect, "redirect URI `http://127.0.0.2/cb` must use https (http is allowed only for loopback hosts)"),
            (r#"{"redirect_uris":["com.example.app:/cb"]}"#, Redirect, "redirect URI `com.example.app:/cb` must use https (private-use schemes are for native clients)"),
            (r#"{"redirect_uris":["javascript:alert(1)"],"application_type":"native"}"#, Redirect, "redirect URI `javascript:alert(1)` must use https, http on a loopback host, or a private-use scheme in reverse domain form such as com.example.app"),
            (r#"{"redirect_uris":["myapp:/cb"],"application_type":"native"}"#, Redirect, "redirect URI `myapp:/cb` must use https, http on a loopback host, or a private-use scheme in reverse domain form such as com.example.app"),
            (r#"{"redirect_uris":["com..app:/cb"],"application_type":"native"}"#, Redirect, "redirect URI `com..app:/cb` must use https, http on a loopback host, or a private-use scheme in reverse domain form such as com.example.app"),
            (r#"{"redirect_uris":["com.example.app:"],"application_type":"native"}"#, Redirect, "redirect URI `com.example.app:` has nothing after its scheme"),
            (r#"{"redirect_uris":["http://c.example/cb"],"application_type":"native"}"#, Redirect, "redirect URI `http://c.example/cb` must use https (http is allowed only for loopback hosts)"),
            (r#"{"redirect_uris":["http://localhost/cb"],"grant_types":["implicit"],"response_types":["id_token"]}"#, Redirect, "redirect URI `http://localhost/cb` must be https on a host other than localhost for the implicit grant"),
            (r#"{"redirect_uris":["https://localhost/cb"],"grant_types":["implicit"],"response_types":["id_token"]}"#, Redirect, "redirect URI `https://localhost/cb` must be https on a host other than localhost for the implicit grant"),
            (r#"{"redirect_uris":["https://c.example/cb"],"post_logout_redirect_uris":["http://c.example/bye"]}"#, Meta, "post_logout_redirect_uris: `http://c.example/bye` must use https (http is allowed only for loopback hosts)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"grant_types":[]}"#, Meta, "grant_types must not be empty"),
            (r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"device_code_ttl":59}"#, Meta, "device_code_ttl must be between 60 and 86400 seconds"),
            (r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"device_code_ttl":86401}"#, Meta, "device_code_ttl must be between 60 and 86400 seconds"),
            (r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"device_poll_interval":0}"#, Meta, "device_poll_interval must be between 1 and 300 seconds"),
            (r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"device_poll_interval":301}"#, Meta, "device_poll_interval must be between 1 and 300 seconds"),
            (r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["refresh_token"],"response_types":["code"]}"#, Meta, "response type `code` needs the authorization_code grant type"),
            (r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["refresh_token"]}"#, Meta, "grant type refresh_token needs a grant type that issues refresh tokens"),
            (r#"{"grant_types":["refresh_token"],"response_types":[]}"#, Meta, "grant type refresh_token needs a grant type that issues refresh tokens"),
            (r#"{"redirect_uris":["https://c.example/cb"],"response_types":["code id_token"]}"#, Meta, "response type `code id_token` needs the implicit grant type"),
            (r#"{"redirect_uris":["https://c.example/cb"],"response_types":[]}"#, Meta, "grant type authorization_code needs a response type with `code`"),
            (r#"{"redirect_uris":["https://c.example/cb"],"grant_types":["authorization_code","implicit"]}"#, Meta, "grant type implicit needs a response type with `token` or `id_token`"),
            (r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#, Meta, "response type `code` needs the authorization_code grant type"),
            (r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#, Meta, "token_endpoint_auth_method none cannot be used with the client_credentials grant type"),
            (r#"{"grant_types":["urn:ietf:params:oauth:grant-type:jwt-bearer"],"token_endpoint_auth_method":"none"}"#, Meta, "token_endpoint_auth_method none cannot be used with the jwt-bearer grant type"),
            (r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none","allow_plain_pkce":true}"#, Meta, "allow_plain_pkce is not available to public clients: they must use S256"),
            (r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#, Meta, "private_key_jwt needs jwks or jwks_uri"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[]},"jwks_uri":"https://c.example/jwks"}"#, Meta, "jwks and jwks_uri must not both be present (RFC 7591 section 2)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks_uri":"http://c.example/jwks"}"#, Meta, "jwks_uri must be an https URL"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[]}}"#, Meta, "jwks holds no RSA or P-256 key for signing or encryption"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","use":"wrap","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}"#, Meta, "jwks holds no RSA or P-256 key for signing or encryption"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"kty":"EC"}}"#, Meta, "jwks: invalid JSON: keys"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}}"#, Meta, "jwks: unusable key: JWK carries private members"),
            (r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://c.example/j","token_endpoint_auth_signing_alg":"HS256"}"#, Meta, "token_endpoint_auth_signing_alg for private_key_jwt must be RS256 or ES256"),
            (r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"client_secret_jwt","token_endpoint_auth_signing_alg":"RS256"}"#, Meta, "token_endpoint_auth_signing_alg for client_secret_jwt must be HS256, HS384 or HS512"),
            (r#"{"redirect_uris":["https://c.example/cb"],"id_token_signed_response_alg":"HS256"}"#, Meta, "id_token_signed_response_alg must be RS256 or ES256"),
            (r#"{"redirect_uris":["https://c.example/cb"],"client_uri":"javascript:alert(1)"}"#, Meta, "client_uri must be an http(s) URL"),
            (r#"{"redirect_uris":["https://c.example/cb"],"logo_uri":"https://c.example/l#x"}"#, Meta, "logo_uri must be an http(s) URL"),
            (r#"{"redirect_uris":["https://c.example/cb"],"scope":"openid \"x\""}"#, Meta, "scope must be space-separated scope values (RFC 6749 section 3.3)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"contacts":[" "]}"#, Meta, "contacts must not hold empty values"),
            (r#"{"redirect_uris":["https://c.example/cb"],"id_token_encrypted_response_enc":"A128GCM"}"#, Meta, "id_token_encrypted_response_enc needs id_token_encrypted_response_alg"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks_uri":"https://c.example/j","userinfo_encrypted_response_enc":"A128GCM"}"#, Meta, "userinfo_encrypted_response_enc needs userinfo_encrypted_response_alg"),
            (r#"{"redirect_uris":["https://c.example/cb"],"id_token_encrypted_response_alg":"RSA-OAEP"}"#, Meta, "id_token_encrypted_response_alg needs jwks or jwks_uri"),
            (r#"{"redirect_uris":["https://c.example/cb"],"userinfo_encrypted_response_alg":"ECDH-ES"}"#, Meta, "userinfo_encrypted_response_alg needs jwks or jwks_uri"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]},"id_token_encrypted_response_alg":"RSA-OAEP"}"#, Meta, "id_token_encrypted_response_alg RSA-OAEP: jwks holds no key for it (an RSA key with use enc or no use)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"sig"}]},"id_token_encrypted_response_alg":"ECDH-ES"}"#, Meta, "id_token_encrypted_response_alg ECDH-ES: jwks holds no key for it (an EC key with use enc or no use)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"ECDH-ES"}]},"userinfo_encrypted_response_alg":"ECDH-ES+A128KW"}"#, Meta, "userinfo_encrypted_response_alg ECDH-ES+A128KW: jwks holds no key for it (an EC key with use enc or no use)"),
            (r#"{"redirect_uris":["https://c.example/cb"],"userinfo_signed_response_alg":"HS256"}"#, Meta, "userinfo_signed_response_alg must be RS256 or ES256"),
        ];
        for (json, code, description) in bad {
            let e = parse(json).validate().unwrap_err();
            assert_eq!(e.code, *code, "{json}");
            assert_eq!(e.description.as_deref(), Some(*description), "{json}");
        }
    }

    #[test]
    fn redirect_uris_match_byte_for_byte() {
        let m = ClientMetadata {
            redirect_uris: uris(&[
                "https://c.example/cb",
                "https://c.example/cb?x=1",
                "http://127.0.0.1:8080/cb",
            ]),
            ..ClientMetadata::default()
        };
        let table: &[(&str, bool)] = &[
            ("https://c.example/cb", true),
            ("https://c.example/cb?x=1", true),
            ("http://127.0.0.1:8080/cb", true),
            ("https://c.example/cb/", false),
            ("https://c.example/cb?x=1&y=2", false),
            ("https://c.example/cb?", false),
            ("https://C.example/cb", false),
            ("HTTPS://c.example/cb", false),
            ("https://c.example:443/cb", false),
            ("https://c.example/%63b", false),
            ("https://c.example/cb#", false),
            ("https://c.example/c", false),
            ("https://c.example/cbx", false),
            // Web clients get no loopback port exception.
            ("http://127.0.0.1:9999/cb", false),
            ("", false),
        ];
        for (requested, ok) in table {
            let got = m.match_redirect_uri(requested);
            assert_eq!(got.is_some(), *ok, "{requested}");
            if let Some(uri) = got {
                assert_eq!(uri.as_str(), *requested);
            }
        }
    }

    #[test]
    fn native_loopback_redirects_may_use_any_port() {
        let m = ClientMetadata {
            application_type: ApplicationType::Native,
            redirect_uris: uris(&[
                "http://127.0.0.1/cb",
                "http://[::1]:8080/cb?x=1",
                "http://localhost/callback",
                "com.example.app:/cb",
                "https://app.example/cb",
            ]),
            post_logout_redirect_uris: uris(&["http://127.0.0.1/bye"]),
            ..ClientMetadata::default()
        };
        m.validate().unwrap();
        let table: &[(&str, bool)] = &[
            ("http://127.0.0.1/cb", true),
            ("http://127.0.0.1:51004/cb", true),
            ("http://127.0.0.1:1/cb", true),
            ("http://[::1]/cb?x=1", true),
            ("http://[::1]:43210/cb?x=1", true),
            ("http://localhost:5000/callback", true),
            ("com.example.app:/cb", true),
            ("https://app.example/cb", true),
            // Everything but the port must still be identical.
            ("http://127.0.0.1:51004/cb/", false),
            ("http://127.0.0.1:51004/cb?x=1", false),
            ("http://[::1]:43210/cb", false),
            ("http://localhost:51004/cb", false),
            ("http://127.0.0.1:51004/callback", false),
            ("http://127.0.0.2:51004/cb", false),
            ("https://127.0.0.1:51004/cb", false),
            ("HTTP://127.0.0.1:51004/cb", false),
            ("http://127.0.0.1:/cb", false),
            ("http://127.0.0.1:99999/cb", false),
            ("http://127.0.0.1:5x/cb", false),
            ("http://user@127.0.0.1:5/cb", false),
            ("http://127.0.0.1:51004/cb#x", false),
            ("https://app.example:8443/cb", false),
            ("com.example.app:/cb2", false),
        ];
        for (requested, ok) in table {
            let got = m.match_redirect_uri(requested);
            assert_eq!(got.is_some(), *ok, "{requested}");
            if let Some(uri) = got {
                assert_eq!(uri.as_str(), *requested, "the requested URI is used");
            }
        }
        assert!(m
            .match_post_logout_redirect_uri("http://127.0.0.1:7000/bye")
            .is_some());
        assert!(m
            .match_post_logout_redirect_uri("http://127.0.0.1:7000/cb")
            .is_none());
    }

    #[test]
    fn response_types_are_order_free_sets() {
        let table: &[(&str, Option<&str>)] = &[
            ("code", Some("code")),
            ("id_token", Some("id_token")),
            ("token", Some("token")),
            ("id_token code", Some("code id_token")),
            ("token code", Some("code token")),
            ("token id_token", Some("id_token token")),
            ("token id_token code", Some("code id_token token")),
            ("", None),
            ("none", None),
            ("code  id_token", None),
            (" code", None),
            ("code code", None),
            ("Code", None),
            ("code_token", None),
        ];
        for (input, canonical) in table {
            assert_eq!(
                ResponseType::parse(input).map(ResponseType::as_str),
                *canonical,
                "{input:?}"
            );
        }
        let hybrid = ResponseType::parse("code id_token").unwrap();
        assert!(hybrid.has_code() && hybrid.has_id_token() && !hybrid.has_token());
        assert!(hybrid.is_implicit() && !ResponseType::CODE.is_implicit());
    }

    #[test]
    fn client_ids() {
        for ok in [
            "a",
            "s6BhdRkqt3",
            "client with spaces",
            "x".repeat(255).as_str(),
        ] {
            assert_eq!(ClientId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "tab\there", "é", "x".repeat(256).as_str(), "nul\0"] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn enums_round_trip() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(*m));
        }
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(*g));
        }
        assert!(
            AuthMethod::ClientSecretJwt.uses_secret() && !AuthMethod::PrivateKeyJwt.uses_secret()
        );
        assert_eq!(JwsAlg::ES256.asymmetric(), Some(Alg::ES256));
        assert!(JwsAlg::HS512.is_hmac() && !JwsAlg::RS256.is_hmac());
    }

    #[test]
    fn encrypted_front_channel_responses() {
        // ID Tokens from /authorize and JARM responses are encrypted like
        // the token endpoint's: the same key rules, the same enc default.
        let m = serde_json::json!({
            "redirect_uris": ["https://rp.example.com/cb"],
            "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code id_token"],
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "authorization_encrypted_response_alg": "ECDH-ES+A128KW",
            "jwks_uri": "https://rp.example.com/jwks",
        });
        let parsed = ClientMetadata::from_json(&m.to_string()).unwrap();
        parsed.validate().unwrap();
        assert_eq!(
            parsed.authorization_encryption(),
            Some((KeyAlg::EcdhEsA128Kw, ContentEnc::A128CbcHs256))
        );
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            json["authorization_encrypted_response_enc"],
            "A128CBC-HS256"
        );
        assert_eq!(ClientMetadata::default().authorization_encryption(), None);
        let refused = [
            (
                serde_json::json!({"redirect_uris": ["https://rp.example.com/cb"],
                    "authorization_encrypted_response_enc": "A256GCM"}),
                "authorization_encrypted_response_enc needs authorization_encrypted_response_alg",
            ),
            (
                serde_json::json!({"redirect_uris": ["https://rp.example.com/cb"],
                    "authorization_encrypted_response_alg": "RSA-OAEP"}),
                "authorization_encrypted_response_alg needs jwks or jwks_uri",
            ),
        ];
        for (m, why) in refused {
            let err = ClientMetadata::from_json(&m.to_string())
                .unwrap()
                .validate()
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidClientMetadata, "{m}");
            assert_eq!(err.description.as_deref(), Some(why), "{m}");
        }
    }

    #[test]
    fn backchannel_registration_rules() {
        let ok = parse(
            r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll"}"#,
        );
        ok.validate().unwrap();
        assert!(ok.allows_grant(GrantType::Ciba) && ok.response_types.is_empty());
        assert_eq!(
            ok.backchannel_token_delivery_mode,
            Some(BackchannelDeliveryMode::Poll)
        );
        for json in [
            r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://c.example/n"}"#,
            r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"http://127.0.0.1:8400/n"}"#,
            r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"push","backchannel_client_notification_endpoint":"https://c.example/n"}"#,
        ] {
            parse(json).validate().unwrap();
        }
        let with_code = parse(
            r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll","backchannel_user_code_parameter":true}"#,
        );
        with_code.validate().unwrap();
        assert!(with_code.backchannel_user_code_parameter);
        let table = [
            (
                r#"{"grant_types":["urn:openid:params:grant-type:ciba"]}"#,
                "backchannel_token_delivery_mode is required",
            ),
            (
                r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll","token_endpoint_auth_method":"none"}"#,
                "needs an authenticated client",
            ),
            (
                r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"ping"}"#,
                "must be an https URL",
            ),
            (
                r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"push","backchannel_client_notification_endpoint":"http://c.example/n"}"#,
                "must be an https URL",
            ),
            (
                r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://c.example/n#f"}"#,
                "must be an https URL",
            ),
        ];
        for (json, why) in table {
            let e = parse(json).validate().unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{json}");
            assert!(
                e.description.as_deref().unwrap().contains(why),
                "{json}: {e}"
            );
        }
        for json in [
            r#"{"backchannel_token_delivery_mode":"fax"}"#,
            r#"{"backchannel_user_code_parameter":"yes"}"#,
            r#"{"backchannel_authentication_request_signing_alg":"RS256"}"#,
        ] {
            let e = ClientMetadata::from_json(json).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{json}");
        }
    }

    #[test]
    fn request_object_metadata() {
        let jwks = format!(r#""jwks": {{"keys": [{EC_JWK}]}}"#);
        let m = parse(&format!(
            r#"{{"redirect_uris": ["https://c.example/cb"], {jwks},
                "request_object_signing_alg": "ES256", "require_signed_request_object": true,
                "request_uris": ["https://c.example/r.jwt#v2", "https://c.example/s"]}}"#
        ));
        m.validate().unwrap();
        assert_eq!(m.request_object_signing_alg, Some(JwsAlg::ES256));
        assert!(m.require_signed_request_object);
        assert_eq!(m.request_uris.len(), 2);
        let stored = serde_json::to_string(&m).unwrap();
        assert_eq!(parse(&stored), m, "round-trips");
        let defaults = parse(r#"{"redirect_uris": ["https://c.example/cb"]}"#);
        assert_eq!(defaults.request_object_signing_alg, None);
        assert!(!defaults.require_signed_request_object && defaults.request_uris.is_empty());
        // Encryption to the OP's P-256 key; enc defaults to A128CBC-HS256.
        let enc = parse(
            r#"{"redirect_uris": ["https://c.example/cb"], "request_object_encryption_alg": "ECDH-ES+A128KW"}"#,
        );
        enc.validate().unwrap();
        assert_eq!(
            (
                enc.request_object_encryption_alg,
                enc.request_object_encryption_enc
            ),
            (Some(KeyAlg::EcdhEsA128Kw), Some(ContentEnc::A128CbcHs256))
        );

        for bad in [
            r#""request_uris": ["http://c.example/r"]"#.to_string(),
            r#""request_uris": ["/relative"]"#.to_string(),
            r#""request_uris": "https://c.example/r""#.to_string(),
            format!(
                r#""request_uris": ["https://c.example/{}"]"#,
                "x".repeat(600)
            ),
            format!(r#"{jwks}, "request_object_signing_alg": "HS256""#),
            r#""request_object_signing_alg": "none""#.to_string(),
            r#""request_object_signing_alg": "RS256""#.to_string(),
            r#""require_signed_request_object": true"#.to_string(),
            r#""require_signed_request_object": "yes""#.to_string(),
            r#""request_object_encryption_alg": "RSA-OAEP-256""#.to_string(),
            r#""request_object_encryption_alg": "dir""#.to_string(),
            r#""request_object_encryption_enc": "A128GCM""#.to_string(),
        ] {
            let json = format!(r#"{{"redirect_uris": ["https://c.example/cb"], {bad}}}"#);
            let e = ClientMetadata::from_json(&json)
                .and_then(|m| m.validate())
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{bad}");
        }
    }
}
