//! Stop the runner (SIGTERM, and SIGKILL under load), start it again: what
//! was written is there, the database is intact, migrations are whole.

use crate::harness::{admin, repo_root, App, DataDir};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn kids(app: &App) -> Vec<String> {
    let r = app.get("/.well-known/jwks.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut kids: Vec<String> = r.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

fn migration_files() -> usize {
    std::fs::read_dir(repo_root().join("migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

fn assert_database_intact(data: &DataDir) {
    let db = rusqlite::Connection::open(data.database()).expect("open database");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let applied: usize = db
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        applied,
        migration_files(),
        "every migration applied exactly once"
    );
}

#[test]
fn sigterm_then_restart_keeps_keys() {
    let data = DataDir::new();
    let app = App::start(&data);
    let before = kids(&app);
    // RS256 and ES256 signing keys and the encryption key (request objects).
    assert_eq!(before.len(), 3);
    assert!(app.terminate(), "graceful shutdown exits 0");
    assert_database_intact(&data);
    let app = App::start(&data);
    assert_eq!(kids(&app), before, "the same keys after a restart");
}

#[test]
fn sigkill_under_load_loses_nothing_committed() {
    let data = DataDir::new();
    let app = App::start(&data);
    let initial = kids(&app);

    // Load: clients fetching metadata and keys while an operator rotates
    // keys from another process against the same database.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let addr = app.addr.clone();
    let mut load = Vec::new();
    for i in 0..4 {
        let (stop, served, addr) = (stop.clone(), served.clone(), addr.clone());
        load.push(std::thread::spawn(move || {
            use std::io::{Read, Write};
            let path = if i % 2 == 0 {
                "/.well-known/jwks.json"
            } else {
                "/.well-known/openid-configuration"
            };
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
                    break;
                };
                let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
                if s.write_all(req.as_bytes()).is_err() {
                    break;
                }
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                served.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut rotated = 0;
    for alg in ["ES256", "RS256"] {
        admin(&data, &["keys", "rotate", "--alg", alg]);
        rotated += 1;
    }
    let committed = kids(&app);
    assert_eq!(committed.len(), initial.len() + rotated);
    std::thread::sleep(Duration::from_millis(300));
    app.kill();
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    assert!(served.load(Ordering::Relaxed) > 0);

    assert_database_intact(&data);
    let app = App::start(&data);
    assert_eq!(
        kids(&app),
        committed,
        "every committed key survives SIGKILL"
    );
}

#[test]
fn a_failing_migration_is_not_half_applied() {
    let data = DataDir::new();
    // A copy of the real migrations plus one that fails half-way.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_root().join("migrations")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        dir.path().join("9999_broken.sql"),
        "CREATE TABLE half_applied (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::harness::runner_bin())
        .current_dir(repo_root())
        .env("SPIN_VARIABLE_MASTER_KEY", crate::harness::MASTER_KEY)
        .args(["migrate", "--manifest"])
        .arg(repo_root().join("spin.toml"))
        .arg("--runtime-config-file")
        .arg(data.runtime_config())
        .arg("--migrations")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a broken migration must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("9999_broken.sql"),
        "names the migration: {stderr}"
    );
    let db = rusqlite::Connection::open(data.database()).unwrap();
    let half: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_applied'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0, "nothing of the failed migration remains");
}
