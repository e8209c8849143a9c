//! Runs the built `calstore` binary on temporary databases and checks its output, exit codes
//! and that refused input leaves nothing behind.
// The helpers below are test code outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use tempfile::TempDir;

const ROOM: &str = "mailto:resource-room-confroom@example.com";
const PAUL: &str = "mailto:paul.boddie@example.com";
/// The clock of every command run here (`CALSTORE_NOW`): before the dates the tests use.
const TEST_NOW: &str = "20261122T000000Z";

/// imip-agent's scenario S1: a one-hour meeting at 16:00 Oslo time.
const S1: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:event1@example.com\r\n\
DTSTAMP:20141001T000000Z\r\nDTSTART;TZID=Europe/Oslo:20141010T160000\r\n\
DTEND;TZID=Europe/Oslo:20141010T170000\r\nSUMMARY:Meeting at 4pm\r\n\
ORGANIZER:mailto:paul.boddie@example.com\r\n\
ATTENDEE;PARTSTAT=ACCEPTED:mailto:resource-room-confroom@example.com\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";

/// A weekly event (three occurrences) whose second occurrence is moved by an override.
const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:weekly@example.com\r\n\
DTSTART:20141006T100000Z\r\nDTEND:20141006T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n\
SUMMARY:Weekly\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly@example.com\r\n\
RECURRENCE-ID:20141013T100000Z\r\nDTSTART:20141014T120000Z\r\nDTEND:20141014T130000Z\r\n\
SUMMARY:Weekly (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

struct Env {
    dir: TempDir,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts success and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts failure with `code` and one `calstore: error:` line; returns that line.
    fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "one line expected: {}",
            self.stderr
        );
        assert!(
            self.stderr.starts_with("calstore: error: "),
            "{}",
            self.stderr
        );
        self.stderr.trim_end()
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.ok()).expect("valid JSON")
    }

    /// Asserts exit status 3 (a quota declined) with nothing on stderr; returns stdout.
    fn declined(&self) -> &str {
        assert_eq!(
            self.code,
            Some(3),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
        &self.stdout
    }
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> String {
        format!("sqlite:{}", self.path("t.db").display())
    }

    fn file(&self, name: &str, content: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write file");
        p.display().to_string()
    }

    fn command(&self, args: &[&str], with_db: bool) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
        cmd.current_dir(self.dir.path());
        // The tests' bookings and windows are in late November 2026: fix the clock before
        // them, or quota usage (which counts bookings not yet ended) changes with the date.
        cmd.env("CALSTORE_NOW", TEST_NOW);
        if with_db {
            cmd.arg("--db").arg(self.db());
        }
        cmd.args(args);
        cmd
    }

    /// Runs with this environment's database.
    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args, true).output().expect("run calstore"))
    }

    /// Runs without `--db` (in the temporary directory).
    fn run_bare(&self, args: &[&str]) -> Run {
        Run::from(self.command(args, false).output().expect("run calstore"))
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command(args, true)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn calstore");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait"))
    }

    fn import_s1(&self) -> Run {
        let f = self.file("s1.ics", S1.as_bytes());
        self.run(&[
            "import",
            "--user",
            ROOM,
            "--expand-until",
            "20150101T000000Z",
            &f,
        ])
    }

    fn freebusy_json(&self, user: &str) -> Value {
        self.run(&["freebusy", "--user", user, "--format", "json"])
            .json()
    }
}

fn s1_period() -> Value {
    json!({
        "start": "20141010T140000Z",
        "end": "20141010T150000Z",
        "uid": "event1@example.com",
        "recurrenceid": null,
        "transp": "OPAQUE",
        "summary": "Meeting at 4pm",
        "organiser": PAUL,
    })
}

#[test]
fn import_then_freebusy_json_round_trip() {
    let env = Env::new();
    let out = env.import_s1();
    let line = out.ok();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with("imported 1 object (1 parent, 0 recurrences)"),
        "{line}"
    );
    assert!(line.contains("1 free/busy period"), "{line}");
    assert_eq!(env.freebusy_json(ROOM), json!([s1_period()]));
}

#[test]
fn freebusy_range_selects_overlapping_periods() {
    let env = Env::new();
    env.import_s1().ok();
    let fb = |from: &str, to: &str| {
        env.run(&[
            "freebusy", "--user", ROOM, "--from", from, "--to", to, "--format", "json",
        ])
        .json()
    };
    assert_eq!(
        fb("20141010T143000Z", "20141010T144500Z"),
        json!([s1_period()])
    );
    assert_eq!(fb("20141010", "20141011"), json!([s1_period()]));
    // [from, to) is half-open: a period ending at `from` or starting at `to` is left out.
    assert_eq!(fb("20141010T150000Z", "20141011T000000Z"), json!([]));
    assert_eq!(fb("20141010T000000Z", "20141010T140000Z"), json!([]));
}

#[test]
fn freebusy_ics_and_table() {
    let env = Env::new();
    env.import_s1().ok();
    let run = env.run(&["freebusy", "--user", ROOM, "--format", "ics"]);
    let ics = run.ok();
    assert!(ics.contains("METHOD:PUBLISH\r\n"), "{ics}");
    assert!(ics.contains("BEGIN:VFREEBUSY\r\n"), "{ics}");
    assert!(ics.contains(&format!("ORGANIZER:{ROOM}\r\n")), "{ics}");
    assert!(
        ics.contains("FREEBUSY;FBTYPE=BUSY:20141010T140000Z/20141010T150000Z\r\n"),
        "{ics}"
    );
    let run = env.run(&["freebusy", "--user", ROOM, "--tz", "Europe/Oslo"]);
    let table = run.ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("START (Europe/Oslo)"), "{table}");
    assert!(
        lines[1].starts_with("Fri 2014-10-10 16:00  17:00"),
        "{table}"
    );
    assert!(lines[1].contains("event1@example.com"), "{table}");
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.import_s1().ok();
    let bad_from = env.run(&["freebusy", "--user", ROOM, "--from", "2014-13-10"]);
    assert!(bad_from.fails(2).contains("--from"));
    assert!(bad_from.fails(2).contains("2014-13-10"));
    let reversed = env.run(&[
        "freebusy", "--user", ROOM, "--from", "20141011", "--to", "20141010",
    ]);
    assert!(reversed.fails(2).contains("is not before"));
    assert!(env.run(&["freebusy"]).fails(2).contains("--user"));
    assert!(env.run(&["frobnicate"]).fails(2).contains("frobnicate"));
    assert!(
        env.run(&["freebusy", "--user", "room"])
            .fails(2)
            .contains("not a calendar URI")
    );
    assert!(
        env.run(&["freebusy", "--user", ROOM, "--format", "xml"])
            .fails(2)
            .contains("xml")
    );
    assert!(
        env.run_bare(&["--db", "mysql://x", "events", "--user", ROOM])
            .fails(2)
            .contains("mysql")
    );
    let window = env.run(&["import", "--user", ROOM, "--window-days", "0", "x.ics"]);
    window.fails(2);
    // Nothing changed.
    assert_eq!(env.freebusy_json(ROOM), json!([s1_period()]));
}

/// A password in a database URL never reaches an error message: not when the URL is refused
/// (clap would echo a rejected value), not when the server cannot be reached.
#[test]
fn database_url_password_is_masked() {
    let env = Env::new();
    for (url, code) in [
        ("postgress://u:s3cret@h/db", 2),
        ("postgres:/u:s3cret@h/db", 2),
        ("mysql://u:s3cret@h/db", 2),
        ("postgres://u:s3cret@127.0.0.1:1/db", 1),
        ("postgres://u:s3cret@h:port/db", 1),
    ] {
        let run = env.run_bare(&["--db", url, "events", "--user", ROOM]);
        let message = run.fails(code);
        assert!(!message.contains("s3cret"), "{url}: {message}");
    }
    let copy = env.run_bare(&[
        "copy",
        "--from",
        "sqlite::memory:",
        "--to",
        "pg://u:s3cret@h",
    ]);
    assert!(!copy.fails(2).contains("s3cret"));
}

#[test]
fn help_and_version_exit_0() {
    let env = Env::new();
    let help = env.run_bare(&["--help"]);
    let text = help.ok();
    for command in [
        "import", "freebusy", "events", "event", "requests", "quota", "demo",
    ] {
        assert!(text.contains(command), "{command} missing from {text}");
    }
    assert!(env.run_bare(&["--version"]).ok().starts_with("calstore "));
}

