//! The journal commands: limits, groups, delegates, the quota check and reservation, entries.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use calstore_core::ical::format_utc;
use calstore_core::sync::{BookingSpec, Mutation};
use calstore_core::{Period, RecordOptions, Source, record};
use chrono::{DateTime, Utc};

use super::args::{self, ExpandArgs, ListFormat};
use super::commands::{input_name, read_input};
use super::output::{self, PeriodLine, PeriodListing};
use super::replica;
use super::{CliError, CliStore, QuotaArg, QuotaCommand};

/// What a booking to check is: an event file, or a start and an end.
#[derive(Debug, clap::Args)]
pub struct BookingArgs {
    #[command(flatten)]
    pub quota: QuotaArg,
    /// The booking's organizer (iCalendar's ORGANIZER) [default: the file's ORGANIZER]
    #[arg(long = "organizer", alias = "organiser", value_name = "URI", value_parser = args::parse_user)]
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
    /// Output format (exit status 0: accepted, 3: declined, either way)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
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

/// A booking read from the arguments (the core's type).
pub type BookingData = calstore_core::BookingRequest;

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
            .as_deref()
            .ok_or_else(|| CliError::Usage("--organizer is required with --start/--end".into()))?;
        let period = Period::new(start, end);
        return Ok(record::booking_from_periods(
            organiser,
            a.uid.as_deref(),
            None,
            vec![period],
            false,
        )?);
    };
    let bytes = read_input(path)?;
    let name = input_name(path);
    Ok(record::booking_from_source(
        &Source::named(&name, &bytes),
        a.organiser.as_deref(),
        a.expand.tz,
        a.expand.window_end(now),
    )?)
}

/// Fails with "unknown quota …" unless the quota has been written to.
fn require_quota(store: &mut CliStore, quota: &str) -> Result<(), CliError> {
    if store.journal().revision(quota)? == 0 {
        return Err(CliError::Failed(format!("unknown quota {quota}")));
    }
    Ok(())
}

fn write_pairs(
    out: &mut dyn Write,
    map: &BTreeMap<String, String>,
    format: ListFormat,
    keys: (&str, &str),
) -> Result<(), CliError> {
    if format == ListFormat::Json {
        let items: Vec<serde_json::Value> = map
            .iter()
            .map(|(k, v)| {
                let mut o = serde_json::Map::new();
                o.insert(keys.0.to_owned(), k.as_str().into());
                o.insert(keys.1.to_owned(), v.as_str().into());
                serde_json::Value::Object(o)
            })
            .collect();
        return Ok(output::write_json_value(
            out,
            &serde_json::Value::Array(items),
        )?);
    }
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
            format,
        } => {
            let q = &quota.quota;
            if (*replace || !set.is_empty())
                && replica::write(
                    store,
                    Mutation::SetQuotaLimits {
                        quota: q.clone(),
                        limits: set.iter().cloned().collect(),
                        replace: *replace,
                    },
                    &RecordOptions::new(store.now()),
                    out,
                )?
                .is_some()
            {
                return Ok(());
            }
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
            write_pairs(out, &limits, *format, ("group", "limit"))
        }
        QuotaCommand::Groups {
            quota,
            set,
            replace,
            format,
        } => {
            let q = &quota.quota;
            if (*replace || !set.is_empty())
                && replica::write(
                    store,
                    Mutation::SetQuotaGroups {
                        quota: q.clone(),
                        groups: set.iter().cloned().collect(),
                        replace: *replace,
                    },
                    &RecordOptions::new(store.now()),
                    out,
                )?
                .is_some()
            {
                return Ok(());
            }
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
            write_pairs(out, &groups, *format, ("user", "group"))
        }
        QuotaCommand::Delegates {
            quota,
            set,
            replace,
            format,
        } => {
            let q = &quota.quota;
            let writes = *replace || !set.is_empty();
            // As for limits and groups: --set adds, --replace makes the list exactly the ones
            // given (none: remove every delegate).
            let wanted = if *replace {
                set.clone()
            } else if writes {
                let mut all = store.journal().get_delegates(q)?;
                for d in set {
                    if !all.contains(d) {
                        all.push(d.clone());
                    }
                }
                all
            } else {
                Vec::new()
            };
            if writes
                && replica::write(
                    store,
                    Mutation::SetQuotaDelegates {
                        quota: q.clone(),
                        delegates: wanted.clone(),
                    },
                    &RecordOptions::new(store.now()),
                    out,
                )?
                .is_some()
            {
                return Ok(());
            }
            if writes {
                store.journal().set_delegates(q, &wanted)?;
            } else {
                require_quota(store, q)?;
            }
            let delegates = store.journal().get_delegates(q)?;
            if *format == ListFormat::Json {
                return Ok(output::write_json_value(out, &delegates.into())?);
            }
            let rows: Vec<Vec<Option<&str>>> =
                delegates.iter().map(|d| vec![Some(d.as_str())]).collect();
            Ok(output::write_list(out, &rows)?)
        }
        QuotaCommand::Check(a) => {
            let q = &a.quota.quota;
            let data = booking_data(a, store.now())?;
            require_quota(store, q)?;
            let decision = store.journal().check_quota(q, &data.booking(q))?;
            if a.format == ListFormat::Json {
                let v = output::decision_json(q, &decision, data.requested());
                output::write_json_value(out, &v)?;
            } else {
                output::write_decision(out, q, &decision, data.requested())?;
            }
            decision_status(&decision)
        }
        QuotaCommand::Reserve(a) => {
            let q = &a.booking.quota.quota;
            let data = booking_data(&a.booking, store.now())?;
            require_quota(store, q)?;
            let attendee = a.attendee.as_deref().unwrap_or(q);
            let spec = BookingSpec::Periods {
                organiser: data.organiser.clone(),
                uid: Some(data.uid.clone()),
                rid: data.rid.clone(),
                periods: data
                    .periods
                    .iter()
                    .map(|p| (format_utc(p.start), format_utc(p.end)))
                    .collect(),
                open_ended: data.open_ended,
            };
            let m = Mutation::Reserve {
                quota: q.clone(),
                attendee: Some(attendee.to_owned()),
                booking: spec,
            };
            if replica::write(store, m, &RecordOptions::new(store.now()), out)?.is_some() {
                return Ok(());
            }
            let decision = store.journal().reserve(q, &data.booking(attendee))?;
            if a.booking.format == ListFormat::Json {
                let mut v = output::decision_json(q, &decision, data.requested());
                if let Some(obj) = v.as_object_mut() {
                    let recorded = decision.is_accepted().then(
                        || serde_json::json!({"attendee": attendee, "entries": data.periods.len()}),
                    );
                    obj.insert("recorded".into(), recorded.into());
                }
                output::write_json_value(out, &v)?;
                return decision_status(&decision);
            }
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
            decision_status(&decision)
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
                if *format == ListFormat::Json {
                    return Ok(output::write_json_value(out, &users.into())?);
                }
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

/// The exit status of a quota decision: 0 accepted, 3 declined (the decision is printed).
fn decision_status(decision: &calstore_core::QuotaDecision) -> Result<(), CliError> {
    if decision.is_accepted() {
        Ok(())
    } else {
        Err(CliError::Status(DECLINED_STATUS))
    }
}

/// The exit status of `quota check` and `quota reserve` when the quota declines.
pub const DECLINED_STATUS: u8 = 3;
