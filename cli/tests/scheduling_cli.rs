//! The verified acceptance scenarios of §6.2 (imip-agent reconstruction) through the
//! `calstore` binary: `prefs`, `quota`, `receive` and `send`, checked with the inspection
//! commands, on SQLite and on PostgreSQL (`CALSTORE_TEST_PG_URL`, module `postgres`; each
//! test in a schema of its own). The clock is fixed at the scenarios' "now"
//! (`CALSTORE_NOW=20141009T000000Z`).
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tempfile::TempDir;

const ROOM: &str = "mailto:resource-room-confroom@example.com";
const SAUNA: &str = "mailto:resource-room-sauna@example.com";
const PORSCHE: &str = "mailto:resource-car-porsche911@example.com";
const FIAT: &str = "mailto:resource-car-fiat500@example.com";
const PAUL: &str = "mailto:paul.boddie@example.com";
const VINCENT: &str = "mailto:vincent.vole@example.com";
const HARVEY: &str = "mailto:harvey.horse@example.com";
const AGENT: &str = "mailto:calendar@example.com";
const NOW: &str = "20141009T000000Z";

/// A database for one test and the commands run on it.
struct Env {
    dir: TempDir,
    db: String,
    now: std::cell::RefCell<String>,
    #[allow(dead_code)]
    pg: Option<pg::Schema>,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

impl Env {
    fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("t.db").display());
        Env {
            dir,
            db,
            now: std::cell::RefCell::new(NOW.to_owned()),
            pg: None,
        }
    }

    fn postgres() -> Env {
        let schema = pg::Schema::new();
        Env {
            dir: tempfile::tempdir().unwrap(),
            db: schema.url(),
            now: std::cell::RefCell::new(NOW.to_owned()),
            pg: Some(schema),
        }
    }

    fn set_now(&self, now: &str) {
        *self.now.borrow_mut() = now.to_owned();
    }

    fn run_with(&self, args: &[&str], input: Option<&[u8]>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
        cmd.current_dir(self.dir.path())
            .env("CALSTORE_NOW", self.now.borrow().as_str())
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or_default()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None)
    }

    fn prefs(&self, user: &str, pairs: &[(&str, &str)]) {
        for (k, v) in pairs {
            self.run(&["prefs", "set", "--user", user, k, v]).ok();
        }
    }

    /// `receive --format json` of `message` for `user`.
    fn receive(&self, user: &str, message: &str) -> Value {
        self.run_with(
            &[
                "receive",
                "--user",
                user,
                "--format",
                "json",
                "--sent-by",
                AGENT,
                "-",
            ],
            Some(message.as_bytes()),
        )
        .json()
    }

    fn send(&self, user: &str, message: &str) -> Value {
        self.run_with(
            &["send", "--user", user, "--format", "json", "-"],
            Some(message.as_bytes()),
        )
        .json()
    }

    /// The user's free/busy as imip-agent's file lines (start end uid transp rid "summary"
    /// organiser, `-` for none).
    fn fb(&self, user: &str) -> Vec<String> {
        rows(
            &self
                .run(&["freebusy", "--user", user, "--format", "json"])
                .json(),
        )
    }

    fn events(&self, user: &str, cancelled: bool) -> Vec<String> {
        let mut args = vec!["events", "--user", user];
        if cancelled {
            args.push("--cancelled");
        }
        self.run(&args)
            .ok()
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>().join(" "))
            .collect()
    }

    fn show(&self, user: &str, uid: &str, rid: Option<&str>, cancelled: bool) -> String {
        let mut args = vec!["event", "show", "--user", user, "--uid", uid];
        if let Some(r) = rid {
            args.extend(["--rid", r]);
        }
        if cancelled {
            args.push("--cancelled");
        }
        self.run(&args).ok().replace("\r\n ", "")
    }

    fn requests(&self, user: &str) -> Vec<String> {
        self.run(&["requests", "list", "--user", user])
            .ok()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Period objects as file lines.
fn rows(v: &Value) -> Vec<String> {
    let s = |k: &str, p: &Value| p[k].as_str().unwrap_or("-").to_owned();
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut line = format!(
                "{} {} {} {} {} \"{}\" {}",
                s("start", p),
                s("end", p),
                s("uid", p),
                s("transp", p),
                s("recurrenceid", p),
                s("summary", p),
                s("organiser", p)
            );
            for extra in ["expires", "attendee"] {
                if let Some(e) = p.get(extra) {
                    line.push(' ');
                    line.push_str(e.as_str().unwrap_or("-"));
                }
            }
            line
        })
        .collect()
}

