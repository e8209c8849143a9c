//! Recording events as imip-agent does when it stores a booking: the object goes into the
//! store and the user's free/busy is **recomputed from the stored objects** in the same
//! transaction (parent occurrences, minus those replaced or cancelled by stored recurrences,
//! plus the recurrences' own periods). Because free/busy is derived from what is stored after
//! the write, a re-sent parent that drops its overrides gets exactly its own occurrences back
//! (imip-agent computed free/busy before removing the overrides, leaving stale periods).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::bulk;
use crate::changes::{self, Operation, WriteTx};
use crate::conn::SqlConnection;
use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::ical::{self, EventComponent, ExpandContext, IcalError};
use crate::period::{FREEBUSY, FREEBUSY_OFFERS, Period};
use crate::store::{self, Status, Store};
use crate::validate;
use crate::value::Value;

/// UIDs recorded per slice of an import (progress is reported after each).
const IMPORT_SLICE: usize = 500;

/// Default free/busy window in days (imip-agent's `window_size`).
pub const DEFAULT_WINDOW_DAYS: i64 = 100;

/// How events are turned into free/busy.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The user's zone: floating times and dates are resolved in it.
    pub tz: Tz,
    /// Occurrences starting at or after this instant are not materialised; events with
    /// more occurrences are listed as free/busy providers to be extended later.
    pub window_end: DateTime<Utc>,
    /// Refuse an object that would produce more instances than this inside the window.
    pub max_instances: usize,
    /// When recording a parent: delete the stored recurrences (active and cancelled) first,
    /// as imip-agent does when an organiser re-sends the whole event.
    pub replace_recurrences: bool,
}

impl RecordOptions {
    /// UTC, a window of [`DEFAULT_WINDOW_DAYS`] from `now`, the default instance cap.
    pub fn new(now: DateTime<Utc>) -> Self {
        RecordOptions {
            tz: Tz::UTC,
            window_end: now + TimeDelta::days(DEFAULT_WINDOW_DAYS),
            max_instances: ical::DEFAULT_MAX_INSTANCES,
            replace_recurrences: false,
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Parent objects stored.
    pub parents: usize,
    /// Recurrence objects stored.
    pub recurrences: usize,
    /// Distinct UIDs touched.
    pub uids: usize,
    /// Free/busy periods now held for those UIDs.
    pub periods: usize,
    /// UIDs listed as providers (periods continue past the window).
    pub providers: usize,
}

fn ical_err(e: IcalError) -> StoreError {
    StoreError::InvalidData(e.0)
}

fn same_uri(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether `user` takes part in `event` (imip-agent: not when an attendee whose PARTSTAT is
/// DECLINED, DELEGATED or NEEDS-ACTION, the RFC 5545 default; an organiser always does; a
/// user not named in the event at all is recording their own calendar).
pub fn participates(event: &EventComponent, user: &str) -> bool {
    if event
        .organizer
        .as_deref()
        .is_some_and(|o| same_uri(o, user))
    {
        return true;
    }
    match event.attendees.iter().find(|a| same_uri(&a.uri, user)) {
        Some(a) => !matches!(
            a.partstat.as_deref().unwrap_or("NEEDS-ACTION"),
            "DECLINED" | "DELEGATED" | "NEEDS-ACTION"
        ),
        None => true,
    }
}

/// The transparency recorded for `user`: `ORG` for an organiser of a meeting who is not
/// among its attendees, else the event's TRANSP, else `OPAQUE`.
pub fn transp_for(event: &EventComponent, user: &str) -> String {
    let organiser = event
        .organizer
        .as_deref()
        .is_some_and(|o| same_uri(o, user));
    if organiser
        && !event.attendees.is_empty()
        && !event.attendees.iter().any(|a| same_uri(&a.uri, user))
    {
        return "ORG".to_owned();
    }
    event.transp.clone().unwrap_or_else(|| "OPAQUE".to_owned())
}

fn is_cancelled(event: &EventComponent) -> bool {
    event.status.as_deref() == Some("CANCELLED")
}

/// The free/busy of one UID computed from its stored objects.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub periods: Vec<Period>,
    /// The parent has occurrences past the window (open-ended or cut by it).
    pub provider: bool,
}

fn period_for(
    event: &EventComponent,
    user: &str,
    inst: &ical::Instance,
    rid: Option<&str>,
) -> Period {
    Period {
        start: inst.start,
        end: inst.end,
        uid: Some(event.uid.clone()),
        transp: Some(transp_for(event, user)),
        recurrenceid: rid.map(str::to_owned),
        summary: event.summary.clone(),
        organiser: event.organizer.clone(),
    }
}

fn parse_stored(text: &str) -> Result<EventComponent> {
    ical::parse_events(text.as_bytes())
        .map_err(|e| StoreError::invalid(format!("stored object: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::invalid("stored object holds no VEVENT"))
}

/// A recurrence of one UID as stored: its rid, whether it is active, and its text.
type StoredRecurrence = (String, bool, String);

fn user_has_any<C: SqlConnection + ?Sized>(c: &mut C, probe: &str, user: &str) -> Result<bool> {
    Ok(!c.query(probe, &[user.into()])?.is_empty())
}

/// Loads the stored recurrences of `uids` (all statuses), grouped by uid.
fn load_recurrences<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<BTreeMap<String, Vec<StoredRecurrence>>> {
    let mut out: BTreeMap<String, Vec<StoredRecurrence>> = BTreeMap::new();
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 1)) {
        let sql = bulk::in_list_sql(
            "SELECT object_uid, object_recurrenceid, status, object_text FROM recurrences \
             WHERE store_user = $1 AND object_uid IN ",
            2,
            chunk.len(),
            "",
        );
        let mut params = vec![Value::from(user)];
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        for r in c.query(&sql, &params)? {
            let status: String = r.get(2)?;
            out.entry(r.get(0)?).or_default().push((
                r.get(1)?,
                status == Status::Active.as_str(),
                r.get(3)?,
            ));
        }
    }
    Ok(out)
}

/// Loads the texts of the active parents of `uids`.
fn load_parents<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 1)) {
        let sql = bulk::in_list_sql(
            "SELECT object_uid, object_text FROM objects WHERE store_user = $1 \
             AND status = 'active' AND object_uid IN ",
            2,
            chunk.len(),
            "",
        );
        let mut params = vec![Value::from(user)];
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        for r in c.query(&sql, &params)? {
            out.insert(r.get(0)?, r.get(1)?);
        }
    }
    Ok(out)
}

/// Which of `uids` are listed as (whole-event) providers.
fn load_providers<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 1)) {
        let sql = bulk::in_list_sql(
            "SELECT object_uid FROM freebusy_providers WHERE store_user = $1 \
             AND object_recurrenceid IS NULL AND object_uid IN ",
            2,
            chunk.len(),
            "",
        );
        let mut params = vec![Value::from(user)];
        params.extend(chunk.iter().map(|u| Value::from(*u)));
        for r in c.query(&sql, &params)? {
            out.insert(r.get(0)?);
        }
    }
    Ok(out)
}

