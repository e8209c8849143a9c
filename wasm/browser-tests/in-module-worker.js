// The worker half of the in-module OPFS tests: calstore-wasm/sqlite opened on OPFS (the
// `opfs-sahpool` VFS), one step per message from in-module-page.js.
import { deleteInModule, openInModule } from "/pkg/calstore-sqlite.js";

const ROOM = "mailto:resource-room-confroom@example.com";
const QUOTA = "mailto:resource-car-pool@example.com";
const NOW = "20261122T000000Z";

let store = null;

function state() {
  return {
    backend: store.backend,
    events: store.getEvents(ROOM),
    cancelled: store.getCancelledEvents(ROOM),
    freebusy: store.getFreebusy(ROOM),
    requests: store.getRequests(ROOM),
    limits: store.getLimits(QUOTA),
    revision: store.revision(ROOM),
    changes: store.changesSince(ROOM, 0).length,
  };
}

const ops = {
  /** Deletes the database (closing this worker's store first). */
  async reset(path) {
    store?.free();
    store = null;
    return deleteInModule({ path });
  },
  async open(path, options = {}) {
    store = await openInModule({ storage: "opfs", path, now: NOW, ...options });
    return store.backend;
  },
  /** Imports the demo calendar, then cancels, queues and limits: four commits. */
  async write() {
    const res = await fetch("/data/demo.ics");
    if (!res.ok) throw new Error(`demo.ics: ${res.status}`);
    const report = store.importIcs(ROOM, await res.text(), { tz: "Europe/Oslo", onlyInvolving: true });
    const [first] = store.getEvents(ROOM);
    store.cancelEvent(ROOM, first);
    store.queueRequest(ROOM, "durable@example.com");
    store.setLimit(QUOTA, "*", "PT2H");
    return { report, state: state() };
  },
  state,
  close() {
    store?.free();
    store = null;
  },
};

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    const value = await ops[op](...args);
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    self.postMessage({ id, ok: false, error: { name: err?.name, code: err?.code, message: err?.message ?? String(err) } });
  }
};
