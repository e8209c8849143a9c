//! Login throttling: consecutive failures per login and per peer address, with an
//! exponential back-off lock-out (NIST SP 800-63B §5.2.2 limits failed attempts; a lock that
//! grows with the failures slows guessing without letting anyone lock an account for good).
//!
//! Subjects are keyed digests ([`PseudonymKey`](super::PseudonymKey)): a sent login is
//! counted whether or not an account has it, so throttling tells nothing about which logins
//! exist. A success clears the login's counter, not the address's (one valid account must
//! not reset an attacker's address). Counters are forgotten after a quiet period.

use chrono::TimeDelta;

use crate::sql::Value;
use crate::sql::{SqlConnection, SqlConnectionExt};
use crate::typed::{Column, Digest, Field, UtcTime, rows};

use super::Result;
use super::tables::{Failures, Throttle, ThrottleKind};

/// How failures of one kind of subject turn into a lock-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the first lock-out.
    pub free_failures: u32,
    /// The first lock-out; each further failure doubles it.
    pub base: TimeDelta,
    /// The longest lock-out.
    pub max: TimeDelta,
}

impl Backoff {
    /// How long `failures` consecutive failures lock the subject out, if at all.
    pub fn lock_for(&self, failures: i64) -> Option<TimeDelta> {
        let over = failures - i64::from(self.free_failures);
        if over <= 0 {
            return None;
        }
        let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(40);
        let factor = 1_i32.checked_shl(doublings.min(30)).unwrap_or(i32::MAX);
        Some(
            self.base
                .checked_mul(factor)
                .map_or(self.max, |d| d.min(self.max)),
        )
    }
}

/// The throttling rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Per sent login.
    pub login: Backoff,
    /// Per peer address (IPv4 address or IPv6 /64); more lenient, many users may share one.
    pub address: Backoff,
    /// A counter whose last failure is older than this starts again from zero.
    pub forget_after: TimeDelta,
}

impl Default for ThrottlePolicy {
    /// Logins: 3 free failures, then 1 s, 2 s, 4 s, … up to 15 min. Addresses: 20 free
    /// failures, then the same. Counters forgotten after 24 h without failure.
    fn default() -> Self {
        ThrottlePolicy {
            login: Backoff {
                free_failures: 3,
                base: TimeDelta::seconds(1),
                max: TimeDelta::minutes(15),
            },
            address: Backoff {
                free_failures: 20,
                base: TimeDelta::seconds(1),
                max: TimeDelta::minutes(15),
            },
            forget_after: TimeDelta::hours(24),
        }
    }
}

impl ThrottlePolicy {
    fn backoff(&self, kind: ThrottleKind) -> &Backoff {
        match kind {
            ThrottleKind::Login => &self.login,
            ThrottleKind::Address => &self.address,
        }
    }
}

/// The counter of one subject.
pub fn state<C: SqlConnection + ?Sized>(
    conn: &mut C,
    kind: ThrottleKind,
    subject: &Digest,
) -> Result<Option<Throttle>> {
    Ok(rows::select_records(
        conn,
        "WHERE kind = $1 AND subject = $2",
        &[kind.to_value(), subject.to_value()],
    )?
    .into_iter()
    .next())
}

/// The latest lock-out in force at `now` among `subjects`, if any.
pub fn locked_until<C: SqlConnection + ?Sized>(
    conn: &mut C,
    subjects: &[(ThrottleKind, Digest)],
    now: UtcTime,
) -> Result<Option<UtcTime>> {
    let mut latest: Option<UtcTime> = None;
    for (kind, subject) in subjects {
        let row = conn.query_opt(
            "SELECT locked_until FROM login_throttle WHERE kind = $1 AND subject = $2",
            &[kind.to_value(), subject.to_value()],
        )?;
        if let Some(row) = row
            && let Some(until) = row.get::<Option<UtcTime>>(0)?
            && until > now
        {
            latest = Some(latest.map_or(until, |l| l.max(until)));
        }
    }
    Ok(latest)
}

/// Counts a failure of `subject` at `now` (one upsert, atomic under concurrent failures)
/// and sets its lock-out; returns the counter.
pub fn record_failure<C: SqlConnection + ?Sized>(
    conn: &mut C,
    kind: ThrottleKind,
    subject: &Digest,
    policy: &ThrottlePolicy,
    now: UtcTime,
) -> Result<Throttle> {
    let forget_before = now.saturating_sub(policy.forget_after);
    let row = conn.query_opt(
        "INSERT INTO login_throttle (kind, subject, failures, last_failure_at, locked_until) \
         VALUES ($1, $2, 1, $3, NULL) ON CONFLICT (kind, subject) DO UPDATE SET \
         failures = CASE WHEN login_throttle.last_failure_at < $4 THEN 1 \
         WHEN login_throttle.failures >= $5 THEN $5 ELSE login_throttle.failures + 1 END, \
         last_failure_at = excluded.last_failure_at \
         RETURNING failures",
        &[
            kind.to_value(),
            subject.to_value(),
            now.to_value(),
            forget_before.to_value(),
            Value::Integer(Failures::MAX.get()),
        ],
    )?;
    let failures: Failures = match row {
        Some(r) => r.get(0)?,
        None => Failures::MIN,
    };
    let locked_until = match policy.backoff(kind).lock_for(failures.get()) {
        Some(d) => Some(now.checked_add(d)?),
        None => None,
    };
    conn.execute(
        "UPDATE login_throttle SET locked_until = $3 WHERE kind = $1 AND subject = $2",
        &[kind.to_value(), subject.to_value(), locked_until.bind()],
    )?;
    Ok(Throttle {
        kind,
        subject: *subject,
        failures,
        last_failure_at: now,
        locked_until,
    })
}

/// Clears the counter of `subject` (after a successful login).
pub fn clear<C: SqlConnection + ?Sized>(
    conn: &mut C,
    kind: ThrottleKind,
    subject: &Digest,
) -> Result<()> {
    conn.execute(
        "DELETE FROM login_throttle WHERE kind = $1 AND subject = $2",
        &[kind.to_value(), subject.to_value()],
    )?;
    Ok(())
}

/// Deletes counters that are quiet (last failure older than `forget_after`) and not locked;
/// returns how many.
pub fn forget_quiet<C: SqlConnection + ?Sized>(
    conn: &mut C,
    policy: &ThrottlePolicy,
    now: UtcTime,
) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM login_throttle WHERE last_failure_at < $1 \
         AND (locked_until IS NULL OR locked_until <= $2)",
        &[
            now.saturating_sub(policy.forget_after).to_value(),
            now.to_value(),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_then_capped() {
        let b = ThrottlePolicy::default().login;
        assert_eq!(b.lock_for(3), None);
        assert_eq!(b.lock_for(4), Some(TimeDelta::seconds(1)));
        assert_eq!(b.lock_for(5), Some(TimeDelta::seconds(2)));
        assert_eq!(b.lock_for(8), Some(TimeDelta::seconds(16)));
        assert_eq!(b.lock_for(20), Some(TimeDelta::minutes(15)));
        assert_eq!(b.lock_for(1_000_000), Some(TimeDelta::minutes(15)));
    }
}
