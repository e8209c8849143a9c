//! Content lines, components and VEVENT validation.

use std::collections::HashMap;
use std::sync::Arc;

use chrono_tz::Tz;

use super::datetime::{IcalTime, ValueKind, parse_ical_time};
use super::duration::parse_dur;
use super::rrule::Rule;
use super::zone::{self, CustomZone, ObservanceDef, Zone, ZoneProp};
use super::{
    Attendee, EndSpec, EventComponent, IcalError, MAX_COMPONENT_LEN, MAX_PROPERTY_VALUE_LEN,
    MAX_UID_LEN, PeriodEnd, RDate, show,
};

/// The property that carries, inside a stored VEVENT, a VTIMEZONE the event uses (see
/// [`super::zone`]).
pub(crate) const ZONE_PROPERTY: &str = "X-CALSTORE-VTIMEZONE";

/// Longest content line accepted (name and parameters included), in bytes.
const MAX_LINE_LEN: usize = MAX_PROPERTY_VALUE_LEN + 8 * 1024;
/// Deepest component nesting accepted.
const MAX_DEPTH: usize = 32;

/// An unfolded content line.
#[derive(Debug)]
pub(super) struct Line {
    /// 1-based number of the physical line it starts on.
    pub(super) number: usize,
    pub(super) text: String,
}

/// A parsed content line.
#[derive(Debug)]
pub(super) struct Property {
    /// Upper-cased name.
    pub(super) name: String,
    /// Parameters: upper-cased names, values without quotes.
    params: Vec<(String, Vec<String>)>,
    pub(super) value: String,
    pub(super) line: usize,
}

impl Property {
    /// The first value of a parameter.
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// An error about this property.
    pub(super) fn error(&self, why: impl std::fmt::Display) -> IcalError {
        IcalError(format!("line {}: {}: {why}", self.line, self.name))
    }
}

/// Splits input into unfolded logical lines, checking UTF-8.
pub(super) fn logical_lines(input: &[u8]) -> Result<Vec<Line>, IcalError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = Vec::new();
    // The logical line being built: its bytes and, per physical line, (offset, line number).
    let mut buf: Vec<u8> = Vec::new();
    let mut segments: Vec<(usize, usize)> = Vec::new();

    let finish = |buf: &mut Vec<u8>,
                  segments: &mut Vec<(usize, usize)>,
                  lines: &mut Vec<Line>|
     -> Result<(), IcalError> {
        if segments.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(buf);
        let segs = std::mem::take(segments);
        let first = segs.first().map_or(0, |s| s.1);
        match String::from_utf8(bytes) {
            Ok(text) => {
                lines.push(Line {
                    number: first,
                    text,
                });
                Ok(())
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = segs
                    .iter()
                    .rev()
                    .find(|(offset, _)| *offset <= at)
                    .map_or(first, |s| s.1);
                Err(IcalError(format!(
                    "line {line}: invalid UTF-8 (iCalendar text must be UTF-8)"
                )))
            }
        }
    };

    for (i, raw) in input.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix(b" ").or_else(|| raw.strip_prefix(b"\t")) {
            if segments.is_empty() {
                if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
                    continue;
                }
                return Err(IcalError(format!(
                    "line {number}: continuation line (starting with white space) without a \
                     content line before it"
                )));
            }
            segments.push((buf.len(), number));
            buf.extend_from_slice(rest);
        } else {
            finish(&mut buf, &mut segments, &mut lines)?;
            if raw.is_empty() {
                continue;
            }
            segments.push((0, number));
            buf.extend_from_slice(raw);
        }
        if buf.len() > MAX_LINE_LEN {
            let start = segments.first().map_or(number, |s| s.1);
            return Err(IcalError(format!(
                "line {start}: content line longer than {MAX_LINE_LEN} bytes"
            )));
        }
    }
    finish(&mut buf, &mut segments, &mut lines)?;
    Ok(lines)
}

