//! Property tests of expansion invariants over random recurring events: instances are sorted
//! with no duplicate start, never produced at an EXDATE, all before the window end, and a
//! longer window only adds later instances. (Overrides replacing exactly one instance, and
//! THISANDFUTURE, are checked on `record::derive`, in `record.rs`.)

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

/// How DTSTART is written.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    Utc,
    Zoned(&'static str),
    Floating,
    Date,
    /// A custom VTIMEZONE with Berlin's rules.
    Custom,
}

pub(crate) const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Apia",
];

const CUSTOM_ZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:Custom/Zone\r\nBEGIN:DAYLIGHT\r\n\
    TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nDTSTART:19700329T020000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n\
    TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19701025T030000\r\n\
    RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// A random recurring event.
#[derive(Debug, Clone)]
pub(crate) struct Random {
    pub(crate) start: Start,
    /// Wall-clock DTSTART (midnight for a DATE).
    pub(crate) at: NaiveDateTime,
    pub(crate) rule: String,
    /// Minutes (days for a DATE) of DURATION.
    pub(crate) length: i64,
    /// EXDATEs as offsets in hours (days for a DATE) from DTSTART.
    pub(crate) exdates: Vec<i64>,
}

impl Random {
    /// `;TZID=...` or nothing, and the value suffix.
    fn value(&self, t: NaiveDateTime) -> (String, String) {
        let dt = t.format("%Y%m%dT%H%M%S").to_string();
        match &self.start {
            Start::Utc => (String::new(), format!(":{dt}Z")),
            Start::Zoned(z) => (format!(";TZID={z}"), format!(":{dt}")),
            Start::Custom => (";TZID=Custom/Zone".to_owned(), format!(":{dt}")),
            Start::Floating => (String::new(), format!(":{dt}")),
            Start::Date => (";VALUE=DATE".to_owned(), format!(":{}", t.format("%Y%m%d"))),
        }
    }

    /// The VEVENT lines, with `extra` lines added.
    pub(crate) fn lines(&self, uid: &str, extra: &[String]) -> Vec<String> {
        let (param, value) = self.value(self.at);
        let mut lines = vec![
            format!("UID:{uid}"),
            format!("DTSTART{param}{value}"),
            if matches!(self.start, Start::Date) {
                format!("DURATION:P{}D", self.length.max(1))
            } else {
                format!("DURATION:PT{}M", self.length)
            },
            format!("RRULE:{}", self.rule),
        ];
        let step = |n: i64| {
            if matches!(self.start, Start::Date) {
                TimeDelta::days(n)
            } else {
                TimeDelta::hours(n)
            }
        };
        for &n in &self.exdates {
            let (param, value) = self.value(self.at + step(n));
            lines.push(format!("EXDATE{param}{value}"));
        }
        lines.extend(extra.iter().cloned());
        lines
    }

    /// A VCALENDAR holding VEVENTs made of `events`.
    pub(crate) fn calendar(events: &[Vec<String>]) -> String {
        let mut out = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{CUSTOM_ZONE}");
        for lines in events {
            out.push_str("BEGIN:VEVENT\r\n");
            for l in lines {
                out.push_str(l);
                out.push_str("\r\n");
            }
            out.push_str("END:VEVENT\r\n");
        }
        out.push_str("END:VCALENDAR\r\n");
        out
    }

    pub(crate) fn event(&self) -> EventComponent {
        let text = Self::calendar(&[self.lines("p@example.com", &[])]);
        let mut events = parse_events(text.as_bytes()).expect("generated events parse");
        events.remove(0)
    }
}

