//! The sql.js adapter's own cases, beyond the conformance suite: value conversion at the JS
//! boundary, error classification, statement lifetime, and a store smoke test.

use calstore_core::{
    DbErrorKind, FixedClock, RecordOptions, SqlConnection, SqlConnectionExt, Store, Value,
    in_transaction,
};
use calstore_wasm::SqlJsConnection;
use chrono::{TimeZone, Utc};

fn kind<T: std::fmt::Debug>(r: Result<T, calstore_core::DbError>) -> DbErrorKind {
    r.expect_err("expected an error").kind().clone()
}

/// Integers survive the JS boundary exactly: small ones as numbers, large ones as BigInt
/// (bound as text, converted back by INTEGER affinity), through insert, select and `WHERE =`.
pub fn i64_extremes_roundtrip(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        .unwrap();
    let values = [
        0,
        -1,
        1,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::from(i32::MAX) + 1,
        i64::from(i32::MIN) - 1,
        (1 << 53) + 1,
        -(1 << 53) - 1,
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        i64::MAX - 1,
    ];
    for (id, v) in values.iter().enumerate() {
        let id = i64::try_from(id).unwrap();
        assert_eq!(
            c.execute(
                "INSERT INTO t (id, v) VALUES ($1, $2)",
                &[id.into(), (*v).into()]
            )
            .unwrap(),
            1
        );
    }
    let rows = c
        .query("SELECT v, typeof(v) FROM t ORDER BY id", &[])
        .unwrap();
    let back: Vec<i64> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(back, values);
    for r in &rows {
        assert_eq!(r.get::<String>(1).unwrap(), "integer");
    }
    for v in values {
        let hits = c
            .query("SELECT v FROM t WHERE v = $1", &[v.into()])
            .unwrap();
        assert_eq!(hits.len(), 1, "WHERE v = {v}");
        assert_eq!(hits[0].get::<i64>(0).unwrap(), v);
    }
    // A large integer as a primary key (rowid) and in arithmetic.
    c.execute("INSERT INTO t (id, v) VALUES ($1, 0)", &[i64::MAX.into()])
        .unwrap();
    let row = c
        .query_opt("SELECT id, id - 1 FROM t WHERE id = $1", &[i64::MAX.into()])
        .unwrap()
        .unwrap();
    assert_eq!(
        row.values(),
        [Value::Integer(i64::MAX), Value::Integer(i64::MAX - 1)]
    );
}

/// Text (unicode, quotes, NUL, `$1` inside the text), blobs, reals and NULL round-trip.
pub fn values_roundtrip(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE v (t TEXT, b BLOB, r REAL, n INTEGER)")
        .unwrap();
    let text = "héllo 'quoted' \u{1F4C5} $1 ?1 \0 end";
    let blob: Vec<u8> = (0..=255).collect();
    let rows = [
        vec![
            Value::from(text),
            Value::Blob(blob.clone()),
            Value::Real(1.5),
            Value::Null,
        ],
        vec![
            Value::from(""),
            Value::Blob(vec![]),
            Value::Real(-0.25e300),
            Value::Integer(7),
        ],
        vec![Value::Null, Value::Null, Value::Real(2.0), Value::Null],
    ];
    for r in &rows {
        c.execute("INSERT INTO v VALUES ($1, $2, $3, $4)", r)
            .unwrap();
    }
    let back = c
        .query("SELECT t, b, r, n FROM v ORDER BY rowid", &[])
        .unwrap();
    let back: Vec<Vec<Value>> = back.iter().map(|r| r.values().to_vec()).collect();
    assert_eq!(back, rows);
    // Blob equality in WHERE uses the bound Uint8Array as a BLOB.
    let hit = c
        .query("SELECT count(*) FROM v WHERE b = $1", &[Value::Blob(blob)])
        .unwrap();
    assert_eq!(hit[0].get::<i64>(0).unwrap(), 1);
    // A placeholder repeated binds one value.
    let row = c
        .query_opt(
            "SELECT $1 || $1, $2",
            &[Value::from("ab"), Value::Integer(3)],
        )
        .unwrap()
        .unwrap();
    assert_eq!(row.values(), [Value::from("abab"), Value::Integer(3)]);
}