/// Computes the free/busy of one UID from its active parent (if any) and its recurrences:
/// parent occurrences, minus those a recurrence (active or cancelled) replaces, plus the
/// active recurrences' own periods.
///
/// A recurrence with `RANGE=THISANDFUTURE` also governs every later parent occurrence (RFC 5545
/// §3.8.4.4): those are rescheduled by its time difference and take its length, TRANSP, STATUS,
/// SUMMARY and participation ([`EventComponent::shift_instance`]); the latest such recurrence
/// before an occurrence wins, and a later plain recurrence still replaces its own occurrence.
/// A cancelled one (or one with `STATUS:CANCELLED`) cancels the rest of the series. Since the
/// rescheduled occurrences may move into the window from past it, the parent is expanded
/// correspondingly further and the result cut at the window again.
fn derive(
    user: &str,
    parent: Option<&EventComponent>,
    recurrences: &[(&str, bool, Option<&EventComponent>)],
    opts: &RecordOptions,
) -> Result<Derived> {
    let mut ctx = ExpandContext {
        tz: opts.tz,
        window_end: opts.window_end,
        max_instances: opts.max_instances,
    };
    let mut derived = Derived::default();
    let mut replaced: HashSet<DateTime<Utc>> = HashSet::new();
    // RANGE=THISANDFUTURE recurrences by the instant they take effect at: the component that
    // governs later occurrences, or None where the rest of the series is cancelled.
    let mut ranges: Vec<(DateTime<Utc>, Option<&EventComponent>)> = Vec::new();
    let counts = |e: &EventComponent| !is_cancelled(e) && participates(e, user);
    for (rid, active, event) in recurrences {
        let point = ical::recurrence_id_point(rid, opts.tz).map_err(ical_err)?;
        replaced.insert(point);
        if let Some(e) = event.filter(|e| e.this_and_future) {
            ranges.push((point, Some(e).filter(|e| *active && counts(e))));
        }
        let Some(event) = event.filter(|_| *active) else {
            continue;
        };
        if !counts(event) {
            continue;
        }
        for inst in &event.instances(&ctx).map_err(ical_err)?.instances {
            derived
                .periods
                .push(period_for(event, user, inst, Some(rid)));
        }
    }
    ranges.sort_by_key(|(point, _)| *point);
    let governs_later = ranges.iter().any(|(_, e)| e.is_some());
    if let Some(event) = parent
        && (counts(event) || governs_later)
    {
        let advance = recurrences
            .iter()
            .filter_map(|(_, active, e)| e.filter(|_| *active))
            .map(|e| e.this_and_future_advance(opts.tz))
            .max()
            .unwrap_or_default();
        ctx.window_end = opts
            .window_end
            .checked_add_signed(advance)
            .unwrap_or(opts.window_end);
        let exp = event.instances(&ctx).map_err(ical_err)?;
        let mut cut = false;
        for inst in exp
            .instances
            .iter()
            .filter(|i| !replaced.contains(&i.recurrence_point))
        {
            let governing = ranges
                .iter()
                .rev()
                .find(|(point, _)| *point < inst.recurrence_point);
            let (component, inst) = match governing {
                None if counts(event) => (event, *inst),
                None | Some((_, None)) => continue,
                Some((_, Some(by))) => (
                    *by,
                    by.shift_instance(event, inst, opts.tz).map_err(ical_err)?,
                ),
            };
            if inst.start >= opts.window_end {
                cut = true;
                continue;
            }
            derived
                .periods
                .push(period_for(component, user, &inst, None));
        }
        derived.provider = exp.truncated || cut || event.is_open_ended();
    }
    derived
        .periods
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    derived
        .periods
        .dedup_by(|a, b| a.sort_key() == b.sort_key());
    Ok(derived)
}

