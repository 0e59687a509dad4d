//! The SQLite sink: items as rows of a table.
//!
//! Owns: [`SqliteSink`] — which database and table, the columns (named
//! fields, or the whole item as JSON in one column), creating the table,
//! and writing each batch in one transaction on the sink's own thread (a
//! [`BatchWrite`] run by [`OffLoop`]). Must not: run SQL on the loop
//! thread.

use std::path::PathBuf;

use rusqlite::{params_from_iter, Connection};
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

/// `"name"`, quoted for SQL.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
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
        self.conn = Some(conn);
        Ok(())
    }

    fn write(&mut self, items: &[Value]) -> Result<(), BoxError> {
        let cols = self.cols();
        let Some(conn) = &mut self.conn else {
            return Err("not open".into());
        };
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ident(&self.table),
            cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "),
            vec!["?"; cols.len()].join(", ")
        );
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(&sql)?;
            for item in items {
                let row: Vec<rusqlite::types::Value> = match &self.columns {
                    Some(c) => c.iter().map(|f| sql_value(&item[f.as_str()])).collect(),
                    None => vec![rusqlite::types::Value::Text(item.to_string())],
                };
                stmt.execute(params_from_iter(row))?;
            }
        }
        Ok(tx.commit()?)
    }

    fn close(&mut self) -> Result<(), BoxError> {
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }
}
