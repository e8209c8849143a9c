//! Per-user preferences, with imip-agent's names and meanings (its `PREFERENCES_DIR/<user>/<name>`
//! files): table `preferences` of the store component (version 2), one value per (user, name).
//!
//! Every write is checked: the name must be one imip-agent knows (see [`KNOWN`]) and the value
//! must be one it accepts for that name, so that a value that would silently change behaviour
//! (imip-agent's `freebusy_offers=PT1D`, which turned offers off) is refused when it is set,
//! not discovered when a message arrives. Values are kept as imip-agent writes them (text; a
//! multi-line `scheduling_function` keeps its newlines); [`Preferences`] is the typed reading
//! with imip-agent's defaults.

mod permitted;
mod scheduling;

use chrono::TimeDelta;
use chrono_tz::Tz;

use crate::address;
use crate::changes::{self, Operation};
use crate::error::{Result, StoreError};
use crate::ical::duration::parse_duration;
use crate::ical::parse_tz;
use crate::record::DEFAULT_WINDOW_DAYS;
use crate::sql::SqlConnection;
use crate::store::{Store, strings};

pub use permitted::PermittedTimes;
pub use scheduling::{SchedulingFunction, SchedulingFunctionKind, parse_scheduling_functions};

/// Longest accepted preference value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// One known preference: its name, what it means, and which values it takes.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    /// The name (imip-agent's file name).
    pub name: &'static str,
    /// What it is for (for `calstore prefs` and the documentation).
    pub meaning: &'static str,
    /// The values it takes, when it is one of a fixed set; otherwise checked by [`validate`].
    pub choices: &'static [&'static str],
}

const fn known(
    name: &'static str,
    meaning: &'static str,
    choices: &'static [&'static str],
) -> Known {
    Known {
        name,
        meaning,
        choices,
    }
}

/// Every preference imip-agent 0.3 reads, with its meaning and, for fixed sets, the values
/// (the first is the default).
pub const KNOWN: &[Known] = &[
    known("CN", "the user's common name (text)", &[]),
    known("LANG", "the user's language, e.g. en (text)", &[]),
    known(
        "TZID",
        "the user's time zone: floating times and dates, and permitted_times, are read in it",
        &[],
    ),
    known(
        "window_size",
        "days of free/busy materialised for recurring events (default 100)",
        &[],
    ),
    known(
        "add_method_response",
        "what an ADD for an unknown event gets: refresh (ask the organiser with REFRESH), add, or ignore",
        &["refresh", "add", "ignore"],
    ),
    known(
        "event_refreshing",
        "whether a REFRESH is answered at once (always) or queued for the user (never)",
        &["never", "always"],
    ),
    known(
        "freebusy_bundling",
        "whether free/busy travels with messages the user sends",
        &["never", "always"],
    ),
    known(
        "freebusy_messages",
        "whether received free/busy is reported to the user",
        &["none", "notify"],
    ),
    known(
        "freebusy_offers",
        "how long the periods of a counter-proposal stay reserved, an iCalendar duration such as PT1H (unset: none are recorded)",
        &[],
    ),
    known(
        "freebusy_publishing",
        "whether free/busy is published (needs freebusy_sharing=share too)",
        &["no", "publish"],
    ),
    known(
        "freebusy_sharing",
        "whether free/busy is shared: published, and given in answer to free/busy requests",
        &["no", "share"],
    ),
    known(
        "incoming",
        "how incoming messages are shown to the user",
        &[
            "summary-wraps-message",
            "message-only",
            "message-then-summary",
            "summary-only",
            "summary-then-message",
        ],
    ),
    known(
        "organiser_replacement",
        "who may take over as organiser of an event",
        &["attendee", "any", "never"],
    ),
    known(
        "participating",
        "whether the user takes part in scheduling at all (no: messages are left alone)",
        &["participate", "no"],
    ),
    known(
        "permitted_times",
        "the times events may start and end at: minutes (0,15,30,45), hours:minutes, or hours:minutes:seconds, each a comma-separated list",
        &[],
    ),
    known(
        "scheduling_function",
        "makes the user a resource that answers requests itself: one function per line (schedule_in_freebusy, schedule_corrected_in_freebusy, schedule_next_available_in_freebusy, check_quota [QUOTA], schedule_across_quota [QUOTA])",
        &[],
    ),
];

