//! calstore in the browser: the core over [sql.js](https://sql.js.org), or (feature
//! `sqlite-wasm`) over SQLite compiled into this module.
//!
//! `SqlJsConnection` (wasm32 only) implements the core's [`calstore_core::SqlConnection`] over
//! a sql.js `Database` created in JavaScript, so a [`calstore_core::Store`] runs in a browser
//! or in Node exactly as it runs natively; the conformance suite of `calstore-tests` runs on
//! it under Node and headless Chromium (`scripts/test-wasm.sh`).
//!
//! The second backend, for speed, is no new adapter: with the feature `sqlite-wasm` the
//! crate links calstore-native's `SqliteConnection`, whose rusqlite binds SQLite compiled
//! into the module (sqlite-wasm-rs) on wasm32; `in_module` opens it in memory or on OPFS,
//! and `backend` puts both behind one `CalStore`. The same suite runs on it too.
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
//!
//! All JavaScript plumbing lives in `sqljs` (the extern bindings), `convert` (every
//! `Value` ↔ `JsValue` conversion and every API value) and [`error`] (classifying sql.js
//! exceptions, and the typed `Error`s the API throws). Those and `api` exist only on
//! `wasm32`: natively the crate is the core re-export plus the plain-Rust modules, so
//! `cargo build --workspace` needs no wasm toolchain.

pub use calstore_core as core;

pub mod error;
pub mod json;
pub mod records;
pub mod wal;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod backend;
#[cfg(all(target_arch = "wasm32", feature = "sqlite-wasm"))]
pub mod in_module;
#[cfg(target_arch = "wasm32")]
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod conn;
#[cfg(target_arch = "wasm32")]
pub mod convert;
#[cfg(target_arch = "wasm32")]
pub mod sqljs;

#[cfg(target_arch = "wasm32")]
pub use api::CalStore;
#[cfg(target_arch = "wasm32")]
pub use backend::BrowserConnection;
#[cfg(target_arch = "wasm32")]
pub use conn::SqlJsConnection;
#[cfg(target_arch = "wasm32")]
pub use sqljs::{SqlJsDatabase, SqlJsStatement};
