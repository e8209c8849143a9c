#!/usr/bin/env bash
# Runs every calstore check and test, installing what it needs first.
# This is the README's test command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust (https://rustup.rs) first" >&2
    exit 1
fi
cargo --version
for comp in rustfmt clippy; do
    if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$comp"
    fi
done

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The adapters library builds with any subset of backends, none included.
RUSTFLAGS="-D warnings" cargo check -p calstore-native --no-default-features
RUSTFLAGS="-D warnings" cargo check -p calstore-native --no-default-features --features sqlite

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "postgres test cluster"
# The suite runs on PostgreSQL too (--all-features turns on calstore-tests/postgres). A server
# named by CALSTORE_TEST_PG_URL is used as it is; otherwise a throwaway cluster is started
# here (installing the server package if needed) and stopped when this script exits.
if [[ -z ${CALSTORE_TEST_PG_URL:-} ]]; then
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/calstore-pg.XXXXXX")
    trap 'scripts/pg-test-cluster.sh stop "$PG_DIR" || true' EXIT
    PG_URL_LINE=$(scripts/pg-test-cluster.sh start "$PG_DIR")
    export "${PG_URL_LINE?}"
fi
echo "CALSTORE_TEST_PG_URL=$CALSTORE_TEST_PG_URL"

step "tests"
cargo test --workspace --all-targets --all-features
cargo test --workspace --all-features --doc

step "CalDAV clients: python-caldav's functional suite and a vdirsyncer + khal sync against calstore serve (scripts/caldav-clients.sh)"
# Pinned PyPI packages in target/caldav-clients/venv (made the first time, ~1 min); about a
# minute per backend afterwards.
scripts/caldav-clients.sh sqlite
scripts/caldav-clients.sh postgres

step "WebAssembly: the suite on sql.js in Node and headless Chromium (scripts/test-wasm.sh)"
# Installs what it needs (wasm32 target or Debian's rustc-web, wasm-bindgen-cli, sql.js,
# Chromium + chromedriver) and fails if any of it is missing or no test ran.
scripts/test-wasm.sh

step "benchmark (quick run: 5 000 events; the full run is cargo bench -p calstore-tests --bench store)"
cargo bench -p calstore-tests --bench store -- --quick

step "CalDAV benchmark (quick run: 1 000 events, 200 for Radicale and Xandikos; the full run is cargo bench -p calstore-cli --bench caldav)"
cargo bench -p calstore-cli --bench caldav -- --events 1000 --peer-events 200 --seconds 3

step "PostgreSQL benchmark (quick run on the test cluster; the full run is cargo bench -p calstore-tests --features postgres --bench postgres)"
cargo bench -p calstore-tests --features postgres --bench postgres -- --quick
