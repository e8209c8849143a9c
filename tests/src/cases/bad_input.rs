//! Bad input: every case is refused with `InvalidData` (or `NotFound`) before anything is
//! written — no revision, no user, no rows. Imports here read strictly (the all-or-nothing
//! reading of `ParseOptions::strict`); what the default lenient reading repairs instead is
//! in `lenient.rs`.

use std::collections::BTreeMap;

use calstore_core::ical::ParseOptions;
use calstore_core::{Offer, Period, RecordOptions, Request, SqlConnection, Store};

use crate::support::*;

fn import<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    input: &[u8],
) -> calstore_core::Result<()> {
    let opts = RecordOptions {
        parse: ParseOptions::strict(),
        ..oslo(t0())
    };
    s.import_ics(user, input, &opts, &mut |_, _| {}).map(|_| ())
}

fn ok_event(uid: &str) -> String {
    calendar(&[
        &format!("UID:{uid}"),
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ])
}

/// Malformed iCalendar — unclosed or mismatched components, a line that is not a content
/// line, no VEVENT at all, an empty input — is InvalidData and writes nothing.
pub fn bad_malformed_icalendar<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let good = ok_event("a");
    let inputs: Vec<String> = vec![
        String::new(),
        "\r\n".to_owned(),
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned(),
        good.replace("END:VEVENT\r\n", ""),
        good.replace("END:VCALENDAR\r\n", ""),
        good.replace("END:VEVENT", "END:VTODO"),
        good.replace("DTSTART:", "DTSTART"),
        good.replace("DTSTART:20141010T080000Z", "this is not iCalendar"),
        good.replace("BEGIN:VEVENT\r\n", "BEGIN:VEVENT\r\nBEGIN:VEVENT\r\n"),
        "END:VEVENT\r\n".to_owned(),
        "\u{0}\u{1}garbage".to_owned(),
        good.replace("DTSTART:20141010T080000Z", "DTSTART:tomorrow"),
        good.replace("DTEND:20141010T090000Z", "DURATION:PT1D"),
        good.replace("DTEND:20141010T090000Z", "RRULE:FREQ=SOMETIMES"),
        good.replace(
            "DTSTART:20141010T080000Z",
            "DTSTART;TZID=Mars/Olympus:20141010T080000",
        ),
    ];
    for input in &inputs {
        let result = import(&mut s, RESOURCE, input.as_bytes());
        assert!(
            matches!(result, Err(calstore_core::StoreError::InvalidData(_))),
            "{input:?} gave {result:?}"
        );
    }
    assert_nothing_written(&mut s, RESOURCE);
}

/// A VEVENT without UID (or with an empty one, or two) is refused.
pub fn bad_missing_uid<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let good = ok_event("a");
    assert_invalid(import(
        &mut s,
        RESOURCE,
        good.replace("UID:a\r\n", "").as_bytes(),
    ));
    assert_invalid(import(
        &mut s,
        RESOURCE,
        good.replace("UID:a", "UID:").as_bytes(),
    ));
    assert_invalid(import(
        &mut s,
        RESOURCE,
        good.replace("UID:a", "UID:a\r\nUID:b").as_bytes(),
    ));
    // One event without a UID among good ones rejects the whole input.
    let mixed = calendar_of(&[
        &[
            "UID:good",
            "DTSTART:20141010T080000Z",
            "DTEND:20141010T090000Z",
        ],
        &["DTSTART:20141011T080000Z", "DTEND:20141011T090000Z"],
    ]);
    assert_invalid(import(&mut s, RESOURCE, mixed.as_bytes()));
    assert_invalid(s.set_event(RESOURCE, "", None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n"));
    assert_invalid(s.queue_request(RESOURCE, "", None, None));
    assert_nothing_written(&mut s, RESOURCE);
}

/// Dates that do not exist (2023-02-30, month 13, hour 25, 2023-02-29) are refused wherever
/// they appear.
pub fn bad_impossible_date<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let good = ok_event("a");
    for (from, to) in [
        ("DTSTART:20141010T080000Z", "DTSTART:20230230T080000Z"),
        ("DTSTART:20141010T080000Z", "DTSTART;VALUE=DATE:20230230"),
        ("DTSTART:20141010T080000Z", "DTSTART:20231301T080000Z"),
        ("DTSTART:20141010T080000Z", "DTSTART:20230229T080000Z"),
        ("DTSTART:20141010T080000Z", "DTSTART:20141010T250000Z"),
        ("DTEND:20141010T090000Z", "DTEND:20141032T090000Z"),
        (
            "DTEND:20141010T090000Z",
            "DTEND:20141010T090000Z\r\nRECURRENCE-ID:20230230T080000Z",
        ),
        (
            "DTEND:20141010T090000Z",
            "DTEND:20141010T090000Z\r\nEXDATE:20230230T080000Z",
        ),
        (
            "DTEND:20141010T090000Z",
            "DTEND:20141010T090000Z\r\nRRULE:FREQ=DAILY;UNTIL=20230230",
        ),
    ] {
        let input = good.replace(from, to);
        assert_invalid(import(&mut s, RESOURCE, input.as_bytes()));
    }
    assert_invalid(s.set_freebusy_providers(RESOURCE, Some("20230230T000000Z"), &[]));
    assert_nothing_written(&mut s, RESOURCE);
}

