//! The journal: limits, groups, delegates, entries, the journal's copies of events, and the
//! quota check (§2).

use std::collections::BTreeMap;

use calstore_core::journal::describe_seconds;
use calstore_core::{
    Booking, DeclineReason, Entry, Limit, Period, QuotaDecision, SqlConnection, Status,
};
use chrono::TimeDelta;

use crate::support::*;

const CARS: &str = "cars";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ev(start: &str, end: &str, uid: &str) -> Period {
    period(start, end, Some(uid))
}

fn entry(p: Period, attendee: &str) -> Entry {
    Entry {
        period: p,
        attendee: Some(attendee.to_owned()),
    }
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

fn accepted(group: &str) -> QuotaDecision {
    QuotaDecision::Accepted {
        group: group.to_owned(),
    }
}

/// Limits round-trip (`*` and durations), `set_limits` replaces and `set_limit` sets one;
/// `Limit::parse` reads `*` and durations.
pub fn journal_limits_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert!(j.get_limits(CARS).unwrap().is_empty());
    j.set_limits(CARS, &map(&[("*", "PT1H"), ("staff", "*"), (PAUL, "P1W")]))
        .unwrap();
    assert_eq!(
        j.get_limits(CARS).unwrap(),
        map(&[("*", "PT1H"), ("staff", "*"), (PAUL, "P1W")])
    );
    j.set_limits(CARS, &map(&[("*", "PT1H30M")])).unwrap();
    assert_eq!(j.get_limits(CARS).unwrap(), map(&[("*", "PT1H30M")]));
    j.set_limit(CARS, "staff", "P1D").unwrap();
    j.set_limit(CARS, "*", "*").unwrap();
    assert_eq!(
        j.get_limits(CARS).unwrap(),
        map(&[("*", "*"), ("staff", "P1D")])
    );
    assert!(j.get_limits("bikes").unwrap().is_empty());
    assert_eq!(Limit::parse("*").unwrap(), Limit::Unlimited);
    assert_eq!(Limit::parse("PT1H").unwrap(), Limit::Seconds(3600));
    assert_eq!(Limit::parse("P1D").unwrap(), Limit::Seconds(86_400));
    assert_eq!(Limit::parse("P1W").unwrap(), Limit::Seconds(604_800));
    assert_eq!(Limit::parse("PT1H30M").unwrap(), Limit::Seconds(5400));
    assert_eq!(describe_seconds(5400), "PT1H30M");
}

/// `PT1D` (which silently disabled offers upstream: §7.17) and other bad limits are
/// refused with InvalidData, and nothing is written: one bad value rejects the whole set.
pub fn journal_limit_pt1d_rejected<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert_invalid(Limit::parse("PT1D"));
    assert_invalid(Limit::parse("-PT1H"));
    assert_invalid(Limit::parse("one hour"));
    let mut j = s.journal();
    assert_invalid(j.set_limits(CARS, &map(&[("*", "PT1H"), ("staff", "PT1D")])));
    assert_invalid(j.set_limit(CARS, "*", "PT1D"));
    assert_invalid(j.set_limit(CARS, "*", ""));
    assert_invalid(j.set_limits(CARS, &map(&[("", "PT1H")])));
    assert_eq!(j.revision(CARS).unwrap(), 0);
    assert!(j.get_limits(CARS).unwrap().is_empty());
    assert_nothing_written(&mut s, CARS);
    // Existing limits survive a rejected replacement.
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT1H")])).unwrap();
    assert_invalid(j.set_limits(CARS, &map(&[("*", "PT2H"), ("x", "PT1D")])));
    assert_eq!(j.get_limits(CARS).unwrap(), map(&[("*", "PT1H")]));
    assert_eq!(j.revision(CARS).unwrap(), 1);
}

