//! Concurrency: [`THREADS`] threads, each with its **own connection** to one database, writing
//! the same users and the same quota at once — what imip-agent guarded with one global
//! advisory lock and autocommit, and calstore with one transaction per operation serialised
//! on the owner's revision row (`docs/architecture.md`).
//!
//! Every function here is generic over the backend and takes a connection factory
//! (`Fn() -> C + Sync`), called once inside each thread (connections are not `Send`); the
//! SQLite and PostgreSQL tests instantiate the same code. Each function asserts:
//!
//! * **no lost update**: every request queued and not dequeued is there exactly once, every
//!   event, import and offer written is there, counts add up;
//! * **no duplicate row**: row counts of the tables equal the expected totals;
//! * **a quota is never exceeded**: of many simultaneous 1-hour bookings against `PT10H`,
//!   exactly ten are accepted, the entries sum to ten hours, the rest are declined with
//!   [`DeclineReason::Exceeded`] at full usage;
//! * **revisions**: every committed write that changed something got exactly one revision (a
//!   write that changed nothing — a declined reservation, a request already queued — gives
//!   its bump back before it commits); per owner, the committed revisions of all connections
//!   together are exactly `1..=n` for `n` successful writes that changed something (no
//!   duplicate, no gap), each connection saw its own strictly increasing, and the stored
//!   revision is `n`;
//! * **no unhandled busy/deadlock**: every operation returns `Ok` (retryable failures are
//!   retried by [`calstore_core::in_transaction`]; how many there were is reported).
//!
//! The revisions are observed by [`Recording`], a connection decorator that reads the value
//! the revision bump (the first statement of every write) returned and whether the
//! transaction then committed. Throughput is printed (run the tests with `--nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Barrier, mpsc};
use std::time::{Duration, Instant};

use calstore_core::ical::datetime::format_utc;
use calstore_core::{
    Booking, DbError, DeclineReason, Dialect, FixedClock, Offer, Period, QuotaDecision,
    RecordOptions, Row, SqlConnection, Store, TxKind, Value,
};
use chrono::{DateTime, TimeDelta, Utc};

use crate::support::{PORSCHE, RESOURCE, SAUNA, calendar, calendar_of, count_rows, event, t0};

/// Threads (and connections) writing at once.
pub const THREADS: usize = 8;

/// The two users every thread writes to.
pub const USERS: [&str; 2] = [RESOURCE, SAUNA];

/// The quota every thread books against.
pub const QUOTA: &str = "cars";

/// Another quota (writers of different quotas do not wait for each other on PostgreSQL).
pub const OTHER_QUOTA: &str = "rooms";

/// The group every organiser is counted in (`*` maps to it).
pub const GROUP: &str = "staff";

/// The quota's limit: ten hours.
pub const LIMIT: &str = "PT10H";
const LIMIT_SECS: i64 = 36_000;
const HOUR: i64 = 3_600;

/// What a backend is expected to do with writers of *different* owners.
#[derive(Clone, Copy, Debug)]
pub struct Backend {
    /// Printed with the figures.
    pub name: &'static str,
    /// True where writers of different owners do not wait for each other (PostgreSQL: row
    /// locks); false where every writer takes the one database write lock (SQLite).
    pub parallel_owners: bool,
}

// ---- the recording decorator ---------------------------------------------------------------

/// What one connection's write transactions did.
#[derive(Clone, Debug, Default)]
pub struct TxLog {
    /// (scope, owner, revision) of every committed write, in this connection's commit order.
    pub committed: Vec<(String, String, i64)>,
    /// Statements that failed with a retryable error (busy, serialization failure, deadlock):
    /// each made `in_transaction` roll back and run the whole write again.
    pub retryable_errors: u64,
    /// Transactions rolled back (for any reason).
    pub rollbacks: u64,
    pending: Option<(String, String, i64)>,
}

/// Pauses a connection right after the revision bump of its first write (the owner's row, or
/// SQLite's write lock, is then held) until told to go on.
#[derive(Debug)]
struct Gate {
    bumped: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
}

/// A connection decorator that logs each write transaction's revision and outcome
/// ([`TxLog`]), and can pause after the revision bump (see
/// [`reserve_waits_for_a_booking_in_progress`]).
#[derive(Debug)]
pub struct Recording<C> {
    inner: C,
    log: TxLog,
    gate: Option<Gate>,
}

