//! Users, events, recurrences, cancellations, counter-proposals and the request queue
//! (imip-agent §1.2–§1.7, file-store semantics).

use calstore_core::{Request, SqlConnection, Status};

use crate::support::*;

const A1: &str = "a1@example.com";
const RID: &str = "20141011T100000Z";
const RID2: &str = "20141012T100000Z";

fn text(uid: &str, summary: &str) -> String {
    format!("BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n")
}

fn req(uid: &str, rid: Option<&str>, kind: Option<&str>) -> Request {
    Request {
        uid: uid.to_owned(),
        rid: rid.map(str::to_owned),
        kind: kind.map(str::to_owned),
    }
}

/// `users` lists, sorted, exactly the users that have written; `user_exists` agrees.
pub fn users_listed_after_first_write<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.users().unwrap().is_empty());
    assert!(!s.user_exists(VINCENT).unwrap());
    s.set_event(VINCENT, A1, None, &text(A1, "v")).unwrap();
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, "b@example.com", None, &text("b@example.com", "p"))
        .unwrap();
    assert_eq!(s.users().unwrap(), [PAUL, VINCENT]);
    assert!(s.user_exists(PAUL).unwrap());
    assert!(!s.user_exists(HARVEY).unwrap());
    s.require_user(PAUL).unwrap();
}

/// `require_user` on a well-formed but unknown user is NotFound; on a non-URI, InvalidData.
pub fn require_user_unknown_is_not_found<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert_not_found(s.require_user(HARVEY));
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    assert_not_found(s.require_user(HARVEY));
    s.require_user(PAUL).unwrap();
    assert_invalid(s.require_user("paul"));
}

/// The store's accessors: `now` is the injected clock, `connection`/`into_inner` hand the
/// connection out and a store reopened on it sees the same data.
pub fn store_accessors<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    assert_eq!(s.now(), t0());
    clock.advance(chrono::TimeDelta::hours(1));
    assert_eq!(s.now(), t0() + chrono::TimeDelta::hours(1));
    s.set_event(PAUL, A1, None, &text(A1, "kept")).unwrap();
    assert_eq!(count_rows(s.connection(), "objects"), 1);
    let conn = s.into_inner();
    let (mut again, _) = open(conn);
    assert_eq!(again.get_events(PAUL).unwrap(), [A1]);
    assert_eq!(again.revision(PAUL).unwrap(), 1);
}

/// Parents: set, get (by status), list, overwrite, and the `set_complete_event` /
/// `get_complete_event` aliases.
pub fn events_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert_eq!(Status::Active.as_str(), "active");
    assert_eq!(Status::Cancelled.as_str(), "cancelled");
    assert_eq!(s.get_event(PAUL, A1, None, Status::Active).unwrap(), None);
    assert_eq!(s.get_complete_event(PAUL, A1).unwrap(), None);
    s.set_event(PAUL, A1, None, &text(A1, "one")).unwrap();
    s.set_complete_event(PAUL, "a0@example.com", &text("a0@example.com", "zero"))
        .unwrap();
    assert_eq!(
        s.get_event(PAUL, A1, None, Status::Active).unwrap(),
        Some(text(A1, "one"))
    );
    assert_eq!(
        s.get_event(PAUL, A1, None, Status::Cancelled).unwrap(),
        None
    );
    assert_eq!(
        s.get_complete_event(PAUL, A1).unwrap(),
        Some(text(A1, "one"))
    );
    assert_eq!(s.get_events(PAUL).unwrap(), ["a0@example.com", A1]);
    assert!(s.get_cancelled_events(PAUL).unwrap().is_empty());
    // Overwriting replaces the text; still one object.
    s.set_event(PAUL, A1, None, &text(A1, "two")).unwrap();
    assert_eq!(
        s.get_complete_event(PAUL, A1).unwrap(),
        Some(text(A1, "two"))
    );
    assert_eq!(count_rows(s.connection(), "objects"), 2);
    // Another user's objects are separate.
    assert!(s.get_events(VINCENT).unwrap().is_empty());
    assert_eq!(s.get_complete_event(VINCENT, A1).unwrap(), None);
}

