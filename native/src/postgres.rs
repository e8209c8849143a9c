//! The PostgreSQL adapter over the synchronous `postgres` client (no TLS).
//!
//! Statements are shared with SQLite and written with `$N` placeholders, which PostgreSQL
//! takes as they are. Parameters are bound by the type the server inferred for them: a
//! [`Value`] is encoded as that type when the conversion is exact (`Integer` as `INT8`, or as
//! `INT4`/`INT2` when it fits, or as `BOOL` when it is 0 or 1; `Real` as `FLOAT8`; `Text` as
//! `TEXT`; `Blob` as `BYTEA`), and binding fails with a clear error otherwise. Results are read
//! back into the same five classes:
//!
//! | PostgreSQL column | [`Value`] |
//! |---|---|
//! | `INT2`, `INT4`, `INT8` | `Integer` |
//! | `BOOL` | `Integer` 0 or 1 |
//! | `FLOAT4`, `FLOAT8` | `Real` |
//! | `TEXT`, `VARCHAR`, `BPCHAR`, `NAME`, unknown | `Text` |
//! | `BYTEA` | `Blob` |
//! | NULL of any type | `Null` |
//!
//! Any other column type is a [`DbErrorKind::Decode`] error. Prepared statements are cached
//! per connection by SQL text.

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use calstore_core::{DbError, DbErrorKind, Dialect, Row, SqlConnection, Value};
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

/// How many prepared statements a connection keeps; the cache is emptied when it is full.
/// calstore's statements are a fixed set of templates, far fewer than this.
const STATEMENT_CACHE_CAPACITY: usize = 512;

/// A PostgreSQL connection implementing [`SqlConnection`].
pub struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Open transactions and savepoints (see [`SqlConnection::begin`]).
    depth: u32,
}

impl std::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConnection")
            .field("closed", &self.client.is_closed())
            .field("cached_statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

type BoxError = Box<dyn StdError + Sync + Send>;

/// A [`Value`] bound as a parameter, encoded as the type the server inferred.
#[derive(Debug)]
struct PgParam<'a>(&'a Value);

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!(
        "cannot bind a {} value to a parameter of PostgreSQL type {ty}",
        value.type_name()
    )
    .into()
}

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let value = self.0;
        match value {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)
                    .map_err(|_| format!("integer {i} does not fit the INT4 parameter"))?
                    .to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)
                    .map_err(|_| format!("integer {i} does not fit the INT2 parameter"))?
                    .to_sql(ty, out),
                Type::BOOL => match i {
                    0 => false.to_sql(ty, out),
                    1 => true.to_sql(ty, out),
                    _ => Err(format!("integer {i} is not a boolean (0 or 1)").into()),
                },
                Type::FLOAT8 => i32::try_from(*i)
                    .map(f64::from)
                    .map_err(|_| format!("integer {i} is not exact as a FLOAT8 parameter"))?
                    .to_sql(ty, out),
                // Like SQLite's TEXT affinity: an integer is stored as its decimal text.
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().as_str().to_sql(ty, out)
                }
                _ => Err(mismatch(value, ty)),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => {
                    // Only exact values: the round trip through f32 must give `f` back.
                    #[allow(clippy::cast_possible_truncation)]
                    let narrow = *f as f32;
                    if f64::from(narrow) == *f || f.is_nan() {
                        narrow.to_sql(ty, out)
                    } else {
                        Err(format!("real {f} is not exact as a FLOAT4 parameter").into())
                    }
                }
                _ => Err(mismatch(value, ty)),
            },
            Value::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    s.as_str().to_sql(ty, out)
                }
                _ => Err(mismatch(value, ty)),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(mismatch(value, ty)),
            },
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn decode_error(
    index: usize,
    found: &'static str,
    e: impl StdError + Send + Sync + 'static,
) -> DbError {
    DbError::with_source(
        DbErrorKind::Decode {
            index,
            expected: "a PostgreSQL value of a known type",
            found,
        },
        format!("column {index}: {e}"),
        e,
    )
}

fn read_column(row: &postgres::Row, index: usize) -> Result<Value, DbError> {
    let ty = row
        .columns()
        .get(index)
        .map(|c| c.type_().clone())
        .ok_or_else(|| {
            DbError::new(
                DbErrorKind::Decode {
                    index,
                    expected: "a column",
                    found: "nothing",
                },
                format!("column {index} does not exist"),
            )
        })?;
    let value = match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map(|v| v.map(Value::Integer)),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map(|v| v.map(|i| Value::Integer(i64::from(i)))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map(|v| v.map(|i| Value::Integer(i64::from(i)))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map(|v| v.map(|b| Value::Integer(i64::from(b)))),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)
            .map(|v| v.map(Value::Real)),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)
            .map(|v| v.map(|f| Value::Real(f64::from(f)))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<String>>(index)
            .map(|v| v.map(Value::Text)),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)
            .map(|v| v.map(Value::Blob)),
        other => {
            return Err(DbError::new(
                DbErrorKind::Decode {
                    index,
                    expected: "INT2/INT4/INT8, BOOL, FLOAT4/FLOAT8, TEXT or BYTEA",
                    found: "another PostgreSQL type",
                },
                format!("column {index} has PostgreSQL type {other}, which calstore does not read"),
            ));
        }
    };
    value
        .map(|v| v.unwrap_or(Value::Null))
        .map_err(|e| decode_error(index, "an undecodable value", e))
}