/// Parses `NAME *(;PARAM=VALUE[,VALUE]) : VALUE`.
pub(super) fn parse_content_line(line: &Line) -> Result<Property, IcalError> {
    let text = line.text.as_str();
    let bytes = text.as_bytes();
    let err = |why: String| {
        IcalError(format!(
            "line {}: {why} in content line {}",
            line.number,
            show(text)
        ))
    };
    let name_end = bytes
        .iter()
        .position(|b| *b == b';' || *b == b':')
        .ok_or_else(|| err("no ':'".to_owned()))?;
    let name = &text[..name_end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(err(format!("invalid property name {}", show(name))));
    }
    let mut params = Vec::new();
    let mut pos = name_end;
    while bytes.get(pos) == Some(&b';') {
        pos += 1;
        let eq = bytes[pos..]
            .iter()
            .position(|b| matches!(b, b'=' | b';' | b':'))
            .map(|p| pos + p)
            .filter(|p| bytes[*p] == b'=')
            .ok_or_else(|| err("parameter without '='".to_owned()))?;
        let pname = &text[pos..eq];
        if pname.is_empty()
            || !pname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(err(format!("invalid parameter name {}", show(pname))));
        }
        pos = eq + 1;
        let mut values = Vec::new();
        loop {
            if bytes.get(pos) == Some(&b'"') {
                let close = bytes[pos + 1..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map(|p| pos + 1 + p)
                    .ok_or_else(|| {
                        err(format!("unterminated quoted value of parameter {pname}"))
                    })?;
                values.push(text[pos + 1..close].to_owned());
                pos = close + 1;
            } else {
                let end = bytes[pos..]
                    .iter()
                    .position(|b| matches!(b, b',' | b';' | b':' | b'"'))
                    .map_or(bytes.len(), |p| pos + p);
                values.push(text[pos..end].to_owned());
                pos = end;
            }
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b';' | b':') => break,
                _ => return Err(err(format!("malformed value of parameter {pname}"))),
            }
        }
        params.push((pname.to_ascii_uppercase(), values));
    }
    if bytes.get(pos) != Some(&b':') {
        return Err(err("no ':'".to_owned()));
    }
    let value = &text[pos + 1..];
    let name = name.to_ascii_uppercase();
    if value.len() > MAX_PROPERTY_VALUE_LEN {
        return Err(IcalError(format!(
            "line {}: {name}: value is {} bytes long, more than the limit of \
             {MAX_PROPERTY_VALUE_LEN}",
            line.number,
            value.len()
        )));
    }
    Ok(Property {
        name,
        params,
        value: value.to_owned(),
        line: line.number,
    })
}

