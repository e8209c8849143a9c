//! Time zones: embedded VTIMEZONEs (custom names), Windows names, which definition a TZID
//! picks, and custom zones kept with the event text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    parse_utc(s).unwrap()
}

/// Europe/Berlin's current rules as a VTIMEZONE named `tzid`.
fn berlin_vtimezone(tzid: &str) -> String {
    format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n\
         TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
         RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
         TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n\
         RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
}

/// A zone with one fixed offset.
fn fixed_vtimezone(tzid: &str, offset: &str) -> String {
    format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n\
         TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
}

fn calendar(zones: &str, body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{zones}BEGIN:VEVENT\r\n{}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    )
}

fn one(text: &str) -> EventComponent {
    let mut events = parse_events(text.as_bytes()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn starts(ev: &EventComponent, window_end: &str) -> Vec<(String, String)> {
    ev.instances(&ExpandContext::new(Tz::UTC, utc(window_end)))
        .unwrap()
        .instances
        .iter()
        .map(|i| (format_utc(i.start), format_utc(i.end)))
        .collect()
}

#[test]
fn custom_vtimezone_gives_the_same_instants_as_iana() {
    let rule = "RRULE:FREQ=WEEKLY;COUNT=80";
    for dtstart in ["20260105T090000", "20260329T023000", "20261025T023000"] {
        let custom = one(&calendar(
            &berlin_vtimezone("Custom/Berlin"),
            &format!(
                "UID:c\nDTSTART;TZID=Custom/Berlin:{dtstart}\nDURATION:PT1H30M\n{rule}\n\
                 EXDATE;TZID=Custom/Berlin:20260309T090000"
            ),
        ));
        let iana = one(&calendar(
            "",
            &format!(
                "UID:c\nDTSTART;TZID=Europe/Berlin:{dtstart}\nDURATION:PT1H30M\n{rule}\n\
                 EXDATE;TZID=Europe/Berlin:20260309T090000"
            ),
        ));
        let got = starts(&custom, "20300101T000000Z");
        assert_eq!(
            got.len(),
            if dtstart == "20260105T090000" { 79 } else { 80 }
        );
        assert_eq!(got, starts(&iana, "20300101T000000Z"), "{dtstart}");
    }
    // Gap (shifted forward) and fold (the first) in the custom zone.
    let gap = one(&calendar(
        &berlin_vtimezone("Custom/Berlin"),
        "UID:g\nDTSTART;TZID=Custom/Berlin:20260329T023000",
    ));
    assert_eq!(starts(&gap, "20300101T000000Z")[0].0, "20260329T013000Z");
    let fold = one(&calendar(
        &berlin_vtimezone("Custom/Berlin"),
        "UID:f\nDTSTART;TZID=Custom/Berlin:20261025T023000",
    ));
    assert_eq!(starts(&fold, "20300101T000000Z")[0].0, "20261025T003000Z");
}

#[test]
fn custom_zone_is_kept_with_the_event_text() {
    let text = calendar(
        &berlin_vtimezone("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
        "UID:k\nDTSTART;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\":\
         20260701T100000\nDTEND;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, \
         Vienna\":20260701T110000\nRRULE:FREQ=DAILY;COUNT=3\nBEGIN:VALARM\nACTION:DISPLAY\n\
         TRIGGER:-PT15M\nEND:VALARM",
    );
    let ev = one(&text);
    assert_eq!(
        starts(&ev, "20300101T000000Z"),
        [
            ("20260701T080000Z".to_owned(), "20260701T090000Z".to_owned()),
            ("20260702T080000Z".to_owned(), "20260702T090000Z".to_owned()),
            ("20260703T080000Z".to_owned(), "20260703T090000Z".to_owned()),
        ]
    );
    // The VTIMEZONE travels in the VEVENT, before the VALARM; the text is still one VEVENT.
    assert!(ev.text.starts_with("BEGIN:VEVENT\r\n"));
    let unfolded = ev.text.replace("\r\n ", "");
    let prop = unfolded
        .find("X-CALSTORE-VTIMEZONE:BEGIN:VTIMEZONE\\n")
        .unwrap();
    assert!(prop < unfolded.find("BEGIN:VALARM").unwrap());
    assert!(unfolded.contains("TZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern"));
    // The stored text parses on its own, to the same instances, and is not changed again.
    let again = one(&ev.text);
    assert_eq!(again.text, ev.text);
    assert_eq!(
        starts(&again, "20300101T000000Z"),
        starts(&ev, "20300101T000000Z")
    );
    // Only zones an event uses are carried: IANA and Windows names need none.
    let plain = one(&calendar(
        &berlin_vtimezone("Europe/Berlin"),
        "UID:p\nDTSTART;TZID=Europe/Berlin:20260701T100000",
    ));
    assert!(!plain.text.contains("X-CALSTORE"));
}

#[test]
fn an_iana_name_wins_over_a_vtimezone_of_the_same_name() {
    // A bogus definition of Europe/Berlin (+05:00) is ignored.
    let ev = one(&calendar(
        &fixed_vtimezone("Europe/Berlin", "+0500"),
        "UID:i\nDTSTART;TZID=Europe/Berlin:20260701T100000",
    ));
    assert_eq!(starts(&ev, "20300101T000000Z")[0].0, "20260701T080000Z");
}

#[test]
fn windows_names() {
    // Without a VTIMEZONE: mapped by CLDR's table.
    let ev = one(&calendar(
        "",
        "UID:w\nDTSTART;TZID=W. Europe Standard Time:20260115T100000\n\
         EXDATE;TZID=Eastern Standard Time:20260115T040000\nRRULE:FREQ=DAILY;COUNT=2",
    ));
    // The EXDATE (04:00 New York = 10:00 Berlin) removes the first instance.
    assert_eq!(
        starts(&ev, "20300101T000000Z"),
        [("20260116T090000Z".to_owned(), "20260116T090000Z".to_owned())]
    );
    assert!(!ev.text.contains("X-CALSTORE"));
    // With its VTIMEZONE: the sender's definition is used (and kept).
    let ev = one(&calendar(
        &fixed_vtimezone("W. Europe Standard Time", "+0300"),
        "UID:w\nDTSTART;TZID=W. Europe Standard Time:20260715T100000",
    ));
    assert_eq!(starts(&ev, "20300101T000000Z")[0].0, "20260715T070000Z");
    assert!(ev.text.contains("X-CALSTORE-VTIMEZONE"));
}

#[test]
fn vtimezones_are_scoped_to_their_calendar() {
    // After the VEVENT in the same VCALENDAR: found.
    let text = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Custom/India:20260101T100000\r\n\
         END:VEVENT\r\n{}END:VCALENDAR\r\n",
        fixed_vtimezone("Custom/India", "+0530")
    );
    assert_eq!(
        starts(&one(&text), "20300101T000000Z")[0].0,
        "20260101T043000Z"
    );
    // Defined in another VCALENDAR only: unknown.
    let text = format!(
        "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n\
         DTSTART;TZID=Custom/India:20260101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        fixed_vtimezone("Custom/India", "+0530")
    );
    let err = parse_events(text.as_bytes()).unwrap_err().0;
    assert!(err.contains("unknown time zone \"Custom/India\""), "{err}");
    // The same custom name means different zones in two VCALENDARs.
    let text = format!(
        "BEGIN:VCALENDAR\r\n{}BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=X:20260101T100000\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\n{}BEGIN:VEVENT\r\nUID:b\r\n\
         DTSTART;TZID=X:20260101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        fixed_vtimezone("X", "+0100"),
        fixed_vtimezone("X", "-0100")
    );
    let events = parse_events(text.as_bytes()).unwrap();
    assert_eq!(
        starts(&events[0], "20300101T000000Z")[0].0,
        "20260101T090000Z"
    );
    assert_eq!(
        starts(&events[1], "20300101T000000Z")[0].0,
        "20260101T110000Z"
    );
}

#[test]
fn broken_vtimezones_fail_only_when_used() {
    let broken = "BEGIN:VTIMEZONE\r\nTZID:Broken\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
                  TZOFFSETFROM:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    one(&calendar(
        broken,
        "UID:a\nDTSTART;TZID=Europe/Oslo:20260101T100000",
    ));
    let text = calendar(broken, "UID:a\nDTSTART;TZID=Broken:20260101T100000");
    let err = parse_events(text.as_bytes()).unwrap_err().0;
    assert!(
        err.contains("VTIMEZONE \"Broken\"") && err.contains("no TZOFFSETTO"),
        "{err}"
    );
    let bad_offset = fixed_vtimezone("Odd", "+01:00");
    let text = calendar(&bad_offset, "UID:a\nDTSTART;TZID=Odd:20260101T100000");
    let err = parse_events(text.as_bytes()).unwrap_err().0;
    assert!(err.contains("not a UTC offset"), "{err}");
}

#[test]
fn historical_rule_changes_in_a_custom_zone() {
    // US Eastern with the rule that ended in 2006 (UNTIL) and the one since 2007.
    let zone = "BEGIN:VTIMEZONE\r\nTZID:US-Eastern\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:19870405T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4;UNTIL=20060402T070000Z\r\n\
        TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
        BEGIN:STANDARD\r\nDTSTART:19671029T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10;UNTIL=20061029T060000Z\r\n\
        TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n\
        TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
        BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n\
        TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let custom = one(&calendar(
        zone,
        "UID:u\nDTSTART;TZID=US-Eastern:20050101T120000\nRRULE:FREQ=DAILY;COUNT=1500",
    ));
    let iana = one(&calendar(
        "",
        "UID:u\nDTSTART;TZID=America/New_York:20050101T120000\nRRULE:FREQ=DAILY;COUNT=1500",
    ));
    assert_eq!(
        starts(&custom, "20300101T000000Z"),
        starts(&iana, "20300101T000000Z")
    );
}

#[test]
fn rdate_onsets_and_recurrence_ids_in_custom_zones() {
    // Onsets given by RDATE only: +01:00, then +02:00 from 2026-03-29 01:00 UTC.
    let zone = "BEGIN:VTIMEZONE\r\nTZID:R\r\nBEGIN:STANDARD\r\nDTSTART:20000101T000000\r\n\
        TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n\
        DTSTART:20250330T020000\r\nRDATE:20260329T020000,20270328T020000\r\n\
        TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    let ev = one(&calendar(
        zone,
        "UID:r\nDTSTART;TZID=R:20240301T100000\nRECURRENCE-ID;TZID=R:20260401T100000",
    ));
    assert_eq!(ev.recurrence_id().unwrap(), "20260401T080000Z");
    assert_eq!(starts(&ev, "20300101T000000Z")[0].0, "20240301T090000Z");
}

