// calstore web calendar: a calendar kept in this browser (calstore on sql.js, durable in
// IndexedDB; or SQLite in the module, durable on OPFS, in a Worker), synced with `calstore
// serve` (the sync protocol, calstore-wasm/sync), usable offline, shared by the tabs of the
// profile (one owns the database, the others work through it). No framework: plain DOM, every
// store call is the package's API.
//
// URL parameters: `db` (the database's name, default "calendar"), `server` (default this
// page's origin), `tz` (the display zone, default the browser's), `now` (a fixed clock,
// `YYYYMMDDTHHMMSSZ`, for tests and demos), `date` (the day shown first, `YYYY-MM-DD`),
// `backend` (`sql.js` or `in-module`; default the choice made on the login form, else sql.js).
import { openCalStore } from "./pkg/calstore.js";
import { openShared } from "./pkg/calstore-sync.js";
import * as ical from "./ical.js";

const params = new URLSearchParams(location.search);
const DB = params.get("db") ?? "calendar";

// The storage backend: sql.js (the default: smaller, on the main thread, durable as a log in
// IndexedDB) or SQLite in the module (faster, durable on OPFS, in a dedicated Worker). Each has
// its own database (and its own replica: switching logs in again); the choice is remembered.
const BACKENDS = { "sql.js": "sql.js, kept in IndexedDB", "in-module": "SQLite in the module, kept on OPFS" };
const BACKEND_KEY = "calstore:backend";
function savedBackend() {
  try {
    return localStorage.getItem(BACKEND_KEY);
  } catch {
    return null;
  }
}
function saveBackend(b) {
  try {
    localStorage.setItem(BACKEND_KEY, b);
  } catch {
    // not kept: the URL parameter still chooses
  }
}
const BACKEND = [params.get("backend"), savedBackend()].find((b) => b && b in BACKENDS) ?? "sql.js";
if (params.get("backend") === BACKEND) saveBackend(BACKEND);
// The name of the database, its locks and its replica mark.
const NAME = BACKEND === "in-module" ? `${DB}.in-module` : DB;
const SERVER = (params.get("server") ?? location.origin).replace(/\/+$/, "");
const TZ = params.get("tz") ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
const FIXED_NOW = /^\d{8}T\d{6}Z$/.test(params.get("now") ?? "") ? params.get("now") : null;
const nowMs = () => (FIXED_NOW ? ical.parseUtc(FIXED_NOW) : Date.now());
const FIRST_HOUR = 7; // scrolled to at first
const HOUR_PX = 48;

const $ = (id) => document.getElementById(id);
function el(tag, props = {}, ...children) {
  const { dataset, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  Object.assign(e.dataset, dataset ?? {});
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, weekday: "short", day: "numeric", month: "short" });
const monthFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, month: "long", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const whenFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: TZ,
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

// ---- the shared database -----------------------------------------------------------------

let sqlPromise = null;
function loadSql() {
  sqlPromise ??= new Promise((resolve, reject) => {
    const s = el("script", { src: "sqljs/sql-wasm-browser.js" });
    s.onload = () => window.initSqlJs({ locateFile: (f) => `sqljs/${f}` }).then(resolve, reject);
    s.onerror = () => reject(new Error("cannot load sql.js"));
    document.head.append(s);
  });
  return sqlPromise;
}

let cal = null; // SharedCalendar
let me = null; // the user's own calendar address (who they are in invitations)
let cur = null; // the calendar shown and written (their own, or one shared with them)
let writable = true;
let sync = { pending: 0, online: true, conflicts: [], storage: {} };
const ui = { view: params.get("view") === "month" ? "month" : "week", anchor: nowMs(), editing: null };
if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("date") ?? "")) ui.anchor = ical.fromFields(params.get("date"), "12:00", TZ);

const call = (method, ...args) => cal.call(method, ...args);

/**
 * The in-module store: a dedicated Worker (store-worker.js) holds it on OPFS; this object's
 * methods post the calls there and resolve with the answers, as CalStore's would return them.
 */
async function openInModuleStore() {
  const worker = new Worker(new URL("./store-worker.js", import.meta.url), { type: "module" });
  const calls = new Map();
  let next = 0;
  worker.onmessage = (e) => {
    const { id, ok, value, error } = e.data;
    const c = calls.get(id);
    if (!c) return;
    calls.delete(id);
    if (ok) c.resolve(value);
    else c.reject(Object.assign(new Error(error.message), error));
  };
  worker.onerror = (e) => {
    for (const c of calls.values()) c.reject(Object.assign(new Error(`the store's worker failed: ${e.message}`), { name: "StorageError" }));
    calls.clear();
  };
  const post = (method, args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      calls.set(id, { resolve, reject });
      worker.postMessage({ id, method, args });
    });
  await post("open", [{ path: `${DB}.sqlite3`, now: FIXED_NOW ?? undefined }]);
  // Not a thenable (`then` is undefined), so that it can be awaited as a value.
  return new Proxy({}, { get: (_, method) => (typeof method !== "string" || method === "then" ? undefined : (...args) => post(method, args)) });
}

async function start() {
  setNet("starting…");
  document.body.dataset.backend = BACKEND;
  cal = await openShared({
    name: NAME,
    open: async () => {
      if (BACKEND === "in-module") return openInModuleStore();
      const SQL = await loadSql();
      return openCalStore({ SQL, name: DB, now: FIXED_NOW ?? undefined, lockTimeoutMs: 15_000 });
    },
    sync: { server: SERVER },
  });
  cal.onSyncState((s) => {
    sync = s;
    renderStatus();
  });
  cal.onChange(() => scheduleRefresh());
  const asOwner = () => {
    cal.sync.start();
    $("tabrole").hidden = true;
  };
  if (cal.role === "owner") asOwner();
  else {
    $("tabrole").hidden = false;
    $("tabrole").textContent = "working through another tab";
  }
  cal.onRole(() => {
    asOwner();
    scheduleRefresh();
  });
  await enter();
}

