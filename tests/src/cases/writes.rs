//! Writes that change nothing, and the daily job's extension and large imports in bounded
//! pieces (issue 11).

use calstore_core::{
    DbErrorKind, EXTEND_PIECE, RecordOptions, Source, SqlConnection, Store, StoreError,
};
use chrono::TimeDelta;

use crate::failing::{FailMode, FailingConnection};
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

/// The calendar an import in pieces is compared on, before (`new == false`) and after: a
/// weekly meeting whose newer parent (SEQUENCE 1) obsoletes its stored override, a single
/// event that does not change, a daily one that moves, one only in the old file, and in the
/// new file open-ended weekly events and one with an override of its own.
fn pieces_calendar(new: bool) -> String {
    let mut events: Vec<Vec<String>> = Vec::new();
    let line = |s: &str| s.to_owned();
    events.push(vec![
        line("UID:a-weekly@example.com"),
        line("DTSTAMP:20141001T000000Z"),
        format!("SEQUENCE:{}", u8::from(new)),
        line("DTSTART:20141013T080000Z"),
        line("DTEND:20141013T090000Z"),
        line("RRULE:FREQ=WEEKLY"),
        format!("SUMMARY:Weekly{}", if new { " (new)" } else { "" }),
    ]);
    if !new {
        events.push(vec![
            line("UID:a-weekly@example.com"),
            line("DTSTAMP:20141001T000000Z"),
            line("RECURRENCE-ID:20141020T080000Z"),
            line("DTSTART:20141021T100000Z"),
            line("DTEND:20141021T110000Z"),
            line("SUMMARY:Weekly (moved)"),
        ]);
        events.push(vec![
            line("UID:d-old@example.com"),
            line("DTSTAMP:20141001T000000Z"),
            line("DTSTART:20141016T120000Z"),
            line("DTEND:20141016T130000Z"),
        ]);
    }
    events.push(vec![
        line("UID:b-single@example.com"),
        line("DTSTAMP:20141001T000000Z"),
        line("DTSTART:20141015T120000Z"),
        line("DTEND:20141015T130000Z"),
        line("SUMMARY:Single"),
    ]);
    events.push(vec![
        line("UID:c-daily@example.com"),
        line("DTSTAMP:20141001T000000Z"),
        format!("DTSTART:201410{}T070000Z", if new { 14 } else { 12 }),
        line("DURATION:PT30M"),
        line("RRULE:FREQ=DAILY;COUNT=5"),
    ]);
    if new {
        for i in 0..6 {
            events.push(vec![
                format!("UID:e{i}@example.com"),
                line("DTSTAMP:20141001T000000Z"),
                format!("DTSTART:201410{}T{:02}0000Z", 13 + i, 8 + i),
                line("DURATION:PT45M"),
                line("RRULE:FREQ=WEEKLY"),
                format!("SUMMARY:Event {i}"),
            ]);
        }
        events.push(vec![
            line("UID:f-moved@example.com"),
            line("DTSTAMP:20141001T000000Z"),
            line("DTSTART:20141014T150000Z"),
            line("DTEND:20141014T160000Z"),
            line("RRULE:FREQ=WEEKLY;COUNT=4"),
        ]);
        events.push(vec![
            line("UID:f-moved@example.com"),
            line("DTSTAMP:20141001T000000Z"),
            line("RECURRENCE-ID:20141021T150000Z"),
            line("DTSTART:20141022T150000Z"),
            line("DTEND:20141022T160000Z"),
        ]);
    }
    let refs: Vec<Vec<&str>> = events
        .iter()
        .map(|e| e.iter().map(String::as_str).collect())
        .collect();
    let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    calendar_of(&slices)
}

/// The UIDs of the new [`pieces_calendar`], in the order an import takes them.
const PIECES_UIDS: [&str; 10] = [
    "a-weekly@example.com",
    "b-single@example.com",
    "c-daily@example.com",
    "e0@example.com",
    "e1@example.com",
    "e2@example.com",
    "e3@example.com",
    "e4@example.com",
    "e5@example.com",
    "f-moved@example.com",
];

