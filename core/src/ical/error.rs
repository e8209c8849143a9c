//! The error of iCalendar parsing and expansion, and how values are quoted in its messages.

/// Error for bad iCalendar input (or an expansion that would exceed its limits). The message
/// names the problem: the line number where possible, the property, and the offending value
/// (truncated to about 60 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IcalError(pub String);

/// Quotes a value for an error message, truncated to 60 characters, with control characters
/// escaped.
pub(crate) fn show(value: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut out = String::from("\"");
    for (i, c) in value.chars().enumerate() {
        if i == MAX_CHARS {
            out.push_str("\"...");
            return out;
        }
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
