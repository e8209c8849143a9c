//! Typed tables and accounts on every backend (spec §C.1, §C.2, §C.4, §C.5).
//!
//! - One case per field type: the Rust constructor refuses a value **and** a raw SQL insert
//!   of the same value fails with the expected [`DbErrorKind`] (so the two layers cannot
//!   drift apart unnoticed), and a valid value passes both.
//! - §C.5 scenario 1 (registration, logins never reused, ids after a restart), scenario 2
//!   (constraint rejections in Rust and raw SQL), scenario 3 (the id contract after deletion
//!   and rollback), and the parts of scenario 7 that need no server (live sessions, already
//!   connected, crash recovery, bad password rows), plus grants, resets, scrubbing,
//!   retention, throttling and rehashing.
//!
//! Every case takes an **opener**: `FnMut() -> C`. Its first call gives a connection to a
//! fresh, empty database; every later call reopens the same database (a restart). Each call
//! opens the accounts component as a process would ([`accounts::open()`]: migrated, memory
//! tables created and restored by the backend's
//! [`MemoryBackend`]); [`accounts_opener`]
//! builds one from a connection factory and a backend factory. A backend instantiates the
//! list with [`typed_cases!`](crate::typed_cases) and [`typed_suite!`](crate::typed_suite):
//!
//! ```ignore
//! calstore_tests::typed_cases!(calstore_tests::typed_suite, #[test] my_opener());
//! ```
//!
//! Refusals by a column's *type* (text in an INTEGER or BLOB column) are not CHECK
//! violations: SQLite STRICT reports `SQLITE_CONSTRAINT_DATATYPE`, and PostgreSQL's adapter
//! cannot encode text as `BIGINT`/`BYTEA`; both adapters classify these as
//! [`DbErrorKind::Other`], which [`TYPE_REFUSED`] accepts.

use calstore_core::accounts::connections::{self, ClientInfo, LoginRecord, Peer};
use calstore_core::accounts::grants::{self, CalendarAccess};
use calstore_core::accounts::throttle::{self, ThrottlePolicy};
use calstore_core::accounts::{
    self, Account, AccountError, AccountRole, AccountStatus, Connection, ConnectionOutcome,
    GrantRole, NewAccount, PasswordPolicy, Profile, PseudonymKey, Purpose, ResetToken,
    ThrottleKind, account, resets,
};
use calstore_core::schema::storage::{MemoryBackend, StorageConnection};
use calstore_core::typed::{
    BoundedString, CalendarUri, CountryCode, Date, Digest, EmailAddress, Field, Id, Int, IpAddress,
    Ipv4Address, Login, PasswordHash, Phone, Port, SoftRef, StorageClass, Stored, Table, TableDef,
    UtcTime, rows,
};
use calstore_core::{DbError, DbErrorKind, Dialect, SqlConnection, Value, typed_enum, typed_table};

use crate::case_names;
use chrono::TimeDelta;

typed_table! {
    /// The parent of [`Probe`] rows (for references and the id contract).
    pub struct ProbeParent in "probe_parents" {
        /// A name.
        pub name: BoundedString<8>,
    }
    identity;
    storage: StorageClass::DiskOnly;
}

typed_enum! {
    /// A closed set for the enum case.
    pub enum Shade {
        /// Light.
        Light = "light",
        /// Dark.
        Dark = "dark",
    }
}

typed_table! {
    /// A column of every field type: `label` mandatory, the others optional, so that a raw
    /// insert can set one column at a time.
    pub struct Probe in "probes" {
        /// Orge's `String[4]`.
        pub label: BoundedString<4>,
        /// A reference (foreign key).
        pub parent: Option<Id<ProbeParent>>,
        /// A reference without a foreign key.
        pub loose: Option<SoftRef<ProbeParent>>,
        /// A bounded integer.
        pub count: Option<Int<0, 9>>,
        /// A login.
        pub login: Option<Login>,
        /// An enum.
        pub shade: Option<Shade>,
        /// An email address.
        pub email: Option<EmailAddress>,
        /// An IPv4 address.
        pub ipv4: Option<Ipv4Address>,
        /// An IPv4 or IPv6 address.
        pub ip: Option<IpAddress>,
        /// A port.
        pub port: Option<Port>,
        /// A UTC time.
        pub at: Option<UtcTime>,
        /// A date.
        pub day: Option<Date>,
        /// A phone number.
        pub phone: Option<Phone>,
        /// A country code.
        pub country: Option<CountryCode>,
        /// A password hash.
        pub password_hash: Option<PasswordHash>,
        /// A digest.
        pub digest: Option<Digest>,
        /// A calendar URI.
        pub calendar: Option<CalendarUri>,
    }
    identity;
    storage: StorageClass::DiskOnly;
}

/// The probe tables and the account tables, in creation order.
pub fn tables() -> Vec<TableDef> {
    let mut t = vec![ProbeParent::DEF, Probe::DEF];
    t.extend_from_slice(accounts::schema::TABLES);
    t
}

/// Creates the probe tables (the account tables come with the opener).
pub fn install_probes<C: SqlConnection + ?Sized>(c: &mut C) {
    let dialect = c.dialect();
    let stmts = ProbeParent::DEF
        .ddl(dialect)
        .into_iter()
        .chain(Probe::DEF.ddl(dialect));
    for stmt in stmts {
        c.execute_batch(&stmt)
            .unwrap_or_else(|e| panic!("DDL failed: {e}\n{stmt}"));
    }
}

/// An opener for the cases: every call connects (`connect`) and opens the accounts component
/// on the connection with a new backend (`backend`), for administration (the cases run the
/// recovery at start themselves), at [`at(0)`](at), with [`key()`](key).
pub fn accounts_opener<C: SqlConnection>(
    mut connect: impl FnMut() -> C,
    mut backend: impl FnMut() -> Box<dyn MemoryBackend>,
) -> impl FnMut() -> StorageConnection<C> {
    move || {
        accounts::open(connect(), backend(), &key(), Purpose::Admin, at(0))
            .unwrap_or_else(|e| panic!("opening the accounts component: {e}"))
            .0
    }
}

fn fresh<C: SqlConnection, F: FnMut() -> C>(open: &mut F) -> C {
    let mut c = open();
    install_probes(&mut c);
    c
}

/// Runs `f` in a write transaction: commit on `Ok`, rollback on `Err`.
pub fn write<C: SqlConnection + ?Sized, T>(
    c: &mut C,
    f: impl FnOnce(&mut C) -> accounts::Result<T>,
) -> accounts::Result<T> {
    let begin = c.dialect().begin_write();
    c.execute_batch(begin).unwrap();
    match f(c) {
        Ok(v) => {
            c.execute_batch("COMMIT").unwrap();
            Ok(v)
        }
        Err(e) => {
            c.execute_batch("ROLLBACK").unwrap();
            Err(e)
        }
    }
}

/// A CHECK refused the value.
pub const CHECK: &[DbErrorKind] = &[DbErrorKind::CheckViolation];
/// The column's type refused the value (see the module documentation).
pub const TYPE_REFUSED: &[DbErrorKind] = &[DbErrorKind::CheckViolation, DbErrorKind::Other];

fn refused(result: Result<u64, DbError>, kinds: &[DbErrorKind], what: &str) {
    match result {
        Ok(_) => panic!("{what}: the database accepted it"),
        Err(e) => assert!(
            kinds.contains(e.kind()),
            "{what}: unexpected {:?}: {e}",
            e.kind()
        ),
    }
}

