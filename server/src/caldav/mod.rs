//! CalDAV (RFC 4791), WebDAV sync (RFC 6578) and the discovery clients need (RFC 5397,
//! RFC 6764), over the store's CalDAV collections (`calstore_core::caldav`, decision 0013).
//!
//! URL layout:
//!
//! | path | what |
//! |---|---|
//! | `/.well-known/caldav` | redirects to `/dav/` |
//! | `/dav/` | the root: `current-user-principal` |
//! | `/dav/principals/LOGIN/` | the account: `calendar-home-set`, `calendar-user-address-set`, scheduling URLs |
//! | `/dav/calendars/HOME/` | the collections of one calendar the account may use; HOME is the calendar's address without `mailto:` (`alf@vega.com`), or the whole URI percent-encoded |
//! | `/dav/calendars/HOME/COLLECTION/` | a calendar collection (`default` always exists) |
//! | `/dav/calendars/HOME/COLLECTION/NAME.ics` | a resource |
//!
//! Every request but OPTIONS needs Basic credentials of an active account
//! ([`basic`]); what it may do on a calendar is its grant (read, write, owner).

pub mod basic;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use calstore_core::caldav::{self, CaldavError, Collection, Resource, parse_resource};
use calstore_core::ical::datetime::format_utc;
use calstore_core::sync::wire::Role;
use calstore_core::{RecordOptions, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::AppState;
use crate::pool::PoolError;
use basic::Principal;
use xml::{CALDAV, CS, DAV, Elem, ICAL, Out};

type App = Arc<AppState>;

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'@')
    .remove(b'+');

/// The schedule inbox and outbox of every calendar (names no collection may take).
const INBOX: &str = "inbox";
/// See [`INBOX`].
const OUTBOX: &str = "outbox";

/// The prefix of sync tokens.
const TOKEN_PREFIX: &str = "urn:calstore:sync:";

/// The CalDAV routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", any(site_root))
        .route("/.well-known/caldav", any(well_known))
        .route("/dav", any(dav))
        .route("/dav/", any(dav))
        .route("/dav/{*rest}", any(dav))
}

async fn well_known() -> Response {
    Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, "/dav/")
        .body(Body::empty())
        .unwrap_or_default()
}

/// Whether a request to `path` is CalDAV's (its answers keep their own bodies and headers,
/// e.g. `WWW-Authenticate`, rather than the sync protocol's JSON errors).
pub fn is_dav_request(method: &Method, path: &str) -> bool {
    path.starts_with("/dav")
        || path.starts_with("/.well-known")
        || (path == "/" && is_root_method(method))
}

/// The methods `/` answers as CalDAV's root.
fn is_root_method(method: &Method) -> bool {
    method.as_str() == "PROPFIND" || method == Method::OPTIONS
}

/// `/`, the server's address: clients given only that (python-caldav, vdirsyncer, which do
/// not look up `/.well-known/caldav`) PROPFIND it for `current-user-principal`, so PROPFIND
/// and OPTIONS answer as `/dav/` does. Other methods on `/` get the web root's
/// `index.html` when the server has one, else 404.
async fn site_root(
    state: State<App>,
    peer: ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_root_method(&method) {
        return dav(state, peer, method, uri, headers, body).await;
    }
    // Any other method on `/` is the web calendar's (`serve --web-root`), if there is one.
    let Some(root) = state.config.web_root.clone() else {
        return status(StatusCode::NOT_FOUND);
    };
    let mut req = axum::http::Request::new(Body::empty());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    match crate::routes::web_files(&root).try_call(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Root,
    Principals,
    Principal(String),
    Home(String),
    Collection(String, String),
    Resource(String, String, String),
}

fn encode(seg: &str) -> String {
    utf8_percent_encode(seg, SEGMENT).to_string()
}

/// The path segment of a calendar's home.
fn home_segment(calendar: &str) -> String {
    match calendar.strip_prefix("mailto:") {
        Some(rest) if !rest.contains(':') => encode(rest),
        _ => encode(calendar),
    }
}

fn home_href(calendar: &str) -> String {
    format!("/dav/calendars/{}/", home_segment(calendar))
}

fn collection_href(calendar: &str, coll: &str) -> String {
    format!("{}{}/", home_href(calendar), encode(coll))
}

fn resource_href(calendar: &str, coll: &str, name: &str) -> String {
    format!("{}{}", collection_href(calendar, coll), encode(name))
}

fn principal_href(login: &str) -> String {
    format!("/dav/principals/{}/", encode(login))
}

/// Reads a path (or a full URL) into a target.
fn target_of(path: &str) -> Option<Target> {
    let path = match path.find("://") {
        Some(i) => {
            let rest = path.get(i + 3..)?;
            rest.find('/').and_then(|j| rest.get(j..)).unwrap_or("/")
        }
        None => path,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    // `/` is the root too (`site_root`).
    let rest = if path == "/" {
        ""
    } else {
        path.strip_prefix("/dav")?
    };
    let mut segs = Vec::new();
    for s in rest.split('/').filter(|s| !s.is_empty()) {
        let d = percent_decode_str(s).decode_utf8().ok()?;
        segs.push(d.into_owned());
    }
    let calendar = |s: &str| {
        if s.contains(':') {
            s.to_owned()
        } else {
            format!("mailto:{s}")
        }
    };
    Some(match segs.as_slice() {
        [] => Target::Root,
        [p] if p == "principals" => Target::Principals,
        [p, login] if p == "principals" => Target::Principal(login.clone()),
        [c, h] if c == "calendars" => Target::Home(calendar(h)),
        [c, h, coll] if c == "calendars" => Target::Collection(calendar(h), coll.clone()),
        [c, h, coll, name] if c == "calendars" => {
            Target::Resource(calendar(h), coll.clone(), name.clone())
        }
        _ => return None,
    })
}

// ---- responses --------------------------------------------------------------------------

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(code.canonical_reason().unwrap_or("").to_owned()))
        .unwrap_or_default()
}

fn text_response(code: StatusCode, msg: &str) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(msg.to_owned()))
        .unwrap_or_default()
}

