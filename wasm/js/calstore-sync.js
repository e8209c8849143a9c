// calstore-wasm/sync: the browser's sync client (docs/sync-protocol.md) and the sharing of one
// database between the tabs of a profile.
//
//   import { openCalStore } from "calstore-wasm";
//   import { SyncClient, openShared } from "calstore-wasm/sync";
//
//   const db = await openCalStore({ SQL, name: "calendar" });
//   const sync = await SyncClient.attach(db, { server: location.origin, name: "calendar" });
//   await sync.login("alice", password);          // makes the database a replica, pulls
//   await sync.write({ kind: "record", user: "mailto:alice@example.com", ics });
//   sync.start();                                  // on `online`, on a timer, with back-off
//   sync.onSyncState((s) => render(s.pending, s.online, s.conflicts));
//
// The protocol is the core's (calstore_core::sync::client, exported as CalStore.sync*): a
// write and its outbox entry are one transaction, a pull and its cursor another, and each
// transaction is one durable commit (an IndexedDB log entry on sql.js, a SQLite commit on
// OPFS in-module). This file only moves the messages with fetch, decides when to sync, and
// keeps what a person should see (pending count, conflicts, the state of the storage).
//
// `db` is anything whose methods may be awaited: a PersistentCalStore, a CalStore (in memory or
// in-module in a Worker), or the proxy of another tab (`openShared`).

/** An Error with a stable `name` and `code`, as the rest of the package throws. */
function syncError(name, code, message, extra = {}) {
  const e = new Error(message);
  e.name = name;
  e.code = code;
  Object.assign(e, extra);
  return e;
}

/** Mutations per push. */
const PUSH_BATCH = 500;
/** Items per pull page. */
const PULL_PAGE = 2000;
/** Conflicts kept for display. */
const MAX_CONFLICTS = 50;
/** The largest outbox mirrored to localStorage (characters of JSON). */
const MAX_MIRROR = 1024 * 1024;

function randomId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The localStorage of this context, or null (a Worker, private mode refusing it). */
function localStore() {
  try {
    const ls = globalThis.localStorage;
    if (!ls) return null;
    const probe = "calstore:probe";
    ls.setItem(probe, "1");
    ls.removeItem(probe);
    return ls;
  } catch {
    return null;
  }
}

/**
 * The sync client of one replica database. Use `SyncClient.attach(db, options)`.
 *
 * State (`state`, and every change to `onSyncState` listeners): `{ online, syncing, loggedIn,
 * needsLogin, login, server, pending, lastSync, lastError, nextRetry, conflicts, storage }`.
 */
export class SyncClient {
  /** @internal */
  constructor(db, options) {
    this._db = db;
    this._name = options.name ?? "calstore";
    this._server = (options.server ?? globalThis.location?.origin ?? "").replace(/\/+$/, "");
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._intervalMs = options.intervalMs ?? 60_000;
    this._minBackoffMs = options.minBackoffMs ?? 1_000;
    this._maxBackoffMs = options.maxBackoffMs ?? 300_000;
    this._debounceMs = options.debounceMs ?? 300;
    this._clientName = options.client ?? "calstore-web/0.1";
    this._marks = options.marks === undefined ? localStore() : options.marks;
    this._listeners = new Set();
    this._password = null; // kept in memory only, to log in again when a session ends
    this._running = null;
    this._again = false;
    this._timer = null;
    this._failures = 0;
    this._started = false;
    this._state = {
      online: globalThis.navigator?.onLine ?? true,
      syncing: false,
      loggedIn: false,
      needsLogin: true,
      login: null,
      server: this._server,
      pending: 0,
      lastSync: null,
      syncs: 0,
      lastError: null,
      nextRetry: null,
      conflicts: [],
      storage: { persisted: null, lost: false, repaired: false, mirrored: 0, quota: null, usage: null },
    };
  }

