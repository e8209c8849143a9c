//! Leniency: what real calendars get wrong and what the lenient reading does about it.
//!
//! Every problem goes through [`Notes`]: in strict mode a problem is the error today's parser
//! gives; in lenient mode it becomes a [`RepairNote`] (line, UID, problem, action) and the
//! reading goes on. Structural problems (lines, BEGIN/END) are handled where the structure is
//! walked (`parse`); this module holds the repairs of one VEVENT's properties, which rewrite
//! the content lines, so that the text kept for an event ([`super::EventComponent::text`]) is
//! valid iCalendar that the strict parser reads back the same way. The decisions, compared
//! with Python icalendar, ical.js and libical, are in `docs/decisions/0007-lenient-import.md`.

use std::collections::HashSet;

use chrono::TimeDelta;

use super::build::{
    EventBuilder, Item, OwnProp, TzidResolver, check_end, exdate_values, rdate_values,
    time_property,
};
use super::datetime::{format_date, format_naive};
use super::duration::parse_dur;
use super::error::{IcalError, show};
use super::event::MAX_UID_LEN;
use super::lex::Property;
use super::notes::{Notes, problem_of};
use super::rrule::Rule;
use super::time::IcalTime;

/// The prefix of a UID derived for a VEVENT that has none (or an unusable one), followed by
/// 32 hexadecimal digits: the 128-bit FNV-1a hash of the event's content lines as read
/// (unfolded, each followed by a line feed), DTSTAMP excepted, so that importing the same
/// file again (even one re-exported with a new DTSTAMP) gives the same UID and does not
/// duplicate the event.
pub const DERIVED_UID_PREFIX: &str = "calstore-derived-";

/// True if `written` is a misspelling of the component name `open` (`VCALENDARD`, `VTOOD`):
/// same first letter, at most two edits apart.
pub(super) fn misspelt(written: &str, open: &str) -> bool {
    const MAX: usize = 64;
    let (a, b) = (written.as_bytes(), open.as_bytes());
    if a.len() > MAX || b.len() > MAX || a.first() != b.first() || b.len() < 4 {
        return false;
    }
    // Levenshtein distance, one row at a time.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()] <= 2
}

/// What the rewrites of one VEVENT need to know about the rest of the input.
#[derive(Debug)]
pub(super) struct EventContext<'a> {
    /// The X-WR-TIMEZONE of the event's VCALENDAR.
    pub(super) x_wr_timezone: Option<&'a str>,
    /// UIDs of parents whose DTSTART is a DATE.
    pub(super) date_parents: &'a HashSet<String>,
}

/// Properties holding dates and times.
const TIME_PROPS: [&str; 5] = ["DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE"];

/// Rewrites every reading makes (strict too): they change no valid meaning, they give
/// invalid or application-specific data the meaning its producer gave it.
///
/// * **X-WR-TIMEZONE** (Google): floating DATE-TIMEs are in that zone; it is written as their
///   TZID, so the stored event keeps that meaning on its own.
/// * **TRANSP** other than OPAQUE and TRANSPARENT (`SEMI`, `FREE`): read as OPAQUE, the
///   default (busy), and written so.
/// * **Outlook all-day overrides**: a RECURRENCE-ID that is a DATE-TIME at midnight (in any
///   zone, or UTC) of an event whose parent's DTSTART is a DATE names that date
///   (`RECURRENCE-ID;TZID=GMT Standard Time:20200416T000000` replaces the instance of
///   2020-04-16); it is rewritten `RECURRENCE-ID;VALUE=DATE:20200416`.
pub(super) fn rewrite_event(
    b: &mut EventBuilder,
    ctx: &EventContext<'_>,
    zones: &mut TzidResolver<'_>,
    notes: &mut Notes,
) {
    let x_wr = ctx
        .x_wr_timezone
        .filter(|name| zones.zone(name).is_ok())
        .map(str::to_owned);
    let date_parent = !ctx.date_parents.is_empty()
        && b.own("UID")
            .is_some_and(|u| ctx.date_parents.contains(&u.prop.value));
    for p in b.props.iter_mut().filter(|p| !p.removed) {
        if p.prop.name == "TRANSP" {
            transp(p, notes);
        }
        if let Some(zone) = &x_wr
            && TIME_PROPS.contains(&p.prop.name.as_str())
            && is_floating_date_time(&p.prop)
        {
            p.prop.set_param("TZID", zone);
            p.rewrite();
        }
        if date_parent && p.prop.name == "RECURRENCE-ID" {
            let value = p.prop.value.trim();
            let midnight = value.len() >= 15
                && value
                    .as_bytes()
                    .get(8)
                    .is_some_and(|t| t.eq_ignore_ascii_case(&b'T'))
                && value.get(9..15) == Some("000000");
            if let (true, Some(date)) = (midnight, value.get(..8).map(str::to_owned)) {
                notes.note(
                    p.prop.line,
                    format!(
                        "RECURRENCE-ID {} is a DATE-TIME at midnight but the series is all-day",
                        show(value)
                    ),
                    &format!("read as the DATE {date}"),
                );
                p.prop.value = date;
                p.prop.remove_param("TZID");
                p.prop.set_param("VALUE", "DATE");
                p.rewrite();
            }
        }
    }
}

