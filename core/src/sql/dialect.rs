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
                // Byte by byte: `'`, `$` and the digits are ASCII, so every position where a
                // run is cut is a character boundary; runs between placeholders are copied
                // whole (this runs for every statement, on native SQLite and in the browser).
                let bytes = sql.as_bytes();
                let mut out = String::with_capacity(sql.len());
                let mut in_literal = false;
                let mut run = 0;
                for (i, b) in bytes.iter().enumerate() {
                    match b {
                        b'\'' => in_literal = !in_literal,
                        b'$' if !in_literal && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                            out.push_str(&sql[run..i]);
                            out.push('?');
                            run = i + 1;
                        }
                        _ => {}
                    }
                }
                out.push_str(&sql[run..]);
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
        // Non-ASCII text around placeholders, `$` not followed by a digit, one at the end.
        assert_eq!(
            Dialect::Sqlite.render("SELECT 'é$1😀', \"ø$x\" FROM t WHERE a = $1 || 'å' AND b = $"),
            "SELECT 'é$1😀', \"ø$x\" FROM t WHERE a = ?1 || 'å' AND b = $"
        );
        assert_eq!(Dialect::Sqlite.render("$3"), "?3");
        assert_eq!(Dialect::Sqlite.render("x"), "x");
    }
}
