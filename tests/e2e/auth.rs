//! op-auth through the runner, driven like a browser: redirects followed by
//! hand, the session cookie kept, CSRF tokens read from the HTML. Users and
//! clients come from the operator CLI. Covers the code flow in every
//! response mode (and the code redeemed at /token), login failures and
//! their rate limit, the errors that must never redirect, `prompt` and
//! `max_age`, PAR (per client and server-wide), logout, and a table of
//! malformed requests that must answer 4xx, never 5xx.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::harness::{admin, repo_root, runner_bin, App, DataDir, Response, ISSUER};

pub(crate) const SECRET: &str = "Tr8xQeK3nV0aW9sYbLm2cZ7uH4gJ1pD6fR5tE0iO3kA";
pub(crate) const CB: &str = "https://client.example.org/cb";
const BYE: &str = "https://client.example.org/bye";
pub(crate) const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const COOKIE: &str = "__Host-authrim_session";
pub(crate) const PASSWORD: &str = "correct horse battery";

/// `application/x-www-form-urlencoded` (WHATWG serializer).
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes a query string or fragment (percent-encoding and `+`).
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(n), dec(v))
        })
        .collect()
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The data directory with a confidential web client `web`, a client
/// `par-only` that must use PAR, and the users alice and bob.
pub(crate) fn setup() -> DataDir {
    let data = DataDir::new();
    let migrated = std::process::Command::new(runner_bin())
        .current_dir(repo_root())
        .arg("migrate")
        .arg("--manifest")
        .arg(repo_root().join("spin.toml"))
        .arg("--runtime-config-file")
        .arg(data.runtime_config())
        .output()
        .expect("run authrim migrate");
    assert!(migrated.status.success(), "{migrated:?}");
    add_client(
        &data,
        "web",
        &json!({
            "client_name": "Demo Web App",
            "redirect_uris": [CB],
            "post_logout_redirect_uris": [BYE],
            "grant_types": ["authorization_code", "refresh_token"],
        }),
    );
    add_client(
        &data,
        "par-only",
        &json!({ "redirect_uris": [CB], "require_pushed_authorization_requests": true }),
    );
    for user in ["alice", "bob"] {
        admin(
            &data,
            &["user", "add", "--username", user, "--password", PASSWORD],
        );
    }
    data
}

pub(crate) fn add_client(data: &DataDir, client_id: &str, metadata: &Value) {
    let path = data.dir.path().join(format!("client-{client_id}.json"));
    std::fs::write(&path, metadata.to_string()).unwrap();
    let path = path.to_string_lossy().into_owned();
    admin(
        data,
        &[
            "client",
            "add",
            "--metadata",
            &path,
            "--client-id",
            client_id,
            "--client-secret",
            SECRET,
        ],
    );
}

fn authz(extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb\
         &scope=openid+profile&state=st-1&nonce=n-1{extra}"
    )
}

/// A browser: one cookie jar (our session cookie), no automatic redirects.
pub(crate) struct Browser<'a> {
    app: &'a App,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a App) -> Browser<'a> {
        Browser { app, cookie: None }
    }

    fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Response {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        let cookie = self.cookie.clone();
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
            if n == "set-cookie" && v.starts_with(COOKIE) {
                let pair = v.split(';').next().unwrap();
                self.cookie = (!pair.ends_with('=')).then(|| pair.to_string());
            }
        }
        r
    }

    pub(crate) fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None)
    }

    pub(crate) fn post(&mut self, path: &str, body: &str) -> Response {
        self.send("POST", path, Some(body))
    }

    /// Follows a 303 to one of our pages (a relative reference).
    pub(crate) fn follow(&mut self, r: &Response) -> Response {
        assert_eq!(r.status, 303, "{}", r.text());
        let loc = r.header("location").unwrap().to_string();
        assert!(!loc.contains("://"), "{loc}");
        self.get(&format!("/{loc}"))
    }

    /// Submits the page's form: its hidden fields plus `fields`.
    pub(crate) fn submit(
        &mut self,
        page: &Response,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let hidden = hidden_fields(&page.text());
        let mut pairs: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.extend_from_slice(fields);
        self.post(path, &form(&pairs))
    }

    pub(crate) fn login(&mut self, page: &Response, user: &str, password: &str) -> Response {
        self.submit(
            page,
            "/login",
            &[("username", user), ("password", password)],
        )
    }

    /// authorize → login page → credentials → consent page → approve.
    pub(crate) fn sign_in_and_approve(&mut self, authorize: &str, user: &str) -> Response {
        let r = self.get(authorize);
        let login = self.follow(&r);
        assert_login_page(&login);
        let r = self.login(&login, user, PASSWORD);
        let consent = self.follow(&r);
        assert_eq!(consent.status, 200, "{}", consent.text());
        assert!(consent.text().contains("id=\"approve\""));
        self.submit(&consent, "/consent", &[("decision", "approve")])
    }
}

