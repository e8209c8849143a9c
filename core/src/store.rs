//! The store: imip-agent's per-user calendar objects, recurrences, cancellations,
//! counter-proposals, request queue and free/busy collections.
//!
//! Every method that writes runs as **one transaction** that commits whole or not at all, and
//! bumps the user's revision in the change journal first (see [`crate::changes`]). Where
//! imip-agent's file store and database store differ, this follows the file store, and the
//! upstream bugs listed in `docs/architecture.md` are fixed.

use chrono::{DateTime, Utc};

use crate::changes::{self, Change, Operation, Scope, WriteTx};
use crate::clock::Clock;
use crate::conn::SqlConnection;
use crate::error::{Result, StoreError};
use crate::ical::datetime::{format_utc, parse_utc};
use crate::period::{FREEBUSY, FREEBUSY_OFFERS, FREEBUSY_OTHER, Period, PeriodRow};
use crate::schema;
use crate::tx::in_transaction;
use crate::validate;
use crate::value::Value;

/// Whether an object is active or cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A live object (imip-agent's `objects/`, `recurrences/`).
    Active,
    /// A cancelled object (imip-agent's `cancellations/`).
    Cancelled,
}

impl Status {
    /// The value of the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Cancelled => "cancelled",
        }
    }
}

/// One entry of a user's request queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The event's UID.
    pub uid: String,
    /// The recurrence id, None for the whole event.
    pub rid: Option<String>,
    /// None for a plain request; `COUNTER` when a counter-proposal waits.
    pub kind: Option<String>,
}

/// A tentative period offered in a counter-proposal, with its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The offered period.
    pub period: Period,
    /// When the offer lapses; it is dropped at the first read at or after this instant.
    pub expires: Option<DateTime<Utc>>,
}

/// A user's free/busy providers: events whose periods must be extended as time passes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Providers {
    /// The instant up to which their free/busy has been generated (`YYYYMMDDTHHMMSSZ`).
    pub datetime: Option<String>,
    /// The (uid, recurrence id) pairs.
    pub providers: Vec<(String, Option<String>)>,
}

/// The store over one connection.
pub struct Store<C> {
    pub(crate) conn: C,
    pub(crate) clock: Box<dyn Clock>,
}

impl<C> std::fmt::Debug for Store<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Runs `f` as one write transaction for `user` in `scope`, bumping its revision first.
pub(crate) fn write_tx<C, T, F>(conn: &mut C, scope: Scope, owner: &str, mut f: F) -> Result<T>
where
    C: SqlConnection + ?Sized,
    F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
{
    in_transaction(conn, |c| {
        let mut tx = WriteTx::begin(c, scope, owner)?;
        let value = f(c, &mut tx)?;
        tx.flush(c)?;
        Ok(value)
    })
}

fn rid_key(uid: &str, rid: Option<&str>) -> String {
    changes::key(&[Some(uid), rid])
}

fn strings(rows: Vec<crate::value::Row>) -> Result<Vec<String>> {
    rows.iter().map(|r| Ok(r.get(0)?)).collect()
}

impl<C: SqlConnection> Store<C> {
    /// Opens a store on `conn`, creating or migrating the schema as needed.
    pub fn open(mut conn: C, clock: Box<dyn Clock>) -> Result<Self> {
        schema::migrate(&mut conn)?;
        Ok(Store { conn, clock })
    }

    /// The connection (for adapters and tests).
    pub fn connection(&mut self) -> &mut C {
        &mut self.conn
    }

    /// Gives the connection back.
    pub fn into_inner(self) -> C {
        self.conn
    }