/// An iTIP message of one VEVENT.
fn itip(method: &str, lines: &[&str]) -> String {
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//imip-agent tests//EN\r\nMETHOD:{method}\r\n\
         BEGIN:VEVENT\r\n"
    );
    for l in lines {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    out
}

/// A request from `organiser` to `resource` (imip-agent's test templates).
fn request(
    uid: &str,
    organiser: &str,
    resource: &str,
    summary: &str,
    times: &[&str],
) -> Vec<String> {
    let mut v = vec![
        format!("UID:{uid}"),
        "DTSTAMP:20141009T000000Z".to_owned(),
        format!("ORGANIZER:{organiser}"),
        format!("ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED:{organiser}"),
        format!("ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{resource}"),
        format!("SUMMARY:{summary}"),
    ];
    v.extend(times.iter().map(|t| (*t).to_owned()));
    v
}

fn msg(method: &str, lines: &[String]) -> String {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    itip(method, &refs)
}

fn with(mut lines: Vec<String>, extra: &[&str]) -> Vec<String> {
    for e in extra {
        let name = e.split([':', ';']).next().unwrap_or_default();
        lines.retain(|l| !l.starts_with(&format!("{name}:")) || name == "ATTENDEE");
        lines.push((*e).to_owned());
    }
    lines
}

fn oslo(d: &str, h: &str) -> String {
    format!("DTSTART;TZID=Europe/Oslo:2014{d}T{h}")
}

fn oslo_end(d: &str, h: &str) -> String {
    format!("DTEND;TZID=Europe/Oslo:2014{d}T{h}")
}

const S1_ROW: &str = "20141010T140000Z 20141010T150000Z event1@example.com OPAQUE - \
                      \"Meeting at 4pm\" mailto:paul.boddie@example.com";
const S3_ROW: &str = "20141010T080000Z 20141010T090000Z event3@example.com OPAQUE - \
                      \"Meeting at 10am UTC\" mailto:paul.boddie@example.com";

fn s1_request() -> Vec<String> {
    request(
        "event1@example.com",
        PAUL,
        ROOM,
        "Meeting at 4pm",
        &[&oslo("1010", "160000"), &oslo_end("1010", "170000")],
    )
}

fn room(env: &Env) {
    env.prefs(
        ROOM,
        &[
            ("scheduling_function", "schedule_in_freebusy"),
            ("TZID", "Europe/Oslo"),
        ],
    );
}

/// The reply's ATTENDEE line, unfolded.
fn attendee_line(reply: &str) -> String {
    let unfolded = reply.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded
        .lines()
        .filter(|l| l.starts_with("ATTENDEE"))
        .collect();
    assert_eq!(lines.len(), 1, "{unfolded}");
    lines[0].to_owned()
}

