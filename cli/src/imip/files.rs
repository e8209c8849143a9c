//! imip-agent 0.3's file layout (store and journal directories): reading it into the model
//! and writing the model back.
//!
//! Reading is strict about structure: every entry must be part of the documented layout
//! (`__lock__` directories are skipped), names must be UTF-8, symbolic links are not followed,
//! and a bad line is an error naming the file and line. Lines may end in LF or CRLF; blank
//! lines are skipped.
//!
//! Writing follows 0.3: LF line endings, tab-separated columns with an empty field for None,
//! free/busy sorted, `groups` and `limits` with a TAB between the two words, directories only
//! where something is written (0.3 creates them lazily), files 0660 and directories 02770.
//! Everything is written to a staging directory next to the target first and moved into place
//! at the end, so a failed export leaves the target as it was.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};

use calstore_core::ical::format_utc;
use calstore_core::{Entry, Offer, Period, Providers, Request, Status};

use super::{
    Fixes, ImipData, Object, ObjectKey, QuotaData, UserData, add_object, check_limit, check_name,
    check_object, check_rid, check_uid, check_user, path_component, period_from_fields, utc_field,
};
use crate::CliError;

/// The transient lock directory 0.3 creates in a user's or quota's directory.
const LOCK_DIR: &str = "__lock__";

fn fail(path: &Path, msg: impl Display) -> CliError {
    CliError::Failed(format!("{}: {msg}", path.display()))
}

fn fail_line(path: &Path, line: usize, msg: impl Display) -> CliError {
    CliError::Failed(format!("{}:{line}: {msg}", path.display()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

#[derive(Debug)]
struct DirEntry {
    name: String,
    path: PathBuf,
    kind: Kind,
}

/// The entries of a directory, sorted by name.
fn list(dir: &Path) -> Result<Vec<DirEntry>, CliError> {
    let entries =
        fs::read_dir(dir).map_err(|e| fail(dir, format!("cannot read the directory: {e}")))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(dir, format!("cannot read the directory: {e}")))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| fail(&path, "the name is not UTF-8"))?;
        let ty = entry
            .file_type()
            .map_err(|e| fail(&path, format!("cannot read: {e}")))?;
        let kind = if ty.is_symlink() {
            return Err(fail(
                &path,
                "is a symbolic link; links are not followed (they could lead out of the store)",
            ));
        } else if ty.is_dir() {
            Kind::Dir
        } else if ty.is_file() {
            Kind::File
        } else {
            return Err(fail(&path, "is neither a file nor a directory"));
        };
        out.push(DirEntry { name, path, kind });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl DirEntry {
    fn expect(&self, kind: Kind) -> Result<(), CliError> {
        if self.kind == kind {
            return Ok(());
        }
        Err(fail(
            &self.path,
            match kind {
                Kind::Dir => "should be a directory, but is a file",
                Kind::File => "should be a file, but is a directory",
            },
        ))
    }

    /// The entry's name as a key: it must stay inside its directory.
    fn component(&self, kind: &str) -> Result<String, CliError> {
        path_component(kind, &self.name).map_err(|e| fail(&self.path, e))?;
        Ok(self.name.clone())
    }
}

fn unexpected(entry: &DirEntry) -> CliError {
    fail(
        &entry.path,
        "is not part of imip-agent 0.3's store or journal layout",
    )
}

/// A text file's lines with their numbers (from 1), each checked to be UTF-8, without the
/// line ending (LF or CRLF).
fn lines(path: &Path) -> Result<Vec<(usize, String)>, CliError> {
    let bytes = fs::read(path).map_err(|e| fail(path, format!("cannot read: {e}")))?;
    let mut out = Vec::new();
    if bytes.is_empty() {
        return Ok(out);
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|_| fail_line(path, number, "not UTF-8"))?;
        out.push((number, text.to_owned()));
    }
    Ok(out)
}

/// Non-blank lines.
fn content_lines(path: &Path) -> Result<Vec<(usize, String)>, CliError> {
    Ok(lines(path)?
        .into_iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect())
}

/// Splits on tabs, checking the number of columns.
fn columns<'a>(line: &'a str, min: usize, max: usize, what: &str) -> Result<Vec<&'a str>, String> {
    let cols: Vec<&str> = line.split('\t').collect();
    if cols.len() < min || cols.len() > max {
        let expected = if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "expected {expected} tab-separated columns ({what}), found {}",
            cols.len()
        ));
    }
    Ok(cols)
}

