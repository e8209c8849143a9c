//! Calendar addresses in one spelling (issue 11, item 8; `calstore_core::address`): the
//! scheme and a mail domain are case-insensitive, the local part is not; rows written before
//! the rule are migrated (store schema version 3).

use std::collections::BTreeMap;

use calstore_core::address;
use calstore_core::changes::Scope;
use calstore_core::schema;
use calstore_core::{Booking, QuotaDecision, SqlConnection, Status, Value};

use crate::support::*;

fn text(uid: &str, summary: &str) -> String {
    format!("BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n")
}

/// Every write and read of the store and the journal takes the address in any spelling of
/// its scheme and domain; the local part stays as given.
pub fn addresses_in_one_spelling<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    let shouting = "MAILTO:paul.boddie@EXAMPLE.com";
    s.set_event(shouting, "a", None, &text("a", "one")).unwrap();
    s.set_event(
        "Mailto:paul.boddie@example.COM",
        "b",
        None,
        &text("b", "two"),
    )
    .unwrap();
    assert_eq!(s.users().unwrap(), [PAUL]);
    assert_eq!(s.get_events(PAUL).unwrap(), ["a", "b"]);
    assert_eq!(s.get_events(shouting).unwrap(), ["a", "b"]);
    assert!(s.user_exists("mailto:paul.boddie@Example.Com").unwrap());
    // The local part is the receiving domain's to compare: another user.
    let capital = "mailto:Paul.Boddie@example.com";
    assert!(!s.user_exists(capital).unwrap());
    s.set_event(capital, "c", None, &text("c", "three"))
        .unwrap();
    assert_eq!(s.users().unwrap(), [capital, PAUL]);
    assert_eq!(s.get_events(capital).unwrap(), ["c"]);
    assert_eq!(s.revision(PAUL).unwrap(), 2);
    // Another user's free/busy and a counter-proposal's sender.
    let p = [period("20261201T100000Z", "20261201T110000Z", Some("x"))];
    s.set_freebusy_for_other(RESOURCE, "MAILTO:vincent.vole@Example.com", &p)
        .unwrap();
    assert_eq!(s.get_freebusy_others(RESOURCE).unwrap(), [VINCENT]);
    assert_eq!(s.get_freebusy_for_other(RESOURCE, VINCENT).unwrap(), p);
    s.set_counter(
        PAUL,
        "MAILTO:vincent.vole@EXAMPLE.COM",
        "a",
        None,
        &text("a", "later"),
    )
    .unwrap();
    assert_eq!(s.get_counters(PAUL, "a", None).unwrap(), [VINCENT]);
    // The journal: delegates, groups and a booking's organiser.
    let mut j = s.journal();
    j.set_delegates("cars", &["MAILTO:paul.boddie@EXAMPLE.COM".to_owned()])
        .unwrap();
    assert_eq!(j.get_delegates("cars").unwrap(), [PAUL]);
    j.set_groups(
        "cars",
        &BTreeMap::from([(
            "mailto:paul.boddie@EXAMPLE.com".to_owned(),
            "staff".to_owned(),
        )]),
    )
    .unwrap();
    j.set_limit("cars", "staff", "PT2H").unwrap();
    let booking = Booking {
        organiser: "MAILTO:paul.boddie@example.com",
        attendee: "MAILTO:resource-car-porsche911@EXAMPLE.COM",
        uid: "a",
        rid: None,
        periods: &p,
        open_ended: false,
    };
    assert_eq!(
        j.reserve("cars", &booking).unwrap(),
        QuotaDecision::Accepted {
            group: "staff".to_owned()
        }
    );
    let entries = j.get_entries("cars", "staff").unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| e.attendee.as_deref())
            .collect::<Vec<_>>(),
        [Some(PORSCHE)]
    );
}

fn insert_object<C: SqlConnection>(c: &mut C, user: &str, uid: &str, summary: &str) {
    c.execute(
        "INSERT INTO objects (store_user, object_uid, object_text, status) \
         VALUES ($1, $2, $3, 'active')",
        &[user.into(), uid.into(), text(uid, summary).into()],
    )
    .unwrap();
}

fn insert_revision<C: SqlConnection>(c: &mut C, user: &str, revision: i64) {
    c.execute(
        "INSERT INTO calstore_revisions (scope, owner, revision, min_valid_revision) \
         VALUES ('store', $1, $2, 1)",
        &[user.into(), Value::Integer(revision)],
    )
    .unwrap();
    c.execute(
        "INSERT INTO calstore_changes (scope, owner, table_name, row_key, revision, operation) \
         VALUES ('store', $1, 'objects', '[\"x\"]', $2, 'upsert')",
        &[user.into(), Value::Integer(revision)],
    )
    .unwrap();
}

