//! [`Phone`]: a telephone number in E.164 form.

use std::fmt;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// A telephone number in E.164 form: `+`, a country code not starting with 0, and the
/// subscriber number, 2 to 15 digits in all (`+33123456789`).
///
/// The constructor drops the usual visual separators (spaces, `-`, `.`, `(`, `)`), so
/// `"+33 1 23 45 67 89"` is accepted as `+33123456789`; a national form without the `+`
/// is refused (which country it belongs to is not known here). Whether the number is
/// assigned is not checked.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    /// Most digits (E.164).
    pub const MAX_DIGITS: usize = 15;

    /// Drops separators and checks the E.164 form.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let ok = (2..=Self::MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Phone(compact))
        } else {
            Err(InvalidValue::new(
                "E.164 phone number",
                format!(
                    "{} is not '+' then 2 to 15 digits (the first not 0)",
                    quote(s)
                ),
            ))
        }
    }

    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.0)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Phone::new(s)
    }
}

impl Field for Phone {
    const TYPE: FieldType = FieldType::Phone;
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "E.164 phone number")?;
        let p = Phone::new(&s)?;
        if p.0 != s {
            return Err(InvalidValue::new(
                "E.164 phone number",
                "stored number has separators",
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(
            Phone::new("+33 1 23-45.67 (89)").unwrap().as_str(),
            "+33123456789"
        );
        assert!(Phone::new("0123456789").is_err());
        assert!(Phone::new("+0123").is_err());
        assert!(Phone::new("+1").is_err());
        assert!(Phone::new("+1234567890123456").is_err());
        assert!(Phone::new("+123456789012345").is_ok());
        assert!(Phone::new("+33 1 x").is_err());
    }
}
