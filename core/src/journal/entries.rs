//! Reservations: tables `quota_freebusy` (per group, with the resource as attendee) and
//! `user_freebusy` (per organiser, across the quota's resources).

use chrono::{DateTime, Utc};

use super::Journal;
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::period::{Period, PeriodRow, QUOTA_FREEBUSY, Selection, USER_FREEBUSY};
use crate::sql::SqlConnection;
use crate::store::freebusy::{periods, validate_periods};
use crate::validate;
use crate::work::WriteTx;

/// A reservation recorded against a quota: a period and the resource that recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The reserved period.
    pub period: Period,
    /// The resource (attendee) whose booking this is.
    pub attendee: Option<String>,
}

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
    /// The reservations of `group` in `quota`, sorted.
    pub fn get_entries(&mut self, quota: &str, group: &str) -> Result<Vec<Entry>> {
        Ok(entries(
            QUOTA_FREEBUSY.select_all(self.conn, &[quota, group])?,
        ))
    }

    /// The reservations of `group` overlapping `[from, to)`, sorted (through the index).
    pub fn get_entries_in(
        &mut self,
        quota: &str,
        group: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Entry>> {
        Ok(entries(QUOTA_FREEBUSY.select_overlap(
            self.conn,
            &[quota, group],
            from,
            to,
        )?))
    }

    /// Replaces the reservations of `group`.
    pub fn set_entries(&mut self, quota: &str, group: &str, list: &[Entry]) -> Result<()> {
        validate::name("group", group)?;
        for e in list {
            e.period.validate()?;
        }
        let rows: Vec<(&Period, Option<&str>)> = list
            .iter()
            .map(|e| (&e.period, e.attendee.as_deref()))
            .collect();
        self.write(quota, |c, tx| {
            QUOTA_FREEBUSY.replace(c, &[quota, group], Selection::All, &rows)?;
            tx.changed(
                "quota_freebusy",
                changes::key(&[Some(group)]),
                Operation::Upsert,
            );
            Ok(())
        })
    }

    /// Records `periods` of (uid, rid) for `group`, tagged with `attendee`, replacing what
    /// that attendee recorded for the same uid and rid before (`add_to_quota`).
    pub fn add_to_quota(
        &mut self,
        quota: &str,
        group: &str,
        attendee: &str,
        uid: &str,
        rid: Option<&str>,
        periods: &[Period],
    ) -> Result<()> {
        let attendee = &*address::normalise(attendee);
        validate::name("group", group)?;
        validate::uid(uid)?;
        validate_periods(periods)?;
        self.write(quota, |c, tx| {
            add_entries(c, tx, quota, group, attendee, uid, rid, periods)
        })
    }

    /// Removes the entries of `uid` that `attendee` recorded for `group` (retraction).
    /// Returns how many were removed.
    pub fn remove_from_quota(
        &mut self,
        quota: &str,
        group: &str,
        attendee: &str,
        uid: &str,
    ) -> Result<u64> {
        let attendee = &*address::normalise(attendee);
        self.write(quota, |c, tx| {
            let n = c.execute(
                "DELETE FROM quota_freebusy WHERE quota = $1 AND user_group = $2 \
                 AND object_uid = $3 AND coalesce(attendee, '') = $4",
                &[quota.into(), group.into(), uid.into(), attendee.into()],
            )?;
            if n > 0 {
                tx.changed(
                    "quota_freebusy",
                    changes::key(&[Some(group)]),
                    Operation::Upsert,
                );
            }
            Ok(n)
        })
    }

    /// The organiser's combined bookings across the quota's resources (`user_freebusy`).
    pub fn get_user_entries(&mut self, quota: &str, user: &str) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
        Ok(periods(
            USER_FREEBUSY.select_all(self.conn, &[quota, user])?,
        ))
    }

    /// Replaces the periods of (uid, rid) in the organiser's combined bookings
    /// (`add_to_quota_freebusy`).
    pub fn add_user_entries(
        &mut self,
        quota: &str,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        periods: &[Period],
    ) -> Result<()> {
        let user = &*address::normalise(user);
        validate::user(user)?;
        validate::uid(uid)?;
        validate_periods(periods)?;
        let rows: Vec<(&Period, Option<&str>)> = periods.iter().map(|p| (p, None)).collect();
        self.write(quota, |c, tx| {
            USER_FREEBUSY.replace(c, &[quota, user], Selection::Event(uid, rid), &rows)?;
            tx.changed(
                "user_freebusy",
                changes::key(&[Some(user)]),
                Operation::Upsert,
            );
            Ok(())
        })
    }

    /// Removes the organiser's combined bookings of `uid`. Returns how many were removed.
    pub fn remove_user_entries(&mut self, quota: &str, user: &str, uid: &str) -> Result<u64> {
        let user = &*address::normalise(user);
        self.write(quota, |c, tx| {
            let n = USER_FREEBUSY.delete_uid(c, &[quota, user], uid)?;
            if n > 0 {
                tx.changed(
                    "user_freebusy",
                    changes::key(&[Some(user)]),
                    Operation::Upsert,
                );
            }
            Ok(n)
        })
    }
}

fn entries(rows: Vec<PeriodRow>) -> Vec<Entry> {
    rows.into_iter()
        .map(|r| Entry {
            period: r.period,
            attendee: r.extra,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_entries<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    quota: &str,
    group: &str,
    attendee: &str,
    uid: &str,
    rid: Option<&str>,
    periods: &[Period],
) -> Result<()> {
    c.execute(
        "DELETE FROM quota_freebusy WHERE quota = $1 AND user_group = $2 AND object_uid = $3 \
         AND coalesce(object_recurrenceid, '') = $4 AND coalesce(attendee, '') = $5",
        &[
            quota.into(),
            group.into(),
            uid.into(),
            rid.unwrap_or("").into(),
            attendee.into(),
        ],
    )?;
    for p in periods {
        QUOTA_FREEBUSY.insert(c, &[quota, group], p, Some(attendee))?;
    }
    tx.changed(
        "quota_freebusy",
        changes::key(&[Some(group)]),
        Operation::Upsert,
    );
    Ok(())
}
