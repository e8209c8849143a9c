//! DDL derived from a [`TableDef`]: `CREATE TABLE` (SQLite `STRICT`) and `CREATE INDEX`
//! statements per dialect. Only static names from the declaration and the field types'
//! static CHECK expressions go into the text.

use crate::sql::Dialect;

use super::column::{ColumnDef, ColumnDefault, Presence};
use super::field_type::FieldType;
use super::table::{IndexDef, IndexKey, TableDef};

impl TableDef {
    /// The statements that create this table and its indexes in `dialect`, in order, each
    /// without a trailing `;`.
    pub fn ddl(&self, dialect: Dialect) -> Vec<String> {
        let mut out = vec![self.create_table(dialect)];
        for ix in self.uniques {
            out.push(create_index(self.name, ix, true));
        }
        for ix in self.indexes {
            out.push(create_index(self.name, ix, false));
        }
        out
    }

    fn create_table(&self, dialect: Dialect) -> String {
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
        let strict = match dialect {
            Dialect::Postgres => "",
            _ => " STRICT",
        };
        format!(
            "CREATE TABLE {} (\n    {}\n){strict}",
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

fn create_index(table: &str, ix: &IndexDef, unique: bool) -> String {
    let keys: Vec<String> = ix
        .keys
        .iter()
        .map(|k| match k {
            IndexKey::Column(c) => (*c).to_owned(),
            IndexKey::Lower(c) => format!("lower({c})"),
        })
        .collect();
    let mut s = format!(
        "CREATE {}INDEX {} ON {table} ({})",
        if unique { "UNIQUE " } else { "" },
        ix.name,
        keys.join(", ")
    );
    if let Some(w) = ix.where_clause {
        s.push_str(" WHERE ");
        s.push_str(w);
    }
    s
}
