//! # calstore-server
//!
//! The network side of calstore: what `calstore serve` runs. It is thin: every rule (who may
//! see which calendar, how a mutation is applied, how a conflict is decided) is in
//! `calstore-core`; this crate owns only what needs I/O — sockets, TLS, the HTTP routes,
//! timers — and maps requests onto the core's operations, on tokio's blocking threads.
//!
//! | concern | here | in the core |
//! |---|---|---|
//! | an HTTP endpoint | [`routes`] | the operation it calls |
//! | sync (push, pull) | [`routes`] | `calstore_core::sync::server` |
//! | accounts, sessions | [`auth`] | `calstore_core::accounts` |
//! | CalDAV | [`caldav`] | `calstore_core::caldav` |
//!
//! Several servers may share one PostgreSQL database: everything another process needs is in
//! the database (sessions, the clients' marks, the results of their mutations); only the
//! rate limiter's buckets are per process.
#![forbid(unsafe_code)]

pub mod auth;
pub mod caldav;
pub mod config;
pub mod pool;
pub mod rate;
pub mod routes;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use calstore_core::accounts::{self, PasswordPolicy, PseudonymKey, open::Purpose};
use calstore_core::caldav::CALDAV;
use calstore_core::outbox::OUTBOX;
use calstore_core::schema::storage::{Role as StorageRole, StorageConnection};
use calstore_core::sync::schema::SYNC_SERVER;
use calstore_core::sync::server as sync_server;
use calstore_core::typed::UtcTime;
use calstore_core::{Clock, Store, StoreError, schema};
use calstore_native::{AnyConnection, DbUrl, connect, memory_backend};

