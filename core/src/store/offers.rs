//! Offers: tentative periods of counter-proposals, with an expiry (table `freebusy_offers`).

use chrono::{DateTime, Utc};

use super::Store;
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::ical::datetime::{format_utc, parse_utc};
use crate::period::{FREEBUSY_OFFERS, Period, PeriodRow, Selection};
use crate::sql::{SqlConnection, Value};
use crate::validate;
use crate::work::WriteTx;

/// A tentative period offered in a counter-proposal, with its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The offered period.
    pub period: Period,
    /// When the offer lapses; it is dropped at the first read at or after this instant.
    pub expires: Option<DateTime<Utc>>,
}

impl<C: SqlConnection> Store<C> {
    /// The user's live offers, sorted. Offers whose expiry is at or before now are deleted
    /// first (in the same transaction), so an expired offer never blocks a booking. The read
    /// is a write (one revision) only when something has expired: like the file store, which
    /// rewrites the offers file only if it dropped a period, a read that finds nothing to
    /// expire writes nothing, so it neither bumps the revision nor makes the reader a user.
    pub fn get_freebusy_offers(&mut self, user: &str) -> Result<Vec<Offer>> {
        let user = &*address::normalise(user);
        self.read_offers(user, |c| FREEBUSY_OFFERS.select_all(c, &[user]))
    }

    /// Live offers overlapping `[from, to)` (expired ones are deleted first).
    pub fn get_freebusy_offers_in(
        &mut self,
        user: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Offer>> {
        let user = &*address::normalise(user);
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
        let user = &*address::normalise(user);
        self.replace_offers(user, Selection::All, offers)
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
        let user = &*address::normalise(user);
        validate::uid(uid)?;
        self.replace_offers(user, Selection::Event(uid, rid), offers)
    }

    fn replace_offers(
        &mut self,
        user: &str,
        selection: Selection<'_>,
        offers: &[Offer],
    ) -> Result<()> {
        for o in offers {
            o.period.validate()?;
        }
        let expiries: Vec<Option<String>> =
            offers.iter().map(|o| o.expires.map(format_utc)).collect();
        let rows: Vec<(&Period, Option<&str>)> = offers
            .iter()
            .zip(&expiries)
            .map(|(o, e)| (&o.period, e.as_deref()))
            .collect();
        self.write(user, |c, tx| {
            FREEBUSY_OFFERS.replace(c, &[user], selection, &rows)?;
            tx.changed("freebusy_offers", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }
}

fn offers(rows: Vec<PeriodRow>) -> Vec<Offer> {
    rows.into_iter()
        .map(|r| Offer {
            period: r.period,
            expires: r.extra.as_deref().and_then(|e| parse_utc(e).ok()),
        })
        .collect()
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
        tx.changed("freebusy_offers", changes::key(&[]), Operation::Upsert);
    }
    Ok(())
}
