//! Import and free/busy benchmark: calstore on SQLite against raw rusqlite doing the same
//! writes and queries, in the same process, reported as ratios.
//!
//! Run: `cargo bench -p calstore-tests --bench store` (`-- --quick` for 5 000 events only).
//!
//! Dataset (seeded, after `../shared/docs/calendar-correctness.md` §5): one resource with N
//! objects; start dates uniform over 730 days from 2026-01-01, hours 07–18 Europe/Berlin;
//! 85 % single 1-hour events (10 % of them TENTATIVE), 10 % weekly COUNT=10 with one EXDATE,
//! 5 % all-day TRANSPARENT. Everything is materialised (the window ends 2029-01-01).
//!
//! * **import**: `Store::import_events` on pre-parsed events (it expands recurrences, writes
//!   objects, periods, provider bookkeeping and the change journal) against raw rusqlite
//!   inserting the same object and period rows into the same schema, with the same indexes,
//!   in one transaction each. Both on a WAL file database with `synchronous=FULL`.
//! * **week**: `Store::get_freebusy_in` for 2026-06-15..22 against raw rusqlite running the
//!   same overlap statement, median of many runs; and against a naive two-sided range query
//!   on an index of (store_user, start), the usual shape.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use calstore_core::ical;
use calstore_core::ical::datetime::format_utc;
use calstore_core::{FixedClock, Store};
use calstore_native::SqliteConnection;
use chrono::{TimeDelta, TimeZone, Utc};
use common::{ObjectRows, RUNS, USER, dataset, median, now, options, rows};

fn fresh_db(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    // Create the schema through calstore so both sides have identical tables and indexes.
    let conn = SqliteConnection::open(&path).unwrap();
    drop(Store::open(conn, Box::new(FixedClock::new(now()))).unwrap());
    path
}

