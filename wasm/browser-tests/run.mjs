// Browser-only tests of calstore-wasm's persistence, in headless Chromium (the system's
// /usr/bin/chromium through playwright-core, a fresh profile, files served from 127.0.0.1):
//
//   node wasm/browser-tests/run.mjs [--no-bench] [--bench-only] [--sizes 1,10,50] [--commits 500]
//                                   [--snapshot-every 2000,100] [--json out.json]
//
// Tests (each bounded by a timeout): persistence across a reload (with writes after the last
// snapshot replayed from the log, and with no snapshot at all), a 5 000-event import, and the
// second-tab lock; and for the in-module backend (calstore-wasm/sqlite) on OPFS, in a
// dedicated Worker: persistence across a reload, and a second tab getting Busy. Then the durable-commit measurement, printed, not asserted. Needs wasm/pkg
// (scripts/build-wasm-pkg.sh). Exits non-zero on any failure.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { launch, watchPage } from "../tools/chromium.mjs";
import { serve } from "../tools/server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, "..");
const root = path.resolve(wasmDir, "..");

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const SIZES = option("--sizes", "1,10,50").split(",").map(Number);
const COMMITS = Number(option("--commits", "500"));
// Two configurations: the default thresholds (no snapshot falls inside the measured writes),
// and a snapshot every 100 commits (five inside them), to show what snapshots cost.
const SNAPSHOT_EVERY = option("--snapshot-every", "2000,100").split(",").map(Number);
const JSON_OUT = option("--json", null);
const RUN_TESTS = !flag("--bench-only");
const RUN_BENCH = !flag("--no-bench");

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const server = await serve({
  "/pkg/": path.join(wasmDir, "pkg"),
  "/sqljs/": path.join(wasmDir, "node_modules/sql.js/dist"),
  "/tests/": here,
  "/data/": path.join(root, "cli/data"),
});
const browser = await launch();
const PAGE = `${server.url}/tests/index.html`;

async function newPage(label) {
  const page = await browser.context.newPage();
  watchPage(page, label);
  await page.goto(PAGE);
  await page.waitForFunction(() => window.calstoreReady === true, null, { timeout: 30_000 });
  return page;
}

/** Calls `calstoreTests[fn](...args)` in the page, bounded by `ms`. */
function call(page, fn, args = [], ms = 60_000) {
  return withTimeout(
    page.evaluate(([f, a]) => window.calstoreTests[f](...a), [fn, args]),
    ms,
    `${fn}()`,
  );
}

async function reload(page) {
  await page.reload();
  await page.waitForFunction(() => window.calstoreReady === true, null, { timeout: 30_000 });
}

// The in-module backend (calstore-wasm/sqlite) on OPFS: a page whose dedicated Worker holds
// the database (in-module-page.js, in-module-worker.js).
const IN_MODULE_PAGE = `${server.url}/tests/in-module.html`;

async function newWorkerPage(label) {
  const page = await browser.context.newPage();
  watchPage(page, label);
  await page.goto(IN_MODULE_PAGE);
  await page.waitForFunction(() => window.inModuleReady === true, null, { timeout: 30_000 });
  return page;
}

/** Runs `inModule(op, ...args)` (a step in the page's worker), bounded by `ms`. */
function inWorker(page, op, args = [], ms = 60_000) {
  return withTimeout(
    page.evaluate(([o, a]) => window.inModule(o, ...a), [op, args]),
    ms,
    `worker ${op}()`,
  );
}

function inWorkerError(page, op, args = [], ms = 60_000) {
  return withTimeout(
    page.evaluate(([o, a]) => window.inModuleError(o, ...a), [op, args]),
    ms,
    `worker ${op}()`,
  );
}

async function reloadWorkerPage(page) {
  await page.reload();
  await page.waitForFunction(() => window.inModuleReady === true, null, { timeout: 30_000 });
}

