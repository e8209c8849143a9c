//! All-or-nothing, proven by fault injection: each representative write operation is run on
//! a populated store once cleanly (to count its statements and see that it changes the
//! state), then once per statement with that statement failing. After every failure the
//! whole database must equal its state before the operation, and running the operation
//! again must give exactly the clean run's state.
//!
//! The operations run on `Store<FailingConnection<Box<dyn SqlConnection>>>`, so any backend
//! can be checked by passing a function that opens a fresh, empty connection.

use calstore_core::changes::{self, Scope};
use calstore_core::{
    Booking, DbErrorKind, Offer, Period, RecordOptions, Request, SqlConnection, Store,
};
use chrono::TimeDelta;

use crate::failing::{FailMode, FailingConnection, snapshot};
use crate::support::*;

/// A type-erased connection, so that operations need not be generic.
pub type DynConnection = Box<dyn SqlConnection>;
/// The store the operations run on.
pub type FailingStore = Store<FailingConnection<DynConnection>>;

/// One write operation to check.
#[derive(Debug, Clone, Copy)]
pub struct AtomicOp {
    /// A name for messages.
    pub name: &'static str,
    /// The owner whose revision the operation bumps.
    pub scope: Scope,
    /// The store user or quota.
    pub owner: &'static str,
    /// Runs the operation on a store set up by [`populate`].
    pub run: fn(&mut FailingStore) -> calstore_core::Result<()>,
    /// Transactions and savepoints it opens (each a begin and a commit that can fail when
    /// batches are counted): 1 for a single write.
    pub transactions: u64,
}

const CARS: &str = "cars";

fn opts(s: &FailingStore) -> RecordOptions {
    oslo(s.now())
}

fn weekly_w4() -> String {
    calendar_of(&[
        &[
            "UID:w4",
            "ORGANIZER:mailto:paul.boddie@example.com",
            "SUMMARY:Weekly",
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
            "RRULE:FREQ=WEEKLY;COUNT=5",
        ],
        &[
            "UID:w4",
            "ORGANIZER:mailto:paul.boddie@example.com",
            "SUMMARY:Weekly (moved)",
            "SEQUENCE:1",
            "RECURRENCE-ID;TZID=Europe/Oslo:20141017T160000",
            "DTSTART;TZID=Europe/Oslo:20141017T180000",
            "DTEND;TZID=Europe/Oslo:20141017T190000",
        ],
        &[
            "UID:w4",
            "ORGANIZER:mailto:paul.boddie@example.com",
            "SUMMARY:Weekly",
            "SEQUENCE:1",
            "STATUS:CANCELLED",
            "RECURRENCE-ID;TZID=Europe/Oslo:20141024T160000",
            "DTSTART;TZID=Europe/Oslo:20141024T160000",
            "DTEND;TZID=Europe/Oslo:20141024T170000",
        ],
    ])
}

/// The data every operation starts from: bookings with overrides and a cancellation, an
/// open-ended event (a provider), counters, requests, offers (one expired), others'
/// free/busy, quota limits, groups and a reservation, and a second user.
pub fn populate(s: &mut FailingStore) {
    let o = opts(s);
    let ics = calendar_of(&[
        &[
            "UID:event1@example.com",
            "ORGANIZER:mailto:paul.boddie@example.com",
            "SUMMARY:Meeting at 4pm",
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
        ],
        &[
            "UID:open",
            "SUMMARY:Open-ended",
            "DTSTART:20141016T080000Z",
            "DTEND:20141016T090000Z",
            "RRULE:FREQ=WEEKLY",
        ],
    ]);
    s.import_ics(RESOURCE, ics.as_bytes(), &o, &mut |_, _| {})
        .unwrap();
    s.import_ics(RESOURCE, weekly_w4().as_bytes(), &o, &mut |_, _| {})
        .unwrap();
    assert!(
        s.record_cancellation(RESOURCE, "w4", Some("20141024T140000Z"), &o)
            .unwrap()
    );
    s.set_counter(
        RESOURCE,
        VINCENT,
        "event1@example.com",
        None,
        "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
    )
    .unwrap();
    assert!(
        s.queue_request(RESOURCE, "event1@example.com", None, None)
            .unwrap()
    );
    let now = s.now();
    s.set_freebusy_offers(
        RESOURCE,
        &[
            Offer {
                period: period("20141011T100000Z", "20141011T110000Z", Some("old-offer")),
                expires: Some(now - TimeDelta::hours(1)),
            },
            Offer {
                period: period("20141012T100000Z", "20141012T110000Z", Some("live-offer")),
                expires: Some(now + TimeDelta::hours(1)),
            },
        ],
    )
    .unwrap();
    s.set_freebusy_for_other(
        RESOURCE,
        PAUL,
        &[
            period("20141010T100000Z", "20141010T110000Z", None),
            period("20141011T120000Z", "20141011T130000Z", None),
        ],
    )
    .unwrap();
    let mut j = s.journal();
    j.set_limits(CARS, &[("*".to_owned(), "PT2H".to_owned())].into())
        .unwrap();
    j.set_groups(CARS, &[(VINCENT.to_owned(), "staff".to_owned())].into())
        .unwrap();
    let p = [period("20141010T080000Z", "20141010T090000Z", Some("q1"))];
    assert!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "q1", &p))
            .unwrap()
            .is_accepted()
    );
    s.set_event(PAUL, "p1", None, "BEGIN:VEVENT\r\nUID:p1\r\nEND:VEVENT\r\n")
        .unwrap();
}

