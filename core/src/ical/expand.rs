//! Expansion of an event into instances.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::datetime::{Wall, format_utc};
use super::duration::Dur;
use super::error::{IcalError, show};
use super::event::{
    EndSpec, EventComponent, ExpandContext, Expansion, INSTANCE_CAP_REACHED, Instance, PeriodEnd,
};
use super::rrule::{Rule, RuleIter};
use super::time::{Frame, IcalTime};

/// How long each instance lasts.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// The same exact length for every instance (DTEND - DTSTART for DATE-TIMEs).
    Exact(TimeDelta),
    /// Nominal days on the wall clock, then exact seconds (DURATION, DATE DTEND, the default
    /// one day of a DATE DTSTART).
    Nominal(Dur),
}

/// Slack added to the window end (on the wall clock) so that times in a daylight-saving gap,
/// which resolve later than their wall-clock order suggests, are not missed.
const GAP_SLACK: Days = Days::new(2);

impl Span {
    /// The end of an instance starting at wall-clock `naive` (in `frame`), i.e. at `start`;
    /// never before `start` (a wall-clock end can resolve earlier than a start in a gap).
    fn end(
        self,
        naive: NaiveDateTime,
        frame: &Frame,
        start: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        let end = match self {
            Self::Exact(d) => start.checked_add_signed(d)?,
            Self::Nominal(d) => {
                let days = TimeDelta::try_days(d.days)?;
                let local = naive.checked_add_signed(days)?;
                frame
                    .resolve(local, tz)
                    .checked_add_signed(TimeDelta::try_seconds(d.seconds)?)?
            }
        };
        Some(end.max(start))
    }
}

impl EventComponent {
    /// Expands the event into the instances that start before `ctx.window_end`.
    ///
    /// * A non-recurring event (no RRULE, no RDATE) and a recurrence override (with
    ///   RECURRENCE-ID) give exactly one instance, whatever the window; an override's
    ///   `recurrence_point` is its RECURRENCE-ID.
    /// * Floating times and DATE values without TZID are resolved in `ctx.tz`. Times in a
    ///   daylight-saving gap are shifted forward by the length of the gap; in a fold the first
    ///   (earlier) instant is taken (RFC 5545 §3.3.5).
    /// * Length: DTEND - DTSTART (exact for DATE-TIMEs, in local days for DATEs, so an all-day
    ///   event stays midnight to midnight across a DST change), else DURATION (days nominal,
    ///   the time part exact), else one day for a DATE DTSTART and zero for a DATE-TIME.
    /// * RRULEs are expanded on the wall clock of DTSTART's zone; DTSTART is always the first
    ///   instance and counts towards the first RRULE's COUNT (further RRULEs, a union, count
    ///   only their own instances); UNTIL is inclusive (a DATE UNTIL includes that local
    ///   date). RDATEs are added (a PERIOD RDATE has its own end); instances are sorted by
    ///   start and deduplicated by start (a rule instance wins over an RDATE with the same
    ///   start). EXDATEs remove instances by instant, whatever their TZID; a DATE EXDATE removes
    ///   the instances starting on that local date.
    /// * `truncated` is set if an instance (or, for a rule, possibly an instance) starts at or
    ///   after the window end.
    ///
    /// Errors: more than `ctx.max_instances` instances before the window end ("more than N
    /// instances before ..."), a rule whose matches are so rare that finding them would take
    /// too long, or an end beyond the representable range.
    pub fn instances(&self, ctx: &ExpandContext) -> Result<Expansion, IcalError> {
        self.instances_from(ctx, DateTime::<Utc>::MIN_UTC)
    }

