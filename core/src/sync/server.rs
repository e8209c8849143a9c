//! The server side of the protocol, without I/O: a push applies mutations exactly once, in
//! order, each in its own transaction together with the record of its result; a pull reads
//! the changes since a cursor (and the keys asked for) in one snapshot. The HTTP server
//! (`calstore-server`) authenticates the request, builds the [`Access`] of its account and
//! calls these.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::keys;
use super::mutation::{Outcome, Side, Target};
use super::schema::SYNC_SERVER;
use super::wire::{
    FREEBUSY_MAX_DAYS, FREEBUSY_MAX_USERS, FreeBusyRequest, FreeBusyResponse, Item, KeyRef,
    MutationResult, OwnerRef, PROTOCOL_VERSION, PullRequest, PullResponse, PullStatus, PushRequest,
    PushResponse, ResultStatus, Role, SchemaVersions, UserBusy, WireScope,
};
use crate::changes::{self, Scope};
use crate::error::StoreError;
use crate::ical::datetime::{format_utc, parse_utc};
use crate::period::Period;
use crate::record::RecordOptions;
use crate::record::participation::same_uri;
use crate::schema::{self, CALENDAR};
use crate::sql::{SqlConnection, SqlConnectionExt, Value};
use crate::store::Store;
use crate::tx::in_read_transaction;

/// Results kept per client beyond its last applied mutation, for pushes retried late.
pub const KEEP_RESULTS: i64 = 10_000;

/// Items per pull page when the client does not say.
pub const DEFAULT_PAGE: u32 = 1_000;

/// What the authenticated account may do: its calendars (own address and grants) with
/// their roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The account's id (clients are bound to it).
    pub account_id: i64,
    /// Calendar URI → role.
    pub calendars: BTreeMap<String, Role>,
}

/// Why a request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Another protocol or schema version.
    #[error("incompatible: {0}")]
    Incompatible(String),
    /// Not allowed for this account.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A malformed request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The store failed (a database error: the client retries later).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Ends every sync session of `account_id` (their tokens stop working at once): for a
/// suspended or deleted account, or a new password. Nothing to do in a database that has
/// never served. Call it inside the transaction of the account change.
pub fn end_sessions_of<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account_id: i64,
) -> Result<u64, StoreError> {
    if crate::schema::component_version(conn, &SYNC_SERVER)? == 0 {
        return Ok(0);
    }
    Ok(conn.execute(
        "DELETE FROM sync_sessions WHERE account_id = $1",
        &[Value::Integer(account_id)],
    )?)
}

/// Creates the `sync-server` component if needed and returns the server's epoch (the
/// candidate is kept when the database has none yet: pass a fresh random string).
pub fn init<C: SqlConnection>(store: &mut Store<C>, candidate: &str) -> Result<String, StoreError> {
    schema::migrate_components(store.connection(), &[&SYNC_SERVER])?;
    store.transaction(|s| {
        let c = s.connection();
        c.execute(
            "INSERT INTO sync_state (name, value) VALUES ('epoch', $1) ON CONFLICT (name) DO NOTHING",
            &[candidate.into()],
        )?;
        let row = c
            .query_opt("SELECT value FROM sync_state WHERE name = 'epoch'", &[])?
            .ok_or_else(|| StoreError::invalid("sync: no epoch"))?;
        Ok(row.get(0)?)
    })
}

/// The schema versions of the calendar components this build syncs.
pub fn schema_versions() -> SchemaVersions {
    CALENDAR
        .iter()
        .map(|c| (c.name.to_owned(), c.current_version()))
        .collect()
}

fn check_versions(protocol: u32, schema: &SchemaVersions) -> Result<(), ProtocolError> {
    if protocol != PROTOCOL_VERSION {
        return Err(ProtocolError::Incompatible(format!(
            "the client speaks protocol {protocol}, this server {PROTOCOL_VERSION}"
        )));
    }
    let ours = schema_versions();
    if *schema != ours {
        return Err(ProtocolError::Incompatible(format!(
            "the client's schema {schema:?} differs from the server's {ours:?}"
        )));
    }
    Ok(())
}

