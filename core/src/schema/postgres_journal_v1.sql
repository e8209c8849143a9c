-- calstore component "journal", version 1, PostgreSQL dialect: quotas shared by resources.
-- Read postgres_core_v1.sql's header for the conventions.


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