/// What the store holds for one UID of `user`: its objects (text and status), its
/// recurrences, its periods, and whether it is a provider.
fn uid_state<C: SqlConnection>(s: &mut Store<C>, user: &str, uid: &str) -> String {
    let objects = s
        .connection()
        .query(
            "SELECT object_text, status FROM objects WHERE store_user = $1 AND object_uid = $2",
            &[user.into(), uid.into()],
        )
        .unwrap();
    let recurrences = s
        .connection()
        .query(
            "SELECT object_recurrenceid, object_text, status FROM recurrences \
             WHERE store_user = $1 AND object_uid = $2 ORDER BY object_recurrenceid",
            &[user.into(), uid.into()],
        )
        .unwrap();
    let periods: Vec<String> = fb_lines(
        &s.get_freebusy(user)
            .unwrap()
            .into_iter()
            .filter(|p| p.uid.as_deref() == Some(uid))
            .collect::<Vec<_>>(),
    );
    let provider = s
        .get_freebusy_providers(user)
        .unwrap()
        .is_some_and(|p| p.providers.iter().any(|(u, _)| u == uid));
    format!(
        "{:?} {:?} {periods:?} {provider}",
        objects
            .iter()
            .map(|r| r.values().to_vec())
            .collect::<Vec<_>>(),
        recurrences
            .iter()
            .map(|r| r.values().to_vec())
            .collect::<Vec<_>>(),
    )
}

/// Everything the store holds for `user`: every UID's state, and the providers record.
fn user_state<C: SqlConnection>(s: &mut Store<C>, user: &str) -> Vec<String> {
    let mut out: Vec<String> = PIECES_UIDS
        .iter()
        .chain(&["d-old@example.com"])
        .map(|uid| uid_state(s, user, uid))
        .collect();
    out.push(format!("{:?}", s.get_freebusy_providers(user).unwrap()));
    out.push(format!("{}", s.get_freebusy(user).unwrap().len()));
    out
}

/// The keys journalled for `user` after revision `since`, with their operations.
fn journalled<C: SqlConnection>(s: &mut Store<C>, user: &str, since: i64) -> Vec<String> {
    let mut keys: Vec<String> = s
        .changes_since(user, since)
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {} {:?}", c.table, c.key, c.operation))
        .collect();
    keys.sort();
    keys
}