#[test]
fn globally_unique_tzid_without_vtimezone() {
    let ev = one(&calendar(
        "",
        "UID:g\nDTSTART;TZID=/freeassociation.sourceforge.net/Tzfile/Europe/Oslo:20260701T100000",
    ));
    assert_eq!(starts(&ev, "20300101T000000Z")[0].0, "20260701T080000Z");
}

#[test]
fn this_and_future_shift_keeps_the_wall_clock() {
    let parent = one(&calendar(
        "",
        "UID:t\nDTSTART;TZID=Europe/Berlin:20260302T100000\nDTEND;TZID=Europe/Berlin:\
         20260302T110000\nRRULE:FREQ=WEEKLY;COUNT=6",
    ));
    let moved = one(&calendar(
        "",
        "UID:t\nRECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260316T100000\n\
         DTSTART;TZID=Europe/Berlin:20260316T113000\nDURATION:PT30M",
    ));
    assert!(moved.this_and_future);
    let exp = parent
        .instances(&ExpandContext::new(Tz::UTC, utc("20300101T000000Z")))
        .unwrap();
    // 2026-03-30 is after the change to summer time: 11:30 CEST is 09:30 UTC.
    let later = exp.instances[4];
    let shifted = moved.shift_instance(&parent, &later, Tz::UTC).unwrap();
    assert_eq!(format_utc(shifted.start), "20260330T093000Z");
    assert_eq!(format_utc(shifted.end), "20260330T100000Z");
    assert_eq!(shifted.recurrence_point, later.recurrence_point);
    // A UTC override of a Berlin series moves by the exact difference.
    let utc_moved = one(&calendar(
        "",
        "UID:t\nRECURRENCE-ID;RANGE=THISANDFUTURE:20260316T090000Z\nDTSTART:20260316T100000Z\n\
         DTEND:20260316T110000Z",
    ));
    let shifted = utc_moved.shift_instance(&parent, &later, Tz::UTC).unwrap();
    assert_eq!(format_utc(shifted.start), "20260330T090000Z");
    assert_eq!(
        moved.this_and_future_advance(Tz::UTC),
        chrono::TimeDelta::days(1)
    );
}

