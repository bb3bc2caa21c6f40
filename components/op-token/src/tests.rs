//! The token endpoint against the in-memory store: every grant, every
//! client authentication method, and the error table.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use authrim_jose::{b64, jws, Alg, SigningKey};
use authrim_oauth::assertion::JWT_BEARER_GRANT_TYPE;
use authrim_oauth::client_auth::{JTI_NAMESPACE, JWT_BEARER_ASSERTION_TYPE};
use authrim_oauth::form::{form_encode, form_urlencode};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer, OAuthError};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::endpoint::{respond, Request};
use crate::env::Env;
use crate::store::{
    AuthCode, CibaApproval, CibaPollOutcome, CibaRequest, Client, DeviceApproval, DeviceRequest,
    PollOutcome, Store, User,
};
use crate::testing::FakeStore;

const ISSUER: &str = "https://id.example.test";
const NOW: i64 = 1_800_000_000;
const SECRET: &str = "Tr8xQeK3nV0aW9sYbLm2cZ7uH4gJ1pD6fR5tE0iO3kA";
const REDIRECT: &str = "https://rp.example.test/cb";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn env() -> Result<Env, OAuthError> {
    Ok(Env {
        issuer: Issuer::parse(ISSUER).unwrap(),
        now: NOW,
        access_token_ttl: 3600,
        id_token_ttl: 600,
        refresh_token_ttl: 86400,
        dpop_require_nonce: false,
    })
}

/// Runs a future that never waits (the fake store answers at once).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the endpoint waited"),
    }
}

fn call(
    store: &FakeStore,
    method: &str,
    content_type: Option<&str>,
    auth: Option<&str>,
    body: &str,
) -> HttpResponse {
    let req = Request {
        method,
        content_type,
        authorization: auth,
        dpop: None,
        body: body.as_bytes(),
    };
    let resp = block_on(respond(&req, store, env));
    assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    assert_eq!(resp.header_value("pragma"), Some("no-cache"));
    assert_eq!(resp.header_value("access-control-allow-origin"), Some("*"));
    resp
}

fn post(store: &FakeStore, auth: Option<&str>, body: &str) -> HttpResponse {
    call(
        store,
        "POST",
        Some("application/x-www-form-urlencoded"),
        auth,
        body,
    )
}

fn json_body(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn error_of(r: &HttpResponse) -> String {
    json_body(r)["error"].as_str().unwrap_or("").to_string()
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn add_client(store: &FakeStore, id: &str, metadata: Value, secret: Option<&str>) {
    store.clients.borrow_mut().insert(
        id.to_string(),
        Client {
            client_id: id.to_string(),
            secret_hash: secret.map(hash_token),
            metadata_json: metadata.to_string(),
            registration_token_hash: None,
            created_at: 0,
            updated_at: 0,
        },
    );
}

fn add_user(store: &FakeStore, id: &str, disabled: bool) {
    store.users.borrow_mut().insert(
        id.to_string(),
        User {
            id: id.to_string(),
            username: format!("{id}-name"),
            password_hash: None,
            claims_json: json!({
                "name": "Jane Doe", "email": "jane@example.test", "email_verified": true,
                "sub": "not-this",
            })
            .to_string(),
            disabled,
            created_at: 0,
            updated_at: 0,
        },
    );
}

/// The claims of a JWT the fake signed, after checking its signature, alg and typ.
fn verified_claims(store: &FakeStore, token: &str, alg: Alg, typ: &str) -> Value {
    let c = jws::Compact::parse(token).unwrap();
    assert_eq!(c.alg, alg);
    assert_eq!(c.typ(), Some(typ));
    c.verify(&store.verification_key(alg), &[alg]).unwrap();
    serde_json::from_slice(&c.payload).unwrap()
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(json!({"alg": "HS256"}).to_string()),
        b64::encode(claims.to_string())
    );
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap();
    m.update(input.as_bytes());
    format!("{input}.{}", b64::encode(m.finalize().into_bytes()))
}

fn assertion_claims(client_id: &str, jti: &str, aud: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": NOW + 60, "iat": NOW, "jti": jti})
}

fn assertion_body(grant: &str, jwt: &str) -> String {
    format!(
        "grant_type={grant}&client_assertion_type={}&client_assertion={jwt}",
        form_encode(JWT_BEARER_ASSERTION_TYPE)
    )
}

fn cc_client(store: &FakeStore, id: &str, method: &str) {
    add_client(
        store,
        id,
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": method,
               "scope": "api:read api:write"}),
        Some(SECRET),
    );
}

// ------------------------------------------------------------ the request

#[test]
fn method_and_content_type() {
    let store = FakeStore::new();
    for method in ["GET", "PUT", "DELETE", "HEAD", "PATCH"] {
        let r = call(&store, method, None, None, "");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header_value("allow"), Some("POST, OPTIONS"));
        assert_eq!(error_of(&r), "method_not_allowed");
    }
    let r = call(&store, "OPTIONS", None, None, "");
    assert_eq!(r.status, 204);
    assert_eq!(r.header_value("access-control-allow-methods"), Some("POST"));
    for ct in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let r = call(&store, "POST", ct, None, "grant_type=client_credentials");
        assert_eq!(r.status, 400, "{ct:?}");
        assert_eq!(error_of(&r), "invalid_request");
    }
    cc_client(&store, "c1", "client_secret_post");
    let ok = call(
        &store,
        "POST",
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        None,
        &format!("grant_type=client_credentials&client_id=c1&client_secret={SECRET}"),
    );
    assert_eq!(ok.status, 200);
}

#[test]
fn request_error_table() {
    let store = FakeStore::new();
    cc_client(&store, "c1", "client_secret_post");
    add_client(
        &store,
        "pub",
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        None,
    );
    add_client(
        &store,
        "code-only",
        json!({"redirect_uris": [REDIRECT]}),
        Some(SECRET),
    );
    let creds = format!("client_id=c1&client_secret={SECRET}");
    let table: Vec<(Option<String>, String, u16, &str)> = vec![
        (None, creds.clone(), 400, "invalid_request"),
        (None, format!("grant_type=&{creds}"), 400, "invalid_request"),
        (
            None,
            format!("grant_type=client_credentials&grant_type=client_credentials&{creds}"),
            400,
            "invalid_request",
        ),
        (
            None,
            format!("grant_type=client_credentials&{creds}&client_id=c1"),
            400,
            "invalid_request",
        ),
        (
            None,
            format!("grant_type=password&{creds}"),
            400,
            "unsupported_grant_type",
        ),
        (
            None,
            format!("grant_type=implicit&{creds}"),
            400,
            "unsupported_grant_type",
        ),
        (
            None,
            format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&{creds}"),
            400,
            "unauthorized_client",
        ),
        (
            None,
            "grant_type=client_credentials&a=%zz".into(),
            400,
            "invalid_request",
        ),
        // Client authentication.
        (
            None,
            "grant_type=client_credentials".into(),
            401,
            "invalid_client",
        ),
        (
            None,
            "grant_type=client_credentials&client_id=c1&client_secret=wrong".into(),
            401,
            "invalid_client",
        ),
        (
            None,
            format!("grant_type=client_credentials&client_id=nobody&client_secret={SECRET}"),
            401,
            "invalid_client",
        ),
        // Registered for client_secret_post, tried Basic.
        (
            Some(basic("c1", SECRET)),
            "grant_type=client_credentials".into(),
            401,
            "invalid_client",
        ),
        (
            Some(basic("c1", SECRET)),
            format!("grant_type=client_credentials&client_secret={SECRET}"),
            400,
            "invalid_request",
        ),
        // A public client that registered client_secret_post? No: `c1`
        // without a secret is the `none` method, which it did not register.
        (
            None,
            "grant_type=client_credentials&client_id=c1".into(),
            401,
            "invalid_client",
        ),
        // Grant not registered / public client.
        (
            None,
            format!("grant_type=refresh_token&refresh_token=x&{creds}"),
            400,
            "unauthorized_client",
        ),
        (
            None,
            "grant_type=client_credentials&client_id=pub".into(),
            400,
            "unauthorized_client",
        ),
        (
            Some(basic("code-only", SECRET)),
            "grant_type=client_credentials".into(),
            400,
            "unauthorized_client",
        ),
        // Grant parameters.
        (
            None,
            format!("grant_type=client_credentials&scope=api:none&{creds}"),
            400,
            "invalid_scope",
        ),
        (
            None,
            format!("grant_type=client_credentials&scope=a%22b&{creds}"),
            400,
            "invalid_scope",
        ),
        (
            Some(basic("code-only", SECRET)),
            "grant_type=authorization_code&redirect_uri=x".into(),
            400,
            "invalid_request",
        ),
        (
            Some(basic("code-only", SECRET)),
            format!("grant_type=authorization_code&code={}", "x".repeat(600)),
            400,
            "invalid_grant",
        ),
        (
            Some(basic("code-only", SECRET)),
            "grant_type=authorization_code&code=unknown".into(),
            400,
            "invalid_grant",
        ),
        (
            Some(basic("code-only", SECRET)),
            format!(
                "grant_type=authorization_code&code=x&c={}",
                "y".repeat(70_000)
            ),
            400,
            "invalid_request",
        ),
    ];
    for (auth, body, status, error) in &table {
        let r = post(&store, auth.as_deref(), body);
        assert_eq!(
            r.status,
            *status,
            "{auth:?} {body:.100}: {:?}",
            json_body(&r)
        );
        assert_eq!(error_of(&r), *error, "{auth:?} {body:.100}");
        let basic_challenge = auth.is_some() && *error == "invalid_client";
        assert_eq!(
            r.header_value("www-authenticate"),
            basic_challenge.then_some("Basic realm=\"authrim\""),
            "{auth:?} {body:.100}"
        );
    }
    assert!(store.grants.borrow().is_empty());
}

