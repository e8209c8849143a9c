//! Free/busy periods and the tables that hold them.
//!
//! Every free/busy table (`freebusy`, `freebusy_offers`, `freebusy_other`, `quota_freebusy`,
//! `user_freebusy`) has the same period columns and differs only in its owner columns and one
//! optional extra column (`expires` or `attendee`). The SQL for each is generated once from
//! static column names (`PeriodTable`); no caller data ever becomes SQL text.
//!
//! **Overlap queries use an index, never a scan of the owner's rows.** Each row carries a
//! duration class `span` ([`SPAN_LIMITS`]); a query for `[from, to)` asks, per class `k`, for
//! rows with `start` in `[from - limit_k, to)` through the index `(owner…, span, start)`, and
//! keeps those whose `end > from`. Only the last class (periods longer than a year) is bounded
//! by `to` alone.

use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::sql::{Row, SqlConnection, Value, bulk};

/// One busy (or tentative) period, as imip-agent's `FreeBusyPeriod`.
///
/// Ordering is by start, end, uid, recurrence id; equality for deduplication is on the same
/// fields (transp, summary and organiser do not count), as in imip-agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC), never before `start`.
    pub end: DateTime<Utc>,
    /// The event's UID; None for periods received in a VFREEBUSY.
    pub uid: Option<String>,
    /// `OPAQUE`, `TRANSPARENT`, or `ORG` (the organiser is not attending); None means opaque.
    pub transp: Option<String>,
    /// The normalised recurrence id of an override, None for parent occurrences.
    pub recurrenceid: Option<String>,
    /// The event's summary.
    pub summary: Option<String>,
    /// The organiser's URI.
    pub organiser: Option<String>,
}

impl Period {
    /// A bare period with no event details.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Period {
            start,
            end,
            uid: None,
            transp: None,
            recurrenceid: None,
            summary: None,
            organiser: None,
        }
    }

    /// True if this period makes its owner busy: OPAQUE or unset. TRANSPARENT periods and
    /// `ORG` periods (an organiser who does not attend) do not block.
    pub fn is_busy(&self) -> bool {
        self.transp
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("OPAQUE"))
    }

    /// True if `[self.start, self.end)` overlaps `[from, to)`.
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.start < to && self.end > from
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    /// The sort key imip-agent uses.
    pub fn sort_key(&self) -> (DateTime<Utc>, DateTime<Utc>, &str, &str) {
        (
            self.start,
            self.end,
            self.uid.as_deref().unwrap_or(""),
            self.recurrenceid.as_deref().unwrap_or(""),
        )
    }

    /// Checks the period before it is written.
    pub fn validate(&self) -> Result<()> {
        if self.end < self.start {
            return Err(StoreError::invalid(format!(
                "period ends ({}) before it starts ({})",
                format_utc(self.end),
                format_utc(self.start)
            )));
        }
        for (name, v) in [
            ("uid", &self.uid),
            ("transp", &self.transp),
            ("recurrenceid", &self.recurrenceid),
            ("summary", &self.summary),
            ("organiser", &self.organiser),
        ] {
            if let Some(v) = v {
                crate::validate::text_field(name, v, crate::validate::MAX_FIELD_LEN)?;
            }
        }
        Ok(())
    }
}

/// Upper bounds, in seconds, of the duration classes 0..=4; class 5 holds longer periods.
pub const SPAN_LIMITS: [i64; 5] = [3_600, 86_400, 604_800, 2_678_400, 31_622_400];

/// The duration class of a period of `secs` seconds.
pub fn span_class(secs: i64) -> i64 {
    let mut class = 0i64;
    for limit in SPAN_LIMITS {
        if secs <= limit {
            return class;
        }
        class += 1;
    }
    class
}

/// The columns that identify whose periods a table row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    None,
    /// `expires` (offers).
    Expires,
    /// `attendee` (quota entries); part of period identity.
    Attendee,
}

/// A free/busy table: name, owner columns and the extra column.
#[derive(Debug)]
pub(crate) struct PeriodTable {
    pub name: &'static str,
    pub owners: &'static [&'static str],
    pub extra: Extra,
    sql: OnceLock<PeriodSql>,
}

