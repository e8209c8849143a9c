//! Crashes on native SQLite (spec §C.5 scenarios 4, 5 and 6):
//!
//! - durability of the disk tables: a child process commits inserts (set- and bag-like
//!   rows), updates and deletes of the account tables in a loop and is killed with SIGKILL at
//!   an arbitrary moment; every commit it announced is there, exactly (compared with the same
//!   steps replayed on a fresh database);
//! - memory tables: a child killed with SIGKILL comes back to its last complete snapshot,
//!   also when killed in the middle of taking one;
//! - a corrupt newest snapshot (head garbled, tail cut, tail garbled, a page garbled under a
//!   matching checksum, every generation bad) falls back to an older generation and says so;
//!   generations beyond `keep` are deleted.
//!
//! The child processes are this test binary run again with `CALSTORE_MEMORY_CHILD` set: its
//! test `child_process_entry` then plays the child's part (and does nothing otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use calstore_core::accounts::connections::{self, ClientInfo, Peer};
use calstore_core::accounts::open::OpenReport;
use calstore_core::accounts::{
    ConnectionOutcome, GrantRole, LiveSession, NewAccount, PasswordPolicy, Purpose, Throttle,
    ThrottleKind, account, grants,
};
use calstore_core::schema::storage::{RestoreOutcome, StorageConnection};
use calstore_core::typed::{
    CalendarUri, Digest, EmailAddress, Id, Int, Login, PasswordHash, Port, SoftRef, rows,
};
use calstore_core::{SqlConnection, StoreError};
use calstore_native::{SqliteConnection, SqliteSnapshots};
use calstore_tests::typed::{at, key, write};

const CHILD_MODE: &str = "CALSTORE_MEMORY_CHILD";
const CHILD_DB: &str = "CALSTORE_MEMORY_DB";

fn open(
    path: &Path,
    purpose: Purpose,
) -> Result<(StorageConnection<SqliteConnection>, OpenReport), StoreError> {
    calstore_core::accounts::open(
        SqliteConnection::open(path).unwrap(),
        Box::new(SqliteSnapshots::beside(path)),
        &key(),
        purpose,
        at(0),
    )
}

fn throttle(n: u32) -> Throttle {
    let mut subject = [0u8; 32];
    subject[..4].copy_from_slice(&n.to_be_bytes());
    Throttle {
        kind: ThrottleKind::Address,
        subject: Digest::new(subject),
        failures: Int::new(1).unwrap(),
        last_failure_at: at(1),
        locked_until: None,
    }
}

fn session(n: u32) -> LiveSession {
    // Ids start at 1.
    LiveSession {
        connection_id: SoftRef::new(Id::new(i64::from(n) + 1).unwrap()),
        account_id: SoftRef::new(Id::new(i64::from(n) + 1).unwrap()),
        slot: Int::new(1).unwrap(),
        since: at(1),
    }
}

/// Writes rows `from..to` into both memory tables, in one transaction.
fn write_rows<C: SqlConnection>(c: &mut C, from: u32, to: u32) {
    write(c, |c| {
        for n in from..to {
            rows::insert_row(c, &throttle(n))?;
            rows::insert_row(c, &session(n))?;
        }
        Ok(())
    })
    .unwrap();
}

/// The rows of both memory tables, as numbers.
fn numbers<C: SqlConnection>(c: &mut C) -> (Vec<u32>, Vec<u32>) {
    let t: Vec<Throttle> = rows::select_records(c, "ORDER BY subject", &[]).unwrap();
    let s: Vec<LiveSession> = rows::select_records(c, "ORDER BY connection_id", &[]).unwrap();
    (
        t.iter()
            .map(|t| u32::from_be_bytes(t.subject.as_bytes()[..4].try_into().unwrap()))
            .collect(),
        s.iter()
            .map(|s| u32::try_from(s.connection_id.id().get() - 1).unwrap())
            .collect(),
    )
}

fn range(from: u32, to: u32) -> (Vec<u32>, Vec<u32>) {
    ((from..to).collect(), (from..to).collect())
}

/// A database with three snapshot generations per memory table: rows 0..1, 0..2, 0..3.
fn three_generations() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mem.sqlite");
    let (mut c, _) = open(&path, Purpose::Logins).unwrap();
    for g in 1..=3 {
        write_rows(&mut c, g - 1, g);
        c.snapshot(None, at(i64::from(g))).unwrap();
    }
    drop(c);
    (dir, path)
}

