//! The user's own free/busy: table `freebusy`. Recording events derives it from the objects
//! ([`crate::record`]); these read it and set it directly.

use chrono::{DateTime, Utc};

use super::Store;
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::period::{FREEBUSY, Period, PeriodRow};
use crate::sql::SqlConnection;
use crate::work::WriteTx;

impl<C: SqlConnection> Store<C> {
    /// The user's own periods, sorted, without duplicates.
    pub fn get_freebusy(&mut self, user: &str) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        Ok(periods(FREEBUSY.select_overlap(
            &mut self.conn,
            &[user],
            from,
            to,
        )?))
    }

    /// Replaces the user's own free/busy with `periods` (equal periods are stored once).
    pub fn set_freebusy(&mut self, user: &str, periods: &[Period]) -> Result<()> {
        let user = &*address::normalise(user);
        validate_periods(periods)?;
        self.write(user, |c, tx| replace_periods(c, tx, user, periods))
    }

    /// Adds periods to the user's own free/busy; equal periods are skipped. Returns how many
    /// were added.
    pub fn add_freebusy(&mut self, user: &str, periods: &[Period]) -> Result<u64> {
        let user = &*address::normalise(user);
        validate_periods(periods)?;
        self.write(user, |c, tx| {
            let mut n = 0;
            for p in periods {
                if FREEBUSY.insert(c, &[user], p, None)? {
                    n += 1;
                    tx.changed("freebusy", period_key(p), Operation::Upsert);
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
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let n = FREEBUSY.delete_event(c, &[user], uid, rid)?;
            if n > 0 {
                tx.changed("freebusy", changes::key(&[Some(uid)]), Operation::Upsert);
            }
            Ok(n)
        })
    }
}

pub(crate) fn periods(rows: Vec<PeriodRow>) -> Vec<Period> {
    rows.into_iter().map(|r| r.period).collect()
}

pub(crate) fn validate_periods(periods: &[Period]) -> Result<()> {
    periods.iter().try_for_each(Period::validate)
}

fn period_key(p: &Period) -> String {
    changes::key(&[p.uid.as_deref()])
}

fn replace_periods<C: SqlConnection + ?Sized>(
    c: &mut C,
    tx: &mut WriteTx,
    user: &str,
    periods: &[Period],
) -> Result<()> {
    let held = FREEBUSY.select_all(c, &[user])?;
    // The same periods: nothing changes, nothing is journalled.
    let mut given: Vec<&Period> = periods.iter().collect();
    given.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut stored: Vec<&Period> = held.iter().map(|r| &r.period).collect();
    stored.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if given == stored {
        return Ok(());
    }
    for old in &held {
        tx.changed("freebusy", period_key(&old.period), Operation::Upsert);
    }
    FREEBUSY.delete_all(c, &[user])?;
    for p in periods {
        FREEBUSY.insert(c, &[user], p, None)?;
        tx.changed("freebusy", period_key(p), Operation::Upsert);
    }
    Ok(())
}
