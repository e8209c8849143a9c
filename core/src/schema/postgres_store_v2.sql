-- calstore component "store", version 2, PostgreSQL dialect: per-user preferences (imip-agent's
-- PREFERENCES_DIR/<user>/<name>, one value per name). Names and values are checked in Rust
-- (core/src/prefs); the CHECKs here keep raw SQL from storing what no build could read.

CREATE TABLE preferences (
    store_user TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    value TEXT COLLATE "C" NOT NULL CHECK (length(value) <= 65536),
    PRIMARY KEY (store_user, name)
);
