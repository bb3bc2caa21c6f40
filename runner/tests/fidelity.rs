//! Runtime fidelity: the real `authrim` binary serving the probe fixture
//! (tests/fixtures/spin.toml), spoken to over HTTP.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn routes_are_printed_like_spin() {
    let r = Start::fixture().start();
    let base = format!("http://{}", r.addr);
    let out = r.stdout_lines.join("\n");
    assert!(out.contains("Available Routes:"), "{out}");
    assert!(
        out.contains(&format!("  granted: {base}/granted (wildcard)")),
        "{out}"
    );
    assert!(out.contains(&format!("  granted: {base}/exact\n")), "{out}");
    assert!(out.contains("    probe with grants"), "{out}");
    let health = get(r.addr, "/.well-known/spin/health");
    assert_eq!((health.status, health.text().as_str()), (200, "OK"));
    let info = get(r.addr, "/.well-known/spin/info").json();
    assert_eq!(info["name"], "runner-fixture");
    assert_eq!(get(r.addr, "/.well-known/spin/nope").status, 404);
}

#[test]
fn routing_and_spin_headers() {
    let r = Start::fixture().start();
    // (path, component that must answer, path-info, matched route, component route)
    let table = [
        ("/granted", "granted", "", "/granted/...", "/granted"),
        ("/granted/", "granted", "/", "/granted/...", "/granted"),
        (
            "/granted/a/b",
            "granted",
            "/a/b",
            "/granted/...",
            "/granted",
        ),
        ("/exact", "granted", "", "/exact", "/exact"),
        ("/exact/", "granted", "", "/exact", "/exact"),
        ("/exact/x", "denied", "/x", "/exact/...", "/exact"),
        ("/wild/a", "granted", "/a", "/wild/...", "/wild"),
        (
            "/wild/deeper",
            "denied",
            "",
            "/wild/deeper/...",
            "/wild/deeper",
        ),
        (
            "/wild/deeper/z/",
            "denied",
            "/z/",
            "/wild/deeper/...",
            "/wild/deeper",
        ),
        ("/wild/deeperx", "granted", "/deeperx", "/wild/...", "/wild"),
    ];
    for (path, component, info, matched, croute) in table {
        let resp = get(r.addr, &format!("{path}?op=headers&x=1"));
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        let j = resp.json();
        let who = if j["env"] == "granted-env" {
            "granted"
        } else {
            "denied"
        };
        assert_eq!(who, component, "{path}");
        let h = &j["spin"];
        assert_eq!(h["spin-path-info"], info, "{path}");
        assert_eq!(h["spin-matched-route"], matched, "{path}");
        assert_eq!(h["spin-raw-component-route"], matched, "{path}");
        assert_eq!(h["spin-component-route"], croute, "{path}");
        assert_eq!(h["spin-base-path"], "/", "{path}");
        assert_eq!(
            h["spin-full-url"],
            format!("http://{}{path}?op=headers&x=1", r.addr),
            "{path}"
        );
        let client = h["spin-client-addr"].as_str().unwrap();
        assert!(client.starts_with("127.0.0.1:"), "{client}");
        assert_eq!(j["path"], path);
    }
    for path in ["/", "/nothing", "/grantedx", "/exac"] {
        assert_eq!(get(r.addr, path).status, 404, "{path}");
    }
}

#[test]
fn client_cannot_spoof_spin_headers_and_connection_is_stripped() {
    let r = Start::fixture().start();
    let req = format!(
        "GET /granted/x?op=headers HTTP/1.1\r\nHost: {}\r\nspin-client-addr: 6.6.6.6:1\r\n\
         spin-path-info: /evil\r\nConnection: close\r\n\r\n",
        r.addr
    );
    let j = raw(r.addr, req.as_bytes()).json();
    assert_ne!(j["spin"]["spin-client-addr"], "6.6.6.6:1");
    assert_eq!(j["spin"]["spin-path-info"], "/x");
    let names: Vec<&str> = j["header_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!names.contains(&"connection"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "spin-client-addr").count(),
        1,
        "{names:?}"
    );
}