#[test]
fn unknown_user_exits_1() {
    let env = Env::new();
    env.import_s1().ok();
    for args in [
        vec!["freebusy", "--user", PAUL],
        vec!["events", "--user", PAUL],
        vec!["offers", "--user", PAUL],
        vec!["providers", "--user", PAUL],
        vec!["freebusy-other", "--user", PAUL],
        vec!["requests", "list", "--user", PAUL],
        vec![
            "event",
            "show",
            "--user",
            PAUL,
            "--uid",
            "event1@example.com",
        ],
    ] {
        let run = env.run(&args);
        assert_eq!(
            run.fails(1),
            format!("calstore: error: unknown user {PAUL}"),
            "{args:?}"
        );
    }
}

#[test]
fn bad_input_is_refused_whole() {
    let env = Env::new();
    let good = env.file("good.ics", S1.as_bytes());
    let cases: [(&str, &[u8], &str); 6] = [
        ("garbage.ics", b"this is not iCalendar\n", "garbage.ics"),
        (
            "nouid.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20141010T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "UID",
        ),
        (
            "feb30.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20140230T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "20140230",
        ),
        (
            "latin1.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:M\xf8te\r\nDTSTART:20141010T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "UTF-8",
        ),
        ("empty.ics", b"", "no VEVENT"),
        (
            "unended.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20141010T100000Z\r\n",
            "unended.ics",
        ),
    ];
    for (name, content, expected) in cases {
        let bad = env.file(name, content);
        // The good file comes first: it must not be written either.
        let run = env.run(&["import", "--strict", "--user", ROOM, &good, &bad]);
        let line = run.fails(1);
        assert!(line.contains(name), "{line}");
        assert!(line.contains(expected), "{line}");
        assert_eq!(
            env.run(&["freebusy", "--user", ROOM]).fails(1),
            format!("calstore: error: unknown user {ROOM}")
        );
    }
    let long_uid = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTART:20141010T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "u".repeat(5000)
    );
    let bad = env.file("long.ics", long_uid.as_bytes());
    assert!(
        env.run(&["import", "--strict", "--user", ROOM, &good, &bad])
            .fails(1)
            .contains("5000 bytes")
    );
    // Read leniently (the default), what no mainstream implementation reads is refused too:
    // one line naming the file, exit 1, nothing written.
    let nested = format!(
        "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
        "BEGIN:X-DEEP\r\n".repeat(40)
    );
    let refused: [(&str, &[u8], &str); 7] = [
        ("garbage.ics", b"this is not iCalendar\n", "no iCalendar data"),
        ("empty.ics", b"", "no iCalendar data"),
        ("cal.json", b"{\"events\": [{\"start\": \"2014-10-10\"}]}", "no iCalendar data"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        ("deep.ics", nested.as_bytes(), "nested deeper than 32"),
        (
            "feb30.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20140230T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "holds no VEVENT that could be read (line 2 (UID \"x\"): line 4: DTSTART",
        ),
        (
            "unended.ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20141010T100000Z\r\n",
            "holds no VEVENT",
        ),
    ];
    for (name, content, expected) in refused {
        let bad = env.file(name, content);
        let run = env.run(&["import", "--user", ROOM, &good, &bad]);
        let line = run.fails(1);
        assert!(line.contains(name), "{line}");
        assert!(line.contains(expected), "{line}");
        assert_eq!(
            env.run(&["freebusy", "--user", ROOM]).fails(1),
            format!("calstore: error: unknown user {ROOM}")
        );
    }
    let missing = env.path("missing.ics").display().to_string();
    assert!(
        env.run(&["import", "--user", ROOM, &good, &missing])
            .fails(1)
            .contains("cannot read")
    );
    // An existing user keeps exactly what it had.
    env.import_s1().ok();
    let weekly = env.file("weekly.ics", WEEKLY.as_bytes());
    let run = env.run(&["import", "--strict", "--user", ROOM, &weekly, &env.file("nouid.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20141010T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")]);
    assert!(run.fails(1).contains("nouid.ics"));
    let bad = env.file("bad.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:y\r\nDTSTART:2014\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    env.run(&["import", "--user", ROOM, &weekly, &bad]).fails(1);
    assert_eq!(env.freebusy_json(ROOM), json!([s1_period()]));
    assert_eq!(
        env.run(&["events", "--user", ROOM]).ok(),
        "event1@example.com\n"
    );
}

#[test]
fn sql_looking_uids_are_data() {
    let env = Env::new();
    let uid = "x'); DROP TABLE objects;--";
    let ics = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:20141010T100000Z\r\n\
         DTEND:20141010T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let f = env.file("sql.ics", ics.as_bytes());
    env.run(&["import", "--user", ROOM, "--expand-until", "20150101", &f])
        .ok();
    assert_eq!(
        env.run(&["events", "--user", ROOM]).ok(),
        format!("{uid}\n")
    );
    let shown = env.run(&["event", "show", "--user", ROOM, "--uid", uid]);
    assert!(shown.ok().contains(&format!("UID:{uid}\r\n")));
    assert_eq!(env.freebusy_json(ROOM)[0]["uid"], uid);
}

#[test]
fn import_from_stdin() {
    let env = Env::new();
    let run = env.run_stdin(
        &[
            "import",
            "--user",
            ROOM,
            "--expand-until",
            "20150101T000000Z",
            "-",
        ],
        S1.as_bytes(),
    );
    assert!(run.ok().starts_with("imported 1 object"));
    assert_eq!(env.freebusy_json(ROOM), json!([s1_period()]));
    let bad = env.run_stdin(&["import", "--user", PAUL, "-"], b"nonsense");
    assert!(bad.fails(1).contains("standard input"));
}

#[test]
fn recurrences_cancel_uncancel_remove() {
    let env = Env::new();
    let f = env.file("weekly.ics", WEEKLY.as_bytes());
    let out = env.run(&["import", "--user", PAUL, "--expand-until", "20150101", &f]);
    assert!(
        out.ok()
            .starts_with("imported 2 objects (1 parent, 1 recurrence)"),
        "{}",
        out.stdout
    );
    let starts = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|p| p["start"].as_str().expect("start").to_owned())
            .collect()
    };
    let fb = env.freebusy_json(PAUL);
    assert_eq!(
        starts(&fb),
        ["20141006T100000Z", "20141014T120000Z", "20141020T100000Z"]
    );
    assert_eq!(fb[1]["recurrenceid"], "20141013T100000Z");
    assert_eq!(
        env.run(&["events", "--user", PAUL]).ok(),
        "weekly@example.com\nweekly@example.com\t20141013T100000Z\n"
    );
    let o = ["--user", PAUL, "--uid", "weekly@example.com"];
    let rid = ["--rid", "20141013T100000Z"];
    let until = ["--expand-until", "20150101"];
    // Cancelling the moved instance removes it (and the parent occurrence stays replaced).
    let args = [&["event", "cancel"][..], &o, &rid, &until].concat();
    assert!(
        env.run(&args)
            .ok()
            .starts_with("cancelled recurrence 20141013T100000Z")
    );
    assert_eq!(
        starts(&env.freebusy_json(PAUL)),
        ["20141006T100000Z", "20141020T100000Z"]
    );
    assert_eq!(
        env.run(&["events", "--user", PAUL, "--cancelled"]).ok(),
        "weekly@example.com\t20141013T100000Z\n"
    );
    // Cancelling it again is an error that names the state.
    assert!(env.run(&args).fails(1).contains("it is cancelled"));
    let args = [&["event", "uncancel"][..], &o, &rid, &until].concat();
    env.run(&args).ok();
    assert_eq!(starts(&env.freebusy_json(PAUL)).len(), 3);
    // Cancelling the parent removes its occurrences; the override stays.
    let args = [&["event", "cancel"][..], &o, &until].concat();
    env.run(&args).ok();
    assert_eq!(starts(&env.freebusy_json(PAUL)), ["20141014T120000Z"]);
    let shown = env.run(&[&["event", "show"][..], &o, &["--cancelled"]].concat());
    assert!(shown.ok().contains("RRULE:FREQ=WEEKLY;COUNT=3"));
    // Removing the event removes everything.
    env.run(&[&["event", "remove"][..], &o].concat()).ok();
    assert_eq!(env.freebusy_json(PAUL), json!([]));
    assert_eq!(env.run(&["events", "--user", PAUL]).ok(), "");
    assert!(
        env.run(&[&["event", "remove"][..], &o].concat())
            .fails(1)
            .contains("no event")
    );
}

#[test]
fn cancel_removes_periods() {
    let env = Env::new();
    env.import_s1().ok();
    let run = env.run(&[
        "event",
        "cancel",
        "--user",
        ROOM,
        "--uid",
        "event1@example.com",
    ]);
    assert!(run.ok().contains("0 periods"));
    assert_eq!(env.freebusy_json(ROOM), json!([]));
    let missing = env.run(&[
        "event",
        "cancel",
        "--user",
        ROOM,
        "--uid",
        "nope@example.com",
    ]);
    assert!(missing.fails(1).contains("nope@example.com"));
}

#[test]
fn requests_queue_and_dequeue() {
    let env = Env::new();
    let queue =
        |args: &[&str]| env.run(&[&["requests", "queue", "--user", PAUL][..], args].concat());
    assert!(
        queue(&["--uid", "a@example.com"])
            .ok()
            .starts_with("queued")
    );
    assert!(
        queue(&[
            "--uid",
            "b@example.com",
            "--rid",
            "20141013T100000Z",
            "--type",
            "COUNTER"
        ])
        .ok()
        .starts_with("queued")
    );
    assert!(
        queue(&["--uid", "a@example.com", "--type", "COUNTER"])
            .ok()
            .contains("already queued")
    );
    assert_eq!(
        env.run(&["requests", "list", "--user", PAUL]).ok(),
        "a@example.com\t-\t-\nb@example.com\t20141013T100000Z\tCOUNTER\n"
    );
    // Dequeue is exact: without --rid only the whole-event request goes.
    let dequeue =
        |args: &[&str]| env.run(&[&["requests", "dequeue", "--user", PAUL][..], args].concat());
    assert!(
        dequeue(&["--uid", "b@example.com"])
            .fails(1)
            .contains("no request")
    );
    dequeue(&["--uid", "a@example.com"]).ok();
    assert_eq!(
        env.run(&["requests", "list", "--user", PAUL]).ok(),
        "b@example.com\t20141013T100000Z\tCOUNTER\n"
    );
    dequeue(&["--uid", "b@example.com", "--rid", "20141013T100000Z"]).ok();
    assert_eq!(env.run(&["requests", "list", "--user", PAUL]).ok(), "");
}

#[test]
fn quota_limits_groups_check_reserve() {
    let env = Env::new();
    let q = ["--quota", "cars"];
    // An unknown quota is an error on reads.
    env.run(&["quota", "limits", "--quota", "boats", "--set", "*=PT1H"])
        .ok();
    assert_eq!(
        env.run(&[&["quota", "limits"][..], &q].concat()).fails(1),
        "calstore: error: unknown quota cars"
    );
    let set = env.run(&[&["quota", "limits"][..], &q, &["--set", "*=PT1H", "vips=*"]].concat());
    assert_eq!(set.ok(), "*\tPT1H\nvips\t*\n");
    // A day written as PT1D is refused and nothing changes.
    let bad = env.run(&[&["quota", "limits"][..], &q, &["--set", "x=PT2H", "*=PT1D"]].concat());
    assert!(bad.fails(2).contains("PT1D"));
    assert_eq!(
        env.run(&[&["quota", "limits"][..], &q].concat()).ok(),
        "*\tPT1H\nvips\t*\n"
    );
    let groups = env.run(
        &[
            &["quota", "groups"][..],
            &q,
            &["--set", &format!("{PAUL}=devs")],
        ]
        .concat(),
    );
    assert_eq!(groups.ok(), format!("{PAUL}\tdevs\n"));
    let delegates = env.run(&[&["quota", "delegates"][..], &q, &["--set", ROOM]].concat());
    assert_eq!(delegates.ok(), format!("{ROOM}\n"));

    let check = |start: &str, end: &str| {
        env.run(
            &[
                &["quota", "check"][..],
                &q,
                &["--organiser", PAUL, "--start", start, "--end", end],
            ]
            .concat(),
        )
    };
    let accepted = check("20261124T090000Z", "20261124T094500Z");
    let text = accepted.ok();
    assert!(text.starts_with("ACCEPTED\n"), "{text}");
    assert!(text.contains("group:     devs"), "{text}");
    assert!(text.contains("requested: PT45M"), "{text}");
    let declined = check("20261124T090000Z", "20261124T110000Z");
    let text = declined.declined();
    assert!(
        text.starts_with(
            "DECLINED: The event period exceeds your quota allocation for the recipient.\n"
        ),
        "{text}"
    );
    for line in ["requested: PT2H", "usage:     PT0S", "limit:     PT1H"] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
    // A check records nothing; a reservation does, and counts against the next booking.
    let reserve = env.run(
        &[
            &["quota", "reserve"][..],
            &q,
            &[
                "--organiser",
                PAUL,
                "--start",
                "20261124T090000Z",
                "--end",
                "20261124T094500Z",
            ],
            &[
                "--uid",
                "car1@example.com",
                "--attendee",
                "mailto:car@example.com",
            ],
        ]
        .concat(),
    );
    assert!(reserve.ok().starts_with("ACCEPTED\n"));
    let text = check("20261125T090000Z", "20261125T093000Z")
        .declined()
        .to_owned();
    assert!(text.starts_with("DECLINED"), "{text}");
    assert!(text.contains("usage:     PT45M"), "{text}");
    assert_eq!(
        env.run(&[&["quota", "entries"][..], &q].concat()).ok(),
        "devs\n"
    );
    let entries = env
        .run(
            &[
                &["quota", "entries"][..],
                &q,
                &["--group", "devs", "--format", "json"],
            ]
            .concat(),
        )
        .json();
    assert_eq!(entries[0]["uid"], "car1@example.com");
    assert_eq!(entries[0]["attendee"], "mailto:car@example.com");
    assert_eq!(entries[0]["end"], "20261124T094500Z");
    assert_eq!(entries.as_array().map(Vec::len), Some(1));
}

#[test]
fn quota_check_from_file() {
    let env = Env::new();
    env.run(&["quota", "limits", "--quota", "rooms", "--set", "*=PT1H"])
        .ok();
    let f = env.file("s1.ics", S1.as_bytes());
    // The organiser comes from the file; the event is an hour.
    let run = env.run(&[
        "quota",
        "check",
        "--quota",
        "rooms",
        "--file",
        &f,
        "--expand-until",
        "20150101",
    ]);
    let text = run.ok();
    assert!(text.starts_with("ACCEPTED\n"), "{text}");
    assert!(text.contains(&format!("group:     {PAUL}")), "{text}");
    assert!(text.contains("requested: PT1H"), "{text}");
    // The weekly event has three one-hour occurrences: over the limit.
    let w = env.file("weekly.ics", WEEKLY.as_bytes());
    let run = env.run(&[
        "quota",
        "check",
        "--quota",
        "rooms",
        "--organiser",
        PAUL,
        "--file",
        &w,
        "--expand-until",
        "20150101",
    ]);
    assert!(run.declined().contains("requested: PT3H"), "{}", run.stdout);
    // Neither a file nor a period is a usage error.
    env.run(&["quota", "check", "--quota", "rooms", "--organiser", PAUL])
        .fails(2);
}

#[test]
fn memory_database() {
    let env = Env::new();
    let f = env.file("s1.ics", S1.as_bytes());
    let run = env.run_bare(&["--db", "sqlite::memory:", "import", "--user", ROOM, &f]);
    assert!(run.ok().starts_with("imported 1 object"));
    // Each run has its own private database.
    let fb = env.run_bare(&["--db", "sqlite::memory:", "freebusy", "--user", ROOM]);
    assert!(fb.fails(1).contains("holds no calstore data"));
    assert!(!env.path("t.db").exists());
}

#[test]
fn default_database_is_calstore_db() {
    let env = Env::new();
    let f = env.file("s1.ics", S1.as_bytes());
    env.run_bare(&["import", "--user", ROOM, "--expand-until", "20150101", &f])
        .ok();
    assert!(env.path("calstore.db").exists());
    let fb = env
        .run_bare(&["freebusy", "--user", ROOM, "--format", "json"])
        .json();
    assert_eq!(fb, json!([s1_period()]));
}

fn assert_demo_output(text: &str) {
    assert!(text.contains("Mon 23 Nov"), "{text}");
    assert!(text.contains("Sun 29 Nov"), "{text}");
    assert!(text.contains("08  09  10"), "{text}");
    assert!(
        text.contains('█') && text.contains('░') && text.contains('·'),
        "{text}"
    );
    assert!(
        text.contains("Paul Boddie <mailto:paul.boddie@example.com>"),
        "{text}"
    );
    assert!(text.contains("ACCEPTED"), "{text}");
    assert!(
        text.contains("DECLINED: The event period exceeds"),
        "{text}"
    );
    // Paul's Monday: the stand-up at 09:00 and the dentist at 16:00 (quarter-hour cells).
    let monday = text
        .lines()
        .find(|l| l.trim_start().starts_with("Mon 23 Nov ") && l.contains('·'))
        .expect("a grid row for Monday");
    let cells: String = monday
        .chars()
        .filter(|c| matches!(c, '█' | '░' | '·'))
        .collect();
    assert_eq!(
        cells,
        format!("{}█{}████{}", "·".repeat(4), "·".repeat(27), "·".repeat(4))
    );
}

#[test]
fn demo_builds_store_and_prints_a_week() {
    let env = Env::new();
    let first = env.run_bare(&["demo"]);
    let text = first.ok().to_owned();
    assert_demo_output(&text);
    assert!(env.path("calstore-demo.db").exists());
    // Reproducible: a second run recreates the database and prints the same.
    assert_eq!(env.run_bare(&["demo"]).ok(), text);
    // The demo database works with the other commands.
    let rooms = env.run_bare(&[
        "--db",
        "sqlite:calstore-demo.db",
        "freebusy",
        "--user",
        ROOM,
        "--from",
        "20261126",
        "--to",
        "20261127",
        "--format",
        "json",
    ]);
    let fb = rooms.json();
    assert_eq!(fb[0]["uid"], "workshop@example.com");
    assert_eq!(fb[0]["start"], "20261126T080000Z");
}

#[test]
fn demo_on_explicit_database() {
    let env = Env::new();
    let run = env.run_bare(&["--db", "sqlite::memory:", "demo"]);
    assert_demo_output(run.ok());
    assert!(!Path::new(&env.path("calstore-demo.db")).exists());
    // A database that already holds the demo's users is refused, not mixed into.
    env.run(&["demo"]).ok();
    assert!(env.run(&["demo"]).fails(1).contains("already holds data"));
}

#[cfg(unix)]
#[test]
fn non_utf8_and_overlong_arguments_are_usage_errors() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    env.import_s1().ok();
    let out = env
        .command(&["event", "show", "--user", ROOM, "--uid"], true)
        .arg(std::ffi::OsStr::from_bytes(b"event\xff"))
        .output()
        .expect("run calstore");
    let run = Run::from(out);
    assert!(run.fails(2).contains("UTF-8"));
    let long_user = format!("mailto:{}@example.com", "a".repeat(2000));
    assert!(
        env.run(&["events", "--user", &long_user])
            .fails(2)
            .contains("2019 bytes")
    );
    let bad_tz = env.run(&["import", "--user", ROOM, "--tz", "Mars/Olympus", "x.ics"]);
    assert!(bad_tz.fails(2).contains("Mars/Olympus"));
}

