// The web calendar's service worker: keeps the page's own files (HTML, JavaScript, CSS, the
// wasm modules) so that the calendar opens with the network off. Every GET of this origin
// outside the sync protocol is answered from the cache when it is there (and refreshed in the
// background), else from the network and kept. The sync protocol (/sync/…) and /healthz are
// never cached: the data lives in calstore's database, not here.
const CACHE = "calstore-web-v1";

// Every file of the app on its default backend (offline-files.json, written by
// scripts/build-web-demo.sh), fetched at install: the page's first load happens before this
// worker controls it, so nothing may be left to be cached on the way.
self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      let files = ["./"];
      try {
        files = files.concat((await (await fetch("offline-files.json", { cache: "no-store" })).json()).files);
      } catch {
        // an incomplete list: the page then caches as it loads
      }
      await Promise.all(files.map((f) => cache.add(new Request(f, { cache: "reload" })).catch(() => undefined)));
      await self.skipWaiting();
    })(),
  );
});

// The page on another backend than the default asks for that backend's files too (the
// list `offline-files.json` keeps under its name), and is answered once they are kept.
self.addEventListener("message", (event) => {
  const { type, backend } = event.data ?? {};
  if (type !== "keep" || typeof backend !== "string") return;
  const done = (async () => {
    try {
      const cache = await caches.open(CACHE);
      const list = (await (await fetch("offline-files.json", { cache: "no-store" })).json()).backends?.[backend] ?? [];
      await Promise.all(list.map((f) => cache.add(new Request(f, { cache: "reload" })).catch(() => undefined)));
    } catch {
      // offline now: they are kept as the page loads them
    }
    event.ports[0]?.postMessage("kept");
  })();
  event.waitUntil(done);
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  const rel = url.pathname.slice(scope.pathname.length);
  if (rel.startsWith("sync/") || rel === "healthz") return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(req, { ignoreSearch: true });
      const fresh = fetch(req)
        .then((resp) => {
          if (resp.ok) cache.put(new Request(url.origin + url.pathname), resp.clone());
          return resp;
        })
        .catch(() => undefined);
      if (hit) {
        event.waitUntil(fresh);
        return hit;
      }
      return (await fresh) ?? new Response("offline", { status: 503, statusText: "offline" });
    }),
  );
});
