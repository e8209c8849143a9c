// The web calendar (web-demo/dist, scripts/build-web-demo.sh) in headless Chromium against a
// real `calstore serve` started here on loopback (`--web-root web-demo/dist`, SQLite, a fixed
// clock), used as people would, with screenshots of each state:
//
//   node wasm/browser-tests/calendar.mjs [--calstore target/debug/calstore] [--screenshots DIR]
//
// Alice logs in, creates an event, goes offline (context.setOffline), creates and edits more
// (a meeting with Bob, two room bookings), reloads offline (everything still there), goes
// online (synced: the first booking accepted by the room, the second declined over the quota
// with the reason); Bob, in another browser context, sees the invitation and accepts, and
// Alice sees his acceptance; Bob proposes another time for a second meeting, Alice declines
// it with a comment (Bob sees it), he proposes again and she accepts (the event moves for
// both); Alice and Bob edit one event of a shared calendar offline and the
// iTIP order decides (Alice's older edit is superseded, shown with what won); two tabs of one
// user (the second works through the first, then takes over when it closes, without losing a
// pending write); a recurring event changed for one occurrence and cancelled from one on; the
// scheduling view shows Bob's and the room's busy times from the server (they share them).
// Carol chooses the in-module backend on the login form (remembered), and the core steps run
// again on it: log in, create, offline create and edit, reload offline, sync.
// Exits non-zero on any failure; the last line reads "calendar: N passed, 0 failed".
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { CHROMIUM, FLAGS } from "../tools/chromium.mjs";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const dist = path.join(root, "web-demo/dist");
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, "target");
const BIN = path.resolve(opt("--calstore", path.join(targetDir, "debug/calstore")));
const shots = opt("--screenshots", null);
if (shots) fs.mkdirSync(shots, { recursive: true });
for (const [what, p] of [
  ["the web calendar (scripts/build-web-demo.sh)", path.join(dist, "index.html")],
  ["the calstore binary (cargo build -p calstore-cli)", BIN],
]) {
  if (!fs.existsSync(p)) {
    console.error(`calendar: no ${p}: build ${what} first`);
    process.exit(1);
  }
}

// Monday 7 December 2026, 09:00 in Oslo: the server's clock and the pages'.
const NOW = "20261207T080000Z";
const TZ = "Europe/Oslo";
const KEY = "5c".repeat(32);
const PW = { alice: "correct horse battery staple", bob: "another good passphrase", carol: "a third long passphrase" };
const ROOM = "mailto:room@example.com";
const TEAM = "mailto:team@example.com";

// ---- the server ------------------------------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "calstore-calendar-"));
const DB = `sqlite:${path.join(dir, "server.db")}`;

