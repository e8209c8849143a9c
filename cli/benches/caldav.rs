//! The CalDAV benchmark (not a timed test): the issue's workload through HTTP on loopback,
//! against `calstore serve` on SQLite and on PostgreSQL and, when their venv exists
//! (`scripts/caldav-clients.sh` makes it), against Radicale and Xandikos from PyPI.
//!
//! ```sh
//! cargo bench -p calstore-cli --bench caldav                 # SQLite (+ PostgreSQL with CALSTORE_TEST_PG_URL)
//! cargo bench -p calstore-cli --bench caldav -- --events 5000 --peer-events 500 --seconds 10
//! ```
//!
//! Workload: N one-hour events spread over two years from 2026-01-01 (seeded), 10 % of them
//! weekly without end; PUT one by one (PUTs/s over the whole fill and over the last tenth);
//! then medians of a one-week calendar-query (getetag) and free-busy-query, a sync-collection
//! after 10 changes (client time and the server's own time from its request log), and 8 and
//! 64 concurrent clients mixing GET (60 %), PUT (20 %) and calendar-query (20 %) for S seconds
//! (requests/s, p95, errors, 423s). The peers get fewer events (`--peer-events`, they fill at
//! a few PUTs a second and slow down as the calendar grows), which flatters them: the ratios
//! are lower bounds. Results: a table on stdout and `target/caldav-bench.json`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const NOW: &str = "20261206T120000Z";
const KEY: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";

struct Opts {
    events: usize,
    peer_events: usize,
    seconds: u64,
}

/// A server under test: where its calendar collection is and how to log in.
struct Target {
    name: String,
    collection: String,
    auth: Option<String>,
    /// The server's request log (calstore's JSON lines), for server-side times.
    log: Option<PathBuf>,
    child: Child,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .max_idle_connections_per_host(128)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn request(
    agent: &ureq::Agent,
    auth: Option<&str>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    if let Some(a) = auth {
        b = b.header("Authorization", a);
    }
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    match agent.run(b.body(body.to_owned()).unwrap()) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            (status, r.body_mut().read_to_string().unwrap_or_default())
        }
        Err(e) => (599, e.to_string()),
    }
}

/// A seeded generator (xorshift), so every run and every server gets the same events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn event(i: usize, rng: &mut Rng, summary: &str) -> String {
    let day = rng.below(730);
    let hour = 7 + rng.below(12);
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        + chrono::TimeDelta::days(i64::try_from(day).unwrap());
    let s = format!("{}T{hour:02}0000Z", start.format("%Y%m%d"));
    let e = format!("{}T{:02}0000Z", start.format("%Y%m%d"), hour + 1);
    let rule = if i.is_multiple_of(10) {
        "RRULE:FREQ=WEEKLY\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore bench//EN\r\nBEGIN:VEVENT\r\n\
         UID:bench-{i}@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{s}\r\nDTEND:{e}\r\n\
         {rule}SUMMARY:{summary} {i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn wait_ready(url: &str) {
    let a = agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if a.get(url).call().is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{url} did not come up");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn calstore(db: &str, args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_calstore"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CALSTORE_NOW", NOW)
        .env("CALSTORE_PSEUDONYM_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "calstore {args:?}");
}

fn start_calstore(name: &str, db: &str, dir: &Path) -> Target {
    calstore(
        db,
        &[
            "account",
            "add",
            "--login",
            "bench",
            "--email",
            "bench@example.com",
            "--password-stdin",
        ],
        "bench password\n",
    );
    let log = dir.join(format!("{name}.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_calstore"))
        .args([
            "--db",
            db,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "100000000",
        ])
        .env("CALSTORE_NOW", NOW)
        .env("CALSTORE_PSEUDONYM_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bench:bench password")
    );
    Target {
        name: name.to_owned(),
        collection: format!("{url}/dav/calendars/bench@example.com/default/"),
        auth: Some(auth),
        log: Some(log),
        child,
    }
}

fn venv() -> Option<PathBuf> {
    let v = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/caldav-clients/venv/bin");
    v.join("python").exists().then_some(v)
}

