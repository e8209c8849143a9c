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

use calstore_core::{DbError, DbErrorKind, Row, Value};
use js_sys::{Array, BigInt, BigInt64Array, Float64Array, Uint8Array, Uint32Array};
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

/// The rows [`crate::sqljs::collect_rows`] packed: `[[rows, columns], kinds, ints, reals,
/// text, lengths, blobs]`, unpacked into `Row`s (one copy per typed array, one string for all the
/// text).
pub fn rows_from_packed(packed: &Array) -> Result<Vec<Row>, DbError> {
    let malformed = |what: &str| {
        DbError::new(
            DbErrorKind::Other,
            format!("sql.js rows: {what} missing from the packed result"),
        )
    };
    let shape = packed
        .get(0)
        .dyn_into::<Uint32Array>()
        .map_err(|_| malformed("the row and column counts"))?
        .to_vec();
    let (rows, columns) = match shape[..] {
        [rows, columns] => (
            usize::try_from(rows).map_err(|_| malformed("the row count"))?,
            usize::try_from(columns).map_err(|_| malformed("the column count"))?,
        ),
        _ => return Err(malformed("the row and column counts")),
    };
    let kinds = packed
        .get(1)
        .dyn_into::<Uint8Array>()
        .map_err(|_| malformed("kinds"))?
        .to_vec();
    let ints = packed
        .get(2)
        .dyn_into::<BigInt64Array>()
        .map_err(|_| malformed("integers"))?
        .to_vec();
    let reals = packed
        .get(3)
        .dyn_into::<Float64Array>()
        .map_err(|_| malformed("reals"))?
        .to_vec();
    let text = packed.get(4).as_string().ok_or_else(|| malformed("text"))?;
    let lengths = packed
        .get(5)
        .dyn_into::<Uint32Array>()
        .map_err(|_| malformed("text lengths"))?
        .to_vec();
    let blobs: Array = packed.get(6).dyn_into().map_err(|_| malformed("blobs"))?;
    if kinds.len() != rows.saturating_mul(columns) {
        return Err(malformed("a value"));
    }
    if columns == 0 {
        return Ok((0..rows).map(|_| Row::new(Vec::new())).collect());
    }
    let (mut int, mut real, mut blob) = (ints.into_iter(), reals.into_iter(), 0);
    let mut texts = lengths.into_iter();
    let mut rest = text.as_str();
    // In ASCII text (the usual case: times, uids, addresses) a UTF-16 code unit is a byte, so
    // a value's length is its length in bytes and no character has to be walked.
    let ascii = rest.is_ascii();
    let mut out = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(columns);
    for (i, kind) in kinds.into_iter().enumerate() {
        let index = i % columns;
        values.push(match kind {
            0 => Value::Null,
            1 => Value::Integer(int.next().ok_or_else(|| malformed("an integer"))?),
            2 => Value::Real(real.next().ok_or_else(|| malformed("a real"))?),
            3 => {
                let units = texts.next().ok_or_else(|| malformed("a text length"))?;
                let split = if ascii {
                    usize::try_from(units)
                        .ok()
                        .filter(|n| *n <= rest.len())
                        .map(|n| rest.split_at(n))
                } else {
                    split_utf16(rest, units)
                };
                let (head, tail) = split.ok_or_else(|| malformed("a text"))?;
                rest = tail;
                Value::Text(head.to_owned())
            }
            4 => {
                let bytes: Uint8Array = blobs
                    .get(blob)
                    .dyn_into()
                    .map_err(|_| malformed("a blob"))?;
                blob += 1;
                Value::Blob(bytes.to_vec())
            }
            _ => {
                return Err(decode_error(
                    index,
                    "unknown JavaScript value",
                    "a value that is not null, BigInt, number, string or Uint8Array",
                ));
            }
        });
        if values.len() == columns {
            out.push(Row::new(std::mem::replace(
                &mut values,
                Vec::with_capacity(columns),
            )));
        }
    }
    Ok(out)
}

