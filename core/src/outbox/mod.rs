//! The outbox: scheduling messages waiting to be mailed to recipients who are not local
//! users (table `outgoing_messages`, component [`OUTBOX`], server-only), one row per
//! recipient, with attempts, the next try and a dead-letter state.
//!
//! Messages are queued inside the unit of work that produced them (a reply commits with the
//! decision it reports, or not at all). Sending is I/O and lives elsewhere
//! (`calstore_native::mail`): it takes what is [`due`](Store::due_messages), tries each
//! message, and reports [`sent`](Store::mark_sent) or [`failed`](Store::mark_failed); a
//! failure is retried later with a growing delay ([`RETRY_DELAYS`]), and after the last one
//! (or a permanent refusal) the message is dead: kept, with its last error, for a person to
//! look at.

use chrono::{DateTime, TimeDelta, Utc};

use crate::address;
use crate::error::{Result, StoreError};
use crate::ical::datetime::format_utc;
use crate::schema::{Component, Migration};
use crate::sql::{SqlConnection, Value};
use crate::store::Store;
use crate::validate;

/// The outbox component (created by servers and the command line, never in a browser).
pub static OUTBOX: Component = Component {
    name: "outbox",
    migrations: &[Migration {
        version: 1,
        sqlite: include_str!("sqlite_outbox_v1.sql"),
        postgres: include_str!("postgres_outbox_v1.sql"),
    }],
};

/// Delays before the 2nd, 3rd, … attempt; a message that has failed once more than this
/// list is long is dead.
pub const RETRY_DELAYS: [TimeDelta; 6] = [
    TimeDelta::minutes(1),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(6),
    TimeDelta::hours(24),
];

/// How long a message taken for sending is held back from other senders.
pub const CLAIM: TimeDelta = TimeDelta::minutes(10);

/// Where a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutgoingState {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered to the relay.
    Sent,
    /// Given up: refused for good, or failed too often.
    Dead,
}

impl OutgoingState {
    /// The `state` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingState::Pending => "pending",
            OutgoingState::Sent => "sent",
            OutgoingState::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(OutgoingState::Pending),
            "sent" => Ok(OutgoingState::Sent),
            "dead" => Ok(OutgoingState::Dead),
            other => Err(StoreError::invalid(format!(
                "unknown outbox state {other:?}"
            ))),
        }
    }
}

/// One queued message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Its id.
    pub id: i64,
    /// The local user it is from (a calendar address).
    pub sender: String,
    /// The recipient (a calendar address).
    pub recipient: String,
    /// The iTIP method (`REPLY`, `COUNTER`, …).
    pub method: String,
    /// The event's UID.
    pub uid: Option<String>,
    /// The iCalendar text.
    pub body: String,
    /// When it was queued.
    pub created: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// When it is tried next (pending), or was last tried.
    pub next_attempt: String,
    /// The last failure.
    pub last_error: Option<String>,
    /// Where it is.
    pub state: OutgoingState,
}

const COLUMNS: &str = "id, sender, recipient, method, object_uid, body, created, attempts, \
                       next_attempt, last_error, state";

fn decode(row: &crate::sql::Row) -> Result<OutgoingMessage> {
    Ok(OutgoingMessage {
        id: row.get(0)?,
        sender: row.get(1)?,
        recipient: row.get(2)?,
        method: row.get(3)?,
        uid: row.get(4)?,
        body: row.get(5)?,
        created: row.get(6)?,
        attempts: row.get(7)?,
        next_attempt: row.get(8)?,
        last_error: row.get(9)?,
        state: OutgoingState::parse(&row.get::<String>(10)?)?,
    })
}

/// Creates (or upgrades) the outbox component on `conn`.
pub fn migrate<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<()> {
    crate::schema::migrate_components(conn, &[&OUTBOX])
}

