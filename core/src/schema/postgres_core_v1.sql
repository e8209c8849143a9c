-- calstore component "core", version 1, PostgreSQL dialect (PostgreSQL 15 and later): the
-- schema versions and the change journal. Conventions of every component:
-- The same tables, columns, keys, indexes and CHECKs as the sqlite_*_v1.sql files (read them for what
-- each table holds), translated: INTEGER is BIGINT (SQLite integers are 64-bit), STRICT has no
-- counterpart (PostgreSQL columns are always typed), and every TEXT column uses the "C"
-- collation, so comparisons and ORDER BY follow byte order as SQLite's default BINARY
-- collation does, whatever the database's locale. Free/busy times are UTC text, so byte order
-- is time order here too.
--
-- The unique indexes on coalesce(...) expressions are the conflict targets of the shared DML:
-- `ON CONFLICT DO NOTHING` (no target) and `ON CONFLICT (store_user, object_uid,
-- coalesce(object_recurrenceid, ''))`, which PostgreSQL matches against an expression index
-- whose expressions are written identically.
-- Statements end with ";" at the end of a line (schema/mod.rs splits the script there).

CREATE TABLE calstore_schema (
    name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);

-- Change journal for offline sync: one revision counter per (scope, owner) and the latest
-- change per key. A deleted key keeps its row with operation 'delete' (a tombstone).
CREATE TABLE calstore_revisions (
    scope TEXT COLLATE "C" NOT NULL CHECK (scope IN ('store', 'journal')),
    owner TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL CHECK (revision >= 1),
    min_valid_revision BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, owner)
);

CREATE TABLE calstore_changes (
    scope TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    row_key TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    operation TEXT COLLATE "C" NOT NULL CHECK (operation IN ('upsert', 'delete')),
    PRIMARY KEY (scope, owner, table_name, row_key)
);
CREATE INDEX calstore_changes_by_revision ON calstore_changes (scope, owner, revision);

