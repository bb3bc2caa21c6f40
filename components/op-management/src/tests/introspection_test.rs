use authrim_jose::{b64, jws, test_keys, Alg};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::env::Registration;
use crate::testing::*;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const RS_SECRET: &str = "resource-server-secret-0123456789abcdefghij";
const JWT_SECRET: &str = "a-client-secret-jwt-secret-of-at-least-32-bytes";

/// Clients: `rs` (a resource server, client_secret_basic), `c1` (the
/// client the tokens belong to, client_secret_post), `pub` (public),
/// `hs` (client_secret_jwt), `pk` (private_key_jwt with `jwks`).
/// Tokens: access token `at` in grant g1 (session sid1), refresh token
/// `rt1` in offline grant g2, a client_credentials access token `cc` in g3.
struct World {
    store: FakeStore,
    at: String,
    cc: String,
}

fn at_claims(sub: &str, client: &str, scope: &str, jti: &str) -> Value {
    json!({
        "iss": ISSUER, "exp": NOW + 600, "aud": ISSUER, "sub": sub,
        "client_id": client, "iat": NOW - 10, "jti": jti, "scope": scope
    })
}

fn world() -> World {
    let store = FakeStore::new();
    let code = r#"{"redirect_uris":["https://rp.example/cb"],"grant_types":["authorization_code","refresh_token"]"#;
    store.add_client(
        "rs",
        r#"{"grant_types":["client_credentials"]}"#,
        Some(RS_SECRET),
    );
    store.add_client(
        "c1",
        &format!(r#"{code},"token_endpoint_auth_method":"client_secret_post"}}"#),
        Some("c1-secret"),
    );
    store.add_client(
        "pub",
        &format!(r#"{code},"token_endpoint_auth_method":"none"}}"#),
        None,
    );
    store.add_client(
        "hs",
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_jwt"}"#,
        Some(JWT_SECRET),
    );
    let key = test_keys::rsa();
    let jwk = key.public_key().to_jwk_json(&key.kid(), Alg::RS256);
    store.add_client(
        "pk",
        &format!(
            r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{jwk}]}}}}"#
        ),
        None,
    );
    store.sessions.borrow_mut().insert("sid1".into());
    store.add_grant("g1", "c1", Some("u1"), Some("sid1"));
    let at = access_token_jwt(&at_claims("u1", "c1", "openid profile", "j1"));
    store.add_access(&at, "g1", NOW + 600);
    store.add_grant("g2", "c1", Some("u1"), None);
    store.add_refresh("rt1", "g2");
    store.add_grant("g3", "rs", None, None);
    let cc = access_token_jwt(&at_claims("rs", "rs", "", "j3"));
    store.add_access(&cc, "g3", NOW + 600);
    World { store, at, cc }
}