/** Shows the calendar if this database is a replica, else the login. */
async function enter() {
  const replica = await call("isReplica");
  if (!replica) {
    showLogin();
    return;
  }
  me = await calendarAddress();
  await fillCalendars();
  $("who").textContent = me ? me.replace(/^mailto:/i, "") : "";
  $("logout").hidden = false;
  $("app").hidden = false;
  await refresh();
  performance.mark("calstore:first-week");
  document.body.dataset.ready = "1";
}

async function calendarAddress() {
  const owners = JSON.parse((await call("syncSetting", "owners")) ?? "[]");
  const mine = owners.find((o) => o.scope === "store" && o.role === "owner") ?? owners.find((o) => o.scope === "store");
  return mine?.owner ?? null;
}

/** The calendars the account syncs, in the picker; the shown one stays if it still is there. */
async function fillCalendars() {
  const owners = JSON.parse((await call("syncSetting", "owners")) ?? "[]").filter((o) => o.scope === "store");
  if (!owners.some((o) => o.owner === cur)) cur = me ?? owners[0]?.owner ?? null;
  const pick = $("calendar-pick");
  pick.replaceChildren(
    ...owners.map((o) =>
      el("option", { value: o.owner, selected: o.owner === cur, textContent: `${o.owner.replace(/^mailto:/i, "")}${o.owner === me ? " (mine)" : o.role === "read" ? " (read only)" : ""}` }),
    ),
  );
  pick.hidden = owners.length < 2;
  writable = (owners.find((o) => o.owner === cur)?.role ?? "owner") !== "read";
  $("new-event").disabled = !writable;
}

function showLogin(message) {
  const d = $("login-dialog");
  $("login-server").value = SERVER;
  $("login-backend").value = BACKEND;
  if (sync.login) $("login-name").value = sync.login;
  $("login-error").textContent = message ?? "";
  if (sync.storage?.lost) {
    $("login-note").textContent = `This browser no longer holds your calendar (its storage was cleared). Log in to fetch it again${
      sync.storage.mirrored ? `; ${sync.storage.mirrored} unsynced changes were kept and will be sent` : ""
    }.`;
  }
  if (!d.open) d.showModal();
  $(sync.login ? "login-password" : "login-name").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const login = $("login-name").value.trim();
  const password = $("login-password").value;
  $("login-error").textContent = "";
  $("login-submit").disabled = true;
  try {
    await call("login", login, password);
    await call("requestPersistence").catch(() => null);
    $("login-password").value = "";
    $("login-dialog").close();
    await enter();
  } catch (e) {
    $("login-error").textContent =
      e.error === "login_failed"
        ? "Unknown login or wrong password."
        : e.name === "NetworkError"
          ? "Cannot reach the server: you need to be online to log in the first time."
          : e.status === 403 && /sessions/.test(e.message)
            ? "All of this account's sessions are in use (each browser or device that logs in holds one): log out elsewhere, or ask the administrator for more (account add --max-sessions)."
            : e.message;
  } finally {
    $("login-submit").disabled = false;
  }
});

// Another backend is another database: remembered, and the page opens it.
$("login-backend").addEventListener("change", () => {
  const b = $("login-backend").value;
  if (!(b in BACKENDS) || b === BACKEND) return;
  saveBackend(b);
  const u = new URL(location.href);
  if (u.searchParams.has("backend")) u.searchParams.set("backend", b);
  location.assign(u);
});

$("logout").addEventListener("click", async () => {
  await call("logout");
  showLogin("Logged out. Your calendar stays in this browser; log in to sync again.");
});

// ---- status --------------------------------------------------------------------------------

function setNet(text, cls = "") {
  $("net").textContent = text;
  $("net").className = `pill ${cls}`;
}

function renderStatus() {
  const online = navigator.onLine && sync.online !== false;
  setNet(sync.syncing ? "Syncing…" : online ? "Online" : "Offline", online ? "ok" : "off");
  $("net").dataset.state = online ? "online" : "offline";
  const n = sync.pending ?? 0;
  $("pending").textContent = n === 0 ? "All changes synced" : `${n} unsynced change${n === 1 ? "" : "s"}`;
  $("pending").dataset.count = String(n);
  $("pending").className = `pill ${n ? "warn" : ""}`;
  const banner = $("banner");
  const messages = [];
  if (sync.storage?.lost) messages.push("This browser lost the stored calendar. Log in to fetch it again.");
  else if (sync.needsLogin && me) messages.push("Your session has ended: log in again to sync (you can keep working offline).");
  if (sync.lastError && sync.lastError.name !== "NetworkError" && !sync.needsLogin) messages.push(`Sync failed: ${sync.lastError.message}`);
  banner.hidden = messages.length === 0;
  banner.replaceChildren(...messages.map((m) => el("p", { textContent: m })));
  if (sync.needsLogin && me && !banner.querySelector("button")) {
    banner.append(el("button", { type: "button", textContent: "Log in", onclick: () => showLogin() }));
  }
  renderConflicts();
  renderStorage();
}

function renderStorage() {
  const s = sync.storage ?? {};
  const parts = [`Stored with ${BACKENDS[BACKEND]}.`];
  parts.push(
    s.persisted === true
      ? "Kept by the browser (persistent storage granted)."
      : s.persisted === false
        ? "The browser may clear this storage when space runs low (persistent storage not granted); unsynced changes are also kept aside and a lost calendar is fetched again."
        : "Persistence unknown.",
  );
  if (s.usage != null && s.quota) parts.push(`Using ${(s.usage / 1e6).toFixed(1)} MB of ${(s.quota / 1e6).toFixed(0)} MB.`);
  if (s.repaired) parts.push("The calendar was fetched again after the browser lost it.");
  $("storage").textContent = parts.join(" ");
  $("storage").dataset.persisted = String(s.persisted);
  $("storage").dataset.backend = BACKEND;
}

