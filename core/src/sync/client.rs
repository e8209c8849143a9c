//! The client side of the protocol, without I/O: a replica records each local write as a
//! mutation in its outbox **in the same transaction** as the write's local effect, builds
//! push and pull requests, and applies the answers: a push marks mutations acknowledged; a
//! pull (all its pages) is applied in **one** transaction with the cursor it ends at, after
//! which the mutations not yet acknowledged are applied again on top (the local view is the
//! server's state plus pending work). Transports are the caller's (HTTP natively, `fetch` in
//! the browser, a function call in tests).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::keys;
use super::mutation::{Mutation, Outcome, Side};
use super::schema::SYNC_CLIENT;
use super::server::schema_versions;
use super::wire::{
    Envelope, Item, KeyRef, MutationResult, OwnerRef, PROTOCOL_VERSION, PullRequest, PullResponse,
    PullStatus, PushRequest, PushResponse, ResultStatus, WireScope,
};
use crate::changes::{Operation, Scope};
use crate::error::{Result, StoreError};
use crate::ical::datetime::format_utc;
use crate::record::RecordOptions;
use crate::schema;
use crate::sql::{SqlConnection, SqlConnectionExt, Value};
use crate::store::Store;
use crate::work::{self, ChangedKey};

/// Settings a replica keeps (`calstore_sync`).
pub mod settings {
    /// The server's base URL.
    pub const SERVER: &str = "server";
    /// The account's login.
    pub const LOGIN: &str = "login";
    /// This replica's client id.
    pub const CLIENT_ID: &str = "client_id";
    /// The session token.
    pub const TOKEN: &str = "token";
    /// When the session ends.
    pub const EXPIRES: &str = "expires";
    /// The cursor of the last pull.
    pub const CURSOR: &str = "cursor";
    /// The owners synced (JSON).
    pub const OWNERS: &str = "owners";
    /// The sequence number the next mutation gets.
    pub const NEXT_SEQ: &str = "next_seq";
    /// Certificates (PEM) to trust for the server instead of the system's roots, if given.
    pub const CA_CERT: &str = "ca_cert";
}

/// A mutation in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Its sequence number.
    pub seq: i64,
    /// The mutation.
    pub mutation: Mutation,
    /// `pending` (not yet acknowledged) or `acked` (answered; dropped at the next pull).
    pub state: String,
    /// The server's answer, once acknowledged.
    pub result: Option<MutationResult>,
    /// When it was made (client clock).
    pub created: String,
}

/// True if the database is a replica (it has the `sync-client` component).
pub fn is_replica<C: SqlConnection>(store: &mut Store<C>) -> Result<bool> {
    Ok(schema::component_version(store.connection(), &SYNC_CLIENT)? > 0)
}

/// Makes the database a replica of `server` for `login`, with `client_id` (random, chosen
/// by the caller).
pub fn init<C: SqlConnection>(
    store: &mut Store<C>,
    server: &str,
    login: &str,
    client_id: &str,
) -> Result<()> {
    schema::migrate_components(store.connection(), &[&SYNC_CLIENT])?;
    store.transaction(|s| {
        set(s, settings::SERVER, server)?;
        set(s, settings::LOGIN, login)?;
        set(s, settings::CLIENT_ID, client_id)?;
        if get(s, settings::NEXT_SEQ)?.is_none() {
            set(s, settings::NEXT_SEQ, "1")?;
        }
        Ok(())
    })
}

/// A setting, if set.
pub fn get<C: SqlConnection>(store: &mut Store<C>, name: &str) -> Result<Option<String>> {
    match store.connection().query_opt(
        "SELECT value FROM calstore_sync WHERE name = $1",
        &[name.into()],
    )? {
        Some(r) => Ok(Some(r.get(0)?)),
        None => Ok(None),
    }
}

/// Sets a setting.
pub fn set<C: SqlConnection>(store: &mut Store<C>, name: &str, value: &str) -> Result<()> {
    store.connection().execute(
        "INSERT INTO calstore_sync (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[name.into(), value.into()],
    )?;
    Ok(())
}

