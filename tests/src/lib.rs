//! # calstore-tests
//!
//! The conformance suite every calstore backend must pass: plain generic functions, one per
//! behaviour, each taking a fresh, empty connection (`pub fn case<C: SqlConnection>(conn: C)`),
//! opening a [`Store`](calstore_core::Store) on it with a fixed clock and asserting on values
//! and on [`StoreError`](calstore_core::StoreError) / [`DbErrorKind`](calstore_core::DbErrorKind)
//! variants (never on message text, except where the text is the protocol, such as quota
//! decline reasons).
//!
//! A backend instantiates the whole list with two macros: [`all_cases!`] holds the list of
//! cases (so a case added there runs on every backend) and hands it to a callback macro;
//! [`conformance_suite!`] is the callback for ordinary synchronous tests, expanding to one
//! test function per case, named after it:
//!
//! ```ignore
//! use calstore_tests::{all_cases, conformance_suite};
//! all_cases!(conformance_suite, #[test] calstore_native::SqliteConnection::open_in_memory().unwrap());
//! ```
//!
//! A backend whose tests look different (async sql.js tests under `wasm_bindgen_test`) writes
//! its own callback taking `(<its prefix tokens>; case, case, ...)`.
//!
//! Besides the cases the crate has [`FailingConnection`], a fault-injecting decorator, the
//! [`atomicity`] harness that fails every statement of representative writes in turn, and
//! [`snapshot`] for comparing whole-database states, and [`concurrency`]: many connections
//! writing the same users and quotas at once, generic over a connection factory.
//!
//! Cases live in `cases/`: `store` (users, events, cancellations, counters, requests),
//! `freebusy` (own, others', offers, providers), `journal` (limits, groups, delegates,
//! entries, the quota check), `changes` (revisions, tombstones, schema, raw values), `record`
//! (recording events, conflicts, the window), `counter` (counter-proposals through the sync
//! protocol on a scheduling server), `scenarios` (the acceptance scenarios of the
//! imip-agent reconstruction, §6.2, through the scheduling API), `scheduling` (the rest of
//! the scheduling API), `corpus` (the calendar corpus), `lenient` (issue 10: lenient import,
//! bounded past, obsolete overrides), `writes` (issue 11: writes that change nothing, the
//! daily job's extension and large imports in bounded pieces) and `bad_input`.
// This crate is test code compiled as a library (so that other crates can run the suite):
// failing loudly with unwrap/expect/panic is what a test case should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![forbid(unsafe_code)]

pub mod atomicity;
mod cases;
pub mod concurrency;
pub mod convergence;
pub mod failing;
pub mod storage;
pub mod support;
pub mod typed;

pub use cases::addresses::*;
pub use cases::bad_input::*;
pub use cases::changes::*;
pub use cases::corpus::*;
pub use cases::counter::*;
pub use cases::freebusy::*;
pub use cases::implicit::*;
pub use cases::journal::*;
pub use cases::lenient::*;
pub use cases::record::*;
pub use cases::scenarios::*;
pub use cases::scheduling::*;
pub use cases::store::*;
pub use cases::unit_of_work::*;
pub use cases::writes::*;
pub use failing::{FailMode, FailingConnection, Snapshot, snapshot, sqlite_tables};
pub use support::schema_tables;

/// Expands to one test function per case: `#[$attr] fn case() { calstore_tests::case($make) }`.
/// `$make` is evaluated once per case and must give a fresh, empty connection.
#[macro_export]
macro_rules! conformance_suite {
    (#[$attr:meta] $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[$attr]
            fn $case() {
                $crate::$case($make);
            }
        )*
    };
}

