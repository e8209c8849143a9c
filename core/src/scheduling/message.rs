//! Reading an iTIP message (RFC 5546): its METHOD, its VEVENTs (one event: a parent and/or
//! overrides of one UID), its VFREEBUSYs and the VTIMEZONEs to send back with an answer.

use super::text::{Line, unfold};
use crate::error::{Result, StoreError};
use crate::ical::{
    self, DERIVED_UID_PREFIX, EventComponent, FreeBusyComponent, ParseOptions, parse_freebusy,
};

/// Largest iCalendar message accepted, in bytes.
pub const MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024;
/// Most VEVENT and VFREEBUSY components one message may hold.
pub const MAX_COMPONENTS: usize = 1000;

/// An iTIP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Publish an event or free/busy; no answer expected.
    Publish,
    /// Invite, update or reschedule (or ask for free/busy).
    Request,
    /// An attendee's answer (or free/busy given).
    Reply,
    /// Add instances to an event.
    Add,
    /// Cancel an event or instances.
    Cancel,
    /// An attendee asks for the latest version.
    Refresh,
    /// An attendee proposes a change.
    Counter,
    /// The organiser declines a counter-proposal.
    DeclineCounter,
}

impl Method {
    /// The METHOD value.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Publish => "PUBLISH",
            Method::Request => "REQUEST",
            Method::Reply => "REPLY",
            Method::Add => "ADD",
            Method::Cancel => "CANCEL",
            Method::Refresh => "REFRESH",
            Method::Counter => "COUNTER",
            Method::DeclineCounter => "DECLINECOUNTER",
        }
    }

    /// Reads a METHOD value (case-insensitive).
    pub fn parse(s: &str) -> Result<Method> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "PUBLISH" => Method::Publish,
            "REQUEST" => Method::Request,
            "REPLY" => Method::Reply,
            "ADD" => Method::Add,
            "CANCEL" => Method::Cancel,
            "REFRESH" => Method::Refresh,
            "COUNTER" => Method::Counter,
            "DECLINECOUNTER" => Method::DeclineCounter,
            other => {
                return Err(StoreError::invalid(format!(
                    "unknown iTIP method {:?}",
                    other.chars().take(40).collect::<String>()
                )));
            }
        })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed iTIP message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Its METHOD.
    pub method: Method,
    /// Its VEVENTs (all of one UID), parent first.
    pub events: Vec<EventComponent>,
    /// Its VFREEBUSYs.
    pub freebusy: Vec<FreeBusyComponent>,
    /// Its VTIMEZONEs, each as content lines joined by `\n` (sent back with answers).
    pub(crate) zones: Vec<String>,
}

impl Message {
    /// The UID of the message's event, if it holds one.
    pub fn uid(&self) -> Option<&str> {
        self.events.first().map(|e| e.uid.as_str())
    }
}

