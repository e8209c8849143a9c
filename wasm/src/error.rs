//! Classifying sql.js exceptions.
//!
//! sql.js reports errors as `Error(sqlite3_errmsg(db))`, and some misuse as a thrown bare
//! string (`"Statement closed"`, `"Nothing to prepare"`); it exposes no result codes. The kind
//! therefore comes from SQLite's message prefixes, which are stable across SQLite versions.
//! The message is kept as a `String`: a `JsValue` is `!Send` and must not escape into
//! [`calstore_core::DbError`].

use calstore_core::DbErrorKind;

/// SQLite message prefixes and the kinds they mean.
const PREFIXES: &[(&str, DbErrorKind)] = &[
    ("UNIQUE constraint failed", DbErrorKind::UniqueViolation),
    ("NOT NULL constraint failed", DbErrorKind::NotNullViolation),
    ("CHECK constraint failed", DbErrorKind::CheckViolation),
    (
        "FOREIGN KEY constraint failed",
        DbErrorKind::ForeignKeyViolation,
    ),
    // SQLITE_BUSY and SQLITE_LOCKED, as the native adapter classifies them.
    ("database is locked", DbErrorKind::Busy),
    ("database table is locked", DbErrorKind::Busy),
];

/// The kind of a SQLite error message.
pub fn kind_from_message(message: &str) -> DbErrorKind {
    PREFIXES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or(DbErrorKind::Other, |(_, kind)| kind.clone())
}

/// Converts whatever sql.js threw into a classified [`calstore_core::DbError`].
#[cfg(target_arch = "wasm32")]
pub fn classify(thrown: &wasm_bindgen::JsValue) -> calstore_core::DbError {
    let message = message_of(thrown);
    calstore_core::DbError::new(kind_from_message(&message), message)
}

/// The message of a thrown `Error` (or error-like object), or the thrown string itself.
#[cfg(target_arch = "wasm32")]
fn message_of(thrown: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    if let Some(s) = thrown.as_string() {
        return s;
    }
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    // An error object from another realm fails `instanceof Error` but still has a message.
    if let Some(s) = js_sys::Reflect::get(thrown, &wasm_bindgen::JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
    {
        return s;
    }
    format!("sql.js threw {thrown:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        for (msg, kind) in [
            (
                "UNIQUE constraint failed: objects.store_user, objects.uid",
                DbErrorKind::UniqueViolation,
            ),
            (
                "NOT NULL constraint failed: objects.text",
                DbErrorKind::NotNullViolation,
            ),
            (
                "CHECK constraint failed: x > 0",
                DbErrorKind::CheckViolation,
            ),
            (
                "FOREIGN KEY constraint failed",
                DbErrorKind::ForeignKeyViolation,
            ),
            ("database is locked", DbErrorKind::Busy),
            ("database table is locked: t", DbErrorKind::Busy),
            ("no such table: nope", DbErrorKind::Other),
            ("Statement closed", DbErrorKind::Other),
            ("near \"SELEC\": syntax error", DbErrorKind::Other),
        ] {
            assert_eq!(kind_from_message(msg), kind, "{msg}");
        }
    }
}
