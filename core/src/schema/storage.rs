//! Storage classes, honoured (spec §C.3): where the rows of each table live, what a committed
//! write survives, and the snapshots that give memory tables their durability.
//!
//! | class | where the rows are | what is done for it |
//! |---|---|---|
//! | `DiskOnly` | ordinary tables | durable commits (SQLite WAL + `synchronous = FULL`; PostgreSQL `synchronous_commit` on) |
//! | `MemoryAndDisk` | ordinary tables | the same durability; warmed at open (read into the engine's cache) |
//! | `MemoryWithSnapshots` | memory ([`MemoryPlacement`]) | restored at open from the newest good snapshot; snapshots on a timer ([`SnapshotSchedule`]), on demand and at a clean shutdown |
//!
//! The SQL of the operations is shared: statements name every table without a schema. Only
//! the DDL differs, by placement ([`MemoryPlacement`]):
//!
//! - **SQLite (native)**: memory tables are created at every open in a schema attached to the
//!   connection, `ATTACH ':memory:' AS ram` ([`MEMORY_SCHEMA`]), never in the main schema (a
//!   table of that name in `main` would be found first). Snapshots are files, one set of
//!   generations per table (calstore-native's `SqliteSnapshots`).
//! - **PostgreSQL**: memory tables are `UNLOGGED` tables created by the component's
//!   migration, each with a logged copy `<table>_snapshot`; [`PostgresMemory`].
//! - **In the browser (sql.js, SQLite in the module) and `sqlite::memory:`**: memory tables are
//!   ordinary tables of the main schema ([`MainSchemaMemory`]): the whole database has one
//!   durability, reported as it is.
//!
//! **Caveats** (SQLite's ATTACH documentation; spec §C.3), which is why memory tables refer
//! to others by [`SoftRef`](crate::typed::SoftRef) only:
//!
//! - A transaction that writes both disk and memory tables is atomic **per file**: after a
//!   crash the disk part can survive without the memory part (which is lost or rolled back to
//!   its snapshot anyway). No disk table may refer to a memory table, and SQLite cannot
//!   enforce a foreign key across schemas in any case.
//! - A snapshot is consistent **within its table** (SQLite) or within the memory tables
//!   (PostgreSQL), never with the disk tables: as Mnesia's `dump_tables` without a checkpoint.
//! - On SQLite an attached `:memory:` schema is private to its connection: the memory tables
//!   belong to **one connection of one process**, the owner ([`MemoryBackend::claim`]). Other
//!   processes see the newest snapshot, and what they write there is not kept.

use std::fmt;
use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::sql::{SqlConnection, SqlConnectionExt, TxEvent, TxKind, Value};
use crate::tx::in_transaction;
use crate::typed::{DdlForm, Field, StorageClass, TableDef, UtcTime};
use crate::{DbError, Row};

use super::Component;

/// The schema that SQLite's memory tables are attached as.
pub const MEMORY_SCHEMA: &str = "ram";

/// PostgreSQL: the `UNLOGGED` table whose rows say that a memory table's contents are intact
/// (a server crash empties it together with the memory tables).
pub const PG_MEMORY_SENTINEL: &str = "calstore_memory";

/// PostgreSQL: the logged table recording each memory table's latest snapshot.
pub const PG_SNAPSHOTS: &str = "calstore_snapshots";

/// The suffix of a memory table's logged copy on PostgreSQL.
pub const PG_SNAPSHOT_SUFFIX: &str = "_snapshot";

/// A [`StorageClass`] without its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClassKind {
    /// [`StorageClass::MemoryWithSnapshots`].
    MemoryWithSnapshots,
    /// [`StorageClass::DiskOnly`].
    DiskOnly,
    /// [`StorageClass::MemoryAndDisk`].
    MemoryAndDisk,
}

impl ClassKind {
    /// Every class, in the order of the spec's table.
    pub const ALL: [ClassKind; 3] = [
        ClassKind::DiskOnly,
        ClassKind::MemoryAndDisk,
        ClassKind::MemoryWithSnapshots,
    ];
}

impl From<&StorageClass> for ClassKind {
    fn from(c: &StorageClass) -> Self {
        match c {
            StorageClass::MemoryWithSnapshots { .. } => ClassKind::MemoryWithSnapshots,
            StorageClass::DiskOnly => ClassKind::DiskOnly,
            StorageClass::MemoryAndDisk => ClassKind::MemoryAndDisk,
        }
    }
}

impl fmt::Display for ClassKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClassKind::MemoryWithSnapshots => "MemoryWithSnapshots",
            ClassKind::DiskOnly => "DiskOnly",
            ClassKind::MemoryAndDisk => "MemoryAndDisk",
        })
    }
}

