//! Storage classes on every backend (spec §C.3, §C.5 scenario 5): memory tables after a crash
//! and after a clean shutdown, each as the backend's reported
//! [`Guarantees`](calstore_core::schema::storage::Guarantees) say; where they
//! live; one owner at a time; snapshots of one table; the recovery at start of the process
//! that serves logins.
//!
//! A "crash" here is dropping the [`StorageConnection`] without [`StorageConnection::close`]:
//! no snapshot is taken, and on SQLite the attached in-memory schema goes with the
//! connection, exactly as with `kill -9` (the native tests also kill a real child process).
//! On PostgreSQL a client crash loses nothing (the server holds the `UNLOGGED` tables); the
//! server's own crash is tested on a private cluster (`tests/tests/memory_postgres.rs`).
//!
//! Every case takes an opener `FnMut(Purpose) -> Result<(StorageConnection<C>, OpenReport)>`
//! whose first call opens a fresh database and whose later calls reopen it (a new connection
//! and a new backend, as a new process would): see [`storage_cases!`](crate::storage_cases).

use calstore_core::accounts::connections::{self, ClientInfo, Peer};
use calstore_core::accounts::open::OpenReport;
use calstore_core::accounts::throttle::ThrottlePolicy;
use calstore_core::accounts::{
    self, ConnectionOutcome, LiveSession, NewAccount, Purpose, Throttle, ThrottleKind,
};
use calstore_core::schema::storage::{
    ClassKind, Event, MemoryPlacement, RestoreOutcome, StorageConnection, Survival,
};
use calstore_core::typed::{Digest, EmailAddress, Int, Login, Port, SoftRef, rows};

use crate::case_names;
use calstore_core::schema::storage::MemoryBackend;
use calstore_core::{Dialect, SqlConnection, StoreError};

use crate::typed::{at, cheap_policy, key, write};

/// What an opener returns.
pub type Opened<C> = Result<(StorageConnection<C>, OpenReport), StoreError>;

/// An opener for the cases: every call connects (`connect`: the first call to a fresh
/// database, later ones to the same) and opens the accounts component with a new backend,
/// at [`at(0)`](at), with [`key()`](key).
pub fn storage_opener<C: SqlConnection>(
    mut connect: impl FnMut() -> C,
    mut backend: impl FnMut() -> Box<dyn MemoryBackend>,
) -> impl FnMut(Purpose) -> Opened<C> {
    move |purpose| accounts::open(connect(), backend(), &key(), purpose, at(0))
}

fn throttle_row(tag: u8, failures: i64) -> Throttle {
    Throttle {
        kind: ThrottleKind::Login,
        subject: Digest::new([tag; 32]),
        failures: Int::new(failures).unwrap(),
        last_failure_at: at(i64::from(tag)),
        locked_until: None,
    }
}

fn session_row(tag: u8) -> LiveSession {
    let id = i64::from(tag);
    LiveSession {
        connection_id: SoftRef::new(calstore_core::typed::Id::new(id).unwrap()),
        account_id: SoftRef::new(calstore_core::typed::Id::new(id).unwrap()),
        slot: Int::new(1).unwrap(),
        since: at(id),
    }
}

/// Writes memory rows tagged `tags` (one throttle counter and one live session each).
pub fn write_memory<C: SqlConnection + ?Sized>(c: &mut C, tags: &[u8]) {
    write(c, |c| {
        for &t in tags {
            rows::insert_row(c, &throttle_row(t, 1))?;
            rows::insert_row(c, &session_row(t))?;
        }
        Ok(())
    })
    .unwrap();
}

/// The memory tables' contents, sorted.
pub fn memory_state<C: SqlConnection + ?Sized>(c: &mut C) -> (Vec<Throttle>, Vec<LiveSession>) {
    let t: Vec<Throttle> = rows::select_records(c, "ORDER BY subject", &[]).unwrap();
    let s: Vec<LiveSession> = rows::select_records(c, "ORDER BY connection_id", &[]).unwrap();
    (t, s)
}

/// What [`memory_state`] gives after [`write_memory`] of `tags`.
pub fn expected_state(tags: &[u8]) -> (Vec<Throttle>, Vec<LiveSession>) {
    (
        tags.iter().map(|&t| throttle_row(t, 1)).collect(),
        tags.iter().map(|&t| session_row(t)).collect(),
    )
}

