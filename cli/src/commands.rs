//! The store commands: import, free/busy, events, requests, counters, others' free/busy,
//! offers and providers.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

use calstore_core::ical::{self, ParseOptions, format_utc};
use calstore_core::sync::{Mutation, Version};
use calstore_core::{ImportNote, Offer, Period, RecordOptions, Source, Status, StoreError};
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{Format, ListFormat, ObjectArgs, ShowFormat};
use super::output::{self, PeriodLine, PeriodListing};
use super::replica;
use super::{
    CliError, CliStore, CountersArgs, EventCommand, EventsArgs, ExportArgs, FreebusyArgs,
    FreebusyExtendArgs, FreebusyOtherArgs, FreebusyOtherCommand, ImportArgs, NamesArgs, OffersArgs,
    ProvidersArgs, RequestsCommand, require_user,
};

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let mut data = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .read_to_end(&mut data)
            .map_err(|e| CliError::Failed(format!("cannot read standard input: {e}")))?;
    } else {
        data = fs::read(path)
            .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(data)
}

/// How a file is named in messages.
pub fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `import`: reads every file first (leniently unless `--strict`) and checks every event, then
/// records them in bounded pieces (`Store::import_sources_in_pieces`: other writers wait for
/// one piece at most; bad input writes nothing, and after a database failure half way the
/// same import run again finishes the job). Each repair note goes to standard error as one line,
/// `FILE: line N (UID "u"): problem: action`; the summary on standard output counts them.
pub fn import(
    store: &mut CliStore,
    args: &ImportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut inputs = Vec::new();
    for path in &args.files {
        inputs.push((input_name(path), read_input(path)?));
    }
    let sources: Vec<Source<'_>> = inputs
        .iter()
        .map(|(name, bytes)| Source::named(name, bytes))
        .collect();
    let user = &args.user.user;
    let mut opts = args.expand.options(store.now());
    if args.expand.expand_from.is_some() && opts.window_start >= opts.window_end {
        return Err(CliError::Usage(format!(
            "--expand-from {} is not before the window end {}",
            format_utc(opts.window_start),
            format_utc(opts.window_end)
        )));
    }
    if args.strict {
        opts.parse = ParseOptions::strict();
    }
    if replica::is_replica(store)? {
        // Read first (an error names its file, notes are shown), then one mutation per file.
        for source in &sources {
            let read = source.read(None, &opts.parse)?;
            print_notes(&read.notes, read.notes_omitted);
        }
        for (name, bytes) in &inputs {
            let m = Mutation::Record {
                user: user.clone(),
                ics: String::from_utf8_lossy(bytes).into_owned(),
                replace_recurrences: false,
            };
            write!(out, "{name}: ")?;
            replica::write(store, m, &opts, out)?;
        }
        return Ok(());
    }
    let bar = io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} importing {bar:40} {pos}/{len} events")
        {
            bar.set_style(style);
        }
        bar
    });
    let report = store.import_sources_in_pieces(
        user,
        &sources,
        None,
        &opts,
        calstore_core::IMPORT_PIECE,
        &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(u64::try_from(total).unwrap_or(u64::MAX));
                bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
            }
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report.map_err(|e| match e {
        StoreError::InvalidData(msg) if msg.contains(ical::INSTANCE_CAP_REACHED) => StoreError::InvalidData(
            format!("{msg} (--max-instances sets the cap; --expand-until or --window-days the window end)"),
        ),
        e => e,
    })?;
    print_notes(&report.notes, report.notes_omitted);
    let mut extra = String::new();
    let notes = report.notes.len() + report.notes_omitted;
    if notes > 0 {
        extra.push_str(&format!(
            "; {} on standard error",
            plural(notes, "repair note", "repair notes")
        ));
    }
    if report.obsolete_overrides > 0 {
        extra.push_str(&format!(
            "; {} made obsolete by a newer parent removed",
            plural(
                report.obsolete_overrides,
                "stored override",
                "stored overrides"
            )
        ));
    }
    writeln!(
        out,
        "imported {} ({}, {}) for {user}: {}, {} (window {} to {}){extra}",
        plural(report.parents + report.recurrences, "object", "objects"),
        plural(report.parents, "parent", "parents"),
        plural(report.recurrences, "recurrence", "recurrences"),
        plural(report.periods, "free/busy period", "free/busy periods"),
        plural(report.providers, "provider", "providers"),
        format_utc(opts.window_start),
        format_utc(opts.window_end),
    )?;
    Ok(())
}