/// Splits `s` after its first `units` UTF-16 code units (JavaScript's string length), or
/// `None` if that is not a character boundary within `s`.
fn split_utf16(s: &str, units: u32) -> Option<(&str, &str)> {
    let mut seen = 0u32;
    for (at, c) in s.char_indices() {
        if seen == units {
            return Some(s.split_at(at));
        }
        seen += u32::try_from(c.len_utf16()).ok()?;
    }
    (seen == units).then_some((s, ""))
}

/// `{useBigInt: true}`: the config for `Statement.get`.
pub fn get_config() -> JsValue {
    let config = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot throw.
    let _ = js_sys::Reflect::set(&config, &JsValue::from_str("useBigInt"), &JsValue::TRUE);
    config.into()
}

// ---- the JavaScript API's values ------------------------------------------------------------
//
// Everything `api.rs` takes from or gives to JavaScript goes through the functions below, so
// the exported methods stay thin. Times cross as calstore stores them, UTC text
// `YYYYMMDDTHHMMSSZ`; inputs also accept `YYYYMMDD` (midnight UTC), a `Date` or milliseconds
// since the epoch. Missing optional values are `null` in outputs and `null` or `undefined` in
// inputs. Bad input is a `StoreError::InvalidData` naming the argument, so it reaches
// JavaScript as an `InvalidData` error like any other rejected input.

use std::collections::BTreeMap;

use calstore_core::ical::datetime::{format_utc, parse_utc};
use calstore_core::ical::parse_tz;
use calstore_core::{
    Change, DeclineReason, Entry, ImportReport, Offer, Operation, Period, Providers, QuotaDecision,
    Request, StoreError,
};
use chrono::{DateTime, NaiveDate, Utc};
use js_sys::{Function, Object, Reflect};

use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::to_js as store_error_to_js;
use crate::json;
use crate::records::Records;

/// Result of a conversion: bad input is [`StoreError::InvalidData`].
pub type Conv<T> = Result<T, StoreError>;

fn bad(what: &str, expected: &str, got: &JsValue) -> StoreError {
    let shown = if got.is_undefined() {
        "undefined".to_owned()
    } else if let Some(s) = got.as_string() {
        let cut: String = s.chars().take(60).collect();
        format!("{cut:?}")
    } else {
        got.js_typeof()
            .as_string()
            .unwrap_or_else(|| "a value".into())
    };
    StoreError::invalid(format!("{what}: expected {expected}, got {shown}"))
}

/// True for `null` and `undefined`.
pub fn is_none(v: &JsValue) -> bool {
    v.is_null() || v.is_undefined()
}

/// `obj[key]`; `undefined` when `obj` is not an object.
pub fn prop(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Fails unless `v` is an object, `null` or `undefined` (an options argument).
pub fn options(v: &JsValue, what: &str) -> Conv<()> {
    if is_none(v) || v.is_object() {
        Ok(())
    } else {
        Err(bad(what, "an object", v))
    }
}

/// A required string.
pub fn string(v: &JsValue, what: &str) -> Conv<String> {
    v.as_string().ok_or_else(|| bad(what, "a string", v))
}

/// An optional string.
pub fn opt_string(v: &JsValue, what: &str) -> Conv<Option<String>> {
    if is_none(v) {
        Ok(None)
    } else {
        string(v, what).map(Some)
    }
}

/// An optional boolean.
pub fn opt_bool(v: &JsValue, what: &str) -> Conv<Option<bool>> {
    if is_none(v) {
        Ok(None)
    } else {
        v.as_bool()
            .map(Some)
            .ok_or_else(|| bad(what, "a boolean", v))
    }
}

/// An `f64` that is an integer of at most 2^53 in magnitude, as `i64`.
pub fn f64_to_i64(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= LIMIT {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked above: integral and within ±2^53, so exact"
        )]
        Some(f as i64)
    } else {
        None
    }
}

/// A required integer: a number that is an integer, or a `BigInt` in the `i64` range.
pub fn integer(v: &JsValue, what: &str) -> Conv<i64> {
    if v.is_bigint() {
        let big: BigInt = v.clone().unchecked_into();
        return i64::try_from(big).map_err(|_| bad(what, "a 64-bit integer", v));
    }
    v.as_f64()
        .and_then(f64_to_i64)
        .ok_or_else(|| bad(what, "an integer", v))
}

