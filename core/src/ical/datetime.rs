//! Date, date-time and time-zone helpers for iCalendar values.
//!
//! All instants leave this module as `DateTime<Utc>`. Local (wall-clock) times are turned into
//! instants with [`resolve_local`], which applies the RFC 5545 §3.3.5 rules for daylight-saving
//! gaps and folds. Nothing here reads the system clock.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use super::error::{IcalError, show};

/// Formats an instant as `YYYYMMDDTHHMMSSZ`.
///
/// Years outside 0..=9999 do not fit the iCalendar form and are written with more digits or a
/// sign; [`parse_utc`] rejects them.
pub fn format_utc(dt: DateTime<Utc>) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Parses exactly `YYYYMMDDTHHMMSSZ` (as stored in free/busy rows), validating the date and the
/// time of day.
pub fn parse_utc(s: &str) -> Result<DateTime<Utc>, IcalError> {
    let bytes = s.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return Err(IcalError(format!(
            "invalid UTC date-time {}: expected YYYYMMDDTHHMMSSZ",
            show(s)
        )));
    }
    let (Some(date_part), Some(time_part)) = (s.get(..8), s.get(9..15)) else {
        return Err(IcalError(format!("invalid UTC date-time {}", show(s))));
    };
    let date = parse_date_digits(date_part, s)?;
    let time = parse_time_digits(time_part, s)?;
    Ok(NaiveDateTime::new(date, time).and_utc())
}

/// Resolves a local wall-clock time in `tz` to an instant, following RFC 5545 §3.3.5:
///
/// * a time that occurs twice (a fold, when clocks go back) denotes the first (earlier) instant;
/// * a time that does not occur (a gap, when clocks go forward) is interpreted with the UTC
///   offset in force before the gap, i.e. it is shifted forward by the length of the gap
///   (Europe/Berlin 2026-03-29 02:30 becomes 03:30 CEST, 01:30 UTC).
pub fn resolve_local(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            a.min(b)
        }
        LocalResult::None => {
            // Find the offset in force just before the gap by stepping back in quarter hours.
            // Gaps are at most a day long (Pacific/Apia skipped 2011-12-30), so 26 hours of
            // steps always reach a time before the gap.
            let mut probe = naive;
            for _ in 0..(26 * 4) {
                let Some(earlier) = probe.checked_sub_signed(TimeDelta::minutes(15)) else {
                    break;
                };
                probe = earlier;
                let offset = match tz.from_local_datetime(&probe) {
                    LocalResult::Single(dt) => dt.offset().fix(),
                    LocalResult::Ambiguous(_, later) => later.offset().fix(),
                    LocalResult::None => continue,
                };
                let secs = i64::from(offset.local_minus_utc());
                if let Some(utc) = naive.checked_sub_signed(TimeDelta::seconds(secs)) {
                    return utc.and_utc();
                }
                break;
            }
            // Unreachable for real zones; fall back to the offset at that instant read as UTC.
            let secs = i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc());
            naive
                .checked_sub_signed(TimeDelta::seconds(secs))
                .unwrap_or(naive)
                .and_utc()
        }
    }
}

/// The wall-clock time of an instant in `tz`, saturating at the ends of the representable range
/// (chrono's `naive_local` panics there).
pub(crate) fn local_naive(instant: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let utc = instant.naive_utc();
    let offset = i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc());
    utc.checked_add_signed(TimeDelta::seconds(offset))
        .unwrap_or(if offset > 0 {
            NaiveDateTime::MAX
        } else {
            NaiveDateTime::MIN
        })
}

/// `YYYYMMDD`.
pub(crate) fn format_date(d: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// `YYYYMMDDTHHMMSS` (floating).
pub(crate) fn format_naive(n: NaiveDateTime) -> String {
    format!(
        "{}T{:02}{:02}{:02}",
        format_date(n.date()),
        n.hour(),
        n.minute(),
        n.second()
    )
}

/// The kind of value a property declares or holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Date,
    DateTime,
}

