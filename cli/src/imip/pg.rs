//! Reading imip-agent 0.3's PostgreSQL tables (its §3 schema) into the model.
//!
//! The tables are found through the connection's `search_path` (a URL may set it with
//! `?options=-csearch_path%3DSCHEMA`) and read in one read-only snapshot. A table that does not exist counts as empty and is named
//! in the report; if none exists, the import fails. 0.3's tables have no order and few keys,
//! so rows are read in their physical order (`ctid`, which is insertion order for tables that
//! were only appended to): the first of several requests for the same (uid, rid) is kept, and
//! of several counter-proposals from the same attendee the last (0.3's file store overwrote).
//! An object stored twice keeps the active copy.

use calstore_core::{Entry, Offer, Period, Providers, Request, Row, SqlConnection, Status};
use calstore_native::PgConnection;

use super::{
    Fixes, ImipData, Object, add_object, check_limit, check_name, check_object, check_rid,
    check_uid, check_user, period_from_fields, utc_field,
};
use crate::CliError;

/// imip-agent 0.3's store tables (calstore's `store` component has the same names, and
/// tables of its own besides), then its journal tables.
const STORE_TABLES: &[&str] = &[
    "objects",
    "recurrences",
    "countered_objects",
    "countered_recurrences",
    "freebusy",
    "freebusy_offers",
    "freebusy_other",
    "freebusy_providers",
    "freebusy_provider_datetimes",
    "requests",
];
const JOURNAL_TABLES: &[&str] = &[
    "journal_objects",
    "journal_recurrences",
    "journal_freebusy_other",
    "journal_freebusy_providers",
    "journal_freebusy_provider_datetimes",
    "quota_delegates",
    "quota_limits",
    "user_groups",
];

/// One connection to a source database and what it lacks.
struct Source {
    conn: PgConnection,
    missing: Vec<&'static str>,
}

fn connect(url: &str, what: &str) -> Result<Source, CliError> {
    let mut conn = PgConnection::connect(url)
        .map_err(|e| CliError::Failed(format!("cannot connect to the {what}: {e}")))?;
    // One snapshot for every table, even if imip-agent is writing meanwhile. The transaction
    // only reads and ends with the connection.
    conn.execute_batch(calstore_core::Dialect::Postgres.begin_read())
        .map_err(|e| CliError::Failed(format!("the {what}: {e}")))?;
    Ok(Source {
        conn,
        missing: Vec::new(),
    })
}

impl Source {
    fn exists(&mut self, table: &str) -> Result<bool, CliError> {
        let rows = self
            .conn
            .query("SELECT to_regclass($1)::text", &[table.into()])?;
        Ok(rows
            .first()
            .map(|r| r.get::<Option<String>>(0))
            .transpose()?
            .flatten()
            .is_some())
    }

    /// The rows of `table` (columns as listed, all read as text), or none if the table is
    /// missing.
    fn rows(&mut self, table: &'static str, columns: &str) -> Result<Vec<Row>, CliError> {
        if !self.exists(table)? {
            self.missing.push(table);
            return Ok(Vec::new());
        }
        // Table and column names are static: nothing from the data becomes SQL.
        let sql = format!("SELECT {columns} FROM {table} ORDER BY ctid");
        self.conn
            .query(&sql, &[])
            .map_err(|e| CliError::Failed(format!("reading imip-agent table {table}: {e}")))
    }
}

/// A row's text columns: NULL is None.
fn texts(table: &str, row: &Row) -> Result<Vec<Option<String>>, CliError> {
    (0..row.len())
        .map(|i| {
            row.get::<Option<String>>(i)
                .map_err(|e| CliError::Failed(format!("imip-agent table {table}: column {i}: {e}")))
        })
        .collect()
}

/// Describes a row in messages by its first columns.
fn origin(table: &str, names: &[&str], values: &[Option<String>]) -> String {
    let key: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| match v {
            Some(v) => format!("{n} {v:?}"),
            None => format!("{n} NULL"),
        })
        .collect();
    format!("imip-agent table {table}, row with {}", key.join(", "))
}