pub(crate) fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest.split("value=\"").nth(1).unwrap();
            let value = value.split('"').next().unwrap();
            (name.to_string(), value.replace("&amp;", "&"))
        })
        .collect()
}

fn assert_page_headers(r: &Response) {
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let csp = r.header("content-security-policy").unwrap();
    for part in [
        "default-src 'none'",
        "style-src 'sha256-",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
}

fn assert_login_page(r: &Response) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_page_headers(r);
    let html = r.text();
    for needle in [
        "<label for=\"username\">",
        "<label for=\"password\">",
        "id=\"sign-in\"",
        "name=\"csrf\"",
        "<meta name=\"viewport\"",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
}

/// The parameters the client receives at its redirect URI, from a 302
/// (query or fragment) or a form_post page.
pub(crate) fn at_client(r: &Response) -> Vec<(String, String)> {
    if r.status == 200 {
        assert!(
            r.text().contains(&format!("action=\"{CB}\"")),
            "{}",
            r.text()
        );
        return hidden_fields(&r.text());
    }
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = r.header("location").unwrap();
    let rest = loc
        .strip_prefix(CB)
        .unwrap_or_else(|| panic!("not the client: {loc}"));
    parse_query(&rest[1..])
}

pub(crate) fn error_at_client(r: &Response) -> String {
    let p = at_client(r);
    assert_eq!(param(&p, "iss"), Some(ISSUER));
    param(&p, "error").unwrap_or("").to_string()
}

/// A page for the user's eyes: 400, no redirect, the error code shown.
fn assert_error_page(r: &Response, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.header("location").is_none());
    assert_page_headers(r);
    assert!(
        r.text()
            .contains(&format!("<code id=\"error-code\">{code}</code>")),
        "{code}: {}",
        r.text()
    );
}

fn verify_id_token(app: &App, token: &str) -> Value {
    let header = decode_header(token).unwrap();
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&["web"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

#[test]
fn code_flow_in_every_response_mode_and_the_code_at_the_token_endpoint() {
    let data = setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);

    // query: authorize → login → consent → code.
    let r = b.get(&authz(""));
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("login?interaction="));
    let login = b.follow(&r);
    assert_login_page(&login);
    assert!(login.text().contains("Demo Web App"));
    let r = b.login(&login, "alice", PASSWORD);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-authrim_session=")
            && cookie.contains("Path=/; Secure; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let consent = b.follow(&r);
    assert_page_headers(&consent);
    assert!(consent.text().contains("Full name"), "{}", consent.text());
    let r = b.submit(&consent, "/consent", &[("decision", "approve")]);
    let p = at_client(&r);
    assert_eq!(param(&p, "state"), Some("st-1"));
    assert_eq!(param(&p, "iss"), Some(ISSUER));
    let code = param(&p, "code").unwrap().to_string();

    // The code at the token endpoint: an ID Token for alice with our nonce.
    let r = app.request(
        "POST",
        "/token",
        &[FORM, ("authorization", &basic("web", SECRET))],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ])
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id_token = r.json()["id_token"].as_str().unwrap().to_string();
    let claims = verify_id_token(&app, &id_token);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["sid"].is_string() && claims["auth_time"].is_i64());

    // Consent is remembered: fragment and form_post answer at once.
    let r = b.get(&authz("&response_mode=fragment"));
    assert!(r
        .header("location")
        .unwrap()
        .starts_with(&format!("{CB}#code=")));
    assert!(param(&at_client(&r), "code").is_some());
    let r = b.get(&authz("&response_mode=form_post"));
    assert_eq!(r.status, 200);
    let p = at_client(&r);
    assert!(param(&p, "code").is_some());
    assert_eq!(param(&p, "state"), Some("st-1"));

    // A fresh browser gets the pages in form_post mode too.
    let mut other = Browser::new(&app);
    let r = other.sign_in_and_approve(&authz("&response_mode=form_post"), "bob");
    assert!(param(&at_client(&r), "code").is_some());
}

