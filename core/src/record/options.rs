//! How events are turned into free/busy: the user's zone, the window (its end, and the
//! bounded past at its start), the limits, and how imported iCalendar is read.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::ical::{self, ParseOptions};

/// Default free/busy window in days (imip-agent's `window_size`).
pub const DEFAULT_WINDOW_DAYS: i64 = 100;

/// Default bounded past in days: occurrences of recurring events that ended more than this
/// long before now are not materialised (Apple CalendarServer's
/// `FreeBusyIndexLowerLimitDays` has the same default).
pub const DEFAULT_PAST_DAYS: i64 = 365;

/// How events are turned into free/busy.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The user's zone: floating times and dates are resolved in it.
    pub tz: Tz,
    /// The bounded past: occurrences of a recurring event (RRULE or RDATE) that end before
    /// this instant are neither stored as free/busy periods nor counted towards
    /// `max_instances`, so that a daily rule from 1970 stores a year of the past rather than
    /// decades. A non-recurring event and a recurrence override keep their one period
    /// whatever its date. Every write that derives free/busy (import, recording, cancelling,
    /// refreshing, [`crate::Store::extend_freebusy`]) applies the bound it is given, so
    /// periods older than it disappear when an event is derived again later. Default:
    /// [`DEFAULT_PAST_DAYS`] before now, or before the window end if that is earlier
    /// ([`RecordOptions::default_window_start`]; CLI `--expand-from`, JavaScript
    /// `expandFrom`).
    pub window_start: DateTime<Utc>,
    /// Occurrences starting at or after this instant are not materialised; events with
    /// more occurrences are listed as free/busy providers to be extended later.
    pub window_end: DateTime<Utc>,
    /// Refuse an object that would produce more instances than this inside the window.
    pub max_instances: usize,
    /// When recording a parent: delete the stored recurrences (active and cancelled) first,
    /// as imip-agent does when an organiser re-sends the whole event.
    pub replace_recurrences: bool,
    /// How the imports ([`crate::Store::import_ics`], [`crate::Store::import_sources`]) read
    /// iCalendar input: leniently by default (repairs reported as notes in the
    /// [`crate::ImportReport`]), or strictly ([`ParseOptions::strict`]: the first problem
    /// refuses the whole import). Stored objects are always read strictly.
    pub parse: ParseOptions,
}

impl RecordOptions {
    /// UTC, a window of [`DEFAULT_WINDOW_DAYS`] from `now` with a past bounded at
    /// [`DEFAULT_PAST_DAYS`] before it, the default instance cap, lenient reading.
    pub fn new(now: DateTime<Utc>) -> Self {
        RecordOptions {
            tz: Tz::UTC,
            window_start: Self::default_window_start(now, now),
            window_end: now
                .checked_add_signed(TimeDelta::days(DEFAULT_WINDOW_DAYS))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            max_instances: ical::DEFAULT_MAX_INSTANCES,
            replace_recurrences: false,
            parse: ParseOptions::default(),
        }
    }

    /// The default bounded past for a window ending at `window_end`: [`DEFAULT_PAST_DAYS`]
    /// before `now`, or before the window end if that is earlier (a window that ends in the
    /// past asks for that past, so its last year is kept).
    pub fn default_window_start(now: DateTime<Utc>, window_end: DateTime<Utc>) -> DateTime<Utc> {
        now.min(window_end)
            .checked_sub_signed(TimeDelta::days(DEFAULT_PAST_DAYS))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}
