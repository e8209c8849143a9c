//! `import-imip-agent`, `export-imip-agent` and `copy`, run as the built binary on the
//! fixtures in `tests/fixtures/imip-agent` (imip-agent 0.3's file layout, built from the
//! scenarios of its reconstruction §6.2; see the README there).
//!
//! The PostgreSQL cases (module `postgres`) need `CALSTORE_TEST_PG_URL` (scripts/test.sh
//! starts a throwaway cluster); with the `postgres` feature on and no URL they fail, they are
//! never skipped. Each creates a schema of its own and drops it afterwards.
// The calstore side of every case is a SQLite database.
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use calstore_core::journal::Booking;
use calstore_core::{
    DeclineReason, Entry, FixedClock, Period, Providers, QuotaDecision, Request, SqlConnection,
    Status, Store,
};
use calstore_native::SqliteConnection;
use chrono::{DateTime, Utc};
use tempfile::TempDir;

const ROOM: &str = "mailto:resource-room-confroom@example.com";
const SAUNA: &str = "mailto:resource-room-sauna@example.com";
const PAUL: &str = "mailto:paul.boddie@example.com";
const VINCENT: &str = "mailto:vincent.vole@example.com";
const HARVEY: &str = "mailto:harvey.horse@example.com";
const PORSCHE: &str = "mailto:resource-car-porsche911@example.com";
const FIAT: &str = "mailto:resource-car-fiat500@example.com";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/imip-agent")
}

fn fixture_text(rel: &str) -> String {
    fs::read_to_string(fixture().join(rel)).expect("fixture file")
}

fn t(s: &str) -> DateTime<Utc> {
    calstore_core::ical::parse_utc(s).expect("UTC time")
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
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts exit status `code` and one `calstore: error:` line; returns it.
    fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(self.stderr.lines().count(), 1, "{}", self.stderr);
        assert!(
            self.stderr.starts_with("calstore: error: "),
            "{}",
            self.stderr
        );
        self.stderr.trim_end()
    }
}

