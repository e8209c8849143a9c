//! Scheduling: what imip-agent's handlers do with an iTIP message (RFC 5546) for a local
//! calendar user, as store and journal operations, in **one unit of work per message**.
//!
//! [`Store::receive`] processes a message for a recipient. The recipient is a **resource**
//! when its `scheduling_function` preference is set: it decides requests itself with the
//! functions listed there ([`crate::prefs::SchedulingFunctionKind`]) and answers with a REPLY
//! (ACCEPTED or DECLINED) or a COUNTER. Anyone else is a **person**: requests are stored and
//! queued for a decision, replies and counter-proposals update the organiser's copy and
//! queue, cancellations cancel. [`Store::send_message`] records what a user sends (imip-agent's
//! outgoing handler). Each returns an [`Outcome`] with the answers to deliver
//! ([`Response`]: iCalendar text written here, with the store's clock as DTSTAMP).
//!
//! Nothing here does I/O; callers deliver the responses (the CLI queues mail for users who
//! are not local and hands local ones to [`Store::receive`] again; the server will do the
//! same on its own timer). A failure anywhere rolls the whole message back.
//!
//! Where this differs from imip-agent (and why) is written down in
//! `docs/decisions/0010-scheduling.md`.

mod counter;
mod implicit;
mod message;
mod organiser;
mod person;
mod resource;
pub(crate) mod text;

use chrono::{DateTime, TimeDelta, Utc};

use crate::address;
use crate::error::{Result, StoreError};
use crate::ical::{self, EventComponent, ExpandContext};
use crate::period::Period;
use crate::prefs::Preferences;
use crate::record::participation::same_uri;
use crate::record::{RecordOptions, participates, transp_for};
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;
use crate::validate;

pub use counter::{
    MAX_COMMENT, PROPOSAL_PROPERTY, ReceivedProposal, SentProposal, instant, sent_proposals,
};
pub use implicit::{AttendeeState, Copies, attendee_states};
pub use message::{MAX_COMPONENTS, MAX_MESSAGE_LEN, Message, Method, parse_message};
use text::{Component, Line};

/// What processing a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// A resource accepted the request (its REPLY says ACCEPTED).
    Accepted,
    /// A resource declined the request (its REPLY says DECLINED); the event is stored as
    /// declined.
    Declined,
    /// A resource proposed another time (its answer is a COUNTER).
    Countered,
    /// The message was stored (a request queued for the person, a counter-proposal for the
    /// organiser, published free/busy or events).
    Stored,
    /// An event or occurrence was cancelled.
    Cancelled,
    /// Something stored was updated (an attendee's answer, offers withdrawn, an attendee
    /// removed).
    Updated,
    /// Nothing stored changed: an outdated or unrelated message, or one for a user who does
    /// not take part; an answer may still be given (a REFRESH).
    Ignored,
}

impl OutcomeKind {
    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Accepted => "accepted",
            OutcomeKind::Declined => "declined",
            OutcomeKind::Countered => "countered",
            OutcomeKind::Stored => "stored",
            OutcomeKind::Cancelled => "cancelled",
            OutcomeKind::Updated => "updated",
            OutcomeKind::Ignored => "ignored",
        }
    }
}

/// A message to deliver: an answer or a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Its METHOD.
    pub method: Method,
    /// The local user it is from.
    pub from: String,
    /// Its recipients (calendar addresses).
    pub to: Vec<String>,
    /// The event's UID.
    pub uid: String,
    /// The whole iCalendar object (a VCALENDAR), CRLF line ends, folded.
    pub text: String,
}

/// The result of [`Store::receive`] and [`Store::send_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The message's method.
    pub method: Method,
    /// The event's UID (None for free/busy).
    pub uid: Option<String>,
    /// The recurrence id when the message was about one occurrence.
    pub rid: Option<String>,
    /// What happened.
    pub kind: OutcomeKind,
    /// Why, when declined or ignored (imip-agent's explanation where it has one).
    pub reason: Option<String>,
    /// Messages to deliver.
    pub responses: Vec<Response>,
}

/// How deep answers to answers are delivered locally by [`Store::process`].
pub const MAX_HOPS: usize = 4;

/// What [`Store::process`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Processed {
    /// The recipient's outcome, with its answers.
    pub outcome: Outcome,
    /// Answers delivered to local users, and what each did.
    pub delivered: Vec<(String, Outcome)>,
    /// Ids of the outbox messages queued for recipients who are not local.
    pub queued: Vec<i64>,
}

