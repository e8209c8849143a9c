// Types of calstore-wasm/sync (calstore-sync.js): the browser's sync client and the sharing of
// one database between tabs.

/** What the client shows a person. */
export interface SyncState {
  /** False after a failed request or the browser's `offline` event. */
  online: boolean;
  syncing: boolean;
  /** A session token is held. */
  loggedIn: boolean;
  /** No session (never logged in, logged out, or the server ended it: log in again). */
  needsLogin: boolean;
  login: string | null;
  server: string;
  /** Mutations not yet acknowledged by the server. */
  pending: number;
  /** The store's time of the last successful sync (`YYYYMMDDTHHMMSSZ`). */
  lastSync: string | null;
  /** Successful syncs since the client was attached. */
  syncs: number;
  lastError: { name: string; code: string; message: string } | null;
  /** When the next attempt after a failure is due (epoch ms). */
  nextRetry: number | null;
  /** Newest first. */
  conflicts: Conflict[];
  storage: StorageState;
}

/** What the browser may lose, and what was done about it. */
export interface StorageState {
  /** `navigator.storage.persisted()`: true if the browser keeps the data; null if unknown. */
  persisted: boolean | null;
  /** The database was a replica and is gone (eviction, site data cleared): log in to fetch it again. */
  lost: boolean;
  /** A lost database was fetched again (and its mirrored outbox recorded again). */
  repaired: boolean;
  /** Unsynced mutations kept outside the database (localStorage) for a repair. */
  mirrored: number;
  quota: number | null;
  usage: number | null;
}

/** A mutation that did not apply as made, or a booking decided. */
export interface Conflict {
  seq: number;
  kind: string | null;
  user: string | null;
  uid: string | null;
  /** The SUMMARY of what the mutation wrote (a record), if any. */
  summary: string | null;
  status: "applied" | "superseded" | "rejected";
  reason: string | null;
  /** The versions that won (superseded). */
  won: { uid: string; rid: string | null; status: string; sequence: number; dtstamp: string | null; summary: string | null }[];
  booking: { quota: string; decision: "accepted" | "declined"; reason?: string | null } | null;
  at: string;
}

/** One address's busy times from the server (`SyncClient.freeBusy`). */
export interface UserBusy {
  user: string;
  /** False when the server does not tell: not a user there, or one who does not share free/busy. */
  shared: boolean;
  /** Merged busy periods in the window, without event details. */
  busy: { start: Date; end: Date }[];
}

/** A mutation of the protocol (docs/sync-protocol.md), e.g. `{kind: "record", user, ics}`. */
export type Mutation = { kind: string; [field: string]: unknown };

export interface SyncSummary {
  pushed: number;
  applied: number;
  superseded: number;
  rejected: number;
  pulled: number;
  bookings: { seq: number; quota: string; decision: string; reason?: string | null }[];
  pending: number;
}

/** What the client needs of a store: CalStore, PersistentCalStore, or another tab's proxy. */
export interface SyncStore {
  isReplica(): boolean | Promise<boolean>;
  syncInit(server: string, login: string, clientId: string): void | Promise<void>;
  syncSetting(name: string): string | null | Promise<string | null>;
  setSyncSetting(name: string, value: string): void | Promise<void>;
  syncRecord(mutation: string): string | Promise<string>;
  syncOutbox(): string | Promise<string>;
  syncPending(): number | Promise<number>;
  syncPushRequest(max: number): string | null | Promise<string | null>;
  syncApplyPush(response: string): string | Promise<string>;
  syncPullRequest(limit: number, refetch: boolean): string | Promise<string>;
  syncApplyPull(request: string, pages: string[]): string | Promise<string>;
  now(): string | Promise<string>;
}

export interface SyncOptions {
  /** The server's base URL (default: the page's origin). */
  server?: string;
  /** The database's name (for the storage-loss mark; default "calstore"). */
  name?: string;
  fetch?: typeof fetch;
  /** The timer (default 60 000 ms). */
  intervalMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A write is pushed this long after it was made (default 300 ms). */
  debounceMs?: number;
  /** The client name sent at login (the server's connection log). */
  client?: string;
  /** Where the replica mark and the outbox mirror are kept (default localStorage; null: nowhere). */
  marks?: Storage | null;
}

/** Errors: `NetworkError` (no answer; `transient`), `ServerError` (`status`, `error`), `NotLoggedIn`. */
export interface SyncError extends Error {
  name: "NetworkError" | "ServerError" | "NotLoggedIn" | "InvalidData";
  code: string;
  status?: number;
  error?: string;
  transient?: boolean;
}

export class SyncClient {
  static attach(db: SyncStore, options?: SyncOptions): Promise<SyncClient>;
  readonly state: SyncState;
  readonly conflicts: Conflict[];
  onSyncState(listener: (state: SyncState) => void): () => void;
  /** Logs in; the first login makes the database a replica and pulls everything. */
  login(login: string, password: string): Promise<SyncSummary>;
  logout(): Promise<void>;
  /** Applies a mutation locally and records it in the outbox (one durable commit). */
  write(mutation: Mutation): Promise<{ seq: number; outcome: "applied" | "pending" | "superseded" | "booked" }>;
  /** Push, then pull, now. */
  sync(): Promise<SyncSummary>;
  /** Sync on `online`, on the timer, after writes, with back-off. */
  start(): void;
  stop(): void;
  clearConflicts(): Promise<void>;
  /** `navigator.storage.persist()`; the answer lands in `state.storage.persisted`. */
  requestPersistence(): Promise<boolean | null>;
  /** Other users' busy times (POST /sync/v1/freebusy); needs the network. Times: Dates or `YYYYMMDDTHHMMSSZ`. */
  freeBusy(users: string[], from: Date | string, to: Date | string): Promise<UserBusy[]>;
}

export interface SharedOptions {
  name?: string;
  /** Opens the database in the tab that owns it. */
  open: () => Promise<SyncStore>;
  sync?: SyncOptions;
  callTimeoutMs?: number;
}

export class SharedCalendar {
  readonly name: string;
  readonly role: "owner" | "follower";
  readonly state: SyncState | null;
  /** The database and client, in the owner tab only. */
  db: unknown;
  sync: SyncClient | null;
  /** A store method, or `login`, `logout`, `sync`, `write`, `clearConflicts`, `requestPersistence`, `freeBusy`, run by the owner tab. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  onSyncState(listener: (state: SyncState) => void): () => void;
  onChange(listener: (change: { method: string }) => void): () => void;
  onRole(listener: (role: "owner") => void): () => void;
}

/** Opens a database shared by the tabs of this profile (Web Locks owner + BroadcastChannel). */
export function openShared(options: SharedOptions): Promise<SharedCalendar>;
