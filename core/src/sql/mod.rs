//! The minimal SQL abstraction: a value model, dialect hooks, a connection trait with nested
//! transactions, backend-neutral errors, and multi-row statements built from static parts.
//!
//! Nothing here knows about calendars; the store and the journal are written on top of it,
//! and every backend (rusqlite, `postgres`, sql.js, SQLite in the browser module) implements
//! [`SqlConnection`].

pub mod bulk;
mod conn;
mod dialect;
mod error;
mod value;

pub use conn::{SqlConnection, SqlConnectionExt, TxEvent, TxKind, TxStep, transaction_sql};
pub use dialect::Dialect;
pub use error::{DbError, DbErrorKind};
pub use value::{FromValue, Row, Value};
