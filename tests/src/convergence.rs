//! The convergence suite: seeded, replayable random histories of one server and several
//! clients over an in-memory network that drops, duplicates, reorders and delays messages.
//! Clients edit the same events offline (new versions, cancellations, requests, counters) and
//! book a quota; their local commits survive "crashes" (a client holds no state outside its
//! database), and a server that commits but whose answer is lost is a dropped reply.
//!
//! After every history the network heals, every client syncs until its outbox is empty, and
//! the invariants are checked:
//! 1. every replica equals the server, table by table, for the owners it syncs;
//! 2. every mutation made is answered exactly once, and none is applied twice;
//! 3. the iTIP order decided every contested edit: replaying the server's order of
//!    application, an edit is applied exactly when its (SEQUENCE, DTSTAMP) is not older than
//!    the stored one, superseded otherwise, and the server ends with a newest version;
//! 4. the quota is never exceeded, and a replica without write access had its edits
//!    rejected.
//!
//! A failing history panics with its seed; [`run`] with that seed replays it.

use std::collections::{BTreeMap, BTreeSet};

use calstore_core::ical::datetime::format_utc;
use calstore_core::schema::catalogue;
use calstore_core::sync::client::{self, OutboxEntry};
use calstore_core::sync::server::{self, Access};
use calstore_core::sync::wire::{
    PullRequest, PullResponse, PushRequest, PushResponse, ResultStatus, Role,
};
use calstore_core::sync::{BookingSpec, Mutation, Version};
use calstore_core::{FixedClock, RecordOptions, SqlConnection, Store, Value};
use chrono::TimeDelta;

use crate::support::t0;

/// The shared calendar every client writes (one only reads it).
pub const TEAM: &str = "mailto:team@example.com";
/// The room whose quota clients book.
pub const ROOM: &str = "mailto:room@example.com";
/// The room's quota.
pub const QUOTA: &str = "room";
/// The quota's limit per organiser group.
const LIMIT_HOURS: i64 = 3;
/// The contested events.
const CONTESTED: [&str; 3] = ["c0@example.com", "c1@example.com", "c2@example.com"];

/// A small deterministic generator (splitmix64), so that a seed replays a history exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i]
    }
}

/// How hostile the network is, in percent per message.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// A request never reaches the server.
    pub lose_request: u64,
    /// The server processes the request but its answer is lost (a server killed after its
    /// commit, before replying).
    pub lose_reply: u64,
    /// The request is delivered twice.
    pub duplicate: u64,
    /// The answer arrives later, after other messages.
    pub delay: u64,
}

impl Faults {
    /// The default mix.
    pub const HOSTILE: Faults = Faults {
        lose_request: 10,
        lose_reply: 15,
        duplicate: 10,
        delay: 15,
    };
    /// No faults (the healing phase).
    pub const NONE: Faults = Faults {
        lose_request: 0,
        lose_reply: 0,
        duplicate: 0,
        delay: 0,
    };
}

/// A delayed answer.
#[derive(Debug)]
enum Late {
    Push(usize, PushResponse),
    Pull(usize, PullRequest, Vec<PullResponse>),
}

/// One client: its replica, its access and its name.
#[derive(Debug)]
struct Client<C> {
    store: Store<C>,
    access: Access,
    own: String,
    writes_team: bool,
}

/// What the server applied, in order: (client, seq, mutation, status).
type Applied = Vec<(usize, i64, Mutation, ResultStatus)>;

fn trace() -> bool {
    std::env::var_os("CALSTORE_CONVERGENCE_TRACE").is_some()
}

/// One history.
struct Sim<S, C> {
    rng: Rng,
    seed: u64,
    server: Store<S>,
    epoch: String,
    clients: Vec<Client<C>>,
    late: Vec<Late>,
    applied: Applied,
    applied_count: BTreeMap<(usize, i64), usize>,
    opts: RecordOptions,
}

fn opts() -> RecordOptions {
    RecordOptions::new(t0())
}