/// Groups round-trip; `set_groups` replaces, `set_group` sets one.
pub fn journal_groups_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert!(j.get_groups(CARS).unwrap().is_empty());
    j.set_groups(CARS, &map(&[(PAUL, "staff"), ("*", "visitors")]))
        .unwrap();
    assert_eq!(
        j.get_groups(CARS).unwrap(),
        map(&[(PAUL, "staff"), ("*", "visitors")])
    );
    j.set_groups(CARS, &map(&[(VINCENT, "staff")])).unwrap();
    assert_eq!(j.get_groups(CARS).unwrap(), map(&[(VINCENT, "staff")]));
    j.set_group(CARS, VINCENT, "managers").unwrap();
    j.set_group(CARS, PAUL, "staff").unwrap();
    assert_eq!(
        j.get_groups(CARS).unwrap(),
        map(&[(PAUL, "staff"), (VINCENT, "managers")])
    );
    assert!(j.get_groups("bikes").unwrap().is_empty());
}

/// Delegates round-trip, sorted and deduplicated; `set_delegates` replaces; a delegate
/// must be a calendar URI.
pub fn journal_delegates_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert!(j.get_delegates(CARS).unwrap().is_empty());
    j.set_delegates(
        CARS,
        &[FIAT.to_owned(), PORSCHE.to_owned(), FIAT.to_owned()],
    )
    .unwrap();
    assert_eq!(j.get_delegates(CARS).unwrap(), [FIAT, PORSCHE]);
    j.set_delegates(CARS, &[PORSCHE.to_owned()]).unwrap();
    assert_eq!(j.get_delegates(CARS).unwrap(), [PORSCHE]);
    assert_invalid(j.set_delegates(CARS, &["porsche".to_owned()]));
    assert_eq!(j.get_delegates(CARS).unwrap(), [PORSCHE]);
    j.set_delegates(CARS, &[]).unwrap();
    assert!(j.get_delegates(CARS).unwrap().is_empty());
}

/// Entries: `set_entries` replaces a group's, `get_entries` is sorted with the attendee,
/// `get_entries_in` windows, `add_to_quota` replaces what one attendee recorded for a uid,
/// `remove_from_quota` removes only that attendee's.
pub fn journal_entries_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    let a = ev("20141010T080000Z", "20141010T090000Z", "q1");
    let b = ev("20141011T080000Z", "20141011T083000Z", "q2");
    j.set_entries(
        CARS,
        PAUL,
        &[entry(b.clone(), FIAT), entry(a.clone(), PORSCHE)],
    )
    .unwrap();
    assert_eq!(
        j.get_entries(CARS, PAUL).unwrap(),
        [entry(a.clone(), PORSCHE), entry(b.clone(), FIAT)]
    );
    assert!(j.get_entries(CARS, VINCENT).unwrap().is_empty());
    assert_eq!(
        j.get_entries_in(CARS, PAUL, ts("20141011T000000Z"), ts("20141012T000000Z"))
            .unwrap(),
        [entry(b.clone(), FIAT)]
    );
    // The same period from two attendees is two entries.
    j.add_to_quota(CARS, PAUL, FIAT, "q1", None, std::slice::from_ref(&a))
        .unwrap();
    assert_eq!(j.get_entries(CARS, PAUL).unwrap().len(), 3);
    // Re-adding q1 for the porsche replaces its earlier periods.
    let a2 = ev("20141012T080000Z", "20141012T090000Z", "q1");
    j.add_to_quota(CARS, PAUL, PORSCHE, "q1", None, std::slice::from_ref(&a2))
        .unwrap();
    assert_eq!(
        j.get_entries(CARS, PAUL).unwrap(),
        [
            entry(a.clone(), FIAT),
            entry(b.clone(), FIAT),
            entry(a2, PORSCHE)
        ]
    );
    assert_eq!(j.remove_from_quota(CARS, PAUL, PORSCHE, "q1").unwrap(), 1);
    assert_eq!(j.remove_from_quota(CARS, PAUL, PORSCHE, "q1").unwrap(), 0);
    assert_eq!(
        j.get_entries(CARS, PAUL).unwrap(),
        [entry(a, FIAT), entry(b, FIAT)]
    );
    j.set_entries(CARS, PAUL, &[]).unwrap();
    assert!(j.get_entries(CARS, PAUL).unwrap().is_empty());
}

