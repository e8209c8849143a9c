//! `calstore account …`, `calstore connections …` and `calstore snapshot`: arguments and
//! output; the work is `calstore_core::accounts` and `calstore_core::schema::storage`.
//!
//! - Passwords come on standard input (the first line), never as arguments (which other
//!   users can see in the process list). Hashing and verification happen before the write
//!   transaction; nothing derived from a submitted password is stored or printed.
//! - Salts come from the OS (`getrandom`), the pseudonym key from [`super::keyfile`].
//! - Read-only commands (`account list`, `account show`, `connections`) create no database
//!   and write nothing: without a database file they fail; without the accounts component
//!   they find nothing.
//! - `account login` serves one login as a server would: it owns the memory tables while it
//!   runs (another owner makes it fail), runs the recovery at start, records the attempt, and
//!   ends the session when it exits (`--hold` keeps it open until standard input ends,
//!   snapshotting memory tables on their interval; a `snapshot` line takes one at once).

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use calstore_core::accounts::connections::{self, ClientInfo, ConnectionFilter, LoginRecord, Peer};
use calstore_core::accounts::grants::{self, CalendarAccess};
use calstore_core::accounts::throttle::ThrottlePolicy;
use calstore_core::accounts::{
    self, Account, AccountError, ConnectionOutcome, GrantRole, KeyCheck, NewAccount,
    PasswordPolicy, Profile, PseudonymKey, Purpose, account, keys, password,
};
use calstore_core::schema::storage::{Role, SnapshotReport, SnapshotSchedule, StorageConnection};
use calstore_core::schema::{self, ACCOUNTS, CORE};
use calstore_core::sync::server as sync_server;
use calstore_core::typed::{
    BoundedString, CalendarUri, EmailAddress, IpAddress, Login, Port, Stored, UtcTime,
};
use calstore_core::{SqlConnection, StoreError, in_transaction};
use calstore_native::{AnyConnection, DbUrl, connect, memory_backend};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::args::ListFormat;
use super::keyfile::{self, Create};
use super::output::write_table;
use super::{CliError, store_message};

/// `--format table|json`.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `--login L` of an existing account.
#[derive(Debug, Args)]
pub struct LoginArg {
    /// The account's login
    #[arg(long, value_name = "L", value_parser = parse_login)]
    pub login: Login,
}

/// `--password-stdin`: required wherever a password is given.
#[derive(Debug, Args)]
pub struct PasswordStdin {
    /// Read the password from the first line of standard input (required: passwords are never
    /// arguments)
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

/// `account …` with the options every account command shares.
#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub command: AccountCommand,
    /// The pseudonym key file [default: $CALSTORE_PSEUDONYM_KEY, or DB.key beside a SQLite
    /// file]
    #[arg(long, value_name = "PATH", global = true)]
    pub key_file: Option<PathBuf>,
}