/// Recurrences: set, get, the three rid lists, and status filters.
pub fn recurrences_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "parent")).unwrap();
    s.set_event(PAUL, A1, Some(RID2), &text(A1, "r2")).unwrap();
    s.set_recurrence(PAUL, A1, RID, &text(A1, "r1")).unwrap();
    assert_eq!(
        s.get_recurrence(PAUL, A1, RID).unwrap(),
        Some(text(A1, "r1"))
    );
    assert_eq!(
        s.get_event(PAUL, A1, Some(RID2), Status::Active).unwrap(),
        Some(text(A1, "r2"))
    );
    assert_eq!(s.get_recurrences(PAUL, A1).unwrap(), [RID, RID2]);
    assert_eq!(s.get_active_recurrences(PAUL, A1).unwrap(), [RID, RID2]);
    assert!(s.get_cancelled_recurrences(PAUL, A1).unwrap().is_empty());
    assert!(s.cancel_event(PAUL, A1, Some(RID2)).unwrap());
    assert_eq!(s.get_recurrences(PAUL, A1).unwrap(), [RID, RID2]);
    assert_eq!(s.get_active_recurrences(PAUL, A1).unwrap(), [RID]);
    assert_eq!(s.get_cancelled_recurrences(PAUL, A1).unwrap(), [RID2]);
    // A cancelled recurrence is not returned by get_recurrence (file store; the DB store
    // ignored status here), but is by get_event with the cancelled status.
    assert_eq!(s.get_recurrence(PAUL, A1, RID2).unwrap(), None);
    assert_eq!(
        s.get_event(PAUL, A1, Some(RID2), Status::Cancelled)
            .unwrap(),
        Some(text(A1, "r2"))
    );
    // The parent is untouched by recurrence writes.
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
}

/// `get_all_events`: active parents and recurrences, sorted; after cancelling the only parent
/// its active recurrence is still listed (imip-agent's file store returned nothing: §7.7).
pub fn get_all_events_lists_recurrences_of_cancelled_parent<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "parent")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r")).unwrap();
    s.set_event(PAUL, "b@example.com", None, &text("b@example.com", "b"))
        .unwrap();
    assert_eq!(
        s.get_all_events(PAUL, Status::Active).unwrap(),
        [
            (A1.to_owned(), None),
            (A1.to_owned(), Some(RID.to_owned())),
            ("b@example.com".to_owned(), None),
        ]
    );
    assert!(s.remove_event(PAUL, "b@example.com", None).unwrap());
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert_eq!(
        s.get_all_events(PAUL, Status::Active).unwrap(),
        [(A1.to_owned(), Some(RID.to_owned()))]
    );
    assert_eq!(
        s.get_all_events(PAUL, Status::Cancelled).unwrap(),
        [(A1.to_owned(), None)]
    );
    assert!(s.get_events(PAUL).unwrap().is_empty());
}

/// `get_complete_event` returns only an active parent (the DB store ignored status: §7.8).
pub fn get_complete_event_ignores_cancelled<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "parent")).unwrap();
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert_eq!(s.get_complete_event(PAUL, A1).unwrap(), None);
    assert_eq!(s.get_events(PAUL).unwrap(), Vec::<String>::new());
    assert_eq!(s.get_cancelled_events(PAUL).unwrap(), [A1]);
    assert_eq!(
        s.get_event(PAUL, A1, None, Status::Cancelled).unwrap(),
        Some(text(A1, "parent"))
    );
}

/// Storing a cancelled object again re-activates it: it is never both active and cancelled.
pub fn set_event_reactivates_cancelled<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "v1")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r1")).unwrap();
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert!(s.cancel_event(PAUL, A1, Some(RID)).unwrap());
    s.set_event(PAUL, A1, None, &text(A1, "v2")).unwrap();
    s.set_recurrence(PAUL, A1, RID, &text(A1, "r2")).unwrap();
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    assert!(s.get_cancelled_events(PAUL).unwrap().is_empty());
    assert_eq!(
        s.get_complete_event(PAUL, A1).unwrap(),
        Some(text(A1, "v2"))
    );
    assert_eq!(
        s.get_event(PAUL, A1, None, Status::Cancelled).unwrap(),
        None
    );
    assert_eq!(s.get_active_recurrences(PAUL, A1).unwrap(), [RID]);
    assert!(s.get_cancelled_recurrences(PAUL, A1).unwrap().is_empty());
    assert_eq!(count_rows(s.connection(), "objects"), 1);
    assert_eq!(count_rows(s.connection(), "recurrences"), 1);
}

