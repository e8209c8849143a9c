//! The daily job and large imports against the other writers: the longest wait of a small
//! concurrent write (a quota limit of another owner, one transaction on its own connection,
//! every 20 ms) while one user with many open-ended events is
//!
//! * imported, once as a single transaction (`Store::import_sources`, what `calstore import`
//!   did before issue 11) and once in bounded pieces (`Store::import_sources_in_pieces`, what
//!   it does now), each into a new database file;
//! * extended, once as a single transaction (`Store::extend_freebusy_with`, what
//!   `freebusy-extend` did before issue 11) and once in bounded pieces
//!   (`Store::extend_freebusy_in_pieces`, what it does now), each on a copy of the database
//!   the one-transaction import made.
//!
//! SQLite WAL file. Run: `cargo bench -p calstore-tests --bench daily_job` (`-- --quick` for
//! 10 000 events; `CALSTORE_BENCH_EVENTS=N` for another size; `-- --import` or `-- --extend`
//! for one half only; `CALSTORE_BENCH_PIECES=200,50` to run the pieces with each of these
//! sizes instead of [`IMPORT_PIECE`] and [`EXTEND_PIECE`]). A benchmark, not a timed test: it prints figures and
//! asserts only that every run of each half gives the same periods.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use calstore_core::{
    DbErrorKind, EXTEND_PIECE, FixedClock, IMPORT_PIECE, RecordOptions, Source, SqlConnection,
    Store, StoreError,
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
    /// How long the job (import or extension) took.
    job: Duration,
    longest_wait: Duration,
    writes: usize,
    /// Writes that gave up after SQLite's busy timeout.
    failed: usize,
    periods: i64,
}

/// Runs `job` on a store over `path` while another connection writes every 20 ms.
fn run(
    path: &std::path::Path,
    now: DateTime<Utc>,
    job: impl FnOnce(&mut Store<SqliteConnection>),
) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let conn = SqliteConnection::open(path.to_str().unwrap()).unwrap();
    let mut store = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
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
    std::thread::sleep(Duration::from_millis(100));
    started.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    job(&mut store);
    let job_time = t.elapsed();
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
        job: job_time,
        longest_wait,
        writes,
        failed,
        periods,
    }
}

/// Prints the figures of a pair of runs (before, after) and checks they gave the same periods.
fn compare(what: &str, results: &[(String, Figures)]) {
    for (name, f) in results {
        println!(
            "{what}, {name}: {:.2} s; concurrent writer: {} writes, {} gave up after the \
             busy timeout, longest wait {:.3} s; {} periods",
            f.job.as_secs_f64(),
            f.writes,
            f.failed,
            f.longest_wait.as_secs_f64(),
            f.periods
        );
    }
    let before = &results[0].1;
    for (name, after) in &results[1..] {
        assert_eq!(before.periods, after.periods, "{what}: the same periods");
        println!(
            "{what}, ratios ({name} / {}): longest wait {:.3}, time {:.2}",
            results[0].0,
            after.longest_wait.as_secs_f64() / before.longest_wait.as_secs_f64(),
            after.job.as_secs_f64() / before.job.as_secs_f64()
        );
    }
}

/// The runs of each half: one transaction, then pieces of each size asked for (by default
/// the size calstore uses, `default`).
fn runs(default: usize) -> Vec<(String, Option<usize>)> {
    let sizes: Vec<usize> = std::env::var("CALSTORE_BENCH_PIECES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![default]);
    let mut runs = vec![("one transaction (before)".to_owned(), None)];
    runs.extend(
        sizes
            .into_iter()
            .map(|n| (format!("pieces of {n} (after)"), Some(n))),
    );
    runs
}

/// The system's load averages (1, 5, 15 minutes), where `/proc/loadavg` exists.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only_import = args.iter().any(|a| a == "--import");
    let only_extend = args.iter().any(|a| a == "--extend");
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run of a few hundred events that checks the driver still works.
    let smoke = !args.iter().any(|a| a == "--bench");
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
    let ics = calendar(n, base);
    let opts = RecordOptions::new(import_now);
    println!(
        "{n} weekly open-ended events of one user; load average {}",
        load()
    );
    // The import: one transaction (this database is then the seed of the extension), then in
    // pieces into another new file.
    let seed = dir.path().join("seed.db");
    let mut imports = Vec::new();
    for (i, (name, piece)) in runs(IMPORT_PIECE).into_iter().enumerate() {
        if piece.is_some() && only_extend {
            break;
        }
        let path = if piece.is_some() {
            dir.path().join(format!("pieces-{i}.db"))
        } else {
            seed.clone()
        };
        let sources = [Source::named("big.ics", ics.as_bytes())];
        // When each piece committed (the first also holds the check of the whole input).
        let mut commits = Vec::new();
        let f = run(&path, import_now, |store| {
            let start = Instant::now();
            let report = if let Some(piece) = piece {
                store.import_sources_in_pieces(USER, &sources, None, &opts, piece, &mut |_, _| {
                    commits.push(start.elapsed())
                })
            } else {
                store.import_sources(USER, &sources, None, &opts, &mut |_, _| {})
            };
            let report = report.unwrap();
            assert_eq!(report.parents, n);
        });
        if let Some(first) = commits.first() {
            let pieces: Vec<Duration> = commits.windows(2).map(|w| w[1] - w[0]).collect();
            let longest = pieces.iter().max().copied().unwrap_or_default();
            let mean =
                pieces.iter().sum::<Duration>() / u32::try_from(pieces.len().max(1)).unwrap();
            println!(
                "import in pieces: {} pieces; the check of the whole input and the first piece \
                 {:.2} s; then a piece every {:.1} ms on average, {:.1} ms at most",
                commits.len(),
                first.as_secs_f64(),
                mean.as_secs_f64() * 1e3,
                longest.as_secs_f64() * 1e3
            );
        }
        if piece.is_some() {
            std::fs::remove_file(&path).ok();
        }
        imports.push((name, f));
    }
    if imports.len() > 1 {
        compare("import", &imports);
        println!("load average after the imports: {}", load());
    }
    if only_import {
        return;
    }
    // Sixty days later, the daily job extends the user by sixty days.
    let now = import_now + TimeDelta::days(60);
    let until = now + TimeDelta::days(100);
    let extend_opts = RecordOptions {
        window_start: RecordOptions::default_window_start(now, until),
        ..RecordOptions::new(now)
    };
    let mut results = Vec::new();
    for (i, (name, piece)) in runs(EXTEND_PIECE).into_iter().enumerate() {
        let path = dir.path().join(format!("extend-{i}.db"));
        std::fs::copy(&seed, &path).unwrap();
        let f = run(&path, now, |store| {
            if let Some(piece) = piece {
                let report = store
                    .extend_freebusy_in_pieces(USER, until, &extend_opts, piece)
                    .unwrap();
                assert!(report.failures.is_empty());
            } else {
                store
                    .extend_freebusy_with(USER, until, &extend_opts)
                    .unwrap();
            }
        });
        std::fs::remove_file(&path).ok();
        results.push((name, f));
    }
    compare("extension", &results);
    println!("load average at the end: {}", load());
}
