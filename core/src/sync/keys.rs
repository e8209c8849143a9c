//! What a change-journal key means in rows: for each table the change journal names, which
//! rows of which tables belong to a key, how the server reads them and how a client puts
//! them in place of its own. A key of `objects` or `recurrences` carries the free/busy of its
//! UID too (the periods are derived from the objects in the same write, see
//! [`crate::changes`]); `freebusy_providers` covers both provider tables.

use std::cmp::Ordering;

use crate::changes::Scope;
use crate::error::{Result, StoreError};
use crate::schema::catalogue;
use crate::sql::{SqlConnection, Value};

use super::wire::{TableRows, WireValue};

/// Rows of `table` selected by key parts: `(column, index of the key part)`; a null part
/// selects a null (or empty) column, as the store treats both alike.
#[derive(Debug)]
struct Selection {
    table: &'static str,
    conds: &'static [(&'static str, usize)],
}

/// How a journal table's keys map to rows.
#[derive(Debug)]
struct KeySpec {
    scope: Scope,
    owner_column: &'static str,
    selections: &'static [Selection],
}

const fn sel(table: &'static str, conds: &'static [(&'static str, usize)]) -> Selection {
    Selection { table, conds }
}

const UID: &[(&str, usize)] = &[("object_uid", 0)];
const UID_RID: &[(&str, usize)] = &[("object_uid", 0), ("object_recurrenceid", 1)];
const ALL: &[(&str, usize)] = &[];

const fn store(table: &'static str, selections: &'static [Selection]) -> (&'static str, KeySpec) {
    (
        table,
        KeySpec {
            scope: Scope::Store,
            owner_column: "store_user",
            selections,
        },
    )
}

const fn journal(table: &'static str, selections: &'static [Selection]) -> (&'static str, KeySpec) {
    (
        table,
        KeySpec {
            scope: Scope::Journal,
            owner_column: "quota",
            selections,
        },
    )
}

/// Every table the change journal names, and what its keys select.
static SPECS: &[(&str, KeySpec)] = &[
    store("objects", &[sel("objects", UID), sel("freebusy", UID)]),
    store(
        "recurrences",
        &[sel("recurrences", UID_RID), sel("freebusy", UID)],
    ),
    store(
        "countered_objects",
        &[sel("countered_objects", &[("object_uid", 0), ("other", 2)])],
    ),
    store(
        "countered_recurrences",
        &[sel(
            "countered_recurrences",
            &[("object_uid", 0), ("object_recurrenceid", 1), ("other", 2)],
        )],
    ),
    store("requests", &[sel("requests", UID_RID)]),
    store("preferences", &[sel("preferences", &[("name", 0)])]),
    store("freebusy", &[sel("freebusy", UID)]),
    store("freebusy_offers", &[sel("freebusy_offers", ALL)]),
    store("freebusy_other", &[sel("freebusy_other", &[("other", 0)])]),
    store(
        "freebusy_providers",
        &[
            sel("freebusy_providers", ALL),
            sel("freebusy_provider_datetimes", ALL),
        ],
    ),
    journal("quota_limits", &[sel("quota_limits", ALL)]),
    journal("user_groups", &[sel("user_groups", ALL)]),
    journal("quota_delegates", &[sel("quota_delegates", ALL)]),
    journal(
        "quota_freebusy",
        &[sel("quota_freebusy", &[("user_group", 0)])],
    ),
    journal(
        "user_freebusy",
        &[sel("user_freebusy", &[("store_user", 0)])],
    ),
    journal("quota_objects", &[sel("quota_objects", UID)]),
    journal("quota_recurrences", &[sel("quota_recurrences", UID_RID)]),
];

fn spec(table: &str) -> Option<&'static KeySpec> {
    SPECS.iter().find(|(t, _)| *t == table).map(|(_, s)| s)
}

fn unknown(table: &str) -> StoreError {
    StoreError::invalid(format!("sync: no table {table:?} in the change journal"))
}

/// The key's parts: a JSON array of strings and nulls.
fn parts(key: &str) -> Result<Vec<Option<String>>> {
    let v: Vec<Option<String>> = serde_json::from_str(key)
        .map_err(|_| StoreError::invalid(format!("sync: bad key {key:?}")))?;
    if v.len() > 4 {
        return Err(StoreError::invalid(format!("sync: bad key {key:?}")));
    }
    Ok(v)
}

/// The WHERE clause and parameters of one selection.
fn where_clause(
    s: &Selection,
    owner_column: &str,
    owner: &str,
    parts: &[Option<String>],
) -> (String, Vec<Value>) {
    let mut sql = format!("{owner_column} = $1");
    let mut params = vec![Value::from(owner)];
    // A plain comparison, not `coalesce(col, '') = coalesce($n, '')`: that has the same
    // meaning (no key part is ever empty) but no index serves it, which made every key a
    // scan of its table (a 5 000-event clone took minutes).
    for (col, i) in s.conds {
        match parts.get(*i).cloned().flatten() {
            Some(part) => {
                params.push(part.into());
                sql.push_str(&format!(" AND {col} = ${}", params.len()));
            }
            None => sql.push_str(&format!(" AND ({col} IS NULL OR {col} = '')")),
        }
    }
    (sql, params)
}

fn columns(table: &str) -> Result<&'static [&'static str]> {
    Ok(catalogue::table(table)
        .ok_or_else(|| unknown(table))?
        .columns)
}