/// Generated statements of one period table. Parameters: the owner values first, then the
/// statement's own.
#[derive(Debug)]
pub(crate) struct PeriodSql {
    pub insert: String,
    pub select_all: String,
    /// The overlap query without ORDER BY: [`PeriodTable::select_overlap`] sorts its rows.
    pub select_overlap: String,
    /// The same query sorted by SQL (`ORDER BY start, end, uid, rid[, attendee]`, absent
    /// values as ''): what [`sort_rows`] reproduces; for benchmarks and tests.
    pub select_overlap_ordered: String,
    pub delete_all: String,
    pub delete_uid: String,
    pub delete_event: String,
    pub delete_overlap: String,
    pub select_owners2: Option<String>,
}

impl PeriodTable {
    pub(crate) const fn new(
        name: &'static str,
        owners: &'static [&'static str],
        extra: Extra,
    ) -> Self {
        PeriodTable {
            name,
            owners,
            extra,
            sql: OnceLock::new(),
        }
    }

    fn extra_col(&self) -> Option<&'static str> {
        match self.extra {
            Extra::None => None,
            Extra::Expires => Some("expires"),
            Extra::Attendee => Some("attendee"),
        }
    }

    pub(crate) fn sql(&self) -> &PeriodSql {
        self.sql.get_or_init(|| self.build())
    }

    /// `owner1 = $1 AND owner2 = $2 …`: the table's owner columns, the first parameters.
    fn owner_cond(&self) -> String {
        self.owners
            .iter()
            .enumerate()
            .map(|(i, o)| format!("{o} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn build(&self) -> PeriodSql {
        let n = self.owners.len();
        let p = |i: usize| format!("${}", n + i);
        let owner_cond = self.owner_cond();
        let mut cols = String::from(
            "\"start\", \"end\", object_uid, transp, object_recurrenceid, summary, organiser",
        );
        if let Some(e) = self.extra_col() {
            cols.push_str(", ");
            cols.push_str(e);
        }
        let order = "ORDER BY \"start\", \"end\", coalesce(object_uid, ''), \
                     coalesce(object_recurrenceid, '')";
        let order = match self.extra {
            Extra::Attendee => format!("{order}, coalesce(attendee, '')"),
            _ => order.to_owned(),
        };
        let t = self.name;
        let value_count = 7 + usize::from(self.extra_col().is_some());
        let insert_cols = format!("{}, {cols}, span", self.owners.join(", "));
        let placeholders = (1..=n + value_count + 1)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO {t} ({insert_cols}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
        );
        let select_all = format!("SELECT {cols} FROM {t} WHERE {owner_cond} {order}");
        // Overlap: $n+1 = from, $n+2 = to, $n+3.. = lower start bounds per span class.
        let mut parts = Vec::new();
        for (k, _) in SPAN_LIMITS.iter().enumerate() {
            parts.push(format!(
                "SELECT {cols} FROM {t} WHERE {owner_cond} AND span = {k} AND \"start\" >= {} \
                 AND \"start\" < {} AND \"end\" > {}",
                p(3 + k),
                p(2),
                p(1)
            ));
        }
        parts.push(format!(
            "SELECT {cols} FROM {t} WHERE {owner_cond} AND span = {} AND \"start\" < {} \
             AND \"end\" > {}",
            SPAN_LIMITS.len(),
            p(2),
            p(1)
        ));
        // No ORDER BY: the rows are sorted in Rust ([`sort_rows`]), in the order `order`
        // gives. Sorting the union in SQL made SQLite copy every row into a sorter and back,
        // most of what the query cost beyond the index lookups (and twice as much in the
        // browser's WebAssembly SQLite, see docs/decisions/0006-week-query-in-the-browser.md).
        let select_overlap = parts.join(" UNION ALL ");
        let select_overlap_ordered =
            format!("SELECT {cols} FROM ({select_overlap}) AS overlapping {order}");
        let delete_all = format!("DELETE FROM {t} WHERE {owner_cond}");
        let delete_uid = format!(
            "DELETE FROM {t} WHERE {owner_cond} AND object_uid = {}",
            p(1)
        );
        let delete_event = format!(
            "DELETE FROM {t} WHERE {owner_cond} AND object_uid = {} AND \
             coalesce(object_recurrenceid, '') = {}",
            p(1),
            p(2)
        );
        let mut delete_overlap = format!(
            "DELETE FROM {t} WHERE {owner_cond} AND \"start\" < {} AND \"end\" > {}",
            p(2),
            p(1)
        );
        if self.extra == Extra::Attendee {
            delete_overlap.push_str(&format!(" AND coalesce(attendee, '') = {}", p(3)));
        }
        let select_owners2 = (n == 2).then(|| {
            format!(
                "SELECT DISTINCT {} FROM {t} WHERE {} = $1 ORDER BY {}",
                self.owners[1], self.owners[0], self.owners[1]
            )
        });
        PeriodSql {
            insert,
            select_all,
            select_overlap,
            select_overlap_ordered,
            delete_all,
            delete_uid,
            delete_event,
            delete_overlap,
            select_owners2,
        }
    }
}

pub(crate) static FREEBUSY: PeriodTable =
    PeriodTable::new("freebusy", &["store_user"], Extra::None);
pub(crate) static FREEBUSY_OFFERS: PeriodTable =
    PeriodTable::new("freebusy_offers", &["store_user"], Extra::Expires);
pub(crate) static FREEBUSY_OTHER: PeriodTable =
    PeriodTable::new("freebusy_other", &["store_user", "other"], Extra::None);
pub(crate) static QUOTA_FREEBUSY: PeriodTable =
    PeriodTable::new("quota_freebusy", &["quota", "user_group"], Extra::Attendee);
pub(crate) static USER_FREEBUSY: PeriodTable =
    PeriodTable::new("user_freebusy", &["quota", "store_user"], Extra::None);

/// A period row with its extra column, as read from a period table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeriodRow {
    pub period: Period,
    pub extra: Option<String>,
}

