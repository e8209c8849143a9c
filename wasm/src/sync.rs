//! The sync client's side of `CalStore`: the core's sans-I/O state machine
//! (`calstore_core::sync::client`) exported for the `fetch` transport of
//! `wasm/js/calstore-sync.js`.
//!
//! Messages cross as JSON text: a request built here is the body `fetch` sends, an answer's
//! text goes back in unparsed. Every write here is one transaction of the store, so on
//! `openCalStore` (sql.js) it is one entry of the IndexedDB log, and on the in-module backend
//! one SQLite commit on OPFS: a local write and its outbox entry, or pulled data and its
//! cursor, are durable together or not at all.
//!
//! ```js
//! store.syncInit("https://cal.example.com", "alice", clientId);
//! const { seq } = JSON.parse(store.syncRecord(JSON.stringify({ kind: "record", user, ics })));
//! const push = store.syncPushRequest(500);         // JSON text or null
//! store.syncApplyPush(await (await fetch(url + "/sync/v1/push", { body: push, … })).text());
//! ```

use calstore_core::sync::Mutation;
use calstore_core::sync::client::{self, settings};
use calstore_core::sync::wire::{PullRequest, PullResponse, PushResponse};
use calstore_core::{RecordOptions, StoreError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::api::CalStore;
use crate::error::to_js;

type JsResult<T> = Result<T, JsValue>;

/// The largest answer (one pull page, one push answer) read, in bytes of JSON.
pub const MAX_ANSWER: usize = 64 * 1024 * 1024;
/// The largest mutation text recorded (an event with its overrides).
pub const MAX_MUTATION: usize = 4 * 1024 * 1024;

fn js<T>(r: Result<T, StoreError>) -> JsResult<T> {
    r.map_err(|e| to_js(&e))
}

fn to_json<T: Serialize>(v: &T) -> JsResult<String> {
    js(serde_json::to_string(v).map_err(|e| StoreError::invalid(e.to_string())))
}

fn from_json<T: for<'de> serde::Deserialize<'de>>(
    text: &str,
    what: &str,
    max: usize,
) -> JsResult<T> {
    if text.len() > max {
        return js(Err(StoreError::invalid(format!(
            "{what}: {} bytes, more than the {max} accepted",
            text.len()
        ))));
    }
    js(serde_json::from_str(text).map_err(|e| StoreError::invalid(format!("{what}: {e}"))))
}

/// A setting name the page may read or write: the protocol's own and the page's (`web:…`).
fn check_setting(name: &str) -> JsResult<()> {
    let known = [
        settings::SERVER,
        settings::LOGIN,
        settings::CLIENT_ID,
        settings::TOKEN,
        settings::EXPIRES,
        settings::CURSOR,
        settings::OWNERS,
        settings::NEXT_SEQ,
    ];
    if known.contains(&name) || (name.starts_with("web:") && name.len() <= 64) {
        Ok(())
    } else {
        js(Err(StoreError::invalid(format!(
            "sync setting {name:?}: not a setting"
        ))))
    }
}

#[wasm_bindgen]
impl CalStore {
    /// True if this database is a replica (`syncInit` was called).
    #[wasm_bindgen(js_name = isReplica)]
    pub fn is_replica(&mut self) -> JsResult<bool> {
        js(client::is_replica(&mut self.store))
    }

    /// Makes the database a replica of `server` for `login` with `clientId` (random, chosen
    /// once), or updates those settings of a replica (its outbox, cursor and sequence
    /// numbers are kept).
    #[wasm_bindgen(js_name = syncInit)]
    pub fn sync_init(&mut self, server: &str, login: &str, client_id: &str) -> JsResult<()> {
        for (what, v) in [
            ("server", server),
            ("login", login),
            ("clientId", client_id),
        ] {
            if v.is_empty() || v.len() > 2048 {
                return js(Err(StoreError::invalid(format!(
                    "{what}: expected 1 to 2048 characters"
                ))));
            }
        }
        js(client::init(&mut self.store, server, login, client_id))
    }

    /// A replica setting (`server`, `login`, `client_id`, `token`, `expires`, `cursor`,
    /// `owners`, `next_seq`, or the page's own `web:…`), or null.
    #[wasm_bindgen(js_name = syncSetting)]
    pub fn sync_setting(&mut self, name: &str) -> JsResult<Option<String>> {
        check_setting(name)?;
        js(client::get(&mut self.store, name))
    }

    /// Sets a replica setting (one transaction). Only `token`, `expires` and `web:…`
    /// settings may be written this way; the rest belong to the protocol.
    #[wasm_bindgen(js_name = setSyncSetting)]
    pub fn set_sync_setting(&mut self, name: &str, value: &str) -> JsResult<()> {
        check_setting(name)?;
        if !(name == settings::TOKEN || name == settings::EXPIRES || name.starts_with("web:")) {
            return js(Err(StoreError::invalid(format!(
                "sync setting {name:?}: written by the protocol only"
            ))));
        }
        if value.len() > 1024 * 1024 {
            return js(Err(StoreError::invalid("value: more than 1 MiB")));
        }
        js(self
            .store
            .transaction(|s| client::set(s, name, value).map(|_| ())))
    }

    /// Makes a mutation (the protocol's JSON form, e.g. `{"kind": "record", "user", "ics"}`)
    /// locally and records it in the outbox, in one transaction. Returns
    /// `{"seq", "outcome": "applied" | "pending" | …}`: a quota booking is `pending` until
    /// the server decides.
    #[wasm_bindgen(js_name = syncRecord)]
    pub fn sync_record(&mut self, mutation: &str) -> JsResult<String> {
        let m: Mutation = from_json(mutation, "mutation", MAX_MUTATION)?;
        let opts = RecordOptions::new(self.store.now());
        let (seq, outcome) = js(client::record(&mut self.store, &m, &opts))?;
        let outcome = match outcome {
            calstore_core::sync::Outcome::Applied => "applied",
            calstore_core::sync::Outcome::Superseded(_) => "superseded",
            calstore_core::sync::Outcome::Booked(_) => "booked",
            calstore_core::sync::Outcome::Pending => "pending",
        };
        to_json(&serde_json::json!({ "seq": seq, "outcome": outcome }))
    }

    /// The outbox, oldest first: `[{seq, mutation, state: "pending" | "acked", result,
    /// created}]` (JSON).
    #[wasm_bindgen(js_name = syncOutbox)]
    pub fn sync_outbox(&mut self) -> JsResult<String> {
        to_json(&js(client::outbox(&mut self.store))?)
    }

    /// How many mutations wait for the server.
    #[wasm_bindgen(js_name = syncPending)]
    pub fn sync_pending(&mut self) -> JsResult<u32> {
        let n = js(client::outbox(&mut self.store))?
            .iter()
            .filter(|e| e.state == "pending")
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The body of the next push (at most `max` pending mutations, oldest first), or null if
    /// nothing is pending.
    #[wasm_bindgen(js_name = syncPushRequest)]
    pub fn sync_push_request(&mut self, max: u32) -> JsResult<Option<String>> {
        let max = usize::try_from(max.clamp(1, 10_000)).unwrap_or(500);
        match js(client::push_request(&mut self.store, max))? {
            Some(req) => Ok(Some(to_json(&req)?)),
            None => Ok(None),
        }
    }

    /// Applies the server's answer to a push (its JSON text): the mutations answered are
    /// acknowledged (one transaction). Returns the new results (JSON array of `{seq, status,
    /// reason?, server?, booking?}`).
    #[wasm_bindgen(js_name = syncApplyPush)]
    pub fn sync_apply_push(&mut self, response: &str) -> JsResult<String> {
        let resp: PushResponse = from_json(response, "push answer", MAX_ANSWER)?;
        to_json(&js(client::apply_push(&mut self.store, &resp))?)
    }

    /// The body of the first page of a pull: the cursor of the last pull (none with
    /// `refetch`), `limit` items a page, and the keys the outbox touched.
    #[wasm_bindgen(js_name = syncPullRequest)]
    pub fn sync_pull_request(&mut self, limit: u32, refetch: bool) -> JsResult<String> {
        let limit = limit.clamp(1, 100_000);
        to_json(&js(client::pull_request(
            &mut self.store,
            Some(limit),
            refetch,
        ))?)
    }

    /// Applies the pages of one pull (the answers' JSON texts, in order) to `request` (the
    /// first page's body), all in **one** transaction with the cursor of the last page, then
    /// re-applies the pending mutations on top. Returns `{pulled, mustRefetch, rebased,
    /// rebaseFailed, stale}`.
    #[wasm_bindgen(js_name = syncApplyPull)]
    pub fn sync_apply_pull(&mut self, request: &str, pages: Vec<String>) -> JsResult<String> {
        let req: PullRequest = from_json(request, "pull request", MAX_ANSWER)?;
        let mut parsed: Vec<PullResponse> = Vec::with_capacity(pages.len());
        for (i, page) in pages.iter().enumerate() {
            parsed.push(from_json(
                page,
                &format!("pull answer {}", i + 1),
                MAX_ANSWER,
            )?);
        }
        let opts = RecordOptions::new(self.store.now());
        let o = js(client::apply_pull(&mut self.store, &req, &parsed, &opts))?;
        to_json(&serde_json::json!({
            "pulled": o.pulled,
            "mustRefetch": o.must_refetch,
            "rebased": o.rebased,
            "rebaseFailed": o.rebase_failed,
            "stale": o.stale,
        }))
    }

    /// The attendees of an event's text other than its organiser, with their answers:
    /// `[{attendee, partstat, reason}]` (JSON; `NEEDS-ACTION` is pending, a room's decline
    /// carries its reason).
    #[wasm_bindgen(js_name = attendeeStates)]
    pub fn attendee_states(&mut self, ics: &str) -> JsResult<String> {
        if ics.len() > MAX_MUTATION {
            return js(Err(StoreError::invalid("ics: more than 4 MiB")));
        }
        to_json(&js(calstore_core::scheduling::attendee_states(ics))?)
    }

    /// The counter-proposals an event's text (the attendee's copy) remembers the attendee
    /// sent: `[{rid, start, end, state, reason}]` (JSON; `state` is `sent` or `declined`, a
    /// decline carries the organiser's comment).
    #[wasm_bindgen(js_name = sentProposals)]
    pub fn sent_proposals(&mut self, ics: &str) -> JsResult<String> {
        if ics.len() > MAX_MUTATION {
            return js(Err(StoreError::invalid("ics: more than 4 MiB")));
        }
        to_json(&js(calstore_core::scheduling::sent_proposals(ics))?)
    }

    /// The counter-proposals the organiser `user` received and has not answered:
    /// `[{uid, rid, attendee, start, end, comment, summary, sequence}]` (JSON). Answered with
    /// the mutations `accept_counter` and `decline_counter`.
    #[wasm_bindgen(js_name = counterProposals)]
    pub fn counter_proposals(&mut self, user: &str) -> JsResult<String> {
        to_json(&js(self.store.counter_proposals(user))?)
    }

    /// The whole stored event `uid` of `user` (the parent and its overrides, active and
    /// cancelled) as one iCalendar text, or null.
    #[wasm_bindgen(js_name = getCompleteEvent)]
    pub fn get_complete_event(&mut self, user: &str, uid: &str) -> JsResult<Option<String>> {
        js(self.store.get_complete_event(user, uid))
    }
}
