//! A CalDAV resource as the store keeps it: split on PUT into the store's objects (one per
//! VEVENT: the master and its overrides) and the rest of the iCalendar object (the
//! VCALENDAR's own properties and VTIMEZONEs before the events, other components such as
//! VTODO after them), and put back together on GET in a fixed order, so that the same stored
//! state always gives the same bytes (and the same ETag).

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::error::{Result, StoreError};
use crate::ical::datetime::format_utc;
use crate::ical::{self, EventComponent, ExpandContext, ParseOptions};
use crate::scheduling::text::{Component, Line, fold_into, unfold};

/// The largest iCalendar object a resource may be, in bytes.
pub const MAX_RESOURCE_SIZE: usize = 4 * 1024 * 1024;
/// The most components one resource may hold.
pub const MAX_COMPONENTS: usize = 1_000;

/// What a PUT body is, once read.
#[derive(Debug, Clone)]
pub struct ParsedResource {
    /// The UID every component shares.
    pub uid: String,
    /// The main component's kind (`VEVENT`, `VTODO`, `VJOURNAL`).
    pub kind: String,
    /// `BEGIN:VCALENDAR`, its properties and the VTIMEZONEs, folded.
    pub head: String,
    /// The components that are not VEVENTs nor VTIMEZONEs, then `END:VCALENDAR`, folded.
    pub tail: String,
    /// The VEVENTs, parsed (each one's text is what the store keeps).
    pub events: Vec<EventComponent>,
    /// The first instant an instance starts at.
    pub first_start: Option<DateTime<Utc>>,
    /// The last instant an instance ends at; `None` when the instances never end (or it is
    /// unknown).
    pub last_end: Option<DateTime<Utc>>,
    /// True when a time-range test needs the instances (a rule or overrides).
    pub recurring: bool,
}

/// Why a body is not a calendar object resource (RFC 4791 §4.1 and the
/// `valid-calendar-data`/`valid-calendar-object-resource` preconditions).
fn invalid(why: impl Into<String>) -> StoreError {
    StoreError::InvalidData(why.into())
}

/// One top-level component of the body, as unfolded lines.
struct Part {
    kind: String,
    lines: Vec<String>,
}

impl Part {
    fn prop(&self, name: &str) -> Option<Line> {
        let mut depth = 0usize;
        for l in self.lines.iter().skip(1) {
            let Some(line) = Line::parse(l) else { continue };
            match line.name.as_str() {
                "BEGIN" => depth += 1,
                "END" => {
                    if depth == 0 {
                        return None;
                    }
                    depth -= 1;
                }
                n if depth == 0 && n == name => return Some(line),
                _ => {}
            }
        }
        None
    }
}

fn component_text(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        fold_into(&mut out, l);
    }
    out
}

/// Reads a PUT body: one VCALENDAR whose components (other than VTIMEZONE) share one UID,
/// VEVENTs read by the store's lenient parser (repairs it makes are kept; a UID it had to
/// derive is refused). `tz` resolves floating times for the span.
pub fn parse_resource(body: &[u8], tz: Tz) -> Result<ParsedResource> {
    parse_resource_inner(body, tz)
}