fn start_radicale(bin: &Path, dir: &Path) -> Target {
    let port = free_port();
    let child = Command::new(bin.join("python"))
        .args([
            "-m",
            "radicale",
            "--server-hosts",
            &format!("127.0.0.1:{port}"),
            "--storage-filesystem-folder",
            &dir.join("radicale").display().to_string(),
            "--auth-type",
            "none",
            "--rights-type",
            "authenticated",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/.web/"));
    use base64::Engine as _;
    let t = Target {
        name: "Radicale 3.9.0".into(),
        collection: format!("{base}/bench/calendar/"),
        auth: Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bench:x")
        )),
        log: None,
        child,
    };
    let (s, b) = request(
        &agent(),
        t.auth.as_deref(),
        "MKCALENDAR",
        &t.collection,
        &[],
        "",
    );
    assert!(s < 300, "radicale MKCALENDAR {s} {b}");
    t
}

fn start_xandikos(bin: &Path, dir: &Path) -> Target {
    let port = free_port();
    let child = Command::new(bin.join("xandikos"))
        .args([
            "-d",
            &dir.join("xandikos").display().to_string(),
            "--defaults",
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/"));
    Target {
        name: "Xandikos 0.4.10".into(),
        collection: format!("{base}/user/calendars/calendar/"),
        auth: None,
        log: None,
        child,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn p95(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = (v.len() * 95 / 100).min(v.len().saturating_sub(1));
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The server's own time of its last request to `path` with `method` (calstore's log).
fn server_ms(log: &Path, method: &str) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["method"] == method).then(|| v["ms"].as_f64()).flatten()
    })
}

const WEEK_QUERY: &str = "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
    <d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">\
    <c:comp-filter name=\"VEVENT\"><c:time-range start=\"20260615T000000Z\" end=\"20260622T000000Z\"/>\
    </c:comp-filter></c:comp-filter></c:filter></c:calendar-query>";

const WEEK_FREEBUSY: &str = "<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
    <c:time-range start=\"20260615T000000Z\" end=\"20260622T000000Z\"/></c:free-busy-query>";

