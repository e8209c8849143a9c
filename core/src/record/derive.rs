//! Free/busy derived from the stored objects of one UID: parent occurrences, minus those its
//! recurrences replace or cancel, plus the recurrences' own periods; and the statements that
//! store objects and replace their periods in one write.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::options::RecordOptions;
use super::participation::{is_cancelled, participates, transp_for};
use crate::changes::{self, Operation};
use crate::error::{Result, StoreError};
use crate::ical::datetime::format_utc;
use crate::ical::{self, EventComponent, ExpandContext, IcalError};
use crate::period::{FREEBUSY, Period};
use crate::sql::{SqlConnection, Value, bulk};
use crate::status::Status;
use crate::store::{objects, providers};
use crate::validate;
use crate::work::WriteTx;

fn ical_err(e: IcalError) -> StoreError {
    StoreError::InvalidData(e.0)
}

/// The free/busy of one UID computed from its stored objects.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub periods: Vec<Period>,
    /// The parent has occurrences past the window (open-ended or cut by it).
    pub provider: bool,
}

pub(crate) fn period_for(
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

pub(crate) fn parse_stored(text: &str) -> Result<EventComponent> {
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
pub(crate) fn load_recurrences<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<BTreeMap<String, Vec<StoredRecurrence>>> {
    let mut out: BTreeMap<String, Vec<StoredRecurrence>> = BTreeMap::new();
    // Bounded `IN` lists: see `bounded_in_sql`.
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 3)) {
        let sql = String::from(
            "SELECT object_uid, object_recurrenceid, status, object_text FROM recurrences \
             WHERE store_user = $1 AND ",
        ) + &bulk::bounded_in_sql("object_uid", 2, chunk.len());
        let mut params = vec![Value::from(user)];
        params.extend(bulk::bounded_in_params(chunk));
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
pub(crate) fn load_parents<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    // Bounded `IN` lists: see `bounded_in_sql`.
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 3)) {
        let sql = String::from(
            "SELECT object_uid, object_text FROM objects WHERE store_user = $1 \
             AND status = 'active' AND ",
        ) + &bulk::bounded_in_sql("object_uid", 2, chunk.len());
        let mut params = vec![Value::from(user)];
        params.extend(bulk::bounded_in_params(chunk));
        for r in c.query(&sql, &params)? {
            out.insert(r.get(0)?, r.get(1)?);
        }
    }
    Ok(out)
}

