// calstore-wasm/sqlite: calstore with SQLite compiled into the WebAssembly module (the
// in-module backend), the faster of the package's two backends.
//
//   import { openInModule } from "calstore-wasm/sqlite";
//
//   // In memory, in any JavaScript context (Node included):
//   const store = await openInModule();
//
//   // Durable, in a dedicated Worker (OPFS; a secure context: https or localhost):
//   const store = await openInModule({ storage: "opfs", path: "calendar.sqlite3" });
//
//   store.importIcs(user, icsText, { tz: "Europe/Oslo" });   // synchronous, like CalStore
//
// The store is the same CalStore as with sql.js (`import ... from "calstore-wasm"`), with the
// same methods and errors, but no sql.js: the Rust core calls SQLite inside the module without
// crossing into JavaScript, which is what makes it faster. On OPFS every method returns once
// its commit is flushed (WAL, synchronous = FULL); the worker holds the pool's files until it
// ends (worker.terminate(), or the page going away), and meanwhile another worker or tab
// gets an Error named "Busy". One worker uses one pool `directory`. The OPFS files
// can only be reached from a dedicated Worker, so a page talks to the store by postMessage.
//
// The sql.js entry ("calstore-wasm", calstore.js) stays the default: it needs no OPFS for
// persistence and runs on the main thread; this entry loads only its own module
// (calstore_sqlite_bg.wasm), never sql.js.

import initWasm, { CalStore } from "./calstore_sqlite.js";

export { CalStore };

let wasmReady = null;

/**
 * Loads the WebAssembly module once. `wasm` is what wasm-bindgen's init takes: a URL, a
 * Response, the bytes, or a compiled WebAssembly.Module; by default the .wasm file next to
 * this script is fetched.
 */
export function initCalStore(wasm) {
  if (!wasmReady) {
    wasmReady = initWasm(wasm === undefined ? undefined : { module_or_path: wasm }).then(
      () => undefined,
      (e) => {
        wasmReady = null;
        throw e;
      },
    );
  }
  return wasmReady;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Loads the module if needed and opens a CalStore on SQLite inside it. `options`: `storage`
 * ("memory", the default, or "opfs"), `path` and `directory` (OPFS), `now`, `wasm` (what to
 * load the module from, see initCalStore) and `lockTimeoutMs`: how long to keep retrying
 * while another worker holds the OPFS files (default 1000 ms: after a reload, the old page's
 * worker may hold them for a moment), before throwing its `Busy` error.
 */
export async function openInModule(options = {}) {
  const { wasm, lockTimeoutMs = 1000, ...rest } = options ?? {};
  await initCalStore(wasm);
  const deadline = Date.now() + lockTimeoutMs;
  for (;;) {
    try {
      return await CalStore.openInModule(rest);
    } catch (e) {
      if (e?.name !== "Busy" || Date.now() >= deadline) throw e;
      await sleep(50);
    }
  }
}

/** Deletes an OPFS database (`path`, `directory`) that is not open; resolves to whether it existed. */
export async function deleteInModule(options = {}) {
  const { wasm, ...rest } = options ?? {};
  await initCalStore(wasm);
  return CalStore.deleteInModule(rest);
}

/** Methods of CalStore that are not store operations. */
const INTERNAL = new Set([
  "constructor",
  "free",
  "takeCommits",
  "exportImage",
  "pendingCommits",
  "replayed",
  "now",
  "setNow",
]);

/** The store operations of CalStore, as the wasm module exports them (as in calstore.js). */
export function storeMethodNames() {
  return Object.getOwnPropertyNames(CalStore.prototype)
    .filter((n) => !INTERNAL.has(n) && !n.startsWith("__"))
    .filter((n) => typeof Object.getOwnPropertyDescriptor(CalStore.prototype, n).value === "function")
    .sort();
}