/// Replaces the stored free/busy of every UID in `uids` with what its stored objects give
/// (`known` holds components already parsed, keyed by uid and rid, which are not parsed
/// again), and keeps the providers list in step. Works in multi-row statements, so the
/// number of statements grows with the number of UIDs divided by the chunk size.
///
/// With `journal_periods` false the caller has journalled a change of each UID's objects in
/// the same transaction, which already tells a syncing client to re-read that UID's periods
/// (see [`crate::changes`]); only free/busy changes without an object change need their own
/// `freebusy` entry.
///
/// With `delete_old` false the caller has already deleted the UIDs' periods in this
/// transaction (see [`Store::import_events`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn refresh_uids<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uids: &[&str],
    journal_periods: bool,
    delete_old: bool,
    opts: &RecordOptions,
    known: &ByUid<'_>,
) -> Result<Vec<Derived>> {
    // Most users have no recurrence overrides and few providers: one probe each spares
    // the per-UID look-ups.
    let mut stored_recs = if user_has_any(
        c,
        "SELECT 1 FROM recurrences WHERE store_user = $1 LIMIT 1",
        user,
    )? {
        load_recurrences(c, user, uids)?
    } else {
        BTreeMap::new()
    };
    let missing_parents: Vec<&str> = uids
        .iter()
        .copied()
        .filter(|u| !known.get(u).is_some_and(|objs| objs.contains_key(&None)))
        .collect();
    let stored_parents = load_parents(c, user, &missing_parents)?;
    let mut all = Vec::with_capacity(uids.len());
    for uid in uids {
        let objs = known.get(uid);
        let parsed_parent;
        let parent = match objs.and_then(|o| o.get(&None)) {
            Some(e) => Some(*e),
            None => match stored_parents.get(*uid) {
                Some(text) => {
                    parsed_parent = parse_stored(text)?;
                    Some(&parsed_parent)
                }
                None => None,
            },
        };
        let recs = stored_recs.remove(*uid).unwrap_or_default();
        let mut parsed = Vec::new();
        // Cancelled recurrences are parsed too: one with RANGE=THISANDFUTURE cancels the rest
        // of the series (one that no longer parses cancels just its own occurrence).
        for (rid, active, text) in &recs {
            let is_known = objs.is_some_and(|o| o.contains_key(&Some(rid.clone())));
            if is_known {
                continue;
            }
            if *active {
                parsed.push((rid.as_str(), parse_stored(text)?));
            } else if let Ok(e) = parse_stored(text) {
                parsed.push((rid.as_str(), e));
            }
        }
        let rec_refs: Vec<(&str, bool, Option<&EventComponent>)> = recs
            .iter()
            .map(|(rid, active, _)| {
                let event = objs
                    .and_then(|o| o.get(&Some(rid.clone())).copied())
                    .or_else(|| parsed.iter().find(|(r, _)| r == rid).map(|(_, e)| e));
                (rid.as_str(), *active, event)
            })
            .collect();
        all.push(derive(user, parent, &rec_refs, opts)?);
    }
    if delete_old {
        FREEBUSY.delete_uids(c, &[user], uids)?;
    }
    let rows: Vec<(&Period, Option<&str>)> = all
        .iter()
        .flat_map(|d| d.periods.iter().map(|p| (p, None)))
        .collect();
    FREEBUSY.insert_many(c, &[user], &rows)?;
    if journal_periods {
        for uid in uids {
            tx.changed(c, "freebusy", changes::key(&[Some(uid)]), Operation::Upsert)?;
        }
    }
    let listed = if user_has_any(
        c,
        "SELECT 1 FROM freebusy_providers WHERE store_user = $1 LIMIT 1",
        user,
    )? {
        load_providers(c, user, uids)?
    } else {
        HashSet::new()
    };
    let mut providers_changed = false;
    let mut any_provider = false;
    for (uid, d) in uids.iter().zip(&all) {
        if d.provider {
            any_provider = true;
            if !listed.contains(*uid) {
                providers_changed |= store::add_provider(c, user, uid, None)?;
            }
        } else if listed.contains(*uid) {
            providers_changed |= store::remove_provider(c, user, uid, None)?;
        }
    }
    if any_provider {
        let current = store::get_provider_datetime(c, user)?;
        let window = format_utc(opts.window_end);
        // The record's instant is how far every provider has been generated: keep the
        // earlier one so that an extension from it never skips these events' periods.
        let keep = match current {
            Some(cur) if cur <= window => cur,
            _ => window,
        };
        store::set_provider_datetime(c, user, Some(&keep))?;
        providers_changed = true;
    }
    if providers_changed {
        tx.changed(
            c,
            "freebusy_providers",
            changes::key(&[]),
            Operation::Upsert,
        )?;
    }
    Ok(all)
}

