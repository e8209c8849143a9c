// calstore web demo: the sample week in a durable calstore database in this tab.
// No framework: plain DOM; every store call is the package's API (pkg/calstore.js).
import { deleteCalStore, openCalStore } from "./pkg/calstore.js";

const NAME = "web-demo";
// The CLI demo's fixed clock, so that the sample week is inside the free/busy window.
const NOW = "20261122T000000Z";
const TZ = "Europe/Oslo";
const PEOPLE = [
  { name: "Paul Boddie", uri: "mailto:paul.boddie@example.com" },
  { name: "Vincent Vole", uri: "mailto:vincent.vole@example.com" },
  { name: "Conference room", uri: "mailto:resource-room-confroom@example.com" },
];
const DAYS = 7;
const FIRST_HOUR = 8;
const HOURS = 10;
const SLOT_MINUTES = 30;

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const { dataset, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  Object.assign(e.dataset, dataset ?? {});
  e.append(...children);
  return e;
};

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// ---- times ------------------------------------------------------------------------------------

/** `YYYYMMDDTHHMMSSZ` → epoch ms. */
function parseUtc(s) {
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15));
}

const partsFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: TZ, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** The zone's offset from UTC at `ms`, in ms. */
function offsetAt(ms) {
  const p = Object.fromEntries(partsFormat.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
}

/** A wall-clock time in the zone → epoch ms. */
function zoned(y, m, d, h, mi) {
  const guess = Date.UTC(y, m - 1, d, h, mi);
  return guess - offsetAt(guess - offsetAt(guess));
}

const WEEK_START = zoned(2026, 11, 23, 0, 0);
const WEEK_END = zoned(2026, 11, 30, 0, 0);
const toUtcText = (ms) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, weekday: "short", day: "numeric", month: "short" });
const timeFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const whenFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

function slotStart(day, slot) {
  const minutes = FIRST_HOUR * 60 + slot * SLOT_MINUTES;
  return zoned(2026, 11, 23 + day, Math.floor(minutes / 60), minutes % 60);
}

// ---- the store --------------------------------------------------------------------------------

let db = null;
let user = PEOPLE[2].uri;

async function open() {
  const SQL = await window.initSqlJs({ locateFile: (f) => `sqljs/${f}` });
  db = await openCalStore({ SQL, name: NAME, now: NOW });
  if ((await db.users()).length === 0) {
    setStatus("importing the sample calendar…");
    const ics = await (await fetch("demo.ics")).text();
    for (const p of PEOPLE) {
      await db.importIcs(p.uri, ics, { tz: TZ, onlyInvolving: true });
    }
  }
}

function summaryOf(text) {
  const line = text?.split(/\r?\n/).find((l) => l.startsWith("SUMMARY"));
  return line ? line.slice(line.indexOf(":") + 1).replace(/\\([,;\\])/g, "$1") : "(no summary)";
}

async function render() {
  const periods = await db.getFreebusy(user, { from: toUtcText(WEEK_START), to: toUtcText(WEEK_END) });
  const spans = periods.map((p) => ({ ...p, s: parseUtc(p.start), e: parseUtc(p.end) }));
  renderGrid(spans);
  renderEvents(spans);
  await renderCancelled();
  await renderPersistence();
}

function renderGrid(spans) {
  const grid = $("grid");
  const cells = [el("div", { className: "head" }, "")];
  for (let d = 0; d < DAYS; d++) {
    cells.push(el("div", { className: "head" }, dayFormat.format(new Date(slotStart(d, 0)))));
  }
  const slots = (HOURS * 60) / SLOT_MINUTES;
  for (let s = 0; s < slots; s++) {
    const label = s % 2 === 0 ? timeFormat.format(new Date(slotStart(0, s))) : "";
    cells.push(el("div", { className: "hour" }, label));
    for (let d = 0; d < DAYS; d++) {
      const a = slotStart(d, s);
      const b = a + SLOT_MINUTES * 60_000;
      const here = spans.filter((p) => p.s < b && p.e > a);
      const busy = here.find((p) => p.transp === null || p.transp === "OPAQUE");
      const shown = busy ?? here[0];
      const cell = el("div", { className: "cell" });
      if (shown) {
        cell.classList.add(busy ? "busy" : "transparent");
        cell.title = `${shown.summary ?? ""} ${whenFormat.format(new Date(shown.s))}–${timeFormat.format(new Date(shown.e))}`;
        // The summary goes in the first slot of the period on this day.
        if (shown.s >= a || s === 0) cell.textContent = shown.summary ?? "busy";
      }
      cell.dataset.day = d;
      cell.dataset.slot = s;
      cells.push(cell);
    }
  }
  grid.replaceChildren(...cells);
}

