//! A PostgreSQL test database for cases that reopen their database: a schema of its own,
//! created on first use and dropped (with everything in it) when the opener is dropped.
//! Needs `CALSTORE_TEST_PG_URL`; with the `postgres` feature on and no URL, tests fail.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use calstore_core::SqlConnection;
use calstore_native::PgConnection;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

fn test_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set, but the postgres feature is on: start a server with \
             `export \"$(scripts/pg-test-cluster.sh start /tmp/calstore-pg)\"`, or run \
             without --features postgres"
        ),
    }
}

/// A schema of its own; dropped on drop.
#[derive(Debug)]
pub struct PgSchema {
    url: String,
    schema: String,
}

impl PgSchema {
    /// Creates a new, empty schema.
    pub fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let schema = format!(
            "ty_{nanos}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let url = test_url();
        let mut c = PgConnection::connect(&url)
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}={url}: {e:#}"));
        c.execute_batch(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
        PgSchema { url, schema }
    }

    /// A new connection whose `search_path` is the schema.
    pub fn connect(&self) -> PgConnection {
        let mut c = PgConnection::connect(&self.url).unwrap();
        c.set_search_path(&self.schema).unwrap();
        c
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        match PgConnection::connect(&self.url).and_then(|mut c| c.execute_batch(&sql)) {
            Ok(()) => {}
            Err(e) => eprintln!("warning: could not drop test schema {}: {e}", self.schema),
        }
    }
}

/// An opener: a fresh schema; every call is a new connection to it.
pub fn opener() -> impl FnMut() -> PgConnection {
    let schema = PgSchema::create();
    move || schema.connect()
}
