//! Recording events: free/busy derived from the stored objects, conflicts, providers and
//! the window, imports (§4.5).

use calstore_core::record::{participates, transp_for};
use calstore_core::{ImportReport, Period, Providers, RecordOptions, SqlConnection, Status};
use chrono::TimeDelta;

use crate::support::*;

fn with_attendee(uid: &str, partstat: Option<&str>, extra: &[&str]) -> String {
    let attendee = match partstat {
        Some(p) => format!("ATTENDEE;PARTSTAT={p}:{RESOURCE}"),
        None => format!("ATTENDEE:{RESOURCE}"),
    };
    let uid_line = format!("UID:{uid}");
    let mut lines = vec![
        uid_line.as_str(),
        "ORGANIZER:mailto:paul.boddie@example.com",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:paul.boddie@example.com",
        attendee.as_str(),
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ];
    lines.extend_from_slice(extra);
    calendar(&lines)
}

/// Whether a user takes part (`participates`) and the transparency recorded for them
/// (`transp_for`), and what `record_event` stores for each case.
pub fn record_event_participation_and_transp<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = RecordOptions::new(t0());
    // (uid, the resource's PARTSTAT, extra lines, takes part, recorded transp)
    type Case<'a> = (&'a str, Option<&'a str>, &'a [&'a str], bool, &'a str);
    let cases: [Case<'_>; 7] = [
        ("accepted", Some("ACCEPTED"), &[], true, "OPAQUE"),
        ("tentative", Some("TENTATIVE"), &[], true, "OPAQUE"),
        ("declined", Some("DECLINED"), &[], false, "OPAQUE"),
        ("delegated", Some("DELEGATED"), &[], false, "OPAQUE"),
        ("needs-action", Some("NEEDS-ACTION"), &[], false, "OPAQUE"),
        ("no-partstat", None, &[], false, "OPAQUE"),
        (
            "transparent",
            Some("ACCEPTED"),
            &["TRANSP:TRANSPARENT"],
            true,
            "TRANSPARENT",
        ),
    ];
    for (uid, partstat, extra, takes_part, transp) in cases {
        let e = event(&with_attendee(uid, partstat, extra));
        assert_eq!(participates(&e, RESOURCE), takes_part, "{uid}");
        assert_eq!(transp_for(&e, RESOURCE), transp, "{uid}");
        let periods = s.record_event(RESOURCE, &e, &opts).unwrap();
        assert_eq!(periods.len(), usize::from(takes_part), "{uid}");
        if let Some(p) = periods.first() {
            assert_eq!(p.transp.as_deref(), Some(transp));
            assert_eq!(p.uid.as_deref(), Some(uid));
            assert_eq!(p.organiser.as_deref(), Some(PAUL));
        }
        // Stored either way.
        assert!(
            s.get_complete_event(RESOURCE, uid).unwrap().is_some(),
            "{uid}"
        );
    }
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 3);
    // The organiser always takes part; an organiser not among the attendees is ORG.
    let e = event(&with_attendee("org", Some("ACCEPTED"), &[]));
    assert!(participates(&e, PAUL));
    assert_eq!(transp_for(&e, PAUL), "OPAQUE");
    let not_attending = event(&calendar(&[
        "UID:org2",
        "ORGANIZER:mailto:vincent.vole@example.com",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:resource-room-confroom@example.com",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ]));
    assert!(participates(&not_attending, VINCENT));
    assert_eq!(transp_for(&not_attending, VINCENT), "ORG");
    let p = s.record_event(VINCENT, &not_attending, &opts).unwrap();
    assert_eq!(p[0].transp.as_deref(), Some("ORG"));
    // A user not named in the event is recording their own calendar.
    let own = event(&calendar(&[
        "UID:own",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ]));
    assert!(participates(&own, HARVEY));
    assert_eq!(transp_for(&own, HARVEY), "OPAQUE");
    // A cancelled event (STATUS:CANCELLED) has no periods.
    let cancelled = event(&with_attendee(
        "cancelled",
        Some("ACCEPTED"),
        &["STATUS:CANCELLED"],
    ));
    assert!(
        s.record_event(RESOURCE, &cancelled, &opts)
            .unwrap()
            .is_empty()
    );
}

/// TRANSPARENT and ORG periods never block a booking (imip-agent ignored TRANSP: §7.12);
/// OPAQUE ones do, except the same (uid, rid) being rescheduled.
pub fn can_schedule_transparent_does_not_block<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = RecordOptions::new(t0());
    let e = event(&with_attendee(
        "t",
        Some("ACCEPTED"),
        &["TRANSP:TRANSPARENT"],
    ));
    s.record_event(RESOURCE, &e, &opts).unwrap();
    let want = [period("20141010T083000Z", "20141010T093000Z", Some("new"))];
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 1);
    assert!(s.can_schedule(RESOURCE, &want, "new", None).unwrap());
    let mut org = period("20141010T083000Z", "20141010T084500Z", Some("o"));
    org.transp = Some("ORG".into());
    s.add_freebusy(RESOURCE, &[org]).unwrap();
    assert!(s.can_schedule(RESOURCE, &want, "new", None).unwrap());
    let opaque = event(&with_attendee("o2", Some("ACCEPTED"), &[]));
    s.record_event(RESOURCE, &opaque, &opts).unwrap();
    assert!(!s.can_schedule(RESOURCE, &want, "new", None).unwrap());
    assert!(
        s.can_schedule(RESOURCE, &want, "o2", None).unwrap(),
        "own periods"
    );
    assert!(
        !s.can_schedule(RESOURCE, &want, "o2", Some("20141010T080000Z"))
            .unwrap()
    );
    // Periods without transp count as opaque; adjacent periods do not conflict.
    s.set_freebusy(
        RESOURCE,
        &[period("20141010T093000Z", "20141010T100000Z", None)],
    )
    .unwrap();
    assert!(s.can_schedule(RESOURCE, &want, "new", None).unwrap());
    let longer = [period("20141010T083000Z", "20141010T093001Z", Some("new"))];
    assert!(!s.can_schedule(RESOURCE, &longer, "new", None).unwrap());
    assert!(s.can_schedule(RESOURCE, &[], "new", None).unwrap());
}

