//! WebDAV XML: request bodies read with quick-xml into a small bounded tree (namespaces
//! resolved), responses written with quick-xml's writer (which does all the escaping).

use std::io::Cursor;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;

/// `DAV:`.
pub const DAV: &str = "DAV:";
/// CalDAV (RFC 4791).
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// Calendar Server extensions (getctag).
pub const CS: &str = "http://calendarserver.org/ns/";
/// Apple's iCal properties (calendar-color, calendar-order).
pub const ICAL: &str = "http://apple.com/ns/ical/";

/// The largest XML request body read, in bytes.
pub const MAX_XML_BODY: usize = 1024 * 1024;
const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 10_000;

/// An element of a request body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Elem {
    /// Its namespace (empty when none).
    pub ns: String,
    /// Its local name.
    pub name: String,
    /// Its attributes (local name, value), namespaces ignored.
    pub attrs: Vec<(String, String)>,
    /// Its child elements.
    pub children: Vec<Elem>,
    /// Its text content (all text directly inside it, concatenated).
    pub text: String,
}

impl Elem {
    /// True if it is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child `{ns}name`.
    pub fn all<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Elem> {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn start_elem(ns: &ResolveResult<'_>, e: &BytesStart<'_>) -> Result<Elem, XmlError> {
    let ns = match ns {
        ResolveResult::Bound(n) => String::from(n.as_ref()),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => return Err(XmlError(format!("unknown prefix {p}"))),
    };
    let name = String::from(e.local_name().as_ref());
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|x| XmlError(x.to_string()))?;
        let key = String::from(a.key.local_name().as_ref());
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|x| XmlError(x.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Elem {
        ns,
        name,
        attrs,
        ..Elem::default()
    })
}

/// Reads a body into its root element. Bounded: size, depth and element count; DOCTYPEs
/// (and so entity definitions) are refused.
pub fn parse(body: &[u8]) -> Result<Elem, XmlError> {
    if body.len() > MAX_XML_BODY {
        return Err(XmlError("the XML body is too large".into()));
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError("not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Elem> = Vec::new();
    let mut count = 0usize;
    let mut root: Option<Elem> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError(e.to_string()))?;
        match event {
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(XmlError("the XML body is too deep or too large".into()));
                }
                stack.push(start_elem(&ns, &e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError("the XML body is too large".into()));
                }
                let el = start_elem(&ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => {
                        root = Some(el);
                    }
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(XmlError("unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| XmlError(e.to_string()))?
                } else {
                    match &*r {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        other => return Err(XmlError(format!("unknown entity {other}"))),
                    }
                };
                if let (Some(c), Some(top)) = (c, stack.last_mut()) {
                    top.text.push(c);
                }
            }
            Event::DocType(_) => return Err(XmlError("DOCTYPE is not accepted".into())),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        if root.is_some() && stack.is_empty() {
            break;
        }
    }
    root.ok_or_else(|| XmlError("no root element".into()))
}

/// Writes a response body: elements named by namespace and local name, the usual
/// namespaces bound to fixed prefixes on the root, others declared where used.
pub struct Out {
    w: Writer<Cursor<Vec<u8>>>,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out").finish_non_exhaustive()
    }
}

fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("D"),
        CALDAV => Some("C"),
        CS => Some("CS"),
        ICAL => Some("I"),
        _ => None,
    }
}

impl Out {
    /// A document whose root is `{DAV:}root`.
    pub fn new(root_ns: &str, root: &str) -> Out {
        let mut w = Writer::new(Cursor::new(Vec::new()));
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
        let mut out = Out { w };
        let name = out.qname(root_ns, root);
        let mut start = BytesStart::new(name.as_str());
        start.push_attribute(("xmlns:D", DAV));
        start.push_attribute(("xmlns:C", CALDAV));
        start.push_attribute(("xmlns:CS", CS));
        start.push_attribute(("xmlns:I", ICAL));
        let _ = out.w.write_event(Event::Start(start));
        out
    }

    fn qname(&self, ns: &str, name: &str) -> String {
        match prefix(ns) {
            Some(p) => format!("{p}:{name}"),
            None => format!("X:{name}"),
        }
    }

    fn start_of(&self, ns: &str, name: &str) -> BytesStart<'static> {
        let q = self.qname(ns, name);
        let mut s = BytesStart::new(q);
        if prefix(ns).is_none() {
            s.push_attribute(("xmlns:X", ns));
        }
        s
    }

    /// Opens an element.
    pub fn open(&mut self, ns: &str, name: &str) {
        let s = self.start_of(ns, name);
        let _ = self.w.write_event(Event::Start(s));
    }

    /// Opens an element with attributes.
    pub fn open_with(&mut self, ns: &str, name: &str, attrs: &[(&str, &str)]) {
        let mut s = self.start_of(ns, name);
        for a in attrs {
            s.push_attribute(*a);
        }
        let _ = self.w.write_event(Event::Start(s));
    }

    /// Closes an element.
    pub fn close(&mut self, ns: &str, name: &str) {
        let q = self.qname(ns, name);
        let _ = self.w.write_event(Event::End(BytesEnd::new(q)));
    }

    /// An empty element.
    pub fn empty(&mut self, ns: &str, name: &str) {
        let s = self.start_of(ns, name);
        let _ = self.w.write_event(Event::Empty(s));
    }

    /// An empty element with attributes.
    pub fn empty_with(&mut self, ns: &str, name: &str, attrs: &[(&str, &str)]) {
        let mut s = self.start_of(ns, name);
        for a in attrs {
            s.push_attribute(*a);
        }
        let _ = self.w.write_event(Event::Empty(s));
    }

    /// Text (escaped).
    pub fn text(&mut self, text: &str) {
        let _ = self.w.write_event(Event::Text(BytesText::new(text)));
    }

    /// An element holding text.
    pub fn leaf(&mut self, ns: &str, name: &str, text: &str) {
        self.open(ns, name);
        self.text(text);
        self.close(ns, name);
    }

    /// `<D:href>` elements.
    pub fn href(&mut self, href: &str) {
        self.leaf(DAV, "href", href);
    }

    /// Closes the root and returns the bytes.
    pub fn finish(mut self, root_ns: &str, root: &str) -> Vec<u8> {
        self.close(root_ns, root);
        self.w.into_inner().into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_namespaces_text_and_entities() {
        let body = br#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:displayname/><c:calendar-description>a &amp; b &#x263A;</c:calendar-description></d:prop></d:propfind>"#;
        let root = parse(body).unwrap();
        assert!(root.is(DAV, "propfind"));
        let prop = root.child(DAV, "prop").unwrap();
        assert!(prop.child(DAV, "displayname").is_some());
        assert_eq!(
            prop.child(CALDAV, "calendar-description").unwrap().text,
            "a & b \u{263A}"
        );
        assert!(parse(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").is_err());
        assert!(parse(b"<a><b></a>").is_err());
    }

    #[test]
    fn writes_escaped_text() {
        let mut o = Out::new(DAV, "multistatus");
        o.leaf(DAV, "displayname", "<a & \"b\">");
        o.empty("urn:x", "odd");
        let s = String::from_utf8(o.finish(DAV, "multistatus")).unwrap();
        assert!(s.contains("&lt;a &amp; &quot;b&quot;&gt;"), "{s}");
        assert!(s.contains("<X:odd xmlns:X=\"urn:x\"/>"), "{s}");
        parse(s.as_bytes()).unwrap();
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_xmlish(s in "[<>/a-z:=\" &;#x0-9D]{0,200}") {
            let _ = parse(s.as_bytes());
        }
    }
}
