//! Issue 10 through the store: the lenient import (repair notes in the report, `--strict`
//! refusing instead, what stays refused), the bounded past, the order of copies of one event,
//! newer parents obsoleting stored overrides, and received VFREEBUSY clipped to its range.

use calstore_core::ical::{self, DERIVED_UID_PREFIX, ParseOptions};
use calstore_core::{RecordOptions, Source, SqlConnection, StoreError};
use chrono::{DateTime, TimeDelta, Utc};

use crate::support::*;

/// Record options with the clock at `now` (the past bounded a year before it) and the
/// window ending at `end`.
fn at(now: &str, end: &str) -> RecordOptions {
    RecordOptions {
        window_end: ts(end),
        ..RecordOptions::new(ts(now))
    }
}

fn strict(opts: &RecordOptions) -> RecordOptions {
    RecordOptions {
        parse: ParseOptions::strict(),
        ..opts.clone()
    }
}

const USER: &str = "mailto:lenient@example.com";

/// [`calendar_of`] over owned lines.
fn cal(events: &[Vec<String>]) -> String {
    let events: Vec<Vec<&str>> = events
        .iter()
        .map(|e| e.iter().map(String::as_str).collect())
        .collect();
    let events: Vec<&[&str]> = events.iter().map(Vec::as_slice).collect();
    calendar_of(&events)
}

/// A lenient import repairs or skips what it cannot read and reports each repair (line, UID,
/// problem, action) with its source; strictly the same input is refused and nothing is
/// written; what no mainstream implementation reads stays refused either way.
pub fn lenient_import_reports_notes_strict_refuses<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = at("20260101T000000Z", "20270101T000000Z");
    // Line 4: good; line 9: no UID (derived); line 13: no DTSTART (skipped).
    let ics = calendar_of(&[
        &[
            "UID:good@example.com",
            "DTSTART:20260105T090000Z",
            "DTEND:20260105T100000Z",
        ],
        &["DTSTART:20260106T090000Z", "DTEND:20260106T100000Z"],
        &["UID:nostart@example.com", "SUMMARY:no start"],
    ]);
    // Strictly: refused, nothing written.
    assert_invalid(s.import_ics(USER, ics.as_bytes(), &strict(&opts), &mut |_, _| {}));
    assert_nothing_written(&mut s, USER);
    // Leniently (the default): two events kept, two notes.
    let report = s
        .import_sources(
            USER,
            &[Source::named("cal.ics", ics.as_bytes())],
            None,
            &opts,
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!((report.parents, report.periods), (2, 2));
    let notes: Vec<(usize, Option<&str>, &str)> = report
        .notes
        .iter()
        .map(|n| (n.note.line, n.source.as_deref(), n.note.problem.as_str()))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!((notes[0].0, notes[0].1), (9, Some("cal.ics")));
    assert!(notes[0].2.contains("no UID"), "{notes:?}");
    assert_eq!(notes[1].0, 13);
    assert!(notes[1].2.contains("no DTSTART"), "{notes:?}");
    assert_eq!(
        report.notes[1].note.uid.as_deref(),
        Some("nostart@example.com")
    );
    assert!(report.notes[1].note.action.contains("skipped"));
    assert!(
        report.notes[0]
            .to_string()
            .starts_with("cal.ics: line 9 (UID ")
    );
    let events = s.get_events(USER).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().any(|u| u.starts_with(DERIVED_UID_PREFIX)));
    // The same file again: the derived UID is the same, nothing is duplicated.
    s.import_ics(USER, ics.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(s.get_events(USER).unwrap(), events);
    assert_eq!(s.get_freebusy(USER).unwrap().len(), 2);
    // Rewrites that every reading makes are noted in strict mode too.
    let outlook = calendar_of(&[
        &[
            "UID:allday@example.com",
            "DTSTART;VALUE=DATE:20260105",
            "RRULE:FREQ=DAILY;COUNT=3",
        ],
        &[
            "UID:allday@example.com",
            "RECURRENCE-ID:20260106T000000",
            "DTSTART;VALUE=DATE:20260108",
        ],
    ]);
    let report = s
        .import_ics(USER, outlook.as_bytes(), &strict(&opts), &mut |_, _| {})
        .unwrap();
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert_eq!(report.notes[0].source, None);
    // At most `max_notes` kept, the rest counted.
    let many: Vec<Vec<String>> = (0..5)
        .map(|i| vec![format!("DTSTART:2026011{i}T090000Z")])
        .collect();
    let capped = RecordOptions {
        parse: ParseOptions {
            max_notes: 2,
            ..ParseOptions::lenient()
        },
        ..opts.clone()
    };
    let report = s
        .import_ics(USER, cal(&many).as_bytes(), &capped, &mut |_, _| {})
        .unwrap();
    assert_eq!((report.notes.len(), report.notes_omitted), (2, 3));
    // Still refused leniently, with nothing written for the user: binary data, no calendar
    // at all (JSON, an empty input), runaway nesting, and input whose every event was skipped.
    let other = "mailto:refused@example.com";
    let nested = format!(
        "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
        "BEGIN:X-A\r\n".repeat(40)
    );
    let skipped = calendar(&["UID:x", "SUMMARY:no start"]);
    for input in [
        &b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"[..],
        &[&b"BEGIN:VCALENDAR\r\n"[..], &[0; 65]].concat()[..],
        b"{\"events\": []}",
        b"",
        nested.as_bytes(),
        skipped.as_bytes(),
    ] {
        assert_invalid(s.import_ics(other, input, &opts, &mut |_, _| {}));
    }
    assert!(!s.user_exists(other).unwrap());
    // One bad source refuses the whole import, the good one included.
    let good = calendar(&["UID:ok", "DTSTART:20260105T090000Z"]);
    assert_invalid(s.import_sources(
        other,
        &[
            Source::named("good.ics", good.as_bytes()),
            Source::named("bad.ics", b"\x00"),
        ],
        None,
        &opts,
        &mut |_, _| {},
    ));
    assert!(!s.user_exists(other).unwrap());
}