#[test]
fn failed_logins_reveal_nothing_and_are_rate_limited() {
    let data = setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let r = b.get(&authz("&login_hint=alice"));
    let login = b.follow(&r);
    assert!(login.text().contains("value=\"alice\""));

    let wrong = b.login(&login, "alice", "wrong");
    let unknown = b.login(&login, "nobody", "wrong");
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, 400);
        assert!(r.header("set-cookie").is_none());
        assert!(r
            .text()
            .contains("role=\"alert\">Incorrect username or password.</p>"));
        assert!(r.text().contains("aria-invalid=\"true\""));
    }
    assert!(b.cookie.is_none());
    // No session: prompt=none still says login_required.
    let r = b.get(&authz("&prompt=none"));
    assert_eq!(error_at_client(&r), "login_required");

    // Five failures for alice; the sixth try is refused before the password
    // is checked, even a right one. An unknown account behaves the same.
    for _ in 0..4 {
        assert_eq!(b.login(&login, "Alice", "wrong").status, 400);
    }
    let r = b.login(&login, "alice", PASSWORD);
    assert_eq!(r.status, 429);
    assert!(r.text().contains("Too many failed sign-in attempts"));
    assert!(b.cookie.is_none());
    for _ in 0..4 {
        assert_eq!(b.login(&login, "nobody", "wrong").status, 400);
    }
    assert_eq!(b.login(&login, "nobody", "wrong").status, 429);
    // Other accounts are not locked.
    let r = b.login(&login, "bob", PASSWORD);
    assert_eq!(r.status, 303);
    assert!(b.cookie.is_some());
}

#[test]
fn prompt_max_age_and_errors_that_never_redirect() {
    let data = setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);

    // Never redirected: unknown client, unregistered or missing redirect_uri.
    for (path, code) in [
        (
            authz("").replace("client_id=web", "client_id=nope"),
            "invalid_client",
        ),
        (authz("").replace("%2Fcb", "%2Fevil"), "invalid_request"),
        (
            authz("").replace("client.example.org", "evil.example"),
            "invalid_request",
        ),
        (
            authz("").replace("redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&", ""),
            "invalid_request",
        ),
        (authz("").replace("client_id=web&", ""), "invalid_request"),
    ] {
        assert_error_page(&b.get(&path), code);
    }

    // prompt=none without a session.
    assert_eq!(
        error_at_client(&b.get(&authz("&prompt=none"))),
        "login_required"
    );
    let r = b.sign_in_and_approve(&authz(""), "alice");
    assert!(param(&at_client(&r), "code").is_some());
    // With a session: a code; more scope than consented → consent_required.
    assert!(param(&at_client(&b.get(&authz("&prompt=none"))), "code").is_some());
    let wider = authz("&prompt=none").replace("openid+profile", "openid+profile+email");
    assert_eq!(error_at_client(&b.get(&wider)), "consent_required");
    assert_eq!(
        error_at_client(&b.get(&authz("&prompt=none&max_age=0"))),
        "login_required"
    );

    // max_age=0 and prompt=login show the login page; signing in completes
    // the request without asking consent again.
    for extra in ["&max_age=0", "&prompt=login"] {
        let r = b.get(&authz(extra));
        let login = b.follow(&r);
        assert_login_page(&login);
        let r = b.login(&login, "alice", PASSWORD);
        assert!(param(&at_client(&r), "code").is_some(), "{extra}");
    }
    // prompt=consent asks again; Deny answers access_denied.
    let r = b.get(&authz("&prompt=consent"));
    let consent = b.follow(&r);
    let r = b.submit(&consent, "/consent", &[("decision", "deny")]);
    assert_eq!(error_at_client(&r), "access_denied");
    assert_eq!(param(&at_client(&r), "state"), Some("st-1"));
}