/// Live offers block like bookings; expired ones (at or before now) do not, even before a
/// read has purged them.
pub fn can_schedule_live_offers_block<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    let offer = calstore_core::Offer {
        period: period("20141010T141500Z", "20141010T151500Z", Some("e6")),
        expires: Some(t0() + TimeDelta::hours(1)),
    };
    s.set_freebusy_offers(RESOURCE, &[offer]).unwrap();
    let want = [period("20141010T143000Z", "20141010T150000Z", Some("e7"))];
    assert!(!s.can_schedule(RESOURCE, &want, "e7", None).unwrap());
    assert!(s.can_schedule(RESOURCE, &want, "e6", None).unwrap());
    clock.advance(TimeDelta::minutes(59));
    assert!(!s.can_schedule(RESOURCE, &want, "e7", None).unwrap());
    clock.advance(TimeDelta::minutes(1));
    assert!(s.can_schedule(RESOURCE, &want, "e7", None).unwrap());
    assert_eq!(
        count_rows(s.connection(), "freebusy_offers"),
        1,
        "not purged by a check"
    );
}

/// `refresh_freebusy` derives periods from objects stored without recording;
/// `record_cancellation` removes them, `record_uncancellation` restores them and
/// `record_removal` removes the object, its periods and its provider entry.
pub fn refresh_and_record_uncancellation_removal<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = oslo(t0());
    let e = event(&calendar(&[
        "UID:w",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
        "RRULE:FREQ=WEEKLY",
    ]));
    s.set_event(RESOURCE, "w", None, &e.text).unwrap();
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    let periods = s.refresh_freebusy(RESOURCE, "w", &opts).unwrap();
    assert_eq!(periods.len(), 15);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap(), periods);
    assert!(s.get_freebusy_providers(RESOURCE).unwrap().is_some());
    // Idempotent.
    assert_eq!(s.refresh_freebusy(RESOURCE, "w", &opts).unwrap(), periods);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 15);
    assert!(s.record_cancellation(RESOURCE, "w", None, &opts).unwrap());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_eq!(
        s.get_freebusy_providers(RESOURCE)
            .unwrap()
            .map(|p| p.providers),
        Some(vec![])
    );
    assert!(s.record_uncancellation(RESOURCE, "w", None, &opts).unwrap());
    assert!(!s.record_uncancellation(RESOURCE, "w", None, &opts).unwrap());
    assert_eq!(s.get_freebusy(RESOURCE).unwrap(), periods);
    assert_eq!(
        s.get_freebusy_providers(RESOURCE)
            .unwrap()
            .map(|p| p.providers),
        Some(vec![("w".to_owned(), None)])
    );
    assert!(s.record_removal(RESOURCE, "w", None, &opts).unwrap());
    assert!(!s.record_removal(RESOURCE, "w", None, &opts).unwrap());
    assert!(s.get_events(RESOURCE).unwrap().is_empty());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_eq!(
        s.get_freebusy_providers(RESOURCE)
            .unwrap()
            .map(|p| p.providers),
        Some(vec![])
    );
}