  /**
   * A client for `db`. Options: `server` (base URL; default the page's origin), `name` (the
   * database's name, for the storage-loss mark), `fetch`, `intervalMs` (60 000: the timer),
   * `minBackoffMs`/`maxBackoffMs` (1 000 / 300 000), `debounceMs` (300: a write is pushed this
   * long after it was made), `marks` (a Storage for the replica mark and the outbox mirror;
   * default localStorage, null for none).
   */
  static async attach(db, options = {}) {
    const client = new SyncClient(db, options);
    await client._load();
    return client;
  }

  async _load() {
    const db = this._db;
    const replica = await db.isReplica();
    const mark = this._readMark();
    if (replica) {
      const server = await db.syncSetting("server");
      if (server) this._server = server;
      this._state.login = await db.syncSetting("login");
      this._state.loggedIn = Boolean(await db.syncSetting("token"));
      this._state.needsLogin = !this._state.loggedIn;
      this._state.conflicts = JSON.parse((await db.syncSetting("web:conflicts")) ?? "[]");
      this._state.server = this._server;
      this._writeMark({ login: this._state.login, server: this._server, clientId: await db.syncSetting("client_id") });
    } else if (mark) {
      // The mark says this profile held a replica, the database says it holds none: the
      // browser dropped the storage (eviction, cleared site data, private mode ended).
      this._state.storage.lost = true;
      this._state.login = mark.login;
      this._server = mark.server || this._server;
      this._state.server = this._server;
      this._state.storage.mirrored = this._readMirror().length;
    }
    await this._refreshPending();
    await this._storageEstimate();
  }

  // ---- state ------------------------------------------------------------------------------

  /** The current state (a copy). */
  get state() {
    return structuredClone(this._state);
  }

  /** Calls `listener(state)` on every change (and once now); returns the unsubscribe function. */
  onSyncState(listener) {
    this._listeners.add(listener);
    listener(this.state);
    return () => this._listeners.delete(listener);
  }

