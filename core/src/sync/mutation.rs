//! Mutations: the store operations a client makes offline and pushes, applied optimistically
//! on the client and authoritatively on the server.
//!
//! On the server a mutation meets the iTIP order (RFC 5546 §2.1.5): per (UID, RECURRENCE-ID)
//! the version with the higher SEQUENCE wins, then the later DTSTAMP. A mutation that loses is
//! `superseded` and changes nothing; the result carries the versions that won. The table in
//! `docs/sync-protocol.md` lists, per kind, how it conflicts and how it merges.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::ical::{self, EventComponent};
use crate::journal::QuotaDecision;
use crate::period::Period;
use crate::record::{self, RecordOptions, Source};
use crate::scheduling::instant;
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::Store;

/// The server's version of an object that won over a mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// The user whose object it is.
    pub user: String,
    /// Its UID.
    pub uid: String,
    /// Its RECURRENCE-ID, None for the whole event.
    pub rid: Option<String>,
    /// `active` or `cancelled`, None if the server has no such object.
    pub status: Option<String>,
    /// Its SEQUENCE.
    pub sequence: i64,
    /// Its DTSTAMP, if any.
    pub dtstamp: Option<String>,
    /// The stored text.
    pub text: Option<String>,
}

/// The decision on a quota booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingOutcome {
    /// The quota.
    pub quota: String,
    /// `accepted` or `declined`.
    pub decision: String,
    /// The journal's reason for a decline (imip-agent's sentence).
    pub reason: Option<String>,
}

/// A version in the iTIP order: SEQUENCE, then DTSTAMP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// SEQUENCE (0 if absent).
    pub sequence: i64,
    /// DTSTAMP as `YYYYMMDDTHHMMSSZ`, if any (absent sorts first).
    #[serde(default)]
    pub dtstamp: Option<String>,
}

impl Version {
    /// The version of a parsed component.
    pub fn of(e: &EventComponent) -> Self {
        Version {
            sequence: e.sequence,
            dtstamp: e.dtstamp.map(format_utc),
        }
    }

    fn instant(&self) -> Option<DateTime<Utc>> {
        self.dtstamp.as_deref().and_then(|d| parse_utc(d).ok())
    }

    /// True if `self` is older than `other` in the iTIP order.
    pub fn is_older_than(&self, other: &Version) -> bool {
        (self.sequence, self.instant()) < (other.sequence, other.instant())
    }
}

/// A booking of a quota: an event's iCalendar text, or bare periods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum BookingSpec {
    /// One event's components; the server computes its periods.
    Ics {
        /// The calendar text.
        ics: String,
        /// The organiser, if not the event's ORGANIZER.
        #[serde(default)]
        organiser: Option<String>,
    },
    /// Bare periods.
    Periods {
        /// The organiser.
        organiser: String,
        /// The booking's UID (default `calstore-booking`).
        #[serde(default)]
        uid: Option<String>,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
        /// The periods, `[start, end]` as `YYYYMMDDTHHMMSSZ`.
        periods: Vec<(String, String)>,
        /// True if the event recurs without end.
        #[serde(default)]
        open_ended: bool,
    },
}

