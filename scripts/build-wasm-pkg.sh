#!/usr/bin/env bash
# Builds the npm package calstore-wasm into wasm/pkg/ (nothing is downloaded: the tools come
# from scripts/setup-wasm.sh, which this runs first):
#
#   scripts/build-wasm-pkg.sh        # CARGO_TARGET_DIR is honoured (default: target/)
#
# 1. cargo build -p calstore-wasm for wasm32 with the size-optimised profile `wasm-release`
#    (Cargo.toml: opt-level "z", lto, one codegen unit, panic = abort);
# 2. wasm-bindgen --target web (ES module + .wasm, loaded with fetch or given bytes), without
#    the name and producers sections;
# 3. the persistence layer and the TypeScript types (wasm/js/), and a package.json;
# 4. the shipped sizes (raw, gzip -9, brotli -q 11) into wasm/pkg/sizes.json.
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
cp wasm/js/calstore.js wasm/js/calstore.d.ts "$PKG/"
cat >"$PKG/package.json" <<JSON
{
  "name": "calstore-wasm",
  "version": "$VERSION",
  "description": "calstore (imip-agent's calendar store and quota journal) over sql.js, with durable persistence in the browser",
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
    "./calstore_wasm_bg.wasm": "./calstore_wasm_bg.wasm"
  },
  "files": [
    "calstore.js",
    "calstore.d.ts",
    "calstore_wasm.js",
    "calstore_wasm.d.ts",
    "calstore_wasm_bg.wasm",
    "calstore_wasm_bg.wasm.d.ts"
  ],
  "sideEffects": false,
  "peerDependencies": {
    "sql.js": "1.16.0"
  }
}
JSON

echo "==> shipped sizes (wasm + JavaScript)"
node wasm/tools/sizes.mjs --json "$PKG/sizes.json" \
    "$PKG/calstore_wasm_bg.wasm" "$PKG/calstore_wasm.js" "$PKG/calstore.js"
echo "build-wasm-pkg: wrote $PKG"
