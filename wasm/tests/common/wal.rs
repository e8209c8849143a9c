//! The write-ahead log the connection records for browser persistence (`calstore_wasm::wal`):
//! replaying the committed entries on an empty database (or on an exported image) must give
//! exactly the database the writes produced.
//!
//! [`ReplayChecked`] runs the **whole conformance suite** through a recording connection and,
//! when each case drops its store, replays the log on a fresh `Database` and compares every
//! table and `sqlite_master`. The cases below add what the suite does not reach: rolled-back
//! and read-only transactions, failed writes under fault injection, replay atomicity, and
//! export/restore.

use calstore_core::{
    DbError, DbErrorKind, FixedClock, RecordOptions, Row, SqlConnection, Store, StoreError, TxKind,
    Value,
};
use calstore_tests::atomicity::{DynConnection, atomic_op, check_atomic};
use calstore_tests::{FailMode, snapshot, sqlite_tables};
use calstore_wasm::SqlJsConnection;
use calstore_wasm::wal::EntryBuilder;
use chrono::{TimeZone, Utc};

use super::database_now;

/// A recording sql.js connection that, when dropped, checks that replaying its log on an
/// empty database reproduces it exactly.
#[derive(Debug)]
pub struct ReplayChecked {
    conn: SqlJsConnection,
    log: Vec<Vec<u8>>,
}

impl ReplayChecked {
    /// Starts recording on `conn`.
    pub fn new(mut conn: SqlJsConnection) -> Self {
        conn.start_recording();
        ReplayChecked {
            conn,
            log: Vec::new(),
        }
    }

    /// Replays the log on a fresh database and compares; panics on a difference.
    pub fn check(&mut self) {
        self.log.extend(self.conn.take_committed());
        let mut fresh = SqlJsConnection::from_js(database_now()).unwrap();
        for (i, entry) in self.log.iter().enumerate() {
            fresh
                .replay(entry)
                .unwrap_or_else(|e| panic!("replaying entry {i} of {}: {e}", self.log.len()));
        }
        let mut tables = sqlite_tables(&mut self.conn).unwrap();
        tables.push("sqlite_master".to_owned());
        let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
        let live = snapshot(&mut self.conn, &tables).unwrap();
        let replayed = snapshot(&mut fresh, &tables).unwrap();
        if live != replayed {
            let diff: Vec<&str> = live
                .iter()
                .zip(&replayed)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.0.as_str())
                .collect();
            panic!(
                "replaying {} log entries differs from the live database in {diff:?}",
                self.log.len()
            );
        }
    }
}

impl SqlConnection for ReplayChecked {
    fn dialect(&self) -> calstore_core::Dialect {
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
    // The recording connection's own transaction methods: they mark the log's boundaries.
    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        self.conn.begin(kind)
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.commit()
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.conn.rollback()
    }
}

impl Drop for ReplayChecked {
    fn drop(&mut self) {
        // A case that failed already says why; do not pile a second panic on it.
        if !std::thread::panicking() {
            self.check();
        }
    }
}

const USER: &str = "mailto:resource-room-confroom@example.com";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2014, 10, 9, 0, 0, 0).unwrap()
}

fn ics(uid: &str, day: u32) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//wal test//EN\r\n\
         BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20141009T000000Z\r\n\
         DTSTART:201410{day:02}T100000Z\r\nDTEND:201410{day:02}T110000Z\r\nSUMMARY:Meeting\r\n\
         RRULE:FREQ=DAILY;COUNT=3\r\nORGANIZER:mailto:paul.boddie@example.com\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:{USER}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn all_tables(c: &mut SqlJsConnection) -> Vec<String> {
    let mut t = sqlite_tables(c).unwrap();
    t.push("sqlite_master".to_owned());
    t
}

fn dump(c: &mut SqlJsConnection) -> calstore_tests::Snapshot {
    let tables = all_tables(c);
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    snapshot(c, &tables).unwrap()
}

