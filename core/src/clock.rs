//! Time is injected: the core never reads the system clock (there is none on
//! `wasm32-unknown-unknown`), so tests and every backend agree on "now".

use std::cell::Cell;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock(now = {})", self.now())
    }
}

/// A clock that returns a set instant until moved; for tests and reproducible runs.
#[derive(Debug, Clone)]
pub struct FixedClock {
    now: Cell<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        FixedClock {
            now: Cell::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        self.now.set(now);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: TimeDelta) {
        self.now.set(self.now.get() + by);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }
}

impl<T: Clock + ?Sized> Clock for std::rc::Rc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}
