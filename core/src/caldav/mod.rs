//! CalDAV collections and resources over the store (decision 0013).
//!
//! A *calendar* (a store user, e.g. `mailto:alf@vega.com`) has one or more *collections*:
//! `default`, which always exists, and those made with MKCALENDAR. A *resource* is a name in
//! a collection holding one whole iCalendar object; its VEVENTs (master and overrides) are
//! the store's objects of that user, recorded with their free/busy like any other event, and
//! the rest of the object (the VCALENDAR's properties, VTIMEZONEs, VTODOs, …) is kept beside
//! them (`caldav_resources`), so that a GET puts the same bytes back together. A UID is
//! unique across a calendar's collections (RFC 6638 §3.2.4.1): its free/busy is one.
//!
//! Objects written by other means (scheduling deliveries, the sync protocol, the command
//! line) have no resource row: they appear in `default` as `<UID>.ics`.
//!
//! Every write here is one unit of work ([`Store::transaction`]); the resource rows carry the
//! calendar's revision of their last change, and deleted resources stay as tombstones, so
//! that a sync token (a revision) tells what changed since (RFC 6578) together with the
//! change journal of the objects.

pub mod resource;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::address;
use crate::changes;
use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::record::RecordOptions;
use crate::sql::{SqlConnection, SqlConnectionExt, Value};
use crate::store::Store;

pub use resource::{
    MAX_COMPONENTS, MAX_RESOURCE_SIZE, ParsedResource, assemble, etag, expand, overlaps,
    parse_resource,
};
pub use schema::CALDAV;

/// The collection every calendar has.
pub const DEFAULT_COLLECTION: &str = "default";
/// The longest collection or resource name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// The most dead properties a collection keeps, and the largest value of one.
pub const MAX_PROPERTIES: usize = 64;
/// See [`MAX_PROPERTIES`].
pub const MAX_PROPERTY_LEN: usize = 16 * 1024;

/// A calendar collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// Its name (a path segment).
    pub name: String,
    /// The components it takes (`VEVENT`, `VTODO`, `VJOURNAL`).
    pub components: Vec<String>,
    /// Its properties (displayname, calendar-color, …) by Clark name (`{ns}local`), each
    /// value the property's inner XML as sent.
    pub properties: BTreeMap<String, String>,
}

/// A resource as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its name in the collection.
    pub name: String,
    /// The UID of its components.
    pub uid: String,
    /// `VEVENT`, `VTODO` or `VJOURNAL`.
    pub kind: String,
    /// The iCalendar object.
    pub text: String,
    /// Its ETag (quoted).
    pub etag: String,
}

/// Why a CalDAV write did not happen (beyond a store failure).
#[derive(Debug, thiserror::Error)]
pub enum CaldavError {
    /// No such collection or resource.
    #[error("not found")]
    NotFound,
    /// An `If-Match` / `If-None-Match` precondition failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// Another resource of the calendar holds the UID (`no-uid-conflict`); its name.
    #[error("the UID is used by {collection}/{name}")]
    UidConflict {
        /// The collection of the resource holding the UID.
        collection: String,
        /// Its name.
        name: String,
    },
    /// A collection of that name exists.
    #[error("already exists")]
    Exists,
    /// The collection does not take this kind of component.
    #[error("the collection does not take {0}")]
    UnsupportedComponent(String),
    /// The request is not valid (a name, a body).
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sync token moved over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncDelta {
    /// The new token (the calendar's revision).
    pub token: i64,
    /// Resources changed or added (with their data).
    pub changed: Vec<Resource>,
    /// Names of resources removed.
    pub removed: Vec<String>,
}

/// The preconditions of a write (`If-Match`, `If-None-Match: *`, `If-Schedule-Tag-Match`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The ETag the client holds (`*`: any).
    pub if_match: Option<String>,
    /// `If-None-Match: *`: only if the resource does not exist.
    pub if_none_match_any: bool,
    /// The Schedule-Tag the client holds.
    pub if_schedule_tag: Option<String>,
}

impl Preconditions {
    fn hold(&self, current: Option<&Resource>) -> bool {
        if self.if_none_match_any && current.is_some() {
            return false;
        }
        if let Some(m) = &self.if_match
            && !current.is_some_and(|c| m == "*" || c.etag == *m)
        {
            return false;
        }
        if let Some(t) = &self.if_schedule_tag
            && current.is_none_or(|c| schedule_tag(&c.text) != *t)
        {
            return false;
        }
        true
    }
}

/// A resource row.
#[derive(Clone, Debug)]
struct Row {
    collection: String,
    name: String,
    uid: String,
    kind: String,
    head: String,
    tail: String,
}

/// The name a resource without a row has in `default`.
pub fn orphan_name(uid: &str) -> String {
    format!("{uid}.ics")
}

/// One recipient's answer to a free/busy request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeBusyAnswer {
    /// The recipient's calendar address.
    pub recipient: String,
    /// The request status (`2.0;Success`, `3.7;Invalid calendar user`).
    pub status: String,
    /// The VFREEBUSY REPLY, for a local recipient.
    pub data: Option<String>,
}

