//! The minimal SQL abstraction every backend implements, transactions included.

use std::borrow::Cow;

use super::dialect::Dialect;
use super::error::{DbError, DbErrorKind};
use super::value::{Row, Value};

/// What a transaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// A write transaction: SQLite takes the write lock up front (`BEGIN IMMEDIATE`).
    Write,
    /// A read-only snapshot.
    Read,
}

/// A step in a transaction's life, as passed to [`SqlConnection::on_transaction`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxEvent {
    /// A transaction (depth 1) or savepoint (depth > 1) was opened; `depth` is the new depth.
    Begun {
        /// The nesting depth now.
        depth: u32,
    },
    /// The transaction or savepoint at `depth` was committed (released).
    Committed {
        /// The depth of what was committed.
        depth: u32,
    },
    /// The transaction or savepoint at `depth` was rolled back.
    RolledBack {
        /// The depth of what was rolled back.
        depth: u32,
    },
}

/// A connection to a SQL database: synchronous, object-safe, and deliberately not `Send`
/// (a sql.js handle is a `JsValue`).
///
/// Statements are passed as written in calstore (with `$N` placeholders); adapters render
/// them with [`Dialect::render`] and should cache prepared statements.
///
/// **Transactions** nest by depth, as in sqlx: [`begin`](Self::begin) at depth 0 opens a
/// transaction (`BEGIN IMMEDIATE` on SQLite), at depth *n* > 0 a savepoint
/// `calstore_sp_n`; [`commit`](Self::commit) and [`rollback`](Self::rollback) close the
/// innermost one. An adapter keeps the depth ([`transaction_depth`](Self::transaction_depth),
/// [`set_transaction_depth`](Self::set_transaction_depth)); the default methods send the
/// statements through [`execute_batch`](Self::execute_batch) and report each step to
/// [`on_transaction`](Self::on_transaction), which an adapter may override to follow commit
/// boundaries (the browser's write-ahead log does) without parsing SQL.
pub trait SqlConnection {
    /// The dialect of this connection.
    fn dialect(&self) -> Dialect;
    /// Runs one statement and returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs one statement and returns all rows, columns in SELECT order.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs parameterless, possibly multi-statement SQL (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError>;

    /// How many transactions and savepoints are open (0: none).
    fn transaction_depth(&self) -> u32;
    /// Records the depth; called by [`begin`](Self::begin), [`commit`](Self::commit) and
    /// [`rollback`](Self::rollback) only.
    fn set_transaction_depth(&mut self, depth: u32);

    /// Opens a transaction, or a savepoint inside the open one.
    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        let depth = self.transaction_depth();
        for sql in transaction_sql(self.dialect(), depth, TxStep::Begin(kind)) {
            self.execute_batch(&sql?)?;
        }
        self.set_transaction_depth(depth + 1);
        self.on_transaction(TxEvent::Begun { depth: depth + 1 });
        Ok(())
    }

    /// Commits the innermost transaction (releases the innermost savepoint). A failed
    /// `COMMIT` leaves the transaction open (SQLite does): roll it back.
    fn commit(&mut self) -> Result<(), DbError> {
        let depth = self.transaction_depth();
        for sql in transaction_sql(self.dialect(), depth, TxStep::Commit) {
            self.execute_batch(&sql?)?;
        }
        self.set_transaction_depth(depth - 1);
        self.on_transaction(TxEvent::Committed { depth });
        Ok(())
    }

    /// Rolls the innermost transaction (savepoint) back. The depth goes down even when the
    /// statement fails: the caller gives the transaction up either way, and a server drops
    /// it with a broken connection.
    fn rollback(&mut self) -> Result<(), DbError> {
        let depth = self.transaction_depth();
        let mut result = Ok(());
        for sql in transaction_sql(self.dialect(), depth, TxStep::Rollback) {
            if let Err(e) = sql.and_then(|sql| self.execute_batch(&sql)) {
                result = result.and(Err(e));
            }
        }
        if depth > 0 {
            self.set_transaction_depth(depth - 1);
            self.on_transaction(TxEvent::RolledBack { depth });
        }
        result
    }

    /// Called after each successful [`begin`](Self::begin), [`commit`](Self::commit) and
    /// after every [`rollback`](Self::rollback). Does nothing by default.
    fn on_transaction(&mut self, event: TxEvent) {
        let _ = event;
    }
}

/// One of the transaction statements [`transaction_sql`] produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStep {
    /// Open a transaction or savepoint.
    Begin(TxKind),
    /// Commit it or release the savepoint.
    Commit,
    /// Roll it back.
    Rollback,
}

