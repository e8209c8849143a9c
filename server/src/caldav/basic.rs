//! HTTP Basic authentication over the accounts, with a cache of verified credentials.
//!
//! A password check costs one Argon2 verification (~17 ms here), far too much per request
//! for a CalDAV client that sends its credentials with every one. So a verified
//! (login, password) pair is remembered, in this process only, as a keyed BLAKE2 digest (the
//! key is random per process: the cache never holds anything a password could be recovered
//! or tested from outside the process) mapped to the account and the password hash it was
//! verified against, for [`TTL`]. A cached pair is only trusted after a fresh read of the
//! account on every request: it must still be active, and its stored password hash must be
//! the one the pair was verified against, so a suspension, a deletion or a password change
//! (by this or any other server process, or the command line) takes effect at the next
//! request. Nothing another process needs is kept here: a miss just verifies again.
//!
//! The user name is the account's login, or its email address.
//!
//! A verification that is not cached goes through the accounts' login path: it is
//! throttled and recorded in the connection log like any login; CalDAV holds no live
//! session (each request stands alone), so the session a granted login opens is closed at
//! once, and an account whose session slots are all taken by sync clients may still use
//! CalDAV.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use blake2::{Blake2b512, Digest as _};
use calstore_core::accounts::connections::{self, ClientInfo, Peer};
use calstore_core::accounts::throttle::ThrottlePolicy;
use calstore_core::accounts::{self, AccountStatus, ConnectionOutcome, GrantRole};
use calstore_core::sync::wire::Role;
use calstore_core::typed::{Id, IpAddress, Port, UtcTime};
use calstore_core::{StoreError, in_transaction};

use crate::AppState;
use crate::pool::PooledStore;

/// How long a verified pair is trusted without a new Argon2 verification.
pub const TTL: Duration = Duration::from_secs(300);
/// Pairs kept at most (the cache is emptied when it is full).
const MAX_ENTRIES: usize = 10_000;

/// Who a request is from.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The account.
    pub account_id: i64,
    /// Its login.
    pub login: String,
    /// Its own calendar (`mailto:` + its email).
    pub own: String,
    /// Every calendar it may use, with its role.
    pub calendars: Vec<(String, Role)>,
}

impl Principal {
    /// The role on `calendar`, if any.
    pub fn role(&self, calendar: &str) -> Option<Role> {
        self.calendars
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(calendar))
            .map(|(_, r)| *r)
    }
}

#[derive(Clone, Debug)]
struct Entry {
    account_id: i64,
    password_hash: String,
    at: Instant,
}

/// The verified-credential cache.
pub struct BasicCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for BasicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCache").finish_non_exhaustive()
    }
}

impl BasicCache {
    /// An empty cache with a fresh random key.
    pub fn new() -> Result<Self, StoreError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| StoreError::invalid(format!("no randomness: {e}")))?;
        Ok(BasicCache {
            key,
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn digest(&self, login: &str, password: &str) -> [u8; 32] {
        let mut h = Blake2b512::new();
        h.update(self.key);
        h.update((login.len() as u64).to_le_bytes());
        h.update(login.as_bytes());
        h.update(password.as_bytes());
        let full = h.finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&full[..32]);
        out
    }

    fn get(&self, d: &[u8; 32]) -> Option<Entry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(d).filter(|e| e.at.elapsed() < TTL).cloned()
    }

    fn put(&self, d: [u8; 32], e: Entry) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(d, e);
    }

    fn forget(&self, d: &[u8; 32]) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(d);
    }
}