fn parse_resource_inner(body: &[u8], tz: Tz) -> Result<ParsedResource> {
    if body.len() > MAX_RESOURCE_SIZE {
        return Err(invalid("the calendar object is too large"));
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid("the body is not UTF-8"))?;
    let lines = unfold(text);
    let first = lines.first().and_then(|l| Line::parse(l));
    if !first.is_some_and(|l| l.name == "BEGIN" && l.value.trim().eq_ignore_ascii_case("VCALENDAR"))
    {
        return Err(invalid("the body is not a VCALENDAR"));
    }
    let mut head_props: Vec<String> = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut current: Option<Part> = None;
    let mut depth = 0usize;
    let mut ended = false;
    for l in lines.iter().skip(1) {
        if ended {
            return Err(invalid("content after END:VCALENDAR"));
        }
        let line = Line::parse(l).ok_or_else(|| invalid(format!("unreadable line: {l:.60}")))?;
        match (line.name.as_str(), depth) {
            ("END", 0) => {
                if !line.value.trim().eq_ignore_ascii_case("VCALENDAR") {
                    return Err(invalid("unbalanced END"));
                }
                ended = true;
            }
            ("BEGIN", 0) => {
                let kind = line.value.trim().to_ascii_uppercase();
                if kind == "VCALENDAR" {
                    return Err(invalid("a VCALENDAR inside a VCALENDAR"));
                }
                depth = 1;
                current = Some(Part {
                    kind,
                    lines: vec![l.clone()],
                });
            }
            (_, 0) => head_props.push(l.clone()),
            (name, _) => {
                if let Some(p) = current.as_mut() {
                    p.lines.push(l.clone());
                }
                if name == "BEGIN" {
                    depth += 1;
                    if depth > 32 {
                        return Err(invalid("components nested too deep"));
                    }
                } else if name == "END" {
                    depth -= 1;
                    if depth == 0
                        && let Some(p) = current.take()
                    {
                        if parts.len() >= MAX_COMPONENTS {
                            return Err(invalid("too many components"));
                        }
                        parts.push(p);
                    }
                }
            }
        }
    }
    if !ended {
        return Err(invalid("no END:VCALENDAR"));
    }
    let mut uid: Option<String> = None;
    let mut kind: Option<String> = None;
    let mut head = String::new();
    fold_into(&mut head, "BEGIN:VCALENDAR");
    for p in &head_props {
        fold_into(&mut head, p);
    }
    let mut tail = String::new();
    let mut vevents = 0usize;
    for p in &parts {
        if p.kind == "VTIMEZONE" {
            head.push_str(&component_text(&p.lines));
            continue;
        }
        if matches!(p.kind.as_str(), "VEVENT" | "VTODO" | "VJOURNAL") {
            let this = p
                .prop("UID")
                .map(|l| l.value.trim().to_owned())
                .filter(|u| !u.is_empty())
                .ok_or_else(|| invalid(format!("a {} without UID", p.kind)))?;
            match &uid {
                Some(u) if *u != this => {
                    return Err(invalid("the components of a resource must share one UID"));
                }
                Some(_) => {}
                None => uid = Some(this),
            }
            match &kind {
                Some(k) if *k != p.kind => {
                    return Err(invalid("a resource holds one kind of component"));
                }
                Some(_) => {}
                None => kind = Some(p.kind.clone()),
            }
        }
        if p.kind == "VEVENT" {
            vevents += 1;
        } else {
            tail.push_str(&component_text(&p.lines));
        }
    }
    fold_into(&mut tail, "END:VCALENDAR");
    let uid = uid.ok_or_else(|| invalid("no VEVENT, VTODO or VJOURNAL with a UID"))?;
    let kind = kind.unwrap_or_else(|| "VEVENT".to_owned());
    let mut out = ParsedResource {
        uid,
        kind,
        head,
        tail,
        events: Vec::new(),
        first_start: None,
        last_end: None,
        recurring: false,
    };
    if vevents > 0 {
        let parsed = ical::parse_calendar(body, &ParseOptions::default())
            .map_err(|e| invalid(format!("invalid calendar data: {}", e.0)))?;
        if parsed.events.len() != vevents {
            return Err(invalid(format!(
                "invalid calendar data: {} of {} VEVENTs could be read",
                parsed.events.len(),
                vevents
            )));
        }
        if parsed.events.iter().any(|e| e.uid != out.uid) {
            return Err(invalid("the components of a resource must share one UID"));
        }
        out.events = parsed.events;
        event_span(&mut out, tz)?;
    } else {
        todo_span(&mut out, &parts, tz);
    }
    Ok(out)
}

/// The span of a VEVENT resource: its first start and last end (none if it never ends).
fn event_span(r: &mut ParsedResource, tz: Tz) -> Result<()> {
    let mut first: Option<DateTime<Utc>> = None;
    let mut last: Option<DateTime<Utc>> = None;
    let mut open = false;
    r.recurring = r.events.len() > 1;
    for e in &r.events {
        let recurring_parent = e.recurrence_id().is_none() && e.is_recurring();
        if recurring_parent {
            r.recurring = true;
        }
        if e.this_and_future {
            // It may move later instances anywhere: no upper bound.
            open = true;
        }
        if recurring_parent && e.is_open_ended() {
            open = true;
            let start = e.start_instant(tz);
            first = Some(first.map_or(start, |f| f.min(start)));
            continue;
        }
        let ctx = ExpandContext::new(tz, DateTime::<Utc>::MAX_UTC - TimeDelta::days(2));
        let x = e
            .instances(&ctx)
            .map_err(|err| invalid(format!("invalid calendar data: {}", err.0)))?;
        for i in &x.instances {
            first = Some(first.map_or(i.start, |f| f.min(i.start)));
            last = Some(last.map_or(i.end, |l| l.max(i.end)));
        }
        if x.truncated {
            open = true;
        }
    }
    r.first_start = first;
    r.last_end = if open { None } else { last };
    Ok(())
}