/// An override recorded with its parent: the parent occurrence it replaces is left out, its
/// own period is in; removing just the override restores the occurrence.
pub fn record_override_replaces_occurrence<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = oslo(t0());
    let ics = calendar_of(&[
        &[
            "UID:r",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
            "RRULE:FREQ=DAILY;COUNT=3",
        ],
        &[
            "UID:r",
            "RECURRENCE-ID:20141011T080000Z",
            "DTSTART:20141011T120000Z",
            "DTEND:20141011T130000Z",
        ],
    ]);
    let report = s
        .import_ics(RESOURCE, ics.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(report.parents, 1);
    assert_eq!(report.recurrences, 1);
    assert_eq!(report.periods, 3);
    let fb = s.get_freebusy(RESOURCE).unwrap();
    assert_eq!(
        starts(&fb),
        ["20141010T080000Z", "20141011T120000Z", "20141012T080000Z"]
    );
    assert_eq!(fb[1].recurrenceid.as_deref(), Some("20141011T080000Z"));
    assert!(
        s.record_removal(RESOURCE, "r", Some("20141011T080000Z"), &opts)
            .unwrap()
    );
    assert_eq!(
        starts(&s.get_freebusy(RESOURCE).unwrap()),
        ["20141010T080000Z", "20141011T080000Z", "20141012T080000Z"]
    );
    assert_eq!(s.get_events(RESOURCE).unwrap(), ["r"]);
}

/// `extend_freebusy` extends every provider up to a new instant, idempotently, and moves the
/// providers' datetime; with no providers it does nothing.
pub fn extend_freebusy_extends_providers<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = oslo(t0());
    let e = event(&calendar(&[
        "UID:w",
        "DTSTART;TZID=Europe/Oslo:20141016T100000",
        "DTEND;TZID=Europe/Oslo:20141016T110000",
        "RRULE:FREQ=WEEKLY",
    ]));
    s.record_event(SAUNA, &e, &opts).unwrap();
    assert_eq!(s.get_freebusy(SAUNA).unwrap().len(), 14);
    let until = t0() + TimeDelta::days(200);
    assert_eq!(
        s.extend_freebusy(SAUNA, until, chrono_tz::Europe::Oslo)
            .unwrap(),
        1
    );
    let fb = s.get_freebusy(SAUNA).unwrap();
    assert_eq!(fb.len(), 28);
    assert!(fb.iter().all(|p| p.start < until));
    assert_eq!(
        s.extend_freebusy(SAUNA, until, chrono_tz::Europe::Oslo)
            .unwrap(),
        1
    );
    assert_eq!(s.get_freebusy(SAUNA).unwrap(), fb, "idempotent");
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: Some("20150427T000000Z".into()),
            providers: vec![("w".into(), None)],
        })
    );
    assert_eq!(
        s.extend_freebusy(RESOURCE, until, chrono_tz::Europe::Oslo)
            .unwrap(),
        0
    );
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
}

/// A bounded rule reaching past the window is cut there but listed as a provider, so that
/// extending reaches its last occurrence (imip-agent lost the rest for good: §7.10).
pub fn window_cut_bounded_rule_is_provider<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = oslo(t0());
    let e = event(&calendar(&[
        "UID:c30",
        "DTSTART;TZID=Europe/Oslo:20141016T100000",
        "DTEND;TZID=Europe/Oslo:20141016T110000",
        "RRULE:FREQ=WEEKLY;COUNT=30",
    ]));
    let periods = s.record_event(SAUNA, &e, &opts).unwrap();
    assert_eq!(periods.len(), 14);
    assert_eq!(
        s.get_freebusy_providers(SAUNA)
            .unwrap()
            .map(|p| p.providers),
        Some(vec![("c30".to_owned(), None)])
    );
    s.extend_freebusy(SAUNA, t0() + TimeDelta::days(400), chrono_tz::Europe::Oslo)
        .unwrap();
    assert_eq!(s.get_freebusy(SAUNA).unwrap().len(), 30);
}

