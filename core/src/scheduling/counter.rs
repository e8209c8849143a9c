//! Counter-proposals made and answered through a client that writes its user's own calendar
//! (the sync protocol's `counter`, `accept_counter` and `decline_counter` mutations, which
//! the web calendar makes):
//!
//! - an attendee proposes another time for an event or one occurrence
//!   ([`Store::propose_counter`]): their copy remembers the proposal (the store-only property
//!   [`PROPOSAL_PROPERTY`], never sent out), and [`Store::counter_message`] is the iTIP COUNTER
//!   to the organiser, which the organiser's store keeps per attendee and queues (the person
//!   handler's COUNTER);
//! - the organiser lists what was proposed ([`Store::counter_proposals`]) and accepts one
//!   ([`Store::accept_counter`]: the event or occurrence moves to the proposed time with the
//!   next SEQUENCE, the counter-proposals it answers are withdrawn, and implicit scheduling
//!   sends the REQUEST) or declines it ([`Store::decline_counter_message`], recorded with
//!   [`Store::send_message`]: the proposal dropped; the DECLINECOUNTER marks the attendee's
//!   copy, [`sent_proposals`] shows it).
//!
//! Delivery is [`Store::deliver`]: local users get the message processed for them, anyone
//! else gets it queued as mail.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::text::{self, Component, Line};
use super::{
    Ctx, Response, attendee_of, component, is_organiser, parse_one, record, reparse, stored,
    time_line,
};
use crate::address;
use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::ical::{self, EventComponent};
use crate::record::participation::same_uri;
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;

/// The property on an attendee's copy that remembers a counter-proposal they sent:
/// `X-CALSTORE-PROPOSAL;X-CALSTORE-STATE=SENT:<start>/<end>` (UTC), with
/// `X-CALSTORE-RID=<rid>` when it is about one occurrence of the copy and the organiser's
/// reason ([`super::REASON_PARAM`]) once declined. Store-only: never sent out.
pub const PROPOSAL_PROPERTY: &str = "X-CALSTORE-PROPOSAL";
const RID_PARAM: &str = "X-CALSTORE-RID";
const STATE_PARAM: &str = "X-CALSTORE-STATE";
/// The longest comment kept with a proposal or a decline, in characters.
pub const MAX_COMMENT: usize = 500;

/// A counter-proposal an attendee sent, as their copy remembers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentProposal {
    /// The occurrence it is about, None for the whole event.
    pub rid: Option<String>,
    /// The proposed start, `YYYYMMDDTHHMMSSZ`.
    pub start: String,
    /// The proposed end.
    pub end: String,
    /// `sent`, or `declined` once the organiser's DECLINECOUNTER arrived.
    pub state: String,
    /// The organiser's comment with a decline, if any.
    pub reason: Option<String>,
}

/// A counter-proposal an organiser received and has not answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceivedProposal {
    /// The event's UID.
    pub uid: String,
    /// The occurrence, None for the whole event.
    pub rid: Option<String>,
    /// Who proposed.
    pub attendee: String,
    /// The proposed start, `YYYYMMDDTHHMMSSZ`.
    pub start: String,
    /// The proposed end.
    pub end: String,
    /// The attendee's comment, if any.
    pub comment: Option<String>,
    /// The event's summary.
    pub summary: Option<String>,
    /// The SEQUENCE the proposal was made against.
    pub sequence: i64,
}

/// The counter-proposals an attendee's stored copy (a VEVENT, or a VCALENDAR holding it)
/// remembers.
pub fn sent_proposals(text: &str) -> Result<Vec<SentProposal>> {
    let e = parse_one(text)?;
    let c = component(&e)?;
    let own_rid = e.recurrence_id();
    Ok(c.props()
        .filter(|p| p.name == PROPOSAL_PROPERTY)
        .filter_map(|p| {
            let (start, end) = p.value.split_once('/')?;
            Some(SentProposal {
                rid: p.param(RID_PARAM).or_else(|| own_rid.clone()),
                start: start.to_owned(),
                end: end.to_owned(),
                state: p
                    .param(STATE_PARAM)
                    .unwrap_or_else(|| "SENT".into())
                    .to_ascii_lowercase(),
                reason: p.param(super::REASON_PARAM),
            })
        })
        .collect())
}

