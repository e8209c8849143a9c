//! The iCalendar text of scheduling messages: content lines read with their parameters as
//! written, edited (PARTSTAT, SENT-BY, DTSTAMP, the ATTENDEE list, DTSTART/DTEND of a
//! counter-proposal) and written back folded at 75 octets with CRLF line ends
//! (RFC 5545 §3.1). Why this is not a crate: `docs/decisions/0010-scheduling.md`.
//!
//! The parser keeps every line it does not edit byte for byte (unfolded and re-folded):
//! parameter values stay quoted as they were, values escaped as they were. Lines of nested
//! components (VALARM) are kept whole and never edited.

use crate::ical::datetime::format_utc;
use chrono::{DateTime, Utc};

/// The property that carries a VTIMEZONE inside a stored VEVENT (see `crate::ical`); it never
/// leaves the store: outgoing messages carry the VTIMEZONE component instead.
pub(crate) const ZONE_PROPERTY: &str = "X-CALSTORE-VTIMEZONE";

/// Splits text into unfolded content lines (CRLF, LF or CR line ends; a line starting with a
/// space or a tab continues the previous one; blank lines are dropped).
pub(crate) fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split(['\n', '\r']) {
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        if !raw.is_empty() {
            out.push(raw.to_owned());
        }
    }
    out
}

