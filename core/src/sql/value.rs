//! The value model: SQLite's five storage classes.
//!
//! | [`Value`] | SQLite | PostgreSQL | sql.js |
//! |---|---|---|---|
//! | `Null` | NULL | NULL (any type) | `null` |
//! | `Integer(i64)` | INTEGER | `BIGINT` (`INT4`/`INT2` via checked conversion, `BOOL` from 0/1) | number or `BigInt` |
//! | `Real(f64)` | REAL | `DOUBLE PRECISION` | number |
//! | `Text(String)` | TEXT | `TEXT` | string |
//! | `Blob(Vec<u8>)` | BLOB | `BYTEA` | `Uint8Array` |
//!
//! Every conversion that can lose information is checked and fails with
//! [`DbErrorKind::Decode`].

use super::error::{DbError, DbErrorKind};

/// One SQL value, in one of SQLite's five storage classes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The storage class name, as used in decode errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Checked conversion from a [`Value`] read at column `index`.
pub trait FromValue: Sized {
    /// Converts, or returns a [`DbErrorKind::Decode`] error naming the column index.
    fn from_value(value: Value, index: usize) -> Result<Self, DbError>;
}

fn decode_error(index: usize, expected: &'static str, found: &Value) -> DbError {
    DbError::new(
        DbErrorKind::Decode {
            index,
            expected,
            found: found.type_name(),
        },
        format!(
            "column {index}: expected {expected}, found {}",
            found.type_name()
        ),
    )
}

impl FromValue for Value {
    fn from_value(value: Value, _index: usize) -> Result<Self, DbError> {
        Ok(value)
    }
}

impl FromValue for i64 {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Integer(i) => Ok(i),
            other => Err(decode_error(index, "INTEGER", &other)),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Integer(i) => {
                i32::try_from(i).map_err(|_| decode_error(index, "32-bit INTEGER", &value))
            }
            other => Err(decode_error(index, "INTEGER", &other)),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Integer(i) => {
                u64::try_from(i).map_err(|_| decode_error(index, "non-negative INTEGER", &value))
            }
            other => Err(decode_error(index, "INTEGER", &other)),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Integer(0) => Ok(false),
            Value::Integer(1) => Ok(true),
            other => Err(decode_error(index, "INTEGER 0 or 1", &other)),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Real(f) => Ok(f),
            other => Err(decode_error(index, "REAL", &other)),
        }
    }
}

impl FromValue for String {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(decode_error(index, "TEXT", &other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Blob(b) => Ok(b),
            other => Err(decode_error(index, "BLOB", &other)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other, index).map(Some),
        }
    }
}

/// One result row, columns in SELECT order. Read columns by index.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Wraps the values of one row.
    pub fn new(values: Vec<Value>) -> Self {
        Row { values }
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, in column order, moved out.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The raw values.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Moves column `index` out of the row (leaving NULL) and converts it, without copying
    /// text or bytes; for decoding a row once.
    pub fn take<T: FromValue>(&mut self, index: usize) -> Result<T, DbError> {
        let len = self.values.len();
        let slot = self.values.get_mut(index).ok_or_else(|| {
            DbError::new(
                DbErrorKind::Decode {
                    index,
                    expected: "a column",
                    found: "nothing",
                },
                format!("column {index} does not exist (row has {len})"),
            )
        })?;
        T::from_value(std::mem::replace(slot, Value::Null), index)
    }

    /// Column `index` converted to `T`, with a typed error if it is missing or of another class.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = self.values.get(index).cloned().ok_or_else(|| {
            DbError::new(
                DbErrorKind::Decode {
                    index,
                    expected: "a column",
                    found: "nothing",
                },
                format!(
                    "column {index} does not exist (row has {})",
                    self.values.len()
                ),
            )
        })?;
        T::from_value(value, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_conversions() {
        let row = Row::new(vec![
            Value::Integer(i64::from(i32::MAX) + 1),
            Value::Null,
            Value::Integer(1),
            Value::Text("x".into()),
        ]);
        assert!(row.get::<i32>(0).is_err());
        assert_eq!(row.get::<i64>(0).unwrap(), i64::from(i32::MAX) + 1);
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert!(row.get::<bool>(2).unwrap());
        assert!(matches!(
            row.get::<i64>(3).unwrap_err().kind(),
            DbErrorKind::Decode { index: 3, .. }
        ));
        assert!(row.get::<i64>(9).is_err());
    }
}