/// The first statement of every write (see `core/src/changes.rs`).
const BUMP: &str = "INSERT INTO calstore_revisions";

/// The statements by which a write that changed nothing gives its bump back (see
/// `core/src/work.rs`).
const UNBUMP: [&str; 2] = [
    "UPDATE calstore_revisions SET revision = revision - 1",
    "DELETE FROM calstore_revisions",
];

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => panic!("expected a text parameter, got {other:?}"),
    }
}

impl<C: SqlConnection> Recording<C> {
    /// Wraps `inner`.
    pub fn new(inner: C) -> Self {
        Recording {
            inner,
            log: TxLog::default(),
            gate: None,
        }
    }

    /// The log so far.
    pub fn log(&self) -> &TxLog {
        &self.log
    }

    fn note<T>(&mut self, r: Result<T, DbError>) -> Result<T, DbError> {
        if let Err(e) = &r
            && e.is_retryable()
        {
            self.log.retryable_errors += 1;
        }
        r
    }
}

impl<C: SqlConnection> SqlConnection for Recording<C> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let r = self.inner.execute(sql, params);
        if matches!(r, Ok(n) if n > 0) && UNBUMP.iter().any(|u| sql.starts_with(u)) {
            // The write changed nothing: its revision is not committed.
            self.log.pending = None;
        }
        self.note(r)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let r = self.inner.query(sql, params);
        let rows = self.note(r)?;
        if sql.starts_with(BUMP) {
            let revision: i64 = rows[0].get(0).unwrap();
            assert!(
                self.log.pending.is_none(),
                "two revision bumps in one write"
            );
            self.log.pending = Some((text(&params[0]), text(&params[1]), revision));
            if let Some(gate) = self.gate.take() {
                // The receiver may be gone if the test already failed: carry on then.
                let _ = gate.bumped.send(());
                let _ = gate.go.recv();
            }
        }
        Ok(rows)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        let r = self.inner.execute_batch(sql);
        self.note(r)
    }

    fn transaction_depth(&self) -> u32 {
        self.inner.transaction_depth()
    }

    fn set_transaction_depth(&mut self, depth: u32) {
        self.inner.set_transaction_depth(depth);
    }

    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        let r = self.inner.begin(kind);
        self.note(r)
    }

    /// A committed write's revision is logged as committed.
    fn commit(&mut self) -> Result<(), DbError> {
        let r = self.inner.commit();
        if r.is_ok() {
            if let Some(p) = self.log.pending.take() {
                self.log.committed.push(p);
            }
        } else {
            self.forget_pending();
        }
        self.note(r)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        let r = self.inner.rollback();
        self.forget_pending();
        self.note(r)
    }
}

impl<C> Recording<C> {
    /// The pending write's revision was not committed.
    fn forget_pending(&mut self) {
        self.log.pending = None;
        self.log.rollbacks += 1;
    }
}

// ---- shared fixtures ------------------------------------------------------------------------

/// (scope, owner) → successful write operations.
type Writes = BTreeMap<(String, String), i64>;

fn store_owner(user: &str) -> (String, String) {
    ("store".to_owned(), user.to_owned())
}

fn journal_owner(quota: &str) -> (String, String) {
    ("journal".to_owned(), quota.to_owned())
}

fn open<C: SqlConnection>(conn: C) -> Store<Recording<C>> {
    Store::open(Recording::new(conn), Box::new(FixedClock::new(t0()))).unwrap()
}

fn organiser(t: usize) -> String {
    format!("mailto:organiser-{t}@example.com")
}

/// The `n`-th hour from 2014-10-10T00:00Z (the day after [`t0`]).
fn hour(n: usize) -> DateTime<Utc> {
    t0() + TimeDelta::days(1) + TimeDelta::hours(i64::try_from(n).unwrap())
}

fn one_hour(n: usize, uid: &str) -> Period {
    Period {
        uid: Some(uid.to_owned()),
        ..Period::new(hour(n), hour(n + 1))
    }
}

