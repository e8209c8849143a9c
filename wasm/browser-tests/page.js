// The in-page half of the browser tests (driven by run.mjs through playwright-core): each
// function runs one step in this tab and returns plain data for the driver to check.
import { deleteCalStore, initCalStore, openCalStore } from "/pkg/calstore.js";

const ROOM = "mailto:resource-room-confroom@example.com";
const NOW = "20261122T000000Z";

let SQL = null;
let open = null; // the PersistentCalStore this tab holds

async function sql() {
  if (!SQL) {
    await initCalStore();
    SQL = await window.initSqlJs({ locateFile: (f) => `/sqljs/${f}` });
  }
  return SQL;
}

async function demoIcs() {
  const res = await fetch("/data/demo.ics");
  if (!res.ok) throw new Error(`demo.ics: ${res.status}`);
  return res.text();
}

function pad(n, w = 2) {
  return String(n).padStart(w, "0");
}

/** A VCALENDAR of `count` one-hour events from `first`, spread over days and hours. */
function calendar(count, { first = 0, description = 0, prefix = "gen" } = {}) {
  const lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calstore//browser test//EN"];
  const filler = description > 0 ? "x".repeat(description) : "";
  const base = Date.UTC(2026, 10, 23, 0, 0, 0);
  for (let i = first; i < first + count; i++) {
    const start = new Date(base + Math.floor(i / 10) * 86_400_000 + (8 + (i % 10)) * 3_600_000);
    const end = new Date(start.getTime() + 3_600_000);
    const t = (d) =>
      `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}0000Z`;
    lines.push(
      "BEGIN:VEVENT",
      `UID:${prefix}-${i}@example.com`,
      "DTSTAMP:20261101T000000Z",
      `DTSTART:${t(start)}`,
      `DTEND:${t(end)}`,
      `SUMMARY:Generated event ${i}`,
      "ORGANIZER:mailto:paul.boddie@example.com",
      `ATTENDEE;PARTSTAT=ACCEPTED:${ROOM}`,
    );
    if (filler) lines.push(`DESCRIPTION:${filler}`);
    lines.push("END:VEVENT");
  }
  lines.push("END:VCALENDAR", "");
  return lines.join("\r\n");
}

function describeError(e) {
  return { name: e?.name, code: e?.code, message: String(e?.message ?? e) };
}

/** What the reload test compares: everything the writes touched. */
async function state(db) {
  return {
    events: await db.getAllEvents(ROOM),
    cancelled: await db.getAllEvents(ROOM, true),
    freebusy: await db.getFreebusy(ROOM),
    requests: await db.getRequests(ROOM),
    limits: await db.getLimits("cars"),
    revision: await db.revision(ROOM),
    journalRevision: await db.journalRevision("cars"),
  };
}