/// The (login, password) of an `Authorization: Basic` header.
pub fn credentials(header: Option<&str>) -> Option<(String, String)> {
    let b64 = header?.trim().strip_prefix("Basic ")?.trim();
    if b64.len() > 8192 {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (login, password) = text.split_once(':')?;
    if login.is_empty() || login.len() > 256 || password.len() > 4096 {
        return None;
    }
    Some((login.to_owned(), password.to_owned()))
}

/// The account's principal if it is active and its password hash is still `hash`.
fn principal_if(
    store: &mut PooledStore,
    account_id: i64,
    hash: Option<&str>,
) -> Result<Option<(Principal, String)>, StoreError> {
    let Ok(id) = Id::new(account_id) else {
        return Ok(None);
    };
    let conn = store.connection();
    let Some(account) = accounts::account::get(conn, id).map_err(StoreError::from)? else {
        return Ok(None);
    };
    let r = &account.record;
    let current = r.password_hash.as_ref().map(|h| h.as_str().to_owned());
    if r.status != AccountStatus::Active
        || current.is_none()
        || hash.is_some_and(|h| Some(h) != current.as_deref())
    {
        return Ok(None);
    }
    let (Some(login), Some(email)) = (&r.login, &r.email) else {
        return Ok(None);
    };
    let mut calendars: Vec<(String, Role)> = Vec::new();
    for c in accounts::grants::calendars(conn, id).map_err(StoreError::from)? {
        let role = match c.role {
            GrantRole::Owner => Role::Owner,
            GrantRole::Write => Role::Write,
            GrantRole::Read => Role::Read,
        };
        let uri = c.calendar.as_str().to_owned();
        match calendars.iter_mut().find(|(u, _)| *u == uri) {
            Some((_, r)) => *r = (*r).min(role),
            None => calendars.push((uri, role)),
        }
    }
    let own = format!("mailto:{}", email.as_str());
    // The own calendar first.
    calendars.sort_by_key(|(u, _)| !u.eq_ignore_ascii_case(&own));
    Ok(Some((
        Principal {
            account_id,
            login: login.as_str().to_owned(),
            own,
            calendars,
        },
        current.unwrap_or_default(),
    )))
}

/// Authenticates a request's Basic credentials; `None` if they are missing or wrong.
pub async fn authenticate(
    state: &std::sync::Arc<AppState>,
    header: Option<&str>,
    peer: SocketAddr,
) -> Result<Option<Principal>, StoreError> {
    let Some((login, password)) = credentials(header) else {
        return Ok(None);
    };
    let cache = &state.basic;
    let d = cache.digest(&login, &password);
    if let Some(e) = cache.get(&d) {
        let hash = e.password_hash.clone();
        let found = state
            .pool
            .run(move |store| principal_if(store, e.account_id, Some(&hash)))
            .await
            .map_err(pool_err)?;
        if let Some((p, _)) = found {
            return Ok(Some(p));
        }
        cache.forget(&d);
    }
    // Verify through the accounts connection, as a login.
    let st = std::sync::Arc::clone(state);
    let verified = tokio::task::spawn_blocking(move || -> Result<Option<i64>, StoreError> {
        let mut guard = st.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(conn) = guard.as_mut() else {
            return Err(StoreError::invalid("the server is stopping"));
        };
        let now = st.clock.now();
        let at = UtcTime::from_datetime(now).map_err(|e| StoreError::invalid(e.to_string()))?;
        let peer = Peer {
            ip: IpAddress::from(peer.ip()),
            port: Port::new(peer.port().max(1)).map_err(|e| StoreError::invalid(e.to_string()))?,
        };
        // Clients often send the address as the user name: an active account's email
        // stands for its login.
        let login = if login.contains('@') {
            calstore_core::sql::SqlConnectionExt::query_opt(
                conn,
                "SELECT login FROM accounts WHERE status = 'active' AND lower(email) = lower($1)",
                &[login.as_str().into()],
            )?
            .map(|r| r.get::<Option<String>>(0))
            .transpose()?
            .flatten()
            .unwrap_or(login)
        } else {
            login
        };
        let candidate = connections::prepare_login(conn, &st.key, &login, peer.ip, at)
            .map_err(StoreError::from)?;
        let verified = candidate.verify(&password, &st.policy);
        let record = in_transaction(conn, |c| {
            let record = connections::record_login(
                c,
                &verified,
                &peer,
                &ClientInfo::default(),
                &ThrottlePolicy::default(),
                None,
                at,
            )?;
            if record.outcome == ConnectionOutcome::AccessGranted {
                connections::close_session(
                    c,
                    record.connection,
                    ConnectionOutcome::NormalClientSideTermination,
                    at,
                )?;
            }
            Ok(record)
        })?;
        Ok(match record.outcome {
            ConnectionOutcome::AccessGranted | ConnectionOutcome::AlreadyConnected => {
                record.account.map(|a| a.get())
            }
            _ => None,
        })
    })
    .await
    .map_err(|_| StoreError::invalid("the server is stopping"))??;
    let Some(account_id) = verified else {
        return Ok(None);
    };
    let found = state
        .pool
        .run(move |store| principal_if(store, account_id, None))
        .await
        .map_err(pool_err)?;
    Ok(found.map(|(p, hash)| {
        cache.put(
            d,
            Entry {
                account_id,
                password_hash: hash,
                at: Instant::now(),
            },
        );
        p
    }))
}

fn pool_err(e: crate::pool::PoolError) -> StoreError {
    match e {
        crate::pool::PoolError::Store(s) => s,
        crate::pool::PoolError::Closed => StoreError::invalid("the server is stopping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_basic_headers() {
        assert_eq!(
            credentials(Some("Basic YWxmOkkgbG92ZSBjYXRz")),
            Some(("alf".into(), "I love cats".into()))
        );
        assert_eq!(credentials(Some("Bearer x")), None);
        assert_eq!(credentials(Some("Basic !!!")), None);
        assert_eq!(credentials(None), None);
    }

    #[test]
    fn digests_are_keyed_and_distinct() {
        let a = BasicCache::new().unwrap();
        let b = BasicCache::new().unwrap();
        assert_ne!(a.digest("alf", "x"), b.digest("alf", "x"));
        assert_ne!(a.digest("alf", "x"), a.digest("al", "fx"));
    }
}