fn calstore(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_calstore"))
        .args(args)
        .output()
        .expect("run calstore");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

struct Env {
    dir: TempDir,
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

    fn db(&self, name: &str) -> String {
        format!("sqlite:{}", self.path(name).display())
    }

    /// A copy of the fixture (store and journal) to change.
    fn fixture_copy(&self) -> (PathBuf, PathBuf) {
        let root = self.path("fixture");
        copy_tree(&fixture(), &root);
        (root.join("store"), root.join("journal"))
    }

    fn import_files(&self, db: &str, store: &Path, journal: &Path) -> Run {
        calstore(&[
            "--db",
            &self.db(db),
            "import-imip-agent",
            "--store",
            store.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ])
    }

    fn import_fixture(&self, db: &str) -> Run {
        self.import_files(db, &fixture().join("store"), &fixture().join("journal"))
    }

    fn open(&self, db: &str, now: &str) -> Store<SqliteConnection> {
        let conn = SqliteConnection::open(self.path(db)).expect("open");
        Store::open(conn, Box::new(FixedClock::new(t(now)))).expect("store")
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.push(
                    e.path()
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn period(start: &str, end: &str, uid: Option<&str>, rid: Option<&str>) -> Period {
    Period {
        start: t(start),
        end: t(end),
        uid: uid.map(str::to_owned),
        transp: Some("OPAQUE".to_owned()),
        recurrenceid: rid.map(str::to_owned),
        summary: None,
        organiser: None,
    }
}

fn booked(
    start: &str,
    end: &str,
    uid: &str,
    rid: Option<&str>,
    summary: &str,
    organiser: &str,
) -> Period {
    Period {
        summary: Some(summary.to_owned()),
        organiser: Some(organiser.to_owned()),
        ..period(start, end, Some(uid), rid)
    }
}

/// The whole content of a calstore database except the change journal, as text.
fn dump<C: SqlConnection>(store: &mut Store<C>) -> String {
    let mut out = String::new();
    for user in store.users().unwrap() {
        writeln!(out, "user {user}").unwrap();
        for status in [Status::Active, Status::Cancelled] {
            for (uid, rid) in store.get_all_events(&user, status).unwrap() {
                let text = store
                    .get_event(&user, &uid, rid.as_deref(), status)
                    .unwrap();
                writeln!(out, "  {status:?} {uid} {rid:?} {text:?}").unwrap();
            }
        }
        for table in ["countered_objects", "offers"] {
            let sql = if table == "offers" {
                "SELECT \"start\", \"end\", object_uid, transp, object_recurrenceid, summary, \
                 organiser, expires FROM freebusy_offers WHERE store_user = $1 ORDER BY 1, 2, 3"
            } else {
                "SELECT other, object_uid, NULL, object_text FROM countered_objects \
                 WHERE store_user = $1 UNION ALL SELECT other, object_uid, object_recurrenceid, \
                 object_text FROM countered_recurrences WHERE store_user = $1 ORDER BY 1, 2, 3"
            };
            for r in store
                .connection()
                .query(sql, &[user.as_str().into()])
                .unwrap()
            {
                writeln!(out, "  {table} {:?}", r.values()).unwrap();
            }
        }
        writeln!(out, "  freebusy {:?}", store.get_freebusy(&user).unwrap()).unwrap();
        for other in store.get_freebusy_others(&user).unwrap() {
            let p = store.get_freebusy_for_other(&user, &other).unwrap();
            writeln!(out, "  other {other} {p:?}").unwrap();
        }
        let providers = store.get_freebusy_providers(&user).unwrap();
        writeln!(out, "  providers {providers:?}").unwrap();
        writeln!(out, "  requests {:?}", store.get_requests(&user).unwrap()).unwrap();
    }
    let quotas = store.journal().quotas().unwrap();
    for quota in quotas {
        writeln!(out, "quota {quota}").unwrap();
        let mut j = store.journal();
        writeln!(out, "  limits {:?}", j.get_limits(&quota).unwrap()).unwrap();
        writeln!(out, "  groups {:?}", j.get_groups(&quota).unwrap()).unwrap();
        writeln!(out, "  delegates {:?}", j.get_delegates(&quota).unwrap()).unwrap();
        for g in j.quota_users(&quota).unwrap() {
            writeln!(
                out,
                "  entries {g} {:?}",
                j.get_entries(&quota, &g).unwrap()
            )
            .unwrap();
            writeln!(
                out,
                "  user {g} {:?}",
                j.get_user_entries(&quota, &g).unwrap()
            )
            .unwrap();
        }
        let rows = store
            .connection()
            .query(
                "SELECT object_uid, NULL, status, object_text FROM quota_objects WHERE quota = $1 \
                 UNION ALL SELECT object_uid, object_recurrenceid, status, object_text \
                 FROM quota_recurrences WHERE quota = $1 ORDER BY 1, 2",
                &[quota.as_str().into()],
            )
            .unwrap();
        for r in rows {
            writeln!(out, "  object {:?}", r.values()).unwrap();
        }
    }
    out
}

/// Every row of every calstore table, change journal included, as text.
fn raw_dump(conn: &mut impl SqlConnection) -> String {
    let tables = conn
        .query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            &[],
        )
        .unwrap();
    let mut out = String::new();
    for r in tables {
        let name: String = r.get(0).unwrap();
        let mut rows: Vec<String> = conn
            .query(&format!("SELECT * FROM {name}"), &[])
            .unwrap()
            .iter()
            .map(|r| format!("{:?}", r.values()))
            .collect();
        rows.sort();
        writeln!(out, "{name}: {} rows", rows.len()).unwrap();
        for row in rows {
            writeln!(out, "  {row}").unwrap();
        }
    }
    out
}

// ---- import from files --------------------------------------------------------------------

#[test]
fn file_import_stores_every_scenario() {
    let env = Env::new();
    let out = env.import_fixture("t.db");
    assert_eq!(
        out.ok(),
        "imported 4 users and 2 quotas from imip-agent 0.3 files\n  \
         store: 9 objects (2 cancelled), 1 counter-proposal, 18 free/busy periods, 1 offer, \
         3 periods of others, 1 providers record, 2 requests\n  \
         journal: 3 limits, 1 group membership, 2 delegates, 4 entries, 4 objects\n  \
         fixed: 1 duplicate dropped, 1 unsorted free/busy file sorted\n"
    );
    let mut s = env.open("t.db", "20141001T000000Z");
    assert_eq!(s.users().unwrap(), [PAUL, ROOM, SAUNA, VINCENT]);

    // S1/S4, S2, S3, S5–S7 on the conference room.
    assert_eq!(
        s.get_events(ROOM).unwrap(),
        [
            "event2@example.com",
            "event3@example.com",
            "event4@example.com"
        ]
    );
    assert_eq!(
        s.get_cancelled_events(ROOM).unwrap(),
        ["event1@example.com"]
    );
    assert_eq!(
        s.get_active_recurrences(ROOM, "event4@example.com")
            .unwrap(),
        ["20141017T140000Z"]
    );
    assert_eq!(
        s.get_cancelled_recurrences(ROOM, "event4@example.com")
            .unwrap(),
        ["20141024T140000Z"]
    );
    let room = format!("store/{ROOM}");
    assert_eq!(
        s.get_event(ROOM, "event3@example.com", None, Status::Active)
            .unwrap()
            .unwrap(),
        fixture_text(&format!("{room}/objects/event3@example.com")),
        "object text is kept byte for byte"
    );
    assert_eq!(
        s.get_event(ROOM, "event1@example.com", None, Status::Cancelled)
            .unwrap()
            .unwrap(),
        fixture_text(&format!("{room}/cancellations/objects/event1@example.com"))
    );
    assert_eq!(
        s.get_freebusy(ROOM).unwrap(),
        [
            booked(
                "20141010T080000Z",
                "20141010T090000Z",
                "event3@example.com",
                None,
                "Meeting at 10am",
                PAUL
            ),
            booked(
                "20141010T140000Z",
                "20141010T150000Z",
                "event4@example.com",
                None,
                "Weekly meeting",
                PAUL
            ),
            booked(
                "20141017T160000Z",
                "20141017T170000Z",
                "event4@example.com",
                Some("20141017T140000Z"),
                "Weekly meeting (moved)",
                PAUL
            ),
        ]
    );
    // S10: the offer is kept as imported, and expires when read after its expiry.
    let offers = s.get_freebusy_offers(ROOM).unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].period,
        booked(
            "20141010T141500Z",
            "20141010T151500Z",
            "event6@example.com",
            None,
            "Meeting at 4:05pm",
            PAUL
        )
    );
    assert_eq!(offers[0].expires, Some(t("20141001T100000Z")));
    let mut later = env.open("t.db", "20141002T000000Z");
    assert!(later.get_freebusy_offers(ROOM).unwrap().is_empty());
    // F1: received free/busy of paul, no uid, transp OPAQUE.
    assert_eq!(s.get_freebusy_others(ROOM).unwrap(), [PAUL]);
    assert_eq!(
        s.get_freebusy_for_other(ROOM, PAUL).unwrap(),
        [
            period("20141010T100000Z", "20141010T110000Z", None, None),
            period("20141012T080000Z", "20141012T090000Z", None, None),
        ]
    );
    assert!(s.get_requests(ROOM).unwrap().is_empty());

    // S9: the sauna's open-ended event, its 14 periods (sorted, the duplicate dropped) and
    // its providers record.
    assert_eq!(s.get_events(SAUNA).unwrap(), ["event5@example.com"]);
    let sauna = s.get_freebusy(SAUNA).unwrap();
    assert_eq!(sauna.len(), 14);
    assert!(sauna.windows(2).all(|w| w[0].start < w[1].start));
    assert_eq!(sauna[0].start, t("20141017T100000Z"));
    assert_eq!(sauna[13].start, t("20150116T100000Z"));
    assert_eq!(
        s.get_freebusy_providers(SAUNA).unwrap(),
        Some(Providers {
            datetime: Some("20150118T000000Z".into()),
            providers: vec![("event5@example.com".into(), None)],
        })
    );

    // P1: vincent's request and what he knows of paul; P2: paul's counter and request.
    assert_eq!(s.get_events(VINCENT).unwrap(), ["pevent1@example.com"]);
    assert!(s.get_freebusy(VINCENT).unwrap().is_empty());
    let pevent = booked(
        "20141013T140000Z",
        "20141013T150000Z",
        "pevent1@example.com",
        None,
        "Person meeting",
        PAUL,
    );
    assert_eq!(
        s.get_freebusy_for_other(VINCENT, PAUL).unwrap(),
        std::slice::from_ref(&pevent)
    );
    assert_eq!(
        s.get_requests(VINCENT).unwrap(),
        [Request {
            uid: "pevent1@example.com".into(),
            rid: None,
            kind: None
        }]
    );
    assert_eq!(s.get_freebusy(PAUL).unwrap(), [pevent]);
    assert_eq!(
        s.get_counters(PAUL, "pevent1@example.com", None).unwrap(),
        [VINCENT]
    );
    assert_eq!(
        s.get_counter(PAUL, VINCENT, "pevent1@example.com", None)
            .unwrap()
            .unwrap(),
        fixture_text(&format!(
            "store/{PAUL}/counters/objects/pevent1@example.com/{VINCENT}"
        ))
    );
    assert_eq!(
        s.get_requests(PAUL).unwrap(),
        [Request {
            uid: "pevent1@example.com".into(),
            rid: None,
            kind: Some("COUNTER".into())
        }]
    );

    // Q1 and Q3: limits, groups, delegates, entries and the journal's objects.
    let mut j = s.journal();
    assert_eq!(j.quotas().unwrap(), ["cars", ROOM]);
    assert_eq!(
        j.get_limits("cars").unwrap(),
        BTreeMap::from([("*".to_owned(), "PT1H".to_owned())])
    );
    assert!(j.get_groups("cars").unwrap().is_empty());
    assert_eq!(j.get_delegates("cars").unwrap(), [FIAT, PORSCHE]);
    assert_eq!(j.quota_users("cars").unwrap(), [PAUL, VINCENT]);
    assert_eq!(
        j.get_entries("cars", PAUL).unwrap(),
        [Entry {
            period: booked(
                "20141010T080000Z",
                "20141010T090000Z",
                "q1@example.com",
                None,
                "Quota test q1",
                PAUL
            ),
            attendee: Some(PORSCHE.into()),
        }]
    );
    assert_eq!(
        j.get_entries("cars", VINCENT).unwrap()[0]
            .attendee
            .as_deref(),
        Some(FIAT)
    );
    assert!(j.get_user_entries("cars", PAUL).unwrap().is_empty());
    assert_eq!(
        j.get_events("cars").unwrap(),
        ["q1@example.com", "q3@example.com"]
    );
    assert_eq!(
        j.get_limits(ROOM).unwrap(),
        BTreeMap::from([
            ("*".to_owned(), "PT1H".to_owned()),
            ("staff".to_owned(), "*".to_owned())
        ])
    );
    assert_eq!(
        j.get_groups(ROOM).unwrap(),
        BTreeMap::from([(PAUL.to_owned(), "staff".to_owned())])
    );
    assert_eq!(j.quota_users(ROOM).unwrap(), [HARVEY, "staff"]);
    assert_eq!(
        j.get_entries(ROOM, "staff").unwrap()[0]
            .period
            .duration_secs(),
        3 * 3600
    );
    // The imported journal works: harvey has used his hour, staff is unlimited (Q3).
    let minute = [period(
        "20141012T080000Z",
        "20141012T080100Z",
        Some("x"),
        None,
    )];
    let booking = |organiser| Booking {
        organiser,
        attendee: ROOM,
        uid: "x",
        rid: None,
        periods: &minute,
        open_ended: false,
    };
    assert!(matches!(
        j.check_quota(ROOM, &booking(HARVEY)).unwrap(),
        QuotaDecision::Declined {
            reason: DeclineReason::Exceeded { .. },
            ..
        }
    ));
    assert!(j.check_quota(ROOM, &booking(PAUL)).unwrap().is_accepted());
    // The store user and the quota of the same name are kept apart.
    assert!(j.revision(ROOM).unwrap() > 0);
    assert!(s.revision(ROOM).unwrap() > 0);
}

#[test]
fn export_reproduces_the_fixture_and_round_trips() {
    let env = Env::new();
    env.import_fixture("a.db").ok();
    let (store, journal) = (env.path("out/store"), env.path("out/journal"));
    let out = calstore(&[
        "--db",
        &env.db("a.db"),
        "export-imip-agent",
        "--store",
        store.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(
        out.ok(),
        format!(
            "exported 4 users to {}\n  store: 9 objects (2 cancelled), 1 counter-proposal, \
             18 free/busy periods, 1 offer, 3 periods of others, 1 providers record, \
             2 requests\nexported 2 quotas to {}\n  journal: 3 limits, 1 group membership, \
             2 delegates, 4 entries, 4 objects\n",
            store.display(),
            journal.display()
        )
    );
    // The same files (no empty directories: they are created lazily), byte for byte, except
    // the sauna's hand-edited free/busy, which comes out sorted and without its duplicate.
    for (dir, name) in [(&store, "store"), (&journal, "journal")] {
        let expected = fixture().join(name);
        assert_eq!(files_under(dir), files_under(&expected));
        for f in files_under(dir) {
            let got = fs::read(dir.join(&f)).unwrap();
            let want = if f == format!("{SAUNA}/freebusy") {
                fs::read(fixture().join("expected/sauna-freebusy")).unwrap()
            } else {
                fs::read(expected.join(&f)).unwrap()
            };
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{name}/{f}"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&store.join(ROOM).join("freebusy")), 0o660);
        assert_eq!(mode(&store.join(ROOM).join("objects")) & 0o777, 0o770);
    }
    // Round trip: the export imported into a new database gives the same data.
    env.import_files("b.db", &store, &journal).ok();
    let a = dump(&mut env.open("a.db", "20141001T000000Z"));
    let b = dump(&mut env.open("b.db", "20141001T000000Z"));
    assert_eq!(a, b);
    assert!(a.contains("event5@example.com") && a.contains("q6@example.com"));
}

#[test]
fn export_refuses_a_non_empty_directory_unless_forced() {
    let env = Env::new();
    env.import_fixture("a.db").ok();
    let store = env.path("out");
    fs::create_dir_all(store.join(ROOM).join("objects")).unwrap();
    fs::write(store.join(ROOM).join("objects/stale@example.com"), "x").unwrap();
    fs::write(store.join("README"), "keep me").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "--db".to_owned(),
            env.db("a.db"),
            "export-imip-agent".to_owned(),
            "--store".to_owned(),
            store.display().to_string(),
        ];
        if force {
            a.push("--force".to_owned());
        }
        a
    };
    let run = |a: Vec<String>| calstore(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let refused = run(args(false));
    assert!(refused.fails(1).contains("is not empty; pass --force"));
    assert!(store.join(ROOM).join("objects/stale@example.com").exists());
    run(args(true)).ok();
    assert!(!store.join(ROOM).join("objects/stale@example.com").exists());
    assert!(store.join(ROOM).join("objects/event3@example.com").exists());
    assert_eq!(fs::read_to_string(store.join("README")).unwrap(), "keep me");
    // Only the staging directory's contents were moved: nothing is left next to the target.
    let siblings: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("calstore-export"))
        .collect();
    assert!(siblings.is_empty(), "{siblings:?}");
}

/// A bad variant of the fixture is refused with exit 1, one line naming the problem, and
/// nothing written.
fn assert_refused(env: &Env, db: &str, store: &Path, journal: &Path, expected: &[&str]) {
    let run = env.import_files(db, store, journal);
    let line = run.fails(1);
    for e in expected {
        assert!(line.contains(e), "{line:?} should contain {e:?}");
    }
    if env.path(db).exists() {
        let mut s = env.open(db, "20141001T000000Z");
        assert!(s.users().unwrap().is_empty(), "nothing is written");
        assert!(
            s.journal().quotas().unwrap().is_empty(),
            "nothing is written"
        );
    }
}

#[test]
fn bad_input_is_refused_whole() {
    let env = Env::new();
    let (store, journal) = env.fixture_copy();
    let room = store.join(ROOM);
    let original = fs::read(room.join("freebusy")).unwrap();

    // A malformed free/busy line (one column).
    fs::write(
        room.join("freebusy"),
        [&original[..], b"20141020T080000Z\n"].concat(),
    )
    .unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &[
            &format!("{ROOM}/freebusy:4:"),
            "expected 2 to 7 tab-separated columns",
        ],
    );
    // Too many columns.
    fs::write(
        room.join("freebusy"),
        [
            &original[..],
            b"20141020T080000Z\t20141020T090000Z\ta\tOPAQUE\t\t\t\textra\n",
        ]
        .concat(),
    )
    .unwrap();
    assert_refused(&env, "a.db", &store, &journal, &["freebusy:4:", "found 8"]);
    // A bad datetime.
    fs::write(
        room.join("freebusy"),
        [&original[..], b"2014102\t20141020T090000Z\n"].concat(),
    )
    .unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &["freebusy:4:", "bad start \"2014102\""],
    );
    // An end before the start.
    fs::write(
        room.join("freebusy"),
        [&original[..], b"20141020T090000Z\t20141020T080000Z\n"].concat(),
    )
    .unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &["freebusy:4:", "before it starts"],
    );
    fs::write(room.join("freebusy"), &original).unwrap();

    // `..` as a uid (in a request: as a file name it could not exist).
    let requests = store.join(VINCENT).join("requests");
    fs::write(&requests, "pevent1@example.com\t\t\n..\t\t\n").unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &[&format!("{VINCENT}/requests:2:"), "uid \"..\" is refused"],
    );
    fs::write(&requests, "pevent1@example.com\t\t\n").unwrap();

    // Not UTF-8.
    let other = room.join("freebusy-other").join(PAUL);
    let good_other = fs::read(&other).unwrap();
    fs::write(
        &other,
        [
            &good_other[..],
            b"20141013T080000Z\t20141013T090000Z\t\xff\n",
        ]
        .concat(),
    )
    .unwrap();
    assert_refused(&env, "a.db", &store, &journal, &[":3: not UTF-8"]);
    fs::write(&other, &good_other).unwrap();

    // An object whose UID is not its file name.
    let obj = room.join("objects/event2@example.com");
    let good_obj = fs::read_to_string(&obj).unwrap();
    fs::write(&obj, good_obj.replace("UID:event2@", "UID:other@")).unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &["objects/event2@example.com", "UID \"other@example.com\""],
    );
    fs::write(&obj, &good_obj).unwrap();

    // A quota limit that is not a duration (PT1D, which 0.3 silently ignored).
    let limits = journal.join("cars/limits");
    fs::write(&limits, "*\tPT1D\n").unwrap();
    assert_refused(&env, "a.db", &store, &journal, &["cars/limits:1:", "PT1D"]);
    fs::write(&limits, "*\tPT1H\n").unwrap();

    // An entry that is not part of the layout, and a symbolic link out of the store.
    fs::write(room.join("notes.txt"), "x").unwrap();
    assert_refused(
        &env,
        "a.db",
        &store,
        &journal,
        &["notes.txt", "not part of"],
    );
    fs::remove_file(room.join("notes.txt")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", room.join("objects/escape")).unwrap();
        assert_refused(&env, "a.db", &store, &journal, &["escape", "symbolic link"]);
        fs::remove_file(room.join("objects/escape")).unwrap();
    }

    // The repaired copy imports.
    env.import_files("a.db", &store, &journal).ok();
}

