//! Time zones of iCalendar values: IANA zones (chrono-tz), zones defined by embedded VTIMEZONE
//! components, Windows zone names, and the rules that pick one for a TZID.
//!
//! # Which zone a TZID names
//!
//! A TZID is looked up in this order; the first match wins:
//!
//! 1. an IANA name known to chrono-tz, or `UTC`/`Z`/`GMT` (exact spelling first, then case
//!    insensitive; a leading `/` is ignored). **An IANA name wins over a VTIMEZONE of the same
//!    name**: the tz database has the zone's whole history, while embedded definitions are often
//!    truncated to the current rule (Outlook writes one rule starting in 1601), sometimes wrong,
//!    and differ between senders of the same event; python-icalendar makes the same choice;
//! 2. a VTIMEZONE with exactly that TZID: first one carried by the VEVENT itself (the
//!    `X-CALSTORE-VTIMEZONE` property, see below), then one in the same VCALENDAR (for VEVENTs
//!    outside any VCALENDAR: one outside any VCALENDAR). Custom names such as `Custom/Berlin` or
//!    Outlook's `(UTC+01:00) Amsterdam, Berlin, …` work this way;
//! 3. a Windows name (`W. Europe Standard Time`) mapped to IANA by CLDR's windowsZones table
//!    ([`super::windows`]), exact first, then case-insensitive. A Windows name that comes with
//!    its VTIMEZONE uses that definition (step 2), as the sender meant it;
//! 4. a "globally unique" TZID (RFC 5545 §3.2.19) such as
//!    `/freeassociation.sourceforge.net/Tzfile/Europe/Berlin`: the longest trailing part of the
//!    path that is an IANA name.
//!
//! Anything else is an error naming the TZID.
//!
//! # Custom zones are kept with the event
//!
//! The store keeps the text of one VEVENT per object, without its VCALENDAR. So that stored
//! text parses again on its own (refreshing, cancelling and extending free/busy re-parse it),
//! the parser copies every VTIMEZONE an event *uses* (step 2 above, never for IANA or Windows
//! names) into the event's text as an `X-CALSTORE-VTIMEZONE` property whose TEXT value is the
//! VTIMEZONE component (content lines joined by newlines). The object stays one VEVENT, which is
//! what every consumer of object text expects (the imip-agent export, `event show`, the
//! WebAssembly API); other software ignores an X- property. See `docs/decisions/0004`.
//!
//! # Custom zones
//!
//! A VTIMEZONE's STANDARD and DAYLIGHT observances each give onsets: DTSTART (a local time in
//! TZOFFSETFROM), every RDATE and the instances of its RRULE, expanded by this module's own
//! recurrence engine. The offset in force at an instant is the TZOFFSETTO of the latest onset
//! at or before it; before the first onset it is that observance's TZOFFSETFROM. Onsets are
//! computed a year at a time, on demand (an RRULE without COUNT is entered at the year asked
//! for, not expanded from 1601), and cached per zone. Local times resolve by the RFC 5545
//! §3.3.5 rules, as for IANA zones: a time in a gap is shifted forward by the gap, a time in a
//! fold is the first of its two instants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::datetime::{ValueKind, Wall, local_naive, parse_wall, resolve_local};
use super::error::{IcalError, show};
use super::rrule::{Rule, RuleIter};
use super::windows::WINDOWS_ZONES;

/// The zone of a value with a TZID.
#[derive(Clone)]
pub(crate) enum Zone {
    /// An IANA zone (also what a Windows name maps to).
    Iana(Tz),
    /// A zone defined by a VTIMEZONE component.
    Custom(Arc<CustomZone>),
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Iana(a), Self::Iana(b)) => a == b,
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b) || a.text == b.text,
            _ => false,
        }
    }
}

impl Eq for Zone {}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Iana(tz) => write!(f, "Iana({})", tz.name()),
            Self::Custom(z) => write!(f, "Custom({:?})", z.tzid),
        }
    }
}