/// Counters, offers and others' free/busy are written through the library (the CLI only
/// reads them); the CLI must show exactly what was stored.
#[test]
fn counters_offers_and_others() {
    use calstore_core::{FixedClock, Offer, Period, Store};
    use calstore_native::SqliteConnection;
    use chrono::{TimeZone, Utc};

    let env = Env::new();
    env.import_s1().ok();
    let t = |d, h| Utc.with_ymd_and_hms(2014, 10, d, h, 0, 0).unwrap();
    {
        let conn = SqliteConnection::open(env.path("t.db")).unwrap();
        let mut store = Store::open(conn, Box::new(FixedClock::new(t(1, 0)))).unwrap();
        store
            .set_counter(
                ROOM,
                PAUL,
                "event1@example.com",
                None,
                "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
            )
            .unwrap();
        let mut offered = Period::new(t(11, 9), t(11, 10));
        offered.uid = Some("event1@example.com".into());
        let live = Offer {
            period: offered.clone(),
            expires: Some(Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()),
        };
        let lapsed = Offer {
            period: Period::new(t(12, 9), t(12, 10)),
            expires: Some(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()),
        };
        store.set_freebusy_offers(ROOM, &[live, lapsed]).unwrap();
        store
            .set_freebusy_for_other(ROOM, PAUL, &[Period::new(t(13, 8), t(13, 9))])
            .unwrap();
    }
    let o = ["--user", ROOM, "--uid", "event1@example.com"];
    assert_eq!(
        env.run(&[&["counters"][..], &o].concat()).ok(),
        format!("{PAUL}\n")
    );
    assert_eq!(
        env.run(&[&["counters"][..], &o, &["--other", PAUL]].concat())
            .ok(),
        "BEGIN:VEVENT\r\nEND:VEVENT\r\n"
    );
    let nobody = env.run(&[&["counters"][..], &o, &["--other", "mailto:x@example.com"]].concat());
    assert!(nobody.fails(1).contains("no counter-proposal"));
    // The lapsed offer is dropped on reading; the live one shows with its expiry.
    let offers = env
        .run(&["offers", "--user", ROOM, "--format", "json"])
        .json();
    assert_eq!(
        offers,
        json!([{
            "start": "20141011T090000Z", "end": "20141011T100000Z", "uid": "event1@example.com",
            "recurrenceid": null, "transp": null, "summary": null, "organiser": null,
            "expires": "21000101T000000Z",
        }])
    );
    assert_eq!(
        env.run(&["freebusy-other", "--user", ROOM]).ok(),
        format!("{PAUL}\n")
    );
    let other = env.run(&[
        "freebusy-other",
        "--user",
        ROOM,
        "--other",
        PAUL,
        "--format",
        "ics",
    ]);
    assert!(
        other
            .ok()
            .contains("FREEBUSY;FBTYPE=BUSY:20141013T080000Z/20141013T090000Z\r\n")
    );
    let other = env.run(&[
        "freebusy-other",
        "--user",
        ROOM,
        "--other",
        PAUL,
        "--from",
        "20141014",
        "--format",
        "json",
    ]);
    assert_eq!(other.json(), json!([]));
}

