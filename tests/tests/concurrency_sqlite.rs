//! The concurrency tests ([`calstore_tests::concurrency`]) on SQLite: a WAL database file in a
//! temporary directory, every thread opening its own `SqliteConnection` to it. Writers take
//! the database's write lock with `BEGIN IMMEDIATE` and wait for it (busy timeout); a busy
//! error that gets through anyway is retried by `in_transaction`, and any that leaks out of
//! an operation fails the test.
//!
//! Run with `-- --nocapture` to see the throughput.

// Helpers of these tests (outside #[test] functions) fail loudly too.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use calstore_native::SqliteConnection;
use calstore_tests::concurrency::{self, Backend};

const SQLITE: Backend = Backend {
    name: "sqlite",
    parallel_owners: false,
};

/// A fresh database path in its own temporary directory (kept alive by the returned guard).
fn database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calstore.sqlite");
    (dir, path)
}

#[test]
fn mixed_workload() {
    let (_dir, path) = database();
    concurrency::mixed_workload(SQLITE, || SqliteConnection::open(&path).unwrap());
}

#[test]
fn quota_race() {
    let (_dir, path) = database();
    concurrency::quota_race(SQLITE, || SqliteConnection::open(&path).unwrap());
}

#[test]
fn reserve_waits_for_a_booking_in_progress() {
    let (_dir, path) = database();
    concurrency::reserve_waits_for_a_booking_in_progress(SQLITE, || {
        SqliteConnection::open(&path).unwrap()
    });
}

#[test]
fn concurrent_first_open() {
    let (_dir, path) = database();
    concurrency::concurrent_first_open(SQLITE, || SqliteConnection::open(&path).unwrap());
}