/// The statements that take a connection at `depth` through `step`; an error for a commit
/// or rollback with no transaction open. Adapters that override the default transaction
/// methods use the same text.
pub fn transaction_sql(
    dialect: Dialect,
    depth: u32,
    step: TxStep,
) -> Vec<Result<Cow<'static, str>, DbError>> {
    let savepoint = |d: u32| format!("calstore_sp_{d}");
    match (step, depth) {
        (TxStep::Begin(kind), 0) => vec![Ok(Cow::Borrowed(match kind {
            TxKind::Write => dialect.begin_write(),
            TxKind::Read => dialect.begin_read(),
        }))],
        (TxStep::Begin(_), d) => vec![Ok(Cow::Owned(format!("SAVEPOINT {}", savepoint(d))))],
        (TxStep::Commit | TxStep::Rollback, 0) => vec![Err(DbError::new(
            DbErrorKind::Other,
            "no transaction is open",
        ))],
        (TxStep::Commit, 1) => vec![Ok(Cow::Borrowed("COMMIT"))],
        (TxStep::Rollback, 1) => vec![Ok(Cow::Borrowed("ROLLBACK"))],
        (TxStep::Commit, d) => vec![Ok(Cow::Owned(format!(
            "RELEASE SAVEPOINT {}",
            savepoint(d - 1)
        )))],
        (TxStep::Rollback, d) => vec![
            Ok(Cow::Owned(format!(
                "ROLLBACK TO SAVEPOINT {}",
                savepoint(d - 1)
            ))),
            Ok(Cow::Owned(format!(
                "RELEASE SAVEPOINT {}",
                savepoint(d - 1)
            ))),
        ],
    }
}

/// Forwards every method, so that a `&mut C` or `Box<C>` behaves exactly as `C` does (its
/// own transaction methods and hooks included).
macro_rules! forward_sql_connection {
    ($($ty:ty),*) => {$(
        impl<T: SqlConnection + ?Sized> SqlConnection for $ty {
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
            fn transaction_depth(&self) -> u32 {
                (**self).transaction_depth()
            }
            fn set_transaction_depth(&mut self, depth: u32) {
                (**self).set_transaction_depth(depth)
            }
            fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
                (**self).begin(kind)
            }
            fn commit(&mut self) -> Result<(), DbError> {
                (**self).commit()
            }
            fn rollback(&mut self) -> Result<(), DbError> {
                (**self).rollback()
            }
            fn on_transaction(&mut self, event: TxEvent) {
                (**self).on_transaction(event)
            }
        }
    )*};
}

forward_sql_connection!(&mut T, Box<T>);

/// Convenience reads on top of [`SqlConnection`].
pub trait SqlConnectionExt: SqlConnection {
    /// Runs a query expected to return at most one row.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

impl<T: SqlConnection + ?Sized> SqlConnectionExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the statements it is sent.
    #[derive(Default)]
    struct Log {
        sent: Vec<String>,
        depth: u32,
        events: Vec<TxEvent>,
        fail: Option<&'static str>,
    }

    impl SqlConnection for Log {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        fn execute(&mut self, sql: &str, _: &[Value]) -> Result<u64, DbError> {
            self.execute_batch(sql).map(|()| 0)
        }
        fn query(&mut self, sql: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
            self.execute_batch(sql).map(|()| Vec::new())
        }
        fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
            if self.fail.is_some_and(|f| sql.starts_with(f)) {
                return Err(DbError::new(DbErrorKind::Injected, sql));
            }
            self.sent.push(sql.to_owned());
            Ok(())
        }
        fn transaction_depth(&self) -> u32 {
            self.depth
        }
        fn set_transaction_depth(&mut self, depth: u32) {
            self.depth = depth;
        }
        fn on_transaction(&mut self, event: TxEvent) {
            self.events.push(event);
        }
    }

    #[test]
    fn savepoints_by_depth() {
        let mut c = Log::default();
        c.begin(TxKind::Write).unwrap();
        c.begin(TxKind::Write).unwrap();
        c.begin(TxKind::Read).unwrap();
        c.rollback().unwrap();
        c.commit().unwrap();
        c.commit().unwrap();
        assert_eq!(
            c.sent,
            [
                "BEGIN IMMEDIATE",
                "SAVEPOINT calstore_sp_1",
                "SAVEPOINT calstore_sp_2",
                "ROLLBACK TO SAVEPOINT calstore_sp_2",
                "RELEASE SAVEPOINT calstore_sp_2",
                "RELEASE SAVEPOINT calstore_sp_1",
                "COMMIT",
            ]
        );
        assert_eq!(c.depth, 0);
        assert_eq!(
            c.events,
            [
                TxEvent::Begun { depth: 1 },
                TxEvent::Begun { depth: 2 },
                TxEvent::Begun { depth: 3 },
                TxEvent::RolledBack { depth: 3 },
                TxEvent::Committed { depth: 2 },
                TxEvent::Committed { depth: 1 },
            ]
        );
        // Nothing open: commit and rollback are errors and send nothing.
        assert!(c.commit().is_err());
        assert!(c.rollback().is_err());
        assert_eq!(c.sent.len(), 7);
    }

    #[test]
    fn failures_keep_or_drop_the_depth() {
        let mut c = Log {
            fail: Some("COMMIT"),
            ..Log::default()
        };
        c.begin(TxKind::Write).unwrap();
        // A failed COMMIT leaves the transaction open for the rollback that follows.
        assert!(c.commit().is_err());
        assert_eq!(c.depth, 1);
        c.rollback().unwrap();
        assert_eq!(c.depth, 0);
        // A failed BEGIN opens nothing.
        c.fail = Some("BEGIN");
        assert!(c.begin(TxKind::Write).is_err());
        assert_eq!(c.depth, 0);
        // A failed ROLLBACK still closes the level.
        c.fail = Some("ROLLBACK");
        c.begin(TxKind::Read).unwrap();
        assert!(c.rollback().is_err());
        assert_eq!(c.depth, 0);
        assert_eq!(c.events.last(), Some(&TxEvent::RolledBack { depth: 1 }));
    }
}
