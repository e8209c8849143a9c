//! Real processes: `calstore serve` on a loopback port, replicas made with `calstore clone`,
//! edited offline with the ordinary write commands and brought back with `calstore sync`,
//! on SQLite and on PostgreSQL (`CALSTORE_TEST_PG_URL`, module `postgres`; each test in a
//! schema of its own):
//!
//! - two clones edited offline converge as the iTIP order says (the losing edit reported as
//!   superseded, a read-only account's edit rejected), and every replica equals the server,
//!   table by table, for the calendars it may see;
//! - the server killed with SIGKILL in the middle of a long push, restarted, and the sync
//!   retried: nothing lost, nothing applied twice;
//! - two server processes on one PostgreSQL database, clients alternating between them;
//! - SIGTERM: the server finishes and exits 0.
//!
//! The clock is fixed (`CALSTORE_NOW`).
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use calstore_core::SqlConnection;
use calstore_native::{DbUrl, connect};
use serde_json::Value;
use tempfile::TempDir;

#[path = "support/server.rs"]
mod support;
use support::*;
const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const ALICE_PW: &str = "correct horse battery staple";
const BOB_PW: &str = "another good passphrase";
const CAROL_PW: &str = "carol reads calendars";

/// An event of `calendar`'s, as a client would send it.
fn event(uid: &str, seq: u32, dtstamp: &str, start: &str, end: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:{dtstamp}\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n\
         ORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}\r\n\
         SEQUENCE:{seq}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn summary_of(db: &str, uid: &str) -> String {
    let text = calstore(db, &["event", "show", "--user", ALICE, "--uid", uid], "")
        .ok()
        .to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("SUMMARY:"))
        .unwrap_or_else(|| panic!("no SUMMARY in {text}"))
        .trim()
        .to_owned()
}

