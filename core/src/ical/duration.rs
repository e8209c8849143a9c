//! RFC 5545 §3.3.6 durations.
//!
//! ```text
//! dur-value  = (["+"] / "-") "P" (dur-date / dur-time / dur-week)
//! dur-date   = dur-day [dur-time]
//! dur-time   = "T" (dur-hour / dur-minute / dur-second)
//! dur-week   = 1*DIGIT "W"
//! dur-hour   = 1*DIGIT "H" [dur-minute]
//! dur-minute = 1*DIGIT "M" [dur-second]
//! dur-second = 1*DIGIT "S"
//! dur-day    = 1*DIGIT "D"
//! ```
//!
//! One leniency: inside the time part, hours, minutes and seconds must come in that order and
//! each at most once, but a unit may be skipped (`PT1H30S` is accepted, as most producers and
//! parsers do, although the grammar asks for `PT1H0M30S`). Letters are case-insensitive, as in
//! all ABNF literals.

use super::error::{IcalError, show};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// A parsed duration keeping the nominal part (days and weeks, which follow the wall clock
/// across daylight-saving changes) apart from the exact part (hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur {
    /// Nominal days (weeks are 7 days), signed.
    pub(crate) days: i64,
    /// Exact seconds, signed (same sign as `days`).
    pub(crate) seconds: i64,
}

impl Dur {
    /// Total length in seconds, counting a day as 86 400 s.
    pub(crate) fn total_seconds(self) -> Option<i64> {
        self.days.checked_mul(DAY)?.checked_add(self.seconds)
    }

    /// True if the duration is negative.
    pub(crate) fn is_negative(self) -> bool {
        self.days < 0 || self.seconds < 0
    }
}

/// Parses an RFC 5545 dur-value (`P1W`, `P1DT2H`, `-PT15M`, `PT0S`, ...) into seconds, a day
/// counting as 86 400 seconds.
///
/// `PT1D`, `P`, `PT`, `1H`, `P1H`, `P1W2D` and values that overflow `i64` are errors whose
/// message quotes the value and names the problem, e.g.
/// `invalid duration "PT1D": days must come before T`.
pub fn parse_duration(s: &str) -> Result<i64, IcalError> {
    let dur = parse_dur(s)?;
    dur.total_seconds()
        .ok_or_else(|| IcalError(format!("invalid duration {}: too large", show(s))))
}

