//! `copy`: every calstore table from one database to another, between any two backends.
//!
//! The source is read in one read transaction (a consistent snapshot) and must hold a calstore
//! schema of this build's version; it is never written. The target's schema is created or
//! migrated. A target that already holds users or quotas is refused unless the command says
//! what to do with them: `--replace` replaces every owner the source holds (store user or
//! journal quota) — the target's rows of that owner are deleted from every table and the
//! source's inserted, the change journal (`calstore_revisions`, `calstore_changes`) included,
//! as it is — and `--merge` copies only the owners the target does not hold, leaving those it
//! holds as they are. Either way owners only the target holds are left alone, and it is all
//! **one transaction**. Copying twice with `--replace` gives the same target.
//!
//! Before the commit the copy is verified for the owners it copied: per table and owner the
//! row counts are equal, and so is the free/busy read through the store API (every copied
//! user's own and others' free/busy, every copied quota's entries and organiser entries). A
//! difference rolls everything back. The report says what was compared and what was left.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, IsTerminal, Write};

use calstore_core::bulk::{Slot, in_list_sql, rows_per_chunk, values_sql};
use calstore_core::schema::{self, CURRENT_VERSION, Owner, Table};
use calstore_core::{SqlConnection, Store, StoreError, TxKind, Value};
use calstore_native::{DbUrl, connect};
use indicatif::{ProgressBar, ProgressStyle};

use super::args;
use super::{CliError, store_message};

/// `copy`.
#[derive(Debug, clap::Args)]
#[command(after_help = "The global --db does not apply: --source and --target name the databases.")]
pub struct CopyArgs {
    /// The database to copy from: sqlite:PATH or postgres://… (it is only read)
    #[arg(long, alias = "from", value_name = "URL", value_parser = args::DbUrlParser)]
    pub source: DbUrl,
    /// The database to copy into (schema created or migrated): sqlite:PATH, sqlite::memory:
    /// or postgres://…
    #[arg(long, alias = "to", value_name = "URL", value_parser = args::DbUrlParser)]
    pub target: DbUrl,
    /// The target may hold data: replace every user and quota the source holds (the target's
    /// others are kept)
    #[arg(long, conflicts_with = "merge")]
    pub replace: bool,
    /// The target may hold data: copy only the users and quotas it does not hold (those it
    /// holds are left as they are)
    #[arg(long)]
    pub merge: bool,
}

/// The two scopes of owners, as the change journal names them.
const STORE: &str = "store";
const JOURNAL: &str = "journal";

/// Owners: (scope, name).
type Owners = BTreeSet<(String, String)>;

/// Every table copied: the catalogue's, without the database's own bookkeeping (each database
/// keeps its own `calstore_schema`).
fn tables() -> impl Iterator<Item = &'static Table> {
    schema::TABLES.iter().filter(|t| t.owner != Owner::Database)
}

/// The statements a copy runs on a table, from its catalogue entry (static names only).
trait Copying {
    /// The owner columns as selected: `scope, owner` or `'store', store_user`.
    fn owner_select(&self) -> String;
    /// The owner columns as grouped by.
    fn owner_group(&self) -> &'static str;
    /// Row counts per owner.
    fn counts<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
    ) -> Result<BTreeMap<(String, String), i64>, StoreError>;
    /// Deletes the rows of `owners` (those of this table's scope).
    fn delete<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &Owners,
    ) -> Result<(), StoreError>;
}

impl Copying for Table {
    fn owner_select(&self) -> String {
        match self.owner {
            Owner::Store(col) => format!("'{STORE}', {col}"),
            Owner::Journal(col) => format!("'{JOURNAL}', {col}"),
            Owner::Both | Owner::Database | Owner::Installation => "scope, owner".to_owned(),
        }
    }

