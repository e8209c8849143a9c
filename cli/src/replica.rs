//! Replicas: `calstore clone`, `calstore sync` and `calstore outbox`, the HTTP transport of
//! the sync protocol (`docs/sync-protocol.md`), and the routing of write commands on a
//! replica into its outbox. The protocol itself is the core's (`calstore_core::sync`); this
//! module only moves its messages.

use std::io::{self, Read, Write};
use std::time::Duration;

use calstore_core::sync::client::{self, settings};
use calstore_core::sync::wire::{
    ErrorBody, LoginRequest, LoginResponse, MutationResult, PullResponse, PushResponse,
    ResultStatus,
};
use calstore_core::sync::{Mutation, Outcome};
use calstore_core::{RecordOptions, Store};
use calstore_native::{DbUrl, connect};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::args::Format;
use super::{CliError, CliStore};

/// Mutations per push.
const PUSH_BATCH: usize = 500;
/// Items per pull page.
const PULL_PAGE: u32 = 2_000;
/// The largest answer read.
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// `clone`.
#[derive(Debug, clap::Args)]
pub struct CloneArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The account's login
    #[arg(long, value_name = "LOGIN")]
    pub login: String,
    /// Read the password from standard input (required)
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Trust the certificates of this PEM file for an https server (a private CA, or a
    /// self-signed server), instead of the usual roots; kept in the replica for later syncs
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Sync with this server instead of the one the replica was cloned from, and remember it
    /// (another process serving the same database, or the server at a new address)
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Read the password from standard input, to log in again when the session has ended
    #[arg(long)]
    pub password_stdin: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `outbox`.
#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A failed exchange with the server.
#[derive(Debug)]
enum Transport {
    /// The server answered with an error.
    Status(u16, ErrorBody),
    /// No answer (network, TLS, a bad answer).
    Failed(String),
}

impl Transport {
    fn message(&self) -> String {
        match self {
            Transport::Status(401, body) if body.error == "login_failed" => {
                "login failed: unknown login or wrong password".into()
            }
            Transport::Status(401, _) => {
                "the session has ended: run calstore sync --password-stdin to log in again".into()
            }
            Transport::Status(code, body) => {
                format!(
                    "the server answered {code} {}: {}",
                    body.error, body.message
                )
            }
            Transport::Failed(m) => format!("cannot reach the server: {m}"),
        }
    }
}

impl From<Transport> for CliError {
    fn from(t: Transport) -> Self {
        CliError::Failed(t.message())
    }
}

/// The HTTP side of the protocol.
struct Http {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Http {
    /// A client of `base`, trusting the certificates of `ca_pem` (when given) instead of the
    /// usual roots.
    fn new(base: &str, token: Option<String>, ca_pem: Option<&str>) -> Result<Self, CliError> {
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(300)))
            .http_status_as_error(false);
        if let Some(pem) = ca_pem {
            let certs = certificates(pem)?;
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        let agent: ureq::Agent = config.build().into();
        Ok(Http {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Transport> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Accept-Encoding", "gzip");
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut resp = req
            .send_json(body)
            .map_err(|e| Transport::Failed(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| Transport::Failed(e.to_string()))?;
        if status == 200 {
            serde_json::from_str(&text).map_err(|e| Transport::Failed(format!("bad answer: {e}")))
        } else {
            let body = serde_json::from_str(&text).unwrap_or(ErrorBody {
                error: "unknown".into(),
                message: text.chars().take(200).collect(),
                protocol: None,
            });
            Err(Transport::Status(status, body))
        }
    }
}

/// The certificates of a PEM text (at least one).
fn certificates(pem: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, CliError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(CliError::Usage(format!("--ca-cert: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(CliError::Usage(
            "--ca-cert: no certificate in the file".into(),
        ));
    }
    Ok(certs)
}

fn read_password() -> Result<String, CliError> {
    let mut text = String::new();
    io::stdin()
        .lock()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(CliError::Usage(
            "the password on standard input is empty".into(),
        ));
    }
    Ok(password.to_owned())
}

fn login(
    store: &mut CliStore,
    http: &mut Http,
    login: &str,
    password: &str,
) -> Result<(), CliError> {
    let resp: LoginResponse = http.post(
        "/sync/v1/login",
        &LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            client: Some(format!("calstore/{}", env!("CARGO_PKG_VERSION"))),
        },
    )?;
    client::set(store, settings::TOKEN, &resp.token)?;
    client::set(store, settings::EXPIRES, &resp.expires)?;
    http.token = Some(resp.token);
    Ok(())
}

fn random_id() -> Result<String, CliError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Failed(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What a sync did, as printed.
#[derive(Debug, Default, Serialize)]
struct Summary {
    pushed: usize,
    applied: usize,
    superseded: usize,
    rejected: usize,
    pulled: usize,
    cursor: Option<String>,
    conflicts: Vec<Conflict>,
    bookings: Vec<Booking>,
    /// The attendees of the events this sync pushed as their organiser, as the server left
    /// them: a local room's decision (with its reason), a local person's answer so far.
    invitations: Vec<Invitation>,
    pending: usize,
}

#[derive(Debug, Serialize)]
struct Invitation {
    uid: String,
    #[serde(flatten)]
    state: calstore_core::scheduling::AttendeeState,
}

#[derive(Debug, Serialize)]
struct Conflict {
    seq: i64,
    kind: String,
    status: ResultStatus,
    reason: Option<String>,
    server: Vec<calstore_core::sync::wire::ServerVersion>,
}

#[derive(Debug, Serialize)]
struct Booking {
    seq: i64,
    quota: String,
    decision: String,
    reason: Option<String>,
}

/// Pushes the outbox and pulls; the summary of what happened.
fn exchange(
    store: &mut CliStore,
    http: &mut Http,
    password: Option<&str>,
    opts: &RecordOptions,
) -> Result<Summary, CliError> {
    let mut summary = Summary::default();
    let kinds: std::collections::BTreeMap<i64, String> = client::outbox(store)?
        .into_iter()
        .map(|e| (e.seq, e.mutation.kind().to_owned()))
        .collect();
    // The events pushed as their organiser: their attendees are reported after the pull.
    let mut organised: std::collections::BTreeMap<i64, (String, Vec<String>)> =
        std::collections::BTreeMap::new();
    for e in client::outbox(store)? {
        if e.state == "pending"
            && matches!(e.mutation, Mutation::Record { .. })
            && let Ok(Some(written)) = e.mutation.events_written()
        {
            organised.insert(e.seq, written);
        }
    }
    let mut applied_seqs = Vec::new();
    let mut relogged = false;
    while let Some(req) = client::push_request(store, PUSH_BATCH)? {
        let resp: PushResponse = match http.post("/sync/v1/push", &req) {
            Ok(r) => r,
            Err(Transport::Status(401, _)) if !relogged && password.is_some() => {
                relogged = true;
                let who = client::get(store, settings::LOGIN)?.unwrap_or_default();
                login(store, http, &who, password.unwrap_or_default())?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let fresh = client::apply_push(store, &resp)?;
        if fresh.is_empty() {
            return Err(CliError::Failed(
                "the server answered the push without processing any mutation; try again later"
                    .into(),
            ));
        }
        summarise(&mut summary, &fresh, &kinds);
        applied_seqs.extend(
            fresh
                .iter()
                .filter(|r| r.status == ResultStatus::Applied)
                .map(|r| r.seq),
        );
    }
    let mut refetch = false;
    for _ in 0..3 {
        let first = client::pull_request(store, Some(PULL_PAGE), refetch)?;
        let mut req = first.clone();
        let mut pages: Vec<PullResponse> = Vec::new();
        loop {
            let page: PullResponse = match http.post("/sync/v1/pull", &req) {
                Ok(p) => p,
                Err(Transport::Status(401, _)) if !relogged && password.is_some() => {
                    relogged = true;
                    let who = client::get(store, settings::LOGIN)?.unwrap_or_default();
                    login(store, http, &who, password.unwrap_or_default())?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let more = page.more;
            let next = client::next_page(&req, &page);
            pages.push(page);
            if !more {
                break;
            }
            req = next;
        }
        let outcome = client::apply_pull(store, &first, &pages, opts)?;
        summary.pulled += outcome.pulled;
        if !outcome.must_refetch {
            break;
        }
        refetch = true;
    }
    for seq in applied_seqs {
        let Some((user, uids)) = organised.get(&seq) else {
            continue;
        };
        for uid in uids {
            let Some(text) = store.get_complete_event(user, uid)? else {
                continue;
            };
            let organiser = calstore_core::ical::parse_events(text.as_bytes())
                .ok()
                .and_then(|e| e.into_iter().next())
                .and_then(|e| e.organizer);
            if !organiser.is_some_and(|o| o.eq_ignore_ascii_case(user)) {
                continue;
            }
            for state in calstore_core::scheduling::attendee_states(&text)? {
                summary.invitations.push(Invitation {
                    uid: uid.clone(),
                    state,
                });
            }
        }
    }
    summary.cursor = client::get(store, settings::CURSOR)?;
    summary.pending = client::outbox(store)?
        .iter()
        .filter(|e| e.state == "pending")
        .count();
    Ok(summary)
}

fn summarise(
    summary: &mut Summary,
    results: &[MutationResult],
    kinds: &std::collections::BTreeMap<i64, String>,
) {
    for r in results {
        summary.pushed += 1;
        let kind = kinds.get(&r.seq).cloned().unwrap_or_default();
        match r.status {
            ResultStatus::Applied => summary.applied += 1,
            ResultStatus::Superseded => summary.superseded += 1,
            ResultStatus::Rejected => summary.rejected += 1,
        }
        if r.status != ResultStatus::Applied {
            summary.conflicts.push(Conflict {
                seq: r.seq,
                kind: kind.clone(),
                status: r.status,
                reason: r.reason.clone(),
                server: r.server.clone(),
            });
        }
        if let Some(b) = &r.booking {
            summary.bookings.push(Booking {
                seq: r.seq,
                quota: b.quota.clone(),
                decision: b.decision.clone(),
                reason: b.reason.clone(),
            });
        }
    }
}

fn print_summary(out: &mut dyn Write, format: Format, s: &Summary) -> Result<(), CliError> {
    if format == Format::Json {
        serde_json::to_writer(&mut *out, s).map_err(|e| CliError::Failed(e.to_string()))?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "pushed {} (applied {}, superseded {}, rejected {}), pulled {}, {} pending",
        s.pushed, s.applied, s.superseded, s.rejected, s.pulled, s.pending
    )?;
    for c in &s.conflicts {
        let won = c
            .server
            .iter()
            .map(|v| {
                format!(
                    "{} SEQUENCE {} {}",
                    v.uid,
                    v.sequence,
                    v.dtstamp.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        writeln!(
            out,
            "  {:?} #{} {}: {}{}",
            c.status,
            c.seq,
            c.kind,
            c.reason.as_deref().unwrap_or(""),
            if won.is_empty() {
                String::new()
            } else {
                format!(" (won: {won})")
            }
        )?;
    }
    for i in &s.invitations {
        let answer = match i.state.partstat.as_str() {
            "NEEDS-ACTION" => "pending".to_owned(),
            other => other.to_lowercase(),
        };
        match &i.state.reason {
            Some(why) => writeln!(out, "  {} {}: {answer} ({why})", i.uid, i.state.attendee)?,
            None => writeln!(out, "  {} {}: {answer}", i.uid, i.state.attendee)?,
        }
    }
    for b in &s.bookings {
        writeln!(
            out,
            "  booking #{} of {}: {}{}",
            b.seq,
            b.quota,
            b.decision,
            b.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// Opens the store of `url` as a replica (an error if it is not one).
fn open_replica(url: &DbUrl, clock: Box<dyn calstore_core::Clock>) -> Result<CliStore, CliError> {
    if let DbUrl::SqliteFile(path) = url
        && !std::path::Path::new(path).exists()
    {
        return Err(CliError::Failed(format!(
            "{path} does not exist: make a replica with calstore clone"
        )));
    }
    let mut store = super::open_store(url, clock)?;
    if !client::is_replica(&mut store)? {
        return Err(CliError::Failed(format!(
            "{url} is not a replica: make one with calstore clone"
        )));
    }
    Ok(store)
}

/// `clone`: a new replica of everything the account may see.
pub fn clone(
    db: &DbUrl,
    args: &CloneArgs,
    clock: Box<dyn calstore_core::Clock>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let password = read_password()?;
    if let DbUrl::SqliteFile(path) = db
        && std::path::Path::new(path).exists()
    {
        return Err(CliError::Failed(format!(
            "{path} exists already: clone into a new database"
        )));
    }
    check_server_url(&args.server)?;
    let ca_pem = match &args.ca_cert {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--ca-cert {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut http = Http::new(&args.server, None, ca_pem.as_deref())?;
    // Log in before creating anything, so that a wrong password leaves no file behind.
    let resp: LoginResponse = http.post(
        "/sync/v1/login",
        &LoginRequest {
            login: args.login.clone(),
            password: password.clone(),
            client: Some(format!("calstore/{}", env!("CARGO_PKG_VERSION"))),
        },
    )?;
    http.token = Some(resp.token.clone());
    let made = (|| -> Result<Summary, CliError> {
        let conn = connect(db).map_err(|e| CliError::Failed(e.to_string()))?;
        let mut store = Store::open(conn, clock)?;
        client::init(&mut store, &args.server, &args.login, &random_id()?)?;
        client::set(&mut store, settings::TOKEN, &resp.token)?;
        client::set(&mut store, settings::EXPIRES, &resp.expires)?;
        if let Some(pem) = &ca_pem {
            client::set(&mut store, settings::CA_CERT, pem)?;
        }
        let opts = RecordOptions::new(store.now());
        exchange(&mut store, &mut http, Some(&password), &opts)
    })();
    let summary = match made {
        Ok(s) => s,
        Err(e) => {
            // No half-made replica is left behind: the file the clone created goes.
            if let DbUrl::SqliteFile(path) = db {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            return Err(e);
        }
    };
    if args.format == Format::Json {
        return print_summary(out, args.format, &summary);
    }
    writeln!(
        out,
        "cloned {} of {} for {} into {db}",
        plural(summary.pulled, "item", "items"),
        args.server,
        args.login
    )?;
    Ok(())
}

/// A server URL: `http://` or `https://`, a host, no query.
fn check_server_url(url: &str) -> Result<(), CliError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--server {url}: expected http://HOST:PORT or https://HOST:PORT"
            ))
        })?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', ' ']) {
        return Err(CliError::Usage(format!(
            "--server {url}: expected http://HOST:PORT or https://HOST:PORT"
        )));
    }
    Ok(())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `sync`: push the outbox, pull, print a summary; exit 1 (the outbox kept, nothing half
/// applied) if the server could not be reached or refused.
pub fn sync(
    db: &DbUrl,
    args: &SyncArgs,
    clock: Box<dyn calstore_core::Clock>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let password = if args.password_stdin {
        Some(read_password()?)
    } else {
        None
    };
    let mut store = open_replica(db, clock)?;
    if let Some(url) = &args.server {
        check_server_url(url)?;
        client::set(&mut store, settings::SERVER, url)?;
    }
    let server = client::get(&mut store, settings::SERVER)?
        .ok_or_else(|| CliError::Failed("the replica has no server".into()))?;
    let token = client::get(&mut store, settings::TOKEN)?;
    let ca_pem = client::get(&mut store, settings::CA_CERT)?;
    let mut http = Http::new(&server, token, ca_pem.as_deref())?;
    if http.token.is_none() {
        let Some(pw) = &password else {
            return Err(CliError::Failed(
                "no session: run calstore sync --password-stdin".into(),
            ));
        };
        let who = client::get(&mut store, settings::LOGIN)?.unwrap_or_default();
        login(&mut store, &mut http, &who, pw)?;
    }
    let opts = RecordOptions::new(store.now());
    let summary = exchange(&mut store, &mut http, password.as_deref(), &opts)?;
    print_summary(out, args.format, &summary)
}

/// `outbox`: the mutations not yet acknowledged (and acknowledged ones until the next pull).
pub fn outbox(
    db: &DbUrl,
    args: &OutboxArgs,
    clock: Box<dyn calstore_core::Clock>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut store = open_replica(db, clock)?;
    let entries = client::outbox(&mut store)?;
    if args.format == Format::Json {
        serde_json::to_writer(&mut *out, &entries).map_err(|e| CliError::Failed(e.to_string()))?;
        writeln!(out)?;
        return Ok(());
    }
    for e in &entries {
        let status = match &e.result {
            Some(r) => format!("{:?}", r.status).to_lowercase(),
            None => e.state.clone(),
        };
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            e.seq,
            e.mutation.kind(),
            status,
            e.created
        )?;
    }
    Ok(())
}

/// True if the store is a replica.
pub fn is_replica(store: &mut CliStore) -> Result<bool, CliError> {
    Ok(client::is_replica(store)?)
}

/// On a replica, records `mutation` in the outbox (applied locally first, except a booking,
/// which waits for the server) and says so; None on a database that does not sync (the
/// caller writes as usual).
pub fn write(
    store: &mut CliStore,
    mutation: Mutation,
    opts: &RecordOptions,
    out: &mut dyn Write,
) -> Result<Option<Outcome>, CliError> {
    if !client::is_replica(store)? {
        return Ok(None);
    }
    let (seq, outcome) = client::record(store, &mutation, opts)?;
    let what = match outcome {
        Outcome::Pending => "pending until the server decides at the next sync",
        _ => "applied locally, sent at the next sync",
    };
    writeln!(
        out,
        "recorded {} as #{seq} in the outbox: {what}",
        mutation.kind()
    )?;
    Ok(Some(outcome))
}

/// The database URL of `--db` for the replica commands (which need one).
pub fn db_url(db: Option<DbUrl>) -> Result<DbUrl, CliError> {
    db.ok_or_else(|| CliError::Usage("give --db URL".into()))
}
