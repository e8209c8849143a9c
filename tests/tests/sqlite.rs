//! The conformance suite on native SQLite: every case on a private in-memory database, and
//! again on a WAL database file in a temporary directory.

// Helpers of these tests (outside #[test] functions) fail loudly too.
#![allow(clippy::unwrap_used)]

use calstore_core::{DbError, Dialect, Row, SqlConnection, Value};
use calstore_native::SqliteConnection;
use calstore_tests::{all_cases, conformance_suite};

all_cases!(
    conformance_suite,
    #[test]
    SqliteConnection::open_in_memory().unwrap()
);

/// A SQLite database file in its own temporary directory, removed when dropped.
#[derive(Debug)]
struct FileDb {
    conn: SqliteConnection,
    _dir: tempfile::TempDir,
}

impl FileDb {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = SqliteConnection::open(dir.path().join("calstore.sqlite")).unwrap();
        FileDb { conn, _dir: dir }
    }
}

impl SqlConnection for FileDb {
    fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.conn.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.conn.query(sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql)
    }
    fn transaction_depth(&self) -> u32 {
        self.conn.transaction_depth()
    }
    fn set_transaction_depth(&mut self, depth: u32) {
        self.conn.set_transaction_depth(depth);
    }
}

mod file {
    use calstore_tests::{all_cases, conformance_suite};

    all_cases!(
        conformance_suite,
        #[test]
        super::FileDb::new()
    );
}

/// A file database is in WAL mode, and what one connection wrote is there for the next.
#[test]
fn file_database_in_wal_mode_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calstore.sqlite");
    {
        let conn = SqliteConnection::open(&path).unwrap();
        let (mut store, _) = calstore_tests::support::open(conn);
        let mode = store
            .connection()
            .query("PRAGMA journal_mode", &[])
            .unwrap();
        assert_eq!(mode[0].get::<String>(0).unwrap().to_lowercase(), "wal");
        store
            .set_event(
                calstore_tests::support::RESOURCE,
                "a@example.com",
                None,
                "BEGIN:VEVENT\r\nUID:a@example.com\r\nEND:VEVENT\r\n",
            )
            .unwrap();
    }
    assert!(dir.path().join("calstore.sqlite-wal").exists() || path.exists());
    let conn = SqliteConnection::open(&path).unwrap();
    let (mut store, _) = calstore_tests::support::open(conn);
    assert_eq!(
        store.get_events(calstore_tests::support::RESOURCE).unwrap(),
        ["a@example.com"]
    );
    assert_eq!(
        store.revision(calstore_tests::support::RESOURCE).unwrap(),
        1
    );
    // A second connection to the same file sees the same data (WAL readers).
    let other = SqliteConnection::open(&path).unwrap();
    let (mut second, _) = calstore_tests::support::open(other);
    assert_eq!(second.users().unwrap(), [calstore_tests::support::RESOURCE]);
}

/// `schema_tables()`, which dialect-neutral cases use to check that nothing was written, is
/// exactly the set of tables the migrations create.
#[test]
fn schema_tables_list_is_complete() {
    let (mut store, _) = calstore_tests::support::open(SqliteConnection::open_in_memory().unwrap());
    let tables = calstore_tests::sqlite_tables(store.connection()).unwrap();
    assert_eq!(tables, calstore_tests::schema_tables());
}