fn add_accounts(server_db: &str) {
    calstore(
        server_db,
        &[
            "account",
            "add",
            "--login",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        &format!("{ALICE_PW}\n"),
    )
    .ok();
    calstore(
        server_db,
        &[
            "account",
            "add",
            "--login",
            "bob",
            "--email",
            "bob@example.com",
            "--calendar",
            &format!("{ALICE}=write"),
            "--password-stdin",
        ],
        &format!("{BOB_PW}\n"),
    )
    .ok();
    calstore(
        server_db,
        &[
            "account",
            "add",
            "--login",
            "carol",
            "--email",
            "carol@example.com",
            "--calendar",
            &format!("{ALICE}=read"),
            "--password-stdin",
        ],
        &format!("{CAROL_PW}\n"),
    )
    .ok();
}

/// Two clones (and a read-only third) edited offline converge through `servers` (one, or
/// several sharing the database, used in turn).
fn two_clones_converge(server_db: &str, dir: &Path, servers: &[&Server]) {
    let pick = |i: usize| servers[i % servers.len()];
    let a = format!("sqlite:{}", dir.join("alice.db").display());
    let b = format!("sqlite:{}", dir.join("bob.db").display());
    let c = format!("sqlite:{}", dir.join("carol.db").display());
    assert_eq!(clone(pick(0), "alice", ALICE_PW, &a)["pulled"], 2);
    // Bob sees his own calendar and Alice's: her two events.
    assert_eq!(clone(pick(1), "bob", BOB_PW, &b)["pulled"], 2);
    clone(pick(2), "carol", CAROL_PW, &c);
    assert_eq!(summary_of(&b, "ev1@example.com"), "Planning");

    // Offline, both move ev1 to SEQUENCE 1: Alice's DTSTAMP is the later one, so hers wins
    // whichever order they sync in.
    let a1 = file(
        dir,
        "a1.ics",
        &event(
            "ev1@example.com",
            1,
            "20261205T100000Z",
            "20261210T140000Z",
            "20261210T150000Z",
            "Planning (Alice)",
        ),
    );
    let b1 = file(
        dir,
        "b1.ics",
        &event(
            "ev1@example.com",
            1,
            "20261204T100000Z",
            "20261210T160000Z",
            "20261210T170000Z",
            "Planning (Bob)",
        ),
    );
    let b3 = file(
        dir,
        "b3.ics",
        &event(
            "ev3@example.com",
            0,
            "20261204T100000Z",
            "20261211T090000Z",
            "20261211T100000Z",
            "Bob's new event",
        ),
    );
    let c1 = file(
        dir,
        "c1.ics",
        &event(
            "ev4@example.com",
            0,
            "20261204T100000Z",
            "20261212T090000Z",
            "20261212T100000Z",
            "Carol may not",
        ),
    );
    calstore(&a, &["import", "--user", ALICE, &a1], "").ok();
    calstore(
        &a,
        &[
            "event",
            "cancel",
            "--user",
            ALICE,
            "--uid",
            "ev2@example.com",
        ],
        "",
    )
    .ok();
    calstore(&b, &["import", "--user", ALICE, &b1, &b3], "").ok();
    calstore(
        &b,
        &[
            "requests",
            "queue",
            "--user",
            ALICE,
            "--uid",
            "ev3@example.com",
            "--type",
            "COUNTER",
        ],
        "",
    )
    .ok();
    calstore(&c, &["import", "--user", ALICE, &c1], "").ok();
    // Offline, each replica shows its own edit on top of what it last pulled.
    assert_eq!(summary_of(&a, "ev1@example.com"), "Planning (Alice)");
    assert_eq!(summary_of(&b, "ev1@example.com"), "Planning (Bob)");
    let pending = calstore(&b, &["outbox", "--format", "json"], "").json();
    assert_eq!(pending.as_array().map(Vec::len), Some(3), "{pending}");

    // Bob first: all applied (his ev1 is newer than the server's SEQUENCE 0).
    let sb = sync(&b, pick(0));
    assert_eq!(
        (
            &sb["pushed"],
            &sb["applied"],
            &sb["superseded"],
            &sb["rejected"]
        ),
        (&3.into(), &3.into(), &0.into(), &0.into()),
        "{sb}"
    );
    // Alice: her ev1 (later DTSTAMP) supersedes Bob's; her cancellation applies.
    let sa = sync(&a, pick(1));
    assert_eq!(
        (&sa["applied"], &sa["superseded"], &sa["rejected"]),
        (&2.into(), &0.into(), &0.into()),
        "{sa}"
    );
    // Carol may read, not write: rejected, reported, and her replica back to server state.
    let sc = sync(&c, pick(2));
    assert_eq!(
        (&sc["rejected"], &sc["applied"]),
        (&1.into(), &0.into()),
        "{sc}"
    );
    assert_eq!(sc["conflicts"][0]["status"], "rejected", "{sc}");
    // Bob again: he now has Alice's version.
    let sb2 = sync(&b, pick(3));
    assert_eq!(sb2["pushed"], 0, "{sb2}");

    // A late edit of Bob's with the older stamp loses, and says so.
    let b1_again = file(
        dir,
        "b1b.ics",
        &event(
            "ev1@example.com",
            1,
            "20261203T100000Z",
            "20261210T160000Z",
            "20261210T170000Z",
            "Planning (Bob, late)",
        ),
    );
    calstore(&b, &["import", "--user", ALICE, &b1_again], "").ok();
    let sb3 = sync(&b, pick(4));
    assert_eq!(sb3["superseded"], 1, "{sb3}");
    let conflict = &sb3["conflicts"][0];
    assert_eq!(conflict["status"], "superseded", "{sb3}");
    assert!(conflict.to_string().contains("ev1@example.com"), "{sb3}");
    sync(&a, pick(5));
    sync(&c, pick(6));

    for db in [&a, &b, &c] {
        assert_eq!(
            summary_of(db, "ev1@example.com"),
            "Planning (Alice)",
            "{db}"
        );
        assert_eq!(summary_of(db, "ev3@example.com"), "Bob's new event", "{db}");
        let out = calstore(db, &["outbox", "--format", "json"], "").json();
        assert_eq!(out, Value::Array(vec![]), "{db}");
    }
    // Carol's event never reached anyone.
    let shown = calstore(
        server_db,
        &["event", "show", "--user", ALICE, "--uid", "ev4@example.com"],
        "",
    );
    assert_ne!(shown.code, Some(0), "{}", shown.stdout);
    // Table by table: each replica equals the server for what it may see.
    let server_alice = dump(server_db, &[ALICE]);
    assert!(!server_alice["objects"].is_empty());
    assert_eq!(dump(&a, &[ALICE]), server_alice, "alice's replica");
    assert_eq!(dump(&c, &[ALICE]), server_alice, "carol's replica");
    assert_eq!(
        dump(&b, &[ALICE, BOB]),
        dump(server_db, &[ALICE, BOB]),
        "bob's replica"
    );
    // Alice's replica holds nothing of Bob's calendar.
    assert!(dump(&a, &[BOB]).values().all(Vec::is_empty));
}

/// The server's events before any clone: ev1 and ev2 in Alice's calendar.
fn seed_server(server_db: &str, dir: &Path) {
    let e1 = file(
        dir,
        "e1.ics",
        &event(
            "ev1@example.com",
            0,
            "20261201T100000Z",
            "20261210T100000Z",
            "20261210T110000Z",
            "Planning",
        ),
    );
    let e2 = file(
        dir,
        "e2.ics",
        &event(
            "ev2@example.com",
            0,
            "20261201T100000Z",
            "20261211T100000Z",
            "20261211T110000Z",
            "Review",
        ),
    );
    calstore(server_db, &["import", "--user", ALICE, &e1, &e2], "").ok();
}

/// `n` new events pushed in several batches, the server killed with SIGKILL during the push
/// (three times), restarted each time; then the sync completes. Every event is on the server
/// once, the server's mark for the client is `n`, the outbox is empty, and the replica equals
/// the server.
fn kill9_during_push(server_db: &str, dir: &Path) {
    let mut server = Server::start(server_db, dir, "kill-0");
    let a = format!("sqlite:{}", dir.join("alice.db").display());
    clone(&server, "alice", ALICE_PW, &a);
    let n = 1_600;
    let files: Vec<String> = (0..n)
        .map(|i| {
            file(
                dir,
                &format!("bulk{i}.ics"),
                &event(
                    &format!("bulk{i}@example.com"),
                    0,
                    "20261205T100000Z",
                    &format!("202701{:02}T{:02}0000Z", i % 28 + 1, i % 20),
                    &format!("202701{:02}T{:02}3000Z", i % 28 + 1, i % 20),
                    &format!("Bulk {i}"),
                ),
            )
        })
        .collect();
    let mut args = vec!["import", "--user", ALICE];
    args.extend(files.iter().map(String::as_str));
    calstore(&a, &args, "").ok();

    let mut killed = 0;
    for round in 1..=3 {
        let before = server.requests("/sync/v1/push");
        let mut sync_child = Command::new(env!("CARGO_BIN_EXE_calstore"))
            .args(["--db", &a, "sync", "--format", "json"])
            .env("CALSTORE_NOW", NOW)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill as soon as one push of this round has been answered: the next is in flight.
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut finished = None;
        while server.requests("/sync/v1/push") == before {
            if let Some(s) = sync_child.try_wait().unwrap() {
                finished = Some(s);
                break;
            }
            assert!(Instant::now() < deadline, "no push in round {round}");
            std::thread::sleep(Duration::from_millis(2));
        }
        if finished.is_some() {
            break;
        }
        server.kill9();
        killed += 1;
        let out = sync_child.wait_with_output().unwrap();
        if out.status.success() {
            // The last batch was answered before the kill: nothing left to interrupt.
            server = Server::start(server_db, dir, &format!("kill-{round}"));
            break;
        }
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let pending = calstore(&a, &["outbox", "--format", "json"], "").json();
        assert!(
            !pending.as_array().unwrap().is_empty(),
            "a failed sync keeps the outbox"
        );
        server = Server::start(server_db, dir, &format!("kill-{round}"));
    }
    assert!(killed >= 1, "the server was never killed during a push");
    let done = sync(&a, &server);
    assert_eq!(done["pending"], 0, "{done}");
    assert_eq!(done["superseded"], 0, "{done}");
    assert_eq!(done["rejected"], 0, "{done}");
    // Nothing lost: every event on the server, once.
    let mut conn = connect(&DbUrl::parse(server_db).unwrap()).unwrap();
    let count = |conn: &mut calstore_native::AnyConnection, sql: &str| -> i64 {
        conn.query(sql, &[]).unwrap()[0].get(0).unwrap()
    };
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM objects WHERE object_uid LIKE 'bulk%' \
             AND store_user = 'mailto:alice@example.com'"
        ),
        n
    );
    // Bob, an attendee with an account here, was invited to each once.
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM requests WHERE object_uid LIKE 'bulk%' \
             AND store_user = 'mailto:bob@example.com'"
        ),
        n
    );
    // Nothing applied twice: the client's mark is exactly n, with one result per mutation.
    assert_eq!(
        count(&mut conn, "SELECT MAX(last_seq) FROM sync_clients"),
        n
    );
    assert_eq!(count(&mut conn, "SELECT COUNT(*) FROM sync_results"), n);
    assert_eq!(
        count(&mut conn, "SELECT COUNT(DISTINCT seq) FROM sync_results"),
        n
    );
    assert_eq!(dump(&a, &[ALICE]), dump(server_db, &[ALICE]));
    assert_eq!(server.terminate(), Some(0));
}

