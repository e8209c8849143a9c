//! Memory tables on native SQLite: an in-memory schema attached to the connection, and
//! snapshot files (spec §C.3, `MemoryWithSnapshots`).
//!
//! [`SqliteSnapshots`] implements the core's
//! [`MemoryBackend`]:
//!
//! - **Open**: `ATTACH DATABASE ':memory:' AS ram`, the memory tables created in it, and each
//!   restored from its newest snapshot file that passes two checks: the BLAKE2b checksum in its
//!   name (so a file changed after it was written, or truncated, is refused even where
//!   SQLite would not notice) and `PRAGMA integrity_check`. A file that fails is skipped and
//!   the next older generation tried; the [`RestoreReport`] says which were skipped and why.
//! - **Snapshot**, one file per table: the rows are copied into a new file `<table>.tmp`
//!   (attached, one `INSERT … SELECT`, so consistent within the table), the file is fsynced,
//!   renamed to `<table>.<generation>.<checksum>.sqlite` and the directory fsynced; then
//!   generations beyond the table's `keep` are deleted. A crash at any point leaves the
//!   previous generations as they were.
//! - **Owner**: the process holding an exclusive lock on `owner.lock` in the snapshot
//!   directory (released when the process dies, also by `kill -9`). Only the owner takes
//!   snapshots: an attached `:memory:` schema is private to its connection, so another
//!   process's copy (restored from the newest snapshot at its open) would overwrite newer
//!   state.
//!
//! The directory is `<database file>.snapshots/` ([`SqliteSnapshots::beside`]), created with
//! mode 0700 by the first snapshot or claim.
//!
//! Why not SQLite's backup API or `VACUUM ram INTO`: both copy the whole schema, and
//! calstore snapshots per table (each has its own interval and generations); attaching the
//! file and copying by column name works through [`SqlConnection`] (also on
//! `AnyConnection`) and reports a snapshot whose columns no longer match as unusable
//! rather than restoring it wrongly.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use blake2::{Blake2b512, Digest};
use calstore_core::schema::storage::{
    Claim, Guarantees, MEMORY_SCHEMA, MemoryBackend, MemoryPlacement, RestoreOutcome,
    RestoreReport, SkippedSnapshot, SnapshotReport, TableRestore, copy_rows_sql,
};
use calstore_core::typed::{DdlForm, StorageClass, TableDef, UtcTime};
use calstore_core::{
    DbError, DbErrorKind, Dialect, SqlConnection, SqlConnectionExt, StoreError, Value,
    in_transaction,
};

/// The schema a snapshot file is attached as while it is written.
const WRITE_SCHEMA: &str = "calstore_snapshot";
/// The schema a snapshot file is attached as while it is restored.
const READ_SCHEMA: &str = "calstore_restore";
/// Hex digits of the checksum in a file name (128 bits).
const CHECKSUM_HEX: usize = 32;

/// One snapshot file of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Its generation (1, 2, …; per table).
    pub generation: u64,
    /// Its path.
    pub path: PathBuf,
    checksum: String,
}

/// Memory tables in an attached in-memory schema, snapshots in files (see the module
/// documentation). One per connection.
#[derive(Debug)]
pub struct SqliteSnapshots {
    dir: PathBuf,
    lock: Option<File>,
    opened: Vec<&'static str>,
}

fn io_error(what: String, e: io::Error) -> StoreError {
    StoreError::Db(DbError::with_source(
        DbErrorKind::Other,
        format!("{what}: {e}"),
        e,
    ))
}

