//! Delivering the authorization response to the client's redirect URI:
//! `query` and `fragment` (OAuth 2.0 Multiple Response Type Encoding
//! Practices §2.1), `form_post` (OAuth 2.0 Form Post Response Mode), and
//! their JWT-secured forms `query.jwt`, `fragment.jwt`, `form_post.jwt`
//! and `jwt` (JARM §2.3): every response parameter, errors included, goes
//! into one JWT signed by the OP with `iss`, `aud` (the client) and `exp`,
//! delivered as the single parameter `response`. A client that registered
//! `authorization_encrypted_response_alg` receives that JWT encrypted to
//! its key as a nested JWT (JARM §2.2).
//!
//! Every response carries `iss` (RFC 9207 §2). Success carries `code` and
//! `state`; errors carry `error`, `error_description` (the public one, see
//! `OAuthError::public_description`) and `state` (RFC 6749 §4.1.2.1).
//! The redirect URI must be one the client registered: callers get it from
//! a validated `AuthorizationRequest` or `ErrorDisposition::Redirect`.
//! Values are percent-encoded with `%20` for spaces, which both
//! `application/x-www-form-urlencoded` and `decodeURIComponent` decode.

use crate::client_metadata::ResponseType;
use crate::encryption::{seal_authorization_response, ContentEnc, KeyAlg};
use authrim_jose::{Alg, Jwks};
use authrim_protocol::{HttpResponse, Issuer, OAuthError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// How the authorization response is returned to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (the default for `code`).
    Query,
    /// Parameters in the redirect URI's fragment (the default for response
    /// types that return tokens from the authorization endpoint).
    Fragment,
    /// An auto-submitting HTML form that POSTs the parameters.
    FormPost,
    /// JARM §2.3.1: the response JWT in the query.
    QueryJwt,
    /// JARM §2.3.2: the response JWT in the fragment.
    FragmentJwt,
    /// JARM §2.3.3: the response JWT POSTed by a form.
    FormPostJwt,
}

/// Lifetime of a JARM response JWT: JARM §2.1 recommends a short one
/// ("e.g. 10 minutes").
pub const JARM_TTL: i64 = 600;

/// Signs a JWT with the OP's key for `alg` (`keys.sign-jwt` in the
/// component).
pub trait SignJwt {
    fn sign_jwt(&self, alg: Alg, claims_json: &str) -> Result<String, OAuthError>;
}

impl<F: Fn(Alg, &str) -> Result<String, OAuthError>> SignJwt for F {
    fn sign_jwt(&self, alg: Alg, claims_json: &str) -> Result<String, OAuthError> {
        self(alg, claims_json)
    }
}

/// The JWK Set of a client, to encrypt its JARM responses to (its `jwks`
/// or the document at its `jwks_uri`). An error is the client's
/// (`encryption::no_key`) or the server's.
pub trait ClientKeys {
    fn client_keys(&self, client_id: &str) -> Result<Jwks, OAuthError>;
}

impl<F: Fn(&str) -> Result<Jwks, OAuthError>> ClientKeys for F {
    fn client_keys(&self, client_id: &str) -> Result<Jwks, OAuthError> {
        self(client_id)
    }
}

/// Signs (and encrypts) JARM responses: the signer, the source of client
/// keys and the time.
pub struct Jarm<'a> {
    pub now: i64,
    pub sign: &'a dyn SignJwt,
    pub keys: &'a dyn ClientKeys,
}

/// Who a JARM response is for and how it is signed and encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JarmTarget {
    pub client_id: String,
    pub alg: Alg,
    /// `authorization_encrypted_response_alg`/`enc`, if registered.
    pub encryption: Option<(KeyAlg, ContentEnc)>,
}

impl ResponseMode {
    /// The values for `response_modes_supported` in discovery.
    pub const SUPPORTED: [&'static str; 7] = [
        "query",
        "fragment",
        "form_post",
        "query.jwt",
        "fragment.jwt",
        "form_post.jwt",
        "jwt",
    ];

