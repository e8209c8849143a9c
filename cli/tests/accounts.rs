//! The account commands of the built `calstore` binary on temporary SQLite databases (and,
//! in `mod postgres`, on the PostgreSQL test server): every command's exit codes and JSON
//! shapes, what read-only commands leave behind (nothing), the pseudonym key file, the
//! connection log, retention, snapshots, a holder of a session killed with SIGKILL (disk rows
//! kept, its session ended as `server_restart` by the next owner), and a dump of everything
//! stored after failed logins that holds no trace of the wrong passwords.
// The helpers below are test code outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use tempfile::TempDir;

/// The clock of every command (`CALSTORE_NOW`).
const TEST_NOW: &str = "20261122T000000Z";
const ALF_PASSWORD: &str = "I love cats";

struct Env {
    dir: TempDir,
    db: String,
    extra_env: Vec<(String, String)>,
}

#[derive(Debug)]
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

    fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{self:?}");
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts failure with `code` and one `calstore: error:` line; returns that line.
    fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{}", self.stderr);
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
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite:{}", dir.path().join("a.db").display());
        Env {
            dir,
            db,
            extra_env: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
        cmd.current_dir(self.dir.path());
        cmd.env("CALSTORE_NOW", TEST_NOW);
        cmd.env_remove("CALSTORE_PSEUDONYM_KEY");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.arg("--db").arg(&self.db).args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run calstore"))
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn calstore");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Run::from(child.wait_with_output().expect("wait"))
    }

    fn add(&self, login: &str, password: &str, extra: &[&str]) -> Run {
        let email = format!("{login}@vega.com");
        let mut args = vec![
            "account",
            "add",
            "--login",
            login,
            "--email",
            &email,
            "--password-stdin",
        ];
        if !extra.contains(&"--format") {
            args.extend_from_slice(&["--format", "json"]);
        }
        args.extend_from_slice(extra);
        self.run_stdin(&args, &format!("{password}\n"))
    }

    fn login(&self, login: &str, password: &str) -> Run {
        self.run_stdin(
            &["account", "login", "--login", login, "--password-stdin"],
            &format!("{password}\n"),
        )
    }

    fn connections(&self, args: &[&str]) -> Vec<Value> {
        let mut a = vec!["connections", "--format", "json"];
        a.extend_from_slice(args);
        match self.run(&a).json() {
            Value::Array(v) => v,
            other => panic!("not an array: {other}"),
        }
    }

    fn account(&self, login: &str) -> Value {
        self.run(&["account", "show", "--login", login, "--format", "json"])
            .json()
    }
}

fn account_value(id: i64, login: &str, status: &str, calendars: Value) -> Value {
    json!({
        "id": id,
        "login": login,
        "email": format!("{login}@vega.com"),
        "status": status,
        "role": "user",
        "first_name": null,
        "last_name": null,
        "created_at": "2026-11-22T00:00:00Z",
        "calendars": calendars,
    })
}

fn own(login: &str) -> Value {
    json!({"uri": format!("mailto:{login}@vega.com"), "role": "owner", "own": true})
}

#[test]
fn account_add_prints_the_account() {
    let env = Env::new();
    let out = env.run_stdin(
        &[
            "account",
            "add",
            "--login",
            "alf",
            "--email",
            "alf@vega.com",
            "--first-name",
            "Gordon",
            "--last-name",
            "Shumway",
            "--calendar",
            "mailto:room@example.com=write",
            "--calendar",
            "https://cal.example.com/a?b=c",
            "--password-stdin",
            "--format",
            "json",
        ],
        "I love cats\n",
    );
    let mut expected = account_value(
        1,
        "alf",
        "active",
        json!([
            own("alf"),
            {"uri": "https://cal.example.com/a?b=c", "role": "owner", "own": false},
            {"uri": "mailto:room@example.com", "role": "write", "own": false},
        ]),
    );
    expected["first_name"] = json!("Gordon");
    expected["last_name"] = json!("Shumway");
    assert_eq!(out.json(), expected);
    // The table form.
    let table = env.add("anakin", "the dark side", &["--format", "table"]);
    assert_eq!(
        table.ok(),
        "ID  LOGIN   EMAIL            STATUS  CALENDARS\n2   anakin  anakin@vega.com  active  mailto:anakin@vega.com (owner)\n"
    );
}

