#!/usr/bin/env bash
# Builds the npm package calstore-wasm into wasm/pkg/ (nothing is downloaded: the tools come
# from scripts/setup-wasm.sh, which this runs first):
#
#   scripts/build-wasm-pkg.sh        # CARGO_TARGET_DIR is honoured (default: target/)
#
# The package has two entry points, one per browser backend:
#   "calstore-wasm"         calstore.js over calstore_wasm_bg.wasm (+ sql.js, a peer dependency)
#   "calstore-wasm/sqlite"  calstore-sqlite.js over calstore_sqlite_bg.wasm (SQLite inside)
#
# 1. cargo build -p calstore-wasm for wasm32 with the size-optimised profile `wasm-release`
#    (Cargo.toml: opt-level "z", lto, one codegen unit, panic = abort), then again with the
#    feature sqlite-wasm and the profile `wasm-release-sqlite` (the same, but SQLite's C at -O2);
# 2. wasm-bindgen --target web (ES module + .wasm, loaded with fetch or given bytes), without
#    the name and producers sections, for each;
# 3. the JavaScript entries and the TypeScript types (wasm/js/), and a package.json;
# 4. the shipped sizes (raw, gzip -9, brotli -q 11) into wasm/pkg/sizes.json (sql.js backend)
#    and wasm/pkg/sizes-sqlite.json (in-module backend).
#
# wasm-opt is not run: measured on this module, `wasm-opt -Oz` makes the raw file 7 % smaller
# but the brotli'd file 13 % larger (192 KB -> 217 KB), and what ships is compressed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=wasm32-unknown-unknown
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
PKG=$ROOT/wasm/pkg

die() {
    echo "build-wasm-pkg: error: $*" >&2
    exit 1
}

if [ -z "${CALSTORE_WASM_SETUP_DONE:-}" ]; then
    scripts/setup-wasm.sh >/dev/null || die "scripts/setup-wasm.sh failed (run it to see why)"
fi
# shellcheck source=/dev/null
. "$TARGET_DIR/wasm-env.sh"
command -v wasm-bindgen >/dev/null 2>&1 || die "wasm-bindgen not on PATH (scripts/setup-wasm.sh installs it)"

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$VERSION" ] || die "no workspace version in Cargo.toml"

echo "==> cargo build -p calstore-wasm --profile wasm-release ($WASM_CARGO)"
$WASM_CARGO build -p calstore-wasm --target "$TARGET" --profile wasm-release
WASM=$TARGET_DIR/$TARGET/wasm-release/calstore_wasm.wasm
[ -f "$WASM" ] || die "no $WASM after the build"

echo "==> wasm-bindgen --target web -> wasm/pkg/"
rm -rf "$PKG"
mkdir -p "$PKG"
wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$PKG" --out-name calstore_wasm "$WASM"

# The same crate with SQLite compiled in (CC/AR_wasm32_unknown_unknown come from wasm-env.sh).
echo "==> cargo build -p calstore-wasm --features sqlite-wasm --profile wasm-release-sqlite ($WASM_CARGO)"
$WASM_CARGO build -p calstore-wasm --target "$TARGET" --profile wasm-release-sqlite --features sqlite-wasm
WASM_SQLITE=$TARGET_DIR/$TARGET/wasm-release-sqlite/calstore_wasm.wasm
[ -f "$WASM_SQLITE" ] || die "no $WASM_SQLITE after the build"
echo "==> wasm-bindgen --target web -> wasm/pkg/calstore_sqlite*"
wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$PKG" --out-name calstore_sqlite "$WASM_SQLITE"

cp wasm/js/calstore.js wasm/js/calstore.d.ts wasm/js/calstore-sqlite.js wasm/js/calstore-sqlite.d.ts \
    wasm/js/calstore-sync.js wasm/js/calstore-sync.d.ts "$PKG/"
cat >"$PKG/package.json" <<JSON
{
  "name": "calstore-wasm",
  "version": "$VERSION",
  "description": "calstore (imip-agent's calendar store and quota journal) in the browser: over sql.js with durable persistence in IndexedDB, or over SQLite compiled into the module (calstore-wasm/sqlite), durable on OPFS",
  "license": "GPL-3.0-or-later",
  "type": "module",
  "main": "./calstore.js",
  "module": "./calstore.js",
  "types": "./calstore.d.ts",
  "exports": {
    ".": {
      "types": "./calstore.d.ts",
      "default": "./calstore.js"
    },
    "./sqlite": {
      "types": "./calstore-sqlite.d.ts",
      "default": "./calstore-sqlite.js"
    },
    "./sync": {
      "types": "./calstore-sync.d.ts",
      "default": "./calstore-sync.js"
    },
    "./calstore_wasm_bg.wasm": "./calstore_wasm_bg.wasm",
    "./calstore_sqlite_bg.wasm": "./calstore_sqlite_bg.wasm"
  },
  "files": [
    "calstore.js",
    "calstore.d.ts",
    "calstore_wasm.js",
    "calstore_wasm.d.ts",
    "calstore_wasm_bg.wasm",
    "calstore_wasm_bg.wasm.d.ts",
    "calstore-sqlite.js",
    "calstore-sqlite.d.ts",
    "calstore-sync.js",
    "calstore-sync.d.ts",
    "calstore_sqlite.js",
    "calstore_sqlite.d.ts",
    "calstore_sqlite_bg.wasm",
    "calstore_sqlite_bg.wasm.d.ts",
    "snippets/"
  ],
  "sideEffects": false,
  "peerDependencies": {
    "sql.js": "1.16.0"
  },
  "peerDependenciesMeta": {
    "sql.js": {
      "optional": true
    }
  }
}
JSON

# wasm-bindgen's snippets/ (inline JavaScript of the crate, imported by both glue files).
mapfile -t SNIPPETS < <(find "$PKG/snippets" -name '*.js' 2>/dev/null | sort)
echo "==> shipped sizes, sql.js backend (wasm + JavaScript; sql.js itself comes on top)"
node wasm/tools/sizes.mjs --json "$PKG/sizes.json" \
    "$PKG/calstore_wasm_bg.wasm" "$PKG/calstore_wasm.js" "$PKG/calstore.js" "${SNIPPETS[@]}"
echo "==> shipped sizes, in-module backend (wasm + JavaScript; SQLite included)"
node wasm/tools/sizes.mjs --json "$PKG/sizes-sqlite.json" \
    "$PKG/calstore_sqlite_bg.wasm" "$PKG/calstore_sqlite.js" "$PKG/calstore-sqlite.js" "${SNIPPETS[@]}"
echo "build-wasm-pkg: wrote $PKG"
