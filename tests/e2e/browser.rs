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

/// The device verification page in headless Chromium, and openid-client
/// (code nobody here wrote) driving the device flow end to end
/// (tests/browser/device.test.mjs).
#[test]
fn device_verification_page_in_chromium_and_openid_client() {
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
    // Polls every second (an administrator's per-client setting), so the
    // library's polling loop does not make the test slow.
    let metadata = data.dir.path().join("device-client.json");
    std::fs::write(
        &metadata,
        r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none","client_name":"Living-room TV","device_poll_interval":1}"#,
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
            "tv",
        ],
    );
    let dir = repo_root().join("tests/browser");
    let out = Command::new("node")
        .current_dir(&dir)
        .args(["--test", "--test-concurrency=1", "device.test.mjs"])
        .env("ISSUER", format!("http://{}", app.addr))
        .env("DEVICE_CLIENT_ID", "tv")
        .env("USERNAME", "carol")
        .env("PASSWORD", "browser-password-1")
        .output()
        .expect(
            "node (scripts/install-test-deps installs chromium, playwright-core, openid-client)",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "device browser tests failed:\n{stdout}\n{}\nrunner log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.log()
    );
    assert!(stdout.contains("# pass 3"), "{stdout}");
}

/// The CIBA approval page in headless Chromium: approve and deny
/// (tests/browser/ciba.test.mjs).
#[test]
fn ciba_approval_page_in_chromium() {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "dave",
            "--password",
            "browser-password-2",
        ],
    );
    let metadata = data.dir.path().join("ciba-client.json");
    std::fs::write(
        &metadata,
        r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll","client_name":"Web Shop"}"#,
    )
    .unwrap();
    let secret = "ciba-browser-client-secret-0123456789abcdef";
    admin(
        &data,
        &[
            "client",
            "add",
            "--metadata",
            metadata.to_str().unwrap(),
            "--client-id",
            "shop",
            "--client-secret",
            secret,
        ],
    );
    let dir = repo_root().join("tests/browser");
    let out = Command::new("node")
        .current_dir(&dir)
        .args(["--test", "--test-concurrency=1", "ciba.test.mjs"])
        .env("ISSUER", format!("http://{}", app.addr))
        .env("CIBA_CLIENT_ID", "shop")
        .env("CIBA_CLIENT_SECRET", secret)
        .env("USERNAME", "dave")
        .env("PASSWORD", "browser-password-2")
        .output()
        .expect("node (scripts/install-test-deps installs chromium and playwright-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "CIBA browser tests failed:\n{stdout}\n{}\nrunner log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.log()
    );
    assert!(stdout.contains("# pass 2"), "{stdout}");
}
