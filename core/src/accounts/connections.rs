//! The connection log and live sessions: recording login attempts, opening and closing
//! sessions, recovery at start, retention.
//!
//! A login is three steps, so that the Argon2 work happens outside the write transaction:
//! [`prepare_login`] reads (the account by login, the throttling state),
//! [`LoginCandidate::verify`] hashes (pure, no database), and [`record_login`], inside the
//! caller's write transaction, decides the outcome with a fresh read of the account, writes
//! the `connections` row, opens the live session and updates the throttling counters.
//!
//! "Already connected" is the insert into `live_sessions`: an account's sessions take
//! distinct slots `1..=max_sessions` under `UNIQUE (account_id, slot)`, so for the default of
//! one session the check is one insert that finds its slot taken (`ON CONFLICT DO NOTHING`,
//! which also keeps a PostgreSQL transaction usable), and never a scan of the log.

use crate::sql::Value;
use crate::sql::{SqlConnection, SqlConnectionExt};
use crate::typed::{
    BoundedString, CountryCode, Digest, Field, Id, InvalidValue, IpAddress, Login, PasswordHash,
    Port, SoftRef, Stored, Table, UtcTime, rows,
};

use super::keys::PseudonymKey;
use super::password::PasswordPolicy;
use super::tables::{
    Account, AccountStatus, Connection, ConnectionOutcome, LiveSession, MaxSessions, Slot,
    ThrottleKind,
};
use super::throttle::{self, ThrottlePolicy};
use super::{AccountError, Result};

/// The peer of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its address.
    pub ip: IpAddress,
    /// Its port.
    pub port: Port,
}

/// What is known about a connection besides its peer, all optional. Reverse DNS and
/// geolocation are looked up before the transaction (with a time limit), never inside it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientInfo {
    /// The client's version.
    pub client_version: Option<BoundedString<16>>,
    /// Reverse DNS of the peer.
    pub reverse_dns: Option<BoundedString<253>>,
    /// Geolocated country.
    pub geo_country: Option<CountryCode>,
    /// Geolocated region.
    pub geo_region: Option<BoundedString<64>>,
    /// Geolocated city.
    pub geo_city: Option<BoundedString<64>>,
    /// Geolocated postal code.
    pub geo_postal_code: Option<BoundedString<16>>,
    /// Which geolocation database answered.
    pub geo_db_version: Option<BoundedString<32>>,
}

#[derive(Clone, Debug)]
struct CandidateAccount {
    id: Id<Account>,
    login: Login,
    password_hash: Option<PasswordHash>,
}

/// What [`prepare_login`] found: the account with the sent login, if any, and whether the
/// login or the address is locked out.
#[derive(Clone, Debug)]
pub struct LoginCandidate {
    login_subject: Digest,
    address_subject: Digest,
    account: Option<CandidateAccount>,
    locked_until: Option<UtcTime>,
}

/// Reads what a login attempt needs, before any hashing: the account whose login is
/// `sent_login` (none if it is unknown, scrubbed, or not even a valid login) and the
/// throttling state of the login and of the peer's address. Runs in a read or write
/// transaction of the caller, or none.
pub fn prepare_login<C: SqlConnection + ?Sized>(
    conn: &mut C,
    key: &PseudonymKey,
    sent_login: &str,
    peer_ip: IpAddress,
    now: UtcTime,
) -> Result<LoginCandidate> {
    let login_subject = key.sent_login(sent_login);
    let address_subject = key.address(peer_ip);
    let account = match Login::new(sent_login) {
        Ok(login) => conn
            .query_opt(
                "SELECT id, password_hash FROM accounts WHERE login = $1",
                &[login.to_value()],
            )?
            .map(|row| -> Result<CandidateAccount> {
                Ok(CandidateAccount {
                    id: row.get(0)?,
                    login,
                    password_hash: row.get(1)?,
                })
            })
            .transpose()?,
        Err(_) => None,
    };
    let locked_until = throttle::locked_until(
        conn,
        &[
            (ThrottleKind::Login, login_subject),
            (ThrottleKind::Address, address_subject),
        ],
        now,
    )?;
    Ok(LoginCandidate {
        login_subject,
        address_subject,
        account,
        locked_until,
    })
}

