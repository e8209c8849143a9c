//! Arguments shared by several commands, and the parsers that check option values (a bad
//! value is a usage error, exit status 2, before anything is opened or written).

use calstore_core::Clock;
use calstore_core::ical::datetime::parse_instant;
use calstore_core::ical::parse_tz;
use calstore_core::journal::Limit;
use calstore_core::record::RecordOptions;
use calstore_core::validate;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};

use super::CliError;

/// How periods are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// A JSON array of objects, times as stored (UTC `YYYYMMDDTHHMMSSZ`).
    Json,
    /// The `METHOD:PUBLISH` VFREEBUSY that imip-agent publishes.
    Ics,
}

/// How lists without an iCalendar form are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// An aligned table for people.
    Table,
    /// A JSON array of objects.
    Json,
}

/// How one stored object is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// The VEVENT as stored.
    Vevent,
    /// A whole VCALENDAR with the VTIMEZONEs the event uses.
    Ics,
    /// `{uid, rid, status, text}`.
    Json,
}

impl From<ListFormat> for Format {
    fn from(f: ListFormat) -> Format {
        match f {
            ListFormat::Table => Format::Table,
            ListFormat::Json => Format::Json,
        }
    }
}

/// `--user URI`.
#[derive(Debug, Args)]
pub struct UserArg {
    /// The calendar user, e.g. mailto:room@example.com
    #[arg(long, value_name = "URI", value_parser = parse_user)]
    pub user: String,
}

/// `--user URI --uid UID [--rid RID]`: one stored object.
#[derive(Debug, Args)]
pub struct ObjectArgs {
    #[command(flatten)]
    pub user: UserArg,
    /// The event's UID
    #[arg(long, value_name = "UID", value_parser = parse_uid)]
    pub uid: String,
    /// The recurrence id as stored (e.g. 20261125T080000Z); without it, the whole event
    #[arg(long, value_name = "RID", value_parser = parse_rid)]
    pub rid: Option<String>,
}

/// How events are expanded into free/busy: the user's zone and the window.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// Zone for floating times and dates (the user's zone)
    #[arg(long, value_name = "ZONE", value_parser = parse_zone, default_value = "UTC")]
    pub tz: Tz,
    /// Generate free/busy up to this instant (a time, see calstore --help)
    #[arg(long, value_name = "T", value_parser = parse_time, conflicts_with = "window_days")]
    pub expand_until: Option<DateTime<Utc>>,
    /// Leave out occurrences of recurring events that end before this instant [default: 365
    /// days before now, or before the window end if earlier]
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub expand_from: Option<DateTime<Utc>>,
    /// Generate free/busy for N days from now [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub window_days: Option<u32>,
    /// Refuse an object with more occurrences than this inside the window
    #[arg(long, value_name = "N", value_parser = parse_max_instances,
          default_value_t = calstore_core::ical::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
}

impl ExpandArgs {
    /// The window end relative to `now`.
    pub fn window_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match (self.expand_until, self.window_days) {
            (Some(until), _) => until,
            (None, Some(days)) => now + TimeDelta::days(i64::from(days)),
            (None, None) => RecordOptions::new(now).window_end,
        }
    }

    /// The recording options relative to `now`.
    pub fn options(&self, now: DateTime<Utc>) -> RecordOptions {
        let window_end = self.window_end(now);
        RecordOptions {
            tz: self.tz,
            window_start: self
                .expand_from
                .unwrap_or_else(|| RecordOptions::default_window_start(now, window_end)),
            window_end,
            max_instances: self.max_instances,
            ..RecordOptions::new(now)
        }
    }
}

/// A time range `[from, to)`.
pub type Range = (DateTime<Utc>, DateTime<Utc>);

/// `--from T --to T`: a time range.
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Only periods ending after this instant (a time, see calstore --help)
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Only periods starting before this instant
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
}

impl RangeArgs {
    /// The range to query: None without --from and --to; an open side is unbounded.
    pub fn range(&self) -> Result<Option<Range>, CliError> {
        if self.from.is_none() && self.to.is_none() {
            return Ok(None);
        }
        let from = self.from.unwrap_or(earliest());
        let to = self.to.unwrap_or(latest());
        if from >= to {
            return Err(CliError::Usage(format!(
                "--from {} is not before --to {}",
                calstore_core::ical::format_utc(from),
                calstore_core::ical::format_utc(to)
            )));
        }
        Ok(Some((from, to)))
    }

    /// The range as given, when both ends are (for the VFREEBUSY's DTSTART/DTEND).
    pub fn both(&self) -> Option<Range> {
        self.from.zip(self.to)
    }
}

/// The earliest instant an open range starts at.
fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The latest instant an open range ends at.
fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

// ---- value parsers (their errors become one-line usage errors) ------------------------------

fn store_message(e: calstore_core::StoreError) -> String {
    super::store_message(&e)
}

/// The parser of database URLs (`--db`, `--from`, `--to`). A function parser would not do:
/// clap prints the rejected value with its error, and a URL may hold a password. This one's
/// error shows the URL masked ([`calstore_native::url::redact`]).
#[derive(Clone, Copy, Debug)]
pub struct DbUrlParser;

