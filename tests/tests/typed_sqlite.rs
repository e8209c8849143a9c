//! Typed tables and accounts (`calstore_tests::typed`) on native SQLite: each case gets its
//! own database file in a temporary directory, so that a case can close it and open it again
//! (a restart); the memory tables are in the attached schema, snapshots beside the file.

#![allow(clippy::unwrap_used)]

use calstore_core::schema::storage::StorageConnection;
use calstore_native::{SqliteConnection, SqliteSnapshots};
use calstore_tests::typed::accounts_opener;
use calstore_tests::{typed_cases, typed_suite};

/// A fresh database file; every call opens it again.
fn opener() -> impl FnMut() -> StorageConnection<SqliteConnection> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.sqlite");
    let snapshots = path.clone();
    accounts_opener(
        move || {
            let _keep = &dir;
            SqliteConnection::open(&path).unwrap()
        },
        move || Box::new(SqliteSnapshots::beside(&snapshots)),
    )
}

typed_cases!(
    typed_suite,
    #[test]
    opener()
);
