//! A quota booking read from one event's components, computed exactly as recorded free/busy
//! is.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::derive::{derive, group_by_uid};
use super::import::Source;
use super::options::RecordOptions;
use super::participation::is_cancelled;
use crate::error::{Result, StoreError};
use crate::ical::EventComponent;
use crate::journal::BookingRequest;
use crate::period::Period;

/// A user named in no event: every instance counts and each keeps the event's own TRANSP.
const NOBODY: &str = "";

/// The UID of a booking given as bare periods, when none is given.
pub const DEFAULT_BOOKING_UID: &str = "calstore-booking";

/// A booking of bare periods rather than an event: every period gets the booking's uid (by
/// default [`DEFAULT_BOOKING_UID`]), organiser and, unless it has its own, rid.
pub fn booking_from_periods(
    organiser: &str,
    uid: Option<&str>,
    rid: Option<&str>,
    mut periods: Vec<Period>,
    open_ended: bool,
) -> Result<BookingRequest> {
    let uid = uid.unwrap_or(DEFAULT_BOOKING_UID);
    for p in &mut periods {
        p.validate()?;
        p.uid.get_or_insert_with(|| uid.to_owned());
        p.organiser.get_or_insert_with(|| organiser.to_owned());
        if p.recurrenceid.is_none() {
            p.recurrenceid = rid.map(str::to_owned);
        }
    }
    periods.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(BookingRequest {
        organiser: organiser.to_owned(),
        uid: uid.to_owned(),
        rid: rid.map(str::to_owned),
        periods,
        open_ended,
    })
}

/// Reads a booking from one iCalendar source ([`booking_from_events`]); every error names
/// the source.
pub fn booking_from_source(
    source: &Source<'_>,
    organiser: Option<&str>,
    tz: Tz,
    window_end: DateTime<Utc>,
) -> Result<BookingRequest> {
    let events = source.events(None)?;
    if organiser.is_none() && !events.iter().any(|e| e.organizer.is_some()) {
        return Err(StoreError::InvalidData(format!(
            "{} has no ORGANIZER: give the organiser",
            source.label()
        )));
    }
    booking_from_events(&events, organiser, tz, window_end).map_err(|e| match e {
        StoreError::InvalidData(m) => StoreError::InvalidData(format!("{}: {m}", source.label())),
        other => other,
    })
}

/// Reads a booking from the components of **one** event (a parent and/or its overrides): its
/// periods inside `window_end` computed exactly as recorded free/busy is (overrides replace
/// occurrences, THISANDFUTURE shifts later ones, cancelled ones give nothing, the copy with
/// the highest SEQUENCE wins), whether it recurs without end, and the organiser (`organiser`
/// if given, else the event's ORGANIZER).
pub fn booking_from_events(
    events: &[EventComponent],
    organiser: Option<&str>,
    tz: Tz,
    window_end: DateTime<Utc>,
) -> Result<BookingRequest> {
    let Some(first) = events.first() else {
        return Err(StoreError::invalid("the booking holds no VEVENT"));
    };
    if let Some(other) = events.iter().find(|e| e.uid != first.uid) {
        return Err(StoreError::invalid(format!(
            "the booking holds several events ({}, {}); a booking is one event",
            first.uid, other.uid
        )));
    }
    let by_uid = group_by_uid(events)?;
    let Some(objs) = by_uid.get(first.uid.as_str()) else {
        return Err(StoreError::invalid("the booking holds no VEVENT"));
    };
    let parent = objs.get(&None).copied();
    let recurrences: Vec<(&str, bool, Option<&EventComponent>)> = objs
        .iter()
        .filter_map(|(rid, e)| rid.as_deref().map(|r| (r, true, Some(*e))))
        .collect();
    // A booking counts every occurrence up to the window end: no bounded past.
    let opts = RecordOptions {
        tz,
        window_start: DateTime::<Utc>::MIN_UTC,
        window_end,
        ..RecordOptions::new(window_end)
    };
    let derived = derive(NOBODY, parent, &recurrences, &opts)?;
    let rid = match (parent, recurrences.as_slice()) {
        (None, [(rid, _, _)]) => Some((*rid).to_owned()),
        _ => None,
    };
    let organiser = match organiser {
        Some(o) => o.to_owned(),
        None => objs
            .values()
            .find_map(|e| e.organizer.clone())
            .ok_or_else(|| {
                StoreError::invalid("the booking has no ORGANIZER: give the organiser")
            })?,
    };
    Ok(BookingRequest {
        organiser,
        uid: first.uid.clone(),
        rid,
        periods: derived.periods,
        open_ended: parent.is_some_and(|p| !is_cancelled(p) && p.is_open_ended()),
    })
}

#[cfg(test)]
mod booking_tests {
    use super::*;
    use crate::ical;
    use chrono::TimeZone;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:b1\r\n\
        DTSTAMP:20261101T000000Z\r\nDTSTART:20261123T090000Z\r\nDTEND:20261123T100000Z\r\n\
        RRULE:FREQ=DAILY;COUNT=3\r\nORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20261101T000000Z\r\n\
        RECURRENCE-ID:20261124T090000Z\r\nDTSTART:20261124T120000Z\r\nDTEND:20261124T150000Z\r\n\
        ORGANIZER:mailto:o@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn end() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn overrides_replace_occurrences() {
        let events = ical::parse_events(EVENT.as_bytes()).unwrap();
        let b = booking_from_events(&events, None, Tz::UTC, end()).unwrap();
        assert_eq!(b.organiser, "mailto:o@example.com");
        assert_eq!(b.uid, "b1");
        assert_eq!(b.rid, None);
        assert!(!b.open_ended);
        // 1 h + 3 h (the moved one) + 1 h.
        assert_eq!(b.requested(), 5 * 3600);
        assert_eq!(b.periods.len(), 3);
        assert_eq!(b.booking("mailto:car@example.com").periods.len(), 3);
    }

    #[test]
    fn one_override_is_booked_by_its_rid() {
        let text = EVENT.replacen("RRULE:FREQ=DAILY;COUNT=3\r\n", "", 1);
        let events: Vec<EventComponent> = ical::parse_events(text.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|e| e.recurrence_id().is_some())
            .collect();
        let b = booking_from_events(&events, None, Tz::UTC, end()).unwrap();
        assert_eq!(b.rid.as_deref(), Some("20261124T090000Z"));
        assert_eq!(b.requested(), 3 * 3600);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            booking_from_events(&[], None, Tz::UTC, end()),
            Err(StoreError::InvalidData(_))
        ));
        let no_org = EVENT.replace("ORGANIZER:mailto:o@example.com\r\n", "");
        let events = ical::parse_events(no_org.as_bytes()).unwrap();
        assert!(matches!(
            booking_from_events(&events, None, Tz::UTC, end()),
            Err(StoreError::InvalidData(_))
        ));
        assert!(booking_from_events(&events, Some("mailto:x@example.com"), Tz::UTC, end()).is_ok());
        let two = EVENT.replacen("UID:b1", "UID:b2", 1);
        let events = ical::parse_events(two.as_bytes()).unwrap();
        assert!(booking_from_events(&events, None, Tz::UTC, end()).is_err());
    }
}
