//! The schema: components, their migrations, their versions (kept as data in
//! `calstore_schema`) and the table catalogue.
//!
//! A database holds the **components** it needs, each with its own version: every calendar
//! database has [`CORE`] (versions and the change journal), [`STORE`] and [`JOURNAL`]
//! ([`CALENDAR`] is the three); a server adds its own components (accounts, sync bookkeeping)
//! that a browser database never gets. Each migration is one DDL script per dialect.
//! [`migrate`] runs, inside one write transaction, every migration of the given components
//! newer than their stored versions, so a crash half-way leaves the database as it was. A
//! component whose stored version is newer than this build knows is refused with
//! [`StoreError::SchemaTooNew`] rather than written to.
//!
//! Versions are rows `('component:<name>', '<version>')`. Databases made before components
//! existed hold one row `('version', '1')`, which stands for core, store and journal at
//! version 1; it is read as such and left in place.

mod addresses;
pub mod catalogue;
pub mod storage;

use crate::error::{Result, StoreError};
use crate::sql::{Dialect, SqlConnection, SqlConnectionExt, Value};
use crate::tx::in_transaction;

pub use catalogue::{ACCOUNT_TABLES, Owner, TABLES, Table};

/// One migration: the version it produces and its DDL per dialect.
#[derive(Debug)]
pub struct Migration {
    /// The component version after this migration.
    pub version: i64,
    /// The DDL for SQLite (native and in the browser).
    pub sqlite: &'static str,
    /// The DDL for PostgreSQL.
    pub postgres: &'static str,
}

impl Migration {
    fn script(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Postgres => self.postgres,
            _ => self.sqlite,
        }
    }
}

/// A part of the schema that is created and versioned on its own.
#[derive(Debug)]
pub struct Component {
    /// Its name, as in `calstore_schema` and [`Table::component`].
    pub name: &'static str,
    /// Its migrations, oldest first; the last one's version is the current one.
    pub migrations: &'static [Migration],
}

impl Component {
    /// The newest version this build knows.
    pub fn current_version(&self) -> i64 {
        self.migrations.last().map_or(0, |m| m.version)
    }

    fn key(&self) -> String {
        format!("component:{}", self.name)
    }
}

/// Schema versions and the change journal; every database has it.
pub static CORE: Component = Component {
    name: "core",
    migrations: &[Migration {
        version: 1,
        sqlite: include_str!("sqlite_core_v1.sql"),
        postgres: include_str!("postgres_core_v1.sql"),
    }],
};

/// imip-agent's per-user store: objects, recurrences, counters, requests, free/busy (v1);
/// preferences (v2: a browser database has them too, since clients read them); calendar
/// addresses in one spelling (v3: rows only, see [`crate::address`]).
pub static STORE: Component = Component {
    name: "store",
    migrations: &[
        Migration {
            version: 1,
            sqlite: include_str!("sqlite_store_v1.sql"),
            postgres: include_str!("postgres_store_v1.sql"),
        },
        Migration {
            version: 2,
            sqlite: include_str!("sqlite_store_v2.sql"),
            postgres: include_str!("postgres_store_v2.sql"),
        },
        Migration {
            version: 3,
            sqlite: include_str!("store_v3.sql"),
            postgres: include_str!("store_v3.sql"),
        },
    ],
};

/// A step of a migration that rewrites rows instead of (or after) its DDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataStep {
    /// Calendar addresses in one spelling ([`crate::address`]).
    NormaliseAddresses,
}

/// The data steps, by component and the version whose migration runs them (after its DDL).
const DATA_STEPS: &[(&str, i64, DataStep)] = &[("store", 3, DataStep::NormaliseAddresses)];

fn run_data_step<C: SqlConnection + ?Sized>(conn: &mut C, step: DataStep) -> Result<()> {
    match step {
        DataStep::NormaliseAddresses => addresses::normalise_stored(conn),
    }
}

/// imip-agent's journal: quotas, limits, groups, delegates and their entries.
pub static JOURNAL: Component = Component {
    name: "journal",
    migrations: &[Migration {
        version: 1,
        sqlite: include_str!("sqlite_journal_v1.sql"),
        postgres: include_str!("postgres_journal_v1.sql"),
    }],
};

