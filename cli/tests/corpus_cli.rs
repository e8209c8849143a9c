//! The hold-out check through the binary: every calendar of the corpus
//! (`tests/fixtures/calendars/`, the 74 calendars and the 59 real-world `rw-*` patterns) is
//! imported with `calstore import --tz Z --expand-from FROM --expand-until TO` (leniently,
//! as a user would) and read back with `calstore freebusy --format json`; the periods
//! overlapping the window must be exactly those of its `.expected.json` (a null `uid` there
//! matches a derived UID). Prints the match percentage. `holdout.py` in that directory runs
//! the same check with any binary over any directory of calendars with expectations.
// Test code: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const DERIVED_UID_PREFIX: &str = "calstore-derived-";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/calendars")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// `start end uid transp` of the periods in `[from, to)` (a zero-length one: starting in
/// it), sorted, equal ones once; a derived UID reads `-`, as a null one does.
fn lines(periods: &[Value], from: &str, to: &str) -> Vec<String> {
    let field = |p: &Value, k: &str| p[k].as_str().unwrap_or("-").to_owned();
    let mut out: Vec<String> = periods
        .iter()
        .filter(|p| {
            let (start, end) = (field(p, "start"), field(p, "end"));
            if start == end {
                from <= start.as_str() && start.as_str() < to
            } else {
                start.as_str() < to && end.as_str() > from
            }
        })
        .map(|p| {
            let uid = field(p, "uid");
            let uid = if uid.starts_with(DERIVED_UID_PREFIX) {
                "-".to_owned()
            } else {
                uid
            };
            let transp = p["transp"].as_str().unwrap_or("OPAQUE");
            format!("{} {} {uid} {transp}", field(p, "start"), field(p, "end"))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn calstore(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_calstore"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CALSTORE_NOW", "20261122T000000Z")
        .output()
        .expect("run calstore")
}

#[test]
fn every_corpus_calendar_through_the_cli() {
    let dir = corpus_dir();
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", tmp.path().join("corpus.db").display());
    let manifest = read_json(&dir.join("manifest.json"));
    let names: Vec<&str> = manifest["calendars"]
        .as_array()
        .expect("calendars")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names.len(), 74 + 59);
    let mut failures = Vec::new();
    for name in &names {
        let exp = read_json(&dir.join(format!("{name}.expected.json")));
        let s = |k: &str| exp[k].as_str().expect(k).to_owned();
        let (tz, from, to) = (s("tz"), s("from"), s("to"));
        let user = format!("mailto:{name}@holdout.example.com");
        let ics = dir.join(format!("{name}.ics")).display().to_string();
        let import = calstore(
            &db,
            &[
                "import",
                "--user",
                &user,
                "--tz",
                &tz,
                "--expand-from",
                &from,
                "--expand-until",
                &to,
                &ics,
            ],
        );
        if !import.status.success() {
            failures.push(format!(
                "{name}: import failed: {}",
                String::from_utf8_lossy(&import.stderr).trim()
            ));
            continue;
        }
        let out = calstore(&db, &["freebusy", "--user", &user, "--format", "json"]);
        assert!(out.status.success(), "{name}: freebusy failed");
        let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let got = lines(got.as_array().expect("array"), &from, &to);
        let want = lines(exp["periods"].as_array().expect("periods"), &from, &to);
        if got != want {
            let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
            failures.push(format!("{name}: missing {missing:?}, unexpected {extra:?}"));
        }
    }
    let matched = names.len() - failures.len();
    // The figure decision 0007 reports (visible with --nocapture).
    println!(
        "corpus through the CLI: {matched} of {} calendars match ({:.1} %)",
        names.len(),
        100.0 * f64::from(u32::try_from(matched).unwrap_or(0))
            / f64::from(u32::try_from(names.len()).unwrap_or(1))
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
