//! `permitted_times`: the times at which events may start and end (imip-agent's
//! `get_permitted_values` and `correct_datetime`).

use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;

use crate::ical::datetime::resolve_local;

/// Permitted hours, minutes and seconds; `None` for a part means any value.
///
/// Written as imip-agent writes it: one part is minutes (`0,15,30,45`), two are
/// hours:minutes (`8,9,10:0,30`), three hours:minutes:seconds; each part a comma-separated
/// list, an empty part meaning any value. Seconds not given are 0, and so are minutes when
/// only hours are constrained with an empty minutes part left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermittedTimes {
    hours: Option<Vec<u32>>,
    minutes: Option<Vec<u32>>,
    seconds: Option<Vec<u32>>,
}

fn part(text: &str, max: u32) -> Result<Option<Vec<u32>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut values = Vec::new();
    for item in text.split(',') {
        let v: u32 = item
            .trim()
            .parse()
            .map_err(|_| format!("{item:?} is not a number"))?;
        if v > max {
            return Err(format!("{v} is out of range (0 to {max})"));
        }
        values.push(v);
    }
    values.sort_unstable();
    values.dedup();
    Ok(Some(values))
}

impl PermittedTimes {
    /// Parses the preference value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split(':').collect();
        let (hours, minutes, seconds) = match parts.as_slice() {
            [m] => (None, part(m, 59)?, Some(vec![0])),
            [h, m] => (part(h, 23)?, part(m, 59)?, Some(vec![0])),
            [h, m, s] => (part(h, 23)?, part(m, 59)?, part(s, 59)?),
            _ => return Err(format!("{value:?} has more than three parts")),
        };
        if hours.is_none() && minutes.is_none() && seconds.is_none() {
            return Err(format!("{value:?} permits nothing in particular"));
        }
        Ok(PermittedTimes {
            hours,
            minutes,
            seconds,
        })
    }

    fn allows(list: &Option<Vec<u32>>, v: u32) -> bool {
        list.as_ref().is_none_or(|l| l.contains(&v))
    }

    /// True if `t` (wall clock) is a permitted time.
    pub fn permits(&self, t: NaiveTime) -> bool {
        Self::allows(&self.hours, t.hour())
            && Self::allows(&self.minutes, t.minute())
            && Self::allows(&self.seconds, t.second())
    }

    /// The first permitted wall-clock time at or after `t` on the same day, if any.
    fn next_in_day(&self, t: NaiveTime) -> Option<NaiveTime> {
        let all: Vec<u32> = (0..60).collect();
        let hours: Vec<u32> = self.hours.clone().unwrap_or_else(|| (0..24).collect());
        let minutes = self.minutes.as_ref().unwrap_or(&all);
        let seconds = self.seconds.as_ref().unwrap_or(&all);
        for &h in hours.iter().filter(|h| **h >= t.hour()) {
            for &m in minutes {
                if h == t.hour() && m < t.minute() {
                    continue;
                }
                for &s in seconds {
                    let c = NaiveTime::from_hms_opt(h, m, s)?;
                    if c >= t.with_nanosecond(0).unwrap_or(t) {
                        return Some(c);
                    }
                }
            }
        }
        None
    }

    /// The first permitted instant at or after `at`, on the wall clock of `tz`
    /// (imip-agent's `correct_datetime`); None if none is found within a week.
    pub fn correct(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local: NaiveDateTime = at.with_timezone(&tz).naive_local();
        let mut day = local.date();
        let mut from = local.time();
        for _ in 0..8 {
            if let Some(t) = self.next_in_day(from) {
                let candidate = resolve_local(day.and_time(t), tz);
                if candidate >= at {
                    return Some(candidate);
                }
            }
            day = day.checked_add_signed(TimeDelta::days(1))?;
            from = NaiveTime::MIN;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::datetime::{format_utc, parse_utc};

    fn c(p: &str, at: &str, tz: Tz) -> String {
        let p = PermittedTimes::parse(p).unwrap();
        format_utc(p.correct(parse_utc(at).unwrap(), tz).unwrap())
    }

    #[test]
    fn corrections() {
        let oslo = chrono_tz::Europe::Oslo;
        // S10: 16:05 Oslo (14:05Z) becomes 16:15.
        assert_eq!(
            c("0,15,30,45", "20141010T140500Z", oslo),
            "20141010T141500Z"
        );
        assert_eq!(
            c("0,15,30,45", "20141010T141500Z", oslo),
            "20141010T141500Z"
        );
        assert_eq!(
            c("0,15,30,45", "20141010T145959Z", oslo),
            "20141010T150000Z"
        );
        // Hours on the user's wall clock: 8:00 Oslo is 06:00Z in summer.
        assert_eq!(c("8,12:0", "20141010T070000Z", oslo), "20141010T100000Z");
        assert_eq!(c("8,12:0", "20141010T110000Z", oslo), "20141011T060000Z");
        assert_eq!(c("::0", "20141010T070001Z", Tz::UTC), "20141010T070100Z");
        assert!(PermittedTimes::parse("1:2:3:4").is_err());
        assert!(PermittedTimes::parse("::").is_err());
        assert!(PermittedTimes::parse("24:0").is_err());
    }
}
