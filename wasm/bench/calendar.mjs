// The web calendar's benchmark (figures, not a timed test), headless Chromium against a real
// `calstore serve --web-root` on loopback holding one account with the benchmark's 5 000-event
// calendar (dataset.mjs, the same as the store benchmark):
//
//   node wasm/bench/calendar.mjs [--calstore target/release/calstore] [--events 5000] [--runs 3] [--json out.json]
//
// 1. initial sync on sql.js: the calendar page, from the login click to the first week
//    rendered (log in, pull every page, apply them in one transaction, render), and the same
//    through SyncClient alone in a page (openCalStore + login);
// 2. initial sync on the in-module backend (OPFS, in a dedicated Worker): SyncClient alone;
//    both SyncClient figures in a fresh on-disk profile (a person's browser, where an OPFS
//    write is a file write) and in a fresh incognito context (Playwright's default, where
//    OPFS and IndexedDB are kept in memory in the browser process and every OPFS call is an
//    IPC round trip: about 1 ms a write on this machine, against 30 µs on disk);
// 3. page load to first week rendered, warm (service worker and HTTP cache) and cold (both
//    emptied; the database kept in IndexedDB);
// 4. re-rendering a busy week (the week of 2026-06-15: 101 periods), median of 20;
// 5. the shipped size of the app on each backend (brotli -q 11, web-demo/dist/sizes.json and
//    sizes-in-module.json);
// and, as the baseline measured in the same run, the native replica's initial sync of the same
// account from the same server (`calstore clone` into a new SQLite file, process included),
// with the browser's figures as ratios of it.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { CHROMIUM, FLAGS } from "../tools/chromium.mjs";
import { dataset } from "./dataset.mjs";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, "target");
const BIN = path.resolve(opt("--calstore", path.join(targetDir, "release/calstore")));
const EVENTS = Number(opt("--events", "5000"));
const RUNS = Number(opt("--runs", "3"));
const JSON_OUT = opt("--json", null);
const dist = path.join(root, "web-demo/dist");
const NOW = "20260601T000000Z";
const KEY = "5c".repeat(32);
const PW = "benchmark passphrase";
const USER = "mailto:bench@example.com";

