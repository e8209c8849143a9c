//! Typed tables and accounts (`calstore_tests::typed`) on PostgreSQL: each case gets a schema
//! of its own; every reopen is a new connection to it. Needs `CALSTORE_TEST_PG_URL`.

#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "support/pg.rs"]
mod pg;

use calstore_core::schema::storage::PostgresMemory;
use calstore_tests::typed::accounts_opener;
use calstore_tests::{typed_cases, typed_suite};

typed_cases!(
    typed_suite,
    #[test]
    accounts_opener(pg::opener(), || Box::new(PostgresMemory::new()))
);