/// Appends `line` folded at 75 octets on character boundaries, with CRLF.
pub(crate) fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub(crate) fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape_text`].
pub(crate) fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A parameter value as it is written: quoted when it holds `:`, `;` or `,` (a double quote,
/// which a parameter value cannot hold, becomes a single one).
pub(crate) fn param_value(v: &str) -> String {
    let v = v.replace('"', "'");
    if v.contains([':', ';', ',']) {
        format!("\"{v}\"")
    } else {
        v
    }
}

/// One content line: the name (upper-cased), its parameters as written (upper-cased name,
/// raw value with any quotes) and the value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Line {
    /// Reads one unfolded content line; None if it has no `:` outside quotes.
    pub(crate) fn parse(text: &str) -> Option<Line> {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && bytes[i] != b';' && bytes[i] != b':' {
            i += 1;
        }
        let name = text.get(..i)?.trim().to_ascii_uppercase();
        if name.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        while i < bytes.len() && bytes[i] == b';' {
            i += 1;
            let start = i;
            while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b':' && bytes[i] != b';' {
                i += 1;
            }
            let pname = text.get(start..i)?.trim().to_ascii_uppercase();
            let mut value = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                let vstart = i;
                let mut quoted = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'"' => quoted = !quoted,
                        b';' | b':' if !quoted => break,
                        _ => {}
                    }
                    i += 1;
                }
                value = text.get(vstart..i)?.to_owned();
            }
            params.push((pname, value));
        }
        if i >= bytes.len() || bytes[i] != b':' {
            return None;
        }
        Some(Line {
            name,
            params,
            value: text.get(i + 1..)?.to_owned(),
        })
    }

    /// A line with no parameters.
    pub(crate) fn new(name: &str, value: impl Into<String>) -> Line {
        Line {
            name: name.to_owned(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// The first value of a parameter, without quotes.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
    }

    /// Sets a parameter to one value (quoted as needed), replacing it or appending it.
    pub(crate) fn set_param(&mut self, name: &str, value: &str) {
        let written = param_value(value);
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = written,
            None => self.params.push((name.to_owned(), written)),
        }
    }

    /// Removes a parameter.
    pub(crate) fn remove_param(&mut self, name: &str) {
        self.params.retain(|(n, _)| n != name);
    }

    /// The value of a URI-valued property (ORGANIZER, ATTENDEE) as compared: trimmed.
    pub(crate) fn uri(&self) -> &str {
        self.value.trim()
    }

    /// The content line, unfolded.
    pub(crate) fn to_text(&self) -> String {
        let mut out = self.name.clone();
        for (n, v) in &self.params {
            out.push(';');
            out.push_str(n);
            out.push('=');
            out.push_str(v);
        }
        out.push(':');
        out.push_str(&self.value);
        out
    }
}

/// An item of a component: one of its own properties, or a line of a nested component.
#[derive(Clone, Debug)]
enum Item {
    Prop(Line),
    Nested(String),
}

/// One component (a VEVENT) as lines that can be edited.
#[derive(Clone, Debug)]
pub(crate) struct Component {
    /// BEGIN's value (`VEVENT`).
    pub kind: String,
    items: Vec<Item>,
}

impl Component {
    /// Reads a component's text (`BEGIN:X` … `END:X`); None if it is not one.
    pub(crate) fn parse(text: &str) -> Option<Component> {
        let lines = unfold(text);
        let first = Line::parse(lines.first()?)?;
        if first.name != "BEGIN" {
            return None;
        }
        let kind = first.value.trim().to_ascii_uppercase();
        let mut items = Vec::new();
        let mut depth = 0usize;
        for l in lines.get(1..lines.len().checked_sub(1)?)? {
            let parsed = Line::parse(l);
            let name = parsed.as_ref().map(|p| p.name.as_str()).unwrap_or("");
            if depth > 0 || name == "BEGIN" {
                if name == "BEGIN" {
                    depth += 1;
                } else if name == "END" {
                    depth = depth.saturating_sub(1);
                }
                items.push(Item::Nested(l.clone()));
                continue;
            }
            match parsed {
                Some(p) => items.push(Item::Prop(p)),
                None => items.push(Item::Nested(l.clone())),
            }
        }
        Some(Component { kind, items })
    }

    /// A new, empty component.
    pub(crate) fn new(kind: &str) -> Component {
        Component {
            kind: kind.to_owned(),
            items: Vec::new(),
        }
    }

    /// The component's own properties.
    pub(crate) fn props(&self) -> impl Iterator<Item = &Line> {
        self.items.iter().filter_map(|i| match i {
            Item::Prop(p) => Some(p),
            Item::Nested(_) => None,
        })
    }

    /// The component's own properties, to edit.
    pub(crate) fn props_mut(&mut self) -> impl Iterator<Item = &mut Line> {
        self.items.iter_mut().filter_map(|i| match i {
            Item::Prop(p) => Some(p),
            Item::Nested(_) => None,
        })
    }

    /// The first property called `name`.
    pub(crate) fn first(&self, name: &str) -> Option<&Line> {
        self.props().find(|p| p.name == name)
    }

    /// Keeps only the own properties for which `keep` is true (nested components stay).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Line) -> bool) {
        self.items.retain(|i| match i {
            Item::Prop(p) => keep(p),
            Item::Nested(_) => true,
        });
    }

    /// Removes every property called `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        self.retain(|p| p.name != name);
    }

    /// Adds a property after the own properties (before any nested component).
    pub(crate) fn push(&mut self, line: Line) {
        let at = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Nested(_)))
            .unwrap_or(self.items.len());
        self.items.insert(at, Item::Prop(line));
    }

    /// Replaces the first property called `line.name` (keeping its place), or adds it.
    pub(crate) fn set(&mut self, line: Line) {
        let name = line.name.clone();
        let mut line = Some(line);
        let mut replaced = false;
        self.items.retain_mut(|i| match i {
            Item::Prop(p) if p.name == name => {
                if replaced {
                    return false;
                }
                replaced = true;
                if let Some(l) = line.take() {
                    *p = l;
                }
                true
            }
            _ => true,
        });
        if let Some(l) = line {
            self.push(l);
        }
    }

    /// Sets DTSTAMP to `now`.
    pub(crate) fn set_dtstamp(&mut self, now: DateTime<Utc>) {
        self.set(Line::new("DTSTAMP", format_utc(now)));
    }

    /// Takes out the VTIMEZONEs carried as [`ZONE_PROPERTY`] (and every other
    /// `X-CALSTORE-` property, which never leaves the store); returns the zones as content
    /// lines joined by `\n`.
    pub(crate) fn take_store_properties(&mut self) -> Vec<String> {
        let mut zones = Vec::new();
        for p in self.props() {
            if p.name == ZONE_PROPERTY {
                zones.push(unescape_text(&p.value));
            }
        }
        self.retain(|p| !p.name.starts_with("X-CALSTORE-"));
        for p in self.props_mut() {
            p.params.retain(|(n, _)| !n.starts_with("X-CALSTORE-"));
        }
        zones
    }

    /// The component folded, CRLF line ends.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        fold_into(&mut out, &format!("BEGIN:{}", self.kind));
        for i in &self.items {
            match i {
                Item::Prop(p) => fold_into(&mut out, &p.to_text()),
                Item::Nested(l) => fold_into(&mut out, l),
            }
        }
        fold_into(&mut out, &format!("END:{}", self.kind));
        out
    }
}

