//! The messages of the sync protocol, as they travel (JSON). `docs/sync-protocol.md` is the
//! specification a third party implements from; these types are its Rust form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::mutation::{BookingOutcome, Mutation, ServerVersion};
use crate::changes::Scope;
use crate::sql::Value;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The schema versions of the components a client holds (`core`, `store`, `journal`).
pub type SchemaVersions = BTreeMap<String, i64>;

/// What an account may do with a calendar (or a quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Owner,
    /// Read and write.
    Write,
    /// Read only: pulls, but its mutations are rejected.
    Read,
}

impl Role {
    /// True for `owner` and `write`.
    pub fn may_write(self) -> bool {
        matches!(self, Role::Owner | Role::Write)
    }
}

/// `POST /sync/v1/login`. Its `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The account's login.
    pub login: String,
    /// Its password.
    pub password: String,
    /// The client program and version, for the connection log (`calstore/0.1.0`).
    #[serde(default)]
    pub client: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// The answer to a login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// The session token: sent as `Authorization: Bearer <token>`; the server keeps only a
    /// hash of it.
    pub token: String,
    /// When the session ends (UTC, `YYYYMMDDTHHMMSSZ`).
    pub expires: String,
    /// The account's login.
    pub login: String,
    /// The protocol version of the server.
    pub protocol: u32,
}

/// The owners a client syncs: store users (calendars) and journal quotas, with its role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OwnerRef {
    /// `store` or `journal`.
    pub scope: WireScope,
    /// The calendar URI or quota name.
    pub owner: String,
    /// What the account may do with it.
    pub role: Role,
}

/// [`Scope`] on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireScope {
    /// A store user.
    Store,
    /// A journal quota.
    Journal,
}

impl From<Scope> for WireScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Store => WireScope::Store,
            Scope::Journal => WireScope::Journal,
        }
    }
}

impl From<WireScope> for Scope {
    fn from(s: WireScope) -> Self {
        match s {
            WireScope::Store => Scope::Store,
            WireScope::Journal => Scope::Journal,
        }
    }
}

/// One mutation of a push: the client's sequence number (1, 2, 3, … per client, never
/// reused) and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The client's sequence number of the mutation; with the client id, its identity.
    pub seq: i64,
    /// The mutation.
    pub mutation: Mutation,
}

/// `POST /sync/v1/push`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The client's protocol version.
    pub protocol: u32,
    /// The client's schema versions.
    pub schema: SchemaVersions,
    /// The client's id (chosen at clone, random).
    pub client_id: String,
    /// Mutations in the order they were made.
    pub mutations: Vec<Envelope>,
}

/// What became of a mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// Applied as sent.
    Applied,
    /// Not applied: the server holds a newer version (iTIP order); see `server`.
    Superseded,
    /// Not applied: not allowed, or invalid; see `reason`.
    Rejected,
}

/// The result of one mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationResult {
    /// The mutation's sequence number.
    pub seq: i64,
    /// What became of it.
    pub status: ResultStatus,
    /// Why it was rejected or superseded, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a superseded mutation: the versions that won.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server: Vec<ServerVersion>,
    /// For a quota booking: the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<BookingOutcome>,
}

/// The answer to a push: one result per mutation processed, in order. A push stops at the
/// first mutation the server could not process now (a transient failure): the rest stay in
/// the client's outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The server's protocol version.
    pub protocol: u32,
    /// The results, in order.
    pub results: Vec<MutationResult>,
}

/// A key the client asks the server's current rows of (the keys its own mutations touched).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyRef {
    /// `store` or `journal`.
    pub scope: WireScope,
    /// The user or quota.
    pub owner: String,
    /// The table, as the change journal names it.
    pub table: String,
    /// The key (a JSON array of strings and nulls).
    pub key: String,
}

/// `POST /sync/v1/pull`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The client's protocol version.
    pub protocol: u32,
    /// The client's schema versions.
    pub schema: SchemaVersions,
    /// The client's id.
    pub client_id: String,
    /// The cursor of the last pull (opaque), None for everything.
    pub cursor: Option<String>,
    /// How many items a page should hold at most (a server transaction is never cut, so a
    /// page may hold more).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Keys whose current rows to send as well.
    #[serde(default)]
    pub keys: Vec<KeyRef>,
}

/// Whether the pull could be answered from the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullStatus {
    /// Items since the cursor follow.
    Ok,
    /// The cursor is unknown, expired or from the future (a server restored from a backup, a
    /// new database): drop everything pulled and pull again without a cursor; keep the
    /// outbox.
    MustRefetch,
}

/// The rows of one table that belong to a key, columns in the table's catalogue order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    /// The table.
    pub table: String,
    /// The rows (each a list of column values).
    pub rows: Vec<Vec<WireValue>>,
}

/// A changed key with its current rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// `store` or `journal`.
    pub scope: WireScope,
    /// The user or quota.
    pub owner: String,
    /// The table, as the change journal names it.
    pub table: String,
    /// The key.
    pub key: String,
    /// The revision of the change (0 for a key sent because the client asked for it).
    pub revision: i64,
    /// The current rows of the key, per table (a key of `objects` comes with the free/busy
    /// of its UID). Empty: the key has no rows now (removed).
    pub data: Vec<TableRows>,
}

/// The answer to a pull.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// The server's protocol version.
    pub protocol: u32,
    /// Ok, or must refetch.
    pub status: PullStatus,
    /// Why the client must refetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every owner the account syncs now (owners no longer listed are to be dropped).
    pub owners: Vec<OwnerRef>,
    /// Changed keys (and asked-for keys) with their rows.
    pub items: Vec<Item>,
    /// The cursor to send next time.
    pub cursor: String,
    /// True if more items wait: pull again with `cursor` before applying.
    pub more: bool,
}

