//! Errors in both directions: classifying sql.js exceptions, and the typed `Error` objects
//! the JavaScript API throws.
//!
//! **From sql.js.** sql.js reports errors as `Error(sqlite3_errmsg(db))`, and some misuse as a
//! thrown bare string (`"Statement closed"`, `"Nothing to prepare"`); it exposes no result
//! codes. The kind therefore comes from SQLite's message prefixes, which are stable across
//! SQLite versions. The message is kept as a `String`: a `JsValue` is `!Send` and must not
//! escape into [`calstore_core::DbError`].
//!
//! **To JavaScript** (automerge's pattern): every error an exported method throws is an
//! `Error` whose `name` and `code` are stable and whose `message` is for people:
//!
//! | `name` | `code` | when |
//! |---|---|---|
//! | `InvalidData` | `INVALID_DATA` | bad input (iCalendar, times, durations, arguments), nothing written |
//! | `NotFound` | `NOT_FOUND` | the addressed user, object or quota does not exist |
//! | `AlreadyExists` | `ALREADY_EXISTS` | a row with the same key exists |
//! | `SchemaTooNew` | `SCHEMA_TOO_NEW` | the database was written by a newer calstore (`found`, `known` set) |
//! | `UniqueViolation`, `ForeignKeyViolation`, `NotNullViolation`, `CheckViolation` | `UNIQUE_VIOLATION`, … | a constraint failed |
//! | `Busy` | `BUSY` | the database is locked, or exporting inside a transaction |
//! | `SerializationFailure` | `SERIALIZATION_FAILURE` | a retryable conflict (PostgreSQL only) |
//! | `DecodeError` | `DECODE_ERROR` | a stored value has an unexpected type |
//! | `DatabaseError` | `DATABASE_ERROR` | any other SQLite error |
//! | `ReplayFailed` | `REPLAY_FAILED` | a write-ahead log entry could not be applied on open |
//!
//! The persistence layer in `wasm/js/calstore.js` adds `Locked` (`LOCKED`), `StorageError`
//! (`STORAGE_ERROR`) and `Closed` (`CLOSED`) with the same shape.

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

/// The `name` and `code` of a database error kind.
pub fn db_kind_name(kind: &DbErrorKind) -> (&'static str, &'static str) {
    match kind {
        DbErrorKind::UniqueViolation => ("UniqueViolation", "UNIQUE_VIOLATION"),
        DbErrorKind::ForeignKeyViolation => ("ForeignKeyViolation", "FOREIGN_KEY_VIOLATION"),
        DbErrorKind::NotNullViolation => ("NotNullViolation", "NOT_NULL_VIOLATION"),
        DbErrorKind::CheckViolation => ("CheckViolation", "CHECK_VIOLATION"),
        DbErrorKind::Busy => ("Busy", "BUSY"),
        DbErrorKind::SerializationFailure => ("SerializationFailure", "SERIALIZATION_FAILURE"),
        DbErrorKind::Decode { .. } => ("DecodeError", "DECODE_ERROR"),
        _ => ("DatabaseError", "DATABASE_ERROR"),
    }
}

/// The `name` and `code` of a store error.
pub fn store_error_name(e: &calstore_core::StoreError) -> (&'static str, &'static str) {
    use calstore_core::StoreError;
    match e {
        StoreError::InvalidData(_) => ("InvalidData", "INVALID_DATA"),
        StoreError::NotFound(_) => ("NotFound", "NOT_FOUND"),
        StoreError::AlreadyExists(_) => ("AlreadyExists", "ALREADY_EXISTS"),
        StoreError::SchemaTooNew { .. } => ("SchemaTooNew", "SCHEMA_TOO_NEW"),
        StoreError::Db(db) => db_kind_name(db.kind()),
        _ => ("DatabaseError", "DATABASE_ERROR"),
    }
}

/// A JavaScript `Error` with a stable `name` and `code`.
#[cfg(target_arch = "wasm32")]
pub fn js_error(name: &str, code: &str, message: &str) -> wasm_bindgen::JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(name);
    // Setting a property on a fresh Error cannot throw.
    let _ = js_sys::Reflect::set(
        &error,
        &wasm_bindgen::JsValue::from_str("code"),
        &wasm_bindgen::JsValue::from_str(code),
    );
    error.into()
}

/// The `Error` an exported method throws for a store error. `SchemaTooNew` also carries
/// `found` and `known` (the schema versions).
#[cfg(target_arch = "wasm32")]
pub fn to_js(e: &calstore_core::StoreError) -> wasm_bindgen::JsValue {
    use wasm_bindgen::JsValue;
    let (name, code) = store_error_name(e);
    let message = match e {
        calstore_core::StoreError::InvalidData(m) => m.clone(),
        calstore_core::StoreError::Db(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    let error = js_error(name, code, &message);
    if let calstore_core::StoreError::SchemaTooNew { found, known } = e {
        for (k, v) in [("found", *found), ("known", *known)] {
            // Schema versions are small; an absurd one shows as i32::MAX.
            let v = JsValue::from(i32::try_from(v).unwrap_or(i32::MAX));
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str(k), &v);
        }
    }
    error
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

    #[test]
    fn names_are_stable() {
        use calstore_core::{DbError, StoreError};
        let cases = [
            (StoreError::invalid("x"), "InvalidData", "INVALID_DATA"),
            (StoreError::NotFound("u".into()), "NotFound", "NOT_FOUND"),
            (
                StoreError::AlreadyExists("u".into()),
                "AlreadyExists",
                "ALREADY_EXISTS",
            ),
            (
                StoreError::SchemaTooNew { found: 9, known: 1 },
                "SchemaTooNew",
                "SCHEMA_TOO_NEW",
            ),
            (
                StoreError::Db(DbError::new(DbErrorKind::UniqueViolation, "u")),
                "UniqueViolation",
                "UNIQUE_VIOLATION",
            ),
            (
                StoreError::Db(DbError::new(DbErrorKind::Busy, "b")),
                "Busy",
                "BUSY",
            ),
            (
                StoreError::Db(DbError::new(DbErrorKind::Other, "o")),
                "DatabaseError",
                "DATABASE_ERROR",
            ),
        ];
        for (e, name, code) in cases {
            assert_eq!(store_error_name(&e), (name, code), "{e}");
        }
    }
}
