//! A minimal JSON writer for results handed to JavaScript in bulk.
//!
//! Building a result object by object, field by field, costs a call into JavaScript per
//! field and per string (about 22 for one free/busy period); for a week of a busy calendar
//! that was half the time a query took. Writing the result as JSON text instead, and parsing
//! it with one `JSON.parse` in JavaScript, crosses the boundary once. Measured in Node on the
//! benchmark's week (`wasm/bench/`, 101 periods, in-module backend): `getFreebusy` 0.53 ms ->
//! 0.26 ms, and 0.19 ms once times are written without `core::fmt` ([`utc`]).
//! `crate::convert` uses it for every list result; the shapes are the same.
//!
//! Only what those results need: arrays, objects, strings, `null`, integers. Plain Rust, so it
//! is unit-tested natively.

use std::fmt::Write as _;

use calstore_core::ical::datetime::format_utc;
use chrono::{DateTime, Utc};

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    // Runs of bytes that need no escape are copied whole (every byte of a multi-byte UTF-8
    // character is >= 0x80, so splitting at the ASCII bytes below keeps characters whole).
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        run = i + 1;
        if escape.is_empty() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Appends a time as the JSON string `"YYYYMMDDTHHMMSSZ"`, exactly as
/// [`calstore_core::ical::datetime::format_utc`] writes it but without `core::fmt` (which
/// was the largest single cost of handing a week of free/busy to JavaScript).
pub fn utc(out: &mut String, t: DateTime<Utc>) {
    match crate::records::utc_digits(t) {
        Some(buf) => {
            out.push('"');
            // Only ASCII digits, 'T' and 'Z' were written.
            out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
            out.push('"');
        }
        None => string(out, &format_utc(t)),
    }
}

/// A JSON array of `items`, each written by `write`.
pub fn array<T>(items: &[T], mut write: impl FnMut(&mut String, &T)) -> String {
    let mut out = String::with_capacity(2 + items.len() * 48);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(&mut out, item);
    }
    out.push(']');
    out
}

/// Writes one JSON object; fields are added in call order.
#[derive(Debug)]
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `out`; [`Object::end`] closes it.
    pub fn start(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        string(self.out, key);
        self.out.push(':');
    }

    /// A string field.
    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        string(self.out, value);
        self
    }

    /// A time field, `"YYYYMMDDTHHMMSSZ"` (see [`utc`]).
    pub fn time(mut self, key: &str, value: DateTime<Utc>) -> Self {
        self.key(key);
        utc(self.out, value);
        self
    }

    /// A time field, or `null`.
    pub fn opt_time(mut self, key: &str, value: Option<DateTime<Utc>>) -> Self {
        self.key(key);
        match value {
            Some(t) => utc(self.out, t),
            None => self.out.push_str("null"),
        }
        self
    }

    /// A string field, or `null`.
    pub fn opt_str(mut self, key: &str, value: Option<&str>) -> Self {
        self.key(key);
        match value {
            Some(v) => string(self.out, v),
            None => self.out.push_str("null"),
        }
        self
    }

    /// A number field holding an integer (JavaScript reads it exactly up to 2^53).
    pub fn int(mut self, key: &str, value: i64) -> Self {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\re\tf\u{1}g\u{1f}h é 😀 \u{2028}");
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh é 😀 \u{2028}\""
        );
    }

    #[test]
    fn times_as_format_utc_writes_them() {
        for t in crate::records::edge_times() {
            let mut out = String::new();
            utc(&mut out, t);
            let mut expected = String::new();
            string(&mut expected, &format_utc(t));
            assert_eq!(out, expected);
        }
        let mut out = String::new();
        Object::start(&mut out)
            .time("a", DateTime::UNIX_EPOCH)
            .opt_time("b", None)
            .end();
        assert_eq!(out, r#"{"a":"19700101T000000Z","b":null}"#);
    }

    #[test]
    fn arrays_of_objects() {
        let items = [
            ("x", Some("1"), 7_i64),
            ("y\"", None, -9_007_199_254_740_993),
        ];
        let text = array(&items, |out, (a, b, n)| {
            Object::start(out)
                .str("a", a)
                .opt_str("b", *b)
                .int("n", *n)
                .end();
        });
        assert_eq!(
            text,
            r#"[{"a":"x","b":"1","n":7},{"a":"y\"","b":null,"n":-9007199254740993}]"#
        );
        assert_eq!(array::<u8>(&[], |_, _| {}), "[]");
        let mut empty = String::new();
        Object::start(&mut empty).end();
        assert_eq!(empty, "{}");
    }
}