    /// As [`EventComponent::instances`], but the instances of a recurring event that end
    /// before `from` (a zero-length one: that start before it) are neither returned nor
    /// counted towards `ctx.max_instances`: the store's bounded past (issue 10), so that a
    /// daily rule from 1970 does not materialise decades of periods. COUNT still counts
    /// them (the rule is expanded from DTSTART). A non-recurring event or an override gives
    /// its one instance whatever `from` is (the caller decides what to keep).
    pub fn instances_from(
        &self,
        ctx: &ExpandContext,
        from: DateTime<Utc>,
    ) -> Result<Expansion, IcalError> {
        let tz = ctx.tz;
        let err = |why: String| IcalError(format!("event {}: {why}", show(&self.uid)));
        let span = self.span(tz);
        let frame = self.dtstart.frame();
        let frame = &frame;
        let dtstart_naive = self.dtstart.naive();
        let dtstart = self.dtstart.instant(tz);
        let end_of = |naive: NaiveDateTime, frame: &Frame, start: DateTime<Utc>| {
            span.end(naive, frame, start, tz)
                .ok_or_else(|| err("instance end is out of range".to_owned()))
        };

        if self.recurrence_id.is_some() || !self.is_recurring() {
            let end = end_of(dtstart_naive, frame, dtstart)?;
            let recurrence_point = self
                .recurrence_id
                .as_ref()
                .map_or(dtstart, |r| r.instant(tz));
            return Ok(Expansion {
                instances: vec![Instance {
                    start: dtstart,
                    end,
                    recurrence_point,
                }],
                truncated: false,
            });
        }

        let exclusions = self.exclusions(tz);
        let is_excluded = |start: DateTime<Utc>| exclusions.contains(start, tz);

        let mut out = Collector {
            from,
            window_end: ctx.window_end,
            max: ctx.max_instances,
            map: BTreeMap::new(),
            truncated: false,
        };
        let too_many = || {
            err(format!(
                "more than {} instances before {} ({INSTANCE_CAP_REACHED}; instances are \
                 generated from DTSTART, so an old or frequent rule reaches it sooner: use an \
                 earlier window end or a higher cap)",
                ctx.max_instances,
                format_utc(ctx.window_end)
            ))
        };

        // DTSTART is always the first instance.
        if !is_excluded(dtstart) {
            let end = end_of(dtstart_naive, frame, dtstart)?;
            if !out.add(dtstart, end) {
                return Err(too_many());
            }
        } else if dtstart >= ctx.window_end {
            out.truncated = true;
        }

        let window_limit = frame
            .local(ctx.window_end, tz)
            .checked_add_days(GAP_SLACK)
            .unwrap_or(NaiveDateTime::MAX);
        let mut work = 0u64;
        for (i, rule) in self.rrules.iter().enumerate() {
            let more = self
                .expand_rule(
                    rule,
                    RuleContext {
                        counts_dtstart: i == 0,
                        frame: frame.clone(),
                        tz,
                        dtstart_naive,
                        window_limit,
                    },
                    &mut work,
                    &mut |naive, start| {
                        if is_excluded(start) {
                            if start >= ctx.window_end {
                                out.truncated = true;
                            }
                            return Ok(());
                        }
                        let end = end_of(naive, frame, start)?;
                        if out.add(start, end) {
                            Ok(())
                        } else {
                            Err(too_many())
                        }
                    },
                )
                .map_err(|e| {
                    if e.0.starts_with("event ") {
                        e
                    } else {
                        err(format!("{} (before {})", e.0, format_utc(ctx.window_end)))
                    }
                })?;
            out.truncated |= more;
        }

        for rdate in &self.rdates {
            let start = rdate.start.instant(tz);
            if is_excluded(start) {
                if start >= ctx.window_end {
                    out.truncated = true;
                }
                continue;
            }
            let rframe = rdate.start.frame();
            let naive = rdate.start.naive();
            let end = match &rdate.end {
                Some(PeriodEnd::Time(t)) => Some(t.instant(tz).max(start)),
                Some(PeriodEnd::Duration(d)) => Span::Nominal(*d).end(naive, &rframe, start, tz),
                None => span.end(naive, &rframe, start, tz),
            }
            .ok_or_else(|| err("instance end is out of range".to_owned()))?;
            if !out.add(start, end) {
                return Err(too_many());
            }
        }

        Ok(Expansion {
            instances: out.map.into_values().collect(),
            truncated: out.truncated,
        })
    }

    /// True if an EXDATE of this event removes an instance starting at `start`: an EXDATE
    /// naming that instant (whatever its TZID), or a DATE EXDATE naming its local date (in
    /// DTSTART's zone; floating and DATE values are read in `tz`). The store uses it to find
    /// the stored overrides a newer parent deletes.
    pub fn excludes(&self, start: DateTime<Utc>, tz: Tz) -> bool {
        !self.exdates.is_empty() && self.exclusions(tz).contains(start, tz)
    }