pub(crate) fn random_event() -> impl Strategy<Value = Random> {
    let start = prop_oneof![
        Just(Start::Utc),
        proptest::sample::select(ZONES).prop_map(Start::Zoned),
        Just(Start::Floating),
        Just(Start::Date),
        Just(Start::Custom),
    ];
    // 2024-01-01 plus up to ~3 years, at quarter hours (times in DST gaps and folds happen).
    let at = (0i64..1100, 0i64..96).prop_map(|(d, q)| {
        NaiveDateTime::parse_from_str("20240101T000000", "%Y%m%dT%H%M%S")
            .map(|t| t + TimeDelta::days(d) + TimeDelta::minutes(q * 15))
            .unwrap_or_default()
    });
    let freq = prop_oneof![
        Just("HOURLY"),
        Just("DAILY"),
        Just("WEEKLY"),
        Just("MONTHLY"),
        Just("YEARLY"),
    ];
    let by = prop_oneof![
        Just(String::new()),
        Just(";BYDAY=MO,WE,FR".to_owned()),
        Just(";BYMONTHDAY=1,15,-1".to_owned()),
        Just(";BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1".to_owned()),
        Just(";BYMONTH=3,10".to_owned()),
        Just(";BYHOUR=1,2,3".to_owned()),
    ];
    let end = prop_oneof![
        Just(String::new()),
        (1u32..40).prop_map(|n| format!(";COUNT={n}")),
        (0i64..800).prop_map(|d| {
            let t = NaiveDateTime::parse_from_str("20240101T000000", "%Y%m%dT%H%M%S")
                .map(|t| t + TimeDelta::days(d))
                .unwrap_or_default();
            format!(";UNTIL={}", t.format("%Y%m%dT%H%M%SZ"))
        }),
    ];
    (
        start,
        at,
        freq,
        1u32..4,
        by,
        end,
        0i64..300,
        proptest::collection::vec(0i64..2000, 0..6),
    )
        .prop_filter_map(
            "a DATE DTSTART allows no sub-daily rule",
            |(start, at, freq, interval, by, end, length, exdates)| {
                let is_date = matches!(start, Start::Date);
                if is_date && (freq == "HOURLY" || by.contains("BYHOUR")) {
                    return None;
                }
                let by = if freq == "WEEKLY" && by.contains("BYMONTHDAY") {
                    String::new()
                } else {
                    by
                };
                let at = if is_date {
                    at.date().and_time(chrono::NaiveTime::MIN)
                } else {
                    at
                };
                Some(Random {
                    start,
                    at,
                    rule: format!("FREQ={freq};INTERVAL={interval}{by}{end}"),
                    length,
                    exdates,
                })
            },
        )
}

fn window() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..1500)
        .prop_map(|d| parse_utc("20240101T000000Z").unwrap_or_default() + TimeDelta::days(d))
}

fn context(tz: Tz, end: DateTime<Utc>) -> ExpandContext {
    ExpandContext {
        tz,
        window_end: end,
        max_instances: 20_000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn instances_are_sorted_unique_and_respect_exdates(
        r in random_event(),
        end in window(),
        user in proptest::sample::select(ZONES),
    ) {
        let tz: Tz = user.parse().unwrap_or(Tz::UTC);
        let ev = r.event();
        let Ok(exp) = ev.instances(&context(tz, end)) else {
            // Only the instance cap may refuse (an hourly rule over years).
            return Ok(());
        };
        let starts: Vec<DateTime<Utc>> = exp.instances.iter().map(|i| i.start).collect();
        prop_assert!(starts.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        prop_assert!(exp.instances.iter().all(|i| i.start < end || i.start == ev.dtstart.instant(tz)));
        prop_assert!(exp.instances.iter().all(|i| i.end >= i.start));
        for ex in &ev.exdates {
            match ex {
                super::time::IcalTime::Date(d, _) => {
                    let frame = super::time::Frame::Local(ev.dtstart.zone().cloned());
                    prop_assert!(
                        exp.instances.iter().all(|i| frame.local(i.start, tz).date() != *d),
                        "an instance on an excluded date"
                    );
                }
                other => {
                    let t = other.instant(tz);
                    prop_assert!(starts.iter().all(|s| *s != t), "an excluded instance");
                }
            }
        }
    }

    #[test]
    fn a_longer_window_only_adds_later_instances(
        r in random_event(),
        a in window(),
        b in window(),
    ) {
        let (short, long) = if a <= b { (a, b) } else { (b, a) };
        let tz: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        let ev = r.event();
        let (Ok(s), Ok(l)) = (ev.instances(&context(tz, short)), ev.instances(&context(tz, long)))
        else {
            return Ok(());
        };
        let cut: Vec<Instance> = l.instances.iter().filter(|i| i.start < short).copied().collect();
        let kept: Vec<Instance> = s.instances.iter().filter(|i| i.start < short).copied().collect();
        prop_assert_eq!(kept, cut);
        if l.instances.len() > s.instances.len() {
            prop_assert!(s.truncated, "instances past the short window, but not truncated");
        }
    }

    #[test]
    fn stored_text_expands_like_the_input(r in random_event(), end in window()) {
        let ev = r.event();
        let again = parse_events(ev.text.as_bytes()).map_err(|e| TestCaseError::fail(e.0))?;
        let tz: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let (Ok(a), Ok(b)) = (ev.instances(&context(tz, end)), again[0].instances(&context(tz, end)))
        else {
            return Ok(());
        };
        prop_assert_eq!(a, b);
        prop_assert_eq!(&again[0].text, &ev.text);
    }
}
