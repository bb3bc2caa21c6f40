//! The endpoints driven like a browser and a client would, against the
//! in-memory store: every flow of the module docs, and the refusals.

use super::handle;
use crate::config::Config;
use crate::hint::tests::{jwks, sign};
use crate::request::Request;
use crate::store::Store;
use crate::testing::assert_page_headers;
use crate::testing::MemoryStore;
use crate::Env;
use authrim_oauth::form::{form_urlencode, Params};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer};
use base64::Engine;

const NOW: i64 = 1_800_000_000;
const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x";
const CB: &str = "https://client.example.org/cb";
const AUTHZ: &str = "response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid+email&state=st1&nonce=n1";

/// An argon2id hash with tiny parameters, so that tests verify quickly.
fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    a.hash_password(
        password.as_bytes(),
        &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
    )
    .unwrap()
    .to_string()
}

struct World {
    store: MemoryStore,
    config: Config,
    now: std::cell::Cell<i64>,
    fetched: std::cell::RefCell<crate::jar::Fetched>,
}

#[derive(Default)]
struct Browser {
    cookie: Option<String>,
}

impl World {
    fn new() -> World {
        let store = MemoryStore::default();
        store.add_client(
            "c1",
            Some(&hash_token(SECRET)),
            r#"{"client_name":"Demo App","redirect_uris":["https://client.example.org/cb"],
                "post_logout_redirect_uris":["https://client.example.org/bye"]}"#,
        );
        store.add_client(
            "par-only",
            Some(&hash_token(SECRET)),
            r#"{"redirect_uris":["https://client.example.org/cb"],
                "require_pushed_authorization_requests":true}"#,
        );
        store.add_user("u-alice", "alice", Some(&cheap_hash("correct horse")));
        store.add_user("u-bob", "bob", Some(&cheap_hash("battery staple")));
        *store.jwks.borrow_mut() = jwks();
        World {
            store,
            config: Config {
                issuer: Issuer::parse("https://id.example.com").unwrap(),
                require_par: false,
                session_ttl: 3600,
                access_token_ttl: 600,
                id_token_ttl: 300,
                dpop_require_nonce: false,
            },
            now: std::cell::Cell::new(NOW),
            fetched: Default::default(),
        }
    }

    fn send(&self, r: Request) -> HttpResponse {
        let env = Env {
            store: &self.store,
            config: &self.config,
            now: self.now.get(),
            fetched: &self.fetched.borrow(),
        };
        handle(&env, &r)
    }

    fn get(&self, b: &mut Browser, path_and_query: &str) -> HttpResponse {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let r = self.send(Request {
            method: "GET",
            path,
            query,
            cookie: b.cookie.as_deref(),
            client_addr: Some("192.0.2.1:5555"),
            ..Default::default()
        });
        b.remember(&r);
        r
    }

    fn post(&self, b: &mut Browser, path: &str, body: &str) -> HttpResponse {
        let r = self.send(Request {
            method: "POST",
            path,
            content_type: Some("application/x-www-form-urlencoded"),
            cookie: b.cookie.as_deref(),
            client_addr: Some("192.0.2.1:5555"),
            body: body.as_bytes(),
            ..Default::default()
        });
        b.remember(&r);
        r
    }

    fn par(&self, authorization: Option<&str>, body: &str) -> HttpResponse {
        self.send(Request {
            method: "POST",
            path: "/as/par",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization,
            body: body.as_bytes(),
            ..Default::default()
        })
    }

    /// Follows a 303 to our own page (relative reference).
    fn follow(&self, b: &mut Browser, r: &HttpResponse) -> HttpResponse {
        assert_eq!(r.status, 303, "{}", text(r));
        let loc = r.header_value("location").unwrap();
        assert!(!loc.contains("://"), "{loc}");
        self.get(b, &format!("/{loc}"))
    }

    /// Submits the page's form with `fields` added to its hidden fields.
    fn submit(
        &self,
        b: &mut Browser,
        page: &HttpResponse,
        path: &str,
        fields: &[(&str, &str)],
    ) -> HttpResponse {
        let mut pairs = hidden_fields(page);
        for (n, v) in fields {
            pairs.push((n.to_string(), v.to_string()));
        }
        let body = form_urlencode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        self.post(b, path, &body)
    }

    /// authorize → login → consent (approve) → the response to the client.
    fn sign_in_and_approve(
        &self,
        b: &mut Browser,
        query: &str,
        user: &str,
        pw: &str,
    ) -> HttpResponse {
        let r = self.get(b, &format!("/authorize?{query}"));
        let login = self.follow(b, &r);
        assert_eq!(login.status, 200, "{}", text(&login));
        let r = self.submit(b, &login, "/login", &[("username", user), ("password", pw)]);
        let consent = self.follow(b, &r);
        assert_eq!(consent.status, 200, "{}", text(&consent));
        self.submit(b, &consent, "/consent", &[("decision", "approve")])
    }
}

impl Browser {
    fn remember(&mut self, r: &HttpResponse) {
        if let Some(c) = r.header_value("set-cookie") {
            let (pair, _) = c.split_once(';').unwrap();
            let (_, value) = pair.split_once('=').unwrap();
            self.cookie = if value.is_empty() {
                None
            } else {
                Some(pair.to_string())
            };
        }
    }
}

fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn hidden_fields(page: &HttpResponse) -> Vec<(String, String)> {
    let body = text(page);
    body.split("<input type=\"hidden\" name=\"")
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
        .collect()
}