/// The organiser's combined bookings (`user_freebusy`): add replaces (uid, rid), remove
/// counts.
pub fn journal_user_entries_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert!(j.get_user_entries(CARS, PAUL).unwrap().is_empty());
    let a = ev("20141010T080000Z", "20141010T090000Z", "q1");
    let b = ev("20141011T080000Z", "20141011T090000Z", "q1");
    let c = ev("20141009T080000Z", "20141009T090000Z", "q2");
    j.add_user_entries(CARS, PAUL, "q1", None, &[b.clone(), a.clone()])
        .unwrap();
    j.add_user_entries(CARS, PAUL, "q2", None, std::slice::from_ref(&c))
        .unwrap();
    assert_eq!(
        j.get_user_entries(CARS, PAUL).unwrap(),
        [c.clone(), a.clone(), b]
    );
    j.add_user_entries(CARS, PAUL, "q1", None, std::slice::from_ref(&a))
        .unwrap();
    assert_eq!(j.get_user_entries(CARS, PAUL).unwrap(), [c.clone(), a]);
    assert_eq!(j.remove_user_entries(CARS, PAUL, "q1").unwrap(), 1);
    assert_eq!(j.remove_user_entries(CARS, PAUL, "q1").unwrap(), 0);
    assert_eq!(j.get_user_entries(CARS, PAUL).unwrap(), [c]);
    assert!(j.get_user_entries(CARS, VINCENT).unwrap().is_empty());
    assert_invalid(j.add_user_entries(CARS, "paul", "q1", None, &[]));
}

/// The journal's copies of events: set, get by status, list, remove (with recurrences).
pub fn journal_events_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let text = |t: &str| format!("BEGIN:VEVENT\r\nUID:q1\r\nSUMMARY:{t}\r\nEND:VEVENT\r\n");
    let mut j = s.journal();
    assert_eq!(j.get_event(CARS, "q1", None, Status::Active).unwrap(), None);
    j.set_event(CARS, "q1", None, &text("parent")).unwrap();
    j.set_event(CARS, "q1", Some("20141017T080000Z"), &text("rec"))
        .unwrap();
    j.set_event(CARS, "q0", None, &text("other")).unwrap();
    assert_eq!(
        j.get_event(CARS, "q1", None, Status::Active).unwrap(),
        Some(text("parent"))
    );
    assert_eq!(
        j.get_event(CARS, "q1", None, Status::Cancelled).unwrap(),
        None
    );
    assert_eq!(
        j.get_event(CARS, "q1", Some("20141017T080000Z"), Status::Active)
            .unwrap(),
        Some(text("rec"))
    );
    assert_eq!(j.get_events(CARS).unwrap(), ["q0", "q1"]);
    assert!(j.get_events("bikes").unwrap().is_empty());
    assert!(
        j.remove_event(CARS, "q1", Some("20141017T080000Z"))
            .unwrap()
    );
    assert!(
        !j.remove_event(CARS, "q1", Some("20141017T080000Z"))
            .unwrap()
    );
    j.set_event(CARS, "q1", Some("20141024T080000Z"), &text("rec2"))
        .unwrap();
    assert!(j.remove_event(CARS, "q1", None).unwrap());
    assert!(!j.remove_event(CARS, "q1", None).unwrap());
    assert_eq!(j.get_events(CARS).unwrap(), ["q0"]);
    assert_eq!(count_rows(s.connection(), "quota_recurrences"), 0);
    // The store's own objects are separate from the journal's.
    assert!(s.get_events(CARS).unwrap().is_empty());
}

