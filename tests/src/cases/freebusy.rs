//! Free/busy collections: own periods, others', offers and providers (§1.8–§1.10).

use calstore_core::ical::datetime::format_utc;
use calstore_core::{Offer, Period, Providers, SqlConnection};
use chrono::{DateTime, TimeDelta, Utc};

use crate::support::*;

fn ev(start: &str, end: &str, uid: &str) -> Period {
    period(start, end, Some(uid))
}

/// Own free/busy is returned sorted by (start, end, uid, rid) whatever the write order, and
/// equal periods (same start, end, uid and rid; summary and transp do not count) are stored
/// once (the DB store neither sorted nor deduplicated: §7.2, §7.3).
pub fn freebusy_sorted_and_deduplicated<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    let late = ev("20141010T140000Z", "20141010T150000Z", "event1");
    let early = ev("20141010T080000Z", "20141010T090000Z", "event3");
    let same_start_longer = ev("20141010T080000Z", "20141010T100000Z", "event0");
    let same_times_b = ev("20141010T140000Z", "20141010T150000Z", "event0");
    let mut dup = late.clone();
    dup.summary = Some("another summary".into());
    dup.transp = Some("TRANSPARENT".into());
    s.set_freebusy(
        RESOURCE,
        &[
            late.clone(),
            early.clone(),
            dup,
            same_start_longer.clone(),
            same_times_b.clone(),
        ],
    )
    .unwrap();
    let fb = s.get_freebusy(RESOURCE).unwrap();
    assert_eq!(
        fb,
        [early.clone(), same_start_longer, same_times_b, late.clone()]
    );
    // add_freebusy skips equal periods and reports how many it added.
    let mut again = early.clone();
    again.summary = Some("x".into());
    assert_eq!(
        s.add_freebusy(RESOURCE, &[again, early.clone()]).unwrap(),
        0
    );
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 4);
    // A period equal but for the recurrence id is a different period.
    let mut rid = early;
    rid.recurrenceid = Some("20141010T080000Z".into());
    assert_eq!(s.add_freebusy(RESOURCE, &[rid]).unwrap(), 1);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 5);
    assert_eq!(count_rows(s.connection(), "freebusy"), 5);
}

/// `set_freebusy` replaces the user's periods (the DB store appended: §7.3) and leaves
/// other users' alone.
pub fn set_freebusy_replaces<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let x = ev("20141010T080000Z", "20141010T090000Z", "x");
    let y = ev("20141011T080000Z", "20141011T090000Z", "y");
    s.set_freebusy(RESOURCE, std::slice::from_ref(&x)).unwrap();
    s.set_freebusy(PAUL, std::slice::from_ref(&x)).unwrap();
    s.set_freebusy(RESOURCE, std::slice::from_ref(&y)).unwrap();
    assert_eq!(s.get_freebusy(RESOURCE).unwrap(), [y]);
    assert_eq!(s.get_freebusy(PAUL).unwrap(), [x]);
    s.set_freebusy(RESOURCE, &[]).unwrap();
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
}

/// `add_freebusy` adds; `remove_event_periods` removes the periods of exactly (uid, rid),
/// rid None meaning the parent's occurrences.
pub fn add_freebusy_and_remove_event_periods<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let p1 = ev("20141010T080000Z", "20141010T090000Z", "e");
    let p2 = ev("20141017T080000Z", "20141017T090000Z", "e");
    let mut moved = ev("20141024T100000Z", "20141024T110000Z", "e");
    moved.recurrenceid = Some("20141024T080000Z".into());
    let other = ev("20141010T100000Z", "20141010T110000Z", "f");
    assert_eq!(
        s.add_freebusy(RESOURCE, &[p1, p2, moved.clone(), other.clone()])
            .unwrap(),
        4
    );
    assert_eq!(s.remove_event_periods(RESOURCE, "e", None).unwrap(), 2);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap(), [other.clone(), moved]);
    assert_eq!(
        s.remove_event_periods(RESOURCE, "e", Some("20141024T080000Z"))
            .unwrap(),
        1
    );
    assert_eq!(s.remove_event_periods(RESOURCE, "e", None).unwrap(), 0);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap(), [other]);
}