/// A DATE or DATE-TIME value as written, before any zone is attached: what a value means
/// lexically (RRULE's UNTIL, a VTIMEZONE's DTSTART and RDATEs, and every value with a zone,
/// which [`super::time`] builds from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wall {
    /// `YYYYMMDD`.
    Date(NaiveDate),
    /// `YYYYMMDDTHHMMSS`.
    Floating(NaiveDateTime),
    /// `YYYYMMDDTHHMMSSZ`.
    Utc(NaiveDateTime),
}

impl Wall {
    /// The wall-clock value (midnight for a DATE).
    pub(crate) fn naive(&self) -> NaiveDateTime {
        match self {
            Self::Date(d) => d.and_time(NaiveTime::MIN),
            Self::Floating(n) | Self::Utc(n) => *n,
        }
    }
}

/// Parses a DATE (`YYYYMMDD`) or DATE-TIME (`YYYYMMDDTHHMMSS[Z]`) value; `expected` comes from
/// a VALUE parameter, if any.
pub(crate) fn parse_wall(value: &str, expected: Option<ValueKind>) -> Result<Wall, IcalError> {
    let bytes = value.as_bytes();
    match bytes.len() {
        8 => {
            if expected == Some(ValueKind::DateTime) {
                return Err(IcalError(format!(
                    "invalid DATE-TIME {}: a date needs VALUE=DATE",
                    show(value)
                )));
            }
            Ok(Wall::Date(parse_date_digits(value, value)?))
        }
        15 | 16 if bytes[8].eq_ignore_ascii_case(&b'T') => {
            if expected == Some(ValueKind::Date) {
                return Err(IcalError(format!(
                    "invalid DATE {}: VALUE=DATE needs YYYYMMDD",
                    show(value)
                )));
            }
            let (Some(date_part), Some(time_part)) = (value.get(..8), value.get(9..15)) else {
                return Err(IcalError(format!("invalid DATE-TIME {}", show(value))));
            };
            let date = parse_date_digits(date_part, value)?;
            let time = parse_time_digits(time_part, value)?;
            let naive = NaiveDateTime::new(date, time);
            if bytes.len() == 16 {
                if !bytes[15].eq_ignore_ascii_case(&b'Z') {
                    return Err(IcalError(format!(
                        "invalid DATE-TIME {}: expected YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ",
                        show(value)
                    )));
                }
                Ok(Wall::Utc(naive))
            } else {
                Ok(Wall::Floating(naive))
            }
        }
        _ => Err(IcalError(format!(
            "invalid date or date-time {}: expected YYYYMMDD, YYYYMMDDTHHMMSS or \
             YYYYMMDDTHHMMSSZ",
            show(value)
        ))),
    }
}

