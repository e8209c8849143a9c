//! Openers for the typed-table, account and storage cases on sql.js: a database that can be
//! "restarted" (its image exported and opened as a new `Database`, as a reload restores it
//! from IndexedDB), and the storage backend sql.js has (memory-class tables are ordinary
//! tables, persisted with the whole database).

use calstore_core::schema::storage::{Guarantees, MainSchemaMemory, MemoryBackend};
use calstore_wasm::SqlJsConnection;
use wasm_bindgen::JsValue;

use super::{database_from, database_now};

/// The first call gives a new, empty database; every later call exports the previous one
/// (whose connection the case has dropped) and opens its image as a new database.
pub fn reopening() -> impl FnMut() -> SqlJsConnection {
    let mut current: Option<JsValue> = None;
    move || {
        let db = match current.take() {
            None => database_now(),
            Some(previous) => {
                let image = SqlJsConnection::from_js(previous)
                    .and_then(|mut c| c.export())
                    .unwrap_or_else(|e| panic!("exporting the database: {e}"));
                database_from(&image)
            }
        };
        current = Some(db.clone());
        SqlJsConnection::from_js(db).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// sql.js's storage backend, reporting what calstore-wasm's persistence gives.
pub fn backend() -> Box<dyn MemoryBackend> {
    Box::new(MainSchemaMemory::new(Guarantees::sqljs_with_log()))
}
