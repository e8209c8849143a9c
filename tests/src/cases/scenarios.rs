//! The verified acceptance scenarios of §6.2, through the core's scheduling API: every
//! message is an iTIP message handed to [`Store::receive`] for the recipient (the resource
//! is a user whose `scheduling_function` preference is set), and the stored state is
//! compared with what imip-agent's file store held (with the §7 bugs fixed).

use calstore_core::publish::vfreebusy;
use calstore_core::record::participates;
use calstore_core::scheduling::{Method, OutcomeKind, ReceiveOptions, parse_message};
use calstore_core::{
    DeclineReason, Offer, Period, Providers, QuotaDecision, Request, SqlConnection, Store,
};
use chrono::TimeDelta;

use crate::support::*;

const E1: &str = "event1@example.com";
const E2: &str = "event2@example.com";
const E3: &str = "event3@example.com";
const E4: &str = "event4@example.com";
const E5: &str = "event5@example.com";
const CARS: &str = "cars";
/// imip-agent's sender address (`MESSAGE_SENDER`), given as SENT-BY in its answers.
pub(crate) const AGENT: &str = "mailto:calendar@example.com";

/// The resource's ATTENDEE line with a PARTSTAT (the placeholder the handler fills in).
fn resource_attendee(resource: &str) -> String {
    format!(
        "ATTENDEE;RSVP=TRUE;PARTSTAT={{PARTSTAT}};SENT-BY=\"mailto:calendar@example.com\":{resource}"
    )
}

fn fill(lines: &[String], partstat: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.replace("{PARTSTAT}", partstat))
        .collect()
}

/// How the scenarios' resources answer: as imip-agent's agent address.
pub(crate) fn agent() -> ReceiveOptions {
    ReceiveOptions {
        sent_by: Some(AGENT.to_owned()),
        from: None,
    }
}

/// Makes `resource` a resource (imip-agent's `imip_resource`): `scheduling_function` set,
/// the scenarios' zone.
pub(crate) fn make_resource<C: SqlConnection>(s: &mut Store<C>, resource: &str, functions: &str) {
    s.set_preference(resource, "scheduling_function", functions)
        .unwrap();
    s.set_preference(resource, "TZID", "Europe/Oslo").unwrap();
}

/// Hands `resource` the iTIP message `method` made of one VEVENT of `lines`; returns the
/// outcome's kind and the answer's text, if any.
pub(crate) fn deliver<C: SqlConnection>(
    s: &mut Store<C>,
    resource: &str,
    method: &str,
    lines: &[String],
) -> (OutcomeKind, Option<String>) {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let msg = parse_message(itip(method, &refs).as_bytes(), None).unwrap();
    let out = s.receive(resource, &msg, &agent()).unwrap();
    (out.kind, out.responses.first().map(|r| r.text.clone()))
}

/// What `imip_resource` does with a REQUEST under `schedule_in_freebusy`, through
/// [`Store::receive`]: returns whether it was accepted, and checks that the answer is a REPLY
/// to the organiser with the resource's PARTSTAT and SENT-BY.
fn handle_request<C: SqlConnection>(s: &mut Store<C>, resource: &str, lines: &[String]) -> bool {
    if s.get_preference(resource, "scheduling_function")
        .unwrap()
        .is_none()
    {
        make_resource(s, resource, "schedule_in_freebusy");
    }
    let (kind, reply) = deliver(s, resource, "REQUEST", &fill(lines, "NEEDS-ACTION"));
    let reply = reply.expect("a resource answers a request");
    assert!(reply.contains("METHOD:REPLY\r\n"), "{reply}");
    let accepted = match kind {
        OutcomeKind::Accepted => true,
        OutcomeKind::Declined => false,
        other => panic!("unexpected outcome {other:?}"),
    };
    let partstat = if accepted { "ACCEPTED" } else { "DECLINED" };
    let unfolded = reply.replace("\r\n ", "");
    assert!(
        unfolded.contains(&format!(
            "ATTENDEE;PARTSTAT={partstat};SENT-BY=\"mailto:calendar@example.com\":{resource}"
        )),
        "{unfolded}"
    );
    assert_eq!(
        unfolded.matches("ATTENDEE").count(),
        1,
        "only the resource answers: {unfolded}"
    );
    assert!(unfolded.contains("DTSTAMP:20141009T000000Z"));
    accepted
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn request(
    uid: &str,
    organiser: &str,
    summary: &str,
    times: &[&str],
    extra: &[&str],
) -> Vec<String> {
    let mut out = lines(&[&format!("UID:{uid}"), "DTSTAMP:20141009T000000Z"]);
    out.push(format!("ORGANIZER:{organiser}"));
    out.push(format!("ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED:{organiser}"));
    out.push(resource_attendee(RESOURCE));
    out.extend(lines(times));
    out.push(format!("SUMMARY:{summary}"));
    out.extend(lines(extra));
    out
}

/// The resource's PARTSTAT in a stored object.
fn stored_partstat<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Option<String> {
    let text = match rid {
        None => s.get_complete_event(user, uid).unwrap(),
        Some(r) => s.get_recurrence(user, uid, r).unwrap(),
    }
    .unwrap_or_else(|| panic!("{uid} {rid:?} is not stored as active"));
    let e = event(&text);
    e.attendees
        .iter()
        .find(|a| a.uri == user)
        .and_then(|a| a.partstat.clone())
}

fn fb_of<C: SqlConnection>(s: &mut Store<C>, user: &str, uid: &str) -> Vec<String> {
    let fb = s.get_freebusy(user).unwrap();
    fb_lines(&fb)
        .into_iter()
        .zip(&fb)
        .filter(|(_, p)| p.uid.as_deref() == Some(uid))
        .map(|(l, _)| l)
        .collect()
}

const S1_ROW: &str = "20141010T140000Z 20141010T150000Z event1@example.com OPAQUE - \
                      \"Meeting at 4pm\" mailto:paul.boddie@example.com";
const S3_ROW: &str = "20141010T080000Z 20141010T090000Z event3@example.com OPAQUE - \
                      \"Meeting at 10am UTC\" mailto:paul.boddie@example.com";

fn s1<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E1,
        PAUL,
        "Meeting at 4pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
        ],
        &[],
    );
    assert!(handle_request(s, RESOURCE, &req), "S1 is accepted");
}

