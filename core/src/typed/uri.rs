//! [`CalendarUri`]: the URI of a calendar user (a store user in imip-agent's terms).

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// A calendar user URI such as `mailto:alf@vega.com`: a scheme (a letter, then letters,
/// digits, `+`, `.`, `-`), `:`, then at least one character; no spaces or control characters
/// anywhere; at most 1024 characters. Kept in its one spelling, the scheme and a mail domain
/// in lower case ([`crate::address`]): calendar users are keyed by their URI text in the store.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarUri(String);

impl CalendarUri {
    /// Most characters.
    pub const MAX_LEN: usize = 1024;

    /// Checks `s`; keeps it in its one spelling ([`crate::address::normalise`]).
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        let refuse = |why: &str| InvalidValue::new("calendar URI", format!("{}: {why}", quote(s)));
        if s.chars().count() > Self::MAX_LEN {
            return Err(refuse("longer than 1024 characters"));
        }
        if s.chars()
            .any(|c| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c))
        {
            return Err(refuse("contains a space or a control character"));
        }
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(refuse("no scheme (such as mailto:)"));
        };
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        if !scheme_ok {
            return Err(refuse(
                "the scheme must be a letter, then letters, digits, '+', '.', '-'",
            ));
        }
        if rest.is_empty() {
            return Err(refuse("nothing after the scheme"));
        }
        Ok(CalendarUri(crate::address::normalised(s)))
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for CalendarUri {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CalendarUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CalendarUri({:?})", self.0)
    }
}

impl fmt::Display for CalendarUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CalendarUri {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        CalendarUri::new(s)
    }
}

impl Field for CalendarUri {
    const TYPE: FieldType = FieldType::CalendarUri;
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        CalendarUri::new(&text(value, "calendar URI")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert!(CalendarUri::new("mailto:alf@vega.com").is_ok());
        assert!(CalendarUri::new("urn:uuid:1234").is_ok());
        assert!(CalendarUri::new("a:b").is_ok());
        assert!(CalendarUri::new("alf@vega.com").is_err());
        assert!(CalendarUri::new(":x").is_err());
        assert!(CalendarUri::new("1x:y").is_err());
        assert!(CalendarUri::new("mailto:").is_err());
        assert!(CalendarUri::new("mailto:a b").is_err());
        assert!(CalendarUri::new("mailto:a\u{85}").is_err());
        assert!(CalendarUri::new("mailto:loué@vega.com").is_ok());
    }
}