#[test]
fn unknown_parameters_are_ignored() {
    let store = FakeStore::new();
    cc_client(&store, "c1", "client_secret_basic");
    let r = post(
        &store,
        Some(&basic("c1", SECRET)),
        "grant_type=client_credentials&foo=bar&resource_x=1",
    );
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
}

// ------------------------------------------------------ client_credentials

fn check_cc_token(store: &FakeStore, r: &HttpResponse, client_id: &str, scope: &str) {
    assert_eq!(r.status, 200, "{:?}", json_body(r));
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    let body = json_body(r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let claims = verified_claims(store, token, Alg::ES256, "at+jwt");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], ISSUER);
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 3600);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 43);
    if scope.is_empty() {
        assert!(claims.get("scope").is_none());
        assert!(body.get("scope").is_none());
    } else {
        assert_eq!(claims["scope"], scope);
        assert_eq!(body["scope"], scope);
    }
    let grant = store.check_access_token(token, NOW).expect("recorded");
    assert_eq!(grant.client_id, client_id);
    assert_eq!(grant.user_id, None);
    assert_eq!(grant.sid, None);
}

#[test]
fn client_credentials_with_secret_methods() {
    let store = FakeStore::new();
    cc_client(&store, "basic", "client_secret_basic");
    cc_client(&store, "post", "client_secret_post");
    let r = post(
        &store,
        Some(&basic("basic", SECRET)),
        "grant_type=client_credentials&scope=api:read",
    );
    check_cc_token(&store, &r, "basic", "api:read");
    let r = post(
        &store,
        None,
        &format!("grant_type=client_credentials&client_id=post&client_secret={SECRET}"),
    );
    check_cc_token(&store, &r, "post", "api:read api:write");
    // openid is about an End-User: dropped here.
    let r = post(
        &store,
        None,
        &format!("grant_type=client_credentials&client_id=post&client_secret={SECRET}&scope=openid+api:write"),
    );
    check_cc_token(&store, &r, "post", "api:write");
}

#[test]
fn client_credentials_with_client_secret_jwt() {
    let store = FakeStore::new();
    cc_client(&store, "hs", "client_secret_jwt");
    store
        .mac_secrets
        .borrow_mut()
        .insert("hs".into(), SECRET.as_bytes().to_vec());
    let token_endpoint = format!("{ISSUER}/token");
    for (jti, aud) in [("j1", token_endpoint.as_str()), ("j2", ISSUER)] {
        let jwt = hs256(SECRET.as_bytes(), &assertion_claims("hs", jti, aud));
        let r = post(&store, None, &assertion_body("client_credentials", &jwt));
        check_cc_token(&store, &r, "hs", "api:read api:write");
    }
    // The jti was recorded; the same assertion again is refused.
    let jwt = hs256(
        SECRET.as_bytes(),
        &assertion_claims("hs", "j1", &token_endpoint),
    );
    let r = post(&store, None, &assertion_body("client_credentials", &jwt));
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "invalid_client");
    assert_eq!(
        json_body(&r)["error_description"],
        "client assertion was already used"
    );
    assert!(store
        .used
        .borrow()
        .iter()
        .all(|(ns, _)| ns == JTI_NAMESPACE));
    // Wrong key, wrong audience.
    let wrong_key = hs256(&[7u8; 43], &assertion_claims("hs", "j3", &token_endpoint));
    let wrong_aud = hs256(
        SECRET.as_bytes(),
        &assertion_claims("hs", "j4", "https://other.example"),
    );
    for jwt in [wrong_key, wrong_aud] {
        let r = post(&store, None, &assertion_body("client_credentials", &jwt));
        assert_eq!(r.status, 401);
        assert_eq!(error_of(&r), "invalid_client");
    }
}

fn pkjwt_client(store: &FakeStore, id: &str, key: &SigningKey, by_uri: bool) {
    let jwk: Value =
        serde_json::from_str(&key.public_key().to_jwk_json(&key.kid(), key.alg())).unwrap();
    let jwks = json!({"keys": [jwk]});
    let mut metadata = json!({"grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt"});
    if by_uri {
        let uri = format!("https://{id}.example.test/jwks.json");
        metadata["jwks_uri"] = json!(uri);
        store
            .jwks_documents
            .borrow_mut()
            .insert(uri, jwks.to_string());
    } else {
        metadata["jwks"] = jwks;
    }
    add_client(store, id, metadata, None);
}

#[test]
fn client_credentials_with_private_key_jwt() {
    let store = FakeStore::new();
    let ec = SigningKey::generate(Alg::ES256).unwrap();
    let rsa = authrim_jose::test_keys::rsa();
    pkjwt_client(&store, "ec", &ec, false);
    pkjwt_client(&store, "rsa", &rsa, true);
    let aud = format!("{ISSUER}/token");
    for (id, key) in [("ec", &ec), ("rsa", &rsa)] {
        let claims = assertion_claims(id, "jti-1", &aud);
        let jwt = jws::sign_compact(key, &key.kid(), None, claims.to_string().as_bytes()).unwrap();
        let r = post(&store, None, &assertion_body("client_credentials", &jwt));
        check_cc_token(&store, &r, id, "");
        // Replay.
        let r = post(&store, None, &assertion_body("client_credentials", &jwt));
        assert_eq!(r.status, 401, "{id}");
        assert_eq!(error_of(&r), "invalid_client");
    }
    assert_eq!(store.fetches.get(), 2, "jwks_uri fetched on each use");
    // Signed by another key.
    let other = SigningKey::generate(Alg::ES256).unwrap();
    let claims = assertion_claims("ec", "jti-2", &aud);
    let jwt = jws::sign_compact(&other, &ec.kid(), None, claims.to_string().as_bytes()).unwrap();
    let r = post(&store, None, &assertion_body("client_credentials", &jwt));
    assert_eq!(r.status, 401);
    // A jwks_uri the component may not reach: invalid_client, not 5xx.
    store.jwks_documents.borrow_mut().clear();
    let claims = assertion_claims("rsa", "jti-3", &aud);
    let jwt = jws::sign_compact(&rsa, &rsa.kid(), None, claims.to_string().as_bytes()).unwrap();
    let r = post(&store, None, &assertion_body("client_credentials", &jwt));
    assert_eq!(r.status, 401);
    assert_eq!(
        json_body(&r)["error_description"],
        "client authentication failed"
    );
    // An HMAC assertion for a private_key_jwt client never fetches keys.
    let before = store.fetches.get();
    let jwt = hs256(SECRET.as_bytes(), &assertion_claims("rsa", "jti-4", &aud));
    let r = post(&store, None, &assertion_body("client_credentials", &jwt));
    assert_eq!(r.status, 401);
    assert_eq!(store.fetches.get(), before);
}

