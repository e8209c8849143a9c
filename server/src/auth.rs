//! Authentication: a login checks the password against the accounts (Argon2 outside any
//! transaction), records the attempt in the connection log and, when access is granted,
//! opens a session whose token the client sends as `Authorization: Bearer`. The server keeps
//! only a hash of the token (`sync_sessions`), with its expiry; a request with an unknown,
//! expired or revoked token, or of an account no longer active, is refused.

use std::collections::BTreeMap;

use blake2::{Blake2s256, Digest as _};
use calstore_core::accounts::{
    self, AccountStatus, ConnectionOutcome, GrantRole, PasswordPolicy, PseudonymKey,
    connections::{self, ClientInfo, Peer},
    password,
    throttle::ThrottlePolicy,
};
use calstore_core::ical::datetime::{format_utc, parse_utc};
use calstore_core::schema::storage::StorageConnection;
use calstore_core::sql::SqlConnectionExt;
use calstore_core::sync::server::Access;
use calstore_core::sync::wire::Role;
use calstore_core::typed::{BoundedString, Field, Id, IpAddress, Port, UtcTime};
use calstore_core::{SqlConnection, StoreError, in_transaction};
use calstore_native::AnyConnection;
use chrono::{DateTime, TimeDelta, Utc};

use crate::pool::PooledStore;

