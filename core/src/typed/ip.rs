//! [`IpAddress`] (IPv4 or IPv6) and [`Ipv4Address`].
//!
//! **Representation: fixed-width lower-case hex text**, 8 digits for IPv4 and 32 for IPv6
//! (`127.0.0.1` is `7f000001`, `::1` is `000…001`). Chosen over the alternatives because:
//! - the CHECK is exact and the same on both engines (length and `[0-9a-f]`), so the Rust
//!   type and the constraint accept exactly the same values;
//! - text order is address order within a family, so prefix ranges use the index;
//! - truncation for retention (`/24`, `/48`) is shared DML (`substr(x, 1, 6) || '00'`);
//! - PostgreSQL `inet` would need a cast in the shared DML (the adapters bind text, not
//!   `inet`), and a malformed `inet` literal fails as a data exception, not a CHECK violation;
//!   a canonical dotted/colon text form cannot be checked without regular expressions on
//!   SQLite; a BLOB cannot be truncated by the same statement on both engines.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are stored as IPv4, so one host has one
//! form; the `IpAddr` CHECK refuses the mapped form. Display is the usual notation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::{InvalidValue, quote};

/// An IPv4 or IPv6 address (see the module documentation for its stored form).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpAddress(IpAddr);

impl IpAddress {
    /// The address, IPv4-mapped IPv6 turned into IPv4.
    pub fn new(ip: IpAddr) -> Self {
        IpAddress(ip.to_canonical())
    }

    /// The address.
    pub fn get(self) -> IpAddr {
        self.0
    }

    /// The stored form: 8 or 32 lower-case hex digits.
    pub fn to_hex(self) -> String {
        match self.0 {
            IpAddr::V4(v4) => hex(&v4.octets()),
            IpAddr::V6(v6) => hex(&v6.octets()),
        }
    }

    /// Parses the stored form.
    pub fn from_hex(s: &str) -> Result<Self, InvalidValue> {
        let bytes = unhex(s).ok_or_else(|| {
            InvalidValue::new(
                "IP address",
                format!("{} is not 8 or 32 lower-case hex digits", quote(s)),
            )
        })?;
        let ip = if let Ok(b) = <[u8; 4]>::try_from(bytes.as_slice()) {
            IpAddr::V4(Ipv4Addr::from(b))
        } else if let Ok(b) = <[u8; 16]>::try_from(bytes.as_slice()) {
            let v6 = Ipv6Addr::from(b);
            if v6.to_ipv4_mapped().is_some() {
                return Err(InvalidValue::new(
                    "IP address",
                    "an IPv4-mapped IPv6 address is stored as IPv4",
                ));
            }
            IpAddr::V6(v6)
        } else {
            return Err(InvalidValue::new(
                "IP address",
                format!("{} is not 8 or 32 hex digits", quote(s)),
            ));
        };
        Ok(IpAddress(ip))
    }

    /// The address with its host part cleared, as retention stores it: IPv4 to its /24,
    /// IPv6 to its /48 (the same as the SQL of `accounts::connections::apply_retention`).
    pub fn truncated(self) -> Self {
        match self.0 {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                IpAddress(IpAddr::V4(Ipv4Addr::new(a, b, c, 0)))
            }
            IpAddr::V6(v6) => {
                let mut o = v6.octets();
                for byte in o.iter_mut().skip(6) {
                    *byte = 0;
                }
                IpAddress(IpAddr::V6(Ipv6Addr::from(o)))
            }
        }
    }

    /// The bytes that identify a client for throttling: the whole IPv4 address, or the /64
    /// of an IPv6 address (one host usually owns a whole /64).
    pub fn throttle_prefix(self) -> Vec<u8> {
        match self.0 {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets()[..8].to_vec(),
        }
    }
}

impl From<IpAddr> for IpAddress {
    fn from(ip: IpAddr) -> Self {
        IpAddress::new(ip)
    }
}

impl From<Ipv4Address> for IpAddress {
    fn from(ip: Ipv4Address) -> Self {
        IpAddress(IpAddr::V4(ip.0))
    }
}

impl FromStr for IpAddress {
    type Err = InvalidValue;
    /// Parses the usual notation (`192.0.2.1`, `2001:db8::1`).
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        s.parse::<IpAddr>().map(IpAddress::new).map_err(|_| {
            InvalidValue::new("IP address", format!("{} is not an IP address", quote(s)))
        })
    }
}

impl fmt::Display for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpAddress({})", self.0)
    }
}

impl Field for IpAddress {
    const TYPE: FieldType = FieldType::IpAddr;
    fn to_value(&self) -> Value {
        Value::Text(self.to_hex())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        IpAddress::from_hex(&text(value, "IP address")?)
    }
}

/// An IPv4 address (Orge's `IPV4Address`), stored as 8 hex digits like [`IpAddress`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Address(Ipv4Addr);

impl Ipv4Address {
    /// The address.
    pub fn new(ip: Ipv4Addr) -> Self {
        Ipv4Address(ip)
    }

    /// The address.
    pub fn get(self) -> Ipv4Addr {
        self.0
    }
}

impl FromStr for Ipv4Address {
    type Err = InvalidValue;
    /// Parses a dotted quad; IPv6 (`::1`) is refused.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        s.parse::<Ipv4Addr>().map(Ipv4Address).map_err(|_| {
            InvalidValue::new(
                "IPv4 address",
                format!("{} is not an IPv4 address", quote(s)),
            )
        })
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ipv4Address({})", self.0)
    }
}

impl Field for Ipv4Address {
    const TYPE: FieldType = FieldType::Ipv4;
    fn to_value(&self) -> Value {
        Value::Text(hex(&self.0.octets()))
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        let s = text(value, "IPv4 address")?;
        match IpAddress::from_hex(&s)?.0 {
            IpAddr::V4(v4) => Ok(Ipv4Address(v4)),
            IpAddr::V6(_) => Err(InvalidValue::new(
                "IPv4 address",
                "an IPv6 address in an IPv4 column",
            )),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_form() {
        let v4: IpAddress = "192.0.2.1".parse().unwrap();
        assert_eq!(v4.to_hex(), "c0000201");
        assert_eq!(IpAddress::from_hex("c0000201").unwrap(), v4);
        let v6: IpAddress = "2001:db8::1".parse().unwrap();
        assert_eq!(v6.to_hex(), "20010db8000000000000000000000001");
        assert_eq!(IpAddress::from_hex(&v6.to_hex()).unwrap(), v6);
        let mapped: IpAddress = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(mapped, v4);
        assert!(IpAddress::from_hex("00000000000000000000ffffc0000201").is_err());
        assert!(IpAddress::from_hex("C0000201").is_err());
        assert!(IpAddress::from_hex("c00002").is_err());
        assert!(IpAddress::from_hex("c000020g").is_err());
    }

    #[test]
    fn truncation_and_prefix() {
        let v4: IpAddress = "192.0.2.77".parse().unwrap();
        assert_eq!(v4.truncated().to_string(), "192.0.2.0");
        let v6: IpAddress = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(v6.truncated().to_string(), "2001:db8:1::");
        assert_eq!(v6.throttle_prefix().len(), 8);
        assert_eq!(v4.throttle_prefix(), vec![192, 0, 2, 77]);
    }

    #[test]
    fn ipv4_refuses_ipv6() {
        assert!("::1".parse::<Ipv4Address>().is_err());
        assert!("256.0.0.1".parse::<Ipv4Address>().is_err());
        assert!("127.0.0.1".parse::<Ipv4Address>().is_ok());
    }
}
