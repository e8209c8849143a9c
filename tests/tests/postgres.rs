//! The conformance suite on PostgreSQL.
//!
//! Needs a server: `CALSTORE_TEST_PG_URL` (for example from `scripts/pg-test-cluster.sh
//! start DIR`, which `scripts/test.sh` runs). With the `postgres` feature on and no URL, every
//! test fails: a backend that was asked for is never skipped silently.
//!
//! Each test gets its own schema `t_<time>_<pid>_<counter>`, created on connect, made the only
//! entry of `search_path`, and dropped (with everything in it) when the test's connection is
//! dropped.

// Test support code outside #[test] fns: failing loudly is the point here.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use calstore_core::{DbError, Dialect, Row, SqlConnection, Value};
use calstore_native::PgConnection;

/// The environment variable naming the test server.
const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

fn test_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set, but the postgres feature is on: start a server with \
             `export \"$(scripts/pg-test-cluster.sh start /tmp/calstore-pg)\"` (or point \
             {URL_VAR} at a database you may create schemas in), or run without \
             --features postgres"
        ),
    }
}

fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "t_{nanos}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A connection to a fresh schema of its own, dropped with the connection.
#[derive(Debug)]
pub struct TestPg {
    conn: PgConnection,
    url: String,
    schema: String,
}

impl TestPg {
    /// Connects to [`URL_VAR`] and creates and selects a new, empty schema.
    pub fn connect() -> Self {
        let url = test_url();
        let mut conn = PgConnection::connect(&url)
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}={url}: {e:#}"));
        let schema = unique_schema();
        conn.execute_batch(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
        conn.set_search_path(&schema).unwrap();
        TestPg { conn, url, schema }
    }

    /// Another connection to the same schema (for cases with two clients).
    pub fn second(&self) -> PgConnection {
        let mut c = PgConnection::connect(&self.url).unwrap();
        c.set_search_path(&self.schema).unwrap();
        c
    }

    /// The schema's name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A factory of further connections to the same schema, for threads (each calls it to
    /// open its own connection).
    pub fn connector(&self) -> impl Fn() -> PgConnection + Sync + use<> {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        move || {
            let mut c = PgConnection::connect(&url).unwrap();
            c.set_search_path(&schema).unwrap();
            c
        }
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        let drop_sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        // On the test's own connection first: a transaction it left open may hold locks that
        // would block a DROP from another connection.
        let _ = self.conn.execute_batch("ROLLBACK");
        if self.conn.execute_batch(&drop_sql).is_ok() {
            return;
        }
        // The connection is broken (and so holds no locks): use a new one.
        match PgConnection::connect(&self.url).and_then(|mut c| c.execute_batch(&drop_sql)) {
            Ok(()) => {}
            Err(e) => eprintln!("warning: could not drop test schema {}: {e}", self.schema),
        }
    }
}

impl SqlConnection for TestPg {
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

// ---- the conformance suite: one test per case, each on a fresh schema -----------------------

mod suite {
    use super::TestPg;
    use calstore_tests::{all_cases, conformance_suite};

    all_cases!(
        conformance_suite,
        #[test]
        TestPg::connect()
    );
}

// ---- concurrency: the same generic tests as tests/concurrency_sqlite.rs ---------------------

/// Eight connections to one schema writing the same users and quotas at once (see
/// `calstore_tests::concurrency`); writes run under READ COMMITTED, serialised per owner by
/// the revision row, with deadlocks and serialization failures retried by `in_transaction`.
/// Run with `-- --nocapture` to see the throughput.
mod concurrency {
    use super::TestPg;
    use calstore_tests::concurrency::{self, Backend};

    const POSTGRES: Backend = Backend {
        name: "postgres",
        parallel_owners: true,
    };

    #[test]
    fn mixed_workload() {
        let db = TestPg::connect();
        concurrency::mixed_workload(POSTGRES, db.connector());
    }

    #[test]
    fn quota_race() {
        let db = TestPg::connect();
        concurrency::quota_race(POSTGRES, db.connector());
    }

    #[test]
    fn reserve_waits_for_a_booking_in_progress() {
        let db = TestPg::connect();
        concurrency::reserve_waits_for_a_booking_in_progress(POSTGRES, db.connector());
    }

