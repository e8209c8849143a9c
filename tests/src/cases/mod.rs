//! The conformance cases, by area. Each `pub fn` taking a connection is one case and must be
//! listed in `all_cases!` (a unit test checks this).

pub mod addresses;
pub mod bad_input;
pub mod changes;
pub mod corpus;
pub mod counter;
pub mod freebusy;
pub mod implicit;
pub mod journal;
pub mod lenient;
pub mod record;
pub mod scenarios;
pub mod scheduling;
pub mod store;
pub mod unit_of_work;
pub mod writes;
