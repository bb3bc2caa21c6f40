//! Key rotation as an operator does it, seen through the JWK Set.

use crate::harness::{admin, admin_command, App, DataDir};

fn jwks_algs(app: &App) -> Vec<String> {
    let mut algs: Vec<String> = app.get("/.well-known/jwks.json").json()["keys"]
        .as_array()
        .unwrap()
        .iter()
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
