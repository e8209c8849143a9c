//! Database errors: backend-neutral kinds that every adapter classifies its driver's errors
//! into, once, in one place.

use std::fmt;

/// What kind of database failure happened, independent of the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbErrorKind {
    /// A UNIQUE or PRIMARY KEY constraint was violated.
    UniqueViolation,
    /// A FOREIGN KEY constraint was violated.
    ForeignKeyViolation,
    /// A NOT NULL constraint was violated.
    NotNullViolation,
    /// A CHECK constraint was violated.
    CheckViolation,
    /// The database was locked or busy (SQLite `SQLITE_BUSY`).
    Busy,
    /// A serialization failure or deadlock: the transaction may be retried.
    SerializationFailure,
    /// A column value could not be converted to the requested Rust type.
    Decode {
        /// Column index.
        index: usize,
        /// What was expected.
        expected: &'static str,
        /// The storage class found.
        found: &'static str,
    },
    /// A fault injected by a test decorator.
    Injected,
    /// Anything else (syntax errors, I/O errors, ...).
    Other,
}

/// A database error from an adapter, classified into a [`DbErrorKind`].
#[derive(Debug)]
pub struct DbError {
    kind: DbErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl DbError {
    /// A new error of `kind` with a message.
    pub fn new(kind: DbErrorKind, message: impl Into<String>) -> Self {
        DbError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A new error that keeps the driver error as its source.
    pub fn with_source(
        kind: DbErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DbError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The classified kind.
    pub fn kind(&self) -> &DbErrorKind {
        &self.kind
    }

    /// The backend's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for failures that a retry of the whole transaction may cure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            DbErrorKind::Busy | DbErrorKind::SerializationFailure
        )
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error: {}", self.message)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