/// A store or journal operation a client makes and pushes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// Records the VEVENTs of a calendar text (an event with its overrides, or several).
    Record {
        /// The calendar.
        user: String,
        /// The iCalendar text.
        ics: String,
        /// Delete the stored recurrences of a recorded parent first (an organiser re-sends the
        /// whole event).
        #[serde(default)]
        replace_recurrences: bool,
    },
    /// Cancels an object.
    Cancel {
        /// The calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The recurrence id, None for the parent.
        #[serde(default)]
        rid: Option<String>,
        /// The version the client acted on; a newer one on the server wins.
        #[serde(default)]
        base: Option<Version>,
    },
    /// Makes a cancelled object active again.
    Uncancel {
        /// The calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
        /// The version the client acted on.
        #[serde(default)]
        base: Option<Version>,
    },
    /// Removes an object (without rid: the event with its recurrences).
    Remove {
        /// The calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
        /// The version the client acted on.
        #[serde(default)]
        base: Option<Version>,
    },
    /// Queues a request (a set: a no-op if (uid, rid) is queued).
    QueueRequest {
        /// The calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
        /// The request type (`COUNTER`), if any.
        #[serde(default)]
        request_type: Option<String>,
    },
    /// Removes a request.
    DequeueRequest {
        /// The calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
    },
    /// Stores an attendee's counter-proposal (ordered per attendee by its own SEQUENCE, then
    /// DTSTAMP).
    SetCounter {
        /// The calendar.
        user: String,
        /// The attendee.
        other: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
        /// The counter-proposal's VEVENT text.
        text: String,
    },
    /// Removes an attendee's counter-proposal.
    RemoveCounter {
        /// The calendar.
        user: String,
        /// The attendee.
        other: String,
        /// The UID.
        uid: String,
        /// The recurrence id.
        #[serde(default)]
        rid: Option<String>,
    },
    /// The attendee `user` proposes another time for an event they are invited to, or one
    /// occurrence of it: their copy remembers the proposal, and a scheduling server sends the
    /// organiser an iTIP COUNTER ([`Mutation::messages`]).
    Counter {
        /// The attendee's calendar.
        user: String,
        /// The UID.
        uid: String,
        /// The occurrence, None for the whole event.
        #[serde(default)]
        rid: Option<String>,
        /// The proposed start, `YYYYMMDDTHHMMSSZ`.
        start: String,
        /// The proposed end.
        end: String,
        /// A comment for the organiser.
        #[serde(default)]
        comment: Option<String>,
        /// The version of the event the attendee proposed against; a newer one on the server
        /// wins.
        #[serde(default)]
        base: Option<Version>,
    },
    /// The organiser `user` accepts `other`'s counter-proposal: the event (or occurrence)
    /// moves to the proposed time with the next SEQUENCE, and implicit scheduling sends the
    /// REQUEST.
    AcceptCounter {
        /// The organiser's calendar.
        user: String,
        /// The attendee who proposed.
        other: String,
        /// The UID.
        uid: String,
        /// The occurrence.
        #[serde(default)]
        rid: Option<String>,
    },
    /// The organiser `user` declines `other`'s counter-proposal: it is dropped, and a
    /// scheduling server sends the attendee an iTIP DECLINECOUNTER.
    DeclineCounter {
        /// The organiser's calendar.
        user: String,
        /// The attendee who proposed.
        other: String,
        /// The UID.
        uid: String,
        /// The occurrence.
        #[serde(default)]
        rid: Option<String>,
        /// A comment for the attendee.
        #[serde(default)]
        comment: Option<String>,
    },
    /// Stores a received VFREEBUSY about `other` (the newer DTSTAMP wins).
    ImportFreebusyOther {
        /// The calendar.
        user: String,
        /// Whom the free/busy is about.
        other: String,
        /// The VFREEBUSY text.
        ics: String,
    },
    /// Sets (adds to, or with `replace` replaces) a quota's limits.
    SetQuotaLimits {
        /// The quota.
        quota: String,
        /// Group → limit.
        limits: BTreeMap<String, String>,
        /// Replace all limits instead of adding.
        #[serde(default)]
        replace: bool,
    },
    /// Sets (adds to, or replaces) a quota's user → group mapping.
    SetQuotaGroups {
        /// The quota.
        quota: String,
        /// User → group.
        groups: BTreeMap<String, String>,
        /// Replace all instead of adding.
        #[serde(default)]
        replace: bool,
    },
    /// Replaces a quota's delegates.
    SetQuotaDelegates {
        /// The quota.
        quota: String,
        /// The delegates.
        delegates: Vec<String>,
    },
    /// Books a quota: pending on the client until the server accepts or declines it.
    Reserve {
        /// The quota.
        quota: String,
        /// The resource booked (default: the quota).
        #[serde(default)]
        attendee: Option<String>,
        /// What is booked.
        booking: BookingSpec,
    },
}