/// Reads an iTIP message from iCalendar bytes. `method` is the `method` parameter of the
/// MIME part it came in, if any: it must agree with the METHOD property, and stands in for a
/// missing one.
///
/// Refused: more than [`MAX_MESSAGE_LEN`] bytes or [`MAX_COMPONENTS`] components, no METHOD,
/// an unknown one, iCalendar that cannot be read (events are read leniently, as calendars
/// from real clients are), a VEVENT without UID, VEVENTs of several UIDs, and a message with
/// neither VEVENT nor VFREEBUSY.
pub fn parse_message(bytes: &[u8], method: Option<&str>) -> Result<Message> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(StoreError::invalid(format!(
            "the iCalendar message is {} bytes long; the limit is {MAX_MESSAGE_LEN}",
            bytes.len()
        )));
    }
    let text = String::from_utf8_lossy(bytes);
    let lines = unfold(&text);
    let mut found_method: Option<String> = None;
    let mut zones = Vec::new();
    let mut zone: Option<Vec<String>> = None;
    let mut depth = 0usize;
    let mut components = 0usize;
    let mut has_freebusy = false;
    for raw in &lines {
        let Some(l) = Line::parse(raw) else {
            if let Some(z) = zone.as_mut() {
                z.push(raw.clone());
            }
            continue;
        };
        match l.name.as_str() {
            "BEGIN" => {
                depth += 1;
                let kind = l.value.trim().to_ascii_uppercase();
                if depth == 2 {
                    components += 1;
                    if components > MAX_COMPONENTS {
                        return Err(StoreError::invalid(format!(
                            "the message holds more than {MAX_COMPONENTS} components"
                        )));
                    }
                    has_freebusy |= kind == "VFREEBUSY";
                    if kind == "VTIMEZONE" {
                        zone = Some(Vec::new());
                    }
                }
                if let Some(z) = zone.as_mut() {
                    z.push(raw.clone());
                }
            }
            "END" => {
                if let Some(z) = zone.as_mut() {
                    z.push(raw.clone());
                    if depth == 2 {
                        zones.push(z.join("\n"));
                        zone = None;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            "METHOD" if depth == 1 && found_method.is_none() => {
                found_method = Some(l.value.trim().to_owned());
            }
            _ => {
                if let Some(z) = zone.as_mut() {
                    z.push(raw.clone());
                }
            }
        }
    }
    let method = match (found_method.as_deref(), method) {
        (Some(m), Some(hint)) => {
            let (m, hint) = (Method::parse(m)?, Method::parse(hint)?);
            if m != hint {
                return Err(StoreError::invalid(format!(
                    "the MIME part says method={hint} but the iCalendar says METHOD:{m}"
                )));
            }
            m
        }
        (Some(m), None) | (None, Some(m)) => Method::parse(m)?,
        (None, None) => {
            return Err(StoreError::invalid(
                "the iCalendar has no METHOD: it is not a scheduling message",
            ));
        }
    };
    let completed = with_dtstart(&lines);
    let parsed = ical::parse_calendar(completed.as_bytes(), &ParseOptions::lenient())
        .map_err(|e| StoreError::invalid(format!("the iCalendar cannot be read: {e}")))?;
    let mut events = parsed.events;
    if let Some(e) = events
        .iter()
        .find(|e| e.uid.starts_with(DERIVED_UID_PREFIX))
    {
        return Err(StoreError::invalid(format!(
            "a VEVENT has no UID ({} would be made up for it)",
            e.uid
        )));
    }
    if let (Some(first), Some(other)) = (
        events.first(),
        events
            .iter()
            .find(|e| events.first().is_some_and(|f| f.uid != e.uid)),
    ) {
        return Err(StoreError::invalid(format!(
            "the message holds several events ({}, {}); an iTIP message is about one",
            first.uid, other.uid
        )));
    }
    // The parent first, then the overrides in recurrence-id order.
    events.sort_by_key(|e| e.recurrence_id());
    let freebusy = if has_freebusy {
        parse_freebusy(bytes)
            .map_err(|e| StoreError::invalid(format!("the VFREEBUSY cannot be read: {e}")))?
    } else {
        Vec::new()
    };
    if events.is_empty() && freebusy.is_empty() {
        return Err(StoreError::invalid(
            "the message holds neither a VEVENT nor a VFREEBUSY",
        ));
    }
    Ok(Message {
        method,
        events,
        freebusy,
        zones,
    })
}

/// Marks a VEVENT that came without DTSTART (allowed in a REFRESH, REPLY or CANCEL): it was
/// given its RECURRENCE-ID, or the epoch, as DTSTART so that it can be read. Such a VEVENT
/// is never booked (a REQUEST, ADD, PUBLISH or COUNTER without DTSTART is refused).
pub(crate) const PLACEHOLDER_PROPERTY: &str = "X-CALSTORE-PLACEHOLDER";

/// True if `e` came without a DTSTART.
pub(crate) fn lacks_dtstart(e: &EventComponent) -> bool {
    e.text.contains(PLACEHOLDER_PROPERTY)
}

/// The message's lines with a DTSTART added to every VEVENT that has none (see
/// [`PLACEHOLDER_PROPERTY`]).
fn with_dtstart(lines: &[String]) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut event_depth = None;
    let mut has_start = false;
    let mut rid: Option<Line> = None;
    for raw in lines {
        let l = Line::parse(raw);
        match l
            .as_ref()
            .map(|l| (l.name.as_str(), l.value.trim().to_ascii_uppercase()))
        {
            Some(("BEGIN", kind)) => {
                depth += 1;
                if kind == "VEVENT" && event_depth.is_none() {
                    event_depth = Some(depth);
                    has_start = false;
                    rid = None;
                }
            }
            Some(("END", _)) => {
                if event_depth == Some(depth) {
                    if !has_start {
                        let start = match rid.take() {
                            Some(r) => Line {
                                name: "DTSTART".to_owned(),
                                ..r
                            },
                            None => Line::new("DTSTART", "19700101T000000Z"),
                        };
                        let mut start = start;
                        start.remove_param("RANGE");
                        out.push_str(&start.to_text());
                        out.push_str("\r\n");
                        out.push_str(PLACEHOLDER_PROPERTY);
                        out.push_str(":DTSTART\r\n");
                    }
                    event_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Some(("DTSTART", _)) if event_depth == Some(depth) => has_start = true,
            Some(("RECURRENCE-ID", _)) if event_depth == Some(depth) => rid = l.clone(),
            _ => {}
        }
        out.push_str(raw);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VTIMEZONE\r\n\
        TZID:Custom/Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\n\
        TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:e1\r\n\
        DTSTAMP:20141009T000000Z\r\nDTSTART;TZID=Custom/Zone:20141010T100000\r\n\
        DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reads_method_events_and_zones() {
        let m = parse_message(REQ.as_bytes(), None).unwrap();
        assert_eq!(m.method, Method::Request);
        assert_eq!(m.uid(), Some("e1"));
        assert_eq!(m.zones.len(), 1);
        assert!(m.zones[0].starts_with("BEGIN:VTIMEZONE\nTZID:Custom/Zone"));
        assert!(parse_message(REQ.as_bytes(), Some("request")).is_ok());
        assert!(parse_message(REQ.as_bytes(), Some("CANCEL")).is_err());
        let no_method = REQ.replace("METHOD:REQUEST\r\n", "");
        assert!(parse_message(no_method.as_bytes(), None).is_err());
        assert_eq!(
            parse_message(no_method.as_bytes(), Some("CANCEL"))
                .unwrap()
                .method,
            Method::Cancel
        );
        let two = REQ.replace(
            "END:VCALENDAR",
            "BEGIN:VEVENT\r\nUID:e2\r\nDTSTART:20141010T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR",
        );
        assert!(parse_message(two.as_bytes(), None).is_err());
        assert!(parse_message(b"garbage", None).is_err());
    }
}
