//! Implicit scheduling through `calstore serve` with real processes, on SQLite and on
//! PostgreSQL (`CALSTORE_TEST_PG_URL`): two local users and a room on one server. The
//! organiser books the room (and invites Bob and someone elsewhere) offline: the booking is
//! pending on her replica; the sync pushes it and the server delivers it — the room decides
//! at once, Bob's request queue gets the invitation, the outsider's goes out by mail through
//! an SMTP sink — and her replica shows *accepted*. A second booking over the room's quota
//! comes back *declined* with the quota's reason. Bob accepts on his replica; after the next
//! syncs Alice's copy shows it.
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/server.rs"]
mod support;
use support::*;

#[path = "support/smtp_sink.rs"]
mod smtp_sink;
use smtp_sink::Sink;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const ROOM: &str = "mailto:room@example.com";
const OUTSIDER: &str = "mailto:someone@elsewhere.example";
const ALICE_PW: &str = "correct horse battery staple";
const BOB_PW: &str = "another good passphrase";

fn meeting(uid: &str, start: &str, end: &str, attendees: &[(&str, &str)]) -> String {
    let mut s = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261206T110000Z\r\nSEQUENCE:0\r\nDTSTART:{start}\r\nDTEND:{end}\r\n\
         SUMMARY:{uid}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n"
    );
    for (who, partstat) in attendees {
        s.push_str(&format!("ATTENDEE;PARTSTAT={partstat}:{who}\r\n"));
    }
    s.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    s
}

