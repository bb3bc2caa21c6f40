//! Encrypted ID Tokens and UserInfo responses (OIDC Core §10.2, OIDC
//! Registration §2) through the runner: every alg/enc pair decrypted by
//! Python `jwcrypto` (tests/interop/jwe_decrypt.py), whose inner signatures
//! it verifies against our JWK Set; and the negative tables (registration,
//! keys that do not fit), never a 5xx.

use std::process::Command;

use serde_json::{json, Value};

use crate::harness::{repo_root, App, DataDir, Response, ISSUER};
use crate::token::{
    add_client, add_user, basic, code_for, form, token, Browser, REDIRECT, SECRET, VERIFIER,
};
use crate::userinfo::userinfo_get;

const ALGS: [&str; 5] = [
    "RSA-OAEP-256",
    "RSA-OAEP",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A256KW",
];
const ENCS: [&str; 4] = ["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"];
const JSON_CT: (&str, &str) = ("content-type", "application/json");

fn python(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("tests/interop/jwe_decrypt.py"))
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("python3 with jwcrypto (scripts/install-test-deps)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn redeem_basic(app: &App, client_id: &str, code: &str) -> Response {
    token(
        app,
        Some(&basic(client_id, SECRET)),
        &form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]),
    )
}

fn rp(extra: Value) -> Value {
    let mut m = json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code"],
                       "token_endpoint_auth_method": "client_secret_basic"});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

#[test]
fn jwcrypto_decrypts_every_alg_enc_pair_and_verifies_our_signatures() {
    let data = DataDir::new();
    let app = App::start(&data);
    add_user(&data);
    let dir = data.dir.path().to_str().unwrap().to_string();
    let (ok, public) = python(&["keys", &dir], &[]);
    assert!(ok, "{public}");
    let jwks: Value = serde_json::from_str(public.trim()).unwrap();

    let mut cases = Vec::new();
    let mut browser = Browser::default();
    for (i, alg) in ALGS.iter().enumerate() {
        for (j, enc) in ENCS.iter().enumerate() {
            let n = i * ENCS.len() + j;
            let client_id = format!("jwe-{n}");
            // Vary what else the client registered: ES256 or RS256 ID
            // Tokens, signed (nested) or plain JSON UserInfo.
            let signed_userinfo = n.is_multiple_of(2);
            let mut extra = json!({
                "jwks": jwks,
                "id_token_encrypted_response_alg": alg,
                "id_token_encrypted_response_enc": enc,
                "userinfo_encrypted_response_alg": alg,
                "userinfo_encrypted_response_enc": enc,
                "id_token_signed_response_alg": if n.is_multiple_of(3) { "ES256" } else { "RS256" },
            });
            if signed_userinfo {
                extra["userinfo_signed_response_alg"] = json!(if n.is_multiple_of(4) {
                    "RS256"
                } else {
                    "ES256"
                });
            }
            add_client(&data, &client_id, Some(SECRET), &rp(extra));
            let code = code_for(&app, &mut browser, &client_id, "openid email");
            let r = redeem_basic(&app, &client_id, &code);
            assert_eq!(r.status, 200, "{client_id}: {}", r.text());
            let body = r.json();
            let id_token = body["id_token"].as_str().unwrap().to_string();
            assert_eq!(id_token.split('.').count(), 5, "a compact JWE");
            let access = body["access_token"].as_str().unwrap();
            let u = userinfo_get(&app, access);
            assert_eq!(u.status, 200, "{}", u.text());
            assert_eq!(u.header("content-type"), Some("application/jwt"));
            cases.push(json!({
                "client_id": client_id, "alg": alg, "enc": enc, "id_token": id_token,
                "userinfo": u.text(), "userinfo_signed": signed_userinfo,
                "nonce": "n-0S6_WzA2Mj",
            }));
        }
    }
    let path = data.dir.path().join("cases.json");
    std::fs::write(&path, Value::Array(cases).to_string()).unwrap();
    let jwks_url = format!("http://{}/.well-known/jwks.json", app.addr);
    let (ok, out) = python(
        &["check", path.to_str().unwrap()],
        &[("ISSUER", ISSUER), ("JWKS_URL", &jwks_url)],
    );
    assert!(ok, "{out}\nrunner log:\n{}", app.log());
    assert!(out.contains("20 passed, 0 failed"), "{out}");
}

/// A UserInfo response signed by the OP (no encryption): `application/jwt`
/// with `iss` and `aud` (OIDC Core §5.3.2), verified with our JWK Set.
#[test]
fn signed_userinfo_and_plain_clients() {
    let data = DataDir::new();
    let app = App::start(&data);
    add_user(&data);
    add_client(
        &data,
        "signed",
        Some(SECRET),
        &rp(json!({"userinfo_signed_response_alg": "ES256"})),
    );
    add_client(&data, "plain", Some(SECRET), &rp(json!({})));
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "signed", "openid email");
    let r = redeem_basic(&app, "signed", &code);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["id_token"].as_str().unwrap().split('.').count(), 3);
    let u = userinfo_get(&app, body["access_token"].as_str().unwrap());
    assert_eq!(u.status, 200);
    assert_eq!(u.header("content-type"), Some("application/jwt"));
    // No `typ` (OIDC Core §5.3.2 names none); verified with our JWK Set.
    let text = u.text();
    let header = jsonwebtoken::decode_header(&text).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.typ, None);
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&["signed"]);
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(&text, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["email"], "alice@example.test");
    let code = code_for(&app, &mut browser, "plain", "openid email");
    let r = redeem_basic(&app, "plain", &code);
    let u = userinfo_get(&app, r.json()["access_token"].as_str().unwrap());
    assert!(u
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(u.json()["email"], "alice@example.test");
}

