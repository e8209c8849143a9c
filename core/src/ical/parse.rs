//! Component building: the structure of BEGIN/END lines, VTIMEZONE scopes, and VEVENT
//! validation. Content lines come from `lex`; what the lenient reading repairs is decided in
//! `repair`, through [`Notes`] (which in strict mode turns every problem into today's error).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono_tz::Tz;

use super::datetime::{IcalTime, ValueKind, parse_ical_time};
use super::duration::parse_dur;
use super::lex::{
    self, LENIENT_MAX_LINE_LEN, Line, MAX_LINE_LEN, Property, escape_text, fold_into,
    parse_content_line, unescape_text,
};
use super::repair::{self, Notes, ParseOptions, ParsedCalendar};
use super::rrule::Rule;
use super::zone::{self, CustomZone, ObservanceDef, Zone, ZoneProp};
use super::{
    Attendee, EndSpec, EventComponent, IcalError, MAX_COMPONENT_LEN, MAX_UID_LEN, PeriodEnd, RDate,
    show,
};

/// The property that carries, inside a stored VEVENT, a VTIMEZONE the event uses (see
/// [`super::zone`]).
pub(crate) const ZONE_PROPERTY: &str = "X-CALSTORE-VTIMEZONE";

/// Deepest component nesting accepted (deeper is refused in both modes: runaway nesting is
/// not a calendar).
const MAX_DEPTH: usize = 32;

/// A VTIMEZONE component as read, not yet built into a zone (most are never used: a TZID that
/// is an IANA name does not look at them).
#[derive(Debug, Clone)]
pub(super) struct ZoneDef {
    tzid: String,
    /// Content lines (unfolded), BEGIN:VTIMEZONE to END:VTIMEZONE, joined by `\n`.
    text: String,
    /// Line of BEGIN:VTIMEZONE.
    line: usize,
    observances: Vec<ObservanceDef>,
    /// A content line of the component could not be parsed.
    broken: Option<String>,
}

/// The VTIMEZONEs of each scope: index 0 holds those outside any VCALENDAR, index `n` those of
/// the `n`th VCALENDAR. The first definition of a TZID in a scope wins.
type ZoneScopes = Vec<HashMap<String, ZoneDef>>;

/// A VTIMEZONE being collected.
#[derive(Debug)]
struct ZoneCollector {
    def: ZoneDef,
    lines: Vec<String>,
    /// Nesting depth inside the VTIMEZONE (1 for its own properties).
    depth: usize,
}

impl ZoneCollector {
    fn new(line: &Line) -> Self {
        ZoneCollector {
            def: ZoneDef {
                tzid: String::new(),
                text: String::new(),
                line: line.number,
                observances: Vec::new(),
                broken: None,
            },
            lines: vec![line.text.clone()],
            depth: 1,
        }
    }

    /// Takes the next line; returns the definition once END:VTIMEZONE is reached.
    fn push(&mut self, line: &Line) -> Option<ZoneDef> {
        self.lines.push(line.text.clone());
        let prop = match parse_content_line(line) {
            Ok(p) => p,
            Err(e) => {
                self.def.broken.get_or_insert(e.0);
                return None;
            }
        };
        match prop.name.as_str() {
            "BEGIN" => {
                let name = prop.value.trim().to_ascii_uppercase();
                if self.depth == 1 && (name == "STANDARD" || name == "DAYLIGHT") {
                    self.def.observances.push(ObservanceDef {
                        kind: name,
                        line: line.number,
                        props: Vec::new(),
                    });
                }
                self.depth += 1;
            }
            "END" => {
                self.depth -= 1;
                if self.depth == 0 {
                    let mut def = self.def.clone();
                    def.text = self.lines.join("\n");
                    return Some(def);
                }
            }
            "TZID" if self.depth == 1 && self.def.tzid.is_empty() => {
                self.def.tzid = prop.value.clone();
            }
            _ if self.depth == 2 => {
                if let Some(o) = self.def.observances.last_mut() {
                    o.props.push(ZoneProp {
                        value_type: prop.param("VALUE").map(str::to_ascii_uppercase),
                        name: prop.name,
                        value: prop.value,
                        line: line.number,
                    });
                }
            }
            _ => {}
        }
        None
    }
}

/// True if `text` starts with `prefix`, ignoring ASCII case.
fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The component name of a `BEGIN:`/`END:` line, upper-cased (cheaply, without a full parse).
fn begin_end(text: &str) -> Option<(bool, CompName<'_>)> {
    if starts_with_ci(text, "BEGIN:") {
        text.get(6..).map(|n| (true, CompName(n.trim())))
    } else if starts_with_ci(text, "END:") {
        text.get(4..).map(|n| (false, CompName(n.trim())))
    } else {
        None
    }
}

/// A component name as written, compared ignoring ASCII case (without allocating).
#[derive(Debug, Clone, Copy)]
struct CompName<'a>(&'a str);

impl PartialEq<&str> for CompName<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

/// What the first pass over the input finds.
#[derive(Debug, Default)]
pub(super) struct Prescan {
    /// The VTIMEZONEs of each scope.
    zones: ZoneScopes,
    /// The X-WR-TIMEZONE of each scope (Google's zone for floating times).
    x_wr_timezone: Vec<Option<String>>,
    /// UIDs of parents (no RECURRENCE-ID) whose DTSTART is a DATE.
    pub(super) date_parents: HashSet<String>,
}

/// The VEVENT the first pass is in.
#[derive(Debug, Default)]
struct ScanEvent<'a> {
    uid: Option<&'a str>,
    recurrence_id: bool,
    date_start: bool,
}

