//! Counter-proposals received from attendees: tables `countered_objects` and
//! `countered_recurrences`, one text per (uid, rid, attendee).

use super::{Store, strings};
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::sql::SqlConnection;
use crate::validate;

impl<C: SqlConnection> Store<C> {
    /// Attendees who have countered (uid, rid), sorted.
    pub fn get_counters(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
    ) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
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
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
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
                counter_table(rid),
                counter_key(uid, rid, other),
                Operation::Upsert,
            );
            Ok(())
        })
    }

    /// Removes every counter-proposal for exactly (uid, rid); counters on recurrences survive
    /// the removal of the parent's. Returns how many were removed.
    pub fn remove_counters(&mut self, user: &str, uid: &str, rid: Option<&str>) -> Result<u64> {
        let user = &*address::normalise(user);
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
                    counter_table(rid),
                    counter_key(uid, rid, o),
                    Operation::Delete,
                );
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
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
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
                    counter_table(rid),
                    counter_key(uid, rid, other),
                    Operation::Delete,
                );
            }
            Ok(n > 0)
        })
    }
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