/// Formats seconds as a canonical duration: whole weeks as `PnW`, otherwise days and a time
/// part without zero units (`PT1H30M`, `P1D`, `P1DT2H`, `PT0S`), negative with a leading `-`.
pub fn format_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let abs = secs.unsigned_abs();
    if abs == 0 {
        return "PT0S".to_owned();
    }
    let week = WEEK.unsigned_abs();
    if abs.is_multiple_of(week) {
        return format!("{sign}P{}W", abs / week);
    }
    let day = DAY.unsigned_abs();
    let hour = HOUR.unsigned_abs();
    let minute = MINUTE.unsigned_abs();
    let days = abs / day;
    let rest = abs % day;
    let (h, m, s) = (rest / hour, rest % hour / minute, rest % minute);
    let mut out = format!("{sign}P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rest > 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// Parses a dur-value keeping days apart from seconds.
pub(crate) fn parse_dur(s: &str) -> Result<Dur, IcalError> {
    let err = |why: &str| IcalError(format!("invalid duration {}: {why}", show(s)));
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let Some(rest) = rest.strip_prefix(['P', 'p']) else {
        return Err(err("must start with P (or +P, -P)"));
    };
    if rest.is_empty() {
        return Err(err("no value after P"));
    }

    let mut days: i64 = 0;
    let mut seconds: i64 = 0;
    let mut in_time = false;
    let mut seen_week = false;
    let mut seen_day = false;
    let mut time_units = 0usize;
    // Rank of the last time unit seen: 1 = H, 2 = M, 3 = S.
    let mut last_rank = 0u8;
    let mut number: Option<i64> = None;
    let overflow = || err("too large");

    for c in rest.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            let n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(i64::from(d)))
                .ok_or_else(overflow)?;
            number = Some(n);
            continue;
        }
        let unit = c.to_ascii_uppercase();
        if unit == 'T' {
            if number.is_some() {
                return Err(err("a number must be followed by a unit (W, D, H, M or S)"));
            }
            if in_time {
                return Err(err("T appears twice"));
            }
            if seen_week {
                return Err(err("weeks cannot be combined with other units"));
            }
            in_time = true;
            continue;
        }
        let Some(n) = number.take() else {
            return Err(err(&format!("{c} must follow a number")));
        };
        if seen_week {
            return Err(err("weeks cannot be combined with other units"));
        }
        match (unit, in_time) {
            ('W', false) => {
                if seen_day {
                    return Err(err("weeks cannot be combined with other units"));
                }
                seen_week = true;
                days = n.checked_mul(7).ok_or_else(overflow)?;
            }
            ('D', false) => {
                if seen_day {
                    return Err(err("D appears twice"));
                }
                seen_day = true;
                days = n;
            }
            ('D', true) => return Err(err("days must come before T")),
            ('W', true) => return Err(err("weeks must come before T and stand alone")),
            ('H' | 'M' | 'S', false) => {
                return Err(err(&format!("{unit} must come after T")));
            }
            ('H' | 'M' | 'S', true) => {
                let (rank, size) = match unit {
                    'H' => (1, HOUR),
                    'M' => (2, MINUTE),
                    _ => (3, 1),
                };
                if rank <= last_rank {
                    return Err(err(
                        "the time part must be hours, minutes, seconds in order",
                    ));
                }
                last_rank = rank;
                time_units += 1;
                seconds = n
                    .checked_mul(size)
                    .and_then(|v| seconds.checked_add(v))
                    .ok_or_else(overflow)?;
            }
            _ => return Err(err(&format!("unexpected character {c:?}"))),
        }
    }
    if number.is_some() {
        return Err(err("a number must be followed by a unit (W, D, H, M or S)"));
    }
    if in_time && time_units == 0 {
        return Err(err("T must be followed by hours, minutes or seconds"));
    }
    if !seen_week && !seen_day && time_units == 0 {
        return Err(err("no value after P"));
    }
    // Check the total fits as well, so that every accepted duration has a seconds value.
    let dur = Dur { days, seconds };
    dur.total_seconds().ok_or_else(overflow)?;
    Ok(if negative {
        Dur {
            days: -days,
            seconds: -seconds,
        }
    } else {
        dur
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_durations() {
        let cases = [
            ("P1W", 604_800),
            ("P7W", 7 * 604_800),
            ("P1D", 86_400),
            ("P1DT2H", 93_600),
            ("P15DT5H0M20S", 15 * 86_400 + 5 * 3600 + 20),
            ("PT1H", 3600),
            ("PT1H30M", 5400),
            ("PT15M", 900),
            ("-PT15M", -900),
            ("+PT15M", 900),
            ("PT0S", 0),
            ("P0D", 0),
            ("PT1H30S", 3630),
            ("pt1h", 3600),
            ("PT90M", 5400),
        ];
        for (s, secs) in cases {
            assert_eq!(parse_duration(s).unwrap(), secs, "{s}");
        }
    }

    #[test]
    fn rejects_invalid_durations() {
        for s in [
            "PT1D", "P", "PT", "1H", "P1H", "P1W2D", "P1D2W", "P1DT", "PT1M1H", "PT1H1H", "P1",
            "PT1", "P-1D", "", "-", "+P", "P1.5D", "PT1X", "P1DT1D", "P1D1D", "PTT1H", "P1WT1H",
            "P 1D", "P1D ",
        ] {
            assert!(parse_duration(s).is_err(), "{s:?} accepted");
        }
        assert_eq!(
            parse_duration("PT1D").unwrap_err().0,
            "invalid duration \"PT1D\": days must come before T"
        );
        assert!(
            parse_duration("P1H")
                .unwrap_err()
                .0
                .contains("H must come after T")
        );
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(parse_duration("P99999999999999999999D").is_err());
        assert!(parse_duration("P999999999999999W").is_err());
        assert!(parse_duration("P106751991167301D").is_err());
        assert!(
            parse_duration("PT9223372036854775807S").is_ok(),
            "i64::MAX seconds fits"
        );
        assert!(parse_duration("P1DT9223372036854775807S").is_err());
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format_duration(0), "PT0S");
        assert_eq!(format_duration(604_800), "P1W");
        assert_eq!(format_duration(86_400), "P1D");
        assert_eq!(format_duration(93_600), "P1DT2H");
        assert_eq!(format_duration(5400), "PT1H30M");
        assert_eq!(format_duration(-900), "-PT15M");
        assert_eq!(format_duration(3630), "PT1H30S");
        assert_eq!(format_duration(8 * 86_400 + 1), "P8DT1S");
        assert!(format_duration(i64::MIN).starts_with("-P"));
    }

    #[test]
    fn round_trips() {
        for s in [
            "P1W", "P1DT2H", "-PT15M", "PT0S", "PT1H30M", "P3D", "P2DT1M", "-P2W",
        ] {
            let secs = parse_duration(s).unwrap();
            assert_eq!(format_duration(secs), s);
            assert_eq!(parse_duration(&format_duration(secs)).unwrap(), secs);
        }
        for secs in [
            1,
            59,
            60,
            3599,
            86_399,
            86_401,
            1_209_600,
            -1,
            -86_400,
            123_456_789,
        ] {
            assert_eq!(parse_duration(&format_duration(secs)).unwrap(), secs);
        }
    }

    #[test]
    fn keeps_days_nominal() {
        assert_eq!(
            parse_dur("-P1DT1H").unwrap(),
            Dur {
                days: -1,
                seconds: -3600
            }
        );
        assert_eq!(
            parse_dur("P2W").unwrap(),
            Dur {
                days: 14,
                seconds: 0
            }
        );
    }
}