fn fail(
    table: &str,
    names: &[&str],
    values: &[Option<String>],
    msg: impl std::fmt::Display,
) -> CliError {
    CliError::Failed(format!("{}: {msg}", origin(table, names, values)))
}

/// A required column.
fn required<'a>(
    table: &str,
    names: &[&str],
    values: &'a [Option<String>],
    i: usize,
) -> Result<&'a str, CliError> {
    match values.get(i).and_then(Option::as_deref) {
        Some(v) => Ok(v),
        None => Err(fail(
            table,
            names,
            values,
            format!("{} is NULL", names.get(i).copied().unwrap_or("a column")),
        )),
    }
}

fn optional(values: &[Option<String>], i: usize) -> Option<String> {
    values
        .get(i)
        .and_then(Clone::clone)
        .filter(|v| !v.is_empty())
}

fn status(
    table: &str,
    names: &[&str],
    values: &[Option<String>],
    i: usize,
) -> Result<Status, CliError> {
    match required(table, names, values, i)? {
        "active" => Ok(Status::Active),
        "cancelled" => Ok(Status::Cancelled),
        other => Err(fail(
            table,
            names,
            values,
            format!("status {other:?} is neither 'active' nor 'cancelled'"),
        )),
    }
}

fn period(
    table: &str,
    names: &[&str],
    values: &[Option<String>],
    first: usize,
    fixes: &mut Fixes,
) -> Result<Period, CliError> {
    let fields: Vec<&str> = values
        .get(first..first + 7)
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_deref().unwrap_or(""))
        .collect();
    period_from_fields(&fields, fixes).map_err(|e| fail(table, names, values, e))
}

const PERIOD_COLS: &str =
    "\"start\", \"end\", object_uid, transp, object_recurrenceid, summary, organiser";

fn owner(
    table: &str,
    names: &[&str],
    values: &[Option<String>],
    journal: bool,
) -> Result<String, CliError> {
    let name = required(table, names, values, 0)?;
    if journal {
        check_name("quota", name)
    } else {
        check_user("store_user", name)
    }
    .map_err(|e| fail(table, names, values, e))?;
    Ok(name.to_owned())
}

fn read_objects(src: &mut Source, data: &mut ImipData, journal: bool) -> Result<(), CliError> {
    for recurrences in [false, true] {
        let (table, names): (&'static str, &[&str]) = match (journal, recurrences) {
            (false, false) => (
                "objects",
                &["store_user", "object_uid", "object_text", "status"],
            ),
            (false, true) => (
                "recurrences",
                &[
                    "store_user",
                    "object_uid",
                    "object_recurrenceid",
                    "object_text",
                    "status",
                ],
            ),
            (true, false) => (
                "journal_objects",
                &["store_user", "object_uid", "object_text", "status"],
            ),
            (true, true) => (
                "journal_recurrences",
                &[
                    "store_user",
                    "object_uid",
                    "object_recurrenceid",
                    "object_text",
                    "status",
                ],
            ),
        };
        for row in src.rows(table, &names.join(", "))? {
            let v = texts(table, &row)?;
            // Messages name the key columns, not the text.
            let key_names = &names[..names.len() - 2];
            let key = v.get(..key_names.len()).unwrap_or(&v[..]);
            let who = owner(table, key_names, key, journal)?;
            let uid = required(table, key_names, key, 1)?.to_owned();
            check_uid(&uid).map_err(|e| fail(table, key_names, key, e))?;
            let rid = if recurrences {
                let rid = required(table, key_names, key, 2)?.to_owned();
                check_rid(Some(&rid)).map_err(|e| fail(table, key_names, key, e))?;
                Some(rid)
            } else {
                None
            };
            let n = names.len();
            let text = required(table, names, &v, n - 2)
                .map_err(|_| fail(table, key_names, key, "object_text is NULL"))?;
            let (text, reserialised) = check_object(text, &uid, rid.as_deref())
                .map_err(|e| fail(table, key_names, key, format!("object_text: {e}")))?;
            let status = status(table, names, &v, n - 1)?;
            data.fixes.reserialised += usize::from(reserialised);
            let objects = if journal {
                &mut data.quotas.entry(who).or_default().objects
            } else {
                &mut data.users.entry(who).or_default().objects
            };
            add_object(
                objects,
                (uid, rid),
                Object { text, status },
                &mut data.fixes,
            );
        }
    }
    Ok(())
}