/// Accounts, calendar grants, password resets, the connection log, live sessions and login
/// throttling ([`crate::accounts`]); a server's component, created only when asked
/// (`migrate_components(conn, &[&ACCOUNTS])`), never by [`migrate`].
///
/// The scripts are generated from the table declarations ([`crate::accounts::schema::ddl`];
/// a unit test keeps the files equal to it). On SQLite they hold the disk tables only: the
/// memory tables (`live_sessions`, `login_throttle`) are created in an attached in-memory
/// schema at every open ([`storage`]). On PostgreSQL they also create the memory tables as
/// `UNLOGGED` tables with their logged snapshot copies.
pub static ACCOUNTS: Component = Component {
    name: "accounts",
    migrations: &[Migration {
        version: 1,
        sqlite: include_str!("sqlite_accounts_v1.sql"),
        postgres: include_str!("postgres_accounts_v1.sql"),
    }],
};

/// What every calendar database holds, servers and browsers alike.
pub static CALENDAR: &[&Component] = &[&CORE, &STORE, &JOURNAL];

/// The version of the calendar schema this build writes: the store's (the newest of the
/// [`CALENDAR`] components; core and journal are at 1).
pub const CURRENT_VERSION: i64 = 3;

/// True if the database has a table of that name (in the connection's current schema on
/// PostgreSQL).
fn table_exists<C: SqlConnection + ?Sized>(conn: &mut C, table: &str) -> Result<bool> {
    let exists = match conn.dialect() {
        Dialect::Postgres => conn.query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = $1",
            &[table.into()],
        )?,
        _ => conn.query_opt(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
            &[table.into()],
        )?,
    };
    Ok(exists.is_some())
}

fn read_version<C: SqlConnection + ?Sized>(conn: &mut C, key: &str) -> Result<Option<i64>> {
    let Some(row) = conn.query_opt(
        "SELECT value FROM calstore_schema WHERE name = $1",
        &[key.into()],
    )?
    else {
        return Ok(None);
    };
    let text: String = row.get(0)?;
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| StoreError::invalid(format!("schema version {text:?} is not a number")))
}

/// The stored version of `component` (0 if it is not in the database).
pub fn component_version<C: SqlConnection + ?Sized>(
    conn: &mut C,
    component: &Component,
) -> Result<i64> {
    if !table_exists(conn, "calstore_schema")? {
        return Ok(0);
    }
    if let Some(v) = read_version(conn, &component.key())? {
        return Ok(v);
    }
    // Before components: one version row for core, store and journal together.
    if CALENDAR.iter().any(|c| c.name == component.name) {
        return Ok(read_version(conn, "version")?.unwrap_or(0));
    }
    Ok(0)
}

/// The version of the calendar schema: 0 for a database missing any of the [`CALENDAR`]
/// components, else the store component's version (the one that has moved: core and
/// journal are still at their first).
pub fn version<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<i64> {
    for c in CALENDAR {
        if component_version(conn, c)? == 0 {
            return Ok(0);
        }
    }
    component_version(conn, &STORE)
}

fn check_not_too_new<C: SqlConnection + ?Sized>(
    conn: &mut C,
    components: &[&Component],
) -> Result<bool> {
    let mut behind = false;
    for c in components {
        let found = component_version(conn, c)?;
        let known = c.current_version();
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        behind |= found < known;
    }
    Ok(behind)
}

/// Creates or upgrades the [`CALENDAR`] components; returns the calendar version found
/// before.
pub fn migrate<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<i64> {
    let found = version(conn)?;
    migrate_components(conn, CALENDAR)?;
    Ok(found)
}

/// Creates or upgrades `components` (in order; [`CORE`] first if it is not there yet), in
/// one transaction.
pub fn migrate_components<C: SqlConnection + ?Sized>(
    conn: &mut C,
    components: &[&Component],
) -> Result<()> {
    let mut wanted: Vec<&Component> = vec![&CORE];
    wanted.extend(components.iter().filter(|c| c.name != CORE.name));
    if !check_not_too_new(conn, &wanted)? {
        return Ok(());
    }
    let dialect = conn.dialect();
    in_transaction(conn, |c| {
        // Connections migrating an empty database at once: SQLite's BEGIN IMMEDIATE lets one
        // at a time in. PostgreSQL's READ COMMITTED does not, and both would run the DDL (the
        // second failing on the catalog's unique index), so take a lock per schema that is
        // released at commit; there is no table to lock yet.
        if dialect == Dialect::Postgres {
            c.execute_batch(
                "SELECT pg_advisory_xact_lock(hashtext('calstore_schema'), \
                 hashtext(current_schema()))",
            )?;
        }
        // Re-read inside the write transaction (after the lock): another process may have
        // migrated meanwhile.
        check_not_too_new(c, &wanted)?;
        for component in &wanted {
            let now = component_version(c, component)?;
            for m in component.migrations.iter().filter(|m| m.version > now) {
                run_script(c, m.script(dialect))?;
                for (_, _, step) in DATA_STEPS
                    .iter()
                    .filter(|(name, version, _)| *name == component.name && *version == m.version)
                {
                    run_data_step(c, *step)?;
                }
                c.execute(
                    "INSERT INTO calstore_schema (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &[component.key().into(), Value::Text(m.version.to_string())],
                )?;
            }
        }
        Ok(())
    })
}

