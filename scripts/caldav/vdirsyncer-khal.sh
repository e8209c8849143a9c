#!/usr/bin/env bash
# A vdirsyncer + khal two-way sync against a running `calstore serve` (scripts/caldav-clients.sh
# starts it with the account user1 / testpass1): events made on the server reach khal, events
# made with khal reach the server, edits and deletions go both ways, and a second sync with
# nothing changed changes nothing. Prints "vdirsyncer+khal: N passed, N failed".
# Usage: vdirsyncer-khal.sh VENV URL WORKDIR
set -uo pipefail
VENV=$1 URL=$2 WORK=$3/vdk
mkdir -p "$WORK/status" "$WORK/vdir"
export TZ=UTC LANG=C.UTF-8 LC_ALL=C.UTF-8
VDS="$VENV/bin/vdirsyncer -c $WORK/vdirsyncer.conf"
KHAL="$VENV/bin/khal -c $WORK/khal.conf"
AUTH=user1:testpass1
COLL=$URL/dav/calendars/user1@example.com/default
cat >"$WORK/vdirsyncer.conf" <<CONF
[general]
status_path = "$WORK/status/"

[pair cal]
a = "local"
b = "server"
collections = ["default"]
conflict_resolution = "b wins"

[storage local]
type = "filesystem"
path = "$WORK/vdir/"
fileext = ".ics"

[storage server]
type = "caldav"
url = "$URL/dav/"
username = "user1"
password = "testpass1"
CONF
cat >"$WORK/khal.conf" <<CONF
[calendars]
[[cal]]
path = $WORK/vdir/default/
type = calendar

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M

[default]
default_calendar = cal
CONF
passed=0 failed=0
check() {
    local what=$1; shift
    if "$@" >"$WORK/last.out" 2>&1; then
        passed=$((passed + 1)); echo "ok: $what"
    else
        failed=$((failed + 1)); echo "FAILED: $what"; sed 's/^/    /' "$WORK/last.out" | tail -20
    fi
}
put() { # NAME UID SUMMARY
    printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20270111T100000Z\r\nDTEND:20270111T110000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$2" "$3" |
        curl -sf -u "$AUTH" -X PUT -H 'Content-Type: text/calendar' --data-binary @- "$COLL/$1"
}
sync() { $VDS sync; }
server_has() { # TEXT
    curl -sf -u "$AUTH" -X REPORT -H 'Depth: 1' "$COLL/" --data \
        '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>' |
        grep -q "$1"
}
khal_has() { $KHAL list 2027-01-01 60d | grep -q "$1"; }
khal_lacks() { ! $KHAL list 2027-01-01 60d | grep -q "$1"; }
server_lacks() { ! server_has "$1"; }

check "discover" bash -c "yes | $VDS discover"
check "an event made on the server" put server-1.ics server-1@test 'Made on the server'
check "another one, kept to the end" put keeper.ics keeper@test 'Kept'
check "first sync" sync
check "khal shows the server's event" khal_has 'Made on the server'
check "khal new" $KHAL new 2027-01-12 09:00 10:00 'Made with khal'
check "sync up" sync
check "the server has khal's event" server_has 'Made with khal'
check "the server edits its event" put server-1.ics server-1@test 'Edited on the server'
check "sync down" sync
check "khal shows the edit" khal_has 'Edited on the server'
check "khal's file edited locally" bash -c "sed -i 's/SUMMARY:Made with khal/SUMMARY:Edited locally/' $WORK/vdir/default/*.ics"
check "sync the local edit" sync
check "the server has the local edit" server_has 'Edited locally'
check "the server's event deleted locally" bash -c "grep -l 'server-1@test' $WORK/vdir/default/*.ics | xargs rm"
check "sync the deletion" sync
check "the server no longer has it" server_lacks 'Edited on the server'
check "deleted on the server" bash -c "for h in \$(curl -sf -u $AUTH -X PROPFIND -H 'Depth: 1' $COLL/ | grep -o '<D:href>[^<]*\\.ics</D:href>' | sed 's/<[^>]*>//g' | grep -v keeper); do curl -sf -u $AUTH -X DELETE $URL\$h; done"
check "sync after the server's deletion" sync
check "khal no longer shows it" khal_lacks 'Edited locally'
check "khal still shows the kept one" khal_has 'Kept'
check "a sync with nothing to do" bash -c "$VDS sync 2>&1 | tee /dev/stderr | grep -qv 'Copying\\|Deleting\\|Updating'"
echo "vdirsyncer+khal: $passed passed, $failed failed"
(( failed == 0 ))
