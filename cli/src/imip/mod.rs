//! Migration from and to imip-agent 0.3: `import-imip-agent` reads its file store and journal
//! (or its PostgreSQL tables) into calstore, `export-imip-agent` writes calstore's data back in
//! its file layout.
//!
//! Both go through one model ([`ImipData`]): the importers fill it, checking every value
//! as they read (a bad line or row is an error naming the file and line, or the table and
//! row), [`normalise`] sorts it and drops duplicates, and only then is anything written — all
//! of it through the store and journal API, in one unit of work ([`Store::transaction`]), so a
//! failure at any point leaves the database as it was.
//!
//! Mapping decisions (see also `tests/fixtures/imip-agent/README.md`):
//! - store directory / `store_user` → user; journal directory / `store_user` of `journal_*` →
//!   quota;
//! - `objects/`, `recurrences/` → active objects; `cancellations/…` → cancelled ones (an object
//!   that is both, which 0.3's file store can leave behind, stays active);
//! - a free/busy transp that is missing (the database stores NULL) becomes `OPAQUE`, which is
//!   what 0.3's file store writes for it; an empty uid becomes no uid;
//! - the journal's `freebusy-other/X` (`journal_freebusy_other` with other = X) → the entries
//!   of group X (`quota_freebusy`), attendee kept. 0.3 filed both the group entries of
//!   `check_quota` and the organiser entries of `schedule_across_quota` there, and read both
//!   back from there, so keeping them together keeps 0.3's quota arithmetic; calstore's
//!   `user_freebusy` stays empty. Export writes `user_freebusy` rows to `freebusy-other/USER`
//!   with the user as attendee, as 0.3's `add_to_quota_freebusy` did;
//! - the journal's providers (`freebusy-providers`, `journal_freebusy_providers`) have no
//!   calstore table: they are reported as not imported;
//! - offers are imported with their expiry whatever it is (0.3's database never expired them);
//!   calstore drops expired ones when they are read.

mod db;
mod files;
mod pg;

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use calstore_core::ical::{self, format_utc};
use calstore_core::journal::Limit;
use calstore_core::{
    Entry, Offer, Period, Providers, Request, Status, Store, StoreError, validate,
};
use calstore_native::{DbUrl, connect};
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, CliStore, store_message};

/// `import-imip-agent`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["store", "from_postgres"]))]
pub struct ImportArgs {
    /// imip-agent's STORE_DIR: one directory per user
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// imip-agent's JOURNAL_DIR: one directory per quota
    #[arg(long, value_name = "DIR", requires = "store")]
    pub journal: Option<PathBuf>,
    /// Read imip-agent's PostgreSQL tables instead (postgres://… or "dbname=imip_agent …")
    #[arg(long, value_name = "URL", conflicts_with_all = ["store", "journal"])]
    pub from_postgres: Option<String>,
    /// The database of the journal tables, if not the --from-postgres one
    #[arg(long, value_name = "URL", requires = "from_postgres")]
    pub journal_postgres: Option<String>,
    /// Import users and quotas the database already holds (what the import has replaces
    /// theirs); without it, they are refused
    #[arg(long)]
    pub merge: bool,
}

/// `export-imip-agent`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Directory to write the store to (one directory per user)
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Directory to write the journal to (one directory per quota)
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    /// Write into non-empty directories: each exported user's or quota's directory replaces
    /// the one there; other entries are left alone
    #[arg(long)]
    pub force: bool,
}

// ---- the model ------------------------------------------------------------------------------

/// The key of a stored object: uid and recurrence id (None for the parent).
pub type ObjectKey = (String, Option<String>);

/// One stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The VEVENT text.
    pub text: String,
    /// Active or cancelled.
    pub status: Status,
}