/// `import_ics` reports what it stored; the same (uid, rid) twice keeps the higher
/// SEQUENCE; progress is reported per uid; `import_events` takes parsed events.
pub fn import_ics_report_and_sequence<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = oslo(t0());
    let ics = calendar_of(&[
        &[
            "UID:a",
            "SEQUENCE:2",
            "SUMMARY:new",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
        ],
        &[
            "UID:a",
            "SEQUENCE:1",
            "SUMMARY:old",
            "DTSTART:20141011T080000Z",
            "DTEND:20141011T090000Z",
        ],
        &[
            "UID:b",
            "DTSTART:20141012T080000Z",
            "DTEND:20141012T090000Z",
            "RRULE:FREQ=DAILY",
        ],
        &[
            "UID:c",
            "DTSTART;VALUE=DATE:20141013",
            "DTEND;VALUE=DATE:20141014",
        ],
    ]);
    let mut calls = Vec::new();
    let report = s
        .import_ics(RESOURCE, ics.as_bytes(), &opts, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    assert_eq!(
        report,
        ImportReport {
            parents: 3,
            recurrences: 0,
            uids: 3,
            periods: 1 + 97 + 1,
            providers: 1,
            ..ImportReport::default()
        }
    );
    // Progress is reported after each slice of up to 500 UIDs, ending at (total, total).
    assert_eq!(calls, [(3, 3)]);
    assert_eq!(s.get_events(RESOURCE).unwrap(), ["a", "b", "c"]);
    let a = s.get_complete_event(RESOURCE, "a").unwrap().unwrap();
    assert!(a.contains("SUMMARY:new"));
    let fb = s.get_freebusy(RESOURCE).unwrap();
    let c: Vec<&Period> = fb
        .iter()
        .filter(|p| p.uid.as_deref() == Some("c"))
        .collect();
    // An all-day event is a day in the user's zone (Oslo summer time).
    assert_eq!(starts(&[c[0].clone()]), ["20141012T220000Z"]);
    assert_eq!(c[0].end - c[0].start, TimeDelta::days(1));
    // import_events: already parsed.
    let events = calstore_core::ical::parse_events(
        calendar(&[
            "UID:d",
            "DTSTART:20141020T080000Z",
            "DTEND:20141020T090000Z",
        ])
        .as_bytes(),
    )
    .unwrap();
    let report = s
        .import_events(RESOURCE, &events, &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(report.parents, 1);
    assert_eq!(report.periods, 1);
    assert_eq!(s.get_events(RESOURCE).unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(s.get_all_events(RESOURCE, Status::Active).unwrap().len(), 4);
}

/// An import is one transaction: an error in any event (here the last) leaves nothing of
/// the others. An import in pieces (one UID each here) finds it before its first piece
/// commits, so it writes nothing either.
pub fn import_is_atomic<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = RecordOptions {
        max_instances: 10,
        ..oslo(t0())
    };
    let ics = calendar_of(&[
        &[
            "UID:a",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
        ],
        &[
            "UID:b",
            "DTSTART:20141010T100000Z",
            "DTEND:20141010T110000Z",
            "RRULE:FREQ=DAILY;COUNT=5",
        ],
        &[
            "UID:z",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
            "RRULE:FREQ=HOURLY",
        ],
    ]);
    assert_invalid(s.import_ics(RESOURCE, ics.as_bytes(), &opts, &mut |_, _| {}));
    assert_nothing_written(&mut s, RESOURCE);
    let sources = [calstore_core::Source::bytes(ics.as_bytes())];
    assert_invalid(
        s.import_sources_in_pieces(RESOURCE, &sources, None, &opts, 1, &mut |_, _| {
            panic!("no piece commits")
        }),
    );
    assert_nothing_written(&mut s, RESOURCE);
}