/// The TZID of a VTIMEZONE given as content lines joined by `\n`.
fn zone_tzid(zone: &str) -> Option<String> {
    zone.split('\n')
        .filter_map(Line::parse)
        .find(|l| l.name == "TZID")
        .map(|l| l.value.trim().to_owned())
}

/// A whole iCalendar object: `VCALENDAR` with METHOD, the VTIMEZONEs (each content lines
/// joined by `\n`, one per TZID) and the components (already written, folded).
pub(crate) fn calendar(method: &str, zones: &[String], components: &[String]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//calstore//calstore//EN",
        &format!("METHOD:{method}"),
    ] {
        fold_into(&mut out, l);
    }
    let mut seen: Vec<String> = Vec::new();
    for z in zones {
        let id = zone_tzid(z).unwrap_or_default();
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        for l in z.split('\n').map(|l| l.trim_end_matches('\r')) {
            if !l.is_empty() {
                fold_into(&mut out, l);
            }
        }
    }
    for c in components {
        out.push_str(c);
    }
    fold_into(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_what_they_do_not_edit() {
        let l = Line::parse(
            "ATTENDEE;RSVP=TRUE;CN=\"Room: big; one\";PARTSTAT=NEEDS-ACTION:mailto:r@example.com",
        )
        .unwrap();
        assert_eq!(l.name, "ATTENDEE");
        assert_eq!(l.param("CN").as_deref(), Some("Room: big; one"));
        let mut l2 = l.clone();
        l2.set_param("PARTSTAT", "ACCEPTED");
        l2.set_param("SENT-BY", "mailto:calendar@example.com");
        assert_eq!(
            l2.to_text(),
            "ATTENDEE;RSVP=TRUE;CN=\"Room: big; one\";PARTSTAT=ACCEPTED;\
             SENT-BY=\"mailto:calendar@example.com\":mailto:r@example.com"
        );
        assert!(Line::parse("NOCOLON").is_none());
        assert_eq!(Line::parse("X:a:b").unwrap().value, "a:b");
    }

    #[test]
    fn components_fold_and_nest() {
        let text = "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long\r\n  line\r\nBEGIN:VALARM\r\n\
                    ACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n";
        let mut c = Component::parse(text).unwrap();
        assert_eq!(c.first("SUMMARY").unwrap().value, "a long line");
        c.set(Line::new("DTSTAMP", "20141009T000000Z"));
        c.set(Line::new("SUMMARY", "x".repeat(100)));
        let out = c.to_text();
        assert!(out.contains("DTSTAMP:20141009T000000Z\r\nBEGIN:VALARM\r\n"));
        assert!(out.lines().all(|l| l.len() <= 75));
        assert_eq!(
            Component::parse(&out)
                .unwrap()
                .first("SUMMARY")
                .unwrap()
                .value,
            "x".repeat(100)
        );
        assert_eq!(unescape_text(&escape_text("a,b;c\\d\ne")), "a,b;c\\d\ne");
    }
}