/// Everything of one store user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserData {
    /// Parents and recurrences.
    pub objects: BTreeMap<ObjectKey, Object>,
    /// Counter-proposals by (uid, rid, attendee).
    pub counters: BTreeMap<(String, Option<String>, String), String>,
    /// Own free/busy.
    pub freebusy: Vec<Period>,
    /// Offers.
    pub offers: Vec<Offer>,
    /// Free/busy of others, by other.
    pub others: BTreeMap<String, Vec<Period>>,
    /// The providers record.
    pub providers: Option<Providers>,
    /// The request queue, in order.
    pub requests: Vec<Request>,
}

/// Everything of one journal quota.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuotaData {
    /// The journal's copies of events.
    pub objects: BTreeMap<ObjectKey, Object>,
    /// Entries by group (or user).
    pub entries: BTreeMap<String, Vec<Entry>>,
    /// Delegates.
    pub delegates: Vec<String>,
    /// User → group.
    pub groups: BTreeMap<String, String>,
    /// Group → limit.
    pub limits: BTreeMap<String, String>,
}

/// What was repaired on the way in or out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixes {
    /// Duplicate periods, entries, requests, delegates or rows dropped.
    pub duplicates: usize,
    /// Free/busy files that were not sorted.
    pub unsorted: usize,
    /// Cancelled copies of objects that are also active.
    pub stale_cancellations: usize,
    /// Periods without transp, recorded as OPAQUE.
    pub transp_filled: usize,
    /// Object files that were not a bare VEVENT and were re-serialised.
    pub reserialised: usize,
    /// Fields whose tabs or line breaks became spaces (export).
    pub flattened: usize,
}

/// A whole store and journal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImipData {
    /// Users.
    pub users: BTreeMap<String, UserData>,
    /// Quotas.
    pub quotas: BTreeMap<String, QuotaData>,
    /// Repairs.
    pub fixes: Fixes,
    /// Data that has no place in the target, described for the report.
    pub skipped: Vec<String>,
}

// ---- checks shared by the readers ------------------------------------------------------------

/// A name that is a file or directory name in 0.3's layout: it must not leave its directory.
pub fn path_component(kind: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{kind} is empty"));
    }
    if value == "." || value == ".." {
        return Err(format!(
            "{kind} {value:?} is refused: as a file name it would leave its directory"
        ));
    }
    if value.contains('/') {
        return Err(format!(
            "{kind} {value:?} contains '/', which imip-agent's file store does not support"
        ));
    }
    if value.contains('\0') {
        return Err(format!("{kind} {value:?} contains a NUL character"));
    }
    Ok(())
}

fn store_err(e: calstore_core::StoreError) -> String {
    store_message(&e)
}

/// A uid (of an object, request, provider or period).
pub fn check_uid(uid: &str) -> Result<(), String> {
    validate::uid(uid).map_err(store_err)?;
    path_component("uid", uid)
}

/// A recurrence id.
pub fn check_rid(rid: Option<&str>) -> Result<(), String> {
    validate::rid(rid).map_err(store_err)?;
    rid.map_or(Ok(()), |r| path_component("recurrence id", r))
}

/// A calendar user that names a directory or file (a store user, an other, an attendee).
pub fn check_user(kind: &str, user: &str) -> Result<(), String> {
    validate::user(user).map_err(|e| format!("{kind}: {}", store_err(e)))?;
    path_component(kind, user)
}

/// A quota or group name that names a directory or file.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    validate::name(kind, name).map_err(store_err)?;
    path_component(kind, name)
}

/// A quota limit: `*` or an iCalendar duration.
pub fn check_limit(limit: &str) -> Result<(), String> {
    Limit::parse(limit).map(|_| ()).map_err(store_err)
}

