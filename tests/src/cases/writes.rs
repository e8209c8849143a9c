//! Writes that change nothing, and the daily job's extension in bounded pieces (issue 11).

use calstore_core::{EXTEND_PIECE, RecordOptions, SqlConnection, Store};
use chrono::TimeDelta;

use crate::support::*;

/// A calendar with a weekly open-ended meeting (a provider), one of its occurrences moved, and
/// a single event.
fn weekly_with_override() -> String {
    calendar_of(&[
        &[
            "UID:weekly@example.com",
            "DTSTAMP:20141001T000000Z",
            "DTSTART:20141013T080000Z",
            "DTEND:20141013T090000Z",
            "RRULE:FREQ=WEEKLY",
            "SUMMARY:Weekly",
        ],
        &[
            "UID:weekly@example.com",
            "DTSTAMP:20141001T000000Z",
            "RECURRENCE-ID:20141020T080000Z",
            "DTSTART:20141021T100000Z",
            "DTEND:20141021T110000Z",
            "SUMMARY:Weekly (moved)",
        ],
        &[
            "UID:single@example.com",
            "DTSTAMP:20141001T000000Z",
            "DTSTART:20141015T120000Z",
            "DTEND:20141015T130000Z",
            "SUMMARY:Single",
        ],
    ])
}

/// The revision and the number of change rows of `user`.
fn trace<C: SqlConnection>(s: &mut Store<C>, user: &str) -> (i64, usize) {
    (
        s.revision(user).unwrap(),
        s.changes_since(user, 0).unwrap().len(),
    )
}

/// A write that changes nothing leaves no trace: importing an unchanged file again, storing
/// the same object text, the same periods, the same requests (queued, set or replaced) bump
/// no revision and journal no change; a write that does change something still does both.
pub fn no_op_writes_change_nothing<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let opts = RecordOptions::new(t0());
    let ics = weekly_with_override();
    s.import_ics(PAUL, ics.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    let before = trace(&mut s, PAUL);
    let periods = s.get_freebusy(PAUL).unwrap();
    assert!(!periods.is_empty());

    // The same file again.
    s.import_ics(PAUL, ics.as_bytes(), &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        trace(&mut s, PAUL),
        before,
        "re-import of an unchanged file: {:?}",
        s.changes_since(PAUL, before.0).unwrap()
    );
    assert_eq!(s.get_freebusy(PAUL).unwrap(), periods);

    // The same object text, parent and recurrence.
    let parent = s
        .get_complete_event(PAUL, "weekly@example.com")
        .unwrap()
        .unwrap();
    s.set_event(PAUL, "weekly@example.com", None, &parent)
        .unwrap();
    let moved = s
        .get_recurrence(PAUL, "weekly@example.com", "20141020T080000Z")
        .unwrap()
        .unwrap();
    s.set_event(PAUL, "weekly@example.com", Some("20141020T080000Z"), &moved)
        .unwrap();
    assert_eq!(trace(&mut s, PAUL), before, "same object text");

    // Extending to where the providers already are.
    let until = opts.window_end;
    s.extend_freebusy_with(PAUL, until, &opts).unwrap();
    assert_eq!(trace(&mut s, PAUL), before, "extension to the same instant");

    // The same periods (another user's free/busy set as a whole).
    let fb = [
        period("20141010T080000Z", "20141010T090000Z", Some("x")),
        period("20141011T080000Z", "20141011T090000Z", Some("y")),
    ];
    s.set_freebusy(VINCENT, &fb).unwrap();
    let vincent = trace(&mut s, VINCENT);
    s.set_freebusy(VINCENT, &[fb[1].clone(), fb[0].clone()])
        .unwrap();
    assert_eq!(trace(&mut s, VINCENT), vincent, "same periods");

    // The same requests.
    assert!(
        s.queue_request(PAUL, "single@example.com", None, None)
            .unwrap()
    );
    s.set_request(PAUL, "weekly@example.com", None, Some("COUNTER"))
        .unwrap();
    let queued = trace(&mut s, PAUL);
    assert_eq!(queued.0, before.0 + 2);
    assert!(
        !s.queue_request(PAUL, "single@example.com", None, None)
            .unwrap()
    );
    s.set_request(PAUL, "weekly@example.com", None, Some("COUNTER"))
        .unwrap();
    let queue = s.get_requests(PAUL).unwrap();
    s.set_requests(PAUL, &queue).unwrap();
    assert_eq!(trace(&mut s, PAUL), queued, "same requests");
    assert_eq!(s.get_requests(PAUL).unwrap(), queue);

    // A real change is a write: one revision, its keys journalled.
    let changed = parent.replace("SUMMARY:Weekly", "SUMMARY:Weekly sync");
    s.set_event(PAUL, "weekly@example.com", None, &changed)
        .unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), queued.0 + 1);
    assert_eq!(s.changes_since(PAUL, queued.0).unwrap().len(), 1);
    s.set_request(PAUL, "weekly@example.com", None, None)
        .unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), queued.0 + 2);
}

