//! The journal: quotas shared by resources, their limits, groups and delegates, the
//! reservations recorded against them, and the quota check.
//!
//! Every write is one transaction scoped to its quota; the quota's revision row is bumped
//! first, which serialises concurrent bookings of the same quota so that a check and the
//! reservation that follows it cannot interleave with another's (see [`Journal::reserve`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::changes::{self, Change, Operation, Scope, WriteTx};
use crate::clock::Clock;
use crate::conn::SqlConnection;
use crate::error::{Result, StoreError};
use crate::ical::duration::{format_duration, parse_duration};
use crate::period::{Period, PeriodRow, QUOTA_FREEBUSY, USER_FREEBUSY};
use crate::store::{Status, validate_periods, write_tx};
use crate::validate;
use crate::value::Value;

/// The limit value meaning "unlimited".
pub const UNLIMITED: &str = "*";
/// The group or limit key meaning "anyone else".
pub const ANYONE: &str = "*";

/// A reservation recorded against a quota: a period and the resource that recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The reserved period.
    pub period: Period,
    /// The resource (attendee) whose booking this is.
    pub attendee: Option<String>,
}

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

/// Why a booking was declined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// Neither the group nor `*` has a limit.
    NoAllocation,
    /// The event recurs without end, so its total cannot be counted.
    OpenEnded,
    /// The event's total exceeds what is left.
    Exceeded {
        /// The limit, seconds.
        limit: i64,
        /// Already reserved (current and future entries), seconds.
        usage: i64,
        /// What the event asks for, seconds.
        requested: i64,
    },
}

impl DeclineReason {
    /// The explanation imip-agent sends with the reply.
    pub fn message(&self) -> &'static str {
        match self {
            DeclineReason::NoAllocation => "You have no quota allocation for the recipient.",
            DeclineReason::OpenEnded => {
                "The event recurs indefinitely, so it cannot be counted against your quota."
            }
            DeclineReason::Exceeded { .. } => {
                "The event period exceeds your quota allocation for the recipient."
            }
        }
    }
}

/// The answer of the quota check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaDecision {
    /// The booking fits.
    Accepted {
        /// The group the organiser was counted in.
        group: String,
    },
    /// The booking does not fit.
    Declined {
        /// The group the organiser was counted in.
        group: String,
        /// Why.
        reason: DeclineReason,
    },
}

impl QuotaDecision {
    /// True for [`QuotaDecision::Accepted`].
    pub fn is_accepted(&self) -> bool {
        matches!(self, QuotaDecision::Accepted { .. })
    }
}

/// What a booking asks of a quota.
#[derive(Clone, Debug)]
pub struct Booking<'a> {
    /// The organiser (a user URI).
    pub organiser: &'a str,
    /// The resource booked (recorded as the entries' attendee).
    pub attendee: &'a str,
    /// The event's UID.
    pub uid: &'a str,
    /// The recurrence id, None for the whole event.
    pub rid: Option<&'a str>,
    /// The event's periods (inside the window).
    pub periods: &'a [Period],
    /// True if the event recurs without end.
    pub open_ended: bool,
}

/// A booking read from an iCalendar event, owning its data ([`Booking`] borrows from it):
/// made by [`crate::record::booking_from_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingRequest {
    /// The organiser (given, else the event's ORGANIZER).
    pub organiser: String,
    /// The event's UID.
    pub uid: String,
    /// The recurrence id when the booking is exactly one override.
    pub rid: Option<String>,
    /// The periods inside the window, sorted.
    pub periods: Vec<Period>,
    /// True if the event recurs without end.
    pub open_ended: bool,
}

impl BookingRequest {
    /// The total requested, in seconds.
    pub fn requested(&self) -> i64 {
        self.periods
            .iter()
            .fold(0i64, |acc, p| acc.saturating_add(p.duration_secs()))
    }

    /// The booking as the journal takes it, for the resource `attendee`.
    pub fn booking<'a>(&'a self, attendee: &'a str) -> Booking<'a> {
        Booking {
            organiser: &self.organiser,
            attendee,
            uid: &self.uid,
            rid: self.rid.as_deref(),
            periods: &self.periods,
            open_ended: self.open_ended,
        }
    }
}

/// The journal over a borrowed connection.
pub struct Journal<'a, C: ?Sized> {
    conn: &'a mut C,
    clock: &'a dyn Clock,
}