/// First pass over the input: the VTIMEZONE components and X-WR-TIMEZONE of each scope, and
/// the parents with a DATE DTSTART. Lenient: structural errors are reported by the second
/// pass; a VTIMEZONE that cannot be read is an error only when an event uses it.
fn prescan(lines: &[Line]) -> Prescan {
    let mut out = Prescan {
        zones: vec![HashMap::new()],
        x_wr_timezone: vec![None],
        date_parents: HashSet::new(),
    };
    let mut scope = 0;
    let mut current: Option<ZoneCollector> = None;
    let mut event: Option<ScanEvent> = None;
    for line in lines {
        if let Some(c) = current.as_mut() {
            if let Some(def) = c.push(line) {
                current = None;
                if let Some(map) = out.zones.get_mut(scope) {
                    map.entry(def.tzid.clone()).or_insert(def);
                }
            }
            continue;
        }
        let text = line.text.as_str();
        match begin_end(text) {
            Some((true, name)) if name == "VCALENDAR" => {
                out.zones.push(HashMap::new());
                out.x_wr_timezone.push(None);
                scope = out.zones.len() - 1;
            }
            Some((false, name)) if name == "VCALENDAR" => scope = 0,
            Some((true, name)) if name == "VTIMEZONE" => current = Some(ZoneCollector::new(line)),
            Some((true, name)) if name == "VEVENT" => event = Some(ScanEvent::default()),
            Some((false, name)) if name == "VEVENT" => {
                if let Some(ScanEvent {
                    uid: Some(uid),
                    recurrence_id: false,
                    date_start: true,
                }) = event.take()
                {
                    out.date_parents.insert(uid.to_owned());
                }
            }
            Some(_) => {}
            None => {
                // Only a few properties matter here, read without a full parse.
                let Some(e) = event.as_mut() else {
                    if scope > 0
                        && let Some(value) = simple_value(text, "X-WR-TIMEZONE")
                        && let Some(slot) = out.x_wr_timezone.get_mut(scope)
                    {
                        slot.get_or_insert_with(|| value.trim().to_owned());
                    }
                    continue;
                };
                if let Some(value) = simple_value(text, "UID") {
                    e.uid = Some(value);
                } else if name_is(text, "RECURRENCE-ID") {
                    e.recurrence_id = true;
                } else if name_is(text, "DTSTART") {
                    let params = text.get(7..).unwrap_or_default();
                    let value = params.rsplit(':').next().unwrap_or_default();
                    e.date_start = value.trim().len() == 8
                        || params
                            .split([';', ':'])
                            .any(|p| p.eq_ignore_ascii_case("VALUE=DATE"));
                }
            }
        }
    }
    out
}

/// True if the content line `text` is a property `name` (followed by `;` or `:`).
fn name_is(text: &str, name: &str) -> bool {
    starts_with_ci(text, name) && matches!(text.as_bytes().get(name.len()), Some(b';' | b':'))
}

/// The value of a content line of property `name` without parameters (`NAME:value`).
fn simple_value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    if starts_with_ci(text, name) && text.as_bytes().get(name.len()) == Some(&b':') {
        text.get(name.len() + 1..)
    } else {
        None
    }
}

/// The VTIMEZONE components of each scope (see [`prescan`]).
fn collect_zones(lines: &[Line]) -> ZoneScopes {
    prescan(lines).zones
}

/// Custom zones built so far, by definition text (the same VTIMEZONE repeated in every
/// VCALENDAR of a large import is built once).
#[derive(Debug, Default)]
pub(super) struct ZoneCache {
    built: HashMap<String, Result<Arc<CustomZone>, IcalError>>,
}

impl ZoneCache {
    fn build(&mut self, def: &ZoneDef) -> Result<Arc<CustomZone>, IcalError> {
        if let Some(hit) = self.built.get(&def.text) {
            return hit.clone();
        }
        let result = match &def.broken {
            Some(why) => Err(IcalError(format!(
                "VTIMEZONE {} at line {}: {why}",
                show(&def.tzid),
                def.line
            ))),
            None => CustomZone::build(&def.tzid, def.text.clone(), &def.observances, def.line)
                .map(Arc::new),
        };
        self.built.insert(def.text.clone(), result.clone());
        result
    }
}

/// Resolves the TZIDs of one VEVENT and remembers which custom zones it used.
pub(super) struct TzidResolver<'a> {
    cache: &'a mut ZoneCache,
    /// VTIMEZONEs carried by the VEVENT itself ([`ZONE_PROPERTY`]).
    own: HashMap<String, ZoneDef>,
    /// VTIMEZONEs of the VEVENT's scope.
    scope: Option<&'a HashMap<String, ZoneDef>>,
    /// Custom zones used, and whether the VEVENT carries them already.
    used: Vec<(Arc<CustomZone>, bool)>,
    resolved: HashMap<String, Zone>,
}

impl TzidResolver<'_> {
    pub(super) fn zone(&mut self, name: &str) -> Result<Zone, IcalError> {
        if let Some(z) = self.resolved.get(name) {
            return Ok(z.clone());
        }
        let mut used = None;
        let zone = zone::lookup(name, &mut |tzid| {
            let (def, own) = match self.own.get(tzid) {
                Some(def) => (def, true),
                None => (self.scope?.get(tzid)?, false),
            };
            Some(self.cache.build(def).map(|z| {
                used = Some((Arc::clone(&z), own));
                Zone::Custom(z)
            }))
        })?;
        if let Some((z, own)) = used
            && !self.used.iter().any(|(u, _)| u.text == z.text)
        {
            self.used.push((z, own));
        }
        self.resolved.insert(name.to_owned(), zone.clone());
        Ok(zone)
    }
}