/// A VTIMEZONE component as read, not yet built into a zone (most are never used: a TZID that
/// is an IANA name does not look at them).
#[derive(Debug, Clone)]
struct ZoneDef {
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
fn begin_end(text: &str) -> Option<(bool, String)> {
    if starts_with_ci(text, "BEGIN:") {
        text.get(6..).map(|n| (true, n.trim().to_ascii_uppercase()))
    } else if starts_with_ci(text, "END:") {
        text.get(4..)
            .map(|n| (false, n.trim().to_ascii_uppercase()))
    } else {
        None
    }
}

/// First pass over the input: the VTIMEZONE components of each scope. Lenient: structural
/// errors are reported by the second pass; a VTIMEZONE that cannot be read is an error only
/// when an event uses it.
fn collect_zones(lines: &[Line]) -> ZoneScopes {
    let mut scopes: ZoneScopes = vec![HashMap::new()];
    let mut scope = 0;
    let mut current: Option<ZoneCollector> = None;
    for line in lines {
        if let Some(c) = current.as_mut() {
            if let Some(def) = c.push(line) {
                current = None;
                if let Some(map) = scopes.get_mut(scope) {
                    map.entry(def.tzid.clone()).or_insert(def);
                }
            }
            continue;
        }
        match begin_end(&line.text) {
            Some((true, name)) if name == "VCALENDAR" => {
                scopes.push(HashMap::new());
                scope = scopes.len() - 1;
            }
            Some((false, name)) if name == "VCALENDAR" => scope = 0,
            Some((true, name)) if name == "VTIMEZONE" => current = Some(ZoneCollector::new(line)),
            _ => {}
        }
    }
    scopes
}

/// Custom zones built so far, by definition text (the same VTIMEZONE repeated in every
/// VCALENDAR of a large import is built once).
#[derive(Debug, Default)]
struct ZoneCache {
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
struct TzidResolver<'a> {
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
    fn zone(&mut self, name: &str) -> Result<Zone, IcalError> {
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

/// Escapes a TEXT value.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A VEVENT being read.
#[derive(Debug)]
struct EventBuilder {
    /// Line of BEGIN:VEVENT.
    line: usize,
    /// Nesting depth at which the VEVENT's own properties sit.
    depth: usize,
    /// Content lines (unfolded) between BEGIN:VEVENT and END:VEVENT.
    lines: Vec<String>,
    /// Sum of the lengths of `lines`, to give up early on huge components.
    len: usize,
    props: Vec<Property>,
}

/// Parses iCalendar bytes (a VCALENDAR stream, possibly several VCALENDARs concatenated, or
/// bare VEVENTs) into its VEVENT components, in input order.
///
/// * Non-UTF-8 input is an error naming the line. Lines are unfolded (CRLF or LF endings,
///   continuation lines starting with a space or tab); blank lines and a UTF-8 byte order mark
///   are ignored. Property and parameter names must be well formed, parameters may be quoted.
/// * BEGIN/END must nest and match; VCALENDAR only at the top, VEVENT only at the top or
///   directly in a VCALENDAR; properties outside any component are errors. Components other
///   than VEVENT and VTIMEZONE (VTODO, VALARM inside a VEVENT, X- components) are skipped, but
///   must nest correctly. A VTIMEZONE defines a zone for the TZIDs of its VCALENDAR (or, outside
///   any VCALENDAR, of the VEVENTs outside any); it is read only when an event uses it, and
///   is then an error if malformed.
/// * Each VEVENT needs exactly one UID (non-empty, at most [`MAX_UID_LEN`] bytes, no control
///   characters) and one valid DTSTART. Dates must exist and times be times of day (leap
///   seconds are rejected). DTEND must be of DTSTART's kind (DATE or DATE-TIME, floating or
///   not) and not before it; DTEND and DURATION exclude each other; DURATION must follow
///   RFC 5545 and not be negative. SEQUENCE must be an integer. UID, DTSTART, DTEND, DURATION,
///   RECURRENCE-ID, SEQUENCE, SUMMARY, ORGANIZER, TRANSP and STATUS may appear only once.
/// * RRULE is validated (FREQ required, known parts only, values in range, no COUNT with
///   UNTIL, the RFC 5545 restrictions on which BYxxx parts go with which FREQ, BYSETPOS only
///   with another BYxxx part; with a DATE DTSTART no sub-daily FREQ and no
///   BYHOUR/BYMINUTE/BYSECOND). EXRULE and RANGE values other than THISANDFUTURE are
///   rejected. RDATE (DATE, DATE-TIME, PERIOD) and EXDATE values are validated.
/// * A TZID names an IANA zone, an embedded VTIMEZONE, a Windows zone or a globally unique
///   `/vendor/Area/City` name, looked up as the `zone` module describes (an IANA name wins over
///   a VTIMEZONE of the same name); anything else is an error. A UTC value (`...Z`) ignores
///   its TZID. Every VTIMEZONE an event uses is copied into its [`EventComponent::text`] as an
///   `X-CALSTORE-VTIMEZONE` property, so that the stored VEVENT parses on its own.
/// * A value longer than [`MAX_PROPERTY_VALUE_LEN`] or a VEVENT longer than
///   [`MAX_COMPONENT_LEN`] is rejected.
pub fn parse_events(input: &[u8]) -> Result<Vec<EventComponent>, IcalError> {
    let lines = logical_lines(input)?;
    let scopes = collect_zones(&lines);
    let mut cache = ZoneCache::default();
    // The scope of the components being read: 0 outside any VCALENDAR, else the VCALENDAR's
    // number (as in `collect_zones`).
    let mut scope = 0;
    let mut calendars = 0;
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut events = Vec::new();
    let mut current: Option<EventBuilder> = None;

    for line in lines {
        let prop = parse_content_line(&line)?;
        match prop.name.as_str() {
            "BEGIN" => {
                let comp = component_name(&prop)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(prop.error(format!("components nested deeper than {MAX_DEPTH}")));
                }
                let parent = stack.last().map(|(n, _)| n.as_str());
                match comp.as_str() {
                    "VCALENDAR" if parent.is_some() => {
                        return Err(prop.error(format!(
                            "VCALENDAR cannot be nested (inside {})",
                            parent.unwrap_or_default()
                        )));
                    }
                    "VEVENT" if !matches!(parent, None | Some("VCALENDAR")) => {
                        return Err(prop.error(format!(
                            "VEVENT cannot be nested inside {}",
                            parent.unwrap_or_default()
                        )));
                    }
                    _ => {}
                }
                stack.push((comp.clone(), line.number));
                if comp == "VCALENDAR" {
                    calendars += 1;
                    scope = calendars;
                }
                if comp == "VEVENT" {
                    current = Some(EventBuilder {
                        line: line.number,
                        depth: stack.len(),
                        lines: Vec::new(),
                        len: 0,
                        props: Vec::new(),
                    });
                } else if let Some(b) = current.as_mut() {
                    b.push_line(line.text)?;
                }
            }
            "END" => {
                let comp = component_name(&prop)?;
                let Some((open, open_line)) = stack.pop() else {
                    return Err(prop.error(format!("END:{comp} without a matching BEGIN")));
                };
                if open != comp {
                    return Err(prop.error(format!(
                        "END:{comp} does not match BEGIN:{open} at line {open_line}"
                    )));
                }
                if comp == "VCALENDAR" {
                    scope = 0;
                }
                if comp == "VEVENT" && current.as_ref().is_some_and(|b| b.depth == stack.len() + 1)
                {
                    if let Some(b) = current.take() {
                        events.push(b.finish(&mut cache, scopes.get(scope))?);
                    }
                } else if let Some(b) = current.as_mut() {
                    b.push_line(line.text)?;
                }
            }
            _ => {
                if stack.is_empty() {
                    return Err(
                        prop.error("property outside of any component (no BEGIN before it)")
                    );
                }
                if let Some(b) = current.as_mut() {
                    b.push_line(line.text)?;
                    if stack.len() == b.depth {
                        b.props.push(prop);
                    }
                }
            }
        }
    }
    if let Some((open, open_line)) = stack.last() {
        return Err(IcalError(format!(
            "missing END:{open} (BEGIN:{open} at line {open_line} is never closed)"
        )));
    }
    Ok(events)
}

/// The upper-cased component name of a BEGIN or END line.
fn component_name(prop: &Property) -> Result<String, IcalError> {
    let name = prop.value.trim_end();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(prop.error(format!("invalid component name {}", show(&prop.value))));
    }
    Ok(name.to_ascii_uppercase())
}

impl EventBuilder {
    fn push_line(&mut self, text: String) -> Result<(), IcalError> {
        self.len += text.len() + 2;
        if self.len > MAX_COMPONENT_LEN {
            return Err(IcalError(format!(
                "VEVENT at line {}: longer than the limit of {MAX_COMPONENT_LEN} bytes",
                self.line
            )));
        }
        self.lines.push(text);
        Ok(())
    }