fn freebusy_reply(
    organiser: &str,
    attendee: &str,
    uid: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: &[crate::period::Period],
    now: DateTime<Utc>,
) -> String {
    use crate::scheduling::text::fold_into;
    let mut busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = periods
        .iter()
        .filter(|p| p.is_busy())
        .map(|p| (p.start.max(from), p.end.min(to)))
        .collect();
    busy.sort();
    busy.dedup();
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calstore//calstore//EN",
        "METHOD:REPLY",
        "BEGIN:VFREEBUSY",
    ] {
        fold_into(&mut out, l);
    }
    if let Some(u) = uid {
        fold_into(&mut out, &format!("UID:{u}"));
    }
    fold_into(&mut out, &format!("DTSTAMP:{}", format_utc(now)));
    fold_into(&mut out, &format!("ORGANIZER:{organiser}"));
    fold_into(&mut out, &format!("ATTENDEE:{attendee}"));
    fold_into(&mut out, &format!("DTSTART:{}", format_utc(from)));
    fold_into(&mut out, &format!("DTEND:{}", format_utc(to)));
    for (s, e) in busy {
        fold_into(
            &mut out,
            &format!("FREEBUSY;FBTYPE=BUSY:{}/{}", format_utc(s), format_utc(e)),
        );
    }
    fold_into(&mut out, "END:VFREEBUSY");
    fold_into(&mut out, "END:VCALENDAR");
    out
}

/// The name of a schedule inbox item.
pub fn inbox_name(uid: &str, rid: Option<&str>) -> String {
    match rid {
        None => format!("{uid}.ics"),
        Some(r) => format!("{uid}@{r}.ics"),
    }
}

/// A Schedule-Tag (RFC 6638 §3.2.10) for a resource's text: a digest of its components
/// without what an attendee's answer changes (PARTSTAT, RSVP, SCHEDULE-STATUS and X-
/// parameters of ATTENDEE, DTSTAMP, LAST-MODIFIED, and SEQUENCE, which some clients bump
/// with their answer), so that it moves when the organiser changes the event, not when a
/// reply is merged into it or an attendee answers.
pub fn schedule_tag(text: &str) -> String {
    use crate::scheduling::text::{Line, unfold};
    let mut kept = String::with_capacity(text.len());
    let mut depth = 0usize;
    for l in unfold(text) {
        let Some(mut line) = Line::parse(&l) else {
            continue;
        };
        match line.name.as_str() {
            "BEGIN" => depth += 1,
            "END" => depth = depth.saturating_sub(1),
            // The VCALENDAR's own properties (PRODID, …) are not the event's.
            _ if depth <= 1 => continue,
            "DTSTAMP" | "LAST-MODIFIED" | "SEQUENCE" => continue,
            "ATTENDEE" => line.params.retain(|(n, _)| {
                n != "PARTSTAT" && n != "RSVP" && n != "SCHEDULE-STATUS" && !n.starts_with("X-")
            }),
            _ => {}
        }
        kept.push_str(&line.to_text());
        kept.push('\n');
    }
    etag(&kept)
}

/// Checks a collection or resource name (a decoded path segment).
pub fn check_name(name: &str) -> std::result::Result<(), CaldavError> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c.is_control())
    {
        return Err(CaldavError::Invalid(format!("invalid name {name:?}")));
    }
    Ok(())
}

fn components_text(c: &[String]) -> String {
    c.join(",")
}

fn grouped_texts(
    parents: Vec<(String, String)>,
    overrides: Vec<(String, String, String)>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (uid, text) in parents {
        out.entry(uid).or_default().insert(0, text);
    }
    let mut overrides = overrides;
    overrides.sort();
    for (uid, _, text) in overrides {
        out.entry(uid).or_default().push(text);
    }
    out
}

impl<C: SqlConnection> Store<C> {
    // ---- collections ---------------------------------------------------------------------

    /// The calendar's collections, `default` first.
    pub fn caldav_collections(&mut self, owner: &str) -> Result<Vec<Collection>> {
        let rows = self.conn.query(
            "SELECT name, components FROM caldav_collections WHERE store_user = $1 ORDER BY name",
            &[owner.into()],
        )?;
        let mut out = vec![Collection {
            name: DEFAULT_COLLECTION.to_owned(),
            components: vec!["VEVENT".into(), "VTODO".into(), "VJOURNAL".into()],
            properties: BTreeMap::new(),
        }];
        for r in rows {
            let name: String = r.get(0)?;
            let components: String = r.get(1)?;
            let components: Vec<String> = components.split(',').map(str::to_owned).collect();
            if name == DEFAULT_COLLECTION {
                if let Some(d) = out.first_mut() {
                    d.components = components;
                }
                continue;
            }
            out.push(Collection {
                name,
                components,
                properties: BTreeMap::new(),
            });
        }
        let props = self.conn.query(
            "SELECT collection, property, value FROM caldav_properties WHERE store_user = $1",
            &[owner.into()],
        )?;
        for r in props {
            let coll: String = r.get(0)?;
            if let Some(c) = out.iter_mut().find(|c| c.name == coll) {
                c.properties.insert(r.get(1)?, r.get(2)?);
            }
        }
        Ok(out)
    }

    /// One collection.
    pub fn caldav_collection(&mut self, owner: &str, name: &str) -> Result<Option<Collection>> {
        Ok(self
            .caldav_collections(owner)?
            .into_iter()
            .find(|c| c.name == name))
    }

