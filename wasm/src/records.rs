//! Packed records: list results handed to JavaScript as one string and one array of offsets,
//! from which a few lines of JavaScript build the objects.
//!
//! A list result (a week of free/busy, offers, quota entries, the objects of a user) is rows of
//! optional strings with fixed field names. Written as JSON and parsed with `JSON.parse`
//! ([`crate::json`]), a week of 101 periods cost more to hand over than SQLite took to find
//! it: escaping every string in Rust, then V8's JSON parser rebuilding each string and object.
//! Here the values are concatenated unescaped into one string (decoded once, with
//! `TextDecoder`, by wasm-bindgen) and each value's end is recorded as an offset in UTF-16 code
//! units (JavaScript's string indices), `-1` for `null`; JavaScript slices the string and
//! builds each object with a literal of fixed shape. Measured in Node on the benchmark's week
//! (101 periods of 7 fields): `JSON.parse` 53 µs, these builders 6 µs.
//!
//! Plain Rust, unit-tested natively; the JavaScript half is `crate::convert`'s
//! `calstore_periods` and `calstore_records`.

use calstore_core::ical::datetime::format_utc;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Rows of optional strings, packed: the values' text and, per value, its end offset in
/// UTF-16 code units (`-1` for `null`). Built row by row, field by field, in the order the
/// JavaScript builder assigns them.
#[derive(Debug, Default)]
pub struct Records {
    text: String,
    ends: Vec<i32>,
    units: usize,
    overflow: bool,
}

/// The packed text was longer than 2^31 - 1 UTF-16 code units: more than any JavaScript
/// string can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

impl Records {
    /// Room for `values` values of about `bytes_per_value` bytes each.
    pub fn with_capacity(values: usize, bytes_per_value: usize) -> Self {
        Records {
            text: String::with_capacity(values.saturating_mul(bytes_per_value)),
            ends: Vec::with_capacity(values),
            units: 0,
            overflow: false,
        }
    }

    fn end_here(&mut self, added_units: usize) {
        self.units = self.units.saturating_add(added_units);
        match i32::try_from(self.units) {
            Ok(end) => self.ends.push(end),
            Err(_) => {
                self.overflow = true;
                self.ends.push(i32::MAX);
            }
        }
    }

    /// A string value.
    pub fn str(&mut self, s: &str) {
        self.text.push_str(s);
        let units = if s.is_ascii() {
            s.len()
        } else {
            s.chars().map(char::len_utf16).sum()
        };
        self.end_here(units);
    }

    /// A string value or `null`.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// `null`.
    pub fn null(&mut self) {
        self.ends.push(-1);
    }

    /// A time as stored, `YYYYMMDDTHHMMSSZ` (what [`format_utc`] writes, without `core::fmt`).
    pub fn time(&mut self, t: DateTime<Utc>) {
        match utc_digits(t) {
            Some(buf) => {
                // Only ASCII digits, 'T' and 'Z' were written.
                self.text
                    .push_str(std::str::from_utf8(&buf).unwrap_or_default());
                self.end_here(buf.len());
            }
            None => self.str(&format_utc(t)),
        }
    }

    /// A time or `null`.
    pub fn opt_time(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => self.time(t),
            None => self.null(),
        }
    }

    /// How many values were added.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no value was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The text and the end offsets, or [`TooLong`].
    pub fn finish(&self) -> Result<(&str, &[i32]), TooLong> {
        if self.overflow {
            Err(TooLong)
        } else {
            Ok((&self.text, &self.ends))
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` for years 0..=9999 (what [`format_utc`] writes for them); `None` for
/// other years, which `format_utc` writes with a sign or more digits.
pub fn utc_digits(t: DateTime<Utc>) -> Option<[u8; 16]> {
    // The date and time of the naive UTC value, taken once: `DateTime`'s own accessors each
    // convert to local time first (an offset addition per field).
    let naive = t.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let mut buf = [0u8; 16];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            // A decimal digit: always below 10.
            buf[at + k] = b'0' + u8::try_from(v % 10).unwrap_or(0);
            v /= 10;
        }
    };
    put(0, year, 4);
    put(4, date.month(), 2);
    put(6, date.day(), 2);
    put(9, time.hour(), 2);
    put(11, time.minute(), 2);
    put(13, time.second(), 2);
    buf[8] = b'T';
    buf[15] = b'Z';
    Some(buf)
}

/// Times that [`utc_digits`] writes (years 1 to 9999) and that it leaves to `format_utc`
/// (year 10 000, year -1): for the tests here and in `crate::json`.
#[cfg(test)]
pub(crate) fn edge_times() -> [DateTime<Utc>; 6] {
    use chrono::TimeZone;
    let at = |y, mo, d, h, mi, s| {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH)
    };
    [
        at(2026, 6, 15, 7, 0, 0),
        at(1, 1, 1, 0, 0, 0),
        at(9999, 12, 31, 23, 59, 59),
        at(10_000, 1, 1, 0, 0, 0),
        at(-1, 1, 1, 0, 0, 0),
        DateTime::UNIX_EPOCH,
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What the JavaScript builder does with the packed values: slice the text at each end.
    fn unpack(text: &str, ends: &[i32]) -> Vec<Option<String>> {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut at = 0;
        ends.iter()
            .map(|&end| {
                (end >= 0).then(|| {
                    let end = usize::try_from(end).unwrap();
                    let s = String::from_utf16(&units[at..end]).unwrap();
                    at = end;
                    s
                })
            })
            .collect()
    }

    #[test]
    fn values_round_trip_through_utf16_offsets() {
        let values = [
            Some("plain"),
            None,
            Some(""),
            Some("é and 😀 and \u{2028} \"quoted\" \\ \n\t\u{1}"),
            None,
            Some("x"),
        ];
        let mut r = Records::with_capacity(values.len(), 8);
        for v in values {
            r.opt_str(v);
        }
        assert_eq!(r.len(), values.len());
        let (text, ends) = r.finish().unwrap();
        let back = unpack(text, ends);
        let expected: Vec<Option<String>> = values.iter().map(|v| v.map(str::to_owned)).collect();
        assert_eq!(back, expected);
        // Offsets count UTF-16 code units: 😀 is two.
        assert_eq!(
            ends[3] - ends[2],
            i32::try_from(
                "é and 😀 and \u{2028} \"quoted\" \\ \n\t\u{1}"
                    .encode_utf16()
                    .count()
            )
            .unwrap()
        );
    }

    #[test]
    fn times_as_format_utc_writes_them() {
        let times = edge_times();
        let mut r = Records::default();
        for t in times {
            r.time(t);
        }
        r.opt_time(None);
        let (text, ends) = r.finish().unwrap();
        let mut expected: Vec<Option<String>> =
            times.iter().map(|t| Some(format_utc(*t))).collect();
        expected.push(None);
        assert_eq!(unpack(text, ends), expected);
    }

    #[test]
    fn empty() {
        let r = Records::default();
        assert!(r.is_empty());
        assert_eq!(r.finish().unwrap(), ("", &[][..]));
    }
}
