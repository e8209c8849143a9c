//! The core's scheduling API (`Store::receive`, `Store::send_message`, `Store::process`)
//! beyond the §6.2 scenarios: what imip-agent got wrong (TRANSP, concurrency), the unit of
//! work, counter-proposals and their withdrawal, REFRESH, ADD, local delivery and the outbox,
//! and messages that change nothing.

use calstore_core::outbox::{self, OutgoingState};
use calstore_core::scheduling::{Method, OutcomeKind, ReceiveOptions, parse_message};
use calstore_core::{SqlConnection, Store};

use super::scenarios::make_resource;
use crate::support::*;

fn booking(uid: &str, organiser: &str, resource: &str, start: &str, end: &str) -> Vec<String> {
    vec![
        format!("UID:{uid}"),
        "DTSTAMP:20141009T000000Z".to_owned(),
        format!("ORGANIZER:{organiser}"),
        format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{resource}"),
        format!("DTSTART:{start}"),
        format!("DTEND:{end}"),
        format!("SUMMARY:{uid}"),
    ]
}

fn with(mut lines: Vec<String>, extra: &[&str]) -> Vec<String> {
    lines.extend(extra.iter().map(|e| (*e).to_owned()));
    lines
}

fn send_to<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    method: &str,
    lines: &[String],
) -> calstore_core::scheduling::Outcome {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let msg = parse_message(itip(method, &refs).as_bytes(), None).unwrap();
    s.receive(user, &msg, &ReceiveOptions::default()).unwrap()
}

/// TRANSP is honoured both ways (imip-agent ignored it, §7.12): a transparent booking does
/// not block, and a transparent request needs no room.
pub fn scheduling_transparent_neither_blocks_nor_needs_room<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    let t = with(
        booking("t1", PAUL, RESOURCE, "20141010T080000Z", "20141010T100000Z"),
        &["TRANSP:TRANSPARENT"],
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &t).kind,
        OutcomeKind::Accepted
    );
    let o = booking(
        "o1",
        VINCENT,
        RESOURCE,
        "20141010T090000Z",
        "20141010T110000Z",
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &o).kind,
        OutcomeKind::Accepted
    );
    let t2 = with(
        booking(
            "t2",
            HARVEY,
            RESOURCE,
            "20141010T093000Z",
            "20141010T103000Z",
        ),
        &["TRANSP:TRANSPARENT"],
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &t2).kind,
        OutcomeKind::Accepted
    );
    let o2 = booking(
        "o2",
        HARVEY,
        RESOURCE,
        "20141010T093000Z",
        "20141010T103000Z",
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &o2).kind,
        OutcomeKind::Declined
    );
}

/// `schedule_in_freebusy N` allows N bookings at once (imip-agent read the wrong argument).
pub fn scheduling_concurrency_argument<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy 2");
    for (uid, kind) in [
        ("c1", OutcomeKind::Accepted),
        ("c2", OutcomeKind::Accepted),
        ("c3", OutcomeKind::Declined),
    ] {
        let b = booking(uid, PAUL, RESOURCE, "20141010T080000Z", "20141010T090000Z");
        assert_eq!(send_to(&mut s, RESOURCE, "REQUEST", &b).kind, kind, "{uid}");
    }
    // Back to back is not at once.
    let b = booking("c4", PAUL, RESOURCE, "20141010T090000Z", "20141010T100000Z");
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &b).kind,
        OutcomeKind::Accepted
    );
}

/// A message is one unit of work: when routing its answer fails (no outbox table here),
/// the decision, the stored event and its free/busy are rolled back with it.
pub fn scheduling_message_is_one_unit_of_work<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    let revision = s.revision(RESOURCE).unwrap();
    let b = booking("u1", PAUL, RESOURCE, "20141010T080000Z", "20141010T090000Z");
    let refs: Vec<&str> = b.iter().map(String::as_str).collect();
    let msg = parse_message(itip("REQUEST", &refs).as_bytes(), None).unwrap();
    assert!(
        s.process(RESOURCE, &msg, &ReceiveOptions::default())
            .is_err()
    );
    assert!(s.get_events(RESOURCE).unwrap().is_empty());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_eq!(s.revision(RESOURCE).unwrap(), revision);
    // With the outbox, the answer to paul (not a local user) is queued with the decision.
    outbox::migrate(s.connection()).unwrap();
    let p = s
        .process(RESOURCE, &msg, &ReceiveOptions::default())
        .unwrap();
    assert_eq!(p.outcome.kind, OutcomeKind::Accepted);
    assert_eq!(p.queued.len(), 1);
    let queued = s.outgoing_messages(Some(OutgoingState::Pending)).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipient, PAUL);
    assert_eq!(queued[0].method, "REPLY");
    assert_eq!(
        s.revision(RESOURCE).unwrap(),
        revision + 1,
        "one revision per message"
    );
}

