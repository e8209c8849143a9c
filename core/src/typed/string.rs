//! [`BoundedString<N>`]: Orge's `String[N]`.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// Text of 1 to `N` characters, NFC-normalised, without control characters.
///
/// `N` counts **Unicode scalar values** after NFC normalisation, as SQLite's `length()` and
/// PostgreSQL's `char_length()` count characters: `"Loué"` is 4 (5 bytes), and `"Loue\u{301}"`
/// (e with a combining acute, 5 scalar values) is normalised to the same 4-character string.
/// An empty string is refused: an unset optional field is `None` (NULL), never `""`.
///
/// Database checks: the length and the absence of C0/C1 control characters on both engines;
/// NFC only on PostgreSQL (`IS NFC NORMALIZED`; SQLite has no normaliser), so on SQLite a
/// non-NFC string written by raw SQL is caught by the length only.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundedString<const N: usize>(String);

impl<const N: usize> BoundedString<N> {
    /// The limit, in Unicode scalar values.
    pub const MAX: usize = N;

    /// Normalises `s` to NFC and checks it.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        let normal: String = if unicode_normalization::is_nfc(s) {
            s.to_owned()
        } else {
            s.nfc().collect()
        };
        if normal.is_empty() {
            return Err(InvalidValue::new(
                "bounded string",
                "empty (an unset field is None, not \"\")",
            ));
        }
        let chars = normal.chars().count();
        if chars > N {
            return Err(InvalidValue::new(
                "bounded string",
                format!(
                    "{} has {chars} characters; at most {N} are allowed",
                    quote(s)
                ),
            ));
        }
        if let Some(c) = normal.chars().find(|c| c.is_control()) {
            return Err(InvalidValue::new(
                "bounded string",
                format!(
                    "{} contains the control character U+{:04X}",
                    quote(s),
                    u32::from(c)
                ),
            ));
        }
        Ok(BoundedString(normal))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, moved out.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const N: usize> Deref for BoundedString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const N: usize> fmt::Display for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> FromStr for BoundedString<N> {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        BoundedString::new(s)
    }
}

impl<const N: usize> Field for BoundedString<N> {
    const TYPE: FieldType = FieldType::Str { max: N };
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "bounded string")?;
        let checked = BoundedString::new(&s)?;
        if checked.0 != s {
            return Err(InvalidValue::new(
                "bounded string",
                "stored text is not NFC",
            ));
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scalar_values_after_nfc() {
        assert_eq!(BoundedString::<4>::new("Loué").unwrap().as_str(), "Loué");
        assert_eq!("Loué".len(), 5);
        // Decomposed: 5 scalar values before NFC, 4 after.
        let decomposed = "Loue\u{301}";
        assert_eq!(decomposed.chars().count(), 5);
        assert_eq!(
            BoundedString::<4>::new(decomposed).unwrap().as_str(),
            "Loué"
        );
        assert!(BoundedString::<4>::new("Louée").is_err());
        assert!(BoundedString::<4>::new("😀😀😀😀").is_ok());
    }

    #[test]
    fn refuses_empty_and_controls() {
        assert!(BoundedString::<4>::new("").is_err());
        assert!(BoundedString::<4>::new("a\n").is_err());
        assert!(BoundedString::<4>::new("a\u{0}").is_err());
        assert!(BoundedString::<4>::new("a\u{85}").is_err());
        assert!(BoundedString::<4>::new("a\u{7f}").is_err());
        assert!(BoundedString::<4>::new("a\u{a0}b").is_ok());
    }
}
