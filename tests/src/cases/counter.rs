//! Counter-proposals through the sync protocol (`counter`, `accept_counter`,
//! `decline_counter`), pushed to a scheduling server (`sync::server::push_scheduling`, what
//! `calstore serve` runs): the attendee's proposal reaches the organiser as an iTIP COUNTER
//! (kept per attendee, queued), the organiser accepts it (the event moves with the next
//! SEQUENCE, the attendees are asked again) or declines it (the attendee's copy shows the
//! decline with the organiser's comment); stale, repeated and invalid answers change
//! nothing; a counter to an organiser elsewhere is queued as mail.

use calstore_core::outbox;
use calstore_core::scheduling::sent_proposals;
use calstore_core::sync::server::{self, Access};
use calstore_core::sync::wire::{
    Envelope, MutationResult, PROTOCOL_VERSION, PushRequest, ResultStatus, Role,
};
use calstore_core::sync::{Mutation, Version};
use calstore_core::{Source, SqlConnection, Store};

use crate::support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const CAROL: &str = "mailto:carol@example.com";
const OUTSIDER: &str = "mailto:someone@elsewhere.example";
const UID: &str = "m1@example.com";

/// A scheduling server's store where Alice, Bob and Carol are local users.
fn setup<C: SqlConnection>(conn: C) -> Store<C> {
    let (mut s, _) = open(conn);
    outbox::migrate(s.connection()).unwrap();
    server::init(&mut s, "epoch-counter").unwrap();
    for user in [ALICE, BOB, CAROL] {
        s.set_preference(user, "TZID", "Europe/Oslo").unwrap();
    }
    s
}

/// `who` (account `account`, owner of their own calendar) pushes `m` as mutation `seq`.
fn push<C: SqlConnection>(
    s: &mut Store<C>,
    account: i64,
    who: &str,
    seq: i64,
    m: Mutation,
) -> MutationResult {
    let access = Access {
        account_id: account,
        calendars: [(who.to_owned(), Role::Owner)].into_iter().collect(),
    };
    let req = PushRequest {
        protocol: PROTOCOL_VERSION,
        schema: server::schema_versions(),
        client_id: format!("client-{account}"),
        mutations: vec![Envelope { seq, mutation: m }],
    };
    let opts = oslo(s.now());
    let mut response = server::push_scheduling(s, &access, &req, &opts).unwrap();
    assert_eq!(response.results.len(), 1);
    response.results.remove(0)
}