/// `cancel_event` / `uncancel_event` return whether the object was in the state they move
/// it from (imip-agent returned None or True depending on the store: §7.8).
pub fn cancel_and_uncancel_return_values<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(
        !s.cancel_event(PAUL, A1, None).unwrap(),
        "nothing to cancel"
    );
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r")).unwrap();
    assert!(!s.uncancel_event(PAUL, A1, None).unwrap(), "not cancelled");
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert!(
        !s.cancel_event(PAUL, A1, None).unwrap(),
        "already cancelled"
    );
    assert!(s.cancel_event(PAUL, A1, Some(RID)).unwrap());
    assert!(
        !s.cancel_event(PAUL, A1, Some(RID2)).unwrap(),
        "no such recurrence"
    );
    assert!(s.uncancel_event(PAUL, A1, None).unwrap());
    assert!(!s.uncancel_event(PAUL, A1, None).unwrap());
    assert!(s.uncancel_event(PAUL, A1, Some(RID)).unwrap());
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    assert_eq!(s.get_active_recurrences(PAUL, A1).unwrap(), [RID]);
}

/// Cancelling a parent does not cancel its recurrences.
pub fn cancelling_parent_leaves_recurrences_active<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r")).unwrap();
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert_eq!(s.get_active_recurrences(PAUL, A1).unwrap(), [RID]);
    assert_eq!(
        s.get_recurrence(PAUL, A1, RID).unwrap(),
        Some(text(A1, "r"))
    );
}

/// `remove_cancellation` deletes one cancelled object only; `remove_cancellations` without
/// a rid deletes every cancelled recurrence and the cancelled parent, and never an active one.
pub fn remove_cancellations_removes_cancelled_only<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r1")).unwrap();
    s.set_event(PAUL, A1, Some(RID2), &text(A1, "r2")).unwrap();
    s.set_event(PAUL, A1, Some("20141013T100000Z"), &text(A1, "r3"))
        .unwrap();
    assert!(
        !s.remove_cancellation(PAUL, A1, None).unwrap(),
        "parent is active"
    );
    assert!(
        !s.remove_cancellation(PAUL, A1, Some(RID)).unwrap(),
        "recurrence is active"
    );
    assert!(s.cancel_event(PAUL, A1, Some(RID)).unwrap());
    assert!(s.remove_cancellation(PAUL, A1, Some(RID)).unwrap());
    assert!(!s.remove_cancellation(PAUL, A1, Some(RID)).unwrap());
    assert_eq!(
        s.get_recurrences(PAUL, A1).unwrap(),
        [RID2, "20141013T100000Z"]
    );
    // With a rid: that one only.
    assert!(s.cancel_event(PAUL, A1, Some(RID2)).unwrap());
    assert!(s.cancel_event(PAUL, A1, Some("20141013T100000Z")).unwrap());
    assert_eq!(s.remove_cancellations(PAUL, A1, Some(RID2)).unwrap(), 1);
    assert_eq!(
        s.get_cancelled_recurrences(PAUL, A1).unwrap(),
        ["20141013T100000Z"]
    );
    // Without: the cancelled recurrences and the cancelled parent; the active parent stays
    // while it is active.
    assert_eq!(s.remove_cancellations(PAUL, A1, None).unwrap(), 1);
    assert_eq!(s.get_events(PAUL).unwrap(), [A1]);
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r1")).unwrap();
    assert!(s.cancel_event(PAUL, A1, Some(RID)).unwrap());
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert_eq!(s.remove_cancellations(PAUL, A1, None).unwrap(), 2);
    assert!(s.get_cancelled_events(PAUL).unwrap().is_empty());
    assert!(s.get_recurrences(PAUL, A1).unwrap().is_empty());
    assert_eq!(s.remove_cancellations(PAUL, A1, None).unwrap(), 0);
}

