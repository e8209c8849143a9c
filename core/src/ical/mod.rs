//! iCalendar parsing and recurrence expansion, with no I/O.
//!
//! [`parse_events`] turns iCalendar bytes into validated [`EventComponent`]s, each carrying its
//! re-serialised VEVENT text (the source of truth the store keeps) and the few fields the store
//! indexes. [`EventComponent::instances`] expands an event into UTC [`Instance`]s up to a window
//! end, as imip-agent's `get_periods` does, with RFC 5545 semantics for RRULE, RDATE, EXDATE,
//! floating times, all-day values and daylight-saving gaps and folds.
//!
//! Recurrence rules are expanded by this module's own engine (`rrule`), working on wall-clock
//! times in the zone of DTSTART, so that every RRULE part behaves as RFC 5545 says across
//! daylight-saving changes and with floating and DATE values.
//!
//! A TZID names an IANA zone known to chrono-tz (plus `UTC`, `Z`, `GMT`), a zone defined by a
//! VTIMEZONE of the same VCALENDAR (custom names), a Windows zone name mapped to IANA by CLDR's
//! table, or a "globally unique" `/vendor/Area/City` name, in that order; the VTIMEZONEs an
//! event uses are kept in its text so that the stored object parses on its own (see `zone`).

mod build;
pub mod datetime;
pub mod duration;
mod error;
mod event;
mod expand;
mod export;
mod freebusy;
#[cfg(test)]
mod lenient_tests;
mod lex;
mod notes;
mod parse;
#[cfg(test)]
pub(crate) mod proptests;
mod repair;
mod rrule;
#[cfg(test)]
mod speed_tests;
#[cfg(test)]
mod tests;
mod time;
mod windows;
mod zone;
#[cfg(test)]
mod zone_tests;

pub use datetime::{format_utc, parse_utc, resolve_local};
pub use duration::{format_duration, parse_duration};
pub use error::IcalError;
pub(crate) use error::show;
pub use event::{
    Attendee, DEFAULT_MAX_INSTANCES, EventComponent, ExpandContext, Expansion,
    INSTANCE_CAP_REACHED, Instance, MAX_COMPONENT_LEN, MAX_PROPERTY_VALUE_LEN, MAX_UID_LEN,
    recurrence_id_point,
};
pub use export::{calendar_of, carried_zones};
pub use freebusy::{FreeBusyComponent, FreeBusyPeriod, parse_freebusy};
pub use notes::{DEFAULT_MAX_NOTES, ParseOptions, ParsedCalendar, RepairNote};
pub use parse::{parse_calendar, parse_events};
pub use repair::DERIVED_UID_PREFIX;
pub use zone::parse_tz;
