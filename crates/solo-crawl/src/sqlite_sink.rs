//! The SQLite sink: items as rows of a table.
//!
//! Owns: [`SqliteSink`] — which database and table, the columns (named
//! fields, or the whole item as JSON in one column), creating the table,
//! what a row whose key is stored already does ([`OnConflict`]), and
//! writing each batch in one transaction on the sink's own thread (a
//! [`BatchWrite`] run by [`OffLoop`]), where a row the database refuses
//! fails its item alone. Must not: run SQL on the loop thread.

use std::path::PathBuf;

use rusqlite::{ffi, params_from_iter, Connection, ErrorCode};
use serde_json::Value;

use crate::offloop::{BatchWrite, OffLoop};
use crate::pipeline::BoxError;

/// Writes each item as one row of a SQLite table (created if missing),
/// one transaction per batch, on a thread of its own. Build it, then
/// [`stage`](SqliteSink::stage) it into the pipeline.
///
/// With [`columns`](SqliteSink::columns), each named field goes to the
/// column of that name (strings, numbers and booleans as they are, null
/// as NULL, arrays and objects as JSON text); without, the item goes
/// whole as JSON into one `item` column (query it with SQLite's JSON
/// functions: `item ->> '$.price'`). An integer above `i64::MAX`
/// (SQLite's largest integer, e.g. a `u64` hash) is stored as TEXT with
/// its exact digits, as a REAL would round it; compare it as text, or
/// `CAST` it yourself. (In a column you declared `INTEGER`, `NUMERIC` or
/// `REAL`, SQLite turns that text into a rounded REAL again: the columns
/// the sink creates have no declared type.)
///
/// A table that exists already must have every column the sink writes:
/// [`stage`](SqliteSink::stage)'s `open` checks, and a missing column is
/// an error naming it, which stops the crawl before it fetches anything.
///
/// A row the database refuses (a `CHECK`, `NOT NULL`, `UNIQUE` or
/// `PRIMARY KEY` constraint of a table you made) fails its item alone,
/// with SQLite's message naming the constraint (counted in `errors` as
/// `item_failed`); the other items of its batch are stored and go on to
/// the next stages. A row whose key is stored already (a resumed crawl
/// writes some items again) can instead keep or update the stored row:
/// see [`on_conflict`](SqliteSink::on_conflict).
///
/// ```
/// use solo_crawl::{pipeline::Pipeline, sqlite_sink::SqliteSink};
/// let db = std::env::temp_dir().join(format!("solo-crawl-doc-sqlite-{}.db", std::process::id()));
/// let stage = SqliteSink::new(&db, "books").columns(["title", "price"]).stage();
/// solo::run(async {
///     stage.open().await.unwrap();
///     stage.process(serde_json::json!({"title": "Dune", "price": 9.5})).await.unwrap();
///     stage.close().await.unwrap();
/// });
/// let conn = rusqlite::Connection::open(&db).unwrap();
/// let (t, p): (String, f64) = conn.query_row("SELECT title, price FROM books", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
/// assert_eq!((t.as_str(), p), ("Dune", 9.5));
/// # std::fs::remove_file(&db).unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteSink {
    path: PathBuf,
    table: String,
    columns: Option<Vec<String>>,
    on_conflict: OnConflict,
    batch: usize,
    /// Opened on the sink's thread.
    conn: Option<Connection>,
}

impl SqliteSink {
    /// Items go to `table` in the database file `path`.
    pub fn new(path: impl Into<PathBuf>, table: &str) -> SqliteSink {
        SqliteSink {
            path: path.into(),
            table: table.to_owned(),
            columns: None,
            on_conflict: OnConflict::Abort,
            batch: 1000,
            conn: None,
        }
    }

