// The in-module backend's JavaScript API (calstore-wasm/sqlite, wasm/pkg/calstore-sqlite.js)
// in Node, differentially: the same script of calls, touching every store method, runs on a
// sql.js store and on an in-module store, and every result (or thrown error's name and code)
// must be the same. Plus what only the in-module entry has.
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

const sqljsEntry = await import(path.join(pkg, "calstore.js"));
const inModule = await import(path.join(pkg, "calstore-sqlite.js"));
const initSqlJs = require(path.join(wasmDir, "node_modules/sql.js/dist/sql-wasm.js"));

const ROOM = "mailto:resource-room-confroom@example.com";
const PAUL = "mailto:paul.boddie@example.com";
const VINCENT = "mailto:vincent.vole@example.com";
const CARS = "mailto:resource-car-pool@example.com";
const NOW = "20261122T000000Z";
const DEMO = fs.readFileSync(path.resolve(wasmDir, "../cli/data/demo.ics"), "utf8");

let SQL;
before(async () => {
  await sqljsEntry.initCalStore(fs.readFileSync(path.join(pkg, "calstore_wasm_bg.wasm")));
  await inModule.initCalStore(fs.readFileSync(path.join(pkg, "calstore_sqlite_bg.wasm")));
  SQL = await initSqlJs();
});

