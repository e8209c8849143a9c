#!/usr/bin/env bash
# Assembles the web demo into web-demo/dist/ (gitignored), ready for any static file server:
#
#   scripts/build-web-demo.sh              # builds wasm/pkg first (scripts/build-wasm-pkg.sh)
#   python3 -m http.server -d web-demo/dist 8000   # then open http://localhost:8000/
#
# dist/ holds index.html, main.js, style.css and store-worker.js (web-demo/), the package (pkg/:
# the sql.js backend and the in-module one), sql.js's browser build (sqljs/) and the sample
# calendar demo.ics (cli/data/demo.ics). The page
# needs a secure context for IndexedDB and Web Locks: http://localhost or 127.0.0.1 is one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=$ROOT/web-demo/dist
SQLJS=$ROOT/wasm/node_modules/sql.js/dist

die() {
    echo "build-web-demo: error: $*" >&2
    exit 1
}

scripts/build-wasm-pkg.sh
[ -f "$SQLJS/sql-wasm-browser.js" ] && [ -f "$SQLJS/sql-wasm-browser.wasm" ] ||
    die "sql.js missing from wasm/node_modules (scripts/setup-wasm.sh installs it)"

echo "==> web-demo/dist/"
rm -rf "$DIST"
mkdir -p "$DIST/pkg" "$DIST/sqljs"
cp web-demo/index.html web-demo/main.js web-demo/ical.js web-demo/sw.js web-demo/style.css web-demo/store-worker.js "$DIST/"
cp wasm/pkg/calstore.js wasm/pkg/calstore-sync.js wasm/pkg/calstore_wasm.js wasm/pkg/calstore_wasm_bg.wasm "$DIST/pkg/"
# The in-module backend (the page's `backend=in-module`): its module and the store's Worker.
IN_MODULE=(pkg/calstore-sqlite.js pkg/calstore_sqlite.js pkg/calstore_sqlite_bg.wasm store-worker.js)
cp wasm/pkg/calstore-sqlite.js wasm/pkg/calstore_sqlite.js wasm/pkg/calstore_sqlite_bg.wasm "$DIST/pkg/"
# wasm-bindgen's inline JavaScript, imported by calstore_wasm.js.
cp -r wasm/pkg/snippets "$DIST/pkg/"
mapfile -t SNIPPETS < <(find "$DIST/pkg/snippets" -name '*.js' | sort)
cp "$SQLJS/sql-wasm-browser.js" "$SQLJS/sql-wasm-browser.wasm" "$DIST/sqljs/"
cp cli/data/demo.ics "$DIST/demo.ics"
echo "==> shipped to the browser on the default backend (calstore + sql.js)"
node wasm/tools/sizes.mjs --json "$DIST/sizes.json" "$DIST/pkg/calstore_wasm_bg.wasm" "$DIST/pkg/calstore_wasm.js" "$DIST/pkg/calstore.js" \
    "$DIST/pkg/calstore-sync.js" "${SNIPPETS[@]}" "$DIST/sqljs/sql-wasm-browser.wasm" "$DIST/sqljs/sql-wasm-browser.js" \
    "$DIST/main.js" "$DIST/ical.js" "$DIST/sw.js" "$DIST/index.html" "$DIST/style.css"
echo "==> shipped to the browser on the in-module backend (the JavaScript of calstore.js is loaded, not its wasm)"
node wasm/tools/sizes.mjs --json "$DIST/sizes-in-module.json" "$DIST/pkg/calstore_sqlite_bg.wasm" "$DIST/pkg/calstore_sqlite.js" \
    "$DIST/pkg/calstore-sqlite.js" "$DIST/store-worker.js" "$DIST/pkg/calstore_wasm.js" "$DIST/pkg/calstore.js" \
    "$DIST/pkg/calstore-sync.js" "${SNIPPETS[@]}" "$DIST/main.js" "$DIST/ical.js" "$DIST/sw.js" "$DIST/index.html" "$DIST/style.css"
# The files the service worker (sw.js) keeps for offline use: all of them at install but the
# in-module backend's, which it keeps when a page on that backend asks (`backends`).
(cd "$DIST" && find . -type f ! -name '*.br' ! -name '*.gz' ! -name 'sizes*.json' ! -name 'offline-files.json' | sed 's|^\./||' | sort |
    node -e 'const only=new Set(process.argv.slice(1));const f=require("fs").readFileSync(0,"utf8").trim().split("\n");
process.stdout.write(JSON.stringify({files:f.filter((x)=>!only.has(x)),backends:{"in-module":[...only]}})+"\n")' "${IN_MODULE[@]}" >offline-files.json)
# Precompressed copies: calstore serve --web-root (tower-http ServeDir) sends the .br or .gz
# file to a browser that accepts it, so the download is the brotli size above.
node wasm/tools/sizes.mjs --write-compressed "$DIST"
echo "build-web-demo: wrote $DIST"
