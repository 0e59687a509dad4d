//! Item pipelines and item feeds, against a small shop served on
//! 127.0.0.1: 40 pages, 5 items each.

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use solo_crawl::export::{Feed, Feeds, ItemFormat};
use solo_crawl::output::SharedBuf;
use solo_crawl::sqlite_sink::SqliteSink;
use solo_crawl::stages::{typed, DropDuplicates, RequireFields};
use solo_crawl::{
    Config, Crawler, ItemError, Output, OutputConfig, Pipeline, Pipelines, Request, Response,
    Spider, Summary, Target,
};
use url::Url;

use common::{fresh_dir, page, quick, start, Site};

const PAGES: usize = 40;
const PER_PAGE: usize = 5;

/// `/` links to `/p/0` .. `/p/39`.
async fn shop() -> Site {
    start(|path| async move {
        if path == "/" {
            let links: Vec<String> = (0..PAGES).map(|i| format!("/p/{i}")).collect();
            let refs: Vec<&str> = links.iter().map(String::as_str).collect();
            page("shop", &refs)
        } else {
            page(&path, &[])
        }
    })
    .await
}

/// On `/p/N`: 5 items, `seq` 0..4; `sku` repeats every 60 items; item 4
/// has no name; items with even `seq` are products, the others reviews.
struct ShopSpider {
    start: Url,
    /// Items emitted and not through the last stage yet.
    outstanding: Rc<Cell<usize>>,
    max_outstanding: Rc<Cell<usize>>,
}

impl ShopSpider {
    fn new(site: &Site) -> ShopSpider {
        ShopSpider {
            start: site.url("/"),
            outstanding: Rc::default(),
            max_outstanding: Rc::default(),
        }
    }
}

impl Spider for ShopSpider {
    type Callback = ();
    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::new(self.start.clone(), ())]
    }
    async fn parse(&self, _: (), response: &Response, out: &mut Output<()>) {
        for l in response.links() {
            out.follow(Request::new(l.clone(), ()));
        }
        let Some(n) = response.url().path().strip_prefix("/p/") else {
            return;
        };
        let n: usize = n.parse().unwrap();
        for seq in 0..PER_PAGE {
            let i = n * PER_PAGE + seq;
            let name = (seq != 4).then(|| format!("item {i}"));
            let ty = if seq % 2 == 0 { "product" } else { "review" };
            out.item(json!({"_type": ty, "page": n, "seq": seq, "sku": i % 60, "name": name}));
        }
        let o = self.outstanding.get() + PER_PAGE;
        self.outstanding.set(o);
        self.max_outstanding.set(self.max_outstanding.get().max(o));
    }
}

async fn run<S: Spider>(spider: S, cfg: Config, pipelines: Pipelines, items: SharedBuf) -> Summary {
    let out = OutputConfig {
        items: Target::Buffer(items),
        ..Default::default()
    };
    solo::timeout(
        Duration::from_secs(60),
        Crawler::new(spider, cfg)
            .output(out)
            .pipelines(pipelines)
            .run(),
    )
    .await
    .expect("the crawl ends within 60 s")
    .expect("the crawl runs")
}

fn lines(buf: &SharedBuf) -> Vec<Value> {
    let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Item {
    #[serde(rename = "_type")]
    kind: String,
    page: u32,
    seq: u32,
    sku: u32,
    name: String,
}

/// Says when it was closed.
struct Closing(Rc<Cell<bool>>);
impl Pipeline for Closing {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        Ok(item)
    }
    async fn close(&self) -> Result<(), solo_crawl::pipeline::BoxError> {
        solo::sleep(Duration::from_millis(50)).await;
        self.0.set(true);
        Ok(())
    }
}

