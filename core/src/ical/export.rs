//! A calendar of stored objects: one `VCALENDAR` holding VEVENTs as stored, preceded by a
//! VTIMEZONE for every TZID they use (RFC 5545 §3.6.5 requires one per TZID): the zones the
//! store keeps inside each VEVENT as `X-CALSTORE-VTIMEZONE` (see [`super::build`]) as they
//! were received, and for an IANA or Windows zone name one made from the time zone database
//! (its transitions 1970–2099 as RDATEs; an import reads the name, not the definition).

use chrono::{DateTime, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};

use super::build::ZONE_PROPERTY;
use super::lex::{Line, fold_into, parse_content_line, starts_with_ci, unescape_text};
use super::zone::{Zone, lookup};

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
    for tzid in objects.iter().flat_map(|o| used_tzids(o)) {
        if seen.contains(&tzid) {
            continue;
        }
        if let Ok(Zone::Iana(tz)) = lookup(&tzid, &mut |_| None) {
            for l in iana_vtimezone(&tzid, tz) {
                fold_into(&mut out, &l);
            }
        }
        seen.push(tzid);
    }
    for o in objects {
        for l in unfolded(o) {
            fold_into(&mut out, &l);
        }
    }
    fold_into(&mut out, "END:VCALENDAR");
    out
}

/// The TZID parameter values of an object's properties (not of the zones it carries).
fn used_tzids(object: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in unfolded(object) {
        if starts_with_ci(&text, ZONE_PROPERTY) || !text.to_ascii_uppercase().contains("TZID=") {
            continue;
        }
        let line = Line { number: 0, text };
        if let Ok(p) = parse_content_line(&line)
            && let Some(tzid) = p.param("TZID")
            && !out.iter().any(|t| t == tzid)
        {
            out.push(tzid.to_owned());
        }
    }
    out
}

/// `+HHMM` (or `+HHMMSS`) for an offset in seconds.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// The offset (seconds), whether it is daylight time, and the abbreviation at `t`.
fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool, String) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    (
        o.fix().local_minus_utc(),
        !o.dst_offset().is_zero(),
        o.to_string(),
    )
}

/// A VTIMEZONE for `tz` under the name `tzid`, as content lines: one observance per kind of
/// transition (STANDARD or DAYLIGHT, offsets, abbreviation), its first onset as DTSTART and
/// the others as RDATEs, for the transitions of 1970–2099 (a zone without any in that span:
/// one STANDARD observance).
fn iana_vtimezone(tzid: &str, tz: Tz) -> Vec<String> {
    type Key = (bool, i32, i32, String);
    let mut groups: Vec<(Key, Vec<chrono::NaiveDateTime>)> = Vec::new();
    let start = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let end = NaiveDate::from_ymd_opt(2100, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let (Some(start), Some(end)) = (start, end) else {
        return Vec::new();
    };
    let first = offset_at(tz, start);
    let mut prev = first.clone();
    let mut t = start;
    let step = TimeDelta::hours(12);
    while t < end {
        let next = t + step;
        let now = offset_at(tz, next);
        if now != prev {
            // The first second at which the new offset applies.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > TimeDelta::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == prev {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let at = offset_at(tz, hi);
            // DTSTART and RDATE are local times in the offset before the onset.
            let onset = (hi + TimeDelta::seconds(i64::from(prev.0))).naive_utc();
            let key = (at.1, prev.0, at.0, at.2.clone());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, onsets)) => onsets.push(onset),
                None => groups.push((key, vec![onset])),
            }
            prev = at;
        }
        t = next;
    }
    if groups.is_empty() {
        let onset = (start + TimeDelta::seconds(i64::from(first.0))).naive_utc();
        groups.push(((first.1, first.0, first.0, first.2.clone()), vec![onset]));
    }
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{tzid}")];
    for ((daylight, from, to, name), onsets) in groups {
        let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
        lines.push(format!("BEGIN:{kind}"));
        let fmt = |d: &chrono::NaiveDateTime| d.format("%Y%m%dT%H%M%S").to_string();
        if let Some((first, rest)) = onsets.split_first() {
            lines.push(format!("DTSTART:{}", fmt(first)));
            if !rest.is_empty() {
                let all: Vec<String> = rest.iter().map(fmt).collect();
                lines.push(format!("RDATE:{}", all.join(",")));
            }
        }
        lines.push(format!("TZOFFSETFROM:{}", utc_offset(from)));
        lines.push(format!("TZOFFSETTO:{}", utc_offset(to)));
        if !name.starts_with(['+', '-']) {
            lines.push(format!("TZNAME:{name}"));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}