/// The owners `access` syncs: its calendars, and the quotas one of its writable calendars
/// manages (a delegate of the quota, or the quota named after the calendar), with the role.
pub fn owners<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
) -> Result<Vec<OwnerRef>, StoreError> {
    let mut out: Vec<OwnerRef> = access
        .calendars
        .iter()
        .map(|(uri, role)| OwnerRef {
            scope: WireScope::Store,
            owner: uri.clone(),
            role: *role,
        })
        .collect();
    let mut quotas: BTreeMap<String, Role> = BTreeMap::new();
    for q in store.journal().quotas()? {
        let mut managers = store.journal().get_delegates(&q)?;
        managers.push(q.clone());
        let role = managers
            .iter()
            .filter_map(|m| access.calendars.get(m))
            .copied()
            .min();
        if let Some(role) = role {
            quotas.insert(q, role);
        }
    }
    out.extend(quotas.into_iter().map(|(owner, role)| OwnerRef {
        scope: WireScope::Journal,
        owner,
        role,
    }));
    Ok(out)
}

fn role_for(owners: &[OwnerRef], target: &Target) -> Option<Role> {
    let (scope, name) = match target {
        Target::Calendar(u) => (WireScope::Store, u),
        Target::Quota(q) => (WireScope::Journal, q),
    };
    owners
        .iter()
        .find(|o| o.scope == scope && o.owner == *name)
        .map(|o| o.role)
}

fn register_client<C: SqlConnection>(
    store: &mut Store<C>,
    client_id: &str,
    account_id: i64,
    now: &str,
) -> Result<i64, ProtocolError> {
    if client_id.is_empty() || client_id.len() > 128 || client_id.chars().any(char::is_control) {
        return Err(ProtocolError::BadRequest("client_id".into()));
    }
    let c = store.connection();
    c.execute(
        "INSERT INTO sync_clients (client_id, account_id, last_seq, created, last_seen) \
         VALUES ($1, $2, 0, $3, $3) ON CONFLICT (client_id) DO NOTHING",
        &[client_id.into(), Value::Integer(account_id), now.into()],
    )
    .map_err(StoreError::from)?;
    let row = c
        .query_opt(
            "SELECT account_id, last_seq FROM sync_clients WHERE client_id = $1",
            &[client_id.into()],
        )
        .map_err(StoreError::from)?
        .ok_or_else(|| ProtocolError::BadRequest("client_id".into()))?;
    let owner: i64 = row.get(0).map_err(StoreError::from)?;
    if owner != account_id {
        return Err(ProtocolError::Forbidden(
            "this client id belongs to another account".into(),
        ));
    }
    Ok(row.get(1).map_err(StoreError::from)?)
}

/// Claims `seq` for the client: moves its mark from `seq - 1` to `seq`, the first statement of
/// a mutation's transaction. The row lock orders concurrent pushes of one client (two
/// servers, a duplicated request): the second finds the mark moved and applies nothing.
/// False if `seq` is not the next one.
fn claim<C: SqlConnection + ?Sized>(
    c: &mut C,
    client_id: &str,
    seq: i64,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE sync_clients SET last_seq = $2, last_seen = $3 WHERE client_id = $1 \
         AND last_seq = $2 - 1",
        &[client_id.into(), Value::Integer(seq), now.into()],
    )? == 1)
}

/// Records a mutation's result (inside the mutation's transaction, after its claim),
/// dropping results older than [`KEEP_RESULTS`].
fn record_result<C: SqlConnection + ?Sized>(
    c: &mut C,
    client_id: &str,
    result: &MutationResult,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(result).map_err(|e| StoreError::invalid(e.to_string()))?;
    c.execute(
        "INSERT INTO sync_results (client_id, seq, result) VALUES ($1, $2, $3) \
         ON CONFLICT (client_id, seq) DO UPDATE SET result = excluded.result",
        &[client_id.into(), Value::Integer(result.seq), text.into()],
    )?;
    c.execute(
        "DELETE FROM sync_results WHERE client_id = $1 AND seq <= $2",
        &[
            client_id.into(),
            Value::Integer(result.seq.saturating_sub(KEEP_RESULTS)),
        ],
    )?;
    Ok(())
}

/// Why a mutation's transaction did nothing: its sequence number was not the next one.
const NOT_NEXT: &str = "sync: not the next mutation";

fn stored_result<C: SqlConnection>(
    store: &mut Store<C>,
    client_id: &str,
    seq: i64,
) -> Result<MutationResult, StoreError> {
    let row = store.connection().query_opt(
        "SELECT result FROM sync_results WHERE client_id = $1 AND seq = $2",
        &[client_id.into(), Value::Integer(seq)],
    )?;
    Ok(match row {
        Some(r) => {
            let text: String = r.get(0)?;
            serde_json::from_str(&text).map_err(|e| StoreError::invalid(e.to_string()))?
        }
        // Applied long ago: its result is no longer kept, but it was processed.
        None => MutationResult {
            seq,
            status: ResultStatus::Applied,
            reason: Some("applied earlier".into()),
            server: Vec::new(),
            booking: None,
        },
    })
}

