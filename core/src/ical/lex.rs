//! Lexing: bytes to unfolded content lines, and content lines to properties.
//!
//! * **Encoding.** iCalendar text is UTF-8 (a byte order mark is skipped). In strict mode any
//!   other byte sequence is an error naming the physical line; in lenient mode input that is
//!   not UTF-8 is decoded as Windows-1252 (which includes ISO-8859-1's printable characters),
//!   line by line (a file mixing both keeps its UTF-8 lines), with one note at the first.
//!   Leniently, a NUL byte before the first BEGIN line, or more than [`MAX_NULS`] of them,
//!   means binary data and the input is refused; other NUL bytes, like every control
//!   character, are left in their line for the walker (`parse`), which names the line and
//!   the event.
//! * **Line ends.** CRLF, LF and CR alone (classic Mac OS) all end a physical line.
//! * **Unfolding.** A physical line starting with a space or a tab continues the previous one.
//!   Blank lines are ignored. A logical line longer than the limit is an error (strict) or
//!   dropped with a note (lenient).
//! * **Content lines.** `NAME *(;PARAM=VALUE *(,VALUE)) : VALUE`, parameter values possibly
//!   quoted. The lenient reading also accepts white space inside names (removed) and an
//!   unbalanced quote (read as an ordinary character), each reported as a repair.

use std::borrow::Cow;

use super::error::{IcalError, show};
use super::event::MAX_PROPERTY_VALUE_LEN;
use super::notes::Notes;

/// Leniently, more NUL bytes than this in a text make it binary data.
pub(super) const MAX_NULS: usize = 64;

/// An unfolded content line.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// 1-based number of the physical line it starts on.
    pub(super) number: usize,
    pub(super) text: String,
}

/// A parsed content line.
#[derive(Debug, Clone)]
pub(super) struct Property {
    /// Upper-cased name.
    pub(super) name: String,
    /// Parameters: upper-cased names, values without quotes.
    pub(super) params: Vec<(String, Vec<String>)>,
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

    /// Sets a parameter to one value (replacing it, or appending it).
    pub(super) fn set_param(&mut self, name: &str, value: &str) {
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = vec![value.to_owned()],
            None => self.params.push((name.to_owned(), vec![value.to_owned()])),
        }
    }

    /// Removes a parameter.
    pub(super) fn remove_param(&mut self, name: &str) {
        self.params.retain(|(n, _)| n != name);
    }

    /// The property written as a content line (unfolded); parameter values are quoted when
    /// they contain `:`, `;` or `,`.
    pub(super) fn to_line(&self) -> String {
        let mut out = String::with_capacity(self.name.len() + self.value.len() + 16);
        out.push_str(&self.name);
        for (name, values) in &self.params {
            out.push(';');
            out.push_str(name);
            out.push('=');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if v.contains([':', ';', ',']) {
                    out.push('"');
                    out.push_str(&v.replace('"', "'"));
                    out.push('"');
                } else {
                    out.push_str(&v.replace('"', "'"));
                }
            }
        }
        out.push(':');
        out.push_str(&self.value);
        out
    }

    /// An error about this property.
    pub(super) fn error(&self, why: impl std::fmt::Display) -> IcalError {
        IcalError(format!("line {}: {}: {why}", self.line, self.name))
    }
}

/// Splits input into unfolded logical lines, checking UTF-8 (strict).
pub(super) fn logical_lines(input: &[u8]) -> Result<Vec<Line>, IcalError> {
    let mut notes = Notes::strict();
    lex(input, usize::MAX, &mut notes)
}

/// Longest logical line the lenient lexer keeps (longer ones are dropped with a note): no
/// longer line could be stored in a VEVENT anyway.
pub(super) const LENIENT_MAX_LINE_LEN: usize = super::MAX_COMPONENT_LEN;

/// Longest content line accepted in strict mode (name and parameters included), in bytes.
pub(super) const MAX_LINE_LEN: usize = MAX_PROPERTY_VALUE_LEN + 8 * 1024;

/// Splits input into unfolded logical lines. `notes` says whether the reading is lenient
/// (and collects its repairs); `max_line` is the lenient line limit (strict mode uses
/// [`MAX_LINE_LEN`]).
pub(super) fn lex(
    input: &[u8],
    max_line: usize,
    notes: &mut Notes,
) -> Result<Vec<Line>, IcalError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let max_line = if notes.lenient() {
        max_line
    } else {
        MAX_LINE_LEN
    };
    Lexer {
        lines: Vec::new(),
        buf: Vec::new(),
        segments: Vec::new(),
        overlong: false,
        legacy: false,
        max_line,
    }
    .run(input, notes)
}

