//! The UserInfo endpoint against an in-memory store.

use std::collections::HashMap;

use authrim_jose::b64;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, OAuthError};
use serde_json::{json, Value};

use crate::endpoint::Env;
use crate::endpoint::{respond, Request};
use crate::store::{BoundGrant, Client, Grant, Store, StoreError, User};

/// The endpoint's futures only wait on `fetch_jwks`, which is ready at once
/// here.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("nothing here waits"),
    }
}

const NOW: i64 = 1_800_000_000;
const USERINFO: &str = "https://op.example/userinfo";

fn env() -> Env {
    Env {
        now: NOW,
        uri: USERINFO.into(),
        dpop_require_nonce: false,
    }
}

#[derive(Default)]
struct FakeStore {
    /// Live tokens (by hash) and their grants.
    tokens: HashMap<String, Grant>,
    users: HashMap<String, User>,
    /// Client metadata JSON by client_id; absent clients are plain `{}`.
    clients: HashMap<String, String>,
    /// DPoP-bound tokens (by hash) and their key thumbprints.
    jkts: HashMap<String, String>,
    used: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Store for FakeStore {
    fn check_access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<BoundGrant>, StoreError> {
        assert_eq!(now, NOW);
        Ok(self
            .tokens
            .get(token_hash)
            .cloned()
            .map(|grant| BoundGrant {
                grant,
                jkt: self.jkts.get(token_hash).cloned(),
            }))
    }

    fn mark_used(&self, _: &str, key: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Ok(self.used.borrow_mut().insert(key.to_string()))
    }

    fn dpop_nonce(&self, now: i64) -> Result<String, StoreError> {
        Ok(format!("nonce-{now}"))
    }

    fn check_dpop_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError> {
        Ok(nonce == format!("nonce-{now}"))
    }

    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.get(id).cloned())
    }

    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(Some(Client {
            client_id: client_id.into(),
            secret_hash: None,
            metadata_json: self
                .clients
                .get(client_id)
                .cloned()
                .unwrap_or_else(|| "{}".into()),
            registration_token_hash: None,
            created_at: 0,
            updated_at: 0,
        }))
    }

    fn sign_jwt(
        &self,
        alg: &str,
        typ: Option<&str>,
        claims_json: &str,
    ) -> Result<String, StoreError> {
        assert_eq!(typ, None);
        Ok(format!(
            "{}.{}.sig",
            b64::encode(format!(r#"{{"alg":"{alg}"}}"#)),
            b64::encode(claims_json)
        ))
    }

    fn issuer(&self) -> Result<String, OAuthError> {
        Ok("https://op.example".into())
    }

    async fn fetch_jwks(&self, _uri: &str) -> Result<String, String> {
        Err("no network in unit tests".into())
    }
}

/// A JWT-shaped token with this `scope` claim (the signature is not
/// looked at: op-store recognises the token by its hash).
fn token(name: &str, scope: Option<&str>) -> String {
    let mut claims = json!({"jti": name, "sub": "u1"});
    if let Some(s) = scope {
        claims["scope"] = json!(s);
    }
    format!(
        "{}.{}.{}",
        b64::encode(r#"{"alg":"ES256","typ":"at+jwt"}"#),
        b64::encode(claims.to_string()),
        b64::encode(name)
    )
}

fn grant(user: Option<&str>, scope: &str, grant_json: Value) -> Grant {
    Grant {
        id: "g1".into(),
        client_id: "rp".into(),
        user_id: user.map(str::to_string),
        sid: None,
        scope: scope.into(),
        grant_json: grant_json.to_string(),
        created_at: NOW - 10,
        expires_at: NOW + 3600,
        revoked_at: None,
    }
}

fn user(id: &str, disabled: bool) -> User {
    User {
        id: id.into(),
        username: "jane".into(),
        password_hash: None,
        claims_json: json!({
            "sub": "spoofed", "name": "Jane Doe", "family_name#ja-Kana-JP": "ドウ",
            "email": "jane@example.test", "email_verified": true,
            "phone_number": "+1 555 0100", "employee_id": "E-1",
        })
        .to_string(),
        disabled,
        created_at: 0,
        updated_at: 0,
    }
}

struct Fixture {
    store: FakeStore,
    /// name -> token
    tokens: HashMap<&'static str, String>,
}

fn fixture() -> Fixture {
    let mut store = FakeStore::default();
    let mut tokens = HashMap::new();
    let mut add = |name: &'static str, token_scope: Option<&str>, g: Grant| {
        let t = token(name, token_scope);
        store.tokens.insert(hash_token(&t), g);
        tokens.insert(name, t);
    };
    add(
        "profile",
        Some("openid profile"),
        grant(Some("u1"), "openid profile", json!({})),
    );
    add(
        "claims",
        Some("openid"),
        grant(
            Some("u1"),
            "openid",
            json!({"auth_time": NOW, "claims": {"userinfo": {"email": {"essential": true}},
                                               "id_token": {"phone_number": null}}}),
        ),
    );
    add(
        "claims-string",
        Some("openid"),
        grant(
            Some("u1"),
            "openid",
            json!({"claims": "{\"userinfo\":{\"email_verified\":null}}"}),
        ),
    );
    // A refreshed token narrowed to `openid` in an `openid profile email` grant.
    add(
        "narrowed",
        Some("openid"),
        grant(Some("u1"), "openid profile email", json!({})),
    );
    add(
        "no-openid",
        Some("profile"),
        grant(Some("u1"), "profile", json!({})),
    );
    add("no-scope", None, grant(Some("u1"), "", json!({})));
    add("client", Some("openid api"), grant(None, "api", json!({})));
    add(
        "disabled",
        Some("openid profile"),
        grant(Some("u2"), "openid profile", json!({})),
    );
    add(
        "gone",
        Some("openid profile"),
        grant(Some("u3"), "openid profile", json!({})),
    );
    store.users.insert("u1".into(), user("u1", false));
    store.users.insert("u2".into(), user("u2", true));
    Fixture { store, tokens }
}

fn call(
    f: &Fixture,
    method: &str,
    auth: Option<&str>,
    query: &str,
    content_type: Option<&str>,
    body: &str,
) -> HttpResponse {
    let req = Request {
        method,
        authorization: auth,
        content_type,
        query,
        dpop: None,
        body: body.as_bytes(),
    };
    let r = block_on(respond(&req, &f.store, || Ok(env())));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    assert_eq!(r.header_value("access-control-allow-origin"), Some("*"));
    r
}

fn get(f: &Fixture, name: &str) -> HttpResponse {
    let auth = format!("Bearer {}", f.tokens[name]);
    call(f, "GET", Some(&auth), "", None, "")
}

fn body(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// (method, authorization, query, content type, body, status, error, challenge)
type Case<'a> = (
    &'a str,
    Option<String>,
    String,
    Option<&'a str>,
    String,
    u16,
    &'a str,
    &'a str,
);

#[test]
fn claims_by_scope() {
    let f = fixture();
    let r = get(&f, "profile");
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    assert_eq!(
        body(&r),
        json!({"sub": "u1", "name": "Jane Doe", "family_name#ja-Kana-JP": "ドウ"})
    );
    // POST with the token in the form body.
    let form = format!("access_token={}", f.tokens["profile"]);
    let r = call(&f, "POST", None, "", FORM, &form);
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["name"], "Jane Doe");
    // POST with the header and an unrelated body.
    let auth = format!("Bearer {}", f.tokens["profile"]);
    let r = call(&f, "POST", Some(&auth), "", FORM, "x=1");
    assert_eq!(r.status, 200);
}

