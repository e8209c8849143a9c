//! The conformance suite on the in-module backend's durable storage: every case on its own
//! OPFS file (the `opfs-sahpool` VFS, WAL with exclusive locking), plus reopening and the
//! JavaScript API on OPFS, in a dedicated Worker of headless Chromium (the only place with
//! OPFS sync access handles; `scripts/test-wasm.sh`, needs `--features sqlite-wasm`).
#![cfg(all(target_arch = "wasm32", feature = "sqlite-wasm"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod in_module;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

in_module::opfs_tests!();
