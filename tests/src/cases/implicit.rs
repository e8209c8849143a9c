//! Implicit scheduling (`Store::copies` before a user's own write, `Store::deliver_change`
//! after it): what the sync server and CalDAV do when a user writes their calendar directly.
//! An organiser's write invites the local attendees (a person's request queue, a resource's
//! automatic decision whose answer updates the organiser's copy, with a quota's reason); an
//! attendee's answer reaches the organiser's copy; a cancellation reaches the attendees; an
//! attendee who is not local gets mail queued; a write that changes nothing sends nothing.

use calstore_core::outbox;
use calstore_core::scheduling::{OutcomeKind, REASON_PARAM};
use calstore_core::{Source, SqlConnection, Store};

use super::scenarios::make_resource;
use crate::support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const OUTSIDER: &str = "mailto:someone@elsewhere.example";

/// A store where Alice and Bob are local users (they have data), the room a resource.
fn setup<C: SqlConnection>(conn: C) -> Store<C> {
    let (mut s, _) = open(conn);
    outbox::migrate(s.connection()).unwrap();
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    for user in [ALICE, BOB] {
        s.set_preference(user, "TZID", "Europe/Oslo").unwrap();
    }
    s
}

/// `user` writes the one VEVENT of `lines` to their own calendar, as a synced mutation or
/// a PUT would; the implicit scheduling that follows.
fn write<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    lines: &[String],
) -> calstore_core::scheduling::Processed {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let text = calendar(&refs);
    let events = Source::bytes(text.as_bytes()).events(None).unwrap();
    let uid = events[0].uid.clone();
    let before = s.copies(user, &uid).unwrap();
    let opts = oslo(s.now());
    s.import_events(user, &events, &opts, &mut |_, _| {})
        .unwrap();
    s.deliver_change(user, &uid, &before).unwrap()
}

fn meeting(seq: u32, stamp: &str, attendees: &[(&str, &str)]) -> Vec<String> {
    let mut lines = vec![
        "UID:m1@example.com".to_owned(),
        format!("DTSTAMP:{stamp}"),
        format!("SEQUENCE:{seq}"),
        format!("ORGANIZER:{ALICE}"),
        format!("ATTENDEE;PARTSTAT=ACCEPTED:{ALICE}"),
        "DTSTART:20141010T080000Z".to_owned(),
        "DTEND:20141010T090000Z".to_owned(),
        "SUMMARY:Planning".to_owned(),
    ];
    for (who, partstat) in attendees {
        lines.push(format!("ATTENDEE;PARTSTAT={partstat}:{who}"));
    }
    lines
}

fn partstat_in<C: SqlConnection>(s: &mut Store<C>, user: &str, of: &str) -> Option<String> {
    let text = s.get_complete_event(user, "m1@example.com").unwrap()?;
    event(&text)
        .attendees
        .iter()
        .find(|a| a.uri == of)
        .and_then(|a| a.partstat.clone())
}

/// The organiser's write invites Bob (stored, queued for him) and the room (accepted at
/// once: Alice's copy shows it); the outsider gets mail.
pub fn implicit_organiser_write_invites<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    let p = write(
        &mut s,
        ALICE,
        &meeting(
            0,
            "20141009T000000Z",
            &[
                (BOB, "NEEDS-ACTION"),
                (RESOURCE, "NEEDS-ACTION"),
                (OUTSIDER, "NEEDS-ACTION"),
            ],
        ),
    );
    let delivered: Vec<(&str, OutcomeKind)> = p
        .delivered
        .iter()
        .map(|(to, o)| (to.as_str(), o.kind))
        .collect();
    assert!(
        delivered.contains(&(BOB, OutcomeKind::Stored)),
        "{delivered:?}"
    );
    assert!(
        delivered.contains(&(RESOURCE, OutcomeKind::Accepted)),
        "{delivered:?}"
    );
    assert!(
        delivered.contains(&(ALICE, OutcomeKind::Updated)),
        "the room's answer reaches Alice: {delivered:?}"
    );
    assert_eq!(p.queued.len(), 1, "mail for the outsider only");
    let queued = s.outgoing_messages(None).unwrap();
    assert_eq!(queued[0].recipient, OUTSIDER);
    assert_eq!(queued[0].method, "REQUEST");
    assert!(
        s.get_complete_event(BOB, "m1@example.com")
            .unwrap()
            .is_some()
    );
    assert_eq!(s.get_requests(BOB).unwrap().len(), 1);
    assert_eq!(
        partstat_in(&mut s, ALICE, RESOURCE).as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 1);
    // The same write again changes nothing and sends nothing.
    let before = s.outgoing_messages(None).unwrap().len();
    let copy = s
        .get_complete_event(ALICE, "m1@example.com")
        .unwrap()
        .unwrap();
    let uid = "m1@example.com";
    let copies = s.copies(ALICE, uid).unwrap();
    let events = Source::bytes(
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{copy}END:VCALENDAR\r\n")
            .as_bytes(),
    )
    .events(None)
    .unwrap();
    let opts = oslo(s.now());
    s.import_events(ALICE, &events, &opts, &mut |_, _| {})
        .unwrap();
    let again = s.deliver_change(ALICE, uid, &copies).unwrap();
    assert!(again.delivered.is_empty() && again.queued.is_empty());
    assert_eq!(s.outgoing_messages(None).unwrap().len(), before);
}