#[test]
fn account_add_refusals_and_exit_codes() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    // Usage errors (2): bad login, bad email, bad role, no --password-stdin.
    for args in [
        vec![
            "account",
            "add",
            "--login",
            "Mr. Big",
            "--email",
            "a@b.org",
            "--password-stdin",
        ],
        vec![
            "account",
            "add",
            "--login",
            "abcdefghijklmnopqrstuvwxyz0123456",
            "--email",
            "a@b.org",
            "--password-stdin",
        ],
        vec![
            "account",
            "add",
            "--login",
            "bob",
            "--email",
            "bob.vega.com",
            "--password-stdin",
        ],
        vec![
            "account",
            "add",
            "--login",
            "bob",
            "--email",
            "bob@vega.com",
        ],
        vec![
            "account",
            "grant",
            "--login",
            "alf",
            "--calendar",
            "mailto:r@x.org",
            "--role",
            "admin",
        ],
        vec!["account", "show", "--login", "Mr. Big"],
        vec!["account", "login", "--login", "alf"],
    ] {
        env.run_stdin(&args, "a long enough password\n").fails(2);
    }
    // Refusals (1): taken login, taken email (case-insensitively), weak passwords, no password.
    let e = env.add("alf", "another password", &[]).fails(1).to_owned();
    assert!(e.contains("login alf is already registered"), "{e}");
    let e = env
        .run_stdin(
            &[
                "account",
                "add",
                "--login",
                "bob",
                "--email",
                "ALF@vega.com",
                "--password-stdin",
            ],
            "a long enough password\n",
        )
        .fails(1)
        .to_owned();
    assert!(e.contains("already registered"), "{e}");
    let e = env.add("bob", "short", &[]).fails(1).to_owned();
    assert!(e.contains("shorter than 8"), "{e}");
    assert!(!e.contains("short\n") && !e.ends_with("short"), "{e}");
    env.add("bob", "bob@vega.com", &[]).fails(1);
    env.run_stdin(
        &[
            "account",
            "add",
            "--login",
            "bob",
            "--email",
            "bob@vega.com",
            "--password-stdin",
        ],
        "",
    )
    .fails(1);
    // Nothing of the refused attempts was written.
    let all = env.run(&["account", "list", "--format", "json"]).json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    // A deleted account's login is never registered again.
    env.run(&["account", "delete", "--login", "alf"]).ok();
    let e = env.add("alf", ALF_PASSWORD, &[]).fails(1).to_owned();
    assert!(e.contains("cannot be registered again"), "{e}");
}