fn read_counters(src: &mut Source, data: &mut ImipData) -> Result<(), CliError> {
    for recurrences in [false, true] {
        let (table, names): (&'static str, &[&str]) = if recurrences {
            (
                "countered_recurrences",
                &[
                    "store_user",
                    "other",
                    "object_uid",
                    "object_recurrenceid",
                    "object_text",
                ],
            )
        } else {
            (
                "countered_objects",
                &["store_user", "other", "object_uid", "object_text"],
            )
        };
        for row in src.rows(table, &names.join(", "))? {
            let v = texts(table, &row)?;
            let key_names = &names[..names.len() - 1];
            let key = v.get(..key_names.len()).unwrap_or(&v[..]);
            let user = owner(table, key_names, key, false)?;
            let other = required(table, key_names, key, 1)?.to_owned();
            check_user("other", &other).map_err(|e| fail(table, key_names, key, e))?;
            let uid = required(table, key_names, key, 2)?.to_owned();
            check_uid(&uid).map_err(|e| fail(table, key_names, key, e))?;
            let rid = if recurrences {
                let rid = required(table, key_names, key, 3)?.to_owned();
                check_rid(Some(&rid)).map_err(|e| fail(table, key_names, key, e))?;
                Some(rid)
            } else {
                None
            };
            let text = required(table, names, &v, names.len() - 1)
                .map_err(|_| fail(table, key_names, key, "object_text is NULL"))?;
            let (text, reserialised) = check_object(text, &uid, rid.as_deref())
                .map_err(|e| fail(table, key_names, key, format!("object_text: {e}")))?;
            data.fixes.reserialised += usize::from(reserialised);
            let counters = &mut data.users.entry(user).or_default().counters;
            if counters.insert((uid, rid, other), text).is_some() {
                data.fixes.duplicates += 1;
            }
        }
    }
    Ok(())
}

fn read_freebusy(src: &mut Source, data: &mut ImipData) -> Result<(), CliError> {
    let names = [
        "store_user",
        "start",
        "end",
        "object_uid",
        "transp",
        "object_recurrenceid",
        "summary",
        "organiser",
        "expires",
    ];
    for row in src.rows("freebusy", &format!("store_user, {PERIOD_COLS}"))? {
        let v = texts("freebusy", &row)?;
        let user = owner("freebusy", &names, &v, false)?;
        let p = period("freebusy", &names, &v, 1, &mut data.fixes)?;
        data.users.entry(user).or_default().freebusy.push(p);
    }
    for row in src.rows(
        "freebusy_offers",
        &format!("store_user, {PERIOD_COLS}, expires"),
    )? {
        let v = texts("freebusy_offers", &row)?;
        let user = owner("freebusy_offers", &names, &v, false)?;
        let p = period("freebusy_offers", &names, &v, 1, &mut data.fixes)?;
        let expires = match optional(&v, 8) {
            None => None,
            Some(x) => {
                Some(utc_field("expires", &x).map_err(|e| fail("freebusy_offers", &names, &v, e))?)
            }
        };
        data.users
            .entry(user)
            .or_default()
            .offers
            .push(Offer { period: p, expires });
    }
    let names = [
        "store_user",
        "other",
        "start",
        "end",
        "object_uid",
        "transp",
        "object_recurrenceid",
        "summary",
        "organiser",
    ];
    for row in src.rows(
        "freebusy_other",
        &format!("store_user, other, {PERIOD_COLS}"),
    )? {
        let v = texts("freebusy_other", &row)?;
        let user = owner("freebusy_other", &names, &v, false)?;
        let other = required("freebusy_other", &names, &v, 1)?.to_owned();
        check_user("other", &other).map_err(|e| fail("freebusy_other", &names, &v, e))?;
        let p = period("freebusy_other", &names, &v, 2, &mut data.fixes)?;
        data.users
            .entry(user)
            .or_default()
            .others
            .entry(other)
            .or_default()
            .push(p);
    }
    Ok(())
}

