// The browser benchmark: both browser backends in headless Chromium next to native SQLite,
// on the same seeded dataset, on this machine, in this run (scripts/bench-wasm.sh builds what
// it needs and runs this).
//
//   node wasm/bench/run.mjs --native PATH [--events 5000] [--runs 5] [--queries 200] [--batch 10]
//                           [--warmup EVENTS] [--settle-ms 1000] [--json out.json] [--smoke]
//
// --native is the bench-native example (wasm/bench/native.rs), run first for the native
// figures (in memory, and a WAL file with synchronous=FULL) and for the dataset, which must
// equal the browser's (wasm/bench/dataset.mjs) byte for byte. Then, in Chromium (the system's
// /usr/bin/chromium through playwright-core, a fresh profile, pages served from 127.0.0.1 with
// COOP/COEP so that performance.now() has its fine resolution), each backend in a new
// dedicated Worker (wasm/bench/worker.js): sql.js, the in-module backend in memory, and the
// in-module backend on OPFS. Prints the table with ratios against native and the targets
// (sql.js within 3x of native, the in-module backend within 1.5x), and the shipped sizes of
// both backends (wasm/pkg, built by scripts/build-wasm-pkg.sh).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { launch, watchPage } from "../tools/chromium.mjs";
import { serve } from "../tools/server.mjs";
import { measure } from "../tools/sizes.mjs";
import { dataset } from "./dataset.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, "..");
const pkg = path.join(wasmDir, "pkg");
const sqljsDist = path.join(wasmDir, "node_modules/sql.js/dist");

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const NATIVE = option("--native", null);
const EVENTS = Number(option("--events", "5000"));
const RUNS = Number(option("--runs", "5"));
const QUERIES = Number(option("--queries", "200"));
// Each week sample times this many consecutive queries and keeps the mean: a single query
// takes ~0.1 ms and Chromium's clock ticks in 5 µs steps (cross-origin isolated), so one
// query per sample rounds the figure by up to 5 %; natively the same batches are timed.
const BATCH = Number(option("--batch", "10"));
// The browser's untimed warm-up import (default: the whole dataset) and the pause after it.
const WARMUP = Number(option("--warmup", String(EVENTS)));
const SETTLE_MS = Number(option("--settle-ms", "1000"));
const JSON_OUT = option("--json", null);
// A check of the harness (scripts/test-wasm.sh): everything runs and agrees, no verdicts.
const SMOKE = argv.includes("--smoke");
if (!NATIVE) {
  console.error("usage: run.mjs --native PATH [--events N] [--runs N] [--queries N] [--batch N] [--warmup N] [--settle-ms MS] [--json out]");
  process.exit(2);
}
assert.ok(QUERIES >= 100, "--queries: at least 100 (the week latency is a median of >= 100)");
assert.ok(BATCH >= 1, "--batch: at least 1");
assert.ok(RUNS >= 1 && EVENTS >= 1, "--runs and --events: at least 1");
for (const f of ["calstore.js", "calstore_wasm_bg.wasm", "calstore-sqlite.js", "calstore_sqlite_bg.wasm"]) {
  if (!fs.existsSync(path.join(pkg, f))) throw new Error(`no wasm/pkg/${f}: run scripts/build-wasm-pkg.sh`);
}