/// One entry per committed write transaction; reads, read transactions, rejected input and
/// rolled-back transactions produce none.
pub fn one_entry_per_committed_write(mut c: SqlJsConnection) {
    c.start_recording();
    let mut store = Store::open(c, Box::new(FixedClock::new(now()))).unwrap();
    // Creating the schema is one transaction.
    assert_eq!(store.connection().take_committed().len(), 1);
    let opts = RecordOptions::new(now());
    store
        .import_ics(
            USER,
            ics("a@example.com", 10).as_bytes(),
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(store.connection().pending_committed(), 1);
    // Reads write nothing.
    store.get_freebusy(USER).unwrap();
    store.get_events(USER).unwrap();
    store.get_freebusy_offers(USER).unwrap();
    assert_eq!(store.connection().pending_committed(), 1);
    // Rejected before anything is written.
    assert!(matches!(
        store.import_ics(USER, b"not a calendar", &opts, &mut |_, _| {}),
        Err(StoreError::InvalidData(_))
    ));
    // A transaction that fails half-way (the schema refuses an end before the start) is
    // rolled back and leaves no entry.
    let bad = calstore_core::Period::new(
        Utc.with_ymd_and_hms(2014, 10, 10, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2014, 10, 10, 13, 0, 0).unwrap(),
    );
    store.connection().begin(TxKind::Write).unwrap();
    store
        .connection()
        .execute(
            "INSERT INTO calstore_schema (name, value) VALUES ($1, $2)",
            &["wal-test".into(), "1".into()],
        )
        .unwrap();
    store.connection().rollback().unwrap();
    assert_eq!(store.connection().pending_committed(), 1);
    assert_eq!(store.connection().recorder_stats().rolled_back, 1);
    store.set_freebusy(USER, &[bad]).unwrap();
    assert!(store.cancel_event(USER, "a@example.com", None).unwrap());
    let entries = store.connection().take_committed();
    assert_eq!(entries.len(), 3);
    assert_eq!(store.connection().recorder_stats().entries, 4);
    // A unit of work is one entry, and a savepoint rolled back inside it (a nested unit that
    // fails) leaves its statements out.
    store
        .transaction(|s| {
            s.set_event(
                USER,
                "b@example.com",
                None,
                "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
            )?;
            let nested = s.transaction(|s| {
                s.queue_request(USER, "dropped@example.com", None, None)?;
                Err::<(), _>(StoreError::invalid("given up"))
            });
            assert!(nested.is_err());
            s.queue_request(USER, "b@example.com", None, None)?;
            Ok(())
        })
        .unwrap();
    let entries = store.connection().take_committed();
    assert_eq!(entries.len(), 1);
    let recorded = calstore_wasm::wal::decode(&entries[0]).unwrap().statements;
    assert!(!format!("{recorded:?}").contains("dropped@example.com"));
    assert!(format!("{recorded:?}").contains("b@example.com"));
    assert_eq!(store.connection().recorder_stats().entries, 5);
}

/// The log replayed on an empty database gives the same database, and replay does not
/// record again.
pub fn replay_rebuilds_the_database(mut c: SqlJsConnection) {
    c.start_recording();
    let mut store = Store::open(c, Box::new(FixedClock::new(now()))).unwrap();
    let opts = RecordOptions::new(now());
    for (i, uid) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let day = 10 + u32::try_from(i).unwrap();
        store
            .import_ics(USER, ics(uid, day).as_bytes(), &opts, &mut |_, _| {})
            .unwrap();
    }
    store.cancel_event(USER, "b@example.com", None).unwrap();
    store
        .queue_request(USER, "c@example.com", None, Some("COUNTER"))
        .unwrap();
    store.journal().set_limit("cars", "*", "PT10H").unwrap();
    let mut live = store.into_inner();
    let log = live.take_committed();
    assert_eq!(log.len(), 7, "schema, 3 imports, cancel, queue, limit");
    let mut fresh = SqlJsConnection::from_js(database_now()).unwrap();
    fresh.start_recording();
    for entry in &log {
        fresh.replay(entry).unwrap();
    }
    assert_eq!(fresh.pending_committed(), 0, "replay is not recorded");
    assert_eq!(dump(&mut live), dump(&mut fresh));
    // Replaying on top of the rebuilt state fails (the schema exists) and changes nothing.
    let before = dump(&mut fresh);
    let err = fresh.replay(&log[0]).unwrap_err();
    assert!(err.message().contains("replaying"), "{err}");
    assert_eq!(dump(&mut fresh), before);
}