/// Sorts period rows (columns as [`PeriodTable`]'s queries select them) as their SQL
/// `ORDER BY "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, '')`
/// (then `coalesce(attendee, '')` when `by_attendee`) sorts them: text compared byte by byte,
/// as SQLite's BINARY and PostgreSQL's "C" collation (every text column of the PostgreSQL
/// schema) compare it, a missing value as ''. The sort is stable: rows equal on those columns
/// keep the database's order, which SQL leaves unspecified too.
pub(crate) fn sort_rows(rows: &mut [Row], by_attendee: bool) {
    fn text(row: &Row, i: usize) -> &str {
        match row.values().get(i) {
            Some(Value::Text(s)) => s,
            _ => "",
        }
    }
    rows.sort_by(|a, b| {
        let key = |r| (text(r, 0), text(r, 1), text(r, 2), text(r, 4));
        key(a).cmp(&key(b)).then_with(|| match by_attendee {
            true => text(a, 7).cmp(text(b, 7)),
            false => std::cmp::Ordering::Equal,
        })
    });
}

fn owners_params(owners: &[&str]) -> Vec<Value> {
    owners
        .iter()
        .map(|o| Value::Text((*o).to_owned()))
        .collect()
}

pub(crate) fn decode(mut row: Row) -> Result<PeriodRow> {
    let start: String = row.take(0)?;
    let end: String = row.take(1)?;
    let bad = |e: crate::ical::IcalError| StoreError::invalid(format!("stored period: {e}"));
    Ok(PeriodRow {
        period: Period {
            start: parse_utc(&start).map_err(bad)?,
            end: parse_utc(&end).map_err(bad)?,
            uid: row.take(2)?,
            transp: row.take(3)?,
            recurrenceid: row.take(4)?,
            summary: row.take(5)?,
            organiser: row.take(6)?,
        },
        extra: if row.len() > 7 { row.take(7)? } else { None },
    })
}

/// Which of an owner's periods a replacement removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selection<'a> {
    /// All of them.
    All,
    /// Those overlapping `[from, to)`.
    Overlapping(DateTime<Utc>, DateTime<Utc>),
    /// Those of one event: (uid, rid).
    Event(&'a str, Option<&'a str>),
}

