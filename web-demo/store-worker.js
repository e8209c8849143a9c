// The web calendar's in-module backend (`?backend=in-module`, or the choice on the login
// form): calstore with SQLite compiled into its module, durable on OPFS. OPFS sync access
// handles exist only in a dedicated Worker, so the store lives here and the page calls it by
// postMessage: `{id, method, args}` → `{id, ok, value}` or `{id, ok: false, error}`. The first
// message opens the store (`{id, method: "open", args: [{path, now}]}`); every other one is a
// method of CalStore, run synchronously, one commit flushed to OPFS per write.
import { openInModule } from "./pkg/calstore-sqlite.js";

let store = null;

self.onmessage = async (e) => {
  const { id, method, args } = e.data;
  try {
    let value;
    if (method === "open") {
      const { path, now } = args[0];
      // After a reload, the previous page's worker may hold the OPFS files for a moment.
      store ??= await openInModule({ storage: "opfs", path, now, lockTimeoutMs: 15_000 });
      value = store.backend ?? "in-module";
    } else if (!store) {
      throw Object.assign(new Error("the store is not open"), { name: "StorageError", code: "STORAGE_ERROR" });
    } else if (typeof store[method] === "function" && !method.startsWith("_") && method !== "free") {
      value = store[method](...args);
    } else {
      throw Object.assign(new Error(`no method ${method}`), { name: "InvalidData", code: "INVALID_DATA" });
    }
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    self.postMessage({
      id,
      ok: false,
      error: { name: err?.name ?? "Error", code: err?.code, message: err?.message ?? String(err), status: err?.status },
    });
  }
};