#[test]
fn variables_follow_grants() {
    let r = Start::fixture().env("SPIN_VARIABLE_GREETING", "hi").start();
    let v = |c: &str, name: &str| get(r.addr, &format!("/{c}/?op=var&name={name}")).json();
    assert_eq!(v("granted", "greeting"), json!({"ok": "hi, world"}));
    assert_eq!(v("granted", "token"), json!({"ok": "t0ken"}));
    assert_eq!(v("granted", "secret_token")["err"], "undefined");
    assert_eq!(v("granted", "Bad")["err"], "invalid-name");
    assert_eq!(v("denied", "greeting")["err"], "undefined");
    // The secret's value never appears in the logs.
    assert!(!r.stderr().contains("t0ken"), "{}", r.stderr());
}

#[test]
fn key_value_follows_grants() {
    let r = Start::fixture().start();
    let j = get(r.addr, "/granted/?op=kv&label=default&key=k1&value=v1").json();
    assert_eq!(j["ok"]["value"], "v1");
    assert_eq!(j["ok"]["exists"], true);
    assert_eq!(j["ok"]["keys"], json!(["k1"]));
    let j = get(r.addr, "/granted/?op=kv&label=default&key=missing").json();
    assert_eq!(j["ok"]["value"], serde_json::Value::Null);
    assert_eq!(j["ok"]["exists"], false);
    // Not granted (existing or not) -> access-denied, as in Spin.
    for (c, label) in [
        ("denied", "default"),
        ("granted", "other"),
        ("granted", "nope"),
    ] {
        let j = get(r.addr, &format!("/{c}/?op=kv&label={label}&key=k1")).json();
        assert_eq!(j["err"], "access-denied", "{c} {label}: {j}");
    }
    // Stored the way Spin's SQLite key-value store stores it.
    let conn = rusqlite::Connection::open(r.dir.path().join("kv.db")).unwrap();
    let v: Vec<u8> = conn
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'k1'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(v, b"v1");
}

#[test]
fn sqlite_follows_grants_and_maps_values() {
    let r = Start::fixture().start();
    let sql = enc("SELECT 1, 'x', NULL, 2.5, x'0102', ?, ?, ?");
    let args = enc(r#"[42, "t", null]"#);
    let j = get(
        r.addr,
        &format!("/granted/?op=sqlite&label=default&sql={sql}&args={args}"),
    )
    .json();
    assert_eq!(
        j["ok"][0]["rows"][0],
        json!([
            {"integer": 1}, {"text": "x"}, "null", {"real": 2.5}, {"blob": [1, 2]},
            {"integer": 42}, {"text": "t"}, "null"
        ]),
        "{j}"
    );
    let j = get(r.addr, "/granted/?op=sqlite&label=other&sql=SELECT%201").json();
    assert_eq!(j["ok"][0]["rows"][0][0]["integer"], 1, "{j}");
    for (c, label) in [
        ("denied", "default"),
        ("denied", "other"),
        ("granted", "nope"),
    ] {
        let j = get(
            r.addr,
            &format!("/{c}/?op=sqlite&label={label}&sql=SELECT%201"),
        )
        .json();
        assert_eq!(j["err"], "access-denied", "{c} {label}: {j}");
    }
    let j = get(r.addr, "/granted/?op=sqlite&label=default&sql=NOT%20SQL").json();
    assert_eq!(j["err"], "io", "{j}");
}

#[test]
fn sqlite_transactions_stay_on_their_connection() {
    let r = Start::fixture().start();
    let q = |stmts: &[&str]| {
        let mut path = "/granted/?op=sqlite&label=default".to_string();
        for s in stmts {
            path.push_str("&sql=");
            path.push_str(&enc(s));
        }
        get(r.addr, &path).json()
    };
    q(&["CREATE TABLE t (x INTEGER)"]);
    let j = q(&[
        "BEGIN IMMEDIATE",
        "INSERT INTO t VALUES (1)",
        "INSERT INTO t VALUES (2)",
        "COMMIT",
    ]);
    assert!(j.get("ok").is_some(), "{j}");
    // A transaction the guest leaves open is rolled back.
    let j = q(&["BEGIN IMMEDIATE", "INSERT INTO t VALUES (3)"]);
    assert!(j.get("ok").is_some(), "{j}");
    let j = q(&["SELECT count(*) FROM t"]);
    assert_eq!(j["ok"][0]["rows"][0][0]["integer"], 2, "{j}");
    // ... and does not block the next writer.
    let j = q(&["INSERT INTO t VALUES (4)", "SELECT count(*) FROM t"]);
    assert_eq!(j["ok"][1]["rows"][0][0]["integer"], 3, "{j}");
}

/// A tiny HTTP server on 127.0.0.1 counting the requests it gets.
fn pong_server() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            h.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong",
                );
            });
        }
    });
    (port, hits)
}