fn s2<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E2,
        VINCENT,
        "Meeting at 4:30pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T163000",
            "DTEND;TZID=Europe/Oslo:20141010T173000",
        ],
        &[],
    );
    assert!(!handle_request(s, RESOURCE, &req), "S2 is declined");
}

fn s3<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E3,
        PAUL,
        "Meeting at 10am UTC",
        &["DTSTART:20141010T080000Z", "DTEND:20141010T090000Z"],
        &[],
    );
    assert!(handle_request(s, RESOURCE, &req), "S3 is accepted");
}

/// The CANCEL of event1 (no answer is sent).
fn cancel_e1() -> Vec<String> {
    let mut lines = request(
        E1,
        PAUL,
        "Meeting at 4pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
        ],
        &["SEQUENCE:1"],
    );
    lines.retain(|l| !l.contains("{PARTSTAT}"));
    lines.push(format!("ATTENDEE:{RESOURCE}"));
    lines
}

fn s4<C: SqlConnection>(s: &mut Store<C>) {
    let (kind, reply) = deliver(s, RESOURCE, "CANCEL", &cancel_e1());
    assert_eq!(kind, OutcomeKind::Cancelled);
    assert_eq!(reply, None, "no answer to a CANCEL");
}

fn s5<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E4,
        PAUL,
        "Weekly meeting",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ],
        &[],
    );
    assert!(handle_request(s, RESOURCE, &req), "S5 is accepted");
}

fn s6<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E4,
        PAUL,
        "Weekly meeting (moved)",
        &[
            "RECURRENCE-ID;TZID=Europe/Oslo:20141017T160000",
            "DTSTART;TZID=Europe/Oslo:20141017T180000",
            "DTEND;TZID=Europe/Oslo:20141017T190000",
        ],
        &["SEQUENCE:1"],
    );
    assert!(handle_request(s, RESOURCE, &req), "S6 is accepted");
}

fn s7<C: SqlConnection>(s: &mut Store<C>) {
    // The CANCEL's occurrence is stored, then cancelled (imip-agent moved it into
    // cancellations/recurrences/).
    let cancel = request(
        E4,
        PAUL,
        "Weekly meeting",
        &[
            "RECURRENCE-ID;TZID=Europe/Oslo:20141024T160000",
            "DTSTART;TZID=Europe/Oslo:20141024T160000",
            "DTEND;TZID=Europe/Oslo:20141024T170000",
        ],
        &["SEQUENCE:1", "STATUS:CANCELLED"],
    );
    let (kind, reply) = deliver(s, RESOURCE, "CANCEL", &fill(&cancel, "ACCEPTED"));
    assert_eq!(kind, OutcomeKind::Cancelled);
    assert_eq!(reply, None);
}

fn s8<C: SqlConnection>(s: &mut Store<C>) {
    let req = request(
        E4,
        PAUL,
        "Weekly meeting",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T160000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ],
        &["SEQUENCE:2", "DTSTAMP:20141009T120000Z"],
    );
    assert!(handle_request(s, RESOURCE, &req), "S8 is accepted");
}