function renderEvents(spans) {
  const groups = new Map();
  for (const p of spans) {
    const key = `${p.uid}\u0000${p.recurrenceid ?? ""}`;
    const g = groups.get(key) ?? { uid: p.uid, rid: p.recurrenceid, summary: p.summary, starts: [] };
    g.starts.push(p.s);
    groups.set(key, g);
  }
  const items = [...groups.values()].sort((x, y) => x.starts[0] - y.starts[0]);
  const list = $("events");
  if (items.length === 0) {
    list.replaceChildren(el("li", { className: "empty" }, "nothing this week"));
    return;
  }
  list.replaceChildren(
    ...items.map((g) => {
      const when = whenFormat.format(new Date(g.starts[0])) + (g.starts.length > 1 ? ` (+${g.starts.length - 1} more)` : "");
      const button = el("button", { type: "button", title: g.rid ? "cancel this occurrence" : "cancel the whole event" }, "Cancel");
      button.addEventListener("click", () => write(`Cancelled “${g.summary}”`, () => db.cancelEvent(user, g.uid, g.rid, { tz: TZ })));
      return el("li", { dataset: { uid: g.uid } },
        el("span", { className: "when" }, when),
        el("span", { className: "what" }, g.summary ?? g.uid),
        button);
    }),
  );
}

async function renderCancelled() {
  const cancelled = await db.getAllEvents(user, true);
  const list = $("cancelled");
  if (cancelled.length === 0) {
    list.replaceChildren(el("li", { className: "empty" }, "nothing cancelled"));
    return;
  }
  const items = [];
  for (const o of cancelled) {
    const summary = summaryOf(await db.getEvent(user, o.uid, o.rid, true));
    const button = el("button", { type: "button" }, "Restore");
    button.addEventListener("click", () => write(`Restored “${summary}”`, () => db.uncancelEvent(user, o.uid, o.rid, { tz: TZ })));
    items.push(el("li", { dataset: { uid: o.uid } },
      el("span", { className: "when" }, o.rid ? `occurrence ${o.rid}` : "whole event"),
      el("span", { className: "what" }, summary),
      button));
  }
  list.replaceChildren(...items);
}

async function renderPersistence() {
  const revision = await db.revision(user);
  const s = db.stats();
  const o = s.opened;
  $("persistence").textContent =
    `IndexedDB database “calstore:${s.name}”: ${s.logEntries} log entr${s.logEntries === 1 ? "y" : "ies"} ` +
    `(${(s.logBytes / 1024).toFixed(1)} KiB) since the last snapshot, ${s.snapshots} snapshot(s) this session. ` +
    `Opened from a ${(o.snapshotBytes / 1024).toFixed(0)} KiB snapshot plus ${o.replayed} replayed log entr${o.replayed === 1 ? "y" : "ies"} ` +
    `in ${o.totalMs.toFixed(0)} ms. This calendar is at revision ${revision} of the change journal.`;
}

async function write(what, f) {
  const t0 = performance.now();
  try {
    await f();
    setStatus(`${what}: saved durably in ${(performance.now() - t0).toFixed(1)} ms`);
  } catch (e) {
    setStatus(`${e.name}: ${e.message}`, true);
  }
  await render();
}

// ---- start ------------------------------------------------------------------------------------

async function main() {
  const select = $("person");
  for (const p of PEOPLE) select.append(el("option", { value: p.uri, selected: p.uri === user }, p.name));
  select.addEventListener("change", () => {
    user = select.value;
    render();
  });
  $("reset").addEventListener("click", async () => {
    setStatus("deleting…");
    try {
      await db?.close();
      await deleteCalStore({ name: NAME });
      location.reload();
    } catch (e) {
      setStatus(`${e.name}: ${e.message}`, true);
    }
  });
  try {
    await open();
  } catch (e) {
    setStatus(e.name === "Locked" ? "This demo is open in another tab: close it there, then reload." : `${e.name}: ${e.message}`, true);
    document.body.dataset.state = "error";
    return;
  }
  await render();
  const o = db.stats().opened;
  setStatus(o.replayed > 0 || o.snapshotBytes > 0 ? "restored from IndexedDB" : "sample calendar imported");
  document.body.dataset.state = "ready";
}

main();
