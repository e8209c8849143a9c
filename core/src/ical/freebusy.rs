//! Reading received VFREEBUSY components (RFC 5545 §3.6.4): the range they cover and their
//! FREEBUSY periods.

use chrono::{DateTime, Utc};

use super::duration::parse_dur;
use super::error::{IcalError, show};
use super::lex::{Property, logical_lines, parse_content_line};
use super::time::{IcalTime, parse_ical_time};
use super::zone;

/// One FREEBUSY period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeBusyPeriod {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC).
    pub end: DateTime<Utc>,
    /// FBTYPE, upper-cased: `BUSY` (the default), `FREE`, `BUSY-TENTATIVE`,
    /// `BUSY-UNAVAILABLE` or an extension.
    pub fbtype: String,
}

impl FreeBusyPeriod {
    /// True for every FBTYPE but `FREE` (RFC 5545: unknown types are treated as BUSY).
    pub fn is_busy(&self) -> bool {
        self.fbtype != "FREE"
    }
}

/// One VFREEBUSY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreeBusyComponent {
    /// UID, if any.
    pub uid: Option<String>,
    /// The ORGANIZER's URI.
    pub organizer: Option<String>,
    /// The ATTENDEE URIs.
    pub attendees: Vec<String>,
    /// DTSTART: the start of the range the component describes.
    pub start: Option<DateTime<Utc>>,
    /// DTEND: the end of that range.
    pub end: Option<DateTime<Utc>>,
    /// Every FREEBUSY period, in input order (a property may hold several, comma-separated).
    pub periods: Vec<FreeBusyPeriod>,
}