/// Occurrences of a recurring event that end before `window_start` (default a year before
/// now) are not materialised and do not count towards the instance cap: a daily rule from
/// 1970 stores two years (the bounded past and the window), not 20 000 periods. A single old
/// event keeps its period; THISANDFUTURE occurrences moved across the bound are found;
/// `extend_freebusy` keeps the bound of its clock (or the one it is given).
pub fn bounded_past_limits_materialised_periods<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    let daily = calendar(&[
        "UID:daily1970@example.com",
        "DTSTART:19700101T090000Z",
        "DURATION:PT1H",
        "RRULE:FREQ=DAILY",
    ]);
    let opts = at("20260101T000000Z", "20270101T000000Z");
    let days = |from: &str, to: &str| usize::try_from((ts(to) - ts(from)).num_days()).unwrap();
    s.import_ics(USER, daily.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    let fb = s.get_freebusy(USER).unwrap();
    assert_eq!(fb.len(), days("20250101T000000Z", "20270101T000000Z"));
    assert_eq!(format_start(&fb[0].start), "20250101T090000Z");
    // Not counted towards the cap either.
    let capped = RecordOptions {
        max_instances: 1000,
        ..opts.clone()
    };
    s.import_ics(USER, daily.as_bytes(), &capped, &mut |_, _| {})
        .unwrap();
    // An explicit bound (the CLI's --expand-from): the whole history.
    let all = RecordOptions {
        window_start: DateTime::<Utc>::MIN_UTC,
        ..opts.clone()
    };
    let report = s
        .import_ics(USER, daily.as_bytes(), &all, &mut |_, _| {})
        .unwrap();
    assert_eq!(report.periods, days("19700101T000000Z", "20270101T000000Z"));
    assert_invalid(s.import_ics(
        USER,
        daily.as_bytes(),
        &RecordOptions {
            max_instances: 1000,
            ..all.clone()
        },
        &mut |_, _| {},
    ));
    // A single old event and an old override keep their period.
    let old = calendar(&[
        "UID:old@example.com",
        "DTSTART:20000105T090000Z",
        "DTEND:20000105T100000Z",
    ]);
    s.import_ics(USER, old.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    assert!(
        s.get_freebusy(USER)
            .unwrap()
            .iter()
            .any(|p| p.uid.as_deref() == Some("old@example.com"))
    );
    // THISANDFUTURE moving the occurrences from 2024-06-01 on a year later: those that ended
    // before the bound before the move are after it once moved.
    let moved = calendar_of(&[
        &[
            "UID:taf@example.com",
            "DTSTART:20240101T100000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=400",
        ],
        &[
            "UID:taf@example.com",
            "RECURRENCE-ID;RANGE=THISANDFUTURE:20240601T100000Z",
            "DTSTART:20250601T100000Z",
            "DURATION:PT1H",
        ],
    ]);
    let taf = "mailto:taf-bounded@example.com";
    s.import_ics(taf, moved.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    let fb = s.get_freebusy(taf).unwrap();
    // Instances 152..400 (2024-06-01 on), each a year later; none before.
    assert_eq!(fb.len(), 400 - 152);
    assert_eq!(format_start(&fb[0].start), "20250601T100000Z");
    // Extension keeps the bound: of the clock's now by default, or the one given.
    let open_ended = calendar(&[
        "UID:weekly@example.com",
        "DTSTART:20200106T090000Z",
        "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY",
    ]);
    let ext = "mailto:extend-bounded@example.com";
    s.import_ics(
        ext,
        open_ended.as_bytes(),
        &at("20260101T000000Z", "20260201T000000Z"),
        &mut |_, _| {},
    )
    .unwrap();
    clock.set(ts("20260101T000000Z"));
    s.extend_freebusy(ext, ts("20270101T000000Z"), chrono_tz::Tz::UTC)
        .unwrap();
    let fb = s.get_freebusy(ext).unwrap();
    assert!(fb[0].start >= ts("20250101T000000Z") - TimeDelta::days(7));
    assert!(fb[0].start < ts("20250101T000000Z") + TimeDelta::days(7));
    s.extend_freebusy_with(ext, ts("20270101T000000Z"), &all)
        .unwrap();
    assert_eq!(
        format_start(&s.get_freebusy(ext).unwrap()[0].start),
        "20200106T090000Z"
    );
}

fn format_start(t: &DateTime<Utc>) -> String {
    ical::format_utc(*t)
}

/// Copies of one (uid, rid) in one import: the higher SEQUENCE wins, then the later DTSTAMP,
/// then (a full tie, or a copy without DTSTAMP) the later copy.
pub fn copies_of_one_event_newest_wins<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = at("20260101T000000Z", "20270101T000000Z");
    let copy = |seq: &str, stamp: Option<&str>, hour: &str| -> Vec<String> {
        let mut lines = vec![
            "UID:dup@example.com".to_owned(),
            format!("SEQUENCE:{seq}"),
            format!("DTSTART:20260105T{hour}0000Z"),
            "DURATION:PT1H".to_owned(),
        ];
        if let Some(stamp) = stamp {
            lines.push(format!("DTSTAMP:{stamp}"));
        }
        lines
    };
    let start_of = |s: &mut calstore_core::Store<C>, copies: &[Vec<String>]| {
        s.import_ics(USER, cal(copies).as_bytes(), &opts, &mut |_, _| {})
            .unwrap();
        starts(&s.get_freebusy(USER).unwrap())
    };
    // Higher SEQUENCE first in the file.
    let got = start_of(&mut s, &[copy("2", None, "09"), copy("1", None, "10")]);
    assert_eq!(got, ["20260105T090000Z"]);
    // Same SEQUENCE: the later DTSTAMP, wherever it is.
    let got = start_of(
        &mut s,
        &[
            copy("1", Some("20260102T000000Z"), "11"),
            copy("1", Some("20260101T000000Z"), "12"),
        ],
    );
    assert_eq!(got, ["20260105T110000Z"]);
    // A full tie, or a DTSTAMP missing: the later copy.
    let got = start_of(
        &mut s,
        &[
            copy("1", Some("20260101T000000Z"), "13"),
            copy("1", Some("20260101T000000Z"), "14"),
        ],
    );
    assert_eq!(got, ["20260105T140000Z"]);
    let got = start_of(
        &mut s,
        &[
            copy("1", Some("20260103T000000Z"), "15"),
            copy("1", None, "16"),
        ],
    );
    assert_eq!(got, ["20260105T160000Z"]);
}

/// A parent newer than the stored one obsoletes the stored overrides of earlier writes
/// (RFC 5546 §2.1.5): those with a lower SEQUENCE, active or cancelled, and those whose
/// instance it EXDATEs. Within one write an older override still applies, a re-sent parent
/// of the same SEQUENCE keeps the overrides, and an older parent removes nothing.
pub fn newer_parent_obsoletes_stored_overrides<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = at("20260101T000000Z", "20270101T000000Z");
    let parent_lines = |seq: &str, extra: &[&str]| -> Vec<String> {
        let lines: Vec<String> = [
            "UID:series@example.com",
            seq,
            "DTSTART:20260105T090000Z",
            "DTEND:20260105T100000Z",
            "RRULE:FREQ=WEEKLY;COUNT=5",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(str::to_owned)
        .collect();
        lines
    };
    let parent = |seq: &str, extra: &[&str]| cal(&[parent_lines(seq, extra)]);
    let over = |seq: &str, rid: &str, start: &str| -> Vec<String> {
        vec![
            "UID:series@example.com".to_owned(),
            seq.to_owned(),
            format!("RECURRENCE-ID:{rid}"),
            format!("DTSTART:{start}"),
            "DURATION:PT1H".to_owned(),
        ]
    };
    let import = |s: &mut calstore_core::Store<C>, text: &str| {
        s.import_ics(USER, text.as_bytes(), &opts, &mut |_, _| {})
            .unwrap()
    };
    let recs =
        |s: &mut calstore_core::Store<C>| s.get_recurrences(USER, "series@example.com").unwrap();
    // One write: parent SEQUENCE 1, an override of SEQUENCE 1 and one of SEQUENCE 0.
    let o1 = over("SEQUENCE:1", "20260112T090000Z", "20260112T150000Z");
    let o2 = over("SEQUENCE:0", "20260119T090000Z", "20260119T150000Z");
    let report = import(&mut s, &cal(&[parent_lines("SEQUENCE:1", &[]), o1, o2]));
    assert_eq!(report.obsolete_overrides, 0);
    let moved = [
        "20260105T090000Z",
        "20260112T150000Z",
        "20260119T150000Z",
        "20260126T090000Z",
        "20260202T090000Z",
    ];
    assert_eq!(starts(&s.get_freebusy(USER).unwrap()), moved);
    // The parent again with the same SEQUENCE: the overrides stay.
    let report = import(&mut s, &parent("SEQUENCE:1", &[]));
    assert_eq!(report.obsolete_overrides, 0);
    assert_eq!(recs(&mut s).len(), 2);
    // A newer parent (SEQUENCE 2): both overrides (SEQUENCE 1 and 0) are obsolete, the
    // cancelled one too.
    s.record_cancellation(USER, "series@example.com", Some("20260119T090000Z"), &opts)
        .unwrap();
    let report = import(&mut s, &parent("SEQUENCE:2", &[]));
    assert_eq!(report.obsolete_overrides, 2);
    assert!(recs(&mut s).is_empty());
    assert!(
        s.get_cancelled_recurrences(USER, "series@example.com")
            .unwrap()
            .is_empty()
    );
    let original = [
        "20260105T090000Z",
        "20260112T090000Z",
        "20260119T090000Z",
        "20260126T090000Z",
        "20260202T090000Z",
    ];
    assert_eq!(starts(&s.get_freebusy(USER).unwrap()), original);
    // An override of SEQUENCE 2 (recorded alone, as scheduling does). An older parent
    // removes nothing, even with an EXDATE of its instance.
    let o3 = over("SEQUENCE:2", "20260126T090000Z", "20260126T170000Z");
    s.record_event(USER, &event(&cal(&[o3])), &opts).unwrap();
    import(&mut s, &parent("SEQUENCE:1", &["EXDATE:20260126T090000Z"]));
    assert_eq!(recs(&mut s).len(), 1);
    // A newer parent does not remove an override of its own SEQUENCE.
    let report = import(&mut s, &parent("SEQUENCE:2", &[]));
    assert_eq!(report.obsolete_overrides, 0);
    assert_eq!(recs(&mut s).len(), 1);
    // The parent of the same SEQUENCE EXDATEs its instance: the modification was deleted.
    // Through record_event (the scheduling path) as through an import.
    let with_exdate = parent("SEQUENCE:2", &["EXDATE:20260126T090000Z"]);
    s.record_event(USER, &event(&with_exdate), &opts).unwrap();
    assert!(recs(&mut s).is_empty());
    assert_eq!(
        starts(&s.get_freebusy(USER).unwrap()),
        [
            "20260105T090000Z",
            "20260112T090000Z",
            "20260119T090000Z",
            "20260202T090000Z"
        ]
    );
}

/// A received VFREEBUSY keeps only what lies inside its DTSTART..DTEND: periods reaching
/// outside are clipped, periods wholly outside left out, so that a later VFREEBUSY for a
/// range replaces everything held for it and nothing leaks into neighbouring ranges.
pub fn received_vfreebusy_clipped_to_its_range<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let vfb = |start: &str, end: &str, periods: &str| {
        let text = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n\
             UID:fb\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n{periods}\
             END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
        );
        ical::parse_freebusy(text.as_bytes()).unwrap()
    };
    let first = vfb(
        "20260105T000000Z",
        "20260110T000000Z",
        "FREEBUSY:20260104T220000Z/20260105T020000Z,20260106T100000Z/PT1H\r\n\
         FREEBUSY:20260112T100000Z/PT1H\r\nFREEBUSY:20260109T230000Z/20260110T030000Z\r\n\
         FREEBUSY;FBTYPE=FREE:20260107T100000Z/PT1H\r\n",
    );
    assert_eq!(s.import_freebusy_for_other(USER, PAUL, &first).unwrap(), 3);
    let held = |s: &mut calstore_core::Store<C>| {
        s.get_freebusy_for_other(USER, PAUL)
            .unwrap()
            .iter()
            .map(|p| format!("{}/{}", ical::format_utc(p.start), ical::format_utc(p.end)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held(&mut s),
        [
            "20260105T000000Z/20260105T020000Z",
            "20260106T100000Z/20260106T110000Z",
            "20260109T230000Z/20260110T000000Z",
        ]
    );
    // The next range: what was held for the first stays.
    let next = vfb(
        "20260110T000000Z",
        "20260115T000000Z",
        "FREEBUSY:20260111T080000Z/PT1H\r\n",
    );
    s.import_freebusy_for_other(USER, PAUL, &next).unwrap();
    assert_eq!(held(&mut s).len(), 4);
    // The first range again, now free: everything held for it is replaced.
    let free = vfb("20260105T000000Z", "20260110T000000Z", "");
    s.import_freebusy_for_other(USER, PAUL, &free).unwrap();
    assert_eq!(held(&mut s), ["20260111T080000Z/20260111T090000Z"]);
    // Unreadable input is still an error of the caller's parse, and an inverted range is
    // refused by the store.
    let inverted = calstore_core::ical::FreeBusyComponent {
        start: Some(ts("20260110T000000Z")),
        end: Some(ts("20260105T000000Z")),
        ..Default::default()
    };
    assert!(matches!(
        s.import_freebusy_for_other(USER, PAUL, &[inverted]),
        Err(StoreError::InvalidData(_))
    ));
}
