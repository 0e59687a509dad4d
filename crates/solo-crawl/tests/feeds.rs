//! Item feeds (`export::Feeds`) fed directly through a pipeline, no
//! crawl: what a CSV feed does with items it cannot write as a row.

mod common;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

use serde_json::{json, Value};
use solo_crawl::export::{Feed, Feeds, ItemFormat};
use solo_crawl::logs::{LogFormat, LogLevel};
use solo_crawl::{ItemError, Pipelines};

use common::fresh_dir;

/// Opens `feeds`, sends `items` one after the other (or all at once, in
/// one batch), closes; the outcome of each item.
fn feed(feeds: Feeds, items: Vec<Value>, together: bool) -> Vec<Result<Value, ItemError>> {
    let p = Rc::new(Pipelines::new().stage(feeds.stage()));
    solo::run(async move {
        p.open().await.unwrap();
        let out = if together {
            solo::gather(items.into_iter().map(|i| {
                let p = p.clone();
                async move { p.process_one(i).await }
            }))
            .await
        } else {
            let mut out = Vec::new();
            for i in items {
                out.push(p.process_one(i).await);
            }
            out
        };
        p.close().await.unwrap();
        out
    })
}

fn not_an_object_error(r: &Result<Value, ItemError>, file: &std::path::Path) {
    match r {
        Err(ItemError::Failed(e)) => {
            assert!(e.contains(&file.display().to_string()), "{e}");
            assert!(e.contains("a CSV feed takes JSON objects"), "{e}");
        }
        other => panic!("not failed: {other:?}"),
    }
}

#[test]
fn a_csv_feed_fails_only_the_item_that_is_not_an_object() {
    let dir = fresh_dir("scalar");
    // The audit's sequence, one item at a time, then all in one batch.
    for (together, name) in [(false, "one.csv"), (true, "batch.csv")] {
        let file = dir.join(name);
        let lines = dir.join(format!("{name}.jsonl"));
        let feeds = Feeds::parse(
            &[file.display().to_string(), lines.display().to_string()],
            None,
        )
        .unwrap();
        let items = vec![
            json!({"a": 1, "b": "x"}),
            json!("oops"),
            json!({"a": 2, "b": "y"}),
            json!([1, 2]),
            json!({"a": 3, "b": "z"}),
            json!(7),
        ];
        let r = feed(feeds, items.clone(), together);
        for i in [0, 2, 4] {
            assert_eq!(r[i].as_ref().unwrap(), &items[i]);
        }
        for i in [1, 3, 5] {
            not_an_object_error(&r[i], &file);
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "a,b\n1,x\n2,y\n3,z\n"
        );
        // A failed item goes to no feed of the stage: the feeds agree.
        let jsonl = std::fs::read_to_string(&lines).unwrap();
        assert_eq!(jsonl.lines().count(), 3, "{jsonl}");
    }
    // A non-object first: it fails, and the next object sets the header.
    let file = dir.join("first.csv");
    let feeds = Feeds::parse(&[file.display().to_string()], None).unwrap();
    let r = feed(feeds, vec![json!("oops"), json!({"a": 1})], false);
    not_an_object_error(&r[0], &file);
    assert!(r[1].is_ok());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\n1\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The warnings logged about `feed` (JSON log lines, from a log file set
/// up once for this test binary).
fn warnings_about(feed: &Path) -> Vec<Value> {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let log = fresh_dir("log").join("warn.log");
        solo_crawl::logs::init(LogLevel::Warn, LogFormat::Json, Some(&log)).unwrap();
        log
    });
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["fields"]["feed"] == feed.display().to_string())
        .collect()
}

#[test]
fn a_csv_feed_warns_about_the_fields_its_header_lacks() {
    let dir = fresh_dir("fields");
    let file = dir.join("all.csv");
    assert!(warnings_about(&file).is_empty());
    let items = vec![
        json!({"_type": "page", "n": 1}),
        json!({"_type": "product", "n": 2, "title": "t", "price": 3}),
        json!({"_type": "product", "n": 3, "title": "u", "price": 4}),
        json!({"_type": "product", "n": 4, "tags": ["a"]}),
        json!({"_type": "page", "n": 5}),
    ];
    let feeds = Feeds::parse(&[file.display().to_string()], None).unwrap();
    assert!(feed(feeds, items.clone(), false).iter().all(Result::is_ok));
    // The header is the first item's; the rest keep only its columns.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "_type,n\npage,1\nproduct,2\nproduct,3\nproduct,4\npage,5\n"
    );
    let w = warnings_about(&file);
    let said: Vec<&str> = w
        .iter()
        .map(|v| v["fields"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(w.len(), 3, "{said:#?}");
    // Once per field: price and title with the first product, tags later.
    assert_eq!(w[0]["fields"]["fields"], "price, title");
    assert_eq!(w[1]["fields"]["fields"], "tags");
    assert!(said[0].contains("Feed::fields"), "{}", said[0]);
    assert!(
        said[0].contains("first item (its fields in its order)"),
        "{}",
        said[0]
    );
    // At close: how many items lost fields.
    assert_eq!(w[2]["fields"]["items"], 3);
    assert!(said[2].contains("price, tags, title"), "{}", said[2]);

    // Chosen columns: in their order, and no warning about the rest.
    let picked = dir.join("picked.csv");
    let feeds = Feeds::new().feed(Feed {
        item_type: None,
        path: picked.clone(),
        format: ItemFormat::Csv,
        fields: Some(vec!["n".into(), "title".into(), "price".into()]),
    });
    assert!(feed(feeds, items, false).iter().all(Result::is_ok));
    assert_eq!(
        std::fs::read_to_string(&picked).unwrap(),
        "n,title,price\n1,,\n2,t,3\n3,u,4\n4,,\n5,,\n"
    );
    assert!(warnings_about(&picked).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