const PERIOD_COLUMNS: &str = "start, end, uid, transp, recurrenceid, summary, organiser";

/// A free/busy file: 7 columns, or 8 with `extra` (expires or attendee). Each period comes
/// with its line number and the extra column's value.
fn read_periods(
    path: &Path,
    extra: Option<&str>,
    fixes: &mut Fixes,
) -> Result<Vec<(usize, Period, Option<String>)>, CliError> {
    let max = 7 + usize::from(extra.is_some());
    let what = match extra {
        Some(e) => format!("{PERIOD_COLUMNS}, {e}"),
        None => PERIOD_COLUMNS.to_owned(),
    };
    let mut out = Vec::new();
    for (n, line) in content_lines(path)? {
        let cols = columns(&line, 2, max, &what).map_err(|e| fail_line(path, n, e))?;
        let period = period_from_fields(&cols[..cols.len().min(7)], fixes)
            .map_err(|e| fail_line(path, n, e))?;
        let extra_value = cols
            .get(7)
            .filter(|v| !v.is_empty())
            .map(|v| (*v).to_owned());
        out.push((n, period, extra_value));
    }
    Ok(out)
}

fn read_object(
    path: &Path,
    uid: &str,
    rid: Option<&str>,
    fixes: &mut Fixes,
) -> Result<String, CliError> {
    let bytes = fs::read(path).map_err(|e| fail(path, format!("cannot read: {e}")))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(fail_line(path, line, "not UTF-8"));
        }
    };
    let (text, reserialised) = check_object(&text, uid, rid).map_err(|e| fail(path, e))?;
    fixes.reserialised += usize::from(reserialised);
    Ok(text)
}

/// `objects/UID` and `recurrences/UID/RID` under `dir` (a user's, quota's, or
/// `cancellations/` directory), with `status`.
fn read_objects(
    entry: &DirEntry,
    status: Status,
    objects: &mut BTreeMap<ObjectKey, Object>,
    fixes: &mut Fixes,
) -> Result<(), CliError> {
    entry.expect(Kind::Dir)?;
    let recurrences = entry.name == "recurrences";
    for e in list(&entry.path)? {
        let uid = e.component("uid")?;
        check_uid(&uid).map_err(|m| fail(&e.path, m))?;
        if !recurrences {
            e.expect(Kind::File)?;
            let text = read_object(&e.path, &uid, None, fixes)?;
            add_object(objects, (uid, None), Object { text, status }, fixes);
            continue;
        }
        e.expect(Kind::Dir)?;
        for r in list(&e.path)? {
            r.expect(Kind::File)?;
            let rid = r.component("recurrence id")?;
            check_rid(Some(&rid)).map_err(|m| fail(&r.path, m))?;
            let text = read_object(&r.path, &uid, Some(&rid), fixes)?;
            add_object(
                objects,
                (uid.clone(), Some(rid)),
                Object { text, status },
                fixes,
            );
        }
    }
    Ok(())
}

fn read_cancellations(
    dir: &DirEntry,
    objects: &mut BTreeMap<ObjectKey, Object>,
    fixes: &mut Fixes,
) -> Result<(), CliError> {
    dir.expect(Kind::Dir)?;
    for e in list(&dir.path)? {
        match e.name.as_str() {
            "objects" | "recurrences" => read_objects(&e, Status::Cancelled, objects, fixes)?,
            _ => return Err(unexpected(&e)),
        }
    }
    Ok(())
}

