//! Typed bindings to the part of the sql.js API the adapter uses.
//!
//! Every method that can throw is declared with `catch`, so a JavaScript exception comes back
//! as `Err(JsValue)` (classified by [`crate::error::classify`]) instead of aborting the module.
//! Nothing outside this crate's `conn`, `convert` and `error` modules touches these types.

use js_sys::Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A sql.js `Database` (`new SQL.Database()` after `initSqlJs()` has resolved).
    #[derive(Debug, Clone)]
    pub type SqlJsDatabase;

    /// `db.prepare(sql)`: compiles the first statement of `sql`.
    #[wasm_bindgen(method, catch)]
    pub fn prepare(this: &SqlJsDatabase, sql: &str) -> Result<SqlJsStatement, JsValue>;

    /// `db.run(sql)`: runs parameterless, possibly multi-statement SQL through `sqlite3_exec`.
    #[wasm_bindgen(method, catch)]
    pub fn run(this: &SqlJsDatabase, sql: &str) -> Result<JsValue, JsValue>;

    /// `db.exec(sql)`: runs SQL and returns every statement's result sets.
    #[wasm_bindgen(method, catch)]
    pub fn exec(this: &SqlJsDatabase, sql: &str) -> Result<JsValue, JsValue>;

    /// `db.export()`: the whole database file as bytes. sql.js 1.16 copies it with the backup
    /// API and keeps statements and connection settings; it throws inside a write transaction.
    #[wasm_bindgen(method, catch)]
    pub fn export(this: &SqlJsDatabase) -> Result<js_sys::Uint8Array, JsValue>;

    /// `db.getRowsModified()`: `sqlite3_changes`, the rows changed by the last statement.
    #[wasm_bindgen(method, catch, js_name = getRowsModified)]
    pub fn get_rows_modified(this: &SqlJsDatabase) -> Result<u32, JsValue>;

    /// A sql.js prepared `Statement`; it must be freed with [`SqlJsStatement::free`].
    #[derive(Debug, Clone)]
    pub type SqlJsStatement;

    /// `stmt.bind(values)`: resets the statement and binds `values[i]` to parameter `i + 1`.
    #[wasm_bindgen(method, catch)]
    pub fn bind(this: &SqlJsStatement, values: &Array) -> Result<bool, JsValue>;

    /// `stmt.step()`: `true` while there is a row to read.
    #[wasm_bindgen(method, catch)]
    pub fn step(this: &SqlJsStatement) -> Result<bool, JsValue>;

    /// `stmt.get(null, config)`: the current row. With `{useBigInt: true}` INTEGER columns
    /// come back as `BigInt`, exactly.
    #[wasm_bindgen(method, catch)]
    pub fn get(this: &SqlJsStatement, params: &JsValue, config: &JsValue)
    -> Result<Array, JsValue>;

    /// `stmt.reset()`: back to the start, bindings cleared.
    #[wasm_bindgen(method, catch)]
    pub fn reset(this: &SqlJsStatement) -> Result<bool, JsValue>;

    /// `stmt.free()`: finalizes the statement.
    #[wasm_bindgen(method, catch)]
    pub fn free(this: &SqlJsStatement) -> Result<bool, JsValue>;
}

// Reading every row of a statement in one call: stepping and `get` stay in JavaScript, and the
// values come back packed by type (see `crate::convert::rows_from_packed`), instead of one call
// into JavaScript per row and several per value. Measured in Node on the benchmark's data
// (`wasm/bench/`): `getFreebusy` of a week (101 rows of 7 columns) 0.49 -> 0.42 ms,
// `getEvents` (5 000 rows) 6.0 -> 4.0 ms; what remains is mostly sql.js's own step and get.
#[wasm_bindgen(inline_js = r#"
export function calstore_collect_rows(stmt, config) {
  const kinds = [];
  const ints = [];
  const reals = [];
  const texts = [];
  const lengths = [];
  const blobs = [];
  let rows = 0;
  let columns = 0;
  while (stmt.step()) {
    const row = stmt.get(null, config);
    columns = row.length;
    rows += 1;
    for (const v of row) {
      if (v === null || v === undefined) {
        kinds.push(0);
      } else if (typeof v === "bigint") {
        kinds.push(1);
        ints.push(v);
      } else if (typeof v === "number") {
        kinds.push(2);
        reals.push(v);
      } else if (typeof v === "string") {
        kinds.push(3);
        texts.push(v);
        lengths.push(v.length);
      } else if (v instanceof Uint8Array) {
        kinds.push(4);
        blobs.push(v);
      } else {
        kinds.push(5);
      }
    }
  }
  return [
    Uint32Array.of(rows, columns),
    Uint8Array.from(kinds),
    BigInt64Array.from(ints),
    Float64Array.from(reals),
    texts.join(""),
    Uint32Array.from(lengths),
    blobs,
  ];
}
"#)]
extern "C" {
    /// Steps `stmt` to the end, reading each row with `stmt.get(null, config)`, and returns
    /// `[[rows, columns], kinds, ints, reals, text, lengths, blobs]`: a kind per value (0 null,
    /// 1 integer, 2 real, 3 text, 4 blob, 5 anything else), the integers (`BigInt64Array`),
    /// reals (`Float64Array`), texts (concatenated, with their lengths in UTF-16 code units)
    /// and blobs, each in row order. Throws what `step` or `get` throws.
    #[wasm_bindgen(catch, js_name = calstore_collect_rows)]
    pub fn collect_rows(stmt: &SqlJsStatement, config: &JsValue) -> Result<Array, JsValue>;
}
