//! Groups: table `user_groups`, which group each organiser is counted in.

use std::collections::BTreeMap;

use super::{ANYONE, Journal};
use crate::address;
use crate::changes::{self, Operation};
use crate::error::Result;
use crate::sql::SqlConnection;
use crate::validate;

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
    /// The quota's user → group mapping.
    pub fn get_groups(&mut self, quota: &str) -> Result<BTreeMap<String, String>> {
        self.conn
            .query(
                "SELECT store_user, user_group FROM user_groups WHERE quota = $1",
                &[quota.into()],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Replaces the quota's user → group mapping (`*` maps everyone not listed).
    pub fn set_groups(&mut self, quota: &str, groups: &BTreeMap<String, String>) -> Result<()> {
        // Two spellings of one address are one user: the last one listed wins.
        let groups: BTreeMap<String, String> = groups
            .iter()
            .map(|(u, g)| (address::normalised(u), g.clone()))
            .collect();
        for (u, g) in &groups {
            validate::name("user", u)?;
            validate::name("group", g)?;
        }
        self.write(quota, |c, tx| {
            c.execute("DELETE FROM user_groups WHERE quota = $1", &[quota.into()])?;
            for (u, g) in &groups {
                put_group(c, quota, u, g)?;
            }
            tx.changed("user_groups", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }

    /// Sets one user's group (`JournalBase.set_group`).
    pub fn set_group(&mut self, quota: &str, user: &str, group: &str) -> Result<()> {
        let user = &*address::normalise(user);
        validate::name("user", user)?;
        validate::name("group", group)?;
        self.write(quota, |c, tx| {
            put_group(c, quota, user, group)?;
            tx.changed("user_groups", changes::key(&[]), Operation::Upsert);
            Ok(())
        })
    }

    /// The group an organiser is counted in: `groups[organiser]`, else `groups["*"]`, else
    /// the organiser itself.
    pub fn group_of(&mut self, quota: &str, organiser: &str) -> Result<String> {
        let organiser = &*address::normalise(organiser);
        let groups = self.get_groups(quota)?;
        Ok(group_for(&groups, organiser))
    }
}

pub(crate) fn group_for(groups: &BTreeMap<String, String>, organiser: &str) -> String {
    groups
        .get(organiser)
        .or_else(|| groups.get(ANYONE))
        .cloned()
        .unwrap_or_else(|| organiser.to_owned())
}

fn put_group<C: SqlConnection + ?Sized>(
    c: &mut C,
    quota: &str,
    user: &str,
    group: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO user_groups (quota, store_user, user_group) VALUES ($1, $2, $3) \
         ON CONFLICT (quota, store_user) DO UPDATE SET user_group = excluded.user_group",
        &[quota.into(), user.into(), group.into()],
    )?;
    Ok(())
}