/// Windows-1252 to UTF-8; the five undefined bytes become U+FFFD.
pub(super) fn windows_1252(input: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}',
        '\u{017D}', '\u{FFFD}', '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}',
        '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
    ];
    input
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// The logical line being built.
struct Lexer {
    lines: Vec<Line>,
    /// Its bytes.
    buf: Vec<u8>,
    /// Per physical line: (offset in `buf`, line number).
    segments: Vec<(usize, usize)>,
    /// It grew past `max_line` (lenient): dropped when finished.
    overlong: bool,
    /// A line was not UTF-8 and has been decoded as Windows-1252 (noted once).
    legacy: bool,
    max_line: usize,
}

impl Lexer {
    fn run(mut self, input: &[u8], notes: &mut Notes) -> Result<Vec<Line>, IcalError> {
        // One scan: CRLF, LF and CR alone each end a physical line. Leniently, a NUL byte
        // before the first BEGIN line, or more than `MAX_NULS` of them, means binary data; a
        // NUL elsewhere stays in its line, where the walker removes it with a note.
        let lenient = notes.lenient();
        let mut number = 0;
        let mut offset = 0;
        let mut nuls = 0;
        let mut seen_begin = false;
        let mut rest = input;
        while !rest.is_empty() {
            let mut end = 0;
            loop {
                end += rest[end..]
                    .iter()
                    .position(|b| matches!(b, b'\n' | b'\r' | 0))
                    .unwrap_or(rest.len() - end);
                match rest.get(end) {
                    Some(0) => {
                        nuls += 1;
                        if lenient && (!seen_begin || nuls > MAX_NULS) {
                            return Err(IcalError(format!(
                                "binary data, not iCalendar text (NUL byte on line {}, at \
                                 offset {}{})",
                                number + 1,
                                offset + end,
                                if seen_begin {
                                    format!("; more than {MAX_NULS} of them")
                                } else {
                                    ", before any complete BEGIN line".to_owned()
                                }
                            )));
                        }
                        end += 1;
                    }
                    _ => break,
                }
            }
            let (raw, tail) = rest.split_at(end);
            rest = match tail {
                [b'\r', b'\n', more @ ..] | [_, more @ ..] => more,
                [] => tail,
            };
            offset += end + (tail.len() - rest.len());
            number += 1;
            seen_begin = seen_begin
                || raw
                    .get(..6)
                    .is_some_and(|head| head.eq_ignore_ascii_case(b"BEGIN:"));
            self.physical(raw, number, notes)?;
        }
        self.finish(notes)?;
        Ok(self.lines)
    }

    fn physical(&mut self, raw: &[u8], number: usize, notes: &mut Notes) -> Result<(), IcalError> {
        if let Some(rest) = raw.strip_prefix(b" ").or_else(|| raw.strip_prefix(b"\t")) {
            if self.segments.is_empty() {
                if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
                    return Ok(());
                }
                return notes.repair(
                    number,
                    "a continuation line (starting with white space) without a content line \
                     before it"
                        .to_owned(),
                    "line skipped",
                    || {
                        IcalError(format!(
                            "line {number}: continuation line (starting with white space) \
                             without a content line before it"
                        ))
                    },
                );
            }
            self.segments.push((self.buf.len(), number));
            if !self.overlong {
                self.buf.extend_from_slice(rest);
            }
        } else {
            self.finish(notes)?;
            if raw.is_empty() {
                return Ok(());
            }
            self.segments.push((0, number));
            self.buf.extend_from_slice(raw);
        }
        if self.buf.len() > self.max_line {
            let start = self.segments.first().map_or(number, |s| s.1);
            if !notes.lenient() {
                return Err(IcalError(format!(
                    "line {start}: content line longer than {} bytes",
                    self.max_line
                )));
            }
            self.overlong = true;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self, notes: &mut Notes) -> Result<(), IcalError> {
        if self.segments.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.buf);
        let segs = std::mem::take(&mut self.segments);
        let first = segs.first().map_or(0, |s| s.1);
        if std::mem::take(&mut self.overlong) {
            notes.note(
                first,
                format!("content line longer than {} bytes", self.max_line),
                "line dropped",
            );
            return Ok(());
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) if notes.lenient() => {
                if !std::mem::replace(&mut self.legacy, true) {
                    notes.note(
                        first,
                        "the text is not UTF-8".to_owned(),
                        "lines that are not UTF-8 decoded as Windows-1252",
                    );
                }
                windows_1252(e.as_bytes())
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = segs
                    .iter()
                    .rev()
                    .find(|(offset, _)| *offset <= at)
                    .map_or(first, |s| s.1);
                return Err(IcalError(format!(
                    "line {line}: invalid UTF-8 (iCalendar text must be UTF-8)"
                )));
            }
        };
        self.lines.push(Line {
            number: first,
            text,
        });
        Ok(())
    }
}