fn require<C: SqlConnection>(store: &mut Store<C>, name: &str) -> Result<String> {
    get(store, name)?.ok_or_else(|| StoreError::invalid(format!("the replica has no {name}")))
}

fn to_key_refs(keys: &[ChangedKey]) -> Vec<KeyRef> {
    keys.iter()
        .map(|k| KeyRef {
            scope: k.scope.into(),
            owner: k.owner.clone(),
            table: k.table.clone(),
            key: k.key.clone(),
        })
        .collect()
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::invalid(e.to_string()))
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::invalid(format!("sync: {e}")))
}

/// Makes `mutation` locally and records it in the outbox, in one transaction. A quota
/// booking is recorded only (it waits for the server's decision). Returns its sequence
/// number and what the local write did.
pub fn record<C: SqlConnection>(
    store: &mut Store<C>,
    mutation: &Mutation,
    opts: &RecordOptions,
) -> Result<(i64, Outcome)> {
    store.transaction(|s| {
        let outcome = mutation.apply(s, Side::Client, opts)?;
        let touched = to_key_refs(&s.unit_changes());
        let seq: i64 = require(s, settings::NEXT_SEQ)?
            .parse()
            .map_err(|_| StoreError::invalid("sync: bad next_seq"))?;
        set(s, settings::NEXT_SEQ, &(seq + 1).to_string())?;
        let now = format_utc(s.now());
        s.connection().execute(
            "INSERT INTO calstore_outbox (seq, mutation, touched, state, result, created) \
             VALUES ($1, $2, $3, 'pending', NULL, $4)",
            &[
                Value::Integer(seq),
                json(mutation)?.into(),
                json(&touched)?.into(),
                now.into(),
            ],
        )?;
        Ok((seq, outcome))
    })
}

/// The outbox, oldest first.
pub fn outbox<C: SqlConnection>(store: &mut Store<C>) -> Result<Vec<OutboxEntry>> {
    store
        .connection()
        .query(
            "SELECT seq, mutation, state, result, created FROM calstore_outbox ORDER BY seq",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let result: Option<String> = r.get(3)?;
            Ok(OutboxEntry {
                seq: r.get(0)?,
                mutation: parse(&r.get::<String>(1)?)?,
                state: r.get(2)?,
                result: result.as_deref().map(parse).transpose()?,
                created: r.get(4)?,
            })
        })
        .collect()
}

/// The push of the pending mutations (at most `max`, oldest first), or None if there are
/// none.
pub fn push_request<C: SqlConnection>(
    store: &mut Store<C>,
    max: usize,
) -> Result<Option<PushRequest>> {
    let client_id = require(store, settings::CLIENT_ID)?;
    let mutations: Vec<Envelope> = outbox(store)?
        .into_iter()
        .filter(|e| e.state == "pending")
        .take(max)
        .map(|e| Envelope {
            seq: e.seq,
            mutation: e.mutation,
        })
        .collect();
    if mutations.is_empty() {
        return Ok(None);
    }
    Ok(Some(PushRequest {
        protocol: PROTOCOL_VERSION,
        schema: schema_versions(),
        client_id,
        mutations,
    }))
}

/// Marks the mutations the server answered as acknowledged (one transaction). Returns the
/// results that were new (a repeated answer changes nothing).
pub fn apply_push<C: SqlConnection>(
    store: &mut Store<C>,
    response: &PushResponse,
) -> Result<Vec<MutationResult>> {
    store.transaction(|s| {
        let mut fresh = Vec::new();
        for r in &response.results {
            let n = s.connection().execute(
                "UPDATE calstore_outbox SET state = 'acked', result = $2 \
                 WHERE seq = $1 AND state = 'pending'",
                &[Value::Integer(r.seq), json(r)?.into()],
            )?;
            if n > 0 {
                fresh.push(r.clone());
            }
        }
        Ok(fresh)
    })
}

