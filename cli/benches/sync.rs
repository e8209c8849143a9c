//! Sync benchmarks (issue 13), not timed tests: a real `calstore serve` on loopback, the
//! native client (`calstore clone`, `calstore sync`) and raw protocol clients.
//!
//! ```text
//! cargo bench -p calstore-cli --bench sync                    # SQLite
//! CALSTORE_TEST_PG_URL=postgres://… cargo bench -p calstore-cli --bench sync -- --postgres
//! RADICALE=/path/to/venv/bin/radicale cargo bench -p calstore-cli --bench sync
//! ```
//!
//! Options: `--events N` (5000), `--clients N` (50), `--seconds S` (30), `--postgres`.
//!
//! It measures, on one calendar of N one-hour events over two years (every tenth weekly
//! without end): the initial clone (median of 3, the whole `calstore clone` process); an
//! incremental sync after 10 changes (the server's time for the pull from its log, the raw
//! round trip of that pull, and the whole `calstore sync` process); a push of 1 000 offline
//! mutations (`calstore sync`); C clients logged in at once pulling (and every fifth request
//! pushing a new event) for S seconds: requests/s, p50, p95, errors. With `RADICALE` set, the
//! same calendar is put in a Radicale collection and its sync-collection measured the same
//! way (initial: sync-collection + calendar-multiget of everything; incremental: after 10
//! changes), for the ratio.
// A benchmark driver: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

// The serve tests' runner and server process, shared rather than written again.
#[path = "../tests/support/server.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calstore_core::SqlConnection;
use calstore_core::sync::server::schema_versions;
use calstore_core::sync::wire::PROTOCOL_VERSION;
use serde_json::{Value, json};
use support::Server;

const ALICE: &str = "mailto:alice@example.com";
const PW: &str = "benchmark passphrase one";

struct Opts {
    events: usize,
    clients: usize,
    seconds: u64,
    pushes: usize,
    postgres: bool,
    /// Run without `--bench` (by `cargo test --all-targets`): small and without the peer.
    smoke: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        events: 5_000,
        clients: 50,
        seconds: 30,
        pushes: 1_000,
        postgres: false,
        smoke: false,
    };
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run that checks the driver still works, in a few seconds.
    if !args.iter().any(|a| a == "--bench") {
        o.events = 60;
        o.clients = 2;
        o.seconds = 1;
        o.pushes = 20;
        o.smoke = true;
        return o;
    }
    let mut i = 1;
    while i < args.len() {
        let next = || args.get(i + 1).and_then(|v| v.parse().ok());
        match args[i].as_str() {
            "--events" => o.events = next().expect("--events N"),
            "--clients" => o.clients = next().expect("--clients N"),
            "--seconds" => o.seconds = next().map(|n: usize| n as u64).expect("--seconds S"),
            "--postgres" => {
                o.postgres = true;
                i -= 1;
            }
            _ => {
                i -= 1;
            }
        }
        i += 2;
    }
    o
}

/// Runs `calstore --db DB ARGS…` (the tests' runner) and gives its stdout; panics on failure.
fn calstore(db: &str, args: &[&str], stdin: &str) -> String {
    support::calstore(db, args, stdin).ok().to_owned()
}

/// The i-th event of the calendar.
fn vevent(i: usize, seq: u32, summary: &str) -> String {
    let day =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new((i % 730) as u64);
    let hour = 8 + (i % 10);
    let rrule = if i.is_multiple_of(10) {
        "RRULE:FREQ=WEEKLY\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VEVENT\r\nUID:bench-{i}@example.com\r\nDTSTAMP:2026120{}T100000Z\r\nSEQUENCE:{seq}\r\n\
         DTSTART:{}T{hour:02}0000Z\r\nDTEND:{}T{:02}0000Z\r\n{rrule}SUMMARY:{summary} {i}\r\n\
         ORGANIZER:{ALICE}\r\nEND:VEVENT\r\n",
        1 + seq.min(8),
        day.format("%Y%m%d"),
        day.format("%Y%m%d"),
        hour + 1
    )
}

fn vcalendar(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore bench//EN\r\n{body}END:VCALENDAR\r\n"
    )
}