/// True if every value of a date/time property is a floating DATE-TIME (no TZID, no `Z`).
fn is_floating_date_time(p: &Property) -> bool {
    if p.param("TZID").is_some()
        || p.param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
    {
        return false;
    }
    p.value.split(',').all(|item| {
        let start = item.trim().split('/').next().unwrap_or_default();
        start.len() == 15
            && start
                .as_bytes()
                .get(8)
                .is_some_and(|t| t.eq_ignore_ascii_case(&b'T'))
    })
}

/// Properties a VEVENT may have once (RFC 5545 §3.6.1); leniently the first one counts.
const ONCE: [&str; 10] = [
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RECURRENCE-ID",
    "SEQUENCE",
    "SUMMARY",
    "ORGANIZER",
    "TRANSP",
    "STATUS",
];

/// The lenient repairs of one VEVENT, in order: repeated once-only properties, the UID, each
/// property's value, then DTSTART/DTEND/DURATION together. What cannot be repaired is left
/// for the validation, which then skips the event with a note.
pub(super) fn repair_event(b: &mut EventBuilder, zones: &mut TzidResolver<'_>, notes: &mut Notes) {
    repeated_properties(b, notes);
    derive_uid(b, notes);
    for i in 0..b.props.len() {
        let Some(p) = b.props.get_mut(i).filter(|p| !p.removed) else {
            continue;
        };
        match p.prop.name.as_str() {
            "SEQUENCE" => sequence(p, notes),
            "EXRULE" => drop_with(p, notes, "EXRULE (RFC 5545 removed it)", "ignored"),
            "RRULE" => rrule(p, notes),
            "DTSTART" | "DTEND" | "RECURRENCE-ID" => {
                unknown_tzid(p, zones, notes);
                time_value(p, zones, notes);
            }
            "RDATE" | "EXDATE" => {
                unknown_tzid(p, zones, notes);
                date_list(p, zones, notes);
            }
            "DURATION" => {
                if let Err(e) = parse_dur(p.prop.value.trim()) {
                    drop_with(p, notes, &e.0, "DURATION dropped");
                }
            }
            _ => {}
        }
    }
    ends(b, zones, notes);
}

fn drop_with(p: &mut OwnProp, notes: &mut Notes, problem: &str, action: &str) {
    p.removed = true;
    notes.note(p.prop.line, problem.to_owned(), action);
}

fn repeated_properties(b: &mut EventBuilder, notes: &mut Notes) {
    let mut first: Vec<(&str, usize)> = Vec::new();
    for p in b.props.iter_mut().filter(|p| !p.removed) {
        let Some(name) = ONCE.iter().find(|n| **n == p.prop.name) else {
            continue;
        };
        match first.iter().find(|(n, _)| n == name) {
            Some((_, line)) => {
                let action = format!("dropped (the first, line {line}, kept)");
                drop_with(
                    p,
                    notes,
                    &format!("{name} appears more than once in the VEVENT"),
                    &action,
                );
            }
            None => first.push((name, p.prop.line)),
        }
    }
}

/// Why a UID cannot be used, if it cannot.
fn unusable_uid(uid: &str) -> Option<&'static str> {
    if uid.is_empty() {
        Some("empty UID")
    } else if uid.len() > MAX_UID_LEN {
        Some("UID longer than the limit")
    } else if uid.chars().any(char::is_control) {
        Some("UID with control characters")
    } else {
        None
    }
}

/// Gives a VEVENT without a usable UID one derived from its content
/// ([`DERIVED_UID_PREFIX`]).
fn derive_uid(b: &mut EventBuilder, notes: &mut Notes) {
    let problem = match b
        .props
        .iter_mut()
        .find(|p| !p.removed && p.prop.name == "UID")
    {
        None => "no UID".to_owned(),
        Some(p) => match unusable_uid(&p.prop.value) {
            None => return,
            Some(why) => {
                p.removed = true;
                format!("{why} {}", show(&p.prop.value))
            }
        },
    };
    let uid = derived_uid(b);
    notes.note(
        b.line,
        problem,
        &format!("UID {uid} derived from the event's content"),
    );
    let prop = Property {
        name: "UID".to_owned(),
        params: Vec::new(),
        value: uid,
        line: b.line,
    };
    b.items.insert(0, Item::Own(b.props.len()));
    b.props.push(OwnProp {
        text: prop.to_line(),
        prop,
        removed: false,
    });
}