// ------------------------------------------------------ authorization_code

struct CodeSpec {
    client_id: &'static str,
    scope: &'static str,
    sid: Option<&'static str>,
    challenge: Option<&'static str>,
    grant_json: Value,
    expires_at: i64,
}

impl Default for CodeSpec {
    fn default() -> Self {
        CodeSpec {
            client_id: "rp",
            scope: "openid profile",
            sid: Some("sid-1"),
            challenge: Some(CHALLENGE),
            grant_json: json!({"auth_time": NOW - 30, "acr": "urn:authrim:pwd", "amr": ["pwd"],
                               "redirect_uri_in_request": true}),
            expires_at: NOW + 60,
        }
    }
}

fn put_code(store: &FakeStore, code: &str, spec: CodeSpec) {
    store.put_code(AuthCode {
        code_hash: hash_token(code),
        client_id: spec.client_id.into(),
        user_id: "u1".into(),
        sid: spec.sid.map(str::to_string),
        redirect_uri: REDIRECT.into(),
        scope: spec.scope.into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: spec.challenge.map(str::to_string),
        code_challenge_method: spec.challenge.map(|_| "S256".to_string()),
        grant_json: spec.grant_json.to_string(),
        expires_at: spec.expires_at,
    });
}

fn code_store() -> FakeStore {
    let store = FakeStore::new();
    add_client(
        &store,
        "rp",
        json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"]}),
        Some(SECRET),
    );
    add_client(
        &store,
        "rp-es",
        json!({"redirect_uris": [REDIRECT], "id_token_signed_response_alg": "ES256",
               "token_endpoint_auth_method": "client_secret_post"}),
        Some(SECRET),
    );
    add_client(
        &store,
        "spa",
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        None,
    );
    add_user(&store, "u1", false);
    store.sessions.borrow_mut().insert("sid-1".into());
    store
}

fn redeem(store: &FakeStore, client: &str, code: &str, extra: &str) -> HttpResponse {
    let body = format!(
        "grant_type=authorization_code&code={code}&{}{extra}",
        form_urlencode([("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)])
    );
    match client {
        "rp" => post(store, Some(&basic("rp", SECRET)), &body),
        "rp-es" => post(
            store,
            None,
            &format!("{body}&client_id=rp-es&client_secret={SECRET}"),
        ),
        id => post(store, None, &format!("{body}&client_id={id}")),
    }
}

#[test]
fn code_flow_issues_access_and_id_token() {
    let store = code_store();
    put_code(&store, "code-1", CodeSpec::default());
    let r = redeem(&store, "rp", "code-1", "");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    let body = json_body(&r);
    assert_eq!(body["scope"], "openid profile");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let at = body["access_token"].as_str().unwrap();
    let at_claims = verified_claims(&store, at, Alg::ES256, "at+jwt");
    assert_eq!(at_claims["sub"], "u1");
    assert_eq!(at_claims["client_id"], "rp");
    assert_eq!(at_claims["scope"], "openid profile");
    assert_eq!(at_claims["auth_time"], NOW - 30);
    assert_eq!(at_claims["acr"], "urn:authrim:pwd");
    assert_eq!(at_claims["amr"], json!(["pwd"]));
    let grant = store.check_access_token(at, NOW).unwrap();
    assert_eq!(grant.sid.as_deref(), Some("sid-1"));
    assert_eq!(grant.user_id.as_deref(), Some("u1"));
    assert_eq!(grant.expires_at, NOW + 3600);

    let id = verified_claims(
        &store,
        body["id_token"].as_str().unwrap(),
        Alg::RS256,
        "JWT",
    );
    assert_eq!(id["iss"], ISSUER);
    assert_eq!(id["sub"], "u1");
    assert_eq!(id["aud"], "rp");
    assert_eq!(id["iat"], NOW);
    assert_eq!(id["exp"], NOW + 600);
    assert_eq!(id["auth_time"], NOW - 30);
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["acr"], "urn:authrim:pwd");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["sid"], "sid-1");
    assert!(id.get("azp").is_none(), "one audience: no azp");
    assert_eq!(
        id["at_hash"],
        authrim_oauth::id_token::token_hash(Alg::RS256, at)
    );
    // Scope claims go to UserInfo, not into the ID Token.
    assert!(id.get("name").is_none());
}

#[test]
fn code_flow_es256_id_token_claims_request_and_refresh_policy() {
    let store = code_store();
    put_code(
        &store,
        "code-es",
        CodeSpec {
            client_id: "rp-es",
            scope: "openid email offline_access",
            grant_json: json!({"auth_time": NOW - 5,
                "claims": {"id_token": {"email": {"essential": true}}}}),
            ..CodeSpec::default()
        },
    );
    let r = redeem(&store, "rp-es", "code-es", "");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    let body = json_body(&r);
    // offline_access, but rp-es did not register refresh_token.
    assert!(body.get("refresh_token").is_none());
    let id = verified_claims(
        &store,
        body["id_token"].as_str().unwrap(),
        Alg::ES256,
        "JWT",
    );
    assert!(id.get("email_verified").is_none());
    assert_eq!(id["sub"], "u1", "never the stored `sub` claim");
    assert!(id.get("acr").is_none());
    // offline_access: the grant outlives the session.
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(store.check_access_token(at, NOW).unwrap().sid, None);
}

#[test]
fn code_without_openid_has_no_id_token() {
    let store = code_store();
    put_code(
        &store,
        "c",
        CodeSpec {
            scope: "api:read",
            ..CodeSpec::default()
        },
    );
    let body = json_body(&redeem(&store, "rp", "c", ""));
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "api:read");
}

#[test]
fn a_replayed_code_is_refused_and_revokes_the_first_grant() {
    let store = code_store();
    put_code(&store, "code-1", CodeSpec::default());
    let first = json_body(&redeem(&store, "rp", "code-1", ""));
    let at = first["access_token"].as_str().unwrap();
    assert!(store.check_access_token(at, NOW).is_some());
    let again = redeem(&store, "rp", "code-1", "");
    assert_eq!(again.status, 400);
    assert_eq!(error_of(&again), "invalid_grant");
    assert!(store.check_access_token(at, NOW).is_none());
}

#[test]
fn a_replay_racing_the_first_redemption_leaves_both_without_tokens() {
    let store = code_store();
    put_code(&store, "code-1", CodeSpec::default());
    store.replay_before_attach.set(true);
    let r = redeem(&store, "rp", "code-1", "");
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "invalid_grant");
    assert_eq!(
        json_body(&r)["error_description"],
        crate::grants::authorization_code::REPLAYED_DURING_REDEMPTION
    );
    assert!(store.access_tokens.borrow().is_empty());
    assert!(store
        .grants
        .borrow()
        .values()
        .all(|g| g.revoked_at.is_some()));
}

