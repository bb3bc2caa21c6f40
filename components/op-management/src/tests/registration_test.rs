use authrim_protocol::secret::hash_token;
use serde_json::{json, Value};

use crate::env::Registration;
use crate::testing::*;

const JSON: (&str, &str) = ("content-type", "application/json");

fn web_client() -> Value {
    json!({
        "redirect_uris": ["https://rp.example/cb"],
        "client_name": "RP",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access"
    })
}

fn register(
    store: &FakeStore,
    reg: Registration,
    auth: Option<&str>,
    body: &Value,
) -> authrim_protocol::HttpResponse {
    let mut headers = vec![JSON];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    call(
        store,
        reg,
        "POST",
        "/register",
        &headers,
        body.to_string().as_bytes(),
    )
}

fn open(store: &FakeStore, body: &Value) -> Value {
    let resp = register(store, Registration::Open, None, body);
    assert_eq!(
        resp.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    json(&resp)
}

fn config(
    store: &FakeStore,
    method: &str,
    client_id: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> authrim_protocol::HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![JSON];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    call(
        store,
        Registration::Open,
        method,
        &format!("/register/{client_id}"),
        &headers,
        body.as_bytes(),
    )
}

#[test]
fn open_registration_issues_credentials() {
    let store = FakeStore::new();
    let resp = register(&store, Registration::Open, None, &web_client());
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    assert_eq!(resp.header_value("content-type"), Some("application/json"));
    let body = json(&resp);
    let id = body["client_id"].as_str().unwrap();
    let secret = body["client_secret"].as_str().unwrap();
    let rat = body["registration_access_token"].as_str().unwrap();
    assert_eq!((id.len(), secret.len(), rat.len()), (43, 43, 43));
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["client_id_issued_at"], NOW);
    assert_eq!(
        body["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    // The registered metadata, defaults filled in.
    assert_eq!(body["redirect_uris"], json!(["https://rp.example/cb"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["client_name"], "RP");
    assert_eq!(body["id_token_signed_response_alg"], "RS256");

    let stored = store.clients.borrow()[id].clone();
    assert_eq!(
        stored.secret_hash,
        Some(hash_token(secret)),
        "stored hashed"
    );
    assert_eq!(stored.registration_token_hash, Some(hash_token(rat)));
    assert!(!stored.metadata_json.contains(secret) && !stored.metadata_json.contains(rat));
    assert!(
        store.mac_secrets.borrow().is_empty(),
        "no sealed copy for basic"
    );
}

#[test]
fn secrets_follow_the_auth_method() {
    let store = FakeStore::new();
    let mut jwt = web_client();
    jwt["token_endpoint_auth_method"] = "client_secret_jwt".into();
    let body = open(&store, &jwt);
    let secret = body["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 86, "long enough for HS512");
    let id = body["client_id"].as_str().unwrap();
    assert_eq!(
        store.mac_secrets.borrow()[id],
        secret.as_bytes(),
        "kept for MACs"
    );

    let mut public = web_client();
    public["token_endpoint_auth_method"] = "none".into();
    let body = open(&store, &public);
    assert!(body.get("client_secret").is_none());
    assert!(body.get("client_secret_expires_at").is_none());
    let id = body["client_id"].as_str().unwrap();
    assert_eq!(store.clients.borrow()[id].secret_hash, None);

    let pkjwt = json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://rp.example/jwks.json"
    });
    let body = open(&store, &pkjwt);
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["response_types"], json!([]));
    assert_eq!(body["jwks_uri"], "https://rp.example/jwks.json");

    // RFC 8628: a device client needs no redirect URI; public or not.
    let device = json!({
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "client_name": "TV app"
    });
    let body = open(&store, &device);
    assert_eq!(
        body["grant_types"],
        json!([
            "urn:ietf:params:oauth:grant-type:device_code",
            "refresh_token"
        ])
    );
    assert_eq!(body["response_types"], json!([]));
}

#[test]
fn a_registrant_cannot_choose_its_id_or_secret() {
    let store = FakeStore::new();
    let mut body = web_client();
    body["client_id"] = "chosen".into();
    body["client_secret"] = "chosen-secret".into();
    body["registration_access_token"] = "chosen-token".into();
    body["software_statement"] = "eyJ.unsupported.ignored".into();
    let out = open(&store, &body);
    assert_ne!(out["client_id"], "chosen");
    assert_ne!(out["client_secret"], "chosen-secret");
    assert_ne!(out["registration_access_token"], "chosen-token");
    assert!(
        out.get("software_statement").is_none(),
        "unknown members ignored"
    );
}

#[test]
fn token_protected_registration() {
    let store = FakeStore::new();
    let reg = || Registration::Token("initial-token".into());
    let ok = register(&store, reg(), Some("Bearer initial-token"), &web_client());
    assert_eq!(ok.status, 201);
    let ok = register(&store, reg(), Some("bearer initial-token"), &web_client());
    assert_eq!(ok.status, 201, "scheme is case-insensitive");

    let missing = register(&store, reg(), None, &web_client());
    assert_eq!(error_of(&missing), (401, "invalid_token".into()));
    assert_eq!(
        missing.header_value("www-authenticate"),
        Some("Bearer realm=\"authrim\""),
        "no error code without credentials (RFC 6750 section 3.1)"
    );
    for auth in [
        "Bearer wrong",
        "Bearer initial-token2",
        "Basic aW5pdGlhbC10b2tlbg==",
        "Bearer",
        "initial-token",
    ] {
        let resp = register(&store, reg(), Some(auth), &web_client());
        assert_eq!(error_of(&resp), (401, "invalid_token".into()), "{auth}");
        assert!(resp
            .header_value("www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
    }
    let wrong = register(&store, reg(), Some("Bearer wrong"), &web_client());
    assert!(wrong
        .header_value("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    // An empty configured token closes registration.
    let closed = register(
        &store,
        Registration::Token(String::new()),
        Some("Bearer "),
        &web_client(),
    );
    assert_eq!(closed.status, 401);
    assert_eq!(store.clients.borrow().len(), 2, "only the admitted ones");
}

/// Malformed or invalid metadata: the exact RFC 7591 §3.2.2 error.
#[test]
fn bad_metadata_is_refused_with_the_right_code() {
    let store = FakeStore::new();
    let with = |patch: Value| {
        let mut body = web_client();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let table: Vec<(Value, &str)> = vec![
        (
            with(json!({"redirect_uris": ["http://rp.example/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://rp.example/cb#frag"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["/relative"]})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (
            with(json!({"redirect_uris": "https://rp.example/cb"})),
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
            with(json!({"grant_types": ["urn:openid:params:grant-type:ciba"]})),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["urn:openid:params:grant-type:ciba"],
                   "backchannel_token_delivery_mode": "push"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["urn:openid:params:grant-type:ciba"],
                   "backchannel_token_delivery_mode": "ping",
                   "backchannel_client_notification_endpoint": "http://127.0.0.1:8400/cb"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["urn:openid:params:grant-type:ciba"],
                   "backchannel_token_delivery_mode": "poll",
                   "backchannel_authentication_request_signing_alg": "RS256"}),
            "invalid_client_metadata",
        ),
        (
            with(
                json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "device_poll_interval": 1}),
            ),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"response_types": ["token"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["refresh_token"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"jwks_uri": "https://rp.example/jwks", "jwks": {"keys": []}})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"jwks_uri": "http://rp.example/jwks"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"id_token_signed_response_alg": "HS256"})),
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
        (
            with(
                json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"], "response_types": []}),
            ),
            "invalid_client_metadata",
        ),
        (
            with(json!({"client_uri": "javascript:alert(1)"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"scope": "openid pro\"file"})),
            "invalid_client_metadata",
        ),
        (json!([1, 2]), "invalid_client_metadata"),
        (json!("text"), "invalid_client_metadata"),
    ];
    for (body, code) in table {
        let resp = register(&store, Registration::Open, None, &body);
        assert_eq!(error_of(&resp), (400, code.into()), "{body}");
        assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    }
    let raw = |ct: Option<&str>, body: &[u8]| {
        let mut headers = vec![];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        call(
            &store,
            Registration::Open,
            "POST",
            "/register",
            &headers,
            body,
        )
    };
    assert_eq!(
        error_of(&raw(Some("application/json"), b"{not json")),
        (400, "invalid_client_metadata".into())
    );
    assert_eq!(
        error_of(&raw(Some("application/json"), b"")),
        (400, "invalid_client_metadata".into())
    );
    assert_eq!(
        error_of(&raw(Some("application/json"), b"\xff\xfe")),
        (400, "invalid_client_metadata".into())
    );
    assert_eq!(error_of(&raw(None, b"{}")), (400, "invalid_request".into()));
    assert_eq!(
        error_of(&raw(
            Some("application/x-www-form-urlencoded"),
            b"redirect_uris=x"
        )),
        (400, "invalid_request".into())
    );
    let big = format!(r#"{{"client_name":"{}"}}"#, "a".repeat(70_000));
    assert_eq!(
        error_of(&raw(Some("application/json"), big.as_bytes())).0,
        413
    );
    assert!(store.clients.borrow().is_empty(), "nothing registered");
}

#[test]
fn a_failed_secret_leaves_no_client_behind() {
    let store = FakeStore::new();
    store.fail_set_secret.set(true);
    let resp = register(&store, Registration::Open, None, &web_client());
    assert_eq!(error_of(&resp), (500, "server_error".into()));
    assert!(store.clients.borrow().is_empty());
}

#[test]
fn methods_and_paths() {
    let store = FakeStore::new();
    let resp = call(&store, Registration::Open, "GET", "/register", &[], b"");
    assert_eq!(error_of(&resp), (405, "method_not_allowed".into()));
    assert_eq!(resp.header_value("allow"), Some("POST"));
    let resp = call(
        &store,
        Registration::Open,
        "POST",
        "/register/abc",
        &[JSON],
        b"{}",
    );
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header_value("allow"), Some("GET, PUT, DELETE"));
    let resp = call(&store, Registration::Open, "GET", "/register/a/b", &[], b"");
    assert_eq!(error_of(&resp), (404, "not_found".into()));
}

#[test]
fn read_with_the_registration_access_token() {
    let store = FakeStore::new();
    let reg = open(&store, &web_client());
    let id = reg["client_id"].as_str().unwrap();
    let rat = reg["registration_access_token"].as_str().unwrap();

    let resp = config(&store, "GET", id, Some(rat), None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    let body = json(&resp);
    for member in [
        "client_id",
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
        "redirect_uris",
        "grant_types",
        "client_name",
    ] {
        assert_eq!(body[member], reg[member], "{member}");
    }
    assert!(
        body.get("client_secret").is_none(),
        "only its hash is stored"
    );
}

#[test]
fn wrong_or_missing_registration_tokens_are_401() {
    let store = FakeStore::new();
    let a = open(&store, &web_client());
    let b = open(&store, &web_client());
    let a_id = a["client_id"].as_str().unwrap();
    let a_rat = a["registration_access_token"].as_str().unwrap();
    let b_rat = b["registration_access_token"].as_str().unwrap();
    store.add_client(
        "admin-made",
        r#"{"redirect_uris":["https://rp.example/cb"]}"#,
        Some("s"),
    );
    let body = json!({"client_id": a_id, "redirect_uris": ["https://rp.example/x"]});
    for method in ["GET", "PUT", "DELETE"] {
        let cases: [(&str, Option<&str>); 5] = [
            (a_id, Some("wrong")),
            (a_id, Some(b_rat)),
            ("unknown-client", Some(a_rat)),
            ("admin-made", Some(a_rat)),
            (a_id, None),
        ];
        for (id, token) in cases {
            let resp = config(&store, method, id, token, Some(&body));
            assert_eq!(
                error_of(&resp),
                (401, "invalid_token".into()),
                "{method} {id} {token:?}"
            );
            let challenge = resp.header_value("www-authenticate").unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            assert_eq!(challenge.contains("error="), token.is_some(), "{challenge}");
        }
    }
    // Basic credentials are not a registration access token.
    let resp = call(
        &store,
        Registration::Open,
        "GET",
        &format!("/register/{a_id}"),
        &[("authorization", &basic(a_id, a_rat))],
        b"",
    );
    assert_eq!(resp.status, 401);
    assert!(
        store.clients.borrow().contains_key(a_id),
        "nothing was deleted"
    );
}

#[test]
fn update_replaces_the_metadata() {
    let store = FakeStore::new();
    let reg = open(&store, &web_client());
    let id = reg["client_id"].as_str().unwrap();
    let rat = reg["registration_access_token"].as_str().unwrap();
    let secret = reg["client_secret"].as_str().unwrap();
    let hash_before = store.clients.borrow()[id].secret_hash.clone();

    // What a client read, changed and sent back (read-only members included).
    let mut body = reg.clone();
    body["redirect_uris"] = json!(["https://rp.example/new"]);
    body.as_object_mut().unwrap().remove("client_name");
    let resp = config(&store, "PUT", id, Some(rat), Some(&body));
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    let out = json(&resp);
    assert_eq!(out["redirect_uris"], json!(["https://rp.example/new"]));
    assert!(
        out.get("client_name").is_none(),
        "omitted members are deleted"
    );
    assert!(
        out.get("client_secret").is_none(),
        "secret unchanged, not re-sent"
    );
    assert_eq!(out["client_id_issued_at"], NOW);
    let stored = store.clients.borrow()[id].clone();
    assert_eq!(stored.secret_hash, hash_before);
    assert!(stored.metadata_json.contains("https://rp.example/new"));
    assert_eq!(stored.registration_token_hash, Some(hash_token(rat)));

    // client_id must be echoed; a client_secret must be the current one.
    let mut no_id = body.clone();
    no_id.as_object_mut().unwrap().remove("client_id");
    let mut other_id = body.clone();
    other_id["client_id"] = "someone-else".into();
    let mut bad_secret = body.clone();
    bad_secret["client_secret"] = "guess".into();
    let mut bad_uri = body.clone();
    bad_uri["redirect_uris"] = json!(["http://rp.example/cb"]);
    for (b, code) in [
        (&no_id, "invalid_client_metadata"),
        (&other_id, "invalid_client_metadata"),
        (&bad_secret, "invalid_client_metadata"),
        (&bad_uri, "invalid_redirect_uri"),
    ] {
        let resp = config(&store, "PUT", id, Some(rat), Some(b));
        assert_eq!(error_of(&resp), (400, code.into()), "{b}");
    }
    let mut good_secret = body.clone();
    good_secret["client_secret"] = secret.into();
    assert_eq!(
        config(&store, "PUT", id, Some(rat), Some(&good_secret)).status,
        200
    );
    assert!(store.clients.borrow()[id]
        .metadata_json
        .contains("https://rp.example/new"));
}

#[test]
fn update_moves_the_secret_with_the_auth_method() {
    let store = FakeStore::new();
    let reg = open(&store, &web_client());
    let id = reg["client_id"].as_str().unwrap();
    let rat = reg["registration_access_token"].as_str().unwrap();
    let put = |patch: Value| {
        let mut body = web_client();
        body["client_id"] = id.into();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let resp = config(&store, "PUT", id, Some(rat), Some(&body));
        assert_eq!(
            resp.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&resp.body)
        );
        json(&resp)
    };

    // basic -> post: same secret.
    let out = put(json!({"token_endpoint_auth_method": "client_secret_post"}));
    assert!(out.get("client_secret").is_none());
    assert_eq!(
        store.clients.borrow()[id].secret_hash,
        Some(hash_token(reg["client_secret"].as_str().unwrap()))
    );
    // post -> jwt: a new secret, sealed for MACs.
    let out = put(json!({"token_endpoint_auth_method": "client_secret_jwt"}));
    let jwt_secret = out["client_secret"].as_str().unwrap().to_string();
    assert_eq!(jwt_secret.len(), 86);
    assert_eq!(store.mac_secrets.borrow()[id], jwt_secret.as_bytes());
    // jwt -> jwt: kept.
    let out = put(json!({"token_endpoint_auth_method": "client_secret_jwt", "client_name": "x"}));
    assert!(out.get("client_secret").is_none());
    assert_eq!(store.mac_secrets.borrow()[id], jwt_secret.as_bytes());
    // jwt -> none: no secret at all.
    let out = put(json!({"token_endpoint_auth_method": "none"}));
    assert!(out.get("client_secret").is_none() && out.get("client_secret_expires_at").is_none());
    assert_eq!(store.clients.borrow()[id].secret_hash, None);
    assert!(store.mac_secrets.borrow().get(id).is_none());
    // none -> basic: a new secret.
    let out = put(json!({"token_endpoint_auth_method": "client_secret_basic"}));
    let new = out["client_secret"].as_str().unwrap();
    assert_eq!(
        store.clients.borrow()[id].secret_hash,
        Some(hash_token(new))
    );
    assert_eq!(out["client_secret_expires_at"], 0);
    // basic -> jwt with the current secret: sealed from it, not replaced.
    let out = put(json!({"token_endpoint_auth_method": "client_secret_jwt", "client_secret": new}));
    assert!(out.get("client_secret").is_none());
    assert_eq!(store.mac_secrets.borrow()[id], new.as_bytes());
    assert_eq!(
        store.clients.borrow()[id].secret_hash,
        Some(hash_token(new))
    );
}

#[test]
fn delete_removes_the_client() {
    let store = FakeStore::new();
    let reg = open(&store, &web_client());
    let id = reg["client_id"].as_str().unwrap();
    let rat = reg["registration_access_token"].as_str().unwrap();
    store.add_grant("g1", id, Some("u1"), None);
    let resp = config(&store, "DELETE", id, Some(rat), None);
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert!(store.clients.borrow().is_empty());
    assert!(store.grants.borrow().is_empty(), "its grants went with it");
    assert_eq!(config(&store, "GET", id, Some(rat), None).status, 401);
    assert_eq!(config(&store, "DELETE", id, Some(rat), None).status, 401);
}

#[test]
fn a_ciba_poll_client_registers() {
    let store = FakeStore::new();
    let body = open(
        &store,
        &json!({"grant_types": ["urn:openid:params:grant-type:ciba"],
                "backchannel_token_delivery_mode": "poll",
                "client_name": "Bank"}),
    );
    assert_eq!(body["backchannel_token_delivery_mode"], "poll");
    assert_eq!(
        body["grant_types"],
        json!(["urn:openid:params:grant-type:ciba"])
    );
    assert!(body["client_secret"].is_string(), "a confidential client");
}

#[test]
fn a_ciba_ping_client_registers_with_an_https_endpoint() {
    let store = FakeStore::new();
    let body = open(
        &store,
        &json!({"grant_types": ["urn:openid:params:grant-type:ciba"],
                "backchannel_token_delivery_mode": "ping",
                "backchannel_client_notification_endpoint": "https://rp.example/cb"}),
    );
    assert_eq!(body["backchannel_token_delivery_mode"], "ping");
    assert_eq!(
        body["backchannel_client_notification_endpoint"],
        "https://rp.example/cb"
    );
}
