// Types of calstore-wasm (hand-written; the package's "types" entry).
//
// `CalStore` is the synchronous API exported by the WebAssembly module (wasm/src/api.rs);
// `PersistentCalStore` has the same store methods, each returning a Promise that resolves
// once the call's writes are durable in IndexedDB (wasm/js/calstore.js).

// ---- values ---------------------------------------------------------------------------------

/** A UTC time as calstore stores it: `YYYYMMDDTHHMMSSZ`, e.g. `"20261123T080000Z"`. */
export type UtcTime = string;

/**
 * A time given to calstore: `YYYYMMDDTHHMMSSZ`, `YYYYMMDD` (midnight UTC), a `Date`, or
 * milliseconds since the epoch.
 */
export type TimeInput = string | Date | number;

/** A recurrence id as stored (e.g. `"20261125T080000Z"`); `null`/`undefined`: the whole event. */
export type Rid = string | null | undefined;

/** iCalendar text, or its UTF-8 bytes. */
export type IcsInput = string | Uint8Array;

/** A free/busy period, the shape of `calstore freebusy --format json`. */
/** What a committed write is after an event (spec §C.3). */
export type Survival = "kept" | "last_snapshot" | "shutdown_snapshot" | "kept_once_logged" | "lost";

/** What one storage class survives. */
export interface StorageGuarantee {
  class: "DiskOnly" | "MemoryAndDisk" | "MemoryWithSnapshots";
  /** The tab or worker dies. */
  processCrash: Survival;
  /** The database server dies (the same as processCrash in a browser). */
  serverCrash: Survival;
  /** The OS crashes or the power fails. */
  osCrash: Survival;
  /** A clean reload. */
  cleanRestart: Survival;
}

/** The storage-class guarantee table of a backend, with what qualifies it. */
export interface StorageGuarantees {
  backend: string;
  rows: StorageGuarantee[];
  notes: string[];
}

export interface Period {
  start: UtcTime;
  end: UtcTime;
  uid: string | null;
  recurrenceid: string | null;
  /** `"OPAQUE"`, `"TRANSPARENT"` or `"ORG"` (an organiser who does not attend); null: opaque. */
  transp: string | null;
  summary: string | null;
  organiser: string | null;
}

/** A period given to calstore; only `start` and `end` are required. */
export interface PeriodInput {
  start: TimeInput;
  end: TimeInput;
  uid?: string | null;
  recurrenceid?: string | null;
  transp?: string | null;
  summary?: string | null;
  organiser?: string | null;
}

/** A counter-proposal's offered period. */
export interface Offer extends Period {
  /** When the offer lapses; null: never. */
  expires: UtcTime | null;
}

export interface OfferInput extends PeriodInput {
  expires?: TimeInput | null;
}

/** A reservation recorded against a quota. */
export interface Entry extends Period {
  /** The resource booked. */
  attendee: string | null;
}

/** A stored object: a parent event (`rid: null`) or a recurrence. */
export interface ObjectRef {
  uid: string;
  rid: string | null;
}

export interface ObjectRefInput {
  uid: string;
  rid?: string | null;
}

/** One entry of the request queue. */
export interface QueuedRequest {
  uid: string;
  rid: string | null;
  /** null for a plain request; `"COUNTER"` when a counter-proposal waits. */
  kind: string | null;
}

export interface QueuedRequestInput {
  uid: string;
  rid?: string | null;
  kind?: string | null;
}

/** The free/busy providers: events whose periods are extended as time passes. */
export interface Providers {
  /** The instant their free/busy has been generated up to. */
  datetime: UtcTime | null;
  providers: ObjectRef[];
}

/** What `importIcs` did. */
export interface ImportReport {
  parents: number;
  recurrences: number;
  /** Distinct UIDs touched. */
  uids: number;
  /** Free/busy periods now held for those UIDs. */
  periods: number;
  /** UIDs listed as providers (periods continue past the window). */
  providers: number;
  /**
   * What reading the input repaired or skipped (lenient import, the default), in input order;
   * at most 1000, the rest counted in `notesOmitted`.
   */
  notes: RepairNote[];
  notesOmitted: number;
  /** Stored overrides deleted because a newer parent made them obsolete (RFC 5546 §2.1.5). */
  obsoleteOverrides: number;
}

