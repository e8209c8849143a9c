//! Quota limits: table `quota_limits`, a limit per group (or `*`).

use std::collections::BTreeMap;

use super::{Journal, UNLIMITED};
use crate::changes::{self, Operation};
use crate::error::{Result, StoreError};
use crate::ical::duration::parse_duration;
use crate::sql::SqlConnection;
use crate::validate;

/// A parsed quota limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `*`: no limit.
    Unlimited,
    /// An iCalendar duration, in seconds.
    Seconds(i64),
}

impl Limit {
    /// Parses `*` or an iCalendar duration (`PT1H`, `P1D`, `P1W`, ...); `PT1D` is refused.
    pub fn parse(text: &str) -> Result<Limit> {
        let t = text.trim();
        if t == UNLIMITED {
            return Ok(Limit::Unlimited);
        }
        let secs =
            parse_duration(t).map_err(|e| StoreError::invalid(format!("quota limit: {e}")))?;
        if secs < 0 {
            return Err(StoreError::invalid(format!(
                "quota limit {t:?} is negative"
            )));
        }
        Ok(Limit::Seconds(secs))
    }
}

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
    /// The quota's group-or-user → limit mapping, as stored (`*` or a duration).
    pub fn get_limits(&mut self, quota: &str) -> Result<BTreeMap<String, String>> {
        self.conn
            .query(
                "SELECT user_group, quota_limit FROM quota_limits WHERE quota = $1",
                &[quota.into()],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Replaces the quota's limits. Every value must be `*` or a valid iCalendar duration;
    /// one bad value rejects the whole set and nothing is written.
    pub fn set_limits(&mut self, quota: &str, limits: &BTreeMap<String, String>) -> Result<()> {
        for (g, l) in limits {
            validate::name("group", g)?;
            Limit::parse(l)?;
        }
        self.write(quota, |c, tx| {
            c.execute("DELETE FROM quota_limits WHERE quota = $1", &[quota.into()])?;
            for (g, l) in limits {
                put_limit(c, quota, g, l.trim())?;
            }
            tx.changed("quota_limits", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }

    /// Sets one group's limit (`JournalBase.set_limit`).
    pub fn set_limit(&mut self, quota: &str, group: &str, limit: &str) -> Result<()> {
        validate::name("group", group)?;
        Limit::parse(limit)?;
        self.write(quota, |c, tx| {
            put_limit(c, quota, group, limit.trim())?;
            tx.changed("quota_limits", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }
}

fn put_limit<C: SqlConnection + ?Sized>(
    c: &mut C,
    quota: &str,
    group: &str,
    limit: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO quota_limits (quota, user_group, quota_limit) VALUES ($1, $2, $3) \
         ON CONFLICT (quota, user_group) DO UPDATE SET quota_limit = excluded.quota_limit",
        &[quota.into(), group.into(), limit.into()],
    )?;
    Ok(())
}