/// `remove_event` without a rid removes the parent and every recurrence, active or
/// cancelled: nothing is left behind (the file store left `cancellations/` files: §7.8).
pub fn remove_event_leaves_no_cancellations<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(
        !s.remove_event(PAUL, A1, None).unwrap(),
        "nothing to remove"
    );
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r1")).unwrap();
    s.set_event(PAUL, A1, Some(RID2), &text(A1, "r2")).unwrap();
    s.set_event(PAUL, "b@example.com", None, &text("b@example.com", "b"))
        .unwrap();
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert!(s.cancel_event(PAUL, A1, Some(RID)).unwrap());
    // With a rid: only that recurrence, whatever its status.
    assert!(s.remove_event(PAUL, A1, Some(RID)).unwrap());
    assert!(!s.remove_event(PAUL, A1, Some(RID)).unwrap());
    assert_eq!(s.get_recurrences(PAUL, A1).unwrap(), [RID2]);
    assert!(s.remove_event(PAUL, A1, None).unwrap());
    assert!(s.get_cancelled_events(PAUL).unwrap().is_empty());
    assert!(s.get_recurrences(PAUL, A1).unwrap().is_empty());
    assert_eq!(
        s.get_all_events(PAUL, Status::Cancelled).unwrap(),
        Vec::<(String, Option<String>)>::new()
    );
    assert_eq!(count_rows(s.connection(), "recurrences"), 0);
    assert_eq!(count_rows(s.connection(), "objects"), 1, "b stays");
}

/// `remove_parent_event` removes the parent (any status) and leaves recurrences;
/// `remove_recurrences` removes every recurrence (any status) and counts them.
pub fn remove_parent_event_and_recurrences<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, A1, None, &text(A1, "p")).unwrap();
    s.set_event(PAUL, A1, Some(RID), &text(A1, "r1")).unwrap();
    s.set_event(PAUL, A1, Some(RID2), &text(A1, "r2")).unwrap();
    assert!(s.cancel_event(PAUL, A1, None).unwrap());
    assert!(s.cancel_event(PAUL, A1, Some(RID2)).unwrap());
    assert!(s.remove_parent_event(PAUL, A1).unwrap());
    assert!(!s.remove_parent_event(PAUL, A1).unwrap());
    assert!(s.get_cancelled_events(PAUL).unwrap().is_empty());
    assert_eq!(s.get_recurrences(PAUL, A1).unwrap(), [RID, RID2]);
    assert_eq!(s.remove_recurrences(PAUL, A1).unwrap(), 2);
    assert_eq!(s.remove_recurrences(PAUL, A1).unwrap(), 0);
    assert!(s.get_recurrences(PAUL, A1).unwrap().is_empty());
}

/// One counter-proposal per (uid, rid, attendee); lists are per (uid, rid) and sorted.
pub fn counters_per_attendee_and_rid<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.get_counters(PAUL, A1, None).unwrap().is_empty());
    assert_eq!(s.get_counter(PAUL, VINCENT, A1, None).unwrap(), None);
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1, "from vincent"))
        .unwrap();
    s.set_counter(PAUL, HARVEY, A1, None, &text(A1, "from harvey"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, Some(RID), &text(A1, "vincent on rid"))
        .unwrap();
    assert_eq!(s.get_counters(PAUL, A1, None).unwrap(), [HARVEY, VINCENT]);
    assert_eq!(s.get_counters(PAUL, A1, Some(RID)).unwrap(), [VINCENT]);
    assert!(s.get_counters(PAUL, A1, Some(RID2)).unwrap().is_empty());
    assert_eq!(
        s.get_counter(PAUL, VINCENT, A1, None).unwrap(),
        Some(text(A1, "from vincent"))
    );
    assert_eq!(
        s.get_counter(PAUL, VINCENT, A1, Some(RID)).unwrap(),
        Some(text(A1, "vincent on rid"))
    );
    assert_eq!(s.get_counter(PAUL, HARVEY, A1, Some(RID)).unwrap(), None);
    assert!(s.get_counters(VINCENT, A1, None).unwrap().is_empty());
    // remove_counter: one attendee.
    assert!(s.remove_counter(PAUL, HARVEY, A1, None).unwrap());
    assert!(!s.remove_counter(PAUL, HARVEY, A1, None).unwrap());
    assert!(!s.remove_counter(PAUL, HARVEY, A1, Some(RID)).unwrap());
    assert_eq!(s.get_counters(PAUL, A1, None).unwrap(), [VINCENT]);
    assert!(s.remove_counter(PAUL, VINCENT, A1, Some(RID)).unwrap());
    assert!(s.get_counters(PAUL, A1, Some(RID)).unwrap().is_empty());
}

