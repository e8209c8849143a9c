//! Free/busy providers: events whose periods must be extended as time passes (tables
//! `freebusy_providers` and `freebusy_provider_datetimes`).

use super::{Store, strings};
use crate::address;
use crate::changes::{self, Operation};
use crate::error::{Result, StoreError};
use crate::ical::datetime::parse_utc;
use crate::sql::SqlConnection;
use crate::validate;

/// A user's free/busy providers: events whose periods must be extended as time passes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Providers {
    /// The instant up to which their free/busy has been generated (`YYYYMMDDTHHMMSSZ`).
    pub datetime: Option<String>,
    /// The (uid, recurrence id) pairs.
    pub providers: Vec<(String, Option<String>)>,
}

impl<C: SqlConnection> Store<C> {
    /// The users that have free/busy providers (events to extend as time passes), sorted.
    pub fn freebusy_provider_users(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT DISTINCT store_user FROM freebusy_providers ORDER BY store_user",
            &[],
        )?)
    }

    /// The user's providers record, or None if there is none.
    pub fn get_freebusy_providers(&mut self, user: &str) -> Result<Option<Providers>> {
        let user = &*address::normalise(user);
        get_providers(&mut self.conn, user)
    }

    /// Replaces the providers record.
    pub fn set_freebusy_providers(
        &mut self,
        user: &str,
        datetime: Option<&str>,
        providers: &[(String, Option<String>)],
    ) -> Result<()> {
        let user = &*address::normalise(user);
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
            tx.changed("freebusy_providers", changes::key(&[]), Operation::Upsert);
            Ok(())
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
        let user = &*address::normalise(user);
        validate::uid(uid)?;
        self.write(user, |c, tx| {
            let added = add_provider(c, user, uid, rid)?;
            ensure_provider_record(c, user)?;
            if added {
                tx.changed("freebusy_providers", changes::key(&[]), Operation::Upsert);
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
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let removed = remove_provider(c, user, uid, rid)?;
            if removed {
                tx.changed("freebusy_providers", changes::key(&[]), Operation::Upsert);
            }
            Ok(removed)
        })
    }
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