/// Registration (RFC 7591 over op-management, and `authrim admin client
/// add`) refuses what OIDC Registration §2 forbids, with
/// `invalid_client_metadata`; a client whose `jwks_uri` cannot give a key
/// gets a 400 at /token without losing its code's grant to a 5xx.
#[test]
fn negative_tables() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_REGISTRATION_MODE", "open")]);
    add_user(&data);
    let ec_sig = json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": "s",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let table: Vec<(Value, &str)> = vec![
        (
            json!({"id_token_encrypted_response_alg": "RSA1_5", "jwks_uri": "https://rp.example/j"}),
            "id_token_encrypted_response_alg: unsupported value `RSA1_5`",
        ),
        (
            json!({"id_token_encrypted_response_alg": "dir", "jwks_uri": "https://rp.example/j"}),
            "unsupported value `dir`",
        ),
        (
            json!({"id_token_encrypted_response_alg": "RSA-OAEP", "id_token_encrypted_response_enc": "A192GCM", "jwks_uri": "https://rp.example/j"}),
            "id_token_encrypted_response_enc: unsupported value `A192GCM`",
        ),
        (
            json!({"userinfo_encrypted_response_alg": "ECDH-ES+A192KW", "jwks_uri": "https://rp.example/j"}),
            "unsupported value `ECDH-ES+A192KW`",
        ),
        (
            json!({"userinfo_signed_response_alg": "none"}),
            "userinfo_signed_response_alg: unsupported value `none`",
        ),
        (
            json!({"userinfo_signed_response_alg": "HS256"}),
            "userinfo_signed_response_alg must be RS256 or ES256",
        ),
        (
            json!({"id_token_encrypted_response_enc": "A128GCM"}),
            "id_token_encrypted_response_enc needs id_token_encrypted_response_alg",
        ),
        (
            json!({"userinfo_encrypted_response_enc": "A128GCM"}),
            "userinfo_encrypted_response_enc needs userinfo_encrypted_response_alg",
        ),
        (
            json!({"id_token_encrypted_response_alg": "RSA-OAEP"}),
            "id_token_encrypted_response_alg needs jwks or jwks_uri",
        ),
        (
            json!({"userinfo_encrypted_response_alg": "ECDH-ES", "jwks": {"keys": [ec_sig]}}),
            "jwks holds no key for it",
        ),
        (
            json!({"id_token_encrypted_response_alg": "RSA-OAEP-256", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}),
            "jwks holds no key for it (an RSA key",
        ),
        (
            json!({"id_token_encrypted_response_alg": "ECDH-ES", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}),
            "jwks: unusable key",
        ),
        (
            json!({"id_token_encrypted_response_alg": "ECDH-ES", "jwks": {"keys": "nope"}}),
            "jwks: invalid JSON: keys",
        ),
        (
            json!({"id_token_encrypted_response_alg": "ECDH-ES", "jwks": "x"}),
            "jwks",
        ),
        (
            json!({"id_token_encrypted_response_alg": 5, "jwks_uri": "https://rp.example/j"}),
            "invalid type: integer `5`",
        ),
    ];
    for (extra, why) in &table {
        let r = app.request(
            "POST",
            "/register",
            &[JSON_CT],
            rp(extra.clone()).to_string().as_bytes(),
        );
        assert_eq!(r.status, 400, "{extra}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_client_metadata", "{extra}");
        let d = r.json()["error_description"].as_str().unwrap().to_string();
        assert!(d.contains(why), "{extra}: {d}");
        // The admin command-line interface applies the same rules.
        let path = data.dir.path().join("bad.json");
        std::fs::write(&path, rp(extra.clone()).to_string()).unwrap();
        let out = crate::harness::admin_command(
            &data,
            &[
                "client",
                "add",
                "--metadata",
                path.to_str().unwrap(),
                "--client-id",
                "bad",
            ],
        )
        .output()
        .unwrap();
        assert!(!out.status.success(), "{extra}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{extra}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Accepted: the response shows the default enc.
    let ok = rp(
        json!({"id_token_encrypted_response_alg": "RSA-OAEP", "jwks_uri": "https://rp.example/jwks"}),
    );
    let r = app.request("POST", "/register", &[JSON_CT], ok.to_string().as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id_token_encrypted_response_enc"], "A128CBC-HS256");

    // A registered jwks_uri the OP may not fetch (not in
    // allowed_outbound_hosts): /token says the client has no key, 400.
    add_client(&data, "unreachable", Some(SECRET), &ok);
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "unreachable", "openid");
    let r = redeem_basic(&app, "unreachable", &code);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("holds no key for id_token_encrypted_response_alg RSA-OAEP"));
    // The code was not consumed by the refusal: once the key problem is
    // fixed the client could still redeem it (here: it is still valid).
    let r = redeem_basic(&app, "unreachable", &code);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");

    // UserInfo for a client whose encryption keys cannot be had: 400, no 5xx.
    add_client(
        &data,
        "ui",
        Some(SECRET),
        &rp(
            json!({"userinfo_encrypted_response_alg": "ECDH-ES", "jwks_uri": "https://rp.example/jwks"}),
        ),
    );
    let code = code_for(&app, &mut browser, "ui", "openid");
    let r = redeem_basic(&app, "ui", &code);
    assert_eq!(r.status, 200, "{}", r.text());
    let u = userinfo_get(&app, r.json()["access_token"].as_str().unwrap());
    assert_eq!(u.status, 400, "{}", u.text());
    assert_eq!(u.json()["error"], "invalid_request");
}