impl SqliteSnapshots {
    /// Snapshots in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SqliteSnapshots {
            dir: dir.into(),
            lock: None,
            opened: Vec::new(),
        }
    }

    /// Snapshots of the database file `db` in `<db>.snapshots/`.
    pub fn beside(db: impl AsRef<Path>) -> Self {
        let mut dir = db.as_ref().as_os_str().to_owned();
        dir.push(".snapshots");
        Self::new(PathBuf::from(dir))
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshot files of `table`, newest generation first (none if the directory does
    /// not exist).
    pub fn generations(&self, table: &str) -> io::Result<Vec<SnapshotFile>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let parts: Vec<&str> = name.split('.').collect();
            if let [t, generation, checksum, "sqlite"] = parts[..]
                && t == table
                && checksum.len() == CHECKSUM_HEX
                && let Ok(generation) = generation.parse::<u64>()
            {
                out.push(SnapshotFile {
                    generation,
                    path: entry.path(),
                    checksum: checksum.to_owned(),
                });
            }
        }
        out.sort_by_key(|f| std::cmp::Reverse(f.generation));
        Ok(out)
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| io_error(format!("cannot create {}", self.dir.display()), e))
    }

    fn fsync_dir(&self) -> Result<(), StoreError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(format!("cannot sync {}", self.dir.display()), e))
    }

    /// Restores `table` (empty, in the attached schema) from its newest good generation.
    fn restore(
        &self,
        conn: &mut dyn SqlConnection,
        table: &TableDef,
    ) -> Result<TableRestore, StoreError> {
        let files = self.generations(table.name).map_err(|e| {
            io_error(
                format!("cannot list snapshots in {}", self.dir.display()),
                e,
            )
        })?;
        let mut skipped = Vec::new();
        for file in files {
            match restore_file(conn, table, &file) {
                Ok(rows) => {
                    return Ok(TableRestore {
                        table: table.name,
                        outcome: RestoreOutcome::Restored {
                            generation: file.generation,
                            rows,
                        },
                        skipped,
                    });
                }
                Err(reason) => skipped.push(SkippedSnapshot {
                    generation: file.generation,
                    reason,
                }),
            }
        }
        Ok(TableRestore {
            table: table.name,
            outcome: RestoreOutcome::Empty,
            skipped,
        })
    }

    fn snapshot_table(
        &self,
        conn: &mut dyn SqlConnection,
        table: &TableDef,
    ) -> Result<SnapshotReport, StoreError> {
        let existing = self
            .generations(table.name)
            .map_err(|e| io_error(format!("cannot list {}", self.dir.display()), e))?;
        let generation = existing.first().map_or(1, |f| f.generation + 1);
        let tmp = self.dir.join(format!("{}.tmp", table.name));
        remove_if_exists(&tmp)?;
        let rows = match write_table(conn, table, &tmp) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let checksum = File::open(&tmp)
            .and_then(|f| {
                f.sync_all()?;
                checksum(&tmp)
            })
            .map_err(|e| io_error(format!("cannot sync {}", tmp.display()), e))?;
        let path = self
            .dir
            .join(format!("{}.{generation:010}.{checksum}.sqlite", table.name));
        fs::rename(&tmp, &path)
            .map_err(|e| io_error(format!("cannot rename {}", tmp.display()), e))?;
        self.fsync_dir()?;
        let keep = match table.storage {
            StorageClass::MemoryWithSnapshots { keep, .. } => keep.max(1),
            _ => 1,
        };
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let mut pruned = false;
        for old in existing.iter().skip(keep.saturating_sub(1)) {
            remove_if_exists(&old.path)?;
            pruned = true;
        }
        if pruned {
            self.fsync_dir()?;
        }
        Ok(SnapshotReport {
            table: table.name,
            generation,
            rows,
            location: path.display().to_string(),
        })
    }
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(format!("cannot remove {}", path.display()), e)),
    }
}

/// The first 128 bits of the file's BLAKE2b-512, in hex.
fn checksum(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Blake2b512::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .take(CHECKSUM_HEX / 2)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn path_text(path: &Path) -> Result<String, StoreError> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        StoreError::invalid(format!(
            "the snapshot path {} is not valid UTF-8",
            path.display()
        ))
    })
}