const tests = [
  [
    "reload: writes after the last snapshot are replayed from the log",
    async () => {
      const page = await newPage("reload");
      await call(page, "reset", ["reload"]);
      await call(page, "open", ["reload"]);
      const before = await call(page, "writeBeforeReload", [{ snapshot: true }]);
      assert.ok(before.state.cancelled.length > 0, "the cancellation happened");
      assert.equal(before.stats.snapshots, 1);
      // No close(): the tab goes away with the database open, as a crash or reload would.
      await reload(page);
      await call(page, "open", ["reload"]);
      const after = await call(page, "readState");
      assert.deepEqual(after.state, before.state);
      assert.ok(after.stats.opened.snapshotBytes > 0, "restored from the snapshot");
      // cancel, queue, limit, and the two queued together: five entries after the snapshot.
      assert.equal(after.stats.opened.replayed, 5, JSON.stringify(after.stats.opened));
      await page.close();
      return `replayed ${after.stats.opened.replayed} entries on a ${after.stats.opened.snapshotBytes}-byte snapshot in ${after.stats.opened.totalMs.toFixed(0)} ms`;
    },
  ],
  [
    "reload: a database that never took a snapshot is rebuilt from its log",
    async () => {
      const page = await newPage("reload-log");
      await call(page, "reset", ["reload-log"]);
      await call(page, "open", ["reload-log"]);
      const before = await call(page, "writeBeforeReload", [{ snapshot: false }]);
      await reload(page);
      await call(page, "open", ["reload-log"]);
      const after = await call(page, "readState");
      assert.deepEqual(after.state, before.state);
      assert.equal(after.stats.opened.snapshotBytes, 0);
      // schema, import, and the five writes.
      assert.equal(after.stats.opened.replayed, 7, JSON.stringify(after.stats.opened));
      // A clean close with a snapshot leaves nothing to replay.
      await call(page, "close", [{ snapshot: true }]);
      await reload(page);
      await call(page, "open", ["reload-log"]);
      const again = await call(page, "readState");
      assert.deepEqual(again.state, before.state);
      assert.equal(again.stats.opened.replayed, 0);
      await page.close();
      return `replayed ${after.stats.opened.replayed} entries from an empty image`;
    },
  ],
  [
    "large import: 5 000 events in one durable call, then a reload",
    async () => {
      const page = await newPage("large");
      await call(page, "reset", ["large"]);
      await call(page, "open", ["large"]);
      const r = await call(page, "largeImport", [5000], 180_000);
      assert.equal(r.report.uids, 5000);
      assert.equal(r.report.parents, 5000);
      assert.equal(r.report.periods, 5000);
      await reload(page);
      await call(page, "open", ["large"], 120_000);
      const c = await call(page, "counts");
      assert.equal(c.events, 5000);
      assert.equal(c.periods, 5000);
      await page.close();
      return `import + durable ack ${r.ms.toFixed(0)} ms (${(r.icsBytes / 1e6).toFixed(1)} MB of iCalendar); reopen ${c.stats.opened.totalMs.toFixed(0)} ms (${c.stats.opened.replayed} replayed, ${c.stats.opened.snapshotBytes} B snapshot)`;
    },
  ],
  [
    "a lost IndexedDB connection fails the write loudly; the durable state survives",
    async () => {
      const page = await newPage("lost");
      await call(page, "reset", ["lost"]);
      await call(page, "open", ["lost"]);
      const r = await call(page, "loseConnectionAndWrite");
      for (const [what, err] of Object.entries(r)) {
        assert.equal(err?.name, "StorageError", `${what}: ${JSON.stringify(err)}`);
        assert.equal(err.code, "STORAGE_ERROR");
      }
      await reload(page);
      await call(page, "open", ["lost"]);
      const after = await call(page, "readState");
      assert.deepEqual(after.state.requests.map((q) => q.uid), ["durable@example.com"]);
      // An entry after a gap in the log (never acknowledged) is dropped on open, not replayed.
      await call(page, "close");
      await call(page, "injectGap", ["lost"]);
      await reload(page);
      const opened = await call(page, "open", ["lost"]);
      assert.equal(opened.opened.droppedAfterGap, 1, JSON.stringify(opened.opened));
      assert.deepEqual((await call(page, "readState")).state, after.state);
      await page.close();
      return `"${r.write.message}"`;
    },
  ],
  [
    "second tab: Locked while another tab owns the database",
    async () => {
      const a = await newPage("tab A");
      const b = await newPage("tab B");
      await call(a, "reset", ["locked"]);
      await call(a, "open", ["locked"]);
      await call(a, "writeBeforeReload", [{ snapshot: false }]);
      const err = await call(b, "openError", ["locked", { lockTimeoutMs: 300 }]);
      assert.deepEqual(
        { name: err?.name, code: err?.code },
        { name: "Locked", code: "LOCKED" },
        JSON.stringify(err),
      );
      assert.match(err.message, /open in another tab/);
      const del = await call(b, "deleteError", ["locked"]);
      assert.equal(del?.name, "Locked");
      // Once A lets go, B opens it and sees A's writes.
      await call(a, "close");
      await call(b, "open", ["locked"]);
      const seen = await call(b, "readState");
      assert.ok(seen.state.requests.length === 3, JSON.stringify(seen.state.requests));
      // And closing the tab that holds it releases it too.
      await b.close();
      await call(a, "open", ["locked"]);
      await call(a, "close");
      await a.close();
      return `"${err.message}"`;
    },
  ],
  [
    "in-module on OPFS: written in a dedicated Worker, the page reloaded, read back",
    async () => {
      const page = await newWorkerPage("in-module reload");
      await inWorker(page, "reset", ["reload.sqlite3"]);
      assert.equal(await inWorker(page, "open", ["reload.sqlite3"]), "in-module");
      const before = await inWorker(page, "write");
      assert.ok(before.state.events.length > 0 && before.state.cancelled.length === 1, JSON.stringify(before.state));
      assert.deepEqual(before.state.requests.map((q) => q.uid), ["durable@example.com"]);
      // No close: the page (and with it the worker) goes away with the database open, as a
      // crash or reload would. What each call committed must be on disk.
      await reloadWorkerPage(page);
      const t0 = Date.now();
      await inWorker(page, "open", ["reload.sqlite3"]);
      const reopenMs = Date.now() - t0;
      const after = await inWorker(page, "state");
      assert.deepEqual(after, before.state);
      await inWorker(page, "close");
      assert.equal(await inWorker(page, "reset", ["reload.sqlite3"]), true);
      await page.close();
      return `${after.events.length} events, ${after.freebusy.length} periods, revision ${after.revision} back after the reload; reopen ${reopenMs} ms`;
    },
  ],
  [
    "in-module on OPFS: a second tab's worker gets Busy until the first tab lets go",
    async () => {
      const a = await newWorkerPage("in-module tab A");
      const b = await newWorkerPage("in-module tab B");
      await inWorker(a, "reset", ["busy.sqlite3"]);
      await inWorker(a, "open", ["busy.sqlite3"]);
      await inWorker(a, "write");
      const err = await inWorkerError(b, "open", ["busy.sqlite3", { lockTimeoutMs: 300 }]);
      assert.deepEqual({ name: err?.name, code: err?.code }, { name: "Busy", code: "BUSY" }, JSON.stringify(err));
      // Closing the tab ends its worker, which releases the files.
      const seenByA = await inWorker(a, "state");
      await a.close();
      await inWorker(b, "open", ["busy.sqlite3", { lockTimeoutMs: 10_000 }]);
      assert.deepEqual(await inWorker(b, "state"), seenByA);
      await inWorker(b, "reset", ["busy.sqlite3"]);
      await b.close();
      return `"${err.message}"`;
    },
  ],
];

