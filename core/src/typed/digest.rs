//! [`Digest`]: 32 bytes of a hash (login reservations, reset tokens, throttling subjects).

use std::fmt;

use crate::sql::Value;

use super::column::Field;
use super::field_type::FieldType;
use super::invalid::InvalidValue;

/// A 32-byte digest, stored as a BLOB (`CHECK (length(x) = 32)`; `octet_length` on
/// PostgreSQL). What it is a digest of, and with which key, is the declaring table's
/// business; see `accounts::keys`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Wraps 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The bytes as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl TryFrom<&[u8]> for Digest {
    type Error = InvalidValue;
    fn try_from(bytes: &[u8]) -> Result<Self, InvalidValue> {
        <[u8; 32]>::try_from(bytes).map(Digest).map_err(|_| {
            InvalidValue::new(
                "32-byte digest",
                format!("{} bytes instead of 32", bytes.len()),
            )
        })
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl Field for Digest {
    const TYPE: FieldType = FieldType::Digest;
    fn to_value(&self) -> Value {
        Value::Blob(self.0.to_vec())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        match value {
            Value::Blob(b) => Digest::try_from(b.as_slice()),
            other => Err(InvalidValue::new(
                "32-byte digest",
                format!("expected BLOB, found {}", other.type_name()),
            )),
        }
    }
}