fn options() -> RecordOptions {
    RecordOptions {
        window_end: t0() + TimeDelta::days(100),
        ..RecordOptions::new(t0())
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Sets the quota up: `*` → [`GROUP`], limit [`LIMIT`] for `*` (two writes).
fn setup_quota<C: SqlConnection>(store: &mut Store<C>, quota: &str, writes: &mut Writes) {
    let mut j = store.journal();
    j.set_groups(quota, &map(&[("*", GROUP)])).unwrap();
    j.set_limits(quota, &map(&[("*", LIMIT)])).unwrap();
    *writes.entry(journal_owner(quota)).or_default() += 2;
}

fn booking<'a>(organiser: &'a str, uid: &'a str, periods: &'a [Period]) -> Booking<'a> {
    Booking {
        organiser,
        attendee: PORSCHE,
        uid,
        rid: None,
        periods,
        open_ended: false,
    }
}

/// Checks the revisions of every owner in `writes` against the logs of all connections.
fn check_revisions<C: SqlConnection>(store: &mut Store<C>, logs: &[&TxLog], writes: &Writes) {
    let mut all: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for log in logs {
        let mut last: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (scope, owner, revision) in &log.committed {
            let key = (scope.clone(), owner.clone());
            if let Some(prev) = last.insert(key.clone(), *revision) {
                assert!(
                    *revision > prev,
                    "{scope} {owner}: revision {revision} committed after {prev} on one connection"
                );
            }
            all.entry(key).or_default().push(*revision);
        }
    }
    let owners: BTreeSet<_> = all.keys().chain(writes.keys()).cloned().collect();
    for key in owners {
        let n = writes.get(&key).copied().unwrap_or(0);
        let mut revisions = all.remove(&key).unwrap_or_default();
        revisions.sort_unstable();
        let expected: Vec<i64> = (1..=n).collect();
        assert_eq!(
            revisions, expected,
            "{key:?}: committed revisions must be exactly 1..={n}, one per successful write"
        );
        let stored = if key.0 == "store" {
            store.revision(&key.1).unwrap()
        } else {
            store.journal().revision(&key.1).unwrap()
        };
        assert_eq!(stored, n, "{key:?}: stored revision");
    }
}

/// Asserts the quota outcome: exactly `LIMIT / 1 h` accepted bookings of one hour, entries
/// summing to the limit, every other booking declined at full usage.
fn check_quota<C: SqlConnection>(store: &mut Store<C>, decisions: &[QuotaDecision]) {
    let accepted = decisions.iter().filter(|d| d.is_accepted()).count();
    assert_eq!(
        i64::try_from(accepted).unwrap(),
        LIMIT_SECS / HOUR,
        "accepted bookings"
    );
    for d in decisions.iter().filter(|d| !d.is_accepted()) {
        assert_eq!(
            d,
            &QuotaDecision::Declined {
                group: GROUP.to_owned(),
                reason: DeclineReason::Exceeded {
                    limit: LIMIT_SECS,
                    usage: LIMIT_SECS,
                    requested: HOUR,
                },
            }
        );
    }
    let entries = store.journal().get_entries(QUOTA, GROUP).unwrap();
    let total: i64 = entries.iter().map(|e| e.period.duration_secs()).sum();
    assert_eq!(total, LIMIT_SECS, "sum of the quota's entries");
    assert_eq!(
        count_rows(store.connection(), "quota_freebusy"),
        LIMIT_SECS / HOUR,
        "quota_freebusy rows"
    );
}

fn report(backend: &Backend, what: &str, ops: i64, elapsed: Duration, logs: &[&TxLog]) {
    let retried: u64 = logs.iter().map(|l| l.retryable_errors).sum();
    let rollbacks: u64 = logs.iter().map(|l| l.rollbacks).sum();
    let commits: usize = logs.iter().map(|l| l.committed.len()).sum();
    #[allow(clippy::cast_precision_loss)]
    let rate = ops as f64 / elapsed.as_secs_f64();
    println!(
        "[{}] {what}: {THREADS} threads, {ops} write operations in {:.3} s = {rate:.0} ops/s \
         ({commits} commits, {retried} retryable errors retried, {rollbacks} rollbacks)",
        backend.name,
        elapsed.as_secs_f64(),
    );
}

