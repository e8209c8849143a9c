//! The sync components: `sync-server` (what a server remembers of its clients) and
//! `sync-client` (a replica's outbox and cursor). A database gets one of them only when it
//! serves or replicates; neither is part of [`crate::schema::CALENDAR`].

use crate::schema::{Component, Migration};

/// What a sync server keeps: its epoch, its clients with the last mutation applied of each,
/// the results of recent mutations (for retried pushes), and session tokens (hashed).
pub static SYNC_SERVER: Component = Component {
    name: "sync-server",
    migrations: &[Migration {
        version: 1,
        sqlite: "CREATE TABLE sync_state (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE sync_clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL,
    last_seq INTEGER NOT NULL CHECK (last_seq >= 0),
    created TEXT NOT NULL,
    last_seen TEXT NOT NULL
) STRICT;
CREATE TABLE sync_results (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE sync_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL,
    connection_id INTEGER,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
) STRICT;
CREATE INDEX sync_sessions_by_account ON sync_sessions (account_id);
",
        postgres: "CREATE TABLE sync_state (
    name TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    value TEXT COLLATE \"C\" NOT NULL
);
CREATE TABLE sync_clients (
    client_id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL,
    last_seq BIGINT NOT NULL CHECK (last_seq >= 0),
    created TEXT COLLATE \"C\" NOT NULL,
    last_seen TEXT COLLATE \"C\" NOT NULL
);
CREATE TABLE sync_results (
    client_id TEXT COLLATE \"C\" NOT NULL,
    seq BIGINT NOT NULL,
    result TEXT COLLATE \"C\" NOT NULL,
    PRIMARY KEY (client_id, seq)
);
CREATE TABLE sync_sessions (
    token_hash TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL,
    connection_id BIGINT,
    created TEXT COLLATE \"C\" NOT NULL,
    expires TEXT COLLATE \"C\" NOT NULL
);
CREATE INDEX sync_sessions_by_account ON sync_sessions (account_id);
",
    }],
};

/// What a replica keeps: its outbox (mutations not yet acknowledged, and acknowledged ones
/// until the next pull) and its settings (server, client id, cursor, session).
pub static SYNC_CLIENT: Component = Component {
    name: "sync-client",
    migrations: &[Migration {
        version: 1,
        sqlite: "CREATE TABLE calstore_outbox (
    seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    mutation TEXT NOT NULL,
    touched TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'acked')),
    result TEXT,
    created TEXT NOT NULL
) STRICT;
CREATE TABLE calstore_sync (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
",
        postgres: "CREATE TABLE calstore_outbox (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    mutation TEXT COLLATE \"C\" NOT NULL,
    touched TEXT COLLATE \"C\" NOT NULL,
    state TEXT COLLATE \"C\" NOT NULL CHECK (state IN ('pending', 'acked')),
    result TEXT COLLATE \"C\",
    created TEXT COLLATE \"C\" NOT NULL
);
CREATE TABLE calstore_sync (
    name TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    value TEXT COLLATE \"C\" NOT NULL
);
",
    }],
};