/// An entry applies whole or not at all.
pub fn replay_is_atomic(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .unwrap();
    let mut entry = EntryBuilder::default();
    entry.statement("INSERT INTO t (x) VALUES ($1)", &[1.into()]);
    entry.statement("INSERT INTO t (x) VALUES ($1)", &[2.into()]);
    entry.statement("INSERT INTO t (x) VALUES ($1)", &[1.into()]);
    let err = c.replay(&entry.finish()).unwrap_err();
    assert_eq!(err.kind(), &DbErrorKind::UniqueViolation);
    assert!(c.query("SELECT x FROM t", &[]).unwrap().is_empty());
    // A damaged entry is refused before anything runs.
    let mut good = EntryBuilder::default();
    good.statement("INSERT INTO t (x) VALUES ($1)", &[5.into()]);
    let mut bytes = good.finish();
    bytes.truncate(bytes.len() - 1);
    assert!(c.replay(&bytes).unwrap_err().message().contains("corrupt"));
    // The connection is usable afterwards.
    c.execute("INSERT INTO t (x) VALUES ($1)", &[3.into()])
        .unwrap();
    assert_eq!(c.query("SELECT x FROM t", &[]).unwrap().len(), 1);
}

/// `export` gives an image that reopens to the same database, keeps the statement cache
/// usable and foreign keys on, and is refused inside a transaction.
pub fn export_restores_and_keeps_pragmas(mut c: SqlJsConnection) {
    c.start_recording();
    let mut store = Store::open(c, Box::new(FixedClock::new(now()))).unwrap();
    let opts = RecordOptions::new(now());
    store
        .import_ics(
            USER,
            ics("a@example.com", 10).as_bytes(),
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
    let cached = store.connection().cached_statements();
    assert!(cached > 0);
    let image = store.connection().export().unwrap();
    assert!(image.length() > 4096);
    let fk = store
        .connection()
        .query("PRAGMA foreign_keys", &[])
        .unwrap();
    assert_eq!(fk[0].get::<i64>(0).unwrap(), 1);
    // Cached statements still work after the export.
    store
        .import_ics(
            USER,
            ics("b@example.com", 12).as_bytes(),
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
    let mut live = store.into_inner();
    let after_export = live.take_committed().split_off(2);
    assert_eq!(after_export.len(), 1);
    // Restore: the image plus the entries committed after it.
    let restored = super::database_from(&image);
    let mut restored = SqlJsConnection::from_js(restored).unwrap();
    for e in &after_export {
        restored.replay(e).unwrap();
    }
    assert_eq!(
        restored.query("PRAGMA foreign_keys", &[]).unwrap()[0]
            .get::<i64>(0)
            .unwrap(),
        1
    );
    assert_eq!(dump(&mut live), dump(&mut restored));
    // Not inside a transaction.
    live.begin(TxKind::Write).unwrap();
    assert_eq!(live.export().unwrap_err().kind(), &DbErrorKind::Busy);
    live.rollback().unwrap();
    assert!(live.export().is_ok());
}

/// Fault injection (`calstore_tests::atomicity`): every statement of representative writes
/// fails in turn on a recording connection, the failed transactions are rolled back, and at
/// every drop the log still replays to the exact database.
pub fn failed_writes_leave_no_entries(_c: SqlJsConnection) {
    let make = || -> DynConnection {
        Box::new(ReplayChecked::new(
            SqlJsConnection::from_js(database_now()).unwrap(),
        ))
    };
    let tables = {
        let mut probe = SqlJsConnection::from_js(database_now()).unwrap();
        let (mut s, _) = calstore_tests::support::open(&mut probe);
        sqlite_tables(s.connection()).unwrap()
    };
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    for name in [
        "import_recurring",
        "cancel_event1",
        "reserve",
        "expire_offers",
    ] {
        let op = atomic_op(name);
        let n = check_atomic(&make, &tables, &op, FailMode::Once, false);
        assert!(n > 0);
        assert_eq!(
            check_atomic(&make, &tables, &op, FailMode::Once, true),
            n + 2
        );
    }
}

/// A statement run outside a transaction is an entry of its own and replays the same way,
/// not inside BEGIN/COMMIT (VACUUM refuses to run in a transaction).
pub fn autocommit_entries_replay_unwrapped(mut c: SqlJsConnection) {
    c.start_recording();
    c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    c.execute("INSERT INTO t (x) VALUES ($1)", &[7.into()])
        .unwrap();
    c.execute_batch("VACUUM").unwrap();
    let log = c.take_committed();
    assert_eq!(log.len(), 3);
    let mut fresh = SqlJsConnection::from_js(database_now()).unwrap();
    for entry in &log {
        fresh.replay(entry).unwrap();
    }
    assert_eq!(dump(&mut c), dump(&mut fresh));
}
