//! A resource (a user whose `scheduling_function` preference is set) answers requests
//! itself: imip-agent's `imip_resource` handlers and its scheduling functions.

use chrono::{DateTime, TimeDelta, Utc};

use super::text::{Component, Line};
use super::{
    Ctx, Message, Method, Outcome, OutcomeKind, answer_component, attendee_of, cancel,
    drop_obsolete_overrides, ignored, older, outcome, outdated, record, stored, time_line,
    to_organiser, with_partstat,
};
use crate::error::{Result, StoreError};
use crate::ical::EventComponent;
use crate::journal::{BookingRequest, QuotaDecision};
use crate::period::Period;
use crate::prefs::{SchedulingFunction, SchedulingFunctionKind};
use crate::record::booking_from_events;
use crate::sql::SqlConnection;
use crate::store::Store;

/// imip-agent's explanations.
const UNAVAILABLE: &str = "The recipient is unavailable in the requested period.";
const ELSEWHERE: &str = "The requested period is already booked for you on another resource.";
const NO_FUNCTION: &str = "The recipient has no usable scheduling function.";

/// What the scheduling functions decided.
#[derive(Debug)]
enum Decision {
    Accept,
    Decline(String),
    /// Propose the periods moved by these amounts (start, end).
    Counter(TimeDelta, TimeDelta),
}

pub(super) fn receive<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &mut Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    if !msg.freebusy.is_empty() && msg.events.is_empty() {
        return super::person::freebusy(s, ctx, msg);
    }
    match msg.method {
        Method::Request => request(s, ctx, msg, &msg.events, Method::Reply),
        Method::Add => {
            let Some(added) = super::person::added(s, ctx, msg)? else {
                return super::person::unknown_add(s, ctx, msg);
            };
            request(s, ctx, msg, &added, Method::Reply)
        }
        Method::Cancel => cancel_message(s, ctx, msg),
        Method::DeclineCounter => super::person::decline_counter(s, ctx, msg),
        Method::Publish | Method::Reply | Method::Refresh | Method::Counter => {
            Ok(ignored(msg, "a resource does not handle this method"))
        }
    }
}

/// A REQUEST (or the occurrences of an ADD): decide, record, answer.
fn request<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    events: &[EventComponent],
    answer: Method,
) -> Result<Outcome> {
    let user = ctx.user;
    super::require_dtstart(events, msg.method)?;
    if events.iter().any(|e| attendee_of(e, user).is_none()) {
        return Ok(ignored(msg, "the resource is not an attendee of the event"));
    }
    // Take the resource's write lock before reading what the decision depends on, so that
    // two requests for it cannot both see the same free period.
    s.lock_user(user)?;
    let mut fresh = Vec::new();
    for e in events {
        if !outdated(s, user, e)? {
            fresh.push(e.clone());
        }
    }
    let Some(first) = fresh.first().cloned() else {
        return Ok(ignored(msg, "the request is older than the copy held"));
    };
    let functions = ctx.prefs.scheduling_functions().unwrap_or_default();
    let booking = booking(s, ctx, &fresh)?;
    let decision = if functions.is_empty() {
        Decision::Decline(NO_FUNCTION.to_owned())
    } else {
        decide(s, ctx, &functions, &booking)?
    };
    let decision = match decision {
        Decision::Accept => match confirm(s, ctx, &functions, &booking, &fresh)? {
            None => Decision::Accept,
            Some(why) => Decision::Decline(why),
        },
        other => other,
    };
    let mut zones = msg.zones.clone();
    let mut components = Vec::new();
    let (kind, reason, method) = match &decision {
        Decision::Counter(ds, de) => {
            // Nothing is stored: the offer (if offers are kept) holds the proposed periods.
            if let Some(lasting) = ctx.prefs.offer_duration() {
                let offers: Vec<crate::Offer> = booking
                    .periods
                    .iter()
                    .map(|p| crate::Offer {
                        period: Period {
                            start: p.start + *ds,
                            end: p.end + *de,
                            transp: Some(p.transp.clone().unwrap_or_else(|| "OPAQUE".into())),
                            ..p.clone()
                        },
                        expires: Some(ctx.now + lasting),
                    })
                    .collect();
                s.update_offers_for_event(user, &first.uid, booking.rid.as_deref(), &offers)?;
            }
            for e in &fresh {
                let mut c = answer_component(ctx, e, "TENTATIVE", &mut zones)?;
                shift(&mut c, ctx, e, *ds, *de)?;
                components.push(c.to_text());
            }
            (OutcomeKind::Countered, None, Method::Counter)
        }
        Decision::Accept | Decision::Decline(_) => {
            let (partstat, kind, reason) = match &decision {
                Decision::Decline(why) => ("DECLINED", OutcomeKind::Declined, Some(why.clone())),
                _ => ("ACCEPTED", OutcomeKind::Accepted, None),
            };
            if let Some(parent) = fresh.iter().find(|e| e.recurrence_id().is_none()) {
                drop_obsolete_overrides(s, user, parent)?;
            }
            for e in &fresh {
                record(s, ctx, &with_partstat(e, user, partstat, ctx.sent_by())?)?;
                // A decided request supersedes any offer made for it.
                s.update_offers_for_event(user, &e.uid, e.recurrence_id().as_deref(), &[])?;
                let mut answer = answer_component(ctx, e, partstat, &mut zones)?;
                if let Some(why) = &reason {
                    // The reason travels with the answer as a COMMENT (RFC 5546 §3.2.3
                    // allows one in a REPLY); the organiser's copy keeps it on the attendee.
                    answer.push(Line::new("COMMENT", super::text::escape_text(why)));
                }
                components.push(answer.to_text());
            }
            if kind == OutcomeKind::Declined {
                retract(s, ctx, &functions, &first)?;
            }
            (kind, reason, answer)
        }
    };
    let mut out = outcome(msg, kind, reason);
    out.rid = match fresh.as_slice() {
        [one] => one.recurrence_id(),
        _ => None,
    };
    out.responses
        .extend(to_organiser(ctx, method, &first, &zones, &components));
    Ok(out)
}