const api = {
  async reset(name) {
    if (open) await open.close();
    open = null;
    await deleteCalStore({ name });
    return true;
  },

  /** Opens `name` and keeps it open in this tab. */
  async open(name, options = {}) {
    open = await openCalStore({ SQL: await sql(), name, now: NOW, idleSnapshotMs: 0, ...options });
    return open.stats();
  },

  async openError(name, options = {}) {
    try {
      const db = await openCalStore({ SQL: await sql(), name, now: NOW, ...options });
      await db.close();
      return null;
    } catch (e) {
      return describeError(e);
    }
  },

  async deleteError(name) {
    try {
      await deleteCalStore({ name, lockTimeoutMs: 200 });
      return null;
    } catch (e) {
      return describeError(e);
    }
  },

  async close(options) {
    await open.close(options);
    open = null;
    return true;
  },

  /** Reload test, before: import + snapshot, then writes that only the log holds. */
  async writeBeforeReload({ snapshot }) {
    const db = open;
    await db.importIcs(ROOM, await demoIcs(), { tz: "Europe/Oslo", onlyInvolving: true });
    if (snapshot) await db.snapshot();
    await db.cancelEvent(ROOM, "budget-review@example.com", null, { tz: "Europe/Oslo" });
    await db.queueRequest(ROOM, "team-meeting@example.com", null, "COUNTER");
    await db.setLimit("cars", "*", "PT10H");
    // Not awaited one by one: acknowledged together by one IndexedDB transaction.
    await Promise.all([
      db.queueRequest(ROOM, "a@example.com"),
      db.queueRequest(ROOM, "b@example.com"),
    ]);
    return { state: await state(db), stats: db.stats() };
  },

  /**
   * Loses the IndexedDB connection under the open store (as Safari does in long sessions)
   * and tries to write: the write must fail loudly and so must every call after it.
   */
  async loseConnectionAndWrite() {
    await open.queueRequest(ROOM, "durable@example.com");
    open._idb.close();
    const outcome = async (p) => p.then(() => null, describeError);
    const write = await outcome(open.queueRequest(ROOM, "lost@example.com"));
    const read = await outcome(open.getRequests(ROOM));
    const flush = await outcome(open.flush());
    open = null; // abandoned: the page reloads
    return { write, read, flush };
  },

  /** Puts a log entry two past the last one straight into IndexedDB (a gap before it). */
  async injectGap(name) {
    const idb = await new Promise((resolve, reject) => {
      const r = indexedDB.open(`calstore:${name}`);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const keys = await new Promise((resolve, reject) => {
      const r = idb.transaction("log").objectStore("log").getAllKeys();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const last = keys.length ? keys[keys.length - 1] : 0;
    await new Promise((resolve, reject) => {
      const tx = idb.transaction("log", "readwrite");
      tx.objectStore("log").put({ seq: last + 2, bytes: new Uint8Array([1, 2, 3]) });
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
    });
    idb.close();
    return last + 2;
  },

  async readState() {
    return { state: await state(open), stats: open.stats() };
  },

  /** Imports `count` events in one durable call; bounded by the driver's timeout. */
  async largeImport(count) {
    const ics = calendar(count, { prefix: "big" });
    const t0 = performance.now();
    const report = await open.importIcs(ROOM, ics, { windowDays: 36600 });
    const ms = performance.now() - t0;
    return { report, ms, icsBytes: ics.length, stats: open.stats() };
  },

  async counts() {
    return {
      events: (await open.getEvents(ROOM)).length,
      periods: (await open.getFreebusy(ROOM)).length,
      stats: open.stats(),
    };
  },

  /**
   * The durable-commit measurement: grows the database to about `mb` MB, snapshots it,
   * then times `commits` sequential durable writes (each imports one new event: parse,
   * expand, object, free/busy, change journal, revision), then a snapshot and a reopen.
   */
  async bench({ name, mb, commits, durability = "strict", description = 1500, snapshotEvery = 2000 }) {
    await api.reset(name);
    await api.open(name, { durability, snapshotEvery });
    const perEvent = 1000 + description; // about what one event adds to the image
    const target = mb * 1024 * 1024;
    const chunk = 2000;
    let made = 0;
    const tFill = performance.now();
    let size = 0;
    while (size < target) {
      const n = Math.max(50, Math.min(chunk, Math.ceil((target - size) / perEvent)));
      await open.importIcs(ROOM, calendar(n, { first: made, description }), { windowDays: 36600 });
      made += n;
      size = (await open.snapshot()).bytes;
    }
    const fillMs = performance.now() - tFill;
    const snapshotsBefore = open.stats().snapshots;
    const latencies = [];
    const wasmMs = [];
    const t0 = performance.now();
    for (let i = 0; i < commits; i++) {
      const ics = calendar(1, { first: 1_000_000 + i, prefix: "commit" });
      const a = performance.now();
      const p = open.importIcs(ROOM, ics, { windowDays: 36600 });
      wasmMs.push(performance.now() - a);
      await p;
      latencies.push(performance.now() - a);
    }
    const totalMs = performance.now() - t0;
    const statsAfter = open.stats();
    // A snapshot started by the last commits may still be running.
    await open.flush();
    while (open._snapshotting) await open._snapshotting;
    const snap = await open.snapshot();
    await open.close();
    open = null;
    const tOpen = performance.now();
    await api.open(name, { durability });
    const reopenMs = performance.now() - tOpen;
    const reopened = open.stats().opened;
    await open.close();
    open = null;
    await deleteCalStore({ name });
    const sorted = [...latencies].sort((x, y) => x - y);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
    return {
      mb,
      durability,
      events: made,
      imageBytes: size,
      fillMs,
      commits,
      commitsPerSecond: (commits * 1000) / totalMs,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      max: sorted.at(-1),
      meanWasmMs: mean(wasmMs),
      snapshotEvery,
      snapshotsDuring: statsAfter.snapshots - snapshotsBefore,
      logEntriesAfter: statsAfter.logEntries,
      logBytesAfter: statsAfter.logBytes,
      batches: statsAfter.batches,
      snapshot: snap,
      reopenMs,
      reopened,
    };
  },
};

window.calstoreTests = api;
document.getElementById("status").textContent = "ready";
window.calstoreReady = true;