#[test]
fn providers_listed_and_extended() {
    let env = Env::new();
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:daily@example.com\r\n\
               DTSTART:20141001T080000Z\r\nDTEND:20141001T090000Z\r\nRRULE:FREQ=DAILY\r\n\
               END:VEVENT\r\nEND:VCALENDAR\r\n";
    let f = env.file("daily.ics", ics.as_bytes());
    let run = env.run(&["import", "--user", PAUL, "--expand-until", "20141011", &f]);
    assert!(
        run.ok().contains("10 free/busy periods, 1 provider"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.run(&["providers", "--user", PAUL]).ok(),
        "until\t20141011T000000Z\ndaily@example.com\n"
    );
    let run = env.run(&["providers", "--user", PAUL, "--extend-until", "20141021"]);
    assert_eq!(
        run.ok(),
        "extended 1 provider up to 20141021T000000Z\nuntil\t20141021T000000Z\ndaily@example.com\n"
    );
    let fb = env.freebusy_json(PAUL);
    assert_eq!(fb.as_array().map(Vec::len), Some(20));
}

/// A calendar with three problems mainstream software gets past: an event without UID, an
/// event without DTSTART, and a misspelt END:VCALENDAR.
const REPAIRABLE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VEVENT\r\nUID:good@example.com\r\nDTSTART:20261124T090000Z\r\nDTEND:20261124T100000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTART:20261125T090000Z\r\nDTEND:20261125T100000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:nostart@example.com\r\nSUMMARY:when?\r\nEND:VEVENT\r\n\
END:VCALENDARD\r\n";

#[test]
fn lenient_import_notes_on_stderr_strict_refuses() {
    let env = Env::new();
    let f = env.file("repairable.ics", REPAIRABLE.as_bytes());
    // --strict: the first problem refuses everything.
    let run = env.run(&["import", "--strict", "--user", ROOM, &f]);
    let line = run.fails(1);
    assert!(
        line.contains("repairable.ics: VEVENT at line 8: no UID"),
        "{line}"
    );
    assert_eq!(
        env.run(&["freebusy", "--user", ROOM]).fails(1),
        format!("calstore: error: unknown user {ROOM}")
    );
    // Leniently (the default): imported, one note per line on standard error.
    let run = env.run(&["import", "--user", ROOM, &f]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("imported 2 objects (2 parents, 0 recurrences)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .trim_end()
            .ends_with("; 3 repair notes on standard error"),
        "{}",
        run.stdout
    );
    let notes: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(notes.len(), 3, "{}", run.stderr);
    let name = env.path("repairable.ics").display().to_string();
    assert!(
        notes[0].starts_with(&format!("{name}: line 8 (UID \"calstore-derived-")),
        "{}",
        notes[0]
    );
    assert!(
        notes[0].ends_with("derived from the event's content"),
        "{}",
        notes[0]
    );
    assert_eq!(
        notes[1],
        format!(
            "{name}: line 12 (UID \"nostart@example.com\"): VEVENT at line 12 \
             (UID \"nostart@example.com\"): no DTSTART: event skipped"
        )
    );
    assert_eq!(
        notes[2],
        format!(
            "{name}: line 16: END:VCALENDARD does not match BEGIN:VCALENDAR at line 1: \
             read as END:VCALENDAR"
        )
    );
    let fb = env.freebusy_json(ROOM);
    assert_eq!(fb.as_array().map(Vec::len), Some(2));
    // The derived UID is stable: importing again changes nothing.
    env.run(&["import", "--user", ROOM, &f]);
    assert_eq!(env.freebusy_json(ROOM), fb);
    // A calendar without problems prints nothing on standard error.
    env.import_s1().ok();
}

/// Issue 11, item 9: the messages about one event name its file, its line and its UID: the
/// instance cap (it named only the UID), a NUL byte (it quoted the whole object text), and a
/// file with CR-only line ends is simply read.
#[test]
fn messages_name_file_line_and_uid() {
    let env = Env::new();
    let event = |uid: &str, extra: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n\
             DTSTART:20261201T100000Z\r\nDTEND:20261201T100100Z\r\n{extra}END:VEVENT\r\n"
        )
    };
    let calendar = |events: &[String]| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}END:VCALENDAR\r\n",
            events.concat()
        )
    };
    // The cap: the event starts on line 11, after two others; leniently and strictly alike
    // the whole import is refused, naming the place and how to raise the cap.
    let cap = calendar(&[
        event("a", ""),
        event("b", ""),
        event("cap1", "RRULE:FREQ=MINUTELY;INTERVAL=2\r\n"),
    ]);
    let f = env.file("cap.ics", cap.as_bytes());
    let name = env.path("cap.ics").display().to_string();
    for strict in [false, true] {
        let mut args = vec!["import", "--user", ROOM, "--max-instances", "1000", &f];
        if strict {
            args.insert(1, "--strict");
        }
        let line = env.run(&args).fails(1).to_owned();
        assert!(
            line.starts_with(&format!(
                "calstore: error: {name}: line 16 (UID \"cap1\"): more than 1000 instances"
            )),
            "{line}"
        );
        assert!(line.contains("--max-instances sets the cap"), "{line}");
        assert_eq!(
            env.run(&["freebusy", "--user", ROOM]).fails(1),
            format!("calstore: error: unknown user {ROOM}")
        );
    }
    // A NUL byte in a SUMMARY (line 19): strictly refused naming line and UID, not quoting
    // the object; leniently removed with a note, the event kept.
    let nul = calendar(&[event("a", ""), event("nul1", "SUMMARY:bad\0nul\r\n")]);
    let f = env.file("nul.ics", nul.as_bytes());
    let name = env.path("nul.ics").display().to_string();
    let line = env
        .run(&["import", "--strict", "--user", ROOM, &f])
        .fails(1)
        .to_owned();
    assert_eq!(
        line,
        format!(
            "calstore: error: {name}: line 15 (UID \"nul1\"): the control character U+0000 \
             (not allowed in iCalendar text)"
        )
    );
    let run = env.run(&["import", "--user", ROOM, &f]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "{name}: line 15 (UID \"nul1\"): the control character U+0000 (not allowed in \
             iCalendar text): removed"
        )
    );
    let shown = env
        .run(&["event", "show", "--user", ROOM, "--uid", "nul1"])
        .ok()
        .to_owned();
    assert!(shown.contains("SUMMARY:badnul"), "{shown}");
    // CR-only line ends (classic Mac OS) are read like any others.
    let cr = calendar(&[event("cr1", "SUMMARY:cr only\r\n")]).replace("\r\n", "\r");
    let f = env.file("cr.ics", cr.as_bytes());
    let run = env.run(&["import", "--strict", "--user", PAUL, &f]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("imported 1 object"),
        "{}",
        run.stdout
    );
    let shown = env
        .run(&["event", "show", "--user", PAUL, "--uid", "cr1"])
        .ok()
        .to_owned();
    assert!(shown.contains("SUMMARY:cr only"), "{shown}");
}

