//! Mail in and out through the binary: saved RFC 5322 messages as an MTA pipes them
//! (multipart/alternative and nested multipart/mixed, base64 and quoted-printable calendar
//! parts) go to `calstore receive`; the answers to the organiser, who is not a local user,
//! wait in the outbox until `calstore mail send` hands them to an SMTP relay: a small sink
//! this test runs on 127.0.0.1 (an ephemeral port) and stops at the end.
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

const ROOM: &str = "mailto:resource-room-confroom@example.com";

/// One message the sink accepted: the envelope and the data.
#[derive(Clone, Debug, Default)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// A minimal SMTP server: accepts everything except recipients containing "reject" (550),
/// records each message.
struct Sink {
    port: u16,
    stop: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (Arc::clone(&stop), Arc::clone(&got));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = serve(conn, &g);
                }
            }
        });
        Sink {
            port,
            stop,
            got,
            thread: Some(thread),
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, got: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"220 sink ESMTP\r\n")?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                mail_from: cmd[10..].trim().to_owned(),
                ..Received::default()
            };
            w.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = cmd[8..].trim().to_owned();
            if to.contains("reject") {
                w.write_all(b"550 5.1.1 no such user\r\n")?;
            } else {
                current.rcpt_to.push(to);
                w.write_all(b"250 OK\r\n")?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            current.data = data;
            got.lock().unwrap().push(current.clone());
            w.write_all(b"250 queued\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"250 OK\r\n")?;
        }
    }
}

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