#[test]
fn outbound_http_is_restricted_to_allowed_hosts() {
    let (port, hits) = pong_server();
    let r = Start::fixture().start();
    let call = |c: &str, url: &str| get(r.addr, &format!("/{c}/?op=http&url={}", enc(url))).json();
    // Allowed: http://127.0.0.1:*
    let j = call("granted", &format!("http://127.0.0.1:{port}/ping"));
    assert_eq!(j["ok"], json!({"status": 200, "body": "pong"}), "{j}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // Not allowed: another scheme, another host name, another component.
    for (c, url) in [
        ("granted", format!("https://127.0.0.1:{port}/ping")),
        ("granted", format!("http://localhost:{port}/ping")),
        ("granted", "http://example.com/".to_string()),
        ("denied", format!("http://127.0.0.1:{port}/ping")),
    ] {
        let j = call(c, &url);
        assert_eq!(j["err"], "send", "{c} {url}: {j}");
        assert!(
            j["detail"].as_str().unwrap().contains("HttpRequestDenied"),
            "{c} {url}: {j}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a denied request reached the server"
    );
}

#[test]
fn oversized_body_is_413_and_server_keeps_serving() {
    let r = Start::fixture().arg("--max-body-bytes").arg("1024").start();
    let ok = request(r.addr, "POST", "/granted/?op=echo", &[b'a'; 1000]);
    assert_eq!(ok.json()["ok"]["len"], 1000);
    let big = request(r.addr, "POST", "/granted/?op=echo", &[b'a'; 4096]);
    assert_eq!(big.status, 413, "{}", big.text());
    // Chunked, without a Content-Length, over the limit.
    let mut req = format!(
        "POST /granted/?op=echo HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        r.addr
    )
    .into_bytes();
    for _ in 0..4 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[b'b'; 0x200]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(r.addr, &req).status, 413);
    assert_eq!(get(r.addr, "/granted/?op=echo").json()["ok"]["len"], 0);
}

#[test]
fn malformed_request_is_400_and_server_keeps_serving() {
    let r = Start::fixture().start();
    let mut s = TcpStream::connect(r.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"THIS IS NOT HTTP\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 400"), "{text:?}");
    let bad_header = raw(r.addr, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    assert_eq!(bad_header.status, 400);
    assert_eq!(get(r.addr, "/granted/?op=echo").status, 200);
}

#[test]
fn trap_is_500_and_timeout_is_503_and_server_keeps_serving() {
    let r = Start::fixture()
        .arg("--request-timeout-secs")
        .arg("1")
        .start();
    let t = get(r.addr, "/granted/?op=trap");
    assert_eq!(t.status, 500);
    assert!(t.text().len() < 100, "{}", t.text());
    let start = Instant::now();
    let slow = get(r.addr, "/granted/?op=spin&ms=20000");
    assert_eq!(slow.status, 503, "{}", slow.text());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(get(r.addr, "/granted/?op=spin&ms=10").status, 200);
    let log = r.stderr();
    assert!(log.contains("GET /granted/ granted 500"), "{log}");
    assert!(log.contains("GET /granted/ granted 503"), "{log}");
    // The query string is never logged.
    assert!(!log.contains("op=trap"), "{log}");
}

#[test]
fn many_concurrent_requests() {
    let r = Start::fixture().start();
    let addr = r.addr;
    let handles: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let j = get(
                    addr,
                    &format!("/granted/?op=kv&label=default&key=c{i}&value={i}"),
                )
                .json();
                assert_eq!(j["ok"]["value"], i.to_string(), "{j}");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut r = Start::fixture().start();
    let addr = r.addr;
    let inflight = std::thread::spawn(move || get(addr, "/granted/?op=spin&ms=1500"));
    // Wait until the request is being served.
    std::thread::sleep(Duration::from_millis(500));
    r.signal("TERM");
    let resp = inflight.join().unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["ok"]["spun_ms"], 1500);
    let status = r
        .wait(Duration::from_secs(20))
        .expect("runner did not exit");
    assert!(status.success(), "exit status {status}");
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
    let log = r.stderr();
    assert!(log.contains("authrim: stopped"), "{log}");
}

