//! Typed tables and accounts (`calstore_tests::typed`) on native SQLite: each case gets its
//! own database file in a temporary directory, so that a case can close it and open it again
//! (a restart).

#![allow(clippy::unwrap_used)]

use calstore_native::SqliteConnection;
use calstore_tests::{typed_cases, typed_suite};

/// A fresh database file; every call opens it again.
fn opener() -> impl FnMut() -> SqliteConnection {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.sqlite");
    move || {
        let _keep = &dir;
        SqliteConnection::open(&path).unwrap()
    }
}

typed_cases!(
    typed_suite,
    #[test]
    opener()
);
