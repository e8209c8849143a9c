//! What the `calstore serve` tests share: running the binary, a server process on a free
//! loopback port, a throwaway PostgreSQL schema, and whole-table comparisons.
// Test support code: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calstore_core::{SqlConnection, Value as SqlValue};
use calstore_native::{DbUrl, PgConnection, connect};
use serde_json::Value;

/// The fixed clock of every command.
pub const NOW: &str = "20261206T120000Z";
/// The pseudonym key of every command.
pub const KEY: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";

/// One command's result.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Runs `calstore --db DB ARGS…` with `stdin`.
pub fn calstore(db: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calstore"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CALSTORE_NOW", NOW)
        .env("CALSTORE_PSEUDONYM_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("calstore runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running `calstore serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts a server on `db` on a free loopback port and waits for its ready line.
    pub fn start(db: &str, dir: &Path, name: &str) -> Server {
        Server::start_with(db, dir, name, &[], "http")
    }

    /// Likewise, with more options; `scheme` is what the ready line must say.
    pub fn start_with(db: &str, dir: &Path, name: &str, extra: &[&str], scheme: &str) -> Server {
        let log = dir.join(format!("{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_calstore"))
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("CALSTORE_NOW", NOW)
            .env("CALSTORE_PSEUDONYM_KEY", KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("calstore serve runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no ready line; log: {}", read(&log)));
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("ready line {line:?}; log: {}", read(&log)))
            .to_owned();
        assert!(url.starts_with(&format!("{scheme}://127.0.0.1:")), "{url}");
        Server { child, url, log }
    }

    /// How many requests to `path` the log shows.
    pub fn requests(&self, path: &str) -> usize {
        read(&self.log)
            .lines()
            .filter(|l| l.contains(&format!("\"path\":\"{path}\"")))
            .count()
    }

    /// SIGKILL: no shutdown at all.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Writes `text` to `dir/name` and gives its path.
pub fn file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Every row of the calendar tables of `owners` (store users), table by table.
pub fn dump(db: &str, owners: &[&str]) -> BTreeMap<String, Vec<Vec<SqlValue>>> {
    let url = DbUrl::parse(db).unwrap();
    let mut conn = connect(&url).unwrap();
    let owners: Vec<(bool, String)> = owners
        .iter()
        .flat_map(|o| [(false, (*o).to_owned()), (true, (*o).to_owned())])
        .collect();
    calstore_tests::convergence::dump(&mut conn, &owners)
}

pub fn clone(server: &Server, login: &str, password: &str, db: &str) -> Value {
    calstore(
        db,
        &[
            "clone",
            "--server",
            &server.url,
            "--login",
            login,
            "--password-stdin",
            "--format",
            "json",
        ],
        &format!("{password}\n"),
    )
    .json()
}

/// `calstore sync` through `server` (`--server`: the replicas may use any process serving
/// the database).
pub fn sync(db: &str, server: &Server) -> Value {
    calstore(
        db,
        &["sync", "--server", &server.url, "--format", "json"],
        "",
    )
    .json()
}

const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

/// A schema of its own on the test server, dropped at the end.
pub struct Schema {
    name: String,
    conn: PgConnection,
    pub db: String,
}

impl Schema {
    pub fn new() -> Schema {
        let url = match std::env::var(URL_VAR) {
            Ok(u) if !u.trim().is_empty() => u,
            _ => panic!(
                "{URL_VAR} is not set: start a server with `export \"$(scripts/pg-test-cluster.sh \
                 start /tmp/calstore-pg)\"`"
            ),
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "serve_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&url).unwrap();
        conn.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let db = format!("{url}{sep}options=-csearch_path%3D{name}");
        Schema { name, conn, db }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = self
            .conn
            .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}
