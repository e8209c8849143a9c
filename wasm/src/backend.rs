//! [`BrowserConnection`]: the connection under a `CalStore`, one of the two browser backends.
//!
//! - **sql.js** ([`SqlJsConnection`], always there): SQLite in sql.js's own module, driven
//!   through JavaScript. Every statement, parameter and row crosses the JS boundary twice.
//!   The default: it needs no C toolchain to build, and its persistence is the IndexedDB log of
//!   `wasm/js/calstore.js`.
//! - **in-module** (feature `sqlite-wasm`): SQLite compiled into this module, behind the very
//!   `SqliteConnection` the native build uses (calstore-native, whose rusqlite binds
//!   sqlite-wasm-rs on wasm32). No JavaScript between the store and SQLite; durable on OPFS
//!   (see `crate::in_module`).
//!
//! A match per statement is all the dispatch costs.

use calstore_core::{DbError, Dialect, Row, SqlConnection, TxEvent, TxKind, Value};

use crate::SqlJsConnection;

/// The connection behind a `CalStore`.
#[derive(Debug)]
pub enum BrowserConnection {
    /// A sql.js `Database`.
    SqlJs(SqlJsConnection),
    /// SQLite inside this module (calstore-native's adapter).
    #[cfg(feature = "sqlite-wasm")]
    InModule(calstore_native::SqliteConnection),
}

impl BrowserConnection {
    /// `"sql.js"` or `"in-module"`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            BrowserConnection::SqlJs(_) => "sql.js",
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule(_) => "in-module",
        }
    }

    /// The sql.js connection's committed log entries (see [`SqlJsConnection::take_committed`]);
    /// always empty in-module, where SQLite's own file is the durable state.
    pub fn take_committed(&mut self) -> Vec<Vec<u8>> {
        match self {
            BrowserConnection::SqlJs(c) => c.take_committed(),
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule(_) => Vec::new(),
        }
    }

    /// How many committed entries wait to be taken (0 in-module).
    pub fn pending_committed(&self) -> usize {
        match self {
            BrowserConnection::SqlJs(c) => c.pending_committed(),
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule(_) => 0,
        }
    }

    /// What each storage class survives on this backend: sql.js has every table in memory,
    /// persisted as a whole by the IndexedDB log (`openCalStore`); in-module SQLite on an OPFS
    /// file (WAL) keeps commits, in memory nothing.
    pub fn guarantees(&mut self) -> calstore_core::schema::storage::Guarantees {
        use calstore_core::schema::storage::Guarantees;
        match self {
            BrowserConnection::SqlJs(_) => Guarantees::sqljs_with_log(),
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule(c) => {
                use calstore_core::SqlConnectionExt;
                let mode = c
                    .query_opt("PRAGMA main.journal_mode", &[])
                    .ok()
                    .flatten()
                    .and_then(|r| r.get::<String>(0).ok())
                    .unwrap_or_default();
                if mode.eq_ignore_ascii_case("wal") {
                    Guarantees::opfs()
                } else {
                    Guarantees::in_memory()
                }
            }
        }
    }

    /// The whole database image, a plain SQLite file: sql.js's `export()`, or in-module
    /// `sqlite3_serialize` of the main database.
    pub fn export(&mut self) -> Result<js_sys::Uint8Array, DbError> {
        match self {
            BrowserConnection::SqlJs(c) => c.export(),
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule(c) => {
                let data = c
                    .inner()
                    .serialize(rusqlite::MAIN_DB)
                    .map_err(calstore_native::sqlite::classify)?;
                Ok(js_sys::Uint8Array::from(&data[..]))
            }
        }
    }
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            BrowserConnection::SqlJs($c) => $e,
            #[cfg(feature = "sqlite-wasm")]
            BrowserConnection::InModule($c) => $e,
        }
    };
}

/// Every method goes to the backend's own, transactions included (sql.js records their
/// boundaries in its write-ahead log).
impl SqlConnection for BrowserConnection {
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
