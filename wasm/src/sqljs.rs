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