/// Issue 11, item 8: `MAILTO:paul@…` and `mailto:paul@EXAMPLE…` are one user, stored and
/// printed as `mailto:paul@example…`; a local part in capitals is another user.
#[test]
fn calendar_addresses_in_one_spelling() {
    let env = Env::new();
    let f = env.file("s1.ics", S1.as_bytes());
    let run = env.run(&["import", "--user", "MAILTO:Room@EXAMPLE.com", &f]);
    assert!(
        run.ok().contains("for mailto:Room@example.com:"),
        "{}",
        run.stdout
    );
    env.run(&["import", "--user", "mailto:Room@Example.COM", &f])
        .ok();
    let users: Value = serde_json::from_str(env.run(&["users", "--format", "json"]).ok()).unwrap();
    assert_eq!(users, serde_json::json!(["mailto:Room@example.com"]));
    let periods: Value = serde_json::from_str(
        env.run(&[
            "freebusy",
            "--user",
            "Mailto:Room@example.com",
            "--format",
            "json",
        ])
        .ok(),
    )
    .unwrap();
    assert_eq!(periods.as_array().map(Vec::len), Some(1));
    assert_eq!(
        env.run(&["freebusy", "--user", "mailto:room@example.com"])
            .fails(1),
        "calstore: error: unknown user mailto:room@example.com"
    );
    env.run(&[
        "quota",
        "delegates",
        "--quota",
        "rooms",
        "--set",
        "MAILTO:Paul@EXAMPLE.com",
    ])
    .ok();
    let delegates: Value = serde_json::from_str(
        env.run(&["quota", "delegates", "--quota", "rooms", "--format", "json"])
            .ok(),
    )
    .unwrap();
    assert_eq!(delegates, serde_json::json!(["mailto:Paul@example.com"]));
}

/// A daily event since 1970: the past is bounded a year before now by default
/// (`CALSTORE_NOW` is 2026-11-22), or where `--expand-from` says; `freebusy-extend` keeps
/// the bound.
#[test]
fn expand_from_bounds_the_past() {
    let env = Env::new();
    let daily = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:daily1970@example.com\r\n\
                 DTSTART:19700101T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n\
                 END:VEVENT\r\nEND:VCALENDAR\r\n";
    let f = env.file("daily.ics", daily.as_bytes());
    let first = |v: &Value| v[0]["start"].as_str().map(str::to_owned);
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    let run = env.run(&["import", "--user", PAUL, "--expand-until", "20270101", &f]);
    assert!(
        run.ok()
            .contains("(window 20251122T000000Z to 20270101T000000Z)"),
        "{}",
        run.stdout
    );
    let fb = env.freebusy_json(PAUL);
    assert_eq!(first(&fb).as_deref(), Some("20251122T090000Z"));
    assert_eq!(count(&fb), 405);
    // An explicit bound.
    env.run(&[
        "import",
        "--user",
        PAUL,
        "--expand-until",
        "20270101",
        "--expand-from",
        "20260101",
        &f,
    ])
    .ok();
    let fb = env.freebusy_json(PAUL);
    assert_eq!(first(&fb).as_deref(), Some("20260101T090000Z"));
    assert_eq!(count(&fb), 365);
    // Extending recomputes with the bound: by default a year before now again.
    let run = env.run(&["freebusy-extend", "--user", PAUL, "--until", "20270201"]);
    assert!(run.ok().contains("extended 1 provider"), "{}", run.stdout);
    let fb = env.freebusy_json(PAUL);
    assert_eq!(first(&fb).as_deref(), Some("20251122T090000Z"));
    env.run(&[
        "freebusy-extend",
        "--user",
        PAUL,
        "--until",
        "20270201",
        "--expand-from",
        "20270101",
    ])
    .ok();
    let fb = env.freebusy_json(PAUL);
    assert_eq!(first(&fb).as_deref(), Some("20270101T090000Z"));
    assert_eq!(count(&fb), 31);
    // A bound at or after the window end is a usage error; nothing changes.
    let run = env.run(&[
        "import",
        "--user",
        PAUL,
        "--expand-until",
        "20270101",
        "--expand-from",
        "20270101",
        &f,
    ]);
    assert!(run.fails(2).contains("--expand-from"));
    assert_eq!(count(&env.freebusy_json(PAUL)), 31);
}