/// What happens to the machine or its processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The process using the database is killed (`kill -9`).
    ProcessCrash,
    /// The database server crashes (PostgreSQL `pg_ctl stop -m immediate`); for an embedded
    /// database this is [`Event::ProcessCrash`].
    ServerCrash,
    /// The operating system crashes or the power fails.
    OsCrash,
    /// Everything is shut down cleanly and started again.
    CleanRestart,
}

impl Event {
    /// Every event, in the order of the table's columns.
    pub const ALL: [Event; 4] = [
        Event::ProcessCrash,
        Event::ServerCrash,
        Event::OsCrash,
        Event::CleanRestart,
    ];
}

/// What a committed write is afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Survival {
    /// Kept.
    Kept,
    /// Back to the last complete snapshot: later writes are lost.
    LastSnapshot,
    /// Back to the snapshot taken at the clean shutdown, which holds every write.
    ShutdownSnapshot,
    /// Kept once the browser's persistence log holds the commit (the JavaScript layer
    /// acknowledges a write after that); a write not yet logged is lost.
    KeptOnceLogged,
    /// May be lost (see the notes of the [`Guarantees`]).
    Lost,
}

impl Survival {
    /// A stable code for JSON: `kept`, `last_snapshot`, `shutdown_snapshot`,
    /// `kept_once_logged`, `lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Survival::Kept => "kept",
            Survival::LastSnapshot => "last_snapshot",
            Survival::ShutdownSnapshot => "shutdown_snapshot",
            Survival::KeptOnceLogged => "kept_once_logged",
            Survival::Lost => "lost",
        }
    }
}

impl fmt::Display for Survival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Survival::Kept => "kept",
            Survival::LastSnapshot => "back to the last complete snapshot",
            Survival::ShutdownSnapshot => "kept (snapshot taken at shutdown)",
            Survival::KeptOnceLogged => "kept once logged",
            Survival::Lost => "may be lost",
        })
    }
}

/// What one class survives on one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guarantee {
    /// The class.
    pub class: ClassKind,
    /// After each [`Event`], in [`Event::ALL`] order.
    pub after: [Survival; 4],
}

/// What a backend guarantees for each storage class: the table of spec §C.3, as this
/// backend (and, on PostgreSQL, this server's settings) honours it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guarantees {
    /// The backend, in words.
    pub backend: String,
    /// One row per class, in [`ClassKind::ALL`] order.
    pub rows: Vec<Guarantee>,
    /// What qualifies the rows (settings found, caveats).
    pub notes: Vec<String>,
}

impl Guarantees {
    fn new(backend: impl Into<String>, disk: [Survival; 4], memory: [Survival; 4]) -> Self {
        Guarantees {
            backend: backend.into(),
            rows: ClassKind::ALL
                .iter()
                .map(|&class| Guarantee {
                    class,
                    after: match class {
                        ClassKind::MemoryWithSnapshots => memory,
                        _ => disk,
                    },
                })
                .collect(),
            notes: Vec::new(),
        }
    }

    /// What a committed write of `class` is after `event`.
    pub fn after(&self, class: ClassKind, event: Event) -> Survival {
        let i = Event::ALL.iter().position(|e| *e == event).unwrap_or(0);
        self.rows
            .iter()
            .find(|g| g.class == class)
            .map_or(Survival::Lost, |g| g.after[i])
    }

    /// Native SQLite on a file: WAL with `synchronous = FULL` for the disk classes, snapshot
    /// files for the memory class. `durable_disk` is false when the connection's settings do
    /// not make commits durable (then the OS-crash column says so).
    pub fn sqlite_file(durable_disk: bool) -> Self {
        use Survival::*;
        let os = if durable_disk { Kept } else { Lost };
        let mut g = Guarantees::new(
            "SQLite file (WAL, synchronous = FULL); memory tables in an attached :memory: \
             schema with snapshot files",
            [Kept, Kept, os, Kept],
            [LastSnapshot, LastSnapshot, LastSnapshot, ShutdownSnapshot],
        );
        if !durable_disk {
            g.notes.push(
                "the connection is not in WAL mode with synchronous = FULL: a commit may \
                 roll back after a power loss"
                    .into(),
            );
        }
        g
    }

    /// PostgreSQL: logged tables for the disk classes, `UNLOGGED` tables with logged snapshot
    /// copies for the memory class. `fsync` is the server's setting.
    pub fn postgres(fsync: bool) -> Self {
        use Survival::*;
        let os_disk = if fsync { Kept } else { Lost };
        let os_memory = if fsync { LastSnapshot } else { Lost };
        let mut g = Guarantees::new(
            "PostgreSQL (logged tables, synchronous_commit on; memory tables UNLOGGED with \
             logged snapshot copies)",
            [Kept, Kept, os_disk, Kept],
            [Kept, LastSnapshot, os_memory, Kept],
        );
        g.notes.push(
            "a crash of calstore's process loses nothing: the server holds the UNLOGGED \
             tables; a server crash empties them and the next open restores the snapshot"
                .into(),
        );
        if !fsync {
            g.notes.push(
                "fsync is off on this server: an OS crash or power loss may lose or corrupt \
                 anything"
                    .into(),
            );
        }
        g
    }

