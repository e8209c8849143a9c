//! Measurements for decision 0008 (accounts, storage classes), printed as medians; no
//! assertions on time.
//!
//! * **verify**: one Argon2id verification with the production policy (OWASP's minimum), of
//!   a wrong password against a stored hash and of an unknown login against the dummy hash.
//! * **login**: the whole login path on a SQLite file (read, verify, record in a write
//!   transaction) for a wrong password and for an unknown login, and the ratio of the two.
//! * **snapshot**: a snapshot of `live_sessions` holding 100 000 rows (SQLite: a new file,
//!   fsynced, checksummed, renamed; PostgreSQL: the logged copy rewritten in one
//!   transaction).
//! * **restore**: opening the accounts component when `live_sessions` must be reloaded from
//!   that snapshot (SQLite: every open; PostgreSQL: after a server crash, simulated by
//!   emptying the table and its sentinel).
//! * **recovery**: `recover_at_start` with 100 000 connections left open and 100 000 live
//!   sessions.
//!
//! Run: `cargo bench -p calstore-tests --bench accounts` (SQLite); with `--features postgres`
//! and `CALSTORE_BENCH_PG_URL` (or `CALSTORE_TEST_PG_URL`) also on PostgreSQL, in a schema of
//! its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use calstore_core::accounts::connections::{self, ClientInfo, Peer};
use calstore_core::accounts::throttle::ThrottlePolicy;
use calstore_core::accounts::{self, NewAccount, PasswordPolicy, PseudonymKey, Purpose, account};
use calstore_core::schema::storage::{MemoryBackend, StorageConnection};
use calstore_core::typed::{EmailAddress, Login, Port, UtcTime};
use calstore_core::{Dialect, SqlConnection, in_transaction};
use calstore_native::{SqliteConnection, SqliteSnapshots};

const ROWS: i64 = 100_000;
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn key() -> PseudonymKey {
    PseudonymKey::new([7; 32])
}

fn now() -> UtcTime {
    UtcTime::from_micros(1_764_000_000_000_000).unwrap()
}

fn peer() -> Peer {
    Peer {
        ip: "192.0.2.1".parse().unwrap(),
        port: Port::new(4000).unwrap(),
    }
}

fn verify_cost() {
    let policy = PasswordPolicy::new();
    let hash = policy
        .hash(&policy.check_new("I love cats", &[]).unwrap(), [1; 16])
        .unwrap();
    let _ = policy.dummy_hash();
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        assert!(!policy.verify("I love dogs", Some(&hash)));
        bad.push(t.elapsed());
        let t = Instant::now();
        assert!(!policy.verify("I love dogs", None));
        unknown.push(t.elapsed());
    }
    println!(
        "verify (Argon2id m=19456 KiB t=2 p=1): wrong password {}, unknown login (dummy hash) {}",
        ms(median(bad)),
        ms(median(unknown))
    );
}

/// The whole login path, alternating a wrong password and an unknown login.
fn login_cost<C: SqlConnection>(c: &mut StorageConnection<C>, label: &str) {
    let policy = PasswordPolicy::new();
    let hash = policy
        .hash(&policy.check_new("I love cats", &[]).unwrap(), [1; 16])
        .unwrap();
    in_transaction(c, |tx| {
        Ok(account::register(
            tx,
            &key(),
            NewAccount::new(
                Login::new("alf").unwrap(),
                EmailAddress::new("alf@vega.com").unwrap(),
                hash.clone(),
            ),
            now(),
        )?)
    })
    .unwrap();
    let _ = policy.dummy_hash();
    // No lock-out: the comparison is of the work, not of the back-off.
    let throttling = ThrottlePolicy {
        login: accounts::throttle::Backoff {
            free_failures: u32::MAX,
            ..ThrottlePolicy::default().login
        },
        address: accounts::throttle::Backoff {
            free_failures: u32::MAX,
            ..ThrottlePolicy::default().address
        },
        ..ThrottlePolicy::default()
    };
    let mut one = |sent: &str| {
        let t = Instant::now();
        let cand = connections::prepare_login(c, &key(), sent, peer().ip, now()).unwrap();
        let verified = cand.verify("I love dogs", &policy);
        in_transaction(c, |tx| {
            Ok(connections::record_login(
                tx,
                &verified,
                &peer(),
                &ClientInfo::default(),
                &throttling,
                None,
                now(),
            )?)
        })
        .unwrap();
        t.elapsed()
    };
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    // Alternating, and each order half of the time.
    for i in 0..40 {
        if i % 2 == 0 {
            bad.push(one("alf"));
            unknown.push(one("mrbig"));
        } else {
            unknown.push(one("mrbig"));
            bad.push(one("alf"));
        }
    }
    let (b, u) = (median(bad), median(unknown));
    println!(
        "login on {label}: wrong password {}, unknown login {} (unknown/wrong {:.3})",
        ms(b),
        ms(u),
        u.as_secs_f64() / b.as_secs_f64()
    );
}