mod sqlite {
    use super::*;

    fn setup() -> (TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("server.db").display());
        add_accounts(&db);
        seed_server(&db, dir.path());
        (dir, db)
    }

    #[test]
    fn two_clones_edited_offline_converge() {
        let (dir, db) = setup();
        let server = Server::start(&db, dir.path(), "server");
        two_clones_converge(&db, dir.path(), &[&server]);
        // SIGTERM: a clean exit.
        assert_eq!(server.terminate(), Some(0));
    }

    #[test]
    fn kill_9_during_a_push_loses_and_duplicates_nothing() {
        let (dir, db) = setup();
        kill9_during_push(&db, dir.path());
    }

    #[test]
    fn bad_logins_and_tokens_are_refused_and_logged() {
        let (dir, db) = setup();
        let server = Server::start(&db, dir.path(), "server");
        let r = dir.path().join("r.db");
        let replica = format!("sqlite:{}", r.display());
        let bad = calstore(
            &replica,
            &[
                "clone",
                "--server",
                &server.url,
                "--login",
                "alice",
                "--password-stdin",
            ],
            "wrong password\n",
        );
        assert_eq!(bad.code, Some(1), "{}", bad.stdout);
        assert!(bad.stderr.contains("login failed"), "{}", bad.stderr);
        // Nothing half-made: no replica was left behind to sync.
        let again = calstore(&replica, &["sync"], "");
        assert_ne!(again.code, Some(0));
        // The attempt is in the connection log.
        let log = calstore(&db, &["connections", "--format", "json"], "").json();
        let entries = log.as_array().unwrap();
        assert!(
            entries.iter().any(|e| e.to_string().contains("alice")),
            "{log}"
        );
        // A good clone; then suspending the account ends its session at once.
        clone(&server, "alice", ALICE_PW, &replica);
        calstore(&replica, &["sync"], "").ok();
        calstore(&db, &["account", "suspend", "--login", "alice"], "").ok();
        let refused = calstore(&replica, &["sync"], "");
        assert_eq!(refused.code, Some(1));
        assert!(
            refused.stderr.contains("session has ended"),
            "{}",
            refused.stderr
        );
        // Active again, the old token is still void: the password logs in anew.
        calstore(&db, &["account", "activate", "--login", "alice"], "").ok();
        assert_eq!(calstore(&replica, &["sync"], "").code, Some(1));
        calstore(
            &replica,
            &["sync", "--password-stdin"],
            &format!("{ALICE_PW}\n"),
        )
        .ok();
        // A new password ends the sessions too.
        calstore(
            &db,
            &["account", "passwd", "--login", "alice", "--password-stdin"],
            "a brand new passphrase\n",
        )
        .ok();
        assert_eq!(calstore(&replica, &["sync"], "").code, Some(1));
        calstore(
            &replica,
            &["sync", "--password-stdin"],
            "a brand new passphrase\n",
        )
        .ok();
        assert_eq!(server.terminate(), Some(0));
    }

    #[test]
    fn https_with_a_private_ca() {
        let (dir, db) = setup();
        let (ca, cert, key) = private_ca(dir.path());
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let server = Server::start_with(
            &db,
            dir.path(),
            "tls",
            &["--tls-cert", &cert, "--tls-key", &key],
            "https",
        );
        let replica = format!("sqlite:{}", dir.path().join("r.db").display());
        // Without the CA the certificate is not trusted: a clear error, no replica left.
        let untrusted = calstore(
            &replica,
            &[
                "clone",
                "--server",
                &server.url,
                "--login",
                "alice",
                "--password-stdin",
            ],
            &format!("{ALICE_PW}\n"),
        );
        assert_eq!(untrusted.code, Some(1), "{}", untrusted.stdout);
        assert!(
            untrusted.stderr.contains("certificate"),
            "{}",
            untrusted.stderr
        );
        assert!(!dir.path().join("r.db").exists());
        let ca = ca.display().to_string();
        let cloned = calstore(
            &replica,
            &[
                "clone",
                "--server",
                &server.url,
                "--login",
                "alice",
                "--password-stdin",
                "--ca-cert",
                &ca,
                "--format",
                "json",
            ],
            &format!("{ALICE_PW}\n"),
        )
        .json();
        assert_eq!(cloned["pulled"], 2, "{cloned}");
        // Later syncs trust the same CA without being told again.
        assert_eq!(
            calstore(&replica, &["sync", "--format", "json"], "").json()["pending"],
            0
        );
        assert_eq!(dump(&replica, &[ALICE]), dump(&db, &[ALICE]));
        assert_eq!(server.terminate(), Some(0));
    }

    #[test]
    fn limits_and_bad_requests_answer_in_the_protocol_shape() {
        let (dir, db) = setup();
        let server = Server::start_with(
            &db,
            dir.path(),
            "limits",
            &["--max-body-mib", "1", "--rate", "40"],
            "http",
        );
        // A declared length over the limit is answered before the body is sent.
        let (status, body) = declared_too_large(&server.url, 2 * 1024 * 1024);
        assert_eq!(
            (status, &body["error"]),
            (413, &"too_large".into()),
            "{body}"
        );
        let (status, body) = post_raw(&format!("{}/sync/v1/login", server.url), b"{not json");
        assert_eq!(
            (status, &body["error"]),
            (400, &"bad_request".into()),
            "{body}"
        );
        let (status, body) = post_raw(&format!("{}/sync/v1/nothing", server.url), b"{}");
        assert_eq!(
            (status, &body["error"]),
            (404, &"not_found".into()),
            "{body}"
        );
        let (status, body) = post_raw(&format!("{}/sync/v1/pull", server.url), b"{}");
        assert_eq!(
            (status, &body["error"]),
            (401, &"unauthenticated".into()),
            "{body}"
        );
        // 40 a minute per address: a burst beyond that is refused, in the same shape.
        let statuses: Vec<u16> = (0..60)
            .map(|_| post_raw(&format!("{}/sync/v1/pull", server.url), b"{}").0)
            .collect();
        assert!(statuses.contains(&429), "{statuses:?}");
        let (_, body) = post_raw(&format!("{}/sync/v1/pull", server.url), b"{}");
        assert_eq!(body["error"], "rate_limited", "{body}");
        assert_eq!(server.terminate(), Some(0));
    }

    #[test]
    fn bad_serve_arguments_are_usage_errors() {
        let (dir, db) = setup();
        let r = calstore(&db, &["serve", "--listen", "no-such-host.invalid:80"], "");
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        let missing = dir.path().join("missing.pem").display().to_string();
        let r = calstore(
            &db,
            &["serve", "--tls-cert", &missing, "--tls-key", &missing],
            "",
        );
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains("missing.pem"), "{}", r.stderr);
        // A port in use: a failure naming the address.
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap().to_string();
        let r = calstore(&db, &["serve", "--listen", &addr], "");
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(r.stderr.contains(&addr), "{}", r.stderr);
    }
}

