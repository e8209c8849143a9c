//! Recurrence expansion and large-calendar import.
//!
//! Run: `cargo bench -p calstore-tests --bench expand`. Without `--bench` (as under
//! `cargo test --all-targets`) a small smoke run checks the harness itself.
//!
//! * **occurrences/s**: `EventComponent::instances` over a mix of rules (daily for ten
//!   years, weekly with EXDATEs, monthly BYSETPOS, hourly), with DTSTART in UTC, in an IANA
//!   zone (Europe/Berlin), in a custom zone defined by an embedded VTIMEZONE, and floating.
//! * **10 MB import**: a generated calendar after `shared/docs/calendar-correctness.md` §5
//!   (seed 42; every object its own VCALENDAR with an embedded Europe/Berlin VTIMEZONE;
//!   80 % single 1-hour events, 10 % of them TENTATIVE; 10 % weekly COUNT=52 with an EXDATE
//!   and a moved occurrence; 5 % open-ended weekday 15-minute stand-ups; 5 % all-day
//!   TRANSPARENT), parsed and imported by `Store::import_ics` into a SQLite file in one
//!   transaction, window to 2028-01-01. The same calendar with the TZID renamed
//!   `Custom/Berlin` measures the custom-zone path (each event then carries its VTIMEZONE).
//!   Each import runs in a child process that reports its peak resident memory (`VmHWM`
//!   from `/proc/self/status`) before and after the import.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use calstore_core::ical::{self, ExpandContext};
use calstore_core::{FixedClock, RecordOptions, Store};
use calstore_native::SqliteConnection;
use chrono::{TimeDelta, TimeZone, Utc};

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n\
    TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
    TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

const USER: &str = "mailto:resource-room-bench@example.com";

/// xorshift64*, seeded: the same calendar every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The §5 dataset, at least `bytes` long.
fn calendar(bytes: usize) -> String {
    let mut rng = Rng(42);
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut out = String::with_capacity(bytes + 4096);
    let mut i = 0u64;
    while out.len() < bytes {
        i += 1;
        let day = base + TimeDelta::days(i64::try_from(rng.below(730)).unwrap());
        let hour = 7 + rng.below(12);
        let d = day.format("%Y%m%d");
        out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//bench//EN\r\n");
        out.push_str(BERLIN);
        let head =
            format!("BEGIN:VEVENT\r\nUID:bench-{i}@example.com\r\nDTSTAMP:20260101T000000Z\r\n");
        let kind = rng.below(100);
        if kind < 80 {
            out.push_str(&head);
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\n\
                 DTEND;TZID=Europe/Berlin:{d}T{:02}0000\r\nSUMMARY:Meeting {i}\r\n",
                hour + 1
            ));
            if rng.below(10) == 0 {
                out.push_str("STATUS:TENTATIVE\r\n");
            }
            out.push_str("END:VEVENT\r\n");
        } else if kind < 90 {
            let ex = (day + TimeDelta::days(14)).format("%Y%m%d");
            let moved = (day + TimeDelta::days(7)).format("%Y%m%d");
            out.push_str(&head);
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\nDURATION:PT1H\r\n\
                 RRULE:FREQ=WEEKLY;COUNT=52\r\nEXDATE;TZID=Europe/Berlin:{ex}T{hour:02}0000\r\n\
                 SUMMARY:Weekly {i}\r\nEND:VEVENT\r\n"
            ));
            out.push_str(&head);
            out.push_str(&format!(
                "RECURRENCE-ID;TZID=Europe/Berlin:{moved}T{hour:02}0000\r\n\
                 DTSTART;TZID=Europe/Berlin:{moved}T{hour:02}3000\r\nDURATION:PT1H\r\n\
                 SUMMARY:Weekly {i} (moved)\r\nEND:VEVENT\r\n"
            ));
        } else if kind < 95 {
            out.push_str(&head);
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\nDURATION:PT15M\r\n\
                 RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nSUMMARY:Stand-up {i}\r\nEND:VEVENT\r\n"
            ));
        } else {
            out.push_str(&head);
            out.push_str(&format!(
                "DTSTART;VALUE=DATE:{d}\r\nDTEND;VALUE=DATE:{}\r\nTRANSP:TRANSPARENT\r\n\
                 SUMMARY:All day {i}\r\nEND:VEVENT\r\n",
                (day + TimeDelta::days(1)).format("%Y%m%d")
            ));
        }
        out.push_str("END:VCALENDAR\r\n");
    }
    out
}

