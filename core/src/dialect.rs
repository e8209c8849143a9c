//! SQL dialect hooks: placeholders and write-transaction syntax.
//!
//! Statements in calstore are written once with PostgreSQL-style `$1..$n` placeholders. For
//! SQLite (and sql.js) they are rendered with `?1..?n`, which SQLite binds by number. DDL differs
//! per dialect and lives in `schema/*.sql`; everything else is shared text.

use std::borrow::Cow;

/// A SQL dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite, native or in-browser.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// Renders a statement written with `$N` placeholders for this dialect.
    ///
    /// `$` inside single-quoted string literals is left alone.
    pub fn render(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Postgres => Cow::Borrowed(sql),
            Dialect::Sqlite => {
                if !sql.contains('$') {
                    return Cow::Borrowed(sql);
                }
                let mut out = String::with_capacity(sql.len());
                let mut in_literal = false;
                let mut chars = sql.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        in_literal = !in_literal;
                        out.push(c);
                    } else if c == '$'
                        && !in_literal
                        && chars.peek().is_some_and(char::is_ascii_digit)
                    {
                        out.push('?');
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
        }
    }

    /// The statement that opens a write transaction.
    ///
    /// SQLite uses `BEGIN IMMEDIATE` so that a writer takes the write lock up front and never
    /// fails with `SQLITE_BUSY` on the lock upgrade in the middle of a transaction.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL READ COMMITTED",
        }
    }

    /// The statement that opens a read-only transaction (a consistent snapshot).
    pub fn begin_read(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN DEFERRED",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_placeholders() {
        assert_eq!(
            Dialect::Sqlite.render("SELECT a FROM t WHERE b = $1 AND c = $12"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12"
        );
        assert_eq!(
            Dialect::Sqlite.render("SELECT '$1' WHERE x = $2"),
            "SELECT '$1' WHERE x = ?2"
        );
        assert_eq!(Dialect::Postgres.render("x = $1"), "x = $1");
    }
}
