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

use super::zone::{self, Zone};
use super::{IcalError, show};

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

/// Parses a time-zone name given by a user (`--tz`): an IANA name known to chrono-tz (exact
/// spelling first, then a case-insensitive match), `UTC`, `Z` and `GMT`, or a Windows zone name
/// (`W. Europe Standard Time`), which is mapped to its IANA zone by CLDR's table.
pub fn parse_tz(name: &str) -> Result<Tz, IcalError> {
    zone::iana(name)
        .or_else(|| zone::windows(name))
        .ok_or_else(|| IcalError(format!("unknown time zone {}", show(name))))
}

/// A DATE or DATE-TIME value as written in a property, with the zone it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IcalTime {
    /// A DATE (`YYYYMMDD`). The zone is set only if the property carried a TZID; otherwise the
    /// date is resolved in the caller's zone.
    Date(NaiveDate, Option<Zone>),
    /// A floating DATE-TIME (no `Z`, no TZID), resolved in the caller's zone.
    Floating(NaiveDateTime),
    /// A UTC DATE-TIME (`...Z`).
    Utc(NaiveDateTime),
    /// A DATE-TIME with a TZID.
    Zoned(NaiveDateTime, Zone),
}

impl IcalTime {
    /// The wall-clock value (midnight for a DATE).
    pub(crate) fn naive(&self) -> NaiveDateTime {
        match self {
            Self::Date(d, _) => d.and_time(NaiveTime::MIN),
            Self::Floating(n) | Self::Utc(n) | Self::Zoned(n, _) => *n,
        }
    }

    /// True for a DATE value.
    pub(crate) fn is_date(&self) -> bool {
        matches!(self, Self::Date(..))
    }

    /// True for a floating DATE-TIME.
    pub(crate) fn is_floating(&self) -> bool {
        matches!(self, Self::Floating(_))
    }

    /// The instant this value denotes; floating values and dates without TZID are read in `tz`.
    pub(crate) fn instant(&self, tz: Tz) -> DateTime<Utc> {
        self.frame().resolve(self.naive(), tz)
    }

    /// The frame in which wall-clock arithmetic on this value happens.
    pub(crate) fn frame(&self) -> Frame {
        match self {
            Self::Date(_, zone) => Frame::Local(zone.clone()),
            Self::Floating(_) => Frame::Local(None),
            Self::Utc(_) => Frame::Utc,
            Self::Zoned(_, zone) => Frame::Local(Some(zone.clone())),
        }
    }

    /// The zone of a TZID, if the value has one (and is not UTC).
    pub(crate) fn zone(&self) -> Option<&Zone> {
        match self {
            Self::Date(_, zone) => zone.as_ref(),
            Self::Zoned(_, zone) => Some(zone),
            Self::Floating(_) | Self::Utc(_) => None,
        }
    }

    /// The value in the normalised form of imip-agent §4.3: converted to UTC if it has a TZID
    /// (a DATE with TZID meaning midnight in that zone), otherwise kept as written.
    pub(crate) fn normalised(&self) -> String {
        match self {
            Self::Date(d, None) => format_date(*d),
            Self::Floating(n) => format_naive(*n),
            Self::Utc(n) => format_utc(n.and_utc()),
            Self::Date(_, Some(zone)) | Self::Zoned(_, zone) => {
                format_utc(zone.resolve(self.naive()))
            }
        }
    }
}

/// Where wall-clock times of a value live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// In a named zone, or (None) in the caller's zone.
    Local(Option<Zone>),
    /// In UTC.
    Utc,
}

impl Frame {
    /// Resolves a wall-clock time of this frame to an instant.
    pub(crate) fn resolve(&self, naive: NaiveDateTime, default: Tz) -> DateTime<Utc> {
        match self {
            Self::Utc => naive.and_utc(),
            Self::Local(Some(zone)) => zone.resolve(naive),
            Self::Local(None) => resolve_local(naive, default),
        }
    }

    /// The wall-clock time of an instant in this frame (saturating at the ends of the
    /// representable range).
    pub(crate) fn local(&self, instant: DateTime<Utc>, default: Tz) -> NaiveDateTime {
        match self {
            Self::Utc => instant.naive_utc(),
            Self::Local(Some(zone)) => zone.local(instant),
            Self::Local(None) => local_naive(instant, default),
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

/// Parses a DATE (`YYYYMMDD`) or DATE-TIME (`YYYYMMDDTHHMMSS[Z]`) value. `expected` comes from a
/// VALUE parameter, if any; `tz` from a TZID parameter.
pub(crate) fn parse_ical_time(
    value: &str,
    expected: Option<ValueKind>,
    tz: Option<Zone>,
) -> Result<IcalTime, IcalError> {
    let bytes = value.as_bytes();
    match bytes.len() {
        8 => {
            if expected == Some(ValueKind::DateTime) {
                return Err(IcalError(format!(
                    "invalid DATE-TIME {}: a date needs VALUE=DATE",
                    show(value)
                )));
            }
            Ok(IcalTime::Date(parse_date_digits(value, value)?, tz))
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
                // A TZID on a UTC value is ignored (imip-agent writes `TZID=UTC:...Z`).
                Ok(IcalTime::Utc(naive))
            } else if let Some(tz) = tz {
                Ok(IcalTime::Zoned(naive, tz))
            } else {
                Ok(IcalTime::Floating(naive))
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
        match parse_ical_time(s, None, None).unwrap() {
            IcalTime::Floating(n) => n,
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

    #[test]
    fn time_zone_names() {
        assert_eq!(parse_tz("UTC").unwrap(), Tz::UTC);
        assert_eq!(parse_tz("Z").unwrap(), Tz::UTC);
        assert_eq!(parse_tz("GMT").unwrap().name(), "GMT");
        assert_eq!(parse_tz("Europe/Oslo").unwrap().name(), "Europe/Oslo");
        assert_eq!(parse_tz("europe/oslo").unwrap().name(), "Europe/Oslo");
        assert_eq!(
            parse_tz("W. Europe Standard Time").unwrap().name(),
            "Europe/Berlin"
        );
        let err = parse_tz("Mars/Olympus").unwrap_err().0;
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn ical_time_forms() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        assert!(matches!(
            parse_ical_time("20141114", None, None).unwrap(),
            IcalTime::Date(_, None)
        ));
        assert!(matches!(
            parse_ical_time("20141114T000000Z", None, Some(Zone::Iana(oslo))).unwrap(),
            IcalTime::Utc(_)
        ));
        assert!(matches!(
            parse_ical_time("20141114T000000", None, Some(Zone::Iana(oslo))).unwrap(),
            IcalTime::Zoned(_, _)
        ));
        assert!(parse_ical_time("20141114", Some(ValueKind::DateTime), None).is_err());
        assert!(parse_ical_time("20141114T000000", Some(ValueKind::Date), None).is_err());
        assert!(parse_ical_time("20230230", None, None).is_err());
        assert!(parse_ical_time("20230101T250000", None, None).is_err());
        assert!(parse_ical_time("20230101T235960", None, None).is_err());
        assert!(parse_ical_time("20230101T2359", None, None).is_err());
        assert!(parse_ical_time("2023-01-01", None, None).is_err());
        assert!(parse_ical_time("20230101X000000", None, None).is_err());
        assert!(parse_ical_time("2023\u{e9}101", None, None).is_err());
    }
}
