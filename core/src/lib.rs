//! # calstore-core
//!
//! The storage-agnostic core of calstore: imip-agent's store and journal semantics (per-user
//! calendar objects, recurrences, cancellations, counter-proposals, the request queue,
//! free/busy collections and quotas) over a minimal SQL abstraction, [`SqlConnection`], that
//! native SQLite, PostgreSQL and in-browser SQLite (sql.js) implement.
//!
//! The core does no I/O of its own and never reads the system clock (time comes from a
//! [`Clock`]), so the same code runs natively and as WebAssembly.
//!
//! ```
//! use calstore_core::{Dialect, DbError, Row, SqlConnection, Value};
//!
//! // Any backend implements six methods (transactions come with the trait); this one only
//! // counts statements.
//! #[derive(Default)]
//! struct Counting(u64);
//! impl SqlConnection for Counting {
//!     fn dialect(&self) -> Dialect { Dialect::Sqlite }
//!     fn execute(&mut self, _: &str, _: &[Value]) -> Result<u64, DbError> { self.0 += 1; Ok(1) }
//!     fn query(&mut self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> { Ok(vec![]) }
//!     fn execute_batch(&mut self, _: &str) -> Result<(), DbError> { Ok(()) }
//!     fn transaction_depth(&self) -> u32 { 0 }
//!     fn set_transaction_depth(&mut self, _: u32) {}
//! }
//! let mut c = Counting::default();
//! assert_eq!(c.execute("DELETE FROM requests WHERE store_user = $1", &["mailto:a@b".into()])?, 1);
//! assert_eq!(Dialect::Sqlite.render("x = $1"), "x = ?1");
//! # Ok::<(), DbError>(())
//! ```
//!
//! With a real backend (from `calstore-native`), a store is opened with
//! [`Store::open`], which creates or migrates the schema; see that crate's documentation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod address;
pub mod caldav;
pub mod changes;
pub mod clock;
pub mod error;
pub mod ical;
pub mod journal;
pub mod outbox;
pub mod period;
pub mod prefs;
pub mod publish;
pub mod record;
pub mod scheduling;
pub mod schema;
pub mod sql;
pub mod status;
pub mod store;
pub mod sync;
pub mod tx;
pub mod typed;
pub mod validate;
pub mod work;

pub use changes::{Change, Operation, Scope};
pub use clock::{Clock, FixedClock};
pub use error::{Result, StoreError};
pub use journal::{Booking, BookingRequest, DeclineReason, Entry, Journal, Limit, QuotaDecision};
pub use period::Period;
pub use record::{
    EXTEND_PIECE, ExtendReport, IMPORT_PIECE, ImportNote, ImportReport, RecordOptions, Source,
    SourceEvents,
};
pub use sql::{
    DbError, DbErrorKind, Dialect, FromValue, Row, SqlConnection, SqlConnectionExt, TxEvent,
    TxKind, Value, bulk,
};
pub use status::Status;
pub use store::Store;
pub use store::offers::Offer;
pub use store::providers::Providers;
pub use store::requests::Request;
pub use tx::in_transaction;
