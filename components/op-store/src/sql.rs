//! The one seam between the store logic and a database.
//!
//! The store logic (every other module) is written against [`Sql`]: one
//! method that runs one statement with positional parameters and returns
//! its rows. The component implements it with Spin's SQLite interface; the
//! native unit tests implement it with rusqlite over the real migrations.

use crate::StoreError;

/// A SQLite value, as both Spin and rusqlite see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A result row: values in the order of the statement's result columns.
pub type Row = Vec<Value>;

/// A failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlError {
    /// A constraint (UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK, NOT NULL) was
    /// violated; the text is SQLite's message (names tables and columns,
    /// never values).
    Constraint(String),
    /// Anything else: I/O, locking, a missing database, a bad statement.
    Other(String),
}

impl SqlError {
    /// Classifies a database message: what the Spin host gives us.
    pub fn from_message(message: String) -> Self {
        if message.contains("constraint failed") {
            SqlError::Constraint(message)
        } else {
            SqlError::Other(message)
        }
    }
}

/// Runs one SQL statement (`?1`, `?2`, ... parameters) on one connection.
/// Consecutive calls on one value share that connection, so `BEGIN
/// IMMEDIATE` ... `COMMIT` spans them.
pub trait Sql {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError>;
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Constraint(m) if m.contains("FOREIGN KEY") => {
                StoreError::Invalid("refers to a client, user or grant that does not exist".into())
            }
            SqlError::Constraint(m) if m.contains("UNIQUE") => StoreError::Conflict(m),
            SqlError::Constraint(m) => StoreError::Invalid(m),
            SqlError::Other(m) => StoreError::Unavailable(m),
        }
    }
}

/// Maps a uniqueness violation to `conflict(what)`, anything else as usual.
pub fn conflict(what: &'static str) -> impl Fn(SqlError) -> StoreError {
    move |e| match e {
        SqlError::Constraint(m) if m.contains("UNIQUE") => StoreError::Conflict(what.into()),
        other => other.into(),
    }
}

/// Runs `f` inside `BEGIN IMMEDIATE` ... `COMMIT`: the write lock is taken
/// first, so nothing `f` reads can change before it commits. Any error
/// rolls back. Outcomes that must persist (a detected replay and the
/// revocation it caused) are `Ok` values, never errors.
pub fn transaction<T>(
    db: &dyn Sql,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    let result = f().and_then(|value| {
        db.execute("COMMIT", &[])?;
        Ok(value)
    });
    if result.is_err() {
        // Also after a failed COMMIT (e.g. SQLITE_BUSY), which leaves the
        // transaction open. A failure here means none was open.
        let _ = db.execute("ROLLBACK", &[]);
    }
    result
}

/// Runs a statement and returns its first row, if any.
pub fn first(db: &dyn Sql, sql: &str, params: &[Value]) -> Result<Option<Row>, SqlError> {
    Ok(db.execute(sql, params)?.into_iter().next())
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(v.into())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `params![a, b, c]`: a parameter list from anything `Into<Value>`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($p)),*]
    };
}
pub(crate) use params;

fn corrupt(i: usize) -> StoreError {
    StoreError::Unavailable(format!("unexpected value in result column {i}"))
}

/// Typed access to a result row's columns.
pub trait Columns {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
}

impl Columns for [Value] {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.get(i) {
            Some(Value::Text(s)) => Ok(s.clone()),
            _ => Err(corrupt(i)),
        }
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.get(i) {
            Some(Value::Integer(v)) => Ok(*v),
            _ => Err(corrupt(i)),
        }
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.get(i) {
            Some(Value::Blob(b)) => Ok(b.clone()),
            _ => Err(corrupt(i)),
        }
    }
}

/// The largest page `list` functions return.
pub const MAX_PAGE: u32 = 1000;