function calstore(args, stdin = "") {
  const r = spawnSync(BIN, ["--db", DB, ...args], {
    input: stdin,
    env: { ...process.env, CALSTORE_NOW: NOW, CALSTORE_PSEUDONYM_KEY: KEY },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`calstore ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

calstore(["account", "add", "--login", "alice", "--email", "alice@example.com", "--calendar", `${TEAM}=write`, "--password-stdin"], `${PW.alice}\n`);
calstore(["account", "add", "--login", "bob", "--email", "bob@example.com", "--calendar", `${TEAM}=write`, "--password-stdin"], `${PW.bob}\n`);
// Carol uses the in-module backend (SQLite in the module, on OPFS, in a Worker).
calstore(["account", "add", "--login", "carol", "--email", "carol@example.com", "--password-stdin"], `${PW.carol}\n`);
// The room books what is free, within an hour per organiser (quota "rooms").
calstore(["prefs", "set", "--user", ROOM, "scheduling_function", "schedule_in_freebusy\ncheck_quota rooms"]);
calstore(["quota", "limits", "--quota", "rooms", "--set", "*=PT1H"]);
// Bob and the room let others see when they are busy (the scheduling view); Carol is nobody here.
for (const who of [ROOM, "mailto:bob@example.com"]) calstore(["prefs", "set", "--user", who, "freebusy_sharing", "share"]);

const server = spawn(BIN, ["--db", DB, "serve", "--listen", "127.0.0.1:0", "--web-root", dist], {
  env: { ...process.env, CALSTORE_NOW: NOW, CALSTORE_PSEUDONYM_KEY: KEY },
  stdio: ["ignore", "pipe", fs.openSync(path.join(dir, "server.log"), "w")],
});
const URL_BASE = await new Promise((resolve, reject) => {
  const rl = readline.createInterface({ input: server.stdout });
  rl.once("line", (line) => {
    const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line.trim());
    if (m) resolve(m[1]);
    else reject(new Error(`unexpected first line ${line}`));
  });
  server.once("exit", (code) => reject(new Error(`calstore serve exited ${code}: ${fs.readFileSync(path.join(dir, "server.log"), "utf8")}`)));
});

// ---- the browser ----------------------------------------------------------------------------

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
const pageErrors = [];
async function context(now = NOW) {
  const ctx = await browser.newContext({ timezoneId: TZ, viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  ctx.calNow = now;
  return ctx;
}
async function open(ctx, label, query = "") {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => {
    pageErrors.push(`[${label}] ${e.message}`);
    console.error(`[${label}] page error: ${e.message}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::ERR/.test(m.text())) console.error(`[${label}] console: ${m.text()}`);
  });
  await page.goto(`${URL_BASE}/?now=${ctx.calNow}&date=2026-12-07${query}`);
  return page;
}

