//! RRULE parsing, validation and expansion (RFC 5545 §3.3.10).
//!
//! The engine works on wall-clock times (`NaiveDateTime`) in the frame of DTSTART; the caller
//! resolves them to instants. Each period of FREQ (year, month, week, day, or for sub-daily
//! rules each day in turn) is turned into its sorted set of candidate dates and times by
//! filtering the days of the period with the BYxxx parts, which gives RFC 5545's "expand" and
//! "limit" semantics at once; BYSETPOS then picks from that set. Missing parts are taken from
//! DTSTART as python-dateutil does (`FREQ=YEARLY` alone means the month and day of DTSTART,
//! `FREQ=MONTHLY` the day of the month, `FREQ=WEEKLY` the weekday, and the time of day always).
//! Invalid dates (Feb 30, a 31st in a short month) are skipped, not moved.
//!
//! Checked against python-dateutil 2.9 on several thousand random rules (UTC and zoned, COUNT,
//! UNTIL and windows); the only differences are dateutil bugs where this engine follows
//! RFC 5545: a plain and a numbered BYDAY in one rule (`BYDAY=3TU,TH`) are a union here
//! (dateutil intersects them); BYSETPOS with FREQ=WEEKLY counts over the whole first week, not
//! from DTSTART; BYWEEKNO numbers every day by the week it belongs to (so 2011-01-01 is in
//! week 52 of 2010), where dateutil miscounts the weeks of the previous year. A period is a
//! calendar year for BYWEEKNO, so days of week 1 that fall in late December belong to the
//! earlier year's period.
//!
//! Sub-daily rules step on the wall clock too: on a spring-forward day an HOURLY rule's 02:00
//! resolves to the same instant as 03:00 (one instance), and on a fall-back day the repeated
//! hour happens once.
//!
//! COUNT and UNTIL are applied by the caller (`expand.rs`), which also counts DTSTART as the
//! first occurrence.

use std::collections::VecDeque;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use super::datetime::{Wall, parse_wall};
use super::error::{IcalError, show};

/// Upper bound on the days and candidate times one expansion may examine, so that a rule whose
/// matches are rare (or that never matches) cannot keep the expander busy for long.
pub(crate) const MAX_WORK: u64 = 10_000_000;

/// FREQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Freq {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Freq {
    fn name(self) -> &'static str {
        match self {
            Self::Secondly => "SECONDLY",
            Self::Minutely => "MINUTELY",
            Self::Hourly => "HOURLY",
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }

    /// True for HOURLY, MINUTELY and SECONDLY.
    pub(crate) fn is_sub_daily(self) -> bool {
        self < Self::Daily
    }
}

/// A parsed and validated RRULE.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub(crate) freq: Freq,
    pub(crate) interval: u32,
    pub(crate) count: Option<u64>,
    /// A DATE, floating DATE-TIME or UTC DATE-TIME.
    pub(crate) until: Option<Wall>,
    pub(crate) by_second: Vec<u32>,
    pub(crate) by_minute: Vec<u32>,
    pub(crate) by_hour: Vec<u32>,
    pub(crate) by_day: Vec<(Option<i32>, Weekday)>,
    pub(crate) by_month_day: Vec<i32>,
    pub(crate) by_year_day: Vec<i32>,
    pub(crate) by_week_no: Vec<i32>,
    pub(crate) by_month: Vec<u32>,
    pub(crate) by_set_pos: Vec<i32>,
    pub(crate) wkst: Weekday,
}

impl Rule {
    /// True without COUNT and UNTIL.
    pub(crate) fn is_open_ended(&self) -> bool {
        self.count.is_none() && self.until.is_none()
    }

    /// True if BYHOUR, BYMINUTE or BYSECOND is present.
    pub(crate) fn has_time_parts(&self) -> bool {
        !self.by_hour.is_empty() || !self.by_minute.is_empty() || !self.by_second.is_empty()
    }

