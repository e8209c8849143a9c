//! Shared fixtures of the conformance cases: users, instants, iCalendar text, and assertions
//! on whole-database state.

use std::sync::Arc;

use calstore_core::ical::datetime::{format_utc, parse_utc};
use calstore_core::ical::{self, EventComponent};
use calstore_core::{FixedClock, Period, RecordOptions, SqlConnection, Store, StoreError};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

/// The conference room of the §6.2 scenarios.
pub const RESOURCE: &str = "mailto:resource-room-confroom@example.com";
/// The sauna of S9.
pub const SAUNA: &str = "mailto:resource-room-sauna@example.com";
/// The quota scenarios' cars.
pub const PORSCHE: &str = "mailto:resource-car-porsche911@example.com";
/// The quota scenarios' cars.
pub const FIAT: &str = "mailto:resource-car-fiat500@example.com";
/// The usual organiser.
pub const PAUL: &str = "mailto:paul.boddie@example.com";
/// The second organiser / attendee.
pub const VINCENT: &str = "mailto:vincent.vole@example.com";
/// A user with no group (Q3).
pub const HARVEY: &str = "mailto:harvey.horse@example.com";

/// Every table of the calendar schema, sorted: the core's catalogue, so that
/// dialect-neutral cases can check that nothing was written anywhere.
pub fn schema_tables() -> Vec<&'static str> {
    let mut names: Vec<&str> = calstore_core::schema::TABLES
        .iter()
        .map(|t| t.name)
        .collect();
    names.sort_unstable();
    names
}

/// The instant every case starts at: 2014-10-09T00:00:00Z, the day before the scenarios'
/// bookings.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2014, 10, 9, 0, 0, 0).unwrap()
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn ts(s: &str) -> DateTime<Utc> {
    parse_utc(s).unwrap_or_else(|e| panic!("bad test instant {s:?}: {e}"))
}

/// Opens a store on `conn` with a [`FixedClock`] at [`t0`]; the clock handle moves time.
pub fn open<C: SqlConnection>(conn: C) -> (Store<C>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(t0()));
    let store = Store::open(conn, Box::new(Arc::clone(&clock))).unwrap();
    (store, clock)
}

/// Record options of the scenarios: Europe/Oslo, a 100-day window from `now`.
pub fn oslo(now: DateTime<Utc>) -> RecordOptions {
    RecordOptions {
        tz: chrono_tz::Europe::Oslo,
        window_end: now + TimeDelta::days(100),
        ..RecordOptions::new(now)
    }
}

/// A VCALENDAR holding one VEVENT made of `lines` (CRLF line endings).
pub fn calendar(lines: &[&str]) -> String {
    calendar_of(&[lines])
}

/// An iTIP message: a VCALENDAR with `METHOD:method` holding one VEVENT made of `lines`.
pub fn itip(method: &str, lines: &[&str]) -> String {
    calendar(lines).replacen(
        "VERSION:2.0\r\n",
        &format!("VERSION:2.0\r\nMETHOD:{method}\r\n"),
        1,
    )
}

/// A VCALENDAR holding one VEVENT per entry of `events`.
pub fn calendar_of(events: &[&[&str]]) -> String {
    let mut out =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\n");
    for lines in events {
        out.push_str("BEGIN:VEVENT\r\n");
        for l in *lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// Parses text holding exactly one VEVENT.
pub fn event(text: &str) -> EventComponent {
    let mut events = ical::parse_events(text.as_bytes()).unwrap();
    assert_eq!(events.len(), 1, "expected one VEVENT");
    events.remove(0)
}

/// A bare period between two `YYYYMMDDTHHMMSSZ` instants with the given uid.
pub fn period(start: &str, end: &str, uid: Option<&str>) -> Period {
    Period {
        uid: uid.map(str::to_owned),
        ..Period::new(ts(start), ts(end))
    }
}

/// A period written as imip-agent's free/busy files show it: start, end, uid, transp, rid,
/// "summary", organiser, with `-` for None.
pub fn fb_line(p: &Period) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    format!(
        "{} {} {} {} {} \"{}\" {}",
        format_utc(p.start),
        format_utc(p.end),
        o(&p.uid),
        o(&p.transp),
        o(&p.recurrenceid),
        o(&p.summary),
        o(&p.organiser)
    )
}

/// [`fb_line`] of every period.
pub fn fb_lines(periods: &[Period]) -> Vec<String> {
    periods.iter().map(fb_line).collect()
}

/// The starts of `periods`, formatted.
pub fn starts(periods: &[Period]) -> Vec<String> {
    periods.iter().map(|p| format_utc(p.start)).collect()
}

/// Number of rows in `table` (any owner).
pub fn count_rows<C: SqlConnection + ?Sized>(conn: &mut C, table: &str) -> i64 {
    let rows = conn
        .query(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap();
    rows[0].get::<i64>(0).unwrap()
}

/// Asserts that `table` exists and can be read.
pub fn assert_table_exists<C: SqlConnection + ?Sized>(conn: &mut C, table: &str) {
    if let Err(e) = conn.query(&format!("SELECT count(*) FROM {table}"), &[]) {
        panic!("table {table} cannot be read: {e}");
    }
}

/// Asserts that a fresh store has still never been written to: no user, no revision, and
/// every table except `calstore_schema` empty.
pub fn assert_nothing_written<C: SqlConnection>(store: &mut Store<C>, user: &str) {
    assert_eq!(store.revision(user).unwrap(), 0, "revision of {user} moved");
    assert!(store.users().unwrap().is_empty(), "a user was recorded");
    assert!(
        store.journal().quotas().unwrap().is_empty(),
        "a quota was recorded"
    );
    for table in schema_tables()
        .into_iter()
        .filter(|t| *t != "calstore_schema")
    {
        assert_eq!(
            count_rows(store.connection(), table),
            0,
            "rows were written to {table}"
        );
    }
}

/// Asserts that `result` is [`StoreError::InvalidData`].
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::InvalidData(_)) => {}
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

/// Asserts that `result` is [`StoreError::NotFound`].
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