/// `quotas` lists every quota written to; `quota_users` the users and groups holding
/// entries (broken in imip-agent's DB store: §7.4).
pub fn journal_quotas_and_quota_users<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert!(j.quotas().unwrap().is_empty());
    assert!(j.quota_users(CARS).unwrap().is_empty());
    j.set_limits("rooms", &map(&[("*", "PT1H")])).unwrap();
    let a = ev("20141010T080000Z", "20141010T090000Z", "q1");
    j.add_to_quota(CARS, PAUL, PORSCHE, "q1", None, std::slice::from_ref(&a))
        .unwrap();
    j.add_to_quota(CARS, "staff", FIAT, "q2", None, std::slice::from_ref(&a))
        .unwrap();
    j.add_user_entries(CARS, VINCENT, "q3", None, &[a]).unwrap();
    assert_eq!(j.quotas().unwrap(), [CARS, "rooms"]);
    assert_eq!(j.quota_users(CARS).unwrap(), [PAUL, VINCENT, "staff"]);
    assert!(j.quota_users("rooms").unwrap().is_empty());
    assert!(s.users().unwrap().is_empty(), "quotas are not store users");
}

/// The group of an organiser: `groups[organiser]`, else `groups["*"]`, else the organiser.
pub fn quota_group_lookup_order<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    assert_eq!(j.group_of(CARS, PAUL).unwrap(), PAUL);
    j.set_groups(CARS, &map(&[(PAUL, "staff")])).unwrap();
    assert_eq!(j.group_of(CARS, PAUL).unwrap(), "staff");
    assert_eq!(j.group_of(CARS, HARVEY).unwrap(), HARVEY);
    j.set_group(CARS, "*", "visitors").unwrap();
    assert_eq!(j.group_of(CARS, PAUL).unwrap(), "staff");
    assert_eq!(j.group_of(CARS, HARVEY).unwrap(), "visitors");
    // The check counts in the same group; the limit is limits[group], else limits["*"].
    j.set_limits(CARS, &map(&[("staff", "PT2H"), ("*", "PT1H")]))
        .unwrap();
    let two_hours = [ev("20141010T080000Z", "20141010T100000Z", "x")];
    assert_eq!(
        j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &two_hours))
            .unwrap(),
        accepted("staff")
    );
    assert_eq!(
        j.check_quota(CARS, &booking(HARVEY, PORSCHE, "x", &two_hours))
            .unwrap(),
        QuotaDecision::Declined {
            group: "visitors".into(),
            reason: DeclineReason::Exceeded {
                limit: 3600,
                usage: 0,
                requested: 7200
            },
        }
    );
    // A limit keyed by the user itself applies when the user is its own group.
    j.set_groups(CARS, &map(&[])).unwrap();
    j.set_limits(CARS, &map(&[(HARVEY, "PT2H"), ("*", "PT1H")]))
        .unwrap();
    assert!(
        j.check_quota(CARS, &booking(HARVEY, PORSCHE, "x", &two_hours))
            .unwrap()
            .is_accepted()
    );
    assert!(
        !j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &two_hours))
            .unwrap()
            .is_accepted()
    );
}

/// A `*` limit accepts anything (open-ended too); no limit for the group and none for `*`
/// declines with NoAllocation.
pub fn quota_unlimited_and_no_allocation<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    let p = [ev("20141010T080000Z", "20141011T080000Z", "x")];
    let decision = j
        .check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
        .unwrap();
    assert_eq!(
        decision,
        QuotaDecision::Declined {
            group: PAUL.into(),
            reason: DeclineReason::NoAllocation
        }
    );
    j.set_limits(CARS, &map(&[("staff", "*")])).unwrap();
    assert!(
        !j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
            .unwrap()
            .is_accepted()
    );
    j.set_group(CARS, PAUL, "staff").unwrap();
    assert_eq!(
        j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
            .unwrap(),
        accepted("staff")
    );
    let mut open_ended = booking(PAUL, PORSCHE, "x", &p);
    open_ended.open_ended = true;
    assert_eq!(j.check_quota(CARS, &open_ended).unwrap(), accepted("staff"));
    // Unlimited bookings are still recorded by reserve.
    assert_eq!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "x", &p)).unwrap(),
        accepted("staff")
    );
    assert_eq!(
        j.get_entries(CARS, "staff").unwrap(),
        [entry(p[0].clone(), PORSCHE)]
    );
}

