CREATE TABLE parents (
    id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY CONSTRAINT parents_id_check CHECK (id >= 1),
    name TEXT COLLATE "C" NOT NULL CONSTRAINT parents_name_check CHECK (char_length(name) BETWEEN 1 AND 8 AND name !~ '[\x01-\x1f\x7f-\x9f]' AND name IS NFC NORMALIZED)
);
CREATE TABLE samples (
    id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY CONSTRAINT samples_id_check CHECK (id >= 1),
    parent BIGINT NOT NULL REFERENCES parents (id) CONSTRAINT samples_parent_check CHECK (parent >= 1),
    loose_parent BIGINT CONSTRAINT samples_loose_parent_check CHECK (loose_parent >= 1),
    count BIGINT NOT NULL DEFAULT 0 CONSTRAINT samples_count_check CHECK (count BETWEEN 0 AND 9),
    label TEXT COLLATE "C" NOT NULL CONSTRAINT samples_label_check CHECK (char_length(label) BETWEEN 1 AND 4 AND label !~ '[\x01-\x1f\x7f-\x9f]' AND label IS NFC NORMALIZED),
    login TEXT COLLATE "C" CONSTRAINT samples_login_check CHECK (login ~ '^[a-z0-9_.-]{3,32}$'),
    mood TEXT COLLATE "C" NOT NULL DEFAULT 'happy' CONSTRAINT samples_mood_check CHECK (mood IN ('happy', 'grumpy')),
    email TEXT COLLATE "C" CONSTRAINT samples_email_check CHECK (char_length(email) <= 254 AND char_length(split_part(email, '@', 1)) <= 64 AND email ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'),
    ipv4 TEXT COLLATE "C" CONSTRAINT samples_ipv4_check CHECK (ipv4 ~ '^[0-9a-f]{8}$'),
    ip TEXT COLLATE "C" CONSTRAINT samples_ip_check CHECK (ip ~ '^([0-9a-f]{8}|[0-9a-f]{32})$' AND substr(ip, 1, 24) <> '00000000000000000000ffff'),
    port BIGINT CONSTRAINT samples_port_check CHECK (port BETWEEN 1 AND 65535),
    at BIGINT NOT NULL CONSTRAINT samples_at_check CHECK (at BETWEEN 0 AND 253402300799999999),
    day TEXT COLLATE "C" CONSTRAINT samples_day_check CHECK (day IS NULL OR CASE WHEN day ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND day >= '0001-01-01' THEN CAST(substr(day, 9, 2) AS integer) <= CASE substr(day, 6, 2) WHEN '02' THEN CASE WHEN CAST(substr(day, 1, 4) AS integer) % 4 = 0 AND (CAST(substr(day, 1, 4) AS integer) % 100 <> 0 OR CAST(substr(day, 1, 4) AS integer) % 400 = 0) THEN 29 ELSE 28 END WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30 ELSE 31 END ELSE false END),
    phone TEXT COLLATE "C" CONSTRAINT samples_phone_check CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
    country TEXT COLLATE "C" CONSTRAINT samples_country_check CHECK (country ~ '^[A-Z]{2}$'),
    password_hash TEXT COLLATE "C" CONSTRAINT samples_password_hash_check CHECK (char_length(password_hash) <= 512 AND password_hash ~ '^\$argon2id\$v=19\$m=[1-9][0-9]{0,9},t=[1-9][0-9]{0,9},p=[1-9][0-9]{0,7}\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43,}$'),
    digest BYTEA CONSTRAINT samples_digest_check CHECK (octet_length(digest) = 32),
    calendar TEXT COLLATE "C" CONSTRAINT samples_calendar_check CHECK (char_length(calendar) <= 1024 AND calendar ~ '^[A-Za-z][A-Za-z0-9+.-]*:[^\x01-\x20\x7f-\x9f]+$'),
    CONSTRAINT samples_day_after_at CHECK (day >= to_char(to_timestamp(at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
);
CREATE UNIQUE INDEX samples_email ON samples (lower(email));
CREATE INDEX samples_parent_at ON samples (parent, at);
CREATE INDEX samples_open ON samples (at) WHERE day IS NULL;
CREATE TABLE pairs (
    parent BIGINT NOT NULL REFERENCES parents (id) CONSTRAINT pairs_parent_check CHECK (parent >= 1),
    slot BIGINT NOT NULL CONSTRAINT pairs_slot_check CHECK (slot BETWEEN 1 AND 4),
    PRIMARY KEY (parent, slot)
);
