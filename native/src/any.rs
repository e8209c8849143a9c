//! A connection to whichever backend a database URL names (only with at least one backend
//! feature).

use calstore_core::schema::storage::{Guarantees, MainSchemaMemory, MemoryBackend, PostgresMemory};
use calstore_core::{DbError, DbErrorKind, Dialect, Row, SqlConnection, TxEvent, TxKind, Value};

use crate::url::DbUrl;

/// A connection to any backend compiled in (only with at least one backend feature).
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyConnection {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(crate::SqliteConnection),
    /// PostgreSQL (boxed: the client is several times larger than a SQLite handle).
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::PgConnection>),
}

/// The backend that keeps memory-class tables for the database at `url`
/// ([`calstore_core::schema::storage`]): snapshot files beside a SQLite file
/// ([`crate::SqliteSnapshots`]), `UNLOGGED` tables with snapshot copies on PostgreSQL, and
/// plain tables for `sqlite::memory:` (which keeps nothing anyway).
pub fn memory_backend(url: &DbUrl) -> Box<dyn MemoryBackend> {
    match url {
        #[cfg(all(feature = "sqlite", not(target_family = "wasm")))]
        DbUrl::SqliteFile(path) => Box::new(crate::SqliteSnapshots::beside(path)),
        DbUrl::Postgres(_) => Box::new(PostgresMemory::new()),
        #[allow(unreachable_patterns)]
        _ => Box::new(MainSchemaMemory::new(Guarantees::in_memory())),
    }
}

/// Opens a connection for `url`.
pub fn connect(url: &DbUrl) -> Result<AnyConnection, DbError> {
    match url {
        #[cfg(feature = "sqlite")]
        DbUrl::SqliteFile(path) => Ok(AnyConnection::Sqlite(crate::SqliteConnection::open(path)?)),
        #[cfg(feature = "sqlite")]
        DbUrl::SqliteMemory => Ok(AnyConnection::Sqlite(
            crate::SqliteConnection::open_in_memory()?,
        )),
        #[cfg(feature = "postgres")]
        DbUrl::Postgres(url) => Ok(AnyConnection::Postgres(Box::new(
            crate::PgConnection::connect(url)?,
        ))),
        #[allow(unreachable_patterns)]
        other => Err(DbError::new(
            DbErrorKind::Other,
            format!("this build has no backend for {other}"),
        )),
    }
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            AnyConnection::Sqlite($c) => $e,
            #[cfg(feature = "postgres")]
            AnyConnection::Postgres($c) => $e,
        }
    };
}

impl SqlConnection for AnyConnection {
    fn dialect(&self) -> Dialect {
        dispatch!(self, c => c.dialect())
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        dispatch!(self, c => c.execute(sql, params))
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        dispatch!(self, c => c.query(sql, params))
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        dispatch!(self, c => c.execute_batch(sql))
    }
    fn transaction_depth(&self) -> u32 {
        dispatch!(self, c => c.transaction_depth())
    }
    fn set_transaction_depth(&mut self, depth: u32) {
        dispatch!(self, c => c.set_transaction_depth(depth))
    }
    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        dispatch!(self, c => c.begin(kind))
    }
    fn commit(&mut self) -> Result<(), DbError> {
        dispatch!(self, c => c.commit())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        dispatch!(self, c => c.rollback())
    }
    fn on_transaction(&mut self, event: TxEvent) {
        dispatch!(self, c => c.on_transaction(event))
    }
}