function renderConflicts() {
  const list = $("conflicts");
  const items = (sync.conflicts ?? []).map((c) => {
    let text;
    if (c.booking) {
      text =
        c.booking.decision === "accepted"
          ? `Booking of ${c.booking.quota} accepted.`
          : `Booking of ${c.booking.quota} declined${c.booking.reason ? `: ${c.booking.reason}` : ""}.`;
    } else {
      const won = (c.won ?? []).map((w) => `“${w.summary ?? w.uid}” (version ${w.sequence}${w.status === "cancelled" ? ", cancelled" : ""})`).join(", ");
      const what = { record: "change", cancel: "cancellation", uncancel: "restoring", remove: "removal", counter: "proposal of another time", accept_counter: "acceptance of a proposed time", decline_counter: "decline of a proposed time" }[c.kind] ?? c.kind ?? "change";
      const of = c.summary ? `“${c.summary}”` : (c.won ?? [])[0]?.summary ? `“${c.won[0].summary}”` : "an event";
      text =
        c.status === "superseded"
          ? `Your ${what} of ${of} was superseded by a newer version on the server${won ? `: ${won} won` : ""}.`
          : `Your ${what} of ${of} was rejected: ${c.reason ?? "not allowed"}.`;
    }
    return el("li", { className: `conflict ${c.status}`, textContent: text, dataset: { uid: c.uid ?? "", status: c.status } });
  });
  list.replaceChildren(...(items.length ? items : [el("li", { className: "empty", textContent: "None." })]));
  $("clear-conflicts").hidden = items.length === 0;
}

$("clear-conflicts").addEventListener("click", () => call("clearConflicts"));
$("sync-now").addEventListener("click", () => syncNow());

async function syncNow() {
  try {
    await call("sync");
  } catch (e) {
    if (e.name === "NetworkError") setNet("Offline", "off");
  }
}

// ---- reading what to show -----------------------------------------------------------------

let refreshQueued = false;
function scheduleRefresh() {
  if (refreshQueued || !me) return;
  refreshQueued = true;
  requestAnimationFrame(() => {
    refreshQueued = false;
    refresh().catch(showError);
  });
}

function showError(e) {
  const banner = $("banner");
  banner.hidden = false;
  banner.replaceChildren(el("p", { textContent: `Error: ${e.message}` }));
}

function weekStart(ms) {
  const d = ical.dayStart(ms, TZ);
  return ical.addDays(d, -ical.wall(d, TZ).dow, TZ);
}

function range() {
  if (ui.view === "week") {
    const from = weekStart(ui.anchor);
    return { from, to: ical.addDays(from, 7, TZ), days: 7 };
  }
  const w = ical.wall(ui.anchor, TZ);
  const first = ical.zoned(w.y, w.m, 1, 0, 0, TZ);
  const from = weekStart(first);
  return { from, to: ical.addDays(from, 42, TZ), days: 42, first };
}

async function refresh() {
  if (!me) return;
  await fillCalendars();
  const r = range();
  const periods = await call("getFreebusy", cur, { from: ical.utc(r.from), to: ical.utc(r.to) });
  // Events the user organises with others: their attendees' answers (pending/accepted/declined).
  const states = new Map();
  const organised = [...new Set(periods.filter((p) => p.uid && ical.sameAddress(p.organiser, me)).map((p) => p.uid))];
  for (const uid of organised) {
    const text = await call("getEvent", cur, uid, null);
    if (!text) continue;
    try {
      states.set(uid, JSON.parse(await call("attendeeStates", text)));
    } catch {
      // an event the core cannot read for scheduling: no badge
    }
  }
  if (ui.view === "week") renderWeek(r, periods, states);
  else renderMonth(r, periods, states);
  await renderInvitations();
}

function badgeOf(list) {
  if (!list || list.length === 0) return null;
  if (list.some((a) => a.partstat === "DECLINED")) return "declined";
  if (list.some((a) => a.partstat === "NEEDS-ACTION" || a.partstat === "TENTATIVE")) return "pending";
  return "accepted";
}

function eventButton(p, states, compact) {
  const start = ical.parseUtc(p.start);
  const end = ical.parseUtc(p.end);
  const badge = p.uid ? badgeOf(states.get(p.uid)) : null;
  const label = `${timeFormat.format(start)}–${timeFormat.format(end)} ${p.summary ?? "(busy)"}${badge ? `, ${badge}` : ""}`;
  const b = el(
    "button",
    {
      type: "button",
      className: `ev ${p.transp === "TRANSPARENT" ? "free" : ""} ${badge ?? ""}`,
      title: label,
      ariaLabel: label,
      dataset: { uid: p.uid ?? "", rid: p.recurrenceid ?? "", start: p.start, end: p.end, summary: p.summary ?? "" },
    },
    el("span", { className: "t", textContent: timeFormat.format(start) }),
    " ",
    el("span", { className: "s", textContent: p.summary ?? "(busy)" }),
    badge ? el("span", { className: `badge ${badge}`, textContent: badge }) : null,
  );
  if (!p.uid) b.disabled = true;
  b.addEventListener("click", () => openEditor(p));
  b.addEventListener("keydown", (e) => moveByKey(e, p));
  if (compact) b.classList.add("compact");
  return b;
}