/// An import in bounded pieces (`import_sources_in_pieces`) gives what the one-transaction
/// import gives: the same objects, periods, providers and obsolete overrides deleted, the
/// same keys journalled and the same report; running it again changes nothing (no revision
/// bump). A database failure half way leaves whole pieces only (the UIDs of the pieces that
/// committed as after the import, the others as before), and running the same import again
/// finishes it, with the same state and journal as one uninterrupted run.
pub fn import_in_pieces_equals_one_transaction<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(FailingConnection::new(conn));
    let opts = RecordOptions::new(t0());
    let old = pieces_calendar(false);
    let new = pieces_calendar(true);
    // PAUL: in pieces; VINCENT: one transaction; HARVEY: in pieces, failed half way;
    // SAUNA: a dry run of HARVEY's import, to count its statements.
    let users = [PAUL, VINCENT, HARVEY, SAUNA];
    let mut before = Vec::new();
    for user in users {
        s.import_ics(user, old.as_bytes(), &opts, &mut |_, _| {})
            .unwrap();
        before.push(s.revision(user).unwrap());
    }
    let sources = [Source::named("new.ics", new.as_bytes())];
    let mut pieces = 0;
    let report = s
        .import_sources_in_pieces(PAUL, &sources, None, &opts, 3, &mut |done, total| {
            pieces += 1;
            assert_eq!(total, PIECES_UIDS.len());
            assert_eq!(done, (3 * pieces).min(total));
        })
        .unwrap();
    assert_eq!(pieces, 4);
    let whole = s
        .import_sources(VINCENT, &sources, None, &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(report, whole, "the same report");
    assert_eq!(report.obsolete_overrides, 1, "{report:?}");
    assert_eq!(report.uids, PIECES_UIDS.len());
    assert_eq!(user_state(&mut s, PAUL), user_state(&mut s, VINCENT));
    let keys = journalled(&mut s, VINCENT, before[1]);
    assert!(!keys.is_empty());
    assert_eq!(journalled(&mut s, PAUL, before[0]), keys, "the same keys");
    assert!(
        !keys.iter().any(|k| k.contains("b-single")),
        "the unchanged event journals nothing: {keys:?}"
    );

    // Again: every piece changes nothing, so nothing is written.
    let trace_before = trace(&mut s, PAUL);
    let again = s
        .import_sources_in_pieces(PAUL, &sources, None, &opts, 3, &mut |_, _| {})
        .unwrap();
    assert_eq!(trace(&mut s, PAUL), trace_before, "a second run is a no-op");
    assert_eq!(again.periods, report.periods);
    assert_eq!(user_state(&mut s, PAUL), user_state(&mut s, VINCENT));

    // A failure half way: count the statements of the same import on a user in the same
    // state, then fail HARVEY's from half of them on (the database went away).
    s.connection().reset_count();
    s.import_sources_in_pieces(SAUNA, &sources, None, &opts, 3, &mut |_, _| {})
        .unwrap();
    let calls = s.connection().calls();
    let uids_before: Vec<String> = PIECES_UIDS
        .iter()
        .map(|uid| uid_state(&mut s, HARVEY, uid))
        .collect();
    s.connection().fail_at(calls / 2, FailMode::From);
    let mut done = 0;
    let failed = s.import_sources_in_pieces(HARVEY, &sources, None, &opts, 3, &mut |d, _| {
        done = d;
    });
    s.connection().disarm();
    match failed {
        Err(StoreError::Db(e)) => assert_eq!(*e.kind(), DbErrorKind::Injected),
        other => panic!("expected the injected failure, got {other:?}"),
    }
    assert!(
        done > 0 && done < PIECES_UIDS.len(),
        "the failure falls between pieces: {done}"
    );
    for (i, uid) in PIECES_UIDS.iter().enumerate() {
        let state = uid_state(&mut s, HARVEY, uid);
        if i < done {
            assert_eq!(state, uid_state(&mut s, VINCENT, uid), "{uid}: written");
        } else {
            assert_eq!(state, uids_before[i], "{uid}: as before");
        }
    }
    // Running it again finishes the job.
    let rerun = s
        .import_sources_in_pieces(HARVEY, &sources, None, &opts, 3, &mut |_, _| {})
        .unwrap();
    assert_eq!(rerun.periods, report.periods);
    assert_eq!(user_state(&mut s, HARVEY), user_state(&mut s, VINCENT));
    assert_eq!(journalled(&mut s, HARVEY, before[2]), keys, "the same keys");
    let trace_before = trace(&mut s, HARVEY);
    s.import_sources_in_pieces(HARVEY, &sources, None, &opts, 3, &mut |_, _| {})
        .unwrap();
    assert_eq!(trace(&mut s, HARVEY), trace_before, "then a no-op");

    // Inside a unit of work the pieces are savepoints of it: one revision for the whole
    // import, as the one-transaction import of a new user gives.
    s.transaction(|s| {
        s.import_sources_in_pieces(PORSCHE, &sources, None, &opts, 3, &mut |_, _| {})
            .map(|_| ())
    })
    .unwrap();
    s.import_sources(FIAT, &sources, None, &opts, &mut |_, _| {})
        .unwrap();
    assert_eq!(s.revision(PORSCHE).unwrap(), 1);
    assert_eq!(s.revision(FIAT).unwrap(), 1);
    assert_eq!(user_state(&mut s, PORSCHE), user_state(&mut s, FIAT));
    assert_eq!(journalled(&mut s, PORSCHE, 0), journalled(&mut s, FIAT, 0));
}
