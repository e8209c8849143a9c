//! The scheduling commands: `receive` (a message for a local user, as an MTA pipes it),
//! `send` (what a user sends, recorded in their store), `prefs` (preferences) and `mail`
//! (the outbox and its sending). The work is the core's (`Store::process`,
//! `Store::send_message`, the preference and outbox operations) and calstore-native's mail
//! module; this parses arguments and formats results.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calstore_core::outbox::{self, OutgoingState};
use calstore_core::prefs;
use calstore_core::scheduling::{Outcome, ReceiveOptions, parse_message};
use calstore_native::mail::{self, Relay};
use serde_json::{Value, json};

use super::args::{self, ListFormat, UserArg};
use super::commands::{input_name, read_input};
use super::{CliError, CliStore, output, store_message};

/// How `receive` prints its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReceiveFormat {
    /// The answer's iCalendar text (nothing when there is none).
    Text,
    /// One JSON object: method, uid, rid, outcome, reply (and what was delivered or queued).
    Json,
}

/// `receive`.
#[derive(Debug, clap::Args)]
pub struct ReceiveArgs {
    /// The local recipient (a person, or a resource when its scheduling_function preference
    /// is set)
    #[arg(long, value_name = "URI", value_parser = args::parse_user)]
    pub user: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReceiveFormat::Text)]
    pub format: ReceiveFormat,
    /// The address answers are sent as (imip-agent's MESSAGE_SENDER), given as SENT-BY on
    /// the recipient's ATTENDEE, e.g. mailto:calendar@example.com
    #[arg(long, value_name = "URI", value_parser = args::parse_user)]
    pub sent_by: Option<String>,
    /// Process every file of this directory (sorted by name) in one process, one unit of
    /// work each, and print a summary with the rate (a benchmark)
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub batch: Option<PathBuf>,
    /// The message: an RFC 5322 mail (MIME, with a text/calendar part) or bare iCalendar
    /// ('-' for standard input)
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
}

/// `send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub user: UserArg,
    /// The message sent: a REQUEST, CANCEL or DECLINECOUNTER of the user as organiser (or
    /// their REPLY or COUNTER as attendee), a mail or bare iCalendar ('-' for standard input)
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReceiveFormat::Text)]
    pub format: ReceiveFormat,
}

/// `prefs`: without a subcommand, the listing.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PrefsArgs {
    #[command(subcommand)]
    pub command: Option<PrefsCommand>,
    /// The calendar user
    #[arg(long, value_name = "URI", value_parser = args::parse_user, required = true)]
    pub user: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `prefs …`.