/// How [`Store::receive`] answers.
#[derive(Clone, Debug, Default)]
pub struct ReceiveOptions {
    /// The address answers are sent as (imip-agent's `MESSAGE_SENDER`, e.g.
    /// `mailto:calendar@example.com`): when set and not the user, it is given as SENT-BY on
    /// the user's ATTENDEE in answers and in the stored copy.
    pub sent_by: Option<String>,
    /// The message's sender (the mail's From, as a calendar address): who countered or
    /// published free/busy when the iCalendar does not say.
    pub from: Option<String>,
}

/// Everything a handler needs about the user and the moment.
pub(crate) struct Ctx<'a> {
    pub user: &'a str,
    pub prefs: Preferences,
    pub now: DateTime<Utc>,
    pub record: RecordOptions,
    pub opts: &'a ReceiveOptions,
}

impl Ctx<'_> {
    fn expand(&self) -> ExpandContext {
        ExpandContext {
            tz: self.record.tz,
            window_end: self.record.window_end,
            max_instances: self.record.max_instances,
        }
    }

    /// SENT-BY for the user's ATTENDEE, if any.
    pub fn sent_by(&self) -> Option<&str> {
        self.opts
            .sent_by
            .as_deref()
            .filter(|s| !same_uri(s, self.user))
    }
}

impl<C: SqlConnection> Store<C> {
    /// Processes one iTIP message for the local user `recipient`, as one unit of work (a
    /// savepoint when called inside one): the whole message is handled or nothing is
    /// written. Returns what happened and the answers to deliver.
    ///
    /// ```
    /// # use calstore_core::{Store, scheduling::{parse_message, ReceiveOptions, OutcomeKind}};
    /// # fn demo<C: calstore_core::SqlConnection>(store: &mut Store<C>) -> calstore_core::Result<()> {
    /// let room = "mailto:room@example.com";
    /// store.set_preference(room, "scheduling_function", "schedule_in_freebusy")?;
    /// let msg = parse_message(b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:e1\r\n\
    /// DTSTAMP:20141009T000000Z\r\nDTSTART:20141010T080000Z\r\nDTEND:20141010T090000Z\r\n\
    /// ORGANIZER:mailto:paul@example.com\r\nATTENDEE:mailto:room@example.com\r\n\
    /// END:VEVENT\r\nEND:VCALENDAR\r\n", None)?;
    /// let outcome = store.receive(room, &msg, &ReceiveOptions::default())?;
    /// assert_eq!(outcome.kind, OutcomeKind::Accepted);
    /// assert!(outcome.responses[0].text.contains("PARTSTAT=ACCEPTED"));
    /// # Ok(()) }
    /// ```
    pub fn receive(
        &mut self,
        recipient: &str,
        message: &Message,
        opts: &ReceiveOptions,
    ) -> Result<Outcome> {
        let recipient = &*address::normalise(recipient);
        validate::user(recipient)?;
        self.transaction(|s| {
            let mut ctx = s.context(recipient, opts)?;
            if !ctx.prefs.participating() {
                return Ok(ignored(
                    message,
                    "the recipient does not take part in scheduling",
                ));
            }
            if ctx.prefs.is_resource() {
                resource::receive(s, &mut ctx, message)
            } else {
                person::receive(s, &mut ctx, message)
            }
        })
    }

    /// Records a message the local user `sender` sends (imip-agent's outgoing handler), as
    /// one unit of work: an organiser's REQUEST (their copy stored and their free/busy
    /// updated; older overrides dropped; counter-proposals answered by it withdrawn), CANCEL
    /// (the event or occurrence cancelled, or the attendees it names removed from the
    /// copy) or DECLINECOUNTER (the counter-proposal dropped); an attendee's REPLY (their
    /// answer recorded, the request dequeued) or COUNTER (offers recorded).
    pub fn send_message(&mut self, sender: &str, message: &Message) -> Result<Outcome> {
        let sender = &*address::normalise(sender);
        validate::user(sender)?;
        let opts = ReceiveOptions::default();
        self.transaction(|s| {
            let mut ctx = s.context(sender, &opts)?;
            organiser::send(s, &mut ctx, message)
        })
    }

    /// What a server (or `calstore receive`) does with a message for a local user: it is
    /// processed ([`Store::receive`]) and every answer is routed, all in one unit of work:
    /// to a recipient who is a local user (one who has written to this store) it is
    /// delivered by processing it for them in turn (implicit scheduling; answers to answers
    /// are routed the same way, at most [`MAX_HOPS`] deep), to anyone else it is queued in
    /// the outbox (component [`crate::outbox::OUTBOX`], which must exist). A local user is
    /// one with data in the store, or a calendar of an account of this server.
    pub fn process(
        &mut self,
        recipient: &str,
        message: &Message,
        opts: &ReceiveOptions,
    ) -> Result<Processed> {
        let recipient = &*address::normalise(recipient);
        self.transaction(|s| {
            let outcome = s.receive(recipient, message, opts)?;
            let mut processed = Processed {
                outcome,
                delivered: Vec::new(),
                queued: Vec::new(),
            };
            let first = processed.outcome.responses.clone();
            s.route(&first, 0, &mut processed)?;
            Ok(processed)
        })
    }