/// The keys every mutation of the outbox touched: their current server rows come with the
/// next pull, so that acknowledged mutations that lost leave nothing behind locally and
/// pending ones are re-applied on the server's state.
fn touched_keys<C: SqlConnection>(store: &mut Store<C>) -> Result<Vec<KeyRef>> {
    let mut all = BTreeSet::new();
    for r in store
        .connection()
        .query("SELECT touched FROM calstore_outbox", &[])?
    {
        let keys: Vec<KeyRef> = parse(&r.get::<String>(0)?)?;
        all.extend(keys);
    }
    Ok(all.into_iter().collect())
}

/// The next pull request (with the cursor of the last pull, unless `refetch`).
pub fn pull_request<C: SqlConnection>(
    store: &mut Store<C>,
    limit: Option<u32>,
    refetch: bool,
) -> Result<PullRequest> {
    Ok(PullRequest {
        protocol: PROTOCOL_VERSION,
        schema: schema_versions(),
        client_id: require(store, settings::CLIENT_ID)?,
        cursor: if refetch {
            None
        } else {
            get(store, settings::CURSOR)?
        },
        limit,
        keys: touched_keys(store)?,
    })
}

/// The request for the page after `previous` of the same pull.
pub fn next_page(previous: &PullRequest, response: &PullResponse) -> PullRequest {
    PullRequest {
        cursor: Some(response.cursor.clone()),
        keys: Vec::new(),
        ..previous.clone()
    }
}

/// What applying a pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullOutcome {
    /// Items applied.
    pub pulled: usize,
    /// True if the server said the cursor is invalid: nothing was applied, everything pulled
    /// before was dropped (the outbox kept); pull again without a cursor.
    pub must_refetch: bool,
    /// Pending mutations applied again on top.
    pub rebased: usize,
    /// Pending mutations that no longer apply locally (the server decides them).
    pub rebase_failed: usize,
    /// True if the answer was to an older request (the cursor moved since): ignored.
    pub stale: bool,
}

fn static_table(table: &str) -> Option<&'static str> {
    crate::schema::catalogue::TABLES
        .iter()
        .map(|t| t.name)
        .find(|n| *n == table)
}