/// Stores the objects of `by_uid` with multi-row upserts and recomputes their free/busy.
fn record_objects<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    by_uid: &ByUid<'_>,
    delete_old: bool,
    opts: &RecordOptions,
) -> Result<Vec<Derived>> {
    if opts.replace_recurrences {
        for (uid, objs) in by_uid {
            if objs.contains_key(&None) {
                store::delete_recurrences(c, tx, user, uid)?;
            }
        }
    }
    let mut parents = Vec::new();
    let mut recurrences = Vec::new();
    for (uid, objs) in by_uid {
        for (rid, e) in objs {
            match rid {
                None => parents.push((*uid, e.text.as_str())),
                Some(rid) => recurrences.push((*uid, rid.as_str(), e.text.as_str())),
            }
        }
    }
    store::put_objects(c, tx, user, &parents)?;
    store::put_recurrences(c, tx, user, &recurrences)?;
    let uids: Vec<&str> = by_uid.keys().copied().collect();
    refresh_uids(c, tx, user, &uids, false, delete_old, opts, by_uid)
}

/// Groups components by UID; when the same (uid, rid) appears twice, the copy with the
/// higher SEQUENCE wins (the later one on a tie).
type ByUid<'a> = BTreeMap<&'a str, BTreeMap<Option<String>, &'a EventComponent>>;

fn group_by_uid(events: &[EventComponent]) -> Result<ByUid<'_>> {
    let mut by_uid: ByUid<'_> = BTreeMap::new();
    for e in events {
        validate::uid(&e.uid)?;
        let slot = by_uid.entry(e.uid.as_str()).or_default();
        match slot.entry(e.recurrence_id()) {
            Entry::Occupied(mut o) => {
                if e.sequence >= o.get().sequence {
                    o.insert(e);
                }
            }
            Entry::Vacant(v) => {
                v.insert(e);
            }
        }
    }
    Ok(by_uid)
}

/// A user named in no event: every instance counts and each keeps the event's own TRANSP.
const NOBODY: &str = "";

