//! The table catalogue: every table, the component that creates it, whose rows it holds and
//! its columns, one list per kind of component: [`TABLES`] for the calendar components every
//! database has, [`ACCOUNT_TABLES`] for the server's accounts component. Copying between
//! databases, the tests' whole-database snapshots and the imip-agent import read these lists
//! instead of keeping their own.

/// Whose rows a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// `scope` and `owner` columns (the change journal).
    Both,
    /// A store user, in this column.
    Store(&'static str),
    /// A journal quota, in this column.
    Journal(&'static str),
    /// Nobody: the database's own bookkeeping (`calstore_schema`), never copied.
    Database,
    /// The installation: accounts and their connection log (no calendar user owns them).
    Installation,
}

/// One table of the calendar schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    /// The table's name (imip-agent's, where it has one).
    pub name: &'static str,
    /// The component whose migrations create it ([`super::Component::name`]).
    pub component: &'static str,
    /// Whose rows it holds.
    pub owner: Owner,
    /// Every column, in the order a copy reads and writes them (quoted where the name is a
    /// keyword).
    pub columns: &'static [&'static str],
}

impl Table {
    /// The column that names the owner, or `None` for the change journal and bookkeeping.
    pub fn owner_column(&self) -> Option<&'static str> {
        match self.owner {
            Owner::Store(c) | Owner::Journal(c) => Some(c),
            Owner::Both | Owner::Database | Owner::Installation => None,
        }
    }
}

macro_rules! period_columns {
    ($($before:literal),* ; $($after:literal),*) => {
        &[$($before,)* "\"start\"", "\"end\"", "object_uid", "transp", "object_recurrenceid",
          "summary", "organiser", $($after,)* "span"]
    };
}

const fn store(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        component: "store",
        owner: Owner::Store("store_user"),
        columns,
    }
}

const fn journal(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        component: "journal",
        owner: Owner::Journal("quota"),
        columns,
    }
}

/// Every table of the calendar components (core, store, journal), bookkeeping first, then
/// the change journal, the store's and the journal's tables.
pub const TABLES: &[Table] = &[
    Table {
        name: "calstore_schema",
        component: "core",
        owner: Owner::Database,
        columns: &["name", "value"],
    },
    Table {
        name: "calstore_revisions",
        component: "core",
        owner: Owner::Both,
        columns: &["scope", "owner", "revision", "min_valid_revision"],
    },
    Table {
        name: "calstore_changes",
        component: "core",
        owner: Owner::Both,
        columns: &[
            "scope",
            "owner",
            "table_name",
            "row_key",
            "revision",
            "operation",
        ],
    },
    store(
        "objects",
        &["store_user", "object_uid", "object_text", "status"],
    ),
    store(
        "recurrences",
        &[
            "store_user",
            "object_uid",
            "object_recurrenceid",
            "object_text",
            "status",
        ],
    ),
    store(
        "countered_objects",
        &["store_user", "other", "object_uid", "object_text"],
    ),
    store(
        "countered_recurrences",
        &[
            "store_user",
            "other",
            "object_uid",
            "object_recurrenceid",
            "object_text",
        ],
    ),
    store("freebusy", period_columns!("store_user";)),
    store("freebusy_offers", period_columns!("store_user"; "expires")),
    store("freebusy_other", period_columns!("store_user", "other";)),
    store(
        "freebusy_providers",
        &["store_user", "object_uid", "object_recurrenceid"],
    ),
    store("freebusy_provider_datetimes", &["store_user", "\"start\""]),
    store(
        "requests",
        &[
            "store_user",
            "object_uid",
            "object_recurrenceid",
            "request_type",
            "queued",
        ],
    ),
    store("preferences", &["store_user", "name", "value"]),
    journal(
        "quota_freebusy",
        period_columns!("quota", "user_group"; "attendee"),
    ),
    journal("user_freebusy", period_columns!("quota", "store_user";)),
    journal("quota_limits", &["quota", "user_group", "quota_limit"]),
    journal("user_groups", &["quota", "store_user", "user_group"]),
    journal("quota_delegates", &["quota", "store_user"]),
    journal(
        "quota_objects",
        &["quota", "object_uid", "object_text", "status"],
    ),
    journal(
        "quota_recurrences",
        &[
            "quota",
            "object_uid",
            "object_recurrenceid",
            "object_text",
            "status",
        ],
    ),
];

const fn accounts(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        component: "accounts",
        owner: Owner::Installation,
        columns,
    }
}

/// The tables of the accounts component (a unit test keeps the columns equal to the
/// declarations in [`crate::accounts::tables`]). `live_sessions` and `login_throttle` are
/// memory tables ([`super::storage`]): on SQLite they are not in the database file.
pub const ACCOUNT_TABLES: &[Table] = &[
    accounts(
        "accounts",
        &[
            "id",
            "created_at",
            "status",
            "status_changed_at",
            "deleted_at",
            "scrubbed_at",
            "role",
            "login_key",
            "login",
            "email",
            "email_verified_at",
            "first_name",
            "last_name",
            "date_of_birth",
            "address_line_1",
            "address_line_2",
            "city",
            "state",
            "postal_code",
            "country",
            "home_phone",
            "mobile_phone",
            "password_hash",
            "password_changed_at",
            "max_sessions",
        ],
    ),
    accounts(
        "account_calendars",
        &["account_id", "calendar", "role", "granted_at"],
    ),
    accounts(
        "password_resets",
        &[
            "id",
            "account_id",
            "token_hash",
            "created_at",
            "expires_at",
            "used_at",
        ],
    ),
    accounts(
        "connections",
        &[
            "id",
            "started_at",
            "ended_at",
            "outcome",
            "account_id",
            "sent_login",
            "sent_login_key",
            "peer_ip",
            "peer_port",
            "client_version",
            "reverse_dns",
            "geo_country",
            "geo_region",
            "geo_city",
            "geo_postal_code",
            "geo_db_version",
            "redacted_at",
        ],
    ),
    accounts(
        "live_sessions",
        &["connection_id", "account_id", "slot", "since"],
    ),
    accounts(
        "login_throttle",
        &[
            "kind",
            "subject",
            "failures",
            "last_failure_at",
            "locked_until",
        ],
    ),
];

const fn caldav(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        component: "caldav",
        owner: Owner::Store("store_user"),
        columns,
    }
}

/// The tables of the server's `caldav` component ([`crate::caldav::CALDAV`]): collections,
/// their properties and the resources. Listed apart from [`all_tables`] (copies and the
/// tests' snapshots of calendar databases do not have them).
pub const CALDAV_TABLES: &[Table] = &[
    caldav("caldav_collections", &["store_user", "name", "components"]),
    caldav(
        "caldav_properties",
        &["store_user", "collection", "property", "value"],
    ),
    caldav(
        "caldav_resources",
        &[
            "store_user",
            "collection",
            "name",
            "object_uid",
            "kind",
            "head",
            "tail",
            "first_start",
            "last_end",
            "recurring",
            "revision",
            "deleted",
        ],
    ),
];

/// Every table of every component, calendar tables first.
pub fn all_tables() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().chain(ACCOUNT_TABLES)
}

/// The tables of one component, in catalogue order.
pub fn tables_of(component: &str) -> impl Iterator<Item = &'static Table> + '_ {
    all_tables().filter(move |t| t.component == component)
}

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    all_tables().find(|t| t.name == name)
}