/// The organiser is a local user: the resource's answer is delivered to them in the same
/// unit of work (their copy gets the resource's PARTSTAT), nothing is queued.
pub fn scheduling_process_delivers_to_local_users<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    outbox::migrate(s.connection()).unwrap();
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    let b = booking("l1", PAUL, RESOURCE, "20141010T080000Z", "20141010T090000Z");
    let refs: Vec<&str> = b.iter().map(String::as_str).collect();
    let msg = parse_message(itip("REQUEST", &refs).as_bytes(), None).unwrap();
    assert_eq!(
        s.send_message(PAUL, &msg).unwrap().kind,
        OutcomeKind::Stored
    );
    let p = s
        .process(RESOURCE, &msg, &ReceiveOptions::default())
        .unwrap();
    assert!(p.queued.is_empty());
    assert_eq!(p.delivered.len(), 1);
    assert_eq!(p.delivered[0].0, PAUL);
    assert_eq!(p.delivered[0].1.kind, OutcomeKind::Updated);
    let copy = s.get_complete_event(PAUL, "l1").unwrap().unwrap();
    let e = event(&copy);
    assert_eq!(
        e.attendees
            .iter()
            .find(|a| a.uri == RESOURCE)
            .unwrap()
            .partstat
            .as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(s.get_freebusy_for_other(PAUL, RESOURCE).unwrap().len(), 1);
}

/// A resource's COUNTER keeps an offer; a DECLINECOUNTER withdraws it; an accepted request
/// for the event replaces it.
pub fn scheduling_counter_offer_withdrawn<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_corrected_in_freebusy");
    s.set_preference(RESOURCE, "permitted_times", "0,30")
        .unwrap();
    s.set_preference(RESOURCE, "freebusy_offers", "P1D")
        .unwrap();
    let b = booking("k1", PAUL, RESOURCE, "20141010T081000Z", "20141010T091000Z");
    let out = send_to(&mut s, RESOURCE, "REQUEST", &b);
    assert_eq!(out.kind, OutcomeKind::Countered);
    assert_eq!(out.responses[0].method, Method::Counter);
    assert!(
        out.responses[0]
            .text
            .contains("DTSTART:20141010T083000Z\r\n")
    );
    let offers = s.get_freebusy_offers(RESOURCE).unwrap();
    assert_eq!(starts(&[offers[0].period.clone()]), ["20141010T083000Z"]);
    assert_eq!(offers[0].expires, Some(ts("20141010T000000Z")));
    let out = send_to(&mut s, RESOURCE, "DECLINECOUNTER", &b);
    assert_eq!(out.kind, OutcomeKind::Updated);
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
    assert_eq!(
        send_to(&mut s, RESOURCE, "DECLINECOUNTER", &b).kind,
        OutcomeKind::Ignored
    );
    // The organiser takes the proposal: accepted, no offer left.
    let moved = with(
        booking("k1", PAUL, RESOURCE, "20141010T083000Z", "20141010T093000Z"),
        &["SEQUENCE:1"],
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &moved).kind,
        OutcomeKind::Accepted
    );
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
}

/// REFRESH: queued for the organiser by default; with `event_refreshing=always` answered
/// with the held event as a REQUEST (store-only properties left out).
pub fn scheduling_refresh<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let b = booking("r1", PAUL, VINCENT, "20141010T080000Z", "20141010T090000Z");
    let refs: Vec<&str> = b.iter().map(String::as_str).collect();
    let msg = parse_message(itip("REQUEST", &refs).as_bytes(), None).unwrap();
    s.send_message(PAUL, &msg).unwrap();
    let ask = vec![
        "UID:r1".to_owned(),
        "DTSTAMP:20141009T000000Z".to_owned(),
        format!("ORGANIZER:{PAUL}"),
        format!("ATTENDEE:{VINCENT}"),
    ];
    let out = send_to(&mut s, PAUL, "REFRESH", &ask);
    assert_eq!(out.kind, OutcomeKind::Stored);
    assert!(
        s.has_request(PAUL, "r1", None, Some("REFRESH"), true)
            .unwrap()
    );
    s.set_preference(PAUL, "event_refreshing", "always")
        .unwrap();
    let out = send_to(&mut s, PAUL, "REFRESH", &ask);
    assert_eq!(out.kind, OutcomeKind::Ignored);
    let r = &out.responses[0];
    assert_eq!(
        (r.method, r.to.as_slice()),
        (Method::Request, [VINCENT.to_owned()].as_slice())
    );
    assert!(r.text.contains("METHOD:REQUEST\r\n") && r.text.contains("UID:r1\r\n"));
    assert!(!r.text.contains("X-CALSTORE"));
}

