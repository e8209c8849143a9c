//! [`Int<MIN, MAX>`]: an integer in a declared range (counters, slot numbers, limits).

use std::fmt;

use crate::sql::Value;

use super::column::{Field, integer};
use super::field_type::FieldType;
use super::invalid::InvalidValue;

/// An integer in `MIN..=MAX`, checked by the constructor and by `CHECK (x BETWEEN MIN AND
/// MAX)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Int<MIN, MAX> {
    /// The smallest value.
    pub const MIN: Self = Int(MIN);
    /// The largest value.
    pub const MAX: Self = Int(MAX);

    /// Checks that `value` is in range.
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        if (MIN..=MAX).contains(&value) {
            Ok(Int(value))
        } else {
            Err(InvalidValue::new(
                "bounded integer",
                format!("{value} is outside {MIN}..={MAX}"),
            ))
        }
    }

    /// `value` moved into range: `MIN` below it, `MAX` above it.
    pub fn saturating(value: i64) -> Self {
        Int(value.clamp(MIN, MAX))
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for Int<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<const MIN: i64, const MAX: i64> TryFrom<i64> for Int<MIN, MAX> {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<Self, InvalidValue> {
        Int::new(value)
    }
}

impl<const MIN: i64, const MAX: i64> Field for Int<MIN, MAX> {
    const TYPE: FieldType = FieldType::Int { min: MIN, max: MAX };
    fn to_value(&self) -> Value {
        Value::Integer(self.0)
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        integer(value, "bounded integer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_inclusive() {
        type Slot = Int<1, 4>;
        assert!(Slot::new(0).is_err());
        assert!(Slot::new(5).is_err());
        assert_eq!(Slot::new(4).unwrap().get(), 4);
        assert_eq!(Slot::saturating(99), Slot::MAX);
        assert_eq!(Slot::saturating(-3), Slot::MIN);
    }
}
