//! `/bc-authorize` and `/bc-approve` against the in-memory store.

use authrim_jose::jws::sign_compact;
use authrim_jose::{test_keys, Alg};
use authrim_oauth::form::form_urlencode;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer};
use base64::Engine;
use serde_json::Value;

use super::webhook::{signature, Webhook};
use crate::config::Config;
use crate::request::Request;
use crate::testing::{block_on, MemoryStore};
use crate::Env;

const NOW: i64 = 1_800_000_000;
const COOKIE_VALUE: &str = "c00kie-value-of-the-session-0123456789abcdef";
const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x";
const ISSUER: &str = "https://id.example.com";

fn store() -> MemoryStore {
    let s = MemoryStore::default();
    let ciba = r#"{"client_name":"Bank","grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll","scope":"openid email"}"#;
    s.add_client("bank", ciba, Some(hash_token(SECRET)));
    s.add_client(
        "pusher",
        r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"push","backchannel_client_notification_endpoint":"https://p.example/n"}"#,
        Some(hash_token(SECRET)),
    );
    s.add_client(
        "pinger",
        r#"{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://rp.example/ciba/cb"}"#,
        Some(hash_token(SECRET)),
    );
    s.add_client(
        "web",
        r#"{"redirect_uris":["https://rp.example/cb"]}"#,
        Some(hash_token(SECRET)),
    );
    s.add_user("u1", "alice");
    s.add_user("u2", "bob");
    s.users.borrow_mut().get_mut("u2").unwrap().disabled = true;
    s.add_session(&hash_token(COOKIE_VALUE), "sid-1", "u1", NOW);
    let k = test_keys::rsa();
    *s.jwks.borrow_mut() = format!(
        "{{\"keys\":[{}]}}",
        k.public_key().to_jwk_json(&k.kid(), Alg::RS256)
    );
    s
}

fn id_token(claims: &str) -> String {
    let k = test_keys::rsa();
    sign_compact(&k, &k.kid(), Some("JWT"), claims.as_bytes()).unwrap()
}

fn send(store: &MemoryStore, req: Request) -> HttpResponse {
    send_with(store, req, None)
}