/// S1: a booking is accepted, stored with PARTSTAT=ACCEPTED, and its period is the
/// resource's only free/busy row (Oslo 16:00 = 14:00Z).
pub fn scenario_s1_booking<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    assert_eq!(s.get_events(RESOURCE).unwrap(), [E1]);
    assert_eq!(
        stored_partstat(&mut s, RESOURCE, E1, None).as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(fb_lines(&s.get_freebusy(RESOURCE).unwrap()), [S1_ROW]);
}

/// S2: an overlapping request is declined, but stored (active) with PARTSTAT=DECLINED;
/// free/busy is unchanged.
pub fn scenario_s2_conflict<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    s2(&mut s);
    assert_eq!(s.get_events(RESOURCE).unwrap(), [E1, E2]);
    assert_eq!(
        stored_partstat(&mut s, RESOURCE, E2, None).as_deref(),
        Some("DECLINED")
    );
    assert_eq!(fb_lines(&s.get_freebusy(RESOURCE).unwrap()), [S1_ROW]);
}

/// S3: a free slot is accepted; free/busy is sorted (event3 at 08:00Z first).
pub fn scenario_s3_free_slot<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    s2(&mut s);
    s3(&mut s);
    assert_eq!(
        stored_partstat(&mut s, RESOURCE, E3, None).as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(
        fb_lines(&s.get_freebusy(RESOURCE).unwrap()),
        [S3_ROW, S1_ROW]
    );
}

/// S4: a CANCEL moves event1 to the cancellations and removes its period; event3 is left.
pub fn scenario_s4_cancel<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    s2(&mut s);
    s3(&mut s);
    s4(&mut s);
    assert_eq!(s.get_cancelled_events(RESOURCE).unwrap(), [E1]);
    assert_eq!(s.get_events(RESOURCE).unwrap(), [E2, E3]);
    assert_eq!(s.get_complete_event(RESOURCE, E1).unwrap(), None);
    assert_eq!(fb_lines(&s.get_freebusy(RESOURCE).unwrap()), [S3_ROW]);
    // Cancelling again changes nothing.
    let (kind, _) = deliver(&mut s, RESOURCE, "CANCEL", &cancel_e1());
    assert_eq!(kind, OutcomeKind::Ignored);
    assert_eq!(fb_lines(&s.get_freebusy(RESOURCE).unwrap()), [S3_ROW]);
}

fn weekly(day: &str, summary: &str, rid: Option<&str>) -> String {
    format!(
        "2014{day}T140000Z 2014{day}T150000Z event4@example.com OPAQUE {} \"{summary}\" \
         mailto:paul.boddie@example.com",
        rid.unwrap_or("-")
    )
}

const MOVED: &str = "20141017T160000Z 20141017T170000Z event4@example.com OPAQUE \
                     20141017T140000Z \"Weekly meeting (moved)\" mailto:paul.boddie@example.com";

/// S5: a weekly COUNT=3 event gives three periods at 14:00Z (Oslo summer time) with no rid.
pub fn scenario_s5_bounded_recurrence<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    s2(&mut s);
    s3(&mut s);
    s4(&mut s);
    s5(&mut s);
    assert_eq!(
        fb_of(&mut s, RESOURCE, E4),
        [
            weekly("1010", "Weekly meeting", None),
            weekly("1017", "Weekly meeting", None),
            weekly("1024", "Weekly meeting", None),
        ]
    );
    assert_eq!(s.get_freebusy(RESOURCE).unwrap().len(), 4);
    assert_eq!(
        s.get_freebusy_providers(RESOURCE).unwrap(),
        None,
        "bounded, inside the window"
    );
}

/// S6: a moved occurrence is stored under its normalised rid and replaces the parent's
/// occurrence in free/busy.
pub fn scenario_s6_moved_occurrence<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s5(&mut s);
    s6(&mut s);
    assert_eq!(
        s.get_recurrences(RESOURCE, E4).unwrap(),
        ["20141017T140000Z"]
    );
    assert_eq!(
        stored_partstat(&mut s, RESOURCE, E4, Some("20141017T140000Z")).as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(
        fb_of(&mut s, RESOURCE, E4),
        [
            weekly("1010", "Weekly meeting", None),
            MOVED.to_owned(),
            weekly("1024", "Weekly meeting", None),
        ]
    );
}

