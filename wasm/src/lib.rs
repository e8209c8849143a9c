//! calstore in the browser: the core over [sql.js](https://sql.js.org).
//!
//! `SqlJsConnection` (wasm32 only) implements the core's [`calstore_core::SqlConnection`] over
//! a sql.js `Database` created in JavaScript, so a [`calstore_core::Store`] runs in a browser
//! or in Node exactly as it runs natively; the conformance suite of `calstore-tests` runs on
//! it under Node and headless Chromium (`scripts/test-wasm.sh`).
//!
//! ```ignore
//! // In a wasm32 build, with `db` a sql.js Database passed in from JavaScript:
//! let conn = calstore_wasm::SqlJsConnection::from_js(db)?;
//! let mut store = calstore_core::Store::open(conn, Box::new(clock))?;
//! ```
//!
//! On top of it:
//! - `api` (wasm32): the JavaScript API, the `CalStore` class exported with wasm-bindgen
//!   (described for TypeScript in `wasm/js/calstore.d.ts`);
//! - [`wal`]: the write-ahead log of committed transactions that the connection records, and
//!   that the persistence layer (`wasm/js/calstore.js`) appends to IndexedDB before it
//!   acknowledges a write and replays on open;
//! - [`booking`]: a quota booking read from an iCalendar event.
//!
//! All JavaScript plumbing lives in `sqljs` (the extern bindings), `convert` (every
//! `Value` ↔ `JsValue` conversion and every API value) and [`error`] (classifying sql.js
//! exceptions, and the typed `Error`s the API throws). Those and `api` exist only on
//! `wasm32`: natively the crate is the core re-export plus the plain-Rust modules, so
//! `cargo build --workspace` needs no wasm toolchain.

pub use calstore_core as core;

pub mod booking;
pub mod error;
pub mod wal;

#[cfg(target_arch = "wasm32")]
pub mod api;

#[cfg(target_arch = "wasm32")]
pub mod conn;
#[cfg(target_arch = "wasm32")]
pub mod convert;
#[cfg(target_arch = "wasm32")]
pub mod sqljs;

#[cfg(target_arch = "wasm32")]
pub use api::CalStore;
#[cfg(target_arch = "wasm32")]
pub use conn::SqlJsConnection;
#[cfg(target_arch = "wasm32")]
pub use sqljs::{SqlJsDatabase, SqlJsStatement};
