//! A person (a user without `scheduling_function`) receiving messages: imip-agent's
//! `imip_person` handlers. Requests are stored and queued for the person to decide; the
//! organiser's answers (REPLY), counter-proposals (COUNTER) and refresh requests update
//! the organiser's copy and queue.

use super::text::{self, Component, Line};
use super::{
    Ctx, Message, Method, Outcome, OutcomeKind, Response, attendee_of, cancel, component,
    drop_obsolete_overrides, ignored, is_organiser, older, outcome, outdated, periods_for, record,
    reparse, stored,
};
use crate::error::Result;
use crate::ical::EventComponent;
use crate::ical::datetime::format_utc;
use crate::period::Period;
use crate::publish;
use crate::record::participation::{PUBLISHED_PROPERTY, same_uri};
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;

/// The ATTENDEE parameter in which an organiser's copy remembers the SEQUENCE and DTSTAMP of
/// the last answer applied for that attendee (`SEQ/DTSTAMP`), so that answers are applied in
/// that order whatever order they arrive in. It never leaves the store.
const REPLY_PARAM: &str = "X-CALSTORE-REPLY";

pub(super) fn receive<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &mut Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    if msg.events.is_empty() {
        return freebusy(s, ctx, msg);
    }
    match msg.method {
        Method::Request => request(s, ctx, msg, &msg.events),
        Method::Add => match added(s, ctx, msg)? {
            Some(events) => request(s, ctx, msg, &events),
            None => unknown_add(s, ctx, msg),
        },
        Method::Cancel => cancel_message(s, ctx, msg),
        Method::Reply => reply(s, ctx, msg),
        Method::Counter => counter(s, ctx, msg),
        Method::DeclineCounter => decline_counter(s, ctx, msg),
        Method::Refresh => refresh(s, ctx, msg),
        Method::Publish => publish_events(s, ctx, msg),
    }
}

/// A REQUEST to an attendee: the event stored as sent (their PARTSTAT, usually
/// NEEDS-ACTION, keeps it out of their free/busy until they answer), queued for them, and
/// the organiser's periods held as the organiser's free/busy.
fn request<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
    events: &[EventComponent],
) -> Result<Outcome> {
    let user = ctx.user;
    super::require_dtstart(events, msg.method)?;
    if events.iter().any(|e| is_organiser(e, user)) {
        return Ok(ignored(msg, "the recipient organises the event"));
    }
    let mut fresh = Vec::new();
    for e in events {
        if !outdated(s, user, e)? {
            fresh.push(e);
        }
    }
    if fresh.is_empty() {
        return Ok(ignored(msg, "the request is older than the copy held"));
    }
    if let Some(parent) = fresh.iter().find(|e| e.recurrence_id().is_none()) {
        drop_obsolete_overrides(s, user, parent)?;
    }
    for e in &fresh {
        record(s, ctx, e)?;
        s.queue_request(user, &e.uid, e.recurrence_id().as_deref(), None)?;
        organiser_freebusy(s, ctx, e)?;
    }
    let mut out = outcome(msg, OutcomeKind::Stored, None);
    out.rid = match fresh.as_slice() {
        [one] => one.recurrence_id(),
        _ => None,
    };
    Ok(out)
}

/// What the user holds about the organiser's time: the event's periods for the organiser.
fn organiser_freebusy<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    e: &EventComponent,
) -> Result<()> {
    let Some(organiser) = e.organizer.as_deref().filter(|o| !same_uri(o, ctx.user)) else {
        return Ok(());
    };
    let periods = periods_for(ctx, e, organiser)?;
    s.update_freebusy_for_other_event(
        ctx.user,
        organiser,
        &e.uid,
        e.recurrence_id().as_deref(),
        &periods,
    )
}