/// Parses the VFREEBUSY components of iCalendar bytes (other components are skipped).
///
/// FREEBUSY values are `start/end` or `start/duration` periods, several per property separated
/// by commas, in UTC as RFC 5545 requires (a floating or zoned value is an error, since it
/// cannot be placed in time without a zone). DTSTART and DTEND are UTC too, or carry a TZID
/// naming an IANA or Windows zone. A period that ends before it starts, or a DTEND before
/// DTSTART, is an error naming the line.
pub fn parse_freebusy(input: &[u8]) -> Result<Vec<FreeBusyComponent>, IcalError> {
    let lines = logical_lines(input)?;
    let mut out = Vec::new();
    let mut current: Option<FreeBusyComponent> = None;
    let mut depth = 0usize;
    let mut own_depth = 0usize;
    for line in &lines {
        let p = parse_content_line(line)?;
        match p.name.as_str() {
            "BEGIN" => {
                depth += 1;
                if current.is_none() && p.value.trim().eq_ignore_ascii_case("VFREEBUSY") {
                    current = Some(FreeBusyComponent::default());
                    own_depth = depth;
                }
            }
            "END" => {
                if depth == 0 {
                    return Err(p.error("END without a matching BEGIN"));
                }
                if depth == own_depth
                    && let Some(c) = current.take()
                {
                    if let (Some(s), Some(e)) = (c.start, c.end)
                        && e < s
                    {
                        return Err(p.error(format!(
                            "VFREEBUSY ends ({}) before it starts ({})",
                            super::format_utc(e),
                            super::format_utc(s)
                        )));
                    }
                    out.push(c);
                }
                depth -= 1;
            }
            _ => {
                let Some(c) = current.as_mut().filter(|_| depth == own_depth) else {
                    continue;
                };
                match p.name.as_str() {
                    "UID" => c.uid = Some(p.value.clone()),
                    "ORGANIZER" => c.organizer = Some(p.value.clone()),
                    "ATTENDEE" => c.attendees.push(p.value.clone()),
                    "DTSTART" => c.start = Some(instant(&p, p.value.trim())?),
                    "DTEND" => c.end = Some(instant(&p, p.value.trim())?),
                    "FREEBUSY" => {
                        let fbtype = p
                            .param("FBTYPE")
                            .map_or_else(|| "BUSY".to_owned(), str::to_ascii_uppercase);
                        for item in p.value.split(',') {
                            let (start, end) = period(&p, item.trim())?;
                            c.periods.push(FreeBusyPeriod {
                                start,
                                end,
                                fbtype: fbtype.clone(),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if depth != 0 {
        return Err(IcalError(
            "missing END (a component is never closed)".to_owned(),
        ));
    }
    Ok(out)
}

/// A DATE-TIME in UTC, or with a TZID naming an IANA or Windows zone.
fn instant(p: &Property, value: &str) -> Result<DateTime<Utc>, IcalError> {
    let zone = match p.param("TZID") {
        None => None,
        Some(name) => Some(
            zone::lookup(name.strip_prefix('/').unwrap_or(name), &mut |_| None)
                .map_err(|e| p.error(e.0))?,
        ),
    };
    match parse_ical_time(value, None, zone).map_err(|e| p.error(e.0))? {
        t @ (IcalTime::Utc(_) | IcalTime::Zoned(..)) => Ok(t.instant(chrono_tz::Tz::UTC)),
        _ => Err(p.error(format!(
            "{} is not a UTC date-time (YYYYMMDDTHHMMSSZ)",
            show(value)
        ))),
    }
}

/// A PERIOD: `start/end` or `start/duration`, in UTC.
fn period(p: &Property, item: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), IcalError> {
    let Some((start, end)) = item.split_once('/') else {
        return Err(p.error(format!("period {} has no '/'", show(item))));
    };
    let start = utc_only(p, start)?;
    let end = if end.starts_with(['P', 'p', '+', '-']) {
        let d = parse_dur(end).map_err(|e| p.error(e.0))?;
        if d.is_negative() {
            return Err(p.error(format!("period {} has a negative duration", show(item))));
        }
        // In UTC a nominal day is 24 hours.
        d.total_seconds()
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|d| start.checked_add_signed(d))
            .ok_or_else(|| p.error(format!("period {} ends out of range", show(item))))?
    } else {
        utc_only(p, end)?
    };
    if end < start {
        return Err(p.error(format!("period {} ends before it starts", show(item))));
    }
    Ok((start, end))
}

fn utc_only(p: &Property, value: &str) -> Result<DateTime<Utc>, IcalError> {
    match parse_ical_time(value, None, None).map_err(|e| p.error(e.0))? {
        IcalTime::Utc(n) => Ok(n.and_utc()),
        _ => Err(p.error(format!(
            "{} is not a UTC date-time: FREEBUSY periods must be UTC",
            show(value)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::format_utc;

    fn fb(body: &str) -> Result<Vec<FreeBusyComponent>, IcalError> {
        let text = format!(
            "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n{}\r\nEND:VFREEBUSY\r\n\
             END:VCALENDAR\r\n",
            body.trim().replace('\n', "\r\n")
        );
        parse_freebusy(text.as_bytes())
    }

    fn spans(c: &FreeBusyComponent) -> Vec<String> {
        c.periods
            .iter()
            .map(|p| format!("{}/{} {}", format_utc(p.start), format_utc(p.end), p.fbtype))
            .collect()
    }

    #[test]
    fn periods_ranges_and_types() {
        let got = fb(
            "ORGANIZER:mailto:paul@example.com\nUID:x\nDTSTART:20141010T000000Z\n\
                      DTEND:20141012T000000Z\nFREEBUSY:20141010T100000Z/20141010T110000Z,\
                      20141011T120000Z/PT1H\nFREEBUSY;FBTYPE=busy-tentative:20141011T150000Z/P1D\n\
                      FREEBUSY;FBTYPE=FREE:20141011T080000Z/PT1H",
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        let c = &got[0];
        assert_eq!(c.organizer.as_deref(), Some("mailto:paul@example.com"));
        assert_eq!(c.start.map(format_utc).as_deref(), Some("20141010T000000Z"));
        assert_eq!(c.end.map(format_utc).as_deref(), Some("20141012T000000Z"));
        assert_eq!(
            spans(c),
            [
                "20141010T100000Z/20141010T110000Z BUSY",
                "20141011T120000Z/20141011T130000Z BUSY",
                "20141011T150000Z/20141012T150000Z BUSY-TENTATIVE",
                "20141011T080000Z/20141011T090000Z FREE",
            ]
        );
        assert_eq!(c.periods.iter().filter(|p| p.is_busy()).count(), 3);
        // A zoned DTSTART is placed in time; events in the same stream are skipped.
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nDTSTART:20141010T100000Z\r\n\
                    END:VEVENT\r\nBEGIN:VFREEBUSY\r\nDTSTART;TZID=Europe/Oslo:20141010T000000\r\n\
                    END:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let got = parse_freebusy(text.as_bytes()).unwrap();
        assert_eq!(
            got[0].start.map(format_utc).as_deref(),
            Some("20141009T220000Z")
        );
    }

    #[test]
    fn bad_values_are_errors() {
        for (body, needle) in [
            ("FREEBUSY:20141010T100000/20141010T110000Z", "must be UTC"),
            ("FREEBUSY:20141010T100000Z", "no '/'"),
            ("FREEBUSY:20141010T110000Z/20141010T100000Z", "ends before"),
            ("FREEBUSY:20141010T100000Z/-PT1H", "negative"),
            ("DTSTART:20141010T000000", "not a UTC date-time"),
            (
                "DTSTART:20141012T000000Z\nDTEND:20141010T000000Z",
                "ends (20141010T000000Z) before",
            ),
        ] {
            let err = fb(body).unwrap_err().0;
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