    /// Parses an RRULE value such as `FREQ=WEEKLY;COUNT=3;BYDAY=MO,WE`.
    pub(crate) fn parse(value: &str) -> Result<Self, IcalError> {
        let err = |why: String| IcalError(format!("invalid RRULE {}: {why}", show(value)));
        let mut freq = None;
        let mut rule = Self {
            freq: Freq::Yearly,
            interval: 1,
            count: None,
            until: None,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            wkst: Weekday::Mon,
        };
        let mut seen: Vec<String> = Vec::new();
        for part in value.split(';') {
            if part.is_empty() {
                continue;
            }
            let Some((name, val)) = part.split_once('=') else {
                return Err(err(format!("{} is not NAME=VALUE", show(part))));
            };
            let name = name.to_ascii_uppercase();
            if seen.contains(&name) {
                return Err(err(format!("{name} appears more than once")));
            }
            seen.push(name.clone());
            if val.is_empty() {
                return Err(err(format!("{name} has no value")));
            }
            let upper = val.to_ascii_uppercase();
            match name.as_str() {
                "FREQ" => {
                    freq = Some(match upper.as_str() {
                        "SECONDLY" => Freq::Secondly,
                        "MINUTELY" => Freq::Minutely,
                        "HOURLY" => Freq::Hourly,
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        _ => return Err(err(format!("unknown FREQ {}", show(val)))),
                    });
                }
                "INTERVAL" => {
                    let n = parse_unsigned(val).ok_or_else(|| {
                        err(format!("INTERVAL {} is not a positive integer", show(val)))
                    })?;
                    rule.interval = u32::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| err(format!("INTERVAL {n} is out of range")))?;
                }
                "COUNT" => {
                    let n = parse_unsigned(val).ok_or_else(|| {
                        err(format!("COUNT {} is not a positive integer", show(val)))
                    })?;
                    if n == 0 {
                        return Err(err("COUNT must be at least 1".to_owned()));
                    }
                    rule.count = Some(n);
                }
                "UNTIL" => {
                    rule.until =
                        Some(parse_wall(val, None).map_err(|e| err(format!("UNTIL: {}", e.0)))?);
                }
                "BYSECOND" => rule.by_second = unsigned_list(&name, val, 0, 60).map_err(err)?,
                "BYMINUTE" => rule.by_minute = unsigned_list(&name, val, 0, 59).map_err(err)?,
                "BYHOUR" => rule.by_hour = unsigned_list(&name, val, 0, 23).map_err(err)?,
                "BYMONTH" => rule.by_month = unsigned_list(&name, val, 1, 12).map_err(err)?,
                "BYMONTHDAY" => rule.by_month_day = signed_list(&name, val, 31).map_err(err)?,
                "BYYEARDAY" => rule.by_year_day = signed_list(&name, val, 366).map_err(err)?,
                "BYWEEKNO" => rule.by_week_no = signed_list(&name, val, 53).map_err(err)?,
                "BYSETPOS" => rule.by_set_pos = signed_list(&name, val, 366).map_err(err)?,
                "BYDAY" => {
                    for item in upper.split(',') {
                        rule.by_day.push(parse_by_day(item).ok_or_else(|| {
                            err(format!("BYDAY value {} is not [+/-n]MO..SU", show(item)))
                        })?);
                    }
                }
                "WKST" => {
                    rule.wkst = parse_weekday(&upper)
                        .ok_or_else(|| err(format!("WKST {} is not a weekday", show(val))))?;
                }
                "RSCALE" | "SKIP" => {
                    return Err(err(format!("{name} (RFC 7529) is not supported")));
                }
                _ => return Err(err(format!("unknown rule part {}", show(&name)))),
            }
        }
        let Some(freq) = freq else {
            return Err(err("FREQ is required".to_owned()));
        };
        rule.freq = freq;
        if rule.count.is_some() && rule.until.is_some() {
            return Err(err("COUNT and UNTIL must not both be present".to_owned()));
        }
        if !rule.by_week_no.is_empty() && freq != Freq::Yearly {
            return Err(err("BYWEEKNO is only allowed with FREQ=YEARLY".to_owned()));
        }
        if !rule.by_year_day.is_empty()
            && matches!(freq, Freq::Daily | Freq::Weekly | Freq::Monthly)
        {
            return Err(err(format!(
                "BYYEARDAY is not allowed with FREQ={}",
                freq.name()
            )));
        }
        if !rule.by_month_day.is_empty() && freq == Freq::Weekly {
            return Err(err("BYMONTHDAY is not allowed with FREQ=WEEKLY".to_owned()));
        }
        if rule.by_day.iter().any(|(n, _)| n.is_some()) {
            if !matches!(freq, Freq::Monthly | Freq::Yearly) {
                return Err(err(format!(
                    "BYDAY with a number (like 1MO) is not allowed with FREQ={}",
                    freq.name()
                )));
            }
            if freq == Freq::Yearly && !rule.by_week_no.is_empty() {
                return Err(err(
                    "BYDAY with a number (like 1MO) is not allowed with BYWEEKNO".to_owned(),
                ));
            }
        }
        if !rule.by_set_pos.is_empty()
            && rule.by_second.is_empty()
            && rule.by_minute.is_empty()
            && rule.by_hour.is_empty()
            && rule.by_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_week_no.is_empty()
            && rule.by_month.is_empty()
        {
            return Err(err("BYSETPOS needs another BYxxx rule part".to_owned()));
        }
        Ok(rule)
    }
}