fn raw_import(conn: &mut rusqlite::Connection, rows: &[ObjectRows], journal: bool) {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    {
        let mut obj = tx
            .prepare(
                "INSERT INTO objects (store_user, object_uid, object_text, status) \
                 VALUES (?1, ?2, ?3, 'active')",
            )
            .unwrap();
        let mut fb = tx
            .prepare(
                "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, transp, \
                 object_recurrenceid, summary, organiser, span) \
                 VALUES (?1, ?2, ?3, ?4, 'OPAQUE', NULL, ?5, NULL, ?6) ON CONFLICT DO NOTHING",
            )
            .unwrap();
        for (uid, text, periods) in rows {
            obj.execute(rusqlite::params![USER, uid, text]).unwrap();
            for (s, e, span, summary) in periods {
                fb.execute(rusqlite::params![USER, s, e, uid, summary, span])
                    .unwrap();
            }
        }
        if journal {
            // The same change-journal rows calstore writes: a revision bump and one row per
            // object, keyed by the JSON array [uid, null].
            let revision: i64 = tx
                .query_row(
                    "INSERT INTO calstore_revisions (scope, owner, revision) VALUES ('store', ?1, 1) \
                     ON CONFLICT (scope, owner) DO UPDATE SET revision = revision + 1 \
                     RETURNING revision",
                    [USER],
                    |r| r.get(0),
                )
                .unwrap();
            let mut change = tx
                .prepare(
                    "INSERT INTO calstore_changes \
                     (scope, owner, table_name, row_key, revision, operation) \
                     VALUES ('store', ?1, 'objects', ?2, ?3, 'upsert') \
                     ON CONFLICT (scope, owner, table_name, row_key) \
                     DO UPDATE SET revision = excluded.revision, operation = excluded.operation",
                )
                .unwrap();
            for (uid, _, _) in rows {
                let key = format!("[{}]", [format!("{uid:?}"), "null".into()].join(","));
                change
                    .execute(rusqlite::params![USER, key, revision])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

fn raw_conn(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    // The same settings calstore's connections use, so only the work differs.
    conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    conn.execute_batch(calstore_native::sqlite::CONNECTION_PRAGMAS)
        .unwrap();
    conn
}

fn bench(n: usize, query_runs: usize) {
    let text = dataset(n);
    let events = ical::parse_events(text.as_bytes()).unwrap();
    let t = Instant::now();
    let rows = rows(&events);
    let expand_time = t.elapsed();
    let period_count: usize = rows.iter().map(|r| r.2.len()).sum();
    let dir = tempfile::tempdir().unwrap();

    // Raw rusqlite import of the data rows only.
    let data_only_time = median(
        (0..RUNS)
            .map(|run| {
                let path = fresh_db(&dir, &format!("raw-data-{run}.db"));
                let mut conn = raw_conn(&path);
                let t = Instant::now();
                raw_import(&mut conn, &rows, false);
                t.elapsed()
            })
            .collect(),
    );

    // Raw rusqlite import of the same rows calstore writes (data and change journal).
    let mut raw_times = Vec::new();
    let mut raw = None;
    for run in 0..RUNS {
        let path = fresh_db(&dir, &format!("raw-{run}.db"));
        let mut conn = raw_conn(&path);
        let t = Instant::now();
        raw_import(&mut conn, &rows, true);
        raw_times.push(t.elapsed());
        raw = Some(conn);
    }
    let raw_import_time = median(raw_times);
    let raw = raw.unwrap();

    // calstore import.
    let mut store_times = Vec::new();
    let mut last = None;
    for run in 0..RUNS {
        let path = fresh_db(&dir, &format!("store-{run}.db"));
        let mut store = Store::open(
            SqliteConnection::open(&path).unwrap(),
            Box::new(FixedClock::new(now())),
        )
        .unwrap();
        let t = Instant::now();
        let report = store
            .import_events(USER, &events, &options(), &mut |_, _| {})
            .unwrap();
        store_times.push(t.elapsed());
        last = Some((store, report));
    }
    let store_import_time = median(store_times);
    let (mut store, report) = last.unwrap();
    assert_eq!(
        report.periods, period_count,
        "both sides must write the same periods"
    );

    // Week query.
    let from = Utc
        .with_ymd_and_hms(2026, 6, 15, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let to = from + TimeDelta::days(7);
    let mut query_times = Vec::with_capacity(query_runs);
    let mut found = 0;
    for _ in 0..query_runs {
        let t = Instant::now();
        found = black_box(store.get_freebusy_in(USER, from, to).unwrap()).len();
        query_times.push(t.elapsed());
    }
    let overlap_sql = calstore_core::Dialect::Sqlite
        .render(&calstore_core::period::overlap_sql_for_benchmark())
        .into_owned();
    let mut params: Vec<String> = vec![USER.into(), format_utc(from), format_utc(to)];
    for limit in calstore_core::period::SPAN_LIMITS {
        params.push(format_utc(from - TimeDelta::seconds(limit)));
    }
    let mut raw_query_times = Vec::with_capacity(query_runs);
    let mut raw_found = 0;
    for _ in 0..query_runs {
        let t = Instant::now();
        let mut stmt = raw.prepare_cached(&overlap_sql).unwrap();
        // All seven columns, as calstore reads them.
        type Cols = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Cols> = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        raw_found = black_box(rows).len();
        raw_query_times.push(t.elapsed());
    }
    assert_eq!(found, raw_found, "both sides must find the same periods");
    // The usual shape: a two-sided range on (store_user, start) — scans every earlier row.
    raw.execute_batch("CREATE INDEX IF NOT EXISTS naive_start ON freebusy (store_user, \"start\")")
        .unwrap();
    let mut naive_times = Vec::with_capacity(query_runs);
    for _ in 0..query_runs {
        let t = Instant::now();
        let mut stmt = raw
            .prepare_cached(
                "SELECT \"start\", \"end\", object_uid FROM freebusy INDEXED BY naive_start \
                 WHERE store_user = ?1 AND \"start\" < ?3 AND \"end\" > ?2 ORDER BY \"start\"",
            )
            .unwrap();
        let n = stmt
            .query_map(
                rusqlite::params![USER, format_utc(from), format_utc(to)],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
            .count();
        black_box(n);
        naive_times.push(t.elapsed());
    }

    let per_sec = |d: Duration| n as f64 / d.as_secs_f64();
    let (ms, rs, nv) = (
        median(query_times),
        median(raw_query_times),
        median(naive_times),
    );
    println!("== {n} events ({period_count} periods, {found} in the week)");
    println!(
        "expansion alone (part of calstore's import, done ahead for the raw side): {expand_time:?}"
    );
    println!(
        "import: calstore {:>9.0} events/s ({:?}), raw rusqlite {:>9.0} events/s ({:?}); ratio {:.2}x",
        per_sec(store_import_time),
        store_import_time,
        per_sec(raw_import_time),
        raw_import_time,
        store_import_time.as_secs_f64() / raw_import_time.as_secs_f64()
    );
    println!(
        "        raw rusqlite, data rows only (no change journal): {:>9.0} events/s; ratio {:.2}x",
        per_sec(data_only_time),
        store_import_time.as_secs_f64() / data_only_time.as_secs_f64()
    );
    println!(
        "1-week free/busy (median of {query_runs}): calstore {:?}, raw same SQL {:?} (ratio {:.2}x), \
         raw naive range {:?}",
        ms,
        rs,
        ms.as_secs_f64() / rs.as_secs_f64(),
        nv
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // where a small smoke run keeps the harness itself tested.
    if !args.iter().any(|a| a == "--bench") {
        bench(200, 5);
        return;
    }
    bench(5_000, 200);
    if !args.iter().any(|a| a == "--quick") {
        bench(100_000, 200);
    }
}
