//! The op-store composed into an endpoint-like component (a Spin component
//! dependency), under concurrency: the atomic guarantees of DESIGN.md
//! section 2 must hold when many requests race through the runner.
//!
//! Needs `target/wasm32-wasip2/release/op_store.wasm`; it is built with
//! `cargo build --target wasm32-wasip2 --release -p op-store` if missing.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Barrier};

use common::*;

fn op_store_wasm() {
    let p = wasm_dir().join("op_store.wasm");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "op-store",
            ])
            .status()
            .unwrap();
        assert!(st.success(), "building op-store failed");
    }
    assert!(p.exists());
}

fn start_store_app() -> Runner {
    op_store_wasm();
    store_probe_wasm();
    Start {
        manifest: repo_root().join("tests/fixtures/spin-store.toml"),
        args: vec![
            "--migrations".into(),
            repo_root().join("migrations").display().to_string(),
        ],
        env: vec![(
            "SPIN_VARIABLE_MASTER_KEY",
            "test-master-key-0123456789abcdef0123456789".to_string(),
        )],
    }
    .start()
}

/// Sends `paths[i]` from thread `i`, all released at once; returns the
/// JSON answers (failing with the runner's log on anything else).
fn race(r: &Runner, paths: Vec<String>) -> Vec<serde_json::Value> {
    let barrier = Arc::new(Barrier::new(paths.len()));
    let addr: SocketAddr = r.addr;
    let handles: Vec<_> = paths
        .into_iter()
        .map(|path| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                get(addr, &path)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let resp = h.join().unwrap();
            serde_json::from_slice(&resp.body).unwrap_or_else(|_| {
                panic!(
                    "{} {}\nrunner log:\n{}",
                    resp.status,
                    resp.text(),
                    r.stderr()
                )
            })
        })
        .collect()
}

#[test]
fn one_time_mark_used_has_exactly_one_winner() {
    let r = start_store_app();
    for round in 0..20 {
        let results = race(
            &r,
            vec![format!("/store/?op=store-mark&ns=test&key=k{round}"); 64],
        );
        let wins = results.iter().filter(|j| j["ok"] == true).count();
        let losses = results.iter().filter(|j| j["ok"] == false).count();
        assert_eq!(
            (wins, losses),
            (1, 63),
            "round {round}: {:?}",
            results.iter().find(|j| j.get("ok").is_none())
        );
    }
}

#[test]
fn refresh_rotation_has_exactly_one_winner() {
    let r = start_store_app();
    let j = get(r.addr, "/store/?op=store-client-create&id=c1").json();
    assert!(j.get("ok").is_some(), "{j}");
    for round in 0..20 {
        let j = get(
            r.addr,
            &format!("/store/?op=store-grant-create&id=g{round}&client=c1&hash=h{round}"),
        )
        .json();
        assert!(j.get("ok").is_some(), "{j}");
        let n = 64;
        let results = race(
            &r,
            (0..n)
                .map(|i| format!("/store/?op=store-rotate&hash=h{round}&new=n{round}-{i}"))
                .collect(),
        );
        let rotated = results.iter().filter(|j| j["ok"] == "rotated").count();
        let others = results
            .iter()
            .filter(|j| j["ok"] == "reuse-detected" || j["ok"] == "invalid")
            .count();
        assert_eq!(
            (rotated, others),
            (1, n - 1),
            "round {round}: {:?}",
            results.iter().find(|j| j["ok"] != "rotated"
                && j["ok"] != "reuse-detected"
                && j["ok"] != "invalid")
        );
    }
}

#[test]
fn dependency_without_inherited_configuration_is_refused() {
    op_store_wasm();
    store_probe_wasm();
    let dir = TempDir::new("no-inherit");
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/spin-store.toml"))
        .unwrap()
        .replace(
            "dependencies_inherit_configuration = true",
            "dependencies_inherit_configuration = false",
        )
        .replace(
            "../../target/wasm32-wasip2/release",
            &wasm_dir().display().to_string(),
        );
    let manifest = dir.path().join("spin.toml");
    std::fs::write(&manifest, text).unwrap();
    let err = Start {
        manifest,
        args: Vec::new(),
        env: vec![("SPIN_VARIABLE_MASTER_KEY", "x".repeat(40))],
    }
    .expect_failure();
    assert!(
        err.contains("dependency \"authrim:store\" imports \"fermyon:spin/"),
        "{err}"
    );
    assert!(
        err.contains("dependencies_inherit_configuration = true"),
        "{err}"
    );
}
