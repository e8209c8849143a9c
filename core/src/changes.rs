//! The change journal that offline sync reads.
//!
//! Every write operation bumps the owner's revision once, with
//! `INSERT … ON CONFLICT DO UPDATE SET revision = revision + 1 RETURNING revision`, as its
//! **first** statement. The row lock this takes serialises writers of the same owner (on
//! PostgreSQL; SQLite serialises all writers anyway) and makes revision order equal commit
//! order, which a sequence would not (a sequence value is taken at `nextval`, not at commit).
//! Each changed key then gets one row in `calstore_changes` holding its latest revision and
//! whether it was upserted or deleted; deleted keys keep their row as a tombstone.

use std::collections::HashSet;

use crate::conn::SqlConnection;
use crate::error::{Result, StoreError};
use crate::value::Value;

/// Which namespace an owner lives in: a store user or a journal quota (a quota may be named
/// after a resource URI, so the two must not share revision counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    fn as_str(self) -> &'static str {
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

/// The bookkeeping of one write transaction for one owner.
#[derive(Debug)]
pub(crate) struct WriteTx {
    scope: Scope,
    owner: String,
    revision: i64,
    seen: HashSet<(&'static str, String)>,
}

/// Encodes a key as a JSON array of strings and nulls.
pub(crate) fn key(parts: &[Option<&str>]) -> String {
    serde_json::Value::Array(
        parts
            .iter()
            .map(|p| p.map_or(serde_json::Value::Null, |s| serde_json::Value::String(s.to_owned())))
            .collect(),
    )
    .to_string()
}

impl WriteTx {
    /// Bumps the owner's revision; call first in the transaction.
    pub(crate) fn begin<C: SqlConnection + ?Sized>(
        c: &mut C,
        scope: Scope,
        owner: &str,
    ) -> Result<Self> {
        let rows = c.query(
            "INSERT INTO calstore_revisions (scope, owner, revision) VALUES ($1, $2, 1) \
             ON CONFLICT (scope, owner) DO UPDATE SET revision = calstore_revisions.revision + 1 \
             RETURNING revision",
            &[scope.as_str().into(), owner.into()],
        )?;
        let revision = rows
            .first()
            .ok_or_else(|| StoreError::invalid("revision bump returned no row"))?
            .get(0)?;
        Ok(WriteTx {
            scope,
            owner: owner.to_owned(),
            revision,
            seen: HashSet::new(),
        })
    }

    /// This transaction's revision.
    pub(crate) fn revision(&self) -> i64 {
        self.revision
    }

    /// Records that `key` of `table` changed.
    pub(crate) fn changed<C: SqlConnection + ?Sized>(
        &mut self,
        c: &mut C,
        table: &'static str,
        key: String,
        op: Operation,
    ) -> Result<()> {
        // Within one transaction the last operation on a key wins; repeat the statement only
        // when the operation differs from what was recorded.
        let marker = (table, format!("{}{key}", op.as_str()));
        if !self.seen.insert(marker) {
            return Ok(());
        }
        c.execute(
            "INSERT INTO calstore_changes (scope, owner, table_name, row_key, revision, operation) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (scope, owner, table_name, row_key) \
             DO UPDATE SET revision = excluded.revision, operation = excluded.operation",
            &[
                self.scope.as_str().into(),
                Value::Text(self.owner.clone()),
                table.into(),
                Value::Text(key),
                Value::Integer(self.revision),
                op.as_str().into(),
            ],
        )?;
        Ok(())
    }
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
