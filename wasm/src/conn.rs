//! [`SqlJsConnection`]: the core's [`SqlConnection`] over a sql.js `Database`.

use std::collections::HashMap;
use std::fmt;

use calstore_core::{DbError, Dialect, Row, SqlConnection, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{get_config, row_from_js, to_js_params};
use crate::error::classify;
use crate::sqljs::{SqlJsDatabase, SqlJsStatement};

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
pub struct SqlJsConnection {
    db: SqlJsDatabase,
    cache: HashMap<String, SqlJsStatement>,
    get_config: JsValue,
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
        };
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
        Ok(conn)
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
        let changed = self.db.get_rows_modified().map_err(|e| classify(&e))?;
        Ok(u64::from(changed))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut rows = Vec::new();
        let config = self.get_config.clone();
        self.run_statement(sql, params, |stmt| {
            let values = stmt
                .get(&JsValue::NULL, &config)
                .map_err(|e| classify(&e))?;
            rows.push(Row::new(row_from_js(&values)?));
            Ok(())
        })?;
        Ok(rows)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.db.run(sql).map(|_| ()).map_err(|e| classify(&e))
    }
}
