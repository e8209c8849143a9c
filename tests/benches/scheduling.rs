//! Scheduling throughput: iTIP messages processed per second through the core
//! (`Store::process`: parse, decide, record, answer, queue the answer in the outbox), one unit
//! of work per message, on a SQLite WAL file with `synchronous=FULL`.
//!
//! Run: `cargo bench -p calstore-tests --bench scheduling` (`-- --quick` for 200 messages).
//!
//! Dataset: 1 000 REQUESTs from 20 organisers to one resource (`schedule_in_freebusy` then
//! `check_quota rooms`, limit `*` unlimited), one-hour bookings at seeded random hours over
//! 60 days (some collide and are declined), every 10th a weekly COUNT=4 series; then 200
//! CANCELs; and the same REQUESTs to a person (stored and queued). Each is timed from the
//! bytes: parsing the message is part of the cost.

// A benchmark binary: failing loudly on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use calstore_core::outbox;
use calstore_core::scheduling::{ReceiveOptions, parse_message};
use calstore_core::{FixedClock, Store};
use calstore_native::SqliteConnection;
use chrono::{TimeDelta, TimeZone, Utc};

const ROOM: &str = "mailto:room@example.com";
const PERSON: &str = "mailto:vincent@example.com";

/// A small seeded generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn messages(n: usize, to: &str) -> Vec<String> {
    let mut rng = Rng(42);
    let base = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let start = base
                + TimeDelta::days(i64::try_from(rng.next(60)).unwrap())
                + TimeDelta::hours(7 + i64::try_from(rng.next(11)).unwrap());
            let rule = if i % 10 == 0 {
                "RRULE:FREQ=WEEKLY;COUNT=4\r\n"
            } else {
                ""
            };
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
                 UID:bench-{i}@example.com\r\nDTSTAMP:20261122T000000Z\r\n\
                 ORGANIZER:mailto:org{}@example.com\r\n\
                 ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{to}\r\n\
                 DTSTART:{}\r\nDTEND:{}\r\n{rule}SUMMARY:Booking {i}\r\nEND:VEVENT\r\n\
                 END:VCALENDAR\r\n",
                i % 20,
                start.format("%Y%m%dT%H%M%SZ"),
                (start + TimeDelta::hours(1)).format("%Y%m%dT%H%M%SZ"),
            )
        })
        .collect()
}

fn run(store: &mut Store<SqliteConnection>, user: &str, texts: &[String]) -> (f64, usize) {
    let opts = ReceiveOptions::default();
    let started = Instant::now();
    let mut accepted = 0;
    for t in texts {
        let msg = parse_message(t.as_bytes(), None).unwrap();
        let p = store.process(user, &msg, &opts).unwrap();
        accepted += usize::from(p.outcome.kind.as_str() == "accepted");
    }
    (
        texts.len() as f64 / started.elapsed().as_secs_f64(),
        accepted,
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200 } else { 1000 };
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let conn = SqliteConnection::open(dir.path().join("bench.db")).unwrap();
    let mut store = Store::open(conn, Box::new(FixedClock::new(now))).unwrap();
    outbox::migrate(store.connection()).unwrap();
    store
        .set_preference(
            ROOM,
            "scheduling_function",
            "schedule_in_freebusy\ncheck_quota rooms",
        )
        .unwrap();
    store
        .journal()
        .set_limits("rooms", &[("*".to_owned(), "*".to_owned())].into())
        .unwrap();

    let requests = messages(n, ROOM);
    let (rate, accepted) = run(&mut store, ROOM, &requests);
    println!("resource REQUEST: {n} messages, {rate:.0} messages/s ({accepted} accepted)");

    let cancels: Vec<String> = requests
        .iter()
        .take(n / 5)
        .map(|t| t.replace("METHOD:REQUEST", "METHOD:CANCEL"))
        .collect();
    let (rate, _) = run(&mut store, ROOM, &cancels);
    println!(
        "resource CANCEL: {} messages, {rate:.0} messages/s",
        cancels.len()
    );

    let to_person = messages(n, PERSON);
    let (rate, _) = run(&mut store, PERSON, &to_person);
    println!("person REQUEST: {n} messages, {rate:.0} messages/s");
    println!(
        "outbox: {} answers queued",
        store.outgoing_messages(None).unwrap().len()
    );
}