/// A uid longer than 1024 bytes is refused, in an import and through the API; 1024 bytes
/// are accepted.
pub fn bad_overlong_uid<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let long = "u".repeat(1025);
    let text = "BEGIN:VEVENT\r\nEND:VEVENT\r\n";
    assert_invalid(import(&mut s, RESOURCE, ok_event(&long).as_bytes()));
    assert_invalid(s.set_event(RESOURCE, &long, None, text));
    assert_invalid(s.set_counter(RESOURCE, PAUL, &long, None, text));
    assert_invalid(s.queue_request(RESOURCE, &long, None, None));
    assert_invalid(s.set_requests(
        RESOURCE,
        &[Request {
            uid: long.clone(),
            rid: None,
            kind: None,
        }],
    ));
    assert_invalid(s.append_freebusy_provider(RESOURCE, &long, None));
    assert_invalid(s.set_event(RESOURCE, "a", Some(&long), text));
    assert_invalid(s.set_event(&format!("mailto:{long}@example.com"), "a", None, text));
    assert_invalid(s.journal().set_limits(&long, &BTreeMap::new()));
    assert_nothing_written(&mut s, RESOURCE);
    let max = "u".repeat(1024);
    import(&mut s, RESOURCE, ok_event(&max).as_bytes()).unwrap();
    assert_eq!(s.get_events(RESOURCE).unwrap(), [max]);
}

/// Object text over 1 MiB is refused, through the API and as an imported component (a
/// property value over 64 KiB too).
pub fn bad_overlong_object_text<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let big = format!(
        "BEGIN:VEVENT\r\nUID:a\r\nX-PAD:{}\r\nEND:VEVENT\r\n",
        "x".repeat(1024 * 1024)
    );
    assert_invalid(s.set_event(RESOURCE, "a", None, &big));
    assert_invalid(s.set_counter(RESOURCE, PAUL, "a", None, &big));
    assert_invalid(s.journal().set_event("cars", "a", None, &big));
    // Twenty properties of 60 KiB: each fits, the component does not.
    let pad = format!("DESCRIPTION:{}", "y".repeat(60 * 1024));
    let mut lines = vec![
        "UID:a",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ];
    lines.extend(std::iter::repeat_n(pad.as_str(), 20));
    assert_invalid(import(&mut s, RESOURCE, calendar(&lines).as_bytes()));
    let huge_value = format!("SUMMARY:{}", "z".repeat(65 * 1024));
    let lines = [
        "UID:a",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
        huge_value.as_str(),
    ];
    assert_invalid(import(&mut s, RESOURCE, calendar(&lines).as_bytes()));
    assert_nothing_written(&mut s, RESOURCE);
}

/// Input that is not UTF-8 (a stray 0xFF, Latin-1 text) is refused.
pub fn bad_non_utf8<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let good = ok_event("a");
    let mut bytes = good.clone().into_bytes();
    let at = good.find("UID:a").unwrap() + 4;
    bytes[at] = 0xFF;
    assert_invalid(import(&mut s, RESOURCE, &bytes));
    let latin1 = good.replace("UID:a", "UID:a\r\nSUMMARY:Bl\u{e5}b\u{e6}r");
    let latin1: Vec<u8> = latin1
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert_invalid(import(&mut s, RESOURCE, &latin1));
    assert_nothing_written(&mut s, RESOURCE);
}