impl clap::builder::TypedValueParser for DbUrlParser {
    type Value = calstore_native::DbUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        use clap::error::ErrorKind;
        let name = arg
            .and_then(clap::Arg::get_long)
            .map_or_else(|| "the database URL".to_owned(), |l| format!("--{l}"));
        let fail = |kind, message: String| clap::Error::raw(kind, message + "\n").with_cmd(cmd);
        let text = value
            .to_str()
            .ok_or_else(|| fail(ErrorKind::InvalidUtf8, format!("{name} is not valid UTF-8")))?;
        calstore_native::DbUrl::parse(text).map_err(|e| {
            fail(
                ErrorKind::ValueValidation,
                format!("invalid value for {name}: {e}"),
            )
        })
    }
}

/// A calendar user URI.
/// A calendar user, in its one spelling (scheme and mail domain in lower case: see
/// `calstore_core::address`).
pub fn parse_user(s: &str) -> Result<String, String> {
    validate::user(s).map_err(store_message)?;
    Ok(calstore_core::address::normalised(s))
}

/// A UID (any text without control characters: quotes and SQL are just data).
pub fn parse_uid(s: &str) -> Result<String, String> {
    validate::uid(s).map_err(store_message)?;
    Ok(s.to_owned())
}

/// A recurrence id.
pub fn parse_rid(s: &str) -> Result<String, String> {
    validate::rid(Some(s)).map_err(store_message)?;
    Ok(s.to_owned())
}

/// A quota, group or other key name.
pub fn parse_name(s: &str) -> Result<String, String> {
    validate::name("name", s).map_err(store_message)?;
    Ok(s.to_owned())
}

/// A time zone name (IANA, or UTC).
pub fn parse_zone(s: &str) -> Result<Tz, String> {
    parse_tz(s).map_err(|e| e.0)
}

/// An instance cap: 1 to 10 000 000.
pub fn parse_max_instances(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=10_000_000).contains(n))
        .ok_or_else(|| format!("{s:?} is not a number from 1 to 10000000"))
}

/// What times on the command line are relative to: now (the clock of the command,
/// `CALSTORE_NOW` if set) and the zone of the command's `--tz` (UTC without one), set once
/// before the arguments are parsed.
static TIME_CONTEXT: std::sync::OnceLock<(DateTime<Utc>, Tz)> = std::sync::OnceLock::new();

/// Sets the context of [`parse_time`]: `now`, and the zone of the first `--tz` among `args`.
pub fn set_time_context(now: DateTime<Utc>, args: &[std::ffi::OsString]) {
    let mut tz = Tz::UTC;
    let mut iter = args.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        let value = match arg.strip_prefix("--tz") {
            Some("") => iter.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(zone) = value.and_then(|v| parse_tz(v).ok()) {
            tz = zone;
            break;
        }
    }
    // Set once per process; a second call (tests) keeps the first.
    let _ = TIME_CONTEXT.set((now, tz));
}

/// A time as people type it ([`calstore_core::ical::datetime::parse_instant`]): the stored
/// UTC forms, ISO 8601 (local times in the command's `--tz`), `now`, `today`, `±N(d|h|w|m)`.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let (now, tz) = TIME_CONTEXT
        .get()
        .copied()
        .unwrap_or_else(|| (calstore_native::SystemClock.now(), Tz::UTC));
    parse_instant(s, now, tz).map_err(|e| e.0)
}

/// Splits `KEY=VALUE` at the last `=`.
fn split_pair(s: &str, what: &str) -> Result<(String, String), String> {
    match s.rsplit_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected {what}, got {s:?}")),
    }
}

/// `GROUP=LIMIT`, the limit `*` or an iCalendar duration (`PT1H`, `P1D`; not `PT1D`).
pub fn parse_limit_pair(s: &str) -> Result<(String, String), String> {
    let (group, limit) = split_pair(s, "GROUP=LIMIT (e.g. '*=PT1H')")?;
    validate::name("group", &group).map_err(store_message)?;
    Limit::parse(&limit).map_err(store_message)?;
    Ok((group, limit))
}

/// `USER=GROUP` (USER may be `*`: everyone not listed).
pub fn parse_group_pair(s: &str) -> Result<(String, String), String> {
    let (user, group) = split_pair(s, "USER=GROUP (e.g. 'mailto:paul@example.com=developers')")?;
    validate::name("user", &user).map_err(store_message)?;
    validate::name("group", &group).map_err(store_message)?;
    Ok((user, group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("20141010").unwrap(),
            Utc.with_ymd_and_hms(2014, 10, 10, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("20141010T140000Z").unwrap(),
            Utc.with_ymd_and_hms(2014, 10, 10, 14, 0, 0).unwrap()
        );
        assert!(parse_time("20140230").is_err());
        assert_eq!(
            parse_time("2014-10-10T14:00Z").unwrap(),
            Utc.with_ymd_and_hms(2014, 10, 10, 14, 0, 0).unwrap()
        );
        assert!(parse_time("20141010T250000Z").is_err());
    }

    #[test]
    fn pairs() {
        assert_eq!(
            parse_limit_pair("*=PT1H").unwrap(),
            ("*".into(), "PT1H".into())
        );
        assert!(parse_limit_pair("*=PT1D").unwrap_err().contains("PT1D"));
        assert!(parse_limit_pair("nolimit").is_err());
        assert_eq!(
            parse_group_pair("mailto:a=b@example.com=devs").unwrap(),
            ("mailto:a=b@example.com".into(), "devs".into())
        );
    }
}