#[test]
fn stages_drop_and_transform_items_with_counts() {
    solo::run(async {
        let site = shop().await;
        let closed = Rc::new(Cell::new(false));
        let pipelines = Pipelines::new()
            .stage(RequireFields::new(["name"]))
            .stage(DropDuplicates::by_fields(["sku"]))
            .stage(typed(|mut i: Item| async move {
                i.name = i.name.to_uppercase();
                Ok(i)
            }))
            .stage(Closing(closed.clone()));
        let buf = SharedBuf::default();
        let s = run(ShopSpider::new(&site), quick(), pipelines, buf.clone()).await;
        assert!(closed.get(), "close is awaited before run returns");
        // 200 items: 40 without a name; of the 160 left, skus 0..59 each
        // come first once (items i % 5 == 4 never count): 48 kept.
        assert_eq!(s.counts.items, 200);
        assert_eq!(s.counts.items_dropped["missing:name"], 40);
        let kept = lines(&buf);
        assert_eq!(kept.len(), 48);
        assert_eq!(s.counts.items_kept, 48);
        assert_eq!(s.counts.items_dropped["duplicate"], 160 - 48);
        assert!(kept
            .iter()
            .all(|i| i["name"].as_str().unwrap().starts_with("ITEM ")));
        // Order kept within a page.
        for w in kept.windows(2) {
            if w[0]["page"] == w[1]["page"] {
                assert!(w[0]["seq"].as_u64() < w[1]["seq"].as_u64(), "{w:?}");
            }
        }
        assert_eq!(s.counts.pages, PAGES as u64 + 1);
    });
}

/// Fails every review.
struct FailReviews;
impl Pipeline for FailReviews {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        if item["_type"] == "review" {
            return Err(ItemError::failed("reviews table is locked"));
        }
        Ok(item)
    }
}

#[test]
fn a_failing_stage_counts_errors_and_the_crawl_goes_on() {
    solo::run(async {
        let site = shop().await;
        let buf = SharedBuf::default();
        let p = Pipelines::new().stage(FailReviews);
        let s = run(ShopSpider::new(&site), quick(), p, buf.clone()).await;
        assert_eq!(s.counts.errors["item_failed"], 80);
        // The first failure says its page and the stage's error.
        let first = s.first_item_failure.as_deref().unwrap();
        let page = site.url("/p/").to_string();
        assert!(first.starts_with(&page), "{first}");
        assert!(first.ends_with(": reviews table is locked"), "{first}");
        assert!(s.to_string().contains("reviews table is locked"));
        assert_eq!(lines(&buf).len(), 120);
        assert_eq!(s.counts.pages, PAGES as u64 + 1);
        assert!(!s.interrupted);
    });
}

/// A slow stage (an "HTTP call" of 5 ms) counting items inside it.
struct Slow {
    inside: Cell<usize>,
    max: Rc<Cell<usize>>,
    outstanding: Rc<Cell<usize>>,
}
impl Pipeline for Slow {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        self.inside.set(self.inside.get() + 1);
        self.max.set(self.max.get().max(self.inside.get()));
        solo::sleep(Duration::from_millis(5)).await;
        self.inside.set(self.inside.get() - 1);
        self.outstanding.set(self.outstanding.get() - 1);
        Ok(item)
    }
}

#[test]
fn a_slow_stage_holds_the_crawl_back() {
    solo::run(async {
        let site = shop().await;
        let spider = ShopSpider::new(&site);
        let max_outstanding = spider.max_outstanding.clone();
        let max = Rc::new(Cell::new(0));
        let slow = Slow {
            inside: Cell::new(0),
            max: max.clone(),
            outstanding: spider.outstanding.clone(),
        };
        let p = Pipelines::new().stage(slow).max_in_flight(4);
        let cfg = Config {
            concurrency: 8,
            per_host: 8,
            ..quick()
        };
        let buf = SharedBuf::default();
        let s = run(spider, cfg, p, buf.clone()).await;
        assert_eq!(lines(&buf).len(), 200);
        assert_eq!(s.counts.items_kept, 200);
        assert!(max.get() <= 4, "items in flight: {}", max.get());
        assert!(max.get() >= 2, "items run concurrently: {}", max.get());
        // Without back-pressure the fast site's 200 items all pile up
        // before the slow stage; with it, at most the pipeline's 4 plus
        // the pages in flight (8 x 5 items).
        assert!(
            max_outstanding.get() <= 4 + 8 * PER_PAGE,
            "items waiting: {}",
            max_outstanding.get()
        );
    });
}