#[test]
fn code_error_table() {
    let v = |s: &str| form_urlencode([("code_verifier", s)]);
    // (code spec, client, extra body, status, error)
    let table: Vec<(CodeSpec, &str, String, u16, &str)> = vec![
        (
            CodeSpec::default(),
            "rp-es",
            String::new(),
            400,
            "invalid_grant",
        ),
        (
            CodeSpec {
                expires_at: NOW,
                ..CodeSpec::default()
            },
            "rp",
            String::new(),
            400,
            "invalid_grant",
        ),
        (
            CodeSpec {
                sid: Some("ended"),
                ..CodeSpec::default()
            },
            "rp",
            String::new(),
            400,
            "invalid_grant",
        ),
        (
            CodeSpec {
                challenge: None,
                client_id: "spa",
                ..CodeSpec::default()
            },
            "spa",
            String::new(),
            400,
            "invalid_grant",
        ),
    ];
    for (i, (spec, client, extra, status, error)) in table.into_iter().enumerate() {
        let store = code_store();
        put_code(&store, "c", spec);
        let r = redeem(&store, client, "c", &extra);
        assert_eq!(r.status, status, "row {i}: {:?}", json_body(&r));
        assert_eq!(error_of(&r), error, "row {i}");
        assert!(store.access_tokens.borrow().is_empty(), "row {i}");
    }
    // Body variations for a good code.
    let bodies: Vec<(String, u16, &str)> = vec![
        (
            format!("redirect_uri={}&{}", form_encode(REDIRECT), v(VERIFIER)),
            200,
            "",
        ),
        (v(VERIFIER), 400, "invalid_request"),
        (
            format!(
                "redirect_uri={}&{}",
                form_encode("https://rp.example.test/cb/"),
                v(VERIFIER)
            ),
            400,
            "invalid_grant",
        ),
        (
            format!("redirect_uri={}", form_encode(REDIRECT)),
            400,
            "invalid_grant",
        ),
        (
            format!(
                "redirect_uri={}&{}",
                form_encode(REDIRECT),
                v(&"a".repeat(43))
            ),
            400,
            "invalid_grant",
        ),
        (
            format!("redirect_uri={}&{}", form_encode(REDIRECT), v("short")),
            400,
            "invalid_grant",
        ),
    ];
    for (body, status, error) in bodies {
        let store = code_store();
        put_code(&store, "c", CodeSpec::default());
        let r = post(
            &store,
            Some(&basic("rp", SECRET)),
            &format!("grant_type=authorization_code&code=c&{body}"),
        );
        assert_eq!(r.status, status, "{body}: {:?}", json_body(&r));
        if status != 200 {
            assert_eq!(error_of(&r), error, "{body}");
        }
    }
}

#[test]
fn code_checks_the_user_and_optional_redirect_uri() {
    let store = code_store();
    add_user(&store, "u1", true);
    put_code(&store, "c", CodeSpec::default());
    let r = redeem(&store, "rp", "c", "");
    assert_eq!(error_of(&r), "invalid_grant");

    // redirect_uri not in the authorization request: may be omitted.
    let store = code_store();
    put_code(
        &store,
        "c",
        CodeSpec {
            grant_json: json!({"auth_time": NOW, "redirect_uri_in_request": false}),
            ..CodeSpec::default()
        },
    );
    let r = post(
        &store,
        Some(&basic("rp", SECRET)),
        &format!("grant_type=authorization_code&code=c&code_verifier={VERIFIER}"),
    );
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
}

#[test]
fn public_client_with_pkce() {
    let store = code_store();
    put_code(
        &store,
        "c",
        CodeSpec {
            client_id: "spa",
            ..CodeSpec::default()
        },
    );
    let r = redeem(&store, "spa", "c", "");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    assert!(r.header_value("www-authenticate").is_none());
}

// ----------------------------------------------------------- refresh_token

fn refresh(store: &FakeStore, token: &str, extra: &str) -> HttpResponse {
    post(
        store,
        Some(&basic("rp", SECRET)),
        &format!(
            "grant_type=refresh_token&{}{extra}",
            form_urlencode([("refresh_token", token)])
        ),
    )
}

fn offline_tokens(store: &FakeStore) -> Value {
    put_code(
        store,
        "c",
        CodeSpec {
            scope: "openid profile offline_access",
            ..CodeSpec::default()
        },
    );
    let r = redeem(store, "rp", "c", "");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    json_body(&r)
}

#[test]
fn refresh_rotates_and_detects_reuse() {
    let store = code_store();
    let first = offline_tokens(&store);
    let rt1 = first["refresh_token"].as_str().unwrap();
    assert_eq!(rt1.len(), 43);
    let grant = store
        .check_access_token(first["access_token"].as_str().unwrap(), NOW)
        .unwrap();
    assert_eq!(grant.sid, None, "offline grants outlive the session");
    assert_eq!(grant.expires_at, NOW + 86400);

    let r = refresh(&store, rt1, "");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    let second = json_body(&r);
    assert!(second.get("id_token").is_none());
    assert_eq!(second["scope"], "openid profile offline_access");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let at2 = second["access_token"].as_str().unwrap();
    let claims = verified_claims(&store, at2, Alg::ES256, "at+jwt");
    assert_eq!(claims["auth_time"], NOW - 30, "the original authentication");

    // Narrowing is allowed, widening is not.
    let r = refresh(&store, rt2, "&scope=openid");
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    let third = json_body(&r);
    assert_eq!(third["scope"], "openid");
    let rt3 = third["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(&store, &rt3, "&scope=openid+email");
    assert_eq!(error_of(&r), "invalid_scope");
    // The refused request did not rotate: rt3 still works, with the
    // family's whole scope.
    let r = refresh(&store, &rt3, "");
    assert_eq!(r.status, 200);
    let fourth = json_body(&r);
    assert_eq!(fourth["scope"], "openid profile offline_access");
    let at4 = fourth["access_token"].as_str().unwrap();
    assert!(store.check_access_token(at4, NOW).is_some());

    // Presenting a rotated token revokes the family.
    let r = refresh(&store, rt1, "");
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "invalid_grant");
    assert!(store.check_access_token(at4, NOW).is_none());
    let rt4 = fourth["refresh_token"].as_str().unwrap();
    assert_eq!(error_of(&refresh(&store, rt4, "")), "invalid_grant");
}

