//! Scenario tests: RFC 5545 recurrence examples, imip-agent scenarios, DST, bad input.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    parse_utc(s).unwrap()
}

/// Parses `body` (VEVENT content lines, `\n`-separated) wrapped in a VCALENDAR.
fn event(body: &str) -> EventComponent {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n{}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    );
    let mut events = parse_events(text.as_bytes()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// The parse error for a VEVENT body wrapped as in [`event`].
fn event_error(body: &str) -> String {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    );
    parse_events(text.as_bytes()).unwrap_err().0
}

fn expand(ev: &EventComponent, zone: &str, window_end: &str) -> Expansion {
    ev.instances(&ExpandContext::new(tz(zone), utc(window_end)))
        .unwrap()
}

/// Instance starts as wall-clock `YYYYMMDDTHHMMSS` in `zone`.
fn local_starts(exp: &Expansion, zone: &str) -> Vec<String> {
    let zone = tz(zone);
    exp.instances
        .iter()
        .map(|i| {
            i.start
                .with_timezone(&zone)
                .format("%Y%m%dT%H%M%S")
                .to_string()
        })
        .collect()
}

fn utc_starts(exp: &Expansion) -> Vec<String> {
    exp.instances.iter().map(|i| format_utc(i.start)).collect()
}

/// `dates` at the same wall-clock time.
fn at(time: &str, dates: &[&str]) -> Vec<String> {
    dates.iter().map(|d| format!("{d}T{time}")).collect()
}

const NY: &str = "America/New_York";

/// Expands an RFC 5545 §3.8.5.3 example (DTSTART in America/New_York) and returns the local
/// starts in New York.
fn rfc(dtstart: &str, rules: &str, window_end: &str) -> Vec<String> {
    let ev = event(&format!(
        "UID:rfc@example.com\nDTSTART;TZID=America/New_York:{dtstart}\n{rules}"
    ));
    local_starts(&expand(&ev, NY, window_end), NY)
}

// ---------------------------------------------------------------------------------------
// RFC 5545 §3.8.5.3 examples.

#[test]
fn rfc_daily_for_10_occurrences() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=DAILY;COUNT=10",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970903", "19970904", "19970905", "19970906", "19970907", "19970908",
            "19970909", "19970910", "19970911",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_daily_until_december_24() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=DAILY;UNTIL=19971224T000000Z",
        "20000101T000000Z",
    );
    assert_eq!(got.len(), 113);
    assert_eq!(got.first().unwrap(), "19970902T090000");
    assert_eq!(got.last().unwrap(), "19971223T090000");
    assert!(
        got.iter().all(|s| s.ends_with("T090000")),
        "wall clock kept across DST"
    );
}

#[test]
fn rfc_every_other_day_forever() {
    let ev =
        event("UID:a\nDTSTART;TZID=America/New_York:19970902T090000\nRRULE:FREQ=DAILY;INTERVAL=2");
    let exp = expand(&ev, NY, "19971001T000000Z");
    assert!(exp.truncated);
    assert!(ev.is_open_ended());
    let want = at(
        "090000",
        &[
            "19970902", "19970904", "19970906", "19970908", "19970910", "19970912", "19970914",
            "19970916", "19970918", "19970920", "19970922", "19970924", "19970926", "19970928",
            "19970930",
        ],
    );
    assert_eq!(local_starts(&exp, NY), want);
}

#[test]
fn rfc_every_10_days_5_occurrences() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=DAILY;INTERVAL=10;COUNT=5",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &["19970902", "19970912", "19970922", "19971002", "19971012"],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_day_in_january_for_3_years() {
    let yearly = rfc(
        "19980101T090000",
        "RRULE:FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
        "20100101T000000Z",
    );
    let daily = rfc(
        "19980101T090000",
        "RRULE:FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
        "20100101T000000Z",
    );
    let mut want = Vec::new();
    for year in 1998..=2000 {
        for day in 1..=31 {
            want.push(format!("{year}01{day:02}T090000"));
        }
    }
    assert_eq!(yearly, want);
    assert_eq!(daily, want);
}