/// The parameters of a redirect to the client (query or fragment).
fn client_params(r: &HttpResponse, base: &str) -> Params {
    assert_eq!(r.status, 302, "{:?} {}", r.headers, text(r));
    let loc = r.header_value("location").unwrap();
    let query = loc
        .strip_prefix(&format!("{base}?"))
        .or_else(|| loc.strip_prefix(&format!("{base}#")))
        .unwrap_or_else(|| panic!("{loc}"));
    Params::parse(query).unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[test]
fn code_flow_with_login_and_consent() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}"));
    assert_eq!(r.status, 303);
    assert!(r
        .header_value("location")
        .unwrap()
        .starts_with("login?interaction="));
    let login = w.follow(&mut b, &r);
    assert_page_headers(&login);
    assert!(text(&login).contains("Demo App"));
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "Alice"), ("password", "correct horse")],
    );
    let cookie = r.header_value("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-authrim_session="), "{cookie}");
    assert!(cookie.contains("Secure; HttpOnly; SameSite=Lax"));
    let consent = w.follow(&mut b, &r);
    assert_page_headers(&consent);
    let page = text(&consent);
    assert!(
        page.contains("Email address") && page.contains(">alice<"),
        "{page}"
    );
    assert!(consent
        .header_value("content-security-policy")
        .unwrap()
        .contains("form-action 'self' https://client.example.org;"));
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "approve")]);
    let p = client_params(&r, CB);
    assert_eq!(p.get("state"), Some("st1"));
    assert_eq!(p.get("iss"), Some("https://id.example.com"));
    let code = p.get("code").unwrap();

    let codes = w.store.codes.borrow();
    assert_eq!(codes.len(), 1);
    let c = &codes[0];
    assert_eq!(c.code_hash, hash_token(code));
    assert_eq!(
        (c.client_id.as_str(), c.user_id.as_str()),
        ("c1", "u-alice")
    );
    assert_eq!(c.redirect_uri, CB);
    assert_eq!(c.scope, "openid email");
    assert_eq!(c.nonce.as_deref(), Some("n1"));
    assert_eq!(c.expires_at, NOW + 60);
    let session = &w.store.active_sessions(NOW)[0];
    assert_eq!(c.sid.as_deref(), Some(session.sid.as_str()));
    assert_eq!(session.amr, ["pwd"]);
    assert_eq!(session.expires_at, NOW + 3600);
    let g: serde_json::Value = serde_json::from_str(&c.grant_json).unwrap();
    assert_eq!(g["auth_time"], NOW);
    assert_eq!(g["amr"][0], "pwd");
    assert_eq!(g["nonce"], "n1");
    assert_eq!(g["redirect_uri_in_request"], true);
    let consent = w.store.consent("u-alice", "c1").unwrap().unwrap();
    assert_eq!(consent.scope, "openid email");
    drop(codes);

    // Signed in and consented: the next request gets a code at once,
    // as does prompt=none.
    for q in [AUTHZ.to_string(), format!("{AUTHZ}&prompt=none")] {
        let r = w.get(&mut b, &format!("/authorize?{q}"));
        assert!(client_params(&r, CB).contains("code"));
    }
    // Every interaction record was used up.
    assert!(w.store.one_time.borrow().is_empty());
}

#[test]
fn response_modes() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.sign_in_and_approve(
        &mut b,
        &format!("{AUTHZ}&response_mode=fragment"),
        "alice",
        "correct horse",
    );
    assert!(r
        .header_value("location")
        .unwrap()
        .starts_with(&format!("{CB}#code=")));
    let r = w.get(
        &mut b,
        &format!("/authorize?{AUTHZ}&response_mode=form_post"),
    );
    assert_eq!(r.status, 200);
    let page = text(&r);
    assert!(page.contains("action=\"https://client.example.org/cb\""));
    assert!(page.contains("name=\"code\"") && page.contains("name=\"iss\""));
}

#[test]
fn prompt_none_answers_login_and_consent_required() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&prompt=none"));
    let p = client_params(&r, CB);
    assert_eq!(p.get("error"), Some("login_required"));
    assert_eq!(p.get("state"), Some("st1"));
    assert_eq!(p.get("iss"), Some("https://id.example.com"));

    // Signed in, but consented to openid email only.
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let q = AUTHZ.replace("openid+email", "openid+profile");
    let p = client_params(&w.get(&mut b, &format!("/authorize?{q}&prompt=none")), CB);
    assert_eq!(p.get("error"), Some("consent_required"));
    let p = client_params(
        &w.get(&mut b, &format!("/authorize?{AUTHZ}&prompt=none&max_age=0")),
        CB,
    );
    assert_eq!(p.get("error"), Some("login_required"));
    // A claims request beyond the stored consent needs consent again.
    let claims = "&claims=%7B%22userinfo%22%3A%7B%22birthdate%22%3Anull%7D%7D";
    let p = client_params(
        &w.get(&mut b, &format!("/authorize?{AUTHZ}&prompt=none{claims}")),
        CB,
    );
    assert_eq!(p.get("error"), Some("consent_required"));
}

