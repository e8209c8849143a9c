//! What a user sends, recorded in their own store (imip-agent's outgoing handler): an
//! organiser's REQUEST, CANCEL and DECLINECOUNTER, an attendee's REPLY and COUNTER.

use super::{
    Ctx, Message, Method, Outcome, OutcomeKind, attendee_of, cancel, component,
    drop_obsolete_overrides, ignored, is_organiser, older, outcome, outdated, periods_for, record,
    reparse, stored,
};
use crate::error::{Result, StoreError};
use crate::record::participation::same_uri;
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;

pub(super) fn send<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &mut Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    if msg.events.is_empty() {
        return Err(StoreError::invalid(
            "send records events; this message holds none",
        ));
    }
    let organises = msg.events.iter().all(|e| is_organiser(e, user));
    match msg.method {
        Method::Request | Method::Cancel | Method::DeclineCounter | Method::Add if !organises => {
            Err(StoreError::invalid(format!(
                "{user} is not the ORGANIZER of the event: only the organiser sends {}",
                msg.method
            )))
        }
        Method::Request | Method::Add => request(s, ctx, msg),
        Method::Cancel => cancel_message(s, ctx, msg),
        Method::DeclineCounter => decline_counter(s, ctx, msg),
        Method::Reply => reply(s, ctx, msg),
        Method::Counter => counter(s, ctx, msg),
        Method::Publish | Method::Refresh => Err(StoreError::invalid(format!(
            "send records REQUEST, ADD, CANCEL, DECLINECOUNTER, REPLY and COUNTER, not {}",
            msg.method
        ))),
    }
}

/// The organiser's own copy stored (free/busy follows); older overrides dropped by a newer
/// parent; counter-proposals the new version answers withdrawn.
fn request<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let user = ctx.user;
    super::require_dtstart(&msg.events, msg.method)?;
    let mut any = false;
    for e in &msg.events {
        if outdated(s, user, e)? {
            continue;
        }
        if e.recurrence_id().is_none() {
            drop_obsolete_overrides(s, user, e)?;
        }
        record(s, ctx, e)?;
        let rid = e.recurrence_id();
        s.remove_counters(user, &e.uid, rid.as_deref())?;
        if s.has_request(user, &e.uid, rid.as_deref(), Some("COUNTER"), true)? {
            s.dequeue_request(user, &e.uid, rid.as_deref())?;
        }
        any = true;
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Stored, None),
        false => ignored(msg, "the request is older than the copy held"),
    })
}

/// A CANCEL naming only some of the attendees removes them from the organiser's copy;
/// otherwise the event (or occurrence) is cancelled.
fn cancel_message<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    let mut kind = None;
    for e in &msg.events {
        if older(s, user, e)? {
            continue;
        }
        let rid = e.recurrence_id();
        if let Some((held, Status::Active)) = stored(s, user, &e.uid, rid.as_deref())? {
            let named: Vec<&str> = e.attendees.iter().map(|a| a.uri.as_str()).collect();
            let remaining = held
                .attendees
                .iter()
                .filter(|a| !named.iter().any(|n| same_uri(n, &a.uri)))
                .filter(|a| !same_uri(&a.uri, user))
                .count();
            if !named.is_empty() && remaining > 0 {
                let mut c = component(&held)?;
                c.retain(|p| p.name != "ATTENDEE" || !named.iter().any(|n| same_uri(n, p.uri())));
                record(s, ctx, &reparse(&c)?)?;
                kind.get_or_insert(OutcomeKind::Updated);
                continue;
            }
        }
        if cancel(s, ctx, e)? {
            kind = Some(OutcomeKind::Cancelled);
        }
    }
    Ok(match kind {
        Some(k) => outcome(msg, k, None),
        None => ignored(msg, "nothing held was cancelled"),
    })
}

/// A DECLINECOUNTER: the attendee's counter-proposal dropped, the COUNTER request dequeued
/// once none is left.
fn decline_counter<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    msg: &Message,
) -> Result<Outcome> {
    let user = ctx.user;
    let mut any = false;
    for e in &msg.events {
        let rid = e.recurrence_id();
        for a in &e.attendees {
            any |= s.remove_counter(user, &a.uri, &e.uid, rid.as_deref())?;
        }
        if s.get_counters(user, &e.uid, rid.as_deref())?.is_empty()
            && s.has_request(user, &e.uid, rid.as_deref(), Some("COUNTER"), true)?
        {
            s.dequeue_request(user, &e.uid, rid.as_deref())?;
        }
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Updated, None),
        false => ignored(msg, "no counter-proposal from those attendees is held"),
    })
}

/// An attendee's REPLY: their PARTSTAT taken into their copy (their free/busy follows) and
/// the request dequeued.
fn reply<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let user = ctx.user;
    let mut any = false;
    for e in &msg.events {
        let Some(answer) = attendee_of(e, user) else {
            return Err(StoreError::invalid(format!(
                "{user} is not an ATTENDEE of the reply"
            )));
        };
        let partstat = answer
            .partstat
            .clone()
            .unwrap_or_else(|| "NEEDS-ACTION".into());
        let rid = e.recurrence_id();
        let base = match stored(s, user, &e.uid, rid.as_deref())? {
            Some((held, Status::Active)) => held,
            _ => e.clone(),
        };
        let mut c = component(&base)?;
        for p in c.props_mut().filter(|p| p.name == "ATTENDEE") {
            if same_uri(p.uri(), user) {
                p.set_param("PARTSTAT", &partstat);
            }
        }
        record(s, ctx, &reparse(&c)?)?;
        s.dequeue_request(user, &e.uid, rid.as_deref())?;
        any = true;
    }
    Ok(match any {
        true => outcome(msg, OutcomeKind::Updated, None),
        false => ignored(msg, "nothing to record"),
    })
}

/// An attendee's COUNTER: the proposed periods kept as offers (when `freebusy_offers` is
/// set), so that the user is not booked over them meanwhile.
fn counter<C: SqlConnection>(s: &mut Store<C>, ctx: &Ctx<'_>, msg: &Message) -> Result<Outcome> {
    let Some(lasting) = ctx.prefs.offer_duration() else {
        return Ok(ignored(
            msg,
            "offers are not kept (freebusy_offers is not set)",
        ));
    };
    for e in &msg.events {
        let offers: Vec<crate::Offer> = periods_for(ctx, e, ctx.user)?
            .into_iter()
            .map(|period| crate::Offer {
                period,
                expires: Some(ctx.now + lasting),
            })
            .collect();
        s.update_offers_for_event(ctx.user, &e.uid, e.recurrence_id().as_deref(), &offers)?;
    }
    Ok(outcome(msg, OutcomeKind::Stored, None))
}