fn result_of(seq: i64, outcome: Outcome) -> MutationResult {
    let mut r = MutationResult {
        seq,
        status: ResultStatus::Applied,
        reason: None,
        server: Vec::new(),
        booking: None,
    };
    match outcome {
        Outcome::Applied | Outcome::Pending => {}
        Outcome::Superseded(versions) => {
            r.status = ResultStatus::Superseded;
            r.reason = Some("the server holds a newer version (iTIP order)".into());
            r.server = versions;
        }
        Outcome::Booked(b) => r.booking = Some(b),
    }
    r
}

fn rejected(seq: i64, reason: String) -> MutationResult {
    MutationResult {
        seq,
        status: ResultStatus::Rejected,
        reason: Some(reason),
        server: Vec::new(),
        booking: None,
    }
}

/// Applies a push: each mutation not applied before, in order, in its own transaction with
/// the record of its result, so that a retried push (a lost reply, a server killed after a
/// commit) never applies one twice. Processing stops at the first database failure: the
/// results so far are returned and the client pushes the rest again later.
pub fn push<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &PushRequest,
    opts: &RecordOptions,
) -> Result<PushResponse, ProtocolError> {
    push_counting(store, access, req, opts).map(|(response, _)| response)
}

/// [`push`] with implicit scheduling ([`Store::deliver_change`]): an applied mutation that
/// records, cancels, uncancels or removes an event of a calendar is followed, in its own
/// transaction, by the iTIP messages the change amounts to, delivered to the local users
/// among its participants (their request queues, a resource's automatic decision, the
/// organiser's copy updated by a reply) and queued in the outbox for the others; a
/// `counter` or `decline_counter` sends its own message the same way
/// ([`Mutation::messages`](super::Mutation::messages)). What `calstore serve` runs; the
/// database needs the outbox component.
pub fn push_scheduling<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &PushRequest,
    opts: &RecordOptions,
) -> Result<PushResponse, ProtocolError> {
    push_with(store, access, req, opts, true).map(|(response, _)| response)
}

/// [`push`], also returning the sequence numbers this call applied (not those answered from
/// the record of an earlier push): what the convergence suite counts to show that nothing is
/// applied twice.
pub fn push_counting<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &PushRequest,
    opts: &RecordOptions,
) -> Result<(PushResponse, Vec<i64>), ProtocolError> {
    push_with(store, access, req, opts, false)
}

fn push_with<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &PushRequest,
    opts: &RecordOptions,
    implicit: bool,
) -> Result<(PushResponse, Vec<i64>), ProtocolError> {
    check_versions(req.protocol, &req.schema)?;
    let now = format_utc(store.now());
    let mut last_seq = register_client(store, &req.client_id, access.account_id, &now)?;
    let owners = owners(store, access)?;
    let mut results = Vec::with_capacity(req.mutations.len());
    let mut applied = Vec::new();
    for env in &req.mutations {
        if env.seq <= last_seq {
            results.push(stored_result(store, &req.client_id, env.seq)?);
            continue;
        }
        if env.seq != last_seq + 1 {
            // A gap: an earlier mutation has not arrived (a reordered request); the client
            // sends it again with this one.
            break;
        }
        let allowed = role_for(&owners, &env.mutation.target()).is_some_and(Role::may_write);
        let outcome = if allowed {
            store.transaction(|s| {
                if !claim(s.connection(), &req.client_id, env.seq, &now)? {
                    return Err(StoreError::AlreadyExists(NOT_NEXT.into()));
                }
                let written = match implicit {
                    true => env.mutation.events_written()?,
                    false => None,
                };
                let mut before = Vec::new();
                if let Some((user, uids)) = &written {
                    for uid in uids {
                        before.push((uid, s.copies(user, uid)?));
                    }
                }
                let outcome = env.mutation.apply(s, Side::Server, opts)?;
                if let (Some((user, _)), Outcome::Applied) = (&written, &outcome) {
                    for (uid, copies) in &before {
                        s.deliver_change(user, uid, copies)?;
                    }
                }
                if implicit && outcome == Outcome::Applied {
                    let messages = env.mutation.messages(s)?;
                    if !messages.is_empty() {
                        s.deliver(&messages)?;
                    }
                }
                let result = result_of(env.seq, outcome);
                record_result(s.connection(), &req.client_id, &result)?;
                Ok(result)
            })
        } else {
            Err(StoreError::NotFound(
                "the account may not write this calendar or quota".into(),
            ))
        };
        let result = match outcome {
            Ok(r) => r,
            Err(StoreError::AlreadyExists(m)) if m == NOT_NEXT => {
                // Another push of this client got there first: answer from its record.
                results.push(stored_result(store, &req.client_id, env.seq)?);
                last_seq = env.seq;
                continue;
            }
            Err(StoreError::Db(e)) => {
                if results.is_empty() {
                    return Err(ProtocolError::Store(StoreError::Db(e)));
                }
                break;
            }
            Err(e) => {
                let r = rejected(env.seq, e.to_string());
                let recorded = store.transaction(|s| {
                    let claimed = claim(s.connection(), &req.client_id, env.seq, &now)?;
                    if claimed {
                        record_result(s.connection(), &req.client_id, &r)?;
                    }
                    Ok(claimed)
                });
                match recorded {
                    Ok(true) => r,
                    Ok(false) => {
                        results.push(stored_result(store, &req.client_id, env.seq)?);
                        last_seq = env.seq;
                        continue;
                    }
                    Err(e) => {
                        if results.is_empty() {
                            return Err(e.into());
                        }
                        break;
                    }
                }
            }
        };
        last_seq = env.seq;
        applied.push(env.seq);
        results.push(result);
    }
    Ok((
        PushResponse {
            protocol: PROTOCOL_VERSION,
            results,
        },
        applied,
    ))
}