#[test]
fn refresh_error_table() {
    let store = code_store();
    let tokens = offline_tokens(&store);
    let rt = tokens["refresh_token"].as_str().unwrap();
    add_client(
        &store,
        "other",
        json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"]}),
        Some(SECRET),
    );
    let by_other = post(
        &store,
        Some(&basic("other", SECRET)),
        &format!("grant_type=refresh_token&refresh_token={rt}"),
    );
    assert_eq!(by_other.status, 400);
    assert_eq!(error_of(&by_other), "invalid_grant");
    for (body, error) in [
        ("grant_type=refresh_token".to_string(), "invalid_request"),
        (
            "grant_type=refresh_token&refresh_token=nope".into(),
            "invalid_grant",
        ),
        (
            format!("grant_type=refresh_token&refresh_token={}", "x".repeat(600)),
            "invalid_grant",
        ),
        (
            format!("grant_type=refresh_token&refresh_token={rt}&scope=a%5Cb"),
            "invalid_scope",
        ),
    ] {
        let r = post(&store, Some(&basic("rp", SECRET)), &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(error_of(&r), error, "{body}");
    }
    // None of that touched the family: the owner still refreshes.
    assert_eq!(refresh(&store, rt, "").status, 200);
}

#[test]
fn refresh_fails_for_a_disabled_user() {
    let store = code_store();
    let tokens = offline_tokens(&store);
    add_user(&store, "u1", true);
    let r = refresh(&store, tokens["refresh_token"].as_str().unwrap(), "");
    assert_eq!(error_of(&r), "invalid_grant");
}

#[test]
fn store_failures_are_server_errors_without_detail() {
    use crate::store::ClientRecords;
    struct Broken(FakeStore);
    impl ClientRecords for Broken {
        fn client(&self, _: &str) -> Result<Option<Client>, crate::store::StoreError> {
            Err(crate::store::StoreError::Unavailable("disk I/O".into()))
        }

        fn verify_secret_mac(
            &self,
            a: &str,
            b: &str,
            c: &[u8],
            d: &[u8],
        ) -> Result<bool, crate::store::StoreError> {
            self.0.verify_secret_mac(a, b, c, d)
        }

        fn mark_used(
            &self,
            a: &str,
            b: &str,
            c: i64,
            d: i64,
        ) -> Result<bool, crate::store::StoreError> {
            self.0.mark_used(a, b, c, d)
        }

        fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>> {
            self.0.fetch_jwks(uri)
        }
    }

    impl Store for Broken {
        fn user(&self, a: &str) -> Result<Option<User>, crate::store::StoreError> {
            self.0.user(a)
        }
        fn user_by_username(&self, a: &str) -> Result<Option<User>, crate::store::StoreError> {
            self.0.user_by_username(a)
        }
        fn trusted_issuer(
            &self,
            a: &str,
        ) -> Result<Option<crate::store::TrustedIssuer>, crate::store::StoreError> {
            self.0.trusted_issuer(a)
        }
        fn session_active(&self, a: &str, b: i64) -> Result<bool, crate::store::StoreError> {
            self.0.session_active(a, b)
        }
        fn redeem_code(
            &self,
            a: &str,
            b: i64,
        ) -> Result<crate::store::RedeemOutcome, crate::store::StoreError> {
            self.0.redeem_code(a, b)
        }
        fn attach_grant(&self, a: &str, b: &str) -> Result<(), crate::store::StoreError> {
            self.0.attach_grant(a, b)
        }
        fn create_grant(
            &self,
            a: &crate::store::Grant,
            b: Option<&str>,
            c: i64,
        ) -> Result<(), crate::store::StoreError> {
            self.0.create_grant(a, b, c)
        }
        fn find_by_refresh(
            &self,
            a: &str,
            b: i64,
        ) -> Result<Option<crate::store::Grant>, crate::store::StoreError> {
            self.0.find_by_refresh(a, b)
        }
        fn rotate(
            &self,
            a: &str,
            b: &str,
            c: i64,
            d: i64,
        ) -> Result<crate::store::RotateOutcome, crate::store::StoreError> {
            self.0.rotate(a, b, c, d)
        }
        fn revoke_grant(&self, a: &str, b: i64) -> Result<bool, crate::store::StoreError> {
            self.0.revoke_grant(a, b)
        }
        fn poll_device(
            &self,
            a: &str,
            b: &str,
            c: i64,
        ) -> Result<PollOutcome, crate::store::StoreError> {
            self.0.poll_device(a, b, c)
        }
        fn poll_ciba(
            &self,
            a: &str,
            b: &str,
            c: i64,
        ) -> Result<CibaPollOutcome, crate::store::StoreError> {
            self.0.poll_ciba(a, b, c)
        }
        fn record_access_token(
            &self,
            a: &crate::store::AccessToken,
            j: Option<&str>,
        ) -> Result<(), crate::store::StoreError> {
            self.0.record_access_token(a, j)
        }
        fn dpop_nonce(&self, now: i64) -> Result<String, crate::store::StoreError> {
            self.0.dpop_nonce(now)
        }
        fn check_dpop_nonce(&self, n: &str, now: i64) -> Result<bool, crate::store::StoreError> {
            self.0.check_dpop_nonce(n, now)
        }
        fn sign_jwt(
            &self,
            a: &str,
            b: Option<&str>,
            c: &str,
        ) -> Result<String, crate::store::StoreError> {
            self.0.sign_jwt(a, b, c)
        }
    }
    let store = Broken(FakeStore::new());
    let req = Request {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        dpop: None,
        body: b"grant_type=client_credentials&client_id=c&client_secret=s",
    };
    let r = block_on(respond(&req, &store, env));
    assert_eq!(r.status, 500);
    let body = json_body(&r);
    assert_eq!(body["error"], "server_error");
    assert!(!body.to_string().contains("disk"));
}

fn device_store() -> FakeStore {
    let store = FakeStore::new();
    let metadata = json!({
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    });
    add_client(&store, "tv", metadata.clone(), None);
    add_client(&store, "other-tv", metadata, None);
    add_user(&store, "u1", false);
    store.sessions.borrow_mut().insert("sid-1".into());
    store
}

fn approved(scope: &str, sid: Option<&str>) -> PollOutcome {
    PollOutcome::Approved((
        DeviceRequest {
            device_code_hash: hash_token("dc"),
            user_code: "WDJBMJHT".into(),
            client_id: "tv".into(),
            scope: scope.into(),
            created_at: NOW - 10,
            expires_at: NOW + 590,
            interval: 5,
        },
        DeviceApproval {
            user_id: "u1".into(),
            sid: sid.map(str::to_string),
            scope: scope.into(),
            grant_json: json!({"auth_time": NOW - 20, "acr": "1", "amr": ["pwd"]}).to_string(),
        },
    ))
}

fn poll_device(store: &FakeStore, client: &str, code: &str) -> HttpResponse {
    post(
        store,
        None,
        &form_urlencode([
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client),
            ("device_code", code),
        ]),
    )
}

#[test]
fn device_code_poll_outcomes_are_rfc_8628_errors() {
    let table = [
        (PollOutcome::Pending(5), "authorization_pending"),
        (PollOutcome::SlowDown(10), "slow_down"),
        (PollOutcome::Denied, "access_denied"),
        (PollOutcome::Expired, "expired_token"),
        (PollOutcome::Invalid, "invalid_grant"),
    ];
    for (outcome, error) in table {
        let store = device_store();
        store
            .device
            .borrow_mut()
            .insert(hash_token("dc"), ("tv".into(), outcome));
        let r = poll_device(&store, "tv", "dc");
        assert_eq!((r.status, error_of(&r)), (400, error.to_string()));
    }
    let store = device_store();
    store
        .device
        .borrow_mut()
        .insert(hash_token("dc"), ("tv".into(), approved("openid", None)));
    // Another client, an unknown code, a missing or oversized one.
    for (client, code, error) in [
        ("other-tv", "dc", "invalid_grant"),
        ("tv", "unknown", "invalid_grant"),
        ("tv", &"x".repeat(600), "invalid_grant"),
    ] {
        let r = poll_device(&store, client, code);
        assert_eq!(
            (r.status, error_of(&r)),
            (400, error.to_string()),
            "{client}"
        );
    }
    let r = post(
        &store,
        None,
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=tv",
    );
    assert_eq!(error_of(&r), "invalid_request");
    // None of that consumed the approval.
    assert_eq!(poll_device(&store, "tv", "dc").status, 200);
}

