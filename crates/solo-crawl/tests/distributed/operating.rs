//! Operating a shared crawl: what `status` says of a finished crawl,
//! what a second `crawl --redis` with other settings is told, and each
//! worker's own logs, metrics and stats file.

use std::time::Duration;

use super::harness::{redis_available, run, spawn, wait, Redis, Site, TempDir};
use super::{shared, LIMIT};

/// `solo-crawl status --redis URL --crawl-id ID`: its stdout.
fn status(redis: &Redis, id: &str) -> String {
    let o = run(&["status", "--redis", &redis.url(), "--crawl-id", id]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `pages/s` line of a status.
fn rate_line(status: &str) -> String {
    let line = status.lines().find(|l| l.starts_with("pages/s"));
    line.unwrap_or_else(|| panic!("no pages/s in {status}"))
        .to_owned()
}

/// A finished crawl's rate is over its duration: asked again later, it is
/// the same. Before, it was pages / (now - start), falling after the end.
#[test]
fn status_of_a_finished_crawl_keeps_its_rate() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 20, Duration::from_millis(20));
    let redis = Redis::start();
    let dir = TempDir::new("rate");
    let args = shared(&site, &redis, "rate", &dir.path("p.jsonl"), &[]);
    let (code, err) = wait(spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let first = status(&redis, "rate");
    assert!(first.contains("state        finished"), "{first}");
    std::thread::sleep(Duration::from_millis(1500));
    let later = status(&redis, "rate");
    assert_eq!(rate_line(&first), rate_line(&later), "{first}\n{later}");
    assert!(rate_line(&later).contains("over the crawl's"), "{later}");
    let stats = |f: &str| -> i64 {
        let v = redis.cmd(&["HGET", "solo:{rate}:stats", f]);
        v.parse().unwrap_or_else(|_| panic!("{f}: {v:?}"))
    };
    let (start, end) = (stats("started_ms"), stats("ended_ms"));
    assert!(end > start, "{start} {end}");
}

/// `crawl --redis` again with other settings that do not change what is
/// crawled (`--per-host`, `--concurrency`): still refused, with each
/// difference named. Before, only scope settings were listed, so this
/// refusal said nothing of what differs.
#[test]
fn a_second_crawl_with_other_settings_is_told_every_difference() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 5, Duration::from_millis(1));
    let redis = Redis::start();
    let dir = TempDir::new("differ");
    let out = dir.path("p.jsonl");
    let first = shared(&site, &redis, "c1", &out, &["--delay=5", "--per-host=4"]);
    let (code, err) = wait(spawn(&first), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let again = ["--delay=5", "--per-host=2", "--concurrency=32"];
    let (code, err) = wait(spawn(&shared(&site, &redis, "c1", &out, &again)), LIMIT);
    assert_eq!(code, Some(1), "{err}");
    for said in [
        "already exists in that Redis with other settings",
        "concurrency: 64 (stored) -> 32 (now)",
        "per-host: 4 (stored) -> 2 (now)",
    ] {
        assert!(err.contains(said), "{said:?} in {err}");
    }
    assert!(!err.contains("delay"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The same settings (another output: each worker's own) join it.
    let same = ["--delay=5", "--per-host=4"];
    let other = dir.path("q.jsonl");
    let (code, err) = wait(spawn(&shared(&site, &redis, "c1", &other, &same)), LIMIT);
    assert_eq!(code, Some(0), "{err}");
}