/// Checks an object's text: one VEVENT whose UID and normalised RECURRENCE-ID are those of its
/// key. Returns the text to store: as given when it is a bare VEVENT, else the VEVENT
/// re-serialised (the second value is then true).
pub fn check_object(text: &str, uid: &str, rid: Option<&str>) -> Result<(String, bool), String> {
    validate::object_text(text).map_err(store_err)?;
    let events = ical::parse_events(text.as_bytes()).map_err(|e| e.0)?;
    let event = match events.as_slice() {
        [event] => event,
        [] => return Err("holds no VEVENT".to_owned()),
        more => return Err(format!("holds {} VEVENTs; one was expected", more.len())),
    };
    if event.uid != uid {
        return Err(format!("its UID {:?} is not {uid:?}", event.uid));
    }
    let found = event.recurrence_id();
    if found.as_deref() != rid {
        return Err(match (found, rid) {
            (None, Some(rid)) => format!("it has no RECURRENCE-ID, but is stored as {rid:?}"),
            (Some(found), None) => {
                format!("it has RECURRENCE-ID {found:?}, but is stored as the parent")
            }
            (Some(found), Some(rid)) => {
                format!("its RECURRENCE-ID is {found:?}, but it is stored as {rid:?}")
            }
            (None, None) => String::new(),
        });
    }
    if text.starts_with("BEGIN:VEVENT") {
        Ok((text.to_owned(), false))
    } else {
        Ok((event.text.clone(), true))
    }
}

