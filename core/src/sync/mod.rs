//! Offline sync: replicas (a browser, a desktop program) write offline and sync later with a
//! server, and nothing is lost or applied twice.
//!
//! The design (specified in `docs/sync-protocol.md`):
//!
//! - **Server-authoritative and log-based.** Clients push *mutations* ([`mutation::Mutation`]:
//!   store operations) and pull *changes* since a cursor: the keys of the change journal
//!   ([`crate::changes`]) changed since the cursor, each with its current rows
//!   ([`keys`]), whole server transactions at a time.
//! - **Exactly once.** A mutation carries the client's sequence number; the server applies it
//!   in the same transaction as the record of its result and of the client's mark, so a
//!   retried push never applies it twice ([`server::push`]). The client records a mutation
//!   in its outbox in the same transaction as its local effect, and stores the cursor in the
//!   same transaction as the pulled data ([`client`]).
//! - **The iTIP order decides conflicts** per (UID, RECURRENCE-ID): higher SEQUENCE, then
//!   later DTSTAMP; a losing mutation is `superseded`, with the server's version.
//! - **Escape hatches.** An unknown, expired or future cursor answers `must_refetch`; the
//!   protocol and schema versions are checked on every request.
//! - **Sans I/O.** These modules build requests and apply answers; the transports are the
//!   callers' (HTTP in `calstore-server` and the CLI, `fetch` in the browser, a function call
//!   in the convergence suite).

pub mod client;
pub mod keys;
pub mod mutation;
pub mod schema;
pub mod server;
pub mod wire;

pub use mutation::{BookingSpec, Mutation, Outcome, Side, Version};
pub use wire::PROTOCOL_VERSION;
