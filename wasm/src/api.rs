//! The JavaScript API: `CalStore`, the store and journal over a sql.js `Database`.
//!
//! Every method is synchronous and thin: it converts its arguments (`crate::convert`), calls
//! the core, and converts the result back; errors are `Error`s with a stable `name` and
//! `code` (`crate::error`). Times are UTC text `YYYYMMDDTHHMMSSZ` (inputs also take
//! `YYYYMMDD`, a `Date` or epoch milliseconds); a missing recurrence id is `null` or
//! `undefined`. The TypeScript description is `wasm/js/calstore.d.ts`.
//!
//! ```js
//! const SQL = await initSqlJs();
//! const store = new CalStore(new SQL.Database(), {});
//! store.importIcs("mailto:room@example.com", icsText, { tz: "Europe/Oslo" });
//! store.getFreebusy("mailto:room@example.com", { from: "20261123", to: "20261130" });
//! ```
//!
//! Persistence (`openCalStore` in `wasm/js/calstore.js`) builds on three things here: the
//! `record` option (the connection records every committed write transaction, see
//! [`crate::wal`]), [`CalStore::take_commits`] (hands the entries over) and the `log` option
//! (replays entries on a restored image before the store opens), plus
//! [`CalStore::export_image`] for snapshots.
//!
//! With the feature `sqlite-wasm`, `CalStore.openInModule(options)` opens the same class on
//! the in-module backend instead (SQLite compiled into this module, see
//! `crate::in_module`); every method behaves the same ([`crate::backend`]).

use std::sync::{Arc, Mutex, PoisonError};

use calstore_core::ical::datetime::format_utc;
use calstore_core::{Clock, Source, Status, Store, StoreError, publish, record};
use chrono::{DateTime, Utc};
use wasm_bindgen::prelude::*;

use crate::SqlJsConnection;
use crate::backend::BrowserConnection;
use crate::convert::{self as cv, prop};
use crate::error::{js_error, to_js};

type JsResult<T> = Result<T, JsValue>;

fn js<T>(r: Result<T, StoreError>) -> JsResult<T> {
    r.map_err(|e| to_js(&e))
}

/// The store's clock: `Date.now()`, or a fixed instant set by the `now` option or
/// [`CalStore::set_now`].
#[derive(Debug, Default)]
struct JsClock {
    fixed: Mutex<Option<DateTime<Utc>>>,
}

impl JsClock {
    fn set_fixed(&self, now: Option<DateTime<Utc>>) {
        *self.fixed.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }
}

impl Clock for JsClock {
    fn now(&self) -> DateTime<Utc> {
        self.fixed
            .lock()
            .map_or_else(|e| *e.into_inner(), |f| *f)
            .or_else(cv::system_now)
            .unwrap_or(DateTime::UNIX_EPOCH)
    }
}

fn status(cancelled: Option<bool>) -> Status {
    if cancelled.unwrap_or(false) {
        Status::Cancelled
    } else {
        Status::Active
    }
}

/// calstore over one sql.js `Database` (or, with the feature `sqlite-wasm`, over SQLite in
/// this module): imip-agent's store (events, cancellations, counters, requests, free/busy,
/// offers, providers) and journal (quotas), and the change journal for sync.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CalStore {
    pub(crate) store: Store<BrowserConnection>,
    clock: Arc<JsClock>,
    replayed: usize,
}

#[wasm_bindgen]
impl CalStore {
    /// Opens calstore on a sql.js `Database`, creating or migrating the schema.
    ///
    /// `options`: `now` fixes the clock (else `Date.now()`); `record: true` records committed
    /// write transactions for [`CalStore::take_commits`]; `log` is an array of entries
    /// (`Uint8Array`) to replay, in order, before the store opens (an entry that fails to
    /// apply throws `ReplayFailed`).
    #[wasm_bindgen(constructor)]
    pub fn new(db: JsValue, options: JsValue) -> JsResult<CalStore> {
        js(cv::options(&options, "options"))?;
        let now = js(cv::opt_time(&prop(&options, "now"), "options.now"))?;
        let record = js(cv::opt_bool(&prop(&options, "record"), "options.record"))?;
        let log = js(cv::byte_arrays(&prop(&options, "log"), "options.log"))?;
        if !cv::is_sqljs_database(&db) {
            return js(Err(StoreError::invalid(
                "db: expected a sql.js Database (new SQL.Database())",
            )));
        }
        let mut conn = js(SqlJsConnection::from_js(db).map_err(StoreError::from))?;
        for (i, entry) in log.iter().enumerate() {
            conn.replay(entry).map_err(|e| {
                js_error(
                    "ReplayFailed",
                    "REPLAY_FAILED",
                    &format!("log entry {} of {}: {}", i + 1, log.len(), e.message()),
                )
            })?;
        }
        if record.unwrap_or(false) {
            conn.start_recording();
        }
        CalStore::open(BrowserConnection::SqlJs(conn), now, log.len())
    }