/// Where a mutation is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// On a client replica, optimistically: no version checks; bookings wait for the server.
    Client,
    /// On the server: the iTIP order decides.
    Server,
    /// On a database that does not sync: as written (no version checks), bookings decided
    /// at once.
    Local,
}

/// What applying a mutation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Applied,
    /// Not applied: newer versions on the server.
    Superseded(Vec<ServerVersion>),
    /// A quota booking decided.
    Booked(BookingOutcome),
    /// Not applied on the client: waits for the server (a booking).
    Pending,
}

/// The owner a mutation writes: (is it a journal quota?, name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A store user.
    Calendar(String),
    /// A journal quota.
    Quota(String),
}

impl Mutation {
    /// Whom the mutation writes (what authorisation checks).
    pub fn target(&self) -> Target {
        match self {
            Mutation::Record { user, .. }
            | Mutation::Cancel { user, .. }
            | Mutation::Uncancel { user, .. }
            | Mutation::Remove { user, .. }
            | Mutation::QueueRequest { user, .. }
            | Mutation::DequeueRequest { user, .. }
            | Mutation::SetCounter { user, .. }
            | Mutation::RemoveCounter { user, .. }
            | Mutation::Counter { user, .. }
            | Mutation::AcceptCounter { user, .. }
            | Mutation::DeclineCounter { user, .. }
            | Mutation::ImportFreebusyOther { user, .. } => {
                Target::Calendar(crate::address::normalised(user))
            }
            Mutation::SetQuotaLimits { quota, .. }
            | Mutation::SetQuotaGroups { quota, .. }
            | Mutation::SetQuotaDelegates { quota, .. }
            | Mutation::Reserve { quota, .. } => Target::Quota(quota.clone()),
        }
    }

