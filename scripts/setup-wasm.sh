#!/usr/bin/env bash
# Installs what the WebAssembly build and tests need, and writes the environment they use.
#
#   scripts/setup-wasm.sh        # idempotent; a second run only checks (about a second)
#
# 1. a Rust toolchain that can build wasm32-unknown-unknown:
#    - `rustup target add wasm32-unknown-unknown` on the default toolchain, or, when that fails
#      (or CALSTORE_FORCE_WASM_FALLBACK=1),
#    - Debian's rustc-web with a wasm32 std built once with -Zbuild-std into Debian's sysroot,
#      linked as the rustup toolchain `web` (rebuilt when rustc-web changes version);
# 2. clang (22, else 19; Debian's default 14 cannot) and llvm-ar from Debian, which compile
#    SQLite's C into the module for the in-module backend (calstore-wasm feature sqlite-wasm);
# 3. wasm-bindgen-cli at exactly the version the wasm-bindgen crate is pinned to
#    (it provides wasm-bindgen-test-runner, the cargo runner for wasm32);
# 4. from the npm registry into wasm/node_modules (`npm ci`, pinned by package-lock.json): sql.js,
#    playwright-core (drives the system Chromium; it downloads no browser) and typescript;
# 5. Chromium and chromedriver from Debian (same version, one apt command).
#
# Then it writes $CARGO_TARGET_DIR/wasm-env.sh (default target/wasm-env.sh) for scripts/test-wasm.sh
# to source: WASM_CARGO (the cargo command to use), the runner, chromedriver, test timeouts and
# CC/AR for wasm32 (CC_wasm32_unknown_unknown, AR_wasm32_unknown_unknown).
# Every step says whether it installed something or skipped; anything missing is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WBG_VERSION=0.2.130 # keep equal to the `wasm-bindgen = "=..."` pin in Cargo.toml
TARGET=wasm32-unknown-unknown
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
ENV_FILE=$TARGET_DIR/wasm-env.sh
export DEBIAN_FRONTEND=noninteractive

die() {
    echo "setup-wasm: error: $*" >&2
    exit 1
}
now() { date +%s.%N; }
T_START=$(now)
T_STEP=$T_START
step() {
    printf '\n--> %s\n' "$*"
    T_STEP=$(now)
}
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
done_step() { printf '    %s (%s s)\n' "$*" "$(since "$T_STEP")"; }

if ! grep -q "wasm-bindgen = \"=$WBG_VERSION\"" Cargo.toml; then
    die "Cargo.toml does not pin wasm-bindgen = \"=$WBG_VERSION\"; update WBG_VERSION here and the pin together"
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot run apt-get"
    SUDO=sudo
fi
APT_UPDATED=
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -q
        APT_UPDATED=1
    fi
    $SUDO apt-get install -y -q --no-install-recommends "$@"
}
deb_installed() { # all given Debian packages installed?
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
    done
}
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# --- 1. Chromium + chromedriver -----------------------------------------------------------
step "Chromium and chromedriver (Debian)"
chrome_ok() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || return 1
    # Same version, or chromedriver refuses to start a session.
    if command -v dpkg-query >/dev/null 2>&1 && deb_installed chromium chromium-driver; then
        [ "$(deb_version chromium)" = "$(deb_version chromium-driver)" ] || return 1
    fi
}
if chrome_ok; then
    done_step "skipped: $(chromium --version 2>/dev/null | head -1) and $(chromedriver --version | cut -d' ' -f1-2) already installed"
else
    apt_install chromium chromium-driver
    chrome_ok || die "chromium/chromedriver still missing or at different versions after apt-get install"
    done_step "installed $(deb_version chromium)"
fi
CHROMEDRIVER_BIN=$(command -v chromedriver)
CHROMIUM_BIN=$(command -v chromium)

# --- 2. a Rust toolchain for wasm32 -------------------------------------------------------
step "Rust toolchain for $TARGET"
command -v rustup >/dev/null 2>&1 || die "rustup not found (the wasm toolchains are managed as rustup toolchains)"
WASM_CARGO=
if [ "${CALSTORE_FORCE_WASM_FALLBACK:-}" = 1 ]; then
    echo "    CALSTORE_FORCE_WASM_FALLBACK=1: not trying rustup's target"
elif rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    WASM_CARGO=cargo
    done_step "skipped: rustup target $TARGET already installed on $(rustup show active-toolchain | cut -d' ' -f1)"
elif rustup target add "$TARGET"; then
    WASM_CARGO=cargo
    done_step "installed rustup target $TARGET"
else
    echo "    rustup target add $TARGET failed: falling back to Debian's rustc-web"
fi

