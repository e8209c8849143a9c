//! [`FieldType`]: the closed set of column types, each with its rule in Rust (the constructor
//! of its value type) and its SQL type and CHECK per dialect (generated here, from the same
//! constants the constructors use).
//!
//! Column types are limited to what the shared DML can bind on every backend: SQLite's
//! INTEGER, TEXT and BLOB, PostgreSQL's `BIGINT`, `TEXT COLLATE "C"` and `BYTEA`. PostgreSQL
//! `DOMAIN`s, `ENUM` types, `inet`, `date` and `timestamptz` are deliberately not used: the
//! same statement text and the same [`Value`](crate::Value)s must work on both engines, and a
//! refused value must fail as a CHECK violation (SQLSTATE 23514) rather than as a cast error
//! (see `docs/decisions/0008-typed-tables-and-accounts.md`).

use crate::sql::Dialect;

/// The type of a column: what its values may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// The table's identity: 1, 2, 3, … allocated on insert, never reused (the `id` column).
    Id,
    /// The id of a row of `table` (a foreign key).
    Ref {
        /// The referenced table (its `id` column).
        table: &'static str,
    },
    /// The id of a row of `table`, without a foreign key: for references between tables of
    /// different storage classes (SQLite cannot enforce a foreign key across schemas, and a
    /// memory table must not hold back rows of a disk table).
    SoftRef {
        /// The referenced table.
        table: &'static str,
    },
    /// An integer in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Text of 1 to `max` Unicode scalar values, NFC, without control characters (Orge's
    /// `String[N]`).
    Str {
        /// Most characters (Unicode scalar values) allowed.
        max: usize,
    },
    /// An account login: 3 to 32 of `a-z 0-9 _ . -`.
    Login,
    /// One of a closed set of lower-case names.
    Enum {
        /// The allowed values.
        variants: &'static [&'static str],
    },
    /// An email address (ASCII dot-atom local part, LDH domain).
    Email,
    /// An IPv4 address (8 lower-case hex digits).
    Ipv4,
    /// An IPv4 or IPv6 address (8 or 32 lower-case hex digits; IPv4-mapped IPv6 is stored as
    /// IPv4).
    IpAddr,
    /// A TCP/UDP peer port, 1 to 65535.
    Port,
    /// A UTC instant: microseconds since 1970-01-01T00:00:00Z, up to the end of year 9999.
    Time,
    /// A calendar date `YYYY-MM-DD`, years 0001 to 9999.
    Date,
    /// A telephone number in E.164 form: `+`, then 2 to 15 digits, the first not 0.
    Phone,
    /// An ISO 3166-1 alpha-2 code: 2 upper-case ASCII letters.
    CountryCode,
    /// An Argon2id (version 19) hash in PHC string form.
    PasswordHash,
    /// A 32-byte digest (keyed or not), stored as a BLOB.
    Digest,
    /// A calendar user URI such as `mailto:alf@vega.com`: a scheme, `:`, then no spaces.
    CalendarUri,
}

impl FieldType {
    /// A short name for messages and documentation.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Ref { .. } => "reference",
            FieldType::SoftRef { .. } => "soft reference",
            FieldType::Int { .. } => "bounded integer",
            FieldType::Str { .. } => "bounded string",
            FieldType::Login => "login",
            FieldType::Enum { .. } => "enumeration",
            FieldType::Email => "email address",
            FieldType::Ipv4 => "IPv4 address",
            FieldType::IpAddr => "IP address",
            FieldType::Port => "port",
            FieldType::Time => "UTC time",
            FieldType::Date => "date",
            FieldType::Phone => "E.164 phone number",
            FieldType::CountryCode => "ISO 3166-1 alpha-2 country code",
            FieldType::PasswordHash => "Argon2id PHC string",
            FieldType::Digest => "32-byte digest",
            FieldType::CalendarUri => "calendar URI",
        }
    }

    /// The column type in `dialect`.
    pub fn sql_type(&self, dialect: Dialect) -> &'static str {
        let postgres = dialect == Dialect::Postgres;
        match self {
            FieldType::Id
            | FieldType::Ref { .. }
            | FieldType::SoftRef { .. }
            | FieldType::Int { .. }
            | FieldType::Port
            | FieldType::Time => {
                if postgres {
                    "BIGINT"
                } else {
                    "INTEGER"
                }
            }
            FieldType::Digest => {
                if postgres {
                    "BYTEA"
                } else {
                    "BLOB"
                }
            }
            FieldType::Str { .. }
            | FieldType::Login
            | FieldType::Enum { .. }
            | FieldType::Email
            | FieldType::Ipv4
            | FieldType::IpAddr
            | FieldType::Date
            | FieldType::Phone
            | FieldType::CountryCode
            | FieldType::PasswordHash
            | FieldType::CalendarUri => {
                if postgres {
                    "TEXT COLLATE \"C\""
                } else {
                    "TEXT"
                }
            }
        }
    }
}