fn parse_unsigned(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_signed(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(rest) => parse_unsigned(rest)
            .filter(|_| !rest.starts_with('+'))
            .and_then(|n| i64::try_from(n).ok())
            .map(|n| -n),
        None => parse_unsigned(s).and_then(|n| i64::try_from(n).ok()),
    }
}

fn unsigned_list(name: &str, val: &str, min: u32, max: u32) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for item in val.split(',') {
        let n = parse_unsigned(item)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("{name} value {} is not in {min}..{max}", show(item)))?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn signed_list(name: &str, val: &str, max: i32) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for item in val.split(',') {
        let n = parse_signed(item)
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n != 0 && (-max..=max).contains(n))
            .ok_or_else(|| {
                format!(
                    "{name} value {} is not in 1..{max} or -{max}..-1",
                    show(item)
                )
            })?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// `[+/-][n]XX` with n in 1..=53.
fn parse_by_day(s: &str) -> Option<(Option<i32>, Weekday)> {
    if s.len() < 2 || !s.is_char_boundary(s.len() - 2) {
        return None;
    }
    let (num, day) = s.split_at(s.len() - 2);
    let day = parse_weekday(day)?;
    if num.is_empty() {
        return Some((None, day));
    }
    let n = parse_signed(num).and_then(|n| i32::try_from(n).ok())?;
    if n == 0 || !(-53..=53).contains(&n) {
        return None;
    }
    Some((Some(n), day))
}

/// Number of days in a year.
fn year_len(year: i32) -> i32 {
    match NaiveDate::from_ymd_opt(year, 12, 31) {
        Some(d) if d.ordinal() == 366 => 366,
        _ => 365,
    }
}

/// Number of days in a month.
fn month_len(year: i32, month: u32) -> u32 {
    (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .unwrap_or(28)
}

/// 0 for the week start, 6 for the last day of the week.
fn weekday_offset(day: Weekday, wkst: Weekday) -> u64 {
    let d = u64::from(day.num_days_from_monday());
    let w = u64::from(wkst.num_days_from_monday());
    (d + 7 - w) % 7
}

/// The first day of the week containing `date`, weeks starting on `wkst`.
fn week_start(date: NaiveDate, wkst: Weekday) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(weekday_offset(date.weekday(), wkst)))
}

/// RFC 5545 week number of `date` (week 1 is the first week with at least four days in the
/// year, weeks starting on `wkst`), and the number of weeks in the year that week belongs to.
fn week_number(date: NaiveDate, wkst: Weekday) -> Option<(i32, i32)> {
    let number = |d: NaiveDate| -> Option<(i32, i32)> {
        // The week belongs to the year that holds its fourth day.
        let fourth = week_start(d, wkst)?.checked_add_days(Days::new(3))?;
        let n = i32::try_from((fourth.ordinal() - 1) / 7 + 1).ok()?;
        Some((n, fourth.year()))
    };
    let (n, year) = number(date)?;
    // The last week of a year is the one holding 28 December.
    let (weeks, _) = number(NaiveDate::from_ymd_opt(year, 12, 28)?)?;
    Some((n, weeks))
}

