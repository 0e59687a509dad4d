//! Stage keys kept with `--state`: a crawl whose pipeline drops duplicate
//! items, SIGKILLed mid-crawl and resumed, writes each key once (the
//! resumed `DropDuplicates` gets the keys of the committed pages back),
//! and a key whose page was not committed at the kill does not survive
//! it (that page's item is written by the resumed run, not lost).
//!
//! The crawl runs in a child process (this test binary again, running
//! the ignored test `crawl_child`), so it can be killed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use solo_crawl::demo_site::{demo_reachable, DemoSite};
use solo_crawl::stages::DropDuplicates;
use solo_crawl::{
    Config, Crawler, ItemError, Output, OutputConfig, Pipeline, Pipelines, Request, Response,
    Spider, Target,
};

const PAGES: u64 = 2000;
/// Items' keys: the page's number modulo this, so each key comes from
/// about 13 pages.
const KEYS: u64 = 150;

/// Every page, and an item `{"k": N % KEYS, "page": N}` for `/page/N`.
struct Keyed {
    start: url::Url,
}

impl Spider for Keyed {
    type Callback = ();
    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::new(self.start.clone(), ())]
    }
    async fn parse(&self, _: (), response: &Response, out: &mut Output<()>) {
        for l in response.links() {
            out.follow(Request::new(l.clone(), ()));
        }
        if let Some(n) = response.url().path().strip_prefix("/page/") {
            if let Ok(n) = n.parse::<u64>() {
                out.item(json!({"k": n % KEYS, "page": n}));
            }
        }
    }
}

/// After `DropDuplicates`: holds the first item with key `hang` forever
/// (its page is never done), after writing the file `marker`.
struct Hang {
    hang: Option<u64>,
    marker: PathBuf,
}

impl Pipeline for Hang {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        if self.hang.is_some() && item["k"].as_u64() == self.hang {
            std::fs::write(&self.marker, item.to_string()).unwrap();
            solo::sleep(Duration::from_secs(3600)).await;
        }
        Ok(item)
    }
}

/// The crawl, in the child process: `KEPT_DIR` holds the state and the
/// outputs, `KEPT_SITE` is the site, `KEPT_HANG` a key to hang on.
#[test]
#[ignore = "the crawl process of the kill tests: run by them"]
fn crawl_child() {
    let dir = PathBuf::from(std::env::var("KEPT_DIR").expect("KEPT_DIR: run by the kill tests"));
    let start = url::Url::parse(&std::env::var("KEPT_SITE").unwrap()).unwrap();
    let hang = std::env::var("KEPT_HANG").ok().map(|k| k.parse().unwrap());
    let cfg = Config {
        state_dir: Some(dir.join("state")),
        per_host: 4,
        ..Config::default()
    };
    let out = OutputConfig {
        pages: Target::File(dir.join("pages.jsonl")),
        items: Target::File(dir.join("items.jsonl")),
        ..OutputConfig::default()
    };
    let pipelines = Pipelines::new()
        .stage(DropDuplicates::by_fields(["k"]))
        .stage(Hang {
            hang,
            marker: dir.join("hung"),
        });
    let crawler = Crawler::new(Keyed { start }, cfg)
        .output(out)
        .pipelines(pipelines);
    solo::run(crawler.run()).expect("the crawl runs");
}

fn child(dir: &Path, site: &DemoSite, hang: Option<u64>) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "crawl_child", "--ignored", "--nocapture"])
        .env("KEPT_DIR", dir)
        .env("KEPT_SITE", site.url().as_str())
        .stdout(Stdio::null());
    if let Some(k) = hang {
        c.env("KEPT_HANG", k.to_string());
    }
    c
}

/// Complete lines in a file so far.
fn lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Checkpoints committed so far (the state's count of commits).
fn commits(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("state/state.commits")).unwrap_or_default();
    text.trim().parse().unwrap_or(0)
}

/// Waits until `ready()`; false if the child exited first.
fn wait_until(child: &mut Child, ready: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(Instant::now() < deadline, "the crawl made no progress");
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// Runs the crawl to its end.
fn finish(dir: &Path, site: &DemoSite) {
    let done = child(dir, site, None)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
}

/// How often each key is in the items file.
fn key_counts(dir: &Path) -> BTreeMap<u64, usize> {
    let text = std::fs::read_to_string(dir.join("items.jsonl")).unwrap();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let item: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        *counts.entry(item["k"].as_u64().unwrap()).or_default() += 1;
    }
    counts
}

/// The keys of the reachable pages: each once.
fn expected() -> BTreeMap<u64, usize> {
    let keys: BTreeSet<u64> = demo_reachable(PAGES)
        .iter()
        .filter_map(|p| p.strip_prefix("/page/")?.parse::<u64>().ok())
        .map(|n| n % KEYS)
        .collect();
    keys.into_iter().map(|k| (k, 1)).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-kept-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_crawl_killed_and_resumed_writes_each_key_once() {
    let site = DemoSite::start(PAGES).unwrap();
    let dir = scratch("kills");
    let pages = dir.join("pages.jsonl");
    let mut killed = 0;
    // Killed as the page records reach these counts: early (most keys
    // still to come) and late (most seen).
    for at in [60, 200, 450, 800, 1200] {
        let mut c = child(&dir, &site, None)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if !wait_until(&mut c, || lines(&pages) >= at) {
            break; // finished
        }
        kill(c);
        killed += 1;
    }
    assert!(killed >= 3, "killed midway only {killed} times");
    finish(&dir, &site);
    assert_eq!(key_counts(&dir), expected(), "killed {killed} times");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_key_whose_page_was_not_committed_does_not_survive_a_kill() {
    let site = DemoSite::start(PAGES).unwrap();
    let dir = scratch("hang");
    let items = dir.join("items.jsonl");
    // The first item of key 7 passes DropDuplicates, then hangs: its page
    // is never done, while later pages (their items with key 7 dropped
    // as duplicates) are committed.
    let mut c = child(&dir, &site, Some(7))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(&mut c, || dir.join("hung").exists()),
        "the crawl ended before an item of key 7"
    );
    // Then checkpoints, with items in them (the items file grows only at
    // a checkpoint: its lines are much smaller than the write buffer).
    let then = commits(&dir);
    assert!(
        wait_until(&mut c, || commits(&dir) >= then + 3 && lines(&items) >= 30),
        "the crawl ended while an item hung"
    );
    kill(c);
    let hung: Value = serde_json::from_slice(&std::fs::read(dir.join("hung")).unwrap()).unwrap();
    assert_eq!(
        key_counts(&dir).get(&7),
        None,
        "the hung item was not written"
    );
    finish(&dir, &site);
    // Key 7 once (the hung page's item, or one of a page fetched later),
    // the keys committed before the kill not again.
    assert_eq!(key_counts(&dir), expected(), "hung on {hung}");
    std::fs::remove_dir_all(&dir).unwrap();
}
