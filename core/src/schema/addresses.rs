//! The data step of the store's schema version 3: calendar addresses stored before
//! [`crate::address`] existed are brought to its one spelling (decision 0015).
//!
//! For every spelling `old` found in an address column whose normal form `new` differs:
//!
//! * where `new` holds no row of its own, every row of `old` is renamed to `new` (the usual
//!   case: `MAILTO:` written where `mailto:` is meant);
//! * where both spellings hold rows (one address was written two ways), they are merged: a
//!   row of the losing spelling whose key the winner also holds is deleted, the rest renamed.
//!   For a store user the winner is the spelling with the higher revision (the one written
//!   last; `new` on a tie); for an address that is not an owner (a counter's sender, another
//!   user's free/busy, an attendee, an account's grant) it is `new`.
//!
//! Every store user whose rows were renamed or merged gets a new revision that is also its
//! oldest valid one, and its change history is dropped, so that every syncing client
//! downloads that user again instead of applying a history written under other keys.
//! Tables of components the database does not have (CalDAV, accounts) are skipped.

use std::collections::{BTreeMap, BTreeSet};

use crate::address;
use crate::error::Result;
use crate::sql::{Dialect, SqlConnection, SqlConnectionExt, Value};

/// An address column, with the key columns that identify a row of one address (a row of the
/// losing spelling with the same values in any of these sets as a row of the winner is
/// deleted before the rename).
struct AddressColumn {
    table: &'static str,
    column: &'static str,
    /// True for the column that names the owner (the store user).
    owner: bool,
    /// True when the table also has a `store_user` column (a store table).
    in_store: bool,
    keys: &'static [&'static [&'static str]],
}

const fn owner(table: &'static str, keys: &'static [&'static [&'static str]]) -> AddressColumn {
    AddressColumn {
        table,
        column: "store_user",
        owner: true,
        in_store: true,
        keys,
    }
}