/// Keeps the elements of a sorted set at the (1-based, negative from the end) positions.
fn select_positions<T: Copy + Ord>(set: &[T], positions: &[i32]) -> Vec<T> {
    let len = set.len();
    let mut out: Vec<T> = positions
        .iter()
        .filter_map(|&p| {
            let idx = if p > 0 {
                usize::try_from(p - 1).ok()?
            } else {
                len.checked_sub(usize::try_from(p.unsigned_abs()).ok()?)?
            };
            set.get(idx).copied()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Iterates the wall-clock times a rule matches at or after DTSTART, in order, without
/// applying COUNT or UNTIL.
#[derive(Debug)]
pub(crate) struct RuleIter<'a> {
    rule: &'a Rule,
    start: NaiveDateTime,
    /// Periods starting after this are not generated.
    limit: NaiveDateTime,
    /// Effective BYMONTH, BYMONTHDAY and BYDAY (with DTSTART defaults).
    months: Vec<u32>,
    month_days: Vec<i32>,
    days: Vec<(Option<i32>, Weekday)>,
    /// Times of day for DAILY and coarser rules.
    times: Vec<NaiveTime>,
    /// Index of the next period (or, for sub-daily rules, of the next day).
    period: u64,
    buf: VecDeque<NaiveDateTime>,
    done: bool,
}

impl<'a> RuleIter<'a> {
    /// An iterator over the matches of `rule` from `start` (DTSTART's wall-clock time), giving
    /// up at periods that begin after `limit`.
    pub(crate) fn new(rule: &'a Rule, start: NaiveDateTime, limit: NaiveDateTime) -> Self {
        let mut months = rule.by_month.clone();
        let mut month_days = rule.by_month_day.clone();
        let mut days = rule.by_day.clone();
        if rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty()
        {
            match rule.freq {
                Freq::Yearly => {
                    if months.is_empty() {
                        months.push(start.month());
                    }
                    month_days.push(i32::try_from(start.day()).unwrap_or(1));
                }
                Freq::Monthly => month_days.push(i32::try_from(start.day()).unwrap_or(1)),
                Freq::Weekly => days.push((None, start.weekday())),
                _ => {}
            }
        }
        let or_start = |list: &[u32], v: u32| {
            if list.is_empty() {
                vec![v]
            } else {
                list.to_vec()
            }
        };
        let mut times = Vec::new();
        if !rule.freq.is_sub_daily() {
            for h in or_start(&rule.by_hour, start.hour()) {
                for m in or_start(&rule.by_minute, start.minute()) {
                    for s in or_start(&rule.by_second, start.second()) {
                        // BYSECOND=60 (a leap second) names no representable time; skipped.
                        if let Some(t) = NaiveTime::from_hms_opt(h, m, s) {
                            times.push(t);
                        }
                    }
                }
            }
        }
        Self {
            rule,
            start,
            limit,
            months,
            month_days,
            days,
            times,
            period: 0,
            buf: VecDeque::new(),
            done: false,
        }
    }

    /// Like [`RuleIter::new`], but starting at the period that holds `from` (or the first
    /// period, if `from` is before DTSTART): the matches from there on are the same as those
    /// of [`RuleIter::new`], since a period's matches do not depend on earlier periods. Only
    /// COUNT needs the earlier matches, so a caller must not seek a rule with COUNT.
    pub(crate) fn seeking(
        rule: &'a Rule,
        start: NaiveDateTime,
        from: NaiveDate,
        limit: NaiveDateTime,
    ) -> Self {
        let mut it = Self::new(rule, start, limit);
        it.period = it.period_of(from);
        it
    }

    /// The index of the period (for sub-daily rules: the day) that holds `from`.
    fn period_of(&self, from: NaiveDate) -> u64 {
        let s = self.start.date();
        if from <= s {
            return 0;
        }
        let units = match self.rule.freq {
            Freq::Yearly => i64::from(from.year()) - i64::from(s.year()),
            Freq::Monthly => {
                (i64::from(from.year()) * 12 + i64::from(from.month0()))
                    - (i64::from(s.year()) * 12 + i64::from(s.month0()))
            }
            Freq::Weekly => match (
                week_start(from, self.rule.wkst),
                week_start(s, self.rule.wkst),
            ) {
                (Some(a), Some(b)) => a.signed_duration_since(b).num_days() / 7,
                _ => 0,
            },
            _ => from.signed_duration_since(s).num_days(),
        };
        let units = u64::try_from(units).unwrap_or(0);
        if self.rule.freq.is_sub_daily() {
            units
        } else {
            units / u64::from(self.rule.interval)
        }
    }

    /// The next match, `Ok(None)` once periods pass the limit (or the calendar's end), or an
    /// error once `work` exceeds [`MAX_WORK`].
    pub(crate) fn next(&mut self, work: &mut u64) -> Result<Option<NaiveDateTime>, IcalError> {
        loop {
            if let Some(t) = self.buf.pop_front() {
                return Ok(Some(t));
            }
            if self.done {
                return Ok(None);
            }
            if *work > MAX_WORK {
                return Err(too_much_work());
            }
            *work = work.saturating_add(1);
            let k = self.period;
            self.period += 1;
            if self.rule.freq.is_sub_daily() {
                self.fill_day(k, work);
            } else {
                self.fill_period(k, work)?;
            }
        }
    }

    /// Generates period `k` of a DAILY..YEARLY rule into the buffer.
    fn fill_period(&mut self, k: u64, work: &mut u64) -> Result<(), IcalError> {
        let Some(step) = k.checked_mul(u64::from(self.rule.interval)) else {
            self.done = true;
            return Ok(());
        };
        let start_date = self.start.date();
        // The days of the period, and its first day.
        let (first, dates): (Option<NaiveDate>, Vec<NaiveDate>) = match self.rule.freq {
            Freq::Yearly => {
                let year = i64::try_from(step)
                    .ok()
                    .and_then(|s| s.checked_add(i64::from(start_date.year())))
                    .and_then(|y| i32::try_from(y).ok());
                let Some(year) = year else {
                    self.done = true;
                    return Ok(());
                };
                let first = NaiveDate::from_ymd_opt(year, 1, 1);
                let mut dates = Vec::new();
                if self.months.is_empty() {
                    let len = year_len(year);
                    for ordinal in 1..=len {
                        if let Some(d) = u32::try_from(ordinal)
                            .ok()
                            .and_then(|o| NaiveDate::from_yo_opt(year, o))
                        {
                            dates.push(d);
                        }
                    }
                } else {
                    for &m in &self.months {
                        for day in 1..=month_len(year, m) {
                            if let Some(d) = NaiveDate::from_ymd_opt(year, m, day) {
                                dates.push(d);
                            }
                        }
                    }
                }
                (first, dates)
            }
            Freq::Monthly => {
                let index = i64::from(start_date.year()) * 12 + i64::from(start_date.month0());
                let Some(index) = i64::try_from(step).ok().and_then(|s| s.checked_add(index))
                else {
                    self.done = true;
                    return Ok(());
                };
                let (Ok(year), Ok(month0)) = (
                    i32::try_from(index.div_euclid(12)),
                    u32::try_from(index.rem_euclid(12)),
                ) else {
                    self.done = true;
                    return Ok(());
                };
                let month = month0 + 1;
                let first = NaiveDate::from_ymd_opt(year, month, 1);
                let mut dates = Vec::new();
                if self.months.is_empty() || self.months.contains(&month) {
                    for day in 1..=month_len(year, month) {
                        if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
                            dates.push(d);
                        }
                    }
                }
                (first, dates)
            }
            Freq::Weekly => {
                let first = step.checked_mul(7).and_then(|days| {
                    week_start(start_date, self.rule.wkst)?.checked_add_days(Days::new(days))
                });
                let dates = first
                    .map(|f| {
                        (0..7)
                            .filter_map(|i| f.checked_add_days(Days::new(i)))
                            .collect()
                    })
                    .unwrap_or_default();
                (first, dates)
            }
            _ => {
                let first = start_date.checked_add_days(Days::new(step));
                (first, first.into_iter().collect())
            }
        };
        let Some(first) = first else {
            self.done = true;
            return Ok(());
        };
        if first.and_time(NaiveTime::MIN) > self.limit {
            self.done = true;
            return Ok(());
        }
        *work = work.saturating_add(u64::try_from(dates.len()).unwrap_or(u64::MAX));
        let days: Vec<NaiveDate> = dates.into_iter().filter(|d| self.day_matches(*d)).collect();
        // Check the size of the candidate set before building it.
        let size = days.len().saturating_mul(self.times.len());
        *work = work.saturating_add(u64::try_from(size).unwrap_or(u64::MAX));
        if *work > MAX_WORK {
            return Err(too_much_work());
        }
        let mut set = Vec::with_capacity(size);
        for d in days {
            for t in &self.times {
                set.push(d.and_time(*t));
            }
        }
        if !self.rule.by_set_pos.is_empty() {
            set = select_positions(&set, &self.rule.by_set_pos);
        }
        let start = self.start;
        self.buf.extend(set.into_iter().filter(|t| *t >= start));
        Ok(())
    }

    /// Generates day `k` (counted from DTSTART's date) of an HOURLY, MINUTELY or SECONDLY rule.
    fn fill_day(&mut self, k: u64, work: &mut u64) {
        let Some(day) = self.start.date().checked_add_days(Days::new(k)) else {
            self.done = true;
            return;
        };
        if day.and_time(NaiveTime::MIN) > self.limit {
            self.done = true;
            return;
        }
        if !self.day_matches(day) {
            return;
        }
        let rule = self.rule;
        let interval = i64::from(rule.interval);
        let Ok(days) = i64::try_from(k) else {
            self.done = true;
            return;
        };
        let in_list = |list: &[u32], v: u32| list.is_empty() || list.contains(&v);
        let or_start = |list: &[u32], v: u32| {
            if list.is_empty() {
                vec![v]
            } else {
                list.to_vec()
            }
        };
        let start = self.start;
        let (sh, sm, ss) = (
            i64::from(start.hour()),
            i64::from(start.minute()),
            i64::from(start.second()),
        );
        let mut out: Vec<NaiveDateTime> = Vec::new();
        let push_period = |set: Vec<NaiveDateTime>, out: &mut Vec<NaiveDateTime>| {
            let set = if rule.by_set_pos.is_empty() {
                set
            } else {
                select_positions(&set, &rule.by_set_pos)
            };
            out.extend(set.into_iter().filter(|t| *t >= start));
        };
        match rule.freq {
            Freq::Hourly => {
                // Hours elapsed (on the wall clock) from DTSTART's hour to this day's midnight.
                let base = days * 24 - sh;
                for h in 0..24u32 {
                    *work = work.saturating_add(1);
                    if (base + i64::from(h)).rem_euclid(interval) != 0 || !in_list(&rule.by_hour, h)
                    {
                        continue;
                    }
                    let mut set = Vec::new();
                    for m in or_start(&rule.by_minute, start.minute()) {
                        for s in or_start(&rule.by_second, start.second()) {
                            if let Some(t) = NaiveTime::from_hms_opt(h, m, s) {
                                set.push(day.and_time(t));
                            }
                        }
                    }
                    *work = work.saturating_add(u64::try_from(set.len()).unwrap_or(u64::MAX));
                    push_period(set, &mut out);
                }
            }
            Freq::Minutely => {
                let base = days * 1440 - (sh * 60 + sm);
                let mut u = (-base).rem_euclid(interval);
                while u < 1440 {
                    *work = work.saturating_add(1);
                    let (h, m) = (u / 60, u % 60);
                    u += interval;
                    let (Ok(h), Ok(m)) = (u32::try_from(h), u32::try_from(m)) else {
                        continue;
                    };
                    if !in_list(&rule.by_hour, h) || !in_list(&rule.by_minute, m) {
                        continue;
                    }
                    let mut set = Vec::new();
                    for s in or_start(&rule.by_second, start.second()) {
                        if let Some(t) = NaiveTime::from_hms_opt(h, m, s) {
                            set.push(day.and_time(t));
                        }
                    }
                    push_period(set, &mut out);
                }
            }
            _ => {
                let base = days * 86_400 - (sh * 3600 + sm * 60 + ss);
                let candidates = |list: &[u32], n: u32| -> Vec<u32> {
                    if list.is_empty() {
                        (0..n).collect()
                    } else {
                        list.to_vec()
                    }
                };
                let hours = candidates(&rule.by_hour, 24);
                let minutes = candidates(&rule.by_minute, 60);
                let seconds = candidates(&rule.by_second, 61);
                let product = hours.len() * minutes.len() * seconds.len();
                let aligned = 86_400 / interval + 1;
                let consider = |h: u32, m: u32, s: u32, out: &mut Vec<NaiveDateTime>| {
                    if let Some(t) = NaiveTime::from_hms_opt(h, m, s) {
                        push_period(vec![day.and_time(t)], out);
                    }
                };
                if i64::try_from(product).unwrap_or(i64::MAX) < aligned {
                    for &h in &hours {
                        for &m in &minutes {
                            for &s in &seconds {
                                *work = work.saturating_add(1);
                                let u = i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
                                if (base + u).rem_euclid(interval) == 0 {
                                    consider(h, m, s, &mut out);
                                }
                            }
                        }
                    }
                } else {
                    let mut u = (-base).rem_euclid(interval);
                    while u < 86_400 {
                        *work = work.saturating_add(1);
                        let (Ok(h), Ok(m), Ok(s)) = (
                            u32::try_from(u / 3600),
                            u32::try_from(u / 60 % 60),
                            u32::try_from(u % 60),
                        ) else {
                            break;
                        };
                        u += interval;
                        if in_list(&rule.by_hour, h)
                            && in_list(&rule.by_minute, m)
                            && in_list(&rule.by_second, s)
                        {
                            consider(h, m, s, &mut out);
                        }
                    }
                }
            }
        }
        self.buf.extend(out);
    }

    /// True if the day passes BYMONTH, BYWEEKNO, BYYEARDAY, BYMONTHDAY and BYDAY.
    fn day_matches(&self, d: NaiveDate) -> bool {
        let rule = self.rule;
        if !self.months.is_empty() && !self.months.contains(&d.month()) {
            return false;
        }
        if !rule.by_week_no.is_empty() {
            let Some((n, weeks)) = week_number(d, rule.wkst) else {
                return false;
            };
            if !rule
                .by_week_no
                .iter()
                .any(|&w| w == n || w == n - weeks - 1)
            {
                return false;
            }
        }
        if !rule.by_year_day.is_empty() {
            let Ok(yd) = i32::try_from(d.ordinal()) else {
                return false;
            };
            let len = year_len(d.year());
            if !rule
                .by_year_day
                .iter()
                .any(|&v| v == yd || v == yd - len - 1)
            {
                return false;
            }
        }
        let (Ok(md), Ok(mlen)) = (
            i32::try_from(d.day()),
            i32::try_from(month_len(d.year(), d.month())),
        ) else {
            return false;
        };
        if !self.month_days.is_empty()
            && !self
                .month_days
                .iter()
                .any(|&v| v == md || v == md - mlen - 1)
        {
            return false;
        }
        if !self.days.is_empty() {
            // Numeric BYDAY counts within the month for MONTHLY rules and for YEARLY rules
            // with BYMONTH, within the year otherwise.
            let in_month = rule.freq == Freq::Monthly || !rule.by_month.is_empty();
            let (index, len) = if in_month {
                (md - 1, mlen)
            } else {
                (yd0(d), year_len(d.year()))
            };
            let from_start = index / 7 + 1;
            let from_end = -((len - 1 - index) / 7 + 1);
            if !self.days.iter().any(|&(n, wd)| {
                wd == d.weekday() && n.is_none_or(|n| n == from_start || n == from_end)
            }) {
                return false;
            }
        }
        true
    }
}

/// The error for a rule that would take too long to expand.
fn too_much_work() -> IcalError {
    IcalError(
        "the recurrence rule needs too much work to expand (its matches are too rare or too \
         many)"
            .to_owned(),
    )
}

/// 0-based day of the year.
fn yd0(d: NaiveDate) -> i32 {
    i32::try_from(d.ordinal0()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_rule() {
        let r = Rule::parse(
            "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU,+2MO,TU;BYMONTH=1,3;WKST=SU;\
             BYHOUR=9;BYMINUTE=0,30;BYSECOND=0;BYSETPOS=-1",
        )
        .unwrap();
        assert_eq!(r.freq, Freq::Monthly);
        assert_eq!(r.interval, 2);
        assert_eq!(r.count, Some(10));
        assert_eq!(
            r.by_day,
            vec![
                (Some(1), Weekday::Sun),
                (Some(-1), Weekday::Sun),
                (Some(2), Weekday::Mon),
                (None, Weekday::Tue)
            ]
        );
        assert_eq!(r.wkst, Weekday::Sun);
        assert_eq!(r.by_minute, vec![0, 30]);
        assert!(!r.is_open_ended());
        // Lower case and a trailing semicolon are accepted.
        assert!(Rule::parse("freq=daily;").unwrap().is_open_ended());
        assert!(matches!(
            Rule::parse("FREQ=DAILY;UNTIL=19971224T000000Z")
                .unwrap()
                .until,
            Some(Wall::Utc(_))
        ));
        assert!(matches!(
            Rule::parse("FREQ=DAILY;UNTIL=19971224").unwrap().until,
            Some(Wall::Date(_))
        ));
    }

    #[test]
    fn rejects_bad_rules() {
        let cases = [
            ("COUNT=3", "FREQ is required"),
            ("FREQ=FORTNIGHTLY", "unknown FREQ"),
            ("FREQ=DAILY;COUNT=3;UNTIL=20200101", "COUNT and UNTIL"),
            ("FREQ=DAILY;COUNT=0", "at least 1"),
            ("FREQ=DAILY;COUNT=-1", "COUNT"),
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
            ("FREQ=DAILY;INTERVAL=x", "INTERVAL"),
            ("FREQ=DAILY;BYHOUR=24", "BYHOUR"),
            ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE"),
            ("FREQ=DAILY;BYSECOND=61", "BYSECOND"),
            ("FREQ=DAILY;BYMONTH=13", "BYMONTH"),
            ("FREQ=DAILY;BYMONTH=0", "BYMONTH"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
            ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY"),
            ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO"),
            ("FREQ=MONTHLY;BYWEEKNO=1", "only allowed with FREQ=YEARLY"),
            ("FREQ=DAILY;BYYEARDAY=1", "BYYEARDAY is not allowed"),
            ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is not allowed"),
            ("FREQ=WEEKLY;BYDAY=1MO", "with a number"),
            ("FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO", "with BYWEEKNO"),
            ("FREQ=MONTHLY;BYDAY=XX", "BYDAY value"),
            ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY value"),
            ("FREQ=MONTHLY;BYDAY=54MO", "BYDAY value"),
            ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs"),
            ("FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO", "BYSETPOS"),
            ("FREQ=DAILY;WKST=XX", "WKST"),
            ("FREQ=DAILY;FREQ=WEEKLY", "more than once"),
            ("FREQ=DAILY;FOO=1", "unknown rule part"),
            ("FREQ=DAILY;BYDAY=", "no value"),
            ("FREQ=DAILY;COUNT", "NAME=VALUE"),
            ("FREQ=DAILY;UNTIL=20230230", "UNTIL"),
            ("FREQ=DAILY;RSCALE=GREGORIAN", "not supported"),
            ("FREQ=DAILY;BYHOUR=1,,2", "BYHOUR"),
            ("FREQ=DAILY;BYHOUR=--1", "BYHOUR"),
            ("FREQ=MONTHLY;BYMONTHDAY=-+1", "BYMONTHDAY"),
        ];
        for (rule, needle) in cases {
            let msg = Rule::parse(rule).unwrap_err().0;
            assert!(msg.contains(needle), "{rule}: {msg}");
            assert!(msg.starts_with("invalid RRULE"), "{msg}");
        }
    }

    #[test]
    fn week_numbers() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        // ISO weeks (Monday start): 2026-01-01 is a Thursday, in week 1 of 2026.
        assert_eq!(week_number(d(2026, 1, 1), Weekday::Mon), Some((1, 53)));
        // 2021-01-01 (Friday) is in week 53 of 2020.
        assert_eq!(week_number(d(2021, 1, 1), Weekday::Mon), Some((53, 53)));
        // 2024-12-30 (Monday) is in week 1 of 2025.
        assert_eq!(week_number(d(2024, 12, 30), Weekday::Mon), Some((1, 52)));
        assert_eq!(week_number(d(1997, 5, 12), Weekday::Mon), Some((20, 52)));
    }

    #[test]
    fn set_positions() {
        let set = [1, 2, 3, 4, 5];
        assert_eq!(select_positions(&set, &[1, -1]), vec![1, 5]);
        assert_eq!(select_positions(&set, &[-2, 3, 6, -6]), vec![3, 4]);
    }

    #[test]
    fn gives_up_when_matches_are_too_rare() {
        // February 30th never happens: the expander must stop on its own.
        let rule = Rule::parse("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30").unwrap();
        let start = NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        let mut it = RuleIter::new(&rule, start, NaiveDateTime::MAX);
        let mut work = 0;
        // `next` keeps looking until it finds a match, passes the limit or runs out of work.
        let result = it.next(&mut work);
        assert!(result.unwrap_err().0.contains("too much work"));
    }
}