function renderWeek(r, periods, states) {
  const to = ical.addDays(r.from, 6, TZ);
  $("range-title").textContent = `${dayFormat.format(r.from)} – ${dayFormat.format(to)} ${ical.wall(to, TZ).y}`;
  const head = el("div", { className: "week-head" }, el("div", { className: "corner" }));
  const body = el("div", { className: "week-body" });
  const hours = el("div", { className: "hours", ariaHidden: "true" });
  for (let h = 0; h < 24; h += 1) hours.append(el("div", { className: "hour", textContent: `${String(h).padStart(2, "0")}:00` }));
  body.append(hours);
  const today = ical.dayStart(nowMs(), TZ);
  for (let d = 0; d < 7; d += 1) {
    const dayFrom = ical.addDays(r.from, d, TZ);
    const dayTo = ical.addDays(r.from, d + 1, TZ);
    head.append(el("div", { className: `dayname ${dayFrom === today ? "today" : ""}`, textContent: dayFormat.format(dayFrom) }));
    const col = el("div", { className: "day", role: "list", ariaLabel: dayFormat.format(dayFrom), dataset: { day: ical.fields(dayFrom, TZ).date } });
    col.addEventListener("dblclick", (e) => {
      if (e.target !== col) return;
      const rect = col.getBoundingClientRect();
      const minutes = Math.floor(((e.clientY - rect.top) / HOUR_PX) * 2) * 30;
      const start = ical.zoned(...dateParts(dayFrom), Math.floor(minutes / 60), minutes % 60, TZ);
      openEditor(null, start);
    });
    const todays = periods
      .filter((p) => ical.parseUtc(p.start) < dayTo && ical.parseUtc(p.end) > dayFrom)
      .sort((a, b) => a.start.localeCompare(b.start));
    // Overlapping events side by side: each gets a lane.
    const lanes = [];
    for (const p of todays) {
      const s = Math.max(ical.parseUtc(p.start), dayFrom);
      let lane = lanes.findIndex((end) => end <= s);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = ical.parseUtc(p.end);
      p._lane = lane;
    }
    for (const p of todays) {
      const s = Math.max(ical.parseUtc(p.start), dayFrom);
      const e = Math.min(ical.parseUtc(p.end), dayTo);
      const b = eventButton(p, states, false);
      b.setAttribute("role", "listitem");
      b.style.top = `${((s - dayFrom) / 3_600_000) * HOUR_PX}px`;
      b.style.height = `${Math.max(((e - s) / 3_600_000) * HOUR_PX - 2, 18)}px`;
      b.style.left = `${(p._lane / lanes.length) * 100}%`;
      b.style.width = `${100 / lanes.length}%`;
      col.append(b);
    }
    body.append(col);
  }
  const scrolled = document.querySelector(".week-body")?.scrollTop;
  $("calendar").replaceChildren(el("div", { className: "week" }, head, body));
  body.scrollTop = scrolled ?? FIRST_HOUR * HOUR_PX;
}

function dateParts(ms) {
  const w = ical.wall(ms, TZ);
  return [w.y, w.m, w.d];
}

function renderMonth(r, periods, states) {
  $("range-title").textContent = monthFormat.format(r.first);
  const month = ical.wall(r.first, TZ).m;
  const grid = el("div", { className: "month", role: "grid" });
  const header = el("div", { className: "month-row head", role: "row" });
  for (const n of ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]) header.append(el("div", { role: "columnheader", textContent: n }));
  grid.append(header);
  const today = ical.dayStart(nowMs(), TZ);
  let row = null;
  for (let d = 0; d < 42; d += 1) {
    if (d % 7 === 0) {
      row = el("div", { className: "month-row", role: "row" });
      grid.append(row);
    }
    const dayFrom = ical.addDays(r.from, d, TZ);
    const dayTo = ical.addDays(r.from, d + 1, TZ);
    const w = ical.wall(dayFrom, TZ);
    const cell = el("div", { className: `cell ${w.m === month ? "" : "other"} ${dayFrom === today ? "today" : ""}`, role: "gridcell", dataset: { day: ical.fields(dayFrom, TZ).date } });
    cell.append(
      el("button", {
        type: "button",
        className: "daynum",
        textContent: String(w.d),
        ariaLabel: `Week of ${dayFormat.format(dayFrom)}`,
        onclick: () => {
          ui.anchor = dayFrom;
          setView("week");
        },
      }),
    );
    const todays = periods.filter((p) => ical.parseUtc(p.start) < dayTo && ical.parseUtc(p.end) > dayFrom).sort((a, b) => a.start.localeCompare(b.start));
    for (const p of todays.slice(0, 4)) cell.append(eventButton(p, states, true));
    if (todays.length > 4) cell.append(el("span", { className: "more", textContent: `+${todays.length - 4} more` }));
    row.append(cell);
  }
  $("calendar").replaceChildren(grid);
}

const who = (address) => (address ?? "").replace(/^mailto:/i, "");
/** "Fri 10 Oct, 10:00–11:00" of two `YYYYMMDDTHHMMSSZ` instants. */
const spanText = (start, end) => `${whenFormat.format(ical.parseUtc(start))}–${timeFormat.format(ical.parseUtc(end))}`;

async function renderInvitations() {
  const requests = await call("getRequests", me);
  const items = [];
  for (const r of requests) {
    if (r.kind === "COUNTER") continue; // a proposal for the organiser: listed under "Proposed times"
    const text = await call("getEvent", me, r.uid, r.rid); // invitation
    if (!text) continue;
    const ev = ical.events(text)[0];
    if (!ev) continue;
    const summary = ical.unescapeText(ical.prop(ev, "SUMMARY")?.value ?? r.uid);
    const start = ical.timeOf(ical.prop(ev, "DTSTART"), TZ);
    const organiser = ical.prop(ev, "ORGANIZER")?.value ?? "";
    const sent = JSON.parse(await call("sentProposals", text)).filter((p) => (p.rid ?? null) === (r.rid ?? null));
    const li = el(
      "li",
      { className: "invitation", dataset: { uid: r.uid } },
      el("strong", { textContent: summary }),
      el("span", { textContent: ` ${start ? whenFormat.format(start) : ""} from ${who(organiser)}` }),
      ...sent.map((p) =>
        el("p", {
          className: `proposal ${p.state}`,
          dataset: { state: p.state },
          textContent:
            p.state === "declined"
              ? `${who(organiser)} declined your proposal of ${spanText(p.start, p.end)}${p.reason ? `: “${p.reason}”` : "."}`
              : `You proposed ${spanText(p.start, p.end)}; waiting for ${who(organiser)}.`,
        }),
      ),
      el(
        "div",
        { className: "buttons" },
        el("button", { type: "button", className: "primary", textContent: "Accept", onclick: () => answer(r, text, "ACCEPTED") }),
        el("button", { type: "button", textContent: "Decline", onclick: () => answer(r, text, "DECLINED") }),
        el("button", { type: "button", className: "propose", textContent: "Propose new time", onclick: (e) => proposeForm(e.target.closest("li"), r, ev) }),
      ),
    );
    items.push(li);
  }
  $("invitations").replaceChildren(...(items.length ? items : [el("li", { className: "empty", textContent: "No invitations." })]));
  await renderProposals();
}