fn clock() -> Box<FixedClock> {
    Box::new(FixedClock::new(t0()))
}

fn event_ics(uid: &str, version: &Version, hour: u32, summary: &str) -> String {
    let stamp = version.dtstamp.as_deref().unwrap_or("20141001T000000Z");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//convergence//EN\r\n\
         BEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:{}\r\nDTSTAMP:{stamp}\r\n\
         DTSTART:20141010T{hour:02}0000Z\r\nDTEND:20141010T{hour:02}3000Z\r\n\
         SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        version.sequence
    )
}

impl<S: SqlConnection, C: SqlConnection> Sim<S, C> {
    fn new(seed: u64, server_conn: S, mut client_conn: impl FnMut() -> C, clients: usize) -> Self {
        let mut server = Store::open(server_conn, clock()).expect("server store");
        let epoch = server::init(&mut server, &format!("epoch-{seed}")).expect("server init");
        server
            .journal()
            .set_limit(QUOTA, "*", &format!("PT{LIMIT_HOURS}H"))
            .expect("limit");
        server
            .journal()
            .set_delegates(QUOTA, &[TEAM.to_owned()])
            .expect("delegates");
        let mut list = Vec::new();
        for i in 0..clients {
            let own = format!("mailto:client{i}@example.com");
            // The last client only reads the shared calendar.
            let writes_team = i + 1 < clients || clients == 1;
            let role = if writes_team { Role::Write } else { Role::Read };
            let access = Access {
                account_id: i64::try_from(i).unwrap_or(0) + 1,
                calendars: [(own.clone(), Role::Owner), (TEAM.to_owned(), role)]
                    .into_iter()
                    .collect(),
            };
            let mut store = Store::open(client_conn(), clock()).expect("client store");
            client::init(
                &mut store,
                "sim://server",
                &format!("c{i}"),
                &format!("client-{i}"),
            )
            .expect("client init");
            list.push(Client {
                store,
                access,
                own,
                writes_team,
            });
        }
        Sim {
            rng: Rng::new(seed),
            seed,
            server,
            epoch,
            clients: list,
            late: Vec::new(),
            applied: Vec::new(),
            applied_count: BTreeMap::new(),
            opts: opts(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!("convergence seed {}: {what}", self.seed)
    }

    /// The server applies a push (and the harness notes what it applied).
    fn serve_push(&mut self, i: usize, req: &PushRequest) -> Option<PushResponse> {
        let access = self.clients[i].access.clone();
        match server::push_counting(&mut self.server, &access, req, &self.opts) {
            Ok((response, applied)) => {
                for seq in applied {
                    *self.applied_count.entry((i, seq)).or_insert(0) += 1;
                    let env = req.mutations.iter().find(|e| e.seq == seq);
                    let status = response.results.iter().find(|r| r.seq == seq);
                    if let (Some(env), Some(r)) = (env, status) {
                        self.applied.push((i, seq, env.mutation.clone(), r.status));
                    }
                }
                Some(response)
            }
            Err(e) => self.fail(&format!("push failed: {e}")),
        }
    }

    fn serve_pull(&mut self, i: usize, req: &PullRequest) -> Vec<PullResponse> {
        let access = self.clients[i].access.clone();
        let mut pages = Vec::new();
        let mut req = req.clone();
        loop {
            let page = match server::pull(&mut self.server, &access, &req, &self.epoch) {
                Ok(p) => p,
                Err(e) => self.fail(&format!("pull failed: {e}")),
            };
            let more = page.more;
            let next = client::next_page(&req, &page);
            pages.push(page);
            if !more {
                return pages;
            }
            req = next;
        }
    }

    fn deliver_push(&mut self, i: usize, response: &PushResponse) {
        if trace() {
            eprintln!(
                "client {i} gets push results {:?}",
                response
                    .results
                    .iter()
                    .map(|r| (r.seq, r.status))
                    .collect::<Vec<_>>()
            );
        }
        if let Err(e) = client::apply_push(&mut self.clients[i].store, response) {
            self.fail(&format!("apply push: {e}"));
        }
    }

    fn deliver_pull(&mut self, i: usize, req: &PullRequest, pages: &[PullResponse]) -> bool {
        let opts = self.opts.clone();
        match client::apply_pull(&mut self.clients[i].store, req, pages, &opts) {
            Ok(outcome) => {
                if trace() {
                    let items: Vec<String> = pages
                        .iter()
                        .flat_map(|p| p.items.iter())
                        .filter(|it| it.table == "requests")
                        .map(|it| {
                            format!(
                                "{}@{}:{}",
                                it.key,
                                it.revision,
                                it.data.iter().map(|d| d.rows.len()).sum::<usize>()
                            )
                        })
                        .collect();
                    eprintln!(
                        "client {i} pull (cursor {:?}, keys {}) -> {outcome:?} requests items {items:?}",
                        req.cursor,
                        req.keys.len()
                    );
                }
                outcome.must_refetch
            }
            Err(e) => self.fail(&format!("apply pull: {e}")),
        }
    }

    /// One push over the network.
    fn push(&mut self, i: usize, faults: Faults) {
        let req = match client::push_request(
            &mut self.clients[i].store,
            1 + usize::try_from(self.rng.below(8)).unwrap_or(0),
        ) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => self.fail(&format!("push request: {e}")),
        };
        if self.rng.chance(faults.lose_request) {
            return;
        }
        let times = if self.rng.chance(faults.duplicate) {
            2
        } else {
            1
        };
        let mut reply = None;
        for _ in 0..times {
            reply = self.serve_push(i, &req);
        }
        let Some(reply) = reply else { return };
        if self.rng.chance(faults.lose_reply) {
            return;
        }
        if self.rng.chance(faults.delay) {
            self.late.push(Late::Push(i, reply));
        } else {
            self.deliver_push(i, &reply);
        }
    }

    /// One pull over the network (all its pages).
    fn pull(&mut self, i: usize, faults: Faults) {
        let limit = Some(1 + u32::try_from(self.rng.below(6)).unwrap_or(0));
        let mut refetch = false;
        for _ in 0..3 {
            let req = match client::pull_request(&mut self.clients[i].store, limit, refetch) {
                Ok(r) => r,
                Err(e) => self.fail(&format!("pull request: {e}")),
            };
            if self.rng.chance(faults.lose_request) {
                return;
            }
            let pages = self.serve_pull(i, &req);
            if self.rng.chance(faults.duplicate) {
                let _ = self.serve_pull(i, &req);
            }
            if self.rng.chance(faults.lose_reply) {
                return;
            }
            if self.rng.chance(faults.delay) {
                self.late.push(Late::Pull(i, req, pages));
                return;
            }
            refetch = self.deliver_pull(i, &req, &pages);
            if !refetch {
                return;
            }
        }
    }

    /// Delivers some delayed answers, in a random order.
    fn deliver_late(&mut self) {
        while !self.late.is_empty() && self.rng.chance(60) {
            let k = usize::try_from(self.rng.below(self.late.len() as u64)).unwrap_or(0);
            match self.late.swap_remove(k) {
                Late::Push(i, r) => self.deliver_push(i, &r),
                Late::Pull(i, req, pages) => {
                    self.deliver_pull(i, &req, &pages);
                }
            }
        }
    }

    /// The version a client sees of a contested event.
    fn local_version(&mut self, i: usize, uid: &str) -> Option<Version> {
        calstore_core::sync::mutation::stored_version(&mut self.clients[i].store, TEAM, uid, None)
            .ok()
            .flatten()
            .map(|v| Version {
                sequence: v.sequence,
                dtstamp: v.dtstamp,
            })
    }

    /// A random local write of client `i`.
    fn local_write(&mut self, i: usize) {
        let uid = *self.rng.pick(&CONTESTED);
        let own = self.clients[i].own.clone();
        let m = match self.rng.below(9) {
            0..=2 => {
                let base = self.local_version(i, uid).map_or(0, |v| v.sequence);
                let version = Version {
                    sequence: base + i64::try_from(self.rng.below(3)).unwrap_or(0),
                    dtstamp: Some(format_utc(
                        t0() + TimeDelta::minutes(i64::try_from(self.rng.below(50)).unwrap_or(0)),
                    )),
                };
                let hour = 8 + u32::try_from(self.rng.below(8)).unwrap_or(0);
                Mutation::Record {
                    user: TEAM.to_owned(),
                    ics: event_ics(uid, &version, hour, &format!("by client {i}")),
                    replace_recurrences: false,
                }
            }
            3 => {
                let base = self.local_version(i, uid);
                if self.rng.chance(50) {
                    Mutation::Cancel {
                        user: TEAM.to_owned(),
                        uid: uid.to_owned(),
                        rid: None,
                        base,
                    }
                } else {
                    Mutation::Uncancel {
                        user: TEAM.to_owned(),
                        uid: uid.to_owned(),
                        rid: None,
                        base,
                    }
                }
            }
            4 => {
                if self.rng.chance(50) {
                    Mutation::QueueRequest {
                        user: TEAM.to_owned(),
                        uid: uid.to_owned(),
                        rid: None,
                        request_type: None,
                    }
                } else {
                    Mutation::DequeueRequest {
                        user: TEAM.to_owned(),
                        uid: uid.to_owned(),
                        rid: None,
                    }
                }
            }
            5 => {
                let seq = self.rng.below(3);
                Mutation::SetCounter {
                    user: TEAM.to_owned(),
                    other: own.clone(),
                    uid: uid.to_owned(),
                    rid: None,
                    text: format!(
                        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:{seq}\r\n\
                         DTSTAMP:20141005T00000{}Z\r\nDTSTART:20141010T100000Z\r\n\
                         DTEND:20141010T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                        self.rng.below(10)
                    ),
                }
            }
            6 => {
                let n = self.rng.below(4);
                let version = Version {
                    sequence: 0,
                    dtstamp: Some("20141001T000000Z".to_owned()),
                };
                if self.rng.chance(70) {
                    Mutation::Record {
                        user: own.clone(),
                        ics: event_ics(&format!("own{n}@client{i}"), &version, 9, "own"),
                        replace_recurrences: false,
                    }
                } else {
                    Mutation::Remove {
                        user: own.clone(),
                        uid: format!("own{n}@client{i}"),
                        rid: None,
                        base: None,
                    }
                }
            }
            _ => {
                let day = 10 + self.rng.below(3);
                let hour = 8 + self.rng.below(8);
                Mutation::Reserve {
                    quota: QUOTA.to_owned(),
                    attendee: Some(ROOM.to_owned()),
                    booking: BookingSpec::Periods {
                        organiser: own.clone(),
                        uid: Some(format!("b{}@client{i}", self.rng.below(5))),
                        rid: None,
                        periods: vec![(
                            format!("201410{day:02}T{hour:02}0000Z"),
                            format!("201410{day:02}T{:02}0000Z", hour + 1),
                        )],
                        open_ended: false,
                    },
                }
            }
        };
        if trace() {
            eprintln!("client {i} writes {m:?}");
        }
        let opts = self.opts.clone();
        // A local write may be refused locally (e.g. uncancelling what is not cancelled
        // does nothing, which is fine); invalid data never reaches the outbox.
        let _ = client::record(&mut self.clients[i].store, &m, &opts);
    }

    /// Runs `steps` random steps under `faults`.
    fn run(&mut self, steps: usize, faults: Faults) {
        for _ in 0..steps {
            let i = usize::try_from(self.rng.below(self.clients.len() as u64)).unwrap_or(0);
            match self.rng.below(10) {
                0..=4 => self.local_write(i),
                5 | 6 => self.push(i, faults),
                7 | 8 => self.pull(i, faults),
                _ => self.deliver_late(),
            }
        }
    }

    /// Heals the network: late answers arrive, then every client syncs until nothing is
    /// pending and a last pull brings it up to date.
    fn heal(&mut self) {
        while !self.late.is_empty() {
            let k = self.late.len() - 1;
            match self.late.swap_remove(k) {
                Late::Push(i, r) => self.deliver_push(i, &r),
                Late::Pull(i, req, pages) => {
                    self.deliver_pull(i, &req, &pages);
                }
            }
        }
        for _round in 0..20 {
            let mut pending = 0;
            for i in 0..self.clients.len() {
                self.push(i, Faults::NONE);
                self.pull(i, Faults::NONE);
                pending += self.pending(i);
            }
            if pending == 0 {
                for i in 0..self.clients.len() {
                    self.pull(i, Faults::NONE);
                }
                return;
            }
        }
        self.fail("outboxes did not drain");
    }

    fn pending(&mut self, i: usize) -> usize {
        client::outbox(&mut self.clients[i].store)
            .map(|o| o.iter().filter(|e| e.state == "pending").count())
            .unwrap_or(usize::MAX)
    }

    fn check(&mut self) {
        // 1. Every replica equals the server for its owners.
        for i in 0..self.clients.len() {
            let owners: Vec<(bool, String)> = {
                let access = self.clients[i].access.clone();
                server::owners(&mut self.server, &access)
                    .unwrap_or_else(|e| self.fail(&format!("owners: {e}")))
                    .into_iter()
                    .map(|o| {
                        (
                            o.scope == calstore_core::sync::wire::WireScope::Journal,
                            o.owner,
                        )
                    })
                    .collect()
            };
            let server = dump(self.server.connection(), &owners);
            let replica = dump(self.clients[i].store.connection(), &owners);
            if server != replica {
                let diff: Vec<&String> = server
                    .keys()
                    .chain(replica.keys())
                    .filter(|t| server.get(*t) != replica.get(*t))
                    .collect();
                self.fail(&format!(
                    "client {i} differs from the server in {diff:?}: server {:?} replica {:?}",
                    diff.first().and_then(|t| server.get(*t)),
                    diff.first().and_then(|t| replica.get(*t))
                ));
            }
        }
        // 2. Answered exactly once, applied at most once.
        for ((i, seq), n) in &self.applied_count {
            if *n != 1 {
                self.fail(&format!("client {i} mutation {seq} applied {n} times"));
            }
        }
        for i in 0..self.clients.len() {
            let made: i64 = client::get(&mut self.clients[i].store, client::settings::NEXT_SEQ)
                .ok()
                .flatten()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1)
                - 1;
            for seq in 1..=made {
                if !self.applied_count.contains_key(&(i, seq)) {
                    self.fail(&format!("client {i} mutation {seq} was never processed"));
                }
            }
        }
        // 3. The iTIP order decided every contested edit.
        let mut stored: BTreeMap<String, Version> = BTreeMap::new();
        for (i, seq, m, status) in &self.applied {
            let Mutation::Record { user, ics, .. } = m else {
                continue;
            };
            if user != TEAM || *status == ResultStatus::Rejected {
                continue;
            }
            let events = calstore_core::ical::parse_events(ics.as_bytes())
                .unwrap_or_else(|e| self.fail(&format!("bad test event: {e}")));
            let e = &events[0];
            let v = Version::of(e);
            let wins = stored.get(&e.uid).is_none_or(|s| !v.is_older_than(s));
            let expected = if wins {
                ResultStatus::Applied
            } else {
                ResultStatus::Superseded
            };
            if *status != expected {
                self.fail(&format!(
                    "client {i} mutation {seq} ({} {v:?}, stored {:?}) was {status:?}, expected {expected:?}",
                    e.uid,
                    stored.get(&e.uid)
                ));
            }
            if wins {
                stored.insert(e.uid.clone(), v);
            }
        }
        for (uid, v) in &stored {
            let server =
                calstore_core::sync::mutation::stored_version(&mut self.server, TEAM, uid, None)
                    .ok()
                    .flatten();
            if server.as_ref().map(|s| (s.sequence, s.dtstamp.clone()))
                != Some((v.sequence, v.dtstamp.clone()))
            {
                self.fail(&format!(
                    "{uid}: the server holds {server:?}, not the newest {v:?}"
                ));
            }
        }
        // 4. The quota holds, and read-only edits were rejected.
        let limit = LIMIT_HOURS * 3600;
        for i in 0..self.clients.len() {
            let own = self.clients[i].own.clone();
            let used: i64 = self
                .server
                .journal()
                .get_entries(QUOTA, &own)
                .unwrap_or_default()
                .iter()
                .map(|e| e.period.duration_secs())
                .sum();
            if used > limit {
                self.fail(&format!("client {i} holds {used} s of a {limit} s quota"));
            }
        }
        for (i, seq, m, status) in &self.applied {
            let writes = self.clients[*i].writes_team;
            if !writes
                && matches!(m, Mutation::Record { user, .. } if user == TEAM)
                && *status != ResultStatus::Rejected
            {
                self.fail(&format!(
                    "read-only client {i} mutation {seq} was {status:?}"
                ));
            }
        }
    }
}