    /// Delivers messages a local user sends, as one unit of work: to a local user by
    /// processing it for them (their answers routed in turn, as [`Store::process`] does), to
    /// anyone else by queueing it in the outbox (component [`crate::outbox::OUTBOX`], which
    /// must exist then).
    pub fn deliver(&mut self, responses: &[Response]) -> Result<Processed> {
        self.transaction(|s| {
            let mut processed = Processed {
                outcome: Outcome {
                    method: responses.first().map_or(Method::Request, |r| r.method),
                    uid: responses.first().map(|r| r.uid.clone()),
                    rid: None,
                    kind: OutcomeKind::Stored,
                    reason: None,
                    responses: responses.to_vec(),
                },
                delivered: Vec::new(),
                queued: Vec::new(),
            };
            s.route(responses, 0, &mut processed)?;
            Ok(processed)
        })
    }

    fn route(&mut self, responses: &[Response], depth: usize, into: &mut Processed) -> Result<()> {
        for r in responses {
            for to in &r.to {
                let local = self.is_local_user(to)?;
                if local && depth < MAX_HOPS && !same_uri(to, &r.from) {
                    let msg = parse_message(r.text.as_bytes(), None)?;
                    let opts = ReceiveOptions {
                        sent_by: None,
                        from: Some(r.from.clone()),
                    };
                    let out = self.receive(to, &msg, &opts)?;
                    let next = out.responses.clone();
                    into.delivered.push((to.clone(), out));
                    self.route(&next, depth + 1, into)?;
                } else if !local {
                    let id = self.enqueue_message(
                        &r.from,
                        to,
                        r.method.as_str(),
                        Some(&r.uid),
                        &r.text,
                    )?;
                    into.queued.push(id);
                }
            }
        }
        Ok(())
    }

    fn context<'a>(&mut self, user: &'a str, opts: &'a ReceiveOptions) -> Result<Ctx<'a>> {
        let prefs = self.preferences(user)?;
        let now = self.now();
        let record = RecordOptions {
            tz: prefs.tz(),
            window_end: now + TimeDelta::days(prefs.window_days()),
            ..RecordOptions::new(now)
        };
        Ok(Ctx {
            user,
            prefs,
            now,
            record,
            opts,
        })
    }
}

// ---- shared by the handlers ---------------------------------------------------------------

/// An outcome with nothing done.
pub(crate) fn ignored(message: &Message, why: &str) -> Outcome {
    outcome(message, OutcomeKind::Ignored, Some(why.to_owned()))
}

pub(crate) fn outcome(message: &Message, kind: OutcomeKind, reason: Option<String>) -> Outcome {
    Outcome {
        method: message.method,
        uid: message.uid().map(str::to_owned),
        rid: match message.events.as_slice() {
            [one] => one.recurrence_id(),
            _ => None,
        },
        kind,
        reason,
        responses: Vec::new(),
    }
}

/// Refuses a message that would book a VEVENT without DTSTART.
pub(crate) fn require_dtstart(events: &[EventComponent], method: Method) -> Result<()> {
    if events.iter().any(message::lacks_dtstart) {
        return Err(StoreError::invalid(format!(
            "a VEVENT of the {method} has no DTSTART"
        )));
    }
    Ok(())
}