impl Zone {
    /// Resolves a wall-clock time to an instant (RFC 5545 §3.3.5 gap and fold rules).
    pub(crate) fn resolve(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Self::Iana(tz) => resolve_local(naive, *tz),
            Self::Custom(z) => z.resolve(naive),
        }
    }

    /// The wall-clock time of an instant, saturating at the ends of the representable range.
    pub(crate) fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Self::Iana(tz) => local_naive(instant, *tz),
            Self::Custom(z) => {
                let offset = i64::from(z.offset_at(instant));
                instant
                    .naive_utc()
                    .checked_add_signed(TimeDelta::seconds(offset))
                    .unwrap_or(if offset > 0 {
                        NaiveDateTime::MAX
                    } else {
                        NaiveDateTime::MIN
                    })
            }
        }
    }
}

/// Parses a time-zone name given by a user (`--tz`): an IANA name known to chrono-tz (exact
/// spelling first, then a case-insensitive match), `UTC`, `Z` and `GMT`, or a Windows zone name
/// (`W. Europe Standard Time`), which is mapped to its IANA zone by CLDR's table.
pub fn parse_tz(name: &str) -> Result<Tz, IcalError> {
    iana(name)
        .or_else(|| windows(name))
        .ok_or_else(|| IcalError(format!("unknown time zone {}", show(name))))
}

/// An IANA name known to chrono-tz, or `UTC`/`Z`/`GMT` (exact spelling first, then a
/// case-insensitive match).
pub(crate) fn iana(name: &str) -> Option<Tz> {
    if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("Z") {
        return Some(Tz::UTC);
    }
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .copied()
}

/// The IANA zone of a Windows zone name (CLDR territory 001), exact first, then ignoring case
/// and surrounding white space.
pub(crate) fn windows(name: &str) -> Option<Tz> {
    let iana_name = match WINDOWS_ZONES.binary_search_by(|(w, _)| (*w).cmp(name)) {
        Ok(i) => WINDOWS_ZONES.get(i).map(|(_, iana)| *iana),
        Err(_) => {
            let name = name.trim();
            WINDOWS_ZONES
                .iter()
                .find(|(w, _)| w.eq_ignore_ascii_case(name))
                .map(|(_, iana)| *iana)
        }
    }?;
    iana_name.parse().ok()
}

/// The IANA zone at the end of a "globally unique" TZID (`/vendor/…/Area/City`), longest
/// suffix first.
fn globally_unique(name: &str) -> Option<Tz> {
    let path = name.strip_prefix('/')?;
    let parts: Vec<&str> = path.split('/').collect();
    (1..parts.len()).find_map(|start| {
        let suffix = parts.get(start..)?.join("/");
        suffix.parse::<Tz>().ok()
    })
}

/// Looks up a TZID in the order described in the module documentation. `embedded` finds a
/// VTIMEZONE with that exact TZID in scope (Some(Err) if it is malformed).
pub(crate) fn lookup(
    name: &str,
    embedded: &mut dyn FnMut(&str) -> Option<Result<Zone, IcalError>>,
) -> Result<Zone, IcalError> {
    let stripped = name.strip_prefix('/').unwrap_or(name);
    if let Some(tz) = iana(stripped) {
        return Ok(Zone::Iana(tz));
    }
    if let Some(zone) = embedded(name) {
        return zone;
    }
    if let Some(tz) = windows(name).or_else(|| globally_unique(name)) {
        return Ok(Zone::Iana(tz));
    }
    Err(IcalError(format!(
        "unknown time zone {}: not an IANA or Windows zone name, and no VTIMEZONE in the \
         calendar defines it",
        show(name)
    )))
}

/// One STANDARD or DAYLIGHT observance.
#[derive(Debug)]
struct Observance {
    /// DTSTART: the first onset, a local time in `from`.
    start: NaiveDateTime,
    /// TZOFFSETFROM, in seconds east of UTC.
    from: i32,
    /// TZOFFSETTO.
    to: i32,
    rules: Vec<Rule>,
    /// RDATE onsets as instants.
    rdates: Vec<DateTime<Utc>>,
}

/// Onsets (instant, offset from then on) of one calendar year, sorted.
type YearOnsets = Arc<[(DateTime<Utc>, i32)]>;

/// Most years of onsets a zone caches before it starts over.
const MAX_CACHED_YEARS: usize = 512;