fn booking<'a>(
    organiser: &'a str,
    attendee: &'a str,
    uid: &'a str,
    periods: &'a [Period],
) -> Booking<'a> {
    Booking {
        organiser,
        attendee,
        uid,
        rid: None,
        periods,
        open_ended: false,
    }
}

fn import_recurring(s: &mut FailingStore) -> calstore_core::Result<()> {
    let ics = calendar_of(&[
        &[
            "UID:imp",
            "SUMMARY:Daily",
            "DTSTART;TZID=Europe/Oslo:20141013T120000",
            "DTEND;TZID=Europe/Oslo:20141013T130000",
            "RRULE:FREQ=DAILY;COUNT=4",
            "EXDATE;TZID=Europe/Oslo:20141015T120000",
        ],
        &[
            "UID:imp",
            "SUMMARY:Daily (moved)",
            "RECURRENCE-ID;TZID=Europe/Oslo:20141014T120000",
            "DTSTART;TZID=Europe/Oslo:20141014T150000",
            "DTEND;TZID=Europe/Oslo:20141014T160000",
        ],
    ]);
    let o = opts(s);
    s.import_ics(RESOURCE, ics.as_bytes(), &o, &mut |_, _| {})
        .map(|_| ())
}

fn record_single(s: &mut FailingStore) -> calstore_core::Result<()> {
    let e = event(&calendar(&[
        "UID:event3@example.com",
        "DTSTART:20141010T080000Z",
        "DTEND:20141010T090000Z",
    ]));
    let o = opts(s);
    s.record_event(RESOURCE, &e, &o).map(|_| ())
}

fn resend_parent(s: &mut FailingStore) -> calstore_core::Result<()> {
    let e = event(&calendar(&[
        "UID:w4",
        "ORGANIZER:mailto:paul.boddie@example.com",
        "SUMMARY:Weekly",
        "SEQUENCE:2",
        "DTSTART;TZID=Europe/Oslo:20141010T160000",
        "DTEND;TZID=Europe/Oslo:20141010T170000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
    ]));
    let o = RecordOptions {
        replace_recurrences: true,
        ..opts(s)
    };
    s.record_event(RESOURCE, &e, &o).map(|_| ())
}

fn record_override(s: &mut FailingStore) -> calstore_core::Result<()> {
    let e = event(&calendar(&[
        "UID:w4",
        "ORGANIZER:mailto:paul.boddie@example.com",
        "SUMMARY:Weekly (moved again)",
        "SEQUENCE:1",
        "RECURRENCE-ID;TZID=Europe/Oslo:20141031T160000",
        "DTSTART;TZID=Europe/Oslo:20141031T180000",
        "DTEND;TZID=Europe/Oslo:20141031T190000",
    ]));
    let o = opts(s);
    let periods = s.record_event(RESOURCE, &e, &o)?;
    assert_eq!(periods.len(), 4, "{periods:?}");
    Ok(())
}

fn cancel_event1(s: &mut FailingStore) -> calstore_core::Result<()> {
    let o = opts(s);
    s.record_cancellation(RESOURCE, "event1@example.com", None, &o)
        .map(|_| ())
}