// A web root: the app (web-demo/dist holds both backends).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "calstore-bench-cal-"));
const web = path.join(dir, "web");
fs.cpSync(dist, web, { recursive: true });
const DB = `sqlite:${path.join(dir, "server.db")}`;
const env = { ...process.env, CALSTORE_NOW: NOW, CALSTORE_PSEUDONYM_KEY: KEY };
function calstore(args, input = "") {
  const r = spawnSync(BIN, ["--db", DB, ...args], { input, env, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`calstore ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
// Every run logs in several times (the app, SyncClient on each backend, the native clone).
calstore(["account", "add", "--login", "bench", "--email", "bench@example.com", "--max-sessions", "64", "--password-stdin"], `${PW}\n`);
fs.writeFileSync(path.join(dir, "bench.ics"), dataset(EVENTS));
calstore(["import", "--user", USER, "--tz", "Europe/Berlin", path.join(dir, "bench.ics")]);

const server = spawn(BIN, ["--db", DB, "serve", "--listen", "127.0.0.1:0", "--web-root", web], {
  env,
  stdio: ["ignore", "pipe", fs.openSync(path.join(dir, "server.log"), "w")],
});
const BASE = await new Promise((resolve, reject) => {
  readline.createInterface({ input: server.stdout }).once("line", (line) => {
    const m = /^listening on (\S+)/.exec(line.trim());
    if (m) resolve(m[1]);
    else reject(new Error(line));
  });
  server.once("exit", (c) => reject(new Error(`calstore serve exited ${c}`)));
});

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const results = { events: EVENTS, runs: RUNS, machine: `${os.cpus().length} cores`, chromium: browser.version() };
const APP = `${BASE}/?now=${NOW}&date=2026-06-15&tz=Europe/Berlin&bench=1`;

/** SyncClient alone on sql.js (a page of the origin, no rendering): open + login + pull. */
async function syncSqljs(ctx) {
  const p2 = await ctx.newPage();
  await p2.goto(`${BASE}/healthz`);
  const ms = await p2.evaluate(async ({ PW }) => {
    await new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/sqljs/sql-wasm-browser.js";
      s.onload = resolve;
      s.onerror = reject;
      document.head.append(s);
    });
    const SQL = await window.initSqlJs({ locateFile: (f) => `/sqljs/${f}` });
    const { openCalStore } = await import("/pkg/calstore.js");
    const { SyncClient } = await import("/pkg/calstore-sync.js");
    const t = performance.now();
    const db = await openCalStore({ SQL, name: "bench" });
    const sync = await SyncClient.attach(db, { name: "bench", marks: null });
    await sync.login("bench", PW);
    return performance.now() - t;
  }, { PW });
  await p2.close();
  return ms;
}

/** SyncClient alone on the in-module backend on OPFS, in a dedicated Worker. */
async function syncInModule(ctx) {
  const p2 = await ctx.newPage();
  await p2.goto(`${BASE}/healthz`);
  const ms = await p2.evaluate(async ({ PW }) => {
    const code = `
      const origin = ${JSON.stringify(location.origin)};
      const { openInModule } = await import(origin + "/pkg/calstore-sqlite.js");
      const { SyncClient } = await import(origin + "/pkg/calstore-sync.js");
      const t = performance.now();
      const db = await openInModule({ storage: "opfs", path: "bench.sqlite3" });
      const sync = await SyncClient.attach(db, { server: origin, name: "bench", marks: null });
      const s = await sync.login("bench", ${JSON.stringify(PW)});
      self.postMessage({ ms: performance.now() - t, pulled: s.pulled });`;
    const w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), { type: "module" });
    const r = await new Promise((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message));
    });
    w.terminate();
    return r.ms;
  }, { PW });
  await p2.close();
  return ms;
}

try {
  // 1. sql.js: the app, login click → first week rendered; and SyncClient alone.
  const appSync = [];
  const clientSqljs = [];
  const clientModule = [];
  const diskSqljs = [];
  const diskModule = [];
  const nativeClone = [];
  const warm = [];
  const cold = [];
  const render = [];
  let pulled = null;
  for (let run = 0; run < RUNS; run += 1) {
    const ctx = await browser.newContext({ timezoneId: "Europe/Berlin", viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(APP);
    await page.waitForSelector("#login-dialog[open]");
    await page.fill("#login-name", "bench");
    await page.fill("#login-password", PW);
    const t0 = Date.now();
    await page.click("#login-submit");
    await page.waitForSelector("body[data-ready='1']", { timeout: 300_000 });
    appSync.push(Date.now() - t0);
    pulled = await page.locator(".ev").count();
    await page.waitForSelector("body[data-offline-ready='1']", { timeout: 60_000 });
    // 3. warm load: reload, navigation start → first week rendered.
    for (let i = 0; i < 3; i += 1) {
      await page.reload();
      await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
      warm.push(await page.evaluate(() => performance.getEntriesByName("calstore:first-week")[0].startTime));
    }
    // 4. re-render the busy week.
    const times = await page.evaluate(async () => {
      const out = [];
      for (let i = 0; i < 20; i += 1) {
        const t = performance.now();
        await window.calstoreBench.refresh();
        out.push(performance.now() - t);
      }
      return out;
    });
    render.push(median(times));
    // 3. cold load: no service worker, no HTTP cache; the database stays.
    await page.evaluate(async () => {
      for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
      for (const k of await caches.keys()) await caches.delete(k);
    });
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");
    await page.goto(`${APP}&sw=0`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
    cold.push(await page.evaluate(() => performance.getEntriesByName("calstore:first-week")[0].startTime));
    await ctx.close();

    // SyncClient alone on each backend, in a fresh incognito context (what Playwright gives by
    // default: its OPFS and IndexedDB live in memory behind an IPC per call) and in a fresh
    // on-disk profile (a person's browser: the first login in it).
    const ctx2 = await browser.newContext();
    clientSqljs.push(await syncSqljs(ctx2));
    clientModule.push(await syncInModule(ctx2));
    await ctx2.close();
    const profile = fs.mkdtempSync(path.join(dir, "profile-"));
    const ctx3 = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    diskSqljs.push(await syncSqljs(ctx3));
    diskModule.push(await syncInModule(ctx3));
    await ctx3.close();
    fs.rmSync(profile, { recursive: true, force: true });

    // The baseline: the native replica's initial sync, same server, same account.
    const replica = `sqlite:${path.join(dir, `native-${run}.db`)}`;
    const t = process.hrtime.bigint();
    const r = spawnSync(BIN, ["--db", replica, "clone", "--server", BASE, "--login", "bench", "--password-stdin"], { input: `${PW}\n`, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`calstore clone: ${r.stderr}`);
    nativeClone.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const sizes = JSON.parse(fs.readFileSync(path.join(dist, "sizes.json"), "utf8"));
  const sizesInModule = JSON.parse(fs.readFileSync(path.join(dist, "sizes-in-module.json"), "utf8"));
  Object.assign(results, {
    week_events_rendered: pulled,
    app_login_to_first_week_ms: appSync,
    sync_sqljs_ms: clientSqljs,
    sync_in_module_opfs_ms: clientModule,
    sync_sqljs_disk_profile_ms: diskSqljs,
    sync_in_module_opfs_disk_profile_ms: diskModule,
    sync_native_clone_ms: nativeClone,
    ratio_sqljs_to_native: median(clientSqljs) / median(nativeClone),
    ratio_in_module_to_native: median(clientModule) / median(nativeClone),
    ratio_sqljs_disk_to_native: median(diskSqljs) / median(nativeClone),
    ratio_in_module_disk_to_native: median(diskModule) / median(nativeClone),
    load_warm_ms: warm,
    load_cold_ms: cold,
    render_busy_week_ms: render,
    shipped_brotli_bytes: sizes.total.brotli,
    shipped_raw_bytes: sizes.total.raw,
    shipped_in_module_brotli_bytes: sizesInModule.total.brotli,
    shipped_in_module_raw_bytes: sizesInModule.total.raw,
  });
  const line = (label, xs, target) => console.log(`${label.padEnd(58)} ${range(xs).padStart(11)} ms  (median ${median(xs).toFixed(0)})${target ? `  target ${target}` : ""}`);
  results.loadavg = os.loadavg().map((x) => Number(x.toFixed(2)));
  console.log(`web calendar, ${EVENTS} events, ${RUNS} runs, Chromium ${results.chromium}, ${results.machine}, load average at the end ${results.loadavg.join(" ")}`);
  line("initial sync, sql.js, on-disk profile (SyncClient)", diskSqljs, "≤ 3000");
  line("initial sync, in-module on OPFS, on-disk profile (Worker)", diskModule, "≤ 1500");
  line("initial sync, sql.js, incognito context", clientSqljs);
  line("initial sync, in-module on OPFS, incognito context", clientModule);
  line("initial sync, native baseline (calstore clone, SQLite)", nativeClone);
  console.log(`${"  ratios to native: sql.js, in-module (on disk; incognito)".padEnd(58)} ${results.ratio_sqljs_disk_to_native.toFixed(2)}x, ${results.ratio_in_module_disk_to_native.toFixed(2)}x; ${results.ratio_sqljs_to_native.toFixed(2)}x, ${results.ratio_in_module_to_native.toFixed(2)}x`);
  line("app: login click → first week rendered (sql.js)", appSync);
  line("page load → first week rendered, warm", warm);
  line("page load → first week rendered, cold (no caches)", cold);
  console.log(`${"re-render the busy week (median of 20 per run)".padEnd(58)} ${render.map((x) => x.toFixed(1)).join(", ")} ms (${pulled} events shown)`);
  console.log(`${"shipped (brotli -q 11, the whole app on sql.js)".padEnd(58)} ${(sizes.total.brotli / 1024).toFixed(0)} KiB (raw ${(sizes.total.raw / 1024).toFixed(0)} KiB)`);
  console.log(`${"shipped (brotli -q 11, the whole app on in-module)".padEnd(58)} ${(sizesInModule.total.brotli / 1024).toFixed(0)} KiB (raw ${(sizesInModule.total.raw / 1024).toFixed(0)} KiB)`);
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await browser.close().catch(() => {});
  server.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  fs.rmSync(dir, { recursive: true, force: true });
}