/// The occurrences of an ADD as overrides of the held event (each gets a RECURRENCE-ID equal
/// to its DTSTART), or None when the event is not held.
pub(super) fn added<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Option<Vec<EventComponent>>> {
    let Some(uid) = msg.uid() else {
        return Ok(None);
    };
    if s.get_complete_event(ctx.user, uid)?.is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for e in &msg.events {
        if e.recurrence_id().is_some() {
            out.push(e.clone());
            continue;
        }
        let mut c = component(e)?;
        if let Some(start) = c.first("DTSTART").cloned() {
            c.set(Line {
                name: "RECURRENCE-ID".to_owned(),
                ..start
            });
        }
        c.remove("RRULE");
        c.remove("RDATE");
        c.remove("EXDATE");
        out.push(reparse(&c)?);
    }
    Ok(Some(out))
}

/// An ADD for an event the user does not hold: by `add_method_response`, ask the organiser
/// for it with a REFRESH (the default), or leave it.
pub(super) fn unknown_add<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let Some(e) = msg.events.first() else {
        return Ok(ignored(msg, "nothing to add"));
    };
    match ctx.prefs.choice("add_method_response") {
        "add" => request(s, ctx, msg, &msg.events),
        "ignore" => Ok(ignored(msg, "the event added to is not held")),
        _ => {
            let mut out = ignored(msg, "the event added to is not held: asked for it");
            let mut c = Component::new("VEVENT");
            c.push(Line::new("UID", e.uid.clone()));
            c.push(Line::new("DTSTAMP", format_utc(ctx.now)));
            if let Some(org) = &e.organizer {
                c.push(Line::new("ORGANIZER", org.clone()));
            }
            c.push(Line::new("ATTENDEE", ctx.user));
            out.responses.extend(super::to_organiser(
                ctx,
                Method::Refresh,
                e,
                &[],
                &[c.to_text()],
            ));
            Ok(out)
        }
    }
}

/// A CANCEL: the event or occurrence cancelled, its request dequeued, the organiser's
/// periods for it dropped.
fn cancel_message<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    let mut any = false;
    for e in &msg.events {
        if older(s, user, e)? {
            continue;
        }
        // An attendee left out of a CANCEL that names others was not uninvited.
        if !e.attendees.is_empty() && attendee_of(e, user).is_none() && !is_organiser(e, user) {
            continue;
        }
        let rid = e.recurrence_id();
        if cancel(s, ctx, e)? {
            any = true;
        }
        any |= s.dequeue_request(user, &e.uid, rid.as_deref())?;
        if let Some(org) = e.organizer.as_deref().filter(|o| !same_uri(o, user)) {
            s.update_freebusy_for_other_event(user, org, &e.uid, rid.as_deref(), &[])?;
        }
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Cancelled, None),
        false => ignored(msg, "nothing held was cancelled"),
    })
}

/// The organiser's copy of (uid, rid): the override, else the parent; only when the user
/// organises it.
fn organiser_copy<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    e: &EventComponent,
) -> Result<Option<(EventComponent, bool)>> {
    let rid = e.recurrence_id();
    if rid.is_some()
        && let Some((held, Status::Active)) = stored(s, user, &e.uid, rid.as_deref())?
        && is_organiser(&held, user)
    {
        return Ok(Some((held, true)));
    }
    match stored(s, user, &e.uid, None)? {
        Some((held, Status::Active)) if is_organiser(&held, user) => Ok(Some((held, false))),
        _ => Ok(None),
    }
}

/// `SEQ/DTSTAMP` of an answer.
fn reply_mark(e: &EventComponent) -> String {
    format!(
        "{}/{}",
        e.sequence,
        e.dtstamp.map(format_utc).unwrap_or_default()
    )
}

