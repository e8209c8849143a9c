//! The daily job and the other writers: the longest wait of a small concurrent write (a
//! quota limit of another owner, one transaction on its own connection, every 20 ms) while
//! one user with many open-ended events is extended, once as a single transaction
//! (`Store::extend_freebusy_with`, what `freebusy-extend` did before issue 11) and once in
//! bounded pieces (`Store::extend_freebusy_in_pieces`, what it does now). SQLite WAL file.
//!
//! Run: `cargo bench -p calstore-tests --bench daily_job` (`-- --quick` for 10 000 events;
//! `CALSTORE_BENCH_EVENTS=N` for another size; `CALSTORE_BENCH_PIECES=200,50` to run the
//! pieces with each of these sizes instead of [`EXTEND_PIECE`]). A benchmark, not a timed
//! test: it prints figures and asserts only that every run extended the same periods.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use calstore_core::{
    DbErrorKind, EXTEND_PIECE, FixedClock, RecordOptions, SqlConnection, Store, StoreError,
};
use calstore_native::SqliteConnection;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

const USER: &str = "mailto:big@example.com";

fn calendar(n: usize, base: DateTime<Utc>) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    for i in 0..n {
        let start = base + TimeDelta::minutes(i64::try_from(i % (7 * 24 * 4)).unwrap() * 15);
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:e{i}@example.com\r\nDTSTAMP:20261101T000000Z\r\n\
             DTSTART:{}\r\nDURATION:PT15M\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Event {i}\r\n\
             END:VEVENT\r\n",
            start.format("%Y%m%dT%H%M%SZ")
        ));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

struct Figures {
    extend: Duration,
    longest_wait: Duration,
    writes: usize,
    /// Writes that gave up after SQLite's busy timeout.
    failed: usize,
    periods: i64,
}

/// One run: `piece` None extends in one transaction, Some(n) in pieces of n events.
fn run(path: &std::path::Path, piece: Option<usize>, now: DateTime<Utc>) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, started, path) = (stop.clone(), started.clone(), path.to_owned());
        std::thread::spawn(move || {
            let conn = SqliteConnection::open(path.to_str().unwrap()).unwrap();
            let mut store = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
            let (mut longest, mut writes, mut failed) = (Duration::ZERO, 0usize, 0usize);
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if started.load(Ordering::SeqCst) {
                    let t = Instant::now();
                    let limit = format!("PT{}M", 30 + i % 2);
                    // A write that waited past SQLite's busy timeout fails ("database is
                    // locked"): counted, and its wait is a wait all the same.
                    match store.journal().set_limit("cars", "*", &limit) {
                        Ok(()) => writes += 1,
                        Err(StoreError::Db(e)) if *e.kind() == DbErrorKind::Busy => failed += 1,
                        Err(e) => panic!("the concurrent write failed: {e}"),
                    }
                    longest = longest.max(t.elapsed());
                    i += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (longest, writes, failed)
        })
    };
    let conn = SqliteConnection::open(path.to_str().unwrap()).unwrap();
    let mut store = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
    let until = now + TimeDelta::days(100);
    let opts = RecordOptions {
        window_start: RecordOptions::default_window_start(now, until),
        ..RecordOptions::new(now)
    };
    std::thread::sleep(Duration::from_millis(100));
    started.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    if let Some(piece) = piece {
        let report = store
            .extend_freebusy_in_pieces(USER, until, &opts, piece)
            .unwrap();
        assert!(report.failures.is_empty());
    } else {
        store.extend_freebusy_with(USER, until, &opts).unwrap();
    }
    let extend = t.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let (longest_wait, writes, failed) = writer.join().unwrap();
    let periods = store
        .connection()
        .query("SELECT count(*) FROM freebusy", &[])
        .unwrap()[0]
        .get::<i64>(0)
        .unwrap();
    Figures {
        extend,
        longest_wait,
        writes,
        failed,
        periods,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run of a few hundred events that checks the driver still works.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("CALSTORE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke {
            300
        } else if quick {
            10_000
        } else {
            100_000
        });
    let dir = tempfile::tempdir().unwrap();
    let base = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    let import_now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let seed = dir.path().join("seed.db");
    {
        let t = Instant::now();
        let conn = SqliteConnection::open(seed.to_str().unwrap()).unwrap();
        let mut store = Store::open(conn, Box::new(FixedClock::new(import_now))).unwrap();
        let ics = calendar(n, base);
        let report = store
            .import_ics(
                USER,
                ics.as_bytes(),
                &RecordOptions::new(import_now),
                &mut |_, _| {},
            )
            .unwrap();
        println!(
            "setup: {n} weekly open-ended events imported for one user ({} periods, {} providers) in {:.1} s",
            report.periods,
            report.providers,
            t.elapsed().as_secs_f64()
        );
    }
    // Sixty days later, the daily job extends the user by sixty days.
    let now = import_now + TimeDelta::days(60);
    let sizes: Vec<usize> = std::env::var("CALSTORE_BENCH_PIECES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![EXTEND_PIECE]);
    let mut runs = vec![("one transaction (before)".to_owned(), None)];
    runs.extend(
        sizes
            .iter()
            .map(|&n| (format!("bounded pieces of {n} events (after)"), Some(n))),
    );
    let mut results = Vec::new();
    for (i, (name, piece)) in runs.iter().enumerate() {
        let path = dir.path().join(format!("run{i}.db"));
        std::fs::copy(&seed, &path).unwrap();
        let f = run(&path, *piece, now);
        println!(
            "{name}: extension {:.2} s; concurrent writer: {} writes, {} gave up after the \
             busy timeout, longest wait {:.3} s; {} periods",
            f.extend.as_secs_f64(),
            f.writes,
            f.failed,
            f.longest_wait.as_secs_f64(),
            f.periods
        );
        std::fs::remove_file(&path).ok();
        results.push(f);
    }
    for (f, (name, _)) in results.iter().zip(&runs).skip(1) {
        assert_eq!(
            results[0].periods, f.periods,
            "every run extends to the same periods"
        );
        println!(
            "ratios, {name} / one transaction: longest wait {:.3}, extension time {:.2}",
            f.longest_wait.as_secs_f64() / results[0].longest_wait.as_secs_f64(),
            f.extend.as_secs_f64() / results[0].extend.as_secs_f64()
        );
    }
}
