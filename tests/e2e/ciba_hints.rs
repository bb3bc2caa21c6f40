//! CIBA `login_hint_token` and `user_code` through the runner: a
//! `login_hint_token` signed (by `jsonwebtoken`, code nobody here wrote)
//! for an issuer trusted with `authrim admin issuer add` starts a request
//! that alice approves and the client redeems; its negative table; the
//! `user_code` of a client registered with `backchannel_user_code_parameter`
//! (set with `authrim admin user set-user-code`): missing, wrong, right,
//! and the per-user throttle, also under parallel guesses. Never a 5xx.

use std::sync::{Arc, Barrier};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::ciba::{bc_authorize, claims, decide, poll};
use crate::device::{add_client, error_of, Browser, PASSWORD};
use crate::harness::{admin, admin_command, App, DataDir};
use crate::jwt_bearer::{b64, es256, issuer_jwks, patched, rs256, IDP, SVC};
use crate::token::{form, now};

const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";
const CODE: &str = "482916";
/// `user_code::LIMIT` in op-async: wrong codes per user per 15 minutes.
const LIMIT: usize = 5;

/// Poll-mode clients `bank` and `pin` (registered with
/// `backchannel_user_code_parameter`), users alice (id `user-alice`, the
/// approval page's password) and bob, and the issuers `IDP` (user
/// subjects alice, user-alice, bob, ghost) and `SVC` (service subjects).
fn setup() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let ciba = |extra: Value| {
        let mut m = json!({"grant_types": [CIBA_GRANT], "backchannel_token_delivery_mode": "poll"});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    add_client(&data, "bank", ciba(json!({})), true);
    add_client(
        &data,
        "pin",
        ciba(json!({"backchannel_user_code_parameter": true})),
        true,
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
            "--password",
            PASSWORD,
        ],
    );
    admin(&data, &["user", "add", "--username", "bob"]);
    let jwks = data.dir.path().join("idp-jwks.json");
    std::fs::write(&jwks, issuer_jwks()).unwrap();
    let jwks = jwks.to_str().unwrap();
    for (issuer, subjects, mapping) in [
        (IDP, &["alice", "user-alice", "bob", "ghost"][..], "user"),
        (SVC, &["*"][..], "service"),
    ] {
        let mut args = vec!["issuer", "add", "--issuer", issuer, "--jwks", jwks];
        for s in subjects {
            args.extend(["--subject", s]);
        }
        args.extend(["--mapping", mapping]);
        admin(&data, &args);
    }
    (data, app)
}

fn our_issuer(app: &App) -> String {
    format!("http://{}", app.addr)
}

fn hint_claims(app: &App, patch: Value) -> Value {
    let now = now();
    let c = json!({"iss": IDP, "sub": "alice", "aud": our_issuer(app),
                   "iat": now, "exp": now + 120});
    patched(c, patch)
}

