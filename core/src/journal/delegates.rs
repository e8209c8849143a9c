//! Delegates: table `quota_delegates`, the users who manage a quota.

use super::{Journal, strings};
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::sql::SqlConnection;
use crate::validate;

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
    /// The quota's delegates, sorted.
    pub fn get_delegates(&mut self, quota: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT store_user FROM quota_delegates WHERE quota = $1 ORDER BY store_user",
            &[quota.into()],
        )?)
    }

    /// Replaces the quota's delegates.
    pub fn set_delegates(&mut self, quota: &str, delegates: &[String]) -> Result<()> {
        let delegates: Vec<String> = delegates.iter().map(|d| address::normalised(d)).collect();
        delegates.iter().try_for_each(|d| validate::user(d))?;
        self.write(quota, |c, tx| {
            c.execute(
                "DELETE FROM quota_delegates WHERE quota = $1",
                &[quota.into()],
            )?;
            for d in &delegates {
                c.execute(
                    "INSERT INTO quota_delegates (quota, store_user) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    &[quota.into(), d.into()],
                )?;
            }
            tx.changed("quota_delegates", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }
}
