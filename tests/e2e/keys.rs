//! Key rotation as an operator does it, seen through the JWK Set.

use crate::harness::{admin, admin_command, repo_root, App, DataDir};

fn jwks_algs(app: &App) -> Vec<String> {
    let mut algs: Vec<String> = app.get("/.well-known/jwks.json").json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        // The signing keys; the encryption key (`use: enc`) does not rotate.
        .filter(|k| k["use"] == "sig")
        .map(|k| k["alg"].as_str().unwrap().to_string())
        .collect();
    algs.sort();
    algs
}

#[test]
fn rotation_publishes_the_new_key_at_once_and_keeps_the_old_one() {
    let data = DataDir::new();
    let app = App::start(&data);
    assert_eq!(jwks_algs(&app), ["ES256", "RS256"]);
    admin(&data, &["keys", "rotate", "--alg", "ES256"]);
    // Published immediately (before it signs), old key still published.
    assert_eq!(jwks_algs(&app), ["ES256", "ES256", "RS256"]);
    admin(&data, &["keys", "rotate", "--alg", "RS256", "--immediate"]);
    assert_eq!(jwks_algs(&app), ["ES256", "ES256", "RS256", "RS256"]);
}

#[test]
fn rotation_refuses_an_unknown_algorithm() {
    let data = DataDir::new();
    let out = admin_command(&data, &["keys", "rotate", "--alg", "HS256"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HS256"), "{stderr}");
}

/// Signs through the key manager via the store probe fixture, a second app
/// sharing the data directory (as a replica would).
fn sign(probe: &App, alg: &str) -> String {
    let claims = format!(
        "%7B%22iss%22%3A%22{}%22%2C%22sub%22%3A%22probe%22%2C%22exp%22%3A4102444800%7D",
        "https%3A%2F%2Fid.example.test"
    );
    let r = probe.get(&format!(
        "/store/?op=store-sign&alg={alg}&typ=JWT&claims={claims}"
    ));
    let body = r.json();
    body["ok"]
        .as_str()
        .unwrap_or_else(|| panic!("sign {alg}: {body}"))
        .to_string()
}

fn store_probe(data: &DataDir) -> App {
    let migrations = repo_root().join("migrations");
    App::start_manifest(
        &repo_root().join("tests/fixtures/spin-store.toml"),
        data,
        &["--migrations", migrations.to_str().unwrap()],
    )
}

/// Verifies `jws` with the JWKS the OP publishes, using the `jsonwebtoken`
/// crate (code nobody here wrote); returns the kid used.
fn verify_with_jwks(app: &App, jws: &str) -> String {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let header = decode_header(jws).unwrap();
    let kid = header.kid.clone().expect("kid in every JWS header");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&["https://id.example.test"]);
    validation.validate_aud = false;
    let data = decode::<serde_json::Value>(jws, &key, &validation).expect("signature verifies");
    assert_eq!(data.claims["sub"], "probe");
    kid
}

#[test]
fn tokens_the_op_signs_verify_against_its_jwks() {
    let data = DataDir::new();
    let app = App::start(&data);
    let probe = store_probe(&data);
    for alg in ["RS256", "ES256"] {
        let jws = sign(&probe, alg);
        verify_with_jwks(&app, &jws);
        // A tampered payload does not verify.
        let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
        parts[1] = parts[1].chars().rev().collect();
        let tampered = parts.join(".");
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
        let header = jsonwebtoken::decode_header(&tampered).unwrap();
        let key =
            jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(
            &tampered,
            &key,
            &jsonwebtoken::Validation::new(header.alg)
        )
        .is_err());
    }
}

#[test]
fn a_rotated_key_signs_only_after_its_publish_delay() {
    let data = DataDir::new();
    let app = App::start(&data);
    let probe = store_probe(&data);
    let before = verify_with_jwks(&app, &sign(&probe, "ES256"));
    // Scheduled rotation: published now, not yet signing.
    admin(&data, &["keys", "rotate", "--alg", "ES256"]);
    assert_eq!(verify_with_jwks(&app, &sign(&probe, "ES256")), before);
    // Emergency rotation: signs at once, and is already in the JWKS.
    admin(&data, &["keys", "rotate", "--alg", "RS256", "--immediate"]);
    let rs_after = verify_with_jwks(&app, &sign(&probe, "RS256"));
    let listed = admin(&data, &["keys", "list"]);
    assert!(listed.contains(&rs_after), "{listed}");
}