fn read_providers(src: &mut Source, data: &mut ImipData) -> Result<(), CliError> {
    let names = ["store_user", "start"];
    for row in src.rows("freebusy_provider_datetimes", "store_user, \"start\"")? {
        let v = texts("freebusy_provider_datetimes", &row)?;
        let user = owner("freebusy_provider_datetimes", &names, &v, false)?;
        let datetime = optional(&v, 1);
        if let Some(dt) = &datetime {
            utc_field("start", dt)
                .map_err(|e| fail("freebusy_provider_datetimes", &names, &v, e))?;
        }
        let record = data
            .users
            .entry(user)
            .or_default()
            .providers
            .get_or_insert_with(Providers::default);
        if record.datetime.is_some() && datetime.is_some() && record.datetime != datetime {
            return Err(fail(
                "freebusy_provider_datetimes",
                &names,
                &v,
                "the user has several provider datetimes",
            ));
        }
        record.datetime = record.datetime.take().or(datetime);
    }
    let names = ["store_user", "object_uid", "object_recurrenceid"];
    for row in src.rows(
        "freebusy_providers",
        "store_user, object_uid, object_recurrenceid",
    )? {
        let v = texts("freebusy_providers", &row)?;
        let user = owner("freebusy_providers", &names, &v, false)?;
        let uid = required("freebusy_providers", &names, &v, 1)?.to_owned();
        check_uid(&uid).map_err(|e| fail("freebusy_providers", &names, &v, e))?;
        let rid = optional(&v, 2);
        check_rid(rid.as_deref()).map_err(|e| fail("freebusy_providers", &names, &v, e))?;
        data.users
            .entry(user)
            .or_default()
            .providers
            .get_or_insert_with(Providers::default)
            .providers
            .push((uid, rid));
    }
    Ok(())
}

fn read_requests(src: &mut Source, data: &mut ImipData) -> Result<(), CliError> {
    let names = [
        "store_user",
        "object_uid",
        "object_recurrenceid",
        "request_type",
    ];
    for row in src.rows("requests", &names.join(", "))? {
        let v = texts("requests", &row)?;
        let user = owner("requests", &names, &v, false)?;
        let request = Request {
            uid: required("requests", &names, &v, 1)?.to_owned(),
            rid: optional(&v, 2),
            kind: optional(&v, 3),
        };
        check_uid(&request.uid).map_err(|e| fail("requests", &names, &v, e))?;
        check_rid(request.rid.as_deref()).map_err(|e| fail("requests", &names, &v, e))?;
        if let Some(kind) = &request.kind {
            calstore_core::validate::name("request type", kind)
                .map_err(|e| fail("requests", &names, &v, super::store_err(e)))?;
        }
        data.users.entry(user).or_default().requests.push(request);
    }
    Ok(())
}

