//! Local service chaining (Spin SIP 017): a component sends
//! `http://<id>.spin.internal/...` and the runner runs component `<id>`
//! in-process. The fixture (tests/fixtures/spin.toml): `chainer` allows
//! `http://*.spin.internal` and `http://ghost.spin.internal`; `private` has
//! only a private endpoint; `denied` is routed at `/denied/...`; `granted`
//! allows only `http://127.0.0.1:*`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Asks component `from` (by its route) to GET `url`, or POST `len` bytes
/// to it; returns the probe's report (`{"ok": {status, body}}` or
/// `{"err": "send", "detail": ...}`).
fn chain(addr: SocketAddr, from: &str, url: &str, len: Option<usize>) -> Value {
    let mut path = format!("/{from}/?op=http&url={}", enc(url));
    if let Some(len) = len {
        path.push_str(&format!("&len={len}"));
    }
    let resp = get(addr, &path);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

/// The callee's own JSON answer inside a successful chained call.
fn callee_json(report: &Value) -> Value {
    assert_eq!(report["ok"]["status"], 200, "{report}");
    serde_json::from_str(report["ok"]["body"].as_str().unwrap()).unwrap()
}

#[test]
fn chained_request_reaches_a_private_component_with_spins_headers() {
    let r = Start::fixture().start();
    let report = chain(
        r.addr,
        "chainer",
        "http://private.spin.internal/a/b?op=headers&x=1",
        None,
    );
    let j = callee_json(&report);
    assert_eq!(j["env"], "private-env", "{j}");
    assert_eq!(j["path"], "/a/b");
    assert_eq!(j["query"], "op=headers&x=1");
    // The callee's authority is the chaining host; like Spin (3.4 and
    // later), the chained request has no Host header, so spin-full-url
    // says "localhost".
    assert_eq!(j["uri"], "http://private.spin.internal/a/b?op=headers&x=1");
    let h = &j["spin"];
    assert_eq!(h["spin-path-info"], "/a/b");
    assert_eq!(h["spin-matched-route"], "/...");
    assert_eq!(h["spin-raw-component-route"], "/...");
    assert_eq!(h["spin-component-route"], "");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-client-addr"], "0.0.0.0:0");
    assert_eq!(h["spin-full-url"], "http://localhost/a/b?op=headers&x=1");
    let log = r.stderr();
    assert!(
        log.contains("GET /a/b private 200") && log.contains("(chained from chainer)"),
        "{log}"
    );
    // The query string is never logged.
    assert!(!log.contains("x=1"), "{log}");
}

#[test]
fn chained_request_reaches_a_routed_component_bypassing_its_route() {
    let r = Start::fixture().start();
    // `denied` is routed at /denied/...; chaining ignores the route.
    let report = chain(
        r.addr,
        "chainer",
        "http://denied.spin.internal/anything?op=headers",
        None,
    );
    let j = callee_json(&report);
    assert_eq!(j["env"], Value::Null, "{j}");
    assert_eq!(j["spin"]["spin-path-info"], "/anything");
    assert_eq!(j["spin"]["spin-matched-route"], "/...");
    // A POST body reaches the callee.
    let report = chain(
        r.addr,
        "chainer",
        "http://granted.spin.internal/?op=echo",
        Some(1000),
    );
    assert_eq!(callee_json(&report), json!({"ok": {"len": 1000}}));
}

#[test]
fn chaining_needs_an_allowed_host_entry() {
    let r = Start::fixture().start();
    for (from, url) in [
        // `granted` allows only http://127.0.0.1:*; `denied` nothing.
        ("granted", "http://private.spin.internal/?op=headers"),
        ("denied", "http://private.spin.internal/?op=headers"),
        // `http://*.spin.internal` allows neither https ...
        ("chainer", "https://private.spin.internal/?op=headers"),
        // ... nor another port ...
        ("chainer", "http://private.spin.internal:8080/?op=headers"),
        // ... nor a component the app does not have.
        ("chainer", "http://nope.spin.internal/?op=headers"),
    ] {
        let j = chain(r.addr, from, url, None);
        assert_eq!(j["err"], "send", "{from} {url}: {j}");
        assert!(
            j["detail"].as_str().unwrap().contains("HttpRequestDenied"),
            "{from} {url}: {j}"
        );
    }
    // Allowed by a literal entry but no such component: the request fails
    // (Spin: "unknown routing destination"), nothing is routed.
    let j = chain(r.addr, "chainer", "http://ghost.spin.internal/", None);
    assert_eq!(j["err"], "send", "{j}");
    assert!(
        j["detail"]
            .as_str()
            .unwrap()
            .contains("DestinationNotFound"),
        "{j}"
    );
}

#[test]
fn private_component_is_unreachable_over_http() {
    let r = Start::fixture().start();
    for path in ["/private", "/private/?op=headers", "/?op=headers"] {
        assert_eq!(get(r.addr, path).status, 404, "{path}");
    }
    let out = r.stdout_lines.join("\n");
    assert!(!out.contains("private:"), "{out}");
}

#[test]
fn spoofed_spin_internal_host_is_not_treated_as_chained() {
    let r = Start::fixture().start();
    // Origin-form with `Host: private.spin.internal`: the Host header is
    // stripped (as Spin does), which leaves no authority: 400, and no
    // component runs.
    let resp = raw(
        r.addr,
        b"GET /granted/x?op=headers HTTP/1.1\r\nHost: private.spin.internal\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    // Absolute-form naming a chaining host: routed by its path like any
    // request, with the real client address; the Host header is dropped
    // (spin-full-url falls back to "localhost"), as in Spin.
    let resp = raw(
        r.addr,
        b"GET http://private.spin.internal:80/granted/x?op=headers HTTP/1.1\r\nHost: private.spin.internal:80\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let j = resp.json();
    assert_eq!(j["env"], "granted-env", "{j}");
    assert_eq!(
        j["uri"],
        "http://private.spin.internal:80/granted/x?op=headers"
    );
    let h = &j["spin"];
    assert_eq!(h["spin-matched-route"], "/granted/...");
    assert_eq!(h["spin-full-url"], "http://localhost/granted/x?op=headers");
    let client = h["spin-client-addr"].as_str().unwrap();
    assert!(client.starts_with("127.0.0.1:"), "{client}");
}

#[test]
fn callee_trap_is_a_500_response_to_the_caller() {
    let r = Start::fixture().start();
    let j = chain(
        r.addr,
        "chainer",
        "http://private.spin.internal/?op=trap",
        None,
    );
    assert_eq!(j["ok"]["status"], 500, "{j}");
    // The caller and the callee keep working.
    let j = chain(
        r.addr,
        "chainer",
        "http://private.spin.internal/?op=echo",
        None,
    );
    assert_eq!(callee_json(&j), json!({"ok": {"len": 0}}));
}

#[test]
fn chained_request_body_is_bounded() {
    let r = Start::fixture().arg("--max-body-bytes").arg("1024").start();
    let j = chain(
        r.addr,
        "chainer",
        "http://private.spin.internal/?op=echo",
        Some(1000),
    );
    assert_eq!(callee_json(&j), json!({"ok": {"len": 1000}}));
    let j = chain(
        r.addr,
        "chainer",
        "http://private.spin.internal/?op=echo",
        Some(4096),
    );
    assert_eq!(j["ok"]["status"], 413, "{j}");
}

/// Every routed slot held by a caller waiting for its callee must not
/// deadlock: chained requests have slots of their own.
#[test]
fn concurrent_chains_do_not_deadlock() {
    // 6 instances: 2 kept for admin work, 3 routed slots, 1 chained slot.
    let r = Start::fixture()
        .arg("--max-instances")
        .arg("6")
        .arg("--request-timeout-secs")
        .arg("20")
        .start();
    let addr = r.addr;
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(move || {
                chain(
                    addr,
                    "chainer",
                    "http://private.spin.internal/?op=spin&ms=50",
                    None,
                )
            })
        })
        .collect();
    for h in handles {
        let j = h.join().unwrap();
        assert_eq!(callee_json(&j)["ok"]["spun_ms"], 50, "{j}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