/// S7: cancelling one occurrence stores it as a cancelled recurrence and removes the
/// parent's period for it; two periods are left.
pub fn scenario_s7_cancel_occurrence<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s5(&mut s);
    s6(&mut s);
    s7(&mut s);
    assert_eq!(
        s.get_cancelled_recurrences(RESOURCE, E4).unwrap(),
        ["20141024T140000Z"]
    );
    assert_eq!(
        s.get_active_recurrences(RESOURCE, E4).unwrap(),
        ["20141017T140000Z"]
    );
    assert_eq!(
        fb_of(&mut s, RESOURCE, E4),
        [weekly("1010", "Weekly meeting", None), MOVED.to_owned()]
    );
}

/// S8 (fixed, §7.9): re-sending the parent without overrides deletes the stored
/// recurrences and cancellations, and free/busy holds exactly the three parent occurrences:
/// no stale moved period, the cancelled one back.
pub fn scenario_s8_resend_parent<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s5(&mut s);
    s6(&mut s);
    s7(&mut s);
    s8(&mut s);
    assert!(s.get_recurrences(RESOURCE, E4).unwrap().is_empty());
    assert!(
        s.get_cancelled_recurrences(RESOURCE, E4)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.get_events(RESOURCE).unwrap(), [E4]);
    assert_eq!(
        fb_of(&mut s, RESOURCE, E4),
        [
            weekly("1010", "Weekly meeting", None),
            weekly("1017", "Weekly meeting", None),
            weekly("1024", "Weekly meeting", None),
        ]
    );
    assert!(event(&s.get_complete_event(RESOURCE, E4).unwrap().unwrap()).sequence == 2);
}

/// S9: an open-ended weekly event starting in 7 days gives the 14 occurrences before
/// now + 100 days, and is listed as a provider with the instant its periods reach (the file
/// store recorded no provider at all: §7.6).
pub fn scenario_s9_open_ended<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let now = s.now();
    let mut req = request(
        E5,
        PAUL,
        "Sauna",
        &[
            "DTSTART;TZID=Europe/Oslo:20141016T100000",
            "DTEND;TZID=Europe/Oslo:20141016T110000",
            "RRULE:FREQ=WEEKLY",
        ],
        &[],
    );
    req[4] = resource_attendee(SAUNA);
    let opts = oslo(now);
    assert!(handle_request(&mut s, SAUNA, &req));
    let fb = s.get_freebusy(SAUNA).unwrap();
    assert_eq!(fb.len(), 14);
    assert!(fb.iter().all(|p| p.start >= now + TimeDelta::days(7)));
    assert!(fb.iter().all(|p| p.start < opts.window_end));
    assert_eq!(
        starts(&fb[..3]),
        ["20141016T080000Z", "20141023T080000Z", "20141030T090000Z"]
    );
    assert_eq!(starts(&fb[13..]), ["20150115T090000Z"]);
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: Some("20150117T000000Z".into()),
            providers: vec![(E5.into(), None)],
        })
    );
}

fn offer_s10(now: chrono::DateTime<chrono::Utc>) -> Offer {
    Offer {
        period: Period {
            transp: Some("OPAQUE".into()),
            summary: Some("Meeting at 4:05pm".into()),
            organiser: Some(PAUL.into()),
            ..period(
                "20141010T141500Z",
                "20141010T151500Z",
                Some("event6@example.com"),
            )
        },
        expires: Some(now + TimeDelta::hours(1)),
    }
}

/// S10: under `schedule_corrected_in_freebusy` with `permitted_times=0,15,30,45` and
/// `freebusy_offers=PT1H`, a request for 16:05–17:05 Oslo is answered with a COUNTER for
/// 16:15–17:15, kept as an offer that expires in an hour.
fn s10<C: SqlConnection>(s: &mut Store<C>) {
    make_resource(s, RESOURCE, "schedule_corrected_in_freebusy");
    s.set_preference(RESOURCE, "permitted_times", "0,15,30,45")
        .unwrap();
    s.set_preference(RESOURCE, "freebusy_offers", "PT1H")
        .unwrap();
    let req = request(
        "event6@example.com",
        PAUL,
        "Meeting at 4:05pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T160500",
            "DTEND;TZID=Europe/Oslo:20141010T170500",
        ],
        &[],
    );
    let (kind, reply) = deliver(s, RESOURCE, "REQUEST", &fill(&req, "NEEDS-ACTION"));
    assert_eq!(kind, OutcomeKind::Countered);
    let reply = reply.unwrap().replace("\r\n ", "");
    assert!(reply.contains("METHOD:COUNTER\r\n"), "{reply}");
    assert!(
        reply.contains("DTSTART;TZID=Europe/Oslo:20141010T161500\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("DTEND;TZID=Europe/Oslo:20141010T171500\r\n"),
        "{reply}"
    );
    // Back to plain booking for what follows: the offer still blocks.
    make_resource(s, RESOURCE, "schedule_in_freebusy");
}