    /// sql.js in a browser with calstore-wasm's persistence (a log of committed transactions
    /// in IndexedDB and whole-image snapshots): every class has the database's durability.
    pub fn sqljs_with_log() -> Self {
        use Survival::*;
        let mut g = Guarantees::new(
            "sql.js with the IndexedDB log (every table in memory, persisted as a whole)",
            [KeptOnceLogged, KeptOnceLogged, KeptOnceLogged, Kept],
            [KeptOnceLogged, KeptOnceLogged, KeptOnceLogged, Kept],
        );
        g.notes.push(
            "sql.js has no per-table memory: memory-class tables are ordinary tables, as \
             durable as the rest (more than the class asks)"
                .into(),
        );
        g.notes.push(
            "IndexedDB's durability on an OS crash is the browser's (Chromium's default is \
             \"relaxed\"); storage may be evicted unless navigator.storage.persist() is granted"
                .into(),
        );
        g
    }

    /// SQLite compiled into the module, on an OPFS file (WAL, `synchronous = FULL`): the
    /// disk classes are real files; memory-class tables are ordinary tables too.
    pub fn opfs() -> Self {
        use Survival::*;
        let mut g = Guarantees::new(
            "SQLite in the module on OPFS (WAL, synchronous = FULL)",
            [Kept, Kept, Kept, Kept],
            [Kept, Kept, Kept, Kept],
        );
        g.notes.push(
            "memory-class tables are ordinary tables of the OPFS file (more than the class \
             asks); storage may be evicted unless navigator.storage.persist() is granted"
                .into(),
        );
        g
    }

    /// A database that lives in memory only (`sqlite::memory:`, sql.js without persistence):
    /// nothing survives the process.
    pub fn in_memory() -> Self {
        use Survival::*;
        Guarantees::new(
            "an in-memory database (nothing is written to disk)",
            [Lost, Lost, Lost, Lost],
            [Lost, Lost, Lost, Lost],
        )
    }

    /// The table as Markdown, with the notes below it.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "{}\n\n| class | process crash (kill -9) | database server crash | OS crash / power loss | clean restart |\n|---|---|---|---|---|\n",
            self.backend
        );
        for g in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                g.class, g.after[0], g.after[1], g.after[2], g.after[3]
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("\n- {n}"));
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// Where a backend keeps memory-class tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryPlacement {
    /// A schema attached to the connection ([`MEMORY_SCHEMA`]), created at every open
    /// (native SQLite).
    Attached,
    /// `UNLOGGED` tables created by the migration, each with a logged snapshot copy
    /// (PostgreSQL).
    Unlogged,
    /// Ordinary tables of the main schema (in the browser; `sqlite::memory:`).
    Main,
}

impl MemoryPlacement {
    /// The form of a memory table's DDL created at open (SQLite placements); PostgreSQL's
    /// are in the migration ([`postgres_memory_ddl`]).
    pub fn ddl_form(self) -> DdlForm {
        DdlForm {
            schema: (self == MemoryPlacement::Attached).then_some(MEMORY_SCHEMA),
            unlogged: self == MemoryPlacement::Unlogged,
            if_not_exists: true,
        }
    }
}

/// Whether this process owns the memory tables ([`MemoryBackend::claim`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// It does (now or already).
    Owner,
    /// Another process does; the text says which, as far as known.
    HeldBy(String),
}

/// A snapshot generation that could not be used at restore, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedSnapshot {
    /// Its generation.
    pub generation: u64,
    /// Why it was skipped (checksum mismatch, integrity check, unreadable).
    pub reason: String,
}

/// How a memory table came back at open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// Its contents were intact (PostgreSQL after a clean restart; a second open on the same
    /// connection): nothing was reloaded over them.
    Kept,
    /// Reloaded from a snapshot.
    Restored {
        /// The snapshot's generation.
        generation: u64,
        /// Rows reloaded.
        rows: u64,
    },
    /// No usable snapshot: the table starts empty.
    Empty,
    /// An ordinary table of the database ([`MemoryPlacement::Main`]): nothing to restore.
    Persistent,
}

/// What happened to one memory table at open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRestore {
    /// The table.
    pub table: &'static str,
    /// How it came back.
    pub outcome: RestoreOutcome,
    /// Newer snapshots that could not be used (newest first).
    pub skipped: Vec<SkippedSnapshot>,
}