/// Status and `error` of a `/bc-authorize` answer, after checking it is
/// no 5xx and carries no-store.
fn outcome(app: &App, client: &str, body: &str) -> (u16, String) {
    let r = bc_authorize(app, client, body);
    assert!(r.status < 500, "{body}: {} {}", r.status, r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let error = if r.status == 200 {
        assert!(r.json()["auth_req_id"].is_string());
        String::new()
    } else {
        error_of(&r)
    };
    (r.status, error)
}

fn with_hint_token(token: &str) -> String {
    form(&[("scope", "openid"), ("login_hint_token", token)])
}

#[test]
fn login_hint_token_request_is_approved_and_redeemed() {
    let (_data, app) = setup();
    let token = es256(&hint_claims(&app, json!({})));
    let r = bc_authorize(
        &app,
        "bank",
        &form(&[
            ("scope", "openid"),
            ("login_hint_token", &token),
            ("binding_message", "Sign in at the kiosk"),
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["auth_req_id"].as_str().unwrap().to_string();
    // The request reached alice: it is on her approval page.
    let mut b = Browser::new(&app);
    let list = b.open_signing_in("/bc-approve");
    assert!(
        list.text().contains("Sign in at the kiosk"),
        "{}",
        list.text()
    );
    let done = decide(&mut b, &list, 0, "approve");
    assert!(
        done.text().contains("id=\"bc-approved\""),
        "{}",
        done.text()
    );
    let tokens = poll(&app, "bank", &id);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let id_token = claims(tokens.json()["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], "user-alice");
    // The user id as `sub`, and an RS256 token with the issuer's
    // /bc-authorize URL as audience, name her too.
    let aud = format!("{}/bc-authorize", our_issuer(&app));
    for token in [
        es256(&hint_claims(&app, json!({"sub": "user-alice"}))),
        rs256(&hint_claims(&app, json!({"aud": [aud]}))),
    ] {
        assert_eq!(
            outcome(&app, "bank", &with_hint_token(&token)),
            (200, String::new())
        );
    }
    assert_eq!(
        b.get("/bc-approve")
            .text()
            .matches("class=\"bc-request\"")
            .count(),
        2
    );
}

#[test]
fn login_hint_token_negative_table_never_a_5xx() {
    let (_data, app) = setup();
    let now = now();
    let c = |patch: Value| hint_claims(&app, patch);
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.{}",
            b64(json!({"alg": alg, "kid": "ec1"}).to_string().as_bytes()),
            b64(c(json!({})).to_string().as_bytes()),
            b64([7u8; 64])
        )
    };
    let hs256 = encode(
        &Header::new(Algorithm::HS256),
        &c(json!({})),
        &EncodingKey::from_secret(b"a shared secret nobody registered"),
    )
    .unwrap();
    let tampered = {
        let good = es256(&c(json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        let other = b64(c(json!({"sub": "bob"})).to_string().as_bytes());
        format!("{}.{}.{}", parts[0], other, parts[2])
    };
    let oversized = es256(&c(json!({"pad": "x".repeat(9 * 1024)})));
    let table: Vec<(String, &str, &str)> = vec![
        (
            es256(&c(json!({"iss": "https://evil.example"}))),
            "invalid_request",
            "untrusted issuer",
        ),
        (
            es256(&c(json!({"iss": SVC}))),
            "invalid_request",
            "issuer of service subjects",
        ),
        (
            es256(&c(json!({"aud": "https://rp.example.test"}))),
            "invalid_request",
            "wrong aud",
        ),
        (es256(&c(json!({"aud": null}))), "invalid_request", "no aud"),
        (
            es256(&c(json!({"exp": now - 120}))),
            "expired_login_hint_token",
            "expired",
        ),
        (es256(&c(json!({"exp": null}))), "invalid_request", "no exp"),
        (
            es256(&c(json!({"exp": now + 7200}))),
            "invalid_request",
            "exp too far",
        ),
        (
            es256(&c(json!({"nbf": now + 600}))),
            "invalid_request",
            "not yet valid",
        ),
        (
            es256(&c(json!({"iat": now - 3600}))),
            "invalid_request",
            "too old",
        ),
        (tampered, "invalid_request", "bad signature"),
        (unsigned("none"), "invalid_request", "alg none"),
        (hs256, "invalid_request", "HS256"),
        ("not.a.jwt".into(), "invalid_request", "malformed"),
        (oversized, "invalid_request", "oversized"),
        (
            es256(&c(json!({"sub": "carol"}))),
            "invalid_request",
            "subject not allowed",
        ),
        (
            es256(&c(json!({"sub": "ghost"}))),
            "unknown_user_id",
            "no such user",
        ),
    ];
    for (token, error, why) in table {
        assert_eq!(
            outcome(&app, "bank", &with_hint_token(&token)),
            (400, error.to_string()),
            "{why}"
        );
    }
    // Exactly one hint.
    let token = es256(&c(json!({})));
    for other in [("login_hint", "alice"), ("id_token_hint", "a.b.c")] {
        let body = form(&[("scope", "openid"), ("login_hint_token", &token), other]);
        assert_eq!(
            outcome(&app, "bank", &body),
            (400, "invalid_request".into())
        );
    }
    // Nothing reached alice.
    let mut b = Browser::new(&app);
    assert!(b
        .open_signing_in("/bc-approve")
        .text()
        .contains("id=\"bc-none\""));
}

fn set_user_code(data: &DataDir, username: &str, code: &str) {
    let mut child = admin_command(
        data,
        &[
            "user",
            "set-user-code",
            "--username",
            username,
            "--user-code-stdin",
        ],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_code_is_required_checked_and_throttled() {
    let (data, app) = setup();
    let meta = app.get("/.well-known/openid-configuration").json();
    assert_eq!(meta["backchannel_user_code_parameter_supported"], true);
    // Too short a code is refused by the CLI.
    let short = admin_command(
        &data,
        &[
            "user",
            "set-user-code",
            "--username",
            "alice",
            "--user-code",
            "123",
        ],
    )
    .output()
    .unwrap();
    assert!(!short.status.success());
    set_user_code(&data, "alice", CODE);
    let ask = |client: &str, username: &str, code: Option<&str>| {
        let mut pairs = vec![("scope", "openid"), ("login_hint", username)];
        if let Some(code) = code {
            pairs.push(("user_code", code));
        }
        outcome(&app, client, &form(&pairs))
    };
    let err = |status: u16, e: &str| (status, e.to_string());
    let ok = (200, String::new());
    assert_eq!(ask("pin", "alice", None), err(400, "missing_user_code"));
    assert_eq!(ask("pin", "alice", Some(CODE)), ok);
    assert_eq!(
        ask("pin", "alice", Some("000000")),
        err(400, "invalid_user_code")
    );
    assert_eq!(
        ask("pin", "alice", Some(&"9".repeat(300))),
        err(400, "invalid_user_code")
    );
    // A client not registered for user codes may not send one.
    assert_eq!(
        ask("bank", "alice", Some(CODE)),
        err(400, "invalid_request")
    );
    assert_eq!(ask("bank", "alice", None), ok);
    // bob has no code: such clients cannot reach him.
    assert_eq!(ask("pin", "bob", Some(CODE)), err(400, "invalid_user_code"));
    // The right code cleared alice's count; now LIMIT wrong ones, and even
    // the right one is refused for the rest of the window.
    assert_eq!(ask("pin", "alice", Some(CODE)), ok);
    for _ in 0..LIMIT {
        assert_eq!(
            ask("pin", "alice", Some("111111")),
            err(400, "invalid_user_code")
        );
    }
    assert_eq!(ask("pin", "alice", Some(CODE)), err(403, "access_denied"));
    // The throttle is alice's alone.
    set_user_code(&data, "bob", "bob-secret-code");
    assert_eq!(ask("pin", "bob", Some("bob-secret-code")), ok);
    // Clearing the code (admin) leaves him unreachable for such clients.
    admin(
        &data,
        &["user", "set-user-code", "--username", "bob", "--clear"],
    );
    assert_eq!(
        ask("pin", "bob", Some("bob-secret-code")),
        err(400, "invalid_user_code")
    );
}

#[test]
fn parallel_wrong_user_codes_are_counted_atomically() {
    let (data, app) = setup();
    set_user_code(&data, "alice", CODE);
    let app = Arc::new(app);
    let n = 12;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (app, barrier) = (app.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                outcome(
                    &app,
                    "pin",
                    &form(&[
                        ("scope", "openid"),
                        ("login_hint", "alice"),
                        ("user_code", "222222"),
                    ]),
                )
            })
        })
        .collect();
    let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let checked = results
        .iter()
        .filter(|r| r.1 == "invalid_user_code")
        .count();
    let refused = results.iter().filter(|r| r.1 == "access_denied").count();
    assert_eq!((checked, refused), (LIMIT, n - LIMIT), "{results:?}");
    let right = outcome(
        &app,
        "pin",
        &form(&[
            ("scope", "openid"),
            ("login_hint", "alice"),
            ("user_code", CODE),
        ]),
    );
    assert_eq!(right, (403, "access_denied".to_string()));
}

#[test]
fn dynamic_registration_accepts_backchannel_user_code_parameter() {
    let data = DataDir::new();
    let app = App::start_as_issuer_with_env(&data, &[("SPIN_VARIABLE_REGISTRATION_MODE", "open")]);
    admin(&data, &["user", "add", "--username", "alice"]);
    set_user_code(&data, "alice", CODE);
    let r = app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        json!({"grant_types": [CIBA_GRANT], "backchannel_token_delivery_mode": "poll",
               "backchannel_user_code_parameter": true})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let registered = r.json();
    assert_eq!(registered["backchannel_user_code_parameter"], true);
    let auth = crate::token::basic(
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let ask = |body: &str| {
        let r = crate::device::post(&app, "/bc-authorize", Some(&auth), body);
        assert!(r.status < 500, "{}", r.text());
        (
            r.status,
            if r.status == 200 {
                String::new()
            } else {
                error_of(&r)
            },
        )
    };
    assert_eq!(
        ask("scope=openid&login_hint=alice"),
        (400, "missing_user_code".into())
    );
    assert_eq!(
        ask(&format!("scope=openid&login_hint=alice&user_code={CODE}")),
        (200, String::new())
    );
}
