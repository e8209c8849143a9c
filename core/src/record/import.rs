//! Importing iCalendar files: every VEVENT of one or more sources read first (leniently by
//! default, each repair a note; an error names its source), optionally only those that
//! involve the user, then recorded in one transaction. The CLI and the JavaScript API both
//! import through here, so their checks, notes and messages are the same.

use std::fmt;

use super::derive::{ByUid, OldPeriods, group_by_uid, record_objects};
use super::options::RecordOptions;
use super::participation::same_uri;
use crate::address;
use crate::error::{Result, StoreError};
use crate::ical::{self, EventComponent, ParseOptions, RepairNote, show};
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
    /// What reading the input repaired or skipped (and the rewrites every reading makes,
    /// such as an Outlook all-day RECURRENCE-ID), in input order, sources in turn: at most
    /// [`ParseOptions::max_notes`] per source.
    pub notes: Vec<ImportNote>,
    /// Notes left out beyond that limit.
    pub notes_omitted: usize,
    /// Stored overrides deleted because a newer parent made them obsolete (RFC 5546
    /// §2.1.5: a parent of higher SEQUENCE, or one that EXDATEs their instance).
    pub obsolete_overrides: usize,
}

/// One repair note of an import, with the source it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportNote {
    /// The source's name ([`Source::name`]); None for an unnamed input.
    pub source: Option<String>,
    /// Line, UID, problem and action.
    pub note: RepairNote,
}

impl fmt::Display for ImportNote {
    /// `FILE: line N (UID "u"): problem: action` (without `FILE: ` for an unnamed input).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source}: ")?;
        }
        write!(f, "{}", self.note)
    }
}

/// One iCalendar input of an import.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// How messages name it (a file name, "standard input"); `None`: "the input".
    pub name: Option<&'a str>,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// The events read from one [`Source`], with the notes of the reading.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceEvents {
    /// The VEVENTs kept, in input order.
    pub events: Vec<EventComponent>,
    /// The line of each event's BEGIN:VEVENT, in the order of `events`.
    pub lines: Vec<usize>,
    /// The repair notes (see [`ImportReport::notes`]).
    pub notes: Vec<ImportNote>,
    /// Notes left out beyond [`ParseOptions::max_notes`].
    pub notes_omitted: usize,
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

    /// Reads every VEVENT with [`ical::parse_calendar`] (leniently unless `parse.strict`);
    /// with `involving`, keeps only those that name that user as organiser or attendee. An
    /// error (input that cannot be read at all, a problem in strict mode, no VEVENT left)
    /// names the source; when every VEVENT was skipped, the error quotes the first note.
    pub fn read(&self, involving: Option<&str>, parse: &ParseOptions) -> Result<SourceEvents> {
        let parsed = ical::parse_calendar(self.bytes, parse).map_err(|e| match self.name {
            Some(name) => StoreError::InvalidData(format!("{name}: {}", e.0)),
            None => StoreError::InvalidData(e.0),
        })?;
        let (events, lines): (Vec<EventComponent>, Vec<usize>) = parsed
            .events
            .into_iter()
            .zip(parsed.lines)
            .filter(|(e, _)| {
                involving.is_none_or(|user| {
                    e.organizer.as_deref().is_some_and(|o| same_uri(o, user))
                        || e.attendees.iter().any(|a| same_uri(&a.uri, user))
                })
            })
            .unzip();
        if events.is_empty() {
            let mut message = match involving {
                Some(user) => format!("{} holds no VEVENT involving {user}", self.label()),
                None => format!("{} holds no VEVENT", self.label()),
            };
            if let Some(first) = parsed.notes.first() {
                let more = parsed.notes.len() - 1 + parsed.notes_omitted;
                message.push_str(&format!(" that could be read ({first}"));
                if more > 0 {
                    message.push_str(&format!("; {more} more notes"));
                }
                message.push(')');
            }
            return Err(StoreError::InvalidData(message));
        }
        let source = self.name.map(str::to_owned);
        Ok(SourceEvents {
            events,
            lines,
            notes: parsed
                .notes
                .into_iter()
                .map(|note| ImportNote {
                    source: source.clone(),
                    note,
                })
                .collect(),
            notes_omitted: parsed.notes_omitted,
        })
    }

    /// [`Source::read`] with the default (lenient) reading, without the notes: for callers
    /// that record what a client already read and reported (a sync mutation, a booking).
    pub fn events(&self, involving: Option<&str>) -> Result<Vec<EventComponent>> {
        self.read(involving, &ParseOptions::default())
            .map(|r| r.events)
    }
}