/// The derived UID of an event: see [`DERIVED_UID_PREFIX`].
fn derived_uid(b: &EventBuilder) -> String {
    // FNV-1a, 128 bits.
    const BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut hash = BASIS;
    let mut feed = |text: &str| {
        for byte in text.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for item in &b.items {
        match item {
            Item::Own(i) => {
                if let Some(p) = b.props.get(*i)
                    && p.prop.name != "DTSTAMP"
                    && p.prop.name != "UID"
                {
                    feed(&p.text);
                }
            }
            Item::Nested(line) => feed(line),
        }
    }
    format!("{DERIVED_UID_PREFIX}{hash:032x}")
}

fn sequence(p: &mut OwnProp, notes: &mut Notes) {
    let value = p.prop.value.trim();
    if value.parse::<i64>().is_ok() {
        return;
    }
    let n = value
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && f.abs() < 1e15)
        .map_or(0, |f| {
            // Within ±1e15 the conversion is exact enough and cannot overflow.
            #[allow(clippy::cast_possible_truncation)]
            let n = f.trunc() as i64;
            n
        });
    notes.note(
        p.prop.line,
        format!("SEQUENCE {} is not an integer", show(value)),
        &format!("read as {n}"),
    );
    p.prop.value = n.to_string();
    p.rewrite();
}

fn transp(p: &mut OwnProp, notes: &mut Notes) {
    let value = p.prop.value.trim();
    if value.eq_ignore_ascii_case("OPAQUE") || value.eq_ignore_ascii_case("TRANSPARENT") {
        return;
    }
    notes.note(
        p.prop.line,
        format!("TRANSP {} is neither OPAQUE nor TRANSPARENT", show(value)),
        "read as OPAQUE (busy, the default)",
    );
    p.prop.value = "OPAQUE".to_owned();
    p.rewrite();
}

fn rrule(p: &mut OwnProp, notes: &mut Notes) {
    let value = p.prop.value.trim().to_owned();
    if value.is_empty() {
        return drop_with(p, notes, "empty RRULE", "dropped");
    }
    let Err(e) = Rule::parse(&value) else {
        return;
    };
    // Unknown X- rule parts (RFC 2445 allowed them) are ignored, as ical.js does.
    let is_x = |part: &&str| part.get(..2).is_some_and(|h| h.eq_ignore_ascii_case("X-"));
    let kept: Vec<&str> = value.split(';').filter(|part| !is_x(part)).collect();
    let without_x = kept.join(";");
    if without_x.len() != value.len() && Rule::parse(&without_x).is_ok() {
        notes.note(
            p.prop.line,
            format!("RRULE {} has unknown X- rule parts", show(&value)),
            "those parts ignored",
        );
        p.prop.value = without_x;
        p.rewrite();
        return;
    }
    drop_with(
        p,
        notes,
        &e.0,
        "RRULE dropped (DTSTART kept as the only instance)",
    );
}

/// Leniently, a TZID that names no zone is dropped: the value is floating (read in the
/// importing user's zone), as Python icalendar, ical.js and libical read it.
fn unknown_tzid(p: &mut OwnProp, zones: &mut TzidResolver<'_>, notes: &mut Notes) {
    let Some(name) = p.prop.param("TZID").map(str::to_owned) else {
        return;
    };
    if let Err(e) = zones.zone(&name) {
        notes.note(
            p.prop.line,
            format!("{} (TZID of {})", e.0, p.prop.name),
            "read as floating time (in the importing user's zone)",
        );
        p.prop.remove_param("TZID");
        p.rewrite();
    }
}

/// Other spellings of a DATE or DATE-TIME value to try: ISO 8601 extended form
/// (`2026-01-05T09:00:00Z`, fractional seconds dropped), the date part of a DATE-TIME
/// declared `VALUE=DATE`.
fn respellings(value: &str, date: bool) -> Vec<String> {
    let mut out = Vec::new();
    let compact: String = {
        let no_frac = match value.find('.') {
            Some(dot) => {
                let tail = &value[dot + 1..];
                let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
                format!("{}{}", &value[..dot], &tail[digits..])
            }
            None => value.to_owned(),
        };
        no_frac.chars().filter(|c| *c != '-' && *c != ':').collect()
    };
    if compact != value {
        out.push(compact.clone());
    }
    if date && compact.len() >= 15 && compact.is_char_boundary(8) {
        out.push(compact[..8].to_owned());
    }
    out
}

