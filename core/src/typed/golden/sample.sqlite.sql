CREATE TABLE parents (
    id INTEGER PRIMARY KEY AUTOINCREMENT CONSTRAINT parents_id_check CHECK (id >= 1),
    name TEXT NOT NULL CONSTRAINT parents_name_check CHECK (length(name) BETWEEN 1 AND 8 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*'))
) STRICT;
CREATE TABLE samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT CONSTRAINT samples_id_check CHECK (id >= 1),
    parent INTEGER NOT NULL REFERENCES parents (id) CONSTRAINT samples_parent_check CHECK (parent >= 1),
    loose_parent INTEGER CONSTRAINT samples_loose_parent_check CHECK (loose_parent >= 1),
    count INTEGER NOT NULL DEFAULT 0 CONSTRAINT samples_count_check CHECK (count BETWEEN 0 AND 9),
    label TEXT NOT NULL CONSTRAINT samples_label_check CHECK (length(label) BETWEEN 1 AND 4 AND label NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    login TEXT CONSTRAINT samples_login_check CHECK (length(login) BETWEEN 3 AND 32 AND login NOT GLOB '*[^a-z0-9_.-]*'),
    mood TEXT NOT NULL DEFAULT 'happy' CONSTRAINT samples_mood_check CHECK (mood IN ('happy', 'grumpy')),
    email TEXT CONSTRAINT samples_email_check CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') BETWEEN 2 AND 65 AND length(email) > instr(email, '@') AND instr(substr(email, instr(email, '@') + 1), '@') = 0 AND email NOT GLOB '*[^A-Za-z0-9.!#$%&''*+/=?^_`{|}~@-]*' AND substr(email, instr(email, '@') + 1) NOT GLOB '*[^A-Za-z0-9.-]*' AND email NOT GLOB '.*' AND email NOT GLOB '*..*' AND email NOT GLOB '*.@*' AND email NOT GLOB '*@[.-]*' AND email NOT GLOB '*[.-]' AND substr(email, instr(email, '@') + 1) NOT GLOB '*-.*' AND substr(email, instr(email, '@') + 1) NOT GLOB '*.-*'),
    ipv4 TEXT CONSTRAINT samples_ipv4_check CHECK (length(ipv4) = 8 AND ipv4 NOT GLOB '*[^0-9a-f]*'),
    ip TEXT CONSTRAINT samples_ip_check CHECK ((length(ip) = 8 OR (length(ip) = 32 AND substr(ip, 1, 24) <> '00000000000000000000ffff')) AND ip NOT GLOB '*[^0-9a-f]*'),
    port INTEGER CONSTRAINT samples_port_check CHECK (port BETWEEN 1 AND 65535),
    at INTEGER NOT NULL CONSTRAINT samples_at_check CHECK (at BETWEEN 0 AND 253402300799999999),
    day TEXT CONSTRAINT samples_day_check CHECK (length(day) = 10 AND day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND day >= '0001-01-01' AND date(day, '+0 days') IS day),
    phone TEXT CONSTRAINT samples_phone_check CHECK (length(phone) BETWEEN 3 AND 16 AND phone GLOB '+[1-9]*' AND substr(phone, 2) NOT GLOB '*[^0-9]*'),
    country TEXT CONSTRAINT samples_country_check CHECK (length(country) = 2 AND country NOT GLOB '*[^A-Z]*'),
    password_hash TEXT CONSTRAINT samples_password_hash_check CHECK (length(password_hash) BETWEEN 93 AND 512 AND password_hash GLOB '$argon2id$v=19$m=[1-9]*,t=[1-9]*,p=[1-9]*$*$*' AND password_hash NOT GLOB '*[^A-Za-z0-9+/$=,]*' AND length(password_hash) - length(replace(password_hash, '$', '')) = 5 AND length(password_hash) - length(replace(password_hash, ',', '')) = 2 AND length(password_hash) - length(replace(password_hash, '=', '')) = 4),
    digest BLOB CONSTRAINT samples_digest_check CHECK (length(digest) = 32),
    calendar TEXT CONSTRAINT samples_calendar_check CHECK (length(calendar) BETWEEN 3 AND 1024 AND calendar GLOB '[A-Za-z]*:?*' AND substr(calendar, 1, instr(calendar, ':') - 1) NOT GLOB '*[^A-Za-z0-9+.-]*' AND calendar NOT GLOB ('*[' || char(1) || '-' || char(32) || char(127) || '-' || char(159) || ']*')),
    CONSTRAINT samples_day_after_at CHECK (day >= date(at / 1000000, 'unixepoch'))
) STRICT;
CREATE UNIQUE INDEX samples_email ON samples (lower(email));
CREATE INDEX samples_parent_at ON samples (parent, at);
CREATE INDEX samples_open ON samples (at) WHERE day IS NULL;
CREATE TABLE pairs (
    parent INTEGER NOT NULL REFERENCES parents (id) CONSTRAINT pairs_parent_check CHECK (parent >= 1),
    slot INTEGER NOT NULL CONSTRAINT pairs_slot_check CHECK (slot BETWEEN 1 AND 4),
    PRIMARY KEY (parent, slot)
) STRICT;
