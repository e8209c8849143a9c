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

use crate::typed::{Digest, IpAddress, Login};

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
        let t = ResetToken::new([7; 32]);
        assert_ne!(t.hash().as_bytes(), t.as_bytes());
        assert_eq!(t.hash(), ResetToken::new([7; 32]).hash());
    }
}