fn read_journal(src: &mut Source, data: &mut ImipData) -> Result<(), CliError> {
    read_objects(src, data, true)?;
    let names = [
        "store_user",
        "other",
        "start",
        "end",
        "object_uid",
        "transp",
        "object_recurrenceid",
        "summary",
        "organiser",
        "attendee",
    ];
    let table = "journal_freebusy_other";
    for row in src.rows(
        table,
        &format!("store_user, other, {PERIOD_COLS}, attendee"),
    )? {
        let v = texts(table, &row)?;
        let quota = owner(table, &names, &v, true)?;
        let group = required(table, &names, &v, 1)?.to_owned();
        check_name("group", &group).map_err(|e| fail(table, &names, &v, e))?;
        let period = period(table, &names, &v, 2, &mut data.fixes)?;
        let attendee = optional(&v, 9);
        if let Some(a) = &attendee {
            calstore_core::validate::name("attendee", a)
                .map_err(|e| fail(table, &names, &v, super::store_err(e)))?;
        }
        data.quotas
            .entry(quota)
            .or_default()
            .entries
            .entry(group)
            .or_default()
            .push(Entry { period, attendee });
    }
    let mut providers = std::collections::BTreeMap::<String, usize>::new();
    for table in [
        "journal_freebusy_providers",
        "journal_freebusy_provider_datetimes",
    ] {
        for row in src.rows(table, "store_user")? {
            let v = texts(table, &row)?;
            let quota = owner(table, &["store_user"], &v, true)?;
            let n = providers.entry(quota.clone()).or_default();
            *n += usize::from(table == "journal_freebusy_providers");
            data.quotas.entry(quota).or_default();
        }
    }
    for (quota, n) in providers {
        data.skipped.push(format!(
            "journal_freebusy_providers ({} of quota {quota}; calstore keeps no providers \
             for quotas)",
            super::plural(n, "provider", "providers")
        ));
    }
    let names = ["quota", "store_user"];
    for row in src.rows("quota_delegates", "quota, store_user")? {
        let v = texts("quota_delegates", &row)?;
        let quota = owner("quota_delegates", &names, &v, true)?;
        let d = required("quota_delegates", &names, &v, 1)?.to_owned();
        check_user("delegate", &d).map_err(|e| fail("quota_delegates", &names, &v, e))?;
        data.quotas.entry(quota).or_default().delegates.push(d);
    }
    let names = ["quota", "user_group", "quota_limit"];
    for row in src.rows("quota_limits", "quota, user_group, quota_limit")? {
        let v = texts("quota_limits", &row)?;
        let quota = owner("quota_limits", &names, &v, true)?;
        let group = required("quota_limits", &names, &v, 1)?.to_owned();
        calstore_core::validate::name("group", &group)
            .map_err(|e| fail("quota_limits", &names, &v, super::store_err(e)))?;
        let limit = required("quota_limits", &names, &v, 2)?.to_owned();
        check_limit(&limit).map_err(|e| fail("quota_limits", &names, &v, e))?;
        if data
            .quotas
            .entry(quota)
            .or_default()
            .limits
            .insert(group, limit)
            .is_some()
        {
            data.fixes.duplicates += 1;
        }
    }
    let names = ["quota", "store_user", "user_group"];
    for row in src.rows("user_groups", "quota, store_user, user_group")? {
        let v = texts("user_groups", &row)?;
        let quota = owner("user_groups", &names, &v, true)?;
        let user = required("user_groups", &names, &v, 1)?.to_owned();
        let group = required("user_groups", &names, &v, 2)?.to_owned();
        calstore_core::validate::name("user", &user)
            .and_then(|()| calstore_core::validate::name("group", &group))
            .map_err(|e| fail("user_groups", &names, &v, super::store_err(e)))?;
        if data
            .quotas
            .entry(quota)
            .or_default()
            .groups
            .insert(user, group)
            .is_some()
        {
            data.fixes.duplicates += 1;
        }
    }
    Ok(())
}

/// Reads the store tables from `url` and the journal tables from `journal` (default: the
/// same database).
pub fn read(url: &str, journal: Option<&str>) -> Result<ImipData, CliError> {
    let mut data = ImipData::default();
    let mut src = connect(url, "imip-agent database (--from-postgres)")?;
    read_objects(&mut src, &mut data, false)?;
    read_counters(&mut src, &mut data)?;
    read_freebusy(&mut src, &mut data)?;
    read_providers(&mut src, &mut data)?;
    read_requests(&mut src, &mut data)?;
    let mut missing = std::mem::take(&mut src.missing);
    let mut jsrc = match journal {
        Some(j) => connect(j, "imip-agent journal database (--journal-postgres)")?,
        None => src,
    };
    read_journal(&mut jsrc, &mut data)?;
    missing.append(&mut jsrc.missing);
    if missing.len() == STORE_TABLES.len() + JOURNAL_TABLES.len() {
        return Err(CliError::Failed(
            "no imip-agent 0.3 table (objects, freebusy, requests, journal_objects, …) was \
             found in the source database; check its search_path"
                .into(),
        ));
    }
    if !missing.is_empty() {
        data.skipped.push(format!(
            "tables not found, read as empty: {}",
            missing.join(", ")
        ));
    }
    Ok(data)
}