#[test]
fn migrations_run_before_serving() {
    let dir = TempDir::new("mig");
    let m = dir.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("0001_first.sql"), "CREATE TABLE first (x INTEGER);").unwrap();
    std::fs::write(m.join("0002_second.sql"), "INSERT INTO first VALUES (7);").unwrap();
    let r = Start::fixture().start_in(dir);
    let j = get(
        r.addr,
        "/granted/?op=sqlite&label=default&sql=SELECT%20x%20FROM%20first",
    )
    .json();
    assert_eq!(j["ok"][0]["rows"][0][0]["integer"], 7, "{j}");
    let j = get(
        r.addr,
        "/granted/?op=sqlite&label=default&sql=SELECT%20name%20FROM%20schema_migrations%20ORDER%20BY%20version",
    )
    .json();
    assert_eq!(
        j["ok"][0]["rows"],
        json!([[{"text": "0001_first.sql"}], [{"text": "0002_second.sql"}]])
    );
}

#[test]
fn start_refuses_what_it_cannot_honour() {
    // A required variable without a value.
    let err = Start {
        env: Vec::new(),
        ..Start::fixture()
    }
    .expect_failure();
    assert!(err.contains("secret_token"), "{err}");
    assert!(err.contains("SPIN_VARIABLE_SECRET_TOKEN"), "{err}");

    // A manifest key the runner does not implement.
    let dir = TempDir::new("bad-manifest");
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/spin.toml"))
        .unwrap()
        .replace(
            "../../target/wasm32-wasip2/release/runner_probe.wasm",
            &probe_wasm().display().to_string(),
        )
        .replace(
            "description = \"probe without grants\"",
            "description = \"probe without grants\"\nfiles = [\"static/**\"]",
        );
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, text).unwrap();
    let err = Start {
        manifest: path,
        ..Start::fixture()
    }
    .expect_failure();
    assert!(
        err.contains("spin.toml: component.denied.files is not supported by the authrim runner"),
        "{err}"
    );

    // A component that imports interfaces nothing provides (the store probe
    // without its op-store dependency).
    let store_probe = store_probe_wasm();
    let text = format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n\
         [component.c]\nsource = \"{}\"\n",
        store_probe.display()
    );
    let path = dir.path().join("spin2.toml");
    std::fs::write(&path, text).unwrap();
    let err = Start {
        manifest: path,
        ..Start::fixture()
    }
    .expect_failure();
    assert!(err.contains("imports \"authrim:store/"), "{err}");
}

#[test]
fn compiled_components_are_cached() {
    let r = Start::fixture().start();
    drop(r);
    let entries: Vec<_> = std::fs::read_dir(cache_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert!(!entries.is_empty());
}

/// The project's own app, when its components are built: starts under the
/// runner and serves discovery (the composed op-store included).
#[test]
fn the_projects_app_serves_discovery() {
    let manifest = repo_root().join("spin.toml");
    let Ok(m) = authrim_runner::manifest::Manifest::load(&manifest) else {
        eprintln!("no loadable spin.toml at the repository root; skipping");
        return;
    };
    let missing: Vec<_> = m
        .components
        .values()
        .flat_map(|c| {
            std::iter::once(c.source.clone()).chain(c.dependencies.iter().map(|d| d.path.clone()))
        })
        .filter(|p| !p.exists())
        .collect();
    if !missing.is_empty() {
        eprintln!("components not built ({missing:?}); skipping");
        return;
    }
    let r = Start {
        manifest,
        args: vec![
            "--migrations".into(),
            repo_root().join("migrations").display().to_string(),
        ],
        env: vec![(
            "SPIN_VARIABLE_MASTER_KEY",
            "test-master-key-0123456789abcdef0123456789".to_string(),
        )],
    }
    .start();
    if m.components.contains_key("op-discovery") {
        let resp = get(r.addr, "/.well-known/jwks.json");
        assert_eq!(resp.status, 200, "{}\n{}", resp.text(), r.stderr());
        assert!(resp.json()["keys"].is_array());
    }
}