/// Why a login or a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown login, wrong password, throttled: one answer for all.
    #[error("login failed")]
    LoginFailed,
    /// The account is suspended or deleted, or all its sessions are taken.
    #[error("login refused: {0}")]
    Refused(&'static str),
    /// No token, or not a valid one.
    #[error("not logged in, or the session has ended")]
    Unauthenticated,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<calstore_core::DbError> for AuthError {
    fn from(e: calstore_core::DbError) -> Self {
        AuthError::Store(e.into())
    }
}

/// A new session.
#[derive(Debug)]
pub struct Session {
    /// The token (given to the client, never stored).
    pub token: String,
    /// When it ends.
    pub expires: DateTime<Utc>,
}

fn utc(t: DateTime<Utc>) -> Result<UtcTime, StoreError> {
    UtcTime::from_datetime(t).map_err(|e| StoreError::invalid(e.to_string()))
}

/// The hash a token is kept as.
pub fn token_hash(token: &str) -> String {
    let digest = Blake2s256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::invalid(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn salt() -> Result<[u8; 16], StoreError> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).map_err(|e| StoreError::invalid(format!("no randomness: {e}")))?;
    Ok(s)
}

fn refusal(outcome: ConnectionOutcome) -> AuthError {
    match outcome {
        ConnectionOutcome::AccountNotActive => AuthError::Refused("account not active"),
        ConnectionOutcome::AlreadyConnected => {
            AuthError::Refused("all the account's sessions are in use")
        }
        _ => AuthError::LoginFailed,
    }
}

/// What a client sent to log in, and from where (its `Debug` leaves the password out).
pub struct Attempt<'a> {
    /// The login as sent.
    pub login: &'a str,
    /// The password as sent.
    pub password: &'a str,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
    /// The client's name and version, if it said.
    pub client: Option<&'a str>,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("login", &self.login)
            .field("peer", &self.peer)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A login, on the accounts connection (which owns the live sessions): the attempt is
/// recorded whatever its outcome; on success a session row is written with the hash of a
/// new token. Expired sessions of the account are ended first.
pub fn login(
    accounts_conn: &mut StorageConnection<AnyConnection>,
    key: &PseudonymKey,
    policy: &PasswordPolicy,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
    session_days: i64,
) -> Result<Session, AuthError> {
    let Attempt {
        login,
        password: password_text,
        peer,
        client,
    } = *attempt;
    let at = utc(now)?;
    let peer = Peer {
        ip: IpAddress::from(peer.ip()),
        port: Port::new(peer.port().max(1)).map_err(|e| StoreError::invalid(e.to_string()))?,
    };
    free_slots(accounts_conn, login, now)?;
    let candidate = connections::prepare_login(accounts_conn, key, login, peer.ip, at)
        .map_err(|e| AuthError::Store(e.into()))?;
    // Argon2 outside the transaction.
    let verified = candidate.verify(password_text, policy);
    let rehash = if verified.needs_rehash() {
        Some(
            password::hash(password_text, salt()?, policy.params())
                .map_err(|e| StoreError::invalid(e.to_string()))?,
        )
    } else {
        None
    };
    let info = ClientInfo {
        client_version: client.and_then(|c| BoundedString::new(c).ok()),
        ..ClientInfo::default()
    };
    let token = random_hex(32)?;
    let expires = now + TimeDelta::days(session_days);
    let hash = token_hash(&token);
    let record = in_transaction(accounts_conn, |c| {
        let record = connections::record_login(
            c,
            &verified,
            &peer,
            &info,
            &ThrottlePolicy::default(),
            rehash.as_ref(),
            at,
        )?;
        if record.outcome == ConnectionOutcome::AccessGranted
            && let Some(account) = record.account
        {
            c.execute(
                "INSERT INTO sync_sessions (token_hash, account_id, connection_id, created, \
                 expires) VALUES ($1, $2, $3, $4, $5)",
                &[
                    hash.as_str().into(),
                    account.to_value(),
                    record.connection.to_value(),
                    format_utc(now).into(),
                    format_utc(expires).into(),
                ],
            )?;
        }
        Ok(record)
    })?;
    if record.outcome != ConnectionOutcome::AccessGranted {
        return Err(refusal(record.outcome));
    }
    Ok(Session { token, expires })
}

/// Frees the live session slots of `login` that no sync session holds any more: those whose
/// token expired (ended as `timed_out`), and those whose token was revoked from outside this
/// process (`account suspend`, `passwd` or `delete` from the command line delete the tokens,
/// but cannot reach the live sessions a SQLite server keeps in its own memory), ended as
/// `shutdown_by_server`.
fn free_slots(
    c: &mut StorageConnection<AnyConnection>,
    login: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    end_expired(c, login, now)?;
    let at = utc(now)?;
    let orphans = c.query(
        "SELECT l.connection_id FROM live_sessions l JOIN accounts a ON a.id = l.account_id \
         WHERE a.login = $1 AND NOT EXISTS \
         (SELECT 1 FROM sync_sessions s WHERE s.connection_id = l.connection_id)",
        &[login.into()],
    )?;
    for r in orphans {
        let Ok(id) = Id::new(r.get::<i64>(0)?) else {
            continue;
        };
        in_transaction(c, |c| {
            match connections::close_session(c, id, ConnectionOutcome::ShutdownByServer, at) {
                // Its connection was ended already (by the suspension): the slot is free now.
                Ok(()) | Err(accounts::AccountError::NotOpen(_)) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })?;
    }
    Ok(())
}

/// Ends the sessions of `login` that have expired (their live session slots are freed).
fn end_expired(
    c: &mut StorageConnection<AnyConnection>,
    login: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let rows = c.query(
        "SELECT s.token_hash, s.connection_id FROM sync_sessions s \
         JOIN accounts a ON a.id = s.account_id WHERE a.login = $1 AND s.expires <= $2",
        &[login.into(), format_utc(now).into()],
    )?;
    for r in rows {
        let hash: String = r.get(0)?;
        let connection: Option<i64> = r.get(1)?;
        end_session(c, &hash, connection, ConnectionOutcome::TimedOut, now)?;
    }
    Ok(())
}

/// Ends one session: its row goes, its connection is closed with `outcome`.
pub fn end_session(
    c: &mut StorageConnection<AnyConnection>,
    hash: &str,
    connection: Option<i64>,
    outcome: ConnectionOutcome,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let at = utc(now)?;
    in_transaction(c, |c| {
        c.execute(
            "DELETE FROM sync_sessions WHERE token_hash = $1",
            &[hash.into()],
        )?;
        if let Some(id) = connection.and_then(|i| Id::new(i).ok()) {
            connections::close_session(c, id, outcome, at)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The session of a token: (account, connection), if valid now.
pub fn session_of(
    store: &mut PooledStore,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(i64, Option<i64>), AuthError> {
    let row = store
        .connection()
        .query_opt(
            "SELECT account_id, connection_id, expires FROM sync_sessions WHERE token_hash = $1",
            &[token_hash(token).into()],
        )?
        .ok_or(AuthError::Unauthenticated)?;
    let account: i64 = row.get(0)?;
    let connection: Option<i64> = row.get(1)?;
    let expires: String = row.get(2)?;
    match parse_utc(&expires) {
        Ok(e) if e > now => Ok((account, connection)),
        _ => Err(AuthError::Unauthenticated),
    }
}

/// What an account may do: its calendars and their roles. An account that is not active has
/// no access.
pub fn access(store: &mut PooledStore, account_id: i64) -> Result<Access, AuthError> {
    let id = Id::new(account_id).map_err(|_| AuthError::Unauthenticated)?;
    let conn = store.connection();
    let account = accounts::account::get(conn, id)
        .map_err(|e| AuthError::Store(e.into()))?
        .ok_or(AuthError::Unauthenticated)?;
    if account.record.status != AccountStatus::Active {
        return Err(AuthError::Unauthenticated);
    }
    let mut calendars = BTreeMap::new();
    for c in accounts::grants::calendars(conn, id).map_err(|e| AuthError::Store(e.into()))? {
        let role = match c.role {
            GrantRole::Owner => Role::Owner,
            GrantRole::Write => Role::Write,
            GrantRole::Read => Role::Read,
        };
        let uri = c.calendar.as_str().to_owned();
        let entry = calendars.entry(uri).or_insert(role);
        *entry = (*entry).min(role);
    }
    Ok(Access {
        account_id,
        calendars,
    })
}