/// Reads a booking from the components of **one** event (a parent and/or its overrides): its
/// periods inside `window_end` computed exactly as recorded free/busy is (overrides replace
/// occurrences, THISANDFUTURE shifts later ones, cancelled ones give nothing, the copy with
/// the highest SEQUENCE wins), whether it recurs without end, and the organiser (`organiser`
/// if given, else the event's ORGANIZER).
pub fn booking_from_events(
    events: &[EventComponent],
    organiser: Option<&str>,
    tz: Tz,
    window_end: DateTime<Utc>,
) -> Result<crate::journal::BookingRequest> {
    let Some(first) = events.first() else {
        return Err(StoreError::invalid("the booking holds no VEVENT"));
    };
    if let Some(other) = events.iter().find(|e| e.uid != first.uid) {
        return Err(StoreError::invalid(format!(
            "the booking holds several events ({}, {}); a booking is one event",
            first.uid, other.uid
        )));
    }
    let by_uid = group_by_uid(events)?;
    let Some(objs) = by_uid.get(first.uid.as_str()) else {
        return Err(StoreError::invalid("the booking holds no VEVENT"));
    };
    let parent = objs.get(&None).copied();
    let recurrences: Vec<(&str, bool, Option<&EventComponent>)> = objs
        .iter()
        .filter_map(|(rid, e)| rid.as_deref().map(|r| (r, true, Some(*e))))
        .collect();
    let opts = RecordOptions {
        tz,
        window_end,
        ..RecordOptions::new(window_end)
    };
    let derived = derive(NOBODY, parent, &recurrences, &opts)?;
    let rid = match (parent, recurrences.as_slice()) {
        (None, [(rid, _, _)]) => Some((*rid).to_owned()),
        _ => None,
    };
    let organiser = match organiser {
        Some(o) => o.to_owned(),
        None => objs
            .values()
            .find_map(|e| e.organizer.clone())
            .ok_or_else(|| {
                StoreError::invalid("the booking has no ORGANIZER: give the organiser")
            })?,
    };
    Ok(crate::journal::BookingRequest {
        organiser,
        uid: first.uid.clone(),
        rid,
        periods: derived.periods,
        open_ended: parent.is_some_and(|p| !is_cancelled(p) && p.is_open_ended()),
    })
}

impl<C: SqlConnection> Store<C> {
    /// Stores one event (parent or recurrence) and recomputes the UID's free/busy, in one
    /// transaction. Returns the periods now held for the UID.
    pub fn record_event(
        &mut self,
        user: &str,
        event: &EventComponent,
        opts: &RecordOptions,
    ) -> Result<Vec<Period>> {
        validate::uid(&event.uid)?;
        validate::object_text(&event.text)?;
        let by_uid = group_by_uid(std::slice::from_ref(event))?;
        self.write(user, |c, tx| {
            let derived = record_objects(c, tx, user, &by_uid, true, opts)?;
            Ok(derived.into_iter().flat_map(|d| d.periods).collect())
        })
    }

    /// Parses iCalendar `input` and records every VEVENT in it, all in **one** transaction:
    /// any error (bad input, an instance cap reached, a database failure) leaves the store as
    /// it was. `progress(done, total)` is called after each slice of UIDs (500 at most),
    /// the last time with `done == total`.
    pub fn import_ics(
        &mut self,
        user: &str,
        input: &[u8],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let events = ical::parse_events(input).map_err(ical_err)?;
        if events.is_empty() {
            return Err(StoreError::invalid("the input holds no VEVENT"));
        }
        self.import_events(user, &events, opts, progress)
    }