/// An optional non-negative integer.
pub fn opt_count(v: &JsValue, what: &str) -> Conv<Option<u64>> {
    if is_none(v) {
        return Ok(None);
    }
    let n = integer(v, what)?;
    u64::try_from(n)
        .map(Some)
        .map_err(|_| bad(what, "a non-negative integer", v))
}

/// An instant from milliseconds since the epoch.
pub fn from_millis(ms: f64) -> Option<DateTime<Utc>> {
    f64_to_i64(ms.floor()).and_then(DateTime::from_timestamp_millis)
}

/// A time: `YYYYMMDDTHHMMSSZ`, `YYYYMMDD` (midnight UTC), a `Date`, or milliseconds since
/// the epoch.
pub fn time(v: &JsValue, what: &str) -> Conv<DateTime<Utc>> {
    const EXPECTED: &str = "a time (YYYYMMDDTHHMMSSZ, YYYYMMDD, a Date or epoch milliseconds)";
    if let Some(s) = v.as_string() {
        if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            return NaiveDate::parse_from_str(&s, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
                .ok_or_else(|| bad(what, "an existing day", v));
        }
        return parse_utc(&s).map_err(|e| StoreError::invalid(format!("{what}: {}", e.0)));
    }
    let millis = if let Some(date) = v.dyn_ref::<js_sys::Date>() {
        date.get_time()
    } else if let Some(n) = v.as_f64() {
        n
    } else {
        return Err(bad(what, EXPECTED, v));
    };
    from_millis(millis).ok_or_else(|| bad(what, EXPECTED, v))
}

/// An optional time.
pub fn opt_time(v: &JsValue, what: &str) -> Conv<Option<DateTime<Utc>>> {
    if is_none(v) {
        Ok(None)
    } else {
        time(v, what).map(Some)
    }
}

/// iCalendar input: a string or the bytes of one (`Uint8Array`).
pub fn ical_bytes(v: &JsValue, what: &str) -> Conv<Vec<u8>> {
    if let Some(s) = v.as_string() {
        Ok(s.into_bytes())
    } else if let Some(b) = v.dyn_ref::<Uint8Array>() {
        Ok(b.to_vec())
    } else {
        Err(bad(what, "iCalendar text (a string or a Uint8Array)", v))
    }
}

/// A time zone name (IANA, or UTC).
pub fn zone(v: &JsValue, what: &str) -> Conv<Option<chrono_tz::Tz>> {
    match opt_string(v, what)? {
        None => Ok(None),
        Some(name) => parse_tz(&name)
            .map(Some)
            .map_err(|e| StoreError::invalid(format!("{what}: {}", e.0))),
    }
}

/// A time zone name given as an optional string; UTC when absent.
pub fn zone_name(name: Option<&str>, what: &str) -> Conv<chrono_tz::Tz> {
    match name {
        None => Ok(chrono_tz::Tz::UTC),
        Some(name) => parse_tz(name).map_err(|e| StoreError::invalid(format!("{what}: {}", e.0))),
    }
}

/// True if `v` looks like a sql.js `Database` (has `prepare`, `run` and `export`).
pub fn is_sqljs_database(v: &JsValue) -> bool {
    ["prepare", "run", "export"]
        .iter()
        .all(|m| prop(v, m).is_function())
}

fn array_items(v: &JsValue, what: &str) -> Conv<Vec<JsValue>> {
    if Array::is_array(v) {
        Ok(Array::from(v).iter().collect())
    } else {
        Err(bad(what, "an array", v))
    }
}

/// An array of strings.
pub fn strings(v: &JsValue, what: &str) -> Conv<Vec<String>> {
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{what}[{i}]")))
        .collect()
}

/// A plain object of string values (`{group: limit}`, `{user: group}`).
pub fn string_map(v: &JsValue, what: &str) -> Conv<BTreeMap<String, String>> {
    if !v.is_object() || Array::is_array(v) {
        return Err(bad(what, "an object of strings", v));
    }
    let mut map = BTreeMap::new();
    for entry in Object::entries(v.unchecked_ref::<Object>()).iter() {
        let pair = Array::from(&entry);
        let key = string(&pair.get(0), what)?;
        let value = string(&pair.get(1), &format!("{what}[{key:?}]"))?;
        map.insert(key, value);
    }
    Ok(map)
}

