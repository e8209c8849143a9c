// The page half of the browser benchmark (driven by run.mjs): every measurement runs in a
// new dedicated Worker (worker.js), one per backend, which is terminated afterwards.
window.benchRun = (config) =>
  new Promise((resolve, reject) => {
    const worker = new Worker("/bench/worker.js", { type: "module" });
    const done = (f, v) => {
      worker.terminate();
      f(v);
    };
    worker.onmessage = (e) =>
      e.data.ok ? done(resolve, e.data.value) : done(reject, Object.assign(new Error(e.data.error.message), e.data.error));
    worker.onerror = (e) => done(reject, new Error(`worker: ${e.message}`));
    worker.postMessage(config);
  });
window.benchReady = true;
document.getElementById("status").textContent = `ready (crossOriginIsolated: ${self.crossOriginIsolated})`;