    fn owner_group(&self) -> &'static str {
        match self.owner {
            Owner::Store(col) | Owner::Journal(col) => col,
            Owner::Both | Owner::Database | Owner::Installation => "scope, owner",
        }
    }

    fn counts<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
    ) -> Result<BTreeMap<(String, String), i64>, StoreError> {
        // Static table and column names only.
        let sql = format!(
            "SELECT {}, count(*) FROM {} GROUP BY {}",
            self.owner_select(),
            self.name,
            self.owner_group()
        );
        c.query(&sql, &[])?
            .iter()
            .map(|r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .collect()
    }

    fn delete<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &Owners,
    ) -> Result<(), StoreError> {
        for scope in [STORE, JOURNAL] {
            let (prefix, shared) = match self.owner {
                Owner::Both => (
                    format!("DELETE FROM {} WHERE scope = $1 AND owner IN ", self.name),
                    vec![Value::from(scope)],
                ),
                Owner::Store(col) if scope == STORE => {
                    (format!("DELETE FROM {} WHERE {col} IN ", self.name), vec![])
                }
                Owner::Journal(col) if scope == JOURNAL => {
                    (format!("DELETE FROM {} WHERE {col} IN ", self.name), vec![])
                }
                Owner::Store(_) | Owner::Journal(_) | Owner::Database | Owner::Installation => {
                    continue;
                }
            };
            let names: Vec<&String> = owners
                .iter()
                .filter(|(s, _)| s == scope)
                .map(|(_, n)| n)
                .collect();
            for chunk in names.chunks(rows_per_chunk(1, shared.len())) {
                let sql = in_list_sql(&prefix, shared.len() + 1, chunk.len(), "");
                let mut params = shared.clone();
                params.extend(chunk.iter().map(|n| Value::from(*n)));
                c.execute(&sql, &params)?;
            }
        }
        Ok(())
    }
}

/// What the copy did, for the report.
#[derive(Debug, Default)]
struct Copied {
    rows: u64,
    /// The owners copied (and verified).
    owners: Owners,
    /// Owners the source and the target hold that `--merge` left as they were.
    skipped: Owners,
    /// Owners only the target holds, kept.
    others: usize,
}

fn failed(context: &str, e: StoreError) -> CliError {
    CliError::Failed(format!("{context}: {}", store_message(&e)))
}

/// Every owner the source holds data or a revision for.
fn source_owners<C: SqlConnection + ?Sized>(c: &mut C) -> Result<Owners, StoreError> {
    let mut owners = Owners::new();
    for t in tables() {
        let sql = format!("SELECT DISTINCT {} FROM {}", t.owner_select(), t.name);
        for r in c.query(&sql, &[])? {
            owners.insert((r.get(0)?, r.get(1)?));
        }
    }
    Ok(owners)
}

/// Copies every table's rows (inside the caller's transactions).
fn copy_rows<S, T>(
    src: &mut S,
    dst: &mut T,
    owners: &Owners,
    bar: Option<&ProgressBar>,
) -> Result<u64, StoreError>
where
    S: SqlConnection + ?Sized,
    T: SqlConnection + ?Sized,
{
    for t in tables() {
        t.delete(dst, owners)?;
    }
    let mut copied = 0u64;
    for t in tables() {
        let cols = t.columns.join(", ");
        // The owner first (static names only), to leave out the owners not copied.
        let rows = src.query(
            &format!("SELECT {}, {cols} FROM {}", t.owner_select(), t.name),
            &[],
        )?;
        let mut kept = Vec::with_capacity(rows.len());
        for r in &rows {
            if owners.contains(&(r.get(0)?, r.get(1)?)) {
                kept.push(r.values().get(2..).unwrap_or_default());
            }
        }
        let template: Vec<Slot> = (0..t.columns.len()).map(Slot::Row).collect();
        let prefix = format!("INSERT INTO {} ({cols}) VALUES ", t.name);
        for chunk in kept.chunks(rows_per_chunk(t.columns.len(), 0)) {
            let sql = values_sql(&prefix, &template, 0, chunk.len(), "");
            let params: Vec<Value> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
            dst.execute(&sql, &params)?;
            let n = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            copied = copied.saturating_add(n);
            if let Some(bar) = bar {
                bar.inc(n);
            }
        }
    }
    Ok(copied)
}