#[test]
fn account_list_show_suspend_activate_delete_grant() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    env.add("anakin", "the dark side", &[]).ok();
    assert_eq!(
        env.run(&["account", "list", "--format", "json"]).json(),
        json!([
            account_value(1, "alf", "active", json!([own("alf")])),
            account_value(2, "anakin", "active", json!([own("anakin")])),
        ])
    );
    assert_eq!(
        env.account("alf"),
        account_value(1, "alf", "active", json!([own("alf")]))
    );
    let e = env
        .run(&["account", "show", "--login", "mrbig"])
        .fails(1)
        .to_owned();
    assert!(e.contains("no account with login mrbig"), "{e}");
    for (command, status) in [
        ("suspend", "suspended"),
        ("suspend", "suspended"),
        ("activate", "active"),
        ("activate", "active"),
    ] {
        let shown = env
            .run(&["account", command, "--login", "alf", "--format", "json"])
            .json();
        assert_eq!(shown["status"], status, "{command}");
    }
    let granted = env
        .run(&[
            "account",
            "grant",
            "--login",
            "alf",
            "--calendar",
            "mailto:room@example.com",
            "--role",
            "read",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(
        granted["calendars"],
        json!([own("alf"), {"uri": "mailto:room@example.com", "role": "read", "own": false}])
    );
    // Granting again changes the role.
    let regranted = env
        .run(&[
            "account",
            "grant",
            "--login",
            "alf",
            "--calendar",
            "mailto:room@example.com",
            "--role",
            "write",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(regranted["calendars"][1]["role"], "write");
    let deleted = env
        .run(&["account", "delete", "--login", "alf", "--format", "json"])
        .json();
    assert_eq!(
        deleted,
        account_value(1, "alf", "deleted", json!([own("alf")]))
    );
    // Deletion is final.
    env.run(&["account", "delete", "--login", "alf"]).fails(1);
    env.run(&["account", "activate", "--login", "alf"]).fails(1);
    env.run(&["account", "suspend", "--login", "mrbig"])
        .fails(1);
}

#[test]
fn passwd_then_login() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    let out = env.run_stdin(
        &["account", "passwd", "--login", "alf", "--password-stdin"],
        "a brand new password\n",
    );
    assert_eq!(out.ok(), "");
    env.login("alf", ALF_PASSWORD).fails(1);
    assert!(
        env.login("alf", "a brand new password")
            .ok()
            .starts_with("access granted")
    );
    env.run_stdin(
        &["account", "passwd", "--login", "alf", "--password-stdin"],
        "alf\n",
    )
    .fails(1);
    env.run_stdin(
        &["account", "passwd", "--login", "mrbig", "--password-stdin"],
        "a brand new password\n",
    )
    .fails(1);
}

#[test]
fn login_outcomes_exit_codes_and_the_connection_log() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    let granted = env
        .run_stdin(
            &[
                "account",
                "login",
                "--login",
                "alf",
                "--password-stdin",
                "--peer",
                "192.0.2.10:50000",
                "--format",
                "json",
            ],
            "I love cats\n",
        )
        .json();
    assert_eq!(
        granted,
        json!({"connection": 1, "outcome": "access_granted", "account": 1})
    );
    // Unknown login and wrong password: exit 1, the same message.
    let bad = env.login("alf", "I love dogs").fails(1).to_owned();
    let unknown = env.login("mrbig", "I love dogs").fails(1).to_owned();
    assert_eq!(bad, "calstore: error: login refused: invalid_credentials");
    assert_eq!(unknown, bad);
    env.run(&["account", "suspend", "--login", "alf"]).ok();
    assert_eq!(
        env.login("alf", ALF_PASSWORD).fails(1),
        "calstore: error: login refused: account_not_active"
    );
    env.run(&["account", "activate", "--login", "alf"]).ok();
    // Back-off: 3 failures are free, the 4th locks the login for a second (the clock is
    // fixed), so the 5th is refused without verifying.
    for _ in 0..3 {
        env.login("alf", "I love dogs").fails(1);
    }
    assert_eq!(
        env.login("alf", ALF_PASSWORD).fails(1),
        "calstore: error: login refused: throttled"
    );

    let log = env.connections(&[]);
    let shape: Vec<(Value, Value, Value)> = log
        .iter()
        .map(|c| (c["id"].clone(), c["login"].clone(), c["outcome"].clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (
                json!(1),
                json!("alf"),
                json!("normal_client_side_termination")
            ),
            (json!(2), json!("alf"), json!("bad_password")),
            (json!(3), json!(null), json!("unknown_login")),
            (json!(4), json!("alf"), json!("account_not_active")),
            (json!(5), json!("alf"), json!("bad_password")),
            (json!(6), json!("alf"), json!("bad_password")),
            (json!(7), json!("alf"), json!("bad_password")),
            (json!(8), json!("alf"), json!("throttled")),
        ]
    );
    assert_eq!(
        log[0],
        json!({
            "id": 1,
            "login": "alf",
            "outcome": "normal_client_side_termination",
            "peer": "192.0.2.10:50000",
            "started": "2026-11-22T00:00:00Z",
            "ended": "2026-11-22T00:00:00Z",
            "client": "calstore/0.1.0",
        })
    );
    assert_eq!(log[1]["peer"], "127.0.0.1:1");
    // --login finds the unmatched attempt too (by the keyed digest), --open finds nothing.
    let mrbig: Vec<Value> = env.connections(&["--login", "mrbig"]);
    assert_eq!(mrbig.len(), 1);
    assert_eq!(mrbig[0]["outcome"], "unknown_login");
    assert_eq!(env.connections(&["--login", "alf"]).len(), 7);
    assert!(env.connections(&["--open"]).is_empty());
    // The table form has a header and a line per connection.
    let table = env.run(&["connections"]);
    assert_eq!(table.ok().lines().count(), 9);
}

#[test]
fn read_only_commands_create_nothing() {
    let env = Env::new();
    for args in [
        vec!["account", "list"],
        vec!["account", "show", "--login", "alf"],
        vec!["connections"],
        vec!["connections", "--login", "alf", "--open"],
        vec!["connections", "prune", "--days", "90"],
        vec!["snapshot"],
    ] {
        let e = env.run(&args).fails(1).to_owned();
        assert!(e.contains("no database at"), "{args:?}: {e}");
    }
    let left: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // A calendar database without accounts: empty listings, nothing created.
    let ics = env.path("e.ics");
    std::fs::write(
        &ics,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTART:20261201T100000Z\r\n\
         DTEND:20261201T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    env.run(&["import", "--user", "mailto:r@x.org", ics.to_str().unwrap()])
        .ok();
    assert_eq!(
        env.run(&["account", "list", "--format", "json"]).json(),
        json!([])
    );
    assert_eq!(env.connections(&[]), Vec::<Value>::new());
    env.run(&["account", "show", "--login", "alf"]).fails(1);
    env.run(&["snapshot"]).fails(1);
    assert!(!env.path("a.db.key").exists());
    assert!(!env.path("a.db.snapshots").exists());
    let raw = rusqlite::Connection::open(env.path("a.db")).unwrap();
    let accounts_tables: i64 = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'accounts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(accounts_tables, 0);
}

#[test]
fn pseudonym_key_file() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    let key = env.path("a.db.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.len(), 65);
    assert!(text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A key others may read is refused.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = env.login("alf", ALF_PASSWORD).fails(1).to_owned();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Another key (the environment variable wins) is refused: it would match nothing.
    let mut other = Env::new();
    other.db.clone_from(&env.db);
    other
        .extra_env
        .push(("CALSTORE_PSEUDONYM_KEY".into(), "11".repeat(32)));
    let e = other.login("alf", ALF_PASSWORD).fails(1).to_owned();
    assert!(e.contains("pseudonym key is not the one"), "{e}");
    other.extra_env[0].1 = "xyz".into();
    other.login("alf", ALF_PASSWORD).fails(2);
    // The same key given explicitly works.
    other.extra_env[0].1 = text.trim().to_owned();
    other.login("alf", ALF_PASSWORD).ok();
    let explicit = env.run_stdin(
        &[
            "account",
            "login",
            "--login",
            "alf",
            "--password-stdin",
            "--key-file",
            key.to_str().unwrap(),
        ],
        "I love cats\n",
    );
    explicit.ok();
}

#[test]
fn retention_prune() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    env.run_stdin(
        &[
            "account",
            "login",
            "--login",
            "alf",
            "--password-stdin",
            "--peer",
            "192.0.2.10:50000",
        ],
        "I love cats\n",
    )
    .ok();
    env.run_stdin(
        &[
            "account",
            "login",
            "--login",
            "mrbig",
            "--password-stdin",
            "--peer",
            "[2001:db8:1:2::7]:4000",
        ],
        "whatever it is\n",
    )
    .fails(1);
    let prune = |now: &str, args: &[&str]| {
        let mut a = vec!["connections", "prune", "--format", "json"];
        a.extend_from_slice(args);
        let mut cmd = env.command(&a);
        cmd.env("CALSTORE_NOW", now);
        Run::from(cmd.output().unwrap()).json()
    };
    assert_eq!(
        prune("20270101T000000Z", &["--days", "90"]),
        json!({"redacted": 0, "deleted": 0})
    );
    assert_eq!(
        prune("20270301T000000Z", &["--days", "90"]),
        json!({"redacted": 2, "deleted": 0})
    );
    let log = env.connections(&[]);
    assert_eq!(log[0]["peer"], "192.0.2.0:50000");
    assert_eq!(log[0]["login"], json!(null));
    assert_eq!(log[1]["peer"], "[2001:db8:1::]:4000");
    // The unmatched attempt's keyed digest is gone too: --login no longer finds it.
    assert!(env.connections(&["--login", "mrbig"]).is_empty());
    assert_eq!(
        prune(
            "20270301T000000Z",
            &["--days", "90", "--delete-after-days", "60"]
        ),
        json!({"redacted": 0, "deleted": 2})
    );
    env.run(&["connections", "prune"]).fails(2);
    env.run(&["connections", "prune", "--days", "0"]).fails(2);
}

#[test]
fn snapshot_command() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    let out = env.run(&["snapshot", "--format", "json"]);
    let lines: Vec<Value> = out
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tables: Vec<&str> = lines.iter().map(|l| l["table"].as_str().unwrap()).collect();
    assert_eq!(tables, ["live_sessions", "login_throttle"]);
    assert_eq!(lines[0]["generation"], 1);
    let one = env.run(&["snapshot", "--table", "login_throttle", "--format", "json"]);
    let v: Value = serde_json::from_str(one.ok().trim()).unwrap();
    assert_eq!(
        (v["table"].as_str(), v["generation"].as_i64()),
        (Some("login_throttle"), Some(2))
    );
    assert!(
        Path::new(v["location"].as_str().unwrap()).starts_with(env.path("a.db.snapshots"))
            || v["location"]
                .as_str()
                .unwrap()
                .starts_with("a.db.snapshots")
            || v["location"].as_str().unwrap().contains("a.db.snapshots/"),
        "{v}"
    );
    let e = env
        .run(&["snapshot", "--table", "accounts"])
        .fails(1)
        .to_owned();
    assert!(e.contains("no memory table"), "{e}");
}

/// Starts `account login --hold` for alf; returns the child once its session is open, and
/// its stdin (closing it ends the session cleanly).
fn hold(env: &Env, login: &str, password: &str) -> (Child, std::process::ChildStdin, Value) {
    let mut child = env
        .command(&[
            "account",
            "login",
            "--login",
            login,
            "--password-stdin",
            "--hold",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{password}").unwrap();
    stdin.flush().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let opened: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    // Ask for a snapshot and wait for it (two lines: one per memory table).
    writeln!(stdin, "snapshot").unwrap();
    stdin.flush().unwrap();
    for _ in 0..2 {
        let l = lines.next().unwrap().unwrap();
        assert!(l.contains("\"generation\""), "{l}");
    }
    (child, stdin, opened)
}

/// A holder of alf's session killed with SIGKILL: every row committed before (by other
/// processes and by the holder) is there, its session is still open in the log, another
/// login meanwhile was refused as the memory tables' owner was alive, and the next owner ends
/// the session as `server_restart`; alf logs in again.
#[test]
fn kill_9_of_a_session_holder() {
    let env = Env::new();
    env.add(
        "alf",
        ALF_PASSWORD,
        &["--calendar", "mailto:room@example.com=read"],
    )
    .ok();
    env.add("anakin", "the dark side", &[]).ok();
    env.add("indiana", "snakes, why", &[]).ok();
    env.run(&["account", "delete", "--login", "anakin"]).ok();
    env.run(&["account", "suspend", "--login", "indiana"]).ok();
    env.run(&[
        "account",
        "grant",
        "--login",
        "alf",
        "--calendar",
        "mailto:room@example.com",
        "--role",
        "write",
    ])
    .ok();
    env.login("alf", "I love dogs").fails(1);
    let before_accounts = env.run(&["account", "list", "--format", "json"]).json();

    let (mut child, _stdin, opened) = hold(&env, "alf", ALF_PASSWORD);
    assert_eq!(opened["outcome"], "access_granted");
    // The holder owns the memory tables: another login process is turned away.
    let e = env.login("alf", ALF_PASSWORD).fails(1).to_owned();
    assert!(e.contains("owned by process"), "{e}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert_eq!(
        env.run(&["account", "list", "--format", "json"]).json(),
        before_accounts
    );
    let open = env.connections(&["--open"]);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], opened["connection"]);
    assert_eq!(open[0]["outcome"], "access_granted");
    assert_eq!(open[0]["ended"], json!(null));

    env.login("alf", ALF_PASSWORD).ok();
    let log = env.connections(&[]);
    let outcomes: Vec<&str> = log.iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            "bad_password",
            "server_restart",
            "normal_client_side_termination"
        ]
    );
    assert!(env.connections(&["--open"]).is_empty());
}