/// The server's time (ms) for the last request to `path`, from its request log.
fn last_ms(server: &Server, path: &str) -> f64 {
    support::read(&server.log)
        .lines()
        .filter(|l| l.contains(&format!("\"path\":\"{path}\"")))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["ms"].as_f64())
        .next_back()
        .unwrap()
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent.post(url).header("Accept-Encoding", "gzip");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send_json(body).unwrap();
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn login(agent: &ureq::Agent, server: &str) -> String {
    let (status, v) = post(
        agent,
        &format!("{server}/sync/v1/login"),
        None,
        &json!({"login": "alice", "password": PW, "client": "bench"}),
    );
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

fn pull_body(client: &str, cursor: Option<&str>) -> Value {
    json!({
        "protocol": PROTOCOL_VERSION,
        "schema": schema_versions(),
        "client_id": client,
        "cursor": cursor,
        "limit": 10000,
    })
}

/// Pulls everything after `cursor` (all pages); the last cursor.
fn pull_all(
    agent: &ureq::Agent,
    server: &str,
    token: &str,
    client: &str,
    cursor: Option<String>,
) -> String {
    let mut cursor = cursor;
    loop {
        let (status, v) = post(
            agent,
            &format!("{server}/sync/v1/pull"),
            Some(token),
            &pull_body(client, cursor.as_deref()),
        );
        assert_eq!(status, 200, "{v}");
        cursor = v["cursor"].as_str().map(str::to_owned);
        if v["more"] != true {
            return cursor.unwrap();
        }
    }
}

/// The texts of the elements named `local` (any namespace prefix, or none) in an XML answer.
fn element_texts(xml: &str, local: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in xml.match_indices(&format!("{local}>")) {
        let Some(open) = xml[..i].rfind('<') else {
            continue;
        };
        let tag = &xml[open + 1..i];
        if tag.starts_with('/') || tag.contains(|c: char| c.is_whitespace() || c == '>') {
            continue;
        }
        let rest = &xml[i + local.len() + 1..];
        if let Some(end) = rest.find('<') {
            out.push(rest[..end].to_owned());
        }
    }
    out
}

fn setup(db: &str, dir: &Path, events: usize) {
    calstore(
        db,
        &[
            "account",
            "add",
            "--login",
            "alice",
            "--email",
            "alice@example.com",
            "--max-sessions",
            "64",
            "--password-stdin",
        ],
        &format!("{PW}\n"),
    );
    let body: String = (0..events).map(|i| vevent(i, 0, "Event")).collect();
    let f = dir.join("calendar.ics");
    std::fs::write(&f, vcalendar(&body)).unwrap();
    calstore(
        db,
        &[
            "import",
            "--user",
            ALICE,
            "--expand-until",
            "20281231",
            f.to_str().unwrap(),
        ],
        "",
    );
}

fn run(db: &str, dir: &Path, o: &Opts, label: &str) -> Value {
    setup(db, dir, o.events);
    let server = Server::start_with(db, dir, "server", &["--rate", "1000000"], "http");
    let mut report = json!({"backend": label, "events": o.events});

    // Initial clone (median of 3 whole processes).
    let mut clones = Vec::new();
    for k in 0..3 {
        let r = format!("sqlite:{}", dir.join(format!("clone{k}.db")).display());
        let (_, d) = timed(|| {
            calstore(
                &r,
                &[
                    "clone",
                    "--server",
                    &server.url,
                    "--login",
                    "alice",
                    "--password-stdin",
                ],
                &format!("{PW}\n"),
            )
        });
        clones.push(ms(d));
    }
    report["clone_ms"] = json!(median(clones.clone()));
    report["clone_server_pull_ms"] = json!(last_ms(&server, "/sync/v1/pull"));
    eprintln!("clone: {clones:?} ms");

    // Incremental: a writer changes 10 events; the first clone syncs.
    let writer = format!("sqlite:{}", dir.join("clone1.db").display());
    let reader = format!("sqlite:{}", dir.join("clone0.db").display());
    let changed: String = (0..10).map(|i| vevent(i * 7 + 1, 1, "Changed")).collect();
    let f = dir.join("changed.ics");
    std::fs::write(&f, vcalendar(&changed)).unwrap();
    calstore(
        &writer,
        &["import", "--user", ALICE, f.to_str().unwrap()],
        "",
    );
    calstore(&writer, &["sync"], "");
    let (_, d) = timed(|| calstore(&reader, &["sync", "--format", "json"], ""));
    report["incremental_sync_process_ms"] = json!(ms(d));
    report["incremental_server_ms"] = json!(last_ms(&server, "/sync/v1/pull"));
    // The raw round trip of an incremental pull of 10 changes, in-process (median of 20).
    {
        let a = agent();
        let token = login(&a, &server.url);
        let base = pull_all(&a, &server.url, &token, "bench-raw", None);
        let mut trips = Vec::new();
        let mut servers = Vec::new();
        for round in 0..20 {
            let body: String = (0..10)
                .map(|i| {
                    vevent(
                        i * 13 + round,
                        2 + u32::try_from(round).unwrap_or(0),
                        "Again",
                    )
                })
                .collect();
            std::fs::write(&f, vcalendar(&body)).unwrap();
            calstore(
                &writer,
                &["import", "--user", ALICE, f.to_str().unwrap()],
                "",
            );
            calstore(&writer, &["sync"], "");
            let cursor = Some(base.clone());
            let (_, d) = timed(|| pull_all(&a, &server.url, &token, "bench-raw", cursor));
            trips.push(ms(d));
            servers.push(last_ms(&server, "/sync/v1/pull"));
        }
        report["incremental_round_trip_ms"] = json!(median(trips));
        report["incremental_server_ms_median"] = json!(median(servers));
    }

    // A push of 1 000 offline mutations (one file each; fewer in the smoke run).
    let pusher = format!("sqlite:{}", dir.join("clone2.db").display());
    let push_dir = dir.join("push");
    std::fs::create_dir_all(&push_dir).unwrap();
    let files: Vec<String> = (0..o.pushes)
        .map(|i| {
            let p = push_dir.join(format!("p{i}.ics"));
            std::fs::write(&p, vcalendar(&vevent(2_000_000 + i, 0, "Offline"))).unwrap();
            p.display().to_string()
        })
        .collect();
    let mut args = vec!["import", "--user", ALICE];
    args.extend(files.iter().map(String::as_str));
    calstore(&pusher, &args, "");
    let (out, d) = timed(|| calstore(&pusher, &["sync", "--format", "json"], ""));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"], o.pushes, "{v}");
    report["push_mutations"] = json!(o.pushes);
    report["push_ms"] = json!(ms(d));
    eprintln!("{report}");

    // C clients, already in step (they start from the cursor of a full pull), syncing for S
    // seconds.
    let start_cursor = {
        let a = agent();
        let token = login(&a, &server.url);
        pull_all(&a, &server.url, &token, "bench-start", None)
    };
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let mut threads = Vec::new();
    for c in 0..o.clients {
        let url = server.url.clone();
        let start = start_cursor.clone();
        let (lat, err) = (Arc::clone(&latencies), Arc::clone(&errors));
        threads.push(std::thread::spawn(move || {
            let a = agent();
            let token = login(&a, &url);
            let client = format!("bench-c{c}");
            let mut cursor = Some(start);
            let mut seq = 0i64;
            let mut n = 0usize;
            while Instant::now() < deadline {
                n += 1;
                let t = Instant::now();
                let (status, v) = if n.is_multiple_of(5) {
                    seq += 1;
                    let ics = vcalendar(&vevent(1_000_000 + c * 100_000 + usize::try_from(seq).unwrap_or(0), 0, "Load"));
                    post(
                        &a,
                        &format!("{url}/sync/v1/push"),
                        Some(&token),
                        &json!({
                            "protocol": PROTOCOL_VERSION,
                            "schema": schema_versions(),
                            "client_id": client,
                            "mutations": [{"seq": seq, "mutation": {"kind": "record", "user": ALICE, "ics": ics}}],
                        }),
                    )
                } else {
                    post(
                        &a,
                        &format!("{url}/sync/v1/pull"),
                        Some(&token),
                        &pull_body(&client, cursor.as_deref()),
                    )
                };
                let took = ms(t.elapsed());
                if status == 200 {
                    if let Some(c) = v["cursor"].as_str() {
                        cursor = Some(c.to_owned());
                    }
                    lat.lock().unwrap().push(took);
                } else {
                    *err.lock().unwrap() += 1;
                }
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0 <= index < len"
        )]
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat[i]
    };
    report["concurrent"] = json!({
        "clients": o.clients,
        "seconds": elapsed,
        "requests": lat.len(),
        "requests_per_s": lat.len() as f64 / elapsed,
        "p50_ms": p(0.5),
        "p95_ms": p(0.95),
        "errors": *errors.lock().unwrap(),
    });
    report
}

/// Radicale with the same calendar: the initial sync-collection + multiget, and an
/// incremental sync-collection + multiget after 10 changes.
fn radicale(bin: &Path, dir: &Path, events: usize) -> Value {
    let root = dir.join("radicale");
    let coll = root.join("collection-root/alice/calendar");
    std::fs::create_dir_all(&coll).unwrap();
    std::fs::write(
        coll.join(".Radicale.props"),
        r#"{"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT"}"#,
    )
    .unwrap();
    for i in 0..events {
        std::fs::write(
            coll.join(format!("bench-{i}.ics")),
            vcalendar(&vevent(i, 0, "Event")),
        )
        .unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("radicale.conf");
    std::fs::write(
        &config,
        format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = warning\n",
            root.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .args(["--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/alice/calendar/");
    let a = agent();
    let t0 = Instant::now();
    loop {
        if a.get(&base).call().is_ok() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "radicale did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report_req = |body: String| -> String {
        let req = ureq::http::Request::builder()
            .method(ureq::http::Method::from_bytes(b"REPORT").unwrap())
            .uri(&base)
            .header("Depth", "1")
            .header("Content-Type", "application/xml")
            .header("Authorization", "Basic YWxpY2U6eA==")
            .body(body)
            .unwrap();
        let mut resp = a.run(req).unwrap();
        resp.body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .unwrap()
    };
    let sync = |token: &str| -> (String, Vec<String>) {
        let body = format!(
            r#"<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
        );
        let text = report_req(body);
        let token = element_texts(&text, "sync-token")
            .into_iter()
            .next()
            .unwrap_or_default();
        let hrefs = element_texts(&text, "href");
        (token, hrefs)
    };
    let multiget = |hrefs: &[String]| -> usize {
        let mut body = String::from(
            r#"<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>"#,
        );
        for h in hrefs {
            body.push_str(&format!("<D:href>{h}</D:href>"));
        }
        body.push_str("</C:calendar-multiget>");
        report_req(body).len()
    };
    let (first, d_initial) = timed(|| {
        let (token, hrefs) = sync("");
        multiget(&hrefs);
        (token, hrefs.len())
    });
    assert!(first.1 >= events, "radicale listed {} of {events}", first.1);
    // 10 changes through HTTP, then the incremental sync.
    for i in 0..10 {
        let req = ureq::http::Request::builder()
            .method("PUT")
            .uri(format!("{base}bench-{}.ics", i * 7 + 1))
            .header("Content-Type", "text/calendar")
            .body(vcalendar(&vevent(i * 7 + 1, 1, "Changed")))
            .unwrap();
        let status = a.run(req).unwrap().status().as_u16();
        assert!(status < 300, "PUT {status}");
    }
    let (n, d_incr) = timed(|| {
        let (_, hrefs) = sync(&first.0);
        multiget(&hrefs);
        hrefs.len()
    });
    let _ = child.kill();
    let _ = child.wait();
    json!({
        "peer": "radicale",
        "initial_ms": ms(d_initial),
        "incremental_ms": ms(d_incr),
        "incremental_hrefs": n,
    })
}

fn main() {
    // `cargo bench` passes --bench; ignore it.
    let o = opts();
    let dir = tempfile::tempdir().unwrap();
    let report = if o.postgres {
        let url =
            std::env::var("CALSTORE_TEST_PG_URL").expect("CALSTORE_TEST_PG_URL for --postgres");
        let schema = format!("bench_sync_{}", std::process::id());
        let mut c = calstore_native::PgConnection::connect(&url).unwrap();
        c.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let db = format!("{url}{sep}options=-csearch_path%3D{schema}");
        let r = run(&db, dir.path(), &o, "postgres");
        c.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .unwrap();
        r
    } else {
        let db = format!("sqlite:{}", dir.path().join("server.db").display());
        run(&db, dir.path(), &o, "sqlite")
    };
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    let peer = std::env::var("RADICALE").ok().filter(|_| !o.smoke);
    if let Some(bin) = peer {
        let peer = radicale(Path::new(&bin), dir.path(), o.events);
        let ratio_initial =
            peer["initial_ms"].as_f64().unwrap() / report["clone_ms"].as_f64().unwrap();
        let ratio_incr = peer["incremental_ms"].as_f64().unwrap()
            / report["incremental_round_trip_ms"].as_f64().unwrap();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "peer": peer,
                "radicale_over_calstore_initial": ratio_initial,
                "radicale_over_calstore_incremental": ratio_incr,
            }))
            .unwrap()
        );
    }
}