    /// Records already-parsed events in one transaction (see [`Store::import_ics`]).
    pub fn import_events(
        &mut self,
        user: &str,
        events: &[EventComponent],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        for e in events {
            validate::object_text(&e.text)?;
        }
        let by_uid = group_by_uid(events)?;
        let total = by_uid.len();
        // Work in slices of UIDs so that progress can be shown and memory stays bounded;
        // every slice is part of the one transaction.
        let slices: Vec<ByUid<'_>> = {
            let mut slices = Vec::new();
            let mut current = ByUid::new();
            for (uid, objs) in by_uid {
                current.insert(uid, objs);
                if current.len() == IMPORT_SLICE {
                    slices.push(std::mem::take(&mut current));
                }
            }
            if !current.is_empty() {
                slices.push(current);
            }
            slices
        };
        self.write(user, |c, tx| {
            let mut report = ImportReport {
                uids: total,
                ..ImportReport::default()
            };
            // Every UID's periods are replaced: delete the old ones of all UIDs before any
            // slice inserts, so that the deletes see only what was there before the import.
            // (Deleting per slice made a large import into a PostgreSQL table that has not
            // been analysed yet, as in a new database, quadratic: such a delete is planned as
            // a scan of all the user's rows, those inserted by the earlier slices included.)
            let all_uids: Vec<&str> = slices.iter().flat_map(|s| s.keys().copied()).collect();
            FREEBUSY.delete_uids(c, &[user], &all_uids)?;
            let mut done = 0;
            for slice in &slices {
                for objs in slice.values() {
                    let parents = usize::from(objs.contains_key(&None));
                    report.parents += parents;
                    report.recurrences += objs.len() - parents;
                }
                for d in record_objects(c, tx, user, slice, false, opts)? {
                    report.periods += d.periods.len();
                    report.providers += usize::from(d.provider);
                }
                done += slice.len();
                progress(done, total);
            }
            Ok(report)
        })
    }

    /// Recomputes the free/busy of one UID from the stored objects.
    pub fn refresh_freebusy(
        &mut self,
        user: &str,
        uid: &str,
        opts: &RecordOptions,
    ) -> Result<Vec<Period>> {
        self.write(user, |c, tx| {
            let derived = refresh_uids(c, tx, user, &[uid], true, true, opts, &ByUid::new())?;
            Ok(derived.into_iter().flat_map(|d| d.periods).collect())
        })
    }

    /// Cancels an object and removes its periods from free/busy, in one transaction (a
    /// cancelled recurrence removes the parent occurrence it replaced). Returns whether the
    /// object was active.
    pub fn record_cancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        self.write(user, |c, tx| {
            let changed =
                store::set_status(c, tx, user, uid, rid, Status::Active, Status::Cancelled)?;
            refresh_uids(c, tx, user, &[uid], false, true, opts, &ByUid::new())?;
            Ok(changed)
        })
    }

    /// Re-activates a cancelled object and restores its periods.
    pub fn record_uncancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        self.write(user, |c, tx| {
            let changed =
                store::set_status(c, tx, user, uid, rid, Status::Cancelled, Status::Active)?;
            refresh_uids(c, tx, user, &[uid], false, true, opts, &ByUid::new())?;
            Ok(changed)
        })
    }

    /// Removes an object (or, without rid, the event with all its recurrences and
    /// cancellations) together with its free/busy and provider entry.
    pub fn record_removal(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        self.write(user, |c, tx| {
            let removed = store::delete_objects(c, tx, user, uid, rid)?;
            refresh_uids(c, tx, user, &[uid], false, true, opts, &ByUid::new())?;
            Ok(removed)
        })
    }

    /// True if `periods` can be booked for (uid, rid): no *busy* period of the user's own
    /// free/busy or live offers overlaps them, other than those of the same (uid, rid).
    /// TRANSPARENT and ORG periods never block (imip-agent ignored TRANSP here).
    pub fn can_schedule(
        &mut self,
        user: &str,
        periods: &[Period],
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        let now = self.now();
        let mut conflicts = Vec::new();
        for p in periods {
            conflicts.extend(store::periods(FREEBUSY.select_overlap(
                &mut self.conn,
                &[user],
                p.start,
                p.end,
            )?));
            for row in FREEBUSY_OFFERS.select_overlap(&mut self.conn, &[user], p.start, p.end)? {
                let live = row
                    .extra
                    .as_deref()
                    .and_then(|e| parse_utc(e).ok())
                    .is_none_or(|exp| exp > now);
                if live {
                    conflicts.push(row.period);
                }
            }
        }
        Ok(!conflicts.iter().any(|c| {
            c.is_busy() && !(c.uid.as_deref() == Some(uid) && c.recurrenceid.as_deref() == rid)
        }))
    }

    /// Extends the free/busy of every provider of `user` up to `until` (what imip-agent's
    /// daily cron job does), in one transaction. Idempotent: periods are recomputed from the
    /// stored objects, not appended, so running it twice (or after a crash) gives the same
    /// rows. Never shrinks: when the providers have already been generated past `until`, they
    /// are recomputed up to that instant instead. Providers whose rule now ends inside the
    /// window leave the list. Returns how many providers were extended.
    ///
    /// Fails (changing nothing) if an event would need more than
    /// [`ical::DEFAULT_MAX_INSTANCES`] instances up to `until`; the error names the event.
    pub fn extend_freebusy(&mut self, user: &str, until: DateTime<Utc>, tz: Tz) -> Result<usize> {
        let now = self.now();
        self.write(user, |c, tx| {
            let Some(providers) = store::get_providers(c, user)? else {
                return Ok(0);
            };
            let generated = providers
                .datetime
                .as_deref()
                .and_then(|d| parse_utc(d).ok());
            let until = generated.map_or(until, |g| g.max(until));
            let opts = RecordOptions {
                tz,
                window_end: until,
                ..RecordOptions::new(now)
            };
            let mut uids: Vec<&str> = providers
                .providers
                .iter()
                .map(|(u, _)| u.as_str())
                .collect();
            uids.dedup();
            refresh_uids(c, tx, user, &uids, true, true, &opts, &ByUid::new())?;
            store::set_provider_datetime(c, user, Some(&format_utc(until)))?;
            Ok(uids.len())
        })
    }
}