    /// Parses `response_mode` for a request of `response_type` (raw): `jwt`
    /// is the JWT form of that type's default mode (JARM §2.3.4). Unknown
    /// values are `invalid_request`.
    pub fn parse(s: &str, response_type: &str) -> Result<ResponseMode, OAuthError> {
        match s {
            "query" => Ok(ResponseMode::Query),
            "fragment" => Ok(ResponseMode::Fragment),
            "form_post" => Ok(ResponseMode::FormPost),
            "query.jwt" => Ok(ResponseMode::QueryJwt),
            "fragment.jwt" => Ok(ResponseMode::FragmentJwt),
            "form_post.jwt" => Ok(ResponseMode::FormPostJwt),
            "jwt" => Ok(ResponseMode::default_for(response_type).to_jwt()),
            _ => Err(OAuthError::invalid_request("unsupported response_mode")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
            ResponseMode::QueryJwt => "query.jwt",
            ResponseMode::FragmentJwt => "fragment.jwt",
            ResponseMode::FormPostJwt => "form_post.jwt",
        }
    }

    /// A JARM mode.
    pub fn is_jwt(self) -> bool {
        self != self.encoding()
    }

    /// How the parameters (or the one `response` JWT) travel.
    pub fn encoding(self) -> ResponseMode {
        match self {
            ResponseMode::Query | ResponseMode::QueryJwt => ResponseMode::Query,
            ResponseMode::Fragment | ResponseMode::FragmentJwt => ResponseMode::Fragment,
            ResponseMode::FormPost | ResponseMode::FormPostJwt => ResponseMode::FormPost,
        }
    }

    /// The JARM form of this mode.
    pub fn to_jwt(self) -> ResponseMode {
        match self.encoding() {
            ResponseMode::Query => ResponseMode::QueryJwt,
            ResponseMode::Fragment => ResponseMode::FragmentJwt,
            _ => ResponseMode::FormPostJwt,
        }
    }

    /// The mode errors go back in when this one was requested for
    /// `response_type` (raw): a query mode that may not carry that type's
    /// response becomes the fragment one, JWT-ness kept.
    pub fn for_errors(self, response_type: &str) -> ResponseMode {
        let default = ResponseMode::default_for(response_type);
        match (self, default) {
            (ResponseMode::Query, ResponseMode::Fragment) => ResponseMode::Fragment,
            (ResponseMode::QueryJwt, ResponseMode::Fragment) => ResponseMode::FragmentJwt,
            (m, _) => m,
        }
    }

    /// The default mode of a `response_type` value (Multiple Response Type
    /// Encoding Practices §2.1, §5): `query` for `code` and `none`,
    /// `fragment` for anything returning a token. Used also for the error
    /// response to an unsupported response type.
    pub fn default_for(response_type: &str) -> ResponseMode {
        let returns_token = response_type
            .split(' ')
            .any(|v| v == "token" || v == "id_token");
        if returns_token {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }

    /// Whether this mode may carry the response of `response_type`: never
    /// `query` for a response that returns a token or ID Token from the
    /// authorization endpoint (Multiple Response Type Encoding Practices
    /// §2.1: "the query encoding MUST NOT be used" for them; OIDC Core
    /// §3.2.2.5, §3.3.2.5), so tokens never land in logs and Referer headers.
    /// The same holds for `query.jwt` unless the response JWT is
    /// `encrypted` (JARM §2.3.1).
    pub fn allowed_for(self, response_type: ResponseType, encrypted: bool) -> bool {
        match self {
            ResponseMode::Query => !response_type.is_implicit(),
            ResponseMode::QueryJwt => encrypted || !response_type.is_implicit(),
            _ => true,
        }
    }
}

impl fmt::Display for ResponseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a successful authorization response carries besides `state` and
/// `iss`: the code, and for the implicit and hybrid flows the access token
/// and ID Token (OIDC Core §3.2.2.5, §3.3.2.5; RFC 6749 §4.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Issued<'a> {
    pub code: Option<&'a str>,
    pub access_token: Option<&'a str>,
    /// Lifetime of `access_token` in seconds.
    pub expires_in: i64,
    /// The granted scope, sent with an access token (RFC 6749 §4.2.2).
    pub scope: Option<&'a str>,
    pub id_token: Option<&'a str>,
}

impl<'a> Issued<'a> {
    /// The code flow's response: a code alone.
    pub fn code(code: &'a str) -> Self {
        Issued {
            code: Some(code),
            ..Issued::default()
        }
    }
}

/// The successful authorization response. `jarm` signs it when `mode` is
/// a JWT mode.
pub fn success_response(
    redirect_uri: &str,
    mode: ResponseMode,
    issuer: &Issuer,
    issued: &Issued<'_>,
    state: Option<&str>,
    jarm: Option<(&JarmTarget, &Jarm<'_>)>,
) -> HttpResponse {
    let expires_in = issued.expires_in.to_string();
    let mut params = Vec::with_capacity(8);
    if let Some(c) = issued.code {
        params.push(("code", c));
    }
    if let Some(t) = issued.access_token {
        params.push(("access_token", t));
        params.push(("token_type", "Bearer"));
        params.push(("expires_in", expires_in.as_str()));
        if let Some(s) = issued.scope {
            params.push(("scope", s));
        }
    }
    if let Some(t) = issued.id_token {
        params.push(("id_token", t));
    }
    if let Some(s) = state {
        params.push(("state", s));
    }
    deliver(redirect_uri, mode, issuer, &params, jarm)
}

/// An error response delivered to the client (RFC 6749 §4.1.2.1). Only for
/// errors whose code is redirectable; any other code is answered directly
/// (the JSON error page), never sent to the redirect URI.
pub fn error_response(
    redirect_uri: &str,
    mode: ResponseMode,
    issuer: &Issuer,
    error: &OAuthError,
    state: Option<&str>,
    jarm: Option<(&JarmTarget, &Jarm<'_>)>,
) -> HttpResponse {
    if !error.code.redirectable() {
        return error.to_response();
    }
    let mut params = vec![("error", error.code.as_str())];
    if let Some(d) = error.public_description() {
        params.push(("error_description", d));
    }
    if let Some(s) = state {
        params.push(("state", s));
    }
    deliver(redirect_uri, mode, issuer, &params, jarm)
}

/// The claims of a JARM response JWT (JARM §2.1): `iss`, `aud` (the
/// client), `exp`, and every response parameter.
pub fn jarm_claims(issuer: &Issuer, client_id: &str, params: &[(&str, &str)], now: i64) -> String {
    let mut m = serde_json::Map::new();
    for (k, v) in params {
        m.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    m.insert("iss".into(), Value::String(issuer.as_str().to_string()));
    m.insert("aud".into(), Value::String(client_id.to_string()));
    m.insert("exp".into(), Value::from(now.saturating_add(JARM_TTL)));
    Value::Object(m).to_string()
}

/// `params` plus `iss` (RFC 9207) in a plain mode, or signed into one
/// `response` JWT (whose `iss` claim serves RFC 9207) in a JARM mode, then
/// encrypted if the client registered so. A JARM mode without a signer, a
/// failed signature or a failed encryption (no key) is an error shown
/// directly: nothing unsigned, or readable against the client's
/// registration, reaches it.
fn deliver(
    redirect_uri: &str,
    mode: ResponseMode,
    issuer: &Issuer,
    params: &[(&str, &str)],
    jarm: Option<(&JarmTarget, &Jarm<'_>)>,
) -> HttpResponse {
    if !mode.is_jwt() {
        let mut params = params.to_vec();
        params.push(("iss", issuer.as_str()));
        return authorization_response(redirect_uri, mode, &params);
    }
    let Some((target, jarm)) = jarm else {
        return OAuthError::server_error().to_response();
    };
    let claims = jarm_claims(issuer, &target.client_id, params, jarm.now);
    let sealed = jarm.sign.sign_jwt(target.alg, &claims).and_then(|jwt| {
        let Some(encryption) = target.encryption else {
            return Ok(jwt);
        };
        let keys = jarm.keys.client_keys(&target.client_id)?;
        seal_authorization_response(encryption, &keys, &jwt)
    });
    match sealed {
        Ok(jwt) => authorization_response(redirect_uri, mode.encoding(), &[("response", &jwt)]),
        Err(e) => e.to_response(),
    }
}

/// Delivers `params` to `redirect_uri` in `mode`: a 302 for `query` and
/// `fragment`, a 200 HTML page for `form_post`. Never cached.
pub fn authorization_response(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
) -> HttpResponse {
    // A registered redirect URI has no fragment (RFC 6749 §3.1.2); should
    // one slip through, it is dropped rather than mixed with our values.
    let base = redirect_uri.split('#').next().unwrap_or(redirect_uri);
    match mode.encoding() {
        ResponseMode::Query => {
            let sep = if !base.contains('?') {
                "?"
            } else if base.ends_with('?') || base.ends_with('&') {
                ""
            } else {
                "&"
            };
            redirect(&format!("{base}{sep}{}", encode_params(params)))
        }
        ResponseMode::Fragment => redirect(&format!("{base}#{}", encode_params(params))),
        _ => form_post(base, params),
    }
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::new(302)
        .header("location", location)
        .header("cache-control", "no-store")
}

/// The script that submits the form; the CSP allows exactly this text.
const SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

fn form_post(action: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut inputs = String::new();
    for (name, value) in params {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            html_escape(name),
            html_escape(value)
        ));
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>Submitting…</title>\n</head>\n\
         <body>\n<form method=\"post\" action=\"{}\">\n{inputs}\
         <noscript><p>JavaScript is off. Press Continue to return to the application.</p>\
         <button type=\"submit\">Continue</button></noscript>\n</form>\n\
         <script>{SUBMIT_SCRIPT}</script>\n</body>\n</html>\n",
        html_escape(action)
    );
    HttpResponse::new(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .header("content-security-policy", &form_post_csp())
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .body(body)
}

/// `default-src 'none'` plus the hash of the one inline script. No
/// `form-action`: browsers apply it to the redirects that follow the POST,
/// which would break clients whose callback redirects elsewhere.
fn form_post_csp() -> String {
    let hash = STANDARD.encode(Sha256::digest(SUBMIT_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Escapes text for an HTML attribute value or element content.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn encode_params(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;

    fn iss() -> Issuer {
        Issuer::parse("https://id.example.com").unwrap()
    }

    fn location(r: &HttpResponse) -> &str {
        assert_eq!(r.status, 302);
        assert_eq!(r.header_value("cache-control"), Some("no-store"));
        r.header_value("location").unwrap()
    }

    #[test]
    fn response_modes_parse() {
        for m in ResponseMode::SUPPORTED.iter().filter(|m| **m != "jwt") {
            assert_eq!(ResponseMode::parse(m, "code").unwrap().as_str(), *m);
        }
        // `jwt` is the JWT form of the response type's default (JARM §2.3.4).
        let jwt = |rt| ResponseMode::parse("jwt", rt).unwrap();
        assert_eq!(jwt("code"), ResponseMode::QueryJwt);
        assert_eq!(jwt("code id_token"), ResponseMode::FragmentJwt);
        assert_eq!(jwt("id_token token"), ResponseMode::FragmentJwt);
        for bad in [
            "QUERY",
            "JWT",
            "query.JWT",
            ".jwt",
            "form_post ",
            "web_message",
            "",
        ] {
            let e = ResponseMode::parse(bad, "code").unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{bad:?}");
        }
    }

    #[test]
    fn default_modes() {
        let table = [
            ("code", ResponseMode::Query),
            ("none", ResponseMode::Query),
            ("token", ResponseMode::Fragment),
            ("id_token", ResponseMode::Fragment),
            ("code id_token", ResponseMode::Fragment),
            ("id_token token", ResponseMode::Fragment),
            ("bogus", ResponseMode::Query),
        ];
        for (rt, mode) in table {
            assert_eq!(ResponseMode::default_for(rt), mode, "{rt}");
        }
    }

    #[test]
    fn query_never_carries_tokens() {
        for (rt, query_ok) in [
            ("code", true),
            ("code id_token", false),
            ("code token", false),
            ("code id_token token", false),
            ("id_token", false),
            ("id_token token", false),
        ] {
            let rt = ResponseType::parse(rt).unwrap();
            assert_eq!(ResponseMode::Query.allowed_for(rt, false), query_ok, "{rt}");
            assert!(ResponseMode::Fragment.allowed_for(rt, false), "{rt}");
            assert!(ResponseMode::FormPost.allowed_for(rt, false), "{rt}");
        }
    }

    #[test]
    fn jwt_modes_and_their_encodings() {
        use ResponseMode::*;
        for (m, enc, jwt) in [
            (QueryJwt, Query, true),
            (FragmentJwt, Fragment, true),
            (FormPostJwt, FormPost, true),
            (Query, Query, false),
        ] {
            assert_eq!(
                (m.encoding(), m.is_jwt(), m.to_jwt().encoding()),
                (enc, jwt, enc)
            );
        }
        let hybrid = ResponseType::parse("code id_token").unwrap();
        assert!(!QueryJwt.allowed_for(hybrid, false) && FragmentJwt.allowed_for(hybrid, false));
        assert!(QueryJwt.allowed_for(hybrid, true) && !Query.allowed_for(hybrid, true));
        assert!(QueryJwt.allowed_for(ResponseType::CODE, false));
        assert_eq!(QueryJwt.for_errors("code token"), FragmentJwt);
        assert_eq!(Query.for_errors("id_token"), Fragment);
        assert_eq!(QueryJwt.for_errors("code"), QueryJwt);
    }

    /// A stand-in signer that shows what it signed: `alg.claims.sig`.
    fn fake_sign(alg: Alg, claims: &str) -> Result<String, OAuthError> {
        Ok(format!(
            "{}.{}.sig",
            alg.as_str(),
            authrim_jose::b64::encode(claims.as_bytes())
        ))
    }

    fn no_keys(_: &str) -> Result<Jwks, OAuthError> {
        Err(OAuthError::invalid_request("no keys"))
    }

    fn signed_claims(jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&authrim_jose::b64::decode(part).unwrap()).unwrap()
    }

    #[test]
    fn encrypted_jarm_is_the_signed_jwt_nested_in_a_jwe() {
        let target = JarmTarget {
            client_id: "s6BhdRkqt3".into(),
            alg: Alg::RS256,
            encryption: Some((KeyAlg::RsaOaep256, ContentEnc::A128Gcm)),
        };
        let rsa_set = |client_id: &str| -> Result<Jwks, OAuthError> {
            assert_eq!(client_id, "s6BhdRkqt3");
            Ok(Jwks {
                keys: vec![authrim_jose::Jwk {
                    key: authrim_jose::test_keys::rsa().public_key(),
                    kid: Some("rp-enc".into()),
                    alg: None,
                    use_: Some("enc".into()),
                }],
            })
        };
        let jarm = Jarm {
            now: 1000,
            sign: &fake_sign,
            keys: &rsa_set,
        };
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::QueryJwt,
            &iss(),
            &Issued::code("c1"),
            Some("s1"),
            Some((&target, &jarm)),
        );
        let loc = location(&r);
        let jwe = loc.strip_prefix("https://rp.example/cb?response=").unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5, "{jwe}");
        let header: Value =
            serde_json::from_slice(&authrim_jose::b64::decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "RSA-OAEP-256", "enc": "A128GCM", "cty": "JWT", "kid": "rp-enc"})
        );
        // Neither the code as a parameter nor the signed JWT in clear (the
        // fake signer's output starts `RS256.`); not "c1" itself, which
        // random ciphertext may contain.
        assert!(!loc.contains("code=") && !loc.contains("RS256."));
        // No key: the error is shown directly, nothing readable is sent.
        let jarm = Jarm {
            now: 1000,
            sign: &fake_sign,
            keys: &no_keys,
        };
        for mode in [ResponseMode::QueryJwt, ResponseMode::FormPostJwt] {
            let r = success_response(
                "https://rp.example/cb",
                mode,
                &iss(),
                &Issued::code("c1"),
                Some("s1"),
                Some((&target, &jarm)),
            );
            assert_eq!(r.status, 400);
            assert!(r.header_value("location").is_none());
            assert!(!String::from_utf8(r.body).unwrap().contains("c1"));
        }
    }

    #[test]
    fn jarm_success_and_error_are_one_signed_response() {
        let target = JarmTarget {
            client_id: "s6BhdRkqt3".into(),
            alg: Alg::ES256,
            encryption: None,
        };
        let jarm = Jarm {
            now: 1000,
            sign: &fake_sign,
            keys: &no_keys,
        };
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::QueryJwt,
            &iss(),
            &Issued::code("c1"),
            Some("s1"),
            Some((&target, &jarm)),
        );
        let loc = location(&r);
        let jwt = loc.strip_prefix("https://rp.example/cb?response=").unwrap();
        assert!(jwt.starts_with("ES256."), "{jwt}");
        assert_eq!(
            signed_claims(jwt),
            serde_json::json!({"iss": "https://id.example.com", "aud": "s6BhdRkqt3",
                               "exp": 1600, "code": "c1", "state": "s1"})
        );
        let e = OAuthError::with_description(ErrorCode::AccessDenied, "no");
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::FragmentJwt,
            &iss(),
            &e,
            Some("s1"),
            Some((&target, &jarm)),
        );
        let loc = location(&r);
        let jwt = loc.strip_prefix("https://rp.example/cb#response=").unwrap();
        let c = signed_claims(jwt);
        assert_eq!(
            (c["error"].as_str(), c["error_description"].as_str()),
            (Some("access_denied"), Some("no"))
        );
        assert_eq!(
            (c["aud"].as_str(), c["state"].as_str()),
            (Some("s6BhdRkqt3"), Some("s1"))
        );
        // form_post.jwt: one hidden field.
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::FormPostJwt,
            &iss(),
            &Issued::code("c1"),
            None,
            Some((&target, &jarm)),
        );
        let html = String::from_utf8(r.body).unwrap();
        assert_eq!(html.matches("type=\"hidden\"").count(), 1);
        assert!(html.contains("name=\"response\" value=\"ES256."));
        // Never unsigned: no signer, or a failing one, is a direct 500.
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::QueryJwt,
            &iss(),
            &Issued::code("c1"),
            None,
            None,
        );
        assert_eq!(r.status, 500);
        assert!(r.header_value("location").is_none());
        let failing =
            |_: Alg, _: &str| -> Result<String, OAuthError> { Err(OAuthError::server_error()) };
        let jarm = Jarm {
            now: 0,
            sign: &failing,
            keys: &no_keys,
        };
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::QueryJwt,
            &iss(),
            &e,
            None,
            Some((&target, &jarm)),
        );
        assert_eq!(r.status, 500);
    }

    #[test]
    fn query_success_respects_an_existing_query() {
        let table = [
            (
                "https://rp.example/cb",
                "https://rp.example/cb?code=c1&state=s%20%26x&iss=https%3A%2F%2Fid.example.com",
            ),
            (
                "https://rp.example/cb?a=1",
                "https://rp.example/cb?a=1&code=c1&state=s%20%26x&iss=https%3A%2F%2Fid.example.com",
            ),
            (
                "https://rp.example/cb?",
                "https://rp.example/cb?code=c1&state=s%20%26x&iss=https%3A%2F%2Fid.example.com",
            ),
            (
                "https://rp.example/cb?a=1&",
                "https://rp.example/cb?a=1&code=c1&state=s%20%26x&iss=https%3A%2F%2Fid.example.com",
            ),
            (
                "https://rp.example/cb#frag",
                "https://rp.example/cb?code=c1&state=s%20%26x&iss=https%3A%2F%2Fid.example.com",
            ),
        ];
        for (uri, expected) in table {
            let r = success_response(
                uri,
                ResponseMode::Query,
                &iss(),
                &Issued::code("c1"),
                Some("s &x"),
                None,
            );
            assert_eq!(location(&r), expected, "{uri}");
        }
    }

    #[test]
    fn fragment_success_and_no_state() {
        let r = success_response(
            "https://rp.example/cb?a=1",
            ResponseMode::Fragment,
            &iss(),
            &Issued::code("c+/="),
            None,
            None,
        );
        assert_eq!(
            location(&r),
            "https://rp.example/cb?a=1#code=c%2B%2F%3D&iss=https%3A%2F%2Fid.example.com"
        );
    }

    #[test]
    fn hybrid_success_carries_every_token() {
        let issued = Issued {
            code: Some("c1"),
            access_token: Some("at.x.y"),
            expires_in: 3600,
            scope: Some("openid email"),
            id_token: Some("id.x.y"),
        };
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::Fragment,
            &iss(),
            &issued,
            Some("s"),
            None,
        );
        assert_eq!(
            location(&r),
            "https://rp.example/cb#code=c1&access_token=at.x.y&token_type=Bearer&expires_in=3600\
             &scope=openid%20email&id_token=id.x.y&state=s&iss=https%3A%2F%2Fid.example.com"
        );
        let id_only = Issued {
            id_token: Some("id.x.y"),
            ..Issued::default()
        };
        let r = success_response(
            "https://rp.example/cb",
            ResponseMode::Fragment,
            &iss(),
            &id_only,
            None,
            None,
        );
        assert_eq!(
            location(&r),
            "https://rp.example/cb#id_token=id.x.y&iss=https%3A%2F%2Fid.example.com"
        );
    }

    #[test]
    fn error_shape() {
        let e = OAuthError::with_description(ErrorCode::InvalidScope, "unknown scope \"x\"");
        let r = error_response(
            "app.example:/cb",
            ResponseMode::Query,
            &iss(),
            &e,
            Some("xyz"),
            None,
        );
        assert_eq!(
            location(&r),
            "app.example:/cb?error=invalid_scope&error_description=unknown%20scope%20%22x%22&state=xyz&iss=https%3A%2F%2Fid.example.com"
        );
        // server_error never leaks its internal description.
        let e = OAuthError::with_description(ErrorCode::ServerError, "sqlite: locked");
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::Fragment,
            &iss(),
            &e,
            None,
            None,
        );
        let loc = location(&r);
        assert!(loc.starts_with("https://rp.example/cb#error=server_error&error_description="));
        assert!(!loc.contains("sqlite"));
        // Without a description there is no error_description.
        let e = OAuthError::new(ErrorCode::LoginRequired);
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::Query,
            &iss(),
            &e,
            None,
            None,
        );
        assert_eq!(
            location(&r),
            "https://rp.example/cb?error=login_required&iss=https%3A%2F%2Fid.example.com"
        );
    }

    #[test]
    fn non_redirectable_errors_are_answered_directly() {
        let e = OAuthError::with_description(ErrorCode::InvalidClient, "unknown client");
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::Query,
            &iss(),
            &e,
            None,
            None,
        );
        assert_eq!(r.status, 401);
        assert!(r.header_value("location").is_none());
    }

    #[test]
    fn form_post_escapes_everything() {
        let evil = "\"><script>alert('x')</script>&amp;";
        let r = success_response(
            "https://rp.example/cb?a=\"b\"&c=<d>",
            ResponseMode::FormPost,
            &iss(),
            &Issued::code("c1"),
            Some(evil),
            None,
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header_value("cache-control"), Some("no-store"));
        assert_eq!(
            r.header_value("content-type"),
            Some("text/html; charset=utf-8")
        );
        let html = String::from_utf8(r.body.clone()).unwrap();
        assert!(html.contains("action=\"https://rp.example/cb?a=&quot;b&quot;&amp;c=&lt;d&gt;\""));
        assert!(html.contains(
            "name=\"state\" value=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;\""
        ));
        assert!(html.contains("name=\"code\" value=\"c1\""));
        assert!(html.contains("name=\"iss\" value=\"https://id.example.com\""));
        assert!(html.contains("<noscript>"));
        // Only our own script element, and the CSP allows exactly it.
        assert_eq!(html.matches("<script>").count(), 1);
        let csp = r.header_value("content-security-policy").unwrap();
        assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"));
        let hash = STANDARD.encode(Sha256::digest(SUBMIT_SCRIPT));
        assert!(csp.contains(&hash));
        assert!(html.contains(&format!("<script>{SUBMIT_SCRIPT}</script>")));
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn form_post_error() {
        let e = OAuthError::with_description(ErrorCode::AccessDenied, "the user said <no>");
        let r = error_response(
            "https://rp.example/cb",
            ResponseMode::FormPost,
            &iss(),
            &e,
            Some("s"),
            None,
        );
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("name=\"error\" value=\"access_denied\""));
        assert!(html.contains("name=\"error_description\" value=\"the user said &lt;no&gt;\""));
        assert!(html.contains("name=\"state\" value=\"s\""));
    }

    #[test]
    fn percent_encoding_is_utf8_and_unreserved_only() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b+c/é"), "a%20b%2Bc%2F%C3%A9");
        assert_eq!(html_escape("plain"), "plain");
    }
}