/// Reads the VTIMEZONE held in a [`ZONE_PROPERTY`] value.
fn zone_from_property(p: &Property) -> Result<ZoneDef, IcalError> {
    let text = unescape_text(&p.value);
    let lines: Vec<Line> = text
        .split('\n')
        .map(|l| Line {
            number: p.line,
            text: l.trim_end_matches('\r').to_owned(),
        })
        .filter(|l| !l.text.is_empty())
        .collect();
    collect_zones(&lines)
        .into_iter()
        .flat_map(HashMap::into_values)
        .next()
        .ok_or_else(|| p.error("holds no VTIMEZONE component"))
}

/// A content line of a VEVENT's own (not of a nested component).
#[derive(Debug)]
pub(super) struct OwnProp {
    pub(super) prop: Property,
    /// The content line as it will be stored (unfolded).
    pub(super) text: String,
    /// Dropped by a repair.
    pub(super) removed: bool,
}

impl OwnProp {
    /// Writes the (changed) property back into its content line.
    pub(super) fn rewrite(&mut self) {
        self.text = self.prop.to_line();
    }
}

/// A line of a VEVENT, in order.
#[derive(Debug)]
pub(super) enum Item {
    /// The VEVENT's own property, by index in [`EventBuilder::props`].
    Own(usize),
    /// A line of a nested component (VALARM, ...), or an added line.
    Nested(String),
}

/// A VEVENT being read.
#[derive(Debug)]
pub(super) struct EventBuilder {
    /// Line of BEGIN:VEVENT.
    pub(super) line: usize,
    /// Nesting depth at which the VEVENT's own properties sit.
    depth: usize,
    /// Its VCALENDAR (0: outside any).
    scope: usize,
    /// Content lines (unfolded) between BEGIN:VEVENT and END:VEVENT.
    pub(super) items: Vec<Item>,
    /// Sum of the lengths of the lines, to give up early on huge components.
    len: usize,
    /// Leniently: the VEVENT grew past [`MAX_COMPONENT_LEN`] and will be skipped.
    too_long: bool,
    pub(super) props: Vec<OwnProp>,
    /// Where this event's notes start in [`Notes`] (they get its UID when it is finished).
    notes_from: usize,
}

/// The upper-cased component name of a BEGIN or END line.
fn component_name(prop: &Property) -> Result<String, IcalError> {
    let name = prop.value.trim_end();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(prop.error(format!("invalid component name {}", show(&prop.value))));
    }
    Ok(name.to_ascii_uppercase())
}

/// The second pass: components as BEGIN/END lines open and close them.
struct Walker {
    prescan: Prescan,
    cache: ZoneCache,
    notes: Notes,
    /// The scope of the components being read: 0 outside any VCALENDAR, else the VCALENDAR's
    /// number (as in [`prescan`]).
    scope: usize,
    calendars: usize,
    /// Open components: name and line of BEGIN.
    stack: Vec<(String, usize)>,
    events: Vec<EventComponent>,
    current: Option<EventBuilder>,
}

/// Parses iCalendar bytes (a VCALENDAR stream, possibly several VCALENDARs concatenated, or
/// bare VEVENTs) into its VEVENT components, in input order, with strict RFC 5545 checks: the
/// first problem is an error and nothing is returned.
///
/// * Non-UTF-8 input is an error naming the line. Lines are unfolded (CRLF, LF or CR endings,
///   continuation lines starting with a space or tab); blank lines and a UTF-8 byte order mark
///   are ignored. Property and parameter names must be well formed, parameters may be quoted.
/// * BEGIN/END must nest and match; VCALENDAR only at the top, VEVENT only at the top or
///   directly in a VCALENDAR; properties outside any component are errors. Components other
///   than VEVENT and VTIMEZONE (VTODO, VALARM inside a VEVENT, X- components) are skipped, but
///   must nest correctly. A VTIMEZONE defines a zone for the TZIDs of its VCALENDAR (or, outside
///   any VCALENDAR, of the VEVENTs outside any); it is read only when an event uses it, and
///   is then an error if malformed.
/// * Each VEVENT needs exactly one UID (non-empty, at most [`MAX_UID_LEN`] bytes, no control
///   characters) and one valid DTSTART. Dates must exist (year 0001 or later) and times be
///   times of day (leap seconds are rejected). DTEND must be of DTSTART's kind (DATE or
///   DATE-TIME, floating or not) and not before it; DTEND and DURATION exclude each other;
///   DURATION must follow RFC 5545 and not be negative. SEQUENCE must be an integer. UID,
///   DTSTART, DTEND, DURATION, RECURRENCE-ID, SEQUENCE, SUMMARY, ORGANIZER, TRANSP and STATUS
///   may appear only once.
/// * RRULE is validated (FREQ required, known parts only, values in range, no COUNT with
///   UNTIL, the RFC 5545 restrictions on which BYxxx parts go with which FREQ, BYSETPOS only
///   with another BYxxx part; with a DATE DTSTART no sub-daily FREQ and no
///   BYHOUR/BYMINUTE/BYSECOND). Several RRULEs are expanded as their union. EXRULE and RANGE
///   values other than THISANDFUTURE are rejected. RDATE (DATE, DATE-TIME, PERIOD) and EXDATE
///   values are validated.
/// * A TZID names an IANA zone, an embedded VTIMEZONE, a Windows zone or a globally unique
///   `/vendor/Area/City` name, looked up as the `zone` module describes (an IANA name wins over
///   a VTIMEZONE of the same name); anything else is an error. A UTC value (`...Z`) ignores
///   its TZID. Every VTIMEZONE an event uses is copied into its [`EventComponent::text`] as an
///   `X-CALSTORE-VTIMEZONE` property, so that the stored VEVENT parses on its own.
/// * Floating DATE-TIMEs of a VCALENDAR with an `X-WR-TIMEZONE` (Google) are read in that
///   zone (the zone is written into the stored text as their TZID); a DATE-TIME
///   RECURRENCE-ID at midnight of an event whose parent has a DATE DTSTART (Outlook's all-day
///   overrides) names that date. See [`parse_calendar`].
/// * A value longer than [`super::MAX_PROPERTY_VALUE_LEN`] or a VEVENT longer than
///   [`MAX_COMPONENT_LEN`] is rejected.
pub fn parse_events(input: &[u8]) -> Result<Vec<EventComponent>, IcalError> {
    parse_calendar(input, &ParseOptions::strict()).map(|c| c.events)
}