let passed = 0;
let failed = 0;
try {
  if (RUN_TESTS) {
    for (const [name, run] of tests) {
      const t0 = Date.now();
      try {
        const note = await withTimeout(run(), 300_000, name);
        passed += 1;
        console.log(`test ${name} ... ok (${((Date.now() - t0) / 1000).toFixed(1)} s)${note ? `\n     ${note}` : ""}`);
      } catch (e) {
        failed += 1;
        console.log(`test ${name} ... FAILED (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${e.stack ?? e}`);
      }
    }
  }
  if (RUN_BENCH) {
    console.log(`\ndurable commits in headless Chromium (${COMMITS} sequential writes, each importing one event and awaited until its IndexedDB transaction (durability "strict") completed):`);
    const page = await newPage("bench");
    const rows = [];
    for (const snapshotEvery of SNAPSHOT_EVERY) {
      console.log(`  snapshotEvery ${snapshotEvery}:`);
      for (const mb of SIZES) {
        const r = await call(page, "bench", [{ name: `bench-${mb}`, mb, commits: COMMITS, snapshotEvery }], 900_000);
        rows.push(r);
        console.log(
          `  ${String(mb).padStart(3)} MB: image ${(r.imageBytes / 1048576).toFixed(1)} MiB (${r.events} events, filled in ${(r.fillMs / 1000).toFixed(1)} s)` +
            ` | ${r.commitsPerSecond.toFixed(0)} durable commits/s, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms` +
            ` (wasm call ${r.meanWasmMs.toFixed(1)} ms mean; ${r.snapshotsDuring} snapshots during)` +
            ` | one snapshot: export ${r.snapshot.exportMs.toFixed(0)} ms + IndexedDB ${r.snapshot.writeMs.toFixed(0)} ms` +
            ` | reopen ${r.reopenMs.toFixed(0)} ms`,
        );
      }
    }
    if (JSON_OUT) {
      fs.writeFileSync(JSON_OUT, JSON.stringify(rows, null, 2) + "\n");
      console.log(`  (all figures in ${JSON_OUT})`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
if (RUN_TESTS) console.log(`\nbrowser: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