/// `INSERT INTO probes (label, column) VALUES ('ok', $1)`, or just the label.
fn raw<C: SqlConnection + ?Sized>(c: &mut C, column: &str, value: Value) -> Result<u64, DbError> {
    if column == "label" {
        c.execute("INSERT INTO probes (label) VALUES ($1)", &[value])
    } else {
        let sql = format!("INSERT INTO probes (label, {column}) VALUES ('ok', $1)");
        c.execute(&sql, &[value])
    }
}

/// The Rust side refuses `bad` and the database refuses the same value.
fn both_refuse<C: SqlConnection + ?Sized, T: std::fmt::Debug, E>(
    c: &mut C,
    column: &str,
    rust: Result<T, E>,
    stored_form: Value,
    kinds: &[DbErrorKind],
) {
    let what = format!("{column} = {stored_form:?}");
    assert!(rust.is_err(), "{what}: Rust accepted {:?}", rust.ok());
    refused(raw(c, column, stored_form), kinds, &what);
}

/// The Rust side accepts a value and the database stores it.
fn both_accept<C: SqlConnection + ?Sized, T: Field>(c: &mut C, column: &str, value: T) {
    raw(c, column, value.to_value()).unwrap_or_else(|e| panic!("{column}: {e}"));
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

// ---- one case per field type ------------------------------------------------------------

/// `Id`: ids start at 1; the identity column refuses 0 (and PostgreSQL refuses any given id).
pub fn typed_id<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    assert!(Id::<ProbeParent>::new(0).is_err());
    assert!(Id::<ProbeParent>::new(-1).is_err());
    match c.dialect() {
        Dialect::Postgres => {
            // GENERATED ALWAYS: a given id is refused outright...
            refused(
                c.execute("INSERT INTO probe_parents (id, name) VALUES (7, 'x')", &[]),
                &[DbErrorKind::Other],
                "a given id",
            );
            // ...and forcing it does not get past the CHECK.
            refused(
                c.execute(
                    "INSERT INTO probe_parents (id, name) OVERRIDING SYSTEM VALUE VALUES (0, 'x')",
                    &[],
                ),
                CHECK,
                "id 0",
            );
        }
        _ => refused(
            c.execute("INSERT INTO probe_parents (id, name) VALUES (0, 'x')", &[]),
            CHECK,
            "id 0",
        ),
    }
}

/// `Ref`: ≥ 1, and the row must exist (foreign key; on SQLite `foreign_keys=ON` is set on
/// every connection by the adapter). `SoftRef` has no foreign key.
pub fn typed_ref<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let parent = rows::insert(
        &mut c,
        &ProbeParent {
            name: BoundedString::new("p").unwrap(),
        },
    )
    .unwrap();
    both_refuse(
        &mut c,
        "parent",
        Id::<ProbeParent>::new(0),
        Value::Integer(0),
        CHECK,
    );
    refused(
        raw(&mut c, "parent", Value::Integer(99)),
        &[DbErrorKind::ForeignKeyViolation],
        "parent 99 (no such row)",
    );
    both_accept(&mut c, "parent", parent);
    both_refuse(
        &mut c,
        "loose",
        Id::<ProbeParent>::new(0),
        Value::Integer(0),
        CHECK,
    );
    both_accept(
        &mut c,
        "loose",
        SoftRef::new(Id::<ProbeParent>::new(99).unwrap()),
    );
}

/// `Int<0, 9>`.
pub fn typed_int<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "count",
        Int::<0, 9>::new(10),
        Value::Integer(10),
        CHECK,
    );
    both_refuse(
        &mut c,
        "count",
        Int::<0, 9>::new(-1),
        Value::Integer(-1),
        CHECK,
    );
    both_accept(&mut c, "count", Int::<0, 9>::new(9).unwrap());
}

/// `BoundedString<4>` (Orge's `String[4]`): Unicode scalar values after NFC; no control
/// characters; never empty; NOT NULL when mandatory. 'Loué' is 4 characters (5 bytes).
pub fn typed_str<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    type S4 = BoundedString<4>;
    both_refuse(&mut c, "label", S4::new("Louée"), text("Louée"), CHECK);
    both_refuse(&mut c, "label", S4::new(""), text(""), CHECK);
    both_refuse(&mut c, "label", S4::new("a\u{7}"), text("a\u{7}"), CHECK);
    both_refuse(&mut c, "label", S4::new("a\u{85}"), text("a\u{85}"), CHECK);
    refused(
        raw(&mut c, "label", Value::Null),
        &[DbErrorKind::NotNullViolation],
        "label NULL",
    );
    // Decomposed é: Rust normalises it to the 4-character NFC form; the raw 5 scalar
    // values are refused (by the length on SQLite, by length and NFC on PostgreSQL).
    let decomposed = "Loue\u{301}";
    assert_eq!(S4::new(decomposed).unwrap().as_str(), "Loué");
    refused(
        raw(&mut c, "label", text(decomposed)),
        CHECK,
        "decomposed Loué",
    );
    let loue = S4::new("Loué").unwrap();
    assert_eq!(loue.len(), 5, "bytes");
    both_accept(&mut c, "label", loue);
    let n: i64 = c
        .query(
            "SELECT length(label) FROM probes WHERE label = $1",
            &[text("Loué")],
        )
        .unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(n, 4, "the database counts 'Loué' as 4 characters");
}

/// `Login`: 3 to 32 of a-z 0-9 _ . -.
pub fn typed_login<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let long = "a".repeat(33);
    both_refuse(&mut c, "login", Login::new(&long), text(&long), CHECK);
    both_refuse(
        &mut c,
        "login",
        Login::new("Mr. Big"),
        text("Mr. Big"),
        CHECK,
    );
    both_refuse(&mut c, "login", Login::new("al"), text("al"), CHECK);
    // Rust lower-cases; an upper-case login can only come from raw SQL, and is refused.
    assert_eq!(Login::new("Alf").unwrap().as_str(), "alf");
    refused(raw(&mut c, "login", text("Alf")), CHECK, "login Alf");
    both_accept(&mut c, "login", Login::new(&"a".repeat(32)).unwrap());
}

/// An enum declared with `typed_enum!`.
pub fn typed_enum_values<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "shade",
        "banned".parse::<Shade>(),
        text("banned"),
        CHECK,
    );
    both_refuse(
        &mut c,
        "shade",
        "Dark".parse::<Shade>(),
        text("Dark"),
        CHECK,
    );
    both_accept(&mut c, "shade", Shade::Dark);
}

/// `EmailAddress`.
pub fn typed_email<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    for bad in [
        "alf.vega.com",
        "alf@@vega.com",
        "a@b@vega.com",
        "alf @vega.com",
        ".alf@vega.com",
        "alf..x@vega.com",
        "alf@-vega.com",
        "alf@vega.com.",
        "alf@",
        "@vega.com",
    ] {
        both_refuse(&mut c, "email", EmailAddress::new(bad), text(bad), CHECK);
    }
    let long_local = format!("{}@vega.com", "a".repeat(65));
    both_refuse(
        &mut c,
        "email",
        EmailAddress::new(&long_local),
        text(&long_local),
        CHECK,
    );
    both_accept(
        &mut c,
        "email",
        EmailAddress::new("gordon.shumway+tv@vega.com").unwrap(),
    );
}

