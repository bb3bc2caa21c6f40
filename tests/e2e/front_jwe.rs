//! Encrypted front-channel responses through the runner: ID Tokens from
//! /authorize in the hybrid and implicit flows (OIDC Core §3.2.2.10,
//! §3.3.2.11) and JARM responses (JARM §2.2) for clients that registered
//! `id_token_encrypted_response_alg`/`authorization_encrypted_response_alg`.
//! Python `jwcrypto` (code nobody here wrote) decrypts them with the
//! client's private keys and verifies the inner signatures against our JWK
//! Set (tests/interop/jwe_decrypt.py `front`); a client whose keys cannot
//! be had receives nothing readable, never a 5xx.

use serde_json::{json, Value};

use crate::auth::{add_client, at_client, param, setup, Browser, CB};
use crate::harness::{admin_command, repo_root, App, ISSUER};

/// (ID Token alg, enc, JARM alg, enc): every key type and both enc
/// families, RSA-OAEP-256 and ECDH-ES+A128KW among them.
const PAIRS: [(&str, &str, &str, &str); 4] = [
    ("RSA-OAEP-256", "A256GCM", "ECDH-ES+A128KW", "A128CBC-HS256"),
    ("ECDH-ES+A128KW", "A128GCM", "RSA-OAEP-256", "A256CBC-HS512"),
    ("ECDH-ES", "A128CBC-HS256", "RSA-OAEP", "A128GCM"),
    ("RSA-OAEP", "A256CBC-HS512", "ECDH-ES+A256KW", "A256GCM"),
];

fn python(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new("python3");
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

fn authz(client: &str, response_type: &str, extra: &str) -> String {
    authz_scope(client, response_type, "openid", extra)
}

fn authz_scope(client: &str, response_type: &str, scope: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type={}&client_id={client}&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb\
         &scope={scope}&state=st-e&nonce=n-e{extra}",
        response_type.replace(' ', "+")
    )
}