// ---- native ---------------------------------------------------------------------------------
const datasetFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "calstore-bench-")), "dataset.ics");
const nativeOut = execFileSync(
  NATIVE,
  [
    "--events", String(EVENTS), "--runs", String(RUNS), "--queries", String(QUERIES),
    "--batch", String(BATCH), "--write-dataset", datasetFile,
  ],
  { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
);
const nativeLines = nativeOut.trim().split("\n").map((l) => JSON.parse(l));
const native = Object.fromEntries(nativeLines.filter((l) => l.backend).map((l) => [l.backend, l]));
const nativeSqlite = nativeLines.find((l) => l.sqlite_version)?.sqlite_version;
assert.ok(native["native-memory"] && native["native-file"], nativeOut);
const nativeText = fs.readFileSync(datasetFile, "utf8");
fs.rmSync(path.dirname(datasetFile), { recursive: true, force: true });
assert.equal(dataset(EVENTS), nativeText, "wasm/bench/dataset.mjs must generate tests/benches/common's dataset");

// ---- Chromium -------------------------------------------------------------------------------
const server = await serve(
  { "/pkg/": pkg, "/sqljs/": sqljsDist, "/bench/": here },
  { headers: { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } },
);
const browser = await launch();
const results = {};
let chromium = "";
try {
  const page = await browser.context.newPage();
  watchPage(page, "bench");
  await page.goto(`${server.url}/bench/index.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  chromium = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? navigator.userAgent);
  for (const backend of ["sqljs", "in-module", "in-module-opfs"]) {
    const t0 = Date.now();
    const r = await page.evaluate((c) => window.benchRun(c), {
      backend,
      events: EVENTS,
      runs: RUNS,
      queries: QUERIES,
      batch: BATCH,
      warmup: WARMUP,
      settleMs: SETTLE_MS,
    });
    assert.equal(r.cross_origin_isolated, true, "the worker must be cross-origin isolated (fine timers)");
    // The same work as natively: the same events expanded to the same periods, the same week.
    assert.equal(r.events, native["native-memory"].events, `${backend}: events`);
    assert.equal(r.periods, native["native-memory"].periods, `${backend}: periods`);
    assert.equal(r.found, native["native-memory"].found, `${backend}: periods in the week`);
    results[backend] = r;
    console.error(`  ${backend}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await page.close();
} finally {
  await browser.close();
  await server.close();
}

// ---- sizes ----------------------------------------------------------------------------------
// wasm-bindgen's snippets/ (the crate's inline JavaScript) are imported by both glue files.
const snippets = fs.existsSync(path.join(pkg, "snippets"))
  ? fs
      .readdirSync(path.join(pkg, "snippets"), { recursive: true })
      .filter((f) => f.endsWith(".js"))
      .sort()
      .map((f) => path.join(pkg, "snippets", f))
  : [];
const sizes = {
  "sql.js": measure([
    path.join(pkg, "calstore_wasm_bg.wasm"),
    path.join(pkg, "calstore_wasm.js"),
    path.join(pkg, "calstore.js"),
    ...snippets,
    path.join(sqljsDist, "sql-wasm-browser.wasm"),
    path.join(sqljsDist, "sql-wasm-browser.js"),
  ]),
  "in-module": measure([
    path.join(pkg, "calstore_sqlite_bg.wasm"),
    path.join(pkg, "calstore_sqlite.js"),
    path.join(pkg, "calstore-sqlite.js"),
    ...snippets,
  ]),
};

// ---- the table ------------------------------------------------------------------------------
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = [
  ["native SQLite, memory", native["native-memory"], null, null],
  ["native SQLite, file (WAL, FULL)", native["native-file"], null, null],
  ["sql.js, memory", results.sqljs, native["native-memory"], 3],
  ["in-module, memory", results["in-module"], native["native-memory"], 1.5],
  ["in-module, OPFS (WAL, FULL)", results["in-module-opfs"], native["native-file"], 1.5],
];
const header = [
  "backend".padEnd(33),
  "import ms".padStart(10),
  "events/s".padStart(9),
  "x native".padStart(9),
  "week p50 us".padStart(12),
  "p95 us".padStart(8),
  "x native".padStart(9),
  "  target",
].join(" ");
const lines = [
  `calstore browser benchmark: ${fmt(EVENTS)} events (${fmt(native["native-memory"].periods)} periods after expansion; seed 42,`,
  `tests/benches/common's dataset); import = importIcs (parse + store, one transaction), median of ${RUNS};`,
  `1-week free/busy (${native["native-memory"].found} periods) = getFreebusy, median of ${QUERIES} samples of ${BATCH} queries each. ${chromium} headless, each backend in`,
  `a dedicated Worker, timed after an untimed warm-up (${fmt(WARMUP)} events, ${QUERIES} queries, ${SETTLE_MS} ms pause);`,
  `native = the same calls on calstore-native's SqliteConnection (SQLite ${nativeSqlite}), this machine, this run.`,
  "",
  header,
  "-".repeat(header.length),
];
const verdicts = [];
for (const [label, r, base, target] of rows) {
  const importRatio = base ? r.import_ms / base.import_ms : 1;
  const weekRatio = base ? r.week_p50_us / base.week_p50_us : 1;
  let verdict = "";
  if (target && !SMOKE) {
    const importMet = importRatio <= target;
    const weekMet = weekRatio <= target;
    verdict = `<= ${target}x: import ${importMet ? "met" : "MISSED"}, week ${weekMet ? "met" : "MISSED"}`;
    verdicts.push({ backend: label, target, importRatio, weekRatio, importMet, weekMet });
  }
  lines.push(
    [
      label.padEnd(33),
      fmt(r.import_ms, 1).padStart(10),
      fmt(r.events_per_s).padStart(9),
      (base ? `${importRatio.toFixed(2)}x` : "1.00x").padStart(9),
      fmt(r.week_p50_us, 1).padStart(12),
      fmt(r.week_p95_us, 1).padStart(8),
      (base ? `${weekRatio.toFixed(2)}x` : "1.00x").padStart(9),
      `  ${verdict}`,
    ].join(" "),
  );
}
lines.push("(x native: browser time / native time; OPFS is compared with the native file, the others with native memory)");
if (SMOKE) lines.push("SMOKE RUN: a check that the harness works (native is a debug build); these are not figures, see scripts/bench-wasm.sh");
lines.push("");
lines.push("shipped to the browser (wasm + JavaScript), bytes:");
const sizeHeader = `${"backend".padEnd(11)} ${"raw".padStart(11)} ${"gzip -9".padStart(10)} ${"brotli -q11".padStart(12)}  files`;
lines.push(sizeHeader, "-".repeat(sizeHeader.length + 40));
for (const [name, s] of Object.entries(sizes)) {
  lines.push(
    `${name.padEnd(11)} ${fmt(s.total.raw).padStart(11)} ${fmt(s.total.gzip).padStart(10)} ${fmt(s.total.brotli).padStart(12)}  ${s.files.map((f) => `${f.file} ${fmt(f.brotli)}`).join(" + ")} (brotli)`,
  );
}
lines.push(
  `browser-side init (module load + compile + instantiate, first use in a fresh worker): ` +
    Object.entries(results)
      .map(([b, r]) => `${b} ${fmt(r.init_ms)} ms`)
      .join(", "),
);
console.log(lines.join("\n"));

if (JSON_OUT) {
  fs.writeFileSync(
    JSON_OUT,
    JSON.stringify({ events: EVENTS, runs: RUNS, queries: QUERIES, batch: BATCH, warmup: WARMUP, settleMs: SETTLE_MS, chromium, nativeSqlite, native, browser: results, sizes, verdicts }, null, 2) + "\n",
  );
  console.log(`(all figures in ${JSON_OUT})`);
}