/// Constraint failures come back with the same kinds as the native adapter's.
pub fn errors_are_classified(mut c: SqlJsConnection) {
    c.execute_batch(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n > 0));
         CREATE TABLE ch (p INTEGER NOT NULL REFERENCES p (id));",
    )
    .unwrap();
    c.execute("INSERT INTO p VALUES (1, 'a', 1)", &[]).unwrap();
    let ins = "INSERT INTO p VALUES ($1, $2, $3)";
    assert_eq!(
        kind(c.execute(ins, &[2.into(), "a".into(), 1.into()])),
        DbErrorKind::UniqueViolation
    );
    assert_eq!(
        kind(c.execute(ins, &[1.into(), "b".into(), 1.into()])),
        DbErrorKind::UniqueViolation
    );
    assert_eq!(
        kind(c.execute(ins, &[2.into(), Value::Null, 1.into()])),
        DbErrorKind::NotNullViolation
    );
    assert_eq!(
        kind(c.execute(ins, &[2.into(), "b".into(), 0.into()])),
        DbErrorKind::CheckViolation
    );
    // Foreign keys are on, as natively.
    assert_eq!(
        kind(c.execute("INSERT INTO ch VALUES ($1)", &[9.into()])),
        DbErrorKind::ForeignKeyViolation
    );
    // Errors during query (RETURNING) and batches too.
    assert_eq!(
        kind(c.query("INSERT INTO p VALUES (3, 'a', 1) RETURNING id", &[])),
        DbErrorKind::UniqueViolation
    );
    assert_eq!(
        kind(c.execute_batch("INSERT INTO p VALUES (1, 'z', 1)")),
        DbErrorKind::UniqueViolation
    );
    let e = c.query("SELECT * FROM no_such_table", &[]).unwrap_err();
    assert_eq!(e.kind(), &DbErrorKind::Other);
    assert!(e.message().contains("no such table"), "{}", e.message());
    // Nothing was written by the failures; the connection still works.
    let n = c.query_opt("SELECT count(*) FROM p", &[]).unwrap().unwrap();
    assert_eq!(n.get::<i64>(0).unwrap(), 1);
}

/// sql.js throws bare strings for some misuse; they become errors with the string as message.
pub fn bare_string_throws_are_errors(mut c: SqlJsConnection) {
    let e = c.execute("  -- only a comment", &[]).unwrap_err();
    assert_eq!(e.kind(), &DbErrorKind::Other);
    assert_eq!(e.message(), "Nothing to prepare");
    let e = c.query("", &[]).unwrap_err();
    assert_eq!(e.message(), "Nothing to prepare");
    // Too many parameters: SQLite's range error, thrown as an Error.
    let e = c.query("SELECT $1", &[1.into(), 2.into()]).unwrap_err();
    assert_eq!(e.kind(), &DbErrorKind::Other);
}

/// Successful statements are cached and reused; failed ones are freed, and a cached statement
/// that fails later is dropped from the cache.
pub fn statements_are_cached_and_freed(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .unwrap();
    assert_eq!(c.cached_statements(), 0);
    let ins = "INSERT INTO t (x) VALUES ($1)";
    c.execute(ins, &[1.into()]).unwrap();
    c.execute(ins, &[2.into()]).unwrap();
    assert_eq!(c.cached_statements(), 1);
    c.query("SELECT x FROM t WHERE x > $1", &[0.into()])
        .unwrap();
    assert_eq!(c.cached_statements(), 2);
    // The cached INSERT fails: it is freed, not put back.
    assert!(c.execute(ins, &[1.into()]).is_err());
    assert_eq!(c.cached_statements(), 1);
    c.execute(ins, &[3.into()]).unwrap();
    assert_eq!(c.cached_statements(), 2);
    // A query stopped by a decode error... cannot happen with SQLite values; a statement
    // that never prepares is not cached.
    assert!(c.query("SELECT nope FROM t", &[]).is_err());
    assert_eq!(c.cached_statements(), 2);
    // Bindings do not leak between uses: a cached statement is reset and its bindings cleared.
    let rows = c
        .query("SELECT x FROM t WHERE x > $1", &[2.into()])
        .unwrap();
    assert_eq!(rows.len(), 1);
    // A schema change behind a cached statement is picked up (sqlite3_prepare_v2 re-prepares).
    c.execute_batch("ALTER TABLE t ADD COLUMN y TEXT DEFAULT 'd'")
        .unwrap();
    c.execute(ins, &[4.into()]).unwrap();
    let row = c
        .query_opt("SELECT y FROM t WHERE x = $1", &[4.into()])
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<String>(0).unwrap(), "d");
    c.clear_statement_cache();
    assert_eq!(c.cached_statements(), 0);
    c.execute(ins, &[5.into()]).unwrap();
    // Dropping the connection frees its statements; the Database stays usable from JS.
    let db = c.into_database();
    let mut again = SqlJsConnection::new(db).unwrap();
    let n = again
        .query_opt("SELECT count(*) FROM t", &[])
        .unwrap()
        .unwrap();
    assert_eq!(n.get::<i64>(0).unwrap(), 5);
}

