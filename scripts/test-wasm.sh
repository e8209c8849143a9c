#!/usr/bin/env bash
# The WebAssembly checks: installs what they need (scripts/setup-wasm.sh), lints the wasm crate
# for wasm32, then runs calstore-wasm's tests (the conformance suite and the sql.js adapter's
# own cases) on sql.js in Node and in headless Chromium.
#
#   scripts/test-wasm.sh            # CARGO_TARGET_DIR is honoured (default: target/)
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
else
    # Debian's rustc-web ships no clippy; the native clippy step still lints everything that is
    # not wasm32-only, and the builds below fail on errors.
    echo "NOTE: '$WASM_CARGO' has no clippy: the wasm32-only code is NOT linted in this run" >&2
fi

# Runs one test target and checks that it passed a non-zero number of tests.
PASSED=
run_tests() { # name, extra env...
    local name=$1 log
    shift
    log=$(mktemp)
    if ! (cd wasm && env "$@" $WASM_CARGO test -p calstore-wasm --target "$TARGET" --test "$name") 2>&1 | tee "$log"; then
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
printf '\nwasm: Node %s passed (%s s), Chromium %s passed (%s s)\n' \
    "$NODE_PASSED" "$NODE_SECS" "$WEB_PASSED" "$WEB_SECS"
