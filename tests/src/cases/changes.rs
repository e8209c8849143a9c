//! The change journal (revisions and tombstones), schema migration, and raw value
//! round trips through the backend.

use calstore_core::changes::{self, Change, Operation, Scope};
use calstore_core::schema;
use calstore_core::{DbErrorKind, Dialect, RecordOptions, SqlConnection, StoreError, Value};

use crate::failing::{FailMode, FailingConnection};
use crate::support::*;

const A1: &str = "a1@example.com";
const RID: &str = "20141011T100000Z";

fn text(uid: &str) -> String {
    format!("BEGIN:VEVENT\r\nUID:{uid}\r\nEND:VEVENT\r\n")
}

fn change(table: &str, key: &str, revision: i64, operation: Operation) -> Change {
    Change {
        table: table.to_owned(),
        key: key.to_owned(),
        revision,
        operation,
    }
}

/// Every write operation bumps the user's revision by exactly one, whatever number of rows
/// it touches, and records each changed key once with that revision.
pub fn revisions_monotonic_one_per_write<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert_eq!(s.revision(PAUL).unwrap(), 0);
    assert!(s.changes_since(PAUL, 0).unwrap().is_empty());
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 1);
    assert_eq!(
        s.changes_since(PAUL, 0).unwrap(),
        [change(
            "objects",
            r#"["a1@example.com",null]"#,
            1,
            Operation::Upsert
        )]
    );
    s.set_event(PAUL, A1, Some(RID), &text(A1)).unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 2);
    assert_eq!(
        s.changes_since(PAUL, 1).unwrap(),
        [change(
            "recurrences",
            r#"["a1@example.com","20141011T100000Z"]"#,
            2,
            Operation::Upsert
        )]
    );
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1)).unwrap();
    assert_eq!(
        s.changes_since(PAUL, 2).unwrap(),
        [change(
            "countered_objects",
            r#"["a1@example.com",null,"mailto:vincent.vole@example.com"]"#,
            3,
            Operation::Upsert
        )]
    );
    assert!(s.queue_request(PAUL, A1, None, None).unwrap());
    assert_eq!(
        s.changes_since(PAUL, 3).unwrap(),
        [change(
            "requests",
            r#"["a1@example.com",null]"#,
            4,
            Operation::Upsert
        )]
    );
    // Several rows, one revision.
    s.set_freebusy(
        PAUL,
        &[
            period("20141010T080000Z", "20141010T090000Z", Some("x")),
            period("20141011T080000Z", "20141011T090000Z", Some("x")),
            period("20141012T080000Z", "20141012T090000Z", Some("y")),
        ],
    )
    .unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 5);
    assert_eq!(
        s.changes_since(PAUL, 4).unwrap(),
        [
            change("freebusy", r#"["x"]"#, 5, Operation::Upsert),
            change("freebusy", r#"["y"]"#, 5, Operation::Upsert),
        ]
    );
    // An import of several events is one write.
    let ics = calendar_of(&[
        &[
            "UID:i1",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
        ],
        &[
            "UID:i2",
            "DTSTART:20141011T080000Z",
            "DTEND:20141011T090000Z",
        ],
    ]);
    s.import_ics(
        PAUL,
        ics.as_bytes(),
        &RecordOptions::new(t0()),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 6);
    let latest = s.changes_since(PAUL, 5).unwrap();
    assert!(latest.iter().all(|c| c.revision == 6), "{latest:?}");
    assert!(latest.contains(&change("objects", r#"["i1",null]"#, 6, Operation::Upsert)));
    assert!(latest.contains(&change("objects", r#"["i2",null]"#, 6, Operation::Upsert)));
    // The whole history is ordered by revision, one row per key.
    let all = s.changes_since(PAUL, 0).unwrap();
    assert!(all.windows(2).all(|w| w[0].revision <= w[1].revision));
    let mut keys: Vec<(&str, &str)> = all
        .iter()
        .map(|c| (c.table.as_str(), c.key.as_str()))
        .collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "one row per key");
    assert!(s.changes_since(PAUL, 6).unwrap().is_empty());
}

/// A removed key keeps a row with `Operation::Delete` (a tombstone) at the removing
/// revision; writing it again turns it back into an upsert.
pub fn tombstones_after_removal<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1)).unwrap();
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1)).unwrap();
    assert!(s.queue_request(PAUL, A1, None, None).unwrap());
    assert!(s.remove_event(PAUL, A1, None).unwrap());
    assert_eq!(
        s.changes_since(PAUL, 4).unwrap(),
        [
            change(
                "objects",
                r#"["a1@example.com",null]"#,
                5,
                Operation::Delete
            ),
            change(
                "recurrences",
                r#"["a1@example.com","20141011T100000Z"]"#,
                5,
                Operation::Delete
            ),
        ]
    );
    assert!(s.remove_counter(PAUL, VINCENT, A1, None).unwrap());
    assert!(s.dequeue_request(PAUL, A1, None).unwrap());
    let all = s.changes_since(PAUL, 0).unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all.iter().all(|c| c.operation == Operation::Delete),
        "{all:?}"
    );
    assert_eq!(count_rows(s.connection(), "calstore_changes"), 4);
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    assert_eq!(
        s.changes_since(PAUL, 7).unwrap(),
        [change(
            "objects",
            r#"["a1@example.com",null]"#,
            8,
            Operation::Upsert
        )]
    );
    // Cancelling is a change, not a removal; removing a cancellation is a removal.
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert_eq!(
        s.changes_since(PAUL, 8).unwrap()[0].operation,
        Operation::Upsert
    );
    assert!(s.remove_cancellation(PAUL, A1, None).unwrap());
    assert_eq!(
        s.changes_since(PAUL, 9).unwrap(),
        [change(
            "objects",
            r#"["a1@example.com",null]"#,
            10,
            Operation::Delete
        )]
    );
}