/// `execute` returns the rows changed (sqlite3_changes) and runs statements that return rows
/// to completion.
pub fn execute_counts_and_drains(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    assert_eq!(
        c.execute("INSERT INTO t VALUES (1), (2), (3)", &[])
            .unwrap(),
        3
    );
    assert_eq!(
        c.execute("UPDATE t SET x = x + 10 WHERE x >= $1", &[2.into()])
            .unwrap(),
        2
    );
    assert_eq!(
        c.execute("DELETE FROM t WHERE x = $1", &[99.into()])
            .unwrap(),
        0
    );
    // RETURNING through execute: every row is stepped, so every row is changed.
    assert_eq!(
        c.execute("UPDATE t SET x = x + 1 RETURNING x", &[])
            .unwrap(),
        3
    );
    let rows = c
        .query("DELETE FROM t WHERE x > $1 RETURNING x", &[12.into()])
        .unwrap();
    let mut xs: Vec<i64> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    xs.sort_unstable();
    assert_eq!(xs, [13, 14]);
    assert_eq!(
        c.query("SELECT x FROM t WHERE x < 0", &[]).unwrap().len(),
        0
    );
}

/// `execute_batch` runs multi-statement scripts.
pub fn execute_batch_runs_scripts(mut c: SqlJsConnection) {
    c.execute_batch(
        "CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT);
         INSERT INTO a VALUES (1); INSERT INTO b VALUES ('$1 stays');",
    )
    .unwrap();
    let row = c.query_opt("SELECT x, y FROM a, b", &[]).unwrap().unwrap();
    assert_eq!(row.values(), [Value::Integer(1), Value::from("$1 stays")]);
    // A script that fails half-way has run its first statements (as sqlite3_exec does).
    assert!(
        c.execute_batch("INSERT INTO a VALUES (2); INSERT INTO nope VALUES (1);")
            .is_err()
    );
    let n = c.query_opt("SELECT count(*) FROM a", &[]).unwrap().unwrap();
    assert_eq!(n.get::<i64>(0).unwrap(), 2);
}

/// The core's transaction helper commits and rolls back over sql.js.
pub fn transactions_roll_back(mut c: SqlJsConnection) {
    c.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .unwrap();
    in_transaction(&mut c, |c| {
        c.execute("INSERT INTO t VALUES ($1)", &[1.into()])?;
        Ok(())
    })
    .unwrap();
    let err = in_transaction(&mut c, |c| {
        c.execute("INSERT INTO t VALUES ($1)", &[2.into()])?;
        c.execute("INSERT INTO t VALUES ($1)", &[1.into()])?;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.db_kind(), Some(&DbErrorKind::UniqueViolation));
    let rows = c.query("SELECT x FROM t", &[]).unwrap();
    assert_eq!(rows.len(), 1);
    // The connection is out of the failed transaction.
    c.execute_batch("BEGIN IMMEDIATE; COMMIT;").unwrap();
}

/// A store over sql.js: record an event, read the free/busy it produced, reopen.
pub fn store_records_event_and_reads_freebusy(c: SqlJsConnection) {
    let now = Utc.with_ymd_and_hms(2014, 10, 9, 0, 0, 0).unwrap();
    let mut store = Store::open(c, Box::new(FixedClock::new(now))).unwrap();
    let user = "mailto:resource-room-confroom@example.com";
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//wasm test//EN\r\n\
        BEGIN:VEVENT\r\nUID:event1@example.com\r\nDTSTAMP:20141009T000000Z\r\n\
        DTSTART:20141010T100000Z\r\nDTEND:20141010T110000Z\r\nSUMMARY:Meeting\r\n\
        ORGANIZER:mailto:paul.boddie@example.com\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED:mailto:resource-room-confroom@example.com\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";
    let report = store
        .import_ics(
            user,
            ics.as_bytes(),
            &RecordOptions::new(now),
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(report.parents, 1);
    assert_eq!(store.get_events(user).unwrap(), ["event1@example.com"]);
    let fb = store.get_freebusy(user).unwrap();
    assert_eq!(fb.len(), 1, "{fb:?}");
    assert_eq!(fb[0].uid.as_deref(), Some("event1@example.com"));
    assert_eq!(
        fb[0].start,
        Utc.with_ymd_and_hms(2014, 10, 10, 10, 0, 0).unwrap()
    );
    assert_eq!(
        fb[0].end,
        Utc.with_ymd_and_hms(2014, 10, 10, 11, 0, 0).unwrap()
    );
    // Reopening on the same Database migrates nothing and sees the same data.
    let db = store.into_inner().into_database();
    let mut again = Store::open(
        SqlJsConnection::new(db).unwrap(),
        Box::new(FixedClock::new(now)),
    )
    .unwrap();
    assert_eq!(again.get_freebusy(user).unwrap(), fb);
}
