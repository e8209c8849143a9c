//! [`Login`]: an account login.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// An account login: 3 to 32 characters from `a-z`, `0-9`, `_`, `.` and `-`.
///
/// ASCII upper-case letters are lower-cased (`"Alf"` is the login `alf`); anything else
/// outside the set is refused. Logins are compared as stored, so `alf` and `ALF` are one
/// login. (Orge allowed 15 characters of any kind; spec §C.4 sets 3..32 of this set.)
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Login(String);

impl Login {
    /// Fewest characters.
    pub const MIN_LEN: usize = 3;
    /// Most characters.
    pub const MAX_LEN: usize = 32;

    /// Lower-cases ASCII letters and checks the result.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        let lower = s.to_ascii_lowercase();
        let len = lower.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(InvalidValue::new(
                "login",
                format!(
                    "{} has {len} characters; a login has {} to {}",
                    quote(s),
                    Self::MIN_LEN,
                    Self::MAX_LEN
                ),
            ));
        }
        if let Some(c) = lower
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
        {
            return Err(InvalidValue::new(
                "login",
                format!(
                    "{} contains {c:?}; a login is made of a-z, 0-9, '_', '.' and '-'",
                    quote(s)
                ),
            ));
        }
        Ok(Login(lower))
    }

    /// The login.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Login {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Login({:?})", self.0)
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Login {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Login::new(s)
    }
}

impl Field for Login {
    const TYPE: FieldType = FieldType::Login;
    fn to_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "login")?;
        let login = Login::new(&s)?;
        if login.0 != s {
            return Err(InvalidValue::new("login", "stored login is not lower-case"));
        }
        Ok(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert_eq!(Login::new("Alf").unwrap().as_str(), "alf");
        assert!(Login::new("al").is_err());
        assert!(Login::new(&"a".repeat(32)).is_ok());
        assert!(Login::new(&"a".repeat(33)).is_err());
        assert!(Login::new("Mr. Big").is_err());
        assert!(Login::new("loué").is_err());
        assert!(Login::new("gordon.shumway_2-x").is_ok());
    }
}