// ---- the mixed workload ---------------------------------------------------------------------

/// Iterations per thread in [`mixed_workload`].
pub const ITERATIONS: usize = 10;
/// Bookings per thread (the first iterations).
pub const BOOKINGS: usize = 5;

const SHARED_UID: &str = "shared@example.com";
const PRE_UID: &str = "pre@example.com";

fn q_uid(t: usize, i: usize) -> String {
    format!("q-{t}-{i}@example.com")
}

fn user_of(t: usize, i: usize) -> &'static str {
    USERS[(t + i) % 2]
}

fn is_import(i: usize) -> bool {
    i.is_multiple_of(3)
}

/// What a thread of [`mixed_workload`] did.
#[derive(Debug, Default)]
struct MixedResult {
    log: TxLog,
    writes: Writes,
    decisions: Vec<QuotaDecision>,
    queued_shared: bool,
    dequeued_pre: bool,
}

fn mixed_thread<C: SqlConnection>(t: usize, conn: C, barrier: &Barrier) -> MixedResult {
    let mut store = open(conn);
    let mut out = MixedResult::default();
    let opts = options();
    let org = organiser(t);
    let wrote = |w: &mut Writes, key: (String, String)| *w.entry(key).or_default() += 1;
    barrier.wait();

    // Everyone queues the same request: exactly one thread queues it.
    out.queued_shared = store
        .queue_request(RESOURCE, SHARED_UID, None, None)
        .unwrap();
    if out.queued_shared {
        wrote(&mut out.writes, store_owner(RESOURCE));
    }

    for i in 0..ITERATIONS {
        let user = user_of(t, i);
        let slot = t * ITERATIONS + i;

        assert!(
            store.queue_request(user, &q_uid(t, i), None, None).unwrap(),
            "a new request is queued"
        );
        wrote(&mut out.writes, store_owner(user));

        let uid = format!("e-{t}-{i}@example.com");
        let e = event(&calendar(&[
            &format!("UID:{uid}"),
            "DTSTAMP:20141001T000000Z",
            &format!("DTSTART:{}", format_utc(hour(slot))),
            &format!("DTEND:{}", format_utc(hour(slot + 1))),
            "SUMMARY:event",
        ]));
        assert_eq!(store.record_event(user, &e, &opts).unwrap().len(), 1);
        wrote(&mut out.writes, store_owner(user));

        let offer_uid = format!("o-{t}-{i}@example.com");
        let offer = Offer {
            period: one_hour(slot, &offer_uid),
            expires: Some(t0() + TimeDelta::days(1)),
        };
        store
            .update_offers_for_event(user, &offer_uid, None, &[offer])
            .unwrap();
        wrote(&mut out.writes, store_owner(user));

        if i < BOOKINGS {
            let uid = format!("b-{t}-{i}@example.com");
            let p = [one_hour(slot, &uid)];
            let decision = store
                .journal()
                .reserve(QUOTA, &booking(&org, &uid, &p))
                .unwrap();
            // A declined reservation records nothing: no revision.
            if decision.is_accepted() {
                wrote(&mut out.writes, journal_owner(QUOTA));
            }
            out.decisions.push(decision);
        }

        if is_import(i) {
            // Two events: a single one and a weekly one with three occurrences.
            let a = format!("UID:imp-{t}-{i}-a@example.com");
            let b = format!("UID:imp-{t}-{i}-b@example.com");
            let (s, e) = (format_utc(hour(slot)), format_utc(hour(slot + 1)));
            let (s, e) = (format!("DTSTART:{s}"), format!("DTEND:{e}"));
            let ics = calendar_of(&[
                &[&a, "DTSTAMP:20141001T000000Z", &s, &e],
                &[
                    &b,
                    "DTSTAMP:20141001T000000Z",
                    &s,
                    &e,
                    "RRULE:FREQ=WEEKLY;COUNT=3",
                ],
            ]);
            let r = store
                .import_ics(user, ics.as_bytes(), &opts, &mut |_, _| {})
                .unwrap();
            assert_eq!((r.parents, r.periods), (2, 4));
            wrote(&mut out.writes, store_owner(user));
        }

        if i % 2 == 1 {
            let prev = user_of(t, i - 1);
            assert!(
                store.dequeue_request(prev, &q_uid(t, i - 1), None).unwrap(),
                "an own queued request is dequeued"
            );
            wrote(&mut out.writes, store_owner(prev));
        }
    }

    // Everyone dequeues the same request: exactly one thread removes it.
    out.dequeued_pre = store.dequeue_request(RESOURCE, PRE_UID, None).unwrap();
    if out.dequeued_pre {
        wrote(&mut out.writes, store_owner(RESOURCE));
    }

    out.log = store.connection().log().clone();
    out
}