/// The periods the request books: the event's periods inside the window as recorded
/// free/busy would hold them (overrides in the message replace their occurrences), with the
/// overrides the resource already holds when only the parent is sent.
fn booking<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    fresh: &[EventComponent],
) -> Result<BookingRequest> {
    let mut events: Vec<EventComponent> = fresh.to_vec();
    if let Some(parent) = fresh.iter().find(|e| e.recurrence_id().is_none()) {
        for rid in s.get_active_recurrences(ctx.user, &parent.uid)? {
            if fresh
                .iter()
                .any(|e| e.recurrence_id().as_deref() == Some(&rid))
            {
                continue;
            }
            if let Some((e, _)) = stored(s, ctx.user, &parent.uid, Some(&rid))?
                && e.sequence >= parent.sequence
            {
                events.push(e);
            }
        }
    }
    let mut b =
        booking_from_events(&events, None, ctx.record.tz, ctx.record.window_end).or_else(|_| {
            // No ORGANIZER: the booking is still checked, for nobody in particular.
            booking_from_events(
                &events,
                Some("mailto:unknown"),
                ctx.record.tz,
                ctx.record.window_end,
            )
        })?;
    if fresh.len() == 1 {
        b.rid = fresh.first().and_then(EventComponent::recurrence_id);
    }
    Ok(b)
}

/// Applies the scheduling functions in order: the first that declines or counters decides;
/// if none does, the request is accepted (imip-agent's `apply_scheduling_functions`).
fn decide<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    functions: &[SchedulingFunction],
    booking: &BookingRequest,
) -> Result<Decision> {
    let user = ctx.user;
    for f in functions {
        match f.kind {
            SchedulingFunctionKind::ScheduleInFreebusy => {
                let n = f
                    .args
                    .first()
                    .and_then(|a| a.parse::<usize>().ok())
                    .unwrap_or(1);
                if !free(s, user, &booking.periods, &booking.uid, n)? {
                    return Ok(Decision::Decline(UNAVAILABLE.to_owned()));
                }
            }
            SchedulingFunctionKind::ScheduleCorrectedInFreebusy
            | SchedulingFunctionKind::ScheduleNextAvailableInFreebusy => {
                let (ds, de) = correction(ctx, &booking.periods);
                let moved = shifted(&booking.periods, ds, de);
                if free(s, user, &moved, &booking.uid, 1)? {
                    if ds.is_zero() && de.is_zero() {
                        continue;
                    }
                    return Ok(Decision::Counter(ds, de));
                }
                if f.kind == SchedulingFunctionKind::ScheduleNextAvailableInFreebusy
                    && let Some((ds, de)) = next_available(s, ctx, booking, ds, de)?
                {
                    return Ok(Decision::Counter(ds, de));
                }
                return Ok(Decision::Decline(UNAVAILABLE.to_owned()));
            }
            SchedulingFunctionKind::CheckQuota => {
                let quota = f.quota(user);
                if let QuotaDecision::Declined { reason, .. } =
                    s.journal().check_quota(quota, &booking.booking(user))?
                {
                    return Ok(Decision::Decline(reason.message().to_owned()));
                }
            }
            SchedulingFunctionKind::ScheduleAcrossQuota => {
                let quota = f.quota(user);
                let held = s.journal().get_user_entries(quota, &booking.organiser)?;
                let clash = held.iter().any(|h| {
                    h.is_busy()
                        && h.uid.as_deref() != Some(booking.uid.as_str())
                        && booking
                            .periods
                            .iter()
                            .any(|p| p.is_busy() && h.overlaps(p.start, p.end))
                });
                if clash {
                    return Ok(Decision::Decline(ELSEWHERE.to_owned()));
                }
            }
        }
    }
    Ok(Decision::Accept)
}