/// Quota decisions: exit 0 when accepted, 3 when declined, the decision in JSON on request
/// (the JS API's shape plus `quota`, and `recorded` for a reservation); the quota's lists in
/// JSON too.
#[test]
fn quota_decisions_exit_3_when_declined_and_print_json() {
    let env = Env::new();
    let q = ["--quota", "cars"];
    env.run(&[&["quota", "limits"][..], &q, &["--set", "*=PT1H"]].concat())
        .ok();
    let booking = |cmd: &str, end: &str, format: &str| {
        env.run(
            &[
                &["quota", cmd][..],
                &q,
                &[
                    "--organiser",
                    PAUL,
                    "--start",
                    "20261124T090000Z",
                    "--end",
                    end,
                ],
                &["--format", format],
            ]
            .concat(),
        )
    };
    let declined = booking("check", "20261124T110000Z", "json");
    let v: Value = serde_json::from_str(declined.declined()).unwrap();
    assert_eq!(
        v,
        json!({
            "decision": "DECLINED",
            "reason": "Exceeded",
            "message": "The event period exceeds your quota allocation for the recipient.",
            "quota": "cars",
            "group": PAUL,
            "requested": 7200,
            "usage": 0,
            "limit": 3600,
        })
    );
    assert!(
        booking("check", "20261124T110000Z", "table")
            .declined()
            .starts_with("DECLINED")
    );
    let declined = booking("reserve", "20261124T110000Z", "json");
    let v: Value = serde_json::from_str(declined.declined()).unwrap();
    assert_eq!(v["recorded"], Value::Null);
    let accepted = booking("reserve", "20261124T093000Z", "json").json();
    assert_eq!(accepted["decision"], "ACCEPTED");
    assert_eq!(accepted["reason"], Value::Null);
    assert_eq!(accepted["requested"], 1800);
    assert_eq!(
        accepted["recorded"],
        json!({"attendee": "cars", "entries": 1})
    );
    assert_eq!(
        booking("check", "20261124T093000Z", "json").json()["decision"],
        "ACCEPTED"
    );
    // The lists.
    assert_eq!(
        env.run(&[&["quota", "limits"][..], &q, &["--format", "json"]].concat())
            .json(),
        json!([{"group": "*", "limit": "PT1H"}])
    );
    env.run(
        &[
            &["quota", "groups"][..],
            &q,
            &["--set", &format!("{PAUL}=devs")],
        ]
        .concat(),
    )
    .ok();
    assert_eq!(
        env.run(&[&["quota", "groups"][..], &q, &["--format", "json"]].concat())
            .json(),
        json!([{"user": PAUL, "group": "devs"}])
    );
    env.run(&[&["quota", "delegates"][..], &q, &["--set", ROOM]].concat())
        .ok();
    assert_eq!(
        env.run(&[&["quota", "delegates"][..], &q, &["--format", "json"]].concat())
            .json(),
        json!([ROOM])
    );
    assert_eq!(
        env.run(&[&["quota", "entries"][..], &q, &["--format", "json"]].concat())
            .json(),
        json!([PAUL])
    );
}

/// A meeting on Monday 23 November 2026, 09:00–10:00 Oslo time (08:00–09:00 UTC).
const MONDAY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:monday@example.com\r\n\
DTSTAMP:20261101T000000Z\r\nDTSTART;TZID=Europe/Oslo:20261123T090000\r\n\
DTEND;TZID=Europe/Oslo:20261123T100000\r\nSUMMARY:Monday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// Times as people type them: ISO 8601 with or without an offset (local times in --tz),
/// `now`, `today` and `±N(d|h|w)`, beside the stored UTC forms.
#[test]
fn times_people_type() {
    let env = Env::new();
    let f = env.file("monday.ics", MONDAY.as_bytes());
    env.run(&["import", "--user", ROOM, "--expand-until", "+30d", &f])
        .ok();
    let count = |args: &[&str]| {
        let v = env
            .run(&[&["freebusy", "--user", ROOM, "--format", "json"][..], args].concat())
            .json();
        v.as_array().map_or(0, Vec::len)
    };
    // The clock is 20261122T000000Z.
    assert_eq!(count(&["--from", "today", "--to", "+2d"]), 1);
    assert_eq!(count(&["--from", "now", "--to", "+1d"]), 0);
    assert_eq!(count(&["--from", "+1w", "--to", "+2w"]), 0);
    // 09:30 in Oslo is 08:30 UTC: the meeting (until 09:00 UTC) ends after it.
    let oslo = ["--tz", "Europe/Oslo"];
    assert_eq!(
        count(&[&["--from", "2026-11-23T09:30"][..], &oslo].concat()),
        1
    );
    assert_eq!(
        count(&["--from", "2026-11-23T09:30"]),
        0,
        "UTC without --tz"
    );
    assert_eq!(
        count(&[&["--from", "2026-11-23T10:00"][..], &oslo].concat()),
        0
    );
    assert_eq!(count(&["--from", "2026-11-23T09:30:00+01:00"]), 1);
    assert_eq!(count(&["--from", "2026-11-23T08:59:00Z"]), 1);
    assert_eq!(count(&["--to", "2026-11-23"]), 0);
    assert_eq!(
        count(&["--from", "20261123T085900Z", "--to", "20261124"]),
        1
    );
    let bad = env.run(&["freebusy", "--user", ROOM, "--from", "tomorrow"]);
    let line = bad.fails(2);
    assert!(
        line.contains("\"tomorrow\"") && line.contains("ISO 8601"),
        "{line}"
    );
}