function event(uid, start, end, extra = []) {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
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

const p = (start, end, uid) => ({ start, end, uid });

/**
 * Runs the script on a store; returns [method, result] per call (a thrown error as
 * {error: name, code}) and the set of methods called.
 */
function script(store) {
  const out = [];
  const called = new Set();
  const s = new Proxy(store, {
    get(target, name) {
      const v = target[name];
      if (typeof v !== "function") return v;
      return (...args) => {
        called.add(name);
        try {
          const r = v.apply(target, args);
          out.push([name, r]);
          return r;
        } catch (e) {
          out.push([name, { error: e.name, code: e.code }]);
          return undefined;
        }
      };
    },
  });
  // users, importing
  s.users();
  s.importIcs(ROOM, DEMO, { tz: "Europe/Oslo", onlyInvolving: true });
  s.importIcs(PAUL, DEMO, { tz: "Europe/Oslo", windowDays: 60 });
  s.importIcs(ROOM, event("weekly@example.com", "20261123T090000Z", "20261123T100000Z", ["RRULE:FREQ=WEEKLY"]), {
    windowDays: 30,
  });
  s.importIcs(ROOM, "not iCalendar");
  // A calendar with problems: repaired with notes (lenient, the default), or refused.
  const repairable = event("nouid@example.com", "20261126T090000Z", "20261126T100000Z", ["TRANSP:SEMI"])
    .replace("UID:nouid@example.com\r\n", "")
    .replace("END:VCALENDAR", "END:VCALENDARD");
  s.importIcs(ROOM, repairable);
  s.importIcs(ROOM, repairable, { strict: true });
  s.importIcs(ROOM, event("old@example.com", "20200106T090000Z", "20200106T100000Z", ["RRULE:FREQ=WEEKLY"]), {
    expandFrom: "20261101",
  });
  s.users();
  s.userExists(ROOM);
  s.userExists(VINCENT);
  s.refreshFreebusy(ROOM, "weekly@example.com", { windowDays: 30 });
  s.extendFreebusy(ROOM, "20270301", "Europe/Oslo");
  s.canSchedule(ROOM, [p("20261124T103000Z", "20261124T113000Z")], "new");
  // events
  s.getEvents(ROOM);
  s.getCancelledEvents(ROOM);
  s.getAllEvents(PAUL);
  s.getEvent(ROOM, "weekly@example.com");
  s.getEvent(ROOM, "nope@example.com");
  s.setEvent(ROOM, "raw@example.com", null, "BEGIN:VEVENT\r\nUID:raw@example.com\r\nDTSTART:20261124T100000Z\r\nDTEND:20261124T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n");
  s.setEvent(ROOM, "raw@example.com", "20261125T100000Z", "BEGIN:VEVENT\r\nUID:raw@example.com\r\nRECURRENCE-ID:20261125T100000Z\r\nDTSTART:20261125T120000Z\r\nDTEND:20261125T130000Z\r\nEND:VEVENT\r\n");
  s.getRecurrences(ROOM, "raw@example.com");
  s.getActiveRecurrences(ROOM, "raw@example.com");
  s.cancelEvent(ROOM, "raw@example.com", "20261125T100000Z");
  s.getCancelledRecurrences(ROOM, "raw@example.com");
  s.cancelEvent(ROOM, "weekly@example.com");
  s.cancelEvent(ROOM, "weekly@example.com");
  s.getAllEvents(ROOM, true);
  s.uncancelEvent(ROOM, "weekly@example.com");
  s.removeEvent(ROOM, "weekly@example.com");
  s.removeCancellations(ROOM, "raw@example.com");
  s.removeCancellation(ROOM, "raw@example.com");
  // counters, requests
  s.setCounter(ROOM, PAUL, "e1@example.com", null, "BEGIN:VEVENT\r\nUID:e1@example.com\r\nEND:VEVENT\r\n");
  s.getCounters(ROOM, "e1@example.com");
  s.getCounter(ROOM, PAUL, "e1@example.com");
  s.removeCounter(ROOM, PAUL, "e1@example.com");
  s.removeCounters(ROOM, "e1@example.com");
  s.queueRequest(ROOM, "e1@example.com");
  s.queueRequest(ROOM, "e2@example.com", "20261124T100000Z", "COUNTER");
  s.hasRequest(ROOM, "e2@example.com", "20261124T100000Z", null, true);
  s.dequeueRequest(ROOM, "e1@example.com");
  s.setRequest(ROOM, "e3@example.com", null, "COUNTER");
  s.setRequests(ROOM, [{ uid: "e4@example.com" }, { uid: "e5@example.com", rid: null, kind: "COUNTER" }]);
  s.getRequests(ROOM);
  // free/busy
  s.setFreebusy(VINCENT, [p("20261124T100000Z", "20261124T110000Z", "a"), p("20261124T090000Z", "20261124T093000Z", "b")]);
  s.addFreebusy(VINCENT, [p("20261125T090000Z", "20261125T100000Z", "c"), p("20261124T100000Z", "20261124T110000Z", "a")]);
  s.removeEventPeriods(VINCENT, "c");
  s.setFreebusy(VINCENT, [{ start: "20261124T100000Z" }]);
  s.getFreebusy(VINCENT);
  s.getFreebusy(ROOM, { from: "20261123", to: "20261130" });
  s.getFreebusy(PAUL);
  s.freebusyIcs(ROOM, { from: "20261123", to: "20261130" });
  s.setFreebusyForOther(ROOM, PAUL, [p("20261124T100000Z", "20261124T110000Z", null)]);
  s.replaceFreebusyForOther(ROOM, PAUL, "20261124", "20261125", [p("20261124T120000Z", "20261124T130000Z", null)]);
  s.updateFreebusyForOtherEvent(ROOM, PAUL, "x", null, [p("20261126T120000Z", "20261126T130000Z", "x")]);
  s.getFreebusyOthers(ROOM);
  s.getFreebusyForOther(ROOM, PAUL);
  s.getFreebusyForOther(ROOM, PAUL, { from: "20261124", to: "20261125" });
  // offers, providers
  s.setOffers(ROOM, [{ start: "20261127T100000Z", end: "20261127T110000Z", uid: "o", expires: "20261123T000000Z" }]);
  s.getOffers(ROOM);
  s.updateOffersForEvent(ROOM, "o", null, [{ start: "20261127T100000Z", end: "20261127T110000Z", uid: "o" }]);
  s.getOffers(ROOM, { from: "20261127", to: "20261128" });
  s.getProviders(ROOM);
  s.getProviders(VINCENT);
  s.appendProvider(ROOM, "r@example.com");
  s.removeProvider(ROOM, "r@example.com");
  s.setProviders(VINCENT, "20261201T000000Z", [{ uid: "q@example.com" }]);
  s.getProviders(VINCENT);
  // quotas
  s.setLimit(CARS, "*", "PT2H");
  s.setLimits(CARS, { "*": "PT2H", developers: "PT3H" });
  s.setLimit(CARS, "*", "PT1D");
  s.getLimits(CARS);
  s.setGroup(CARS, PAUL, "developers");
  s.setGroups(CARS, { [PAUL]: "developers", [VINCENT]: "sales" });
  s.getGroups(CARS);
  s.groupOf(CARS, PAUL);
  s.setDelegates(CARS, [VINCENT]);
  s.getDelegates(CARS);
  const booking = { organiser: PAUL, uid: "drive@example.com", periods: [p("20261124T100000Z", "20261124T120000Z")] };
  s.checkQuota(CARS, booking);
  s.reserve(CARS, booking);
  s.reserve(CARS, { ...booking, uid: "more@example.com", periods: [p("20261125T100000Z", "20261125T113000Z")] });
  s.checkQuota(CARS, { ics: event("ics@example.com", "20261126T100000Z", "20261126T103000Z") });
  s.getEntries(CARS, "developers");
  s.getEntries(CARS, "developers", { from: "20261124", to: "20261125" });
  s.quotas();
  s.quotaUsers(CARS);
  s.removeFromQuota(CARS, "developers", CARS, "drive@example.com");
  s.journalRevision(CARS);
  s.journalChangesSince(CARS, 0);
  // change journal
  s.revision(ROOM);
  s.changesSince(ROOM, 0);
  s.changesSince(ROOM, -1n);
  // the sync client's side (the messages a fetch transport moves)
  s.isReplica();
  s.syncInit("http://127.0.0.1:1", "room", "client-1");
  s.isReplica();
  s.syncSetting("login");
  s.setSyncSetting("token", "t");
  s.setSyncSetting("cursor", "not allowed");
  s.syncRecord(JSON.stringify({ kind: "record", user: ROOM, ics: event("sync@example.com", "20261126T120000Z", "20261126T130000Z") }));
  s.syncOutbox();
  s.syncPending();
  const push = s.syncPushRequest(10);
  s.syncApplyPush(JSON.stringify({ protocol: 1, results: [{ seq: JSON.parse(push).mutations[0].seq, status: "applied" }] }));
  const pull = s.syncPullRequest(100, false);
  s.syncApplyPull(pull, [JSON.stringify({ protocol: 1, status: "ok", owners: [], items: [], cursor: "c1", more: false })]);
  s.syncPending();
  s.attendeeStates(event("att@example.com", "20261126T120000Z", "20261126T130000Z"));
  s.getCompleteEvent(ROOM, "sync@example.com");
  // Counter-proposals: one the room holds from Paul, and a sent one an attendee's copy remembers.
  s.setCounter(ROOM, PAUL, "cp@example.com", null, event("cp@example.com", "20261127T090000Z", "20261127T100000Z"));
  s.counterProposals(ROOM);
  s.sentProposals(
    event("cp@example.com", "20261127T080000Z", "20261127T090000Z", ["X-CALSTORE-PROPOSAL;X-CALSTORE-STATE=DECLINED;X-CALSTORE-REASON=Busy:20261127T090000Z/20261127T100000Z"]),
  );
  return { out, called };
}

describe("in-module backend (calstore-wasm/sqlite) in Node", () => {
  test("storageGuarantees: in memory nothing survives the module", async () => {
    const s = await inModule.openInModule({ now: NOW });
    assert.equal(s.storageGuarantees.rows.length, 3);
    assert.ok(s.storageGuarantees.rows.every((r) => r.processCrash === "lost"));
    s.free();
  });

  test("has the same store methods as the sql.js backend", async () => {
    assert.deepEqual(inModule.storeMethodNames(), sqljsEntry.storeMethodNames());
    assert.ok(inModule.storeMethodNames().length >= 60);
  });

  test("the same calls give the same results on both backends", async () => {
    const viaSqlJs = new sqljsEntry.CalStore(new SQL.Database(), { now: NOW });
    const viaModule = await inModule.openInModule({ now: NOW });
    assert.equal(viaSqlJs.backend, "sql.js");
    assert.equal(viaModule.backend, "in-module");
    const a = script(viaSqlJs);
    const b = script(viaModule);
    // The script reaches every store method.
    assert.deepEqual([...a.called].sort(), inModule.storeMethodNames());
    assert.equal(a.out.length, b.out.length);
    for (let i = 0; i < a.out.length; i++) {
      assert.deepEqual(b.out[i], a.out[i], `call ${i}: ${a.out[i][0]}`);
    }
    // Some calls failed on purpose; they failed the same way.
    const errors = a.out.filter(([, r]) => r && r.error).map(([m, r]) => `${m}:${r.error}`);
    assert.deepEqual(errors, [
      "importIcs:InvalidData",
      "importIcs:InvalidData", // the repairable calendar, strictly
      "setFreebusy:InvalidData",
      "setLimit:InvalidData",
      "setSyncSetting:InvalidData", // the cursor is the protocol's
    ]);
    viaSqlJs.free();
    viaModule.free();
  });

  test("exportImage is a SQLite file that sql.js opens with the same contents", async () => {
    const s = await inModule.openInModule({ now: NOW });
    s.importIcs(ROOM, DEMO, { tz: "Europe/Oslo", onlyInvolving: true });
    const image = s.exportImage();
    assert.equal(new TextDecoder().decode(image.subarray(0, 15)), "SQLite format 3");
    const copy = new sqljsEntry.CalStore(new SQL.Database(image), { now: NOW });
    assert.deepEqual(copy.getFreebusy(ROOM), s.getFreebusy(ROOM));
    assert.equal(copy.revision(ROOM), s.revision(ROOM));
    s.free();
  });

  test("bad options are InvalidData; OPFS is refused outside a dedicated Worker", async () => {
    for (const options of [{ storage: "disk" }, { path: "x.sqlite3" }, { now: "yesterday" }]) {
      await assert.rejects(inModule.openInModule(options), (e) => e.name === "InvalidData" && e.code === "INVALID_DATA");
    }
    await assert.rejects(inModule.openInModule({ storage: "opfs" }), (e) => {
      assert.equal(e.name, "DatabaseError");
      assert.match(e.message, /dedicated worker/);
      return true;
    });
  });
});