#[derive(Debug, clap::Subcommand)]
pub enum PrefsCommand {
    /// Set one preference (checked: imip-agent's names and values)
    Set {
        #[command(flatten)]
        user: UserArg,
        /// The preference, e.g. scheduling_function
        #[arg(value_name = "NAME")]
        name: String,
        /// Its value as imip-agent writes it (a multi-line scheduling_function with newlines)
        #[arg(value_name = "VALUE")]
        value: String,
    },
    /// Remove one preference (back to its default)
    Unset {
        #[command(flatten)]
        user: UserArg,
        /// The preference
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// `mail …`.
#[derive(Debug, clap::Subcommand)]
pub enum MailCommand {
    /// Send the outbox messages that are due through an SMTP relay, once (a server does
    /// this on a timer)
    Send {
        /// The relay: smtp://HOST:PORT (add ?tls=required for STARTTLS), smtps://HOST:PORT;
        /// credentials as smtp://USER:PASSWORD@HOST
        #[arg(long, value_name = "URL")]
        smtp: String,
        /// The envelope sender and From of every message [default: the answering user]
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
        /// At most this many messages
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: usize,
        /// Seconds one SMTP exchange may take
        #[arg(long, value_name = "S", default_value_t = 30)]
        timeout: u64,
    },
    /// List the outbox (id, state, attempts, next try, recipient, method, uid, last error)
    List {
        /// Only messages in this state
        #[arg(long, value_parser = ["pending", "sent", "dead"])]
        state: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

fn outcome_json(out: &Outcome, extra: Value) -> Value {
    let mut v = json!({
        "method": out.method.as_str(),
        "uid": out.uid,
        "rid": out.rid,
        "outcome": out.kind.as_str(),
        "reply": out.responses.first().map(|r| r.text.clone()),
        "reason": out.reason,
        "responses": out.responses.iter().map(|r| json!({
            "method": r.method.as_str(), "from": r.from, "to": r.to, "text": r.text,
        })).collect::<Vec<_>>(),
    });
    if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
        map.extend(more);
    }
    v
}

/// Reads a message file: a mail or bare iCalendar.
fn read_message(
    path: &Path,
) -> Result<(calstore_core::scheduling::Message, Option<String>), CliError> {
    let bytes = read_input(path)?;
    let incoming = mail::read_incoming(&bytes)
        .map_err(|e| CliError::Failed(format!("{}: {e}", input_name(path))))?;
    let message = parse_message(&incoming.calendar, incoming.method.as_deref())
        .map_err(|e| CliError::Failed(format!("{}: {}", input_name(path), store_message(&e))))?;
    Ok((message, incoming.from))
}

/// `receive`: one message processed for the user (answers for local users delivered to them,
/// the others queued in the outbox), in one unit of work.
pub fn receive(store: &mut CliStore, a: &ReceiveArgs, out: &mut dyn Write) -> Result<(), CliError> {
    outbox::migrate(store.connection())?;
    if let Some(dir) = &a.batch {
        return batch(store, a, dir, out);
    }
    let (message, from) = read_message(&a.file)?;
    let opts = ReceiveOptions {
        sent_by: a.sent_by.clone(),
        from,
    };
    let p = store.process(&a.user, &message, &opts)?;
    match a.format {
        ReceiveFormat::Text => {
            for r in &p.outcome.responses {
                out.write_all(r.text.as_bytes())?;
            }
        }
        ReceiveFormat::Json => {
            let delivered: Vec<Value> = p
                .delivered
                .iter()
                .map(|(to, o)| json!({"to": to, "outcome": o.kind.as_str(), "method": o.method.as_str()}))
                .collect();
            let v = outcome_json(
                &p.outcome,
                json!({"delivered": delivered, "queued": p.queued}),
            );
            writeln!(out, "{v}")?;
        }
    }
    Ok(())
}

/// `receive --batch DIR`: every file processed in turn; one line per outcome kind and the
/// rate.
fn batch(
    store: &mut CliStore,
    a: &ReceiveArgs,
    dir: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let started = Instant::now();
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut failed = 0usize;
    for f in &files {
        let result = read_message(f).and_then(|(message, from)| {
            let opts = ReceiveOptions {
                sent_by: a.sent_by.clone(),
                from,
            };
            Ok(store.process(&a.user, &message, &opts)?)
        });
        match result {
            Ok(p) => *counts.entry(p.outcome.kind.as_str()).or_default() += 1,
            Err(_) => failed += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let n = files.len();
    let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    match a.format {
        ReceiveFormat::Text => {
            for (k, c) in &counts {
                writeln!(out, "{k}\t{c}")?;
            }
            writeln!(out, "failed\t{failed}")?;
            writeln!(
                out,
                "processed {n} messages in {secs:.3} s: {rate:.0} messages/s"
            )?;
        }
        ReceiveFormat::Json => {
            let v = json!({"messages": n, "seconds": secs, "per_second": rate,
                           "outcomes": counts, "failed": failed});
            writeln!(out, "{v}")?;
        }
    }
    Ok(())
}

/// `send`: what the user sends, recorded in their store.
pub fn send(store: &mut CliStore, a: &SendArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (message, _) = read_message(&a.file)?;
    let o = store.send_message(&a.user.user, &message)?;
    match a.format {
        ReceiveFormat::Text => {
            let what = match (&o.uid, &o.rid) {
                (Some(u), Some(r)) => format!("{u} ({r})"),
                (Some(u), None) => u.clone(),
                _ => "the message".to_owned(),
            };
            writeln!(out, "{} {}: {}", o.method, what, o.kind.as_str())?;
        }
        ReceiveFormat::Json => writeln!(out, "{}", outcome_json(&o, json!({})))?,
    }
    Ok(())
}

/// `prefs`, `prefs set`, `prefs unset`.
pub fn prefs(store: &mut CliStore, a: &PrefsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    match &a.command {
        Some(PrefsCommand::Set { user, name, value }) => {
            store.set_preference(&user.user, name, value)?;
            writeln!(out, "set {name} for {}", user.user)?;
        }
        Some(PrefsCommand::Unset { user, name }) => {
            if store.unset_preference(&user.user, name)? {
                writeln!(out, "unset {name} for {}", user.user)?;
            } else {
                writeln!(out, "{name} was not set for {}", user.user)?;
            }
        }
        None => {
            let user = a.user.as_deref().unwrap_or_default();
            let p = store.preferences(user)?;
            match a.format {
                ListFormat::Json => {
                    let map: serde_json::Map<String, Value> = p
                        .values
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    writeln!(out, "{}", Value::Object(map))?;
                }
                ListFormat::Table => {
                    for (k, v) in &p.values {
                        let shown = v.replace('\n', "\\n");
                        let known = prefs::describe(k).map(|d| d.meaning).unwrap_or_default();
                        writeln!(out, "{k}\t{shown}\t# {known}")?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `mail send`, `mail list`.
pub fn mail(store: &mut CliStore, cmd: &MailCommand, out: &mut dyn Write) -> Result<(), CliError> {
    outbox::migrate(store.connection())?;
    match cmd {
        MailCommand::Send {
            smtp,
            from,
            limit,
            timeout,
        } => {
            let relay = Relay {
                url: smtp.clone(),
                from: from.clone(),
                timeout: Duration::from_secs(*timeout),
            };
            let now = store.now();
            let r = mail::send_due(store, &relay, now, *limit).map_err(|e| match e {
                mail::MailError::Store(s) => CliError::from(s),
                other => CliError::Failed(other.to_string()),
            })?;
            writeln!(
                out,
                "sent {}, retrying {}, dead {}",
                r.sent, r.retrying, r.dead
            )?;
        }
        MailCommand::List { state, format } => {
            let state = match state.as_deref() {
                Some("pending") => Some(OutgoingState::Pending),
                Some("sent") => Some(OutgoingState::Sent),
                Some("dead") => Some(OutgoingState::Dead),
                _ => None,
            };
            let list = store.outgoing_messages(state)?;
            match format {
                ListFormat::Json => {
                    let v: Vec<Value> = list
                        .iter()
                        .map(|m| {
                            json!({"id": m.id, "state": m.state.as_str(), "attempts": m.attempts,
                                   "next_attempt": m.next_attempt, "sender": m.sender,
                                   "recipient": m.recipient, "method": m.method, "uid": m.uid,
                                   "last_error": m.last_error, "body": m.body})
                        })
                        .collect();
                    writeln!(out, "{}", Value::Array(v))?;
                }
                ListFormat::Table => {
                    let ids: Vec<String> = list.iter().map(|m| m.id.to_string()).collect();
                    let attempts: Vec<String> =
                        list.iter().map(|m| m.attempts.to_string()).collect();
                    let rows: Vec<Vec<Option<&str>>> = list
                        .iter()
                        .zip(ids.iter().zip(&attempts))
                        .map(|(m, (id, at))| {
                            vec![
                                Some(id.as_str()),
                                Some(m.state.as_str()),
                                Some(at.as_str()),
                                Some(m.next_attempt.as_str()),
                                Some(m.recipient.as_str()),
                                Some(m.method.as_str()),
                                m.uid.as_deref(),
                                m.last_error.as_deref(),
                            ]
                        })
                        .collect();
                    output::write_list(out, &rows)?;
                }
            }
        }
    }
    Ok(())
}