    /// The store's notion of now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The journal (quotas) over the same connection.
    pub fn journal(&mut self) -> crate::journal::Journal<'_, C> {
        crate::journal::Journal::new(&mut self.conn, &*self.clock)
    }

    pub(crate) fn write<T, F>(&mut self, user: &str, f: F) -> Result<T>
    where
        F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
    {
        validate::user(user)?;
        write_tx(&mut self.conn, Scope::Store, user, f)
    }

    // ---- users --------------------------------------------------------------------------

    /// Every user that has written anything (imip-agent's per-user directories), sorted.
    pub fn users(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT owner FROM calstore_revisions WHERE scope = 'store' ORDER BY owner",
            &[],
        )?)
    }

    /// True if `user` has ever written to the store.
    pub fn user_exists(&mut self, user: &str) -> Result<bool> {
        Ok(!self
            .conn
            .query(
                "SELECT 1 FROM calstore_revisions WHERE scope = 'store' AND owner = $1",
                &[user.into()],
            )?
            .is_empty())
    }

    /// Fails with [`StoreError::NotFound`] naming the user if it has no data.
    pub fn require_user(&mut self, user: &str) -> Result<()> {
        validate::user(user)?;
        if self.user_exists(user)? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("user {user}")))
        }
    }

    // ---- events -------------------------------------------------------------------------

    /// UIDs of the user's active parent events, sorted.
    pub fn get_events(&mut self, user: &str) -> Result<Vec<String>> {
        self.events_with_status(user, Status::Active)
    }

    /// UIDs of the user's cancelled parent events, sorted.
    pub fn get_cancelled_events(&mut self, user: &str) -> Result<Vec<String>> {
        self.events_with_status(user, Status::Cancelled)
    }

    fn events_with_status(&mut self, user: &str, status: Status) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT object_uid FROM objects WHERE store_user = $1 AND status = $2 \
             ORDER BY object_uid",
            &[user.into(), status.as_str().into()],
        )?)
    }

    /// Every (uid, recurrence id) with the given status: parents (rid None) and recurrences,
    /// sorted. Unlike imip-agent's file store, recurrences of cancelled parents are listed
    /// even when the user has no active parent at all.
    pub fn get_all_events(
        &mut self,
        user: &str,
        status: Status,
    ) -> Result<Vec<(String, Option<String>)>> {
        let rows = self.conn.query(
            "SELECT object_uid, NULL FROM objects WHERE store_user = $1 AND status = $2 \
             UNION ALL \
             SELECT object_uid, object_recurrenceid FROM recurrences \
             WHERE store_user = $1 AND status = $2 \
             ORDER BY 1, 2",
            &[user.into(), status.as_str().into()],
        )?;
        let mut out: Vec<(String, Option<String>)> = rows
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        // NULL sorts first on SQLite and last on PostgreSQL: sort here so both agree.
        out.sort();
        Ok(out)
    }

    /// The text of a parent (rid None) or recurrence with the given status.
    pub fn get_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        status: Status,
    ) -> Result<Option<String>> {
        let rows = match rid {
            None => self.conn.query(
                "SELECT object_text FROM objects WHERE store_user = $1 AND object_uid = $2 \
                 AND status = $3",
                &[user.into(), uid.into(), status.as_str().into()],
            )?,
            Some(rid) => self.conn.query(
                "SELECT object_text FROM recurrences WHERE store_user = $1 AND object_uid = $2 \
                 AND object_recurrenceid = $3 AND status = $4",
                &[user.into(), uid.into(), rid.into(), status.as_str().into()],
            )?,
        };
        Ok(strings(rows)?.into_iter().next())
    }

    /// The active parent event's text (a cancelled parent is not returned).
    pub fn get_complete_event(&mut self, user: &str, uid: &str) -> Result<Option<String>> {
        self.get_event(user, uid, None, Status::Active)
    }

    /// The active recurrence's text (a cancelled one is not returned).
    pub fn get_recurrence(&mut self, user: &str, uid: &str, rid: &str) -> Result<Option<String>> {
        self.get_event(user, uid, Some(rid), Status::Active)
    }

    /// Stores a parent (rid None) or recurrence as active. Storing an object that was
    /// cancelled re-activates it: an object is never both active and cancelled.
    pub fn set_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        text: &str,
    ) -> Result<()> {
        validate::uid(uid)?;
        validate::rid(rid)?;
        validate::object_text(text)?;
        self.write(user, |c, tx| put_object(c, tx, user, uid, rid, text))
    }

    /// Stores a parent event as active.
    pub fn set_complete_event(&mut self, user: &str, uid: &str, text: &str) -> Result<()> {
        self.set_event(user, uid, None, text)
    }

    /// Stores a recurrence as active.
    pub fn set_recurrence(&mut self, user: &str, uid: &str, rid: &str, text: &str) -> Result<()> {
        self.set_event(user, uid, Some(rid), text)
    }

    /// Removes a recurrence (rid given), or the parent and every recurrence, active or
    /// cancelled: nothing is left under cancellations. Returns whether anything was removed.
    pub fn remove_event(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        self.write(user, |c, tx| delete_objects(c, tx, user, uid, rid))
    }

    /// Removes the parent event only (any status). Returns whether it existed.
    pub fn remove_parent_event(&mut self, user: &str, uid: &str) -> Result<bool> {
        self.write(user, |c, tx| {
            let n = c.execute(
                "DELETE FROM objects WHERE store_user = $1 AND object_uid = $2",
                &[user.into(), uid.into()],
            )?;
            if n > 0 {
                tx.changed(c, "objects", rid_key(uid, None), Operation::Delete)?;
            }
            Ok(n > 0)
        })
    }

    /// Removes every recurrence of `uid` (any status). Returns how many were removed.
    pub fn remove_recurrences(&mut self, user: &str, uid: &str) -> Result<u64> {
        self.write(user, |c, tx| delete_recurrences(c, tx, user, uid))
    }

    /// Recurrence ids of `uid`, active and cancelled, sorted.
    pub fn get_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT object_recurrenceid FROM recurrences WHERE store_user = $1 \
             AND object_uid = $2 ORDER BY object_recurrenceid",
            &[user.into(), uid.into()],
        )?)
    }

    /// Active recurrence ids of `uid`, sorted.
    pub fn get_active_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        self.recurrences_with_status(user, uid, Status::Active)
    }

    /// Cancelled recurrence ids of `uid`, sorted.
    pub fn get_cancelled_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        self.recurrences_with_status(user, uid, Status::Cancelled)
    }

    fn recurrences_with_status(
        &mut self,
        user: &str,
        uid: &str,
        status: Status,
    ) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT object_recurrenceid FROM recurrences WHERE store_user = $1 \
             AND object_uid = $2 AND status = $3 ORDER BY object_recurrenceid",
            &[user.into(), uid.into(), status.as_str().into()],
        )?)
    }

    // ---- cancellations ------------------------------------------------------------------

    /// Moves an active object to the cancellations. Returns whether it was active. Only the
    /// addressed object changes: cancelling a parent does not cancel its recurrences.
    pub fn cancel_event(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        self.write(user, |c, tx| {
            set_status(c, tx, user, uid, rid, Status::Active, Status::Cancelled)
        })
    }

    /// Moves a cancelled object back to the active ones. Returns whether it was cancelled.
    pub fn uncancel_event(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        self.write(user, |c, tx| {
            set_status(c, tx, user, uid, rid, Status::Cancelled, Status::Active)
        })
    }

    /// Deletes the cancelled copy of one object. Returns whether it existed.
    pub fn remove_cancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        self.write(user, |c, tx| remove_cancelled(c, tx, user, uid, rid))
    }

    /// Without a rid: deletes every cancelled recurrence of `uid` and the cancelled parent;
    /// with one: that cancelled recurrence. Returns how many objects were deleted.
    pub fn remove_cancellations(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<u64> {
        self.write(user, |c, tx| {
            if rid.is_some() {
                return Ok(u64::from(remove_cancelled(c, tx, user, uid, rid)?));
            }
            let rids = strings(c.query(
                "SELECT object_recurrenceid FROM recurrences WHERE store_user = $1 \
                 AND object_uid = $2 AND status = 'cancelled'",
                &[user.into(), uid.into()],
            )?)?;
            let mut n = 0;
            for r in &rids {
                n += u64::from(remove_cancelled(c, tx, user, uid, Some(r))?);
            }
            n += u64::from(remove_cancelled(c, tx, user, uid, None)?);
            Ok(n)
        })
    }

    // ---- counter-proposals --------------------------------------------------------------

    /// Attendees who have countered (uid, rid), sorted.
    pub fn get_counters(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<Vec<String>> {
        strings(match rid {
            None => self.conn.query(
                "SELECT other FROM countered_objects WHERE store_user = $1 AND object_uid = $2 \
                 ORDER BY other",
                &[user.into(), uid.into()],
            )?,
            Some(rid) => self.conn.query(
                "SELECT other FROM countered_recurrences WHERE store_user = $1 \
                 AND object_uid = $2 AND object_recurrenceid = $3 ORDER BY other",
                &[user.into(), uid.into(), rid.into()],
            )?,
        })
    }

    /// The counter-proposal text from `other` for (uid, rid).
    pub fn get_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<Option<String>> {
        Ok(strings(match rid {
            None => self.conn.query(
                "SELECT object_text FROM countered_objects WHERE store_user = $1 \
                 AND other = $2 AND object_uid = $3",
                &[user.into(), other.into(), uid.into()],
            )?,
            Some(rid) => self.conn.query(
                "SELECT object_text FROM countered_recurrences WHERE store_user = $1 \
                 AND other = $2 AND object_uid = $3 AND object_recurrenceid = $4",
                &[user.into(), other.into(), uid.into(), rid.into()],
            )?,
        })?
        .into_iter()
        .next())
    }

    /// Stores `other`'s counter-proposal for (uid, rid); a second one from the same attendee
    /// replaces the first (as the file store does).
    pub fn set_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
        text: &str,
    ) -> Result<()> {
        validate::user(other)?;
        validate::uid(uid)?;
        validate::rid(rid)?;
        validate::object_text(text)?;
        self.write(user, |c, tx| {
            match rid {
                None => c.execute(
                    "INSERT INTO countered_objects (store_user, other, object_uid, object_text) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (store_user, object_uid, other) \
                     DO UPDATE SET object_text = excluded.object_text",
                    &[user.into(), other.into(), uid.into(), text.into()],
                )?,
                Some(rid) => c.execute(
                    "INSERT INTO countered_recurrences \
                     (store_user, other, object_uid, object_recurrenceid, object_text) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (store_user, object_uid, object_recurrenceid, other) \
                     DO UPDATE SET object_text = excluded.object_text",
                    &[
                        user.into(),
                        other.into(),
                        uid.into(),
                        rid.into(),
                        text.into(),
                    ],
                )?,
            };
            tx.changed(
                c,
                counter_table(rid),
                counter_key(uid, rid, other),
                Operation::Upsert,
            )
        })
    }

    /// Removes every counter-proposal for exactly (uid, rid); counters on recurrences survive
    /// the removal of the parent's. Returns how many were removed.
    pub fn remove_counters(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<u64> {
        self.write(user, |c, tx| {
            let others = match rid {
                None => c.query(
                    "DELETE FROM countered_objects WHERE store_user = $1 AND object_uid = $2 \
                     RETURNING other",
                    &[user.into(), uid.into()],
                )?,
                Some(rid) => c.query(
                    "DELETE FROM countered_recurrences WHERE store_user = $1 \
                     AND object_uid = $2 AND object_recurrenceid = $3 RETURNING other",
                    &[user.into(), uid.into(), rid.into()],
                )?,
            };
            let others = strings(others)?;
            for o in &others {
                tx.changed(
                    c,
                    counter_table(rid),
                    counter_key(uid, rid, o),
                    Operation::Delete,
                )?;
            }
            Ok(others.len() as u64)
        })
    }

    /// Removes one attendee's counter-proposal. Returns whether it existed.
    pub fn remove_counter(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        self.write(user, |c, tx| {
            let n = match rid {
                None => c.execute(
                    "DELETE FROM countered_objects WHERE store_user = $1 AND other = $2 \
                     AND object_uid = $3",
                    &[user.into(), other.into(), uid.into()],
                )?,
                Some(rid) => c.execute(
                    "DELETE FROM countered_recurrences WHERE store_user = $1 AND other = $2 \
                     AND object_uid = $3 AND object_recurrenceid = $4",
                    &[user.into(), other.into(), uid.into(), rid.into()],
                )?,
            };
            if n > 0 {
                tx.changed(
                    c,
                    counter_table(rid),
                    counter_key(uid, rid, other),
                    Operation::Delete,
                )?;
            }
            Ok(n > 0)
        })
    }

    // ---- request queue ------------------------------------------------------------------

    /// The request queue in the order the requests were queued.
    pub fn get_requests(&mut self, user: &str) -> Result<Vec<Request>> {
        self.conn
            .query(
                "SELECT object_uid, object_recurrenceid, request_type FROM requests \
                 WHERE store_user = $1 ORDER BY queued, object_uid, coalesce(object_recurrenceid, '')",
                &[user.into()],
            )?
            .iter()
            .map(|r| {
                Ok(Request {
                    uid: r.get(0)?,
                    rid: r.get(1)?,
                    kind: r.get(2)?,
                })
            })
            .collect()
    }

    /// Replaces the whole queue.
    pub fn set_requests(&mut self, user: &str, requests: &[Request]) -> Result<()> {
        for r in requests {
            validate::uid(&r.uid)?;
            validate::rid(r.rid.as_deref())?;
        }
        self.write(user, |c, tx| {
            let old = c.query(
                "DELETE FROM requests WHERE store_user = $1 \
                 RETURNING object_uid, object_recurrenceid",
                &[user.into()],
            )?;
            for r in &old {
                let uid: String = r.get(0)?;
                let rid: Option<String> = r.get(1)?;
                tx.changed(
                    c,
                    "requests",
                    rid_key(&uid, rid.as_deref()),
                    Operation::Delete,
                )?;
            }
            for (position, r) in requests.iter().enumerate() {
                upsert_request(
                    c,
                    tx,
                    user,
                    &r.uid,
                    r.rid.as_deref(),
                    r.kind.as_deref(),
                    true,
                    position,
                )?;
            }
            Ok(())
        })
    }

    /// Adds a request, or sets the type of the existing request for exactly (uid, rid).
    pub fn set_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        kind: Option<&str>,
    ) -> Result<()> {
        validate::uid(uid)?;
        validate::rid(rid)?;
        self.write(user, |c, tx| {
            upsert_request(c, tx, user, uid, rid, kind, true, 0).map(|_| ())
        })
    }

    /// Queues a request unless one exists for exactly (uid, rid), whatever its type (the
    /// file store's rule). Returns whether it was queued.
    pub fn queue_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        kind: Option<&str>,
    ) -> Result<bool> {
        validate::uid(uid)?;
        validate::rid(rid)?;
        self.write(user, |c, tx| {
            upsert_request(c, tx, user, uid, rid, kind, false, 0)
        })
    }

    /// Removes the request for exactly (uid, rid): rid None removes only the whole-event
    /// request, not recurrence-specific ones. Returns whether one was removed.
    pub fn dequeue_request(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        self.write(user, |c, tx| {
            let n = c.execute(
                "DELETE FROM requests WHERE store_user = $1 AND object_uid = $2 \
                 AND coalesce(object_recurrenceid, '') = $3",
                &[user.into(), uid.into(), rid.unwrap_or("").into()],
            )?;
            if n > 0 {
                tx.changed(c, "requests", rid_key(uid, rid), Operation::Delete)?;
            }
            Ok(n > 0)
        })
    }

    /// True if a request for (uid, rid) is queued; with `strict`, its type must equal `kind`
    /// too (an untyped request matches `kind` None only).
    pub fn has_request(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        kind: Option<&str>,
        strict: bool,
    ) -> Result<bool> {
        let rows = self.conn.query(
            "SELECT request_type FROM requests WHERE store_user = $1 AND object_uid = $2 \
             AND coalesce(object_recurrenceid, '') = $3",
            &[user.into(), uid.into(), rid.unwrap_or("").into()],
        )?;
        match rows.first() {
            None => Ok(false),
            Some(_) if !strict => Ok(true),
            Some(r) => Ok(r.get::<Option<String>>(0)?.as_deref() == kind),
        }
    }

    // ---- own free/busy ------------------------------------------------------------------

    /// The user's own periods, sorted, without duplicates.
    pub fn get_freebusy(&mut self, user: &str) -> Result<Vec<Period>> {
        Ok(periods(FREEBUSY.select_all(&mut self.conn, &[user])?))
    }

    /// The user's own periods overlapping `[from, to)`, sorted; answered through the overlap
    /// index (see [`crate::period`]).
    pub fn get_freebusy_in(
        &mut self,
        user: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Period>> {
        Ok(periods(FREEBUSY.select_overlap(
            &mut self.conn,
            &[user],
            from,
            to,
        )?))
    }

    /// Replaces the user's own free/busy with `periods` (equal periods are stored once).
    pub fn set_freebusy(&mut self, user: &str, periods: &[Period]) -> Result<()> {
        validate_periods(periods)?;
        self.write(user, |c, tx| replace_periods(c, tx, user, periods))
    }

    /// Adds periods to the user's own free/busy; equal periods are skipped. Returns how many
    /// were added.
    pub fn add_freebusy(&mut self, user: &str, periods: &[Period]) -> Result<u64> {
        validate_periods(periods)?;
        self.write(user, |c, tx| {
            let mut n = 0;
            for p in periods {
                if FREEBUSY.insert(c, &[user], p, None)? {
                    n += 1;
                    tx.changed(c, "freebusy", period_key(p), Operation::Upsert)?;
                }
            }
            Ok(n)
        })
    }

    /// Removes the periods of (uid, rid) from the user's own free/busy (rid None: the parent's
    /// occurrences). Returns how many were removed.
    pub fn remove_event_periods(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<u64> {
        self.write(user, |c, tx| {
            let n = FREEBUSY.delete_event(c, &[user], uid, rid)?;
            if n > 0 {
                tx.changed(c, "freebusy", changes::key(&[Some(uid)]), Operation::Upsert)?;
            }
            Ok(n)
        })
    }

    // ---- free/busy of others ------------------------------------------------------------

    /// Free/busy received or deduced about `other`, sorted.
    pub fn get_freebusy_for_other(&mut self, user: &str, other: &str) -> Result<Vec<Period>> {
        Ok(periods(
            FREEBUSY_OTHER.select_all(&mut self.conn, &[user, other])?,
        ))
    }

    /// Free/busy of `other` overlapping `[from, to)`, sorted.
    pub fn get_freebusy_for_other_in(
        &mut self,
        user: &str,
        other: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Period>> {
        Ok(periods(FREEBUSY_OTHER.select_overlap(
            &mut self.conn,
            &[user, other],
            from,
            to,
        )?))
    }

    /// Replaces the free/busy held about `other`.
    pub fn set_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        periods: &[Period],
    ) -> Result<()> {
        validate::user(other)?;
        validate_periods(periods)?;
        self.write(user, |c, tx| {
            FREEBUSY_OTHER.delete_all(c, &[user, other])?;
            for p in periods {
                FREEBUSY_OTHER.insert(c, &[user, other], p, None)?;
            }
            tx.changed(
                c,
                "freebusy_other",
                changes::key(&[Some(other)]),
                Operation::Upsert,
            )
        })
    }

    /// A received VFREEBUSY: removes what is held about `other` overlapping
    /// `[from, to)` and stores `periods` instead (imip-agent's `replace_overlapping`).
    pub fn replace_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        periods: &[Period],
    ) -> Result<()> {
        validate::user(other)?;
        validate_periods(periods)?;
        if to < from {
            return Err(StoreError::invalid("free/busy range ends before it starts"));
        }
        self.write(user, |c, tx| {
            FREEBUSY_OTHER.delete_overlap(c, &[user, other], from, to, None)?;
            for p in periods {
                FREEBUSY_OTHER.insert(c, &[user, other], p, None)?;
            }
            tx.changed(
                c,
                "freebusy_other",
                changes::key(&[Some(other)]),
                Operation::Upsert,
            )
        })
    }

    /// Received VFREEBUSY components about `other`, in **one** transaction: for each, what is
    /// held about `other` overlapping its range is removed and its busy periods (every FBTYPE
    /// but FREE, recorded as OPAQUE periods without uid) are stored instead. The range is the
    /// component's DTSTART..DTEND, or, without them, the span of its periods (an empty
    /// component without a range changes nothing). Returns how many periods were stored.
    pub fn import_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        components: &[crate::ical::FreeBusyComponent],
    ) -> Result<usize> {
        validate::user(other)?;
        let mut replacements = Vec::new();
        for comp in components {
            let periods: Vec<Period> = comp
                .periods
                .iter()
                .filter(|p| p.is_busy())
                .map(|p| Period {
                    transp: Some("OPAQUE".to_owned()),
                    ..Period::new(p.start, p.end)
                })
                .collect();
            validate_periods(&periods)?;
            let from = comp
                .start
                .or_else(|| comp.periods.iter().map(|p| p.start).min());
            let to = comp
                .end
                .or_else(|| comp.periods.iter().map(|p| p.end).max());
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if to < from {
                return Err(StoreError::invalid("free/busy range ends before it starts"));
            }
            replacements.push((from, to, periods));
        }
        self.write(user, |c, tx| {
            let mut stored = 0;
            for (from, to, periods) in &replacements {
                FREEBUSY_OTHER.delete_overlap(c, &[user, other], *from, *to, None)?;
                for p in periods {
                    stored += usize::from(FREEBUSY_OTHER.insert(c, &[user, other], p, None)?);
                }
            }
            tx.changed(
                c,
                "freebusy_other",
                changes::key(&[Some(other)]),
                Operation::Upsert,
            )?;
            Ok(stored)
        })
    }

    /// Replaces the periods of (uid, rid) held about `other` (free/busy deduced from an
    /// event the other party takes part in).
    pub fn update_freebusy_for_other_event(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
        periods: &[Period],
    ) -> Result<()> {
        validate::user(other)?;
        validate::uid(uid)?;
        validate_periods(periods)?;
        self.write(user, |c, tx| {
            FREEBUSY_OTHER.delete_event(c, &[user, other], uid, rid)?;
            for p in periods {
                FREEBUSY_OTHER.insert(c, &[user, other], p, None)?;
            }
            tx.changed(
                c,
                "freebusy_other",
                changes::key(&[Some(other)]),
                Operation::Upsert,
            )
        })
    }

    /// The others the user holds free/busy about, sorted.
    pub fn get_freebusy_others(&mut self, user: &str) -> Result<Vec<String>> {
        FREEBUSY_OTHER.select_second_owners(&mut self.conn, user)
    }

    // ---- offers -------------------------------------------------------------------------

    /// The user's live offers, sorted. Offers whose expiry is at or before now are deleted
    /// first (in the same transaction), so an expired offer never blocks a booking. The read
    /// is a write (one revision) only when something has expired: like the file store, which
    /// rewrites the offers file only if it dropped a period, a read that finds nothing to
    /// expire writes nothing, so it neither bumps the revision nor makes the reader a user.
    pub fn get_freebusy_offers(&mut self, user: &str) -> Result<Vec<Offer>> {
        self.read_offers(user, |c| FREEBUSY_OFFERS.select_all(c, &[user]))
    }

    /// Live offers overlapping `[from, to)` (expired ones are deleted first).
    pub fn get_freebusy_offers_in(
        &mut self,
        user: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Offer>> {
        self.read_offers(user, |c| {
            FREEBUSY_OFFERS.select_overlap(c, &[user], from, to)
        })
    }

    /// Runs `select` on the offers, after deleting the expired ones in the same write
    /// transaction if there are any.
    fn read_offers<F>(&mut self, user: &str, mut select: F) -> Result<Vec<Offer>>
    where
        F: FnMut(&mut C) -> Result<Vec<PeriodRow>>,
    {
        let now = self.clock.now();
        let due = self.conn.query(
            "SELECT 1 FROM freebusy_offers WHERE store_user = $1 AND expires IS NOT NULL \
             AND expires <= $2 LIMIT 1",
            &[user.into(), Value::Text(format_utc(now))],
        )?;
        let rows = if due.is_empty() {
            select(&mut self.conn)?
        } else {
            self.write(user, |c, tx| {
                expire_offers(c, tx, user, now)?;
                select(c)
            })?
        };
        // An offer may have been added between the check and the read: leave out any that
        // has expired.
        let mut list = offers(rows);
        list.retain(|o| o.expires.is_none_or(|e| e > now));
        Ok(list)
    }

    /// Replaces the user's offers.
    pub fn set_freebusy_offers(&mut self, user: &str, offers: &[Offer]) -> Result<()> {
        for o in offers {
            o.period.validate()?;
        }
        self.write(user, |c, tx| {
            FREEBUSY_OFFERS.delete_all(c, &[user])?;
            for o in offers {
                let expires = o.expires.map(format_utc);
                FREEBUSY_OFFERS.insert(c, &[user], &o.period, expires.as_deref())?;
            }
            tx.changed(c, "freebusy_offers", changes::key(&[]), Operation::Upsert)
        })
    }

    /// Replaces the offers of (uid, rid) with `offers` (imip-agent's
    /// `update_event_in_freebusy_offers`).
    pub fn update_offers_for_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        offers: &[Offer],
    ) -> Result<()> {
        validate::uid(uid)?;
        for o in offers {
            o.period.validate()?;
        }
        self.write(user, |c, tx| {
            FREEBUSY_OFFERS.delete_event(c, &[user], uid, rid)?;
            for o in offers {
                let expires = o.expires.map(format_utc);
                FREEBUSY_OFFERS.insert(c, &[user], &o.period, expires.as_deref())?;
            }
            tx.changed(c, "freebusy_offers", changes::key(&[]), Operation::Upsert)
        })
    }

    // ---- providers ----------------------------------------------------------------------

    /// The users that have free/busy providers (events to extend as time passes), sorted.
    pub fn freebusy_provider_users(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT DISTINCT store_user FROM freebusy_providers ORDER BY store_user",
            &[],
        )?)
    }

    /// The user's providers record, or None if there is none.
    pub fn get_freebusy_providers(&mut self, user: &str) -> Result<Option<Providers>> {
        get_providers(&mut self.conn, user)
    }

    /// Replaces the providers record.
    pub fn set_freebusy_providers(
        &mut self,
        user: &str,
        datetime: Option<&str>,
        providers: &[(String, Option<String>)],
    ) -> Result<()> {
        if let Some(dt) = datetime {
            parse_utc(dt).map_err(|e| StoreError::invalid(e.to_string()))?;
        }
        self.write(user, |c, tx| {
            c.execute(
                "DELETE FROM freebusy_providers WHERE store_user = $1",
                &[user.into()],
            )?;
            set_provider_datetime(c, user, datetime)?;
            for (uid, rid) in providers {
                add_provider(c, user, uid, rid.as_deref())?;
            }
            tx.changed(
                c,
                "freebusy_providers",
                changes::key(&[]),
                Operation::Upsert,
            )
        })
    }

    /// Adds (uid, rid) to the providers, creating the record if needed (imip-agent's file
    /// store silently records nothing without a record, so open-ended events were never
    /// extended). Returns whether it was added.
    pub fn append_freebusy_provider(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        validate::uid(uid)?;
        self.write(user, |c, tx| {
            let added = add_provider(c, user, uid, rid)?;
            ensure_provider_record(c, user)?;
            if added {
                tx.changed(
                    c,
                    "freebusy_providers",
                    changes::key(&[]),
                    Operation::Upsert,
                )?;
            }
            Ok(added)
        })
    }

    /// Removes (uid, rid) from the providers. Returns whether it was listed.
    pub fn remove_freebusy_provider(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        self.write(user, |c, tx| {
            let removed = remove_provider(c, user, uid, rid)?;
            if removed {
                tx.changed(
                    c,
                    "freebusy_providers",
                    changes::key(&[]),
                    Operation::Upsert,
                )?;
            }
            Ok(removed)
        })
    }

    // ---- change journal -----------------------------------------------------------------

    /// The user's current revision (0 if the user never wrote).
    pub fn revision(&mut self, user: &str) -> Result<i64> {
        changes::current_revision(&mut self.conn, Scope::Store, user)
    }

    /// The user's changes after revision `since`, in revision order.
    pub fn changes_since(&mut self, user: &str, since: i64) -> Result<Vec<Change>> {
        changes::changes_since(&mut self.conn, Scope::Store, user, since)
    }
}

