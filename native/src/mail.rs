//! Mail in and out, as imip-agent does it (feature `mail`).
//!
//! **In**: [`read_incoming`] takes what an MTA pipes to the agent, a whole RFC 5322 message
//! (parsed with `mail-parser`: MIME structure, base64 and quoted-printable, encoded
//! headers), or bare iCalendar, and finds the `text/calendar` part, its `method` parameter and
//! the sender. Input is bounded ([`MAX_MAIL_LEN`], [`MAX_PARTS`]) and never panics.
//!
//! **Out**: [`send_due`] is the sender loop a server runs on a timer (and `calstore mail
//! send` runs once): it takes the outbox messages that are due, wraps each in a MIME message
//! (`multipart/alternative`: a line of text and the `text/calendar; method=…` part) and
//! submits it to the configured SMTP relay with `lettre` (rustls; `smtp://` plain,
//! `smtp://…?tls=required` STARTTLS, `smtps://` implicit TLS), then records the result in the
//! outbox: sent, retried later, or dead.

use std::time::Duration;

use calstore_core::outbox::{OutgoingMessage, OutgoingState};
use calstore_core::{SqlConnection, Store, StoreError};
use chrono::{DateTime, Utc};
use lettre::address::{Address, Envelope};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{SmtpTransport, Transport};
use mail_parser::{MessageParser, MimeHeaders};

/// Largest mail accepted, in bytes.
pub const MAX_MAIL_LEN: usize = 16 * 1024 * 1024;
/// Most MIME parts a mail may have.
pub const MAX_PARTS: usize = 256;

/// Why a mail could not be read or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The input is not a mail with a calendar part, or breaks a limit.
    #[error("{0}")]
    Unreadable(String),
    /// The relay URL or an address is wrong.
    #[error("{0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an incoming mail holds for the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMail {
    /// The iCalendar text of the `text/calendar` part (or the whole input, when bare).
    pub calendar: Vec<u8>,
    /// The part's `method` parameter, if any.
    pub method: Option<String>,
    /// The sender (`From`, else `Sender`), as a `mailto:` calendar address.
    pub from: Option<String>,
    /// The `Message-ID`, for logs.
    pub message_id: Option<String>,
}

/// True if `input` is bare iCalendar rather than a mail.
fn is_bare_icalendar(input: &[u8]) -> bool {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    input
        .get(start..start + 15)
        .is_some_and(|s| s.eq_ignore_ascii_case(b"BEGIN:VCALENDAR"))
}

/// Reads a mail as an MTA pipes it (or bare iCalendar): the first `text/calendar` (or
/// `application/ics`) part, its method and the sender.
pub fn read_incoming(input: &[u8]) -> Result<IncomingMail, MailError> {
    if input.len() > MAX_MAIL_LEN {
        return Err(MailError::Unreadable(format!(
            "the mail is {} bytes long; the limit is {MAX_MAIL_LEN}",
            input.len()
        )));
    }
    if is_bare_icalendar(input) {
        return Ok(IncomingMail {
            calendar: input.to_vec(),
            method: None,
            from: None,
            message_id: None,
        });
    }
    let message = MessageParser::default()
        .parse(input)
        .ok_or_else(|| MailError::Unreadable("the input is neither a mail nor iCalendar".into()))?;
    if message.parts.len() > MAX_PARTS {
        return Err(MailError::Unreadable(format!(
            "the mail has {} MIME parts; the limit is {MAX_PARTS}",
            message.parts.len()
        )));
    }
    let part = message
        .parts
        .iter()
        .find(|p| {
            p.content_type().is_some_and(|ct| {
                let sub = ct.subtype().unwrap_or_default();
                (ct.ctype().eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case("calendar"))
                    || (ct.ctype().eq_ignore_ascii_case("application")
                        && sub.eq_ignore_ascii_case("ics"))
            })
        })
        .ok_or_else(|| MailError::Unreadable("the mail has no text/calendar part".into()))?;
    let method = part
        .content_type()
        .and_then(|ct| ct.attribute("method"))
        .map(str::to_owned);
    let from = message
        .from()
        .or_else(|| message.sender())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| format!("mailto:{}", a.trim()));
    Ok(IncomingMail {
        calendar: part.contents().to_vec(),
        method,
        from,
        message_id: message.message_id().map(str::to_owned),
    })
}

/// The SMTP relay and how messages are addressed.
#[derive(Clone, Debug)]
pub struct Relay {
    /// `smtp://host:port` (plain; add `?tls=required` for STARTTLS) or `smtps://host:port`;
    /// credentials as `smtp://user:password@host`.
    pub url: String,
    /// The envelope sender and From of every message (imip-agent's `MESSAGE_SENDER`), e.g.
    /// `calendar@example.com`; None: each message's local user.
    pub from: Option<String>,
    /// How long one SMTP exchange may take.
    pub timeout: Duration,
}

/// What one run of [`send_due`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Messages handed to the relay.
    pub sent: usize,
    /// Messages that failed and will be tried again.
    pub retrying: usize,
    /// Messages given up.
    pub dead: usize,
}