/// DTSTART, DTEND and RECURRENCE-ID: a value in another spelling is rewritten; a DTEND that
/// cannot be read is dropped (the event gets the default length); DTSTART and RECURRENCE-ID
/// are left to the validation (the event is skipped).
fn time_value(p: &mut OwnProp, zones: &mut TzidResolver<'_>, notes: &mut Notes) {
    let Err(e) = time_property(&p.prop, zones) else {
        return;
    };
    let date = p
        .prop
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    let old = p.prop.value.trim().to_owned();
    for candidate in respellings(&old, date) {
        p.prop.value.clone_from(&candidate);
        if time_property(&p.prop, zones).is_ok() {
            notes.note(
                p.prop.line,
                format!(
                    "{} value {} is not in iCalendar form",
                    p.prop.name,
                    show(&old)
                ),
                &format!("read as {candidate}"),
            );
            p.rewrite();
            return;
        }
    }
    p.prop.value = old;
    if p.prop.name == "DTEND" {
        drop_with(p, notes, &problem_of(&e), "DTEND dropped (default length)");
    }
}

/// RDATE and EXDATE: an empty property is dropped; each value that cannot be read is
/// respelled ([`respellings`]; a PERIOD starting with a DATE starts at midnight) or dropped.
fn date_list(p: &mut OwnProp, zones: &mut TzidResolver<'_>, notes: &mut Notes) {
    let name = p.prop.name.clone();
    let check = |prop: &Property, zones: &mut TzidResolver<'_>| -> Result<(), IcalError> {
        if prop.name == "RDATE" {
            rdate_values(prop, zones).map(|_| ())
        } else {
            exdate_values(prop, zones).map(|_| ())
        }
    };
    if p.prop.value.trim().is_empty() {
        return drop_with(p, notes, &format!("empty {name}"), "dropped");
    }
    if check(&p.prop, zones).is_ok() {
        return;
    }
    let date = p
        .prop
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    let period = p
        .prop
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("PERIOD"));
    let mut single = p.prop.clone();
    let mut kept = Vec::new();
    let items: Vec<String> = p
        .prop
        .value
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    for item in items {
        single.value.clone_from(&item);
        if check(&single, zones).is_ok() {
            kept.push(item);
            continue;
        }
        let mut candidates = respellings(&item, date);
        if period
            && let Some((start, end)) = item.split_once('/')
            && start.len() == 8
        {
            let utc = if end.ends_with(['Z', 'z']) { "Z" } else { "" };
            candidates.push(format!("{start}T000000{utc}/{end}"));
        }
        let fixed = candidates.into_iter().find(|c| {
            single.value.clone_from(c);
            check(&single, zones).is_ok()
        });
        match fixed {
            Some(c) => {
                notes.note(
                    p.prop.line,
                    format!("{name} value {} is not in iCalendar form", show(&item)),
                    &format!("read as {c}"),
                );
                kept.push(c);
            }
            None => {
                single.value.clone_from(&item);
                let why = check(&single, zones)
                    .err()
                    .map_or_else(String::new, |e| problem_of(&e));
                notes.note(p.prop.line, why, &format!("{name} value dropped"));
            }
        }
    }
    if kept.is_empty() {
        p.removed = true;
        return;
    }
    p.prop.value = kept.join(",");
    p.rewrite();
}

/// The index of the first live own property of that name.
fn find(b: &EventBuilder, name: &str) -> Option<usize> {
    b.props
        .iter()
        .position(|p| !p.removed && p.prop.name == name)
}

/// A DATE or DATE-TIME value as text, in the frame of `like` (a `Z` if it is UTC).
fn midnight_like(date: chrono::NaiveDate, like: &IcalTime) -> String {
    let utc = if matches!(like, IcalTime::Utc(_)) {
        "Z"
    } else {
        ""
    };
    format!("{}T000000{utc}", format_date(date))
}

