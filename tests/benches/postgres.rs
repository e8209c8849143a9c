//! Import and free/busy benchmark on PostgreSQL: calstore over `PgConnection` against the raw
//! `postgres` crate doing the same writes and queries, in the same process, reported as
//! ratios. The same dataset and measurements as `store.rs` (SQLite).
//!
//! Run: `cargo bench -p calstore-tests --features postgres --bench postgres` (`-- --quick` for
//! 5 000 events only), with `CALSTORE_BENCH_PG_URL` (or else `CALSTORE_TEST_PG_URL`) naming a
//! database the benchmark may create schemas in; without either it fails. Every run works in
//! schemas of its own (`bench_<pid>_…`), dropped afterwards.
//!
//! * **import**: `Store::import_events` on pre-parsed events (expansion, objects, periods,
//!   provider bookkeeping, change journal; multi-row statements) against the raw client
//!   writing the same rows the idiomatic way, in one transaction: statements prepared once,
//!   executed row by row — the revision bump first (as every calstore write does), then the
//!   objects, their periods and one change-journal row per object. Also against the raw
//!   client writing the data rows only. Each on a fresh schema created by calstore (same
//!   tables and indexes); [`common::RUNS`] rounds of the three, the median of each.
//! * **week**: `Store::get_freebusy_in` for 2026-06-15..22 against the raw client running the
//!   same overlap statement (prepared, all seven columns read), on the same schema, after
//!   `ANALYZE` (what autovacuum does after a bulk load; done here so the plan does not depend
//!   on its timing); median of many runs. And a naive two-sided range query on an index of
//!   (store_user, start), the usual shape, planned as PostgreSQL likes.
//! * **pieces** (`-- --pieces`, alone): `Store::import_events_in_pieces` of open-ended weekly
//!   events into a new schema against `Store::import_events`, with the mean piece at the
//!   start and at the end (a piece planned as a scan of the user's rows grows with them);
//!   `CALSTORE_BENCH_PIECE_TIMES=1` prints every piece's time.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use calstore_core::ical::datetime::format_utc;
use calstore_core::{FixedClock, IMPORT_PIECE, SqlConnection, Store, ical};
use calstore_native::PgConnection;
use chrono::{TimeDelta, TimeZone, Utc};
use common::{ObjectRows, RUNS, USER, dataset, median, now, options, rows};
use postgres::{Client, NoTls};

/// The server to run on: the first of these that is set.
const URL_VARS: [&str; 2] = ["CALSTORE_BENCH_PG_URL", "CALSTORE_TEST_PG_URL"];

fn url() -> String {
    for var in URL_VARS {
        if let Ok(url) = std::env::var(var)
            && !url.trim().is_empty()
        {
            return url;
        }
    }
    panic!(
        "neither CALSTORE_BENCH_PG_URL nor CALSTORE_TEST_PG_URL is set: the PostgreSQL \
         benchmark needs a server (`export \"$(scripts/pg-test-cluster.sh start \
         /tmp/calstore-pg)\"`), or run the SQLite benchmark only (--bench store)"
    );
}

/// A schema of its own, created with calstore's tables and dropped when this is dropped.
struct Schema {
    admin: Client,
    name: String,
}

impl Schema {
    fn new(url: &str, tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "bench_{}_{tag}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(url, NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        // Created through calstore so both sides have identical tables and indexes.
        drop(Store::open(calstore_conn(url, &name), Box::new(FixedClock::new(now()))).unwrap());
        Schema { admin, name }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(e) = self.admin.batch_execute(&sql) {
            eprintln!("warning: could not drop schema {}: {e}", self.name);
        }
    }
}

fn calstore_conn(url: &str, schema: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url).unwrap();
    conn.set_search_path(schema).unwrap();
    conn
}

fn raw_client(url: &str, schema: &str) -> Client {
    let mut client = Client::connect(url, NoTls).unwrap();
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .unwrap();
    client
}

/// The raw baseline: the same rows calstore writes, statement by statement, in one
/// transaction.
fn raw_import(client: &mut Client, rows: &[ObjectRows], journal: bool) {
    let mut tx = client.transaction().unwrap();
    let revision: i64 = if journal {
        tx.query_one(
            "INSERT INTO calstore_revisions (scope, owner, revision) VALUES ('store', $1, 1) \
             ON CONFLICT (scope, owner) DO UPDATE SET revision = calstore_revisions.revision + 1 \
             RETURNING revision",
            &[&USER],
        )
        .unwrap()
        .get(0)
    } else {
        0
    };
    let obj = tx
        .prepare(
            "INSERT INTO objects (store_user, object_uid, object_text, status) \
             VALUES ($1, $2, $3, 'active')",
        )
        .unwrap();
    let fb = tx
        .prepare(
            "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, transp, \
             object_recurrenceid, summary, organiser, span) \
             VALUES ($1, $2, $3, $4, 'OPAQUE', NULL, $5, NULL, $6) ON CONFLICT DO NOTHING",
        )
        .unwrap();
    for (uid, text, periods) in rows {
        tx.execute(&obj, &[&USER, uid, text]).unwrap();
        for (s, e, span, summary) in periods {
            tx.execute(&fb, &[&USER, s, e, uid, summary, span]).unwrap();
        }
    }
    if journal {
        // One row per object, keyed by the JSON array [uid, null], as calstore writes them.
        let change = tx
            .prepare(
                "INSERT INTO calstore_changes \
                 (scope, owner, table_name, row_key, revision, operation) \
                 VALUES ('store', $1, 'objects', $2, $3, 'upsert') \
                 ON CONFLICT (scope, owner, table_name, row_key) \
                 DO UPDATE SET revision = excluded.revision, operation = excluded.operation",
            )
            .unwrap();
        for (uid, _, _) in rows {
            let key = format!("[{}]", [format!("{uid:?}"), "null".into()].join(","));
            tx.execute(&change, &[&USER, &key, &revision]).unwrap();
        }
    }
    tx.commit().unwrap();
}