impl PeriodTable {
    /// The parameters of one row after the owners': the period's columns, the extra column
    /// if the table has one, the span class.
    fn push_row(&self, params: &mut Vec<Value>, p: &Period, extra: Option<&str>) {
        params.extend([
            Value::Text(format_utc(p.start)),
            Value::Text(format_utc(p.end)),
            p.uid.clone().into(),
            p.transp.clone().into(),
            p.recurrenceid.clone().into(),
            p.summary.clone().into(),
            p.organiser.clone().into(),
        ]);
        if self.extra != Extra::None {
            params.push(extra.into());
        }
        params.push(Value::Integer(span_class(p.duration_secs())));
    }

    /// Deletes the selected periods of `owners` and inserts `rows` (period, extra column)
    /// instead; returns how many rows were inserted (equal periods are stored once).
    pub(crate) fn replace<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        selection: Selection<'_>,
        rows: &[(&Period, Option<&str>)],
    ) -> Result<usize> {
        match selection {
            Selection::All => self.delete_all(c, owners)?,
            Selection::Overlapping(from, to) => self.delete_overlap(c, owners, from, to, None)?,
            Selection::Event(uid, rid) => self.delete_event(c, owners, uid, rid)?,
        };
        let mut inserted = 0;
        for (p, extra) in rows {
            inserted += usize::from(self.insert(c, owners, p, *extra)?);
        }
        Ok(inserted)
    }

    pub(crate) fn insert<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        p: &Period,
        extra: Option<&str>,
    ) -> Result<bool> {
        p.validate()?;
        let mut params = owners_params(owners);
        self.push_row(&mut params, p, extra);
        Ok(c.execute(&self.sql().insert, &params)? > 0)
    }

    /// Inserts many periods with multi-row statements (equal periods are skipped).
    pub(crate) fn insert_many<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        periods: &[(&Period, Option<&str>)],
    ) -> Result<()> {
        use crate::sql::bulk::{Slot, rows_per_chunk, values_sql};
        let n = self.owners.len();
        let per_row = 8 + usize::from(self.extra != Extra::None);
        let mut template: Vec<Slot> = (1..=n).map(Slot::Shared).collect();
        template.extend((0..per_row).map(Slot::Row));
        let mut cols = format!(
            "INSERT INTO {} ({}, \"start\", \"end\", object_uid, transp, object_recurrenceid, \
             summary, organiser",
            self.name,
            self.owners.join(", ")
        );
        if let Some(e) = self.extra_col() {
            cols.push_str(", ");
            cols.push_str(e);
        }
        cols.push_str(", span) VALUES ");
        for chunk in periods.chunks(rows_per_chunk(per_row, n)) {
            let sql = values_sql(&cols, &template, n, chunk.len(), " ON CONFLICT DO NOTHING");
            let mut params = owners_params(owners);
            params.reserve(chunk.len() * per_row);
            for (p, extra) in chunk {
                p.validate()?;
                self.push_row(&mut params, p, *extra);
            }
            c.execute(&sql, &params)?;
        }
        Ok(())
    }

    /// Deletes the periods of every uid in `uids`.
    pub(crate) fn delete_uids<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        uids: &[&str],
    ) -> Result<u64> {
        let n = self.owners.len();
        let owner_cond = self.owner_cond();
        let prefix = format!("DELETE FROM {} WHERE {owner_cond} AND ", self.name);
        let mut total = 0;
        // Bounded `IN` lists: see `bounded_in_sql` (an import in pieces deletes and reads
        // its UIDs' periods piece by piece).
        for chunk in uids.chunks(bulk::rows_per_chunk(1, n + 2)) {
            let sql = prefix.clone() + &bulk::bounded_in_sql("object_uid", n + 1, chunk.len());
            let mut params = owners_params(owners);
            params.extend(bulk::bounded_in_params(chunk));
            total += c.execute(&sql, &params)?;
        }
        Ok(total)
    }

    /// The periods of every uid in `uids`, grouped by uid, each group in
    /// [`Period::sort_key`] order.
    pub(crate) fn select_uids<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        uids: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<Period>>> {
        let n = self.owners.len();
        let owner_cond = self.owner_cond();
        let prefix = format!(
            "SELECT \"start\", \"end\", object_uid, transp, object_recurrenceid, summary, \
             organiser FROM {} WHERE {owner_cond} AND ",
            self.name
        );
        let mut out: std::collections::HashMap<String, Vec<Period>> =
            std::collections::HashMap::new();
        for chunk in uids.chunks(bulk::rows_per_chunk(1, n + 2)) {
            let sql = prefix.clone() + &bulk::bounded_in_sql("object_uid", n + 1, chunk.len());
            let mut params = owners_params(owners);
            params.extend(bulk::bounded_in_params(chunk));
            for row in c.query(&sql, &params)? {
                let p = decode(row)?.period;
                out.entry(p.uid.clone().unwrap_or_default())
                    .or_default()
                    .push(p);
            }
        }
        for periods in out.values_mut() {
            periods.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        Ok(out)
    }

    pub(crate) fn select_all<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
    ) -> Result<Vec<PeriodRow>> {
        c.query(&self.sql().select_all, &owners_params(owners))?
            .into_iter()
            .map(decode)
            .collect()
    }

    pub(crate) fn select_overlap<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PeriodRow>> {
        let mut params = owners_params(owners);
        params.push(Value::Text(format_utc(from)));
        params.push(Value::Text(format_utc(to)));
        for limit in SPAN_LIMITS {
            let lo = from
                .checked_sub_signed(TimeDelta::seconds(limit))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            params.push(Value::Text(format_utc(lo)));
        }
        let mut rows = c.query(&self.sql().select_overlap, &params)?;
        sort_rows(&mut rows, self.extra == Extra::Attendee);
        rows.into_iter().map(decode).collect()
    }

    pub(crate) fn delete_all<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
    ) -> Result<u64> {
        Ok(c.execute(&self.sql().delete_all, &owners_params(owners))?)
    }

    pub(crate) fn delete_uid<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        uid: &str,
    ) -> Result<u64> {
        let mut params = owners_params(owners);
        params.push(uid.into());
        Ok(c.execute(&self.sql().delete_uid, &params)?)
    }

    pub(crate) fn delete_event<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        uid: &str,
        rid: Option<&str>,
    ) -> Result<u64> {
        let mut params = owners_params(owners);
        params.push(uid.into());
        params.push(rid.unwrap_or("").into());
        Ok(c.execute(&self.sql().delete_event, &params)?)
    }

    pub(crate) fn delete_overlap<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        owners: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        attendee: Option<&str>,
    ) -> Result<u64> {
        let mut params = owners_params(owners);
        params.push(Value::Text(format_utc(from)));
        params.push(Value::Text(format_utc(to)));
        if self.extra == Extra::Attendee {
            params.push(attendee.unwrap_or("").into());
        }
        Ok(c.execute(&self.sql().delete_overlap, &params)?)
    }

    pub(crate) fn select_second_owners<C: SqlConnection + ?Sized>(
        &self,
        c: &mut C,
        first: &str,
    ) -> Result<Vec<String>> {
        let Some(sql) = &self.sql().select_owners2 else {
            return Ok(Vec::new());
        };
        c.query(sql, &[first.into()])?
            .iter()
            .map(|r| r.get(0).map_err(StoreError::from))
            .collect()
    }
}

/// The overlap statement of the own free/busy table, for benchmarks that run the same SQL
/// through a raw driver. Parameters: user, from, to, then one lower bound per span class.
pub fn overlap_sql_for_benchmark() -> String {
    FREEBUSY.sql().select_overlap_ordered.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_classes() {
        assert_eq!(span_class(0), 0);
        assert_eq!(span_class(3_600), 0);
        assert_eq!(span_class(3_601), 1);
        assert_eq!(span_class(86_400 * 400), 5);
    }

    #[test]
    fn overlap_sql_uses_every_class() {
        let sql = &FREEBUSY_OTHER.sql().select_overlap;
        for k in 0..=SPAN_LIMITS.len() {
            assert!(sql.contains(&format!("span = {k}")), "{sql}");
        }
        assert!(sql.contains("store_user = $1 AND other = $2"));
        assert!(sql.contains("\"start\" >= $5"));
    }
}
