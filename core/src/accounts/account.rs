//! Registering, reading, suspending, activating, deleting and scrubbing accounts, and
//! setting their password hash.

use crate::error::DbErrorKind;
use crate::sql::Value;
use crate::sql::{SqlConnection, SqlConnectionExt};
use crate::typed::{
    CountryCode, Date, EmailAddress, Field, Id, InvalidValue, Login, PasswordHash, Phone, Stored,
    UtcTime, rows,
};

use super::connections::end_sessions_of;
use super::keys::PseudonymKey;
use super::tables::{Account, AccountRole, AccountStatus, MaxSessions, Name, PostalCode};
use super::{AccountError, Result};

/// The optional personal fields of an account: store only what is needed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// First name.
    pub first_name: Option<Name>,
    /// Last name.
    pub last_name: Option<Name>,
    /// Date of birth; not after the registration date.
    pub date_of_birth: Option<Date>,
    /// Address line 1.
    pub address_line_1: Option<Name>,
    /// Address line 2.
    pub address_line_2: Option<Name>,
    /// City.
    pub city: Option<Name>,
    /// State or region.
    pub state: Option<Name>,
    /// Postal code.
    pub postal_code: Option<PostalCode>,
    /// Country.
    pub country: Option<CountryCode>,
    /// Home telephone.
    pub home_phone: Option<Phone>,
    /// Mobile telephone.
    pub mobile_phone: Option<Phone>,
}

/// What registering an account takes. The password arrives already hashed (hashing is done
/// before the transaction, see [`super::password`]).
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// The login, unique forever.
    pub login: Login,
    /// The email address, unique case-insensitively.
    pub email: EmailAddress,
    /// User or administrator.
    pub role: AccountRole,
    /// The password's Argon2id hash.
    pub password_hash: PasswordHash,
    /// Personal fields, all optional.
    pub profile: Profile,
    /// How many sessions the account may hold at once.
    pub max_sessions: MaxSessions,
}

impl NewAccount {
    /// A user account with one session and no personal fields.
    pub fn new(login: Login, email: EmailAddress, password_hash: PasswordHash) -> Self {
        NewAccount {
            login,
            email,
            role: AccountRole::User,
            password_hash,
            profile: Profile::default(),
            max_sessions: MaxSessions::MIN,
        }
    }
}

/// Registers an account and returns its id (Orge's registration; ids 1, 2, 3, …).
///
/// Refused with [`AccountError::LoginAlreadyRegistered`] if an account has the login,
/// [`AccountError::LoginNotReusable`] if a deleted one had it, and
/// [`AccountError::EmailAlreadyRegistered`]; the checks read in the caller's transaction,
/// and unique indexes on the login's reservation and on `lower(email)` close the race
/// ([`AccountError::RegistrationConflict`]).
pub fn register<C: SqlConnection + ?Sized>(
    conn: &mut C,
    key: &PseudonymKey,
    new: NewAccount,
    now: UtcTime,
) -> Result<Id<Account>> {
    if let Some(born) = new.profile.date_of_birth
        && born > now.date()
    {
        return Err(InvalidValue::new("date of birth", format!("{born} is in the future")).into());
    }
    let login_key = key.login(&new.login);
    if let Some(row) = conn.query_opt(
        "SELECT status FROM accounts WHERE login_key = $1",
        &[login_key.to_value()],
    )? {
        return Err(match row.get::<AccountStatus>(0)? {
            AccountStatus::Deleted => AccountError::LoginNotReusable(new.login),
            _ => AccountError::LoginAlreadyRegistered(new.login),
        });
    }
    if conn
        .query_opt(
            "SELECT id FROM accounts WHERE lower(email) = $1",
            &[Value::Text(new.email.folded())],
        )?
        .is_some()
    {
        return Err(AccountError::EmailAlreadyRegistered(new.email));
    }
    let p = new.profile;
    let account = Account {
        created_at: now,
        status: AccountStatus::Active,
        status_changed_at: now,
        deleted_at: None,
        scrubbed_at: None,
        role: new.role,
        login_key,
        login: Some(new.login),
        email: Some(new.email),
        email_verified_at: None,
        first_name: p.first_name,
        last_name: p.last_name,
        date_of_birth: p.date_of_birth,
        address_line_1: p.address_line_1,
        address_line_2: p.address_line_2,
        city: p.city,
        state: p.state,
        postal_code: p.postal_code,
        country: p.country,
        home_phone: p.home_phone,
        mobile_phone: p.mobile_phone,
        password_hash: Some(new.password_hash),
        password_changed_at: Some(now),
        max_sessions: new.max_sessions,
    };
    rows::insert(conn, &account).map_err(|e| match e.kind() {
        DbErrorKind::UniqueViolation => AccountError::RegistrationConflict,
        _ => e.into(),
    })
}

