//! A quota booking read from an iCalendar event: the periods the event occupies inside the
//! window, whether it recurs without end, and its organiser.
//!
//! This follows what `calstore quota check --file` does (`native/src/cli/quota.rs`): the
//! copy with the highest SEQUENCE of each object wins; the parent's occurrences that an
//! override replaces are left out; cancelled objects contribute nothing.

use std::collections::{BTreeMap, HashSet};

use calstore_core::ical::{self, EventComponent, ExpandContext, IcalError};
use calstore_core::{Period, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A booking's data, owned (the journal's [`calstore_core::Booking`] borrows from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingData {
    /// The organiser (from the options, else the event's ORGANIZER).
    pub organiser: String,
    /// The event's UID.
    pub uid: String,
    /// The recurrence id when the booking is exactly one override.
    pub rid: Option<String>,
    /// The periods inside the window, sorted.
    pub periods: Vec<Period>,
    /// True if the event recurs without end.
    pub open_ended: bool,
}

impl BookingData {
    /// The total requested, in seconds.
    pub fn requested(&self) -> i64 {
        self.periods
            .iter()
            .fold(0i64, |acc, p| acc.saturating_add(p.duration_secs()))
    }

    /// The booking as the journal takes it, for the resource `attendee`.
    pub fn booking<'a>(&'a self, attendee: &'a str) -> calstore_core::Booking<'a> {
        calstore_core::Booking {
            organiser: &self.organiser,
            attendee,
            uid: &self.uid,
            rid: self.rid.as_deref(),
            periods: &self.periods,
            open_ended: self.open_ended,
        }
    }
}

fn invalid(e: IcalError) -> StoreError {
    StoreError::InvalidData(e.0)
}

fn is_cancelled(e: &EventComponent) -> bool {
    e.status.as_deref() == Some("CANCELLED")
}

fn event_period(e: &EventComponent, inst: &ical::Instance, rid: Option<&str>) -> Period {
    Period {
        start: inst.start,
        end: inst.end,
        uid: Some(e.uid.clone()),
        transp: None,
        recurrenceid: rid.map(str::to_owned),
        summary: e.summary.clone(),
        organiser: e.organizer.clone(),
    }
}

/// Reads one event (a parent and/or its overrides, all with one UID) from iCalendar `input`.
pub fn from_ics(
    input: &[u8],
    organiser: Option<&str>,
    tz: Tz,
    window_end: DateTime<Utc>,
) -> Result<BookingData, StoreError> {
    let events = ical::parse_events(input).map_err(invalid)?;
    let Some(first) = events.first() else {
        return Err(StoreError::invalid("the booking holds no VEVENT"));
    };
    let uid = first.uid.clone();
    if let Some(other) = events.iter().find(|e| e.uid != uid) {
        return Err(StoreError::invalid(format!(
            "the booking holds several events ({uid}, {}); a booking is one event",
            other.uid
        )));
    }
    let ctx = ExpandContext::new(tz, window_end);
    let mut parent: Option<&EventComponent> = None;
    let mut overrides: BTreeMap<String, &EventComponent> = BTreeMap::new();
    for e in &events {
        match e.recurrence_id() {
            None => {
                if parent.is_none_or(|old| e.sequence >= old.sequence) {
                    parent = Some(e);
                }
            }
            Some(rid) => {
                let slot = overrides.entry(rid).or_insert(e);
                if e.sequence >= slot.sequence {
                    *slot = e;
                }
            }
        }
    }
    let mut periods = Vec::new();
    let mut replaced = HashSet::new();
    for (rid, e) in &overrides {
        replaced.insert(ical::recurrence_id_point(rid, tz).map_err(invalid)?);
        if !is_cancelled(e) {
            for inst in &e.instances(&ctx).map_err(invalid)?.instances {
                periods.push(event_period(e, inst, Some(rid)));
            }
        }
    }
    let mut open_ended = false;
    if let Some(p) = parent.filter(|p| !is_cancelled(p)) {
        for inst in &p.instances(&ctx).map_err(invalid)?.instances {
            if !replaced.contains(&inst.recurrence_point) {
                periods.push(event_period(p, inst, None));
            }
        }
        open_ended = p.is_open_ended();
    }
    periods.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
    let rid = match (parent, overrides.len()) {
        (None, 1) => overrides.keys().next().cloned(),
        _ => None,
    };
    let organiser = match organiser {
        Some(o) => o.to_owned(),
        None => parent
            .or_else(|| overrides.values().next().copied())
            .and_then(|e| e.organizer.clone())
            .ok_or_else(|| {
                StoreError::invalid("the booking has no ORGANIZER: give the organiser")
            })?,
    };
    Ok(BookingData {
        organiser,
        uid,
        rid,
        periods,
        open_ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:b1\r\n\
        DTSTAMP:20261101T000000Z\r\nDTSTART:20261123T090000Z\r\nDTEND:20261123T100000Z\r\n\
        RRULE:FREQ=DAILY;COUNT=3\r\nORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20261101T000000Z\r\n\
        RECURRENCE-ID:20261124T090000Z\r\nDTSTART:20261124T120000Z\r\nDTEND:20261124T150000Z\r\n\
        ORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn overrides_replace_occurrences() {
        let end = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let b = from_ics(EVENT.as_bytes(), None, Tz::UTC, end).unwrap();
        assert_eq!(b.organiser, "mailto:o@example.com");
        assert_eq!(b.uid, "b1");
        assert_eq!(b.rid, None);
        assert!(!b.open_ended);
        // 1 h + 3 h (the moved one) + 1 h.
        assert_eq!(b.requested(), 5 * 3600);
        assert_eq!(b.periods.len(), 3);
    }

    #[test]
    fn errors() {
        let end = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert!(from_ics(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", None, Tz::UTC, end).is_err());
        let no_org = EVENT.replace("ORGANIZER:mailto:o@example.com\r\n", "");
        assert!(matches!(
            from_ics(no_org.as_bytes(), None, Tz::UTC, end),
            Err(StoreError::InvalidData(_))
        ));
        assert!(
            from_ics(
                no_org.as_bytes(),
                Some("mailto:x@example.com"),
                Tz::UTC,
                end
            )
            .is_ok()
        );
    }
}