fn overlap_fixture() -> Vec<Period> {
    vec![
        // Two years long (the longest duration class).
        ev("20130101T000000Z", "20150101T000000Z", "two-years"),
        // Ten days.
        ev("20141001T000000Z", "20141011T000000Z", "ten-days"),
        // Zero length.
        ev("20141010T120000Z", "20141010T120000Z", "zero"),
        // One hour, and exactly one hour (the boundary of the shortest class).
        ev("20141010T080000Z", "20141010T090000Z", "hour"),
        ev("20141010T090000Z", "20141010T093000Z", "half-hour"),
        // Just over a day, a week, a month and a year.
        ev("20141009T000000Z", "20141010T000001Z", "day+1s"),
        ev("20141003T000000Z", "20141010T000001Z", "week+1s"),
        ev("20140909T000000Z", "20141010T000001Z", "month+1s"),
        ev("20131009T000000Z", "20141010T000001Z", "year+1s"),
        // Far away.
        ev("20200101T000000Z", "20200101T010000Z", "far"),
    ]
}

fn uids(periods: &[Period]) -> Vec<String> {
    let mut out: Vec<String> = periods.iter().filter_map(|p| p.uid.clone()).collect();
    out.sort();
    out
}

/// `get_freebusy_in` finds every overlapping period whatever its length (a two-year period
/// starting long before the window, a ten-day one, a zero-length one), sorted, and agrees
/// with `Period::overlaps` over a grid of windows.
pub fn freebusy_in_overlap_long_periods<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let all = overlap_fixture();
    s.set_freebusy(RESOURCE, &all).unwrap();
    let got = s
        .get_freebusy_in(RESOURCE, ts("20141010T110000Z"), ts("20141010T130000Z"))
        .unwrap();
    assert_eq!(uids(&got), ["ten-days", "two-years", "zero"]);
    let sorted = {
        let mut v = got.clone();
        v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        v
    };
    assert_eq!(got, sorted, "results are sorted");
    let got = s
        .get_freebusy_in(RESOURCE, ts("20141010T000000Z"), ts("20141010T000001Z"))
        .unwrap();
    assert_eq!(
        uids(&got),
        [
            "day+1s",
            "month+1s",
            "ten-days",
            "two-years",
            "week+1s",
            "year+1s"
        ]
    );
    // A window after everything but the two-year period.
    let got = s
        .get_freebusy_in(RESOURCE, ts("20141201T000000Z"), ts("20141202T000000Z"))
        .unwrap();
    assert_eq!(uids(&got), ["two-years"]);
    // The grid: every window between interesting instants.
    let mut instants: Vec<DateTime<Utc>> = all.iter().flat_map(|p| [p.start, p.end]).collect();
    instants.push(ts("20000101T000000Z"));
    instants.push(ts("20300101T000000Z"));
    instants.sort();
    instants.dedup();
    for (i, from) in instants.iter().enumerate() {
        for to in &instants[i..] {
            for to in [*to, *to + TimeDelta::seconds(1)] {
                let expected: Vec<Period> = all
                    .iter()
                    .filter(|p| p.overlaps(*from, to))
                    .cloned()
                    .collect();
                let got = s.get_freebusy_in(RESOURCE, *from, to).unwrap();
                assert_eq!(
                    uids(&got),
                    uids(&expected),
                    "window {}..{}",
                    format_utc(*from),
                    format_utc(to)
                );
            }
        }
    }
}