  _emit(patch = {}) {
    Object.assign(this._state, patch);
    const s = this.state;
    for (const l of this._listeners) {
      try {
        l(s);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  async _refreshPending() {
    const replica = await this._db.isReplica();
    this._state.pending = replica ? await this._db.syncPending() : this._readMirror().length;
  }

  async _storageEstimate() {
    const storage = globalThis.navigator?.storage;
    try {
      if (storage?.persisted) this._state.storage.persisted = await storage.persisted();
      if (storage?.estimate) {
        const e = await storage.estimate();
        this._state.storage.quota = e.quota ?? null;
        this._state.storage.usage = e.usage ?? null;
      }
    } catch {
      // not available here
    }
  }

  /**
   * Asks the browser to keep this site's storage (`navigator.storage.persist()`); the answer
   * is `state.storage.persisted`. A refusal means the browser may evict the database: the
   * outbox is mirrored to localStorage and a loss is repaired at the next login.
   */
  async requestPersistence() {
    const storage = globalThis.navigator?.storage;
    let persisted = null;
    try {
      persisted = storage?.persist ? await storage.persist() : null;
    } catch {
      persisted = false;
    }
    this._state.storage.persisted = persisted;
    await this._storageEstimate();
    this._emit();
    return persisted;
  }

  // ---- marks (what survives a lost database) ------------------------------------------------

  _readMark() {
    try {
      const text = this._marks?.getItem(`calstore-replica:${this._name}`);
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  }

  _writeMark(mark) {
    try {
      this._marks?.setItem(`calstore-replica:${this._name}`, JSON.stringify(mark));
    } catch {
      // localStorage full or refused: loss detection is then best effort
    }
  }

  _readMirror() {
    try {
      const text = this._marks?.getItem(`calstore-outbox:${this._name}`);
      return text ? JSON.parse(text) : [];
    } catch {
      return [];
    }
  }

  async _mirrorOutbox() {
    if (!this._marks) return;
    try {
      const pending = JSON.parse(await this._db.syncOutbox())
        .filter((e) => e.state === "pending")
        .map((e) => e.mutation);
      const text = JSON.stringify(pending);
      if (text.length <= MAX_MIRROR) this._marks.setItem(`calstore-outbox:${this._name}`, text);
      else this._marks.removeItem(`calstore-outbox:${this._name}`);
    } catch {
      // best effort: the database is the durable copy
    }
  }

  // ---- HTTP -------------------------------------------------------------------------------

  async _post(path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    let resp;
    try {
      resp = await this._fetch(`${this._server}${path}`, { method: "POST", headers, body });
    } catch (e) {
      throw syncError("NetworkError", "NETWORK", `cannot reach the server: ${e.message ?? e}`, { transient: true });
    }
    const text = await resp.text();
    if (resp.ok) return text;
    let err = { error: "unknown", message: text.slice(0, 200) };
    try {
      err = JSON.parse(text);
    } catch {
      // not the protocol's error shape
    }
    const transient = resp.status === 429 || resp.status === 503 || resp.status >= 500;
    throw syncError("ServerError", (err.error ?? "unknown").toUpperCase(), `${resp.status} ${err.error}: ${err.message}`, {
      status: resp.status,
      error: err.error,
      transient,
    });
  }

  /**
   * Logs in (POST /sync/v1/login). The first login makes the database a replica of the server
   * for that account and pulls everything; a database that was lost is made again and the
   * mirrored outbox recorded again. Resolves with what the sync did.
   */
  async login(login, password) {
    const text = await this._post(
      "/sync/v1/login",
      JSON.stringify({ login, password, client: this._clientName }),
    );
    const answer = JSON.parse(text);
    const db = this._db;
    let replica = await db.isReplica();
    if (replica) {
      const was = await db.syncSetting("login");
      if (was && was !== answer.login) {
        throw syncError(
          "InvalidData",
          "INVALID_DATA",
          `this database is the replica of ${was}; log in as ${was} or use another database`,
        );
      }
    } else {
      await db.syncInit(this._server, answer.login, randomId());
      replica = true;
    }
    await db.setSyncSetting("token", answer.token);
    await db.setSyncSetting("expires", answer.expires);
    this._password = password;
    const clientId = await db.syncSetting("client_id");
    this._writeMark({ login: answer.login, server: this._server, clientId });
    if (this._state.storage.lost) {
      // Record the outbox the browser kept outside the lost database again, under the new
      // client id (the server's mark of the old one must not answer them from its record).
      const mirror = this._readMirror();
      for (const mutation of mirror) {
        try {
          await db.syncRecord(JSON.stringify(mutation));
        } catch {
          // one that no longer applies locally is left to the server's state
        }
      }
      this._state.storage.lost = false;
      this._state.storage.repaired = true;
      this._state.storage.mirrored = 0;
    }
    this._emit({ login: answer.login, loggedIn: true, needsLogin: false, lastError: null });
    return this.sync();
  }

  /** Ends the session on the server (when reachable) and forgets the token. */
  async logout() {
    const token = await this._db.syncSetting("token");
    if (token) {
      try {
        await this._post("/sync/v1/logout", "", token);
      } catch {
        // offline: the session ends by itself
      }
      await this._db.setSyncSetting("token", "");
    }
    this._password = null;
    this._emit({ loggedIn: false, needsLogin: true });
  }

  // ---- writes -----------------------------------------------------------------------------

  /**
   * Makes a mutation locally and records it in the outbox (one durable commit), then pushes
   * it soon if online. Resolves with `{seq, outcome}` (`pending` for a quota booking).
   */
  async write(mutation) {
    const done = JSON.parse(await this._db.syncRecord(JSON.stringify(mutation)));
    await this._refreshPending();
    await this._mirrorOutbox();
    this._emit();
    if (this._started && this._state.online) this._schedule(this._debounceMs);
    return done;
  }

  /** The conflicts shown (newest first): `[{seq, kind, uid, status, reason, won, booking, at}]`. */
  get conflicts() {
    return this.state.conflicts;
  }

  /** Forgets the conflicts shown. */
  async clearConflicts() {
    await this._db.setSyncSetting("web:conflicts", "[]");
    this._emit({ conflicts: [] });
  }

  // ---- other users' busy times -----------------------------------------------------------

  /**
   * The busy times of other users of the server (attendees, rooms) for a scheduling view
   * (POST /sync/v1/freebusy): `users` are calendar addresses (`mailto:…`, at most 100),
   * `from`/`to` Dates or `YYYYMMDDTHHMMSSZ` (at most 92 days apart). Resolves with
   * `[{user, shared, busy: [{start, end}]}]` in the order asked (Dates; merged periods, no
   * event details); `shared` is false for an address the server does not tell about (not a
   * user there, or one who does not share free/busy). Needs the network: NetworkError offline.
   */
  async freeBusy(users, from, to) {
    const text = await this._authed(
      "/sync/v1/freebusy",
      JSON.stringify({ users, from: utcText(from), to: utcText(to) }),
    );
    return JSON.parse(text).users.map((u) => ({
      user: u.user,
      shared: u.shared,
      busy: u.busy.map(([start, end]) => ({ start: utcDate(start), end: utcDate(end) })),
    }));
  }

  // ---- syncing ----------------------------------------------------------------------------

  /**
   * Pushes the outbox and pulls, now. Concurrent calls share one run (a call during a run
   * waits for it and runs once more). Resolves with `{pushed, applied, superseded, rejected,
   * pulled, bookings, pending}`; rejects with NetworkError or ServerError.
   */
  sync() {
    if (this._running) {
      this._again = true;
      return this._running;
    }
    this._running = (async () => {
      let summary;
      try {
        do {
          this._again = false;
          summary = await this._exchange();
        } while (this._again);
        this._failures = 0;
        return summary;
      } finally {
        this._running = null;
      }
    })();
    return this._running;
  }

  async _token() {
    return this._db.syncSetting("token");
  }

  async _authed(path, body) {
    let token = await this._token();
    try {
      return await this._post(path, body, token);
    } catch (e) {
      if (e.status === 401 && this._password) {
        const text = await this._post(
          "/sync/v1/login",
          JSON.stringify({ login: this._state.login, password: this._password, client: this._clientName }),
        );
        const answer = JSON.parse(text);
        await this._db.setSyncSetting("token", answer.token);
        await this._db.setSyncSetting("expires", answer.expires);
        token = answer.token;
        return this._post(path, body, token);
      }
      if (e.status === 401) {
        await this._db.setSyncSetting("token", "");
        this._emit({ loggedIn: false, needsLogin: true });
      }
      throw e;
    }
  }

  async _exchange() {
    const db = this._db;
    if (!(await db.isReplica())) {
      throw syncError("NotLoggedIn", "NOT_LOGGED_IN", "log in first: this database is not a replica yet");
    }
    this._emit({ syncing: true });
    const summary = { pushed: 0, applied: 0, superseded: 0, rejected: 0, pulled: 0, bookings: [], pending: 0 };
    try {
      const mutations = new Map(JSON.parse(await db.syncOutbox()).map((e) => [e.seq, e.mutation]));
      const conflicts = [];
      for (;;) {
        const req = await db.syncPushRequest(PUSH_BATCH);
        if (req === null || req === undefined) break;
        const answer = await this._authed("/sync/v1/push", req);
        const fresh = JSON.parse(await db.syncApplyPush(answer));
        if (fresh.length === 0) {
          throw syncError("ServerError", "NO_PROGRESS", "the server processed no mutation; trying again later", {
            transient: true,
          });
        }
        for (const r of fresh) {
          summary.pushed += 1;
          summary[r.status] += 1;
          const m = mutations.get(r.seq) ?? {};
          if (r.booking) summary.bookings.push({ seq: r.seq, ...r.booking });
          if (r.status !== "applied" || r.booking) {
            conflicts.push({
              seq: r.seq,
              kind: m.kind ?? null,
              user: m.user ?? null,
              uid: m.uid ?? uidOf(m.ics) ?? null,
              summary: summaryOf(m.ics),
              status: r.status,
              reason: r.reason ?? null,
              won: (r.server ?? []).map((v) => ({
                uid: v.uid,
                rid: v.rid,
                status: v.status,
                sequence: v.sequence,
                dtstamp: v.dtstamp,
                summary: summaryOf(v.text),
              })),
              booking: r.booking ?? null,
              at: await db.now(),
            });
          }
        }
      }
      let refetch = false;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const first = await db.syncPullRequest(PULL_PAGE, refetch);
        const firstObj = JSON.parse(first);
        const pages = [];
        let body = first;
        for (;;) {
          const text = await this._authed("/sync/v1/pull", body);
          pages.push(text);
          const { more, cursor } = pageTail(text);
          if (!more) break;
          body = JSON.stringify({ ...firstObj, cursor, keys: [] });
        }
        const outcome = JSON.parse(await db.syncApplyPull(first, pages));
        summary.pulled += outcome.pulled;
        if (!outcome.mustRefetch) break;
        refetch = true;
      }
      if (conflicts.length > 0) {
        const kept = [...conflicts.reverse(), ...this._state.conflicts].slice(0, MAX_CONFLICTS);
        await db.setSyncSetting("web:conflicts", JSON.stringify(kept));
        this._state.conflicts = kept;
      }
      await this._refreshPending();
      await this._mirrorOutbox();
      summary.pending = this._state.pending;
      this._emit({
        syncing: false,
        lastSync: await db.now(),
        syncs: this._state.syncs + 1,
        lastError: null,
        nextRetry: null,
        online: true,
      });
      return summary;
    } catch (e) {
      await this._refreshPending().catch(() => {});
      const offline = e.name === "NetworkError";
      this._emit({
        syncing: false,
        lastError: { name: e.name, code: e.code, message: e.message },
        online: offline ? false : this._state.online,
      });
      throw e;
    }
  }

  /**
   * Syncs on `online`, every `intervalMs`, soon after each write, and with exponential
   * back-off after a failure; listens to `online`/`offline`. `stop()` undoes it.
   */
  start() {
    if (this._started) return;
    this._started = true;
    this._onOnline = () => {
      this._failures = 0;
      this._emit({ online: true });
      this._schedule(0);
    };
    this._onOffline = () => {
      this._emit({ online: false });
      clearTimeout(this._timer);
      this._timer = null;
    };
    globalThis.addEventListener?.("online", this._onOnline);
    globalThis.addEventListener?.("offline", this._onOffline);
    this._schedule(0);
  }

  /** Stops syncing by itself. */
  stop() {
    this._started = false;
    clearTimeout(this._timer);
    this._timer = null;
    globalThis.removeEventListener?.("online", this._onOnline);
    globalThis.removeEventListener?.("offline", this._onOffline);
  }

  _schedule(ms) {
    if (!this._started) return;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._tick(), ms);
  }

  async _tick() {
    this._timer = null;
    if (!this._started) return;
    if (!this._state.loggedIn) return;
    if (globalThis.navigator && navigator.onLine === false) {
      this._emit({ online: false });
      return;
    }
    try {
      await this.sync();
      this._schedule(this._intervalMs);
    } catch (e) {
      if (e.status === 401 || e.status === 409 || e.name === "NotLoggedIn") return;
      this._failures += 1;
      const wait = Math.min(this._maxBackoffMs, this._minBackoffMs * 2 ** (this._failures - 1));
      const jittered = Math.round(wait * (0.75 + Math.random() * 0.5));
      this._emit({ nextRetry: Date.now() + jittered });
      this._schedule(jittered);
    }
  }
}

/** `more` and `cursor` of a pull answer, read from its text. */
function pageTail(text) {
  const page = JSON.parse(text);
  return { more: Boolean(page.more), cursor: page.cursor };
}

/** `YYYYMMDDTHHMMSSZ` of a Date (or the text as it is). */
function utcText(t) {
  if (typeof t === "string") return t;
  return `${t.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

/** The Date of `YYYYMMDDTHHMMSSZ`. */
function utcDate(t) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(t);
  if (!m) throw syncError("InvalidData", "INVALID_DATA", `not a UTC time: ${t}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function uidOf(ics) {
  if (typeof ics !== "string") return null;
  const m = /\r?\nUID:([^\r\n]*)/.exec(ics);
  return m ? m[1] : null;
}

function summaryOf(ics) {
  if (typeof ics !== "string") return null;
  const m = /\r?\nSUMMARY[^:\r\n]*:([^\r\n]*)/.exec(ics);
  return m ? m[1].replace(/\\([,;\\])/g, "$1").replace(/\\n/gi, " ") : null;
}

// ---- several tabs ----------------------------------------------------------------------------

/** Methods of the shared object that the owner runs for a follower. */
const SYNC_METHODS = new Set(["login", "logout", "sync", "write", "clearConflicts", "requestPersistence", "freeBusy"]);

/**
 * Opens the database `name` shared by the tabs of this profile. One tab owns it (the Web Lock
 * `calstore-owner:<name>`): it opens the database (`open()`) and its SyncClient, and answers
 * the others over the BroadcastChannel `calstore:<name>`; the other tabs call the same methods
 * through it. When the owner goes (closed, reloaded), the next tab in the lock's queue opens
 * the database and takes over; calls not yet answered are sent again to the new owner.
 *
 * `open()` resolves with the PersistentCalStore (or CalStore) to own, `sync` are the
 * SyncClient's options. Resolves with a `SharedCalendar`: `call(method, ...args)` (a store
 * method, or one of SyncClient's `login`, `logout`, `sync`, `write`, `clearConflicts`,
 * `requestPersistence`, `freeBusy`), `state`, `onSyncState`, `onChange` (after any tab's write or sync),
 * `onRole`, `role` ("owner" | "follower").
 */
export async function openShared({ name = "calstore", open, sync = {}, callTimeoutMs = 30_000 }) {
  const shared = new SharedCalendar(name, open, sync, callTimeoutMs);
  await shared._start();
  return shared;
}

export class SharedCalendar {
  /** @internal */
  constructor(name, open, syncOptions, callTimeoutMs) {
    this.name = name;
    this._open = open;
    this._syncOptions = syncOptions;
    this._callTimeoutMs = callTimeoutMs;
    this._id = randomId();
    this._role = "follower";
    this.db = null;
    this.sync = null;
    this._calls = new Map(); // id -> {method, args, resolve, reject}
    this._stateListeners = new Set();
    this._changeListeners = new Set();
    this._roleListeners = new Set();
    this._state = null;
    this._ownerKnown = false;
    this._channel = new BroadcastChannel(`calstore:${name}`);
    this._channel.onmessage = (ev) => this._onMessage(ev.data);
    this._ready = null;
  }

  /** "owner" or "follower". */
  get role() {
    return this._role;
  }

  /** The sync state (the owner's). */
  get state() {
    return this._state;
  }

  async _start() {
    let becameOwner;
    const owned = new Promise((resolve) => {
      becameOwner = resolve;
    });
    const locks = globalThis.navigator?.locks;
    if (!locks) throw syncError("StorageError", "STORAGE_ERROR", "the Web Locks API is not available");
    // Queued: granted now if no tab owns the database, else when the owner goes.
    locks
      .request(`calstore-owner:${this.name}`, async () => {
        await this._becomeOwner();
        becameOwner();
        // Held until the page goes away.
        await new Promise(() => {});
      })
      .catch(() => {});
    // Either this tab gets the lock at once, or an owner answers the hello.
    const answered = new Promise((resolve) => {
      this._onOwnerKnown = resolve;
    });
    this._channel.postMessage({ type: "hello", from: this._id });
    await Promise.race([owned, answered]);
  }

  async _becomeOwner() {
    this.db = await this._open();
    this.sync = await SyncClient.attach(this.db, { name: this.name, ...this._syncOptions });
    this._role = "owner";
    this.sync.onSyncState((s) => {
      const synced = this._state && s.syncs !== this._state.syncs;
      this._state = s;
      if (synced) this._changed("sync");
      this._channel.postMessage({ type: "state", state: s });
      for (const l of this._stateListeners) l(s);
    });
    this._channel.postMessage({ type: "owner", from: this._id, state: this._state });
    for (const l of this._roleListeners) l("owner");
    // Calls this tab made as a follower that nobody answered: run them here now.
    const pending = [...this._calls.entries()];
    this._calls.clear();
    for (const [, c] of pending) {
      this._local(c.method, c.args).then(c.resolve, c.reject);
    }
    this._onOwnerKnown?.();
  }

  _onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    switch (msg.type) {
      case "hello":
        if (this._role === "owner") this._channel.postMessage({ type: "owner", from: this._id, state: this._state });
        break;
      case "owner":
        if (this._role === "owner") break;
        this._ownerKnown = true;
        if (msg.state) this._setState(msg.state);
        // Send again what the previous owner left unanswered.
        for (const [id, c] of this._calls) {
          this._channel.postMessage({ type: "call", id, from: this._id, method: c.method, args: c.args });
        }
        this._onOwnerKnown?.();
        break;
      case "state":
        if (this._role !== "owner") this._setState(msg.state);
        break;
      case "changed":
        for (const l of this._changeListeners) l(msg);
        break;
      case "call":
        if (this._role === "owner") this._answer(msg);
        break;
      case "reply": {
        if (msg.to !== this._id) break;
        const c = this._calls.get(msg.id);
        if (!c) break;
        this._calls.delete(msg.id);
        clearTimeout(c.timer);
        if (msg.ok) c.resolve(msg.value);
        else c.reject(Object.assign(new Error(msg.error.message), msg.error));
        break;
      }
      default:
    }
  }

  _setState(state) {
    this._state = state;
    for (const l of this._stateListeners) l(state);
  }

  async _answer(msg) {
    try {
      const value = await this._local(msg.method, msg.args);
      this._channel.postMessage({ type: "reply", to: msg.from, id: msg.id, ok: true, value });
    } catch (e) {
      this._channel.postMessage({
        type: "reply",
        to: msg.from,
        id: msg.id,
        ok: false,
        error: { name: e.name, code: e.code, message: e.message, status: e.status },
      });
    }
  }

  async _local(method, args) {
    let value;
    if (SYNC_METHODS.has(method)) value = await this.sync[method](...args);
    else if (typeof this.db[method] === "function" && !method.startsWith("_")) value = await this.db[method](...args);
    else throw syncError("InvalidData", "INVALID_DATA", `no method ${method}`);
    if (WRITES.has(method)) this._changed(method);
    return value;
  }

  _changed(method) {
    const msg = { type: "changed", method };
    this._channel.postMessage(msg);
    for (const l of this._changeListeners) l(msg);
  }

  /** Calls a store or sync method in the owner tab (this one, or another). */
  call(method, ...args) {
    if (this._role === "owner") return this._local(method, args);
    return new Promise((resolve, reject) => {
      const id = randomId();
      this._calls.set(id, { method, args, resolve, reject });
      this._channel.postMessage({ type: "call", id, from: this._id, method, args });
    });
  }

  /** Calls `listener(state)` on every change of the owner's sync state. */
  onSyncState(listener) {
    this._stateListeners.add(listener);
    if (this._state) listener(this._state);
    return () => this._stateListeners.delete(listener);
  }

  /** Calls `listener({method})` after any tab's write or sync. */
  onChange(listener) {
    this._changeListeners.add(listener);
    return () => this._changeListeners.delete(listener);
  }

  /** Calls `listener(role)` when this tab becomes the owner. */
  onRole(listener) {
    this._roleListeners.add(listener);
    return () => this._roleListeners.delete(listener);
  }
}

/** Calls after which the other tabs re-read. */
const WRITES = new Set([
  "write",
  "clearConflicts",
  "importIcs",
  "setEvent",
  "cancelEvent",
  "uncancelEvent",
  "removeEvent",
]);
