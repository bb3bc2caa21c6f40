//! The login and consent pages in headless Chromium (tests/browser, run
//! with Node's test runner and playwright-core).

use crate::harness::{admin, repo_root, App, DataDir};
use std::process::Command;

#[test]
fn login_and_consent_pages_in_chromium() {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--password",
            "browser-password-1",
            "--claims",
            r#"{"email":"carol@example.com","name":"Carol"}"#,
        ],
    );
    let metadata = data.dir.path().join("client.json");
    std::fs::write(
        &metadata,
        r#"{"redirect_uris":["https://rp.example.test/callback"],"token_endpoint_auth_method":"none","client_name":"Browser test app"}"#,
    )
    .unwrap();
    admin(
        &data,
        &[
            "client",
            "add",
            "--metadata",
            metadata.to_str().unwrap(),
            "--client-id",
            "browser",
        ],
    );
    let dir = repo_root().join("tests/browser");
    let out = Command::new("node")
        .current_dir(&dir)
        .args(["--test", "--test-concurrency=1", "login.test.mjs"])
        .env("ISSUER", format!("http://{}", app.addr))
        .env("CLIENT_ID", "browser")
        .env("REDIRECT_URI", "https://rp.example.test/callback")
        .env("USERNAME", "carol")
        .env("PASSWORD", "browser-password-1")
        .output()
        .expect("node (see .ci/run: chromium and playwright-core are installed there)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{}\nrunner log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.log()
    );
    assert!(stdout.contains("# pass 3"), "{stdout}");
}