fn xml_response(code: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// A `DAV:error` body naming a failed precondition.
fn precondition(code: StatusCode, ns: &str, name: &str, href: Option<&str>) -> Response {
    let mut o = Out::new(DAV, "error");
    match href {
        Some(h) => {
            o.open(ns, name);
            o.href(h);
            o.close(ns, name);
        }
        None => o.empty(ns, name),
    }
    xml_response(code, o.finish(DAV, "error"))
}

fn unauthorized() -> Response {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"calstore\", charset=\"UTF-8\"",
        )
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from("authentication required"))
        .unwrap_or_default()
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Db(db) if db.is_retryable() => status(StatusCode::SERVICE_UNAVAILABLE),
        StoreError::InvalidData(m) => text_response(StatusCode::BAD_REQUEST, &m),
        StoreError::NotFound(_) => status(StatusCode::NOT_FOUND),
        other => {
            eprintln!(
                "{{\"event\":\"caldav_error\",\"error\":{:?}}}",
                other.to_string()
            );
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn pool_error(e: PoolError) -> Response {
    match e {
        PoolError::Store(s) => store_error(s),
        PoolError::Closed => status(StatusCode::SERVICE_UNAVAILABLE),
    }
}

fn caldav_error(e: CaldavError, href: &str) -> Response {
    match e {
        CaldavError::NotFound => status(StatusCode::NOT_FOUND),
        CaldavError::PreconditionFailed => status(StatusCode::PRECONDITION_FAILED),
        CaldavError::UidConflict { collection, name } => {
            let _ = href;
            precondition(
                StatusCode::CONFLICT,
                CALDAV,
                "no-uid-conflict",
                Some(&format!("/{collection}/{name}")),
            )
        }
        CaldavError::Exists => precondition(
            StatusCode::METHOD_NOT_ALLOWED,
            DAV,
            "resource-must-be-null",
            None,
        ),
        CaldavError::UnsupportedComponent(_) => precondition(
            StatusCode::FORBIDDEN,
            CALDAV,
            "supported-calendar-component",
            None,
        ),
        CaldavError::Invalid(m) => text_response(StatusCode::BAD_REQUEST, &m),
        CaldavError::Store(s) => store_error(s),
    }
}

// ---- the handler ------------------------------------------------------------------------

/// What every request carries.
struct Req {
    state: App,
    principal: Principal,
    method: Method,
    target: Target,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

async fn dav(
    State(state): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return Response::builder()
            .status(StatusCode::OK)
            .header(
                "DAV",
                "1, 2, 3, access-control, calendar-access, calendar-schedule, calendar-auto-schedule, extended-mkcol, sync-collection",
            )
            .header(
                header::ALLOW,
                "OPTIONS, GET, HEAD, PUT, DELETE, POST, PROPFIND, PROPPATCH, MKCALENDAR, MKCOL, REPORT",
            )
            .body(Body::empty())
            .unwrap_or_default();
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match basic::authenticate(&state, auth, peer).await {
        Ok(Some(p)) => p,
        Ok(None) => return unauthorized(),
        Err(e) => return store_error(e),
    };
    let path = uri.path().to_owned();
    let Some(target) = target_of(&path) else {
        return status(StatusCode::NOT_FOUND);
    };
    let req = Req {
        state,
        principal,
        method,
        target,
        path,
        headers,
        body,
    };
    match req.method.as_str() {
        "PROPFIND" => propfind(req).await,
        "PROPPATCH" => proppatch(req).await,
        "MKCALENDAR" | "MKCOL" => mkcalendar(req).await,
        "REPORT" => report(req).await,
        "GET" | "HEAD" => get(req).await,
        "PUT" => put(req).await,
        "DELETE" => delete(req).await,
        "POST" => post(req).await,
        _ => status(StatusCode::METHOD_NOT_ALLOWED),
    }
}

fn can_read(p: &Principal, calendar: &str) -> bool {
    p.role(calendar).is_some()
}

fn can_write(p: &Principal, calendar: &str) -> bool {
    p.role(calendar).is_some_and(|r| r <= Role::Write)
}

fn record_options(state: &AppState) -> RecordOptions {
    RecordOptions::new(state.clock.now())
}

fn parse_body(body: &Bytes) -> Result<Option<Elem>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    xml::parse(body)
        .map(Some)
        .map_err(|e| text_response(StatusCode::BAD_REQUEST, &format!("bad XML: {e}")))
}

/// The preconditions a write's headers state.
fn preconditions(headers: &HeaderMap) -> caldav::Preconditions {
    caldav::Preconditions {
        if_match: if_match(headers),
        if_none_match_any: if_none_match_any(headers),
        if_schedule_tag: headers
            .get("If-Schedule-Tag-Match")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned()),
    }
}

/// A collection or mailbox with, when `items`, its resources.
fn load(
    s: &mut crate::pool::PooledStore,
    cal: &str,
    coll: &str,
    items: bool,
) -> Result<Option<(Node, Vec<Resource>)>, StoreError> {
    let rev = s.caldav_token(cal)?;
    if coll == INBOX {
        let list = if items {
            s.caldav_inbox(cal)?
        } else {
            Vec::new()
        };
        return Ok(Some((Node::Inbox(cal.to_owned(), rev), list)));
    }
    if coll == OUTBOX {
        return Ok(Some((Node::Outbox(cal.to_owned()), Vec::new())));
    }
    let Some(c) = s.caldav_collection(cal, coll)? else {
        return Ok(None);
    };
    let list = if items {
        s.caldav_list(cal, coll)?
    } else {
        Vec::new()
    };
    Ok(Some((Node::Collection(cal.to_owned(), c, rev), list)))
}

/// One resource of a collection or of the inbox.
fn load_resource(
    s: &mut crate::pool::PooledStore,
    cal: &str,
    coll: &str,
    name: &str,
) -> Result<Option<Resource>, StoreError> {
    match coll {
        INBOX => Ok(s.caldav_inbox(cal)?.into_iter().find(|r| r.name == name)),
        OUTBOX => Ok(None),
        _ => s.caldav_get(cal, coll, name),
    }
}

/// The ETag of an `If-Match` header (one entity tag or `*`).
fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().trim_start_matches("W/").to_owned())
}

fn if_none_match_any(headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.trim() == "*")
}

// ---- nodes and their properties ----------------------------------------------------------

/// A resource a multistatus answers about.
enum Node {
    Root,
    Principal,
    Home(String),
    Inbox(String, i64),
    Outbox(String),
    Collection(String, Collection, i64),
    Resource(String, Resource),
}

/// A property value.
enum Value {
    Text(String),
    Href(String),
    Hrefs(Vec<String>),
    Empty,
    Types(Vec<(&'static str, &'static str)>),
    Comps(Vec<String>),
    Reports(Vec<(&'static str, &'static str)>),
    Privileges(Vec<&'static str>),
    CalendarData(String),
    DataTypes,
}

const ALLPROP: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "getetag"),
    (DAV, "getcontenttype"),
    (DAV, "getcontentlength"),
    (CS, "getctag"),
    (DAV, "sync-token"),
    (CALDAV, "supported-calendar-component-set"),
    (CALDAV, "calendar-description"),
    (ICAL, "calendar-color"),
];

