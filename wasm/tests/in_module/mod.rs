//! Shared by `sqlite_node.rs`, `sqlite_web.rs` and `sqlite_worker.rs`: the conformance suite
//! and a few cases of its own on the in-module backend (feature `sqlite-wasm`): SQLite
//! compiled into the test module, behind calstore-native's own `SqliteConnection`.
//!
//! `memory_tests!` runs every case on a private in-memory database (Node, a page);
//! `opfs_tests!` runs them on an OPFS file through the `opfs-sahpool` VFS (a dedicated
//! Worker: nowhere else has OPFS sync access handles), deleted before each case.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use calstore_core::SqlConnection;
use calstore_native::SqliteConnection;
use calstore_wasm::CalStore;
use calstore_wasm::in_module::{self, Storage};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// A connection to a new in-memory database on the memory VFS.
pub fn memory() -> SqliteConnection {
    SqliteConnection::open_in_memory().unwrap_or_else(|e| panic!("{e}"))
}

/// The OPFS pool directory of the tests (apart from the default one).
pub const TEST_DIRECTORY: &str = ".calstore-tests-sahpool";

/// The one database file the OPFS cases use, deleted before each (the cases run one at a
/// time, and each closes its connection when it ends).
pub const CASE_PATH: &str = "case.sqlite3";

/// A connection to `path` in the tests' OPFS pool, as it is.
pub async fn opfs(path: &str) -> SqliteConnection {
    let storage = Storage::Opfs {
        directory: TEST_DIRECTORY.into(),
        path: path.into(),
    };
    in_module::open(&storage)
        .await
        .unwrap_or_else(|e| panic!("opening {path} on OPFS: {e}"))
}

/// A connection to `path` in the tests' OPFS pool, deleted first: a new, empty database.
pub async fn opfs_fresh(path: &str) -> SqliteConnection {
    in_module::delete(TEST_DIRECTORY, path)
        .await
        .unwrap_or_else(|e| panic!("deleting {path}: {e}"));
    opfs(path).await
}

fn options(pairs: &[(&str, &str)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), &(*v).into()).unwrap();
    }
    o.into()
}

fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn error_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

const S1: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:event1@example.com\r\n\
DTSTAMP:20141001T000000Z\r\nDTSTART;TZID=Europe/Oslo:20141010T160000\r\n\
DTEND;TZID=Europe/Oslo:20141010T170000\r\nSUMMARY:Meeting at 4pm\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
const ROOM: &str = "mailto:resource-room-confroom@example.com";

/// Imports one event through the JavaScript API and reads its free/busy back.
fn import_and_read(store: &mut CalStore) {
    store
        .import_ics(ROOM, S1.into(), options(&[("tz", "Europe/Oslo")]))
        .unwrap_or_else(|e| panic!("importIcs: {}", error_message(&e)));
    let fb = js_sys::Array::from(&store.get_freebusy(ROOM, JsValue::UNDEFINED).unwrap());
    assert_eq!(fb.length(), 1);
    let start = Reflect::get(&fb.get(0), &"start".into()).unwrap();
    assert_eq!(start.as_string().unwrap(), "20141010T140000Z");
}

/// `CalStore.openInModule()` opens the JavaScript API on the in-module backend, in memory;
/// `exportImage` gives a plain SQLite file.
pub async fn api_in_memory() {
    let mut store = CalStore::open_in_module(options(&[("now", "20141001T000000Z")]))
        .await
        .unwrap_or_else(|e| panic!("openInModule: {}", error_message(&e)));
    assert_eq!(store.backend(), "in-module");
    import_and_read(&mut store);
    assert_eq!(js_sys::Array::from(&store.take_commits()).length(), 0);
    assert_eq!(store.pending_commits(), 0);
    let image = store.export_image().unwrap().to_vec();
    assert!(image.len() > 4096, "{} bytes", image.len());
    assert_eq!(&image[..16], b"SQLite format 3\0");
}

/// Bad options are `InvalidData`, naming what is wrong.
pub async fn api_rejects_bad_options() {
    for (opts, what) in [
        (options(&[("storage", "disk")]), "options.storage"),
        (options(&[("path", "x.db")]), "storage: \"opfs\""),
        (JsValue::from(7), "options"),
    ] {
        let e = CalStore::open_in_module(opts).await.unwrap_err();
        assert_eq!(error_name(&e), "InvalidData");
        assert!(error_message(&e).contains(what), "{}", error_message(&e));
    }
}

/// OPFS storage outside a dedicated Worker fails with a message that says so.
pub async fn opfs_needs_a_dedicated_worker() {
    let e = CalStore::open_in_module(options(&[("storage", "opfs")]))
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "DatabaseError");
    assert!(
        error_message(&e).contains("dedicated worker"),
        "{}",
        error_message(&e)
    );
}

/// On OPFS the database is in WAL mode with exclusive locking, and what was committed is
/// there after closing and reopening.
pub async fn opfs_wal_and_reopen() {
    let mut db = opfs_fresh("reopen.sqlite3").await;
    let mode = db.query("PRAGMA journal_mode", &[]).unwrap();
    assert_eq!(mode[0].get::<String>(0).unwrap(), "wal");
    let locking = db.query("PRAGMA locking_mode", &[]).unwrap();
    assert_eq!(locking[0].get::<String>(0).unwrap(), "exclusive");
    let sync = db.query("PRAGMA synchronous", &[]).unwrap();
    assert_eq!(sync[0].get::<i64>(0).unwrap(), 2, "synchronous = FULL");
    db.execute_batch("CREATE TABLE t (x TEXT)").unwrap();
    db.execute("INSERT INTO t VALUES ($1)", &["kept".into()])
        .unwrap();
    drop(db);
    let mut again = opfs("reopen.sqlite3").await;
    let rows = again.query("SELECT x FROM t", &[]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String>(0).unwrap(), "kept");
    drop(again);
    assert!(
        in_module::delete(TEST_DIRECTORY, "reopen.sqlite3")
            .await
            .unwrap()
    );
}