/// A database of store version 2 with addresses in several spellings: migrating renames
/// them, merges two spellings of one address (the one written last wins a key both hold),
/// and makes every syncing client of those users download them again.
pub fn stored_addresses_migrated_to_one_spelling<C: SqlConnection>(mut conn: C) {
    schema::migrate(&mut conn).unwrap();
    let c = &mut conn;
    // Paul only in capitals: renamed.
    insert_object(c, "MAILTO:paul.boddie@EXAMPLE.com", "p", "paul's");
    insert_revision(c, "MAILTO:paul.boddie@EXAMPLE.com", 3);
    // Vincent in two spellings: the capital one was written last (revision 5) and wins "v".
    insert_object(c, VINCENT, "v", "older");
    insert_object(c, VINCENT, "w", "only normal");
    insert_revision(c, VINCENT, 2);
    insert_object(c, "mailto:vincent.vole@EXAMPLE.COM", "v", "newer");
    insert_object(c, "mailto:vincent.vole@EXAMPLE.COM", "y", "only capital");
    insert_revision(c, "mailto:vincent.vole@EXAMPLE.COM", 5);
    // A local part in capitals is another user: left alone.
    let capital = "mailto:Harvey.Horse@example.com";
    insert_object(c, capital, "h", "harvey");
    insert_revision(c, capital, 1);
    // Another user's free/busy about a capital spelling.
    c.execute(
        "INSERT INTO freebusy_other (store_user, other, \"start\", \"end\", object_uid, \
         transp, object_recurrenceid, summary, organiser, span) \
         VALUES ($1, $2, '20261201T100000Z', '20261201T110000Z', 'x', NULL, NULL, NULL, NULL, 3600)",
        &[RESOURCE.into(), "MAILTO:vincent.vole@example.com".into()],
    )
    .unwrap();
    insert_revision(c, RESOURCE, 1);
    c.execute(
        "UPDATE calstore_schema SET value = '2' WHERE name = 'component:store'",
        &[],
    )
    .unwrap();

    assert_eq!(schema::migrate(&mut conn).unwrap(), 2);
    assert_eq!(schema::version(&mut conn).unwrap(), schema::CURRENT_VERSION);
    let (mut s, _) = open(conn);
    assert_eq!(s.users().unwrap(), [capital, PAUL, RESOURCE, VINCENT]);
    assert_eq!(s.get_events(PAUL).unwrap(), ["p"]);
    assert_eq!(s.get_events(VINCENT).unwrap(), ["v", "w", "y"]);
    assert!(
        s.get_event(VINCENT, "v", None, Status::Active)
            .unwrap()
            .is_some_and(|t| t.contains("SUMMARY:newer"))
    );
    assert_eq!(s.get_events(capital).unwrap(), ["h"]);
    assert_eq!(s.get_freebusy_others(RESOURCE).unwrap(), [VINCENT]);
    // Renamed or merged users have a new revision with no history before it (a syncing
    // client downloads them again); the user left alone keeps its history.
    assert_eq!(s.revision(PAUL).unwrap(), 4);
    assert_eq!(s.revision(VINCENT).unwrap(), 6);
    assert_eq!(s.revision(RESOURCE).unwrap(), 2);
    for user in [PAUL, VINCENT, RESOURCE] {
        assert!(s.changes_since(user, 0).unwrap().is_empty(), "{user}");
        let c = s.connection();
        let row = c
            .query(
                "SELECT min_valid_revision, revision FROM calstore_revisions \
                 WHERE scope = $1 AND owner = $2",
                &[Scope::Store.as_str().into(), user.into()],
            )
            .unwrap();
        let (min, rev): (i64, i64) = (row[0].get(0).unwrap(), row[0].get(1).unwrap());
        assert_eq!(min, rev, "{user}");
    }
    assert_eq!(s.changes_since(capital, 0).unwrap().len(), 1);
    // No spelling is left anywhere in the change journal's owners.
    let owners = s
        .connection()
        .query("SELECT owner FROM calstore_revisions", &[])
        .unwrap();
    for row in owners {
        let owner: String = row.get(0).unwrap();
        assert_eq!(owner, address::normalised(&owner));
    }
}