fn par(app: &App, client: &str, body: &str) -> Response {
    let r = app.request(
        "POST",
        "/as/par",
        &[FORM, ("authorization", &basic(client, SECRET))],
        body.as_bytes(),
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r
}

const PAR_BODY: &str = "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid&state=par-state";

#[test]
fn pushed_authorization_requests() {
    let data = setup();
    let app = App::start(&data);
    let r = par(&app, "par-only", PAR_BODY);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["expires_in"], 60);
    let uri = r.json()["request_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let front = format!(
        "/authorize?{}",
        form(&[("client_id", "par-only"), ("request_uri", &uri)])
    );
    let mut b = Browser::new(&app);
    let r = b.sign_in_and_approve(&front, "alice");
    let p = at_client(&r);
    assert_eq!(param(&p, "state"), Some("par-state"));
    assert!(param(&p, "code").is_some());
    // One-time: the same request_uri is refused.
    assert_error_page(&b.get(&front), "invalid_request_uri");
    // The PAR-only client cannot send its request through the browser.
    let direct = authz("").replace("client_id=web", "client_id=par-only");
    assert_eq!(error_at_client(&b.get(&direct)), "invalid_request");
    // PAR refusals are JSON.
    let r = app.request(
        "POST",
        "/as/par",
        &[FORM, ("authorization", &basic("par-only", "wrong"))],
        PAR_BODY.as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = par(&app, "par-only", &PAR_BODY.replace("%2Fcb", "%2Fevil"));
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    drop(b);
    drop(app);

    // The server-wide switch: every client must push.
    let app = App::start_with_env(
        &data,
        &[(
            "SPIN_VARIABLE_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
            "true",
        )],
    );
    let mut b = Browser::new(&app);
    assert_eq!(error_at_client(&b.get(&authz(""))), "invalid_request");
    let r = par(&app, "web", PAR_BODY);
    assert_eq!(r.status, 201, "{}", r.text());
    let front = format!(
        "/authorize?{}",
        form(&[
            ("client_id", "web"),
            ("request_uri", r.json()["request_uri"].as_str().unwrap())
        ])
    );
    let r = b.get(&front);
    assert_login_page(&b.follow(&r));
}

#[test]
fn logout_ends_the_session_on_the_next_request() {
    let data = setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let r = b.sign_in_and_approve(&authz(""), "alice");
    let code = param(&at_client(&r), "code").unwrap().to_string();
    let r = app.request(
        "POST",
        "/token",
        &[FORM, ("authorization", &basic("web", SECRET))],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ])
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id_token = r.json()["id_token"].as_str().unwrap().to_string();
    let access_token = r.json()["access_token"].as_str().unwrap().to_string();
    let old_cookie = b.cookie.clone();

    // Without an id_token_hint the user confirms (CSRF-protected form).
    let q = form(&[
        ("client_id", "web"),
        ("post_logout_redirect_uri", BYE),
        ("state", "bye-1"),
    ]);
    let confirm = b.get(&format!("/logout?{q}"));
    assert_eq!(confirm.status, 200);
    assert_page_headers(&confirm);
    assert!(confirm.text().contains("id=\"sign-out\""));
    let logout_id = hidden_fields(&confirm.text())[0].1.clone();
    let forged = b.post("/logout", &form(&[("logout", &logout_id), ("csrf", "x")]));
    assert_eq!(forged.status, 400);
    assert!(param(&at_client(&b.get(&authz("&prompt=none"))), "code").is_some());

    // With the ID Token of this session: signed out at once.
    let q = form(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", BYE),
        ("state", "bye-2"),
    ]);
    let r = b.get(&format!("/logout?{q}"));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(&*format!("{BYE}?state=bye-2")));
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(b.cookie.is_none());

    // The old cookie no longer signs anyone in, and the session's access
    // token is dead at /userinfo on the very next request.
    b.cookie = old_cookie;
    assert_eq!(
        error_at_client(&b.get(&authz("&prompt=none"))),
        "login_required"
    );
    let r = b.get(&authz(""));
    assert_login_page(&b.follow(&r));
    let r = app.request(
        "GET",
        "/userinfo",
        &[("authorization", &format!("Bearer {access_token}"))],
        b"",
    );
    assert_eq!(r.status, 401, "{}", r.text());

    // The confirmation form, completed after the session ended, signs out
    // nobody and still returns to the client; an unregistered
    // post_logout_redirect_uri gets the signed-out page instead.
    let r = b.submit(&confirm, "/logout", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(&*format!("{BYE}?state=bye-1")));
    let q = form(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", "https://evil.example/bye"),
    ]);
    let r = b.get(&format!("/logout?{q}"));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("id=\"signed-out\""));
    assert_error_page(&b.get("/logout?id_token_hint=a.b.c"), "invalid_request");
}

