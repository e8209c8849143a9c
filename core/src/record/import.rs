//! Importing iCalendar files: every VEVENT of one or more sources read first (leniently by
//! default, each repair a note; an error names its source), optionally only those that
//! involve the user, then recorded in one transaction, or in bounded pieces (decision 0014)
//! once everything the input can get wrong has been checked. The CLI and the JavaScript API
//! both import through here, so their checks, notes and messages are the same.

use std::fmt;

use super::derive::{ByUid, OldPeriods, Recorded, check_objects, group_by_uid, record_objects};
use super::options::RecordOptions;
use super::participation::same_uri;
use crate::address;
use crate::error::{DbError, Result, StoreError};
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
    /// [`Store::import_ics`]. Every other writer of a SQLite database waits for the whole
    /// import: large imports belong in [`Store::import_sources_in_pieces`].
    pub fn import_sources(
        &mut self,
        user: &str,
        sources: &[Source<'_>],
        involving: Option<&str>,
        opts: &RecordOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
        let read = read_sources(sources, involving, opts)?;
        let report = self
            .import_events(user, &read.events, opts, progress)
            .map_err(|e| place_error(e, &read.events, &read.places))?;
        Ok(ImportReport {
            notes: read.notes,
            notes_omitted: read.notes_omitted,
            ..report
        })
    }

    /// [`Store::import_sources`] in bounded pieces, for large imports (what `calstore
    /// import` runs): the events are recorded `piece` UIDs per transaction (see
    /// [`IMPORT_PIECE`](crate::IMPORT_PIECE)), so that another writer of the database waits
    /// for one piece at most, not for the whole import (SQLite has one writer).
    ///
    /// Bad input still writes nothing: the sources are read and validated, and every event's
    /// free/busy derived against the stored objects (an instance cap reached is found here),
    /// before the first piece commits. Each piece is all-or-nothing. Only a failure of the
    /// database (or a crash) can stop the import after some pieces have committed; the error
    /// then says how many events were written, and importing the same input again finishes
    /// the job, giving the store the state one uninterrupted run gives: the pieces already
    /// written change nothing the second time (decision 0014), so they bump no revision and
    /// journal nothing. The keys journalled, the obsolete overrides deleted and the report
    /// are those of [`Store::import_sources`]; only the revisions differ (one per piece
    /// that changed something, instead of one), and a run that finishes an interrupted one
    /// counts in [`ImportReport::obsolete_overrides`] only the overrides it deleted itself.
    /// Inside a unit of work the pieces are savepoints of it and commit with it.
    ///
    /// The check reads the stored objects before the pieces, without holding the user's
    /// lock: if another writer of the same user changes them in between so that a piece
    /// can no longer be recorded (a stored override that now takes an event over the cap),
    /// that piece fails as a database failure would, and the next run's check names the
    /// problem before writing anything.
    ///
    /// `progress(done, total)` is called after each piece.
    pub fn import_sources_in_pieces(
        &mut self,
        user: &str,
        sources: &[Source<'_>],
        involving: Option<&str>,
        opts: &RecordOptions,
        piece: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
        let read = read_sources(sources, involving, opts)?;
        let report = self
            .import_events_in_pieces(user, &read.events, opts, piece, progress)
            .map_err(|e| place_error(e, &read.events, &read.places))?;
        Ok(ImportReport {
            notes: read.notes,
            notes_omitted: read.notes_omitted,
            ..report
        })
    }

    /// [`Store::import_events`] in bounded pieces of `piece` UIDs: see
    /// [`Store::import_sources_in_pieces`].
    pub fn import_events_in_pieces(
        &mut self,
        user: &str,
        events: &[EventComponent],
        opts: &RecordOptions,
        piece: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let user = &*address::normalise(user);
        validate::user(user)?;
        for e in events {
            validate::object_text(&e.text)?;
        }
        let by_uid = group_by_uid(events)?;
        let total = by_uid.len();
        let slices = slices(by_uid, piece.max(1));
        // Everything the input can get wrong, before anything is written: derived and
        // dropped (keeping 1.4 million periods of a 100 000-event import in memory to reuse
        // them would cost more than deriving them twice).
        for slice in &slices {
            check_objects(&mut self.conn, user, slice, opts)?;
        }
        let mut report = ImportReport {
            uids: total,
            ..ImportReport::default()
        };
        let mut done = 0;
        for slice in &slices {
            // Each piece reads its UIDs' periods and replaces those that change (deleting
            // every UID's periods first, as the one-transaction import does, would be one
            // unbounded piece, and leave the later UIDs without periods until their piece).
            let recorded = self.write(user, |c, tx| {
                record_objects(c, tx, user, slice, OldPeriods::Stored, opts)
            });
            let recorded = match recorded {
                Ok(r) => r,
                Err(e) if done == 0 => return Err(e),
                Err(e) => return Err(interrupted(e, done, total)),
            };
            report.count(slice, &recorded);
            done += slice.len();
            progress(done, total);
        }
        Ok(report)
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
        let slices = slices(by_uid, IMPORT_SLICE);
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
                let recorded =
                    record_objects(c, tx, user, slice, OldPeriods::Deleted(&held), opts)?;
                report.count(slice, &recorded);
                done += slice.len();
                progress(done, total);
            }
            Ok(report)
        })
    }
}

