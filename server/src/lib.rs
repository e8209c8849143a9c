//! # calstore-server
//!
//! The network side of calstore: what `calstore serve` runs. It is thin: every rule (who may
//! see which calendar, how a mutation is applied, how a conflict is decided) is in
//! `calstore-core`; this crate owns only what needs I/O — sockets, TLS, the HTTP routes, the
//! mail relay, timers — and maps requests onto the core's operations and its units of work.
//!
//! Where things go (see `docs/architecture.md`):
//!
//! | concern | here | in the core |
//! |---|---|---|
//! | an HTTP endpoint | a route module of this crate | the operation it calls |
//! | sync (push, pull) | the sync routes | the sans-I/O protocol state machine |
//! | accounts, sessions | authentication of requests | the account tables and rules |
//! | CalDAV | the WebDAV routes and XML | resources mapped onto store objects |
//!
//! Nothing is served yet: the sync, accounts and CalDAV work fills this crate.
#![forbid(unsafe_code)]