/// Classifies a `postgres` error into the core's kinds by its SQLSTATE, keeping it as the
/// source.
pub fn classify(e: postgres::Error) -> DbError {
    let kind = match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => DbErrorKind::UniqueViolation,
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => DbErrorKind::ForeignKeyViolation,
        Some(c) if *c == SqlState::NOT_NULL_VIOLATION => DbErrorKind::NotNullViolation,
        Some(c) if *c == SqlState::CHECK_VIOLATION => DbErrorKind::CheckViolation,
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            DbErrorKind::SerializationFailure
        }
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => DbErrorKind::Busy,
        _ => DbErrorKind::Other,
    };
    // The driver's Display for server errors is "db error: ERROR: ..."; the full DbError
    // (detail, hint, constraint) stays available through the source. For other errors it
    // names the kind only ("error connecting to server"): the cause ("Connection refused",
    // "invalid value for option `port`") is in the source chain. None of these repeat the
    // connection string, so no password gets into a message.
    let message = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => {
            let mut message = e.to_string();
            let mut cause = StdError::source(&e);
            while let Some(c) = cause {
                message.push_str(": ");
                message.push_str(&c.to_string());
                cause = c.source();
            }
            message
        }
    };
    DbError::with_source(kind, message, e)
}

impl PgConnection {
    /// Connects with a URL (`postgres://user@host:port/db?...`) or a key/value connection
    /// string (`host=/run/postgresql dbname=calstore`), without TLS.
    pub fn connect(params: &str) -> Result<Self, DbError> {
        let client = Client::connect(params, NoTls).map_err(classify)?;
        Ok(Self::from_client(client))
    }

    /// Wraps a client that is already connected.
    pub fn from_client(client: Client) -> Self {
        PgConnection {
            client,
            statements: HashMap::new(),
            depth: 0,
        }
    }

    /// Makes `schema` the only schema that unqualified names resolve to (tests use one schema
    /// per case). The name is quoted, so any text is safe.
    pub fn set_search_path(&mut self, schema: &str) -> Result<(), DbError> {
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        self.client
            .batch_execute(&format!("SET search_path TO {quoted}"))
            .map_err(classify)?;
        // Plans are re-made on a search_path change, but start clean all the same.
        self.statements.clear();
        Ok(())
    }

    /// The underlying client.
    pub fn inner(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The server version, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub fn server_version(&mut self) -> Result<String, DbError> {
        let row = self
            .client
            .query_one("SHOW server_version", &[])
            .map_err(classify)?;
        row.try_get::<_, String>(0)
            .map_err(|e| decode_error(0, "an undecodable value", e))
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).map_err(classify)?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

fn bind(params: &[Value]) -> Vec<PgParam<'_>> {
    params.iter().map(PgParam).collect()
}

fn refs<'a>(params: &'a [PgParam<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl SqlConnection for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        self.client.execute(&stmt, &refs(&bound)).map_err(classify)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        let rows = self.client.query(&stmt, &refs(&bound)).map_err(classify)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| read_column(row, i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row::new)
            })
            .collect()
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(classify)
    }

    fn transaction_depth(&self) -> u32 {
        self.depth
    }

    fn set_transaction_depth(&mut self, depth: u32) {
        self.depth = depth;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(v: &Value, ty: &Type) -> Result<Option<Vec<u8>>, BoxError> {
        let mut buf = BytesMut::new();
        match PgParam(v).to_sql(ty, &mut buf)? {
            IsNull::Yes => Ok(None),
            IsNull::No => Ok(Some(buf.to_vec())),
        }
    }

    #[test]
    fn integers_follow_the_inferred_type() {
        let big = Value::Integer(i64::MAX);
        assert_eq!(
            encode(&big, &Type::INT8).unwrap().unwrap(),
            i64::MAX.to_be_bytes()
        );
        assert!(encode(&big, &Type::INT4).is_err());
        assert!(encode(&big, &Type::INT2).is_err());
        let small = Value::Integer(-7);
        assert_eq!(
            encode(&small, &Type::INT4).unwrap().unwrap(),
            (-7i32).to_be_bytes()
        );
        assert_eq!(
            encode(&small, &Type::INT2).unwrap().unwrap(),
            (-7i16).to_be_bytes()
        );
        assert_eq!(
            encode(&Value::Integer(1), &Type::BOOL).unwrap().unwrap(),
            [1]
        );
        assert!(encode(&Value::Integer(2), &Type::BOOL).is_err());
        assert_eq!(encode(&small, &Type::TEXT).unwrap().unwrap(), b"-7");
        assert!(encode(&small, &Type::BYTEA).is_err());
    }

    #[test]
    fn null_binds_to_any_type() {
        for ty in [Type::INT8, Type::TEXT, Type::BYTEA, Type::JSONB] {
            assert!(encode(&Value::Null, &ty).unwrap().is_none());
        }
    }

    #[test]
    fn reals_texts_and_blobs() {
        assert_eq!(
            encode(&Value::Real(0.5), &Type::FLOAT8).unwrap().unwrap(),
            0.5f64.to_be_bytes()
        );
        assert_eq!(
            encode(&Value::Real(0.5), &Type::FLOAT4).unwrap().unwrap(),
            0.5f32.to_be_bytes()
        );
        assert!(encode(&Value::Real(0.1), &Type::FLOAT4).is_err());
        assert!(encode(&Value::Real(0.5), &Type::TEXT).is_err());
        assert_eq!(
            encode(&"å".into(), &Type::TEXT).unwrap().unwrap(),
            "å".as_bytes()
        );
        assert!(encode(&"x".into(), &Type::INT8).is_err());
        assert_eq!(
            encode(&Value::Blob(vec![0, 255]), &Type::BYTEA)
                .unwrap()
                .unwrap(),
            [0, 255]
        );
        assert!(encode(&Value::Blob(vec![0]), &Type::TEXT).is_err());
    }
}