impl<C: ?Sized> std::fmt::Debug for Journal<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

fn strings(rows: Vec<crate::value::Row>) -> Result<Vec<String>> {
    rows.iter().map(|r| Ok(r.get(0)?)).collect()
}

fn entries(rows: Vec<PeriodRow>) -> Vec<Entry> {
    rows.into_iter()
        .map(|r| Entry {
            period: r.period,
            attendee: r.extra,
        })
        .collect()
}

fn group_for(groups: &BTreeMap<String, String>, organiser: &str) -> String {
    groups
        .get(organiser)
        .or_else(|| groups.get(ANYONE))
        .cloned()
        .unwrap_or_else(|| organiser.to_owned())
}

impl<'a, C: SqlConnection + ?Sized> Journal<'a, C> {
    /// A journal over `conn`, with `clock` for "now" (the schema must exist).
    pub fn new(conn: &'a mut C, clock: &'a dyn Clock) -> Self {
        Journal { conn, clock }
    }

    fn write<T, F>(&mut self, quota: &str, f: F) -> Result<T>
    where
        F: FnMut(&mut C, &mut WriteTx) -> Result<T>,
    {
        validate::name("quota", quota)?;
        write_tx(self.conn, Scope::Journal, quota, f)
    }

    /// Every quota that has been written to, sorted.
    pub fn quotas(&mut self) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT owner FROM calstore_revisions WHERE scope = 'journal' ORDER BY owner",
            &[],
        )?)
    }

    /// The users and groups that hold entries in `quota`, sorted (imip-agent's
    /// `get_quota_users`, which was broken in its database store).
    pub fn quota_users(&mut self, quota: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT user_group FROM quota_freebusy WHERE quota = $1 \
             UNION SELECT store_user FROM user_freebusy WHERE quota = $1 ORDER BY 1",
            &[quota.into()],
        )?)
    }

    // ---- delegates, groups, limits -----------------------------------------------------

    /// The quota's delegates, sorted.
    pub fn get_delegates(&mut self, quota: &str) -> Result<Vec<String>> {
        strings(self.conn.query(
            "SELECT store_user FROM quota_delegates WHERE quota = $1 ORDER BY store_user",
            &[quota.into()],
        )?)
    }

    /// Replaces the quota's delegates.
    pub fn set_delegates(&mut self, quota: &str, delegates: &[String]) -> Result<()> {
        delegates.iter().try_for_each(|d| validate::user(d))?;
        self.write(quota, |c, tx| {
            c.execute(
                "DELETE FROM quota_delegates WHERE quota = $1",
                &[quota.into()],
            )?;
            for d in delegates {
                c.execute(
                    "INSERT INTO quota_delegates (quota, store_user) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    &[quota.into(), d.into()],
                )?;
            }
            tx.changed(c, "quota_delegates", changes::key(&[]), Operation::Upsert)
        })
    }

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
        for (u, g) in groups {
            validate::name("user", u)?;
            validate::name("group", g)?;
        }
        self.write(quota, |c, tx| {
            c.execute("DELETE FROM user_groups WHERE quota = $1", &[quota.into()])?;
            for (u, g) in groups {
                put_group(c, quota, u, g)?;
            }
            tx.changed(c, "user_groups", changes::key(&[]), Operation::Upsert)
        })
    }

    /// Sets one user's group (`JournalBase.set_group`).
    pub fn set_group(&mut self, quota: &str, user: &str, group: &str) -> Result<()> {
        validate::name("user", user)?;
        validate::name("group", group)?;
        self.write(quota, |c, tx| {
            put_group(c, quota, user, group)?;
            tx.changed(c, "user_groups", changes::key(&[]), Operation::Upsert)
        })
    }

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
            tx.changed(c, "quota_limits", changes::key(&[]), Operation::Upsert)
        })
    }

    /// Sets one group's limit (`JournalBase.set_limit`).
    pub fn set_limit(&mut self, quota: &str, group: &str, limit: &str) -> Result<()> {
        validate::name("group", group)?;
        Limit::parse(limit)?;
        self.write(quota, |c, tx| {
            put_limit(c, quota, group, limit.trim())?;
            tx.changed(c, "quota_limits", changes::key(&[]), Operation::Upsert)
        })
    }

    // ---- entries ------------------------------------------------------------------------

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
        self.write(quota, |c, tx| {
            QUOTA_FREEBUSY.delete_all(c, &[quota, group])?;
            for e in list {
                QUOTA_FREEBUSY.insert(c, &[quota, group], &e.period, e.attendee.as_deref())?;
            }
            tx.changed(
                c,
                "quota_freebusy",
                changes::key(&[Some(group)]),
                Operation::Upsert,
            )
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
        self.write(quota, |c, tx| {
            let n = c.execute(
                "DELETE FROM quota_freebusy WHERE quota = $1 AND user_group = $2 \
                 AND object_uid = $3 AND coalesce(attendee, '') = $4",
                &[quota.into(), group.into(), uid.into(), attendee.into()],
            )?;
            if n > 0 {
                tx.changed(
                    c,
                    "quota_freebusy",
                    changes::key(&[Some(group)]),
                    Operation::Upsert,
                )?;
            }
            Ok(n)
        })
    }

    /// The organiser's combined bookings across the quota's resources (`user_freebusy`).
    pub fn get_user_entries(&mut self, quota: &str, user: &str) -> Result<Vec<Period>> {
        Ok(crate::store::periods(
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
        validate::user(user)?;
        validate::uid(uid)?;
        validate_periods(periods)?;
        self.write(quota, |c, tx| {
            USER_FREEBUSY.delete_event(c, &[quota, user], uid, rid)?;
            for p in periods {
                USER_FREEBUSY.insert(c, &[quota, user], p, None)?;
            }
            tx.changed(
                c,
                "user_freebusy",
                changes::key(&[Some(user)]),
                Operation::Upsert,
            )
        })
    }

    /// Removes the organiser's combined bookings of `uid`. Returns how many were removed.
    pub fn remove_user_entries(&mut self, quota: &str, user: &str, uid: &str) -> Result<u64> {
        self.write(quota, |c, tx| {
            let n = USER_FREEBUSY.delete_uid(c, &[quota, user], uid)?;
            if n > 0 {
                tx.changed(
                    c,
                    "user_freebusy",
                    changes::key(&[Some(user)]),
                    Operation::Upsert,
                )?;
            }
            Ok(n)
        })
    }

    // ---- the journal's copies of events --------------------------------------------------

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
            tx.changed(c, table, changes::key(&[Some(uid), rid]), Operation::Upsert)
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
                        c,
                        "quota_recurrences",
                        changes::key(&[Some(uid), Some(rid)]),
                        Operation::Delete,
                    )?;
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
                    c,
                    "quota_recurrences",
                    changes::key(&[Some(uid), Some(r)]),
                    Operation::Delete,
                )?;
            }
            removed |= !rids.is_empty();
            if c.execute(
                "DELETE FROM quota_objects WHERE quota = $1 AND object_uid = $2",
                &[quota.into(), uid.into()],
            )? > 0
            {
                removed = true;
                tx.changed(
                    c,
                    "quota_objects",
                    changes::key(&[Some(uid), None]),
                    Operation::Delete,
                )?;
            }
            Ok(removed)
        })
    }

    // ---- the quota check ----------------------------------------------------------------

    /// The group an organiser is counted in: `groups[organiser]`, else `groups["*"]`, else
    /// the organiser itself.
    pub fn group_of(&mut self, quota: &str, organiser: &str) -> Result<String> {
        let groups = self.get_groups(quota)?;
        Ok(group_for(&groups, organiser))
    }

    /// Checks a booking against the quota without recording it.
    ///
    /// The limit is `limits[group]`, else `limits["*"]`; none means
    /// [`DeclineReason::NoAllocation`], `*` means accepted. An open-ended event under a
    /// finite limit is declined. Otherwise the booking fits if its total duration is at most
    /// the limit minus the usage: the entries of the group that have not ended yet (past
    /// entries no longer count, which is what imip-agent's `update_quotas` cron job was for),
    /// leaving out the booking's own entries for the same uid, rid and resource, which a
    /// reservation replaces.
    pub fn check_quota(&mut self, quota: &str, booking: &Booking<'_>) -> Result<QuotaDecision> {
        let now = self.clock.now();
        decide(self.conn, quota, booking, now)
    }

    /// Checks a booking and, if it fits, records its entries for the organiser's group with
    /// the resource as attendee, all in one transaction: concurrent reservations on the same
    /// quota are serialised and can never exceed it together.
    pub fn reserve(&mut self, quota: &str, booking: &Booking<'_>) -> Result<QuotaDecision> {
        validate::user(booking.organiser)?;
        validate::uid(booking.uid)?;
        validate_periods(booking.periods)?;
        let now = self.clock.now();
        self.write(quota, |c, tx| {
            let decision = decide(c, quota, booking, now)?;
            if let QuotaDecision::Accepted { group } = &decision {
                add_entries(
                    c,
                    tx,
                    quota,
                    group,
                    booking.attendee,
                    booking.uid,
                    booking.rid,
                    booking.periods,
                )?;
            }
            Ok(decision)
        })
    }

    /// The quota's current revision.
    pub fn revision(&mut self, quota: &str) -> Result<i64> {
        changes::current_revision(self.conn, Scope::Journal, quota)
    }

    /// The quota's changes after `since`.
    pub fn changes_since(&mut self, quota: &str, since: i64) -> Result<Vec<Change>> {
        changes::changes_since(self.conn, Scope::Journal, quota, since)
    }
}

