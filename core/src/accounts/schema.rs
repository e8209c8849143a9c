//! The DDL of the account tables, per dialect, for the migrations to run.

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

/// The statements that create the account tables and their indexes in `dialect`, in order,
/// each without a trailing `;`. Independent of the store's schema (no table refers to it),
/// so it can be one migration step of its own.
pub fn ddl(dialect: Dialect) -> Vec<String> {
    TABLES.iter().flat_map(|t| t.ddl(dialect)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dialect: Dialect) -> String {
        ddl(dialect).iter().map(|s| format!("{s};\n")).collect()
    }

    #[test]
    fn declarations_are_valid() {
        for t in TABLES {
            t.validate().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// The accounts DDL, reviewed as text (`golden/accounts.*.sql`).
    #[test]
    fn ddl_sqlite() {
        crate::typed::assert_golden("accounts", "accounts.sqlite.sql", &script(Dialect::Sqlite));
    }

    #[test]
    fn ddl_postgres() {
        crate::typed::assert_golden(
            "accounts",
            "accounts.postgres.sql",
            &script(Dialect::Postgres),
        );
    }
}