/// `account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Register an account (password on standard input) and print it
    Add(AddArgs),
    /// List every account
    List(FormatArg),
    /// Show one account
    Show {
        #[command(flatten)]
        login: LoginArg,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Suspend an account (its sessions end); print it
    Suspend {
        #[command(flatten)]
        login: LoginArg,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Activate a suspended account; print it
    Activate {
        #[command(flatten)]
        login: LoginArg,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Delete an account (final; its login is never registered again); print it
    Delete {
        #[command(flatten)]
        login: LoginArg,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Set a new password (read from standard input)
    Passwd {
        #[command(flatten)]
        login: LoginArg,
        #[command(flatten)]
        password: PasswordStdin,
    },
    /// Grant an account the use of a calendar with a role (or change the role); print it
    Grant {
        #[command(flatten)]
        login: LoginArg,
        /// The calendar user URI
        #[arg(long, value_name = "URI", value_parser = parse_calendar)]
        calendar: CalendarUri,
        /// What the account may do with it
        #[arg(long, value_name = "ROLE", value_parser = parse_role)]
        role: GrantRole,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Check a password (standard input) and record the attempt in the connection log; exit 0
    /// when access is granted, 1 otherwise (the reason on stderr; one word for an unknown
    /// login and a wrong password alike)
    Login(LoginArgs),
}

/// `account add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The login: 3 to 32 of a-z 0-9 _ . - (never reusable, even after deletion)
    #[arg(long, value_name = "L", value_parser = parse_login)]
    pub login: Login,
    /// The email address (unique, compared case-insensitively)
    #[arg(long, value_name = "E", value_parser = parse_email)]
    pub email: EmailAddress,
    /// First name
    #[arg(long, value_name = "X", value_parser = parse_name)]
    pub first_name: Option<BoundedString<64>>,
    /// Last name
    #[arg(long, value_name = "Y", value_parser = parse_name)]
    pub last_name: Option<BoundedString<64>>,
    /// A calendar the account may use, with a role (default owner); repeatable
    #[arg(long = "calendar", value_name = "URI[=owner|write|read]", value_parser = parse_calendar_role)]
    pub calendars: Vec<(CalendarUri, GrantRole)>,
    /// Sessions the account may hold at once, 1 to 64 (a sync session per replica: one for
    /// each device that clones)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..=64))]
    pub max_sessions: i64,
    #[command(flatten)]
    pub password: PasswordStdin,
    #[command(flatten)]
    pub format: FormatArg,
}

/// `account login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The login as sent (any text: an unknown login is an attempt too)
    #[arg(long, value_name = "L")]
    pub login: String,
    #[command(flatten)]
    pub password: PasswordStdin,
    /// The peer to record [default: 127.0.0.1:1, a local login]
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_peer)]
    pub peer: Option<Peer>,
    /// Keep the session open until standard input ends (the lines after the password: `snapshot`
    /// takes a snapshot of the memory tables now); prints the session as a JSON line when it is
    /// open
    #[arg(long)]
    pub hold: bool,
    /// Output format of the result (printed on success)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `connections`: without a subcommand, the listing.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConnectionsArgs {
    #[command(subcommand)]
    pub command: Option<ConnectionsCommand>,
    /// Only the attempts of this login (its account's, and unmatched attempts with this login
    /// when the pseudonym key is at hand)
    #[arg(long, value_name = "L")]
    pub login: Option<String>,
    /// Only connections still open
    #[arg(long)]
    pub open: bool,
    /// The pseudonym key file [default: $CALSTORE_PSEUDONYM_KEY, or DB.key beside a SQLite
    /// file]
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
}

/// `connections …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Retention: ended connections older than --days keep their time, outcome, account and
    /// port, but their address is truncated (IPv4 /24, IPv6 /48) and the sent login, reverse
    /// DNS, city and postal code are dropped; with --delete-after-days, older ones are deleted
    Prune {
        /// Redact connections that started more than this many days ago
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_600))]
        days: u32,
        /// Delete connections that started more than this many days ago
        #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..=36_600))]
        delete_after_days: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Only this memory table (live_sessions or login_throttle)
    #[arg(long, value_name = "T")]
    pub table: Option<String>,
    #[command(flatten)]
    pub format: FormatArg,
}

fn parse_login(s: &str) -> Result<Login, String> {
    Login::new(s).map_err(|e| e.to_string())
}

fn parse_email(s: &str) -> Result<EmailAddress, String> {
    EmailAddress::new(s).map_err(|e| e.to_string())
}

fn parse_name(s: &str) -> Result<BoundedString<64>, String> {
    BoundedString::new(s).map_err(|e| e.to_string())
}

fn parse_calendar(s: &str) -> Result<CalendarUri, String> {
    CalendarUri::new(s).map_err(|e| e.to_string())
}

fn parse_role(s: &str) -> Result<GrantRole, String> {
    s.parse()
        .map_err(|_| "expected owner, write or read".to_owned())
}