/// What [`MemoryBackend::open`] did, per memory table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// One entry per memory table.
    pub tables: Vec<TableRestore>,
}

impl RestoreReport {
    /// One line per problem worth telling an operator: a skipped (corrupt) snapshot, or a
    /// table that started empty although snapshots existed.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            for s in &t.skipped {
                out.push(format!(
                    "{}: snapshot generation {} skipped: {}",
                    t.table, s.generation, s.reason
                ));
            }
            if !t.skipped.is_empty() {
                out.push(match &t.outcome {
                    RestoreOutcome::Restored { generation, rows } => format!(
                        "{}: restored from the older generation {generation} ({rows} rows)",
                        t.table
                    ),
                    _ => format!("{}: no usable snapshot; the table starts empty", t.table),
                });
            }
        }
        out
    }
}

/// One snapshot taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotReport {
    /// The table.
    pub table: &'static str,
    /// Its new generation.
    pub generation: u64,
    /// Rows in it.
    pub rows: u64,
    /// Where it is (a file, or a table).
    pub location: String,
}

/// Keeps memory-class tables in memory and on disk: creates them, restores them at open,
/// snapshots them. One implementation per [`MemoryPlacement`]: [`PostgresMemory`],
/// [`MainSchemaMemory`], and calstore-native's `SqliteSnapshots` (files).
///
/// Every method runs outside any transaction of the caller's (SQLite cannot attach a file
/// inside one); each opens the transactions it needs. A backend is `Send`, so that a server
/// may keep the connection that owns the memory tables behind a lock shared by its threads.
pub trait MemoryBackend: fmt::Debug + Send {
    /// Where memory tables live.
    fn placement(&self) -> MemoryPlacement;

    /// Makes this process the owner of the memory tables: the one that serves logins, runs
    /// the recovery at start and (on SQLite) takes snapshots. Held until the backend (or, on
    /// PostgreSQL, the connection) is dropped. Claiming again is a no-op.
    fn claim(&mut self, conn: &mut dyn SqlConnection) -> Result<Claim>;

    /// Creates the memory tables on this connection where needed and, where their contents
    /// were lost, restores each from its newest snapshot that passes the checks, falling
    /// back to older generations.
    fn open(&mut self, conn: &mut dyn SqlConnection, tables: &[TableDef]) -> Result<RestoreReport>;

    /// Takes a snapshot of each of `tables` now (each consistent within itself).
    fn snapshot(
        &mut self,
        conn: &mut dyn SqlConnection,
        tables: &[TableDef],
        now: UtcTime,
    ) -> Result<Vec<SnapshotReport>>;

    /// What each storage class survives here.
    fn guarantees(&mut self, conn: &mut dyn SqlConnection) -> Result<Guarantees>;

    /// Reads a `MemoryAndDisk` table into the engine's cache (warm-up at open).
    fn warm(&mut self, conn: &mut dyn SqlConnection, table: &TableDef) -> Result<()> {
        warm_by_scan(conn, table)
    }
}

/// Warm-up by reading every row once (the pages come into the engine's cache).
pub fn warm_by_scan(conn: &mut dyn SqlConnection, table: &TableDef) -> Result<()> {
    let sql = format!("SELECT count(*) FROM {}", table.name);
    conn.query(&sql, &[])?;
    Ok(())
}

fn memory_tables(tables: &[TableDef]) -> impl Iterator<Item = &TableDef> {
    tables.iter().filter(|t| t.storage.is_memory())
}

/// `INSERT INTO {to} (cols) SELECT cols FROM {from}`: static names from a declaration.
pub fn copy_rows_sql(table: &TableDef, to: &str, from: &str) -> String {
    let cols = table.column_list();
    format!("INSERT INTO {to} ({cols}) SELECT {cols} FROM {from}")
}

// ---- PostgreSQL ---------------------------------------------------------------------------

/// The PostgreSQL DDL of memory tables, for a component's migration: each an `UNLOGGED`
/// table with its indexes and a logged copy `<table>_snapshot` (same columns and checks),
/// then the two bookkeeping tables [`PG_MEMORY_SENTINEL`] and [`PG_SNAPSHOTS`].
pub fn postgres_memory_ddl(tables: &[TableDef]) -> Vec<String> {
    let form = DdlForm {
        unlogged: true,
        ..DdlForm::default()
    };
    let mut out = Vec::new();
    for t in memory_tables(tables) {
        out.extend(t.ddl_in(crate::Dialect::Postgres, form));
        out.push(format!(
            "CREATE TABLE {0}{PG_SNAPSHOT_SUFFIX} (LIKE {0} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
            t.name
        ));
    }
    out.push(format!(
        "CREATE UNLOGGED TABLE {PG_MEMORY_SENTINEL} (\n    table_name TEXT COLLATE \"C\" PRIMARY KEY\n)"
    ));
    out.push(format!(
        "CREATE TABLE {PG_SNAPSHOTS} (\n    table_name TEXT COLLATE \"C\" PRIMARY KEY,\n    \
         generation BIGINT NOT NULL CHECK (generation >= 1),\n    taken_at BIGINT NOT NULL,\n    \
         row_count BIGINT NOT NULL CHECK (row_count >= 0)\n)"
    ));
    out
}