fn newest(path: &Path, table: &str) -> PathBuf {
    SqliteSnapshots::beside(path).generations(table).unwrap()[0]
        .path
        .clone()
}

fn overwrite(file: &Path, at: SeekFrom, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(file).unwrap();
    f.seek(at).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn corrupt_newest_snapshot_falls_back_and_says_so() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 4] = [
        ("head garbled", |f| {
            overwrite(f, SeekFrom::Start(0), &[0xff; 100])
        }),
        ("tail cut", |f| {
            let len = fs::metadata(f).unwrap().len();
            OpenOptions::new()
                .write(true)
                .open(f)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        }),
        ("tail garbled", |f| {
            overwrite(f, SeekFrom::End(-64), &[0x5a; 64])
        }),
        ("emptied", |f| {
            fs::write(f, b"").unwrap();
        }),
    ];
    for (what, damage) in damages {
        let (_dir, path) = three_generations();
        for table in ["live_sessions", "login_throttle"] {
            damage(&newest(&path, table));
        }
        let (mut c, _) = open(&path, Purpose::Admin).unwrap();
        assert_eq!(numbers(&mut c), range(0, 2), "{what}");
        let report = c.restore_report().clone();
        for t in &report.tables {
            assert_eq!(
                t.outcome,
                RestoreOutcome::Restored {
                    generation: 2,
                    rows: 2
                },
                "{what}"
            );
            assert_eq!(t.skipped.len(), 1, "{what}");
            assert_eq!(t.skipped[0].generation, 3);
            assert!(
                t.skipped[0].reason.contains("checksum"),
                "{what}: {:?}",
                t.skipped
            );
        }
        let warnings = report.warnings();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("live_sessions: snapshot generation 3 skipped"));
        assert_eq!(
            warnings[1],
            "live_sessions: restored from the older generation 2 (2 rows)"
        );
    }
}

