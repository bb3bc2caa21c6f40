//! JWT-Secured Authorization Requests (RFC 9101) through the runner:
//! request objects by value at `/authorize` and at the PAR endpoint, the
//! code flow completed with every parameter inside the object (outer ones
//! ignored), `require_signed_request_object`, the registered
//! `request_object_signing_alg`, a `jti` replayed in parallel accepted at
//! most once, and the negative tables (never a 5xx, never a redirect
//! before the object is verified). Objects are signed with `jsonwebtoken`
//! and, in the interop test, by Python Authlib (code nobody here wrote).

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::dpop::Key;
use crate::harness::{repo_root, App, DataDir, Response, ISSUER};
use crate::token::{
    add_client, add_user, basic, error_of, form, now, param, query_params, token, Browser,
    CHALLENGE, EC_X, EC_Y, FORM, REDIRECT, RSA_KEY_PEM, RSA_N, SECRET, VERIFIER,
};

/// A registered (never fetched: the tests cannot serve https) request_uri.
const REQUEST_URI: &str = "https://rp.example.test/requests/1.jwt";

fn rsa_jwk() -> Value {
    json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "rsa-1", "use": "sig", "alg": "RS256"})
}

/// `jar-rs`: RS256 and ES256 keys, request objects optional.
/// `jar-strict`: an ES256 key, `request_object_signing_alg` ES256 and
/// `require_signed_request_object`.
fn jar_app() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start(&data);
    let ec = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "ec-1",
                    "use": "sig", "alg": "ES256"});
    add_client(
        &data,
        "jar-rs",
        Some(SECRET),
        &json!({"redirect_uris": [REDIRECT], "jwks": {"keys": [rsa_jwk(), ec]},
                "request_uris": [REQUEST_URI]}),
    );
    add_client(
        &data,
        "jar-strict",
        Some(SECRET),
        &json!({"redirect_uris": [REDIRECT], "jwks": {"keys": [ec, rsa_jwk()]},
                "request_object_signing_alg": "ES256",
                "require_signed_request_object": true}),
    );
    add_user(&data);
    (data, app)
}

fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", now(), N.fetch_add(1, Ordering::Relaxed))
}

