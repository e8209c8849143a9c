//! `calstore demo`: builds a sample store from the bundled calendar with a fixed clock, prints
//! a week of free/busy per person (a grid and a list) and two quota decisions.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};

use calstore_core::ical::{self, EventComponent, resolve_local};
use calstore_core::journal::describe_seconds;
use calstore_core::{FixedClock, Period, RecordOptions};
use calstore_native::DbUrl;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::output::{self, cell};
use super::quota::BookingData;
use super::{CliError, CliStore, open_store};

/// The bundled sample calendar: the week of Monday 2026-11-23.
const DEMO_ICS: &str = include_str!("../data/demo.ics");
/// The demo's database when `--db` is not given; it is recreated on every run.
const DEMO_DB: &str = "calstore-demo.db";
/// The people and the room the demo stores calendars for.
const PEOPLE: [(&str, &str); 3] = [
    ("Paul Boddie", "mailto:paul.boddie@example.com"),
    ("Vincent Vole", "mailto:vincent.vole@example.com"),
    (
        "Conference room",
        "mailto:resource-room-confroom@example.com",
    ),
];
/// The grid's first hour and its number of hours.
const FIRST_HOUR: u32 = 8;
const HOURS: u32 = 10;
/// Grid cells per hour (quarter hours).
const CELLS_PER_HOUR: u32 = 4;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Result<DateTime<Utc>, CliError> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .ok_or_else(|| failed("demo: bad built-in date"))
}

fn local(date: NaiveDate, h: u32, mi: u32) -> Result<NaiveDateTime, CliError> {
    date.and_hms_opt(h, mi, 0)
        .ok_or_else(|| failed("demo: bad built-in time"))
}

fn describe_url(url: &DbUrl) -> String {
    match url {
        DbUrl::SqliteFile(path) => format!("sqlite:{path}"),
        DbUrl::SqliteMemory => "sqlite::memory:".to_owned(),
        DbUrl::Postgres(_) => "postgres://…".to_owned(),
    }
}

/// Removes the demo database and its WAL files, if present.
fn remove_demo_db() -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{DEMO_DB}{suffix}");
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(format!("cannot remove {path}: {e}"))),
        }
    }
    Ok(())
}

/// True if `user` organises or attends `event`: the events of a person's own calendar.
fn involves(event: &EventComponent, user: &str) -> bool {
    event.organizer.as_deref() == Some(user) || event.attendees.iter().any(|a| a.uri == user)
}

/// Runs the demo on `db`, or on a freshly created `calstore-demo.db`.
pub fn run(db: Option<&DbUrl>, out: &mut dyn Write) -> Result<(), CliError> {
    let url = match db {
        Some(url) => url.clone(),
        None => {
            remove_demo_db()?;
            DbUrl::SqliteFile(DEMO_DB.to_owned())
        }
    };
    let now = utc(2026, 11, 22, 0, 0)?;
    let tz: Tz = chrono_tz::Europe::Oslo;
    let mut store = open_store(&url, Box::new(FixedClock::new(now)))?;
    for (_, user) in PEOPLE {
        if store.user_exists(user)? {
            return Err(failed(format!(
                "{} already holds data for {user}; run the demo on a new database \
                 (without --db it recreates {DEMO_DB})",
                describe_url(&url)
            )));
        }
    }
    let events = ical::parse_events(DEMO_ICS.as_bytes())
        .map_err(|e| failed(format!("the bundled demo.ics: {}", e.0)))?;
    let opts = RecordOptions {
        tz,
        ..RecordOptions::new(now)
    };

    writeln!(out, "calstore demo")?;
    writeln!(
        out,
        "store {}, clock fixed at 2026-11-22 00:00 UTC, times in {}",
        describe_url(&url),
        tz.name()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Importing the sample calendar ({} VEVENTs):",
        events.len()
    )?;
    let width = PEOPLE.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, user) in PEOPLE {
        let mine: Vec<EventComponent> = events
            .iter()
            .filter(|e| involves(e, user))
            .cloned()
            .collect();
        let r = store.import_events(user, &mine, &opts, &mut |_, _| {})?;
        writeln!(
            out,
            "  {name:<width$}  {:>2} objects ({} recurrence{}), {:>3} free/busy periods, {} provider{}",
            r.parents + r.recurrences,
            r.recurrences,
            if r.recurrences == 1 { "" } else { "s" },
            r.periods,
            r.providers,
            if r.providers == 1 { "" } else { "s" },
        )?;
    }

    let monday = NaiveDate::from_ymd_opt(2026, 11, 23).ok_or_else(|| failed("demo: bad date"))?;
    let week_start = resolve_local(local(monday, 0, 0)?, tz);
    let week_end = resolve_local(local(monday + TimeDelta::days(7), 0, 0)?, tz);
    writeln!(out)?;
    writeln!(
        out,
        "Free/busy for the week of Monday 23 November 2026, {:02}:00–{:02}:00 in quarter hours",
        FIRST_HOUR,
        FIRST_HOUR + HOURS
    )?;
    writeln!(out, "█ busy   ░ transparent or not attending   · free")?;
    for (name, user) in PEOPLE {
        let periods = store.get_freebusy_in(user, week_start, week_end)?;
        writeln!(out)?;
        writeln!(out, "{name} <{user}>")?;
        write_grid(out, &periods, monday, tz)?;
        writeln!(out)?;
        write_period_list(out, &periods, tz)?;
    }

    writeln!(out)?;
    quota_demo(&mut store, out, tz)?;
    if let DbUrl::SqliteFile(path) = &url {
        writeln!(out)?;
        writeln!(out, "Explore the store, e.g.:")?;
        writeln!(
            out,
            "  calstore --db sqlite:{path} freebusy --user {} --from 20261123 --to 20261130 \
             --tz {}",
            PEOPLE[2].1,
            tz.name()
        )?;
        writeln!(
            out,
            "  calstore --db sqlite:{path} events --user {}",
            PEOPLE[0].1
        )?;
    }
    Ok(())
}

