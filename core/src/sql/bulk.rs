//! Multi-row statements built from static parts.
//!
//! Bulk writes and `IN` lists need a statement whose *shape* depends on how many rows it
//! carries. The text is generated here from static fragments and placeholder numbers only —
//! never from data — and values are always bound as parameters. Chunks keep every statement
//! under [`MAX_PARAMS`] parameters, well inside SQLite's and PostgreSQL's limits.

use super::Value;

/// The most parameters one generated statement binds.
pub const MAX_PARAMS: usize = 900;

/// One placeholder of a row template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A parameter shared by every row: `$n` (1-based).
    Shared(usize),
    /// The row's own value at this 0-based position.
    Row(usize),
    /// A fixed SQL literal, e.g. `'active'`.
    Literal(&'static str),
}

/// Builds `prefix (…), (…), … suffix` for `rows` rows. Shared parameters take `$1..$shared`;
/// row `r`'s values take the numbers after them, in order.
pub fn values_sql(
    prefix: &str,
    template: &[Slot],
    shared: usize,
    rows: usize,
    suffix: &str,
) -> String {
    let per_row = template
        .iter()
        .filter_map(|s| match s {
            Slot::Row(i) => Some(i + 1),
            Slot::Shared(_) | Slot::Literal(_) => None,
        })
        .max()
        .unwrap_or(0);
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * template.len() * 6);
    sql.push_str(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (i, slot) in template.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = match slot {
                Slot::Shared(n) => *n,
                Slot::Row(j) => shared + r * per_row + j + 1,
                Slot::Literal(text) => {
                    sql.push_str(text);
                    continue;
                }
            };
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql.push_str(suffix);
    sql
}

/// Builds `prefix ($first, …, $first+count-1) suffix` for an `IN` list.
pub fn in_list_sql(prefix: &str, first: usize, count: usize, suffix: &str) -> String {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + count * 6);
    sql.push_str(prefix);
    sql.push('(');
    for i in 0..count {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&(first + i).to_string());
    }
    sql.push(')');
    sql.push_str(suffix);
    sql
}

/// `column >= $first AND column <= $first+1 AND column IN ($first+2, …)`: an `IN` list of
/// `count` text values bounded by the least and the greatest of them (the parameters in
/// that order: [`bounded_in_params`]). `column` must be the second column of an index whose
/// first is compared for equality (the owner). The bounds change no result, only the plan:
/// PostgreSQL, with no statistics of the owner (a table not analysed yet, or an owner that
/// was not in the sample), takes the owner to hold a small fraction of the rows and plans a
/// long `IN` list as a scan of all the owner's rows filtered by the list; the bounds make
/// that scan a range of the index no wider than the values. An import in pieces sends its
/// UIDs in order, so each piece's range holds its own UIDs' rows only, not those the
/// earlier pieces inserted (without the bounds, each piece was slower than the last).
pub fn bounded_in_sql(column: &str, first: usize, count: usize) -> String {
    in_list_sql(
        &format!(
            "{column} >= ${first} AND {column} <= ${} AND {column} IN ",
            first + 1
        ),
        first + 2,
        count,
        "",
    )
}

/// The parameters of [`bounded_in_sql`]: the least and the greatest of `values`, then
/// `values` (none if `values` is empty).
pub fn bounded_in_params(values: &[&str]) -> Vec<Value> {
    let (Some(least), Some(greatest)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    let mut params = Vec::with_capacity(values.len() + 2);
    params.push(Value::from(*least));
    params.push(Value::from(*greatest));
    params.extend(values.iter().map(|v| Value::from(*v)));
    params
}

/// How many rows of `per_row` parameters fit in one statement next to `shared` ones.
pub fn rows_per_chunk(per_row: usize, shared: usize) -> usize {
    (MAX_PARAMS.saturating_sub(shared) / per_row.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_in_lists() {
        assert_eq!(
            values_sql(
                "INSERT INTO t VALUES ",
                &[Slot::Shared(1), Slot::Row(0), Slot::Row(1)],
                1,
                2,
                ";"
            ),
            "INSERT INTO t VALUES ($1, $2, $3), ($1, $4, $5);"
        );
        assert_eq!(in_list_sql("x IN ", 2, 3, ""), "x IN ($2, $3, $4)");
        assert_eq!(
            bounded_in_sql("u", 2, 2),
            "u >= $2 AND u <= $3 AND u IN ($4, $5)"
        );
        assert_eq!(
            bounded_in_params(&["b", "c", "a"]),
            ["a", "c", "b", "c", "a"].map(Value::from)
        );
        assert!(bounded_in_params(&[]).is_empty());
        assert_eq!(rows_per_chunk(9, 1), 99);
    }
}