/// Reads the tab-separated period columns (start, end, uid, transp, recurrenceid, summary,
/// organiser): at least start and end, an empty field meaning None.
pub fn period_from_fields(fields: &[&str], fixes: &mut Fixes) -> Result<Period, String> {
    let field = |i: usize| {
        fields
            .get(i)
            .copied()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let time = |i: usize, name: &str| match fields.get(i).copied() {
        None | Some("") => Err(format!("{name} is missing")),
        Some(v) => ical::parse_utc(v).map_err(|e| format!("bad {name} {v:?}: {}", e.0)),
    };
    let mut period = Period {
        start: time(0, "start")?,
        end: time(1, "end")?,
        uid: field(2),
        transp: field(3),
        recurrenceid: field(4),
        summary: field(5),
        organiser: field(6),
    };
    if let Some(uid) = &period.uid {
        check_uid(uid)?;
    }
    check_rid(period.recurrenceid.as_deref())?;
    if period.transp.is_none() {
        period.transp = Some("OPAQUE".to_owned());
        fixes.transp_filled += 1;
    }
    period.validate().map_err(store_err)?;
    Ok(period)
}

/// A UTC datetime field (`expires`, the providers' datetime).
pub fn utc_field(name: &str, value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    ical::parse_utc(value).map_err(|e| format!("bad {name} {value:?}: {}", e.0))
}

// ---- normalisation ---------------------------------------------------------------------------

fn period_key(p: &Period) -> (String, String, &str, &str) {
    let (start, end, uid, rid) = p.sort_key();
    (format_utc(start), format_utc(end), uid, rid)
}

/// Sorts periods and drops equal ones (same start, end, uid and rid; the first is kept).
/// Returns whether the input was unsorted.
fn sort_dedup<T>(
    items: &mut Vec<T>,
    key: impl Fn(&T) -> (String, String, String, String, String),
    fixes: &mut Fixes,
) -> bool {
    let unsorted = items.windows(2).any(|w| key(&w[0]) > key(&w[1]));
    items.sort_by_key(|a| key(a));
    let before = items.len();
    items.dedup_by(|b, a| key(a) == key(b));
    fixes.duplicates += before - items.len();
    unsorted
}

fn plain_key(p: &Period) -> (String, String, String, String, String) {
    let (s, e, u, r) = period_key(p);
    (s, e, u.to_owned(), r.to_owned(), String::new())
}

/// Sorts every collection and drops duplicates; `count_unsorted` says whether unsorted input
/// is worth reporting (a file store keeps its files sorted, a database has no order).
pub fn normalise(data: &mut ImipData, count_unsorted: bool) {
    let mut fixes = std::mem::take(&mut data.fixes);
    let mut unsorted = 0;
    for user in data.users.values_mut() {
        unsorted += usize::from(sort_dedup(&mut user.freebusy, plain_key, &mut fixes));
        unsorted += usize::from(sort_dedup(
            &mut user.offers,
            |o| plain_key(&o.period),
            &mut fixes,
        ));
        for periods in user.others.values_mut() {
            unsorted += usize::from(sort_dedup(periods, plain_key, &mut fixes));
        }
        let before = user.requests.len();
        let mut seen = std::collections::HashSet::new();
        user.requests
            .retain(|r| seen.insert((r.uid.clone(), r.rid.clone())));
        fixes.duplicates += before - user.requests.len();
        if let Some(p) = &mut user.providers {
            let before = p.providers.len();
            p.providers.sort();
            p.providers.dedup();
            fixes.duplicates += before - p.providers.len();
        }
    }
    for quota in data.quotas.values_mut() {
        for entries in quota.entries.values_mut() {
            let key = |e: &Entry| {
                let (s, en, u, r, _) = plain_key(&e.period);
                (s, en, u, r, e.attendee.clone().unwrap_or_default())
            };
            unsorted += usize::from(sort_dedup(entries, key, &mut fixes));
        }
        let before = quota.delegates.len();
        quota.delegates.sort();
        quota.delegates.dedup();
        fixes.duplicates += before - quota.delegates.len();
    }
    if count_unsorted {
        fixes.unsorted += unsorted;
    }
    data.fixes = fixes;
}

/// Adds an object, keeping the active copy when an object is both active and cancelled.
pub fn add_object(
    objects: &mut BTreeMap<ObjectKey, Object>,
    key: ObjectKey,
    object: Object,
    fixes: &mut Fixes,
) {
    match objects.get(&key).map(|o| o.status) {
        None => {
            objects.insert(key, object);
        }
        Some(Status::Cancelled) if object.status == Status::Active => {
            fixes.stale_cancellations += 1;
            objects.insert(key, object);
        }
        Some(Status::Active) if object.status == Status::Cancelled => {
            fixes.stale_cancellations += 1;
        }
        Some(_) => fixes.duplicates += 1,
    }
}

// ---- counting and reporting ------------------------------------------------------------------

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The counts the import and export report.
fn describe(data: &ImipData) -> (String, String) {
    let users = data.users.values();
    let objects: usize = users.clone().map(|u| u.objects.len()).sum();
    let cancelled: usize = users
        .clone()
        .map(|u| {
            u.objects
                .values()
                .filter(|o| o.status == Status::Cancelled)
                .count()
        })
        .sum();
    let counters: usize = users.clone().map(|u| u.counters.len()).sum();
    let periods: usize = users.clone().map(|u| u.freebusy.len()).sum();
    let offers: usize = users.clone().map(|u| u.offers.len()).sum();
    let others: usize = users
        .clone()
        .map(|u| u.others.values().map(Vec::len).sum::<usize>())
        .sum();
    let providers = users.clone().filter(|u| u.providers.is_some()).count();
    let requests: usize = users.map(|u| u.requests.len()).sum();
    let store = format!(
        "{} ({} cancelled), {}, {}, {}, {} of others, {}, {}",
        plural(objects, "object", "objects"),
        cancelled,
        plural(counters, "counter-proposal", "counter-proposals"),
        plural(periods, "free/busy period", "free/busy periods"),
        plural(offers, "offer", "offers"),
        plural(others, "period", "periods"),
        plural(providers, "providers record", "providers records"),
        plural(requests, "request", "requests"),
    );
    let quotas = data.quotas.values();
    let limits: usize = quotas.clone().map(|q| q.limits.len()).sum();
    let groups: usize = quotas.clone().map(|q| q.groups.len()).sum();
    let delegates: usize = quotas.clone().map(|q| q.delegates.len()).sum();
    let entries: usize = quotas
        .clone()
        .map(|q| q.entries.values().map(Vec::len).sum::<usize>())
        .sum();
    let jobjects: usize = quotas.map(|q| q.objects.len()).sum();
    let journal = format!(
        "{}, {}, {}, {}, {}",
        plural(limits, "limit", "limits"),
        plural(groups, "group membership", "group memberships"),
        plural(delegates, "delegate", "delegates"),
        plural(entries, "entry", "entries"),
        plural(jobjects, "object", "objects"),
    );
    (store, journal)
}

fn write_fixes(out: &mut dyn Write, data: &ImipData) -> io::Result<()> {
    let f = &data.fixes;
    let mut parts = Vec::new();
    if f.duplicates > 0 {
        parts.push(format!(
            "{} dropped",
            plural(f.duplicates, "duplicate", "duplicates")
        ));
    }
    if f.unsorted > 0 {
        parts.push(format!(
            "{} sorted",
            plural(
                f.unsorted,
                "unsorted free/busy file",
                "unsorted free/busy files"
            )
        ));
    }
    if f.stale_cancellations > 0 {
        parts.push(format!(
            "{} of active objects dropped",
            plural(f.stale_cancellations, "cancelled copy", "cancelled copies")
        ));
    }
    if f.transp_filled > 0 {
        parts.push(format!(
            "{} without transp recorded as OPAQUE",
            plural(f.transp_filled, "period", "periods")
        ));
    }
    if f.reserialised > 0 {
        parts.push(format!(
            "{} re-serialised as a bare VEVENT",
            plural(f.reserialised, "object", "objects")
        ));
    }
    if f.flattened > 0 {
        parts.push(format!(
            "{} with tabs or line breaks written with spaces",
            plural(f.flattened, "field", "fields")
        ));
    }
    if !parts.is_empty() {
        writeln!(out, "  fixed: {}", parts.join(", "))?;
    }
    for s in &data.skipped {
        writeln!(out, "  not imported: {s}")?;
    }
    Ok(())
}

// ---- import ------------------------------------------------------------------------------------

/// `import-imip-agent`: reads and checks everything, then writes it in one transaction.
pub fn import(url: &DbUrl, args: &ImportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (mut data, source) = match (&args.store, &args.from_postgres) {
        (Some(store), _) => (
            files::read(store, args.journal.as_deref())?,
            "imip-agent 0.3 files",
        ),
        (None, Some(pg)) => (
            read_postgres(url, pg, args.journal_postgres.as_deref())?,
            "imip-agent 0.3 PostgreSQL tables",
        ),
        (None, None) => {
            return Err(CliError::Usage(
                "give --store DIR or --from-postgres URL".into(),
            ));
        }
    };
    normalise(&mut data, args.store.is_some());

    let conn = connect(url).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut store = Store::open(conn, Box::new(calstore_native::SystemClock))?;
    if !args.merge {
        refuse_existing(&mut store, &data)?;
    }
    let bar = progress(operations(&data));
    // The reason a write failed, with its context; the unit of work then rolls back whole.
    let mut failure = None;
    let written = store.transaction(|s| {
        write_all(s, &data, bar.as_ref()).map_err(|e| {
            failure = Some(e);
            StoreError::invalid("the import failed")
        })
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Err(e) = written {
        return Err(failure.unwrap_or_else(|| e.into()));
    }
    let (store_desc, journal_desc) = describe(&data);
    writeln!(
        out,
        "imported {} and {} from {source}",
        plural(data.users.len(), "user", "users"),
        plural(data.quotas.len(), "quota", "quotas"),
    )?;
    writeln!(out, "  store: {store_desc}")?;
    writeln!(out, "  journal: {journal_desc}")?;
    write_fixes(out, &data)?;
    Ok(())
}

fn read_postgres(target: &DbUrl, url: &str, journal: Option<&str>) -> Result<ImipData, CliError> {
    if *target == DbUrl::Postgres(url.to_owned()) {
        return Err(CliError::Usage(
            "--from-postgres names the calstore database (--db): imip-agent's tables and \
             calstore's share names, so they must live in different databases or schemas"
                .into(),
        ));
    }
    pg::read(url, journal)
}

fn refuse_existing(store: &mut CliStore, data: &ImipData) -> Result<(), CliError> {
    for user in data.users.keys() {
        if store.user_exists(user)? {
            return Err(CliError::Failed(format!(
                "the database already holds user {user}; import into a new database, or pass \
                 --merge to replace what the import holds"
            )));
        }
    }
    let quotas = store.journal().quotas()?;
    if let Some(q) = data.quotas.keys().find(|q| quotas.contains(q)) {
        return Err(CliError::Failed(format!(
            "the database already holds quota {q}; import into a new database, or pass \
             --merge to replace what the import holds"
        )));
    }
    Ok(())
}

fn operations(data: &ImipData) -> usize {
    let users: usize = data
        .users
        .values()
        .map(|u| 6 + u.objects.len() + u.counters.len() + u.others.len())
        .sum();
    let quotas: usize = data
        .quotas
        .values()
        .map(|q| 3 + q.objects.len() + q.entries.len())
        .sum();
    users + quotas
}

fn progress(total: usize) -> Option<ProgressBar> {
    io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
        if let Ok(style) = ProgressStyle::with_template("{spinner} writing {bar:40} {pos}/{len}") {
            bar.set_style(style);
        }
        bar
    })
}

/// Writes the model through the store and journal API (inside the caller's transaction).
fn write_all(
    store: &mut CliStore,
    data: &ImipData,
    bar: Option<&ProgressBar>,
) -> Result<(), CliError> {
    let tick = |n: usize| {
        if let Some(bar) = bar {
            bar.inc(u64::try_from(n).unwrap_or(u64::MAX));
        }
    };
    for (user, u) in &data.users {
        let context = |e: calstore_core::StoreError| {
            CliError::Failed(format!("user {user}: {}", store_message(&e)))
        };
        for ((uid, rid), object) in &u.objects {
            store
                .set_event(user, uid, rid.as_deref(), &object.text)
                .map_err(context)?;
            if object.status == Status::Cancelled {
                store
                    .cancel_event(user, uid, rid.as_deref())
                    .map_err(context)?;
            }
            tick(1);
        }
        for ((uid, rid, other), text) in &u.counters {
            store
                .set_counter(user, other, uid, rid.as_deref(), text)
                .map_err(context)?;
            tick(1);
        }
        if !u.freebusy.is_empty() {
            store.set_freebusy(user, &u.freebusy).map_err(context)?;
        }
        if !u.offers.is_empty() {
            store
                .set_freebusy_offers(user, &u.offers)
                .map_err(context)?;
        }
        for (other, periods) in &u.others {
            store
                .set_freebusy_for_other(user, other, periods)
                .map_err(context)?;
            tick(1);
        }
        if let Some(p) = &u.providers {
            store
                .set_freebusy_providers(user, p.datetime.as_deref(), &p.providers)
                .map_err(context)?;
        }
        // Always written: a user without data is still a user (0.3 lists its directory), and
        // a write registers it.
        if !u.requests.is_empty() || !store.user_exists(user)? {
            store.set_requests(user, &u.requests).map_err(context)?;
        }
        tick(6);
    }
    for (quota, q) in &data.quotas {
        let context = |e: calstore_core::StoreError| {
            CliError::Failed(format!("quota {quota}: {}", store_message(&e)))
        };
        let mut journal = store.journal();
        if !q.limits.is_empty() {
            journal.set_limits(quota, &q.limits).map_err(context)?;
        }
        if !q.groups.is_empty() {
            journal.set_groups(quota, &q.groups).map_err(context)?;
        }
        let known = journal.quotas()?.iter().any(|k| k == quota);
        if !q.delegates.is_empty() || (!known && q.entries.is_empty() && q.objects.is_empty()) {
            journal
                .set_delegates(quota, &q.delegates)
                .map_err(context)?;
        }
        for (group, entries) in &q.entries {
            journal
                .set_entries(quota, group, entries)
                .map_err(context)?;
            tick(1);
        }
        for ((uid, rid), object) in &q.objects {
            journal
                .set_event(quota, uid, rid.as_deref(), &object.text)
                .map_err(context)?;
            tick(1);
        }
        tick(3);
        // The journal API has no cancellation (0.3 never cancels journal copies, it removes
        // them); a cancelled copy is stored, then marked cancelled in the same transaction,
        // so the change journal entry of set_event covers it.
        for ((uid, rid), _) in q
            .objects
            .iter()
            .filter(|(_, o)| o.status == Status::Cancelled)
        {
            db::cancel_journal_object(store.connection(), quota, uid, rid.as_deref())
                .map_err(context)?;
        }
    }
    Ok(())
}

// ---- export ------------------------------------------------------------------------------------

/// `export-imip-agent`: reads everything in one snapshot, then writes the file layout.
pub fn export(
    store: &mut CliStore,
    args: &ExportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if args.journal.as_ref() == Some(&args.store) {
        return Err(CliError::Usage(
            "--store and --journal must be different directories".into(),
        ));
    }
    let targets = [Some(&args.store), args.journal.as_ref()];
    for dir in targets.into_iter().flatten() {
        files::check_target(dir, args.force)?;
    }
    let mut data = db::read(store, args.journal.is_some())?;
    normalise(&mut data, false);
    files::write(&mut data, &args.store, args.journal.as_deref(), args.force)?;
    let (store_desc, journal_desc) = describe(&data);
    writeln!(
        out,
        "exported {} to {}",
        plural(data.users.len(), "user", "users"),
        args.store.display()
    )?;
    writeln!(out, "  store: {store_desc}")?;
    match &args.journal {
        Some(dir) => {
            writeln!(
                out,
                "exported {} to {}",
                plural(data.quotas.len(), "quota", "quotas"),
                dir.display()
            )?;
            writeln!(out, "  journal: {journal_desc}")?;
        }
        None => {
            let quotas = store.journal().quotas()?.len();
            if quotas > 0 {
                writeln!(
                    out,
                    "  journal: not exported ({} without --journal)",
                    plural(quotas, "quota", "quotas")
                )?;
            }
        }
    }
    write_fixes(out, &data)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components() {
        assert!(path_component("uid", "event1@example.com").is_ok());
        assert!(path_component("uid", "..").unwrap_err().contains("leave"));
        assert!(path_component("uid", ".").is_err());
        assert!(path_component("uid", "a/b").unwrap_err().contains('/'));
        assert!(path_component("uid", "").is_err());
    }

    #[test]
    fn period_fields() {
        let mut fixes = Fixes::default();
        let p = period_from_fields(
            &["20141010T140000Z", "20141010T150000Z", "", "", "", "", ""],
            &mut fixes,
        )
        .unwrap();
        assert_eq!(p.uid, None);
        assert_eq!(p.transp.as_deref(), Some("OPAQUE"));
        assert_eq!(fixes.transp_filled, 1);
        assert!(
            period_from_fields(&["2014101", "20141010T150000Z"], &mut fixes)
                .unwrap_err()
                .contains("bad start")
        );
        assert!(period_from_fields(&["20141010T150000Z"], &mut fixes).is_err());
        assert!(
            period_from_fields(&["20141010T150000Z", "20141010T140000Z"], &mut fixes)
                .unwrap_err()
                .contains("before")
        );
    }

    #[test]
    fn objects_must_match_their_key() {
        let text = "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20141010T080000Z\r\n\
                    RECURRENCE-ID;TZID=Europe/Oslo:20141017T160000\r\nEND:VEVENT\r\n";
        assert!(check_object(text, "a", Some("20141017T140000Z")).is_ok());
        assert!(check_object(text, "b", Some("20141017T140000Z")).is_err());
        assert!(check_object(text, "a", None).is_err());
        let wrapped = format!("BEGIN:VCALENDAR\r\n{text}END:VCALENDAR\r\n");
        let (stored, reserialised) = check_object(&wrapped, "a", Some("20141017T140000Z")).unwrap();
        assert!(reserialised);
        assert!(stored.starts_with("BEGIN:VEVENT"));
    }
}