#[test]
fn prompt_login_max_age_and_prompt_consent_force_the_pages() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    for extra in [
        "&prompt=login",
        "&max_age=50",
        "&max_age=0",
        "&prompt=select_account",
    ] {
        w.now.set(w.now.get() + 100);
        let r = w.get(&mut b, &format!("/authorize?{AUTHZ}{extra}"));
        let login = w.follow(&mut b, &r);
        assert!(text(&login).contains("id=\"password\""), "{extra}");
        // Signing in again completes the request without asking consent.
        let r = w.submit(
            &mut b,
            &login,
            "/login",
            &[("username", "alice"), ("password", "correct horse")],
        );
        assert!(client_params(&r, CB).contains("code"), "{extra}");
    }
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&max_age=3600"));
    assert!(client_params(&r, CB).contains("code"));
    // The same user signing in again keeps the earlier session alive.
    assert_eq!(w.store.active_sessions(w.now.get()).len(), 5);

    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&prompt=consent"));
    let consent = w.follow(&mut b, &r);
    assert!(text(&consent).contains("id=\"approve\""));
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "deny")]);
    let p = client_params(&r, CB);
    assert_eq!(p.get("error"), Some("access_denied"));
    assert_eq!(p.get("state"), Some("st1"));
}

#[test]
fn failed_logins_say_the_same_and_are_rate_limited() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&login_hint=alice"));
    let login = w.follow(&mut b, &r);
    assert!(text(&login).contains("value=\"alice\""));
    let bad = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "wrong")],
    );
    assert_eq!(bad.status, 400);
    assert!(text(&bad).contains("role=\"alert\">Incorrect username or password.</p>"));
    assert!(bad.header_value("set-cookie").is_none());
    let unknown = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "nobody"), ("password", "wrong")],
    );
    assert_eq!(unknown.status, 400);
    assert!(text(&unknown).contains("Incorrect username or password."));
    let missing = w.submit(&mut b, &login, "/login", &[("username", "alice")]);
    assert_eq!(missing.status, 400);
    assert!(w.store.active_sessions(NOW).is_empty());

    // Four more failures make five for alice; the sixth try is refused
    // even with the right password. The unknown account behaves alike.
    for _ in 0..4 {
        let r = w.submit(
            &mut b,
            &login,
            "/login",
            &[("username", "ALICE"), ("password", "wrong")],
        );
        assert_eq!(r.status, 400);
    }
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(r.status, 429);
    assert!(text(&r).contains("Too many failed sign-in attempts"));
    assert!(w.store.active_sessions(NOW).is_empty());
    // Another account from the same address still works, and success
    // clears that account's bucket.
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "bob"), ("password", "battery staple")],
    );
    assert_eq!(r.status, 303);
    // After the window alice may try again.
    w.now.set(NOW + 15 * 60);
    let mut b2 = Browser::default();
    let r = w.sign_in_and_approve(&mut b2, AUTHZ, "alice", "correct horse");
    assert!(client_params(&r, CB).contains("code"));
}

#[test]
fn the_address_limit_counts_failures_across_accounts() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}"));
    let login = w.follow(&mut b, &r);
    for i in 0..20 {
        let user = format!("user{i}");
        let r = w.submit(
            &mut b,
            &login,
            "/login",
            &[("username", &user), ("password", "x")],
        );
        assert_eq!(r.status, 400);
    }
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "bob"), ("password", "battery staple")],
    );
    assert_eq!(r.status, 429);
}

#[test]
fn forms_need_their_csrf_token_and_work_once() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}"));
    let login = w.follow(&mut b, &r);
    let id = hidden_fields(&login)[0].1.clone();
    for body in [
        format!("interaction={id}&username=alice&password=correct+horse"),
        format!("interaction={id}&csrf=wrong&username=alice&password=correct+horse"),
    ] {
        let r = w.post(&mut b, "/login", &body);
        assert_eq!(r.status, 400);
        assert!(text(&r).contains("not sent by this sign-in page"));
    }
    let ok = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(ok.status, 303);
    let again = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("expired or was already completed"));
    let consent = w.follow(&mut b, &ok);
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "maybe")]);
    assert_eq!(r.status, 400);
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "approve")]);
    assert_eq!(r.status, 302);
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "approve")]);
    assert_eq!(r.status, 400);
    for path in [
        "/login?interaction=nope",
        "/consent?interaction=nope",
        "/login",
        "/consent",
    ] {
        assert_eq!(w.get(&mut b, path).status, 400, "{path}");
    }
}