/// A comment made safe for a property value or a parameter: no control characters or
/// quotes, at most [`MAX_COMMENT`] characters.
fn clean(comment: &str) -> String {
    comment
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .take(MAX_COMMENT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The first instance of a component without rules: its start and end.
fn span(ctx: &Ctx<'_>, e: &EventComponent) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let exp = e
        .instances(&ical::ExpandContext::new(
            ctx.record.tz,
            ctx.record.window_end.max(ctx.now + TimeDelta::days(3660)),
        ))
        .map_err(|err| StoreError::invalid(err.0))?;
    exp.instances
        .first()
        .map(|i| (i.start, i.end))
        .ok_or_else(|| StoreError::invalid("the counter-proposal has no time"))
}

/// The copy of (uid, rid) held by `user`, active: an override held as such, else the parent
/// (with `true` when the parent stands for the occurrence `rid`).
fn held_copy<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<(EventComponent, bool)> {
    if rid.is_some()
        && let Some((e, Status::Active)) = stored(s, user, uid, rid)?
    {
        return Ok((e, false));
    }
    match stored(s, user, uid, None)? {
        Some((e, Status::Active)) => Ok((e, rid.is_some())),
        _ => Err(StoreError::NotFound(format!(
            "{user} holds no active copy of {uid}{}",
            rid.map(|r| format!(" ({r})")).unwrap_or_default()
        ))),
    }
}

/// Refuses a proposal for an occurrence `rid` that the series `parent` does not have (a
/// recurrence id that no rule, RDATE or DTSTART makes, or one EXDATE removed).
fn check_occurrence(ctx: &Ctx<'_>, parent: &EventComponent, rid: &str) -> Result<()> {
    let tz = ctx.record.tz;
    let at = ical::recurrence_id_point(rid, tz).map_err(|e| StoreError::invalid(e.0))?;
    let expand = ical::ExpandContext {
        tz,
        window_end: at + chrono::TimeDelta::seconds(1),
        max_instances: ctx.record.max_instances,
    };
    let found = parent
        .instances_from(&expand, at)
        .map_err(|e| StoreError::invalid(e.0))?
        .instances
        .iter()
        .any(|i| i.recurrence_point == at);
    if found {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "{} has no occurrence {rid}",
            parent.uid
        )))
    }
}

/// `parent` as the single occurrence `rid`: RECURRENCE-ID set in DTSTART's zone, the rules
/// taken out. The caller sets DTSTART/DTEND.
fn occurrence(ctx: &Ctx<'_>, parent: &EventComponent, rid: &str) -> Result<Component> {
    let mut c = component(parent)?;
    let at = ical::recurrence_id_point(rid, ctx.record.tz).map_err(|e| StoreError::invalid(e.0))?;
    let start_line = c.first("DTSTART").cloned();
    c.retain(|p| !matches!(p.name.as_str(), "RRULE" | "RDATE" | "EXDATE" | "EXRULE"));
    c.set(time_line("RECURRENCE-ID", at, start_line.as_ref()));
    Ok(c)
}

/// Sets DTSTART and DTEND (in the zone DTSTART was written in), dropping DURATION.
fn set_times(c: &mut Component, start: DateTime<Utc>, end: DateTime<Utc>) {
    let start_line = c.first("DTSTART").cloned();
    let end_like = c.first("DTEND").cloned().or_else(|| start_line.clone());
    c.set(time_line("DTSTART", start, start_line.as_ref()));
    c.remove("DURATION");
    c.set(time_line("DTEND", end, end_like.as_ref()));
}

