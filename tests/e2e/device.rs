//! The device authorization grant (RFC 8628) through the runner: the
//! device authorization endpoint, the verification page with op-auth's
//! sign-in, the token endpoint's polls (pending, slow_down and the grown
//! interval, denied, expired, approved once), the negative tables, and
//! many parallel polls of one approved code yielding exactly one token
//! response.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::harness::{admin, App, DataDir, Response};
use crate::token::{form, FORM, SECRET};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const PASSWORD: &str = "device-flow-password-1";

pub(crate) fn add_client(data: &DataDir, id: &str, metadata: Value, secret: bool) {
    let path = data.dir.path().join(format!("client-{id}.json"));
    std::fs::write(&path, metadata.to_string()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["client", "add", "--metadata", &path, "--client-id", id];
    if secret {
        args.extend(["--client-secret", SECRET]);
    }
    admin(data, &args);
}

/// Public device clients `tv` and `tv2`, a confidential device client
/// `box`, a code-only client `web`, and the user alice.
fn setup() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start_as_issuer(&data);
    let device = |name: &str| {
        json!({
            "client_name": name,
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "token_endpoint_auth_method": "none",
        })
    };
    add_client(&data, "tv", device("Kitchen TV"), false);
    add_client(&data, "tv2", device("Other TV"), false);
    add_client(
        &data,
        "box",
        json!({"grant_types": [DEVICE_GRANT], "client_name": "Set-top box"}),
        true,
    );
    add_client(
        &data,
        "web",
        json!({"redirect_uris": ["https://rp.example.test/cb"]}),
        true,
    );
    admin(
        &data,
        &["user", "add", "--username", "alice", "--password", PASSWORD],
    );
    (data, app)
}

pub(crate) fn post(app: &App, path: &str, auth: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let r = app.request("POST", path, &headers, body.as_bytes());
    assert!(r.status < 500, "{path}: {} {}", r.status, r.text());
    r
}

fn start(app: &App, client: &str, scope: &str) -> Value {
    let r = post(
        app,
        "/device_authorization",
        None,
        &form(&[("client_id", client), ("scope", scope)]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn poll(app: &App, client: &str, device_code: &str) -> Response {
    post(
        app,
        "/token",
        None,
        &form(&[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client),
            ("device_code", device_code),
        ]),
    )
}

pub(crate) fn error_of(r: &Response) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

/// A browser with the session cookie, following our absolute redirects
/// (also used by the CIBA tests).
pub(crate) struct Browser<'a> {
    app: &'a App,
    issuer: String,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a App) -> Browser<'a> {
        Browser {
            app,
            issuer: format!("http://{}", app.addr),
            cookie: None,
        }
    }

    /// The session cookie (`name=value`), once signed in.
    pub(crate) fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    pub(crate) fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Response {
        let cookie = self.cookie.clone();
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = &cookie {
            headers.push(("cookie", c));
        }
        if body.is_some() {
            headers.push(FORM);
        }
        let r = self
            .app
            .request(method, path, &headers, body.unwrap_or("").as_bytes());
        assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.text());
        for (n, v) in &r.headers {
            if n == "set-cookie" && v.starts_with("authrim_session=") {
                self.cookie = Some(v.split(';').next().unwrap().to_string());
            }
        }
        r
    }

    pub(crate) fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None)
    }

    pub(crate) fn follow(&mut self, r: &Response) -> Response {
        assert_eq!(r.status, 303, "{}", r.text());
        let loc = r.header("location").unwrap();
        let path = loc
            .strip_prefix(&self.issuer)
            .unwrap_or_else(|| panic!("{loc}"));
        self.get(path)
    }

    pub(crate) fn submit(
        &mut self,
        page: &Response,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let html = page.text();
        let mut pairs: Vec<(String, String)> = html
            .split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|rest| {
                let (name, rest) = rest.split_once('"').unwrap();
                let value = rest
                    .split("value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                (name.to_string(), value.replace("&amp;", "&"))
            })
            .collect();
        pairs.extend(fields.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.send("POST", path, Some(&form(&refs)))
    }

    /// Opens `path` (a /device or /bc-approve URL) signed out: signs in as
    /// alice on op-auth's page and comes back to it.
    pub(crate) fn open_signing_in(&mut self, path: &str) -> Response {
        let r = self.get(path);
        let login = self.follow(&r);
        assert_eq!(login.status, 200, "{}", login.text());
        assert!(login.text().contains("id=\"username\""));
        let r = self.submit(
            &login,
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        );
        self.follow(&r)
    }
}

/// The path of `verification_uri_complete`.
fn complete_path(app: &App, started: &Value) -> String {
    let uri = started["verification_uri_complete"].as_str().unwrap();
    uri.strip_prefix(&format!("http://{}", app.addr))
        .unwrap()
        .to_string()
}

