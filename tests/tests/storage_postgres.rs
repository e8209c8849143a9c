//! Storage classes (`calstore_tests::storage`) on PostgreSQL: memory tables `UNLOGGED` with
//! logged snapshot copies; each case in a schema of its own. Needs `CALSTORE_TEST_PG_URL`.
//! A crash of the server itself is in `memory_postgres.rs` (a private cluster).

#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "support/pg.rs"]
mod pg;

use calstore_core::schema::storage::PostgresMemory;
use calstore_tests::storage::storage_opener;
use calstore_tests::{storage_cases, storage_suite};

storage_cases!(
    storage_suite,
    #[test]
    storage_opener(pg::opener(), || Box::new(PostgresMemory::new()))
);
