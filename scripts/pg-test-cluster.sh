#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the conformance suite.
#
#   scripts/pg-test-cluster.sh start DIR   creates (or reuses) a cluster in DIR, starts it and
#                                          prints CALSTORE_TEST_PG_URL=... on stdout (the only
#                                          line on stdout; progress goes to stderr)
#   scripts/pg-test-cluster.sh stop DIR    stops it (fast shutdown) and removes DIR
#   scripts/pg-test-cluster.sh status DIR  prints the URL if the cluster runs, exits 1 if not
#   scripts/pg-test-cluster.sh restart DIR fast|immediate
#                                          restarts the server on the same port: `fast` is a clean
#                                          shutdown, `immediate` a crash (no checkpoint; UNLOGGED
#                                          tables are emptied by the recovery)
#
# The server listens on 127.0.0.1 on a free port from 54329 on (and on a unix socket in DIR),
# trusts every local connection, and runs with fsync off: it is for tests only. Without server
# binaries it installs Debian's postgresql-15 (or postgresql) when running as root. initdb
# refuses to run as root, so as root the cluster belongs to the `postgres` user (created by the
# Debian package; a `calstore-pg` system user is created if it does not exist).
#
# Typical use:
#   export "$(scripts/pg-test-cluster.sh start /tmp/calstore-pg)"
#   cargo test -p calstore-tests --features postgres --test postgres
#   scripts/pg-test-cluster.sh stop /tmp/calstore-pg
set -euo pipefail

MARKER=.calstore-pg-test-cluster
DB=calstore_test
FIRST_PORT=${CALSTORE_PG_FIRST_PORT:-54329}
PORT_TRIES=100

log() { printf 'pg-test-cluster: %s\n' "$*" >&2; }
die() {
    printf 'pg-test-cluster: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|stop|status DIR, or $0 restart DIR fast|immediate" >&2
    exit 2
}

# The directory holding initdb, pg_ctl and postgres.
find_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] || die "PG_BINDIR=$PG_BINDIR has no initdb"
        echo "$PG_BINDIR"
        return
    fi
    local d
    # Highest installed Debian version first.
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -rn); do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            echo "$d"
            return
        fi
    done
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir)
        if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
            echo "$d"
            return
        fi
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    return 1
}

install_server() {
    [[ $(id -u) -eq 0 ]] \
        || die "no PostgreSQL server binaries (initdb, pg_ctl) found; install the server package (Debian: apt-get install postgresql-15) or set PG_BINDIR"
    command -v apt-get >/dev/null 2>&1 \
        || die "no PostgreSQL server binaries found and no apt-get to install them; set PG_BINDIR"
    log "installing the PostgreSQL server (apt-get)"
    apt-get update -qq >&2
    local pkg=postgresql policy
    # (Not `apt-cache ... | grep -q`: under pipefail, grep's early exit fails the pipeline.)
    policy=$(apt-cache policy postgresql-15 2>/dev/null || true)
    if [[ $policy == *"Candidate: "[0-9]* ]]; then
        pkg=postgresql-15
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2 \
        || die "apt-get install $pkg failed"
}

# The user that owns and runs the cluster: ourselves, or a non-root user when we are root.
cluster_user() {
    if [[ $(id -u) -ne 0 ]]; then
        id -un
        return
    fi
    if id postgres >/dev/null 2>&1; then
        echo postgres
        return
    fi
    if ! id calstore-pg >/dev/null 2>&1; then
        log "creating system user calstore-pg to run the cluster (initdb refuses root)"
        useradd --system --no-create-home --shell /usr/sbin/nologin calstore-pg >&2 \
            || die "could not create user calstore-pg"
    fi
    echo calstore-pg
}

# Runs a command as the cluster user.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    local port=$1
    # Something accepts connections there: taken.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    return 0
}

# The URL of a running cluster in $DIR, or nothing.
running_url() {
    [[ -f $DIR/port && -d $DIR/data ]] || return 1
    as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1 || return 1
    echo "CALSTORE_TEST_PG_URL=postgres://postgres@127.0.0.1:$(cat "$DIR/port")/$DB"
}

resolve_dir() {
    [[ -n ${1:-} ]] || usage
    mkdir -p "$1" || die "cannot create directory $1"
    DIR=$(cd "$1" && pwd -P)
}