/// The account with id `id`.
pub fn get<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
) -> Result<Option<Stored<Account>>> {
    Ok(rows::get(conn, id)?)
}

/// The account with login `login` (not found once scrubbed).
pub fn find_by_login<C: SqlConnection + ?Sized>(
    conn: &mut C,
    login: &Login,
) -> Result<Option<Stored<Account>>> {
    Ok(
        rows::select_stored(conn, "WHERE login = $1", &[login.to_value()])?
            .into_iter()
            .next(),
    )
}

/// Every account, by id.
pub fn list<C: SqlConnection + ?Sized>(conn: &mut C) -> Result<Vec<Stored<Account>>> {
    Ok(rows::select_stored(conn, "ORDER BY id", &[])?)
}

fn require<C: SqlConnection + ?Sized>(conn: &mut C, id: Id<Account>) -> Result<Stored<Account>> {
    get(conn, id)?.ok_or(AccountError::AccountNotFound(id))
}

fn set_status<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    status: AccountStatus,
    now: UtcTime,
) -> Result<()> {
    conn.execute(
        "UPDATE accounts SET status = $2, status_changed_at = $3 WHERE id = $1",
        &[id.to_value(), status.to_value(), now.to_value()],
    )?;
    Ok(())
}

/// Suspends an active account and ends its open sessions (`shutdown_by_server`). Returns
/// false if it was suspended already; a deleted account is [`AccountError::WrongStatus`].
pub fn suspend<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    now: UtcTime,
) -> Result<bool> {
    match require(conn, id)?.record.status {
        AccountStatus::Suspended => Ok(false),
        AccountStatus::Deleted => Err(AccountError::WrongStatus {
            id,
            status: AccountStatus::Deleted,
        }),
        AccountStatus::Active => {
            set_status(conn, id, AccountStatus::Suspended, now)?;
            end_sessions_of(conn, id, now)?;
            Ok(true)
        }
    }
}

/// Activates a suspended account. Returns false if it was active already; a deleted account
/// is [`AccountError::WrongStatus`] (deletion is final).
pub fn activate<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    now: UtcTime,
) -> Result<bool> {
    match require(conn, id)?.record.status {
        AccountStatus::Active => Ok(false),
        AccountStatus::Deleted => Err(AccountError::WrongStatus {
            id,
            status: AccountStatus::Deleted,
        }),
        AccountStatus::Suspended => {
            set_status(conn, id, AccountStatus::Active, now)?;
            Ok(true)
        }
    }
}

/// Deletes an account: status `deleted` at once, its sessions ended, its calendar grants
/// and pending reset tokens removed. Its id and login reservation stay forever; its personal
/// data stays until [`scrub_deleted`] (the grace period is the caller's policy; call both in
/// one unit of work to scrub at once).
pub fn delete<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    now: UtcTime,
) -> Result<()> {
    let status = require(conn, id)?.record.status;
    if status == AccountStatus::Deleted {
        return Err(AccountError::WrongStatus { id, status });
    }
    conn.execute(
        "UPDATE accounts SET status = 'deleted', status_changed_at = $2, deleted_at = $2 \
         WHERE id = $1",
        &[id.to_value(), now.to_value()],
    )?;
    end_sessions_of(conn, id, now)?;
    conn.execute(
        "DELETE FROM account_calendars WHERE account_id = $1",
        &[id.to_value()],
    )?;
    conn.execute(
        "DELETE FROM password_resets WHERE account_id = $1",
        &[id.to_value()],
    )?;
    Ok(())
}