/// `URI` or `URI=ROLE` (a URI may hold `=` itself: only a known role after the last `=` is
/// a role).
fn parse_calendar_role(s: &str) -> Result<(CalendarUri, GrantRole), String> {
    if let Some((uri, role)) = s.rsplit_once('=')
        && let Ok(role) = role.parse::<GrantRole>()
    {
        return Ok((parse_calendar(uri)?, role));
    }
    Ok((parse_calendar(s)?, GrantRole::Owner))
}

fn parse_peer(s: &str) -> Result<Peer, String> {
    let addr: std::net::SocketAddr = s
        .parse()
        .map_err(|_| "expected ADDR:PORT (e.g. 192.0.2.1:50000 or [2001:db8::1]:50000)")?;
    Ok(Peer {
        ip: IpAddress::new(addr.ip()),
        port: Port::new(addr.port()).map_err(|e| e.to_string())?,
    })
}

/// The first line of standard input, without its line end.
fn read_password(input: &mut dyn BufRead) -> Result<String, CliError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.is_empty() {
        return Err(CliError::Failed(
            "no password on standard input (give it as the first line)".into(),
        ));
    }
    Ok(password.to_owned())
}

fn salt() -> Result<[u8; 16], CliError> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s)
        .map_err(|e| CliError::Failed(format!("no randomness from the OS: {e}")))?;
    Ok(s)
}

fn account_failed(e: AccountError) -> CliError {
    match e {
        AccountError::Store(s) => CliError::Failed(store_message(&s)),
        other => CliError::Failed(other.to_string()),
    }
}

fn now(clock: &dyn calstore_core::Clock) -> Result<UtcTime, CliError> {
    UtcTime::from_datetime(clock.now()).map_err(|e| CliError::Failed(e.to_string()))
}

/// Prints the restore report's warnings (skipped snapshots) on stderr.
fn warn_restore<C: SqlConnection>(c: &StorageConnection<C>) {
    for w in c.restore_report().warnings() {
        eprintln!("calstore: warning: {w}");
    }
}

/// Opens the accounts component for writing (creating the database, the component and the
/// key file as needed).
fn open_for(
    url: &DbUrl,
    key_file: Option<&Path>,
    purpose: Purpose,
    clock: &dyn calstore_core::Clock,
) -> Result<(StorageConnection<AnyConnection>, PseudonymKey), CliError> {
    let key = keyfile::load(url, key_file, Create::Yes)?
        .ok_or_else(|| CliError::Failed("no pseudonym key".into()))?;
    let conn = connect(url).map_err(|e| CliError::Failed(e.to_string()))?;
    let (c, _) = accounts::open(conn, memory_backend(url), &key, purpose, now(clock)?)?;
    warn_restore(&c);
    Ok((c, key))
}

/// Opens an existing database for reading: a missing SQLite file is an error (nothing is
/// created), a database without the accounts component is `None`.
fn open_existing(url: &DbUrl) -> Result<Option<AnyConnection>, CliError> {
    if let DbUrl::SqliteFile(path) = url
        && !Path::new(path).exists()
    {
        return Err(CliError::Failed(format!("no database at {path}")));
    }
    let mut conn = connect(url).map_err(|e| CliError::Failed(e.to_string()))?;
    let found = schema::component_version(&mut conn, &ACCOUNTS)?;
    if found > ACCOUNTS.current_version() {
        return Err(StoreError::SchemaTooNew {
            found,
            known: ACCOUNTS.current_version(),
        }
        .into());
    }
    Ok((found > 0).then_some(conn))
}

/// The account with `login`; none is [`StoreError::NotFound`].
fn find<C: SqlConnection + ?Sized>(
    c: &mut C,
    login: &Login,
) -> Result<Stored<Account>, StoreError> {
    account::find_by_login(c, login)?
        .ok_or_else(|| StoreError::NotFound(format!("no account with login {login}")))
}