#[test]
fn device_code_approval_issues_tokens_once() {
    let store = device_store();
    store.device.borrow_mut().insert(
        hash_token("dc"),
        (
            "tv".into(),
            approved("openid profile offline_access", Some("sid-1")),
        ),
    );
    let r = poll_device(&store, "tv", "dc");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = json_body(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile offline_access");
    assert!(body["refresh_token"].is_string());
    let id = verified_claims(
        &store,
        body["id_token"].as_str().unwrap(),
        Alg::RS256,
        "JWT",
    );
    assert_eq!(id["sub"], "u1");
    assert_eq!(id["aud"], "tv");
    assert_eq!(id["auth_time"], NOW - 20);
    assert_eq!(id["sid"], "sid-1");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id.get("nonce").is_none());
    let again = poll_device(&store, "tv", "dc");
    assert_eq!(error_of(&again), "invalid_grant");

    // Without openid: no ID Token; a session that has ended: nothing.
    let store = device_store();
    store.device.borrow_mut().insert(
        hash_token("dc"),
        ("tv".into(), approved("profile", Some("sid-1"))),
    );
    let body = json_body(&poll_device(&store, "tv", "dc"));
    assert!(body["access_token"].is_string() && body.get("id_token").is_none());
    let store = device_store();
    store.device.borrow_mut().insert(
        hash_token("dc"),
        ("tv".into(), approved("openid", Some("ended"))),
    );
    assert_eq!(error_of(&poll_device(&store, "tv", "dc")), "invalid_grant");
}

// ------------------------------------------------------------ CIBA

const CIBA_SECRET: &str = "ciba-client-secret-0123456789abcdef";

fn ciba_store() -> FakeStore {
    let store = FakeStore::new();
    let grants = json!(["urn:openid:params:grant-type:ciba", "refresh_token"]);
    for (id, mode) in [("bank", "poll"), ("other-bank", "poll"), ("pusher", "push")] {
        let metadata = json!({"grant_types": grants, "backchannel_token_delivery_mode": mode});
        add_client(&store, id, metadata, Some(CIBA_SECRET));
    }
    add_client(
        &store,
        "no-ciba",
        json!({"grant_types": ["client_credentials"]}),
        Some(CIBA_SECRET),
    );
    add_user(&store, "u1", false);
    store.sessions.borrow_mut().insert("sid-1".into());
    store
}

fn ciba_approved(scope: &str, sid: Option<&str>) -> CibaPollOutcome {
    CibaPollOutcome::Approved((
        CibaRequest {
            auth_req_id_hash: hash_token("rid"),
            client_id: "bank".into(),
            user_id: "u1".into(),
            scope: scope.into(),
            acr_values: None,
            binding_message: Some("W4SCT".into()),
            delivery_mode: "poll".into(),
            notification_token: None,
            created_at: NOW - 10,
            expires_at: NOW + 290,
            interval: 5,
        },
        CibaApproval {
            sid: sid.map(str::to_string),
            scope: scope.into(),
            grant_json: json!({"auth_time": NOW - 20, "acr": "1", "amr": ["pwd"]}).to_string(),
        },
    ))
}

fn poll_ciba(store: &FakeStore, client: &str, id: &str) -> HttpResponse {
    post(
        store,
        Some(&basic(client, CIBA_SECRET)),
        &form_urlencode([
            ("grant_type", "urn:openid:params:grant-type:ciba"),
            ("auth_req_id", id),
        ]),
    )
}

#[test]
fn ciba_poll_outcomes_are_section_11_errors() {
    let table = [
        (CibaPollOutcome::Pending(5), "authorization_pending"),
        (CibaPollOutcome::SlowDown(10), "slow_down"),
        (CibaPollOutcome::Denied, "access_denied"),
        (CibaPollOutcome::Expired, "expired_token"),
        (CibaPollOutcome::Invalid, "invalid_grant"),
    ];
    for (outcome, error) in table {
        let store = ciba_store();
        store
            .ciba
            .borrow_mut()
            .insert(hash_token("rid"), ("bank".into(), outcome));
        let r = poll_ciba(&store, "bank", "rid");
        assert_eq!((r.status, error_of(&r)), (400, error.to_string()));
    }
    let store = ciba_store();
    store.ciba.borrow_mut().insert(
        hash_token("rid"),
        ("bank".into(), ciba_approved("openid", None)),
    );
    for (client, id, status, error) in [
        ("other-bank", "rid", 400, "invalid_grant"),
        ("bank", "unknown", 400, "invalid_grant"),
        ("bank", &"x".repeat(600), 400, "invalid_grant"),
        ("pusher", "rid", 400, "unauthorized_client"),
        ("no-ciba", "rid", 400, "unauthorized_client"),
    ] {
        let r = poll_ciba(&store, client, id);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (status, error),
            "{client}"
        );
    }
    let r = post(
        &store,
        Some(&basic("bank", "wrong-secret-0123456789abcdefghijkl")),
        "grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba&auth_req_id=rid",
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = post(
        &store,
        Some(&basic("bank", CIBA_SECRET)),
        "grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba",
    );
    assert_eq!(error_of(&r), "invalid_request");
    // None of that consumed the approval.
    assert_eq!(poll_ciba(&store, "bank", "rid").status, 200);
}

#[test]
fn ciba_approval_issues_tokens_once() {
    let store = ciba_store();
    store.ciba.borrow_mut().insert(
        hash_token("rid"),
        (
            "bank".into(),
            ciba_approved("openid email offline_access", Some("sid-1")),
        ),
    );
    let r = poll_ciba(&store, "bank", "rid");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = json_body(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
    let id = verified_claims(
        &store,
        body["id_token"].as_str().unwrap(),
        Alg::RS256,
        "JWT",
    );
    assert_eq!(
        (id["sub"].as_str(), id["aud"].as_str()),
        (Some("u1"), Some("bank"))
    );
    assert_eq!(id["auth_time"], NOW - 20);
    // §10.3.1: the auth_req_id claim is for push mode only.
    assert!(id.get("urn:openid:params:jwt:claim:auth_req_id").is_none());
    assert_eq!(error_of(&poll_ciba(&store, "bank", "rid")), "invalid_grant");
    // A session that has ended: nothing.
    let store = ciba_store();
    store.ciba.borrow_mut().insert(
        hash_token("rid"),
        ("bank".into(), ciba_approved("openid", Some("ended"))),
    );
    assert_eq!(error_of(&poll_ciba(&store, "bank", "rid")), "invalid_grant");
}

/// op-async's chained request for a push-mode token response.
fn push_ciba(store: &FakeStore, host: Option<&str>, path: &str, body: &str) -> HttpResponse {
    assert!(
        crate::chained::is_chained(host, path),
        "not a chained request: {host:?} {path}"
    );
    let req = Request {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        dpop: None,
        body: body.as_bytes(),
    };
    block_on(crate::chained::respond(&req, store, env))
}

#[test]
fn only_chained_requests_reach_the_push_endpoint() {
    use crate::chained::{is_chained, CHAINED_HOST, CIBA_PUSH_PATH};
    assert!(is_chained(Some(CHAINED_HOST), CIBA_PUSH_PATH));
    assert!(is_chained(Some("OP-TOKEN.spin.internal"), CIBA_PUSH_PATH));
    for (host, path) in [
        (None, CIBA_PUSH_PATH),
        (Some("127.0.0.1:3000"), CIBA_PUSH_PATH),
        (Some("op-async.spin.internal"), CIBA_PUSH_PATH),
        (Some(CHAINED_HOST), "/token"),
        (Some(CHAINED_HOST), "/ciba/push/"),
    ] {
        assert!(!is_chained(host, path), "{host:?} {path}");
    }
}

#[test]
fn ciba_push_mints_the_delivered_token_response_once() {
    let store = ciba_store();
    let mut approved = ciba_approved("openid email offline_access", Some("sid-1"));
    if let CibaPollOutcome::Approved((r, _)) = &mut approved {
        r.client_id = "pusher".into();
        r.delivery_mode = "push".into();
    }
    store
        .ciba
        .borrow_mut()
        .insert(hash_token("rid"), ("pusher".into(), approved));
    let push = |body: &str| {
        push_ciba(
            &store,
            Some(crate::chained::CHAINED_HOST),
            crate::chained::CIBA_PUSH_PATH,
            body,
        )
    };
    // Not a push-mode client, unknown client, missing parameters: nothing
    // consumed.
    for (body, error) in [
        ("auth_req_id=rid&client_id=bank", "invalid_request"),
        ("auth_req_id=rid&client_id=nobody", "invalid_request"),
        ("auth_req_id=rid", "invalid_request"),
        ("client_id=pusher", "invalid_request"),
    ] {
        let r = push(body);
        assert_eq!(error_of(&r), error, "{body}");
        assert!(r.status < 500, "{body}");
    }
    let r = push("auth_req_id=rid&client_id=pusher");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let body = json_body(&r);
    assert_eq!(body["auth_req_id"], "rid");
    assert_eq!(body["token_type"], "Bearer");
    let refresh = body["refresh_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let id = verified_claims(
        &store,
        body["id_token"].as_str().unwrap(),
        Alg::RS256,
        "JWT",
    );
    // §10.3.1: the ID Token binds the access token, the request and the
    // refresh token.
    assert_eq!(
        id["at_hash"],
        authrim_oauth::id_token::token_hash(Alg::RS256, access)
    );
    assert_eq!(id["urn:openid:params:jwt:claim:auth_req_id"], "rid");
    assert_eq!(
        id["urn:openid:params:jwt:claim:rt_hash"],
        authrim_oauth::id_token::token_hash(Alg::RS256, refresh)
    );
    // Delivered once.
    assert_eq!(
        error_of(&push("auth_req_id=rid&client_id=pusher")),
        "invalid_grant"
    );
}

// ------------------------------------------------------------ DPoP

/// A DPoP proof for the token endpoint signed by `key`, with `patch`
/// merged into the claims.
fn dpop_proof(key: &SigningKey, patch: Value) -> String {
    let jwk: Value = serde_json::from_str(&key.public_key().to_jwk_json("k", key.alg())).unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": key.alg().as_str(), "jwk": jwk});
    let mut claims =
        json!({"jti": "p-1", "htm": "POST", "htu": format!("{ISSUER}/token"), "iat": NOW});
    for (k, v) in patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(sig))
}

