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

use crate::changes::{self, Operation, WriteTx};
use crate::conn::SqlConnection;
use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::ical::{self, EventComponent, ExpandContext, IcalError};
use crate::period::{FREEBUSY, FREEBUSY_OFFERS, Period};
use crate::store::{self, Status, Store};
use crate::validate;

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
    if event.organizer.as_deref().is_some_and(|o| same_uri(o, user)) {
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
    let organiser = event.organizer.as_deref().is_some_and(|o| same_uri(o, user));
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

fn period_for(event: &EventComponent, user: &str, inst: &ical::Instance, rid: Option<&str>) -> Period {
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

/// Computes the free/busy of `uid` from what is stored for `user`.
pub(crate) fn derive_uid<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uid: &str,
    opts: &RecordOptions,
    known: &BTreeMap<Option<String>, &EventComponent>,
) -> Result<Derived> {
    let parent = c.query(
        "SELECT object_text FROM objects WHERE store_user = $1 AND object_uid = $2 \
         AND status = 'active'",
        &[user.into(), uid.into()],
    )?;
    let recs = c.query(
        "SELECT object_recurrenceid, object_text, status FROM recurrences \
         WHERE store_user = $1 AND object_uid = $2 ORDER BY object_recurrenceid",
        &[user.into(), uid.into()],
    )?;
    let ctx = ExpandContext {
        tz: opts.tz,
        window_end: opts.window_end,
        max_instances: opts.max_instances,
    };
    let mut derived = Derived::default();
    let mut replaced: HashSet<DateTime<Utc>> = HashSet::new();
    for r in &recs {
        let rid: String = r.get(0)?;
        let point = ical::recurrence_id_point(&rid, opts.tz).map_err(ical_err)?;
        replaced.insert(point);
        let status: String = r.get(2)?;
        if status != Status::Active.as_str() {
            continue;
        }
        let parsed;
        let event = match known.get(&Some(rid.clone())) {
            Some(e) => *e,
            None => {
                let text: String = r.get(1)?;
                parsed = parse_stored(&text)?;
                &parsed
            }
        };
        if is_cancelled(event) || !participates(event, user) {
            continue;
        }
        let exp = event.instances(&ctx).map_err(ical_err)?;
        for inst in &exp.instances {
            derived.periods.push(period_for(event, user, inst, Some(&rid)));
        }
    }
    if let Some(row) = parent.first() {
        let parsed;
        let event = match known.get(&None) {
            Some(e) => *e,
            None => {
                let text: String = row.get(0)?;
                parsed = parse_stored(&text)?;
                &parsed
            }
        };
        if !is_cancelled(event) && participates(event, user) {
            let exp = event.instances(&ctx).map_err(ical_err)?;
            for inst in exp
                .instances
                .iter()
                .filter(|i| !replaced.contains(&i.recurrence_point))
            {
                derived.periods.push(period_for(event, user, inst, None));
            }
            derived.provider = exp.truncated || event.is_open_ended();
        }
    }
    derived.periods.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    derived.periods.dedup_by(|a, b| a.sort_key() == b.sort_key());
    Ok(derived)
}

/// Replaces the stored free/busy of `uid` with what its objects give, and keeps the
/// providers list in step. Returns the number of periods.
pub(crate) fn refresh_uid<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    opts: &RecordOptions,
    known: &BTreeMap<Option<String>, &EventComponent>,
) -> Result<Derived> {
    let derived = derive_uid(c, user, uid, opts, known)?;
    FREEBUSY.delete_uid(c, &[user], uid)?;
    for p in &derived.periods {
        FREEBUSY.insert(c, &[user], p, None)?;
    }
    tx.changed(c, "freebusy", changes::key(&[Some(uid)]), Operation::Upsert)?;
    let listed = if derived.provider {
        let added = store::add_provider(c, user, uid, None)?;
        let current = store::get_providers(c, user)?.and_then(|p| p.datetime);
        let window = format_utc(opts.window_end);
        // The record's instant is how far every provider has been generated: keep the
        // earlier one so that an extension from it never skips this event's periods.
        let keep = match current {
            Some(cur) if cur <= window => cur,
            _ => window,
        };
        store::set_provider_datetime(c, user, Some(&keep))?;
        added
    } else {
        store::remove_provider(c, user, uid, None)?
    };
    if listed {
        tx.changed(c, "freebusy_providers", changes::key(&[]), Operation::Upsert)?;
    }
    Ok(derived)
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
        let rid = event.recurrence_id();
        let mut known = BTreeMap::new();
        known.insert(rid.clone(), event);
        self.write(user, |c, tx| {
            if rid.is_none() && opts.replace_recurrences {
                store::delete_recurrences(c, tx, user, &event.uid)?;
            }
            store::put_object(c, tx, user, &event.uid, rid.as_deref(), &event.text)?;
            Ok(refresh_uid(c, tx, user, &event.uid, opts, &known)?.periods)
        })
    }

    /// Parses iCalendar `input` and records every VEVENT in it, all in **one** transaction:
    /// any error (bad input, an instance cap reached, a database failure) leaves the store as
    /// it was. `progress(done, total)` is called after each UID.
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
        self.write(user, |c, tx| {
            let mut report = ImportReport {
                uids: total,
                ..ImportReport::default()
            };
            for (done, (uid, objs)) in by_uid.iter().enumerate() {
                for (rid, e) in objs {
                    store::put_object(c, tx, user, uid, rid.as_deref(), &e.text)?;
                    if rid.is_some() {
                        report.recurrences += 1;
                    } else {
                        report.parents += 1;
                    }
                }
                let d = refresh_uid(c, tx, user, uid, opts, objs)?;
                report.periods += d.periods.len();
                report.providers += usize::from(d.provider);
                progress(done + 1, total);
            }
            Ok(report)
        })
    }

    /// Recomputes the free/busy of one UID from the stored objects.
    pub fn refresh_freebusy(&mut self, user: &str, uid: &str, opts: &RecordOptions) -> Result<Vec<Period>> {
        self.write(user, |c, tx| {
            Ok(refresh_uid(c, tx, user, uid, opts, &BTreeMap::new())?.periods)
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
            let changed = store::set_status(c, tx, user, uid, rid, Status::Active, Status::Cancelled)?;
            refresh_uid(c, tx, user, uid, opts, &BTreeMap::new())?;
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
            let changed = store::set_status(c, tx, user, uid, rid, Status::Cancelled, Status::Active)?;
            refresh_uid(c, tx, user, uid, opts, &BTreeMap::new())?;
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
            refresh_uid(c, tx, user, uid, opts, &BTreeMap::new())?;
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
            conflicts.extend(store::periods(FREEBUSY.select_overlap(&mut self.conn, &[user], p.start, p.end)?));
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
            c.is_busy()
                && !(c.uid.as_deref() == Some(uid) && c.recurrenceid.as_deref() == rid)
        }))
    }

    /// Extends the free/busy of every provider of `user` up to `until` (what imip-agent's
    /// daily cron job does). Idempotent: periods are recomputed, not appended. Returns how
    /// many providers were extended.
    pub fn extend_freebusy(&mut self, user: &str, until: DateTime<Utc>, tz: Tz) -> Result<usize> {
        let now = self.now();
        self.write(user, |c, tx| {
            let Some(providers) = store::get_providers(c, user)? else {
                return Ok(0);
            };
            let opts = RecordOptions {
                tz,
                window_end: until,
                ..RecordOptions::new(now)
            };
            let mut uids: Vec<&str> = providers.providers.iter().map(|(u, _)| u.as_str()).collect();
            uids.dedup();
            for uid in &uids {
                refresh_uid(c, tx, user, uid, &opts, &BTreeMap::new())?;
            }
            store::set_provider_datetime(c, user, Some(&format_utc(until)))?;
            Ok(uids.len())
        })
    }
}
