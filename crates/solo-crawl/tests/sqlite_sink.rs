//! The SQLite sink (`sqlite_sink::SqliteSink`): what it stores.

mod common;

use rusqlite::types::Value as Sql;
use serde_json::json;
use solo_crawl::sqlite_sink::SqliteSink;
use solo_crawl::Pipeline;

use common::fresh_dir;

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