/// A write that fails inside its transaction — on bad data found half-way or on a database
/// error — leaves no change rows, no revision bump and no data.
pub fn failed_write_leaves_no_trace<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(FailingConnection::new(conn));
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    let before = s.changes_since(PAUL, 0).unwrap();
    // Found half-way: the object is written before its expansion exceeds the cap.
    let ics = calendar(&[
        "UID:big",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
        "RRULE:FREQ=DAILY;COUNT=3",
    ]);
    let opts = RecordOptions {
        max_instances: 2,
        ..RecordOptions::new(t0())
    };
    assert_invalid(s.record_event(PAUL, &event(&ics), &opts));
    assert_invalid(s.import_ics(PAUL, ics.as_bytes(), &opts, &mut |_, _| {}));
    assert_eq!(s.revision(PAUL).unwrap(), 1);
    assert_eq!(s.changes_since(PAUL, 0).unwrap(), before);
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    assert!(s.get_freebusy(PAUL).unwrap().is_empty());
    // A database error on the third statement of a write.
    s.connection().fail_at(3, FailMode::Once);
    let err = s
        .set_event(PAUL, "b@example.com", None, &text("b@example.com"))
        .unwrap_err();
    s.connection().disarm();
    assert_eq!(err.db_kind(), Some(&DbErrorKind::Injected), "{err:?}");
    assert!(matches!(err, StoreError::Db(_)));
    assert_eq!(s.revision(PAUL).unwrap(), 1);
    assert_eq!(s.changes_since(PAUL, 0).unwrap(), before);
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    // The same for a new user: the user does not come into being.
    s.connection().fail_at(2, FailMode::Once);
    assert!(s.set_event(VINCENT, A1, None, &text(A1)).is_err());
    s.connection().disarm();
    assert_eq!(s.users().unwrap(), [PAUL]);
    assert_eq!(s.revision(VINCENT).unwrap(), 0);
    // And for the journal.
    s.connection().fail_at(2, FailMode::Once);
    assert!(
        s.journal()
            .set_limits("cars", &[("*".to_owned(), "PT1H".to_owned())].into())
            .is_err()
    );
    s.connection().disarm();
    assert_eq!(s.journal().revision("cars").unwrap(), 0);
    assert!(s.journal().get_limits("cars").unwrap().is_empty());
    assert!(s.connection().injected() >= 3);
    // The connection is still usable afterwards.
    s.set_event(PAUL, "b@example.com", None, &text("b@example.com"))
        .unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 2);
}