/// Which of `uids` are listed as (whole-event) providers.
pub(crate) fn load_providers<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    // Bounded `IN` lists: see `bounded_in_sql`.
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 3)) {
        let sql = String::from(
            "SELECT object_uid FROM freebusy_providers WHERE store_user = $1 \
             AND object_recurrenceid IS NULL AND ",
        ) + &bulk::bounded_in_sql("object_uid", 2, chunk.len());
        let mut params = vec![Value::from(user)];
        params.extend(bulk::bounded_in_params(chunk));
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
///
/// The past is bounded (`opts.window_start`): a recurring parent's occurrences that end
/// before it are left out (and not counted towards the instance cap); rescheduled ones are
/// left out when they end before it after the move. Overrides and non-recurring parents
/// keep their one period.
pub(crate) fn derive(
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
        // Occurrences a THISANDFUTURE recurrence moves later (or lengthens) may cross the
        // bounded past from before it: expand from that much earlier.
        let delay = recurrences
            .iter()
            .filter_map(|(_, active, e)| e.filter(|e| *active && e.this_and_future))
            .filter_map(|e| e.instances(&ctx).ok()?.instances.first().copied())
            .map(|i| {
                (i.start - i.recurrence_point).max(TimeDelta::zero())
                    + (i.end - i.start)
                    + TimeDelta::days(1)
            })
            .max()
            .unwrap_or_default();
        let from = opts
            .window_start
            .checked_sub_signed(delay)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let exp = event.instances_from(&ctx, from).map_err(ical_err)?;
        let bounded = event.is_recurring();
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
            if bounded && before(&inst, opts.window_start) {
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

/// True if `inst` ended before `start` (a zero-length one: started before it), as
/// [`EventComponent::instances_from`] decides.
fn before(inst: &ical::Instance, start: DateTime<Utc>) -> bool {
    inst.end < start || (inst.end == start && inst.start < inst.end)
}

/// Derives the free/busy of each of `uids` (in that order) from `known` (components of this
/// write, by uid and rid, used as they are) and what is stored: `parents`, the texts of the
/// active parents of UIDs `known` has no parent for, and `recs`, every stored recurrence of
/// the UIDs (all statuses) by uid. Writes nothing.
fn derive_uids(
    user: &str,
    uids: &[&str],
    known: &ByUid<'_>,
    stored_parents: &BTreeMap<String, String>,
    mut stored_recs: BTreeMap<String, Vec<StoredRecurrence>>,
    opts: &RecordOptions,
) -> Result<Vec<Derived>> {
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
    Ok(all)
}

/// Derives what recording `by_uid` would give, reading the stored objects but writing
/// nothing, and returns the first error recording them would meet: an instance cap reached,
/// a RECURRENCE-ID or an instance end that cannot be read, a stored text they need that no
/// longer reads. An import in pieces runs this over the whole input before its first piece
/// commits, so that a problem of the input writes nothing (see
/// [`Store::import_events_in_pieces`](crate::Store::import_events_in_pieces)).
///
/// The stored objects are taken as [`record_objects`] will leave them: the overrides a newer
/// parent makes obsolete (with `opts.replace_recurrences`, every stored override of a UID
/// that brings its parent) left out, the overrides of the input active with its text.
pub(crate) fn check_objects<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    by_uid: &ByUid<'_>,
    opts: &RecordOptions,
) -> Result<()> {
    let uids: Vec<&str> = by_uid.keys().copied().collect();
    let mut recs = if user_has_any(
        c,
        "SELECT 1 FROM recurrences WHERE store_user = $1 LIMIT 1",
        user,
    )? {
        load_recurrences(c, user, &uids)?
    } else {
        BTreeMap::new()
    };
    if opts.replace_recurrences {
        for (uid, objs) in by_uid {
            if objs.contains_key(&None) {
                recs.remove(*uid);
            }
        }
    } else if !recs.is_empty() {
        for (uid, rid) in obsolete_overrides(c, user, by_uid, opts)? {
            if let Some(held) = recs.get_mut(uid) {
                held.retain(|(r, _, _)| *r != rid);
            }
        }
    }
    for (uid, objs) in by_uid {
        for rid in objs.keys().flatten() {
            let held = recs.entry((*uid).to_owned()).or_default();
            held.retain(|(r, _, _)| r != rid);
            // The text is not read: `known` holds the component.
            held.push((rid.clone(), true, String::new()));
        }
    }
    let missing_parents: Vec<&str> = uids
        .iter()
        .copied()
        .filter(|u| !by_uid.get(u).is_some_and(|objs| objs.contains_key(&None)))
        .collect();
    let parents = load_parents(c, user, &missing_parents)?;
    derive_uids(user, &uids, by_uid, &parents, recs, opts).map(|_| ())
}

/// The periods of the UIDs a refresh recomputes, as they were before the write.
#[derive(Clone, Copy)]
pub(crate) enum OldPeriods<'a> {
    /// In the table still: read them, and replace those that change.
    Stored,
    /// Deleted by the caller already: these were there, by UID.
    Deleted(&'a HashMap<String, Vec<Period>>),
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
/// `old` says where the UIDs' periods before this write are: still stored (read, and
/// replaced only for the UIDs whose periods change), or already deleted by the caller in this
/// transaction, which hands them over (see [`Store::import_events`]). Either way a UID whose
/// periods come out as they were journals nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn refresh_uids<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uids: &[&str],
    journal_periods: bool,
    old: OldPeriods<'_>,
    opts: &RecordOptions,
    known: &ByUid<'_>,
) -> Result<Vec<Derived>> {
    // Most users have no recurrence overrides and few providers: one probe each spares
    // the per-UID look-ups.
    let stored_recs = if user_has_any(
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
    let all = derive_uids(user, uids, known, &stored_parents, stored_recs, opts)?;
    // A UID whose periods come out as they were is left alone (or, when the caller deleted
    // them, written back as they were): a write that changes nothing journals nothing
    // (decision 0014).
    let differs = |held: Option<&Vec<Period>>, i: usize| {
        all.get(i)
            .is_none_or(|d| d.periods.as_slice() != held.map_or(&[][..], Vec::as_slice))
    };
    let (rewrite, changed): (Vec<usize>, Vec<usize>) = match old {
        OldPeriods::Stored => {
            let stored = FREEBUSY.select_uids(c, &[user], uids)?;
            let changed: Vec<usize> = (0..uids.len())
                .filter(|&i| differs(stored.get(uids[i]), i))
                .collect();
            // Only UIDs that hold periods have any to delete (none in a new calendar: an
            // import in pieces then sends no delete, see `import_events_in_pieces`).
            let held_uids: Vec<&str> = changed
                .iter()
                .map(|&i| uids[i])
                .filter(|u| stored.contains_key(*u))
                .collect();
            if !held_uids.is_empty() {
                FREEBUSY.delete_uids(c, &[user], &held_uids)?;
            }
            (changed.clone(), changed)
        }
        OldPeriods::Deleted(held) => (
            (0..uids.len()).collect(),
            (0..uids.len())
                .filter(|&i| differs(held.get(uids[i]), i))
                .collect(),
        ),
    };
    let rows: Vec<(&Period, Option<&str>)> = rewrite
        .iter()
        .filter_map(|&i| all.get(i))
        .flat_map(|d| d.periods.iter().map(|p| (p, None)))
        .collect();
    FREEBUSY.insert_many(c, &[user], &rows)?;
    for uid in changed.iter().map(|&i| uids[i]) {
        // Without `journal_periods` the caller journalled a change of the UID's objects,
        // which tells a client to read its periods again; an object left as it was did not.
        if journal_periods || !tx.has_changed_uid(uid) {
            tx.changed("freebusy", changes::key(&[Some(uid)]), Operation::Upsert);
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
                providers_changed |= providers::add_provider(c, user, uid, None)?;
            }
        } else if listed.contains(*uid) {
            providers_changed |= providers::remove_provider(c, user, uid, None)?;
        }
    }
    if any_provider {
        let current = providers::get_provider_datetime(c, user)?;
        let window = format_utc(opts.window_end);
        // The record's instant is how far every provider has been generated: keep the
        // earlier one so that an extension from it never skips these events' periods.
        let keep = match &current {
            Some(cur) if *cur <= window => cur.clone(),
            _ => window,
        };
        if current.as_deref() != Some(keep.as_str()) {
            providers::set_provider_datetime(c, user, Some(&keep))?;
            providers_changed = true;
        }
    }
    if providers_changed {
        tx.changed("freebusy_providers", changes::key(&[]), Operation::Upsert);
    }
    Ok(all)
}

/// What [`record_objects`] did.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// The free/busy of each UID, in the order of `by_uid`.
    pub derived: Vec<Derived>,
    /// Stored overrides deleted as obsolete.
    pub obsolete: usize,
}

/// Stores the objects of `by_uid` with multi-row upserts and recomputes their free/busy.
/// A parent newer than the stored one first deletes the stored overrides it makes obsolete
/// ([`obsolete_overrides`]); with `opts.replace_recurrences`, every stored override of its
/// UID.
pub(crate) fn record_objects<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    by_uid: &ByUid<'_>,
    old: OldPeriods<'_>,
    opts: &RecordOptions,
) -> Result<Recorded> {
    let mut obsolete = 0;
    if opts.replace_recurrences {
        for (uid, objs) in by_uid {
            if objs.contains_key(&None) {
                objects::delete_recurrences(c, tx, user, uid)?;
            }
        }
    } else {
        for (uid, rid) in obsolete_overrides(c, user, by_uid, opts)? {
            obsolete += usize::from(objects::delete_objects(c, tx, user, uid, Some(&rid))?);
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
    // An object stored active with the same text is left alone: a write that changes nothing
    // journals nothing and bumps no revision.
    if !parents.is_empty()
        && user_has_any(
            c,
            "SELECT 1 FROM objects WHERE store_user = $1 LIMIT 1",
            user,
        )?
    {
        let uids: Vec<&str> = parents.iter().map(|(u, _)| *u).collect();
        let stored = load_parents(c, user, &uids)?;
        parents.retain(|(uid, text)| stored.get(*uid).is_none_or(|held| held != text));
    }
    if !recurrences.is_empty()
        && user_has_any(
            c,
            "SELECT 1 FROM recurrences WHERE store_user = $1 LIMIT 1",
            user,
        )?
    {
        let mut uids: Vec<&str> = recurrences.iter().map(|(u, _, _)| *u).collect();
        uids.dedup();
        let stored = load_recurrences(c, user, &uids)?;
        recurrences.retain(|(uid, rid, text)| {
            !stored.get(*uid).is_some_and(|recs| {
                recs.iter()
                    .any(|(r, active, held)| *active && r == rid && held == text)
            })
        });
    }
    objects::put_objects(c, tx, user, &parents)?;
    objects::put_recurrences(c, tx, user, &recurrences)?;
    let uids: Vec<&str> = by_uid.keys().copied().collect();
    let derived = refresh_uids(c, tx, user, &uids, false, old, opts, by_uid)?;
    Ok(Recorded { derived, obsolete })
}

/// The stored overrides (active and cancelled) that the parents of `by_uid` make obsolete
/// (RFC 5546 §2.1.5), as (uid, rid). Only overrides of earlier writes count: the events of
/// one write are one snapshot, in which an override with a lower SEQUENCE than its parent
/// still applies (decision 0007). For a parent whose SEQUENCE is higher than the stored
/// parent's (or that has no stored parent), a stored override is obsolete if its SEQUENCE
/// is lower than the new parent's (or it no longer reads); for a parent that is not older
/// than the stored one, also if the new parent EXDATEs its instance (the modification was
/// deleted).
///
/// Costs one probe when the user has no stored overrides (an import into a new calendar).
fn obsolete_overrides<'a, C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    by_uid: &ByUid<'a>,
    opts: &RecordOptions,
) -> Result<Vec<(&'a str, String)>> {
    let with_parent: Vec<&str> = by_uid
        .iter()
        .filter(|(_, objs)| objs.contains_key(&None))
        .map(|(uid, _)| *uid)
        .collect();
    if with_parent.is_empty()
        || !user_has_any(
            c,
            "SELECT 1 FROM recurrences WHERE store_user = $1 LIMIT 1",
            user,
        )?
    {
        return Ok(Vec::new());
    }
    let mut stored = load_recurrences(c, user, &with_parent)?;
    // Only overrides that this write does not bring again.
    stored.retain(|uid, recs| {
        let objs = by_uid.get(uid.as_str());
        recs.retain(|(rid, _, _)| !objs.is_some_and(|o| o.contains_key(&Some(rid.clone()))));
        !recs.is_empty()
    });
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let uids: Vec<&str> = stored.keys().map(String::as_str).collect();
    let stored_parents = load_parent_texts(c, user, &uids)?;
    let mut out = Vec::new();
    for (uid, recs) in &stored {
        let Some((&key, objs)) = by_uid.get_key_value(uid.as_str()) else {
            continue;
        };
        let Some(new) = objs.get(&None) else {
            continue;
        };
        // A stored parent that no longer reads is older than anything.
        let old_sequence = stored_parents
            .get(uid)
            .and_then(|text| parse_stored(text).ok())
            .map(|e| e.sequence);
        let newer = old_sequence.is_none_or(|s| new.sequence > s);
        let not_older = old_sequence.is_none_or(|s| new.sequence >= s);
        if !not_older {
            continue;
        }
        for (rid, _, text) in recs {
            let lower = newer && parse_stored(text).map_or(true, |e| e.sequence < new.sequence);
            let exdated = ical::recurrence_id_point(rid, opts.tz)
                .is_ok_and(|point| new.excludes(point, opts.tz));
            if lower || exdated {
                out.push((key, rid.clone()));
            }
        }
    }
    Ok(out)
}

/// Loads the texts of the stored parents of `uids`, active or cancelled.
fn load_parent_texts<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uids: &[&str],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    // Bounded `IN` lists: see `bounded_in_sql`.
    for chunk in uids.chunks(bulk::rows_per_chunk(1, 3)) {
        let sql = String::from(
            "SELECT object_uid, object_text FROM objects WHERE store_user = $1 \
             AND ",
        ) + &bulk::bounded_in_sql("object_uid", 2, chunk.len());
        let mut params = vec![Value::from(user)];
        params.extend(bulk::bounded_in_params(chunk));
        for r in c.query(&sql, &params)? {
            out.insert(r.get(0)?, r.get(1)?);
        }
    }
    Ok(out)
}

