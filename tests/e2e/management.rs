//! op-management through the runner: dynamic client registration (RFC 7591,
//! open and initial-access-token-protected), the RFC 7592 client
//! configuration endpoint, their error tables, and introspection (RFC 7662)
//! and revocation (RFC 7009) of real access tokens from `/token` and of a
//! refresh-token family seeded in the database.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{App, DataDir, Response, ISSUER};
use crate::token::{basic, form, now, token, FORM};

const JSON: (&str, &str) = ("content-type", "application/json");
const OPEN: &[(&str, &str)] = &[("SPIN_VARIABLE_REGISTRATION_MODE", "open")];
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn register(app: &App, auth: Option<&str>, metadata: &Value) -> Response {
    let mut headers = vec![JSON];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let r = app.request(
        "POST",
        "/register",
        &headers,
        metadata.to_string().as_bytes(),
    );
    assert_no_store(&r);
    r
}

fn registered(app: &App, metadata: &Value) -> Value {
    let r = register(app, None, metadata);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn assert_no_store(r: &Response) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text());
    assert!(r.status < 500, "{} {}", r.status, r.text());
}

fn configure(app: &App, method: &str, client_id: &str, rat: Option<&str>, body: &[u8]) -> Response {
    let bearer = rat.map(|t| format!("Bearer {t}"));
    let mut headers = vec![JSON];
    if let Some(b) = &bearer {
        headers.push(("authorization", b));
    }
    let r = app.request(method, &format!("/register/{client_id}"), &headers, body);
    assert_no_store(&r);
    r
}

fn web_client() -> Value {
    json!({"redirect_uris": ["https://rp.example.test/cb"], "client_name": "RP",
           "grant_types": ["authorization_code", "refresh_token"],
           "scope": "openid profile offline_access"})
}

fn cc_client(method: &str) -> Value {
    json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": method,
           "scope": "api:read"})
}

