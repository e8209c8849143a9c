//! `calstore serve`: arguments only; the server is `calstore-server`.
//!
//! Prints `listening on http(s)://HOST:PORT` on stdout once the socket is bound (scripts wait
//! for that line), one JSON line per request on stderr, and stops gracefully on SIGTERM or
//! Ctrl-C: requests in flight finish, the memory tables are snapshotted.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use calstore_core::Clock;
use calstore_native::DbUrl;
use calstore_server::{Config, Tls};

use super::CliError;
use super::keyfile::{self, Create};

/// `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where to listen
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The certificate chain (PEM) for HTTPS; requires --tls-key
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) for HTTPS; requires --tls-cert
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The pseudonym key file [default: $CALSTORE_PSEUDONYM_KEY, or DB.key beside a SQLite
    /// file]
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Database connections in the pool [default: 4 on SQLite, 8 on PostgreSQL]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub pool: Option<u16>,
    /// Requests a client address may make per minute
    #[arg(long, value_name = "N", default_value_t = 6_000)]
    pub rate: u32,
    /// The largest request body, in MiB
    #[arg(long, value_name = "MIB", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_body_mib: u32,
    /// Serve the web calendar's files from this directory at /
    #[arg(long, value_name = "DIR")]
    pub web_root: Option<PathBuf>,
    /// Send the outbox (scheduling mail to people who are not users of this server) through
    /// this SMTP relay: smtp://HOST:PORT (add ?tls=required for STARTTLS) or smtps://HOST:PORT,
    /// credentials as smtp://USER:PASSWORD@HOST
    #[arg(long, value_name = "URL")]
    pub smtp: Option<String>,
    /// The envelope sender and From of the mail [default: the answering user]
    #[arg(long, value_name = "ADDRESS", requires = "smtp")]
    pub mail_from: Option<String>,
    /// Seconds between looks at the outbox
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub mail_interval: u64,
}

fn resolve(listen: &str) -> Result<SocketAddr, CliError> {
    listen
        .to_socket_addrs()
        .map_err(|e| CliError::Usage(format!("--listen {listen}: {e}")))?
        .next()
        .ok_or_else(|| CliError::Usage(format!("--listen {listen}: no address")))
}

/// Runs the server until SIGTERM.
pub fn run(db: &DbUrl, args: &ServeArgs, clock: Box<dyn Clock>) -> Result<(), CliError> {
    if matches!(db, DbUrl::SqliteMemory) {
        return Err(CliError::Usage(
            "serve needs a database file or a PostgreSQL URL, not :memory:".into(),
        ));
    }
    let mut config = Config::new(db.clone());
    config.listen = resolve(&args.listen)?;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        for p in [cert, key] {
            if !p.is_file() {
                return Err(CliError::Usage(format!("{}: no such file", p.display())));
            }
        }
        config.tls = Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(n) = args.pool {
        config.pool_size = usize::from(n);
    }
    config.requests_per_minute = args.rate;
    config.max_body = usize::try_from(args.max_body_mib)
        .unwrap_or(16)
        .saturating_mul(1024 * 1024);
    if let Some(dir) = &args.web_root {
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "--web-root {}: not a directory",
                dir.display()
            )));
        }
        config.web_root = Some(dir.clone());
    }
    if let Some(url) = &args.smtp {
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(CliError::Usage(format!(
                "--smtp: expected smtp://HOST:PORT or smtps://HOST:PORT, not {url:?}"
            )));
        }
        config.mail = Some((
            calstore_native::mail::Relay {
                url: url.clone(),
                from: args.mail_from.clone(),
                timeout: std::time::Duration::from_secs(30),
            },
            std::time::Duration::from_secs(args.mail_interval),
        ));
    }
    let key = keyfile::load(db, args.key_file.as_deref(), Create::Yes)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no pseudonym key: set {} or give --key-file",
            keyfile::KEY_ENV
        ))
    })?;
    let clock: Arc<dyn Clock> = Arc::from(clock);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("could not start the runtime: {e}")))?;
    // Prepared outside the runtime: the PostgreSQL client blocks (it runs a runtime of its
    // own, which may not start inside another).
    let state = calstore_server::prepare(config, key, clock)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    runtime
        .block_on(calstore_server::serve(state, LineOut))
        .map_err(|e| CliError::Failed(e.to_string()))
}

/// Stdout, flushed after every write (the ready line must reach a waiting script at once).
struct LineOut;

impl Write for LineOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        let n = out.write(buf)?;
        out.flush()?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