/// The description of a known preference.
pub fn describe(name: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.name == name)
}

/// Checks a preference before it is written: a known name and a value it accepts. Values
/// are taken as imip-agent writes them: surrounding white space is not part of them (its
/// files are read stripped), so it is refused rather than kept.
pub fn validate(name: &str, value: &str) -> Result<()> {
    let Some(k) = describe(name) else {
        let names: Vec<&str> = KNOWN.iter().map(|k| k.name).collect();
        return Err(StoreError::invalid(format!(
            "unknown preference {name:?}; known: {}",
            names.join(", ")
        )));
    };
    crate::validate::text_field(name, value, MAX_VALUE_LEN)?;
    if value.trim() != value || value.is_empty() {
        return Err(StoreError::invalid(format!(
            "preference {name}: the value {value:?} is empty or has surrounding white space"
        )));
    }
    if !k.choices.is_empty() {
        if k.choices.contains(&value) {
            return Ok(());
        }
        return Err(StoreError::invalid(format!(
            "preference {name}: {value:?} is not one of {}",
            k.choices.join(", ")
        )));
    }
    let bad = |why: String| StoreError::invalid(format!("preference {name}: {why}"));
    match name {
        "TZID" => {
            parse_tz(value).map_err(|e| bad(e.0))?;
        }
        "window_size" => {
            window_days(value).map_err(bad)?;
        }
        "freebusy_offers" => {
            offer_duration(value).map_err(bad)?;
        }
        "permitted_times" => {
            PermittedTimes::parse(value).map_err(bad)?;
        }
        "scheduling_function" => {
            parse_scheduling_functions(value).map_err(bad)?;
        }
        _ => {}
    }
    Ok(())
}

fn window_days(value: &str) -> std::result::Result<i64, String> {
    value
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=36_600).contains(d))
        .ok_or_else(|| format!("{value:?} is not a number of days from 1 to 36600"))
}

fn offer_duration(value: &str) -> std::result::Result<TimeDelta, String> {
    let secs = parse_duration(value).map_err(|e| e.0)?;
    if secs <= 0 {
        return Err(format!("{value:?} is not a positive duration"));
    }
    TimeDelta::try_seconds(secs).ok_or_else(|| format!("{value:?} is too long"))
}

/// A user's preferences, typed, with imip-agent's defaults for what is not set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preferences {
    /// Every stored (name, value), sorted by name.
    pub values: Vec<(String, String)>,
}

impl Preferences {
    /// The stored value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The user's zone (`TZID`), UTC if unset (imip-agent used the system's zone).
    pub fn tz(&self) -> Tz {
        self.get("TZID")
            .and_then(|v| parse_tz(v).ok())
            .unwrap_or(Tz::UTC)
    }

    /// `window_size` in days (default [`DEFAULT_WINDOW_DAYS`]).
    pub fn window_days(&self) -> i64 {
        self.get("window_size")
            .and_then(|v| window_days(v).ok())
            .unwrap_or(DEFAULT_WINDOW_DAYS)
    }

    /// How long offers last (`freebusy_offers`), None when offers are not recorded.
    pub fn offer_duration(&self) -> Option<TimeDelta> {
        self.get("freebusy_offers")
            .and_then(|v| offer_duration(v).ok())
    }

    /// The scheduling functions, when the user is a resource (`scheduling_function` set).
    pub fn scheduling_functions(&self) -> Option<Vec<SchedulingFunction>> {
        self.get("scheduling_function")
            .and_then(|v| parse_scheduling_functions(v).ok())
    }

    /// True if `scheduling_function` is set: the user is a resource that decides itself.
    pub fn is_resource(&self) -> bool {
        self.get("scheduling_function").is_some()
    }

    /// `permitted_times`, if set.
    pub fn permitted_times(&self) -> Option<PermittedTimes> {
        self.get("permitted_times")
            .and_then(|v| PermittedTimes::parse(v).ok())
    }

    /// False when `participating=no`: messages for the user are left alone.
    pub fn participating(&self) -> bool {
        self.get("participating") != Some("no")
    }

