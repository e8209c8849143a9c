//! Mail in and out through the binary: saved RFC 5322 messages as an MTA pipes them
//! (multipart/alternative and nested multipart/mixed, base64 and quoted-printable calendar
//! parts) go to `calstore receive`; the answers to the organiser, who is not a local user,
//! wait in the outbox until `calstore mail send` hands them to an SMTP relay: a small sink
//! this test runs on 127.0.0.1 (an ephemeral port) and stops at the end.
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const ROOM: &str = "mailto:resource-room-confroom@example.com";

#[path = "support/smtp_sink.rs"]
mod smtp_sink;
use smtp_sink::Sink;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn run(&self, args: &[&str], now: &str, input: Option<&[u8]>) -> (i32, String, String) {
        let db = format!("sqlite:{}", self.dir.path().join("t.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_calstore"))
            .env("CALSTORE_NOW", now)
            .arg("--db")
            .arg(db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or_default()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn ok(&self, args: &[&str], now: &str, input: Option<&[u8]>) -> String {
        let (code, out, err) = self.run(args, now, input);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mail")
            .join(name),
    )
    .unwrap()
}

const NOW: &str = "20141009T000000Z";

#[test]
fn mta_pipe_to_smtp_relay() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
    };
    env.ok(
        &[
            "prefs",
            "set",
            "--user",
            ROOM,
            "scheduling_function",
            "schedule_in_freebusy",
        ],
        NOW,
        None,
    );
    // Two mails as the MTA pipes them: base64 in multipart/alternative, quoted-printable in
    // multipart/mixed > multipart/alternative.
    for (file, uid) in [
        ("request-base64.eml", "event1@example.com"),
        ("request-qp.eml", "event3@example.com"),
    ] {
        let out: Value = serde_json::from_str(&env.ok(
            &["receive", "--user", ROOM, "--format", "json", "-"],
            NOW,
            Some(&fixture(file)),
        ))
        .unwrap();
        assert_eq!(out["outcome"], "accepted", "{file}: {out}");
        assert_eq!(out["uid"], uid);
        assert_eq!(out["queued"].as_array().unwrap().len(), 1, "{out}");
    }
    // The summary's non-ASCII text survived the transfer encodings.
    let shown = env.ok(
        &[
            "event",
            "show",
            "--user",
            ROOM,
            "--uid",
            "event3@example.com",
        ],
        NOW,
        None,
    );
    assert!(shown.contains("SUMMARY:Meeting at 4pm – rød"), "{shown}");
    let pending: Value =
        serde_json::from_str(&env.ok(&["mail", "list", "--format", "json"], NOW, None)).unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "pending")
    );

    let sink = Sink::start();
    let relay = format!("smtp://127.0.0.1:{}", sink.port);
    let out = env.ok(
        &[
            "mail",
            "send",
            "--smtp",
            &relay,
            "--from",
            "calendar@example.com",
        ],
        NOW,
        None,
    );
    assert_eq!(out.trim(), "sent 2, retrying 0, dead 0");
    let got = sink.received();
    assert_eq!(got.len(), 2);
    for m in &got {
        assert_eq!(m.mail_from, "<calendar@example.com>");
        assert_eq!(m.rcpt_to, ["<paul.boddie@example.com>"]);
        assert!(m.data.contains("To: paul.boddie@example.com"), "{}", m.data);
        let part = calstore_native::mail::read_incoming(m.data.as_bytes()).unwrap();
        assert_eq!(part.method.as_deref(), Some("REPLY"));
        let ics = String::from_utf8(part.calendar)
            .unwrap()
            .replace("\r\n ", "");
        assert!(ics.contains("METHOD:REPLY\r\n"), "{ics}");
        assert!(
            ics.contains("ATTENDEE;PARTSTAT=ACCEPTED:mailto:resource-room-confroom@example.com"),
            "{ics}"
        );
        assert!(
            m.data
                .to_ascii_lowercase()
                .contains("content-type: text/calendar; method=reply"),
            "{}",
            m.data
        );
    }
    // Nothing is due any more.
    assert_eq!(
        env.ok(&["mail", "send", "--smtp", &relay], NOW, None)
            .trim(),
        "sent 0, retrying 0, dead 0"
    );

    // A relay that is down: tried again a minute later, when the relay refuses the recipient
    // for good (550): dead, with the relay's words.
    drop(sink);
    let dead_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bare = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
        UID:event10@example.com\r\nDTSTAMP:20141009T000000Z\r\n\
        ORGANIZER:mailto:reject@example.com\r\n\
        ATTENDEE:mailto:resource-room-confroom@example.com\r\n\
        DTSTART:20141012T080000Z\r\nDTEND:20141012T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    env.ok(
        &["receive", "--user", ROOM, "-"],
        NOW,
        Some(bare.as_bytes()),
    );
    let down = format!("smtp://127.0.0.1:{dead_port}");
    assert_eq!(
        env.ok(
            &["mail", "send", "--smtp", &down, "--timeout", "5"],
            NOW,
            None
        )
        .trim(),
        "sent 0, retrying 1, dead 0"
    );
    let sink = Sink::start();
    let relay = format!("smtp://127.0.0.1:{}", sink.port);
    assert_eq!(
        env.ok(&["mail", "send", "--smtp", &relay], NOW, None)
            .trim(),
        "sent 0, retrying 0, dead 0",
        "not due before its next attempt"
    );
    assert_eq!(
        env.ok(
            &["mail", "send", "--smtp", &relay],
            "20141009T000200Z",
            None
        )
        .trim(),
        "sent 0, retrying 0, dead 1",
        "the relay refuses reject@ for good"
    );
    let dead: Value = serde_json::from_str(&env.ok(
        &["mail", "list", "--state", "dead", "--format", "json"],
        NOW,
        None,
    ))
    .unwrap();
    assert_eq!(dead[0]["recipient"], "mailto:reject@example.com");
    assert_eq!(dead[0]["attempts"], 2);
    assert!(
        dead[0]["last_error"].as_str().unwrap().contains("550"),
        "{dead}"
    );
    assert!(sink.received().is_empty());
}

#[test]
fn unreadable_mail_exits_1_and_writes_nothing() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
    };
    env.ok(
        &[
            "prefs",
            "set",
            "--user",
            ROOM,
            "scheduling_function",
            "schedule_in_freebusy",
        ],
        NOW,
        None,
    );
    for bad in [
        &b"From: a@example.com\r\nSubject: no calendar\r\n\r\nhello\r\n"[..],
        b"\x00\x01\x02",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ] {
        let (code, out, err) = env.run(&["receive", "--user", ROOM, "-"], NOW, Some(bad));
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.starts_with("calstore: error: "), "{err}");
    }
    let events = env.run(&["events", "--user", ROOM], NOW, None);
    assert_eq!(events.1, "");
    assert_eq!(env.ok(&["mail", "list"], NOW, None), "");
}