    /// One column per field, in this order.
    pub fn columns<I, S>(mut self, columns: I) -> SqliteSink
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// What a row does whose `PRIMARY KEY` or `UNIQUE` columns match a
    /// stored row (default [`OnConflict::Abort`]: its item fails).
    ///
    /// Sinks are at-least-once across a resume (the items of a page cut
    /// short are written again): with a key on the table (made before the
    /// crawl, e.g. `sku TEXT PRIMARY KEY`), [`Ignore`](OnConflict::Ignore)
    /// or [`Replace`](OnConflict::Replace) make the rewrite harmless and
    /// pass the item on. A table the sink creates has no key: there is
    /// nothing to conflict with.
    ///
    /// ```
    /// use solo_crawl::{pipeline::Pipeline, sqlite_sink::{OnConflict, SqliteSink}};
    /// let db = std::env::temp_dir().join(format!("solo-crawl-doc-upsert-{}.db", std::process::id()));
    /// let conn = rusqlite::Connection::open(&db).unwrap();
    /// conn.execute_batch("CREATE TABLE books (sku TEXT PRIMARY KEY, price)").unwrap();
    /// let stage = SqliteSink::new(&db, "books")
    ///     .columns(["sku", "price"])
    ///     .on_conflict(OnConflict::Replace)
    ///     .stage();
    /// solo::run(async {
    ///     stage.open().await.unwrap();
    ///     stage.process(serde_json::json!({"sku": "B1", "price": 9.5})).await.unwrap();
    ///     // Written again, e.g. after a resume: not an error.
    ///     stage.process(serde_json::json!({"sku": "B1", "price": 8.0})).await.unwrap();
    ///     stage.close().await.unwrap();
    /// });
    /// let price: f64 = conn.query_row("SELECT price FROM books", [], |r| r.get(0)).unwrap();
    /// assert_eq!(price, 8.0);
    /// # std::fs::remove_file(&db).unwrap();
    /// ```
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> SqliteSink {
        self.on_conflict = on_conflict;
        self
    }

    /// Rows per transaction, at most (default 1000; a loop turn's items
    /// go together).
    pub fn batch(mut self, n: usize) -> SqliteSink {
        self.batch = n.max(1);
        self
    }

    /// The pipeline stage.
    pub fn stage(self) -> OffLoop {
        let batch = self.batch;
        let name = format!("sqlite {}", self.path.display());
        OffLoop::new(&name, self).batch(batch)
    }

    fn cols(&self) -> Vec<String> {
        self.columns.clone().unwrap_or_else(|| vec!["item".into()])
    }

    /// The statement that writes one row.
    fn insert_sql(&self) -> String {
        let cols: Vec<String> = self.cols().iter().map(|c| ident(c)).collect();
        let conflict = match self.on_conflict {
            OnConflict::Abort => String::new(),
            OnConflict::Ignore => " ON CONFLICT DO NOTHING".into(),
            OnConflict::Replace => {
                let set: Vec<String> = cols.iter().map(|c| format!("{c} = excluded.{c}")).collect();
                format!(" ON CONFLICT DO UPDATE SET {}", set.join(", "))
            }
        };
        format!(
            "INSERT INTO {} ({}) VALUES ({}){conflict}",
            ident(&self.table),
            cols.join(", "),
            vec!["?"; cols.len()].join(", ")
        )
    }

    /// Writes the rows of `items` not `failed` yet in one transaction,
    /// marking those the database refuses.
    fn try_batch(&mut self, items: &[Value], failed: &mut [Option<BoxError>]) -> Result<(), Stop> {
        let sql = self.insert_sql();
        let Some(conn) = &mut self.conn else {
            return Err(Stop::Batch("not open".into()));
        };
        let tx = conn.transaction().map_err(Stop::batch)?;
        {
            let mut stmt = tx.prepare_cached(&sql).map_err(Stop::batch)?;
            for (item, failed) in items.iter().zip(failed.iter_mut()) {
                if failed.is_some() {
                    continue;
                }
                let Err(e) = stmt.execute(params_from_iter(row(&self.columns, item))) else {
                    continue;
                };
                if !tx.is_autocommit() {
                    // A failed INSERT undid itself alone: the
                    // transaction goes on.
                    *failed = Some(row_error(e));
                    continue;
                }
                // The error rolled the transaction back.
                if e.sqlite_error_code() != Some(ErrorCode::ConstraintViolation) {
                    return Err(Stop::batch(e)); // not the row's fault
                }
                *failed = Some(row_error(e));
                return Err(Stop::Again);
            }
        }
        tx.commit().map_err(Stop::batch)
    }