/// True if the answer marked `new` comes after the one marked `old` (by SEQUENCE, then
/// DTSTAMP; an answer without DTSTAMP after any of the same SEQUENCE).
fn mark_is_later(new: &str, old: &str) -> bool {
    let split = |m: &str| -> (i64, String) {
        let (seq, stamp) = m.split_once('/').unwrap_or((m, ""));
        (seq.parse().unwrap_or(i64::MIN), stamp.to_owned())
    };
    let (ns, nd) = split(new);
    let (os, od) = split(old);
    ns > os || (ns == os && (nd.is_empty() || od.is_empty() || nd > od))
}

/// A REPLY to the organiser: each answering attendee's parameters (PARTSTAT, …) taken into
/// the organiser's copy, unless an answer of a later SEQUENCE and DTSTAMP was applied
/// already; what the organiser holds about the attendee's time follows the answer; their
/// counter-proposal is withdrawn.
fn reply<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let user = ctx.user;
    let mut updated = false;
    for e in &msg.events {
        let Some((held, own)) = organiser_copy(s, user, e)? else {
            continue;
        };
        if e.sequence < held.sequence {
            continue;
        }
        let answer = component(e)?;
        let mut copy = if own {
            component(&held)?
        } else if e.recurrence_id().is_some() {
            // An answer for one occurrence of which only the parent is held: the occurrence
            // as answered, with the parent's attendees.
            let parent = component(&held)?;
            let mut c = answer.clone();
            c.retain(|p| p.name != "ATTENDEE");
            for a in parent.props().filter(|p| p.name == "ATTENDEE") {
                c.push(a.clone());
            }
            c
        } else {
            component(&held)?
        };
        let mark = reply_mark(e);
        let mut answered: Vec<(String, String)> = Vec::new();
        for a in answer.props().filter(|p| p.name == "ATTENDEE") {
            let Some(target) = copy
                .props_mut()
                .find(|p| p.name == "ATTENDEE" && same_uri(p.uri(), a.uri()))
            else {
                continue;
            };
            if let Some(prev) = target.param(REPLY_PARAM)
                && !mark_is_later(&mark, &prev)
            {
                continue;
            }
            // A reason given with an earlier answer does not outlive it; a decline's COMMENT
            // is kept as the attendee's reason.
            target.remove_param(super::REASON_PARAM);
            for (name, value) in &a.params {
                if name != "RSVP" {
                    target.remove_param(name);
                    target.params.push((name.clone(), value.clone()));
                }
            }
            if a.param("PARTSTAT").as_deref() == Some("DECLINED")
                && let Some(comment) = answer.first("COMMENT")
            {
                let why: String = super::text::unescape_text(&comment.value)
                    .chars()
                    .filter(|c| *c != '"' && !c.is_control())
                    .take(200)
                    .collect();
                if !why.is_empty() {
                    target.set_param(super::REASON_PARAM, &why);
                }
            }
            target.set_param(REPLY_PARAM, &mark);
            answered.push((
                a.uri().to_owned(),
                a.param("PARTSTAT").unwrap_or_else(|| "NEEDS-ACTION".into()),
            ));
        }
        if answered.is_empty() {
            continue;
        }
        updated = true;
        let copy = reparse(&copy)?;
        record(s, ctx, &copy)?;
        let rid = copy.recurrence_id();
        for (attendee, _) in &answered {
            let periods = periods_for(ctx, &copy, attendee)?;
            s.update_freebusy_for_other_event(user, attendee, &e.uid, rid.as_deref(), &periods)?;
            s.remove_counter(user, attendee, &e.uid, rid.as_deref())?;
        }
        if s.get_counters(user, &e.uid, rid.as_deref())?.is_empty()
            && s.has_request(user, &e.uid, rid.as_deref(), Some("COUNTER"), true)?
        {
            s.dequeue_request(user, &e.uid, rid.as_deref())?;
        }
    }
    Ok(match updated {
        true => outcome(msg, OutcomeKind::Updated, None),
        false => ignored(msg, "no answer applies to an event the recipient organises"),
    })
}