/// S10 and S11: a counter-proposal's offer is recorded with its expiry (nothing in objects
/// or free/busy), and while it lives it blocks an overlapping request (event7 declined).
pub fn scenario_s10_s11_offers_block<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let now = s.now();
    s10(&mut s);
    assert!(s.get_events(RESOURCE).unwrap().is_empty());
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_eq!(s.get_freebusy_offers(RESOURCE).unwrap(), [offer_s10(now)]);
    let req = request(
        "event7@example.com",
        PAUL,
        "Meeting at 4:30pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T163000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
        ],
        &[],
    );
    assert!(!handle_request(&mut s, RESOURCE, &req), "S11 is declined");
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_eq!(
        stored_partstat(&mut s, RESOURCE, "event7@example.com", None).as_deref(),
        Some("DECLINED")
    );
    // The offered event itself is not blocked by its own offer.
    let own = [offer_s10(now).period];
    assert!(
        s.can_schedule(RESOURCE, &own, "event6@example.com", None)
            .unwrap()
    );
}

/// S12 (fixed, §7.1): with the offer's expiry set to 20000101T000000Z, another overlapping
/// request is accepted, the offer is purged and the booking is in free/busy.
pub fn scenario_s12_offer_expiry<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let now = s.now();
    let mut offer = offer_s10(now);
    s.set_freebusy_offers(RESOURCE, &[offer.clone()]).unwrap();
    offer.expires = Some(ts("20000101T000000Z"));
    s.set_freebusy_offers(RESOURCE, &[offer]).unwrap();
    let req = request(
        "event8@example.com",
        PAUL,
        "Meeting at 4:30pm",
        &[
            "DTSTART;TZID=Europe/Oslo:20141010T163000",
            "DTEND;TZID=Europe/Oslo:20141010T170000",
        ],
        &[],
    );
    assert!(handle_request(&mut s, RESOURCE, &req), "S12 is accepted");
    assert!(s.get_freebusy_offers(RESOURCE).unwrap().is_empty());
    assert_eq!(count_rows(s.connection(), "freebusy_offers"), 0);
    assert_eq!(
        starts(&s.get_freebusy(RESOURCE).unwrap()),
        ["20141010T143000Z"]
    );
}

/// A car booking as the request imip-agent's tests send: `organiser` books `resource`.
fn car_request(
    uid: &str,
    start: &str,
    end: &str,
    organiser: &str,
    resource: &str,
    dtstamp: &str,
) -> Vec<String> {
    lines(&[
        &format!("UID:{uid}"),
        &format!("DTSTAMP:{dtstamp}"),
        &format!("ORGANIZER:{organiser}"),
        &format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{resource}"),
        &format!("DTSTART:{start}"),
        &format!("DTEND:{end}"),
        &format!("SUMMARY:Quota test {uid}"),
    ])
}