    /// The EXDATEs as instants, and local dates for DATE values.
    fn exclusions(&self, tz: Tz) -> Exclusions {
        let mut out = Exclusions {
            frame: Frame::Local(self.dtstart.zone().cloned()),
            instants: BTreeSet::new(),
            dates: BTreeSet::new(),
        };
        for ex in &self.exdates {
            match ex {
                IcalTime::Date(d, _) => {
                    out.dates.insert(*d);
                }
                other => {
                    out.instants.insert(other.instant(tz));
                }
            }
        }
        out
    }

    /// The length rule of this event's instances.
    fn span(&self, tz: Tz) -> Span {
        match &self.end {
            EndSpec::DtEnd(end) => {
                if let (IcalTime::Date(s, _), IcalTime::Date(e, _)) = (&self.dtstart, end) {
                    Span::Nominal(Dur {
                        days: e.signed_duration_since(*s).num_days(),
                        seconds: 0,
                    })
                } else {
                    Span::Exact(end.instant(tz) - self.dtstart.instant(tz))
                }
            }
            EndSpec::Duration(d) => Span::Nominal(*d),
            EndSpec::None if self.dtstart.is_date() => Span::Nominal(Dur {
                days: 1,
                seconds: 0,
            }),
            EndSpec::None => Span::Exact(TimeDelta::zero()),
        }
    }

    /// Feeds the instances of one RRULE after DTSTART to `emit` (wall-clock time and instant),
    /// applying COUNT and UNTIL and stopping past the window. Returns true if the rule was cut
    /// off by the window rather than by COUNT or UNTIL (so more instances may follow).
    fn expand_rule(
        &self,
        rule: &Rule,
        rc: RuleContext,
        work: &mut u64,
        emit: &mut dyn FnMut(NaiveDateTime, DateTime<Utc>) -> Result<(), IcalError>,
    ) -> Result<bool, IcalError> {
        let RuleContext {
            counts_dtstart,
            frame,
            tz,
            dtstart_naive,
            window_limit,
        } = rc;
        let frame = &frame;
        // DTSTART counted as the first occurrence (of the first rule; a further rule counts
        // it only if it produces it).
        let mut emitted: u64 = u64::from(counts_dtstart);
        if rule.count.is_some_and(|c| emitted >= c) {
            return Ok(false);
        }
        // The wall-clock time past which UNTIL certainly excludes everything.
        let until_limit = rule.until.as_ref().map(|u| match u {
            Wall::Date(d) => date_end(*d),
            Wall::Utc(n) => frame
                .local(n.and_utc(), tz)
                .checked_add_days(GAP_SLACK)
                .unwrap_or(NaiveDateTime::MAX),
            Wall::Floating(n) => *n,
        });
        let limit = until_limit.map_or(window_limit, |u| u.min(window_limit));
        let past_until = |naive: NaiveDateTime, start: DateTime<Utc>| match &rule.until {
            None => false,
            Some(Wall::Date(d)) => naive.date() > *d,
            Some(Wall::Utc(n)) => start > n.and_utc(),
            Some(Wall::Floating(n)) => naive > *n,
        };

        let mut it = RuleIter::new(rule, dtstart_naive, limit);
        while let Some(naive) = it.next(work)? {
            if naive < dtstart_naive || (naive == dtstart_naive && counts_dtstart) {
                continue;
            }
            if naive == dtstart_naive {
                // A further rule producing DTSTART: counted, already an instance.
                emitted += 1;
                if rule.count.is_some_and(|c| emitted >= c) {
                    return Ok(false);
                }
                continue;
            }
            let start = frame.resolve(naive, tz);
            if past_until(naive, start) {
                return Ok(false);
            }
            emit(naive, start)?;
            emitted += 1;
            if rule.count.is_some_and(|c| emitted >= c) {
                return Ok(false);
            }
        }
        // The iterator gave up at `limit`: if that was the window (not UNTIL), more instances
        // may follow.
        Ok(until_limit.is_none_or(|u| u > window_limit))
    }
}

/// The first wall-clock time after a date.
fn date_end(d: NaiveDate) -> NaiveDateTime {
    d.succ_opt()
        .map_or(NaiveDateTime::MAX, |n| n.and_time(chrono::NaiveTime::MIN))
}

/// What the EXDATEs of one event remove.
#[derive(Debug)]
struct Exclusions {
    /// The frame DATE EXDATEs are local dates in (DTSTART's zone).
    frame: Frame,
    instants: BTreeSet<DateTime<Utc>>,
    dates: BTreeSet<NaiveDate>,
}