/// Every row of the calendar tables that belongs to `owners` ((is journal, name)), per table,
/// sorted.
pub fn dump<C: SqlConnection + ?Sized>(
    c: &mut C,
    owners: &[(bool, String)],
) -> BTreeMap<String, Vec<Vec<Value>>> {
    let mut out = BTreeMap::new();
    for t in catalogue::TABLES {
        let (journal, column) = match t.owner {
            catalogue::Owner::Store(col) => (false, col),
            catalogue::Owner::Journal(col) => (true, col),
            _ => continue,
        };
        let cols = t.columns.join(", ");
        let mut rows = Vec::new();
        for (j, owner) in owners {
            if *j != journal {
                continue;
            }
            let sql = format!(
                "SELECT {cols} FROM {} WHERE {column} = $1 ORDER BY {cols}",
                t.name
            );
            for r in c.query(&sql, &[owner.as_str().into()]).expect("dump") {
                rows.push(r.values().to_vec());
            }
        }
        rows.sort_by_key(|r| format!("{r:?}"));
        out.insert(t.name.to_owned(), rows);
    }
    out
}

/// What one history did, for reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Mutations applied by the server.
    pub applied: usize,
    /// Superseded.
    pub superseded: usize,
    /// Rejected.
    pub rejected: usize,
}

