//! CIBA (OpenID Connect Client-Initiated Backchannel Authentication Core
//! 1.0), poll mode, through the runner: `/bc-authorize`, the approval page
//! `/bc-approve` behind op-auth's sign-in, the token endpoint's polls
//! (pending, slow_down, denied, expired, approved once), UserInfo with the
//! issued token, the negative tables, and many parallel polls of one
//! approved request yielding exactly one token response; the deployment's
//! webhook receiving a signed event for each new request; ping mode's
//! callback to the client.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::device::{add_client, error_of, post, Browser, PASSWORD};
use crate::harness::{admin_command, App, DataDir, Response};
use crate::token::{form, SECRET};

const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{id}:{secret}")
        )
    )
}

/// Poll-mode clients `bank` ("Example Bank") and `bank2`, a code-only
/// client `web`, and the user alice.
fn setup() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let ciba = |name: &str| {
        json!({
            "client_name": name,
            "grant_types": [CIBA_GRANT],
            "backchannel_token_delivery_mode": "poll",
        })
    };
    add_client(&data, "bank", ciba("Example Bank"), true);
    add_client(&data, "bank2", ciba("Other Bank"), true);
    add_client(
        &data,
        "web",
        json!({"redirect_uris": ["https://rp.example.test/cb"]}),
        true,
    );
    crate::harness::admin(
        &data,
        &["user", "add", "--username", "alice", "--password", PASSWORD],
    );
    (data, app)
}

pub(crate) fn bc_authorize(app: &App, client: &str, body: &str) -> Response {
    post(app, "/bc-authorize", Some(&basic(client, SECRET)), body)
}

fn start(app: &App, body: &str) -> String {
    let r = bc_authorize(app, "bank", body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()["auth_req_id"].as_str().unwrap().to_string()
}

pub(crate) fn poll(app: &App, client: &str, auth_req_id: &str) -> Response {
    post(
        app,
        "/token",
        Some(&basic(client, SECRET)),
        &form(&[("grant_type", CIBA_GRANT), ("auth_req_id", auth_req_id)]),
    )
}

/// Allows or denies the `n`th request listed on the approval page.
pub(crate) fn decide(b: &mut Browser, page: &Response, n: usize, decision: &str) -> Response {
    b.send(
        "POST",
        "/bc-approve",
        Some(&decision_form(page, n, decision)),
    )
}

/// The approval page's form deciding its `n`th request.
fn decision_form(page: &Response, n: usize, decision: &str) -> String {
    let html = page.text();
    let field = |html: &str, name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = html.find(&marker).unwrap() + marker.len();
        html[at..].split('"').next().unwrap().to_string()
    };
    let item = html
        .split("<li class=\"bc-request\"")
        .nth(n + 1)
        .unwrap_or_else(|| panic!("no request {n}: {html}"));
    form(&[
        ("csrf", &field(item, "csrf")),
        ("request", &field(item, "request")),
        ("decision", decision),
    ])
}