#[test]
fn device_flow_end_to_end() {
    let (_data, app) = setup();
    let started = start(&app, "tv", "openid profile offline_access");
    let issuer = format!("http://{}", app.addr);
    assert_eq!(started["verification_uri"], format!("{issuer}/device"));
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let user_code = started["user_code"].as_str().unwrap().to_string();
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "{user_code}"
    );
    let device_code = started["device_code"].as_str().unwrap();
    let pending = poll(&app, "tv", device_code);
    assert_eq!(
        (pending.status, error_of(&pending).as_str()),
        (400, "authorization_pending")
    );
    assert_eq!(pending.header("cache-control"), Some("no-store"));

    // The user types the code (lower case, no dash) after signing in.
    let mut b = Browser::new(&app);
    let entry = b.open_signing_in("/device");
    assert_eq!(entry.status, 200, "{}", entry.text());
    assert!(entry.text().contains("id=\"user-code\""));
    assert!(entry
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    let typed = user_code.replace('-', "").to_lowercase();
    let confirm = b.submit(&entry, "/device", &[("user_code", &typed)]);
    assert_eq!(confirm.status, 200, "{}", confirm.text());
    let html = confirm.text();
    assert!(html.contains(&format!(
        "<strong id=\"device-user-code\">{user_code}</strong>"
    )));
    assert!(html.contains("<strong id=\"client-name\">Kitchen TV</strong>"));
    assert!(html.contains("<svg id=\"device-qr\""));
    let done = b.submit(&confirm, "/device", &[("decision", "approve")]);
    assert!(
        done.text().contains("id=\"device-approved\""),
        "{}",
        done.text()
    );

    let tokens = poll(&app, "tv", device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let t = tokens.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid profile offline_access");
    assert!(t["refresh_token"].is_string());
    let id_token = t["id_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["aud"], "tv");
    assert_eq!(payload["iss"], issuer);
    assert!(payload["auth_time"].is_i64() && payload["sid"].is_string());
    // The access token works at UserInfo.
    let at = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let info = app.request("GET", "/userinfo", &[("authorization", &at)], b"");
    assert_eq!(info.status, 200, "{}", info.text());
    assert_eq!(info.json()["sub"], payload["sub"]);
    // Redeemed once.
    let again = poll(&app, "tv", device_code);
    assert_eq!(error_of(&again), "invalid_grant");

    // verification_uri_complete: prefilled and shown for confirmation;
    // a denial is access_denied at the token endpoint.
    let started = start(&app, "tv", "openid");
    let confirm = b.get(&complete_path(&app, &started));
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains("id=\"approve\""));
    let done = b.submit(&confirm, "/device", &[("decision", "deny")]);
    assert!(done.text().contains("id=\"device-denied\""));
    let denied = poll(&app, "tv", started["device_code"].as_str().unwrap());
    assert_eq!(
        (denied.status, error_of(&denied).as_str()),
        (400, "access_denied")
    );

    // Signed out, the complete URI goes through sign-in and back to it.
    let started = start(&app, "tv", "openid");
    let mut fresh = Browser::new(&app);
    let confirm = fresh.open_signing_in(&complete_path(&app, &started));
    assert!(confirm
        .text()
        .contains(started["user_code"].as_str().unwrap()));
}

#[test]
fn polling_too_fast_slows_down_and_the_grown_interval_is_honoured() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_DEVICE_POLL_INTERVAL", "1")]);
    add_client(
        &data,
        "tv",
        json!({"grant_types": [DEVICE_GRANT], "token_endpoint_auth_method": "none"}),
        false,
    );
    let r = post(
        &app,
        "/device_authorization",
        None,
        "client_id=tv&scope=openid",
    );
    let started = r.json();
    assert_eq!(started["interval"], 1);
    let code = started["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&app, "tv", code)), "authorization_pending");
    // At once again: slow_down, and the interval is now 6 s.
    let fast = poll(&app, "tv", code);
    assert_eq!((fast.status, error_of(&fast).as_str()), (400, "slow_down"));
    assert!(fast.text().contains("6 seconds"), "{}", fast.text());
    std::thread::sleep(std::time::Duration::from_secs(3));
    let still = poll(&app, "tv", code);
    assert_eq!(
        error_of(&still),
        "slow_down",
        "3 s is less than the grown interval"
    );
    std::thread::sleep(std::time::Duration::from_secs(12));
    assert_eq!(error_of(&poll(&app, "tv", code)), "authorization_pending");
}

#[test]
fn device_negative_tables_never_a_5xx() {
    let (data, app) = setup();
    let basic = |id: &str| {
        format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{id}:{SECRET}")
            )
        )
    };
    let box_auth = basic("box");
    let web_auth = basic("web");
    let wrong = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "box:wrong-secret"
        )
    );
    // /device_authorization.
    let big = format!("client_id=tv&scope={}", "x".repeat(40_000));
    let table: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, "scope=openid".into(), 401, "invalid_client"),
        (
            None,
            "client_id=nobody&scope=openid".into(),
            401,
            "invalid_client",
        ),
        (
            None,
            "client_id=box&scope=openid".into(),
            401,
            "invalid_client",
        ),
        (Some(&wrong), "scope=openid".into(), 401, "invalid_client"),
        (
            Some(&web_auth),
            "scope=openid".into(),
            400,
            "unauthorized_client",
        ),
        (None, "client_id=tv".into(), 400, "invalid_scope"),
        (
            None,
            "client_id=tv&scope=%22%5C".into(),
            400,
            "invalid_scope",
        ),
        (
            None,
            "client_id=tv&client_id=tv2&scope=openid".into(),
            400,
            "invalid_request",
        ),
        (
            None,
            "client_id=tv&scope=openid&x=%zz".into(),
            400,
            "invalid_request",
        ),
        (None, big, 413, "payload_too_large"),
    ];
    for (auth, body, status, error) in table {
        let r = post(&app, "/device_authorization", auth, &body);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (status, error),
            "{auth:?} {body:.80}"
        );
    }
    let r = app.request(
        "POST",
        "/device_authorization",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));
    assert_eq!(app.get("/device_authorization").status, 405);
    let ok = post(
        &app,
        "/device_authorization",
        Some(&box_auth),
        "scope=openid",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());

    // /token with the device grant.
    let started = start(&app, "tv", "openid");
    let code = started["device_code"].as_str().unwrap().to_string();
    let grant = |client: &str, code: &str| {
        form(&[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client),
            ("device_code", code),
        ])
    };
    let long = "d".repeat(2000);
    let table: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, grant("tv2", &code), 400, "invalid_grant"),
        (
            None,
            grant("tv", "unknown-device-code"),
            400,
            "invalid_grant",
        ),
        (None, grant("tv", &long), 400, "invalid_grant"),
        (None, grant("tv", ""), 400, "invalid_request"),
        (
            None,
            form(&[("grant_type", DEVICE_GRANT), ("client_id", "tv")]),
            400,
            "invalid_request",
        ),
        (
            Some(&web_auth),
            form(&[("grant_type", DEVICE_GRANT), ("device_code", &code)]),
            400,
            "unauthorized_client",
        ),
        (None, grant("nobody", &code), 401, "invalid_client"),
    ];
    for (auth, body, status, error) in table {
        let r = post(&app, "/token", auth, &body);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (status, error),
            "{body:.120}"
        );
    }
    // None of that touched the request: it is still pending.
    assert_eq!(error_of(&poll(&app, "tv", &code)), "authorization_pending");

    // Expired: the stored lifetime has passed (moved back in the database,
    // as waiting 60 s or more would).
    let db = rusqlite::Connection::open(data.database()).unwrap();
    db.execute("UPDATE device_codes SET expires_at = 1", [])
        .unwrap();
    let r = poll(&app, "tv", &code);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "expired_token"));
    let mut b = Browser::new(&app);
    let entry = b.open_signing_in("/device");
    let r = b.submit(
        &entry,
        "/device",
        &[("user_code", started["user_code"].as_str().unwrap())],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("id=\"device-error\""));

    // The verification page: malformed and forged requests.
    let r = b.send(
        "POST",
        "/device",
        Some("user_code=WDJB-MJHT&decision=approve"),
    );
    assert_eq!(r.status, 400, "no CSRF token");
    let r = b.send(
        "POST",
        "/device",
        Some("csrf=forged&user_code=WDJB-MJHT&decision=approve"),
    );
    assert_eq!(r.status, 400);
    let r = b.send(
        "POST",
        "/device",
        Some(&format!("user_code={}", "x".repeat(40_000))),
    );
    assert_eq!(r.status, 413);
    assert_eq!(b.send("DELETE", "/device", None).status, 405);
    for typed in ["", "WDJB", "AAAA-AAAA", "<script>", &"W".repeat(100)] {
        let r = b.submit(&entry, "/device", &[("user_code", typed)]);
        assert_eq!(r.status, 400, "{typed}");
        assert!(!r.text().contains("<script>"), "escaped");
    }
}

#[test]
fn code_entry_is_rate_limited() {
    let (_data, app) = setup();
    let mut b = Browser::new(&app);
    let entry = b.open_signing_in("/device");
    let mut last = None;
    for _ in 0..21 {
        last = Some(b.submit(&entry, "/device", &[("user_code", "BBBB-BBBB")]));
    }
    let r = last.unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("Too many codes were tried"));
}

/// Many parallel polls of one approved device code: exactly one 200 with
/// tokens, every other answer `invalid_grant`.
#[test]
fn parallel_polls_of_an_approved_code_yield_one_token_response() {
    let (_data, app) = setup();
    let started = start(&app, "tv", "openid");
    let mut b = Browser::new(&app);
    let confirm = b.open_signing_in(&complete_path(&app, &started));
    let done = b.submit(&confirm, "/device", &[("decision", "approve")]);
    assert!(done.text().contains("device-approved"));
    let app = Arc::new(app);
    let code = started["device_code"].as_str().unwrap().to_string();
    const N: usize = 16;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (app, barrier, code) = (app.clone(), barrier.clone(), code.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = poll(&app, "tv", &code);
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
