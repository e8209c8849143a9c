//! The write-ahead log of committed transactions that browser persistence is built on.
//!
//! sql.js keeps the database in memory; writing the whole image to IndexedDB after every
//! commit costs about 100 ms at 10 MB (`shared/docs/offline-sync.md`, anchor D). Instead,
//! `SqlJsConnection` (wasm32 only) can *record*: every statement that may write
//! and succeeds inside a transaction is appended, with its parameters, to the open
//! transaction's [`EntryBuilder`]; a rollback drops it (a rolled-back savepoint drops what was
//! recorded since the savepoint), and the commit turns it into one encoded log entry (a byte
//! string) waiting to be taken by the JavaScript layer, which appends it to IndexedDB before
//! it acknowledges the write. The connection reports transaction boundaries from its own
//! `begin`/`commit`/`rollback` (the core's `SqlConnection` transaction methods), so no SQL
//! text is parsed to find them. Replaying the entries in order on
//! the last snapshot of the image rebuilds the database exactly, because calstore's
//! statements are deterministic: the core never reads the clock or a random source inside
//! SQL, so every input is in the recorded parameters.
//!
//! This module is plain Rust (no JavaScript), so it is unit-tested natively.
//!
//! ## What is recorded
//!
//! [`Recorder::on_statement`] skips statements that cannot write ([`may_write`]: `SELECT`,
//! `VALUES`, `EXPLAIN`, reading `PRAGMA`s); anything else is recorded, `INSERT … RETURNING`
//! included.
//! A write outside any transaction (autocommit) is a committed transaction by itself and
//! becomes an entry at once. A transaction that recorded nothing (a read transaction) produces
//! no entry.
//!
//! ## Entry format (version 1)
//!
//! ```text
//! entry      = "CSW" version:u8 flags:u8 ntexts:uvarint text* nstmts:uvarint stmt*
//! flags      = bit 0: autocommit (one statement run outside a transaction: replayed as is,
//!              not wrapped in BEGIN/COMMIT, since e.g. VACUUM cannot run in a transaction)
//! text       = len:uvarint utf8-bytes           (each distinct SQL text once per entry)
//! stmt       = 0x00 text-index:uvarint nparams:uvarint param*   (execute/query with params)
//!            | 0x01 text-index:uvarint                          (execute_batch)
//! param      = 0x00                                  (NULL)
//!            | 0x01 zigzag:uvarint                   (INTEGER)
//!            | 0x02 f64-le:8 bytes                   (REAL)
//!            | 0x03 len:uvarint utf8-bytes           (TEXT)
//!            | 0x04 len:uvarint bytes                (BLOB)
//! ```

use std::collections::HashMap;

use calstore_core::{DbError, DbErrorKind, Value};

/// The first bytes of every entry: "CSW" and the format version.
const MAGIC: &[u8; 4] = b"CSW\x01";

const FLAG_AUTOCOMMIT: u8 = 1;

const STMT_PARAMS: u8 = 0;
const STMT_BATCH: u8 = 1;

const TAG_NULL: u8 = 0;
const TAG_INTEGER: u8 = 1;
const TAG_REAL: u8 = 2;
const TAG_TEXT: u8 = 3;
const TAG_BLOB: u8 = 4;

/// The first keyword of `sql`, upper-cased (at most 16 letters), skipping whitespace and
/// `--` / `/* */` comments.
fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i + 1..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(char::is_ascii_alphabetic)
        .take(16)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// True if a statement can change the database: everything but `SELECT`, `VALUES`,
