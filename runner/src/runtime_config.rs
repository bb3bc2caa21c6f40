//! `runtime-config.toml`: where SQLite databases and key-value stores live.
//!
//! Supported, as in Spin:
//!
//! ```toml
//! [sqlite_database.LABEL]
//! type = "spin"
//! path = "data/authrim.db"
//!
//! [key_value_store.LABEL]
//! type = "spin"
//! path = "data/kv.db"
//! ```
//!
//! Relative paths resolve against the directory of the runtime-config file.
//! Without an entry, label `default` lives in `.spin/sqlite_db.db`
//! (SQLite) and `.spin/sqlite_key_value.db` (key-value) under the manifest
//! directory, like Spin's default state directory. Anything else (other
//! store types such as `libsql` or `redis`, other sections) is refused with
//! the exact key path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};
use wasmtime::{Result, format_err};

use crate::manifest::{Ctx, key_path};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// SQLite database label -> file.
    pub sqlite_databases: BTreeMap<String, PathBuf>,
    /// Key-value store label -> SQLite file holding it.
    pub key_value_stores: BTreeMap<String, PathBuf>,
}

pub const DEFAULT_SQLITE_FILE: &str = ".spin/sqlite_db.db";
pub const DEFAULT_KV_FILE: &str = ".spin/sqlite_key_value.db";

impl RuntimeConfig {
    /// Loads `path` (if given) and adds the `default` labels.
    pub fn load(path: Option<&Path>, manifest_dir: &Path) -> Result<Self> {
        match path {
            None => Self::parse("", "runtime-config.toml", manifest_dir, manifest_dir),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format_err!("cannot read runtime config {}: {e}", p.display()))?;
                let dir = p.parent().unwrap_or(Path::new("."));
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                let file = p
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "runtime-config.toml".into());
                Self::parse(&text, &file, &dir, manifest_dir)
            }
        }
    }

    pub fn parse(text: &str, file: &str, base_dir: &Path, manifest_dir: &Path) -> Result<Self> {
        let ctx = Ctx { file };
        let doc: Table = text
            .parse()
            .map_err(|e| format_err!("{file}: invalid TOML: {e}"))?;
        let mut cfg = RuntimeConfig {
            sqlite_databases: BTreeMap::new(),
            key_value_stores: BTreeMap::new(),
        };
        for (key, value) in &doc {
            match key.as_str() {
                "sqlite_database" => {
                    cfg.sqlite_databases = parse_stores(&ctx, key, value, base_dir)?;
                }
                "key_value_store" => {
                    cfg.key_value_stores = parse_stores(&ctx, key, value, base_dir)?;
                }
                other => return Err(ctx.unsupported(&key_path("", other))),
            }
        }
        cfg.sqlite_databases
            .entry("default".into())
            .or_insert_with(|| manifest_dir.join(DEFAULT_SQLITE_FILE));
        cfg.key_value_stores
            .entry("default".into())
            .or_insert_with(|| manifest_dir.join(DEFAULT_KV_FILE));
        Ok(cfg)
    }
}

fn parse_stores(
    ctx: &Ctx,
    section: &str,
    v: &Value,
    base_dir: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for (label, value) in ctx.table(section, v)? {
        let path = key_path(section, label);
        let t = ctx.table(&path, value)?;
        // The type first: other keys depend on it.
        let tpath = key_path(&path, "type");
        let ty = t.get("type").ok_or_else(|| ctx.missing(&tpath))?;
        let ty = ctx.string(&tpath, ty)?;
        if ty != "spin" {
            return Err(ctx.unsupported(&format!("{tpath} = {ty:?}")));
        }
        let mut file = None;
        for (key, value) in t {
            let kpath = key_path(&path, key);
            match key.as_str() {
                "type" => {}
                "path" => file = Some(ctx.string(&kpath, value)?),
                _ => return Err(ctx.unsupported(&kpath)),
            }
        }
        let Some(file) = file else {
            return Err(ctx.unsupported(&format!("{path} without `path` (an in-memory store)")));
        };
        out.insert(label.clone(), base_dir.join(file));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        RuntimeConfig::parse(
            text,
            "runtime-config.toml",
            Path::new("/cfg"),
            Path::new("/app"),
        )
    }

    #[test]
    fn defaults_live_under_dot_spin() {
        let c = parse("").unwrap();
        assert_eq!(
            c.sqlite_databases["default"],
            Path::new("/app/.spin/sqlite_db.db")
        );
        assert_eq!(
            c.key_value_stores["default"],
            Path::new("/app/.spin/sqlite_key_value.db")
        );
    }

    #[test]
    fn paths_are_relative_to_the_runtime_config_file() {
        let c = parse(
            r#"
[sqlite_database.default]
type = "spin"
path = "data/authrim.db"

[sqlite_database.audit]
type = "spin"
path = "/abs/audit.db"

[key_value_store.cache]
type = "spin"
path = "data/kv.db"
"#,
        )
        .unwrap();
        assert_eq!(
            c.sqlite_databases["default"],
            Path::new("/cfg/data/authrim.db")
        );
        assert_eq!(c.sqlite_databases["audit"], Path::new("/abs/audit.db"));
        assert_eq!(c.key_value_stores["cache"], Path::new("/cfg/data/kv.db"));
        assert_eq!(
            c.key_value_stores["default"],
            Path::new("/app/.spin/sqlite_key_value.db")
        );
    }

    #[test]
    fn refuses_what_it_does_not_implement() {
        let cases = [
            (
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://x\"\ntoken = \"t\"",
                "runtime-config.toml: sqlite_database.default.type = \"libsql\" is not supported by the authrim runner",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"",
                "runtime-config.toml: key_value_store.default.type = \"redis\" is not supported",
            ),
            (
                "[sqlite_database.default]\ntype = \"spin\"\npath = \"x.db\"\nallow_attach_file = true",
                "runtime-config.toml: sqlite_database.default.allow_attach_file is not supported",
            ),
            (
                "[sqlite_database.default]\ntype = \"spin\"",
                "runtime-config.toml: sqlite_database.default without `path` (an in-memory store) is not supported",
            ),
            (
                "[sqlite_database.default]\npath = \"x.db\"",
                "runtime-config.toml: sqlite_database.default.type is required",
            ),
            (
                "[[config_provider]]\ntype = \"vault\"",
                "runtime-config.toml: config_provider is not supported",
            ),
            (
                "[variables_provider]\ntype = \"env\"",
                "runtime-config.toml: variables_provider is not supported",
            ),
            (
                "state_dir = \"/tmp\"",
                "runtime-config.toml: state_dir is not supported",
            ),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(
                err.contains(expected),
                "{text}\n  expected {expected}\n  got {err}"
            );
        }
    }
}