// ---- helpers shared by store operations (all run inside a write transaction) --------------

pub(crate) fn periods(rows: Vec<PeriodRow>) -> Vec<Period> {
    rows.into_iter().map(|r| r.period).collect()
}

fn offers(rows: Vec<PeriodRow>) -> Vec<Offer> {
    rows.into_iter()
        .map(|r| Offer {
            period: r.period,
            expires: r.extra.as_deref().and_then(|e| parse_utc(e).ok()),
        })
        .collect()
}

pub(crate) fn validate_periods(periods: &[Period]) -> Result<()> {
    periods.iter().try_for_each(Period::validate)
}

fn period_key(p: &Period) -> String {
    changes::key(&[p.uid.as_deref()])
}

pub(crate) fn counter_table(rid: Option<&str>) -> &'static str {
    if rid.is_some() {
        "countered_recurrences"
    } else {
        "countered_objects"
    }
}

pub(crate) fn counter_key(uid: &str, rid: Option<&str>, other: &str) -> String {
    changes::key(&[Some(uid), rid, Some(other)])
}

pub(crate) fn object_table(rid: Option<&str>) -> &'static str {
    if rid.is_some() {
        "recurrences"
    } else {
        "objects"
    }
}

/// Stores active parents with multi-row upserts.
pub(crate) fn put_objects<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    objects: &[(&str, &str)],
) -> Result<()> {
    use crate::bulk::{Slot, rows_per_chunk, values_sql};
    for chunk in objects.chunks(rows_per_chunk(2, 1)) {
        let sql = values_sql(
            "INSERT INTO objects (store_user, object_uid, object_text, status) VALUES ",
            &[
                Slot::Shared(1),
                Slot::Row(0),
                Slot::Row(1),
                Slot::Literal("'active'"),
            ],
            1,
            chunk.len(),
            " ON CONFLICT (store_user, object_uid) \
             DO UPDATE SET object_text = excluded.object_text, status = 'active'",
        );
        let mut params = vec![Value::from(user)];
        for (uid, text) in chunk {
            params.push(Value::from(*uid));
            params.push(Value::from(*text));
        }
        c.execute(&sql, &params)?;
        for (uid, _) in chunk {
            tx.changed(c, "objects", rid_key(uid, None), Operation::Upsert)?;
        }
    }
    Ok(())
}