/// A period: `{start, end, uid?, recurrenceid?, transp?, summary?, organiser?}`.
pub fn period(v: &JsValue, what: &str) -> Conv<Period> {
    if !v.is_object() {
        return Err(bad(what, "a period object", v));
    }
    let field = |k: &str| opt_string(&prop(v, k), &format!("{what}.{k}"));
    Ok(Period {
        start: time(&prop(v, "start"), &format!("{what}.start"))?,
        end: time(&prop(v, "end"), &format!("{what}.end"))?,
        uid: field("uid")?,
        transp: field("transp")?,
        recurrenceid: field("recurrenceid")?,
        summary: field("summary")?,
        organiser: field("organiser")?,
    })
}

/// An array of periods.
pub fn periods(v: &JsValue, what: &str) -> Conv<Vec<Period>> {
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, p)| period(p, &format!("{what}[{i}]")))
        .collect()
}

/// An array of offers: periods with an optional `expires` time.
pub fn offers_in(v: &JsValue, what: &str) -> Conv<Vec<Offer>> {
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let what = format!("{what}[{i}]");
            Ok(Offer {
                period: period(o, &what)?,
                expires: opt_time(&prop(o, "expires"), &format!("{what}.expires"))?,
            })
        })
        .collect()
}

/// An array of requests: `{uid, rid?, kind?}`.
pub fn requests_in(v: &JsValue, what: &str) -> Conv<Vec<Request>> {
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let what = format!("{what}[{i}]");
            Ok(Request {
                uid: string(&prop(r, "uid"), &format!("{what}.uid"))?,
                rid: opt_string(&prop(r, "rid"), &format!("{what}.rid"))?,
                kind: opt_string(&prop(r, "kind"), &format!("{what}.kind"))?,
            })
        })
        .collect()
}

/// An array of `{uid, rid?}`.
pub fn objects_in(v: &JsValue, what: &str) -> Conv<Vec<(String, Option<String>)>> {
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let what = format!("{what}[{i}]");
            Ok((
                string(&prop(o, "uid"), &format!("{what}.uid"))?,
                opt_string(&prop(o, "rid"), &format!("{what}.rid"))?,
            ))
        })
        .collect()
}

/// An array of log entries (`Uint8Array`s).
pub fn byte_arrays(v: &JsValue, what: &str) -> Conv<Vec<Vec<u8>>> {
    if is_none(v) {
        return Ok(Vec::new());
    }
    array_items(v, what)?
        .iter()
        .enumerate()
        .map(|(i, b)| {
            b.dyn_ref::<Uint8Array>()
                .map(Uint8Array::to_vec)
                .ok_or_else(|| bad(&format!("{what}[{i}]"), "a Uint8Array", b))
        })
        .collect()
}

/// Calls a progress callback `(done, total)`; what it throws or returns is ignored (an
/// import cannot be interrupted half-way: it is one transaction).
pub fn call_progress(f: &Function, done: usize, total: usize) {
    let n = |x: usize| JsValue::from(u32::try_from(x).unwrap_or(u32::MAX));
    let _ = f.call2(&JsValue::UNDEFINED, &n(done), &n(total));
}

/// An optional function.
pub fn opt_function(v: &JsValue, what: &str) -> Conv<Option<Function>> {
    if is_none(v) {
        Ok(None)
    } else {
        v.dyn_ref::<Function>()
            .cloned()
            .map(Some)
            .ok_or_else(|| bad(what, "a function", v))
    }
}

// ---- Rust → JavaScript ------------------------------------------------------------------

/// Builds a plain object.
#[derive(Debug)]
pub struct Obj(Object);

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Obj(Object::new())
    }

    /// Sets `key` (cannot fail on a plain object).
    pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// The object.
    pub fn build(self) -> JsValue {
        self.0.into()
    }
}

impl Default for Obj {
    fn default() -> Self {
        Self::new()
    }
}

