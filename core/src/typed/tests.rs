//! Golden tests of the generated DDL, on a table with a column of every field type.
//!
//! The expected text is in `golden/sample.{sqlite,postgres}.sql`. After an intended change,
//! regenerate with `CALSTORE_BLESS=1 cargo test -p calstore-core typed::tests` and review the
//! diff.

use super::*;
use crate::sql::Dialect;

crate::typed_enum! {
    /// A test enumeration.
    pub enum Mood {
        /// Happy.
        Happy = "happy",
        /// Grumpy.
        Grumpy = "grumpy",
    }
}

crate::typed_table! {
    /// The parent of [`Sample`].
    pub struct Parent in "parents" {
        /// A name.
        pub name: BoundedString<8>,
    }
    identity;
    storage: StorageClass::DiskOnly;
}

crate::typed_table! {
    /// Every field type once.
    pub struct Sample in "samples" {
        pub parent: Id<Parent>,
        pub loose_parent: Option<SoftRef<Parent>>,
        pub count: Int<0, 9> = ColumnDefault::Integer(0),
        pub label: BoundedString<4>,
        pub login: Option<Login>,
        pub mood: Mood = ColumnDefault::Text("happy"),
        pub email: Option<EmailAddress>,
        pub ipv4: Option<Ipv4Address>,
        pub ip: Option<IpAddress>,
        pub port: Option<Port>,
        pub at: UtcTime,
        pub day: Option<Date>,
        pub phone: Option<Phone>,
        pub country: Option<CountryCode>,
        pub password_hash: Option<PasswordHash>,
        pub digest: Option<Digest>,
        pub calendar: Option<CalendarUri>,
    }
    identity;
    storage: StorageClass::MemoryWithSnapshots { every: std::time::Duration::from_secs(60), keep: 2 };
    uniques: [IndexDef::on("samples_email", &[IndexKey::Lower("email")])];
    indexes: [
        IndexDef::on("samples_parent_at", &[IndexKey::Column("parent"), IndexKey::Column("at")]),
        IndexDef::on("samples_open", &[IndexKey::Column("at")]).partial("day IS NULL"),
    ];
    checks: [CheckDef {
        name: "samples_day_after_at",
        sqlite: "day >= date(at / 1000000, 'unixepoch')",
        postgres: "day >= to_char(to_timestamp(at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    }];
}

crate::typed_table! {
    /// A table keyed by two columns, without an identity.
    pub struct Pair in "pairs" {
        pub parent: Id<Parent>,
        pub slot: Int<1, 4>,
    }
    storage: StorageClass::MemoryAndDisk;
    primary_key: ["parent", "slot"];
}

fn golden(name: &str, actual: &str) {
    crate::typed::assert_golden("typed", name, actual);
}

fn script(dialect: Dialect) -> String {
    let mut out = String::new();
    for def in [Parent::DEF, Sample::DEF, Pair::DEF] {
        for stmt in def.ddl(dialect) {
            out.push_str(&stmt);
            out.push_str(";\n");
        }
    }
    out
}

#[test]
fn sample_ddl_sqlite() {
    golden("sample.sqlite.sql", &script(Dialect::Sqlite));
}

#[test]
fn sample_ddl_postgres() {
    golden("sample.postgres.sql", &script(Dialect::Postgres));
}

#[test]
fn declaration_follows_the_struct() {
    for def in [Parent::DEF, Sample::DEF, Pair::DEF] {
        def.validate().unwrap();
    }
    assert!(Sample::DEF.has_identity());
    assert!(!Pair::DEF.has_identity());
    let names: Vec<&str> = Sample::DEF.columns.iter().map(|c| c.name).collect();
    assert_eq!(names[..4], ["id", "parent", "loose_parent", "count"]);
    let label = Sample::DEF.column("label").unwrap();
    assert_eq!(label.ty, FieldType::Str { max: 4 });
    assert_eq!(label.presence, Presence::Mandatory);
    assert_eq!(
        Sample::DEF.column("login").unwrap().presence,
        Presence::Optional
    );
    assert_eq!(
        Sample::DEF.column("parent").unwrap().ty,
        FieldType::Ref { table: "parents" }
    );
    assert_eq!(
        Sample::DEF.column("mood").unwrap().ty,
        FieldType::Enum {
            variants: &["happy", "grumpy"]
        }
    );
    assert_eq!(Mood::ALL, [Mood::Happy, Mood::Grumpy]);
    // Every FieldType but Id appears as a record column.
    assert_eq!(Sample::DEF.columns.len(), 18);
}

#[test]
fn insert_statement_skips_the_identity() {
    assert_eq!(
        Parent::sql().insert,
        "INSERT INTO parents (name) VALUES ($1) RETURNING id"
    );
    assert_eq!(
        Pair::sql().insert,
        "INSERT INTO pairs (parent, slot) VALUES ($1, $2)"
    );
    assert_eq!(Pair::sql().columns, "parent, slot");
    assert_eq!(
        rows::select_sql::<Parent>("WHERE id = $1"),
        "SELECT id, name FROM parents WHERE id = $1"
    );
}

#[test]
fn record_round_trips_through_values() {
    let pair = Pair {
        parent: Id::new(3).unwrap(),
        slot: Int::new(2).unwrap(),
    };
    let mut row = crate::Row::new(pair.values());
    assert_eq!(Pair::from_row_at(&mut row, 0).unwrap(), pair);
    // A stored value that breaks the type's rule is a decode error naming the column.
    let mut bad = crate::Row::new(vec![crate::Value::Integer(3), crate::Value::Integer(5)]);
    let err = Pair::from_row_at(&mut bad, 0).unwrap_err();
    assert!(matches!(
        err.kind(),
        crate::DbErrorKind::Decode {
            index: 1,
            expected: "bounded integer",
            ..
        }
    ));
}

#[test]
fn invalid_declarations_are_reported() {
    let mut def = Pair::DEF;
    def.primary_key = &["nope"];
    assert!(def.validate().is_err());
    let mut def = Pair::DEF;
    def.name = "Pairs";
    assert!(def.validate().is_err());
    let mut def = Sample::DEF;
    const MISSING: &[IndexDef] = &[IndexDef::on("x", &[IndexKey::Column("missing")])];
    def.indexes = MISSING;
    assert!(def.validate().is_err());
}
