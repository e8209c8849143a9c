//! Meaningless integer identifiers: [`Id<T>`] (the id of a row of table `T`, also the type of
//! a column referencing it) and [`SoftRef<T>`] (a reference without a foreign key).
//!
//! **Contract** (Orge's `OrgeIdentifier`, spec §C.2): ids are unique within a table, strictly
//! increasing, start at 1 and are never reused, also after deletion or a restore. They carry
//! no meaning and are **not gapless**: SQLite (`INTEGER PRIMARY KEY AUTOINCREMENT`, the high
//! mark kept in `sqlite_sequence` inside the transaction) gives contiguous ids, rolled-back
//! inserts included; PostgreSQL (`GENERATED ALWAYS AS IDENTITY`, a sequence) skips the values
//! of rolled-back inserts and may skip some after a crash. Gaps are accepted there because
//! the only alternative, a counter row locked by every insert, serialises all inserts into a
//! table (the connection log above all) for a property nothing relies on. The counter lives
//! in the database (sequence or `sqlite_sequence`), never rebuilt from `max(id) + 1`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroI64;

use crate::sql::Value;

use super::column::{Field, integer};
use super::field_type::FieldType;
use super::invalid::InvalidValue;
use super::table::Table;

/// The id of a row of table `T`: 1 to 2^63 − 1. As a column type it is a foreign key to
/// `T`'s `id`.
pub struct Id<T> {
    value: NonZeroI64,
    _table: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// Checks that `value` is a valid id (≥ 1).
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        match NonZeroI64::new(value) {
            Some(v) if value > 0 => Ok(Id {
                value: v,
                _table: PhantomData,
            }),
            _ => Err(InvalidValue::new(
                "id",
                format!("{value} is not an id (ids start at 1)"),
            )),
        }
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.value.get()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.value)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}
impl<T> TryFrom<i64> for Id<T> {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<Self, InvalidValue> {
        Id::new(value)
    }
}

impl<T: Table> Field for Id<T> {
    const TYPE: FieldType = FieldType::Ref { table: T::NAME };
    fn to_value(&self) -> Value {
        Value::Integer(self.get())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        integer(value, "id")
    }
}

/// The id of a row of table `T`, stored without a foreign key (see [`FieldType::SoftRef`]):
/// the row may be gone, and the reader must expect that.
pub struct SoftRef<T>(Id<T>);

impl<T> SoftRef<T> {
    /// Refers to `id`.
    pub fn new(id: Id<T>) -> Self {
        SoftRef(id)
    }
    /// The id referred to.
    pub fn id(self) -> Id<T> {
        self.0
    }
}

impl<T> Clone for SoftRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SoftRef<T> {}
impl<T> PartialEq for SoftRef<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for SoftRef<T> {}
impl<T> fmt::Debug for SoftRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftRef({})", self.0.get())
    }
}
impl<T> From<Id<T>> for SoftRef<T> {
    fn from(id: Id<T>) -> Self {
        SoftRef(id)
    }
}

impl<T: Table> Field for SoftRef<T> {
    const TYPE: FieldType = FieldType::SoftRef { table: T::NAME };
    fn to_value(&self) -> Value {
        Value::Integer(self.0.get())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        integer::<Id<T>>(value, "id").map(SoftRef)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct T;

    #[test]
    fn ids_start_at_one() {
        assert!(Id::<T>::new(0).is_err());
        assert!(Id::<T>::new(-1).is_err());
        assert!(Id::<T>::new(i64::MIN).is_err());
        assert_eq!(Id::<T>::new(1).unwrap().get(), 1);
        assert_eq!(Id::<T>::new(i64::MAX).unwrap().get(), i64::MAX);
        assert!(Id::<T>::new(1).unwrap() < Id::<T>::new(2).unwrap());
    }
}
