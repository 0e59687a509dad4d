//! The SQLite sink (`sqlite_sink::SqliteSink`): what it stores, and a
//! table made before with other columns.

mod common;

use rusqlite::types::Value as Sql;
use serde_json::json;
use solo_crawl::sqlite_sink::SqliteSink;
use solo_crawl::{CrawlError, Crawler, LinkSpider, Pipeline, Pipelines};

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