fn mail_address(uri: &str) -> Result<Address, MailError> {
    let bare = uri
        .strip_prefix("mailto:")
        .or_else(|| uri.strip_prefix("MAILTO:"))
        .unwrap_or(uri);
    bare.parse::<Address>()
        .map_err(|e| MailError::Config(format!("{uri:?} is not a mail address: {e}")))
}

/// A short line for the text part, as imip-agent writes one.
fn summary(method: &str, body: &str) -> &'static str {
    match method {
        "REPLY" if body.contains("PARTSTAT=ACCEPTED") => {
            "The recipient has scheduled the requested period."
        }
        "REPLY" if body.contains("PARTSTAT=DECLINED") => {
            "The recipient is unavailable in the requested period."
        }
        "COUNTER" => "The recipient has suggested a different period.",
        "REFRESH" => "The recipient asks for the latest version of the event.",
        "REQUEST" => "You are invited to the event described in the calendar part.",
        _ => "A calendar message is attached.",
    }
}

/// The MIME message for one outbox entry.
pub fn build_mail(m: &OutgoingMessage, from: Option<&str>) -> Result<lettre::Message, MailError> {
    let sender = mail_address(from.unwrap_or(&m.sender))?;
    let recipient = mail_address(&m.recipient)?;
    let content_type = ContentType::parse(&format!(
        "text/calendar; method={}; charset=UTF-8",
        m.method
    ))
    .map_err(|e| MailError::Config(format!("content type: {e}")))?;
    let subject = format!(
        "{} {}",
        m.method,
        m.uid.as_deref().unwrap_or("calendar message")
    );
    lettre::Message::builder()
        .from(Mailbox::new(None, sender.clone()))
        .to(Mailbox::new(None, recipient.clone()))
        .subject(subject)
        .envelope(
            Envelope::new(Some(sender), vec![recipient])
                .map_err(|e| MailError::Config(e.to_string()))?,
        )
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(summary(&m.method, &m.body).to_owned()))
                .singlepart(
                    SinglePart::builder()
                        .header(content_type)
                        .body(m.body.clone()),
                ),
        )
        .map_err(|e| MailError::Config(format!("cannot build the mail: {e}")))
}

/// Sends every outbox message due at `now` (at most `limit`) through `relay` and records
/// each result. A message that cannot even be built (a recipient that is no mail address)
/// is dead at once; a refusal the relay calls permanent (5xx) too; anything else is retried
/// later (see `calstore_core::outbox`).
pub fn send_due<C: SqlConnection>(
    store: &mut Store<C>,
    relay: &Relay,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<SendReport, MailError> {
    let transport = SmtpTransport::from_url(&relay.url)
        .map_err(|e| MailError::Config(format!("SMTP relay {:?}: {e}", redact(&relay.url))))?
        .timeout(Some(relay.timeout))
        .build();
    let mut report = SendReport::default();
    for m in store.due_messages(now, limit)? {
        // (permanent, why) on failure.
        let result: Result<(), (bool, String)> = match build_mail(&m, relay.from.as_deref()) {
            Err(e) => Err((true, e.to_string())),
            Ok(mail) => transport
                .send(&mail)
                .map(|_| ())
                .map_err(|e| (e.is_permanent(), e.to_string())),
        };
        match result {
            Ok(()) => {
                store.mark_sent(m.id, now)?;
                report.sent += 1;
            }
            Err((permanent, why)) => match store.mark_failed(m.id, &why, permanent, now)? {
                OutgoingState::Dead => report.dead += 1,
                _ => report.retrying += 1,
            },
        }
    }
    Ok(report)
}

/// The URL with any password masked.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAIL: &str = "From: Paul Boddie <paul.boddie@example.com>\r\n\
        To: resource-room-confroom@example.com\r\nSubject: Invitation\r\n\
        Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n--b1\r\n\
        Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n\
        QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVRVUVTVA0KRU5EOlZDQUxFTkRBUg0K\r\n--b1--\r\n";

    #[test]
    fn reads_the_calendar_part() {
        let m = read_incoming(MAIL.as_bytes()).unwrap();
        assert_eq!(m.method.as_deref(), Some("REQUEST"));
        assert_eq!(m.from.as_deref(), Some("mailto:paul.boddie@example.com"));
        assert_eq!(m.message_id.as_deref(), Some("m1@example.com"));
        assert_eq!(
            m.calendar,
            b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
        );
        let bare = read_incoming(b"\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        assert_eq!(bare.method, None);
        assert!(read_incoming(b"Subject: hi\r\n\r\nno calendar").is_err());
        assert_eq!(redact("smtp://u:secret@h:25"), "smtp://u:***@h:25");
    }

    #[test]
    fn too_many_parts() {
        let mut mail = String::from(
            "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n",
        );
        for _ in 0..=MAX_PARTS {
            mail.push_str("--x\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        mail.push_str("--x--\r\n");
        assert!(read_incoming(mail.as_bytes()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random bytes, and the sample mail with bytes changed, never panic.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16)) {
            let _ = read_incoming(&bytes);
            let mut mail = MAIL.as_bytes().to_vec();
            for (i, b) in flips {
                let at = i.index(mail.len());
                mail[at] = b;
            }
            let _ = read_incoming(&mail);
        }
    }
}