/// `Ipv4Address`: `::1` is refused in an IPv4 field, in its stored (hex) form and as text.
pub fn typed_ipv4<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let loopback6: IpAddress = "::1".parse().unwrap();
    both_refuse(
        &mut c,
        "ipv4",
        "::1".parse::<Ipv4Address>(),
        text(&loopback6.to_hex()),
        CHECK,
    );
    both_refuse(
        &mut c,
        "ipv4",
        "::1".parse::<Ipv4Address>(),
        text("::1"),
        CHECK,
    );
    // The stored form is hex; dotted text from raw SQL is refused.
    refused(raw(&mut c, "ipv4", text("127.0.0.1")), CHECK, "dotted text");
    both_accept(&mut c, "ipv4", "127.0.0.1".parse::<Ipv4Address>().unwrap());
    let stored: String = c
        .query("SELECT ipv4 FROM probes WHERE ipv4 IS NOT NULL", &[])
        .unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(stored, "7f000001");
}

/// `IpAddress` (IPv4 or IPv6; IPv4-mapped IPv6 is stored as IPv4).
pub fn typed_ip<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let mapped = "00000000000000000000ffff7f000001";
    both_refuse(
        &mut c,
        "ip",
        IpAddress::from_hex(mapped),
        text(mapped),
        CHECK,
    );
    both_refuse(
        &mut c,
        "ip",
        IpAddress::from_hex("C0000201"),
        text("C0000201"),
        CHECK,
    );
    both_refuse(
        &mut c,
        "ip",
        IpAddress::from_hex("c00002"),
        text("c00002"),
        CHECK,
    );
    both_refuse(
        &mut c,
        "ip",
        "1.2.3.256".parse::<IpAddress>(),
        text("1.2.3.256"),
        CHECK,
    );
    both_accept(&mut c, "ip", "2001:db8::1".parse::<IpAddress>().unwrap());
    both_accept(
        &mut c,
        "ip",
        "::ffff:192.0.2.1".parse::<IpAddress>().unwrap(),
    );
    let rows: Vec<Probe> = rows::select_stored::<Probe, _>(&mut c, "ORDER BY id", &[])
        .unwrap()
        .into_iter()
        .map(|s| s.record)
        .collect();
    let ips: Vec<String> = rows.iter().map(|p| p.ip.unwrap().to_string()).collect();
    assert_eq!(ips, ["2001:db8::1", "192.0.2.1"]);
}

/// `Port`: 1 to 65535; text such as `"9512x"` is refused by the column type.
pub fn typed_port<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "port",
        Port::try_from(70_000),
        Value::Integer(70_000),
        CHECK,
    );
    both_refuse(&mut c, "port", Port::new(0), Value::Integer(0), CHECK);
    both_refuse(
        &mut c,
        "port",
        "9512x".parse::<Port>(),
        text("9512x"),
        TYPE_REFUSED,
    );
    both_accept(&mut c, "port", "9512".parse::<Port>().unwrap());
}

/// `UtcTime`: microseconds since 1970, up to the end of 9999.
pub fn typed_time<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "at",
        UtcTime::from_micros(-1),
        Value::Integer(-1),
        CHECK,
    );
    let over = UtcTime::MAX_MICROS + 1;
    both_refuse(
        &mut c,
        "at",
        UtcTime::from_micros(over),
        Value::Integer(over),
        CHECK,
    );
    // Text is refused by the column type.
    refused(
        raw(&mut c, "at", text("2014-10-09")),
        TYPE_REFUSED,
        "time as text",
    );
    both_accept(
        &mut c,
        "at",
        UtcTime::from_micros(UtcTime::MAX_MICROS).unwrap(),
    );
}

/// `Date`: a real calendar date, `YYYY-MM-DD`.
pub fn typed_date<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    for bad in [
        "2021-02-30",
        "1900-02-29",
        "2021-2-3",
        "0000-01-01",
        "2021-13-01",
        "20210101",
    ] {
        both_refuse(&mut c, "day", bad.parse::<Date>(), text(bad), CHECK);
    }
    both_accept(&mut c, "day", "2000-02-29".parse::<Date>().unwrap());
}

/// `Phone`: E.164.
pub fn typed_phone<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    for bad in [
        "0123456789",
        "+0123456",
        "+1",
        "+1234567890123456",
        "+33 1 2x",
    ] {
        both_refuse(&mut c, "phone", Phone::new(bad), text(bad), CHECK);
    }
    // Rust drops separators; with them, the number only comes from raw SQL, and is refused.
    assert_eq!(Phone::new("+33 1 23").unwrap().as_str(), "+33123");
    refused(
        raw(&mut c, "phone", text("+33 1 23")),
        CHECK,
        "phone with spaces",
    );
    both_accept(&mut c, "phone", Phone::new("+33 1 23 45 67 89").unwrap());
}

/// `CountryCode`: two upper-case letters.
pub fn typed_country<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "country",
        CountryCode::new("FRA"),
        text("FRA"),
        CHECK,
    );
    both_refuse(&mut c, "country", CountryCode::new("F1"), text("F1"), CHECK);
    // Rust upper-cases; lower case only comes from raw SQL, and is refused.
    assert_eq!(CountryCode::new("fr").unwrap().as_str(), "FR");
    refused(raw(&mut c, "country", text("fr")), CHECK, "country fr");
    both_accept(&mut c, "country", CountryCode::new("FR").unwrap());
}

/// `PasswordHash`: Argon2id v19 PHC strings only.
pub fn typed_password_hash<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let policy = cheap_policy();
    let good = policy
        .hash(&policy.check_new("a fine password", &[]).unwrap(), [4; 16])
        .unwrap();
    for bad in [
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
        "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8".to_owned(),
        good.as_str().replace("argon2id", "argon2i"),
        good.as_str().replace("v=19", "v=16"),
        good.as_str().replace(",p=1", ""),
        format!("{}$extra", good.as_str()),
    ] {
        both_refuse(
            &mut c,
            "password_hash",
            PasswordHash::new(&bad),
            text(&bad),
            CHECK,
        );
    }
    both_accept(&mut c, "password_hash", good);
}

/// `Digest`: exactly 32 bytes, as a BLOB.
pub fn typed_digest<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    both_refuse(
        &mut c,
        "digest",
        Digest::try_from(&[0u8; 31][..]),
        Value::Blob(vec![0; 31]),
        CHECK,
    );
    both_refuse(
        &mut c,
        "digest",
        Digest::try_from(&[0u8; 33][..]),
        Value::Blob(vec![0; 33]),
        CHECK,
    );
    both_refuse(
        &mut c,
        "digest",
        Digest::try_from(&[0u8; 64][..]),
        text(&"00".repeat(32)),
        TYPE_REFUSED,
    );
    both_accept(&mut c, "digest", Digest::new([9; 32]));
}

/// `CalendarUri`.
pub fn typed_calendar_uri<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    for bad in [
        "alf@vega.com",
        "mailto:",
        "mailto:a b",
        ":x",
        "1x:y",
        "mailto:a\u{85}b",
    ] {
        both_refuse(&mut c, "calendar", CalendarUri::new(bad), text(bad), CHECK);
    }
    both_accept(
        &mut c,
        "calendar",
        CalendarUri::new("mailto:alf@vega.com").unwrap(),
    );
}

/// The columns in the database are the declared ones, in order, with the declared
/// nullability: the record types and the schema cannot have drifted apart.
pub fn typed_schema_matches_declarations<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    for def in tables() {
        let cols: Vec<(String, bool)> = match c.dialect() {
            Dialect::Postgres => c
                .query(
                    "SELECT CAST(column_name AS TEXT), CAST(is_nullable AS TEXT) \
                     FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                    &[text(def.name)],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get::<String>(1).unwrap() == "NO"))
                .collect(),
            _ => c
                .query(
                    "SELECT name, \"notnull\" OR pk > 0 FROM pragma_table_info($1) ORDER BY cid",
                    &[text(def.name)],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get::<bool>(1).unwrap()))
                .collect(),
        };
        let declared: Vec<(String, bool)> = def
            .columns
            .iter()
            .map(|col| {
                let not_null = col.presence == calstore_core::typed::Presence::Mandatory
                    || def.primary_key.contains(&col.name);
                (col.name.to_owned(), not_null)
            })
            .collect();
        assert_eq!(cols, declared, "columns of {}", def.name);
    }
}