/// An open-ended event under a finite limit is declined (and nothing is reserved).
pub fn quota_open_ended_declined<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "P1W")])).unwrap();
    let p = [ev("20141010T080000Z", "20141010T090000Z", "x")];
    let mut b = booking(PAUL, PORSCHE, "x", &p);
    b.open_ended = true;
    let declined = QuotaDecision::Declined {
        group: PAUL.into(),
        reason: DeclineReason::OpenEnded,
    };
    assert_eq!(j.check_quota(CARS, &b).unwrap(), declined);
    assert_eq!(j.reserve(CARS, &b).unwrap(), declined);
    assert!(j.get_entries(CARS, PAUL).unwrap().is_empty());
}

/// Usage is the sum of the group's current and future entries; a booking fits if its total
/// is at most limit − usage (equal fits), and its own uid is not counted twice.
pub fn quota_usage_sum_and_decline_reason<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT2H")])).unwrap();
    let a = [ev("20141010T080000Z", "20141010T083000Z", "a")];
    let b = [
        ev("20141011T080000Z", "20141011T081500Z", "b"),
        ev("20141012T080000Z", "20141012T081500Z", "b"),
    ];
    assert_eq!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "a", &a)).unwrap(),
        accepted(PAUL)
    );
    assert_eq!(
        j.reserve(CARS, &booking(PAUL, FIAT, "b", &b)).unwrap(),
        accepted(PAUL)
    );
    // 60 minutes used; 61 minutes do not fit, 60 do.
    let c61 = [ev("20141013T080000Z", "20141013T090100Z", "c")];
    let c60 = [ev("20141013T080000Z", "20141013T090000Z", "c")];
    let decision = j
        .check_quota(CARS, &booking(PAUL, PORSCHE, "c", &c61))
        .unwrap();
    assert_eq!(
        decision,
        QuotaDecision::Declined {
            group: PAUL.into(),
            reason: DeclineReason::Exceeded {
                limit: 7200,
                usage: 3600,
                requested: 3660
            }
        }
    );
    assert_eq!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "c", &c61)).unwrap(),
        decision
    );
    assert_eq!(
        j.check_quota(CARS, &booking(PAUL, PORSCHE, "c", &c60))
            .unwrap(),
        accepted(PAUL)
    );
    // Re-booking "a" longer counts only the new length against the rest.
    let a90 = [ev("20141010T080000Z", "20141010T093000Z", "a")];
    assert!(
        j.check_quota(CARS, &booking(PAUL, PORSCHE, "a", &a90))
            .unwrap()
            .is_accepted()
    );
    // Another organiser has their own usage.
    assert!(
        j.check_quota(CARS, &booking(VINCENT, PORSCHE, "c", &c60))
            .unwrap()
            .is_accepted()
    );
    assert_eq!(j.get_entries(CARS, PAUL).unwrap().len(), 3);
}

/// Entries that have ended no longer count (imip-agent counted them until a cron job
/// expired them: §7.14); an entry in progress still counts.
pub fn quota_past_entries_not_counted<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT1H")])).unwrap();
    let a = [ev("20141010T080000Z", "20141010T090000Z", "a")];
    assert!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "a", &a))
            .unwrap()
            .is_accepted()
    );
    let later = [ev("20141020T080000Z", "20141020T083000Z", "b")];
    assert!(
        !j.check_quota(CARS, &booking(PAUL, FIAT, "b", &later))
            .unwrap()
            .is_accepted()
    );
    clock.set(ts("20141010T083000Z"));
    let mut j = s.journal();
    assert!(
        !j.check_quota(CARS, &booking(PAUL, FIAT, "b", &later))
            .unwrap()
            .is_accepted(),
        "in progress still counts"
    );
    clock.set(ts("20141010T090000Z"));
    let mut j = s.journal();
    assert_eq!(
        j.check_quota(CARS, &booking(PAUL, FIAT, "b", &later))
            .unwrap(),
        accepted(PAUL)
    );
    assert!(
        j.reserve(CARS, &booking(PAUL, FIAT, "b", &later))
            .unwrap()
            .is_accepted()
    );
}

