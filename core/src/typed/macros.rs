//! `typed_table!` and `typed_enum!`: a record type and its table declared in one place.

/// Declares a record struct and its [`TableDef`](crate::typed::TableDef) together, so that
/// they cannot drift apart: each field is a column, its Rust type gives the column's
/// [`FieldType`](crate::typed::FieldType) and presence (`T` mandatory, `Option<T>` optional),
/// and [`Table`](crate::typed::Table) is implemented with the conversions.
///
/// ```
/// use calstore_core::typed::{BoundedString, CheckDef, IndexDef, IndexKey, StorageClass, Table};
/// use calstore_core::{Dialect, typed_table};
///
/// typed_table! {
///     /// A character of the simulation.
///     pub struct Character in "characters" {
///         /// Its name, up to 15 characters (Orge's String[15]).
///         pub name: BoundedString<15>,
///         /// An optional nickname.
///         pub nickname: Option<BoundedString<15>>,
///     }
///     identity;
///     storage: StorageClass::DiskOnly;
///     uniques: [IndexDef::on("characters_name", &[IndexKey::Lower("name")])];
///     checks: [CheckDef::both("characters_nickname_differs", "nickname <> name")];
/// }
///
/// let ddl = Character::DEF.ddl(Dialect::Sqlite);
/// assert!(ddl[0].starts_with("CREATE TABLE characters (\n    id INTEGER PRIMARY KEY AUTOINCREMENT"));
/// assert!(ddl[0].contains("name TEXT NOT NULL CONSTRAINT characters_name_check CHECK (length(name) BETWEEN 1 AND 15"));
/// assert_eq!(ddl[1], "CREATE UNIQUE INDEX characters_name ON characters (lower(name))");
/// ```
///
/// After the struct come, in this order: `identity;` (optional: an `id` column allocated on
/// insert, the primary key; records are then read as
/// [`Stored<T>`](crate::typed::Stored)), `storage: <StorageClass>;`, and optionally
/// `primary_key: ["a", "b"];` (required without `identity`), `uniques: [IndexDef, …];`,
/// `indexes: [IndexDef, …];`, `checks: [CheckDef, …];`. A field may have a DDL default:
/// `pub slots: Int<1, 8> = ColumnDefault::Integer(1),`.
#[macro_export]
macro_rules! typed_table {
    (
        @impl [$(#[$meta:meta])*] $vis:vis $name:ident $table:literal
        { $( [$(#[$fmeta:meta])*] $fvis:vis $field:ident : $ty:ty $(= $default:expr)? ; )+ }
        [$($identity:tt)*] [$($pk:literal),+] $storage:expr;
        [$($unique:expr),*] [$($index:expr),*] [$($check:expr),*]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )+
        }

        impl $crate::typed::Table for $name {
            const NAME: &'static str = $table;
            const DEF: $crate::typed::TableDef = $crate::typed::TableDef {
                name: $table,
                storage: $storage,
                columns: &[
                    $($identity)*
                    $(
                        $crate::typed::ColumnDef {
                            name: stringify!($field),
                            ty: <$ty as $crate::typed::Column>::TYPE,
                            presence: <$ty as $crate::typed::Column>::PRESENCE,
                            default: $crate::__typed_default!($($default)?),
                        },
                    )+
                ],
                primary_key: &[$($pk),+],
                uniques: &[$($unique),*],
                indexes: &[$($index),*],
                checks: &[$($check),*],
            };

            fn values(&self) -> ::std::vec::Vec<$crate::Value> {
                ::std::vec![ $( <$ty as $crate::typed::Column>::bind(&self.$field) ),+ ]
            }

            #[allow(unused_assignments)]
            fn from_row_at(
                row: &mut $crate::Row,
                first: usize,
            ) -> ::std::result::Result<Self, $crate::DbError> {
                let mut index = first;
                $(
                    let $field = {
                        let value: $crate::Value = row.take(index)?;
                        let decoded = <$ty as $crate::typed::Column>::from_column(value, index)?;
                        index += 1;
                        decoded
                    };
                )+
                Ok($name { $($field),+ })
            }

            fn sql() -> &'static $crate::typed::TableSql {
                static SQL: ::std::sync::LazyLock<$crate::typed::TableSql> =
                    ::std::sync::LazyLock::new(|| {
                        $crate::typed::TableSql::new(&<$name as $crate::typed::Table>::DEF)
                    });
                &SQL
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty $(= $default:expr)? ),+ $(,)?
        }
        identity;
        storage: $storage:expr;
        $(uniques: [$($unique:expr),* $(,)?];)?
        $(indexes: [$($index:expr),* $(,)?];)?
        $(checks: [$($check:expr),* $(,)?];)?
    ) => {
        $crate::typed_table! {
            @impl [$(#[$meta])*] $vis $name $table
            { $( [$(#[$fmeta])*] $fvis $field : $ty $(= $default)? ; )+ }
            [$crate::typed::ColumnDef::IDENTITY,] ["id"] $storage;
            [$($($unique),*)?] [$($($index),*)?] [$($($check),*)?]
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty $(= $default:expr)? ),+ $(,)?
        }
        storage: $storage:expr;
        primary_key: [$($pk:literal),+ $(,)?];
        $(uniques: [$($unique:expr),* $(,)?];)?
        $(indexes: [$($index:expr),* $(,)?];)?
        $(checks: [$($check:expr),* $(,)?];)?
    ) => {
        $crate::typed_table! {
            @impl [$(#[$meta])*] $vis $name $table
            { $( [$(#[$fmeta])*] $fvis $field : $ty $(= $default)? ; )+ }
            [] [$($pk),+] $storage;
            [$($($unique),*)?] [$($($index),*)?] [$($($check),*)?]
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __typed_default {
    () => {
        None
    };
    ($default:expr) => {
        Some($default)
    };
}

/// Declares a closed set of values stored as lower-case text (`CHECK (x IN (…))`), with
/// `as_str`, `FromStr`, `Display` and [`Field`](crate::typed::Field).
///
/// ```
/// use calstore_core::typed_enum;
///
/// typed_enum! {
///     /// How an account stands.
///     pub enum Standing {
///         /// In use.
///         Active = "active",
///         /// Closed.
///         Closed = "closed",
///     }
/// }
/// assert_eq!("closed".parse::<Standing>().unwrap(), Standing::Closed);
/// assert!("banned".parse::<Standing>().is_err());
/// assert_eq!(Standing::VARIANTS, ["active", "closed"]);
/// ```
#[macro_export]
macro_rules! typed_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value as stored, in declaration order.
            pub const VARIANTS: &'static [&'static str] = &[$($text),+];
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::typed::InvalidValue;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::typed::InvalidValue::new(
                        "enumeration",
                        format!(
                            "{:?} is not one of {}",
                            s.chars().take(40).collect::<String>(),
                            Self::VARIANTS.join(", ")
                        ),
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::typed::Field for $name {
            const TYPE: $crate::typed::FieldType =
                $crate::typed::FieldType::Enum { variants: $name::VARIANTS };
            fn to_value(&self) -> $crate::Value {
                $crate::Value::Text(self.as_str().to_owned())
            }
            fn from_value(
                value: $crate::Value,
            ) -> ::std::result::Result<Self, $crate::typed::InvalidValue> {
                match value {
                    $crate::Value::Text(s) => s.parse(),
                    other => Err($crate::typed::InvalidValue::new(
                        "enumeration",
                        format!("expected TEXT, found {}", other.type_name()),
                    )),
                }
            }
        }
    };
}