    /// A short name of the kind, for summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Record { .. } => "record",
            Mutation::Cancel { .. } => "cancel",
            Mutation::Uncancel { .. } => "uncancel",
            Mutation::Remove { .. } => "remove",
            Mutation::QueueRequest { .. } => "queue_request",
            Mutation::DequeueRequest { .. } => "dequeue_request",
            Mutation::SetCounter { .. } => "set_counter",
            Mutation::RemoveCounter { .. } => "remove_counter",
            Mutation::Counter { .. } => "counter",
            Mutation::AcceptCounter { .. } => "accept_counter",
            Mutation::DeclineCounter { .. } => "decline_counter",
            Mutation::ImportFreebusyOther { .. } => "import_freebusy_other",
            Mutation::SetQuotaLimits { .. } => "set_quota_limits",
            Mutation::SetQuotaGroups { .. } => "set_quota_groups",
            Mutation::SetQuotaDelegates { .. } => "set_quota_delegates",
            Mutation::Reserve { .. } => "reserve",
        }
    }

    /// The calendar and the UIDs of the events this mutation writes, for implicit scheduling
    /// ([`Store::deliver_change`]); None for a mutation that writes no event.
    pub fn events_written(&self) -> Result<Option<(String, Vec<String>)>> {
        Ok(match self {
            Mutation::Record { user, ics, .. } => {
                let mut uids: Vec<String> = Source::bytes(ics.as_bytes())
                    .events(None)?
                    .into_iter()
                    .map(|e| e.uid)
                    .collect();
                uids.sort();
                uids.dedup();
                Some((user.clone(), uids))
            }
            Mutation::Cancel { user, uid, .. }
            | Mutation::Uncancel { user, uid, .. }
            | Mutation::Remove { user, uid, .. }
            | Mutation::AcceptCounter { user, uid, .. } => Some((user.clone(), vec![uid.clone()])),
            _ => None,
        })
    }

    /// The iTIP messages an applied mutation sends of itself, for a scheduling server to
    /// deliver ([`Store::deliver`]) in the mutation's transaction: the COUNTER of a `counter`,
    /// the DECLINECOUNTER of a `decline_counter`. (What a write of the calendar amounts to is
    /// [`Mutation::events_written`]'s, through [`Store::deliver_change`].)
    pub fn messages<C: SqlConnection>(
        &self,
        store: &mut Store<C>,
    ) -> Result<Vec<crate::scheduling::Response>> {
        Ok(match self {
            Mutation::Counter {
                user,
                uid,
                rid,
                start,
                end,
                comment,
                ..
            } => vec![store.counter_message(
                user,
                uid,
                rid.as_deref(),
                instant("start", start)?,
                instant("end", end)?,
                comment.as_deref(),
            )?],
            Mutation::DeclineCounter {
                user,
                other,
                uid,
                rid,
                comment,
            } => vec![store.decline_counter_message(
                user,
                other,
                uid,
                rid.as_deref(),
                comment.as_deref(),
            )?],
            _ => Vec::new(),
        })
    }

    /// Applies the mutation to `store` (inside the caller's unit of work, on the server). An
    /// error is a mutation that cannot be applied at all (invalid data): the server rejects
    /// it.
    pub fn apply<C: SqlConnection>(
        &self,
        store: &mut Store<C>,
        side: Side,
        opts: &RecordOptions,
    ) -> Result<Outcome> {
        match self {
            Mutation::Record {
                user,
                ics,
                replace_recurrences,
            } => {
                let events = Source::bytes(ics.as_bytes()).events(None)?;
                if side == Side::Server {
                    let lost = newer_on_server(store, user, &events)?;
                    if !lost.is_empty() {
                        return Ok(Outcome::Superseded(lost));
                    }
                }
                let opts = RecordOptions {
                    replace_recurrences: *replace_recurrences,
                    ..opts.clone()
                };
                store.import_events(user, &events, &opts, &mut |_, _| {})?;
                Ok(Outcome::Applied)
            }
            Mutation::Cancel {
                user,
                uid,
                rid,
                base,
            }
            | Mutation::Uncancel {
                user,
                uid,
                rid,
                base,
            }
            | Mutation::Remove {
                user,
                uid,
                rid,
                base,
            } => {
                if side == Side::Server
                    && let Some(base) = base
                    && let Some(server) = stored_version(store, user, uid, rid.as_deref())?
                    && base.is_older_than(&version_of(&server))
                {
                    return Ok(Outcome::Superseded(vec![server]));
                }
                let rid = rid.as_deref();
                match self {
                    Mutation::Cancel { .. } => store.record_cancellation(user, uid, rid, opts)?,
                    Mutation::Uncancel { .. } => {
                        store.record_uncancellation(user, uid, rid, opts)?
                    }
                    _ => store.record_removal(user, uid, rid, opts)?,
                };
                Ok(Outcome::Applied)
            }
            Mutation::QueueRequest {
                user,
                uid,
                rid,
                request_type,
            } => {
                store.queue_request(user, uid, rid.as_deref(), request_type.as_deref())?;
                Ok(Outcome::Applied)
            }
            Mutation::DequeueRequest { user, uid, rid } => {
                store.dequeue_request(user, uid, rid.as_deref())?;
                Ok(Outcome::Applied)
            }
            Mutation::SetCounter {
                user,
                other,
                uid,
                rid,
                text,
            } => {
                if side == Side::Server
                    && let Ok(incoming) = counter_version(text)
                    && let Some(stored) = store.get_counter(user, other, uid, rid.as_deref())?
                    && let Ok(stored_v) = counter_version(&stored)
                    && incoming.is_older_than(&stored_v)
                {
                    return Ok(Outcome::Superseded(vec![ServerVersion {
                        user: user.clone(),
                        uid: uid.clone(),
                        rid: rid.clone(),
                        status: Some("counter".to_owned()),
                        sequence: stored_v.sequence,
                        dtstamp: stored_v.dtstamp,
                        text: Some(stored),
                    }]));
                }
                store.set_counter(user, other, uid, rid.as_deref(), text)?;
                Ok(Outcome::Applied)
            }
            Mutation::RemoveCounter {
                user,
                other,
                uid,
                rid,
            } => {
                store.remove_counter(user, other, uid, rid.as_deref())?;
                Ok(Outcome::Applied)
            }
            Mutation::Counter {
                user,
                uid,
                rid,
                start,
                end,
                base,
                ..
            } => {
                if side == Side::Server
                    && let Some(base) = base
                    && let Some(server) = event_version(store, user, uid, rid.as_deref())?
                    && base.is_older_than(&version_of(&server))
                {
                    return Ok(Outcome::Superseded(vec![server]));
                }
                store.propose_counter(
                    user,
                    uid,
                    rid.as_deref(),
                    instant("start", start)?,
                    instant("end", end)?,
                )?;
                Ok(Outcome::Applied)
            }
            Mutation::AcceptCounter {
                user,
                other,
                uid,
                rid,
            } => {
                if store.accept_counter(user, other, uid, rid.as_deref())? || side != Side::Server {
                    return Ok(Outcome::Applied);
                }
                // Answered already, or made against an older version than the server's.
                let server = event_version(store, user, uid, rid.as_deref())?;
                Ok(Outcome::Superseded(server.into_iter().collect()))
            }
            Mutation::DeclineCounter {
                user,
                other,
                uid,
                rid,
                comment,
            } => {
                if store
                    .get_counter(user, other, uid, rid.as_deref())?
                    .is_none()
                {
                    if side != Side::Server {
                        return Ok(Outcome::Applied);
                    }
                    let server = event_version(store, user, uid, rid.as_deref())?;
                    return Ok(Outcome::Superseded(server.into_iter().collect()));
                }
                let message = store.decline_counter_message(
                    user,
                    other,
                    uid,
                    rid.as_deref(),
                    comment.as_deref(),
                )?;
                let parsed = crate::scheduling::parse_message(message.text.as_bytes(), None)?;
                store.send_message(user, &parsed)?;
                Ok(Outcome::Applied)
            }
            Mutation::ImportFreebusyOther { user, other, ics } => {
                let components = ical::parse_freebusy(ics.as_bytes())
                    .map_err(|e| StoreError::InvalidData(e.0))?;
                store.import_freebusy_for_other(user, other, &components)?;
                Ok(Outcome::Applied)
            }
            Mutation::SetQuotaLimits {
                quota,
                limits,
                replace,
            } => {
                let mut j = store.journal();
                if *replace {
                    j.set_limits(quota, limits)?;
                } else {
                    for (g, l) in limits {
                        j.set_limit(quota, g, l)?;
                    }
                }
                Ok(Outcome::Applied)
            }
            Mutation::SetQuotaGroups {
                quota,
                groups,
                replace,
            } => {
                let mut j = store.journal();
                if *replace {
                    j.set_groups(quota, groups)?;
                } else {
                    for (u, g) in groups {
                        j.set_group(quota, u, g)?;
                    }
                }
                Ok(Outcome::Applied)
            }
            Mutation::SetQuotaDelegates { quota, delegates } => {
                store.journal().set_delegates(quota, delegates)?;
                Ok(Outcome::Applied)
            }
            Mutation::Reserve {
                quota,
                attendee,
                booking,
            } => {
                if side == Side::Client {
                    return Ok(Outcome::Pending);
                }
                let request = booking_request(booking, opts)?;
                let attendee = attendee.as_deref().unwrap_or(quota);
                let decision = store.journal().reserve(quota, &request.booking(attendee))?;
                Ok(Outcome::Booked(match decision {
                    QuotaDecision::Accepted { .. } => BookingOutcome {
                        quota: quota.clone(),
                        decision: "accepted".to_owned(),
                        reason: None,
                    },
                    QuotaDecision::Declined { reason, .. } => BookingOutcome {
                        quota: quota.clone(),
                        decision: "declined".to_owned(),
                        reason: Some(reason.message().to_owned()),
                    },
                }))
            }
        }
    }
}