/// Deletes the account with login `login` (Orge's unregistration). A login that no account
/// has (or that is not even a valid login, such as `"Mr. Big"`) is
/// [`AccountError::LoginNotKnown`].
pub fn unregister<C: SqlConnection + ?Sized>(
    conn: &mut C,
    login: &str,
    now: UtcTime,
) -> Result<Id<Account>> {
    let unknown = || AccountError::LoginNotKnown(login.chars().take(64).collect());
    let parsed = Login::new(login).map_err(|_| unknown())?;
    let account = find_by_login(conn, &parsed)?.ok_or_else(unknown)?;
    delete(conn, account.id, now)?;
    Ok(account.id)
}

/// Scrubs the personal data of accounts deleted at or before `deleted_before`: every
/// personal column and the password hash become NULL, `scrubbed_at` is set, and the logins
/// they sent are removed from the connection log. The id, status, times and the login's
/// reservation stay. Returns how many accounts were scrubbed.
pub fn scrub_deleted<C: SqlConnection + ?Sized>(
    conn: &mut C,
    deleted_before: UtcTime,
    now: UtcTime,
) -> Result<u64> {
    conn.execute(
        "UPDATE connections SET sent_login = NULL WHERE sent_login IS NOT NULL \
         AND account_id IN (SELECT id FROM accounts WHERE status = 'deleted' \
         AND scrubbed_at IS NULL AND deleted_at <= $1)",
        &[deleted_before.to_value()],
    )?;
    Ok(conn.execute(
        "UPDATE accounts SET scrubbed_at = CASE WHEN deleted_at > $2 THEN deleted_at ELSE $2 END, \
         login = NULL, email = NULL, email_verified_at = NULL, first_name = NULL, \
         last_name = NULL, date_of_birth = NULL, address_line_1 = NULL, address_line_2 = NULL, \
         city = NULL, state = NULL, postal_code = NULL, country = NULL, home_phone = NULL, \
         mobile_phone = NULL, password_hash = NULL, password_changed_at = NULL \
         WHERE status = 'deleted' AND scrubbed_at IS NULL AND deleted_at <= $1",
        &[deleted_before.to_value(), now.to_value()],
    )?)
}

/// Replaces the account's password hash (a new password: `password_changed_at` is set and
/// pending reset tokens are cancelled). A deleted account is [`AccountError::WrongStatus`].
pub fn set_password_hash<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    hash: &PasswordHash,
    now: UtcTime,
) -> Result<()> {
    let status = require(conn, id)?.record.status;
    if status == AccountStatus::Deleted {
        return Err(AccountError::WrongStatus { id, status });
    }
    conn.execute(
        "UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        &[id.to_value(), hash.to_value(), now.to_value()],
    )?;
    conn.execute(
        "UPDATE password_resets SET used_at = CASE WHEN created_at > $2 THEN created_at ELSE $2 END \
         WHERE account_id = $1 AND used_at IS NULL",
        &[id.to_value(), now.to_value()],
    )?;
    Ok(())
}

/// Records that the account's email address was verified at `now`.
pub fn set_email_verified<C: SqlConnection + ?Sized>(
    conn: &mut C,
    id: Id<Account>,
    now: UtcTime,
) -> Result<()> {
    let status = require(conn, id)?.record.status;
    if status == AccountStatus::Deleted {
        return Err(AccountError::WrongStatus { id, status });
    }
    conn.execute(
        "UPDATE accounts SET email_verified_at = $2 WHERE id = $1",
        &[id.to_value(), now.to_value()],
    )?;
    Ok(())
}