/// The state of one grid cell.
fn cell_char(periods: &[Period], from: DateTime<Utc>, to: DateTime<Utc>) -> char {
    let mut overlapping = periods.iter().filter(|p| p.overlaps(from, to)).peekable();
    if overlapping.peek().is_none() {
        return '·';
    }
    if overlapping.any(Period::is_busy) {
        '█'
    } else {
        '░'
    }
}

/// Days as rows (Monday to Sunday), quarter hours from 08:00 to 18:00 as columns.
fn write_grid(
    out: &mut dyn Write,
    periods: &[Period],
    monday: NaiveDate,
    tz: Tz,
) -> Result<(), CliError> {
    let label_width = 13;
    let mut header = " ".repeat(label_width);
    for h in FIRST_HOUR..=FIRST_HOUR + HOURS {
        header.push_str(&format!("{h:02}"));
        if h < FIRST_HOUR + HOURS {
            header.push_str(&" ".repeat(usize::try_from(CELLS_PER_HOUR).unwrap_or(4) - 2));
        }
    }
    writeln!(out, "{}", header.trim_end())?;
    let step = TimeDelta::minutes(i64::from(60 / CELLS_PER_HOUR));
    for day in 0..7 {
        let date = monday + TimeDelta::days(day);
        let label = date.format("%a %d %b").to_string();
        let mut line = format!("  {label:<width$}", width = label_width - 2);
        let mut t = local(date, FIRST_HOUR, 0)?;
        for _ in 0..HOURS * CELLS_PER_HOUR {
            let next = t + step;
            line.push(cell_char(
                periods,
                resolve_local(t, tz),
                resolve_local(next, tz),
            ));
            t = next;
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// When a period is, in `tz`: whole days as dates, otherwise times.
fn when(p: &Period, tz: Tz) -> String {
    let (s, e) = (p.start.with_timezone(&tz), p.end.with_timezone(&tz));
    let midnight = |t: &DateTime<Tz>| t.time() == chrono::NaiveTime::MIN;
    if midnight(&s) && midnight(&e) && e > s {
        let last = (e - TimeDelta::days(1)).date_naive();
        if last == s.date_naive() {
            return format!("{}, all day", s.format("%a %d %b"));
        }
        return format!("{} – {}", s.format("%a %d %b"), last.format("%a %d %b"));
    }
    format!(
        "{} {}–{}",
        s.format("%a %d %b"),
        s.format("%H:%M"),
        output::local_end(p.start, p.end, tz)
    )
}

fn shown_as(p: &Period) -> &'static str {
    match p.transp.as_deref() {
        _ if p.is_busy() => "busy",
        Some("ORG") => "free (organiser, not attending)",
        _ => "free (transparent)",
    }
}

fn write_period_list(out: &mut dyn Write, periods: &[Period], tz: Tz) -> Result<(), CliError> {
    let rows: Vec<Vec<String>> = periods
        .iter()
        .map(|p| {
            let mut summary = cell(p.summary.as_deref(), 36);
            if p.recurrenceid.is_some() {
                summary.push_str(" *");
            }
            vec![
                when(p, tz),
                shown_as(p).to_owned(),
                summary,
                cell(p.uid.as_deref(), 40),
            ]
        })
        .collect();
    let mut buf = Vec::new();
    output::write_table(
        &mut buf,
        &["WHEN", "SHOWN AS", "SUMMARY (* changed instance)", "UID"],
        &rows,
    )?;
    for line in String::from_utf8_lossy(&buf).lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// Sets up the `cars` quota and books a car twice: the second booking exceeds the group's hour.
fn quota_demo(store: &mut CliStore, out: &mut dyn Write, tz: Tz) -> Result<(), CliError> {
    let quota = "cars";
    let car = "mailto:resource-car-electric@example.com";
    let group = "developers";
    let limits = BTreeMap::from([("*".to_owned(), "PT1H".to_owned())]);
    let groups: BTreeMap<String, String> = PEOPLE[..2]
        .iter()
        .map(|(_, u)| ((*u).to_owned(), group.to_owned()))
        .collect();
    store.journal().set_limits(quota, &limits)?;
    store.journal().set_groups(quota, &groups)?;
    writeln!(
        out,
        "Quota \"{quota}\": limit * = PT1H per group; Paul and Vincent share the group \"{group}\""
    )?;
    let bookings = [
        (
            PEOPLE[0],
            "car-paul@example.com",
            utc(2026, 11, 24, 9, 0)?,
            45,
        ),
        (
            PEOPLE[1],
            "car-vincent@example.com",
            utc(2026, 11, 25, 12, 0)?,
            30,
        ),
    ];
    for ((name, organiser), uid, start, minutes) in bookings {
        let mut period = Period::new(start, start + TimeDelta::minutes(minutes));
        period.uid = Some(uid.to_owned());
        period.organiser = Some(organiser.to_owned());
        writeln!(out)?;
        writeln!(
            out,
            "{name} books the car {} ({}):",
            when(&period, tz),
            describe_seconds(period.duration_secs())
        )?;
        let data = BookingData {
            organiser: organiser.to_owned(),
            uid: uid.to_owned(),
            rid: None,
            periods: vec![period],
            open_ended: false,
        };
        let decision = store.journal().reserve(quota, &data.booking(car))?;
        let mut buf = Vec::new();
        output::write_decision(&mut buf, quota, &decision, data.requested())?;
        for line in String::from_utf8_lossy(&buf).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}
