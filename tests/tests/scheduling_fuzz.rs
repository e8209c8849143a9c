//! The scheduling entry point on untrusted input: random bytes, and a valid request with
//! bytes changed, lines dropped or repeated, go through `parse_message` and `Store::receive`
//! (for a person and for a resource) without a panic; whatever is refused writes nothing.

// Test code outside #[test] functions: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use calstore_core::scheduling::{ReceiveOptions, parse_message};
use calstore_core::{FixedClock, Store};
use calstore_native::SqliteConnection;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const ROOM: &str = "mailto:resource-room-confroom@example.com";
const VINCENT: &str = "mailto:vincent.vole@example.com";

const REQUEST: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:event1@example.com\r\nDTSTAMP:20141009T000000Z\r\nSEQUENCE:0\r\n\
ORGANIZER:mailto:paul.boddie@example.com\r\n\
ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:resource-room-confroom@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com\r\n\
DTSTART;TZID=Europe/Oslo:20141010T160000\r\nDTEND;TZID=Europe/Oslo:20141010T170000\r\n\
RRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n\
UID:event1@example.com\r\nRECURRENCE-ID;TZID=Europe/Oslo:20141011T160000\r\n\
DTSTAMP:20141009T000000Z\r\nORGANIZER:mailto:paul.boddie@example.com\r\n\
ATTENDEE:mailto:resource-room-confroom@example.com\r\n\
DTSTART:20141011T180000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

const METHODS: [&str; 8] = [
    "REQUEST",
    "REPLY",
    "CANCEL",
    "ADD",
    "REFRESH",
    "COUNTER",
    "DECLINECOUNTER",
    "PUBLISH",
];

fn store() -> Store<SqliteConnection> {
    let now = Utc.with_ymd_and_hms(2014, 10, 9, 0, 0, 0).unwrap();
    let mut s = Store::open(
        SqliteConnection::open_in_memory().unwrap(),
        Box::new(FixedClock::new(now)),
    )
    .unwrap();
    s.set_preference(
        ROOM,
        "scheduling_function",
        "schedule_corrected_in_freebusy\ncheck_quota",
    )
    .unwrap();
    s.set_preference(ROOM, "permitted_times", "0,30").unwrap();
    s.set_preference(ROOM, "freebusy_offers", "PT1H").unwrap();
    s
}

fn try_all(s: &mut Store<SqliteConnection>, bytes: &[u8]) {
    let Ok(msg) = parse_message(bytes, None) else {
        return;
    };
    for user in [ROOM, VINCENT] {
        let before = s.revision(user).unwrap();
        if s.receive(user, &msg, &ReceiveOptions::default()).is_err() {
            assert_eq!(s.revision(user).unwrap(), before, "a refused message wrote");
        }
        let _ = s.send_message(user, &msg);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut s = store();
        try_all(&mut s, &bytes);
    }

    #[test]
    fn mutated_requests(
        method in 0usize..METHODS.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        drop_line in proptest::option::of(any::<prop::sample::Index>()),
        repeat in any::<bool>(),
    ) {
        let text = REQUEST.replace("METHOD:REQUEST", &format!("METHOD:{}", METHODS[method]));
        let mut lines: Vec<&str> = text.split("\r\n").collect();
        if let Some(i) = drop_line {
            lines.remove(i.index(lines.len()));
        }
        let mut bytes = lines.join("\r\n").into_bytes();
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let mut s = store();
        try_all(&mut s, &bytes);
        if repeat {
            try_all(&mut s, &bytes);
        }
    }
}