fn check_times(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<()> {
    if end <= start {
        return Err(StoreError::invalid(
            "a counter-proposal ends after it starts",
        ));
    }
    Ok(())
}

impl<C: SqlConnection> Store<C> {
    /// The attendee `user` proposes `start`–`end` for (uid, rid) of an event they are invited
    /// to: their copy remembers it (replacing an earlier proposal for that occurrence), as one
    /// unit of work. The message to the organiser is [`Store::counter_message`].
    pub fn propose_counter(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<()> {
        let user = &*address::normalise(user);
        check_times(start, end)?;
        let opts = super::ReceiveOptions::default();
        self.transaction(|s| {
            let ctx = s.context(user, &opts)?;
            let (held, for_occurrence) = held_copy(s, user, uid, rid)?;
            if let (true, Some(r)) = (for_occurrence, rid) {
                check_occurrence(&ctx, &held, r)?;
            }
            if is_organiser(&held, user) || held.organizer.is_none() {
                return Err(StoreError::invalid(
                    "only an invited attendee proposes another time",
                ));
            }
            if attendee_of(&held, user).is_none() {
                return Err(StoreError::invalid(format!(
                    "{user} is not an ATTENDEE of {uid}"
                )));
            }
            let mut c = component(&held)?;
            let mark_rid = for_occurrence.then_some(rid).flatten();
            c.retain(|p| p.name != PROPOSAL_PROPERTY || p.param(RID_PARAM).as_deref() != mark_rid);
            let mut mark = Line::new(
                PROPOSAL_PROPERTY,
                format!("{}/{}", format_utc(start), format_utc(end)),
            );
            mark.set_param(STATE_PARAM, "SENT");
            if let Some(r) = mark_rid {
                mark.set_param(RID_PARAM, r);
            }
            c.push(mark);
            record(s, &ctx, &reparse(&c)?)
        })
    }

    /// The iTIP COUNTER in which the attendee `user` proposes `start`–`end` for (uid, rid),
    /// with `comment`: their copy (the occurrence made from the parent when they hold no
    /// override), ATTENDEE reduced to theirs, the new times, DTSTAMP now.
    pub fn counter_message(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        comment: Option<&str>,
    ) -> Result<Response> {
        let user = &*address::normalise(user);
        check_times(start, end)?;
        let opts = super::ReceiveOptions::default();
        let ctx = self.context(user, &opts)?;
        let (held, for_occurrence) = held_copy(self, user, uid, rid)?;
        let Some(organiser) = held.organizer.clone() else {
            return Err(StoreError::invalid("the event has no organiser"));
        };
        let mut c = match (for_occurrence, rid) {
            (true, Some(r)) => {
                check_occurrence(&ctx, &held, r)?;
                occurrence(&ctx, &held, r)?
            }
            _ => component(&held)?,
        };
        let mut zones = c.take_store_properties();
        c.retain(|p| p.name != "ATTENDEE" || same_uri(p.uri(), user));
        c.retain(|p| p.name != "COMMENT");
        for p in c.props_mut().filter(|p| p.name == "ATTENDEE") {
            p.remove_param("RSVP");
        }
        set_times(&mut c, start, end);
        c.set_dtstamp(ctx.now);
        if let Some(comment) = comment.map(clean).filter(|t| !t.is_empty()) {
            c.push(Line::new("COMMENT", text::escape_text(&comment)));
        }
        zones.dedup();
        Ok(Response {
            method: super::Method::Counter,
            from: user.to_owned(),
            to: vec![organiser],
            uid: uid.to_owned(),
            text: text::calendar("COUNTER", &zones, &[c.to_text()]),
        })
    }

    /// The counter-proposals the organiser `user` holds, by UID, occurrence and attendee.
    pub fn counter_proposals(&mut self, user: &str) -> Result<Vec<ReceivedProposal>> {
        let user = &*address::normalise(user);
        let opts = super::ReceiveOptions::default();
        let ctx = self.context(user, &opts)?;
        let mut out = Vec::new();
        for sql in [
            "SELECT object_uid, NULL, other, object_text FROM countered_objects \
             WHERE store_user = $1 ORDER BY object_uid, other",
            "SELECT object_uid, object_recurrenceid, other, object_text FROM countered_recurrences \
             WHERE store_user = $1 ORDER BY object_uid, object_recurrenceid, other",
        ] {
            for row in self.connection().query(sql, &[user.into()])? {
                let uid: String = row.get(0)?;
                let rid: Option<String> = row.get(1)?;
                let attendee: String = row.get(2)?;
                let text: String = row.get(3)?;
                // A proposal that no longer reads is left out rather than failing the list.
                let Ok(e) = parse_one(&text) else {
                    continue;
                };
                let Ok((start, end)) = span(&ctx, &e) else {
                    continue;
                };
                let comment = component(&e)
                    .ok()
                    .and_then(|c| c.first("COMMENT").map(|l| text::unescape_text(&l.value)));
                let summary = match stored(self, user, &uid, None)? {
                    Some((held, _)) => held.summary,
                    None => e.summary.clone(),
                };
                out.push(ReceivedProposal {
                    uid,
                    rid,
                    attendee,
                    start: format_utc(start),
                    end: format_utc(end),
                    comment,
                    summary,
                    sequence: e.sequence,
                });
            }
        }
        Ok(out)
    }

    /// The organiser `user` accepts `other`'s counter-proposal for (uid, rid), as one unit of
    /// work: their copy of the event (or a new override for an occurrence) moves to the
    /// proposed time with the next SEQUENCE and a new DTSTAMP, every attendee but the
    /// organiser is asked again (PARTSTAT=NEEDS-ACTION, RSVP=TRUE), the counter-proposals for
    /// (uid, rid) are withdrawn and the COUNTER request dequeued. Returns false, writing
    /// nothing, when no such proposal is held or it was made against an older SEQUENCE than
    /// the copy's. The REQUEST to the attendees is implicit scheduling's
    /// ([`Store::deliver_change`] with the copies from before).
    pub fn accept_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        let opts = super::ReceiveOptions::default();
        self.transaction(|s| {
            let ctx = s.context(user, &opts)?;
            let Some(text) = s.get_counter(user, other, uid, rid)? else {
                return Ok(false);
            };
            let proposal = parse_one(&text)?;
            let (held, for_occurrence) = held_copy(s, user, uid, rid)?;
            if !is_organiser(&held, user) {
                return Err(StoreError::invalid(format!(
                    "{user} is not the ORGANIZER of {uid}: only the organiser accepts a counter-proposal"
                )));
            }
            if proposal.sequence < held.sequence {
                return Ok(false);
            }
            let (start, end) = span(&ctx, &proposal)?;
            let mut c = match (for_occurrence, rid) {
                (true, Some(r)) => occurrence(&ctx, &held, r)?,
                _ => component(&held)?,
            };
            set_times(&mut c, start, end);
            c.set(Line::new("SEQUENCE", (held.sequence + 1).to_string()));
            c.set_dtstamp(ctx.now);
            for p in c.props_mut().filter(|p| p.name == "ATTENDEE") {
                if !same_uri(p.uri(), user) {
                    p.set_param("PARTSTAT", "NEEDS-ACTION");
                    p.set_param("RSVP", "TRUE");
                    p.remove_param(super::REASON_PARAM);
                }
            }
            record(s, &ctx, &reparse(&c)?)?;
            s.remove_counters(user, uid, rid)?;
            if s.has_request(user, uid, rid, Some("COUNTER"), true)? {
                s.dequeue_request(user, uid, rid)?;
            }
            Ok(true)
        })
    }

    /// The iTIP DECLINECOUNTER with which the organiser `user` declines `other`'s
    /// counter-proposal for (uid, rid): the organiser's copy (the occurrence made from the
    /// parent when they hold no override) naming only `other`, DTSTAMP now, `comment` as its
    /// COMMENT. Recorded with [`Store::send_message`] (the proposal dropped, the COUNTER
    /// request dequeued once none is left) and delivered with [`Store::deliver`].
    pub fn decline_counter_message(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Response> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        let opts = super::ReceiveOptions::default();
        let ctx = self.context(user, &opts)?;
        let (held, for_occurrence) = held_copy(self, user, uid, rid)?;
        if !is_organiser(&held, user) {
            return Err(StoreError::invalid(format!(
                "{user} is not the ORGANIZER of {uid}: only the organiser declines a counter-proposal"
            )));
        }
        let mut c = match (for_occurrence, rid) {
            (true, Some(r)) => occurrence(&ctx, &held, r)?,
            _ => component(&held)?,
        };
        let zones = c.take_store_properties();
        c.retain(|p| p.name != "ATTENDEE" && p.name != "COMMENT");
        c.push(Line::new("ATTENDEE", other));
        c.set_dtstamp(ctx.now);
        if let Some(comment) = comment.map(clean).filter(|t| !t.is_empty()) {
            c.push(Line::new("COMMENT", text::escape_text(&comment)));
        }
        Ok(Response {
            method: super::Method::DeclineCounter,
            from: user.to_owned(),
            to: vec![other.to_owned()],
            uid: uid.to_owned(),
            text: text::calendar("DECLINECOUNTER", &zones, &[c.to_text()]),
        })
    }
}

/// A received DECLINECOUNTER on the attendee's side, from the organiser of their copy (the
/// sender, else the message's ORGANIZER): the proposals their copies of the event remember for
/// the occurrences it names are marked declined, with its COMMENT as the reason. Returns
/// whether any was.
pub(super) fn mark_declined<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    e: &EventComponent,
) -> Result<bool> {
    let user = ctx.user;
    let rid = e.recurrence_id();
    let reason = Component::parse(&e.text)
        .and_then(|c| {
            c.first("COMMENT")
                .map(|l| clean(&text::unescape_text(&l.value)))
        })
        .filter(|r| !r.is_empty());
    let mut any = false;
    let mut copies = vec![(None, false)];
    if let Some(r) = rid.as_deref() {
        copies.insert(0, (Some(r.to_owned()), true));
    }
    for (copy_rid, own) in copies {
        let Some((held, Status::Active)) = stored(s, user, &e.uid, copy_rid.as_deref())? else {
            continue;
        };
        // Only the organiser of the copy answers the proposal made to them.
        let organiser = held.organizer.as_deref();
        let sender = ctx.opts.from.as_deref().or(e.organizer.as_deref());
        if !matches!((organiser, sender), (Some(o), Some(f)) if same_uri(o, f)) {
            continue;
        }
        let mut c = component(&held)?;
        let mut changed = false;
        for p in c.props_mut().filter(|p| p.name == PROPOSAL_PROPERTY) {
            let about = if own { rid.clone() } else { p.param(RID_PARAM) };
            if about != rid {
                continue;
            }
            p.set_param(STATE_PARAM, "DECLINED");
            match &reason {
                Some(r) => p.set_param(super::REASON_PARAM, r),
                None => p.remove_param(super::REASON_PARAM),
            }
            changed = true;
        }
        if changed {
            record(s, ctx, &reparse(&c)?)?;
            any = true;
            break;
        }
    }
    Ok(any)
}

