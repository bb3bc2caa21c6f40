//! The device authorization endpoint and the verification page against
//! the in-memory store.

use authrim_oauth::form::form_urlencode;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer};
use serde_json::Value;

use super::throttle::SESSION_LIMIT;
use crate::config::Config;
use crate::request::Request;
use crate::testing::{block_on, DeviceState, MemoryStore};
use crate::Env;

const NOW: i64 = 1_800_000_000;
const COOKIE_VALUE: &str = "c00kie-value-of-the-session-0123456789abcdef";
const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x";

fn store() -> MemoryStore {
    let s = MemoryStore::default();
    s.add_client(
        "tv",
        r#"{"client_name":"Living-room TV","grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none","scope":"openid profile offline_access"}"#,
        None,
    );
    s.add_client(
        "slow-tv",
        r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none","device_code_ttl":120,"device_poll_interval":30}"#,
        None,
    );
    s.add_client(
        "web",
        r#"{"redirect_uris":["https://rp.example/cb"]}"#,
        Some(hash_token(SECRET)),
    );
    s.add_user("u1", "alice");
    s.add_session(&hash_token(COOKIE_VALUE), "sid-1", "u1", NOW);
    s
}

fn config() -> Config {
    Config {
        issuer: Issuer::parse("https://id.example.com").unwrap(),
        device_code_ttl: 600,
        device_poll_interval: 5,
        ciba_webhook: None,
    }
}

fn send(store: &MemoryStore, req: Request) -> HttpResponse {
    let config = config();
    let env = Env {
        store,
        config: &config,
        now: NOW,
    };
    block_on(crate::handle(&env, &req))
}

