//! The SQLite adapter over rusqlite (bundled SQLite).
//!
//! Opened connections use WAL, `synchronous=FULL`, foreign keys on and a busy timeout; write
//! transactions start with `BEGIN IMMEDIATE` (see [`calstore_core::Dialect::begin_write`]).
//! Prepared statements are cached per connection.

use std::path::Path;
use std::time::Duration;

use calstore_core::{DbError, DbErrorKind, Dialect, Row, SqlConnection, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ErrorCode, ToSql, ffi};

/// How long a connection waits for another writer before reporting busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings applied to every connection (after WAL mode for files):
/// durable commits, foreign keys enforced, a 32 MiB page cache so that a large import does not
/// spill pages mid-transaction, and statement journals in memory (multi-row statements inside
/// a transaction need one).
pub const CONNECTION_PRAGMAS: &str = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
     PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;";

/// A SQLite connection implementing [`SqlConnection`].
#[derive(Debug)]
pub struct SqliteConnection {
    conn: rusqlite::Connection,
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn from_ref(v: ValueRef<'_>, index: usize) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8(t.to_vec()).map_err(|e| {
            DbError::with_source(
                DbErrorKind::Decode {
                    index,
                    expected: "UTF-8 TEXT",
                    found: "invalid UTF-8",
                },
                format!("column {index} holds invalid UTF-8"),
                e,
            )
        })?),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

/// Classifies a rusqlite error into the core's kinds, keeping it as the source.
pub fn classify(e: rusqlite::Error) -> DbError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    DbErrorKind::UniqueViolation
                }
                ffi::SQLITE_CONSTRAINT_NOTNULL => DbErrorKind::NotNullViolation,
                ffi::SQLITE_CONSTRAINT_CHECK => DbErrorKind::CheckViolation,
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DbErrorKind::ForeignKeyViolation,
                _ => DbErrorKind::Other,
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbErrorKind::Busy,
            _ => DbErrorKind::Other,
        },
        _ => DbErrorKind::Other,
    };
    DbError::with_source(kind, e.to_string(), e)
}

impl SqliteConnection {
    /// Opens (creating if needed) a database file and applies the connection settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DbError> {
        let conn = rusqlite::Connection::open(path).map_err(classify)?;
        Self::configure(conn, true)
    }

    /// Opens a private in-memory database.
    pub fn open_in_memory() -> Result<Self, DbError> {
        let conn = rusqlite::Connection::open_in_memory().map_err(classify)?;
        Self::configure(conn, false)
    }

    fn configure(conn: rusqlite::Connection, file: bool) -> Result<Self, DbError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        if file {
            // journal_mode returns a row; read it rather than execute.
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(classify)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(DbError::new(
                    DbErrorKind::Other,
                    format!("could not switch the database to WAL mode (got {mode})"),
                ));
            }
        }
        conn.execute_batch(CONNECTION_PRAGMAS).map_err(classify)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(SqliteConnection { conn })
    }

    /// The underlying rusqlite connection.
    pub fn inner(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }

    /// The SQLite library version, e.g. `3.50.1`.
    pub fn sqlite_version() -> &'static str {
        rusqlite::version()
    }
}

impl SqlConnection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let sql = Dialect::Sqlite.render(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(classify)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(classify)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let sql = Dialect::Sqlite.render(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(classify)?;
        let cols = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let mut values = Vec::with_capacity(cols);
            for i in 0..cols {
                values.push(from_ref(row.get_ref(i).map_err(classify)?, i)?);
            }
            out.push(Row::new(values));
        }
        Ok(out)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(classify)
    }
}