/// Stores active recurrences with multi-row upserts.
pub(crate) fn put_recurrences<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    recurrences: &[(&str, &str, &str)],
) -> Result<()> {
    use crate::bulk::{Slot, rows_per_chunk, values_sql};
    for chunk in recurrences.chunks(rows_per_chunk(3, 1)) {
        let sql = values_sql(
            "INSERT INTO recurrences (store_user, object_uid, object_recurrenceid, object_text, \
             status) VALUES ",
            &[
                Slot::Shared(1),
                Slot::Row(0),
                Slot::Row(1),
                Slot::Row(2),
                Slot::Literal("'active'"),
            ],
            1,
            chunk.len(),
            " ON CONFLICT (store_user, object_uid, object_recurrenceid) \
             DO UPDATE SET object_text = excluded.object_text, status = 'active'",
        );
        let mut params = vec![Value::from(user)];
        for (uid, rid, text) in chunk {
            params.push(Value::from(*uid));
            params.push(Value::from(*rid));
            params.push(Value::from(*text));
        }
        c.execute(&sql, &params)?;
        for (uid, rid, _) in chunk {
            tx.changed(c, "recurrences", rid_key(uid, Some(rid)), Operation::Upsert)?;
        }
    }
    Ok(())
}

pub(crate) fn get_provider_datetime<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
) -> Result<Option<String>> {
    let rows = c.query(
        "SELECT \"start\" FROM freebusy_provider_datetimes WHERE store_user = $1",
        &[user.into()],
    )?;
    match rows.first() {
        Some(r) => Ok(r.get(0)?),
        None => Ok(None),
    }
}