/// A second counter from the same attendee replaces the first (the DB store's plain INSERT
/// failed or duplicated: §7.16).
pub fn counter_second_set_overwrites<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1, "first"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1, "second"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, Some(RID), &text(A1, "r first"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, Some(RID), &text(A1, "r second"))
        .unwrap();
    assert_eq!(s.get_counters(PAUL, A1, None).unwrap(), [VINCENT]);
    assert_eq!(
        s.get_counter(PAUL, VINCENT, A1, None).unwrap(),
        Some(text(A1, "second"))
    );
    assert_eq!(
        s.get_counter(PAUL, VINCENT, A1, Some(RID)).unwrap(),
        Some(text(A1, "r second"))
    );
    assert_eq!(count_rows(s.connection(), "countered_objects"), 1);
    assert_eq!(count_rows(s.connection(), "countered_recurrences"), 1);
}

/// `remove_counters` removes exactly (uid, rid): the recurrences' counters survive the
/// removal of the parent's, and the other way round.
pub fn counters_on_recurrences_survive_parent_removal<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_counter(PAUL, VINCENT, A1, None, &text(A1, "p v"))
        .unwrap();
    s.set_counter(PAUL, HARVEY, A1, None, &text(A1, "p h"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, Some(RID), &text(A1, "r v"))
        .unwrap();
    s.set_counter(PAUL, VINCENT, A1, Some(RID2), &text(A1, "r2 v"))
        .unwrap();
    assert_eq!(s.remove_counters(PAUL, A1, None).unwrap(), 2);
    assert_eq!(s.remove_counters(PAUL, A1, None).unwrap(), 0);
    assert!(s.get_counters(PAUL, A1, None).unwrap().is_empty());
    assert_eq!(s.get_counters(PAUL, A1, Some(RID)).unwrap(), [VINCENT]);
    assert_eq!(s.remove_counters(PAUL, A1, Some(RID)).unwrap(), 1);
    assert!(s.get_counters(PAUL, A1, Some(RID)).unwrap().is_empty());
    assert_eq!(s.get_counters(PAUL, A1, Some(RID2)).unwrap(), [VINCENT]);
}

/// The request queue follows the file store (§1.7, observed): queue (a1), (a1, rid), then
/// (a1, COUNTER) keeps `[(a1, None, None), (a1, rid, None)]`; the third call queues nothing.
pub fn request_queue_file_semantics<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.get_requests(RESOURCE).unwrap().is_empty());
    assert!(s.queue_request(RESOURCE, A1, None, None).unwrap());
    assert!(s.queue_request(RESOURCE, A1, Some(RID), None).unwrap());
    assert!(
        !s.queue_request(RESOURCE, A1, None, Some("COUNTER"))
            .unwrap()
    );
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [req(A1, None, None), req(A1, Some(RID), None)]
    );
    // A request for another uid is queued after them, in queue order.
    assert!(
        s.queue_request(RESOURCE, "0first@example.com", None, Some("COUNTER"))
            .unwrap()
    );
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [
            req(A1, None, None),
            req(A1, Some(RID), None),
            req("0first@example.com", None, Some("COUNTER")),
        ]
    );
    assert!(s.get_requests(PAUL).unwrap().is_empty());
}

