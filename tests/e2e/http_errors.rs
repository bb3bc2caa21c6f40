//! Wrong methods, unknown paths, malformed and oversized requests: each gets
//! a clear 4xx and the server keeps serving.

use crate::harness::{App, DataDir};

#[test]
fn not_found_and_method_not_allowed_table() {
    let data = DataDir::new();
    let app = App::start(&data);
    // (method, path, status, JSON error code or None for the runner's own
    // plain 404 outside any route)
    let table: &[(&str, &str, u16, Option<&str>)] = &[
        (
            "POST",
            "/.well-known/openid-configuration",
            405,
            Some("method_not_allowed"),
        ),
        (
            "PUT",
            "/.well-known/jwks.json",
            405,
            Some("method_not_allowed"),
        ),
        (
            "DELETE",
            "/.well-known/oauth-authorization-server",
            405,
            Some("method_not_allowed"),
        ),
        (
            "PATCH",
            "/.well-known/jwks.json",
            405,
            Some("method_not_allowed"),
        ),
        ("GET", "/.well-known/unknown", 404, Some("not_found")),
        (
            "GET",
            "/.well-known/jwks.json/extra",
            404,
            Some("not_found"),
        ),
        ("GET", "/.well-known/", 404, Some("not_found")),
        ("POST", "/.well-known/unknown", 404, Some("not_found")),
        ("GET", "/no-such-route", 404, None),
        ("GET", "/", 404, None),
    ];
    for &(method, path, status, code) in table {
        let r = app.request(method, path, &[], b"");
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        if let Some(code) = code {
            assert_eq!(r.json()["error"], code, "{method} {path}");
            assert_eq!(r.header("content-type"), Some("application/json"));
        }
        if status == 405 {
            assert_eq!(
                r.header("allow"),
                Some("GET, HEAD, OPTIONS"),
                "{method} {path}"
            );
        }
    }
    assert!(!app.log().contains("panicked"), "{}", app.log());
}

fn still_serving(app: &App) {
    let r = app.get("/.well-known/openid-configuration");
    assert_eq!(r.status, 200, "server stopped serving: {}", app.log());
}

#[test]
fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let data = DataDir::new();
    let app = App::start(&data);
    let cases: &[&[u8]] = &[
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET /.well-known/jwks.json HTTP/9.9\r\n\r\n",
        b"GET /.well-known/jwks.json HTTP/1.1\r\nbad header line\r\n\r\n",
        b"GET /.well-known/jwks.json HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n",
        b"GET /.well-known/jwks.json HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        b"\x00\x01\x02\x03\r\n\r\n",
    ];
    for case in cases {
        let r = app.raw(case);
        assert!(
            (400..500).contains(&r.status),
            "{:?} got {}",
            String::from_utf8_lossy(case),
            r.status
        );
        still_serving(&app);
    }
}

#[test]
fn oversized_requests_are_refused_and_the_server_keeps_serving() {
    let data = DataDir::new();
    let app = App::start(&data);
    // Body over the runner's limit (1 MiB by default).
    let body = vec![b'a'; 2 * 1024 * 1024];
    let r = app.request("POST", "/.well-known/openid-configuration", &[], &body);
    assert_eq!(r.status, 413, "{}", r.text());
    still_serving(&app);
    // Headers far beyond any reasonable size.
    let huge = "x".repeat(256 * 1024);
    let r = app.request("GET", "/.well-known/jwks.json", &[("x-huge", &huge)], b"");
    assert!(matches!(r.status, 400 | 431), "got {}", r.status);
    still_serving(&app);
    // A URI far beyond any reasonable size.
    let long_path = format!("/.well-known/{}", "a".repeat(128 * 1024));
    let r = app.get(&long_path);
    assert!(
        matches!(r.status, 400 | 404 | 414 | 431),
        "got {}",
        r.status
    );
    still_serving(&app);
}