/** One repair made while reading iCalendar input. */
export interface RepairNote {
  /** The 1-based input line (a property's, or the BEGIN:VEVENT line of a whole event). */
  line: number;
  /** The event's UID (a derived one if it had none); null outside any event. */
  uid: string | null;
  /** What was wrong. */
  problem: string;
  /** What was done. */
  action: string;
  /** The note on one line, as the CLI prints it: `line N (UID "u"): problem: action`. */
  message: string;
}

/** One entry of the change journal (the latest change of a key). */
export interface Change {
  /** The table whose rows changed (`objects`, `recurrences`, `freebusy`, `requests`, …). */
  table: string;
  /** The key within the owner: a JSON array of strings and nulls, e.g. `'["uid",null]'`. */
  key: string;
  /** The revision of the write that last changed the key. */
  revision: number;
  operation: "upsert" | "delete";
}

/** The answer of a quota check or reservation; durations are in seconds. */
export interface QuotaDecision {
  decision: "ACCEPTED" | "DECLINED";
  /** Why it was declined; null when accepted. */
  reason: "NoAllocation" | "OpenEnded" | "Exceeded" | null;
  /** The explanation imip-agent sends with a decline; null when accepted. */
  message: string | null;
  /** The group the organiser was counted in. */
  group: string;
  /** What the booking asks for. */
  requested: number;
  /** Already reserved (only with reason `"Exceeded"`). */
  usage: number | null;
  /** The group's limit (only with reason `"Exceeded"`). */
  limit: number | null;
}

/** How events are expanded into free/busy (the CLI's `--tz`, `--window-days`, `--expand-until`). */
export interface RecordOptions {
  /** The user's zone for floating times and dates (IANA name); default UTC. */
  tz?: string;
  /** Generate free/busy for this many days from now (1–36600); default 100. */
  windowDays?: number;
  /** Generate free/busy up to this instant (instead of windowDays). */
  expandUntil?: TimeInput;
  /**
   * The bounded past: occurrences of recurring events that end before this instant are not
   * stored; default 365 days before now (or before the window end if that is earlier).
   */
  expandFrom?: TimeInput;
  /** Refuse an object with more instances than this inside the window. */
  maxInstances?: number;
  /** When recording a parent, delete its stored recurrences first. */
  replaceRecurrences?: boolean;
}

export interface ImportOptions extends RecordOptions {
  /**
   * Refuse the whole input at its first problem (an `InvalidData` error), instead of
   * repairing or skipping what mainstream calendar software gets past (the default, with a
   * note per repair in the report).
   */
  strict?: boolean;
  /** Skip events that do not name the user as organiser or attendee. */
  onlyInvolving?: boolean;
  /** Called after each slice of UIDs (500 at most), the last time with done === total. */
  onProgress?: (done: number, total: number) => void;
}

/** A time range; either side may be left open. */
export interface TimeRange {
  /** Only periods ending after this instant. */
  from?: TimeInput | null;
  /** Only periods starting before this instant. */
  to?: TimeInput | null;
}

/** A booking given as one event's iCalendar text. */
export interface IcsBooking extends RecordOptions {
  ics: IcsInput;
  /** Default: the event's ORGANIZER. */
  organiser?: string;
  /** The resource booked, recorded with the entries; default: the quota's name. */
  attendee?: string;
}

/** A booking given as periods. */
export interface PeriodsBooking {
  organiser: string;
  periods: PeriodInput[];
  /** Default `"calstore-booking"`. */
  uid?: string;
  rid?: string | null;
  /** True if the event recurs without end (declined under a finite limit). */
  openEnded?: boolean;
  /** The resource booked; default: the quota's name. */
  attendee?: string;
}

export type Booking = IcsBooking | PeriodsBooking;

/** Options of `new CalStore(db, options)`. */
export interface CalStoreOptions {
  /** Fixes the clock (default: `Date.now()`). */
  now?: TimeInput | null;
  /** Record committed write transactions for `takeCommits()` (persistence). */
  record?: boolean;
  /** Write-ahead log entries to replay, in order, before the store opens. */
  log?: Uint8Array[];
}

/** The sql.js `Database` calstore runs on (the part it needs). */
export interface SqlJsDatabase {
  prepare(sql: string): unknown;
  run(sql: string): unknown;
  export(): Uint8Array;
  close(): void;
}

/** The initialised sql.js module (`await initSqlJs()`). */
export interface SqlJsStatic {
  Database: new (data?: ArrayLike<number> | null) => SqlJsDatabase;
}