/// The claims of a good request object of `client`.
fn claims(client: &str) -> Value {
    json!({
        "iss": client, "aud": ISSUER, "client_id": client,
        "iat": now(), "nbf": now(), "exp": now() + 300, "jti": unique(),
        "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid profile",
        "state": "inner-state", "nonce": "inner-nonce", "prompt": "consent",
        "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })
}

fn sign(key: &Key, kid: &str, claims: &Value) -> String {
    let alg = if kid.starts_with("ec") {
        "ES256"
    } else {
        "RS256"
    };
    key.sign(
        json!({"alg": alg, "kid": kid, "typ": "oauth-authz-req+jwt"}),
        claims.clone(),
    )
}

fn rs(claims: &Value) -> String {
    sign(&Key::rsa(), "rsa-1", claims)
}

fn authorize(app: &App, pairs: &[(&str, &str)]) -> Response {
    let r = app.get(&format!("/authorize?{}", form(pairs)));
    assert!(r.status < 500, "{} {}", r.status, r.text());
    r
}

fn par(app: &App, client: &str, pairs: &[(&str, &str)]) -> Response {
    let auth = basic(client, SECRET);
    let r = app.request(
        "POST",
        "/as/par",
        &[("authorization", auth.as_str()), FORM],
        form(pairs).as_bytes(),
    );
    assert!(r.status < 500, "{} {}", r.status, r.text());
    r
}

/// The error page's code: shown to the user, not sent to any redirect URI.
fn shown_error(r: &Response) -> String {
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.header("location").is_none());
    let html = r.text();
    let start = html.find("id=\"error-code\">").expect("error page") + 16;
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

/// Redeems a code of `client` and returns the token response.
fn redeem(app: &App, client: &str, code: &str) -> Value {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let r = token(app, Some(&basic(client, SECRET)), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn id_token_claims(body: &Value) -> Value {
    use base64::Engine;
    let jwt = body["id_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_request_object_by_value_is_the_whole_request() {
    let (_data, app) = jar_app();
    let mut browser = Browser::default();
    // Outer parameters other than client_id and request are ignored
    // (RFC 9101 §5): this state, scope and redirect_uri play no part.
    let jwt = rs(&claims("jar-rs"));
    let at_client = browser.authorize(
        &app,
        &[
            ("client_id", "jar-rs"),
            ("request", &jwt),
            ("state", "outer-state"),
            ("scope", "openid email"),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    );
    assert_eq!(param(&at_client, "state"), Some("inner-state"));
    assert_eq!(param(&at_client, "iss"), Some(ISSUER));
    let body = redeem(&app, "jar-rs", param(&at_client, "code").unwrap());
    assert_eq!(body["scope"], "openid profile");
    let id = id_token_claims(&body);
    assert_eq!(id["nonce"], "inner-nonce");
    assert_eq!(id["aud"], "jar-rs");

    // The ES256 key of the same client works too.
    let mut c = claims("jar-rs");
    c["state"] = json!("es-state");
    let at_client = browser.authorize(
        &app,
        &[
            ("client_id", "jar-rs"),
            ("request", &sign(&Key::ec(), "ec-1", &c)),
        ],
    );
    assert_eq!(param(&at_client, "state"), Some("es-state"));

    // POST /authorize with the object in the form body is the same request.
    let jwt = rs(&claims("jar-rs"));
    let r = app.request(
        "POST",
        "/authorize",
        &[FORM],
        form(&[("client_id", "jar-rs"), ("request", &jwt)]).as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with("login?"));
}

#[test]
fn a_request_object_at_the_par_endpoint() {
    let (_data, app) = jar_app();
    let jwt = rs(&claims("jar-rs"));
    let r = par(&app, "jar-rs", &[("request", &jwt)]);
    assert_eq!(r.status, 201, "{}", r.text());
    let uri = r.json()["request_uri"].as_str().unwrap().to_string();
    let mut browser = Browser::default();
    let at_client = browser.authorize(&app, &[("client_id", "jar-rs"), ("request_uri", &uri)]);
    assert_eq!(param(&at_client, "state"), Some("inner-state"));
    let body = redeem(&app, "jar-rs", param(&at_client, "code").unwrap());
    assert_eq!(id_token_claims(&body)["nonce"], "inner-nonce");

    // Another client's object, pushed by jar-strict: client_id mismatch.
    let r = par(&app, "jar-strict", &[("request", &rs(&claims("jar-rs")))]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "invalid_request_object")
    );
    // The same object twice: its jti is single use.
    let r = par(&app, "jar-rs", &[("request", &jwt)]);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "invalid_request_object")
    );
    // A request_uri cannot be pushed.
    let r = par(
        &app,
        "jar-rs",
        &[("client_id", "jar-rs"), ("request_uri", REQUEST_URI)],
    );
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));
}

#[test]
fn require_signed_request_object_and_the_registered_alg() {
    let (_data, app) = jar_app();
    let plain = [
        ("response_type", "code"),
        ("client_id", "jar-strict"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st-plain"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    // Without a request object: invalid_request at the verified redirect URI.
    let r = authorize(&app, &plain);
    assert_eq!(r.status, 302, "{}", r.text());
    let at_client = query_params(r.header("location").unwrap());
    assert!(r.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(param(&at_client, "error"), Some("invalid_request"));
    assert_eq!(param(&at_client, "state"), Some("st-plain"));
    // Nor pushed without one.
    let r = par(&app, "jar-strict", &plain);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));
    // RS256 is not the registered alg, even with a registered RSA key.
    let r = authorize(
        &app,
        &[
            ("client_id", "jar-strict"),
            ("request", &rs(&claims("jar-strict"))),
        ],
    );
    assert_eq!(shown_error(&r), "invalid_request_object");
    // ES256, by value and pushed.
    let mut browser = Browser::default();
    let jwt = sign(&Key::ec(), "ec-1", &claims("jar-strict"));
    let at_client = browser.authorize(&app, &[("client_id", "jar-strict"), ("request", &jwt)]);
    assert!(param(&at_client, "code").is_some(), "{at_client:?}");
    let jwt = sign(&Key::ec(), "ec-1", &claims("jar-strict"));
    let r = par(&app, "jar-strict", &[("request", &jwt)]);
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn a_request_object_jti_replayed_in_parallel_is_accepted_once() {
    let (_data, app) = jar_app();
    let jwt = rs(&claims("jar-rs"));
    let path = format!(
        "/authorize?{}",
        form(&[("client_id", "jar-rs"), ("request", &jwt)])
    );
    let statuses: Vec<u16> = std::thread::scope(|s| {
        (0..8)
            .map(|_| s.spawn(|| app.get(&path).status))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    // Accepted: 303 to the login page; replays: the error page.
    assert_eq!(
        statuses.iter().filter(|&&s| s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        7,
        "{statuses:?}"
    );
}

#[test]
fn negative_table_never_redirects_nor_fails() {
    let (_data, app) = jar_app();
    let with = |name: &str, value: Value| {
        let mut c = claims("jar-rs");
        c[name] = value;
        rs(&c)
    };
    let without = |name: &str| {
        let mut c = claims("jar-rs");
        c.as_object_mut().unwrap().remove(name);
        rs(&c)
    };
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let good = rs(&claims("jar-rs"));
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&{
            let mut c = claims("jar-rs");
            c["scope"] = json!("openid email");
            c
        }),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&claims("jar-rs"))
    );
    let hs256 = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "HS256"})),
        b64(&claims("jar-rs")),
        "c2lnbmF0dXJl"
    );
    let replayed = rs(&claims("jar-rs"));
    let first = authorize(&app, &[("client_id", "jar-rs"), ("request", &replayed)]);
    assert_eq!(first.status, 303, "{}", first.text());

    let table: Vec<(&str, String, &str)> = vec![
        ("bad signature", tampered, "invalid_request_object"),
        (
            "signed by an unregistered key",
            sign(&Key::ec(), "ec-2", &claims("jar-rs")),
            "invalid_request_object",
        ),
        (
            "wrong iss",
            with("iss", json!("jar-strict")),
            "invalid_request_object",
        ),
        (
            "wrong aud",
            with("aud", json!("https://other.example")),
            "invalid_request_object",
        ),
        ("no aud", without("aud"), "invalid_request_object"),
        (
            "wrong client_id inside",
            with("client_id", json!("jar-strict")),
            "invalid_request_object",
        ),
        (
            "expired",
            with("exp", json!(now() - 3600)),
            "invalid_request_object",
        ),
        ("no exp", without("exp"), "invalid_request_object"),
        (
            "exp a day ahead",
            with("exp", json!(now() + 86400)),
            "invalid_request_object",
        ),
        (
            "not yet valid",
            with("nbf", json!(now() + 3600)),
            "invalid_request_object",
        ),
        ("replayed jti", replayed, "invalid_request_object"),
        ("alg none", alg_none, "invalid_request_object"),
        ("unsupported alg HS256", hs256, "invalid_request_object"),
        ("malformed", "not-a-jwt".into(), "invalid_request_object"),
        (
            "malformed JWE",
            "a.b.c.d.e".into(),
            "invalid_request_object",
        ),
        (
            "oversized",
            with("state", json!("x".repeat(20_000))),
            "invalid_request_object",
        ),
        (
            "nested request_uri",
            with("request_uri", json!(REQUEST_URI)),
            "invalid_request_object",
        ),
    ];
    for (name, jwt, code) in &table {
        let r = authorize(&app, &[("client_id", "jar-rs"), ("request", jwt)]);
        assert_eq!(&shown_error(&r), code, "/authorize: {name}");
        let r = par(&app, "jar-rs", &[("request", jwt)]);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (400, *code),
            "PAR: {name}: {}",
            r.text()
        );
    }
    // request_uri: unregistered, then with request, then a registered one.
    let r = authorize(
        &app,
        &[
            ("client_id", "jar-rs"),
            ("request_uri", "https://evil.example/r.jwt"),
        ],
    );
    assert_eq!(shown_error(&r), "invalid_request_uri");
    let r = authorize(
        &app,
        &[
            ("client_id", "jar-rs"),
            ("request_uri", REQUEST_URI),
            ("request", &good),
        ],
    );
    assert_eq!(shown_error(&r), "invalid_request");
    // Registered, but op-auth may reach no host by default (spin.toml
    // allowed_outbound_hosts): the fetch fails, nothing is redirected.
    let r = authorize(
        &app,
        &[("client_id", "jar-rs"), ("request_uri", REQUEST_URI)],
    );
    assert_eq!(shown_error(&r), "invalid_request_uri");
    // Another client's object sent under this client_id.
    let strict = sign(&Key::ec(), "ec-1", &claims("jar-strict"));
    let r = authorize(&app, &[("client_id", "jar-rs"), ("request", &strict)]);
    assert_eq!(shown_error(&r), "invalid_request_object");
}

