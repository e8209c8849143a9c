//! Objects and recurrences, active and cancelled (imip-agent's `objects/`, `recurrences/`
//! and `cancellations/`): tables `objects` and `recurrences`, one row per object with its
//! status, so that an object is never both active and cancelled.
//!
//! These store and change object texts only; [`crate::record`] records events with the
//! free/busy derived from them.

use super::{Store, rid_key, strings};
use crate::address;
use crate::changes::Operation;
use crate::error::Result;
use crate::sql::{SqlConnection, Value, bulk};
use crate::status::Status;
use crate::validate;
use crate::work::WriteTx;

impl<C: SqlConnection> Store<C> {
    /// UIDs of the user's active parent events, sorted.
    pub fn get_events(&mut self, user: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
        self.events_with_status(user, Status::Active)
    }

    /// UIDs of the user's cancelled parent events, sorted.
    pub fn get_cancelled_events(&mut self, user: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
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

    /// The active objects (parents, then their recurrences) of the user as stored, sorted by
    /// UID and recurrence id: all of them, those of one UID, or those of the UIDs that have
    /// free/busy in `[from, to)` (every object of such a UID). [`crate::ical::calendar_of`]
    /// makes a calendar of them that an import reads back to the same objects.
    pub fn export_objects(
        &mut self,
        user: &str,
        uid: Option<&str>,
        range: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    ) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
        validate::user(user)?;
        let in_range: Option<std::collections::BTreeSet<String>> = match range {
            Some((from, to)) => Some(
                self.get_freebusy_in(user, from, to)?
                    .into_iter()
                    .filter_map(|p| p.uid)
                    .collect(),
            ),
            None => None,
        };
        let rows = self.conn.query(
            "SELECT object_uid, NULL, object_text FROM objects \
             WHERE store_user = $1 AND status = 'active' \
             UNION ALL \
             SELECT object_uid, object_recurrenceid, object_text FROM recurrences \
             WHERE store_user = $1 AND status = 'active'",
            &[user.into()],
        )?;
        let mut out: Vec<(String, Option<String>, String)> = rows
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .collect::<Result<_>>()?;
        out.retain(|(u, _, _)| {
            uid.is_none_or(|want| want == u) && in_range.as_ref().is_none_or(|s| s.contains(u))
        });
        out.sort();
        Ok(out.into_iter().map(|(_, _, text)| text).collect())
    }

    /// The text of a parent (rid None) or recurrence with the given status.
    pub fn get_event(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        status: Status,
    ) -> Result<Option<String>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        self.get_event(user, uid, None, Status::Active)
    }

    /// The active recurrence's text (a cancelled one is not returned).
    pub fn get_recurrence(&mut self, user: &str, uid: &str, rid: &str) -> Result<Option<String>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        validate::uid(uid)?;
        validate::rid(rid)?;
        validate::object_text(text)?;
        self.write(user, |c, tx| put_object(c, tx, user, uid, rid, text))
    }

    /// Stores a parent event as active.
    pub fn set_complete_event(&mut self, user: &str, uid: &str, text: &str) -> Result<()> {
        let user = &*address::normalise(user);
        self.set_event(user, uid, None, text)
    }

    /// Stores a recurrence as active.
    pub fn set_recurrence(&mut self, user: &str, uid: &str, rid: &str, text: &str) -> Result<()> {
        let user = &*address::normalise(user);
        self.set_event(user, uid, Some(rid), text)
    }

    /// Removes a recurrence (rid given), or the parent and every recurrence, active or
    /// cancelled: nothing is left under cancellations. Returns whether anything was removed.
    pub fn remove_event(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| delete_objects(c, tx, user, uid, rid))
    }

    /// Removes the parent event only (any status). Returns whether it existed.
    pub fn remove_parent_event(&mut self, user: &str, uid: &str) -> Result<bool> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let n = c.execute(
                "DELETE FROM objects WHERE store_user = $1 AND object_uid = $2",
                &[user.into(), uid.into()],
            )?;
            if n > 0 {
                tx.changed("objects", rid_key(uid, None), Operation::Delete);
            }
            Ok(n > 0)
        })
    }

    /// Removes every recurrence of `uid` (any status). Returns how many were removed.
    pub fn remove_recurrences(&mut self, user: &str, uid: &str) -> Result<u64> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| delete_recurrences(c, tx, user, uid))
    }

    /// Recurrence ids of `uid`, active and cancelled, sorted.
    pub fn get_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
        strings(self.conn.query(
            "SELECT object_recurrenceid FROM recurrences WHERE store_user = $1 \
             AND object_uid = $2 ORDER BY object_recurrenceid",
            &[user.into(), uid.into()],
        )?)
    }

    /// Active recurrence ids of `uid`, sorted.
    pub fn get_active_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
        self.recurrences_with_status(user, uid, Status::Active)
    }

    /// Cancelled recurrence ids of `uid`, sorted.
    pub fn get_cancelled_recurrences(&mut self, user: &str, uid: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            set_status(c, tx, user, uid, rid, Status::Active, Status::Cancelled)
        })
    }

    /// Moves a cancelled object back to the active ones. Returns whether it was cancelled.
    pub fn uncancel_event(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
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
}

// ---- statements (inside a write transaction) ----------------------------------------------

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
    use bulk::{Slot, rows_per_chunk, values_sql};
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
            tx.changed("objects", rid_key(uid, None), Operation::Upsert);
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
    use bulk::{Slot, rows_per_chunk, values_sql};
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
            tx.changed("recurrences", rid_key(uid, Some(rid)), Operation::Upsert);
        }
    }
    Ok(())
}

pub(crate) fn put_object<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
    text: &str,
) -> Result<()> {
    // The same text stored active: nothing changes, nothing is journalled.
    let held = match rid {
        None => c.query(
            "SELECT object_text FROM objects WHERE store_user = $1 AND object_uid = $2 \
             AND status = 'active'",
            &[user.into(), uid.into()],
        )?,
        Some(rid) => c.query(
            "SELECT object_text FROM recurrences WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3 AND status = 'active'",
            &[user.into(), uid.into(), rid.into()],
        )?,
    };
    if let Some(row) = held.first()
        && row.get::<String>(0)? == text
    {
        return Ok(());
    }
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
    tx.changed(object_table(rid), rid_key(uid, rid), Operation::Upsert);
    Ok(())
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
        tx.changed("recurrences", rid_key(uid, Some(r)), Operation::Delete);
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
            tx.changed("recurrences", rid_key(uid, Some(rid)), Operation::Delete);
        }
        return Ok(n > 0);
    }
    let recs = delete_recurrences(c, tx, user, uid)?;
    let n = c.execute(
        "DELETE FROM objects WHERE store_user = $1 AND object_uid = $2",
        &[user.into(), uid.into()],
    )?;
    if n > 0 {
        tx.changed("objects", rid_key(uid, None), Operation::Delete);
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
        tx.changed(object_table(rid), rid_key(uid, rid), Operation::Upsert);
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
        tx.changed(object_table(rid), rid_key(uid, rid), Operation::Delete);
    }
    Ok(n > 0)
}
