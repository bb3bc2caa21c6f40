//! The UserInfo endpoint through the runner: the RFC 6750 error table.
//! Claims and revocation after a login are in `token::code_flow`.

use serde_json::json;

use crate::harness::{App, DataDir, Response};
use crate::token::{
    add_client, basic, code_flow_app, code_for, form, param, redeem, token, Browser, CHALLENGE,
    FORM, REDIRECT, SECRET,
};

pub fn userinfo_get(app: &App, access_token: &str) -> Response {
    let auth = format!("Bearer {access_token}");
    let r = app.request("GET", "/userinfo", &[("authorization", &auth)], b"");
    assert_userinfo_headers(&r);
    r
}

pub fn assert_userinfo_headers(r: &Response) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.status < 500, "{} {}", r.status, r.text());
}

/// (method, query, headers, body, status, error, challenge)
type Case<'a> = (
    &'a str,
    String,
    Vec<(&'a str, &'a str)>,
    String,
    u16,
    &'a str,
    &'a str,
);

#[test]
fn userinfo_error_table() {
    let data = DataDir::new();
    let app = App::start(&data);
    add_client(
        &data,
        "cc",
        Some(SECRET),
        &json!({"grant_types": ["client_credentials"], "scope": "openid api"}),
    );
    // A live access token without a user (and without `openid`).
    let r = token(
        &app,
        Some(&basic("cc", SECRET)),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cc_token = r.json()["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {cc_token}");
    let in_body = format!("access_token={cc_token}");
    let bogus = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzY29wZSI6Im9wZW5pZCJ9.c2ln";

    let table: Vec<Case> = vec![
        (
            "GET",
            String::new(),
            vec![],
            String::new(),
            401,
            "",
            "Bearer realm=\"authrim\"",
        ),
        (
            "POST",
            String::new(),
            vec![FORM],
            String::new(),
            401,
            "",
            "Bearer realm=\"authrim\"",
        ),
        (
            "GET",
            String::new(),
            vec![("authorization", "Basic YTpi")],
            String::new(),
            401,
            "",
            "Bearer realm=\"authrim\"",
        ),
        (
            "GET",
            String::new(),
            vec![("authorization", bogus)],
            String::new(),
            401,
            "invalid_token",
            "error=\"invalid_token\"",
        ),
        (
            "GET",
            format!("?access_token={cc_token}"),
            vec![],
            String::new(),
            400,
            "invalid_request",
            "error=\"invalid_request\"",
        ),
        (
            "POST",
            String::new(),
            vec![FORM, ("authorization", &bearer)],
            in_body.clone(),
            400,
            "invalid_request",
            "error=\"invalid_request\"",
        ),
        (
            "POST",
            String::new(),
            vec![FORM],
            format!("{in_body}&{in_body}"),
            400,
            "invalid_request",
            "error=\"invalid_request\"",
        ),
        (
            "GET",
            String::new(),
            vec![("authorization", "Bearer")],
            String::new(),
            400,
            "invalid_request",
            "error=\"invalid_request\"",
        ),
        (
            "GET",
            String::new(),
            vec![("authorization", "Bearer a b")],
            String::new(),
            400,
            "invalid_request",
            "error=\"invalid_request\"",
        ),
        (
            "GET",
            String::new(),
            vec![("authorization", &bearer)],
            String::new(),
            403,
            "insufficient_scope",
            "error=\"insufficient_scope\"",
        ),
        (
            "POST",
            String::new(),
            vec![FORM],
            in_body.clone(),
            403,
            "insufficient_scope",
            "error=\"insufficient_scope\"",
        ),
    ];
    for (method, query, headers, body, status, error, challenge) in &table {
        let r = app.request(
            method,
            &format!("/userinfo{query}"),
            headers,
            body.as_bytes(),
        );
        let what = format!("{method} {query:.40} {headers:?} {body:.40}");
        assert_userinfo_headers(&r);
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        let www = r.header("www-authenticate").unwrap_or_default();
        assert!(www.contains(challenge), "{what}: {www}");
        if error.is_empty() {
            assert!(r.body.is_empty(), "{what}");
        } else {
            assert_eq!(r.json()["error"], *error, "{what}");
        }
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let r = app.request(method, "/userinfo", &[("authorization", &bearer)], b"");
        assert_userinfo_headers(&r);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, POST, OPTIONS"));
    }
    let r = app.request("OPTIONS", "/userinfo", &[], b"");
    assert_eq!(r.status, 204);
}

#[test]
fn claims_by_scope_and_by_claims_request() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "rp", "openid profile email");
    let body = redeem(&app, "rp", &code).json();
    let at = body["access_token"].as_str().unwrap();
    let r = userinfo_get(&app, at);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let claims = r.json();
    assert_eq!(claims["name"], "Alice Doe");
    assert_eq!(claims["given_name"], "Alice");
    assert_eq!(claims["email"], "alice@example.test");
    assert_eq!(claims["email_verified"], true);
    assert!(claims.get("phone_number").is_none(), "{claims}");
    let sub = claims["sub"].as_str().unwrap().to_string();
    // The same by POST with the token in the form body.
    let r = app.request(
        "POST",
        "/userinfo",
        &[FORM],
        format!("access_token={at}").as_bytes(),
    );
    assert_userinfo_headers(&r);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), claims);

    // `openid` alone plus a claims request for one UserInfo claim.
    let params = browser.authorize(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", "rp"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "st-1"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("prompt", "consent"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            (
                "claims",
                r#"{"userinfo":{"phone_number":{"essential":true}}}"#,
            ),
        ],
    );
    let code = param(&params, "code").expect("code").to_string();
    let body = redeem(&app, "rp", &code).json();
    let r = userinfo_get(&app, body["access_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"sub": sub, "phone_number": "+1 555 0100"}));
}

#[test]
fn an_ended_session_is_refused_on_the_next_request() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "rp", "openid profile");
    let body = redeem(&app, "rp", &code).json();
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(userinfo_get(&app, at).status, 200);
    // RP-initiated logout naming this session ends it at once.
    let id_token = body["id_token"].as_str().unwrap();
    let r = browser.send(
        &app,
        "GET",
        &format!("/logout?{}", form(&[("id_token_hint", id_token)])),
        None,
    );
    assert!(r.status < 400, "{} {}", r.status, r.text());
    let r = userinfo_get(&app, at);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_token");
}