/// A mistyped --db on a command that only reads fails naming the file and creates nothing
/// (on main it created a 221 KB database and failed with "unknown user").
#[test]
fn read_only_commands_never_create_a_database() {
    let env = Env::new();
    let typo = env.path("typo.db");
    let db = format!("sqlite:{}", typo.display());
    for args in [
        vec!["freebusy", "--user", ROOM],
        vec!["events", "--user", ROOM],
        vec!["event", "show", "--user", ROOM, "--uid", "x"],
        vec!["requests", "list", "--user", ROOM],
        vec!["counters", "--user", ROOM, "--uid", "x"],
        vec!["offers", "--user", ROOM],
        vec!["providers", "--user", ROOM],
        vec!["freebusy-other", "--user", ROOM],
        vec!["quota", "limits", "--quota", "cars"],
        vec!["quota", "entries", "--quota", "cars"],
        vec![
            "quota",
            "check",
            "--quota",
            "cars",
            "--organiser",
            PAUL,
            "--start",
            "now",
            "--end",
            "+1h",
        ],
        vec!["prefs", "--user", ROOM],
        vec!["mail", "list"],
        vec!["users"],
        vec!["quotas"],
        vec!["export", "--user", ROOM],
    ] {
        let run = env.run_bare(&[&["--db", db.as_str()][..], &args].concat());
        let line = run.fails(1);
        assert!(
            line.contains("no database at") && line.contains("typo.db"),
            "{args:?}: {line}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
}

/// An event in a zone defined by its own VTIMEZONE (an Outlook-style name).
const CUSTOM_ZONE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\n\
TZID:(UTC+01:00) Amsterdam Berlin\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n\
END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:custom@example.com\r\nDTSTAMP:20141001T000000Z\r\n\
DTSTART;TZID=\"(UTC+01:00) Amsterdam Berlin\":20141008T090000\r\n\
DTEND;TZID=\"(UTC+01:00) Amsterdam Berlin\":20141008T100000\r\nSUMMARY:Custom zone\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";

/// Listings in JSON (the JS API's shapes), `users`, `quotas`, and `export`, whose calendar
/// `import` reads back to the same store state.
#[test]
fn listings_in_json_and_export_round_trip() {
    let env = Env::new();
    env.import_s1().ok();
    let w = env.file("weekly.ics", WEEKLY.as_bytes());
    let c = env.file("custom.ics", CUSTOM_ZONE.as_bytes());
    env.run(&[
        "import",
        "--user",
        ROOM,
        "--expand-until",
        "20150101",
        &w,
        &c,
    ])
    .ok();
    env.run(&["quota", "limits", "--quota", "cars", "--set", "*=PT1H"])
        .ok();
    env.run(&[
        "requests",
        "queue",
        "--user",
        ROOM,
        "--uid",
        "event1@example.com",
    ])
    .ok();
    assert_eq!(env.run(&["users"]).ok(), format!("{ROOM}\n"));
    assert_eq!(
        env.run(&["users", "--format", "json"]).json(),
        json!([ROOM])
    );
    assert_eq!(
        env.run(&["quotas", "--format", "json"]).json(),
        json!(["cars"])
    );
    let events = env
        .run(&["events", "--user", ROOM, "--format", "json"])
        .json();
    assert_eq!(events.as_array().map(Vec::len), Some(4), "{events}");
    assert_eq!(
        events[1],
        json!({
            "uid": "event1@example.com", "rid": null, "summary": "Meeting at 4pm",
            "organiser": PAUL, "sequence": 0,
            "start": "20141010T140000Z", "end": "20141010T150000Z",
        })
    );
    assert_eq!(events[3]["rid"], "20141013T100000Z");
    assert_eq!(events[3]["start"], "20141014T120000Z");
    assert_eq!(
        env.run(&["requests", "list", "--user", ROOM, "--format", "json"])
            .json(),
        json!([{"uid": "event1@example.com", "rid": null, "kind": null}])
    );
    assert_eq!(
        env.run(&["providers", "--user", ROOM, "--format", "json"])
            .json(),
        Value::Null
    );
    let shown = env
        .run(&[
            "event",
            "show",
            "--user",
            ROOM,
            "--uid",
            "event1@example.com",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(shown["status"], "active");
    assert!(
        shown["text"]
            .as_str()
            .unwrap()
            .starts_with("BEGIN:VEVENT\r\n")
    );
    let ics = env
        .run(&[
            "event",
            "show",
            "--user",
            ROOM,
            "--uid",
            "custom@example.com",
            "--format",
            "ics",
        ])
        .ok()
        .to_owned();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{ics}"
    );
    assert!(
        ics.contains("BEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam"),
        "{ics}"
    );

    // Export, then import into another database: the same objects and free/busy.
    let all = env.run(&["export", "--user", ROOM]).ok().to_owned();
    assert!(all.starts_with("BEGIN:VCALENDAR\r\n") && all.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(all.matches("BEGIN:VEVENT").count(), 4, "{all}");
    // One VTIMEZONE per TZID used (RFC 5545): the custom zone as received, Europe/Oslo from
    // the time zone database.
    assert_eq!(all.matches("\r\nBEGIN:VTIMEZONE\r\n").count(), 2, "{all}");
    assert!(
        all.contains("BEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam")
            && all.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Oslo\r\n"),
        "{all}"
    );
    let file = env.file("export.ics", all.as_bytes());
    let other = format!("sqlite:{}", env.path("copy.db").display());
    let on_other = |args: &[&str]| env.run_bare(&[&["--db", other.as_str()][..], args].concat());
    on_other(&[
        "import",
        "--user",
        ROOM,
        "--expand-until",
        "20150101",
        &file,
    ])
    .ok();
    assert_eq!(
        on_other(&["events", "--user", ROOM, "--format", "json"]).json(),
        events
    );
    assert_eq!(
        on_other(&["freebusy", "--user", ROOM, "--format", "json"]).json(),
        env.freebusy_json(ROOM)
    );
    for (uid, rid) in [
        ("event1@example.com", None),
        ("custom@example.com", None),
        ("weekly@example.com", None),
        ("weekly@example.com", Some("20141013T100000Z")),
    ] {
        let mut args = vec!["event", "show", "--user", ROOM, "--uid", uid];
        if let Some(rid) = rid {
            args.extend(["--rid", rid]);
        }
        assert_eq!(on_other(&args).ok(), env.run(&args).ok(), "{uid} {rid:?}");
    }
    // Exported again from the copy: the same file.
    assert_eq!(on_other(&["export", "--user", ROOM]).ok(), all);
    // One event; a range; to a file.
    let one = env
        .run(&["export", "--user", ROOM, "--uid", "weekly@example.com"])
        .ok()
        .to_owned();
    assert_eq!(one.matches("BEGIN:VEVENT").count(), 2, "{one}");
    let ranged = env
        .run(&[
            "export",
            "--user",
            ROOM,
            "--from",
            "2014-10-10",
            "--to",
            "2014-10-11",
        ])
        .ok()
        .to_owned();
    assert_eq!(ranged.matches("BEGIN:VEVENT").count(), 1, "{ranged}");
    assert!(ranged.contains("UID:event1@example.com"), "{ranged}");
    let out = env.path("out.ics");
    env.run(&["export", "--user", ROOM, "-o", out.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), all);
    assert!(
        env.run(&["export", "--user", ROOM, "--uid", "nope"])
            .fails(1)
            .contains("no active event nope")
    );
}

fn open_ended(uid: &str, rule: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
DTSTAMP:20261101T000000Z\r\nDTSTART:20261123T080000Z\r\nDTEND:20261123T081500Z\r\n\
RRULE:{rule}\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The daily job never stalls on one event: an event accepted at import that later exceeds
/// the instance cap is reported (user, UID, reason) on stderr, every other provider of
/// every user is extended, the exit status is 1 only at the end, and `--max-instances`
/// lets the event through.
#[test]
fn freebusy_extend_reports_each_failure_and_extends_the_rest() {
    let env = Env::new();
    let (a, b) = ("mailto:a@example.com", "mailto:b@example.com");
    let hourly = env.file(
        "hourly.ics",
        open_ended("hourly@example.com", "FREQ=HOURLY").as_bytes(),
    );
    let weekly = env.file(
        "weekly.ics",
        open_ended("weekly@example.com", "FREQ=WEEKLY").as_bytes(),
    );
    for (user, files) in [(a, vec![&hourly, &weekly]), (b, vec![&weekly])] {
        let mut args = vec![
            "import",
            "--user",
            user,
            "--expand-until",
            "20261201",
            "--max-instances",
            "1000",
        ];
        args.extend(files.iter().map(|f| f.as_str()));
        env.run(&args).ok();
    }
    let weeks = |user: &str| {
        env.run(&["freebusy", "--user", user, "--format", "json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["uid"] == "weekly@example.com")
            .count()
    };
    assert_eq!((weeks(a), weeks(b)), (2, 2));
    let run = env.run(&[
        "freebusy-extend",
        "--expand-until",
        "20270201",
        "--max-instances",
        "1000",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with(&format!("calstore: freebusy-extend: user {a}, event hourly@example.com: more than 1000 instances")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("calstore: error: freebusy-extend: 1 event and 0 users"),
        "{}",
        lines[1]
    );
    assert_eq!(
        run.stdout,
        format!(
            "{a}: extended 1 provider up to 20261201T000000Z; 1 provider not extended (on standard error)\n\
             {b}: extended 1 provider up to 20270201T000000Z\n"
        )
    );
    // Both users' weekly events reach February; the hourly one is as it was.
    assert_eq!((weeks(a), weeks(b)), (10, 10));
    // The old spelling still works; a higher cap lets the event through.
    let run = env.run(&[
        "freebusy-extend",
        "--until",
        "20270201",
        "--max-instances",
        "5000",
    ]);
    assert_eq!(
        run.ok(),
        format!(
            "{a}: extended 2 providers up to 20270201T000000Z\n\
             {b}: extended 1 provider up to 20270201T000000Z\n"
        )
    );
}

/// One name per concept (issue 11): `quota delegates --set` adds and `--replace` replaces, as
/// for limits and groups (`--clear` is the old spelling of `--replace` alone); `--organizer`
/// as iCalendar spells it (`--organiser` kept); help that is true about `--db`.
#[test]
fn one_name_per_concept() {
    let env = Env::new();
    let q = ["--quota", "cars"];
    env.run(&[&["quota", "limits"][..], &q, &["--set", "*=PT1H"]].concat())
        .ok();
    let delegates = |extra: &[&str]| env.run(&[&["quota", "delegates"][..], &q, extra].concat());
    assert_eq!(delegates(&["--set", ROOM]).ok(), format!("{ROOM}\n"));
    assert_eq!(
        delegates(&["--set", PAUL]).ok(),
        format!("{PAUL}\n{ROOM}\n"),
        "--set adds (listed sorted)"
    );
    assert_eq!(
        delegates(&["--set", PAUL, "--replace"]).ok(),
        format!("{PAUL}\n"),
        "--replace replaces"
    );
    assert_eq!(delegates(&["--clear"]).ok(), "", "the old spelling");
    assert_eq!(delegates(&["--set", ROOM]).ok(), format!("{ROOM}\n"));
    assert_eq!(delegates(&["--replace"]).ok(), "");

    for spelling in ["--organizer", "--organiser"] {
        let text = env
            .run(
                &[
                    &["quota", "check"][..],
                    &q,
                    &[
                        spelling,
                        PAUL,
                        "--start",
                        "20261124T090000Z",
                        "--end",
                        "20261124T094500Z",
                    ],
                ]
                .concat(),
            )
            .ok()
            .to_owned();
        assert!(text.starts_with("ACCEPTED\n"), "{spelling}: {text}");
    }
    let missing = env.run(
        &[
            &["quota", "check"][..],
            &q,
            &["--start", "20261124T090000Z", "--end", "20261124T094500Z"],
        ]
        .concat(),
    );
    assert!(missing.fails(2).contains("--organizer is required"));

    let help = env.run_bare(&["demo", "--help"]).ok().to_owned();
    assert!(help.contains("`demo`: sqlite:calstore-demo.db"), "{help}");
    let help = env.run_bare(&["copy", "--help"]).ok().to_owned();
    assert!(
        help.contains("--source <URL>") && help.contains("--target <URL>"),
        "{help}"
    );
    assert!(help.contains("--db does not apply"), "{help}");
    let help = env.run_bare(&["event", "remove", "--help"]).ok().to_owned();
    assert!(help.contains("The window options matter"), "{help}");
}

/// Issue 11, item 3: a large import commits in bounded pieces (200 UIDs each, so that other
/// writers wait for one piece at most), but bad input found in its last piece still writes
/// nothing, and importing the same file again writes nothing either.
#[test]
fn import_in_pieces_checks_everything_before_writing() {
    let env = Env::new();
    let event = |uid: &str, extra: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n\
             DTSTART:20261201T100000Z\r\nDTEND:20261201T100100Z\r\n{extra}END:VEVENT\r\n"
        )
    };
    let mut events: Vec<String> = (0..450).map(|i| event(&format!("e{i:03}"), "")).collect();
    let good = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}END:VCALENDAR\r\n",
        events.concat()
    );
    // The UID sorts last: its piece would be the third.
    events.push(event("zz-cap", "RRULE:FREQ=MINUTELY;INTERVAL=2\r\n"));
    let bad = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}END:VCALENDAR\r\n",
        events.concat()
    );
    let bad = env.file("bad.ics", bad.as_bytes());
    let line = env
        .run(&["import", "--user", ROOM, "--max-instances", "1000", &bad])
        .fails(1)
        .to_owned();
    assert!(
        line.contains("(UID \"zz-cap\"): more than 1000 instances"),
        "{line}"
    );
    assert_eq!(
        env.run(&["freebusy", "--user", ROOM]).fails(1),
        format!("calstore: error: unknown user {ROOM}")
    );
    let good = env.file("good.ics", good.as_bytes());
    let out = env.run(&["import", "--user", ROOM, &good]).ok().to_owned();
    assert!(
        out.starts_with(&format!(
            "imported 450 objects (450 parents, 0 recurrences) for {ROOM}: 450 free/busy periods"
        )),
        "{out}"
    );
    let revision = || -> i64 {
        let db = rusqlite::Connection::open(env.path("t.db")).unwrap();
        db.query_row(
            "SELECT revision FROM calstore_revisions WHERE scope = 'store' AND owner = ?1",
            [ROOM],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(revision(), 3, "three pieces, each its own transaction");
    env.run(&["import", "--user", ROOM, &good]).ok();
    assert_eq!(revision(), 3, "the same file again writes nothing");
    assert_eq!(
        env.run(&["freebusy", "--user", ROOM, "--format", "json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(450)
    );
}

/// Issue 11, item 3: an import killed half way (SIGKILL, as a crash) leaves whole pieces, the
/// first ones in UID order; the same import run again finishes it, with the objects, periods
/// and change journal of an import that was never interrupted, and one revision per piece in
/// all (the pieces written before the crash change nothing the second time).
#[test]
fn import_killed_half_way_finishes_when_run_again() {
    const EVENTS: usize = 8000;
    const PIECES: i64 = 40;
    let env = Env::new();
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n");
    for i in 0..EVENTS {
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:e{i:04}\r\nDTSTAMP:20261101T000000Z\r\n\
             DTSTART:20261201T{:02}{:02}00Z\r\nDURATION:PT1M\r\nSUMMARY:Event {i}\r\n\
             END:VEVENT\r\n",
            i / 60 % 24,
            i % 60
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    let file = env.file("big.ics", ics.as_bytes());
    let db = env.path("t.db");
    // The committed revision of the user (a piece that changed something is one), or None
    // while the database or its tables do not exist yet.
    let revision = |db: &Path| -> Option<i64> {
        let c =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        c.query_row(
            "SELECT revision FROM calstore_revisions WHERE scope = 'store' AND owner = ?1",
            [ROOM],
            |r| r.get(0),
        )
        .ok()
    };
    let mut child = env
        .command(&["import", "--user", ROOM, &file], true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn calstore");
    let started = std::time::Instant::now();
    loop {
        if revision(&db).is_some_and(|r| r >= 2) {
            child.kill().expect("kill calstore");
            break;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the import finished before it could be killed"
        );
        assert!(started.elapsed().as_secs() < 120, "no piece committed");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.wait().expect("wait");
    let written = revision(&db).expect("a revision");
    assert!((2..PIECES).contains(&written), "{written} pieces");
    // Whole pieces, the first ones: 200 UIDs each, in UID order.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let uids: Vec<String> = c
            .prepare("SELECT object_uid FROM objects ORDER BY object_uid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<String> = (0..usize::try_from(written).unwrap() * 200)
            .map(|i| format!("e{i:04}"))
            .collect();
        assert_eq!(uids, want);
        let periods: i64 = c
            .query_row("SELECT count(*) FROM freebusy", [], |r| r.get(0))
            .unwrap();
        assert_eq!(periods, written * 200);
    }
    // Again: finishes the job.
    env.run(&["import", "--user", ROOM, &file]).ok();
    assert_eq!(revision(&db), Some(PIECES), "one revision per piece in all");
    // The same as an import never interrupted, into another database.
    let clean = env.path("clean.db");
    let clean_url = format!("sqlite:{}", clean.display());
    let run = env.run_bare(&["--db", &clean_url, "import", "--user", ROOM, &file]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let dump = |db: &Path| -> Vec<String> {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut out = Vec::new();
        for sql in [
            "SELECT object_uid || ' ' || object_text || ' ' || status FROM objects",
            "SELECT \"start\" || \"end\" || object_uid || coalesce(summary, '') FROM freebusy",
            "SELECT table_name || ' ' || row_key || ' ' || operation FROM calstore_changes",
        ] {
            let mut rows: Vec<String> = c
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            out.extend(rows);
        }
        out
    };
    assert_eq!(dump(&db), dump(&clean));
    assert_eq!(revision(&clean), Some(PIECES));
}
