//! [`CountryCode`]: an ISO 3166-1 alpha-2 code.

use std::fmt;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// An ISO 3166-1 alpha-2 country code: two ASCII letters, stored upper-case (`"fr"` is
/// accepted as `FR`).
///
/// Only the shape is checked, in Rust as in SQL: the list of assigned codes changes over
/// time, and user-assigned codes (`XK` for Kosovo, used by most geolocation databases) are
/// legitimate. Orge stored a free-text country name here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Upper-cases and checks `s`.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Ok(CountryCode([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
            ])),
            _ => Err(InvalidValue::new(
                "ISO 3166-1 alpha-2 country code",
                format!("{} is not two letters", quote(s)),
            )),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Two ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        CountryCode::new(s)
    }
}

impl Field for CountryCode {
    const TYPE: FieldType = FieldType::CountryCode;
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().to_owned())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "ISO 3166-1 alpha-2 country code")?;
        let c = CountryCode::new(&s)?;
        if c.as_str() != s {
            return Err(InvalidValue::new(
                "ISO 3166-1 alpha-2 country code",
                "stored code is not upper-case",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(CountryCode::new("fr").unwrap().as_str(), "FR");
        assert!(CountryCode::new("FRA").is_err());
        assert!(CountryCode::new("F1").is_err());
        assert!(CountryCode::new("É").is_err());
        assert!(CountryCode::new("").is_err());
    }
}