fn post_dpop(
    store: &FakeStore,
    proof: Option<&str>,
    body: &str,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> HttpResponse {
    let req = Request {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        dpop: proof,
        body: body.as_bytes(),
    };
    block_on(respond(&req, store, env))
}

#[test]
fn dpop_binds_the_access_token_and_is_single_use() {
    let store = FakeStore::new();
    cc_client(&store, "c1", "client_secret_post");
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let body = format!("grant_type=client_credentials&client_id=c1&client_secret={SECRET}");
    let proof = dpop_proof(&key, json!({}));
    let r = post_dpop(&store, Some(&proof), &body, env);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = json_body(&r);
    assert_eq!(b["token_type"], "DPoP");
    let at = b["access_token"].as_str().unwrap();
    let claims: Value =
        serde_json::from_slice(&b64::decode(at.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let jkt = key.public_key().thumbprint();
    assert_eq!(claims["cnf"]["jkt"], jkt.as_str());
    assert_eq!(
        store.access_token_jkts.borrow()[&hash_token(at)].as_deref(),
        Some(jkt.as_str())
    );
    // The same proof again: refused, nothing issued.
    let r = post_dpop(&store, Some(&proof), &body, env);
    assert_eq!(r.status, 400);
    assert_eq!(json_body(&r)["error"], "invalid_dpop_proof");
    // No proof: a bearer token, recorded unbound.
    let r = post_dpop(&store, None, &body, env);
    let b = json_body(&r);
    assert_eq!(b["token_type"], "Bearer");
    let at = b["access_token"].as_str().unwrap();
    assert!(!at.is_empty());
    assert_eq!(store.access_token_jkts.borrow()[&hash_token(at)], None);
}

#[test]
fn dpop_nonce_dance_and_required_proofs() {
    let store = FakeStore::new();
    cc_client(&store, "c1", "client_secret_post");
    add_client(
        &store,
        "c2",
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post",
               "dpop_bound_access_tokens": true}),
        Some(SECRET),
    );
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let with_nonce = || {
        env().map(|e| Env {
            dpop_require_nonce: true,
            ..e
        })
    };
    let body = format!("grant_type=client_credentials&client_id=c1&client_secret={SECRET}");
    let r = post_dpop(
        &store,
        Some(&dpop_proof(&key, json!({}))),
        &body,
        with_nonce,
    );
    assert_eq!(r.status, 400);
    assert_eq!(json_body(&r)["error"], "use_dpop_nonce");
    let nonce = r.header_value("dpop-nonce").unwrap().to_string();
    let proof = dpop_proof(&key, json!({"jti": "p-2", "nonce": nonce}));
    let r = post_dpop(&store, Some(&proof), &body, with_nonce);
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("dpop-nonce"), Some(nonce.as_str()));

    let body = format!("grant_type=client_credentials&client_id=c2&client_secret={SECRET}");
    let r = post_dpop(&store, None, &body, env);
    assert_eq!(r.status, 400);
    assert_eq!(json_body(&r)["error"], "invalid_dpop_proof");
    let r = post_dpop(
        &store,
        Some(&dpop_proof(&key, json!({"jti": "p-3"}))),
        &body,
        env,
    );
    assert_eq!(json_body(&r)["token_type"], "DPoP");
}

#[test]
fn dpop_binding_check() {
    use crate::dpop::check_binding;
    use authrim_oauth::dpop::Proof;
    let p = |jkt: &str| Proof {
        jkt: jkt.into(),
        jti: "j".into(),
        iat: NOW,
        nonce: None,
    };
    assert!(check_binding(None, None, "x").is_ok());
    assert!(check_binding(None, Some(&p("a")), "x").is_ok());
    assert!(check_binding(Some("a"), Some(&p("a")), "x").is_ok());
    for proof in [None, Some(p("b"))] {
        let e = check_binding(Some("a"), proof.as_ref(), "x").unwrap_err();
        assert_eq!(e.code, authrim_protocol::ErrorCode::InvalidGrant);
    }
}

// ------------------------------------------------------------ jwt-bearer

const IDP: &str = "https://idp.example.test";
const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// A store with client `c1` (secret, jwt-bearer, scope `openid api`), user
/// `u1`, and `IDP` trusted for `mapping` subjects with its key by value or
/// at a `jwks_uri`.
fn jwt_bearer_store(
    key: &SigningKey,
    mapping: crate::store::SubjectMapping,
    by_uri: bool,
) -> FakeStore {
    let store = FakeStore::new();
    add_client(
        &store,
        "c1",
        json!({"grant_types": [JWT_BEARER_GRANT_TYPE, "client_credentials"],
               "token_endpoint_auth_method": "client_secret_basic", "scope": "openid api"}),
        Some(SECRET),
    );
    add_user(&store, "u1", false);
    let jwks = format!(
        "{{\"keys\":[{}]}}",
        key.public_key().to_jwk_json("k1", key.alg())
    );
    let uri = format!("{IDP}/jwks");
    if by_uri {
        store
            .jwks_documents
            .borrow_mut()
            .insert(uri.clone(), jwks.clone());
    }
    store.issuers.borrow_mut().insert(
        IDP.to_string(),
        crate::store::TrustedIssuer {
            issuer: IDP.to_string(),
            jwks_json: (!by_uri).then_some(jwks),
            jwks_uri: by_uri.then_some(uri),
            allowed_subjects: vec!["u1-name".into(), "u1".into(), "svc".into()],
            allowed_scopes: vec!["openid".into(), "api".into(), "admin".into()],
            subject_mapping: mapping,
            created_at: 0,
        },
    );
    store
}