/// Compares the copy with its source: row counts per table and owner, then free/busy through
/// the store API. Returns the first difference.
fn verify<S, T>(src: &mut Store<S>, dst: &mut Store<T>, owners: &Owners) -> Result<(), String>
where
    S: SqlConnection,
    T: SqlConnection,
{
    let e = |e: StoreError| format!("cannot read for the verification: {}", store_message(&e));
    for t in tables() {
        let a = t.counts(src.connection()).map_err(e)?;
        let b = t.counts(dst.connection()).map_err(e)?;
        for owner in owners {
            let (x, y) = (a.get(owner).copied(), b.get(owner).copied());
            if x.unwrap_or(0) != y.unwrap_or(0) {
                return Err(format!(
                    "table {}, {} {}: {} rows in the source, {} in the target",
                    t.name,
                    if owner.0 == STORE { "user" } else { "quota" },
                    owner.1,
                    x.unwrap_or(0),
                    y.unwrap_or(0)
                ));
            }
        }
    }
    for (scope, name) in owners {
        if scope == STORE {
            if src.get_freebusy(name).map_err(e)? != dst.get_freebusy(name).map_err(e)? {
                return Err(format!("the free/busy of user {name} differs"));
            }
            let others = src.get_freebusy_others(name).map_err(e)?;
            if others != dst.get_freebusy_others(name).map_err(e)? {
                return Err(format!(
                    "the others user {name} holds free/busy about differ"
                ));
            }
            for other in &others {
                if src.get_freebusy_for_other(name, other).map_err(e)?
                    != dst.get_freebusy_for_other(name, other).map_err(e)?
                {
                    return Err(format!(
                        "the free/busy user {name} holds about {other} differs"
                    ));
                }
            }
        } else {
            let groups = src.journal().quota_users(name).map_err(e)?;
            if groups != dst.journal().quota_users(name).map_err(e)? {
                return Err(format!("the groups holding entries in quota {name} differ"));
            }
            for g in &groups {
                if src.journal().get_entries(name, g).map_err(e)?
                    != dst.journal().get_entries(name, g).map_err(e)?
                    || src.journal().get_user_entries(name, g).map_err(e)?
                        != dst.journal().get_user_entries(name, g).map_err(e)?
                {
                    return Err(format!("the entries of {g} in quota {name} differ"));
                }
            }
        }
    }
    Ok(())
}

fn open_source(url: &DbUrl) -> Result<Store<calstore_native::AnyConnection>, CliError> {
    if let DbUrl::SqliteFile(path) = url
        && let Err(e) = std::fs::metadata(path)
    {
        return Err(CliError::Failed(format!(
            "cannot open the source database {path}: {e}"
        )));
    }
    let mut conn = connect(url)
        .map_err(|e| CliError::Failed(format!("cannot open the source database: {e}")))?;
    let version = schema::version(&mut conn).map_err(|e| failed("the source database", e))?;
    if version == 0 {
        return Err(CliError::Failed(
            "the source database holds no calstore data (it has no calstore schema)".into(),
        ));
    }
    if version != CURRENT_VERSION {
        return Err(CliError::Failed(format!(
            "the source database has schema version {version}, this build copies version \
             {CURRENT_VERSION}; open it with a calstore of its version to migrate it first"
        )));
    }
    // The version is current, so opening migrates nothing: the source is not written.
    Ok(Store::open(conn, Box::new(calstore_native::SystemClock))?)
}

fn same_database(a: &DbUrl, b: &DbUrl) -> bool {
    match (a, b) {
        (DbUrl::SqliteFile(x), DbUrl::SqliteFile(y)) => {
            x == y
                || matches!(
                    (std::fs::canonicalize(x), std::fs::canonicalize(y)),
                    (Ok(p), Ok(q)) if p == q
                )
        }
        (DbUrl::SqliteMemory, DbUrl::SqliteMemory) => false,
        _ => a == b,
    }
}

/// What to do with the owners the target holds already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Refuse a target that holds any.
    Empty,
    /// Replace those the source holds.
    Replace,
    /// Leave them; copy the others.
    Merge,
}

/// Names a few owners for a message.
fn some_owners(owners: &Owners) -> String {
    let mut names: Vec<String> = owners.iter().take(3).map(|(_, n)| n.clone()).collect();
    if owners.len() > 3 {
        names.push(format!("… {} more", owners.len() - 3));
    }
    names.join(", ")
}