fn sync_token(revision: i64) -> String {
    format!("{TOKEN_PREFIX}{revision}")
}

fn privileges(role: Option<Role>) -> Value {
    match role {
        Some(r) if r <= Role::Write => Value::Privileges(vec![
            "read",
            "write",
            "write-properties",
            "write-content",
            "bind",
            "unbind",
            "read-current-user-privilege-set",
        ]),
        _ => Value::Privileges(vec!["read", "read-current-user-privilege-set"]),
    }
}

fn prop_value(p: &Principal, node: &Node, ns: &str, name: &str) -> Option<Value> {
    let principal = principal_href(&p.login);
    match (ns, name) {
        (DAV, "current-user-principal") => return Some(Value::Href(principal)),
        (DAV, "principal-collection-set") => {
            return Some(Value::Href("/dav/principals/".to_owned()));
        }
        _ => {}
    }
    match node {
        Node::Root => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Types(vec![(DAV, "collection")])),
            (DAV, "displayname") => Some(Value::Text("calstore".into())),
            _ => None,
        },
        Node::Principal => match (ns, name) {
            (DAV, "resourcetype") => {
                Some(Value::Types(vec![(DAV, "collection"), (DAV, "principal")]))
            }
            (DAV, "displayname") => Some(Value::Text(p.login.clone())),
            (DAV, "principal-URL") | (DAV, "owner") => Some(Value::Href(principal)),
            (CALDAV, "calendar-home-set") => Some(Value::Hrefs(
                p.calendars.iter().map(|(c, _)| home_href(c)).collect(),
            )),
            (CALDAV, "calendar-user-address-set") => {
                Some(Value::Hrefs(vec![p.own.clone(), principal]))
            }
            (CALDAV, "calendar-user-type") => Some(Value::Text("INDIVIDUAL".into())),
            (DAV, "current-user-privilege-set") => Some(privileges(None)),
            (CALDAV, "schedule-inbox-URL") => Some(Value::Href(collection_href(&p.own, INBOX))),
            (CALDAV, "schedule-outbox-URL") => Some(Value::Href(collection_href(&p.own, OUTBOX))),
            (CALDAV, "schedule-default-calendar-URL") => Some(Value::Href(collection_href(
                &p.own,
                caldav::DEFAULT_COLLECTION,
            ))),
            _ => None,
        },
        Node::Inbox(cal, revision) => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Types(vec![
                (DAV, "collection"),
                (CALDAV, "schedule-inbox"),
            ])),
            (DAV, "displayname") => Some(Value::Text("Inbox".into())),
            (CS, "getctag") => Some(Value::Text(format!("\"{revision}\""))),
            (DAV, "owner") => Some(Value::Href(principal)),
            (DAV, "current-user-privilege-set") => Some(privileges(p.role(cal))),
            (CALDAV, "schedule-default-calendar-URL") => Some(Value::Href(collection_href(
                cal,
                caldav::DEFAULT_COLLECTION,
            ))),
            _ => None,
        },
        Node::Outbox(cal) => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Types(vec![
                (DAV, "collection"),
                (CALDAV, "schedule-outbox"),
            ])),
            (DAV, "displayname") => Some(Value::Text("Outbox".into())),
            (DAV, "owner") => Some(Value::Href(principal)),
            (DAV, "current-user-privilege-set") => Some(privileges(p.role(cal))),
            _ => None,
        },
        Node::Home(cal) => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Types(vec![(DAV, "collection")])),
            (DAV, "displayname") => Some(Value::Text(cal.clone())),
            (DAV, "owner") => Some(Value::Href(principal)),
            (DAV, "current-user-privilege-set") => Some(privileges(p.role(cal))),
            _ => None,
        },
        Node::Collection(cal, c, revision) => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Types(vec![
                (DAV, "collection"),
                (CALDAV, "calendar"),
            ])),
            (DAV, "displayname") => Some(Value::Text(
                c.properties
                    .get(&format!("{{{DAV}}}displayname"))
                    .cloned()
                    .unwrap_or_else(|| c.name.clone()),
            )),
            (CS, "getctag") => Some(Value::Text(format!("\"{revision}\""))),
            (DAV, "getetag") => Some(Value::Text(format!("\"c{revision}\""))),
            (DAV, "sync-token") => Some(Value::Text(sync_token(*revision))),
            (CALDAV, "supported-calendar-component-set") => {
                Some(Value::Comps(c.components.clone()))
            }
            (DAV, "supported-report-set") => Some(Value::Reports(vec![
                (CALDAV, "calendar-query"),
                (CALDAV, "calendar-multiget"),
                (CALDAV, "free-busy-query"),
                (DAV, "sync-collection"),
            ])),
            (CALDAV, "supported-calendar-data") => Some(Value::DataTypes),
            (CALDAV, "max-resource-size") => {
                Some(Value::Text(caldav::MAX_RESOURCE_SIZE.to_string()))
            }
            (CALDAV, "schedule-calendar-transp") => Some(Value::Types(vec![(CALDAV, "opaque")])),
            (DAV, "owner") => Some(Value::Href(principal)),
            (DAV, "current-user-privilege-set") => Some(privileges(p.role(cal))),
            _ => c
                .properties
                .get(&format!("{{{ns}}}{name}"))
                .map(|v| Value::Text(v.clone())),
        },
        Node::Resource(cal, r) => match (ns, name) {
            (DAV, "resourcetype") => Some(Value::Empty),
            (DAV, "getetag") => Some(Value::Text(r.etag.clone())),
            (DAV, "getcontenttype") => Some(Value::Text(format!(
                "text/calendar; charset=utf-8; component={}",
                r.kind.to_ascii_lowercase()
            ))),
            (DAV, "getcontentlength") => Some(Value::Text(r.text.len().to_string())),
            (CALDAV, "calendar-data") => Some(Value::CalendarData(r.text.clone())),
            (CALDAV, "schedule-tag") if r.text.contains("ORGANIZER") => {
                Some(Value::Text(caldav::schedule_tag(&r.text)))
            }
            (DAV, "owner") => Some(Value::Href(principal)),
            (DAV, "current-user-privilege-set") => Some(privileges(p.role(cal))),
            _ => None,
        },
    }
}

