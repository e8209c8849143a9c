//! What the benchmarks share: the seeded dataset, the record options, the rows a raw baseline
//! writes, and the median.

use std::time::Duration;

use calstore_core::RecordOptions;
use calstore_core::ical::datetime::format_utc;
use calstore_core::ical::{EventComponent, ExpandContext};
use calstore_core::period::span_class;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

pub const USER: &str = "mailto:resource-room-bench@example.com";

/// A tiny deterministic PRNG (xorshift64*), so the dataset is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn dataset(n: usize) -> String {
    let mut rng = Rng(42);
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let mut out =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//bench//EN\r\n");
    for i in 0..n {
        let day = base + TimeDelta::days(i64::try_from(rng.below(730)).unwrap_or(0));
        let hour = 7 + rng.below(12);
        let d = day.format("%Y%m%d");
        let kind = rng.below(100);
        out.push_str("BEGIN:VEVENT\r\n");
        out.push_str(&format!(
            "UID:bench-{i}@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
        ));
        if kind < 85 {
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\nDTEND;TZID=Europe/Berlin:{d}T{:02}0000\r\n",
                hour + 1
            ));
            if rng.below(10) == 0 {
                out.push_str("STATUS:TENTATIVE\r\n");
            }
            out.push_str(&format!("SUMMARY:Meeting {i}\r\n"));
        } else if kind < 95 {
            let ex = day + TimeDelta::days(14);
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\nDURATION:PT1H\r\n\
                 RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID=Europe/Berlin:{}T{hour:02}0000\r\n\
                 SUMMARY:Weekly {i}\r\n",
                ex.format("%Y%m%d")
            ));
        } else {
            let next = day + TimeDelta::days(1);
            out.push_str(&format!(
                "DTSTART;VALUE=DATE:{d}\r\nDTEND;VALUE=DATE:{}\r\nTRANSP:TRANSPARENT\r\n\
                 SUMMARY:All day {i}\r\n",
                next.format("%Y%m%d")
            ));
        }
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn options() -> RecordOptions {
    RecordOptions {
        window_end: Utc
            .with_ymd_and_hms(2029, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        tz: chrono_tz::Europe::Berlin,
        ..RecordOptions::new(now())
    }
}

/// One period row of the raw baseline: start, end, span class, summary.
pub type PeriodRow = (String, String, i64, Option<String>);
/// One object of the raw baseline: uid, text, periods.
pub type ObjectRows = (String, String, Vec<PeriodRow>);

/// The rows the raw baseline writes.
pub fn rows(events: &[EventComponent]) -> Vec<ObjectRows> {
    let opts = options();
    let ctx = ExpandContext {
        tz: opts.tz,
        window_end: opts.window_end,
        max_instances: opts.max_instances,
    };
    events
        .iter()
        .map(|e| {
            let exp = e.instances(&ctx).unwrap();
            let periods = exp
                .instances
                .iter()
                .map(|i| {
                    (
                        format_utc(i.start),
                        format_utc(i.end),
                        span_class((i.end - i.start).num_seconds()),
                        e.summary.clone(),
                    )
                })
                .collect();
            (e.uid.clone(), e.text.clone(), periods)
        })
        .collect()
}

/// Imports are repeated on fresh databases and the median is reported.
pub const RUNS: usize = 3;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