    /// Which backend the store runs on: `"sql.js"` or `"in-module"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&mut self) -> String {
        self.store.connection().backend_name().to_owned()
    }

    /// What each storage class (spec §C.3) survives in this store, as this backend can
    /// honestly promise it: `{ backend, rows: [{ class, processCrash, serverCrash, osCrash,
    /// cleanRestart }], notes }`, each survival one of `kept`, `last_snapshot`,
    /// `shutdown_snapshot`, `kept_once_logged`, `lost`.
    #[wasm_bindgen(getter, js_name = storageGuarantees)]
    pub fn storage_guarantees(&mut self) -> JsValue {
        let g = self.store.connection().guarantees();
        let rows = js_sys::Array::new();
        for r in &g.rows {
            let mut o = cv::Obj::new().set("class", r.class.to_string());
            for (key, s) in ["processCrash", "serverCrash", "osCrash", "cleanRestart"]
                .iter()
                .zip(r.after)
            {
                o = o.set(key, s.as_str());
            }
            rows.push(&o.build());
        }
        let notes: js_sys::Array = g.notes.iter().map(|n| JsValue::from_str(n)).collect();
        cv::Obj::new()
            .set("backend", g.backend.as_str())
            .set("rows", rows)
            .set("notes", notes)
            .build()
    }

    // ---- clock and persistence --------------------------------------------------------------

    /// The store's current time, `YYYYMMDDTHHMMSSZ`.
    pub fn now(&self) -> String {
        format_utc(self.store.now())
    }

    /// Fixes the clock at a time, or (with `null`) goes back to `Date.now()`.
    #[wasm_bindgen(js_name = setNow)]
    pub fn set_now(&self, now: JsValue) -> JsResult<()> {
        self.clock.set_fixed(js(cv::opt_time(&now, "now"))?);
        Ok(())
    }

    /// The log entries of the write transactions committed since the last call, oldest first
    /// (always empty unless opened with `record: true`).
    #[wasm_bindgen(js_name = takeCommits)]
    pub fn take_commits(&mut self) -> JsValue {
        cv::byte_arrays_out(&self.store.connection().take_committed())
    }

    /// How many committed entries wait for [`CalStore::take_commits`].
    #[wasm_bindgen(getter, js_name = pendingCommits)]
    pub fn pending_commits(&mut self) -> u32 {
        u32::try_from(self.store.connection().pending_committed()).unwrap_or(u32::MAX)
    }

    /// How many log entries were replayed when the store opened.
    #[wasm_bindgen(getter)]
    pub fn replayed(&self) -> u32 {
        u32::try_from(self.replayed).unwrap_or(u32::MAX)
    }

    /// The whole database image, a SQLite file (for a snapshot). On sql.js it throws `Busy`
    /// inside a transaction.
    #[wasm_bindgen(js_name = exportImage)]
    pub fn export_image(&mut self) -> JsResult<js_sys::Uint8Array> {
        js(self.store.connection().export().map_err(StoreError::from))
    }

    // ---- users --------------------------------------------------------------------------------

    /// Every user that has written anything, sorted.
    pub fn users(&mut self) -> JsResult<JsValue> {
        js(self.store.users()).map(|u| cv::string_array(&u))
    }

    /// True if the user has ever written to the store.
    #[wasm_bindgen(js_name = userExists)]
    pub fn user_exists(&mut self, user: &str) -> JsResult<bool> {
        js(self.store.user_exists(user))
    }

    // ---- importing and recording ----------------------------------------------------------

    /// Parses iCalendar text and records every VEVENT for `user` in one transaction (all or
    /// nothing), recomputing free/busy. The text is read leniently unless `strict`: what
    /// mainstream calendar software gets past is repaired or skipped, each repair a note of
    /// the report. `options`: `tz`, `windowDays` | `expandUntil`, `expandFrom`,
    /// `maxInstances`, `replaceRecurrences`, `strict`, `onlyInvolving` (skip events that do
    /// not name the user as organiser or attendee) and `onProgress(done, total)`.
    #[wasm_bindgen(js_name = importIcs)]
    pub fn import_ics(&mut self, user: &str, ics: JsValue, options: JsValue) -> JsResult<JsValue> {
        let mut opts = js(cv::record_options(&options, self.store.now()))?;
        if js(cv::opt_bool(&prop(&options, "strict"), "options.strict"))?.unwrap_or(false) {
            opts.parse = calstore_core::ical::ParseOptions::strict();
        }
        let bytes = js(cv::ical_bytes(&ics, "ics"))?;
        let only_involving = js(cv::opt_bool(
            &prop(&options, "onlyInvolving"),
            "options.onlyInvolving",
        ))?
        .unwrap_or(false);
        let progress = js(cv::opt_function(
            &prop(&options, "onProgress"),
            "options.onProgress",
        ))?;
        let mut on_progress = |done: usize, total: usize| {
            if let Some(f) = &progress {
                cv::call_progress(f, done, total);
            }
        };
        let involving = only_involving.then_some(user);
        js(self.store.import_sources(
            user,
            &[Source::bytes(&bytes)],
            involving,
            &opts,
            &mut on_progress,
        ))
        .map(|r| cv::import_report_out(&r))
    }

    /// Recomputes the free/busy of one UID from the stored objects; returns its periods.
    #[wasm_bindgen(js_name = refreshFreebusy)]
    pub fn refresh_freebusy(
        &mut self,
        user: &str,
        uid: &str,
        options: JsValue,
    ) -> JsResult<JsValue> {
        let opts = js(cv::record_options(&options, self.store.now()))?;
        js(self.store.refresh_freebusy(user, uid, &opts)).and_then(|p| cv::periods_out(&p))
    }

    /// Extends every provider's free/busy up to `until` (the daily job); returns how many
    /// providers were extended.
    #[wasm_bindgen(js_name = extendFreebusy)]
    pub fn extend_freebusy(
        &mut self,
        user: &str,
        until: JsValue,
        tz: Option<String>,
    ) -> JsResult<JsValue> {
        let until = js(cv::time(&until, "until"))?;
        let tz = js(cv::zone_name(tz.as_deref(), "tz"))?;
        js(self.store.extend_freebusy(user, until, tz)).map(cv::usize_count)
    }

    /// True if `periods` can be booked for (uid, rid): no busy period or live offer of the
    /// user overlaps them, other than those of the same (uid, rid).
    #[wasm_bindgen(js_name = canSchedule)]
    pub fn can_schedule(
        &mut self,
        user: &str,
        periods: JsValue,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self.store.can_schedule(user, &periods, uid, rid.as_deref()))
    }

    // ---- events ---------------------------------------------------------------------------------

    /// UIDs of the user's active parent events, sorted.
    #[wasm_bindgen(js_name = getEvents)]
    pub fn get_events(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.get_events(user)).map(|u| cv::string_array(&u))
    }

    /// UIDs of the user's cancelled parent events, sorted.
    #[wasm_bindgen(js_name = getCancelledEvents)]
    pub fn get_cancelled_events(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.get_cancelled_events(user)).map(|u| cv::string_array(&u))
    }

    /// Every `{uid, rid}` (parents with `rid: null`, and recurrences) that is active, or
    /// cancelled with `cancelled: true`, sorted.
    #[wasm_bindgen(js_name = getAllEvents)]
    pub fn get_all_events(&mut self, user: &str, cancelled: Option<bool>) -> JsResult<JsValue> {
        js(self.store.get_all_events(user, status(cancelled))).and_then(|o| cv::objects_out(&o))
    }

    /// The text of a parent (rid `null`) or recurrence, active (or cancelled), or `null`.
    #[wasm_bindgen(js_name = getEvent)]
    pub fn get_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        cancelled: Option<bool>,
    ) -> JsResult<JsValue> {
        js(self
            .store
            .get_event(user, uid, rid.as_deref(), status(cancelled)))
        .map(|t| cv::opt_str(t.as_deref()))
    }

    /// Recurrence ids of `uid`, active and cancelled, sorted.
    #[wasm_bindgen(js_name = getRecurrences)]
    pub fn get_recurrences(&mut self, user: &str, uid: &str) -> JsResult<JsValue> {
        js(self.store.get_recurrences(user, uid)).map(|r| cv::string_array(&r))
    }

    /// Active recurrence ids of `uid`, sorted.
    #[wasm_bindgen(js_name = getActiveRecurrences)]
    pub fn get_active_recurrences(&mut self, user: &str, uid: &str) -> JsResult<JsValue> {
        js(self.store.get_active_recurrences(user, uid)).map(|r| cv::string_array(&r))
    }

    /// Cancelled recurrence ids of `uid`, sorted.
    #[wasm_bindgen(js_name = getCancelledRecurrences)]
    pub fn get_cancelled_recurrences(&mut self, user: &str, uid: &str) -> JsResult<JsValue> {
        js(self.store.get_cancelled_recurrences(user, uid)).map(|r| cv::string_array(&r))
    }

    /// Stores an object's text as active **without** touching free/busy (imip-agent's
    /// `set_event`); `importIcs` records events with their free/busy.
    #[wasm_bindgen(js_name = setEvent)]
    pub fn set_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        text: &str,
    ) -> JsResult<()> {
        js(self.store.set_event(user, uid, rid.as_deref(), text))
    }

    /// Cancels an active object and removes its periods from free/busy, in one transaction;
    /// returns whether it was active.
    #[wasm_bindgen(js_name = cancelEvent)]
    pub fn cancel_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        options: JsValue,
    ) -> JsResult<bool> {
        let opts = js(cv::record_options(&options, self.store.now()))?;
        js(self
            .store
            .record_cancellation(user, uid, rid.as_deref(), &opts))
    }

    /// Re-activates a cancelled object and restores its periods; returns whether it was
    /// cancelled.
    #[wasm_bindgen(js_name = uncancelEvent)]
    pub fn uncancel_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        options: JsValue,
    ) -> JsResult<bool> {
        let opts = js(cv::record_options(&options, self.store.now()))?;
        js(self
            .store
            .record_uncancellation(user, uid, rid.as_deref(), &opts))
    }

    /// Removes an object (without rid: the event with all its recurrences, active or
    /// cancelled) with its free/busy and provider entry; returns whether anything was removed.
    #[wasm_bindgen(js_name = removeEvent)]
    pub fn remove_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        options: JsValue,
    ) -> JsResult<bool> {
        let opts = js(cv::record_options(&options, self.store.now()))?;
        js(self.store.record_removal(user, uid, rid.as_deref(), &opts))
    }

    // ---- cancellations ------------------------------------------------------------------------

    /// Deletes the cancelled copy of one object; returns whether it existed.
    #[wasm_bindgen(js_name = removeCancellation)]
    pub fn remove_cancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        js(self.store.remove_cancellation(user, uid, rid.as_deref()))
    }

    /// Without rid: deletes every cancelled recurrence of `uid` and the cancelled parent; with
    /// one: that cancelled recurrence. Returns how many objects were deleted.
    #[wasm_bindgen(js_name = removeCancellations)]
    pub fn remove_cancellations(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<JsValue> {
        js(self.store.remove_cancellations(user, uid, rid.as_deref())).map(cv::count)
    }

    // ---- counter-proposals --------------------------------------------------------------------

    /// Attendees who have countered (uid, rid), sorted.
    #[wasm_bindgen(js_name = getCounters)]
    pub fn get_counters(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<JsValue> {
        js(self.store.get_counters(user, uid, rid.as_deref())).map(|o| cv::string_array(&o))
    }

    /// The counter-proposal text from `other` for (uid, rid), or `null`.
    #[wasm_bindgen(js_name = getCounter)]
    pub fn get_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<JsValue> {
        js(self.store.get_counter(user, other, uid, rid.as_deref()))
            .map(|t| cv::opt_str(t.as_deref()))
    }

    /// Stores `other`'s counter-proposal for (uid, rid), replacing an earlier one.
    #[wasm_bindgen(js_name = setCounter)]
    pub fn set_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<String>,
        text: &str,
    ) -> JsResult<()> {
        js(self
            .store
            .set_counter(user, other, uid, rid.as_deref(), text))
    }

    /// Removes one attendee's counter-proposal; returns whether it existed.
    #[wasm_bindgen(js_name = removeCounter)]
    pub fn remove_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        js(self.store.remove_counter(user, other, uid, rid.as_deref()))
    }

    /// Removes every counter-proposal for exactly (uid, rid); returns how many.
    #[wasm_bindgen(js_name = removeCounters)]
    pub fn remove_counters(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<JsValue> {
        js(self.store.remove_counters(user, uid, rid.as_deref())).map(cv::count)
    }

    // ---- request queue ------------------------------------------------------------------------

    /// The request queue, `[{uid, rid, kind}]`, in the order queued.
    #[wasm_bindgen(js_name = getRequests)]
    pub fn get_requests(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.get_requests(user)).and_then(|r| cv::requests_out(&r))
    }

    /// Replaces the whole queue with `[{uid, rid?, kind?}]`.
    #[wasm_bindgen(js_name = setRequests)]
    pub fn set_requests(&mut self, user: &str, requests: JsValue) -> JsResult<()> {
        let requests = js(cv::requests_in(&requests, "requests"))?;
        js(self.store.set_requests(user, &requests))
    }

    /// Adds a request, or sets the type of the existing one for exactly (uid, rid).
    #[wasm_bindgen(js_name = setRequest)]
    pub fn set_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        kind: Option<String>,
    ) -> JsResult<()> {
        js(self
            .store
            .set_request(user, uid, rid.as_deref(), kind.as_deref()))
    }

    /// Queues a request unless one exists for exactly (uid, rid); returns whether it was
    /// queued.
    #[wasm_bindgen(js_name = queueRequest)]
    pub fn queue_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        kind: Option<String>,
    ) -> JsResult<bool> {
        js(self
            .store
            .queue_request(user, uid, rid.as_deref(), kind.as_deref()))
    }

    /// Removes the request for exactly (uid, rid); returns whether one was removed.
    #[wasm_bindgen(js_name = dequeueRequest)]
    pub fn dequeue_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        js(self.store.dequeue_request(user, uid, rid.as_deref()))
    }

    /// True if a request for (uid, rid) is queued; with `strict`, of type `kind` too.
    #[wasm_bindgen(js_name = hasRequest)]
    pub fn has_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        kind: Option<String>,
        strict: Option<bool>,
    ) -> JsResult<bool> {
        js(self.store.has_request(
            user,
            uid,
            rid.as_deref(),
            kind.as_deref(),
            strict.unwrap_or(false),
        ))
    }

    // ---- own free/busy ----------------------------------------------------------------------

    /// The user's periods, sorted (overlapping `{from, to}` if given; either side may be
    /// open), in the CLI's `--format json` shape.
    #[wasm_bindgen(js_name = getFreebusy)]
    pub fn get_freebusy(&mut self, user: &str, range: JsValue) -> JsResult<JsValue> {
        let range = js(cv::range(&range))?;
        let periods = match js(range.bounds())? {
            Some((from, to)) => js(self.store.get_freebusy_in(user, from, to))?,
            None => js(self.store.get_freebusy(user))?,
        };
        cv::periods_out(&periods)
    }

    /// The user's busy periods as the `METHOD:PUBLISH` VFREEBUSY imip-agent publishes
    /// (DTSTART/DTEND are the range when both sides are given).
    #[wasm_bindgen(js_name = freebusyIcs)]
    pub fn freebusy_ics(&mut self, user: &str, range: JsValue) -> JsResult<String> {
        let range = js(cv::range(&range))?;
        let periods = match js(range.bounds())? {
            Some((from, to)) => js(self.store.get_freebusy_in(user, from, to))?,
            None => js(self.store.get_freebusy(user))?,
        };
        Ok(publish::vfreebusy(
            user,
            &periods,
            self.store.now(),
            range.both(),
        ))
    }

    /// Replaces the user's free/busy.
    #[wasm_bindgen(js_name = setFreebusy)]
    pub fn set_freebusy(&mut self, user: &str, periods: JsValue) -> JsResult<()> {
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self.store.set_freebusy(user, &periods))
    }

    /// Adds periods (equal ones are skipped); returns how many were added.
    #[wasm_bindgen(js_name = addFreebusy)]
    pub fn add_freebusy(&mut self, user: &str, periods: JsValue) -> JsResult<JsValue> {
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self.store.add_freebusy(user, &periods)).map(cv::count)
    }

    /// Removes the periods of (uid, rid); returns how many.
    #[wasm_bindgen(js_name = removeEventPeriods)]
    pub fn remove_event_periods(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<JsValue> {
        js(self.store.remove_event_periods(user, uid, rid.as_deref())).map(cv::count)
    }

    // ---- free/busy of others ------------------------------------------------------------------

    /// The others the user holds free/busy about, sorted.
    #[wasm_bindgen(js_name = getFreebusyOthers)]
    pub fn get_freebusy_others(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.get_freebusy_others(user)).map(|o| cv::string_array(&o))
    }

    /// Free/busy held about `other` (overlapping `{from, to}` if given).
    #[wasm_bindgen(js_name = getFreebusyForOther)]
    pub fn get_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        range: JsValue,
    ) -> JsResult<JsValue> {
        let range = js(cv::range(&range))?;
        let periods = match js(range.bounds())? {
            Some((from, to)) => js(self.store.get_freebusy_for_other_in(user, other, from, to))?,
            None => js(self.store.get_freebusy_for_other(user, other))?,
        };
        cv::periods_out(&periods)
    }

    /// Replaces the free/busy held about `other`.
    #[wasm_bindgen(js_name = setFreebusyForOther)]
    pub fn set_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        periods: JsValue,
    ) -> JsResult<()> {
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self.store.set_freebusy_for_other(user, other, &periods))
    }

    /// A received VFREEBUSY: replaces what is held about `other` overlapping `[from, to)`.
    #[wasm_bindgen(js_name = replaceFreebusyForOther)]
    pub fn replace_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        from: JsValue,
        to: JsValue,
        periods: JsValue,
    ) -> JsResult<()> {
        let from = js(cv::time(&from, "from"))?;
        let to = js(cv::time(&to, "to"))?;
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self
            .store
            .replace_freebusy_for_other(user, other, from, to, &periods))
    }

    /// Replaces the periods of (uid, rid) held about `other`.
    #[wasm_bindgen(js_name = updateFreebusyForOtherEvent)]
    pub fn update_freebusy_for_other_event(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<String>,
        periods: JsValue,
    ) -> JsResult<()> {
        let periods = js(cv::periods(&periods, "periods"))?;
        js(self
            .store
            .update_freebusy_for_other_event(user, other, uid, rid.as_deref(), &periods))
    }

    // ---- offers ---------------------------------------------------------------------------------

    /// The live offers (periods with `expires`), sorted; expired ones are deleted first (which
    /// is a write when any has expired).
    #[wasm_bindgen(js_name = getOffers)]
    pub fn get_offers(&mut self, user: &str, range: JsValue) -> JsResult<JsValue> {
        let range = js(cv::range(&range))?;
        let offers = match js(range.bounds())? {
            Some((from, to)) => js(self.store.get_freebusy_offers_in(user, from, to))?,
            None => js(self.store.get_freebusy_offers(user))?,
        };
        cv::offers_out(&offers)
    }

    /// Replaces the offers.
    #[wasm_bindgen(js_name = setOffers)]
    pub fn set_offers(&mut self, user: &str, offers: JsValue) -> JsResult<()> {
        let offers = js(cv::offers_in(&offers, "offers"))?;
        js(self.store.set_freebusy_offers(user, &offers))
    }

    /// Replaces the offers of (uid, rid).
    #[wasm_bindgen(js_name = updateOffersForEvent)]
    pub fn update_offers_for_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
        offers: JsValue,
    ) -> JsResult<()> {
        let offers = js(cv::offers_in(&offers, "offers"))?;
        js(self
            .store
            .update_offers_for_event(user, uid, rid.as_deref(), &offers))
    }

    // ---- providers ------------------------------------------------------------------------------

    /// `{datetime, providers: [{uid, rid}]}`, or `null` if the user has no record.
    #[wasm_bindgen(js_name = getProviders)]
    pub fn get_providers(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.get_freebusy_providers(user)).and_then(|p| cv::providers_out(p.as_ref()))
    }

    /// Replaces the providers record.
    #[wasm_bindgen(js_name = setProviders)]
    pub fn set_providers(
        &mut self,
        user: &str,
        datetime: Option<String>,
        providers: JsValue,
    ) -> JsResult<()> {
        let providers = js(cv::objects_in(&providers, "providers"))?;
        js(self
            .store
            .set_freebusy_providers(user, datetime.as_deref(), &providers))
    }

    /// Adds (uid, rid) to the providers; returns whether it was added.
    #[wasm_bindgen(js_name = appendProvider)]
    pub fn append_provider(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        js(self
            .store
            .append_freebusy_provider(user, uid, rid.as_deref()))
    }

    /// Removes (uid, rid) from the providers; returns whether it was listed.
    #[wasm_bindgen(js_name = removeProvider)]
    pub fn remove_provider(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<String>,
    ) -> JsResult<bool> {
        js(self
            .store
            .remove_freebusy_provider(user, uid, rid.as_deref()))
    }

    // ---- journal: quotas ------------------------------------------------------------------------

    /// Every quota that has been written to, sorted.
    pub fn quotas(&mut self) -> JsResult<JsValue> {
        js(self.store.journal().quotas()).map(|q| cv::string_array(&q))
    }

    /// The groups with entries in the quota, sorted.
    #[wasm_bindgen(js_name = quotaUsers)]
    pub fn quota_users(&mut self, quota: &str) -> JsResult<JsValue> {
        js(self.store.journal().quota_users(quota)).map(|u| cv::string_array(&u))
    }

    /// `{group: limit}` (`*` means unlimited, else an iCalendar duration).
    #[wasm_bindgen(js_name = getLimits)]
    pub fn get_limits(&mut self, quota: &str) -> JsResult<JsValue> {
        js(self.store.journal().get_limits(quota)).map(|m| cv::string_map_out(&m))
    }

    /// Sets one group's limit (`*` or a duration such as `PT10H`; `PT1D` is refused).
    #[wasm_bindgen(js_name = setLimit)]
    pub fn set_limit(&mut self, quota: &str, group: &str, limit: &str) -> JsResult<()> {
        js(self.store.journal().set_limit(quota, group, limit))
    }

    /// Replaces every limit with `{group: limit}`.
    #[wasm_bindgen(js_name = setLimits)]
    pub fn set_limits(&mut self, quota: &str, limits: JsValue) -> JsResult<()> {
        let limits = js(cv::string_map(&limits, "limits"))?;
        js(self.store.journal().set_limits(quota, &limits))
    }

    /// `{user: group}` (`*` is everyone not listed).
    #[wasm_bindgen(js_name = getGroups)]
    pub fn get_groups(&mut self, quota: &str) -> JsResult<JsValue> {
        js(self.store.journal().get_groups(quota)).map(|m| cv::string_map_out(&m))
    }

    /// Puts a user in a group.
    #[wasm_bindgen(js_name = setGroup)]
    pub fn set_group(&mut self, quota: &str, user: &str, group: &str) -> JsResult<()> {
        js(self.store.journal().set_group(quota, user, group))
    }

    /// Replaces every group membership with `{user: group}`.
    #[wasm_bindgen(js_name = setGroups)]
    pub fn set_groups(&mut self, quota: &str, groups: JsValue) -> JsResult<()> {
        let groups = js(cv::string_map(&groups, "groups"))?;
        js(self.store.journal().set_groups(quota, &groups))
    }

    /// The quota's delegates, sorted.
    #[wasm_bindgen(js_name = getDelegates)]
    pub fn get_delegates(&mut self, quota: &str) -> JsResult<JsValue> {
        js(self.store.journal().get_delegates(quota)).map(|d| cv::string_array(&d))
    }

    /// Replaces the delegates.
    #[wasm_bindgen(js_name = setDelegates)]
    pub fn set_delegates(&mut self, quota: &str, delegates: JsValue) -> JsResult<()> {
        let delegates = js(cv::strings(&delegates, "delegates"))?;
        js(self.store.journal().set_delegates(quota, &delegates))
    }

    /// The group's reservations (periods with `attendee`), overlapping `{from, to}` if given.
    #[wasm_bindgen(js_name = getEntries)]
    pub fn get_entries(&mut self, quota: &str, group: &str, range: JsValue) -> JsResult<JsValue> {
        let range = js(cv::range(&range))?;
        let entries = match js(range.bounds())? {
            Some((from, to)) => js(self.store.journal().get_entries_in(quota, group, from, to))?,
            None => js(self.store.journal().get_entries(quota, group))?,
        };
        cv::entries_out(&entries)
    }

    /// Removes the group's entries for `uid` booked on `attendee` (a cancelled booking);
    /// returns how many.
    #[wasm_bindgen(js_name = removeFromQuota)]
    pub fn remove_from_quota(
        &mut self,
        quota: &str,
        group: &str,
        attendee: &str,
        uid: &str,
    ) -> JsResult<JsValue> {
        js(self
            .store
            .journal()
            .remove_from_quota(quota, group, attendee, uid))
        .map(cv::count)
    }

    /// The group an organiser is counted in.
    #[wasm_bindgen(js_name = groupOf)]
    pub fn group_of(&mut self, quota: &str, organiser: &str) -> JsResult<String> {
        js(self.store.journal().group_of(quota, organiser))
    }

    /// Checks a booking against the quota without recording it.
    ///
    /// `booking` is either `{ics, organiser?, attendee?, tz?, windowDays? | expandUntil?}`
    /// (one event's iCalendar text) or `{organiser, periods, uid?, rid?, attendee?,
    /// openEnded?}`. `attendee` (the resource) defaults to the quota's name, `uid` to
    /// `calstore-booking`. Returns `{decision, reason, message, group, requested, usage,
    /// limit}` with durations in seconds.
    #[wasm_bindgen(js_name = checkQuota)]
    pub fn check_quota(&mut self, quota: &str, booking: JsValue) -> JsResult<JsValue> {
        let (data, attendee) = self.booking(quota, &booking)?;
        let decision = js(self
            .store
            .journal()
            .check_quota(quota, &data.booking(&attendee)))?;
        Ok(cv::decision_out(&decision, data.requested()))
    }

    /// Checks a booking and, if it fits, records its entries, in one transaction (see
    /// [`CalStore::check_quota`] for `booking` and the result).
    pub fn reserve(&mut self, quota: &str, booking: JsValue) -> JsResult<JsValue> {
        let (data, attendee) = self.booking(quota, &booking)?;
        let decision = js(self
            .store
            .journal()
            .reserve(quota, &data.booking(&attendee)))?;
        Ok(cv::decision_out(&decision, data.requested()))
    }

    /// The quota's current revision.
    #[wasm_bindgen(js_name = journalRevision)]
    pub fn journal_revision(&mut self, quota: &str) -> JsResult<JsValue> {
        js(self.store.journal().revision(quota)).map(cv::number)
    }

    /// The quota's changes after revision `since`.
    #[wasm_bindgen(js_name = journalChangesSince)]
    pub fn journal_changes_since(&mut self, quota: &str, since: JsValue) -> JsResult<JsValue> {
        let since = js(cv::integer(&since, "since"))?;
        js(self.store.journal().changes_since(quota, since)).map(|c| cv::changes_out(&c))
    }

    // ---- change journal -------------------------------------------------------------------------

    /// The user's current revision (0 if the user never wrote).
    pub fn revision(&mut self, user: &str) -> JsResult<JsValue> {
        js(self.store.revision(user)).map(cv::number)
    }

    /// The user's changes after revision `since`, `[{table, key, revision, operation}]`, in
    /// revision order.
    #[wasm_bindgen(js_name = changesSince)]
    pub fn changes_since(&mut self, user: &str, since: JsValue) -> JsResult<JsValue> {
        let since = js(cv::integer(&since, "since"))?;
        js(self.store.changes_since(user, since)).map(|c| cv::changes_out(&c))
    }
}