/** The form under an invitation for proposing another time (a `counter` mutation). */
function proposeForm(li, request, ev) {
  if (li.querySelector("form")) return;
  const start = ical.timeOf(ical.prop(ev, "DTSTART"), TZ) ?? nowMs();
  const endProp = ical.prop(ev, "DTEND");
  const end = endProp ? ical.timeOf(endProp, TZ) : start + 3_600_000;
  const f = fieldsOf(start);
  const field = (label, props) => el("label", {}, `${label} `, el("input", props));
  const error = el("p", { className: "error", role: "alert" });
  const form = el(
    "form",
    { className: "propose-form" },
    el(
      "div",
      { className: "row" },
      field("Date", { name: "date", type: "date", required: true, value: f.date }),
      field("Start", { name: "start", type: "time", required: true, value: f.time }),
      field("End", { name: "end", type: "time", required: true, value: fieldsOf(end).time }),
    ),
    field("Comment", { name: "comment", maxLength: 500 }),
    error,
    el(
      "div",
      { className: "buttons" },
      el("button", { type: "submit", className: "primary", textContent: "Send proposal" }),
      el("button", { type: "button", textContent: "Close", onclick: () => form.remove() }),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = new FormData(form);
    const from = ical.fromFields(v.get("date"), v.get("start"), TZ);
    let to = ical.fromFields(v.get("date"), v.get("end"), TZ);
    if (to <= from) to = ical.addDays(to, 1, TZ);
    try {
      const stamp = ical.prop(ev, "DTSTAMP")?.value ?? null;
      await call("write", {
        kind: "counter",
        user: me,
        uid: request.uid,
        rid: request.rid ?? null,
        start: ical.utc(from),
        end: ical.utc(to),
        comment: v.get("comment") || null,
        base: { sequence: seqOf(ev), dtstamp: stamp },
      });
      form.remove();
      scheduleRefresh();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  li.append(form);
  form.querySelector("input").focus();
}

const fieldsOf = (ms) => ical.fields(ms, TZ);

/** The counter-proposals the user received as organiser, to accept or decline. */
async function renderProposals() {
  const list = JSON.parse(await call("counterProposals", me));
  const items = list.map((p) => {
    const comment = el("input", { className: "decline-comment", placeholder: "Comment (optional)", maxLength: 500, ariaLabel: "Comment with a decline" });
    const answerWith = async (kind) => {
      const m = { kind, user: me, other: p.attendee, uid: p.uid, rid: p.rid ?? null };
      if (kind === "decline_counter") m.comment = comment.value || null;
      await call("write", m);
      scheduleRefresh();
    };
    return el(
      "li",
      { className: "proposal-received", dataset: { uid: p.uid, attendee: p.attendee } },
      el("strong", { textContent: p.summary ?? p.uid }),
      el("span", { textContent: ` ${who(p.attendee)} proposes ${spanText(p.start, p.end)}${p.rid ? " (one occurrence)" : ""}` }),
      p.comment ? el("p", { className: "comment", textContent: `“${p.comment}”` }) : null,
      comment,
      el(
        "div",
        { className: "buttons" },
        el("button", { type: "button", className: "primary", textContent: "Accept proposal", onclick: () => answerWith("accept_counter") }),
        el("button", { type: "button", textContent: "Decline proposal", onclick: () => answerWith("decline_counter") }),
      ),
    );
  });
  $("proposals").replaceChildren(...(items.length ? items : [el("li", { className: "empty", textContent: "No proposed times." })]));
}

/** Answers an invitation: my copy with my PARTSTAT, the request taken off the queue. */
async function answer(request, text, partstat) {
  const evs = ical.events(text);
  const mine = evs.map((ev) => ({
    lines: ev.lines.map((raw) => {
      const p = ical.parseLine(raw);
      return p.name === "ATTENDEE" && ical.sameAddress(p.value, me) ? ical.withPartstat(raw, partstat) : raw;
    }),
    sub: ev.sub,
  }));
  await call("write", { kind: "record", user: me, ics: ical.calendar(mine) });
  await call("write", { kind: "dequeue_request", user: me, uid: request.uid, rid: request.rid });
  scheduleRefresh();
}

// ---- editing -------------------------------------------------------------------------------

/** Opens the editor for a shown occurrence `p`, or for a new event at `start`. */
async function openEditor(p, start) {
  const d = $("editor");
  $("editor-error").textContent = "";
  $("ev-attendee-states").replaceChildren();
  const form = $("editor-form");
  form.reset();
  ui.editing = null;
  if (p) {
    const text = await call("getEvent", cur, p.uid, null);
    const override = p.recurrenceid ? await call("getEvent", cur, p.uid, p.recurrenceid) : null;
    const parent = text ? ical.events(text)[0] : null;
    const source = override ? ical.events(override)[0] : parent;
    if (!source) return;
    const rrule = parent ? ical.prop(parent, "RRULE") : null;
    const occStart = ical.parseUtc(p.start);
    const occEnd = ical.parseUtc(p.end);
    ui.editing = { p, parent, override: override ? ical.events(override)[0] : null, recurring: Boolean(rrule), occStart, occEnd };
    $("editor-title").textContent = "Edit event";
    $("ev-summary").value = ical.unescapeText(ical.prop(source, "SUMMARY")?.value ?? "");
    $("ev-date").value = ical.fields(occStart, TZ).date;
    $("ev-start").value = ical.fields(occStart, TZ).time;
    $("ev-end").value = ical.fields(occEnd, TZ).time;
    const parts = ical.ruleParts(rrule?.value);
    $("ev-repeat").value = parts.FREQ && ["DAILY", "WEEKLY", "MONTHLY"].includes(parts.FREQ) ? parts.FREQ : "";
    $("ev-count").value = parts.COUNT ?? "";
    const attendees = ical.props(source, "ATTENDEE").map((a) => a.value).filter((a) => !ical.sameAddress(a, me));
    $("ev-attendees").value = attendees.join(", ");
    $("ev-scope").hidden = !rrule;
    $("ev-cancel-event").hidden = false;
    const organiser = ical.prop(source, "ORGANIZER")?.value;
    if (organiser && ical.sameAddress(organiser, me) && text) {
      const states = JSON.parse(await call("attendeeStates", override ?? text));
      $("ev-attendee-states").replaceChildren(
        ...states.map((s) => {
          const state = s.partstat === "NEEDS-ACTION" ? "pending" : s.partstat.toLowerCase();
          return el("li", { className: `state ${state}`, dataset: { attendee: s.attendee, state } }, `${s.attendee.replace(/^mailto:/i, "")}: ${state}${s.reason ? ` (${s.reason})` : ""}`);
        }),
      );
    } else if (organiser) {
      $("ev-attendee-states").replaceChildren(el("li", { textContent: `Organised by ${organiser.replace(/^mailto:/i, "")}` }));
    }
  } else {
    const s = start ?? nextHalfHour();
    $("editor-title").textContent = "New event";
    $("ev-date").value = ical.fields(s, TZ).date;
    $("ev-start").value = ical.fields(s, TZ).time;
    $("ev-end").value = ical.fields(s + 3_600_000, TZ).time;
    $("ev-scope").hidden = true;
    $("ev-cancel-event").hidden = true;
  }
  $("ev-busy").hidden = true;
  $("ev-busy-rows").replaceChildren();
  if (!d.open) d.showModal();
  $("ev-summary").focus();
  scheduleBusy(0);
}

// ---- the scheduling view: the attendees' and rooms' busy times from the server --------------

const BUSY_FROM = 7; // the hours shown, widened to take in the proposed time
const BUSY_TO = 20;
let busyTimer = null;
let busyAsked = 0;

function scheduleBusy(delay = 400) {
  clearTimeout(busyTimer);
  busyTimer = setTimeout(() => renderBusy().catch((e) => ($("ev-busy-note").textContent = e.message)), delay);
}

/** Shows, for the day in the editor, the busy times of the user and of every attendee. */
async function renderBusy() {
  const section = $("ev-busy");
  const asked = ++busyAsked;
  const date = $("ev-date").value;
  const v = date && $("ev-start").value && $("ev-end").value ? formValues() : null;
  if (!v || v.attendees.length === 0 || !me || !$("editor").open) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  section.dataset.state = "loading";
  const dayFrom = ical.fromFields(date, "00:00", TZ);
  const dayTo = ical.addDays(dayFrom, 1, TZ);
  const users = [me, ...v.attendees.filter((a) => !ical.sameAddress(a, me))];
  let answer;
  try {
    answer = await call("freeBusy", users, new Date(dayFrom), new Date(dayTo));
  } catch (e) {
    if (asked !== busyAsked) return;
    $("ev-busy-rows").replaceChildren();
    $("ev-busy-note").textContent =
      e.name === "NetworkError" ? "Busy times come from the server: not available offline." : `Busy times are not available: ${e.message}`;
    section.dataset.state = "unavailable";
    return;
  }
  if (asked !== busyAsked) return;
  const hour = (ms) => (ms - dayFrom) / 3_600_000;
  const from = Math.min(BUSY_FROM, Math.floor(hour(v.start)));
  const to = Math.max(BUSY_TO, Math.min(24, Math.ceil(hour(v.end))));
  const pos = (ms) => ((Math.min(Math.max(hour(ms), from), to) - from) / (to - from)) * 100;
  const block = (cls, s, e) => el("span", { className: cls, style: `left:${pos(s)}%;width:${Math.max(pos(e) - pos(s), 0.5)}%` });
  const clock = (ms, end) => (end && ms >= dayTo ? "24:00" : ms < dayFrom ? "00:00" : timeFormat.format(ms));
  const rows = answer.map((u) => {
    const busy = u.busy.map((b) => [b.start.getTime(), b.end.getTime()]).filter(([s, e]) => s < dayTo && e > dayFrom);
    const clash = busy.some(([s, e]) => s < v.end && e > v.start);
    const said = !u.shared
      ? "not shared, or not a user of this server"
      : busy.length === 0
        ? "free all day"
        : `${clash ? "busy at this time; " : ""}busy ${busy.map(([s, e]) => `${clock(s)}–${clock(e, true)}`).join(", ")}`;
    const who = ical.sameAddress(u.user, me) ? "you" : u.user.replace(/^mailto:/i, "");
    return el(
      "li",
      { className: `busy-row${u.shared ? "" : " unknown"}${clash ? " clash" : ""}`, dataset: { user: u.user, shared: String(u.shared), clash: String(clash) } },
      el("span", { className: "who", textContent: who }),
      el("div", { className: "bar", ariaHidden: "true" }, ...busy.map(([s, e]) => block("busy", s, e)), block("slot", v.start, v.end)),
      el("span", { className: "text", textContent: said }),
    );
  });
  $("ev-busy-rows").replaceChildren(...rows);
  $("ev-busy-note").textContent = `${String(from).padStart(2, "0")}:00 to ${String(to).padStart(2, "0")}:00, the proposed time outlined${ui.editing ? "; the busy times include this event itself" : ""}.`;
  section.dataset.state = "ready";
}

for (const id of ["ev-date", "ev-start", "ev-end", "ev-attendees"]) $(id).addEventListener("input", () => scheduleBusy());
$("editor").addEventListener("close", () => {
  clearTimeout(busyTimer);
  busyAsked += 1;
});

function nextHalfHour() {
  const n = Math.max(nowMs(), ui.view === "week" ? weekStart(ui.anchor) : ui.anchor);
  return Math.ceil(n / 1_800_000) * 1_800_000;
}

const dtstamp = () => ical.utc(nowMs());
const seqOf = (ev) => Number(ical.prop(ev, "SEQUENCE")?.value ?? 0) || 0;
const newUid = () => `${crypto.randomUUID()}@calstore.web`;

function formValues() {
  const summary = $("ev-summary").value.trim();
  const date = $("ev-date").value;
  const start = ical.fromFields(date, $("ev-start").value, TZ);
  let end = ical.fromFields(date, $("ev-end").value, TZ);
  if (end <= start) end = ical.addDays(end, 1, TZ); // ends after midnight
  const freq = $("ev-repeat").value;
  const count = $("ev-count").value;
  const rrule = freq ? `FREQ=${freq}${count ? `;COUNT=${Math.min(500, Math.max(1, Number(count)))}` : ""}` : null;
  const attendees = $("ev-attendees")
    .value.split(/[\s,;]+/)
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => (/^mailto:/i.test(a) ? a : `mailto:${a}`));
  return { summary, start, end, rrule, attendees };
}

/** The attendee lines of an edited event: kept answers for kept attendees, new ones invited. */
function attendeeLines(source, attendees) {
  if (attendees.length === 0) return { ORGANIZER: [], ATTENDEE: [] };
  const old = new Map(ical.props(source, "ATTENDEE").map((a) => [a.value.toLowerCase(), a.raw]));
  const lines = [old.get(me.toLowerCase()) ?? `ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:${me}`];
  for (const a of attendees) lines.push(old.get(a.toLowerCase()) ?? `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${a}`);
  return { ORGANIZER: [ical.prop(source, "ORGANIZER")?.raw ?? `ORGANIZER:${me}`], ATTENDEE: lines };
}

function scope() {
  return new FormData($("editor-form")).get("scope") ?? "all";
}

$("editor-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await save(formValues(), ui.editing ? (ui.editing.recurring ? scope() : "all") : null);
    $("editor").close();
    scheduleRefresh();
  } catch (e) {
    $("editor-error").textContent = e.message;
  }
});

