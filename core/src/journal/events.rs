//! The journal's copies of booked events: tables `quota_objects` and `quota_recurrences`.

use super::{Journal, strings};
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::validate;

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
    /// Stores the journal's copy of an event (parent or recurrence) as active.
    pub fn set_event(
        &mut self,
        quota: &str,
        uid: &str,
        rid: Option<&str>,
        text: &str,
    ) -> Result<()> {
        validate::uid(uid)?;
        validate::rid(rid)?;
        validate::object_text(text)?;
        self.write(quota, |c, tx| {
            match rid {
                None => c.execute(
                    "INSERT INTO quota_objects (quota, object_uid, object_text, status) \
                     VALUES ($1, $2, $3, 'active') ON CONFLICT (quota, object_uid) \
                     DO UPDATE SET object_text = excluded.object_text, status = 'active'",
                    &[quota.into(), uid.into(), text.into()],
                )?,
                Some(rid) => c.execute(
                    "INSERT INTO quota_recurrences (quota, object_uid, object_recurrenceid, \
                     object_text, status) VALUES ($1, $2, $3, $4, 'active') \
                     ON CONFLICT (quota, object_uid, object_recurrenceid) \
                     DO UPDATE SET object_text = excluded.object_text, status = 'active'",
                    &[quota.into(), uid.into(), rid.into(), text.into()],
                )?,
            };
            let table = if rid.is_some() {
                "quota_recurrences"
            } else {
                "quota_objects"
            };
            tx.changed(table, changes::key(&[Some(uid), rid]), Operation::Upsert);
            Ok(())
        })
    }

    /// The journal's copy of an event.
    pub fn get_event(
        &mut self,
        quota: &str,
        uid: &str,
        rid: Option<&str>,
        status: Status,
    ) -> Result<Option<String>> {
        let rows = match rid {
            None => self.conn.query(
                "SELECT object_text FROM quota_objects WHERE quota = $1 AND object_uid = $2 \
                 AND status = $3",
                &[quota.into(), uid.into(), status.as_str().into()],
            )?,
            Some(rid) => self.conn.query(
                "SELECT object_text FROM quota_recurrences WHERE quota = $1 \
                 AND object_uid = $2 AND object_recurrenceid = $3 AND status = $4",
                &[quota.into(), uid.into(), rid.into(), status.as_str().into()],
            )?,
        };
        Ok(strings(rows)?.into_iter().next())
    }

    /// UIDs of the journal's active parent events, sorted.
    pub fn get_events(&mut self, quota: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT object_uid FROM quota_objects WHERE quota = $1 AND status = 'active' \
             ORDER BY object_uid",
            &[quota.into()],
        )?)
    }

    /// Removes the journal's copy of an event (without rid: with all its recurrences).
    pub fn remove_event(&mut self, quota: &str, uid: &str, rid: Option<&str>) -> Result<bool> {
        self.write(quota, |c, tx| {
            let mut removed = false;
            if let Some(rid) = rid {
                removed |= c.execute(
                    "DELETE FROM quota_recurrences WHERE quota = $1 AND object_uid = $2 \
                     AND object_recurrenceid = $3",
                    &[quota.into(), uid.into(), rid.into()],
                )? > 0;
                if removed {
                    tx.changed(
                        "quota_recurrences",
                        changes::key(&[Some(uid), Some(rid)]),
                        Operation::Delete,
                    );
                }
                return Ok(removed);
            }
            let rids = strings(c.query(
                "DELETE FROM quota_recurrences WHERE quota = $1 AND object_uid = $2 \
                 RETURNING object_recurrenceid",
                &[quota.into(), uid.into()],
            )?)?;
            for r in &rids {
                tx.changed(
                    "quota_recurrences",
                    changes::key(&[Some(uid), Some(r)]),
                    Operation::Delete,
                );
            }
            removed |= !rids.is_empty();
            if c.execute(
                "DELETE FROM quota_objects WHERE quota = $1 AND object_uid = $2",
                &[quota.into(), uid.into()],
            )? > 0
            {
                removed = true;
                tx.changed(
                    "quota_objects",
                    changes::key(&[Some(uid), None]),
                    Operation::Delete,
                );
            }
            Ok(removed)
        })
    }
}