pub(crate) fn put_object<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
    text: &str,
) -> Result<()> {
    match rid {
        None => c.execute(
            "INSERT INTO objects (store_user, object_uid, object_text, status) \
             VALUES ($1, $2, $3, 'active') ON CONFLICT (store_user, object_uid) \
             DO UPDATE SET object_text = excluded.object_text, status = 'active'",
            &[user.into(), uid.into(), text.into()],
        )?,
        Some(rid) => c.execute(
            "INSERT INTO recurrences (store_user, object_uid, object_recurrenceid, object_text, \
             status) VALUES ($1, $2, $3, $4, 'active') \
             ON CONFLICT (store_user, object_uid, object_recurrenceid) \
             DO UPDATE SET object_text = excluded.object_text, status = 'active'",
            &[user.into(), uid.into(), rid.into(), text.into()],
        )?,
    };
    tx.changed(c, object_table(rid), rid_key(uid, rid), Operation::Upsert)
}

pub(crate) fn delete_recurrences<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
) -> Result<u64> {
    let rids = strings(c.query(
        "DELETE FROM recurrences WHERE store_user = $1 AND object_uid = $2 \
         RETURNING object_recurrenceid",
        &[user.into(), uid.into()],
    )?)?;
    for r in &rids {
        tx.changed(c, "recurrences", rid_key(uid, Some(r)), Operation::Delete)?;
    }
    Ok(rids.len() as u64)
}