/// "N users and M quotas".
fn counted(owners: &Owners) -> String {
    let users = owners.iter().filter(|(s, _)| s == STORE).count();
    let quotas = owners.len() - users;
    format!(
        "{users} user{} and {quotas} quota{}",
        if users == 1 { "" } else { "s" },
        if quotas == 1 { "" } else { "s" }
    )
}

/// `copy --source URL --target URL [--replace | --merge]`.
pub fn run(db: Option<&DbUrl>, args: &CopyArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if db.is_some() {
        return Err(CliError::Usage(
            "copy takes --source and --target; --db does not apply to it".into(),
        ));
    }
    if same_database(&args.source, &args.target) {
        return Err(CliError::Usage(
            "--source and --target name the same database".into(),
        ));
    }
    let mode = match (args.replace, args.merge) {
        (true, _) => Mode::Replace,
        (false, true) => Mode::Merge,
        (false, false) => Mode::Empty,
    };
    let mut src = open_source(&args.source)?;
    let conn = connect(&args.target)
        .map_err(|e| CliError::Failed(format!("cannot open the target database: {e}")))?;
    let mut dst = Store::open(conn, Box::new(calstore_native::SystemClock))
        .map_err(|e| failed("the target database", e))?;

    src.connection()
        .begin(TxKind::Read)
        .map_err(|e| CliError::Failed(format!("the source database: {e}")))?;
    let result = copy_in_transaction(&mut src, &mut dst, mode);
    // The source was only read.
    let _ = src.connection().commit();
    let copied = result?;
    writeln!(
        out,
        "copied {} rows of {} tables ({}) in one transaction",
        copied.rows,
        tables().count(),
        counted(&copied.owners),
    )?;
    if !copied.skipped.is_empty() {
        writeln!(
            out,
            "left as they were (--merge): {} the target held already ({})",
            counted(&copied.skipped),
            some_owners(&copied.skipped)
        )?;
    }
    if copied.others > 0 {
        writeln!(
            out,
            "kept: {} user(s) and quota(s) only the target holds",
            copied.others
        )?;
    }
    writeln!(
        out,
        "verified for the {} copied: the row count of every table per user and quota, every \
         user's own free/busy and what it holds about others, every quota's entries",
        counted(&copied.owners)
    )?;
    Ok(())
}

fn copy_in_transaction(
    src: &mut Store<calstore_native::AnyConnection>,
    dst: &mut Store<calstore_native::AnyConnection>,
    mode: Mode,
) -> Result<Copied, CliError> {
    let mut owners =
        source_owners(src.connection()).map_err(|e| failed("the source database", e))?;
    dst.connection()
        .begin(TxKind::Write)
        .map_err(|e| CliError::Failed(format!("the target database: {e}")))?;
    let outcome = copy_owners(src, dst, mode, &mut owners);
    match outcome {
        Ok(copied) => {
            dst.connection()
                .commit()
                .map_err(|e| CliError::Failed(format!("committing the copy: {e}")))?;
            Ok(copied)
        }
        Err(e) => {
            let _ = dst.connection().rollback();
            Err(e)
        }
    }
}