/// `dequeue_request(uid)` removes the whole-event request only; recurrence-specific ones
/// stay (the DB store removed them all: §7.5).
pub fn dequeue_removes_exact_rid_only<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(s.queue_request(RESOURCE, A1, None, None).unwrap());
    assert!(s.queue_request(RESOURCE, A1, Some(RID), None).unwrap());
    assert!(
        s.queue_request(RESOURCE, A1, Some(RID2), Some("COUNTER"))
            .unwrap()
    );
    assert!(s.dequeue_request(RESOURCE, A1, None).unwrap());
    assert!(!s.dequeue_request(RESOURCE, A1, None).unwrap());
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [
            req(A1, Some(RID), None),
            req(A1, Some(RID2), Some("COUNTER"))
        ]
    );
    assert!(s.dequeue_request(RESOURCE, A1, Some(RID2)).unwrap());
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [req(A1, Some(RID), None)]
    );
}

/// `has_request` matches (uid, rid) exactly; with `strict` the type must match too, an
/// untyped request matching type None only.
pub fn has_request_strict<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    assert!(!s.has_request(RESOURCE, A1, None, None, false).unwrap());
    assert!(s.queue_request(RESOURCE, A1, Some(RID), None).unwrap());
    assert!(
        s.queue_request(RESOURCE, "b@example.com", None, Some("COUNTER"))
            .unwrap()
    );
    assert!(
        !s.has_request(RESOURCE, A1, None, None, false).unwrap(),
        "rid differs"
    );
    assert!(s.has_request(RESOURCE, A1, Some(RID), None, false).unwrap());
    assert!(
        s.has_request(RESOURCE, A1, Some(RID), Some("COUNTER"), false)
            .unwrap()
    );
    assert!(s.has_request(RESOURCE, A1, Some(RID), None, true).unwrap());
    assert!(
        !s.has_request(RESOURCE, A1, Some(RID), Some("COUNTER"), true)
            .unwrap()
    );
    assert!(
        s.has_request(RESOURCE, "b@example.com", None, Some("COUNTER"), true)
            .unwrap()
    );
    assert!(
        !s.has_request(RESOURCE, "b@example.com", None, None, true)
            .unwrap()
    );
    assert!(
        s.has_request(RESOURCE, "b@example.com", None, None, false)
            .unwrap()
    );
    assert!(
        !s.has_request(PAUL, A1, Some(RID), None, false).unwrap(),
        "other user"
    );
}

/// `set_request` adds or retypes exactly (uid, rid); `set_requests` replaces the queue.
pub fn set_request_and_set_requests<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_request(RESOURCE, A1, None, None).unwrap();
    s.set_request(RESOURCE, A1, Some(RID), None).unwrap();
    s.set_request(RESOURCE, A1, None, Some("COUNTER")).unwrap();
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [req(A1, None, Some("COUNTER")), req(A1, Some(RID), None)],
        "only (a1, None) is retyped"
    );
    s.set_requests(
        RESOURCE,
        &[
            req("b@example.com", None, None),
            req("b@example.com", Some(RID2), Some("COUNTER")),
        ],
    )
    .unwrap();
    assert_eq!(
        s.get_requests(RESOURCE).unwrap(),
        [
            req("b@example.com", None, None),
            req("b@example.com", Some(RID2), Some("COUNTER"))
        ]
    );
    assert!(!s.has_request(RESOURCE, A1, None, None, false).unwrap());
    // The list's own order is kept (as the file store's rewrite does), not sorted by uid.
    let reversed = [
        req("z@example.com", None, None),
        req("b@example.com", Some(RID2), None),
        req("a@example.com", None, Some("COUNTER")),
    ];
    s.set_requests(RESOURCE, &reversed).unwrap();
    assert_eq!(s.get_requests(RESOURCE).unwrap(), reversed);
    s.queue_request(RESOURCE, "0@example.com", None, None)
        .unwrap();
    assert_eq!(
        s.get_requests(RESOURCE).unwrap().last(),
        Some(&req("0@example.com", None, None)),
        "a later queue_request comes after the list"
    );
    s.set_requests(RESOURCE, &[]).unwrap();
    assert!(s.get_requests(RESOURCE).unwrap().is_empty());
    assert_eq!(count_rows(s.connection(), "requests"), 0);
}