    /// Validates the collected properties and builds the component. TZIDs are looked up as
    /// [`super::zone`] describes, `scope` holding the VTIMEZONEs of the VEVENT's VCALENDAR.
    fn finish(
        mut self,
        cache: &mut ZoneCache,
        scope: Option<&HashMap<String, ZoneDef>>,
    ) -> Result<EventComponent, IcalError> {
        let at = self.line;
        let mut own = HashMap::new();
        for p in self.props.iter().filter(|p| p.name == ZONE_PROPERTY) {
            let def = zone_from_property(p)?;
            own.entry(def.tzid.clone()).or_insert(def);
        }
        let mut zones = TzidResolver {
            cache,
            own,
            scope,
            used: Vec::new(),
            resolved: HashMap::new(),
        };
        let zones = &mut zones;
        let mut uid: Option<String> = None;
        let mut sequence: Option<i64> = None;
        let mut summary: Option<String> = None;
        let mut organizer: Option<String> = None;
        let mut attendees = Vec::new();
        let mut transp: Option<String> = None;
        let mut status: Option<String> = None;
        let mut dtstart: Option<(IcalTime, usize)> = None;
        let mut dtend: Option<(IcalTime, usize)> = None;
        let mut duration = None;
        let mut recurrence_id: Option<IcalTime> = None;
        let mut this_and_future = false;
        let mut rrules = Vec::new();
        let mut rdates = Vec::new();
        let mut exdates = Vec::new();

        for p in &self.props {
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
        if !carried.is_empty() {
            let at = self
                .lines
                .iter()
                .position(|l| starts_with_ci(l, "BEGIN:"))
                .unwrap_or(self.lines.len());
            self.len += carried.iter().map(|l| l.len() + 2).sum::<usize>();
            self.lines.splice(at..at, carried);
        }
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

        let mut text = String::with_capacity(self.len + 64);
        fold_into(&mut text, "BEGIN:VEVENT");
        for l in &self.lines {
            fold_into(&mut text, l);
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
fn time_property(p: &Property, zones: &mut TzidResolver<'_>) -> Result<IcalTime, IcalError> {
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
fn check_end(start: &IcalTime, end: &IcalTime) -> Result<(), String> {
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
fn rdate_values(p: &Property, zones: &mut TzidResolver<'_>) -> Result<Vec<RDate>, IcalError> {
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
fn exdate_values(p: &Property, zones: &mut TzidResolver<'_>) -> Result<Vec<IcalTime>, IcalError> {
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

/// Unescapes a TEXT value: `\n`/`\N` (newline), `\,`, `\;`, `\\`. Other backslashes are kept.
fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c @ (',' | ';' | '\\')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Appends a content line folded at 75 octets (continuation lines start with a space and hold
/// at most 74 more octets), never splitting a UTF-8 character, with CRLF endings.
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push_str(head);
        out.push_str("\r\n ");
        rest = tail;
        limit = 74;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<(usize, String)> {
        logical_lines(s.as_bytes())
            .unwrap()
            .into_iter()
            .map(|l| (l.number, l.text))
            .collect()
    }

    #[test]
    fn unfolds_crlf_and_lf() {
        let got = lines("A:1\r\nB:2\r\n 3\r\n\t4\nC:5\n\n");
        assert_eq!(
            got,
            vec![
                (1, "A:1".to_owned()),
                (2, "B:234".to_owned()),
                (5, "C:5".to_owned())
            ]
        );
        assert!(logical_lines(b" X:1\r\n").is_err());
    }

    #[test]
    fn invalid_utf8_names_the_physical_line() {
        let input =
            b"BEGIN:VCALENDAR\r\nX-A:ok\r\nX-B:fine\r\n more \xff\xfe here\r\nEND:VCALENDAR\r\n";
        let err = logical_lines(input).unwrap_err().0;
        assert!(err.starts_with("line 4: invalid UTF-8"), "{err}");
        let err = logical_lines(b"A:\xc3\r\n").unwrap_err().0;
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn content_line_parameters() {
        let line = Line {
            number: 7,
            text: "attendee;PARTSTAT=accepted;SENT-BY=\"mailto:calendar@example.com\";\
                   MEMBER=\"a:b\",\"c;d\":mailto:r@example.com"
                .to_owned(),
        };
        let p = parse_content_line(&line).unwrap();
        assert_eq!(p.name, "ATTENDEE");
        assert_eq!(p.param("PARTSTAT"), Some("accepted"));
        assert_eq!(p.param("SENT-BY"), Some("mailto:calendar@example.com"));
        assert_eq!(p.params[2].1, vec!["a:b".to_owned(), "c;d".to_owned()]);
        assert_eq!(p.value, "mailto:r@example.com");
        for bad in [
            "NOCOLON",
            "X;P:v",
            "X;P=\"open:v",
            "X;P=\"a\"b:v",
            ":v",
            "A B:v",
            "X;=1:v",
        ] {
            let line = Line {
                number: 1,
                text: bad.to_owned(),
            };
            assert!(parse_content_line(&line).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_unescaping() {
        assert_eq!(
            unescape_text(r"a\, b\; c\\d\ne\Nf\x"),
            "a, b; c\\d\ne\nf\\x"
        );
        assert_eq!(unescape_text("trailing\\"), "trailing\\");
    }

    #[test]
    fn folding_respects_octets_and_chars() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "é".repeat(80));
        fold_into(&mut out, &line);
        for (i, physical) in out.split("\r\n").filter(|l| !l.is_empty()).enumerate() {
            assert!(physical.len() <= 75, "{i}: {}", physical.len());
            if i > 0 {
                assert!(physical.starts_with(' '));
            }
        }
        let unfolded: String = out.trim_end().replace("\r\n ", "");
        assert_eq!(unfolded, line);

        let mut out = String::new();
        fold_into(&mut out, &"x".repeat(75));
        assert_eq!(out, format!("{}\r\n", "x".repeat(75)));
        let mut out = String::new();
        fold_into(&mut out, &"x".repeat(76));
        assert_eq!(out, format!("{}\r\n x\r\n", "x".repeat(75)));
    }
}
