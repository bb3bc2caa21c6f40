//! The native side of the seam: `Sql` over rusqlite, with the real schema.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::sql::{Row, Sql, SqlError, Value};

/// Every migration, in order, as the runner applies them.
pub const SCHEMA: &str = concat!(
    include_str!("../../../migrations/0001_init.sql"),
    "\n",
    include_str!("../../../migrations/0002_consents_rate_limits_secrets.sql"),
    "\n",
    include_str!("../../../migrations/0003_device_codes.sql"),
    include_str!("../../../migrations/0004_dpop_jwt_bearer.sql"),
    "\n",
    include_str!("../../../migrations/0005_ciba.sql"),
    include_str!("../../../migrations/0007_trusted_issuers.sql"),
    include_str!("../../../migrations/0008_jar.sql"),
    include_str!("../../../migrations/0009_frontenc.sql"),
    include_str!("../../../migrations/0010_ciba_user_code.sql"),
);

pub struct TestDb(pub Connection);

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn error(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            SqlError::Constraint(e.to_string())
        }
        _ => SqlError::Other(e.to_string()),
    }
}

impl Sql for TestDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        let mut stmt = self.0.prepare(sql).map_err(error)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(error)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Integer(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Value::Blob(v.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(out)
    }
}

impl TestDb {
    /// A fresh in-memory database with the schema, foreign keys on (as the
    /// component sets them).
    pub fn new() -> Self {
        Self::with_foreign_keys(true)
    }

    pub fn with_foreign_keys(on: bool) -> Self {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", on).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        TestDb(conn)
    }

    /// A file database shared by several connections, for races; deleted
    /// when the returned guard is dropped.
    pub fn shared_file(name: &str) -> SharedFile {
        let path = std::env::temp_dir().join(format!("op-store-{}-{name}.db", std::process::id()));
        let file = SharedFile(path);
        file.remove();
        let conn = Connection::open(&file.0).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        file
    }

    pub fn open(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        TestDb(conn)
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.0.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// A database file (with its WAL and shared-memory files) removed on drop.
pub struct SharedFile(PathBuf);

impl SharedFile {
    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl std::ops::Deref for SharedFile {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for SharedFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `f` on `n` threads, each with its own connection to the file
/// database at `path`, released together; returns their results.
pub fn race<T: Send + 'static>(
    path: &Path,
    n: usize,
    f: impl Fn(&TestDb, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, barrier, path) = (f.clone(), barrier.clone(), path.to_path_buf());
            std::thread::spawn(move || {
                let db = TestDb::open(&path);
                barrier.wait();
                f(&db, i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}