/// `POST /sync/v1/freebusy`: the busy times of other users of the server (attendees and
/// rooms), for a scheduling view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyRequest {
    /// The calendar addresses asked about (`mailto:…`), at most [`FREEBUSY_MAX_USERS`].
    pub users: Vec<String>,
    /// The window's start, `YYYYMMDDTHHMMSSZ`.
    pub from: String,
    /// The window's end, `YYYYMMDDTHHMMSSZ`, at most [`FREEBUSY_MAX_DAYS`] days after `from`.
    pub to: String,
}

/// The most addresses one free/busy request may ask about.
pub const FREEBUSY_MAX_USERS: usize = 100;

/// The longest window of a free/busy request, in days.
pub const FREEBUSY_MAX_DAYS: i64 = 92;

/// The answer to a [`FreeBusyRequest`]: one entry per address asked about, in its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyResponse {
    /// Per address.
    pub users: Vec<UserBusy>,
}

/// One address's busy times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserBusy {
    /// The address as asked.
    pub user: String,
    /// False when the server does not tell: not a user of this server, or one who does not
    /// share free/busy (preference `freebusy_sharing`); `busy` is then empty.
    pub shared: bool,
    /// The busy periods in the window, `[start, end]` as `YYYYMMDDTHHMMSSZ`, sorted, merged
    /// (overlapping periods become one: no event details are given away).
    pub busy: Vec<(String, String)>,
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code: `unauthenticated`, `forbidden`, `incompatible`, `bad_request`,
    /// `too_large`, `rate_limited`, `unavailable`, `internal`.
    pub error: String,
    /// For people.
    pub message: String,
    /// With `incompatible`: the server's protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u32>,
}

/// A SQL value on the wire: null, an integer, a float, a string, or bytes as
/// `{"b64": "…"}`.
///
/// Read by a visitor of its own rather than `#[serde(untagged)]`, which buffers every value
/// and builds an error for each variant it tries (a sixth of a large clone's client time).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum WireValue {
    /// NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes, base64.
    Blob {
        /// Standard base64 with padding.
        b64: String,
    },
}

impl<'de> Deserialize<'de> for WireValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WireValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("null, a number, a string or {\"b64\": \"…\"}")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<WireValue, E> {
                Ok(WireValue::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<WireValue, E> {
                Ok(WireValue::Null)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<WireValue, E> {
                Ok(WireValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<WireValue, E> {
                i64::try_from(v)
                    .map(WireValue::Integer)
                    .map_err(|_| E::custom("an integer out of the 64-bit range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<WireValue, E> {
                Ok(WireValue::Real(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WireValue, E> {
                Ok(WireValue::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<WireValue, E> {
                Ok(WireValue::Text(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<WireValue, A::Error> {
                let mut b64 = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "b64" {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    } else if b64.is_some() {
                        return Err(serde::de::Error::duplicate_field("b64"));
                    } else {
                        b64 = Some(map.next_value::<String>()?);
                    }
                }
                b64.map(|b64| WireValue::Blob { b64 })
                    .ok_or_else(|| serde::de::Error::missing_field("b64"))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<Value> for WireValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => WireValue::Null,
            Value::Integer(i) => WireValue::Integer(i),
            Value::Real(f) => WireValue::Real(f),
            Value::Text(s) => WireValue::Text(s),
            Value::Blob(b) => WireValue::Blob {
                b64: base64_encode(&b),
            },
        }
    }
}

impl WireValue {
    /// The SQL value; None for bad base64.
    pub fn into_value(self) -> Option<Value> {
        Some(match self {
            WireValue::Null => Value::Null,
            WireValue::Integer(i) => Value::Integer(i),
            WireValue::Real(f) => Value::Real(f),
            WireValue::Text(s) => Value::Text(s),
            WireValue::Blob { b64 } => Value::Blob(base64_decode(&b64)?),
        })
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                let six = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(B64[usize::try_from(six).unwrap_or(0)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = u32::try_from(B64.iter().position(|b| *b == c)?).ok()?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        for v in [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Integer(42),
            Value::Real(1.5),
            Value::Text("é\"x".into()),
            Value::Blob(vec![]),
            Value::Blob(vec![0, 1, 2, 255]),
            Value::Blob(b"hello world".to_vec()),
        ] {
            let wire = WireValue::from(v.clone());
            let json = serde_json::to_string(&wire).unwrap();
            let back: WireValue = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_value(), Some(v), "{json}");
        }
        assert_eq!(base64_encode(b"hello world"), "aGVsbG8gd29ybGQ=");
        assert!(base64_decode("a$").is_none());
    }

    #[test]
    fn values_read_strictly() {
        let read = |j: &str| serde_json::from_str::<WireValue>(j);
        assert_eq!(
            read("9223372036854775807").unwrap(),
            WireValue::Integer(i64::MAX)
        );
        assert!(read("9223372036854775808").is_err());
        assert_eq!(read("-0.5").unwrap(), WireValue::Real(-0.5));
        assert_eq!(
            read(r#"{"b64":"AA==","v":2}"#).unwrap().into_value(),
            Some(Value::Blob(vec![0]))
        );
        assert!(read(r#"{"b64":"AA==","b64":"AA=="}"#).is_err());
        assert!(read("{}").is_err());
        assert!(read("[1]").is_err());
        assert!(read("true").is_err());
    }
}