/// An address that is not the owner, in a store table (`store_user` beside it) or not.
const fn other(
    table: &'static str,
    column: &'static str,
    in_store: bool,
    keys: &'static [&'static [&'static str]],
) -> AddressColumn {
    AddressColumn {
        table,
        column,
        owner: false,
        in_store,
        keys,
    }
}

/// Every column that holds a calendar address. Period tables have no primary key: their rows
/// are derived per UID, so a UID the winner holds replaces the loser's periods of that UID.
const COLUMNS: &[AddressColumn] = &[
    owner("objects", &[&["object_uid"]]),
    owner("recurrences", &[&["object_uid", "object_recurrenceid"]]),
    owner("countered_objects", &[&["other", "object_uid"]]),
    other(
        "countered_objects",
        "other",
        true,
        &[&["store_user", "object_uid"]],
    ),
    owner(
        "countered_recurrences",
        &[&["other", "object_uid", "object_recurrenceid"]],
    ),
    other(
        "countered_recurrences",
        "other",
        true,
        &[&["store_user", "object_uid", "object_recurrenceid"]],
    ),
    owner("freebusy", &[&["object_uid"]]),
    owner("freebusy_offers", &[&["object_uid"]]),
    owner("freebusy_other", &[&["other", "object_uid"]]),
    other(
        "freebusy_other",
        "other",
        true,
        &[&["store_user", "object_uid"]],
    ),
    owner(
        "freebusy_providers",
        &[&["object_uid", "object_recurrenceid"]],
    ),
    owner("freebusy_provider_datetimes", &[&[]]),
    owner("requests", &[&["object_uid", "object_recurrenceid"]]),
    owner("preferences", &[&["name"]]),
    owner("user_freebusy", &[&["quota", "object_uid"]]),
    owner("user_groups", &[&["quota"]]),
    owner("quota_delegates", &[&["quota"]]),
    other("quota_freebusy", "attendee", false, &[]),
    owner("caldav_collections", &[&["name"]]),
    owner("caldav_properties", &[&["collection", "property"]]),
    owner(
        "caldav_resources",
        &[&["collection", "name"], &["object_uid"]],
    ),
    other("account_calendars", "calendar", false, &[&["account_id"]]),
];

/// Runs the step (inside the migration's transaction).
pub(super) fn normalise_stored<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<()> {
    let dialect = conn.dialect();
    let mut present = Vec::new();
    for col in COLUMNS {
        if super::table_exists(conn, col.table)? {
            present.push(col);
        }
    }
    // Every spelling that is not normal, in any address column or among the store owners of
    // the change journal (a user whose rows were all deleted still has its revision), and
    // what it becomes.
    let mut queries: Vec<String> = present
        .iter()
        .map(|col| {
            format!(
                "SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL",
                c = col.column,
                t = col.table
            )
        })
        .collect();
    queries.push("SELECT owner FROM calstore_revisions WHERE scope = 'store'".to_owned());
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for sql in &queries {
        for row in conn.query(sql, &[])? {
            let value: String = row.get(0)?;
            if let std::borrow::Cow::Owned(normal) = address::normalise(&value) {
                found.insert(value, normal);
            }
        }
    }
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for (old, new) in &found {
        let (old_rev, new_rev) = (revision(conn, old)?, revision(conn, new)?);
        let old_wins = old_rev > new_rev;
        for col in &present {
            let (loser, winner) = if col.owner && old_wins {
                (new, old)
            } else {
                (old, new)
            };
            if !col.owner && col.in_store {
                // The owners whose rows change: their clients must download them again.
                let rows = conn.query(
                    &format!(
                        "SELECT DISTINCT store_user FROM {t} WHERE {c} = $1",
                        t = col.table,
                        c = col.column
                    ),
                    &[old.as_str().into()],
                )?;
                for row in rows {
                    touched.insert(row.get(0)?);
                }
            }
            for key in col.keys {
                let same: String = key
                    .iter()
                    .map(|k| format!(" AND {}", same_value(dialect, k, col.table)))
                    .collect();
                conn.execute(
                    &format!(
                        "DELETE FROM {t} WHERE {c} = $1 AND EXISTS \
                         (SELECT 1 FROM {t} w WHERE w.{c} = $2{same})",
                        t = col.table,
                        c = col.column
                    ),
                    &[loser.as_str().into(), winner.as_str().into()],
                )?;
            }
            conn.execute(
                &format!(
                    "UPDATE {t} SET {c} = $1 WHERE {c} = $2",
                    t = col.table,
                    c = col.column
                ),
                &[new.as_str().into(), old.as_str().into()],
            )?;
        }
        // The owner's revision row: merged into the normal spelling's.
        if old_rev >= 0 {
            let rev = old_rev.max(new_rev);
            conn.execute(
                "DELETE FROM calstore_changes WHERE scope = 'store' AND owner = $1",
                &[old.as_str().into()],
            )?;
            conn.execute(
                "DELETE FROM calstore_revisions WHERE scope = 'store' AND owner = $1",
                &[old.as_str().into()],
            )?;
            set_revision(conn, new, rev)?;
            touched.insert(new.clone());
        }
    }
    for user in &touched {
        let rev = revision(conn, user)?.max(0);
        conn.execute(
            "DELETE FROM calstore_changes WHERE scope = 'store' AND owner = $1",
            &[user.as_str().into()],
        )?;
        set_revision(conn, user, rev + 1)?;
    }
    Ok(())
}

/// The store revision of `user`, -1 if it has none.
fn revision<C: SqlConnection + ?Sized>(conn: &mut C, user: &str) -> Result<i64> {
    let row = conn.query_opt(
        "SELECT revision FROM calstore_revisions WHERE scope = 'store' AND owner = $1",
        &[user.into()],
    )?;
    match row {
        Some(row) => Ok(row.get(0)?),
        None => Ok(-1),
    }
}

/// Sets `user`'s revision, and makes it the oldest valid one (no history before it).
fn set_revision<C: SqlConnection + ?Sized>(conn: &mut C, user: &str, rev: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO calstore_revisions (scope, owner, revision, min_valid_revision) \
         VALUES ('store', $1, $2, $2) ON CONFLICT (scope, owner) DO UPDATE SET \
         revision = excluded.revision, min_valid_revision = excluded.min_valid_revision",
        &[user.into(), Value::Integer(rev)],
    )?;
    Ok(())
}

/// `w.k = t.k`, equal when both are NULL too.
fn same_value(dialect: Dialect, column: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("w.{column} IS NOT DISTINCT FROM {table}.{column}"),
        _ => format!("w.{column} IS {table}.{column}"),
    }
}
