//! Output formatting shared by every command: periods as a table, JSON or a VFREEBUSY (one
//! function for all three), aligned tables, lists and quota decisions.

use std::io::{self, Write};

use calstore_core::ical::datetime::format_utc;
use calstore_core::journal::describe_seconds;
use calstore_core::{DeclineReason, Period, QuotaDecision, publish};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::args::Format;

/// One period to print, with the value of the listing's extra column (an offer's expiry, an
/// entry's attendee).
#[derive(Debug)]
pub struct PeriodLine<'a> {
    /// The period.
    pub period: &'a Period,
    /// The extra column's value.
    pub extra: Option<String>,
}

impl<'a> PeriodLine<'a> {
    /// A period without extra value.
    pub fn plain(period: &'a Period) -> Self {
        PeriodLine {
            period,
            extra: None,
        }
    }
}

/// What a listing of periods is about.
#[derive(Debug)]
pub struct PeriodListing<'a> {
    /// Whose periods these are (the VFREEBUSY's ORGANIZER).
    pub owner: &'a str,
    /// The name of the extra column (JSON key), if the listing has one.
    pub extra: Option<&'static str>,
    /// The queried range (the VFREEBUSY's DTSTART/DTEND), if any.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// DTSTAMP of a VFREEBUSY.
    pub now: DateTime<Utc>,
    /// The zone a table shows times in.
    pub tz: Tz,
}