pub(crate) fn delete_objects<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<bool> {
    if let Some(rid) = rid {
        let n = c.execute(
            "DELETE FROM recurrences WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3",
            &[user.into(), uid.into(), rid.into()],
        )?;
        if n > 0 {
            tx.changed(c, "recurrences", rid_key(uid, Some(rid)), Operation::Delete)?;
        }
        return Ok(n > 0);
    }
    let recs = delete_recurrences(c, tx, user, uid)?;
    let n = c.execute(
        "DELETE FROM objects WHERE store_user = $1 AND object_uid = $2",
        &[user.into(), uid.into()],
    )?;
    if n > 0 {
        tx.changed(c, "objects", rid_key(uid, None), Operation::Delete)?;
    }
    Ok(n > 0 || recs > 0)
}

pub(crate) fn set_status<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
    from: Status,
    to: Status,
) -> Result<bool> {
    let n = match rid {
        None => c.execute(
            "UPDATE objects SET status = $4 WHERE store_user = $1 AND object_uid = $2 \
             AND status = $3",
            &[
                user.into(),
                uid.into(),
                from.as_str().into(),
                to.as_str().into(),
            ],
        )?,
        Some(rid) => c.execute(
            "UPDATE recurrences SET status = $5 WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3 AND status = $4",
            &[
                user.into(),
                uid.into(),
                rid.into(),
                from.as_str().into(),
                to.as_str().into(),
            ],
        )?,
    };
    if n > 0 {
        tx.changed(c, object_table(rid), rid_key(uid, rid), Operation::Upsert)?;
    }
    Ok(n > 0)
}

