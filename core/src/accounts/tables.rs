//! The account tables, declared once (spec §C.4, Orge's `orge_user` and `orge_connection`).
//!
//! | table | storage class (declared) | holds |
//! |---|---|---|
//! | `accounts` | MemoryAndDisk | accounts; personal fields optional; login reserved forever |
//! | `account_calendars` | MemoryAndDisk | calendars an account may use besides its own address |
//! | `password_resets` | DiskOnly | hashes of single-use, short-lived reset tokens |
//! | `connections` | DiskOnly | the connection log (one row per attempt or session) |
//! | `live_sessions` | MemoryWithSnapshots | open sessions: the "already connected" check |
//! | `login_throttle` | MemoryWithSnapshots | failure counters per login and per address |
//!
//! Tables of the memory class refer to others through [`SoftRef`] (no foreign key): SQLite
//! cannot enforce a key across schemas, and their rows are rebuilt or dropped at start.

use std::time::Duration;

use crate::typed::{
    BoundedString, CalendarUri, CheckDef, ColumnDefault, CountryCode, Date, Digest, EmailAddress,
    Id, IndexDef, IndexKey, Int, IpAddress, Login, PasswordHash, Phone, Port, SoftRef,
    StorageClass, UtcTime,
};
use crate::{typed_enum, typed_table};

/// A name or address line: up to 64 characters.
pub type Name = BoundedString<64>;
/// A postal code: up to 16 characters.
pub type PostalCode = BoundedString<16>;
/// The most sessions one account may hold at once.
pub type MaxSessions = Int<1, 64>;
/// A session's slot among its account's [`MaxSessions`].
pub type Slot = Int<1, 64>;
/// A failure counter (consecutive failures, capped).
pub type Failures = Int<1, 1_000_000>;

/// How often the memory tables are snapshotted, once that is implemented.
const SNAPSHOT: StorageClass = StorageClass::MemoryWithSnapshots {
    every: Duration::from_secs(60),
    keep: 3,
};

typed_enum! {
    /// An account's status (Orge's Account Status).
    pub enum AccountStatus {
        /// May log in.
        Active = "active",
        /// May not log in; can be activated again.
        Suspended = "suspended",
        /// Deleted: never active again, its login never reusable; personal data is scrubbed
        /// after a grace period.
        Deleted = "deleted",
    }
}

typed_enum! {
    /// What an account may administer.
    pub enum AccountRole {
        /// An ordinary user.
        User = "user",
        /// An administrator.
        Admin = "admin",
    }
}

typed_enum! {
    /// What an account may do with a calendar.
    pub enum GrantRole {
        /// Everything, as its owner (an account's own address is always `owner`).
        Owner = "owner",
        /// Read and write events.
        Write = "write",
        /// Read only.
        Read = "read",
    }
}

typed_enum! {
    /// How a connection went (Orge's Login Status, with the code's values).
    ///
    /// Orge's `bad_login` is `unknown_login`, `slot_obtained` is `pending` (and the
    /// documentation's `not_tried_yet` too), `timeout` is `timed_out`; `server_restart`
    /// closes sessions found open at start, `throttled` refuses an attempt made while its
    /// login or address is locked out by back-off (the password is then not verified).
    pub enum ConnectionOutcome {
        /// The server had no free slot.
        SlotRefused = "slot_refused",
        /// Connected, login not tried yet.
        Pending = "pending",
        /// No account has the sent login.
        UnknownLogin = "unknown_login",
        /// The account exists, the password did not match.
        BadPassword = "bad_password",
        /// Right password, but the account is suspended or deleted.
        AccountNotActive = "account_not_active",
        /// The account already has all its sessions open.
        AlreadyConnected = "already_connected",
        /// The client's message could not be decoded.
        MarshallingFailed = "marshalling_failed",
        /// The client did not answer in time.
        TimedOut = "timed_out",
        /// Logged in; the session is open while `ended_at` is NULL.
        AccessGranted = "access_granted",
        /// The client's version is not supported.
        IncompatibleVersion = "incompatible_version",
        /// The server ended the session.
        ShutdownByServer = "shutdown_by_server",
        /// The client went away without saying goodbye.
        UnexpectedClientTermination = "unexpected_client_termination",
        /// The client logged out.
        NormalClientSideTermination = "normal_client_side_termination",
        /// Found open at start after a crash, and closed.
        ServerRestart = "server_restart",
        /// Refused without verifying the password: back-off in force.
        Throttled = "throttled",
    }
}