/// The names of the cases, as a `&[&str]` (a callback for [`all_cases!`]).
#[macro_export]
macro_rules! case_names {
    (; $($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}

/// Hands the list of every case to a callback macro: `all_cases!(callback, prefix tokens)`
/// expands to `callback! { prefix tokens; case1, case2, ... }`. Each case is listed once,
/// here; adding it here enables it on every backend.
#[macro_export]
macro_rules! all_cases {
    ($callback:ident, $($prefix:tt)*) => {
        $callback! {
            $($prefix)*;
            // store
            users_listed_after_first_write,
            require_user_unknown_is_not_found,
            store_accessors,
            events_roundtrip,
            recurrences_roundtrip,
            get_all_events_lists_recurrences_of_cancelled_parent,
            get_complete_event_ignores_cancelled,
            set_event_reactivates_cancelled,
            cancel_and_uncancel_return_values,
            cancelling_parent_leaves_recurrences_active,
            remove_cancellations_removes_cancelled_only,
            remove_event_leaves_no_cancellations,
            remove_parent_event_and_recurrences,
            counters_per_attendee_and_rid,
            counter_second_set_overwrites,
            counters_on_recurrences_survive_parent_removal,
            request_queue_file_semantics,
            dequeue_removes_exact_rid_only,
            has_request_strict,
            set_request_and_set_requests,
            // free/busy
            freebusy_sorted_and_deduplicated,
            set_freebusy_replaces,
            add_freebusy_and_remove_event_periods,
            freebusy_in_overlap_long_periods,
            freebusy_in_half_open_boundaries,
            freebusy_other_roundtrip,
            offers_expire_at_read,
            offers_long_expired_are_purged,
            offers_in_and_update_for_event,
            reading_offers_writes_nothing,
            providers_none_when_nothing_stored,
            append_provider_creates_record,
            set_and_remove_providers,
            // journal
            journal_limits_roundtrip,
            journal_limit_pt1d_rejected,
            journal_groups_roundtrip,
            journal_delegates_roundtrip,
            journal_entries_roundtrip,
            journal_user_entries_roundtrip,
            journal_events_roundtrip,
            journal_quotas_and_quota_users,
            quota_group_lookup_order,
            quota_unlimited_and_no_allocation,
            quota_open_ended_declined,
            quota_usage_sum_and_decline_reason,
            quota_past_entries_not_counted,
            quota_check_writes_nothing,
            decline_reason_messages,
            quota_multi_period_total,
            quota_same_event_on_two_resources,
            // units of work
            unit_of_work_one_revision_per_owner,
            unit_of_work_rolls_back_whole,
            unit_of_work_failed_write_is_undone_alone,
            unit_of_work_keeps_queue_order,
            // change journal, schema, raw values
            revisions_monotonic_one_per_write,
            tombstones_after_removal,
            failed_write_leaves_no_trace,
            revisions_independent_per_user_and_scope,
            schema_migrate_idempotent,
            calendar_open_creates_no_account_table,
            i64_extremes_roundtrip,
            blob_and_unicode_roundtrip,
            sqlite_version_is_modern,
            // recording
            record_event_participation_and_transp,
            can_schedule_transparent_does_not_block,
            can_schedule_live_offers_block,
            refresh_and_record_uncancellation_removal,
            record_override_replaces_occurrence,
            extend_freebusy_extends_providers,
            window_cut_bounded_rule_is_provider,
            import_ics_report_and_sequence,
            import_is_atomic,
            // writes that change nothing, the daily job in bounded pieces (issue 11)
            no_op_writes_change_nothing,
            extend_in_pieces_reports_failures_and_resumes,
            import_in_pieces_equals_one_transaction,
            // calendar addresses in one spelling, and their migration (issue 11)
            addresses_in_one_spelling,
            stored_addresses_migrated_to_one_spelling,
            // acceptance scenarios (§6.2)
            scenario_s1_booking,
            scenario_s2_conflict,
            scenario_s3_free_slot,
            scenario_s4_cancel,
            scenario_s5_bounded_recurrence,
            scenario_s6_moved_occurrence,
            scenario_s7_cancel_occurrence,
            scenario_s8_resend_parent,
            scenario_s9_open_ended,
            scenario_s10_s11_offers_block,
            scenario_s12_offer_expiry,
            scenario_q1_quota,
            scenario_q2_retraction,
            scenario_q3_groups_unlimited,
            scenario_p1_person_request,
            scenario_p2_counter_received,
            scenario_f1_received_vfreebusy,
            scenario_w1_publish,
            // scheduling through the core's API (receive, send_message, process)
            scheduling_transparent_neither_blocks_nor_needs_room,
            scheduling_concurrency_argument,
            scheduling_message_is_one_unit_of_work,
            scheduling_process_delivers_to_local_users,
            scheduling_counter_offer_withdrawn,
            scheduling_refresh,
            scheduling_add,
            scheduling_ignored_messages,
            scheduling_preferences_roundtrip,
            // implicit scheduling after a user's own write (sync server, CalDAV)
            implicit_organiser_write_invites,
            implicit_attendee_answer_reaches_organiser,
            implicit_cancel_reaches_attendees,
            implicit_dropped_attendee_is_cancelled,
            implicit_quota_decline_reason_reaches_organiser,
            implicit_delivery_is_one_unit_of_work,
            // counter-proposals through the sync protocol on a scheduling server
            counter_proposal_accepted_moves_the_event,
            counter_proposal_declined_reaches_the_attendee,
            counter_proposal_rules,
            counter_proposal_for_no_occurrence_is_rejected,
            // the calendar corpus and time-zone/recurrence edge cases through the store
            corpus_matches_independent_expectations,
            this_and_future_through_the_store,
            instance_cap_and_extension_bounds,
            // lenient import, bounded past, obsolete overrides, received VFREEBUSY (issue 10)
            lenient_import_reports_notes_strict_refuses,
            bounded_past_limits_materialised_periods,
            copies_of_one_event_newest_wins,
            newer_parent_obsoletes_stored_overrides,
            received_vfreebusy_clipped_to_its_range,
            // bad input
            bad_malformed_icalendar,
            bad_missing_uid,
            bad_impossible_date,
            bad_overlong_uid,
            bad_overlong_object_text,
            bad_non_utf8,
            bad_user_not_uri,
            bad_periods_and_control_characters,
            sql_looking_uid_is_data,
        }
    };
}

/// The names of every case in [`all_cases!`], in order.
pub const CASES: &[&str] = all_cases!(case_names,);

#[cfg(test)]
mod tests {
    /// Every `pub fn name<C: SqlConnection>` in `cases/` is listed in `all_cases!` exactly
    /// once, so no case is silently left out of the backends.
    #[test]
    fn every_case_is_listed_once() {
        // Every file of `cases/` is read, so a new file cannot be forgotten here either.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cases");
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("read src/cases") {
            let path = entry.expect("entry of src/cases").path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push(std::fs::read_to_string(&path).expect("read a case file"));
            }
        }
        let mut defined: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.strip_prefix("pub fn "))
            .filter_map(|l| l.split_once("<C: SqlConnection>").map(|(name, _)| name))
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