/// Memory tables on PostgreSQL: `UNLOGGED` tables (no WAL; a server crash empties them, a
/// clean restart keeps them) with logged snapshot copies.
///
/// Telling a crash from a clean restart: each memory table has a row in the `UNLOGGED`
/// sentinel table [`PG_MEMORY_SENTINEL`], written when the table is opened. A server crash
/// empties the sentinel together with the tables, so at the next open a missing row means
/// "the contents were lost: reload the snapshot", and a present row means "intact: keep
/// them" (never reloading an older snapshot over newer rows). A marker in a *logged* table
/// could not do this: nobody writes it when the server, not calstore, goes down.
///
/// A snapshot copies every memory table into its `<table>_snapshot` copy in one
/// `REPEATABLE READ` transaction (so they are consistent with each other), under a
/// transaction-level advisory lock that restores take too. One generation is kept (the copy
/// is logged, so it does not rot); [`PG_SNAPSHOTS`] counts them.
///
/// The owner is whoever holds a session-level advisory lock; a connection that opens the
/// memory tables also makes its commits durable (`SET synchronous_commit TO on` when the
/// server has it off).
#[derive(Debug, Default)]
pub struct PostgresMemory {
    owner: bool,
}

impl PostgresMemory {
    /// A backend for a PostgreSQL connection.
    pub fn new() -> Self {
        PostgresMemory::default()
    }
}

const PG_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('calstore_memory'), hashtext(current_schema()))";

fn show(conn: &mut dyn SqlConnection, setting: &'static str) -> Result<String> {
    let sql = format!("SHOW {setting}");
    Ok(match conn.query_opt(&sql, &[])? {
        Some(r) => r.get::<String>(0)?,
        None => String::new(),
    })
}

impl MemoryBackend for PostgresMemory {
    fn placement(&self) -> MemoryPlacement {
        MemoryPlacement::Unlogged
    }

    fn claim(&mut self, conn: &mut dyn SqlConnection) -> Result<Claim> {
        if self.owner {
            return Ok(Claim::Owner);
        }
        let got = conn
            .query_opt(
                "SELECT pg_try_advisory_lock(hashtext('calstore_owner'), hashtext(current_schema()))",
                &[],
            )?
            .map(|r| r.get::<bool>(0))
            .transpose()?
            .unwrap_or(false);
        if !got {
            let holder = conn
                .query_opt(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
                     AND classid = hashtext('calstore_owner')::oid \
                     AND objid = hashtext(current_schema())::oid",
                    &[],
                )?
                .map(|r| r.get::<i64>(0))
                .transpose()?;
            return Ok(Claim::HeldBy(match holder {
                Some(pid) => format!("PostgreSQL backend {pid}"),
                None => "another session".into(),
            }));
        }
        self.owner = true;
        Ok(Claim::Owner)
    }

    fn open(&mut self, conn: &mut dyn SqlConnection, tables: &[TableDef]) -> Result<RestoreReport> {
        if show(conn, "synchronous_commit")? == "off" {
            conn.execute_batch("SET synchronous_commit TO on")?;
        }
        let mut report = RestoreReport::default();
        in_transaction(conn, |c| {
            c.execute_batch(PG_LOCK)?;
            report.tables.clear();
            for t in memory_tables(tables) {
                let intact = c
                    .query_opt(
                        "SELECT 1 FROM calstore_memory WHERE table_name = $1",
                        &[t.name.into()],
                    )?
                    .is_some();
                let outcome = if intact {
                    RestoreOutcome::Kept
                } else {
                    c.execute(&format!("DELETE FROM {}", t.name), &[])?;
                    let snapshot = format!("{}{PG_SNAPSHOT_SUFFIX}", t.name);
                    let rows = c.execute(&copy_rows_sql(t, t.name, &snapshot), &[])?;
                    let generation = c
                        .query_opt(
                            "SELECT generation FROM calstore_snapshots WHERE table_name = $1",
                            &[t.name.into()],
                        )?
                        .map(|r| r.get::<u64>(0))
                        .transpose()?;
                    c.execute(
                        "INSERT INTO calstore_memory (table_name) VALUES ($1)",
                        &[t.name.into()],
                    )?;
                    match generation {
                        Some(generation) => RestoreOutcome::Restored { generation, rows },
                        None => RestoreOutcome::Empty,
                    }
                };
                report.tables.push(TableRestore {
                    table: t.name,
                    outcome,
                    skipped: Vec::new(),
                });
            }
            Ok(())
        })?;
        Ok(report)
    }

