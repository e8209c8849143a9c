//! The store's domain errors.

pub use crate::sql::{DbError, DbErrorKind};

/// Errors of the store and journal API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The addressed object, user or quota does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A row with the same key exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Input was rejected before anything was written; the message names the problem.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// The schema in the database is newer than this program understands.
    #[error("schema version {found} is newer than the newest this program knows ({known})")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// Another process owns what the operation needs (the memory tables and logins of a
    /// database: [`crate::schema::storage::MemoryBackend::claim`]).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A database error, classified.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl StoreError {
    /// Shorthand for [`StoreError::InvalidData`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        StoreError::InvalidData(msg.into())
    }

    /// The database error kind, if this is a database error.
    pub fn db_kind(&self) -> Option<&DbErrorKind> {
        match self {
            StoreError::Db(e) => Some(e.kind()),
            _ => None,
        }
    }
}

/// Result with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