/// The cursor: the server's epoch and, per owner, the revision the client has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "e")]
    epoch: String,
    #[serde(rename = "o")]
    owners: BTreeMap<String, i64>,
}

fn owner_key(scope: WireScope, owner: &str) -> String {
    match scope {
        WireScope::Store => format!("s {owner}"),
        WireScope::Journal => format!("j {owner}"),
    }
}

fn must_refetch(owners: Vec<OwnerRef>, epoch: &str, reason: &str) -> PullResponse {
    PullResponse {
        protocol: PROTOCOL_VERSION,
        status: PullStatus::MustRefetch,
        reason: Some(reason.to_owned()),
        owners,
        items: Vec::new(),
        cursor: serde_json::to_string(&Cursor {
            epoch: epoch.to_owned(),
            owners: BTreeMap::new(),
        })
        .unwrap_or_default(),
        more: false,
    }
}

/// Answers a pull: every key changed since the cursor, for every owner `access` syncs, with
/// its current rows, whole server transactions (revisions) at a time, about `limit` items a
/// page; and the current rows of the keys asked for. Read in one snapshot.
pub fn pull<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &PullRequest,
    epoch: &str,
) -> Result<PullResponse, ProtocolError> {
    check_versions(req.protocol, &req.schema)?;
    let owners = owners(store, access)?;
    let cursor = match &req.cursor {
        None => Cursor::default(),
        Some(text) => match serde_json::from_str::<Cursor>(text) {
            Ok(c) if c.epoch == epoch => c,
            _ => return Ok(must_refetch(owners, epoch, "unknown cursor")),
        },
    };
    let limit = usize::try_from(req.limit.unwrap_or(DEFAULT_PAGE).clamp(1, 100_000)).unwrap_or(1);
    let allowed: BTreeSet<(WireScope, &str)> =
        owners.iter().map(|o| (o.scope, o.owner.as_str())).collect();
    let asked: Vec<&KeyRef> = req
        .keys
        .iter()
        .filter(|k| allowed.contains(&(k.scope, k.owner.as_str())))
        .filter(|k| keys::scope_of(&k.table).map(WireScope::from) == Some(k.scope))
        .collect();
    let response = in_read_transaction(store.connection(), |c| {
        let mut next = Cursor {
            epoch: epoch.to_owned(),
            owners: BTreeMap::new(),
        };
        let mut items = Vec::new();
        let mut more = false;
        for o in &owners {
            let scope = Scope::from(o.scope);
            let name = owner_key(o.scope, &o.owner);
            let since = cursor.owners.get(&name).copied().unwrap_or(0);
            let current = changes::current_revision(c, scope, &o.owner)?;
            let min_valid = min_valid_revision(c, scope, &o.owner)?;
            if since > current {
                return Ok(Err(
                    "the cursor is ahead of the server (restored from a backup?)",
                ));
            }
            if since > 0 && since < min_valid {
                return Ok(Err("the cursor is older than the changes the server keeps"));
            }
            let mut reached = since;
            if more {
                next.owners.insert(name, since);
                continue;
            }
            let changed = changes::changes_since(c, scope, &o.owner, since)?;
            let mut i = 0;
            while i < changed.len() {
                let revision = changed[i].revision;
                if items.len() >= limit {
                    more = true;
                    break;
                }
                while i < changed.len() && changed[i].revision == revision {
                    let ch = &changed[i];
                    items.push(Item {
                        scope: o.scope,
                        owner: o.owner.clone(),
                        table: ch.table.clone(),
                        key: ch.key.clone(),
                        revision,
                        data: keys::fetch(c, &o.owner, &ch.table, &ch.key)?,
                    });
                    i += 1;
                }
                reached = revision;
            }
            if !more {
                reached = current.max(reached);
            }
            next.owners.insert(name, reached);
        }
        for k in &asked {
            items.push(Item {
                scope: k.scope,
                owner: k.owner.clone(),
                table: k.table.clone(),
                key: k.key.clone(),
                revision: 0,
                data: keys::fetch(c, &k.owner, &k.table, &k.key)?,
            });
        }
        Ok(Ok((items, next, more)))
    })?;
    match response {
        Err(reason) => Ok(must_refetch(owners, epoch, reason)),
        Ok((items, next, more)) => Ok(PullResponse {
            protocol: PROTOCOL_VERSION,
            status: PullStatus::Ok,
            reason: None,
            owners,
            items,
            cursor: serde_json::to_string(&next).map_err(|e| StoreError::invalid(e.to_string()))?,
            more,
        }),
    }
}