/// True if `table` is a table the change journal names.
pub fn is_journal_table(table: &str) -> bool {
    spec(table).is_some()
}

/// The scope whose owners a journal table belongs to.
pub fn scope_of(table: &str) -> Option<Scope> {
    spec(table).map(|s| s.scope)
}

/// Reads the current rows that belong to `key` of `table` for `owner` (deterministic order).
pub fn fetch<C: SqlConnection + ?Sized>(
    c: &mut C,
    owner: &str,
    table: &str,
    key: &str,
) -> Result<Vec<TableRows>> {
    let spec = spec(table).ok_or_else(|| unknown(table))?;
    let parts = parts(key)?;
    let mut out = Vec::with_capacity(spec.selections.len());
    for s in spec.selections {
        let cols = columns(s.table)?.join(", ");
        let (cond, params) = where_clause(s, spec.owner_column, owner, &parts);
        // Static table and column names only; values are parameters. Sorted here, not by an
        // ORDER BY: SQLite would walk an index that gives the order (all of the owner's
        // free/busy) rather than the one that finds the key's few rows.
        let sql = format!("SELECT {cols} FROM {} WHERE {cond}", s.table);
        let mut rows: Vec<Vec<Value>> = c
            .query(&sql, &params)?
            .into_iter()
            .map(|r| r.into_values())
            .collect();
        rows.sort_by(|a, b| {
            a.iter()
                .zip(b)
                .map(|(x, y)| compare(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(WireValue::from).collect())
            .collect();
        out.push(TableRows {
            table: s.table.to_owned(),
            rows,
        });
    }
    Ok(out)
}

/// A total order of values, the same on every backend: NULL, numbers, text (by bytes),
/// bytes.
fn compare(a: &Value, b: &Value) -> Ordering {
    fn class(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Integer(_) | Value::Real(_), Value::Integer(_) | Value::Real(_)) => {
            number(a).total_cmp(&number(b))
        }
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => class(a).cmp(&class(b)),
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "only to order an integer among floats"
)]
fn number(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(r) => *r,
        _ => 0.0,
    }
}

/// Puts `data` in place of the rows of `key` of `table` for `owner` (inside the caller's
/// transaction). Rows must have the table's columns in catalogue order and belong to `owner`.
pub fn apply<C: SqlConnection + ?Sized>(
    c: &mut C,
    owner: &str,
    table: &str,
    key: &str,
    data: &[TableRows],
) -> Result<usize> {
    let spec = spec(table).ok_or_else(|| unknown(table))?;
    let parts = parts(key)?;
    let mut written = 0;
    for s in spec.selections {
        let cols = columns(s.table)?;
        let (cond, params) = where_clause(s, spec.owner_column, owner, &parts);
        c.execute(&format!("DELETE FROM {} WHERE {cond}", s.table), &params)?;
        let owner_index = cols
            .iter()
            .position(|col| *col == spec.owner_column)
            .ok_or_else(|| unknown(s.table))?;
        let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            s.table,
            cols.join(", "),
            placeholders.join(", ")
        );
        for rows in data.iter().filter(|d| d.table == s.table) {
            for row in &rows.rows {
                let values: Vec<Value> = row
                    .iter()
                    .cloned()
                    .map(WireValue::into_value)
                    .collect::<Option<_>>()
                    .ok_or_else(|| StoreError::invalid("sync: bad base64 in a row"))?;
                if values.len() != cols.len()
                    || values.get(owner_index) != Some(&Value::from(owner))
                {
                    return Err(StoreError::invalid(format!(
                        "sync: a row of {} does not fit the table or its owner",
                        s.table
                    )));
                }
                written += usize::try_from(c.execute(&insert, &values)?).unwrap_or(0);
            }
        }
    }
    Ok(written)
}

/// Deletes every row of `owner` in the tables of `scope` (an owner no longer synced, or a
/// refetch).
pub fn delete_owner<C: SqlConnection + ?Sized>(c: &mut C, scope: Scope, owner: &str) -> Result<()> {
    for t in catalogue::TABLES {
        let column = match (scope, t.owner) {
            (Scope::Store, catalogue::Owner::Store(col))
            | (Scope::Journal, catalogue::Owner::Journal(col)) => col,
            _ => continue,
        };
        c.execute(
            &format!("DELETE FROM {} WHERE {column} = $1", t.name),
            &[owner.into()],
        )?;
    }
    Ok(())
}
