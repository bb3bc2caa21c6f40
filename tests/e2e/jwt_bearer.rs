//! The JWT bearer grant (RFC 7523 §2.1) through the runner: issuers
//! trusted with `authrim admin issuer add`, assertions signed by
//! `jsonwebtoken` (code nobody here wrote), user and service subjects,
//! introspection and UserInfo of the result, the negative table and one
//! assertion raced 12 times.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::{admin, App, DataDir, Response, ISSUER};
use crate::token::{
    add_client, basic, error_of, form, now, token, verify_access_token, EC_KEY_PEM, EC_X, EC_Y,
    RSA_KEY_PEM, RSA_N, SECRET,
};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub(crate) const IDP: &str = "https://idp.example.test";
pub(crate) const SVC: &str = "https://svc.example.test";

/// The trusted issuers' JWK Set: EC key `ec1`, RSA key `rsa1`.
pub(crate) fn issuer_jwks() -> String {
    json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec1", "x": EC_X, "y": EC_Y},
        {"kty": "RSA", "kid": "rsa1", "n": RSA_N, "e": "AQAB"},
    ]})
    .to_string()
}

/// Client `jb` (secret, the grant, scope `openid profile api`), client `cc`
/// (client_credentials only), user `alice`, and two trusted issuers: `IDP`
/// for user subjects, `SVC` for service subjects.
fn setup() -> (DataDir, App) {
    setup_with(&[])
}

fn setup_with(env: &[(&str, &str)]) -> (DataDir, App) {
    let data = DataDir::new();
    add_client(
        &data,
        "jb",
        Some(SECRET),
        &json!({"grant_types": [GRANT], "scope": "openid profile api"}),
    );
    add_client(
        &data,
        "cc",
        Some(SECRET),
        &json!({"grant_types": ["client_credentials"]}),
    );
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--id",
            "user-alice",
            "--claims",
            r#"{"name":"Alice Example"}"#,
        ],
    );
    let jwks = data.dir.path().join("issuer-jwks.json");
    std::fs::write(&jwks, issuer_jwks()).unwrap();
    let jwks = jwks.to_str().unwrap();
    admin(
        &data,
        &[
            "issuer",
            "add",
            "--issuer",
            IDP,
            "--jwks",
            jwks,
            "--subject",
            "alice",
            "--subject",
            "bob",
            "--subject",
            "user-alice",
            "--scope",
            "openid profile api admin",
            "--mapping",
            "user",
        ],
    );
    admin(
        &data,
        &[
            "issuer",
            "add",
            "--issuer",
            SVC,
            "--jwks",
            jwks,
            "--subject",
            "*",
            "--scope",
            "api",
            "--mapping",
            "service",
        ],
    );
    let app = App::start_with_env(&data, env);
    (data, app)
}

fn claims(iss: &str, sub: &str, jti: &str) -> Value {
    let now = now();
    json!({"iss": iss, "sub": sub, "aud": format!("{ISSUER}/token"),
           "iat": now, "exp": now + 120, "jti": jti})
}