impl LoginCandidate {
    /// The end of the lock-out in force, if the attempt is throttled.
    pub fn locked_until(&self) -> Option<UtcTime> {
        self.locked_until
    }

    /// Verifies `password`: one Argon2 computation with the policy's parameters, against the
    /// account's hash or, for an unknown login, the dummy hash (so both cost the same). A
    /// throttled attempt is not verified at all. Pure: call it outside any transaction.
    pub fn verify(self, password: &str, policy: &PasswordPolicy) -> VerifiedLogin {
        let check = if self.locked_until.is_some() {
            Check::Throttled
        } else {
            let stored = self.account.as_ref().and_then(|a| a.password_hash.as_ref());
            let ok = policy.verify(password, stored);
            Check::Verified {
                ok,
                rehash: ok && stored.is_some_and(|h| policy.needs_rehash(h)),
            }
        };
        VerifiedLogin {
            candidate: self,
            check,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    Throttled,
    Verified { ok: bool, rehash: bool },
}

/// A login attempt after verification, ready for [`record_login`]. Holds no password.
#[derive(Clone, Debug)]
pub struct VerifiedLogin {
    candidate: LoginCandidate,
    check: Check,
}

impl VerifiedLogin {
    /// True if the password matched a hash made with lower costs than the policy's: hash the
    /// password again (with a fresh salt, outside the transaction) and pass the new hash to
    /// [`record_login`].
    pub fn needs_rehash(&self) -> bool {
        matches!(self.check, Check::Verified { rehash: true, .. })
    }
}

/// What [`record_login`] decided and wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginRecord {
    /// The `connections` row of the attempt.
    pub connection: Id<Connection>,
    /// Its outcome. Tell the client one generic "login failed" for `unknown_login`,
    /// `bad_password` and `throttled`, as Orge did.
    pub outcome: ConnectionOutcome,
    /// The account whose login was sent, if one has it.
    pub account: Option<Id<Account>>,
    /// The session opened, for `access_granted`.
    pub session: Option<LiveSession>,
}

/// Decides and records a verified login attempt, in the caller's write transaction:
///
/// - throttled → `throttled`;
/// - no account with the login → `unknown_login`, counted against the login and the address;
/// - wrong password, or the hash changed since it was read → `bad_password`, counted;
/// - right password, account suspended or deleted → `account_not_active`;
/// - all of the account's session slots taken → `already_connected` (the live sessions are
///   left as they were);
/// - otherwise `access_granted`: the connection stays open (`ended_at` NULL), a live session
///   takes the lowest free slot, the login's failure counter is cleared, and `rehash` (if
///   given) replaces the stored hash.
///
/// Every outcome but `access_granted` is written as an ended connection. Nothing derived
/// from the submitted password is written: the row has the account (or, for an unknown
/// login, a keyed digest of the sent login), the peer, the times and `info`.
pub fn record_login<C: SqlConnection + ?Sized>(
    conn: &mut C,
    attempt: &VerifiedLogin,
    peer: &Peer,
    info: &ClientInfo,
    throttling: &ThrottlePolicy,
    rehash: Option<&PasswordHash>,
    now: UtcTime,
) -> Result<LoginRecord> {
    let cand = &attempt.candidate;
    // A fresh read of the account inside the transaction: status, hash and session limit.
    let current = match &cand.account {
        Some(a) => conn
            .query_opt(
                "SELECT status, password_hash, max_sessions FROM accounts WHERE id = $1",
                &[a.id.to_value()],
            )?
            .map(
                |row| -> Result<(AccountStatus, Option<PasswordHash>, MaxSessions)> {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                },
            )
            .transpose()?,
        None => None,
    };
    let matched = cand.account.as_ref().filter(|_| current.is_some());
    let mut row = ended_row(ConnectionOutcome::Pending, peer, info, now);
    match matched {
        Some(a) => {
            row.account_id = Some(a.id);
            row.sent_login = Some(a.login.clone());
        }
        None => row.sent_login_key = Some(cand.login_subject),
    }
    let failed = |conn: &mut C| -> Result<()> {
        throttle::record_failure(
            conn,
            ThrottleKind::Login,
            &cand.login_subject,
            throttling,
            now,
        )?;
        throttle::record_failure(
            conn,
            ThrottleKind::Address,
            &cand.address_subject,
            throttling,
            now,
        )?;
        Ok(())
    };
    let ok = match attempt.check {
        Check::Throttled => {
            row.outcome = ConnectionOutcome::Throttled;
            return closed(conn, row);
        }
        Check::Verified { ok, .. } => ok,
    };
    let (Some(account), Some((status, hash_now, max_sessions))) = (matched, current) else {
        row.outcome = ConnectionOutcome::UnknownLogin;
        failed(conn)?;
        return closed(conn, row);
    };
    if !ok || hash_now != account.password_hash {
        row.outcome = ConnectionOutcome::BadPassword;
        failed(conn)?;
        return closed(conn, row);
    }
    if status != AccountStatus::Active {
        row.outcome = ConnectionOutcome::AccountNotActive;
        return closed(conn, row);
    }
    let Some(slot) = free_slot(conn, account.id, max_sessions)? else {
        row.outcome = ConnectionOutcome::AlreadyConnected;
        return closed(conn, row);
    };
    row.outcome = ConnectionOutcome::AccessGranted;
    row.ended_at = None;
    let id = rows::insert(conn, &row)?;
    let session = LiveSession {
        connection_id: SoftRef::new(id),
        account_id: SoftRef::new(account.id),
        slot,
        since: now,
    };
    let inserted = conn.query(
        "INSERT INTO live_sessions (connection_id, account_id, slot, since) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING slot",
        &Table::values(&session),
    )?;
    if inserted.is_empty() {
        // A concurrent login took the slot between the read and the insert.
        conn.execute(
            "UPDATE connections SET outcome = 'already_connected', ended_at = $2 WHERE id = $1",
            &[id.to_value(), now.to_value()],
        )?;
        return Ok(LoginRecord {
            connection: id,
            outcome: ConnectionOutcome::AlreadyConnected,
            account: Some(account.id),
            session: None,
        });
    }
    throttle::clear(conn, ThrottleKind::Login, &cand.login_subject)?;
    if let Some(new_hash) = rehash
        && let Some(old) = &account.password_hash
    {
        // Same password, stronger parameters: password_changed_at stays.
        conn.execute(
            "UPDATE accounts SET password_hash = $2 WHERE id = $1 AND password_hash = $3",
            &[account.id.to_value(), new_hash.to_value(), old.to_value()],
        )?;
    }
    Ok(LoginRecord {
        connection: id,
        outcome: ConnectionOutcome::AccessGranted,
        account: Some(account.id),
        session: Some(session),
    })
}

/// A connection that started and ended at `now`, with no login.
fn ended_row(
    outcome: ConnectionOutcome,
    peer: &Peer,
    info: &ClientInfo,
    now: UtcTime,
) -> Connection {
    Connection {
        started_at: now,
        ended_at: Some(now),
        outcome,
        account_id: None,
        sent_login: None,
        sent_login_key: None,
        peer_ip: peer.ip,
        peer_port: peer.port,
        client_version: info.client_version.clone(),
        reverse_dns: info.reverse_dns.clone(),
        geo_country: info.geo_country,
        geo_region: info.geo_region.clone(),
        geo_city: info.geo_city.clone(),
        geo_postal_code: info.geo_postal_code.clone(),
        geo_db_version: info.geo_db_version.clone(),
        redacted_at: None,
    }
}

fn closed<C: SqlConnection + ?Sized>(conn: &mut C, row: Connection) -> Result<LoginRecord> {
    let outcome = row.outcome;
    let account = row.account_id;
    let id = rows::insert(conn, &row)?;
    Ok(LoginRecord {
        connection: id,
        outcome,
        account,
        session: None,
    })
}

/// The lowest slot in `1..=max` that the account's live sessions do not hold (an index
/// lookup of at most `max` rows).
fn free_slot<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    max: MaxSessions,
) -> Result<Option<Slot>> {
    let taken: Vec<i64> = conn
        .query(
            "SELECT slot FROM live_sessions WHERE account_id = $1",
            &[account.to_value()],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<std::result::Result<_, _>>()?;
    Ok((1..=max.get())
        .find(|s| !taken.contains(s))
        .and_then(|s| Slot::new(s).ok()))
}

/// Records a connection that ended before any login (`slot_refused`, `marshalling_failed`,
/// `timed_out`, `incompatible_version`) and returns its id.
pub fn record_refusal<C: SqlConnection + ?Sized>(
    conn: &mut C,
    outcome: ConnectionOutcome,
    peer: &Peer,
    info: &ClientInfo,
    now: UtcTime,
) -> Result<Id<Connection>> {
    use ConnectionOutcome as O;
    if !matches!(
        outcome,
        O::SlotRefused | O::MarshallingFailed | O::TimedOut | O::IncompatibleVersion
    ) {
        return Err(InvalidValue::new(
            "connection outcome",
            format!("{outcome} is not an outcome before login"),
        )
        .into());
    }
    Ok(rows::insert(conn, &ended_row(outcome, peer, info, now))?)
}

/// Ends an open session: the connection gets `outcome` (`normal_client_side_termination`,
/// `unexpected_client_termination`, `timed_out`, `shutdown_by_server`,
/// `marshalling_failed`) and `ended_at`, and its live session is removed. A connection that
/// is not open is [`AccountError::NotOpen`].
pub fn close_session<C: SqlConnection + ?Sized>(
    conn: &mut C,
    connection: Id<Connection>,
    outcome: ConnectionOutcome,
    now: UtcTime,
) -> Result<()> {
    use ConnectionOutcome as O;
    if !matches!(
        outcome,
        O::NormalClientSideTermination
            | O::UnexpectedClientTermination
            | O::TimedOut
            | O::ShutdownByServer
            | O::MarshallingFailed
    ) {
        return Err(InvalidValue::new(
            "connection outcome",
            format!("{outcome} does not end a session"),
        )
        .into());
    }
    let changed = conn.execute(
        "UPDATE connections SET outcome = $2, \
         ended_at = CASE WHEN started_at > $3 THEN started_at ELSE $3 END \
         WHERE id = $1 AND ended_at IS NULL",
        &[connection.to_value(), outcome.to_value(), now.to_value()],
    )?;
    conn.execute(
        "DELETE FROM live_sessions WHERE connection_id = $1",
        &[connection.to_value()],
    )?;
    if changed == 0 {
        return Err(AccountError::NotOpen(connection));
    }
    Ok(())
}

/// Ends every open session of `account` as `shutdown_by_server` (on suspension and
/// deletion); returns how many.
pub fn end_sessions_of<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    now: UtcTime,
) -> Result<u64> {
    let n = conn.execute(
        "UPDATE connections SET outcome = 'shutdown_by_server', \
         ended_at = CASE WHEN started_at > $2 THEN started_at ELSE $2 END \
         WHERE ended_at IS NULL AND id IN (SELECT connection_id FROM live_sessions WHERE account_id = $1)",
        &[account.to_value(), now.to_value()],
    )?;
    conn.execute(
        "DELETE FROM live_sessions WHERE account_id = $1",
        &[account.to_value()],
    )?;
    Ok(n)
}