/// A file whose checksum matches but whose pages are garbage (the checksum renamed along):
/// SQLite's own checks refuse it.
#[test]
fn integrity_check_refuses_what_the_checksum_lets_through() {
    let (_dir, path) = three_generations();
    let file = newest(&path, "login_throttle");
    let len = fs::metadata(&file).unwrap().len();
    // Garble everything after the first page (the header stays valid).
    overwrite(
        &file,
        SeekFrom::Start(4096),
        &vec![0x77; usize::try_from(len - 4096).unwrap()],
    );
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    let parts: Vec<&str> = name.split('.').collect();
    let sum = {
        use blake2::{Blake2b512, Digest as _};
        let bytes = fs::read(&file).unwrap();
        Blake2b512::digest(&bytes)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let renamed = file.with_file_name(format!("{}.{}.{sum}.sqlite", parts[0], parts[1]));
    fs::rename(&file, &renamed).unwrap();
    let (mut c, _) = open(&path, Purpose::Admin).unwrap();
    let (throttles, sessions) = numbers(&mut c);
    assert_eq!(throttles, [0, 1]);
    assert_eq!(sessions, [0, 1, 2]);
    let t = &c.restore_report().tables[1];
    assert_eq!(t.table, "login_throttle");
    assert_eq!(t.skipped.len(), 1);
    assert!(
        t.skipped[0].reason.starts_with("integrity check"),
        "{:?}",
        t.skipped
    );
}

#[test]
fn no_usable_snapshot_starts_empty_and_says_so() {
    let (_dir, path) = three_generations();
    for file in SqliteSnapshots::beside(&path)
        .generations("live_sessions")
        .unwrap()
    {
        overwrite(&file.path, SeekFrom::Start(0), b"not a database");
    }
    let (mut c, _) = open(&path, Purpose::Admin).unwrap();
    let (throttles, sessions) = numbers(&mut c);
    assert_eq!(throttles, [0, 1, 2]);
    assert!(sessions.is_empty());
    let live = &c.restore_report().tables[0];
    assert_eq!(live.outcome, RestoreOutcome::Empty);
    assert_eq!(live.skipped.len(), 3);
    assert!(
        c.restore_report()
            .warnings()
            .contains(&"live_sessions: no usable snapshot; the table starts empty".to_owned())
    );
}

/// Generations beyond the table's `keep` (3 for the account tables) are deleted; no
/// temporary file stays; the directory is private.
#[test]
fn generations_beyond_keep_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mem.sqlite");
    let (mut c, _) = open(&path, Purpose::Logins).unwrap();
    for g in 1..=5 {
        write_rows(&mut c, g, g + 1);
        c.snapshot(None, at(i64::from(g))).unwrap();
    }
    let snapshots = SqliteSnapshots::beside(&path);
    for table in ["live_sessions", "login_throttle"] {
        let gens: Vec<u64> = snapshots
            .generations(table)
            .unwrap()
            .iter()
            .map(|f| f.generation)
            .collect();
        assert_eq!(gens, [5, 4, 3], "{table}");
    }
    let mut names: Vec<String> = fs::read_dir(snapshots.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(names.contains(&"owner.lock".to_owned()));
    assert!(!names.iter().any(|n| n.ends_with(".tmp")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(snapshots.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // The memory tables are not in the database file.
    drop(c);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('live_sessions', 'login_throttle')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
}

// ---- child processes ---------------------------------------------------------------------

/// Runs the child's part when `CALSTORE_MEMORY_CHILD` is set (the parent tests below start
/// this binary again); otherwise nothing.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(CHILD_DB).unwrap());
    let (mut c, _) = open(&path, Purpose::Logins).unwrap();
    let mut out = std::io::stdout();
    match mode.as_str() {
        // Scenario 5: write A, snapshot, write B, wait to be killed.
        "a-snapshot-b" => {
            write_rows(&mut c, 0, 2);
            c.snapshot(None, at(1)).unwrap();
            write_rows(&mut c, 2, 3);
            writeln!(out, "ready").unwrap();
        }
        // Snapshots in a loop, each announced once complete, until killed.
        "snapshot-loop" => {
            write_rows(&mut c, 0, 20_000);
            for g in 1.. {
                let taken = c.snapshot(None, at(g)).unwrap();
                writeln!(out, "generation {}", taken[0].generation).unwrap();
                out.flush().unwrap();
            }
        }
        // Disk commits in a loop, each announced once committed.
        "disk-loop" => {
            let hash = cheap_hash();
            for step in 1.. {
                disk_step(&mut c, step, &hash);
                writeln!(out, "committed {step}").unwrap();
                out.flush().unwrap();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
    out.flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

/// Starts this binary as a child in `mode` on `path`; returns it and its stdout lines.
fn spawn_child(
    mode: &str,
    path: &Path,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_entry", "--nocapture"])
        .env(CHILD_MODE, mode)
        .env(CHILD_DB, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Scenario 5 with a real process: A, snapshot, B, `kill -9`, reopen → exactly A; the
/// owner's lock went with the process.
#[test]
fn kill_9_comes_back_to_the_last_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mem.sqlite");
    let (mut child, mut lines) = spawn_child("a-snapshot-b", &path);
    assert!(
        lines.any(|l| l.unwrap() == "ready"),
        "the child did not get ready"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (mut c, _) = open(&path, Purpose::Admin).unwrap();
    assert_eq!(numbers(&mut c), range(0, 2));
    assert!(c.restore_report().warnings().is_empty());
    drop(c);
    let (c, _) = open(&path, Purpose::Logins).unwrap();
    assert!(c.is_owner());
}

/// Killed while taking snapshots (at whatever point of writing, syncing or renaming a
/// file): the reopen restores a complete generation, at least the last one announced, with
/// no warning.
#[test]
fn kill_9_during_a_snapshot_leaves_a_complete_generation() {
    for wait in [2_u64, 3, 5] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mem.sqlite");
        let (mut child, mut lines) = spawn_child("snapshot-loop", &path);
        let mut announced = 0;
        while announced < wait {
            let line = lines.next().expect("the child stopped").unwrap();
            if let Some(g) = line.strip_prefix("generation ") {
                announced = g.parse().unwrap();
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (mut c, _) = open(&path, Purpose::Admin).unwrap();
        assert_eq!(numbers(&mut c), range(0, 20_000));
        for t in &c.restore_report().tables {
            match t.outcome {
                RestoreOutcome::Restored { generation, rows } => {
                    assert!(generation >= announced && rows == 20_000, "{t:?}");
                }
                ref other => panic!("{}: {other:?}", t.table),
            }
            assert!(t.skipped.is_empty(), "{t:?}");
        }
    }
}

// ---- durability of the disk tables -------------------------------------------------------

fn cheap_hash() -> PasswordHash {
    let policy = PasswordPolicy::with_costs(64, 1, 1).unwrap();
    policy
        .hash(&policy.check_new("I love cats", &[]).unwrap(), [3; 16])
        .unwrap()
}

/// Step `n` (from 1) of the disk workload, one transaction: every step appends a connection
/// (a log row); then, in a cycle of four, it registers an account (a set: unique login),
/// grants it two calendars (bag-like: several rows per account), suspends it or re-activates
/// the one suspended a cycle before (updates), and revokes one of its grants (a delete).
fn disk_step<C: SqlConnection>(c: &mut C, n: i64, hash: &PasswordHash) {
    let peer = Peer {
        ip: "192.0.2.1".parse().unwrap(),
        port: Port::new(4000).unwrap(),
    };
    let k = n - 1;
    let id = |cycle: i64| Id::new(cycle + 1).unwrap();
    let cycle = k / 4;
    let calendar = |i: u8| CalendarUri::new(&format!("mailto:cal{cycle}-{i}@example.com")).unwrap();
    write(c, |c| {
        connections::record_refusal(
            c,
            ConnectionOutcome::TimedOut,
            &peer,
            &ClientInfo::default(),
            at(n),
        )?;
        match k % 4 {
            0 => {
                account::register(
                    c,
                    &key(),
                    NewAccount::new(
                        Login::new(&format!("user{cycle}")).unwrap(),
                        EmailAddress::new(&format!("user{cycle}@example.com")).unwrap(),
                        hash.clone(),
                    ),
                    at(n),
                )?;
            }
            1 => {
                grants::grant(c, id(cycle), &calendar(1), GrantRole::Read, at(n))?;
                grants::grant(c, id(cycle), &calendar(2), GrantRole::Write, at(n))?;
            }
            2 if cycle % 2 == 0 => {
                account::suspend(c, id(cycle), at(n))?;
            }
            2 => {
                account::activate(c, id(cycle - 1), at(n))?;
            }
            _ => {
                grants::revoke(c, id(cycle), &calendar(1))?;
            }
        }
        Ok(())
    })
    .unwrap();
}

/// Every disk table's rows, in key order.
fn disk_dump<C: SqlConnection>(c: &mut C) -> Vec<Vec<calstore_core::Value>> {
    let mut out = Vec::new();
    for def in calstore_core::accounts::schema::TABLES
        .iter()
        .filter(|t| !t.storage.is_memory())
    {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            def.column_list(),
            def.name,
            def.primary_key.join(", ")
        );
        for row in c.query(&sql, &[]).unwrap() {
            out.push(row.values().to_vec());
        }
    }
    out
}

/// Scenario 4 with a real process: the disk rows are exactly those of the commits made
/// before the kill (the last announced, or one more committed before its announcement).
#[test]
fn kill_9_keeps_every_committed_disk_row() {
    let hash = cheap_hash();
    for wait in [17_i64, 40] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.sqlite");
        let (mut child, mut lines) = spawn_child("disk-loop", &path);
        let mut announced = 0;
        while announced < wait {
            let line = lines.next().expect("the child stopped").unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                announced = n.parse().unwrap();
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (mut c, _) = open(&path, Purpose::Admin).unwrap();
        let synchronous: i64 = c.query("PRAGMA main.synchronous", &[]).unwrap()[0]
            .get(0)
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
        let found = disk_dump(&mut c);
        // The same steps on a fresh database.
        let model_dir = tempfile::tempdir().unwrap();
        let model_path = model_dir.path().join("model.sqlite");
        let (mut m, _) = open(&model_path, Purpose::Admin).unwrap();
        let mut matched = false;
        for step in 1..=announced + 1 {
            disk_step(&mut m, step, &hash);
            if step >= announced && disk_dump(&mut m) == found {
                matched = true;
                break;
            }
        }
        assert!(
            matched,
            "the database after the kill is not the state after step {announced} or {}",
            announced + 1
        );
    }
}