pub use config::{Config, Tls};
use pool::{Pool, PooledConnection};
use rate::RateLimiter;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or prepared.
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound, or TLS could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Shared by every request.
pub struct AppState {
    /// Stores for calendar work.
    pub pool: Arc<Pool>,
    /// The connection that owns the accounts' memory tables (live sessions, throttling):
    /// logins go through it, one at a time.
    pub accounts: Arc<Mutex<Option<StorageConnection<AnyConnection>>>>,
    /// The installation's pseudonym key.
    pub key: PseudonymKey,
    /// The password policy.
    pub policy: PasswordPolicy,
    /// The database's sync epoch.
    pub epoch: String,
    /// The configuration.
    pub config: Config,
    /// Requests per peer.
    pub rate: RateLimiter,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Verified CalDAV (Basic) credentials.
    pub basic: caldav::basic::BasicCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn now_utc(clock: &dyn Clock) -> Result<UtcTime, StoreError> {
    UtcTime::from_datetime(clock.now()).map_err(|e| StoreError::invalid(e.to_string()))
}

/// Opens the database for serving: the calendar and sync components, the accounts component
/// (this process owns its memory tables if no other does: with several servers on one
/// PostgreSQL database the first owns them, the others share the tables), the pool, and the
/// epoch.
pub fn prepare(
    config: Config,
    key: PseudonymKey,
    clock: Arc<dyn Clock>,
) -> Result<AppState, ServeError> {
    let db = config.db.clone();
    let open_conn =
        move || -> Result<AnyConnection, StoreError> { connect(&db).map_err(StoreError::from) };
    let mut first = Store::open(open_conn()?, Box::new(Arc::clone(&clock)))?;
    // The outbox: implicit scheduling queues mail there for participants who are not
    // local users; the mail loop sends it when a relay is configured.
    schema::migrate_components(first.connection(), &[&SYNC_SERVER, &OUTBOX, &CALDAV])?;
    let epoch = sync_server::init(&mut first, &new_epoch()?)?;
    let now = now_utc(&*clock)?;
    let accounts_conn = match accounts::open(
        open_conn()?,
        memory_backend(&config.db),
        &key,
        Purpose::Logins,
        now,
    ) {
        Ok((c, _)) => c,
        Err(StoreError::Unavailable(_)) => {
            let (c, _) = accounts::open(
                open_conn()?,
                memory_backend(&config.db),
                &key,
                Purpose::Admin,
                now,
            )?;
            c
        }
        Err(e) => return Err(e.into()),
    };
    let pool_clock = Arc::clone(&clock);
    let db = config.db.clone();
    let pool = Pool::new(
        config.pool_size,
        Box::new(move || {
            let conn: PooledConnection = Box::new(connect(&db).map_err(StoreError::from)?);
            Store::open(conn, Box::new(Arc::clone(&pool_clock)))
        }),
    );
    Ok(AppState {
        pool,
        accounts: Arc::new(Mutex::new(Some(accounts_conn))),
        key,
        policy: PasswordPolicy::new(),
        epoch,
        rate: RateLimiter::new(config.requests_per_minute),
        config,
        clock,
        basic: caldav::basic::BasicCache::new()?,
    })
}

fn new_epoch() -> Result<String, StoreError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| StoreError::invalid(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Serves until SIGTERM or SIGINT, then shuts down gracefully (requests in flight finish,
/// the memory tables are snapshotted). `ready` receives the line to print once listening.
pub async fn serve(state: AppState, mut ready: impl Write) -> Result<(), ServeError> {
    let listen = state.config.listen;
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    listener.set_nonblocking(true)?;
    let addr: SocketAddr = listener.local_addr()?;
    let tls = state.config.tls.clone();
    let grace = state.config.shutdown_grace;
    let state = Arc::new(state);
    let app =
        routes::router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let signals = {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            handle.graceful_shutdown(Some(grace));
        })
    };
    let snapshots = tokio::spawn(snapshot_timer(Arc::clone(&state)));
    let mail = tokio::spawn(mail_loop(Arc::clone(&state)));
    let scheme = if tls.is_some() { "https" } else { "http" };
    writeln!(ready, "listening on {scheme}://{addr}")?;
    ready.flush()?;
    match tls {
        Some(t) => {
            // ring, not aws-lc-rs: it builds with the cc that SQLite needs already (no cmake).
            // rustls 0.23.48 deprecates it for lacking post-quantum key exchange; X25519 and
            // the NIST curves are offered.
            #[expect(deprecated)]
            let provider = rustls::crypto::ring::default_provider();
            let _ = provider.install_default();
            let config =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key).await?;
            let mut server = axum_server::from_tcp_rustls(listener, config)?;
            // Header names as most servers write them (`Content-Type`): some clients and
            // proxies match them case-sensitively.
            server.http_builder().http1().title_case_headers(true);
            server.handle(handle).serve(app).await?;
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?;
            server.http_builder().http1().title_case_headers(true);
            server.handle(handle).serve(app).await?;
        }
    }
    signals.abort();
    snapshots.abort();
    mail.abort();
    // A clean shutdown: the memory tables are snapshotted and the sessions closed, and every
    // connection is closed on a blocking thread (a PostgreSQL connection closes synchronously).
    let now = now_utc(&*state.clock)?;
    let st = Arc::clone(&state);
    tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        st.pool.close();
        let conn = st
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match conn {
            Some(c) => c.close(now).map(drop),
            None => Ok(()),
        }
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Snapshots the memory tables as their schedule says.
async fn snapshot_timer(state: Arc<AppState>) {
    loop {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || {
            let Ok(now) = now_utc(&*state.clock) else {
                return;
            };
            let mut guard = state
                .accounts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = guard.as_mut()
                && c.is_owner()
                && let Err(e) = c.snapshot(None, now)
            {
                eprintln!(
                    "{{\"event\":\"snapshot_failed\",\"error\":{:?}}}",
                    e.to_string()
                );
            }
        })
        .await;
    }
}

/// Sends the outbox through the configured relay on its interval (nothing without a relay).
/// Each round claims the messages it sends, so several servers on one database do not send
/// a message twice; a failure is logged and retried at the message's next attempt.
async fn mail_loop(state: Arc<AppState>) {
    let Some((relay, every)) = state.config.mail.clone() else {
        return;
    };
    loop {
        tokio::time::sleep(every).await;
        let relay = relay.clone();
        let clock = Arc::clone(&state.clock);
        let result = state
            .pool
            .run(move |store| {
                calstore_native::mail::send_due(store, &relay, clock.now(), 100).map_err(
                    |e| match e {
                        calstore_native::mail::MailError::Store(s) => s,
                        other => StoreError::invalid(other.to_string()),
                    },
                )
            })
            .await;
        let line = match result {
            Ok(r) if r.sent + r.retrying + r.dead == 0 => continue,
            Ok(r) => serde_json::json!({
                "event": "mail", "sent": r.sent, "retrying": r.retrying, "dead": r.dead,
            }),
            Err(e) => serde_json::json!({"event": "mail_failed", "error": e.to_string()}),
        };
        eprintln!("{line}");
    }
}

/// The database URL, for messages.
pub fn describe(db: &DbUrl) -> String {
    db.to_string()
}

/// The storage role this process has for the accounts' memory tables.
pub fn storage_role(state: &AppState) -> StorageRole {
    match state
        .accounts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(StorageConnection::is_owner)
    {
        Some(true) => StorageRole::Owner,
        _ => StorageRole::Guest,
    }
}