/// [`THREADS`] threads, each on its own connection, at once: queue and dequeue requests
/// (including all of them queueing one shared request and dequeuing another), record events,
/// import calendars, write offers — on the same two users — and book 1-hour slots against
/// one quota of [`LIMIT`]. Returns the write operations per second.
pub fn mixed_workload<C, F>(backend: Backend, connect: F) -> f64
where
    C: SqlConnection,
    F: Fn() -> C + Sync,
{
    let mut writes = Writes::new();
    let mut store = open(connect());
    setup_quota(&mut store, QUOTA, &mut writes);
    assert!(store.queue_request(RESOURCE, PRE_UID, None, None).unwrap());
    *writes.entry(store_owner(RESOURCE)).or_default() += 1;

    let barrier = Barrier::new(THREADS + 1);
    let (results, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (connect, barrier) = (&connect, &barrier);
                s.spawn(move || mixed_thread(t, connect(), barrier))
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<MixedResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (results, start.elapsed())
    });

    // Exactly one thread queued the shared request and one dequeued the pre-queued one.
    assert_eq!(results.iter().filter(|r| r.queued_shared).count(), 1);
    assert_eq!(results.iter().filter(|r| r.dequeued_pre).count(), 1);

    // Requests: per user, the odd iterations' requests (the even ones were dequeued) and the
    // shared one, each exactly once, each thread's in the order it queued them.
    for user in USERS {
        let queue = store.get_requests(user).unwrap();
        let mut expected: Vec<String> = (0..THREADS)
            .flat_map(|t| (0..ITERATIONS).map(move |i| (t, i)))
            .filter(|&(t, i)| i % 2 == 1 && user_of(t, i) == user)
            .map(|(t, i)| q_uid(t, i))
            .collect();
        if user == RESOURCE {
            expected.push(SHARED_UID.to_owned());
        }
        expected.sort();
        let mut got: Vec<String> = queue.iter().map(|r| r.uid.clone()).collect();
        got.sort();
        assert_eq!(got, expected, "requests of {user}");
        for t in 0..THREADS {
            let prefix = format!("q-{t}-");
            let order: Vec<&str> = queue
                .iter()
                .filter_map(|r| r.uid.strip_prefix(&prefix))
                .collect();
            let mut sorted = order.clone();
            sorted.sort_by_key(|s| s.split('@').next().unwrap().parse::<usize>().unwrap());
            assert_eq!(order, sorted, "queue order of thread {t} for {user}");
        }
    }

    // Events, imports, periods and offers per user.
    let (mut total_objects, mut total_periods, mut total_offers) = (0, 0, 0);
    for user in USERS {
        let mut expected = Vec::new();
        let (mut periods, mut offers) = (0, 0);
        for t in 0..THREADS {
            for i in (0..ITERATIONS).filter(|&i| user_of(t, i) == user) {
                expected.push(format!("e-{t}-{i}@example.com"));
                periods += 1;
                offers += 1;
                if is_import(i) {
                    expected.push(format!("imp-{t}-{i}-a@example.com"));
                    expected.push(format!("imp-{t}-{i}-b@example.com"));
                    periods += 4;
                }
            }
        }
        expected.sort();
        assert_eq!(
            store.get_events(user).unwrap(),
            expected,
            "events of {user}"
        );
        assert_eq!(store.get_freebusy(user).unwrap().len(), periods);
        total_objects += expected.len();
        total_periods += periods;
        total_offers += offers;
        let offered = store.get_freebusy_offers(user).unwrap();
        assert_eq!(offered.len(), offers, "offers of {user}");
    }
    let count = |store: &mut Store<Recording<C>>, table: &str| {
        usize::try_from(count_rows(store.connection(), table)).unwrap()
    };
    assert_eq!(count(&mut store, "objects"), total_objects);
    assert_eq!(count(&mut store, "freebusy"), total_periods);
    assert_eq!(count(&mut store, "freebusy_offers"), total_offers);
    assert_eq!(count(&mut store, "requests"), 1 + THREADS * ITERATIONS / 2);
    let changed_objects = store
        .connection()
        .query(
            "SELECT count(*) FROM calstore_changes WHERE table_name = 'objects'",
            &[],
        )
        .unwrap()[0]
        .get::<i64>(0)
        .unwrap();
    assert_eq!(usize::try_from(changed_objects).unwrap(), total_objects);

    let decisions: Vec<QuotaDecision> = results
        .iter()
        .flat_map(|r| r.decisions.iter().cloned())
        .collect();
    assert_eq!(decisions.len(), THREADS * BOOKINGS);
    check_quota(&mut store, &decisions);

    for r in &results {
        for (k, n) in &r.writes {
            *writes.entry(k.clone()).or_default() += n;
        }
    }
    let setup_log = store.connection().log().clone();
    let mut logs: Vec<&TxLog> = results.iter().map(|r| &r.log).collect();
    logs.push(&setup_log);
    check_revisions(&mut store, &logs, &writes);

    let ops: i64 = results.iter().flat_map(|r| r.writes.values()).sum();
    report(&backend, "mixed workload", ops, elapsed, &logs[..THREADS]);
    #[allow(clippy::cast_precision_loss)]
    let rate = ops as f64 / elapsed.as_secs_f64();
    rate
}

