//! Implicit scheduling: what a local user's own write to their calendar amounts to for the
//! other participants of the event, delivered as iTIP messages in the same unit of work.
//!
//! A front end that lets users write their calendars directly (the sync server for a pushed
//! mutation, CalDAV for a PUT or DELETE) takes the user's [`Copies`] of the event before the
//! write and calls [`Store::deliver_change`] after it, inside the write's transaction:
//!
//! | who wrote | what changed | message | to |
//! |---|---|---|---|
//! | the organiser | the event or an occurrence is new or different | REQUEST (every active copy) | its attendees |
//! | the organiser | attendees dropped | CANCEL | the dropped attendees |
//! | the organiser | the event or an occurrence cancelled or removed | CANCEL (that copy) | its attendees |
//! | an attendee | their PARTSTAT in a copy | REPLY (their ATTENDEE line) | the organiser |
//!
//! Each message is routed as [`Store::process`] routes answers: a local user (one with data
//! in the store, or a calendar of an account of this server) gets it processed for them —
//! a person's request queue, a resource's automatic decision — and their answers come back
//! the same way (a resource's REPLY updates the organiser's copy); anyone else gets it
//! queued in the outbox (component [`crate::outbox::OUTBOX`], which must exist).

use std::collections::{BTreeMap, BTreeSet};

use super::text::{self, Component, Line};
use super::{Method, Processed, Response, component, parse_one};
use crate::address;
use crate::error::Result;
use crate::ical::EventComponent;
use crate::record::participation::same_uri;
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;

/// A user's copies of one event: the parent (rid `None`) and the overrides, each with its
/// text and whether it is active.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copies {
    /// By recurrence id: (text, active).
    pub items: BTreeMap<Option<String>, (String, bool)>,
}

impl Copies {
    fn active(&self) -> impl Iterator<Item = (&Option<String>, &String)> {
        self.items
            .iter()
            .filter(|(_, (_, a))| *a)
            .map(|(rid, (t, _))| (rid, t))
    }
}

impl<C: SqlConnection> Store<C> {
    /// `user`'s copies of `uid`, active and cancelled.
    pub fn copies(&mut self, user: &str, uid: &str) -> Result<Copies> {
        let user = &*address::normalise(user);
        let mut items = BTreeMap::new();
        for status in [Status::Active, Status::Cancelled] {
            let active = status == Status::Active;
            if let Some(t) = self.get_event(user, uid, None, status)? {
                items.insert(None, (t, active));
            }
        }
        for rid in self.get_recurrences(user, uid)? {
            for status in [Status::Active, Status::Cancelled] {
                if let Some(t) = self.get_event(user, uid, Some(&rid), status)? {
                    items.insert(Some(rid.clone()), (t, status == Status::Active));
                }
            }
        }
        Ok(Copies { items })
    }

    /// Implicit scheduling after `user` changed their copies of `uid` from `before` to what
    /// is stored now (module documentation): the messages the change amounts to are routed
    /// to the other participants, as one unit of work. Nothing happens for an event without
    /// an organiser or other participants, or when nothing a participant sees changed.
    pub fn deliver_change(&mut self, user: &str, uid: &str, before: &Copies) -> Result<Processed> {
        let user = &*address::normalise(user);
        self.transaction(|s| {
            let after = s.copies(user, uid)?;
            let (responses, answered) = messages(user, uid, before, &after)?;
            // An attendee who answered has dealt with the request (imip-agent's outgoing
            // handler dequeues it likewise).
            for rid in &answered {
                s.dequeue_request(user, uid, rid.as_deref())?;
            }
            let mut processed = Processed {
                outcome: super::Outcome {
                    method: responses.first().map_or(Method::Request, |r| r.method),
                    uid: Some(uid.to_owned()),
                    rid: None,
                    kind: super::OutcomeKind::Stored,
                    reason: None,
                    responses: responses.clone(),
                },
                delivered: Vec::new(),
                queued: Vec::new(),
            };
            s.route(&responses, 0, &mut processed)?;
            Ok(processed)
        })
    }

