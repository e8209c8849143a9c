//! The structure of an input: BEGIN/END lines, VCALENDAR scopes and their VTIMEZONEs, and the
//! VEVENTs in them. Content lines come from `lex`; each VEVENT is built and validated in
//! `build`; what the lenient reading repairs is decided in `repair`, through `Notes` (which
//! in strict mode turns every problem into today's error).

use std::collections::{HashMap, HashSet};

use super::build::{EventBuilder, TzidResolver, ZONE_PROPERTY, ZoneCache, ZoneDef};
use super::error::{IcalError, show};
use super::event::{EventComponent, MAX_COMPONENT_LEN};
use super::lex::{
    self, LENIENT_MAX_LINE_LEN, Line, Property, parse_content_line, starts_with_ci, unescape_text,
};
use super::notes::{Notes, ParseOptions, ParsedCalendar, problem_of, with_uid};
use super::repair;
use super::zone::{ObservanceDef, ZoneProp};

/// Deepest component nesting accepted (deeper is refused in both modes: runaway nesting is
/// not a calendar).
const MAX_DEPTH: usize = 32;

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
    /// The BEGIN:VEVENT line of each of `events`.
    lines: Vec<usize>,
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
/// * Each VEVENT needs exactly one UID (non-empty, at most [`MAX_UID_LEN`](super::MAX_UID_LEN) bytes, no control
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
/// * per VEVENT (`repair`): a UID derived from its content when missing; a repeated
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
        lines: Vec::new(),
        current: None,
    };
    for line in lines {
        walker.line(line).map_err(|e| {
            let uid = walker.current.as_ref().and_then(EventBuilder::uid);
            with_uid(e, uid.as_deref())
        })?;
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
        lines: walker.lines,
        notes,
        notes_omitted,
        x_wr_timezone,
    })
}

impl Walker {
    fn line(&mut self, mut line: Line) -> Result<(), IcalError> {
        let lenient = self.notes.lenient();
        if let Some(found) = lex::control_characters(&line.text) {
            let problem = format!("the control character{found} (not allowed in iCalendar text)");
            let number = line.number;
            self.notes.repair(number, problem.clone(), "removed", || {
                IcalError(format!("line {number}: {problem}"))
            })?;
            line.text.retain(|c| !lex::is_forbidden_control(c));
        }
        let (prop, fixes) = match lex::parse_line(&line, lenient) {
            Ok(read) => read,
            Err(e) => {
                let problem = problem_of(&e);
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
                let problem = problem_of(&e);
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
                let problem = problem_of(&e);
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
                self.lines.push(at);
                Ok(())
            }
            Err((e, uid)) if lenient => {
                self.notes.note(at, e.0, "event skipped");
                self.notes.assign_uid(from, uid);
                Ok(())
            }
            Err((e, uid)) => Err(with_uid(e, uid.as_deref())),
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
}