fn bench(url: &str, n: usize, query_runs: usize) {
    let text = dataset(n);
    let events = ical::parse_events(text.as_bytes()).unwrap();
    let rows = rows(&events);
    let period_count: usize = rows.iter().map(|r| r.2.len()).sum();

    // Rounds of the three imports, each on a fresh schema, so that whatever the server warms
    // up (WAL segments, caches) in the first round does not favour one side; the median of
    // each. The last calstore store is kept for the queries.
    let (mut data_only_times, mut raw_times, mut store_times) = (vec![], vec![], vec![]);
    let mut last = None;
    for _ in 0..RUNS {
        for (journal, times) in [(false, &mut data_only_times), (true, &mut raw_times)] {
            let schema = Schema::new(url, "raw");
            let mut client = raw_client(url, &schema.name);
            let t = Instant::now();
            raw_import(&mut client, &rows, journal);
            times.push(t.elapsed());
        }
        let schema = Schema::new(url, "store");
        let mut store = Store::open(
            calstore_conn(url, &schema.name),
            Box::new(FixedClock::new(now())),
        )
        .unwrap();
        let t = Instant::now();
        let report = store
            .import_events(USER, &events, &options(), &mut |_, _| {})
            .unwrap();
        store_times.push(t.elapsed());
        assert_eq!(
            report.periods, period_count,
            "both sides must write the same periods"
        );
        // The store is dropped before its schema.
        last = Some((store, schema));
    }
    let data_only_time = median(data_only_times);
    let raw_import_time = median(raw_times);
    let store_import_time = median(store_times);
    let (mut store, schema) = last.unwrap();
    store.connection().execute_batch("ANALYZE").unwrap();
    let mut raw = raw_client(url, &schema.name);

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
    let overlap = raw
        .prepare(&calstore_core::period::overlap_sql_for_benchmark())
        .unwrap();
    let mut params: Vec<String> = vec![USER.into(), format_utc(from), format_utc(to)];
    for limit in calstore_core::period::SPAN_LIMITS {
        params.push(format_utc(from - TimeDelta::seconds(limit)));
    }
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect();
    let mut raw_query_times = Vec::with_capacity(query_runs);
    let mut raw_found = 0;
    for _ in 0..query_runs {
        let t = Instant::now();
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
        let rows: Vec<Cols> = raw
            .query(&overlap, &refs)
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            })
            .collect();
        raw_found = black_box(rows).len();
        raw_query_times.push(t.elapsed());
    }
    assert_eq!(found, raw_found, "both sides must find the same periods");
    // The usual shape: a two-sided range on (store_user, start).
    raw.batch_execute(
        "CREATE INDEX IF NOT EXISTS naive_start ON freebusy (store_user, \"start\"); ANALYZE freebusy",
    )
    .unwrap();
    let naive = raw
        .prepare(
            "SELECT \"start\", \"end\", object_uid FROM freebusy \
             WHERE store_user = $1 AND \"start\" < $3 AND \"end\" > $2 ORDER BY \"start\"",
        )
        .unwrap();
    let (f, t) = (format_utc(from), format_utc(to));
    let mut naive_times = Vec::with_capacity(query_runs);
    for _ in 0..query_runs {
        let start = Instant::now();
        let n = raw.query(&naive, &[&USER, &f, &t]).unwrap().len();
        black_box(n);
        naive_times.push(start.elapsed());
    }
    drop(raw);
    drop(store);
    drop(schema);

    #[allow(clippy::cast_precision_loss)]
    let per_sec = |d: Duration| n as f64 / d.as_secs_f64();
    let (ms, rs, nv) = (
        median(query_times),
        median(raw_query_times),
        median(naive_times),
    );
    println!("== PostgreSQL, {n} events ({period_count} periods, {found} in the week)");
    println!(
        "import: calstore {:>9.0} events/s ({:?}), raw postgres {:>9.0} events/s ({:?}); ratio {:.2}x",
        per_sec(store_import_time),
        store_import_time,
        per_sec(raw_import_time),
        raw_import_time,
        store_import_time.as_secs_f64() / raw_import_time.as_secs_f64()
    );
    println!(
        "        raw postgres, data rows only (no change journal): {:>9.0} events/s; ratio {:.2}x",
        per_sec(data_only_time),
        store_import_time.as_secs_f64() / data_only_time.as_secs_f64()
    );
    println!(
        "1-week free/busy (median of {query_runs}): calstore {ms:?}, raw same SQL {rs:?} \
         (ratio {:.2}x), raw naive range {nv:?}",
        ms.as_secs_f64() / rs.as_secs_f64(),
    );
}

