//! Where parsing problems go: errors (strict) or repair notes (lenient), with the options
//! and the result of a reading.

use std::fmt;

use super::error::{IcalError, show};
use super::event::EventComponent;

/// Default for [`ParseOptions::max_notes`].
pub const DEFAULT_MAX_NOTES: usize = 1000;

/// One repair made by the lenient reading (or a rewrite every reading makes, such as an
/// Outlook all-day RECURRENCE-ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairNote {
    /// The 1-based input line where the problem is (for an event: its property's line, or its
    /// BEGIN:VEVENT line).
    pub line: usize,
    /// The UID of the event concerned (a derived one if it had none); None for a problem
    /// outside any event.
    pub uid: Option<String>,
    /// What was wrong.
    pub problem: String,
    /// What was done.
    pub action: String,
}

impl fmt::Display for RepairNote {
    /// `line 12 (UID abc): DTEND is before DTSTART: DTSTART and DTEND exchanged`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(uid) = &self.uid {
            write!(f, " (UID {})", show(uid))?;
        }
        write!(f, ": {}: {}", self.problem, self.action)
    }
}

/// How [`super::parse_calendar`] reads its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// True: the first problem is an error and nothing is returned (as [`super::parse_events`]).
    /// False (the default): problems are repaired or skipped, each with a [`RepairNote`].
    pub strict: bool,
    /// At most this many notes are kept; the others are only counted
    /// ([`ParsedCalendar::notes_omitted`]).
    pub max_notes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::lenient()
    }
}

impl ParseOptions {
    /// Lenient reading with [`DEFAULT_MAX_NOTES`].
    pub fn lenient() -> Self {
        ParseOptions {
            strict: false,
            max_notes: DEFAULT_MAX_NOTES,
        }
    }

    /// Strict reading.
    pub fn strict() -> Self {
        ParseOptions {
            strict: true,
            ..Self::lenient()
        }
    }
}

/// The result of [`super::parse_calendar`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedCalendar {
    /// The VEVENTs read, in input order.
    pub events: Vec<EventComponent>,
    /// The line of each event's BEGIN:VEVENT, in the order of `events`.
    pub lines: Vec<usize>,
    /// What was repaired, in input order (at most [`ParseOptions::max_notes`]).
    pub notes: Vec<RepairNote>,
    /// Notes not kept beyond the limit.
    pub notes_omitted: usize,
    /// The first X-WR-TIMEZONE of the input (Google's calendar zone), if any; floating times
    /// of its VCALENDAR were read in it.
    pub x_wr_timezone: Option<String>,
}

/// Where problems go: errors (strict) or notes (lenient).
#[derive(Debug)]
pub(super) struct Notes {
    lenient: bool,
    list: Vec<RepairNote>,
    max: usize,
    omitted: usize,
}

impl Notes {
    pub(super) fn new(opts: &ParseOptions) -> Self {
        Notes {
            lenient: !opts.strict,
            list: Vec::new(),
            max: opts.max_notes,
            omitted: 0,
        }
    }

    pub(super) fn strict() -> Self {
        Self::new(&ParseOptions::strict())
    }

    #[cfg(test)]
    pub(super) fn lenient_with(max: usize) -> Self {
        Self::new(&ParseOptions {
            strict: false,
            max_notes: max,
        })
    }

    /// True when problems are repaired.
    pub(super) fn lenient(&self) -> bool {
        self.lenient
    }

    /// Records a note (in either mode).
    pub(super) fn note(&mut self, line: usize, problem: String, action: &str) {
        if self.list.len() < self.max {
            self.list.push(RepairNote {
                line,
                uid: None,
                problem,
                action: action.to_owned(),
            });
        } else {
            self.omitted += 1;
        }
    }

    /// A problem: strictly the error `strict` gives, leniently a note.
    pub(super) fn repair(
        &mut self,
        line: usize,
        problem: String,
        action: &str,
        strict: impl FnOnce() -> IcalError,
    ) -> Result<(), IcalError> {
        if !self.lenient {
            return Err(strict());
        }
        self.note(line, problem, action);
        Ok(())
    }

    /// The position the next note will take.
    pub(super) fn mark(&self) -> usize {
        self.list.len()
    }

    /// Gives the notes from `from` on that have no UID this one.
    pub(super) fn assign_uid(&mut self, from: usize, uid: Option<String>) {
        let Some(uid) = uid else { return };
        for n in self.list.iter_mut().skip(from) {
            n.uid.get_or_insert_with(|| uid.clone());
        }
    }

    pub(super) fn into_parts(self) -> (Vec<RepairNote>, usize) {
        (self.list, self.omitted)
    }
}

/// An error message without its `line N: ` prefix (the note has the line).
pub(super) fn problem_of(e: &IcalError) -> String {
    let msg = e.0.as_str();
    msg.strip_prefix("line ")
        .and_then(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest.get(digits..)?.strip_prefix(": ")
        })
        .unwrap_or(msg)
        .to_owned()
}

/// A strict error inside an event with the event's UID after its line number:
/// `line 5 (UID "x"): ...` (the form of a [`RepairNote`]); unchanged without a UID, or when it
/// has one already.
pub(super) fn with_uid(e: IcalError, uid: Option<&str>) -> IcalError {
    let Some(uid) = uid else { return e };
    let msg = e.0.as_str();
    let Some(rest) = msg.strip_prefix("line ") else {
        return IcalError(format!("UID {}: {msg}", show(uid)));
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match (rest.get(..digits), rest.get(digits..)) {
        (Some(number), Some(tail)) if digits > 0 && tail.starts_with(": ") => {
            IcalError(format!("line {number} (UID {}){tail}", show(uid)))
        }
        _ => e,
    }
}