/// `counters/objects/UID/ATTENDEE` and `counters/recurrences/UID/RID/ATTENDEE`.
fn read_counters(dir: &DirEntry, user: &mut UserData, fixes: &mut Fixes) -> Result<(), CliError> {
    dir.expect(Kind::Dir)?;
    let attendees = |d: &DirEntry| -> Result<Vec<DirEntry>, CliError> {
        d.expect(Kind::Dir)?;
        let list = list(&d.path)?;
        for a in &list {
            a.expect(Kind::File)?;
            check_user("attendee", &a.name).map_err(|m| fail(&a.path, m))?;
        }
        Ok(list)
    };
    for kind in list(&dir.path)? {
        let recurrences = match kind.name.as_str() {
            "objects" => false,
            "recurrences" => true,
            _ => return Err(unexpected(&kind)),
        };
        kind.expect(Kind::Dir)?;
        for u in list(&kind.path)? {
            let uid = u.component("uid")?;
            check_uid(&uid).map_err(|m| fail(&u.path, m))?;
            let targets: Vec<(Option<String>, DirEntry)> = if recurrences {
                u.expect(Kind::Dir)?;
                let mut t = Vec::new();
                for r in list(&u.path)? {
                    let rid = r.component("recurrence id")?;
                    check_rid(Some(&rid)).map_err(|m| fail(&r.path, m))?;
                    t.push((Some(rid), r));
                }
                t
            } else {
                vec![(None, u)]
            };
            for (rid, d) in targets {
                for a in attendees(&d)? {
                    let text = read_object(&a.path, &uid, rid.as_deref(), fixes)?;
                    user.counters
                        .insert((uid.clone(), rid.clone(), a.name.clone()), text);
                }
            }
        }
    }
    Ok(())
}

/// `freebusy-providers`: the datetime line, then `UID<TAB>RID` lines. An empty file is no
/// record.
fn read_providers(path: &Path) -> Result<Option<Providers>, CliError> {
    let all = lines(path)?;
    let Some(((_, first), rest)) = all.split_first() else {
        return Ok(None);
    };
    let datetime = match first.trim() {
        "" => None,
        dt => {
            utc_field("datetime", dt).map_err(|e| fail_line(path, 1, e))?;
            Some(dt.to_owned())
        }
    };
    let mut providers = Vec::new();
    for (n, line) in rest.iter().filter(|(_, l)| !l.trim().is_empty()) {
        let cols = columns(line, 1, 2, "uid, recurrenceid").map_err(|e| fail_line(path, *n, e))?;
        let uid = cols[0].to_owned();
        check_uid(&uid).map_err(|e| fail_line(path, *n, e))?;
        let rid = cols
            .get(1)
            .filter(|r| !r.is_empty())
            .map(|r| (*r).to_owned());
        check_rid(rid.as_deref()).map_err(|e| fail_line(path, *n, e))?;
        providers.push((uid, rid));
    }
    Ok(Some(Providers {
        datetime,
        providers,
    }))
}

/// `requests`: `UID<TAB>RID<TAB>TYPE` lines.
fn read_requests(path: &Path) -> Result<Vec<Request>, CliError> {
    let mut out = Vec::new();
    for (n, line) in content_lines(path)? {
        let cols =
            columns(&line, 1, 3, "uid, recurrenceid, type").map_err(|e| fail_line(path, n, e))?;
        let field = |i: usize| {
            cols.get(i)
                .filter(|v| !v.is_empty())
                .map(|v| (*v).to_owned())
        };
        let request = Request {
            uid: cols[0].to_owned(),
            rid: field(1),
            kind: field(2),
        };
        check_uid(&request.uid).map_err(|e| fail_line(path, n, e))?;
        check_rid(request.rid.as_deref()).map_err(|e| fail_line(path, n, e))?;
        if let Some(kind) = &request.kind {
            calstore_core::validate::name("request type", kind)
                .map_err(|e| fail_line(path, n, super::store_err(e)))?;
        }
        out.push(request);
    }
    Ok(out)
}

