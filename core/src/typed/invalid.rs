//! The error of every value constructor: which type refused the input, and why.

use crate::error::{DbError, DbErrorKind, StoreError};
use crate::sql::Value;

/// A value that a typed constructor refused ("parse, don't validate": an invalid value of a
/// typed field cannot be built, so it never reaches SQL).
///
/// The message names the type and the rule that failed. It quotes the input (shortened) for
/// ordinary fields, never for secrets: password and token types do not produce this error
/// with their input in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidValue {
    what: &'static str,
    reason: String,
}

impl InvalidValue {
    /// A refusal of a value of type `what` (e.g. "email address").
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        InvalidValue {
            what,
            reason: reason.into(),
        }
    }

    /// The type that refused the value.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The stored value at column `index` was of the wrong class or broke the type's rules:
    /// a [`DbErrorKind::Decode`] error (a row written around calstore's checks).
    pub fn into_decode(self, index: usize, found: &Value) -> DbError {
        self.into_decode_of(index, found.type_name())
    }

    /// [`InvalidValue::into_decode`] given the storage class name of the value found.
    pub fn into_decode_of(self, index: usize, found: &'static str) -> DbError {
        DbError::new(
            DbErrorKind::Decode {
                index,
                expected: self.what,
                found,
            },
            format!("column {index}: {self}"),
        )
    }
}

impl From<InvalidValue> for StoreError {
    fn from(e: InvalidValue) -> Self {
        StoreError::InvalidData(e.to_string())
    }
}

/// The first 60 characters of `v`, with an ellipsis if it was longer: for quoting input in
/// messages without echoing a whole (possibly huge) value.
pub(crate) fn quote(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    format!("{s:?}")
}
