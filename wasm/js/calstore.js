// calstore-wasm: calstore over sql.js, with durable persistence in the browser.
//
// Two ways to use it:
//
//   import { initCalStore, CalStore, openCalStore } from "calstore-wasm";
//   await initCalStore();                        // loads calstore_wasm_bg.wasm
//
//   // 1. In memory (any JavaScript context): every method is synchronous.
//   const store = new CalStore(new SQL.Database(), {});
//
//   // 2. Durable, in a browser tab (IndexedDB + Web Locks): every method returns a Promise
//   //    that resolves once everything the call committed is on disk.
//   const db = await openCalStore({ SQL, name: "calendar" });
//   await db.importIcs(user, icsText, { tz: "Europe/Oslo" });
//
// How persistence works ("in memory with regular disk snapshots", made durable per commit):
// the database lives in sql.js; the wasm side records every committed write transaction as
// one log entry (the statements and parameters it ran, see wasm/src/wal.rs). After each call
// this layer takes the new entries and appends them to the IndexedDB store `log` in one
// transaction; the call's Promise resolves when that transaction completes. Now and then
// (after `snapshotEvery` entries or `snapshotBytes` of log, or when idle for `idleSnapshotMs`)
// it exports the whole image and, in ONE IndexedDB transaction, stores it as the snapshot and
// deletes the log entries it covers. Opening restores the snapshot, replays the log tail in
// order and re-applies the connection pragmas. One tab owns a database at a time: the Web
// Locks API (`navigator.locks.request(name, {ifAvailable: true})`) guards it, and another
// tab gets an Error named "Locked".
//
// This file is the only JavaScript of the package besides the wasm-bindgen glue; its types
// are in calstore.d.ts.

import initWasm, { CalStore } from "./calstore_wasm.js";

export { CalStore };

/** The IndexedDB schema version of a calstore database. */
const IDB_VERSION = 1;

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

/** An Error with a stable `name` and `code`, the shape the wasm side throws too. */
function calstoreError(name, code, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = name;
  e.code = code;
  return e;
}

const lockedError = (name) =>
  calstoreError(
    "Locked",
    "LOCKED",
    `calstore database "${name}" is open in another tab or window; close it there first`,
  );
const closedError = (name) =>
  calstoreError("Closed", "CLOSED", `calstore database "${name}" is closed`);
const storageError = (message, cause) =>
  calstoreError("StorageError", "STORAGE_ERROR", message, cause);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers get derived promises; this one must not count as an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Resolves when an IndexedDB transaction has committed; rejects if it aborts. */
function transactionDone(tx, what) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(storageError(`IndexedDB ${what} failed: ${tx.error}`, tx.error));
    tx.onerror = (event) => event.preventDefault();
  });
}

function requestDone(request, what) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      reject(storageError(`IndexedDB ${what} failed: ${request.error}`, request.error));
  });
}

