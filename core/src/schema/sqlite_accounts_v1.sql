CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT CONSTRAINT accounts_id_check CHECK (id >= 1),
    created_at INTEGER NOT NULL CONSTRAINT accounts_created_at_check CHECK (created_at BETWEEN 0 AND 253402300799999999),
    status TEXT NOT NULL CONSTRAINT accounts_status_check CHECK (status IN ('active', 'suspended', 'deleted')),
    status_changed_at INTEGER NOT NULL CONSTRAINT accounts_status_changed_at_check CHECK (status_changed_at BETWEEN 0 AND 253402300799999999),
    deleted_at INTEGER CONSTRAINT accounts_deleted_at_check CHECK (deleted_at BETWEEN 0 AND 253402300799999999),
    scrubbed_at INTEGER CONSTRAINT accounts_scrubbed_at_check CHECK (scrubbed_at BETWEEN 0 AND 253402300799999999),
    role TEXT NOT NULL CONSTRAINT accounts_role_check CHECK (role IN ('user', 'admin')),
    login_key BLOB NOT NULL CONSTRAINT accounts_login_key_check CHECK (length(login_key) = 32),
    login TEXT CONSTRAINT accounts_login_check CHECK (length(login) BETWEEN 3 AND 32 AND login NOT GLOB '*[^a-z0-9_.-]*'),
    email TEXT CONSTRAINT accounts_email_check CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') BETWEEN 2 AND 65 AND length(email) > instr(email, '@') AND instr(substr(email, instr(email, '@') + 1), '@') = 0 AND email NOT GLOB '*[^A-Za-z0-9.!#$%&''*+/=?^_`{|}~@-]*' AND substr(email, instr(email, '@') + 1) NOT GLOB '*[^A-Za-z0-9.-]*' AND email NOT GLOB '.*' AND email NOT GLOB '*..*' AND email NOT GLOB '*.@*' AND email NOT GLOB '*@[.-]*' AND email NOT GLOB '*[.-]' AND substr(email, instr(email, '@') + 1) NOT GLOB '*-.*' AND substr(email, instr(email, '@') + 1) NOT GLOB '*.-*'),
    email_verified_at INTEGER CONSTRAINT accounts_email_verified_at_check CHECK (email_verified_at BETWEEN 0 AND 253402300799999999),
    first_name TEXT CONSTRAINT accounts_first_name_check CHECK (length(first_name) BETWEEN 1 AND 64 AND first_name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    last_name TEXT CONSTRAINT accounts_last_name_check CHECK (length(last_name) BETWEEN 1 AND 64 AND last_name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    date_of_birth TEXT CONSTRAINT accounts_date_of_birth_check CHECK (length(date_of_birth) = 10 AND date_of_birth GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date_of_birth >= '0001-01-01' AND date(date_of_birth, '+0 days') IS date_of_birth),
    address_line_1 TEXT CONSTRAINT accounts_address_line_1_check CHECK (length(address_line_1) BETWEEN 1 AND 64 AND address_line_1 NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    address_line_2 TEXT CONSTRAINT accounts_address_line_2_check CHECK (length(address_line_2) BETWEEN 1 AND 64 AND address_line_2 NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    city TEXT CONSTRAINT accounts_city_check CHECK (length(city) BETWEEN 1 AND 64 AND city NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    state TEXT CONSTRAINT accounts_state_check CHECK (length(state) BETWEEN 1 AND 64 AND state NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    postal_code TEXT CONSTRAINT accounts_postal_code_check CHECK (length(postal_code) BETWEEN 1 AND 16 AND postal_code NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    country TEXT CONSTRAINT accounts_country_check CHECK (length(country) = 2 AND country NOT GLOB '*[^A-Z]*'),
    home_phone TEXT CONSTRAINT accounts_home_phone_check CHECK (length(home_phone) BETWEEN 3 AND 16 AND home_phone GLOB '+[1-9]*' AND substr(home_phone, 2) NOT GLOB '*[^0-9]*'),
    mobile_phone TEXT CONSTRAINT accounts_mobile_phone_check CHECK (length(mobile_phone) BETWEEN 3 AND 16 AND mobile_phone GLOB '+[1-9]*' AND substr(mobile_phone, 2) NOT GLOB '*[^0-9]*'),
    password_hash TEXT CONSTRAINT accounts_password_hash_check CHECK (length(password_hash) BETWEEN 93 AND 512 AND password_hash GLOB '$argon2id$v=19$m=[1-9]*,t=[1-9]*,p=[1-9]*$*$*' AND password_hash NOT GLOB '*[^A-Za-z0-9+/$=,]*' AND length(password_hash) - length(replace(password_hash, '$', '')) = 5 AND length(password_hash) - length(replace(password_hash, ',', '')) = 2 AND length(password_hash) - length(replace(password_hash, '=', '')) = 4),
    password_changed_at INTEGER CONSTRAINT accounts_password_changed_at_check CHECK (password_changed_at BETWEEN 0 AND 253402300799999999),
    max_sessions INTEGER NOT NULL DEFAULT 1 CONSTRAINT accounts_max_sessions_check CHECK (max_sessions BETWEEN 1 AND 64),
    CONSTRAINT accounts_live_has_credentials CHECK (scrubbed_at IS NOT NULL OR (login IS NOT NULL AND email IS NOT NULL AND password_hash IS NOT NULL AND password_changed_at IS NOT NULL)),
    CONSTRAINT accounts_scrubbed_is_empty CHECK (scrubbed_at IS NULL OR (status = 'deleted' AND login IS NULL AND email IS NULL AND email_verified_at IS NULL AND first_name IS NULL AND last_name IS NULL AND date_of_birth IS NULL AND address_line_1 IS NULL AND address_line_2 IS NULL AND city IS NULL AND state IS NULL AND postal_code IS NULL AND country IS NULL AND home_phone IS NULL AND mobile_phone IS NULL AND password_hash IS NULL AND password_changed_at IS NULL)),
    CONSTRAINT accounts_deleted_at CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
    CONSTRAINT accounts_times_ordered CHECK (status_changed_at >= created_at AND (deleted_at IS NULL OR deleted_at >= created_at) AND (scrubbed_at IS NULL OR scrubbed_at >= deleted_at)),
    CONSTRAINT accounts_birth_not_after_creation CHECK (date_of_birth IS NULL OR date_of_birth <= date(created_at / 1000000, 'unixepoch'))
) STRICT;
CREATE UNIQUE INDEX accounts_login_key ON accounts (login_key);
CREATE UNIQUE INDEX accounts_login ON accounts (login);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));
CREATE TABLE account_calendars (
    account_id INTEGER NOT NULL REFERENCES accounts (id) CONSTRAINT account_calendars_account_id_check CHECK (account_id >= 1),
    calendar TEXT NOT NULL CONSTRAINT account_calendars_calendar_check CHECK (length(calendar) BETWEEN 3 AND 1024 AND calendar GLOB '[A-Za-z]*:?*' AND substr(calendar, 1, instr(calendar, ':') - 1) NOT GLOB '*[^A-Za-z0-9+.-]*' AND calendar NOT GLOB ('*[' || char(1) || '-' || char(32) || char(127) || '-' || char(159) || ']*')),
    role TEXT NOT NULL CONSTRAINT account_calendars_role_check CHECK (role IN ('owner', 'write', 'read')),
    granted_at INTEGER NOT NULL CONSTRAINT account_calendars_granted_at_check CHECK (granted_at BETWEEN 0 AND 253402300799999999),
    PRIMARY KEY (account_id, calendar)
) STRICT;
CREATE INDEX account_calendars_by_calendar ON account_calendars (calendar);
CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT CONSTRAINT password_resets_id_check CHECK (id >= 1),
    account_id INTEGER NOT NULL REFERENCES accounts (id) CONSTRAINT password_resets_account_id_check CHECK (account_id >= 1),
    token_hash BLOB NOT NULL CONSTRAINT password_resets_token_hash_check CHECK (length(token_hash) = 32),
    created_at INTEGER NOT NULL CONSTRAINT password_resets_created_at_check CHECK (created_at BETWEEN 0 AND 253402300799999999),
    expires_at INTEGER NOT NULL CONSTRAINT password_resets_expires_at_check CHECK (expires_at BETWEEN 0 AND 253402300799999999),
    used_at INTEGER CONSTRAINT password_resets_used_at_check CHECK (used_at BETWEEN 0 AND 253402300799999999),
    CONSTRAINT password_resets_expiry CHECK (expires_at > created_at),
    CONSTRAINT password_resets_use CHECK (used_at IS NULL OR used_at >= created_at)
) STRICT;
CREATE UNIQUE INDEX password_resets_token ON password_resets (token_hash);
CREATE INDEX password_resets_by_account ON password_resets (account_id);
CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT CONSTRAINT connections_id_check CHECK (id >= 1),
    started_at INTEGER NOT NULL CONSTRAINT connections_started_at_check CHECK (started_at BETWEEN 0 AND 253402300799999999),
    ended_at INTEGER CONSTRAINT connections_ended_at_check CHECK (ended_at BETWEEN 0 AND 253402300799999999),
    outcome TEXT NOT NULL CONSTRAINT connections_outcome_check CHECK (outcome IN ('slot_refused', 'pending', 'unknown_login', 'bad_password', 'account_not_active', 'already_connected', 'marshalling_failed', 'timed_out', 'access_granted', 'incompatible_version', 'shutdown_by_server', 'unexpected_client_termination', 'normal_client_side_termination', 'server_restart', 'throttled')),
    account_id INTEGER REFERENCES accounts (id) CONSTRAINT connections_account_id_check CHECK (account_id >= 1),
    sent_login TEXT CONSTRAINT connections_sent_login_check CHECK (length(sent_login) BETWEEN 3 AND 32 AND sent_login NOT GLOB '*[^a-z0-9_.-]*'),
    sent_login_key BLOB CONSTRAINT connections_sent_login_key_check CHECK (length(sent_login_key) = 32),
    peer_ip TEXT NOT NULL CONSTRAINT connections_peer_ip_check CHECK ((length(peer_ip) = 8 OR (length(peer_ip) = 32 AND substr(peer_ip, 1, 24) <> '00000000000000000000ffff')) AND peer_ip NOT GLOB '*[^0-9a-f]*'),
    peer_port INTEGER NOT NULL CONSTRAINT connections_peer_port_check CHECK (peer_port BETWEEN 1 AND 65535),
    client_version TEXT CONSTRAINT connections_client_version_check CHECK (length(client_version) BETWEEN 1 AND 16 AND client_version NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    reverse_dns TEXT CONSTRAINT connections_reverse_dns_check CHECK (length(reverse_dns) BETWEEN 1 AND 253 AND reverse_dns NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    geo_country TEXT CONSTRAINT connections_geo_country_check CHECK (length(geo_country) = 2 AND geo_country NOT GLOB '*[^A-Z]*'),
    geo_region TEXT CONSTRAINT connections_geo_region_check CHECK (length(geo_region) BETWEEN 1 AND 64 AND geo_region NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    geo_city TEXT CONSTRAINT connections_geo_city_check CHECK (length(geo_city) BETWEEN 1 AND 64 AND geo_city NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    geo_postal_code TEXT CONSTRAINT connections_geo_postal_code_check CHECK (length(geo_postal_code) BETWEEN 1 AND 16 AND geo_postal_code NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    geo_db_version TEXT CONSTRAINT connections_geo_db_version_check CHECK (length(geo_db_version) BETWEEN 1 AND 32 AND geo_db_version NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*')),
    redacted_at INTEGER CONSTRAINT connections_redacted_at_check CHECK (redacted_at BETWEEN 0 AND 253402300799999999),
    CONSTRAINT connections_ended_after_start CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT connections_open_states CHECK (ended_at IS NOT NULL OR outcome IN ('pending', 'access_granted')),
    CONSTRAINT connections_matched_login CHECK ((sent_login IS NULL OR (account_id IS NOT NULL AND sent_login_key IS NULL)) AND (outcome NOT IN ('access_granted', 'bad_password', 'account_not_active', 'already_connected') OR account_id IS NOT NULL)),
    CONSTRAINT connections_redacted CHECK (redacted_at IS NULL OR (sent_login IS NULL AND sent_login_key IS NULL AND reverse_dns IS NULL AND geo_city IS NULL AND geo_postal_code IS NULL))
) STRICT;
CREATE INDEX connections_by_account ON connections (account_id, started_at);
CREATE INDEX connections_by_start ON connections (started_at);
CREATE INDEX connections_by_peer ON connections (peer_ip);
CREATE INDEX connections_open ON connections (started_at) WHERE ended_at IS NULL;
CREATE INDEX connections_unredacted ON connections (started_at) WHERE redacted_at IS NULL;
