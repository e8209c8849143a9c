//! The event model: a parsed VEVENT ([`EventComponent`]) with the fields the store uses, its
//! attendees, and the parameters and results of its expansion into instances.

use chrono::{DateTime, Utc};

use super::duration::Dur;
use super::error::IcalError;
use super::rrule::Rule;
use super::time::{IcalTime, parse_ical_time};

/// Maximum length of a UID, in bytes.
pub const MAX_UID_LEN: usize = 1024;
/// Maximum length of one property value (after unfolding), in bytes.
pub const MAX_PROPERTY_VALUE_LEN: usize = 64 * 1024;
/// Maximum length of one serialised VEVENT ([`EventComponent::text`]), in bytes.
pub const MAX_COMPONENT_LEN: usize = 1024 * 1024;
/// Default for [`ExpandContext::max_instances`].
pub const DEFAULT_MAX_INSTANCES: usize = 100_000;

/// Words every error about an object over the instance cap contains (front ends recognise
/// the error by them to say how to raise the cap).
pub const INSTANCE_CAP_REACHED: &str = "the cap on instances per object";

/// An ATTENDEE property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// The calendar user address, e.g. `mailto:resource-room-confroom@example.com`.
    pub uri: String,
    /// The PARTSTAT parameter, upper-cased (`ACCEPTED`, `DECLINED`, `NEEDS-ACTION`, ...).
    pub partstat: Option<String>,
}

/// One VEVENT: a parent event (no RECURRENCE-ID) or a recurrence override.
#[derive(Debug, Clone, PartialEq)]
pub struct EventComponent {
    /// The UID, as written (non-empty, at most [`MAX_UID_LEN`] bytes, no control characters).
    pub uid: String,
    /// SEQUENCE, 0 if absent.
    pub sequence: i64,
    /// SUMMARY, unescaped (`\n`, `\,`, `\;`, `\\`).
    pub summary: Option<String>,
    /// The ORGANIZER's URI value, e.g. `mailto:paul@example.com`.
    pub organizer: Option<String>,
    /// The ATTENDEE properties, in order.
    pub attendees: Vec<Attendee>,
    /// TRANSP, upper-cased (`OPAQUE` / `TRANSPARENT`).
    pub transp: Option<String>,
    /// STATUS, upper-cased (`CONFIRMED`, `TENTATIVE`, `CANCELLED`).
    pub status: Option<String>,
    /// True for `RECURRENCE-ID;RANGE=THISANDFUTURE`.
    pub this_and_future: bool,
    /// DTSTAMP (when the object was written), if present and valid: RFC 5546 §2.1.5 orders
    /// two copies with the same SEQUENCE by it.
    pub dtstamp: Option<DateTime<Utc>>,
    /// The VEVENT re-serialised: `BEGIN:VEVENT\r\n...END:VEVENT\r\n`, content lines as in the
    /// input (nested components such as VALARM kept), CRLF line endings, folded at 75 octets on
    /// UTF-8 character boundaries. Every VTIMEZONE the event uses (a custom TZID) is added as
    /// an `X-CALSTORE-VTIMEZONE` property, so that this text parses on its own.
    pub text: String,
    /// DTSTART.
    pub(super) dtstart: IcalTime,
    /// DTEND or DURATION (at most one is present).
    pub(super) end: EndSpec,
    /// RRULE properties (RFC 5545 wants at most one; several are expanded as a union).
    pub(super) rrules: Vec<Rule>,
    /// RDATE values.
    pub(super) rdates: Vec<RDate>,
    /// EXDATE values.
    pub(super) exdates: Vec<IcalTime>,
    /// RECURRENCE-ID value.
    pub(super) recurrence_id: Option<IcalTime>,
}

/// How an event's end is given.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum EndSpec {
    /// Neither DTEND nor DURATION.
    None,
    /// DTEND.
    DtEnd(IcalTime),
    /// DURATION (non-negative).
    Duration(Dur),
}

/// One RDATE value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RDate {
    pub(super) start: IcalTime,
    /// For a PERIOD value, its end.
    pub(super) end: Option<PeriodEnd>,
}

/// The second half of a PERIOD value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PeriodEnd {
    /// An explicit end.
    Time(IcalTime),
    /// A duration from the start.
    Duration(Dur),
}

/// Parameters of [`EventComponent::instances`].
#[derive(Debug, Clone)]
pub struct ExpandContext {
    /// The zone floating times and DATE values are read in (the user's TZID preference).
    pub tz: chrono_tz::Tz,
    /// Only instances starting before this instant are produced.
    pub window_end: DateTime<Utc>,
    /// More instances than this before `window_end` is an error.
    pub max_instances: usize,
}

impl ExpandContext {
    /// A context with [`DEFAULT_MAX_INSTANCES`].
    pub fn new(tz: chrono_tz::Tz, window_end: DateTime<Utc>) -> Self {
        Self {
            tz,
            window_end,
            max_instances: DEFAULT_MAX_INSTANCES,
        }
    }
}

/// One occurrence of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instance {
    /// Start instant.
    pub start: DateTime<Utc>,
    /// End instant (equal to `start` for a zero-length event).
    pub end: DateTime<Utc>,
    /// The instant this instance's recurrence id denotes (its original, unmoved start), used to
    /// match overrides. For a parent's instances this equals `start`; for an override it is the
    /// RECURRENCE-ID.
    pub recurrence_point: DateTime<Utc>,
}

/// The result of [`EventComponent::instances`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// The instances, sorted by start, without duplicate starts.
    pub instances: Vec<Instance>,
    /// True if the event has (or may have) instances starting at or after the window end that
    /// were not produced.
    pub truncated: bool,
}

impl EventComponent {
    /// The normalised RECURRENCE-ID (imip-agent §4.3), or None for a parent. With a TZID the
    /// value is converted to UTC `YYYYMMDDTHHMMSSZ` (a DATE with TZID meaning midnight in that
    /// zone); without one it is kept as written: `YYYYMMDD`, floating `YYYYMMDDTHHMMSS`, or
    /// `YYYYMMDDTHHMMSSZ`.
    pub fn recurrence_id(&self) -> Option<String> {
        self.recurrence_id.as_ref().map(IcalTime::normalised)
    }

    /// True for an RRULE without COUNT and UNTIL (the event recurs indefinitely).
    pub fn is_open_ended(&self) -> bool {
        self.rrules.iter().any(Rule::is_open_ended)
    }

    /// True if the event has an RRULE or RDATE.
    pub fn is_recurring(&self) -> bool {
        !self.rrules.is_empty() || !self.rdates.is_empty()
    }

    /// The instant DTSTART denotes (floating times and dates read in `tz`): the start of
    /// the first instance.
    pub fn start_instant(&self, tz: chrono_tz::Tz) -> DateTime<Utc> {
        self.dtstart.instant(tz)
    }
}

/// Converts a normalised recurrence id (the §4.3 forms `YYYYMMDD`, `YYYYMMDDTHHMMSS`,
/// `YYYYMMDDTHHMMSSZ`) to the UTC instant it denotes; dates (midnight) and floating values are
/// read in `tz`.
pub fn recurrence_id_point(rid: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, IcalError> {
    let value = parse_ical_time(rid, None, None)
        .map_err(|e| IcalError(format!("invalid recurrence id: {}", e.0)))?;
    Ok(value.instant(tz))
}