fn remove_cancelled<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<bool> {
    let n = match rid {
        None => c.execute(
            "DELETE FROM objects WHERE store_user = $1 AND object_uid = $2 \
             AND status = 'cancelled'",
            &[user.into(), uid.into()],
        )?,
        Some(rid) => c.execute(
            "DELETE FROM recurrences WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3 AND status = 'cancelled'",
            &[user.into(), uid.into(), rid.into()],
        )?,
    };
    if n > 0 {
        tx.changed(c, object_table(rid), rid_key(uid, rid), Operation::Delete)?;
    }
    Ok(n > 0)
}

/// Positions available to the requests queued by one write.
const QUEUE_POSITIONS: i64 = 1 << 20;

#[allow(clippy::too_many_arguments)]
fn upsert_request<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
    kind: Option<&str>,
    overwrite: bool,
    position: usize,
) -> Result<bool> {
    // Queue order: the revision that queued the request, then its position in that write
    // (set_requests queues a whole list in one revision).
    let position = i64::try_from(position)
        .ok()
        .filter(|p| *p < QUEUE_POSITIONS)
        .ok_or_else(|| StoreError::invalid("too many requests in one write"))?;
    let queued = tx
        .revision()
        .checked_mul(QUEUE_POSITIONS)
        .and_then(|q| q.checked_add(position))
        .ok_or_else(|| StoreError::invalid("request queue position overflows"))?;
    let sql = if overwrite {
        "INSERT INTO requests (store_user, object_uid, object_recurrenceid, request_type, queued) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (store_user, object_uid, coalesce(object_recurrenceid, '')) \
         DO UPDATE SET request_type = excluded.request_type"
    } else {
        "INSERT INTO requests (store_user, object_uid, object_recurrenceid, request_type, queued) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    };
    let n = c.execute(
        sql,
        &[
            user.into(),
            uid.into(),
            rid.into(),
            kind.into(),
            Value::Integer(queued),
        ],
    )?;
    if n > 0 {
        tx.changed(c, "requests", rid_key(uid, rid), Operation::Upsert)?;
    }
    Ok(n > 0)
}

fn replace_periods<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    periods: &[Period],
) -> Result<()> {
    for old in FREEBUSY.select_all(c, &[user])? {
        tx.changed(c, "freebusy", period_key(&old.period), Operation::Upsert)?;
    }
    FREEBUSY.delete_all(c, &[user])?;
    for p in periods {
        FREEBUSY.insert(c, &[user], p, None)?;
        tx.changed(c, "freebusy", period_key(p), Operation::Upsert)?;
    }
    Ok(())
}