/// Runs a DDL script statement by statement (never as one long batch: see style.md on the
/// quadratic cost of long scripts in some drivers). Statements end with `;` at the end of a
/// line; `--` comment lines are skipped.
fn run_script<C: SqlConnection + ?Sized>(conn: &mut C, script: &str) -> Result<()> {
    let mut stmt = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        stmt.push_str(line);
        stmt.push('\n');
        if trimmed.ends_with(';') {
            conn.execute_batch(&stmt)?;
            stmt.clear();
        }
    }
    if !stmt.trim().is_empty() {
        conn.execute_batch(&stmt)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table names a script creates, in order.
    fn created(script: &str) -> Vec<&str> {
        script
            .lines()
            .filter_map(|l| {
                l.strip_prefix("CREATE TABLE ")
                    .or_else(|| l.strip_prefix("CREATE UNLOGGED TABLE "))
            })
            .filter_map(|l| l.split([' ', '(']).next())
            .collect()
    }

    /// Every component's scripts create exactly the tables its catalogue list has (the
    /// calendar components in [`TABLES`], accounts in [`ACCOUNT_TABLES`]): on SQLite without
    /// the memory tables (created at open in the attached schema), on PostgreSQL with them,
    /// their snapshot copies and the two bookkeeping tables of [`storage`].
    #[test]
    fn catalogue_lists_what_the_scripts_create() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut from_scripts = Vec::new();
            for c in CALENDAR.iter().copied().chain([&ACCOUNTS]) {
                for m in c.migrations {
                    for t in created(m.script(dialect)) {
                        from_scripts.push((c.name, t.to_owned()));
                    }
                }
            }
            let memory: Vec<&str> = crate::accounts::schema::TABLES
                .iter()
                .filter(|t| t.storage.is_memory())
                .map(|t| t.name)
                .collect();
            let mut from_catalogue: Vec<(&str, String)> = TABLES
                .iter()
                .chain(ACCOUNT_TABLES)
                .filter(|t| dialect == Dialect::Postgres || !memory.contains(&t.name))
                .map(|t| (t.component, t.name.to_owned()))
                .collect();
            if dialect == Dialect::Postgres {
                for m in &memory {
                    from_catalogue
                        .push(("accounts", format!("{m}{}", storage::PG_SNAPSHOT_SUFFIX)));
                }
                from_catalogue.push(("accounts", storage::PG_MEMORY_SENTINEL.to_owned()));
                from_catalogue.push(("accounts", storage::PG_SNAPSHOTS.to_owned()));
            }
            let mut a = from_scripts.clone();
            let mut b = from_catalogue.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{dialect:?}");
        }
        assert_eq!(CURRENT_VERSION, STORE.current_version());
    }

    /// The accounts catalogue entries have the declared columns, in order.
    #[test]
    fn account_catalogue_matches_declarations() {
        let declared: Vec<(&str, Vec<&str>)> = crate::accounts::schema::TABLES
            .iter()
            .map(|t| (t.name, t.columns.iter().map(|c| c.name).collect()))
            .collect();
        let listed: Vec<(&str, Vec<&str>)> = ACCOUNT_TABLES
            .iter()
            .map(|t| (t.name, t.columns.to_vec()))
            .collect();
        assert_eq!(listed, declared);
    }

    /// The accounts migration files are the generated DDL (reviewed as text;
    /// `CALSTORE_BLESS=1` rewrites them).
    #[test]
    fn accounts_scripts_are_generated() {
        for (dialect, file) in [
            (Dialect::Sqlite, "sqlite_accounts_v1.sql"),
            (Dialect::Postgres, "postgres_accounts_v1.sql"),
        ] {
            let script: String = crate::accounts::schema::ddl(dialect)
                .iter()
                .map(|s| format!("{s};\n"))
                .collect();
            crate::typed::assert_golden_file(&["schema", file], &script);
            assert_eq!(script, ACCOUNTS.migrations[0].script(dialect));
        }
    }
}
