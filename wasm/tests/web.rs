//! The conformance suite and the adapter's own cases on sql.js in a browser
//! (`scripts/test-wasm.sh` runs them in headless Chromium through chromedriver).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

common::wasm_tests!();