/// `organiser` asks `resource` (scheduling functions `schedule_in_freebusy` and
/// `check_quota cars`) for a car through [`Store::receive`]; the answer as the journal's
/// decision (a decline is checked against the journal's own reading, which the declined
/// request did not change, and against the reason the answer gives).
fn reserve<C: SqlConnection>(
    s: &mut Store<C>,
    resource: &str,
    uid: &str,
    start: &str,
    end: &str,
    organiser: &str,
) -> QuotaDecision {
    if s.get_preference(resource, "scheduling_function")
        .unwrap()
        .is_none()
    {
        make_resource(s, resource, "schedule_in_freebusy\ncheck_quota cars");
    }
    let stamp = calstore_core::ical::format_utc(s.now());
    let req = car_request(uid, start, end, organiser, resource, &stamp);
    let refs: Vec<&str> = req.iter().map(String::as_str).collect();
    let msg = parse_message(itip("REQUEST", &refs).as_bytes(), None).unwrap();
    let out = s.receive(resource, &msg, &agent()).unwrap();
    let group = s.journal().group_of(CARS, organiser).unwrap();
    match out.kind {
        OutcomeKind::Accepted => QuotaDecision::Accepted { group },
        OutcomeKind::Declined => {
            let booking = calstore_core::record::booking_from_events(
                &msg.events,
                None,
                chrono_tz::Tz::UTC,
                ts("20150101T000000Z"),
            )
            .unwrap();
            let d = s
                .journal()
                .check_quota(CARS, &booking.booking(resource))
                .unwrap();
            match &d {
                QuotaDecision::Declined { reason, .. } => {
                    assert_eq!(out.reason.as_deref(), Some(reason.message()));
                }
                other => panic!("declined, but the journal says {other:?}"),
            }
            d
        }
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn exceeded(group: &str, limit: i64, usage: i64, requested: i64) -> QuotaDecision {
    QuotaDecision::Declined {
        group: group.to_owned(),
        reason: DeclineReason::Exceeded {
            limit,
            usage,
            requested,
        },
    }
}

fn q1<C: SqlConnection>(s: &mut Store<C>) {
    s.journal()
        .set_limits(CARS, &[("*".to_owned(), "PT1H".to_owned())].into())
        .unwrap();
    let d = reserve(
        s,
        PORSCHE,
        "q1",
        "20141010T080000Z",
        "20141010T090000Z",
        PAUL,
    );
    assert_eq!(d, QuotaDecision::Accepted { group: PAUL.into() });
    let d = reserve(s, FIAT, "q2", "20141010T100000Z", "20141010T103000Z", PAUL);
    assert_eq!(d, exceeded(PAUL, 3600, 3600, 1800));
    if let QuotaDecision::Declined { reason, .. } = &d {
        assert_eq!(
            reason.message(),
            "The event period exceeds your quota allocation for the recipient."
        );
    }
    let d = reserve(
        s,
        FIAT,
        "q3",
        "20141010T100000Z",
        "20141010T103000Z",
        VINCENT,
    );
    assert_eq!(
        d,
        QuotaDecision::Accepted {
            group: VINCENT.into()
        }
    );
}

/// Q1: a quota shared by two cars: paul's hour on the porsche is recorded against him with
/// the porsche as attendee; his half hour on the fiat is then declined; vincent's is not.
pub fn scenario_q1_quota<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    q1(&mut s);
    let mut j = s.journal();
    let entries = j.get_entries(CARS, PAUL).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        fb_line(&entries[0].period),
        "20141010T080000Z 20141010T090000Z q1 OPAQUE - \"Quota test q1\" \
         mailto:paul.boddie@example.com"
    );
    assert_eq!(entries[0].attendee.as_deref(), Some(PORSCHE));
    assert_eq!(j.get_entries(CARS, VINCENT).unwrap().len(), 1);
    assert_eq!(j.get_events(CARS).unwrap(), ["q1", "q3"]);
    assert_eq!(j.quota_users(CARS).unwrap(), [PAUL, VINCENT]);
}

/// Q2: retracting q1 removes paul's entries for the porsche and the journal's copy of q1;
/// his next half hour on the fiat is accepted.
pub fn scenario_q2_retraction<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    q1(&mut s);
    let cancel = car_request(
        "q1",
        "20141010T080000Z",
        "20141010T090000Z",
        PAUL,
        PORSCHE,
        "20141009T000000Z",
    );
    let (kind, reply) = deliver(&mut s, PORSCHE, "CANCEL", &cancel);
    assert_eq!((kind, reply), (OutcomeKind::Cancelled, None));
    assert_eq!(s.get_cancelled_events(PORSCHE).unwrap(), ["q1"]);
    let mut j = s.journal();
    assert!(j.get_entries(CARS, PAUL).unwrap().is_empty());
    assert_eq!(j.get_events(CARS).unwrap(), ["q3"]);
    let d = reserve(
        &mut s,
        FIAT,
        "q4",
        "20141011T100000Z",
        "20141011T103000Z",
        PAUL,
    );
    assert_eq!(d, QuotaDecision::Accepted { group: PAUL.into() });
}

/// Q3: groups and unlimited: paul (group staff, limit `*`) books 3 hours; harvey (no group,
/// `* PT1H`) books an hour and is declined one more minute; once his hour is over the
/// minute fits (§7.14 fixed).
pub fn scenario_q3_groups_unlimited<C: SqlConnection>(conn: C) {
    let (mut s, clock) = open(conn);
    s.journal()
        .set_groups(CARS, &[(PAUL.to_owned(), "staff".to_owned())].into())
        .unwrap();
    s.journal()
        .set_limits(
            CARS,
            &[
                ("*".to_owned(), "PT1H".to_owned()),
                ("staff".to_owned(), "*".to_owned()),
            ]
            .into(),
        )
        .unwrap();
    let d = reserve(
        &mut s,
        PORSCHE,
        "q5",
        "20141010T080000Z",
        "20141010T110000Z",
        PAUL,
    );
    assert_eq!(
        d,
        QuotaDecision::Accepted {
            group: "staff".into()
        }
    );
    let staff = s.journal().get_entries(CARS, "staff").unwrap();
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0].attendee.as_deref(), Some(PORSCHE));
    assert!(s.journal().get_entries(CARS, PAUL).unwrap().is_empty());
    let d = reserve(
        &mut s,
        FIAT,
        "h1",
        "20141010T080000Z",
        "20141010T090000Z",
        HARVEY,
    );
    assert_eq!(
        d,
        QuotaDecision::Accepted {
            group: HARVEY.into()
        }
    );
    let d = reserve(
        &mut s,
        FIAT,
        "h2",
        "20141010T120000Z",
        "20141010T120100Z",
        HARVEY,
    );
    assert_eq!(d, exceeded(HARVEY, 3600, 3600, 60));
    clock.set(ts("20141010T090000Z"));
    let d = reserve(
        &mut s,
        FIAT,
        "h2",
        "20141010T120000Z",
        "20141010T120100Z",
        HARVEY,
    );
    assert_eq!(
        d,
        QuotaDecision::Accepted {
            group: HARVEY.into()
        }
    );
    let harvey = s.journal().get_entries(CARS, HARVEY).unwrap();
    assert_eq!(
        starts(&harvey.iter().map(|e| e.period.clone()).collect::<Vec<_>>()),
        ["20141010T080000Z", "20141010T120000Z"]
    );
    assert!(harvey.iter().all(|e| e.attendee.as_deref() == Some(FIAT)));
    assert_eq!(s.journal().quota_users(CARS).unwrap(), [HARVEY, "staff"]);
}

