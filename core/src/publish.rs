//! Publishing free/busy as iCalendar: the `METHOD:PUBLISH` VFREEBUSY imip-agent writes.

use chrono::{DateTime, Utc};

use crate::ical::datetime::format_utc;
use crate::period::Period;

/// Folds one content line at 75 octets (RFC 5545 §3.1), on character boundaries.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
}

/// Escapes a TEXT value.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The VCALENDAR (METHOD:PUBLISH) with one VFREEBUSY for `user`: ORGANIZER and UID are the
/// user, DTSTAMP is `now`, DTSTART/DTEND span the periods (or `range` if given), and one
/// `FREEBUSY;FBTYPE=BUSY` line per busy period in time order. TRANSPARENT and ORG periods are
/// left out, as imip-agent does.
pub fn vfreebusy(
    user: &str,
    periods: &[Period],
    now: DateTime<Utc>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> String {
    let mut busy: Vec<&Period> = periods.iter().filter(|p| p.is_busy()).collect();
    busy.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calstore//calstore//EN",
        "METHOD:PUBLISH",
        "BEGIN:VFREEBUSY",
    ] {
        fold(line, &mut out);
    }
    fold(&format!("ORGANIZER:{}", escape_text(user)), &mut out);
    fold(&format!("UID:{}", escape_text(user)), &mut out);
    fold(&format!("DTSTAMP:{}", format_utc(now)), &mut out);
    let span = range.or_else(|| {
        let start = busy.iter().map(|p| p.start).min()?;
        let end = busy.iter().map(|p| p.end).max()?;
        Some((start, end))
    });
    if let Some((start, end)) = span {
        fold(&format!("DTSTART:{}", format_utc(start)), &mut out);
        fold(&format!("DTEND:{}", format_utc(end)), &mut out);
    }
    for p in busy {
        fold(
            &format!(
                "FREEBUSY;FBTYPE=BUSY:{}/{}",
                format_utc(p.start),
                format_utc(p.end)
            ),
            &mut out,
        );
    }
    fold("END:VFREEBUSY", &mut out);
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn publish_sorted_busy_only() {
        let t = |h| Utc.with_ymd_and_hms(2014, 10, 10, h, 0, 0).unwrap();
        let mut transparent = Period::new(t(10), t(11));
        transparent.transp = Some("TRANSPARENT".into());
        let periods = vec![
            Period::new(t(14), t(15)),
            Period::new(t(8), t(9)),
            transparent,
        ];
        let text = vfreebusy("mailto:r@example.com", &periods, t(0), None);
        let fb: Vec<&str> = text.lines().filter(|l| l.starts_with("FREEBUSY")).collect();
        assert_eq!(
            fb,
            [
                "FREEBUSY;FBTYPE=BUSY:20141010T080000Z/20141010T090000Z",
                "FREEBUSY;FBTYPE=BUSY:20141010T140000Z/20141010T150000Z"
            ]
        );
        assert!(text.contains("METHOD:PUBLISH\r\n"));
        assert!(text.contains("ORGANIZER:mailto:r@example.com\r\n"));
        assert!(text.contains("DTSTART:20141010T080000Z\r\n"));
        assert!(text.contains("DTEND:20141010T150000Z\r\n"));
    }
}
