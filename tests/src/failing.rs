//! Fault injection: a [`SqlConnection`] decorator that fails a chosen statement (after redb's
//! `FailingBackend`), and dialect-neutral snapshots of whole tables to compare states.

use calstore_core::{DbError, DbErrorKind, Dialect, Row, SqlConnection, TxKind, Value};

/// Which counted calls fail once the decorator is armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// Only the Nth counted call fails; later calls go through (a transient fault).
    Once,
    /// The Nth and every later counted call fail (the database went away), until disarmed.
    From,
}

/// Wraps a connection and fails the Nth `execute`/`query` call with
/// [`DbErrorKind::Injected`].
///
/// `execute_batch` calls (DDL) and transaction steps (`begin`, `commit`, `rollback`) are
/// passed through uncounted unless [`FailingConnection::counting_batches`] is set. Every counted call increments
/// [`FailingConnection::calls`], armed or not, so a dry run measures how many statements an
/// operation issues.
#[derive(Debug)]
pub struct FailingConnection<C> {
    inner: C,
    fail_at: Option<(u64, FailMode)>,
    calls: u64,
    count_batches: bool,
    injected: u64,
}

impl<C> FailingConnection<C> {
    /// A disarmed decorator that counts `execute` and `query` calls only.
    pub fn new(inner: C) -> Self {
        FailingConnection {
            inner,
            fail_at: None,
            calls: 0,
            count_batches: false,
            injected: 0,
        }
    }

    /// Whether `execute_batch` calls are counted (and so can be failed) too.
    #[must_use]
    pub fn counting_batches(mut self, yes: bool) -> Self {
        self.count_batches = yes;
        self
    }

    /// Sets whether `execute_batch` calls are counted.
    pub fn set_counting_batches(&mut self, yes: bool) {
        self.count_batches = yes;
    }

    /// Arms the decorator: counting restarts at zero and the `n`th counted call (1-based)
    /// fails, as `mode` says.
    pub fn fail_at(&mut self, n: u64, mode: FailMode) {
        self.calls = 0;
        self.fail_at = Some((n, mode));
    }

    /// Stops injecting failures.
    pub fn disarm(&mut self) {
        self.fail_at = None;
    }

    /// Restarts the call counter at zero.
    pub fn reset_count(&mut self) {
        self.calls = 0;
    }

    /// Counted calls since the last reset or arming.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// How many failures have been injected in total.
    pub fn injected(&self) -> u64 {
        self.injected
    }

    /// The wrapped connection.
    pub fn inner(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn tick(&mut self, what: &str) -> Result<(), DbError> {
        self.calls += 1;
        let fail = match self.fail_at {
            Some((n, FailMode::Once)) => self.calls == n,
            Some((n, FailMode::From)) => self.calls >= n,
            None => false,
        };
        if fail {
            self.injected += 1;
            return Err(DbError::new(
                DbErrorKind::Injected,
                format!("injected failure at call {} ({what})", self.calls),
            ));
        }
        Ok(())
    }
}

impl<C: SqlConnection> SqlConnection for FailingConnection<C> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.tick(sql)?;
        self.inner.execute(sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.tick(sql)?;
        self.inner.query(sql, params)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        if self.count_batches {
            self.tick(sql)?;
        }
        self.inner.execute_batch(sql)
    }

    fn transaction_depth(&self) -> u32 {
        self.inner.transaction_depth()
    }

    fn set_transaction_depth(&mut self, depth: u32) {
        self.inner.set_transaction_depth(depth);
    }

    // Transactions go to the inner connection's own methods (sql.js records their
    // boundaries); with batches counted, each is a call that can fail, as its statement would.
    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        if self.count_batches {
            self.tick("BEGIN")?;
        }
        self.inner.begin(kind)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        if self.count_batches {
            self.tick("COMMIT")?;
        }
        self.inner.commit()
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.count_batches {
            self.tick("ROLLBACK")?;
        }
        self.inner.rollback()
    }
}

/// The contents of some tables: per table (in the order given), every row, sorted.
pub type Snapshot = Vec<(String, Vec<Vec<Value>>)>;

/// Reads every row of each of `tables` and sorts the rows, so two snapshots of the same
/// state compare equal whatever order the backend returns rows in. The table names are the
/// caller's (e.g. listed from `sqlite_master`, or [`crate::schema_tables`]).
pub fn snapshot<C: SqlConnection + ?Sized>(
    conn: &mut C,
    tables: &[&str],
) -> Result<Snapshot, DbError> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        let mut rows: Vec<Vec<Value>> = conn
            .query(&format!("SELECT * FROM {table}"), &[])?
            .into_iter()
            .map(|r| r.values().to_vec())
            .collect();
        rows.sort_by_cached_key(|r| format!("{r:?}"));
        out.push(((*table).to_owned(), rows));
    }
    Ok(out)
}

/// The tables of a SQLite database (native or sql.js), sorted, without SQLite's own.
pub fn sqlite_tables<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<Vec<String>, DbError> {
    conn.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
        &[],
    )?
    .iter()
    .map(|r| r.get::<String>(0))
    .collect()
}
