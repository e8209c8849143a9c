//! Input checks shared by the store and the journal. Every write validates before it writes.

use crate::error::{Result, StoreError};

/// Longest accepted user URI, quota or group name, in bytes.
pub const MAX_NAME_LEN: usize = 1024;
/// Longest accepted short text field (uid, summary, organiser, ...), in bytes.
pub const MAX_FIELD_LEN: usize = 64 * 1024;
/// Longest accepted object text (a serialised VEVENT), in bytes.
pub const MAX_OBJECT_LEN: usize = 1024 * 1024;

fn shorten(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    s
}

/// A text field: bounded length, no NUL or control characters other than tab and line breaks.
pub fn text_field(name: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(StoreError::invalid(format!(
            "{name} is {} bytes long; the limit is {max}",
            value.len()
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(StoreError::invalid(format!(
            "{name} {:?} contains the control character U+{:04X}",
            shorten(value),
            u32::from(c)
        )));
    }
    Ok(())
}

/// A name used as a key (uid, group, quota): non-empty, bounded, no control characters.
pub fn name(kind: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(StoreError::invalid(format!("{kind} is empty")));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "{kind} {:?} contains a control character",
            shorten(value)
        )));
    }
    text_field(kind, value, MAX_NAME_LEN)
}

/// A calendar user: a URI such as `mailto:paul@example.com` (a scheme, a colon, and more).
pub fn user(value: &str) -> Result<()> {
    name("user", value)?;
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok || value.chars().any(char::is_whitespace) {
        return Err(StoreError::invalid(format!(
            "user {:?} is not a calendar URI (expected e.g. mailto:name@example.com)",
            shorten(value)
        )));
    }
    Ok(())
}

/// A uid: non-empty and bounded (the iCalendar parser applies the same limit).
pub fn uid(value: &str) -> Result<()> {
    name("uid", value)
}

/// An optional recurrence id.
pub fn rid(value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |r| name("recurrence id", r))
}

/// Object text: bounded and free of NUL.
pub fn object_text(value: &str) -> Result<()> {
    text_field("object text", value, MAX_OBJECT_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert!(user("mailto:paul@example.com").is_ok());
        assert!(user("paul").is_err());
        assert!(user("mailto:").is_err());
        assert!(user("mailto:a b").is_err());
        assert!(user("").is_err());
        assert!(user(&format!("mailto:{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn fields() {
        assert!(text_field("summary", "line\nbreak", 100).is_ok());
        assert!(text_field("summary", "nul\0", 100).is_err());
        assert!(uid("x'); DROP TABLE objects;--").is_ok());
        assert!(uid("").is_err());
    }
}
