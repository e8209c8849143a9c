//! [`PasswordHash`]: an Argon2id hash in PHC string form, the only password-derived value
//! calstore stores.

use std::fmt;
use std::str::FromStr;

use crate::sql::Value;

use super::column::{Field, text};
use super::field_type::FieldType;
use super::invalid::InvalidValue;

/// `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` with a salt of at least 16
/// bytes and an output of at least 32 bytes (unpadded standard Base64), at most 512
/// characters. Other algorithms (bcrypt, argon2i, Orge's SHA-1) and other versions are
/// refused.
///
/// Checked in SQL: the grammar (PostgreSQL fully, by regular expression; SQLite by `GLOB`,
/// the character set and the number of `$`, `,` and `=`, which leaves the digits of the
/// costs unchecked). Checked in Rust only: that the string decodes (Base64 lengths)
/// and cost ceilings (`m` ≤ 1 GiB, `t` ≤ 100, `p` ≤ 64), so that a stored hash cannot make a
/// login verification exhaust the server.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PasswordHash {
    phc: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
}

impl PasswordHash {
    /// Shortest possible string (`m=8,t=1,p=1`, 22 + 43 Base64 characters).
    pub const MIN_LEN: usize = 93;
    /// Longest accepted string.
    pub const MAX_LEN: usize = 512;
    /// Highest accepted memory cost, KiB.
    pub const MAX_M_COST: u32 = 1 << 20;
    /// Highest accepted number of passes.
    pub const MAX_T_COST: u32 = 100;
    /// Highest accepted parallelism.
    pub const MAX_P_COST: u32 = 64;

    /// Parses and checks a PHC string.
    pub fn new(s: &str) -> Result<Self, InvalidValue> {
        // The message never quotes the string: it is derived from a password.
        let refuse = |why: &str| InvalidValue::new("Argon2id PHC string", why.to_owned());
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(refuse("length outside 93..=512"));
        }
        let rest = s
            .strip_prefix("$argon2id$v=19$")
            .ok_or_else(|| refuse("not $argon2id$v=19$ (only Argon2id version 19 is accepted)"))?;
        let mut fields = rest.split('$');
        let (Some(params), Some(salt), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(refuse("expected parameters, salt and hash"));
        };
        let mut costs = params.split(',');
        let (Some(m), Some(t), Some(p), None) =
            (costs.next(), costs.next(), costs.next(), costs.next())
        else {
            return Err(refuse("expected exactly m=,t=,p="));
        };
        let cost = |field: &str, name: &str, digits: usize| -> Result<u32, InvalidValue> {
            let v = field
                .strip_prefix(name)
                .filter(|v| {
                    (1..=digits).contains(&v.len())
                        && !v.starts_with('0')
                        && v.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| refuse("malformed cost parameter"))?;
            v.parse().map_err(|_| refuse("cost parameter out of range"))
        };
        let (m_cost, t_cost, p_cost) = (cost(m, "m=", 10)?, cost(t, "t=", 10)?, cost(p, "p=", 8)?);
        let b64 = |v: &str, min: usize| {
            v.len() >= min
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        if !b64(salt, 22) {
            return Err(refuse("salt shorter than 16 bytes or not Base64"));
        }
        if !b64(hash, 43) {
            return Err(refuse("hash shorter than 32 bytes or not Base64"));
        }
        if m_cost > Self::MAX_M_COST || t_cost > Self::MAX_T_COST || p_cost > Self::MAX_P_COST {
            return Err(refuse(
                "cost above the ceiling (m ≤ 1 GiB, t ≤ 100, p ≤ 64)",
            ));
        }
        // What argon2 itself will require when verifying.
        let parsed = argon2::password_hash::phc::PasswordHash::new(s)
            .map_err(|_| refuse("does not decode as a PHC string"))?;
        argon2::Params::try_from(&parsed).map_err(|_| refuse("invalid Argon2 parameters"))?;
        Ok(PasswordHash {
            phc: s.to_owned(),
            m_cost,
            t_cost,
            p_cost,
        })
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.phc
    }

    /// Memory cost in KiB (`m`).
    pub fn m_cost(&self) -> u32 {
        self.m_cost
    }

    /// Number of passes (`t`).
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Degree of parallelism (`p`).
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }
}

impl fmt::Debug for PasswordHash {
    /// Shows the parameters only (salt and hash stay out of logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PasswordHash($argon2id$v=19$m={},t={},p={}$…)",
            self.m_cost, self.t_cost, self.p_cost
        )
    }
}

impl FromStr for PasswordHash {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        PasswordHash::new(s)
    }
}

impl Field for PasswordHash {
    const TYPE: FieldType = FieldType::PasswordHash;
    fn to_value(&self) -> Value {
        Value::Text(self.phc.clone())
    }
    fn from_value(value: Value) -> Result<Self, InvalidValue> {
        PasswordHash::new(&text(value, "Argon2id PHC string")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the argon2 crate's documentation examples (password "password").
    pub(crate) const SAMPLE: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
        c29tZXNhbHRzb21lc2FsdA$\
        dWYwR1FdcDmgiCs4mCXiGU8pKuE70xWW4UqRSjLPgPY";

    #[test]
    fn parses_argon2id() {
        let h = PasswordHash::new(SAMPLE).unwrap();
        assert_eq!((h.m_cost(), h.t_cost(), h.p_cost()), (19456, 2, 1));
        assert!(!format!("{h:?}").contains("c29t"));
    }

    #[test]
    fn refuses_others() {
        for bad in [
            SAMPLE.replace("argon2id", "argon2i"),
            SAMPLE.replace("v=19", "v=16"),
            SAMPLE.replace("m=19456", "m=019456"),
            SAMPLE.replace("m=19456", "m=2000000"),
            SAMPLE.replace(",p=1", ""),
            SAMPLE.replace("c29tZXNhbHRzb21lc2FsdA", "c29tZXNhbHQ"),
            format!("{SAMPLE}$x"),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8".to_owned(),
        ] {
            assert!(PasswordHash::new(&bad).is_err(), "{bad}");
        }
    }
}