    #[test]
    fn concurrent_first_open() {
        let db = TestPg::connect();
        concurrency::concurrent_first_open(POSTGRES, db.connector());
    }

    /// A real deadlock inside a calstore write (40P01) is retried by `in_transaction`, and
    /// the operation succeeds: another transaction T holds a row the write needs, then asks
    /// for the user's revision row, which the write holds. PostgreSQL aborts the session whose
    /// deadlock check finds the cycle first: the write's `deadlock_timeout` is set to 2 s and
    /// T's to a minute, so that it is the write (T is waiting well before the write's check
    /// runs). The write runs again once T has committed. (Setting `deadlock_timeout` needs a
    /// superuser, which the test cluster's `postgres` is.)
    #[test]
    fn deadlock_in_a_write_is_retried() {
        use calstore_core::{FixedClock, SqlConnection, Store, Value};
        use calstore_tests::concurrency::Recording;
        use calstore_tests::support::{RESOURCE, t0};
        use std::time::{Duration, Instant};

        const UID: &str = "x@example.com";
        const NEW: &str = "BEGIN:VEVENT\r\nUID:x@example.com\r\nSUMMARY:new\r\nEND:VEVENT\r\n";
        let db = TestPg::connect();
        let connect = db.connector();
        let clock = || Box::new(FixedClock::new(t0()));
        let mut store = Store::open(connect(), clock()).unwrap();
        store
            .set_event(RESOURCE, UID, None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n")
            .unwrap();

        let set_timeout = |c: &mut calstore_native::PgConnection, t: &str| {
            c.execute_batch(&format!("SET deadlock_timeout = '{t}'"))
                .unwrap_or_else(|e| {
                    panic!(
                        "setting deadlock_timeout needs a superuser in {}: {e}",
                        super::URL_VAR
                    )
                });
        };
        let mut t = connect();
        set_timeout(&mut t, "60s");
        t.execute_batch("BEGIN").unwrap();
        t.execute(
            "UPDATE objects SET object_text = object_text \
             WHERE store_user = $1 AND object_uid = $2",
            &[RESOURCE.into(), UID.into()],
        )
        .unwrap();
        std::thread::scope(|s| {
            let (pid_tx, pid) = std::sync::mpsc::channel();
            let (connect, clock, set_timeout) = (&connect, &clock, &set_timeout);
            let write = s.spawn(move || {
                let mut conn = connect();
                set_timeout(&mut conn, "2s");
                let mut store = Store::open(Recording::new(conn), clock()).unwrap();
                let rows = store
                    .connection()
                    .query("SELECT pg_backend_pid()", &[])
                    .unwrap();
                pid_tx.send(rows[0].get::<i64>(0).unwrap()).unwrap();
                store.set_event(RESOURCE, UID, None, NEW).unwrap();
                store.connection().log().clone()
            });
            let pid = pid.recv().unwrap();
            // Wait until the write waits for T's row lock (it holds the revision row then).
            let mut probe = connect();
            let started = Instant::now();
            loop {
                let waiting: i64 = probe
                    .query(
                        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
                        &[Value::Integer(pid)],
                    )
                    .unwrap()[0]
                    .get(0)
                    .unwrap();
                if waiting > 0 {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the write never waited"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            t.execute(
                "UPDATE calstore_revisions SET revision = revision \
                 WHERE scope = 'store' AND owner = $1",
                &[RESOURCE.into()],
            )
            .expect("T must get the revision row once the deadlocked write is rolled back");
            t.execute_batch("COMMIT").unwrap();
            let log = write.join().unwrap();
            assert!(
                log.retryable_errors >= 1,
                "no deadlock was reported: {log:?}"
            );
            assert_eq!(log.committed.len(), 1, "{log:?}");
            println!(
                "[postgres] a deadlocked write was retried ({} retryable error(s), {} rollback(s)) \
                 and committed",
                log.retryable_errors, log.rollbacks
            );
        });
        assert_eq!(
            store
                .get_event(RESOURCE, UID, None, calstore_core::Status::Active)
                .unwrap()
                .as_deref(),
            Some(NEW)
        );
        assert_eq!(store.revision(RESOURCE).unwrap(), 2);
    }
}

// ---- adapter checks (PostgreSQL-specific; the shared behaviour is in the suite) -----------

mod adapter {
    use super::*;
    use calstore_core::{DbErrorKind, FixedClock, RecordOptions, Store};
    use chrono::{TimeZone, Utc};

    #[test]
    fn schema_guard_isolates_and_cleans_up() {
        let name;
        {
            let mut c = TestPg::connect();
            name = c.schema().to_owned();
            c.execute_batch("CREATE TABLE x (a BIGINT)").unwrap();
            assert_eq!(
                c.execute("INSERT INTO x VALUES ($1)", &[Value::Integer(1)])
                    .unwrap(),
                1
            );
        }
        let mut other = PgConnection::connect(&test_url()).unwrap();
        let rows = other
            .query(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                &[name.into()],
            )
            .unwrap();
        assert!(rows.is_empty(), "schema was not dropped");
    }

    #[test]
    fn values_roundtrip_by_inferred_type() {
        let mut c = TestPg::connect();
        c.execute_batch(
            "CREATE TABLE v (i8 BIGINT, i4 INTEGER, i2 SMALLINT, b BOOLEAN, f8 DOUBLE PRECISION, \
             f4 REAL, t TEXT, vc VARCHAR(10), by BYTEA)",
        )
        .unwrap();
        for i in [0, -1, 1 << 31, (1 << 53) + 1, i64::MIN, i64::MAX] {
            c.execute("DELETE FROM v", &[]).unwrap();
            c.execute(
                "INSERT INTO v (i8, i4, i2, b, f8, f4, t, vc, by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    Value::Integer(i),
                    Value::Integer(-5),
                    Value::Integer(7),
                    Value::Integer(1),
                    Value::Real(0.25),
                    Value::Real(0.5),
                    Value::Text("å€😀".into()),
                    Value::Text("short".into()),
                    Value::Blob(vec![0, 1, 255]),
                ],
            )
            .unwrap();
            let rows = c
                .query(
                    "SELECT i8, i4, i2, b, f8, f4, t, vc, by FROM v WHERE i8 = $1",
                    &[Value::Integer(i)],
                )
                .unwrap();
            assert_eq!(
                rows[0].values(),
                &[
                    Value::Integer(i),
                    Value::Integer(-5),
                    Value::Integer(7),
                    Value::Integer(1),
                    Value::Real(0.25),
                    Value::Real(0.5),
                    Value::Text("å€😀".into()),
                    Value::Text("short".into()),
                    Value::Blob(vec![0, 1, 255]),
                ]
            );
        }
        // NULL binds to every type and reads back as Null.
        c.execute(
            "INSERT INTO v (i8, i4, b, f8, t, by) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        )
        .unwrap();
        let rows = c
            .query("SELECT i8, b, t, by FROM v WHERE i8 IS NULL", &[])
            .unwrap();
        assert_eq!(
            rows[0].values(),
            &[Value::Null, Value::Null, Value::Null, Value::Null]
        );
        // Out of range for the inferred type: an error, not a silent truncation.
        assert!(
            c.execute("INSERT INTO v (i4) VALUES ($1)", &[Value::Integer(1 << 40)])
                .is_err()
        );
        // A type calstore does not read is a decode error.
        let err = c.query("SELECT now()", &[]).unwrap_err();
        assert!(
            matches!(err.kind(), DbErrorKind::Decode { index: 0, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn errors_are_classified() {
        let mut c = TestPg::connect();
        c.execute_batch(
            "CREATE TABLE p (id BIGINT PRIMARY KEY); \
             CREATE TABLE k (id BIGINT PRIMARY KEY, p BIGINT NOT NULL REFERENCES p (id), \
             n BIGINT CHECK (n > 0))",
        )
        .unwrap();
        c.execute("INSERT INTO p (id) VALUES ($1)", &[Value::Integer(1)])
            .unwrap();
        let kind = |r: Result<u64, DbError>| r.unwrap_err().kind().clone();
        assert_eq!(
            kind(c.execute("INSERT INTO p (id) VALUES ($1)", &[Value::Integer(1)])),
            DbErrorKind::UniqueViolation
        );
        assert_eq!(
            kind(c.execute(
                "INSERT INTO k (id, p) VALUES ($1, $2)",
                &[1.into(), 9.into()]
            )),
            DbErrorKind::ForeignKeyViolation
        );
        assert_eq!(
            kind(c.execute(
                "INSERT INTO k (id, p) VALUES ($1, $2)",
                &[1.into(), Value::Null]
            )),
            DbErrorKind::NotNullViolation
        );
        assert_eq!(
            kind(c.execute(
                "INSERT INTO k (id, p, n) VALUES ($1, $2, $3)",
                &[1.into(), 1.into(), 0.into()]
            )),
            DbErrorKind::CheckViolation
        );
        assert_eq!(kind(c.execute("SELEC 1", &[])), DbErrorKind::Other);
        // The driver error is kept as the source.
        let err = c
            .execute("INSERT INTO p (id) VALUES ($1)", &[Value::Integer(1)])
            .unwrap_err();
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn lock_timeout_is_busy() {
        let mut a = TestPg::connect();
        a.execute_batch("CREATE TABLE l (id BIGINT PRIMARY KEY)")
            .unwrap();
        a.execute("INSERT INTO l (id) VALUES ($1)", &[1.into()])
            .unwrap();
        let mut b = a.second();
        a.execute_batch("BEGIN").unwrap();
        a.execute("UPDATE l SET id = 2 WHERE id = $1", &[1.into()])
            .unwrap();
        b.execute_batch("SET lock_timeout = '50ms'").unwrap();
        let err = b
            .execute("UPDATE l SET id = 3 WHERE id = $1", &[1.into()])
            .unwrap_err();
        assert_eq!(err.kind(), &DbErrorKind::Busy);
        assert!(err.is_retryable());
        a.execute_batch("ROLLBACK").unwrap();
    }

    /// Writers of one user on separate connections: the revision bump, the first statement
    /// of every write, serialises them under READ COMMITTED, so revisions are gapless and
    /// every change is journalled with its own revision.
    #[test]
    fn concurrent_writers_get_gapless_revisions() {
        const THREADS: usize = 4;
        const WRITES: usize = 20;
        let now = Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap();
        let user = "mailto:resource-room-confroom@example.com";
        let mut store = Store::open(TestPg::connect(), Box::new(FixedClock::new(now))).unwrap();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let conn = store.connection().second();
                std::thread::spawn(move || {
                    let mut s = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
                    for i in 0..WRITES {
                        let uid = format!("t{t}-{i}@example.com");
                        let text = format!("BEGIN:VEVENT\r\nUID:{uid}\r\nEND:VEVENT\r\n");
                        s.set_event(user, &uid, None, &text).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let n = i64::try_from(THREADS * WRITES).unwrap();
        assert_eq!(store.revision(user).unwrap(), n);
        let mut revisions: Vec<i64> = store
            .changes_since(user, 0)
            .unwrap()
            .iter()
            .map(|c| c.revision)
            .collect();
        revisions.sort_unstable();
        assert_eq!(revisions, (1..=n).collect::<Vec<_>>());
        assert_eq!(store.get_events(user).unwrap().len(), THREADS * WRITES);
    }

    /// The PostgreSQL DDL describes the same schema as the SQLite DDL: same tables, same
    /// columns in the same order with the same types (INTEGER as BIGINT) and nullability,
    /// same primary keys, same index names and uniqueness.
    #[test]
    fn schema_matches_sqlite() {
        type Columns = Vec<(String, String, bool, i64)>;
        fn strings(rows: Vec<Row>) -> Vec<String> {
            rows.iter().map(|r| r.get(0).unwrap()).collect()
        }
        let mut lite = calstore_native::SqliteConnection::open_in_memory().unwrap();
        calstore_core::schema::migrate(&mut lite).unwrap();
        let mut pg = TestPg::connect();
        calstore_core::schema::migrate(&mut pg).unwrap();

        let lite_tables = strings(
            lite.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                &[],
            )
            .unwrap(),
        );
        let pg_tables = strings(
            pg.query(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY 1",
                &[],
            )
            .unwrap(),
        );
        assert_eq!(lite_tables, calstore_tests::schema_tables());
        assert_eq!(pg_tables, lite_tables);

        for table in &lite_tables {
            // (name, type, not null, position in the primary key or 0)
            let lite_cols: Columns = lite
                .query(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
                    &[table.into()],
                )
                .unwrap()
                .iter()
                .map(|r| {
                    let ty: String = r.get(1).unwrap();
                    let ty = match ty.as_str() {
                        "INTEGER" => "bigint".to_owned(),
                        other => other.to_lowercase(),
                    };
                    let pk: i64 = r.get(3).unwrap();
                    // SQLite lets a PRIMARY KEY column be NULL unless declared NOT NULL;
                    // PostgreSQL makes it NOT NULL. The schema declares them NOT NULL anyway.
                    (
                        r.get(0).unwrap(),
                        ty,
                        r.get::<i64>(2).unwrap() == 1 || pk > 0,
                        pk,
                    )
                })
                .collect();
            let pg_cols: Columns = pg
                .query(
                    "SELECT CAST(c.column_name AS TEXT), CAST(c.data_type AS TEXT), \
                     CAST(c.is_nullable AS TEXT), \
                     coalesce(CAST(k.ordinal_position AS BIGINT), 0) \
                     FROM information_schema.columns c \
                     LEFT JOIN information_schema.table_constraints t \
                       ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                       AND t.constraint_type = 'PRIMARY KEY' \
                     LEFT JOIN information_schema.key_column_usage k \
                       ON k.constraint_schema = t.constraint_schema \
                       AND k.constraint_name = t.constraint_name \
                       AND k.column_name = c.column_name \
                     WHERE c.table_schema = current_schema() AND c.table_name = $1 \
                     ORDER BY c.ordinal_position",
                    &[table.into()],
                )
                .unwrap()
                .iter()
                .map(|r| {
                    let nullable: String = r.get(2).unwrap();
                    (
                        r.get(0).unwrap(),
                        r.get(1).unwrap(),
                        nullable == "NO",
                        r.get(3).unwrap(),
                    )
                })
                .collect();
            assert_eq!(pg_cols, lite_cols, "columns of {table}");

            let lite_indexes: Vec<(String, bool)> = lite
                .query(
                    "SELECT name, \"unique\" FROM pragma_index_list($1) \
                     WHERE origin = 'c' ORDER BY name",
                    &[table.into()],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                .collect();
            let pg_indexes: Vec<(String, bool)> = pg
                .query(
                    "SELECT CAST(i.relname AS TEXT), x.indisunique FROM pg_index x \
                     JOIN pg_class i ON i.oid = x.indexrelid \
                     JOIN pg_class t ON t.oid = x.indrelid \
                     WHERE t.relnamespace = CAST(current_schema() AS regnamespace) \
                     AND t.relname = $1 AND NOT x.indisprimary ORDER BY 1",
                    &[table.into()],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                .collect();
            assert_eq!(pg_indexes, lite_indexes, "indexes of {table}");
        }
    }

    #[test]
    fn store_records_an_event_and_reads_freebusy() {
        let now = Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap();
        let mut store = Store::open(TestPg::connect(), Box::new(FixedClock::new(now))).unwrap();
        let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:event1@example.com\r\n\
DTSTART;TZID=Europe/Oslo:20141010T160000\r\nDTEND;TZID=Europe/Oslo:20141010T170000\r\n\
SUMMARY:Meeting at 4pm\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let user = "mailto:resource-room-confroom@example.com";
        store
            .import_ics(user, ics, &RecordOptions::new(now), &mut |_, _| {})
            .unwrap();
        let fb = store.get_freebusy(user).unwrap();
        assert_eq!(fb.len(), 1);
        assert_eq!(
            fb[0].start,
            Utc.with_ymd_and_hms(2014, 10, 10, 14, 0, 0).unwrap()
        );
        // Opening again finds the migrated schema in this search_path.
        assert_eq!(
            calstore_core::schema::version(store.connection()).unwrap(),
            calstore_core::schema::CURRENT_VERSION
        );
    }
}

// ---- the convergence suite with the server on PostgreSQL -------------------------------------

/// A smaller run of the convergence suite (`calstore_tests::convergence`) with the server on
/// PostgreSQL (a fresh schema per history) and the clients on SQLite.
/// `CALSTORE_CONVERGENCE_PG_HISTORIES=N` sets how many (default 40).
#[test]
fn convergence_with_the_server_on_postgres() {
    use calstore_tests::convergence::{self, Faults};
    let n: u64 = std::env::var("CALSTORE_CONVERGENCE_PG_HISTORIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 0..n {
        let server = TestPg::connect();
        let client = || calstore_native::SqliteConnection::open_in_memory().unwrap();
        convergence::run(10_000 + seed, server, client, 3, 60, Faults::HOSTILE);
    }
}