fn read_user(dir: &DirEntry, fixes: &mut Fixes) -> Result<UserData, CliError> {
    let mut user = UserData::default();
    for e in list(&dir.path)? {
        match e.name.as_str() {
            "objects" | "recurrences" => {
                read_objects(&e, Status::Active, &mut user.objects, fixes)?;
            }
            "cancellations" => read_cancellations(&e, &mut user.objects, fixes)?,
            "counters" => read_counters(&e, &mut user, fixes)?,
            "freebusy" => {
                e.expect(Kind::File)?;
                user.freebusy = read_periods(&e.path, None, fixes)?
                    .into_iter()
                    .map(|(_, p, _)| p)
                    .collect();
            }
            "freebusy-offers" => {
                e.expect(Kind::File)?;
                for (n, period, expires) in read_periods(&e.path, Some("expires"), fixes)? {
                    let expires = match expires {
                        None => None,
                        Some(x) => {
                            Some(utc_field("expires", &x).map_err(|m| fail_line(&e.path, n, m))?)
                        }
                    };
                    user.offers.push(Offer { period, expires });
                }
            }
            "freebusy-other" => {
                e.expect(Kind::Dir)?;
                for o in list(&e.path)? {
                    o.expect(Kind::File)?;
                    check_user("other", &o.name).map_err(|m| fail(&o.path, m))?;
                    let periods = read_periods(&o.path, None, fixes)?
                        .into_iter()
                        .map(|(_, p, _)| p)
                        .collect();
                    user.others.insert(o.name.clone(), periods);
                }
            }
            "freebusy-providers" => {
                e.expect(Kind::File)?;
                user.providers = read_providers(&e.path)?;
            }
            "requests" => {
                e.expect(Kind::File)?;
                user.requests = read_requests(&e.path)?;
            }
            LOCK_DIR => {}
            _ => return Err(unexpected(&e)),
        }
    }
    Ok(user)
}

/// Splits a `groups` or `limits` line into words: whitespace separates, and single or double
/// quotes group a word (as 0.3 reads them).
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".to_owned());
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

fn pairs(path: &Path, what: &str) -> Result<Vec<(usize, String, String)>, CliError> {
    let mut out = Vec::new();
    for (n, line) in content_lines(path)? {
        let w = words(&line).map_err(|e| fail_line(path, n, e))?;
        match <[String; 2]>::try_from(w) {
            Ok([a, b]) => out.push((n, a, b)),
            Err(w) => {
                return Err(fail_line(
                    path,
                    n,
                    format!("expected two words ({what}), found {}", w.len()),
                ));
            }
        }
    }
    Ok(out)
}

fn read_quota(dir: &DirEntry, data: &mut ImipData) -> Result<QuotaData, CliError> {
    let mut quota = QuotaData::default();
    let fixes = &mut data.fixes;
    for e in list(&dir.path)? {
        match e.name.as_str() {
            "objects" | "recurrences" => {
                read_objects(&e, Status::Active, &mut quota.objects, fixes)?;
            }
            "cancellations" => read_cancellations(&e, &mut quota.objects, fixes)?,
            "delegates" => {
                e.expect(Kind::File)?;
                for (n, line) in content_lines(&e.path)? {
                    let d = line.trim().to_owned();
                    check_user("delegate", &d).map_err(|m| fail_line(&e.path, n, m))?;
                    quota.delegates.push(d);
                }
            }
            "groups" => {
                e.expect(Kind::File)?;
                for (n, user, group) in pairs(&e.path, "user and group")? {
                    calstore_core::validate::name("user", &user)
                        .and_then(|()| calstore_core::validate::name("group", &group))
                        .map_err(|m| fail_line(&e.path, n, super::store_err(m)))?;
                    quota.groups.insert(user, group);
                }
            }
            "limits" => {
                e.expect(Kind::File)?;
                for (n, group, limit) in pairs(&e.path, "group and limit")? {
                    calstore_core::validate::name("group", &group)
                        .map_err(|m| fail_line(&e.path, n, super::store_err(m)))?;
                    check_limit(&limit).map_err(|m| fail_line(&e.path, n, m))?;
                    quota.limits.insert(group, limit);
                }
            }
            "freebusy-other" => {
                e.expect(Kind::Dir)?;
                for g in list(&e.path)? {
                    g.expect(Kind::File)?;
                    check_name("group", &g.name).map_err(|m| fail(&g.path, m))?;
                    let mut entries = Vec::new();
                    for (n, period, attendee) in read_periods(&g.path, Some("attendee"), fixes)? {
                        if let Some(a) = &attendee {
                            calstore_core::validate::name("attendee", a)
                                .map_err(|m| fail_line(&g.path, n, super::store_err(m)))?;
                        }
                        entries.push(Entry { period, attendee });
                    }
                    quota.entries.insert(g.name.clone(), entries);
                }
            }
            "freebusy-providers" => {
                e.expect(Kind::File)?;
                if let Some(p) = read_providers(&e.path)? {
                    data.skipped.push(format!(
                        "{} ({} of quota {}; calstore keeps no providers for quotas)",
                        e.path.display(),
                        super::plural(p.providers.len(), "provider", "providers"),
                        dir.name
                    ));
                }
            }
            LOCK_DIR => {}
            _ => return Err(unexpected(&e)),
        }
    }
    Ok(quota)
}

