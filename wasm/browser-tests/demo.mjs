// Checks the built web demo (web-demo/dist, scripts/build-web-demo.sh) in headless Chromium as
// a person would use it, and takes screenshots:
//
//   node wasm/browser-tests/demo.mjs [--screenshots DIR]
//
// It loads the page, waits for the grid, switches to the conference room, cancels "Budget
// review" (the grid loses its busy cells), reloads (still cancelled: persistence), restores
// it, and checks that a second tab is refused. Exits non-zero on any failure.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { launch, watchPage } from "../tools/chromium.mjs";
import { serve } from "../tools/server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const dist = path.join(root, "web-demo/dist");
const argv = process.argv.slice(2);
const shotsAt = argv.indexOf("--screenshots");
const shots = shotsAt >= 0 ? path.resolve(argv[shotsAt + 1]) : null;
if (!fs.existsSync(path.join(dist, "index.html"))) {
  console.error("demo: no web-demo/dist/index.html (run scripts/build-web-demo.sh)");
  process.exit(1);
}
if (shots) fs.mkdirSync(shots, { recursive: true });

const ROOM = "mailto:resource-room-confroom@example.com";
const server = await serve({ "/": dist });
const browser = await launch();
const errors = [];

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.state, null, { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, "ready", await page.textContent("#status"));
}

const busyCells = (page) => page.locator(".grid .cell.busy").count();
const eventNamed = (page, list, text) => page.locator(`#${list} li`, { hasText: text });

let passed = 0;
let failed = 0;
async function step(name, f) {
  try {
    const note = await f();
    passed += 1;
    console.log(`test demo: ${name} ... ok${note ? ` (${note})` : ""}`);
  } catch (e) {
    failed += 1;
    console.log(`test demo: ${name} ... FAILED\n${e.stack ?? e}`);
  }
}

try {
  const page = await browser.context.newPage();
  watchPage(page, "demo");
  page.on("pageerror", (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1280, height: 1100 });

  let before = 0;
  await step("loads, imports the sample week and draws the grid", async () => {
    await page.goto(`${server.url}/index.html`);
    await ready(page);
    assert.equal(await page.locator(".grid .head").count(), 8);
    await page.selectOption("#person", ROOM);
    await page.waitForFunction(() => document.querySelectorAll("#events li").length > 1);
    before = await busyCells(page);
    assert.ok(before > 0, "busy cells for the conference room");
    assert.equal(await eventNamed(page, "events", "Budget review").count(), 1);
    if (shots) await page.screenshot({ path: path.join(shots, "demo-1-loaded.png"), fullPage: true });
    return `${before} busy half-hours`;
  });

  await step("cancelling an event updates free/busy", async () => {
    await eventNamed(page, "events", "Budget review").getByRole("button", { name: "Cancel" }).click();
    await page.waitForFunction(() => /saved durably/.test(document.getElementById("status").textContent));
    const after = await busyCells(page);
    assert.ok(after < before, `${after} < ${before}`);
    assert.equal(await eventNamed(page, "events", "Budget review").count(), 0);
    assert.equal(await eventNamed(page, "cancelled", "Budget review").count(), 1);
    if (shots) await page.screenshot({ path: path.join(shots, "demo-2-cancelled.png"), fullPage: true });
    return `${before} -> ${after} busy half-hours; ${await page.textContent("#status")}`;
  });

  await step("the cancellation survives a reload", async () => {
    await page.reload();
    await ready(page);
    await page.selectOption("#person", ROOM);
    await page.waitForFunction(() => document.querySelectorAll("#cancelled li button").length > 0);
    assert.equal(await eventNamed(page, "cancelled", "Budget review").count(), 1);
    assert.match(await page.textContent("#status"), /restored from IndexedDB/);
    assert.ok((await busyCells(page)) < before);
    return await page.textContent("#persistence");
  });

  await step("a second tab is refused while this one owns the database", async () => {
    const other = await browser.context.newPage();
    await other.goto(`${server.url}/index.html`);
    await other.waitForFunction(() => document.body.dataset.state, null, { timeout: 60_000 });
    assert.equal(await other.evaluate(() => document.body.dataset.state), "error");
    assert.match(await other.textContent("#status"), /open in another tab/);
    if (shots) await other.screenshot({ path: path.join(shots, "demo-4-second-tab.png") });
    await other.close();
  });

  await step("restoring brings the periods back", async () => {
    await eventNamed(page, "cancelled", "Budget review").getByRole("button", { name: "Restore" }).click();
    await page.waitForFunction(() => /Restored/.test(document.getElementById("status").textContent));
    assert.equal(await busyCells(page), before);
    assert.equal(await eventNamed(page, "events", "Budget review").count(), 1);
    if (shots) await page.screenshot({ path: path.join(shots, "demo-3-restored.png"), fullPage: true });
  });

  await step("no page errors", async () => {
    assert.deepEqual(errors, []);
  });
} finally {
  await browser.close();
  await server.close();
}
if (shots) console.log(`screenshots in ${shots}`);
console.log(`demo: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