// ---- accounts: fixtures -----------------------------------------------------------------

/// The installation key of the tests.
pub fn key() -> PseudonymKey {
    PseudonymKey::new([42; 32])
}

/// A password policy with cheap Argon2 costs: the rules are what is tested here, not the
/// cost (the production parameters are measured by `argon2_verify_cost` in the core).
pub fn cheap_policy() -> PasswordPolicy {
    PasswordPolicy::with_costs(64, 1, 1).unwrap()
}

/// 2014-10-09T00:00:00Z plus `minutes`.
pub fn at(minutes: i64) -> UtcTime {
    UtcTime::from_micros(1_412_812_800_000_000 + minutes * 60_000_000).unwrap()
}

fn hash(policy: &PasswordPolicy, password: &str, salt: u8) -> PasswordHash {
    policy
        .hash(&policy.check_new(password, &[]).unwrap(), [salt; 16])
        .unwrap()
}

fn new_account(login: &str, email: &str, password_hash: PasswordHash) -> NewAccount {
    NewAccount::new(
        Login::new(login).unwrap(),
        EmailAddress::new(email).unwrap(),
        password_hash,
    )
}

fn register<C: SqlConnection + ?Sized>(
    c: &mut C,
    new: NewAccount,
    now: UtcTime,
) -> accounts::Result<Id<Account>> {
    write(c, |c| account::register(c, &key(), new, now))
}

fn peer(ip: &str, port: u16) -> Peer {
    Peer {
        ip: ip.parse().unwrap(),
        port: Port::new(port).unwrap(),
    }
}

/// A whole login: read, verify (outside the transaction), record (inside one).
fn login<C: SqlConnection + ?Sized>(
    c: &mut C,
    policy: &PasswordPolicy,
    sent_login: &str,
    password: &str,
    from: &Peer,
    now: UtcTime,
) -> LoginRecord {
    let candidate = connections::prepare_login(c, &key(), sent_login, from.ip, now).unwrap();
    let verified = candidate.verify(password, policy);
    let rehash = verified.needs_rehash().then(|| {
        policy
            .hash(&policy.check_new(password, &[]).unwrap(), [77; 16])
            .unwrap()
    });
    write(c, |c| {
        connections::record_login(
            c,
            &verified,
            from,
            &ClientInfo::default(),
            &ThrottlePolicy::default(),
            rehash.as_ref(),
            now,
        )
    })
    .unwrap()
}

fn connection<C: SqlConnection + ?Sized>(c: &mut C, id: Id<Connection>) -> Connection {
    connections::get(c, id).unwrap().unwrap().record
}

fn get_account<C: SqlConnection + ?Sized>(c: &mut C, id: Id<Account>) -> Account {
    account::get(c, id).unwrap().unwrap().record
}

/// Every TEXT and BLOB value of every account table, for "nothing derived from X" checks.
fn all_stored_bytes<C: SqlConnection + ?Sized>(c: &mut C) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for def in accounts::schema::TABLES {
        let sql = format!("SELECT {} FROM {}", def.column_list(), def.name);
        for row in c.query(&sql, &[]).unwrap() {
            for v in row.values() {
                match v {
                    Value::Text(s) => out.push(s.as_bytes().to_vec()),
                    Value::Blob(b) => out.push(b.clone()),
                    _ => {}
                }
            }
        }
    }
    out
}

// ---- §C.5 scenarios ---------------------------------------------------------------------

/// Scenario 1, Orge's registration flow: alf → 1, anakin → 2, alf again refused, "Mr. Big"
/// not known, anakin deleted, anakin refused again (also after scrubbing), indiana → 3; after
/// a restart the same rows come back and the next id is 4.
pub fn scenario_1_registration<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let mut alf = new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1));
    alf.profile = Profile {
        first_name: Some(BoundedString::new("Gordon").unwrap()),
        last_name: Some(BoundedString::new("Shumway").unwrap()),
        ..Profile::default()
    };
    assert_eq!(register(&mut c, alf.clone(), at(0)).unwrap().get(), 1);
    let anakin = new_account(
        "anakin",
        "anakin@tatooine.org",
        hash(&policy, "the dark side", 2),
    );
    assert_eq!(register(&mut c, anakin.clone(), at(1)).unwrap().get(), 2);
    assert!(matches!(
        register(&mut c, alf, at(2)),
        Err(AccountError::LoginAlreadyRegistered(l)) if l.as_str() == "alf"
    ));
    assert!(matches!(
        write(&mut c, |c| account::unregister(c, "Mr. Big", at(3))),
        Err(AccountError::LoginNotKnown(_))
    ));
    assert_eq!(
        write(&mut c, |c| account::unregister(c, "anakin", at(4)))
            .unwrap()
            .get(),
        2
    );
    assert_eq!(
        get_account(&mut c, Id::new(2).unwrap()).status,
        AccountStatus::Deleted
    );
    assert!(matches!(
        register(&mut c, anakin.clone(), at(5)),
        Err(AccountError::LoginNotReusable(_))
    ));
    // Scrubbed: the login is gone from the row, its reservation is not.
    assert_eq!(
        write(&mut c, |c| account::scrub_deleted(c, at(4), at(6))).unwrap(),
        1
    );
    let mut again = anakin;
    again.email = EmailAddress::new("vader@empire.gov").unwrap();
    assert!(matches!(
        register(&mut c, again, at(7)),
        Err(AccountError::LoginNotReusable(_))
    ));
    let indiana = new_account(
        "indiana",
        "indy@marshall.edu",
        hash(&policy, "snakes, why", 3),
    );
    assert_eq!(register(&mut c, indiana, at(8)).unwrap().get(), 3);
    let before: Vec<Stored<Account>> = write(&mut c, |c| account::list(c)).unwrap();
    drop(c);

    // Restart.
    let mut c = open();
    let after = write(&mut c, |c| account::list(c)).unwrap();
    assert_eq!(after, before);
    let summary: Vec<(i64, Option<String>, AccountStatus)> = after
        .iter()
        .map(|a| {
            (
                a.id.get(),
                a.record.login.as_ref().map(|l| l.to_string()),
                a.record.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some("alf".to_owned()), AccountStatus::Active),
            (2, None, AccountStatus::Deleted),
            (3, Some("indiana".to_owned()), AccountStatus::Active),
        ]
    );
    let marty = new_account("marty", "marty@hill.edu", hash(&policy, "great scott!", 4));
    assert_eq!(register(&mut c, marty, at(9)).unwrap().get(), 4);
}

