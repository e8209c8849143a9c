-- calstore component "core", version 1, SQLite dialect (native SQLite and sql.js): the schema
-- versions and the change journal. Conventions of every component:
-- Table and column names follow imip-agent's DatabaseStore page (store: objects, recurrences,
-- countered_*, freebusy*, requests; journal: quota_freebusy, user_freebusy, quota_limits,
-- user_groups) plus what imip-agent 0.3 showed is needed (quota_delegates, the journal's copies
-- of events and its providers). Free/busy times are UTC text "YYYYMMDDTHHMMSSZ", so text order
-- is time order. "span" is a duration class (see core/src/period.rs) that bounds overlap scans.

CREATE TABLE calstore_schema (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Change journal for offline sync: one revision counter per (scope, owner) and the latest
-- change per key. A deleted key keeps its row with operation 'delete' (a tombstone).
-- WITHOUT ROWID: rows are small and always found by their key, so one B-tree instead of two.
CREATE TABLE calstore_revisions (
    scope TEXT NOT NULL CHECK (scope IN ('store', 'journal')),
    owner TEXT NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    min_valid_revision INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, owner)
) STRICT, WITHOUT ROWID;

CREATE TABLE calstore_changes (
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_key TEXT NOT NULL,
    revision INTEGER NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('upsert', 'delete')),
    PRIMARY KEY (scope, owner, table_name, row_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX calstore_changes_by_revision ON calstore_changes (scope, owner, revision);