/// DTSTART, DTEND and DURATION together: DURATION beside DTEND is dropped; a DTEND of the
/// other kind than DTSTART is read at midnight in DTSTART's frame (or DTSTART at midnight
/// in DTEND's, when DTSTART is the DATE), one floating and one not drops DTEND; a DTEND
/// before DTSTART is exchanged with it, and a negative DURATION ends at DTSTART (both as
/// Python's recurring-ical-events reads them: the period between the two instants).
fn ends(b: &mut EventBuilder, zones: &mut TzidResolver<'_>, notes: &mut Notes) {
    let (Some(start_at), end_at, duration_at) =
        (find(b, "DTSTART"), find(b, "DTEND"), find(b, "DURATION"))
    else {
        return;
    };
    if let (Some(_), Some(d)) = (end_at, duration_at) {
        let p = &mut b.props[d];
        drop_with(
            p,
            notes,
            "DTEND and DURATION both present",
            "DURATION dropped (DTEND kept)",
        );
    }
    if let Some(e) = end_at {
        dtend(b, start_at, e, zones, notes);
    } else if let Some(d) = duration_at {
        negative_duration(b, start_at, d, zones, notes);
    }
}

fn dtend(
    b: &mut EventBuilder,
    s: usize,
    e: usize,
    zones: &mut TzidResolver<'_>,
    notes: &mut Notes,
) {
    let (Ok(start), Ok(end)) = (
        time_property(&b.props[s].prop, zones),
        time_property(&b.props[e].prop, zones),
    ) else {
        return;
    };
    // Which one is rewritten at midnight, in the other's frame.
    let (fix, date, like) = match (&start, &end) {
        (IcalTime::Date(..), IcalTime::Date(..)) => (None, None, &start),
        (_, IcalTime::Date(d, _)) => (Some(e), Some(*d), &start),
        (IcalTime::Date(d, _), _) => (Some(s), Some(*d), &end),
        _ => (None, None, &start),
    };
    if let (Some(fix), Some(date)) = (fix, date) {
        let other = if fix == e { s } else { e };
        let tzid = b.props[other].prop.param("TZID").map(str::to_owned);
        let value = midnight_like(date, like);
        let name = b.props[fix].prop.name.clone();
        let p = &mut b.props[fix];
        notes.note(
            p.prop.line,
            "one of DTSTART and DTEND is a DATE, the other a DATE-TIME".to_owned(),
            &format!("{name} read as {value}"),
        );
        p.prop.value = value;
        p.prop.remove_param("VALUE");
        match tzid {
            Some(z) if !matches!(like, IcalTime::Utc(_)) => p.prop.set_param("TZID", &z),
            _ => p.prop.remove_param("TZID"),
        }
        p.rewrite();
    }
    let (Ok(start), Ok(end)) = (
        time_property(&b.props[s].prop, zones),
        time_property(&b.props[e].prop, zones),
    ) else {
        return;
    };
    if let Err(why) = check_end(&start, &end) {
        if start.is_floating() != end.is_floating() {
            return drop_with(
                &mut b.props[e],
                notes,
                &why,
                "DTEND dropped (default length)",
            );
        }
        // Ends before it starts: the two are exchanged.
        notes.note(b.props[e].prop.line, why, "DTSTART and DTEND exchanged");
        let (start_prop, end_prop) = (b.props[s].prop.clone(), b.props[e].prop.clone());
        for (at, from) in [(s, end_prop), (e, start_prop)] {
            let p = &mut b.props[at];
            p.prop.params = from.params;
            p.prop.value = from.value;
            p.rewrite();
        }
    }
}

fn negative_duration(
    b: &mut EventBuilder,
    s: usize,
    d: usize,
    zones: &mut TzidResolver<'_>,
    notes: &mut Notes,
) {
    let Ok(dur) = parse_dur(b.props[d].prop.value.trim()) else {
        return;
    };
    if !dur.is_negative() {
        return;
    }
    let Ok(start) = time_property(&b.props[s].prop, zones) else {
        return;
    };
    let moved = TimeDelta::try_days(dur.days)
        .zip(TimeDelta::try_seconds(dur.seconds))
        .and_then(|(days, secs)| {
            start
                .naive()
                .checked_add_signed(days)?
                .checked_add_signed(secs)
        });
    let Some(moved) = moved else {
        return;
    };
    let value = match start {
        IcalTime::Date(..) => format_date(moved.date()),
        IcalTime::Utc(_) => format!("{}Z", format_naive(moved)),
        IcalTime::Floating(_) | IcalTime::Zoned(..) => format_naive(moved),
    };
    let old = b.props[d].prop.value.trim().to_owned();
    let positive = old.trim_start_matches('-').to_owned();
    notes.note(
        b.props[d].prop.line,
        format!("DURATION {} is negative", show(&old)),
        &format!("read as {positive} ending at DTSTART (DTSTART moved to {value})"),
    );
    let p = &mut b.props[d];
    p.prop.value = positive;
    p.rewrite();
    let p = &mut b.props[s];
    p.prop.value = value;
    p.rewrite();
}
