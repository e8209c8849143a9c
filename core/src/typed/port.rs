//! [`Port`]: a peer's TCP/UDP port.

use std::fmt;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, integer};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// A peer port, 1 to 65535 (TCP port 0 is not a port a peer can have).
///
/// Text is parsed strictly: decimal digits only (`"9512x"` and `"+80"` are refused). In SQL
/// the column is an INTEGER with `CHECK (x BETWEEN 1 AND 65535)`; text in it is refused by
/// the column type (SQLite STRICT, PostgreSQL `BIGINT`), not by the CHECK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    /// The largest port.
    pub const MAX: u16 = u16::MAX;

    /// Checks that `port` is not 0.
    pub fn new(port: u16) -> Result<Self, InvalidValue> {
        if port == 0 {
            Err(InvalidValue::new("port", "0 is not a peer port"))
        } else {
            Ok(Port(port))
        }
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for Port {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<Self, InvalidValue> {
        u16::try_from(value)
            .map_err(|_| InvalidValue::new("port", format!("{value} is outside 1..=65535")))
            .and_then(Port::new)
    }
}

impl FromStr for Port {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                "port",
                format!("{} is not a decimal number", quote(s)),
            ));
        }
        let n: i64 = s
            .parse()
            .map_err(|_| InvalidValue::new("port", format!("{} is not a number", quote(s))))?;
        Port::try_from(n)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Field for Port {
    const TYPE: FieldType = FieldType::Port;
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(self.0))
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        integer(value, "port")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert!(Port::try_from(70_000).is_err());
        assert!(Port::try_from(0).is_err());
        assert!("9512x".parse::<Port>().is_err());
        assert!("+80".parse::<Port>().is_err());
        assert!("".parse::<Port>().is_err());
        assert_eq!("9512".parse::<Port>().unwrap().get(), 9512);
        assert_eq!("65535".parse::<Port>().unwrap().get(), 65535);
        assert!("65536".parse::<Port>().is_err());
    }
}
