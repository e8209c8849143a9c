//! All-or-nothing on SQLite: every representative write operation is run with each of its
//! statements failing in turn (see `calstore_tests::atomicity`), and the whole database —
//! every table listed from `sqlite_master`, the change journal included — must be exactly as
//! before each failure.

// Helpers of these tests (outside #[test] functions) fail loudly too.
#![allow(clippy::unwrap_used)]

use calstore_core::SqlConnection;
use calstore_native::SqliteConnection;
use calstore_tests::FailMode;
use calstore_tests::atomicity::{DynConnection, atomic_op, atomic_ops, check_atomic};

fn make() -> DynConnection {
    Box::new(SqliteConnection::open_in_memory().unwrap())
}

/// The schema's tables, listed from `sqlite_master`.
fn tables() -> Vec<String> {
    let (mut store, _) = calstore_tests::support::open(SqliteConnection::open_in_memory().unwrap());
    calstore_tests::sqlite_tables(store.connection()).unwrap()
}

fn check(name: &str) {
    let tables = tables();
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    assert!(tables.contains(&"calstore_revisions") && tables.contains(&"calstore_changes"));
    let op = atomic_op(name);
    // A transient fault in one statement.
    let statements = check_atomic(&make, &tables, &op, FailMode::Once, false);
    eprintln!("{name}: {statements} statements, each failed in turn");
    // The database going away from that statement on.
    assert_eq!(
        check_atomic(&make, &tables, &op, FailMode::From, false),
        statements
    );
    // BEGIN and COMMIT (and SAVEPOINT and RELEASE in a unit of work) failing too.
    assert_eq!(
        check_atomic(&make, &tables, &op, FailMode::Once, true),
        statements + 2 * op.transactions
    );
}

macro_rules! atomic_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*

        /// Every operation of the harness has a test here.
        #[test]
        fn every_operation_is_tested() {
            let mut tested = vec![$(stringify!($name)),*];
            tested.sort_unstable();
            let mut all: Vec<&str> = atomic_ops().iter().map(|o| o.name).collect();
            all.sort_unstable();
            assert_eq!(tested, all);
        }
    };
}

atomic_tests!(
    import_recurring,
    record_single,
    resend_parent,
    record_override,
    cancel_event1,
    cancel_occurrence,
    set_freebusy,
    queue_request,
    set_requests,
    set_counter,
    remove_counters,
    remove_event,
    record_removal,
    remove_cancellations,
    reserve,
    set_limits,
    set_groups,
    expire_offers,
    extend_freebusy,
    replace_freebusy_for_other,
    unit_of_work,
);

/// The decorator itself: counts statements, fails the Nth with `Injected`, and passes
/// batches through unless told to count them.
#[test]
fn failing_connection_counts_and_injects() {
    use calstore_core::DbErrorKind;
    use calstore_tests::FailingConnection;

    let mut c = FailingConnection::new(SqliteConnection::open_in_memory().unwrap());
    c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    assert_eq!(c.calls(), 0);
    c.fail_at(2, FailMode::Once);
    c.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    let err = c.query("SELECT x FROM t", &[]).unwrap_err();
    assert_eq!(err.kind(), &DbErrorKind::Injected);
    assert_eq!(c.query("SELECT x FROM t", &[]).unwrap().len(), 1);
    assert_eq!(c.calls(), 3);
    c.fail_at(1, FailMode::From);
    assert!(c.execute("INSERT INTO t VALUES (2)", &[]).is_err());
    assert!(c.query("SELECT x FROM t", &[]).is_err());
    c.execute_batch("INSERT INTO t VALUES (3)").unwrap();
    c.disarm();
    assert_eq!(c.query("SELECT x FROM t", &[]).unwrap().len(), 2);
    assert_eq!(c.injected(), 3);
    let mut c = c.counting_batches(true);
    c.fail_at(1, FailMode::Once);
    assert_eq!(
        c.execute_batch("BEGIN").unwrap_err().kind(),
        &DbErrorKind::Injected
    );
    c.disarm();
    c.reset_count();
    c.execute_batch("CREATE TABLE u (x INTEGER)").unwrap();
    assert_eq!(c.calls(), 1);
    let _: &mut SqliteConnection = c.inner();
    let _: SqliteConnection = c.into_inner();
}