fn meeting(seq: u32, rrule: Option<&str>) -> String {
    let mut lines = vec![
        format!("UID:{UID}"),
        "DTSTAMP:20141009T000000Z".to_owned(),
        format!("SEQUENCE:{seq}"),
        format!("ORGANIZER:{ALICE}"),
        format!("ATTENDEE;PARTSTAT=ACCEPTED:{ALICE}"),
        format!("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{BOB}"),
        format!("ATTENDEE;PARTSTAT=ACCEPTED:{CAROL}"),
        "DTSTART:20141010T080000Z".to_owned(),
        "DTEND:20141010T090000Z".to_owned(),
        "SUMMARY:Planning".to_owned(),
    ];
    lines.extend(rrule.map(|r| format!("RRULE:{r}")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    calendar(&refs)
}

/// Alice records the meeting (implicit scheduling invites Bob and Carol).
fn invite<C: SqlConnection>(s: &mut Store<C>, rrule: Option<&str>) {
    let r = push(
        s,
        1,
        ALICE,
        1,
        Mutation::Record {
            user: ALICE.into(),
            ics: meeting(0, rrule),
            replace_recurrences: false,
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    assert_eq!(s.get_requests(BOB).unwrap().len(), 1);
}

fn counter(rid: Option<&str>, start: &str, end: &str, comment: Option<&str>) -> Mutation {
    Mutation::Counter {
        user: BOB.into(),
        uid: UID.into(),
        rid: rid.map(str::to_owned),
        start: start.into(),
        end: end.into(),
        comment: comment.map(str::to_owned),
        base: Some(Version {
            sequence: 0,
            dtstamp: Some("20141009T000000Z".into()),
        }),
    }
}

fn copy<C: SqlConnection>(s: &mut Store<C>, user: &str, rid: Option<&str>) -> String {
    s.get_event(user, UID, rid, calstore_core::Status::Active)
        .unwrap()
        .unwrap_or_else(|| panic!("{user} holds no active copy of {rid:?}"))
}

/// Bob proposes 10:00–11:00 with a comment: his copy remembers it, Alice holds it (with a
/// COUNTER request); she accepts: her copy moves with SEQUENCE 1 and the attendees are asked
/// again, Bob's copy is the new version (the proposal answered), the proposal is gone from
/// her list; accepting it again is superseded and changes nothing.
pub fn counter_proposal_accepted_moves_the_event<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    invite(&mut s, None);
    let r = push(
        &mut s,
        2,
        BOB,
        1,
        counter(
            None,
            "20141010T100000Z",
            "20141010T110000Z",
            Some("After lunch?"),
        ),
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let sent = sent_proposals(&copy(&mut s, BOB, None)).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].start.as_str(),
            sent[0].end.as_str(),
            sent[0].state.as_str()
        ),
        ("20141010T100000Z", "20141010T110000Z", "sent")
    );
    let received = s.counter_proposals(ALICE).unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    let p = &received[0];
    assert_eq!(
        (p.uid.as_str(), p.rid.as_deref(), p.attendee.as_str()),
        (UID, None, BOB)
    );
    assert_eq!(
        (p.start.as_str(), p.end.as_str()),
        ("20141010T100000Z", "20141010T110000Z")
    );
    assert_eq!(p.comment.as_deref(), Some("After lunch?"));
    assert_eq!(p.summary.as_deref(), Some("Planning"));
    assert!(
        s.get_requests(ALICE)
            .unwrap()
            .iter()
            .any(|q| q.uid == UID && q.kind.as_deref() == Some("COUNTER"))
    );
    // Alice's copy and free/busy are unchanged until she decides.
    assert_eq!(event(&copy(&mut s, ALICE, None)).sequence, 0);

    let accept = Mutation::AcceptCounter {
        user: ALICE.into(),
        other: BOB.into(),
        uid: UID.into(),
        rid: None,
    };
    let r = push(&mut s, 1, ALICE, 2, accept.clone());
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let moved = event(&copy(&mut s, ALICE, None));
    assert_eq!(moved.sequence, 1);
    let busy = s.get_freebusy(ALICE).unwrap();
    assert_eq!(
        starts(&busy),
        vec!["20141010T100000Z".to_owned()],
        "Alice's free/busy follows the move"
    );
    let carol = moved.attendees.iter().find(|a| a.uri == CAROL).unwrap();
    assert_eq!(carol.partstat.as_deref(), Some("NEEDS-ACTION"));
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());
    assert!(
        !s.get_requests(ALICE)
            .unwrap()
            .iter()
            .any(|q| q.kind.as_deref() == Some("COUNTER"))
    );
    // The REQUEST reached Bob and Carol: their copies are the new version, queued.
    for who in [BOB, CAROL] {
        let theirs = copy(&mut s, who, None);
        assert_eq!(event(&theirs).sequence, 1, "{who}");
        assert!(theirs.contains("20141010T100000Z"), "{who}: {theirs}");
        assert_eq!(s.get_requests(who).unwrap().len(), 1, "{who}");
    }
    assert!(sent_proposals(&copy(&mut s, BOB, None)).unwrap().is_empty());
    // Once answered, the same acceptance is superseded and changes nothing.
    let r = push(&mut s, 1, ALICE, 3, accept);
    assert_eq!(r.status, ResultStatus::Superseded, "{r:?}");
    assert_eq!(event(&copy(&mut s, ALICE, None)).sequence, 1);
    assert!(
        s.outgoing_messages(None).unwrap().is_empty(),
        "only local users"
    );
}

