//! The conformance suite and the in-module cases on the in-module backend (SQLite compiled
//! into the module, calstore-native's `SqliteConnection`) in Node, in memory
//! (`scripts/test-wasm.sh`; needs `--features sqlite-wasm`).
#![cfg(all(target_arch = "wasm32", feature = "sqlite-wasm"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod in_module;

in_module::memory_tests!();