let shot = 0;
async function screenshot(page, name) {
  if (!shots) return;
  shot += 1;
  await page.screenshot({ path: path.join(shots, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

async function login(page, who) {
  await page.waitForSelector("#login-dialog[open]", { timeout: 60_000 });
  await page.fill("#login-name", who);
  await page.fill("#login-password", PW[who]);
  await page.click("#login-submit");
  try {
    await ready(page);
  } catch (e) {
    const why = await page.evaluate(() => `${document.querySelector("#login-error")?.textContent} | ${document.querySelector("#banner")?.textContent} | ${document.querySelector("#net")?.textContent}`);
    await screenshot(page, "login-failed");
    throw new Error(`not ready after login: ${why}`, { cause: e });
  }
}

const ready = (page) => page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
const pending = (page) => page.locator("#pending").getAttribute("data-count").then(Number);
async function waitPending(page, n, timeout = 30_000) {
  await page.waitForFunction((n) => document.querySelector("#pending")?.dataset.count === String(n), n, { timeout });
}
const event = (page, summary) => page.locator(`.ev[data-summary="${summary}"]`);

/** Fills the editor and saves. */
async function createEvent(page, { summary, date, start, end, attendees = "", repeat = "", count = "" }) {
  await page.click("#new-event");
  await page.waitForSelector("#editor[open]");
  await page.fill("#ev-summary", summary);
  await page.fill("#ev-date", date);
  await page.fill("#ev-start", start);
  await page.fill("#ev-end", end);
  if (repeat) await page.selectOption("#ev-repeat", repeat);
  if (count) await page.fill("#ev-count", count);
  if (attendees) await page.fill("#ev-attendees", attendees);
  await page.click("#ev-save");
  await page.waitForSelector("#editor[open]", { state: "detached" });
  await event(page, summary).first().waitFor({ timeout: 10_000 });
}

async function editEvent(page, summary, changes, scope) {
  await event(page, summary).first().click();
  await page.waitForSelector("#editor[open]");
  for (const [field, value] of Object.entries(changes)) await page.fill(`#ev-${field}`, value);
  if (scope) await page.check(`input[name=scope][value=${scope}]`);
  await page.click("#ev-save");
  await page.waitForSelector("#editor[open]", { state: "detached" });
}

let passed = 0;
let failed = 0;
async function step(name, f) {
  try {
    const note = await f();
    passed += 1;
    console.log(`test calendar: ${name} ... ok${note ? ` (${note})` : ""}`);
  } catch (e) {
    failed += 1;
    console.log(`test calendar: ${name} ... FAILED\n${e.stack ?? e}`);
  }
}

const alice = await context();
const bob = await context("20261207T083000Z"); // Bob's clock is half an hour later
let a;
let b;

try {
  await step("log in: the page is served by calstore serve, the account's calendar is pulled", async () => {
    a = await open(alice, "alice");
    await page_title(a);
    await screenshot(a, "login");
    await login(a, "alice");
    assert.equal(await a.textContent("#who"), "alice@example.com");
    assert.match(await a.textContent("#range-title"), /7 Dec/);
    await a.waitForSelector("body[data-offline-ready='1']", { timeout: 30_000 });
  });

  await step("create an event online: synced at once", async () => {
    await createEvent(a, { summary: "Planning", date: "2026-12-08", start: "10:00", end: "11:00" });
    await waitPending(a, 0);
    const uid = await event(a, "Planning").getAttribute("data-uid");
    assert.ok(calstore(["events", "--user", "mailto:alice@example.com"]).includes(uid), "on the server");
    await screenshot(a, "online-week");
  });

  await step("offline: create, edit and book rooms; the unsynced changes are counted", async () => {
    await alice.setOffline(true);
    await a.waitForFunction(() => document.querySelector("#net")?.dataset.state === "offline");
    await createEvent(a, { summary: "Offline work", date: "2026-12-09", start: "09:00", end: "10:00" });
    await editEvent(a, "Planning", { summary: "Planning (moved)", start: "12:00", end: "13:00" });
    await event(a, "Planning (moved)").waitFor();
    await createEvent(a, { summary: "Team sync", date: "2026-12-10", start: "09:00", end: "10:00", attendees: "bob@example.com" });
    await createEvent(a, { summary: "Room hour", date: "2026-12-10", start: "13:00", end: "14:00", attendees: ROOM });
    await createEvent(a, { summary: "Second room hour", date: "2026-12-11", start: "13:00", end: "14:00", attendees: ROOM });
    assert.equal(await pending(a), 5);
    assert.equal(await event(a, "Room hour").getAttribute("class").then((c) => c.includes("pending")), true, "the booking is pending");
    await screenshot(a, "offline-pending");
  });

  await step("reload offline: the page and everything written are still there", async () => {
    await a.reload();
    await ready(a);
    for (const s of ["Planning (moved)", "Offline work", "Team sync", "Room hour", "Second room hour"]) {
      await event(a, s).waitFor({ timeout: 10_000 });
    }
    assert.equal(await event(a, "Planning").count(), 0);
    assert.equal(await pending(a), 5);
    await a.waitForFunction(() => document.querySelector("#net")?.dataset.state === "offline");
    await screenshot(a, "offline-reloaded");
  });

  await step("online again: synced; the room accepts the first hour and declines the second with the reason", async () => {
    await alice.setOffline(false);
    await waitPending(a, 0, 60_000);
    await a.waitForSelector('.ev[data-summary="Room hour"].accepted', { timeout: 30_000 });
    await a.waitForSelector('.ev[data-summary="Second room hour"].declined', { timeout: 30_000 });
    await event(a, "Second room hour").click();
    await a.waitForSelector("#editor[open]");
    const states = await a.textContent("#ev-attendee-states");
    assert.match(states, /room@example\.com: declined \(.*quota.*\)/i, states);
    await screenshot(a, "room-declined");
    await a.click("#ev-close");
    await screenshot(a, "synced-week");
    return states.trim();
  });

  await step("Bob logs in elsewhere, sees the invitation and accepts; Alice sees it", async () => {
    b = await open(bob, "bob");
    await login(b, "bob");
    const inv = b.locator('#invitations li.invitation', { hasText: "Team sync" });
    await inv.waitFor({ timeout: 30_000 });
    await screenshot(b, "bob-invitation");
    await inv.locator("button", { hasText: "Accept" }).click();
    await waitPending(b, 0, 30_000);
    await b.locator('#invitations li.invitation', { hasText: "Team sync" }).waitFor({ state: "detached" });
    await a.click("#sync-now");
    await a.waitForSelector('.ev[data-summary="Team sync"].accepted', { timeout: 30_000 });
    await event(a, "Team sync").click();
    await a.waitForSelector("#editor[open]");
    assert.match(await a.textContent("#ev-attendee-states"), /bob@example\.com: accepted/);
    await screenshot(a, "alice-sees-acceptance");
    await a.click("#ev-close");
  });

  await step("counter-proposals: Bob proposes another time, Alice declines with a comment, Bob proposes again and Alice accepts", async () => {
    await createEvent(a, { summary: "Design review", date: "2026-12-11", start: "10:00", end: "11:00", attendees: "bob@example.com" });
    await waitPending(a, 0, 30_000);
    await b.click("#sync-now");
    const inv = () => b.locator("#invitations li.invitation", { hasText: "Design review" });
    await inv().waitFor({ timeout: 30_000 });
    async function propose(start, end, comment) {
      await inv().locator("button", { hasText: "Propose new time" }).click();
      const form = inv().locator("form.propose-form");
      await form.locator("input[name=date]").fill("2026-12-11");
      await form.locator("input[name=start]").fill(start);
      await form.locator("input[name=end]").fill(end);
      if (comment) await form.locator("input[name=comment]").fill(comment);
      await form.locator("button[type=submit]").click();
      await form.waitFor({ state: "detached" });
      await waitPending(b, 0, 30_000);
    }
    await propose("15:00", "16:00", "Afternoon?");
    await inv().locator(".proposal.sent").waitFor({ timeout: 10_000 });
    assert.match(await inv().locator(".proposal").textContent(), /You proposed Fri 11 Dec, 15:00–16:00; waiting for alice@example\.com/);
    await a.click("#sync-now");
    const received = a.locator("#proposals li.proposal-received", { hasText: "Design review" });
    await received.waitFor({ timeout: 30_000 });
    const text = await received.textContent();
    assert.match(text, /bob@example\.com proposes Fri 11 Dec, 15:00–16:00/, text);
    assert.match(text, /“Afternoon\?”/, text);
    await screenshot(a, "alice-proposal-received");
    await received.locator("input.decline-comment").fill("Busy all afternoon");
    await received.locator("button", { hasText: "Decline proposal" }).click();
    await received.waitFor({ state: "detached", timeout: 10_000 });
    await waitPending(a, 0, 30_000);
    assert.match(await event(a, "Design review").getAttribute("title"), /^10:00–11:00/, "the event did not move");
    await b.click("#sync-now");
    await inv().locator(".proposal.declined").waitFor({ timeout: 30_000 });
    assert.match(await inv().locator(".proposal").textContent(), /alice@example\.com declined your proposal of Fri 11 Dec, 15:00–16:00: “Busy all afternoon”/);
    await screenshot(b, "bob-proposal-declined");
    await propose("14:00", "15:00");
    await a.click("#sync-now");
    await received.waitFor({ timeout: 30_000 });
    assert.match(await received.textContent(), /proposes Fri 11 Dec, 14:00–15:00/);
    await received.locator("button", { hasText: "Accept proposal" }).click();
    await received.waitFor({ state: "detached", timeout: 10_000 });
    await waitPending(a, 0, 30_000);
    await a.waitForFunction(() => /^14:00–15:00/.test(document.querySelector('.ev[data-summary="Design review"]')?.title ?? ""), null, { timeout: 30_000 });
    await event(a, "Design review").click();
    await a.waitForSelector("#editor[open]");
    assert.match(await a.textContent("#ev-attendee-states"), /bob@example\.com: pending/, "Bob is asked again");
    await a.click("#ev-close");
    await screenshot(a, "alice-accepted-proposal");
    // Bob gets the new version: the invitation asks him again at the new time, no proposal
    // left; he accepts and it is in his week at 14:00.
    await b.click("#sync-now");
    await b.waitForFunction(() => [...document.querySelectorAll("#invitations li.invitation")].some((li) => /Design review Fri 11 Dec, 14:00/.test(li.textContent)), null, { timeout: 30_000 });
    assert.equal(await inv().locator(".proposal").count(), 0);
    await screenshot(b, "bob-sees-moved-event");
    await inv().locator("button", { hasText: "Accept" }).first().click();
    await waitPending(b, 0, 30_000);
    await b.waitForFunction(() => /^14:00–15:00/.test(document.querySelector('.ev[data-summary="Design review"]')?.title ?? ""), null, { timeout: 30_000 });
  });

  await step("scheduling view: the attendees' and the room's busy times from the server", async () => {
    try {
      return await schedulingView();
    } finally {
      await alice.setOffline(false);
      if (await a.isVisible("#editor[open]")) await a.click("#ev-close");
    }
  });
  async function schedulingView() {
    await a.click("#new-event");
    await a.waitForSelector("#editor[open]");
    await a.fill("#ev-summary", "Follow-up");
    await a.fill("#ev-date", "2026-12-10");
    await a.fill("#ev-start", "09:30");
    await a.fill("#ev-end", "10:30");
    await a.fill("#ev-attendees", "bob@example.com, room@example.com, carol@example.com");
    const row = (who) => a.locator(`#ev-busy-rows li[data-user="${who}"]`);
    await a.waitForFunction(() => document.querySelectorAll("#ev-busy[data-state='ready'] #ev-busy-rows li").length === 4, null, { timeout: 30_000 });
    const bobRow = await row("mailto:bob@example.com").textContent();
    // Team sync (09:00–10:00, accepted by Bob) clashes; the room is busy with Room hour.
    assert.match(bobRow, /busy at this time; busy 09:00–10:00/, bobRow);
    assert.equal(await row("mailto:bob@example.com").getAttribute("data-clash"), "true");
    assert.match(await row(ROOM).textContent(), /busy 13:00–14:00/);
    assert.equal(await row(ROOM).getAttribute("data-clash"), "false");
    assert.equal(await row("mailto:carol@example.com").getAttribute("data-shared"), "false");
    assert.match(await row("mailto:alice@example.com").textContent(), /^you.*busy at this time/);
    await screenshot(a, "scheduling-view");
    // A free hour: nobody clashes.
    await a.fill("#ev-start", "11:00");
    await a.fill("#ev-end", "12:00");
    await a.waitForFunction(() => document.querySelector("#ev-busy[data-state='ready'] li[data-user='mailto:bob@example.com']")?.dataset.clash === "false", null, { timeout: 30_000 });
    assert.equal(await a.locator("#ev-busy-rows li.clash").count(), 0);
    // Offline: said, not guessed.
    await alice.setOffline(true);
    await a.fill("#ev-start", "11:30");
    await a.waitForSelector("#ev-busy[data-state='unavailable']", { timeout: 30_000 });
    assert.match(await a.textContent("#ev-busy-note"), /not available offline/);
    await alice.setOffline(false);
    await a.click("#ev-close");
    await a.waitForSelector("#editor[open]", { state: "detached" });
    return bobRow.trim();
  }

  await step("a conflict between two users edited offline resolves by the iTIP order and is shown", async () => {
    for (const p of [a, b]) {
      await p.selectOption("#calendar-pick", TEAM);
    }
    await createEvent(a, { summary: "Offsite", date: "2026-12-09", start: "14:00", end: "16:00" });
    await waitPending(a, 0);
    await b.click("#sync-now");
    await event(b, "Offsite").waitFor({ timeout: 30_000 });
    await alice.setOffline(true);
    await bob.setOffline(true);
    await editEvent(a, "Offsite", { summary: "Offsite (Alice)" });
    await editEvent(b, "Offsite", { summary: "Offsite (Bob)" });
    // Bob's edit is newer (same SEQUENCE, later DTSTAMP) but reaches the server first; Alice's
    // older one comes second and loses.
    await bob.setOffline(false);
    await waitPending(b, 0, 60_000);
    await alice.setOffline(false);
    await waitPending(a, 0, 60_000);
    await event(a, "Offsite (Bob)").waitFor({ timeout: 30_000 });
    const conflict = a.locator("#conflicts li.superseded");
    await conflict.waitFor({ timeout: 10_000 });
    const text = await conflict.textContent();
    assert.match(text, /Your change of “Offsite \(Alice\)” was superseded.*“Offsite \(Bob\)”.*won/, text);
    await screenshot(a, "conflict-shown");
    for (const p of [a, b]) await p.selectOption("#calendar-pick", { index: 0 });
    return text;
  });

  await step("recurring: change one occurrence, then cancel this and following", async () => {
    await a.selectOption("#calendar-pick", "mailto:alice@example.com");
    await createEvent(a, { summary: "Standup", date: "2026-12-07", start: "08:30", end: "08:45", repeat: "DAILY", count: "5" });
    assert.equal(await event(a, "Standup").count(), 5);
    const wed = a.locator('.day[data-day="2026-12-09"] .ev[data-summary="Standup"]');
    await wed.click();
    await a.waitForSelector("#editor[open]");
    await a.fill("#ev-summary", "Standup (long)");
    await a.fill("#ev-end", "09:30");
    await a.check("input[name=scope][value=this]");
    await a.click("#ev-save");
    await event(a, "Standup (long)").waitFor();
    assert.equal(await event(a, "Standup").count(), 4);
    await a.locator('.day[data-day="2026-12-10"] .ev[data-summary="Standup"]').click();
    await a.waitForSelector("#editor[open]");
    await a.check("input[name=scope][value=following]");
    await a.click("#ev-cancel-event");
    await a.waitForSelector("#editor[open]", { state: "detached" });
    await a.waitForFunction(() => document.querySelectorAll('.ev[data-summary="Standup"]').length === 2);
    await waitPending(a, 0, 30_000);
    await screenshot(a, "recurring");
  });

  await step("two tabs of one user: the second works through the first, then takes over", async () => {
    const a2 = await open(alice, "alice-tab2");
    await ready(a2);
    assert.equal(await a2.isVisible("#tabrole"), true, "the second tab is a follower");
    await createEvent(a2, { summary: "From tab two", date: "2026-12-11", start: "09:00", end: "10:00" });
    await event(a, "From tab two").waitFor({ timeout: 10_000 });
    // Synced before the network goes: only the next write is pending.
    await waitPending(a2, 0, 30_000);
    await screenshot(a2, "second-tab");
    // Offline, a pending write through the owner; then the owner goes away.
    await alice.setOffline(true);
    await createEvent(a2, { summary: "Pending in tab two", date: "2026-12-11", start: "11:00", end: "12:00" });
    await waitPending(a2, 1);
    await a.close();
    await a2.waitForSelector("#tabrole[hidden]", { state: "attached", timeout: 30_000 });
    await createEvent(a2, { summary: "After the takeover", date: "2026-12-11", start: "14:00", end: "15:00" });
    await waitPending(a2, 2);
    await alice.setOffline(false);
    a = a2;
    await waitPending(a2, 0, 60_000);
    const onServer = calstore(["events", "--user", "mailto:alice@example.com"]);
    for (const s of ["From tab two", "Pending in tab two", "After the takeover"]) {
      const uid = await event(a2, s).getAttribute("data-uid");
      assert.ok(onServer.includes(uid), `${s} on the server`);
    }
  });

  await step("month view, keyboard and 200 % zoom", async () => {
    await a.keyboard.press("m");
    await a.waitForSelector(".month");
    assert.match(await a.textContent("#range-title"), /December 2026/);
    await screenshot(a, "month");
    await a.keyboard.press("w");
    await a.waitForSelector(".week");
    // Keyboard: focus an event, Alt+→ moves it a day.
    await event(a, "Offline work").focus();
    await a.keyboard.press("Alt+ArrowRight");
    await a.waitForSelector('.day[data-day="2026-12-10"] .ev[data-summary="Offline work"]');
    // 200 %: a 1280 px window zoomed to 200 % lays out as a 640 CSS px wide viewport.
    await a.setViewportSize({ width: 640, height: 900 });
    await a.waitForTimeout(300);
    const overflow = await a.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await screenshot(a, "zoom-200");
    await a.setViewportSize({ width: 1280, height: 900 });
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 200 %`);
    return `page overflow at 200 %: ${overflow}px`;
  });

  // The core steps again on the in-module backend, chosen on the login form.
  const carol = await context();
  let c;
  await step("in-module backend: chosen on the login form, remembered over a reload", async () => {
    c = await open(carol, "carol");
    await c.waitForSelector("#login-dialog[open]", { timeout: 60_000 });
    assert.equal(await c.getAttribute("body", "data-backend"), "sql.js", "the default");
    await Promise.all([c.waitForEvent("load"), c.selectOption("#login-backend", "in-module")]);
    await c.waitForSelector("body[data-backend='in-module']", { timeout: 30_000 });
    await c.reload();
    await c.waitForSelector("body[data-backend='in-module']", { timeout: 30_000 });
    await c.waitForSelector("#login-dialog[open]", { timeout: 60_000 });
    assert.equal(await c.inputValue("#login-backend"), "in-module");
    await login(c, "carol");
    assert.match(await c.textContent("#storage"), /Stored with SQLite in the module, kept on OPFS/);
    await c.waitForSelector("body[data-offline-ready='1']", { timeout: 30_000 });
    await screenshot(c, "in-module-logged-in");
  });

  await step("in-module: create an event online, synced at once", async () => {
    await createEvent(c, { summary: "Carol's review", date: "2026-12-08", start: "10:00", end: "11:00" });
    await waitPending(c, 0);
    const uid = await event(c, "Carol's review").getAttribute("data-uid");
    assert.ok(calstore(["events", "--user", "mailto:carol@example.com"]).includes(uid), "on the server");
  });

  await step("in-module: offline, create and edit, reload offline: everything still there", async () => {
    await carol.setOffline(true);
    await c.waitForFunction(() => document.querySelector("#net")?.dataset.state === "offline");
    await createEvent(c, { summary: "Carol offline", date: "2026-12-09", start: "09:00", end: "10:00" });
    await editEvent(c, "Carol's review", { summary: "Carol's review (moved)", start: "14:00", end: "15:00" });
    await event(c, "Carol's review (moved)").waitFor();
    assert.equal(await pending(c), 2);
    await c.reload();
    await ready(c);
    assert.equal(await c.getAttribute("body", "data-backend"), "in-module");
    for (const summary of ["Carol offline", "Carol's review (moved)"]) await event(c, summary).waitFor({ timeout: 10_000 });
    assert.equal(await pending(c), 2);
    await screenshot(c, "in-module-offline-reloaded");
  });

  await step("in-module: online again, synced to the server", async () => {
    await carol.setOffline(false);
    await waitPending(c, 0, 60_000);
    const onServer = calstore(["events", "--user", "mailto:carol@example.com", "--format", "json"]);
    const summaries = JSON.parse(onServer).map((e) => e.summary).sort();
    assert.deepEqual(summaries, ["Carol offline", "Carol's review (moved)"]);
    return summaries.join(", ");
  });

  await step("no page errors", async () => {
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await browser.close().catch(() => {});
  server.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  fs.rmSync(dir, { recursive: true, force: true });
}

async function page_title(page) {
  assert.equal(await page.title(), "calstore calendar");
}

console.log(`calendar: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