fn front_client(extra: Value) -> Value {
    let mut m = json!({"redirect_uris": [CB], "grant_types": ["authorization_code", "implicit"],
                       "response_types": ["code id_token", "id_token", "code id_token token"]});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

fn is_jwe(token: &str) -> bool {
    token.split('.').count() == 5
}

#[test]
fn jwcrypto_decrypts_front_channel_id_tokens_and_jarm_responses() {
    let data = setup();
    let dir = data.dir.path().to_str().unwrap().to_string();
    let (ok, public) = python(&["keys", &dir], &[]);
    assert!(ok, "{public}");
    let jwks: Value = serde_json::from_str(public.trim()).unwrap();
    for (n, (id_alg, id_enc, alg, enc)) in PAIRS.iter().enumerate() {
        add_client(
            &data,
            &format!("fe-{n}"),
            &front_client(json!({
                "jwks": jwks,
                "id_token_encrypted_response_alg": id_alg,
                "id_token_encrypted_response_enc": id_enc,
                "authorization_encrypted_response_alg": alg,
                "authorization_encrypted_response_enc": enc,
                "id_token_signed_response_alg": if n % 2 == 0 { "RS256" } else { "ES256" },
                "authorization_signed_response_alg": if n % 2 == 0 { "ES256" } else { "RS256" },
            })),
        );
    }
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let mut cases = Vec::new();
    for (n, (id_alg, id_enc, alg, enc)) in PAIRS.iter().enumerate() {
        let client = format!("fe-{n}");
        let first = if n == 0 {
            b.sign_in_and_approve(&authz(&client, "code id_token", ""), "alice")
        } else {
            // Consent is per client.
            let r = b.get(&authz(&client, "code id_token", ""));
            let consent = b.follow(&r);
            b.submit(&consent, "/consent", &[("decision", "approve")])
        };
        // Hybrid, fragment: the ID Token is a JWE; the code is readable.
        let p = at_client(&first);
        let id_token = param(&p, "id_token").unwrap();
        assert!(is_jwe(id_token), "{id_token}");
        assert!(param(&p, "code").is_some() && param(&p, "iss") == Some(ISSUER));
        cases.push(
            json!({"client_id": client, "nonce": "n-e", "id_token": id_token,
                          "id_alg": id_alg, "id_enc": id_enc}),
        );
        // Implicit, form_post: the same.
        let r = b.get(&authz(&client, "id_token", "&response_mode=form_post"));
        let p = at_client(&r);
        cases.push(json!({"client_id": client, "nonce": "n-e",
                          "id_token": param(&p, "id_token").unwrap(),
                          "id_alg": id_alg, "id_enc": id_enc}));
        // JARM in each encoding: one encrypted `response`, holding the
        // code, the (encrypted) ID Token and the access token.
        for mode in ["jwt", "form_post.jwt", "query.jwt"] {
            let r = b.get(&authz(
                &client,
                "code id_token token",
                &format!("&response_mode={mode}"),
            ));
            let p = at_client(&r);
            assert_eq!(p.len(), 1, "{mode}: {p:?}");
            let response = param(&p, "response").unwrap();
            assert!(is_jwe(response), "{mode}: {response}");
            cases.push(
                json!({"client_id": client, "nonce": "n-e", "response": response,
                              "alg": alg, "enc": enc, "id_alg": id_alg, "id_enc": id_enc,
                              "state": "st-e"}),
            );
        }
        // A JARM error (prompt=none without consent for this scope) is
        // encrypted too.
        let r = b.get(&authz_scope(
            &client,
            "id_token",
            "openid+profile",
            "&response_mode=fragment.jwt&prompt=none",
        ));
        let p = at_client(&r);
        cases.push(
            json!({"client_id": client, "response": param(&p, "response").unwrap(),
                          "alg": alg, "enc": enc, "state": "st-e", "error": "consent_required"}),
        );
    }
    let path = data.dir.path().join("front-cases.json");
    std::fs::write(&path, Value::Array(cases).to_string()).unwrap();
    let jwks_url = format!("http://{}/.well-known/jwks.json", app.addr);
    let (ok, out) = python(
        &["front", path.to_str().unwrap()],
        &[("ISSUER", ISSUER), ("JWKS_URL", &jwks_url)],
    );
    assert!(ok, "{out}\nrunner log:\n{}", app.log());
    assert!(out.contains("24 passed, 0 failed"), "{out}");
}

/// Registration accepts encryption with front-channel ID Tokens and JARM
/// now, and refuses what OIDC Registration §2 and JARM §3 forbid; a client
/// whose `jwks_uri` cannot be fetched (op-auth has no outbound hosts by
/// default) is told so at its redirect URI, or on a page for JARM, and
/// gets no code or token; discovery lists the JARM encryption values.
#[test]
fn registration_unreachable_keys_and_discovery() {
    let data = setup();
    let table = [
        (
            json!({"id_token_encrypted_response_alg": "RSA-OAEP-256", "jwks_uri": "https://rp.example/j"}),
            true,
        ),
        (
            json!({"authorization_encrypted_response_alg": "ECDH-ES+A128KW", "jwks_uri": "https://rp.example/j"}),
            true,
        ),
        (
            json!({"authorization_encrypted_response_alg": "RSA1_5", "jwks_uri": "https://rp.example/j"}),
            false,
        ),
        (
            json!({"authorization_encrypted_response_alg": "RSA-OAEP", "authorization_encrypted_response_enc": "A192GCM", "jwks_uri": "https://rp.example/j"}),
            false,
        ),
        (
            json!({"authorization_encrypted_response_enc": "A128GCM", "jwks_uri": "https://rp.example/j"}),
            false,
        ),
        (
            json!({"authorization_encrypted_response_alg": "RSA-OAEP"}),
            false,
        ),
        (
            json!({"authorization_encrypted_response_alg": "ECDH-ES", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}),
            false,
        ),
    ];
    for (i, (extra, ok)) in table.iter().enumerate() {
        let path = data.dir.path().join(format!("reg-{i}.json"));
        std::fs::write(&path, front_client(extra.clone()).to_string()).unwrap();
        let out = admin_command(
            &data,
            &["client", "add", "--metadata", &path.to_string_lossy()],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.success(), *ok, "{extra}: {out:?}");
    }
    add_client(
        &data,
        "far",
        &front_client(json!({"jwks_uri": "https://rp.example/j",
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "authorization_encrypted_response_alg": "RSA-OAEP-256"})),
    );
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let r = b.sign_in_and_approve(&authz("far", "code id_token", ""), "alice");
    let p = at_client(&r);
    assert_eq!(param(&p, "error"), Some("invalid_request"), "{p:?}");
    assert!(param(&p, "error_description")
        .unwrap()
        .contains("id_token_encrypted_response_alg"));
    assert!(param(&p, "code").is_none() && param(&p, "id_token").is_none());
    for mode in ["jwt", "form_post.jwt"] {
        let r = b.get(&authz("far", "code", &format!("&response_mode={mode}")));
        assert_eq!(r.status, 400, "{mode}: {}", r.text());
        assert!(r.header("location").is_none());
        assert!(
            r.text().contains("authorization_encrypted_response_alg"),
            "{}",
            r.text()
        );
    }
    let doc = app.get("/.well-known/openid-configuration").json();
    assert_eq!(
        doc["authorization_encryption_alg_values_supported"],
        json!([
            "RSA-OAEP-256",
            "RSA-OAEP",
            "ECDH-ES",
            "ECDH-ES+A128KW",
            "ECDH-ES+A256KW"
        ])
    );
    assert_eq!(
        doc["authorization_encryption_enc_values_supported"],
        json!(["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"])
    );
    assert!(!app.log().contains("panicked"));
}