/// Revisions are counted per store user and per journal quota separately, even when a
/// quota has the same name as a user.
pub fn revisions_independent_per_user_and_scope<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    s.set_event(PAUL, "b", None, &text("b")).unwrap();
    s.set_event(VINCENT, A1, None, &text(A1)).unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 2);
    assert_eq!(s.revision(VINCENT).unwrap(), 1);
    s.journal()
        .set_limits(RESOURCE, &[("*".to_owned(), "PT1H".to_owned())].into())
        .unwrap();
    assert_eq!(s.journal().revision(RESOURCE).unwrap(), 1);
    assert_eq!(s.revision(RESOURCE).unwrap(), 0);
    s.set_freebusy(
        RESOURCE,
        &[period("20141010T080000Z", "20141010T090000Z", Some("x"))],
    )
    .unwrap();
    s.set_freebusy(RESOURCE, &[]).unwrap();
    assert_eq!(s.revision(RESOURCE).unwrap(), 2);
    assert_eq!(s.journal().revision(RESOURCE).unwrap(), 1);
    let store_changes = s.changes_since(RESOURCE, 0).unwrap();
    assert!(
        store_changes.iter().all(|c| c.table == "freebusy"),
        "{store_changes:?}"
    );
    assert_eq!(
        s.journal().changes_since(RESOURCE, 0).unwrap(),
        [change("quota_limits", "[]", 1, Operation::Upsert)]
    );
    // The free functions agree with the methods.
    assert_eq!(
        changes::current_revision(s.connection(), Scope::Journal, RESOURCE).unwrap(),
        1
    );
    assert_eq!(
        changes::current_revision(s.connection(), Scope::Store, RESOURCE).unwrap(),
        2
    );
    assert_eq!(
        changes::changes_since(s.connection(), Scope::Journal, RESOURCE, 0).unwrap(),
        [change("quota_limits", "[]", 1, Operation::Upsert)]
    );
    assert_eq!(Scope::Store.as_str(), "store");
    assert_eq!(Scope::Journal.as_str(), "journal");
    assert_eq!(s.users().unwrap(), [PAUL, RESOURCE, VINCENT]);
    assert_eq!(s.journal().quotas().unwrap(), [RESOURCE]);
}

/// `schema::migrate` creates the schema once; running it again (or reopening the store)
/// changes nothing and keeps the data; a newer schema than known is refused.
pub fn schema_migrate_idempotent<C: SqlConnection>(mut conn: C) {
    assert_eq!(schema::version(&mut conn).unwrap(), 0);
    assert_eq!(schema::migrate(&mut conn).unwrap(), 0);
    assert_eq!(schema::version(&mut conn).unwrap(), schema::CURRENT_VERSION);
    assert_eq!(schema::migrate(&mut conn).unwrap(), schema::CURRENT_VERSION);
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1)).unwrap();
    let before = crate::failing::snapshot(s.connection(), &schema_tables()).unwrap();
    assert_eq!(
        schema::migrate(s.connection()).unwrap(),
        schema::CURRENT_VERSION
    );
    let (mut s, _) = open(s.into_inner());
    let after = crate::failing::snapshot(s.connection(), &schema_tables()).unwrap();
    assert_eq!(
        before, after,
        "migrating again, or reopening, changed the database"
    );
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    for table in schema_tables() {
        assert_table_exists(s.connection(), table);
    }
    s.connection()
        .execute(
            "UPDATE calstore_schema SET value = '999' WHERE name = 'component:store'",
            &[],
        )
        .unwrap();
    let clock = Box::new(calstore_core::FixedClock::new(t0()));
    match calstore_core::Store::open(s.into_inner(), clock) {
        Err(StoreError::SchemaTooNew { found: 999, known }) => {
            assert_eq!(known, schema::CURRENT_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {:?}", other.map(|_| ())),
    }
}

/// A calendar-only open (`Store::open`) creates no table of the server's accounts component
/// and records no version for it: a browser database never gets it unless asked. Asking
/// (`migrate_components(&[&ACCOUNTS])`) creates its disk tables (the memory tables come with
/// the storage backend at open).
pub fn calendar_open_creates_no_account_table<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let c = s.connection();
    for t in schema::ACCOUNT_TABLES {
        let sql = format!("SELECT count(*) FROM {}", t.name);
        assert!(c.query(&sql, &[]).is_err(), "{} exists", t.name);
    }
    assert_eq!(schema::component_version(c, &schema::ACCOUNTS).unwrap(), 0);
    schema::migrate_components(c, &[&schema::ACCOUNTS]).unwrap();
    assert_eq!(
        schema::component_version(c, &schema::ACCOUNTS).unwrap(),
        schema::ACCOUNTS.current_version()
    );
    for t in calstore_core::accounts::schema::TABLES
        .iter()
        .filter(|t| !t.storage.is_memory())
    {
        assert_table_exists(c, t.name);
    }
}