/// Scenario 2, constraint rejections in Rust and in raw SQL against the account tables: a
/// login over the limit, status `banned`, port 70000 and "9512x", `::1` in an IPv4 field, an
/// email without `@`, a date of birth in the future; 'Loué' counts as 4 characters.
pub fn scenario_2_constraints<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let alf = register(
        &mut c,
        new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    let set = |c: &mut C, column: &str, v: Value| {
        let sql = format!("UPDATE accounts SET {column} = $1 WHERE id = $2");
        c.execute(&sql, &[v, alf.to_value()])
    };
    let long = "a".repeat(Login::MAX_LEN + 1);
    assert!(Login::new(&long).is_err());
    refused(
        set(&mut c, "login", text(&long)),
        CHECK,
        "33-character login",
    );
    assert!("banned".parse::<AccountStatus>().is_err());
    refused(
        set(&mut c, "status", text("banned")),
        CHECK,
        "status banned",
    );
    assert!(EmailAddress::new("alf.vega.com").is_err());
    refused(
        set(&mut c, "email", text("alf.vega.com")),
        CHECK,
        "email without @",
    );
    // A date of birth after the registration date: Rust refuses the registration, the
    // database refuses the row (a CHECK against created_at, since CHECKs cannot read a clock).
    let mut born_later = new_account("young", "young@vega.com", hash(&policy, "not born yet", 2));
    born_later.profile.date_of_birth = Some("2030-01-01".parse().unwrap());
    assert!(matches!(
        register(&mut c, born_later, at(0)),
        Err(AccountError::Invalid(_))
    ));
    refused(
        set(&mut c, "date_of_birth", text("2030-01-01")),
        CHECK,
        "born in the future",
    );
    set(&mut c, "date_of_birth", text("1986-09-22")).unwrap();

    let insert_connection = |c: &mut C, ip: Value, port: Value| {
        c.execute(
            "INSERT INTO connections (started_at, ended_at, outcome, peer_ip, peer_port) \
             VALUES ($1, $1, 'timed_out', $2, $3)",
            &[at(1).to_value(), ip, port],
        )
    };
    assert!(Port::try_from(70_000).is_err() && "9512x".parse::<Port>().is_err());
    refused(
        insert_connection(&mut c, text("7f000001"), Value::Integer(70_000)),
        CHECK,
        "port 70000",
    );
    refused(
        insert_connection(&mut c, text("7f000001"), text("9512x")),
        TYPE_REFUSED,
        "port 9512x",
    );
    insert_connection(&mut c, text("7f000001"), Value::Integer(9512)).unwrap();
    // `::1` in an IPv4 field (the probe's; the connection log takes IPv6 too).
    assert!("::1".parse::<Ipv4Address>().is_err());
    let v6 = "::1".parse::<IpAddress>().unwrap().to_hex();
    refused(
        raw(&mut c, "ipv4", text(&v6)),
        CHECK,
        "::1 in an IPv4 column",
    );
    insert_connection(&mut c, text(&v6), Value::Integer(9512)).unwrap();
    // 'Loué' is 4 characters in Rust and in SQL.
    assert!(BoundedString::<4>::new("Loué").is_ok() && BoundedString::<4>::new("Louée").is_err());
    raw(&mut c, "label", text("Loué")).unwrap();
    refused(raw(&mut c, "label", text("Louée")), CHECK, "Louée");
}

/// Scenario 3, the id contract: deleting the highest row does not give its id again; a
/// rolled-back insert leaves no gap on SQLite (AUTOINCREMENT keeps its high mark in
/// `sqlite_sequence`, inside the transaction) and a gap on PostgreSQL (a sequence is not
/// transactional), and in both cases no id is ever handed out twice, also after a restart.
pub fn scenario_3_ids<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let mut c = fresh(open);
    let name = |s: &str| ProbeParent {
        name: BoundedString::new(s).unwrap(),
    };
    let ids: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|s| rows::insert(&mut c, &name(s)).unwrap().get())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    c.execute("DELETE FROM probe_parents WHERE id = 3", &[])
        .unwrap();
    assert_eq!(
        rows::insert(&mut c, &name("d")).unwrap().get(),
        4,
        "3 is not reused"
    );

    let begin = c.dialect().begin_write();
    c.execute_batch(begin).unwrap();
    assert_eq!(rows::insert(&mut c, &name("e")).unwrap().get(), 5);
    c.execute_batch("ROLLBACK").unwrap();
    let after_rollback = rows::insert(&mut c, &name("f")).unwrap().get();
    match c.dialect() {
        Dialect::Postgres => assert_eq!(after_rollback, 6, "the rolled-back 5 is skipped"),
        _ => assert_eq!(after_rollback, 5, "no gap on SQLite"),
    }
    c.execute("DELETE FROM probe_parents", &[]).unwrap();
    drop(c);
    let mut c = open();
    let next = rows::insert(&mut c, &name("g")).unwrap().get();
    assert_eq!(
        next,
        after_rollback + 1,
        "not rebuilt from max(id) + 1 after a restart"
    );
}

/// Scenario 7 (the parts without a server): alf logs in → `access_granted` and a live
/// session; a second login → `already_connected`, the live row unchanged; a crash and a
/// restart → the open row becomes `server_restart` and alf can log in again; a bad password
/// → a `bad_password` row with nothing derived from the password.
pub fn scenario_7_connections<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let stored_hash = hash(&policy, "I love cats", 1);
    let alf = register(
        &mut c,
        new_account("alf", "alf@vega.com", stored_hash.clone()),
        at(0),
    )
    .unwrap();
    let home = peer("192.0.2.10", 50_000);

    let first = login(&mut c, &policy, "alf", "I love cats", &home, at(10));
    assert_eq!(first.outcome, ConnectionOutcome::AccessGranted);
    assert_eq!(first.account, Some(alf));
    let live = write(&mut c, |c| connections::live_sessions(c, alf)).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(Some(&live[0]), first.session.as_ref());
    assert_eq!(live[0].connection_id, SoftRef::new(first.connection));
    let row = connection(&mut c, first.connection);
    assert_eq!(
        (row.outcome, row.ended_at),
        (ConnectionOutcome::AccessGranted, None)
    );

    let second = login(
        &mut c,
        &policy,
        "alf",
        "I love cats",
        &peer("198.51.100.7", 40_000),
        at(11),
    );
    assert_eq!(second.outcome, ConnectionOutcome::AlreadyConnected);
    assert_eq!(second.session, None);
    assert_eq!(
        write(&mut c, |c| connections::live_sessions(c, alf)).unwrap(),
        live
    );
    assert_eq!(connection(&mut c, second.connection).ended_at, Some(at(11)));

    // The server dies while alf is connected; at the next start, recovery.
    drop(c);
    let mut c = open();
    assert_eq!(
        write(&mut c, |c| connections::recover_at_start(c, at(20))).unwrap(),
        1
    );
    let row = connection(&mut c, first.connection);
    assert_eq!(row.outcome, ConnectionOutcome::ServerRestart);
    assert_eq!(row.ended_at, Some(at(20)));
    assert_eq!(
        write(&mut c, |c| connections::live_session_count(c)).unwrap(),
        0
    );
    let again = login(&mut c, &policy, "alf", "I love cats", &home, at(21));
    assert_eq!(again.outcome, ConnectionOutcome::AccessGranted);
    write(&mut c, |c| {
        connections::close_session(
            c,
            again.connection,
            ConnectionOutcome::NormalClientSideTermination,
            at(22),
        )
    })
    .unwrap();
    assert!(
        write(&mut c, |c| connections::live_sessions(c, alf))
            .unwrap()
            .is_empty()
    );

    // A bad password: the row is exactly this, and no stored byte comes from the password.
    let bad = login(&mut c, &policy, "alf", "I love dogs", &home, at(30));
    assert_eq!(bad.outcome, ConnectionOutcome::BadPassword);
    let expected = Connection {
        started_at: at(30),
        ended_at: Some(at(30)),
        outcome: ConnectionOutcome::BadPassword,
        account_id: Some(alf),
        sent_login: Some(Login::new("alf").unwrap()),
        sent_login_key: None,
        peer_ip: home.ip,
        peer_port: home.port,
        client_version: None,
        reverse_dns: None,
        geo_country: None,
        geo_region: None,
        geo_city: None,
        geo_postal_code: None,
        geo_db_version: None,
        redacted_at: None,
    };
    assert_eq!(connection(&mut c, bad.connection), expected);
    assert!(
        Connection::DEF
            .columns
            .iter()
            .all(|col| !col.name.contains("password")),
        "the connection log has no password column"
    );
    assert_eq!(get_account(&mut c, alf).password_hash, Some(stored_hash));
    for bytes in all_stored_bytes(&mut c) {
        assert!(
            !bytes
                .windows(b"I love dogs".len())
                .any(|w| w == b"I love dogs"),
            "the submitted password is stored"
        );
    }
    // The throttling rows hold keyed digests of the login and the address only.
    for kind in [ThrottleKind::Login, ThrottleKind::Address] {
        let subject = match kind {
            ThrottleKind::Login => key().sent_login("alf"),
            ThrottleKind::Address => key().address(home.ip),
        };
        let t = write(&mut c, |c| throttle::state(c, kind, &subject))
            .unwrap()
            .unwrap();
        assert_eq!(t.failures.get(), 1);
    }
    let counters: i64 = c.query("SELECT count(*) FROM login_throttle", &[]).unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(counters, 2);

    // An unknown login: no account, a keyed digest of what was sent.
    let unknown = login(&mut c, &policy, "mrbig", "whatever it is", &home, at(31));
    assert_eq!(unknown.outcome, ConnectionOutcome::UnknownLogin);
    let row = connection(&mut c, unknown.connection);
    assert_eq!(row.account_id, None);
    assert_eq!(row.sent_login, None);
    assert_eq!(row.sent_login_key, Some(key().sent_login("mrbig")));
}