/// Reads a `YYYYMMDDTHHMMSSZ` instant of a mutation.
pub fn instant(what: &str, value: &str) -> Result<DateTime<Utc>> {
    parse_utc(value).map_err(|e| StoreError::invalid(format!("{what}: {}", e.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "BEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20261101T000000Z\r\n\
        DTSTART:20261127T080000Z\r\nDTEND:20261127T090000Z\r\nORGANIZER:mailto:a@example.com\r\n\
        ATTENDEE:mailto:b@example.com\r\n\
        X-CALSTORE-PROPOSAL;X-CALSTORE-STATE=DECLINED;X-CALSTORE-REASON=Busy:20261127T090000Z/20261127T100000Z\r\n\
        X-CALSTORE-PROPOSAL;X-CALSTORE-STATE=SENT;X-CALSTORE-RID=20261128T080000Z:20261128T100000Z/20261128T110000Z\r\n\
        END:VEVENT\r\n";

    #[test]
    fn sent_proposals_of_a_vevent_or_a_vcalendar() {
        let bare = sent_proposals(EVENT).unwrap();
        let wrapped = sent_proposals(&format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{EVENT}END:VCALENDAR\r\n"
        ))
        .unwrap();
        assert_eq!(bare, wrapped);
        assert_eq!(
            bare,
            vec![
                SentProposal {
                    rid: None,
                    start: "20261127T090000Z".into(),
                    end: "20261127T100000Z".into(),
                    state: "declined".into(),
                    reason: Some("Busy".into()),
                },
                SentProposal {
                    rid: Some("20261128T080000Z".into()),
                    start: "20261128T100000Z".into(),
                    end: "20261128T110000Z".into(),
                    state: "sent".into(),
                    reason: None,
                },
            ]
        );
    }

    #[test]
    fn comments_are_cleaned() {
        assert_eq!(clean("  a \"quoted\"\nline  "), "a quotedline");
        assert_eq!(clean(&"x".repeat(900)).len(), MAX_COMMENT);
    }
}
