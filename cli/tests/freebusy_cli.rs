//! The free/busy commands of issue #3 through the built `calstore` binary: importing a received
//! VFREEBUSY (`freebusy-other import`), extending providers (`freebusy-extend`), publishing
//! (`freebusy --format ics`) and calendars with embedded and Windows time zones.
// Test helpers: failing loudly is their job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const ROOM: &str = "mailto:resource-room-confroom@example.com";
const PAUL: &str = "mailto:paul.boddie@example.com";

struct Env {
    dir: TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    /// Runs with this environment's database; (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_calstore"))
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(format!("sqlite:{}", self.dir.path().join("t.db").display()))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    }

    fn json(&self, args: &[&str]) -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(&self.ok(args)).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["start"].as_str().unwrap().to_owned(),
                    p["end"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

/// F1 of the imip-agent reconstruction, with both periods in one FREEBUSY property (which
/// crashed imip-agent) and a FREE period that is not stored.
const RECEIVED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n\
ORGANIZER:mailto:paul.boddie@example.com\r\nDTSTART:20141010T000000Z\r\n\
DTEND:20141012T000000Z\r\n\
FREEBUSY;FBTYPE=BUSY:20141010T100000Z/20141010T110000Z,20141011T120000Z/PT1H\r\n\
FREEBUSY;FBTYPE=FREE:20141011T140000Z/PT1H\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";

#[test]
fn freebusy_other_import_replaces_the_range() {
    let env = Env::new();
    let f = env.file("fb.ics", RECEIVED);
    let out = env.ok(&[
        "freebusy-other",
        "import",
        "--user",
        ROOM,
        "--other",
        PAUL,
        &f,
    ]);
    assert!(out.starts_with("stored 2 busy periods about"), "{out}");
    let list = [
        "freebusy-other",
        "--user",
        ROOM,
        "--other",
        PAUL,
        "--format",
        "json",
    ];
    assert_eq!(
        env.json(&list),
        [
            pair("20141010T100000Z", "20141010T110000Z"),
            pair("20141011T120000Z", "20141011T130000Z")
        ]
    );
    // The listing form still works.
    assert_eq!(
        env.ok(&["freebusy-other", "--user", ROOM]),
        format!("{PAUL}\n")
    );
    // A later VFREEBUSY for 11..13 October replaces what overlaps that range only.
    let later = RECEIVED
        .replace("DTSTART:20141010T000000Z", "DTSTART:20141011T000000Z")
        .replace("DTEND:20141012T000000Z", "DTEND:20141013T000000Z")
        .replace(
            "20141010T100000Z/20141010T110000Z,20141011T120000Z/PT1H",
            "20141012T080000Z/20141012T090000Z",
        );
    let f = env.file("later.ics", &later);
    env.ok(&[
        "freebusy-other",
        "import",
        "--user",
        ROOM,
        "--other",
        PAUL,
        &f,
    ]);
    assert_eq!(
        env.json(&list),
        [
            pair("20141010T100000Z", "20141010T110000Z"),
            pair("20141012T080000Z", "20141012T090000Z")
        ]
    );
    // Bad input: an error naming the file and line, nothing changed.
    let bad = env.file(
        "bad.ics",
        &RECEIVED.replace("20141011T120000Z/PT1H", "20141011T120000/PT1H"),
    );
    let (code, _, err) = env.run(&[
        "freebusy-other",
        "import",
        "--user",
        ROOM,
        "--other",
        PAUL,
        &bad,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.ics") && err.contains("must be UTC"),
        "{err}"
    );
    let none = env.file("none.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
    let (code, _, err) = env.run(&[
        "freebusy-other",
        "import",
        "--user",
        ROOM,
        "--other",
        PAUL,
        &none,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no VFREEBUSY"), "{err}");
    assert_eq!(env.json(&list).len(), 2);
    // Usage errors.
    let (code, _, _) = env.run(&["freebusy-other", "import", "--user", ROOM, &f]);
    assert_eq!(code, 2);
    let (code, _, _) = env.run(&["freebusy-other", "--user", ROOM, "import", &f]);
    assert_eq!(code, 2);
}

/// An open-ended weekly event and a bounded one cut by the window.
const PROVIDERS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:open@example.com\r\n\
DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:bounded@example.com\r\nDTSTART:20260106T090000Z\r\nDTEND:20260106T100000Z\r\n\
RRULE:FREQ=WEEKLY;COUNT=6\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn freebusy_extend_is_progressive_and_idempotent() {
    let env = Env::new();
    let f = env.file("p.ics", PROVIDERS);
    env.ok(&[
        "import",
        "--user",
        ROOM,
        "--expand-until",
        "20260120T000000Z",
        &f,
    ]);
    env.ok(&[
        "import",
        "--user",
        PAUL,
        "--expand-until",
        "20260113T000000Z",
        &f,
    ]);
    let count = |user: &str| {
        env.json(&["freebusy", "--user", user, "--format", "json"])
            .len()
    };
    assert_eq!(count(ROOM), 3 + 2);
    assert_eq!(count(PAUL), 2 + 1);
    // Every user with providers, up to 3 February.
    let out = env.ok(&["freebusy-extend", "--until", "20260203T000000Z"]);
    assert_eq!(
        out,
        format!(
            "{PAUL}: extended 2 providers up to 20260203T000000Z\n\
             {ROOM}: extended 2 providers up to 20260203T000000Z\n"
        )
    );
    assert_eq!(count(ROOM), 5 + 4);
    assert_eq!(count(PAUL), 5 + 4);
    // Idempotent.
    let before = env.ok(&["freebusy", "--user", ROOM, "--format", "json"]);
    env.ok(&[
        "freebusy-extend",
        "--user",
        ROOM,
        "--until",
        "20260203T000000Z",
    ]);
    assert_eq!(
        env.ok(&["freebusy", "--user", ROOM, "--format", "json"]),
        before
    );
    // Further: the bounded event completes and leaves the providers.
    env.ok(&[
        "freebusy-extend",
        "--user",
        ROOM,
        "--until",
        "20260301T000000Z",
    ]);
    assert_eq!(count(ROOM), 6 + 8);
    let providers = env.ok(&["providers", "--user", ROOM]);
    assert!(providers.contains("open@example.com"), "{providers}");
    assert!(!providers.contains("bounded@example.com"), "{providers}");
    // An unknown user is an error; no providers at all is not.
    let (code, _, err) = env.run(&["freebusy-extend", "--user", "mailto:nobody@example.com"]);
    assert_eq!(code, 1, "{err}");
    let empty = Env::new();
    assert_eq!(empty.ok(&["freebusy-extend"]), "no providers to extend\n");
}

/// Outlook: a Windows zone name with its VTIMEZONE; and a custom name defined only by the
/// calendar. Both survive the store: cancelling an occurrence re-derives from stored text.
const OUTLOOK: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Office Zone\r\n\
BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n\
DTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:outlook@example.com\r\nDTSTART;TZID=Office Zone:20260323T100000\r\n\
DTEND;TZID=Office Zone:20260323T110000\r\nRRULE:FREQ=DAILY;COUNT=14\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:windows@example.com\r\nDTSTART;TZID=W. Europe Standard Time:20260323T150000\r\n\
DTEND;TZID=W. Europe Standard Time:20260323T160000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn custom_and_windows_zones_through_the_cli() {
    let env = Env::new();
    let f = env.file("outlook.ics", OUTLOOK);
    env.ok(&[
        "import",
        "--user",
        ROOM,
        "--tz",
        "W. Europe Standard Time",
        "--expand-until",
        "20270101",
        &f,
    ]);
    let periods = env.json(&["freebusy", "--user", ROOM, "--format", "json"]);
    assert_eq!(periods.len(), 15);
    // 10:00 CET on 23 March, 10:00 CEST from 30 March.
    assert_eq!(periods[0], pair("20260323T090000Z", "20260323T100000Z"));
    assert!(periods.contains(&pair("20260323T140000Z", "20260323T150000Z")));
    assert!(periods.contains(&pair("20260330T080000Z", "20260330T090000Z")));
    // The stored object carries its zone; cancelling an occurrence re-parses it.
    let shown = env.ok(&[
        "event",
        "show",
        "--user",
        ROOM,
        "--uid",
        "outlook@example.com",
    ]);
    assert!(shown.starts_with("BEGIN:VEVENT\r\n"));
    assert!(
        shown.contains("X-CALSTORE-VTIMEZONE:BEGIN:VTIMEZONE"),
        "{shown}"
    );
    let cancel = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:outlook@example.com\r\n\
                  RECURRENCE-ID:20260331T080000Z\r\nDTSTART:20260331T080000Z\r\n\
                  DTEND:20260331T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let c = env.file("cancel.ics", cancel);
    env.ok(&["import", "--user", ROOM, "--expand-until", "20270101", &c]);
    env.ok(&[
        "event",
        "cancel",
        "--user",
        ROOM,
        "--uid",
        "outlook@example.com",
        "--rid",
        "20260331T080000Z",
        "--expand-until",
        "20270101",
    ]);
    let periods = env.json(&["freebusy", "--user", ROOM, "--format", "json"]);
    assert_eq!(periods.len(), 14);
    assert!(!periods.iter().any(|p| p.0 == "20260331T080000Z"));
    assert!(periods.contains(&pair("20260401T080000Z", "20260401T090000Z")));
    // Published as a VFREEBUSY.
    let ics = env.ok(&["freebusy", "--user", ROOM, "--format", "ics"]);
    assert!(ics.contains("BEGIN:VFREEBUSY\r\n"));
    assert_eq!(ics.matches("FREEBUSY;FBTYPE=BUSY:").count(), 14);
}

#[test]
fn instance_cap_error_is_clear() {
    let env = Env::new();
    let f = env.file(
        "minutely.ics",
        // From October 2026: 132 480 minutes before the window end (instances before the
        // bounded past, a year before now, would not count).
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m@example.com\r\nDTSTART:20261001T000000Z\r\n\
         RRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let (code, _, err) = env.run(&["import", "--user", ROOM, "--expand-until", "20270101", &f]);
    assert_eq!(code, 1);
    assert!(
        err.contains("\"m@example.com\"") && err.contains("more than 100000 instances"),
        "{err}"
    );
    // The cap is an option.
    let daily = env.file(
        "daily.ics",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:d@example.com\r\nDTSTART:20260101T090000Z\r\n\
         RRULE:FREQ=DAILY;COUNT=20\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let args = [
        "import",
        "--user",
        ROOM,
        "--expand-until",
        "20270101",
        "--max-instances",
    ];
    let (code, _, err) = env.run(&[&args[..], &["10", &daily]].concat());
    assert_eq!(code, 1);
    assert!(err.contains("more than 10 instances"), "{err}");
    env.ok(&[&args[..], &["20", &daily]].concat());
    let (code, _, _) = env.run(&[&args[..], &["0", &daily]].concat());
    assert_eq!(code, 2);
}
