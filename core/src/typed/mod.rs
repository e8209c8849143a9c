//! Typed tables: a table declared once in Rust, from which the record type, its
//! conversions and the DDL of every dialect are derived (spec §C.1, Orge's typed fields).
//!
//! - [`FieldType`]: the closed set of column types. Each has a Rust value type whose
//!   constructor refuses invalid input ("parse, don't validate") and an equivalent CHECK
//!   in both dialects, generated from the same constants.
//! - Value types, one per file: [`Id`]/[`SoftRef`], [`Int`], [`BoundedString`], [`Login`],
//!   [`EmailAddress`], [`IpAddress`]/[`Ipv4Address`], [`Port`], [`UtcTime`], [`Date`],
//!   [`Phone`], [`CountryCode`], [`PasswordHash`], [`Digest`], [`CalendarUri`], and enums
//!   declared with [`typed_enum!`](crate::typed_enum).
//! - [`ColumnDef`], [`TableDef`] (with [`StorageClass`], honoured by
//!   [`schema::storage`](crate::schema::storage)),
//!   [`IndexDef`], [`CheckDef`]; [`TableDef::ddl`] gives `CREATE TABLE` (SQLite `STRICT`,
//!   `CHECK`, `NOT NULL`, `REFERENCES`; PostgreSQL identity columns) and `CREATE INDEX`.
//! - [`typed_table!`](crate::typed_table) declares a record struct and its `TableDef`
//!   together, so they cannot drift; [`rows`] reads and writes records.
//!
//! Every rule is enforced twice: in Rust before a value exists, and by the database for
//! every other writer (raw SQL, other clients, migrations). Where an engine cannot express
//! the whole rule, the value type's documentation says what the database does not check.

mod checks;
mod column;
mod country;
mod date;
mod ddl;
mod digest;
mod email;
mod field_type;
mod id;
mod int;
mod invalid;
mod ip;
mod login;
mod macros;
mod password_hash;
mod phone;
mod port;
pub mod rows;
mod string;
mod table;
mod time;
mod uri;

#[cfg(test)]
mod tests;

/// Compares generated DDL with `src/<dir>/golden/<name>`; `CALSTORE_BLESS=1` rewrites the
/// file instead (then review the diff).
#[cfg(test)]
pub(crate) fn assert_golden(dir: &str, name: &str, actual: &str) {
    assert_golden_file(&[dir, "golden", name], actual);
}

/// Compares generated text with the file `src/<parts…>`; `CALSTORE_BLESS=1` rewrites it.
#[cfg(test)]
pub(crate) fn assert_golden_file(parts: &[&str], actual: &str) {
    let mut path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for p in parts {
        path.push(p);
    }
    if std::env::var_os("CALSTORE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "generated DDL differs from {} (CALSTORE_BLESS=1 regenerates it)",
        path.display()
    );
}

pub use column::{Column, ColumnDef, ColumnDefault, Field, Presence};
pub use country::CountryCode;
pub use date::Date;
pub use ddl::DdlForm;
pub use digest::Digest;
pub use email::EmailAddress;
pub use field_type::FieldType;
pub use id::{Id, SoftRef};
pub use int::Int;
pub use invalid::InvalidValue;
pub use ip::{IpAddress, Ipv4Address};
pub use login::Login;
pub use password_hash::PasswordHash;
pub use phone::Phone;
pub use port::Port;
pub use rows::Stored;
pub use string::BoundedString;
pub use table::{CheckDef, IndexDef, IndexKey, StorageClass, Table, TableDef, TableSql};
pub use time::UtcTime;
pub use uri::CalendarUri;
