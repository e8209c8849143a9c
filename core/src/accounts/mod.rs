//! Accounts, the calendars they may use, passwords, the connection log and login throttling
//! (Orge's `orge_user` and `orge_connection`, spec §C.4), on the typed table layer.
//!
//! Every operation is a plain function over `&mut C where C: SqlConnection + ?Sized` that
//! **assumes the caller has opened a write transaction** and neither begins nor commits
//! one: the store's unit of work calls them, and several of them may share one transaction.
//! They do no expensive work: Argon2 hashing and verification happen before the transaction
//! ([`password`], [`connections::LoginCandidate::verify`]), because a transaction closure may
//! be retried.
//!
//! Cross-row rules are checked by a read in the same transaction as the write (a login is
//! never registered twice, even after deletion), and unique constraints close the race.
//!
//! A login, end to end:
//!
//! ```text
//! let candidate = connections::prepare_login(c, &key, sent_login, peer.ip, now)?;  // reads
//! let verified = candidate.verify(sent_password, &policy);                         // Argon2, no transaction
//! let rehash = if verified.needs_rehash(&policy) { Some(policy.hash(..., fresh_salt)?) } else { None };
//! store.transaction(|w| connections::record_login(w, &verified, &peer, &info, &throttling, rehash.as_ref(), now))?;
//! ```
//!
//! The tables are the [`ACCOUNTS`](crate::schema::ACCOUNTS) component (DDL:
//! [`schema::ddl`]); [`open()`] migrates it, prepares its memory tables (`live_sessions`,
//! `login_throttle`: [`crate::schema::storage`]), checks the [`PseudonymKey`] and, for a
//! process that serves logins, runs the recovery at start.

pub mod account;
pub mod connections;
pub mod grants;
pub mod keys;
pub mod open;
pub mod password;
pub mod resets;
pub mod schema;
pub mod tables;
pub mod throttle;

use crate::error::{DbError, StoreError};
use crate::typed::{EmailAddress, Id, InvalidValue, Login};

pub use account::{NewAccount, Profile};
pub use keys::{KeyCheck, PseudonymKey, ResetToken};
pub use open::{Purpose, open};
pub use password::{PasswordPolicy, PolicyViolation};
pub use tables::{
    Account, AccountRole, AccountStatus, CalendarGrant, Connection, ConnectionOutcome, GrantRole,
    LiveSession, PasswordReset, Throttle, ThrottleKind,
};

/// Errors of the account operations. Converts into [`StoreError`] (so the store's unit of
/// work can use `?`), keeping database errors as they are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// An account has this login (Orge's `LoginAlreadyRegistered`).
    #[error("login {0} is already registered")]
    LoginAlreadyRegistered(Login),
    /// A deleted account had this login; a login is never registered again.
    #[error("login {0} belonged to a deleted account and cannot be registered again")]
    LoginNotReusable(Login),
    /// No account has this login (Orge's `LoginNotKnown`).
    #[error("login not known: {0}")]
    LoginNotKnown(String),
    /// An account has this email address (compared case-insensitively).
    #[error("email address {0} is already registered")]
    EmailAlreadyRegistered(EmailAddress),
    /// A concurrent registration took the login or the address first; run the unit of work
    /// again to learn which.
    #[error("a concurrent registration took this login or email address")]
    RegistrationConflict,
    /// No account has this id.
    #[error("account {0} not found")]
    AccountNotFound(Id<Account>),
    /// The operation is not allowed in the account's status.
    #[error("account {id} is {status}")]
    WrongStatus {
        /// The account.
        id: Id<Account>,
        /// Its status.
        status: AccountStatus,
    },
    /// The connection is not an open session.
    #[error("connection {0} is not an open session")]
    NotOpen(Id<Connection>),
    /// The reset token is unknown, already used, or expired.
    #[error("the password reset token is unknown, used or expired")]
    ResetTokenInvalid,
    /// A value broke its type's rule (also: a date of birth in the future).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// A new password broke the password policy.
    #[error(transparent)]
    Password(#[from] PolicyViolation),
    /// The pseudonym key is not the one the database's accounts were written with.
    #[error("the pseudonym key is not the one this database's accounts were created with")]
    WrongKey,
    /// A database or store error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for AccountError {
    fn from(e: DbError) -> Self {
        AccountError::Store(StoreError::Db(e))
    }
}

impl From<AccountError> for StoreError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(e) => e,
            e @ (AccountError::LoginAlreadyRegistered(_)
            | AccountError::LoginNotReusable(_)
            | AccountError::EmailAlreadyRegistered(_)
            | AccountError::RegistrationConflict) => StoreError::AlreadyExists(e.to_string()),
            e @ (AccountError::LoginNotKnown(_)
            | AccountError::AccountNotFound(_)
            | AccountError::NotOpen(_)) => StoreError::NotFound(e.to_string()),
            e => StoreError::InvalidData(e.to_string()),
        }
    }
}

/// Result of the account operations.
pub type Result<T, E = AccountError> = std::result::Result<T, E>;
