//! The `calstore` command-line tool: the argument tree (clap derive), the dispatcher, and the
//! error type that maps failures to exit codes (0 success, 2 usage errors, 1 anything else)
//! with one line on stderr. Each command's work is in the core; the modules here parse
//! arguments and format results.
#![forbid(unsafe_code)]

mod accounts;
mod args;
mod commands;
mod copy;
mod demo;
mod imip;
mod keyfile;
mod output;
mod quota;
mod replica;
mod scheduling;
mod serve;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use calstore_core::{Clock, Store, StoreError};
use calstore_native::{AnyConnection, DbUrl, connect};
use clap::{Parser, Subcommand};

use args::{ExpandArgs, Format, ListFormat, ObjectArgs, RangeArgs, ShowFormat, UserArg};

/// The database used when `--db` is not given.
pub const DEFAULT_DB: &str = "sqlite:calstore.db";

/// Calendar storage with imip-agent's store and journal semantics.
///
/// Every command opens the database given by --db (creating or migrating its schema).
/// Times on the command line: 20261123 or 20261123T090000Z (UTC, as stored); ISO 8601 such as
/// 2026-11-23, 2026-11-23T09:00 (local in the command's --tz, UTC without one) or
/// 2026-11-23T09:00+01:00; 20261123T090000 (local); now; today; +7d, -2h, +1w, +30m.
/// Exit status: 0 on success, 2 for usage errors, 1 for anything else, 3 when a quota declines
/// (`quota check`, `quota reserve`).
#[derive(Debug, Parser)]
#[command(name = "calstore", version, arg_required_else_help = true)]
pub struct Cli {
    /// Database: sqlite:PATH, sqlite::memory: or postgres://USER:PASSWORD@HOST:PORT/DB (password and port optional)
    /// [default: sqlite:calstore.db; `demo`: sqlite:calstore-demo.db; `copy` takes --source and
    /// --target instead]
    #[arg(long, global = true, value_name = "URL", value_parser = args::DbUrlParser)]
    pub db: Option<DbUrl>,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store the VEVENTs of iCalendar files and record their free/busy
    Import(ImportArgs),
    /// Show a user's free/busy
    Freebusy(FreebusyArgs),
    /// List the users the store holds data for
    Users(NamesArgs),
    /// List the quotas the journal holds
    Quotas(NamesArgs),
    /// Write a user's active events as one iCalendar file (with the VTIMEZONEs they use) that
    /// `import` reads back to the same store state
    Export(ExportArgs),
    /// List a user's active (or cancelled) events and recurrences
    Events(EventsArgs),
    /// Show, cancel, uncancel or remove one stored event
    #[command(subcommand)]
    Event(EventCommand),
    /// The request queue
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// List the attendees who countered an event, or show one counter-proposal
    Counters(CountersArgs),
    /// List the others a user holds free/busy about, show one's periods, or import a received
    /// VFREEBUSY (`freebusy-other import`)
    FreebusyOther(FreebusyOtherArgs),
    /// Extend the free/busy of every provider (open-ended or window-cut events) up to an
    /// instant, for one user or all (what a daily job runs; idempotent)
    FreebusyExtend(FreebusyExtendArgs),
    /// Show a user's live offers (tentative periods of counter-proposals)
    Offers(OffersArgs),
    /// Show a user's free/busy providers (events recurring past the window), or extend them
    Providers(ProvidersArgs),
    /// Quotas: limits, groups, delegates, the quota check, entries
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Process one scheduling message (an RFC 5322 mail as an MTA pipes it, or bare
    /// iCalendar) for a local user: a person stores and queues it, a resource (its
    /// scheduling_function preference set) decides and answers; answers for local users are
    /// delivered, the others queued for `mail send`. Exit 0 whenever it was processed
    Receive(scheduling::ReceiveArgs),
    /// Record a message a user sends (an organiser's REQUEST, CANCEL or DECLINECOUNTER; an
    /// attendee's REPLY or COUNTER) in their own store
    Send(scheduling::SendArgs),
    /// List a user's preferences, or set or unset one (imip-agent's names and values)
    Prefs(scheduling::PrefsArgs),
    /// The outbox: send what is due through an SMTP relay, or list it
    #[command(subcommand)]
    Mail(scheduling::MailCommand),
    /// Build a sample store (calstore-demo.db) and show a week of free/busy and quota decisions
    Demo,
    /// Copy every table between two databases (any backends), in one transaction, and verify
    Copy(copy::CopyArgs),
    /// Import an imip-agent 0.3 store and journal (its file layout or its PostgreSQL tables)
    ImportImipAgent(imip::ImportArgs),
    /// Export the store and journal in imip-agent 0.3's file layout
    ExportImipAgent(imip::ExportArgs),
    /// Serve the sync protocol (and the web calendar) over HTTP(S) until SIGTERM
    Serve(serve::ServeArgs),
    /// Make a replica of what an account of a calstore server may see (--db names the new
    /// database)
    Clone(replica::CloneArgs),
    /// Push a replica's outbox to its server and pull what changed
    Sync(replica::SyncArgs),
    /// List a replica's outbox: the writes not yet acknowledged by the server
    Outbox(replica::OutboxArgs),
    /// Accounts: add, list, show, suspend, activate, delete, passwd, grant, login
    Account(accounts::AccountArgs),
    /// The connection log (every login attempt and session), or its retention (`connections
    /// prune`)
    Connections(accounts::ConnectionsArgs),
    /// Take a snapshot of the memory tables (live sessions, login throttling) now
    Snapshot(accounts::SnapshotArgs),
}

/// `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub user: UserArg,
    #[command(flatten)]
    pub expand: ExpandArgs,
    /// Refuse the whole import at the first problem in the input, instead of repairing or
    /// skipping what mainstream calendar software gets past (each repair is noted on
    /// standard error)
    #[arg(long)]
    pub strict: bool,
    /// iCalendar files ('-' for standard input); all are parsed before anything is written
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// `freebusy`.
#[derive(Debug, clap::Args)]
pub struct FreebusyArgs {
    #[command(flatten)]
    pub user: UserArg,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Zone the table shows times in
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
}

/// `events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub user: UserArg,
    /// List cancelled objects instead of active ones
    #[arg(long)]
    pub cancelled: bool,
    /// Output format: table is UID and RECURRENCE-ID tab-separated; JSON is [{uid, rid,
    /// summary, organiser, sequence, start, end}] (start/end: the object's earliest free/busy
    /// period held, or null)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `event …`.
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Print the stored iCalendar text of an event or recurrence (the bare VEVENT; `--format
    /// ics` a VCALENDAR with its VTIMEZONEs; `calstore export` for several)
    Show {
        #[command(flatten)]
        object: ObjectArgs,
        /// Show the cancelled copy
        #[arg(long)]
        cancelled: bool,
        /// Output format: vevent (as stored), ics (a whole VCALENDAR), json ({uid, rid,
        /// status, text})
        #[arg(long, value_enum, default_value_t = ShowFormat::Vevent)]
        format: ShowFormat,
    },
    /// Cancel an event or recurrence and remove its free/busy
    ///
    /// The window options matter when one recurrence is cancelled: the parent's free/busy is
    /// derived again without it, up to --expand-until.
    Cancel {
        #[command(flatten)]
        object: ObjectArgs,
        #[command(flatten)]
        expand: ExpandArgs,
    },
    /// Re-activate a cancelled event or recurrence and restore its free/busy
    ///
    /// The window options say up to where its free/busy is derived again.
    Uncancel {
        #[command(flatten)]
        object: ObjectArgs,
        #[command(flatten)]
        expand: ExpandArgs,
    },
    /// Remove an event (with all its recurrences) or one recurrence, and its free/busy
    ///
    /// The window options matter when one recurrence is removed: the occurrence it replaced
    /// is derived again from the parent, up to --expand-until.
    Remove {
        #[command(flatten)]
        object: ObjectArgs,
        #[command(flatten)]
        expand: ExpandArgs,
    },
}