fn introspect(store: &FakeStore, auth: Option<&str>, body: &str) -> authrim_protocol::HttpResponse {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    call(
        store,
        Registration::Open,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
}

fn as_rs(store: &FakeStore, body: &str) -> Value {
    let resp = introspect(store, Some(&basic("rs", RS_SECRET)), body);
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    json(&resp)
}

#[test]
fn active_access_token() {
    let w = world();
    let body = as_rs(&w.store, &format!("token={}", w.at));
    assert_eq!(
        body,
        json!({
            "active": true, "scope": "openid profile", "client_id": "c1", "sub": "u1",
            "exp": NOW + 600, "iat": NOW - 10, "aud": ISSUER, "jti": "j1",
            "token_type": "Bearer", "iss": ISSUER
        })
    );
    let cc = as_rs(
        &w.store,
        &format!("token={}&token_type_hint=access_token", w.cc),
    );
    assert_eq!(cc["sub"], "rs");
    assert_eq!(cc["client_id"], "rs");
    assert!(cc.get("scope").is_none(), "empty scope left out");
}

#[test]
fn active_refresh_token() {
    let w = world();
    let body = as_rs(&w.store, "token=rt1&token_type_hint=refresh_token");
    assert_eq!(
        body,
        json!({
            "active": true, "scope": "openid offline_access", "client_id": "c1", "sub": "u1",
            "exp": NOW + 86_400, "iat": NOW - 100, "iss": ISSUER
        })
    );
    // A wrong or unknown hint only changes the order of the lookups.
    for hint in ["access_token", "id_token", "bogus"] {
        let body = as_rs(&w.store, &format!("token=rt1&token_type_hint={hint}"));
        assert_eq!(body["active"], true, "{hint}");
    }
    let body = as_rs(
        &w.store,
        &format!("token={}&token_type_hint=refresh_token", w.at),
    );
    assert_eq!(body["active"], true);
}

#[test]
fn anything_not_live_is_just_inactive() {
    let w = world();
    let inactive = json!({"active": false});
    // Unknown, garbage, oversized.
    for token in ["unknown", "a.b.c", &"x".repeat(9000)] {
        assert_eq!(as_rs(&w.store, &format!("token={token}")), inactive);
    }
    // Ended session: the access token of g1 dies with it.
    w.store.sessions.borrow_mut().clear();
    assert_eq!(as_rs(&w.store, &format!("token={}", w.at)), inactive);
    // Revoked family: the refresh token and its access tokens.
    w.store
        .grants
        .borrow_mut()
        .get_mut("g2")
        .unwrap()
        .revoked_at = Some(NOW - 1);
    assert_eq!(as_rs(&w.store, "token=rt1"), inactive);
    // Expired access token.
    let expired = access_token_jwt(&at_claims("rs", "rs", "", "j4"));
    w.store.add_access(&expired, "g3", NOW);
    assert_eq!(as_rs(&w.store, &format!("token={expired}")), inactive);
    // Expired grant.
    w.store
        .grants
        .borrow_mut()
        .get_mut("g3")
        .unwrap()
        .expires_at = NOW;
    assert_eq!(as_rs(&w.store, &format!("token={}", w.cc)), inactive);
}

/// A refresh token of a grant tied to a session is inactive once that
/// session ends.
#[test]
fn refresh_token_of_an_ended_session() {
    let w = world();
    w.store.add_grant("g4", "c1", Some("u1"), Some("sid-gone"));
    w.store.add_refresh("rt4", "g4");
    assert_eq!(as_rs(&w.store, "token=rt4"), json!({"active": false}));
    w.store.sessions.borrow_mut().insert("sid-gone".into());
    assert_eq!(as_rs(&w.store, "token=rt4")["active"], true);
}

/// Unauthenticated or public callers learn nothing: 401 before any lookup.
#[test]
fn only_authenticated_confidential_clients() {
    let w = world();
    let token = format!("token={}", w.at);
    let cases: Vec<(Option<String>, String)> = vec![
        (None, token.clone()),
        (None, format!("{token}&client_id=pub")),
        (None, format!("{token}&client_id=rs")),
        (None, format!("{token}&client_id=c1&client_secret=wrong")),
        (None, format!("{token}&client_id=nobody&client_secret=x")),
        (Some(basic("rs", "wrong")), token.clone()),
        (Some(basic("nobody", "x")), token.clone()),
        (Some(format!("Bearer {}", w.at)), token.clone()),
    ];
    for (auth, body) in cases {
        let resp = introspect(&w.store, auth.as_deref(), &body);
        assert_eq!(
            error_of(&resp),
            (401, "invalid_client".into()),
            "{auth:?} {body}"
        );
        assert_eq!(resp.header_value("cache-control"), Some("no-store"));
        let basic_used = auth.as_deref().is_some_and(|a| a.starts_with("Basic"));
        assert_eq!(
            resp.header_value("www-authenticate"),
            basic_used.then_some("Basic realm=\"authrim\""),
            "{auth:?}"
        );
    }
    assert_eq!(w.store.lookups.get(), 0, "no token was looked up");
}

/// Any confidential client may introspect any token (resource servers).
#[test]
fn the_tokens_own_client_and_others_may_introspect() {
    let w = world();
    let resp = introspect(
        &w.store,
        None,
        &format!("token={}&client_id=c1&client_secret=c1-secret", w.at),
    );
    assert_eq!(json(&resp)["active"], true);
    let resp = introspect(&w.store, Some(&basic("rs", RS_SECRET)), "token=rt1");
    assert_eq!(json(&resp)["client_id"], "c1");
}

fn hs256_assertion(client: &str, aud: &str, jti: &str) -> String {
    let header = b64::encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        json!({"iss": client, "sub": client, "aud": aud, "jti": jti, "exp": NOW + 60, "iat": NOW});
    let input = format!("{header}.{}", b64::encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64::encode(mac.finalize().into_bytes()))
}

const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

#[test]
fn jwt_client_authentication() {
    let w = world();
    for aud in [
        ISSUER.to_string(),
        format!("{ISSUER}/introspect"),
        format!("{ISSUER}/token"),
    ] {
        let jti = format!("jti-{aud}");
        let body = format!(
            "token=rt1&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
            hs256_assertion("hs", &aud, &jti)
        );
        let resp = introspect(&w.store, None, &body);
        assert_eq!(json(&resp)["active"], true, "{aud}");
        let replay = introspect(&w.store, None, &body);
        assert_eq!(
            error_of(&replay),
            (401, "invalid_client".into()),
            "replayed jti"
        );
    }
    let wrong_aud = format!(
        "token=rt1&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
        hs256_assertion("hs", "https://elsewhere.example", "j-x")
    );
    assert_eq!(introspect(&w.store, None, &wrong_aud).status, 401);

    let key = test_keys::rsa();
    let claims = json!({"iss": "pk", "sub": "pk", "aud": ISSUER, "jti": "pk-1", "exp": NOW + 60, "iat": NOW});
    let assertion =
        jws::sign_compact(&key, &key.kid(), None, claims.to_string().as_bytes()).unwrap();
    let body =
        format!("token=rt1&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}");
    assert_eq!(json(&introspect(&w.store, None, &body))["active"], true);
}

#[test]
fn malformed_requests() {
    let w = world();
    let auth = basic("rs", RS_SECRET);
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, u16, &'a str);
    let table: [Case; 6] = [
        ("POST", &[FORM], "", 400, "invalid_request"),
        (
            "POST",
            &[FORM],
            "token_type_hint=access_token",
            400,
            "invalid_request",
        ),
        ("POST", &[FORM], "token=a&token=b", 400, "invalid_request"),
        ("POST", &[FORM], "token=%zz", 400, "invalid_request"),
        (
            "POST",
            &[("content-type", "application/json")],
            r#"{"token":"a"}"#,
            400,
            "invalid_request",
        ),
        ("GET", &[], "", 405, "method_not_allowed"),
    ];
    for (method, headers, body, status, code) in table {
        let mut headers = headers.to_vec();
        headers.push(("authorization", &auth));
        let resp = call(
            &w.store,
            Registration::Open,
            method,
            "/introspect",
            &headers,
            body.as_bytes(),
        );
        assert_eq!(error_of(&resp), (status, code.into()), "{method} {body}");
    }
}