fn require_dir(dir: &Path, what: &str) -> Result<(), CliError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(fail(dir, format!("the {what} is not a directory"))),
        Err(e) => Err(fail(dir, format!("cannot open the {what}: {e}"))),
    }
}

/// Reads a store directory and, if given, a journal directory.
pub fn read(store: &Path, journal: Option<&Path>) -> Result<ImipData, CliError> {
    let mut data = ImipData::default();
    require_dir(store, "store directory")?;
    for e in list(store)? {
        e.expect(Kind::Dir)?;
        check_user("store directory name", &e.name).map_err(|m| fail(&e.path, m))?;
        let user = read_user(&e, &mut data.fixes)?;
        data.users.insert(e.name.clone(), user);
    }
    if let Some(journal) = journal {
        require_dir(journal, "journal directory")?;
        for e in list(journal)? {
            e.expect(Kind::Dir)?;
            check_name("quota", &e.name).map_err(|m| fail(&e.path, m))?;
            let quota = read_quota(&e, &mut data)?;
            data.quotas.insert(e.name.clone(), quota);
        }
    }
    Ok(data)
}

// ---- writing -----------------------------------------------------------------------------------

/// Fails unless `dir` is missing or empty (or `force` is given).
pub fn check_target(dir: &Path, force: bool) -> Result<(), CliError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                return Err(fail(
                    dir,
                    "is not empty; pass --force to write into it (each exported user's or \
                     quota's directory is then replaced)",
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(dir, format!("cannot use as the target: {e}"))),
    }
}

/// A field for a tab-separated line: None is empty; tabs and line breaks become spaces.
fn field(value: Option<&str>, fixes: &mut Fixes) -> String {
    let v = value.unwrap_or("");
    if v.contains(['\t', '\n', '\r']) {
        fixes.flattened += 1;
        v.replace(['\t', '\n', '\r'], " ")
    } else {
        v.to_owned()
    }
}

fn period_line(p: &Period, extra: Option<Option<&str>>, fixes: &mut Fixes) -> String {
    let mut cols = vec![
        format_utc(p.start),
        format_utc(p.end),
        field(p.uid.as_deref(), fixes),
        field(Some(p.transp.as_deref().unwrap_or("OPAQUE")), fixes),
        field(p.recurrenceid.as_deref(), fixes),
        field(p.summary.as_deref(), fixes),
        field(p.organiser.as_deref(), fixes),
    ];
    if let Some(extra) = extra {
        cols.push(field(extra, fixes));
    }
    let mut line = cols.join("\t");
    line.push('\n');
    line
}

/// A word of a `groups` or `limits` line, quoted when it holds whitespace or quotes.
fn word(w: &str) -> String {
    if w.is_empty() || w.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        if w.contains('"') {
            format!("'{w}'")
        } else {
            format!("\"{w}\"")
        }
    } else {
        w.to_owned()
    }
}

/// Writes files under a staging root, creating directories as needed.
struct Writer {
    root: PathBuf,
}

impl Writer {
    fn dir(&self, path: &Path) -> Result<(), CliError> {
        if path.is_dir() {
            return Ok(());
        }
        if let Some(parent) = path.parent()
            && parent != self.root
            && parent.starts_with(&self.root)
        {
            self.dir(parent)?;
        }
        fs::create_dir(path).map_err(|e| fail(path, format!("cannot create: {e}")))?;
        set_mode(path, 0o2770)
    }