#[test]
fn the_sqlite_sink_writes_rows() {
    let dir = fresh_dir("sqlite");
    let db = dir.join("items.db");
    solo::run(async {
        let site = shop().await;
        let p = Pipelines::new()
            .stage(RequireFields::new(["name"]))
            .stage(
                SqliteSink::new(&db, "items")
                    .columns(["sku", "name", "page"])
                    .stage(),
            )
            .stage(SqliteSink::new(&db, "raw").batch(7).stage());
        let s = run(ShopSpider::new(&site), quick(), p, SharedBuf::default()).await;
        assert_eq!(s.counts.items_kept, 160);
    });
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 160);
    let name: String = conn
        .query_row(
            "SELECT name FROM items WHERE page = 3 AND sku = 15",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "item 15");
    let raw: i64 = conn
        .query_row(
            "SELECT count(*) FROM raw WHERE item ->> '$._type' = 'product'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(raw, 80, "products with a name (seq 0, 2; seq 4 has none)");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A page's items go to the sink as one batch: the item its table
/// refuses fails alone, its page-mates are stored and go on.
#[test]
fn a_row_the_table_refuses_fails_its_item_alone() {
    let dir = fresh_dir("sqlite-check");
    let db = dir.join("items.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE items (page, seq, sku, name, CHECK (NOT (page = 7 AND seq = 2)))",
    )
    .unwrap();
    let items = SharedBuf::default();
    let s = solo::run(async {
        let site = shop().await;
        let sink = SqliteSink::new(&db, "items").columns(["page", "seq", "sku", "name"]);
        let p = Pipelines::new().stage(sink.stage());
        run(ShopSpider::new(&site), quick(), p, items.clone()).await
    });
    assert_eq!(
        s.counts.errors.get("item_failed"),
        Some(&1),
        "{:?}",
        s.counts
    );
    assert_eq!(s.counts.items_kept as usize, PAGES * PER_PAGE - 1);
    let out = lines(&items);
    assert_eq!(out.len(), PAGES * PER_PAGE - 1);
    assert!(!out.iter().any(|i| i["page"] == 7 && i["seq"] == 2));
    let page7: Vec<i64> = conn
        .prepare("SELECT seq FROM items WHERE page = 7 ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(page7, [0, 1, 3, 4]);
    let n: usize = conn
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, PAGES * PER_PAGE - 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn feeds_crawl(specs: &[String], stop_after: Option<usize>) -> Summary {
    let feeds = Feeds::parse(specs, None).unwrap();
    solo::run(async {
        let site = shop().await;
        let spider = ShopSpider::new(&site);
        let cfg = Config {
            concurrency: 2,
            per_host: 2,
            ..quick()
        };
        let p = Pipelines::new().stage(feeds.stage());
        let crawler = Crawler::new(spider, cfg).pipelines(p);
        if let Some(n) = stop_after {
            let stop = crawler.stop_handle();
            let hits = site.hits.clone();
            solo::spawn(async move {
                while hits.borrow().len() < n {
                    solo::sleep(Duration::from_millis(1)).await;
                }
                stop.stop();
            });
        }
        crawler.run().await.unwrap()
    })
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn feeds_per_item_type_in_three_formats() {
    let dir = fresh_dir("feeds");
    let specs = [
        format!("product={}", dir.join("products.csv").display()),
        format!("review={}", dir.join("reviews.jsonl").display()),
        dir.join("all.json").display().to_string(),
    ];
    let s = feeds_crawl(&specs[..2], None);
    assert_eq!(s.counts.items_dropped.get("no_feed"), None);
    // The JSON array takes what no typed feed takes: nothing here. A
    // second crawl, everything to it.
    let rows = read_csv(&dir.join("products.csv"));
    // The item's order, as the spider wrote it.
    assert_eq!(rows[0], ["_type", "page", "seq", "sku", "name"]);
    assert_eq!(rows.len(), 1 + 120);
    assert!(rows[1..].iter().all(|r| r[0] == "product"));
    let reviews = std::fs::read_to_string(dir.join("reviews.jsonl")).unwrap();
    let reviews: Vec<Value> = reviews
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reviews.len(), 80);
    assert!(reviews.iter().all(|r| r["_type"] == "review"));

    feeds_crawl(&specs[2..], None);
    let all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("all.json")).unwrap()).unwrap();
    assert_eq!(all.len(), 200);
    // Run again: the array is continued, still valid.
    feeds_crawl(&specs[2..], None);
    let all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("all.json")).unwrap()).unwrap();
    assert_eq!(all.len(), 400);
    // Configured CSV columns.
    let picked = dir.join("picked.csv");
    let feeds = Feeds::new().feed(Feed {
        item_type: Some("review".into()),
        path: picked.clone(),
        format: ItemFormat::Csv,
        fields: Some(vec!["sku".into(), "name".into()]),
    });
    solo::run(async {
        let site = shop().await;
        let p = Pipelines::new().stage(feeds.stage());
        Crawler::new(ShopSpider::new(&site), quick())
            .pipelines(p)
            .run()
            .await
            .unwrap();
    });
    let rows = read_csv(&picked);
    assert_eq!(rows[0], ["sku", "name"]);
    assert_eq!(rows.len(), 1 + 80);
    assert!(rows[1..]
        .iter()
        .all(|r| r.len() == 2 && r[1].starts_with("item ")));
    // Only product feed: reviews have nowhere to go.
    let s = feeds_crawl(&specs[..1], None);
    assert_eq!(s.counts.items_dropped["no_feed"], 80);
    assert_eq!(
        read_csv(&dir.join("products.csv")).len(),
        1 + 240,
        "appended, one header"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_json_array_feed_is_valid_after_a_stop() {
    let dir = fresh_dir("stop");
    let file = dir.join("items.json");
    let s = feeds_crawl(&[file.display().to_string()], Some(6));
    assert!(s.interrupted);
    let text = std::fs::read_to_string(&file).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(!all.is_empty() && all.len() < 200, "{} items", all.len());
    assert_eq!(all.len() as u64, s.counts.items_kept);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crawl_with_no_items_leaves_an_empty_array() {
    let dir = fresh_dir("empty");
    let file = dir.join("none.json");
    solo::run(async {
        let site = start(|_| async { page("x", &[]) }).await;
        let p = Pipelines::new().stage(
            Feeds::parse(&[file.display().to_string()], None)
                .unwrap()
                .stage(),
        );
        Crawler::new(solo_crawl::LinkSpider::new(vec![site.url("/")]), quick())
            .pipelines(p)
            .run()
            .await
            .unwrap();
    });
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(all.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stage_that_cannot_open_stops_the_crawl_before_it_starts() {
    solo::run(async {
        let site = shop().await;
        let p = Pipelines::new().stage(SqliteSink::new("/nonexistent-dir/x.db", "t").stage());
        let e = Crawler::new(ShopSpider::new(&site), quick())
            .pipelines(p)
            .run()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x.db"), "{e}");
        // The cause is kept, not flattened into the message: the chain
        // reaches SQLite's own error.
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut found = false;
        while let Some(c) = cause {
            found |= c.downcast_ref::<rusqlite::Error>().is_some();
            cause = c.source();
        }
        assert!(found, "no rusqlite::Error in the chain of {e:?}");
        assert!(matches!(e, solo_crawl::CrawlError::Pipeline(ref p) if p.what().contains("x.db")));
        assert!(site.hits.borrow().is_empty());
    });
}

/// Panics on the first item of page 7.
struct Panics;
impl Pipeline for Panics {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        // Its page-mates are still inside the stage when it panics.
        solo::sleep(Duration::from_millis(u64::from(item["seq"] != 0))).await;
        if item["page"] == 7 && item["seq"] == 0 {
            panic!("a bug in a stage");
        }
        Ok(item)
    }
    fn name(&self) -> String {
        "panics".into()
    }
}

/// Counts the items that reach it.
struct Reached(Rc<Cell<usize>>);
impl Pipeline for Reached {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        self.0.set(self.0.get() + 1);
        Ok(item)
    }
}

/// As a stage that fails an item: the panicking item is lost alone, its
/// page-mates go on through the later stages and to the output.
#[test]
fn a_panicking_stage_fails_its_item_alone() {
    solo::run(async {
        let site = shop().await;
        let buf = SharedBuf::default();
        let reached = Rc::new(Cell::new(0));
        let p = Pipelines::new()
            .stage(Panics)
            .stage(Reached(reached.clone()));
        let s = run(ShopSpider::new(&site), quick(), p, buf.clone()).await;
        assert_eq!(s.counts.errors["item_panic"], 1, "{:?}", s.counts.errors);
        assert_eq!(s.counts.pages, PAGES as u64 + 1);
        let out = lines(&buf);
        assert_eq!(out.len(), 200 - 1);
        assert_eq!(reached.get(), 200 - 1);
        assert_eq!(s.counts.items_kept, 200 - 1);
        let page7: Vec<_> = out.iter().filter(|i| i["page"] == 7).collect();
        assert_eq!(page7.len(), PER_PAGE - 1, "{page7:?}");
        let first = s.first_item_failure.as_deref().unwrap();
        let page = site.url("/p/7").to_string();
        assert_eq!(
            first,
            format!("{page}: item pipeline panics panicked: a bug in a stage")
        );
    });
}

/// An item per page; on `/p/3` also one that does not serialize (serde_json
/// wants string keys).
struct BadKeys(Url);
impl Spider for BadKeys {
    type Callback = ();
    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::new(self.0.clone(), ())]
    }
    async fn parse(&self, _: (), response: &Response, out: &mut Output<()>) {
        for l in response.links() {
            out.follow(Request::new(l.clone(), ()));
        }
        if response.url().path() == "/p/3" {
            out.item(std::collections::HashMap::from([(vec![1u8], 1u32)]));
        }
        out.item(json!({"page": response.url().path()}));
    }
}

