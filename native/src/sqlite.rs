//! The SQLite adapter over rusqlite (bundled SQLite).
//!
//! Opened connections use WAL, `synchronous=FULL`, foreign keys on and a busy timeout; write
//! transactions start with `BEGIN IMMEDIATE` (see [`calstore_core::Dialect::begin_write`]).
//! Prepared statements are cached per connection.
//!
//! The same code runs in a browser: on `wasm32-unknown-unknown` rusqlite binds SQLite compiled
//! into the module (sqlite-wasm-rs), and calstore-wasm's in-module backend is this
//! [`SqliteConnection`] (on its memory VFS, or on OPFS through [`SqliteOpenOptions`]).

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
    /// Open transactions and savepoints (see [`SqlConnection::begin`]).
    depth: u32,
}

/// How [`SqliteConnection::open_with`] opens a database file; the default is what
/// [`SqliteConnection::open`] does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqliteOpenOptions {
    vfs: Option<String>,
    exclusive: bool,
}

impl SqliteOpenOptions {
    /// The defaults: SQLite's default VFS, normal locking.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the file through the named SQLite VFS (which must be registered), e.g.
    /// `opfs-sahpool` in a browser worker.
    #[must_use]
    pub fn vfs(mut self, name: impl Into<String>) -> Self {
        self.vfs = Some(name.into());
        self
    }

    /// `PRAGMA locking_mode = EXCLUSIVE` before switching to WAL: the connection holds its
    /// lock until it closes, so no other connection can use the file meanwhile, and SQLite
    /// keeps the WAL index in heap memory rather than shared memory. That is what makes WAL
    /// work on a VFS without shared memory (the OPFS VFS in a browser).
    #[must_use]
    pub fn exclusive_locking(mut self, on: bool) -> Self {
        self.exclusive = on;
        self
    }
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

/// Sets WAL mode and returns the journal mode the database is in afterwards.
///
/// Switching a new database to WAL takes an exclusive lock, and SQLite does not call the busy
/// handler for it (waiting there could deadlock): connections opening a new database at the
/// same moment get `SQLITE_BUSY` at once. So a busy answer is retried here, after short
/// pauses adding up to [`BUSY_TIMEOUT`] at most (not in WebAssembly, which cannot sleep and
/// has one connection per file). A database already in WAL mode answers without that lock.
fn switch_to_wal(conn: &rusqlite::Connection) -> Result<String, DbError> {
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_millis(1);
    loop {
        // journal_mode returns a row; read it rather than execute.
        let e = match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) => return Ok(mode),
            Err(e) => classify(e),
        };
        if cfg!(target_family = "wasm") || *e.kind() != DbErrorKind::Busy || waited >= BUSY_TIMEOUT
        {
            return Err(e);
        }
        std::thread::sleep(pause);
        waited += pause;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

impl SqliteConnection {
    /// Opens (creating if needed) a database file and applies the connection settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DbError> {
        Self::open_with(path, &SqliteOpenOptions::default())
    }

    /// Opens (creating if needed) a database file with a VFS or locking mode of choice, then
    /// applies the connection settings as [`SqliteConnection::open`] does.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOpenOptions) -> Result<Self, DbError> {
        let conn = match &options.vfs {
            None => rusqlite::Connection::open(path),
            Some(vfs) => rusqlite::Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                vfs.as_str(),
            ),
        }
        .map_err(classify)?;
        Self::configure(conn, true, options.exclusive)
    }

    /// Opens a private in-memory database.
    pub fn open_in_memory() -> Result<Self, DbError> {
        let conn = rusqlite::Connection::open_in_memory().map_err(classify)?;
        Self::configure(conn, false, false)
    }

    fn configure(conn: rusqlite::Connection, file: bool, exclusive: bool) -> Result<Self, DbError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        if exclusive {
            // Returns the new mode as a row.
            let _: String = conn
                .query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get(0))
                .map_err(classify)?;
        }
        if file {
            let mode = switch_to_wal(&conn)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(DbError::new(
                    DbErrorKind::Other,
                    format!("could not switch the database to WAL mode (got {mode})"),
                ));
            }
        }
        conn.execute_batch(CONNECTION_PRAGMAS).map_err(classify)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(SqliteConnection { conn, depth: 0 })
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

    fn transaction_depth(&self) -> u32 {
        self.depth
    }

    fn set_transaction_depth(&mut self, depth: u32) {
        self.depth = depth;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Exclusive locking keeps WAL (the browser's OPFS VFS needs it: it has no shared
    /// memory), and holds the lock: a second connection cannot read the file.
    #[test]
    fn exclusive_locking_with_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        let mut conn =
            SqliteConnection::open_with(&path, &SqliteOpenOptions::new().exclusive_locking(true))
                .unwrap();
        let mode = conn.query("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(mode[0].get::<String>(0).unwrap(), "wal");
        let locking = conn.query("PRAGMA locking_mode", &[]).unwrap();
        assert_eq!(locking[0].get::<String>(0).unwrap(), "exclusive");
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let err = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert_eq!(classify(err).kind(), &DbErrorKind::Busy);
    }

    /// An unknown VFS is an error, not a silent fallback to the default one.
    #[test]
    fn unknown_vfs_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = SqliteConnection::open_with(
            dir.path().join("x.sqlite"),
            &SqliteOpenOptions::new().vfs("no-such-vfs"),
        )
        .unwrap_err();
        assert!(err.message().contains("no-such-vfs"), "{err}");
    }
}