/// `c` with `patch` merged in (a null removes the claim).
pub(crate) fn patched(mut c: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// `c` signed ES256 with the issuers' key `ec1`.
pub(crate) fn es256(c: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec1".into());
    encode(
        &header,
        c,
        &EncodingKey::from_ec_pem(EC_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// `c` signed RS256 with the issuers' key `rsa1`.
pub(crate) fn rs256(c: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa1".into());
    encode(
        &header,
        c,
        &EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn grant(app: &App, client: &str, secret: &str, assertion: &str, scope: Option<&str>) -> Response {
    let mut pairs = vec![("grant_type", GRANT), ("assertion", assertion)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    token(app, Some(&basic(client, secret)), &form(&pairs))
}

fn introspect(app: &App, token: &str) -> Value {
    let r = app.request(
        "POST",
        "/introspect",
        &[crate::token::FORM, ("authorization", &basic("jb", SECRET))],
        form(&[("token", token)]).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn user_and_service_subjects() {
    let (_data, app) = setup();
    // A user subject (by username), RS256 and ES256; no scope asked: all
    // the issuer and the client both allow.
    for (n, sign) in [es256 as fn(&Value) -> String, rs256].iter().enumerate() {
        let r = grant(
            &app,
            "jb",
            SECRET,
            &sign(&claims(IDP, "alice", &format!("u-{n}"))),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "openid profile api");
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert!(body.get("id_token").is_none(), "{body}");
        let at = body["access_token"].as_str().unwrap();
        let c = verify_access_token(&app, at);
        assert_eq!(
            (c["sub"].as_str(), c["client_id"].as_str()),
            (Some("user-alice"), Some("jb"))
        );
        let i = introspect(&app, at);
        assert_eq!(i["active"], true);
        assert_eq!(i["sub"], "user-alice");
        assert_eq!(i["client_id"], "jb");
        let info = app.request(
            "GET",
            "/userinfo",
            &[("authorization", &format!("Bearer {at}"))],
            b"",
        );
        assert_eq!(info.status, 200, "{}", info.text());
        assert_eq!(info.json()["sub"], "user-alice");
        assert_eq!(info.json()["name"], "Alice Example");
    }
    // By user id too; a narrower scope.
    let r = grant(
        &app,
        "jb",
        SECRET,
        &es256(&claims(IDP, "user-alice", "u-id")),
        Some("api"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "api");
    let c = verify_access_token(&app, r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], "user-alice");

    // A service subject: `sub` is the asserted identity, no user, no openid.
    let r = grant(
        &app,
        "jb",
        SECRET,
        &es256(&claims(SVC, "billing-batch", "s-1")),
        Some("openid api"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["scope"], "api");
    let at = body["access_token"].as_str().unwrap();
    let c = verify_access_token(&app, at);
    assert_eq!(c["sub"], "billing-batch");
    let i = introspect(&app, at);
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str()),
        (Some(true), Some("billing-batch"))
    );
    let info = app.request(
        "GET",
        "/userinfo",
        &[("authorization", &format!("Bearer {at}"))],
        b"",
    );
    assert_eq!(info.status, 403, "{}", info.text());
    // Revocation ends it.
    let r = app.request(
        "POST",
        "/revoke",
        &[crate::token::FORM, ("authorization", &basic("jb", SECRET))],
        form(&[("token", at)]).as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&app, at)["active"], false);
}

#[test]
fn negative_table_never_a_5xx() {
    let (_data, app) = setup();
    let ok = |jti: &str| claims(IDP, "alice", jti);
    let none_alg = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(ok("none").to_string())
    );
    let hs256 = encode(
        &Header::new(Algorithm::HS256),
        &ok("hs"),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let mut forged = es256(&ok("forged"));
    forged.replace_range(forged.len() - 4.., "AAAA");
    let other_key = {
        // The issuer's RSA key signing under the EC key's kid.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("ec1".into());
        encode(
            &header,
            &ok("kid"),
            &EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let t = now();
    let table: Vec<(&str, String, Option<&str>, &str)> = vec![
        (
            "unknown issuer",
            es256(&claims("https://evil.example", "alice", "n1")),
            None,
            "invalid_grant",
        ),
        ("wrong signature", forged, None, "invalid_grant"),
        ("key of another kid", other_key, None, "invalid_grant"),
        ("alg none", none_alg, None, "invalid_grant"),
        ("alg HS256", hs256, None, "invalid_grant"),
        (
            "wrong aud",
            es256(&patched(ok("n2"), json!({"aud": "https://rp.example"}))),
            None,
            "invalid_grant",
        ),
        (
            "expired",
            es256(&patched(ok("n3"), json!({"exp": t - 120}))),
            None,
            "invalid_grant",
        ),
        (
            "exp too far",
            es256(&patched(ok("n4"), json!({"exp": t + 86400}))),
            None,
            "invalid_grant",
        ),
        (
            "nbf in future",
            es256(&patched(ok("n5"), json!({"nbf": t + 600}))),
            None,
            "invalid_grant",
        ),
        (
            "iat far in past",
            es256(&patched(ok("n6"), json!({"iat": t - 3600}))),
            None,
            "invalid_grant",
        ),
        (
            "missing sub",
            es256(&patched(ok("n7"), json!({"sub": null}))),
            None,
            "invalid_grant",
        ),
        (
            "missing jti",
            es256(&patched(ok("n8"), json!({"jti": null}))),
            None,
            "invalid_grant",
        ),
        (
            "missing exp",
            es256(&patched(ok("n9"), json!({"exp": null}))),
            None,
            "invalid_grant",
        ),
        (
            "disallowed subject",
            es256(&claims(IDP, "mallory", "n10")),
            None,
            "invalid_grant",
        ),
        (
            "allowed subject, no such user",
            es256(&claims(IDP, "bob", "n11")),
            None,
            "invalid_grant",
        ),
        (
            "disallowed scope",
            es256(&ok("n12")),
            Some("admin"),
            "invalid_scope",
        ),
        ("malformed", "not.a.jwt".into(), None, "invalid_grant"),
        (
            "malformed JSON",
            format!("{}.{}.AA", b64("{"), b64("{}")),
            None,
            "invalid_grant",
        ),
        ("oversized", "e".repeat(20_000), None, "invalid_grant"),
        ("empty", String::new(), None, "invalid_request"),
    ];
    for (what, assertion, scope, want) in &table {
        let r = grant(&app, "jb", SECRET, assertion, *scope);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert_eq!(&error_of(&r), want, "{what}: {}", r.text());
        assert!(r.json()["error_description"].is_string(), "{what}");
    }
    // Replayed jti.
    let once = es256(&ok("replay"));
    assert_eq!(grant(&app, "jb", SECRET, &once, None).status, 200);
    let r = grant(&app, "jb", SECRET, &once, None);
    assert_eq!(error_of(&r), "invalid_grant", "{}", r.text());
    assert!(r.text().contains("already used"), "{}", r.text());
    // The client: without the grant, wrong secret, none at all.
    let fresh = es256(&ok("client-checks"));
    let r = grant(&app, "cc", SECRET, &fresh, None);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "unauthorized_client")
    );
    let r = grant(&app, "jb", "wrong-secret", &fresh, None);
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = token(
        &app,
        None,
        &form(&[("grant_type", GRANT), ("assertion", &fresh)]),
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    // None of those used the assertion up.
    assert_eq!(grant(&app, "jb", SECRET, &fresh, None).status, 200);
}

#[test]
fn one_assertion_raced_twelve_times_yields_one_token() {
    let (_data, app) = setup();
    let assertion = es256(&claims(IDP, "alice", "raced"));
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    let r = grant(&app, "jb", SECRET, &assertion, Some("api"));
                    (r.status, error_of(&r))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|(s, e)| *s == 200 || (*s == 400 && e == "invalid_grant")),
        "{statuses:?}"
    );
}

#[test]
fn registration_and_discovery_offer_the_grant() {
    let (_data, app) = setup_with(&[("SPIN_VARIABLE_REGISTRATION_MODE", "open")]);
    let doc = app.get("/.well-known/openid-configuration").json();
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == GRANT));
    // Dynamic registration accepts the grant for a confidential client and
    // refuses it for a public one.
    let register = |metadata: Value| {
        app.request(
            "POST",
            "/register",
            &[("content-type", "application/json")],
            metadata.to_string().as_bytes(),
        )
    };
    let r = register(json!({"grant_types": [GRANT], "client_name": "assertion client"}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["grant_types"], json!([GRANT]));
    let r = register(json!({"grant_types": [GRANT], "token_endpoint_auth_method": "none"}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client_metadata");
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