/// The span of a VTODO or VJOURNAL resource (RFC 4791 §9.9), approximately: from the
/// earliest to the latest of its dates; open when it recurs; unbounded when it has none.
fn todo_span(r: &mut ParsedResource, parts: &[Part], tz: Tz) {
    let mut first: Option<DateTime<Utc>> = None;
    let mut last: Option<DateTime<Utc>> = None;
    let mut open = false;
    let mut dated = false;
    for p in parts
        .iter()
        .filter(|p| matches!(p.kind.as_str(), "VTODO" | "VJOURNAL"))
    {
        if p.prop("RRULE").is_some() || p.prop("RDATE").is_some() {
            open = true;
            r.recurring = true;
        }
        for name in ["DTSTART", "DUE", "COMPLETED", "CREATED"] {
            if let Some(t) = p.prop(name).and_then(|l| line_instant(&l, tz)) {
                dated = true;
                first = Some(first.map_or(t, |f| f.min(t)));
                let end = if p.kind == "VJOURNAL" || name == "DTSTART" {
                    t + TimeDelta::days(1)
                } else {
                    t
                };
                last = Some(last.map_or(end, |l| l.max(end)));
            }
        }
    }
    if dated {
        r.first_start = first;
        r.last_end = if open { None } else { last };
    }
}

/// The instant of a DATE or DATE-TIME property (its TZID an IANA zone, else `tz`).
pub(crate) fn line_instant(l: &Line, tz: Tz) -> Option<DateTime<Utc>> {
    let zone = l
        .param("TZID")
        .and_then(|z| z.trim_start_matches('/').parse::<Tz>().ok())
        .unwrap_or(tz);
    let v = l.value.trim();
    if let Some(utc) = v.strip_suffix('Z') {
        return chrono::NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .ok()
            .map(|n| n.and_utc());
    }
    let naive = chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Some(ical::resolve_local(naive, zone))
}