    /// Whether `uri` is a user of this store: one with data in it, or (in a database that has
    /// accounts) the own calendar of an active account or a calendar granted to one.
    pub(crate) fn is_local_user(&mut self, uri: &str) -> Result<bool> {
        if self.user_exists(uri)? {
            return Ok(true);
        }
        if crate::schema::component_version(self.connection(), &crate::schema::ACCOUNTS)? == 0 {
            return Ok(false);
        }
        let email = uri
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("mailto:"))
            .map(|_| &uri[7..]);
        if let Some(email) = email {
            let own = self.connection().query(
                "SELECT 1 FROM accounts WHERE status = 'active' AND lower(email) = lower($1)",
                &[email.into()],
            )?;
            if !own.is_empty() {
                return Ok(true);
            }
        }
        Ok(!self
            .connection()
            .query(
                "SELECT 1 FROM account_calendars WHERE calendar = $1",
                &[uri.into()],
            )?
            .is_empty())
    }
}

/// How one attendee stands in a stored copy: what a client shows beside a booking
/// (`NEEDS-ACTION` is pending; a resource's decline carries its reason).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AttendeeState {
    /// The attendee's calendar address.
    pub attendee: String,
    /// Their PARTSTAT (`NEEDS-ACTION` when absent).
    pub partstat: String,
    /// The reason given with a decline ([`super::REASON_PARAM`]), if any.
    pub reason: Option<String>,
}

/// The attendees of a stored copy other than its organiser, with their answers.
pub fn attendee_states(text: &str) -> Result<Vec<AttendeeState>> {
    let e = parse(text)?;
    let c = component(&e)?;
    Ok(c.props()
        .filter(|p| p.name == "ATTENDEE")
        .filter(|p| !e.organizer.as_deref().is_some_and(|o| same_uri(o, p.uri())))
        .map(|p| AttendeeState {
            attendee: p.uri().to_owned(),
            partstat: p.param("PARTSTAT").unwrap_or_else(|| "NEEDS-ACTION".into()),
            reason: p.param(super::REASON_PARAM),
        })
        .collect())
}

fn parse(text: &str) -> Result<EventComponent> {
    parse_one(text)
}

/// The other participants of a copy: its attendees but `user` and the organiser.
fn others(e: &EventComponent, user: &str) -> BTreeSet<String> {
    e.attendees
        .iter()
        .map(|a| a.uri.clone())
        .filter(|a| !same_uri(a, user) && !e.organizer.as_deref().is_some_and(|o| same_uri(a, o)))
        .collect()
}

/// What `user`'s change of `uid` from `before` to `after` amounts to: the messages, and the
/// recurrence ids an attendee answered.
type Messages = (Vec<Response>, Vec<Option<String>>);

fn messages(user: &str, uid: &str, before: &Copies, after: &Copies) -> Result<Messages> {
    let Some(any) = after
        .items
        .values()
        .chain(before.items.values())
        .next()
        .map(|(t, _)| parse(t))
        .transpose()?
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Some(organiser) = any.organizer.clone() else {
        return Ok((Vec::new(), Vec::new()));
    };
    if same_uri(&organiser, user) {
        Ok((organiser_messages(user, uid, before, after)?, Vec::new()))
    } else {
        match attendee_reply(user, uid, &organiser, before, after)? {
            Some((reply, answered)) => Ok((vec![reply], answered)),
            None => Ok((Vec::new(), Vec::new())),
        }
    }
}