#[test]
fn malformed_requests_get_exact_errors_and_never_a_5xx() {
    let data = setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let long = "x".repeat(70_000);
    let long_state = authz("").replace("state=st-1", &format!("state={}", "s".repeat(2049)));
    let long_nonce = authz("").replace("nonce=n-1", &format!("nonce={}", "n".repeat(513)));

    // Shown to the user (400 page).
    let shown: Vec<(String, &str)> =
        vec![
        (format!("{}&client_id=web", authz("")), "invalid_request"),
        (format!("{}&scope=openid", authz("")), "invalid_request"),
        (format!("{}&redirect_uri={CB}", authz("")), "invalid_request"),
        (authz("&state=%"), "invalid_request"),
        (authz("&state=%C3"), "invalid_request"),
        (authz("").replace("client_id=web", "client_id="), "invalid_request"),
        (authz("").replace("client_id=web", "client_id=%0A"), "invalid_client"),
        ("/authorize".to_string(), "invalid_request"),
        (
            "/authorize?client_id=web&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Anope"
                .to_string(),
            "invalid_request_uri",
        ),
        // Request objects (tests/e2e/jar.rs): no redirect URI is trusted
        // before the object is verified.
        (
            authz("&request=eyJhbGciOiJub25lIn0.e30."),
            "invalid_request_object",
        ),
        (
            authz("&request_uri=https%3A%2F%2Fevil.example%2Fr"),
            "invalid_request_uri",
        ),
        ("/login?interaction=nope".to_string(), "invalid_request"),
        ("/consent".to_string(), "invalid_request"),
    ];
    for (path, code) in &shown {
        assert_error_page(&b.get(path), code);
    }
    // Sent to the client with state and iss.
    let redirected: Vec<(String, &str)> = vec![
        (
            authz("").replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            authz("").replace("response_type=code&", ""),
            "invalid_request",
        ),
        (
            authz("").replace("scope=openid+profile", "scope=%22bad%22"),
            "invalid_scope",
        ),
        (
            authz("").replace("scope=openid+profile&", ""),
            "invalid_scope",
        ),
        (authz("&prompt=none+login"), "invalid_request"),
        (authz("&prompt=bogus"), "invalid_request"),
        (authz("&max_age=-1"), "invalid_request"),
        (authz("&max_age=abc"), "invalid_request"),
        (authz("&response_mode=jwt.xml"), "invalid_request"),
        (authz("&claims=%7Bnot+json"), "invalid_request"),
        (
            authz("&code_challenge=abc&code_challenge_method=S256"),
            "invalid_request",
        ),
        (authz("&code_challenge_method=S256"), "invalid_request"),
        (authz("&id_token_hint=not.a.jwt"), "invalid_request"),
        (long_nonce, "invalid_request"),
        (
            authz(&format!("&login_hint={}", "h".repeat(513))),
            "invalid_request",
        ),
        (long_state, "invalid_request"),
    ];
    for (path, code) in &redirected {
        assert_eq!(error_at_client(&b.get(path)), *code, "{path}");
    }
    // Over 64 KiB of parameters (a URI that long is refused by the host
    // with 414 before it reaches us, so the body carries them).
    let r = b.post("/authorize", &format!("client_id=web&x={long}"));
    assert_error_page(&r, "invalid_request");
    // The same through POST /authorize.
    let body = authz("&prompt=bogus").replacen("/authorize?", "", 1);
    assert_eq!(
        error_at_client(&b.post("/authorize", &body)),
        "invalid_request"
    );
    let r = app.request(
        "POST",
        "/authorize",
        &[("content-type", "text/plain")],
        b"x=1",
    );
    assert_error_page(&r, "invalid_request");
    let r = app.request("PUT", "/authorize", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));

    // PAR answers JSON with the exact code.
    let par_table: Vec<(String, u16, &str)> = vec![
        (
            format!("{PAR_BODY}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax"),
            400,
            "invalid_request",
        ),
        (format!("{PAR_BODY}&scope=openid"), 400, "invalid_request"),
        (
            PAR_BODY.replace("scope=openid", "scope=%22"),
            400,
            "invalid_scope",
        ),
        (
            format!("{PAR_BODY}&client_secret={SECRET}"),
            400,
            "invalid_request",
        ),
        (format!("{PAR_BODY}&x={long}"), 400, "invalid_request"),
        (
            PAR_BODY.replace("response_type=code", "response_type=token"),
            400,
            "unsupported_response_type",
        ),
    ];
    for (body, status, code) in &par_table {
        let r = par(&app, "web", body);
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap()),
            (*status, *code),
            "{body}"
        );
    }
    let r = app.request("POST", "/as/par", &[FORM], PAR_BODY.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("invalid_client"))
    );
    let r = app.request("GET", "/as/par", &[], b"");
    assert_eq!(r.status, 405);

    // Nothing a client sends gets a 5xx (Browser::send asserts it).
    let junk = [
        "",
        "%",
        "%%",
        "=",
        "&&&",
        "a=%FF",
        "a=1&a=2",
        "\u{0}",
        "interaction=",
        "csrf=x",
        "logout=x&csrf=y",
        "decision=approve",
        "username=a&password=b",
    ];
    for path in ["/authorize", "/as/par", "/login", "/consent", "/logout"] {
        for j in junk {
            let enc = j.replace('\u{0}', "%00");
            b.get(&format!("{path}?{enc}"));
            b.post(path, &enc);
        }
        for method in ["PUT", "DELETE", "PATCH", "HEAD"] {
            let r = app.request(method, path, &[], b"");
            assert!(
                r.status == 405 || r.status == 404,
                "{method} {path}: {}",
                r.status
            );
        }
    }
}
