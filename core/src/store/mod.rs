//! The store: imip-agent's per-user calendar objects, recurrences, cancellations,
//! counter-proposals, request queue and free/busy collections.
//!
//! [`Store`] is a thin facade: this file opens it, runs units of work and answers who the
//! users are; each table's reads and writes live in the module of its aggregate:
//!
//! | module | tables |
//! |---|---|
//! | [`objects`] | `objects`, `recurrences` (active and cancelled) |
//! | [`counters`] | `countered_objects`, `countered_recurrences` |
//! | [`requests`] | `requests` |
//! | [`freebusy`] | `freebusy` (the user's own) |
//! | [`others`] | `freebusy_other` |
//! | [`offers`] | `freebusy_offers` |
//! | [`providers`] | `freebusy_providers`, `freebusy_provider_datetimes` |
//!
//! Recording events (objects plus the free/busy derived from them) is [`crate::record`]; the
//! quota journal is [`crate::journal`].
//!
//! Every method that writes is **one transaction** that commits whole or not at all and bumps
//! the user's revision in the change journal first; [`Store::transaction`] groups several
//! writes into one. Where imip-agent's file store and database store differ, this follows the
//! file store, and the upstream bugs listed in `docs/architecture.md` are fixed.

pub mod counters;
pub mod freebusy;
pub mod objects;
pub mod offers;
pub mod others;
pub mod providers;
pub mod requests;

use chrono::{DateTime, Utc};

use crate::address;
use crate::changes::{self, Change, Scope};
use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::schema;
use crate::sql::{Row, SqlConnection, TxKind};
use crate::tx::{finish, retrying};
use crate::validate;
use crate::work::{self, ChangedKey, Unit, WriteTx};

/// The store over one connection.
///
/// `Store<C>` is `Send` when `C` is (the clock is `Send + Sync`), so a multi-threaded server
/// can keep stores in a pool.
pub struct Store<C> {
    pub(crate) conn: C,
    pub(crate) clock: Box<dyn Clock>,
    /// The open unit of work, if any.
    pub(crate) unit: Option<Unit>,
}

impl<C> std::fmt::Debug for Store<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("clock", &self.clock)
            .field("in_unit_of_work", &self.unit.is_some())
            .finish_non_exhaustive()
    }
}

/// The first column of each row, as text.
pub(crate) fn strings(rows: Vec<Row>) -> Result<Vec<String>> {
    rows.iter().map(|r| Ok(r.get(0)?)).collect()
}

/// The change-journal key of an object: `[uid, rid]`.
pub(crate) fn rid_key(uid: &str, rid: Option<&str>) -> String {
    changes::key(&[Some(uid), rid])
}