#[test]
fn client_and_redirect_errors_are_pages_other_errors_redirect() {
    let w = World::new();
    let mut b = Browser::default();
    let page = |q: &str| {
        let mut b = Browser::default();
        let r = w.get(&mut b, &format!("/authorize?{q}"));
        assert!(r.header_value("location").is_none(), "{q}");
        (r.status, text(&r))
    };
    let table = [
        (
            AUTHZ.replace("client_id=c1", "client_id=nope"),
            "invalid_client",
        ),
        (AUTHZ.replace("client_id=c1&", ""), "invalid_request"),
        (AUTHZ.replace("%2Fcb", "%2Fevil"), "invalid_request"),
        (
            AUTHZ.replace("redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&", ""),
            "invalid_request",
        ),
        (format!("{AUTHZ}&client_id=c1"), "invalid_request"),
        (format!("{AUTHZ}&state=%zz"), "invalid_request"),
        (
            "client_id=c1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Anope".into(),
            "invalid_request_uri",
        ),
        // A request object is checked before any redirect URI is trusted.
        (format!("{AUTHZ}&request=e30"), "invalid_request_object"),
        (
            format!("{AUTHZ}&request_uri=https%3A%2F%2Fclient.example.org%2Fr"),
            "invalid_request_uri",
        ),
    ];
    for (q, code) in table {
        let (status, body) = page(&q);
        assert_eq!(status, 400, "{q}");
        assert!(
            body.contains(&format!("<code id=\"error-code\">{code}</code>")),
            "{q}: {body}"
        );
    }
    let redirected = [
        (
            AUTHZ.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            AUTHZ.replace("scope=openid+email", "scope=%22"),
            "invalid_scope",
        ),
        (format!("{AUTHZ}&prompt=none+login"), "invalid_request"),
        (format!("{AUTHZ}&max_age=-1"), "invalid_request"),
        (
            format!("{AUTHZ}&id_token_hint=not.a.jwt"),
            "invalid_request",
        ),
        (format!("{AUTHZ}&response_mode=xml"), "invalid_request"),
    ];
    for (q, code) in redirected {
        let p = client_params(&w.get(&mut b, &format!("/authorize?{q}")), CB);
        assert_eq!(p.get("error"), Some(code), "{q}");
        assert_eq!(p.get("iss"), Some("https://id.example.com"));
    }
    let put = w.send(Request {
        method: "PUT",
        path: "/authorize",
        ..Default::default()
    });
    assert_eq!(put.status, 405);
    assert_eq!(put.header_value("allow"), Some("GET, POST"));
    let json_post = w.send(Request {
        method: "POST",
        path: "/authorize",
        content_type: Some("application/json"),
        body: b"{}",
        ..Default::default()
    });
    assert_eq!(json_post.status, 400);
    assert_eq!(w.get(&mut b, "/nope").status, 404);
}

#[test]
fn post_authorize_reads_the_form_body() {
    let w = World::new();
    let mut b = Browser::default();
    let r = w.post(&mut b, "/authorize", AUTHZ);
    assert_eq!(r.status, 303);
}

#[test]
fn pushed_authorization_requests() {
    let w = World::new();
    let auth = basic("par-only", SECRET);
    let body = AUTHZ.replace("client_id=c1", "client_id=par-only");
    let r = w.par(Some(&auth), &body);
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["expires_in"], 60);
    let uri = v["request_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // The front channel: the pushed request is used once.
    let front = form_urlencode([("client_id", "par-only"), ("request_uri", uri.as_str())]);
    let mut b = Browser::default();
    let r = w.get(&mut b, &format!("/authorize?{front}"));
    let login = w.follow(&mut b, &r);
    let again = w.get(&mut Browser::default(), &format!("/authorize?{front}"));
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("invalid_request_uri"));
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    let consent = w.follow(&mut b, &r);
    let r = w.submit(&mut b, &consent, "/consent", &[("decision", "approve")]);
    assert!(client_params(&r, CB).contains("code"));

    // A PAR-only client may not skip PAR.
    let p = client_params(
        &w.get(&mut Browser::default(), &format!("/authorize?{body}")),
        CB,
    );
    assert_eq!(p.get("error"), Some("invalid_request"));
    // Another client cannot use the request_uri.
    let r = w.par(Some(&auth), &body);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let front = form_urlencode([
        ("client_id", "c1"),
        ("request_uri", v["request_uri"].as_str().unwrap()),
    ]);
    let r = w.get(&mut Browser::default(), &format!("/authorize?{front}"));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("invalid_request_uri"));
    // Expired.
    let r = w.par(Some(&auth), &body);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    w.now.set(NOW + 60);
    let front = form_urlencode([
        ("client_id", "par-only"),
        ("request_uri", v["request_uri"].as_str().unwrap()),
    ]);
    assert_eq!(
        w.get(&mut Browser::default(), &format!("/authorize?{front}"))
            .status,
        400
    );
}

#[test]
fn the_global_par_switch() {
    let mut w = World::new();
    w.config.require_par = true;
    let p = client_params(
        &w.get(&mut Browser::default(), &format!("/authorize?{AUTHZ}")),
        CB,
    );
    assert_eq!(p.get("error"), Some("invalid_request"));
    let r = w.par(Some(&basic("c1", SECRET)), AUTHZ);
    assert_eq!(r.status, 201, "{}", text(&r));
}

#[test]
fn par_refusals_are_json() {
    let w = World::new();
    let json = |r: &HttpResponse| -> serde_json::Value { serde_json::from_slice(&r.body).unwrap() };
    let auth = basic("c1", SECRET);
    let table: Vec<(Option<String>, String, u16, &str)> = vec![
        (None, AUTHZ.to_string(), 401, "invalid_client"),
        (
            Some(basic("c1", "wrong")),
            AUTHZ.to_string(),
            401,
            "invalid_client",
        ),
        (
            None,
            format!("{AUTHZ}&client_secret=wrong"),
            401,
            "invalid_client",
        ),
        (
            Some(auth.clone()),
            format!("{AUTHZ}&client_secret={SECRET}"),
            400,
            "invalid_request",
        ),
        (
            Some(auth.clone()),
            format!("{AUTHZ}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax"),
            400,
            "invalid_request",
        ),
        (
            Some(auth.clone()),
            AUTHZ.replace("%2Fcb", "%2Fevil"),
            400,
            "invalid_request",
        ),
        (
            Some(auth.clone()),
            AUTHZ.replace("scope=openid+email", "scope=%22"),
            400,
            "invalid_scope",
        ),
        (
            Some(auth.clone()),
            format!("{AUTHZ}&scope=x"),
            400,
            "invalid_request",
        ),
    ];
    for (authz, body, status, code) in table {
        let r = w.par(authz.as_deref(), &body);
        assert_eq!(r.status, status, "{body}: {}", text(&r));
        assert_eq!(json(&r)["error"], code, "{body}");
    }
    let r = w.par(Some(&basic("c1", "wrong")), AUTHZ);
    assert!(r
        .header_value("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    let get = w.send(Request {
        method: "GET",
        path: "/as/par",
        ..Default::default()
    });
    assert_eq!(get.status, 405);
    // Without client_id in the body (HTTP Basic names the client).
    let body = AUTHZ.replace("client_id=c1&", "");
    assert_eq!(w.par(Some(&auth), &body).status, 201);
}