    fn snapshot(
        &mut self,
        conn: &mut dyn SqlConnection,
        tables: &[TableDef],
        now: UtcTime,
    ) -> Result<Vec<SnapshotReport>> {
        let mut out = Vec::new();
        in_transaction(conn, |c| {
            // Allowed as the first statement after BEGIN: one snapshot of every memory table.
            c.execute_batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
            c.execute_batch(PG_LOCK)?;
            out.clear();
            for t in memory_tables(tables) {
                let copy = format!("{}{PG_SNAPSHOT_SUFFIX}", t.name);
                c.execute_batch(&format!("TRUNCATE {copy}"))?;
                let rows = c.execute(&copy_rows_sql(t, &copy, t.name), &[])?;
                let row_count = i64::try_from(rows).unwrap_or(i64::MAX);
                let generation = c
                    .query_opt(
                        "INSERT INTO calstore_snapshots (table_name, generation, taken_at, row_count) \
                         VALUES ($1, 1, $2, $3) ON CONFLICT (table_name) DO UPDATE SET \
                         generation = calstore_snapshots.generation + 1, \
                         taken_at = excluded.taken_at, row_count = excluded.row_count \
                         RETURNING generation",
                        &[t.name.into(), now.to_value(), Value::Integer(row_count)],
                    )?
                    .map(|r| r.get::<u64>(0))
                    .transpose()?
                    .unwrap_or(1);
                out.push(SnapshotReport {
                    table: t.name,
                    generation,
                    rows,
                    location: format!("table {copy}"),
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn guarantees(&mut self, conn: &mut dyn SqlConnection) -> Result<Guarantees> {
        let fsync = show(conn, "fsync")? == "on";
        let sync = show(conn, "synchronous_commit")?;
        let mut g = Guarantees::postgres(fsync);
        if sync == "off" {
            g.notes.push(
                "synchronous_commit is off on this connection: the last commits may be lost \
                 in a server crash (calstore turns it on when it opens memory tables)"
                    .into(),
            );
            for row in g
                .rows
                .iter_mut()
                .filter(|r| r.class != ClassKind::MemoryWithSnapshots)
            {
                row.after[1] = Survival::Lost;
                row.after[2] = Survival::Lost;
            }
        }
        Ok(g)
    }

    fn warm(&mut self, conn: &mut dyn SqlConnection, table: &TableDef) -> Result<()> {
        let prewarm = conn
            .query_opt(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'",
                &[],
            )?
            .is_some();
        if prewarm {
            conn.query("SELECT pg_prewarm($1::regclass)", &[table.name.into()])?;
            Ok(())
        } else {
            warm_by_scan(conn, table)
        }
    }
}

// ---- the main schema ----------------------------------------------------------------------

/// Memory-class tables as ordinary tables of the main schema, where a backend has no
/// separate memory: sql.js (the whole database is in memory and persisted as a whole by
/// calstore-wasm), SQLite in the module, `sqlite::memory:`. The tables are created at open
/// (`IF NOT EXISTS`), never restored, and a snapshot is nothing to do: their durability is
/// the database's, which [`MainSchemaMemory::guarantees`] reports as given at construction.
#[derive(Debug)]
pub struct MainSchemaMemory {
    guarantees: Guarantees,
}

impl MainSchemaMemory {
    /// A backend whose database has `guarantees` ([`Guarantees::sqljs_with_log`],
    /// [`Guarantees::opfs`], [`Guarantees::in_memory`]).
    pub fn new(guarantees: Guarantees) -> Self {
        MainSchemaMemory { guarantees }
    }
}

impl MemoryBackend for MainSchemaMemory {
    fn placement(&self) -> MemoryPlacement {
        MemoryPlacement::Main
    }

    fn claim(&mut self, _conn: &mut dyn SqlConnection) -> Result<Claim> {
        Ok(Claim::Owner)
    }

    fn open(&mut self, conn: &mut dyn SqlConnection, tables: &[TableDef]) -> Result<RestoreReport> {
        let dialect = conn.dialect();
        let mut report = RestoreReport::default();
        for t in memory_tables(tables) {
            for stmt in t.ddl_in(dialect, MemoryPlacement::Main.ddl_form()) {
                conn.execute_batch(&stmt)?;
            }
            report.tables.push(TableRestore {
                table: t.name,
                outcome: RestoreOutcome::Persistent,
                skipped: Vec::new(),
            });
        }
        Ok(report)
    }

    fn snapshot(
        &mut self,
        _conn: &mut dyn SqlConnection,
        _tables: &[TableDef],
        _now: UtcTime,
    ) -> Result<Vec<SnapshotReport>> {
        Ok(Vec::new())
    }

    fn guarantees(&mut self, _conn: &mut dyn SqlConnection) -> Result<Guarantees> {
        Ok(self.guarantees.clone())
    }
}

// ---- a connection with its memory tables --------------------------------------------------

/// A connection whose components are migrated and whose memory tables are ready, with the
/// backend that keeps them. It is a [`SqlConnection`] itself (every method forwarded), so a
/// [`Store`](crate::Store) or the account operations run on it unchanged.
///
/// Dropping it is what a crash does to the memory tables: no snapshot is taken. Call
/// [`StorageConnection::close`] for a clean shutdown.
#[derive(Debug)]
pub struct StorageConnection<C> {
    conn: C,
    backend: Box<dyn MemoryBackend>,
    tables: Vec<TableDef>,
    owner: bool,
    restore: RestoreReport,
}

/// How [`StorageConnection::open`] opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// As the owner of the memory tables ([`MemoryBackend::claim`]); refused with
    /// [`StoreError::Unavailable`] if another process owns them.
    Owner,
    /// Without claiming them (administration, reports).
    Guest,
}

impl<C: SqlConnection> StorageConnection<C> {
    /// Migrates `components` (one transaction), claims the memory tables for `role`,
    /// creates and restores the memory tables among `tables`, and warms the
    /// `MemoryAndDisk` ones.
    pub fn open(
        mut conn: C,
        mut backend: Box<dyn MemoryBackend>,
        components: &[&Component],
        tables: &[TableDef],
        role: Role,
    ) -> Result<Self> {
        super::migrate_components(&mut conn, components)?;
        let owner = match role {
            Role::Guest => false,
            Role::Owner => match backend.claim(&mut conn)? {
                Claim::Owner => true,
                Claim::HeldBy(who) => {
                    return Err(StoreError::Unavailable(format!(
                        "the memory tables are owned by {who}"
                    )));
                }
            },
        };
        let restore = backend.open(&mut conn, tables)?;
        for t in tables
            .iter()
            .filter(|t| ClassKind::from(&t.storage) == ClassKind::MemoryAndDisk)
        {
            backend.warm(&mut conn, t)?;
        }
        Ok(StorageConnection {
            conn,
            backend,
            tables: tables.to_vec(),
            owner,
            restore,
        })
    }

    /// What the open restored.
    pub fn restore_report(&self) -> &RestoreReport {
        &self.restore
    }

    /// True if this connection owns the memory tables.
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// Where the memory tables are.
    pub fn placement(&self) -> MemoryPlacement {
        self.backend.placement()
    }

    /// The memory-class tables.
    pub fn memory_tables(&self) -> Vec<TableDef> {
        memory_tables(&self.tables).copied().collect()
    }

    /// Takes a snapshot of every memory table, or of `only` (a table name: unknown or not a
    /// memory table is [`StoreError::NotFound`]).
    pub fn snapshot(&mut self, only: Option<&str>, now: UtcTime) -> Result<Vec<SnapshotReport>> {
        let tables: Vec<TableDef> = self
            .memory_tables()
            .into_iter()
            .filter(|t| only.is_none_or(|name| t.name == name))
            .collect();
        if let Some(name) = only
            && tables.is_empty()
        {
            return Err(StoreError::NotFound(format!(
                "no memory table {name:?} (memory tables: {})",
                self.memory_tables()
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.backend.snapshot(&mut self.conn, &tables, now)
    }

    /// Takes the snapshots that `schedule` says are due at `now` and records them.
    pub fn snapshot_due(
        &mut self,
        schedule: &mut SnapshotSchedule,
        now: UtcTime,
    ) -> Result<Vec<SnapshotReport>> {
        let due: Vec<TableDef> = schedule.due(now).into_iter().copied().collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let done = self.backend.snapshot(&mut self.conn, &due, now)?;
        for t in &due {
            schedule.taken(t.name, now);
        }
        Ok(done)
    }

    /// What each storage class survives on this connection's backend.
    pub fn guarantees(&mut self) -> Result<Guarantees> {
        self.backend.guarantees(&mut self.conn)
    }

    /// A clean shutdown: the owner snapshots every memory table; the connection is given
    /// back.
    pub fn close(mut self, now: UtcTime) -> Result<C> {
        if self.owner {
            let tables = self.memory_tables();
            self.backend.snapshot(&mut self.conn, &tables, now)?;
        }
        Ok(self.conn)
    }

    /// The wrapped connection.
    pub fn inner(&mut self) -> &mut C {
        &mut self.conn
    }
}

impl<C: SqlConnection> SqlConnection for StorageConnection<C> {
    fn dialect(&self) -> crate::Dialect {
        self.conn.dialect()
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.conn.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.conn.query(sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql)
    }
    fn transaction_depth(&self) -> u32 {
        self.conn.transaction_depth()
    }
    fn set_transaction_depth(&mut self, depth: u32) {
        self.conn.set_transaction_depth(depth)
    }
    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        self.conn.begin(kind)
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.commit()
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.conn.rollback()
    }
    fn on_transaction(&mut self, event: TxEvent) {
        self.conn.on_transaction(event)
    }
}

// ---- the timer ----------------------------------------------------------------------------

/// When each memory table is due for its next snapshot (every `every` of its
/// [`StorageClass::MemoryWithSnapshots`]). The caller has the clock: a server calls
/// [`StorageConnection::snapshot_due`] from its loop (the core reads no clock).
#[derive(Clone, Debug)]
pub struct SnapshotSchedule {
    entries: Vec<(TableDef, Duration, UtcTime)>,
}

impl SnapshotSchedule {
    /// A schedule for the memory tables among `tables`, counting from `now` (the open).
    pub fn new(tables: &[TableDef], now: UtcTime) -> Self {
        SnapshotSchedule {
            entries: memory_tables(tables)
                .filter_map(|t| match t.storage {
                    StorageClass::MemoryWithSnapshots { every, .. } => Some((*t, every, now)),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The tables due at `now`.
    pub fn due(&self, now: UtcTime) -> Vec<&TableDef> {
        self.entries
            .iter()
            .filter(|(_, every, last)| {
                let next = chrono::TimeDelta::from_std(*every)
                    .ok()
                    .and_then(|d| last.checked_add(d).ok());
                next.is_none_or(|n| n <= now)
            })
            .map(|(t, _, _)| t)
            .collect()
    }

    /// Records that `table` was snapshotted at `now`.
    pub fn taken(&mut self, table: &str, now: UtcTime) {
        for e in self.entries.iter_mut().filter(|e| e.0.name == table) {
            e.2 = now;
        }
    }

    /// The earliest instant a table is due.
    pub fn next_due(&self) -> Option<UtcTime> {
        self.entries
            .iter()
            .filter_map(|(_, every, last)| {
                chrono::TimeDelta::from_std(*every)
                    .ok()
                    .and_then(|d| last.checked_add(d).ok())
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::schema::TABLES;

    fn at(secs: i64) -> UtcTime {
        UtcTime::from_micros(1_700_000_000_000_000 + secs * 1_000_000).unwrap()
    }

    #[test]
    fn schedule_follows_every() {
        let mut s = SnapshotSchedule::new(TABLES, at(0));
        assert!(s.due(at(59)).is_empty());
        let due: Vec<&str> = s.due(at(60)).iter().map(|t| t.name).collect();
        assert_eq!(due, ["live_sessions", "login_throttle"]);
        s.taken("live_sessions", at(60));
        let due: Vec<&str> = s.due(at(61)).iter().map(|t| t.name).collect();
        assert_eq!(due, ["login_throttle"]);
        assert_eq!(s.next_due(), Some(at(60)));
    }

    #[test]
    fn memory_ddl_forms() {
        let live = TABLES.iter().find(|t| t.name == "live_sessions").unwrap();
        let attached = live.ddl_in(crate::Dialect::Sqlite, MemoryPlacement::Attached.ddl_form());
        assert!(attached[0].starts_with("CREATE TABLE IF NOT EXISTS ram.live_sessions ("));
        assert_eq!(
            attached[1],
            "CREATE UNIQUE INDEX IF NOT EXISTS ram.live_sessions_account_slot ON live_sessions (account_id, slot)"
        );
        let pg = postgres_memory_ddl(TABLES);
        assert!(pg[0].starts_with("CREATE UNLOGGED TABLE live_sessions ("));
        assert!(pg.iter().any(|s| s
            == "CREATE TABLE live_sessions_snapshot (LIKE live_sessions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"));
    }

    #[test]
    fn guarantee_table() {
        let g = Guarantees::sqlite_file(true);
        assert_eq!(
            g.after(ClassKind::MemoryWithSnapshots, Event::ProcessCrash),
            Survival::LastSnapshot
        );
        assert_eq!(g.after(ClassKind::DiskOnly, Event::OsCrash), Survival::Kept);
        let pg = Guarantees::postgres(false);
        assert_eq!(
            pg.after(ClassKind::DiskOnly, Event::OsCrash),
            Survival::Lost
        );
        assert_eq!(
            pg.after(ClassKind::MemoryWithSnapshots, Event::CleanRestart),
            Survival::Kept
        );
        assert!(pg.to_markdown().contains("| MemoryWithSnapshots | kept | back to the last complete snapshot | may be lost | kept |"));
    }
}