fn authorize(store: &MemoryStore, auth: Option<&str>, body: &str) -> HttpResponse {
    send(
        store,
        Request {
            method: "POST",
            path: "/device_authorization",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: auth,
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
fn device_authorization_response() {
    let s = store();
    let r = authorize(&s, None, "client_id=tv&scope=openid+profile");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let body = json(&r);
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(body["verification_uri"], "https://id.example.com/device");
    assert_eq!(
        body["verification_uri_complete"],
        format!("https://id.example.com/device?user_code={user_code}")
    );
    assert_eq!(
        (body["expires_in"].as_i64(), body["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let device_code = body["device_code"].as_str().unwrap();
    assert_eq!(device_code.len(), 43);
    let stored = s.devices.borrow()[&user_code.replace('-', "")].0.clone();
    assert_eq!(stored.device_code_hash, hash_token(device_code));
    assert_eq!(stored.scope, "openid profile");
    assert_eq!((stored.expires_at, stored.interval), (NOW + 600, 5));

    // No scope: the registered one. Per-client settings win.
    let body = json(&authorize(&s, None, "client_id=tv"));
    let code = body["user_code"].as_str().unwrap().replace('-', "");
    assert_eq!(
        s.devices.borrow()[&code].0.scope,
        "openid profile offline_access"
    );
    let body = json(&authorize(&s, None, "client_id=slow-tv&scope=openid"));
    assert_eq!(
        (body["expires_in"].as_i64(), body["interval"].as_i64()),
        (Some(120), Some(30))
    );
}

#[test]
fn device_authorization_errors() {
    let s = store();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("web:{SECRET}")
        )
    );
    let table: Vec<(&str, Option<&str>, &str, u16, &str)> = vec![
        ("POST", None, "scope=openid", 401, "invalid_client"),
        (
            "POST",
            None,
            "client_id=nobody&scope=openid",
            401,
            "invalid_client",
        ),
        (
            "POST",
            Some(basic.as_str()),
            "scope=openid",
            400,
            "unauthorized_client",
        ),
        ("POST", None, "client_id=slow-tv", 400, "invalid_scope"),
        (
            "POST",
            None,
            "client_id=tv&scope=email",
            400,
            "invalid_scope",
        ),
        (
            "POST",
            None,
            "client_id=tv&scope=a%00b",
            400,
            "invalid_scope",
        ),
        (
            "POST",
            None,
            "client_id=tv&client_id=tv",
            400,
            "invalid_request",
        ),
        ("POST", None, "client_id=tv&a=%zz", 400, "invalid_request"),
        ("GET", None, "", 405, "method_not_allowed"),
    ];
    for (method, auth, body, status, error) in table {
        let r = send(
            &s,
            Request {
                method,
                path: "/device_authorization",
                content_type: Some("application/x-www-form-urlencoded"),
                authorization: auth,
                body: body.as_bytes(),
                ..Default::default()
            },
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str().unwrap()),
            (status, error),
            "{body}"
        );
    }
    let big = format!("client_id=tv&scope={}", "a".repeat(20_000));
    assert_eq!(authorize(&s, None, &big).status, 413);
    assert!(s.devices.borrow().is_empty());
}

fn page(store: &MemoryStore, method: &str, query: &str, body: &str, cookie: bool) -> HttpResponse {
    let cookie_header = format!("authrim_session=x; __Host-authrim_session={COOKIE_VALUE}");
    send(
        store,
        Request {
            method,
            path: "/device",
            query,
            content_type: Some("application/x-www-form-urlencoded"),
            cookie: cookie.then_some(cookie_header.as_str()),
            client_addr: Some("192.0.2.7:4000"),
            body: body.as_bytes(),
            ..Default::default()
        },
    )
}

/// The hidden `csrf` field of a page.
fn csrf_of(r: &HttpResponse) -> String {
    let t = text(r);
    let at = t.find("name=\"csrf\" value=\"").unwrap() + 19;
    t[at..].split('"').next().unwrap().to_string()
}

fn new_code(s: &MemoryStore) -> String {
    json(&authorize(s, None, "client_id=tv&scope=openid+profile"))["user_code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn signed_out_users_sign_in_first_and_come_back_with_the_code() {
    let s = store();
    let r = page(&s, "GET", "user_code=wdjb-mjht", "", false);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header_value("location"),
        Some("https://id.example.com/login?return_to=%2Fdevice%3Fuser_code%3DWDJB-MJHT")
    );
    let r = page(&s, "GET", "user_code=%3Cscript%3E", "", false);
    assert_eq!(
        r.header_value("location"),
        Some("https://id.example.com/login?return_to=%2Fdevice")
    );
}

#[test]
fn enter_confirm_and_approve() {
    let s = store();
    let code = new_code(&s);
    let entry = page(&s, "GET", "", "", true);
    assert_eq!(entry.status, 200);
    assert!(text(&entry).contains("id=\"user-code\""));
    let csrf = csrf_of(&entry);
    // Typed in lower case without the dash.
    let typed = code.to_lowercase().replace('-', "");
    let confirm = page(
        &s,
        "POST",
        "",
        &form_urlencode([("csrf", csrf.as_str()), ("user_code", typed.as_str())]),
        true,
    );
    assert_eq!(confirm.status, 200, "{}", text(&confirm));
    let t = text(&confirm);
    assert!(t.contains(&format!("<strong id=\"device-user-code\">{code}</strong>")));
    assert!(t.contains("<strong id=\"client-name\">Living-room TV</strong>"));
    assert!(t.contains("<svg id=\"device-qr\""));
    assert!(t.contains("Confirm your identity"));
    let r = page(
        &s,
        "POST",
        "",
        &form_urlencode([
            ("csrf", csrf.as_str()),
            ("user_code", code.as_str()),
            ("decision", "approve"),
        ]),
        true,
    );
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("id=\"device-approved\""));
    let Some(DeviceState::Approved(a)) = s.state(&code.replace('-', "")) else {
        panic!("not approved");
    };
    assert_eq!(
        (a.user_id.as_str(), a.sid.as_deref()),
        ("u1", Some("sid-1"))
    );
    assert_eq!(a.scope, "openid profile");
    let grant: Value = serde_json::from_str(&a.grant_json).unwrap();
    assert_eq!(grant["auth_time"], NOW - 30);
    assert_eq!(grant["amr"], serde_json::json!(["pwd"]));
    // Decided once: the code is no longer shown.
    let again = page(&s, "GET", &format!("user_code={code}"), "", true);
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("id=\"device-error\""));
}

#[test]
fn complete_uri_prefills_and_deny() {
    let s = store();
    let code = new_code(&s);
    let confirm = page(&s, "GET", &format!("user_code={code}"), "", true);
    assert_eq!(confirm.status, 200);
    let csrf = csrf_of(&confirm);
    let r = page(
        &s,
        "POST",
        "",
        &form_urlencode([
            ("csrf", csrf.as_str()),
            ("user_code", code.as_str()),
            ("decision", "deny"),
        ]),
        true,
    );
    assert!(text(&r).contains("id=\"device-denied\""));
    assert!(matches!(
        s.state(&code.replace('-', "")),
        Some(DeviceState::Denied)
    ));
}

#[test]
fn forged_forms_and_bad_decisions_change_nothing() {
    let s = store();
    let code = new_code(&s);
    for body in [
        form_urlencode([("user_code", code.as_str()), ("decision", "approve")]),
        form_urlencode([
            ("csrf", "forged"),
            ("user_code", code.as_str()),
            ("decision", "approve"),
        ]),
    ] {
        let r = page(&s, "POST", "", &body, true);
        assert_eq!(r.status, 400);
        assert!(text(&r).contains("error-code"));
    }
    let csrf = csrf_of(&page(&s, "GET", "", "", true));
    let r = page(
        &s,
        "POST",
        "",
        &form_urlencode([
            ("csrf", csrf.as_str()),
            ("user_code", code.as_str()),
            ("decision", "maybe"),
        ]),
        true,
    );
    assert_eq!(r.status, 400);
    assert_eq!(page(&s, "PUT", "", "", true).status, 405);
    assert!(matches!(
        s.state(&code.replace('-', "")),
        Some(DeviceState::Pending)
    ));
}

#[test]
fn code_entry_is_rate_limited_per_session() {
    let s = store();
    let code = new_code(&s);
    let csrf = csrf_of(&page(&s, "GET", "", "", true));
    for i in 0..SESSION_LIMIT {
        let r = page(
            &s,
            "POST",
            "",
            &form_urlencode([("csrf", csrf.as_str()), ("user_code", "BBBB-BBBB")]),
            true,
        );
        assert_eq!(r.status, 400, "try {i}");
    }
    // Even the right code is refused now, with a clear message.
    let r = page(
        &s,
        "POST",
        "",
        &form_urlencode([("csrf", csrf.as_str()), ("user_code", code.as_str())]),
        true,
    );
    assert_eq!(r.status, 429);
    assert!(text(&r).contains("Too many codes were tried"));
}
