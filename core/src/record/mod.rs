//! Recording events as imip-agent does when it stores a booking: the object goes into the
//! store and the user's free/busy is **recomputed from the stored objects** in the same
//! transaction (parent occurrences, minus those replaced or cancelled by stored recurrences,
//! plus the recurrences' own periods). Because free/busy is derived from what is stored after
//! the write, a re-sent parent that drops its overrides gets exactly its own occurrences back
//! (imip-agent computed free/busy before removing the overrides, leaving stale periods).

pub mod booking;
mod derive;
mod import;
mod options;
pub mod participation;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::address;
use crate::error::Result;
use crate::ical::EventComponent;
use crate::ical::datetime::{format_utc, parse_utc};
use crate::period::{FREEBUSY, FREEBUSY_OFFERS, Period};
use crate::sql::SqlConnection;
use crate::status::Status;
use crate::store::{Store, freebusy, objects, providers};
use crate::validate;
use crate::work::WriteTx;

use derive::{ByUid, OldPeriods, group_by_uid, record_objects, refresh_uids};

pub use booking::{
    DEFAULT_BOOKING_UID, booking_from_events, booking_from_periods, booking_from_source,
};
pub use import::{ImportNote, ImportReport, Source, SourceEvents};
pub use options::{DEFAULT_PAST_DAYS, DEFAULT_WINDOW_DAYS, RecordOptions};

/// Events recomputed per transaction by [`Store::extend_freebusy_in_pieces`]: small enough
/// that no other writer of the database waits long for one, and that a piece's changed pages
/// stay in SQLite's page cache (with 100 000 events, extending in pieces of 50 was also
/// faster in total than in pieces of 200: decision 0014).
pub const EXTEND_PIECE: usize = 50;

/// UIDs recorded per transaction by `calstore import` ([`Store::import_sources_in_pieces`]):
/// with 100 000 events, pieces of 200 kept the longest wait of another writer at 0.54 s and
/// cost less in total than pieces of 50 (0.33 s); decision 0014.
pub const IMPORT_PIECE: usize = 200;

/// What [`Store::extend_freebusy_in_pieces`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendReport {
    /// Providers (events) extended.
    pub extended: usize,
    /// Providers that could not be extended, as (UID, reason); their periods are as they were.
    pub failures: Vec<(String, String)>,
    /// The instant the providers record now names (None if the user has no providers; left
    /// as it was when any provider failed, so that the next run tries again).
    pub until: Option<String>,
    /// Transactions committed.
    pub pieces: usize,
}
pub use participation::{participates, transp_for};