/// A private CA and a certificate for 127.0.0.1 signed by it, as PEM files in `dir`: (CA,
/// certificate, key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "calstore test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf_cert.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

/// A POST that declares a body of `length` bytes and sends only its first byte; (status,
/// JSON answer).
fn declared_too_large(url: &str, length: usize) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /sync/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n{{"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

/// A POST with a raw body; (status, JSON answer).
fn post_raw(url: &str, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

mod postgres {
    use super::*;

    fn setup() -> (TempDir, Schema) {
        let dir = tempfile::tempdir().unwrap();
        let schema = Schema::new();
        add_accounts(&schema.db);
        seed_server(&schema.db, dir.path());
        (dir, schema)
    }

    #[test]
    fn two_clones_edited_offline_converge_on_postgres() {
        let (dir, s) = setup();
        let server = Server::start(&s.db, dir.path(), "server");
        two_clones_converge(&s.db, dir.path(), &[&server]);
        assert_eq!(server.terminate(), Some(0));
    }

    #[test]
    fn two_servers_on_one_database_give_the_same_results() {
        let (dir, s) = setup();
        let one = Server::start(&s.db, dir.path(), "one");
        let two = Server::start(&s.db, dir.path(), "two");
        // Clones and syncs alternate between the two processes.
        two_clones_converge(&s.db, dir.path(), &[&one, &two]);
        assert!(one.requests("/sync/v1/pull") > 0 && two.requests("/sync/v1/pull") > 0);
        assert_eq!(two.terminate(), Some(0));
        assert_eq!(one.terminate(), Some(0));
    }

    #[test]
    fn kill_9_during_a_push_on_postgres() {
        let (dir, s) = setup();
        kill9_during_push(&s.db, dir.path());
    }
}
