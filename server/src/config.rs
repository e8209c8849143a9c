//! What `calstore serve` is told: the database, where to listen, TLS, and the limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use calstore_native::DbUrl;
use calstore_native::mail::Relay;

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database.
    pub db: DbUrl,
    /// Where to listen (`127.0.0.1:8080` by default).
    pub listen: SocketAddr,
    /// TLS, if given a certificate.
    pub tls: Option<Tls>,
    /// Stores (connections) in the pool.
    pub pool_size: usize,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Requests a peer may make per minute (a token bucket per address).
    pub requests_per_minute: u32,
    /// How long a session token lasts.
    pub session_days: i64,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// The web calendar's files, served at `/` when set.
    pub web_root: Option<PathBuf>,
    /// The SMTP relay the outbox is sent through, if any, and how often it is looked at.
    pub mail: Option<(Relay, Duration)>,
}

impl Config {
    /// The defaults for `db`.
    pub fn new(db: DbUrl) -> Self {
        let pool_size = match db {
            DbUrl::Postgres(_) => 8,
            _ => 4,
        };
        Config {
            db,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            pool_size,
            max_body: 16 * 1024 * 1024,
            requests_per_minute: 6_000,
            session_days: 30,
            shutdown_grace: Duration::from_secs(30),
            web_root: None,
            mail: None,
        }
    }
}
