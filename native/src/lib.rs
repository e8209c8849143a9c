//! # calstore-native
//!
//! Native backends for calstore: SQLite (rusqlite, bundled) and PostgreSQL (the `postgres`
//! client), a connection for whichever a database URL names, and the system clock. The
//! `calstore` command-line tool is the `calstore-cli` crate.
//!
//! ```
//! use calstore_core::{FixedClock, RecordOptions, Store};
//! use calstore_native::SqliteConnection;
//! use chrono::{TimeZone, Utc};
//!
//! let now = Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap();
//! let conn = SqliteConnection::open_in_memory()?;
//! let mut store = Store::open(conn, Box::new(FixedClock::new(now)))?;
//! let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:event1@example.com\r\n\
//! DTSTART;TZID=Europe/Oslo:20141010T160000\r\nDTEND;TZID=Europe/Oslo:20141010T170000\r\n\
//! SUMMARY:Meeting at 4pm\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! let user = "mailto:resource-room-confroom@example.com";
//! store.import_ics(user, ics, &RecordOptions::new(now), &mut |_, _| {})?;
//! let fb = store.get_freebusy(user)?;
//! assert_eq!(fb.len(), 1);
//! assert_eq!(fb[0].start, Utc.with_ymd_and_hms(2014, 10, 10, 14, 0, 0).unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod any;
pub mod url;

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(all(feature = "sqlite", not(target_family = "wasm")))]
pub mod snapshots;

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "mail")]
pub mod mail;

#[cfg(feature = "postgres")]
pub use self::postgres::PgConnection;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use any::{AnyConnection, connect, memory_backend};
#[cfg(all(feature = "sqlite", not(target_family = "wasm")))]
pub use snapshots::SqliteSnapshots;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteConnection, SqliteOpenOptions};
pub use url::DbUrl;

/// A clock reading the system time.
///
/// Not on `wasm32-unknown-unknown`, which has no system clock (`std::time::SystemTime::now`
/// panics there); in a browser the clock reads `Date.now()` (calstore-wasm).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl calstore_core::Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        // chrono's `std` conversion, so the library needs no `clock` feature (and no
        // time-zone database lookup).
        std::time::SystemTime::now().into()
    }
}