#[test]
fn rfc_weekly_for_10_occurrences_across_dst() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=WEEKLY;COUNT=10",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970909", "19970916", "19970923", "19970930", "19971007", "19971014",
            "19971021", "19971028", "19971104",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_weekly_until_december_24() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=WEEKLY;UNTIL=19971224T000000Z",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970909", "19970916", "19970923", "19970930", "19971007", "19971014",
            "19971021", "19971028", "19971104", "19971111", "19971118", "19971125", "19971202",
            "19971209", "19971216", "19971223",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_other_week_mon_wed_fri_until() {
    let got = rfc(
        "19970901T090000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970901", "19970903", "19970905", "19970915", "19970917", "19970919", "19970929",
            "19971001", "19971003", "19971013", "19971015", "19971017", "19971027", "19971029",
            "19971031", "19971110", "19971112", "19971114", "19971124", "19971126", "19971128",
            "19971208", "19971210", "19971212", "19971222",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_other_week_tue_thu_8_occurrences() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970904", "19970916", "19970918", "19970930", "19971002", "19971014",
            "19971016",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_monthly_first_friday_10() {
    let got = rfc(
        "19970905T090000",
        "RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970905", "19971003", "19971107", "19971205", "19980102", "19980206", "19980306",
            "19980403", "19980501", "19980605",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_other_month_first_and_last_sunday() {
    let got = rfc(
        "19970907T090000",
        "RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970907", "19970928", "19971102", "19971130", "19980104", "19980125", "19980301",
            "19980329", "19980503", "19980531",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_monthly_second_to_last_monday() {
    let got = rfc(
        "19970922T090000",
        "RRULE:FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970922", "19971020", "19971117", "19971222", "19980119", "19980216",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_monthly_third_to_last_day() {
    let got = rfc(
        "19970928T090000",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=-3",
        "19980301T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970928", "19971029", "19971128", "19971229", "19980129", "19980226",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_monthly_2nd_and_15th() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970915", "19971002", "19971015", "19971102", "19971115", "19971202",
            "19971215", "19980102", "19980115",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_monthly_first_and_last_day() {
    let got = rfc(
        "19970930T090000",
        "RRULE:FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970930", "19971001", "19971031", "19971101", "19971130", "19971201", "19971231",
            "19980101", "19980131", "19980201",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_18_months_10th_to_15th() {
    let got = rfc(
        "19970910T090000",
        "RRULE:FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970910", "19970911", "19970912", "19970913", "19970914", "19970915", "19990310",
            "19990311", "19990312", "19990313",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_tuesday_every_other_month() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
        "19980401T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970902", "19970909", "19970916", "19970923", "19970930", "19971104", "19971111",
            "19971118", "19971125", "19980106", "19980113", "19980120", "19980127", "19980303",
            "19980310", "19980317", "19980324", "19980331",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_yearly_in_june_and_july() {
    let got = rfc(
        "19970610T090000",
        "RRULE:FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
        "20100101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970610", "19970710", "19980610", "19980710", "19990610", "19990710", "20000610",
            "20000710", "20010610", "20010710",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_other_year_jan_feb_mar() {
    let got = rfc(
        "19970310T090000",
        "RRULE:FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3",
        "20100101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970310", "19990110", "19990210", "19990310", "20010110", "20010210", "20010310",
            "20030110", "20030210", "20030310",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_third_year_on_days_1_100_200() {
    let got = rfc(
        "19970101T090000",
        "RRULE:FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200",
        "20100101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970101", "19970410", "19970719", "20000101", "20000409", "20000718", "20030101",
            "20030410", "20030719", "20060101",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_20th_monday() {
    let got = rfc(
        "19970519T090000",
        "RRULE:FREQ=YEARLY;BYDAY=20MO",
        "20000101T000000Z",
    );
    assert_eq!(got, at("090000", &["19970519", "19980518", "19990517"]));
}

#[test]
fn rfc_monday_of_week_20() {
    let got = rfc(
        "19970512T090000",
        "RRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "20000101T000000Z",
    );
    assert_eq!(got, at("090000", &["19970512", "19980511", "19990517"]));
}

#[test]
fn rfc_every_thursday_in_march() {
    let got = rfc(
        "19970313T090000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=TH",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970313", "19970320", "19970327", "19980305", "19980312", "19980319", "19980326",
            "19990304", "19990311", "19990318", "19990325",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_thursday_in_summer() {
    let got = rfc(
        "19970605T090000",
        "RRULE:FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8",
        "20000101T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970605", "19970612", "19970619", "19970626", "19970703", "19970710", "19970717",
            "19970724", "19970731", "19970807", "19970814", "19970821", "19970828", "19980604",
            "19980611", "19980618", "19980625", "19980702", "19980709", "19980716", "19980723",
            "19980730", "19980806", "19980813", "19980820", "19980827", "19990603", "19990610",
            "19990617", "19990624", "19990701", "19990708", "19990715", "19990722", "19990729",
            "19990805", "19990812", "19990819", "19990826",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_every_friday_13th_with_exdate() {
    let got = rfc(
        "19970902T090000",
        "EXDATE;TZID=America/New_York:19970902T090000\nRRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
        "20001101T000000Z",
    );
    let want = at(
        "090000",
        &["19980213", "19980313", "19981113", "19990813", "20001013"],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_first_saturday_after_first_sunday() {
    let got = rfc(
        "19970913T090000",
        "RRULE:FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13",
        "19980701T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970913", "19971011", "19971108", "19971213", "19980110", "19980207", "19980307",
            "19980411", "19980509", "19980613",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn rfc_us_presidential_election_day() {
    let got = rfc(
        "19961105T090000",
        "RRULE:FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8",
        "20050101T000000Z",
    );
    assert_eq!(got, at("090000", &["19961105", "20001107", "20041102"]));
}

#[test]
fn rfc_third_tue_wed_or_thu_with_bysetpos() {
    let got = rfc(
        "19970904T090000",
        "RRULE:FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3",
        "20000101T000000Z",
    );
    assert_eq!(got, at("090000", &["19970904", "19971007", "19971106"]));
}

#[test]
fn rfc_second_to_last_weekday_with_bysetpos() {
    let got = rfc(
        "19970929T090000",
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
        "19980401T000000Z",
    );
    let want = at(
        "090000",
        &[
            "19970929", "19971030", "19971127", "19971230", "19980129", "19980226", "19980330",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn last_weekday_of_month_with_bysetpos() {
    let got = rfc(
        "19970930T090000",
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4",
        "20000101T000000Z",
    );
    assert_eq!(
        got,
        at("090000", &["19970930", "19971031", "19971128", "19971231"])
    );
}

#[test]
fn rfc_every_3_hours_until_utc() {
    // The RFC lists 09:00, 12:00 and 15:00 EDT, but UNTIL=19970902T170000Z is 13:00 EDT, so
    // 15:00 EDT is after UNTIL (a known erratum of the example).
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z",
        "20000101T000000Z",
    );
    assert_eq!(got, vec!["19970902T090000", "19970902T120000"]);
    // With UNTIL at 21:00Z (17:00 EDT) the RFC's three instances appear.
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z",
        "20000101T000000Z",
    );
    assert_eq!(
        got,
        vec!["19970902T090000", "19970902T120000", "19970902T150000"]
    );
}

#[test]
fn rfc_every_15_minutes_6_times() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=MINUTELY;INTERVAL=15;COUNT=6",
        "20000101T000000Z",
    );
    let want: Vec<String> = ["090000", "091500", "093000", "094500", "100000", "101500"]
        .iter()
        .map(|t| format!("19970902T{t}"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn rfc_every_hour_and_a_half_4_times() {
    let got = rfc(
        "19970902T090000",
        "RRULE:FREQ=MINUTELY;INTERVAL=90;COUNT=4",
        "20000101T000000Z",
    );
    let want: Vec<String> = ["090000", "103000", "120000", "133000"]
        .iter()
        .map(|t| format!("19970902T{t}"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn rfc_every_20_minutes_from_9_to_1640() {
    let daily = rfc(
        "19970902T090000",
        "RRULE:FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
        "19970904T040000Z",
    );
    let minutely = rfc(
        "19970902T090000",
        "RRULE:FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
        "19970904T040000Z",
    );
    let mut want = Vec::new();
    for day in ["19970902", "19970903"] {
        for h in 9..=16 {
            for m in [0, 20, 40] {
                want.push(format!("{day}T{h:02}{m:02}00"));
            }
        }
    }
    assert_eq!(daily, want);
    assert_eq!(minutely, want);
}

#[test]
fn rfc_wkst_changes_the_result() {
    let mo = rfc(
        "19970805T090000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
        "20000101T000000Z",
    );
    assert_eq!(
        mo,
        at("090000", &["19970805", "19970810", "19970819", "19970824"])
    );
    let su = rfc(
        "19970805T090000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
        "20000101T000000Z",
    );
    assert_eq!(
        su,
        at("090000", &["19970805", "19970817", "19970819", "19970831"])
    );
}

#[test]
fn rfc_invalid_dates_are_skipped() {
    let got = rfc(
        "20070115T090000",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5",
        "20100101T000000Z",
    );
    assert_eq!(
        got,
        at(
            "090000",
            &["20070115", "20070130", "20070215", "20070315", "20070330"]
        )
    );
}

#[test]
fn yearly_defaults_and_leap_days() {
    // FREQ=YEARLY alone repeats DTSTART's month and day; Feb 29 only exists in leap years.
    let got = rfc(
        "20000229T090000",
        "RRULE:FREQ=YEARLY;COUNT=3",
        "20300101T000000Z",
    );
    assert_eq!(got, at("090000", &["20000229", "20040229", "20080229"]));
    // BYSETPOS picks from the whole period (here the Fridays of December).
    let got = rfc(
        "20260101T090000",
        "RRULE:FREQ=YEARLY;BYMONTH=12;BYDAY=FR;BYSETPOS=-1;COUNT=2",
        "20300101T000000Z",
    );
    assert_eq!(got, at("090000", &["20260101", "20261225"]));
}

#[test]
fn secondly_and_hourly_limits() {
    let ev =
        event("UID:s\nDTSTART:20260101T000000Z\nRRULE:FREQ=SECONDLY;INTERVAL=7;BYSECOND=0;COUNT=4");
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    // Every 7 s, but only at second 0 of a minute: every 7 minutes.
    assert_eq!(
        utc_starts(&exp),
        vec![
            "20260101T000000Z",
            "20260101T000700Z",
            "20260101T001400Z",
            "20260101T002100Z"
        ]
    );
    let ev = event(
        "UID:h\nDTSTART:20260105T080000Z\nRRULE:FREQ=HOURLY;INTERVAL=5;BYDAY=MO;BYMINUTE=0,30",
    );
    let exp = expand(&ev, "UTC", "20260113T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec![
            "20260105T080000Z",
            "20260105T083000Z",
            "20260105T130000Z",
            "20260105T133000Z",
            "20260105T180000Z",
            "20260105T183000Z",
            "20260105T230000Z",
            "20260105T233000Z",
            // 2026-01-12 is the next Monday, 160 hours after DTSTART's hour at midnight
            // (160 % 5 = 0), so the aligned hours that day are 0, 5, 10, 15 and 20.
            "20260112T000000Z",
            "20260112T003000Z",
            "20260112T050000Z",
            "20260112T053000Z",
            "20260112T100000Z",
            "20260112T103000Z",
            "20260112T150000Z",
            "20260112T153000Z",
            "20260112T200000Z",
            "20260112T203000Z",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// imip-agent scenarios.

#[test]
fn imip_s5_weekly_count_3_in_oslo() {
    let ev = event(
        "UID:event4@example.com\nDTSTART;TZID=Europe/Oslo:20141010T160000\n\
         DTEND;TZID=Europe/Oslo:20141010T170000\nRRULE:FREQ=WEEKLY;COUNT=3\n\
         SUMMARY:Weekly meeting",
    );
    assert!(ev.is_recurring());
    assert!(!ev.is_open_ended());
    assert_eq!(ev.recurrence_id(), None);
    let exp = expand(&ev, "Europe/Oslo", "20150101T000000Z");
    assert!(!exp.truncated);
    let got: Vec<(String, String, String)> = exp
        .instances
        .iter()
        .map(|i| {
            (
                format_utc(i.start),
                format_utc(i.end),
                format_utc(i.recurrence_point),
            )
        })
        .collect();
    let want = [
        ("20141010T140000Z", "20141010T150000Z"),
        ("20141017T140000Z", "20141017T150000Z"),
        ("20141024T140000Z", "20141024T150000Z"),
    ];
    assert_eq!(got.len(), 3);
    for ((s, e, rp), (ws, we)) in got.iter().zip(want) {
        assert_eq!((s.as_str(), e.as_str(), rp.as_str()), (ws, we, ws));
    }
}

#[test]
fn imip_s6_moved_occurrence() {
    let ev = event(
        "UID:event4@example.com\nSEQUENCE:1\nRECURRENCE-ID;TZID=Europe/Oslo:20141017T160000\n\
         DTSTART;TZID=Europe/Oslo:20141017T180000\nDTEND;TZID=Europe/Oslo:20141017T190000\n\
         SUMMARY:Weekly meeting (moved)",
    );
    assert_eq!(ev.recurrence_id().as_deref(), Some("20141017T140000Z"));
    assert_eq!(ev.sequence, 1);
    assert!(!ev.this_and_future);
    let exp = expand(&ev, "Europe/Oslo", "20141001T000000Z");
    // An override is exactly one instance, whatever the window.
    assert_eq!(exp.instances.len(), 1);
    let i = exp.instances[0];
    assert_eq!(format_utc(i.start), "20141017T160000Z");
    assert_eq!(format_utc(i.end), "20141017T170000Z");
    assert_eq!(format_utc(i.recurrence_point), "20141017T140000Z");
    assert!(!exp.truncated);
}

#[test]
fn imip_recurrence_id_normalisation_table() {
    let cases = [
        ("RECURRENCE-ID:20141114", "20141114"),
        ("RECURRENCE-ID;VALUE=DATE:20141114", "20141114"),
        ("RECURRENCE-ID:20141114T000000", "20141114T000000"),
        (
            "RECURRENCE-ID;TZID=Europe/Oslo:20141114",
            "20141113T230000Z",
        ),
        (
            "RECURRENCE-ID;TZID=Europe/Oslo:20141114T000000",
            "20141113T230000Z",
        ),
        ("RECURRENCE-ID:20141114T000000Z", "20141114T000000Z"),
        (
            "RECURRENCE-ID;TZID=UTC:20141114T000000Z",
            "20141114T000000Z",
        ),
        (
            "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Oslo:20141114T100000",
            "20141114T090000Z",
        ),
    ];
    for (line, want) in cases {
        let ev = event(&format!("UID:r\nDTSTART:20141114T100000Z\n{line}"));
        assert_eq!(ev.recurrence_id().as_deref(), Some(want), "{line}");
        // The normalised form denotes the same instant as the property.
        let oslo = tz("Europe/Oslo");
        let point = recurrence_id_point(want, oslo).unwrap();
        let exp = ev
            .instances(&ExpandContext::new(oslo, utc("20300101T000000Z")))
            .unwrap();
        assert_eq!(exp.instances[0].recurrence_point, point, "{line}");
    }
    let ev = event(
        "UID:r\nDTSTART:20141114T100000Z\n\
         RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Oslo:20141114T100000",
    );
    assert!(ev.this_and_future);
}

#[test]
fn recurrence_id_points() {
    let oslo = tz("Europe/Oslo");
    assert_eq!(
        format_utc(recurrence_id_point("20141114", oslo).unwrap()),
        "20141113T230000Z"
    );
    assert_eq!(
        format_utc(recurrence_id_point("20141114T100000", oslo).unwrap()),
        "20141114T090000Z"
    );
    assert_eq!(
        format_utc(recurrence_id_point("20141114T100000Z", oslo).unwrap()),
        "20141114T100000Z"
    );
    for bad in ["", "2014111", "20141114T1000", "20141131", "x"] {
        assert!(recurrence_id_point(bad, oslo).is_err(), "{bad}");
    }
}

#[test]
fn override_matches_parent_instance() {
    let parent = event(
        "UID:e\nDTSTART;TZID=Europe/Oslo:20141010T160000\nDURATION:PT1H\n\
         RRULE:FREQ=WEEKLY;COUNT=3",
    );
    let child = event(
        "UID:e\nRECURRENCE-ID;TZID=Europe/Oslo:20141017T160000\n\
         DTSTART;TZID=Europe/Oslo:20141017T180000\nDURATION:PT1H",
    );
    let ctx = ExpandContext::new(tz("Europe/Oslo"), utc("20150101T000000Z"));
    let parent_points: Vec<_> = parent
        .instances(&ctx)
        .unwrap()
        .instances
        .iter()
        .map(|i| i.recurrence_point)
        .collect();
    let child_point = child.instances(&ctx).unwrap().instances[0].recurrence_point;
    assert_eq!(parent_points[1], child_point);
    let rid = child.recurrence_id().unwrap();
    assert_eq!(
        recurrence_id_point(&rid, tz("America/New_York")).unwrap(),
        child_point
    );
}

// ---------------------------------------------------------------------------------------
// Time zones, DST, all-day, floating.

#[test]
fn dst_gap_and_fold_in_berlin() {
    let gap = event("UID:g\nDTSTART;TZID=Europe/Berlin:20260329T023000\nDURATION:PT1H");
    let exp = expand(&gap, "UTC", "20300101T000000Z");
    assert_eq!(format_utc(exp.instances[0].start), "20260329T013000Z");
    assert_eq!(format_utc(exp.instances[0].end), "20260329T023000Z");

    let fold = event("UID:f\nDTSTART;TZID=Europe/Berlin:20261025T023000\nDURATION:PT1H");
    let exp = expand(&fold, "UTC", "20300101T000000Z");
    assert_eq!(format_utc(exp.instances[0].start), "20261025T003000Z");

    // A daily rule at 02:30 across the spring gap.
    let daily =
        event("UID:d\nDTSTART;TZID=Europe/Berlin:20260327T023000\nRRULE:FREQ=DAILY;COUNT=4");
    let exp = expand(&daily, "UTC", "20300101T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec![
            "20260327T013000Z",
            "20260328T013000Z",
            "20260329T013000Z",
            "20260330T003000Z"
        ]
    );
    // And across the autumn fold.
    let daily =
        event("UID:d\nDTSTART;TZID=Europe/Berlin:20261024T023000\nRRULE:FREQ=DAILY;COUNT=3");
    let exp = expand(&daily, "UTC", "20300101T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec!["20261024T003000Z", "20261025T003000Z", "20261026T013000Z"]
    );
}

#[test]
fn nominal_duration_follows_the_wall_clock() {
    // DURATION:P1D across the spring change is 23 hours; PT24H is 24.
    let ev = event("UID:n\nDTSTART;TZID=Europe/Berlin:20260328T120000\nDURATION:P1D");
    let i = expand(&ev, "UTC", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(i.end), "20260329T100000Z");
    assert_eq!((i.end - i.start).num_hours(), 23);
    let ev = event("UID:n\nDTSTART;TZID=Europe/Berlin:20260328T120000\nDURATION:PT24H");
    let i = expand(&ev, "UTC", "20300101T000000Z").instances[0];
    assert_eq!((i.end - i.start).num_hours(), 24);
    // DTEND gives the same exact length to every instance.
    let ev = event(
        "UID:n\nDTSTART;TZID=Europe/Berlin:20260327T120000\n\
         DTEND;TZID=Europe/Berlin:20260328T120000\nRRULE:FREQ=DAILY;COUNT=2",
    );
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    for i in &exp.instances {
        assert_eq!((i.end - i.start).num_hours(), 24);
    }
}

#[test]
fn all_day_events_across_dst() {
    let ev = event("UID:a\nDTSTART;VALUE=DATE:20260329\nDTEND;VALUE=DATE:20260330");
    let i = expand(&ev, "Europe/Berlin", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(i.start), "20260328T230000Z");
    assert_eq!(format_utc(i.end), "20260329T220000Z");

    // No DTEND: one day.
    let ev = event("UID:a\nDTSTART;VALUE=DATE:20261025");
    let i = expand(&ev, "Europe/Berlin", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(i.start), "20261024T220000Z");
    assert_eq!(format_utc(i.end), "20261025T230000Z");

    // Recurring all-day: midnight to midnight local every day.
    let ev = event(
        "UID:a\nDTSTART;VALUE=DATE:20260328\nDTEND;VALUE=DATE:20260329\n\
         RRULE:FREQ=DAILY;COUNT=3",
    );
    let exp = expand(&ev, "Europe/Berlin", "20300101T000000Z");
    let spans: Vec<(String, String)> = exp
        .instances
        .iter()
        .map(|i| (format_utc(i.start), format_utc(i.end)))
        .collect();
    let want = [
        ("20260327T230000Z", "20260328T230000Z"),
        ("20260328T230000Z", "20260329T220000Z"),
        ("20260329T220000Z", "20260330T220000Z"),
    ];
    for (got, want) in spans.iter().zip(want) {
        assert_eq!((got.0.as_str(), got.1.as_str()), want);
    }
    assert_eq!(spans.len(), 3);
}

#[test]
fn date_until_is_inclusive() {
    let ev =
        event("UID:u\nDTSTART;TZID=Europe/Berlin:20260101T100000\nRRULE:FREQ=DAILY;UNTIL=20260105");
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    assert_eq!(exp.instances.len(), 5);
    assert_eq!(format_utc(exp.instances[4].start), "20260105T090000Z");
    assert!(!exp.truncated);
    assert!(!ev.is_open_ended());

    let ev = event("UID:u\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=WEEKLY;UNTIL=20260115");
    let exp = expand(&ev, "Europe/Berlin", "20300101T000000Z");
    assert_eq!(
        local_starts(&exp, "Europe/Berlin"),
        at("000000", &["20260101", "20260108", "20260115"])
    );
    // A floating UNTIL is compared on the wall clock.
    let ev = event(
        "UID:u\nDTSTART;TZID=Europe/Berlin:20260101T100000\n\
         RRULE:FREQ=DAILY;UNTIL=20260103T100000",
    );
    assert_eq!(expand(&ev, "UTC", "20300101T000000Z").instances.len(), 3);
}

#[test]
fn exdates_match_by_instant_and_by_date() {
    let ev = event(
        "UID:x\nDTSTART;TZID=Europe/Berlin:20260105T100000\nDURATION:PT1H\n\
         RRULE:FREQ=DAILY;COUNT=6\n\
         EXDATE;TZID=America/New_York:20260106T040000\n\
         EXDATE:20260107T090000Z,20260101T090000Z\n\
         EXDATE;VALUE=DATE:20260108",
    );
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    // COUNT counts excluded instances too (RFC 5545): 5th..10th minus 6th, 7th, 8th.
    assert_eq!(
        utc_starts(&exp),
        vec!["20260105T090000Z", "20260109T090000Z", "20260110T090000Z"]
    );
}

#[test]
fn date_exdate_on_all_day_and_floating_events() {
    let ev = event(
        "UID:x\nDTSTART;VALUE=DATE:20260105\nRRULE:FREQ=DAILY;COUNT=3\n\
         EXDATE;VALUE=DATE:20260106",
    );
    let exp = expand(&ev, "Asia/Tokyo", "20300101T000000Z");
    assert_eq!(
        local_starts(&exp, "Asia/Tokyo"),
        at("000000", &["20260105", "20260107"])
    );
    let ev =
        event("UID:x\nDTSTART:20260105T090000\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE:20260106T090000");
    let exp = expand(&ev, "America/New_York", "20300101T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec!["20260105T140000Z", "20260107T140000Z"]
    );
}

#[test]
fn rdates_with_date_times_and_periods() {
    let ev = event(
        "UID:r\nDTSTART;TZID=Europe/Berlin:20260105T100000\n\
         DTEND;TZID=Europe/Berlin:20260105T110000\n\
         RDATE;TZID=Europe/Berlin:20260110T120000\n\
         RDATE;VALUE=PERIOD:20260111T080000Z/20260111T100000Z,20260112T080000Z/PT30M\n\
         RDATE:20260105T090000Z",
    );
    assert!(ev.is_recurring());
    assert!(!ev.is_open_ended());
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    let got: Vec<(String, String)> = exp
        .instances
        .iter()
        .map(|i| (format_utc(i.start), format_utc(i.end)))
        .collect();
    let want = [
        // The RDATE equal to DTSTART is deduplicated.
        ("20260105T090000Z", "20260105T100000Z"),
        ("20260110T110000Z", "20260110T120000Z"),
        // PERIOD RDATEs have their own end.
        ("20260111T080000Z", "20260111T100000Z"),
        ("20260112T080000Z", "20260112T083000Z"),
    ];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.0.as_str(), g.1.as_str()), w);
    }
    assert!(!exp.truncated);
    // An RDATE past the window is reported as truncation.
    let exp = expand(&ev, "UTC", "20260111T000000Z");
    assert_eq!(exp.instances.len(), 2);
    assert!(exp.truncated);
}

#[test]
fn rrule_and_rdate_on_the_same_start_give_one_instance() {
    let ev = event(
        "UID:r\nDTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;COUNT=3\n\
         RDATE:20260106T090000Z,20260110T090000Z",
    );
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec![
            "20260105T090000Z",
            "20260106T090000Z",
            "20260107T090000Z",
            "20260110T090000Z"
        ]
    );
}

#[test]
fn floating_times_resolve_in_the_context_zone() {
    let ev = event("UID:f\nDTSTART:20260115T090000\nDTEND:20260115T100000");
    let ny = expand(&ev, "America/New_York", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(ny.start), "20260115T140000Z");
    assert_eq!(format_utc(ny.end), "20260115T150000Z");
    let berlin = expand(&ev, "Europe/Berlin", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(berlin.start), "20260115T080000Z");
}

#[test]
fn non_recurring_event_is_one_instance_whatever_the_window() {
    let ev = event("UID:n\nDTSTART:20300101T090000Z\nDTEND:20300101T100000Z");
    assert!(!ev.is_recurring());
    assert!(!ev.is_open_ended());
    let exp = expand(&ev, "UTC", "20260101T000000Z");
    assert_eq!(exp.instances.len(), 1);
    assert!(!exp.truncated);
    // Zero length without DTEND or DURATION.
    let ev = event("UID:n\nDTSTART:20300101T090000Z");
    let i = expand(&ev, "UTC", "20260101T000000Z").instances[0];
    assert_eq!(i.start, i.end);
}

#[test]
fn open_ended_daily_stops_at_the_window() {
    let ev = event("UID:o\nDTSTART:20260101T090000Z\nRRULE:FREQ=DAILY");
    assert!(ev.is_open_ended());
    let exp = expand(&ev, "UTC", "20260111T000000Z");
    assert_eq!(exp.instances.len(), 10);
    assert!(exp.truncated);
    assert_eq!(format_utc(exp.instances[9].start), "20260110T090000Z");
    // A start exactly at the window end is excluded.
    let exp = expand(&ev, "UTC", "20260110T090000Z");
    assert_eq!(exp.instances.len(), 9);
    assert!(exp.truncated);
    // A very far window hits the instance cap instead of hanging.
    let err = ev
        .instances(&ExpandContext::new(Tz::UTC, DateTime::<Utc>::MAX_UTC))
        .unwrap_err()
        .0;
    assert!(err.contains("more than 100000 instances"), "{err}");
}

#[test]
fn count_and_until_past_the_window_set_truncated() {
    let ev = event("UID:c\nDTSTART:20260101T090000Z\nRRULE:FREQ=WEEKLY;COUNT=30");
    let exp = expand(&ev, "UTC", "20260201T000000Z");
    assert_eq!(exp.instances.len(), 5);
    assert!(exp.truncated);
    let exp = expand(&ev, "UTC", "20270101T000000Z");
    assert_eq!(exp.instances.len(), 30);
    assert!(!exp.truncated);

    let ev = event("UID:c\nDTSTART:20260101T090000Z\nRRULE:FREQ=WEEKLY;UNTIL=20260301T000000Z");
    assert!(expand(&ev, "UTC", "20260201T000000Z").truncated);
    let exp = expand(&ev, "UTC", "20260401T000000Z");
    assert!(!exp.truncated);
    assert_eq!(exp.instances.len(), 9);
    // A recurring event starting after the window has no instances yet.
    let exp = expand(&ev, "UTC", "20251201T000000Z");
    assert!(exp.instances.is_empty());
    assert!(exp.truncated);
}

#[test]
fn instance_cap_is_an_error() {
    let ev = event("UID:m\nDTSTART:20260101T000000Z\nRRULE:FREQ=MINUTELY");
    let ctx = ExpandContext {
        tz: Tz::UTC,
        window_end: utc("20260201T000000Z"),
        max_instances: 1000,
    };
    let err = ev.instances(&ctx).unwrap_err().0;
    assert!(
        err.contains("more than 1000 instances before 20260201T000000Z"),
        "{err}"
    );
    // Exactly at the cap is fine.
    let ctx = ExpandContext {
        tz: Tz::UTC,
        window_end: utc("20260101T164000Z"),
        max_instances: 1000,
    };
    assert_eq!(ev.instances(&ctx).unwrap().instances.len(), 1000);
}

#[test]
fn rules_that_never_match_terminate() {
    let ev = event("UID:z\nDTSTART:20260101T000000Z\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
    let exp = expand(&ev, "UTC", "21000101T000000Z");
    assert_eq!(exp.instances.len(), 1, "only DTSTART");
    let ev = event("UID:z\nDTSTART:20260101T000000Z\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30");
    let err = ev
        .instances(&ExpandContext::new(Tz::UTC, DateTime::<Utc>::MAX_UTC))
        .unwrap_err()
        .0;
    assert!(err.contains("too much work"), "{err}");
}

#[test]
fn dtstart_not_matching_the_rule_counts_as_first() {
    // DTSTART on a Wednesday, rule on Mondays: DTSTART is still an instance and counts.
    let ev = event("UID:w\nDTSTART:20260107T090000Z\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3");
    let exp = expand(&ev, "UTC", "20300101T000000Z");
    assert_eq!(
        utc_starts(&exp),
        vec!["20260107T090000Z", "20260112T090000Z", "20260119T090000Z"]
    );
}

// ---------------------------------------------------------------------------------------
// Parsing: fields, text, structure.

#[test]
fn fields_are_extracted() {
    let input = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
        UID:event1@example.com\r\nSEQUENCE:2\r\nDTSTAMP:20141009T182400Z\r\n\
        ORGANIZER:mailto:paul.boddie@example.com\r\n\
        ATTENDEE;PARTSTAT=accepted;SENT-BY=\"mailto:calendar@example.com\":mailto:resource-ro\r\n om-confroom@example.com\r\n\
        ATTENDEE;RSVP=TRUE:mailto:paul.boddie@example.com\r\n\
        SUMMARY:Meeting at 4pm\\, room \\\"A\\\"\\; bring\\nnotes\r\n\
        TRANSP:transparent\r\nSTATUS:confirmed\r\n\
        DTSTART;TZID=Europe/Oslo:20141010T160000\r\nDTEND;TZID=Europe/Oslo:20141010T170000\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";
    let events = parse_events(input.as_bytes()).unwrap();
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!(ev.uid, "event1@example.com");
    assert_eq!(ev.sequence, 2);
    assert_eq!(
        ev.summary.as_deref(),
        Some("Meeting at 4pm, room \\\"A\\\"; bring\nnotes")
    );
    assert_eq!(
        ev.organizer.as_deref(),
        Some("mailto:paul.boddie@example.com")
    );
    assert_eq!(
        ev.attendees,
        vec![
            Attendee {
                uri: "mailto:resource-room-confroom@example.com".to_owned(),
                partstat: Some("ACCEPTED".to_owned()),
            },
            Attendee {
                uri: "mailto:paul.boddie@example.com".to_owned(),
                partstat: None,
            },
        ]
    );
    assert_eq!(ev.transp.as_deref(), Some("TRANSPARENT"));
    assert_eq!(ev.status.as_deref(), Some("CONFIRMED"));
    assert!(!ev.this_and_future);
    assert_eq!(ev.recurrence_id(), None);
    let i = expand(ev, "UTC", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(i.start), "20141010T140000Z");
    assert_eq!(format_utc(i.end), "20141010T150000Z");
}

#[test]
fn text_is_reserialised_with_crlf_and_folding() {
    let long = "x".repeat(100);
    let input = format!(
        "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:Custom\nBEGIN:STANDARD\nDTSTART:19700101T000000\n\
         TZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n\
         begin:vevent\nuid:lower@example.com\nDTSTART:20260101T090000Z\n\
         DESCRIPTION:{long}\nBEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDURATION:PT5M\n\
         UID:alarm-uid\nEND:VALARM\nend:vevent\nEND:VCALENDAR\n"
    );
    let events = parse_events(input.as_bytes()).unwrap();
    let ev = &events[0];
    assert_eq!(
        ev.uid, "lower@example.com",
        "VALARM's UID is not the event's"
    );
    let want = format!(
        "BEGIN:VEVENT\r\nuid:lower@example.com\r\nDTSTART:20260101T090000Z\r\n\
         DESCRIPTION:{}\r\n {}\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\n\
         DURATION:PT5M\r\nUID:alarm-uid\r\nEND:VALARM\r\nEND:VEVENT\r\n",
        &long[..63],
        &long[63..]
    );
    assert_eq!(ev.text, want);
    // The VALARM's DURATION is not the event's: zero length.
    let i = expand(ev, "UTC", "20300101T000000Z").instances[0];
    assert_eq!(i.start, i.end);
    // The text parses back to the same event.
    let again = parse_events(ev.text.as_bytes()).unwrap();
    assert_eq!(&again[0], ev);
}

#[test]
fn several_calendars_and_bare_events() {
    let input = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\n\
        END:VEVENT\r\nBEGIN:VTODO\r\nUID:todo\r\nEND:VTODO\r\nBEGIN:X-THING\r\nX-A:1\r\n\
        BEGIN:X-INNER\r\nEND:X-INNER\r\nEND:X-THING\r\nEND:VCALENDAR\r\n\
        BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260102T090000Z\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b\r\nRECURRENCE-ID:20260102T090000Z\r\n\
        DTSTART:20260102T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n\
        BEGIN:VEVENT\r\nUID:c\r\nDTSTART;VALUE=DATE:20260103\r\nEND:VEVENT\r\n";
    let events = parse_events(input.as_bytes()).unwrap();
    let uids: Vec<(&str, Option<String>)> = events
        .iter()
        .map(|e| (e.uid.as_str(), e.recurrence_id()))
        .collect();
    assert_eq!(
        uids,
        vec![
            ("a", None),
            ("b", None),
            ("b", Some("20260102T090000Z".to_owned())),
            ("c", None)
        ]
    );
    assert!(parse_events(b"").unwrap().is_empty());
    assert!(
        parse_events(b"\xEF\xBB\xBFBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn sql_looking_uid_is_just_data() {
    let ev = event("UID:x'); DROP TABLE objects;--\nDTSTART:20260101T090000Z");
    assert_eq!(ev.uid, "x'); DROP TABLE objects;--");
}

// ---------------------------------------------------------------------------------------
// Bad input.

fn assert_err(msg: &str, needles: &[&str]) {
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not contain {n:?}");
    }
}

#[test]
fn non_utf8_names_the_line() {
    let input = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:caf\xe9\r\n\
        DTSTART:20260101T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let msg = parse_events(input).unwrap_err().0;
    assert_err(&msg, &["line 4", "UTF-8"]);
}

#[test]
fn missing_uid() {
    let msg = event_error("DTSTART:20260101T090000Z\nSUMMARY:no uid");
    assert_err(&msg, &["VEVENT at line 3", "no UID"]);
}

#[test]
fn bad_uids() {
    assert_err(
        &event_error("UID:\nDTSTART:20260101T090000Z"),
        &["line 4", "empty UID"],
    );
    let long = "u".repeat(MAX_UID_LEN + 1);
    assert_err(
        &event_error(&format!("UID:{long}\nDTSTART:20260101T090000Z")),
        &["line 4", "UID", "1025 bytes", "1024"],
    );
    let ok = "u".repeat(MAX_UID_LEN);
    event(&format!("UID:{ok}\nDTSTART:20260101T090000Z"));
    assert_err(
        &event_error("UID:a\u{7}b\nDTSTART:20260101T090000Z"),
        &["line 4", "the control character U+0007"],
    );
    assert_err(
        &event_error("UID:a\nUID:b\nDTSTART:20260101T090000Z"),
        &["line 5", "UID", "more than once"],
    );
}

#[test]
fn missing_and_mismatched_end() {
    let msg =
        parse_events(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\n")
            .unwrap_err()
            .0;
    assert_err(&msg, &["missing END:VEVENT", "line 2"]);
    let msg = parse_events(
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nEND:VCALENDAR\r\n",
    )
    .unwrap_err()
    .0;
    assert_err(
        &msg,
        &[
            "line 5",
            "END:VCALENDAR does not match BEGIN:VEVENT at line 2",
        ],
    );
    let msg = parse_events(
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nBEGIN:VALARM\r\n\
          END:VTODO\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap_err()
    .0;
    assert_err(&msg, &["line 6", "END:VTODO", "BEGIN:VALARM at line 5"]);
    let msg = parse_events(b"END:VCALENDAR\r\n").unwrap_err().0;
    assert_err(&msg, &["line 1", "without a matching BEGIN"]);
    let msg = parse_events(b"BEGIN:VCALENDAR\r\n").unwrap_err().0;
    assert_err(&msg, &["missing END:VCALENDAR"]);
}

#[test]
fn bad_nesting() {
    let msg =
        parse_events(b"BEGIN:VEVENT\r\nUID:a\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VEVENT\r\n")
            .unwrap_err()
            .0;
    assert_err(&msg, &["line 3", "VEVENT cannot be nested inside VEVENT"]);
    let msg = parse_events(b"BEGIN:VCALENDAR\r\nBEGIN:VCALENDAR\r\n")
        .unwrap_err()
        .0;
    assert_err(&msg, &["line 2", "VCALENDAR cannot be nested"]);
    let msg = parse_events(b"UID:a\r\n").unwrap_err().0;
    assert_err(&msg, &["line 1", "outside of any component"]);
    let msg = parse_events(b"BEGIN:\r\n").unwrap_err().0;
    assert_err(&msg, &["line 1", "invalid component name"]);
}

#[test]
fn impossible_dates_and_times() {
    assert_err(
        &event_error("UID:a\nDTSTART:20230230T090000Z"),
        &["line 5", "DTSTART", "20230230T090000Z", "does not exist"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART;VALUE=DATE:20230230"),
        &["line 5", "DTSTART", "20230230"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T250000"),
        &["line 5", "DTSTART", "25:00:00"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nEXDATE:20230231T090000Z"),
        &["line 6", "EXDATE", "20230231"],
    );
    // A DATE value without VALUE=DATE is accepted (common in the wild); VALUE must match.
    event("UID:a\nDTSTART:20230101");
}

#[test]
fn missing_dtstart() {
    assert_err(
        &event_error("UID:a@b\nDTEND:20230101T090000Z"),
        &["VEVENT at line 3", "\"a@b\"", "no DTSTART"],
    );
}

#[test]
fn durations_are_validated() {
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nDURATION:PT1D"),
        &[
            "line 6",
            "DURATION",
            "invalid duration \"PT1D\": days must come before T",
        ],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nDURATION:-PT1H"),
        &["line 6", "negative"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nDTEND:20230101T100000Z\nDURATION:PT1H"),
        &["DTEND (line 6) and DURATION (line 7)"],
    );
}

#[test]
fn unknown_tzid() {
    assert_err(
        &event_error("UID:a\nDTSTART;TZID=Mars/Olympus:20230101T090000"),
        &["line 5", "DTSTART", "unknown time zone \"Mars/Olympus\""],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nEXDATE;TZID=Mars/Olympus:20230102T090000"),
        &["line 6", "EXDATE", "Mars/Olympus"],
    );
    // Globally unique prefix and odd case are accepted.
    event("UID:a\nDTSTART;TZID=/Europe/Oslo:20230101T090000");
    event("UID:a\nDTSTART;TZID=\"europe/oslo\":20230101T090000");
}

#[test]
fn dtend_before_dtstart_and_mixed_kinds() {
    assert_err(
        &event_error("UID:a\nDTSTART;TZID=Europe/Oslo:20230101T100000\nDTEND:20230101T085959Z"),
        &["line 6", "DTEND", "before DTSTART"],
    );
    // 09:00Z is 10:00 in Oslo: zero length is fine.
    event("UID:a\nDTSTART;TZID=Europe/Oslo:20230101T100000\nDTEND:20230101T090000Z");
    assert_err(
        &event_error("UID:a\nDTSTART;VALUE=DATE:20230102\nDTEND;VALUE=DATE:20230101"),
        &["before DTSTART"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART;VALUE=DATE:20230102\nDTEND:20230103T000000Z"),
        &["both be DATEs"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230102T090000\nDTEND:20230103T000000Z"),
        &["floating"],
    );
}

#[test]
fn rrule_errors_name_the_line() {
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nRRULE:COUNT=3"),
        &["line 6", "RRULE", "FREQ is required"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nRRULE:FREQ=DAILY;COUNT=3;UNTIL=20230105"),
        &["line 6", "COUNT and UNTIL"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART;VALUE=DATE:20230101\nRRULE:FREQ=DAILY;BYHOUR=9"),
        &["DATE", "BYHOUR"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nEXRULE:FREQ=DAILY"),
        &["line 6", "EXRULE"],
    );
}

#[test]
fn over_long_values_are_rejected() {
    let long = "a".repeat(MAX_PROPERTY_VALUE_LEN + 1);
    assert_err(
        &event_error(&format!(
            "UID:a\nDTSTART:20230101T090000Z\nDESCRIPTION:{long}"
        )),
        &["line 6", "DESCRIPTION", "65537 bytes"],
    );
    // Also in a skipped component.
    let input =
        format!("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-BIG:{long}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
    assert!(parse_events(input.as_bytes()).is_err());
    // A VEVENT over MAX_COMPONENT_LEN.
    let chunk = "d".repeat(60_000);
    let mut body = String::from("UID:a\nDTSTART:20230101T090000Z\n");
    for _ in 0..20 {
        body.push_str(&format!("DESCRIPTION:{chunk}\n"));
    }
    assert_err(
        &event_error(&body),
        &["VEVENT at line 3", "limit of 1048576"],
    );
}

#[test]
fn malformed_lines_and_parameters() {
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nGARBAGE"),
        &["line 6", "no ':'"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART;TZID=\"Europe/Oslo:20230101T090000"),
        &["line 5", "unterminated"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART;VALUE=PERIOD:20230101T090000Z"),
        &["line 5", "VALUE=PERIOD"],
    );
    assert_err(
        &event_error("UID:a\nDTSTART:20230101T090000Z\nSEQUENCE:one"),
        &["line 6", "SEQUENCE", "not an integer"],
    );
    assert_err(
        &event_error(
            "UID:a\nDTSTART:20230101T090000Z\nRECURRENCE-ID;RANGE=THISANDPRIOR:20230101T090000Z",
        ),
        &["line 6", "THISANDPRIOR"],
    );
    assert_err(
        &event_error(
            "UID:a\nDTSTART:20230101T090000Z\nRDATE;VALUE=PERIOD:20230101T090000Z/20230101T080000Z",
        ),
        &["line 6", "ends before it starts"],
    );
}

#[test]
fn error_values_are_truncated() {
    let long = format!("2023{}", "9".repeat(200));
    let msg = event_error(&format!("UID:a\nDTSTART:{long}"));
    assert!(msg.len() < 300, "{msg}");
    assert!(msg.contains("..."), "{msg}");
}

#[test]
fn dtstart_in_a_gap_with_dtend_after_it() {
    // 02:30 is in the gap (03:30 CEST, 01:30Z); 03:15 CEST is 01:15Z. On the wall clock the
    // event is 45 minutes long; the instance is clamped to zero length rather than negative.
    let ev = event(
        "UID:g\nDTSTART;TZID=Europe/Berlin:20260329T023000\n\
         DTEND;TZID=Europe/Berlin:20260329T031500",
    );
    let i = expand(&ev, "UTC", "20300101T000000Z").instances[0];
    assert_eq!(format_utc(i.start), "20260329T013000Z");
    assert_eq!(i.end, i.start);
    // Different zones are compared as instants.
    assert_err(
        &event_error(
            "UID:g\nDTSTART;TZID=Europe/Berlin:20260101T100000\n\
             DTEND;TZID=Europe/London:20260101T085959",
        ),
        &["before DTSTART"],
    );
}

#[test]
fn large_candidate_sets_with_bysetpos() {
    // 12 days x 24 x 60 x 60 candidate times per year.
    let ev = event(
        "UID:h\nDTSTART:20260101T000000Z\n\
         RRULE:FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=-1;BYHOUR=0,1,2,3,4,5,\
         6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,\
         12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,\
         41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYSECOND=0,1,2,3,4,5,6,7,8,9,\
         10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,\
         39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60;BYSETPOS=1",
    );
    let exp = expand(&ev, "UTC", "20270201T000000Z");
    // BYSETPOS=1 picks the first candidate of each year: 2026-01-31T00:00:00.
    assert_eq!(
        utc_starts(&exp),
        vec!["20260101T000000Z", "20260131T000000Z", "20270131T000000Z"]
    );
}

#[test]
fn huge_candidate_sets_are_refused_not_built() {
    // 365 days x 24 x 60 x 60 candidate times in one period: refused before allocating.
    let all = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let ev = event(&format!(
        "UID:h\nDTSTART:20260101T000000Z\nRRULE:FREQ=YEARLY;BYYEARDAY=-1,{};BYHOUR={};\
         BYMINUTE={};BYSECOND={};BYSETPOS=1",
        (1..=365)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(","),
        all(24),
        all(60),
        all(60)
    ));
    let err = ev
        .instances(&ExpandContext::new(Tz::UTC, utc("20270201T000000Z")))
        .unwrap_err()
        .0;
    assert_err(&err, &["\"h\"", "too much work", "before 20270201T000000Z"]);
}

#[test]
fn extreme_windows_and_years_do_not_panic() {
    for zone in [
        "Europe/Berlin",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "UTC",
    ] {
        let ev = event(
            "UID:e\nDTSTART;TZID=Europe/Berlin:99991231T230000\nRRULE:FREQ=YEARLY\n\
             EXDATE;VALUE=DATE:99991231",
        );
        for end in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
            let result = ev.instances(&ExpandContext {
                tz: tz(zone),
                window_end: end,
                max_instances: 1000,
            });
            if let Ok(exp) = result {
                assert!(exp.instances.len() <= 1000);
            }
        }
        // Year 0000 is refused (issue 10: a placeholder, not 1 BC); 0001 is the earliest.
        let msg = event_error("UID:e\nDTSTART:00000101T000000");
        assert!(msg.ends_with("year 0000 does not exist"), "{msg}");
        let ev = event("UID:e\nDTSTART:00010101T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3");
        let exp = ev
            .instances(&ExpandContext::new(tz(zone), DateTime::<Utc>::MAX_UTC))
            .unwrap();
        assert_eq!(exp.instances.len(), 3);
        let ev = event(
            "UID:e\nDTSTART;VALUE=DATE:99991231\nRRULE:FREQ=DAILY\nEXDATE;VALUE=DATE:99991231",
        );
        let err = ev
            .instances(&ExpandContext {
                tz: tz(zone),
                window_end: DateTime::<Utc>::MAX_UTC,
                max_instances: 1000,
            })
            .unwrap_err();
        assert!(err.0.contains("more than 1000 instances"), "{err}");
    }
}