fn id_token(sub: &str, sid: &str) -> String {
    sign(&format!(
        r#"{{"iss":"https://id.example.com","sub":"{sub}","aud":"c1","exp":1,"sid":"{sid}"}}"#
    ))
}

#[test]
fn id_token_hint_must_name_the_signed_in_user() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let sid = w.store.active_sessions(NOW)[0].sid.clone();
    let r = w.get(
        &mut b,
        &format!(
            "/authorize?{AUTHZ}&prompt=none&id_token_hint={}",
            id_token("u-alice", &sid)
        ),
    );
    assert!(client_params(&r, CB).contains("code"));
    let bob = id_token("u-bob", "other");
    let r = w.get(
        &mut b,
        &format!("/authorize?{AUTHZ}&prompt=none&id_token_hint={bob}"),
    );
    assert_eq!(client_params(&r, CB).get("error"), Some("login_required"));
    // Interactive: sign in again; as alice that is still the wrong user.
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&id_token_hint={bob}"));
    let login = w.follow(&mut b, &r);
    let r = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(client_params(&r, CB).get("error"), Some("login_required"));
    // A token for another client is not a hint for this one.
    let other = sign(r#"{"iss":"https://id.example.com","sub":"u-alice","aud":"c2"}"#);
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&id_token_hint={other}"));
    assert_eq!(client_params(&r, CB).get("error"), Some("invalid_request"));
}

#[test]
fn signing_in_as_someone_else_ends_the_previous_session() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    w.sign_in_and_approve(
        &mut b,
        &format!("{AUTHZ}&prompt=login"),
        "bob",
        "battery staple",
    );
    let active = w.store.active_sessions(NOW);
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].user_id, "u-bob");
}

#[test]
fn logout_with_a_trusted_hint_ends_the_session_and_redirects() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let sid = w.store.active_sessions(NOW)[0].sid.clone();
    let q = form_urlencode([
        ("id_token_hint", id_token("u-alice", &sid).as_str()),
        ("post_logout_redirect_uri", "https://client.example.org/bye"),
        ("state", "s 1"),
    ]);
    let r = w.get(&mut b, &format!("/logout?{q}"));
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header_value("location"),
        Some("https://client.example.org/bye?state=s%201")
    );
    assert!(r.header_value("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(w.store.active_sessions(NOW).is_empty());
    // The next authorization needs a login again.
    let r = w.get(&mut b, &format!("/authorize?{AUTHZ}&prompt=none"));
    assert_eq!(client_params(&r, CB).get("error"), Some("login_required"));
}

#[test]
fn logout_without_a_hint_asks_first() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let q = "client_id=c1&post_logout_redirect_uri=https%3A%2F%2Fclient.example.org%2Fbye&state=x";
    let confirm = w.get(&mut b, &format!("/logout?{q}"));
    assert_eq!(confirm.status, 200);
    assert_page_headers(&confirm);
    assert!(confirm
        .header_value("content-security-policy")
        .unwrap()
        .contains("form-action 'self' https://client.example.org;"));
    assert_eq!(w.store.active_sessions(NOW).len(), 1);
    let forged = w.post(
        &mut b,
        "/logout",
        &format!("logout={}&csrf=nope", hidden_fields(&confirm)[0].1),
    );
    assert_eq!(forged.status, 400);
    assert_eq!(w.store.active_sessions(NOW).len(), 1);
    let r = w.submit(&mut b, &confirm, "/logout", &[]);
    assert_eq!(
        r.header_value("location"),
        Some("https://client.example.org/bye?state=x")
    );
    assert!(w.store.active_sessions(NOW).is_empty());
    assert_eq!(w.submit(&mut b, &confirm, "/logout", &[]).status, 400);
}

#[test]
fn logout_never_redirects_to_an_unregistered_uri() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let sid = w.store.active_sessions(NOW)[0].sid.clone();
    let hint = id_token("u-alice", &sid);
    for uri in ["https://evil.example/bye", "https://client.example.org/cb"] {
        let q = form_urlencode([
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", uri),
        ]);
        let r = w.get(&mut b, &format!("/logout?{q}"));
        assert_eq!(r.status, 200, "{uri}");
        assert!(text(&r).contains("id=\"signed-out\""));
    }
    // Nothing to end and no hint: just the page.
    let r = w.get(&mut Browser::default(), "/logout");
    assert!(text(&r).contains("id=\"signed-out\""));
    // Refusals: a bad hint, a client_id that is not its audience.
    let r = w.get(&mut b, "/logout?id_token_hint=x.y.z");
    assert_eq!(r.status, 400);
    let q = form_urlencode([("id_token_hint", hint.as_str()), ("client_id", "par-only")]);
    assert_eq!(w.get(&mut b, &format!("/logout?{q}")).status, 400);
}

