//! Where the pseudonym key lives (32 bytes, outside the database): the installation secret
//! that keys login reservations, throttling subjects and unmatched sent logins
//! (`calstore_core::accounts::keys`). In order:
//!
//! 1. `CALSTORE_PSEUDONYM_KEY`: 64 hex digits (for PostgreSQL deployments: put it where the
//!    service's other secrets are);
//! 2. `--key-file PATH`;
//! 3. for a SQLite file `DB`: `DB.key` beside it.
//!
//! A key file holds the 64 hex digits and a newline. It is created (mode 0600, random bytes
//! from the OS) by the first command that writes accounts, never by a read-only one; a file
//! that others may read is refused, as ssh refuses such a private key. The key must stay the
//! same for the life of the database: keep it with the database's backups. The database
//! records a check value of the key, so that opening it with another key is refused instead
//! of silently matching nothing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use calstore_core::accounts::PseudonymKey;
use calstore_native::DbUrl;

use super::CliError;

/// The environment variable holding the key as 64 hex digits.
pub const KEY_ENV: &str = "CALSTORE_PSEUDONYM_KEY";

/// Whether a missing key file may be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Create it (commands that write accounts).
    Yes,
    /// Do not (read-only commands): no key then.
    No,
}

/// The key file of `url`: `--key-file`, or `DB.key` beside a SQLite file.
fn key_path(url: &DbUrl, key_file: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = key_file {
        return Some(p.to_owned());
    }
    match url {
        DbUrl::SqliteFile(db) => Some(PathBuf::from(format!("{db}.key"))),
        _ => None,
    }
}

/// The pseudonym key for `url`, or `None` when there is none and `create` is `No`.
pub fn load(
    url: &DbUrl,
    key_file: Option<&Path>,
    create: Create,
) -> Result<Option<PseudonymKey>, CliError> {
    match std::env::var(KEY_ENV) {
        Ok(hex) => {
            return PseudonymKey::from_hex(&hex)
                .map(Some)
                .map_err(|_| CliError::Usage(format!("{KEY_ENV}: expected 64 hex digits")));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CliError::Usage(format!("{KEY_ENV} is not valid Unicode")));
        }
        Err(std::env::VarError::NotPresent) => {}
    }
    if matches!(url, DbUrl::SqliteMemory) && key_file.is_none() {
        // The database lives as long as the process: so may its key.
        return random_key().map(Some);
    }
    let Some(path) = key_path(url, key_file) else {
        return match create {
            Create::No => Ok(None),
            Create::Yes => Err(CliError::Usage(format!(
                "a PostgreSQL database needs its pseudonym key: set {KEY_ENV} (64 hex digits, \
                 e.g. from `head -c 32 /dev/urandom | xxd -p -c 64`) or give --key-file PATH"
            ))),
        };
    };
    match read(&path)? {
        Some(key) => Ok(Some(key)),
        None if create == Create::Yes => create_file(&path).map(Some),
        None => Ok(None),
    }
}

fn random_key() -> Result<PseudonymKey, CliError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::Failed(format!("no randomness from the OS: {e}")))?;
    Ok(PseudonymKey::new(bytes))
}

fn read(path: &Path) -> Result<Option<PseudonymKey>, CliError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read the key file {}: {e}",
                path.display()
            )));
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o077 != 0 {
            return Err(CliError::Failed(format!(
                "the key file {} may be read by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    PseudonymKey::from_hex(&text).map(Some).map_err(|_| {
        CliError::Failed(format!(
            "the key file {} does not hold 64 hex digits",
            path.display()
        ))
    })
}

/// Creates the key file (mode 0600, synced, its directory synced); if another process
/// created it first, reads that one.
fn create_file(path: &Path) -> Result<PseudonymKey, CliError> {
    let key = random_key()?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let failed = |e: io::Error| {
        CliError::Failed(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    };
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return read(path)?.ok_or_else(|| {
                CliError::Failed(format!("the key file {} vanished", path.display()))
            });
        }
        Err(e) => return Err(failed(e)),
    };
    file.write_all(format!("{}\n", key.to_hex()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(failed)?;
    Ok(key)
}
