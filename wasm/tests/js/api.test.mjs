// The JavaScript API of the built package (wasm/pkg), in Node: every store method with the
// shapes calstore.d.ts describes, the typed errors, and the write-ahead log hand-over.
//
//   node --test wasm/tests/js/        (scripts/test-wasm.sh builds wasm/pkg first)
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, "../..");
const pkg = path.join(wasmDir, "pkg");
const require = createRequire(import.meta.url);

const { initCalStore, CalStore, storeMethodNames } = await import(path.join(pkg, "calstore.js"));
const initSqlJs = require(path.join(wasmDir, "node_modules/sql.js/dist/sql-wasm.js"));

const ROOM = "mailto:resource-room-confroom@example.com";
const PAUL = "mailto:paul.boddie@example.com";
const VINCENT = "mailto:vincent.vole@example.com";
const NOW = "20261122T000000Z";
const DEMO = fs.readFileSync(path.resolve(wasmDir, "../cli/data/demo.ics"), "utf8");

let SQL;
before(async () => {
  await initCalStore(fs.readFileSync(path.join(pkg, "calstore_wasm_bg.wasm")));
  SQL = await initSqlJs();
});

function open(options = {}) {
  return new CalStore(new SQL.Database(), { now: NOW, ...options });
}

function event(uid, start, end, extra = []) {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//calstore//js test//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20261101T000000Z",
    `DTSTART:${start}`,
    `DTEND:${end}`,
    "SUMMARY:Booked",
    `ORGANIZER:${PAUL}`,
    `ATTENDEE;PARTSTAT=ACCEPTED:${ROOM}`,
    ...extra,
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");
}

/** Asserts that `f` throws an Error with this name and code. */
function throwsNamed(f, name, code) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(e.name, name, e.message);
    assert.equal(e.code, code);
    assert.ok(e.message.length > 0);
    return true;
  });
}