#[test]
fn logout_by_hint_sid_without_the_cookie() {
    let w = World::new();
    let mut b = Browser::default();
    w.sign_in_and_approve(&mut b, AUTHZ, "alice", "correct horse");
    let sid = w.store.active_sessions(NOW)[0].sid.clone();
    // A cross-site POST carries no SameSite=Lax cookie.
    let body = form_urlencode([("id_token_hint", id_token("u-alice", &sid).as_str())]);
    let r = w.post(&mut Browser::default(), "/logout", &body);
    assert_eq!(r.status, 200);
    assert!(w.store.active_sessions(NOW).is_empty());
}

#[test]
fn the_dummy_hash_has_the_real_parameters() {
    let phc = argon2::PasswordHash::new(super::login::DUMMY_HASH).unwrap();
    assert_eq!(phc.algorithm.as_str(), "argon2id");
    let p = argon2::Params::try_from(&phc).unwrap();
    assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19 * 1024, 2, 1));
}

/// `/login?return_to=/device...`: a sign-in for the device verification
/// page returns there with the session cookie; nothing else is a target.
#[test]
fn sign_in_returning_to_the_device_page() {
    let w = World::new();
    let mut b = Browser::default();
    let login = w.get(&mut b, "/login?return_to=%2Fdevice%3Fuser_code%3DWDJB-MJHT");
    assert_eq!(login.status, 200, "{}", text(&login));
    assert_page_headers(&login);
    assert!(text(&login).contains("your device"));
    let wrong = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "nope")],
    );
    assert_eq!(wrong.status, 400);
    let r = w.submit(
        &mut b,
        &wrong,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(
        r.header_value("location"),
        Some("https://id.example.com/device?user_code=WDJB-MJHT")
    );
    assert!(b.cookie.is_some(), "the session cookie is set");
    // The interaction was used up.
    let again = w.submit(
        &mut b,
        &login,
        "/login",
        &[("username", "alice"), ("password", "correct horse")],
    );
    assert_eq!(again.status, 400);
    for bad in [
        "/login?return_to=https%3A%2F%2Fevil.example%2Fdevice",
        "/login?return_to=%2F%2Fevil.example",
        "/login?return_to=%2Fconsent",
    ] {
        let r = w.get(&mut b, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.header_value("location").is_none());
    }
}

/// An RSA JWK Set with one encryption key, as a client publishes it.
fn rsa_enc_jwks() -> String {
    let authrim_jose::PublicKey::Rsa { n, e } = authrim_jose::test_keys::rsa().public_key() else {
        unreachable!()
    };
    let b64 = |b: &[u8]| authrim_jose::b64::encode(b);
    format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"rp-enc","use":"enc","n":"{}","e":"{}"}}]}}"#,
        b64(&n),
        b64(&e)
    )
}

fn jwe_header(jwe: &str) -> serde_json::Value {
    let parts: Vec<&str> = jwe.split('.').collect();
    assert_eq!(parts.len(), 5, "{jwe}");
    serde_json::from_slice(&authrim_jose::b64::decode(parts[0]).unwrap()).unwrap()
}

#[test]
fn front_channel_id_tokens_and_jarm_are_encrypted_to_the_clients_key() {
    let w = World::new();
    let jwks_uri = "https://client.example.org/jwks";
    w.store.add_client(
        "enc",
        None,
        &format!(
            r#"{{"redirect_uris":["{CB}"],"grant_types":["authorization_code","implicit"],
                "response_types":["code id_token","id_token"],"jwks_uri":"{jwks_uri}",
                "id_token_encrypted_response_alg":"RSA-OAEP-256",
                "authorization_encrypted_response_alg":"RSA-OAEP","authorization_encrypted_response_enc":"A256GCM"}}"#
        ),
    );
    let authz = |rt: &str, extra: &str| {
        format!("response_type={rt}&client_id=enc&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid&state=st1&nonce=n1{extra}")
    };
    let mut b = Browser::default();
    // The jwks_uri answers 404: nothing is issued, the client is told.
    let r = w.sign_in_and_approve(
        &mut b,
        &authz("code+id_token", ""),
        "alice",
        "correct horse",
    );
    let p = client_params(&r, CB);
    assert_eq!(p.get("error"), Some("invalid_request"));
    assert!(p.get("code").is_none() && p.get("id_token").is_none());
    assert!(w.store.codes.borrow().is_empty());
    // A JARM error for this client cannot be encrypted either: shown, not sent.
    let r = w.get(
        &mut b,
        &format!("/authorize?{}", authz("id_token", "&response_mode=jwt")),
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(r.header_value("location").is_none());

    w.store
        .jwks_documents
        .borrow_mut()
        .insert(jwks_uri.into(), rsa_enc_jwks());
    w.store.jwks_fetches.set(0);
    let r = w.get(
        &mut b,
        &format!("/authorize?{}", authz("code+id_token", "")),
    );
    let p = client_params(&r, CB);
    let h = jwe_header(p.get("id_token").unwrap());
    assert_eq!(
        (&h["alg"], &h["enc"], &h["cty"]),
        (
            &"RSA-OAEP-256".into(),
            &"A128CBC-HS256".into(),
            &"JWT".into()
        )
    );
    assert!(p.get("code").is_some());
    // Both encrypted, and the keys fetched once; query.jwt is allowed for
    // an ID Token when the response is encrypted (JARM §2.3.1).
    w.store.jwks_fetches.set(0);
    let r = w.get(
        &mut b,
        &format!(
            "/authorize?{}",
            authz("id_token", "&response_mode=query.jwt")
        ),
    );
    let p = client_params(&r, CB);
    let h = jwe_header(p.get("response").unwrap());
    assert_eq!(
        (&h["alg"], &h["enc"], &h["cty"]),
        (&"RSA-OAEP".into(), &"A256GCM".into(), &"JWT".into())
    );
    assert_eq!(w.store.jwks_fetches.get(), 1);
    // A JARM error is encrypted too.
    let r = w.get(
        &mut b,
        &format!(
            "/authorize?{}",
            authz("id_token", "&response_mode=jwt&prompt=none&max_age=0")
        ),
    );
    let p = client_params(&r, CB);
    assert_eq!(jwe_header(p.get("response").unwrap())["alg"], "RSA-OAEP");
}