fn account_json(a: &Stored<Account>, calendars: &[CalendarAccess]) -> Value {
    let r = &a.record;
    json!({
        "id": a.id.get(),
        "login": r.login.as_ref().map(|l| l.as_str()),
        "email": r.email.as_ref().map(|e| e.as_str()),
        "status": r.status.as_str(),
        "role": r.role.as_str(),
        "first_name": r.first_name.as_ref().map(|n| n.as_str()),
        "last_name": r.last_name.as_ref().map(|n| n.as_str()),
        "created_at": r.created_at.to_string(),
        "calendars": calendars.iter().map(|c| json!({
            "uri": c.calendar.as_str(),
            "role": c.role.as_str(),
            "own": c.own,
        })).collect::<Vec<_>>(),
    })
}

fn calendars_cell(calendars: &[CalendarAccess]) -> String {
    calendars
        .iter()
        .map(|c| format!("{} ({})", c.calendar, c.role))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_accounts(
    out: &mut dyn Write,
    accounts: &[(Stored<Account>, Vec<CalendarAccess>)],
    format: ListFormat,
    one: bool,
) -> Result<(), CliError> {
    match format {
        ListFormat::Json => {
            let values: Vec<Value> = accounts.iter().map(|(a, c)| account_json(a, c)).collect();
            let v = match (one, values.as_slice()) {
                (true, [only]) => only.clone(),
                _ => Value::Array(values),
            };
            writeln!(out, "{v}")?;
        }
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = accounts
                .iter()
                .map(|(a, c)| {
                    let r = &a.record;
                    vec![
                        a.id.to_string(),
                        r.login.as_ref().map_or("-".into(), ToString::to_string),
                        r.email.as_ref().map_or("-".into(), ToString::to_string),
                        r.status.to_string(),
                        calendars_cell(c),
                    ]
                })
                .collect();
            write_table(out, &["ID", "LOGIN", "EMAIL", "STATUS", "CALENDARS"], &rows)?;
        }
    }
    Ok(())
}

fn with_calendars<C: SqlConnection + ?Sized>(
    c: &mut C,
    a: Stored<Account>,
) -> Result<(Stored<Account>, Vec<CalendarAccess>), CliError> {
    let cals = grants::calendars(c, a.id).map_err(account_failed)?;
    Ok((a, cals))
}