/// Recovery at start, in one transaction: every connection still open (left by a crash or
/// a kill) ends as `server_restart`, and the live sessions are cleared, so nobody stays
/// locked out as "already connected" by a session that no longer exists. Returns how many
/// connections were closed. Uses the partial index on open connections.
pub fn recover_at_start<C: SqlConnection + ?Sized>(conn: &mut C, now: UtcTime) -> Result<u64> {
    let n = conn.execute(
        "UPDATE connections SET outcome = 'server_restart', \
         ended_at = CASE WHEN started_at > $1 THEN started_at ELSE $1 END \
         WHERE ended_at IS NULL",
        &[now.to_value()],
    )?;
    conn.execute("DELETE FROM live_sessions", &[])?;
    Ok(n)
}

/// The live sessions of `account`, by slot.
pub fn live_sessions<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
) -> Result<Vec<LiveSession>> {
    Ok(rows::select_records(
        conn,
        "WHERE account_id = $1 ORDER BY slot",
        &[account.to_value()],
    )?)
}

/// How many sessions are open in all (the server's slot count: a small table).
pub fn live_session_count<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<u64> {
    let row = conn.query_opt("SELECT count(*) FROM live_sessions", &[])?;
    Ok(match row {
        Some(r) => r.get::<u64>(0)?,
        None => 0,
    })
}