fn organiser_messages(
    user: &str,
    uid: &str,
    before: &Copies,
    after: &Copies,
) -> Result<Vec<Response>> {
    let mut out = Vec::new();
    // REQUEST: every active copy, when one is new or different.
    let changed = after
        .active()
        .any(|(rid, t)| before.items.get(rid).is_none_or(|(b, a)| !a || b != t));
    let active: Vec<EventComponent> = after
        .active()
        .map(|(_, t)| parse(t))
        .collect::<Result<_>>()?;
    let mut now_invited = BTreeSet::new();
    for e in &active {
        now_invited.extend(others(e, user));
    }
    if changed && !now_invited.is_empty() {
        let mut zones = Vec::new();
        let mut components = Vec::new();
        for e in &active {
            let mut c = component(e)?;
            zones.extend(c.take_store_properties());
            components.push(c.to_text());
        }
        out.push(Response {
            method: Method::Request,
            from: user.to_owned(),
            to: now_invited.iter().cloned().collect(),
            uid: uid.to_owned(),
            text: text::calendar("REQUEST", &dedup(zones), &components),
        });
    }
    // CANCEL: copies active before and cancelled or gone now, to their attendees; and the
    // attendees dropped from the event, for the whole event.
    for (rid, (text_before, was_active)) in &before.items {
        if !was_active {
            continue;
        }
        let still = after.items.get(rid).is_some_and(|(_, a)| *a);
        if still {
            continue;
        }
        let e = match after.items.get(rid) {
            Some((t, _)) => parse(t)?,
            None => parse(text_before)?,
        };
        let to = others(&e, user);
        if to.is_empty() {
            continue;
        }
        out.push(cancel(user, &e, to, false)?);
    }
    let mut invited_before = BTreeSet::new();
    for (_, t) in before.active() {
        invited_before.extend(others(&parse(t)?, user));
    }
    let dropped: BTreeSet<String> = invited_before
        .into_iter()
        .filter(|a| !now_invited.iter().any(|n| same_uri(n, a)))
        .collect();
    if !dropped.is_empty()
        && let Some(e) = active.iter().find(|e| e.recurrence_id().is_none())
    {
        out.push(cancel(user, e, dropped, true)?);
    }
    Ok(out)
}

/// A CANCEL of copy `e` to `to`; `uninvite`: for attendees dropped from the event, who are
/// then the attendees it names (RFC 5546 §3.2.5: a CANCEL to some attendees lists them).
fn cancel(
    user: &str,
    e: &EventComponent,
    to: BTreeSet<String>,
    uninvite: bool,
) -> Result<Response> {
    let mut c = component(e)?;
    let zones = c.take_store_properties();
    c.set(Line::new("STATUS", "CANCELLED"));
    if uninvite {
        c.retain(|p| p.name != "ATTENDEE");
        for a in &to {
            c.push(Line::new("ATTENDEE", a.as_str()));
        }
    }
    Ok(Response {
        method: Method::Cancel,
        from: user.to_owned(),
        to: to.into_iter().collect(),
        uid: e.uid.clone(),
        text: text::calendar("CANCEL", &dedup(zones), &[c.to_text()]),
    })
}

/// An attendee's REPLY for the copies whose PARTSTAT of theirs changed, and their recurrence
/// ids.
fn attendee_reply(
    user: &str,
    uid: &str,
    organiser: &str,
    before: &Copies,
    after: &Copies,
) -> Result<Option<(Response, Vec<Option<String>>)>> {
    let partstat = |text: &str| -> Result<Option<String>> {
        let e = parse(text)?;
        Ok(e.attendees
            .iter()
            .find(|a| same_uri(&a.uri, user))
            .map(|a| a.partstat.clone().unwrap_or_else(|| "NEEDS-ACTION".into())))
    };
    let mut zones = Vec::new();
    let mut components = Vec::new();
    let mut answered = Vec::new();
    for (rid, t) in after.active() {
        let Some(now) = partstat(t)? else {
            continue;
        };
        let was = match before.items.get(rid) {
            Some((b, true)) => partstat(b)?,
            _ => None,
        };
        if was.as_deref() == Some(now.as_str()) || (was.is_none() && now == "NEEDS-ACTION") {
            continue;
        }
        let mut c: Component = component(&parse(t)?)?;
        zones.extend(c.take_store_properties());
        c.retain(|p| p.name != "ATTENDEE" || same_uri(p.uri(), user));
        components.push(c.to_text());
        answered.push(rid.clone());
    }
    if components.is_empty() {
        return Ok(None);
    }
    let reply = Response {
        method: Method::Reply,
        from: user.to_owned(),
        to: vec![organiser.to_owned()],
        uid: uid.to_owned(),
        text: text::calendar("REPLY", &dedup(zones), &components),
    };
    Ok(Some((reply, answered)))
}

fn dedup(mut zones: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    zones.retain(|z| seen.insert(z.clone()));
    zones
}