/** Error `name`s; every Error calstore throws also has a matching `code` (`"NOT_FOUND"`, …). */
export type CalStoreErrorName =
  | "InvalidData"
  | "NotFound"
  | "AlreadyExists"
  | "SchemaTooNew"
  | "UniqueViolation"
  | "ForeignKeyViolation"
  | "NotNullViolation"
  | "CheckViolation"
  | "Busy"
  | "SerializationFailure"
  | "DecodeError"
  | "DatabaseError"
  | "ReplayFailed"
  | "Locked"
  | "StorageError"
  | "Closed";

/** The shape of every error calstore throws. */
export interface CalStoreError extends Error {
  name: CalStoreErrorName;
  /** `name` in SCREAMING_SNAKE_CASE: `"INVALID_DATA"`, `"NOT_FOUND"`, `"LOCKED"`, … */
  code: string;
  /** With `SchemaTooNew`: the version found and the newest this build knows. */
  found?: number;
  known?: number;
}

// ---- the store ------------------------------------------------------------------------------

/** Every store operation; `CalStore` has them synchronously, `PersistentCalStore` as Promises. */
export interface CalStoreMethods {
  // users
  users(): string[];
  userExists(user: string): boolean;

  // importing and recording
  importIcs(user: string, ics: IcsInput, options?: ImportOptions): ImportReport;
  refreshFreebusy(user: string, uid: string, options?: RecordOptions): Period[];
  extendFreebusy(user: string, until: TimeInput, tz?: string | null): number;
  canSchedule(user: string, periods: PeriodInput[], uid: string, rid?: Rid): boolean;

  // events
  getEvents(user: string): string[];
  getCancelledEvents(user: string): string[];
  getAllEvents(user: string, cancelled?: boolean | null): ObjectRef[];
  getEvent(user: string, uid: string, rid?: Rid, cancelled?: boolean | null): string | null;
  getRecurrences(user: string, uid: string): string[];
  getActiveRecurrences(user: string, uid: string): string[];
  getCancelledRecurrences(user: string, uid: string): string[];
  setEvent(user: string, uid: string, rid: Rid, text: string): void;
  cancelEvent(user: string, uid: string, rid?: Rid, options?: RecordOptions): boolean;
  uncancelEvent(user: string, uid: string, rid?: Rid, options?: RecordOptions): boolean;
  removeEvent(user: string, uid: string, rid?: Rid, options?: RecordOptions): boolean;

  // cancellations
  removeCancellation(user: string, uid: string, rid?: Rid): boolean;
  removeCancellations(user: string, uid: string, rid?: Rid): number;

  // counter-proposals
  getCounters(user: string, uid: string, rid?: Rid): string[];
  getCounter(user: string, other: string, uid: string, rid?: Rid): string | null;
  setCounter(user: string, other: string, uid: string, rid: Rid, text: string): void;
  removeCounter(user: string, other: string, uid: string, rid?: Rid): boolean;
  removeCounters(user: string, uid: string, rid?: Rid): number;

  // request queue
  getRequests(user: string): QueuedRequest[];
  setRequests(user: string, requests: QueuedRequestInput[]): void;
  setRequest(user: string, uid: string, rid?: Rid, kind?: string | null): void;
  queueRequest(user: string, uid: string, rid?: Rid, kind?: string | null): boolean;
  dequeueRequest(user: string, uid: string, rid?: Rid): boolean;
  hasRequest(user: string, uid: string, rid?: Rid, kind?: string | null, strict?: boolean | null): boolean;

  // own free/busy
  getFreebusy(user: string, range?: TimeRange | null): Period[];
  freebusyIcs(user: string, range?: TimeRange | null): string;
  setFreebusy(user: string, periods: PeriodInput[]): void;
  addFreebusy(user: string, periods: PeriodInput[]): number;
  removeEventPeriods(user: string, uid: string, rid?: Rid): number;

  // free/busy of others
  getFreebusyOthers(user: string): string[];
  getFreebusyForOther(user: string, other: string, range?: TimeRange | null): Period[];
  setFreebusyForOther(user: string, other: string, periods: PeriodInput[]): void;
  replaceFreebusyForOther(user: string, other: string, from: TimeInput, to: TimeInput, periods: PeriodInput[]): void;
  updateFreebusyForOtherEvent(user: string, other: string, uid: string, rid: Rid, periods: PeriodInput[]): void;