#[test]
fn claims_by_claims_request_and_narrowed_scope() {
    let f = fixture();
    assert_eq!(
        body(&get(&f, "claims")),
        json!({"sub": "u1", "email": "jane@example.test"})
    );
    assert_eq!(
        body(&get(&f, "claims-string")),
        json!({"sub": "u1", "email_verified": true})
    );
    // The token's scope decides, not the grant's.
    assert_eq!(body(&get(&f, "narrowed")), json!({"sub": "u1"}));
}

#[test]
fn error_table() {
    let f = fixture();
    let bearer = |name: &str| format!("Bearer {}", f.tokens[name]);
    let unknown = format!("Bearer {}", token("unknown", Some("openid")));
    let both_body = format!("access_token={}", f.tokens["profile"]);
    let query = format!("access_token={}", f.tokens["profile"]);
    // (method, auth, query, content type, body, status, error, challenge)
    let table: Vec<Case> = vec![
        ("GET", None, String::new(), None, String::new(), 401, "", "Bearer realm=\"authrim\", DPoP algs=\"ES256 RS256\""),
        ("POST", None, String::new(), FORM, String::new(), 401, "", "Bearer realm=\"authrim\", DPoP algs=\"ES256 RS256\""),
        ("GET", Some("Basic YTpi".into()), String::new(), None, String::new(), 401, "", "Bearer realm=\"authrim\", DPoP algs=\"ES256 RS256\""),
        ("GET", Some(unknown), String::new(), None, String::new(), 401, "invalid_token",
         "Bearer realm=\"authrim\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\""),
        ("GET", Some(bearer("disabled")), String::new(), None, String::new(), 401, "invalid_token", "error=\"invalid_token\""),
        ("GET", Some(bearer("gone")), String::new(), None, String::new(), 401, "invalid_token", "error=\"invalid_token\""),
        ("GET", None, query.clone(), None, String::new(), 400, "invalid_request", "error=\"invalid_request\""),
        ("POST", None, query, FORM, both_body.clone(), 400, "invalid_request", "error=\"invalid_request\""),
        ("POST", Some(bearer("profile")), String::new(), FORM, both_body, 400, "invalid_request", "error=\"invalid_request\""),
        ("POST", None, String::new(), FORM, "access_token=a&access_token=b".into(), 400, "invalid_request", "error=\"invalid_request\""),
        ("POST", None, String::new(), FORM, "a=%zz".into(), 400, "invalid_request", "error=\"invalid_request\""),
        ("GET", Some("Bearer".into()), String::new(), None, String::new(), 400, "invalid_request", "error=\"invalid_request\""),
        ("GET", Some("Bearer a,b".into()), String::new(), None, String::new(), 400, "invalid_request", "error=\"invalid_request\""),
        ("GET", Some(bearer("no-openid")), String::new(), None, String::new(), 403, "insufficient_scope", "error=\"insufficient_scope\""),
        ("GET", Some(bearer("no-scope")), String::new(), None, String::new(), 403, "insufficient_scope", "error=\"insufficient_scope\""),
        ("GET", Some(bearer("client")), String::new(), None, String::new(), 403, "insufficient_scope", "error=\"insufficient_scope\""),
    ];
    for (method, auth, query, ct, form, status, error, challenge) in &table {
        let r = call(&f, method, auth.as_deref(), query, *ct, form);
        let what = format!("{method} {auth:.30?} {query:.30} {form:.30}");
        assert_eq!(r.status, *status, "{what}");
        let www = r.header_value("www-authenticate").unwrap_or("");
        assert!(www.contains(challenge), "{what}: {www}");
        if error.is_empty() {
            assert!(r.body.is_empty(), "{what}");
        } else {
            assert_eq!(body(&r)["error"], *error, "{what}");
        }
    }
    for method in ["PUT", "DELETE", "PATCH", "HEAD"] {
        let r = call(&f, method, Some(&bearer("profile")), "", None, "");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header_value("allow"), Some("GET, POST, OPTIONS"));
    }
    let r = call(&f, "OPTIONS", None, "", None, "");
    assert_eq!(r.status, 204);
    assert!(r
        .header_value("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
}

#[test]
fn store_failures_are_server_errors() {
    struct Broken;
    impl Store for Broken {
        fn check_access_token(&self, _: &str, _: i64) -> Result<Option<BoundGrant>, StoreError> {
            Err(StoreError::Unavailable("disk I/O".into()))
        }
        fn user(&self, _: &str) -> Result<Option<User>, StoreError> {
            unreachable!()
        }
        fn client(&self, _: &str) -> Result<Option<Client>, StoreError> {
            unreachable!()
        }
        fn sign_jwt(&self, _: &str, _: Option<&str>, _: &str) -> Result<String, StoreError> {
            unreachable!()
        }
        fn issuer(&self) -> Result<String, OAuthError> {
            unreachable!()
        }
        async fn fetch_jwks(&self, _: &str) -> Result<String, String> {
            unreachable!()
        }
        fn mark_used(&self, _: &str, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
            unreachable!()
        }
        fn dpop_nonce(&self, _: i64) -> Result<String, StoreError> {
            unreachable!()
        }
        fn check_dpop_nonce(&self, _: &str, _: i64) -> Result<bool, StoreError> {
            unreachable!()
        }
    }
    let req = Request {
        method: "GET",
        authorization: Some("Bearer abc"),
        content_type: None,
        query: "",
        dpop: None,
        body: b"",
    };
    let r = block_on(respond(&req, &Broken, || Ok(env())));
    assert_eq!(r.status, 500);
    assert!(!String::from_utf8_lossy(&r.body).contains("disk"));
    let r = block_on(respond(&req, &Broken, || Err(OAuthError::server_error())));
    assert_eq!(r.status, 500);
}

/// OIDC Core §5.3.2: a client that registered `userinfo_signed_response_alg`
/// gets an `application/jwt` signed by the OP with `iss` and `aud`; one that
/// registered encryption gets a JWE (nested when also signed); one whose
/// keys hold nothing fitting gets a 400, never a 5xx.
#[test]
fn signed_and_encrypted_responses_follow_the_registration() {
    let mut f = fixture();
    let ec = r#"{"kty":"EC","crv":"P-256","use":"enc","kid":"e1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let table = [
        (json!({"userinfo_signed_response_alg": "ES256"}), 3, None),
        (
            json!({"userinfo_encrypted_response_alg": "ECDH-ES", "jwks": {"keys": [serde_json::from_str::<Value>(ec).unwrap()]}}),
            5,
            None,
        ),
        (
            json!({"userinfo_signed_response_alg": "RS256", "userinfo_encrypted_response_alg": "ECDH-ES+A128KW", "userinfo_encrypted_response_enc": "A256GCM", "jwks": {"keys": [serde_json::from_str::<Value>(ec).unwrap()]}}),
            5,
            Some("JWT"),
        ),
    ];
    for (metadata, parts, cty) in table {
        f.store.clients.insert("rp".into(), metadata.to_string());
        let r = get(&f, "profile");
        assert_eq!(r.status, 200, "{metadata}");
        assert_eq!(r.header_value("content-type"), Some("application/jwt"));
        let text = String::from_utf8(r.body.clone()).unwrap();
        let segments: Vec<&str> = text.split('.').collect();
        assert_eq!(segments.len(), parts, "{metadata}");
        let header: Value = serde_json::from_slice(&b64::decode(segments[0]).unwrap()).unwrap();
        if parts == 3 {
            assert_eq!(header["alg"], "ES256");
            let claims: Value = serde_json::from_slice(&b64::decode(segments[1]).unwrap()).unwrap();
            assert_eq!(claims["iss"], "https://op.example");
            assert_eq!(claims["aud"], "rp");
            assert_eq!(claims["sub"], "u1");
            assert_eq!(claims["name"], "Jane Doe");
        } else {
            assert_eq!(header["kid"], "e1");
            assert_eq!(
                header["enc"],
                metadata
                    .get("userinfo_encrypted_response_enc")
                    .cloned()
                    .unwrap_or(json!("A128CBC-HS256"))
            );
            assert_eq!(header["cty"].as_str(), cty);
        }
    }
    // Encryption registered with a jwks_uri that cannot be fetched.
    f.store.clients.insert(
        "rp".into(),
        json!({"userinfo_encrypted_response_alg": "RSA-OAEP", "jwks_uri": "https://rp.example/jwks"}).to_string(),
    );
    let r = get(&f, "profile");
    assert_eq!(r.status, 400);
    assert_eq!(body(&r)["error"], "invalid_request");
    // Plain clients still get JSON.
    f.store.clients.insert("rp".into(), "{}".into());
    let r = get(&f, "profile");
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["sub"], "u1");
}