/// A user that is not a calendar URI (no scheme, empty, with spaces, just a scheme) is
/// refused by every write and by `require_user`; an unknown well-formed user is NotFound.
pub fn bad_user_not_uri<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let text = "BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n";
    for user in [
        "paul",
        "",
        "mailto:",
        "mailto:paul boddie@example.com",
        ":paul",
        "1a:b",
        "paul@example.com",
    ] {
        assert_invalid(s.set_event(user, "a", None, text));
        assert_invalid(import(&mut s, user, ok_event("a").as_bytes()));
        assert_invalid(s.set_freebusy(user, &[]));
        assert_invalid(s.queue_request(user, "a", None, None));
        assert_invalid(s.require_user(user));
    }
    assert_invalid(s.set_counter(RESOURCE, "vincent", "a", None, text));
    assert_invalid(s.set_freebusy_for_other(RESOURCE, "vincent", &[]));
    assert_invalid(s.journal().set_delegates("cars", &["fiat".to_owned()]));
    assert_invalid(s.journal().set_limits("", &BTreeMap::new()));
    assert_not_found(s.require_user(RESOURCE));
    assert_nothing_written(&mut s, RESOURCE);
}

/// Periods ending before they start, and control characters in keys and texts, are refused.
pub fn bad_periods_and_control_characters<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let backwards = period("20141010T090000Z", "20141010T080000Z", Some("a"));
    assert_invalid(s.set_freebusy(RESOURCE, std::slice::from_ref(&backwards)));
    assert_invalid(s.add_freebusy(RESOURCE, std::slice::from_ref(&backwards)));
    assert_invalid(s.set_freebusy_for_other(RESOURCE, PAUL, std::slice::from_ref(&backwards)));
    assert_invalid(s.set_freebusy_offers(
        RESOURCE,
        &[Offer {
            period: backwards.clone(),
            expires: None,
        }],
    ));
    assert_invalid(s.journal().add_to_quota(
        "cars",
        PAUL,
        FIAT,
        "a",
        None,
        std::slice::from_ref(&backwards),
    ));
    let good = period("20141010T080000Z", "20141010T090000Z", Some("a"));
    // A later bad period rejects the earlier good ones too.
    assert_invalid(s.set_freebusy(RESOURCE, &[good.clone(), backwards]));
    let nul = Period {
        summary: Some("nul\u{0}".into()),
        ..good
    };
    assert_invalid(s.set_freebusy(RESOURCE, &[nul]));
    assert_invalid(s.set_event(RESOURCE, "a\nb", None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n"));
    assert_invalid(s.set_event(RESOURCE, "a", None, "BEGIN:VEVENT\u{0}\r\nEND:VEVENT\r\n"));
    assert_invalid(s.journal().set_group("cars", PAUL, "staff\u{7}"));
    assert_nothing_written(&mut s, RESOURCE);
}

/// SQL in a uid, summary, user, quota or group is data: it round-trips and every table
/// still exists.
pub fn sql_looking_uid_is_data<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let uid = "x'); DROP TABLE objects;--";
    let user = "mailto:x');DROP%20TABLE%20objects;--@example.com";
    let text = format!("BEGIN:VEVENT\r\nUID:{uid}\r\nEND:VEVENT\r\n");
    s.set_event(user, uid, None, &text).unwrap();
    s.set_event(RESOURCE, uid, Some("'; DELETE FROM recurrences; --"), &text)
        .unwrap();
    let ics = calendar(&[
        "UID:\"; DROP TABLE freebusy; --",
        "SUMMARY:Robert'); DROP TABLE Students;--",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ]);
    import(&mut s, RESOURCE, ics.as_bytes()).unwrap();
    s.journal()
        .set_limits(
            "q'; DROP TABLE quota_limits; --",
            &[("g' OR '1'='1".to_owned(), "PT1H".to_owned())].into(),
        )
        .unwrap();
    for table in schema_tables() {
        assert_table_exists(s.connection(), table);
    }
    assert_eq!(s.get_events(user).unwrap(), [uid]);
    assert_eq!(s.get_complete_event(user, uid).unwrap(), Some(text));
    assert_eq!(
        s.get_recurrences(RESOURCE, uid).unwrap(),
        ["'; DELETE FROM recurrences; --"]
    );
    let fb = s.get_freebusy(RESOURCE).unwrap();
    assert_eq!(fb[0].uid.as_deref(), Some("\"; DROP TABLE freebusy; --"));
    assert_eq!(
        fb[0].summary.as_deref(),
        Some("Robert'); DROP TABLE Students;--")
    );
    assert_eq!(
        s.journal()
            .get_limits("q'; DROP TABLE quota_limits; --")
            .unwrap(),
        [("g' OR '1'='1".to_owned(), "PT1H".to_owned())].into()
    );
    assert!(s.journal().get_limits("q").unwrap().is_empty());
    assert_eq!(s.users().unwrap(), [RESOURCE, user]);
}
