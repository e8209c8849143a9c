//! The conformance suite and the in-module cases on the in-module backend (SQLite compiled
//! into the module, calstore-native's `SqliteConnection`) in a browser page, in memory
//! (`scripts/test-wasm.sh` runs them in headless Chromium; needs `--features sqlite-wasm`).
#![cfg(all(target_arch = "wasm32", feature = "sqlite-wasm"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod in_module;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

in_module::memory_tests!();
