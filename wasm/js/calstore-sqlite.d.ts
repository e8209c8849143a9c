// Types of calstore-wasm/sqlite (hand-written): calstore with SQLite compiled into the
// WebAssembly module, the in-module backend (wasm/js/calstore-sqlite.js, wasm/src/api.rs with
// the feature sqlite-wasm). The values and the store methods are those of calstore.d.ts.

import type {
  CalStoreMethods,
  StorageGuarantees,
  TimeInput,
  UtcTime,
  WasmInput,
} from "./calstore.js";

export type {
  Booking,
  CalStoreError,
  CalStoreErrorName,
  CalStoreMethods,
  Change,
  Entry,
  IcsInput,
  ImportOptions,
  ImportReport,
  ObjectRef,
  ObjectRefInput,
  Offer,
  OfferInput,
  Period,
  PeriodInput,
  Providers,
  QueuedRequest,
  QueuedRequestInput,
  QuotaDecision,
  RecordOptions,
  RepairNote,
  Rid,
  TimeInput,
  TimeRange,
  UtcTime,
  WasmInput,
} from "./calstore.js";

/** Where an in-module database lives. */
export interface InModuleOptions {
  /**
   * `"memory"` (default): private to the store, any JavaScript context. `"opfs"`: durable,
   * in the Origin Private File System; a dedicated Worker in a secure context only.
   */
  storage?: "memory" | "opfs";
  /** With `"opfs"`: the database's name in the pool (default `"calstore.sqlite3"`). */
  path?: string;
  /** With `"opfs"`: the pool's OPFS directory (default `".calstore-sahpool"`); one per worker. */
  directory?: string;
  /** Fixes the clock (default: `Date.now()`). */
  now?: TimeInput | null;
}

/** An OPFS database to delete. */
export interface InModuleLocation {
  path?: string;
  directory?: string;
}

/** calstore on SQLite inside the WebAssembly module; synchronous. Made by `openInModule`. */
export class CalStore {
  private constructor();
  /** Opens (creating or migrating) a store. Throws `Busy` if another worker holds the OPFS files. */
  static openInModule(options?: InModuleOptions | null): Promise<CalStore>;
  /** Deletes an OPFS database that is not open (else `Busy`); resolves to whether it existed. */
  static deleteInModule(options?: InModuleLocation | null): Promise<boolean>;
  /** Closes the database and frees the wasm side. */
  free(): void;
  /** `"in-module"` (`"sql.js"` for a store over a sql.js Database). */
  readonly backend: "sql.js" | "in-module";
  /** What each storage class survives here (spec §C.3), as this backend can honestly promise. */
  readonly storageGuarantees: StorageGuarantees;
  /** The store's current time. */
  now(): UtcTime;
  /** Fixes the clock, or with null goes back to `Date.now()`. */
  setNow(now: TimeInput | null): void;
  /** The whole database image, a plain SQLite file. */
  exportImage(): Uint8Array;
}
export interface CalStore extends CalStoreMethods {}

/** Loads the WebAssembly module (once); by default fetches the .wasm next to the script. */
export function initCalStore(wasm?: WasmInput): Promise<void>;

/**
 * Loads the module if needed, then `CalStore.openInModule(options)`, retrying for
 * `lockTimeoutMs` (default 1000) while another worker holds the OPFS files (`Busy`).
 */
export function openInModule(
  options?: InModuleOptions & { wasm?: WasmInput; lockTimeoutMs?: number },
): Promise<CalStore>;

/** Loads the module if needed, then `CalStore.deleteInModule(options)`. */
export function deleteInModule(options?: InModuleLocation & { wasm?: WasmInput }): Promise<boolean>;

/** The names of the store methods (those of `CalStoreMethods`), sorted. */
export function storeMethodNames(): string[];
