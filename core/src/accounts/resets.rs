//! Password resets instead of security questions: a random token is sent to the user, only
//! its hash is stored, it works once and expires soon.

use chrono::TimeDelta;

use crate::sql::{SqlConnection, SqlConnectionExt};
use crate::typed::{Field, Id, InvalidValue, PasswordHash, UtcTime, rows};

use super::account::set_password_hash;
use super::keys::ResetToken;
use super::tables::{Account, AccountStatus, PasswordReset};
use super::{AccountError, Result};

/// The default lifetime of a reset token.
pub const DEFAULT_TTL: TimeDelta = TimeDelta::minutes(30);
/// The longest lifetime accepted.
pub const MAX_TTL: TimeDelta = TimeDelta::hours(24);

/// Records a reset token for an active account, valid for `ttl` (at most 24 hours). The
/// token's bytes come from the caller's CSPRNG; only their hash is stored.
pub fn create<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    token: &ResetToken,
    ttl: TimeDelta,
    now: UtcTime,
) -> Result<Id<PasswordReset>> {
    if ttl <= TimeDelta::zero() || ttl > MAX_TTL {
        return Err(InvalidValue::new("reset token lifetime", "must be within (0, 24 h]").into());
    }
    let row = super::account::get(conn, account)?.ok_or(AccountError::AccountNotFound(account))?;
    if row.record.status != AccountStatus::Active {
        return Err(AccountError::WrongStatus {
            id: account,
            status: row.record.status,
        });
    }
    let reset = PasswordReset {
        account_id: account,
        token_hash: token.hash(),
        created_at: now,
        expires_at: now.checked_add(ttl)?,
        used_at: None,
    };
    Ok(rows::insert(conn, &reset)?)
}

/// Uses a reset token: if it is known, unused and not expired, it is marked used (once, by
/// one atomic update), the account's password hash is replaced and its other pending tokens
/// are cancelled. Returns the account. Otherwise [`AccountError::ResetTokenInvalid`].
pub fn reset_password<C: SqlConnection + ?Sized>(
    conn: &mut C,
    token: &ResetToken,
    new_hash: &PasswordHash,
    now: UtcTime,
) -> Result<Id<Account>> {
    let row = conn
        .query_opt(
            "UPDATE password_resets SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id",
            &[token.hash().to_value(), now.to_value()],
        )?
        .ok_or(AccountError::ResetTokenInvalid)?;
    let account: Id<Account> = row.get(0)?;
    let status = super::account::get(conn, account)?
        .ok_or(AccountError::AccountNotFound(account))?
        .record
        .status;
    if status != AccountStatus::Active {
        return Err(AccountError::WrongStatus {
            id: account,
            status,
        });
    }
    set_password_hash(conn, account, new_hash, now)?;
    Ok(account)
}

/// Deletes tokens that expired before `before`; returns how many.
pub fn purge_expired<C: SqlConnection + ?Sized>(conn: &mut C, before: UtcTime) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM password_resets WHERE expires_at < $1",
        &[before.to_value()],
    )?)
}
