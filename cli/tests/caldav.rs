//! CalDAV on `calstore serve`, with real processes on loopback, on SQLite and on PostgreSQL
//! (`CALSTORE_TEST_PG_URL`, module `postgres`; each test in a schema of its own): discovery
//! and Basic auth (the credential cache follows suspensions and password changes), resources
//! that survive the round trip byte for byte, ETag preconditions, time-range queries over
//! recurrences, free/busy, sync-collection tokens, several collections, grants, implicit
//! scheduling with a room that decides, and two server processes on one database.
// Test code: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[path = "support/server.rs"]
mod support;
use support::*;

const ALF: (&str, &str) = ("alf", "I love cats");
const BOB: (&str, &str) = ("bob", "another good passphrase");

/// One answer: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .build()
        .into()
}

fn dav(
    method: &str,
    url: &str,
    auth: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    use base64::Engine as _;
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    if let Some((l, p)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{l}:{p}"));
        b = b.header("Authorization", format!("Basic {token}"));
    }
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let req = b.body(body.to_owned()).unwrap();
    let mut resp = agent().run(req).unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

fn setup(db: &str, dir: &Path) -> Server {
    calstore(
        db,
        &[
            "account",
            "add",
            "--login",
            ALF.0,
            "--email",
            "alf@vega.com",
            "--password-stdin",
        ],
        &format!("{}\n", ALF.1),
    )
    .ok();
    calstore(
        db,
        &[
            "account",
            "add",
            "--login",
            BOB.0,
            "--email",
            "bob@vega.com",
            "--calendar",
            "mailto:alf@vega.com=read",
            "--calendar",
            "mailto:room@vega.com=write",
            "--password-stdin",
        ],
        &format!("{}\n", BOB.1),
    )
    .ok();
    Server::start(db, dir, "caldav")
}

const ALF_DEFAULT: &str = "/dav/calendars/alf@vega.com/default/";

const RICH: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:Mine\r\n\
BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20261201T000000Z\r\n\
DTSTART;TZID=Europe/Berlin:20261207T100000\r\nDTEND;TZID=Europe/Berlin:20261207T110000\r\n\
RRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\nGEO:37.386013;-122.082932\r\nX-FOO;X-P=1:bar\r\n\
ATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY:aGVsbG8=\r\n\
BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:soon\r\nEND:VALARM\r\n\
END:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20261201T000000Z\r\n\
RECURRENCE-ID;TZID=Europe/Berlin:20261214T100000\r\n\
DTSTART;TZID=Europe/Berlin:20261214T153000\r\nDTEND;TZID=Europe/Berlin:20261214T163000\r\n\
SUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn event(uid: &str, start: &str, end: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn query(range: (&str, &str)) -> String {
    format!(
        "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">\
         <c:comp-filter name=\"VEVENT\"><c:time-range start=\"{}\" end=\"{}\"/>\
         </c:comp-filter></c:comp-filter></c:filter></c:calendar-query>",
        range.0, range.1
    )
}

fn sync_report(token: &str) -> String {
    format!(
        "<d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>{token}</d:sync-token>\
         <d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
}

fn token_of(body: &str) -> String {
    let start = body.find("<D:sync-token>").unwrap() + "<D:sync-token>".len();
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].to_owned()
}

fn discovery_and_auth(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(db, dir.path());
    let u = &s.url;
    let r = dav("GET", &format!("{u}/.well-known/caldav"), None, &[], "");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/dav/"));
    assert_eq!(
        dav("PROPFIND", &format!("{u}/dav/"), None, &[], "").status,
        401
    );
    let wrong = dav(
        "PROPFIND",
        &format!("{u}/dav/"),
        Some((ALF.0, "nope")),
        &[],
        "",
    );
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let r = dav(
        "PROPFIND",
        &format!("{u}/dav/"),
        Some(ALF),
        &[("Depth", "0")],
        "<d:propfind xmlns:d=\"DAV:\"><d:prop><d:current-user-principal/></d:prop></d:propfind>",
    );
    assert_eq!(r.status, 207);
    assert!(
        r.body.contains("<D:href>/dav/principals/alf/</D:href>"),
        "{}",
        r.body
    );
    // A client given only the server's address (python-caldav, vdirsyncer) asks `/` itself;
    // other methods there stay the sync protocol's 404.
    assert_eq!(dav("PROPFIND", &format!("{u}/"), None, &[], "").status, 401);
    let r = dav(
        "PROPFIND",
        &format!("{u}/"),
        Some(ALF),
        &[("Depth", "0")],
        "<d:propfind xmlns:d=\"DAV:\"><d:prop><d:current-user-principal/></d:prop></d:propfind>",
    );
    assert_eq!(r.status, 207);
    assert!(r.body.contains("<D:href>/</D:href>"), "{}", r.body);
    assert!(
        r.body.contains("<D:href>/dav/principals/alf/</D:href>"),
        "{}",
        r.body
    );
    assert_eq!(dav("GET", &format!("{u}/"), Some(ALF), &[], "").status, 404);
    // The email stands for the login.
    let r = dav(
        "PROPFIND",
        &format!("{u}/dav/principals/bob/"),
        Some(("bob@vega.com", BOB.1)),
        &[("Depth", "0")],
        "<d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop>\
         <c:calendar-home-set/><c:calendar-user-address-set/><c:schedule-inbox-URL/>\
         </d:prop></d:propfind>",
    );
    assert_eq!(r.status, 207, "{}", r.body);
    // Own calendar first, then the granted ones.
    let own = r.body.find("/dav/calendars/bob@vega.com/").unwrap();
    let granted = r.body.find("/dav/calendars/alf@vega.com/").unwrap();
    assert!(own < granted, "{}", r.body);
    assert!(r.body.contains("/dav/calendars/room@vega.com/"));
    assert!(r.body.contains("<D:href>mailto:bob@vega.com</D:href>"));
    let r = dav(
        "PROPFIND",
        &format!("{u}/dav/calendars/alf@vega.com/"),
        Some(ALF),
        &[("Depth", "1")],
        "",
    );
    assert!(r.body.contains("/dav/calendars/alf@vega.com/default/"));
    assert!(r.body.contains("<C:calendar/>"));
    // No grant: nothing to see.
    let r = dav(
        "PROPFIND",
        &format!("{u}/dav/calendars/bob@vega.com/"),
        Some(ALF),
        &[("Depth", "0")],
        "",
    );
    assert_eq!(r.status, 404);
    // A suspension and a password change take effect at the next request (the cache of
    // verified credentials re-reads the account every time).
    assert_eq!(
        dav("PROPFIND", &format!("{u}/dav/"), Some(BOB), &[], "").status,
        207
    );
    calstore(
        db,
        &["account", "passwd", "--login", "bob", "--password-stdin"],
        "a brand new passphrase\n",
    )
    .ok();
    assert_eq!(
        dav("PROPFIND", &format!("{u}/dav/"), Some(BOB), &[], "").status,
        401
    );
    let new = ("bob", "a brand new passphrase");
    assert_eq!(
        dav("PROPFIND", &format!("{u}/dav/"), Some(new), &[], "").status,
        207
    );
    calstore(db, &["account", "suspend", "--login", "bob"], "").ok();
    assert_eq!(
        dav("PROPFIND", &format!("{u}/dav/"), Some(new), &[], "").status,
        401
    );
    // Every verification is in the connection log, like a login.
    let log = calstore(
        db,
        &["connections", "--login", "bob", "--format", "json"],
        "",
    )
    .json();
    assert!(log.as_array().unwrap().len() >= 3, "{log}");
}

fn resources_round_trip(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(db, dir.path());
    let u = &s.url;
    let href = format!("{u}{ALF_DEFAULT}weekly.ics");
    let r = dav("PUT", &href, Some(ALF), &[("If-None-Match", "*")], RICH);
    assert_eq!(r.status, 201, "{}", r.body);
    let etag = r.header("etag").unwrap().to_owned();
    let a = dav("GET", &href, Some(ALF), &[], "");
    let b = dav("GET", &href, Some(ALF), &[], "");
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    assert_eq!(a.header("etag"), Some(etag.as_str()));
    for kept in [
        "X-WR-CALNAME:Mine",
        "GEO:37.386013;-122.082932",
        "X-FOO;X-P=1:bar",
        "ATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY:aGVsbG8=",
        "BEGIN:VALARM",
        "TZID:Europe/Berlin",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261214T100000",
    ] {
        assert!(a.body.contains(kept), "{kept} lost: {}", a.body);
    }
    assert!(!a.body.contains("X-CALSTORE"));
    // PUT back what GET gave: the same bytes, the same ETag.
    let r = dav("PUT", &href, Some(ALF), &[("If-Match", &etag)], &a.body);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    // Preconditions.
    let stale = "\"0000\"";
    assert_eq!(
        dav("PUT", &href, Some(ALF), &[("If-Match", stale)], RICH).status,
        412
    );
    assert_eq!(
        dav("PUT", &href, Some(ALF), &[("If-None-Match", "*")], RICH).status,
        412
    );
    assert_eq!(
        dav("DELETE", &href, Some(ALF), &[("If-Match", stale)], "").status,
        412
    );
    // Not calendar data, two UIDs: refused, nothing written.
    let bad = dav(
        "PUT",
        &format!("{u}{ALF_DEFAULT}bad.ics"),
        Some(ALF),
        &[],
        "hello",
    );
    assert_eq!(bad.status, 403);
    assert!(bad.body.contains("valid-calendar-data"));
    let two = format!(
        "{}{}",
        event("a@t", "20261210T100000Z", "20261210T110000Z", "a"),
        ""
    );
    let two = two.replace(
        "END:VCALENDAR\r\n",
        "BEGIN:VEVENT\r\nUID:b@t\r\nDTSTART:20261210T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    assert_eq!(
        dav(
            "PUT",
            &format!("{u}{ALF_DEFAULT}two.ics"),
            Some(ALF),
            &[],
            &two
        )
        .status,
        403
    );
    // A VTODO is kept and returned as it was sent.
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:todo@t\r\n\
                DTSTAMP:20261201T000000Z\r\nDUE:20261220T000000Z\r\nSUMMARY:Do it\r\nEND:VTODO\r\n\
                END:VCALENDAR\r\n";
    let t = format!("{u}{ALF_DEFAULT}todo.ics");
    assert_eq!(dav("PUT", &t, Some(ALF), &[], todo).status, 201);
    assert_eq!(dav("GET", &t, Some(ALF), &[], "").body, todo);
    // Time ranges follow the recurrence and its moved instance.
    let coll = format!("{u}{ALF_DEFAULT}");
    let hits = |range| dav("REPORT", &coll, Some(ALF), &[("Depth", "1")], &query(range)).body;
    assert!(hits(("20271206T000000Z", "20271207T000000Z")).contains("weekly.ics"));
    assert!(!hits(("20261214T085000Z", "20261214T100000Z")).contains("weekly.ics"));
    assert!(hits(("20261214T143000Z", "20261214T150000Z")).contains("weekly.ics"));
    assert!(!hits(("20261201T000000Z", "20261207T085900Z")).contains("weekly.ics"));
    // Free/busy of a week: the moved instance, not the one it replaced.
    let fb = dav(
        "REPORT",
        &coll,
        Some(ALF),
        &[("Depth", "1")],
        "<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <c:time-range start=\"20261214T000000Z\" end=\"20261221T000000Z\"/></c:free-busy-query>",
    );
    assert_eq!(fb.status, 200);
    assert!(
        fb.body
            .contains("FREEBUSY;FBTYPE=BUSY:20261214T143000Z/20261214T153000Z"),
        "{}",
        fb.body
    );
    assert!(!fb.body.contains("20261214T090000Z"));
    // Multiget, with a missing href.
    let mg = dav(
        "REPORT",
        &coll,
        Some(ALF),
        &[],
        &format!(
            "<c:calendar-multiget xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
             <d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{ALF_DEFAULT}weekly.ics</d:href>\
             <d:href>{ALF_DEFAULT}gone.ics</d:href></c:calendar-multiget>"
        ),
    );
    assert!(mg.body.contains("X-FOO;X-P=1:bar"));
    assert!(mg.body.contains("404 Not Found"));
    // Expanded: one VEVENT per instance, in UTC.
    let ex = dav(
        "REPORT",
        &coll,
        Some(ALF),
        &[],
        "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop>\
         <c:calendar-data><c:expand start=\"20261207T000000Z\" end=\"20261221T000000Z\"/>\
         </c:calendar-data></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">\
         <c:comp-filter name=\"VEVENT\"><c:time-range start=\"20261207T000000Z\" \
         end=\"20261221T000000Z\"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>",
    );
    assert_eq!(ex.body.matches("BEGIN:VEVENT").count(), 2, "{}", ex.body);
    assert!(ex.body.contains("RECURRENCE-ID:20261207T090000Z"));
    assert!(!ex.body.contains("RRULE"));
    assert_eq!(
        dav("DELETE", &href, Some(ALF), &[("If-Match", &etag)], "").status,
        204
    );
    assert_eq!(dav("GET", &href, Some(ALF), &[], "").status, 404);
}

fn sync_and_collections(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(db, dir.path());
    let u = &s.url;
    let coll = format!("{u}{ALF_DEFAULT}");
    let first = dav("REPORT", &coll, Some(ALF), &[], &sync_report(""));
    assert_eq!(first.status, 207);
    let t0 = token_of(&first.body);
    for i in 0..3 {
        let e = event(
            &format!("e{i}@t"),
            "20261210T100000Z",
            "20261210T110000Z",
            "x",
        );
        assert_eq!(
            dav("PUT", &format!("{coll}e{i}.ics"), Some(ALF), &[], &e).status,
            201
        );
    }
    let r = dav("REPORT", &coll, Some(ALF), &[], &sync_report(&t0));
    assert_eq!(r.body.matches("<D:response>").count(), 3, "{}", r.body);
    let t1 = token_of(&r.body);
    // Nothing since: nothing.
    let r = dav("REPORT", &coll, Some(ALF), &[], &sync_report(&t1));
    assert_eq!(r.body.matches("<D:response>").count(), 0);
    assert_eq!(token_of(&r.body), t1);
    assert_eq!(
        dav("DELETE", &format!("{coll}e1.ics"), Some(ALF), &[], "").status,
        204
    );
    let e = event("e2@t", "20261211T100000Z", "20261211T110000Z", "y");
    assert_eq!(
        dav("PUT", &format!("{coll}e2.ics"), Some(ALF), &[], &e).status,
        204
    );
    let r = dav("REPORT", &coll, Some(ALF), &[], &sync_report(&t1));
    assert!(r.body.contains("e2.ics</D:href><D:propstat>"), "{}", r.body);
    assert!(
        r.body.contains("e1.ics</D:href><D:status>HTTP/1.1 404"),
        "{}",
        r.body
    );
    // An event another front end writes (the command line here) shows up too.
    let f = file(
        dir.path(),
        "cli.ics",
        &event("cli@t", "20261212T100000Z", "20261212T110000Z", "cli"),
    );
    calstore(db, &["import", "--user", "mailto:alf@vega.com", &f], "").ok();
    let r = dav(
        "REPORT",
        &coll,
        Some(ALF),
        &[],
        &sync_report(&token_of(&r.body)),
    );
    assert!(r.body.contains("cli@t.ics"), "{}", r.body);
    // Tokens from elsewhere, or from the future, are not valid.
    for bad in [
        "urn:calstore:sync:999999",
        "http://other/token",
        "urn:calstore:sync:-1",
    ] {
        let r = dav("REPORT", &coll, Some(ALF), &[], &sync_report(bad));
        assert_eq!(r.status, 403, "{bad}");
        assert!(r.body.contains("valid-sync-token"));
    }
    // Another collection: made, named, listed; a UID is one per calendar.
    let work = format!("{u}/dav/calendars/alf@vega.com/work/");
    let mk = dav(
        "MKCALENDAR",
        &work,
        Some(ALF),
        &[],
        "<c:mkcalendar xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:set><d:prop>\
         <d:displayname>Work &amp; more</d:displayname><c:supported-calendar-component-set>\
         <c:comp name=\"VEVENT\"/></c:supported-calendar-component-set></d:prop></d:set>\
         </c:mkcalendar>",
    );
    assert_eq!(mk.status, 201, "{}", mk.body);
    assert_eq!(dav("MKCALENDAR", &work, Some(ALF), &[], "").status, 405);
    let pp = dav(
        "PROPPATCH",
        &work,
        Some(ALF),
        &[],
        "<d:propertyupdate xmlns:d=\"DAV:\" xmlns:i=\"http://apple.com/ns/ical/\"><d:set><d:prop>\
         <i:calendar-color>#ff0000</i:calendar-color></d:prop></d:set></d:propertyupdate>",
    );
    assert_eq!(pp.status, 207);
    let home = dav(
        "PROPFIND",
        &format!("{u}/dav/calendars/alf@vega.com/"),
        Some(ALF),
        &[("Depth", "1")],
        "",
    );
    assert!(
        home.body
            .contains("<D:displayname>Work &amp; more</D:displayname>"),
        "{}",
        home.body
    );
    let props = dav(
        "PROPFIND",
        &work,
        Some(ALF),
        &[("Depth", "0")],
        "<d:propfind xmlns:d=\"DAV:\" xmlns:i=\"http://apple.com/ns/ical/\"><d:prop>\
         <i:calendar-color/><d:unknown-thing/></d:prop></d:propfind>",
    );
    assert!(props.body.contains("#ff0000"));
    assert!(props.body.contains("404 Not Found"));
    let e0 = event("e0@t", "20261210T100000Z", "20261210T110000Z", "x");
    let clash = dav("PUT", &format!("{work}copy.ics"), Some(ALF), &[], &e0);
    assert_eq!(clash.status, 409);
    assert!(clash.body.contains("no-uid-conflict"));
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t@t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let r = dav("PUT", &format!("{work}todo.ics"), Some(ALF), &[], todo);
    assert_eq!(r.status, 403);
    assert!(r.body.contains("supported-calendar-component"));
    let w = event("w@t", "20261215T100000Z", "20261215T110000Z", "work");
    assert_eq!(
        dav("PUT", &format!("{work}w.ics"), Some(ALF), &[], &w).status,
        201
    );
    // The free/busy of a collection is its own events'.
    let fb = |c: &str| {
        dav(
            "REPORT",
            c,
            Some(ALF),
            &[],
            "<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
             <c:time-range start=\"20261214T000000Z\" end=\"20261216T000000Z\"/></c:free-busy-query>",
        )
        .body
    };
    assert!(fb(&work).contains("20261215T100000Z"));
    assert!(!fb(&coll).contains("20261215T100000Z"));
    assert_eq!(dav("DELETE", &work, Some(ALF), &[], "").status, 204);
    assert_eq!(
        dav("PROPFIND", &work, Some(ALF), &[("Depth", "0")], "").status,
        404
    );
    // Grants: Bob reads Alf's calendar but may not write it.
    let alf_as_bob = format!("{coll}e0.ics");
    assert_eq!(dav("GET", &alf_as_bob, Some(BOB), &[], "").status, 200);
    assert_eq!(dav("PUT", &alf_as_bob, Some(BOB), &[], &e0).status, 403);
    assert_eq!(dav("DELETE", &alf_as_bob, Some(BOB), &[], "").status, 403);
}

fn scheduling(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(db, dir.path());
    let u = &s.url;
    // The room decides by itself.
    calstore(
        db,
        &[
            "prefs",
            "set",
            "--user",
            "mailto:room@vega.com",
            "scheduling_function",
            "schedule_in_freebusy",
        ],
        "",
    )
    .ok();
    let meeting = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n\
        UID:meet@t\r\nDTSTAMP:20261206T110000Z\r\nSEQUENCE:0\r\nDTSTART:20261210T100000Z\r\n\
        DTEND:20261210T110000Z\r\nSUMMARY:Planning\r\nORGANIZER:mailto:alf@vega.com\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED:mailto:alf@vega.com\r\n\
        ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@vega.com\r\n\
        ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:room@vega.com\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";
    let href = format!("{u}{ALF_DEFAULT}meet.ics");
    let r = dav("PUT", &href, Some(ALF), &[], meeting);
    assert_eq!(r.status, 201, "{}", r.body);
    let tag = r.header("schedule-tag").unwrap().to_owned();
    // The room accepted at once: the organiser's copy says so.
    let g = dav("GET", &href, Some(ALF), &[], "");
    let unfolded = g.body.replace("\r\n ", "");
    assert!(
        unfolded.contains("PARTSTAT=ACCEPTED") && unfolded.contains("mailto:room@vega.com"),
        "{unfolded}"
    );
    assert!(
        unfolded
            .lines()
            .any(|l| l.contains("room@vega.com") && l.contains("PARTSTAT=ACCEPTED")),
        "{unfolded}"
    );
    // A reply merged in does not change the Schedule-Tag.
    assert_eq!(g.header("schedule-tag"), Some(tag.as_str()));
    // Bob's inbox has the request; his calendar has the event, not yet accepted.
    let inbox = format!("{u}/dav/calendars/bob@vega.com/inbox/");
    let r = dav("PROPFIND", &inbox, Some(BOB), &[("Depth", "1")], "");
    assert!(r.body.contains("<C:schedule-inbox/>"), "{}", r.body);
    assert!(r.body.contains("meet@t.ics"), "{}", r.body);
    let item = dav("GET", &format!("{inbox}meet@t.ics"), Some(BOB), &[], "");
    assert!(item.body.contains("METHOD:REQUEST"), "{}", item.body);
    let bobs = format!("{u}/dav/calendars/bob@vega.com/default/meet@t.ics");
    let copy = dav("GET", &bobs, Some(BOB), &[], "");
    assert_eq!(copy.status, 200);
    // Bob accepts by writing his copy: the organiser's copy follows.
    let accepted = copy.body.replace("\r\n ", "").replace(
        "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@vega.com",
        "PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@vega.com",
    );
    assert!(
        accepted.contains("PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@vega.com"),
        "{accepted}"
    );
    let r = dav(
        "PUT",
        &bobs,
        Some(BOB),
        &[(
            "If-Schedule-Tag-Match",
            copy.header("schedule-tag").unwrap(),
        )],
        &accepted,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let g = dav("GET", &href, Some(ALF), &[], "")
        .body
        .replace("\r\n ", "");
    assert!(
        g.lines()
            .any(|l| l.contains("bob@vega.com") && l.contains("PARTSTAT=ACCEPTED")),
        "{g}"
    );
    // Answering dealt with the request: the inbox item is gone.
    assert!(
        !dav("PROPFIND", &inbox, Some(BOB), &[("Depth", "1")], "")
            .body
            .contains("meet@t.ics")
    );
    assert_eq!(
        dav("DELETE", &format!("{inbox}meet@t.ics"), Some(BOB), &[], "").status,
        404
    );
    // Free/busy through the outbox.
    let fb = dav(
        "POST",
        &format!("{u}/dav/calendars/alf@vega.com/outbox/"),
        Some(ALF),
        &[("Content-Type", "text/calendar")],
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb@t\r\n\
         DTSTAMP:20261206T110000Z\r\nDTSTART:20261210T000000Z\r\nDTEND:20261211T000000Z\r\n\
         ORGANIZER:mailto:alf@vega.com\r\nATTENDEE:mailto:room@vega.com\r\n\
         ATTENDEE:mailto:nobody@elsewhere.example\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n",
    );
    assert_eq!(fb.status, 200, "{}", fb.body);
    assert!(
        fb.body
            .contains("FREEBUSY;FBTYPE=BUSY:20261210T100000Z/20261210T110000Z"),
        "{}",
        fb.body
    );
    assert!(fb.body.contains("3.7;Invalid calendar user"));
    // The organiser cancels by deleting: the room's booking goes.
    assert_eq!(dav("DELETE", &href, Some(ALF), &[], "").status, 204);
    let free = calstore(
        db,
        &[
            "freebusy",
            "--user",
            "mailto:room@vega.com",
            "--from",
            "20261210T000000Z",
            "--to",
            "20261211T000000Z",
            "--format",
            "json",
        ],
        "",
    )
    .json();
    assert_eq!(free.as_array().map(Vec::len), Some(0), "{free}");
}

fn two_servers(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let a = setup(db, dir.path());
    let b = Server::start(db, dir.path(), "second");
    let e = event("two@t", "20261210T100000Z", "20261210T110000Z", "two");
    let r = dav(
        "PUT",
        &format!("{}{ALF_DEFAULT}two.ics", a.url),
        Some(ALF),
        &[],
        &e,
    );
    assert_eq!(r.status, 201);
    let g = dav(
        "GET",
        &format!("{}{ALF_DEFAULT}two.ics", b.url),
        Some(ALF),
        &[],
        "",
    );
    assert_eq!(g.status, 200);
    assert_eq!(g.header("etag"), r.header("etag"));
    let t = token_of(
        &dav(
            "REPORT",
            &format!("{}{ALF_DEFAULT}", a.url),
            Some(ALF),
            &[],
            &sync_report(""),
        )
        .body,
    );
    let t2 = token_of(
        &dav(
            "REPORT",
            &format!("{}{ALF_DEFAULT}", b.url),
            Some(ALF),
            &[],
            &sync_report(""),
        )
        .body,
    );
    assert_eq!(t, t2);
}

macro_rules! backend {
    ($name:ident, $make:expr) => {
        mod $name {
            fn db() -> (tempfile::TempDir, impl std::ops::Deref<Target = str>) {
                $make
            }

            #[test]
            fn discovery_and_auth() {
                let (_d, db) = db();
                super::discovery_and_auth(&db);
            }

            #[test]
            fn resources_round_trip() {
                let (_d, db) = db();
                super::resources_round_trip(&db);
            }

            #[test]
            fn sync_and_collections() {
                let (_d, db) = db();
                super::sync_and_collections(&db);
            }

            #[test]
            fn scheduling() {
                let (_d, db) = db();
                super::scheduling(&db);
            }
        }
    };
}

/// A database URL that keeps its schema alive while it is used.
struct PgDb(Schema);

impl std::ops::Deref for PgDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.db
    }
}

backend!(sqlite, {
    let d = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", d.path().join("cal.db").display());
    (d, db)
});

backend!(
    postgres,
    (
        tempfile::tempdir().unwrap(),
        super::PgDb(super::Schema::new())
    )
);

/// Two server processes on one PostgreSQL database give the same answers.
#[test]
fn postgres_two_servers() {
    let schema = Schema::new();
    two_servers(&schema.db);
}
