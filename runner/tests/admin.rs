//! `authrim migrate`, `authrim admin keys ...` and `authrim up --dev`,
//! writing through the real op-store component.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A copy of the store fixture manifest with absolute paths, in `dir`.
fn store_app(dir: &Path) -> PathBuf {
    let wasm = wasm_dir();
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/spin-store.toml"))
        .unwrap()
        .replace(
            "../../target/wasm32-wasip2/release",
            &wasm.display().to_string(),
        );
    let p = dir.join("spin.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    for e in std::fs::read_dir(repo_root().join("migrations")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("migrations").join(e.file_name())).unwrap();
    }
    p
}

fn authrim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authrim"))
        .args(args)
        .env_remove("SPIN_VARIABLE_MASTER_KEY")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ensure_wasm() {
    store_probe_wasm();
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
        assert!(st.success());
    }
}

#[test]
fn migrate_then_keys_through_op_store() {
    ensure_wasm();
    let dir = TempDir::new("admin");
    let manifest = store_app(dir.path());
    let m = manifest.display().to_string();
    let cache = cache_dir().display().to_string();

    let out = ok(&authrim(&["migrate", "--manifest", &m]));
    assert!(out.contains("applied 0001_init.sql"), "{out}");
    let out = ok(&authrim(&["migrate", "--manifest", &m]));
    assert!(out.contains("0 migration(s) applied"), "{out}");

    // Without --dev and without SPIN_VARIABLE_MASTER_KEY: refused, naming it.
    let out = authrim(&["admin", "--manifest", &m, "keys", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SPIN_VARIABLE_MASTER_KEY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let admin = |extra: &[&str]| {
        let mut a = vec![
            "admin",
            "--manifest",
            &m,
            "--cache-dir",
            &cache,
            "--dev",
            "keys",
        ];
        a.extend_from_slice(extra);
        authrim(&a)
    };
    let out = admin(&["ensure"]);
    let stdout = ok(&out);
    assert!(
        stdout.contains("RS256") && stdout.contains("ES256"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEVELOPMENT MASTER KEY"), "{stderr}");

    let key_file = dir.path().join(".authrim/dev-master-key");
    let meta = std::fs::metadata(&key_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 43, "32 bytes, base64url");

    let out = ok(&admin(&["rotate", "--alg", "ES256"]));
    assert!(out.contains("ES256"), "{out}");
    let list = ok(&admin(&["list"]));
    let rows = list
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(rows, 3, "{list}");
    // The same key is reused: the stored keys still decrypt (signing works
    // only if they do; `ensure` on existing keys must not fail).
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    ok(&admin(&["ensure"]));

    // `--immediate` conflicts with an explicit --publish-delay.
    let out = admin(&[
        "rotate",
        "--alg",
        "RS256",
        "--immediate",
        "--publish-delay",
        "5",
    ]);
    assert!(!out.status.success());
    let out = admin(&["rotate", "--alg", "HS256"]);
    assert!(!out.status.success());

    // `up --dev` reuses the key, ensures keys before serving, and serves.
    let r = Start {
        manifest: manifest.clone(),
        args: vec![
            "--dev".into(),
            "--migrations".into(),
            dir.path().join("migrations").display().to_string(),
        ],
        env: Vec::new(),
    }
    .start_in(TempDir::new("admin-up"));
    assert!(
        r.stderr().contains("signing key(s) ready"),
        "{}",
        r.stderr()
    );
    let j = get(r.addr, "/store/?op=store-mark&ns=n&key=k").json();
    assert_eq!(j["ok"], true, "{j}");
}