fn sync_body(token: &str) -> String {
    format!(
        "<d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>{token}</d:sync-token>\
         <d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
}

fn token_of(body: &str) -> Option<String> {
    let i = body.find("sync-token>")? + "sync-token>".len();
    let j = body[i..].find('<')? + i;
    Some(body[i..j].to_owned())
}

#[derive(Debug, Default, Clone, serde::Serialize)]
struct Mix {
    clients: usize,
    requests: usize,
    per_second: f64,
    p95_ms: f64,
    errors: usize,
    locked: usize,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
struct Figures {
    server: String,
    events: usize,
    puts_per_s: f64,
    puts_per_s_last_tenth: f64,
    week_query_ms: f64,
    week_query_server_ms: Option<f64>,
    week_query_hits: usize,
    week_freebusy_ms: f64,
    week_freebusy_server_ms: Option<f64>,
    sync_after_10_ms: f64,
    sync_after_10_server_ms: Option<f64>,
    mixes: Vec<Mix>,
}

fn run(t: &Target, n: usize, seconds: u64) -> Figures {
    let a = agent();
    let mut f = Figures {
        server: t.name.clone(),
        events: n,
        ..Figures::default()
    };
    // Fill.
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut tenth = started;
    for i in 0..n {
        if i == n - n / 10 {
            tenth = Instant::now();
        }
        let body = event(i, &mut rng, "Event");
        let (s, b) = request(
            &a,
            t.auth.as_deref(),
            "PUT",
            &format!("{}bench-{i}.ics", t.collection),
            &[("Content-Type", "text/calendar")],
            &body,
        );
        assert!(s < 300, "{} PUT {i}: {s} {b}", t.name);
    }
    let total = started.elapsed();
    f.puts_per_s = n as f64 / total.as_secs_f64();
    f.puts_per_s_last_tenth = (n / 10).max(1) as f64 / tenth.elapsed().as_secs_f64();
    eprintln!("{}: filled {n} in {:.1}s", t.name, total.as_secs_f64());
    // Week queries.
    let mut q = Vec::new();
    let mut qs = Vec::new();
    for _ in 0..21 {
        let s0 = Instant::now();
        let (s, b) = request(
            &a,
            t.auth.as_deref(),
            "REPORT",
            &t.collection,
            &[("Depth", "1"), ("Content-Type", "application/xml")],
            WEEK_QUERY,
        );
        q.push(ms(s0.elapsed()));
        assert!(s == 207, "{} query {s}", t.name);
        f.week_query_hits = b.matches("getetag>").count() / 2;
        if let Some(l) = &t.log
            && let Some(x) = server_ms(l, "REPORT")
        {
            qs.push(x);
        }
    }
    f.week_query_ms = median(q);
    f.week_query_server_ms = (!qs.is_empty()).then(|| median(qs));
    let mut q = Vec::new();
    let mut qs = Vec::new();
    for _ in 0..21 {
        let s0 = Instant::now();
        let (s, _) = request(
            &a,
            t.auth.as_deref(),
            "REPORT",
            &t.collection,
            &[("Depth", "1"), ("Content-Type", "application/xml")],
            WEEK_FREEBUSY,
        );
        q.push(ms(s0.elapsed()));
        assert!(s == 200, "{} free-busy {s}", t.name);
        if let Some(l) = &t.log
            && let Some(x) = server_ms(l, "REPORT")
        {
            qs.push(x);
        }
    }
    f.week_freebusy_ms = median(q);
    f.week_freebusy_server_ms = (!qs.is_empty()).then(|| median(qs));
    // Sync after 10 changes.
    let mut q = Vec::new();
    let mut qs = Vec::new();
    let (_, b) = request(
        &a,
        t.auth.as_deref(),
        "REPORT",
        &t.collection,
        &[("Depth", "1"), ("Content-Type", "application/xml")],
        &sync_body(""),
    );
    let mut token = token_of(&b).expect("a sync token");
    let mut extra = n;
    for _ in 0..5 {
        for _ in 0..10 {
            let body = event(extra, &mut rng, "Change");
            request(
                &a,
                t.auth.as_deref(),
                "PUT",
                &format!("{}bench-{extra}.ics", t.collection),
                &[("Content-Type", "text/calendar")],
                &body,
            );
            extra += 1;
        }
        let s0 = Instant::now();
        let (s, b) = request(
            &a,
            t.auth.as_deref(),
            "REPORT",
            &t.collection,
            &[("Depth", "1"), ("Content-Type", "application/xml")],
            &sync_body(&token),
        );
        q.push(ms(s0.elapsed()));
        assert!(s == 207, "{} sync {s} {b}", t.name);
        assert!(
            b.matches("<D:response>").count() >= 10 || t.log.is_none(),
            "{b}"
        );
        token = token_of(&b).expect("a sync token");
        if let Some(l) = &t.log
            && let Some(x) = server_ms(l, "REPORT")
        {
            qs.push(x);
        }
    }
    f.sync_after_10_ms = median(q);
    f.sync_after_10_server_ms = (!qs.is_empty()).then(|| median(qs));
    // Concurrent clients.
    for clients in [8usize, 64] {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut handles = Vec::new();
        for c in 0..clients {
            let stop = Arc::clone(&stop);
            let coll = t.collection.clone();
            let auth = t.auth.clone();
            handles.push(std::thread::spawn(move || {
                let a = agent();
                let mut rng = Rng(1000 + c as u64);
                let mut lat = Vec::new();
                let (mut errors, mut locked) = (0usize, 0usize);
                while !stop.load(Ordering::Relaxed) {
                    let pick = rng.below(10);
                    let i = usize::try_from(rng.below(n as u64)).unwrap();
                    let s0 = Instant::now();
                    let (s, _) = if pick < 6 {
                        request(
                            &a,
                            auth.as_deref(),
                            "GET",
                            &format!("{}bench-{i}.ics", coll),
                            &[],
                            "",
                        )
                    } else if pick < 8 {
                        let body = event(i, &mut rng, "Edited");
                        request(
                            &a,
                            auth.as_deref(),
                            "PUT",
                            &format!("{}bench-{i}.ics", coll),
                            &[("Content-Type", "text/calendar")],
                            &body,
                        )
                    } else {
                        request(
                            &a,
                            auth.as_deref(),
                            "REPORT",
                            &coll,
                            &[("Depth", "1"), ("Content-Type", "application/xml")],
                            WEEK_QUERY,
                        )
                    };
                    lat.push(ms(s0.elapsed()));
                    if s == 423 {
                        locked += 1;
                    }
                    if s >= 300 {
                        errors += 1;
                    }
                }
                (lat, errors, locked)
            }));
        }
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        let (mut errors, mut locked) = (0, 0);
        for h in handles {
            let (l, e, k) = h.join().unwrap();
            all.extend(l);
            errors += e;
            locked += k;
        }
        let elapsed = started.elapsed().as_secs_f64();
        f.mixes.push(Mix {
            clients,
            requests: all.len(),
            per_second: all.len() as f64 / elapsed,
            p95_ms: p95(&mut all),
            errors,
            locked,
        });
    }
    f
}

fn main() {
    let mut opts = Opts {
        events: 5000,
        peer_events: 500,
        seconds: 10,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    let mut peers = true;
    let mut backends: Vec<String> = vec!["sqlite".into(), "postgres".into()];
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--events" => opts.events = v.parse().unwrap(),
            "--peer-events" => opts.peer_events = v.parse().unwrap(),
            "--seconds" => opts.seconds = v.parse().unwrap(),
            "--no-peers" => {
                peers = false;
                i += 1;
                continue;
            }
            "--backends" => backends = v.split(',').map(str::to_owned).collect(),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run (SQLite, no peers, a small calendar) that checks the driver works.
    if !args.iter().any(|a| a == "--bench") {
        opts.events = 50;
        opts.seconds = 1;
        peers = false;
        backends = vec!["sqlite".into()];
    }
    let dir = tempfile::tempdir().unwrap();
    let mut results: Vec<Figures> = Vec::new();
    if backends.iter().any(|b| b == "sqlite") {
        let db = format!("sqlite:{}", dir.path().join("bench.db").display());
        let t = start_calstore("calstore (SQLite)", &db, dir.path());
        results.push(run(&t, opts.events, opts.seconds));
    }
    if backends.iter().any(|b| b == "postgres") {
        match std::env::var("CALSTORE_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => {
                let mut conn = calstore_native::PgConnection::connect(&url).unwrap();
                let schema = format!("caldav_bench_{}", std::process::id());
                use calstore_core::SqlConnection as _;
                conn.execute_batch(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .unwrap();
                let sep = if url.contains('?') { '&' } else { '?' };
                let db = format!("{url}{sep}options=-csearch_path%3D{schema}");
                {
                    let t = start_calstore("calstore (PostgreSQL)", &db, dir.path());
                    results.push(run(&t, opts.events, opts.seconds));
                }
                let _ = conn.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
            _ => eprintln!("CALSTORE_TEST_PG_URL is not set: no PostgreSQL run"),
        }
    }
    if peers {
        match venv() {
            Some(bin) => {
                let r = start_radicale(&bin, dir.path());
                results.push(run(&r, opts.peer_events, opts.seconds));
                drop(r);
                let x = start_xandikos(&bin, dir.path());
                results.push(run(&x, opts.peer_events, opts.seconds));
            }
            None => eprintln!("no venv (run scripts/caldav-clients.sh once): no peers"),
        }
    }
    print_table(&results);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/caldav-bench.json");
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    eprintln!("written {}", out.display());
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.2}"))
}

fn print_table(results: &[Figures]) {
    println!(
        "| server | events | PUTs/s (all / last tenth) | 1-week query ms (server) | hits | 1-week free/busy ms (server) | sync after 10 ms (server) | 8 clients req/s, p95 ms, errors, 423 | 64 clients req/s, p95 ms, errors, 423 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in results {
        let mix = |i: usize| {
            f.mixes.get(i).map_or("-".into(), |m| {
                format!(
                    "{:.0}, {:.1}, {}, {}",
                    m.per_second, m.p95_ms, m.errors, m.locked
                )
            })
        };
        println!(
            "| {} | {} | {:.0} / {:.0} | {:.2} ({}) | {} | {:.2} ({}) | {:.2} ({}) | {} | {} |",
            f.server,
            f.events,
            f.puts_per_s,
            f.puts_per_s_last_tenth,
            f.week_query_ms,
            opt(f.week_query_server_ms),
            f.week_query_hits,
            f.week_freebusy_ms,
            opt(f.week_freebusy_server_ms),
            f.sync_after_10_ms,
            opt(f.sync_after_10_server_ms),
            mix(0),
            mix(1),
        );
    }
    let by: BTreeMap<&str, &Figures> = results.iter().map(|f| (f.server.as_str(), f)).collect();
    if let Some(us) = by.get("calstore (SQLite)") {
        for (name, peer) in &by {
            if name.starts_with("calstore") {
                continue;
            }
            println!(
                "calstore (SQLite) / {name}: PUTs/s x{:.0}, week query x{:.0} faster, free/busy x{:.0} faster, sync x{:.0} faster, 8 clients x{:.0} req/s",
                us.puts_per_s / peer.puts_per_s,
                peer.week_query_ms / us.week_query_ms,
                peer.week_freebusy_ms / us.week_freebusy_ms,
                peer.sync_after_10_ms / us.sync_after_10_ms,
                us.mixes.first().map_or(0.0, |m| m.per_second)
                    / peer.mixes.first().map_or(1.0, |m| m.per_second),
            );
        }
    }
}
