//! Database URLs: `sqlite:PATH`, `sqlite::memory:` (and, with the PostgreSQL backend,
//! `postgres://…`).

use std::fmt;

/// A parsed database URL.
///
/// `Display` and `Debug` show a PostgreSQL URL with its password masked ([`redact`]), so a
/// URL can be put into any message.
#[derive(Clone, PartialEq, Eq)]
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
            "unsupported database URL {:?} (expected sqlite:PATH, sqlite::memory: or \
             postgres://...)",
            redact(url)
        ))
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::SqliteFile(path) => write!(f, "sqlite:{path}"),
            DbUrl::SqliteMemory => f.write_str("sqlite::memory:"),
            DbUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            DbUrl::SqliteMemory => f.write_str("SqliteMemory"),
            DbUrl::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// What a masked password reads as.
const MASK: &str = "***";

/// `url` with any password masked, for messages: the password of the user information
/// (`postgres://user:secret@host/db` gives `postgres://user:***@host/db`) and the value of
/// every `password=` parameter. Where the text is not a well-formed URL it masks more rather
/// than less: without `://`, everything before the last `@`; with it, from the first `:` of the
/// user information to the last `@` (a password may hold `@` or `/` unescaped).
pub fn redact(url: &str) -> String {
    let mut out = match url.rfind('@') {
        None => url.to_owned(),
        Some(at) => match url.find("://") {
            Some(scheme) if scheme + 3 <= at => {
                let info = &url[scheme + 3..at];
                match info.find(':') {
                    Some(colon) => {
                        format!("{}{MASK}{}", &url[..scheme + 3 + colon + 1], &url[at..])
                    }
                    None => url.to_owned(),
                }
            }
            _ => format!("{MASK}{}", &url[at..]),
        },
    };
    // password=VALUE in a query string (or a key/value connection string).
    let mut from = 0;
    while let Some(found) = out[from..].find("password=") {
        let start = from + found + "password=".len();
        let end = out[start..]
            .find(|c: char| c == '&' || c.is_whitespace())
            .map_or(out.len(), |e| start + e);
        out.replace_range(start..end, MASK);
        from = start + MASK.len();
    }
    out
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

    #[test]
    fn passwords_are_masked() {
        for (url, shown) in [
            (
                "postgres://u:secret@127.0.0.1:5432/db",
                "postgres://u:***@127.0.0.1:5432/db",
            ),
            ("postgresql://u:s@c/r:et@h/db", "postgresql://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h:5432/db", "postgres://h:5432/db"),
            (
                "postgres://u@h/db?password=secret&sslmode=disable",
                "postgres://u@h/db?password=***&sslmode=disable",
            ),
            ("postgres:/u:secret@h/db", "***@h/db"),
            ("postgress//u:secret@h", "***@h"),
            (
                "host=h password=secret user=u",
                "host=h password=*** user=u",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        let url = DbUrl::parse("postgres://u:secret@h/db").unwrap();
        assert_eq!(url.to_string(), "postgres://u:***@h/db");
        assert!(!format!("{url:?}").contains("secret"));
        assert_eq!(
            DbUrl::parse("sqlite:a.db").unwrap().to_string(),
            "sqlite:a.db"
        );
        for bad in [
            "postgres:/u:secret@h/db",
            "mysql://u:secret@h",
            "pg://u:secret@h",
        ] {
            let e = DbUrl::parse(bad).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
