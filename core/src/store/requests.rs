//! The request queue: table `requests`, one entry per (uid, rid) in the order queued.

use super::{Store, rid_key};
use crate::address;
use crate::changes::Operation;
use crate::error::Result;
use crate::sql::{SqlConnection, Value};
use crate::validate;
use crate::work::WriteTx;

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

impl<C: SqlConnection> Store<C> {
    /// The request queue in the order the requests were queued.
    pub fn get_requests(&mut self, user: &str) -> Result<Vec<Request>> {
        let user = &*address::normalise(user);
        requests_of(&mut self.conn, user)
    }

    /// Replaces the whole queue.
    pub fn set_requests(&mut self, user: &str, requests: &[Request]) -> Result<()> {
        let user = &*address::normalise(user);
        for r in requests {
            validate::uid(&r.uid)?;
            validate::rid(r.rid.as_deref())?;
        }
        self.write(user, |c, tx| {
            // The same queue in the same order: nothing changes, nothing is journalled.
            if requests_of(c, user)? == requests {
                return Ok(());
            }
            let old = c.query(
                "DELETE FROM requests WHERE store_user = $1 \
                 RETURNING object_uid, object_recurrenceid",
                &[user.into()],
            )?;
            for r in &old {
                let uid: String = r.get(0)?;
                let rid: Option<String> = r.get(1)?;
                tx.changed("requests", rid_key(&uid, rid.as_deref()), Operation::Delete);
            }
            for r in requests {
                upsert_request(
                    c,
                    tx,
                    user,
                    &r.uid,
                    r.rid.as_deref(),
                    r.kind.as_deref(),
                    true,
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
        let user = &*address::normalise(user);
        validate::uid(uid)?;
        validate::rid(rid)?;
        self.write(user, |c, tx| {
            upsert_request(c, tx, user, uid, rid, kind, true).map(|_| ())
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
        let user = &*address::normalise(user);
        validate::uid(uid)?;
        validate::rid(rid)?;
        self.write(user, |c, tx| {
            upsert_request(c, tx, user, uid, rid, kind, false)
        })
    }

    /// Removes the request for exactly (uid, rid): rid None removes only the whole-event
    /// request, not recurrence-specific ones. Returns whether one was removed.
    pub fn dequeue_request(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let n = c.execute(
                "DELETE FROM requests WHERE store_user = $1 AND object_uid = $2 \
                 AND coalesce(object_recurrenceid, '') = $3",
                &[user.into(), uid.into(), rid.unwrap_or("").into()],
            )?;
            if n > 0 {
                tx.changed("requests", rid_key(uid, rid), Operation::Delete);
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
        let user = &*address::normalise(user);
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
}

/// The request queue of `user` in the order queued.
fn requests_of<C: SqlConnection + ?Sized>(c: &mut C, user: &str) -> Result<Vec<Request>> {
    c.query(
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

fn upsert_request<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    uid: &str,
    rid: Option<&str>,
    kind: Option<&str>,
    overwrite: bool,
) -> Result<bool> {
    let queued = tx.queue_position()?;
    let sql = if overwrite {
        "INSERT INTO requests (store_user, object_uid, object_recurrenceid, request_type, queued) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (store_user, object_uid, coalesce(object_recurrenceid, '')) \
         DO UPDATE SET request_type = excluded.request_type \
         WHERE coalesce(requests.request_type, '') <> coalesce(excluded.request_type, '')"
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
        tx.changed("requests", rid_key(uid, rid), Operation::Upsert);
    }
    Ok(n > 0)
}