/// Runs one history: `steps` random steps of `clients` clients under `faults`, then heals
/// and checks the invariants (panicking with the seed on a violation).
pub fn run<S, C>(
    seed: u64,
    server: S,
    make_client: impl FnMut() -> C,
    clients: usize,
    steps: usize,
    faults: Faults,
) -> Report
where
    S: SqlConnection,
    C: SqlConnection,
{
    let mut sim = Sim::new(seed, server, make_client, clients);
    sim.run(steps, faults);
    sim.heal();
    sim.check();
    let mut r = Report::default();
    for (_, _, _, status) in &sim.applied {
        match status {
            ResultStatus::Applied => r.applied += 1,
            ResultStatus::Superseded => r.superseded += 1,
            ResultStatus::Rejected => r.rejected += 1,
        }
    }
    r
}

/// The outbox of a replica (for tests that look inside).
pub fn outbox_of<C: SqlConnection>(store: &mut Store<C>) -> Vec<OutboxEntry> {
    client::outbox(store).expect("outbox")
}

/// Keys a replica would ask for (for tests).
pub fn touched<C: SqlConnection>(store: &mut Store<C>) -> BTreeSet<String> {
    client::pull_request(store, None, false)
        .expect("pull request")
        .keys
        .into_iter()
        .map(|k| format!("{} {}", k.table, k.key))
        .collect()
}
