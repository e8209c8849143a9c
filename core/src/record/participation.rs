//! How a user takes part in an event: whether it counts in their free/busy and with which
//! transparency (imip-agent's rules).

use crate::ical::EventComponent;

/// Calendar addresses compare without regard to ASCII case (ATTENDEE and ORGANIZER values).
pub fn same_uri(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The property marking a stored copy of a PUBLISHed event whose holder is not named in it
/// (see `crate::scheduling`).
pub const PUBLISHED_PROPERTY: &str = "X-CALSTORE-PUBLISHED";

/// Whether `user` takes part in `event` (imip-agent: not when an attendee whose PARTSTAT is
/// DECLINED, DELEGATED or NEEDS-ACTION, the RFC 5545 default; an organiser always does; a
/// user not named in the event at all is recording their own calendar, unless it is a
/// published event they received, marked [`PUBLISHED_PROPERTY`], which imip-agent kept out
/// of the recipient's free/busy).
pub fn participates(event: &EventComponent, user: &str) -> bool {
    if event
        .organizer
        .as_deref()
        .is_some_and(|o| same_uri(o, user))
    {
        return true;
    }
    match event.attendees.iter().find(|a| same_uri(&a.uri, user)) {
        Some(a) => !matches!(
            a.partstat.as_deref().unwrap_or("NEEDS-ACTION"),
            "DECLINED" | "DELEGATED" | "NEEDS-ACTION"
        ),
        None => !is_published_copy(event),
    }
}

/// True for a stored copy of a received PUBLISH ([`PUBLISHED_PROPERTY`]).
fn is_published_copy(event: &EventComponent) -> bool {
    event.text.split("\r\n").any(|l| {
        l.len() > PUBLISHED_PROPERTY.len()
            && l.get(..PUBLISHED_PROPERTY.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(PUBLISHED_PROPERTY))
            && matches!(
                l.as_bytes().get(PUBLISHED_PROPERTY.len()),
                Some(b':' | b';')
            )
    })
}

/// The transparency recorded for `user`: `ORG` for an organiser of a meeting who is not
/// among its attendees, else the event's TRANSP, else `OPAQUE`.
pub fn transp_for(event: &EventComponent, user: &str) -> String {
    let organiser = event
        .organizer
        .as_deref()
        .is_some_and(|o| same_uri(o, user));
    if organiser
        && !event.attendees.is_empty()
        && !event.attendees.iter().any(|a| same_uri(&a.uri, user))
    {
        return "ORG".to_owned();
    }
    event.transp.clone().unwrap_or_else(|| "OPAQUE".to_owned())
}

pub(crate) fn is_cancelled(event: &EventComponent) -> bool {
    event.status.as_deref() == Some("CANCELLED")
}
