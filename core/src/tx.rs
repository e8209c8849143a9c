//! Transactions as a helper: every write operation runs inside one.
//!
//! [`in_transaction`] opens a transaction with [`SqlConnection::begin`] (a savepoint when one
//! is open already), commits on `Ok`, rolls back on `Err`, and retries the whole closure when
//! the database reports a retryable failure on an outermost transaction.

use crate::error::StoreError;
use crate::sql::{SqlConnection, TxKind};

/// How many times a write transaction is attempted when the database reports a retryable
/// failure (busy, serialization failure, deadlock).
pub const MAX_ATTEMPTS: u32 = 8;

/// Runs `f` inside a write transaction: commits if it returns `Ok`, rolls back and returns
/// the original error if it returns `Err`.
///
/// When the error is retryable ([`crate::DbError::is_retryable`]) and this is the outermost
/// transaction, the whole closure is run again, up to [`MAX_ATTEMPTS`] times, so `f` must
/// have no side effects outside the database. Inside an open transaction this is a savepoint:
/// a failure rolls back to it and is returned (retrying there could not help: the outer
/// transaction holds its locks, and PostgreSQL aborts it whole on a serialization failure).
pub fn in_transaction<C, T, F>(conn: &mut C, mut f: F) -> Result<T, StoreError>
where
    C: SqlConnection + ?Sized,
    F: FnMut(&mut C) -> Result<T, StoreError>,
{
    let outermost = conn.transaction_depth() == 0;
    retrying(outermost, || {
        conn.begin(TxKind::Write)?;
        let result = f(conn);
        finish(conn, result)
    })
}

/// Runs `attempt` again while it fails with a retryable database error, up to
/// [`MAX_ATTEMPTS`] times in all (once only unless `retry`).
pub fn retrying<T>(
    retry: bool,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut n = 1;
    loop {
        match attempt() {
            Err(StoreError::Db(e)) if retry && e.is_retryable() && n < MAX_ATTEMPTS => n += 1,
            other => return other,
        }
    }
}

/// Ends the innermost transaction: commits after `Ok`, rolls back after `Err` or a failed
/// commit. The original error is what the caller needs; a failed rollback after it (e.g. the
/// connection is gone) adds nothing actionable.
pub fn finish<C, T>(conn: &mut C, result: Result<T, StoreError>) -> Result<T, StoreError>
where
    C: SqlConnection + ?Sized,
{
    match result {
        Ok(value) => match conn.commit() {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = conn.rollback();
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

/// Runs `f` inside a read transaction, so that several queries see one snapshot.
pub fn in_read_transaction<C, T, F>(conn: &mut C, f: F) -> Result<T, StoreError>
where
    C: SqlConnection + ?Sized,
    F: FnOnce(&mut C) -> Result<T, StoreError>,
{
    conn.begin(TxKind::Read)?;
    let result = f(conn);
    finish(conn, result)
}
