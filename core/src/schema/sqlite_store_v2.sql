-- calstore component "store", version 2, SQLite dialect: per-user preferences (imip-agent's
-- PREFERENCES_DIR/<user>/<name>, one value per name). Names and values are checked in Rust
-- (core/src/prefs); the CHECKs here keep raw SQL from storing what no build could read.

CREATE TABLE preferences (
    store_user TEXT NOT NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    value TEXT NOT NULL CHECK (length(value) <= 65536),
    PRIMARY KEY (store_user, name)
) STRICT;