/// Scenario 5 (Mnesia's `dump_ram_copies`): write A, snapshot, write B, crash, reopen: the
/// memory tables hold what the backend's guarantee for a process crash says (exactly A where
/// it is "back to the last complete snapshot", A + B where the rows are kept).
pub fn memory_tables_after_a_crash<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(open: &mut F) {
    let (mut c, _) = open(Purpose::Logins).unwrap();
    let survival = c
        .guarantees()
        .unwrap()
        .after(ClassKind::MemoryWithSnapshots, Event::ProcessCrash);
    write_memory(&mut c, &[1, 2]);
    let taken = c.snapshot(None, at(10)).unwrap();
    if c.placement() != MemoryPlacement::Main {
        let counts: Vec<(&str, u64)> = taken.iter().map(|s| (s.table, s.rows)).collect();
        assert_eq!(counts, [("live_sessions", 2), ("login_throttle", 2)]);
    }
    write_memory(&mut c, &[3]);
    drop(c);

    let (mut c, _) = open(Purpose::Admin).unwrap();
    let expected = match survival {
        Survival::LastSnapshot => expected_state(&[1, 2]),
        Survival::Kept | Survival::KeptOnceLogged | Survival::ShutdownSnapshot => {
            expected_state(&[1, 2, 3])
        }
        Survival::Lost => return,
    };
    assert_eq!(memory_state(&mut c), expected, "after a crash ({survival})");
    let outcomes: Vec<RestoreOutcome> = c
        .restore_report()
        .tables
        .iter()
        .map(|t| t.outcome.clone())
        .collect();
    let want = match c.placement() {
        MemoryPlacement::Attached => RestoreOutcome::Restored {
            generation: 1,
            rows: 2,
        },
        MemoryPlacement::Unlogged => RestoreOutcome::Kept,
        MemoryPlacement::Main => RestoreOutcome::Persistent,
    };
    assert_eq!(outcomes, [want.clone(), want]);
    assert!(c.restore_report().warnings().is_empty());
}

/// A clean shutdown keeps every committed row: the owner snapshots at close (SQLite), or the
/// rows stay where they are (PostgreSQL, the browser).
pub fn memory_tables_after_a_clean_shutdown<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(
    open: &mut F,
) {
    let (mut c, _) = open(Purpose::Logins).unwrap();
    let survival = c
        .guarantees()
        .unwrap()
        .after(ClassKind::MemoryWithSnapshots, Event::CleanRestart);
    write_memory(&mut c, &[1]);
    c.snapshot(None, at(10)).unwrap();
    write_memory(&mut c, &[2, 3]);
    drop(c.close(at(20)).unwrap());
    if survival == Survival::Lost {
        return;
    }
    let (mut c, _) = open(Purpose::Admin).unwrap();
    assert_eq!(memory_state(&mut c), expected_state(&[1, 2, 3]));
    // Opening again as the owner does not reload an older snapshot over them.
    drop(c);
    let (mut c, report) = open(Purpose::Logins).unwrap();
    assert_eq!(report.recovered, 0);
    // The recovery at start clears the live sessions; the counters stay.
    let (throttles, sessions) = memory_state(&mut c);
    assert_eq!(throttles, expected_state(&[1, 2, 3]).0);
    assert!(sessions.is_empty());
}

/// Memory tables are where the placement says: SQLite's in the attached schema `ram` (none in
/// the database file), PostgreSQL's `UNLOGGED` with logged copies, the browser's in the main
/// schema. Disk tables are in the main schema everywhere.
pub fn memory_tables_are_placed<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(open: &mut F) {
    let (mut c, _) = open(Purpose::Admin).unwrap();
    let memory = ["live_sessions", "login_throttle"];
    match c.placement() {
        MemoryPlacement::Attached => {
            for t in memory {
                c.query(&format!("SELECT count(*) FROM ram.{t}"), &[])
                    .unwrap();
                assert!(
                    c.query(&format!("SELECT count(*) FROM main.{t}"), &[])
                        .is_err(),
                    "{t} is in the main schema"
                );
            }
            c.query("SELECT count(*) FROM main.connections", &[])
                .unwrap();
        }
        MemoryPlacement::Unlogged => {
            for (t, persistence) in [
                ("live_sessions", "u"),
                ("login_throttle", "u"),
                ("live_sessions_snapshot", "p"),
                ("login_throttle_snapshot", "p"),
                ("calstore_memory", "u"),
                ("calstore_snapshots", "p"),
                ("connections", "p"),
                ("accounts", "p"),
            ] {
                let row = c
                    .query(
                        "SELECT CAST(relpersistence AS TEXT) FROM pg_class \
                         WHERE relname = $1 AND relnamespace = CAST(current_schema() AS regnamespace)",
                        &[t.into()],
                    )
                    .unwrap();
                assert_eq!(row.len(), 1, "{t}");
                assert_eq!(row[0].get::<String>(0).unwrap(), persistence, "{t}");
            }
        }
        MemoryPlacement::Main => {
            for t in memory {
                c.query(&format!("SELECT count(*) FROM main.{t}"), &[])
                    .unwrap();
            }
        }
    }
}