/// Bob proposes another time for one occurrence of a daily meeting; Alice declines it with a
/// comment: the proposal and the COUNTER request are gone from her side, her event is
/// unchanged, and Bob's copy shows the decline with her comment. Declining it again is
/// superseded. His next proposal for the occurrence she accepts: that occurrence alone moves.
pub fn counter_proposal_declined_reaches_the_attendee<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    invite(&mut s, Some("FREQ=DAILY;COUNT=3"));
    let rid = "20141011T080000Z";
    let r = push(
        &mut s,
        2,
        BOB,
        1,
        counter(Some(rid), "20141011T140000Z", "20141011T150000Z", None),
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let received = s.counter_proposals(ALICE).unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].rid.as_deref(), Some(rid));
    assert_eq!(received[0].start, "20141011T140000Z");
    assert_eq!(received[0].comment, None);
    let sent = sent_proposals(&copy(&mut s, BOB, None)).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].rid.as_deref(), Some(rid));

    let decline = Mutation::DeclineCounter {
        user: ALICE.into(),
        other: BOB.into(),
        uid: UID.into(),
        rid: Some(rid.into()),
        comment: Some("The room is taken then".into()),
    };
    let r = push(&mut s, 1, ALICE, 2, decline.clone());
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());
    assert!(
        !s.get_requests(ALICE)
            .unwrap()
            .iter()
            .any(|q| q.kind.as_deref() == Some("COUNTER"))
    );
    assert_eq!(event(&copy(&mut s, ALICE, None)).sequence, 0);
    assert_eq!(s.get_freebusy(ALICE).unwrap().len(), 3);
    let sent = sent_proposals(&copy(&mut s, BOB, None)).unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].state, "declined");
    assert_eq!(sent[0].reason.as_deref(), Some("The room is taken then"));
    assert_eq!(sent[0].rid.as_deref(), Some(rid));
    let r = push(&mut s, 1, ALICE, 3, decline);
    assert_eq!(r.status, ResultStatus::Superseded, "{r:?}");
    // Bob's invitation itself is still his to answer.
    assert_eq!(s.get_requests(BOB).unwrap().len(), 1);

    // He proposes 16:00 for that occurrence; Alice accepts: the occurrence alone moves (an
    // override with SEQUENCE 1), the series stays, and Bob's copies follow.
    let r = push(
        &mut s,
        2,
        BOB,
        2,
        counter(Some(rid), "20141011T160000Z", "20141011T170000Z", None),
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let r = push(
        &mut s,
        1,
        ALICE,
        4,
        Mutation::AcceptCounter {
            user: ALICE.into(),
            other: BOB.into(),
            uid: UID.into(),
            rid: Some(rid.into()),
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let occurrence = copy(&mut s, ALICE, Some(rid));
    assert_eq!(event(&occurrence).sequence, 1);
    assert!(
        occurrence.contains("DTSTART:20141011T160000Z"),
        "{occurrence}"
    );
    assert!(!occurrence.contains("RRULE"), "{occurrence}");
    assert_eq!(event(&copy(&mut s, ALICE, None)).sequence, 0);
    assert_eq!(
        starts(&s.get_freebusy(ALICE).unwrap()),
        vec![
            "20141010T080000Z".to_owned(),
            "20141011T160000Z".to_owned(),
            "20141012T080000Z".to_owned()
        ]
    );
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());
    let bobs = copy(&mut s, BOB, Some(rid));
    assert!(bobs.contains("DTSTART:20141011T160000Z"), "{bobs}");
}

/// What a counter-proposal may not do, and where it goes when the organiser is elsewhere:
/// the organiser cannot counter their own event, an empty period and an unknown event are
/// rejected (nothing written); a proposal against an older version than the server's is
/// superseded; one from someone the organiser did not invite is ignored by her store; one for
/// an organiser who is not a local user is queued as mail.
pub fn counter_proposal_rules<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    invite(&mut s, None);
    let own = Mutation::Counter {
        user: ALICE.into(),
        uid: UID.into(),
        rid: None,
        start: "20141010T100000Z".into(),
        end: "20141010T110000Z".into(),
        comment: None,
        base: None,
    };
    assert_eq!(
        push(&mut s, 1, ALICE, 2, own).status,
        ResultStatus::Rejected
    );
    let r = push(
        &mut s,
        2,
        BOB,
        1,
        counter(None, "20141010T110000Z", "20141010T100000Z", None),
    );
    assert_eq!(r.status, ResultStatus::Rejected, "{r:?}");
    let unknown = Mutation::Counter {
        user: BOB.into(),
        uid: "nothing@example.com".into(),
        rid: None,
        start: "20141010T100000Z".into(),
        end: "20141010T110000Z".into(),
        comment: None,
        base: None,
    };
    assert_eq!(
        push(&mut s, 2, BOB, 2, unknown).status,
        ResultStatus::Rejected
    );
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());
    assert!(sent_proposals(&copy(&mut s, BOB, None)).unwrap().is_empty());

    // Alice moves the meeting (SEQUENCE 1) before Bob's offline proposal arrives.
    let r = push(
        &mut s,
        1,
        ALICE,
        3,
        Mutation::Record {
            user: ALICE.into(),
            ics: meeting(1, None).replace("DTSTAMP:20141009T000000Z", "DTSTAMP:20141009T010000Z"),
            replace_recurrences: false,
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let r = push(
        &mut s,
        2,
        BOB,
        3,
        counter(None, "20141010T100000Z", "20141010T110000Z", None),
    );
    assert_eq!(r.status, ResultStatus::Superseded, "{r:?}");
    assert_eq!(r.server.first().map(|v| v.sequence), Some(1));
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());

    // Someone Alice did not invite writes himself a copy of her meeting naming him, and
    // proposes a time: his copy remembers it, her store ignores it.
    let dave = "mailto:dave@example.com";
    let forged = meeting(1, None)
        .replace("DTSTAMP:20141009T000000Z", "DTSTAMP:20141009T010000Z")
        .replace(BOB, dave);
    let events = Source::bytes(forged.as_bytes()).events(None).unwrap();
    let opts = oslo(s.now());
    s.import_events(dave, &events, &opts, &mut |_, _| {})
        .unwrap();
    let r = push(
        &mut s,
        4,
        dave,
        1,
        Mutation::Counter {
            user: dave.into(),
            uid: UID.into(),
            rid: None,
            start: "20141010T100000Z".into(),
            end: "20141010T110000Z".into(),
            comment: None,
            base: None,
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    assert!(
        s.counter_proposals(ALICE).unwrap().is_empty(),
        "not from an attendee of hers"
    );

    // Nor can he decline Bob's proposal in Alice's name: a counter-proposal he writes into his
    // own calendar and declines reaches Bob, whose copy's organiser is Alice, and changes
    // nothing there.
    let r = push(
        &mut s,
        2,
        BOB,
        4,
        Mutation::Counter {
            user: BOB.into(),
            uid: UID.into(),
            rid: None,
            start: "20141010T120000Z".into(),
            end: "20141010T130000Z".into(),
            comment: None,
            base: None,
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let forged_by_dave = meeting(1, None)
        .replace("DTSTAMP:20141009T000000Z", "DTSTAMP:20141009T010000Z")
        .replace(&format!("ORGANIZER:{ALICE}"), &format!("ORGANIZER:{dave}"))
        .replace(
            &format!("PARTSTAT=ACCEPTED:{ALICE}"),
            &format!("PARTSTAT=ACCEPTED:{dave}"),
        );
    let events = Source::bytes(forged_by_dave.as_bytes())
        .events(None)
        .unwrap();
    s.import_events(dave, &events, &opts, &mut |_, _| {})
        .unwrap();
    let r = push(
        &mut s,
        4,
        dave,
        2,
        Mutation::SetCounter {
            user: dave.into(),
            other: BOB.into(),
            uid: UID.into(),
            rid: None,
            text: meeting(1, None),
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let r = push(
        &mut s,
        4,
        dave,
        3,
        Mutation::DeclineCounter {
            user: dave.into(),
            other: BOB.into(),
            uid: UID.into(),
            rid: None,
            comment: Some("No".into()),
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let sent = sent_proposals(&copy(&mut s, BOB, None)).unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].state, "sent", "not declined by Dave");
    assert_eq!(s.counter_proposals(ALICE).unwrap().len(), 1);

    // An event organised elsewhere: the COUNTER is queued as mail to its organiser.
    let elsewhere = calendar(&[
        "UID:e2@example.com",
        "DTSTAMP:20141009T000000Z",
        &format!("ORGANIZER:{OUTSIDER}"),
        &format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}"),
        "DTSTART:20141012T080000Z",
        "DTEND:20141012T090000Z",
    ]);
    let events = Source::bytes(elsewhere.as_bytes()).events(None).unwrap();
    let opts = oslo(s.now());
    s.import_events(BOB, &events, &opts, &mut |_, _| {})
        .unwrap();
    let r = push(
        &mut s,
        2,
        BOB,
        5,
        Mutation::Counter {
            user: BOB.into(),
            uid: "e2@example.com".into(),
            rid: None,
            start: "20141012T100000Z".into(),
            end: "20141012T110000Z".into(),
            comment: Some("Later?".into()),
            base: None,
        },
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    let queued = s.outgoing_messages(None).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].recipient, OUTSIDER);
    assert_eq!(queued[0].method, "COUNTER");
    let body = &queued[0].body;
    for line in [
        "METHOD:COUNTER",
        "DTSTART:20141012T100000Z",
        "DTEND:20141012T110000Z",
        "COMMENT:Later?",
    ] {
        assert!(body.contains(line), "{line} in {body}");
    }
    assert!(
        !body.contains("X-CALSTORE-"),
        "store-only lines stay home: {body}"
    );
}

/// A proposal for an occurrence the series does not have (a time no rule makes, one after
/// COUNT ends) is rejected and writes nothing; one for a real occurrence is applied.
pub fn counter_proposal_for_no_occurrence_is_rejected<C: SqlConnection>(conn: C) {
    let mut s = setup(conn);
    invite(&mut s, Some("FREQ=DAILY;COUNT=3"));
    let before = s.revision(BOB).unwrap();
    for (seq, rid) in [(1, "20141011T090000Z"), (2, "20141013T080000Z")] {
        let r = push(
            &mut s,
            2,
            BOB,
            seq,
            counter(Some(rid), "20141011T140000Z", "20141011T150000Z", None),
        );
        assert_eq!(r.status, ResultStatus::Rejected, "{rid}: {r:?}");
        assert!(
            r.reason
                .as_deref()
                .is_some_and(|m| m.contains("no occurrence")),
            "{r:?}"
        );
    }
    assert_eq!(s.revision(BOB).unwrap(), before);
    assert!(s.counter_proposals(ALICE).unwrap().is_empty());
    assert!(sent_proposals(&copy(&mut s, BOB, None)).unwrap().is_empty());
    let r = push(
        &mut s,
        2,
        BOB,
        3,
        counter(
            Some("20141012T080000Z"),
            "20141012T140000Z",
            "20141012T150000Z",
            None,
        ),
    );
    assert_eq!(r.status, ResultStatus::Applied, "{r:?}");
    assert_eq!(s.counter_proposals(ALICE).unwrap().len(), 1);
}