#[test]
fn request_uris_are_registered_as_https_urls() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_REGISTRATION_MODE", "open")]);
    for (metadata, ok) in [
        (
            json!({"redirect_uris": [REDIRECT], "request_uris": [REQUEST_URI]}),
            true,
        ),
        (
            json!({"redirect_uris": [REDIRECT], "request_uris": ["http://rp.example.test/r"]}),
            false,
        ),
        (
            json!({"redirect_uris": [REDIRECT], "request_uris": "https://rp.example.test/r"}),
            false,
        ),
        (
            json!({"redirect_uris": [REDIRECT], "request_object_signing_alg": "HS256",
                "jwks": {"keys": [rsa_jwk()]}}),
            false,
        ),
        (
            json!({"redirect_uris": [REDIRECT], "require_signed_request_object": true}),
            false,
        ),
        (
            json!({"redirect_uris": [REDIRECT], "request_object_encryption_alg": "RSA-OAEP-256"}),
            false,
        ),
    ] {
        let r = app.request(
            "POST",
            "/register",
            &[("content-type", "application/json")],
            metadata.to_string().as_bytes(),
        );
        if ok {
            assert_eq!(r.status, 201, "{metadata}: {}", r.text());
            assert_eq!(r.json()["request_uris"], json!([REQUEST_URI]));
        } else {
            assert_eq!(r.status, 400, "{metadata}: {}", r.text());
            assert_eq!(r.json()["error"], "invalid_client_metadata", "{metadata}");
        }
    }
}