#[test]
fn hybrid_access_tokens_are_linked_to_their_code() {
    let w = World::new();
    w.store.add_client(
        "hy",
        None,
        &format!(
            r#"{{"redirect_uris":["{CB}"],"grant_types":["authorization_code","implicit"],
                "response_types":["code token","id_token token"]}}"#
        ),
    );
    let authz = |rt: &str| {
        format!("response_type={rt}&client_id=hy&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid&state=st1&nonce=n1")
    };
    let mut b = Browser::default();
    let r = w.sign_in_and_approve(&mut b, &authz("code+token"), "alice", "correct horse");
    let p = client_params(&r, CB);
    let code_hash = hash_token(p.get("code").unwrap());
    let grant = w.store.access_tokens.borrow()[0].grant_id.clone();
    assert_eq!(*w.store.code_grants.borrow(), vec![(code_hash, grant)]);
    // Without a code there is nothing to link.
    let r = w.get(&mut b, &format!("/authorize?{}", authz("id_token+token")));
    assert!(client_params(&r, CB).get("access_token").is_some());
    assert_eq!(w.store.code_grants.borrow().len(), 1);
}

/// A DPoP proof at PAR is checked only for an authenticated client; a
/// broken one is `invalid_dpop_proof` and stores no request.
#[test]
fn par_checks_a_dpop_proof_after_client_authentication() {
    let w = World::new();
    let send = |auth: &str, proof: &str| {
        w.send(Request {
            method: "POST",
            path: "/as/par",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some(auth),
            dpop: Some(proof),
            body: AUTHZ.as_bytes(),
            ..Default::default()
        })
    };
    let error = |r: &HttpResponse| {
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let r = send(&basic("c1", "wrong"), "not-a-proof");
    assert_eq!((r.status, error(&r).as_str()), (401, "invalid_client"));
    for proof in ["not-a-proof", "a.b.c", ""] {
        let r = send(&basic("c1", SECRET), proof);
        assert_eq!(
            (r.status, error(&r).as_str()),
            (400, "invalid_dpop_proof"),
            "{proof}"
        );
    }
    assert!(w.store.one_time.borrow().is_empty());
    assert!(w.store.used.borrow().is_empty());
}

/// A request object of `client` signed with the test RSA key (kid `k1`).
fn request_object(client: &str, jti: &str) -> String {
    let claims = serde_json::json!({
        "iss": client, "aud": "https://id.example.com", "client_id": client,
        "exp": NOW + 300, "iat": NOW, "jti": jti,
        "response_type": "code", "redirect_uri": CB, "scope": "openid",
        "state": "inside", "nonce": "n1",
    });
    let key = authrim_jose::test_keys::rsa();
    authrim_jose::jws::sign_compact(&key, "k1", None, claims.to_string().as_bytes()).unwrap()
}

fn client_jwks() -> String {
    let key = authrim_jose::test_keys::rsa();
    format!(
        r#"{{"keys":[{}]}}"#,
        key.public_key().to_jwk_json("k1", authrim_jose::Alg::RS256)
    )
}

/// `jar-uri` registered a jwks_uri and a request_uri: both are fetched by
/// the component (`jar::wanted`), and the logic uses what was fetched.
fn jar_world() -> World {
    let w = World::new();
    w.store.add_client(
        "jar-uri",
        Some(&hash_token(SECRET)),
        r#"{"redirect_uris":["https://client.example.org/cb"],
            "jwks_uri":"https://client.example.org/jwks.json",
            "request_uris":["https://client.example.org/r.jwt#v1"]}"#,
    );
    w
}

const REGISTERED_URI: &str = "https%3A%2F%2Fclient.example.org%2Fr.jwt%23v1";

