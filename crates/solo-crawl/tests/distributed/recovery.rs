//! A shared crawl whose Redis state is damaged behind its back, or whose
//! worker was away too long: a queue list deleted (what an eviction
//! does), a worker stopped past its lease time, a Redis that went back
//! to an older snapshot. The crawl ends, loses no page it can still
//! reach, and says what happened.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use super::harness::{redis_available, spawn, urls, wait, Redis, Site, TempDir};
use super::{assert_all_pages, await_crawl, await_lines, crawl_and_workers, shared, worker, LIMIT};

/// A host's queue list deleted mid-crawl (as `allkeys-lru` evicts one):
/// the crawl ends, saying the requests are gone, instead of waiting for
/// them for good. Before, `stats.queued` stayed above 0 and the workers
/// idled until killed.
#[test]
fn a_queue_deleted_behind_the_crawls_back_ends_the_crawl_with_a_warning() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 60, Duration::from_millis(40));
    let redis = Redis::start();
    let dir = TempDir::new("delq");
    let outs = vec![dir.path("w0.jsonl")];
    let first = spawn(&shared(&site, &redis, "dq", &outs[0], &["--per-host=1"]));
    await_crawl(&redis, "dq");
    await_lines(&outs, 6);
    let mine = format!("solo:{{dq}}:q:127.0.0.1:{}:*", site.ports[0]);
    let mut gone = 0;
    for _ in 0..200 {
        let lists = redis.keys(&mine);
        if !lists.is_empty() {
            for l in &lists {
                gone += redis
                    .cmd(&["DEL", l])
                    .trim_start_matches(':')
                    .parse::<u32>()
                    .unwrap_or(0);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(gone > 0, "no queue list to delete");
    let (code, err) = wait(first, Duration::from_secs(60));
    assert_eq!(code, Some(0), "the crawl did not end: {err}");
    assert!(
        err.contains("requests counted as queued are gone from Redis")
            && err.contains("maxmemory-policy must be noeviction"),
        "{err}"
    );
    assert_eq!(redis.cmd(&["HGET", "solo:{dq}:stats", "queued"]), "0");
    let lost = redis.cmd(&["HGET", "solo:{dq}:stats", "lost"]);
    assert!(lost.parse::<u64>().is_ok_and(|n| n > 0), "{lost:?}");
    let o = super::harness::run(&["status", "--redis", &redis.url(), "--crawl-id", "dq"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(st.contains("state        finished"), "{st}");
    assert!(
        st.contains(&format!("lost         {lost} queued requests gone")),
        "{st}"
    );
}

/// The crawl's counters (its `stats` hash) deleted mid-crawl, as an
/// eviction does: every worker stops with an error naming them, and
/// `status` says the crawl is damaged. Before, the counters were made
/// again from 0 and went below it (`queued -61`, `leased -1`), so no step
/// found the crawl done: the workers fetched every page and then stepped
/// on until killed, while `status` said "finished".
#[test]
fn a_stats_hash_deleted_behind_the_crawls_back_stops_every_worker() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 60, Duration::from_millis(40));
    let redis = Redis::start();
    let dir = TempDir::new("delstats");
    let outs = vec![dir.path("w0.jsonl"), dir.path("w1.jsonl")];
    let workers = crawl_and_workers(&site, &redis, "ds", &outs, &["--per-host=1"]);
    await_lines(&outs, 6);
    assert_eq!(redis.cmd(&["DEL", "solo:{ds}:stats"]), ":1");
    for c in workers {
        let (code, err) = wait(c, Duration::from_secs(60));
        assert!(code.is_some(), "the worker did not end: {err}");
        assert_ne!(code, Some(0), "{err}");
        assert!(
            err.contains("the crawl's counters (solo:{ds}:stats")
                && err.contains("are gone from this Redis")
                && err.contains("new --crawl-id"),
            "{err}"
        );
    }
    let o = super::harness::run(&["status", "--redis", &redis.url(), "--crawl-id", "ds"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(
        st.contains("state        damaged: its counters (solo:{ds}:stats) are gone"),
        "{st}"
    );
    // A probe tells damage by the exit status, or reads it as JSON.
    assert_eq!(o.status.code(), Some(1), "{st}");
    let o = super::harness::run(&[
        "status",
        "--redis",
        &redis.url(),
        "--crawl-id",
        "ds",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"], "damaged", "{v}");
    assert!(v["damaged"].as_str().unwrap().contains("are gone"), "{v}");
    // Counters made again from 0 and gone below it (what the old script
    // left) are damage too, for the workers and for `status`.
    redis.cmd(&[
        "HSET",
        "solo:{ds}:stats",
        "started_ms",
        "1",
        "queued",
        "-61",
        "leased",
        "-1",
    ]);
    let o = super::harness::run(&["status", "--redis", &redis.url(), "--crawl-id", "ds"]);
    let st = String::from_utf8_lossy(&o.stdout);
    assert!(
        st.contains("state        damaged: its counters are below 0"),
        "{st}"
    );
    let (code, err) = wait(spawn(&worker(&redis, "ds", &outs[1])), LIMIT);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("are below 0 (queued -61, leased -1)"), "{err}");
}

fn signal(sig: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// A worker stopped (SIGSTOP) longer than `--lease-timeout`, whose leases
/// another worker took back, gives up those it had not started when it
/// comes back: no page is fetched twice but the one it had in flight,
/// and `--per-host 1` holds. Before, it fetched its waiting lease too,
/// which the other worker had fetched already, at the same host.
#[test]
fn a_worker_silent_past_its_lease_gives_up_the_leases_it_had_not_started() {
    if !redis_available() {
        return;
    }
    let site = Site::start(4, 80, Duration::from_millis(100));
    let redis = Redis::start();
    let dir = TempDir::new("stopped");
    let outs = vec![dir.path("a.jsonl"), dir.path("victim.jsonl")];
    let flags = ["--per-host=1", "--concurrency=4", "--lease-timeout=2"];
    let a = spawn(&shared(&site, &redis, "stop", &outs[0], &flags));
    await_crawl(&redis, "stop");
    let mut args = worker(&redis, "stop", &outs[1]);
    // One in flight, one more leased and waiting.
    args.push("--concurrency=1".into());
    let victim = spawn(&args);
    await_lines(&outs[1..], 3);
    signal("-STOP", victim.id());
    std::thread::sleep(Duration::from_secs(5));
    signal("-CONT", victim.id());
    let (code, err_a) = wait(a, LIMIT);
    assert_eq!(code, Some(0), "{err_a}");
    let (code, err) = wait(victim, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &outs);
    let all: Vec<String> = outs.iter().flat_map(|o| urls(o)).collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert!(
        all.len() - distinct.len() <= 1,
        "fetched twice besides the page in flight: {}",
        all.len() - distinct.len()
    );
    let max = site.max_in_flight();
    assert!(max.iter().all(|&m| m <= 1), "--per-host 1: {max:?}");
    assert!(err.contains("silent longer than --lease-timeout"), "{err}");
    let reclaimed = redis.cmd(&["HGET", "solo:{stop}:stats", "reclaimed_workers"]);
    assert_eq!(
        reclaimed, "1",
        "the stopped worker's leases were taken back"
    );
}

/// Redis saved a snapshot (RDB), the crawl went on, then Redis crashed
/// and came back from the snapshot: every page of the site is still
/// fetched (those since the snapshot again), and the workers say why.
/// Before, the workers' own seen sets dropped the links of the pages
/// fetched again, and the crawl "finished" without a quarter of them.
#[test]
fn a_redis_rolled_back_to_a_snapshot_loses_no_page() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 150, Duration::from_millis(30));
    let mut redis = Redis::start_with(&["--save", "", "--appendonly", "no"]);
    let dir = TempDir::new("rollback");
    let outs = vec![dir.path("w0.jsonl"), dir.path("w1.jsonl")];
    let first = spawn(&shared(&site, &redis, "rdb", &outs[0], &["--per-host=2"]));
    await_crawl(&redis, "rdb");
    let second = spawn(&worker(&redis, "rdb", &outs[1]));
    await_lines(&outs, 20);
    assert_eq!(redis.cmd(&["SAVE"]), "+OK");
    await_lines(&outs, 90);
    redis.crash();
    std::thread::sleep(Duration::from_millis(300));
    redis.start_again();
    let mut said = 0;
    for c in [first, second] {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
        said += usize::from(err.contains("went back to an earlier state"));
    }
    assert_all_pages(&site, &outs);
    assert!(said > 0, "no worker said Redis went back");
}

/// A worker killed while it fetched a host's robots.txt: once it is
/// taken for dead (--lease-timeout), its claim on that robots.txt goes
/// with its leases and another worker fetches it at once. Before, the
/// claim was waited out (the fetch timeout + 5 s: 25 s here) and the
/// host stalled for every worker.
#[test]
fn a_dead_workers_robots_txt_claim_goes_with_its_leases() {
    if !redis_available() {
        return;
    }
    // robots.txt answers in 4 s, pages in 20 ms.
    let site = Site::start_robots_slow(1, 40, Duration::from_millis(20), Duration::from_secs(4));
    let redis = Redis::start();
    let dir = TempDir::new("rclaim");
    let (a, b) = (dir.path("a.jsonl"), dir.path("b.jsonl"));
    let flags = ["--per-host=1", "--lease-timeout=2"];
    let mut first = spawn(&shared(&site, &redis, "rclaim", &a, &flags));
    await_crawl(&redis, "rclaim");
    let deadline = std::time::Instant::now() + LIMIT;
    while redis.keys("solo:{rclaim}:robots-claim:*").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "robots.txt never claimed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = spawn(&worker(&redis, "rclaim", &b));
    std::thread::sleep(Duration::from_millis(500));
    let _ = first.kill();
    let _ = first.wait();
    let killed = std::time::Instant::now();
    let (code, err) = wait(second, LIMIT);
    let took = killed.elapsed();
    assert_eq!(code, Some(0), "{err}");
    // The lease time, robots.txt's 4 s and the pages: well below the
    // claim's 25 s.
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    assert_all_pages(&site, &[a, b]);
}
