//! Schema migrations: `migrations/*.sql`, applied to the `default` SQLite
//! database in file-name order, each exactly once.
//!
//! * A file's version is the number its name starts with (`0001_init.sql`
//!   is version 1); two files with one version are refused.
//! * All pending migrations run in ONE transaction, together with their rows
//!   in `schema_migrations`; if any fails, nothing is applied.
//! * A migration that was applied and whose file changed since (SHA-256 of
//!   the file) refuses the start, as does an applied migration whose file is
//!   gone: the database would no longer match the schema in the repository.
//! * Migration files must not contain `BEGIN`/`COMMIT` themselves.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sha2::{Digest, Sha256};
use wasmtime::{Result, bail, format_err};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    /// The file name, e.g. `0001_init.sql`.
    pub name: String,
    pub sql: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub checksum: String,
}

/// Reads the migrations in `dir` (none if the directory does not exist).
pub fn discover(dir: &Path) -> Result<Vec<Migration>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format_err!("cannot read migrations directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut out: Vec<Migration> = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let digits: String = name.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            bail!(
                "migration file {name:?} must start with its version number (e.g. 0001_init.sql)"
            );
        }
        let version: i64 = digits
            .parse()
            .map_err(|_| format_err!("migration file {name:?}: version too large"))?;
        if let Some(prev) = out.iter().find(|m| m.version == version) {
            bail!(
                "migration files {:?} and {name:?} have the same version {version}",
                prev.name
            );
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| format_err!("cannot read migration {}: {e}", path.display()))?;
        let sql = String::from_utf8(bytes.clone())
            .map_err(|_| format_err!("migration {name:?} is not UTF-8"))?;
        let checksum = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push(Migration {
            version,
            name,
            sql,
            checksum,
        });
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)";

/// Applies the pending migrations; returns the names of those applied.
pub fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<Vec<String>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_TABLE)?;
    let applied: Vec<(i64, String, String)> = {
        let mut stmt =
            tx.prepare("SELECT version, name, checksum FROM schema_migrations ORDER BY version")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (version, name, checksum) in &applied {
        match migrations.iter().find(|m| m.version == *version) {
            None => bail!(
                "migration {name} (version {version}) was applied to the database but its file is missing"
            ),
            Some(m) if &m.checksum != checksum => bail!(
                "migration {} was changed after it was applied (checksum {} in the database, {} on disk); \
                 add a new migration instead of editing an applied one",
                m.name,
                checksum,
                m.checksum
            ),
            Some(_) => {}
        }
    }
    let mut done = Vec::new();
    for m in migrations {
        if applied.iter().any(|(v, _, _)| *v == m.version) {
            continue;
        }
        tx.execute_batch(&m.sql)
            .map_err(|e| format_err!("migration {} failed: {e}", m.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, m.checksum, now],
        )?;
        done.push(m.name.clone());
    }
    tx.commit()?;
    Ok(done)
}

/// Opens `db` and applies the migrations in `dir`.
pub fn migrate(db: &Path, dir: &Path) -> Result<Vec<String>> {
    let migrations = discover(dir)?;
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut conn = Connection::open(db)?;
    conn.busy_timeout(crate::db::BUSY_TIMEOUT)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    apply(&mut conn, &migrations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn write(dir: &Path, name: &str, sql: &str) {
        std::fs::write(dir.join(name), sql).unwrap();
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut s = conn
            .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn apply_twice_is_apply_once() {
        let tmp = TempDir::new("mig-twice");
        let dir = tmp.path().join("migrations");
        std::fs::create_dir(&dir).unwrap();
        write(&dir, "0002_b.sql", "CREATE TABLE b (x INTEGER);");
        write(&dir, "0001_a.sql", "CREATE TABLE a (x INTEGER);");
        write(&dir, "README.md", "not a migration");
        let db = tmp.path().join("db.sqlite");
        assert_eq!(
            migrate(&db, &dir).unwrap(),
            vec!["0001_a.sql", "0002_b.sql"]
        );
        assert!(migrate(&db, &dir).unwrap().is_empty());
        let conn = Connection::open(&db).unwrap();
        assert_eq!(tables(&conn), vec!["a", "b", "schema_migrations"]);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        // A new file is applied on its own later.
        write(&dir, "0003_c.sql", "CREATE TABLE c (x INTEGER);");
        assert_eq!(migrate(&db, &dir).unwrap(), vec!["0003_c.sql"]);
    }

    #[test]
    fn changed_checksum_is_refused() {
        let tmp = TempDir::new("mig-changed");
        let dir = tmp.path().join("m");
        std::fs::create_dir(&dir).unwrap();
        write(&dir, "0001_a.sql", "CREATE TABLE a (x INTEGER);");
        let db = tmp.path().join("db.sqlite");
        migrate(&db, &dir).unwrap();
        write(&dir, "0001_a.sql", "CREATE TABLE a (x INTEGER, y TEXT);");
        let err = format!("{:#}", migrate(&db, &dir).unwrap_err());
        assert!(
            err.contains("0001_a.sql was changed after it was applied"),
            "{err}"
        );
        // A deleted applied migration is refused too.
        std::fs::remove_file(dir.join("0001_a.sql")).unwrap();
        let err = format!("{:#}", migrate(&db, &dir).unwrap_err());
        assert!(err.contains("its file is missing"), "{err}");
    }

    #[test]
    fn failing_migration_leaves_nothing_applied() {
        let tmp = TempDir::new("mig-fail");
        let dir = tmp.path().join("m");
        std::fs::create_dir(&dir).unwrap();
        write(&dir, "0001_a.sql", "CREATE TABLE a (x INTEGER);");
        write(
            &dir,
            "0002_b.sql",
            "CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);",
        );
        let db = tmp.path().join("db.sqlite");
        let err = format!("{:#}", migrate(&db, &dir).unwrap_err());
        assert!(err.contains("migration 0002_b.sql failed"), "{err}");
        let conn = Connection::open(&db).unwrap();
        assert!(tables(&conn).is_empty(), "{:?}", tables(&conn));
        // Fix the file: both apply.
        write(&dir, "0002_b.sql", "CREATE TABLE b (x INTEGER);");
        assert_eq!(migrate(&db, &dir).unwrap().len(), 2);
    }

    #[test]
    fn bad_file_names_are_refused() {
        let tmp = TempDir::new("mig-names");
        write(tmp.path(), "init.sql", "SELECT 1;");
        assert!(discover(tmp.path()).is_err());
        std::fs::remove_file(tmp.path().join("init.sql")).unwrap();
        write(tmp.path(), "0001_a.sql", "SELECT 1;");
        write(tmp.path(), "1_b.sql", "SELECT 1;");
        let err = format!("{:#}", discover(tmp.path()).unwrap_err());
        assert!(err.contains("same version"), "{err}");
        assert!(discover(&tmp.path().join("absent")).unwrap().is_empty());
    }
}