#[test]
fn open_registration_and_client_configuration() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, OPEN);

    let reg = registered(&app, &web_client());
    let id = reg["client_id"].as_str().unwrap().to_string();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reg["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert!((reg["client_id_issued_at"].as_i64().unwrap() - now()).abs() < 60);
    assert_eq!(
        reg["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["redirect_uris"], web_client()["redirect_uris"]);

    // Read (RFC 7592 §2.1).
    let r = configure(&app, "GET", &id, Some(&rat), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let read = r.json();
    for member in [
        "client_id",
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_name",
        "redirect_uris",
    ] {
        assert_eq!(read[member], reg[member], "{member}");
    }
    assert!(read.get("client_secret").is_none());

    // Update (RFC 7592 §2.2): full replacement; what was read may be sent back.
    let mut update = read.clone();
    update["redirect_uris"] = json!(["https://rp.example.test/new"]);
    update.as_object_mut().unwrap().remove("client_name");
    let r = configure(&app, "PUT", &id, Some(&rat), update.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["redirect_uris"],
        json!(["https://rp.example.test/new"])
    );
    assert!(r.json().get("client_name").is_none());
    let again = configure(&app, "GET", &id, Some(&rat), b"").json();
    assert_eq!(
        again["redirect_uris"],
        json!(["https://rp.example.test/new"])
    );

    // Error table of the configuration endpoint.
    let other = registered(&app, &web_client());
    let other_rat = other["registration_access_token"].as_str().unwrap();
    let mut bad_id = update.clone();
    bad_id["client_id"] = json!("someone-else");
    let mut no_id = update.clone();
    no_id.as_object_mut().unwrap().remove("client_id");
    let mut bad_secret = update.clone();
    bad_secret["client_secret"] = json!("guess");
    let mut bad_uri = update.clone();
    bad_uri["redirect_uris"] = json!(["http://rp.example.test/cb"]);
    // (method, client_id, registration access token, body, status, error)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("GET", &id, None, vec![], 401, "invalid_token"),
        ("GET", &id, Some("wrong"), vec![], 401, "invalid_token"),
        ("GET", &id, Some(other_rat), vec![], 401, "invalid_token"),
        (
            "GET",
            "no-such-client",
            Some(&rat),
            vec![],
            401,
            "invalid_token",
        ),
        ("DELETE", &id, Some(other_rat), vec![], 401, "invalid_token"),
        (
            "PUT",
            &id,
            None,
            update.to_string().into_bytes(),
            401,
            "invalid_token",
        ),
        (
            "PUT",
            &id,
            Some(&rat),
            bad_id.to_string().into_bytes(),
            400,
            "invalid_client_metadata",
        ),
        (
            "PUT",
            &id,
            Some(&rat),
            no_id.to_string().into_bytes(),
            400,
            "invalid_client_metadata",
        ),
        (
            "PUT",
            &id,
            Some(&rat),
            bad_secret.to_string().into_bytes(),
            400,
            "invalid_client_metadata",
        ),
        (
            "PUT",
            &id,
            Some(&rat),
            bad_uri.to_string().into_bytes(),
            400,
            "invalid_redirect_uri",
        ),
        (
            "PUT",
            &id,
            Some(&rat),
            b"[]".to_vec(),
            400,
            "invalid_client_metadata",
        ),
        ("POST", &id, Some(&rat), vec![], 405, "method_not_allowed"),
    ];
    for (method, client, token, body, status, error) in &cases {
        let r = configure(&app, method, client, *token, body);
        let what = format!(
            "{method} {client} {token:?} {}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap_or("")),
            (*status, *error),
            "{what}"
        );
        if *status == 401 {
            let challenge = r.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer realm=\"authrim\""),
                "{what}: {challenge}"
            );
            assert_eq!(
                challenge.contains("error=\"invalid_token\""),
                token.is_some(),
                "{what}"
            );
        }
    }
    assert_eq!(
        configure(&app, "GET", &id, Some(&rat), b"").status,
        200,
        "still there"
    );

    // Delete (RFC 7592 §2.3).
    let r = configure(&app, "DELETE", &id, Some(&rat), b"");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(configure(&app, "GET", &id, Some(&rat), b"").status, 401);
    assert_eq!(configure(&app, "DELETE", &id, Some(&rat), b"").status, 401);
}

/// Registered secrets work at the token endpoint: a client_secret_basic
/// client, and a client_secret_jwt client whose HS512 assertion op-store
/// checks with the sealed secret.
#[test]
fn registered_clients_get_tokens() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, OPEN);
    let basic_client = registered(&app, &cc_client("client_secret_basic"));
    let (id, secret) = (
        basic_client["client_id"].as_str().unwrap(),
        basic_client["client_secret"].as_str().unwrap(),
    );
    let r = token(
        &app,
        Some(&basic(id, secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = token(
        &app,
        Some(&basic(id, "wrong")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 401);

    let jwt_client = registered(&app, &cc_client("client_secret_jwt"));
    let (id, secret) = (
        jwt_client["client_id"].as_str().unwrap(),
        jwt_client["client_secret"].as_str().unwrap(),
    );
    assert_eq!(secret.len(), 86);
    for (alg, jti) in [(Algorithm::HS256, "j-256"), (Algorithm::HS512, "j-512")] {
        let claims = json!({"iss": id, "sub": id, "aud": format!("{ISSUER}/token"),
                            "iat": now(), "exp": now() + 60, "jti": jti});
        let jwt = encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &jwt),
        ]);
        let r = token(&app, None, &body);
        assert_eq!(r.status, 200, "{alg:?}: {}", r.text());
    }
}