/// Windows are half-open, `[from, to)`: a period ending at `from` or starting at `to` is
/// outside; one second inside either way is inside.
pub fn freebusy_in_half_open_boundaries<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let p = ev("20141010T080000Z", "20141010T090000Z", "p");
    s.set_freebusy(RESOURCE, std::slice::from_ref(&p)).unwrap();
    let at = |s: &mut calstore_core::Store<C>, from: &str, to: &str| {
        s.get_freebusy_in(RESOURCE, ts(from), ts(to)).unwrap().len()
    };
    assert_eq!(
        at(&mut s, "20141010T090000Z", "20141010T100000Z"),
        0,
        "ends at from"
    );
    assert_eq!(
        at(&mut s, "20141010T070000Z", "20141010T080000Z"),
        0,
        "starts at to"
    );
    assert_eq!(at(&mut s, "20141010T085959Z", "20141010T100000Z"), 1);
    assert_eq!(at(&mut s, "20141010T070000Z", "20141010T080001Z"), 1);
    assert_eq!(
        at(&mut s, "20141010T080000Z", "20141010T090000Z"),
        1,
        "same period"
    );
    // An empty window is the instant `from`; the test is imip-agent's `start < to && end >
    // from`, so it finds a period it falls strictly inside, but not one starting there.
    assert_eq!(
        at(&mut s, "20141010T083000Z", "20141010T083000Z"),
        1,
        "empty window inside"
    );
    assert_eq!(
        at(&mut s, "20141010T080000Z", "20141010T080000Z"),
        0,
        "empty window at start"
    );
    assert_eq!(
        at(&mut s, "20141010T090000Z", "20141010T090000Z"),
        0,
        "empty window at end"
    );
    // A zero-length period is inside a window that strictly contains it, not at its edges.
    let z = ev("20141011T120000Z", "20141011T120000Z", "z");
    s.set_freebusy(RESOURCE, &[z]).unwrap();
    assert_eq!(at(&mut s, "20141011T110000Z", "20141011T130000Z"), 1);
    assert_eq!(at(&mut s, "20141011T110000Z", "20141011T120000Z"), 0);
    assert_eq!(at(&mut s, "20141011T120000Z", "20141011T130000Z"), 0);
}

/// Free/busy about others: per other, sorted, replaced by `set_freebusy_for_other`, listed
/// by `get_freebusy_others`, windowed by `get_freebusy_for_other_in`, and
/// `update_freebusy_for_other_event` replaces one event's periods only.
pub fn freebusy_other_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.get_freebusy_others(RESOURCE).unwrap().is_empty());
    let a = ev("20141010T100000Z", "20141010T110000Z", "a");
    let b = ev("20141009T100000Z", "20141009T110000Z", "b");
    s.set_freebusy_for_other(RESOURCE, VINCENT, &[a.clone(), b.clone(), a.clone()])
        .unwrap();
    s.set_freebusy_for_other(RESOURCE, PAUL, std::slice::from_ref(&a))
        .unwrap();
    assert_eq!(s.get_freebusy_others(RESOURCE).unwrap(), [PAUL, VINCENT]);
    assert_eq!(
        s.get_freebusy_for_other(RESOURCE, VINCENT).unwrap(),
        [b.clone(), a.clone()]
    );
    assert!(
        s.get_freebusy_for_other(VINCENT, RESOURCE)
            .unwrap()
            .is_empty()
    );
    assert!(
        s.get_freebusy(RESOURCE).unwrap().is_empty(),
        "own free/busy is separate"
    );
    assert_eq!(
        s.get_freebusy_for_other_in(
            RESOURCE,
            VINCENT,
            ts("20141010T000000Z"),
            ts("20141011T000000Z")
        )
        .unwrap(),
        vec![a.clone()]
    );
    s.set_freebusy_for_other(RESOURCE, VINCENT, std::slice::from_ref(&b))
        .unwrap();
    assert_eq!(
        s.get_freebusy_for_other(RESOURCE, VINCENT).unwrap(),
        vec![b.clone()]
    );
    // One event's periods replaced.
    let a2 = ev("20141012T100000Z", "20141012T110000Z", "a");
    s.update_freebusy_for_other_event(RESOURCE, PAUL, "a", None, std::slice::from_ref(&a2))
        .unwrap();
    assert_eq!(
        s.get_freebusy_for_other(RESOURCE, PAUL).unwrap(),
        vec![a2.clone()]
    );
    let c = ev("20141009T120000Z", "20141009T130000Z", "c");
    s.update_freebusy_for_other_event(RESOURCE, PAUL, "c", None, std::slice::from_ref(&c))
        .unwrap();
    assert_eq!(
        s.get_freebusy_for_other(RESOURCE, PAUL).unwrap(),
        [c.clone(), a2]
    );
    s.update_freebusy_for_other_event(RESOURCE, PAUL, "a", None, &[])
        .unwrap();
    assert_eq!(s.get_freebusy_for_other(RESOURCE, PAUL).unwrap(), [c]);
    assert_eq!(s.get_freebusy_for_other(RESOURCE, VINCENT).unwrap(), [b]);
}

