//! Reading calstore's own data into the model (for export), and the one journal write the API
//! lacks.
//!
//! Reads use the store and journal API where it has a read, and plain SQL where it has none
//! (every counter-proposal of a user, offers without expiring them, the journal's objects
//! with their status). Everything is read in one read transaction, so the export is one
//! consistent snapshot.

use calstore_core::ical::parse_utc;
use calstore_core::{Entry, Offer, Period, SqlConnection, Status, StoreError, Value};

use super::{ImipData, Object, QuotaData, UserData};
use crate::{CliError, CliStore};

fn status(text: &str) -> Result<Status, StoreError> {
    match text {
        "active" => Ok(Status::Active),
        "cancelled" => Ok(Status::Cancelled),
        other => Err(StoreError::invalid(format!("unknown status {other:?}"))),
    }
}

/// Marks the journal's copy of an object cancelled (inside the import's transaction, right
/// after `Journal::set_event` stored it).
pub fn cancel_journal_object<C: SqlConnection + ?Sized>(
    c: &mut C,
    quota: &str,
    uid: &str,
    rid: Option<&str>,
) -> Result<(), StoreError> {
    match rid {
        None => c.execute(
            "UPDATE quota_objects SET status = 'cancelled' WHERE quota = $1 AND object_uid = $2",
            &[quota.into(), uid.into()],
        )?,
        Some(rid) => c.execute(
            "UPDATE quota_recurrences SET status = 'cancelled' WHERE quota = $1 \
             AND object_uid = $2 AND object_recurrenceid = $3",
            &[quota.into(), uid.into(), rid.into()],
        )?,
    };
    Ok(())
}

fn read_user(store: &mut CliStore, user: &str) -> Result<UserData, StoreError> {
    let mut data = UserData::default();
    for status in [Status::Active, Status::Cancelled] {
        for (uid, rid) in store.get_all_events(user, status)? {
            if let Some(text) = store.get_event(user, &uid, rid.as_deref(), status)? {
                data.objects.insert((uid, rid), Object { text, status });
            }
        }
    }
    let counters = store.connection().query(
        "SELECT object_uid, NULL, other, object_text FROM countered_objects \
         WHERE store_user = $1 \
         UNION ALL SELECT object_uid, object_recurrenceid, other, object_text \
         FROM countered_recurrences WHERE store_user = $1",
        &[user.into()],
    )?;
    for r in counters {
        data.counters
            .insert((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?);
    }
    data.freebusy = store.get_freebusy(user)?;
    // Offers as stored: reading them through the API would delete the expired ones.
    let offers = store.connection().query(
        "SELECT \"start\", \"end\", object_uid, transp, object_recurrenceid, summary, \
         organiser, expires FROM freebusy_offers WHERE store_user = $1",
        &[user.into()],
    )?;
    for r in offers {
        let time = |i: usize| -> Result<_, StoreError> {
            let text: String = r.get(i)?;
            parse_utc(&text).map_err(|e| StoreError::invalid(format!("stored offer: {e}")))
        };
        let expires: Option<String> = r.get(7)?;
        data.offers.push(Offer {
            period: Period {
                start: time(0)?,
                end: time(1)?,
                uid: r.get(2)?,
                transp: r.get(3)?,
                recurrenceid: r.get(4)?,
                summary: r.get(5)?,
                organiser: r.get(6)?,
            },
            expires: match expires {
                None => None,
                Some(x) => Some(
                    parse_utc(&x)
                        .map_err(|e| StoreError::invalid(format!("stored offer expiry: {e}")))?,
                ),
            },
        });
    }
    for other in store.get_freebusy_others(user)? {
        let periods = store.get_freebusy_for_other(user, &other)?;
        data.others.insert(other, periods);
    }
    data.providers = store.get_freebusy_providers(user)?;
    data.requests = store.get_requests(user)?;
    Ok(data)
}

fn read_quota(store: &mut CliStore, quota: &str) -> Result<QuotaData, StoreError> {
    let mut data = QuotaData::default();
    let rows = store.connection().query(
        "SELECT object_uid, NULL, object_text, status FROM quota_objects WHERE quota = $1 \
         UNION ALL SELECT object_uid, object_recurrenceid, object_text, status \
         FROM quota_recurrences WHERE quota = $1",
        &[Value::from(quota)],
    )?;
    for r in rows {
        let text: String = r.get(3)?;
        data.objects.insert(
            (r.get(0)?, r.get(1)?),
            Object {
                text: r.get(2)?,
                status: status(&text)?,
            },
        );
    }
    let mut journal = store.journal();
    data.delegates = journal.get_delegates(quota)?;
    data.groups = journal.get_groups(quota)?;
    data.limits = journal.get_limits(quota)?;
    for group in journal.quota_users(quota)? {
        let mut entries = journal.get_entries(quota, &group)?;
        // An organiser's combined bookings (`user_freebusy`): 0.3 kept them with the group
        // entries, under the organiser, with the organiser as attendee.
        entries.extend(
            journal
                .get_user_entries(quota, &group)?
                .into_iter()
                .map(|period| Entry {
                    period,
                    attendee: Some(group.clone()),
                }),
        );
        if !entries.is_empty() {
            data.entries.insert(group, entries);
        }
    }
    Ok(data)
}

/// Reads every user (and, with `journal`, every quota) in one snapshot.
pub fn read(store: &mut CliStore, journal: bool) -> Result<ImipData, CliError> {
    let begin = store.connection().dialect().begin_read();
    store.connection().execute_batch(begin)?;
    let result = (|| -> Result<ImipData, CliError> {
        let users = store.users()?;
        let quotas = if journal {
            store.journal().quotas()?
        } else {
            Vec::new()
        };
        let mut data = ImipData::default();
        for user in users {
            let u = read_user(store, &user)
                .map_err(|e| CliError::Failed(format!("user {user}: {}", super::store_err(e))))?;
            data.users.insert(user, u);
        }
        for quota in quotas {
            let q = read_quota(store, &quota)
                .map_err(|e| CliError::Failed(format!("quota {quota}: {}", super::store_err(e))))?;
            data.quotas.insert(quota, q);
        }
        Ok(data)
    })();
    match result {
        Ok(data) => {
            store.connection().execute_batch("COMMIT")?;
            Ok(data)
        }
        Err(e) => {
            let _ = store.connection().execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