/// The iCalendar object of a resource: `head` (or a plain VCALENDAR header), the events
/// (store-only `X-CALSTORE-` properties taken out; the VTIMEZONEs they carried added to the
/// header when it lacks them), then `tail`.
pub fn assemble(head: Option<&str>, tail: Option<&str>, events: &[&str]) -> String {
    let mut zones: Vec<String> = Vec::new();
    let mut bodies: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if e.contains("X-CALSTORE-") {
            match Component::parse(e) {
                Some(mut c) => {
                    zones.extend(c.take_store_properties());
                    bodies.push(c.to_text());
                }
                None => bodies.push((*e).to_owned()),
            }
        } else {
            bodies.push((*e).to_owned());
        }
    }
    let mut out = String::new();
    match head {
        Some(h) => out.push_str(h),
        None => {
            for l in [
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//calstore//calstore//EN",
            ] {
                fold_into(&mut out, l);
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for z in zones {
        let id = z
            .split('\n')
            .filter_map(Line::parse)
            .find(|l| l.name == "TZID")
            .map(|l| l.value.trim().to_owned())
            .unwrap_or_default();
        if seen.contains(&id) || out.contains(&format!("\r\nTZID:{id}\r\n")) {
            continue;
        }
        seen.push(id);
        for l in z.split('\n').map(|l| l.trim_end_matches('\r')) {
            if !l.is_empty() {
                fold_into(&mut out, l);
            }
        }
    }
    for b in bodies {
        out.push_str(&b);
    }
    match tail {
        Some(t) => out.push_str(t),
        None => fold_into(&mut out, "END:VCALENDAR"),
    }
    out
}

/// The ETag of a resource's bytes: a quoted BLAKE2s digest (128 bits).
pub fn etag(text: &str) -> String {
    use blake2::Digest as _;
    let digest = blake2::Blake2s256::digest(text.as_bytes());
    let mut out = String::with_capacity(34);
    out.push('"');
    for b in digest.iter().take(16) {
        out.push_str(&format!("{b:02x}"));
    }
    out.push('"');
    out
}

/// Whether a stored object (master and overrides, as texts) has an instance overlapping
/// `[from, to)` (RFC 4791 §9.9), expanding its recurrences in `tz`.
pub fn overlaps(
    parent: Option<&str>,
    overrides: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
) -> Result<bool> {
    let hit = |s: DateTime<Utc>, e: DateTime<Utc>| {
        if s == e {
            s >= from && s < to
        } else {
            s < to && e > from
        }
    };
    let ctx = ExpandContext::new(tz, to);
    let mut replaced = Vec::new();
    for o in overrides {
        let Some(e) = parse_one(o)? else { continue };
        if let Some(rid) = e.recurrence_id() {
            replaced.push(ical::recurrence_id_point(&rid, tz).map_err(|x| invalid(x.0))?);
        }
        if e.status.as_deref().is_none_or(|s| s != "CANCELLED") {
            for i in e.instances(&ctx).map_err(|x| invalid(x.0))?.instances {
                if hit(i.start, i.end) {
                    return Ok(true);
                }
            }
        }
    }
    if let Some(p) = parent
        && let Some(e) = parse_one(p)?
    {
        // Instances ending before `from` are skipped without being counted.
        let x = e
            .instances_from(&ctx, from - TimeDelta::seconds(1))
            .map_err(|x| invalid(x.0))?;
        for i in x.instances {
            if !replaced.contains(&i.recurrence_point) && hit(i.start, i.end) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The object with its recurrences expanded over `[from, to)` (RFC 4791 §9.6.5): one
/// VEVENT per instance in the range, with a RECURRENCE-ID and no rule, times in UTC (dates
/// stay dates); overrides in the range as they are.
pub fn expand(text: &str, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Result<String> {
    let parsed = parse_resource(text.as_bytes(), tz)?;
    if parsed.events.is_empty() {
        return Ok(text.to_owned());
    }
    let hit = |s: DateTime<Utc>, e: DateTime<Utc>| {
        if s == e {
            s >= from && s < to
        } else {
            s < to && e > from
        }
    };
    let ctx = ExpandContext::new(tz, to);
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calstore//calstore//EN",
    ] {
        fold_into(&mut out, l);
    }
    let mut replaced = Vec::new();
    for e in parsed.events.iter().filter(|e| e.recurrence_id().is_some()) {
        if let Some(rid) = e.recurrence_id() {
            replaced.push(ical::recurrence_id_point(&rid, tz).map_err(|x| invalid(x.0))?);
        }
        let x = e.instances(&ctx).map_err(|x| invalid(x.0))?;
        if x.instances.iter().any(|i| hit(i.start, i.end))
            && let Some(mut c) = Component::parse(&e.text)
        {
            let _ = c.take_store_properties();
            out.push_str(&c.to_text());
        }
    }
    for e in parsed.events.iter().filter(|e| e.recurrence_id().is_none()) {
        let Some(mut base) = Component::parse(&e.text) else {
            continue;
        };
        let _ = base.take_store_properties();
        let date = base.first("DTSTART").is_some_and(|l| {
            l.param("VALUE")
                .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
                || l.value.trim().len() == 8
        });
        let has_dtend = base.first("DTEND").is_some();
        for n in ["RRULE", "RDATE", "EXDATE", "EXRULE"] {
            base.remove(n);
        }
        let x = e
            .instances_from(&ctx, from - TimeDelta::seconds(1))
            .map_err(|x| invalid(x.0))?;
        for i in x.instances {
            if replaced.contains(&i.recurrence_point) || !hit(i.start, i.end) {
                continue;
            }
            let mut c = base.clone();
            let value = |t: DateTime<Utc>| {
                if date {
                    t.format("%Y%m%d").to_string()
                } else {
                    format_utc(t)
                }
            };
            let line = |name: &str, t: DateTime<Utc>| {
                let mut l = Line::new(name, value(t));
                if date {
                    l.params.push(("VALUE".to_owned(), "DATE".to_owned()));
                }
                l
            };
            c.set(line("DTSTART", i.start));
            if has_dtend {
                c.set(line("DTEND", i.end));
            }
            if e.is_recurring() {
                c.set(line("RECURRENCE-ID", i.recurrence_point));
            }
            out.push_str(&c.to_text());
        }
    }
    out.push_str(&parsed.tail);
    Ok(out)
}

fn parse_one(text: &str) -> Result<Option<EventComponent>> {
    Ok(ical::parse_events(text.as_bytes())
        .map_err(|e| invalid(format!("stored object: {}", e.0)))?
        .into_iter()
        .next())
}

/// UTC text of an optional instant, for the span columns.
pub(crate) fn opt_utc(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(format_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:x\r\n\
BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260105T100000\r\n\
DTEND;TZID=Europe/Berlin:20260105T110000\r\nRRULE:FREQ=WEEKLY\r\nGEO:37.386013;-122.082932\r\n\
X-FOO;X-P=1:bar\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\n\
END:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\n\
RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000\r\nDTSTART;TZID=Europe/Berlin:20260112T113000\r\n\
DTEND;TZID=Europe/Berlin:20260112T123000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn split_and_assemble_keep_everything() {
        let r = parse_resource(BODY.as_bytes(), Tz::UTC).unwrap();
        assert_eq!(r.uid, "u1");
        assert_eq!(r.events.len(), 2);
        assert!(r.recurring);
        assert!(r.last_end.is_none());
        assert_eq!(format_utc(r.first_start.unwrap()), "20260105T090000Z");
        let texts: Vec<&str> = r.events.iter().map(|e| e.text.as_str()).collect();
        let out = assemble(Some(&r.head), Some(&r.tail), &texts);
        for needle in [
            "X-WR-CALNAME:x",
            "GEO:37.386013;-122.082932",
            "X-FOO;X-P=1:bar",
            "BEGIN:VALARM",
            "TZID:Europe/Berlin",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000",
        ] {
            assert!(out.contains(needle), "{needle} missing from {out}");
        }
        assert!(!out.contains("X-CALSTORE"));
        // Stable: splitting what was assembled gives the same bytes again.
        let again = parse_resource(out.as_bytes(), Tz::UTC).unwrap();
        let texts2: Vec<&str> = again.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(assemble(Some(&again.head), Some(&again.tail), &texts2), out);
        assert_eq!(etag(&out), etag(&out.clone()));
    }

    #[test]
    fn time_ranges_follow_the_overrides() {
        let r = parse_resource(BODY.as_bytes(), Tz::UTC).unwrap();
        let parent = r
            .events
            .iter()
            .find(|e| e.recurrence_id().is_none())
            .unwrap();
        let over = r
            .events
            .iter()
            .find(|e| e.recurrence_id().is_some())
            .unwrap();
        let t = |s: &str| crate::ical::parse_utc(s).unwrap();
        let yes = |a, b| overlaps(Some(&parent.text), &[&over.text], t(a), t(b), Tz::UTC).unwrap();
        assert!(yes("20260105T000000Z", "20260106T000000Z"));
        // The moved instance: 10:30-11:30 UTC, not 09:00.
        assert!(!yes("20260112T090000Z", "20260112T100000Z"));
        assert!(yes("20260112T103000Z", "20260112T110000Z"));
        assert!(yes("20270104T090000Z", "20270104T093000Z"));
        assert!(!yes("20251201T000000Z", "20260105T085900Z"));
    }

    #[test]
    fn bad_bodies_are_refused() {
        for b in [
            "",
            "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
            "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\n",
        ] {
            assert!(parse_resource(b.as_bytes(), Tz::UTC).is_err(), "{b}");
        }
        let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t\r\nDUE:20260101T000000Z\r\n\
                    END:VTODO\r\nEND:VCALENDAR\r\n";
        let r = parse_resource(todo.as_bytes(), Tz::UTC).unwrap();
        assert_eq!(r.kind, "VTODO");
        assert!(r.events.is_empty());
        assert_eq!(assemble(Some(&r.head), Some(&r.tail), &[]), todo);
    }
}