cmd_start() {
    resolve_dir "$1"
    if [[ ! -f $DIR/$MARKER ]] && [[ -n $(ls -A "$DIR") ]]; then
        die "$DIR is not empty and was not made by this script; refusing to use it"
    fi
    touch "$DIR/$MARKER"

    if [[ -n ${PG_BINDIR:-} && ! -x ${PG_BINDIR}/initdb ]]; then
        die "PG_BINDIR=$PG_BINDIR has no initdb"
    fi
    BIN=$(find_bindir) || {
        install_server
        BIN=$(find_bindir) || die "the PostgreSQL server binaries are still missing after the install"
    }
    OWNER=$(cluster_user)
    log "server binaries: $BIN ($("$BIN/postgres" --version)); running as $OWNER"

    if [[ $(id -u) -eq 0 ]]; then
        chown -R "$OWNER" "$DIR"
        as_owner test -w "$DIR" \
            || die "$OWNER cannot write to $DIR (is a parent directory closed to other users?); use a directory under /tmp"
    fi

    if url=$(running_url); then
        log "already running in $DIR"
        echo "$url"
        return
    fi

    if [[ ! -f $DIR/data/PG_VERSION ]]; then
        rm -rf "$DIR/data"
        log "initdb in $DIR/data"
        as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C \
            --no-sync >"$DIR/initdb.log" 2>&1 \
            || die "initdb failed; see $DIR/initdb.log:
$(tail -n 20 "$DIR/initdb.log")"
    fi

    local port tries=0 started=false
    port=$FIRST_PORT
    while [[ $tries -lt $PORT_TRIES ]]; do
        if port_is_free "$port" && [[ ! -e $DIR/.s.PGSQL.$port ]]; then
            log "starting on 127.0.0.1:$port (socket in $DIR)"
            if as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
                -o "-p $port -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
                start >/dev/null 2>&1; then
                started=true
                break
            fi
            # Most likely the port was taken between the check and the start: try the next.
            if ! grep -qi 'address already in use\|could not bind\|could not create any TCP/IP' \
                "$DIR/server.log" 2>/dev/null; then
                die "the server did not start; see $DIR/server.log:
$(tail -n 20 "$DIR/server.log" 2>/dev/null)"
            fi
        fi
        port=$((port + 1))
        tries=$((tries + 1))
    done
    $started || die "no free port in $FIRST_PORT..$((FIRST_PORT + PORT_TRIES - 1))"
    echo "$port" >"$DIR/port"

    local i
    for i in $(seq 1 100); do
        if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
            break
        fi
        [[ $i -lt 100 ]] || die "the server on port $port is not ready after 10 s; see $DIR/server.log"
        sleep 0.1
    done

    local psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
    if [[ -z $("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
        "${psql[@]}" -d postgres -c "CREATE DATABASE $DB" >&2 \
            || die "could not create database $DB"
    fi
    log "ready"
    echo "CALSTORE_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/$DB"
}

cmd_stop() {
    [[ -n ${1:-} ]] || usage
    if [[ ! -e $1 ]]; then
        log "$1 does not exist; nothing to stop"
        return
    fi
    DIR=$(cd "$1" && pwd -P)
    [[ -f $DIR/$MARKER ]] || die "$DIR was not made by this script; refusing to touch it"
    if [[ -d $DIR/data ]]; then
        BIN=$(find_bindir) || die "no PostgreSQL server binaries found to stop the cluster"
        OWNER=$(stat -c %U "$DIR/data")
        if as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
            log "stopping the cluster in $DIR"
            as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null \
                || die "pg_ctl stop failed; see $DIR/server.log"
        fi
    fi
    rm -rf "$DIR"
    log "removed $DIR"
}

cmd_restart() {
    [[ -n ${1:-} && -d $1 ]] || die "${1:-DIR} does not exist"
    local mode=${2:-}
    [[ $mode == fast || $mode == immediate ]] || die "restart mode must be fast or immediate"
    DIR=$(cd "$1" && pwd -P)
    [[ -f $DIR/$MARKER ]] || die "$DIR was not made by this script; refusing to touch it"
    BIN=$(find_bindir) || die "no PostgreSQL server binaries found"
    OWNER=$(stat -c %U "$DIR/data")
    log "restarting the cluster in $DIR (-m $mode)"
    # pg_ctl restart reuses the options of the last start (postmaster.opts): same port.
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -m "$mode" -w -t 60 restart >/dev/null \
        || die "pg_ctl restart failed; see $DIR/server.log"
    running_url || die "the cluster in $DIR did not come back"
}

cmd_status() {
    [[ -n ${1:-} && -d $1 ]] || die "${1:-DIR} does not exist"
    DIR=$(cd "$1" && pwd -P)
    BIN=$(find_bindir) || die "no PostgreSQL server binaries found"
    OWNER=$(stat -c %U "$DIR")
    running_url || {
        log "no cluster runs in $DIR"
        exit 1
    }
}

[[ $# -eq 2 || ($# -eq 3 && $1 == restart) ]] || usage
case $1 in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" ;;
status) cmd_status "$2" ;;
restart) cmd_restart "$2" "$3" ;;
*) usage ;;
esac