/// A zone defined by a VTIMEZONE component.
pub(crate) struct CustomZone {
    /// The TZID.
    pub(crate) tzid: String,
    /// The component's content lines (unfolded, BEGIN:VTIMEZONE to END:VTIMEZONE) joined by
    /// `\n`: the identity of the definition and what is kept with events that use it.
    pub(crate) text: String,
    observances: Vec<Observance>,
    /// The offset before the earliest onset.
    initial: i32,
    /// The year of the earliest onset (no onsets before it).
    first_year: i32,
    cache: Mutex<HashMap<i32, YearOnsets>>,
}

impl std::fmt::Debug for CustomZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomZone")
            .field("tzid", &self.tzid)
            .field("observances", &self.observances)
            .field("initial", &self.initial)
            .finish_non_exhaustive()
    }
}

/// A property of a VTIMEZONE as the parser hands it over: upper-cased name, the VALUE
/// parameter (upper-cased) and the value.
#[derive(Debug, Clone)]
pub(crate) struct ZoneProp {
    pub(crate) name: String,
    pub(crate) value_type: Option<String>,
    pub(crate) value: String,
    pub(crate) line: usize,
}

/// A STANDARD or DAYLIGHT sub-component as the parser hands it over.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObservanceDef {
    pub(crate) kind: String,
    pub(crate) line: usize,
    pub(crate) props: Vec<ZoneProp>,
}

/// Parses `+HHMM`, `-HHMM` or `±HHMMSS` into seconds east of UTC.
fn parse_offset(value: &str) -> Option<i32> {
    let value = value.trim();
    let (sign, digits) = match value.as_bytes().first()? {
        b'+' => (1, value.get(1..)?),
        b'-' => (-1, value.get(1..)?),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r)?.parse::<i32>().ok();
    let (h, m) = (num(0..2)?, num(2..4)?);
    let s = if digits.len() == 6 { num(4..6)? } else { 0 };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + s))
}

