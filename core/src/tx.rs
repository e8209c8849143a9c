//! Transactions as a helper: every write operation runs inside one.

use crate::conn::SqlConnection;
use crate::error::StoreError;

/// How many times a write transaction is attempted when the database reports a retryable
/// failure (busy, serialization failure, deadlock).
pub const MAX_ATTEMPTS: u32 = 8;

/// Runs `f` inside a write transaction: commits if it returns `Ok`, rolls back and returns
/// the original error if it returns `Err`.
///
/// When the error is retryable ([`crate::DbError::is_retryable`]), the whole closure is run
/// again, up to [`MAX_ATTEMPTS`] times, so `f` must have no side effects outside the database.
pub fn in_transaction<C, T, F>(conn: &mut C, mut f: F) -> Result<T, StoreError>
where
    C: SqlConnection + ?Sized,
    F: FnMut(&mut C) -> Result<T, StoreError>,
{
    let mut attempt = 1;
    loop {
        match attempt_once(conn, &mut f) {
            Err(StoreError::Db(e)) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn attempt_once<C, T, F>(conn: &mut C, f: &mut F) -> Result<T, StoreError>
where
    C: SqlConnection + ?Sized,
    F: FnMut(&mut C) -> Result<T, StoreError>,
{
    let begin = conn.dialect().begin_write();
    conn.execute_batch(begin)?;
    match f(conn) {
        Ok(value) => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(value),
            Err(e) => {
                // A failed COMMIT leaves the transaction open on some backends; the
                // rollback error, if any, is secondary to the commit error.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e.into())
            }
        },
        Err(e) => {
            // The original error is what the caller needs; a failed rollback after it
            // (e.g. the connection is gone) adds nothing actionable.
            let _ = conn.execute_batch("ROLLBACK");
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
    let begin = conn.dialect().begin_read();
    conn.execute_batch(begin)?;
    let result = f(conn);
    match result {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