impl<C: SqlConnection> Store<C> {
    /// Stores one event (parent or recurrence) and recomputes the UID's free/busy, in one
    /// transaction. Returns the periods now held for the UID.
    pub fn record_event(
        &mut self,
        user: &str,
        event: &EventComponent,
        opts: &RecordOptions,
    ) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
        validate::uid(&event.uid)?;
        validate::object_text(&event.text)?;
        let by_uid = group_by_uid(std::slice::from_ref(event))?;
        self.write(user, |c, tx| {
            let recorded = record_objects(c, tx, user, &by_uid, OldPeriods::Stored, opts)?;
            Ok(recorded
                .derived
                .into_iter()
                .flat_map(|d| d.periods)
                .collect())
        })
    }

    /// Recomputes the free/busy of one UID from the stored objects.
    pub fn refresh_freebusy(
        &mut self,
        user: &str,
        uid: &str,
        opts: &RecordOptions,
    ) -> Result<Vec<Period>> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let derived = refresh_uids(
                c,
                tx,
                user,
                &[uid],
                true,
                OldPeriods::Stored,
                opts,
                &ByUid::new(),
            )?;
            Ok(derived.into_iter().flat_map(|d| d.periods).collect())
        })
    }

    /// Cancels an object and removes its periods from free/busy, in one transaction (a
    /// cancelled recurrence removes the parent occurrence it replaced). Returns whether the
    /// object was active.
    pub fn record_cancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        let user = &*address::normalise(user);
        self.change_and_refresh(user, uid, opts, |c, tx| {
            objects::set_status(c, tx, user, uid, rid, Status::Active, Status::Cancelled)
        })
    }

    /// Re-activates a cancelled object and restores its periods.
    pub fn record_uncancellation(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        let user = &*address::normalise(user);
        self.change_and_refresh(user, uid, opts, |c, tx| {
            objects::set_status(c, tx, user, uid, rid, Status::Cancelled, Status::Active)
        })
    }

    /// Removes an object (or, without rid, the event with all its recurrences and
    /// cancellations) together with its free/busy and provider entry.
    pub fn record_removal(
        &mut self,
        user: &str,
        uid: &str,
        rid: Option<&str>,
        opts: &RecordOptions,
    ) -> Result<bool> {
        let user = &*address::normalise(user);
        self.change_and_refresh(user, uid, opts, |c, tx| {
            objects::delete_objects(c, tx, user, uid, rid)
        })
    }

    /// In one write: changes the objects of `uid` with `change`, then recomputes the UID's
    /// free/busy from what is stored (the object change journals the periods too).
    fn change_and_refresh<F>(
        &mut self,
        user: &str,
        uid: &str,
        opts: &RecordOptions,
        mut change: F,
    ) -> Result<bool>
    where
        F: FnMut(&mut C, &mut WriteTx) -> Result<bool>,
    {
        self.write(user, |c, tx| {
            let changed = change(c, tx)?;
            refresh_uids(
                c,
                tx,
                user,
                &[uid],
                false,
                OldPeriods::Stored,
                opts,
                &ByUid::new(),
            )?;
            Ok(changed)
        })
    }

    /// True if `periods` can be booked for (uid, rid): no *busy* period of the user's own
    /// free/busy or live offers overlaps them, other than those of the same (uid, rid).
    /// TRANSPARENT and ORG periods never block (imip-agent ignored TRANSP here).
    pub fn can_schedule(
        &mut self,
        user: &str,
        periods: &[Period],
        uid: &str,
        rid: Option<&str>,
    ) -> Result<bool> {
        let user = &*address::normalise(user);
        let now = self.now();
        let mut conflicts = Vec::new();
        for p in periods {
            conflicts.extend(freebusy::periods(FREEBUSY.select_overlap(
                &mut self.conn,
                &[user],
                p.start,
                p.end,
            )?));
            for row in FREEBUSY_OFFERS.select_overlap(&mut self.conn, &[user], p.start, p.end)? {
                let live = row
                    .extra
                    .as_deref()
                    .and_then(|e| parse_utc(e).ok())
                    .is_none_or(|exp| exp > now);
                if live {
                    conflicts.push(row.period);
                }
            }
        }
        Ok(!conflicts.iter().any(|c| {
            c.is_busy() && !(c.uid.as_deref() == Some(uid) && c.recurrenceid.as_deref() == rid)
        }))
    }

    /// Extends the free/busy of every provider of `user` up to `until` (what imip-agent's
    /// daily cron job does), in one transaction. Idempotent: periods are recomputed from the
    /// stored objects, not appended, so running it twice (or after a crash) gives the same
    /// rows. Never shrinks: when the providers have already been generated past `until`, they
    /// are recomputed up to that instant instead. Providers whose rule now ends inside the
    /// window leave the list. Returns how many providers were extended.
    ///
    /// The past stays bounded as for any write: occurrences that ended more than
    /// [`DEFAULT_PAST_DAYS`] before now (or before `until`, if earlier) are left out of the
    /// recomputed periods (see [`RecordOptions::window_start`]; [`Store::extend_freebusy_with`]
    /// takes another bound).
    ///
    /// Fails (changing nothing) if an event would need more than
    /// [`crate::ical::DEFAULT_MAX_INSTANCES`] instances up to `until`; the error names the event.
    pub fn extend_freebusy(&mut self, user: &str, until: DateTime<Utc>, tz: Tz) -> Result<usize> {
        let user = &*address::normalise(user);
        let now = self.now();
        let opts = RecordOptions {
            tz,
            window_start: RecordOptions::default_window_start(now, until),
            ..RecordOptions::new(now)
        };
        self.extend_freebusy_with(user, until, &opts)
    }

    /// [`Store::extend_freebusy_with`] in bounded pieces, for the daily job: the providers are
    /// recomputed `piece` events per transaction (so a writer of the same database waits for
    /// one piece at most, not for the whole user), and an event that cannot be extended (more
    /// instances than `opts.max_instances`, a stored text that no longer reads) is reported
    /// in [`ExtendReport::failures`] instead of stopping the others. The providers record's
    /// instant moves to `until` in the last piece, only when every provider was extended.
    ///
    /// Each piece is all-or-nothing; the whole is idempotent (periods are recomputed from the
    /// stored objects, not appended) and resumable: after a crash or a failure, running it
    /// again recomputes every provider from the record's unchanged instant. Inside a unit of
    /// work the pieces are savepoints of it and commit with it.
    pub fn extend_freebusy_in_pieces(
        &mut self,
        user: &str,
        until: DateTime<Utc>,
        opts: &RecordOptions,
        piece: usize,
    ) -> Result<ExtendReport> {
        let user = &*address::normalise(user);
        validate::user(user)?;
        let Some(listed) = providers::get_providers(&mut self.conn, user)? else {
            return Ok(ExtendReport::default());
        };
        let generated = listed.datetime.as_deref().and_then(|d| parse_utc(d).ok());
        let until = generated.map_or(until, |g| g.max(until));
        let opts = RecordOptions {
            window_end: until,
            replace_recurrences: false,
            ..opts.clone()
        };
        let mut uids: Vec<String> = listed.providers.into_iter().map(|(u, _)| u).collect();
        uids.dedup();
        let mut report = ExtendReport {
            until: listed.datetime,
            ..ExtendReport::default()
        };
        for chunk in uids.chunks(piece.max(1)) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let whole = self.write(user, |c, tx| {
                refresh_uids(
                    c,
                    tx,
                    user,
                    &refs,
                    true,
                    OldPeriods::Stored,
                    &opts,
                    &ByUid::new(),
                )
            });
            report.pieces += 1;
            match whole {
                Ok(_) => report.extended += refs.len(),
                Err(e) if !is_event_error(&e) => return Err(e),
                // One of them fails: each alone, to extend the others and name the one.
                Err(_) => {
                    for uid in &refs {
                        let one = self.write(user, |c, tx| {
                            refresh_uids(
                                c,
                                tx,
                                user,
                                &[uid],
                                true,
                                OldPeriods::Stored,
                                &opts,
                                &ByUid::new(),
                            )
                        });
                        report.pieces += 1;
                        match one {
                            Ok(_) => report.extended += 1,
                            Err(e) if is_event_error(&e) => {
                                report.failures.push(((*uid).to_owned(), event_error(e)));
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
        if report.failures.is_empty() {
            let at = format_utc(until);
            if report.until.as_deref() != Some(at.as_str()) {
                self.write(user, |c, tx| {
                    providers::set_provider_datetime(c, user, Some(&at))?;
                    tx.changed(
                        "freebusy_providers",
                        crate::changes::key(&[]),
                        crate::changes::Operation::Upsert,
                    );
                    Ok(())
                })?;
                report.pieces += 1;
            }
            report.until = Some(at);
        }
        Ok(report)
    }

    /// [`Store::extend_freebusy`] with the zone, bounded past
    /// ([`RecordOptions::window_start`]) and instance cap of `opts` (its `window_end` is
    /// replaced by `until`, or by how far the providers have been generated if that is
    /// later).
    pub fn extend_freebusy_with(
        &mut self,
        user: &str,
        until: DateTime<Utc>,
        opts: &RecordOptions,
    ) -> Result<usize> {
        let user = &*address::normalise(user);
        self.write(user, |c, tx| {
            let Some(listed) = providers::get_providers(c, user)? else {
                return Ok(0);
            };
            let generated = listed.datetime.as_deref().and_then(|d| parse_utc(d).ok());
            let until = generated.map_or(until, |g| g.max(until));
            let opts = RecordOptions {
                window_end: until,
                replace_recurrences: false,
                ..opts.clone()
            };
            let mut uids: Vec<&str> = listed.providers.iter().map(|(u, _)| u.as_str()).collect();
            uids.dedup();
            refresh_uids(
                c,
                tx,
                user,
                &uids,
                true,
                OldPeriods::Stored,
                &opts,
                &ByUid::new(),
            )?;
            let at = format_utc(until);
            // Read again: refreshing may have moved the record's instant.
            if providers::get_provider_datetime(c, user)?.as_deref() != Some(at.as_str()) {
                providers::set_provider_datetime(c, user, Some(&at))?;
                tx.changed(
                    "freebusy_providers",
                    crate::changes::key(&[]),
                    crate::changes::Operation::Upsert,
                );
            }
            Ok(uids.len())
        })
    }
}

/// The reason of an event's failure, without the error kind's prefix.
fn event_error(e: crate::error::StoreError) -> String {
    match e {
        crate::error::StoreError::InvalidData(m) => m,
        other => other.to_string(),
    }
}

/// True for a failure of one event's data (its expansion or stored text), as opposed to a
/// database failure that stops everything.
fn is_event_error(e: &crate::error::StoreError) -> bool {
    matches!(e, crate::error::StoreError::InvalidData(_))
}