#[test]
fn a_failure_while_writing_rolls_everything_back() {
    let env = Env::new();
    // The last things written are the journal's objects: make the database refuse them.
    {
        let mut s = env.open("t.db", "20141001T000000Z");
        s.connection()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON quota_objects \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .unwrap();
    }
    let run = env.import_fixture("t.db");
    assert!(run.fails(1).contains("injected failure"));
    let mut s = env.open("t.db", "20141001T000000Z");
    assert!(s.users().unwrap().is_empty());
    assert!(s.journal().quotas().unwrap().is_empty());
    let changes = s
        .connection()
        .query("SELECT count(*) FROM calstore_changes", &[])
        .unwrap();
    assert_eq!(changes[0].get::<i64>(0).unwrap(), 0);
}

#[test]
fn existing_users_need_merge_and_merging_is_idempotent() {
    let env = Env::new();
    env.import_fixture("t.db").ok();
    let before = dump(&mut env.open("t.db", "20141001T000000Z"));
    let again = env.import_fixture("t.db");
    assert!(again.fails(1).contains(&format!(
        "already holds user {PAUL}; import into a new database"
    )));
    let merged = calstore(&[
        "--db",
        &env.db("t.db"),
        "import-imip-agent",
        "--merge",
        "--store",
        fixture().join("store").to_str().unwrap(),
        "--journal",
        fixture().join("journal").to_str().unwrap(),
    ]);
    merged.ok();
    assert_eq!(dump(&mut env.open("t.db", "20141001T000000Z")), before);
}

