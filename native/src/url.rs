//! Database URLs: `sqlite:PATH`, `sqlite::memory:` (and, with the PostgreSQL backend,
//! `postgres://…`).

use calstore_core::{DbError, DbErrorKind, Dialect, Row, SqlConnection, Value};

/// A parsed database URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    /// A SQLite database file.
    SqliteFile(String),
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl DbUrl {
    /// Parses a URL; the error names what was expected.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        if url == "sqlite::memory:" {
            return Ok(DbUrl::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: URL has no path (use sqlite:PATH or sqlite::memory:)".into());
            }
            return Ok(DbUrl::SqliteFile(path.to_owned()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        Err(format!(
            "unsupported database URL {url:?} (expected sqlite:PATH, sqlite::memory: or postgres://...)"
        ))
    }
}

/// A connection to any backend compiled in.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyConnection {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(crate::SqliteConnection),
    /// PostgreSQL (boxed: the client is several times larger than a SQLite handle).
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::PgConnection>),
}

/// Opens a connection for `url`.
pub fn connect(url: &DbUrl) -> Result<AnyConnection, DbError> {
    match url {
        #[cfg(feature = "sqlite")]
        DbUrl::SqliteFile(path) => Ok(AnyConnection::Sqlite(crate::SqliteConnection::open(path)?)),
        #[cfg(feature = "sqlite")]
        DbUrl::SqliteMemory => Ok(AnyConnection::Sqlite(
            crate::SqliteConnection::open_in_memory()?,
        )),
        #[cfg(feature = "postgres")]
        DbUrl::Postgres(url) => Ok(AnyConnection::Postgres(Box::new(
            crate::PgConnection::connect(url)?,
        ))),
        #[allow(unreachable_patterns)]
        other => Err(DbError::new(
            DbErrorKind::Other,
            format!("this build has no backend for {other:?}"),
        )),
    }
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            AnyConnection::Sqlite($c) => $e,
            #[cfg(feature = "postgres")]
            AnyConnection::Postgres($c) => $e,
        }
    };
}

impl SqlConnection for AnyConnection {
    fn dialect(&self) -> Dialect {
        dispatch!(self, c => c.dialect())
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        dispatch!(self, c => c.execute(sql, params))
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        dispatch!(self, c => c.query(sql, params))
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        dispatch!(self, c => c.execute_batch(sql))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_urls() {
        assert_eq!(
            DbUrl::parse("sqlite::memory:").unwrap(),
            DbUrl::SqliteMemory
        );
        assert_eq!(
            DbUrl::parse("sqlite:calstore.db").unwrap(),
            DbUrl::SqliteFile("calstore.db".into())
        );
        assert_eq!(
            DbUrl::parse("postgres://u@127.0.0.1:5432/db").unwrap(),
            DbUrl::Postgres("postgres://u@127.0.0.1:5432/db".into())
        );
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("sqlite:").is_err());
    }
}
