//! The native side of the browser benchmark (`scripts/bench-wasm.sh`, `wasm/bench/run.mjs`):
//! the same measurement as `wasm/bench/worker.js` makes in Chromium, on native SQLite, in
//! this process, so that the browser figures have a baseline from the same machine and run.
//!
//! ```text
//! cargo run --release -p calstore-wasm --example bench-native -- \
//!     [--events 5000] [--runs 3] [--queries 200] [--batch 1] [--write-dataset PATH]
//! ```
//!
//! The dataset is `tests/benches/common`'s (the file is included here, not copied): one
//! resource, N seeded events (seed 42), all expanded up to 2029-01-01 in Europe/Berlin.
//! `--write-dataset` writes its iCalendar text, so the driver can check that the browser's
//! port of the generator (`wasm/bench/dataset.mjs`) produces the same bytes.
//!
//! * **import**: what `CalStore.importIcs` does, parse and `Store::import_events` in one
//!   transaction, on a fresh database, median of `--runs`; also the import alone (without the
//!   parse), the figure `cargo bench -p calstore-tests --bench store` reports.
//! * **week**: `Store::get_freebusy_in` for 2026-06-15..22, median (and p95) of `--queries`
//!   samples, each the mean of `--batch` consecutive queries.
//!
//! Two databases: in memory (the baseline of the browser's in-memory backends) and a file in
//! WAL mode with `synchronous=FULL` (the baseline of the durable OPFS backend). One JSON
//! object per line on stdout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(not(target_arch = "wasm32"))]
#[allow(
    dead_code,
    reason = "the benchmarks' shared module; this uses part of it"
)]
#[path = "../../tests/benches/common/mod.rs"]
mod common;

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::{Duration, Instant};

    use calstore_core::{FixedClock, Store, ical};
    use calstore_native::SqliteConnection;
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::common::{USER, dataset, median, now, options};

    struct Args {
        events: usize,
        runs: usize,
        queries: usize,
        batch: usize,
        write_dataset: Option<String>,
    }

    fn args() -> Args {
        let mut a = Args {
            events: 5000,
            runs: 3,
            queries: 200,
            batch: 1,
            write_dataset: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            match flag.as_str() {
                "--events" => a.events = value().parse().expect("--events N"),
                "--runs" => a.runs = value().parse().expect("--runs N"),
                "--queries" => a.queries = value().parse().expect("--queries N"),
                "--batch" => a.batch = value().parse().expect("--batch N"),
                "--write-dataset" => a.write_dataset = Some(value()),
                // `cargo bench`/`cargo test` pass these to every target.
                "--bench" | "--quick" => {}
                other => panic!("unknown argument {other}"),
            }
        }
        a
    }

    fn micros(d: Duration) -> f64 {
        d.as_secs_f64() * 1e6
    }

    fn p95(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[(v.len() * 95 / 100).min(v.len() - 1)]
    }

    /// Measures one kind of database; `open(run)` gives a fresh one.
    fn measure(name: &str, a: &Args, text: &str, open: &dyn Fn(usize) -> SqliteConnection) {
        let mut import_times = Vec::new();
        let mut import_only_times = Vec::new();
        let mut last = None;
        for run in 0..a.runs {
            let mut store = Store::open(open(run), Box::new(FixedClock::new(now()))).unwrap();
            let t = Instant::now();
            let events = ical::parse_events(text.as_bytes()).unwrap();
            let t_parsed = Instant::now();
            let report = store
                .import_events(USER, &events, &options(), &mut |_, _| {})
                .unwrap();
            let done = Instant::now();
            import_times.push(done - t);
            import_only_times.push(done - t_parsed);
            last = Some((store, report));
        }
        let (mut store, report) = last.unwrap();
        let from = Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap();
        let to = from + TimeDelta::days(7);
        let mut query_times = Vec::with_capacity(a.queries);
        let mut found = 0;
        let batch = a.batch.max(1);
        for _ in 0..a.queries {
            let t = Instant::now();
            for _ in 0..batch {
                found = std::hint::black_box(store.get_freebusy_in(USER, from, to).unwrap()).len();
            }
            query_times.push(t.elapsed() / u32::try_from(batch).unwrap());
        }
        let import = median(import_times);
        let import_only = median(import_only_times);
        println!(
            "{{\"backend\":\"{name}\",\"events\":{},\"periods\":{},\"runs\":{},\"import_ms\":{:.3},\
             \"import_only_ms\":{:.3},\"events_per_s\":{:.0},\"queries\":{},\"found\":{found},\
             \"week_p50_us\":{:.2},\"week_p95_us\":{:.2}}}",
            report.uids,
            report.periods,
            a.runs,
            import.as_secs_f64() * 1e3,
            import_only.as_secs_f64() * 1e3,
            a.events as f64 / import.as_secs_f64(),
            a.queries,
            micros(median(query_times.clone())),
            micros(p95(query_times)),
        );
    }

    pub fn main() {
        let a = args();
        let text = dataset(a.events);
        if let Some(path) = &a.write_dataset {
            std::fs::write(path, &text).unwrap();
        }
        measure("native-memory", &a, &text, &|_| {
            SqliteConnection::open_in_memory().unwrap()
        });
        let dir = tempfile::tempdir().unwrap();
        measure("native-file", &a, &text, &|run| {
            SqliteConnection::open(dir.path().join(format!("bench-{run}.sqlite3"))).unwrap()
        });
        println!(
            "{{\"sqlite_version\":\"{}\"}}",
            SqliteConnection::sqlite_version()
        );
    }
}