/** Tries once to take the lock; resolves with its release function, or null if taken. */
function tryLock(locks, name) {
  return new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // The lock is held until this promise resolves.
        return new Promise((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

/**
 * Takes the Web Lock `calstore:<dbName>`. A lock still held by a page being unloaded (a reload)
 * is retried for up to `timeoutMs`; after that the error is "Locked".
 */
async function acquireLock(dbName, timeoutMs) {
  const name = `calstore:${dbName}`;
  const locks = globalThis.navigator?.locks;
  if (!locks) {
    throw storageError("the Web Locks API is not available (a secure context is needed)");
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const release = await tryLock(locks, name);
    if (release) return release;
    if (Date.now() >= deadline) throw lockedError(dbName);
    await sleep(25);
  }
}

function openIdb(name) {
  if (!globalThis.indexedDB) throw storageError("IndexedDB is not available");
  const request = indexedDB.open(name, IDB_VERSION);
  request.onupgradeneeded = () => {
    const idb = request.result;
    // meta: the snapshot {image, upto, savedAt} under the key "snapshot".
    if (!idb.objectStoreNames.contains("meta")) idb.createObjectStore("meta");
    // log: {seq, bytes}, one committed write transaction each, in commit order.
    if (!idb.objectStoreNames.contains("log")) idb.createObjectStore("log", { keyPath: "seq" });
  };
  request.onblocked = () => {};
  return requestDone(request, `opening ${name}`);
}

/**
 * Reads the snapshot and the log entries after it, in one read transaction. Entries after a
 * gap in the sequence (an append that failed while later ones succeeded; none of them was
 * acknowledged) are deleted, so that new appends cannot join them up again.
 */
async function readState(idb) {
  const tx = idb.transaction(["meta", "log"], "readonly");
  const snapshot = await requestDone(tx.objectStore("meta").get("snapshot"), "reading the snapshot");
  const after = snapshot ? IDBKeyRange.lowerBound(snapshot.upto, true) : undefined;
  const all = await requestDone(tx.objectStore("log").getAll(after), "reading the log");
  let next = (snapshot ? snapshot.upto : 0) + 1;
  let usable = 0;
  while (usable < all.length && all[usable].seq === next) {
    usable += 1;
    next += 1;
  }
  const log = all.slice(0, usable);
  const dropped = all.length - usable;
  if (dropped > 0) {
    const del = idb.transaction(["log"], "readwrite", { durability: "strict" });
    del.objectStore("log").delete(IDBKeyRange.lowerBound(next - 1, true));
    await transactionDone(del, "dropping the log after a gap");
  }
  return { snapshot: snapshot ?? null, log, dropped };
}

/** An exported image that owns exactly its bytes (a view would clone its whole buffer). */
function ownBytes(image) {
  return image.byteOffset === 0 && image.byteLength === image.buffer.byteLength
    ? image
    : image.slice();
}

/** Methods of CalStore that are not store operations (the persistence layer's own). */
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

/** The store operations of CalStore, as the wasm module exports them. */
export function storeMethodNames() {
  return Object.getOwnPropertyNames(CalStore.prototype)
    .filter((n) => !INTERNAL.has(n) && !n.startsWith("__"))
    .filter((n) => typeof Object.getOwnPropertyDescriptor(CalStore.prototype, n).value === "function")
    .sort();
}

/**
 * A CalStore whose writes are durable: every store method of CalStore is here too, and
 * returns a Promise that resolves (with what CalStore returns) once every write committed so
 * far is in IndexedDB, or rejects with the store's Error or a StorageError.
 */
export class PersistentCalStore {
  /** @internal Use openCalStore(). */
  constructor(internals) {
    Object.assign(this, internals);
    this._collecting = null; // the batch being gathered this tick
    this._last = null; // the most recent batch not yet committed
    this._broken = null; // a StorageError after a failed append: the log has a gap
    this._closed = false;
    this._snapshotting = null;
    this._idleTimer = null;
    this._snapshotTimer = null;
    this._stats = {
      commits: 0,
      batches: 0,
      snapshots: 0,
      lastSnapshot: null,
    };
    this._onPagehide = () => this._shutdown();
    globalThis.addEventListener?.("pagehide", this._onPagehide);
  }

  /** The database's name (the IndexedDB database is `calstore:<name>`). */
  get name() {
    return this._name;
  }

  /** What each storage class survives in this store (see CalStore.storageGuarantees). */
  get storageGuarantees() {
    return this._store.storageGuarantees;
  }

  /**
   * The underlying synchronous CalStore. Reads through it see the latest state at once;
   * writes through it are persisted by the next call here or by flush().
   */
  get store() {
    if (this._closed) throw closedError(this._name);
    return this._store;
  }

  /** The store's current time (`YYYYMMDDTHHMMSSZ`). */
  now() {
    return this.store.now();
  }

  /** Fixes the clock (or, with null, goes back to Date.now()). */
  setNow(now) {
    this.store.setNow(now);
  }

  /** Resolves when every write committed so far is durable. */
  flush() {
    if (this._closed) return Promise.reject(closedError(this._name));
    if (this._broken) return Promise.reject(this._broken);
    return this._persistPending() ?? Promise.resolve();
  }

  /** Counters: log size since the last snapshot, snapshots taken, open timings. */
  stats() {
    return {
      name: this._name,
      durability: this._durability,
      seq: this._seq,
      logEntries: this._logEntries,
      logBytes: this._logBytes,
      commits: this._stats.commits,
      batches: this._stats.batches,
      snapshots: this._stats.snapshots,
      lastSnapshot: this._stats.lastSnapshot,
      opened: { ...this._opened },
    };
  }

  _call(name, args) {
    if (this._closed) return Promise.reject(closedError(this._name));
    if (this._broken) return Promise.reject(this._broken);
    let result;
    try {
      result = this._store[name](...args);
    } catch (e) {
      // A failed call committed nothing, but persist whatever is pending all the same.
      this._persistPending();
      return Promise.reject(e);
    }
    const durable = this._persistPending();
    return durable ? durable.then(() => result) : Promise.resolve(result);
  }

  /**
   * Takes the entries committed since the last call and queues them for this tick's
   * IndexedDB transaction. Returns the promise of the newest batch still in flight (so a
   * result never resolves before the writes it may have seen are durable), or null.
   */
  _persistPending() {
    const entries = this._store.takeCommits();
    if (entries.length > 0) {
      if (!this._collecting) {
        const batch = { items: [], bytes: 0, ...deferred() };
        this._collecting = batch;
        this._last = batch;
        queueMicrotask(() => {
          if (this._collecting === batch) {
            this._collecting = null;
            this._write(batch);
          }
        });
      }
      for (const bytes of entries) {
        this._seq += 1;
        this._collecting.items.push({ seq: this._seq, bytes });
        this._collecting.bytes += bytes.byteLength;
      }
    }
    return this._last ? this._last.promise : null;
  }

  _write(batch) {
    let tx;
    try {
      tx = this._idb.transaction(["log"], "readwrite", { durability: this._durability });
      const log = tx.objectStore("log");
      for (const item of batch.items) log.put(item);
    } catch (e) {
      this._fail(batch, storageError(`IndexedDB append failed: ${e}`, e));
      return;
    }
    transactionDone(tx, "append").then(
      () => {
        if (this._broken) {
          // An earlier batch failed: the log has a gap before this one, and opening drops
          // everything after a gap, so this batch is not durable either.
          this._fail(batch, this._broken);
          return;
        }
        this._stats.commits += batch.items.length;
        this._stats.batches += 1;
        this._logEntries += batch.items.length;
        this._logBytes += batch.bytes;
        if (this._last === batch) this._last = null;
        batch.resolve();
        this._afterAppend();
      },
      (e) => this._fail(batch, e),
    );
  }

  _fail(batch, error) {
    // The in-memory database is ahead of the log now: refuse further calls rather than
    // acknowledge writes that a reload would lose. Reopening recovers the durable state.
    this._broken = calstoreError(
      "StorageError",
      "STORAGE_ERROR",
      `writes could not be made durable (${error.message}); reopen the database`,
      error,
    );
    if (this._last === batch) this._last = null;
    batch.reject(this._broken);
  }

  _afterAppend() {
    if (this._closed || this._broken) return;
    const due =
      this._logEntries >= this._snapshotEvery || this._logBytes >= this._snapshotBytes;
    if (due) {
      if (!this._snapshotTimer && !this._snapshotting) {
        // After the acknowledgement, not before it.
        this._snapshotTimer = setTimeout(() => {
          this._snapshotTimer = null;
          this.snapshot().catch(() => {});
        }, 0);
      }
    } else if (this._idleSnapshotMs > 0) {
      clearTimeout(this._idleTimer);
      this._idleTimer = setTimeout(() => {
        this._idleTimer = null;
        if (this._logEntries > 0) this.snapshot().catch(() => {});
      }, this._idleSnapshotMs);
    }
  }

  /**
   * Stores the whole image as the snapshot and truncates the log it covers, in one
   * IndexedDB transaction. Resolves with {upto, bytes, exportMs, writeMs}.
   */
  snapshot() {
    if (this._closed) return Promise.reject(closedError(this._name));
    if (this._broken) return Promise.reject(this._broken);
    if (this._snapshotting) return this._snapshotting;
    this._snapshotting = this._takeSnapshot().finally(() => {
      this._snapshotting = null;
    });
    return this._snapshotting;
  }

  async _takeSnapshot() {
    this._persistPending();
    // The batch being gathered goes out first, so its transaction is ordered before ours.
    if (this._collecting) {
      const batch = this._collecting;
      this._collecting = null;
      this._write(batch);
    }
    const upto = this._seq;
    const t0 = performance.now();
    const image = ownBytes(this._store.exportImage());
    const t1 = performance.now();
    const tx = this._idb.transaction(["meta", "log"], "readwrite", {
      durability: this._durability,
    });
    tx.objectStore("meta").put({ image, upto, savedAt: Date.now() }, "snapshot");
    tx.objectStore("log").delete(IDBKeyRange.upperBound(upto));
    await transactionDone(tx, "snapshot");
    // Appends are ordered by their transactions: every batch created before ours (all seq <=
    // upto) completed before it, every later one (seq > upto) completes after it, and this
    // continuation runs before the next IndexedDB event. So the log is empty right now.
    this._logEntries = 0;
    this._logBytes = 0;
    const info = {
      upto,
      bytes: image.byteLength,
      exportMs: t1 - t0,
      writeMs: performance.now() - t1,
    };
    this._stats.snapshots += 1;
    this._stats.lastSnapshot = info;
    return info;
  }

  /**
   * Persists what is pending, optionally takes a snapshot, then releases the lock and the
   * IndexedDB connection and frees the in-memory database.
   */
  async close(options = {}) {
    if (this._closed) return;
    try {
      await this.flush();
      if (options.snapshot) await this.snapshot();
      if (this._snapshotting) await this._snapshotting.catch(() => {});
    } finally {
      this._shutdown();
      try {
        this._store.free();
      } catch {
        // already freed
      }
      try {
        this._db.close();
      } catch {
        // already closed
      }
    }
  }

  _shutdown() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._idleTimer);
    clearTimeout(this._snapshotTimer);
    globalThis.removeEventListener?.("pagehide", this._onPagehide);
    // In-flight IndexedDB transactions still complete after close().
    this._idb.close();
    this._releaseLock();
  }
}

for (const name of storeMethodNames()) {
  Object.defineProperty(PersistentCalStore.prototype, name, {
    value(...args) {
      return this._call(name, args);
    },
    writable: true,
    configurable: true,
  });
}

/**
 * Opens (or creates) the durable calstore database `name` in this browser profile.
 *
 * Options: `SQL` (the initialised sql.js module, required), `name` ("calstore"), `now`
 * (fixes the clock), `durability` ("strict": each acknowledged write is flushed to disk;
 * "relaxed" is faster and may lose the last writes on a power cut, not on a tab crash),
 * `snapshotEvery` (2000 entries), `snapshotBytes` (8 MiB of log), `idleSnapshotMs` (5000; 0
 * turns idle snapshots off), `lockTimeoutMs` (1000: how long a lock held by a page being
 * unloaded is waited for), `wasm` (passed to initCalStore).
 */
export async function openCalStore(options) {
  const {
    SQL,
    name = "calstore",
    now,
    durability = "strict",
    snapshotEvery = 2000,
    snapshotBytes = 8 * 1024 * 1024,
    idleSnapshotMs = 5000,
    lockTimeoutMs = 1000,
    wasm,
  } = options ?? {};
  if (!SQL || typeof SQL.Database !== "function") {
    throw calstoreError("InvalidData", "INVALID_DATA", "options.SQL: expected the initialised sql.js module");
  }
  if (durability !== "strict" && durability !== "relaxed") {
    throw calstoreError("InvalidData", "INVALID_DATA", 'options.durability: expected "strict" or "relaxed"');
  }
  const t0 = performance.now();
  await initCalStore(wasm);
  const releaseLock = await acquireLock(name, lockTimeoutMs);
  let idb = null;
  let db = null;
  try {
    idb = await openIdb(`calstore:${name}`);
    const { snapshot, log, dropped } = await readState(idb);
    const t1 = performance.now();
    db = snapshot ? new SQL.Database(snapshot.image) : new SQL.Database();
    const store = new CalStore(db, { now, record: true, log: log.map((e) => e.bytes) });
    const t2 = performance.now();
    const lastSeq = log.length > 0 ? log[log.length - 1].seq : snapshot ? snapshot.upto : 0;
    const persistent = new PersistentCalStore({
      _name: name,
      _store: store,
      _db: db,
      _idb: idb,
      _releaseLock: releaseLock,
      _durability: durability,
      _snapshotEvery: snapshotEvery,
      _snapshotBytes: snapshotBytes,
      _idleSnapshotMs: idleSnapshotMs,
      _seq: lastSeq,
      _logEntries: log.length,
      _logBytes: log.reduce((n, e) => n + e.bytes.byteLength, 0),
      _opened: {
        snapshotBytes: snapshot ? snapshot.image.byteLength : 0,
        replayed: store.replayed,
        droppedAfterGap: dropped,
        readMs: t1 - t0,
        restoreMs: t2 - t1,
        totalMs: 0,
      },
    });
    // A new database's schema is its first commit.
    await persistent.flush();
    persistent._opened.totalMs = performance.now() - t0;
    // A long log makes the next open slow: fold it into a snapshot now.
    if (log.length >= snapshotEvery || persistent._logBytes >= snapshotBytes) {
      persistent.snapshot().catch(() => {});
    }
    return persistent;
  } catch (e) {
    try {
      db?.close();
    } catch {
      // nothing more to free
    }
    idb?.close();
    releaseLock();
    throw e;
  }
}

/**
 * Deletes the durable database `name` (snapshot and log). Fails with "Locked" while a tab
 * has it open.
 */
export async function deleteCalStore(options = {}) {
  const { name = "calstore", lockTimeoutMs = 1000 } = options;
  const releaseLock = await acquireLock(name, lockTimeoutMs);
  try {
    await requestDone(indexedDB.deleteDatabase(`calstore:${name}`), `deleting ${name}`);
  } finally {
    releaseLock();
  }
}