impl CustomZone {
    /// Builds a zone from a VTIMEZONE's TZID, its text (see [`CustomZone::text`]) and its
    /// observances. `line` is where the VTIMEZONE starts (for messages).
    pub(crate) fn build(
        tzid: &str,
        text: String,
        defs: &[ObservanceDef],
        line: usize,
    ) -> Result<Self, IcalError> {
        let err = |at: usize, why: String| {
            IcalError(format!("line {at}: VTIMEZONE {}: {why}", show(tzid)))
        };
        if defs.is_empty() {
            return Err(err(
                line,
                "has no STANDARD or DAYLIGHT component".to_owned(),
            ));
        }
        let mut observances = Vec::with_capacity(defs.len());
        for def in defs {
            let mut start = None;
            let mut from = None;
            let mut to = None;
            let mut rules = Vec::new();
            let mut rdate_values = Vec::new();
            for p in &def.props {
                let perr = |why: String| err(p.line, format!("{}: {}: {why}", def.kind, p.name));
                match p.name.as_str() {
                    "DTSTART" => {
                        let t = parse_wall(p.value.trim(), None).map_err(|e| perr(e.0))?;
                        start = Some(t.naive());
                    }
                    "TZOFFSETFROM" => {
                        from = Some(parse_offset(&p.value).ok_or_else(|| {
                            perr(format!("{} is not a UTC offset (+HHMM)", show(&p.value)))
                        })?);
                    }
                    "TZOFFSETTO" => {
                        to = Some(parse_offset(&p.value).ok_or_else(|| {
                            perr(format!("{} is not a UTC offset (+HHMM)", show(&p.value)))
                        })?);
                    }
                    "RRULE" => rules.push(Rule::parse(p.value.trim()).map_err(|e| perr(e.0))?),
                    "RDATE" => {
                        let kind = match p.value_type.as_deref() {
                            Some("DATE") => Some(ValueKind::Date),
                            _ => None,
                        };
                        for item in p.value.split(',') {
                            // A PERIOD's end means nothing for an onset.
                            let item = item.split('/').next().unwrap_or(item).trim();
                            rdate_values.push(parse_wall(item, kind).map_err(|e| perr(e.0))?);
                        }
                    }
                    _ => {}
                }
            }
            let missing = |what: &str| err(def.line, format!("{} has no {what}", def.kind));
            let start = start.ok_or_else(|| missing("DTSTART"))?;
            let from = from.ok_or_else(|| missing("TZOFFSETFROM"))?;
            let to = to.ok_or_else(|| missing("TZOFFSETTO"))?;
            let rdates = rdate_values
                .iter()
                .filter_map(|t| match t {
                    Wall::Utc(n) => Some(n.and_utc()),
                    other => onset_instant(other.naive(), from),
                })
                .collect();
            observances.push(Observance {
                start,
                from,
                to,
                rules,
                rdates,
            });
        }
        let earliest = observances
            .iter()
            .filter_map(|o| onset_instant(o.start, o.from).map(|t| (t, o.from)))
            .min_by_key(|(t, _)| *t);
        let (first, initial) = earliest.unwrap_or((DateTime::<Utc>::MIN_UTC, 0));
        Ok(CustomZone {
            tzid: tzid.to_owned(),
            text,
            observances,
            initial,
            first_year: first.year(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The UTC offset (seconds east) in force at `instant`.
    pub(crate) fn offset_at(&self, instant: DateTime<Utc>) -> i32 {
        let mut year = instant.year();
        while year >= self.first_year {
            let onsets = self.year_onsets(year);
            if let Some((_, offset)) = onsets.iter().rev().find(|(t, _)| *t <= instant) {
                return *offset;
            }
            year -= 1;
        }
        self.initial
    }

    /// Resolves a local time (RFC 5545 §3.3.5: a gap shifts forward, a fold takes the first).
    fn resolve(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        let as_utc = naive.and_utc();
        let probe = |days: i64| {
            as_utc
                .checked_add_signed(TimeDelta::days(days))
                .map_or(self.initial, |t| self.offset_at(t))
        };
        let (before, after) = (probe(-1), probe(1));
        let at = |offset: i32| {
            naive
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset)))
                .unwrap_or(naive)
                .and_utc()
        };
        if before == after {
            return at(before);
        }
        let valid = |offset: i32| self.offset_at(at(offset)) == offset;
        match (valid(before), valid(after)) {
            // A fold: the earlier instant has the larger offset.
            (true, true) => at(before.max(after)),
            (true, false) => at(before),
            (false, true) => at(after),
            // A gap: read with the offset in force before it, i.e. shifted forward.
            (false, false) => at(before),
        }
    }

    /// The onsets whose instants fall in calendar year `year` (UTC), sorted, cached.
    fn year_onsets(&self, year: i32) -> YearOnsets {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = cache.get(&year) {
            return Arc::clone(hit);
        }
        let computed: YearOnsets = self.compute_year(year).into();
        if cache.len() >= MAX_CACHED_YEARS {
            cache.clear();
        }
        cache.insert(year, Arc::clone(&computed));
        computed
    }

    fn compute_year(&self, year: i32) -> Vec<(DateTime<Utc>, i32)> {
        let (Some(lo), Some(hi)) = (year_start(year), year_start(year.saturating_add(1))) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut push = |t: DateTime<Utc>, offset: i32| {
            if t >= lo && t < hi {
                out.push((t, offset));
            }
        };
        for o in &self.observances {
            if let Some(t) = onset_instant(o.start, o.from) {
                push(t, o.to);
            }
            for t in &o.rdates {
                push(*t, o.to);
            }
            for rule in &o.rules {
                for t in rule_onsets(o, rule, lo, hi) {
                    push(t, o.to);
                }
            }
        }
        out.sort_by_key(|(t, _)| *t);
        out
    }
}

/// 1 January of `year`, 00:00 UTC.
fn year_start(year: i32) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(year, 1, 1).map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// The instant of a local onset time written in offset `from`.
fn onset_instant(local: NaiveDateTime, from: i32) -> Option<DateTime<Utc>> {
    local
        .checked_sub_signed(TimeDelta::seconds(i64::from(from)))
        .map(|n| n.and_utc())
}

/// The onsets of one observance's rule with instants in `[lo, hi)`. Without COUNT the rule is
/// entered near `lo` (its periods do not depend on earlier ones); with COUNT it is expanded
/// from DTSTART, COUNT bounding the work.
fn rule_onsets(
    o: &Observance,
    rule: &Rule,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    // Local times in `from` of the range, with a day of slack on each side.
    let slack = TimeDelta::days(2);
    let shift = TimeDelta::seconds(i64::from(o.from));
    let (Some(lo_local), Some(hi_local)) = (
        lo.naive_utc()
            .checked_add_signed(shift)
            .and_then(|t| t.checked_sub_signed(slack)),
        hi.naive_utc()
            .checked_add_signed(shift)
            .and_then(|t| t.checked_add_signed(slack)),
    ) else {
        return out;
    };
    if hi_local < o.start {
        return out;
    }
    let until = rule.until.as_ref().map(|u| match u {
        // RFC 5545 wants UNTIL in UTC here; local forms are read in `from`.
        Wall::Utc(n) => n.and_utc(),
        Wall::Date(d) => onset_instant(
            d.succ_opt()
                .unwrap_or(*d)
                .and_time(NaiveTime::MIN)
                .checked_sub_signed(TimeDelta::seconds(1))
                .unwrap_or(NaiveDateTime::MAX),
            o.from,
        )
        .unwrap_or(DateTime::<Utc>::MAX_UTC),
        other => onset_instant(other.naive(), o.from).unwrap_or(DateTime::<Utc>::MAX_UTC),
    });
    let mut iter = if rule.count.is_some() {
        RuleIter::new(rule, o.start, hi_local)
    } else {
        RuleIter::seeking(rule, o.start, lo_local.date(), hi_local)
    };
    // DTSTART is the first occurrence and counts towards COUNT; it is added by the caller.
    let mut emitted: u64 = 1;
    let mut work = 0u64;
    while let Ok(Some(local)) = iter.next(&mut work) {
        if local <= o.start {
            continue;
        }
        let Some(t) = onset_instant(local, o.from) else {
            break;
        };
        if until.is_some_and(|u| t > u) || rule.count.is_some_and(|c| emitted >= c) {
            break;
        }
        emitted += 1;
        if local > hi_local {
            break;
        }
        if local >= lo_local {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zone_names() {
        assert_eq!(parse_tz("UTC").unwrap(), Tz::UTC);
        assert_eq!(parse_tz("Z").unwrap(), Tz::UTC);
        assert_eq!(parse_tz("GMT").unwrap().name(), "GMT");
        assert_eq!(parse_tz("Europe/Oslo").unwrap().name(), "Europe/Oslo");
        assert_eq!(parse_tz("europe/oslo").unwrap().name(), "Europe/Oslo");
        assert_eq!(
            parse_tz("W. Europe Standard Time").unwrap().name(),
            "Europe/Berlin"
        );
        let err = parse_tz("Mars/Olympus").unwrap_err().0;
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+0100"), Some(3600));
        assert_eq!(parse_offset("-0530"), Some(-19800));
        assert_eq!(parse_offset("+053015"), Some(19815));
        assert_eq!(parse_offset("0100"), None);
        assert_eq!(parse_offset("+2500"), None);
        assert_eq!(parse_offset("+01:00"), None);
    }

    #[test]
    fn every_windows_zone_maps_to_a_known_iana_zone() {
        for (w, iana_name) in WINDOWS_ZONES {
            assert!(iana_name.parse::<Tz>().is_ok(), "{w} -> {iana_name}");
            assert_eq!(windows(w).map(|t| t.name()), Some(*iana_name));
        }
        let sorted = WINDOWS_ZONES.windows(2).all(|p| p[0].0 < p[1].0);
        assert!(sorted, "WINDOWS_ZONES must be sorted for binary search");
        assert_eq!(
            windows("W. Europe Standard Time").map(|t| t.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            windows(" eastern standard time ").map(|t| t.name()),
            Some("America/New_York")
        );
        assert!(windows("Mars Standard Time").is_none());
    }

    #[test]
    fn globally_unique_names() {
        assert_eq!(
            globally_unique("/freeassociation.sourceforge.net/Tzfile/Europe/Berlin")
                .map(|t| t.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            globally_unique("/mozilla.org/20050126_1/America/Argentina/Buenos_Aires")
                .map(|t| t.name()),
            Some("America/Argentina/Buenos_Aires")
        );
        assert!(globally_unique("Europe/Berlin").is_none());
    }
}