#[cfg(feature = "sqlite-wasm")]
#[wasm_bindgen]
impl CalStore {
    /// Opens calstore on the in-module backend: SQLite compiled into this module (see
    /// `crate::in_module`), creating or migrating the schema. Resolves to a `CalStore`
    /// whose methods are the same, synchronous ones.
    ///
    /// `options`: `storage`: `"memory"` (the default; any context) or `"opfs"` (durable; a
    /// dedicated Worker only); `path`: the database's name in the OPFS pool (default
    /// `calstore.sqlite3`); `directory`: the pool's OPFS directory (default
    /// `.calstore-sahpool`); `now` as for the constructor. Another worker or tab holding the
    /// OPFS files makes it throw `Busy`.
    #[wasm_bindgen(js_name = openInModule)]
    pub async fn open_in_module(options: JsValue) -> JsResult<CalStore> {
        let (storage, now) = js(cv::in_module_options(&options))?;
        let conn = js(crate::in_module::open(&storage)
            .await
            .map_err(StoreError::from))?;
        CalStore::open(BrowserConnection::InModule(conn), now, 0)
    }

    /// Deletes an in-module database from OPFS (`options`: `path`, `directory` as for
    /// [`CalStore::open_in_module`]); it must not be open (else `Busy`). Resolves to whether
    /// it existed. A dedicated Worker only.
    #[wasm_bindgen(js_name = deleteInModule)]
    pub async fn delete_in_module(options: JsValue) -> JsResult<bool> {
        let (directory, path) = js(cv::in_module_location(&options))?;
        js(crate::in_module::delete(&directory, &path)
            .await
            .map_err(StoreError::from))
    }
}

