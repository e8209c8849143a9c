//! A calendar of stored objects: one `VCALENDAR` holding VEVENTs as stored, preceded by the
//! VTIMEZONEs they use that are not IANA names (the ones the store keeps inside each VEVENT as
//! `X-CALSTORE-VTIMEZONE`, see [`super::build`]).

use super::build::ZONE_PROPERTY;
use super::lex::{fold_into, starts_with_ci, unescape_text};

/// The content lines of a folded text (CRLF or LF), unfolded.
fn unfolded(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ if line.is_empty() => {}
            _ => out.push(line.to_owned()),
        }
    }
    out
}

/// The VTIMEZONEs a stored object carries, each as content lines joined by `\n`.
pub fn carried_zones(object: &str) -> Vec<String> {
    unfolded(object)
        .iter()
        .filter(|l| starts_with_ci(l, ZONE_PROPERTY))
        .filter_map(|l| l.split_once(':').map(|(_, v)| unescape_text(v)))
        .collect()
}

fn zone_tzid(zone: &str) -> String {
    zone.split('\n')
        .find_map(|l| {
            let l = l.trim_end_matches('\r');
            starts_with_ci(l, "TZID")
                .then(|| l.split_once(':').map(|(_, v)| v.trim().to_owned()))
                .flatten()
        })
        .unwrap_or_default()
}

/// A `VCALENDAR` (`VERSION:2.0`, no METHOD) of stored objects: first every VTIMEZONE they
/// carry (once per TZID), then the objects as stored. Reading it back gives the same objects.
pub fn calendar_of(objects: &[&str]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calstore//calstore//EN",
    ] {
        fold_into(&mut out, l);
    }
    let mut seen: Vec<String> = Vec::new();
    for zone in objects.iter().flat_map(|o| carried_zones(o)) {
        let id = zone_tzid(&zone);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        for l in zone.split('\n').map(|l| l.trim_end_matches('\r')) {
            if !l.is_empty() {
                fold_into(&mut out, l);
            }
        }
    }
    for o in objects {
        for l in unfolded(o) {
            fold_into(&mut out, &l);
        }
    }
    fold_into(&mut out, "END:VCALENDAR");
    out
}