impl ImportReport {
    /// Adds what recording one slice of UIDs did: its parents and recurrences, the periods
    /// and providers derived, the obsolete overrides deleted.
    fn count(&mut self, slice: &ByUid<'_>, recorded: &Recorded) {
        for objs in slice.values() {
            let parents = usize::from(objs.contains_key(&None));
            self.parents += parents;
            self.recurrences += objs.len() - parents;
        }
        for d in &recorded.derived {
            self.periods += d.periods.len();
            self.providers += usize::from(d.provider);
        }
        self.obsolete_overrides += recorded.obsolete;
    }
}

/// What [`read_sources`] read: every source's events with their places, and the notes.
struct ReadSources<'a> {
    events: Vec<EventComponent>,
    places: Vec<(Option<&'a str>, usize)>,
    notes: Vec<ImportNote>,
    notes_omitted: usize,
}

/// Reads every source ([`Source::read`] with `opts.parse`), in turn.
fn read_sources<'a>(
    sources: &[Source<'a>],
    involving: Option<&str>,
    opts: &RecordOptions,
) -> Result<ReadSources<'a>> {
    let mut out = ReadSources {
        events: Vec::new(),
        places: Vec::new(),
        notes: Vec::new(),
        notes_omitted: 0,
    };
    for source in sources {
        let read = source.read(involving, &opts.parse)?;
        out.places
            .extend(read.lines.iter().map(|line| (source.name, *line)));
        out.events.extend(read.events);
        out.notes.extend(read.notes);
        out.notes_omitted += read.notes_omitted;
    }
    Ok(out)
}

/// Splits the UIDs of an import into slices of `size`, in UID order.
fn slices(by_uid: ByUid<'_>, size: usize) -> Vec<ByUid<'_>> {
    let mut slices = Vec::new();
    let mut current = ByUid::new();
    for (uid, objs) in by_uid {
        current.insert(uid, objs);
        if current.len() >= size {
            slices.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        slices.push(current);
    }
    slices
}

/// The error of an import in pieces that stopped after `done` of its `total` UIDs were
/// written: the same error (a database error keeps its kind), its message saying so and
/// that importing the same input again finishes the job.
fn interrupted(e: StoreError, done: usize, total: usize) -> StoreError {
    let note = format!(
        "the import stopped after the events of {done} of {total} UIDs were written, in \
         pieces; importing the same input again finishes it"
    );
    match e {
        StoreError::Db(db) => {
            let message = format!("{} ({note})", db.message());
            StoreError::Db(DbError::with_source(db.kind().clone(), message, db))
        }
        StoreError::InvalidData(m) => StoreError::InvalidData(format!("{m} ({note})")),
        other => other,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DbErrorKind;

    /// An import stopped half way says so, keeps the kind of a database error (so that a
    /// busy database is still retryable), and says that running it again finishes it.
    #[test]
    fn an_interrupted_import_says_so() {
        let e = interrupted(
            StoreError::Db(DbError::new(DbErrorKind::Busy, "database is locked")),
            400,
            1000,
        );
        let StoreError::Db(db) = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*db.kind(), DbErrorKind::Busy);
        assert!(db.is_retryable());
        assert_eq!(
            db.message(),
            "database is locked (the import stopped after the events of 400 of 1000 UIDs \
             were written, in pieces; importing the same input again finishes it)"
        );
        let e = interrupted(StoreError::invalid("stored object: bad"), 1, 2);
        assert!(
            e.to_string()
                .ends_with("importing the same input again finishes it)")
        );
    }
}