/// Prints repair notes on standard error, one line each, and a line for those left out.
fn print_notes(notes: &[ImportNote], omitted: usize) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    // Standard error is where diagnostics go; if it is gone, nothing better can be done.
    for note in notes {
        let _ = writeln!(err, "{note}");
    }
    if omitted > 0 {
        let _ = writeln!(
            err,
            "{} not shown (at most {} per file)",
            plural(omitted, "more repair note", "more repair notes"),
            ical::DEFAULT_MAX_NOTES
        );
    }
}

/// Prints plain periods (own or others' free/busy).
fn print_periods(
    out: &mut dyn Write,
    format: Format,
    periods: &[Period],
    listing: &PeriodListing<'_>,
) -> Result<(), CliError> {
    let lines: Vec<PeriodLine<'_>> = periods.iter().map(PeriodLine::plain).collect();
    Ok(output::write_periods(out, format, &lines, listing)?)
}

/// `freebusy`.
pub fn freebusy(
    store: &mut CliStore,
    args: &FreebusyArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = &args.user.user;
    let range = args.range.range()?;
    require_user(store, user)?;
    let periods = match range {
        Some((from, to)) => store.get_freebusy_in(user, from, to)?,
        None => store.get_freebusy(user)?,
    };
    let listing = PeriodListing {
        owner: user,
        extra: None,
        range: args.range.both(),
        now: store.now(),
        tz: args.tz,
    };
    print_periods(out, args.format, &periods, &listing)
}

/// `events`.
pub fn events(
    store: &mut CliStore,
    args: &EventsArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = &args.user.user;
    require_user(store, user)?;
    let status = if args.cancelled {
        Status::Cancelled
    } else {
        Status::Active
    };
    let all = store.get_all_events(user, status)?;
    if args.format == ListFormat::Json {
        return Ok(output::write_json_value(
            out,
            &events_json(store, user, status, &all)?,
        )?);
    }
    let rows: Vec<Vec<Option<&str>>> = all
        .iter()
        .map(|(uid, rid)| match rid {
            Some(rid) => vec![Some(uid.as_str()), Some(rid.as_str())],
            None => vec![Some(uid.as_str())],
        })
        .collect();
    Ok(output::write_list(out, &rows)?)
}

/// `events --format json`: `[{uid, rid, summary, organiser, sequence, start, end}]`, start
/// and end those of the object's earliest free/busy period held (null when none is).
fn events_json(
    store: &mut CliStore,
    user: &str,
    status: Status,
    all: &[(String, Option<String>)],
) -> Result<serde_json::Value, CliError> {
    use std::collections::BTreeMap;
    let mut first: BTreeMap<(String, Option<String>), (String, String)> = BTreeMap::new();
    if status == Status::Active {
        for p in store.get_freebusy(user)? {
            let Some(uid) = p.uid.clone() else { continue };
            first
                .entry((uid, p.recurrenceid.clone()))
                .or_insert_with(|| (format_utc(p.start), format_utc(p.end)));
        }
    }
    let mut items = Vec::with_capacity(all.len());
    for (uid, rid) in all {
        let text = store
            .get_event(user, uid, rid.as_deref(), status)?
            .unwrap_or_default();
        let event = ical::parse_events(text.as_bytes())
            .ok()
            .and_then(|v| v.into_iter().next());
        let (start, end) = first
            .get(&(uid.clone(), rid.clone()))
            .cloned()
            .map_or((None, None), |(s, e)| (Some(s), Some(e)));
        items.push(serde_json::json!({
            "uid": uid,
            "rid": rid,
            "summary": event.as_ref().and_then(|e| e.summary.clone()),
            "organiser": event.as_ref().and_then(|e| e.organizer.clone()),
            "sequence": event.as_ref().map(|e| e.sequence),
            "start": start,
            "end": end,
        }));
    }
    Ok(serde_json::Value::Array(items))
}

/// `users`.
pub fn users(store: &mut CliStore, args: &NamesArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let users = store.users()?;
    write_names(out, &users, args.format)
}

/// `quotas`.
pub fn quotas(store: &mut CliStore, args: &NamesArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let quotas = store.journal().quotas()?;
    write_names(out, &quotas, args.format)
}