#[test]
fn repairs_and_what_is_not_imported_are_reported() {
    let env = Env::new();
    let (store, journal) = env.fixture_copy();
    // 0.3's file store can leave an object both active and cancelled.
    let room = store.join(ROOM);
    fs::create_dir_all(room.join("cancellations/objects")).unwrap();
    fs::copy(
        room.join("objects/event3@example.com"),
        room.join("cancellations/objects/event3@example.com"),
    )
    .unwrap();
    // A cancelled journal copy, and the journal's providers (no calstore table).
    let cars = journal.join("cars");
    fs::create_dir_all(cars.join("cancellations/objects")).unwrap();
    fs::write(
        cars.join("cancellations/objects/q2@example.com"),
        fs::read_to_string(cars.join("objects/q1@example.com"))
            .unwrap()
            .replace("q1@", "q2@"),
    )
    .unwrap();
    fs::write(
        cars.join("freebusy-providers"),
        "20150101T000000Z\nq9@example.com\t\n",
    )
    .unwrap();
    // A CRLF line, a blank line and a duplicate request.
    fs::write(
        store.join(PAUL).join("requests"),
        "pevent1@example.com\t\tCOUNTER\r\n\npevent1@example.com\t\t\n",
    )
    .unwrap();
    let out = env.import_files("t.db", &store, &journal);
    let text = out.ok();
    assert!(
        text.contains(
            "fixed: 2 duplicates dropped, 1 unsorted free/busy file sorted, \
             1 cancelled copy of active objects dropped\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("not imported: ")
            && text.contains("cars/freebusy-providers (1 provider of quota cars"),
        "{text}"
    );
    let mut s = env.open("t.db", "20141001T000000Z");
    assert!(
        s.get_events(ROOM)
            .unwrap()
            .contains(&"event3@example.com".to_owned())
    );
    assert!(
        !s.get_cancelled_events(ROOM)
            .unwrap()
            .contains(&"event3@example.com".to_owned())
    );
    assert_eq!(
        s.get_requests(PAUL).unwrap(),
        [Request {
            uid: "pevent1@example.com".into(),
            rid: None,
            kind: Some("COUNTER".into())
        }]
    );
    let status = s
        .connection()
        .query(
            "SELECT status FROM quota_objects WHERE quota = 'cars' AND object_uid = 'q2@example.com'",
            &[],
        )
        .unwrap();
    assert_eq!(status[0].get::<String>(0).unwrap(), "cancelled");
    // The journal's cancelled copy is exported under cancellations/ again.
    let out_journal = env.path("out-journal");
    calstore(&[
        "--db",
        &env.db("t.db"),
        "export-imip-agent",
        "--store",
        env.path("out-store").to_str().unwrap(),
        "--journal",
        out_journal.to_str().unwrap(),
    ])
    .ok();
    assert!(
        out_journal
            .join("cars/cancellations/objects/q2@example.com")
            .is_file()
    );
}

#[test]
fn organiser_entries_are_exported_with_the_group_entries() {
    let env = Env::new();
    {
        let mut s = env.open("t.db", "20141001T000000Z");
        let p = booked(
            "20141010T080000Z",
            "20141010T090000Z",
            "q7@example.com",
            None,
            "Across the quota",
            PAUL,
        );
        s.journal()
            .add_user_entries("cars", PAUL, "q7@example.com", None, &[p])
            .unwrap();
    }
    let journal = env.path("journal");
    calstore(&[
        "--db",
        &env.db("t.db"),
        "export-imip-agent",
        "--store",
        env.path("store").to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        fs::read_to_string(journal.join("cars/freebusy-other").join(PAUL)).unwrap(),
        format!(
            "20141010T080000Z\t20141010T090000Z\tq7@example.com\tOPAQUE\t\tAcross the quota\t\
             {PAUL}\t{PAUL}\n"
        )
    );
}

#[test]
fn usage_errors() {
    let env = Env::new();
    let r = calstore(&["--db", &env.db("t.db"), "import-imip-agent"]);
    assert!(r.fails(2).contains("--store"));
    let r = calstore(&[
        "--db",
        &env.db("t.db"),
        "import-imip-agent",
        "--journal",
        "j",
        "--from-postgres",
        "postgres://x/y",
    ]);
    r.fails(2);
    let r = calstore(&[
        "--db",
        &env.db("t.db"),
        "import-imip-agent",
        "--store",
        env.path("missing").to_str().unwrap(),
    ]);
    assert!(r.fails(1).contains("cannot open the store directory"));
    assert!(
        !env.path("t.db").exists(),
        "nothing is created before the input is read"
    );
    let r = calstore(&["copy", "--from", &env.db("t.db")]);
    r.fails(2);
    let r = calstore(&["copy", "--from", &env.db("t.db"), "--to", &env.db("t.db")]);
    assert!(r.fails(2).contains("same database"));
    let r = calstore(&[
        "copy",
        "--from",
        &env.db("missing.db"),
        "--to",
        &env.db("u.db"),
    ]);
    assert!(r.fails(1).contains("cannot open the source database"));
    assert!(
        !env.path("missing.db").exists(),
        "the source is never created"
    );
    let r = calstore(&["copy", "--from", "sqlite::memory:", "--to", &env.db("u.db")]);
    assert!(r.fails(1).contains("holds no calstore data"));
}

// ---- copy -----------------------------------------------------------------------------------

#[test]
fn copy_sqlite_to_sqlite_is_verified_and_idempotent() {
    let env = Env::new();
    env.import_fixture("a.db").ok();
    // The target already holds a user of its own: it is kept.
    {
        let mut b = env.open("b.db", "20141001T000000Z");
        b.set_freebusy(
            "mailto:keep@example.com",
            &[period(
                "20141010T080000Z",
                "20141010T090000Z",
                Some("k"),
                None,
            )],
        )
        .unwrap();
    }
    // The target holds data: refused unless the command says what to do with it.
    let refused = calstore(&[
        "copy",
        "--source",
        &env.db("a.db"),
        "--target",
        &env.db("b.db"),
    ]);
    let message = refused.fails(1);
    assert!(
        message.contains("not empty")
            && message.contains("mailto:keep@example.com")
            && message.contains("--replace")
            && message.contains("--merge"),
        "{message}"
    );
    assert_eq!(
        env.open("b.db", "20141001T000000Z").users().unwrap().len(),
        1
    );
    for _ in 0..2 {
        let out = calstore(&[
            "copy",
            "--source",
            &env.db("a.db"),
            "--target",
            &env.db("b.db"),
            "--replace",
        ]);
        let text = out.ok();
        assert!(
            text.starts_with("copied ")
                && text.contains("(4 users and 2 quotas) in one transaction"),
            "{text}"
        );
        assert!(
            text.contains("kept: 1 user(s) and quota(s) only the target holds"),
            "{text}"
        );
        assert!(
            text.contains("verified for the 4 users and 2 quotas copied: "),
            "{text}"
        );
    }
    let mut a = env.open("a.db", "20141001T000000Z");
    let mut b = env.open("b.db", "20141001T000000Z");
    assert_eq!(b.users().unwrap().len(), 5);
    // Without the target's own user, the target holds exactly the source's rows: every
    // table, the revisions and the change journal included.
    for sql in [
        "DELETE FROM freebusy WHERE store_user = 'mailto:keep@example.com'",
        "DELETE FROM calstore_revisions WHERE owner = 'mailto:keep@example.com'",
        "DELETE FROM calstore_changes WHERE owner = 'mailto:keep@example.com'",
    ] {
        b.connection().execute(sql, &[]).unwrap();
    }
    assert_eq!(raw_dump(a.connection()), raw_dump(b.connection()));
    assert_eq!(dump(&mut a), dump(&mut b));
}

/// `--merge` copies only the users and quotas the target does not hold; those it holds are
/// left exactly as they were, and the report names them.
#[test]
fn copy_merge_leaves_what_the_target_holds() {
    let env = Env::new();
    env.import_fixture("a.db").ok();
    let source_users = env.open("a.db", "20141001T000000Z").users().unwrap();
    let shared = source_users[0].clone();
    {
        let mut b = env.open("b.db", "20141001T000000Z");
        let mine = period("20141010T080000Z", "20141010T090000Z", Some("mine"), None);
        b.set_freebusy(&shared, std::slice::from_ref(&mine))
            .unwrap();
    }
    let before = env
        .open("b.db", "20141001T000000Z")
        .get_freebusy(&shared)
        .unwrap();
    let text = calstore(&[
        "copy",
        "--source",
        &env.db("a.db"),
        "--target",
        &env.db("b.db"),
        "--merge",
    ])
    .ok()
    .to_owned();
    assert!(
        text.contains("(3 users and 2 quotas) in one transaction"),
        "{text}"
    );
    assert!(
        text.contains("left as they were (--merge): 1 user and 0 quotas the target held already")
            && text.contains(&shared),
        "{text}"
    );
    let mut a = env.open("a.db", "20141001T000000Z");
    let mut b = env.open("b.db", "20141001T000000Z");
    assert_eq!(b.users().unwrap(), source_users);
    assert_eq!(
        b.get_freebusy(&shared).unwrap(),
        before,
        "the target's user is untouched"
    );
    for user in source_users.iter().filter(|u| **u != shared) {
        assert_eq!(b.get_freebusy(user).unwrap(), a.get_freebusy(user).unwrap());
    }
    let r = calstore(&[
        "copy",
        "--source",
        &env.db("a.db"),
        "--target",
        &env.db("b.db"),
        "--merge",
        "--replace",
    ]);
    r.fails(2);
}

mod postgres {
    use super::*;
    use calstore_core::Value;
    use calstore_native::PgConnection;
    use std::sync::atomic::{AtomicU64, Ordering};

    const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

    /// A schema of its own on the test server, dropped at the end.
    struct Schema {
        url: String,
        name: String,
        conn: PgConnection,
    }

    impl Schema {
        fn new() -> Schema {
            let url = match std::env::var(URL_VAR) {
                Ok(u) if !u.trim().is_empty() => u,
                _ => panic!(
                    "{URL_VAR} is not set, but the postgres feature is on: start a server with \
                     `export \"$(scripts/pg-test-cluster.sh start /tmp/calstore-pg)\"` or run \
                     without the postgres feature"
                ),
            };
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "migrate_{}_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let mut conn = PgConnection::connect(&url).expect("connect to the test server");
            conn.execute_batch(&format!("CREATE SCHEMA {name}"))
                .unwrap();
            conn.set_search_path(&name).unwrap();
            Schema { url, name, conn }
        }

        /// A URL whose connections use only this schema.
        fn url(&self) -> String {
            let sep = if self.url.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-csearch_path%3D{}", self.url, self.name)
        }

        fn insert(&mut self, table: &str, values: &[Option<&str>]) {
            let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
            let params: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
            self.conn
                .execute(
                    &format!("INSERT INTO {table} VALUES ({})", placeholders.join(", ")),
                    &params,
                )
                .unwrap();
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = self
                .conn
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }

    /// imip-agent 0.3's tables (§3 of the reconstruction): all text, keys where it has them.
    const IMIP_SCHEMA: &str = r#"
CREATE TABLE objects (store_user text, object_uid text, object_text text, status text,
    PRIMARY KEY (store_user, object_uid));
CREATE TABLE recurrences (store_user text, object_uid text, object_recurrenceid text,
    object_text text, status text, PRIMARY KEY (store_user, object_uid, object_recurrenceid));
CREATE TABLE countered_objects (store_user text, other text, object_uid text, object_text text,
    PRIMARY KEY (store_user, other, object_uid));
CREATE TABLE countered_recurrences (store_user text, other text, object_uid text,
    object_recurrenceid text, object_text text,
    PRIMARY KEY (store_user, other, object_uid, object_recurrenceid));
CREATE TABLE freebusy (store_user text, "start" text, "end" text, object_uid text, transp text,
    object_recurrenceid text, summary text, organiser text);
CREATE TABLE freebusy_offers (store_user text, "start" text, "end" text, object_uid text,
    transp text, object_recurrenceid text, summary text, organiser text, expires text);
CREATE TABLE freebusy_other (store_user text, other text, "start" text, "end" text,
    object_uid text, transp text, object_recurrenceid text, summary text, organiser text);
CREATE TABLE freebusy_providers (store_user text, object_uid text, object_recurrenceid text);
CREATE TABLE freebusy_provider_datetimes (store_user text PRIMARY KEY, "start" text);
CREATE TABLE requests (store_user text, object_uid text, object_recurrenceid text,
    request_type text);
CREATE TABLE journal_objects (store_user text, object_uid text, object_text text, status text,
    PRIMARY KEY (store_user, object_uid));
CREATE TABLE journal_recurrences (store_user text, object_uid text, object_recurrenceid text,
    object_text text, status text, PRIMARY KEY (store_user, object_uid, object_recurrenceid));
CREATE TABLE journal_freebusy_other (store_user text, other text, "start" text, "end" text,
    object_uid text, transp text, object_recurrenceid text, summary text, organiser text,
    attendee text);
CREATE TABLE journal_freebusy_providers (store_user text, object_uid text,
    object_recurrenceid text);
CREATE TABLE journal_freebusy_provider_datetimes (store_user text PRIMARY KEY, "start" text);
CREATE TABLE quota_delegates (quota text, store_user text, PRIMARY KEY (quota, store_user));
CREATE TABLE quota_limits (quota text, user_group text, quota_limit text,
    PRIMARY KEY (quota, user_group));
CREATE TABLE user_groups (quota text, store_user text, user_group text,
    PRIMARY KEY (quota, store_user));
"#;

    /// The fixture's scenarios as imip-agent 0.3's database store holds them: rows in
    /// insertion order (not sorted), NULL where the file store has empty fields or OPAQUE
    /// for received free/busy, and the duplicate the database does not drop.
    fn fill(s: &mut Schema) {
        s.conn.execute_batch(IMIP_SCHEMA).unwrap();
        let room = format!("store/{ROOM}");
        let obj = |rel: &str| fixture_text(rel);
        for (uid, status, rel) in [
            (
                "event1@example.com",
                "cancelled",
                format!("{room}/cancellations/objects/event1@example.com"),
            ),
            (
                "event2@example.com",
                "active",
                format!("{room}/objects/event2@example.com"),
            ),
            (
                "event3@example.com",
                "active",
                format!("{room}/objects/event3@example.com"),
            ),
            (
                "event4@example.com",
                "active",
                format!("{room}/objects/event4@example.com"),
            ),
        ] {
            let text = obj(&rel);
            s.insert(
                "objects",
                &[Some(ROOM), Some(uid), Some(&text), Some(status)],
            );
        }
        for (rid, status, rel) in [
            (
                "20141017T140000Z",
                "active",
                format!("{room}/recurrences/event4@example.com/20141017T140000Z"),
            ),
            (
                "20141024T140000Z",
                "cancelled",
                format!("{room}/cancellations/recurrences/event4@example.com/20141024T140000Z"),
            ),
        ] {
            let text = obj(&rel);
            s.insert(
                "recurrences",
                &[
                    Some(ROOM),
                    Some("event4@example.com"),
                    Some(rid),
                    Some(&text),
                    Some(status),
                ],
            );
        }
        let fb = |s: &mut Schema, table: &str, owner: &[&str], row: &[&str]| {
            let mut v: Vec<Option<&str>> = owner.iter().map(|o| Some(*o)).collect();
            v.extend(row.iter().map(|f| (!f.is_empty()).then_some(*f)));
            s.insert(table, &v);
        };
        // Insertion order, not sorted.
        for row in [
            [
                "20141017T160000Z",
                "20141017T170000Z",
                "event4@example.com",
                "OPAQUE",
                "20141017T140000Z",
                "Weekly meeting (moved)",
                PAUL,
            ],
            [
                "20141010T140000Z",
                "20141010T150000Z",
                "event4@example.com",
                "OPAQUE",
                "",
                "Weekly meeting",
                PAUL,
            ],
            [
                "20141010T080000Z",
                "20141010T090000Z",
                "event3@example.com",
                "OPAQUE",
                "",
                "Meeting at 10am",
                PAUL,
            ],
        ] {
            fb(s, "freebusy", &[ROOM], &row);
        }
        fb(
            s,
            "freebusy_offers",
            &[ROOM],
            &[
                "20141010T141500Z",
                "20141010T151500Z",
                "event6@example.com",
                "OPAQUE",
                "",
                "Meeting at 4:05pm",
                PAUL,
                "20141001T100000Z",
            ],
        );
        // F1: received free/busy has NULL uid and transp in the database.
        for row in [
            ["20141012T080000Z", "20141012T090000Z", "", "", "", "", ""],
            ["20141010T100000Z", "20141010T110000Z", "", "", "", "", ""],
        ] {
            fb(s, "freebusy_other", &[ROOM, PAUL], &row);
        }
        // S9: the sauna, with one row twice (the database does not deduplicate).
        let text = obj(&format!("store/{SAUNA}/objects/event5@example.com"));
        s.insert(
            "objects",
            &[
                Some(SAUNA),
                Some("event5@example.com"),
                Some(&text),
                Some("active"),
            ],
        );
        let sauna = fixture_text("expected/sauna-freebusy");
        let mut lines: Vec<&str> = sauna.lines().collect();
        lines.push(lines[5]);
        lines.reverse();
        for line in lines {
            let row: Vec<&str> = line.split('\t').collect();
            fb(s, "freebusy", &[SAUNA], &row);
        }
        s.insert(
            "freebusy_providers",
            &[Some(SAUNA), Some("event5@example.com"), None],
        );
        s.insert(
            "freebusy_provider_datetimes",
            &[Some(SAUNA), Some("20150118T000000Z")],
        );
        // P1 and P2.
        let vin = obj(&format!("store/{VINCENT}/objects/pevent1@example.com"));
        s.insert(
            "objects",
            &[
                Some(VINCENT),
                Some("pevent1@example.com"),
                Some(&vin),
                Some("active"),
            ],
        );
        s.insert(
            "requests",
            &[Some(VINCENT), Some("pevent1@example.com"), None, None],
        );
        let pe = [
            "20141013T140000Z",
            "20141013T150000Z",
            "pevent1@example.com",
            "OPAQUE",
            "",
            "Person meeting",
            PAUL,
        ];
        fb(s, "freebusy_other", &[VINCENT, PAUL], &pe);
        let paul = obj(&format!("store/{PAUL}/objects/pevent1@example.com"));
        s.insert(
            "objects",
            &[
                Some(PAUL),
                Some("pevent1@example.com"),
                Some(&paul),
                Some("active"),
            ],
        );
        fb(s, "freebusy", &[PAUL], &pe);
        let counter = obj(&format!(
            "store/{PAUL}/counters/objects/pevent1@example.com/{VINCENT}"
        ));
        s.insert(
            "countered_objects",
            &[
                Some(PAUL),
                Some(VINCENT),
                Some("pevent1@example.com"),
                Some(&counter),
            ],
        );
        s.insert(
            "requests",
            &[
                Some(PAUL),
                Some("pevent1@example.com"),
                None,
                Some("COUNTER"),
            ],
        );
        // Q1 and Q3.
        s.insert("quota_limits", &[Some("cars"), Some("*"), Some("PT1H")]);
        s.insert("quota_delegates", &[Some("cars"), Some(PORSCHE)]);
        s.insert("quota_delegates", &[Some("cars"), Some(FIAT)]);
        fb(
            s,
            "journal_freebusy_other",
            &["cars", PAUL],
            &[
                "20141010T080000Z",
                "20141010T090000Z",
                "q1@example.com",
                "OPAQUE",
                "",
                "Quota test q1",
                PAUL,
                PORSCHE,
            ],
        );
        fb(
            s,
            "journal_freebusy_other",
            &["cars", VINCENT],
            &[
                "20141010T100000Z",
                "20141010T103000Z",
                "q3@example.com",
                "OPAQUE",
                "",
                "Quota test q3",
                VINCENT,
                FIAT,
            ],
        );
        for (quota, uid) in [("cars", "q1"), ("cars", "q3"), (ROOM, "q5"), (ROOM, "q6")] {
            let text = obj(&format!("journal/{quota}/objects/{uid}@example.com"));
            s.insert(
                "journal_objects",
                &[
                    Some(quota),
                    Some(&format!("{uid}@example.com")),
                    Some(&text),
                    Some("active"),
                ],
            );
        }
        s.insert("user_groups", &[Some(ROOM), Some(PAUL), Some("staff")]);
        s.insert("quota_limits", &[Some(ROOM), Some("*"), Some("PT1H")]);
        s.insert("quota_limits", &[Some(ROOM), Some("staff"), Some("*")]);
        fb(
            s,
            "journal_freebusy_other",
            &[ROOM, "staff"],
            &[
                "20141011T080000Z",
                "20141011T110000Z",
                "q5@example.com",
                "OPAQUE",
                "",
                "Quota test q5",
                PAUL,
                ROOM,
            ],
        );
        fb(
            s,
            "journal_freebusy_other",
            &[ROOM, HARVEY],
            &[
                "20141011T120000Z",
                "20141011T130000Z",
                "q6@example.com",
                "OPAQUE",
                "",
                "Quota test q6",
                HARVEY,
                ROOM,
            ],
        );
    }

    fn import_pg(env: &Env, db: &str, url: &str) -> Run {
        calstore(&[
            "--db",
            &env.db(db),
            "import-imip-agent",
            "--from-postgres",
            url,
        ])
    }

    #[test]
    fn postgres_import_matches_the_file_import() {
        let env = Env::new();
        let mut schema = Schema::new();
        fill(&mut schema);
        let out = import_pg(&env, "pg.db", &schema.url());
        let text = out.ok();
        assert!(
            text.starts_with(
                "imported 4 users and 2 quotas from imip-agent 0.3 PostgreSQL tables\n  \
                 store: 9 objects (2 cancelled), 1 counter-proposal, 18 free/busy periods, \
                 1 offer, 3 periods of others, 1 providers record, 2 requests\n  \
                 journal: 3 limits, 1 group membership, 2 delegates, 4 entries, 4 objects\n  \
                 fixed: 1 duplicate dropped, 2 periods without transp recorded as OPAQUE\n"
            ),
            "{text}"
        );
        env.import_fixture("files.db").ok();
        let from_pg = dump(&mut env.open("pg.db", "20141001T000000Z"));
        let from_files = dump(&mut env.open("files.db", "20141001T000000Z"));
        assert_eq!(from_pg, from_files);
    }

    #[test]
    fn postgres_bad_rows_are_refused_whole() {
        let env = Env::new();
        let mut schema = Schema::new();
        fill(&mut schema);
        let url = schema.url();
        schema.insert("requests", &[Some(PAUL), Some(".."), None, None]);
        let r = import_pg(&env, "t.db", &url);
        let line = r.fails(1);
        assert!(line.contains("imip-agent table requests"), "{line}");
        assert!(line.contains("uid \"..\" is refused"), "{line}");
        assert!(!env.path("t.db").exists(), "nothing is written");
        schema
            .conn
            .execute_batch("DELETE FROM requests WHERE object_uid = '..'")
            .unwrap();
        schema.insert(
            "freebusy",
            &[
                Some(PAUL),
                Some("20141099T000000Z"),
                Some("20141010T000000Z"),
                None,
                None,
                None,
                None,
                None,
            ],
        );
        let line = import_pg(&env, "t.db", &url).fails(1).to_owned();
        assert!(
            line.contains("imip-agent table freebusy") && line.contains("bad start"),
            "{line}"
        );
        // The calstore database and imip-agent's tables must not share a schema.
        let same = calstore(&["--db", &url, "import-imip-agent", "--from-postgres", &url]);
        assert!(same.fails(2).contains("different databases or schemas"));
        // A schema without any imip-agent table.
        let empty = Schema::new();
        let line = import_pg(&env, "t.db", &empty.url()).fails(1).to_owned();
        assert!(line.contains("no imip-agent 0.3 table"), "{line}");
    }

    #[test]
    fn import_into_postgres_is_one_transaction() {
        let env = Env::new();
        let schema = Schema::new();
        let mut conn = PgConnection::connect(&schema.url).unwrap();
        conn.set_search_path(&schema.name).unwrap();
        let mut p = Store::open(conn, Box::new(FixedClock::new(t("20141001T000000Z")))).unwrap();
        // The journal's objects are written last: refuse them.
        p.connection()
            .execute_batch(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
                 CREATE TRIGGER refuse BEFORE INSERT ON quota_objects \
                 FOR EACH ROW EXECUTE FUNCTION refuse()",
            )
            .unwrap();
        let import = || {
            calstore(&[
                "--db",
                &schema.url(),
                "import-imip-agent",
                "--store",
                fixture().join("store").to_str().unwrap(),
                "--journal",
                fixture().join("journal").to_str().unwrap(),
            ])
        };
        assert!(import().fails(1).contains("injected failure"));
        assert!(p.users().unwrap().is_empty());
        let rows = p
            .connection()
            .query("SELECT count(*) FROM calstore_changes", &[])
            .unwrap();
        assert_eq!(rows[0].get::<i64>(0).unwrap(), 0);
        p.connection()
            .execute_batch("DROP TRIGGER refuse ON quota_objects")
            .unwrap();
        import().ok();
        env.import_fixture("files.db").ok();
        assert_eq!(
            dump(&mut p),
            dump(&mut env.open("files.db", "20141001T000000Z"))
        );
    }

    #[test]
    fn copy_through_postgres_round_trips() {
        let env = Env::new();
        env.import_fixture("a.db").ok();
        let schema = Schema::new();
        let pg = schema.url();
        for _ in 0..2 {
            calstore(&["copy", "--from", &env.db("a.db"), "--to", &pg, "--replace"]).ok();
        }
        calstore(&["copy", "--from", &pg, "--to", &env.db("b.db")]).ok();
        // Back again, into a database that already holds it all.
        calstore(&["copy", "--from", &pg, "--to", &env.db("b.db"), "--replace"]).ok();
        let mut a = env.open("a.db", "20141001T000000Z");
        let mut b = env.open("b.db", "20141001T000000Z");
        let raw = raw_dump(a.connection());
        assert_eq!(raw, raw_dump(b.connection()));
        assert!(
            raw.contains("calstore_changes: ") && raw.contains("freebusy: 18 rows"),
            "{raw}"
        );
        assert_eq!(dump(&mut a), dump(&mut b));
        // The free/busy on PostgreSQL equals the source's, through the API.
        let mut conn = PgConnection::connect(&schema.url).unwrap();
        conn.set_search_path(&schema.name).unwrap();
        let mut p = Store::open(conn, Box::new(FixedClock::new(t("20141001T000000Z")))).unwrap();
        for user in a.users().unwrap() {
            assert_eq!(
                p.get_freebusy(&user).unwrap(),
                a.get_freebusy(&user).unwrap()
            );
        }
        assert_eq!(p.revision(ROOM).unwrap(), a.revision(ROOM).unwrap());
    }
}