/// Parses a stored object's text.
pub(crate) fn parse_one(text: &str) -> Result<EventComponent> {
    ical::parse_events(text.as_bytes())
        .map_err(|e| StoreError::invalid(format!("stored object: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::invalid("an object holds no VEVENT"))
}

/// The stored copy of (uid, rid), active or cancelled.
pub(crate) fn stored<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<Option<(EventComponent, Status)>> {
    for status in [Status::Active, Status::Cancelled] {
        if let Some(text) = s.get_event(user, uid, rid, status)? {
            return Ok(Some((parse_one(&text)?, status)));
        }
    }
    Ok(None)
}

/// How `new` orders against `old` (RFC 5546 §2.1.5): by SEQUENCE, then by DTSTAMP (a copy
/// without DTSTAMP cannot be ordered against one of the same SEQUENCE: Equal).
pub(crate) fn order(new: &EventComponent, old: &EventComponent) -> std::cmp::Ordering {
    new.sequence
        .cmp(&old.sequence)
        .then_with(|| match (new.dtstamp, old.dtstamp) {
            (Some(n), Some(o)) => n.cmp(&o),
            _ => std::cmp::Ordering::Equal,
        })
}

/// Whether `new` supersedes `old`: a higher SEQUENCE, or the same one with a later DTSTAMP;
/// a copy that cannot be ordered (no DTSTAMP) counts as newer.
pub(crate) fn is_newer(new: &EventComponent, old: &EventComponent) -> bool {
    match order(new, old) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => new.dtstamp.is_none() || old.dtstamp.is_none(),
    }
}

/// How `e` orders against what the user holds for it (its own (uid, rid), or for an
/// occurrence with no copy of its own, the parent's SEQUENCE), and whether it is newer.
/// None if nothing is held.
fn against_held<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    e: &EventComponent,
) -> Result<Option<(std::cmp::Ordering, bool)>> {
    let rid = e.recurrence_id();
    if let Some((old, _)) = stored(s, user, &e.uid, rid.as_deref())? {
        return Ok(Some((order(e, &old), is_newer(e, &old))));
    }
    if rid.is_some()
        && let Some((parent, _)) = stored(s, user, &e.uid, None)?
    {
        let o = e.sequence.cmp(&parent.sequence);
        return Ok(Some((o, o != std::cmp::Ordering::Less)));
    }
    Ok(None)
}

/// True if the user holds a newer copy of `e`, or the same one (a message delivered twice).
pub(crate) fn outdated<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    e: &EventComponent,
) -> Result<bool> {
    Ok(against_held(s, user, e)?.is_some_and(|(_, newer)| !newer))
}

/// True if the user holds a strictly newer copy of `e` (a cancellation with the SEQUENCE and
/// DTSTAMP of the request it cancels still applies).
pub(crate) fn older<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    e: &EventComponent,
) -> Result<bool> {
    Ok(against_held(s, user, e)?.is_some_and(|(o, _)| o == std::cmp::Ordering::Less))
}

/// A newer parent obsoletes the stored overrides (active and cancelled) of older SEQUENCE:
/// they are removed (before the parent is recorded, so that free/busy is derived without
/// them).
pub(crate) fn drop_obsolete_overrides<C: SqlConnection>(
    s: &mut Store<C>,
    user: &str,
    parent: &EventComponent,
) -> Result<()> {
    for rid in s.get_recurrences(user, &parent.uid)? {
        let older = match stored(s, user, &parent.uid, Some(&rid)) {
            Ok(Some((e, _))) => e.sequence < parent.sequence,
            Ok(None) => false,
            // An override that no longer reads is obsolete too.
            Err(_) => true,
        };
        if older {
            s.remove_event(user, &parent.uid, Some(&rid))?;
        }
    }
    Ok(())
}

/// The user's ATTENDEE in `e`, if named.
pub(crate) fn attendee_of<'a>(e: &'a EventComponent, user: &str) -> Option<&'a ical::Attendee> {
    e.attendees.iter().find(|a| same_uri(&a.uri, user))
}

/// True if `user` is `e`'s ORGANIZER.
pub(crate) fn is_organiser(e: &EventComponent, user: &str) -> bool {
    e.organizer.as_deref().is_some_and(|o| same_uri(o, user))
}

/// The periods `e` gives `who` inside the window (its own instances, with the transparency
/// recorded for `who`), or none if `who` does not take part.
pub(crate) fn periods_for(ctx: &Ctx<'_>, e: &EventComponent, who: &str) -> Result<Vec<Period>> {
    if !participates(e, who) || e.status.as_deref() == Some("CANCELLED") {
        return Ok(Vec::new());
    }
    let exp = e
        .instances(&ctx.expand())
        .map_err(|err| StoreError::invalid(err.0))?;
    Ok(exp
        .instances
        .iter()
        .map(|i| Period {
            start: i.start,
            end: i.end,
            uid: Some(e.uid.clone()),
            transp: Some(transp_for(e, who)),
            recurrenceid: e.recurrence_id(),
            summary: e.summary.clone(),
            organiser: e.organizer.clone(),
        })
        .collect())
}

/// `e` with the user's ATTENDEE given `partstat` (and SENT-BY when answering for them).
pub(crate) fn with_partstat(
    e: &EventComponent,
    user: &str,
    partstat: &str,
    sent_by: Option<&str>,
) -> Result<EventComponent> {
    let mut c = component(e)?;
    for p in c.props_mut().filter(|p| p.name == "ATTENDEE") {
        if same_uri(p.uri(), user) {
            p.set_param("PARTSTAT", partstat);
            if let Some(by) = sent_by {
                p.set_param("SENT-BY", by);
            }
        }
    }
    reparse(&c)
}

