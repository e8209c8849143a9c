//! The quota check: whether a booking fits, and the reservation that records it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Journal;
use super::entries::add_entries;
use super::groups::group_for;
use super::limits::Limit;
use crate::address;
use crate::error::{Result, StoreError};
use crate::period::{Period, PeriodRow, QUOTA_FREEBUSY};
use crate::sql::{SqlConnection, Value};
use crate::store::freebusy::validate_periods;
use crate::validate;

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

impl<'a> Booking<'a> {
    /// The organiser's and the resource's addresses in their one spelling
    /// ([`crate::address`]).
    fn addresses(&self) -> (Cow<'a, str>, Cow<'a, str>) {
        (
            address::normalise(self.organiser),
            address::normalise(self.attendee),
        )
    }

    /// The same booking with these addresses.
    fn with_addresses<'b>(&self, organiser: &'b str, attendee: &'b str) -> Booking<'b>
    where
        'a: 'b,
    {
        Booking {
            organiser,
            attendee,
            ..self.clone()
        }
    }
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

impl<C: SqlConnection + ?Sized> Journal<'_, C> {
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
        let (organiser, attendee) = booking.addresses();
        let booking = &booking.with_addresses(&organiser, &attendee);
        let now = self.clock.now();
        decide(self.conn, quota, booking, now)
    }

    /// Checks a booking and, if it fits, records its entries for the organiser's group with
    /// the resource as attendee, all in one transaction: concurrent reservations on the same
    /// quota are serialised and can never exceed it together.
    pub fn reserve(&mut self, quota: &str, booking: &Booking<'_>) -> Result<QuotaDecision> {
        let (organiser, attendee) = booking.addresses();
        let booking = &booking.with_addresses(&organiser, &attendee);
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