#[cfg(test)]
mod proptests {
    //! Overrides through [`derive`] over random recurring events: a plain override replaces
    //! exactly the one occurrence its RECURRENCE-ID names; a THISANDFUTURE one reschedules
    //! that occurrence and every later one by its difference and leaves earlier ones alone.

    use chrono::{DateTime, TimeDelta, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::ical::proptests::{Random, random_event};

    const USER: &str = "mailto:user@example.com";

    fn opts() -> RecordOptions {
        RecordOptions {
            tz: chrono_tz::Europe::Berlin,
            max_instances: 5_000,
            window_end: parse_utc("20280101T000000Z").unwrap_or_default(),
            ..RecordOptions::new(DateTime::<Utc>::MIN_UTC)
        }
    }

    fn parse(r: &Random, extra: &[Vec<String>]) -> Vec<EventComponent> {
        let mut all = vec![r.lines("p@example.com", &[])];
        all.extend(extra.iter().cloned());
        ical::parse_events(Random::calendar(&all).as_bytes()).unwrap_or_default()
    }

    /// An override of the instance starting at `point`, moved by `minutes`.
    fn override_lines(point: DateTime<Utc>, minutes: i64, range: bool) -> Vec<String> {
        let start = point + TimeDelta::minutes(minutes);
        vec![
            "UID:p@example.com".to_owned(),
            format!(
                "RECURRENCE-ID{}:{}",
                if range { ";RANGE=THISANDFUTURE" } else { "" },
                format_utc(point)
            ),
            format!("DTSTART:{}", format_utc(start)),
            format!("DTEND:{}", format_utc(start + TimeDelta::minutes(7))),
            "SUMMARY:moved".to_owned(),
        ]
    }

    fn starts(periods: &[Period]) -> Vec<DateTime<Utc>> {
        periods.iter().map(|p| p.start).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn an_override_replaces_exactly_one_occurrence(
            r in random_event(),
            pick in any::<prop::sample::Index>(),
            minutes in 1i64..600,
        ) {
            let opts = opts();
            let parent = parse(&r, &[]);
            let Ok(base) = derive(USER, parent.first(), &[], &opts) else {
                return Ok(());
            };
            prop_assume!(!base.periods.is_empty());
            let chosen = base.periods[pick.index(base.periods.len())].start;
            let events = parse(&r, &[override_lines(chosen, minutes, false)]);
            let (Some(p), Some(o)) = (events.first(), events.get(1)) else {
                return Err(TestCaseError::fail("no override"));
            };
            let rid = o.recurrence_id().unwrap_or_default();
            let got = derive(USER, Some(p), &[(rid.as_str(), true, Some(o))], &opts)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Every other occurrence is unchanged, the chosen one is gone, the override added.
            let mut want: Vec<(DateTime<Utc>, Option<String>)> = base
                .periods
                .iter()
                .filter(|q| q.start != chosen)
                .map(|q| (q.start, None))
                .collect();
            want.push((chosen + TimeDelta::minutes(minutes), Some(rid.clone())));
            want.sort();
            want.dedup_by(|a, b| a.0 == b.0 && a.1.is_none() && b.1.is_none());
            let mut have: Vec<(DateTime<Utc>, Option<String>)> = got
                .periods
                .iter()
                .map(|q| (q.start, q.recurrenceid.clone()))
                .collect();
            have.sort();
            prop_assert_eq!(have, want);
            prop_assert_eq!(got.periods.len(), base.periods.len());
            // Cancelled as an object, it removes that occurrence only.
            let got = derive(USER, Some(p), &[(rid.as_str(), false, Some(o))], &opts)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got.periods.len() + 1, base.periods.len());
            prop_assert!(!starts(&got.periods).contains(&chosen));
        }

        #[test]
        fn this_and_future_shifts_the_rest(
            r in random_event(),
            pick in any::<prop::sample::Index>(),
            minutes in 1i64..600,
        ) {
            let opts = opts();
            let parent = parse(&r, &[]);
            let Ok(base) = derive(USER, parent.first(), &[], &opts) else {
                return Ok(());
            };
            prop_assume!(!base.periods.is_empty());
            let chosen = base.periods[pick.index(base.periods.len())].start;
            let events = parse(&r, &[override_lines(chosen, minutes, true)]);
            let (Some(p), Some(o)) = (events.first(), events.get(1)) else {
                return Err(TestCaseError::fail("no override"));
            };
            let rid = o.recurrence_id().unwrap_or_default();
            let got = derive(USER, Some(p), &[(rid.as_str(), true, Some(o))], &opts)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let before: Vec<DateTime<Utc>> =
                starts(&base.periods).into_iter().filter(|s| *s < chosen).collect();
            let got_before: Vec<DateTime<Utc>> = starts(&got.periods)
                .into_iter()
                .filter(|s| *s < chosen)
                .collect();
            prop_assert_eq!(got_before, before);
            // Later occurrences keep their number (unless moved past the window) and all have
            // the override's 7-minute length and summary.
            let later: Vec<&Period> = got.periods.iter().filter(|q| q.start >= chosen).collect();
            let base_later = base.periods.iter().filter(|q| q.start >= chosen).count();
            let surely_kept = base
                .periods
                .iter()
                .filter(|q| q.start >= chosen && q.start + TimeDelta::minutes(minutes) < opts.window_end)
                .count();
            prop_assert!(surely_kept <= later.len() && later.len() <= base_later);
            for q in &later {
                prop_assert_eq!(q.end - q.start, TimeDelta::minutes(7));
                prop_assert_eq!(q.summary.as_deref(), Some("moved"));
            }
        }
    }
}