fn grant_assertion(key: &SigningKey, patch: Value) -> String {
    let mut c = json!({"iss": IDP, "sub": "u1-name", "aud": format!("{ISSUER}/token"),
                       "exp": NOW + 60, "iat": NOW, "jti": "a1"});
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    jws::sign_compact(key, "k1", Some("JWT"), c.to_string().as_bytes()).unwrap()
}

fn bearer_grant(store: &FakeStore, assertion: &str, extra: &str) -> HttpResponse {
    post(
        store,
        Some(&basic("c1", SECRET)),
        &format!("grant_type={JWT_BEARER}&assertion={assertion}{extra}"),
    )
}

#[test]
fn jwt_bearer_user_and_service_subjects() {
    use crate::store::SubjectMapping;
    let key = SigningKey::generate(Alg::ES256).unwrap();
    for by_uri in [false, true] {
        // A user named by username; openid kept, the issuer's `admin`
        // dropped as the client did not register it.
        let store = jwt_bearer_store(&key, SubjectMapping::User, by_uri);
        let r = bearer_grant(&store, &grant_assertion(&key, json!({})), "");
        assert_eq!(r.status, 200, "{:?}", json_body(&r));
        let body = json_body(&r);
        assert_eq!(body["scope"], "openid api");
        assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
        let token = body["access_token"].as_str().unwrap();
        let claims = verified_claims(&store, token, Alg::ES256, "at+jwt");
        assert_eq!(
            (claims["sub"].as_str(), claims["client_id"].as_str()),
            (Some("u1"), Some("c1"))
        );
        let grant = store.check_access_token(token, NOW).expect("recorded");
        assert_eq!(grant.user_id.as_deref(), Some("u1"));
        assert_eq!(store.fetches.get(), u32::from(by_uri));
        // The same assertion again.
        let again = bearer_grant(&store, &grant_assertion(&key, json!({})), "");
        assert_eq!(error_of(&again), "invalid_grant");
    }
    // A service subject: no user, no openid, `sub` is the asserted one.
    let store = jwt_bearer_store(&key, SubjectMapping::Service, false);
    let r = bearer_grant(
        &store,
        &grant_assertion(&key, json!({"sub": "svc"})),
        "&scope=openid%20api",
    );
    assert_eq!(r.status, 200, "{:?}", json_body(&r));
    let body = json_body(&r);
    assert_eq!(body["scope"], "api");
    let token = body["access_token"].as_str().unwrap();
    let claims = verified_claims(&store, token, Alg::ES256, "at+jwt");
    assert_eq!(claims["sub"], "svc");
    assert_eq!(store.check_access_token(token, NOW).unwrap().user_id, None);
}

#[test]
fn jwt_bearer_error_table() {
    use crate::store::SubjectMapping;
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let other = SigningKey::generate(Alg::ES256).unwrap();
    let ok = |patch: Value| grant_assertion(&key, patch);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            ok(json!({"iss": "https://evil.example"})),
            "",
            "invalid_grant",
        ),
        (grant_assertion(&other, json!({})), "", "invalid_grant"),
        (
            ok(json!({"aud": "https://rp.example"})),
            "",
            "invalid_grant",
        ),
        (ok(json!({"exp": NOW - 61})), "", "invalid_grant"),
        (ok(json!({"nbf": NOW + 120})), "", "invalid_grant"),
        (ok(json!({"iat": NOW - 3600})), "", "invalid_grant"),
        (ok(json!({"sub": null})), "", "invalid_grant"),
        (ok(json!({"jti": null})), "", "invalid_grant"),
        (ok(json!({"exp": null})), "", "invalid_grant"),
        (ok(json!({"sub": "mallory"})), "", "invalid_grant"),
        (ok(json!({"sub": "svc"})), "", "invalid_grant"), // allowed, but no such user
        (ok(json!({})), "&scope=admin", "invalid_scope"),
        ("not-a-jwt".into(), "", "invalid_grant"),
        ("x".repeat(9000), "", "invalid_grant"),
    ];
    for (assertion, extra, want) in cases {
        let store = jwt_bearer_store(&key, SubjectMapping::User, false);
        let r = bearer_grant(&store, &assertion, extra);
        assert_eq!(r.status, 400, "{assertion:.40} {extra}");
        assert_eq!(error_of(&r), want, "{:?}", json_body(&r));
        assert!(store.access_tokens.borrow().is_empty());
    }
    // A disabled user; a missing assertion; a client without the grant;
    // no client authentication; a wrong secret.
    let store = jwt_bearer_store(&key, SubjectMapping::User, false);
    add_user(&store, "u1", true);
    assert_eq!(
        error_of(&bearer_grant(&store, &ok(json!({})), "")),
        "invalid_grant"
    );
    let store = jwt_bearer_store(&key, SubjectMapping::User, false);
    let r = post(
        &store,
        Some(&basic("c1", SECRET)),
        &format!("grant_type={JWT_BEARER}"),
    );
    assert_eq!(error_of(&r), "invalid_request");
    cc_client(&store, "cc", "client_secret_basic");
    let r = post(
        &store,
        Some(&basic("cc", SECRET)),
        &format!("grant_type={JWT_BEARER}&assertion={}", ok(json!({}))),
    );
    assert_eq!(error_of(&r), "unauthorized_client");
    let r = post(
        &store,
        None,
        &format!("grant_type={JWT_BEARER}&assertion={}", ok(json!({}))),
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = post(
        &store,
        Some(&basic("c1", "wrong")),
        &format!("grant_type={JWT_BEARER}&assertion={}", ok(json!({}))),
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    // None of those used up the assertion.
    assert_eq!(bearer_grant(&store, &ok(json!({})), "").status, 200);
    // An issuer whose jwks_uri cannot be fetched (or holds no JWK Set):
    // the assertion cannot be verified, which is not a server error.
    for document in [None, Some("not json")] {
        let store = jwt_bearer_store(&key, SubjectMapping::User, true);
        let uri = format!("{IDP}/jwks");
        match document {
            None => store.jwks_documents.borrow_mut().remove(&uri),
            Some(d) => store.jwks_documents.borrow_mut().insert(uri, d.into()),
        };
        let r = bearer_grant(&store, &ok(json!({})), "");
        assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
        assert!(store.used.borrow().is_empty(), "the jti stays unused");
    }
}

#[test]
fn jwt_bearer_token_is_dpop_bound_with_a_proof() {
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let store = jwt_bearer_store(&key, crate::store::SubjectMapping::Service, false);
    add_client(
        &store,
        "c2",
        json!({"grant_types": [JWT_BEARER_GRANT_TYPE],
               "token_endpoint_auth_method": "client_secret_post"}),
        Some(SECRET),
    );
    let dpop_key = SigningKey::generate(Alg::ES256).unwrap();
    let assertion = grant_assertion(&key, json!({"sub": "svc"}));
    let body = format!(
        "grant_type={JWT_BEARER}&assertion={assertion}&client_id=c2&client_secret={SECRET}"
    );
    let r = post_dpop(&store, Some(&dpop_proof(&dpop_key, json!({}))), &body, env);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = json_body(&r);
    assert_eq!(b["token_type"], "DPoP");
    // No registered scope: everything the service issuer may grant.
    assert_eq!(b["scope"], "api admin");
    let at = b["access_token"].as_str().unwrap();
    let claims = verified_claims(&store, at, Alg::ES256, "at+jwt");
    assert_eq!(claims["cnf"]["jkt"], dpop_key.public_key().thumbprint());
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some("svc"), Some("c2"))
    );
}
