//! The table catalogue: every calendar table, the component that creates it, whose rows it
//! holds and its columns. Copying between databases, the tests' whole-database snapshots and
//! the imip-agent import read this list instead of keeping their own.

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
            Owner::Both | Owner::Database => None,
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

/// The tables of one component, in catalogue order.
pub fn tables_of(component: &str) -> impl Iterator<Item = &'static Table> + '_ {
    TABLES.iter().filter(move |t| t.component == component)
}

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}
