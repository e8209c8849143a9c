//! The DDL of the account tables, per dialect: the migration of the
//! [`ACCOUNTS`](crate::schema::ACCOUNTS) component is generated from it.

use crate::schema::storage;
use crate::sql::Dialect;
use crate::typed::{Table, TableDef};

use super::tables::{Account, CalendarGrant, Connection, LiveSession, PasswordReset, Throttle};

/// The account tables, in creation order (referenced tables first).
pub const TABLES: &[TableDef] = &[
    Account::DEF,
    CalendarGrant::DEF,
    PasswordReset::DEF,
    Connection::DEF,
    LiveSession::DEF,
    Throttle::DEF,
];

/// The statements of the accounts component's migration in `dialect`, in order, each without
/// a trailing `;`: the disk tables and their indexes; on PostgreSQL also the memory tables
/// (`UNLOGGED`, with logged snapshot copies: [`storage::postgres_memory_ddl`]). On SQLite the
/// memory tables are created at every open, in the attached in-memory schema, by the
/// storage backend. Independent of the store's schema (no table refers to it).
pub fn ddl(dialect: Dialect) -> Vec<String> {
    let mut out: Vec<String> = TABLES
        .iter()
        .filter(|t| !t.storage.is_memory())
        .flat_map(|t| t.ddl(dialect))
        .collect();
    if dialect == Dialect::Postgres {
        out.extend(storage::postgres_memory_ddl(TABLES));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_valid() {
        for t in TABLES {
            t.validate().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Memory tables refer to others by `SoftRef` only: no foreign key may cross from the
    /// memory schema to the disk one (SQLite cannot enforce it), nor point at a memory table.
    #[test]
    fn no_reference_crosses_storage() {
        use crate::typed::FieldType;
        for t in TABLES {
            for c in t.columns {
                if let FieldType::Ref { table } = c.ty {
                    let target = TABLES.iter().find(|d| d.name == table).unwrap();
                    assert!(
                        !t.storage.is_memory() && !target.storage.is_memory(),
                        "{}.{} references {table} across storage classes",
                        t.name,
                        c.name
                    );
                }
            }
        }
    }
}