/// Prints periods in `format`: the one renderer for free/busy, others' free/busy, offers and
/// quota entries.
pub fn write_periods(
    out: &mut dyn Write,
    format: Format,
    lines: &[PeriodLine<'_>],
    listing: &PeriodListing<'_>,
) -> io::Result<()> {
    match format {
        Format::Json => write_json(out, lines, listing),
        Format::Ics => {
            let periods: Vec<Period> = lines.iter().map(|l| l.period.clone()).collect();
            out.write_all(
                publish::vfreebusy(listing.owner, &periods, listing.now, listing.range).as_bytes(),
            )
        }
        Format::Table => write_period_table(out, lines, listing),
    }
}

fn json_str(value: Option<&str>) -> String {
    value.map_or_else(
        || "null".to_owned(),
        |s| serde_json::Value::from(s).to_string(),
    )
}

fn write_json(
    out: &mut dyn Write,
    lines: &[PeriodLine<'_>],
    listing: &PeriodListing<'_>,
) -> io::Result<()> {
    if lines.is_empty() {
        return writeln!(out, "[]");
    }
    writeln!(out, "[")?;
    for (i, line) in lines.iter().enumerate() {
        let p = line.period;
        let mut fields = vec![
            ("start", json_str(Some(&format_utc(p.start)))),
            ("end", json_str(Some(&format_utc(p.end)))),
            ("uid", json_str(p.uid.as_deref())),
            ("recurrenceid", json_str(p.recurrenceid.as_deref())),
            ("transp", json_str(p.transp.as_deref())),
            ("summary", json_str(p.summary.as_deref())),
            ("organiser", json_str(p.organiser.as_deref())),
        ];
        if let Some(name) = listing.extra {
            fields.push((name, json_str(line.extra.as_deref())));
        }
        let body = fields
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let comma = if i + 1 < lines.len() { "," } else { "" };
        writeln!(out, "  {{{body}}}{comma}")?;
    }
    writeln!(out, "]")
}

/// A local time as `Mon 2026-11-23 09:00` (seconds only when not zero).
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    if local.format("%S").to_string() == "00" {
        local.format("%a %Y-%m-%d %H:%M").to_string()
    } else {
        local.format("%a %Y-%m-%d %H:%M:%S").to_string()
    }
}

/// The end of a period: only the time when it is on the start's day.
pub fn local_end(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let full = local_time(end, tz);
    if start.with_timezone(&tz).date_naive() == end.with_timezone(&tz).date_naive() {
        full.rsplit(' ').next().unwrap_or(&full).to_owned()
    } else {
        full
    }
}

/// Makes a value fit one table cell: control characters become spaces, long values are cut.
pub fn cell(value: Option<&str>, max_chars: usize) -> String {
    let Some(v) = value else {
        return "-".to_owned();
    };
    let clean: String = v
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() > max_chars {
        let mut cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        clean
    }
}

fn write_period_table(
    out: &mut dyn Write,
    lines: &[PeriodLine<'_>],
    listing: &PeriodListing<'_>,
) -> io::Result<()> {
    if lines.is_empty() {
        return writeln!(out, "(no periods)");
    }
    let zone = listing.tz.name();
    let start_header = format!("START ({zone})");
    let extra_header = listing.extra.map(str::to_uppercase);
    let mut headers = vec![
        start_header.as_str(),
        "END",
        "TRANSP",
        "SUMMARY",
        "UID",
        "RECURRENCE-ID",
        "ORGANISER",
    ];
    if let Some(h) = &extra_header {
        headers.push(h);
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            let p = line.period;
            let mut row = vec![
                local_time(p.start, listing.tz),
                local_end(p.start, p.end, listing.tz),
                cell(p.transp.as_deref(), 12),
                cell(p.summary.as_deref(), 32),
                cell(p.uid.as_deref(), 40),
                cell(p.recurrenceid.as_deref(), 20),
                cell(p.organiser.as_deref(), 40),
            ];
            if listing.extra.is_some() {
                row.push(cell(line.extra.as_deref(), 40));
            }
            row
        })
        .collect();
    write_table(out, &headers, &rows)
}

/// Prints an aligned table: a header row, then the rows; the last column is not padded.
pub fn write_table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat_n(
                    ' ',
                    w.saturating_sub(c.chars().count()),
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Prints one item per line, the fields tab-separated, `-` for a missing field.
pub fn write_list(out: &mut dyn Write, rows: &[Vec<Option<&str>>]) -> io::Result<()> {
    for row in rows {
        let fields: Vec<&str> = row.iter().map(|f| f.unwrap_or("-")).collect();
        writeln!(out, "{}", fields.join("\t"))?;
    }
    Ok(())
}

/// Prints a JSON value, pretty, with a final newline.
pub fn write_json_value(out: &mut dyn Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// A quota decision as JSON, the JS API's `checkQuota`/`reserve` shape `{decision, reason,
/// message, group, requested, usage, limit}` (durations in seconds) plus `quota` and, for a
/// reservation, `recorded: {attendee, entries}` (`null` when nothing was recorded), which the
/// caller adds.
pub fn decision_json(quota: &str, decision: &QuotaDecision, requested: i64) -> serde_json::Value {
    use serde_json::{Value, json};
    let (name, group, reason) = match decision {
        QuotaDecision::Accepted { group } => ("ACCEPTED", group, None),
        QuotaDecision::Declined { group, reason } => ("DECLINED", group, Some(reason)),
    };
    let (reason_name, usage, limit, requested) = match reason {
        None => (Value::Null, Value::Null, Value::Null, requested),
        Some(DeclineReason::NoAllocation) => {
            ("NoAllocation".into(), Value::Null, Value::Null, requested)
        }
        Some(DeclineReason::OpenEnded) => ("OpenEnded".into(), Value::Null, Value::Null, requested),
        Some(DeclineReason::Exceeded {
            limit,
            usage,
            requested,
        }) => ("Exceeded".into(), json!(usage), json!(limit), *requested),
    };
    let v = json!({
        "decision": name,
        "reason": reason_name,
        "message": reason.map(DeclineReason::message),
        "quota": quota,
        "group": group,
        "requested": requested,
        "usage": usage,
        "limit": limit,
    });
    v
}

/// Prints a quota decision: `ACCEPTED` or `DECLINED: <reason>`, then the group and the
/// durations involved.
pub fn write_decision(
    out: &mut dyn Write,
    quota: &str,
    decision: &QuotaDecision,
    requested: i64,
) -> io::Result<()> {
    let (group, reason) = match decision {
        QuotaDecision::Accepted { group } => {
            writeln!(out, "ACCEPTED")?;
            (group, None)
        }
        QuotaDecision::Declined { group, reason } => {
            writeln!(out, "DECLINED: {}", reason.message())?;
            (group, Some(reason))
        }
    };
    writeln!(out, "  quota:     {quota}")?;
    writeln!(out, "  group:     {group}")?;
    match reason {
        Some(DeclineReason::Exceeded {
            limit,
            usage,
            requested,
        }) => {
            writeln!(out, "  requested: {}", describe_seconds(*requested))?;
            writeln!(out, "  usage:     {}", describe_seconds(*usage))?;
            writeln!(out, "  limit:     {}", describe_seconds(*limit))?;
            writeln!(
                out,
                "  left:      {}",
                describe_seconds(limit.saturating_sub(*usage).max(0))
            )
        }
        Some(DeclineReason::OpenEnded) => writeln!(out, "  requested: (recurs without end)"),
        _ => writeln!(out, "  requested: {}", describe_seconds(requested)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn period() -> Period {
        let t = |h| Utc.with_ymd_and_hms(2014, 10, 10, h, 0, 0).unwrap();
        let mut p = Period::new(t(14), t(15));
        p.uid = Some("event1@example.com".into());
        p.summary = Some("Say \"hi\"\nnow".into());
        p
    }

    fn listing() -> PeriodListing<'static> {
        PeriodListing {
            owner: "mailto:r@example.com",
            extra: None,
            range: None,
            now: Utc.with_ymd_and_hms(2014, 10, 1, 0, 0, 0).unwrap(),
            tz: Tz::Europe__Oslo,
        }
    }

    #[test]
    fn json_escapes_and_nulls() {
        let p = period();
        let mut out = Vec::new();
        write_periods(&mut out, Format::Json, &[PeriodLine::plain(&p)], &listing()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["start"], "20141010T140000Z");
        assert_eq!(v[0]["summary"], "Say \"hi\"\nnow");
        assert!(v[0]["transp"].is_null());
    }

    #[test]
    fn table_in_zone() {
        let p = period();
        let mut out = Vec::new();
        write_periods(
            &mut out,
            Format::Table,
            &[PeriodLine::plain(&p)],
            &listing(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("START (Europe/Oslo)"), "{text}");
        assert!(text.contains("Fri 2014-10-10 16:00  17:00"), "{text}");
        assert!(text.contains("Say \"hi\" now"), "{text}");
    }

    #[test]
    fn cells_are_cut() {
        assert_eq!(cell(Some("abcdef"), 4), "abc…");
        assert_eq!(cell(None, 4), "-");
    }
}