/// Offers expire at read: one whose expiry is now or earlier is deleted by
/// `get_freebusy_offers` (the DB store compared with `=` and never expired them: §7.1); one
/// expiring a second later, or never, stays until then.
pub fn offers_expire_at_read<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    let now = t0();
    let offer = |uid: &str, expires: Option<DateTime<Utc>>| Offer {
        period: ev("20141010T141500Z", "20141010T151500Z", uid),
        expires,
    };
    s.set_freebusy_offers(
        RESOURCE,
        &[
            offer("past", Some(now - TimeDelta::hours(1))),
            offer("now", Some(now)),
            offer("later", Some(now + TimeDelta::seconds(1))),
            offer("never", None),
        ],
    )
    .unwrap();
    assert_eq!(count_rows(s.connection(), "freebusy_offers"), 4);
    let live = s.get_freebusy_offers(RESOURCE).unwrap();
    assert_eq!(
        live,
        [
            offer("later", Some(now + TimeDelta::seconds(1))),
            offer("never", None)
        ]
    );
    assert_eq!(
        count_rows(s.connection(), "freebusy_offers"),
        2,
        "expired rows are deleted"
    );
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        s.get_freebusy_offers(RESOURCE).unwrap(),
        [offer("never", None)]
    );
    assert_eq!(count_rows(s.connection(), "freebusy_offers"), 1);
}

/// S12 at store level: an offer that expired long ago (20000101T000000Z) is gone at the
/// next read and no longer blocks a booking.
pub fn offers_long_expired_are_purged<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let p = ev("20141010T141500Z", "20141010T151500Z", "event6@example.com");
    s.set_freebusy_offers(
        RESOURCE,
        &[Offer {
            period: p,
            expires: Some(ts("20000101T000000Z")),
        }],
    )
    .unwrap();
    let want = [ev(
        "20141010T143000Z",
        "20141010T150000Z",
        "event8@example.com",
    )];
    assert!(
        s.can_schedule(RESOURCE, &want, "event8@example.com", None)
            .unwrap()
    );
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
    assert_eq!(count_rows(s.connection(), "freebusy_offers"), 0);
}

/// `get_freebusy_offers_in` windows live offers; `set_freebusy_offers` replaces;
/// `update_offers_for_event` replaces one event's offers only.
pub fn offers_in_and_update_for_event<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let now = t0();
    let exp = Some(now + TimeDelta::hours(1));
    let o = |start: &str, end: &str, uid: &str, expires| Offer {
        period: ev(start, end, uid),
        expires,
    };
    s.set_freebusy_offers(
        RESOURCE,
        &[
            o("20141010T141500Z", "20141010T151500Z", "e6", exp),
            o("20141011T141500Z", "20141011T151500Z", "e7", exp),
            o("20141010T100000Z", "20141010T110000Z", "old", Some(now)),
        ],
    )
    .unwrap();
    let got = s
        .get_freebusy_offers_in(RESOURCE, ts("20141010T000000Z"), ts("20141011T000000Z"))
        .unwrap();
    assert_eq!(got, [o("20141010T141500Z", "20141010T151500Z", "e6", exp)]);
    assert_eq!(
        count_rows(s.connection(), "freebusy_offers"),
        2,
        "expired one deleted"
    );
    s.update_offers_for_event(
        RESOURCE,
        "e6",
        None,
        &[o("20141010T160000Z", "20141010T170000Z", "e6", exp)],
    )
    .unwrap();
    assert_eq!(
        s.get_freebusy_offers(RESOURCE).unwrap(),
        [
            o("20141010T160000Z", "20141010T170000Z", "e6", exp),
            o("20141011T141500Z", "20141011T151500Z", "e7", exp),
        ]
    );
    s.update_offers_for_event(RESOURCE, "e7", None, &[])
        .unwrap();
    s.set_freebusy_offers(PAUL, &[o("20141011T141500Z", "20141011T151500Z", "p", exp)])
        .unwrap();
    assert_eq!(
        s.get_freebusy_offers(RESOURCE).unwrap(),
        [o("20141010T160000Z", "20141010T170000Z", "e6", exp)]
    );
    s.set_freebusy_offers(RESOURCE, &[]).unwrap();
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
    assert_eq!(s.get_freebusy_offers(PAUL).unwrap().len(), 1);
}