pub(crate) fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn ciba_poll_flow_end_to_end() {
    let (_data, app) = setup();
    let issuer = format!("http://{}", app.addr);
    let meta = app.get("/.well-known/openid-configuration").json();
    assert_eq!(
        meta["backchannel_authentication_endpoint"],
        format!("{issuer}/bc-authorize")
    );
    assert_eq!(
        meta["backchannel_token_delivery_modes_supported"],
        json!(["poll", "ping", "push"])
    );

    let r = bc_authorize(
        &app,
        "bank",
        "scope=openid+email&login_hint=alice&binding_message=Pay+EUR+42+to+Shop&requested_expiry=600",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let started = r.json();
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let id = started["auth_req_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 43);
    let pending = poll(&app, "bank", &id);
    assert_eq!(
        (pending.status, error_of(&pending).as_str()),
        (400, "authorization_pending")
    );
    // Polled again at once: slow_down (interval 5 s).
    let fast = poll(&app, "bank", &id);
    assert_eq!((fast.status, error_of(&fast).as_str()), (400, "slow_down"));

    // alice signs in from the approval page and allows it.
    let mut b = Browser::new(&app);
    let list = b.open_signing_in("/bc-approve");
    assert_eq!(list.status, 200, "{}", list.text());
    let html = list.text();
    assert!(
        html.contains("<strong class=\"bc-client\">Example Bank</strong>"),
        "{html}"
    );
    assert!(html.contains("<strong class=\"bc-binding-message\">Pay EUR 42 to Shop</strong>"));
    assert!(html.contains("Expires in"));
    assert!(list
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    let done = decide(&mut b, &list, 0, "approve");
    assert!(
        done.text().contains("id=\"bc-approved\""),
        "{}",
        done.text()
    );
    assert!(b.get("/bc-approve").text().contains("id=\"bc-none\""));

    // Another client cannot redeem it; the right one gets tokens once.
    assert_eq!(error_of(&poll(&app, "bank2", &id)), "invalid_grant");
    let tokens = poll(&app, "bank", &id);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let t = tokens.json();
    assert_eq!(
        (t["token_type"].as_str(), t["scope"].as_str()),
        (Some("Bearer"), Some("openid email"))
    );
    let id_token = claims(t["id_token"].as_str().unwrap());
    assert_eq!(
        (id_token["aud"].as_str(), id_token["iss"].as_str()),
        (Some("bank"), Some(issuer.as_str()))
    );
    assert!(id_token["auth_time"].is_i64());
    assert!(id_token
        .get("urn:openid:params:jwt:claim:auth_req_id")
        .is_none());
    let at = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let info = app.request("GET", "/userinfo", &[("authorization", &at)], b"");
    assert_eq!(info.status, 200, "{}", info.text());
    assert_eq!(info.json()["sub"], id_token["sub"]);
    assert_eq!(error_of(&poll(&app, "bank", &id)), "invalid_grant");

    // An id_token_hint naming alice works too; a denial is access_denied.
    let hint = t["id_token"].as_str().unwrap();
    let denied_id = start(&app, &form(&[("scope", "openid"), ("id_token_hint", hint)]));
    let list = b.get("/bc-approve");
    let done = decide(&mut b, &list, 0, "deny");
    assert!(done.text().contains("id=\"bc-denied\""), "{}", done.text());
    let denied = poll(&app, "bank", &denied_id);
    assert_eq!(
        (denied.status, error_of(&denied).as_str()),
        (400, "access_denied")
    );
    // Deciding twice (a replayed form) changes nothing.
    let again = decide(&mut b, &list, 0, "approve");
    assert_eq!(again.status, 400);
    assert_eq!(error_of(&poll(&app, "bank", &denied_id)), "access_denied");
}

#[test]
fn ciba_request_expires() {
    let (_data, app) = setup();
    let id = start(&app, "scope=openid&login_hint=alice&requested_expiry=1");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = poll(&app, "bank", &id);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "expired_token"));
    // Nor can the user approve it any more.
    let mut b = Browser::new(&app);
    assert!(b
        .open_signing_in("/bc-approve")
        .text()
        .contains("id=\"bc-none\""));
}

#[test]
fn ciba_negative_tables_never_a_5xx() {
    let (data, app) = setup();
    let other_aud_hint = {
        // An ID Token of ours issued to bank2, not bank.
        let id = post(
            &app,
            "/bc-authorize",
            Some(&basic("bank2", SECRET)),
            "scope=openid&login_hint=alice",
        )
        .json()["auth_req_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut b = Browser::new(&app);
        let list = b.open_signing_in("/bc-approve");
        decide(&mut b, &list, 0, "approve");
        poll(&app, "bank2", &id).json()["id_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let big = format!("scope=openid&login_hint={}", "a".repeat(40_000));
    let long_message = format!(
        "scope=openid&login_hint=alice&binding_message={}",
        "x".repeat(65)
    );
    let table: Vec<(&str, String, u16, &str)> = vec![
        (
            "web",
            "scope=openid&login_hint=alice".into(),
            400,
            "unauthorized_client",
        ),
        (
            "bank",
            "scope=openid&login_hint=mallory".into(),
            400,
            "unknown_user_id",
        ),
        ("bank", "scope=openid".into(), 400, "invalid_request"),
        (
            "bank",
            "scope=openid&login_hint=alice&id_token_hint=a.b.c".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint_token=eyJ".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&id_token_hint=a.b.c".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            format!("scope=openid&id_token_hint={other_aud_hint}"),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=profile&login_hint=alice".into(),
            400,
            "invalid_request",
        ),
        ("bank", "login_hint=alice".into(), 400, "invalid_request"),
        (
            "bank",
            "scope=openid&login_hint=alice&login_hint=bob".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint=alice&binding_message=%3Cscript%3E".into(),
            400,
            "invalid_binding_message",
        ),
        ("bank", long_message, 400, "invalid_binding_message"),
        (
            "bank",
            "scope=openid&login_hint=alice&requested_expiry=-1".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint=alice&request=a.b.c".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint=alice&x=%zz".into(),
            400,
            "invalid_request",
        ),
        ("bank", big, 413, "payload_too_large"),
    ];
    for (client, body, status, error) in table {
        let r = bc_authorize(&app, client, &body);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (status, error),
            "{client}: {body:.80}"
        );
    }
    // Client authentication.
    let wrong = basic("bank", "wrong-secret");
    let r = post(
        &app,
        "/bc-authorize",
        Some(&wrong),
        "scope=openid&login_hint=alice",
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = post(&app, "/bc-authorize", None, "scope=openid&login_hint=alice");
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = app.request("GET", "/bc-authorize", &[], b"");
    assert_eq!(r.status, 405);

    // The token endpoint.
    let id = start(&app, "scope=openid&login_hint=alice");
    let table: Vec<(&str, String, u16, &str)> = vec![
        ("bank2", id.clone(), 400, "invalid_grant"),
        ("web", id.clone(), 400, "unauthorized_client"),
        ("bank", "not-an-id".into(), 400, "invalid_grant"),
        ("bank", "x".repeat(5000), 400, "invalid_grant"),
    ];
    for (client, auth_req_id, status, error) in table {
        let r = poll(&app, client, &auth_req_id);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (status, error),
            "{client}"
        );
    }
    let r = post(
        &app,
        "/token",
        Some(&basic("bank", SECRET)),
        &form(&[("grant_type", CIBA_GRANT)]),
    );
    assert_eq!(error_of(&r), "invalid_request");
    // None of that touched the request: still pending for bank.
    assert_eq!(error_of(&poll(&app, "bank", &id)), "authorization_pending");

    // The approval page: signed out, a forged form, a wrong request key.
    let r = app.request("GET", "/bc-approve", &[], b"");
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .unwrap()
        .ends_with("/login?return_to=%2Fbc-approve"));
    let mut b = Browser::new(&app);
    let list = b.open_signing_in("/bc-approve");
    assert!(list.text().contains("bc-request-0"));
    let forged = form(&[
        ("csrf", "forged"),
        ("request", "x"),
        ("decision", "approve"),
    ]);
    assert_eq!(b.send("POST", "/bc-approve", Some(&forged)).status, 400);
    let still = error_of(&poll(&app, "bank", &id));
    assert!(
        still == "authorization_pending" || still == "slow_down",
        "{still}"
    );

    // Registration refuses what this build does not deliver.
    for (name, metadata) in [
        ("no-mode", json!({"grant_types": [CIBA_GRANT]})),
        (
            "push-no-endpoint",
            json!({"grant_types": [CIBA_GRANT], "backchannel_token_delivery_mode": "push"}),
        ),
        (
            "ping-http",
            json!({"grant_types": [CIBA_GRANT], "backchannel_token_delivery_mode": "ping",
                   "backchannel_client_notification_endpoint": "http://rp.example.test/n"}),
        ),
        (
            "signed",
            json!({"grant_types": [CIBA_GRANT], "backchannel_token_delivery_mode": "poll",
                   "backchannel_authentication_request_signing_alg": "RS256"}),
        ),
    ] {
        let path = data.dir.path().join(format!("client-{name}.json"));
        std::fs::write(&path, metadata.to_string()).unwrap();
        let out = admin_command(
            &data,
            &["client", "add", "--metadata", &path.to_string_lossy()],
        )
        .output()
        .unwrap();
        assert!(!out.status.success(), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid_client_metadata"),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn parallel_polls_of_one_approved_request_yield_one_token_response() {
    let (_data, app) = setup();
    let id = start(&app, "scope=openid&login_hint=alice");
    let mut b = Browser::new(&app);
    let list = b.open_signing_in("/bc-approve");
    assert!(decide(&mut b, &list, 0, "approve")
        .text()
        .contains("bc-approved"));
    let app = Arc::new(app);
    const N: usize = 16;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (app, barrier, id) = (app.clone(), barrier.clone(), id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = poll(&app, "bank", &id);
                (r.status, r.text())
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(ok.len(), 1, "{answers:?}");
    assert!(ok[0].1.contains("access_token"));
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        assert!(body.contains("invalid_grant"), "{body}");
    }
}

/// One HTTP request received by [`receiver`]: its head and body.
struct Received {
    head: String,
    body: Vec<u8>,
}

/// A one-thread HTTP server on 127.0.0.1 that answers 204 to every
/// request and hands each one over.
fn receiver() -> (u16, std::sync::mpsc::Receiver<Received>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let length = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(
                b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            if tx.send(Received { head, body }).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// The next callback to a ping or push client: a POST to `path` with the
/// client's notification token as Bearer; its JSON body.
fn callback(received: &std::sync::mpsc::Receiver<Received>, path: &str, bearer: &str) -> Value {
    let got = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the client is called back");
    assert!(
        got.head.starts_with(&format!("POST {path} HTTP/1.1\r\n")),
        "{}",
        got.head
    );
    let authorization = format!("authorization: Bearer {bearer}");
    assert!(got.head.lines().any(|l| l == authorization), "{}", got.head);
    serde_json::from_slice(&got.body).unwrap()
}

#[test]
fn new_requests_are_posted_signed_to_the_webhook() {
    use hmac::{Hmac, Mac};
    let (port, received) = receiver();
    let secret = "e2e-webhook-secret-0123456789abcdefghij";
    let data = DataDir::new();
    let origin = format!("http://127.0.0.1:{port}");
    let url = format!("{origin}/hooks/ciba");
    let app = App::start_with_env(
        &data,
        &[
            ("SPIN_VARIABLE_CIBA_WEBHOOK_URL", &url),
            ("SPIN_VARIABLE_CIBA_WEBHOOK_ORIGIN", &origin),
            ("SPIN_VARIABLE_CIBA_WEBHOOK_SECRET", secret),
        ],
    );
    add_client(
        &data,
        "bank",
        json!({"client_name": "Example Bank", "grant_types": [CIBA_GRANT],
               "backchannel_token_delivery_mode": "poll"}),
        true,
    );
    crate::harness::admin(
        &data,
        &["user", "add", "--username", "alice", "--password", PASSWORD],
    );
    let id = start(&app, "scope=openid&login_hint=alice&binding_message=W4SCT");
    let got = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the webhook is called");
    assert!(
        got.head.starts_with("POST /hooks/ciba HTTP/1.1\r\n"),
        "{}",
        got.head
    );
    let signature = got
        .head
        .lines()
        .find_map(|l| l.strip_prefix("authrim-signature: "))
        .unwrap_or_else(|| panic!("no signature: {}", got.head));
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected);
    let event: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(event["event"], "ciba.request.created");
    assert_eq!(
        (event["username"].as_str(), event["client_name"].as_str()),
        (Some("alice"), Some("Example Bank"))
    );
    assert_eq!(event["binding_message"], "W4SCT");
    assert!(event["approval_url"]
        .as_str()
        .unwrap()
        .ends_with("/bc-approve"));
    assert!(
        !String::from_utf8_lossy(&got.body).contains(&id),
        "the auth_req_id stays with the client"
    );
    // The request works as without a webhook.
    assert_eq!(error_of(&poll(&app, "bank", &id)), "authorization_pending");
}

#[test]
fn ping_clients_are_called_back_and_then_fetch_their_tokens() {
    let (port, received) = receiver();
    let data = DataDir::new();
    let origin = format!("http://127.0.0.1:{port}");
    let app = App::start_as_issuer_with_env(
        &data,
        &[("SPIN_VARIABLE_CIBA_NOTIFICATION_ORIGIN", &origin)],
    );
    add_client(
        &data,
        "bank",
        json!({"client_name": "Example Bank", "grant_types": [CIBA_GRANT],
               "backchannel_token_delivery_mode": "ping",
               "backchannel_client_notification_endpoint": format!("{origin}/ciba/cb")}),
        true,
    );
    crate::harness::admin(
        &data,
        &["user", "add", "--username", "alice", "--password", PASSWORD],
    );
    // §7.1: a ping client must send its notification token.
    let missing = bc_authorize(&app, "bank", "scope=openid&login_hint=alice");
    assert_eq!(
        (missing.status, error_of(&missing).as_str()),
        (400, "invalid_request")
    );
    for decision in ["approve", "deny"] {
        let id = start(
            &app,
            "scope=openid&login_hint=alice&client_notification_token=bearer-8d67dc78-e2e",
        );
        let mut b = Browser::new(&app);
        let list = b.open_signing_in("/bc-approve");
        assert_eq!(decide(&mut b, &list, 0, decision).status, 200);
        let body = callback(&received, "/ciba/cb", "bearer-8d67dc78-e2e");
        assert_eq!(body, json!({ "auth_req_id": id }));
        // The client fetches the result as in poll mode (§10.2).
        let r = poll(&app, "bank", &id);
        if decision == "approve" {
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(r.json()["id_token"].is_string());
        } else {
            assert_eq!(error_of(&r), "access_denied");
        }
    }
}

#[test]
fn push_clients_receive_their_tokens_at_the_notification_endpoint() {
    use crate::token::{at_hash, verify_jwt_of};
    use jsonwebtoken::Algorithm;
    let (port, received) = receiver();
    let data = DataDir::new();
    let origin = format!("http://127.0.0.1:{port}");
    let app = Arc::new(App::start_as_issuer_with_env(
        &data,
        &[("SPIN_VARIABLE_CIBA_NOTIFICATION_ORIGIN", &origin)],
    ));
    add_client(
        &data,
        "bank",
        json!({"client_name": "Example Bank", "grant_types": [CIBA_GRANT, "refresh_token"],
               "backchannel_token_delivery_mode": "push",
               "backchannel_client_notification_endpoint": format!("{origin}/ciba/push")}),
        true,
    );
    crate::harness::admin(
        &data,
        &["user", "add", "--username", "alice", "--password", PASSWORD],
    );
    // §7.1: a push client must send its notification token.
    let missing = bc_authorize(&app, "bank", "scope=openid&login_hint=alice");
    assert_eq!(
        (missing.status, error_of(&missing).as_str()),
        (400, "invalid_request")
    );
    let receive = || callback(&received, "/ciba/push", "push-bearer-2f1e-e2e");
    let start_push = || {
        start(
            &app,
            "scope=openid%20email%20offline_access&login_hint=alice&client_notification_token=push-bearer-2f1e-e2e",
        )
    };

    // Approved: the token response itself (§10.3.1).
    let id = start_push();
    let mut b = Browser::new(&app);
    let list = b.open_signing_in("/bc-approve");
    assert_eq!(decide(&mut b, &list, 0, "approve").status, 200);
    let body = receive();
    assert_eq!(body["auth_req_id"], id.as_str());
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["scope"], "openid email offline_access");
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().expect("a refresh token");
    let id_token = verify_jwt_of(
        &app,
        &format!("http://{}", app.addr),
        body["id_token"].as_str().unwrap(),
        Algorithm::RS256,
        "JWT",
        "bank",
    );
    assert_eq!(id_token["at_hash"], at_hash(access));
    assert_eq!(
        id_token["urn:openid:params:jwt:claim:auth_req_id"],
        id.as_str()
    );
    assert_eq!(
        id_token["urn:openid:params:jwt:claim:rt_hash"],
        at_hash(refresh)
    );
    // The tokens work.
    let info = app.request(
        "GET",
        "/userinfo",
        &[("authorization", &format!("Bearer {access}"))],
        b"",
    );
    assert_eq!(info.status, 200, "{}", info.text());
    assert!(info.json()["sub"].is_string());
    let refreshed = post(
        &app,
        "/token",
        Some(&basic("bank", SECRET)),
        &form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    // §11: a push client never fetches, and the request is spent.
    assert_eq!(error_of(&poll(&app, "bank", &id)), "unauthorized_client");
    // Nothing else was sent.
    assert!(received
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());

    // op-token's chained endpoint is out of reach from outside, whatever
    // the Host says.
    let id = start_push();
    let list = b.send("GET", "/bc-approve", None);
    let form_body = form(&[("auth_req_id", &id), ("client_id", "bank")]);
    for host in [None, Some("op-token.spin.internal")] {
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend(host.map(|h| ("host", h)));
        let r = app.request("POST", "/ciba/push", &headers, form_body.as_bytes());
        assert!(matches!(r.status, 400 | 404), "{host:?}: {}", r.status);
    }
    assert_eq!(decide(&mut b, &list, 0, "approve").status, 200);
    assert_eq!(receive()["auth_req_id"], id.as_str());

    // Allow pressed many times at once: one delivery.
    let id = start_push();
    let list = b.send("GET", "/bc-approve", None);
    let approve = decision_form(&list, 0, "approve");
    let cookie = b.cookie().unwrap().to_string();
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (app, barrier) = (app.clone(), barrier.clone());
            let (approve, cookie) = (approve.clone(), cookie.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let headers = [
                    ("cookie", cookie.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                ];
                app.request("POST", "/bc-approve", &headers, approve.as_bytes())
                    .status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, [&[200][..], &[400; N - 1]].concat());
    assert_eq!(receive()["auth_req_id"], id.as_str());
    assert!(received
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());

    // Denied: the §12 error payload.
    let mut b = Browser::new(&app);
    let id = start_push();
    let list = b.open_signing_in("/bc-approve");
    assert_eq!(decide(&mut b, &list, 0, "deny").status, 200);
    let body = receive();
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["auth_req_id"], id.as_str());
    assert!(body.get("access_token").is_none());
}
