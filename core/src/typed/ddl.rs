//! DDL derived from a [`TableDef`]: `CREATE TABLE` (SQLite `STRICT`) and `CREATE INDEX`
//! statements per dialect. Only static names from the declaration and the field types'
//! static CHECK expressions go into the text.
//!
//! [`DdlForm`] says where and how the table is created: in the main schema (the default), in
//! another schema of the connection (SQLite's attached in-memory `ram`), as a PostgreSQL
//! `UNLOGGED` table, and whether an existing table is left alone (`IF NOT EXISTS`). The
//! storage classes use these forms (`schema::storage`).

use crate::sql::Dialect;

use super::column::{ColumnDef, ColumnDefault, Presence};
use super::field_type::FieldType;
use super::table::{IndexDef, IndexKey, TableDef};

/// Where and how [`TableDef::ddl_in`] creates a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DdlForm {
    /// The schema to create the table and its indexes in (`ram` for SQLite's attached
    /// in-memory schema); `None` for the default one. Statements that use the table still
    /// name it without a schema: SQLite finds a name in the attached schemas when no table
    /// of the main schema has it.
    pub schema: Option<&'static str>,
    /// `CREATE UNLOGGED TABLE` (PostgreSQL only; ignored for SQLite): no WAL, emptied by a
    /// server crash, kept by a clean restart.
    pub unlogged: bool,
    /// `IF NOT EXISTS` on the table and its indexes.
    pub if_not_exists: bool,
}

impl TableDef {
    /// The statements that create this table and its indexes in `dialect`, in order, each
    /// without a trailing `;`.
    pub fn ddl(&self, dialect: Dialect) -> Vec<String> {
        self.ddl_in(dialect, DdlForm::default())
    }

    /// [`TableDef::ddl`] in another [`DdlForm`].
    pub fn ddl_in(&self, dialect: Dialect, form: DdlForm) -> Vec<String> {
        let mut out = vec![self.create_table(dialect, form)];
        for ix in self.uniques {
            out.push(create_index(self.name, ix, true, form));
        }
        for ix in self.indexes {
            out.push(create_index(self.name, ix, false, form));
        }
        out
    }

    fn create_table(&self, dialect: Dialect, form: DdlForm) -> String {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|c| column_sql(self.name, c, dialect))
            .collect();
        if !self.has_identity() {
            lines.push(format!("PRIMARY KEY ({})", self.primary_key.join(", ")));
        }
        for check in self.checks {
            let expr = match dialect {
                Dialect::Postgres => check.postgres,
                _ => check.sqlite,
            };
            lines.push(format!("CONSTRAINT {} CHECK ({expr})", check.name));
        }
        let (strict, unlogged) = match dialect {
            Dialect::Postgres => ("", if form.unlogged { "UNLOGGED " } else { "" }),
            _ => (" STRICT", ""),
        };
        format!(
            "CREATE {unlogged}TABLE {}{}{} (\n    {}\n){strict}",
            if_not_exists(form),
            qualifier(form),
            self.name,
            lines.join(",\n    ")
        )
    }
}

fn column_sql(table: &str, c: &ColumnDef, dialect: Dialect) -> String {
    let name = c.name;
    let check = format!(
        "CONSTRAINT {table}_{name}_check CHECK ({})",
        c.ty.check_sql(dialect, name)
    );
    if c.ty == FieldType::Id {
        return match dialect {
            Dialect::Postgres => format!(
                "{name} BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY {check}"
            ),
            _ => format!("{name} INTEGER PRIMARY KEY AUTOINCREMENT {check}"),
        };
    }
    let mut s = format!("{name} {}", c.ty.sql_type(dialect));
    if c.presence == Presence::Mandatory {
        s.push_str(" NOT NULL");
    }
    match c.default {
        Some(ColumnDefault::Integer(i)) => s.push_str(&format!(" DEFAULT {i}")),
        Some(ColumnDefault::Text(t)) => s.push_str(&format!(" DEFAULT '{t}'")),
        None => {}
    }
    if let FieldType::Ref { table: target } = c.ty {
        s.push_str(&format!(" REFERENCES {target} (id)"));
    }
    s.push(' ');
    s.push_str(&check);
    s
}

fn if_not_exists(form: DdlForm) -> &'static str {
    if form.if_not_exists {
        "IF NOT EXISTS "
    } else {
        ""
    }
}

/// `schema.` or nothing.
fn qualifier(form: DdlForm) -> String {
    form.schema.map(|s| format!("{s}.")).unwrap_or_default()
}

fn create_index(table: &str, ix: &IndexDef, unique: bool, form: DdlForm) -> String {
    let keys: Vec<String> = ix
        .keys
        .iter()
        .map(|k| match k {
            IndexKey::Column(c) => (*c).to_owned(),
            IndexKey::Lower(c) => format!("lower({c})"),
        })
        .collect();
    // SQLite names the schema on the index; the table is then looked up in that schema.
    let mut s = format!(
        "CREATE {}INDEX {}{}{} ON {table} ({})",
        if unique { "UNIQUE " } else { "" },
        if_not_exists(form),
        qualifier(form),
        ix.name,
        keys.join(", ")
    );
    if let Some(w) = ix.where_clause {
        s.push_str(" WHERE ");
        s.push_str(w);
    }
    s
}
