//! The lenient reading: every repair (its note: line, problem, action), strict mode refusing
//! the same input, the real-world corpus (`tests/fixtures/calendars/rw-*`) against its
//! expected periods, and a property test that no input makes the lenient parser panic.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;
use crate::record::booking_from_events;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/calendars")
}

/// The periods the store would derive (per UID: overrides, THISANDFUTURE, SEQUENCE) that
/// overlap `[from, to)`, as `start end uid transp` lines; a derived UID reads `-`.
fn periods(
    events: &[EventComponent],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let mut by_uid: BTreeMap<&str, Vec<EventComponent>> = BTreeMap::new();
    for e in events {
        by_uid.entry(e.uid.as_str()).or_default().push(e.clone());
    }
    let mut out = Vec::new();
    for (uid, evs) in by_uid {
        let booking = booking_from_events(&evs, Some("mailto:x@example.com"), tz, to)
            .unwrap_or_else(|e| panic!("{uid}: {e}"));
        for p in booking.periods {
            let inside = if p.start == p.end {
                from <= p.start && p.start < to
            } else {
                p.start < to && p.end > from
            };
            if !inside {
                continue;
            }
            let uid = if uid.starts_with(DERIVED_UID_PREFIX) {
                "-"
            } else {
                uid
            };
            out.push(format!(
                "{} {} {uid} {}",
                format_utc(p.start),
                format_utc(p.end),
                p.transp.as_deref().unwrap_or("OPAQUE")
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn expected(name: &str) -> (Tz, DateTime<Utc>, DateTime<Utc>, Vec<String>) {
    let text = std::fs::read_to_string(corpus_dir().join(format!("{name}.expected.json"))).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |k: &str| doc[k].as_str().unwrap().to_owned();
    let mut periods: Vec<String> = doc["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let f = |k: &str| p[k].as_str().unwrap_or("-").to_owned();
            format!("{} {} {} {}", f("start"), f("end"), f("uid"), f("transp"))
        })
        .collect();
    periods.sort();
    (
        s("tz").parse().unwrap(),
        parse_utc(&s("from")).unwrap(),
        parse_utc(&s("to")).unwrap(),
        periods,
    )
}

fn corpus_names(prefix: &str) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("manifest.json")).unwrap())
            .unwrap();
    manifest["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Every corpus calendar, read leniently, gives its expected periods; the text kept for each
/// event reads back strictly to the same event.
#[test]
fn corpus_read_leniently_matches_expectations() {
    let mut failures = Vec::new();
    for name in corpus_names("") {
        let data = std::fs::read(corpus_dir().join(format!("{name}.ics"))).unwrap();
        let (tz, from, to, want) = expected(&name);
        let parsed = match parse_calendar(&data, &ParseOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: refused: {}", e.0));
                continue;
            }
        };
        for e in &parsed.events {
            match parse_events(e.text.as_bytes()) {
                Ok(again) if again.len() == 1 && again[0] == *e => {}
                Ok(again) => failures.push(format!("{name}: {} reads back as {again:?}", e.uid)),
                Err(err) => failures.push(format!("{name}: {} stored text: {}", e.uid, err.0)),
            }
        }
        let got = periods(&parsed.events, tz, from, to);
        if got != want {
            failures.push(format!(
                "{name}:\n  got  {got:?}\n  want {want:?}\n  notes {:?}",
                parsed
                    .notes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A VEVENT body (`\n`-separated, starting at line 5) in a VCALENDAR.
fn wrap(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n{}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    )
}

/// Reads `text` leniently; strict reading must refuse it.
fn lenient(text: &str) -> ParsedCalendar {
    assert!(
        parse_events(text.as_bytes()).is_err(),
        "strict accepted:\n{text}"
    );
    parse_calendar(text.as_bytes(), &ParseOptions::default()).unwrap()
}

/// Asserts one note with that line, a problem containing `problem` and an action
/// containing `action`.
#[track_caller]
fn has_note(parsed: &ParsedCalendar, line: usize, problem: &str, action: &str) {
    assert!(
        parsed
            .notes
            .iter()
            .any(|n| n.line == line && n.problem.contains(problem) && n.action.contains(action)),
        "no note at line {line} with {problem:?} / {action:?} in {:#?}",
        parsed.notes
    );
}

const TIMES: &str = "DTSTAMP:20260101T000000Z\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z";

#[test]
fn property_repairs_each_leave_a_note() {
    // (body, line, problem, action, check on the one event)
    type Check = fn(&EventComponent);
    let cases: &[(&str, usize, &str, &str, Check)] = &[
        (
            "DTSTAMP:20260101T000000Z\nDTSTART:20260105T090000Z\nSUMMARY:x",
            4,
            "no UID",
            "derived from the event's content",
            |e| assert!(e.uid.starts_with(DERIVED_UID_PREFIX) && e.uid.len() == 17 + 32),
        ),
        (
            "UID:a\nSUMMARY:one\nSUMMARY:two\nTIMES",
            7,
            "SUMMARY appears more than once",
            "dropped (the first, line 6, kept)",
            |e| assert_eq!(e.summary.as_deref(), Some("one")),
        ),
        (
            "UID:a\nTRANSP:SEMI\nTIMES",
            6,
            "TRANSP \"SEMI\" is neither",
            "read as OPAQUE",
            |e| {
                assert_eq!(e.transp.as_deref(), Some("OPAQUE"));
            },
        ),
        (
            "UID:a\nSEQUENCE:1.0\nTIMES",
            6,
            "SEQUENCE \"1.0\" is not an integer",
            "read as 1",
            |e| {
                assert_eq!(e.sequence, 1);
            },
        ),
        ("UID:a\nRRULE:\nTIMES", 6, "empty RRULE", "dropped", |e| {
            assert!(!e.is_recurring())
        }),
        (
            "UID:a\nRRULE:FREQ=DAILY;COUNT=-1\nTIMES",
            6,
            "COUNT \"-1\"",
            "RRULE dropped",
            |e| {
                assert!(!e.is_recurring());
            },
        ),
        (
            "UID:a\nRRULE:FREQ=DAILY;COUNT=2;X-A=1\nTIMES",
            6,
            "unknown X- rule parts",
            "ignored",
            |e| {
                assert!(e.text.contains("RRULE:FREQ=DAILY;COUNT=2\r\n"));
            },
        ),
        (
            "UID:a\nEXRULE:FREQ=DAILY\nTIMES",
            6,
            "EXRULE",
            "ignored",
            |e| {
                assert!(!e.text.contains("EXRULE"));
            },
        ),
        ("UID:a\nRDATE:\nTIMES", 6, "empty RDATE", "dropped", |e| {
            assert!(!e.is_recurring())
        }),
        (
            "UID:a\nRDATE;VALUE=PERIOD:20260107/20260107T120000Z\nTIMES",
            6,
            "RDATE value \"20260107/20260107T120000Z\" is not in iCalendar form",
            "read as 20260107T000000Z/20260107T120000Z",
            |e| assert!(e.is_recurring()),
        ),
        (
            "UID:a\nDTSTART;TZID=Western/Central Europe:20260105T090000\nDTEND:20260105T100000",
            6,
            "unknown time zone \"Western/Central Europe\"",
            "read as floating time",
            |e| assert!(e.text.contains("DTSTART:20260105T090000\r\n")),
        ),
        (
            "UID:a\nDTSTART:2026-01-05T09:00:00Z\nDTEND:20260105T100000Z",
            6,
            "DTSTART value \"2026-01-05T09:00:00Z\" is not in iCalendar form",
            "read as 20260105T090000Z",
            |_| {},
        ),
        (
            "UID:a\nDTSTART;VALUE=DATE:20260105T000000",
            6,
            "not in iCalendar form",
            "read as 20260105",
            |_| {},
        ),
        (
            "UID:a\nDTSTART:20260105T100000Z\nDTEND:20260105T090000Z",
            7,
            "ends (20260105T090000Z) before DTSTART",
            "DTSTART and DTEND exchanged",
            |e| assert!(e.text.contains("DTSTART:20260105T090000Z")),
        ),
        (
            "UID:a\nDTSTART:20260105T090000Z\nDTEND;VALUE=DATE:20260106",
            7,
            "one of DTSTART and DTEND is a DATE",
            "DTEND read as 20260106T000000Z",
            |_| {},
        ),
        (
            "UID:a\nDTSTART:20260105T090000Z\nDTEND:20260105T100000\n",
            7,
            "must both be floating",
            "DTEND dropped",
            |_| {},
        ),
        (
            "UID:a\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nDURATION:PT2H",
            8,
            "DTEND and DURATION both present",
            "DURATION dropped",
            |_| {},
        ),
        (
            "UID:a\nDTSTART:20260105T090000Z\nDURATION:-PT1H",
            7,
            "DURATION \"-PT1H\" is negative",
            "DTSTART moved to 20260105T080000Z",
            |e| assert!(e.text.contains("DURATION:PT1H")),
        ),
        ("UID:a\nX\nTIMES", 6, "no ':'", "line skipped", |_| {}),
        (
            "UID:a\nX-APPLE-RADIUS=49.9\nTIMES",
            6,
            "no ':'",
            "line skipped",
            |_| {},
        ),
        (
            "UID:a\nX-MS OLK:1\nTIMES",
            6,
            "white space inside",
            "removed",
            |e| {
                assert!(e.text.contains("X-MSOLK:1"));
            },
        ),
        (
            "UID:a\nORGANIZER;CN=\"Doe, J:mailto:j@example.com\nTIMES",
            6,
            "never closed",
            "ordinary character",
            |e| assert_eq!(e.organizer.as_deref(), Some("mailto:j@example.com")),
        ),
    ];
    for (body, line, problem, action, check) in cases {
        let text = wrap(&body.replace("TIMES", TIMES));
        // An invalid TRANSP is read as OPAQUE in strict mode too (it is no reason to refuse).
        let parsed = if body.contains("SEMI") {
            parse_calendar(text.as_bytes(), &ParseOptions::strict()).unwrap()
        } else {
            lenient(&text)
        };
        assert_eq!(parsed.events.len(), 1, "{body}: {:#?}", parsed.notes);
        has_note(&parsed, *line, problem, action);
        let event = &parsed.events[0];
        check(event);
        // Every note of the event carries its UID, and its text reads back strictly.
        assert!(
            parsed
                .notes
                .iter()
                .all(|n| n.uid.as_deref() == Some(event.uid.as_str()))
        );
        assert_eq!(
            parse_events(event.text.as_bytes()).unwrap(),
            vec![event.clone()]
        );
    }
}

#[test]
fn derived_uid_is_stable_and_ignores_dtstamp() {
    let a = lenient(&wrap(
        "DTSTAMP:20260101T000000Z\nDTSTART:20260105T090000Z\nSUMMARY:x",
    ));
    let b = lenient(&wrap(
        "DTSTAMP:20270909T000000Z\nDTSTART:20260105T090000Z\nSUMMARY:x",
    ));
    let c = lenient(&wrap(
        "DTSTAMP:20260101T000000Z\nDTSTART:20260105T090000Z\nSUMMARY:y",
    ));
    assert_eq!(a.events[0].uid, b.events[0].uid);
    assert_ne!(a.events[0].uid, c.events[0].uid);
    assert_eq!(
        a.events[0].uid,
        "calstore-derived-".to_owned() + &a.events[0].uid[17..]
    );
}

#[test]
fn unreadable_events_are_skipped_and_the_rest_kept() {
    for (body, problem) in [
        ("UID:a\nSUMMARY:no start", "no DTSTART"),
        (
            "UID:a\nDTSTART:00000101T000000Z",
            "year 0000 does not exist",
        ),
        ("UID:a\nDTSTART:tomorrow", "invalid date \"tomorrow\""),
    ] {
        let text = wrap(&format!(
            "{body}\nEND:VEVENT\nBEGIN:VEVENT\nUID:ok\n{TIMES}"
        ));
        let parsed = lenient(&text);
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].uid, "ok");
        has_note(&parsed, 4, problem, "event skipped");
        assert_eq!(
            parsed.notes.last().and_then(|n| n.uid.as_deref()),
            Some("a")
        );
    }
}

#[test]
fn structure_repairs() {
    let ev = |uid: &str, day: u32| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:202601{day:02}T090000Z\r\n\
             DTEND:202601{day:02}T100000Z\r\nEND:VEVENT\r\n"
        )
    };
    let head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n";
    // (input, expected UIDs, line, problem, action)
    let cases: Vec<(String, Vec<&str>, usize, &str, &str)> = vec![
        (
            format!("X-LOOSE:1\r\n{head}{}END:VCALENDAR\r\n", ev("a", 5)),
            vec!["a"],
            1,
            "X-LOOSE outside of any component",
            "line skipped",
        ),
        (
            format!("{head}{}END:VCALENDARD\r\n", ev("a", 5)),
            vec!["a"],
            8,
            "END:VCALENDARD does not match BEGIN:VCALENDAR at line 1",
            "read as END:VCALENDAR",
        ),
        (
            format!(
                "{head}BEGIN:VTODO\r\nUID:t\r\nEND:VTOOD\r\n{}END:VCALENDAR\r\n",
                ev("a", 5)
            ),
            vec!["a"],
            5,
            "END:VTOOD does not match BEGIN:VTODO",
            "read as END:VTODO",
        ),
        (
            format!(
                "{head}BEGIN:X-WRAP\r\n{}END:X-WRAP\r\nEND:VCALENDAR\r\n",
                ev("a", 5)
            ),
            vec!["a"],
            4,
            "VEVENT cannot be nested inside X-WRAP",
            "read as an event",
        ),
        (
            format!(
                "{head}BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260105T090000Z\r\n{}END:VCALENDAR\r\n",
                ev("b", 6)
            ),
            vec!["a", "b"],
            6,
            "VEVENT cannot be nested inside VEVENT",
            "the open VEVENT ended before it",
        ),
        (
            format!("{head}{}", ev("a", 5)),
            vec!["a"],
            1,
            "missing END:VCALENDAR",
            "closed at the end of the input",
        ),
        (
            format!("{head}{}BEGIN:VEVENT\r\nUID:cut\r\n", ev("a", 5)),
            vec!["a"],
            8,
            "VEVENT never closed",
            "event skipped",
        ),
        (
            format!("{head}{}END:VEVENT\r\nEND:VCALENDAR\r\n", ev("a", 5)),
            vec!["a"],
            8,
            "END:VEVENT does not match BEGIN:VCALENDAR",
            "line skipped",
        ),
        (
            format!(" stray\r\n{head}{}END:VCALENDAR\r\n", ev("a", 5)),
            vec!["a"],
            1,
            "continuation line",
            "line skipped",
        ),
        (
            format!("{head}BEGIN:\r\n{}END:VCALENDAR\r\n", ev("a", 5)),
            vec!["a"],
            3,
            "invalid component name",
            "line skipped",
        ),
    ];
    for (text, uids, line, problem, action) in cases {
        let parsed = lenient(&text);
        let got: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
        assert_eq!(got, uids, "{text}");
        has_note(&parsed, line, problem, action);
    }
}

#[test]
fn encoding_and_long_values() {
    let text = wrap(&format!("UID:a\nSUMMARY:Z\u{fc}rich\n{TIMES}")).replace('\u{fc}', "\u{1}");
    let bytes: Vec<u8> = text
        .bytes()
        .map(|b| if b == 1 { 0xFC } else { b })
        .collect();
    assert!(
        parse_events(&bytes)
            .unwrap_err()
            .0
            .contains("invalid UTF-8")
    );
    let parsed = parse_calendar(&bytes, &ParseOptions::default()).unwrap();
    assert_eq!(parsed.events[0].summary.as_deref(), Some("Zürich"));
    has_note(&parsed, 6, "not UTF-8", "decoded as Windows-1252");

    let long = "x".repeat(MAX_PROPERTY_VALUE_LEN + 1);
    let text = wrap(&format!(
        "UID:a\nX-ALT-DESC;FMTTYPE=text/html:{long}\n{TIMES}"
    ));
    let parsed = lenient(&text);
    assert!(!parsed.events[0].text.contains("X-ALT-DESC"));
    has_note(
        &parsed,
        6,
        "X-ALT-DESC: value is 65537 bytes long",
        "line skipped",
    );
}

#[test]
fn control_characters_are_removed_and_named() {
    // A NUL and a vertical tab inside a SUMMARY (after the UID: the note still names the
    // event), a DEL before it in a line of its own event.
    let text = wrap(&format!(
        "SUMMARY:a\u{7f}b\nUID:ctl\nDESCRIPTION:x\0y\u{b}z\n{TIMES}"
    ));
    let parsed = lenient(&text);
    let e = &parsed.events[0];
    assert_eq!(e.summary.as_deref(), Some("ab"));
    assert!(e.text.contains("DESCRIPTION:xyz"), "{}", e.text);
    has_note(&parsed, 5, "the control character U+007F", "removed");
    has_note(
        &parsed,
        7,
        "the control characters U+0000, U+000B",
        "removed",
    );
    assert!(
        parsed.notes.iter().all(|n| n.uid.as_deref() == Some("ctl")),
        "{:#?}",
        parsed.notes
    );
    // Strictly: the first one is the error, naming its line and (once read) the UID.
    let err = parse_calendar(text.as_bytes(), &ParseOptions::strict())
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "line 5: the control character U+007F (not allowed in iCalendar text)"
    );
    let later = text.replace("SUMMARY:a\u{7f}b", "SUMMARY:ab");
    let err = parse_calendar(later.as_bytes(), &ParseOptions::strict())
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "line 7 (UID \"ctl\"): the control characters U+0000, U+000B (not allowed in \
         iCalendar text)"
    );
}