/// `n` open-ended weekly events (many periods each, as in `daily_job.rs`).
fn weekly_calendar(n: usize) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    let base = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single().unwrap();
    for i in 0..n {
        let start = base + TimeDelta::minutes(i64::try_from(i % (7 * 24 * 4)).unwrap() * 15);
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:w{i}@example.com\r\nDTSTAMP:20251101T000000Z\r\n\
             DTSTART:{}\r\nDURATION:PT15M\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Event {i}\r\n\
             END:VEVENT\r\n",
            format_utc(start)
        ));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// An import in bounded pieces into a new schema (tables never analysed, as in a new
/// database), against the one-transaction import: whether the pieces' reads and deletes of a
/// piece's UIDs are planned as scans of all the user's rows (each piece then slower than the
/// last: quadratic in the import). Prints the total, and the mean piece of the first and last
/// tenth; then re-imports the same file in pieces (every piece reads its UIDs' periods, now
/// present, and writes nothing).
fn pieces(url: &str, n: usize) {
    let text = weekly_calendar(n);
    let events = ical::parse_events(text.as_bytes()).unwrap();
    // The default window (100 days): 14 or 15 periods per event, as `daily_job.rs` has.
    let opts = calstore_core::RecordOptions::new(now());
    let schema = Schema::new(url, "whole");
    let mut store = Store::open(
        calstore_conn(url, &schema.name),
        Box::new(FixedClock::new(now())),
    )
    .unwrap();
    let t = Instant::now();
    let whole = store
        .import_events(USER, &events, &opts, &mut |_, _| {})
        .unwrap();
    let whole_time = t.elapsed();
    drop(store);
    drop(schema);
    let schema = Schema::new(url, "pieces");
    let mut store = Store::open(
        calstore_conn(url, &schema.name),
        Box::new(FixedClock::new(now())),
    )
    .unwrap();
    let mut times = Vec::new();
    let t = Instant::now();
    let mut last = Instant::now();
    let report = store
        .import_events_in_pieces(USER, &events, &opts, IMPORT_PIECE, &mut |_, _| {
            times.push(last.elapsed());
            last = Instant::now();
        })
        .unwrap();
    let pieces_time = t.elapsed();
    if std::env::var("CALSTORE_BENCH_PIECE_TIMES").is_ok() {
        let ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
        println!("piece times (ms): {ms:?}");
    }
    assert_eq!(report, whole, "the same report");
    // The first "piece" also holds the check of the whole input.
    let check = times[0];
    let tenth = (times.len() / 10).max(1);
    let mean = |d: &[Duration]| d.iter().sum::<Duration>() / u32::try_from(d.len()).unwrap();
    let (first, last_tenth) = (
        mean(&times[1..=tenth.min(times.len() - 1)]),
        mean(&times[times.len() - tenth..]),
    );
    let t = Instant::now();
    store
        .import_events_in_pieces(USER, &events, &opts, IMPORT_PIECE, &mut |_, _| {})
        .unwrap();
    let again = t.elapsed();
    println!(
        "== PostgreSQL, {n} weekly events ({} periods), new schema, pieces of {IMPORT_PIECE}",
        report.periods
    );
    println!(
        "import: one transaction {:.2} s; in {} pieces {:.2} s (ratio {:.2}); first piece \
         (with the check of the whole input) {:.3} s, mean piece of the next tenth {:.1} ms, \
         of the last tenth {:.1} ms; the same import again (nothing to write) {:.2} s",
        whole_time.as_secs_f64(),
        times.len(),
        pieces_time.as_secs_f64(),
        pieces_time.as_secs_f64() / whole_time.as_secs_f64(),
        check.as_secs_f64(),
        first.as_secs_f64() * 1e3,
        last_tenth.as_secs_f64() * 1e3,
        again.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = url();
    let mut client = Client::connect(&url, NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the benchmark's PostgreSQL server: {e}"));
    let version: String = client.query_one("SHOW server_version", &[]).unwrap().get(0);
    drop(client);
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // where a small smoke run keeps the harness itself tested.
    if !args.iter().any(|a| a == "--bench") {
        bench(&url, 200, 5);
        pieces(&url, 1_000);
        return;
    }
    println!("PostgreSQL {version}");
    if args.iter().any(|a| a == "--pieces") {
        // Only the import in pieces: `-- --pieces [--quick]` (10 000 / 100 000 events).
        pieces(&url, 10_000);
        if !args.iter().any(|a| a == "--quick") {
            pieces(&url, 100_000);
        }
        return;
    }
    bench(&url, 5_000, 200);
    if !args.iter().any(|a| a == "--quick") {
        bench(&url, 100_000, 200);
    }
}
