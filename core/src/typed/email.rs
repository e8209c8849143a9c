//! [`EmailAddress`].

use std::fmt;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// An email address: `local@domain`, at most 254 characters.
///
/// - the local part is an RFC 5322 dot-atom: 1 to 64 of ``A-Z a-z 0-9 ! # $ % & ' * + / = ? ^
///   _ ` { | } ~ -`` and `.`, not starting or ending with a dot, no two dots in a row (quoted
///   local parts are refused);
/// - the domain is dot-separated LDH labels of 1 to 63 characters, not starting or ending
///   with `-`; it is lower-cased. Internationalised domains must be given as A-labels
///   (`xn--…`): the core does not carry IDNA tables, the edge converts (and non-ASCII is
///   refused, so `lower()` folds identically on SQLite and on PostgreSQL's "C" collation).
///
/// Uniqueness is on a case-folded copy (`lower(email)` unique index); the stored text keeps
/// the local part's case. SQLite's CHECK does not verify the 63-character label limit (no
/// regular expressions); PostgreSQL's does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address.
    pub const MAX_LEN: usize = 254;
    /// Longest local part.
    pub const MAX_LOCAL_LEN: usize = 64;
    /// Longest domain label.
    pub const MAX_LABEL_LEN: usize = 63;

    /// Checks `s` and lower-cases its domain.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        let refuse = |why: &str| InvalidValue::new("email address", format!("{}: {why}", quote(s)));
        if !s.is_ascii() {
            return Err(refuse(
                "not ASCII (give internationalised domains as A-labels)",
            ));
        }
        if s.len() > Self::MAX_LEN {
            return Err(refuse("longer than 254 characters"));
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(refuse("there must be exactly one '@'"));
        };
        if local.is_empty() || local.len() > Self::MAX_LOCAL_LEN {
            return Err(refuse("the local part must have 1 to 64 characters"));
        }
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local
            .split('.')
            .any(|atom| atom.is_empty() || !atom.chars().all(atext))
        {
            return Err(refuse(
                "the local part must be dot-separated atoms of letters, digits and !#$%&'*+/=?^_`{|}~-",
            ));
        }
        if domain.is_empty() {
            return Err(refuse("the domain is empty"));
        }
        for label in domain.split('.') {
            let ldh = label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if label.is_empty()
                || label.len() > Self::MAX_LABEL_LEN
                || !ldh
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(refuse(
                    "the domain must be dot-separated labels of 1 to 63 letters, digits and \
                     inner hyphens",
                ));
            }
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The local part (before `@`).
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(l, _)| l)
    }

    /// The domain (after `@`), lower-case.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }

    /// The case-folded form that uniqueness is decided on (SQL `lower(email)`).
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The calendar user URI of this address, `mailto:` + the address.
    pub fn mailto(&self) -> String {
        format!("mailto:{}", self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        EmailAddress::new(s)
    }
}

impl Field for EmailAddress {
    const TYPE: FieldType = FieldType::Email;
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "email address")?;
        let e = EmailAddress::new(&s)?;
        if e.0 != s {
            return Err(InvalidValue::new(
                "email address",
                "stored domain is not lower-case",
            ));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_folds() {
        let e = EmailAddress::new("Gordon.Shumway@Vega.COM").unwrap();
        assert_eq!(e.as_str(), "Gordon.Shumway@vega.com");
        assert_eq!(e.folded(), "gordon.shumway@vega.com");
        assert_eq!(e.local_part(), "Gordon.Shumway");
        assert_eq!(e.domain(), "vega.com");
        assert_eq!(e.mailto(), "mailto:Gordon.Shumway@vega.com");
        assert!(EmailAddress::new("a+b!c@x").is_ok());
        assert!(EmailAddress::new("o'hara@xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn refuses() {
        for bad in [
            "alf.vega.com",
            "alf@@vega.com",
            "a@b@c",
            "@vega.com",
            "alf@",
            "alf @vega.com",
            ".alf@vega.com",
            "alf.@vega.com",
            "a..lf@vega.com",
            "alf@-vega.com",
            "alf@vega-.com",
            "alf@vega..com",
            "alf@vega.com.",
            "alf@.vega.com",
            "alf@vega_com",
            "loué@vega.com",
            "alf@bücher.example",
        ] {
            assert!(EmailAddress::new(bad).is_err(), "{bad}");
        }
        let local = "a".repeat(65);
        assert!(EmailAddress::new(&format!("{local}@x")).is_err());
        let label = "b".repeat(64);
        assert!(EmailAddress::new(&format!("a@{label}.com")).is_err());
        let long = format!("a@{}.com", vec!["c".repeat(63); 4].join("."));
        assert!(long.len() > 254);
        assert!(EmailAddress::new(&long).is_err());
    }
}