/// The copy inside the target's transaction: decides what to copy, copies and verifies.
fn copy_owners(
    src: &mut Store<calstore_native::AnyConnection>,
    dst: &mut Store<calstore_native::AnyConnection>,
    mode: Mode,
    owners: &mut Owners,
) -> Result<Copied, CliError> {
    let held = source_owners(dst.connection()).map_err(|e| failed("the target database", e))?;
    if mode == Mode::Empty && !held.is_empty() {
        return Err(CliError::Failed(format!(
            "the target database is not empty: it holds {} ({}); nothing was written. Give \
             --replace to replace the users and quotas the source holds, or --merge to copy \
             only those the target does not hold",
            counted(&held),
            some_owners(&held)
        )));
    }
    let skipped: Owners = if mode == Mode::Merge {
        owners.intersection(&held).cloned().collect()
    } else {
        Owners::new()
    };
    owners.retain(|o| !skipped.contains(o));
    let others = held
        .iter()
        .filter(|o| !owners.contains(*o) && !skipped.contains(*o))
        .count();
    let mut total = 0i64;
    for t in tables() {
        total += t
            .counts(src.connection())
            .map_err(|e| failed("the source database", e))?
            .iter()
            .filter(|(o, _)| owners.contains(*o))
            .map(|(_, n)| *n)
            .sum::<i64>();
    }
    let bar = io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0));
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} copying {bar:40} {pos}/{len} rows")
        {
            bar.set_style(style);
        }
        bar
    });
    let copied = copy_rows(src.connection(), dst.connection(), owners, bar.as_ref())
        .map_err(|e| failed("copying", e));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let rows = copied?;
    verify(src, dst, owners).map_err(|m| {
        CliError::Failed(format!(
            "verification failed, nothing was written to the target: {m}"
        ))
    })?;
    Ok(Copied {
        rows,
        owners: owners.clone(),
        skipped,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calstore_core::{FixedClock, Period, SqlConnectionExt};
    use calstore_native::SqliteConnection;
    use chrono::{TimeZone, Utc};

    fn store() -> Store<SqliteConnection> {
        let now = Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap();
        Store::open(
            SqliteConnection::open_in_memory().unwrap(),
            Box::new(FixedClock::new(now)),
        )
        .unwrap()
    }

    /// The table list must name every table and column of the schema, in any order.
    #[test]
    fn tables_cover_the_schema() {
        let mut s = store();
        let c = s.connection();
        let names: BTreeSet<String> = c
            .query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'calstore_schema'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        let ours: BTreeSet<String> = tables().map(|t| t.name.to_owned()).collect();
        assert_eq!(names, ours);
        for t in tables() {
            let cols: BTreeSet<String> = c
                .query("SELECT name FROM pragma_table_info($1)", &[t.name.into()])
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap())
                .collect();
            let listed: BTreeSet<String> = t
                .columns
                .iter()
                .map(|c| c.trim_matches('"').to_owned())
                .collect();
            assert_eq!(cols, listed, "{}", t.name);
        }
    }

    const USER: &str = "mailto:room@example.com";

    fn period(h: u32) -> Period {
        let t = |h| Utc.with_ymd_and_hms(2014, 10, 10, h, 0, 0).unwrap();
        let mut p = Period::new(t(h), t(h + 1));
        p.uid = Some(format!("e{h}"));
        p
    }

    #[test]
    fn copy_is_idempotent_and_verified() {
        let mut a = store();
        a.set_freebusy(USER, &[period(8), period(10)]).unwrap();
        a.journal().set_limit("cars", "*", "PT1H").unwrap();
        let mut b = store();
        b.set_freebusy("mailto:other@example.com", &[period(9)])
            .unwrap();
        for _ in 0..2 {
            let owners = source_owners(a.connection()).unwrap();
            copy_rows(a.connection(), b.connection(), &owners, None).unwrap();
            verify(&mut a, &mut b, &owners).unwrap();
        }
        let n = b
            .connection()
            .query_opt("SELECT count(*) FROM freebusy", &[])
            .unwrap()
            .unwrap()
            .get::<i64>(0)
            .unwrap();
        assert_eq!(n, 3, "the target's own user is kept, nothing is duplicated");
        assert_eq!(b.revision(USER).unwrap(), a.revision(USER).unwrap());
    }

    #[test]
    fn verification_names_the_difference() {
        let mut a = store();
        a.set_freebusy(USER, &[period(8)]).unwrap();
        let mut b = store();
        let owners = source_owners(a.connection()).unwrap();
        copy_rows(a.connection(), b.connection(), &owners, None).unwrap();
        b.connection()
            .execute("UPDATE freebusy SET summary = 'changed'", &[])
            .unwrap();
        let e = verify(&mut a, &mut b, &owners).unwrap_err();
        assert!(
            e.contains("free/busy of user mailto:room@example.com"),
            "{e}"
        );
        b.connection().execute("DELETE FROM freebusy", &[]).unwrap();
        let e = verify(&mut a, &mut b, &owners).unwrap_err();
        assert!(e.contains("table freebusy"), "{e}");
        assert!(e.contains("1 rows in the source, 0 in the target"), "{e}");
    }
}