/// Records an accepted booking with the quota functions (imip-agent's confirmation
/// functions): each quota reservation is checked again under the quota's lock; if one no
/// longer fits, the reservations made so far are withdrawn and the reason returned.
fn confirm<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    functions: &[SchedulingFunction],
    booking: &BookingRequest,
    fresh: &[EventComponent],
) -> Result<Option<String>> {
    let user = ctx.user;
    let mut reserved: Vec<&str> = Vec::new();
    for f in functions
        .iter()
        .filter(|f| f.kind == SchedulingFunctionKind::CheckQuota)
    {
        let quota = f.quota(user);
        let group = s.journal().group_of(quota, &booking.organiser)?;
        // Whatever this resource held for the event before is replaced.
        s.journal()
            .remove_from_quota(quota, &group, user, &booking.uid)?;
        match s.journal().reserve(quota, &booking.booking(user))? {
            QuotaDecision::Accepted { .. } => reserved.push(quota),
            QuotaDecision::Declined { reason, .. } => {
                for q in reserved {
                    let group = s.journal().group_of(q, &booking.organiser)?;
                    s.journal()
                        .remove_from_quota(q, &group, user, &booking.uid)?;
                }
                return Ok(Some(reason.message().to_owned()));
            }
        }
        for e in fresh {
            let answered = with_partstat(e, user, "ACCEPTED", ctx.sent_by())?;
            s.journal()
                .set_event(quota, &e.uid, e.recurrence_id().as_deref(), &answered.text)?;
        }
    }
    for f in functions
        .iter()
        .filter(|f| f.kind == SchedulingFunctionKind::ScheduleAcrossQuota)
    {
        s.journal().add_user_entries(
            f.quota(user),
            &booking.organiser,
            &booking.uid,
            booking.rid.as_deref(),
            &booking.periods,
        )?;
    }
    Ok(None)
}

