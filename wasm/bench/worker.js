// The worker half of the browser benchmark: one backend per worker, measured the way
// bench/native.rs measures native SQLite.
//
//   import: CalStore.importIcs(USER, <N events>, {tz: Europe/Berlin, expandUntil: 2029-01-01})
//           on a fresh database (parse, expand, store, journal; one transaction), median of
//           `runs`;
//   week:   getFreebusy(USER, {from: 2026-06-15, to: 2026-06-22}), median and p95 of `queries`
//           samples, each the mean of `batch` consecutive queries.
//
// Both after an untimed warm-up (an import of `warmup` events and as many queries, then a
// pause of `settleMs`): V8 first runs wasm from its baseline compiler and optimises hot
// functions in the background, which on a loaded 2-core machine takes a while; native code
// needs no warming, so steady state is what is compared.
//
// Backends: "sqljs" (CalStore over a sql.js Database, in memory), "in-module" (SQLite in the
// module, memory VFS), "in-module-opfs" (SQLite in the module on OPFS: the sahpool VFS, WAL,
// exclusive locking, synchronous = FULL: every commit flushed).
import { dataset, IMPORT_OPTIONS, NOW, USER, WEEK } from "/bench/dataset.mjs";

async function opener(backend) {
  if (backend === "sqljs") {
    const { initCalStore, CalStore } = await import("/pkg/calstore.js");
    await initCalStore();
    // sql.js's browser build defines a global initSqlJs; in a module worker, evaluate it.
    const src = await (await fetch("/sqljs/sql-wasm-browser.js")).text();
    const initSqlJs = new Function(`${src}\nreturn initSqlJs;`)();
    const SQL = await initSqlJs({ locateFile: (f) => `/sqljs/${f}` });
    return {
      open: async () => {
        const db = new SQL.Database();
        const store = new CalStore(db, { now: NOW });
        return { store, close: () => (store.free(), db.close()) };
      },
    };
  }
  const { openInModule, deleteInModule } = await import("/pkg/calstore-sqlite.js");
  if (backend === "in-module") {
    return {
      open: async () => {
        const store = await openInModule({ now: NOW });
        return { store, close: () => store.free() };
      },
    };
  }
  if (backend === "in-module-opfs") {
    return {
      open: async (name) => {
        const path = `bench-${name}.sqlite3`;
        await deleteInModule({ path });
        const store = await openInModule({ storage: "opfs", path, now: NOW });
        return {
          store,
          close: async () => {
            store.free();
            await deleteInModule({ path });
          },
        };
      },
    };
  }
  throw new Error(`unknown backend ${backend}`);
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const p95 = (v) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((v.length * 95) / 100))];

async function run({ backend, events, runs, queries, batch = 1, warmup, settleMs }) {
  const t0 = performance.now();
  const { open } = await opener(backend);
  const initMs = performance.now() - t0;
  const text = dataset(events);
  if (warmup > 0) {
    const w = await open("warmup");
    w.store.importIcs(USER, warmup === events ? text : dataset(warmup), IMPORT_OPTIONS);
    for (let i = 0; i < queries; i++) w.store.getFreebusy(USER, WEEK);
    await w.close();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  }
  const importMs = [];
  let last = null;
  let report = null;
  for (let r = 0; r < runs; r++) {
    if (last) await last.close();
    last = await open(String(r));
    const t = performance.now();
    report = last.store.importIcs(USER, text, IMPORT_OPTIONS);
    importMs.push(performance.now() - t);
  }
  // One sample = the mean of `batch` consecutive queries (see run.mjs).
  const weekUs = [];
  let found = 0;
  for (let q = 0; q < queries; q++) {
    const t = performance.now();
    for (let b = 0; b < batch; b++) found = last.store.getFreebusy(USER, WEEK).length;
    weekUs.push(((performance.now() - t) * 1000) / batch);
  }
  const backendName = last.store.backend;
  await last.close();
  const importMedian = median(importMs);
  return {
    backend,
    store: backendName,
    events: report.uids,
    periods: report.periods,
    runs,
    import_ms: importMedian,
    import_runs_ms: importMs,
    events_per_s: events / (importMedian / 1000),
    queries,
    batch,
    found,
    week_p50_us: median(weekUs),
    week_p95_us: p95(weekUs),
    init_ms: initMs,
    cross_origin_isolated: self.crossOriginIsolated,
  };
}

self.onmessage = async (e) => {
  try {
    self.postMessage({ ok: true, value: await run(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, error: { name: err?.name, code: err?.code, message: err?.message ?? String(err) } });
  }
};