/// Several sessions per account (`max_sessions`), slot reuse, suspension ending sessions and
/// refusing logins, and `close_session` on something not open.
pub fn accounts_sessions_and_status<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let mut two = new_account(
        "leia",
        "leia@alderaan.org",
        hash(&policy, "help me obi-wan", 1),
    );
    two.max_sessions = Int::new(2).unwrap();
    let leia = register(&mut c, two, at(0)).unwrap();
    let p = peer("2001:db8::7", 1234);
    let a = login(&mut c, &policy, "leia", "help me obi-wan", &p, at(1));
    let b = login(&mut c, &policy, "LEIA", "help me obi-wan", &p, at(2));
    let third = login(&mut c, &policy, "leia", "help me obi-wan", &p, at(3));
    assert_eq!(
        [a.outcome, b.outcome, third.outcome],
        [
            ConnectionOutcome::AccessGranted,
            ConnectionOutcome::AccessGranted,
            ConnectionOutcome::AlreadyConnected
        ]
    );
    let slots = |c: &mut C| -> Vec<i64> {
        write(c, |c| connections::live_sessions(c, leia))
            .unwrap()
            .iter()
            .map(|s| s.slot.get())
            .collect()
    };
    assert_eq!(slots(&mut c), [1, 2]);
    write(&mut c, |c| {
        connections::close_session(c, a.connection, ConnectionOutcome::TimedOut, at(4))
    })
    .unwrap();
    assert!(matches!(
        write(&mut c, |c| connections::close_session(
            c,
            a.connection,
            ConnectionOutcome::TimedOut,
            at(5)
        )),
        Err(AccountError::NotOpen(_))
    ));
    let d = login(&mut c, &policy, "leia", "help me obi-wan", &p, at(6));
    assert_eq!(d.outcome, ConnectionOutcome::AccessGranted);
    assert_eq!(slots(&mut c), [1, 2], "the freed slot 1 is taken again");

    // Suspension ends the sessions and refuses the right password as not active.
    assert!(write(&mut c, |c| account::suspend(c, leia, at(7))).unwrap());
    assert!(slots(&mut c).is_empty());
    assert_eq!(
        connection(&mut c, b.connection).outcome,
        ConnectionOutcome::ShutdownByServer
    );
    let refused_login = login(&mut c, &policy, "leia", "help me obi-wan", &p, at(8));
    assert_eq!(refused_login.outcome, ConnectionOutcome::AccountNotActive);
    assert!(write(&mut c, |c| account::activate(c, leia, at(9))).unwrap());
    assert!(!write(&mut c, |c| account::activate(c, leia, at(9))).unwrap());
    let back = login(&mut c, &policy, "leia", "help me obi-wan", &p, at(10));
    assert_eq!(back.outcome, ConnectionOutcome::AccessGranted);
    // Deleted: final.
    write(&mut c, |c| account::delete(c, leia, at(11))).unwrap();
    assert!(matches!(
        write(&mut c, |c| account::activate(c, leia, at(12))),
        Err(AccountError::WrongStatus {
            status: AccountStatus::Deleted,
            ..
        })
    ));
    assert!(slots(&mut c).is_empty());
}

/// Back-off: after the free failures a login is locked out and not even verified (the right
/// password is `throttled`); after the lock-out a success clears the login's counter.
pub fn accounts_throttling<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    register(
        &mut c,
        new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    let p = peer("192.0.2.10", 50_000);
    let t = at(10);
    for _ in 0..4 {
        let r = login(&mut c, &policy, "alf", "wrong guess", &p, t);
        assert_eq!(r.outcome, ConnectionOutcome::BadPassword);
    }
    // 4 failures with 3 free: locked for 1 s.
    let subject = key().sent_login("alf");
    let state = write(&mut c, |c| {
        throttle::state(c, ThrottleKind::Login, &subject)
    })
    .unwrap()
    .unwrap();
    assert_eq!(state.failures.get(), 4);
    assert_eq!(
        state.locked_until,
        Some(t.checked_add(TimeDelta::seconds(1)).unwrap())
    );
    let locked = login(&mut c, &policy, "alf", "I love cats", &p, t);
    assert_eq!(locked.outcome, ConnectionOutcome::Throttled);
    // Unknown logins are throttled alike (nothing tells which logins exist).
    for _ in 0..4 {
        login(&mut c, &policy, "nobody", "wrong guess", &p, t);
    }
    assert_eq!(
        login(&mut c, &policy, "nobody", "wrong guess", &p, t).outcome,
        ConnectionOutcome::Throttled
    );
    let later = t.checked_add(TimeDelta::seconds(2)).unwrap();
    assert_eq!(
        login(&mut c, &policy, "alf", "I love cats", &p, later).outcome,
        ConnectionOutcome::AccessGranted
    );
    assert_eq!(
        write(&mut c, |c| throttle::state(
            c,
            ThrottleKind::Login,
            &subject
        ))
        .unwrap(),
        None,
        "a success clears the login's counter"
    );
    let address = write(&mut c, |c| {
        throttle::state(c, ThrottleKind::Address, &key().address(p.ip))
    })
    .unwrap()
    .unwrap();
    assert_eq!(address.failures.get(), 8, "but not the address's");
    // Quiet for longer than forget_after: forgotten.
    let much_later = later.checked_add(TimeDelta::days(2)).unwrap();
    let forgotten = write(&mut c, |c| {
        throttle::forget_quiet(c, &ThrottlePolicy::default(), much_later)
    })
    .unwrap();
    assert_eq!(forgotten, 2);
}