/// ADD: for an unknown event the organiser is asked with a REFRESH; for a held one the
/// occurrence is added as an override (the resource decides it, a person queues it).
pub fn scheduling_add<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    let add = booking("a1", PAUL, RESOURCE, "20141011T080000Z", "20141011T090000Z");
    let out = send_to(&mut s, RESOURCE, "ADD", &add);
    assert_eq!(out.kind, OutcomeKind::Ignored);
    assert_eq!(out.responses[0].method, Method::Refresh);
    assert!(s.get_events(RESOURCE).unwrap().is_empty());
    let b = booking("a1", PAUL, RESOURCE, "20141010T080000Z", "20141010T090000Z");
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &b).kind,
        OutcomeKind::Accepted
    );
    let add = with(add, &["SEQUENCE:1"]);
    let out = send_to(&mut s, RESOURCE, "ADD", &add);
    assert_eq!(out.kind, OutcomeKind::Accepted);
    assert_eq!(out.rid.as_deref(), Some("20141011T080000Z"));
    assert_eq!(
        starts(&s.get_freebusy(RESOURCE).unwrap()),
        ["20141010T080000Z", "20141011T080000Z"]
    );
}

/// Messages that change nothing: an older copy, a resource not invited, a user who does not
/// take part (`participating=no`), a CANCEL of nothing held.
pub fn scheduling_ignored_messages<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    let b = with(
        booking("i1", PAUL, RESOURCE, "20141010T080000Z", "20141010T090000Z"),
        &["SEQUENCE:3"],
    );
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &b).kind,
        OutcomeKind::Accepted
    );
    let older = booking("i1", PAUL, RESOURCE, "20141010T100000Z", "20141010T110000Z");
    let out = send_to(&mut s, RESOURCE, "REQUEST", &older);
    assert_eq!((out.kind, out.responses.len()), (OutcomeKind::Ignored, 0));
    let other = booking("i2", PAUL, SAUNA, "20141010T100000Z", "20141010T110000Z");
    assert_eq!(
        send_to(&mut s, RESOURCE, "REQUEST", &other).kind,
        OutcomeKind::Ignored
    );
    let nothing = booking("i3", PAUL, RESOURCE, "20141010T100000Z", "20141010T110000Z");
    assert_eq!(
        send_to(&mut s, RESOURCE, "CANCEL", &nothing).kind,
        OutcomeKind::Ignored
    );
    s.set_preference(VINCENT, "participating", "no").unwrap();
    let revision = s.revision(VINCENT).unwrap();
    let to_vincent = booking("i4", PAUL, VINCENT, "20141010T100000Z", "20141010T110000Z");
    assert_eq!(
        send_to(&mut s, VINCENT, "REQUEST", &to_vincent).kind,
        OutcomeKind::Ignored
    );
    assert_eq!(s.revision(VINCENT).unwrap(), revision);
    assert!(s.get_events(VINCENT).unwrap().is_empty());
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 1);
}

/// Preferences: checked on write, read back, unset, journalled for sync.
pub fn scheduling_preferences_roundtrip<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_preference(
        RESOURCE,
        "scheduling_function",
        "schedule_in_freebusy\ncheck_quota cars",
    )
    .unwrap();
    s.set_preference(RESOURCE, "freebusy_offers", "PT1H")
        .unwrap();
    assert_invalid(s.set_preference(RESOURCE, "freebusy_offers", "PT1D"));
    assert_invalid(s.set_preference(RESOURCE, "favourite_colour", "blue"));
    assert_invalid(s.set_preference(RESOURCE, "scheduling_function", "schedule_anywhere"));
    let p = s.preferences(RESOURCE).unwrap();
    assert!(p.is_resource());
    assert_eq!(p.scheduling_functions().unwrap().len(), 2);
    assert_eq!(
        s.get_preference(RESOURCE, "scheduling_function")
            .unwrap()
            .as_deref(),
        Some("schedule_in_freebusy\ncheck_quota cars")
    );
    let changes = s.changes_since(RESOURCE, 0).unwrap();
    assert!(changes.iter().any(|c| c.table == "preferences"));
    assert!(s.unset_preference(RESOURCE, "freebusy_offers").unwrap());
    assert!(!s.unset_preference(RESOURCE, "freebusy_offers").unwrap());
    assert_eq!(s.preferences(RESOURCE).unwrap().values.len(), 1);
}