impl<C: SqlConnection> Store<C> {
    /// Queues `body` for `recipient`, due now. Inside a unit of work it commits with it.
    /// Returns the message's id.
    pub fn enqueue_message(
        &mut self,
        sender: &str,
        recipient: &str,
        method: &str,
        uid: Option<&str>,
        body: &str,
    ) -> Result<i64> {
        let recipient = &*address::normalise(recipient);
        let sender = &*address::normalise(sender);
        validate::user(sender)?;
        validate::user(recipient)?;
        validate::object_text(body)?;
        let now = Value::Text(format_utc(self.now()));
        let rows = self.conn.query(
            "INSERT INTO outgoing_messages (sender, recipient, method, object_uid, body, \
             created, attempts, next_attempt, state) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $6, 'pending') RETURNING id",
            &[
                sender.into(),
                recipient.into(),
                method.into(),
                uid.into(),
                body.into(),
                now,
            ],
        )?;
        Ok(rows
            .first()
            .ok_or_else(|| StoreError::invalid("queueing returned no id"))?
            .get(0)?)
    }

    /// The pending messages due at `now`, oldest first, at most `limit`; each is claimed
    /// (its next attempt moved [`CLAIM`] ahead) so that another sender does not take it
    /// meanwhile.
    pub fn due_messages(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutgoingMessage>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claim = Value::Text(format_utc(now + CLAIM));
        let at = Value::Text(format_utc(now));
        crate::tx::in_transaction(&mut self.conn, |c| {
            let rows = c.query(
                "SELECT id FROM outgoing_messages WHERE state = 'pending' AND next_attempt <= $1 \
                 ORDER BY next_attempt, id LIMIT $2",
                &[at.clone(), Value::Integer(limit)],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let id: i64 = r.get(0)?;
                let claimed = c.query(
                    &format!(
                        "UPDATE outgoing_messages SET next_attempt = $1 WHERE id = $2 \
                         AND state = 'pending' AND next_attempt <= $3 RETURNING {COLUMNS}"
                    ),
                    &[claim.clone(), Value::Integer(id), at.clone()],
                )?;
                for row in &claimed {
                    out.push(decode(row)?);
                }
            }
            Ok(out)
        })
    }

    /// Every message in `state` (every one when None), oldest first.
    pub fn outgoing_messages(
        &mut self,
        state: Option<OutgoingState>,
    ) -> Result<Vec<OutgoingMessage>> {
        let rows = match state {
            Some(st) => self.conn.query(
                &format!("SELECT {COLUMNS} FROM outgoing_messages WHERE state = $1 ORDER BY id"),
                &[st.as_str().into()],
            )?,
            None => self.conn.query(
                &format!("SELECT {COLUMNS} FROM outgoing_messages ORDER BY id"),
                &[],
            )?,
        };
        rows.iter().map(decode).collect()
    }

    /// Records that message `id` was handed to the relay.
    pub fn mark_sent(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE outgoing_messages SET state = 'sent', attempts = attempts + 1, \
             finished = $2, last_error = NULL WHERE id = $1",
            &[Value::Integer(id), Value::Text(format_utc(now))],
        )?;
        Ok(())
    }

    /// Records a failed attempt: tried again after the next of [`RETRY_DELAYS`], or dead
    /// when `permanent` (the relay refused it for good) or when the delays are used up.
    /// Returns the message's state after it.
    pub fn mark_failed(
        &mut self,
        id: i64,
        error: &str,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> Result<OutgoingState> {
        let error: String = error.chars().take(2000).collect();
        crate::tx::in_transaction(&mut self.conn, |c| {
            let row = c.query(
                "SELECT attempts FROM outgoing_messages WHERE id = $1",
                &[Value::Integer(id)],
            )?;
            let Some(row) = row.first() else {
                return Err(StoreError::NotFound(format!("outgoing message {id}")));
            };
            let attempts: i64 = row.get(0)?;
            let delay = usize::try_from(attempts)
                .ok()
                .and_then(|a| RETRY_DELAYS.get(a));
            let (state, next) = match delay {
                Some(d) if !permanent => (OutgoingState::Pending, now + *d),
                _ => (OutgoingState::Dead, now),
            };
            c.execute(
                "UPDATE outgoing_messages SET attempts = attempts + 1, last_error = $2, \
                 state = $3, next_attempt = $4, finished = $5 WHERE id = $1",
                &[
                    Value::Integer(id),
                    error.as_str().into(),
                    state.as_str().into(),
                    Value::Text(format_utc(next)),
                    match state {
                        OutgoingState::Dead => Value::Text(format_utc(now)),
                        _ => Value::Null,
                    },
                ],
            )?;
            Ok(state)
        })
    }
}