fn decide<C: SqlConnection + ?Sized>(
    c: &mut C,
    quota: &str,
    booking: &Booking<'_>,
    now: DateTime<Utc>,
) -> Result<QuotaDecision> {
    let groups: BTreeMap<String, String> = c
        .query(
            "SELECT store_user, user_group FROM user_groups WHERE quota = $1",
            &[quota.into()],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    let group = group_for(&groups, booking.organiser);
    // The group's own limit wins over the `*` entry: order explicitly, since a UNION
    // guarantees no order.
    let limit_text = c.query(
        "SELECT quota_limit FROM quota_limits WHERE quota = $1 \
         AND (user_group = $2 OR user_group = '*') \
         ORDER BY CASE WHEN user_group = $2 THEN 0 ELSE 1 END LIMIT 1",
        &[quota.into(), Value::Text(group.clone())],
    )?;
    let Some(first) = limit_text.first() else {
        return Ok(QuotaDecision::Declined {
            group,
            reason: DeclineReason::NoAllocation,
        });
    };
    let limit = match Limit::parse(&first.get::<String>(0)?)? {
        Limit::Unlimited => return Ok(QuotaDecision::Accepted { group }),
        Limit::Seconds(s) => s,
    };
    if booking.open_ended {
        return Ok(QuotaDecision::Declined {
            group,
            reason: DeclineReason::OpenEnded,
        });
    }
    let requested = booking
        .periods
        .iter()
        .try_fold(0i64, |acc, p| acc.checked_add(p.duration_secs()))
        .ok_or_else(|| StoreError::invalid("booking duration overflows"))?;
    // Left out: what the reservation would replace (`add_entries`), i.e. this booking's own
    // earlier entries for the same uid, rid and resource. The same event booked on another
    // resource of the quota counts.
    let replaced = |e: &PeriodRow| {
        e.period.uid.as_deref() == Some(booking.uid)
            && e.period.recurrenceid.as_deref().unwrap_or("") == booking.rid.unwrap_or("")
            && e.extra.as_deref().unwrap_or("") == booking.attendee
    };
    let usage = QUOTA_FREEBUSY
        .select_all(c, &[quota, &group])?
        .into_iter()
        .filter(|e| e.period.end > now && !replaced(e))
        .try_fold(0i64, |acc, e| acc.checked_add(e.period.duration_secs()))
        .ok_or_else(|| StoreError::invalid("quota usage overflows"))?;
    if requested > limit.saturating_sub(usage) {
        return Ok(QuotaDecision::Declined {
            group,
            reason: DeclineReason::Exceeded {
                limit,
                usage,
                requested,
            },
        });
    }
    Ok(QuotaDecision::Accepted { group })
}

#[allow(clippy::too_many_arguments)]
fn add_entries<C: SqlConnection + ?Sized>(
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
        c,
        "quota_freebusy",
        changes::key(&[Some(group)]),
        Operation::Upsert,
    )
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

/// Formats a number of seconds as an iCalendar duration (for messages and the CLI).
pub fn describe_seconds(secs: i64) -> String {
    format_duration(secs)
}
