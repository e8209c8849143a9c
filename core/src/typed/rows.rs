//! Generic reads and writes of typed records: the statements come from the table's
//! [`TableSql`](super::TableSql) and caller-supplied static `WHERE`/`ORDER BY` tails; values
//! are always bound.

use crate::error::{DbError, DbErrorKind};
use crate::sql::SqlConnection;
use crate::sql::{Row, Value};

use super::id::Id;
use super::table::{Stored, Table};

/// Inserts `record` into its table (which has an identity) and returns the id the database
/// allocated.
pub fn insert<T: Table, C: SqlConnection + ?Sized>(
    conn: &mut C,
    record: &T,
) -> Result<Id<T>, DbError> {
    let rows = conn.query(&T::sql().insert, &record.values())?;
    let id: i64 = rows
        .first()
        .ok_or_else(|| {
            DbError::new(
                DbErrorKind::Other,
                format!("INSERT INTO {} returned no id", T::NAME),
            )
        })?
        .get(0)?;
    Id::new(id).map_err(|e| e.into_decode(0, &Value::Integer(id)))
}

/// Inserts `record` into its table (one without an identity).
pub fn insert_row<T: Table, C: SqlConnection + ?Sized>(
    conn: &mut C,
    record: &T,
) -> Result<(), DbError> {
    if T::DEF.has_identity() {
        insert(conn, record).map(|_| ())
    } else {
        conn.execute(&T::sql().insert, &record.values()).map(|_| ())
    }
}

/// `SELECT <every column> FROM <table> <tail>`; `tail` is static SQL (`WHERE …`,
/// `ORDER BY …`) with `$N` placeholders for `params`.
pub fn select_sql<T: Table>(tail: &'static str) -> String {
    format!("SELECT {} FROM {} {tail}", T::sql().columns, T::NAME)
}

/// The records (with ids) of a table with an identity, selected by `tail`.
pub fn select_stored<T: Table, C: SqlConnection + ?Sized>(
    conn: &mut C,
    tail: &'static str,
    params: &[Value],
) -> Result<Vec<Stored<T>>, DbError> {
    conn.query(&select_sql::<T>(tail), params)?
        .into_iter()
        .map(Stored::from_row)
        .collect()
}

/// The records of a table without an identity, selected by `tail`.
pub fn select_records<T: Table, C: SqlConnection + ?Sized>(
    conn: &mut C,
    tail: &'static str,
    params: &[Value],
) -> Result<Vec<T>, DbError> {
    conn.query(&select_sql::<T>(tail), params)?
        .into_iter()
        .map(|mut row: Row| T::from_row_at(&mut row, 0))
        .collect()
}

/// The row with id `id`.
pub fn get<T: Table, C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<T>,
) -> Result<Option<Stored<T>>, DbError> {
    Ok(
        select_stored(conn, "WHERE id = $1", &[Value::Integer(id.get())])?
            .into_iter()
            .next(),
    )
}
