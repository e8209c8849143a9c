//! [`UtcTime`]: an instant, always UTC (Orge used local time without a zone).

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::sql::Value;

use super::column::{Field, integer};
use super::date::Date;
use super::field_type::FieldType;
use super::invalid::InvalidValue;

/// A UTC instant with microsecond precision, from 1970-01-01T00:00:00Z to the end of 9999.
///
/// Stored as an INTEGER of microseconds since the Unix epoch on **both** engines
/// (PostgreSQL `BIGINT`, not `timestamptz`): the DML text is shared and binds
/// [`Value::Integer`], comparisons and arithmetic (`started_at < $1`) are the same on both,
/// and no session time zone or `DateStyle` can change what is read back. Instants before
/// 1970 are refused: calstore's times are creation, status and connection times, and keeping
/// them non-negative makes integer division by 10^6 a floor (used by date CHECKs).
/// Render as text (RFC 3339, or Orge's `{{Y,M,D},{H,M,S}}`) only at the edges.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(i64);

impl UtcTime {
    /// The largest value: 9999-12-31T23:59:59.999999Z.
    pub const MAX_MICROS: i64 = 253_402_300_799_999_999;
    /// The Unix epoch, the smallest value.
    pub const EPOCH: UtcTime = UtcTime(0);

    /// Checks that `micros` (since the epoch) is in range.
    pub fn from_micros(micros: i64) -> Result<Self, InvalidValue> {
        if (0..=Self::MAX_MICROS).contains(&micros) {
            Ok(UtcTime(micros))
        } else {
            Err(InvalidValue::new(
                "UTC time",
                format!("{micros} µs since the epoch is outside 1970-01-01..=9999-12-31"),
            ))
        }
    }

    /// The instant, truncated to the microsecond.
    pub fn from_datetime(t: DateTime<Utc>) -> Result<Self, InvalidValue> {
        UtcTime::from_micros(t.timestamp_micros())
    }

    /// Microseconds since the epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// As a chrono instant.
    pub fn to_datetime(self) -> DateTime<Utc> {
        // In range by construction; the epoch is a fallback that cannot happen.
        DateTime::from_timestamp_micros(self.0).unwrap_or_default()
    }

    /// The UTC calendar date of this instant.
    pub fn date(self) -> Date {
        Date::from_naive_saturating(self.to_datetime().date_naive())
    }

    /// `self + d`, if still in range.
    pub fn checked_add(self, d: TimeDelta) -> Result<Self, InvalidValue> {
        let micros = d
            .num_microseconds()
            .and_then(|m| self.0.checked_add(m))
            .ok_or_else(|| InvalidValue::new("UTC time", "time arithmetic overflowed"))?;
        UtcTime::from_micros(micros)
    }

    /// `self - d`, clamped at the epoch (for cut-offs such as "90 days ago").
    pub fn saturating_sub(self, d: TimeDelta) -> Self {
        let micros = d.num_microseconds().unwrap_or(i64::MAX);
        UtcTime(self.0.saturating_sub(micros).clamp(0, Self::MAX_MICROS))
    }

    /// `self - earlier` (negative if `earlier` is later).
    pub fn since(self, earlier: UtcTime) -> TimeDelta {
        TimeDelta::microseconds(self.0 - earlier.0)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )
    }
}

impl fmt::Debug for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UtcTime({self})")
    }
}

impl TryFrom<i64> for UtcTime {
    type Error = InvalidValue;
    fn try_from(micros: i64) -> Result<Self, InvalidValue> {
        UtcTime::from_micros(micros)
    }
}

impl TryFrom<DateTime<Utc>> for UtcTime {
    type Error = InvalidValue;
    fn try_from(t: DateTime<Utc>) -> Result<Self, InvalidValue> {
        UtcTime::from_datetime(t)
    }
}

impl Field for UtcTime {
    const TYPE: FieldType = FieldType::Time;
    fn to_value(&self) -> Value {
        Value::Integer(self.0)
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        integer(value, "UTC time")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn range_and_precision() {
        assert!(UtcTime::from_micros(-1).is_err());
        assert!(UtcTime::from_micros(UtcTime::MAX_MICROS + 1).is_err());
        let max = UtcTime::from_micros(UtcTime::MAX_MICROS).unwrap();
        assert_eq!(max.to_string(), "9999-12-31T23:59:59.999999Z");
        let year_10000 = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert!(UtcTime::from_datetime(year_10000).is_err());
        let t = Utc.with_ymd_and_hms(2008, 7, 11, 17, 21, 43).unwrap()
            + TimeDelta::nanoseconds(1_234_567);
        let u = UtcTime::from_datetime(t).unwrap();
        assert_eq!(u.to_string(), "2008-07-11T17:21:43.001234Z");
        assert_eq!(u.date().to_string(), "2008-07-11");
        assert_eq!(
            u.checked_add(TimeDelta::days(1))
                .unwrap()
                .date()
                .to_string(),
            "2008-07-12"
        );
        assert_eq!(u.saturating_sub(TimeDelta::days(100_000)), UtcTime::EPOCH);
    }
}