if [ -z "$WASM_CARGO" ]; then
    WEB_PKGS=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
    if deb_installed "${WEB_PKGS[@]}"; then
        echo "    skipped: ${WEB_PKGS[*]} already installed ($(deb_version rustc-web))"
    else
        # lld-22 is needed: rust-web-llvm's /usr/bin/rust-lld is a symlink to it.
        apt_install "${WEB_PKGS[@]}"
    fi
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || die "/usr/bin/rustc or /usr/bin/cargo missing after installing rustc-web"
    RUSTC_V=$(/usr/bin/rustc -V)
    SYSLIB=/usr/lib/rustlib/$TARGET/lib
    if [ "$(cat "$SYSLIB/.built-by" 2>/dev/null || true)" = "$RUSTC_V" ]; then
        echo "    skipped: $TARGET std already built for $RUSTC_V"
    else
        echo "    building the $TARGET std with -Zbuild-std for $RUSTC_V (1-2 min)"
        T_STD=$(now)
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        mkdir -p "$tmp/src"
        echo '#![no_std]' >"$tmp/src/lib.rs"
        printf '[package]\nname = "stdbuild"\nversion = "0.0.0"\nedition = "2021"\n[profile.release]\ndebug = 0\n' >"$tmp/Cargo.toml"
        # test: linked into test binaries; embed-bitcode: so that profiles with lto = true link.
        (cd "$tmp" && env -u CARGO_TARGET_DIR -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
            RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes \
            /usr/bin/cargo build -q --release --target "$TARGET" \
            -Zbuild-std=std,panic_abort,panic_unwind,test,proc_macro)
        $SUDO rm -rf "$SYSLIB"
        $SUDO mkdir -p "$SYSLIB"
        $SUDO cp "$tmp"/target/$TARGET/release/deps/*.rlib "$SYSLIB/"
        $SUDO rm -f "$SYSLIB"/libstdbuild-*.rlib
        echo "$RUSTC_V" | $SUDO tee "$SYSLIB/.built-by" >/dev/null
        rm -rf "$tmp"
        trap - EXIT
        printf '    built std: %s rlibs in %s s\n' "$(find "$SYSLIB" -name '*.rlib' | wc -l)" "$(since "$T_STD")"
    fi
    if rustup toolchain list | grep -Eq '^web( |$)'; then
        echo "    skipped: rustup toolchain 'web' already linked"
    else
        rustup toolchain link web /usr
    fi
    WASM_CARGO="cargo +web"
    done_step "using Debian's $RUSTC_V as rustup toolchain 'web'"
fi
$WASM_CARGO --version >/dev/null || die "'$WASM_CARGO' does not run"

# --- 2b. a C compiler for wasm32 (SQLite inside the module) -------------------------------
# The in-module backend (cargo feature `sqlite-wasm`) links rusqlite over sqlite-wasm-rs, whose
# build script compiles SQLite's C to wasm32 with cc. Debian 12's default clang (14) cannot;
# clang 19 and 22 can. cc reads CC_/AR_wasm32_unknown_unknown (written to wasm-env.sh below).
# CALSTORE_WASM_CLANG_VERSIONS overrides the versions tried, in order of preference.
step "clang for $TARGET (SQLite compiled into the module)"
CLANG_VERSIONS=${CALSTORE_WASM_CLANG_VERSIONS:-"22 19"}
clang_works() { # version: clang-N and llvm-ar-N compile and archive a C file for wasm32
    local v=$1 dir ok=1
    command -v "clang-$v" >/dev/null 2>&1 && command -v "llvm-ar-$v" >/dev/null 2>&1 || return 1
    dir=$(mktemp -d)
    printf '#include <stdint.h>\nint64_t twice(int64_t x) { return x * 2; }\n' >"$dir/t.c"
    "clang-$v" --target="$TARGET" -O2 -ffreestanding -c "$dir/t.c" -o "$dir/t.o" 2>"$dir/err" &&
        "llvm-ar-$v" rcs "$dir/t.a" "$dir/t.o" 2>>"$dir/err" || ok=0
    [ "$ok" = 1 ] || sed 's/^/    /' "$dir/err" >&2
    rm -rf "$dir"
    [ "$ok" = 1 ]
}
WASM_CLANG_V=
for v in $CLANG_VERSIONS; do
    if clang_works "$v"; then
        WASM_CLANG_V=$v
        break
    fi
done
if [ -n "$WASM_CLANG_V" ]; then
    done_step "skipped: clang-$WASM_CLANG_V and llvm-ar-$WASM_CLANG_V already installed and build for $TARGET"
else
    command -v apt-get >/dev/null 2>&1 || die "no clang-{${CLANG_VERSIONS// /,}} and no apt-get: install one by hand"
    # The newest version the archive offers (apt-get update first: candidates come from the lists).
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -q
        APT_UPDATED=1
    fi
    for v in $CLANG_VERSIONS; do
        # (not `| grep -q`: with pipefail, grep quitting early fails the pipeline)
        policy=$(apt-cache policy "clang-$v" 2>/dev/null || true)
        if grep -q 'Candidate: [0-9]' <<<"$policy"; then
            # llvm-N provides llvm-ar-N; no lld is needed (Rust links with its own rust-lld).
            apt_install "clang-$v" "llvm-$v"
            clang_works "$v" || die "clang-$v installed but does not build for $TARGET"
            WASM_CLANG_V=$v
            break
        fi
    done
    [ -n "$WASM_CLANG_V" ] || die "apt offers none of clang-{${CLANG_VERSIONS// /,}} (apt-cache policy clang-22 clang-19)"
    done_step "installed clang-$WASM_CLANG_V $(deb_version "clang-$WASM_CLANG_V")"
fi
WASM_CC=$(command -v "clang-$WASM_CLANG_V")
WASM_AR=$(command -v "llvm-ar-$WASM_CLANG_V")
SQLITE_WASM_RS_FLAGS="-USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_SESSION \
-USQLITE_ENABLE_PREUPDATE_HOOK -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_DBPAGE_VTAB \
-USQLITE_ENABLE_BYTECODE_VTAB -USQLITE_ENABLE_STMTVTAB"

# --- 3. wasm-bindgen-cli -----------------------------------------------------------------
step "wasm-bindgen-cli $WBG_VERSION"
wbg_ok() {
    command -v wasm-bindgen-test-runner >/dev/null 2>&1 &&
        [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WBG_VERSION" ]
}
if wbg_ok; then
    done_step "skipped: $(wasm-bindgen --version) already installed"
else
    echo "    cargo install wasm-bindgen-cli (about 7 min on 2 cores)"
    # No --locked: the CLI's lockfile pins crates the registry mirror lacks. Build in a temporary
    # target directory, not the workspace's.
    env -u CARGO_TARGET_DIR -u RUSTUP_TOOLCHAIN cargo install --no-default-features wasm-bindgen-cli \
        --version "=$WBG_VERSION"
    hash -r
    wbg_ok || die "wasm-bindgen $WBG_VERSION / wasm-bindgen-test-runner not on PATH after cargo install (is ~/.cargo/bin on PATH?)"
    done_step "installed $(wasm-bindgen --version)"
fi
RUNNER=$(command -v wasm-bindgen-test-runner)

# --- 4. JavaScript packages --------------------------------------------------------------
step "npm packages (wasm/package-lock.json: sql.js, playwright-core, typescript)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
# Every package the lockfile pins is installed at its pinned version.
npm_ok() {
    (cd wasm && node -e '
        const fs = require("fs");
        const lock = require("./package-lock.json").packages;
        for (const [where, meta] of Object.entries(lock)) {
            if (!where.startsWith("node_modules/") || meta.optional) continue;
            const file = "./" + where + "/package.json";
            if (!fs.existsSync(file) || require(file).version !== meta.version) process.exit(1);
        }' 2>/dev/null) &&
        [ -f wasm/node_modules/sql.js/dist/sql-wasm-browser.js ] &&
        [ -f wasm/node_modules/sql.js/dist/sql-wasm-browser.wasm ]
}
npm_versions() {
    (cd wasm && node -p '["sql.js", "playwright-core", "typescript"].map((p) => p + " " + require("./node_modules/" + p + "/package.json").version).join(", ")')
}
if npm_ok; then
    done_step "skipped: $(npm_versions) already in wasm/node_modules"
else
    # playwright-core has no install script: it never downloads a browser (the tests use
    # Debian's Chromium, step 1).
    (cd wasm && npm ci --no-audit --no-fund)
    npm_ok || die "wasm/node_modules does not match wasm/package-lock.json after npm ci"
    done_step "installed $(npm_versions)"
fi

# --- 5. the environment for scripts/test-wasm.sh -------------------------------------------
mkdir -p "$TARGET_DIR"
cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/setup-wasm.sh; sourced by scripts/test-wasm.sh.
# The cargo command that builds $TARGET (rustup's default toolchain, or Debian's rustc-web as 'web').
WASM_CARGO="$WASM_CARGO"
# cargo runs wasm32 test binaries through wasm-bindgen-test-runner (node by default,
# headless Chromium with WASM_BINDGEN_USE_BROWSER=1).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$RUNNER"
export CHROMEDRIVER="$CHROMEDRIVER_BIN"
CHROMIUM="$CHROMIUM_BIN"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/wasm/webdriver.json"
# The C compiler and archiver cc uses for $TARGET: SQLite's C in the in-module backend
# (calstore-wasm's feature sqlite-wasm, through rusqlite and sqlite-wasm-rs).
export CC_wasm32_unknown_unknown="$WASM_CC"
export AR_wasm32_unknown_unknown="$WASM_AR"
# SQLite features calstore does not use, left out of the in-module build (about 90 KB of
# brotli'd wasm): FTS5, R*Tree, the session extension and the introspection virtual tables.
# Only SQL-level features and an unused C API; the conformance suite runs on this build.
export SQLITE_WASM_RS_FLAGS="$SQLITE_WASM_RS_FLAGS"
# A shared 2-core machine needs more than the default 20 s per test / 5 s for the driver.
export WASM_BINDGEN_TEST_TIMEOUT=\${WASM_BINDGEN_TEST_TIMEOUT:-120}
export WASM_BINDGEN_TEST_DRIVER_TIMEOUT=\${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-30}
EOF
mv "$ENV_FILE.tmp" "$ENV_FILE"

printf '\nsetup-wasm: ready in %s s; wrote %s\n' "$(since "$T_START")" "$ENV_FILE"
echo "$WASM_CARGO"