/// A read-only, immutable `file:` URI for `path` (`?`, `#`, `%` and everything but
/// unreserved characters and `/` percent-encoded).
fn read_only_uri(path: &str) -> String {
    let mut uri = String::from("file:");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

fn detach(conn: &mut dyn SqlConnection, schema: &str) {
    // Nothing useful to do if it fails (it was not attached).
    let _ = conn.execute_batch(&format!("DETACH DATABASE {schema}"));
}

/// Copies `table` from the attached schema into a new file at `tmp`; returns the rows.
fn write_table(
    conn: &mut dyn SqlConnection,
    table: &TableDef,
    tmp: &Path,
) -> Result<u64, StoreError> {
    conn.execute(
        &format!("ATTACH DATABASE $1 AS {WRITE_SCHEMA}"),
        &[Value::Text(path_text(tmp)?)],
    )?;
    let result = (|| -> Result<u64, StoreError> {
        // The file is fsynced as a whole afterwards: no journal, no syncs while writing.
        conn.query(&format!("PRAGMA {WRITE_SCHEMA}.journal_mode = OFF"), &[])?;
        conn.execute_batch(&format!("PRAGMA {WRITE_SCHEMA}.synchronous = OFF"))?;
        let create = table
            .ddl_in(
                Dialect::Sqlite,
                DdlForm {
                    schema: Some(WRITE_SCHEMA),
                    ..DdlForm::default()
                },
            )
            .into_iter()
            .next()
            .unwrap_or_default();
        conn.execute_batch(&create)?;
        // One statement: one consistent read of the table.
        let copy = copy_rows_sql(
            table,
            &format!("{WRITE_SCHEMA}.{}", table.name),
            &format!("{MEMORY_SCHEMA}.{}", table.name),
        );
        Ok(conn.execute(&copy, &[])?)
    })();
    detach(conn, WRITE_SCHEMA);
    result
}

/// Restores `table` from `file`, or says why the file cannot be used.
fn restore_file(
    conn: &mut dyn SqlConnection,
    table: &TableDef,
    file: &SnapshotFile,
) -> Result<u64, String> {
    match checksum(&file.path) {
        Ok(sum) if sum == file.checksum => {}
        Ok(_) => {
            return Err(
                "checksum mismatch: the file changed or was cut after it was written".into(),
            );
        }
        Err(e) => return Err(format!("cannot read it: {e}")),
    }
    let path = path_text(&file.path).map_err(|e| e.to_string())?;
    conn.execute(
        &format!("ATTACH DATABASE $1 AS {READ_SCHEMA}"),
        &[Value::Text(read_only_uri(&path))],
    )
    .map_err(|e| format!("cannot attach it: {e}"))?;
    let result = (|| -> Result<u64, String> {
        let check = conn
            .query(&format!("PRAGMA {READ_SCHEMA}.integrity_check"), &[])
            .map_err(|e| format!("integrity check failed: {e}"))?;
        let lines: Vec<String> = check
            .iter()
            .filter_map(|r| r.get::<String>(0).ok())
            .collect();
        if lines != ["ok"] {
            return Err(format!("integrity check: {}", lines.join("; ")));
        }
        let copy = copy_rows_sql(
            table,
            &format!("{MEMORY_SCHEMA}.{}", table.name),
            &format!("{READ_SCHEMA}.{}", table.name),
        );
        in_transaction(conn, |c| {
            c.execute(&format!("DELETE FROM {MEMORY_SCHEMA}.{}", table.name), &[])?;
            Ok(c.execute(&copy, &[])?)
        })
        .map_err(|e| format!("cannot copy its rows: {e}"))
    })();
    detach(conn, READ_SCHEMA);
    result
}

impl MemoryBackend for SqliteSnapshots {
    fn placement(&self) -> MemoryPlacement {
        MemoryPlacement::Attached
    }

    fn claim(&mut self, _conn: &mut dyn SqlConnection) -> Result<Claim, StoreError> {
        if self.lock.is_some() {
            return Ok(Claim::Owner);
        }
        self.ensure_dir()?;
        let path = self.dir.join("owner.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {
                // For the message another process gets.
                let pid = format!("{}\n", std::process::id());
                file.set_len(0)
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(|e| io_error(format!("cannot write {}", path.display()), e))?;
                self.lock = Some(file);
                Ok(Claim::Owner)
            }
            Err(fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                Ok(Claim::HeldBy(if pid.is_empty() {
                    "another process".into()
                } else {
                    format!("process {pid}")
                }))
            }
            Err(fs::TryLockError::Error(e)) => {
                Err(io_error(format!("cannot lock {}", path.display()), e))
            }
        }
    }

    fn open(
        &mut self,
        conn: &mut dyn SqlConnection,
        tables: &[TableDef],
    ) -> Result<RestoreReport, StoreError> {
        let attached = conn
            .query_opt(
                "SELECT 1 FROM pragma_database_list WHERE name = $1",
                &[MEMORY_SCHEMA.into()],
            )?
            .is_some();
        if !attached {
            conn.execute_batch(&format!("ATTACH DATABASE ':memory:' AS {MEMORY_SCHEMA}"))?;
        }
        let mut report = RestoreReport::default();
        for t in tables.iter().filter(|t| t.storage.is_memory()) {
            for stmt in t.ddl_in(Dialect::Sqlite, MemoryPlacement::Attached.ddl_form()) {
                conn.execute_batch(&stmt)?;
            }
            if self.opened.contains(&t.name) {
                report.tables.push(TableRestore {
                    table: t.name,
                    outcome: RestoreOutcome::Kept,
                    skipped: Vec::new(),
                });
                continue;
            }
            report.tables.push(self.restore(conn, t)?);
            self.opened.push(t.name);
        }
        Ok(report)
    }

    fn snapshot(
        &mut self,
        conn: &mut dyn SqlConnection,
        tables: &[TableDef],
        _now: UtcTime,
    ) -> Result<Vec<SnapshotReport>, StoreError> {
        if let Claim::HeldBy(who) = self.claim(conn)? {
            return Err(StoreError::Unavailable(format!(
                "the memory tables are held by {who}, which takes their snapshots (every \
                 table's interval, and when it shuts down)"
            )));
        }
        tables
            .iter()
            .filter(|t| t.storage.is_memory())
            .map(|t| self.snapshot_table(conn, t))
            .collect()
    }

    fn guarantees(&mut self, conn: &mut dyn SqlConnection) -> Result<Guarantees, StoreError> {
        let mode: String = conn
            .query_opt("PRAGMA main.journal_mode", &[])?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or_default();
        let sync: i64 = conn
            .query_opt("PRAGMA main.synchronous", &[])?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or(0);
        // 2 = FULL, 3 = EXTRA.
        Ok(Guarantees::sqlite_file(
            mode.eq_ignore_ascii_case("wal") && sync >= 2,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes() {
        assert_eq!(
            read_only_uri("/tmp/a b/x?y#z%.sqlite"),
            "file:/tmp/a%20b/x%3Fy%23z%25.sqlite?mode=ro&immutable=1"
        );
    }
}
