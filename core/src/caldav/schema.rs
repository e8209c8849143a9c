//! The `caldav` component: what a CalDAV front end keeps beside the store's objects —
//! calendar collections, their properties, and the resources (a name in a collection, the
//! UID it holds, the parts of the iCalendar object that are not VEVENTs, and the span of its
//! instances for time-range queries). A server-only component: a browser database never gets
//! it (decision 0013).

use crate::schema::{Component, Migration};

/// The component.
pub static CALDAV: Component = Component {
    name: "caldav",
    migrations: &[Migration {
        version: 1,
        sqlite: "CREATE TABLE caldav_collections (
    store_user TEXT NOT NULL,
    name TEXT NOT NULL,
    components TEXT NOT NULL,
    PRIMARY KEY (store_user, name)
) STRICT;
CREATE TABLE caldav_properties (
    store_user TEXT NOT NULL,
    collection TEXT NOT NULL,
    property TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (store_user, collection, property)
) STRICT;
CREATE TABLE caldav_resources (
    store_user TEXT NOT NULL,
    collection TEXT NOT NULL,
    name TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    head TEXT NOT NULL,
    tail TEXT NOT NULL,
    first_start TEXT,
    last_end TEXT,
    recurring INTEGER NOT NULL CHECK (recurring IN (0, 1)),
    revision INTEGER NOT NULL,
    deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    PRIMARY KEY (store_user, collection, name)
) STRICT;
CREATE UNIQUE INDEX caldav_resources_by_uid ON caldav_resources (store_user, object_uid)
    WHERE deleted = 0;
CREATE INDEX caldav_resources_by_revision ON caldav_resources (store_user, revision);
CREATE INDEX caldav_resources_by_start ON caldav_resources (store_user, collection, first_start);
",
        postgres: "CREATE TABLE caldav_collections (
    store_user TEXT COLLATE \"C\" NOT NULL,
    name TEXT COLLATE \"C\" NOT NULL,
    components TEXT COLLATE \"C\" NOT NULL,
    PRIMARY KEY (store_user, name)
);
CREATE TABLE caldav_properties (
    store_user TEXT COLLATE \"C\" NOT NULL,
    collection TEXT COLLATE \"C\" NOT NULL,
    property TEXT COLLATE \"C\" NOT NULL,
    value TEXT COLLATE \"C\" NOT NULL,
    PRIMARY KEY (store_user, collection, property)
);
CREATE TABLE caldav_resources (
    store_user TEXT COLLATE \"C\" NOT NULL,
    collection TEXT COLLATE \"C\" NOT NULL,
    name TEXT COLLATE \"C\" NOT NULL,
    object_uid TEXT COLLATE \"C\" NOT NULL,
    kind TEXT COLLATE \"C\" NOT NULL,
    head TEXT COLLATE \"C\" NOT NULL,
    tail TEXT COLLATE \"C\" NOT NULL,
    first_start TEXT COLLATE \"C\",
    last_end TEXT COLLATE \"C\",
    recurring BIGINT NOT NULL CHECK (recurring IN (0, 1)),
    revision BIGINT NOT NULL,
    deleted BIGINT NOT NULL CHECK (deleted IN (0, 1)),
    PRIMARY KEY (store_user, collection, name)
);
CREATE UNIQUE INDEX caldav_resources_by_uid ON caldav_resources (store_user, object_uid)
    WHERE deleted = 0;
CREATE INDEX caldav_resources_by_revision ON caldav_resources (store_user, revision);
CREATE INDEX caldav_resources_by_start ON caldav_resources (store_user, collection, first_start);
",
    }],
};

#[cfg(test)]
mod tests {
    use super::CALDAV;
    use crate::schema::catalogue::CALDAV_TABLES;

    /// The catalogue lists every table and column the scripts create.
    #[test]
    fn the_catalogue_matches_the_scripts() {
        for m in CALDAV.migrations {
            for script in [m.sqlite, m.postgres] {
                for t in CALDAV_TABLES {
                    let start = script
                        .find(&format!("CREATE TABLE {} (", t.name))
                        .unwrap_or_else(|| panic!("{} missing", t.name));
                    let body = &script[start..];
                    // The closing parenthesis starts a line (`);` or `) STRICT;`).
                    let body = &body[..body.find("\n)").unwrap()];
                    for c in t.columns {
                        assert!(body.contains(&format!("\n    {c} ")), "{}.{c}", t.name);
                    }
                    assert_eq!(
                        body.matches("\n    ").count() - 1,
                        t.columns.len(),
                        "{}",
                        t.name
                    );
                }
                assert_eq!(script.matches("CREATE TABLE").count(), CALDAV_TABLES.len());
            }
        }
    }
}
