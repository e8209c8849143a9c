//! The schema, its version (kept as data in `calstore_schema`) and migrations.
//!
//! Each migration is one DDL script per dialect. [`migrate`] runs, inside one write
//! transaction, every migration newer than the stored version, so a crash half-way leaves the
//! database at the old version. A database whose version is newer than this build knows is
//! refused with [`StoreError::SchemaTooNew`] rather than written to.

use crate::conn::{SqlConnection, SqlConnectionExt};
use crate::dialect::Dialect;
use crate::error::{Result, StoreError};
use crate::tx::in_transaction;
use crate::value::Value;

/// One migration: the version it produces and its DDL per dialect.
#[derive(Debug)]
struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: Option<&'static str>,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: include_str!("sqlite_v1.sql"),
    postgres: Some(include_str!("postgres_v1.sql")),
}];

/// The newest schema version this build knows.
pub const CURRENT_VERSION: i64 = 1;

/// Reads the schema version (0 for an empty database).
pub fn version<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<i64> {
    let exists = match conn.dialect() {
        Dialect::Postgres => conn.query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = 'calstore_schema'",
            &[],
        )?,
        _ => conn.query_opt(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calstore_schema'",
            &[],
        )?,
    };
    if exists.is_none() {
        return Ok(0);
    }
    let row = conn.query_opt(
        "SELECT value FROM calstore_schema WHERE name = 'version'",
        &[],
    )?;
    match row {
        None => Ok(0),
        Some(row) => {
            let text: String = row.get(0)?;
            text.parse::<i64>().map_err(|_| {
                StoreError::invalid(format!("schema version {text:?} is not a number"))
            })
        }
    }
}

/// Creates or upgrades the schema to [`CURRENT_VERSION`]; returns the version found before.
pub fn migrate<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<i64> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: CURRENT_VERSION,
        });
    }
    if found == CURRENT_VERSION {
        return Ok(found);
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
        let now = version(c)?;
        for m in MIGRATIONS.iter().filter(|m| m.version > now) {
            let script = match dialect {
                Dialect::Postgres => m.postgres.ok_or_else(|| {
                    StoreError::invalid(format!(
                        "schema version {} has no PostgreSQL DDL in this build",
                        m.version
                    ))
                })?,
                _ => m.sqlite,
            };
            run_script(c, script)?;
            c.execute(
                "INSERT INTO calstore_schema (name, value) VALUES ('version', $1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[Value::Text(m.version.to_string())],
            )?;
        }
        Ok(())
    })?;
    Ok(found)
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