#[test]
fn what_stays_refused() {
    for (input, msg) in [
        (
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..],
            "binary data, not iCalendar text",
        ),
        (
            &[&b"BEGIN:VCALENDAR\r\n\0\x01\x02"[..], &[0; 64]].concat()[..],
            "binary data, not iCalendar text",
        ),
        (b"{\"events\": []}", "no iCalendar data"),
        (b"", "no iCalendar data"),
        (b"<html><body>BEGIN</body></html>", "no iCalendar data"),
    ] {
        let err = parse_calendar(input, &ParseOptions::default())
            .unwrap_err()
            .0;
        assert!(err.starts_with(msg), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    let deep = "BEGIN:VCALENDAR\r\n".to_owned() + &"BEGIN:X\r\n".repeat(40);
    let err = parse_calendar(deep.as_bytes(), &ParseOptions::default())
        .unwrap_err()
        .0;
    assert!(err.contains("nested deeper than 32"), "{err}");
}

#[test]
fn strict_mode_keeps_todays_errors() {
    let text = wrap("DTSTART:20260105T090000Z");
    assert_eq!(
        parse_calendar(text.as_bytes(), &ParseOptions::strict()).unwrap_err(),
        parse_events(text.as_bytes()).unwrap_err()
    );
    assert_eq!(
        parse_events(text.as_bytes()).unwrap_err().0,
        "VEVENT at line 4: no UID"
    );
}

#[test]
fn notes_are_bounded() {
    let body: String = (0..50).map(|i| format!("X{i}\n")).collect();
    let text = wrap(&format!("UID:a\n{body}{TIMES}"));
    let parsed = parse_calendar(
        text.as_bytes(),
        &ParseOptions {
            strict: false,
            max_notes: 10,
        },
    )
    .unwrap();
    assert_eq!(parsed.notes.len(), 10);
    assert_eq!(parsed.notes_omitted, 40);
}

#[test]
fn x_wr_timezone_and_outlook_all_day_overrides() {
    let text = "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:America/New_York\r\nBEGIN:VEVENT\r\nUID:g\r\n\
                DTSTART:20260105T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let parsed = parse_calendar(text.as_bytes(), &ParseOptions::strict()).unwrap();
    assert_eq!(parsed.x_wr_timezone.as_deref(), Some("America/New_York"));
    assert!(
        parsed.events[0]
            .text
            .contains("DTSTART;TZID=America/New_York:20260105T090000")
    );

    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:o\r\nDTSTART;VALUE=DATE:20260413\r\n\
                RRULE:FREQ=DAILY;COUNT=5\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:o\r\n\
                RECURRENCE-ID;TZID=GMT Standard Time:20260416T000000\r\n\
                DTSTART;VALUE=DATE:20260416\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let parsed = parse_calendar(text.as_bytes(), &ParseOptions::strict()).unwrap();
    assert_eq!(
        parsed.events[1].recurrence_id().as_deref(),
        Some("20260416")
    );
    has_note(
        &parsed,
        9,
        "at midnight but the series is all-day",
        "read as the DATE 20260416",
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Arbitrary bytes and mutated corpus calendars never make the lenient parser panic, and
    /// every event it returns has a text the strict parser reads back.
    #[test]
    fn lenient_parser_never_panics(
        seed in 0usize..1000,
        edits in proptest::collection::vec((0usize..100_000, proptest::prelude::any::<u8>(), 0u8..4), 0..12),
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
    ) {
        let names = corpus_names("");
        let name = &names[seed % names.len()];
        let mut data = std::fs::read(corpus_dir().join(format!("{name}.ics"))).unwrap();
        if data.len() > 20_000 {
            data.truncate(20_000);
        }
        for (at, byte, op) in edits {
            let at = at % (data.len() + 1);
            match op {
                0 => data.insert(at, byte),
                1 if at < data.len() => { data.remove(at); }
                2 if at < data.len() => data[at] = byte,
                _ => data.insert(at, [b'\r', b'\n', b':', b';', b'"', b' '][usize::from(byte) % 6]),
            }
        }
        for input in [&data[..], &noise[..]] {
            if let Ok(parsed) = parse_calendar(input, &ParseOptions::default()) {
                for e in &parsed.events {
                    proptest::prop_assert!(parse_events(e.text.as_bytes()).is_ok(), "{}", e.text);
                    let _ = e.instances(&ExpandContext::new(Tz::UTC, parse_utc("20270101T000000Z").unwrap()));
                }
            }
        }
    }
}

#[test]
fn the_past_can_be_bounded() {
    let text = wrap("UID:old\nDTSTART:19700101T080000Z\nDURATION:PT15M\nRRULE:FREQ=DAILY");
    let event = &parse_events(text.as_bytes()).unwrap()[0];
    let ctx = ExpandContext::new(Tz::UTC, parse_utc("20270101T000000Z").unwrap());
    let all = event.instances(&ctx).unwrap();
    assert_eq!(all.instances.len(), 20_819);
    let from = parse_utc("20251122T081000Z").unwrap();
    let bounded = event.instances_from(&ctx, from).unwrap();
    // From the instance of 2025-11-22 (still running at 08:10) to 2026-12-31.
    assert_eq!(bounded.instances.len(), 405);
    assert_eq!(format_utc(bounded.instances[0].start), "20251122T080000Z");
    assert!(bounded.truncated);
    // The cap counts only what is kept.
    let capped = ExpandContext {
        max_instances: 500,
        ..ctx
    };
    assert!(event.instances(&capped).is_err());
    assert!(event.instances_from(&capped, from).is_ok());
}