$("ev-close").addEventListener("click", () => $("editor").close());

$("ev-cancel-event").addEventListener("click", async () => {
  try {
    await cancel(ui.editing, ui.editing.recurring ? scope() : "all");
    $("editor").close();
    scheduleRefresh();
  } catch (e) {
    $("editor-error").textContent = e.message;
  }
});

const record = (evs) => call("write", { kind: "record", user: cur, ics: ical.calendar(evs) });

/** Saves the form: a new event, or a change of `scope` ("this", "following", "all"). */
async function save(v, which) {
  if (!v.summary) throw new Error("The title is empty.");
  if (!ui.editing) {
    await record([ical.newEvent({ uid: newUid(), summary: v.summary, start: v.start, end: v.end, tz: TZ, rrule: v.rrule, organiser: me, attendees: v.attendees, dtstamp: dtstamp() })]);
    return;
  }
  const { parent, override, occStart, occEnd, recurring } = ui.editing;
  const common = (source) => ({ SUMMARY: [`SUMMARY:${ical.escapeText(v.summary)}`], DTSTAMP: [`DTSTAMP:${dtstamp()}`], ...attendeeLines(source, v.attendees) });
  if (!recurring || which === "all") {
    // The whole event: its times moved by what the occurrence moved.
    const delta = v.start - occStart;
    const duration = v.end - v.start;
    const start = ical.timeOf(ical.prop(parent, "DTSTART"), TZ) + delta;
    const set = {
      ...common(parent),
      SEQUENCE: [`SEQUENCE:${seqOf(parent) + 1}`],
      DTSTART: [ical.timeLine("DTSTART", start, TZ)],
      DTEND: [ical.timeLine("DTEND", start + duration, TZ)],
      DURATION: [],
    };
    const old = ical.ruleParts(ical.prop(parent, "RRULE")?.value);
    if (v.rrule) {
      const parts = { ...old, ...ical.ruleParts(v.rrule) };
      if (!$("ev-count").value) delete parts.COUNT;
      if (parts.FREQ !== old.FREQ) delete parts.BYDAY;
      set.RRULE = [`RRULE:${ical.ruleText(parts)}`];
    } else set.RRULE = [];
    await record([ical.withProps(parent, set)]);
    return;
  }
  if (which === "this") {
    const base = override ?? ical.withProps(parent, { RRULE: [], RDATE: [], EXDATE: [] });
    const rid = ui.editing.p.recurrenceid ?? ical.utc(occStart);
    const ev = ical.withProps(base, {
      ...common(base),
      "RECURRENCE-ID": [`RECURRENCE-ID:${rid}`],
      SEQUENCE: [`SEQUENCE:${Math.max(seqOf(parent), override ? seqOf(override) : 0) + 1}`],
      DTSTART: [ical.timeLine("DTSTART", v.start, TZ)],
      DTEND: [ical.timeLine("DTEND", v.end, TZ)],
      DURATION: [],
    });
    await record([ev]);
    return;
  }
  // This and following: the series ends before this occurrence, a new one starts here.
  const parts = ical.ruleParts(ical.prop(parent, "RRULE")?.value);
  const ended = { ...parts, UNTIL: ical.utc(occStart - 1000) };
  delete ended.COUNT;
  const next = { ...parts, ...(v.rrule ? ical.ruleParts(v.rrule) : {}) };
  delete next.COUNT;
  if (v.rrule && $("ev-count").value) next.COUNT = ical.ruleParts(v.rrule).COUNT;
  await record([ical.withProps(parent, { SEQUENCE: [`SEQUENCE:${seqOf(parent) + 1}`], DTSTAMP: [`DTSTAMP:${dtstamp()}`], RRULE: [`RRULE:${ical.ruleText(ended)}`] })]);
  const fresh = ical.withProps(parent, {
    ...common(parent),
    UID: [`UID:${newUid()}`],
    SEQUENCE: ["SEQUENCE:0"],
    DTSTART: [ical.timeLine("DTSTART", v.start, TZ)],
    DTEND: [ical.timeLine("DTEND", v.end, TZ)],
    DURATION: [],
    EXDATE: [],
    RRULE: [`RRULE:${ical.ruleText(next)}`],
  });
  await record([fresh]);
  void occEnd;
}

