-- calstore component "outbox", version 1, PostgreSQL dialect: messages waiting to be mailed
-- to recipients who are not local users, with their retries. A server-only component: a
-- browser database never gets it.

CREATE TABLE outgoing_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender TEXT COLLATE "C" NOT NULL,
    recipient TEXT COLLATE "C" NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    object_uid TEXT COLLATE "C",
    body TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt TEXT COLLATE "C" NOT NULL,
    last_error TEXT COLLATE "C",
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    finished TEXT COLLATE "C"
);
CREATE INDEX outgoing_messages_due ON outgoing_messages (state, next_attempt);