    fn file(&self, parts: &[&str], content: &str) -> Result<(), CliError> {
        let mut path = self.root.clone();
        for p in parts {
            path.push(p);
        }
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        fs::write(&path, content).map_err(|e| fail(&path, format!("cannot write: {e}")))?;
        set_mode(&path, 0o660)
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| fail(path, format!("cannot set permissions: {e}")))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), CliError> {
    Ok(())
}

fn checked(kind: &str, name: &str, owner: &str) -> Result<(), CliError> {
    path_component(kind, name).map_err(|e| CliError::Failed(format!("cannot export {owner}: {e}")))
}

fn write_objects(
    w: &Writer,
    owner_dir: &str,
    objects: &BTreeMap<ObjectKey, Object>,
    owner: &str,
) -> Result<(), CliError> {
    for ((uid, rid), object) in objects {
        checked("uid", uid, owner)?;
        let mut parts = vec![owner_dir];
        if object.status == Status::Cancelled {
            parts.push("cancellations");
        }
        match rid {
            None => parts.extend(["objects", uid.as_str()]),
            Some(rid) => {
                checked("recurrence id", rid, owner)?;
                parts.extend(["recurrences", uid.as_str(), rid.as_str()]);
            }
        }
        w.file(&parts, &object.text)?;
    }
    Ok(())
}

fn write_user(w: &Writer, name: &str, user: &UserData, fixes: &mut Fixes) -> Result<(), CliError> {
    let owner = format!("user {name}");
    checked("user", name, &owner)?;
    w.dir(&w.root.join(name))?;
    write_objects(w, name, &user.objects, &owner)?;
    for ((uid, rid, other), text) in &user.counters {
        checked("uid", uid, &owner)?;
        checked("attendee", other, &owner)?;
        match rid {
            None => w.file(&[name, "counters", "objects", uid, other], text)?,
            Some(rid) => {
                checked("recurrence id", rid, &owner)?;
                w.file(&[name, "counters", "recurrences", uid, rid, other], text)?;
            }
        }
    }
    if !user.freebusy.is_empty() {
        let text: String = user
            .freebusy
            .iter()
            .map(|p| period_line(p, None, fixes))
            .collect();
        w.file(&[name, "freebusy"], &text)?;
    }
    if !user.offers.is_empty() {
        let text: String = user
            .offers
            .iter()
            .map(|o| {
                let expires = o.expires.map(format_utc);
                period_line(&o.period, Some(expires.as_deref()), fixes)
            })
            .collect();
        w.file(&[name, "freebusy-offers"], &text)?;
    }
    for (other, periods) in &user.others {
        checked("other", other, &owner)?;
        let text: String = periods
            .iter()
            .map(|p| period_line(p, None, fixes))
            .collect();
        w.file(&[name, "freebusy-other", other], &text)?;
    }
    if let Some(p) = &user.providers {
        let mut text = field(p.datetime.as_deref(), fixes);
        text.push('\n');
        for (uid, rid) in &p.providers {
            text.push_str(&format!(
                "{}\t{}\n",
                field(Some(uid), fixes),
                field(rid.as_deref(), fixes)
            ));
        }
        w.file(&[name, "freebusy-providers"], &text)?;
    }
    if !user.requests.is_empty() {
        let text: String = user
            .requests
            .iter()
            .map(|r| {
                format!(
                    "{}\t{}\t{}\n",
                    field(Some(&r.uid), fixes),
                    field(r.rid.as_deref(), fixes),
                    field(r.kind.as_deref(), fixes)
                )
            })
            .collect();
        w.file(&[name, "requests"], &text)?;
    }
    Ok(())
}