    /// MKCALENDAR: a new collection taking `components` (all three when empty), with
    /// `properties` set.
    pub fn caldav_make_collection(
        &mut self,
        owner: &str,
        name: &str,
        components: &[String],
        properties: &[(String, String)],
    ) -> std::result::Result<(), CaldavError> {
        check_name(name)?;
        check_properties(properties.iter().map(|(k, v)| (k, Some(v))))?;
        let components: Vec<String> = if components.is_empty() {
            vec!["VEVENT".into(), "VTODO".into(), "VJOURNAL".into()]
        } else {
            components.to_vec()
        };
        if name == DEFAULT_COLLECTION {
            return Err(CaldavError::Exists);
        }
        let made = self.transaction(|s| {
            s.write(owner, |c, _| {
                let n = c.execute(
                    "INSERT INTO caldav_collections (store_user, name, components) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[
                        owner.into(),
                        name.into(),
                        components_text(&components).into(),
                    ],
                )?;
                if n == 0 {
                    return Ok(false);
                }
                for (k, v) in properties {
                    set_property(c, owner, name, k, Some(v))?;
                }
                Ok(true)
            })
        })?;
        if made {
            Ok(())
        } else {
            Err(CaldavError::Exists)
        }
    }

    /// PROPPATCH: sets (value `Some`) or removes (`None`) properties of a collection.
    pub fn caldav_set_properties(
        &mut self,
        owner: &str,
        name: &str,
        changes: &[(String, Option<String>)],
    ) -> std::result::Result<(), CaldavError> {
        check_properties(changes.iter().map(|(k, v)| (k, v.as_ref())))?;
        if self.caldav_collection(owner, name)?.is_none() {
            return Err(CaldavError::NotFound);
        }
        self.transaction(|s| {
            s.write(owner, |c, _| {
                if name == DEFAULT_COLLECTION {
                    c.execute(
                        "INSERT INTO caldav_collections (store_user, name, components) \
                         VALUES ($1, $2, 'VEVENT,VTODO,VJOURNAL') ON CONFLICT DO NOTHING",
                        &[owner.into(), name.into()],
                    )?;
                }
                for (k, v) in changes {
                    set_property(c, owner, name, k, v.as_ref())?;
                }
                let n: i64 = c
                    .query_opt(
                        "SELECT COUNT(*) FROM caldav_properties WHERE store_user = $1 \
                         AND collection = $2",
                        &[owner.into(), name.into()],
                    )?
                    .map(|r| r.get(0))
                    .transpose()?
                    .unwrap_or(0);
                if usize::try_from(n).unwrap_or(usize::MAX) > MAX_PROPERTIES {
                    return Err(StoreError::invalid("too many properties"));
                }
                Ok(())
            })
        })?;
        Ok(())
    }

    /// Deletes a collection with its resources (their objects and free/busy too). `default`
    /// cannot be deleted: it is emptied instead.
    pub fn caldav_delete_collection(
        &mut self,
        owner: &str,
        name: &str,
        opts: &RecordOptions,
    ) -> std::result::Result<(), CaldavError> {
        if self.caldav_collection(owner, name)?.is_none() {
            return Err(CaldavError::NotFound);
        }
        let names: Vec<String> = self
            .caldav_list(owner, name)?
            .into_iter()
            .map(|r| r.name)
            .collect();
        self.transaction(|s| {
            for n in &names {
                match s.caldav_delete(owner, name, n, &Preconditions::default(), opts) {
                    Ok(()) | Err(CaldavError::NotFound) => {}
                    Err(CaldavError::Store(e)) => return Err(e),
                    Err(e) => return Err(StoreError::invalid(e.to_string())),
                }
            }
            s.write(owner, |c, _| {
                c.execute(
                    "DELETE FROM caldav_properties WHERE store_user = $1 AND collection = $2",
                    &[owner.into(), name.into()],
                )?;
                c.execute(
                    "DELETE FROM caldav_collections WHERE store_user = $1 AND name = $2",
                    &[owner.into(), name.into()],
                )?;
                Ok(())
            })
        })?;
        Ok(())
    }

    // ---- resources ---------------------------------------------------------------------

    fn row_by_name(&mut self, owner: &str, collection: &str, name: &str) -> Result<Option<Row>> {
        let row = self.conn.query_opt(
            "SELECT collection, name, object_uid, kind, head, tail FROM caldav_resources \
             WHERE store_user = $1 AND collection = $2 AND name = $3 AND deleted = 0",
            &[owner.into(), collection.into(), name.into()],
        )?;
        row.map(|r| read_row(&r)).transpose()
    }

    fn row_by_uid(&mut self, owner: &str, uid: &str) -> Result<Option<Row>> {
        let row = self.conn.query_opt(
            "SELECT collection, name, object_uid, kind, head, tail FROM caldav_resources \
             WHERE store_user = $1 AND object_uid = $2 AND deleted = 0",
            &[owner.into(), uid.into()],
        )?;
        row.map(|r| read_row(&r)).transpose()
    }

    /// The live rows of `owner` holding one of `uids`.
    fn rows_by_uids(&mut self, owner: &str, uids: &[&str]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in uids.chunks(crate::bulk::rows_per_chunk(1, 1)) {
            let sql = crate::bulk::in_list_sql(
                "SELECT collection, name, object_uid, kind, head, tail FROM caldav_resources \
                 WHERE store_user = $1 AND deleted = 0 AND object_uid IN ",
                2,
                chunk.len(),
                "",
            );
            let mut params = vec![Value::from(owner)];
            params.extend(chunk.iter().map(|u| Value::from(*u)));
            for r in self.conn.query(&sql, &params)? {
                out.push(read_row(&r)?);
            }
        }
        Ok(out)
    }

    /// The live rows of `owner`'s `collection` named one of `names`.
    fn rows_by_names(&mut self, owner: &str, collection: &str, names: &[&str]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in names.chunks(crate::bulk::rows_per_chunk(1, 2)) {
            let sql = crate::bulk::in_list_sql(
                "SELECT collection, name, object_uid, kind, head, tail FROM caldav_resources \
                 WHERE store_user = $1 AND collection = $2 AND deleted = 0 AND name IN ",
                3,
                chunk.len(),
                "",
            );
            let mut params = vec![Value::from(owner), Value::from(collection)];
            params.extend(chunk.iter().map(|n| Value::from(*n)));
            for r in self.conn.query(&sql, &params)? {
                out.push(read_row(&r)?);
            }
        }
        Ok(out)
    }

    /// Several resources of one collection by name, each found as [`Store::caldav_get`]
    /// finds it, with a fixed number of queries rather than a few per name (a sync delta is
    /// otherwise one round trip after another on PostgreSQL). Names that hold nothing are
    /// left out.
    fn caldav_get_many(
        &mut self,
        owner: &str,
        collection: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, Resource>> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let by_name: BTreeMap<String, Row> = self
            .rows_by_names(owner, collection, &refs)?
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        // Names without a row are objects written by other means, if no row holds the UID.
        let mut orphans: Vec<(&str, &str)> = Vec::new();
        if collection == DEFAULT_COLLECTION {
            for n in names {
                if !by_name.contains_key(n)
                    && let Some(uid) = n.strip_suffix(".ics")
                {
                    orphans.push((n, uid));
                }
            }
        }
        let orphan_uids: Vec<&str> = orphans.iter().map(|(_, u)| *u).collect();
        let owned: BTreeSet<String> = self
            .rows_by_uids(owner, &orphan_uids)?
            .into_iter()
            .map(|r| r.uid)
            .collect();
        orphans.retain(|(_, u)| !owned.contains(*u));
        let mut uids: Vec<&str> = by_name.values().map(|r| r.uid.as_str()).collect();
        uids.extend(orphans.iter().map(|(_, u)| *u));
        let texts = self.object_texts(owner, &uids)?;
        let mut out = BTreeMap::new();
        for (name, row) in &by_name {
            if let Some(r) = Self::make_resource(row, texts.get(&row.uid)) {
                out.insert(name.clone(), r);
            }
        }
        for (name, uid) in &orphans {
            if let Some(r) = texts.get(*uid).and_then(|t| Self::orphan_resource(uid, t)) {
                out.insert((*name).to_owned(), r);
            }
        }
        Ok(out)
    }

    /// The texts of the objects of `uids` (any status): master first, then overrides by
    /// recurrence id.
    fn object_texts(
        &mut self,
        owner: &str,
        uids: &[&str],
    ) -> Result<BTreeMap<String, Vec<String>>> {
        let mut parents = Vec::new();
        let mut overrides = Vec::new();
        for chunk in uids.chunks(crate::bulk::rows_per_chunk(1, 1)) {
            let sql = crate::bulk::in_list_sql(
                "SELECT object_uid, object_text FROM objects WHERE store_user = $1 \
                 AND object_uid IN ",
                2,
                chunk.len(),
                "",
            );
            let mut params = vec![Value::from(owner)];
            params.extend(chunk.iter().map(|u| Value::from(*u)));
            for r in self.conn.query(&sql, &params)? {
                parents.push((r.get(0)?, r.get(1)?));
            }
            let sql = crate::bulk::in_list_sql(
                "SELECT object_uid, object_recurrenceid, object_text FROM recurrences \
                 WHERE store_user = $1 AND object_uid IN ",
                2,
                chunk.len(),
                "",
            );
            for r in self.conn.query(&sql, &params)? {
                overrides.push((r.get(0)?, r.get(1)?, r.get(2)?));
            }
        }
        Ok(grouped_texts(parents, overrides))
    }

    /// Every object text of the calendar, grouped by UID.
    fn all_object_texts(&mut self, owner: &str) -> Result<BTreeMap<String, Vec<String>>> {
        let mut parents = Vec::new();
        for r in self.conn.query(
            "SELECT object_uid, object_text FROM objects WHERE store_user = $1",
            &[owner.into()],
        )? {
            parents.push((r.get(0)?, r.get(1)?));
        }
        let mut overrides = Vec::new();
        for r in self.conn.query(
            "SELECT object_uid, object_recurrenceid, object_text FROM recurrences \
             WHERE store_user = $1",
            &[owner.into()],
        )? {
            overrides.push((r.get(0)?, r.get(1)?, r.get(2)?));
        }
        Ok(grouped_texts(parents, overrides))
    }

    fn make_resource(row: &Row, texts: Option<&Vec<String>>) -> Option<Resource> {
        let events: Vec<&str> = texts
            .map(|t| t.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if events.is_empty() && row.kind == "VEVENT" {
            // Its objects were removed by other means: the resource is gone.
            return None;
        }
        let text = assemble(Some(&row.head), Some(&row.tail), &events);
        Some(Resource {
            name: row.name.clone(),
            uid: row.uid.clone(),
            kind: row.kind.clone(),
            etag: etag(&text),
            text,
        })
    }

    fn orphan_resource(uid: &str, texts: &[String]) -> Option<Resource> {
        if texts.is_empty() {
            return None;
        }
        let events: Vec<&str> = texts.iter().map(String::as_str).collect();
        let text = assemble(None, None, &events);
        Some(Resource {
            name: orphan_name(uid),
            uid: uid.to_owned(),
            kind: "VEVENT".to_owned(),
            etag: etag(&text),
            text,
        })
    }

    /// One resource.
    pub fn caldav_get(
        &mut self,
        owner: &str,
        collection: &str,
        name: &str,
    ) -> Result<Option<Resource>> {
        if let Some(row) = self.row_by_name(owner, collection, name)? {
            let texts = self.object_texts(owner, &[row.uid.as_str()])?;
            return Ok(Self::make_resource(&row, texts.get(&row.uid)));
        }
        if collection != DEFAULT_COLLECTION {
            return Ok(None);
        }
        let Some(uid) = name.strip_suffix(".ics") else {
            return Ok(None);
        };
        if self.row_by_uid(owner, uid)?.is_some() {
            return Ok(None);
        }
        let texts = self.object_texts(owner, &[uid])?;
        Ok(texts.get(uid).and_then(|t| Self::orphan_resource(uid, t)))
    }

    /// Every resource of a collection, by name.
    pub fn caldav_list(&mut self, owner: &str, collection: &str) -> Result<Vec<Resource>> {
        let rows = self.conn.query(
            "SELECT collection, name, object_uid, kind, head, tail FROM caldav_resources \
             WHERE store_user = $1 AND deleted = 0",
            &[owner.into()],
        )?;
        let rows: Vec<Row> = rows.iter().map(read_row).collect::<Result<_>>()?;
        let mut texts = self.all_object_texts(owner)?;
        let mut out = Vec::new();
        let mut owned: BTreeSet<String> = BTreeSet::new();
        for row in &rows {
            owned.insert(row.uid.clone());
            if row.collection == collection
                && let Some(r) = Self::make_resource(row, texts.get(&row.uid))
            {
                out.push(r);
            }
        }
        if collection == DEFAULT_COLLECTION {
            texts.retain(|uid, _| !owned.contains(uid));
            for (uid, t) in &texts {
                if let Some(r) = Self::orphan_resource(uid, t) {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The resources of a collection with an instance overlapping `[from, to)` (RFC 4791
    /// §9.9): the span kept per resource narrows the candidates in SQL, recurring ones are
    /// then expanded.
    pub fn caldav_in_range(
        &mut self,
        owner: &str,
        collection: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
    ) -> Result<Vec<Resource>> {
        let (f, t) = (format_utc(from), format_utc(to));
        let rows = self.conn.query(
            "SELECT collection, name, object_uid, kind, head, tail, first_start, last_end, \
             recurring FROM caldav_resources WHERE store_user = $1 AND collection = $2 \
             AND deleted = 0 AND (first_start IS NULL OR (first_start < $4 \
             AND (last_end IS NULL OR last_end >= $3)))",
            &[owner.into(), collection.into(), f.into(), t.into()],
        )?;
        let mut candidates = Vec::new();
        for r in &rows {
            let row = read_row(r)?;
            let first: Option<String> = r.get(6)?;
            let last: Option<String> = r.get(7)?;
            let recurring: i64 = r.get(8)?;
            candidates.push((row, first, last, recurring != 0));
        }
        let uids: Vec<&str> = candidates.iter().map(|(r, ..)| r.uid.as_str()).collect();
        let texts = self.object_texts(owner, &uids)?;
        let mut out = Vec::new();
        for (row, first, last, recurring) in &candidates {
            let events = texts.get(&row.uid);
            let hit = match (first, last) {
                (None, _) => true,
                (Some(s), Some(e)) if !recurring => {
                    let (s, e) = (parse_utc(s), parse_utc(e));
                    match (s, e) {
                        (Ok(s), Ok(e)) if s == e => s >= from && s < to,
                        (Ok(s), Ok(e)) => s < to && e > from,
                        _ => true,
                    }
                }
                _ if row.kind != "VEVENT" => true,
                _ => match events {
                    Some(ev) => {
                        let (parent, rest) = split_master(ev);
                        overlaps(parent, &rest, from, to, tz)?
                    }
                    None => false,
                },
            };
            if hit && let Some(r) = Self::make_resource(row, events) {
                out.push(r);
            }
        }
        if collection == DEFAULT_COLLECTION {
            // Objects without a resource row have no span kept: expanded one by one.
            let orphans: Vec<String> = crate::store::strings(self.conn.query(
                "SELECT o.object_uid FROM objects o WHERE o.store_user = $1 AND NOT EXISTS \
                 (SELECT 1 FROM caldav_resources r WHERE r.store_user = $1 \
                 AND r.object_uid = o.object_uid AND r.deleted = 0)",
                &[owner.into()],
            )?)?;
            let refs: Vec<&str> = orphans.iter().map(String::as_str).collect();
            for (uid, ev) in self.object_texts(owner, &refs)? {
                let (parent, rest) = split_master(&ev);
                if overlaps(parent, &rest, from, to, tz)?
                    && let Some(r) = Self::orphan_resource(&uid, &ev)
                {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// PUT: stores `parsed` as resource `name` of `collection`, in one unit of work (its
    /// objects and their free/busy, the rest of the object, and implicit scheduling: the
    /// messages the change amounts to, delivered to local attendees or the organiser, or
    /// queued in the outbox). Returns the resource as stored (scheduling may have changed
    /// it, e.g. a resource's automatic reply) and whether it was created.
    pub fn caldav_put(
        &mut self,
        owner: &str,
        collection: &str,
        name: &str,
        parsed: &ParsedResource,
        pre: &Preconditions,
        opts: &RecordOptions,
    ) -> std::result::Result<(Resource, bool), CaldavError> {
        check_name(name)?;
        let Some(coll) = self.caldav_collection(owner, collection)? else {
            return Err(CaldavError::NotFound);
        };
        if !coll.components.contains(&parsed.kind) {
            return Err(CaldavError::UnsupportedComponent(parsed.kind.clone()));
        }
        self.transaction(|s| {
            s.lock_user(owner)?;
            let current = s.caldav_get(owner, collection, name)?;
            if !pre.hold(current.as_ref()) {
                return Ok(Err(CaldavError::PreconditionFailed));
            }
            if let Some(holder) = s.row_by_uid(owner, &parsed.uid)?
                && (holder.collection != collection || holder.name != name)
            {
                return Ok(Err(CaldavError::UidConflict {
                    collection: holder.collection,
                    name: holder.name,
                }));
            }
            // Implicit scheduling (RFC 6638): the copies before the write, for the messages
            // the change amounts to.
            let scheduling = parsed.events.iter().any(|e| e.organizer.is_some())
                || current
                    .as_ref()
                    .is_some_and(|c| c.text.contains("ORGANIZER"));
            let before = if scheduling {
                Some(s.copies(owner, &parsed.uid)?)
            } else {
                None
            };
            if let Some(cur) = &current {
                s.record_removal(owner, &cur.uid, None, opts)?;
            }
            if current.as_ref().is_none_or(|c| c.uid != parsed.uid)
                && !s.object_texts(owner, &[parsed.uid.as_str()])?.is_empty()
            {
                // Objects of the UID held without a resource (delivered by scheduling):
                // this resource takes their place.
                s.record_removal(owner, &parsed.uid, None, opts)?;
            }
            if !parsed.events.is_empty() {
                s.import_events(owner, &parsed.events, opts, &mut |_, _| {})?;
            }
            s.write(owner, |c, tx| {
                c.execute(
                    "INSERT INTO caldav_resources (store_user, collection, name, object_uid, \
                     kind, head, tail, first_start, last_end, recurring, revision, deleted) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0) \
                     ON CONFLICT (store_user, collection, name) DO UPDATE SET \
                     object_uid = excluded.object_uid, kind = excluded.kind, \
                     head = excluded.head, tail = excluded.tail, \
                     first_start = excluded.first_start, last_end = excluded.last_end, \
                     recurring = excluded.recurring, revision = excluded.revision, deleted = 0",
                    &[
                        owner.into(),
                        collection.into(),
                        name.into(),
                        parsed.uid.as_str().into(),
                        parsed.kind.as_str().into(),
                        parsed.head.as_str().into(),
                        parsed.tail.as_str().into(),
                        resource::opt_utc(parsed.first_start).into(),
                        resource::opt_utc(parsed.last_end).into(),
                        i64::from(parsed.recurring).into(),
                        tx.revision().into(),
                    ],
                )?;
                tx.keep_revision();
                Ok(())
            })?;
            if let Some(before) = &before {
                s.deliver_change(owner, &parsed.uid, before)?;
            }
            let stored = s
                .caldav_get(owner, collection, name)?
                .ok_or_else(|| StoreError::invalid("the resource was not stored"))?;
            Ok(Ok((stored, current.is_none())))
        })?
    }

    /// DELETE of one resource (its objects and free/busy go too; a tombstone stays for
    /// sync).
    pub fn caldav_delete(
        &mut self,
        owner: &str,
        collection: &str,
        name: &str,
        pre: &Preconditions,
        opts: &RecordOptions,
    ) -> std::result::Result<(), CaldavError> {
        self.transaction(|s| {
            s.lock_user(owner)?;
            let Some(current) = s.caldav_get(owner, collection, name)? else {
                return Ok(Err(CaldavError::NotFound));
            };
            if !pre.hold(Some(&current)) {
                return Ok(Err(CaldavError::PreconditionFailed));
            }
            let before = if current.text.contains("ORGANIZER") {
                Some(s.copies(owner, &current.uid)?)
            } else {
                None
            };
            s.record_removal(owner, &current.uid, None, opts)?;
            if let Some(before) = &before {
                s.deliver_change(owner, &current.uid, before)?;
            }
            s.write(owner, |c, tx| {
                c.execute(
                    "INSERT INTO caldav_resources (store_user, collection, name, object_uid, \
                     kind, head, tail, first_start, last_end, recurring, revision, deleted) \
                     VALUES ($1, $2, $3, $4, $5, '', '', NULL, NULL, 0, $6, 1) \
                     ON CONFLICT (store_user, collection, name) DO UPDATE SET \
                     revision = excluded.revision, deleted = 1, head = '', tail = ''",
                    &[
                        owner.into(),
                        collection.into(),
                        name.into(),
                        current.uid.as_str().into(),
                        current.kind.as_str().into(),
                        tx.revision().into(),
                    ],
                )?;
                tx.keep_revision();
                Ok(())
            })?;
            Ok(Ok(()))
        })?
    }

    /// The UIDs held by resources of the calendar's other collections than `collection`.
    pub fn caldav_uids_elsewhere(
        &mut self,
        owner: &str,
        collection: &str,
    ) -> Result<BTreeSet<String>> {
        Ok(crate::store::strings(self.conn.query(
            "SELECT object_uid FROM caldav_resources WHERE store_user = $1 \
             AND collection <> $2 AND deleted = 0",
            &[owner.into(), collection.into()],
        )?)?
        .into_iter()
        .collect())
    }

    /// The schedule inbox (RFC 6638 §2.2): the calendar's request queue, one resource per
    /// queued (uid, rid), named `<UID>.ics` (`<UID>@<RID>.ics` for an occurrence), holding
    /// the held copy as an iTIP message of the queued method.
    pub fn caldav_inbox(&mut self, owner: &str) -> Result<Vec<Resource>> {
        let requests = self.get_requests(owner)?;
        let uids: Vec<&str> = requests.iter().map(|r| r.uid.as_str()).collect();
        let texts = self.object_texts(owner, &uids)?;
        let mut out = Vec::new();
        for r in &requests {
            let Some(events) = texts.get(&r.uid) else {
                continue;
            };
            let events: Vec<&str> = match &r.rid {
                None => events.iter().map(String::as_str).collect(),
                Some(rid) => events
                    .iter()
                    .map(String::as_str)
                    .filter(|t| t.contains(&format!("{rid}\r\n")) || !t.contains("RECURRENCE-ID"))
                    .collect(),
            };
            let method = r.kind.as_deref().unwrap_or("REQUEST").to_ascii_uppercase();
            let head = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//calstore//EN\r\n\
                 METHOD:{method}\r\n"
            );
            let text = assemble(Some(&head), None, &events);
            out.push(Resource {
                name: inbox_name(&r.uid, r.rid.as_deref()),
                uid: r.uid.clone(),
                kind: "VEVENT".to_owned(),
                etag: etag(&text),
                text,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes an item of the schedule inbox (dequeues the request).
    pub fn caldav_inbox_delete(&mut self, owner: &str, name: &str) -> Result<bool> {
        for r in self.get_requests(owner)? {
            if inbox_name(&r.uid, r.rid.as_deref()) == name {
                return self.dequeue_request(owner, &r.uid, r.rid.as_deref());
            }
        }
        Ok(false)
    }

    /// A free/busy request POSTed to the schedule outbox (RFC 6638 §5): the VFREEBUSY
    /// REQUEST's range and attendees; each local attendee answers with a VFREEBUSY REPLY
    /// of its busy periods (providers extended first when the range goes past them), anyone
    /// else with `3.7` (no such calendar user here).
    pub fn caldav_freebusy_request(
        &mut self,
        organiser: &str,
        body: &[u8],
    ) -> std::result::Result<Vec<FreeBusyAnswer>, CaldavError> {
        let organiser = &*address::normalise(organiser);
        use crate::scheduling::text::{Line, unfold};
        if body.len() > MAX_RESOURCE_SIZE {
            return Err(CaldavError::Invalid("the request is too large".into()));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| CaldavError::Invalid("the request is not UTF-8".into()))?;
        let (mut method, mut inside) = (None, false);
        let (mut start, mut end, mut uid) = (None, None, None);
        let mut attendees: Vec<String> = Vec::new();
        for l in unfold(text) {
            let Some(line) = Line::parse(&l) else {
                continue;
            };
            match line.name.as_str() {
                "BEGIN" if line.value.trim().eq_ignore_ascii_case("VFREEBUSY") => inside = true,
                "END" if line.value.trim().eq_ignore_ascii_case("VFREEBUSY") => inside = false,
                "METHOD" => method = Some(line.value.trim().to_ascii_uppercase()),
                "DTSTART" if inside => start = resource::line_instant(&line, Tz::UTC),
                "DTEND" if inside => end = resource::line_instant(&line, Tz::UTC),
                "UID" if inside => uid = Some(line.value.trim().to_owned()),
                "ATTENDEE" if inside && attendees.len() < 100 => {
                    attendees.push(line.value.trim().to_owned());
                }
                _ => {}
            }
        }
        let (Some(from), Some(to)) = (start, end) else {
            return Err(CaldavError::Invalid(
                "a VFREEBUSY request needs DTSTART and DTEND".into(),
            ));
        };
        if method.as_deref() != Some("REQUEST") || to <= from || attendees.is_empty() {
            return Err(CaldavError::Invalid("not a VFREEBUSY REQUEST".into()));
        }
        let now = self.now();
        let mut out = Vec::new();
        for a in attendees {
            if !self.is_local_user(&a)? {
                out.push(FreeBusyAnswer {
                    recipient: a,
                    status: "3.7;Invalid calendar user".into(),
                    data: None,
                });
                continue;
            }
            if let Some(p) = self.get_freebusy_providers(&a)?
                && p.datetime
                    .as_deref()
                    .and_then(|d| parse_utc(d).ok())
                    .is_some_and(|until| until < to)
            {
                self.extend_freebusy(&a, to, Tz::UTC)?;
            }
            let periods = self.get_freebusy_in(&a, from, to)?;
            let data = freebusy_reply(organiser, &a, uid.as_deref(), from, to, &periods, now);
            out.push(FreeBusyAnswer {
                recipient: a,
                status: "2.0;Success".into(),
                data: Some(data),
            });
        }
        Ok(out)
    }

    /// The calendar's current sync token (its revision).
    pub fn caldav_token(&mut self, owner: &str) -> Result<i64> {
        self.revision(owner)
    }

    /// What changed in a collection after token `since` (RFC 6578). `None` when the token
    /// is not valid any more (or never was): the client must sync afresh.
    pub fn caldav_changes(
        &mut self,
        owner: &str,
        collection: &str,
        since: i64,
    ) -> Result<Option<SyncDelta>> {
        let current = self.revision(owner)?;
        let min_valid: i64 = self
            .conn
            .query_opt(
                "SELECT min_valid_revision FROM calstore_revisions WHERE scope = 'store' \
                 AND owner = $1",
                &[owner.into()],
            )?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or(0);
        if since < 0 || since > current || (since > 0 && since < min_valid) {
            return Ok(None);
        }
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut removed: BTreeSet<String> = BTreeSet::new();
        for r in self.conn.query(
            "SELECT name, deleted FROM caldav_resources WHERE store_user = $1 \
             AND collection = $2 AND revision > $3",
            &[owner.into(), collection.into(), since.into()],
        )? {
            let name: String = r.get(0)?;
            let deleted: i64 = r.get(1)?;
            if deleted == 0 {
                changed.insert(name);
            } else {
                removed.insert(name);
            }
        }
        // Objects changed by other means (scheduling, sync, the command line).
        let mut uids: BTreeSet<String> = BTreeSet::new();
        for ch in changes::changes_since(&mut self.conn, changes::Scope::Store, owner, since)? {
            if (ch.table == "objects" || ch.table == "recurrences")
                && let Ok(parts) = serde_json::from_str::<Vec<Option<String>>>(&ch.key)
                && let Some(Some(uid)) = parts.into_iter().next()
            {
                uids.insert(uid);
            }
        }
        let uid_refs: Vec<&str> = uids.iter().map(String::as_str).collect();
        let rows = self.rows_by_uids(owner, &uid_refs)?;
        let with_row: BTreeSet<&str> = rows.iter().map(|r| r.uid.as_str()).collect();
        for row in &rows {
            if row.collection == collection {
                changed.insert(row.name.clone());
            }
        }
        if collection == DEFAULT_COLLECTION {
            for uid in &uids {
                let name = orphan_name(uid);
                if !with_row.contains(uid.as_str()) && !removed.contains(&name) {
                    changed.insert(name);
                }
            }
        }
        let mut delta = SyncDelta {
            token: current,
            ..SyncDelta::default()
        };
        let names: Vec<String> = changed.into_iter().collect();
        let mut found = self.caldav_get_many(owner, collection, &names)?;
        for name in names {
            match found.remove(&name) {
                Some(r) => delta.changed.push(r),
                None => {
                    removed.insert(name);
                }
            }
        }
        delta.removed = removed.into_iter().collect();
        Ok(Some(delta))
    }
}

fn split_master(events: &[String]) -> (Option<&str>, Vec<&str>) {
    let mut parent = None;
    let mut rest = Vec::new();
    for e in events {
        if parent.is_none() && !e.contains("\r\nRECURRENCE-ID") {
            parent = Some(e.as_str());
        } else {
            rest.push(e.as_str());
        }
    }
    (parent, rest)
}

fn read_row(r: &crate::sql::Row) -> Result<Row> {
    Ok(Row {
        collection: r.get(0)?,
        name: r.get(1)?,
        uid: r.get(2)?,
        kind: r.get(3)?,
        head: r.get(4)?,
        tail: r.get(5)?,
    })
}

fn check_properties<'a>(
    props: impl Iterator<Item = (&'a String, Option<&'a String>)>,
) -> std::result::Result<(), CaldavError> {
    let mut n = 0;
    for (k, v) in props {
        n += 1;
        if n > MAX_PROPERTIES || k.len() > 512 || v.is_some_and(|v| v.len() > MAX_PROPERTY_LEN) {
            return Err(CaldavError::Invalid(
                "too many or too large properties".into(),
            ));
        }
    }
    Ok(())
}

fn set_property<C: SqlConnection + ?Sized>(
    c: &mut C,
    owner: &str,
    collection: &str,
    property: &str,
    value: Option<&String>,
) -> Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO caldav_properties (store_user, collection, property, value) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (store_user, collection, property) \
             DO UPDATE SET value = excluded.value",
            &[
                owner.into(),
                collection.into(),
                property.into(),
                v.as_str().into(),
            ],
        )?,
        None => c.execute(
            "DELETE FROM caldav_properties WHERE store_user = $1 AND collection = $2 \
             AND property = $3",
            &[owner.into(), collection.into(), property.into()],
        )?,
    };
    Ok(())
}