/// Groups components by UID; when the same (uid, rid) appears more than once, the newest
/// copy wins (RFC 5546 §2.1.5): the higher SEQUENCE, then the later DTSTAMP, then (on a full
/// tie, or when a DTSTAMP is missing) the later copy in the input.
pub(crate) type ByUid<'a> = BTreeMap<&'a str, BTreeMap<Option<String>, &'a EventComponent>>;

pub(crate) fn group_by_uid(events: &[EventComponent]) -> Result<ByUid<'_>> {
    let mut by_uid: ByUid<'_> = BTreeMap::new();
    for e in events {
        validate::uid(&e.uid)?;
        let slot = by_uid.entry(e.uid.as_str()).or_default();
        match slot.entry(e.recurrence_id()) {
            Entry::Occupied(mut o) => {
                if supersedes(e, o.get()) {
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

/// Whether a later copy `new` of one (uid, rid) replaces `old`: a higher SEQUENCE; on equal
/// SEQUENCE a DTSTAMP that is not earlier (a copy without DTSTAMP cannot be ordered by it,
/// so the later copy wins).
fn supersedes(new: &EventComponent, old: &EventComponent) -> bool {
    match new.sequence.cmp(&old.sequence) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match (new.dtstamp, old.dtstamp) {
            (Some(n), Some(o)) => n >= o,
            _ => true,
        },
    }
}

#[cfg(test)]
mod proptests {
    //! Overrides through [`derive`] over random recurring events: a plain override replaces
    //! exactly the one occurrence its RECURRENCE-ID names; a THISANDFUTURE one reschedules
    //! that occurrence and every later one by its difference and leaves earlier ones alone.

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;
    use crate::ical::datetime::parse_utc;
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