/// The booking a [`BookingSpec`] asks for.
pub fn booking_request(
    spec: &BookingSpec,
    opts: &RecordOptions,
) -> Result<crate::journal::BookingRequest> {
    match spec {
        BookingSpec::Ics { ics, organiser } => record::booking_from_source(
            &Source::bytes(ics.as_bytes()),
            organiser.as_deref(),
            opts.tz,
            opts.window_end,
        ),
        BookingSpec::Periods {
            organiser,
            uid,
            rid,
            periods,
            open_ended,
        } => {
            let periods = periods
                .iter()
                .map(|(s, e)| {
                    let bad = |e: ical::IcalError| StoreError::InvalidData(e.0);
                    Ok(Period::new(
                        parse_utc(s).map_err(bad)?,
                        parse_utc(e).map_err(bad)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            record::booking_from_periods(
                organiser,
                uid.as_deref(),
                rid.as_deref(),
                periods,
                *open_ended,
            )
        }
    }
}

fn version_of(v: &ServerVersion) -> Version {
    Version {
        sequence: v.sequence,
        dtstamp: v.dtstamp.clone(),
    }
}

/// The stored object (active or cancelled) with its version, if any.
pub fn stored_version<C: SqlConnection>(
    store: &mut Store<C>,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<Option<ServerVersion>> {
    for status in [Status::Active, Status::Cancelled] {
        if let Some(text) = store.get_event(user, uid, rid, status)? {
            let v = ical::parse_events(text.as_bytes())
                .ok()
                .and_then(|e| e.into_iter().next())
                .map(|e| Version::of(&e))
                .unwrap_or(Version {
                    sequence: 0,
                    dtstamp: None,
                });
            return Ok(Some(ServerVersion {
                user: user.to_owned(),
                uid: uid.to_owned(),
                rid: rid.map(str::to_owned),
                status: Some(status.as_str().to_owned()),
                sequence: v.sequence,
                dtstamp: v.dtstamp,
                text: Some(text),
            }));
        }
    }
    Ok(None)
}

/// The version of (uid, rid) a counter-proposal is about: the occurrence's own copy, else
/// the event's.
fn event_version<C: SqlConnection>(
    store: &mut Store<C>,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<Option<ServerVersion>> {
    if let Some(v) = stored_version(store, user, uid, rid)? {
        return Ok(Some(v));
    }
    match rid {
        Some(_) => stored_version(store, user, uid, None),
        None => Ok(None),
    }
}

/// The stored versions newer than the incoming components (what makes a record lose).
fn newer_on_server<C: SqlConnection>(
    store: &mut Store<C>,
    user: &str,
    events: &[EventComponent],
) -> Result<Vec<ServerVersion>> {
    let mut lost = Vec::new();
    for e in events {
        let rid = e.recurrence_id();
        if let Some(server) = stored_version(store, user, &e.uid, rid.as_deref())?
            && Version::of(e).is_older_than(&version_of(&server))
        {
            lost.push(server);
        }
    }
    Ok(lost)
}

/// The version of a counter-proposal's text.
fn counter_version(text: &str) -> Result<Version> {
    let events = ical::parse_events(text.as_bytes()).map_err(|e| StoreError::InvalidData(e.0))?;
    events
        .first()
        .map(Version::of)
        .ok_or_else(|| StoreError::invalid("the counter-proposal holds no VEVENT"))
}