#[test]
fn authlib_signs_a_request_object_we_accept() {
    let (_data, app) = jar_app();
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/authlib_request_object.py"))
        .env("PRIVATE_KEY_PEM", RSA_KEY_PEM)
        .env("KID", "rsa-1")
        .env("ISSUER", ISSUER)
        .env("CLIENT_ID", "jar-rs")
        .env("REDIRECT_URI", REDIRECT)
        .env("STATE", "authlib-state")
        .env("NONCE", "authlib-nonce")
        .env("CODE_CHALLENGE", CHALLENGE)
        .output()
        .expect("python3 (install authlib: scripts/install-test-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut browser = Browser::default();
    let at_client = browser.authorize(&app, &[("client_id", "jar-rs"), ("request", &jwt)]);
    assert_eq!(param(&at_client, "state"), Some("authlib-state"));
    let body = redeem(&app, "jar-rs", param(&at_client, "code").unwrap());
    assert_eq!(body["scope"], "openid email");
    let id = id_token_claims(&body);
    assert_eq!(id["nonce"], "authlib-nonce");
    // The essential claim asked for inside the object (claims parameter).
    assert_eq!(id["email"], "alice@example.test");
}

/// Every alg/enc pair, encrypted by jwcrypto to the key in our JWKS.
fn jwcrypto_encrypt(app: &App, jobs: &[(&str, &str, String)]) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json").text();
    let lines: Vec<String> = jobs
        .iter()
        .map(|(alg, enc, jwt)| format!("{alg} {enc} {jwt}"))
        .collect();
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/jwcrypto_encrypt_request_object.py"))
        .env("JWKS_JSON", jwks)
        .env("JOBS", lines.join("\n"))
        .output()
        .expect("python3 (install jwcrypto: scripts/install-test-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const ENC_ALGS: [&str; 3] = ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"];
const ENCS: [&str; 4] = ["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"];

#[test]
fn encrypted_request_objects_from_jwcrypto() {
    let (data, app) = jar_app();
    let mut jobs = Vec::new();
    for alg in ENC_ALGS {
        for enc in ENCS {
            let mut c = claims("jar-rs");
            c["state"] = json!(format!("{alg}/{enc}"));
            jobs.push((alg, enc, rs(&c)));
        }
    }
    let sealed = jwcrypto_encrypt(&app, &jobs);
    assert_eq!(sealed.len(), jobs.len());
    for (jwe, (alg, enc, _)) in sealed.iter().zip(&jobs) {
        assert_eq!(jwe.split('.').count(), 5);
        let r = authorize(&app, &[("client_id", "jar-rs"), ("request", jwe)]);
        assert_eq!(r.status, 303, "{alg} {enc}: {}", r.text());
    }
    // The whole code flow with an encrypted object, pushed, and the
    // client's registered request_object_encryption_alg/enc.
    add_client(
        &data,
        "jar-enc",
        Some(SECRET),
        &json!({"redirect_uris": [REDIRECT], "jwks": {"keys": [rsa_jwk()]},
                "request_object_encryption_alg": "ECDH-ES+A256KW",
                "request_object_encryption_enc": "A256GCM"}),
    );
    let jobs = vec![
        ("ECDH-ES+A256KW", "A256GCM", rs(&claims("jar-enc"))),
        ("ECDH-ES", "A256GCM", rs(&claims("jar-enc"))),
        ("ECDH-ES+A256KW", "A128GCM", rs(&claims("jar-enc"))),
    ];
    let sealed = jwcrypto_encrypt(&app, &jobs);
    let r = par(&app, "jar-enc", &[("request", &sealed[0])]);
    assert_eq!(r.status, 201, "{}", r.text());
    let uri = r.json()["request_uri"].as_str().unwrap().to_string();
    let mut browser = Browser::default();
    let at_client = browser.authorize(&app, &[("client_id", "jar-enc"), ("request_uri", &uri)]);
    assert_eq!(param(&at_client, "state"), Some("inner-state"));
    let body = redeem(&app, "jar-enc", param(&at_client, "code").unwrap());
    assert_eq!(id_token_claims(&body)["nonce"], "inner-nonce");
    // Not the registered alg, not the registered enc.
    for jwe in &sealed[1..] {
        let r = authorize(&app, &[("client_id", "jar-enc"), ("request", jwe)]);
        assert_eq!(shown_error(&r), "invalid_request_object");
    }

    // Encrypted, but unsigned inside; or to a key that is not ours.
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&claims("jar-rs"))
    );
    let sealed = jwcrypto_encrypt(&app, &[("ECDH-ES", "A128GCM", unsigned)]);
    let r = authorize(&app, &[("client_id", "jar-rs"), ("request", &sealed[0])]);
    assert_eq!(shown_error(&r), "invalid_request_object");
    let other = crate::dpop::Key::ec();
    let other_jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "enc",
        "kid": "not-ours", "x": other.jwk["x"], "y": other.jwk["y"]}]});
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/jwcrypto_encrypt_request_object.py"))
        .env("JWKS_JSON", other_jwks.to_string())
        .env("JOBS", format!("ECDH-ES A128GCM {}", rs(&claims("jar-rs"))))
        .output()
        .unwrap();
    let to_other = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let r = authorize(&app, &[("client_id", "jar-rs"), ("request", &to_other)]);
    assert_eq!(shown_error(&r), "invalid_request_object");
}
