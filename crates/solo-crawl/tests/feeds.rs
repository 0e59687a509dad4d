//! Item feeds (`export::Feeds`) fed directly through a pipeline, no
//! crawl: what a CSV feed does with items it cannot write as a row.

use std::path::PathBuf;
use std::rc::Rc;

use serde_json::{json, Value};
use solo_crawl::export::Feeds;
use solo_crawl::{ItemError, Pipelines};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-feeds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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
    let dir = temp("scalar");
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