fn pevent1(vincent_partstat: &str) -> String {
    calendar(&[
        "UID:pevent1@example.com",
        "DTSTAMP:20141009T000000Z",
        "ORGANIZER:mailto:paul.boddie@example.com",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:paul.boddie@example.com",
        &format!("ATTENDEE;RSVP=TRUE;PARTSTAT={vincent_partstat}:mailto:vincent.vole@example.com"),
        "DTSTART;TZID=Europe/Oslo:20141010T150000",
        "DTEND;TZID=Europe/Oslo:20141010T160000",
        "SUMMARY:Person meeting",
    ])
}

const P_ROW: &str = "20141010T130000Z 20141010T140000Z pevent1@example.com OPAQUE - \
                     \"Person meeting\" mailto:paul.boddie@example.com";

/// A message of `method` holding `text`'s VEVENT.
fn message(method: &str, text: &str) -> calstore_core::scheduling::Message {
    let text = text.replacen(
        "VERSION:2.0\r\n",
        &format!("VERSION:2.0\r\nMETHOD:{method}\r\n"),
        1,
    );
    parse_message(text.as_bytes(), None).unwrap()
}

fn p1<C: SqlConnection>(s: &mut Store<C>) {
    // Paul, the organiser, records his own request (imip-agent's outgoing handler).
    let text = pevent1("NEEDS-ACTION");
    let sent = event(&text);
    assert!(participates(&sent, PAUL));
    assert!(!participates(&sent, VINCENT));
    let out = s.send_message(PAUL, &message("REQUEST", &text)).unwrap();
    assert_eq!(out.kind, OutcomeKind::Stored);
    // Vincent receives it: stored, queued, no own period, paul's period deduced.
    let out = s
        .receive(
            VINCENT,
            &message("REQUEST", &text),
            &ReceiveOptions::default(),
        )
        .unwrap();
    assert_eq!(
        (out.kind, out.method),
        (OutcomeKind::Stored, Method::Request)
    );
    assert!(out.responses.is_empty(), "a person decides later");
}

/// P1: a person receiving a request (PARTSTAT NEEDS-ACTION) stores it and queues it, has no
/// own period for it, and holds the organiser's period; the organiser has the period.
pub fn scenario_p1_person_request<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    p1(&mut s);
    assert_eq!(s.get_events(VINCENT).unwrap(), ["pevent1@example.com"]);
    assert_eq!(
        s.get_requests(VINCENT).unwrap(),
        [Request {
            uid: "pevent1@example.com".into(),
            rid: None,
            kind: None
        }]
    );
    assert!(s.get_freebusy(VINCENT).unwrap().is_empty());
    assert_eq!(
        fb_lines(&s.get_freebusy_for_other(VINCENT, PAUL).unwrap()),
        [P_ROW]
    );
    assert_eq!(s.get_freebusy_others(VINCENT).unwrap(), [PAUL]);
    assert_eq!(fb_lines(&s.get_freebusy(PAUL).unwrap()), [P_ROW]);
}

