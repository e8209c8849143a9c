//! How events are turned into free/busy: the user's zone, the window and the limits.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::ical;

/// Default free/busy window in days (imip-agent's `window_size`).
pub const DEFAULT_WINDOW_DAYS: i64 = 100;

/// How events are turned into free/busy.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The user's zone: floating times and dates are resolved in it.
    pub tz: Tz,
    /// Occurrences starting at or after this instant are not materialised; events with
    /// more occurrences are listed as free/busy providers to be extended later.
    pub window_end: DateTime<Utc>,
    /// Refuse an object that would produce more instances than this inside the window.
    pub max_instances: usize,
    /// When recording a parent: delete the stored recurrences (active and cancelled) first,
    /// as imip-agent does when an organiser re-sends the whole event.
    pub replace_recurrences: bool,
}

impl RecordOptions {
    /// UTC, a window of [`DEFAULT_WINDOW_DAYS`] from `now`, the default instance cap.
    pub fn new(now: DateTime<Utc>) -> Self {
        RecordOptions {
            tz: Tz::UTC,
            window_end: now + TimeDelta::days(DEFAULT_WINDOW_DAYS),
            max_instances: ical::DEFAULT_MAX_INSTANCES,
            replace_recurrences: false,
        }
    }
}