/// `EXPLAIN`, and `PRAGMA`s that assign nothing (`PRAGMA foreign_keys` reads; `PRAGMA
/// user_version = 3` writes). A `WITH` may end in an INSERT, so it counts as a write.
pub fn may_write(sql: &str) -> bool {
    match first_keyword(sql).as_str() {
        "SELECT" | "VALUES" | "EXPLAIN" => false,
        "PRAGMA" => sql.contains('='),
        _ => true,
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // Masked to 7 bits: the truncation is the encoding.
        out.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
        v >>= 7;
    }
    out.push(u8::try_from(v).unwrap_or(0));
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    put_uvarint(out, u64::try_from(len).unwrap_or(u64::MAX));
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn zigzag(v: i64) -> u64 {
    // (v << 1) ^ (v >> 63), computed on the bit pattern.
    u64::from_ne_bytes(((v << 1) ^ (v >> 63)).to_ne_bytes())
}

fn unzigzag(u: u64) -> i64 {
    let half = i64::from_ne_bytes((u >> 1).to_ne_bytes());
    let sign = i64::from_ne_bytes((u & 1).to_ne_bytes());
    half ^ -sign
}

/// The statements of one transaction being recorded.
#[derive(Debug, Default)]
pub struct EntryBuilder {
    autocommit: bool,
    texts: Vec<String>,
    index: HashMap<String, u64>,
    body: Vec<u8>,
    statements: u64,
}

impl EntryBuilder {
    /// A builder for one statement run outside a transaction.
    pub fn autocommit() -> Self {
        EntryBuilder {
            autocommit: true,
            ..EntryBuilder::default()
        }
    }

    fn text_index(&mut self, sql: &str) -> u64 {
        if let Some(&i) = self.index.get(sql) {
            return i;
        }
        let i = u64::try_from(self.texts.len()).unwrap_or(u64::MAX);
        self.texts.push(sql.to_owned());
        self.index.insert(sql.to_owned(), i);
        i
    }

    /// Records a statement run with parameters.
    pub fn statement(&mut self, sql: &str, params: &[Value]) {
        let i = self.text_index(sql);
        self.body.push(STMT_PARAMS);
        put_uvarint(&mut self.body, i);
        put_len(&mut self.body, params.len());
        for p in params {
            match p {
                Value::Null => self.body.push(TAG_NULL),
                Value::Integer(v) => {
                    self.body.push(TAG_INTEGER);
                    put_uvarint(&mut self.body, zigzag(*v));
                }
                Value::Real(f) => {
                    self.body.push(TAG_REAL);
                    self.body.extend_from_slice(&f.to_le_bytes());
                }
                Value::Text(s) => {
                    self.body.push(TAG_TEXT);
                    put_bytes(&mut self.body, s.as_bytes());
                }
                Value::Blob(b) => {
                    self.body.push(TAG_BLOB);
                    put_bytes(&mut self.body, b);
                }
            }
        }
        self.statements += 1;
    }

    /// Records a parameterless batch.
    pub fn batch(&mut self, sql: &str) {
        let i = self.text_index(sql);
        self.body.push(STMT_BATCH);
        put_uvarint(&mut self.body, i);
        self.statements += 1;
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.statements == 0
    }

    /// Where the entry stands now, to go back to ([`EntryBuilder::truncate`]).
    fn mark(&self) -> (usize, u64) {
        (self.body.len(), self.statements)
    }

    /// Drops the statements recorded since `mark` (their texts stay, unused).
    fn truncate(&mut self, (len, statements): (usize, u64)) {
        self.body.truncate(len);
        self.statements = statements;
    }

    /// The encoded entry.
    pub fn finish(self) -> Vec<u8> {
        let texts_len: usize = self.texts.iter().map(|t| t.len() + 3).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + texts_len + self.body.len());
        out.extend_from_slice(MAGIC);
        out.push(if self.autocommit { FLAG_AUTOCOMMIT } else { 0 });
        put_len(&mut out, self.texts.len());
        for t in &self.texts {
            put_bytes(&mut out, t.as_bytes());
        }
        put_uvarint(&mut out, self.statements);
        out.extend_from_slice(&self.body);
        out
    }
}

/// One decoded statement of an entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// Run with `execute(sql, params)`.
    Params(String, Vec<Value>),
    /// Run with `execute_batch(sql)`.
    Batch(String),
}

fn corrupt(what: &str) -> DbError {
    DbError::new(
        DbErrorKind::Other,
        format!("corrupt write-ahead log entry: {what}"),
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DbError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| corrupt("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self) -> Result<u64, DbError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn len(&mut self) -> Result<usize, DbError> {
        let n = usize::try_from(self.uvarint()?).map_err(|_| corrupt("length too large"))?;
        if n > self.bytes.len() - self.pos {
            return Err(corrupt("length past the end"));
        }
        Ok(n)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String, DbError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt("text is not UTF-8"))
    }
}

/// A decoded entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// One statement that ran outside a transaction.
    pub autocommit: bool,
    /// The statements, in the order they ran.
    pub statements: Vec<Statement>,
}