#[test]
fn token_protected_registration() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_INITIAL_ACCESS_TOKEN", "iat-Zq81")]);
    let r = register(&app, None, &web_client());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("invalid_token"))
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"authrim\"")
    );
    for auth in [
        "Bearer wrong",
        "Bearer iat-Zq8",
        "Basic aWF0LVpxODE6",
        "iat-Zq81",
    ] {
        let r = register(&app, Some(auth), &web_client());
        assert_eq!(r.status, 401, "{auth}");
        assert!(
            r.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{auth}"
        );
    }
    let r = register(&app, Some("Bearer iat-Zq81"), &web_client());
    assert_eq!(r.status, 201, "{}", r.text());
    drop(app);

    // The default: token mode without a token configured, i.e. closed.
    let closed_data = DataDir::new();
    let closed = App::start(&closed_data);
    assert_eq!(register(&closed, None, &web_client()).status, 401);
    assert_eq!(
        register(&closed, Some("Bearer "), &web_client()).status,
        401
    );
}

/// Bad metadata: the exact RFC 7591 §3.2.2 error code, never a 5xx.
#[test]
fn registration_error_table() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, OPEN);
    let with = |patch: Value| {
        let mut m = web_client();
        for (k, v) in patch.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    let table: Vec<(Value, &str)> = vec![
        (
            with(json!({"redirect_uris": ["http://rp.example.test/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://rp.example.test/cb#x"]})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (with(json!({"redirect_uris": null})), "invalid_redirect_uri"),
        (
            with(json!({"redirect_uris": "https://rp.example.test/cb"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "magic"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["implicit"], "response_types": ["id_token"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"response_types": ["code token"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"jwks_uri": "https://rp.example.test/jwks", "jwks": {"keys": []}})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"id_token_signed_response_alg": "none"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"allow_plain_pkce": true})),
            "invalid_client_metadata",
        ),
        (with(json!({"client_name": 5})), "invalid_client_metadata"),
        (json!([]), "invalid_client_metadata"),
    ];
    for (metadata, code) in &table {
        let r = register(&app, None, metadata);
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap_or("")),
            (400, *code),
            "{metadata}"
        );
    }
    let raw = |headers: &[(&str, &str)], body: &[u8]| {
        let r = app.request("POST", "/register", headers, body);
        assert_no_store(&r);
        (
            r.status,
            r.json()["error"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(
        raw(&[JSON], b"{\"redirect_uris\":"),
        (400, "invalid_client_metadata".into())
    );
    assert_eq!(
        raw(&[JSON], b"\xff"),
        (400, "invalid_client_metadata".into())
    );
    assert_eq!(
        raw(&[FORM], b"redirect_uris=x"),
        (400, "invalid_request".into())
    );
    assert_eq!(raw(&[], b"{}"), (400, "invalid_request".into()));
    let big = format!(r#"{{"client_name":"{}"}}"#, "n".repeat(70_000));
    assert_eq!(raw(&[JSON], big.as_bytes()).0, 413);
    let r = app.request("GET", "/register", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A user, and a refresh-token family of `client_id` with one access
/// token, written straight into the database (the code flow that would
/// issue them is tested elsewhere).
fn seed_family(data: &DataDir, client_id: &str, refresh: &str, access: &str) {
    let db = rusqlite::Connection::open(data.database()).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let t = now();
    db.execute(
        "INSERT INTO users (id, username, username_key, claims_json, created_at, updated_at)
         VALUES ('u-1', 'alice', 'alice', '{}', ?1, ?1)",
        [t],
    )
    .unwrap();
    db.execute(
        "INSERT INTO grants (id, client_id, user_id, sid, scope, grant_json, created_at, expires_at,
                             refresh_hash, refresh_expires_at)
         VALUES ('g-1', ?1, 'u-1', NULL, 'openid offline_access', '{}', ?2, ?3, ?4, ?3)",
        rusqlite::params![client_id, t, t + 86_400, sha256_hex(refresh)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO access_tokens (token_hash, grant_id, expires_at) VALUES (?1, 'g-1', ?2)",
        rusqlite::params![sha256_hex(access), t + 600],
    )
    .unwrap();
}

fn introspect(app: &App, auth: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let r = app.request("POST", "/introspect", &headers, body.as_bytes());
    assert_no_store(&r);
    r
}

fn revoke(app: &App, auth: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let r = app.request("POST", "/revoke", &headers, body.as_bytes());
    assert_no_store(&r);
    r
}

fn active(app: &App, rs: &str, token: &str) -> Value {
    let r = introspect(app, Some(rs), &form(&[("token", token)]));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn introspection_and_revocation() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, OPEN);
    let client = |metadata: &Value| {
        let c = registered(&app, metadata);
        let id = c["client_id"].as_str().unwrap().to_string();
        let secret = c["client_secret"].as_str().map(str::to_string);
        (id, secret)
    };
    let (rs_id, rs_secret) = client(&cc_client("client_secret_basic"));
    let rs = basic(&rs_id, rs_secret.as_deref().unwrap());
    let (c1_id, c1_secret) = client(&cc_client("client_secret_basic"));
    let c1 = basic(&c1_id, c1_secret.as_deref().unwrap());
    let mut public = web_client();
    public["token_endpoint_auth_method"] = json!("none");
    let (pub_id, _) = client(&public);

    // A real access token from /token.
    let r = token(
        &app,
        Some(&c1),
        "grant_type=client_credentials&scope=api%3Aread",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let at = r.json()["access_token"].as_str().unwrap().to_string();

    // Active: every member from the token itself.
    let body = active(&app, &rs, &at);
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], c1_id.as_str());
    assert_eq!(body["sub"], c1_id.as_str());
    assert_eq!(body["scope"], "api:read");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["aud"], ISSUER);
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(body["jti"].as_str().unwrap().len(), 43);
    for unknown in ["unknown", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] {
        assert_eq!(
            active(&app, &rs, unknown),
            json!({"active": false}),
            "{unknown}"
        );
    }

    // Unauthenticated and public callers learn nothing.
    let token_form = form(&[("token", &at)]);
    let cases: Vec<(Option<String>, String)> = vec![
        (None, token_form.clone()),
        (None, format!("{token_form}&client_id={pub_id}")),
        (None, format!("{token_form}&client_id={rs_id}")),
        (Some(basic(&rs_id, "wrong")), token_form.clone()),
        (Some(format!("Bearer {at}")), token_form.clone()),
    ];
    for (auth, body) in &cases {
        let r = introspect(&app, auth.as_deref(), body);
        assert_eq!(
            (r.status, r.json()["error"].clone()),
            (401, json!("invalid_client")),
            "{auth:?}"
        );
        assert!(r.json().get("active").is_none());
    }
    let r = introspect(&app, Some(&rs), "token_type_hint=access_token");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );

    // Revocation of an access token: only by its own client.
    let r = revoke(&app, Some(&rs), &token_form);
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    assert_eq!(
        active(&app, &rs, &at)["active"],
        true,
        "not revoked by another client"
    );
    let r = revoke(&app, None, &token_form);
    assert_eq!(r.status, 401);
    let r = revoke(
        &app,
        Some(&c1),
        &format!("{token_form}&token_type_hint=refresh_token"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(active(&app, &rs, &at), json!({"active": false}));
    let r = revoke(&app, Some(&c1), &token_form);
    assert_eq!(r.status, 200, "already revoked: still 200");
    let r = revoke(&app, Some(&c1), "token=never-issued&token_type_hint=bogus");
    assert_eq!(r.status, 200);

    // A refresh-token family: introspection, then revocation takes the
    // access tokens issued in it too.
    let (refresh, family_at) = ("rt-Hk2wQ9", "at-of-the-family");
    seed_family(&data, &c1_id, refresh, family_at);
    let body = active(&app, &rs, refresh);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], c1_id.as_str());
    assert_eq!(body["sub"], "u-1");
    assert_eq!(body["scope"], "openid offline_access");
    assert_eq!(body["iss"], ISSUER);
    assert!(body["exp"].as_i64().unwrap() > now());
    assert_eq!(active(&app, &rs, family_at)["active"], true);
    let r = revoke(
        &app,
        Some(&c1),
        &form(&[("token", refresh), ("token_type_hint", "refresh_token")]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(active(&app, &rs, refresh), json!({"active": false}));
    assert_eq!(
        active(&app, &rs, family_at),
        json!({"active": false}),
        "its access tokens too"
    );
}
