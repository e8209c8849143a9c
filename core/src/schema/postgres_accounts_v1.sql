CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY CONSTRAINT accounts_id_check CHECK (id >= 1),
    created_at BIGINT NOT NULL CONSTRAINT accounts_created_at_check CHECK (created_at BETWEEN 0 AND 253402300799999999),
    status TEXT COLLATE "C" NOT NULL CONSTRAINT accounts_status_check CHECK (status IN ('active', 'suspended', 'deleted')),
    status_changed_at BIGINT NOT NULL CONSTRAINT accounts_status_changed_at_check CHECK (status_changed_at BETWEEN 0 AND 253402300799999999),
    deleted_at BIGINT CONSTRAINT accounts_deleted_at_check CHECK (deleted_at BETWEEN 0 AND 253402300799999999),
    scrubbed_at BIGINT CONSTRAINT accounts_scrubbed_at_check CHECK (scrubbed_at BETWEEN 0 AND 253402300799999999),
    role TEXT COLLATE "C" NOT NULL CONSTRAINT accounts_role_check CHECK (role IN ('user', 'admin')),
    login_key BYTEA NOT NULL CONSTRAINT accounts_login_key_check CHECK (octet_length(login_key) = 32),
    login TEXT COLLATE "C" CONSTRAINT accounts_login_check CHECK (login ~ '^[a-z0-9_.-]{3,32}$'),
    email TEXT COLLATE "C" CONSTRAINT accounts_email_check CHECK (char_length(email) <= 254 AND char_length(split_part(email, '@', 1)) <= 64 AND email ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'),
    email_verified_at BIGINT CONSTRAINT accounts_email_verified_at_check CHECK (email_verified_at BETWEEN 0 AND 253402300799999999),
    first_name TEXT COLLATE "C" CONSTRAINT accounts_first_name_check CHECK (char_length(first_name) BETWEEN 1 AND 64 AND first_name !~ '[\x01-\x1f\x7f-\x9f]' AND first_name IS NFC NORMALIZED),
    last_name TEXT COLLATE "C" CONSTRAINT accounts_last_name_check CHECK (char_length(last_name) BETWEEN 1 AND 64 AND last_name !~ '[\x01-\x1f\x7f-\x9f]' AND last_name IS NFC NORMALIZED),
    date_of_birth TEXT COLLATE "C" CONSTRAINT accounts_date_of_birth_check CHECK (date_of_birth IS NULL OR CASE WHEN date_of_birth ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND date_of_birth >= '0001-01-01' THEN CAST(substr(date_of_birth, 9, 2) AS integer) <= CASE substr(date_of_birth, 6, 2) WHEN '02' THEN CASE WHEN CAST(substr(date_of_birth, 1, 4) AS integer) % 4 = 0 AND (CAST(substr(date_of_birth, 1, 4) AS integer) % 100 <> 0 OR CAST(substr(date_of_birth, 1, 4) AS integer) % 400 = 0) THEN 29 ELSE 28 END WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30 ELSE 31 END ELSE false END),
    address_line_1 TEXT COLLATE "C" CONSTRAINT accounts_address_line_1_check CHECK (char_length(address_line_1) BETWEEN 1 AND 64 AND address_line_1 !~ '[\x01-\x1f\x7f-\x9f]' AND address_line_1 IS NFC NORMALIZED),
    address_line_2 TEXT COLLATE "C" CONSTRAINT accounts_address_line_2_check CHECK (char_length(address_line_2) BETWEEN 1 AND 64 AND address_line_2 !~ '[\x01-\x1f\x7f-\x9f]' AND address_line_2 IS NFC NORMALIZED),
    city TEXT COLLATE "C" CONSTRAINT accounts_city_check CHECK (char_length(city) BETWEEN 1 AND 64 AND city !~ '[\x01-\x1f\x7f-\x9f]' AND city IS NFC NORMALIZED),
    state TEXT COLLATE "C" CONSTRAINT accounts_state_check CHECK (char_length(state) BETWEEN 1 AND 64 AND state !~ '[\x01-\x1f\x7f-\x9f]' AND state IS NFC NORMALIZED),
    postal_code TEXT COLLATE "C" CONSTRAINT accounts_postal_code_check CHECK (char_length(postal_code) BETWEEN 1 AND 16 AND postal_code !~ '[\x01-\x1f\x7f-\x9f]' AND postal_code IS NFC NORMALIZED),
    country TEXT COLLATE "C" CONSTRAINT accounts_country_check CHECK (country ~ '^[A-Z]{2}$'),
    home_phone TEXT COLLATE "C" CONSTRAINT accounts_home_phone_check CHECK (home_phone ~ '^\+[1-9][0-9]{1,14}$'),
    mobile_phone TEXT COLLATE "C" CONSTRAINT accounts_mobile_phone_check CHECK (mobile_phone ~ '^\+[1-9][0-9]{1,14}$'),
    password_hash TEXT COLLATE "C" CONSTRAINT accounts_password_hash_check CHECK (char_length(password_hash) <= 512 AND password_hash ~ '^\$argon2id\$v=19\$m=[1-9][0-9]{0,9},t=[1-9][0-9]{0,9},p=[1-9][0-9]{0,7}\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43,}$'),
    password_changed_at BIGINT CONSTRAINT accounts_password_changed_at_check CHECK (password_changed_at BETWEEN 0 AND 253402300799999999),
    max_sessions BIGINT NOT NULL DEFAULT 1 CONSTRAINT accounts_max_sessions_check CHECK (max_sessions BETWEEN 1 AND 64),
    CONSTRAINT accounts_live_has_credentials CHECK (scrubbed_at IS NOT NULL OR (login IS NOT NULL AND email IS NOT NULL AND password_hash IS NOT NULL AND password_changed_at IS NOT NULL)),
    CONSTRAINT accounts_scrubbed_is_empty CHECK (scrubbed_at IS NULL OR (status = 'deleted' AND login IS NULL AND email IS NULL AND email_verified_at IS NULL AND first_name IS NULL AND last_name IS NULL AND date_of_birth IS NULL AND address_line_1 IS NULL AND address_line_2 IS NULL AND city IS NULL AND state IS NULL AND postal_code IS NULL AND country IS NULL AND home_phone IS NULL AND mobile_phone IS NULL AND password_hash IS NULL AND password_changed_at IS NULL)),
    CONSTRAINT accounts_deleted_at CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
    CONSTRAINT accounts_times_ordered CHECK (status_changed_at >= created_at AND (deleted_at IS NULL OR deleted_at >= created_at) AND (scrubbed_at IS NULL OR scrubbed_at >= deleted_at)),
    CONSTRAINT accounts_birth_not_after_creation CHECK (date_of_birth IS NULL OR date_of_birth <= to_char(to_timestamp(created_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
);
CREATE UNIQUE INDEX accounts_login_key ON accounts (login_key);
CREATE UNIQUE INDEX accounts_login ON accounts (login);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));
CREATE TABLE account_calendars (
    account_id BIGINT NOT NULL REFERENCES accounts (id) CONSTRAINT account_calendars_account_id_check CHECK (account_id >= 1),
    calendar TEXT COLLATE "C" NOT NULL CONSTRAINT account_calendars_calendar_check CHECK (char_length(calendar) <= 1024 AND calendar ~ '^[A-Za-z][A-Za-z0-9+.-]*:[^\x01-\x20\x7f-\x9f]+$'),
    role TEXT COLLATE "C" NOT NULL CONSTRAINT account_calendars_role_check CHECK (role IN ('owner', 'write', 'read')),
    granted_at BIGINT NOT NULL CONSTRAINT account_calendars_granted_at_check CHECK (granted_at BETWEEN 0 AND 253402300799999999),
    PRIMARY KEY (account_id, calendar)
);
CREATE INDEX account_calendars_by_calendar ON account_calendars (calendar);
CREATE TABLE password_resets (
    id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY CONSTRAINT password_resets_id_check CHECK (id >= 1),
    account_id BIGINT NOT NULL REFERENCES accounts (id) CONSTRAINT password_resets_account_id_check CHECK (account_id >= 1),
    token_hash BYTEA NOT NULL CONSTRAINT password_resets_token_hash_check CHECK (octet_length(token_hash) = 32),
    created_at BIGINT NOT NULL CONSTRAINT password_resets_created_at_check CHECK (created_at BETWEEN 0 AND 253402300799999999),
    expires_at BIGINT NOT NULL CONSTRAINT password_resets_expires_at_check CHECK (expires_at BETWEEN 0 AND 253402300799999999),
    used_at BIGINT CONSTRAINT password_resets_used_at_check CHECK (used_at BETWEEN 0 AND 253402300799999999),
    CONSTRAINT password_resets_expiry CHECK (expires_at > created_at),
    CONSTRAINT password_resets_use CHECK (used_at IS NULL OR used_at >= created_at)
);
CREATE UNIQUE INDEX password_resets_token ON password_resets (token_hash);
CREATE INDEX password_resets_by_account ON password_resets (account_id);
CREATE TABLE connections (
    id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY CONSTRAINT connections_id_check CHECK (id >= 1),
    started_at BIGINT NOT NULL CONSTRAINT connections_started_at_check CHECK (started_at BETWEEN 0 AND 253402300799999999),
    ended_at BIGINT CONSTRAINT connections_ended_at_check CHECK (ended_at BETWEEN 0 AND 253402300799999999),
    outcome TEXT COLLATE "C" NOT NULL CONSTRAINT connections_outcome_check CHECK (outcome IN ('slot_refused', 'pending', 'unknown_login', 'bad_password', 'account_not_active', 'already_connected', 'marshalling_failed', 'timed_out', 'access_granted', 'incompatible_version', 'shutdown_by_server', 'unexpected_client_termination', 'normal_client_side_termination', 'server_restart', 'throttled')),
    account_id BIGINT REFERENCES accounts (id) CONSTRAINT connections_account_id_check CHECK (account_id >= 1),
    sent_login TEXT COLLATE "C" CONSTRAINT connections_sent_login_check CHECK (sent_login ~ '^[a-z0-9_.-]{3,32}$'),
    sent_login_key BYTEA CONSTRAINT connections_sent_login_key_check CHECK (octet_length(sent_login_key) = 32),
    peer_ip TEXT COLLATE "C" NOT NULL CONSTRAINT connections_peer_ip_check CHECK (peer_ip ~ '^([0-9a-f]{8}|[0-9a-f]{32})$' AND substr(peer_ip, 1, 24) <> '00000000000000000000ffff'),
    peer_port BIGINT NOT NULL CONSTRAINT connections_peer_port_check CHECK (peer_port BETWEEN 1 AND 65535),
    client_version TEXT COLLATE "C" CONSTRAINT connections_client_version_check CHECK (char_length(client_version) BETWEEN 1 AND 16 AND client_version !~ '[\x01-\x1f\x7f-\x9f]' AND client_version IS NFC NORMALIZED),
    reverse_dns TEXT COLLATE "C" CONSTRAINT connections_reverse_dns_check CHECK (char_length(reverse_dns) BETWEEN 1 AND 253 AND reverse_dns !~ '[\x01-\x1f\x7f-\x9f]' AND reverse_dns IS NFC NORMALIZED),
    geo_country TEXT COLLATE "C" CONSTRAINT connections_geo_country_check CHECK (geo_country ~ '^[A-Z]{2}$'),
    geo_region TEXT COLLATE "C" CONSTRAINT connections_geo_region_check CHECK (char_length(geo_region) BETWEEN 1 AND 64 AND geo_region !~ '[\x01-\x1f\x7f-\x9f]' AND geo_region IS NFC NORMALIZED),
    geo_city TEXT COLLATE "C" CONSTRAINT connections_geo_city_check CHECK (char_length(geo_city) BETWEEN 1 AND 64 AND geo_city !~ '[\x01-\x1f\x7f-\x9f]' AND geo_city IS NFC NORMALIZED),
    geo_postal_code TEXT COLLATE "C" CONSTRAINT connections_geo_postal_code_check CHECK (char_length(geo_postal_code) BETWEEN 1 AND 16 AND geo_postal_code !~ '[\x01-\x1f\x7f-\x9f]' AND geo_postal_code IS NFC NORMALIZED),
    geo_db_version TEXT COLLATE "C" CONSTRAINT connections_geo_db_version_check CHECK (char_length(geo_db_version) BETWEEN 1 AND 32 AND geo_db_version !~ '[\x01-\x1f\x7f-\x9f]' AND geo_db_version IS NFC NORMALIZED),
    redacted_at BIGINT CONSTRAINT connections_redacted_at_check CHECK (redacted_at BETWEEN 0 AND 253402300799999999),
    CONSTRAINT connections_ended_after_start CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT connections_open_states CHECK (ended_at IS NOT NULL OR outcome IN ('pending', 'access_granted')),
    CONSTRAINT connections_matched_login CHECK ((sent_login IS NULL OR (account_id IS NOT NULL AND sent_login_key IS NULL)) AND (outcome NOT IN ('access_granted', 'bad_password', 'account_not_active', 'already_connected') OR account_id IS NOT NULL)),
    CONSTRAINT connections_redacted CHECK (redacted_at IS NULL OR (sent_login IS NULL AND sent_login_key IS NULL AND reverse_dns IS NULL AND geo_city IS NULL AND geo_postal_code IS NULL))
);
CREATE INDEX connections_by_account ON connections (account_id, started_at);
CREATE INDEX connections_by_start ON connections (started_at);
CREATE INDEX connections_by_peer ON connections (peer_ip);
CREATE INDEX connections_open ON connections (started_at) WHERE ended_at IS NULL;
CREATE INDEX connections_unredacted ON connections (started_at) WHERE redacted_at IS NULL;
CREATE UNLOGGED TABLE live_sessions (
    connection_id BIGINT NOT NULL CONSTRAINT live_sessions_connection_id_check CHECK (connection_id >= 1),
    account_id BIGINT NOT NULL CONSTRAINT live_sessions_account_id_check CHECK (account_id >= 1),
    slot BIGINT NOT NULL CONSTRAINT live_sessions_slot_check CHECK (slot BETWEEN 1 AND 64),
    since BIGINT NOT NULL CONSTRAINT live_sessions_since_check CHECK (since BETWEEN 0 AND 253402300799999999),
    PRIMARY KEY (connection_id)
);
CREATE UNIQUE INDEX live_sessions_account_slot ON live_sessions (account_id, slot);
CREATE TABLE live_sessions_snapshot (LIKE live_sessions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE UNLOGGED TABLE login_throttle (
    kind TEXT COLLATE "C" NOT NULL CONSTRAINT login_throttle_kind_check CHECK (kind IN ('login', 'address')),
    subject BYTEA NOT NULL CONSTRAINT login_throttle_subject_check CHECK (octet_length(subject) = 32),
    failures BIGINT NOT NULL CONSTRAINT login_throttle_failures_check CHECK (failures BETWEEN 1 AND 1000000),
    last_failure_at BIGINT NOT NULL CONSTRAINT login_throttle_last_failure_at_check CHECK (last_failure_at BETWEEN 0 AND 253402300799999999),
    locked_until BIGINT CONSTRAINT login_throttle_locked_until_check CHECK (locked_until BETWEEN 0 AND 253402300799999999),
    PRIMARY KEY (kind, subject)
);
CREATE INDEX login_throttle_by_last_failure ON login_throttle (last_failure_at);
CREATE TABLE login_throttle_snapshot (LIKE login_throttle INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE UNLOGGED TABLE calstore_memory (
    table_name TEXT COLLATE "C" PRIMARY KEY
);
CREATE TABLE calstore_snapshots (
    table_name TEXT COLLATE "C" PRIMARY KEY,
    generation BIGINT NOT NULL CHECK (generation >= 1),
    taken_at BIGINT NOT NULL,
    row_count BIGINT NOT NULL CHECK (row_count >= 0)
);