/// Runs `account …`.
pub fn account(
    url: &DbUrl,
    args: &AccountArgs,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let key_file = args.key_file.as_deref();
    match &args.command {
        AccountCommand::Add(a) => add(url, key_file, a, clock, out),
        AccountCommand::List(f) => {
            let mut listed = Vec::new();
            if let Some(mut c) = open_existing(url)? {
                for a in account::list(&mut c).map_err(account_failed)? {
                    listed.push(with_calendars(&mut c, a)?);
                }
            }
            write_accounts(out, &listed, f.format, false)
        }
        AccountCommand::Show { login, format } => {
            let mut c = open_existing(url)?.ok_or_else(|| {
                CliError::Failed(format!("no account with login {}", login.login))
            })?;
            let a = find(&mut c, &login.login)?;
            let shown = with_calendars(&mut c, a)?;
            write_accounts(out, &[shown], format.format, true)
        }
        AccountCommand::Suspend { login, format }
        | AccountCommand::Activate { login, format }
        | AccountCommand::Delete { login, format } => {
            let (mut c, _) = open_for(url, key_file, Purpose::Admin, clock)?;
            let at = now(clock)?;
            let shown = in_transaction(&mut c, |tx| {
                let a = find(tx, &login.login)?;
                match &args.command {
                    AccountCommand::Suspend { .. } => {
                        account::suspend(tx, a.id, at)?;
                        // Its sync sessions end with its live ones.
                        sync_server::end_sessions_of(tx, a.id.get())?;
                    }
                    AccountCommand::Activate { .. } => {
                        account::activate(tx, a.id, at)?;
                    }
                    _ => {
                        account::delete(tx, a.id, at)?;
                        sync_server::end_sessions_of(tx, a.id.get())?;
                    }
                }
                let a = find(tx, &login.login)?;
                let cals = grants::calendars(tx, a.id)?;
                Ok((a, cals))
            })?;
            write_accounts(out, &[shown], format.format, true)
        }
        AccountCommand::Passwd { login, .. } => {
            let password = read_password(&mut io::stdin().lock())?;
            let (mut c, _) = open_for(url, key_file, Purpose::Admin, clock)?;
            let a = find(&mut c, &login.login)?;
            let email = a.record.email.as_ref().map(|e| e.to_string());
            let context: Vec<&str> = [Some(login.login.as_str()), email.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let policy = PasswordPolicy::new();
            let checked = policy
                .check_new(&password, &context)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            // Hashed before the transaction.
            let hash = policy
                .hash(&checked, salt()?)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let at = now(clock)?;
            in_transaction(&mut c, |tx| {
                account::set_password_hash(tx, a.id, &hash, at)?;
                // A new password ends the sync sessions opened with the old one.
                sync_server::end_sessions_of(tx, a.id.get())?;
                Ok(())
            })?;
            Ok(())
        }
        AccountCommand::Grant {
            login,
            calendar,
            role,
            format,
        } => {
            let (mut c, _) = open_for(url, key_file, Purpose::Admin, clock)?;
            let at = now(clock)?;
            let shown = in_transaction(&mut c, |tx| {
                let a = find(tx, &login.login)?;
                grants::grant(tx, a.id, calendar, *role, at)?;
                let cals = grants::calendars(tx, a.id)?;
                Ok((a, cals))
            })?;
            write_accounts(out, &[shown], format.format, true)
        }
        AccountCommand::Login(a) => login(url, key_file, a, clock, out),
    }
}

fn add(
    url: &DbUrl,
    key_file: Option<&Path>,
    a: &AddArgs,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let password = read_password(&mut io::stdin().lock())?;
    let policy = PasswordPolicy::new();
    let checked = policy
        .check_new(&password, &[a.login.as_str(), a.email.as_str()])
        .map_err(|e| CliError::Failed(e.to_string()))?;
    // Argon2 before the transaction (a transaction closure may run again).
    let hash = policy
        .hash(&checked, salt()?)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let (mut c, key) = open_for(url, key_file, Purpose::Admin, clock)?;
    let at = now(clock)?;
    let mut new = NewAccount::new(a.login.clone(), a.email.clone(), hash);
    new.max_sessions = accounts::tables::MaxSessions::new(a.max_sessions)
        .map_err(|e| CliError::Usage(format!("--max-sessions: {e}")))?;
    new.profile = Profile {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        ..Profile::default()
    };
    let shown = in_transaction(&mut c, |tx| {
        let id = account::register(tx, &key, new.clone(), at)?;
        for (calendar, role) in &a.calendars {
            grants::grant(tx, id, calendar, *role, at)?;
        }
        let stored = account::get(tx, id)?.ok_or(AccountError::AccountNotFound(id))?;
        let cals = grants::calendars(tx, id)?;
        Ok((stored, cals))
    })?;
    write_accounts(out, &[shown], a.format.format, true)
}

/// What `account login` tells about a refusal: its outcome, except that an unknown login and
/// a wrong password read the same.
fn refusal_word(outcome: ConnectionOutcome) -> &'static str {
    match outcome {
        ConnectionOutcome::UnknownLogin | ConnectionOutcome::BadPassword => "invalid_credentials",
        other => other.as_str(),
    }
}

fn login_json(r: &LoginRecord) -> Value {
    json!({
        "connection": r.connection.get(),
        "outcome": r.outcome.as_str(),
        "account": r.account.map(|a| a.get()),
    })
}