/// Bob accepts by writing his copy: Alice's copy shows it, his request is dealt with.
pub fn implicit_attendee_answer_reaches_organiser<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    write(
        &mut s,
        ALICE,
        &meeting(0, "20141009T000000Z", &[(BOB, "NEEDS-ACTION")]),
    );
    assert_eq!(s.get_requests(BOB).unwrap().len(), 1);
    let p = write(
        &mut s,
        BOB,
        &meeting(0, "20141009T000000Z", &[(BOB, "ACCEPTED")]),
    );
    assert_eq!(p.delivered.len(), 1, "{:?}", p.delivered);
    assert_eq!(p.delivered[0].0, ALICE);
    assert_eq!(partstat_in(&mut s, ALICE, BOB).as_deref(), Some("ACCEPTED"));
    assert!(s.get_requests(BOB).unwrap().is_empty());
}

/// The organiser cancels: Bob's copy is cancelled and his request dequeued; the room's
/// free/busy is freed.
pub fn implicit_cancel_reaches_attendees<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    write(
        &mut s,
        ALICE,
        &meeting(
            0,
            "20141009T000000Z",
            &[(BOB, "NEEDS-ACTION"), (RESOURCE, "NEEDS-ACTION")],
        ),
    );
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 1);
    let before = s.copies(ALICE, "m1@example.com").unwrap();
    let opts = oslo(s.now());
    s.record_cancellation(ALICE, "m1@example.com", None, &opts)
        .unwrap();
    let p = s.deliver_change(ALICE, "m1@example.com", &before).unwrap();
    let kinds: Vec<OutcomeKind> = p.delivered.iter().map(|(_, o)| o.kind).collect();
    assert!(kinds.contains(&OutcomeKind::Cancelled), "{kinds:?}");
    assert!(
        s.get_complete_event(BOB, "m1@example.com")
            .unwrap()
            .is_none()
    );
    assert_eq!(s.get_cancelled_events(BOB).unwrap().len(), 1);
    assert!(s.get_requests(BOB).unwrap().is_empty());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
}

/// An attendee dropped from the event gets a CANCEL; the others a new REQUEST.
pub fn implicit_dropped_attendee_is_cancelled<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    write(
        &mut s,
        ALICE,
        &meeting(
            0,
            "20141009T000000Z",
            &[(BOB, "NEEDS-ACTION"), (RESOURCE, "NEEDS-ACTION")],
        ),
    );
    write(
        &mut s,
        ALICE,
        &meeting(1, "20141009T010000Z", &[(RESOURCE, "NEEDS-ACTION")]),
    );
    assert!(
        s.get_complete_event(BOB, "m1@example.com")
            .unwrap()
            .is_none()
    );
    assert_eq!(s.get_cancelled_events(BOB).unwrap().len(), 1);
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 1);
}

/// A room over its quota declines, and the quota's reason reaches the organiser's copy.
pub fn implicit_quota_decline_reason_reaches_organiser<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy\ncheck_quota rooms");
    s.journal()
        .set_limits("rooms", &[("*".to_owned(), "PT30M".to_owned())].into())
        .unwrap();
    let p = write(
        &mut s,
        ALICE,
        &meeting(0, "20141009T000000Z", &[(RESOURCE, "NEEDS-ACTION")]),
    );
    let room = p
        .delivered
        .iter()
        .find(|(to, _)| to == RESOURCE)
        .map(|(_, o)| o.clone())
        .unwrap();
    assert_eq!(room.kind, OutcomeKind::Declined);
    let reason = room.reason.clone().unwrap();
    assert_eq!(
        partstat_in(&mut s, ALICE, RESOURCE).as_deref(),
        Some("DECLINED")
    );
    let copy = s
        .get_complete_event(ALICE, "m1@example.com")
        .unwrap()
        .unwrap();
    let unfolded = copy.replace("\r\n ", "");
    assert!(
        unfolded.contains(&format!("{REASON_PARAM}=\"{reason}\""))
            || unfolded.contains(&format!("{REASON_PARAM}={reason}")),
        "{unfolded}"
    );
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
}

/// Delivery is part of the unit of work: when it fails (mail for an outsider, and no outbox
/// in this database), nothing of it is kept.
pub fn implicit_delivery_is_one_unit_of_work<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    s.set_preference(ALICE, "TZID", "Europe/Oslo").unwrap();
    let lines = meeting(
        0,
        "20141009T000000Z",
        &[(RESOURCE, "NEEDS-ACTION"), (OUTSIDER, "NEEDS-ACTION")],
    );
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let text = calendar(&refs);
    let events = Source::bytes(text.as_bytes()).events(None).unwrap();
    let before = s.copies(ALICE, "m1@example.com").unwrap();
    let opts = oslo(s.now());
    s.import_events(ALICE, &events, &opts, &mut |_, _| {})
        .unwrap();
    let room_revision = s.revision(RESOURCE).unwrap();
    assert!(s.deliver_change(ALICE, "m1@example.com", &before).is_err());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert!(s.get_events(RESOURCE).unwrap().is_empty());
    assert_eq!(s.revision(RESOURCE).unwrap(), room_revision);
}
