//! PostgreSQL's memory tables across restarts of the server itself (spec §C.5 scenarios 4, 5
//! and 7), on a private throwaway cluster that this test starts, restarts and removes
//! (`scripts/pg-test-cluster.sh`; the shared test server cannot be restarted under other
//! tests):
//!
//! - a clean restart (`pg_ctl restart -m fast`) keeps the `UNLOGGED` rows, and the open does
//!   not reload the older snapshot over them;
//! - a crash (`-m immediate`) empties them; the open restores the last snapshot, exactly;
//! - every committed disk row survives both (the open turned `synchronous_commit` on, which
//!   the test cluster has off), and the login owner's open turns the session left open into
//!   `server_restart`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use calstore_core::accounts::connections::{self, ClientInfo, Peer};
use calstore_core::accounts::open::OpenReport;
use calstore_core::accounts::throttle::ThrottlePolicy;
use calstore_core::accounts::{self, ConnectionOutcome, NewAccount, Purpose, account};
use calstore_core::schema::storage::{PostgresMemory, RestoreOutcome, StorageConnection};
use calstore_core::typed::{EmailAddress, Login, Port};
use calstore_core::{SqlConnection, StoreError};
use calstore_native::PgConnection;
use calstore_tests::storage::{memory_state, write_memory};
use calstore_tests::typed::{at, cheap_policy, key, write};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster.sh")
}

/// A private cluster, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    url: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("calstore-pg-memory")
            .tempdir()
            .unwrap()
            .keep();
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            // Away from the shared test server's first ports.
            .env("CALSTORE_PG_FIRST_PORT", "54480")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cannot start a private cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let url = stdout
            .trim()
            .strip_prefix("CALSTORE_TEST_PG_URL=")
            .unwrap_or_else(|| panic!("unexpected output {stdout:?}"))
            .to_owned();
        Cluster { dir, url }
    }

    fn restart(&self, mode: &str) {
        let out = Command::new(script())
            .arg("restart")
            .arg(&self.dir)
            .arg(mode)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "restart -m {mode} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn open(
        &self,
        purpose: Purpose,
    ) -> Result<(StorageConnection<PgConnection>, OpenReport), StoreError> {
        accounts::open(
            PgConnection::connect(&self.url).unwrap(),
            Box::new(PostgresMemory::new()),
            &key(),
            purpose,
            at(0),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
    }
}

fn show(c: &mut impl SqlConnection, setting: &str) -> String {
    c.query(&format!("SHOW {setting}"), &[]).unwrap()[0]
        .get(0)
        .unwrap()
}

fn register(c: &mut impl SqlConnection, login: &str) {
    let policy = cheap_policy();
    let hash = policy
        .hash(&policy.check_new("I love cats", &[]).unwrap(), [1; 16])
        .unwrap();
    write(c, |c| {
        account::register(
            c,
            &key(),
            NewAccount::new(
                Login::new(login).unwrap(),
                EmailAddress::new(&format!("{login}@vega.com")).unwrap(),
                hash,
            ),
            at(0),
        )
    })
    .unwrap();
}

fn login(c: &mut impl SqlConnection, who: &str, minutes: i64) -> connections::LoginRecord {
    let peer = Peer {
        ip: "192.0.2.10".parse().unwrap(),
        port: Port::new(50_000).unwrap(),
    };
    let candidate = connections::prepare_login(c, &key(), who, peer.ip, at(minutes)).unwrap();
    let verified = candidate.verify("I love cats", &cheap_policy());
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
}

fn logins(c: &mut impl SqlConnection) -> Vec<String> {
    account::list(c)
        .unwrap()
        .into_iter()
        .filter_map(|a| a.record.login.map(|l| l.to_string()))
        .collect()
}

#[test]
fn memory_tables_across_server_restarts() {
    let cluster = Cluster::start();
    assert_eq!(
        {
            let mut c = PgConnection::connect(&cluster.url).unwrap();
            show(&mut c, "synchronous_commit")
        },
        "off",
        "the test cluster runs without synchronous commits"
    );

    // A: alf's open session, rows 11 and 12; snapshot; B: row 13 (ids apart from the log's).
    let (mut c, _) = cluster.open(Purpose::Logins).unwrap();
    assert_eq!(show(&mut c, "synchronous_commit"), "on");
    register(&mut c, "alf");
    let session = login(&mut c, "alf", 1);
    assert_eq!(session.outcome, ConnectionOutcome::AccessGranted);
    write_memory(&mut c, &[11, 12]);
    c.snapshot(None, at(2)).unwrap();
    let a = memory_state(&mut c);
    write_memory(&mut c, &[13]);
    let a_and_b = memory_state(&mut c);
    drop(c);

    // A clean restart keeps A and B: nothing is reloaded over them.
    cluster.restart("fast");
    let (mut c, _) = cluster.open(Purpose::Admin).unwrap();
    assert_eq!(memory_state(&mut c), a_and_b);
    for t in &c.restore_report().tables {
        assert_eq!(t.outcome, RestoreOutcome::Kept, "{}", t.table);
    }
    assert_eq!(logins(&mut c), ["alf"]);
    // Committed just before the crash: a disk row and a memory row (not in any snapshot).
    register(&mut c, "bob");
    write_memory(&mut c, &[14]);
    drop(c);

    // A crash: the memory tables come back to the snapshot, exactly; the disk rows stay.
    cluster.restart("immediate");
    let (mut c, _) = cluster.open(Purpose::Admin).unwrap();
    assert_eq!(memory_state(&mut c), a);
    for t in &c.restore_report().tables {
        match t.outcome {
            RestoreOutcome::Restored { generation: 1, .. } => {}
            ref other => panic!("{}: {other:?}", t.table),
        }
    }
    assert_eq!(logins(&mut c), ["alf", "bob"]);
    let open_row = connections::get(&mut c, session.connection)
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(
        open_row.ended_at, None,
        "alf's session is still open in the log"
    );
    drop(c);

    // The login owner's open: alf's session ends as server_restart, alf logs in again.
    let (mut c, report) = cluster.open(Purpose::Logins).unwrap();
    assert_eq!(report.recovered, 1);
    let row = connections::get(&mut c, session.connection)
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(row.outcome, ConnectionOutcome::ServerRestart);
    assert_eq!(
        login(&mut c, "alf", 5).outcome,
        ConnectionOutcome::AccessGranted
    );
}