fn login(
    url: &DbUrl,
    key_file: Option<&Path>,
    a: &LoginArgs,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    // Read through the process-wide buffer: `--hold` reads the following lines from it.
    let password = read_password(&mut io::stdin().lock())?;
    let peer = match a.peer {
        Some(p) => p,
        None => parse_peer("127.0.0.1:1").map_err(CliError::Failed)?,
    };
    let policy = PasswordPolicy::new();
    let (mut c, key) = open_for(url, key_file, Purpose::Logins, clock)?;
    let at = now(clock)?;
    let candidate =
        connections::prepare_login(&mut c, &key, &a.login, peer.ip, at).map_err(account_failed)?;
    // Argon2 outside the transaction; the password is dropped right after.
    let verified = candidate.verify(&password, &policy);
    let rehash = if verified.needs_rehash() {
        Some(
            password::hash(&password, salt()?, policy.params())
                .map_err(|e| CliError::Failed(e.to_string()))?,
        )
    } else {
        None
    };
    drop(password);
    let info = ClientInfo {
        client_version: BoundedString::new(&format!("calstore/{}", env!("CARGO_PKG_VERSION"))).ok(),
        ..ClientInfo::default()
    };
    let record = in_transaction(&mut c, |tx| {
        Ok(connections::record_login(
            tx,
            &verified,
            &peer,
            &info,
            &ThrottlePolicy::default(),
            rehash.as_ref(),
            at,
        )?)
    })?;
    if record.outcome != ConnectionOutcome::AccessGranted {
        // The owner's clean shutdown: the throttling counters are kept.
        c.close(now(clock)?)?;
        return Err(CliError::Failed(format!(
            "login refused: {}",
            refusal_word(record.outcome)
        )));
    }
    if a.hold {
        writeln!(out, "{}", login_json(&record))?;
        out.flush()?;
        hold(&mut c, clock, out)?;
    }
    let end = now(clock)?;
    in_transaction(&mut c, |tx| {
        Ok(connections::close_session(
            tx,
            record.connection,
            ConnectionOutcome::NormalClientSideTermination,
            end,
        )?)
    })?;
    c.close(end)?;
    if !a.hold {
        match a.format {
            ListFormat::Json => writeln!(out, "{}", login_json(&record))?,
            ListFormat::Table => writeln!(
                out,
                "access granted (connection {})",
                record.connection.get()
            )?,
        }
    }
    Ok(())
}