#[test]
fn what_the_component_fetches() {
    let w = jar_world();
    let wanted = |method: &str, path: &str, query: &str, body: &str, auth: Option<&str>| {
        let env = Env {
            store: &w.store,
            config: &w.config,
            now: NOW,
            fetched: &crate::jar::Fetched::default(),
        };
        crate::jar::wanted(
            &env,
            &Request {
                method,
                path,
                query,
                content_type: Some("application/x-www-form-urlencoded"),
                authorization: auth,
                body: body.as_bytes(),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let jwks_uri = Some("https://client.example.org/jwks.json".to_string());
    let got = wanted(
        "GET",
        "/authorize",
        "client_id=jar-uri&request=x.y.z",
        "",
        None,
    );
    assert_eq!(
        (got.jwks_uri.clone(), got.request_uri),
        (jwks_uri.clone(), None)
    );
    let got = wanted(
        "GET",
        "/authorize",
        &format!("client_id=jar-uri&request_uri={REGISTERED_URI}"),
        "",
        None,
    );
    assert_eq!(
        got.request_uri.as_deref(),
        Some("https://client.example.org/r.jwt#v1")
    );
    // Unregistered (even a prefix of a registered one): never fetched.
    for q in [
        "client_id=jar-uri&request_uri=https%3A%2F%2Fevil.example%2Fr.jwt",
        "client_id=jar-uri&request_uri=https%3A%2F%2Fclient.example.org%2Fr.jwt",
    ] {
        assert_eq!(
            wanted("GET", "/authorize", q, "", None).request_uri,
            None,
            "{q}"
        );
    }
    // Nothing without a request object, for an unknown client, elsewhere.
    let none = crate::jar::Wanted::default();
    assert_eq!(wanted("GET", "/authorize", AUTHZ, "", None), none);
    assert_eq!(
        wanted(
            "GET",
            "/authorize",
            "client_id=nope&request=x.y.z",
            "",
            None
        ),
        none
    );
    assert_eq!(
        wanted("GET", "/login", "client_id=jar-uri&request=x.y.z", "", None),
        none
    );
    // PAR: the client from HTTP Basic; a request_uri is not fetched there.
    let auth = basic("jar-uri", SECRET);
    let got = wanted("POST", "/as/par", "", "request=x.y.z", Some(&auth));
    assert_eq!(got.jwks_uri, jwks_uri);
    let got = wanted(
        "POST",
        "/as/par",
        "",
        &format!("request_uri={REGISTERED_URI}"),
        Some(&auth),
    );
    assert_eq!(got, none);
}

#[test]
fn request_objects_from_fetched_documents() {
    let w = jar_world();
    let mut b = Browser::default();
    let by_value = |jti: &str| {
        format!(
            "/authorize?client_id=jar-uri&request={}",
            request_object("jar-uri", jti)
        )
    };
    // jwks_uri not fetched (no outbound host allowed): no key.
    let r = w.get(&mut b, &by_value("a"));
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
    w.fetched.borrow_mut().jwks = Some(Err("not allowed".into()));
    let r = w.get(&mut b, &by_value("b"));
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
    // With the fetched JWK Set it verifies: on to the login page.
    w.fetched.borrow_mut().jwks = Some(Ok(client_jwks()));
    let r = w.get(&mut b, &by_value("c"));
    assert_eq!(r.status, 303, "{}", text(&r));

    // By reference: the fetched request object is the request.
    let by_ref = format!("/authorize?client_id=jar-uri&request_uri={REGISTERED_URI}");
    let r = w.get(&mut b, &by_ref);
    assert!(text(&r).contains(">invalid_request_uri<"), "{}", text(&r));
    w.fetched.borrow_mut().request_object = Some(Err("status 404".into()));
    let r = w.get(&mut b, &by_ref);
    assert!(text(&r).contains(">invalid_request_uri<"), "{}", text(&r));
    w.fetched.borrow_mut().request_object =
        Some(Ok(format!("{}\n", request_object("jar-uri", "d"))));
    let r = w.get(&mut b, &by_ref);
    assert_eq!(r.status, 303, "{}", text(&r));
    // The same object again: its jti was used.
    let r = w.get(&mut b, &by_ref);
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
    // Another client's object behind the URI.
    w.fetched.borrow_mut().request_object = Some(Ok(request_object("c1", "e")));
    let r = w.get(&mut b, &by_ref);
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
}

#[test]
fn encrypted_request_objects_are_opened_by_the_store() {
    use authrim_jose::jwe::{encrypt_compact, ContentEnc, KeyAlg};
    use authrim_jose::{Alg, Jwk, SigningKey};
    let w = jar_world();
    w.fetched.borrow_mut().jwks = Some(Ok(client_jwks()));
    let op = SigningKey::generate(Alg::ES256).unwrap();
    let mut op_jwk = Jwk::parse(&op.public_key().to_jwk_json("enc-test", Alg::ES256)).unwrap();
    op_jwk.alg = None;
    op_jwk.use_ = Some("enc".into());
    let seal = |jti: &str| {
        let signed = request_object("jar-uri", jti);
        encrypt_compact(
            &op_jwk,
            KeyAlg::EcdhEsA128Kw,
            ContentEnc::A128Gcm,
            Some("JWT"),
            signed.as_bytes(),
        )
        .unwrap()
    };
    let mut b = Browser::default();
    let at = |token: &str| format!("/authorize?client_id=jar-uri&request={token}");
    // Before the store has the key: not for us.
    let r = w.get(&mut b, &at(&seal("x1")));
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
    *w.store.enc_key.borrow_mut() = Some(op);
    let r = w.get(&mut b, &at(&seal("x2")));
    assert_eq!(r.status, 303, "{}", text(&r));
    // The jti inside is single use like any other.
    let token = seal("x3");
    assert_eq!(w.get(&mut b, &at(&token)).status, 303);
    let r = w.get(&mut b, &at(&token));
    assert!(
        text(&r).contains(">invalid_request_object<"),
        "{}",
        text(&r)
    );
}
