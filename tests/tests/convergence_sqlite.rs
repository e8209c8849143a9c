//! The convergence suite (`calstore_tests::convergence`) on SQLite: thousands of seeded
//! histories, server and clients on in-memory databases, two threads.
//!
//! `CALSTORE_CONVERGENCE_HISTORIES=N` sets how many (default 2 000); a failing history prints
//! its seed, and `CALSTORE_CONVERGENCE_SEED=S` replays that one alone.

#![allow(clippy::expect_used)]

use calstore_native::SqliteConnection;
use calstore_tests::convergence::{self, Faults, Report};

fn memory() -> SqliteConnection {
    SqliteConnection::open_in_memory().expect("in-memory SQLite")
}

fn history(seed: u64) -> Report {
    convergence::run(seed, memory(), memory, 3, 80, Faults::HOSTILE)
}

#[test]
fn histories_converge() {
    if let Some(seed) = std::env::var("CALSTORE_CONVERGENCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        eprintln!("{:?}", history(seed));
        return;
    }
    let n: u64 = std::env::var("CALSTORE_CONVERGENCE_HISTORIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = Report::default();
                for seed in (t..n).step_by(2) {
                    let r = history(seed);
                    total.applied += r.applied;
                    total.superseded += r.superseded;
                    total.rejected += r.rejected;
                }
                total
            })
        })
        .collect();
    let mut total = Report::default();
    for t in threads {
        let r = t
            .join()
            .expect("a history failed (its seed is in the panic message)");
        total.applied += r.applied;
        total.superseded += r.superseded;
        total.rejected += r.rejected;
    }
    eprintln!("{n} histories: {total:?}");
    assert!(total.superseded > 0, "no history had a superseded edit");
    assert!(total.rejected > 0, "no history had a rejected edit");
    assert!(total.applied > total.superseded);
}

/// One quiet history (no faults) as a smoke test that reads well when it fails.
#[test]
fn a_quiet_history_converges() {
    let r = convergence::run(7, memory(), memory, 2, 40, Faults::NONE);
    assert!(r.applied > 0, "{r:?}");
}