/// The VTIMEZONE an export makes for an IANA name, read back under a custom name, gives the
/// instants the IANA zone gives: across DST changes (Europe/Oslo, America/New_York, whose
/// rules changed in 2007), and for a zone without DST (Asia/Kolkata).
#[test]
fn exported_iana_vtimezone_matches_the_zone() {
    let rule = "RRULE:FREQ=DAILY;COUNT=800";
    for (zone, dtstart) in [
        ("Europe/Oslo", "20250301T023000"),
        ("America/New_York", "20060301T013000"),
        ("Asia/Kolkata", "20260105T090000"),
    ] {
        let iana = calendar("", &format!("UID:i\nDTSTART;TZID={zone}:{dtstart}\n{rule}"));
        let exported = calendar_of(&[one(&iana).text.as_str()]);
        assert_eq!(exported.matches("BEGIN:VTIMEZONE").count(), 1, "{exported}");
        let renamed = exported.replace(zone, "Custom/Exported");
        let custom = one(&renamed);
        assert!(
            custom.text.contains("X-CALSTORE-VTIMEZONE"),
            "{zone}: read as custom"
        );
        assert_eq!(
            starts(&custom, "20300101T000000Z"),
            starts(&one(&iana), "20300101T000000Z"),
            "{zone}"
        );
    }
}