/// Rehash at login: a hash below the policy's costs is replaced after a successful login
/// (same password, `password_changed_at` unchanged).
pub fn accounts_rehash_on_login<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let weak = cheap_policy();
    let stronger = PasswordPolicy::with_costs(128, 2, 1).unwrap();
    let mut c = fresh(open);
    let alf = register(
        &mut c,
        new_account("alf", "alf@vega.com", hash(&weak, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    let p = peer("192.0.2.10", 50_000);
    let r = login(&mut c, &stronger, "alf", "I love cats", &p, at(1));
    assert_eq!(r.outcome, ConnectionOutcome::AccessGranted);
    let a = get_account(&mut c, alf);
    let h = a.password_hash.unwrap();
    assert_eq!((h.m_cost(), h.t_cost()), (128, 2));
    assert_eq!(a.password_changed_at, Some(at(0)));
    assert!(stronger.verify("I love cats", Some(&h)));
}

/// Grants: an account's own address is its calendar (owner); grants add others with roles.
pub fn accounts_grants<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let alf = register(
        &mut c,
        new_account("alf", "Alf@Vega.com", hash(&policy, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    let own = CalendarUri::new("mailto:Alf@vega.com").unwrap();
    let room = CalendarUri::new("mailto:resource-room-confroom@example.com").unwrap();
    let list = |c: &mut C| write(c, |c| grants::calendars(c, alf)).unwrap();
    assert_eq!(
        list(&mut c),
        [CalendarAccess {
            calendar: own.clone(),
            role: GrantRole::Owner,
            own: true
        }]
    );
    write(&mut c, |c| {
        grants::grant(c, alf, &room, GrantRole::Read, at(1))
    })
    .unwrap();
    write(&mut c, |c| {
        grants::grant(c, alf, &room, GrantRole::Write, at(2))
    })
    .unwrap();
    write(&mut c, |c| {
        grants::grant(c, alf, &own, GrantRole::Read, at(2))
    })
    .unwrap();
    assert_eq!(
        list(&mut c),
        [
            CalendarAccess {
                calendar: own.clone(),
                role: GrantRole::Owner,
                own: true
            },
            CalendarAccess {
                calendar: room.clone(),
                role: GrantRole::Write,
                own: false
            },
        ]
    );
    assert_eq!(
        write(&mut c, |c| grants::grantees(c, &room)).unwrap(),
        [(alf, GrantRole::Write)]
    );
    assert!(write(&mut c, |c| grants::revoke(c, alf, &room)).unwrap());
    assert!(!write(&mut c, |c| grants::revoke(c, alf, &room)).unwrap());
    refused(
        c.execute(
            "INSERT INTO account_calendars (account_id, calendar, role, granted_at) \
             VALUES ($1, 'mailto:x@y', 'admin', 0)",
            &[alf.to_value()],
        ),
        CHECK,
        "role admin",
    );
    refused(
        c.execute(
            "INSERT INTO account_calendars (account_id, calendar, role, granted_at) \
             VALUES (99, 'mailto:x@y', 'read', 0)",
            &[],
        ),
        &[DbErrorKind::ForeignKeyViolation],
        "grant to no account",
    );
    write(&mut c, |c| {
        grants::grant(c, alf, &room, GrantRole::Read, at(3))
    })
    .unwrap();
    write(&mut c, |c| account::delete(c, alf, at(4))).unwrap();
    assert!(
        write(&mut c, |c| grants::grantees(c, &room))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        write(&mut c, |c| grants::grant(
            c,
            alf,
            &room,
            GrantRole::Read,
            at(5)
        )),
        Err(AccountError::WrongStatus { .. })
    ));
}

/// Reset tokens: stored as hashes, single use, short-lived, cancelled by a new password.
pub fn accounts_password_reset<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let old_hash = hash(&policy, "I love cats", 1);
    let alf = register(&mut c, new_account("alf", "alf@vega.com", old_hash), at(0)).unwrap();
    let issue = |c: &mut C, token: &ResetToken, ttl: TimeDelta, t: i64| {
        write(c, |c| resets::create(c, alf, token, ttl, at(t)))
    };
    let new_hash = hash(&policy, "I love dogs now", 2);
    let reset = |c: &mut C, token: &ResetToken, t: i64| {
        write(c, |c| resets::reset_password(c, token, &new_hash, at(t)))
    };

    let token = ResetToken::new([5; 32]);
    issue(&mut c, &token, resets::DEFAULT_TTL, 1).unwrap();
    for bytes in all_stored_bytes(&mut c) {
        assert_ne!(
            bytes.as_slice(),
            token.as_bytes(),
            "the token itself is stored"
        );
    }
    assert_eq!(reset(&mut c, &token, 10).unwrap(), alf);
    let a = get_account(&mut c, alf);
    assert_eq!(a.password_hash.as_ref(), Some(&new_hash));
    assert_eq!(a.password_changed_at, Some(at(10)));
    let invalid =
        |r: accounts::Result<Id<Account>>| matches!(r, Err(AccountError::ResetTokenInvalid));
    assert!(invalid(reset(&mut c, &token, 11)), "used twice");

    let late = ResetToken::new([6; 32]);
    issue(&mut c, &late, resets::DEFAULT_TTL, 20).unwrap();
    assert!(invalid(reset(&mut c, &late, 51)), "expired");

    let pending = ResetToken::new([7; 32]);
    issue(&mut c, &pending, resets::DEFAULT_TTL, 60).unwrap();
    let another = hash(&policy, "yet another one", 3);
    write(&mut c, |c| {
        account::set_password_hash(c, alf, &another, at(61))
    })
    .unwrap();
    assert!(
        invalid(reset(&mut c, &pending, 62)),
        "cancelled by a password change"
    );

    assert!(
        issue(&mut c, &pending, TimeDelta::days(2), 63).is_err(),
        "longer than 24 h"
    );
    assert_eq!(
        write(&mut c, |c| resets::purge_expired(c, at(200))).unwrap(),
        3
    );
}

/// Scrubbing a deleted account: every personal column and the hash become NULL (the database
/// refuses to put them back), the id and the login's reservation stay, the email is free.
pub fn accounts_scrub<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let mut new = new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1));
    new.profile = Profile {
        first_name: Some(BoundedString::new("Gordon").unwrap()),
        last_name: Some(BoundedString::new("Shumway").unwrap()),
        date_of_birth: Some("1986-09-22".parse().unwrap()),
        address_line_1: Some(BoundedString::new("167 Hemdale Street").unwrap()),
        address_line_2: None,
        city: Some(BoundedString::new("Los Angeles").unwrap()),
        state: Some(BoundedString::new("California").unwrap()),
        postal_code: Some(BoundedString::new("90034").unwrap()),
        country: Some(CountryCode::new("US").unwrap()),
        home_phone: Some(Phone::new("+1 310 555 0100").unwrap()),
        mobile_phone: None,
    };
    let alf = register(&mut c, new, at(0)).unwrap();
    login(
        &mut c,
        &policy,
        "alf",
        "I love cats",
        &peer("192.0.2.1", 5000),
        at(1),
    );
    write(&mut c, |c| account::delete(c, alf, at(2))).unwrap();
    assert_eq!(
        write(&mut c, |c| account::scrub_deleted(c, at(1), at(3))).unwrap(),
        0,
        "grace period"
    );
    assert_eq!(
        write(&mut c, |c| account::scrub_deleted(c, at(2), at(3))).unwrap(),
        1
    );
    let a = get_account(&mut c, alf);
    assert_eq!(a.status, AccountStatus::Deleted);
    assert_eq!((a.deleted_at, a.scrubbed_at), (Some(at(2)), Some(at(3))));
    assert_eq!(a.login_key, key().login(&Login::new("alf").unwrap()));
    let personal = Account {
        login: None,
        email: None,
        email_verified_at: None,
        first_name: None,
        last_name: None,
        date_of_birth: None,
        address_line_1: None,
        address_line_2: None,
        city: None,
        state: None,
        postal_code: None,
        country: None,
        home_phone: None,
        mobile_phone: None,
        password_hash: None,
        password_changed_at: None,
        ..a.clone()
    };
    assert_eq!(a, personal);
    refused(
        c.execute(
            "UPDATE accounts SET city = 'Melmac' WHERE id = $1",
            &[alf.to_value()],
        ),
        CHECK,
        "personal data back into a scrubbed account",
    );
    let logged: Vec<Option<String>> = c
        .query(
            "SELECT sent_login FROM connections WHERE account_id = $1",
            &[alf.to_value()],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(logged, [None]);
    assert!(matches!(
        register(
            &mut c,
            new_account("alf", "other@vega.com", hash(&policy, "I love cats", 2)),
            at(4)
        ),
        Err(AccountError::LoginNotReusable(_))
    ));
    // The address is free again (it was personal data, now gone).
    register(
        &mut c,
        new_account("gordon", "ALF@vega.com", hash(&policy, "I love cats", 3)),
        at(5),
    )
    .unwrap();
}

