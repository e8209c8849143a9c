//! The conformance suite and the adapter's own cases on sql.js in Node
//! (`scripts/test-wasm.sh`; wasm-bindgen-test runs in Node by default).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

common::wasm_tests!();