/// The latest `limit` connections of `account`, newest first.
pub fn recent_connections<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    limit: u32,
) -> Result<Vec<Stored<Connection>>> {
    Ok(rows::select_stored(
        conn,
        "WHERE account_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
        &[account.to_value(), Value::Integer(i64::from(limit))],
    )?)
}

/// Which connections [`list`] returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Only attempts of this login: those of its account, and those whose sent login matched
    /// no account but had this keyed digest (`sent_login_key`).
    pub login: Option<(Option<Id<Account>>, Option<Digest>)>,
    /// Only connections still open (`ended_at` NULL).
    pub open_only: bool,
}

/// The connections matching `filter`, by id.
pub fn list<C: SqlConnection + ?Sized>(
    conn: &mut C,
    filter: &ConnectionFilter,
) -> Result<Vec<Stored<Connection>>> {
    let (by_login, account, key) = match filter.login {
        Some((account, key)) => (1, account, key),
        None => (0, None, None),
    };
    Ok(rows::select_stored(
        conn,
        "WHERE ($1 = 0 OR account_id = $2 OR sent_login_key = $3)          AND ($4 = 0 OR ended_at IS NULL) ORDER BY id",
        &[
            Value::Integer(by_login),
            account.map_or(Value::Null, |a| a.to_value()),
            key.map_or(Value::Null, |k| k.to_value()),
            Value::Integer(i64::from(filter.open_only)),
        ],
    )?)
}