/// Fills `live_sessions` with ROWS rows, and `connections` with ROWS open ones.
fn fill<C: SqlConnection>(c: &mut C) {
    let series = match c.dialect() {
        Dialect::Postgres => "SELECT g FROM generate_series(1, 100000) AS g",
        _ => {
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 100000) SELECT g FROM s"
        }
    };
    in_transaction(c, |tx| {
        tx.execute("DELETE FROM live_sessions", &[])?;
        tx.execute("DELETE FROM connections", &[])?;
        tx.execute(
            &format!(
                "INSERT INTO live_sessions (connection_id, account_id, slot, since) \
                 SELECT g, g, 1, 1 FROM ({series}) AS n"
            ),
            &[],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO connections (started_at, outcome, account_id, peer_ip, peer_port) \
                 SELECT g, 'access_granted', 1, '7f000001', 4000 FROM ({series}) AS n"
            ),
            &[],
        )?;
        Ok(())
    })
    .unwrap();
}

/// Snapshot, restore at open and recovery with ROWS rows; `reopen` opens the accounts
/// component again (after `lose` made the memory contents go, as a restart does).
fn memory_costs<C: SqlConnection>(
    label: &str,
    mut open: impl FnMut() -> StorageConnection<C>,
    mut lose: impl FnMut(&mut StorageConnection<C>),
) {
    let mut c = open();
    fill(&mut c);
    let mut snapshots = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let done = c.snapshot(Some("live_sessions"), now()).unwrap();
        snapshots.push(t.elapsed());
        assert_eq!(done[0].rows, u64::try_from(ROWS).unwrap());
    }
    let mut restores = Vec::new();
    for _ in 0..RUNS {
        lose(&mut c);
        drop(c);
        let t = Instant::now();
        c = open();
        restores.push(t.elapsed());
        let n: i64 = c.query("SELECT count(*) FROM live_sessions", &[]).unwrap()[0]
            .get(0)
            .unwrap();
        assert_eq!(n, ROWS);
    }
    let mut recoveries = Vec::new();
    for _ in 0..RUNS {
        fill(&mut c);
        let t = Instant::now();
        let closed =
            in_transaction(&mut c, |tx| Ok(connections::recover_at_start(tx, now())?)).unwrap();
        recoveries.push(t.elapsed());
        assert_eq!(closed, u64::try_from(ROWS).unwrap());
    }
    println!(
        "{label}, {ROWS} rows: snapshot of live_sessions {}, open restoring it {}, \
         recover_at_start (open connections + live sessions) {}",
        ms(median(snapshots)),
        ms(median(restores)),
        ms(median(recoveries))
    );
}

fn open_accounts<C: SqlConnection>(
    conn: C,
    backend: Box<dyn MemoryBackend>,
) -> StorageConnection<C> {
    accounts::open(conn, backend, &key(), Purpose::Admin, now())
        .unwrap()
        .0
}

fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite");
    let mut c = open_accounts(
        SqliteConnection::open(&path).unwrap(),
        Box::new(SqliteSnapshots::beside(&path)),
    );
    login_cost(&mut c, "SQLite (file, WAL, synchronous=FULL)");
    drop(c);
    memory_costs(
        "SQLite",
        || {
            let mut c = open_accounts(
                SqliteConnection::open(&path).unwrap(),
                Box::new(SqliteSnapshots::beside(&path)),
            );
            // The owner takes the snapshots.
            c.snapshot(Some("login_throttle"), now()).unwrap();
            c
        },
        |_| {},
    );
}

#[cfg(feature = "postgres")]
fn postgres() {
    use calstore_core::schema::storage::PostgresMemory;
    use calstore_native::PgConnection;
    let url = ["CALSTORE_BENCH_PG_URL", "CALSTORE_TEST_PG_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .expect("CALSTORE_BENCH_PG_URL or CALSTORE_TEST_PG_URL");
    let schema = format!("bench_accounts_{}", std::process::id());
    let mut admin = PgConnection::connect(&url).unwrap();
    admin
        .execute_batch(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let connect = || {
        let mut c = PgConnection::connect(&url).unwrap();
        c.set_search_path(&schema).unwrap();
        c
    };
    let mut c = open_accounts(connect(), Box::new(PostgresMemory::new()));
    let settings: Vec<String> = ["fsync", "synchronous_commit"]
        .iter()
        .map(|s| {
            let v: String = c.query(&format!("SHOW {s}"), &[]).unwrap()[0]
                .get(0)
                .unwrap();
            format!("{s}={v}")
        })
        .collect();
    login_cost(&mut c, &format!("PostgreSQL ({})", settings.join(", ")));
    drop(c);
    memory_costs(
        "PostgreSQL",
        || open_accounts(connect(), Box::new(PostgresMemory::new())),
        // What a server crash does: the UNLOGGED tables and their sentinel emptied.
        |c| {
            c.execute_batch("TRUNCATE live_sessions, calstore_memory")
                .unwrap();
        },
    );
    admin
        .execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}

fn main() {
    // `cargo bench` passes --bench; a filter is ignored.
    verify_cost();
    sqlite();
    #[cfg(feature = "postgres")]
    postgres();
}
