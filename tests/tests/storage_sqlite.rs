//! Storage classes (`calstore_tests::storage`) on native SQLite files: memory tables in the
//! attached schema, snapshot files beside the database.

#![allow(clippy::unwrap_used)]

use calstore_native::{SqliteConnection, SqliteSnapshots};
use calstore_tests::storage::storage_opener;
use calstore_tests::{storage_cases, storage_suite};

storage_cases!(
    storage_suite,
    #[test]
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("storage.sqlite");
        let snapshots = path.clone();
        storage_opener(
            move || {
                let _keep = &dir;
                SqliteConnection::open(&path).unwrap()
            },
            move || Box::new(SqliteSnapshots::beside(&snapshots)),
        )
    }
);
