//! The journal commands: limits, groups, delegates, the quota check and reservation, entries.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use calstore_core::ical::{self, EventComponent, ExpandContext};
use calstore_core::{Booking, Period};
use chrono::{DateTime, Utc};

use super::args::{self, ExpandArgs};
use super::commands::{input_name, parse_input};
use super::output::{self, PeriodLine, PeriodListing};
use super::{CliError, CliStore, QuotaArg, QuotaCommand};

/// What a booking to check is: an event file, or a start and an end.
#[derive(Debug, clap::Args)]
pub struct BookingArgs {
    #[command(flatten)]
    pub quota: QuotaArg,
    /// The booking's organiser [default: the file's ORGANIZER]
    #[arg(long, alias = "organizer", value_name = "URI", value_parser = args::parse_user)]
    pub organiser: Option<String>,
    /// The event to book, an iCalendar file ('-' for standard input)
    #[arg(
        long,
        value_name = "ICS",
        conflicts_with_all = ["start", "end", "uid"],
        required_unless_present_all = ["start", "end"]
    )]
    pub file: Option<PathBuf>,
    /// Start of a single period to book (instead of --file)
    #[arg(long, value_name = "T", value_parser = args::parse_time, requires = "end")]
    pub start: Option<DateTime<Utc>>,
    /// End of that period
    #[arg(long, value_name = "T", value_parser = args::parse_time, requires = "start")]
    pub end: Option<DateTime<Utc>>,
    /// UID of the period given by --start/--end [default: calstore-booking]
    #[arg(long, value_name = "UID", value_parser = args::parse_uid)]
    pub uid: Option<String>,
    #[command(flatten)]
    pub expand: ExpandArgs,
}

/// `quota reserve`: a booking and the resource it is recorded for.
#[derive(Debug, clap::Args)]
pub struct ReserveArgs {
    #[command(flatten)]
    pub booking: BookingArgs,
    /// The resource booked, recorded with the entries [default: the quota's name]
    #[arg(long, value_name = "URI", value_parser = args::parse_name)]
    pub attendee: Option<String>,
}

/// A booking read from the arguments.
#[derive(Debug)]
pub struct BookingData {
    /// The organiser.
    pub organiser: String,
    /// The event's UID.
    pub uid: String,
    /// The recurrence id when the booking is one recurrence.
    pub rid: Option<String>,
    /// The periods inside the window.
    pub periods: Vec<Period>,
    /// True if the event recurs without end.
    pub open_ended: bool,
}

impl BookingData {
    /// The booking as the journal takes it.
    pub fn booking<'a>(&'a self, attendee: &'a str) -> Booking<'a> {
        Booking {
            organiser: &self.organiser,
            attendee,
            uid: &self.uid,
            rid: self.rid.as_deref(),
            periods: &self.periods,
            open_ended: self.open_ended,
        }
    }

    /// The total requested, in seconds.
    pub fn requested(&self) -> i64 {
        self.periods
            .iter()
            .fold(0i64, |acc, p| acc.saturating_add(p.duration_secs()))
    }
}

fn event_period(e: &EventComponent, inst: &ical::Instance, rid: Option<&str>) -> Period {
    Period {
        start: inst.start,
        end: inst.end,
        uid: Some(e.uid.clone()),
        transp: None,
        recurrenceid: rid.map(str::to_owned),
        summary: e.summary.clone(),
        organiser: e.organizer.clone(),
    }
}

fn is_cancelled(e: &EventComponent) -> bool {
    e.status.as_deref() == Some("CANCELLED")
}

/// Reads the booking: the periods of one event (its parent occurrences minus those its
/// overrides replace, plus the overrides'), or the single period given.
fn booking_data(a: &BookingArgs, now: DateTime<Utc>) -> Result<BookingData, CliError> {
    let Some(path) = &a.file else {
        let (Some(start), Some(end)) = (a.start, a.end) else {
            return Err(CliError::Usage("give --file, or --start and --end".into()));
        };
        if end <= start {
            return Err(CliError::Usage("--end is not after --start".into()));
        }
        let organiser = a
            .organiser
            .clone()
            .ok_or_else(|| CliError::Usage("--organiser is required with --start/--end".into()))?;
        let uid = a
            .uid
            .clone()
            .unwrap_or_else(|| "calstore-booking".to_owned());
        let mut period = Period::new(start, end);
        period.uid = Some(uid.clone());
        period.organiser = Some(organiser.clone());
        return Ok(BookingData {
            organiser,
            uid,
            rid: None,
            periods: vec![period],
            open_ended: false,
        });
    };
    let name = input_name(path);
    let events = parse_input(path)?;
    let bad = |e: ical::IcalError| CliError::Failed(format!("{name}: {}", e.0));
    let uid = events.first().map(|e| e.uid.clone()).unwrap_or_default();
    if let Some(other) = events.iter().find(|e| e.uid != uid) {
        return Err(CliError::Failed(format!(
            "{name}: holds several events ({uid}, {}); a booking is one event",
            other.uid
        )));
    }
    let tz = a.expand.tz;
    let ctx = ExpandContext::new(tz, a.expand.window_end(now));
    // The copy with the highest SEQUENCE of each object wins (the later one on a tie).
    let mut parent: Option<&EventComponent> = None;
    let mut overrides: BTreeMap<String, &EventComponent> = BTreeMap::new();
    for e in &events {
        match e.recurrence_id() {
            None => {
                if parent.is_none_or(|old| e.sequence >= old.sequence) {
                    parent = Some(e);
                }
            }
            Some(rid) => {
                let slot = overrides.entry(rid).or_insert(e);
                if e.sequence >= slot.sequence {
                    *slot = e;
                }
            }
        }
    }
    let mut periods = Vec::new();
    let mut replaced = HashSet::new();
    for (rid, e) in &overrides {
        replaced.insert(ical::recurrence_id_point(rid, tz).map_err(bad)?);
        if !is_cancelled(e) {
            for inst in &e.instances(&ctx).map_err(bad)?.instances {
                periods.push(event_period(e, inst, Some(rid)));
            }
        }
    }
    let mut open_ended = false;
    if let Some(p) = parent.filter(|p| !is_cancelled(p)) {
        for inst in &p.instances(&ctx).map_err(bad)?.instances {
            if !replaced.contains(&inst.recurrence_point) {
                periods.push(event_period(p, inst, None));
            }
        }
        open_ended = p.is_open_ended();
    }
    periods.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
    let rid = match (parent, overrides.len()) {
        (None, 1) => overrides.keys().next().cloned(),
        _ => None,
    };
    let organiser = match &a.organiser {
        Some(o) => o.clone(),
        None => parent
            .or_else(|| overrides.values().next().copied())
            .and_then(|e| e.organizer.clone())
            .ok_or_else(|| CliError::Usage(format!("{name} has no ORGANIZER: give --organiser")))?,
    };
    Ok(BookingData {
        organiser,
        uid,
        rid,
        periods,
        open_ended,
    })
}

