//! The lenient reading: every repair (its note: line, problem, action), strict mode refusing
//! the same input, the real-world corpus (`tests/fixtures/calendars/rw-*`) against its
//! expected periods, and a property test that no input makes the lenient parser panic.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;
use crate::record::booking_from_events;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/calendars")
}

/// The periods the store would derive (per UID: overrides, THISANDFUTURE, SEQUENCE) that
/// overlap `[from, to)`, as `start end uid transp` lines; a derived UID reads `-`.
fn periods(
    events: &[EventComponent],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let mut by_uid: BTreeMap<&str, Vec<EventComponent>> = BTreeMap::new();
    for e in events {
        by_uid.entry(e.uid.as_str()).or_default().push(e.clone());
    }
    let mut out = Vec::new();
    for (uid, evs) in by_uid {
        let booking = booking_from_events(&evs, Some("mailto:x@example.com"), tz, to)
            .unwrap_or_else(|e| panic!("{uid}: {e}"));
        for p in booking.periods {
            let inside = if p.start == p.end {
                from <= p.start && p.start < to
            } else {
                p.start < to && p.end > from
            };
            if !inside {
                continue;
            }
            let uid = if uid.starts_with(DERIVED_UID_PREFIX) {
                "-"
            } else {
                uid
            };
            out.push(format!(
                "{} {} {uid} {}",
                format_utc(p.start),
                format_utc(p.end),
                p.transp.as_deref().unwrap_or("OPAQUE")
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn expected(name: &str) -> (Tz, DateTime<Utc>, DateTime<Utc>, Vec<String>) {
    let text = std::fs::read_to_string(corpus_dir().join(format!("{name}.expected.json"))).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |k: &str| doc[k].as_str().unwrap().to_owned();
    let mut periods: Vec<String> = doc["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let f = |k: &str| p[k].as_str().unwrap_or("-").to_owned();
            format!("{} {} {} {}", f("start"), f("end"), f("uid"), f("transp"))
        })
        .collect();
    periods.sort();
    (
        s("tz").parse().unwrap(),
        parse_utc(&s("from")).unwrap(),
        parse_utc(&s("to")).unwrap(),
        periods,
    )
}

fn corpus_names(prefix: &str) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("manifest.json")).unwrap())
            .unwrap();
    manifest["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Every corpus calendar, read leniently, gives its expected periods; the text kept for each
/// event reads back strictly to the same event.
#[test]
fn corpus_read_leniently_matches_expectations() {
    let mut failures = Vec::new();
    for name in corpus_names("") {
        let data = std::fs::read(corpus_dir().join(format!("{name}.ics"))).unwrap();
        let (tz, from, to, want) = expected(&name);
        let parsed = match parse_calendar(&data, &ParseOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: refused: {}", e.0));
                continue;
            }
        };
        for e in &parsed.events {
            match parse_events(e.text.as_bytes()) {
                Ok(again) if again.len() == 1 && again[0] == *e => {}
                Ok(again) => failures.push(format!("{name}: {} reads back as {again:?}", e.uid)),
                Err(err) => failures.push(format!("{name}: {} stored text: {}", e.uid, err.0)),
            }
        }
        let got = periods(&parsed.events, tz, from, to);
        if got != want {
            failures.push(format!(
                "{name}:\n  got  {got:?}\n  want {want:?}\n  notes {:?}",
                parsed
                    .notes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
