//! Every conversion between the core's [`Value`] and JavaScript values.
//!
//! | [`Value`] | bound as | read back (with `{useBigInt: true}`) |
//! |---|---|---|
//! | `Null` | `null` | `null` |
//! | `Integer` in `i32` range | number (sql.js binds it with `sqlite3_bind_int`) | `BigInt` |
//! | `Integer` outside `i32` | `BigInt` (sql.js binds it as its decimal text) | `BigInt` |
//! | `Real` | number | number |
//! | `Text` | string | string |
//! | `Blob` | `Uint8Array` | `Uint8Array` |
//!
//! Two consequences of sql.js's binding rules, both harmless in calstore's schema:
//! - A large integer arrives as TEXT. Columns with INTEGER affinity convert it back exactly
//!   (also in comparisons: `WHERE int_col = $1` applies the column's affinity), but an
//!   expression without affinity (`SELECT $1`) reads it back as TEXT.
//! - sql.js binds a number that is an integer in `i32` range with `sqlite3_bind_int`, so
//!   `Real(2.0)` arrives as INTEGER 2. Columns with REAL affinity store it as 2.0 again.

use calstore_core::{DbError, DbErrorKind, Value};
use js_sys::{Array, BigInt, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// Converts one parameter.
pub fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Integer(i) => match i32::try_from(*i) {
            Ok(small) => JsValue::from(small),
            // `JsValue::from(i64)` is a BigInt.
            Err(_) => JsValue::from(*i),
        },
        Value::Real(f) => JsValue::from_f64(*f),
        Value::Text(s) => JsValue::from_str(s),
        Value::Blob(b) => Uint8Array::from(b.as_slice()).into(),
    }
}

/// Converts a parameter list into the array `Statement.bind` takes (`values[i]` is `?{i+1}`).
pub fn to_js_params(params: &[Value]) -> Array {
    params.iter().map(to_js).collect()
}

fn decode_error(index: usize, found: &'static str, detail: &str) -> DbError {
    DbError::new(
        DbErrorKind::Decode {
            index,
            expected: "a SQLite value",
            found,
        },
        format!("column {index}: sql.js returned {detail}"),
    )
}

/// Converts one column value of a row read with `{useBigInt: true}`.
pub fn from_js(value: &JsValue, index: usize) -> Result<Value, DbError> {
    if value.is_null() || value.is_undefined() {
        Ok(Value::Null)
    } else if value.is_bigint() {
        let big: BigInt = value.clone().unchecked_into();
        i64::try_from(big)
            .map(Value::Integer)
            .map_err(|_| decode_error(index, "BigInt", "an integer outside the 64-bit range"))
    } else if let Some(f) = value.as_f64() {
        Ok(Value::Real(f))
    } else if let Some(s) = value.as_string() {
        Ok(Value::Text(s))
    } else if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        Ok(Value::Blob(bytes.to_vec()))
    } else {
        Err(decode_error(
            index,
            "unknown JavaScript value",
            &format!("{value:?}"),
        ))
    }
}

/// Converts one row (the array `Statement.get` returns).
pub fn row_from_js(row: &Array) -> Result<Vec<Value>, DbError> {
    row.iter()
        .enumerate()
        .map(|(index, v)| from_js(&v, index))
        .collect()
}

/// `{useBigInt: true}`: the config for `Statement.get`.
pub fn get_config() -> JsValue {
    let config = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot throw.
    let _ = js_sys::Reflect::set(&config, &JsValue::from_str("useBigInt"), &JsValue::TRUE);
    config.into()
}
