//! The journal: quotas shared by resources, their limits, groups and delegates, the
//! reservations recorded against them, and the quota check.
//!
//! [`Journal`] is a thin facade over one connection; each table's reads and writes live in
//! the module of its aggregate: [`limits`] (`quota_limits`), [`groups`] (`user_groups`),
//! [`delegates`] (`quota_delegates`), [`entries`] (`quota_freebusy`, `user_freebusy`),
//! [`events`] (`quota_objects`, `quota_recurrences`) and [`decision`] (the check and the
//! reservation).
//!
//! Every write is one transaction scoped to its quota (or part of the store's open unit of
//! work, see [`Store::transaction`]); the quota's revision row is bumped first, which
//! serialises concurrent bookings of the same quota so that a check and the reservation that
//! follows it cannot interleave with another's (see [`Journal::reserve`]).

pub mod decision;
pub mod delegates;
pub mod entries;
pub mod events;
pub mod groups;
pub mod limits;

use crate::changes::{self, Change, Scope};
use crate::clock::Clock;
use crate::error::Result;
use crate::ical::duration::format_duration;
use crate::sql::SqlConnection;
use crate::store::Store;
use crate::validate;
use crate::work::{self, Unit, WriteTx};

pub use decision::{Booking, BookingRequest, DeclineReason, QuotaDecision};
pub use entries::Entry;
pub use limits::Limit;

pub(crate) use crate::store::strings;

/// The limit value meaning "unlimited".
pub const UNLIMITED: &str = "*";
/// The group or limit key meaning "anyone else".
pub const ANYONE: &str = "*";

/// The journal over a borrowed connection.
pub struct Journal<'a, C: ?Sized> {
    conn: &'a mut C,
    clock: &'a dyn Clock,
    /// The store's open unit of work, which the journal's writes join.
    unit: Option<&'a mut Unit>,
}

impl<C: ?Sized> std::fmt::Debug for Journal<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

impl<C: SqlConnection> Store<C> {
    /// The journal (quotas) over the same connection; inside [`Store::transaction`], its
    /// writes are part of the unit of work.
    pub fn journal(&mut self) -> Journal<'_, C> {
        Journal {
            conn: &mut self.conn,
            clock: &*self.clock,
            unit: self.unit.as_mut(),
        }
    }
}

impl<'a, C: SqlConnection + ?Sized> Journal<'a, C> {
    /// A journal over `conn`, with `clock` for "now" (the schema must exist). Each write is
    /// a transaction of its own.
    pub fn new(conn: &'a mut C, clock: &'a dyn Clock) -> Self {
        Journal {
            conn,
            clock,
            unit: None,
        }
    }

    /// Runs one write of `quota` (see [`crate::work`]).
    fn write<T, F>(&mut self, quota: &str, f: F) -> Result<T>
    where
        F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
    {
        validate::name("quota", quota)?;
        work::write(
            self.conn,
            self.unit.as_deref_mut(),
            Scope::Journal,
            quota,
            f,
        )
    }

    /// Every quota that has been written to, sorted.
    pub fn quotas(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT owner FROM calstore_revisions WHERE scope = 'journal' ORDER BY owner",
            &[],
        )?)
    }

    /// The users and groups that hold entries in `quota`, sorted (imip-agent's
    /// `get_quota_users`, which was broken in its database store).
    pub fn quota_users(&mut self, quota: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT user_group FROM quota_freebusy WHERE quota = $1 \
             UNION SELECT store_user FROM user_freebusy WHERE quota = $1 ORDER BY 1",
            &[quota.into()],
        )?)
    }

    /// The quota's current revision.
    pub fn revision(&mut self, quota: &str) -> Result<i64> {
        changes::current_revision(self.conn, Scope::Journal, quota)
    }

    /// The quota's changes after `since`.
    pub fn changes_since(&mut self, quota: &str, since: i64) -> Result<Vec<Change>> {
        changes::changes_since(self.conn, Scope::Journal, quota, since)
    }
}

/// Formats a number of seconds as an iCalendar duration (for messages and the CLI).
pub fn describe_seconds(secs: i64) -> String {
    format_duration(secs)
}