fn cancel_occurrence(s: &mut FailingStore) -> calstore_core::Result<()> {
    let o = opts(s);
    s.record_cancellation(RESOURCE, "w4", Some("20141017T140000Z"), &o)
        .map(|_| ())
}

fn set_freebusy(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.set_freebusy(
        RESOURCE,
        &[
            period("20141020T080000Z", "20141020T090000Z", Some("x")),
            period(
                "20141010T140000Z",
                "20141010T150000Z",
                Some("event1@example.com"),
            ),
        ],
    )
}

fn queue_request(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.queue_request(RESOURCE, "w4", Some("20141017T140000Z"), Some("COUNTER"))
        .map(|_| ())
}

fn set_requests(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.set_requests(
        RESOURCE,
        &[
            Request {
                uid: "w4".into(),
                rid: None,
                kind: None,
            },
            Request {
                uid: "w4".into(),
                rid: Some("20141017T140000Z".into()),
                kind: Some("COUNTER".into()),
            },
        ],
    )
}

fn set_counter(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.set_counter(
        RESOURCE,
        VINCENT,
        "event1@example.com",
        None,
        "BEGIN:VEVENT\r\nSUMMARY:again\r\nEND:VEVENT\r\n",
    )
}

fn remove_counters(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.remove_counters(RESOURCE, "event1@example.com", None)
        .map(|_| ())
}

fn remove_event(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.remove_event(RESOURCE, "w4", None).map(|_| ())
}

fn record_removal(s: &mut FailingStore) -> calstore_core::Result<()> {
    let o = opts(s);
    s.record_removal(RESOURCE, "open", None, &o).map(|_| ())
}

fn remove_cancellations(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.remove_cancellations(RESOURCE, "w4", None).map(|_| ())
}

fn reserve(s: &mut FailingStore) -> calstore_core::Result<()> {
    let p = [
        period("20141011T080000Z", "20141011T083000Z", Some("q2")),
        period("20141012T080000Z", "20141012T083000Z", Some("q2")),
    ];
    let d = s.journal().reserve(CARS, &booking(PAUL, FIAT, "q2", &p))?;
    assert!(d.is_accepted(), "{d:?}");
    Ok(())
}

fn set_limits(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.journal().set_limits(
        CARS,
        &[
            ("*".to_owned(), "PT1H".to_owned()),
            ("staff".to_owned(), "*".to_owned()),
        ]
        .into(),
    )
}

fn set_groups(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.journal().set_groups(
        CARS,
        &[
            (PAUL.to_owned(), "staff".to_owned()),
            (HARVEY.to_owned(), "staff".to_owned()),
        ]
        .into(),
    )
}

fn expire_offers(s: &mut FailingStore) -> calstore_core::Result<()> {
    let live = s.get_freebusy_offers(RESOURCE)?;
    assert_eq!(live.len(), 1, "{live:?}");
    Ok(())
}

fn extend_freebusy(s: &mut FailingStore) -> calstore_core::Result<()> {
    let until = s.now() + TimeDelta::days(200);
    let n = s.extend_freebusy(RESOURCE, until, chrono_tz::Europe::Oslo)?;
    assert_eq!(n, 1);
    Ok(())
}

fn replace_freebusy_for_other(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.replace_freebusy_for_other(
        RESOURCE,
        PAUL,
        ts("20141011T000000Z"),
        ts("20141013T000000Z"),
        &[
            period("20141012T080000Z", "20141012T090000Z", None),
            period("20141012T100000Z", "20141012T110000Z", None),
        ],
    )
}

/// Three writes of two owners in one unit of work: one transaction with a savepoint per
/// write.
fn unit_of_work(s: &mut FailingStore) -> calstore_core::Result<()> {
    s.transaction(|s| {
        record_single(s)?;
        queue_request(s)?;
        reserve(s)
    })
}

macro_rules! op {
    ($name:ident, $scope:expr, $owner:expr) => {
        op!($name, $scope, $owner, 1)
    };
    ($name:ident, $scope:expr, $owner:expr, $transactions:expr) => {
        AtomicOp {
            name: stringify!($name),
            scope: $scope,
            owner: $owner,
            run: $name,
            transactions: $transactions,
        }
    };
}