/// A COUNTER to the organiser from an attendee of their copy: kept per attendee and queued as
/// a COUNTER request; the organiser's copy and free/busy are unchanged until they decide.
fn counter<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let user = ctx.user;
    super::require_dtstart(&msg.events, msg.method)?;
    let mut stored_any = false;
    for e in &msg.events {
        let Some((held, _)) = organiser_copy(s, user, e)? else {
            continue;
        };
        if e.sequence < held.sequence {
            continue;
        }
        // Who countered: the sender when named among the attendees, else the first
        // attendee other than the organiser.
        let from = ctx
            .opts
            .from
            .clone()
            .filter(|f| attendee_of(e, f).is_some())
            .or_else(|| {
                e.attendees
                    .iter()
                    .find(|a| !same_uri(&a.uri, user))
                    .map(|a| a.uri.clone())
            })
            .or_else(|| ctx.opts.from.clone());
        let Some(from) = from else {
            continue;
        };
        // Only someone the organiser invited proposes another time.
        if attendee_of(&held, &from).is_none() {
            continue;
        }
        let rid = e.recurrence_id();
        s.set_counter(user, &from, &e.uid, rid.as_deref(), &e.text)?;
        s.queue_request(user, &e.uid, rid.as_deref(), Some("COUNTER"))?;
        stored_any = true;
    }
    Ok(match stored_any {
        true => outcome(msg, OutcomeKind::Stored, None),
        false => ignored(
            msg,
            "the counter-proposal is for no event the recipient organises",
        ),
    })
}

/// A DECLINECOUNTER to the attendee who countered: the offers made for it are withdrawn, and
/// a proposal their copy remembers is marked declined.
pub(super) fn decline_counter<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    let mut any = false;
    for e in &msg.events {
        let rid = e.recurrence_id();
        let held = s.get_freebusy_offers(user)?.iter().any(|o| {
            o.period.uid.as_deref() == Some(e.uid.as_str()) && o.period.recurrenceid == rid
        });
        if held {
            s.update_offers_for_event(user, &e.uid, rid.as_deref(), &[])?;
            any = true;
        }
        // A proposal the user's copy remembers (made through a client) shows the decline.
        any |= super::counter::mark_declined(s, ctx, e)?;
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Updated, None),
        false => ignored(msg, "no offer or proposal is held for the event"),
    })
}

/// A REFRESH to the organiser: with `event_refreshing=always`, the held event is sent again
/// as a REQUEST to who asked; otherwise the refresh is queued for the organiser.
fn refresh<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let user = ctx.user;
    let Some(e) = msg.events.first() else {
        return Ok(ignored(msg, "nothing to refresh"));
    };
    let Some((held, _)) = organiser_copy(s, user, e)? else {
        return Ok(ignored(msg, "the event is not organised by the recipient"));
    };
    let asking: Vec<String> = e
        .attendees
        .iter()
        .map(|a| a.uri.clone())
        .chain(ctx.opts.from.clone())
        .take(1)
        .collect();
    if ctx.prefs.choice("event_refreshing") != "always" {
        s.queue_request(user, &e.uid, e.recurrence_id().as_deref(), Some("REFRESH"))?;
        return Ok(outcome(msg, OutcomeKind::Stored, None));
    }
    let mut zones = Vec::new();
    let mut components = Vec::new();
    let mut parts = vec![held.clone()];
    for rid in s.get_active_recurrences(user, &held.uid)? {
        if let Some((r, _)) = stored(s, user, &held.uid, Some(&rid))? {
            parts.push(r);
        }
    }
    for p in &parts {
        let mut c = component(p)?;
        zones.extend(c.take_store_properties());
        components.push(c.to_text());
    }
    let mut out = ignored(msg, "the event was sent again");
    out.responses.push(Response {
        method: Method::Request,
        from: user.to_owned(),
        to: asking,
        uid: held.uid.clone(),
        text: text::calendar("REQUEST", &zones, &components),
    });
    Ok(out)
}

