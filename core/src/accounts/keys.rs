//! Keyed pseudonyms and token hashes (BLAKE2b-256).
//!
//! - [`PseudonymKey`]: an installation secret (32 random bytes) kept **outside** the database.
//!   A login's reservation (`accounts.login_key`), the throttling subjects and the sent login
//!   of an attempt that matched no account are keyed digests, so that a copy of the database
//!   alone does not reveal them by guessing (logins are low-entropy). The key must stay the
//!   same for the life of the database: with another key, scrubbed logins become reusable
//!   and throttling state is forgotten.
//! - [`ResetToken`]: a password-reset token (32 random bytes); only its unkeyed hash is
//!   stored (a 256-bit random value cannot be guessed, so no key is needed).
//!
//! The core does no I/O: both are built from bytes the caller took from a CSPRNG.

use std::fmt;

use blake2::digest::consts::U32;
use blake2::digest::{Digest as _, KeyInit, Mac};
use blake2::{Blake2b256, Blake2bMac};
use unicode_normalization::UnicodeNormalization;

use crate::sql::{SqlConnection, SqlConnectionExt};
use crate::typed::{Digest, InvalidValue, IpAddress, Login};

use super::{AccountError, Result};

/// The installation secret for keyed digests (see the module documentation).
#[derive(Clone)]
pub struct PseudonymKey([u8; 32]);

impl PseudonymKey {
    /// A key from 32 random bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        PseudonymKey(bytes)
    }

    fn mac(&self, label: &[u8], data: &[u8]) -> Digest {
        let mut key = blake2::digest::Key::<Blake2bMac<U32>>::default();
        key[..32].copy_from_slice(&self.0);
        let mut mac = <Blake2bMac<U32> as KeyInit>::new(&key);
        // Labels end in NUL and differ, so inputs of different uses never collide.
        Mac::update(&mut mac, label);
        Mac::update(&mut mac, data);
        Digest::new(mac.finalize().into_bytes().into())
    }

    /// The reservation of `login` (kept forever, also after the account is scrubbed) and
    /// its throttling subject.
    pub fn login(&self, login: &Login) -> Digest {
        self.sent_login(login.as_str())
    }

    /// The digest of a login as sent by a client, which may not be a valid login (it is
    /// NFC-normalised and lower-cased first, so it equals [`PseudonymKey::login`] for a
    /// valid one).
    pub fn sent_login(&self, sent: &str) -> Digest {
        let folded: String = sent.nfc().collect::<String>().to_lowercase();
        self.mac(b"calstore-login\0", folded.as_bytes())
    }

    /// The throttling subject of a peer: its IPv4 address or its IPv6 /64.
    pub fn address(&self, ip: IpAddress) -> Digest {
        self.mac(b"calstore-address\0", &ip.throttle_prefix())
    }

    /// A value that identifies the key without revealing it (a keyed digest of a fixed
    /// label), recorded in the database so that opening it with another key is refused
    /// ([`check_key`]).
    pub fn check_value(&self) -> Digest {
        self.mac(b"calstore-key-check\0", b"")
    }

    /// The key as 64 lower-case hex digits (for a key file or an environment variable).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A key from 64 hex digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<Self, InvalidValue> {
        let t = text.trim();
        let bad = || InvalidValue::new("pseudonym key", "expected 64 hex digits (32 bytes)");
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(PseudonymKey(out))
    }
}

/// The `calstore_schema` row holding [`PseudonymKey::check_value`].
const KEY_CHECK_ROW: &str = "accounts:key-check";

/// What [`check_key`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// The database was written with this key.
    Matches,
    /// No key is recorded yet (a new accounts component).
    NotRecorded,
    /// Another key was recorded: digests made with this one would match nothing.
    Differs,
}

/// Compares `key` with the one recorded in the database (reads only).
pub fn check_key<C: SqlConnection + ?Sized>(conn: &mut C, key: &PseudonymKey) -> Result<KeyCheck> {
    let row = conn.query_opt(
        "SELECT value FROM calstore_schema WHERE name = $1",
        &[KEY_CHECK_ROW.into()],
    )?;
    Ok(match row {
        None => KeyCheck::NotRecorded,
        Some(r) if r.get::<String>(0)? == key.check_value().to_hex() => KeyCheck::Matches,
        Some(_) => KeyCheck::Differs,
    })
}

/// Records `key`'s check value if none is recorded, and refuses another key
/// ([`AccountError::WrongKey`]). Runs in the caller's write transaction.
pub fn record_key<C: SqlConnection + ?Sized>(conn: &mut C, key: &PseudonymKey) -> Result<()> {
    match check_key(conn, key)? {
        KeyCheck::Matches => Ok(()),
        KeyCheck::Differs => Err(AccountError::WrongKey),
        KeyCheck::NotRecorded => {
            conn.execute(
                "INSERT INTO calstore_schema (name, value) VALUES ($1, $2)",
                &[KEY_CHECK_ROW.into(), key.check_value().to_hex().into()],
            )?;
            Ok(())
        }
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<secret>)")
    }
}

/// A password-reset token: 32 random bytes from the caller, sent to the user, never stored.
#[derive(Clone)]
pub struct ResetToken([u8; 32]);

impl ResetToken {
    /// A token from 32 random bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        ResetToken(bytes)
    }

    /// The bytes (to encode into the link sent to the user).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// What is stored: BLAKE2b-256 of the token.
    pub fn hash(&self) -> Digest {
        let out = Blake2b256::new()
            .chain_update(b"calstore-reset\0")
            .chain_update(self.0)
            .finalize();
        Digest::new(out.into())
    }
}

impl fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetToken(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_separated() {
        let k1 = PseudonymKey::new([1; 32]);
        let k2 = PseudonymKey::new([2; 32]);
        let alf = Login::new("alf").unwrap();
        assert_eq!(k1.login(&alf), k1.sent_login("ALF"));
        assert_ne!(k1.login(&alf), k2.login(&alf));
        assert_ne!(k1.sent_login("alf"), k1.sent_login("alf "));
        let ip: IpAddress = "192.0.2.1".parse().unwrap();
        assert_ne!(k1.address(ip), k1.sent_login("192.0.2.1"));
        // An IPv6 host is throttled by its /64.
        let a: IpAddress = "2001:db8:0:1::1".parse().unwrap();
        let b: IpAddress = "2001:db8:0:1::2".parse().unwrap();
        assert_eq!(k1.address(a), k1.address(b));
        assert!(!format!("{k1:?}").contains('1'));
        assert_eq!(PseudonymKey::from_hex(&k1.to_hex()).unwrap().0, k1.0);
        assert!(PseudonymKey::from_hex("00").is_err());
        assert_ne!(k1.check_value(), k2.check_value());
        let t = ResetToken::new([7; 32]);
        assert_ne!(t.hash().as_bytes(), t.as_bytes());
        assert_eq!(t.hash(), ResetToken::new([7; 32]).hash());
    }
}
