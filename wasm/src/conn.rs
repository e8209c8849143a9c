//! [`SqlJsConnection`]: the core's [`SqlConnection`] over a sql.js `Database`.

use std::collections::HashMap;
use std::fmt;

use calstore_core::sql::{TxStep, transaction_sql};
use calstore_core::{DbError, Dialect, Row, SqlConnection, TxKind, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{get_config, rows_from_packed, to_js_params};
use crate::error::classify;
use crate::sqljs::{SqlJsDatabase, SqlJsStatement, collect_rows};
use crate::wal::{self, Recorder, RecorderStats};

/// The pragmas every sql.js connection runs with (see [`SqlJsConnection::apply_pragmas`]).
///
/// A sql.js database is a file in Emscripten's in-memory file system (MEMFS, JavaScript), so
/// every file operation crosses from sql.js's module into JavaScript. `journal_mode = MEMORY`
/// keeps the rollback journal inside SQLite (transactions still roll back whole; a crash loses
/// the page's memory anyway, and durability comes from the persistence log, `crate::wal`);
/// `locking_mode = EXCLUSIVE` keeps the file lock after the first transaction, so SQLite
/// stops re-checking the file (lock calls and a header read) before every statement: one
/// `Database` is one connection, nothing else opens its file. Measured in Node on the browser
/// benchmark (`wasm/bench/node.mjs`): the week query 360 -> 340 µs.
pub const SQLJS_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = MEMORY; PRAGMA locking_mode = EXCLUSIVE";

/// How many prepared statements a connection keeps. calstore issues a fixed set of statement
/// texts, well below this; past it, statements are prepared per call.
pub const STATEMENT_CACHE_CAPACITY: usize = 256;

/// A connection to a sql.js `Database`, implementing [`SqlConnection`] with the
/// [`Dialect::Sqlite`] dialect.
///
/// The database handle comes from JavaScript, after `initSqlJs()` has resolved:
///
/// ```js
/// const SQL = await initSqlJs();
/// const db = new SQL.Database();   // handed to Rust, which wraps it in a SqlJsConnection
/// ```
///
/// Like the native SQLite adapter, opening turns foreign keys on. Prepared statements are
/// cached per connection (keyed by the statement text as written) and reset after each use;
/// a statement whose use failed is freed, never cached. Dropping the connection frees the
/// cached statements; the `Database` itself belongs to JavaScript and stays open.
///
/// A value that is not a `Database` fails on first use with [`calstore_core::DbErrorKind::Other`].
///
/// **Recording** (for browser persistence, see [`crate::wal`]): after
/// [`SqlJsConnection::start_recording`], every committed write transaction becomes one log
/// entry, taken with [`SqlJsConnection::take_committed`]; [`SqlJsConnection::replay`] applies
/// entries to a restored image. All writes must go through this connection while it records:
/// SQL run on the `Database` directly is not in the log.
pub struct SqlJsConnection {
    db: SqlJsDatabase,
    cache: HashMap<String, SqlJsStatement>,
    get_config: JsValue,
    recorder: Option<Recorder>,
    /// Open transactions and savepoints (see [`SqlConnection::begin`]).
    depth: u32,
}

impl fmt::Debug for SqlJsConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlJsConnection")
            .field("cached_statements", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// Owns a statement taken out of the cache or freshly prepared, and frees it on drop unless
/// it is handed back with [`SqlJsConnection::recycle`]: a failed use never leaks a statement.
struct StatementGuard {
    stmt: Option<SqlJsStatement>,
    key: String,
}

impl StatementGuard {
    fn stmt(&self) -> Result<&SqlJsStatement, DbError> {
        self.stmt.as_ref().ok_or_else(|| {
            DbError::new(
                calstore_core::DbErrorKind::Other,
                "sql.js statement used after release",
            )
        })
    }
}

impl Drop for StatementGuard {
    fn drop(&mut self) {
        if let Some(stmt) = self.stmt.take() {
            // Nothing to report from a destructor; sql.js's free() only fails when the
            // statement is already gone.
            let _ = stmt.free();
        }
    }
}

impl SqlJsConnection {
    /// Wraps a sql.js `Database` and turns foreign keys on.
    pub fn new(db: SqlJsDatabase) -> Result<Self, DbError> {
        let mut conn = SqlJsConnection {
            db,
            cache: HashMap::new(),
            get_config: get_config(),
            recorder: None,
            depth: 0,
        };
        conn.apply_pragmas()?;
        Ok(conn)
    }

    /// The connection settings calstore needs. They are not stored in the database file, so
    /// they are applied on open, and again after [`Self::export`] (sql.js 1.16 keeps them
    /// across an export, older versions reopened the database):
    ///
    /// - foreign keys on;
    /// - [`SQLJS_PRAGMAS`]: the rollback journal in SQLite's memory and the file lock held.
    pub fn apply_pragmas(&mut self) -> Result<(), DbError> {
        self.db
            .run(SQLJS_PRAGMAS)
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    /// Wraps a `Database` passed from JavaScript as a plain value.
    pub fn from_js(db: JsValue) -> Result<Self, DbError> {
        Self::new(db.unchecked_into())
    }

    /// The sql.js `Database`.
    pub fn database(&self) -> &SqlJsDatabase {
        &self.db
    }

    /// Frees the cached statements and gives the `Database` back.
    pub fn into_database(self) -> SqlJsDatabase {
        self.db.clone()
    }

    /// Number of statements in the cache.
    pub fn cached_statements(&self) -> usize {
        self.cache.len()
    }

    /// Frees every cached statement.
    pub fn clear_statement_cache(&mut self) {
        for (_, stmt) in self.cache.drain() {
            let _ = stmt.free();
        }
    }

    /// Starts recording committed write transactions (a no-op if already recording).
    pub fn start_recording(&mut self) {
        if self.recorder.is_none() {
            self.recorder = Some(Recorder::new());
        }
    }

    /// Stops recording; entries not yet taken are returned.
    pub fn stop_recording(&mut self) -> Vec<Vec<u8>> {
        self.recorder
            .take()
            .map(|mut r| r.take())
            .unwrap_or_default()
    }

    /// True while recording.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Takes the log entries of the transactions committed since the last call, oldest first
    /// (empty when not recording).
    pub fn take_committed(&mut self) -> Vec<Vec<u8>> {
        self.recorder
            .as_mut()
            .map(Recorder::take)
            .unwrap_or_default()
    }

    /// How many committed entries wait to be taken.
    pub fn pending_committed(&self) -> usize {
        self.recorder.as_ref().map_or(0, Recorder::pending)
    }

    /// What the recorder has produced so far (zeros when not recording).
    pub fn recorder_stats(&self) -> RecorderStats {
        self.recorder
            .as_ref()
            .map(Recorder::stats)
            .unwrap_or_default()
    }

    /// True while a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// Applies one log entry in its own transaction: all of it or, on error, none. Replayed
    /// statements are not recorded again.
    pub fn replay(&mut self, entry: &[u8]) -> Result<(), DbError> {
        let entry = wal::decode(entry)?;
        let recorder = self.recorder.take();
        let result = self.replay_entry(&entry);
        self.recorder = recorder;
        result
    }

    fn replay_statement(&mut self, statement: &wal::Statement) -> Result<(), DbError> {
        match statement {
            wal::Statement::Params(sql, params) => self.execute(sql, params).map(|_| ()),
            wal::Statement::Batch(sql) => self.execute_batch(sql),
        }
    }

    fn replay_entry(&mut self, entry: &wal::Entry) -> Result<(), DbError> {
        let in_context = |e: DbError| {
            DbError::new(
                e.kind().clone(),
                format!("replaying a write-ahead log entry: {}", e.message()),
            )
        };
        if entry.autocommit {
            // One statement that ran outside a transaction runs the same way again.
            return entry
                .statements
                .iter()
                .try_for_each(|s| self.replay_statement(s))
                .map_err(in_context);
        }
        self.begin(TxKind::Write)?;
        let applied = entry
            .statements
            .iter()
            .try_for_each(|s| self.replay_statement(s));
        match applied.and_then(|()| self.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.rollback();
                Err(in_context(e))
            }
        }
    }

    /// The whole database image (`Database.export()`), then the pragmas again. Fails inside a
    /// write transaction.
    pub fn export(&mut self) -> Result<js_sys::Uint8Array, DbError> {
        if self.in_transaction() {
            return Err(DbError::new(
                calstore_core::DbErrorKind::Busy,
                "cannot export the database inside a transaction",
            ));
        }
        let image = self.db.export().map_err(|e| classify(&e))?;
        self.apply_pragmas()?;
        Ok(image)
    }

    /// A statement for `sql` (written with `$N` placeholders), from the cache or prepared.
    fn statement(&mut self, sql: &str) -> Result<StatementGuard, DbError> {
        if let Some((key, stmt)) = self.cache.remove_entry(sql) {
            return Ok(StatementGuard {
                stmt: Some(stmt),
                key,
            });
        }
        let rendered = Dialect::Sqlite.render(sql);
        let stmt = self.db.prepare(&rendered).map_err(|e| classify(&e))?;
        Ok(StatementGuard {
            stmt: Some(stmt),
            key: sql.to_owned(),
        })
    }

    /// Hands a statement that was used successfully back to the cache (reset), or frees it.
    fn recycle(&mut self, mut guard: StatementGuard) {
        if self.cache.len() >= STATEMENT_CACHE_CAPACITY {
            return; // the guard frees it
        }
        if let Some(stmt) = guard.stmt.take() {
            match stmt.reset() {
                Ok(true) => {
                    self.cache.insert(std::mem::take(&mut guard.key), stmt);
                }
                _ => {
                    let _ = stmt.free();
                }
            }
        }
    }

    /// Prepares, binds and steps `sql`, calling `on_row` for every row.
    fn run_statement(
        &mut self,
        sql: &str,
        params: &[Value],
        mut on_row: impl FnMut(&SqlJsStatement) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let guard = self.statement(sql)?;
        let stmt = guard.stmt()?;
        if !params.is_empty() {
            stmt.bind(&to_js_params(params)).map_err(|e| classify(&e))?;
        }
        while stmt.step().map_err(|e| classify(&e))? {
            on_row(stmt)?;
        }
        self.recycle(guard);
        Ok(())
    }
}

impl SqlJsConnection {
    /// Runs the statements of a transaction step at the current depth on the database
    /// directly (they are boundaries, not recorded statements).
    fn run_transaction_sql(&mut self, step: TxStep) -> Result<(), DbError> {
        for sql in transaction_sql(Dialect::Sqlite, self.depth, step) {
            self.db.run(&sql?).map_err(|e| classify(&e))?;
        }
        Ok(())
    }
}

impl Drop for SqlJsConnection {
    fn drop(&mut self) {
        self.clear_statement_cache();
    }
}

impl SqlConnection for SqlJsConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// Runs the statement to completion (rows it returns are discarded) and returns
    /// `getRowsModified()`.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.run_statement(sql, params, |_| Ok(()))?;
        if let Some(r) = &mut self.recorder {
            r.on_statement(sql, params);
        }
        let changed = self.db.get_rows_modified().map_err(|e| classify(&e))?;
        Ok(u64::from(changed))
    }

    /// Reads all rows in one call into JavaScript ([`crate::sqljs::collect_rows`]).
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let guard = self.statement(sql)?;
        let stmt = guard.stmt()?;
        if !params.is_empty() {
            stmt.bind(&to_js_params(params)).map_err(|e| classify(&e))?;
        }
        let packed = collect_rows(stmt, &self.get_config).map_err(|e| classify(&e))?;
        let rows = rows_from_packed(&packed)?;
        self.recycle(guard);
        if let Some(r) = &mut self.recorder {
            r.on_statement(sql, params);
        }
        Ok(rows)
    }

    /// Runs the batch; while recording, it is recorded like a statement. Transactions must go
    /// through [`SqlConnection::begin`], `commit` and `rollback` (below), which tell the
    /// recorder where they start and end; a `BEGIN` sent here would be recorded as a
    /// statement.
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.db.run(sql).map_err(|e| classify(&e))?;
        if let Some(r) = &mut self.recorder {
            r.on_batch(sql);
        }
        Ok(())
    }

    fn transaction_depth(&self) -> u32 {
        self.depth
    }

    fn set_transaction_depth(&mut self, depth: u32) {
        self.depth = depth;
    }

    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        self.run_transaction_sql(TxStep::Begin(kind))?;
        self.depth += 1;
        if let Some(r) = &mut self.recorder {
            r.on_begin(self.depth);
        }
        Ok(())
    }

    /// A failed `COMMIT` leaves the transaction open (SQLite keeps it) for the rollback that
    /// follows.
    fn commit(&mut self) -> Result<(), DbError> {
        self.run_transaction_sql(TxStep::Commit)?;
        if let Some(r) = &mut self.recorder {
            r.on_commit(self.depth);
        }
        self.depth -= 1;
        Ok(())
    }

    /// Ends the recording of the transaction (or savepoint) even if the statement fails: the
    /// caller gives it up either way.
    fn rollback(&mut self) -> Result<(), DbError> {
        let result = self.run_transaction_sql(TxStep::Rollback);
        if self.depth > 0 {
            if let Some(r) = &mut self.recorder {
                r.on_rollback(self.depth);
            }
            self.depth -= 1;
        }
        result
    }
}
