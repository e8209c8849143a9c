//! The change journal that offline sync reads.
//!
//! Every write operation bumps the owner's revision once, with
//! `INSERT … ON CONFLICT DO UPDATE SET revision = revision + 1 RETURNING revision`, as its
//! **first** statement. The row lock this takes serialises writers of the same owner (on
//! PostgreSQL; SQLite serialises all writers anyway) and makes revision order equal commit
//! order, which a sequence would not (a sequence value is taken at `nextval`, not at commit).
//! Each changed key then gets one row in `calstore_changes` holding its latest revision and
//! whether it was upserted or deleted; deleted keys keep their row as a tombstone. Changes are
//! collected in memory during the transaction (the last operation on a key wins) and written
//! with multi-row upserts just before the commit, in the same transaction.
//!
//! Keys are per object, not per row: `objects` and `recurrences` by (uid, rid), counters by
//! (uid, rid, other), requests by (uid, rid), `freebusy` by uid, `freebusy_other` by other,
//! quota entries by group. **A change of an object also means its free/busy changed**: the
//! periods of a UID are derived from its objects in the same transaction, so recording or
//! cancelling an event journals the object only, and a syncing client re-reads that UID's
//! periods with it. A `freebusy` entry of its own is written when periods change without an
//! object change (free/busy set directly, or extended as time passes).

use crate::error::Result;
use crate::sql::{SqlConnection, Value};

/// Which namespace an owner lives in: a store user or a journal quota (a quota may be named
/// after a resource URI, so the two must not share revision counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// A store user (a calendar URI).
    Store,
    /// A journal quota.
    Journal,
}

impl Scope {
    /// The text stored in the `scope` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Store => "store",
            Scope::Journal => "journal",
        }
    }
}

/// Whether a key was written or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Created or changed.
    Upsert,
    /// Removed (the row is a tombstone).
    Delete,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
        }
    }
}

/// One entry of the change journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The table whose rows changed (a seed table name).
    pub table: String,
    /// The key within the owner: a JSON array of the key's values.
    pub key: String,
    /// The revision of the write that last changed the key.
    pub revision: i64,
    /// What that write did.
    pub operation: Operation,
}

/// Encodes a key as a JSON array of strings and nulls.
pub(crate) fn key(parts: &[Option<&str>]) -> String {
    serde_json::Value::Array(
        parts
            .iter()
            .map(|p| {
                p.map_or(serde_json::Value::Null, |s| {
                    serde_json::Value::String(s.to_owned())
                })
            })
            .collect(),
    )
    .to_string()
}

/// Reads the changes of an owner after `since`, in revision order.
pub fn changes_since<C: SqlConnection + ?Sized>(
    c: &mut C,
    scope: Scope,
    owner: &str,
    since: i64,
) -> Result<Vec<Change>> {
    c.query(
        "SELECT table_name, row_key, revision, operation FROM calstore_changes \
         WHERE scope = $1 AND owner = $2 AND revision > $3 \
         ORDER BY revision, table_name, row_key",
        &[scope.as_str().into(), owner.into(), Value::Integer(since)],
    )?
    .iter()
    .map(|r| {
        let op: String = r.get(3)?;
        Ok(Change {
            table: r.get(0)?,
            key: r.get(1)?,
            revision: r.get(2)?,
            operation: if op == "delete" {
                Operation::Delete
            } else {
                Operation::Upsert
            },
        })
    })
    .collect()
}

/// The current revision of an owner (0 if it never wrote).
pub fn current_revision<C: SqlConnection + ?Sized>(
    c: &mut C,
    scope: Scope,
    owner: &str,
) -> Result<i64> {
    let rows = c.query(
        "SELECT revision FROM calstore_revisions WHERE scope = $1 AND owner = $2",
        &[scope.as_str().into(), owner.into()],
    )?;
    match rows.first() {
        Some(r) => Ok(r.get(0)?),
        None => Ok(0),
    }
}