/** Cancels the event (`all`), one occurrence (`this`) or the rest of the series (`following`). */
async function cancel(editing, which) {
  const { p, parent, override, occStart } = editing;
  if (which === "all") {
    await call("write", { kind: "cancel", user: cur, uid: p.uid, rid: null, base: { sequence: seqOf(parent), dtstamp: ical.prop(parent, "DTSTAMP")?.value ?? null } });
    return;
  }
  if (which === "this") {
    if (override) {
      await call("write", { kind: "cancel", user: cur, uid: p.uid, rid: p.recurrenceid, base: { sequence: seqOf(override), dtstamp: ical.prop(override, "DTSTAMP")?.value ?? null } });
      return;
    }
    const exdates = ical.props(parent, "EXDATE").map((x) => x.raw);
    exdates.push(`EXDATE:${p.recurrenceid ?? ical.utc(occStart)}`);
    await record([ical.withProps(parent, { SEQUENCE: [`SEQUENCE:${seqOf(parent) + 1}`], DTSTAMP: [`DTSTAMP:${dtstamp()}`], EXDATE: exdates })]);
    return;
  }
  const parts = ical.ruleParts(ical.prop(parent, "RRULE")?.value);
  parts.UNTIL = ical.utc(occStart - 1000);
  delete parts.COUNT;
  await record([ical.withProps(parent, { SEQUENCE: [`SEQUENCE:${seqOf(parent) + 1}`], DTSTAMP: [`DTSTAMP:${dtstamp()}`], RRULE: [`RRULE:${ical.ruleText(parts)}`] })]);
}

