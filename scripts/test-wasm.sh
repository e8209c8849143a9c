#!/usr/bin/env bash
# The WebAssembly checks: installs what they need (scripts/setup-wasm.sh), lints the wasm crate
# for wasm32 (with and without the feature sqlite-wasm), then
#   1. runs calstore-wasm's Rust tests (the conformance suite, the suite again through the
#      write-ahead log with a replay check, and the adapter's own cases) on sql.js in Node and
#      in headless Chromium;
#   2. runs the conformance suite on the in-module backend (feature sqlite-wasm: SQLite in the
#      module, calstore-native's SqliteConnection): in memory in Node and in a Chromium page,
#      and on OPFS files (sahpool VFS, WAL) in a Chromium dedicated Worker;
#   3. builds the npm package (scripts/build-wasm-pkg.sh, which prints the shipped sizes of
#      both backends), type-checks the .d.ts files, and runs the JavaScript API tests in Node
#      (including the two backends against each other);
#   4. runs the browser-only persistence tests (reload, large import, second-tab lock; for the
#      in-module backend on OPFS: reload in a Worker, second tab) and prints the durable-commit
#      measurement (wasm/browser-tests/run.mjs);
#   5. builds the web calendar (scripts/build-web-demo.sh) and the calstore binary, and uses it
#      in Chromium as people would against a real `calstore serve --web-root` on loopback
#      (wasm/browser-tests/calendar.mjs: offline, reload, sync, invitations, counter-proposals,
#      a room's decision, a conflict, two tabs; the core steps again on the in-module backend),
#      with screenshots in $CARGO_TARGET_DIR/web-calendar-screenshots/;
#   6. a smoke run of the browser benchmark's harness (scripts/bench-wasm.sh --smoke, about
#      20 s; the figures come from scripts/bench-wasm.sh).
#
#   scripts/test-wasm.sh            # CARGO_TARGET_DIR is honoured (default: target/)
#   CALSTORE_BENCH_SIZES=1,10 scripts/test-wasm.sh     # database sizes (MB) measured in 3.
#
# Fails if anything is missing or if a run reports no passed tests: nothing is skipped quietly.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=wasm32-unknown-unknown
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac

step() { printf '\n==> wasm: %s\n' "$*"; }
die() {
    echo "test-wasm: error: $*" >&2
    exit 1
}

step "setup (scripts/setup-wasm.sh)"
scripts/setup-wasm.sh
export CALSTORE_WASM_SETUP_DONE=1
# shellcheck source=/dev/null
. "$TARGET_DIR/wasm-env.sh"
[ -n "${WASM_CARGO:-}" ] || die "$TARGET_DIR/wasm-env.sh did not set WASM_CARGO"
[ -x "$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER" ] || die "no wasm-bindgen-test-runner at $CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER"
[ -x "$CHROMEDRIVER" ] || die "no chromedriver at $CHROMEDRIVER"
# The runner silently falls back to default capabilities when it cannot read this file.
[ -r "$WASM_BINDGEN_TEST_WEBDRIVER_JSON" ] || die "no $WASM_BINDGEN_TEST_WEBDRIVER_JSON"

step "clippy for $TARGET ($WASM_CARGO)"
if $WASM_CARGO clippy --version >/dev/null 2>&1; then
    $WASM_CARGO clippy -p calstore-wasm --target "$TARGET" --all-targets -- -D warnings
    $WASM_CARGO clippy -p calstore-wasm --target "$TARGET" --all-targets --features sqlite-wasm -- -D warnings
else
    # Debian's rustc-web ships no clippy; the native clippy step still lints everything that is
    # not wasm32-only, and the builds below fail on errors.
    echo "NOTE: '$WASM_CARGO' has no clippy: the wasm32-only code is NOT linted in this run" >&2
fi

# Runs one test target and checks that it passed a non-zero number of tests.
# FEATURES: extra cargo arguments (the in-module backend's tests need --features sqlite-wasm).
PASSED=
FEATURES=
run_tests() { # name, extra env...
    local name=$1 log
    shift
    log=$(mktemp)
    # shellcheck disable=SC2086 # FEATURES is a word list
    if ! (cd wasm && env "$@" $WASM_CARGO test -p calstore-wasm --target "$TARGET" $FEATURES --test "$name") 2>&1 | tee "$log"; then
        rm -f "$log"
        die "the $name tests failed"
    fi
    PASSED=$(sed -n 's/^test result: ok\. \([0-9]*\) passed; 0 failed.*/\1/p' "$log" | tail -1)
    rm -f "$log"
    [ -n "$PASSED" ] && [ "$PASSED" -gt 0 ] || die "the $name run reported no passed tests"
}

step "tests on sql.js in Node (wasm/tests/node.rs)"
T0=$(date +%s)
run_tests node WASM_BINDGEN_TEST_ONLY_NODE=1
NODE_PASSED=$PASSED
NODE_SECS=$(($(date +%s) - T0))