/// A PUBLISHed event: stored (marked so that it stays out of the holder's free/busy) with
/// the publisher's periods held as theirs; nothing is queued (imip-agent's `publish`).
fn publish_events<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    super::require_dtstart(&msg.events, msg.method)?;
    let mut any = false;
    for e in &msg.events {
        if is_organiser(e, user) || outdated(s, user, e)? {
            continue;
        }
        let e = if attendee_of(e, user).is_none() {
            let mut c = component(e)?;
            c.set(Line::new(PUBLISHED_PROPERTY, "TRUE"));
            reparse(&c)?
        } else {
            e.clone()
        };
        if let Some(parent) = Some(&e).filter(|e| e.recurrence_id().is_none()) {
            drop_obsolete_overrides(s, user, parent)?;
        }
        record(s, ctx, &e)?;
        organiser_freebusy(s, ctx, &e)?;
        any = true;
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Stored, None),
        false => ignored(msg, "the published event is older than the copy held"),
    })
}

/// VFREEBUSY: PUBLISH or REPLY give another party's free/busy (kept, replacing what is held
/// for each component's range); a REQUEST asks for the user's, answered with a REPLY when
/// they share it (`freebusy_sharing=share`).
pub(super) fn freebusy<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    match msg.method {
        Method::Publish | Method::Reply => {
            let mut stored = 0;
            for comp in &msg.freebusy {
                let other = match msg.method {
                    Method::Reply => comp.attendees.first().cloned(),
                    _ => comp.organizer.clone(),
                }
                .or_else(|| ctx.opts.from.clone());
                let Some(other) = other.filter(|o| !same_uri(o, user)) else {
                    continue;
                };
                s.import_freebusy_for_other(user, &other, std::slice::from_ref(comp))?;
                stored += 1;
            }
            let mut out = match stored {
                0 => ignored(msg, "the free/busy names no other party"),
                _ => outcome(msg, OutcomeKind::Stored, None),
            };
            out.uid = None;
            Ok(out)
        }
        Method::Request if ctx.prefs.shares_freebusy() => {
            let mut out = ignored(msg, "free/busy given");
            out.uid = None;
            for comp in &msg.freebusy {
                let (Some(from), Some(to)) = (comp.start, comp.end) else {
                    continue;
                };
                let Some(asking) = comp.organizer.clone().or_else(|| ctx.opts.from.clone()) else {
                    continue;
                };
                let periods: Vec<Period> = s.get_freebusy_in(user, from, to)?;
                let published = publish::vfreebusy(user, &periods, ctx.now, Some((from, to)));
                let mut c = Component::parse(&vfreebusy_of(&published))
                    .unwrap_or_else(|| Component::new("VFREEBUSY"));
                c.remove("ORGANIZER");
                c.remove("UID");
                c.push(Line::new("ORGANIZER", asking.clone()));
                c.push(Line::new("ATTENDEE", user));
                if let Some(uid) = &comp.uid {
                    c.push(Line::new("UID", uid.clone()));
                }
                out.responses.push(Response {
                    method: Method::Reply,
                    from: user.to_owned(),
                    to: vec![asking],
                    uid: comp.uid.clone().unwrap_or_default(),
                    text: text::calendar("REPLY", &[], &[c.to_text()]),
                });
            }
            Ok(out)
        }
        _ => {
            let mut out = ignored(msg, "free/busy is not shared or the method does not apply");
            out.uid = None;
            Ok(out)
        }
    }
}

/// The VFREEBUSY component of a published VCALENDAR.
fn vfreebusy_of(calendar: &str) -> String {
    let start = calendar.find("BEGIN:VFREEBUSY").unwrap_or(0);
    let end = calendar
        .find("END:VFREEBUSY")
        .map_or(calendar.len(), |i| i + "END:VFREEBUSY\r\n".len());
    calendar.get(start..end).unwrap_or_default().to_owned()
}
