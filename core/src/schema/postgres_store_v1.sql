-- calstore component "store", version 1, PostgreSQL dialect: imip-agent's per-user store.
-- Read postgres_core_v1.sql's header for the conventions.


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