/// Applies the pages of one pull (the answers to `request` and the pages after it), all in
/// **one** transaction with the cursor of the last
/// page: owners no longer synced are dropped, every item's rows replace the local ones (and
/// are journalled locally, one revision per owner), acknowledged mutations leave the outbox
/// and pending ones are applied again on top.
pub fn apply_pull<C: SqlConnection>(
    store: &mut Store<C>,
    request: &PullRequest,
    pages: &[PullResponse],
    opts: &RecordOptions,
) -> Result<PullOutcome> {
    let Some(last) = pages.last() else {
        return Ok(PullOutcome::default());
    };
    // An answer to an older request (delayed, duplicated) would move the replica back.
    if request.cursor != get(store, settings::CURSOR)? {
        return Ok(PullOutcome {
            stale: true,
            ..PullOutcome::default()
        });
    }
    if pages.iter().any(|p| p.status == PullStatus::MustRefetch) {
        store.transaction(|s| {
            let owners: Vec<OwnerRef> = match get(s, settings::OWNERS)? {
                Some(text) => parse(&text)?,
                None => Vec::new(),
            };
            for o in &owners {
                keys::delete_owner(s.connection(), o.scope.into(), &o.owner)?;
            }
            s.connection().execute(
                "DELETE FROM calstore_sync WHERE name = $1",
                &[settings::CURSOR.into()],
            )?;
            Ok(())
        })?;
        return Ok(PullOutcome {
            must_refetch: true,
            ..PullOutcome::default()
        });
    }
    store.transaction(|s| {
        let before: Vec<OwnerRef> = match get(s, settings::OWNERS)? {
            Some(text) => parse(&text)?,
            None => Vec::new(),
        };
        let now: BTreeSet<(WireScope, &str)> = last
            .owners
            .iter()
            .map(|o| (o.scope, o.owner.as_str()))
            .collect();
        for o in before
            .iter()
            .filter(|o| !now.contains(&(o.scope, o.owner.as_str())))
        {
            keys::delete_owner(s.connection(), o.scope.into(), &o.owner)?;
        }
        let mut pulled = 0;
        let items: Vec<&Item> = pages.iter().flat_map(|p| &p.items).collect();
        // One write (one savepoint) per run of items of one owner, not per item: a failure
        // anywhere undoes the whole pull anyway, and 5 000 savepoints were a fifth of a
        // clone's time.
        for run in items.chunk_by(|a, b| a.scope == b.scope && a.owner == b.owner) {
            let Some(first) = run.first() else { continue };
            let scope = Scope::from(first.scope);
            let unit = s.unit.as_mut();
            work::write(&mut s.conn, unit, scope, &first.owner, |c, tx| {
                for item in run {
                    let table = static_table(&item.table)
                        .ok_or_else(|| StoreError::invalid("sync: unknown table in a pull"))?;
                    keys::apply(c, &item.owner, &item.table, &item.key, &item.data)?;
                    let empty = item.data.iter().all(|d| d.rows.is_empty());
                    let op = if empty {
                        Operation::Delete
                    } else {
                        Operation::Upsert
                    };
                    tx.changed(table, item.key.clone(), op);
                }
                Ok(())
            })?;
            pulled += run.len();
        }
        set(s, settings::OWNERS, &json(&last.owners)?)?;
        set(s, settings::CURSOR, &last.cursor)?;
        // An acknowledged mutation leaves once the server's rows of every key it touched
        // came with this pull (then nothing of a mutation that lost stays behind); one
        // acknowledged after the request was built waits for the next pull.
        let asked: BTreeSet<&KeyRef> = request.keys.iter().collect();
        for (seq, touched) in s
            .connection()
            .query(
                "SELECT seq, touched FROM calstore_outbox WHERE state = 'acked'",
                &[],
            )?
            .into_iter()
            .map(|r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)))
            .collect::<Result<Vec<_>>>()?
        {
            let keys: Vec<KeyRef> = parse(&touched)?;
            if keys.iter().all(|k| asked.contains(k)) {
                s.connection().execute(
                    "DELETE FROM calstore_outbox WHERE seq = $1",
                    &[Value::Integer(seq)],
                )?;
            }
        }
        let mut rebased = 0;
        let mut rebase_failed = 0;
        for entry in outbox(s)? {
            if entry.state != "pending" {
                continue;
            }
            let applied = s.capture(|s| entry.mutation.apply(s, Side::Client, opts));
            let new = match applied {
                Ok((_, keys)) => {
                    rebased += 1;
                    keys
                }
                Err(StoreError::Db(e)) => return Err(StoreError::Db(e)),
                Err(_) => {
                    rebase_failed += 1;
                    Vec::new()
                }
            };
            if !new.is_empty() {
                let mut touched: BTreeSet<KeyRef> = parse::<Vec<KeyRef>>(
                    &s.connection()
                        .query_opt(
                            "SELECT touched FROM calstore_outbox WHERE seq = $1",
                            &[Value::Integer(entry.seq)],
                        )?
                        .ok_or_else(|| StoreError::invalid("sync: outbox entry gone"))?
                        .get::<String>(0)?,
                )?
                .into_iter()
                .collect();
                touched.extend(to_key_refs(&new));
                let list: Vec<KeyRef> = touched.into_iter().collect();
                s.connection().execute(
                    "UPDATE calstore_outbox SET touched = $2 WHERE seq = $1",
                    &[Value::Integer(entry.seq), json(&list)?.into()],
                )?;
            }
        }
        Ok(PullOutcome {
            pulled,
            rebased,
            rebase_failed,
            ..PullOutcome::default()
        })
    })
}

/// The results of acknowledged mutations that did not apply as sent (superseded, rejected),
/// and bookings decided: what a client shows as conflicts.
pub fn conflicts(results: &[MutationResult]) -> Vec<&MutationResult> {
    results
        .iter()
        .filter(|r| r.status != ResultStatus::Applied || r.booking.is_some())
        .collect()
}
