#!/usr/bin/env bash
# Real CalDAV clients against `calstore serve` on loopback (scripts/test.sh runs this):
#   1. python-caldav's own functional suite (tests/test_caldav.py of the pinned sdist), in
#      strict mode (no compatibility hints: every feature is expected to work), with three
#      accounts for its RFC 6638 scheduling tests;
#   2. a vdirsyncer + khal two-way sync (scripts/caldav/vdirsyncer-khal.sh).
# Pinned packages from PyPI into a venv under target/caldav-clients (made once). Prints a
# "N passed, N failed, N skipped" line per client and exits non-zero if a client fails
# beyond the known, listed failures (CALSTORE_CALDAV_ALLOWED_FAILURES, default below).
# Usage: scripts/caldav-clients.sh [sqlite|postgres] [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKEND=${1:-sqlite}
shift || true
WORK=$ROOT/target/caldav-clients
VENV=$WORK/venv
SDIST=$WORK/sdist
mkdir -p "$WORK"
if [[ ! -x $VENV/bin/python ]] || ! cmp -s scripts/caldav/requirements.txt "$WORK/requirements.installed"; then
    if ! python3 -m venv "$VENV"; then
        # Debian's python3 needs its venv module as a package of its own (a fresh machine
        # has no package lists yet: update first).
        rm -rf "$VENV"
        apt-get update -q >/dev/null
        apt-get install -y -q python3-venv >/dev/null
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q -r scripts/caldav/requirements.txt
    cp scripts/caldav/requirements.txt "$WORK/requirements.installed"
fi
CALDAV_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("caldav"))')
if [[ ! -f $SDIST/caldav-$CALDAV_VERSION/tests/test_caldav.py ]]; then
    rm -rf "$SDIST"
    mkdir -p "$SDIST"
    "$VENV/bin/pip" download -q --no-deps --no-binary :all: "caldav==$CALDAV_VERSION" -d "$SDIST"
    tar xzf "$SDIST/caldav-$CALDAV_VERSION.tar.gz" -C "$SDIST"
fi
cargo build -q -p calstore-cli
BIN=$ROOT/target/debug/calstore
RUN=$(mktemp -d "${TMPDIR:-/tmp}/calstore-caldav.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [[ -n ${PG_SCHEMA:-} ]]; then
        psql "$CALSTORE_TEST_PG_URL" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    rm -rf "$RUN"
}
trap cleanup EXIT
case $BACKEND in
    sqlite) DB=sqlite:$RUN/cal.db ;;
    postgres)
        : "${CALSTORE_TEST_PG_URL:?set CALSTORE_TEST_PG_URL for the PostgreSQL run}"
        PG_SCHEMA=caldav_clients_$$_$RANDOM
        SEP='?'; [[ $CALSTORE_TEST_PG_URL == *\?* ]] && SEP='&'
        DB="$CALSTORE_TEST_PG_URL${SEP}options=-csearch_path%3D$PG_SCHEMA"
        psql "$CALSTORE_TEST_PG_URL" -qc "CREATE SCHEMA $PG_SCHEMA" >/dev/null
        export CALSTORE_PSEUDONYM_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
for u in 1 2 3; do
    echo "testpass$u" | "$BIN" --db "$DB" account add --login "user$u" --email "user$u@example.com" \
        --password-stdin >/dev/null
done
"$BIN" --db "$DB" serve --listen 127.0.0.1:0 --rate 1000000 >"$RUN/out" 2>"$RUN/log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$RUN/out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$RUN/out")
[[ -n $URL ]] || { echo "calstore serve did not start" >&2; cat "$RUN/log" >&2; exit 1; }
echo "calstore serve ($BACKEND) at $URL"
export CALSTORE_URL=$URL RUN

status=0
# 1. python-caldav's functional suite, strict mode.
cat >"$RUN/caldav_test_servers.yaml" <<YAML
test-servers:
  radicale: {type: embedded, enabled: false}
  xandikos: {type: embedded, enabled: false}
  calstore:
    type: external
    enabled: true
    url: $URL/dav/
    username: user1@example.com
    password: testpass1
    # Strict: nothing is declared unsupported or broken. Declaring full scheduling support
    # (rather than no hints at all) makes the suite run its RFC 6638 cases, which it skips
    # for a server without any feature information.
    features: {scheduling: {support: full}}
    scheduling_users:
      - {url: $URL/dav/, username: user1@example.com, password: testpass1}
      - {url: $URL/dav/, username: user2@example.com, password: testpass2}
      - {url: $URL/dav/, username: user3@example.com, password: testpass3}
YAML
cp "$RUN/caldav_test_servers.yaml" "$SDIST/caldav-$CALDAV_VERSION/tests/caldav_test_servers.yaml"
(
    cd "$SDIST/caldav-$CALDAV_VERSION"
    PYTHON_CALDAV_TEST_DOCKER=0 "$VENV/bin/python" -m pytest tests/test_caldav.py -q -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function \
        -rfs "$@" >"$RUN/pytest.txt" 2>&1 || true
)
tail -n 80 "$RUN/pytest.txt"
cp "$RUN/pytest.txt" "$WORK/pytest-$BACKEND.txt"
summary=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed).* =+$' "$RUN/pytest.txt" | tail -1)
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
errors=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
echo "python-caldav ($BACKEND): $passed passed, $((failed + errors)) failed, $skipped skipped"
# Known failures, each for a reason that is not a calstore bug to fix here (see
# docs/caldav.md): two cases need python-caldav's embedded Xandikos/Radicale configured,
# testPrincipals calls a method the library itself deprecates (its DeprecationWarning is an
# error under the suite's settings, on any server), and testCopyEvent puts the same UID in
# two collections of one account, which calstore refuses (decision 0013).
KNOWN='TestGetDAVClient::testAutoEmbeddedServer
TestGetCalendarsConfig::test_multi_server_meta_section
::testPrincipals
::testCopyEvent'
unexpected=$(grep -E '^(FAILED|ERROR) ' "$RUN/pytest.txt" | grep -vF "$KNOWN" || true)
if [[ -n $unexpected ]]; then
    echo "python-caldav: unexpected failures:" >&2
    echo "$unexpected" >&2
    status=1
fi

# 2. vdirsyncer + khal.
if ! scripts/caldav/vdirsyncer-khal.sh "$VENV" "$URL" "$RUN"; then status=1; fi
exit $status
