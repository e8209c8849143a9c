//! Importing iCalendar files: every VEVENT of one or more sources parsed first (an error
//! names its source), optionally only those that involve the user, then recorded in one
//! transaction. The CLI and the JavaScript API both import through here, so their checks and
//! messages are the same.

use super::derive::{ByUid, group_by_uid, record_objects};
use super::options::RecordOptions;
use super::participation::same_uri;
use crate::error::{Result, StoreError};
use crate::ical::{self, EventComponent};
use crate::period::FREEBUSY;
use crate::sql::SqlConnection;
use crate::store::Store;
use crate::validate;

/// UIDs recorded per slice of an import (progress is reported after each).
const IMPORT_SLICE: usize = 500;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Parent objects stored.
    pub parents: usize,
    /// Recurrence objects stored.
    pub recurrences: usize,
    /// Distinct UIDs touched.
    pub uids: usize,
    /// Free/busy periods now held for those UIDs.
    pub periods: usize,
    /// UIDs listed as providers (periods continue past the window).
    pub providers: usize,
}

/// One iCalendar input of an import.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// How messages name it (a file name, "standard input"); `None`: "the input".
    pub name: Option<&'a str>,
    /// Its bytes.
    pub bytes: &'a [u8],
}

impl<'a> Source<'a> {
    /// An unnamed input.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Source { name: None, bytes }
    }

    /// A named input (a file).
    pub fn named(name: &'a str, bytes: &'a [u8]) -> Self {
        Source {
            name: Some(name),
            bytes,
        }
    }

    /// How messages name it.
    pub fn label(&self) -> &str {
        self.name.unwrap_or("the input")
    }

    /// Parses every VEVENT; with `involving`, keeps only those that name that user as
    /// organiser or attendee. An error (bad input, no VEVENT left) names the source.
    pub fn events(&self, involving: Option<&str>) -> Result<Vec<EventComponent>> {
        let mut events = ical::parse_events(self.bytes).map_err(|e| match self.name {
            Some(name) => StoreError::InvalidData(format!("{name}: {}", e.0)),
            None => StoreError::InvalidData(e.0),
        })?;
        if let Some(user) = involving {
            events.retain(|e| {
                e.organizer.as_deref().is_some_and(|o| same_uri(o, user))
                    || e.attendees.iter().any(|a| same_uri(&a.uri, user))
            });
        }
        if events.is_empty() {
            return Err(StoreError::InvalidData(match involving {
                Some(user) => format!("{} holds no VEVENT involving {user}", self.label()),
                None => format!("{} holds no VEVENT", self.label()),
            }));
        }
        Ok(events)
    }
}

impl<C: SqlConnection> Store<C> {
    /// Parses iCalendar `input` and records every VEVENT in it, all in **one** transaction:
    /// any error (bad input, an instance cap reached, a database failure) leaves the store as
    /// it was. `progress(done, total)` is called after each slice of UIDs (500 at most),
    /// the last time with `done == total`.
    pub fn import_ics(
        &mut self,
        user: &str,
        input: &[u8],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        self.import_sources(user, &[Source::bytes(input)], None, opts, progress)
    }

    /// Imports several sources in **one** transaction: all are parsed (and filtered, with
    /// `involving`: only events naming that user as organiser or attendee) before anything is
    /// written, so an error in any of them changes nothing; see [`Store::import_ics`].
    pub fn import_sources(
        &mut self,
        user: &str,
        sources: &[Source<'_>],
        involving: Option<&str>,
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let mut events = Vec::new();
        for source in sources {
            events.extend(source.events(involving)?);
        }
        self.import_events(user, &events, opts, progress)
    }

    /// Records already-parsed events in one transaction (see [`Store::import_ics`]).
    pub fn import_events(
        &mut self,
        user: &str,
        events: &[EventComponent],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        for e in events {
            validate::object_text(&e.text)?;
        }
        let by_uid = group_by_uid(events)?;
        let total = by_uid.len();
        // Work in slices of UIDs so that progress can be shown and memory stays bounded;
        // every slice is part of the one transaction.
        let slices: Vec<ByUid<'_>> = {
            let mut slices = Vec::new();
            let mut current = ByUid::new();
            for (uid, objs) in by_uid {
                current.insert(uid, objs);
                if current.len() == IMPORT_SLICE {
                    slices.push(std::mem::take(&mut current));
                }
            }
            if !current.is_empty() {
                slices.push(current);
            }
            slices
        };
        self.write(user, |c, tx| {
            let mut report = ImportReport {
                uids: total,
                ..ImportReport::default()
            };
            // Every UID's periods are replaced: delete the old ones of all UIDs before any
            // slice inserts, so that the deletes see only what was there before the import.
            // (Deleting per slice made a large import into a PostgreSQL table that has not
            // been analysed yet, as in a new database, quadratic: such a delete is planned as
            // a scan of all the user's rows, those inserted by the earlier slices included.)
            let all_uids: Vec<&str> = slices.iter().flat_map(|s| s.keys().copied()).collect();
            FREEBUSY.delete_uids(c, &[user], &all_uids)?;
            let mut done = 0;
            for slice in &slices {
                for objs in slice.values() {
                    let parents = usize::from(objs.contains_key(&None));
                    report.parents += parents;
                    report.recurrences += objs.len() - parents;
                }
                for d in record_objects(c, tx, user, slice, false, opts)? {
                    report.periods += d.periods.len();
                    report.providers += usize::from(d.provider);
                }
                done += slice.len();
                progress(done, total);
            }
            Ok(report)
        })
    }
}