/// Fails with "unknown quota …" unless the quota has been written to.
fn require_quota(store: &mut CliStore, quota: &str) -> Result<(), CliError> {
    if store.journal().revision(quota)? == 0 {
        return Err(CliError::Failed(format!("unknown quota {quota}")));
    }
    Ok(())
}

fn write_pairs(out: &mut dyn Write, map: &BTreeMap<String, String>) -> Result<(), CliError> {
    let rows: Vec<Vec<Option<&str>>> = map
        .iter()
        .map(|(k, v)| vec![Some(k.as_str()), Some(v.as_str())])
        .collect();
    Ok(output::write_list(out, &rows)?)
}

/// `quota …`.
pub fn run(store: &mut CliStore, cmd: &QuotaCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        QuotaCommand::Limits {
            quota,
            set,
            replace,
        } => {
            let q = &quota.quota;
            if *replace {
                store
                    .journal()
                    .set_limits(q, &set.iter().cloned().collect())?;
            } else if set.is_empty() {
                require_quota(store, q)?;
            } else {
                for (group, limit) in set {
                    store.journal().set_limit(q, group, limit)?;
                }
            }
            let limits = store.journal().get_limits(q)?;
            write_pairs(out, &limits)
        }
        QuotaCommand::Groups {
            quota,
            set,
            replace,
        } => {
            let q = &quota.quota;
            if *replace {
                store
                    .journal()
                    .set_groups(q, &set.iter().cloned().collect())?;
            } else if set.is_empty() {
                require_quota(store, q)?;
            } else {
                for (user, group) in set {
                    store.journal().set_group(q, user, group)?;
                }
            }
            let groups = store.journal().get_groups(q)?;
            write_pairs(out, &groups)
        }
        QuotaCommand::Delegates { quota, set, clear } => {
            let q = &quota.quota;
            if *clear || !set.is_empty() {
                store.journal().set_delegates(q, set)?;
            } else {
                require_quota(store, q)?;
            }
            let delegates = store.journal().get_delegates(q)?;
            let rows: Vec<Vec<Option<&str>>> =
                delegates.iter().map(|d| vec![Some(d.as_str())]).collect();
            Ok(output::write_list(out, &rows)?)
        }
        QuotaCommand::Check(a) => {
            let q = &a.quota.quota;
            let data = booking_data(a, store.now())?;
            require_quota(store, q)?;
            let decision = store.journal().check_quota(q, &data.booking(q))?;
            Ok(output::write_decision(out, q, &decision, data.requested())?)
        }
        QuotaCommand::Reserve(a) => {
            let q = &a.booking.quota.quota;
            let data = booking_data(&a.booking, store.now())?;
            require_quota(store, q)?;
            let attendee = a.attendee.as_deref().unwrap_or(q);
            let decision = store.journal().reserve(q, &data.booking(attendee))?;
            output::write_decision(out, q, &decision, data.requested())?;
            if decision.is_accepted() {
                writeln!(
                    out,
                    "  recorded:  {} for {attendee}",
                    match data.periods.len() {
                        1 => "1 entry".to_owned(),
                        n => format!("{n} entries"),
                    }
                )?;
            }
            Ok(())
        }
        QuotaCommand::Entries {
            quota,
            group,
            format,
            tz,
        } => {
            let q = &quota.quota;
            require_quota(store, q)?;
            let Some(group) = group else {
                let users = store.journal().quota_users(q)?;
                let rows: Vec<Vec<Option<&str>>> =
                    users.iter().map(|u| vec![Some(u.as_str())]).collect();
                return Ok(output::write_list(out, &rows)?);
            };
            let entries = store.journal().get_entries(q, group)?;
            let lines: Vec<PeriodLine<'_>> = entries
                .iter()
                .map(|e| PeriodLine {
                    period: &e.period,
                    extra: e.attendee.clone(),
                })
                .collect();
            let listing = PeriodListing {
                owner: group,
                extra: Some("attendee"),
                range: None,
                now: store.now(),
                tz: *tz,
            };
            Ok(output::write_periods(
                out,
                (*format).into(),
                &lines,
                &listing,
            )?)
        }
    }
}