/// The operations checked, each a representative write of the store or journal.
pub fn atomic_ops() -> Vec<AtomicOp> {
    vec![
        op!(import_recurring, Scope::Store, RESOURCE),
        op!(record_single, Scope::Store, RESOURCE),
        op!(resend_parent, Scope::Store, RESOURCE),
        op!(record_override, Scope::Store, RESOURCE),
        op!(cancel_event1, Scope::Store, RESOURCE),
        op!(cancel_occurrence, Scope::Store, RESOURCE),
        op!(set_freebusy, Scope::Store, RESOURCE),
        op!(queue_request, Scope::Store, RESOURCE),
        op!(set_requests, Scope::Store, RESOURCE),
        op!(set_counter, Scope::Store, RESOURCE),
        op!(remove_counters, Scope::Store, RESOURCE),
        op!(remove_event, Scope::Store, RESOURCE),
        op!(record_removal, Scope::Store, RESOURCE),
        op!(remove_cancellations, Scope::Store, RESOURCE),
        op!(reserve, Scope::Journal, CARS),
        op!(set_limits, Scope::Journal, CARS),
        op!(set_groups, Scope::Journal, CARS),
        op!(expire_offers, Scope::Store, RESOURCE),
        op!(extend_freebusy, Scope::Store, RESOURCE),
        op!(replace_freebusy_for_other, Scope::Store, RESOURCE),
        op!(unit_of_work, Scope::Store, RESOURCE, 4),
    ]
}

/// Looks an operation up by name.
pub fn atomic_op(name: &str) -> AtomicOp {
    atomic_ops()
        .into_iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no atomic operation named {name}"))
}

fn fresh(make: &dyn Fn() -> DynConnection, count_batches: bool) -> FailingStore {
    let (mut s, _) = open(FailingConnection::new(make()).counting_batches(count_batches));
    populate(&mut s);
    s
}

/// Checks `op` as the module documentation describes, failing each of its statements in
/// turn with `mode`; `execute_batch` calls (BEGIN, COMMIT) are failed too when
/// `count_batches`. `tables` lists every table of the schema. Returns how many statements
/// the operation issues.
pub fn check_atomic(
    make: &dyn Fn() -> DynConnection,
    tables: &[&str],
    op: &AtomicOp,
    mode: FailMode,
    count_batches: bool,
) -> u64 {
    let name = op.name;
    // The clean run.
    let mut s = fresh(make, count_batches);
    let before = snapshot(s.connection(), tables).unwrap();
    let revision = changes::current_revision(s.connection(), op.scope, op.owner).unwrap();
    s.connection().reset_count();
    (op.run)(&mut s).unwrap_or_else(|e| panic!("{name}: the clean run failed: {e:?}"));
    let statements = s.connection().calls();
    let after = snapshot(s.connection(), tables).unwrap();
    assert_ne!(before, after, "{name}: the operation changed nothing");
    assert_eq!(
        changes::current_revision(s.connection(), op.scope, op.owner).unwrap(),
        revision + 1,
        "{name}: one revision per write"
    );
    assert!(statements > 0, "{name}: no statements");
    // Every statement failing in turn.
    for n in 1..=statements {
        let mut s = fresh(make, count_batches);
        assert_eq!(
            snapshot(s.connection(), tables).unwrap(),
            before,
            "{name}: setup differs"
        );
        s.connection().fail_at(n, mode);
        let result = (op.run)(&mut s);
        s.connection().disarm();
        match &result {
            Err(e) if e.db_kind() == Some(&DbErrorKind::Injected) => {}
            other => panic!("{name}: with statement {n} of {statements} failing, got {other:?}"),
        }
        let state = snapshot(s.connection(), tables).unwrap();
        if state != before {
            let diff: Vec<&str> = state
                .iter()
                .zip(&before)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.0.as_str())
                .collect();
            panic!("{name}: statement {n} of {statements} failed and tables {diff:?} changed");
        }
        // The same store recovers: running it again gives the clean run's state.
        (op.run)(&mut s).unwrap_or_else(|e| panic!("{name}: retry after failure {n}: {e:?}"));
        assert_eq!(
            snapshot(s.connection(), tables).unwrap(),
            after,
            "{name}: retry after failure {n} differs from the clean run"
        );
    }
    statements
}