/// A session held and ended cleanly (standard input closed): the session ends as
/// `normal_client_side_termination`.
#[test]
fn hold_ends_cleanly_at_end_of_input() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    let (child, stdin, opened) = hold(&env, "alf", ALF_PASSWORD);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let log = env.connections(&[]);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], opened["connection"]);
    assert_eq!(log[0]["outcome"], "normal_client_side_termination");
}

/// Every file the database uses and every stored value, after failed logins with distinctive
/// wrong passwords: no password, no piece of one (6 characters or more), no unsalted hash of
/// one (SHA-256, SHA-512, BLAKE2b, raw or hex), and no Argon2 hash but the accounts' own,
/// none of which matches a wrong password.
#[test]
fn dump_after_failed_logins_holds_no_trace_of_the_wrong_passwords() {
    let env = Env::new();
    env.add("alf", ALF_PASSWORD, &[]).ok();
    // Distinctive: no piece of 6 characters occurs in calstore's own schema or data.
    let wrong = [
        "Zq8#wr0ng-Pa55w0rd!",
        "alf-Typ0-I l0ve catz",
        "Xk2$Unkn0wn-L0g1n-Pw",
    ];
    env.login("alf", wrong[0]).fails(1);
    env.login("alf", wrong[1]).fails(1);
    env.login("mrbig", wrong[2]).fails(1);
    // Users type passwords into the login field: that is a login, stored as a keyed digest.
    env.login(wrong[0], wrong[1]).fails(1);
    env.login("alf", wrong[2]).fails(1);
    env.login("alf", wrong[0]).fails(1);
    // Throttled by now: not even verified.
    assert!(
        env.login("alf", ALF_PASSWORD)
            .fails(1)
            .ends_with("throttled")
    );
    env.run(&["snapshot"]).ok();

    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for w in wrong {
        let chars: Vec<char> = w.chars().collect();
        for len in 6..=chars.len() {
            for start in 0..=chars.len() - len {
                let piece: String = chars[start..start + len].iter().collect();
                needles.push((format!("piece {piece:?}"), piece.into_bytes()));
            }
        }
        use sha2::Digest as _;
        let hashes: Vec<(&str, Vec<u8>)> = vec![
            ("sha256", sha2::Sha256::digest(w.as_bytes()).to_vec()),
            ("sha512", sha2::Sha512::digest(w.as_bytes()).to_vec()),
            ("blake2b", blake2::Blake2b512::digest(w.as_bytes()).to_vec()),
        ];
        for (name, h) in hashes {
            let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
            needles.push((format!("{name} of {w:?}"), h.clone()));
            needles.push((format!("{name} hex of {w:?}"), hex.into_bytes()));
        }
    }
    // Every byte of every file: the database, its WAL, the snapshots, the key.
    let mut files = Vec::new();
    let mut dirs = vec![env.dir.path().to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("snapshots"))
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for (what, n) in &needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_slice()),
                "{what} found in {}",
                f.display()
            );
        }
    }
    // The logical dump: every row of every table, of the database and of each snapshot.
    let mut phc = Vec::new();
    let mut dumps = Vec::new();
    for f in files.iter().filter(|f| {
        let n = f.to_string_lossy();
        n.ends_with("a.db") || n.ends_with(".sqlite")
    }) {
        let c = rusqlite::Connection::open(f).unwrap();
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!tables.is_empty());
        for t in tables {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let n = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                for i in 0..n {
                    let v: rusqlite::types::Value = row.get(i).unwrap();
                    let text = match v {
                        rusqlite::types::Value::Text(s) => s,
                        rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into(),
                        other => format!("{other:?}"),
                    };
                    if text.starts_with("$argon2") {
                        phc.push(text.clone());
                    }
                    dumps.push(text);
                }
            }
        }
    }
    for value in &dumps {
        for (what, n) in &needles {
            assert!(
                !value.as_bytes().windows(n.len()).any(|w| w == n.as_slice()),
                "{what} in a stored value"
            );
        }
    }
    assert_eq!(phc.len(), 1, "only alf's own hash: {phc:?}");
    for w in wrong {
        assert!(!calstore_core::accounts::password::verify(
            w,
            &phc[0].parse().unwrap()
        ));
    }
    assert!(calstore_core::accounts::password::verify(
        ALF_PASSWORD,
        &phc[0].parse().unwrap()
    ));
}