/// One process owns the memory tables at a time: a second owner is refused while the first
/// lives (and may start after it is gone), a guest can still open; on SQLite a guest cannot
/// snapshot (its copy of the memory tables is not the owner's).
pub fn memory_owner_is_exclusive<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(open: &mut F) {
    let (owner, _) = open(Purpose::Logins).unwrap();
    if owner.placement() == MemoryPlacement::Main {
        // One database per tab, owned through the browser's Web Lock (calstore-wasm).
        return;
    }
    assert!(owner.is_owner());
    match open(Purpose::Logins) {
        Err(StoreError::Unavailable(who)) => assert!(!who.is_empty()),
        other => panic!("a second owner was let in: {:?}", other.map(|_| ())),
    }
    let (mut guest, _) = open(Purpose::Admin).unwrap();
    assert!(!guest.is_owner());
    let guest_snapshot = guest.snapshot(None, at(5));
    match owner.placement() {
        MemoryPlacement::Attached => {
            assert!(
                matches!(guest_snapshot, Err(StoreError::Unavailable(_))),
                "a guest snapshotted SQLite memory tables"
            );
        }
        _ => {
            guest_snapshot.unwrap();
        }
    }
    drop(guest);
    drop(owner);
    let (again, _) = open(Purpose::Logins).unwrap();
    assert!(again.is_owner());
}

/// A snapshot of one table takes that table only; a table that is not a memory table is
/// `NotFound`.
pub fn memory_snapshot_of_one_table<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(
    open: &mut F,
) {
    let (mut c, _) = open(Purpose::Logins).unwrap();
    write_memory(&mut c, &[1]);
    let taken = c.snapshot(Some("login_throttle"), at(1)).unwrap();
    if c.placement() != MemoryPlacement::Main {
        let tables: Vec<&str> = taken.iter().map(|s| s.table).collect();
        assert_eq!(tables, ["login_throttle"]);
        let again = c.snapshot(Some("login_throttle"), at(2)).unwrap();
        assert_eq!(again[0].generation, taken[0].generation + 1);
    }
    for bad in ["accounts", "no_such_table"] {
        assert!(
            matches!(c.snapshot(Some(bad), at(3)), Err(StoreError::NotFound(_))),
            "{bad}"
        );
    }
    // A crash now: the counters come back from their snapshot; the live sessions had none.
    let survival = c
        .guarantees()
        .unwrap()
        .after(ClassKind::MemoryWithSnapshots, Event::ProcessCrash);
    drop(c);
    let (mut c, _) = open(Purpose::Admin).unwrap();
    let (throttles, sessions) = memory_state(&mut c);
    assert_eq!(throttles, expected_state(&[1]).0);
    if survival == Survival::LastSnapshot {
        assert!(sessions.is_empty());
        let live = &c.restore_report().tables[0];
        assert_eq!(
            (live.table, &live.outcome),
            ("live_sessions", &RestoreOutcome::Empty)
        );
    }
}

/// The process that serves logins runs the recovery at start when it opens: alf's session
/// left open by a crash ends as `server_restart`, and alf can log in again (scenario 7,
/// through [`accounts::open()`]).
pub fn login_owner_recovers_at_start<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(
    open: &mut F,
) {
    let policy = cheap_policy();
    let peer = Peer {
        ip: "192.0.2.10".parse().unwrap(),
        port: Port::new(50_000).unwrap(),
    };
    let login = |c: &mut StorageConnection<C>, minutes: i64| {
        let candidate = connections::prepare_login(c, &key(), "alf", peer.ip, at(minutes)).unwrap();
        let verified = candidate.verify("I love cats", &policy);
        write(c, |c| {
            connections::record_login(
                c,
                &verified,
                &peer,
                &ClientInfo::default(),
                &ThrottlePolicy::default(),
                None,
                at(minutes),
            )
        })
        .unwrap()
    };
    let (mut c, report) = open(Purpose::Logins).unwrap();
    assert_eq!(report.recovered, 0);
    let hash = policy
        .hash(&policy.check_new("I love cats", &[]).unwrap(), [1; 16])
        .unwrap();
    write(&mut c, |c| {
        accounts::account::register(
            c,
            &key(),
            NewAccount::new(
                Login::new("alf").unwrap(),
                EmailAddress::new("alf@vega.com").unwrap(),
                hash.clone(),
            ),
            at(0),
        )
    })
    .unwrap();
    let first = login(&mut c, 1);
    assert_eq!(first.outcome, ConnectionOutcome::AccessGranted);
    c.snapshot(None, at(2)).unwrap();
    drop(c);

    let (mut c, report) = open(Purpose::Logins).unwrap();
    assert_eq!(report.recovered, 1);
    let row = connections::get(&mut c, first.connection)
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(row.outcome, ConnectionOutcome::ServerRestart);
    // Ended at the open (at(0) in these cases), never before it started.
    assert_eq!(row.ended_at, Some(at(1)));
    assert_eq!(connections::live_session_count(&mut c).unwrap(), 0);
    assert_eq!(login(&mut c, 3).outcome, ConnectionOutcome::AccessGranted);
}