typed_enum! {
    /// What a throttling counter counts failures of.
    pub enum ThrottleKind {
        /// A login (keyed digest of the sent login, whether or not an account has it).
        Login = "login",
        /// A peer address (keyed digest of the IPv4 address or IPv6 /64).
        Address = "address",
    }
}

typed_table! {
    /// An account (Orge's `orge_user`, minimised: personal fields are optional, the
    /// security question and answer are gone, the password is an Argon2id hash).
    ///
    /// `login_key` (a keyed digest of the login) is the login's reservation: unique, and
    /// kept when the account is deleted and its personal data scrubbed, so a login is never
    /// registered twice. `login`, `email` and `password_hash` are present until the account
    /// is scrubbed (`accounts_live_has_credentials`), and every personal column is NULL
    /// after (`accounts_scrubbed_is_empty`).
    pub struct Account in "accounts" {
        /// When the account was registered.
        pub created_at: UtcTime,
        /// Active, suspended or deleted.
        pub status: AccountStatus,
        /// When the status last changed.
        pub status_changed_at: UtcTime,
        /// When the account was deleted (set exactly when the status is `deleted`).
        pub deleted_at: Option<UtcTime>,
        /// When its personal data was scrubbed.
        pub scrubbed_at: Option<UtcTime>,
        /// User or administrator.
        pub role: AccountRole,
        /// The login's reservation (keyed digest), kept forever.
        pub login_key: Digest,
        /// The login (NULL once scrubbed).
        pub login: Option<Login>,
        /// The email address, unique case-insensitively (NULL once scrubbed).
        pub email: Option<EmailAddress>,
        /// When the address was verified.
        pub email_verified_at: Option<UtcTime>,
        /// First name.
        pub first_name: Option<Name>,
        /// Last name.
        pub last_name: Option<Name>,
        /// Date of birth (only if an age check needs it); not after the registration date.
        pub date_of_birth: Option<Date>,
        /// Address line 1.
        pub address_line_1: Option<Name>,
        /// Address line 2.
        pub address_line_2: Option<Name>,
        /// City.
        pub city: Option<Name>,
        /// State or region.
        pub state: Option<Name>,
        /// Postal code.
        pub postal_code: Option<PostalCode>,
        /// Country.
        pub country: Option<CountryCode>,
        /// Home telephone.
        pub home_phone: Option<Phone>,
        /// Mobile telephone.
        pub mobile_phone: Option<Phone>,
        /// The Argon2id hash of the password (NULL once scrubbed).
        pub password_hash: Option<PasswordHash>,
        /// When the password was last set (not when it was rehashed).
        pub password_changed_at: Option<UtcTime>,
        /// How many sessions the account may hold at once.
        pub max_sessions: MaxSessions = ColumnDefault::Integer(1),
    }
    identity;
    storage: StorageClass::MemoryAndDisk;
    uniques: [
        IndexDef::on("accounts_login_key", &[IndexKey::Column("login_key")]),
        IndexDef::on("accounts_login", &[IndexKey::Column("login")]),
        IndexDef::on("accounts_email", &[IndexKey::Lower("email")]),
    ];
    checks: [
        CheckDef::both(
            "accounts_live_has_credentials",
            "scrubbed_at IS NOT NULL OR (login IS NOT NULL AND email IS NOT NULL \
             AND password_hash IS NOT NULL AND password_changed_at IS NOT NULL)",
        ),
        CheckDef::both(
            "accounts_scrubbed_is_empty",
            "scrubbed_at IS NULL OR (status = 'deleted' AND login IS NULL AND email IS NULL \
             AND email_verified_at IS NULL AND first_name IS NULL AND last_name IS NULL \
             AND date_of_birth IS NULL AND address_line_1 IS NULL AND address_line_2 IS NULL \
             AND city IS NULL AND state IS NULL AND postal_code IS NULL AND country IS NULL \
             AND home_phone IS NULL AND mobile_phone IS NULL AND password_hash IS NULL \
             AND password_changed_at IS NULL)",
        ),
        CheckDef::both(
            "accounts_deleted_at",
            "(status = 'deleted') = (deleted_at IS NOT NULL)",
        ),
        CheckDef::both(
            "accounts_times_ordered",
            "status_changed_at >= created_at AND (deleted_at IS NULL OR deleted_at >= created_at) \
             AND (scrubbed_at IS NULL OR scrubbed_at >= deleted_at)",
        ),
        CheckDef {
            name: "accounts_birth_not_after_creation",
            sqlite: "date_of_birth IS NULL OR date_of_birth <= date(created_at / 1000000, 'unixepoch')",
            postgres: "date_of_birth IS NULL OR date_of_birth <= \
                       to_char(to_timestamp(created_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        },
    ];
}

typed_table! {
    /// A calendar an account may use besides its own address (`mailto:` + its email, always
    /// `owner`), with a role.
    pub struct CalendarGrant in "account_calendars" {
        /// The account.
        pub account_id: Id<Account>,
        /// The calendar user URI (a store user).
        pub calendar: CalendarUri,
        /// What the account may do with it.
        pub role: GrantRole,
        /// When it was granted (or its role last changed).
        pub granted_at: UtcTime,
    }
    storage: StorageClass::MemoryAndDisk;
    primary_key: ["account_id", "calendar"];
    indexes: [IndexDef::on("account_calendars_by_calendar", &[IndexKey::Column("calendar")])];
}

typed_table! {
    /// A password-reset request: only the hash of the token is stored; a token works once,
    /// before it expires.
    pub struct PasswordReset in "password_resets" {
        /// The account.
        pub account_id: Id<Account>,
        /// BLAKE2b-256 of the token.
        pub token_hash: Digest,
        /// When it was issued.
        pub created_at: UtcTime,
        /// When it stops working.
        pub expires_at: UtcTime,
        /// When it was used (or cancelled by a newer reset).
        pub used_at: Option<UtcTime>,
    }
    identity;
    storage: StorageClass::DiskOnly;
    uniques: [IndexDef::on("password_resets_token", &[IndexKey::Column("token_hash")])];
    indexes: [IndexDef::on("password_resets_by_account", &[IndexKey::Column("account_id")])];
    checks: [
        CheckDef::both("password_resets_expiry", "expires_at > created_at"),
        CheckDef::both("password_resets_use", "used_at IS NULL OR used_at >= created_at"),
    ];
}

typed_table! {
    /// One connection attempt or session (Orge's `orge_connection`): append-mostly, closed
    /// by an update of `ended_at` and `outcome`. Nothing in it is derived from a password.
    pub struct Connection in "connections" {
        /// When the attempt started.
        pub started_at: UtcTime,
        /// When it ended; NULL while pending or granted.
        pub ended_at: Option<UtcTime>,
        /// How it went (or, once ended, how the session ended).
        pub outcome: ConnectionOutcome,
        /// The account whose login was sent, if one has it.
        pub account_id: Option<Id<Account>>,
        /// The sent login, stored only when it matched an account.
        pub sent_login: Option<Login>,
        /// Keyed digest of a sent login that matched no account (correlates attempts without
        /// storing what may be a password typed into the login field).
        pub sent_login_key: Option<Digest>,
        /// The peer's address (truncated by retention).
        pub peer_ip: IpAddress,
        /// The peer's port.
        pub peer_port: Port,
        /// The client's version.
        pub client_version: Option<BoundedString<16>>,
        /// Reverse DNS of the peer (looked up outside the transaction).
        pub reverse_dns: Option<BoundedString<253>>,
        /// Geolocated country.
        pub geo_country: Option<CountryCode>,
        /// Geolocated region.
        pub geo_region: Option<BoundedString<64>>,
        /// Geolocated city.
        pub geo_city: Option<BoundedString<64>>,
        /// Geolocated postal code.
        pub geo_postal_code: Option<BoundedString<16>>,
        /// Which geolocation database answered.
        pub geo_db_version: Option<BoundedString<32>>,
        /// When retention truncated the address and dropped the finer details.
        pub redacted_at: Option<UtcTime>,
    }
    identity;
    storage: StorageClass::DiskOnly;
    indexes: [
        IndexDef::on(
            "connections_by_account",
            &[IndexKey::Column("account_id"), IndexKey::Column("started_at")],
        ),
        IndexDef::on("connections_by_start", &[IndexKey::Column("started_at")]),
        IndexDef::on("connections_by_peer", &[IndexKey::Column("peer_ip")]),
        IndexDef::on("connections_open", &[IndexKey::Column("started_at")])
            .partial("ended_at IS NULL"),
        IndexDef::on("connections_unredacted", &[IndexKey::Column("started_at")])
            .partial("redacted_at IS NULL"),
    ];
    checks: [
        CheckDef::both(
            "connections_ended_after_start",
            "ended_at IS NULL OR ended_at >= started_at",
        ),
        CheckDef::both(
            "connections_open_states",
            "ended_at IS NOT NULL OR outcome IN ('pending', 'access_granted')",
        ),
        CheckDef::both(
            "connections_matched_login",
            "(sent_login IS NULL OR (account_id IS NOT NULL AND sent_login_key IS NULL)) \
             AND (outcome NOT IN ('access_granted', 'bad_password', 'account_not_active', \
             'already_connected') OR account_id IS NOT NULL)",
        ),
        CheckDef::both(
            "connections_redacted",
            "redacted_at IS NULL OR (sent_login IS NULL AND sent_login_key IS NULL \
             AND reverse_dns IS NULL AND geo_city IS NULL AND geo_postal_code IS NULL)",
        ),
    ];
}

typed_table! {
    /// An open session. Inserting it is the "already connected" check: an account's sessions
    /// take distinct slots `1..=max_sessions` (`UNIQUE (account_id, slot)`), so a second login
    /// of a single-session account is one refused insert, never a scan. Emptied at start
    /// (sessions do not survive a server restart).
    pub struct LiveSession in "live_sessions" {
        /// The connection row of the session.
        pub connection_id: SoftRef<Connection>,
        /// The account.
        pub account_id: SoftRef<Account>,
        /// Which of the account's slots it holds.
        pub slot: Slot,
        /// When it was opened.
        pub since: UtcTime,
    }
    storage: SNAPSHOT;
    primary_key: ["connection_id"];
    uniques: [IndexDef::on(
        "live_sessions_account_slot",
        &[IndexKey::Column("account_id"), IndexKey::Column("slot")],
    )];
}

typed_table! {
    /// Consecutive login failures per login and per peer address, with the lock-out they
    /// earned (exponential back-off). The subject is a keyed digest: no login or address in
    /// clear, and unknown logins are counted exactly like known ones.
    pub struct Throttle in "login_throttle" {
        /// Login or address.
        pub kind: ThrottleKind,
        /// Keyed digest of the login or address.
        pub subject: Digest,
        /// Consecutive failures (reset by a success for a login, forgotten after a quiet
        /// period).
        pub failures: Failures,
        /// The last failure.
        pub last_failure_at: UtcTime,
        /// No attempt is verified before this instant.
        pub locked_until: Option<UtcTime>,
    }
    storage: SNAPSHOT;
    primary_key: ["kind", "subject"];
    indexes: [IndexDef::on("login_throttle_by_last_failure", &[IndexKey::Column("last_failure_at")])];
}