#[test]
fn an_item_that_does_not_serialize_is_told_with_its_page() {
    solo::run(async {
        let site = shop().await;
        let buf = SharedBuf::default();
        let out = OutputConfig {
            items: Target::Buffer(buf.clone()),
            ..Default::default()
        };
        let s = Crawler::new(BadKeys(site.url("/")), quick())
            .output(out)
            .run()
            .await
            .unwrap();
        assert_eq!(s.counts.errors["item_serialize"], 1);
        assert_eq!(lines(&buf).len(), PAGES + 1);
        let want = format!(
            "{}: Output::item could not serialize it: key must be a string",
            site.url("/p/3")
        );
        assert_eq!(s.first_item_failure.as_deref(), Some(want.as_str()));
        assert!(s.to_string().contains(&want), "{s}");
    });
}

/// After the feed: reads the JSON array file as a kill would leave it.
struct ReadBack {
    file: PathBuf,
    checked: Rc<Cell<usize>>,
}
impl Pipeline for ReadBack {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        let text = std::fs::read_to_string(&self.file).unwrap();
        let all: Vec<Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not a JSON array after a batch: {e}: {text}"));
        assert_eq!(all.last(), Some(&item));
        self.checked.set(self.checked.get() + 1);
        Ok(item)
    }
}

#[test]
fn a_json_array_feed_is_valid_after_every_batch() {
    let dir = fresh_dir("every");
    let file = dir.join("items.json");
    let checked = Rc::new(Cell::new(0));
    solo::run(async {
        let site = shop().await;
        let feeds = Feeds::parse(&[file.display().to_string()], None).unwrap();
        // One item in flight: no other batch is written while one is read.
        let p = Pipelines::new()
            .stage(feeds.stage())
            .stage(ReadBack {
                file: file.clone(),
                checked: checked.clone(),
            })
            .max_in_flight(1);
        Crawler::new(ShopSpider::new(&site), quick())
            .pipelines(p)
            .run()
            .await
            .unwrap();
    });
    assert_eq!(checked.get(), 200);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Names that a spreadsheet would run as formulas.
struct Formula;
impl Pipeline for Formula {
    async fn process(&self, mut item: Value) -> Result<Value, ItemError> {
        item["name"] = json!("=HYPERLINK(\"http://evil/\")");
        Ok(item)
    }
}

#[test]
fn csv_feeds_neutralise_formulas_unless_raw() {
    let dir = fresh_dir("formula");
    for raw in [false, true] {
        let file = dir.join(format!("raw-{raw}.csv"));
        let feeds = Feeds::parse(&[file.display().to_string()], None)
            .unwrap()
            .csv_raw(raw);
        solo::run(async {
            let site = shop().await;
            let p = Pipelines::new().stage(Formula).stage(feeds.stage());
            Crawler::new(ShopSpider::new(&site), quick())
                .pipelines(p)
                .run()
                .await
                .unwrap();
        });
        let rows = read_csv(&file);
        let name = rows[0].iter().position(|c| c == "name").unwrap();
        let want = if raw { "=HYPERLINK" } else { "'=HYPERLINK" };
        assert!(
            rows[1..].iter().all(|r| r[name].starts_with(want)),
            "{:?}",
            rows[1]
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A null at the pointer is no key, as with `by_fields`: items 4 of each
/// page have `"name": null` and are dropped as `no_key`, not kept once
/// and then counted as duplicates.
#[test]
fn drop_duplicates_by_pointer_drops_a_null_key_as_no_key() {
    solo::run(async {
        let site = shop().await;
        let pipelines = Pipelines::new().stage(DropDuplicates::by_pointer("/name"));
        let buf = SharedBuf::default();
        let s = run(ShopSpider::new(&site), quick(), pipelines, buf.clone()).await;
        assert_eq!(s.counts.items, 200);
        assert_eq!(
            s.counts.items_dropped.get("no_key"),
            Some(&40),
            "{:?}",
            s.counts.items_dropped
        );
        assert_eq!(s.counts.items_dropped.get("duplicate"), None);
        let kept = lines(&buf);
        assert_eq!(kept.len(), 160);
        assert!(kept.iter().all(|i| i["name"].is_string()));
    });
}

/// A typed item as a Scrapy port writes it: fields in a declared order
/// that is not alphabetical, lists of scalars and nested values.
#[derive(Serialize)]
struct Product {
    url: String,
    title: &'static str,
    price: f64,
    tags: Vec<&'static str>,
    sizes: Vec<u32>,
    none: Vec<String>,
    mixed: Vec<Value>,
    nested: Vec<Value>,
    dims: Value,
    currency: &'static str,
}

const PRODUCT_FIELDS: [&str; 10] = [
    "url", "title", "price", "tags", "sizes", "none", "mixed", "nested", "dims", "currency",
];

/// One `Product` from the start page; follows nothing.
struct ProductSpider(Url);
impl Spider for ProductSpider {
    type Callback = ();
    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::new(self.0.clone(), ())]
    }
    async fn parse(&self, _: (), response: &Response, out: &mut Output<()>) {
        out.item(Product {
            url: response.url().to_string(),
            title: "T",
            price: 1.5,
            tags: vec!["kitchen", "tea"],
            sizes: vec![1, 2],
            none: vec![],
            mixed: vec![json!("=a"), json!(null), json!(true), json!(-3)],
            nested: vec![json!({"k": [1, "two"]})],
            dims: json!({"w": 2, "h": 1}),
            currency: "EUR",
        });
    }
}

/// The keys of a JSON object as written (not as serde_json reads them).
fn keys_as_written(json_object: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json_object).unwrap();
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort_by_key(|k| json_object.find(&format!("\"{k}\":")).unwrap());
    keys
}

/// Scrapy's exporters keep the item's field order; a CSV cell of a list
/// of scalars is its values joined with `,` (`join_multivalued`), nested
/// values stay JSON. Audit: every feed sorted the keys, and a list was
/// written as JSON text.
#[test]
fn feeds_keep_the_items_field_order_and_join_lists_in_csv() {
    let dir = fresh_dir("order");
    let [jsonl, json_file, csv_file, items_csv] =
        ["items.jsonl", "items.json", "items.csv", "target.csv"].map(|f| dir.join(f));
    let specs = [&jsonl, &json_file, &csv_file].map(|p| p.display().to_string());
    let feeds = Feeds::parse(&specs, None).unwrap();
    solo::run(async {
        let site = shop().await;
        let out = OutputConfig {
            items: Target::File(items_csv.clone()),
            format: solo_crawl::Format::Csv,
            ..Default::default()
        };
        Crawler::new(ProductSpider(site.url("/")), quick())
            .output(out)
            .pipelines(Pipelines::new().stage(feeds.stage()))
            .run()
            .await
            .unwrap();
    });
    let line = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(keys_as_written(line.trim()), PRODUCT_FIELDS, "{line}");
    assert!(
        line.contains(r#""dims":{"w":2,"h":1}"#),
        "nested too: {line}"
    );
    let array = std::fs::read_to_string(&json_file).unwrap();
    let first = array.trim().trim_start_matches('[').trim_end_matches(']');
    assert_eq!(keys_as_written(first.trim()), PRODUCT_FIELDS, "{array}");
    for file in [&csv_file, &items_csv] {
        let rows = read_csv(file);
        assert_eq!(rows[0], PRODUCT_FIELDS, "{}", file.display());
        let row = &rows[1];
        let cell =
            |name: &str| row[PRODUCT_FIELDS.iter().position(|f| *f == name).unwrap()].as_str();
        assert_eq!(cell("tags"), "kitchen,tea");
        assert_eq!(cell("sizes"), "1,2");
        assert_eq!(cell("none"), "");
        // Joined, then made spreadsheet-safe as one cell.
        assert_eq!(cell("mixed"), "'=a,,true,-3");
        assert_eq!(cell("nested"), r#"[{"k":[1,"two"]}]"#);
        assert_eq!(cell("dims"), r#"{"w":2,"h":1}"#);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