fn expire_offers<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = c.execute(
        "DELETE FROM freebusy_offers WHERE store_user = $1 AND expires IS NOT NULL \
         AND expires <= $2",
        &[user.into(), Value::Text(format_utc(now))],
    )?;
    if n > 0 {
        tx.changed(c, "freebusy_offers", changes::key(&[]), Operation::Upsert)?;
    }
    Ok(())
}

pub(crate) fn get_providers<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
) -> Result<Option<Providers>> {
    let dt = c.query(
        "SELECT \"start\" FROM freebusy_provider_datetimes WHERE store_user = $1",
        &[user.into()],
    )?;
    let list = c.query(
        "SELECT object_uid, object_recurrenceid FROM freebusy_providers WHERE store_user = $1 \
         ORDER BY object_uid, coalesce(object_recurrenceid, '')",
        &[user.into()],
    )?;
    if dt.is_empty() && list.is_empty() {
        return Ok(None);
    }
    Ok(Some(Providers {
        datetime: match dt.first() {
            Some(r) => r.get(0)?,
            None => None,
        },
        providers: list
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?,
    }))
}

pub(crate) fn add_provider<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO freebusy_providers (store_user, object_uid, object_recurrenceid) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[user.into(), uid.into(), rid.into()],
    )? > 0)
}

pub(crate) fn remove_provider<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<bool> {
    Ok(c.execute(
        "DELETE FROM freebusy_providers WHERE store_user = $1 AND object_uid = $2 \
         AND coalesce(object_recurrenceid, '') = $3",
        &[user.into(), uid.into(), rid.unwrap_or("").into()],
    )? > 0)
}

fn ensure_provider_record<C: SqlConnection + ?Sized>(c: &mut C, user: &str) -> Result<()> {
    c.execute(
        "INSERT INTO freebusy_provider_datetimes (store_user, \"start\") VALUES ($1, NULL) \
         ON CONFLICT (store_user) DO NOTHING",
        &[user.into()],
    )?;
    Ok(())
}

pub(crate) fn set_provider_datetime<C: SqlConnection + ?Sized>(
    c: &mut C,
    user: &str,
    datetime: Option<&str>,
) -> Result<()> {
    c.execute(
        "INSERT INTO freebusy_provider_datetimes (store_user, \"start\") VALUES ($1, $2) \
         ON CONFLICT (store_user) DO UPDATE SET \"start\" = excluded.\"start\"",
        &[user.into(), datetime.into()],
    )?;
    Ok(())
}