/// S1–S4: booking, conflict, free slot, cancel.
fn s1_to_s4(env: &Env) {
    room(env);
    // S1
    let out = env.receive(ROOM, &msg("REQUEST", &s1_request()));
    assert_eq!(out["outcome"], "accepted");
    assert_eq!(out["method"], "REQUEST");
    assert_eq!(out["uid"], "event1@example.com");
    assert_eq!(out["rid"], Value::Null);
    let reply = out["reply"].as_str().unwrap();
    assert!(reply.contains("METHOD:REPLY\r\n"));
    assert!(reply.contains("DTSTAMP:20141009T000000Z\r\n"));
    assert_eq!(
        attendee_line(reply),
        format!("ATTENDEE;PARTSTAT=ACCEPTED;SENT-BY=\"{AGENT}\":{ROOM}")
    );
    assert_eq!(out["responses"][0]["to"], json!([PAUL]));
    assert_eq!(
        out["queued"].as_array().unwrap().len(),
        1,
        "paul is not local"
    );
    assert!(
        env.show(ROOM, "event1@example.com", None, false)
            .contains(&format!("PARTSTAT=ACCEPTED;SENT-BY=\"{AGENT}\":{ROOM}"))
    );
    assert_eq!(env.fb(ROOM), [S1_ROW]);
    // S2
    let s2 = request(
        "event2@example.com",
        VINCENT,
        ROOM,
        "Meeting at 4:30pm",
        &[&oslo("1010", "163000"), &oslo_end("1010", "173000")],
    );
    let out = env.receive(ROOM, &msg("REQUEST", &s2));
    assert_eq!(out["outcome"], "declined");
    assert_eq!(
        out["reason"],
        "The recipient is unavailable in the requested period."
    );
    assert!(attendee_line(out["reply"].as_str().unwrap()).contains("PARTSTAT=DECLINED"));
    assert_eq!(out["responses"][0]["to"], json!([VINCENT]));
    assert!(
        env.show(ROOM, "event2@example.com", None, false)
            .contains("PARTSTAT=DECLINED")
    );
    assert_eq!(env.fb(ROOM), [S1_ROW]);
    // S3
    let s3 = request(
        "event3@example.com",
        PAUL,
        ROOM,
        "Meeting at 10am UTC",
        &["DTSTART:20141010T080000Z", "DTEND:20141010T090000Z"],
    );
    assert_eq!(
        env.receive(ROOM, &msg("REQUEST", &s3))["outcome"],
        "accepted"
    );
    assert_eq!(env.fb(ROOM), [S3_ROW, S1_ROW]);
    // S4: CANCEL, no answer.
    let cancel = with(s1_request(), &["SEQUENCE:1"]);
    let out = env.receive(ROOM, &msg("CANCEL", &cancel));
    assert_eq!(out["outcome"], "cancelled");
    assert_eq!(out["reply"], Value::Null);
    assert_eq!(env.events(ROOM, true), ["event1@example.com"]);
    assert_eq!(
        env.events(ROOM, false),
        ["event2@example.com", "event3@example.com"]
    );
    assert_eq!(env.fb(ROOM), [S3_ROW]);
    // Text output: the reply alone; a repeated message is ignored, exit 0, no output.
    let run = env.run_with(
        &["receive", "--user", ROOM],
        Some(msg("REQUEST", &s3).as_bytes()),
    );
    assert_eq!(run.ok(), "");
    // A message that cannot be processed: exit 1, nothing written.
    let before = env.fb(ROOM);
    let bad = env.run_with(
        &["receive", "--user", ROOM],
        Some(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
    );
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(bad.stderr.starts_with("calstore: error: "));
    assert_eq!(env.fb(ROOM), before);
}

fn weekly(d: &str, summary: &str, rid: Option<&str>) -> String {
    format!(
        "2014{d}T140000Z 2014{d}T150000Z event4@example.com OPAQUE {} \"{summary}\" {PAUL}",
        rid.unwrap_or("-")
    )
}

const MOVED: &str = "20141017T160000Z 20141017T170000Z event4@example.com OPAQUE \
                     20141017T140000Z \"Weekly meeting (moved)\" mailto:paul.boddie@example.com";

fn s5_request(seq: &str) -> Vec<String> {
    with(
        request(
            "event4@example.com",
            PAUL,
            ROOM,
            "Weekly meeting",
            &[
                &oslo("1010", "160000"),
                &oslo_end("1010", "170000"),
                "RRULE:FREQ=WEEKLY;COUNT=3",
            ],
        ),
        &[seq],
    )
}

/// S5–S8: bounded recurrence, moved occurrence, cancelled occurrence, parent re-sent.
fn s5_to_s8(env: &Env) {
    room(env);
    assert_eq!(
        env.receive(ROOM, &msg("REQUEST", &s5_request("SEQUENCE:0")))["outcome"],
        "accepted"
    );
    let three = [
        weekly("1010", "Weekly meeting", None),
        weekly("1017", "Weekly meeting", None),
        weekly("1024", "Weekly meeting", None),
    ];
    assert_eq!(env.fb(ROOM), three);
    assert_eq!(
        env.run(&["providers", "--user", ROOM]).ok().trim(),
        "no providers"
    );
    // S6
    let moved = with(
        request(
            "event4@example.com",
            PAUL,
            ROOM,
            "Weekly meeting (moved)",
            &[
                "RECURRENCE-ID;TZID=Europe/Oslo:20141017T160000",
                &oslo("1017", "180000"),
                &oslo_end("1017", "190000"),
            ],
        ),
        &["SEQUENCE:1"],
    );
    let out = env.receive(ROOM, &msg("REQUEST", &moved));
    assert_eq!(out["outcome"], "accepted");
    assert_eq!(out["rid"], "20141017T140000Z");
    assert!(
        out["reply"]
            .as_str()
            .unwrap()
            .contains("RECURRENCE-ID;TZID=Europe/Oslo:20141017T160000")
    );
    assert!(
        env.show(ROOM, "event4@example.com", Some("20141017T140000Z"), false)
            .contains("PARTSTAT=ACCEPTED")
    );
    assert_eq!(
        env.fb(ROOM),
        [
            weekly("1010", "Weekly meeting", None),
            MOVED.to_owned(),
            weekly("1024", "Weekly meeting", None)
        ]
    );
    // S7
    let cancel = with(
        request(
            "event4@example.com",
            PAUL,
            ROOM,
            "Weekly meeting",
            &[
                "RECURRENCE-ID;TZID=Europe/Oslo:20141024T160000",
                &oslo("1024", "160000"),
                &oslo_end("1024", "170000"),
            ],
        ),
        &["SEQUENCE:1"],
    );
    let out = env.receive(ROOM, &msg("CANCEL", &cancel));
    assert_eq!(
        (out["outcome"].as_str(), &out["reply"]),
        (Some("cancelled"), &Value::Null)
    );
    assert_eq!(
        env.events(ROOM, true),
        ["event4@example.com 20141024T140000Z"]
    );
    assert_eq!(
        env.fb(ROOM),
        [weekly("1010", "Weekly meeting", None), MOVED.to_owned()]
    );
    // S8 (fixed): the parent re-sent with SEQUENCE 2 and no overrides.
    let resent = with(s5_request("SEQUENCE:2"), &["DTSTAMP:20141009T120000Z"]);
    assert_eq!(
        env.receive(ROOM, &msg("REQUEST", &resent))["outcome"],
        "accepted"
    );
    assert_eq!(env.events(ROOM, false), ["event4@example.com"]);
    assert!(env.events(ROOM, true).is_empty());
    assert_eq!(env.fb(ROOM), three);
    assert!(
        env.show(ROOM, "event4@example.com", None, false)
            .contains("SEQUENCE:2")
    );
}

/// S9: open-ended recurrence on the sauna: 14 periods and a provider.
fn s9(env: &Env) {
    env.prefs(SAUNA, &[("scheduling_function", "schedule_in_freebusy")]);
    let req = request(
        "event5@example.com",
        PAUL,
        SAUNA,
        "Sauna",
        &[
            &oslo("1016", "100000"),
            &oslo_end("1016", "110000"),
            "RRULE:FREQ=WEEKLY",
        ],
    );
    assert_eq!(
        env.receive(SAUNA, &msg("REQUEST", &req))["outcome"],
        "accepted"
    );
    let fb = env.fb(SAUNA);
    assert_eq!(fb.len(), 14);
    assert!(fb[0].starts_with("20141016T080000Z"));
    assert!(fb[13].starts_with("20150115T090000Z"));
    let providers = env.run(&["providers", "--user", SAUNA]).ok().to_owned();
    assert!(providers.contains("event5@example.com"), "{providers}");
    assert!(providers.contains("20150117T000000Z"), "{providers}");
}

/// S10–S12: a counter-proposal with an offer; the offer blocks; an expired offer does not.
fn s10_to_s12(env: &Env) {
    env.prefs(
        ROOM,
        &[
            ("scheduling_function", "schedule_corrected_in_freebusy"),
            ("permitted_times", "0,15,30,45"),
            ("freebusy_offers", "PT1H"),
            ("TZID", "Europe/Oslo"),
        ],
    );
    let req = request(
        "event6@example.com",
        PAUL,
        ROOM,
        "Meeting at 4:05pm",
        &[&oslo("1010", "160500"), &oslo_end("1010", "170500")],
    );
    let out = env.receive(ROOM, &msg("REQUEST", &req));
    assert_eq!(out["outcome"], "countered");
    let reply = out["reply"].as_str().unwrap();
    assert!(reply.contains("METHOD:COUNTER\r\n"));
    assert!(
        reply.contains("DTSTART;TZID=Europe/Oslo:20141010T161500\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("DTEND;TZID=Europe/Oslo:20141010T171500\r\n"),
        "{reply}"
    );
    assert!(env.events(ROOM, false).is_empty());
    assert!(env.fb(ROOM).is_empty());
    let offers = rows(
        &env.run(&["offers", "--user", ROOM, "--format", "json"])
            .json(),
    );
    assert_eq!(
        offers,
        [
            "20141010T141500Z 20141010T151500Z event6@example.com OPAQUE - \
          \"Meeting at 4:05pm\" mailto:paul.boddie@example.com 20141009T010000Z"
        ]
    );
    // S11: the live offer blocks an overlapping request.
    env.run(&[
        "prefs",
        "set",
        "--user",
        ROOM,
        "scheduling_function",
        "schedule_in_freebusy",
    ])
    .ok();
    let req7 = request(
        "event7@example.com",
        PAUL,
        ROOM,
        "Meeting at 4:30pm",
        &[&oslo("1010", "163000"), &oslo_end("1010", "170000")],
    );
    assert_eq!(
        env.receive(ROOM, &msg("REQUEST", &req7))["outcome"],
        "declined"
    );
    // S12: an hour later the offer has expired: purged, and the booking accepted.
    env.set_now("20141009T010000Z");
    let req8 = with(
        request(
            "event8@example.com",
            PAUL,
            ROOM,
            "Meeting at 4:30pm",
            &[&oslo("1010", "163000"), &oslo_end("1010", "170000")],
        ),
        &["DTSTAMP:20141009T010000Z"],
    );
    assert_eq!(
        env.receive(ROOM, &msg("REQUEST", &req8))["outcome"],
        "accepted"
    );
    assert_eq!(
        env.run(&["offers", "--user", ROOM, "--format", "json"])
            .json(),
        json!([])
    );
    assert_eq!(
        env.fb(ROOM),
        [
            "20141010T143000Z 20141010T150000Z event8@example.com OPAQUE - \
          \"Meeting at 4:30pm\" mailto:paul.boddie@example.com"
        ]
    );
}

fn car(uid: &str, organiser: &str, resource: &str, start: &str, end: &str) -> String {
    msg(
        "REQUEST",
        &[
            format!("UID:{uid}"),
            "DTSTAMP:20141009T000000Z".to_owned(),
            format!("ORGANIZER:{organiser}"),
            format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{resource}"),
            format!("DTSTART:{start}"),
            format!("DTEND:{end}"),
            format!("SUMMARY:Quota test {uid}"),
        ],
    )
}

fn cars(env: &Env) {
    for r in [PORSCHE, FIAT] {
        env.prefs(
            r,
            &[(
                "scheduling_function",
                "schedule_in_freebusy\ncheck_quota cars",
            )],
        );
    }
}

fn entries(env: &Env, group: &str) -> Vec<String> {
    rows(
        &env.run(&[
            "quota", "entries", "--quota", "cars", "--group", group, "--format", "json",
        ])
        .json(),
    )
}

/// Q1 and Q2: a quota shared by two cars, and its retraction.
fn q1_q2(env: &Env) {
    cars(env);
    env.run(&["quota", "limits", "--quota", "cars", "--set", "*=PT1H"])
        .ok();
    let q1 = car("q1", PAUL, PORSCHE, "20141010T080000Z", "20141010T090000Z");
    assert_eq!(env.receive(PORSCHE, &q1)["outcome"], "accepted");
    assert_eq!(
        entries(env, PAUL),
        [format!(
            "20141010T080000Z 20141010T090000Z q1 OPAQUE - \"Quota test q1\" {PAUL} {PORSCHE}"
        )]
    );
    assert!(
        env.show(PORSCHE, "q1", None, false)
            .contains("PARTSTAT=ACCEPTED")
    );
    let q2 = car("q2", PAUL, FIAT, "20141010T100000Z", "20141010T103000Z");
    let out = env.receive(FIAT, &q2);
    assert_eq!(out["outcome"], "declined");
    assert_eq!(
        out["reason"],
        "The event period exceeds your quota allocation for the recipient."
    );
    assert!(
        env.show(FIAT, "q2", None, false)
            .contains("PARTSTAT=DECLINED")
    );
    let q3 = car("q3", VINCENT, FIAT, "20141010T100000Z", "20141010T103000Z");
    assert_eq!(env.receive(FIAT, &q3)["outcome"], "accepted");
    // Q2: CANCEL q1 to the porsche.
    let cancel = car("q1", PAUL, PORSCHE, "20141010T080000Z", "20141010T090000Z")
        .replace("METHOD:REQUEST", "METHOD:CANCEL");
    assert_eq!(env.receive(PORSCHE, &cancel)["outcome"], "cancelled");
    assert!(entries(env, PAUL).is_empty());
    let q4 = car("q4", PAUL, FIAT, "20141011T100000Z", "20141011T103000Z");
    assert_eq!(env.receive(FIAT, &q4)["outcome"], "accepted");
}

/// Q3: groups and unlimited; past bookings no longer count (§7.14 fixed).
fn q3(env: &Env) {
    cars(env);
    env.run(&[
        "quota", "limits", "--quota", "cars", "--set", "*=PT1H", "staff=*",
    ])
    .ok();
    env.run(&[
        "quota",
        "groups",
        "--quota",
        "cars",
        "--set",
        &format!("{PAUL}=staff"),
    ])
    .ok();
    let q5 = car("q5", PAUL, PORSCHE, "20141010T080000Z", "20141010T110000Z");
    assert_eq!(env.receive(PORSCHE, &q5)["outcome"], "accepted");
    assert_eq!(entries(env, "staff").len(), 1);
    let h1 = car("h1", HARVEY, FIAT, "20141010T080000Z", "20141010T090000Z");
    assert_eq!(env.receive(FIAT, &h1)["outcome"], "accepted");
    let h2 = car("h2", HARVEY, FIAT, "20141010T120000Z", "20141010T120100Z");
    assert_eq!(env.receive(FIAT, &h2)["outcome"], "declined");
    env.set_now("20141010T090000Z");
    let h2 = h2.replace("DTSTAMP:20141009T000000Z", "DTSTAMP:20141010T090000Z");
    assert_eq!(env.receive(FIAT, &h2)["outcome"], "accepted");
}

fn pevent(vincent: &str, times: (&str, &str), extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "UID:pevent1@example.com".to_owned(),
        "DTSTAMP:20141009T000000Z".to_owned(),
        format!("ORGANIZER:{PAUL}"),
        format!("ATTENDEE;PARTSTAT=ACCEPTED:{PAUL}"),
        format!("ATTENDEE;RSVP=TRUE;PARTSTAT={vincent}:{VINCENT}"),
        oslo("1010", times.0),
        oslo_end("1010", times.1),
        "SUMMARY:Person meeting".to_owned(),
    ];
    v.extend(extra.iter().map(|e| (*e).to_owned()));
    v
}

const P_ROW: &str = "20141010T130000Z 20141010T140000Z pevent1@example.com OPAQUE - \
                     \"Person meeting\" mailto:paul.boddie@example.com";

/// P1, P2, and the answers: REPLY ordered by SEQUENCE then DTSTAMP, DECLINECOUNTER.
fn p1_p2(env: &Env) {
    let invite = msg(
        "REQUEST",
        &pevent("NEEDS-ACTION", ("150000", "160000"), &[]),
    );
    assert_eq!(env.send(PAUL, &invite)["outcome"], "stored");
    let out = env.receive(VINCENT, &invite);
    assert_eq!(
        (out["outcome"].as_str(), &out["reply"]),
        (Some("stored"), &Value::Null)
    );
    assert_eq!(env.events(VINCENT, false), ["pevent1@example.com"]);
    assert_eq!(env.requests(VINCENT), ["pevent1@example.com\t-\t-"]);
    assert!(env.fb(VINCENT).is_empty());
    assert_eq!(
        rows(
            &env.run(&[
                "freebusy-other",
                "--user",
                VINCENT,
                "--other",
                PAUL,
                "--format",
                "json"
            ])
            .json()
        ),
        [P_ROW]
    );
    assert_eq!(env.fb(PAUL), [P_ROW]);
    // P2: vincent counters 17:00-18:00.
    let counter = msg("COUNTER", &pevent("ACCEPTED", ("170000", "180000"), &[]));
    assert_eq!(env.receive(PAUL, &counter)["outcome"], "stored");
    assert_eq!(env.requests(PAUL), ["pevent1@example.com\t-\tCOUNTER"]);
    assert_eq!(
        env.run(&["counters", "--user", PAUL, "--uid", "pevent1@example.com"])
            .ok()
            .trim(),
        VINCENT
    );
    assert_eq!(env.fb(PAUL), [P_ROW]);
    // Paul declines the counter: the counter and the COUNTER request go.
    let decline = msg(
        "DECLINECOUNTER",
        &pevent("ACCEPTED", ("170000", "180000"), &[]),
    );
    assert_eq!(env.send(PAUL, &decline)["outcome"], "updated");
    assert!(env.requests(PAUL).is_empty());
    // Vincent's answers arrive out of order: the later DTSTAMP wins.
    let accept = msg(
        "REPLY",
        &with(
            pevent("ACCEPTED", ("150000", "160000"), &[]),
            &["DTSTAMP:20141009T020000Z"],
        ),
    );
    let decline = msg(
        "REPLY",
        &with(
            pevent("DECLINED", ("150000", "160000"), &[]),
            &["DTSTAMP:20141009T010000Z"],
        ),
    );
    assert_eq!(env.receive(PAUL, &accept)["outcome"], "updated");
    assert_eq!(env.receive(PAUL, &decline)["outcome"], "ignored");
    let copy = env.show(PAUL, "pevent1@example.com", None, false);
    assert!(
        copy.contains(&format!(
            "PARTSTAT=ACCEPTED;X-CALSTORE-REPLY=0/20141009T020000Z:{VINCENT}"
        )),
        "{copy}"
    );
    assert_eq!(
        env.run(&[
            "freebusy-other",
            "--user",
            PAUL,
            "--other",
            VINCENT,
            "--format",
            "json"
        ])
        .json()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // Vincent records his own answer: his free/busy has the meeting, the request is gone.
    assert_eq!(env.send(VINCENT, &accept)["outcome"], "updated");
    assert_eq!(env.fb(VINCENT).len(), 1);
    assert!(env.requests(VINCENT).is_empty());
}

/// F1 and W1: received VFREEBUSY (comma-separated periods, §7.13 fixed), replaced by
/// range; the published VFREEBUSY after S1 and S3.
fn f1_w1(env: &Env) {
    room(env);
    let publish = |body: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n\
             ORGANIZER:{PAUL}\r\nDTSTAMP:20141009T000000Z\r\n{body}END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
        )
    };
    let first = publish(
        "DTSTART:20141010T000000Z\r\nDTEND:20141012T000000Z\r\n\
         FREEBUSY:20141010T100000Z/20141010T110000Z,20141011T120000Z/PT1H\r\n",
    );
    assert_eq!(env.receive(ROOM, &first)["outcome"], "stored");
    let other = |env: &Env| {
        rows(
            &env.run(&[
                "freebusy-other",
                "--user",
                ROOM,
                "--other",
                PAUL,
                "--format",
                "json",
            ])
            .json(),
        )
    };
    assert_eq!(
        other(env),
        [
            "20141010T100000Z 20141010T110000Z - OPAQUE - \"-\" -",
            "20141011T120000Z 20141011T130000Z - OPAQUE - \"-\" -"
        ]
    );
    let second = publish(
        "DTSTART:20141011T000000Z\r\nDTEND:20141013T000000Z\r\n\
         FREEBUSY:20141012T080000Z/20141012T090000Z\r\n",
    );
    assert_eq!(env.receive(ROOM, &second)["outcome"], "stored");
    let got = other(env);
    assert_eq!(got.len(), 2);
    assert!(got[0].starts_with("20141010T100000Z") && got[1].starts_with("20141012T080000Z"));
    // W1
    env.prefs(
        ROOM,
        &[
            ("freebusy_sharing", "share"),
            ("freebusy_publishing", "publish"),
        ],
    );
    env.receive(ROOM, &msg("REQUEST", &s1_request()));
    let s3 = request(
        "event3@example.com",
        PAUL,
        ROOM,
        "Meeting at 10am UTC",
        &["DTSTART:20141010T080000Z", "DTEND:20141010T090000Z"],
    );
    env.receive(ROOM, &msg("REQUEST", &s3));
    let ics = env
        .run(&["freebusy", "--user", ROOM, "--format", "ics"])
        .ok()
        .to_owned();
    let busy: Vec<&str> = ics.lines().filter(|l| l.starts_with("FREEBUSY")).collect();
    assert_eq!(
        busy,
        [
            "FREEBUSY;FBTYPE=BUSY:20141010T080000Z/20141010T090000Z",
            "FREEBUSY;FBTYPE=BUSY:20141010T140000Z/20141010T150000Z"
        ]
    );
    assert!(ics.contains(&format!("ORGANIZER:{ROOM}")));
    assert_eq!(
        env.run(&["prefs", "--user", ROOM, "--format", "json"])
            .json()["freebusy_sharing"],
        "share"
    );
}

