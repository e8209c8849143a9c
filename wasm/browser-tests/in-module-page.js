// The page half of the in-module OPFS tests (driven by run.mjs): starts the dedicated Worker
// that owns the database (in-module-worker.js; OPFS sync access handles exist only there) and
// exposes `window.inModule(op, ...args)`, which runs one step in the worker and resolves with
// its result, or rejects with the worker's error ({name, code, message}).
const worker = new Worker("/tests/in-module-worker.js", { type: "module" });
const pending = new Map();
let next = 0;

worker.onmessage = (e) => {
  const { id, ok, value, error } = e.data;
  const p = pending.get(id);
  pending.delete(id);
  if (ok) p.resolve(value);
  else p.reject(Object.assign(new Error(error.message), error));
};
worker.onerror = (e) => {
  for (const p of pending.values()) p.reject(new Error(`worker: ${e.message}`));
  pending.clear();
};

window.inModule = (op, ...args) =>
  new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args });
  });

/** Like inModule, but resolves with the error's {name, code, message} instead of rejecting. */
window.inModuleError = (op, ...args) =>
  window.inModule(op, ...args).then(
    () => null,
    (e) => ({ name: e.name, code: e.code, message: e.message }),
  );

window.inModuleReady = true;
document.getElementById("status").textContent = "ready";
