//! The SQLite sink (`sqlite_sink::SqliteSink`): what it stores, a
//! table made before with other columns or with constraints, and rows
//! whose key is stored already.

mod common;

use std::rc::Rc;

use rusqlite::types::Value as Sql;
use serde_json::{json, Value};
use solo_crawl::offloop::OffLoop;
use solo_crawl::sqlite_sink::{OnConflict, SqliteSink};
use solo_crawl::{CrawlError, Crawler, ItemError, LinkSpider, Pipeline, Pipelines};

use common::{fresh_dir, page, quick, start};

#[test]
fn integers_above_i64_max_are_stored_exactly_as_text() {
    let dir = fresh_dir("big");
    let db = dir.join("items.db");
    let stage = SqliteSink::new(&db, "t").columns(["n", "big"]).stage();
    let items = [
        json!({"n": 1, "big": u64::MAX - 1}),
        json!({"n": 2, "big": i64::MAX as u64 + 1}),
        json!({"n": 3, "big": i64::MAX}),
        json!({"n": 4, "big": i64::MIN}),
        json!({"n": 5, "big": 1.5}),
    ];
    solo::run(async {
        stage.open().await.unwrap();
        for item in items {
            stage.process(item).await.unwrap();
        }
        stage.close().await.unwrap();
    });
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT big FROM t ORDER BY n").unwrap();
    let got: Vec<Sql> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            Sql::Text("18446744073709551614".into()),
            Sql::Text("9223372036854775808".into()),
            Sql::Integer(i64::MAX),
            Sql::Integer(i64::MIN),
            Sql::Real(1.5),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Crawls a one-page site with `sink` as the pipeline; the crawl's
/// outcome and the requests the site got.
fn crawl_into(sink: SqliteSink) -> (Result<(), CrawlError>, usize) {
    solo::run(async {
        let site = start(|_| async { page("x", &[]) }).await;
        let r = Crawler::new(LinkSpider::new(vec![site.url("/")]), quick())
            .pipelines(Pipelines::new().stage(sink.stage()))
            .run()
            .await
            .map(drop);
        let hits = site.hits.borrow().len();
        (r, hits)
    })
}

#[test]
fn a_table_without_the_sinks_columns_stops_the_crawl_before_it_starts() {
    let dir = fresh_dir("columns");
    let db = dir.join("cols.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE products (_type, n); CREATE TABLE raw (data)")
        .unwrap();
    let (r, hits) =
        crawl_into(SqliteSink::new(&db, "products").columns(["_type", "n", "title", "price"]));
    let e = r.unwrap_err().to_string();
    assert_eq!(hits, 0, "fetched before failing: {e}");
    assert!(e.contains("cols.db"), "{e}");
    assert!(
        e.contains("table products exists without the column(s) title, price (it has _type, n)"),
        "{e}"
    );
    assert!(e.contains("SqliteSink::columns"), "{e}");
    // Without columns, the item goes to a column `item`.
    let (r, hits) = crawl_into(SqliteSink::new(&db, "raw"));
    let e = r.unwrap_err().to_string();
    assert_eq!(hits, 0, "fetched before failing: {e}");
    assert!(
        e.contains("table raw exists without the column(s) item"),
        "{e}"
    );

    // Column names ignore case, as in SQLite; extra columns are fine.
    conn.execute_batch("CREATE TABLE pages (_TYPE, Url, extra)")
        .unwrap();
    let stage = SqliteSink::new(&db, "pages")
        .columns(["_type", "url"])
        .stage();
    solo::run(async {
        stage.open().await.unwrap();
        let item = json!({"_type": "page", "url": "http://a.test/"});
        stage.process(item).await.unwrap();
        stage.close().await.unwrap();
    });
    let url: String = conn
        .query_row("SELECT url FROM pages WHERE _type = 'page'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(url, "http://a.test/");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `items` through `stage` at once (one batch), in order: each
/// one's outcome.
fn process_together(stage: OffLoop, items: Vec<Value>) -> Vec<Result<Value, ItemError>> {
    let stage = Rc::new(stage);
    solo::run(async move {
        stage.open().await.unwrap();
        let each = items.into_iter().map(|item| {
            let stage = stage.clone();
            async move { stage.process(item).await }
        });
        let out = solo::gather(each).await;
        stage.close().await.unwrap();
        out
    })
}

/// The `sku`s in `table`, in order.
fn skus(conn: &rusqlite::Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("SELECT sku FROM {table} ORDER BY sku"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn rows_the_table_refuses_fail_their_own_items_and_the_batch_is_stored() {
    let dir = fresh_dir("refused");
    let db = dir.join("items.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    // A key conflict rolls the whole transaction back here (ON CONFLICT
    // ROLLBACK); a CHECK undoes only its row.
    conn.execute_batch(
        "CREATE TABLE items (sku TEXT PRIMARY KEY ON CONFLICT ROLLBACK, \
         price REAL CONSTRAINT cheap CHECK (price < 100))",
    )
    .unwrap();
    conn.execute("INSERT INTO items VALUES ('A0', 1)", [])
        .unwrap();
    let items: Vec<Value> = [("A1", 5), ("A2", 500), ("A3", 7), ("A0", 2), ("A4", 9)]
        .iter()
        .map(|(sku, price)| json!({"sku": sku, "price": price}))
        .collect();
    let stage = SqliteSink::new(&db, "items")
        .columns(["sku", "price"])
        .stage();
    let out = process_together(stage, items.clone());
    let failed: Vec<(usize, String)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Ok(item) => {
                assert_eq!(item, &items[i]);
                None
            }
            Err(ItemError::Failed(e)) => Some((i, e.clone())),
            Err(e) => panic!("item {i}: {e}"),
        })
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, 1);
    assert!(failed[0].1.contains("items.db"), "{}", failed[0].1);
    assert!(
        failed[0].1.contains("CHECK constraint failed: cheap"),
        "{}",
        failed[0].1
    );
    assert_eq!(failed[1].0, 3);
    assert!(
        failed[1].1.contains("UNIQUE constraint failed: items.sku"),
        "{}",
        failed[1].1
    );
    assert!(
        failed[1].1.contains("SqliteSink::on_conflict"),
        "{}",
        failed[1].1
    );
    assert_eq!(skus(&conn, "items"), ["A0", "A1", "A3", "A4"]);
    let kept: f64 = conn
        .query_row("SELECT price FROM items WHERE sku = 'A0'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1.0, "the stored row stays");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn on_conflict_ignore_or_replace_takes_an_item_written_again() {
    let dir = fresh_dir("on-conflict");
    let db = dir.join("items.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    for t in ["kept", "replaced"] {
        conn.execute_batch(&format!(
            "CREATE TABLE {t} (sku TEXT PRIMARY KEY, name, price CHECK (price < 100), note);
             INSERT INTO {t} VALUES ('A1', 'old', 1, 'mine');"
        ))
        .unwrap();
    }
    let items = vec![
        json!({"sku": "A1", "name": "new", "price": 2}), // written again (a resume)
        json!({"sku": "A2", "name": "two", "price": 3}),
        json!({"sku": "A3", "name": "bad", "price": 300}),
    ];
    for (table, on_conflict) in [
        ("kept", OnConflict::Ignore),
        ("replaced", OnConflict::Replace),
    ] {
        let stage = SqliteSink::new(&db, table)
            .columns(["sku", "name", "price"])
            .on_conflict(on_conflict)
            .stage();
        let out = process_together(stage, items.clone());
        assert_eq!(out[0].as_ref().unwrap(), &items[0], "{table}");
        assert_eq!(out[1].as_ref().unwrap(), &items[1], "{table}");
        // Only key conflicts: a CHECK still fails its item.
        let e = out[2].as_ref().unwrap_err().to_string();
        assert!(e.contains("CHECK constraint failed"), "{table}: {e}");
        assert_eq!(skus(&conn, table), ["A1", "A2"]);
    }
    let row = |t: &str| -> (String, f64, String) {
        conn.query_row(
            &format!("SELECT name, price, note FROM {t} WHERE sku = 'A1'"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(row("kept"), ("old".into(), 1.0, "mine".into()));
    assert_eq!(row("replaced"), ("new".into(), 2.0, "mine".into()));
    std::fs::remove_dir_all(&dir).unwrap();
}