/// A control character RFC 5545 does not allow in a content line (§3.1: every control
/// character but HTAB); the store refuses them in object text.
pub(super) fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// The forbidden control characters of `text` named (` U+0000` or `s U+0000, U+0001`), or
/// None when it has none (the usual case, found by one scan of the bytes).
pub(super) fn control_characters(text: &str) -> Option<String> {
    // C0 controls and DEL are single bytes; C1 controls (U+0080–U+009F) start with 0xC2.
    let suspect = text
        .bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2);
    if !suspect {
        return None;
    }
    let mut found: Vec<char> = text.chars().filter(|c| is_forbidden_control(*c)).collect();
    found.sort_unstable();
    found.dedup();
    let names: Vec<String> = found
        .iter()
        .map(|c| format!("U+{:04X}", u32::from(*c)))
        .collect();
    match names.len() {
        0 => None,
        1 => Some(format!(" {}", names[0])),
        _ => Some(format!("s {}", names.join(", "))),
    }
}

/// What the lenient reading of a content line changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineFixes {
    /// White space was removed from the property name or a parameter name.
    pub(super) spaces_in_name: bool,
    /// A parameter value opened a quote that was never closed; the quote was read as an
    /// ordinary character.
    pub(super) unbalanced_quote: bool,
}

/// Parses `NAME *(;PARAM=VALUE[,VALUE]) : VALUE` (strict).
pub(super) fn parse_content_line(line: &Line) -> Result<Property, IcalError> {
    parse_line(line, false).map(|(p, _)| p)
}

/// Parses a content line; with `lenient`, white space inside names and an unbalanced quote are
/// accepted and reported in [`LineFixes`]. A value longer than [`MAX_PROPERTY_VALUE_LEN`] is an
/// error either way.
pub(super) fn parse_line(line: &Line, lenient: bool) -> Result<(Property, LineFixes), IcalError> {
    let mut fixes = LineFixes::default();
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
    let name = clean_name(&text[..name_end], lenient, &mut fixes);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(err(format!(
            "invalid property name {}",
            show(&text[..name_end])
        )));
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
        let raw_pname = &text[pos..eq];
        let pname = clean_name(raw_pname, lenient, &mut fixes);
        if pname.is_empty()
            || !pname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(err(format!("invalid parameter name {}", show(raw_pname))));
        }
        pos = eq + 1;
        let mut values = Vec::new();
        loop {
            let close = (bytes.get(pos) == Some(&b'"'))
                .then(|| bytes[pos + 1..].iter().position(|b| *b == b'"'))
                .flatten()
                .map(|p| pos + 1 + p);
            if let Some(close) = close {
                values.push(text[pos + 1..close].to_owned());
                pos = close + 1;
            } else {
                let quote = bytes.get(pos) == Some(&b'"');
                if quote && !lenient {
                    return Err(err(format!(
                        "unterminated quoted value of parameter {pname}"
                    )));
                }
                // Leniently, quotes are ordinary characters of an unquoted value.
                let from = pos + usize::from(quote);
                let end = bytes[from..]
                    .iter()
                    .position(|b| matches!(b, b',' | b';' | b':') || (*b == b'"' && !lenient))
                    .map_or(bytes.len(), |p| from + p);
                let value = &text[pos..end];
                // A quote inside an unquoted value is as wrong as an unclosed one.
                fixes.unbalanced_quote |= value.contains('"');
                values.push(value.to_owned());
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
    Ok((
        Property {
            name,
            params,
            value: value.to_owned(),
            line: line.number,
        },
        fixes,
    ))
}

/// A property or parameter name; leniently without white space.
fn clean_name<'a>(name: &'a str, lenient: bool, fixes: &mut LineFixes) -> Cow<'a, str> {
    if lenient && name.bytes().any(|b| b.is_ascii_whitespace()) {
        fixes.spaces_in_name = true;
        Cow::Owned(name.chars().filter(|c| !c.is_ascii_whitespace()).collect())
    } else {
        Cow::Borrowed(name)
    }
}