/// Parses a non-negative decimal of ASCII digits only.
fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYYMMDD` (`whole` is the full value, for the message).
fn parse_date_digits(s: &str, whole: &str) -> Result<NaiveDate, IcalError> {
    let bad = || IcalError(format!("invalid date {}", show(whole)));
    if s.len() != 8 || !s.is_char_boundary(4) || !s.is_char_boundary(6) {
        return Err(bad());
    }
    let (Some(y), Some(m), Some(d)) = (digits(&s[..4]), digits(&s[4..6]), digits(&s[6..8])) else {
        return Err(bad());
    };
    let y = i32::try_from(y).map_err(|_| bad())?;
    if y == 0 {
        // The grammar allows 0000, but no calendar means 1 BC: it is a placeholder.
        return Err(IcalError(format!(
            "invalid date {}: year 0000 does not exist",
            show(whole)
        )));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
        IcalError(format!(
            "invalid date {}: {y:04}-{m:02}-{d:02} does not exist",
            show(whole)
        ))
    })
}

/// Parses `HHMMSS` (`whole` is the full value, for the message).
fn parse_time_digits(s: &str, whole: &str) -> Result<NaiveTime, IcalError> {
    let bad = || IcalError(format!("invalid time in {}", show(whole)));
    if s.len() != 6 || !s.is_char_boundary(2) || !s.is_char_boundary(4) {
        return Err(bad());
    }
    let (Some(h), Some(m), Some(sec)) = (digits(&s[..2]), digits(&s[2..4]), digits(&s[4..6]))
    else {
        return Err(bad());
    };
    if sec == 60 {
        return Err(IcalError(format!(
            "invalid time in {}: leap seconds are not supported",
            show(whole)
        )));
    }
    NaiveTime::from_hms_opt(h, m, sec).ok_or_else(|| {
        IcalError(format!(
            "invalid time in {}: {h:02}:{m:02}:{sec:02} is not a time of day",
            show(whole)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        match parse_wall(s, None).unwrap() {
            Wall::Floating(n) => n,
            other => panic!("not floating: {other:?}"),
        }
    }

    #[test]
    fn utc_round_trip() {
        let dt = parse_utc("20141010T140000Z").unwrap();
        assert_eq!(format_utc(dt), "20141010T140000Z");
        assert_eq!(dt.timestamp(), 1_412_949_600);
    }

    #[test]
    fn parse_utc_rejects_bad_forms() {
        for bad in [
            "20141010T140000",
            "20141010T140000z0",
            "20141010 140000Z",
            "20230230T000000Z",
            "20230101T250000Z",
            "20230101T126000Z",
            "2023010xT000000Z",
            "",
            "20141010",
            "+0141010T140000Z",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad} accepted");
        }
        let msg = parse_utc("20230230T000000Z").unwrap_err().0;
        assert!(msg.contains("20230230T000000Z"), "{msg}");
    }

    #[test]
    fn resolve_gap_and_fold_in_berlin() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Gap: 02:30 does not exist on 2026-03-29; shifted forward by one hour to 03:30 CEST.
        let gap = resolve_local(naive("20260329T023000"), berlin);
        assert_eq!(format_utc(gap), "20260329T013000Z");
        // Fold: 02:30 happens twice on 2026-10-25; the first one (CEST) is chosen.
        let fold = resolve_local(naive("20261025T023000"), berlin);
        assert_eq!(format_utc(fold), "20261025T003000Z");
        // Ordinary times.
        let winter = resolve_local(naive("20260115T120000"), berlin);
        assert_eq!(format_utc(winter), "20260115T110000Z");
    }

    #[test]
    fn resolve_gap_in_new_york_matches_rfc_example() {
        // RFC 5545 §3.3.5: TZID=America/New_York:20070311T023000 is 03:30 EDT.
        let ny: Tz = "America/New_York".parse().unwrap();
        let gap = resolve_local(naive("20070311T023000"), ny);
        assert_eq!(format_utc(gap), "20070311T073000Z");
        // And 20071104T013000 is 01:30 EDT (the first).
        let fold = resolve_local(naive("20071104T013000"), ny);
        assert_eq!(format_utc(fold), "20071104T053000Z");
    }

    #[test]
    fn resolve_whole_day_gap() {
        // Samoa skipped 2011-12-30 entirely.
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let t = resolve_local(naive("20111230T120000"), apia);
        // Offset before the gap was -10:00.
        assert_eq!(format_utc(t), "20111230T220000Z");
    }
}

/// The forms [`parse_instant`] reads, for messages and help.
pub const INSTANT_FORMS: &str = "YYYYMMDD or YYYYMMDDTHHMMSSZ (UTC), YYYYMMDDTHHMMSS, \
ISO 8601 (2026-11-23, 2026-11-23T09:00[:SS], with Z or ±HH:MM for an offset; without one, \
local in the zone), now, today, or ±N followed by d, h, w or m (days, hours, weeks, minutes)";

/// Reads an instant as people type it on a command line, relative to `now` and local times
/// read in `tz`:
///
/// * `YYYYMMDD` and `YYYYMMDDTHHMMSSZ`: UTC (midnight for a date), as stored;
/// * `YYYYMMDDTHHMMSS` and ISO 8601 without an offset (`2026-11-23`, `2026-11-23T09:00`,
///   `2026-11-23 09:00:30`): local wall-clock time in `tz` (a date: its midnight), resolved as
///   [`resolve_local`] does;
/// * ISO 8601 with `Z` or an offset (`2026-11-23T09:00+01:00`): that instant;
/// * `now`; `today` (midnight in `tz`); `+7d`, `-2h`, `+1w`, `+30m`: `now` moved by that much.
pub fn parse_instant(s: &str, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, IcalError> {
    let bad = || {
        IcalError(format!(
            "invalid time {}: expected {INSTANT_FORMS}",
            show(s)
        ))
    };
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" => {
            let day = now.with_timezone(&tz).date_naive();
            return Ok(resolve_local(day.and_time(NaiveTime::MIN), tz));
        }
        _ => {}
    }
    if let Some(sign) = t.chars().next().filter(|c| matches!(c, '+' | '-')) {
        let body = t.get(1..).unwrap_or_default();
        let (digits, unit) = body.split_at(body.len().saturating_sub(1));
        let n: i64 = digits.parse().map_err(|_| bad())?;
        let delta = match unit {
            "d" | "D" => TimeDelta::try_days(n),
            "h" | "H" => TimeDelta::try_hours(n),
            "w" | "W" => TimeDelta::try_weeks(n),
            "m" | "M" => TimeDelta::try_minutes(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        let moved = if sign == '+' {
            now.checked_add_signed(delta)
        } else {
            now.checked_sub_signed(delta)
        };
        return moved.ok_or_else(bad);
    }
    let bytes = t.as_bytes();
    if bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) {
        let date = parse_date_digits(t, s)?;
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    if bytes.len() == 16 && bytes.get(15) == Some(&b'Z') && bytes.get(8) == Some(&b'T') {
        return parse_utc(t);
    }
    if bytes.len() == 15 && bytes.get(8) == Some(&b'T') {
        let (Some(d), Some(h)) = (t.get(..8), t.get(9..15)) else {
            return Err(bad());
        };
        let naive = NaiveDateTime::new(parse_date_digits(d, s)?, parse_time_digits(h, s)?);
        return Ok(resolve_local(naive, tz));
    }
    // ISO 8601 extended forms.
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, format) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    if let Some(utc) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(utc, format) {
                return Ok(n.and_utc());
            }
        }
        return Err(bad());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(resolve_local(n, tz));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(resolve_local(d.and_time(NaiveTime::MIN), tz));
    }
    Err(bad())
}

#[cfg(test)]
mod instant_tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_utc(s).unwrap()
    }

    #[test]
    fn forms_people_type() {
        let now = at("20261122T101500Z");
        let oslo = chrono_tz::Europe::Oslo;
        let p = |s: &str| parse_instant(s, now, oslo).unwrap();
        assert_eq!(p("20261123"), at("20261123T000000Z"));
        assert_eq!(p("20261123T090000Z"), at("20261123T090000Z"));
        assert_eq!(p("20261123T090000"), at("20261123T080000Z"));
        assert_eq!(p("2026-11-23"), at("20261122T230000Z"));
        assert_eq!(p("2026-11-23T09:00"), at("20261123T080000Z"));
        assert_eq!(p("2026-11-23 09:00:30"), at("20261123T080030Z"));
        assert_eq!(p("2026-11-23T09:00:00Z"), at("20261123T090000Z"));
        assert_eq!(p("2026-11-23T09:00Z"), at("20261123T090000Z"));
        assert_eq!(p("2026-11-23T09:00:00+02:00"), at("20261123T070000Z"));
        assert_eq!(p("2026-11-23T09:00-05:00"), at("20261123T140000Z"));
        assert_eq!(p("now"), now);
        assert_eq!(p("today"), at("20261121T230000Z"));
        assert_eq!(p("+7d"), at("20261129T101500Z"));
        assert_eq!(p("-2h"), at("20261122T081500Z"));
        assert_eq!(p("+1w"), at("20261129T101500Z"));
        assert_eq!(p("+30m"), at("20261122T104500Z"));
        for bad in [
            "2026-02-30",
            "tomorrow",
            "+7y",
            "+d",
            "20261123T250000Z",
            "2026-11-23T9",
        ] {
            let e = parse_instant(bad, now, oslo).unwrap_err();
            assert!(e.0.contains(bad), "{bad}: {e}");
        }
    }
}