/** Alt+arrows on a focused event move it (a day, or half an hour); recurring ones open the editor. */
async function moveByKey(e, p) {
  if (!e.altKey || !["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(e.key)) return;
  e.preventDefault();
  e.stopPropagation();
  const text = await call("getEvent", cur, p.uid, null);
  const parent = text ? ical.events(text)[0] : null;
  if (!parent) return;
  if (ical.prop(parent, "RRULE") || p.recurrenceid) {
    openEditor(p);
    return;
  }
  const step = { ArrowLeft: -86_400_000, ArrowRight: 86_400_000, ArrowUp: -1_800_000, ArrowDown: 1_800_000 }[e.key];
  const start = ical.parseUtc(p.start);
  const end = ical.parseUtc(p.end);
  const isDay = Math.abs(step) === 86_400_000;
  const s2 = isDay ? ical.addDays(start, Math.sign(step), TZ) : start + step;
  const e2 = isDay ? ical.addDays(end, Math.sign(step), TZ) : end + step;
  await record([
    ical.withProps(parent, {
      SEQUENCE: [`SEQUENCE:${seqOf(parent) + 1}`],
      DTSTAMP: [`DTSTAMP:${dtstamp()}`],
      DTSTART: [ical.timeLine("DTSTART", s2, TZ)],
      DTEND: [ical.timeLine("DTEND", e2, TZ)],
      DURATION: [],
    }),
  ]);
  await refresh();
  document.querySelector(`.ev[data-uid="${CSS.escape(p.uid)}"]`)?.focus();
}

// ---- navigation, import, export ------------------------------------------------------------

function step(n) {
  if (ui.view === "week") ui.anchor = ical.addDays(ui.anchor, 7 * n, TZ);
  else {
    const w = ical.wall(ui.anchor, TZ);
    ui.anchor = ical.zoned(w.y, w.m + n, 1, 12, 0, TZ);
  }
  scheduleRefresh();
}

function setView(view) {
  ui.view = view;
  $("view-week").setAttribute("aria-pressed", String(view === "week"));
  $("view-month").setAttribute("aria-pressed", String(view === "month"));
  scheduleRefresh();
}

$("calendar-pick").addEventListener("change", async (e) => {
  cur = e.target.value;
  await fillCalendars();
  scheduleRefresh();
});
$("prev").addEventListener("click", () => step(-1));
$("next").addEventListener("click", () => step(1));
$("today").addEventListener("click", () => {
  ui.anchor = nowMs();
  scheduleRefresh();
});
$("view-week").addEventListener("click", () => setView("week"));
$("view-month").addEventListener("click", () => setView("month"));
$("new-event").addEventListener("click", () => openEditor(null));

document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
  if (document.querySelector("dialog[open]")) return;
  const keys = { ArrowLeft: () => step(-1), ArrowRight: () => step(1), t: () => $("today").click(), w: () => setView("week"), m: () => setView("month"), n: () => openEditor(null), s: () => syncNow() };
  const f = keys[e.key];
  if (f && me) {
    e.preventDefault();
    f();
  }
});

$("import").addEventListener("change", async (e) => {
  const file = e.target.files?.[0];
  if (!file) return;
  try {
    if (file.size > 4 * 1024 * 1024) throw new Error("files over 4 MB are not imported here");
    const text = await file.text();
    if (!/BEGIN:VEVENT/i.test(text)) throw new Error("no event in the file");
    await call("write", { kind: "record", user: cur, ics: text });
    scheduleRefresh();
  } catch (err) {
    showError(new Error(`Import of ${file.name}: ${err.message}`));
  } finally {
    e.target.value = "";
  }
});

$("export").addEventListener("click", async () => {
  const refs = await call("getAllEvents", cur, false);
  const uids = [...new Set(refs.map((r) => r.uid))];
  const evs = [];
  for (const uid of uids) {
    const text = await call("getCompleteEvent", cur, uid);
    if (text) evs.push(...ical.events(text));
  }
  const blob = new Blob([ical.calendar(evs)], { type: "text/calendar" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `${(cur ?? "calendar").replace(/^mailto:/i, "")}.ics` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

addEventListener("online", () => renderStatus());
addEventListener("offline", () => renderStatus());

// The benchmark (wasm/bench/calendar.mjs) times re-rendering the shown range.
if (params.get("bench") === "1") window.calstoreBench = { refresh };

// The page's own files for offline use (sw.js); the data is calstore's.
if ("serviceWorker" in navigator && params.get("sw") !== "0") {
  navigator.serviceWorker
    .register("sw.js")
    .then(() => navigator.serviceWorker.ready)
    .then(async (reg) => {
      // The worker keeps the default backend's files; this backend's too, if it is another.
      if (BACKEND !== "sql.js" && reg.active) {
        await new Promise((resolve) => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => resolve();
          reg.active.postMessage({ type: "keep", backend: BACKEND }, [ch.port2]);
        });
      }
      document.body.dataset.offlineReady = "1";
    })
    .catch(() => {
      document.body.dataset.offlineReady = "0";
    });
}

start().catch((e) => {
  setNet("failed", "off");
  showError(e);
});