/// Holds the session until standard input ends: snapshots on the memory tables' interval,
/// and at once on a `snapshot` line.
fn hold(
    c: &mut StorageConnection<AnyConnection>,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut schedule = SnapshotSchedule::new(accounts::schema::TABLES, now(clock)?);
    loop {
        let wait = schedule
            .next_due()
            .map(|due| due.since(now(clock).unwrap_or(due)))
            .and_then(|d| d.to_std().ok())
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_millis(10));
        match rx.recv_timeout(wait) {
            Ok(line) if line.trim() == "snapshot" => {
                let at = now(clock)?;
                let done = c.snapshot(None, at)?;
                for t in &done {
                    schedule.taken(t.table, at);
                }
                write_snapshots(out, &done, ListFormat::Json)?;
                out.flush()?;
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                c.snapshot_due(&mut schedule, now(clock)?)?;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

fn write_snapshots(
    out: &mut dyn Write,
    done: &[SnapshotReport],
    format: ListFormat,
) -> Result<(), CliError> {
    for s in done {
        match format {
            ListFormat::Json => writeln!(
                out,
                "{}",
                json!({
                    "table": s.table,
                    "generation": s.generation,
                    "rows": s.rows,
                    "location": s.location,
                })
            )?,
            ListFormat::Table => writeln!(
                out,
                "{}: generation {}, {} rows, {}",
                s.table, s.generation, s.rows, s.location
            )?,
        }
    }
    Ok(())
}

/// Runs `snapshot`.
pub fn snapshot(
    url: &DbUrl,
    args: &SnapshotArgs,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let conn = open_existing(url)?.ok_or_else(|| {
        CliError::Failed(
            "the database has no accounts component: it has no memory tables to snapshot".into(),
        )
    })?;
    let mut c = StorageConnection::open(
        conn,
        memory_backend(url),
        &[&CORE, &ACCOUNTS],
        accounts::schema::TABLES,
        Role::Guest,
    )?;
    warn_restore(&c);
    let done = c.snapshot(args.table.as_deref(), now(clock)?)?;
    write_snapshots(out, &done, args.format.format)
}

fn peer_text(ip: IpAddress, port: Port) -> String {
    match ip.get() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
}

/// Runs `connections …`.
pub fn connections(
    url: &DbUrl,
    args: &ConnectionsArgs,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if let Some(ConnectionsCommand::Prune {
        days,
        delete_after_days,
        format,
    }) = &args.command
    {
        return prune(url, *days, *delete_after_days, format.format, clock, out);
    }
    let mut rows = Vec::new();
    if let Some(mut c) = open_existing(url)? {
        let login = match &args.login {
            None => None,
            Some(sent) => {
                let account = match Login::new(sent) {
                    Ok(l) => account::find_by_login(&mut c, &l)
                        .map_err(account_failed)?
                        .map(|a| a.id),
                    Err(_) => None,
                };
                // Unmatched attempts are found by the keyed digest, if the key is at hand
                // (and is this database's).
                let digest = match keyfile::load(url, args.key_file.as_deref(), Create::No)? {
                    Some(key)
                        if keys::check_key(&mut c, &key).map_err(account_failed)?
                            == KeyCheck::Matches =>
                    {
                        Some(key.sent_login(sent))
                    }
                    _ => None,
                };
                Some((account, digest))
            }
        };
        let filter = ConnectionFilter {
            login,
            open_only: args.open,
        };
        rows = connections::list(&mut c, &filter).map_err(account_failed)?;
    }
    match args.format.format {
        ListFormat::Json => {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let c = &r.record;
                    json!({
                        "id": r.id.get(),
                        "login": c.sent_login.as_ref().map(|l| l.as_str()),
                        "outcome": c.outcome.as_str(),
                        "peer": peer_text(c.peer_ip, c.peer_port),
                        "started": c.started_at.to_string(),
                        "ended": c.ended_at.map(|t| t.to_string()),
                        "client": c.client_version.as_ref().map(|v| v.as_str()),
                    })
                })
                .collect();
            writeln!(out, "{}", Value::Array(values))?;
        }
        ListFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let c = &r.record;
                    vec![
                        r.id.to_string(),
                        c.sent_login
                            .as_ref()
                            .map_or("-".into(), ToString::to_string),
                        c.outcome.to_string(),
                        peer_text(c.peer_ip, c.peer_port),
                        c.started_at.to_string(),
                        c.ended_at.map_or("-".into(), |t| t.to_string()),
                    ]
                })
                .collect();
            write_table(
                out,
                &["ID", "LOGIN", "OUTCOME", "PEER", "STARTED", "ENDED"],
                &table,
            )?;
        }
    }
    Ok(())
}

fn prune(
    url: &DbUrl,
    days: u32,
    delete_after_days: Option<u32>,
    format: ListFormat,
    clock: &dyn calstore_core::Clock,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let at = now(clock)?;
    let before = |d: u32| at.saturating_sub(chrono::TimeDelta::days(i64::from(d)));
    let report = match open_existing(url)? {
        None => connections::RetentionReport::default(),
        Some(mut c) => in_transaction(&mut c, |tx| {
            Ok(connections::apply_retention(
                tx,
                before(days),
                delete_after_days.map(before),
                at,
            )?)
        })?,
    };
    match format {
        ListFormat::Json => writeln!(
            out,
            "{}",
            json!({"redacted": report.redacted, "deleted": report.deleted})
        )?,
        ListFormat::Table => writeln!(
            out,
            "redacted {} connections, deleted {}",
            report.redacted, report.deleted
        )?,
    }
    Ok(())
}