/// Names one per line, or a JSON array of strings.
pub fn write_names(
    out: &mut dyn Write,
    names: &[String],
    format: ListFormat,
) -> Result<(), CliError> {
    if format == ListFormat::Json {
        return Ok(output::write_json_value(out, &names.into())?);
    }
    for n in names {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

/// `export`: the user's active objects as one VCALENDAR.
pub fn export(
    store: &mut CliStore,
    args: &ExportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = &args.user.user;
    let range = args.range.range()?;
    require_user(store, user)?;
    let objects = store.export_objects(user, args.uid.as_deref(), range)?;
    if let Some(uid) = &args.uid
        && objects.is_empty()
    {
        return Err(CliError::Failed(format!(
            "no active event {uid} for {user}"
        )));
    }
    let refs: Vec<&str> = objects.iter().map(String::as_str).collect();
    let text = ical::calendar_of(&refs);
    match &args.output {
        Some(path) => fs::write(path, text.as_bytes())
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// Describes an object in messages.
fn object_name(o: &ObjectArgs) -> String {
    match &o.rid {
        Some(rid) => format!("recurrence {rid} of event {}", o.uid),
        None => format!("event {}", o.uid),
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::Cancelled => "cancelled",
    }
}

/// Fails unless the object exists with `status`, hinting at the other status.
fn require_object(store: &mut CliStore, o: &ObjectArgs, status: Status) -> Result<(), CliError> {
    let user = &o.user.user;
    if store
        .get_event(user, &o.uid, o.rid.as_deref(), status)?
        .is_some()
    {
        return Ok(());
    }
    let other = match status {
        Status::Active => Status::Cancelled,
        Status::Cancelled => Status::Active,
    };
    let hint = if store
        .get_event(user, &o.uid, o.rid.as_deref(), other)?
        .is_some()
    {
        format!(" (it is {})", status_name(other))
    } else {
        String::new()
    };
    Err(CliError::Failed(format!(
        "no {} {} for {user}{hint}",
        status_name(status),
        object_name(o)
    )))
}

/// `event show|cancel|uncancel|remove`.
pub fn event(
    store: &mut CliStore,
    cmd: &EventCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match cmd {
        EventCommand::Show {
            object,
            cancelled,
            format,
        } => {
            let user = &object.user.user;
            require_user(store, user)?;
            let status = if *cancelled {
                Status::Cancelled
            } else {
                Status::Active
            };
            require_object(store, object, status)?;
            let text = store
                .get_event(user, &object.uid, object.rid.as_deref(), status)?
                .unwrap_or_default();
            match format {
                ShowFormat::Vevent => out.write_all(text.as_bytes())?,
                ShowFormat::Ics => out.write_all(ical::calendar_of(&[&text]).as_bytes())?,
                ShowFormat::Json => output::write_json_value(
                    out,
                    &serde_json::json!({
                        "uid": object.uid,
                        "rid": object.rid,
                        "status": status_name(status),
                        "text": text,
                    }),
                )?,
            }
        }
        EventCommand::Cancel { object, expand } => {
            let user = &object.user.user;
            require_user(store, user)?;
            require_object(store, object, Status::Active)?;
            let opts = expand.options(store.now());
            let base = base_version(store, object)?;
            let m = Mutation::Cancel {
                user: user.clone(),
                uid: object.uid.clone(),
                rid: object.rid.clone(),
                base,
            };
            if replica::write(store, m, &opts, out)?.is_some() {
                return Ok(());
            }
            store.record_cancellation(user, &object.uid, object.rid.as_deref(), &opts)?;
            let left = store.get_freebusy(user)?;
            let left = left
                .iter()
                .filter(|p| p.uid.as_deref() == Some(&object.uid))
                .count();
            writeln!(
                out,
                "cancelled {}; {} of this event left in free/busy",
                object_name(object),
                plural(left, "period", "periods")
            )?;
        }
        EventCommand::Uncancel { object, expand } => {
            let user = &object.user.user;
            require_user(store, user)?;
            require_object(store, object, Status::Cancelled)?;
            let opts = expand.options(store.now());
            let base = base_version(store, object)?;
            let m = Mutation::Uncancel {
                user: user.clone(),
                uid: object.uid.clone(),
                rid: object.rid.clone(),
                base,
            };
            if replica::write(store, m, &opts, out)?.is_some() {
                return Ok(());
            }
            store.record_uncancellation(user, &object.uid, object.rid.as_deref(), &opts)?;
            let now_held = store.get_freebusy(user)?;
            let held = now_held
                .iter()
                .filter(|p| p.uid.as_deref() == Some(&object.uid))
                .count();
            writeln!(
                out,
                "restored {}; {} of this event in free/busy",
                object_name(object),
                plural(held, "period", "periods")
            )?;
        }
        EventCommand::Remove { object, expand } => {
            let user = &object.user.user;
            require_user(store, user)?;
            let uid = &object.uid;
            let rid = object.rid.as_deref();
            let exists = store.get_event(user, uid, rid, Status::Active)?.is_some()
                || store
                    .get_event(user, uid, rid, Status::Cancelled)?
                    .is_some()
                || (rid.is_none() && !store.get_recurrences(user, uid)?.is_empty());
            if !exists {
                return Err(CliError::Failed(format!(
                    "no {} for {user}",
                    object_name(object)
                )));
            }
            let opts = expand.options(store.now());
            let base = base_version(store, object)?;
            let m = Mutation::Remove {
                user: user.clone(),
                uid: uid.clone(),
                rid: object.rid.clone(),
                base,
            };
            if replica::write(store, m, &opts, out)?.is_some() {
                return Ok(());
            }
            store.record_removal(user, uid, rid, &opts)?;
            writeln!(out, "removed {}", object_name(object))?;
        }
    }
    Ok(())
}

/// `requests list|queue|dequeue`.
pub fn requests(
    store: &mut CliStore,
    cmd: &RequestsCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match cmd {
        RequestsCommand::List { user, format } => {
            let user = &user.user;
            require_user(store, user)?;
            let queue = store.get_requests(user)?;
            if *format == ListFormat::Json {
                let items: Vec<serde_json::Value> = queue
                    .iter()
                    .map(|r| serde_json::json!({"uid": r.uid, "rid": r.rid, "kind": r.kind}))
                    .collect();
                return Ok(output::write_json_value(out, &items.into())?);
            }
            let rows: Vec<Vec<Option<&str>>> = queue
                .iter()
                .map(|r| vec![Some(r.uid.as_str()), r.rid.as_deref(), r.kind.as_deref()])
                .collect();
            output::write_list(out, &rows)?;
        }
        RequestsCommand::Queue { object, kind } => {
            let user = &object.user.user;
            let m = Mutation::QueueRequest {
                user: user.clone(),
                uid: object.uid.clone(),
                rid: object.rid.clone(),
                request_type: kind.clone(),
            };
            let opts = RecordOptions::new(store.now());
            if replica::write(store, m, &opts, out)?.is_some() {
                return Ok(());
            }
            let queued =
                store.queue_request(user, &object.uid, object.rid.as_deref(), kind.as_deref())?;
            if queued {
                writeln!(out, "queued a request for {}", object_name(object))?;
            } else {
                writeln!(
                    out,
                    "a request for {} is already queued",
                    object_name(object)
                )?;
            }
        }
        RequestsCommand::Dequeue { object } => {
            let user = &object.user.user;
            require_user(store, user)?;
            let rid = object.rid.as_deref();
            if !store.has_request(user, &object.uid, rid, None, false)? {
                return Err(CliError::Failed(format!(
                    "no request queued for {} for {user}",
                    object_name(object)
                )));
            }
            let m = Mutation::DequeueRequest {
                user: user.clone(),
                uid: object.uid.clone(),
                rid: object.rid.clone(),
            };
            let opts = RecordOptions::new(store.now());
            if replica::write(store, m, &opts, out)?.is_some() {
                return Ok(());
            }
            store.dequeue_request(user, &object.uid, rid)?;
            writeln!(out, "dequeued the request for {}", object_name(object))?;
        }
    }
    Ok(())
}

/// `counters`.
pub fn counters(
    store: &mut CliStore,
    args: &CountersArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let o = &args.object;
    let user = &o.user.user;
    require_user(store, user)?;
    match &args.other {
        None => {
            let others = store.get_counters(user, &o.uid, o.rid.as_deref())?;
            if args.format == ListFormat::Json {
                return write_names(out, &others, args.format);
            }
            let rows: Vec<Vec<Option<&str>>> =
                others.iter().map(|a| vec![Some(a.as_str())]).collect();
            output::write_list(out, &rows)?;
        }
        Some(other) => {
            let text = store
                .get_counter(user, other, &o.uid, o.rid.as_deref())?
                .ok_or_else(|| {
                    CliError::Failed(format!(
                        "no counter-proposal from {other} for {} for {user}",
                        object_name(o)
                    ))
                })?;
            if args.format == ListFormat::Json {
                output::write_json_value(
                    out,
                    &serde_json::json!({"attendee": other, "text": text}),
                )?;
            } else {
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// `freebusy-other`: the listing, or `import`.
pub fn freebusy_other(
    store: &mut CliStore,
    args: &FreebusyOtherArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if let Some(FreebusyOtherCommand::Import { user, other, file }) = &args.command {
        return freebusy_other_import(store, &user.user, other, file, out);
    }
    let Some(user) = &args.user else {
        return Err(CliError::Usage("--user is required".to_owned()));
    };
    let range = args.range.range()?;
    require_user(store, user)?;
    let Some(other) = &args.other else {
        let others = store.get_freebusy_others(user)?;
        if args.format == Format::Json {
            return write_names(out, &others, ListFormat::Json);
        }
        let rows: Vec<Vec<Option<&str>>> = others.iter().map(|o| vec![Some(o.as_str())]).collect();
        return Ok(output::write_list(out, &rows)?);
    };
    let periods = match range {
        Some((from, to)) => store.get_freebusy_for_other_in(user, other, from, to)?,
        None => store.get_freebusy_for_other(user, other)?,
    };
    let listing = PeriodListing {
        owner: other,
        extra: None,
        range: args.range.both(),
        now: store.now(),
        tz: args.tz,
    };
    print_periods(out, args.format, &periods, &listing)
}

/// `freebusy-other import`: a received VFREEBUSY replaces what is held within its range.
fn freebusy_other_import(
    store: &mut CliStore,
    user: &str,
    other: &str,
    file: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let data = read_input(file)?;
    let name = input_name(file);
    let components =
        ical::parse_freebusy(&data).map_err(|e| CliError::Failed(format!("{name}: {}", e.0)))?;
    if components.is_empty() {
        return Err(CliError::Failed(format!("{name}: no VFREEBUSY found")));
    }
    let m = Mutation::ImportFreebusyOther {
        user: user.to_owned(),
        other: other.to_owned(),
        ics: String::from_utf8_lossy(&data).into_owned(),
    };
    let opts = RecordOptions::new(store.now());
    if replica::write(store, m, &opts, out)?.is_some() {
        return Ok(());
    }
    let stored = store.import_freebusy_for_other(user, other, &components)?;
    let ranges: Vec<String> = components
        .iter()
        .filter_map(|c| {
            let from = c
                .start
                .or_else(|| c.periods.iter().map(|p| p.start).min())?;
            let to = c.end.or_else(|| c.periods.iter().map(|p| p.end).max())?;
            Some(format!("{}..{}", format_utc(from), format_utc(to)))
        })
        .collect();
    writeln!(
        out,
        "stored {} about {other} for {user} (replacing {})",
        plural(stored, "busy period", "busy periods"),
        if ranges.is_empty() {
            "nothing".to_owned()
        } else {
            ranges.join(", ")
        }
    )?;
    Ok(())
}

/// `freebusy-extend`: extends the providers of one user or of every user that has some.
pub fn freebusy_extend(
    store: &mut CliStore,
    args: &FreebusyExtendArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let until = args
        .until
        .unwrap_or_else(|| calstore_core::RecordOptions::new(store.now()).window_end);
    let users = match &args.user {
        Some(user) => {
            require_user(store, user)?;
            vec![user.clone()]
        }
        None => store.freebusy_provider_users()?,
    };
    if users.is_empty() {
        writeln!(out, "no providers to extend")?;
    }
    let opts = RecordOptions {
        max_instances: args.max_instances,
        ..extend_options(store, args.tz, args.expand_from, until)
    };
    // Every user is extended; each failure is reported (user, UID, reason) and the exit
    // status is 1 only after the rest are done.
    let mut failed_events = 0;
    let mut failed_users = Vec::new();
    for user in &users {
        let report = match store.extend_freebusy_in_pieces(
            user,
            until,
            &opts,
            calstore_core::EXTEND_PIECE,
        ) {
            Ok(r) => r,
            Err(e) => {
                eprintln!(
                    "calstore: freebusy-extend: user {user}: {}",
                    super::store_message(&e)
                );
                failed_users.push(user.clone());
                continue;
            }
        };
        for (uid, reason) in &report.failures {
            // The core names the event already; name it once, after the user.
            let prefix = format!("event {}: ", serde_json::Value::from(uid.as_str()));
            let reason = reason.strip_prefix(&prefix).unwrap_or(reason);
            let hint = if reason.contains(ical::INSTANCE_CAP_REACHED) {
                " (--max-instances sets the cap)"
            } else {
                ""
            };
            eprintln!("calstore: freebusy-extend: user {user}, event {uid}: {reason}{hint}");
        }
        failed_events += report.failures.len();
        let reached = report.until.unwrap_or_else(|| format_utc(until));
        let failures = if report.failures.is_empty() {
            String::new()
        } else {
            format!(
                "; {} not extended (on standard error)",
                plural(report.failures.len(), "provider", "providers")
            )
        };
        writeln!(
            out,
            "{user}: extended {} up to {reached}{failures}",
            plural(report.extended, "provider", "providers")
        )?;
    }
    if failed_events > 0 || !failed_users.is_empty() {
        out.flush()?;
        return Err(CliError::Failed(format!(
            "freebusy-extend: {} and {} could not be extended (each named above); every other \
             provider was",
            plural(failed_events, "event", "events"),
            plural(failed_users.len(), "user", "users"),
        )));
    }
    Ok(())
}

/// The options of an extension up to `until`: the zone, and the bounded past
/// (`--expand-from`, by default 365 days before now or before `until` if earlier).
fn extend_options(
    store: &CliStore,
    tz: chrono_tz::Tz,
    expand_from: Option<chrono::DateTime<chrono::Utc>>,
    until: chrono::DateTime<chrono::Utc>,
) -> RecordOptions {
    let now = store.now();
    RecordOptions {
        tz,
        window_start: expand_from
            .unwrap_or_else(|| RecordOptions::default_window_start(now, until)),
        ..RecordOptions::new(now)
    }
}

/// `offers`.
pub fn offers(
    store: &mut CliStore,
    args: &OffersArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = &args.user.user;
    let range = args.range.range()?;
    require_user(store, user)?;
    let offers: Vec<Offer> = match range {
        Some((from, to)) => store.get_freebusy_offers_in(user, from, to)?,
        None => store.get_freebusy_offers(user)?,
    };
    let lines: Vec<PeriodLine<'_>> = offers
        .iter()
        .map(|o| PeriodLine {
            period: &o.period,
            extra: o.expires.map(format_utc),
        })
        .collect();
    let listing = PeriodListing {
        owner: user,
        extra: Some("expires"),
        range: args.range.both(),
        now: store.now(),
        tz: args.tz,
    };
    Ok(output::write_periods(
        out,
        args.format.into(),
        &lines,
        &listing,
    )?)
}

/// `providers`: the record, after extending it if asked.
pub fn providers(
    store: &mut CliStore,
    args: &ProvidersArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let user = &args.user.user;
    require_user(store, user)?;
    if let Some(until) = args.extend_until {
        let opts = RecordOptions {
            max_instances: args.max_instances,
            ..extend_options(store, args.tz, args.expand_from, until)
        };
        let n = store.extend_freebusy_with(user, until, &opts)?;
        if args.format == ListFormat::Table {
            writeln!(
                out,
                "extended {} up to {}",
                plural(n, "provider", "providers"),
                format_utc(until)
            )?;
        }
    }
    let record = store.get_freebusy_providers(user)?;
    if args.format == ListFormat::Json {
        let v = record.map_or(serde_json::Value::Null, |p| {
            serde_json::json!({
                "datetime": p.datetime,
                "providers": p.providers.iter()
                    .map(|(uid, rid)| serde_json::json!({"uid": uid, "rid": rid}))
                    .collect::<Vec<_>>(),
            })
        });
        return Ok(output::write_json_value(out, &v)?);
    }
    match record {
        None => writeln!(out, "no providers")?,
        Some(p) => {
            writeln!(out, "until\t{}", p.datetime.as_deref().unwrap_or("-"))?;
            let rows: Vec<Vec<Option<&str>>> = p
                .providers
                .iter()
                .map(|(uid, rid)| match rid {
                    Some(rid) => vec![Some(uid.as_str()), Some(rid.as_str())],
                    None => vec![Some(uid.as_str())],
                })
                .collect();
            output::write_list(out, &rows)?;
        }
    }
    Ok(())
}

/// The version of the stored object a write acts on (sent with the mutation on a replica:
/// a newer one on the server wins).
fn base_version(store: &mut CliStore, object: &ObjectArgs) -> Result<Option<Version>, CliError> {
    Ok(calstore_core::sync::mutation::stored_version(
        store,
        &object.user.user,
        &object.uid,
        object.rid.as_deref(),
    )?
    .map(|v| Version {
        sequence: v.sequence,
        dtstamp: v.dtstamp,
    }))
}
