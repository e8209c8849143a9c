//! Free/busy held about others: table `freebusy_other`, received (a VFREEBUSY) or deduced
//! from events they take part in.

use chrono::{DateTime, Utc};

use super::Store;
use super::freebusy::{periods, validate_periods};
use crate::address;
use crate::changes::{self, Operation};
use crate::error::{Result, StoreError};
use crate::ical::FreeBusyComponent;
use crate::period::{FREEBUSY_OTHER, Period, Selection};
use crate::sql::SqlConnection;
use crate::validate;

impl<C: SqlConnection> Store<C> {
    /// Free/busy received or deduced about `other`, sorted.
    pub fn get_freebusy_for_other(&mut self, user: &str, other: &str) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        Ok(periods(
            FREEBUSY_OTHER.select_all(&mut self.conn, &[user, other])?,
        ))
    }

    /// Free/busy of `other` overlapping `[from, to)`, sorted.
    pub fn get_freebusy_for_other_in(
        &mut self,
        user: &str,
        other: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        Ok(periods(FREEBUSY_OTHER.select_overlap(
            &mut self.conn,
            &[user, other],
            from,
            to,
        )?))
    }

    /// The others the user holds free/busy about, sorted.
    pub fn get_freebusy_others(&mut self, user: &str) -> Result<Vec<String>> {
        let user = &*address::normalise(user);
        FREEBUSY_OTHER.select_second_owners(&mut self.conn, user)
    }

    /// Replaces the free/busy held about `other`.
    pub fn set_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        periods: &[Period],
    ) -> Result<()> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        self.replace_others(user, other, &[(Selection::All, periods.to_vec())])
            .map(|_| ())
    }

    /// A received VFREEBUSY: removes what is held about `other` overlapping
    /// `[from, to)` and stores `periods` instead (imip-agent's `replace_overlapping`).
    pub fn replace_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        periods: &[Period],
    ) -> Result<()> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        let range = overlapping(from, to)?;
        self.replace_others(user, other, &[(range, periods.to_vec())])
            .map(|_| ())
    }

    /// Received VFREEBUSY components about `other`, in **one** transaction: for each, what is
    /// held about `other` overlapping its range is removed and its busy periods (every FBTYPE
    /// but FREE, recorded as OPAQUE periods without uid) are stored instead. The range is the
    /// component's DTSTART..DTEND, or, without them, the span of its periods (an empty
    /// component without a range changes nothing). A period that reaches outside the range
    /// is clipped to it, and one wholly outside is left out (RFC 5545 §3.6.4: the component
    /// describes its range only, and a later component for that range replaces all of it).
    /// Returns how many periods were stored.
    pub fn import_freebusy_for_other(
        &mut self,
        user: &str,
        other: &str,
        components: &[FreeBusyComponent],
    ) -> Result<usize> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        validate::user(other)?;
        let mut replacements = Vec::new();
        for comp in components {
            let from = comp
                .start
                .or_else(|| comp.periods.iter().map(|p| p.start).min());
            let to = comp
                .end
                .or_else(|| comp.periods.iter().map(|p| p.end).max());
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let range = overlapping(from, to)?;
            let periods: Vec<Period> = comp
                .periods
                .iter()
                .filter(|p| p.is_busy())
                .filter_map(|p| {
                    let (start, end) = (p.start.max(from), p.end.min(to));
                    // Inside the range; a zero-length period only if it was one.
                    let keep = start < end || (p.start == p.end && from <= start && start < to);
                    keep.then(|| Period {
                        transp: Some("OPAQUE".to_owned()),
                        ..Period::new(start, end)
                    })
                })
                .collect();
            replacements.push((range, periods));
        }
        self.replace_others(user, other, &replacements)
    }

    /// Replaces the periods of (uid, rid) held about `other` (free/busy deduced from an
    /// event the other party takes part in).
    pub fn update_freebusy_for_other_event(
        &mut self,
        user: &str,
        other: &str,
        uid: &str,
        rid: Option<&str>,
        periods: &[Period],
    ) -> Result<()> {
        let user = &*address::normalise(user);
        let other = &*address::normalise(other);
        validate::uid(uid)?;
        self.replace_others(
            user,
            other,
            &[(Selection::Event(uid, rid), periods.to_vec())],
        )
        .map(|_| ())
    }

    /// In one write: for each (selection, periods), removes the selected periods held about
    /// `other` and stores `periods` instead. Returns how many periods were stored.
    fn replace_others(
        &mut self,
        user: &str,
        other: &str,
        replacements: &[(Selection<'_>, Vec<Period>)],
    ) -> Result<usize> {
        validate::user(other)?;
        for (_, periods) in replacements {
            validate_periods(periods)?;
        }
        self.write(user, |c, tx| {
            let mut stored = 0;
            for (selection, periods) in replacements {
                let rows: Vec<(&Period, Option<&str>)> =
                    periods.iter().map(|p| (p, None)).collect();
                stored += FREEBUSY_OTHER.replace(c, &[user, other], *selection, &rows)?;
            }
            tx.changed(
                "freebusy_other",
                changes::key(&[Some(other)]),
                Operation::Upsert,
            );
            Ok(stored)
        })
    }
}

/// The selection of a received range, which must not end before it starts.
fn overlapping(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Selection<'static>> {
    if to < from {
        return Err(StoreError::invalid("free/busy range ends before it starts"));
    }
    Ok(Selection::Overlapping(from, to))
}
