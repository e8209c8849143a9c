//! DATE and DATE-TIME values with the zone they refer to: what a property's value means, and
//! the frame in which wall-clock arithmetic on it happens.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::datetime::{
    ValueKind, Wall, format_date, format_naive, format_utc, local_naive, parse_wall, resolve_local,
};
use super::error::IcalError;
use super::zone::Zone;

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

/// Parses a DATE (`YYYYMMDD`) or DATE-TIME (`YYYYMMDDTHHMMSS[Z]`) value. `expected` comes from a
/// VALUE parameter, if any; `tz` from a TZID parameter.
pub(crate) fn parse_ical_time(
    value: &str,
    expected: Option<ValueKind>,
    tz: Option<Zone>,
) -> Result<IcalTime, IcalError> {
    Ok(match parse_wall(value, expected)? {
        Wall::Date(d) => IcalTime::Date(d, tz),
        // A TZID on a UTC value is ignored (imip-agent writes `TZID=UTC:...Z`).
        Wall::Utc(n) => IcalTime::Utc(n),
        Wall::Floating(n) => match tz {
            Some(tz) => IcalTime::Zoned(n, tz),
            None => IcalTime::Floating(n),
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;

    use super::*;

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