/// P2: a counter-proposal received by the organiser is stored per attendee and queued as a
/// COUNTER request; the organiser's object and free/busy are unchanged.
pub fn scenario_p2_counter_received<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    p1(&mut s);
    let object = s.get_complete_event(PAUL, "pevent1@example.com").unwrap();
    let counter = pevent1("ACCEPTED")
        .replace("20141010T150000", "20141010T170000")
        .replace("20141010T160000", "20141010T180000");
    let out = s
        .receive(
            PAUL,
            &message("COUNTER", &counter),
            &ReceiveOptions::default(),
        )
        .unwrap();
    assert_eq!(out.kind, OutcomeKind::Stored);
    let counter = event(&counter);
    assert_eq!(
        s.get_counters(PAUL, "pevent1@example.com", None).unwrap(),
        [VINCENT]
    );
    assert_eq!(
        s.get_counter(PAUL, VINCENT, "pevent1@example.com", None)
            .unwrap(),
        Some(counter.text.clone())
    );
    assert_eq!(
        s.get_requests(PAUL).unwrap(),
        [Request {
            uid: "pevent1@example.com".into(),
            rid: None,
            kind: Some("COUNTER".into())
        }]
    );
    assert_eq!(
        s.get_complete_event(PAUL, "pevent1@example.com").unwrap(),
        object
    );
    assert_eq!(fb_lines(&s.get_freebusy(PAUL).unwrap()), [P_ROW]);
}

fn busy(start: &str, end: &str) -> Period {
    Period {
        transp: Some("OPAQUE".into()),
        ..period(start, end, None)
    }
}

/// F1: a received VFREEBUSY stores its periods about the sender (no uid, summary or
/// organiser); a second one covering 20141011–20141013 replaces what overlaps that range
/// (the 20141011 row goes) and keeps the rest (20141010).
pub fn scenario_f1_received_vfreebusy<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    make_resource(&mut s, RESOURCE, "schedule_in_freebusy");
    // One FREEBUSY property with two periods, comma-separated (imip-agent crashed: §7.13).
    let publish = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n\
        ORGANIZER:mailto:paul.boddie@example.com\r\nUID:fb1\r\nDTSTAMP:20141009T000000Z\r\n\
        DTSTART:20141010T000000Z\r\nDTEND:20141012T000000Z\r\n\
        FREEBUSY:20141010T100000Z/20141010T110000Z,20141011T120000Z/PT1H\r\n\
        END:VFREEBUSY\r\nEND:VCALENDAR\r\n";
    let msg = parse_message(publish.as_bytes(), None).unwrap();
    let out = s.receive(RESOURCE, &msg, &agent()).unwrap();
    assert_eq!(out.kind, OutcomeKind::Stored);
    assert!(out.responses.is_empty());
    assert_eq!(
        fb_lines(&s.get_freebusy_for_other(RESOURCE, PAUL).unwrap()),
        [
            "20141010T100000Z 20141010T110000Z - OPAQUE - \"-\" -",
            "20141011T120000Z 20141011T130000Z - OPAQUE - \"-\" -",
        ]
    );
    s.replace_freebusy_for_other(
        RESOURCE,
        PAUL,
        ts("20141011T000000Z"),
        ts("20141013T000000Z"),
        &[busy("20141012T080000Z", "20141012T090000Z")],
    )
    .unwrap();
    assert_eq!(
        starts(&s.get_freebusy_for_other(RESOURCE, PAUL).unwrap()),
        ["20141010T100000Z", "20141012T080000Z"]
    );
    assert!(s.get_freebusy(RESOURCE).unwrap().is_empty());
    assert_invalid(s.replace_freebusy_for_other(
        RESOURCE,
        PAUL,
        ts("20141013T000000Z"),
        ts("20141011T000000Z"),
        &[],
    ));
    assert_eq!(s.get_freebusy_for_other(RESOURCE, PAUL).unwrap().len(), 2);
}

/// W1: the published VFREEBUSY after S1–S3 has ORGANIZER and UID equal to the resource and
/// its FREEBUSY lines in time order (080000Z, then 140000Z).
pub fn scenario_w1_publish<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s1(&mut s);
    s2(&mut s);
    s3(&mut s);
    let fb = s.get_freebusy(RESOURCE).unwrap();
    let text = vfreebusy(RESOURCE, &fb, s.now(), None);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines.contains(&"METHOD:PUBLISH"));
    assert!(lines.contains(&"BEGIN:VFREEBUSY"));
    assert!(lines.contains(&"ORGANIZER:mailto:resource-room-confroom@example.com"));
    assert!(lines.contains(&"UID:mailto:resource-room-confroom@example.com"));
    assert!(lines.contains(&"DTSTAMP:20141009T000000Z"));
    let busy: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FREEBUSY"))
        .collect();
    assert_eq!(
        busy,
        [
            "FREEBUSY;FBTYPE=BUSY:20141010T080000Z/20141010T090000Z",
            "FREEBUSY;FBTYPE=BUSY:20141010T140000Z/20141010T150000Z",
        ]
    );
    // Given in reverse, the output is still sorted.
    let mut reversed = fb;
    reversed.reverse();
    assert_eq!(vfreebusy(RESOURCE, &reversed, s.now(), None), text);
}
