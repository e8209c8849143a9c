// The web calendar's service worker: keeps the page's own files (HTML, JavaScript, CSS, the
// wasm modules) so that the calendar opens with the network off. Every GET of this origin
// outside the sync protocol is answered from the cache when it is there (and refreshed in the
// background), else from the network and kept. The sync protocol (/sync/…) and /healthz are
// never cached: the data lives in calstore's database, not here.
const CACHE = "calstore-web-v1";
const SHELL = [
  "./",
  "index.html",
  "main.js",
  "ical.js",
  "style.css",
  "pkg/calstore.js",
  "pkg/calstore-sync.js",
  "pkg/calstore_wasm.js",
  "pkg/calstore_wasm_bg.wasm",
  "sqljs/sql-wasm-browser.js",
  "sqljs/sql-wasm-browser.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => Promise.all(SHELL.map((f) => c.add(f).catch(() => undefined))))
      .then(() => self.skipWaiting()),
  );
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