/// Uniqueness: the email case-insensitively, the login reservation; in Rust and raw SQL.
pub fn accounts_uniqueness<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    let alf = register(
        &mut c,
        new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    assert!(matches!(
        register(
            &mut c,
            new_account("gordon", "ALF@Vega.COM", hash(&policy, "I love cats", 2)),
            at(1)
        ),
        Err(AccountError::EmailAlreadyRegistered(_))
    ));
    let copy = |c: &mut C, column: &str, value: Value| {
        let a = get_account(c, alf);
        let mut values = Account {
            login: Login::new("other").ok(),
            email: EmailAddress::new("other@vega.com").ok(),
            login_key: key().login(&Login::new("other").unwrap()),
            ..a
        }
        .values();
        let index = Account::DEF
            .columns
            .iter()
            .position(|col| col.name == column)
            .unwrap()
            - 1;
        values[index] = value;
        c.query(&Account::sql().insert, &values)
    };
    let unique = &[DbErrorKind::UniqueViolation];
    match copy(&mut c, "email", text("ALF@VEGA.COM")) {
        Ok(_) => panic!("duplicate email accepted"),
        Err(e) => assert!(unique.contains(e.kind()), "{e}"),
    }
    match copy(
        &mut c,
        "login_key",
        key().login(&Login::new("alf").unwrap()).to_value(),
    ) {
        Ok(_) => panic!("duplicate login reservation accepted"),
        Err(e) => assert!(unique.contains(e.kind()), "{e}"),
    }
    copy(&mut c, "role", AccountRole::Admin.to_value()).unwrap();
}

/// Retention: old ended connections lose the host part of the address (the same as
/// [`IpAddress::truncated`]) and the finer details; open sessions are untouched; a second
/// run does nothing; old rows can be deleted.
pub fn accounts_retention<C: SqlConnection, F: FnMut() -> C>(open: &mut F) {
    let policy = cheap_policy();
    let mut c = fresh(open);
    register(
        &mut c,
        new_account("alf", "alf@vega.com", hash(&policy, "I love cats", 1)),
        at(0),
    )
    .unwrap();
    let v4 = peer("192.0.2.77", 5000);
    let v6 = peer("2001:db8:1:2:3:4:5:6", 5001);
    let old_bad = login(&mut c, &policy, "alf", "wrong guess", &v4, at(1));
    let old_unknown = login(&mut c, &policy, "nobody", "wrong guess", &v6, at(2));
    let open_session = login(&mut c, &policy, "alf", "I love cats", &v4, at(3));
    let day = 24 * 60;
    let recent = login(&mut c, &policy, "alf", "wrong guess", &v4, at(100 * day));
    let report = write(&mut c, |c| {
        connections::apply_retention(c, at(90 * day), None, at(100 * day + 1))
    })
    .unwrap();
    assert_eq!(
        report,
        connections::RetentionReport {
            redacted: 2,
            deleted: 0
        }
    );
    let a = connection(&mut c, old_bad.connection);
    assert_eq!(a.peer_ip, v4.ip.truncated());
    assert_eq!(a.peer_ip.to_string(), "192.0.2.0");
    assert_eq!(
        (a.sent_login, a.redacted_at),
        (None, Some(at(100 * day + 1)))
    );
    assert!(a.account_id.is_some(), "the link to the account stays");
    let b = connection(&mut c, old_unknown.connection);
    assert_eq!(b.peer_ip, v6.ip.truncated());
    assert_eq!(b.peer_ip.to_string(), "2001:db8:1::");
    assert_eq!(b.sent_login_key, None);
    assert_eq!(connection(&mut c, open_session.connection).peer_ip, v4.ip);
    assert_eq!(connection(&mut c, recent.connection).peer_ip, v4.ip);
    let again = write(&mut c, |c| {
        connections::apply_retention(c, at(90 * day), None, at(100 * day + 2))
    })
    .unwrap();
    assert_eq!(again.redacted, 0);
    let deleted = write(&mut c, |c| {
        connections::apply_retention(c, at(90 * day), Some(at(90 * day)), at(100 * day + 3))
    })
    .unwrap();
    assert_eq!(
        deleted,
        connections::RetentionReport {
            redacted: 0,
            deleted: 2
        }
    );
    assert!(
        connections::get(&mut c, open_session.connection)
            .unwrap()
            .is_some()
    );
}

/// Lists every case (each `pub fn` above taking an opener), for a backend's callback macro:
/// `typed_cases!(callback, prefix tokens)` expands to `callback! { prefix tokens; case, … }`.
#[macro_export]
macro_rules! typed_cases {
    ($callback:ident, $($prefix:tt)*) => {
        $callback! {
            $($prefix)*;
            typed_id,
            typed_ref,
            typed_int,
            typed_str,
            typed_login,
            typed_enum_values,
            typed_email,
            typed_ipv4,
            typed_ip,
            typed_port,
            typed_time,
            typed_date,
            typed_phone,
            typed_country,
            typed_password_hash,
            typed_digest,
            typed_calendar_uri,
            typed_schema_matches_declarations,
            scenario_1_registration,
            scenario_2_constraints,
            scenario_3_ids,
            scenario_7_connections,
            accounts_sessions_and_status,
            accounts_throttling,
            accounts_rehash_on_login,
            accounts_grants,
            accounts_password_reset,
            accounts_scrub,
            accounts_uniqueness,
            accounts_retention,
        }
    };
}

/// Expands to one test per case: `#[$attr] fn case() { let mut open = $opener;
/// calstore_tests::typed::case(&mut open) }`; `$opener` is evaluated once per case and gives
/// a fresh database.
#[macro_export]
macro_rules! typed_suite {
    (#[$attr:meta] $opener:expr; $($case:ident),* $(,)?) => {
        $(
            #[$attr]
            fn $case() {
                let mut open = $opener;
                $crate::typed::$case(&mut open);
            }
        )*
    };
}

/// The names of the cases in [`typed_cases!`](crate::typed_cases).
pub const CASES: &[&str] = crate::typed_cases!(case_names,);

#[cfg(test)]
mod tests {
    /// Every case defined in this file is listed in `typed_cases!` exactly once.
    #[test]
    fn every_typed_case_is_listed_once() {
        let mut defined: Vec<&str> = include_str!("typed.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub fn "))
            .filter_map(|l| {
                l.split_once("<C: SqlConnection, F: FnMut() -> C>")
                    .map(|(name, _)| name)
            })
            .collect();
        defined.sort_unstable();
        let mut listed = super::CASES.to_vec();
        listed.sort_unstable();
        let n = listed.len();
        listed.dedup();
        assert_eq!(listed.len(), n, "a case is listed twice");
        assert_eq!(listed, defined);
    }
}
