// A tiny static file server on 127.0.0.1 for the browser tests and the web demo: serves
// each URL prefix from a directory, nothing else, and only GET/HEAD.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".ics": "text/calendar; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/**
 * Starts serving `mounts` ({"/prefix/": "/abs/dir", ...}) on a free port of 127.0.0.1.
 * `headers` are added to every file served (the benchmark sets COOP/COEP with them).
 * Resolves with {url, close()}.
 */
export function serve(mounts, { headers = {} } = {}) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    let pathname = decodeURIComponent(url.pathname);
    if (pathname.endsWith("/")) pathname += "index.html";
    const mount = entries.find(([prefix]) => pathname.startsWith(prefix));
    const fail = (code) => {
      res.writeHead(code, { "content-type": "text/plain" });
      res.end(`${code}\n`);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return fail(405);
    if (!mount) return fail(404);
    const [prefix, dir] = mount;
    const file = path.resolve(dir, "." + pathname.slice(prefix.length - 1));
    if (file !== dir && !file.startsWith(dir + path.sep)) return fail(403);
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return fail(404);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "content-length": st.size,
        "cache-control": "no-store",
        ...headers,
      });
      if (req.method === "HEAD") return res.end();
      fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