step "tests on sql.js in headless Chromium (wasm/tests/web.rs)"
T0=$(date +%s)
run_tests web WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_ONLY_WEB=1
WEB_PASSED=$PASSED
WEB_SECS=$(($(date +%s) - T0))

[ "$NODE_PASSED" = "$WEB_PASSED" ] ||
    die "Node passed $NODE_PASSED tests but Chromium $WEB_PASSED: both run the same list"

FEATURES="--features sqlite-wasm"
step "tests on the in-module backend (SQLite in the module), in memory, in Node (wasm/tests/sqlite_node.rs)"
T0=$(date +%s)
run_tests sqlite_node WASM_BINDGEN_TEST_ONLY_NODE=1
SQLITE_NODE_PASSED=$PASSED
SQLITE_NODE_SECS=$(($(date +%s) - T0))

step "tests on the in-module backend, in memory, in a headless Chromium page (wasm/tests/sqlite_web.rs)"
T0=$(date +%s)
run_tests sqlite_web WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_ONLY_WEB=1
SQLITE_WEB_PASSED=$PASSED
SQLITE_WEB_SECS=$(($(date +%s) - T0))

step "tests on the in-module backend on OPFS, in a headless Chromium dedicated Worker (wasm/tests/sqlite_worker.rs)"
T0=$(date +%s)
run_tests sqlite_worker WASM_BINDGEN_USE_BROWSER=1
SQLITE_WORKER_PASSED=$PASSED
SQLITE_WORKER_SECS=$(($(date +%s) - T0))
FEATURES=

[ "$SQLITE_NODE_PASSED" = "$SQLITE_WEB_PASSED" ] ||
    die "in-module: Node passed $SQLITE_NODE_PASSED tests but the Chromium page $SQLITE_WEB_PASSED: both run the same list"

# Runs a command whose last line must read "<word>: N passed, 0 failed" with N > 0.
JS_PASSED=
run_counted() { # label, command...
    local label=$1 log
    shift
    log=$(mktemp)
    if ! "$@" 2>&1 | tee "$log"; then
        rm -f "$log"
        die "$label failed"
    fi
    JS_PASSED=$(sed -n 's/^[a-z]*: \([0-9]*\) passed, 0 failed$/\1/p' "$log" | tail -1)
    rm -f "$log"
    [ -n "$JS_PASSED" ] && [ "$JS_PASSED" -gt 0 ] || die "$label reported no passed tests"
}

step "npm package calstore-wasm (scripts/build-wasm-pkg.sh)"
scripts/build-wasm-pkg.sh

step "TypeScript: calstore.d.ts, calstore-sqlite.d.ts and calstore-sync.d.ts against typical use (tsc -p wasm/js)"
wasm/node_modules/.bin/tsc -p wasm/js

step "JavaScript API in Node (node --test wasm/tests/js/)"
log=$(mktemp)
if ! node --test wasm/tests/js/ 2>&1 | tee "$log"; then
    rm -f "$log"
    die "the JavaScript API tests failed"
fi
API_PASSED=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
API_FAILED=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1)
rm -f "$log"
[ -n "$API_PASSED" ] && [ "$API_PASSED" -gt 0 ] && [ "$API_FAILED" = 0 ] ||
    die "the JavaScript API tests reported no passed tests"

step "browser-only tests and the durable-commit measurement (wasm/browser-tests/run.mjs)"
run_counted "the browser tests" node wasm/browser-tests/run.mjs --sizes "${CALSTORE_BENCH_SIZES:-1,10,50}" \
    --json "$TARGET_DIR/durable-commits.json"
BROWSER_PASSED=$JS_PASSED

step "web calendar (scripts/build-web-demo.sh) against calstore serve in Chromium (wasm/browser-tests/calendar.mjs)"
scripts/build-web-demo.sh
cargo build -p calstore-cli
rm -rf "$TARGET_DIR/web-calendar-screenshots"
run_counted "the web calendar scenarios" node wasm/browser-tests/calendar.mjs --calstore "$TARGET_DIR/debug/calstore" \
    --screenshots "$TARGET_DIR/web-calendar-screenshots"
DEMO_PASSED=$JS_PASSED

step "browser benchmark harness, smoke run (scripts/bench-wasm.sh --smoke)"
scripts/bench-wasm.sh --smoke

printf '\nwasm: Rust tests on sql.js: Node %s passed (%s s), Chromium %s passed (%s s); on the in-module backend: Node %s passed (%s s), Chromium page %s passed (%s s), Chromium worker on OPFS %s passed (%s s); JavaScript API %s passed; browser %s passed; web calendar %s passed\n' \
    "$NODE_PASSED" "$NODE_SECS" "$WEB_PASSED" "$WEB_SECS" \
    "$SQLITE_NODE_PASSED" "$SQLITE_NODE_SECS" "$SQLITE_WEB_PASSED" "$SQLITE_WEB_SECS" "$SQLITE_WORKER_PASSED" "$SQLITE_WORKER_SECS" \
    "$API_PASSED" "$BROWSER_PASSED" "$DEMO_PASSED"
