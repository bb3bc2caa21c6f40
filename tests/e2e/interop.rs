//! Real client code nobody here wrote, against the running app.

use crate::harness::{admin, repo_root, App, DataDir};
use std::process::Command;

const REDIRECT_URI: &str = "https://rp.example.test/callback";

#[test]
fn authlib_drives_discovery_code_pkce_token_userinfo_refresh_revoke() {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let issuer = format!("http://{}", app.addr);
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--password",
            "correct horse battery",
            "--claims",
            r#"{"email":"alice@example.com","email_verified":true,"name":"Alice"}"#,
        ],
    );
    let metadata = data.dir.path().join("client.json");
    std::fs::write(
        &metadata,
        format!(
            r#"{{"redirect_uris":["{REDIRECT_URI}"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"client_secret_basic","client_name":"Authlib"}}"#
        ),
    )
    .unwrap();
    let secret = "authlib-interop-secret-0123456789abcdef";
    admin(
        &data,
        &[
            "client",
            "add",
            "--metadata",
            metadata.to_str().unwrap(),
            "--client-id",
            "authlib",
            "--client-secret",
            secret,
        ],
    );
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/authlib_flow.py"))
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", "authlib")
        .env("CLIENT_SECRET", secret)
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("USERNAME", "alice")
        .env("PASSWORD", "correct horse battery")
        .output()
        .expect("python3 (install authlib and requests: see .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "authlib flow failed:\n{stdout}\n{stderr}\nrunner log:\n{}",
        app.log()
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
}

/// DPoP proofs signed, and keys thumbprinted, by Authlib's JOSE.
#[test]
fn authlib_dpop_proofs_bind_tokens() {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let issuer = format!("http://{}", app.addr);
    let metadata = data.dir.path().join("cc.json");
    std::fs::write(
        &metadata,
        r#"{"grant_types":["client_credentials"],"scope":"api"}"#,
    )
    .unwrap();
    let secret = "authlib-dpop-secret-0123456789abcdef012";
    admin(
        &data,
        &[
            "client",
            "add",
            "--metadata",
            metadata.to_str().unwrap(),
            "--client-id",
            "dpop-cc",
            "--client-secret",
            secret,
        ],
    );
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/dpop_authlib.py"))
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", "dpop-cc")
        .env("CLIENT_SECRET", secret)
        .output()
        .expect("python3 (install authlib and requests: scripts/install-test-deps)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("dpop interop passed"),
        "stdout:\n{stdout}\nstderr:\n{stderr}\nlog:\n{}",
        app.log()
    );
}

#[test]
fn authlib_validates_hybrid_and_implicit_id_tokens() {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let issuer = format!("http://{}", app.addr);
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--password",
            "correct horse battery",
            "--claims",
            r#"{"email":"alice@example.com","email_verified":true}"#,
        ],
    );
    let metadata = data.dir.path().join("client.json");
    std::fs::write(
        &metadata,
        format!(
            r#"{{"redirect_uris":["{REDIRECT_URI}"],"grant_types":["authorization_code","implicit"],"response_types":["code id_token","code id_token token","id_token token","id_token"],"client_name":"Authlib front channel"}}"#
        ),
    )
    .unwrap();
    let secret = "authlib-interop-secret-0123456789abcdef";
    admin(
        &data,
        &[
            "client",
            "add",
            "--metadata",
            metadata.to_str().unwrap(),
            "--client-id",
            "authlib-front",
            "--client-secret",
            secret,
        ],
    );
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/authlib_front_channel.py"))
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", "authlib-front")
        .env("CLIENT_SECRET", secret)
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("USERNAME", "alice")
        .env("PASSWORD", "correct horse battery")
        .output()
        .expect("python3 (install authlib and requests: see .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "authlib front-channel checks failed:\n{stdout}\n{stderr}\nrunner log:\n{}",
        app.log()
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
}