impl Exclusions {
    fn contains(&self, start: DateTime<Utc>, tz: Tz) -> bool {
        self.instants.contains(&start)
            || (!self.dates.is_empty() && self.dates.contains(&self.frame.local(start, tz).date()))
    }
}

/// Frame and limits shared by the rules of one expansion.
#[derive(Debug, Clone)]
struct RuleContext {
    /// DTSTART counts towards COUNT whether or not the rule produces it (RFC 5545 §3.3.10):
    /// true for the first RRULE. Further RRULEs (RFC 2445 allowed several; their union is
    /// meant) count only what they produce, as python-dateutil, ical.js and libical do.
    counts_dtstart: bool,
    frame: Frame,
    tz: Tz,
    dtstart_naive: NaiveDateTime,
    window_limit: NaiveDateTime,
}

/// Collects instances by start, enforcing the window and the instance cap.
#[derive(Debug)]
struct Collector {
    /// Instances ending before this are dropped (the bounded past).
    from: DateTime<Utc>,
    window_end: DateTime<Utc>,
    max: usize,
    map: BTreeMap<DateTime<Utc>, Instance>,
    truncated: bool,
}

impl Collector {
    /// Adds an instance; false if that makes more than `max`.
    fn add(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        if start >= self.window_end {
            self.truncated = true;
            return true;
        }
        if end < self.from || (end == self.from && start < end) {
            return true;
        }
        self.map.entry(start).or_insert(Instance {
            start,
            end,
            recurrence_point: start,
        });
        self.map.len() <= self.max
    }
}

impl EventComponent {
    /// For an override with `RANGE=THISANDFUTURE` (`self`): where a later instance `original`
    /// of `parent` goes (RFC 5545 §3.8.4.4: "all subsequent instances are also rescheduled by
    /// the same time difference", and take the override's duration). The start moves by the
    /// difference between the override's DTSTART and its RECURRENCE-ID: on the wall clock when
    /// both are written in the parent's frame (same zone, or both floating, dates or UTC), so
    /// that a meeting moved from 10:00 to 11:00 stays at 11:00 across a daylight-saving change;
    /// as an exact duration otherwise. The end is the new start plus the override's length.
    /// The result keeps `original.recurrence_point`.
    ///
    /// Errors: `self` has no RECURRENCE-ID, or a time out of range.
    pub fn shift_instance(
        &self,
        parent: &EventComponent,
        original: &Instance,
        tz: Tz,
    ) -> Result<Instance, IcalError> {
        let err = |why: &str| IcalError(format!("event {}: {why}", show(&self.uid)));
        let Some(rid) = &self.recurrence_id else {
            return Err(err("not a recurrence override"));
        };
        let parent_frame = parent.dtstart.frame();
        let own_frame = self.dtstart.frame();
        let out_of_range = || err("a rescheduled instance is out of range");
        let (start, naive, frame) = if own_frame == parent_frame && rid.frame() == parent_frame {
            let delta = self.dtstart.naive() - rid.naive();
            let naive = parent_frame
                .local(original.recurrence_point, tz)
                .checked_add_signed(delta)
                .ok_or_else(out_of_range)?;
            (parent_frame.resolve(naive, tz), naive, parent_frame)
        } else {
            let delta = self.dtstart.instant(tz) - rid.instant(tz);
            let start = original
                .recurrence_point
                .checked_add_signed(delta)
                .ok_or_else(out_of_range)?;
            (start, own_frame.local(start, tz), own_frame)
        };
        let end = self
            .span(tz)
            .end(naive, &frame, start, tz)
            .ok_or_else(out_of_range)?;
        Ok(Instance {
            start,
            end,
            recurrence_point: original.recurrence_point,
        })
    }

    /// How far (at most, as an exact duration) this override moves later instances earlier:
    /// the parent must be expanded that much past a window so that instances moved into the
    /// window are not missed. Zero for anything but a `RANGE=THISANDFUTURE` override that moves
    /// instances earlier.
    pub fn this_and_future_advance(&self, tz: Tz) -> TimeDelta {
        match &self.recurrence_id {
            Some(rid) if self.this_and_future => {
                let delta = self.dtstart.instant(tz) - rid.instant(tz);
                // A day of slack for wall-clock shifts across daylight-saving changes.
                (-delta).max(TimeDelta::zero()) + TimeDelta::days(1)
            }
            _ => TimeDelta::zero(),
        }
    }
}