impl CalStore {
    /// Opens the store on a connection: migrates the schema, sets up the clock.
    fn open(
        conn: BrowserConnection,
        now: Option<DateTime<Utc>>,
        replayed: usize,
    ) -> JsResult<CalStore> {
        let clock = Arc::new(JsClock {
            fixed: Mutex::new(now),
        });
        let store = js(Store::open(conn, Box::new(Arc::clone(&clock))))?;
        Ok(CalStore {
            store,
            clock,
            replayed,
        })
    }

    /// Reads a booking argument; returns it with the resource it is for.
    fn booking(
        &mut self,
        quota: &str,
        v: &JsValue,
    ) -> JsResult<(calstore_core::BookingRequest, String)> {
        if !v.is_object() {
            return js(Err(StoreError::invalid("booking: expected an object")));
        }
        let field = |k: &str| js(cv::opt_string(&prop(v, k), &format!("booking.{k}")));
        let organiser = field("organiser")?;
        let attendee = field("attendee")?.unwrap_or_else(|| quota.to_owned());
        let ics = prop(v, "ics");
        if !cv::is_none(&ics) {
            let bytes = js(cv::ical_bytes(&ics, "booking.ics"))?;
            let opts = js(cv::record_options(v, self.store.now()))?;
            let data = js(record::booking_from_source(
                &Source::bytes(&bytes),
                organiser.as_deref(),
                opts.tz,
                opts.window_end,
            ))?;
            return Ok((data, attendee));
        }
        let organiser = organiser.ok_or_else(|| {
            to_js(&StoreError::invalid(
                "booking: give `ics`, or `organiser` and `periods`",
            ))
        })?;
        let uid = field("uid")?;
        let rid = field("rid")?;
        let periods = js(cv::periods(&prop(v, "periods"), "booking.periods"))?;
        let open_ended =
            js(cv::opt_bool(&prop(v, "openEnded"), "booking.openEnded"))?.unwrap_or(false);
        let data = js(record::booking_from_periods(
            &organiser,
            uid.as_deref(),
            rid.as_deref(),
            periods,
            open_ended,
        ))?;
        Ok((data, attendee))
    }
}
