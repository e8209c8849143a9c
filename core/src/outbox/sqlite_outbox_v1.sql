-- calstore component "outbox", version 1, SQLite dialect: messages waiting to be mailed to
-- recipients who are not local users, with their retries. A server-only component: a
-- browser database never gets it.

CREATE TABLE outgoing_messages (
    id INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    method TEXT NOT NULL,
    object_uid TEXT,
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt TEXT NOT NULL,
    last_error TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    finished TEXT
) STRICT;
CREATE INDEX outgoing_messages_due ON outgoing_messages (state, next_attempt);