/// `check_quota` only reads: no revision, no rows.
pub fn quota_check_writes_nothing<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let p = [ev("20141010T080000Z", "20141010T090000Z", "x")];
    let mut j = s.journal();
    assert!(
        !j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
            .unwrap()
            .is_accepted()
    );
    assert_nothing_written(&mut s, CARS);
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT1H")])).unwrap();
    assert!(
        j.check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
            .unwrap()
            .is_accepted()
    );
    assert_eq!(j.revision(CARS).unwrap(), 1);
    assert!(j.get_entries(CARS, PAUL).unwrap().is_empty());
    // A journal opened directly on the connection, with its own clock, sees the same data.
    let clock = calstore_core::FixedClock::new(t0());
    let mut direct = calstore_core::Journal::new(s.connection(), &clock);
    assert_eq!(direct.get_limits(CARS).unwrap(), map(&[("*", "PT1H")]));
    assert!(
        direct
            .check_quota(CARS, &booking(PAUL, PORSCHE, "x", &p))
            .unwrap()
            .is_accepted()
    );
}

/// The reply texts are part of the protocol: imip-agent's exact sentences.
pub fn decline_reason_messages<C: SqlConnection>(_conn: C) {
    assert_eq!(
        DeclineReason::NoAllocation.message(),
        "You have no quota allocation for the recipient."
    );
    assert_eq!(
        DeclineReason::Exceeded {
            limit: 1,
            usage: 1,
            requested: 1
        }
        .message(),
        "The event period exceeds your quota allocation for the recipient."
    );
    assert_eq!(
        DeclineReason::OpenEnded.message(),
        "The event recurs indefinitely, so it cannot be counted against your quota."
    );
}

/// A booking exceeding the limit by itself is declined even with nothing used; usage and
/// requested durations add up across periods.
pub fn quota_multi_period_total<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    clock.set(ts("20141001T000000Z"));
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT1H")])).unwrap();
    let weekly: Vec<Period> = (0..3)
        .map(|w| {
            let start = ts("20141010T080000Z") + TimeDelta::weeks(w);
            Period {
                uid: Some("w".into()),
                ..Period::new(start, start + TimeDelta::minutes(25))
            }
        })
        .collect();
    let decision = j
        .reserve(CARS, &booking(PAUL, PORSCHE, "w", &weekly))
        .unwrap();
    assert_eq!(
        decision,
        QuotaDecision::Declined {
            group: PAUL.into(),
            reason: DeclineReason::Exceeded {
                limit: 3600,
                usage: 0,
                requested: 4500
            }
        }
    );
    assert!(
        j.reserve(CARS, &booking(PAUL, PORSCHE, "w", &weekly[..2]))
            .unwrap()
            .is_accepted()
    );
    assert_eq!(j.get_entries(CARS, PAUL).unwrap().len(), 2);
}

/// One event booking two resources of the same quota counts on both: the second check
/// sees the first resource's entries of the same uid (only what the reservation replaces —
/// the same uid, rid and resource — is left out of the usage).
pub fn quota_same_event_on_two_resources<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let mut j = s.journal();
    j.set_limits(CARS, &map(&[("*", "PT1H30M")])).unwrap();
    let p = [ev("20141010T080000Z", "20141010T090000Z", "both")];
    let on = |attendee| Booking {
        attendee,
        ..booking(PAUL, PORSCHE, "both", &p)
    };
    assert_eq!(j.reserve(CARS, &on(PORSCHE)).unwrap(), accepted(PAUL));
    // Re-checking the same booking on the same resource replaces it: it fits.
    assert_eq!(j.reserve(CARS, &on(PORSCHE)).unwrap(), accepted(PAUL));
    assert_eq!(
        j.reserve(CARS, &on(FIAT)).unwrap(),
        QuotaDecision::Declined {
            group: PAUL.into(),
            reason: DeclineReason::Exceeded {
                limit: 5400,
                usage: 3600,
                requested: 3600
            }
        }
    );
    assert_eq!(
        j.get_entries(CARS, PAUL).unwrap(),
        [entry(p[0].clone(), PORSCHE)]
    );
}