/// The editable lines of a component.
pub(crate) fn component(e: &EventComponent) -> Result<Component> {
    Component::parse(&e.text).ok_or_else(|| StoreError::invalid("a VEVENT cannot be edited"))
}

/// Reads an edited component back.
pub(crate) fn reparse(c: &Component) -> Result<EventComponent> {
    parse_one(&c.to_text())
}

/// An answer's copy of `e`: the ATTENDEE list reduced to the user's, with `partstat`,
/// DTSTAMP now, SEQUENCE kept; store-only properties taken out (their VTIMEZONEs added to
/// `zones`).
pub(crate) fn answer_component(
    ctx: &Ctx<'_>,
    e: &EventComponent,
    partstat: &str,
    zones: &mut Vec<String>,
) -> Result<Component> {
    let mut c = component(e)?;
    zones.extend(c.take_store_properties());
    let user = ctx.user;
    c.retain(|p| p.name != "ATTENDEE" || same_uri(p.uri(), user));
    let mut found = false;
    for p in c.props_mut().filter(|p| p.name == "ATTENDEE") {
        found = true;
        p.set_param("PARTSTAT", partstat);
        p.remove_param("RSVP");
        if let Some(by) = ctx.sent_by() {
            p.set_param("SENT-BY", by);
        }
    }
    if !found {
        let mut a = Line::new("ATTENDEE", user);
        a.set_param("PARTSTAT", partstat);
        c.push(a);
    }
    c.set_dtstamp(ctx.now);
    Ok(c)
}

/// The ATTENDEE parameter that carries a resource's reason for declining (the quota's
/// decline reason, for instance) to the organiser's copy, where a client shows it beside the
/// PARTSTAT. Not an iCalendar standard parameter; other clients ignore it (RFC 5545 §3.2).
pub const REASON_PARAM: &str = "X-CALSTORE-REASON";

/// A response to the event's organiser.
pub(crate) fn to_organiser(
    ctx: &Ctx<'_>,
    method: Method,
    e: &EventComponent,
    zones: &[String],
    components: &[String],
) -> Option<Response> {
    let organiser = e.organizer.clone()?;
    Some(Response {
        method,
        from: ctx.user.to_owned(),
        to: vec![organiser],
        uid: e.uid.clone(),
        text: text::calendar(method.as_str(), zones, components),
    })
}

/// Records `e` for the user (stored, free/busy recomputed).
pub(crate) fn record<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    e: &EventComponent,
) -> Result<()> {
    s.record_event(ctx.user, e, &ctx.record).map(|_| ())
}

/// Cancels (uid, rid) for the user: the whole event (parent and every active override) or
/// one occurrence (stored from `e` first if the user holds only the parent). Returns
/// whether anything was cancelled.
pub(crate) fn cancel<C: SqlConnection>(
    s: &mut Store<C>,
    ctx: &Ctx<'_>,
    e: &EventComponent,
) -> Result<bool> {
    let user = ctx.user;
    match e.recurrence_id() {
        None => {
            let mut any = s.record_cancellation(user, &e.uid, None, &ctx.record)?;
            for rid in s.get_active_recurrences(user, &e.uid)? {
                any |= s.record_cancellation(user, &e.uid, Some(&rid), &ctx.record)?;
            }
            Ok(any)
        }
        Some(rid) => {
            if s.get_recurrence(user, &e.uid, &rid)?.is_some() {
                return s.record_cancellation(user, &e.uid, Some(&rid), &ctx.record);
            }
            if s.get_complete_event(user, &e.uid)?.is_none() {
                return Ok(false);
            }
            // Only the parent is held: keep the cancelled occurrence as an override.
            record(s, ctx, e)?;
            s.record_cancellation(user, &e.uid, Some(&rid), &ctx.record)
        }
    }
}

/// Formats an instant for a DTSTART/DTEND line, in the zone of `like` (a line with a TZID
/// naming a zone calstore knows) or else in UTC.
pub(crate) fn time_line(name: &str, at: DateTime<Utc>, like: Option<&Line>) -> Line {
    if let Some(tzid) = like.and_then(|l| l.param("TZID"))
        && let Ok(tz) = ical::parse_tz(&tzid)
        && tz != chrono_tz::Tz::UTC
    {
        let mut l = Line::new(
            name,
            at.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string(),
        );
        l.set_param("TZID", &tzid);
        return l;
    }
    Line::new(name, ical::format_utc(at))
}
