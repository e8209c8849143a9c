//! [`Date`]: a calendar date.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// A real calendar date from 0001-01-01 to 9999-12-31, stored as TEXT `YYYY-MM-DD` on both
/// engines (text order is date order). `2021-02-30` is refused in Rust (chrono), by SQLite's
/// `date(x, '+0 days') IS x` and by PostgreSQL's month-length CASE. Rules relative to "now"
/// (a date of birth not in the future) cannot be CHECKs, which must be deterministic; they
/// are checked against a column of the same row instead (see `accounts`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(NaiveDate);

impl Date {
    /// The first and last dates, as stored.
    pub const RANGE_TEXT: (&'static str, &'static str) = ("0001-01-01", "9999-12-31");

    /// Checks that `d` is within years 1 to 9999.
    pub fn new(d: NaiveDate) -> Result<Self, InvalidValue> {
        if (1..=9999).contains(&d.year()) {
            Ok(Date(d))
        } else {
            Err(InvalidValue::new(
                "date",
                format!("{d} is outside years 0001..=9999"),
            ))
        }
    }

    /// The date `year-month-day`, if it exists.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Self, InvalidValue> {
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| {
                InvalidValue::new(
                    "date",
                    format!("{year:04}-{month:02}-{day:02} is not a calendar date"),
                )
            })
            .and_then(Date::new)
    }

    pub(crate) fn from_naive_saturating(d: NaiveDate) -> Self {
        Date(d.clamp(
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
        ))
    }

    /// As a chrono date.
    pub fn to_naive(self) -> NaiveDate {
        self.0
    }
}

impl FromStr for Date {
    type Err = InvalidValue;
    /// Parses exactly `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(InvalidValue::new(
                "date",
                format!("{} is not of the form YYYY-MM-DD", quote(s)),
            ));
        }
        let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
        match (num(0..4), num(5..7), num(8..10)) {
            (Some(y), Some(m), Some(d)) => {
                let year = i32::try_from(y).map_err(|_| InvalidValue::new("date", "bad year"))?;
                Date::from_ymd(year, m, d)
            }
            _ => Err(InvalidValue::new(
                "date",
                format!("{} is not of the form YYYY-MM-DD", quote(s)),
            )),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl Field for Date {
    const TYPE: FieldType = FieldType::Date;
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        text(value, "date")?.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!("2021-02-30".parse::<Date>().is_err());
        assert!("2021-2-3".parse::<Date>().is_err());
        assert!("0000-01-01".parse::<Date>().is_err());
        assert!("1900-02-29".parse::<Date>().is_err());
        assert_eq!(
            "2000-02-29".parse::<Date>().unwrap().to_string(),
            "2000-02-29"
        );
        assert_eq!(
            "0001-01-01".parse::<Date>().unwrap().to_string(),
            "0001-01-01"
        );
        assert!(" 2021-01-01".parse::<Date>().is_err());
        assert!("+021-01-01".parse::<Date>().is_err());
    }
}
