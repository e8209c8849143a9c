//! Units of work (`Store::transaction`): several store and journal writes commit together or
//! not at all, with one revision per owner and each changed key journalled once.

use calstore_core::changes::{self, Operation, Scope};
use calstore_core::{Booking, SqlConnection, StoreError};

use crate::failing::snapshot;
use crate::support::*;

const CARS: &str = "cars";

fn text(uid: &str) -> String {
    format!("BEGIN:VEVENT\r\nUID:{uid}\r\nEND:VEVENT\r\n")
}

fn booking<'a>(periods: &'a [calstore_core::Period]) -> Booking<'a> {
    Booking {
        organiser: PAUL,
        attendee: PORSCHE,
        uid: "car1",
        rid: None,
        periods,
        open_ended: false,
    }
}

/// Writes of two users and a quota in one unit: each owner's revision goes up by one, and
/// every key the unit changed carries that revision.
pub fn unit_of_work_one_revision_per_owner<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.journal()
        .set_limits(CARS, &[("*".to_owned(), "PT10H".to_owned())].into())
        .unwrap();
    let periods = [period("20141010T080000Z", "20141010T090000Z", Some("car1"))];
    let decision = s
        .transaction(|s| {
            assert!(s.in_transaction());
            s.set_event(PAUL, "a", None, &text("a"))?;
            s.set_event(PAUL, "b", None, &text("b"))?;
            s.cancel_event(PAUL, "a", None)?;
            s.queue_request(VINCENT, "a", None, None)?;
            s.set_freebusy(VINCENT, &periods)?;
            s.journal().reserve(CARS, &booking(&periods))
        })
        .unwrap();
    assert!(decision.is_accepted());
    assert!(!s.in_transaction());
    assert_eq!(s.revision(PAUL).unwrap(), 1);
    assert_eq!(s.revision(VINCENT).unwrap(), 1);
    assert_eq!(s.journal().revision(CARS).unwrap(), 2);
    let paul = s.changes_since(PAUL, 0).unwrap();
    assert_eq!(paul.len(), 2, "{paul:?}");
    assert!(
        paul.iter()
            .all(|c| c.revision == 1 && c.operation == Operation::Upsert)
    );
    let vincent: Vec<String> = s
        .changes_since(VINCENT, 0)
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {} {}", c.table, c.key, c.revision))
        .collect();
    assert_eq!(
        vincent,
        [r#"freebusy ["car1"] 1"#, r#"requests ["a",null] 1"#]
    );
    assert_eq!(
        changes::changes_since(s.connection(), Scope::Journal, CARS, 1)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.get_cancelled_events(PAUL).unwrap(), ["a"]);
    assert_eq!(s.get_events(PAUL).unwrap(), ["b"]);
    assert_eq!(s.journal().get_entries(CARS, PAUL).unwrap().len(), 1);
}

/// A unit whose closure fails after writing leaves every table as it was, revisions
/// included.
pub fn unit_of_work_rolls_back_whole<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.set_event(PAUL, "a", None, &text("a")).unwrap();
    let tables = schema_tables();
    let before = snapshot(s.connection(), &tables).unwrap();
    let result: Result<(), StoreError> = s.transaction(|s| {
        s.set_event(PAUL, "b", None, &text("b"))?;
        s.remove_event(PAUL, "a", None)?;
        s.journal().set_limit(CARS, "*", "PT1H")?;
        s.queue_request(VINCENT, "b", None, None)?;
        Err(StoreError::invalid("changed my mind"))
    });
    assert!(matches!(result, Err(StoreError::InvalidData(_))));
    assert!(!s.in_transaction());
    assert_eq!(snapshot(s.connection(), &tables).unwrap(), before);
    // The store goes on as usual.
    s.set_event(PAUL, "c", None, &text("c")).unwrap();
    assert_eq!(s.revision(PAUL).unwrap(), 2);
}

/// A write that fails inside a unit is undone on its own (a savepoint): the unit may handle
/// the error, go on, and commit what else it did. A nested unit that fails is undone the
/// same way.
pub fn unit_of_work_failed_write_is_undone_alone<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.transaction(|s| {
        s.set_event(PAUL, "a", None, &text("a"))?;
        // Refused before it writes.
        assert!(s.set_event(PAUL, "", None, &text("x")).is_err());
        s.journal().set_limit(CARS, "*", "PT1H")?;
        // Undone after it wrote, and after the revision bump of an owner new to the unit
        // (VINCENT): the bump goes with it.
        let nested = s.transaction(|s| {
            s.set_event(VINCENT, "v", None, &text("v"))?;
            s.set_event(PAUL, "n", None, &text("n"))?;
            Err::<(), _>(StoreError::invalid("nested unit gives up"))
        });
        assert!(nested.is_err());
        s.set_event(PAUL, "b", None, &text("b"))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(s.get_events(PAUL).unwrap(), ["a", "b"]);
    assert!(!s.user_exists(VINCENT).unwrap());
    assert_eq!(s.revision(VINCENT).unwrap(), 0);
    assert_eq!(s.revision(PAUL).unwrap(), 1);
    let keys: Vec<String> = s
        .changes_since(PAUL, 0)
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(keys, [r#"["a",null]"#, r#"["b",null]"#]);
    assert_eq!(s.journal().revision(CARS).unwrap(), 1);
}

/// Requests queued by several writes of one unit keep the order they were queued in.
pub fn unit_of_work_keeps_queue_order<C: SqlConnection>(conn: C) {
    let (mut s, _) = open(conn);
    s.queue_request(PAUL, "first", None, None).unwrap();
    s.transaction(|s| {
        s.queue_request(PAUL, "zz", None, None)?;
        s.queue_request(PAUL, "aa", None, Some("COUNTER"))?;
        s.queue_request(PAUL, "mm", None, None)?;
        Ok(())
    })
    .unwrap();
    s.queue_request(PAUL, "last", None, None).unwrap();
    let order: Vec<String> = s
        .get_requests(PAUL)
        .unwrap()
        .into_iter()
        .map(|r| r.uid)
        .collect();
    assert_eq!(order, ["first", "zz", "aa", "mm", "last"]);
}