/// Withdraws what the quota functions recorded for the event (imip-agent's retraction
/// functions), when it is cancelled or declined.
fn retract<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    functions: &[SchedulingFunction],
    e: &EventComponent,
) -> Result<()> {
    let user = ctx.user;
    let organiser = e.organizer.clone().unwrap_or_default();
    for f in functions {
        let quota = f.quota(user);
        match f.kind {
            SchedulingFunctionKind::CheckQuota => {
                let group = s.journal().group_of(quota, &organiser)?;
                s.journal().remove_from_quota(quota, &group, user, &e.uid)?;
                s.journal().remove_event(quota, &e.uid, None)?;
            }
            SchedulingFunctionKind::ScheduleAcrossQuota if !organiser.is_empty() => {
                s.journal().remove_user_entries(quota, &organiser, &e.uid)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A CANCEL: the event or occurrence cancelled, its periods gone, quota entries withdrawn
/// (for one occurrence, the event's remaining periods recorded instead). No answer.
fn cancel_message<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &mut Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    let functions = ctx.prefs.scheduling_functions().unwrap_or_default();
    let mut any = false;
    for e in &msg.events {
        if older(s, user, e)? {
            continue;
        }
        if !cancel(s, ctx, e)? {
            continue;
        }
        any = true;
        s.update_offers_for_event(user, &e.uid, e.recurrence_id().as_deref(), &[])?;
        let remaining: Vec<Period> = s
            .get_freebusy(user)?
            .into_iter()
            .filter(|p| p.uid.as_deref() == Some(e.uid.as_str()))
            .collect();
        retract(s, ctx, &functions, e)?;
        if !remaining.is_empty() {
            let organiser = e.organizer.clone().unwrap_or_default();
            for f in functions
                .iter()
                .filter(|f| f.kind == SchedulingFunctionKind::CheckQuota)
            {
                let quota = f.quota(user);
                let group = s.journal().group_of(quota, &organiser)?;
                s.journal()
                    .add_to_quota(quota, &group, user, &e.uid, None, &remaining)?;
                if let Some(text) = s.get_complete_event(user, &e.uid)? {
                    s.journal().set_event(quota, &e.uid, None, &text)?;
                }
            }
        }
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Cancelled, None),
        false => ignored(msg, "nothing held was cancelled"),
    })
}

/// True if no busy period of the resource's free/busy or live offers (other than the
/// event's own) overlaps the busy `periods` with `concurrency` or more bookings at once.
/// Transparent requested periods need no room, and transparent bookings take none
/// (imip-agent ignored TRANSP).
fn free<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    periods: &[Period],
    uid: &str,
    concurrency: usize,
) -> Result<bool> {
    let wanted: Vec<&Period> = periods
        .iter()
        .filter(|p| p.is_busy() && p.end > p.start)
        .collect();
    let (Some(from), Some(to)) = (
        wanted.iter().map(|p| p.start).min(),
        wanted.iter().map(|p| p.end).max(),
    ) else {
        return Ok(true);
    };
    let mut held = s.get_freebusy_in(user, from, to)?;
    held.extend(
        s.get_freebusy_offers_in(user, from, to)?
            .into_iter()
            .map(|o| o.period),
    );
    held.retain(|p| p.is_busy() && p.uid.as_deref() != Some(uid) && p.end > p.start);
    for w in wanted {
        let mut edges: Vec<(DateTime<Utc>, i32)> = Vec::new();
        for h in held.iter().filter(|h| h.overlaps(w.start, w.end)) {
            edges.push((h.start.max(w.start), 1));
            edges.push((h.end.min(w.end), -1));
        }
        edges.sort();
        let mut at_once = 0usize;
        for (_, d) in edges {
            at_once = if d > 0 {
                at_once + 1
            } else {
                at_once.saturating_sub(1)
            };
            if at_once >= concurrency {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// How far `permitted_times` moves the event: its first period's start and end each go to
/// the next permitted time (an end that would not follow the start is put the event's length
/// after it, then corrected).
fn correction(ctx: &Ctx<'_>, periods: &[Period]) -> (TimeDelta, TimeDelta) {
    let (Some(p), Some(permitted)) = (periods.first(), ctx.prefs.permitted_times()) else {
        return (TimeDelta::zero(), TimeDelta::zero());
    };
    let tz = ctx.record.tz;
    let Some(start) = permitted.correct(p.start, tz) else {
        return (TimeDelta::zero(), TimeDelta::zero());
    };
    let mut end = permitted.correct(p.end, tz).unwrap_or(p.end);
    if end <= start {
        end = permitted
            .correct(start + (p.end - p.start), tz)
            .unwrap_or(start + (p.end - p.start));
    }
    (start - p.start, end - p.end)
}

fn shifted(periods: &[Period], ds: TimeDelta, de: TimeDelta) -> Vec<Period> {
    periods
        .iter()
        .map(|p| Period {
            start: p.start + ds,
            end: p.end + de,
            ..p.clone()
        })
        .collect()
}

/// imip-agent's `schedule_next_available_in_freebusy`: for an event of one period, the first
/// free period of its length after the requested (corrected) one, within the window.
fn next_available<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    booking: &BookingRequest,
    ds: TimeDelta,
    de: TimeDelta,
) -> Result<Option<(TimeDelta, TimeDelta)>> {
    let [p] = booking.periods.as_slice() else {
        return Ok(None);
    };
    let length = (p.end + de) - (p.start + ds);
    let mut start = p.start + ds;
    for _ in 0..1000 {
        if start >= ctx.record.window_end {
            return Ok(None);
        }
        let candidate = Period {
            start,
            end: start + length,
            ..p.clone()
        };
        let blocking: Vec<Period> = s
            .get_freebusy_in(ctx.user, candidate.start, candidate.end)?
            .into_iter()
            .chain(
                s.get_freebusy_offers_in(ctx.user, candidate.start, candidate.end)?
                    .into_iter()
                    .map(|o| o.period),
            )
            .filter(|h| h.is_busy() && h.uid.as_deref() != Some(booking.uid.as_str()))
            .collect();
        let Some(latest_end) = blocking.iter().map(|h| h.end).max() else {
            return Ok(Some((start - p.start, start + length - p.end)));
        };
        start = latest_end.max(start + TimeDelta::seconds(1));
        if let Some(permitted) = ctx.prefs.permitted_times()
            && let Some(c) = permitted.correct(start, ctx.record.tz)
        {
            start = c;
        }
    }
    Ok(None)
}

/// Moves a counter-proposal's DTSTART and DTEND (a DURATION becomes a DTEND).
fn shift(
    c: &mut Component,
    ctx: &Ctx<'_>,
    e: &EventComponent,
    ds: TimeDelta,
    de: TimeDelta,
) -> Result<()> {
    let exp = e
        .instances(&crate::ical::ExpandContext::new(
            ctx.record.tz,
            ctx.record.window_end.max(ctx.now + TimeDelta::days(3660)),
        ))
        .map_err(|err| StoreError::invalid(err.0))?;
    let Some(first) = exp.instances.first() else {
        return Ok(());
    };
    let start_line = c.first("DTSTART").cloned();
    let end_like = c.first("DTEND").cloned().or_else(|| start_line.clone());
    c.set(time_line("DTSTART", first.start + ds, start_line.as_ref()));
    c.remove("DURATION");
    c.set(time_line("DTEND", first.end + de, end_like.as_ref()));
    Ok(())
}