fn write_value(o: &mut Out, ns: &str, name: &str, v: &Value) {
    match v {
        Value::Text(t) | Value::CalendarData(t) => o.leaf(ns, name, t),
        Value::Href(h) => {
            o.open(ns, name);
            o.href(h);
            o.close(ns, name);
        }
        Value::Hrefs(hs) => {
            o.open(ns, name);
            for h in hs {
                o.href(h);
            }
            o.close(ns, name);
        }
        Value::Empty => o.empty(ns, name),
        Value::Types(ts) => {
            o.open(ns, name);
            for (tns, t) in ts {
                o.empty(tns, t);
            }
            o.close(ns, name);
        }
        Value::Comps(cs) => {
            o.open(ns, name);
            for c in cs {
                o.empty_with(CALDAV, "comp", &[("name", c)]);
            }
            o.close(ns, name);
        }
        Value::Reports(rs) => {
            o.open(ns, name);
            for (rns, r) in rs {
                o.open(DAV, "supported-report");
                o.open(DAV, "report");
                o.empty(rns, r);
                o.close(DAV, "report");
                o.close(DAV, "supported-report");
            }
            o.close(ns, name);
        }
        Value::Privileges(ps) => {
            o.open(ns, name);
            for p in ps {
                o.open(DAV, "privilege");
                o.empty(DAV, p);
                o.close(DAV, "privilege");
            }
            o.close(ns, name);
        }
        Value::DataTypes => {
            o.open(ns, name);
            o.empty_with(
                CALDAV,
                "calendar-data",
                &[("content-type", "text/calendar"), ("version", "2.0")],
            );
            o.close(ns, name);
        }
    }
}

/// Which properties a request asks for.
#[derive(Clone)]
enum Wanted {
    All,
    Names,
    Props(Vec<(String, String)>),
}

fn wanted_of(prop: Option<&Elem>) -> Wanted {
    match prop {
        Some(p) => Wanted::Props(
            p.children
                .iter()
                .map(|c| (c.ns.clone(), c.name.clone()))
                .collect(),
        ),
        None => Wanted::All,
    }
}