/// Unescapes a TEXT value: `\n`/`\N` (newline), `\,`, `\;`, `\\`. Other backslashes are kept.
pub(super) fn unescape_text(s: &str) -> String {
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

/// Escapes a TEXT value.
pub(super) fn escape_text(s: &str) -> String {
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

/// Appends a content line folded at 75 octets (continuation lines start with a space and hold
/// at most 74 more octets), never splitting a UTF-8 character, with CRLF endings.
pub(super) fn fold_into(out: &mut String, line: &str) {
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

/// True if `text` starts with `prefix`, ignoring ASCII case.
pub(super) fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
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
    fn cr_alone_ends_a_line() {
        let got = lines("A:1\rB:2\r 3\rC:4\r\nD:5");
        assert_eq!(
            got,
            vec![
                (1, "A:1".to_owned()),
                (2, "B:23".to_owned()),
                (4, "C:4".to_owned()),
                (5, "D:5".to_owned())
            ]
        );
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
    fn windows_1252_is_decoded_with_a_note() {
        let mut notes = Notes::lenient_with(10);
        let got = lex(
            b"A:1\r\nSUMMARY:R\xe9union \x93B\x94 \x80\r\n",
            LENIENT_MAX_LINE_LEN,
            &mut notes,
        )
        .unwrap();
        assert_eq!(got[1].text, "SUMMARY:Réunion “B” €");
        let notes = notes.into_parts().0;
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].line, 2);
        assert_eq!(notes[0].problem, "the text is not UTF-8");
        assert_eq!(
            notes[0].action,
            "lines that are not UTF-8 decoded as Windows-1252"
        );
    }

    #[test]
    fn binary_is_refused() {
        let err = lex(b"BEGIN:VCALENDAR\0", 100, &mut Notes::lenient_with(10))
            .unwrap_err()
            .0;
        assert_eq!(
            err,
            "binary data, not iCalendar text (NUL byte on line 1, at offset 15, before any \
             complete BEGIN line)"
        );
        let many = [&b"BEGIN:VCALENDAR\r\n"[..], &[0u8; MAX_NULS + 1]].concat();
        let err = lex(&many, 100, &mut Notes::lenient_with(10)).unwrap_err().0;
        assert_eq!(
            err,
            "binary data, not iCalendar text (NUL byte on line 2, at offset 81; more than 64 \
             of them)"
        );
    }

    #[test]
    fn a_nul_inside_text_stays_in_its_line() {
        // Leniently and strictly alike: the walker names the line and the event.
        for mut notes in [Notes::lenient_with(10), Notes::strict()] {
            let lines = lex(b"BEGIN:VCALENDAR\r\nX:a\0b\r\n", 100, &mut notes).unwrap();
            assert_eq!(lines[1].text, "X:a\0b");
            assert_eq!(lines[1].number, 2);
        }
    }

    #[test]
    fn overlong_lines_are_dropped_leniently() {
        let long = format!(
            "A:1\r\nX-BIG:{}\r\n {}\r\nB:2\r\n",
            "x".repeat(60),
            "y".repeat(60)
        );
        let mut notes = Notes::lenient_with(10);
        let got = lex(long.as_bytes(), 100, &mut notes).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].number, 4);
        let notes = notes.into_parts().0;
        assert_eq!(notes[0].line, 2);
        assert_eq!(notes[0].problem, "content line longer than 100 bytes");
        assert_eq!(notes[0].action, "line dropped");
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
        assert_eq!(
            p.to_line(),
            "ATTENDEE;PARTSTAT=accepted;SENT-BY=\"mailto:calendar@example.com\";\
             MEMBER=\"a:b\",\"c;d\":mailto:r@example.com"
        );
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
    fn lenient_content_lines() {
        let read = |text: &str| {
            parse_line(
                &Line {
                    number: 1,
                    text: text.to_owned(),
                },
                true,
            )
        };
        let (p, fixes) = read("X-MS OLK-SENDER;ROLE =CHAIR:mailto:a@example.com").unwrap();
        assert_eq!(p.name, "X-MSOLK-SENDER");
        assert_eq!(p.param("ROLE"), Some("CHAIR"));
        assert!(fixes.spaces_in_name && !fixes.unbalanced_quote);
        let (p, fixes) = read("ORGANIZER;CN=\"Doe, John:mailto:john@example.com").unwrap();
        assert_eq!(p.value, "mailto:john@example.com");
        assert_eq!(p.params[0].1, vec!["\"Doe".to_owned(), " John".to_owned()]);
        assert!(fixes.unbalanced_quote);
        assert!(read("X").is_err());
        assert!(read("X-APPLE-RADIUS=49.9").is_err());
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