macro_rules! on_sqlite {
    ($($name:ident),*) => { $( #[test] fn $name() { super::$name(&super::Env::sqlite()); } )* };
}

macro_rules! on_postgres {
    ($($name:ident),*) => { $( #[test] fn $name() { super::$name(&super::Env::postgres()); } )* };
}

mod sqlite {
    on_sqlite!(s1_to_s4, s5_to_s8, s9, s10_to_s12, q1_q2, q3, p1_p2, f1_w1);
}

mod postgres {
    on_postgres!(s1_to_s4, s5_to_s8, s9, s10_to_s12, q1_q2, q3, p1_p2, f1_w1);
}

/// A schema of its own on the PostgreSQL test server (`CALSTORE_TEST_PG_URL`).
mod pg {
    use calstore_core::SqlConnection;
    use calstore_native::PgConnection;
    use std::sync::atomic::{AtomicU64, Ordering};

    const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

    pub struct Schema {
        url: String,
        name: String,
        conn: PgConnection,
    }

    impl Schema {
        pub fn new() -> Schema {
            let url = match std::env::var(URL_VAR) {
                Ok(u) if !u.trim().is_empty() => u,
                _ => panic!(
                    "{URL_VAR} is not set: start a server with \
                     `export \"$(scripts/pg-test-cluster.sh start /tmp/calstore-pg)\"`"
                ),
            };
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "sched_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let mut conn = PgConnection::connect(&url).expect("connect to the test server");
            conn.execute_batch(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
            Schema { url, name, conn }
        }

        pub fn url(&self) -> String {
            let sep = if self.url.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-csearch_path%3D{}", self.url, self.name)
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = self
                .conn
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