fn add(db: &str, login: &str, password: &str) {
    calstore(
        db,
        &[
            "account",
            "add",
            "--login",
            login,
            "--email",
            &format!("{login}@example.com"),
            // The replica's session and one for the free/busy requests made here.
            "--max-sessions",
            "2",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    )
    .ok();
}

/// The invitation states a sync reported for `uid`: attendee → (partstat, reason).
fn invitations(summary: &Value, uid: &str) -> Vec<(String, String, Option<String>)> {
    summary["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["uid"] == uid)
        .map(|i| {
            (
                i["attendee"].as_str().unwrap().to_owned(),
                i["partstat"].as_str().unwrap().to_owned(),
                i["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn partstat_of(db: &str, user: &str, uid: &str, attendee: &str) -> String {
    let text = calstore(db, &["event", "show", "--user", user, "--uid", uid], "")
        .ok()
        .replace("\r\n ", "")
        .replace("\n ", "");
    let line = text
        .lines()
        .find(|l| l.starts_with("ATTENDEE") && l.ends_with(attendee))
        .unwrap_or_else(|| panic!("no {attendee} in {text}"));
    line.split(';')
        .find_map(|p| p.strip_prefix("PARTSTAT="))
        .map(|p| p.split(':').next().unwrap_or(p).to_owned())
        .unwrap_or_else(|| "NEEDS-ACTION".into())
}

fn booking_through_serve(server_db: &str, dir: &Path) {
    add(server_db, "alice", ALICE_PW);
    add(server_db, "bob", BOB_PW);
    // The room: a resource that books what is free, within its quota of an hour per person.
    calstore(
        server_db,
        &[
            "prefs",
            "set",
            "--user",
            ROOM,
            "scheduling_function",
            "schedule_in_freebusy\ncheck_quota rooms",
        ],
        "",
    )
    .ok();
    calstore(
        server_db,
        &["quota", "limits", "--quota", "rooms", "--set", "*=PT1H"],
        "",
    )
    .ok();
    let sink = Sink::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = Server::start_with(
        server_db,
        dir,
        "server",
        &[
            "--smtp",
            &smtp,
            "--mail-from",
            "calendar@example.com",
            "--mail-interval",
            "1",
        ],
        "http",
    );
    let a = format!("sqlite:{}", dir.join("alice.db").display());
    let b = format!("sqlite:{}", dir.join("bob.db").display());
    clone(&server, "alice", ALICE_PW, &a);

    // Offline: Alice books the room for an hour, inviting Bob and an outsider.
    let m1 = file(
        dir,
        "m1.ics",
        &meeting(
            "m1@example.com",
            "20261210T090000Z",
            "20261210T100000Z",
            &[
                (ROOM, "NEEDS-ACTION"),
                (BOB, "NEEDS-ACTION"),
                (OUTSIDER, "NEEDS-ACTION"),
            ],
        ),
    );
    calstore(&a, &["import", "--user", ALICE, &m1], "").ok();
    assert_eq!(
        partstat_of(&a, ALICE, "m1@example.com", ROOM),
        "NEEDS-ACTION",
        "pending while offline"
    );
    let s1 = sync(&a, &server);
    assert_eq!(s1["applied"], 1, "{s1}");
    let states = invitations(&s1, "m1@example.com");
    assert!(
        states.contains(&(ROOM.into(), "ACCEPTED".into(), None)),
        "{s1}"
    );
    assert!(
        states.contains(&(BOB.into(), "NEEDS-ACTION".into(), None)),
        "{s1}"
    );
    assert_eq!(partstat_of(&a, ALICE, "m1@example.com", ROOM), "ACCEPTED");

    // A second hour with the room is over its quota: declined, with the quota's reason.
    let m2 = file(
        dir,
        "m2.ics",
        &meeting(
            "m2@example.com",
            "20261211T090000Z",
            "20261211T100000Z",
            &[(ROOM, "NEEDS-ACTION")],
        ),
    );
    calstore(&a, &["import", "--user", ALICE, &m2], "").ok();
    let s2 = sync(&a, &server);
    let states = invitations(&s2, "m2@example.com");
    assert_eq!(states.len(), 1, "{s2}");
    assert_eq!(states[0].1, "DECLINED", "{s2}");
    let reason = states[0].2.clone().unwrap_or_default();
    assert!(reason.contains("quota"), "{s2}");
    let table = calstore(&a, &["sync"], "").ok().to_owned();
    assert!(table.is_empty() || !table.contains("error"), "{table}");

    // Bob's replica holds the invitation in his request queue; he accepts.
    clone(&server, "bob", BOB_PW, &b);
    let queue = calstore(&b, &["requests", "list", "--user", BOB], "")
        .ok()
        .to_owned();
    assert!(queue.contains("m1@example.com"), "{queue}");
    let accept = file(
        dir,
        "accept.ics",
        &meeting(
            "m1@example.com",
            "20261210T090000Z",
            "20261210T100000Z",
            &[
                (ROOM, "ACCEPTED"),
                (BOB, "ACCEPTED"),
                (OUTSIDER, "NEEDS-ACTION"),
            ],
        ),
    );
    calstore(&b, &["import", "--user", BOB, &accept], "").ok();
    let sb = sync(&b, &server);
    assert_eq!(sb["applied"], 1, "{sb}");
    let queue = calstore(&b, &["requests", "list", "--user", BOB], "")
        .ok()
        .to_owned();
    assert!(!queue.contains("m1@example.com"), "answered: {queue}");
    sync(&a, &server);
    assert_eq!(partstat_of(&a, ALICE, "m1@example.com", BOB), "ACCEPTED");

    scheduling_view(server_db, &server);
    // Bob's preference (set on the server) reaches his replica with the next sync, which
    // must not fail on it (a key of `preferences` in the change journal).
    let sb = sync(&b, &server);
    assert_eq!(sb["pending"], 0, "{sb}");
    let replica = rusqlite::Connection::open(dir.join("bob.db")).unwrap();
    let shared: String = replica
        .query_row(
            "SELECT value FROM preferences WHERE store_user = ?1 AND name = 'freebusy_sharing'",
            [BOB],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(shared, "share");

    // The outsider's invitation went out by mail through the relay.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.received().is_empty() {
        assert!(Instant::now() < deadline, "no mail reached the sink");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mail = &sink.received()[0];
    assert!(
        mail.rcpt_to[0].contains("someone@elsewhere.example"),
        "{mail:?}"
    );
    assert!(mail.data.contains("METHOD:REQUEST"), "{}", mail.data);
    assert!(mail.data.contains("m1@example.com"), "{}", mail.data);
    assert_eq!(sink.received().len(), 1, "one invitation, sent once");
    assert_eq!(server.terminate(), Some(0));
}

/// A POST of `body` as JSON with an optional bearer token; (status, JSON answer).
fn post(url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send_json(body).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

/// `POST /sync/v1/freebusy` for a scheduling view: Alice asks for the busy times of Bob, the
/// room, herself and an outsider on the day of m1 (09:00–10:00, booked and accepted): her
/// own calendar is answered; the others only once they share free/busy, and then merged
/// periods without event details; the outsider never.
fn scheduling_view(server_db: &str, server: &Server) {
    let (status, login) = post(
        &format!("{}/sync/v1/login", server.url),
        None,
        &serde_json::json!({"login": "alice", "password": ALICE_PW}),
    );
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let url = format!("{}/sync/v1/freebusy", server.url);
    let ask = serde_json::json!({
        "users": [BOB, ROOM, ALICE, OUTSIDER],
        "from": "20261210T000000Z",
        "to": "20261211T000000Z",
    });
    let answer = |v: &Value, who: &str| -> (bool, Vec<(String, String)>) {
        let u = v["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user"] == who)
            .unwrap_or_else(|| panic!("{who} missing: {v}"));
        (
            u["shared"].as_bool().unwrap(),
            serde_json::from_value(u["busy"].clone()).unwrap(),
        )
    };
    let m1 = vec![("20261210T090000Z".to_owned(), "20261210T100000Z".to_owned())];

    let (status, v) = post(&url, Some(&token), &ask);
    assert_eq!(status, 200, "{v}");
    assert_eq!(answer(&v, ALICE), (true, m1.clone()), "her own calendar");
    for who in [BOB, ROOM, OUTSIDER] {
        assert_eq!(
            answer(&v, who),
            (false, vec![]),
            "{who} does not share: {v}"
        );
    }
    assert!(
        !v.to_string().contains("m1@example.com"),
        "no event details: {v}"
    );

    for who in [BOB, ROOM] {
        calstore(
            server_db,
            &["prefs", "set", "--user", who, "freebusy_sharing", "share"],
            "",
        )
        .ok();
    }
    let (status, v) = post(&url, Some(&token), &ask);
    assert_eq!(status, 200, "{v}");
    assert_eq!(answer(&v, BOB), (true, m1.clone()), "Bob accepted m1: {v}");
    assert_eq!(
        answer(&v, ROOM),
        (true, m1.clone()),
        "the room's booking: {v}"
    );
    assert_eq!(
        answer(&v, OUTSIDER),
        (false, vec![]),
        "not a user here: {v}"
    );
    assert!(
        !v.to_string().contains("m1@example.com"),
        "no event details: {v}"
    );

    // Without a session, or with a window too long: the protocol's errors.
    let (status, v) = post(&url, None, &ask);
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("unauthenticated"))
    );
    let long =
        serde_json::json!({"users": [BOB], "from": "20261210T000000Z", "to": "20270610T000000Z"});
    let (status, v) = post(&url, Some(&token), &long);
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("bad_request")),
        "{v}"
    );
}

#[test]
fn booking_a_room_offline_through_serve_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    booking_through_serve(&db, dir.path());
}

#[test]
fn booking_a_room_offline_through_serve_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::new();
    booking_through_serve(&schema.db, dir.path());
}

/// `who` logs in over HTTP; the session's token.
fn token(server: &Server, login: &str, password: &str) -> String {
    let (status, v) = post(
        &format!("{}/sync/v1/login", server.url),
        None,
        &serde_json::json!({"login": login, "password": password}),
    );
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// `who`'s stored copy of c1@example.com.
fn show(db: &str, who: &str) -> String {
    calstore(
        db,
        &["event", "show", "--user", who, "--uid", "c1@example.com"],
        "",
    )
    .ok()
    .replace("\r\n ", "")
    .replace("\n ", "")
}

/// Pushes one mutation as `seq` of client `client`; the result's status.
fn push_one(server: &Server, token: &str, client: &str, seq: i64, mutation: Value) -> Value {
    let schema = serde_json::to_value(calstore_core::sync::server::schema_versions()).unwrap();
    let (status, v) = post(
        &format!("{}/sync/v1/push", server.url),
        Some(token),
        &serde_json::json!({"protocol": 1, "schema": schema, "client_id": client,
                            "mutations": [{"seq": seq, "mutation": mutation}]}),
    );
    assert_eq!(status, 200, "{v}");
    v["results"][0].clone()
}

/// A counter-proposal over the wire (`counter`, `decline_counter`, `accept_counter` as JSON
/// pushes to `calstore serve`): Bob's proposal reaches Alice's store as a COUNTER (kept and
/// queued), her decline marks Bob's copy, his second proposal accepted moves the event for
/// both with SEQUENCE 1.
fn counter_through_serve(server_db: &str, dir: &Path) {
    add(server_db, "alice", ALICE_PW);
    add(server_db, "bob", BOB_PW);
    let server = Server::start(server_db, dir, "server");
    let alice = token(&server, "alice", ALICE_PW);
    let bob = token(&server, "bob", BOB_PW);
    let ics = meeting(
        "c1@example.com",
        "20261210T090000Z",
        "20261210T100000Z",
        &[(BOB, "NEEDS-ACTION")],
    );
    let r = push_one(
        &server,
        &alice,
        "alice-1",
        1,
        serde_json::json!({"kind": "record", "user": ALICE, "ics": ics}),
    );
    assert_eq!(r["status"], "applied", "{r}");
    let counter = |seq: i64, start: &str, end: &str| {
        push_one(
            &server,
            &bob,
            "bob-1",
            seq,
            serde_json::json!({"kind": "counter", "user": BOB, "uid": "c1@example.com",
                "start": start, "end": end, "comment": "Later, please",
                "base": {"sequence": 0, "dtstamp": "20261206T110000Z"}}),
        )
    };
    let r = counter(1, "20261210T130000Z", "20261210T140000Z");
    assert_eq!(r["status"], "applied", "{r}");
    let held = calstore(
        server_db,
        &[
            "counters",
            "--user",
            ALICE,
            "--uid",
            "c1@example.com",
            "--other",
            BOB,
        ],
        "",
    );
    let text = held.ok().to_owned();
    assert!(
        text.contains("DTSTART:20261210T130000Z") && text.contains("COMMENT:Later\\, please"),
        "{text}"
    );
    let queue = calstore(server_db, &["requests", "list", "--user", ALICE], "");
    assert!(queue.ok().contains("COUNTER"), "{}", queue.ok());
    let offered = show(server_db, ALICE);
    assert!(offered.contains("SEQUENCE:0"), "not moved yet: {offered}");

    let r = push_one(
        &server,
        &alice,
        "alice-1",
        2,
        serde_json::json!({"kind": "decline_counter", "user": ALICE, "other": BOB,
                           "uid": "c1@example.com", "comment": "Not then"}),
    );
    assert_eq!(r["status"], "applied", "{r}");
    let bobs = show(server_db, BOB);
    assert!(
        bobs.contains("X-CALSTORE-STATE=DECLINED"),
        "Bob's copy shows the decline: {bobs}"
    );

    let r = counter(2, "20261210T150000Z", "20261210T160000Z");
    assert_eq!(r["status"], "applied", "{r}");
    let r = push_one(
        &server,
        &alice,
        "alice-1",
        3,
        serde_json::json!({"kind": "accept_counter", "user": ALICE, "other": BOB,
                           "uid": "c1@example.com"}),
    );
    assert_eq!(r["status"], "applied", "{r}");
    for who in [ALICE, BOB] {
        let text = show(server_db, who);
        assert!(
            text.contains("SEQUENCE:1") && text.contains("DTSTART:20261210T150000Z"),
            "{who}: {text}"
        );
    }
    // Answered: accepting again is superseded.
    let r = push_one(
        &server,
        &alice,
        "alice-1",
        4,
        serde_json::json!({"kind": "accept_counter", "user": ALICE, "other": BOB,
                           "uid": "c1@example.com"}),
    );
    assert_eq!(r["status"], "superseded", "{r}");
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn counter_proposal_through_serve_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    counter_through_serve(&db, dir.path());
}

#[test]
fn counter_proposal_through_serve_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::new();
    counter_through_serve(&schema.db, dir.path());
}