/// The connection with id `id`.
pub fn get<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Connection>,
) -> Result<Option<Stored<Connection>>> {
    Ok(rows::get(conn, id)?)
}

/// What [`apply_retention`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Rows whose address was truncated and details dropped.
    pub redacted: u64,
    /// Rows deleted.
    pub deleted: u64,
}

/// Retention of the connection log (personal data under GDPR): ended connections that
/// started before `redact_before` (e.g. 90 days ago) keep their time, outcome, account and
/// port, but the address is truncated (IPv4 to /24, IPv6 to /48) and the sent login, the
/// keyed digest of an unknown login, reverse DNS, city and postal code are dropped; ended
/// connections that started before `delete_before`, if given, are deleted. Open sessions
/// are never touched. Uses the partial index on unredacted rows, so a daily run does not
/// re-read what it already redacted.
pub fn apply_retention<C: SqlConnection + ?Sized>(
    conn: &mut C,
    redact_before: UtcTime,
    delete_before: Option<UtcTime>,
    now: UtcTime,
) -> Result<RetentionReport> {
    let mut report = RetentionReport::default();
    if let Some(cut) = delete_before {
        report.deleted = conn.execute(
            "DELETE FROM connections WHERE started_at < $1 AND ended_at IS NOT NULL",
            &[cut.to_value()],
        )?;
    }
    report.redacted = conn.execute(
        "UPDATE connections SET redacted_at = $2, \
         peer_ip = CASE WHEN length(peer_ip) = 8 THEN substr(peer_ip, 1, 6) || '00' \
         ELSE substr(peer_ip, 1, 12) || '00000000000000000000' END, \
         sent_login = NULL, sent_login_key = NULL, reverse_dns = NULL, geo_city = NULL, \
         geo_postal_code = NULL \
         WHERE redacted_at IS NULL AND started_at < $1 AND ended_at IS NOT NULL",
        &[redact_before.to_value(), now.to_value()],
    )?;
    Ok(report)
}