/// Reading offers when none has expired writes nothing: no revision, no change rows, and
/// the reader does not become a user.
pub fn reading_offers_writes_nothing<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
    assert!(
        s.get_freebusy_offers_in(RESOURCE, ts("20141010T000000Z"), ts("20141011T000000Z"))
            .unwrap()
            .is_empty()
    );
    assert_nothing_written(&mut s, RESOURCE);
    let exp = Some(t0() + TimeDelta::hours(1));
    s.set_freebusy_offers(
        RESOURCE,
        &[Offer {
            period: ev("20141010T141500Z", "20141010T151500Z", "e6"),
            expires: exp,
        }],
    )
    .unwrap();
    let rev = s.revision(RESOURCE).unwrap();
    assert_eq!(s.get_freebusy_offers(RESOURCE).unwrap().len(), 1);
    assert_eq!(s.revision(RESOURCE).unwrap(), rev);
}

/// With nothing stored there is no providers record (None, not an empty list).
pub fn providers_none_when_nothing_stored<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert_eq!(s.get_freebusy_providers(SAUNA).unwrap(), None);
    s.set_event(
        SAUNA,
        "e@example.com",
        None,
        "BEGIN:VEVENT\r\nUID:e@example.com\r\nEND:VEVENT\r\n",
    )
    .unwrap();
    assert_eq!(s.get_freebusy_providers(SAUNA).unwrap(), None);
    assert!(
        !s.remove_freebusy_provider(SAUNA, "e@example.com", None)
            .unwrap()
    );
}

/// `append_freebusy_provider` creates the record when there is none (the file store
/// recorded nothing: §7.6); appending twice adds once.
pub fn append_provider_creates_record<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.append_freebusy_provider(SAUNA, "event5", None).unwrap());
    assert!(!s.append_freebusy_provider(SAUNA, "event5", None).unwrap());
    assert!(
        s.append_freebusy_provider(SAUNA, "event5", Some("20141016T100000Z"))
            .unwrap()
    );
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: None,
            providers: vec![
                ("event5".into(), None),
                ("event5".into(), Some("20141016T100000Z".into())),
            ],
        })
    );
    assert_eq!(s.get_freebusy_providers(RESOURCE).unwrap(), None);
}

/// `set_freebusy_providers` replaces the record, datetime included; `remove_freebusy_provider`
/// removes one entry and reports whether it was listed; a datetime that is not
/// `YYYYMMDDTHHMMSSZ` is refused.
pub fn set_and_remove_providers<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.append_freebusy_provider(SAUNA, "old", None).unwrap();
    s.set_freebusy_providers(
        SAUNA,
        Some("20141001T000000Z"),
        &[
            ("b".into(), None),
            ("a".into(), Some("20141016T100000Z".into())),
        ],
    )
    .unwrap();
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: Some("20141001T000000Z".into()),
            providers: vec![
                ("a".into(), Some("20141016T100000Z".into())),
                ("b".into(), None)
            ],
        })
    );
    assert!(s.remove_freebusy_provider(SAUNA, "b", None).unwrap());
    assert!(!s.remove_freebusy_provider(SAUNA, "b", None).unwrap());
    assert!(
        !s.remove_freebusy_provider(SAUNA, "a", None).unwrap(),
        "rid differs"
    );
    assert!(
        s.remove_freebusy_provider(SAUNA, "a", Some("20141016T100000Z"))
            .unwrap()
    );
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: Some("20141001T000000Z".into()),
            providers: vec![],
        })
    );
    let rev = s.revision(SAUNA).unwrap();
    assert_invalid(s.set_freebusy_providers(SAUNA, Some("2014-10-01"), &[]));
    assert_eq!(s.revision(SAUNA).unwrap(), rev);
    s.set_freebusy_providers(SAUNA, None, &[]).unwrap();
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers::default())
    );
}