// ---- the quota race -------------------------------------------------------------------------

/// Bookings per thread in [`quota_race`].
pub const RACE_BOOKINGS: usize = 5;

/// [`THREADS`] threads released at once, each booking 1-hour slots [`RACE_BOOKINGS`] times
/// for the same group of one quota with a limit of [`LIMIT`]: exactly ten are accepted.
pub fn quota_race<C, F>(backend: Backend, connect: F)
where
    C: SqlConnection,
    F: Fn() -> C + Sync,
{
    let mut writes = Writes::new();
    let mut store = open(connect());
    setup_quota(&mut store, QUOTA, &mut writes);

    let barrier = Barrier::new(THREADS + 1);
    let (results, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (connect, barrier) = (&connect, &barrier);
                s.spawn(move || {
                    let mut store = open(connect());
                    let org = organiser(t);
                    barrier.wait();
                    let decisions: Vec<QuotaDecision> = (0..RACE_BOOKINGS)
                        .map(|i| {
                            let uid = format!("race-{t}-{i}@example.com");
                            let p = [one_hour(t * RACE_BOOKINGS + i, &uid)];
                            store
                                .journal()
                                .reserve(QUOTA, &booking(&org, &uid, &p))
                                .unwrap()
                        })
                        .collect();
                    (decisions, store.connection().log().clone())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (results, start.elapsed())
    });

    let decisions: Vec<QuotaDecision> = results.iter().flat_map(|r| r.0.clone()).collect();
    check_quota(&mut store, &decisions);
    // Only the accepted reservations wrote something (a declined one gives its bump back).
    let n = i64::try_from(decisions.iter().filter(|d| d.is_accepted()).count()).unwrap();
    *writes.entry(journal_owner(QUOTA)).or_default() += n;
    let setup_log = store.connection().log().clone();
    let mut logs: Vec<&TxLog> = results.iter().map(|r| &r.1).collect();
    logs.push(&setup_log);
    check_revisions(&mut store, &logs, &writes);
    let ops = i64::try_from(THREADS * RACE_BOOKINGS).unwrap();
    report(&backend, "quota race", ops, elapsed, &logs[..THREADS]);
}

// ---- serialisation, step by step ------------------------------------------------------------

/// A booking in progress holds its quota: a second booking of the same quota waits until the
/// first commits, then sees its entries (and is declined); on a backend with per-owner locks a
/// booking of *another* quota goes through meanwhile.
///
/// The quota allows one hour. Booking A runs on a [`Recording`] connection that pauses right
/// after A's revision bump (the first statement of the write). Booking B (the same quota and
/// group, another hour) must still be waiting 300 ms later; once A is let go and commits, B
/// must be declined with A's hour as usage. Were the check and the reservation not serialised,
/// B would have read no usage and been accepted: the quota would be exceeded.
pub fn reserve_waits_for_a_booking_in_progress<C, F>(backend: Backend, connect: F)
where
    C: SqlConnection,
    F: Fn() -> C + Sync,
{
    fn reserve<C: SqlConnection>(
        conn: Recording<C>,
        quota: &str,
        org: &str,
        uid: &str,
    ) -> QuotaDecision {
        let mut store = Store::open(conn, Box::new(FixedClock::new(t0()))).unwrap();
        let p = [one_hour(1, uid)];
        store
            .journal()
            .reserve(quota, &booking(org, uid, &p))
            .unwrap()
    }
    let limits = map(&[("*", "PT1H")]);
    let mut store = open(connect());
    store.journal().set_limits(QUOTA, &limits).unwrap();
    store.journal().set_limits(OTHER_QUOTA, &limits).unwrap();
    let org = organiser(0);
    let (connect, org) = (&connect, org.as_str());

    std::thread::scope(|s| {
        let (bumped_tx, bumped) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let a = s.spawn(move || {
            let mut gated = Recording::new(connect());
            gated.gate = Some(Gate {
                bumped: bumped_tx,
                go: go_rx,
            });
            reserve(gated, QUOTA, org, "a@example.com")
        });
        bumped
            .recv_timeout(Duration::from_secs(10))
            .expect("booking A did not reach its revision bump");

        // B: the same quota. It must wait for A.
        let (b_tx, b_done) = mpsc::channel();
        let b = s.spawn(move || {
            let d = reserve(Recording::new(connect()), QUOTA, org, "b@example.com");
            let _ = b_tx.send(());
            d
        });
        if backend.parallel_owners {
            // C: another quota. It must not wait for A.
            let c = s.spawn(move || {
                reserve(Recording::new(connect()), OTHER_QUOTA, org, "c@example.com")
            });
            let started = Instant::now();
            while !c.is_finished() {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "a booking of another quota waited for booking A"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(c.join().unwrap().is_accepted(), "booking C");
        }
        assert_eq!(
            b_done.recv_timeout(Duration::from_millis(300)),
            Err(mpsc::RecvTimeoutError::Timeout),
            "booking B of the same quota did not wait for booking A"
        );
        go.send(()).unwrap();
        assert!(a.join().unwrap().is_accepted(), "booking A");
        assert_eq!(
            b.join().unwrap(),
            QuotaDecision::Declined {
                group: org.to_owned(),
                reason: DeclineReason::Exceeded {
                    limit: HOUR,
                    usage: HOUR,
                    requested: HOUR,
                },
            },
            "booking B must see booking A's hour"
        );
    });
    let entries = store.journal().get_entries(QUOTA, org).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].period.uid.as_deref(), Some("a@example.com"));
    println!(
        "[{}] a booking of the same quota waited for the one in progress{}",
        backend.name,
        if backend.parallel_owners {
            "; a booking of another quota did not"
        } else {
            ""
        }
    );
}

// ---- opening at once ------------------------------------------------------------------------

/// [`THREADS`] connections open a store on an **empty** database at the same moment (so
/// the schema is created while others try too), then each writes an event.
pub fn concurrent_first_open<C, F>(backend: Backend, connect: F)
where
    C: SqlConnection,
    F: Fn() -> C + Sync,
{
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (connect, barrier) = (&connect, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let mut store = open(connect());
                    let uid = format!("open-{t}@example.com");
                    store
                        .set_event(RESOURCE, &uid, None, "BEGIN:VEVENT\r\nEND:VEVENT\r\n")
                        .unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let mut store = open(connect());
    assert_eq!(store.get_events(RESOURCE).unwrap().len(), THREADS);
    assert_eq!(
        store.revision(RESOURCE).unwrap(),
        i64::try_from(THREADS).unwrap()
    );
    assert_eq!(
        calstore_core::schema::version(store.connection()).unwrap(),
        calstore_core::schema::CURRENT_VERSION
    );
    println!(
        "[{}] {THREADS} connections created the schema at once",
        backend.name
    );
}
