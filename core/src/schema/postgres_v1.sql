-- calstore schema version 1, PostgreSQL dialect (PostgreSQL 15 and later).
-- The same tables, columns, keys, indexes and CHECKs as sqlite_v1.sql (read that file for what
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

-- Store ------------------------------------------------------------------------------------

CREATE TABLE objects (
    store_user TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (store_user, object_uid)
);

CREATE TABLE recurrences (
    store_user TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_recurrenceid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (store_user, object_uid, object_recurrenceid)
);

CREATE TABLE countered_objects (
    store_user TEXT COLLATE "C" NOT NULL,
    other TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (store_user, object_uid, other)
);

CREATE TABLE countered_recurrences (
    store_user TEXT COLLATE "C" NOT NULL,
    other TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_recurrenceid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (store_user, object_uid, object_recurrenceid, other)
);

CREATE TABLE freebusy (
    store_user TEXT COLLATE "C" NOT NULL,
    "start" TEXT COLLATE "C" NOT NULL,
    "end" TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    transp TEXT COLLATE "C",
    object_recurrenceid TEXT COLLATE "C",
    summary TEXT COLLATE "C",
    organiser TEXT COLLATE "C",
    span BIGINT NOT NULL,
    CHECK ("start" <= "end")
);
CREATE UNIQUE INDEX freebusy_unique ON freebusy
    (store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_overlap ON freebusy (store_user, span, "start");
CREATE INDEX freebusy_by_object ON freebusy (store_user, object_uid, object_recurrenceid);

CREATE TABLE freebusy_offers (
    store_user TEXT COLLATE "C" NOT NULL,
    "start" TEXT COLLATE "C" NOT NULL,
    "end" TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    transp TEXT COLLATE "C",
    object_recurrenceid TEXT COLLATE "C",
    summary TEXT COLLATE "C",
    organiser TEXT COLLATE "C",
    expires TEXT COLLATE "C",
    span BIGINT NOT NULL,
    CHECK ("start" <= "end")
);
CREATE UNIQUE INDEX freebusy_offers_unique ON freebusy_offers
    (store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_offers_overlap ON freebusy_offers (store_user, span, "start");
CREATE INDEX freebusy_offers_by_object ON freebusy_offers (store_user, object_uid, object_recurrenceid);
CREATE INDEX freebusy_offers_by_expiry ON freebusy_offers (store_user, expires);

CREATE TABLE freebusy_other (
    store_user TEXT COLLATE "C" NOT NULL,
    other TEXT COLLATE "C" NOT NULL,
    "start" TEXT COLLATE "C" NOT NULL,
    "end" TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    transp TEXT COLLATE "C",
    object_recurrenceid TEXT COLLATE "C",
    summary TEXT COLLATE "C",
    organiser TEXT COLLATE "C",
    span BIGINT NOT NULL,
    CHECK ("start" <= "end")
);
CREATE UNIQUE INDEX freebusy_other_unique ON freebusy_other
    (store_user, other, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_other_overlap ON freebusy_other (store_user, other, span, "start");
CREATE INDEX freebusy_other_by_object ON freebusy_other (store_user, other, object_uid, object_recurrenceid);

CREATE TABLE freebusy_providers (
    store_user TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_recurrenceid TEXT COLLATE "C"
);
CREATE UNIQUE INDEX freebusy_providers_unique ON freebusy_providers
    (store_user, object_uid, coalesce(object_recurrenceid, ''));

CREATE TABLE freebusy_provider_datetimes (
    store_user TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    "start" TEXT COLLATE "C"
);

CREATE TABLE requests (
    store_user TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_recurrenceid TEXT COLLATE "C",
    request_type TEXT COLLATE "C",
    queued BIGINT NOT NULL
);
CREATE UNIQUE INDEX requests_unique ON requests
    (store_user, object_uid, coalesce(object_recurrenceid, ''));

-- Journal ----------------------------------------------------------------------------------

CREATE TABLE quota_freebusy (
    quota TEXT COLLATE "C" NOT NULL,
    user_group TEXT COLLATE "C" NOT NULL,
    "start" TEXT COLLATE "C" NOT NULL,
    "end" TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    transp TEXT COLLATE "C",
    object_recurrenceid TEXT COLLATE "C",
    summary TEXT COLLATE "C",
    organiser TEXT COLLATE "C",
    attendee TEXT COLLATE "C",
    span BIGINT NOT NULL,
    CHECK ("start" <= "end")
);
CREATE UNIQUE INDEX quota_freebusy_unique ON quota_freebusy
    (quota, user_group, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''),
     coalesce(attendee, ''));
CREATE INDEX quota_freebusy_overlap ON quota_freebusy (quota, user_group, span, "start");
CREATE INDEX quota_freebusy_by_object ON quota_freebusy (quota, user_group, object_uid, object_recurrenceid);

CREATE TABLE user_freebusy (
    quota TEXT COLLATE "C" NOT NULL,
    store_user TEXT COLLATE "C" NOT NULL,
    "start" TEXT COLLATE "C" NOT NULL,
    "end" TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    transp TEXT COLLATE "C",
    object_recurrenceid TEXT COLLATE "C",
    summary TEXT COLLATE "C",
    organiser TEXT COLLATE "C",
    span BIGINT NOT NULL,
    CHECK ("start" <= "end")
);
CREATE UNIQUE INDEX user_freebusy_unique ON user_freebusy
    (quota, store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX user_freebusy_overlap ON user_freebusy (quota, store_user, span, "start");
CREATE INDEX user_freebusy_by_object ON user_freebusy (quota, store_user, object_uid, object_recurrenceid);

CREATE TABLE quota_limits (
    quota TEXT COLLATE "C" NOT NULL,
    user_group TEXT COLLATE "C" NOT NULL,
    quota_limit TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (quota, user_group)
);

CREATE TABLE user_groups (
    quota TEXT COLLATE "C" NOT NULL,
    store_user TEXT COLLATE "C" NOT NULL,
    user_group TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (quota, store_user)
);

CREATE TABLE quota_delegates (
    quota TEXT COLLATE "C" NOT NULL,
    store_user TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (quota, store_user)
);

CREATE TABLE quota_objects (
    quota TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (quota, object_uid)
);

CREATE TABLE quota_recurrences (
    quota TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C" NOT NULL,
    object_recurrenceid TEXT COLLATE "C" NOT NULL,
    object_text TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (quota, object_uid, object_recurrenceid)
);