/// A string or `null`.
pub fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// A number (exact up to 2^53: revisions, durations in seconds, counts).
pub fn number(n: i64) -> JsValue {
    #[allow(
        clippy::cast_precision_loss,
        reason = "exact up to 2^53, far above any count here"
    )]
    JsValue::from_f64(n as f64)
}

/// A count.
pub fn count(n: u64) -> JsValue {
    number(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A count.
pub fn usize_count(n: usize) -> JsValue {
    count(u64::try_from(n).unwrap_or(u64::MAX))
}

/// A time as stored: `YYYYMMDDTHHMMSSZ`.
pub fn time_out(t: DateTime<Utc>) -> JsValue {
    JsValue::from_str(&format_utc(t))
}

/// Parses JSON text written by [`crate::json`]: a whole list result in one call into
/// JavaScript (see that module for why).
fn from_json(text: &str) -> JsValue {
    // The text is well-formed by construction; should JSON.parse ever throw, the caller gets
    // null rather than a panic.
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

/// An array of strings.
pub fn string_array<S: AsRef<str>>(items: &[S]) -> JsValue {
    from_json(&json::array(items, |out, s| json::string(out, s.as_ref())))
}

/// A plain object of strings.
pub fn string_map_out(map: &BTreeMap<String, String>) -> JsValue {
    map.iter()
        .fold(Obj::new(), |o, (k, v)| o.set(k, v.as_str()))
        .build()
}

// Building list results from packed records (`crate::records`): the values' text, sliced at
// the end offsets, into objects of a fixed shape. `calstore_periods` writes its seven fields
// as one object literal, so every object gets the same hidden class from the start; `extra`
// names an eighth field (offers' `expires`, quota entries' `attendee`). `calstore_records` is
// the general form for other shapes (`keys` comma-separated).
#[wasm_bindgen(inline_js = r#"
export function calstore_periods(text, ends, extra) {
  const n = extra ? 8 : 7;
  const out = new Array(Math.floor(ends.length / n));
  let at = 0;
  const next = (i) => {
    const e = ends[i];
    if (e < 0) return null;
    const v = text.slice(at, e);
    at = e;
    return v;
  };
  for (let r = 0, i = 0; r < out.length; r += 1, i += n) {
    const o = {
      start: next(i),
      end: next(i + 1),
      uid: next(i + 2),
      recurrenceid: next(i + 3),
      transp: next(i + 4),
      summary: next(i + 5),
      organiser: next(i + 6),
    };
    if (extra) o[extra] = next(i + 7);
    out[r] = o;
  }
  return out;
}

const keyLists = new Map();
export function calstore_records(keys, text, ends) {
  let names = keyLists.get(keys);
  if (names === undefined) {
    names = keys.split(",");
    keyLists.set(keys, names);
  }
  const n = names.length;
  const out = new Array(Math.floor(ends.length / n));
  let at = 0;
  for (let r = 0, i = 0; r < out.length; r += 1) {
    const o = {};
    for (let k = 0; k < n; k += 1, i += 1) {
      const e = ends[i];
      if (e < 0) {
        o[names[k]] = null;
      } else {
        o[names[k]] = text.slice(at, e);
        at = e;
      }
    }
    out[r] = o;
  }
  return out;
}
"#)]
extern "C" {
    /// Objects `{start, end, uid, recurrenceid, transp, summary, organiser}` (and `extra`, when
    /// given, as an eighth field) from packed records.
    fn calstore_periods(text: &str, ends: &[i32], extra: Option<&str>) -> JsValue;
    /// Objects with the fields `keys` (comma-separated) from packed records.
    fn calstore_records(keys: &str, text: &str, ends: &[i32]) -> JsValue;
}

fn too_long() -> JsValue {
    store_error_to_js(&StoreError::invalid(
        "a result too large to hand to JavaScript (over 2^31 UTF-16 code units)",
    ))
}

/// A period's seven fields, in the CLI's `--format json` order.
fn period_record(r: &mut Records, p: &Period) {
    r.time(p.start);
    r.time(p.end);
    r.opt_str(p.uid.as_deref());
    r.opt_str(p.recurrenceid.as_deref());
    r.opt_str(p.transp.as_deref());
    r.opt_str(p.summary.as_deref());
    r.opt_str(p.organiser.as_deref());
}

/// Periods packed, then built in JavaScript with an optional eighth field.
fn periods_with<T>(
    items: &[T],
    extra: Option<&str>,
    mut write: impl FnMut(&mut Records, &T),
) -> Result<JsValue, JsValue> {
    let fields = 7 + usize::from(extra.is_some());
    let mut r = Records::with_capacity(items.len().saturating_mul(fields), 20);
    for item in items {
        write(&mut r, item);
    }
    let (text, ends) = r.finish().map_err(|_| too_long())?;
    Ok(calstore_periods(text, ends, extra))
}

/// Periods in the CLI's `--format json` shape.
pub fn periods_out(periods: &[Period]) -> Result<JsValue, JsValue> {
    periods_with(periods, None, period_record)
}

/// Offers: periods with `expires`.
pub fn offers_out(offers: &[Offer]) -> Result<JsValue, JsValue> {
    periods_with(offers, Some("expires"), |r, o| {
        period_record(r, &o.period);
        r.opt_time(o.expires);
    })
}

/// Quota entries: periods with `attendee`.
pub fn entries_out(entries: &[Entry]) -> Result<JsValue, JsValue> {
    periods_with(entries, Some("attendee"), |r, e| {
        period_record(r, &e.period);
        r.opt_str(e.attendee.as_deref());
    })
}

/// Records with the fields `keys` (comma-separated, `fields` of them), built in JavaScript.
fn records_out<T>(
    items: &[T],
    keys: &str,
    fields: usize,
    mut write: impl FnMut(&mut Records, &T),
) -> Result<JsValue, JsValue> {
    let mut r = Records::with_capacity(items.len().saturating_mul(fields), 24);
    for item in items {
        write(&mut r, item);
    }
    let (text, ends) = r.finish().map_err(|_| too_long())?;
    Ok(calstore_records(keys, text, ends))
}

/// `[{uid, rid}]`.
pub fn objects_out(objects: &[(String, Option<String>)]) -> Result<JsValue, JsValue> {
    records_out(objects, "uid,rid", 2, |r, (uid, rid)| {
        r.str(uid);
        r.opt_str(rid.as_deref());
    })
}

/// The request queue: `[{uid, rid, kind}]`.
pub fn requests_out(requests: &[Request]) -> Result<JsValue, JsValue> {
    records_out(requests, "uid,rid,kind", 3, |r, q| {
        r.str(&q.uid);
        r.opt_str(q.rid.as_deref());
        r.opt_str(q.kind.as_deref());
    })
}

/// `{datetime, providers: [{uid, rid}]}` or `null`.
pub fn providers_out(p: Option<&Providers>) -> Result<JsValue, JsValue> {
    let Some(p) = p else {
        return Ok(JsValue::NULL);
    };
    Ok(Obj::new()
        .set("datetime", opt_str(p.datetime.as_deref()))
        .set("providers", objects_out(&p.providers)?)
        .build())
}

/// `{parents, recurrences, uids, periods, providers, notes: [{line, uid, problem, action,
/// message}], notesOmitted, obsoleteOverrides}`; `message` is the note as the CLI prints it.
pub fn import_report_out(r: &ImportReport) -> JsValue {
    let notes = from_json(&json::array(&r.notes, |out, n| {
        json::Object::start(out)
            .int("line", i64::try_from(n.note.line).unwrap_or(i64::MAX))
            .opt_str("uid", n.note.uid.as_deref())
            .str("problem", &n.note.problem)
            .str("action", &n.note.action)
            .str("message", &n.to_string())
            .end();
    }));
    Obj::new()
        .set("parents", usize_count(r.parents))
        .set("recurrences", usize_count(r.recurrences))
        .set("uids", usize_count(r.uids))
        .set("periods", usize_count(r.periods))
        .set("providers", usize_count(r.providers))
        .set("notes", notes)
        .set("notesOmitted", usize_count(r.notes_omitted))
        .set("obsoleteOverrides", usize_count(r.obsolete_overrides))
        .build()
}

/// `[{table, key, revision, operation}]`; `key` is the JSON array text the journal keeps.
pub fn changes_out(changes: &[Change]) -> JsValue {
    from_json(&json::array(changes, |out, c| {
        json::Object::start(out)
            .str("table", &c.table)
            .str("key", &c.key)
            .int("revision", c.revision)
            .str(
                "operation",
                match c.operation {
                    Operation::Upsert => "upsert",
                    Operation::Delete => "delete",
                },
            )
            .end();
    }))
}

/// `{decision, reason, message, group, requested, usage, limit}`: durations in seconds;
/// `reason`, `message`, `usage` and `limit` are `null` where the decision does not give them
/// (`usage` and `limit` only come with `Exceeded`).
pub fn decision_out(d: &QuotaDecision, requested: i64) -> JsValue {
    let (decision, group, reason) = match d {
        QuotaDecision::Accepted { group } => ("ACCEPTED", group, None),
        QuotaDecision::Declined { group, reason } => ("DECLINED", group, Some(reason)),
    };
    let (reason_name, usage, limit, requested) = match reason {
        None => (JsValue::NULL, JsValue::NULL, JsValue::NULL, requested),
        Some(DeclineReason::NoAllocation) => (
            "NoAllocation".into(),
            JsValue::NULL,
            JsValue::NULL,
            requested,
        ),
        Some(DeclineReason::OpenEnded) => {
            ("OpenEnded".into(), JsValue::NULL, JsValue::NULL, requested)
        }
        Some(DeclineReason::Exceeded {
            limit,
            usage,
            requested,
        }) => (
            "Exceeded".into(),
            number(*usage),
            number(*limit),
            *requested,
        ),
    };
    Obj::new()
        .set("decision", decision)
        .set("reason", reason_name)
        .set(
            "message",
            reason.map_or(JsValue::NULL, |r| r.message().into()),
        )
        .set("group", group.as_str())
        .set("requested", number(requested))
        .set("usage", usage)
        .set("limit", limit)
        .build()
}

/// Log entries as an array of `Uint8Array`s.
pub fn byte_arrays_out(entries: &[Vec<u8>]) -> JsValue {
    entries
        .iter()
        .map(|e| JsValue::from(Uint8Array::from(e.as_slice())))
        .collect::<Array>()
        .into()
}

// ---- option objects ---------------------------------------------------------------------------

/// The current time from the JavaScript clock (`Date.now()`).
pub fn system_now() -> Option<DateTime<Utc>> {
    from_millis(js_sys::Date::now())
}

/// How events are expanded, from `{tz?, windowDays?, expandUntil?, maxInstances?,
/// replaceRecurrences?}` (the CLI's `--tz`, `--window-days`, `--expand-until`), relative to
/// `now`.
pub fn record_options(v: &JsValue, now: DateTime<Utc>) -> Conv<calstore_core::RecordOptions> {
    options(v, "options")?;
    let mut opts = calstore_core::RecordOptions::new(now);
    if let Some(tz) = zone(&prop(v, "tz"), "options.tz")? {
        opts.tz = tz;
    }
    let until = opt_time(&prop(v, "expandUntil"), "options.expandUntil")?;
    let days = opt_count(&prop(v, "windowDays"), "options.windowDays")?;
    opts.window_end = match (until, days) {
        (Some(_), Some(_)) => {
            return Err(StoreError::invalid(
                "options: give expandUntil or windowDays, not both",
            ));
        }
        (Some(until), None) => until,
        (None, Some(days)) => {
            let days = i64::try_from(days)
                .ok()
                .filter(|d| (1..=36_600).contains(d))
                .ok_or_else(|| {
                    StoreError::invalid("options.windowDays: expected 1 to 36600 days")
                })?;
            now + chrono::TimeDelta::days(days)
        }
        (None, None) => opts.window_end,
    };
    opts.window_start = match opt_time(&prop(v, "expandFrom"), "options.expandFrom")? {
        Some(from) if from >= opts.window_end => {
            return Err(StoreError::invalid(
                "options.expandFrom: must be before the window end",
            ));
        }
        Some(from) => from,
        None => calstore_core::RecordOptions::default_window_start(now, opts.window_end),
    };
    if let Some(max) = opt_count(&prop(v, "maxInstances"), "options.maxInstances")? {
        opts.max_instances = usize::try_from(max).unwrap_or(usize::MAX);
    }
    if let Some(replace) = opt_bool(&prop(v, "replaceRecurrences"), "options.replaceRecurrences")? {
        opts.replace_recurrences = replace;
    }
    Ok(opts)
}

/// The options of `CalStore.openInModule`: where the database lives (`storage`: `"memory"`,
/// the default, or `"opfs"` with `path` and `directory`), and `now`.
#[cfg(feature = "sqlite-wasm")]
pub fn in_module_options(v: &JsValue) -> Conv<(crate::in_module::Storage, Option<DateTime<Utc>>)> {
    use crate::in_module::Storage;
    options(v, "options")?;
    let now = opt_time(&prop(v, "now"), "options.now")?;
    let path = opt_string(&prop(v, "path"), "options.path")?;
    let directory = opt_string(&prop(v, "directory"), "options.directory")?;
    let storage = match opt_string(&prop(v, "storage"), "options.storage")?.as_deref() {
        None | Some("memory") => {
            if path.is_some() || directory.is_some() {
                return Err(StoreError::invalid(
                    "options: `path` and `directory` need storage: \"opfs\"",
                ));
            }
            Storage::Memory
        }
        Some("opfs") => {
            let (directory, path) = in_module_location(v)?;
            Storage::Opfs { directory, path }
        }
        Some(other) => {
            return Err(StoreError::invalid(format!(
                "options.storage: expected \"memory\" or \"opfs\", got {other:?}"
            )));
        }
    };
    Ok((storage, now))
}

/// An OPFS database's `{directory, path}`, with the defaults of `crate::in_module`.
#[cfg(feature = "sqlite-wasm")]
pub fn in_module_location(v: &JsValue) -> Conv<(String, String)> {
    use crate::in_module::{DEFAULT_OPFS_DIRECTORY, DEFAULT_PATH};
    options(v, "options")?;
    let directory = opt_string(&prop(v, "directory"), "options.directory")?
        .unwrap_or_else(|| DEFAULT_OPFS_DIRECTORY.into());
    let path = opt_string(&prop(v, "path"), "options.path")?.unwrap_or_else(|| DEFAULT_PATH.into());
    Ok((directory, path))
}

/// A time range `{from?, to?}` as given (either side may be open).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeIn {
    /// Only periods ending after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only periods starting before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl RangeIn {
    /// The range to query, as the CLI's `--from/--to`: None when neither side is given; an
    /// open side is unbounded.
    pub fn bounds(&self) -> Conv<Option<(DateTime<Utc>, DateTime<Utc>)>> {
        if self.from.is_none() && self.to.is_none() {
            return Ok(None);
        }
        // Open sides are the first and last instants of four-digit years, as in the CLI:
        // times are compared as `YYYYMMDDTHHMMSSZ` text.
        let from = self.from.unwrap_or_else(|| {
            NaiveDate::from_ymd_opt(0, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(DateTime::<Utc>::MIN_UTC, |n| n.and_utc())
        });
        let to = self.to.unwrap_or_else(|| {
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map_or(DateTime::<Utc>::MAX_UTC, |n| n.and_utc())
        });
        if from >= to {
            return Err(StoreError::invalid(format!(
                "range: from {} is not before to {}",
                format_utc(from),
                format_utc(to)
            )));
        }
        Ok(Some((from, to)))
    }

    /// Both sides, when both are given (a VFREEBUSY's DTSTART/DTEND).
    pub fn both(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.from.zip(self.to)
    }
}

/// `{from?, to?}`, `null` or `undefined`.
pub fn range(v: &JsValue) -> Conv<RangeIn> {
    options(v, "range")?;
    Ok(RangeIn {
        from: opt_time(&prop(v, "from"), "range.from")?,
        to: opt_time(&prop(v, "to"), "range.to")?,
    })
}
