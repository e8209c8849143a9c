//! The calendars an account may use: its own address (`mailto:` + its email, as owner) and
//! the calendars granted to it, each with a role.

use crate::sql::SqlConnection;
use crate::typed::{CalendarUri, Field, Id, UtcTime, rows};

use super::tables::{Account, AccountStatus, CalendarGrant, GrantRole};
use super::{AccountError, Result};

/// A calendar an account may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarAccess {
    /// The calendar user URI.
    pub calendar: CalendarUri,
    /// What the account may do with it.
    pub role: GrantRole,
    /// True for the account's own address.
    pub own: bool,
}

fn require_usable<C: SqlConnection + ?Sized>(conn: &mut C, account: Id<Account>) -> Result<()> {
    let row = super::account::get(conn, account)?.ok_or(AccountError::AccountNotFound(account))?;
    if row.record.status == AccountStatus::Deleted {
        return Err(AccountError::WrongStatus {
            id: account,
            status: AccountStatus::Deleted,
        });
    }
    Ok(())
}

/// Grants `account` the use of `calendar` with `role`, or changes the role of an existing
/// grant. A deleted account is [`AccountError::WrongStatus`].
pub fn grant<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    calendar: &CalendarUri,
    role: GrantRole,
    now: UtcTime,
) -> Result<()> {
    require_usable(conn, account)?;
    conn.execute(
        "INSERT INTO account_calendars (account_id, calendar, role, granted_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, calendar) \
         DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at",
        &[
            account.to_value(),
            calendar.to_value(),
            role.to_value(),
            now.to_value(),
        ],
    )?;
    Ok(())
}

/// Revokes a grant; false if there was none.
pub fn revoke<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
    calendar: &CalendarUri,
) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM account_calendars WHERE account_id = $1 AND calendar = $2",
        &[account.to_value(), calendar.to_value()],
    )? > 0)
}

/// The calendars `account` may use: its own address first (owner), then its grants by URI.
/// A grant of the account's own address is shown once, as its own. A scrubbed account has
/// none.
pub fn calendars<C: SqlConnection + ?Sized>(
    conn: &mut C,
    account: Id<Account>,
) -> Result<Vec<CalendarAccess>> {
    let row = super::account::get(conn, account)?.ok_or(AccountError::AccountNotFound(account))?;
    let own = match &row.record.email {
        Some(email) => Some(CalendarUri::new(&email.mailto())?),
        None => None,
    };
    let grants: Vec<CalendarGrant> = rows::select_records(
        conn,
        "WHERE account_id = $1 ORDER BY calendar",
        &[account.to_value()],
    )?;
    let mut out: Vec<CalendarAccess> = own
        .iter()
        .map(|c| CalendarAccess {
            calendar: c.clone(),
            role: GrantRole::Owner,
            own: true,
        })
        .collect();
    out.extend(
        grants
            .into_iter()
            .filter(|g| own.as_ref() != Some(&g.calendar))
            .map(|g| CalendarAccess {
                calendar: g.calendar,
                role: g.role,
                own: false,
            }),
    );
    Ok(out)
}

/// The accounts granted `calendar` (not counting its owner by address), by account id.
pub fn grantees<C: SqlConnection + ?Sized>(
    conn: &mut C,
    calendar: &CalendarUri,
) -> Result<Vec<(Id<Account>, GrantRole)>> {
    let grants: Vec<CalendarGrant> = rows::select_records(
        conn,
        "WHERE calendar = $1 ORDER BY account_id",
        &[calendar.to_value()],
    )?;
    Ok(grants.into_iter().map(|g| (g.account_id, g.role)).collect())
}