  // offers
  getOffers(user: string, range?: TimeRange | null): Offer[];
  setOffers(user: string, offers: OfferInput[]): void;
  updateOffersForEvent(user: string, uid: string, rid: Rid, offers: OfferInput[]): void;

  // providers
  getProviders(user: string): Providers | null;
  setProviders(user: string, datetime: UtcTime | null | undefined, providers: ObjectRefInput[]): void;
  appendProvider(user: string, uid: string, rid?: Rid): boolean;
  removeProvider(user: string, uid: string, rid?: Rid): boolean;

  // journal (quotas)
  quotas(): string[];
  quotaUsers(quota: string): string[];
  getLimits(quota: string): Record<string, string>;
  setLimit(quota: string, group: string, limit: string): void;
  setLimits(quota: string, limits: Record<string, string>): void;
  getGroups(quota: string): Record<string, string>;
  setGroup(quota: string, user: string, group: string): void;
  setGroups(quota: string, groups: Record<string, string>): void;
  getDelegates(quota: string): string[];
  setDelegates(quota: string, delegates: string[]): void;
  getEntries(quota: string, group: string, range?: TimeRange | null): Entry[];
  removeFromQuota(quota: string, group: string, attendee: string, uid: string): number;
  groupOf(quota: string, organiser: string): string;
  checkQuota(quota: string, booking: Booking): QuotaDecision;
  reserve(quota: string, booking: Booking): QuotaDecision;
  journalRevision(quota: string): number;
  journalChangesSince(quota: string, since: number | bigint): Change[];

  // change journal
  revision(user: string): number;
  changesSince(user: string, since: number | bigint): Change[];

  // the sync client (calstore-sync.js moves these messages; JSON text in and out)
  /** True if the database is a replica (after `syncInit`). */
  isReplica(): boolean;
  /** Makes the database a replica of `server` for `login` (or updates a replica's settings). */
  syncInit(server: string, login: string, clientId: string): void;
  /** A replica setting (`server`, `login`, `client_id`, `token`, `expires`, `cursor`, `owners`, `next_seq`, `web:…`). */
  syncSetting(name: string): string | null;
  /** Sets `token`, `expires` or a `web:…` setting. */
  setSyncSetting(name: string, value: string): void;
  /** Applies a mutation (JSON) locally and records it in the outbox, in one transaction: `{"seq", "outcome"}`. */
  syncRecord(mutation: string): string;
  /** The outbox as JSON: `[{seq, mutation, state, result, created}]`. */
  syncOutbox(): string;
  /** How many mutations wait for the server. */
  syncPending(): number;
  /** The body of the next push, or null when nothing is pending. */
  syncPushRequest(max: number): string | null;
  /** Applies a push answer (its text); returns the new results as JSON. */
  syncApplyPush(response: string): string;
  /** The body of a pull's first page. */
  syncPullRequest(limit: number, refetch: boolean): string;
  /** Applies all pages of one pull with its cursor, in one transaction: `{pulled, mustRefetch, rebased, rebaseFailed, stale}` (JSON). */
  syncApplyPull(request: string, pages: string[]): string;
  /** An event's attendees other than its organiser with their answers (JSON `[{attendee, partstat, reason}]`). */
  attendeeStates(ics: string): string;
  /** The counter-proposals an attendee's copy remembers they sent (JSON `[{rid, start, end, state: "sent"|"declined", reason}]`). */
  sentProposals(ics: string): string;
  /** The counter-proposals the organiser received and has not answered (JSON `[{uid, rid, attendee, start, end, comment, summary, sequence}]`). */
  counterProposals(user: string): string;
  /** The whole stored event (parent and overrides) as one iCalendar text, or null. */
  getCompleteEvent(user: string, uid: string): string | null;
}