/// `requests …`.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// List the queue in order: UID, recurrence id and type, tab-separated ('-' when absent)
    List {
        #[command(flatten)]
        user: UserArg,
        /// Output format: JSON is [{uid, rid, kind}] (the JS API's getRequests)
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Queue a request unless one exists for the same UID and recurrence id
    Queue {
        #[command(flatten)]
        object: ObjectArgs,
        /// Request type, e.g. COUNTER
        #[arg(long = "type", value_name = "T", value_parser = args::parse_name)]
        kind: Option<String>,
    },
    /// Remove the request for exactly this UID and recurrence id
    Dequeue {
        #[command(flatten)]
        object: ObjectArgs,
    },
}

/// `counters`.
#[derive(Debug, clap::Args)]
pub struct CountersArgs {
    #[command(flatten)]
    pub object: ObjectArgs,
    /// Print this attendee's counter-proposal
    #[arg(long, value_name = "URI", value_parser = args::parse_user)]
    pub other: Option<String>,
    /// Output format of the listing: JSON is an array of attendee URIs (with --other:
    /// {attendee, text})
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `freebusy-other`: without a subcommand, the listing.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FreebusyOtherArgs {
    #[command(subcommand)]
    pub command: Option<FreebusyOtherCommand>,
    /// The calendar user, e.g. mailto:room@example.com
    #[arg(long, value_name = "URI", value_parser = args::parse_user, required = true)]
    pub user: Option<String>,
    /// Show the periods held about this party (without it: list the parties)
    #[arg(long, value_name = "URI", value_parser = args::parse_user)]
    pub other: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Zone the table shows times in
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
}

/// `freebusy-other …` subcommands.
#[derive(Debug, Subcommand)]
pub enum FreebusyOtherCommand {
    /// Store a received VFREEBUSY (a file with VCALENDARs holding VFREEBUSY components): what
    /// is held about the other party within each one's DTSTART..DTEND is replaced by its busy
    /// periods, all in one transaction
    Import {
        #[command(flatten)]
        user: UserArg,
        /// The party the free/busy describes
        #[arg(long, value_name = "URI", value_parser = args::parse_user)]
        other: String,
        /// The iCalendar file ('-' for standard input)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `freebusy-extend`.
#[derive(Debug, clap::Args)]
pub struct FreebusyExtendArgs {
    /// Only this user [default: every user that has providers]
    #[arg(long, value_name = "URI", value_parser = args::parse_user)]
    pub user: Option<String>,
    /// Generate free/busy up to this instant [default: 100 days from now]
    #[arg(long = "expand-until", alias = "until", value_name = "T", value_parser = args::parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Zone for floating times and dates (the users' zone)
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
    /// Leave out occurrences that end before this instant [default: 365 days before now]
    #[arg(long, value_name = "T", value_parser = args::parse_time)]
    pub expand_from: Option<chrono::DateTime<chrono::Utc>>,
    /// An event with more occurrences than this inside the window is not extended (reported,
    /// and the others are)
    #[arg(long, value_name = "N", value_parser = args::parse_max_instances,
          default_value_t = calstore_core::ical::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
}

/// `offers`.
#[derive(Debug, clap::Args)]
pub struct OffersArgs {
    #[command(flatten)]
    pub user: UserArg,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Zone the table shows times in
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
}

/// `providers`.
#[derive(Debug, clap::Args)]
pub struct ProvidersArgs {
    #[command(flatten)]
    pub user: UserArg,
    /// Extend the providers' free/busy up to this instant (what `freebusy-extend --user`
    /// does)
    #[arg(long = "expand-until", alias = "extend-until", value_name = "T", value_parser = args::parse_time)]
    pub extend_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Zone for floating times and dates when extending
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
    /// When extending, leave out occurrences that end before this instant [default: 365 days
    /// before now]
    #[arg(long, value_name = "T", value_parser = args::parse_time, requires = "extend_until")]
    pub expand_from: Option<chrono::DateTime<chrono::Utc>>,
    /// When extending, an event with more occurrences than this inside the window is an error
    #[arg(long, value_name = "N", value_parser = args::parse_max_instances,
          default_value_t = calstore_core::ical::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
    /// Output format: JSON is {datetime, providers: [{uid, rid}]} or null (the JS API's
    /// getProviders)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `users`, `quotas`.
#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    /// Output format: table is one per line; JSON an array of strings (the JS API's users()
    /// and quotas())
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub user: UserArg,
    /// Only this event (its parent and recurrences)
    #[arg(long, value_name = "UID", value_parser = args::parse_uid)]
    pub uid: Option<String>,
    /// Only events with free/busy in this range (every object of such an event)
    #[command(flatten)]
    pub range: RangeArgs,
    /// Zone for local times given in --from/--to
    #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
    pub tz: chrono_tz::Tz,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--quota Q`.
#[derive(Debug, clap::Args)]
pub struct QuotaArg {
    /// The quota (e.g. cars, or a resource URI)
    #[arg(long, value_name = "Q", value_parser = args::parse_name)]
    pub quota: String,
}

/// `quota …`.
#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Show the limits (a tab-separated GROUP and LIMIT per line), or set them
    Limits {
        #[command(flatten)]
        quota: QuotaArg,
        /// Set GROUP=LIMIT (LIMIT '*' or a duration such as PT1H; GROUP '*' for anyone)
        #[arg(long = "set", value_name = "GROUP=LIMIT", num_args = 1.., value_parser = args::parse_limit_pair)]
        set: Vec<(String, String)>,
        /// Replace every limit with the ones given (none: remove all)
        #[arg(long)]
        replace: bool,
        /// Output format: JSON is [{"group", "limit"}]
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show the user groups (a tab-separated USER and GROUP per line), or set them
    Groups {
        #[command(flatten)]
        quota: QuotaArg,
        /// Set USER=GROUP (USER '*' for everyone not listed)
        #[arg(long = "set", value_name = "USER=GROUP", num_args = 1.., value_parser = args::parse_group_pair)]
        set: Vec<(String, String)>,
        /// Replace every group mapping with the ones given (none: remove all)
        #[arg(long)]
        replace: bool,
        /// Output format: JSON is [{"user", "group"}]
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show the delegates, or add or replace them
    Delegates {
        #[command(flatten)]
        quota: QuotaArg,
        /// Add these users as delegates
        #[arg(long = "set", value_name = "URI", num_args = 1.., value_parser = args::parse_user)]
        set: Vec<String>,
        /// Replace every delegate with the ones given (none: remove all; `--clear` is the old
        /// spelling)
        #[arg(long, alias = "clear")]
        replace: bool,
        /// Output format: JSON is an array of user URIs
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Check a booking against the quota without recording it
    Check(quota::BookingArgs),
    /// Check a booking and, if it fits, record its entries (in one transaction)
    Reserve(quota::ReserveArgs),
    /// List the users and groups holding entries, or one group's entries
    Entries {
        #[command(flatten)]
        quota: QuotaArg,
        /// The group (or user) whose entries to show
        #[arg(long, value_name = "G", value_parser = args::parse_name)]
        group: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Zone the table shows times in
        #[arg(long, value_name = "ZONE", value_parser = args::parse_zone, default_value = "UTC")]
        tz: chrono_tz::Tz,
    },
}

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: exit status 2.
    Usage(String),
    /// Anything else: exit status 1.
    Failed(String),
    /// Writing the output failed.
    Output(io::Error),
    /// The command did its work and printed its result; the exit status tells a decision
    /// (3: a quota declined the booking). Nothing more is printed.
    Status(u8),
}

impl CliError {
    /// Prints the error as one line on stderr and gives the exit status.
    pub fn report(&self) -> ExitCode {
        let (message, code) = match self {
            CliError::Usage(m) => (m.clone(), 2),
            CliError::Failed(m) => (m.clone(), 1),
            // The reader went away (e.g. `| head`): not an error of ours.
            CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                return ExitCode::SUCCESS;
            }
            CliError::Output(e) => (format!("cannot write the output: {e}"), 1),
            CliError::Status(code) => return ExitCode::from(*code),
        };
        eprintln!("calstore: error: {}", one_line(&message));
        ExitCode::from(code)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Failed(store_message(&e))
    }
}

impl From<calstore_core::DbError> for CliError {
    fn from(e: calstore_core::DbError) -> Self {
        CliError::Failed(e.to_string())
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}

/// A store error as a message: invalid data names the problem without a prefix.
pub fn store_message(e: &StoreError) -> String {
    match e {
        StoreError::InvalidData(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Joins a message's lines so that the error stays on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a clap error: help and version as clap does, anything else as one line, exit 2.
pub fn report_clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Printing help can only fail if stdout is gone; nothing useful is left to do.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let text = e.render().to_string();
            // The first paragraph holds the message; later ones are usage and tips.
            let mut paragraphs = text.split("\n\n");
            let first = paragraphs.next().unwrap_or_default();
            let first = first.trim().strip_prefix("error:").unwrap_or(first).trim();
            let tip = paragraphs
                .flat_map(str::lines)
                .map(str::trim)
                .find(|l| l.starts_with("tip:"));
            let mut line = one_line(first);
            if let Some(tip) = tip {
                line.push_str(" (");
                line.push_str(tip);
                line.push(')');
            }
            eprintln!("calstore: error: {line} (see calstore --help)");
            ExitCode::from(2)
        }
    }
}

/// The store type every command works on.
pub type CliStore = Store<AnyConnection>;

/// Opens (creating or migrating) the store at `url`.
pub fn open_store(url: &DbUrl, clock: Box<dyn Clock>) -> Result<CliStore, CliError> {
    let conn = connect(url).map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(Store::open(conn, clock)?)
}

/// Opens the store at `url` for a command that only reads: a missing SQLite file, or a
/// database without a calstore schema, is an error naming it, and nothing is created.
pub fn open_existing_store(url: &DbUrl, clock: Box<dyn Clock>) -> Result<CliStore, CliError> {
    if let DbUrl::SqliteFile(path) = url
        && !std::path::Path::new(path).exists()
    {
        return Err(CliError::Failed(format!(
            "no database at {path} (check --db; commands that only read never create one)"
        )));
    }
    let mut conn = connect(url).map_err(|e| CliError::Failed(e.to_string()))?;
    if calstore_core::schema::version(&mut conn)? == 0 {
        return Err(CliError::Failed(format!(
            "{url} holds no calstore data (check --db; commands that only read never create it)"
        )));
    }
    Ok(Store::open(conn, clock)?)
}

/// True for the commands that only read the store: they never create a database.
fn reads_only(command: &Command) -> bool {
    match command {
        Command::Freebusy(_)
        | Command::Users(_)
        | Command::Quotas(_)
        | Command::Export(_)
        | Command::Events(_)
        | Command::Counters(_)
        | Command::Offers(_)
        | Command::ExportImipAgent(_) => true,
        Command::Event(c) => matches!(c, EventCommand::Show { .. }),
        Command::Requests(c) => matches!(c, RequestsCommand::List { .. }),
        Command::FreebusyOther(a) => a.command.is_none(),
        Command::Providers(a) => a.extend_until.is_none(),
        Command::Quota(c) => match c {
            QuotaCommand::Limits { set, replace, .. } => set.is_empty() && !replace,
            QuotaCommand::Groups { set, replace, .. } => set.is_empty() && !replace,
            QuotaCommand::Delegates { set, replace, .. } => set.is_empty() && !replace,
            QuotaCommand::Check(_) | QuotaCommand::Entries { .. } => true,
            QuotaCommand::Reserve(_) => false,
        },
        Command::Prefs(a) => a.command.is_none(),
        Command::Mail(c) => matches!(c, scheduling::MailCommand::List { .. }),
        _ => false,
    }
}

/// Fails with "unknown user …" unless the user has data.
pub fn require_user(store: &mut CliStore, user: &str) -> Result<(), CliError> {
    match store.require_user(user) {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(CliError::Failed(format!("unknown user {user}"))),
        Err(e) => Err(e.into()),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Demo => demo::run(cli.db.as_ref(), &mut out),
        Command::Copy(a) => copy::run(cli.db.as_ref(), &a, &mut out),
        Command::ImportImipAgent(a) => imip::import(&db_or_default(cli.db)?, &a, &mut out),
        Command::Serve(a) => serve::run(&db_or_default(cli.db)?, &a, clock()?),
        Command::Clone(a) => replica::clone(&replica::db_url(cli.db)?, &a, clock()?, &mut out),
        Command::Sync(a) => replica::sync(&replica::db_url(cli.db)?, &a, clock()?, &mut out),
        Command::Outbox(a) => replica::outbox(&replica::db_url(cli.db)?, &a, clock()?, &mut out),
        Command::Account(a) => accounts::account(&db_or_default(cli.db)?, &a, &*clock()?, &mut out),
        Command::Connections(a) => {
            accounts::connections(&db_or_default(cli.db)?, &a, &*clock()?, &mut out)
        }
        Command::Snapshot(a) => {
            accounts::snapshot(&db_or_default(cli.db)?, &a, &*clock()?, &mut out)
        }
        command => {
            let url = db_or_default(cli.db)?;
            let mut store = if reads_only(&command) {
                open_existing_store(&url, clock()?)?
            } else {
                open_store(&url, clock()?)?
            };
            dispatch(&mut store, command, &mut out)
        }
    };
    // Whatever was printed before a failure is still flushed.
    let flushed = out.flush();
    result?;
    Ok(flushed?)
}

/// The environment variable that fixes the clock of store commands: a UTC time
/// `YYYYMMDDTHHMMSSZ` (or a date `YYYYMMDD`) that they take as now, for reproducible scripted
/// runs and tests (quota usage counts bookings that have not ended yet; free/busy windows
/// start now).
pub const NOW_ENV: &str = "CALSTORE_NOW";

/// The system clock, or the fixed time of [`NOW_ENV`]; a malformed value is a usage error.
fn clock() -> Result<Box<dyn calstore_core::Clock>, CliError> {
    match std::env::var(NOW_ENV) {
        Ok(text) => {
            let now = calstore_core::ical::datetime::parse_utc(&text)
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(&text, "%Y%m%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                })
                .map_err(|_| {
                    CliError::Usage(format!(
                        "{NOW_ENV}={text:?}: expected a UTC time YYYYMMDDTHHMMSSZ or a date YYYYMMDD"
                    ))
                })?;
            Ok(Box::new(calstore_core::FixedClock::new(now)))
        }
        Err(std::env::VarError::NotPresent) => Ok(Box::new(calstore_native::SystemClock)),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::Usage(format!("{NOW_ENV} is not valid Unicode")))
        }
    }
}

/// The database of `--db`, or the default one.
fn db_or_default(db: Option<DbUrl>) -> Result<DbUrl, CliError> {
    match db {
        Some(url) => Ok(url),
        None => DbUrl::parse(DEFAULT_DB).map_err(CliError::Usage),
    }
}

fn dispatch(store: &mut CliStore, command: Command, out: &mut dyn Write) -> Result<(), CliError> {
    match command {
        Command::Import(a) => commands::import(store, &a, out),
        Command::Freebusy(a) => commands::freebusy(store, &a, out),
        Command::Users(a) => commands::users(store, &a, out),
        Command::Quotas(a) => commands::quotas(store, &a, out),
        Command::Export(a) => commands::export(store, &a, out),
        Command::Events(a) => commands::events(store, &a, out),
        Command::Event(c) => commands::event(store, &c, out),
        Command::Requests(c) => commands::requests(store, &c, out),
        Command::Counters(a) => commands::counters(store, &a, out),
        Command::FreebusyOther(a) => commands::freebusy_other(store, &a, out),
        Command::FreebusyExtend(a) => commands::freebusy_extend(store, &a, out),
        Command::Offers(a) => commands::offers(store, &a, out),
        Command::Providers(a) => commands::providers(store, &a, out),
        Command::Quota(c) => quota::run(store, &c, out),
        Command::ExportImipAgent(a) => imip::export(store, &a, out),
        Command::Receive(a) => scheduling::receive(store, &a, out),
        Command::Send(a) => scheduling::send(store, &a, out),
        Command::Prefs(a) => scheduling::prefs(store, &a, out),
        Command::Mail(c) => scheduling::mail(store, &c, out),
        Command::Demo
        | Command::Copy(_)
        | Command::ImportImipAgent(_)
        | Command::Serve(_)
        | Command::Clone(_)
        | Command::Sync(_)
        | Command::Outbox(_)
        | Command::Account(_)
        | Command::Connections(_)
        | Command::Snapshot(_) => Err(CliError::Usage(
            "this command opens its databases itself".into(),
        )),
    }
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Times on the command line are read relative to the command's clock; a bad
    // CALSTORE_NOW is reported by the command itself.
    let now = clock().map_or_else(|_| calstore_native::SystemClock.now(), |c| c.now());
    args::set_time_context(now, &argv);
    let args = match Cli::try_parse_from(&argv) {
        Ok(args) => args,
        Err(e) => return report_clap_error(&e),
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
