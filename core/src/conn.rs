//! The minimal SQL abstraction every backend implements.

use crate::dialect::Dialect;
use crate::error::DbError;
use crate::value::{Row, Value};

/// A connection to a SQL database: synchronous, object-safe, and deliberately not `Send`
/// (a sql.js handle is a `JsValue`).
///
/// Statements are passed as written in calstore (with `$N` placeholders); adapters render
/// them with [`Dialect::render`] and should cache prepared statements.
pub trait SqlConnection {
    /// The dialect of this connection.
    fn dialect(&self) -> Dialect;
    /// Runs one statement and returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs one statement and returns all rows, columns in SELECT order.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs parameterless, possibly multi-statement SQL (migrations, `BEGIN`, `COMMIT`).
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError>;
}

impl<T: SqlConnection + ?Sized> SqlConnection for &mut T {
    fn dialect(&self) -> Dialect {
        (**self).dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        (**self).execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        (**self).query(sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        (**self).execute_batch(sql)
    }
}

impl<T: SqlConnection + ?Sized> SqlConnection for Box<T> {
    fn dialect(&self) -> Dialect {
        (**self).dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        (**self).execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        (**self).query(sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        (**self).execute_batch(sql)
    }
}

/// Convenience reads on top of [`SqlConnection`].
pub trait SqlConnectionExt: SqlConnection {
    /// Runs a query expected to return at most one row.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

impl<T: SqlConnection + ?Sized> SqlConnectionExt for T {}