/// Open-ended weekly events `e0..e{n}` and one event every two minutes that has few
/// occurrences in the import window but many more once extended.
fn daily_job_calendar(n: usize) -> String {
    let mut out =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\n");
    for i in 0..n {
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:e{i}@example.com\r\nDTSTAMP:20141001T000000Z\r\n\
             DTSTART:201410{:02}T{:02}0000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\n\
             SUMMARY:Event {i}\r\nEND:VEVENT\r\n",
            10 + i % 7,
            8 + i % 9,
        ));
    }
    out.push_str(
        "BEGIN:VEVENT\r\nUID:busy@example.com\r\nDTSTAMP:20141001T000000Z\r\n\
         DTSTART:20141020T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY;INTERVAL=2\r\n\
         SUMMARY:Too often\r\nEND:VEVENT\r\n",
    );
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// The daily job's extension in bounded pieces: an event that now exceeds the instance cap
/// is reported (UID and reason) and keeps its periods while every other provider is extended;
/// the providers record keeps its instant, so that the next run (with a higher cap) extends
/// from it; then the result equals a one-transaction extension, and running it again
/// changes nothing.
pub fn extend_in_pieces_reports_failures_and_resumes<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let import = RecordOptions {
        window_end: ts("20141021T000000Z"),
        max_instances: 1000,
        ..RecordOptions::new(t0())
    };
    let ics = daily_job_calendar(7);
    for user in [PAUL, VINCENT] {
        s.import_ics(user, ics.as_bytes(), &import, &mut |_, _| {})
            .unwrap();
    }
    let imported = s.get_freebusy_providers(PAUL).unwrap().unwrap();
    assert_eq!(imported.providers.len(), 8);
    let busy_before: Vec<_> = s
        .get_freebusy(PAUL)
        .unwrap()
        .into_iter()
        .filter(|p| p.uid.as_deref() == Some("busy@example.com"))
        .collect();
    assert!(!busy_before.is_empty());

    let until = t0() + TimeDelta::days(60);
    let capped = RecordOptions {
        max_instances: 1000,
        ..import.clone()
    };
    let report = s
        .extend_freebusy_in_pieces(PAUL, until, &capped, 3)
        .unwrap();
    assert_eq!(report.extended, 7);
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].0, "busy@example.com");
    assert!(!report.failures[0].1.is_empty());
    assert!(report.pieces >= 3, "{report:?}");
    assert_eq!(
        report.until, imported.datetime,
        "the record keeps its instant"
    );
    let after_failure = s.get_freebusy(PAUL).unwrap();
    let busy_after: Vec<_> = after_failure
        .iter()
        .filter(|p| p.uid.as_deref() == Some("busy@example.com"))
        .cloned()
        .collect();
    assert_eq!(
        busy_after, busy_before,
        "the failed event keeps its periods"
    );
    let last_weekly = after_failure
        .iter()
        .filter(|p| p.uid.as_deref() == Some("e0@example.com"))
        .map(|p| p.start)
        .max()
        .unwrap();
    assert!(last_weekly > until - TimeDelta::days(8), "others extended");

    // The next run, with a cap the event fits in, extends the rest.
    let report = s
        .extend_freebusy_in_pieces(PAUL, until, &import_with_cap(&import), 3)
        .unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.until.as_deref(), Some(&*format_utc(until)));
    s.extend_freebusy_with(VINCENT, until, &import_with_cap(&import))
        .unwrap();
    let strip = |periods: Vec<calstore_core::Period>| fb_lines(&periods);
    assert_eq!(
        strip(s.get_freebusy(PAUL).unwrap()),
        strip(s.get_freebusy(VINCENT).unwrap()),
        "pieces give what one transaction gives"
    );
    assert_eq!(
        s.get_freebusy_providers(PAUL).unwrap(),
        s.get_freebusy_providers(VINCENT).unwrap()
    );

    // Idempotent: again, nothing changes.
    let before = trace(&mut s, PAUL);
    let report = s
        .extend_freebusy_in_pieces(PAUL, until, &import_with_cap(&import), EXTEND_PIECE)
        .unwrap();
    assert!(report.failures.is_empty());
    assert_eq!(trace(&mut s, PAUL), before, "a second run changes nothing");
}

fn import_with_cap(opts: &RecordOptions) -> RecordOptions {
    RecordOptions {
        max_instances: 100_000,
        ..opts.clone()
    }
}

fn format_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}
