-- calstore component "journal", version 1, SQLite dialect: quotas shared by resources.
-- Read sqlite_core_v1.sql's header for the conventions.


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
