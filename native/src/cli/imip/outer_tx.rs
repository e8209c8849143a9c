//! One transaction around many store operations.
//!
//! Every write of the core's store and journal API is a transaction of its own
//! (`calstore_core::tx::in_transaction` sends `BEGIN …`, `COMMIT` and `ROLLBACK` through
//! [`SqlConnection::execute_batch`]). An import must commit whole or not at all, yet write
//! through that API so that its validation and change journal apply. [`OuterTx`] wraps a
//! connection: while its outer transaction is open, the core's transaction statements become a
//! savepoint, its release, or a rollback to it. An operation that fails is rolled back to its
//! savepoint by the core as usual, and the caller then rolls the outer transaction back.

use calstore_core::{DbError, Dialect, Row, SqlConnection, Value};

/// A connection whose transactions nest inside one outer transaction.
#[derive(Debug)]
pub struct OuterTx<C> {
    inner: C,
    open: bool,
    depth: usize,
}

impl<C: SqlConnection> OuterTx<C> {
    /// Wraps `inner`; statements pass through unchanged until [`OuterTx::begin`].
    pub fn new(inner: C) -> Self {
        OuterTx {
            inner,
            open: false,
            depth: 0,
        }
    }

    /// Opens the outer write transaction.
    pub fn begin(&mut self) -> Result<(), DbError> {
        let begin = self.inner.dialect().begin_write();
        self.inner.execute_batch(begin)?;
        self.open = true;
        self.depth = 0;
        Ok(())
    }

    /// Commits the outer transaction.
    pub fn commit(&mut self) -> Result<(), DbError> {
        self.open = false;
        self.inner.execute_batch("COMMIT")
    }

    /// Rolls the outer transaction back (a failure to do so is secondary to the error that
    /// caused it, and the server drops the transaction with the connection anyway).
    pub fn rollback(&mut self) {
        if self.open {
            self.open = false;
            let _ = self.inner.execute_batch("ROLLBACK");
        }
    }

    fn savepoint(&self) -> String {
        format!("calstore_outer_{}", self.depth)
    }

    /// Translates a transaction statement of the core into savepoint statements; None for
    /// any other statement.
    fn nested(&mut self, sql: &str) -> Option<Result<(), DbError>> {
        if !self.open {
            return None;
        }
        let statement = sql.trim().trim_end_matches(';').trim();
        let dialect = self.inner.dialect();
        if statement == dialect.begin_write() || statement == dialect.begin_read() {
            self.depth += 1;
            let sql = format!("SAVEPOINT {}", self.savepoint());
            return Some(self.inner.execute_batch(&sql));
        }
        if self.depth == 0 {
            return None;
        }
        if statement.eq_ignore_ascii_case("COMMIT") {
            let sql = format!("RELEASE SAVEPOINT {}", self.savepoint());
            let result = self.inner.execute_batch(&sql);
            // A failed release leaves the savepoint in place for the ROLLBACK that follows.
            if result.is_ok() {
                self.depth -= 1;
            }
            return Some(result);
        }
        if statement.eq_ignore_ascii_case("ROLLBACK") {
            let name = self.savepoint();
            let result = self
                .inner
                .execute_batch(&format!("ROLLBACK TO SAVEPOINT {name}"))
                .and_then(|()| {
                    self.inner
                        .execute_batch(&format!("RELEASE SAVEPOINT {name}"))
                });
            self.depth -= 1;
            return Some(result);
        }
        None
    }
}

impl<C: SqlConnection> SqlConnection for OuterTx<C> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.inner.query(sql, params)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self.nested(sql) {
            Some(result) => result,
            None => self.inner.execute_batch(sql),
        }
    }
}

#[cfg(test)]
#[cfg(feature = "sqlite")]
mod tests {
    use super::*;
    use calstore_core::{FixedClock, Store};
    use calstore_native::SqliteConnection;
    use chrono::{TimeZone, Utc};

    fn store() -> Store<OuterTx<SqliteConnection>> {
        let now = Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap();
        let conn = OuterTx::new(SqliteConnection::open_in_memory().unwrap());
        Store::open(conn, Box::new(FixedClock::new(now))).unwrap()
    }

    const USER: &str = "mailto:a@example.com";

    #[test]
    fn operations_commit_together() {
        let mut s = store();
        s.connection().begin().unwrap();
        s.set_event(USER, "a", None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n")
            .unwrap();
        s.set_event(USER, "b", None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n")
            .unwrap();
        s.connection().commit().unwrap();
        assert_eq!(s.get_events(USER).unwrap(), ["a", "b"]);
        assert_eq!(s.revision(USER).unwrap(), 2);
    }

    #[test]
    fn outer_rollback_undoes_committed_operations() {
        let mut s = store();
        s.connection().begin().unwrap();
        s.set_event(USER, "a", None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n")
            .unwrap();
        // A failing operation rolls back to its savepoint; the outer transaction goes on.
        let failed = calstore_core::in_transaction(s.connection(), |c| {
            c.execute(
                "INSERT INTO objects (store_user, object_uid, object_text, status) \
                 VALUES ('mailto:a@example.com', 'b', 'x', 'active')",
                &[],
            )?;
            Err::<(), _>(calstore_core::StoreError::invalid("fails after a write"))
        });
        assert!(failed.is_err());
        assert_eq!(s.get_events(USER).unwrap(), ["a"]);
        s.connection().rollback();
        assert!(s.get_events(USER).unwrap().is_empty());
        assert!(!s.user_exists(USER).unwrap());
    }
}
