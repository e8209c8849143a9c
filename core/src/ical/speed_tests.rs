//! Parse speed on the 10 MB calendar of the `expand` benchmark (the §5 dataset: every object
//! its own VCALENDAR with an embedded Europe/Berlin VTIMEZONE). Ignored by default; run with
//! `cargo test -p calstore-core --release parse_speed -- --ignored --nocapture`.

use std::time::Instant;

use chrono::{NaiveDate, TimeDelta};

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n\
    TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
    TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// xorshift64*, seeded as in `tests/benches/expand.rs`.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The benchmark's calendar, at least `bytes` long.
pub(crate) fn calendar(bytes: usize) -> String {
    let mut rng = Rng(42);
    let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
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
        out.push_str(&head);
        if kind < 80 {
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
            out.push_str(&format!(
                "DTSTART;TZID=Europe/Berlin:{d}T{hour:02}0000\r\nDURATION:PT15M\r\n\
                 RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nSUMMARY:Stand-up {i}\r\nEND:VEVENT\r\n"
            ));
        } else {
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

/// The median of `runs` timings of `f`, in seconds.
fn median(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let start = Instant::now();
        n = f();
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], n)
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn parse_speed() {
    let text = calendar(10 * 1024 * 1024);
    let (strict, n) = median(7, || super::parse_events(text.as_bytes()).unwrap().len());
    println!(
        "parse_events: {} bytes, {n} VEVENTs, {strict:.3} s",
        text.len()
    );
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn parse_speed_lenient() {
    let text = calendar(10 * 1024 * 1024);
    let (lenient, n) = median(7, || {
        super::parse_calendar(text.as_bytes(), &super::ParseOptions::default())
            .unwrap()
            .events
            .len()
    });
    println!("parse_calendar (lenient): {n} VEVENTs, {lenient:.3} s");
}
