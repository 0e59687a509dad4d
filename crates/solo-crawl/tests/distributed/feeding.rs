//! Feeding a running shared crawl from outside (scrapy-redis's `LPUSH
//! myspider:start_urls`): `solo-crawl push` applies the crawl's rules and
//! seen set, workers started with `--idle-timeout` wait for what comes,
//! and a finished crawl has work again.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{kill, redis_available, run, spawn, urls, wait, Redis, Site, TempDir, BIN};
use super::{await_crawl, shared, LIMIT};

/// `solo-crawl push` of `args` (after the crawl's flags), with `stdin`:
/// exit code, stdout, stderr.
fn push(redis: &Redis, id: &str, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(["push", "--redis", &redis.url(), "--crawl-id", id])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("stdin");
    drop(input);
    let o = child.wait_with_output().expect("push ends");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Waits until `path` has a record of `url`.
fn await_record(path: &std::path::Path, url: &str) {
    let deadline = Instant::now() + LIMIT;
    while !urls(path).iter().any(|u| u == url) {
        assert!(Instant::now() < deadline, "{url} never crawled");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(redis: &Redis, id: &str) -> String {
    let o = run(&["status", "--redis", &redis.url(), "--crawl-id", id]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A worker waiting with `--idle-timeout never` fetches what is pushed
/// while it waits; each pushed URL passes the crawl's scope and seen set
/// (a URL seen, one given twice, one off the scope and one that is no
/// URL are counted and named, exit 1); `--from-file -` reads stdin; the
/// idle crawl says so in `status`. Then a worker with a short idle time
/// leaves by itself, and a push to the finished crawl gives it work
/// again, which a new worker fetches. Before, a crawl's URLs could only
/// be given when it was started, and workers left when it ran dry.
#[test]
fn pushed_urls_pass_the_crawls_rules_and_reach_waiting_workers() {
    if !redis_available() {
        return;
    }
    // Depth 0: the crawl fetches its start page and nothing else, so
    // every other page is new to it.
    let site = Site::start(1, 20, Duration::ZERO);
    let redis = Redis::start();
    let dir = TempDir::new("push");
    let out = dir.path("p.jsonl");
    let page = |i: usize| format!("{}{i}", site.seeds()[0].trim_end_matches('0'));
    let first = spawn(&shared(
        &site,
        &redis,
        "feed",
        &out,
        &["--depth=0", "--idle-timeout=never"],
    ));
    await_crawl(&redis, "feed");
    await_record(&out, &page(0));

    let offsite = "http://127.0.0.2:9/elsewhere";
    let (code, stdout, stderr) = push(
        &redis,
        "feed",
        &[&page(5), &page(0), &page(5), offsite, "ftp://127.0.0.1/x"],
        "",
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        "crawl \"feed\": 1 queued, 2 seen before, 2 refused",
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("refused {offsite}: offsite")),
        "{stderr}"
    );
    assert!(stderr.contains("ftp://127.0.0.1/x"), "{stderr}");
    await_record(&out, &page(5));

    let (code, stdout, stderr) = push(
        &redis,
        "feed",
        &["--from-file", "-"],
        &format!("# more\n\n{}\n", page(6)),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("1 queued, 0 seen before, 0 refused"),
        "{stdout}"
    );
    await_record(&out, &page(6));
    let st = status(&redis, "feed");
    assert!(st.contains("state        idle"), "{st}");
    // Its links are past --depth 0: only what was pushed was fetched.
    let mut got = urls(&out);
    got.sort();
    assert_eq!(got, vec![page(0), page(5), page(6)]);

    kill("-INT", first.id());
    let (code, err) = wait(first, LIMIT);
    // A worker that waits for URLs ends by a signal: exit 0.
    assert_eq!(code, Some(0), "{err}");

    // A worker that waits a second for more leaves by itself.
    let idle = [
        "worker",
        "--redis",
        &redis.url(),
        "--crawl-id",
        "feed",
        "--idle-timeout=1s",
    ];
    let (code, err) = wait(spawn(&idle.map(str::to_owned)), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(status(&redis, "feed").contains("state        finished"));

    // The finished crawl takes more; a worker fetches it and ends.
    // (One URL pushed, then a worker to its end, writing `out`.)
    let push_and_fetch = |url: &str, out: &std::path::Path| {
        let (code, stdout, stderr) = push(&redis, "feed", &[url], "");
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        let out = out.display().to_string();
        let o = run(&[
            "worker",
            "--redis",
            &redis.url(),
            "--crawl-id",
            "feed",
            "--output",
            &out,
        ]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    };
    let out2 = dir.path("q.jsonl");
    push_and_fetch(&page(7), &out2);
    assert_eq!(urls(&out2), vec![page(7)]);
    // A worker's own --output name says its format (it wrote the
    // crawl's JSON Lines into w.csv).
    let csv = dir.path("w.csv");
    push_and_fetch(&page(8), &csv);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("url,final_url,"), "{text}");
    assert!(text.contains(&page(8)), "{text}");

    // No such crawl: one clear line.
    let (code, _, stderr) = push(&redis, "nothing", &[&page(1)], "");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no crawl \"nothing\""), "{stderr}");
}

/// A long list (sent in steps of at most 10,000 requests) is queued
/// whole; pushed into a crawl whose `--max-pages` are spent, it is
/// queued, and `push` says that no worker will fetch it.
#[test]
fn a_long_push_is_all_queued_and_a_spent_budget_is_said() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 20, Duration::ZERO);
    let redis = Redis::start();
    let dir = TempDir::new("pushmany");
    let (code, err) = wait(
        spawn(&shared(
            &site,
            &redis,
            "many",
            &dir.path("p.jsonl"),
            &["--max-pages=1"],
        )),
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let base = site.seeds()[0].trim_end_matches("p/0").to_owned();
    let queued = || -> u64 {
        let v = redis.cmd(&["HGET", "solo:{many}:stats", "queued"]);
        v.parse().unwrap_or_else(|_| panic!("{v:?}"))
    };
    let before = queued();
    let list: String = (0..25_000).map(|i| format!("{base}q/{i}\n")).collect();
    let (code, stdout, stderr) = push(&redis, "many", &["--from-file", "-"], &list);
    // Queued, but never to be fetched: a failure for a script.
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("25000 queued, 0 seen before, 0 refused"),
        "{stdout}"
    );
    assert!(stderr.contains("--max-pages (1)"), "{stderr}");
    assert_eq!(queued() - before, 25_000);
}

/// A worker idle with `--idle-timeout never` spends its time in a wait
/// for pushed URLs on Redis: a Redis that hangs then is told within
/// seconds, once, and its answer when it comes, as during a crawl.
/// Before, only a frontier step was timed, so a hang met in that wait
/// (the likeliest place for an idle worker, and possible for a busy one)
/// went unsaid until the socket's 30 s timeout.
#[test]
fn an_idle_worker_tells_of_a_redis_that_hangs() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 2, Duration::ZERO);
    let redis = Redis::start_with(&["--save", "", "--appendonly", "no"]);
    let dir = TempDir::new("idlehang");
    let out = dir.path("p.jsonl");
    let first = spawn(&shared(
        &site,
        &redis,
        "idlehang",
        &out,
        &["--depth=0", "--idle-timeout=never"],
    ));
    await_crawl(&redis, "idlehang");
    await_record(&out, &site.seeds()[0]);
    // Idle: only the wait for pushes is left to it.
    std::thread::sleep(Duration::from_millis(300));
    redis.freeze(true);
    std::thread::sleep(Duration::from_secs(7));
    redis.freeze(false);
    std::thread::sleep(Duration::from_millis(500));
    kill("-INT", first.id());
    let (code, err) = wait(first, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("has not answered for 5 s").count(), 1, "{err}");
    assert!(err.contains("answered after"), "{err}");
}