impl<C: SqlConnection> Store<C> {
    /// Opens a store on `conn`, creating or migrating the calendar schema as needed.
    pub fn open(mut conn: C, clock: Box<dyn Clock>) -> Result<Self> {
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            clock,
            unit: None,
        })
    }

    /// The connection (for adapters and tests).
    pub fn connection(&mut self) -> &mut C {
        &mut self.conn
    }

    /// Gives the connection back.
    pub fn into_inner(self) -> C {
        self.conn
    }

    /// The store's notion of now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `f` as **one unit of work**: every store and journal write it makes commits
    /// together or not at all, each owner (user or quota) it writes gets one revision, and
    /// each key it changes is journalled once.
    ///
    /// A write inside `f` that fails is rolled back on its own (a savepoint), so `f` may
    /// handle the error and go on; an `Err` returned by `f` rolls back the whole unit. On a
    /// retryable database failure the whole of `f` runs again, so it must have no effects
    /// outside the database. Called inside another unit, it is a savepoint of that one.
    ///
    /// ```
    /// # use calstore_core::{FixedClock, Store, Request};
    /// # fn demo<C: calstore_core::SqlConnection>(store: &mut Store<C>) -> calstore_core::Result<()> {
    /// store.transaction(|s| {
    ///     s.queue_request("mailto:room@example.com", "event1", None, None)?;
    ///     s.set_counter("mailto:paul@example.com", "mailto:room@example.com", "event1", None,
    ///         "BEGIN:VEVENT\r\nUID:event1\r\nEND:VEVENT\r\n")?;
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn transaction<T, F>(&mut self, mut f: F) -> Result<T>
    where
        F: FnMut(&mut Self) -> Result<T>,
    {
        if let Some(outer) = self.unit.clone() {
            // Nested: a savepoint; the outer unit journals at its end.
            self.conn.begin(TxKind::Write)?;
            let result = f(self);
            let result = finish(&mut self.conn, result);
            if result.is_err() {
                self.unit = Some(outer);
            }
            return result;
        }
        let outermost = self.conn.transaction_depth() == 0;
        retrying(outermost, || {
            self.conn.begin(TxKind::Write)?;
            self.unit = Some(Unit::default());
            let result = f(self);
            let unit = self.unit.take().unwrap_or_default();
            let result = result.and_then(|value| {
                unit.flush(&mut self.conn)?;
                Ok(value)
            });
            finish(&mut self.conn, result)
        })
    }

    /// Runs `f` as a unit of work (a nested one inside an open unit) and returns, with its
    /// value, the keys its writes changed, even keys the enclosing unit had changed already.
    pub fn capture<T, F>(&mut self, mut f: F) -> Result<(T, Vec<ChangedKey>)>
    where
        F: FnMut(&mut Self) -> Result<T>,
    {
        self.transaction(|s| {
            if let Some(unit) = s.unit.as_mut() {
                unit.captures.push(Default::default());
            }
            let result = f(s);
            let keys = s
                .unit
                .as_mut()
                .and_then(|u| u.captures.pop())
                .unwrap_or_default();
            result.map(|value| (value, keys.into_iter().collect()))
        })
    }

    /// True while a unit of work is open.
    pub fn in_transaction(&self) -> bool {
        self.unit.is_some()
    }

    /// The keys the open unit of work has changed so far (empty outside one): what a sync
    /// client records with a local mutation, to re-read them from the server.
    pub fn unit_changes(&self) -> Vec<ChangedKey> {
        self.unit
            .as_ref()
            .map(Unit::changed_keys)
            .unwrap_or_default()
    }

    /// Runs one write of `user` (see [`crate::work`]).
    pub(crate) fn write<T, F>(&mut self, user: &str, f: F) -> Result<T>
    where
        F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
    {
        validate::user(user)?;
        work::write(&mut self.conn, self.unit.as_mut(), Scope::Store, user, f)
    }

    /// Takes `user`'s write lock: the revision bump that serialises the user's writers (a
    /// row lock held to the end of the transaction). Inside a unit of work, call it before
    /// reading what a decision depends on (a resource's free/busy before it accepts a
    /// booking), so that no other unit can decide on the same reading; the unit's later
    /// writes of the user share the same revision. Alone, or in a unit that changes nothing
    /// of the user, the bump is given back at the commit (a write that changes nothing leaves
    /// no trace).
    pub fn lock_user(&mut self, user: &str) -> Result<()> {
        let user = &*address::normalise(user);
        self.write(user, |_, _| Ok(()))
    }

    // ---- users --------------------------------------------------------------------------

    /// Every user that has written anything (imip-agent's per-user directories), sorted.
    pub fn users(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT owner FROM calstore_revisions WHERE scope = 'store' ORDER BY owner",
            &[],
        )?)
    }

    /// True if `user` has ever written to the store.
    pub fn user_exists(&mut self, user: &str) -> Result<bool> {
        let user = &*address::normalise(user);
        Ok(!self
            .conn
            .query(
                "SELECT 1 FROM calstore_revisions WHERE scope = 'store' AND owner = $1",
                &[user.into()],
            )?
            .is_empty())
    }

    /// Fails with [`StoreError::NotFound`] naming the user if it has no data.
    pub fn require_user(&mut self, user: &str) -> Result<()> {
        let user = &*address::normalise(user);
        validate::user(user)?;
        if self.user_exists(user)? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("user {user}")))
        }
    }

    // ---- change journal -----------------------------------------------------------------

    /// The user's current revision (0 if the user never wrote).
    pub fn revision(&mut self, user: &str) -> Result<i64> {
        let user = &*address::normalise(user);
        changes::current_revision(&mut self.conn, Scope::Store, user)
    }

    /// The user's changes after revision `since`, in revision order.
    pub fn changes_since(&mut self, user: &str, since: i64) -> Result<Vec<Change>> {
        let user = &*address::normalise(user);
        changes::changes_since(&mut self.conn, Scope::Store, user, since)
    }
}

#[cfg(test)]
mod tests {
    /// A server keeps stores in a pool shared by threads.
    #[test]
    fn a_store_is_send_when_its_connection_is() {
        fn assert_send<T: Send>() {}
        struct SendConnection;
        assert_send::<super::Store<SendConnection>>();
    }
}
