//! Writes and the unit of work.
//!
//! Every write of the store and the journal goes through [`write`] for one **owner** (a store
//! user or a journal quota). Alone, a write is one transaction: it bumps the owner's revision
//! first (the row lock that serialises writers of that owner, see [`crate::changes`]), runs,
//! records the keys it changed in the change journal and commits. Inside a **unit of work**
//! ([`crate::Store::transaction`]) it runs in a savepoint of the unit's transaction instead:
//! each owner's revision is bumped once, by the first write that touches it, every key
//! changed by the unit is journalled once with that revision when the unit commits, and a
//! write that fails rolls back to its savepoint and leaves the unit as it was before it.
//! A write (or unit) that changed no key of an owner gives its revision bump back before it
//! commits: a no-op write leaves no trace, neither a revision nor a change row.

use std::collections::{BTreeMap, BTreeSet};

use crate::changes::{Operation, Scope};
use crate::error::{Result, StoreError};
use crate::sql::{SqlConnection, Value, bulk};
use crate::tx::in_transaction;

/// Requests queued by one owner within one revision are ordered by a position below this.
const QUEUE_POSITIONS: i64 = 1 << 20;

/// Rows per multi-row upsert of changes (3 shared parameters + 3 per row).
const CHANGE_CHUNK: usize = 200;

/// Changed keys: the last operation on a key wins.
type Pending = BTreeMap<(&'static str, String), Operation>;

/// The bookkeeping of one write for one owner: its revision and the keys it changes.
#[derive(Debug)]
pub(crate) struct WriteTx {
    revision: i64,
    next_position: i64,
    pending: Pending,
    /// The write changed something the change journal does not name (a CalDAV resource):
    /// its revision stands even with no changed key.
    keep: bool,
}

impl WriteTx {
    /// The revision this write gives its owner.
    pub(crate) fn revision(&self) -> i64 {
        self.revision
    }

    /// Keeps this write's revision although it may change no journalled key: it changed
    /// rows that carry the revision themselves (CalDAV resources and their sync tokens).
    pub(crate) fn keep_revision(&mut self) {
        self.keep = true;
    }

    /// Records that `key` of `table` changed; journalled when the transaction commits.
    pub(crate) fn changed(&mut self, table: &'static str, key: String, op: Operation) {
        self.pending.insert((table, key), op);
    }

    /// True if this write changed an object (parent or recurrence) of `uid`. Two ordered
    /// look-ups, not a scan: an import asks this for every UID it writes.
    pub(crate) fn has_changed_uid(&self, uid: &str) -> bool {
        let parent = crate::changes::key(&[Some(uid), None]);
        if self.pending.contains_key(&("objects", parent)) {
            return true;
        }
        let prefix = format!(
            "{},",
            crate::changes::key(&[Some(uid)]).trim_end_matches(']')
        );
        self.pending
            .range(("recurrences", prefix.clone())..)
            .next()
            .is_some_and(|((table, key), _)| *table == "recurrences" && key.starts_with(&prefix))
    }

    /// The queue order of the next request queued for this owner: the revision, then the
    /// position within it (a unit of work, or `set_requests`, queues several in one
    /// revision).
    pub(crate) fn queue_position(&mut self) -> Result<i64> {
        let position = self.next_position;
        if position >= QUEUE_POSITIONS {
            return Err(StoreError::invalid("too many requests in one write"));
        }
        self.next_position += 1;
        self.revision
            .checked_mul(QUEUE_POSITIONS)
            .and_then(|q| q.checked_add(position))
            .ok_or_else(|| StoreError::invalid("request queue position overflows"))
    }
}

/// A key changed by a unit of work.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangedKey {
    /// Store user or journal quota.
    pub scope: Scope,
    /// The user or quota.
    pub owner: String,
    /// The table, as the change journal names it.
    pub table: String,
    /// The key within the owner (a JSON array, see [`crate::changes`]).
    pub key: String,
}

/// What an open unit of work has done so far, per owner.
#[derive(Clone, Debug, Default)]
pub(crate) struct Unit {
    owners: BTreeMap<(Scope, String), OwnerState>,
    /// Open captures ([`crate::Store::capture`]): each collects the keys every write changes
    /// while it is open.
    pub(crate) captures: Vec<BTreeSet<ChangedKey>>,
}

#[derive(Clone, Debug)]
struct OwnerState {
    revision: i64,
    next_position: i64,
    pending: Pending,
    keep: bool,
}

impl Unit {
    fn absorb(&mut self, scope: Scope, owner: &str, tx: WriteTx) {
        for capture in &mut self.captures {
            for (table, key) in tx.pending.keys() {
                capture.insert(ChangedKey {
                    scope,
                    owner: owner.to_owned(),
                    table: (*table).to_owned(),
                    key: key.clone(),
                });
            }
        }
        let state = self
            .owners
            .entry((scope, owner.to_owned()))
            .or_insert_with(|| OwnerState {
                revision: tx.revision,
                next_position: 0,
                pending: Pending::new(),
                keep: false,
            });
        state.next_position = tx.next_position;
        state.keep |= tx.keep;
        state.pending.extend(tx.pending);
    }