describe("CalStore", () => {
  test("imports the demo calendar and reads free/busy in the CLI's JSON shape", () => {
    const s = open();
    const report = s.importIcs(ROOM, DEMO, { tz: "Europe/Oslo", onlyInvolving: true });
    assert.deepEqual(Object.keys(report).sort(), [
      "notes",
      "notesOmitted",
      "obsoleteOverrides",
      "parents",
      "periods",
      "providers",
      "recurrences",
      "uids",
    ]);
    assert.deepEqual(report.notes, []);
    assert.ok(report.parents >= 1 && report.periods >= 1, JSON.stringify(report));
    const week = s.getFreebusy(ROOM, { from: "20261123", to: "20261130" });
    assert.ok(week.length >= 1);
    for (const p of week) {
      assert.deepEqual(Object.keys(p), ["start", "end", "uid", "recurrenceid", "transp", "summary", "organiser"]);
      assert.match(p.start, /^\d{8}T\d{6}Z$/);
      assert.ok(p.start < "20261130T000000Z" && p.end > "20261123T000000Z");
    }
    // An open side is unbounded; no range means everything.
    assert.deepEqual(s.getFreebusy(ROOM, { from: "20261123" }), s.getFreebusy(ROOM));
    const ics = s.freebusyIcs(ROOM, { from: "20261123", to: "20261130" });
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.match(ics, /DTSTART:20261123T000000Z\r\n/);
    assert.match(ics, /FREEBUSY;FBTYPE=BUSY:/);
    assert.deepEqual(s.users(), [ROOM]);
    assert.equal(s.userExists(ROOM), true);
    assert.equal(s.userExists(PAUL), false);
    s.free();
  });

  test("onlyInvolving skips other people's events; progress is reported", () => {
    const s = open();
    const calls = [];
    const all = s.importIcs(PAUL, DEMO, { tz: "Europe/Oslo", onProgress: (d, t) => calls.push([d, t]) });
    assert.ok(calls.length >= 1);
    assert.deepEqual(calls.at(-1), [all.uids, all.uids]);
    const s2 = open();
    const mine = s2.importIcs(VINCENT, DEMO, { tz: "Europe/Oslo", onlyInvolving: true });
    assert.ok(mine.uids < all.uids, `${mine.uids} < ${all.uids}`);
  });

  test("lenient import reports repair notes; strict refuses; expandFrom bounds the past", () => {
    const s = open();
    // No UID (the VEVENT at line 4) and a misspelt END:VCALENDAR (line 12).
    const repairable = event("x@example.com", "20261124T100000Z", "20261124T110000Z")
      .replace("UID:x@example.com\r\n", "")
      .replace("END:VCALENDAR", "END:VCALENDARD");
    throwsNamed(() => s.importIcs(ROOM, repairable, { strict: true }), "InvalidData", "INVALID_DATA");
    assert.equal(s.userExists(ROOM), false);
    throwsNamed(() => s.importIcs(ROOM, repairable, { strict: "yes" }), "InvalidData", "INVALID_DATA");
    const report = s.importIcs(ROOM, repairable);
    assert.equal(report.parents, 1);
    assert.equal(report.notes.length, 2, JSON.stringify(report.notes));
    const [uid, end] = report.notes;
    assert.deepEqual(Object.keys(uid), ["line", "uid", "problem", "action", "message"]);
    assert.equal(uid.line, 4);
    assert.match(uid.uid, /^calstore-derived-[0-9a-f]{32}$/);
    assert.match(uid.problem, /no UID/);
    assert.equal(uid.message, `line 4 (UID "${uid.uid}"): ${uid.problem}: ${uid.action}`);
    assert.equal(end.line, 12);
    assert.equal(end.uid, null);
    assert.match(end.problem, /END:VCALENDARD/);
    assert.equal(report.notesOmitted, 0);
    assert.deepEqual(s.getEvents(ROOM), [uid.uid]);
    // The bounded past: a weekly event since 2020, by default a year before now (NOW is
    // 2026-11-22), or from expandFrom; expandFrom must come before the window end.
    const weekly = event("weekly@example.com", "20200106T090000Z", "20200106T100000Z", ["RRULE:FREQ=WEEKLY"]);
    s.importIcs(PAUL, weekly, { expandUntil: "20261201" });
    const firstStart = () => s.getFreebusy(PAUL)[0].start;
    assert.equal(firstStart(), "20251124T090000Z");
    s.importIcs(PAUL, weekly, { expandUntil: "20261201", expandFrom: "20261101" });
    assert.equal(firstStart(), "20261102T090000Z");
    assert.equal(s.getFreebusy(PAUL).length, 5);
    throwsNamed(() => s.importIcs(PAUL, weekly, { expandUntil: "20261201", expandFrom: "20261201" }), "InvalidData", "INVALID_DATA");
    // A newer parent made a stored override obsolete.
    const moved = event("weekly@example.com", "20261117T090000Z", "20261117T100000Z", ["RECURRENCE-ID:20261116T090000Z"]);
    s.importIcs(PAUL, moved, { expandUntil: "20261201" });
    const newer = weekly.replace("DTSTAMP:", "SEQUENCE:1\r\nDTSTAMP:");
    assert.equal(s.importIcs(PAUL, newer, { expandUntil: "20261201" }).obsoleteOverrides, 1);
    s.free();
  });

  test("events: cancel, uncancel and remove update free/busy", () => {
    const s = open();
    s.importIcs(ROOM, event("e1@example.com", "20261124T100000Z", "20261124T110000Z"));
    assert.deepEqual(s.getEvents(ROOM), ["e1@example.com"]);
    assert.deepEqual(s.getAllEvents(ROOM), [{ uid: "e1@example.com", rid: null }]);
    assert.match(s.getEvent(ROOM, "e1@example.com"), /^BEGIN:VEVENT\r\n/);
    assert.equal(s.getEvent(ROOM, "nope@example.com"), null);
    assert.equal(s.getFreebusy(ROOM).length, 1);
    assert.equal(s.cancelEvent(ROOM, "e1@example.com", null), true);
    assert.equal(s.cancelEvent(ROOM, "e1@example.com"), false);
    assert.deepEqual(s.getFreebusy(ROOM), []);
    assert.deepEqual(s.getCancelledEvents(ROOM), ["e1@example.com"]);
    assert.deepEqual(s.getAllEvents(ROOM, true), [{ uid: "e1@example.com", rid: null }]);
    assert.match(s.getEvent(ROOM, "e1@example.com", null, true), /UID:e1@example.com/);
    assert.equal(s.uncancelEvent(ROOM, "e1@example.com"), true);
    assert.equal(s.getFreebusy(ROOM).length, 1);
    assert.equal(s.removeEvent(ROOM, "e1@example.com"), true);
    assert.deepEqual(s.getEvents(ROOM), []);
    assert.deepEqual(s.getFreebusy(ROOM), []);
    // Raw object storage and recurrences.
    const raw = (extra) =>
      ["BEGIN:VEVENT", "UID:raw@example.com", "DTSTAMP:20261101T000000Z", ...extra, "END:VEVENT", ""].join("\r\n");
    s.setEvent(ROOM, "raw@example.com", null, raw(["DTSTART:20261124T100000Z", "DTEND:20261124T110000Z", "RRULE:FREQ=DAILY;COUNT=3"]));
    s.setEvent(ROOM, "raw@example.com", "20261125T100000Z", raw(["RECURRENCE-ID:20261125T100000Z", "DTSTART:20261125T120000Z", "DTEND:20261125T130000Z"]));
    assert.deepEqual(s.getRecurrences(ROOM, "raw@example.com"), ["20261125T100000Z"]);
    assert.deepEqual(s.getActiveRecurrences(ROOM, "raw@example.com"), ["20261125T100000Z"]);
    assert.equal(s.cancelEvent(ROOM, "raw@example.com", "20261125T100000Z"), true);
    assert.deepEqual(s.getCancelledRecurrences(ROOM, "raw@example.com"), ["20261125T100000Z"]);
    assert.equal(s.removeCancellations(ROOM, "raw@example.com"), 1);
    assert.equal(s.removeCancellation(ROOM, "raw@example.com"), false);
  });

  test("counters and requests", () => {
    const s = open();
    s.setCounter(ROOM, PAUL, "e1@example.com", null, "BEGIN:VEVENT\r\nUID:e1@example.com\r\nEND:VEVENT\r\n");
    assert.deepEqual(s.getCounters(ROOM, "e1@example.com"), [PAUL]);
    assert.match(s.getCounter(ROOM, PAUL, "e1@example.com"), /UID:e1/);
    assert.equal(s.getCounter(ROOM, VINCENT, "e1@example.com"), null);
    assert.equal(s.removeCounter(ROOM, PAUL, "e1@example.com"), true);
    assert.equal(s.removeCounters(ROOM, "e1@example.com"), 0);

    assert.equal(s.queueRequest(ROOM, "e1@example.com"), true);
    assert.equal(s.queueRequest(ROOM, "e1@example.com", null, "COUNTER"), false);
    assert.equal(s.queueRequest(ROOM, "e2@example.com", "20261124T100000Z", "COUNTER"), true);
    assert.deepEqual(s.getRequests(ROOM), [
      { uid: "e1@example.com", rid: null, kind: null },
      { uid: "e2@example.com", rid: "20261124T100000Z", kind: "COUNTER" },
    ]);
    assert.equal(s.hasRequest(ROOM, "e2@example.com", "20261124T100000Z"), true);
    assert.equal(s.hasRequest(ROOM, "e2@example.com", "20261124T100000Z", null, true), false);
    assert.equal(s.hasRequest(ROOM, "e2@example.com", "20261124T100000Z", "COUNTER", true), true);
    assert.equal(s.dequeueRequest(ROOM, "e1@example.com"), true);
    assert.equal(s.dequeueRequest(ROOM, "e1@example.com"), false);
    s.setRequest(ROOM, "e3@example.com", null, "COUNTER");
    s.setRequests(ROOM, [{ uid: "e4@example.com" }, { uid: "e5@example.com", rid: null, kind: "COUNTER" }]);
    assert.deepEqual(
      s.getRequests(ROOM).map((r) => r.uid),
      ["e4@example.com", "e5@example.com"],
    );
  });

  test("own and others' free/busy, offers, providers", () => {
    const s = open();
    const p = (start, end, uid) => ({ start, end, uid });
    s.setFreebusy(ROOM, [p("20261124T100000Z", "20261124T110000Z", "a"), p("20261124T090000Z", "20261124T093000Z", "b")]);
    assert.deepEqual(s.getFreebusy(ROOM).map((x) => x.uid), ["b", "a"]);
    assert.equal(s.addFreebusy(ROOM, [p("20261125T090000Z", "20261125T100000Z", "c"), p("20261124T100000Z", "20261124T110000Z", "a")]), 1);
    assert.equal(s.removeEventPeriods(ROOM, "c"), 1);
    // Dates and epoch milliseconds are accepted as times.
    s.addFreebusy(ROOM, [{ start: new Date(Date.UTC(2026, 11, 1, 8)), end: Date.UTC(2026, 11, 1, 9), uid: "d" }]);
    assert.ok(s.getFreebusy(ROOM).some((x) => x.uid === "d" && x.start === "20261201T080000Z"));
    assert.equal(s.canSchedule(ROOM, [{ start: "20261124T103000Z", end: "20261124T113000Z" }], "new"), false);
    assert.equal(s.canSchedule(ROOM, [{ start: "20261124T103000Z", end: "20261124T113000Z" }], "a"), true);

    s.setFreebusyForOther(ROOM, PAUL, [p("20261124T100000Z", "20261124T110000Z", null)]);
    assert.deepEqual(s.getFreebusyOthers(ROOM), [PAUL]);
    assert.equal(s.getFreebusyForOther(ROOM, PAUL).length, 1);
    s.replaceFreebusyForOther(ROOM, PAUL, "20261124", "20261125", [p("20261124T120000Z", "20261124T130000Z", null)]);
    assert.deepEqual(s.getFreebusyForOther(ROOM, PAUL, { from: "20261124", to: "20261125" }).map((x) => x.start), ["20261124T120000Z"]);
    s.updateFreebusyForOtherEvent(ROOM, PAUL, "x", null, [p("20261126T120000Z", "20261126T130000Z", "x")]);
    assert.equal(s.getFreebusyForOther(ROOM, PAUL).length, 2);

    s.setOffers(ROOM, [{ start: "20261127T100000Z", end: "20261127T110000Z", uid: "o", expires: "20261123T000000Z" }]);
    const offers = s.getOffers(ROOM);
    assert.equal(offers.length, 1);
    assert.equal(offers[0].expires, "20261123T000000Z");
    s.setNow("20261123T000000Z");
    assert.deepEqual(s.getOffers(ROOM), []);
    s.setNow(null);
    assert.ok(s.now() > "2020");
    s.setNow(NOW);
    s.updateOffersForEvent(ROOM, "o", null, [{ start: "20261127T100000Z", end: "20261127T110000Z", uid: "o" }]);
    assert.equal(s.getOffers(ROOM, { from: "20261127", to: "20261128" })[0].expires, null);

    assert.equal(s.getProviders(PAUL), null);
    assert.equal(s.appendProvider(ROOM, "r@example.com"), true);
    assert.deepEqual(s.getProviders(ROOM).providers, [{ uid: "r@example.com", rid: null }]);
    assert.equal(s.removeProvider(ROOM, "r@example.com"), true);
    s.setProviders(ROOM, "20261201T000000Z", [{ uid: "q@example.com" }]);
    assert.deepEqual(s.getProviders(ROOM), { datetime: "20261201T000000Z", providers: [{ uid: "q@example.com", rid: null }] });
    assert.equal(s.extendFreebusy(ROOM, "20270101", "Europe/Oslo"), 1);
  });

  test("recurring events: providers, refresh", () => {
    const s = open();
    s.importIcs(ROOM, event("weekly@example.com", "20261123T090000Z", "20261123T100000Z", ["RRULE:FREQ=WEEKLY"]), { windowDays: 30 });
    const providers = s.getProviders(ROOM);
    assert.deepEqual(providers.providers, [{ uid: "weekly@example.com", rid: null }]);
    const before = s.getFreebusy(ROOM).length;
    assert.equal(s.extendFreebusy(ROOM, "20270301", null), 1);
    assert.ok(s.getFreebusy(ROOM).length > before);
    assert.ok(s.refreshFreebusy(ROOM, "weekly@example.com", { windowDays: 30 }).length >= 4);
  });

  test("journal: limits, groups, delegates, checkQuota and reserve", () => {
    const s = open();
    const Q = "mailto:resource-car-porsche911@example.com";
    s.setLimit(Q, "*", "PT2H");
    s.setLimits(Q, { "*": "PT2H", developers: "PT3H" });
    assert.deepEqual(s.getLimits(Q), { "*": "PT2H", developers: "PT3H" });
    s.setGroup(Q, PAUL, "developers");
    s.setGroups(Q, { [PAUL]: "developers", [VINCENT]: "sales" });
    assert.deepEqual(s.getGroups(Q), { [PAUL]: "developers", [VINCENT]: "sales" });
    assert.equal(s.groupOf(Q, PAUL), "developers");
    s.setDelegates(Q, [VINCENT]);
    assert.deepEqual(s.getDelegates(Q), [VINCENT]);
    assert.deepEqual(s.quotas(), [Q]);

    const booking = { organiser: PAUL, uid: "drive@example.com", periods: [{ start: "20261124T100000Z", end: "20261124T120000Z" }] };
    const check = s.checkQuota(Q, booking);
    assert.deepEqual(check, {
      decision: "ACCEPTED", reason: null, message: null, group: "developers", requested: 7200, usage: null, limit: null,
    });
    assert.equal(s.reserve(Q, booking).decision, "ACCEPTED");
    const entries = s.getEntries(Q, "developers");
    assert.equal(entries.length, 1);
    assert.equal(entries[0].attendee, Q);
    assert.equal(entries[0].uid, "drive@example.com");
    assert.deepEqual(s.quotaUsers(Q), ["developers"]);
    const more = { ...booking, uid: "again@example.com", periods: [{ start: "20261125T100000Z", end: "20261125T120000Z" }] };
    assert.deepEqual(s.reserve(Q, more), {
      decision: "DECLINED",
      reason: "Exceeded",
      message: "The event period exceeds your quota allocation for the recipient.",
      group: "developers",
      requested: 7200,
      usage: 7200,
      limit: 10800,
    });
    // A booking given as iCalendar text: the organiser comes from the event.
    const fromIcs = s.checkQuota(Q, { ics: event("ics@example.com", "20261126T100000Z", "20261126T103000Z") });
    assert.equal(fromIcs.decision, "ACCEPTED");
    assert.equal(fromIcs.requested, 1800);
    const openEnded = s.checkQuota(Q, { ics: event("open@example.com", "20261126T100000Z", "20261126T103000Z", ["RRULE:FREQ=DAILY"]) });
    assert.equal(openEnded.reason, "OpenEnded");
    assert.equal(s.checkQuota("mailto:nothing@example.com", booking).reason, "NoAllocation");
    assert.equal(s.removeFromQuota(Q, "developers", Q, "drive@example.com"), 1);
    assert.ok(s.journalRevision(Q) >= 6);
    const changes = s.journalChangesSince(Q, 0);
    assert.ok(changes.length >= 1);
    assert.deepEqual(Object.keys(changes[0]), ["table", "key", "revision", "operation"]);
  });

  test("change journal: revision and changesSince", () => {
    const s = open();
    assert.equal(s.revision(ROOM), 0);
    s.importIcs(ROOM, event("e1@example.com", "20261124T100000Z", "20261124T110000Z"));
    const r1 = s.revision(ROOM);
    assert.equal(r1, 1);
    s.cancelEvent(ROOM, "e1@example.com");
    s.removeEvent(ROOM, "e1@example.com");
    const changes = s.changesSince(ROOM, r1);
    assert.ok(changes.some((c) => c.table === "objects" && c.operation === "delete" && c.key === '["e1@example.com",null]'));
    assert.ok(changes.every((c) => c.revision > r1));
    assert.deepEqual(s.changesSince(ROOM, 10n ** 12n), []);
  });

  test("errors are Errors with a stable name and code", () => {
    const s = open();
    throwsNamed(() => s.importIcs(ROOM, "not a calendar"), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.importIcs(ROOM, 42), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.getFreebusy(ROOM, { from: "yesterday" }), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.getFreebusy(ROOM, { from: "20261130", to: "20261123" }), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.setLimit("q", "*", "PT1D"), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.setFreebusy(ROOM, [{ start: "20261124T110000Z" }]), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.setFreebusy(ROOM, [{ start: "20261124T110000Z", end: "20261124T100000Z" }]), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.importIcs(ROOM, DEMO, { windowDays: 3, expandUntil: "20270101" }), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.importIcs(ROOM, DEMO, { tz: "Mars/Olympus" }), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.checkQuota("q", { periods: [] }), "InvalidData", "INVALID_DATA");
    throwsNamed(() => s.changesSince(ROOM, 1.5), "InvalidData", "INVALID_DATA");
    throwsNamed(() => new CalStore({}, {}), "InvalidData", "INVALID_DATA");
    throwsNamed(() => new CalStore(new SQL.Database(), { log: [new Uint8Array([1, 2, 3])] }), "ReplayFailed", "REPLAY_FAILED");
    // A database written by a newer calstore.
    const db = new SQL.Database();
    new CalStore(db, {}).free();
    db.run("UPDATE calstore_schema SET value = '999' WHERE name = 'component:store'");
    assert.throws(() => new CalStore(db, {}), (e) => {
      assert.equal(e.name, "SchemaTooNew");
      assert.equal(e.code, "SCHEMA_TOO_NEW");
      assert.equal(e.found, 999);
      assert.equal(e.known, 3); // store version 3 brought calendar addresses to one spelling
      return true;
    });
  });

  test("recording hands out one log entry per committed write; replay restores", () => {
    const db = new SQL.Database();
    const s = open({ record: true });
    const schema = s.takeCommits();
    assert.equal(schema.length, 1);
    assert.ok(schema[0] instanceof Uint8Array);
    s.importIcs(ROOM, event("e1@example.com", "20261124T100000Z", "20261124T110000Z"));
    s.getFreebusy(ROOM);
    assert.throws(() => s.importIcs(ROOM, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"));
    s.queueRequest(ROOM, "e1@example.com");
    assert.equal(s.pendingCommits, 2);
    const log = [...schema, ...s.takeCommits()];
    assert.equal(s.pendingCommits, 0);
    const image = s.exportImage();
    assert.ok(image.byteLength > 0);
    // Replaying the log on an empty database, or restoring the image, gives the same state.
    for (const restored of [new CalStore(db, { now: NOW, log }), new CalStore(new SQL.Database(image), { now: NOW })]) {
      assert.deepEqual(restored.getFreebusy(ROOM), s.getFreebusy(ROOM));
      assert.deepEqual(restored.getRequests(ROOM), s.getRequests(ROOM));
      assert.equal(restored.revision(ROOM), s.revision(ROOM));
    }
    assert.equal(new CalStore(new SQL.Database(), { log }).replayed, 3);
  });
});

describe("storage classes", () => {
  test("storageGuarantees reports what sql.js with the IndexedDB log keeps", () => {
    const s = new CalStore(new SQL.Database(), { now: NOW });
    const g = s.storageGuarantees;
    assert.match(g.backend, /sql\.js/);
    assert.deepEqual(
      g.rows.map((r) => r.class),
      ["DiskOnly", "MemoryAndDisk", "MemoryWithSnapshots"],
    );
    for (const r of g.rows) {
      assert.deepEqual(
        [r.processCrash, r.serverCrash, r.osCrash, r.cleanRestart],
        ["kept_once_logged", "kept_once_logged", "kept_once_logged", "kept"],
      );
    }
    assert.ok(g.notes.some((n) => n.includes("persist()")));
  });
});

describe("package", () => {
  test("calstore.d.ts declares exactly the store methods the module exports", () => {
    const dts = fs.readFileSync(path.join(pkg, "calstore.d.ts"), "utf8");
    const body = dts.slice(dts.indexOf("export interface CalStoreMethods {"));
    const block = body.slice(0, body.indexOf("\n}\n"));
    const declared = [...block.matchAll(/^\s+(\w+)\(/gm)].map((m) => m[1]).sort();
    assert.deepEqual(declared, storeMethodNames());
    assert.ok(declared.length >= 60, `${declared.length} methods`);
  });

  test("package.json names the entry points that exist", () => {
    const meta = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"));
    assert.equal(meta.name, "calstore-wasm");
    for (const f of meta.files) assert.ok(fs.existsSync(path.join(pkg, f)), f);
  });
});