/** calstore over one sql.js Database, synchronous, in memory. */
export class CalStore {
  /** Opens calstore on `db`, creating or migrating the schema. Throws `SchemaTooNew`, `ReplayFailed`, … */
  constructor(db: SqlJsDatabase, options?: CalStoreOptions | null);
  /** Frees the wasm side (the Database stays open; close it yourself). */
  free(): void;
  /** The store's current time. */
  now(): UtcTime;
  /** Fixes the clock, or with null goes back to `Date.now()`. */
  setNow(now: TimeInput | null): void;
  /** Log entries of the write transactions committed since the last call (with `record: true`). */
  takeCommits(): Uint8Array[];
  /** How many committed entries wait for `takeCommits()`. */
  readonly pendingCommits: number;
  /** How many log entries were replayed on open. */
  readonly replayed: number;
  /** `"sql.js"` here; `"in-module"` for a store opened by calstore-wasm/sqlite. */
  readonly backend: "sql.js" | "in-module";
  /** What each storage class survives here (spec §C.3), as this backend can honestly promise. */
  readonly storageGuarantees: StorageGuarantees;
  /** The whole database image. */
  exportImage(): Uint8Array;
}
export interface CalStore extends CalStoreMethods {}

// ---- persistence ----------------------------------------------------------------------------

type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

export interface OpenOptions {
  /** The initialised sql.js module. */
  SQL: SqlJsStatic;
  /** The database's name (IndexedDB database `calstore:<name>`, lock `calstore:<name>`). Default "calstore". */
  name?: string;
  /** Fixes the clock (default `Date.now()`). */
  now?: TimeInput | null;
  /** IndexedDB durability of each append: "strict" (default) or "relaxed". */
  durability?: "strict" | "relaxed";
  /** Snapshot after this many log entries (default 2000). */
  snapshotEvery?: number;
  /** Snapshot after this many bytes of log (default 8 MiB). */
  snapshotBytes?: number;
  /** Snapshot after this long without writes, in ms (default 5000; 0: never when idle). */
  idleSnapshotMs?: number;
  /** How long to wait for a lock held by a page being unloaded, in ms (default 1000). */
  lockTimeoutMs?: number;
  /** What to load the WebAssembly from (see `initCalStore`). */
  wasm?: WasmInput;
}

export interface SnapshotInfo {
  /** The last log sequence number the snapshot covers. */
  upto: number;
  /** The image's size. */
  bytes: number;
  exportMs: number;
  writeMs: number;
}

export interface PersistenceStats {
  name: string;
  durability: "strict" | "relaxed";
  /** The last log sequence number handed out. */
  seq: number;
  /** Log entries (and their bytes) stored since the last snapshot. */
  logEntries: number;
  logBytes: number;
  /** Entries appended and IndexedDB transactions used since open. */
  commits: number;
  batches: number;
  snapshots: number;
  lastSnapshot: SnapshotInfo | null;
  opened: {
    snapshotBytes: number;
    replayed: number;
    /** Unacknowledged log entries found after a gap (a failed append) and deleted. */
    droppedAfterGap: number;
    readMs: number;
    restoreMs: number;
    totalMs: number;
  };
}

/**
 * A CalStore whose writes are durable: each method resolves once everything committed so far
 * is in IndexedDB (and rejects with the store's error, or a `StorageError`). Made by
 * `openCalStore`.
 */
export class PersistentCalStore {
  private constructor();
  readonly name: string;
  /** The synchronous CalStore underneath (its writes are persisted by the next call or `flush()`). */
  readonly store: CalStore;
  /** What each storage class survives here (the store's `storageGuarantees`). */
  readonly storageGuarantees: StorageGuarantees;
  now(): UtcTime;
  setNow(now: TimeInput | null): void;
  /** Resolves when every write committed so far is durable. */
  flush(): Promise<void>;
  /** Stores the image and truncates the log now, in one IndexedDB transaction. */
  snapshot(): Promise<SnapshotInfo>;
  stats(): PersistenceStats;
  /** Persists what is pending (and a snapshot if asked), then releases the lock. */
  close(options?: { snapshot?: boolean }): Promise<void>;
}
export interface PersistentCalStore extends Async<CalStoreMethods> {}

/** What wasm-bindgen's init accepts. */
export type WasmInput =
  | string
  | URL
  | Request
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<Response | BufferSource | WebAssembly.Module>;

/** Loads the WebAssembly module (once); by default fetches the .wasm next to the script. */
export function initCalStore(wasm?: WasmInput): Promise<void>;

/** Opens (or creates) a durable calstore database in this browser profile. Throws `Locked`. */
export function openCalStore(options: OpenOptions): Promise<PersistentCalStore>;

/** Deletes a durable database (snapshot and log). Throws `Locked` while a tab has it open. */
export function deleteCalStore(options?: { name?: string; lockTimeoutMs?: number }): Promise<void>;

/** The names of the store methods (those of `CalStoreMethods`), sorted. */
export function storeMethodNames(): string[];
