//! Shared by `node.rs` and `web.rs`: loading sql.js, a fresh connection per test, and the
//! test list (the conformance suite of `calstore-tests` plus the adapter's own cases).
//!
//! sql.js is embedded (its browser build and wasm binary from `wasm/node_modules`, installed by
//! `scripts/setup-wasm.sh`), so the same tests run in Node and in Chromium with no file
//! serving. `initSqlJs` runs once per test binary; every test gets a new in-memory `Database`.

use std::cell::RefCell;

use calstore_wasm::SqlJsConnection;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub mod accounts;
pub mod adapter;
pub mod wal;

const SQL_JS: &str = include_str!("../../node_modules/sql.js/dist/sql-wasm-browser.js");
const SQL_WASM: &[u8] = include_bytes!("../../node_modules/sql.js/dist/sql-wasm-browser.wasm");

thread_local! {
    /// The resolved `initSqlJs()` module.
    static SQL: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

async fn init_sql_js() -> Result<JsValue, JsValue> {
    let init: Function = Function::new_no_args(&format!("{SQL_JS}\nreturn initSqlJs;"))
        .call0(&JsValue::UNDEFINED)?
        .dyn_into()?;
    let config = Object::new();
    Reflect::set(&config, &"wasmBinary".into(), &Uint8Array::from(SQL_WASM))?;
    let promise: Promise = init.call1(&JsValue::UNDEFINED, &config)?.dyn_into()?;
    JsFuture::from(promise).await
}

/// The sql.js module, initialised on first use.
pub async fn sql_js() -> JsValue {
    if let Some(sql) = SQL.with(|s| s.borrow().clone()) {
        return sql;
    }
    let sql = init_sql_js()
        .await
        .unwrap_or_else(|e| panic!("initSqlJs failed: {e:?}"));
    SQL.with(|s| *s.borrow_mut() = Some(sql.clone()));
    sql
}

/// A new, empty in-memory sql.js `Database`.
pub async fn database() -> JsValue {
    let sql = sql_js().await;
    let ctor: Function = Reflect::get(&sql, &"Database".into())
        .and_then(JsCast::dyn_into)
        .unwrap_or_else(|e| panic!("SQL.Database is not a constructor: {e:?}"));
    Reflect::construct(&ctor, &Array::new()).unwrap_or_else(|e| panic!("new SQL.Database(): {e:?}"))
}

/// A new, empty in-memory `Database`, synchronously: sql.js must have been initialised by an
/// earlier `sql_js().await` in the same test binary (every test awaits [`connection`] first).
pub fn database_now() -> JsValue {
    database_with(&Array::new())
}

/// A `Database` opened on an exported image.
pub fn database_from(image: &Uint8Array) -> JsValue {
    database_with(&Array::of1(image))
}

fn database_with(args: &Array) -> JsValue {
    let sql = SQL
        .with(|s| s.borrow().clone())
        .expect("sql.js is initialised by the test's first `connection().await`");
    let ctor: Function = Reflect::get(&sql, &"Database".into())
        .and_then(JsCast::dyn_into)
        .unwrap_or_else(|e| panic!("SQL.Database is not a constructor: {e:?}"));
    Reflect::construct(&ctor, args).unwrap_or_else(|e| panic!("new SQL.Database(): {e:?}"))
}

/// A connection to a new, empty in-memory database.
pub async fn connection() -> SqlJsConnection {
    SqlJsConnection::from_js(database().await).unwrap_or_else(|e| panic!("{e}"))
}

/// Instantiates every test of this directory as an async `#[wasm_bindgen_test]`: the whole
/// conformance suite (its case list comes from `calstore_tests::all_cases!`, so a case added
/// there runs here too) in `mod suite`, the typed tables and accounts
/// (`calstore_tests::typed_cases!`) in `mod typed`, the storage classes
/// (`calstore_tests::storage_cases!`) in `mod storage`, and the adapter's own cases
/// (`common/adapter.rs`) in `mod sqljs`.
macro_rules! wasm_tests {
    () => {
        mod typed {
            use $crate::common::sqljs_typed_suite;
            calstore_tests::typed_cases!(sqljs_typed_suite,);
        }
        mod storage {
            use $crate::common::sqljs_storage_suite;
            calstore_tests::storage_cases!(sqljs_storage_suite,);
        }
        mod suite {
            use $crate::common::sqljs_suite;
            calstore_tests::all_cases!(sqljs_suite,);
        }
        mod wal_suite {
            use $crate::common::replayed_suite;
            calstore_tests::all_cases!(replayed_suite,);
        }
        mod wal {
            $crate::common::wal_tests!(
                one_entry_per_committed_write,
                replay_rebuilds_the_database,
                replay_is_atomic,
                export_restores_and_keeps_pragmas,
                autocommit_entries_replay_unwrapped,
                failed_writes_leave_no_entries,
            );
        }
        mod sqljs {
            $crate::common::adapter_tests!(
                i64_extremes_roundtrip,
                values_roundtrip,
                errors_are_classified,
                bare_string_throws_are_errors,
                statements_are_cached_and_freed,
                execute_counts_and_drains,
                execute_batch_runs_scripts,
                transactions_roll_back,
                store_records_event_and_reads_freebusy,
            );
        }
    };
}
pub(crate) use wasm_tests;

/// The callback for `calstore_tests::all_cases!`: one async test per case, each on a fresh
/// in-memory sql.js database.
macro_rules! sqljs_suite {
    (; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                calstore_tests::$case($crate::common::connection().await);
            }
        )*
    };
}
pub(crate) use sqljs_suite;

/// The callback for `calstore_tests::all_cases!` that runs each case on a recording
/// connection and checks, when the case drops it, that its log replays to the same database.
macro_rules! replayed_suite {
    (; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                let conn = $crate::common::connection().await;
                calstore_tests::$case($crate::common::wal::ReplayChecked::new(conn));
            }
        )*
    };
}
pub(crate) use replayed_suite;

/// The callback for `calstore_tests::typed_cases!`: one async test per case, its opener
/// reopening the same sql.js database from an image (see [`accounts::reopening`]).
macro_rules! sqljs_typed_suite {
    (; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::common::sql_js().await;
                let mut open = calstore_tests::typed::accounts_opener(
                    $crate::common::accounts::reopening(),
                    $crate::common::accounts::backend,
                );
                calstore_tests::typed::$case(&mut open);
            }
        )*
    };
}
pub(crate) use sqljs_typed_suite;

/// The callback for `calstore_tests::storage_cases!`, as [`sqljs_typed_suite`].
macro_rules! sqljs_storage_suite {
    (; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::common::sql_js().await;
                let mut open = calstore_tests::storage::storage_opener(
                    $crate::common::accounts::reopening(),
                    $crate::common::accounts::backend,
                );
                calstore_tests::storage::$case(&mut open);
            }
        )*
    };
}
pub(crate) use sqljs_storage_suite;

macro_rules! wal_tests {
    ($($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::common::wal::$case($crate::common::connection().await);
            }
        )*
    };
}
pub(crate) use wal_tests;

macro_rules! adapter_tests {
    ($($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                $crate::common::adapter::$case($crate::common::connection().await);
            }
        )*
    };
}
pub(crate) use adapter_tests;
