//! Component building: a VEVENT's content lines as read ([`EventBuilder`]), the zones its
//! TZIDs name ([`TzidResolver`]), and the validation that turns it into an
//! [`EventComponent`]. The structure of the input (BEGIN/END, scopes) is walked in `parse`;
//! the lenient repairs of a VEVENT's properties are in `repair`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono_tz::Tz;

use super::datetime::ValueKind;
use super::duration::parse_dur;
use super::error::{IcalError, show};
use super::event::{
    Attendee, EndSpec, EventComponent, MAX_COMPONENT_LEN, MAX_UID_LEN, PeriodEnd, RDate,
};
use super::lex::{MAX_LINE_LEN, Property, escape_text, fold_into, starts_with_ci, unescape_text};
use super::notes::Notes;
use super::rrule::Rule;
use super::time::{IcalTime, parse_ical_time};
use super::zone::{self, CustomZone, ObservanceDef, Zone};

/// The property that carries, inside a stored VEVENT, a VTIMEZONE the event uses (see
/// [`super::zone`]).
pub(crate) const ZONE_PROPERTY: &str = "X-CALSTORE-VTIMEZONE";

/// A VTIMEZONE component as read, not yet built into a zone (most are never used: a TZID that
/// is an IANA name does not look at them).
#[derive(Debug, Clone)]
pub(super) struct ZoneDef {
    pub(super) tzid: String,
    /// Content lines (unfolded), BEGIN:VTIMEZONE to END:VTIMEZONE, joined by `\n`.
    pub(super) text: String,
    /// Line of BEGIN:VTIMEZONE.
    pub(super) line: usize,
    pub(super) observances: Vec<ObservanceDef>,
    /// A content line of the component could not be parsed.
    pub(super) broken: Option<String>,
}

/// Custom zones built so far, by definition text (the same VTIMEZONE repeated in every
/// VCALENDAR of a large import is built once).
#[derive(Debug, Default)]
pub(super) struct ZoneCache {
    pub(super) built: HashMap<String, Result<Arc<CustomZone>, IcalError>>,
}

impl ZoneCache {
    pub(super) fn build(&mut self, def: &ZoneDef) -> Result<Arc<CustomZone>, IcalError> {
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
    pub(super) cache: &'a mut ZoneCache,
    /// VTIMEZONEs carried by the VEVENT itself ([`ZONE_PROPERTY`]).
    pub(super) own: HashMap<String, ZoneDef>,
    /// VTIMEZONEs of the VEVENT's scope.
    pub(super) scope: Option<&'a HashMap<String, ZoneDef>>,
    /// Custom zones used, and whether the VEVENT carries them already.
    pub(super) used: Vec<(Arc<CustomZone>, bool)>,
    pub(super) resolved: HashMap<String, Zone>,
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
    pub(super) depth: usize,
    /// Its VCALENDAR (0: outside any).
    pub(super) scope: usize,
    /// Content lines (unfolded) between BEGIN:VEVENT and END:VEVENT.
    pub(super) items: Vec<Item>,
    /// Sum of the lengths of the lines, to give up early on huge components.
    pub(super) len: usize,
    /// Leniently: the VEVENT grew past [`MAX_COMPONENT_LEN`] and will be skipped.
    pub(super) too_long: bool,
    pub(super) props: Vec<OwnProp>,
    /// Where this event's notes start in [`Notes`] (they get its UID when it is finished).
    pub(super) notes_from: usize,
}

impl EventBuilder {
    pub(super) fn push_line(&mut self, text: String, notes: &mut Notes) -> Result<(), IcalError> {
        self.grow(text.len(), notes)?;
        if !self.too_long {
            self.items.push(Item::Nested(text));
        }
        Ok(())
    }

    pub(super) fn push_prop(
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

    pub(super) fn grow(&mut self, len: usize, notes: &Notes) -> Result<(), IcalError> {
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

    /// Validates the (repaired) properties and builds the component. TZIDs are looked up as
    /// [`super::zone`] describes, `zones` holding the VTIMEZONEs of the VEVENT's VCALENDAR.
    pub(super) fn finish(&self, zones: &mut TzidResolver<'_>) -> Result<EventComponent, IcalError> {
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