/// Decodes an entry.
pub fn decode(entry: &[u8]) -> Result<Entry, DbError> {
    if entry.len() < MAGIC.len() || &entry[..3] != b"CSW" {
        return Err(corrupt("not a calstore log entry"));
    }
    if entry[3] != MAGIC[3] {
        return Err(corrupt(&format!("unknown format version {}", entry[3])));
    }
    let mut r = Reader {
        bytes: entry,
        pos: MAGIC.len(),
    };
    let flags = r.byte()?;
    if flags & !FLAG_AUTOCOMMIT != 0 {
        return Err(corrupt(&format!("unknown flags {flags:#x}")));
    }
    let ntexts = r.len()?;
    let mut texts = Vec::with_capacity(ntexts);
    for _ in 0..ntexts {
        texts.push(r.string()?);
    }
    let text = |i: u64| -> Result<String, DbError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| texts.get(i))
            .cloned()
            .ok_or_else(|| corrupt("statement text index out of range"))
    };
    let nstmts = r.len()?;
    let mut out = Vec::with_capacity(nstmts);
    for _ in 0..nstmts {
        match r.byte()? {
            STMT_PARAMS => {
                let sql = text(r.uvarint()?)?;
                let nparams = r.len()?;
                let mut params = Vec::with_capacity(nparams);
                for _ in 0..nparams {
                    params.push(match r.byte()? {
                        TAG_NULL => Value::Null,
                        TAG_INTEGER => Value::Integer(unzigzag(r.uvarint()?)),
                        TAG_REAL => {
                            let bytes: [u8; 8] = r
                                .take(8)?
                                .try_into()
                                .map_err(|_| corrupt("truncated REAL"))?;
                            Value::Real(f64::from_le_bytes(bytes))
                        }
                        TAG_TEXT => Value::Text(r.string()?),
                        TAG_BLOB => {
                            let n = r.len()?;
                            Value::Blob(r.take(n)?.to_vec())
                        }
                        t => return Err(corrupt(&format!("unknown value tag {t}"))),
                    });
                }
                out.push(Statement::Params(sql, params));
            }
            STMT_BATCH => out.push(Statement::Batch(text(r.uvarint()?)?)),
            k => return Err(corrupt(&format!("unknown statement kind {k}"))),
        }
    }
    if r.pos != entry.len() {
        return Err(corrupt("trailing bytes"));
    }
    let autocommit = flags & FLAG_AUTOCOMMIT != 0;
    if autocommit && out.len() != 1 {
        return Err(corrupt("an autocommit entry holds one statement"));
    }
    Ok(Entry {
        autocommit,
        statements: out,
    })
}

/// Counters of what a recorder has produced, for tests and the JavaScript layer's stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Entries produced (committed write transactions).
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Transactions dropped by a rollback after recording something.
    pub rolled_back: u64,
}

/// Tracks the transaction state of a connection and collects committed entries.
///
/// The connection calls [`Recorder::on_batch`] and [`Recorder::on_statement`] **after** a
/// statement succeeded (a failed statement changes nothing in SQLite), and
/// [`Recorder::on_begin`], [`Recorder::on_commit`] and [`Recorder::on_rollback`] as its
/// transactions and savepoints open and close.
#[derive(Debug, Default)]
pub struct Recorder {
    open: Option<EntryBuilder>,
    /// Where each open savepoint started in the open entry, innermost last.
    savepoints: Vec<(usize, u64)>,
    committed: Vec<Vec<u8>>,
    stats: RecorderStats,
}

impl Recorder {
    /// A recorder with no transaction open.
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    fn commit(&mut self, entry: EntryBuilder) {
        if entry.is_empty() {
            return;
        }
        let bytes = entry.finish();
        self.stats.entries += 1;
        self.stats.bytes += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.committed.push(bytes);
    }

    /// A transaction (`depth` 1) or savepoint (`depth` > 1) was opened.
    pub fn on_begin(&mut self, depth: u32) {
        match (&self.open, depth) {
            (_, 1) | (None, _) => {
                self.open = Some(EntryBuilder::default());
                self.savepoints.clear();
            }
            (Some(entry), _) => self.savepoints.push(entry.mark()),
        }
    }

    /// The transaction or savepoint at `depth` was committed.
    pub fn on_commit(&mut self, depth: u32) {
        if depth > 1 {
            self.savepoints.pop();
        } else if let Some(entry) = self.open.take() {
            self.savepoints.clear();
            self.commit(entry);
        }
    }

    /// The transaction or savepoint at `depth` was rolled back.
    pub fn on_rollback(&mut self, depth: u32) {
        if depth > 1 {
            if let (Some(entry), Some(mark)) = (&mut self.open, self.savepoints.pop()) {
                entry.truncate(mark);
            }
            return;
        }
        self.savepoints.clear();
        if let Some(entry) = self.open.take()
            && !entry.is_empty()
        {
            self.stats.rolled_back += 1;
        }
    }

    /// A batch (DDL, a pragma) succeeded.
    pub fn on_batch(&mut self, sql: &str) {
        match &mut self.open {
            Some(entry) => entry.batch(sql),
            None => {
                let mut entry = EntryBuilder::autocommit();
                entry.batch(sql);
                self.commit(entry);
            }
        }
    }

    /// A statement with parameters succeeded.
    pub fn on_statement(&mut self, sql: &str, params: &[Value]) {
        if !may_write(sql) {
            return;
        }
        match &mut self.open {
            Some(entry) => entry.statement(sql, params),
            None => {
                let mut entry = EntryBuilder::autocommit();
                entry.statement(sql, params);
                self.commit(entry);
            }
        }
    }