/// The rules of the expansion benchmark, with `{Z}` where DTSTART's zone goes.
const RULES: &[(&str, &str)] = &[
    (
        "daily",
        "DTSTART{Z}20200106T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY",
    ),
    (
        "weekly MO,WE,FR + EXDATEs",
        "DTSTART{Z}20200106T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\r\n\
         EXDATE{Z}20200108T090000,20210108T090000,20220107T090000",
    ),
    (
        "monthly last weekday (BYSETPOS)",
        "DTSTART{Z}20200131T170000\r\nDURATION:PT1H\r\n\
         RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    ),
    (
        "hourly",
        "DTSTART{Z}20200101T000000\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY",
    ),
];

fn expansion(window_years: i32, reps: u32) {
    let end = Utc
        .with_ymd_and_hms(2020 + window_years, 1, 1, 0, 0, 0)
        .unwrap();
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    println!(
        "occurrences per second (window 2020..{}):",
        2020 + window_years
    );
    for (zone_name, z) in [
        ("UTC", ":"),
        ("Europe/Berlin", ";TZID=Europe/Berlin:"),
        ("custom VTIMEZONE", ";TZID=Custom/Berlin:"),
        ("floating", ":"),
    ] {
        for (rule_name, rule) in RULES {
            let mut body = rule.replace("{Z}", z);
            if zone_name == "UTC" {
                body = body
                    .replace("T090000\r", "T090000Z\r")
                    .replace("T170000\r", "T170000Z\r")
                    .replace("T000000\r", "T000000Z\r")
                    .replace("T090000,", "T090000Z,")
                    .replace(
                        ",20210108T090000,20220107T090000",
                        ",20210108T090000Z,20220107T090000Z",
                    );
            }
            let text = format!(
                "BEGIN:VCALENDAR\r\n{}BEGIN:VEVENT\r\nUID:x\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                BERLIN.replace("TZID:Europe/Berlin", "TZID:Custom/Berlin")
            );
            let event = ical::parse_events(text.as_bytes()).unwrap().remove(0);
            let ctx = ExpandContext {
                tz: berlin,
                window_end: end,
                max_instances: 1_000_000,
            };
            let start = Instant::now();
            let mut n = 0;
            for _ in 0..reps {
                n += black_box(event.instances(&ctx).unwrap()).instances.len();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "  {zone_name:<17} {rule_name:<32} {:>9} instances  {:>12.0} occurrences/s",
                n / reps as usize,
                n as f64 / secs
            );
        }
    }
}

/// Peak resident memory so far, in KiB (Linux), or 0.
fn vm_hwm() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// In a child process: generates the calendar, imports it, prints one result line.
fn import_child(bytes: usize, custom: bool) {
    let mut text = calendar(bytes);
    if custom {
        text = text.replace("Europe/Berlin", "Custom/Berlin");
    }
    let dir = tempfile::tempdir().unwrap();
    let conn = SqliteConnection::open(dir.path().join("bench.db")).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut store = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
    let opts = RecordOptions {
        tz: "Europe/Berlin".parse().unwrap(),
        window_end: Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap(),
        ..RecordOptions::new(now)
    };
    let before = vm_hwm();
    let start = Instant::now();
    let events = ical::parse_events(text.as_bytes()).unwrap();
    let parsed = start.elapsed();
    let report = store
        .import_events(USER, &events, &opts, &mut |_, _| {})
        .unwrap();
    let total = start.elapsed();
    let after = vm_hwm();
    println!(
        "RESULT {} {} {} {} {} {} {} {}",
        text.len(),
        events.len(),
        report.periods,
        report.providers,
        parsed.as_secs_f64(),
        total.as_secs_f64(),
        before,
        after
    );
}

fn import(bytes: usize) {
    for custom in [false, true] {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--import-child",
                &bytes.to_string(),
                if custom { "custom" } else { "iana" },
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with("RESULT ")).unwrap();
        let f: Vec<&str> = line.split_whitespace().skip(1).collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let secs = Duration::from_secs_f64(num(5));
        println!(
            "import of a {:.1} MB calendar ({}): {} VEVENTs, {} periods, {} providers; \
             parse {:.2} s, parse + import {:.2} s ({:.0} VEVENTs/s); peak RSS {:.0} MiB \
             ({:.0} MiB before the import, with the input text)",
            num(0) / 1e6,
            if custom {
                "TZID Custom/Berlin, embedded VTIMEZONE"
            } else {
                "TZID Europe/Berlin"
            },
            f[1],
            f[2],
            f[3],
            num(4),
            secs.as_secs_f64(),
            num(1) / secs.as_secs_f64(),
            num(7) / 1024.0,
            num(6) / 1024.0
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--import-child") {
        import_child(args[i + 1].parse().unwrap(), args[i + 2] == "custom");
        return;
    }
    if args.iter().any(|a| a == "--bench") {
        expansion(10, 3);
        import(10 * 1024 * 1024);
    } else {
        expansion(1, 1);
        import(200 * 1024);
    }
}