/// Parses iCalendar bytes into VEVENT components, strictly (as [`parse_events`], the first
/// problem is an error) or leniently (the default of [`ParseOptions`]): then every problem
/// that mainstream implementations get past is repaired or skipped, and each repair is
/// listed in [`ParsedCalendar::notes`] (line, UID, problem, action). What is repaired and
/// how is decided in `docs/decisions/0007-lenient-import.md`; in short:
///
/// * not UTF-8: decoded as Windows-1252; CR-only line ends; over-long lines dropped;
/// * content lines that cannot be read (no `:`, bad names, a stray continuation) skipped;
///   white space in names removed; an unbalanced quote read as a character;
/// * a property outside any component skipped; a misspelt END (`END:VCALENDARD`) matched to
///   its BEGIN; components left open closed where the structure shows their end (a
///   VEVENT inside a VEVENT, the end of the input); a VEVENT inside another component read;
/// * per VEVENT ([`repair`]): a UID derived from its content when missing; a repeated
///   once-only property keeps its first value; unknown TZIDs read as floating; malformed or
///   empty RRULE, RDATE, EXDATE, DURATION dropped; invalid TRANSP read as OPAQUE; DTEND of
///   another kind than DTSTART, before it, or beside DURATION repaired; an event that still
///   cannot be read (no DTSTART, year 0000, ...) skipped.
///
/// Still refused, with one line, and no events returned: binary data (a NUL byte), input
/// with no BEGIN:VCALENDAR or BEGIN:VEVENT at all (JSON, HTML, an empty file), components
/// nested deeper than 32.
pub fn parse_calendar(input: &[u8], opts: &ParseOptions) -> Result<ParsedCalendar, IcalError> {
    let mut notes = Notes::new(opts);
    let lines = lex::lex(input, LENIENT_MAX_LINE_LEN, &mut notes)?;
    if notes.lenient()
        && !lines
            .iter()
            .any(|l| begin_end(&l.text).is_some_and(|(b, _)| b))
    {
        return Err(IcalError(
            "no iCalendar data (no BEGIN:VCALENDAR or BEGIN:VEVENT line)".to_owned(),
        ));
    }
    let mut walker = Walker {
        prescan: prescan(&lines),
        cache: ZoneCache::default(),
        notes,
        scope: 0,
        calendars: 0,
        stack: Vec::new(),
        events: Vec::new(),
        current: None,
    };
    for line in lines {
        walker.line(line)?;
    }
    walker.end_of_input()?;
    let x_wr_timezone = walker
        .prescan
        .x_wr_timezone
        .iter()
        .flatten()
        .next()
        .cloned();
    let (notes, notes_omitted) = walker.notes.into_parts();
    Ok(ParsedCalendar {
        events: walker.events,
        notes,
        notes_omitted,
        x_wr_timezone,
    })
}