    /// Takes the committed entries, oldest first.
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.committed)
    }

    /// How many committed entries wait to be taken.
    pub fn pending(&self) -> usize {
        self.committed.len()
    }

    /// What this recorder has produced so far.
    pub fn stats(&self) -> RecorderStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert!(!may_write("SELECT 1"));
        assert!(!may_write("\n  select x from t"));
        assert!(!may_write("VALUES (1)"));
        assert!(may_write("INSERT INTO t VALUES (1) RETURNING a"));
        assert!(may_write(
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"
        ));
        assert!(may_write("DELETE FROM t RETURNING a"));
        assert!(may_write("PRAGMA user_version = 3"));
        assert!(!may_write("PRAGMA foreign_keys"));
        assert!(!may_write("PRAGMA table_info(t)"));
    }

    #[test]
    fn roundtrip_every_value() {
        let mut b = EntryBuilder::default();
        let params = vec![
            Value::Null,
            Value::Integer(0),
            Value::Integer(-1),
            Value::Integer(i64::MIN),
            Value::Integer(i64::MAX),
            Value::Real(-2.5),
            Value::Real(f64::INFINITY),
            Value::Text("héllo 'q' \0 \u{1F4C5}".into()),
            Value::Text(String::new()),
            Value::Blob((0..=255).collect()),
            Value::Blob(vec![]),
        ];
        b.statement("INSERT INTO t VALUES ($1)", &params);
        b.batch("CREATE TABLE u (a)");
        b.statement("INSERT INTO t VALUES ($1)", &[Value::Integer(7)]);
        let bytes = b.finish();
        let decoded = decode(&bytes).unwrap();
        assert!(!decoded.autocommit);
        let stmts = decoded.statements;
        assert_eq!(
            stmts,
            vec![
                Statement::Params("INSERT INTO t VALUES ($1)".into(), params),
                Statement::Batch("CREATE TABLE u (a)".into()),
                Statement::Params("INSERT INTO t VALUES ($1)".into(), vec![Value::Integer(7)]),
            ]
        );
        // The repeated text is stored once.
        let occurrences = bytes
            .windows(b"INSERT INTO t".len())
            .filter(|w| *w == b"INSERT INTO t")
            .count();
        assert_eq!(occurrences, 1);
    }

    #[test]
    fn zigzag_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN, 1 << 53] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn corrupt_entries_are_errors() {
        assert!(decode(b"").is_err());
        assert!(decode(b"XYZ\x01\x00\x00").is_err());
        assert!(decode(b"CSW\x02\x00\x00\x00").is_err());
        assert!(decode(b"CSW\x01\x02\x00\x00").is_err(), "unknown flag");
        let mut b = EntryBuilder::default();
        b.statement("INSERT INTO t VALUES ($1)", &[Value::Text("abc".into())]);
        let bytes = b.finish();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        assert_eq!(decode(&bytes).unwrap().statements.len(), 1);
    }

    #[test]
    fn recorder_follows_transactions() {
        let mut r = Recorder::new();
        // A read transaction produces nothing.
        r.on_begin(1);
        r.on_statement("SELECT 1", &[]);
        r.on_commit(1);
        assert_eq!(r.pending(), 0);
        // A rolled-back write transaction produces nothing.
        r.on_begin(1);
        r.on_statement("INSERT INTO t VALUES ($1)", &[Value::Integer(1)]);
        r.on_rollback(1);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.stats().rolled_back, 1);
        // A committed one is one entry; reads inside it are left out, and a rolled-back
        // savepoint drops what it recorded, a committed one keeps it.
        r.on_begin(1);
        r.on_statement("SELECT 1", &[]);
        r.on_statement("INSERT INTO t VALUES ($1)", &[Value::Integer(3)]);
        r.on_begin(2);
        r.on_statement("INSERT INTO t VALUES ($1)", &[Value::Integer(4)]);
        r.on_rollback(2);
        r.on_begin(2);
        r.on_batch("CREATE INDEX i ON t (a)");
        r.on_commit(2);
        assert!(r.in_transaction());
        r.on_commit(1);
        // Autocommit writes are entries by themselves.
        r.on_statement("DELETE FROM t WHERE a = $1", &[Value::Integer(3)]);
        r.on_batch("DROP INDEX i");
        let entries = r.take();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            decode(&entries[0]).unwrap().statements,
            vec![
                Statement::Params("INSERT INTO t VALUES ($1)".into(), vec![Value::Integer(3)]),
                Statement::Batch("CREATE INDEX i ON t (a)".into()),
            ]
        );
        assert!(!decode(&entries[0]).unwrap().autocommit);
        assert!(decode(&entries[1]).unwrap().autocommit);
        assert_eq!(
            decode(&entries[2]).unwrap(),
            Entry {
                autocommit: true,
                statements: vec![Statement::Batch("DROP INDEX i".into())]
            }
        );
        assert_eq!(r.pending(), 0);
        assert_eq!(r.stats().entries, 3);
    }
}
