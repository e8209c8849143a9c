//! Opening the accounts component on a connection: the schema migrated, the memory tables
//! ready (restored from their snapshots), the [`PseudonymKey`] checked and, for the process
//! that serves logins, the recovery at start.

use crate::error::Result;
use crate::schema::storage::{MemoryBackend, Role, StorageConnection};
use crate::schema::{ACCOUNTS, CORE};
use crate::sql::SqlConnection;
use crate::tx::in_transaction;
use crate::typed::UtcTime;

use super::connections::recover_at_start;
use super::keys::{PseudonymKey, record_key};
use super::schema::TABLES;

/// Why the accounts are opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Administration and reports: the memory tables are not claimed (on SQLite they hold
    /// the newest snapshot, and what is written to them here is not kept).
    Admin,
    /// Serving logins: this process claims the memory tables (refused with
    /// [`StoreError::Unavailable`](crate::StoreError::Unavailable) if another one holds
    /// them), and every connection left open by the previous owner ends as
    /// `server_restart` ([`recover_at_start`]).
    Logins,
}

/// What [`open`] did besides opening.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Connections closed by the recovery at start (always 0 for [`Purpose::Admin`]).
    pub recovered: u64,
}

/// Opens the accounts component on `conn`: migrates it (and the core component), creates
/// and restores its memory tables through `backend` ([`StorageConnection::open`]), records
/// or checks `key` (another key is [`AccountError::WrongKey`](super::AccountError::WrongKey)),
/// and for [`Purpose::Logins`] runs the recovery at start, all before any login is served.
/// The restore report is [`StorageConnection::restore_report`]: print its warnings.
pub fn open<C: SqlConnection>(
    conn: C,
    backend: Box<dyn MemoryBackend>,
    key: &PseudonymKey,
    purpose: Purpose,
    now: UtcTime,
) -> Result<(StorageConnection<C>, OpenReport)> {
    let role = match purpose {
        Purpose::Admin => Role::Guest,
        Purpose::Logins => Role::Owner,
    };
    let mut opened = StorageConnection::open(conn, backend, &[&CORE, &ACCOUNTS], TABLES, role)?;
    let recovered = in_transaction(&mut opened, |c| {
        record_key(c, key)?;
        Ok(match purpose {
            Purpose::Logins => recover_at_start(c, now)?,
            Purpose::Admin => 0,
        })
    })?;
    Ok((opened, OpenReport { recovered }))
}