    /// Fails if the table (made before, with other columns) lacks one
    /// of ours: better before the crawl than at every item after it.
    fn check_columns(&self, conn: &Connection) -> Result<(), BoxError> {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let has: Vec<String> = stmt
            .query_map([&self.table], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        // SQLite's column names ignore ASCII case.
        let missing: Vec<String> = self
            .cols()
            .into_iter()
            .filter(|c| !has.iter().any(|h| h.eq_ignore_ascii_case(c)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "table {} exists without the column(s) {} (it has {}): drop or rename the table, \
             add the columns (ALTER TABLE ... ADD COLUMN), or pick another table{}",
            self.table,
            missing.join(", "),
            has.join(", "),
            match self.columns {
                Some(_) => " or columns it has (SqliteSink::columns)",
                None => " (without columns, the sink writes each item as JSON to a column `item`)",
            },
        )
        .into())
    }
}

/// What [`SqliteSink`] does with a row whose `PRIMARY KEY` or `UNIQUE`
/// columns match a row already in the table (SQLite's upsert, `INSERT
/// ... ON CONFLICT`). Only those key conflicts: a row that breaks a
/// `CHECK` or `NOT NULL` constraint fails its item whichever you pick
/// (unlike SQLite's `INSERT OR IGNORE`, which would skip it silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// The item fails, with SQLite's message naming the constraint
    /// (`UNIQUE constraint failed: items.sku`); the stored row stays.
    #[default]
    Abort,
    /// The stored row stays as it is; the item passes on (`ON CONFLICT
    /// DO NOTHING`).
    Ignore,
    /// The stored row takes the item's values, in place (`ON CONFLICT DO
    /// UPDATE`; columns the sink does not write keep theirs); the item
    /// passes on.
    Replace,
}

/// `"name"`, quoted for SQL.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The row of `item`: its fields named in `columns`, or the whole item
/// as JSON.
fn row(columns: &Option<Vec<String>>, item: &Value) -> Vec<rusqlite::types::Value> {
    match columns {
        Some(c) => c.iter().map(|f| sql_value(&item[f.as_str()])).collect(),
        None => vec![rusqlite::types::Value::Text(item.to_string())],
    }
}

/// An item's error: SQLite's, and for a key conflict how to avoid it.
fn row_error(e: rusqlite::Error) -> BoxError {
    let key = matches!(
        e.sqlite_error().map(|f| f.extended_code),
        Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE)
    );
    if key {
        format!("{e} (a row with this key is stored already; to keep or update it instead, see SqliteSink::on_conflict)").into()
    } else {
        e.into()
    }
}

/// Why a batch's transaction ended early.
enum Stop {
    /// A row's constraint rolled the whole transaction back (`ON
    /// CONFLICT ROLLBACK`, a trigger's `RAISE(ROLLBACK)`): that row is
    /// marked failed, the others go again.
    Again,
    /// The database failed, not a row (disk full, I/O): every item not
    /// failed already fails with it.
    Batch(BoxError),
}

impl Stop {
    fn batch(e: rusqlite::Error) -> Stop {
        Stop::Batch(e.into())
    }
}

/// A JSON value as an SQLite value.
fn sql_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Null => S::Null,
        Value::Bool(b) => S::Integer(*b as i64),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => S::Integer(i),
            // Above i64::MAX (SQLite's largest integer): the exact
            // digits, as a REAL would round them.
            (None, Some(u), _) => S::Text(u.to_string()),
            (None, None, Some(f)) => S::Real(f),
            (None, None, None) => S::Text(n.to_string()),
        },
        Value::String(s) => S::Text(s.clone()),
        other => S::Text(other.to_string()),
    }
}

impl BatchWrite for SqliteSink {
    fn open(&mut self) -> Result<(), BoxError> {
        // Errors keep rusqlite's error as it is; the stage's name says
        // which file.
        let conn = Connection::open(&self.path)?;
        let cols: Vec<String> = self.cols().iter().map(|c| ident(c)).collect();
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            ident(&self.table),
            cols.join(", ")
        );
        conn.execute_batch(&sql)?;
        self.check_columns(&conn)?;
        conn.prepare_cached(&self.insert_sql())?;
        self.conn = Some(conn);
        Ok(())
    }

    /// Writes the rows; `Err` is the first row's that failed (the others
    /// are stored).
    fn write(&mut self, items: &[Value]) -> Result<(), BoxError> {
        self.write_each(items).into_iter().collect()
    }

    /// One transaction for the batch; a row the database refuses is left
    /// out, its item failed with the row's error, and the others stored.
    /// (A failing `INSERT` undoes only itself, so a batch without
    /// failures costs what it did as one plain transaction.)
    fn write_each(&mut self, items: &[Value]) -> Vec<Result<(), BoxError>> {
        let mut failed: Vec<Option<BoxError>> = items.iter().map(|_| None).collect();
        loop {
            match self.try_batch(items, &mut failed) {
                Ok(()) => break,
                Err(Stop::Again) => continue,
                Err(Stop::Batch(e)) => {
                    let e = e.to_string();
                    for f in failed.iter_mut().filter(|f| f.is_none()) {
                        *f = Some(e.as_str().into());
                    }
                    break;
                }
            }
        }
        failed.into_iter().map(|f| f.map_or(Ok(()), Err)).collect()
    }

    fn close(&mut self) -> Result<(), BoxError> {
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }
}
