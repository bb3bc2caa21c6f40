//! SQLite files and their connection pools.
//!
//! One pool per database file. A guest's `fermyon:spin/sqlite` connection
//! takes a pooled connection for the lifetime of its resource, so that
//! multi-statement transactions (`BEGIN IMMEDIATE` ... `COMMIT` as separate
//! `execute` calls) stay on one connection; when the resource is dropped the
//! connection goes back to the pool, rolled back first if the guest left a
//! transaction open.
//!
//! Every connection runs with `journal_mode=WAL`, `synchronous=NORMAL`,
//! `busy_timeout=5000` and `foreign_keys=ON`, and, like Spin, refuses to
//! `ATTACH` database files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use wasmtime::{Result, format_err};

/// How long a statement waits for a lock held by another connection.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
/// Idle connections kept per pool.
const MAX_IDLE: usize = 64;

pub struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
    /// Run on every new connection (e.g. the key-value table).
    init_sql: &'static str,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("path", &self.path).finish()
    }
}

impl Pool {
    /// Opens (creating if needed) the database file and checks that it is
    /// usable, so that a bad path fails at start rather than on a request.
    pub fn open(path: &Path, init_sql: &'static str) -> Result<Arc<Self>> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format_err!("cannot create directory {}: {e}", parent.display()))?;
        }
        let pool = Arc::new(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            init_sql,
        });
        let conn = pool
            .connect()
            .map_err(|e| format_err!("cannot open SQLite database {}: {e}", path.display()))?;
        pool.idle.lock().unwrap().push(conn);
        Ok(pool)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode returns a row; the others do not.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")?;
        conn.set_prepared_statement_cache_capacity(128);
        // Spin denies attaching files (only temp and in-memory databases).
        conn.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
            use rusqlite::hooks::{AuthAction, Authorization};
            match ctx.action {
                AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                    Authorization::Deny
                }
                _ => Authorization::Allow,
            }
        }));
        if !self.init_sql.is_empty() {
            conn.execute_batch(self.init_sql)?;
        }
        Ok(conn)
    }

    /// Takes a connection from the pool (or opens a new one).
    pub fn get(self: &Arc<Self>) -> rusqlite::Result<PooledConnection> {
        if self.closed.load(Ordering::Acquire) {
            return Err(rusqlite::Error::InvalidPath(self.path.clone()));
        }
        let conn = self.idle.lock().unwrap().pop();
        let conn = match conn {
            Some(c) => c,
            None => self.connect()?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self.clone(),
        })
    }

    fn put_back(&self, conn: Connection) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut idle = self.idle.lock().unwrap();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Checkpoints the WAL into the database file and closes idle
    /// connections. Connections still held are closed when returned.
    pub fn close(&self) -> rusqlite::Result<()> {
        self.closed.store(true, Ordering::Release);
        let conns = std::mem::take(&mut *self.idle.lock().unwrap());
        let conn = match conns.into_iter().next() {
            Some(c) => c,
            None => Connection::open(&self.path)?,
        };
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        conn.close().map_err(|(_, e)| e)
    }
}

/// A connection on loan from a [`Pool`]; returned on drop.
pub struct PooledConnection {
    conn: Option<Connection>,
    pool: Arc<Pool>,
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() {
                // The guest left a transaction open: never hand it to the
                // next user of the connection.
                if conn.execute_batch("ROLLBACK").is_err() {
                    return; // drop (close) the connection instead
                }
            }
            self.pool.put_back(conn);
        }
    }
}

/// The key-value table, as Spin's SQLite key-value store defines it.
pub const KV_INIT_SQL: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)";

/// Every SQLite file the app uses, by label, sharing one pool per file.
#[derive(Debug, Default)]
pub struct Databases {
    pub sqlite: HashMap<String, Arc<Pool>>,
    pub kv: HashMap<String, Arc<Pool>>,
}

impl Databases {
    /// Opens the files of the given labels. Labels that point at the same
    /// file share a pool.
    pub fn open(
        sqlite: &std::collections::BTreeMap<String, PathBuf>,
        kv: &std::collections::BTreeMap<String, PathBuf>,
    ) -> Result<Self> {
        let mut by_path: HashMap<(PathBuf, bool), Arc<Pool>> = HashMap::new();
        let mut open = |path: &Path, is_kv: bool| -> Result<Arc<Pool>> {
            let key = (
                std::path::absolute(path).unwrap_or(path.to_path_buf()),
                is_kv,
            );
            if let Some(p) = by_path.get(&key) {
                return Ok(p.clone());
            }
            let p = Pool::open(path, if is_kv { KV_INIT_SQL } else { "" })?;
            by_path.insert(key, p.clone());
            Ok(p)
        };
        let mut dbs = Databases::default();
        for (label, path) in sqlite {
            dbs.sqlite.insert(label.clone(), open(path, false)?);
        }
        for (label, path) in kv {
            dbs.kv.insert(label.clone(), open(path, true)?);
        }
        Ok(dbs)
    }

    /// Checkpoints and closes every database (at shutdown).
    pub fn close(&self) {
        let mut done = std::collections::HashSet::new();
        for pool in self.sqlite.values().chain(self.kv.values()) {
            if !done.insert(pool.path().to_path_buf()) {
                continue;
            }
            if let Err(e) = pool.close() {
                eprintln!(
                    "authrim: closing SQLite database {}: {e}",
                    pool.path().display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_transaction_is_rolled_back_when_returned() {
        let dir = crate::testutil::TempDir::new("pool");
        let pool = Pool::open(&dir.path().join("t.db"), "").unwrap();
        {
            let c = pool.get().unwrap();
            c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        }
        {
            let c = pool.get().unwrap();
            c.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
                .unwrap();
            assert!(!c.is_autocommit());
        } // dropped inside the transaction
        let c = pool.get().unwrap();
        assert!(c.is_autocommit());
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn attaching_files_is_denied() {
        let dir = crate::testutil::TempDir::new("attach");
        let pool = Pool::open(&dir.path().join("t.db"), "").unwrap();
        let c = pool.get().unwrap();
        let other = dir.path().join("other.db");
        let sql = format!("ATTACH DATABASE '{}' AS o", other.display());
        assert!(c.execute_batch(&sql).is_err());
        c.execute_batch("ATTACH DATABASE ':memory:' AS m").unwrap();
    }
}