mod postgres {
    use super::*;
    use calstore_core::SqlConnection;
    use calstore_native::PgConnection;
    use std::sync::atomic::{AtomicU64, Ordering};

    const URL_VAR: &str = "CALSTORE_TEST_PG_URL";

    /// A schema of its own on the test server, dropped at the end, and an [`Env`] whose
    /// `--db` uses only it.
    struct Schema {
        name: String,
        conn: PgConnection,
        env: Env,
    }

    impl Schema {
        fn new() -> Schema {
            let url = match std::env::var(URL_VAR) {
                Ok(u) if !u.trim().is_empty() => u,
                _ => panic!(
                    "{URL_VAR} is not set: start a server with `export \"$(scripts/pg-test-cluster.sh \
                     start /tmp/calstore-pg)\"`"
                ),
            };
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "acct_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let mut conn = PgConnection::connect(&url).unwrap();
            conn.execute_batch(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let mut env = Env::new();
            env.db = format!("{url}{sep}options=-csearch_path%3D{name}");
            env.extra_env
                .push(("CALSTORE_PSEUDONYM_KEY".into(), "2a".repeat(32)));
            Schema { name, conn, env }
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = self
                .conn
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }

    #[test]
    fn accounts_on_postgres() {
        let s = Schema::new();
        let env = &s.env;
        // Without a key: a usage error naming what to set.
        let mut no_key = Env::new();
        no_key.db.clone_from(&env.db);
        let e = no_key.add("alf", ALF_PASSWORD, &[]).fails(2).to_owned();
        assert!(e.contains("CALSTORE_PSEUDONYM_KEY"), "{e}");

        assert_eq!(
            env.add("alf", ALF_PASSWORD, &[]).json(),
            account_value(1, "alf", "active", json!([own("alf")]))
        );
        env.login("alf", ALF_PASSWORD).ok();
        assert_eq!(
            env.login("alf", "I love dogs").fails(1),
            "calstore: error: login refused: invalid_credentials"
        );
        assert_eq!(
            env.login("mrbig", "I love dogs").fails(1),
            env.login("alf", "x y z w v").stderr.trim_end()
        );
        let outcomes: Vec<Value> = env
            .connections(&[])
            .iter()
            .map(|c| c["outcome"].clone())
            .collect();
        assert_eq!(
            outcomes,
            [
                json!("normal_client_side_termination"),
                json!("bad_password"),
                json!("unknown_login"),
                json!("bad_password"),
            ]
        );
        assert_eq!(env.connections(&["--login", "mrbig"]).len(), 1);
        // Snapshots are tables here; any process may take one.
        let out = env.run(&["snapshot", "--format", "json"]);
        let lines: Vec<Value> = out
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["location"], "table login_throttle_snapshot");
        // Counters of alf's login, mrbig's login and the address.
        assert_eq!(lines[1]["rows"], 3);
        // A session holder owns the logins; killed, its session ends as server_restart.
        let (mut child, _stdin, opened) = hold(env, "alf", ALF_PASSWORD);
        let e = env.login("alf", ALF_PASSWORD).fails(1).to_owned();
        assert!(e.contains("owned by PostgreSQL backend"), "{e}");
        child.kill().unwrap();
        child.wait().unwrap();
        env.login("alf", ALF_PASSWORD).ok();
        let log = env.connections(&[]);
        let held = log
            .iter()
            .find(|c| c["id"] == opened["connection"])
            .unwrap();
        assert_eq!(held["outcome"], "server_restart");
        env.run(&["account", "suspend", "--login", "alf"]).ok();
        assert_eq!(env.account("alf")["status"], "suspended");
    }
}