fn write_quota(
    w: &Writer,
    name: &str,
    quota: &QuotaData,
    fixes: &mut Fixes,
) -> Result<(), CliError> {
    let owner = format!("quota {name}");
    checked("quota", name, &owner)?;
    w.dir(&w.root.join(name))?;
    write_objects(w, name, &quota.objects, &owner)?;
    if !quota.delegates.is_empty() {
        let text: String = quota.delegates.iter().map(|d| format!("{d}\n")).collect();
        w.file(&[name, "delegates"], &text)?;
    }
    if !quota.groups.is_empty() {
        let text: String = quota
            .groups
            .iter()
            .map(|(u, g)| format!("{}\t{}\n", word(u), word(g)))
            .collect();
        w.file(&[name, "groups"], &text)?;
    }
    if !quota.limits.is_empty() {
        let text: String = quota
            .limits
            .iter()
            .map(|(g, l)| format!("{}\t{}\n", word(g), word(l)))
            .collect();
        w.file(&[name, "limits"], &text)?;
    }
    for (group, entries) in &quota.entries {
        checked("group", group, &owner)?;
        let text: String = entries
            .iter()
            .map(|e| period_line(&e.period, Some(e.attendee.as_deref()), fixes))
            .collect();
        w.file(&[name, "freebusy-other", group], &text)?;
    }
    Ok(())
}

/// A staging directory next to `target`, removed when dropped unless it was moved away.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(target: &Path) -> Result<Staging, CliError> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| fail(&parent, format!("cannot create: {e}")))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".to_owned());
        let path = parent.join(format!(".{name}.calstore-export-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).map_err(|e| fail(&path, format!("cannot remove: {e}")))?;
        }
        fs::create_dir(&path).map_err(|e| fail(&path, format!("cannot create: {e}")))?;
        set_mode(&path, 0o2770)?;
        Ok(Staging { path })
    }

    /// Moves the staged tree into `target`: whole when the target is missing or empty,
    /// else entry by entry, replacing entries of the same name.
    fn finish(self, target: &Path) -> Result<(), CliError> {
        let empty = match fs::read_dir(target) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return fs::rename(&self.path, target)
                    .map_err(|e| fail(target, format!("cannot move the export into place: {e}")));
            }
            Err(e) => return Err(fail(target, format!("cannot read: {e}"))),
        };
        if empty {
            fs::remove_dir(target).map_err(|e| fail(target, format!("cannot replace: {e}")))?;
            return fs::rename(&self.path, target)
                .map_err(|e| fail(target, format!("cannot move the export into place: {e}")));
        }
        let entries =
            fs::read_dir(&self.path).map_err(|e| fail(&self.path, format!("cannot read: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| fail(&self.path, format!("cannot read: {e}")))?;
            let to = target.join(entry.file_name());
            match fs::symlink_metadata(&to) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&to),
                Ok(_) => fs::remove_file(&to),
                Err(_) => Ok(()),
            }
            .map_err(|e| fail(&to, format!("cannot replace: {e}")))?;
            fs::rename(entry.path(), &to)
                .map_err(|e| fail(&to, format!("cannot move into place: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Nothing is left to clean up after a successful move; after a failure the error
        // that caused it is what matters.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes the store (and the journal, if a directory is given) in 0.3's layout.
pub fn write(
    data: &mut ImipData,
    store: &Path,
    journal: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    let mut fixes = std::mem::take(&mut data.fixes);
    let store_stage = Staging::new(store)?;
    let w = Writer {
        root: store_stage.path.clone(),
    };
    for (name, user) in &data.users {
        write_user(&w, name, user, &mut fixes)?;
    }
    let journal_stage = match journal {
        None => None,
        Some(dir) => {
            let stage = Staging::new(dir)?;
            let w = Writer {
                root: stage.path.clone(),
            };
            for (name, quota) in &data.quotas {
                write_quota(&w, name, quota, &mut fixes)?;
            }
            Some((stage, dir))
        }
    };
    data.fixes = fixes;
    for dir in [Some(store), journal].into_iter().flatten() {
        check_target(dir, force)?;
    }
    store_stage.finish(store)?;
    if let Some((stage, dir)) = journal_stage {
        stage.finish(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_shlex() {
        assert_eq!(words("* PT1H").unwrap(), ["*", "PT1H"]);
        assert_eq!(
            words("mailto:paul@example.com\tstaff").unwrap(),
            ["mailto:paul@example.com", "staff"]
        );
        assert_eq!(words("\"big team\" *").unwrap(), ["big team", "*"]);
        assert!(words("\"open").is_err());
        assert_eq!(word("big team"), "\"big team\"");
        assert_eq!(word("staff"), "staff");
    }
}