fn send_with(store: &MemoryStore, req: Request, ciba_webhook: Option<Webhook>) -> HttpResponse {
    let config = Config {
        issuer: Issuer::parse(ISSUER).unwrap(),
        device_code_ttl: 600,
        device_poll_interval: 5,
        ciba_webhook,
    };
    let env = Env {
        store,
        config: &config,
        now: NOW,
    };
    block_on(crate::handle(&env, &req))
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn authorize(store: &MemoryStore, client: &str, body: &str) -> HttpResponse {
    let auth = basic(client, SECRET);
    send(
        store,
        Request {
            method: "POST",
            path: "/bc-authorize",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some(&auth),
            body: body.as_bytes(),
            ..Default::default()
        },
    )
}

fn json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn authentication_request_is_stored_by_hash() {
    let s = store();
    let r = authorize(
        &s,
        "bank",
        "scope=openid+email+phone&login_hint=ALICE&binding_message=W4SCT&requested_expiry=120",
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let body = json(&r);
    let id = body["auth_req_id"].as_str().unwrap();
    assert_eq!(id.len(), 43);
    assert_eq!(
        (body["expires_in"].as_i64(), body["interval"].as_i64()),
        (Some(120), Some(5))
    );
    let (stored, decided) = s.ciba.borrow()[0].clone();
    assert!(decided.is_none());
    assert_eq!(stored.auth_req_id_hash, hash_token(id));
    assert_eq!(
        (stored.user_id.as_str(), stored.client_id.as_str()),
        ("u1", "bank")
    );
    // Limited to the registered scope.
    assert_eq!(stored.scope, "openid email");
    assert_eq!(stored.binding_message.as_deref(), Some("W4SCT"));
    assert_eq!(
        (stored.expires_at, stored.delivery_mode.as_str()),
        (NOW + 120, "poll")
    );

    // An ID Token we issued to this client names the user too.
    let hint = id_token(&format!(
        r#"{{"iss":"{ISSUER}","sub":"u1","aud":"bank","exp":1}}"#
    ));
    let r = authorize(
        &s,
        "bank",
        &form_urlencode([("scope", "openid"), ("id_token_hint", &hint)]),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(s.ciba.borrow()[1].0.user_id, "u1");
}

#[test]
fn authentication_request_errors_follow_section_13() {
    let s = store();
    let other_aud = id_token(&format!(r#"{{"iss":"{ISSUER}","sub":"u1","aud":"web"}}"#));
    let unknown_sub = id_token(&format!(
        r#"{{"iss":"{ISSUER}","sub":"nobody","aud":"bank"}}"#
    ));
    let foreign = id_token(r#"{"iss":"https://evil.example","sub":"u1","aud":"bank"}"#);
    let table: Vec<(&str, String, u16, &str)> = vec![
        (
            "web",
            "scope=openid&login_hint=alice".into(),
            400,
            "unauthorized_client",
        ),
        // §7.1: push mode needs the notification token too.
        (
            "pusher",
            "scope=openid&login_hint=alice".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint=nobody".into(),
            400,
            "unknown_user_id",
        ),
        (
            "bank",
            "scope=openid&login_hint=bob".into(),
            400,
            "unknown_user_id",
        ),
        (
            "bank",
            format!("scope=openid&id_token_hint={unknown_sub}"),
            400,
            "unknown_user_id",
        ),
        (
            "bank",
            format!("scope=openid&id_token_hint={other_aud}"),
            400,
            "invalid_request",
        ),
        (
            "bank",
            format!("scope=openid&id_token_hint={foreign}"),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&id_token_hint=not.a.jwt".into(),
            400,
            "invalid_request",
        ),
        ("bank", "scope=openid".into(), 400, "invalid_request"),
        (
            "bank",
            "scope=openid&login_hint=alice&id_token_hint=x".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=openid&login_hint_token=x".into(),
            400,
            "invalid_request",
        ),
        (
            "bank",
            "scope=email&login_hint=alice".into(),
            400,
            "invalid_request",
        ),
        ("bank", "login_hint=alice".into(), 400, "invalid_request"),
        (
            "bank",
            "scope=phone+openid&login_hint=alice&binding_message=%3Cx%3E".into(),
            400,
            "invalid_binding_message",
        ),
        (
            "bank",
            "scope=openid&login_hint=alice&requested_expiry=soon".into(),
            400,
            "invalid_request",
        ),
    ];
    for (client, body, status, error) in table {
        let r = authorize(&s, client, &body);
        assert_eq!(
            (r.status, json(&r)["error"].as_str().unwrap()),
            (status, error),
            "{client} {body}"
        );
    }
    let wrong = basic("bank", "wrong-secret-wrong-secret-wrong-secret-xx");
    let r = send(
        &s,
        Request {
            method: "POST",
            path: "/bc-authorize",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some(&wrong),
            body: b"scope=openid&login_hint=alice",
            ..Default::default()
        },
    );
    assert_eq!(
        (r.status, json(&r)["error"].as_str().unwrap()),
        (401, "invalid_client")
    );
    let big = format!("scope=openid&login_hint={}", "a".repeat(20_000));
    assert_eq!(authorize(&s, "bank", &big).status, 413);
    let get = send(
        &s,
        Request {
            method: "GET",
            path: "/bc-authorize",
            ..Default::default()
        },
    );
    assert_eq!(get.status, 405);
    assert!(s.ciba.borrow().is_empty());
}

fn page(store: &MemoryStore, method: &str, body: &str, cookie: bool) -> HttpResponse {
    let cookie_header = format!("__Host-authrim_session={COOKIE_VALUE}");
    send(
        store,
        Request {
            method,
            path: "/bc-approve",
            content_type: Some("application/x-www-form-urlencoded"),
            cookie: cookie.then_some(cookie_header.as_str()),
            body: body.as_bytes(),
            ..Default::default()
        },
    )
}

fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).unwrap() + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

#[test]
fn approval_page_lists_and_decides_once() {
    let s = store();
    let r = page(&s, "GET", "", false);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header_value("location"),
        Some("https://id.example.com/login?return_to=%2Fbc-approve")
    );
    let none = page(&s, "GET", "", true);
    assert!(text(&none).contains("id=\"bc-none\""));
    authorize(
        &s,
        "bank",
        "scope=openid+email&login_hint=alice&binding_message=W4SCT",
    );
    let list = page(&s, "GET", "", true);
    assert_eq!(list.status, 200);
    let t = text(&list);
    assert!(
        t.contains("<strong class=\"bc-client\">Bank</strong>"),
        "{t}"
    );
    assert!(
        t.contains("W4SCT") && t.contains("Expires in 5 minutes"),
        "{t}"
    );
    assert!(list
        .header_value("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    let csrf = field(&t, "csrf");
    let key = field(&t, "request");
    assert_eq!(key, s.ciba.borrow()[0].0.auth_req_id_hash);
    // A wrong CSRF token, a missing decision: nothing decided.
    for body in [
        form_urlencode([("csrf", "x"), ("request", &key), ("decision", "approve")]),
        form_urlencode([("csrf", csrf.as_str()), ("request", key.as_str())]),
    ] {
        assert_eq!(page(&s, "POST", &body, true).status, 400);
    }
    assert!(s.ciba.borrow()[0].1.is_none());
    let approve = form_urlencode([
        ("csrf", csrf.as_str()),
        ("request", &key),
        ("decision", "approve"),
    ]);
    let done = page(&s, "POST", &approve, true);
    assert_eq!(done.status, 200, "{}", text(&done));
    assert!(text(&done).contains("id=\"bc-approved\""));
    let approval = s.ciba.borrow()[0].1.clone().unwrap().unwrap();
    assert_eq!(
        (approval.sid.as_deref(), approval.scope.as_str()),
        (Some("sid-1"), "openid email")
    );
    assert!(approval.grant_json.contains("\"auth_time\""));
    // Once only.
    let again = page(&s, "POST", &approve, true);
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("no longer waiting"));
    // Deny another.
    authorize(&s, "bank", "scope=openid&login_hint=alice");
    let key = field(&text(&page(&s, "GET", "", true)), "request");
    let deny = form_urlencode([
        ("csrf", csrf.as_str()),
        ("request", &key),
        ("decision", "deny"),
    ]);
    assert!(text(&page(&s, "POST", &deny, true)).contains("id=\"bc-denied\""));
    assert!(matches!(s.ciba.borrow()[1].1, Some(None)));
}

#[test]
fn new_requests_are_signed_and_posted_to_the_webhook() {
    let s = store();
    let secret = "webhook-secret-webhook-secret-0123456789";
    let hook = Webhook::from_settings("https://hooks.example/ciba", secret).unwrap();
    let auth = basic("bank", SECRET);
    let r = send_with(
        &s,
        Request {
            method: "POST",
            path: "/bc-authorize",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some(&auth),
            body: b"scope=openid&login_hint=alice&binding_message=W4SCT",
            ..Default::default()
        },
        hook,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let posts = s.posts.borrow();
    assert_eq!(posts.len(), 1);
    let (url, headers, body) = &posts[0];
    assert_eq!(url, "https://hooks.example/ciba");
    assert_eq!(
        headers,
        &vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "authrim-signature".to_string(),
                signature(secret, NOW, body)
            )
        ]
    );
    let event: Value = serde_json::from_slice(body).unwrap();
    let stored = s.ciba.borrow()[0].0.clone();
    assert_eq!(event["event"], "ciba.request.created");
    assert_eq!(event["request_id"], stored.auth_req_id_hash.as_str());
    assert_eq!(
        (event["user_id"].as_str(), event["username"].as_str()),
        (Some("u1"), Some("alice"))
    );
    assert_eq!(
        (event["client_id"].as_str(), event["client_name"].as_str()),
        (Some("bank"), Some("Bank"))
    );
    assert_eq!(event["binding_message"], "W4SCT");
    assert_eq!(event["approval_url"], "https://id.example.com/bc-approve");
    assert_eq!(event["expires_at"], NOW + 300);
    // The auth_req_id itself never leaves for the webhook.
    let id = json(&r)["auth_req_id"].as_str().unwrap().to_string();
    assert!(!String::from_utf8_lossy(body).contains(&id));
    drop(posts);
    // Without a webhook, nothing is posted.
    authorize(&s, "bank", "scope=openid&login_hint=alice");
    assert_eq!(s.posts.borrow().len(), 1);
}

#[test]
fn ping_clients_are_called_back_once_decided() {
    let s = store();
    // §7.1: the notification token is required in ping mode.
    let r = authorize(&s, "pinger", "scope=openid&login_hint=alice");
    assert_eq!(r.status, 400);
    assert_eq!(json(&r)["error"], "invalid_request");
    for (n, decision) in [(0, "approve"), (1, "deny")] {
        let r = authorize(
            &s,
            "pinger",
            "scope=openid&login_hint=alice&client_notification_token=ping-bearer-8d67",
        );
        assert_eq!(r.status, 200, "{}", text(&r));
        let id = json(&r)["auth_req_id"].as_str().unwrap().to_string();
        assert!(
            s.posts.borrow().len() == n,
            "nothing sent before the decision"
        );
        let t = text(&page(&s, "GET", "", true));
        let body = form_urlencode([
            ("csrf", field(&t, "csrf").as_str()),
            ("request", field(&t, "request").as_str()),
            ("decision", decision),
        ]);
        assert_eq!(page(&s, "POST", &body, true).status, 200);
        let posts = s.posts.borrow();
        assert_eq!(posts.len(), n + 1, "{decision}");
        let (url, headers, sent) = &posts[n];
        assert_eq!(url, "https://rp.example/ciba/cb");
        assert!(headers.contains(&("authorization".into(), "Bearer ping-bearer-8d67".into())));
        assert_eq!(
            serde_json::from_slice::<Value>(sent).unwrap(),
            serde_json::json!({ "auth_req_id": id })
        );
    }
    // Poll clients are never called back.
    authorize(
        &s,
        "bank",
        "scope=openid&login_hint=alice&client_notification_token=x",
    );
    let t = text(&page(&s, "GET", "", true));
    let body = form_urlencode([
        ("csrf", field(&t, "csrf").as_str()),
        ("request", field(&t, "request").as_str()),
        ("decision", "approve"),
    ]);
    assert_eq!(page(&s, "POST", &body, true).status, 200);
    assert_eq!(s.posts.borrow().len(), 2);
}

/// Approves or denies the only request on the approval page.
fn decide_only(s: &MemoryStore, decision: &str) {
    let t = text(&page(s, "GET", "", true));
    let body = form_urlencode([
        ("csrf", field(&t, "csrf").as_str()),
        ("request", field(&t, "request").as_str()),
        ("decision", decision),
    ]);
    assert_eq!(page(s, "POST", &body, true).status, 200);
}

#[test]
fn push_clients_get_the_token_response_or_the_error_payload() {
    let payload = br#"{"auth_req_id":"x","access_token":"at","token_type":"Bearer"}"#;
    /// Decision, op-token's answer, the error payload expected (none: the
    /// token response).
    type Case<'a> = (&'a str, Option<(u16, &'a [u8])>, Option<Value>);
    let cases: [Case; 3] = [
        // Approved: op-token mints the payload, which is sent as it is.
        ("approve", Some((200, payload)), None),
        // op-token refused (the user was disabled meanwhile, say).
        (
            "approve",
            Some((400, br#"{"error":"invalid_grant"}"#)),
            Some(serde_json::json!("transaction_failed")),
        ),
        ("deny", None, Some(serde_json::json!("access_denied"))),
    ];
    for (decision, answer, error) in cases {
        let s = store();
        *s.chained_answer.borrow_mut() = answer.map(|(st, b)| (st, b.to_vec()));
        let r = authorize(
            &s,
            "pusher",
            "scope=openid&login_hint=alice&client_notification_token=push-bearer-1",
        );
        assert_eq!(r.status, 200, "{}", text(&r));
        let id = json(&r)["auth_req_id"].as_str().unwrap().to_string();
        decide_only(&s, decision);
        let posts = s.posts.borrow();
        let (client_url, headers, sent) = posts.last().unwrap();
        if decision == "approve" {
            assert_eq!(posts.len(), 2, "{decision} {error:?}");
            let (url, headers, form) = &posts[0];
            assert_eq!(url, "http://op-token.spin.internal/ciba/push");
            assert!(headers.contains(&(
                "content-type".into(),
                "application/x-www-form-urlencoded".into()
            )));
            assert!(!headers.iter().any(|(n, _)| n == "authorization"));
            assert_eq!(
                String::from_utf8_lossy(form),
                format!("auth_req_id={id}&client_id=pusher")
            );
        } else {
            assert_eq!(posts.len(), 1, "a denial needs no tokens");
        }
        assert_eq!(client_url, "https://p.example/n");
        assert!(headers.contains(&("authorization".into(), "Bearer push-bearer-1".into())));
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
        match &error {
            None => assert_eq!(sent.as_slice(), payload.as_slice()),
            Some(code) => {
                let v: Value = serde_json::from_slice(sent).unwrap();
                assert_eq!(
                    (&v["error"], v["auth_req_id"].as_str()),
                    (code, Some(id.as_str()))
                );
                assert!(v["error_description"].is_string());
            }
        }
    }
}
