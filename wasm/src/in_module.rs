//! The in-module backend (feature `sqlite-wasm`): SQLite compiled into this module.
//!
//! The connection is calstore-native's [`SqliteConnection`], the same code as on a server:
//! on `wasm32-unknown-unknown` rusqlite binds sqlite-wasm-rs, which compiles SQLite's C into
//! the module, so the store calls SQLite without any JavaScript in between.
//!
//! Two places for the database ([`Storage`]):
//!
//! - **memory** (the default): sqlite-wasm-rs's memory VFS, any JavaScript context, Node
//!   included; gone when the module is.
//! - **OPFS**: the `opfs-sahpool` VFS of sqlite-wasm-vfs, a pool of OPFS files held open
//!   with synchronous access handles. Only in a **dedicated Worker** (browsers give sync
//!   access handles to nothing else) and in a secure context (https, or http on
//!   localhost/127.0.0.1). The file is opened in WAL mode with `locking_mode = EXCLUSIVE`,
//!   which the pool needs (it has no shared memory) and which is also the fast setting, and
//!   `synchronous = FULL` like natively: every commit is flushed before the call returns.
//!   The worker owns the pool's files until it ends: a second worker or tab that opens the
//!   same directory fails with a `Busy` error.

use calstore_core::{DbError, DbErrorKind};
use calstore_native::{SqliteConnection, SqliteOpenOptions};
// The pool's file operations (remove) are this trait's.
use rsqlite_vfs::VfsFilesManager;
use sqlite_wasm_vfs::sahpool::{self, OpfsSAHError, OpfsSAHPoolCfgBuilder, OpfsSAHPoolUtil};

/// The name the OPFS pool VFS is registered under.
pub const OPFS_VFS: &str = "opfs-sahpool";

/// The OPFS directory (from the origin's root) of the pool, unless told otherwise.
pub const DEFAULT_OPFS_DIRECTORY: &str = ".calstore-sahpool";

/// The database file name in the pool, unless told otherwise.
pub const DEFAULT_PATH: &str = "calstore.sqlite3";

/// Where an in-module database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory, private to the connection.
    Memory,
    /// A file `path` in the OPFS pool kept in `directory`.
    Opfs {
        /// The pool's OPFS directory.
        directory: String,
        /// The database's name in the pool.
        path: String,
    },
}

/// Opens a connection (installing the OPFS pool first if needed). The schema is not touched:
/// `calstore_core::Store::open` migrates it.
pub async fn open(storage: &Storage) -> Result<SqliteConnection, DbError> {
    match storage {
        Storage::Memory => SqliteConnection::open_in_memory(),
        Storage::Opfs { directory, path } => {
            install_opfs(directory).await?;
            SqliteConnection::open_with(
                path,
                &SqliteOpenOptions::new()
                    .vfs(OPFS_VFS)
                    .exclusive_locking(true),
            )
        }
    }
}

/// Deletes a database from the OPFS pool in `directory`: its file and any WAL or rollback
/// journal next to it. It must not be open (else `Busy`). Returns whether the file existed.
pub async fn delete(directory: &str, path: &str) -> Result<bool, DbError> {
    let pool = install_opfs(directory).await?;
    let existed = pool.remove(path).map_err(|e| opfs_error(&e))?;
    for suffix in ["-wal", "-journal"] {
        pool.remove(&format!("{path}{suffix}"))
            .map_err(|e| opfs_error(&e))?;
    }
    Ok(existed)
}

/// Installs the OPFS pool VFS for `directory`, or reuses the one this worker installed.
async fn install_opfs(directory: &str) -> Result<OpfsSAHPoolUtil, DbError> {
    let config = OpfsSAHPoolCfgBuilder::new()
        .vfs_name(OPFS_VFS)
        .directory(directory)
        .build();
    // Not the default VFS: in-memory connections stay on the memory VFS.
    sahpool::install::<sqlite_wasm_rs::WasmOsCallback>(&config, false)
        .await
        .map_err(|e| opfs_error(&e))
}

/// The kind of an OPFS pool error: another owner of the files is `Busy`.
fn opfs_error(e: &OpfsSAHError) -> DbError {
    let kind = match e {
        // createSyncAccessHandle() on a file another worker holds.
        OpfsSAHError::Opfs { message, .. }
            if message.starts_with("NoModificationAllowedError")
                || message.starts_with("InvalidStateError") =>
        {
            DbErrorKind::Busy
        }
        OpfsSAHError::Busy | OpfsSAHError::FileInUse(_) | OpfsSAHError::FilesInUse => {
            DbErrorKind::Busy
        }
        _ => DbErrorKind::Other,
    };
    // The message only: the error holds a JsValue, which must not go into a DbError.
    DbError::new(kind, format!("OPFS storage: {e}"))
}