fn min_valid_revision<C: SqlConnection + ?Sized>(
    c: &mut C,
    scope: Scope,
    owner: &str,
) -> Result<i64, StoreError> {
    Ok(
        match c.query_opt(
            "SELECT min_valid_revision FROM calstore_revisions WHERE scope = $1 AND owner = $2",
            &[scope.as_str().into(), owner.into()],
        )? {
            Some(r) => r.get(0)?,
            None => 0,
        },
    )
}

/// When a session token expires, `days` from `now`.
pub fn expiry(now: DateTime<Utc>, days: i64) -> String {
    format_utc(now + chrono::TimeDelta::days(days))
}

/// Answers a free/busy request (`POST /sync/v1/freebusy`): for each address, its busy
/// periods in the window, merged, without event details. An address is answered when
/// `access` syncs that calendar, or when it is a user of this server (an account's calendar,
/// or one with data here: a room) whose preference `freebusy_sharing` is `share`; any
/// other is `shared: false`, whether or not it exists.
pub fn freebusy<C: SqlConnection>(
    store: &mut Store<C>,
    access: &Access,
    req: &FreeBusyRequest,
) -> Result<FreeBusyResponse, ProtocolError> {
    if req.users.len() > FREEBUSY_MAX_USERS {
        return Err(ProtocolError::BadRequest(format!(
            "at most {FREEBUSY_MAX_USERS} addresses a request"
        )));
    }
    let time = |s: &str| {
        parse_utc(s).map_err(|e| ProtocolError::BadRequest(format!("not a UTC time {s:?}: {e}")))
    };
    let (from, to) = (time(&req.from)?, time(&req.to)?);
    if to <= from || to - from > chrono::TimeDelta::days(FREEBUSY_MAX_DAYS) {
        return Err(ProtocolError::BadRequest(format!(
            "the window must end after it starts and span at most {FREEBUSY_MAX_DAYS} days"
        )));
    }
    let mut users = Vec::with_capacity(req.users.len());
    for user in &req.users {
        let synced = access.calendars.keys().any(|c| same_uri(c, user));
        let shared =
            synced || (store.is_local_user(user)? && store.preferences(user)?.shares_freebusy());
        let busy = if shared {
            merged_busy(store.get_freebusy_in(user, from, to)?)
        } else {
            Vec::new()
        };
        users.push(UserBusy {
            user: user.clone(),
            shared,
            busy,
        });
    }
    Ok(FreeBusyResponse { users })
}

/// The busy periods (not transparent) as sorted, merged `[start, end]` pairs.
fn merged_busy(periods: Vec<Period>) -> Vec<(String, String)> {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = periods
        .into_iter()
        .filter(Period::is_busy)
        .map(|p| (p.start, p.end))
        .collect();
    spans.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(s, e)| (format_utc(s), format_utc(e)))
        .collect()
}
