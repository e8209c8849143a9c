//! Columns: [`ColumnDef`] (the declaration) and the traits that tie a Rust value type to its
//! [`FieldType`]: [`Field`] for a value type, [`Column`] for a value type or its `Option`.

use crate::error::DbError;
use crate::sql::{FromValue, Value};

use super::field_type::FieldType;
use super::invalid::InvalidValue;

/// Whether a column must hold a value. Mandatory is the default, as in Orge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// `NOT NULL`; the Rust field is `T`.
    Mandatory,
    /// NULL means unset (never an empty string); the Rust field is `Option<T>`.
    Optional,
}

/// A column default, written into the DDL (for rows inserted by other clients and for
/// columns added by later migrations; calstore's own inserts always give every value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnDefault {
    /// An integer literal.
    Integer(i64),
    /// A text literal (static; must not contain a quote).
    Text(&'static str),
}

/// One column of a [`TableDef`](super::TableDef).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    /// The column name (a static SQL identifier; also the Rust field name).
    pub name: &'static str,
    /// What the column holds.
    pub ty: FieldType,
    /// Mandatory or optional.
    pub presence: Presence,
    /// The DDL default, if any.
    pub default: Option<ColumnDefault>,
}

impl ColumnDef {
    /// The identity column `id` of a table declared with `identity`.
    pub const IDENTITY: ColumnDef = ColumnDef {
        name: "id",
        ty: FieldType::Id,
        presence: Presence::Mandatory,
        default: None,
    };
}

/// A value type of a typed column: built only through its checking constructor, convertible
/// to and from a [`Value`].
pub trait Field: Sized {
    /// The column type.
    const TYPE: FieldType;
    /// The value to bind.
    fn to_value(&self) -> Value;
    /// Reads a stored value back through the same checks as the constructor.
    fn from_value(value: Value) -> Result<Self, InvalidValue>;
}

/// A column's Rust type: a [`Field`] (mandatory) or `Option` of one (optional).
pub trait Column: Sized {
    /// The column type.
    const TYPE: FieldType;
    /// Mandatory or optional.
    const PRESENCE: Presence;
    /// The value to bind (NULL for `None`). Named apart from [`Field::to_value`] so that
    /// both traits can be in scope.
    fn bind(&self) -> Value;
    /// Reads column `index` of a row.
    fn from_column(value: Value, index: usize) -> Result<Self, DbError>;
}

fn decode<T: Field>(value: Value, index: usize) -> Result<T, DbError> {
    // The value is moved into the check; keep its class for the error.
    let found = value.type_name();
    T::from_value(value).map_err(|e| e.into_decode_of(index, found))
}

impl<T: Field> Column for T {
    const TYPE: FieldType = T::TYPE;
    const PRESENCE: Presence = Presence::Mandatory;
    fn bind(&self) -> Value {
        Field::to_value(self)
    }
    fn from_column(value: Value, index: usize) -> Result<Self, DbError> {
        decode(value, index)
    }
}

impl<T: Field> Column for Option<T> {
    const TYPE: FieldType = T::TYPE;
    const PRESENCE: Presence = Presence::Optional;
    fn bind(&self) -> Value {
        self.as_ref().map_or(Value::Null, Field::to_value)
    }
    fn from_column(value: Value, index: usize) -> Result<Self, DbError> {
        match value {
            Value::Null => Ok(None),
            other => decode(other, index).map(Some),
        }
    }
}

/// Every typed value can be read with [`Row::get`](crate::Row::get) in hand-written queries.
impl<T: Field> FromValue for T {
    fn from_value(value: Value, index: usize) -> Result<Self, DbError> {
        decode(value, index)
    }
}

/// Reads an INTEGER column as `T` through `TryFrom<i64>`.
pub(crate) fn integer<T: TryFrom<i64>>(value: Value, what: &'static str) -> Result<T, InvalidValue>
where
    InvalidValue: From<T::Error>,
{
    match value {
        Value::Integer(i) => Ok(T::try_from(i)?),
        other => Err(InvalidValue::new(
            what,
            format!("expected INTEGER, found {}", other.type_name()),
        )),
    }
}

/// Reads a TEXT column.
pub(crate) fn text(value: Value, what: &'static str) -> Result<String, InvalidValue> {
    match value {
        Value::Text(s) => Ok(s),
        other => Err(InvalidValue::new(
            what,
            format!("expected TEXT, found {}", other.type_name()),
        )),
    }
}