    /// The value of a fixed-choice preference, or its default (the first choice).
    pub fn choice(&self, name: &str) -> &str {
        match (self.get(name), describe(name)) {
            (Some(v), _) => v,
            (None, Some(k)) => k.choices.first().copied().unwrap_or(""),
            (None, None) => "",
        }
    }

    /// True if free/busy is shared (`freebusy_sharing=share`).
    pub fn shares_freebusy(&self) -> bool {
        self.get("freebusy_sharing") == Some("share")
    }

    /// True if free/busy is published (`freebusy_sharing=share` and
    /// `freebusy_publishing=publish`, as imip-agent requires both).
    pub fn publishes_freebusy(&self) -> bool {
        self.shares_freebusy() && self.get("freebusy_publishing") == Some("publish")
    }
}

impl<C: SqlConnection> Store<C> {
    /// The user's preferences (every stored value, sorted by name).
    pub fn preferences(&mut self, user: &str) -> Result<Preferences> {
        let user = &*address::normalise(user);
        let rows = self.conn.query(
            "SELECT name, value FROM preferences WHERE store_user = $1 ORDER BY name",
            &[user.into()],
        )?;
        Ok(Preferences {
            values: rows
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_>>()?,
        })
    }

    /// The stored value of one preference.
    pub fn get_preference(&mut self, user: &str, name: &str) -> Result<Option<String>> {
        let user = &*address::normalise(user);
        Ok(strings(self.conn.query(
            "SELECT value FROM preferences WHERE store_user = $1 AND name = $2",
            &[user.into(), name.into()],
        )?)?
        .into_iter()
        .next())
    }

    /// Sets one preference after checking it ([`validate`]).
    pub fn set_preference(&mut self, user: &str, name: &str, value: &str) -> Result<()> {
        let user = &*address::normalise(user);
        validate(name, value)?;
        self.write(user, |c, tx| {
            c.execute(
                "INSERT INTO preferences (store_user, name, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (store_user, name) DO UPDATE SET value = excluded.value",
                &[user.into(), name.into(), value.into()],
            )?;
            tx.changed(
                "preferences",
                changes::key(&[Some(name)]),
                Operation::Upsert,
            );
            Ok(())
        })
    }

    /// Removes one preference (back to its default). Returns whether it was set.
    pub fn unset_preference(&mut self, user: &str, name: &str) -> Result<bool> {
        let user = &*address::normalise(user);
        if describe(name).is_none() {
            validate(name, "x")?;
        }
        self.write(user, |c, tx| {
            let n = c.execute(
                "DELETE FROM preferences WHERE store_user = $1 AND name = $2",
                &[user.into(), name.into()],
            )?;
            if n > 0 {
                tx.changed(
                    "preferences",
                    changes::key(&[Some(name)]),
                    Operation::Delete,
                );
            }
            Ok(n > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        for (name, value) in [
            ("freebusy_offers", "PT1H"),
            ("freebusy_offers", "P1D"),
            ("permitted_times", "0,15,30,45"),
            ("permitted_times", "8,9,10:0,30"),
            (
                "scheduling_function",
                "schedule_in_freebusy\ncheck_quota cars",
            ),
            ("TZID", "Europe/Oslo"),
            ("window_size", "100"),
            ("participating", "no"),
            ("freebusy_sharing", "share"),
        ] {
            validate(name, value).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        }
        for (name, value) in [
            ("freebusy_offers", "PT1D"),
            ("freebusy_offers", "-PT1H"),
            ("permitted_times", "0,61"),
            ("permitted_times", "a"),
            ("scheduling_function", "schedule_everywhere"),
            ("scheduling_function", ""),
            ("TZID", "Mars/Olympus"),
            ("window_size", "0"),
            ("participating", "maybe"),
            ("colour", "blue"),
            ("CN", " padded"),
        ] {
            assert!(validate(name, value).is_err(), "{name}={value}");
        }
    }

    #[test]
    fn defaults() {
        let p = Preferences::default();
        assert_eq!(p.tz(), Tz::UTC);
        assert_eq!(p.window_days(), 100);
        assert_eq!(p.offer_duration(), None);
        assert!(!p.is_resource());
        assert!(p.participating());
        assert_eq!(p.choice("event_refreshing"), "never");
        assert_eq!(p.choice("add_method_response"), "refresh");
        assert!(!p.publishes_freebusy());
    }
}
