// Type-checks calstore.d.ts, calstore-sqlite.d.ts and calstore-sync.d.ts against typical use (scripts/test-wasm.sh runs `tsc -p wasm/js`).
// Nothing here runs; each line must compile, and each `@ts-expect-error` must be an error.
import {
  CalStore,
  type CalStoreError,
  type Change,
  deleteCalStore,
  type ImportReport,
  initCalStore,
  openCalStore,
  type Period,
  type PersistentCalStore,
  type QuotaDecision,
  type RepairNote,
  type SqlJsStatic,
  storeMethodNames,
} from "./calstore.js";

import * as inModule from "./calstore-sqlite.js";
import { type Conflict, openShared, SyncClient, type SyncState, type UserBusy } from "./calstore-sync.js";

declare const SQL: SqlJsStatic;
const user = "mailto:resource-room-confroom@example.com";

export async function inMemory(): Promise<void> {
  await initCalStore();
  const store = new CalStore(new SQL.Database(), { now: "20261122T000000Z" });
  const report: ImportReport = store.importIcs(user, "BEGIN:VCALENDAR...", {
    tz: "Europe/Oslo",
    windowDays: 30,
    onProgress: (done: number, total: number) => void [done, total],
  });
  const lenient: ImportReport = store.importIcs(user, "BEGIN:VCALENDAR...", {
    strict: false,
    expandFrom: "20260101",
  });
  const notes: string[] = lenient.notes.map((n: RepairNote) => `${n.line} ${n.uid ?? "-"} ${n.message}`);
  const skipped: number = lenient.notesOmitted + lenient.obsoleteOverrides;
  void [notes, skipped];
  // @ts-expect-error: strict is a boolean.
  store.importIcs(user, "BEGIN:VCALENDAR...", { strict: "yes" });
  const week: Period[] = store.getFreebusy(user, { from: "20261123", to: new Date() });
  const first: string | null = week[0]?.uid ?? null;
  const text: string | null = store.getEvent(user, "uid", null);
  const ok: boolean = store.cancelEvent(user, "uid");
  const decision: QuotaDecision = store.reserve("cars", {
    organiser: user,
    periods: [{ start: "20261124T100000Z", end: 1_700_000_000_000 }],
  });
  const accepted: boolean = decision.decision === "ACCEPTED";
  const changes: Change[] = store.changesSince(user, store.revision(user));
  const entries: Uint8Array[] = store.takeCommits();
  void [report, first, text, ok, accepted, changes, entries, store.pendingCommits];
  // @ts-expect-error: a period needs an end.
  store.setFreebusy(user, [{ start: "20261124T100000Z" }]);
  // @ts-expect-error: decisions are ACCEPTED or DECLINED.
  const wrong: boolean = decision.decision === "MAYBE";
  void wrong;
}

export async function durable(): Promise<void> {
  let db: PersistentCalStore;
  try {
    db = await openCalStore({ SQL, name: "calendar", durability: "strict", snapshotEvery: 500 });
  } catch (e) {
    const err = e as CalStoreError;
    if (err.name === "Locked") return;
    throw e;
  }
  const report: ImportReport = await db.importIcs(user, "BEGIN:VCALENDAR...");
  const periods: Period[] = await db.getFreebusy(user);
  const cancelled: boolean = await db.cancelEvent(user, "uid", null, { tz: "UTC" });
  // @ts-expect-error: durable calls return Promises.
  const sync: boolean = db.cancelEvent(user, "uid");
  await db.flush();
  const info = await db.snapshot();
  const n: number = info.bytes + db.stats().logEntries;
  await db.close({ snapshot: true });
  await deleteCalStore({ name: "calendar" });
  const names: string[] = storeMethodNames();
  void [report, periods, cancelled, sync, n, names];
}

export async function fast(): Promise<void> {
  const memory = await inModule.openInModule();
  const durable = await inModule.CalStore.openInModule({ storage: "opfs", path: "cal.sqlite3" });
  const report: ImportReport = durable.importIcs(user, "BEGIN:VCALENDAR...", { tz: "Europe/Oslo", strict: true });
  const first: inModule.RepairNote | undefined = report.notes[0];
  void first;
  const week: Period[] = memory.getFreebusy(user, { from: "20261123", to: "20261130" });
  const backend: "sql.js" | "in-module" = memory.backend;
  const image: Uint8Array = durable.exportImage();
  durable.free();
  const existed: boolean = await inModule.deleteInModule({ path: "cal.sqlite3" });
  const names: string[] = inModule.storeMethodNames();
  // @ts-expect-error: storage is "memory" or "opfs".
  await inModule.openInModule({ storage: "indexeddb" });
  // @ts-expect-error: the in-module store is opened with openInModule, not over sql.js.
  new inModule.CalStore(new SQL.Database());
  void [report, week, backend, image, existed, names];
}

export async function syncing(db: PersistentCalStore): Promise<void> {
  const client = await SyncClient.attach(db, { server: "https://sync.example.com", intervalMs: 30_000 });
  const summary = await client.login("alice", "a passphrase");
  const unsubscribe = client.onSyncState((s: SyncState) => void s.pending);
  await client.write({ kind: "cancel", user, uid: "uid" });
  const conflicts: Conflict[] = client.conflicts;
  const busy: UserBusy[] = await client.freeBusy([user], new Date(), "20261211T000000Z");
  const first: Date | undefined = busy[0]?.busy[0]?.end;
  // @ts-expect-error the addresses are a list
  await client.freeBusy(user, new Date(), new Date());
  const shared = await openShared({ name: "calendar", open: async () => db });
  const again = await shared.call<UserBusy[]>("freeBusy", [user], new Date(), new Date());
  unsubscribe();
  void [summary, conflicts, first, again];
}
