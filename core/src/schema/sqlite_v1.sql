-- calstore schema version 1, SQLite dialect (native SQLite and sql.js).
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

-- Store ------------------------------------------------------------------------------------

CREATE TABLE objects (
    store_user TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (store_user, object_uid)
) STRICT;

CREATE TABLE recurrences (
    store_user TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_recurrenceid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (store_user, object_uid, object_recurrenceid)
) STRICT;

CREATE TABLE countered_objects (
    store_user TEXT NOT NULL,
    other TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    PRIMARY KEY (store_user, object_uid, other)
) STRICT;

CREATE TABLE countered_recurrences (
    store_user TEXT NOT NULL,
    other TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_recurrenceid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    PRIMARY KEY (store_user, object_uid, object_recurrenceid, other)
) STRICT;

CREATE TABLE freebusy (
    store_user TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    object_uid TEXT,
    transp TEXT,
    object_recurrenceid TEXT,
    summary TEXT,
    organiser TEXT,
    span INTEGER NOT NULL,
    CHECK ("start" <= "end")
) STRICT;
CREATE UNIQUE INDEX freebusy_unique ON freebusy
    (store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_overlap ON freebusy (store_user, span, "start");
CREATE INDEX freebusy_by_object ON freebusy (store_user, object_uid, object_recurrenceid);

CREATE TABLE freebusy_offers (
    store_user TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    object_uid TEXT,
    transp TEXT,
    object_recurrenceid TEXT,
    summary TEXT,
    organiser TEXT,
    expires TEXT,
    span INTEGER NOT NULL,
    CHECK ("start" <= "end")
) STRICT;
CREATE UNIQUE INDEX freebusy_offers_unique ON freebusy_offers
    (store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_offers_overlap ON freebusy_offers (store_user, span, "start");
CREATE INDEX freebusy_offers_by_object ON freebusy_offers (store_user, object_uid, object_recurrenceid);
CREATE INDEX freebusy_offers_by_expiry ON freebusy_offers (store_user, expires);

CREATE TABLE freebusy_other (
    store_user TEXT NOT NULL,
    other TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    object_uid TEXT,
    transp TEXT,
    object_recurrenceid TEXT,
    summary TEXT,
    organiser TEXT,
    span INTEGER NOT NULL,
    CHECK ("start" <= "end")
) STRICT;
CREATE UNIQUE INDEX freebusy_other_unique ON freebusy_other
    (store_user, other, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX freebusy_other_overlap ON freebusy_other (store_user, other, span, "start");
CREATE INDEX freebusy_other_by_object ON freebusy_other (store_user, other, object_uid, object_recurrenceid);

CREATE TABLE freebusy_providers (
    store_user TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_recurrenceid TEXT
) STRICT;
CREATE UNIQUE INDEX freebusy_providers_unique ON freebusy_providers
    (store_user, object_uid, coalesce(object_recurrenceid, ''));

CREATE TABLE freebusy_provider_datetimes (
    store_user TEXT PRIMARY KEY NOT NULL,
    "start" TEXT
) STRICT;

CREATE TABLE requests (
    store_user TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_recurrenceid TEXT,
    request_type TEXT,
    queued INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX requests_unique ON requests
    (store_user, object_uid, coalesce(object_recurrenceid, ''));

-- Journal ----------------------------------------------------------------------------------

CREATE TABLE quota_freebusy (
    quota TEXT NOT NULL,
    user_group TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    object_uid TEXT,
    transp TEXT,
    object_recurrenceid TEXT,
    summary TEXT,
    organiser TEXT,
    attendee TEXT,
    span INTEGER NOT NULL,
    CHECK ("start" <= "end")
) STRICT;
CREATE UNIQUE INDEX quota_freebusy_unique ON quota_freebusy
    (quota, user_group, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''),
     coalesce(attendee, ''));
CREATE INDEX quota_freebusy_overlap ON quota_freebusy (quota, user_group, span, "start");
CREATE INDEX quota_freebusy_by_object ON quota_freebusy (quota, user_group, object_uid, object_recurrenceid);

CREATE TABLE user_freebusy (
    quota TEXT NOT NULL,
    store_user TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    object_uid TEXT,
    transp TEXT,
    object_recurrenceid TEXT,
    summary TEXT,
    organiser TEXT,
    span INTEGER NOT NULL,
    CHECK ("start" <= "end")
) STRICT;
CREATE UNIQUE INDEX user_freebusy_unique ON user_freebusy
    (quota, store_user, "start", "end", coalesce(object_uid, ''), coalesce(object_recurrenceid, ''));
CREATE INDEX user_freebusy_overlap ON user_freebusy (quota, store_user, span, "start");
CREATE INDEX user_freebusy_by_object ON user_freebusy (quota, store_user, object_uid, object_recurrenceid);

CREATE TABLE quota_limits (
    quota TEXT NOT NULL,
    user_group TEXT NOT NULL,
    quota_limit TEXT NOT NULL,
    PRIMARY KEY (quota, user_group)
) STRICT;

CREATE TABLE user_groups (
    quota TEXT NOT NULL,
    store_user TEXT NOT NULL,
    user_group TEXT NOT NULL,
    PRIMARY KEY (quota, store_user)
) STRICT;

CREATE TABLE quota_delegates (
    quota TEXT NOT NULL,
    store_user TEXT NOT NULL,
    PRIMARY KEY (quota, store_user)
) STRICT;

CREATE TABLE quota_objects (
    quota TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (quota, object_uid)
) STRICT;

CREATE TABLE quota_recurrences (
    quota TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    object_recurrenceid TEXT NOT NULL,
    object_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    PRIMARY KEY (quota, object_uid, object_recurrenceid)
) STRICT;