/// The JavaScript API on OPFS: a store opened in the default pool, written, freed and opened
/// again reads back what it wrote; an open database cannot be deleted; a closed one can.
pub async fn api_on_opfs() {
    // One pool (directory) per worker: the tests' one, which the suite installed.
    let path = [
        ("storage", "opfs"),
        ("path", "api.sqlite3"),
        ("directory", TEST_DIRECTORY),
    ];
    let del = options(&[("path", "api.sqlite3"), ("directory", TEST_DIRECTORY)]);
    CalStore::delete_in_module(del.clone()).await.unwrap();
    let mut store = CalStore::open_in_module(options(&path))
        .await
        .unwrap_or_else(|e| panic!("openInModule: {}", error_message(&e)));
    import_and_read(&mut store);
    let e = CalStore::delete_in_module(del.clone()).await.unwrap_err();
    assert_eq!(error_name(&e), "Busy", "{}", error_message(&e));
    drop(store);
    let mut store = CalStore::open_in_module(options(&path)).await.unwrap();
    let events: Vec<String> = js_sys::Array::from(&store.get_events(ROOM).unwrap())
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(events, ["event1@example.com"]);
    drop(store);
    assert!(CalStore::delete_in_module(del.clone()).await.unwrap());
    assert!(!CalStore::delete_in_module(del).await.unwrap());
}

/// The SQLite the adapter reports is the one compiled into this module (sqlite-wasm-rs's),
/// and new enough for calstore's SQL (`RETURNING` needs 3.35).
pub fn sqlite_is_in_the_module() {
    let mut c = memory();
    let rows = c.query("SELECT sqlite_version()", &[]).unwrap();
    let version = rows[0].get::<String>(0).unwrap();
    assert_eq!(version, SqliteConnection::sqlite_version());
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(parts[..2] >= [3, 35][..], "{version}");
    // sqlite-wasm-rs's build: clang for wasm32, single-threaded (the native bundled build is
    // thread-safe).
    let options: Vec<String> = c
        .query("PRAGMA compile_options", &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect();
    assert!(
        options.iter().any(|o| o.starts_with("COMPILER=clang"))
            && options.iter().any(|o| o == "THREADSAFE=0"),
        "{options:?}"
    );
}

/// The conformance suite plus the in-memory cases, for Node and a page.
#[allow(unused_macros, reason = "each test binary uses one of them")]
macro_rules! memory_tests {
    () => {
        mod suite {
            use wasm_bindgen_test::wasm_bindgen_test;
            calstore_tests::all_cases!(
                conformance_suite,
                #[wasm_bindgen_test]
                $crate::in_module::memory()
            );
            use calstore_tests::conformance_suite;
        }
        mod cases {
            use wasm_bindgen_test::wasm_bindgen_test;

            #[wasm_bindgen_test]
            async fn api_in_memory() {
                $crate::in_module::api_in_memory().await;
            }
            #[wasm_bindgen_test]
            async fn api_rejects_bad_options() {
                $crate::in_module::api_rejects_bad_options().await;
            }
            #[wasm_bindgen_test]
            async fn opfs_needs_a_dedicated_worker() {
                $crate::in_module::opfs_needs_a_dedicated_worker().await;
            }
            #[wasm_bindgen_test]
            fn sqlite_is_in_the_module() {
                $crate::in_module::sqlite_is_in_the_module();
            }
        }
    };
}
#[allow(unused_imports, reason = "each test binary uses one of them")]
pub(crate) use memory_tests;

/// The callback for `calstore_tests::all_cases!`: one async test per case, each on its own
/// OPFS file.
#[allow(unused_macros, reason = "each test binary uses one of them")]
macro_rules! opfs_suite {
    (; $($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                let db = $crate::in_module::opfs_fresh($crate::in_module::CASE_PATH).await;
                calstore_tests::$case(db);
            }
        )*
    };
}
#[allow(unused_imports, reason = "each test binary uses one of them")]
pub(crate) use opfs_suite;

/// The conformance suite on OPFS files plus the OPFS cases, for a dedicated Worker.
#[allow(unused_macros, reason = "each test binary uses one of them")]
macro_rules! opfs_tests {
    () => {
        mod suite {
            use $crate::in_module::opfs_suite;
            calstore_tests::all_cases!(opfs_suite,);
        }
        mod opfs {
            use wasm_bindgen_test::wasm_bindgen_test;

            #[wasm_bindgen_test]
            async fn opfs_wal_and_reopen() {
                $crate::in_module::opfs_wal_and_reopen().await;
            }
            #[wasm_bindgen_test]
            async fn api_on_opfs() {
                $crate::in_module::api_on_opfs().await;
            }
            #[wasm_bindgen_test]
            async fn api_in_memory() {
                $crate::in_module::api_in_memory().await;
            }
        }
    };
}
#[allow(unused_imports, reason = "each test binary uses one of them")]
pub(crate) use opfs_tests;