impl<C: SqlConnection> Store<C> {
    /// Parses iCalendar `input` and records every VEVENT in it, all in **one** transaction:
    /// any error (bad input, an instance cap reached, a database failure) leaves the store as
    /// it was. The input is read as `opts.parse` says: leniently by default, every repair
    /// (or skipped event) reported in [`ImportReport::notes`]; strictly, the first problem
    /// is an error. `progress(done, total)` is called after each slice of UIDs (500 at
    /// most), the last time with `done == total`.
    pub fn import_ics(
        &mut self,
        user: &str,
        input: &[u8],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
        self.import_sources(user, &[Source::bytes(input)], None, opts, progress)
    }

    /// Imports several sources in **one** transaction: all are read ([`Source::read`] with
    /// `opts.parse`) and filtered (with `involving`: only events naming that user as
    /// organiser or attendee) before anything is written, so an error in any of them changes
    /// nothing; the notes of every source are returned in the report. See
    /// [`Store::import_ics`].
    pub fn import_sources(
        &mut self,
        user: &str,
        sources: &[Source<'_>],
        involving: Option<&str>,
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
        let mut events = Vec::new();
        let mut places = Vec::new();
        let mut notes = Vec::new();
        let mut notes_omitted = 0;
        for source in sources {
            let read = source.read(involving, &opts.parse)?;
            places.extend(read.lines.iter().map(|line| (source.name, *line)));
            events.extend(read.events);
            notes.extend(read.notes);
            notes_omitted += read.notes_omitted;
        }
        let report = self
            .import_events(user, &events, opts, progress)
            .map_err(|e| place_error(e, &events, &places))?;
        Ok(ImportReport {
            notes,
            notes_omitted,
            ..report
        })
    }

    /// Records already-parsed events in one transaction (see [`Store::import_ics`]). When
    /// the same (uid, rid) appears more than once, the copy with the higher SEQUENCE wins,
    /// then the one with the later DTSTAMP, then the later one (RFC 5546 §2.1.5). All the
    /// events are one snapshot: an override with a lower SEQUENCE than its parent in the
    /// same import is kept (as every mainstream implementation applies it). A parent newer
    /// than the stored one deletes the stored overrides it makes obsolete (see
    /// [`ImportReport::obsolete_overrides`]).
    pub fn import_events(
        &mut self,
        user: &str,
        events: &[EventComponent],
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
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
            // What was there, so that a UID whose periods come out the same journals nothing
            // (one probe when the user has no periods, as in a new calendar).
            let held = if c
                .query(
                    "SELECT 1 FROM freebusy WHERE store_user = $1 LIMIT 1",
                    &[user.into()],
                )?
                .is_empty()
            {
                std::collections::HashMap::new()
            } else {
                FREEBUSY.select_uids(c, &[user], &all_uids)?
            };
            FREEBUSY.delete_uids(c, &[user], &all_uids)?;
            let mut done = 0;
            for slice in &slices {
                for objs in slice.values() {
                    let parents = usize::from(objs.contains_key(&None));
                    report.parents += parents;
                    report.recurrences += objs.len() - parents;
                }
                let recorded =
                    record_objects(c, tx, user, slice, OldPeriods::Deleted(&held), opts)?;
                for d in &recorded.derived {
                    report.periods += d.periods.len();
                    report.providers += usize::from(d.provider);
                }
                report.obsolete_overrides += recorded.obsolete;
                done += slice.len();
                progress(done, total);
            }
            Ok(report)
        })
    }
}

/// An error about one event (`event "UID": ...`, as expanding one reports an instance cap
/// reached) placed in its input: `FILE: line N (UID "UID"): ...`, the form of a repair note.
/// Other errors are returned as they are.
fn place_error(
    e: StoreError,
    events: &[EventComponent],
    places: &[(Option<&str>, usize)],
) -> StoreError {
    let StoreError::InvalidData(msg) = e else {
        return e;
    };
    let found = events.iter().zip(places).find_map(|(event, place)| {
        let rest = msg.strip_prefix(&format!("event {}: ", show(&event.uid)))?;
        Some((event, place, rest))
    });
    let Some((event, (source, line), rest)) = found else {
        return StoreError::InvalidData(msg);
    };
    let source = source.map(|s| format!("{s}: ")).unwrap_or_default();
    StoreError::InvalidData(format!(
        "{source}line {line} (UID {}): {rest}",
        show(&event.uid)
    ))
}