/// One `DAV:response` with its propstats.
fn response(o: &mut Out, p: &Principal, href: &str, node: &Node, wanted: &Wanted) {
    o.open(DAV, "response");
    o.href(href);
    let props: Vec<(String, String)> = match wanted {
        Wanted::All | Wanted::Names => ALLPROP
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
        Wanted::Props(ps) => ps.clone(),
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (ns, name) in &props {
        match prop_value(p, node, ns, name) {
            Some(v) => found.push((ns, name, v)),
            None => missing.push((ns, name)),
        }
    }
    if !found.is_empty() {
        o.open(DAV, "propstat");
        o.open(DAV, "prop");
        for (ns, name, v) in &found {
            if matches!(wanted, Wanted::Names) {
                o.empty(ns, name);
            } else {
                write_value(o, ns, name, v);
            }
        }
        o.close(DAV, "prop");
        o.leaf(DAV, "status", "HTTP/1.1 200 OK");
        o.close(DAV, "propstat");
    }
    if !missing.is_empty() && matches!(wanted, Wanted::Props(_)) {
        o.open(DAV, "propstat");
        o.open(DAV, "prop");
        for (ns, name) in &missing {
            o.empty(ns, name);
        }
        o.close(DAV, "prop");
        o.leaf(DAV, "status", "HTTP/1.1 404 Not Found");
        o.close(DAV, "propstat");
    }
    o.close(DAV, "response");
}

fn missing_response(o: &mut Out, href: &str) {
    o.open(DAV, "response");
    o.href(href);
    o.leaf(DAV, "status", "HTTP/1.1 404 Not Found");
    o.close(DAV, "response");
}

// ---- PROPFIND ----------------------------------------------------------------------------

async fn propfind(req: Req) -> Response {
    let body = match parse_body(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let wanted = match &body {
        None => Wanted::All,
        Some(b) if b.child(DAV, "propname").is_some() => Wanted::Names,
        Some(b) if b.child(DAV, "allprop").is_some() => Wanted::All,
        Some(b) => wanted_of(b.child(DAV, "prop")),
    };
    let depth1 = req
        .headers
        .get("Depth")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|d| d.trim() != "0");
    let p = req.principal.clone();
    let nodes: Vec<(String, Node)> = match req.target.clone() {
        Target::Root | Target::Principals => {
            let mut v = vec![(req.path.clone(), Node::Root)];
            if depth1 {
                v.push((principal_href(&p.login), Node::Principal));
            }
            v
        }
        Target::Principal(login) => {
            if login != p.login {
                return status(StatusCode::NOT_FOUND);
            }
            vec![(principal_href(&login), Node::Principal)]
        }
        Target::Home(cal) => {
            if !can_read(&p, &cal) {
                return status(StatusCode::NOT_FOUND);
            }
            let mut v = vec![(home_href(&cal), Node::Home(cal.clone()))];
            if depth1 {
                let c2 = cal.clone();
                let listed = req
                    .state
                    .pool
                    .run(move |s| Ok((s.caldav_collections(&c2)?, s.caldav_token(&c2)?)))
                    .await;
                let (colls, rev) = match listed {
                    Ok(x) => x,
                    Err(e) => return pool_error(e),
                };
                for c in colls {
                    v.push((
                        collection_href(&cal, &c.name),
                        Node::Collection(cal.clone(), c, rev),
                    ));
                }
                v.push((collection_href(&cal, INBOX), Node::Inbox(cal.clone(), rev)));
                v.push((collection_href(&cal, OUTBOX), Node::Outbox(cal.clone())));
            }
            v
        }
        Target::Collection(cal, coll) => {
            if !can_read(&p, &cal) {
                return status(StatusCode::NOT_FOUND);
            }
            let (c2, coll2) = (cal.clone(), coll.clone());
            let found = req
                .state
                .pool
                .run(move |s| load(s, &c2, &coll2, depth1))
                .await;
            let (node, items) = match found {
                Ok(Some(x)) => x,
                Ok(None) => return status(StatusCode::NOT_FOUND),
                Err(e) => return pool_error(e),
            };
            let mut v = vec![(collection_href(&cal, &coll), node)];
            for r in items {
                v.push((
                    resource_href(&cal, &coll, &r.name),
                    Node::Resource(cal.clone(), r),
                ));
            }
            v
        }
        Target::Resource(cal, coll, name) => {
            if !can_read(&p, &cal) {
                return status(StatusCode::NOT_FOUND);
            }
            let (c2, coll2, n2) = (cal.clone(), coll.clone(), name.clone());
            match req
                .state
                .pool
                .run(move |s| load_resource(s, &c2, &coll2, &n2))
                .await
            {
                Ok(Some(r)) => vec![(
                    resource_href(&cal, &coll, &name),
                    Node::Resource(cal.clone(), r),
                )],
                Ok(None) => return status(StatusCode::NOT_FOUND),
                Err(e) => return pool_error(e),
            }
        }
    };
    let mut o = Out::new(DAV, "multistatus");
    for (href, node) in &nodes {
        response(&mut o, &p, href, node, &wanted);
    }
    xml_response(StatusCode::MULTI_STATUS, o.finish(DAV, "multistatus"))
}

// ---- PROPPATCH and MKCALENDAR ---------------------------------------------------------------

/// Properties a client may not set.
fn protected(ns: &str, name: &str) -> bool {
    matches!(
        (ns, name),
        (DAV, "resourcetype")
            | (DAV, "getetag")
            | (DAV, "getctag")
            | (CS, "getctag")
            | (DAV, "sync-token")
            | (DAV, "current-user-privilege-set")
            | (DAV, "owner")
            | (DAV, "supported-report-set")
            | (CALDAV, "supported-calendar-component-set")
            | (CALDAV, "supported-calendar-data")
            | (CALDAV, "max-resource-size")
    )
}

fn clark(ns: &str, name: &str) -> String {
    format!("{{{ns}}}{name}")
}

async fn proppatch(req: Req) -> Response {
    let Target::Collection(cal, coll) = req.target.clone() else {
        return status(StatusCode::FORBIDDEN);
    };
    if !can_write(&req.principal, &cal) {
        return status(StatusCode::FORBIDDEN);
    }
    let body = match parse_body(&req.body) {
        Ok(Some(b)) if b.is(DAV, "propertyupdate") => b,
        Ok(_) => return status(StatusCode::BAD_REQUEST),
        Err(r) => return r,
    };
    let mut changes: Vec<(String, Option<String>)> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut all: Vec<(String, String)> = Vec::new();
    for op in &body.children {
        let set = op.is(DAV, "set");
        if !set && !op.is(DAV, "remove") {
            continue;
        }
        for prop in op.all(DAV, "prop") {
            for p in &prop.children {
                all.push((p.ns.clone(), p.name.clone()));
                if protected(&p.ns, &p.name) {
                    refused.push((p.ns.clone(), p.name.clone()));
                    continue;
                }
                changes.push((clark(&p.ns, &p.name), set.then(|| p.text.clone())));
            }
        }
    }
    let code = if refused.is_empty() {
        let (c2, coll2) = (cal.clone(), coll.clone());
        match req
            .state
            .pool
            .run(move |s| Ok(s.caldav_set_properties(&c2, &coll2, &changes)))
            .await
        {
            Ok(Ok(())) => "HTTP/1.1 200 OK",
            Ok(Err(CaldavError::NotFound)) => return status(StatusCode::NOT_FOUND),
            Ok(Err(e)) => return caldav_error(e, &req.path),
            Err(e) => return pool_error(e),
        }
    } else {
        "HTTP/1.1 424 Failed Dependency"
    };
    let mut o = Out::new(DAV, "multistatus");
    o.open(DAV, "response");
    o.href(&req.path);
    for (ns, name) in &all {
        let st = if refused.iter().any(|(a, b)| a == ns && b == name) {
            "HTTP/1.1 403 Forbidden"
        } else {
            code
        };
        o.open(DAV, "propstat");
        o.open(DAV, "prop");
        o.empty(ns, name);
        o.close(DAV, "prop");
        o.leaf(DAV, "status", st);
        o.close(DAV, "propstat");
    }
    o.close(DAV, "response");
    xml_response(StatusCode::MULTI_STATUS, o.finish(DAV, "multistatus"))
}

async fn mkcalendar(req: Req) -> Response {
    let Target::Collection(cal, coll) = req.target.clone() else {
        return status(StatusCode::FORBIDDEN);
    };
    if req.principal.role(&cal) != Some(Role::Owner) {
        return status(StatusCode::FORBIDDEN);
    }
    if coll == INBOX || coll == OUTBOX {
        return precondition(
            StatusCode::METHOD_NOT_ALLOWED,
            DAV,
            "resource-must-be-null",
            None,
        );
    }
    let body = match parse_body(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut components = Vec::new();
    let mut props = Vec::new();
    let mut is_calendar = req.method.as_str() == "MKCALENDAR";
    if let Some(b) = &body {
        for set in b.all(DAV, "set") {
            for prop in set.all(DAV, "prop") {
                for p in &prop.children {
                    if p.is(CALDAV, "supported-calendar-component-set") {
                        for c in p.all(CALDAV, "comp") {
                            if let Some(n) = c.attr("name") {
                                let n = n.to_ascii_uppercase();
                                if !matches!(n.as_str(), "VEVENT" | "VTODO" | "VJOURNAL") {
                                    return precondition(
                                        StatusCode::FORBIDDEN,
                                        CALDAV,
                                        "supported-calendar-component",
                                        None,
                                    );
                                }
                                components.push(n);
                            }
                        }
                    } else if p.is(DAV, "resourcetype") {
                        is_calendar |= p.child(CALDAV, "calendar").is_some();
                    } else if !protected(&p.ns, &p.name) {
                        props.push((clark(&p.ns, &p.name), p.text.clone()));
                    }
                }
            }
        }
    }
    if !is_calendar {
        return status(StatusCode::FORBIDDEN);
    }
    let (c2, coll2) = (cal.clone(), coll.clone());
    match req
        .state
        .pool
        .run(move |s| Ok(s.caldav_make_collection(&c2, &coll2, &components, &props)))
        .await
    {
        Ok(Ok(())) => Response::builder()
            .status(StatusCode::CREATED)
            .header(header::LOCATION, collection_href(&cal, &coll))
            .body(Body::empty())
            .unwrap_or_default(),
        Ok(Err(e)) => caldav_error(e, &req.path),
        Err(e) => pool_error(e),
    }
}

// ---- GET, PUT, DELETE ---------------------------------------------------------------------

async fn get(req: Req) -> Response {
    match req.target.clone() {
        Target::Resource(cal, coll, name) => {
            if !can_read(&req.principal, &cal) {
                return status(StatusCode::NOT_FOUND);
            }
            match req
                .state
                .pool
                .run(move |s| load_resource(s, &cal, &coll, &name))
                .await
            {
                Ok(Some(r)) => {
                    let len = r.text.len();
                    let tag = r
                        .text
                        .contains("ORGANIZER")
                        .then(|| caldav::schedule_tag(&r.text));
                    let body = if req.method == Method::HEAD {
                        Body::empty()
                    } else {
                        Body::from(r.text)
                    };
                    let mut b = Response::builder()
                        .status(StatusCode::OK)
                        .header(header::CONTENT_TYPE, "text/calendar; charset=utf-8")
                        .header(header::ETAG, r.etag)
                        .header(header::CONTENT_LENGTH, len);
                    if let Some(t) = tag {
                        b = b.header("Schedule-Tag", t);
                    }
                    b.body(body).unwrap_or_default()
                }
                Ok(None) => status(StatusCode::NOT_FOUND),
                Err(e) => pool_error(e),
            }
        }
        Target::Collection(..) | Target::Home(_) | Target::Root | Target::Principal(_) => {
            text_response(StatusCode::OK, "calstore CalDAV: use a CalDAV client\n")
        }
        Target::Principals => status(StatusCode::NOT_FOUND),
    }
}

async fn put(req: Req) -> Response {
    let Target::Resource(cal, coll, name) = req.target.clone() else {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    if !can_write(&req.principal, &cal) || coll == INBOX || coll == OUTBOX {
        return status(StatusCode::FORBIDDEN);
    }
    let parsed = match parse_resource(&req.body, Tz::UTC) {
        Ok(p) => p,
        Err(e) => {
            let why = e.to_string();
            eprintln!("{{\"event\":\"caldav_put_refused\",\"why\":{why:?}}}");
            return precondition(StatusCode::FORBIDDEN, CALDAV, "valid-calendar-data", None);
        }
    };
    let pre = preconditions(&req.headers);
    let opts = record_options(&req.state);
    let (c2, coll2, n2) = (cal.clone(), coll.clone(), name.clone());
    match req
        .state
        .pool
        .run(move |s| Ok(s.caldav_put(&c2, &coll2, &n2, &parsed, &pre, &opts)))
        .await
    {
        Ok(Ok((stored, created))) => {
            let mut b = Response::builder()
                .status(if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::NO_CONTENT
                })
                .header(header::ETAG, stored.etag);
            if stored.text.contains("ORGANIZER") {
                b = b.header("Schedule-Tag", caldav::schedule_tag(&stored.text));
            }
            b.body(Body::empty()).unwrap_or_default()
        }
        Ok(Err(CaldavError::UidConflict {
            collection,
            name: n,
        })) => precondition(
            StatusCode::CONFLICT,
            CALDAV,
            "no-uid-conflict",
            Some(&resource_href(&cal, &collection, &n)),
        ),
        Ok(Err(CaldavError::NotFound)) => status(StatusCode::CONFLICT),
        Ok(Err(CaldavError::Store(StoreError::InvalidData(m)))) => {
            eprintln!("{{\"event\":\"caldav_put_refused\",\"why\":{m:?}}}");
            precondition(StatusCode::FORBIDDEN, CALDAV, "valid-calendar-data", None)
        }
        Ok(Err(e)) => caldav_error(e, &req.path),
        Err(e) => pool_error(e),
    }
}

async fn delete(req: Req) -> Response {
    let pre = preconditions(&req.headers);
    let opts = record_options(&req.state);
    match req.target.clone() {
        Target::Resource(cal, coll, name) if coll == INBOX => {
            if !can_write(&req.principal, &cal) {
                return status(StatusCode::FORBIDDEN);
            }
            match req
                .state
                .pool
                .run(move |s| s.caldav_inbox_delete(&cal, &name))
                .await
            {
                Ok(true) => status(StatusCode::NO_CONTENT),
                Ok(false) => status(StatusCode::NOT_FOUND),
                Err(e) => pool_error(e),
            }
        }
        Target::Resource(cal, coll, name) => {
            if !can_write(&req.principal, &cal) {
                return status(StatusCode::FORBIDDEN);
            }
            match req
                .state
                .pool
                .run(move |s| Ok(s.caldav_delete(&cal, &coll, &name, &pre, &opts)))
                .await
            {
                Ok(Ok(())) => status(StatusCode::NO_CONTENT),
                Ok(Err(e)) => caldav_error(e, &req.path),
                Err(e) => pool_error(e),
            }
        }
        Target::Collection(cal, coll) => {
            if req.principal.role(&cal) != Some(Role::Owner) || coll == INBOX || coll == OUTBOX {
                return status(StatusCode::FORBIDDEN);
            }
            match req
                .state
                .pool
                .run(move |s| Ok(s.caldav_delete_collection(&cal, &coll, &opts)))
                .await
            {
                Ok(Ok(())) => status(StatusCode::NO_CONTENT),
                Ok(Err(e)) => caldav_error(e, &req.path),
                Err(e) => pool_error(e),
            }
        }
        _ => status(StatusCode::FORBIDDEN),
    }
}

// ---- POST: free/busy through the outbox ------------------------------------------------

async fn post(req: Req) -> Response {
    let Target::Collection(cal, coll) = req.target.clone() else {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    if coll != OUTBOX {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if !can_write(&req.principal, &cal) {
        return status(StatusCode::FORBIDDEN);
    }
    let body = req.body.clone();
    let organiser = cal.clone();
    let answers = match req
        .state
        .pool
        .run(move |s| Ok(s.caldav_freebusy_request(&organiser, &body)))
        .await
    {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return caldav_error(e, &req.path),
        Err(e) => return pool_error(e),
    };
    let mut o = Out::new(CALDAV, "schedule-response");
    for a in answers {
        o.open(CALDAV, "response");
        o.open(CALDAV, "recipient");
        o.href(&a.recipient);
        o.close(CALDAV, "recipient");
        o.leaf(CALDAV, "request-status", &a.status);
        if let Some(d) = &a.data {
            o.leaf(CALDAV, "calendar-data", d);
        }
        o.close(CALDAV, "response");
    }
    xml_response(StatusCode::OK, o.finish(CALDAV, "schedule-response"))
}

// ---- REPORT ------------------------------------------------------------------------------

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    calstore_core::ical::datetime::parse_utc(s?.trim()).ok()
}

/// A calendar-query filter, as far as it is applied.
#[derive(Default)]
struct Filter {
    kind: Option<String>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// (property, text to find (None: must be defined), negate, must be absent)
    props: Vec<(String, Option<String>, bool, bool)>,
}

fn read_filter(filter: Option<&Elem>) -> Filter {
    let mut f = Filter::default();
    let Some(cal) = filter.and_then(|x| x.child(CALDAV, "comp-filter")) else {
        return f;
    };
    let Some(comp) = cal.child(CALDAV, "comp-filter") else {
        return f;
    };
    f.kind = comp.attr("name").map(str::to_ascii_uppercase);
    if let Some(tr) = comp.child(CALDAV, "time-range") {
        let start = parse_time(tr.attr("start")).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let end = parse_time(tr.attr("end")).unwrap_or(DateTime::<Utc>::MAX_UTC);
        f.range = Some((start, end));
    }
    for pf in comp.all(CALDAV, "prop-filter") {
        let Some(name) = pf.attr("name") else {
            continue;
        };
        let absent = pf.child(CALDAV, "is-not-defined").is_some();
        let (text, negate) = match pf.child(CALDAV, "text-match") {
            Some(tm) => (
                Some(tm.text.clone()),
                tm.attr("negate-condition") == Some("yes"),
            ),
            None => (None, false),
        };
        f.props
            .push((name.to_ascii_uppercase(), text, negate, absent));
    }
    f
}

/// The values of `name` in the main components of `text` (unfolded, unescaped loosely).
fn values_of(text: &str, kind: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut inside = false;
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split("\r\n") {
        if let Some(rest) = raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t'))
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        lines.push(raw.to_owned());
    }
    for l in &lines {
        let upper = l.to_ascii_uppercase();
        if let Some(component) = upper.strip_prefix("BEGIN:") {
            depth += 1;
            if depth == 2 && component == kind {
                inside = true;
            }
            continue;
        }
        if upper.starts_with("END:") {
            if depth == 2 {
                inside = false;
            }
            depth = depth.saturating_sub(1);
            continue;
        }
        if inside && depth == 2 {
            let pname_end = upper.find([':', ';']).unwrap_or(upper.len());
            if upper[..pname_end] == *name
                && let Some(colon) = value_start(l)
            {
                out.push(
                    l[colon..]
                        .replace("\\,", ",")
                        .replace("\\;", ";")
                        .replace("\\n", "\n"),
                );
            }
        }
    }
    out
}

fn value_start(line: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn matches_filter(r: &Resource, f: &Filter) -> bool {
    if let Some(k) = &f.kind
        && *k != r.kind
    {
        return false;
    }
    let kind = f.kind.clone().unwrap_or_else(|| r.kind.clone());
    for (name, text, negate, absent) in &f.props {
        let values = values_of(&r.text, &kind, name);
        if *absent {
            if !values.is_empty() {
                return false;
            }
            continue;
        }
        if values.is_empty() {
            return false;
        }
        if let Some(t) = text {
            let t = t.to_lowercase();
            let hit = values.iter().any(|v| v.to_lowercase().contains(&t));
            if hit == *negate {
                return false;
            }
        }
    }
    true
}

async fn report(req: Req) -> Response {
    let body = match parse_body(&req.body) {
        Ok(Some(b)) => b,
        Ok(None) => return status(StatusCode::BAD_REQUEST),
        Err(r) => return r,
    };
    let p = req.principal.clone();
    let wanted = wanted_of(body.child(DAV, "prop"));
    if body.is(CALDAV, "calendar-multiget") {
        let hrefs: Vec<String> = body
            .all(DAV, "href")
            .map(|h| h.text.trim().to_owned())
            .collect();
        let mut wanted_items = Vec::new();
        for h in &hrefs {
            match target_of(h) {
                Some(Target::Resource(cal, coll, name)) if can_read(&p, &cal) => {
                    wanted_items.push((h.clone(), Some((cal, coll, name))));
                }
                _ => wanted_items.push((h.clone(), None)),
            }
        }
        let items = wanted_items.clone();
        let found = req
            .state
            .pool
            .run(move |s| {
                let mut out = Vec::new();
                for (h, t) in items {
                    let r = match t {
                        Some((cal, coll, name)) => {
                            s.caldav_get(&cal, &coll, &name)?.map(|r| (cal, coll, r))
                        }
                        None => None,
                    };
                    out.push((h, r));
                }
                Ok(out)
            })
            .await;
        let found = match found {
            Ok(f) => f,
            Err(e) => return pool_error(e),
        };
        let mut o = Out::new(DAV, "multistatus");
        for (h, r) in found {
            match r {
                Some((cal, coll, r)) => {
                    let href = resource_href(&cal, &coll, &r.name);
                    response(&mut o, &p, &href, &Node::Resource(cal, r), &wanted);
                }
                None => missing_response(&mut o, &h),
            }
        }
        return xml_response(StatusCode::MULTI_STATUS, o.finish(DAV, "multistatus"));
    }
    let Target::Collection(cal, coll) = req.target.clone() else {
        return precondition(StatusCode::FORBIDDEN, DAV, "supported-report", None);
    };
    if !can_read(&p, &cal) {
        return status(StatusCode::NOT_FOUND);
    }
    if body.is(CALDAV, "calendar-query") {
        let filter = read_filter(body.child(CALDAV, "filter"));
        let (c2, coll2) = (cal.clone(), coll.clone());
        let range = filter.range;
        let found = req
            .state
            .pool
            .run(move |s| {
                if coll2 == INBOX || coll2 == OUTBOX {
                    return Ok(load(s, &c2, &coll2, true)?.map(|(_, items)| items));
                }
                if s.caldav_collection(&c2, &coll2)?.is_none() {
                    return Ok(None);
                }
                Ok(Some(match range {
                    Some((from, to)) => s.caldav_in_range(&c2, &coll2, from, to, Tz::UTC)?,
                    None => s.caldav_list(&c2, &coll2)?,
                }))
            })
            .await;
        let items = match found {
            Ok(Some(i)) => i,
            Ok(None) => return status(StatusCode::NOT_FOUND),
            Err(e) => return pool_error(e),
        };
        let expand = body
            .child(DAV, "prop")
            .and_then(|p| p.child(CALDAV, "calendar-data"))
            .and_then(|d| d.child(CALDAV, "expand"))
            .map(|e| {
                (
                    parse_time(e.attr("start")).unwrap_or(DateTime::<Utc>::MIN_UTC),
                    parse_time(e.attr("end")).unwrap_or(DateTime::<Utc>::MAX_UTC),
                )
            });
        let mut o = Out::new(DAV, "multistatus");
        for mut r in items.into_iter().filter(|r| matches_filter(r, &filter)) {
            if let Some((from, to)) = expand
                && let Ok(t) = caldav::expand(&r.text, from, to, Tz::UTC)
            {
                r.text = t;
            }
            let href = resource_href(&cal, &coll, &r.name);
            response(&mut o, &p, &href, &Node::Resource(cal.clone(), r), &wanted);
        }
        return xml_response(StatusCode::MULTI_STATUS, o.finish(DAV, "multistatus"));
    }
    if body.is(CALDAV, "free-busy-query") {
        let Some(tr) = body.child(CALDAV, "time-range") else {
            return status(StatusCode::BAD_REQUEST);
        };
        let (Some(from), Some(to)) = (parse_time(tr.attr("start")), parse_time(tr.attr("end")))
        else {
            return status(StatusCode::BAD_REQUEST);
        };
        if to <= from {
            return status(StatusCode::BAD_REQUEST);
        }
        let now = req.state.clock.now();
        let (c2, coll2) = (cal.clone(), coll.clone());
        let found = req
            .state
            .pool
            .run(move |s| freebusy(s, &c2, &coll2, from, to, now))
            .await;
        return match found {
            Ok(Some(text)) => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/calendar; charset=utf-8")
                .body(Body::from(text))
                .unwrap_or_default(),
            Ok(None) => status(StatusCode::NOT_FOUND),
            Err(e) => pool_error(e),
        };
    }
    if body.is(DAV, "sync-collection") {
        let token = body
            .child(DAV, "sync-token")
            .map(|t| t.text.trim().to_owned())
            .unwrap_or_default();
        let since = if token.is_empty() {
            Some(0)
        } else {
            token
                .strip_prefix(TOKEN_PREFIX)
                .and_then(|t| t.parse::<i64>().ok())
        };
        let Some(since) = since else {
            return precondition(StatusCode::FORBIDDEN, DAV, "valid-sync-token", None);
        };
        let (c2, coll2) = (cal.clone(), coll.clone());
        let found = req
            .state
            .pool
            .run(move |s| {
                if s.caldav_collection(&c2, &coll2)?.is_none() {
                    return Ok(Err(StatusCode::NOT_FOUND));
                }
                if since == 0 {
                    let token = s.caldav_token(&c2)?;
                    let changed = s.caldav_list(&c2, &coll2)?;
                    return Ok(Ok(caldav::SyncDelta {
                        token,
                        changed,
                        removed: Vec::new(),
                    }));
                }
                Ok(s.caldav_changes(&c2, &coll2, since)?
                    .ok_or(StatusCode::FORBIDDEN))
            })
            .await;
        let delta = match found {
            Ok(Ok(d)) => d,
            Ok(Err(StatusCode::FORBIDDEN)) => {
                return precondition(StatusCode::FORBIDDEN, DAV, "valid-sync-token", None);
            }
            Ok(Err(code)) => return status(code),
            Err(e) => return pool_error(e),
        };
        let mut o = Out::new(DAV, "multistatus");
        for r in delta.changed {
            let href = resource_href(&cal, &coll, &r.name);
            response(&mut o, &p, &href, &Node::Resource(cal.clone(), r), &wanted);
        }
        for name in delta.removed {
            missing_response(&mut o, &resource_href(&cal, &coll, &name));
        }
        o.leaf(DAV, "sync-token", &sync_token(delta.token));
        return xml_response(StatusCode::MULTI_STATUS, o.finish(DAV, "multistatus"));
    }
    precondition(StatusCode::FORBIDDEN, DAV, "supported-report", None)
}

/// The VFREEBUSY of a collection over `[from, to)`: the calendar's free/busy periods (its
/// providers extended first when the range goes past what is materialised), those of events
/// in other collections left out.
fn freebusy(
    s: &mut crate::pool::PooledStore,
    cal: &str,
    coll: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    if s.caldav_collection(cal, coll)?.is_none() {
        return Ok(None);
    }
    if let Some(p) = s.get_freebusy_providers(cal)?
        && p.datetime
            .as_deref()
            .and_then(|d| calstore_core::ical::datetime::parse_utc(d).ok())
            .is_some_and(|until| until < to)
    {
        s.extend_freebusy(cal, to, Tz::UTC)?;
    }
    let periods = s.get_freebusy_in(cal, from, to)?;
    let others = s.caldav_uids_elsewhere(cal, coll)?;
    let periods: Vec<_> = periods
        .into_iter()
        .filter(|p| p.uid.as_deref().is_none_or(|u| !others.contains(u)))
        .collect();
    let _ = format_utc(now);
    Ok(Some(calstore_core::publish::vfreebusy(
        cal,
        &periods,
        now,
        Some((from, to)),
    )))
}

#[allow(dead_code)]
fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""))
}

impl IntoResponse for xml::XmlError {
    fn into_response(self) -> Response {
        text_response(StatusCode::BAD_REQUEST, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_hrefs() {
        assert_eq!(target_of("/dav/"), Some(Target::Root));
        assert_eq!(target_of("/"), Some(Target::Root));
        assert_eq!(target_of("/sync/v1/pull"), None);
        assert!(is_dav_request(
            &Method::from_bytes(b"PROPFIND").unwrap(),
            "/"
        ));
        assert!(!is_dav_request(&Method::GET, "/"));
        assert!(is_dav_request(
            &Method::GET,
            "/dav/calendars/a/default/x.ics"
        ));
        assert_eq!(
            target_of("/dav/calendars/alf@vega.com/work/a%20b.ics"),
            Some(Target::Resource(
                "mailto:alf@vega.com".into(),
                "work".into(),
                "a b.ics".into()
            ))
        );
        assert_eq!(
            target_of("http://h:1/dav/calendars/urn%3Ax/default/"),
            Some(Target::Collection("urn:x".into(), "default".into()))
        );
        assert_eq!(
            home_href("mailto:alf@vega.com"),
            "/dav/calendars/alf@vega.com/"
        );
        assert_eq!(home_href("urn:x"), "/dav/calendars/urn%3Ax/");
        assert_eq!(target_of("/other"), None);
        assert_eq!(target_of("/dav/a/b/c/d/e"), None);
    }

    #[test]
    fn filters_match_properties() {
        let r = Resource {
            name: "a.ics".into(),
            uid: "u".into(),
            kind: "VEVENT".into(),
            text: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nSUMMARY:Team\r\n  meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(),
            etag: "\"x\"".into(),
        };
        let mut f = Filter {
            kind: Some("VEVENT".into()),
            ..Filter::default()
        };
        f.props
            .push(("SUMMARY".into(), Some("team MEET".into()), false, false));
        assert!(matches_filter(&r, &f));
        f.props.push(("LOCATION".into(), None, false, true));
        assert!(matches_filter(&r, &f));
        f.kind = Some("VTODO".into());
        assert!(!matches_filter(&r, &f));
    }
}