/// The guarantee table has a row per class; the disk classes are equal (they differ in
/// caching only) and at least as durable as the memory class; on a server or a file the disk
/// classes survive a crash of the database server (synchronous commits: SQLite's
/// `synchronous = FULL` in WAL mode, PostgreSQL's `synchronous_commit`, turned on at open).
pub fn storage_guarantees_are_reported<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>(
    open: &mut F,
) {
    let (mut c, _) = open(Purpose::Admin).unwrap();
    let g = c.guarantees().unwrap();
    let classes: Vec<ClassKind> = g.rows.iter().map(|r| r.class).collect();
    assert_eq!(classes, ClassKind::ALL);
    for e in Event::ALL {
        assert_eq!(
            g.after(ClassKind::DiskOnly, e),
            g.after(ClassKind::MemoryAndDisk, e)
        );
    }
    assert!(g.to_markdown().contains("| DiskOnly |"));
    match c.placement() {
        MemoryPlacement::Attached | MemoryPlacement::Unlogged => {
            for e in [Event::ProcessCrash, Event::ServerCrash, Event::CleanRestart] {
                assert_eq!(g.after(ClassKind::DiskOnly, e), Survival::Kept, "{e:?}");
            }
            assert_ne!(
                g.after(ClassKind::MemoryWithSnapshots, Event::CleanRestart),
                Survival::LastSnapshot
            );
        }
        MemoryPlacement::Main => {}
    }
    let durable = match c.dialect() {
        Dialect::Postgres => {
            let v = c.query("SHOW synchronous_commit", &[]).unwrap();
            v[0].get::<String>(0).unwrap() != "off"
        }
        _ => {
            let v = c.query("PRAGMA main.synchronous", &[]).unwrap();
            v[0].get::<i64>(0).unwrap() >= 2 || c.placement() == MemoryPlacement::Main
        }
    };
    assert!(durable, "commits are not synchronous");
}

/// Lists every case, for a backend's callback macro: `storage_cases!(callback, prefix
/// tokens)` expands to `callback! { prefix tokens; case, … }`.
#[macro_export]
macro_rules! storage_cases {
    ($callback:ident, $($prefix:tt)*) => {
        $callback! {
            $($prefix)*;
            memory_tables_after_a_crash,
            memory_tables_after_a_clean_shutdown,
            memory_tables_are_placed,
            memory_owner_is_exclusive,
            memory_snapshot_of_one_table,
            login_owner_recovers_at_start,
            storage_guarantees_are_reported,
        }
    };
}

/// Expands to one test per case: `#[$attr] fn case() { let mut open = $opener;
/// calstore_tests::storage::case(&mut open) }`.
#[macro_export]
macro_rules! storage_suite {
    (#[$attr:meta] $opener:expr; $($case:ident),* $(,)?) => {
        $(
            #[$attr]
            fn $case() {
                let mut open = $opener;
                $crate::storage::$case(&mut open);
            }
        )*
    };
}

/// The names of the cases in [`storage_cases!`](crate::storage_cases).
pub const CASES: &[&str] = crate::storage_cases!(case_names,);

#[cfg(test)]
mod tests {
    /// Every case defined in this file is listed in `storage_cases!` exactly once.
    #[test]
    fn every_storage_case_is_listed_once() {
        let mut defined: Vec<&str> = include_str!("storage.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub fn "))
            .filter_map(|l| {
                l.split_once("<C: SqlConnection, F: FnMut(Purpose) -> Opened<C>>")
                    .map(|(name, _)| name)
            })
            .collect();
        defined.sort_unstable();
        let mut listed = super::CASES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, defined);
    }
}