    /// Every key changed so far: (scope, owner, table, key).
    pub(crate) fn changed_keys(&self) -> Vec<ChangedKey> {
        let mut out = Vec::new();
        for ((scope, owner), state) in &self.owners {
            for (table, key) in state.pending.keys() {
                out.push(ChangedKey {
                    scope: *scope,
                    owner: owner.clone(),
                    table: (*table).to_owned(),
                    key: key.clone(),
                });
            }
        }
        out
    }

    /// Journals every changed key, owner by owner; called once, right before the commit.
    pub(crate) fn flush<C: SqlConnection + ?Sized>(self, c: &mut C) -> Result<()> {
        for ((scope, owner), state) in self.owners {
            flush(c, scope, &owner, state.revision, state.pending, state.keep)?;
        }
        Ok(())
    }
}

/// Undoes the revision bump of a write that changed nothing (a no-op write: identical object
/// text, periods or requests), inside its transaction, so that a client syncing from the
/// revision sees nothing new. The owner's first write leaves no revision row at all.
fn unbump<C: SqlConnection + ?Sized>(
    c: &mut C,
    scope: Scope,
    owner: &str,
    revision: i64,
) -> Result<()> {
    let params = [
        scope.as_str().into(),
        owner.into(),
        Value::Integer(revision),
    ];
    if revision <= 1 {
        c.execute(
            "DELETE FROM calstore_revisions WHERE scope = $1 AND owner = $2 AND revision = $3",
            &params,
        )?;
    } else {
        c.execute(
            "UPDATE calstore_revisions SET revision = revision - 1 \
             WHERE scope = $1 AND owner = $2 AND revision = $3",
            &params,
        )?;
    }
    Ok(())
}

/// Bumps the owner's revision and returns it; the first statement of a write.
fn bump<C: SqlConnection + ?Sized>(c: &mut C, scope: Scope, owner: &str) -> Result<i64> {
    let rows = c.query(
        "INSERT INTO calstore_revisions (scope, owner, revision) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, owner) DO UPDATE SET revision = calstore_revisions.revision + 1 \
         RETURNING revision",
        &[scope.as_str().into(), owner.into()],
    )?;
    Ok(rows
        .first()
        .ok_or_else(|| StoreError::invalid("revision bump returned no row"))?
        .get(0)?)
}

/// Writes the changed keys of one owner with multi-row upserts.
fn flush<C: SqlConnection + ?Sized>(
    c: &mut C,
    scope: Scope,
    owner: &str,
    revision: i64,
    pending: Pending,
    keep: bool,
) -> Result<()> {
    let entries: Vec<_> = pending.into_iter().collect();
    if entries.is_empty() {
        return match keep {
            true => Ok(()),
            false => unbump(c, scope, owner, revision),
        };
    }
    for chunk in entries.chunks(CHANGE_CHUNK) {
        let sql = bulk::values_sql(
            "INSERT INTO calstore_changes \
             (scope, owner, table_name, row_key, revision, operation) VALUES ",
            &[
                bulk::Slot::Shared(1),
                bulk::Slot::Shared(2),
                bulk::Slot::Row(0),
                bulk::Slot::Row(1),
                bulk::Slot::Shared(3),
                bulk::Slot::Row(2),
            ],
            3,
            chunk.len(),
            " ON CONFLICT (scope, owner, table_name, row_key) \
             DO UPDATE SET revision = excluded.revision, operation = excluded.operation",
        );
        let mut params = Vec::with_capacity(3 + 3 * chunk.len());
        params.push(Value::from(scope.as_str()));
        params.push(Value::from(owner));
        params.push(Value::Integer(revision));
        for ((table, key), op) in chunk {
            params.push(Value::from(*table));
            params.push(Value::Text(key.clone()));
            params.push(Value::from(op.as_str()));
        }
        c.execute(&sql, &params)?;
    }
    Ok(())
}

/// Runs one write of `owner` in `scope`: as a transaction of its own when `unit` is `None`,
/// else in a savepoint of the open unit of work (see the module documentation). `f` may run
/// more than once (a retried transaction), so it must do nothing outside the database.
pub(crate) fn write<C, T, F>(
    conn: &mut C,
    unit: Option<&mut Unit>,
    scope: Scope,
    owner: &str,
    mut f: F,
) -> Result<T>
where
    C: SqlConnection + ?Sized,
    F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
{
    let Some(unit) = unit else {
        return in_transaction(conn, |c| {
            let mut tx = WriteTx {
                revision: bump(c, scope, owner)?,
                next_position: 0,
                pending: Pending::new(),
                keep: false,
            };
            let value = f(c, &mut tx)?;
            flush(c, scope, owner, tx.revision, tx.pending, tx.keep)?;
            Ok(value)
        });
    };
    let known = unit
        .owners
        .get(&(scope, owner.to_owned()))
        .map(|s| (s.revision, s.next_position));
    let (value, tx) = in_transaction(conn, |c| {
        let (revision, next_position) = match known {
            Some(k) => k,
            None => (bump(c, scope, owner)?, 0),
        };
        let mut tx = WriteTx {
            revision,
            next_position,
            pending: Pending::new(),
            keep: false,
        };
        Ok((f(c, &mut tx)?, tx))
    })?;
    unit.absorb(scope, owner, tx);
    Ok(value)
}