impl Walker {
    fn line(&mut self, mut line: Line) -> Result<(), IcalError> {
        let lenient = self.notes.lenient();
        let (prop, fixes) = match lex::parse_line(&line, lenient) {
            Ok(read) => read,
            Err(e) => {
                let problem = repair::problem_of(&e);
                return self
                    .notes
                    .repair(line.number, problem, "line skipped", || e);
            }
        };
        if fixes.spaces_in_name {
            self.notes.note(
                line.number,
                "white space inside a property or parameter name".to_owned(),
                "white space removed",
            );
        }
        if fixes.unbalanced_quote {
            self.notes.note(
                line.number,
                "a parameter value opens a quote that is never closed".to_owned(),
                "the quote read as an ordinary character",
            );
        }
        if fixes != lex::LineFixes::default() {
            line.text = prop.to_line();
        }
        match prop.name.as_str() {
            "BEGIN" => self.begin(prop, line),
            "END" => self.end(&prop, line),
            _ => {
                if self.stack.is_empty() {
                    let number = line.number;
                    return self.notes.repair(
                        number,
                        format!("{} outside of any component", prop.name),
                        "line skipped",
                        || prop.error("property outside of any component (no BEGIN before it)"),
                    );
                }
                let depth = self.stack.len();
                if let Some(b) = self.current.as_mut() {
                    if depth == b.depth {
                        b.push_prop(prop, line.text, &mut self.notes)?;
                    } else {
                        b.push_line(line.text, &mut self.notes)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn begin(&mut self, prop: Property, line: Line) -> Result<(), IcalError> {
        let comp = match component_name(&prop) {
            Ok(c) => c,
            Err(e) => {
                let problem = repair::problem_of(&e);
                return self
                    .notes
                    .repair(line.number, problem, "line skipped", || e);
            }
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(prop.error(format!("components nested deeper than {MAX_DEPTH}")));
        }
        // The parent's name is copied only when it matters (rare: nesting problems).
        let nested = match (comp.as_str(), self.stack.last()) {
            ("VCALENDAR", Some((p, _))) => Some(p.clone()),
            ("VEVENT", Some((p, _))) if p != "VCALENDAR" => Some(p.clone()),
            _ => None,
        };
        match (comp.as_str(), nested.as_deref()) {
            ("VCALENDAR", Some(parent)) => {
                let why = format!("VCALENDAR cannot be nested (inside {parent})");
                self.notes.repair(
                    line.number,
                    why.clone(),
                    "the open components closed before it",
                    || prop.error(why.clone()),
                )?;
                while !self.stack.is_empty() {
                    self.close_top(line.number)?;
                }
            }
            ("VEVENT", Some(parent)) if parent != "VCALENDAR" => {
                let why = format!("VEVENT cannot be nested inside {parent}");
                if self.current.is_some() {
                    // A VEVENT never contains one: the open VEVENT ended before this line.
                    self.notes.repair(
                        line.number,
                        why.clone(),
                        "the open VEVENT ended before it (missing END:VEVENT)",
                        || prop.error(why.clone()),
                    )?;
                    let depth = self.current.as_ref().map_or(0, |b| b.depth);
                    while self.stack.len() >= depth && !self.stack.is_empty() {
                        self.close_top(line.number)?;
                    }
                } else {
                    self.notes
                        .repair(line.number, why.clone(), "read as an event", || {
                            prop.error(why.clone())
                        })?;
                }
            }
            _ => {}
        }
        self.stack.push((comp.clone(), line.number));
        if comp == "VCALENDAR" {
            self.calendars += 1;
            self.scope = self.calendars;
        }
        if comp == "VEVENT" {
            self.current = Some(EventBuilder {
                line: line.number,
                depth: self.stack.len(),
                scope: self.scope,
                // Room for a typical event, so that it rarely grows.
                items: Vec::with_capacity(16),
                len: 0,
                too_long: false,
                props: Vec::with_capacity(16),
                notes_from: self.notes.mark(),
            });
        } else if let Some(b) = self.current.as_mut() {
            b.push_line(line.text, &mut self.notes)?;
        }
        Ok(())
    }

    fn end(&mut self, prop: &Property, line: Line) -> Result<(), IcalError> {
        let comp = match component_name(prop) {
            Ok(c) => c,
            Err(e) => {
                let problem = repair::problem_of(&e);
                return self
                    .notes
                    .repair(line.number, problem, "line skipped", || e);
            }
        };
        let Some((open, open_line)) = self.stack.last() else {
            return self.notes.repair(
                line.number,
                format!("END:{comp} without a matching BEGIN"),
                "line skipped",
                || prop.error(format!("END:{comp} without a matching BEGIN")),
            );
        };
        if *open != comp {
            let open = open.clone();
            let why = format!("END:{comp} does not match BEGIN:{open} at line {open_line}");
            let deeper = self.stack.iter().rposition(|(n, _)| *n == comp);
            let action = if let Some(at) = deeper {
                format!("the components opened after BEGIN:{comp} closed here").replace(
                    "here",
                    &format!("here ({} missing END)", self.stack.len() - 1 - at),
                )
            } else if repair::misspelt(&comp, &open) {
                format!("read as END:{open}")
            } else {
                "line skipped".to_owned()
            };
            self.notes.repair(line.number, why.clone(), &action, || {
                prop.error(why.clone())
            })?;
            match deeper {
                Some(at) => {
                    while self.stack.len() > at + 1 {
                        self.close_top(line.number)?;
                    }
                }
                None if repair::misspelt(&comp, &open) => {}
                None => return Ok(()),
            }
        }
        self.close_top(line.number)
    }

    /// Closes the innermost open component (its END line is at `number`).
    fn close_top(&mut self, number: usize) -> Result<(), IcalError> {
        let Some((comp, _)) = self.stack.pop() else {
            return Ok(());
        };
        if comp == "VCALENDAR" {
            self.scope = 0;
        }
        let closes_event = comp == "VEVENT"
            && self
                .current
                .as_ref()
                .is_some_and(|b| b.depth == self.stack.len() + 1);
        if closes_event {
            if let Some(b) = self.current.take() {
                self.finish(b)?;
            }
        } else if let Some(b) = self.current.as_mut() {
            let _ = number;
            b.push_line(format!("END:{comp}"), &mut self.notes)?;
        }
        Ok(())
    }

    /// Builds one VEVENT (leniently: repairs it first, and skips it with a note if it still
    /// cannot be read).
    fn finish(&mut self, b: EventBuilder) -> Result<(), IcalError> {
        let lenient = self.notes.lenient();
        let at = b.line;
        let from = b.notes_from;
        if b.too_long {
            let why =
                format!("VEVENT at line {at}: longer than the limit of {MAX_COMPONENT_LEN} bytes");
            self.notes.note(at, why, "event skipped");
            self.notes.assign_uid(from, b.uid());
            return Ok(());
        }
        let x_wr = self.prescan.x_wr_timezone.get(b.scope).cloned().flatten();
        let scope = self.prescan.zones.get(b.scope);
        let result = b.build(
            &mut self.cache,
            scope,
            &repair::EventContext {
                x_wr_timezone: x_wr.as_deref(),
                date_parents: &self.prescan.date_parents,
            },
            &mut self.notes,
        );
        match result {
            Ok(event) => {
                self.notes.assign_uid(from, Some(event.uid.clone()));
                self.events.push(event);
                Ok(())
            }
            Err((e, uid)) if lenient => {
                self.notes.note(at, e.0, "event skipped");
                self.notes.assign_uid(from, uid);
                Ok(())
            }
            Err((e, _)) => Err(e),
        }
    }

    fn end_of_input(&mut self) -> Result<(), IcalError> {
        let Some((open, open_line)) = self.stack.last().cloned() else {
            return Ok(());
        };
        let why = format!("missing END:{open} (BEGIN:{open} at line {open_line} is never closed)");
        if !self.notes.lenient() {
            return Err(IcalError(why));
        }
        // An event still open at the end may be cut off: it is skipped.
        if let Some(b) = self.current.take() {
            self.notes.note(
                b.line,
                "VEVENT never closed (the input may be cut off)".to_owned(),
                "event skipped",
            );
            self.notes.assign_uid(b.notes_from, b.uid());
        }
        self.notes
            .note(open_line, why, "closed at the end of the input");
        self.stack.clear();
        Ok(())
    }
}

impl EventBuilder {
    fn push_line(&mut self, text: String, notes: &mut Notes) -> Result<(), IcalError> {
        self.grow(text.len(), notes)?;
        if !self.too_long {
            self.items.push(Item::Nested(text));
        }
        Ok(())
    }

    fn push_prop(
        &mut self,
        prop: Property,
        text: String,
        notes: &mut Notes,
    ) -> Result<(), IcalError> {
        self.grow(text.len(), notes)?;
        if !self.too_long {
            self.items.push(Item::Own(self.props.len()));
            self.props.push(OwnProp {
                prop,
                text,
                removed: false,
            });
        }
        Ok(())
    }

    fn grow(&mut self, len: usize, notes: &Notes) -> Result<(), IcalError> {
        self.len += len + 2;
        if self.len > MAX_COMPONENT_LEN {
            if !notes.lenient() {
                return Err(IcalError(format!(
                    "VEVENT at line {}: longer than the limit of {MAX_COMPONENT_LEN} bytes",
                    self.line
                )));
            }
            self.too_long = true;
            self.items.clear();
        }
        Ok(())
    }

    /// The UID, if the event has a (first) one.
    pub(super) fn uid(&self) -> Option<String> {
        self.own("UID").map(|p| p.prop.value.clone())
    }

    /// The first live own property of that name.
    pub(super) fn own(&self, name: &str) -> Option<&OwnProp> {
        self.props
            .iter()
            .find(|p| !p.removed && p.prop.name == name)
    }

    /// Applies the rewrites every reading makes, then (leniently) the repairs, then validates
    /// and builds the component. The error comes with the UID, if known.
    fn build(
        mut self,
        cache: &mut ZoneCache,
        scope: Option<&HashMap<String, ZoneDef>>,
        ctx: &repair::EventContext<'_>,
        notes: &mut Notes,
    ) -> Result<EventComponent, (IcalError, Option<String>)> {
        let mut own = HashMap::new();
        for p in self.props.iter().filter(|p| p.prop.name == ZONE_PROPERTY) {
            let def = zone_from_property(&p.prop).map_err(|e| (e, None))?;
            own.entry(def.tzid.clone()).or_insert(def);
        }
        let mut zones = TzidResolver {
            cache,
            own,
            scope,
            used: Vec::new(),
            resolved: HashMap::new(),
        };
        repair::rewrite_event(&mut self, ctx, &mut zones, notes);
        match self.finish(&mut zones) {
            Ok(event) => Ok(event),
            Err(e) if !notes.lenient() => Err((e, None)),
            // Every lenient repair mends what the validation refuses: they run only for an
            // event that fails it (so a valid event costs nothing more), then it is
            // validated again.
            Err(_) => {
                repair::repair_event(&mut self, &mut zones, notes);
                zones.used.clear();
                zones.resolved.clear();
                self.finish(&mut zones).map_err(|e| (e, self.uid()))
            }
        }
    }

    /// Validates the (repaired) properties and builds the component. TZIDs are looked up as
    /// [`super::zone`] describes, `zones` holding the VTIMEZONEs of the VEVENT's VCALENDAR.
    fn finish(&self, zones: &mut TzidResolver<'_>) -> Result<EventComponent, IcalError> {
        let at = self.line;
        let mut uid: Option<String> = None;
        let mut sequence: Option<i64> = None;
        let mut summary: Option<String> = None;
        let mut organizer: Option<String> = None;
        let mut attendees = Vec::new();
        let mut transp: Option<String> = None;
        let mut status: Option<String> = None;
        let mut dtstamp: Option<IcalTime> = None;
        let mut dtstart: Option<(IcalTime, usize)> = None;
        let mut dtend: Option<(IcalTime, usize)> = None;
        let mut duration = None;
        let mut recurrence_id: Option<IcalTime> = None;
        let mut this_and_future = false;
        let mut rrules = Vec::new();
        let mut rdates = Vec::new();
        let mut exdates = Vec::new();

        for p in self.props.iter().filter(|p| !p.removed).map(|p| &p.prop) {
            match p.name.as_str() {
                "UID" => {
                    once(&uid, p)?;
                    uid = Some(check_uid(p)?);
                }
                "SEQUENCE" => {
                    once(&sequence, p)?;
                    let n =
                        p.value.trim().parse::<i64>().map_err(|_| {
                            p.error(format!("{} is not an integer", show(&p.value)))
                        })?;
                    sequence = Some(n);
                }
                "SUMMARY" => {
                    once(&summary, p)?;
                    summary = Some(unescape_text(&p.value));
                }
                "ORGANIZER" => {
                    once(&organizer, p)?;
                    organizer = Some(p.value.clone());
                }
                "ATTENDEE" => attendees.push(Attendee {
                    uri: p.value.clone(),
                    partstat: p.param("PARTSTAT").map(str::to_ascii_uppercase),
                }),
                "TRANSP" => {
                    once(&transp, p)?;
                    transp = Some(p.value.to_ascii_uppercase());
                }
                "STATUS" => {
                    once(&status, p)?;
                    status = Some(p.value.to_ascii_uppercase());
                }
                "DTSTAMP" => dtstamp = parse_ical_time(p.value.trim(), None, None).ok(),
                "DTSTART" => {
                    once(&dtstart, p)?;
                    dtstart = Some((time_property(p, zones)?, p.line));
                }
                "DTEND" => {
                    once(&dtend, p)?;
                    dtend = Some((time_property(p, zones)?, p.line));
                }
                "DURATION" => {
                    once(&duration, p)?;
                    let d = parse_dur(p.value.trim()).map_err(|e| p.error(e.0))?;
                    if d.is_negative() {
                        return Err(p.error(format!(
                            "{} is negative; an event cannot end before it starts",
                            show(&p.value)
                        )));
                    }
                    duration = Some((d, p.line));
                }
                "RECURRENCE-ID" => {
                    once(&recurrence_id, p)?;
                    recurrence_id = Some(time_property(p, zones)?);
                    match p.param("RANGE") {
                        None => {}
                        Some(r) if r.eq_ignore_ascii_case("THISANDFUTURE") => {
                            this_and_future = true;
                        }
                        Some(r) => {
                            return Err(p.error(format!(
                                "RANGE {} is not supported (only THISANDFUTURE)",
                                show(r)
                            )));
                        }
                    }
                }
                "RRULE" => rrules.push(Rule::parse(p.value.trim()).map_err(|e| p.error(e.0))?),
                "EXRULE" => {
                    return Err(p.error("EXRULE is not supported (RFC 5545 removed it)"));
                }
                "RDATE" => rdates.extend(rdate_values(p, zones)?),
                "EXDATE" => exdates.extend(exdate_values(p, zones)?),
                _ => {}
            }
        }

        let Some(uid) = uid else {
            return Err(IcalError(format!("VEVENT at line {at}: no UID")));
        };
        let ctx =
            |why: String| IcalError(format!("VEVENT at line {at} (UID {}): {why}", show(&uid)));
        let Some((dtstart, start_line)) = dtstart else {
            return Err(ctx("no DTSTART".to_owned()));
        };
        let end = match (dtend, duration) {
            (Some((_, l1)), Some((_, l2))) => {
                return Err(ctx(format!(
                    "DTEND (line {l1}) and DURATION (line {l2}) must not both be present"
                )));
            }
            (Some((e, line)), None) => {
                check_end(&dtstart, &e)
                    .map_err(|why| IcalError(format!("line {line}: DTEND: {why}")))?;
                EndSpec::DtEnd(e)
            }
            (None, Some((d, _))) => EndSpec::Duration(d),
            (None, None) => EndSpec::None,
        };
        // The VTIMEZONEs the event uses and does not carry yet go into its text, before any
        // nested component (properties come first in a VEVENT).
        let carried: Vec<String> = zones
            .used
            .iter()
            .filter(|(_, own)| !own)
            .map(|(z, _)| format!("{ZONE_PROPERTY}:{}", escape_text(&z.text)))
            .collect();
        for line in &carried {
            if line.len() > MAX_LINE_LEN {
                return Err(ctx(format!(
                    "the VTIMEZONE it uses is longer than {MAX_LINE_LEN} bytes"
                )));
            }
        }
        // The carried zones go before the first nested component.
        let carry_at = if carried.is_empty() {
            usize::MAX
        } else {
            self.items
                .iter()
                .position(|i| matches!(i, Item::Nested(l) if starts_with_ci(l, "BEGIN:")))
                .unwrap_or(self.items.len())
        };
        let len = self.len + carried.iter().map(|l| l.len() + 2).sum::<usize>();
        if dtstart.is_date() {
            for r in &rrules {
                if r.freq.is_sub_daily() || r.has_time_parts() {
                    return Err(ctx(format!(
                        "DTSTART (line {start_line}) is a DATE, so the RRULE cannot use \
                         sub-daily FREQ, BYHOUR, BYMINUTE or BYSECOND"
                    )));
                }
            }
        }

        let mut text = String::with_capacity(len + 64);
        fold_into(&mut text, "BEGIN:VEVENT");
        for (at, item) in self.items.iter().enumerate() {
            if at == carry_at {
                for l in &carried {
                    fold_into(&mut text, l);
                }
            }
            match item {
                Item::Own(i) => {
                    if let Some(p) = self.props.get(*i).filter(|p| !p.removed) {
                        fold_into(&mut text, &p.text);
                    }
                }
                Item::Nested(l) => fold_into(&mut text, l),
            }
        }
        if carry_at == self.items.len() {
            for l in &carried {
                fold_into(&mut text, l);
            }
        }
        fold_into(&mut text, "END:VEVENT");
        if text.len() > MAX_COMPONENT_LEN {
            return Err(ctx(format!(
                "serialised VEVENT is {} bytes, more than the limit of {MAX_COMPONENT_LEN}",
                text.len()
            )));
        }

        Ok(EventComponent {
            uid,
            sequence: sequence.unwrap_or(0),
            summary,
            organizer,
            attendees,
            transp,
            status,
            this_and_future,
            dtstamp: dtstamp.map(|t| t.instant(Tz::UTC)),
            text,
            dtstart,
            end,
            rrules,
            rdates,
            exdates,
            recurrence_id,
        })
    }
}

/// Rejects a second occurrence of a single-valued property.
fn once<T>(seen: &Option<T>, p: &Property) -> Result<(), IcalError> {
    if seen.is_some() {
        return Err(p.error("appears more than once in the VEVENT"));
    }
    Ok(())
}

fn check_uid(p: &Property) -> Result<String, IcalError> {
    let uid = &p.value;
    if uid.is_empty() {
        return Err(p.error("empty UID"));
    }
    if uid.len() > MAX_UID_LEN {
        return Err(p.error(format!(
            "UID {} is {} bytes long, more than the limit of {MAX_UID_LEN}",
            show(uid),
            uid.len()
        )));
    }
    if uid.chars().any(char::is_control) {
        return Err(p.error(format!("UID {} contains control characters", show(uid))));
    }
    Ok(uid.clone())
}

/// The zone of a TZID parameter, if any.
fn tzid(p: &Property, zones: &mut TzidResolver<'_>) -> Result<Option<Zone>, IcalError> {
    let Some(name) = p.param("TZID") else {
        return Ok(None);
    };
    zones
        .zone(name)
        .map(Some)
        .map_err(|e| p.error(format!("{} (TZID)", e.0)))
}

/// The VALUE parameter, if any (upper-cased).
fn value_type(p: &Property) -> Option<String> {
    p.param("VALUE").map(str::to_ascii_uppercase)
}

/// DTSTART, DTEND and RECURRENCE-ID: one DATE or DATE-TIME.
pub(super) fn time_property(
    p: &Property,
    zones: &mut TzidResolver<'_>,
) -> Result<IcalTime, IcalError> {
    let expected = match value_type(p).as_deref() {
        None => None,
        Some("DATE") => Some(ValueKind::Date),
        Some("DATE-TIME") => Some(ValueKind::DateTime),
        Some(other) => return Err(p.error(format!("VALUE={other} is not allowed here"))),
    };
    let tz = tzid(p, zones)?;
    parse_ical_time(p.value.trim(), expected, tz).map_err(|e| p.error(e.0))
}

/// DTEND must be of DTSTART's kind and not before it.
pub(super) fn check_end(start: &IcalTime, end: &IcalTime) -> Result<(), String> {
    if start.is_date() != end.is_date() {
        return Err("DTSTART and DTEND must both be DATEs or both DATE-TIMEs".to_owned());
    }
    if start.is_floating() != end.is_floating() {
        return Err(
            "DTSTART and DTEND must both be floating (no TZID, no Z) or both not".to_owned(),
        );
    }
    // Values on the same wall clock are compared there (so a DTSTART in a daylight-saving gap
    // may be followed by a DTEND just after the gap); others as instants.
    let before = match (start, end) {
        (IcalTime::Zoned(_, a), IcalTime::Zoned(_, b)) if a == b => end.naive() < start.naive(),
        _ if start.is_date() || start.is_floating() => end.naive() < start.naive(),
        _ => end.instant(Tz::UTC) < start.instant(Tz::UTC),
    };
    if before {
        return Err(format!(
            "ends ({}) before DTSTART ({})",
            end.normalised(),
            start.normalised()
        ));
    }
    Ok(())
}

/// The comma-separated values of RDATE.
pub(super) fn rdate_values(
    p: &Property,
    zones: &mut TzidResolver<'_>,
) -> Result<Vec<RDate>, IcalError> {
    let tz = tzid(p, zones)?;
    let kind = value_type(p);
    let mut out = Vec::new();
    for item in p.value.split(',') {
        let item = item.trim();
        let rdate = match kind.as_deref() {
            Some("PERIOD") => {
                let Some((start, end)) = item.split_once('/') else {
                    return Err(p.error(format!("PERIOD {} has no '/'", show(item))));
                };
                let start = parse_ical_time(start, Some(ValueKind::DateTime), tz.clone())
                    .map_err(|e| p.error(format!("PERIOD start: {}", e.0)))?;
                let end = if end.starts_with(['P', 'p', '+', '-']) {
                    let d = parse_dur(end).map_err(|e| p.error(e.0))?;
                    if d.is_negative() {
                        return Err(
                            p.error(format!("PERIOD {} has a negative duration", show(item)))
                        );
                    }
                    PeriodEnd::Duration(d)
                } else {
                    let end = parse_ical_time(end, Some(ValueKind::DateTime), tz.clone())
                        .map_err(|e| p.error(format!("PERIOD end: {}", e.0)))?;
                    if start.is_floating() != end.is_floating()
                        || end.instant(Tz::UTC) < start.instant(Tz::UTC)
                    {
                        return Err(p.error(format!("PERIOD {} ends before it starts", show(item))));
                    }
                    PeriodEnd::Time(end)
                };
                RDate {
                    start,
                    end: Some(end),
                }
            }
            Some("DATE") => RDate {
                start: parse_ical_time(item, Some(ValueKind::Date), tz.clone())
                    .map_err(|e| p.error(e.0))?,
                end: None,
            },
            None | Some("DATE-TIME") => RDate {
                start: parse_ical_time(item, Some(ValueKind::DateTime), tz.clone())
                    .map_err(|e| p.error(e.0))?,
                end: None,
            },
            Some(other) => return Err(p.error(format!("VALUE={other} is not allowed here"))),
        };
        out.push(rdate);
    }
    Ok(out)
}

/// The comma-separated values of EXDATE.
pub(super) fn exdate_values(
    p: &Property,
    zones: &mut TzidResolver<'_>,
) -> Result<Vec<IcalTime>, IcalError> {
    let tz = tzid(p, zones)?;
    let kind = match value_type(p).as_deref() {
        Some("DATE") => ValueKind::Date,
        None | Some("DATE-TIME") => ValueKind::DateTime,
        Some(other) => return Err(p.error(format!("VALUE={other} is not allowed here"))),
    };
    p.value
        .split(',')
        .map(|item| parse_ical_time(item.trim(), Some(kind), tz.clone()).map_err(|e| p.error(e.0)))
        .collect()
}
