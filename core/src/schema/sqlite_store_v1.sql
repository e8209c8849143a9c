-- calstore component "store", version 1, SQLite dialect: imip-agent's per-user store.
-- Read sqlite_core_v1.sql's header for the conventions.


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

