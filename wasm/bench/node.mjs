// A quick Node harness for the browser benchmark's two measurements (import, week query) on
// both browser backends, for profiling with `node --cpu-prof`; the figures that count come
// from headless Chromium (scripts/bench-wasm.sh), this only helps find where time goes.
//
//   node wasm/bench/node.mjs [sqljs|in-module] [--events 5000] [--queries 2000]
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { dataset, IMPORT_OPTIONS, NOW, USER, WEEK } from "./dataset.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, "..");
const pkg = path.join(wasmDir, "pkg");
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const backend = args.find((a) => !a.startsWith("--")) ?? "sqljs";
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const events = flag("--events", 5000);
const queries = flag("--queries", 2000);
const runs = flag("--runs", 5);

async function opener() {
  if (backend === "sqljs") {
    const { initCalStore, CalStore } = await import(path.join(pkg, "calstore.js"));
    await initCalStore(fs.readFileSync(path.join(pkg, "calstore_wasm_bg.wasm")));
    const initSqlJs = require(path.join(wasmDir, "node_modules/sql.js/dist/sql-wasm.js"));
    const SQL = await initSqlJs();
    return () => {
      const db = new SQL.Database();
      const store = new CalStore(db, { now: NOW });
      return { store, close: () => (store.free(), db.close()) };
    };
  }
  const { openInModule } = await import(path.join(pkg, "calstore-sqlite.js"));
  const wasm = fs.readFileSync(path.join(pkg, "calstore_sqlite_bg.wasm"));
  return async () => {
    const store = await openInModule({ now: NOW, wasm });
    return { store, close: () => store.free() };
  };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const open = await opener();
const text = dataset(events);
const importMs = [];
let last = null;
for (let r = 0; r < runs; r++) {
  if (last) last.close();
  last = await open();
  const t = performance.now();
  last.store.importIcs(USER, text, IMPORT_OPTIONS);
  importMs.push(performance.now() - t);
}
const weekUs = [];
let found = 0;
for (let q = 0; q < queries; q++) {
  const t = performance.now();
  found = last.store.getFreebusy(USER, WEEK).length;
  weekUs.push((performance.now() - t) * 1000);
}
console.log(
  JSON.stringify({
    backend,
    import_ms: +median(importMs.slice(1)).toFixed(1),
    import_runs_ms: importMs.map((x) => +x.toFixed(1)),
    found,
    week_p50_us: +median(weekUs.slice(queries / 2)).toFixed(1),
  }),
);