fn int_type(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "BIGINT",
        _ => "INTEGER",
    }
}

/// 64-bit integers survive insert, select and `WHERE =` exactly: 0, −1, 2^31, 2^53+1 (not
/// representable as a double), `i64::MIN`, `i64::MAX`.
pub fn i64_extremes_roundtrip<C: SqlConnection>(mut conn: C) {
    let int = int_type(conn.dialect());
    conn.execute_batch(&format!(
        "CREATE TEMPORARY TABLE calstore_i64 (id {int} NOT NULL, v {int} NOT NULL)"
    ))
    .unwrap();
    let values: [i64; 10] = [
        0,
        -1,
        1 << 31,
        (1 << 31) - 1,
        -(1 << 31) - 1,
        1 << 32,
        (1 << 53) + 1,
        -(1 << 53) - 1,
        i64::MIN,
        i64::MAX,
    ];
    for (id, v) in (0i64..).zip(values) {
        let n = conn
            .execute(
                "INSERT INTO calstore_i64 (id, v) VALUES ($1, $2)",
                &[Value::Integer(id), Value::Integer(v)],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    for (id, v) in (0i64..).zip(values) {
        let rows = conn
            .query(
                "SELECT v FROM calstore_i64 WHERE id = $1",
                &[Value::Integer(id)],
            )
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values(), [Value::Integer(v)], "select of {v}");
        assert_eq!(rows[0].get::<i64>(0).unwrap(), v);
        let rows = conn
            .query(
                "SELECT id FROM calstore_i64 WHERE v = $1",
                &[Value::Integer(v)],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "WHERE v = {v}");
        assert_eq!(rows[0].get::<i64>(0).unwrap(), id);
    }
    // 2^53 + 1 must not match its neighbour 2^53 (it would if it went through a double).
    let rows = conn
        .query(
            "SELECT id FROM calstore_i64 WHERE v = $1",
            &[Value::Integer(1 << 53)],
        )
        .unwrap();
    assert!(rows.is_empty());
    let rows = conn
        .query("SELECT v FROM calstore_i64 ORDER BY v", &[])
        .unwrap();
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let got: Vec<i64> = rows.iter().map(|r| r.get::<i64>(0).unwrap()).collect();
    assert_eq!(got, sorted);
    // Checked narrowing: i64::MAX does not fit an i32.
    let rows = conn
        .query(
            "SELECT v FROM calstore_i64 WHERE v = $1",
            &[Value::Integer(i64::MAX)],
        )
        .unwrap();
    let err = rows[0].get::<i32>(0).unwrap_err();
    assert!(
        matches!(err.kind(), DbErrorKind::Decode { index: 0, .. }),
        "{err:?}"
    );
    conn.execute_batch("DROP TABLE calstore_i64").unwrap();
}

/// Text (any Unicode, long, with tabs and line breaks), bytes (all 256 values, NUL
/// included), NULL and floats round-trip exactly through a raw table; and Unicode users,
/// uids and object texts round-trip through the store.
pub fn blob_and_unicode_roundtrip<C: SqlConnection>(mut conn: C) {
    let (int, blob) = match conn.dialect() {
        Dialect::Postgres => ("BIGINT", "BYTEA"),
        _ => ("INTEGER", "BLOB"),
    };
    conn.execute_batch(&format!(
        "CREATE TEMPORARY TABLE calstore_values (id {int} NOT NULL, t TEXT, b {blob}, r DOUBLE PRECISION)"
    ))
    .unwrap();
    let texts = [
        String::new(),
        "plain".to_owned(),
        "Blåbærsyltetøy æøå ÆØÅ".to_owned(),
        "日本語のテキスト".to_owned(),
        "emoji 🗓️📅 and ZWJ 👩‍👩‍👧".to_owned(),
        "combining e\u{301} vs \u{e9}".to_owned(),
        "tab\there\r\nline\nbreaks".to_owned(),
        "quote ' and \" and \\ and $1 and ?1".to_owned(),
        "x".repeat(100_000) + "ø",
    ];
    let bytes: Vec<u8> = (0..=255u8).collect();
    for (id, t) in (0i64..).zip(&texts) {
        conn.execute(
            "INSERT INTO calstore_values (id, t, b, r) VALUES ($1, $2, $3, $4)",
            &[
                Value::Integer(id),
                Value::Text(t.clone()),
                Value::Blob(bytes.clone()),
                Value::Real(0.1 + 0.2),
            ],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO calstore_values (id, t, b, r) VALUES ($1, $2, $3, $4)",
        &[Value::Integer(-1), Value::Null, Value::Null, Value::Null],
    )
    .unwrap();
    for (id, t) in (0i64..).zip(&texts) {
        let rows = conn
            .query(
                "SELECT t, b, r FROM calstore_values WHERE id = $1",
                &[Value::Integer(id)],
            )
            .unwrap();
        assert_eq!(rows[0].get::<String>(0).unwrap(), *t);
        assert_eq!(rows[0].get::<Vec<u8>>(1).unwrap(), bytes);
        assert_eq!(
            rows[0].get::<f64>(2).unwrap().to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        let rows = conn
            .query(
                "SELECT id FROM calstore_values WHERE t = $1",
                &[Value::Text(t.clone())],
            )
            .unwrap();
        assert_eq!(
            rows.len(),
            1,
            "WHERE t = {:?}",
            t.chars().take(20).collect::<String>()
        );
    }
    let rows = conn
        .query(
            "SELECT t, b, r FROM calstore_values WHERE id = $1",
            &[Value::Integer(-1)],
        )
        .unwrap();
    assert_eq!(rows[0].values(), [Value::Null, Value::Null, Value::Null]);
    assert_eq!(rows[0].get::<Option<String>>(0).unwrap(), None);
    conn.execute_batch("DROP TABLE calstore_values").unwrap();
    // Through the store.
    let (mut s, _) = open(conn);
    let user = "mailto:ærlig.østby@例え.jp";
    let uid = "møte-🗓️-日本@example.com";
    let body = format!("BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Blåbær 🫐 会議\r\nEND:VEVENT\r\n");
    s.set_event(user, uid, None, &body).unwrap();
    s.set_counter(
        user,
        "mailto:ødegård@example.com",
        uid,
        Some("20141010T080000Z"),
        &body,
    )
    .unwrap();
    let mut p = period("20141010T080000Z", "20141010T090000Z", Some(uid));
    p.summary = Some("Blåbær 🫐 会議".into());
    p.organiser = Some("mailto:ødegård@example.com".into());
    s.set_freebusy(user, &[p.clone()]).unwrap();
    assert_eq!(s.users().unwrap(), [user]);
    assert_eq!(s.get_events(user).unwrap(), [uid]);
    assert_eq!(s.get_complete_event(user, uid).unwrap(), Some(body.clone()));
    assert_eq!(
        s.get_counters(user, uid, Some("20141010T080000Z")).unwrap(),
        ["mailto:ødegård@example.com"]
    );
    assert_eq!(s.get_freebusy(user).unwrap(), [p]);
}

/// SQLite backends (native and sql.js) run SQLite 3.35 or newer (`RETURNING`). Other
/// dialects have nothing to check.
pub fn sqlite_version_is_modern<C: SqlConnection>(mut conn: C) {
    if conn.dialect() != Dialect::Sqlite {
        return;
    }
    let rows = conn.query("SELECT sqlite_version()", &[]).unwrap();
    let version: String = rows[0].get(0).unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        (parts[0], parts[1]) >= (3, 35),
        "SQLite {version} is older than 3.35"
    );
}