#[cfg(test)]
mod booking_tests {
    use super::*;
    use chrono::TimeZone;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:b1\r\n\
        DTSTAMP:20261101T000000Z\r\nDTSTART:20261123T090000Z\r\nDTEND:20261123T100000Z\r\n\
        RRULE:FREQ=DAILY;COUNT=3\r\nORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20261101T000000Z\r\n\
        RECURRENCE-ID:20261124T090000Z\r\nDTSTART:20261124T120000Z\r\nDTEND:20261124T150000Z\r\n\
        ORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn end() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn overrides_replace_occurrences() {
        let events = ical::parse_events(EVENT.as_bytes()).unwrap();
        let b = booking_from_events(&events, None, Tz::UTC, end()).unwrap();
        assert_eq!(b.organiser, "mailto:o@example.com");
        assert_eq!(b.uid, "b1");
        assert_eq!(b.rid, None);
        assert!(!b.open_ended);
        // 1 h + 3 h (the moved one) + 1 h.
        assert_eq!(b.requested(), 5 * 3600);
        assert_eq!(b.periods.len(), 3);
        assert_eq!(b.booking("mailto:car@example.com").periods.len(), 3);
    }

    #[test]
    fn one_override_is_booked_by_its_rid() {
        let text = EVENT.replacen("RRULE:FREQ=DAILY;COUNT=3\r\n", "", 1);
        let events: Vec<EventComponent> = ical::parse_events(text.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|e| e.recurrence_id().is_some())
            .collect();
        let b = booking_from_events(&events, None, Tz::UTC, end()).unwrap();
        assert_eq!(b.rid.as_deref(), Some("20261124T090000Z"));
        assert_eq!(b.requested(), 3 * 3600);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            booking_from_events(&[], None, Tz::UTC, end()),
            Err(StoreError::InvalidData(_))
        ));
        let no_org = EVENT.replace("ORGANIZER:mailto:o@example.com\r\n", "");
        let events = ical::parse_events(no_org.as_bytes()).unwrap();
        assert!(matches!(
            booking_from_events(&events, None, Tz::UTC, end()),
            Err(StoreError::InvalidData(_))
        ));
        assert!(booking_from_events(&events, Some("mailto:x@example.com"), Tz::UTC, end()).is_ok());
        let two = EVENT.replacen("UID:b1", "UID:b2", 1);
        let events = ical::parse_events(two.as_bytes()).unwrap();
        assert!(booking_from_events(&events, None, Tz::UTC, end()).is_err());
    }
}
