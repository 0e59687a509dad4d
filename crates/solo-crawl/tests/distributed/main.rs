//! One crawl shared by several `solo-crawl` processes through Redis
//! (`crawl --redis`, `worker`, `status`): the same pages as one process,
//! global politeness, nothing lost when workers are killed or Redis
//! restarts, clean errors. Each test starts its own `redis-server`.

mod feeding;
mod harness;
mod operating;
mod processes;
mod recovery;
mod setups;
#[path = "../common/warcio.rs"]
mod warcio;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{
    crawl_flags, lines, redis_available, run, spawn, urls, wait, Cluster, Redis, Site, TempDir,
};

const LIMIT: Duration = Duration::from_secs(120);

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `crawl` flags sharing the crawl `id` of `redis`, writing `out`.
fn shared(
    site: &Site,
    redis: &Redis,
    id: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut v = vec!["crawl".to_owned()];
    v.extend(crawl_flags(site));
    v.extend(s(&["--redis", &redis.url(), "--crawl-id", id]));
    v.push(format!("--output={}", out.display()));
    v.extend(s(extra));
    v
}

/// Waits until crawl `id` is stored (a worker started before that says
/// there is no such crawl).
fn await_crawl(redis: &Redis, id: &str) {
    let key = format!("solo:{{{id}}}:settings");
    let deadline = std::time::Instant::now() + LIMIT;
    while redis.cmd(&["EXISTS", &key]) != ":1" {
        assert!(
            std::time::Instant::now() < deadline,
            "crawl {id} never stored"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `crawl --redis` writing `outs[0]` (with `extra`), and once the crawl
/// is stored, a `worker` for each other output: the processes.
fn crawl_and_workers(
    site: &Site,
    redis: &Redis,
    id: &str,
    outs: &[std::path::PathBuf],
    extra: &[&str],
) -> Vec<std::process::Child> {
    let first = spawn(&shared(site, redis, id, &outs[0], extra));
    await_crawl(redis, id);
    std::iter::once(first)
        .chain(outs[1..].iter().map(|o| spawn(&worker(redis, id, o))))
        .collect()
}

fn worker(redis: &Redis, id: &str, out: &std::path::Path) -> Vec<String> {
    s(&[
        "worker",
        "--redis",
        &redis.url(),
        "--crawl-id",
        id,
        "--output",
        &out.display().to_string(),
    ])
}

#[test]
fn three_workers_crawl_the_pages_of_one_in_process_crawl_and_fetch_robots_txt_once() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 40, Duration::from_millis(2));
    let dir = TempDir::new("three");
    // One process, no Redis.
    let alone = dir.path("alone.jsonl");
    let mut args = vec!["crawl".to_owned()];
    args.extend(crawl_flags(&site));
    args.push(format!("--output={}", alone.display()));
    let (code, err) = wait(spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let expected: BTreeSet<String> = urls(&alone).into_iter().collect();
    assert_eq!(expected, site.all());

    assert_eq!(site.robots_fetches(), [1, 1, 1]);

    let redis = Redis::start();
    let outs: Vec<_> = (0..3).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    let codes: Vec<_> = crawl_and_workers(&site, &redis, "three", &outs, &["--concurrency=4"])
        .into_iter()
        .map(|c| wait(c, LIMIT))
        .collect();
    for (code, err) in &codes {
        assert_eq!(*code, Some(0), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        // No false alarm of the checks for damage behind the crawl's back.
        for alarm in [
            "went back to an earlier state",
            "silent longer",
            "gone from Redis",
        ] {
            assert!(!err.contains(alarm), "{alarm}: {err}");
        }
    }
    let mut all = Vec::new();
    for o in &outs {
        all.extend(urls(o));
    }
    eprintln!(
        "pages per worker: {:?}",
        outs.iter().map(|o| urls(o).len()).collect::<Vec<_>>()
    );
    let got: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(got, expected);
    // Once per crawl, not once per worker.
    assert_eq!(
        site.robots_fetches(),
        [2, 2, 2],
        "robots.txt fetched once more"
    );
    assert_eq!(all.len(), expected.len(), "a page was fetched twice");
    let st = run(&["status", "--redis", &redis.url(), "--crawl-id", "three"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert_eq!(st.status.code(), Some(0), "{text}");
    assert!(text.contains("finished"), "{text}");
    assert!(
        text.contains(&format!("pages        {}", expected.len())),
        "{text}"
    );
    let st = run(&[
        "status",
        "--redis",
        &redis.url(),
        "--crawl-id",
        "three",
        "--json",
    ]);
    assert_eq!(st.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["state"], "finished", "{v}");
    assert_eq!(v["pages"].as_u64(), Some(expected.len() as u64), "{v}");
    assert_eq!(v["in_flight"].as_u64(), Some(0), "{v}");
}

/// A robots.txt that answers 503 every time is retried by the worker
/// that claimed it, then stored as it came (not as "allow all") and read
/// by every worker as disallow: no page of its host is fetched (each
/// has a record that says why), and it is fetched once per crawl (RFC
/// 9309 §2.3.1.4).
#[test]
fn an_unreachable_robots_txt_disallows_its_host_for_every_worker() {
    if !redis_available() {
        return;
    }
    let site = Site::start_robots_down(2, 5, Duration::from_millis(2));
    let dir = TempDir::new("robots-down");
    let redis = Redis::start();
    let outs: Vec<_> = (0..2).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    let children = crawl_and_workers(&site, &redis, "down", &outs, &["--retries=1"]);
    let results: Vec<_> = children.into_iter().map(|c| wait(c, LIMIT)).collect();
    for (code, err) in &results {
        assert!(code.is_some(), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let records: Vec<serde_json::Value> = (outs.iter())
        .flat_map(|o| {
            std::fs::read_to_string(o)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert!(!records.is_empty());
    for r in &records {
        assert!(r["status"].is_null(), "fetched: {r}");
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("robots_unreachable: ") && error.contains("HTTP 503"),
            "{r}"
        );
    }
    assert_eq!(site.robots_fetches(), [2, 2], "tried twice, once per crawl");
    // The crawl's status counts each of those records as an error.
    let st = run(&["status", "--redis", &redis.url(), "--crawl-id", "down"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains(&format!("({} errors)", records.len())),
        "{} records: {text}",
        records.len()
    );
    for p in &site.ports {
        let stored = redis.cmd(&["HGET", "solo:{down}:robots", &format!("127.0.0.1:{p}")]);
        assert!(stored.starts_with("503"), "{stored:?}");
    }
}

/// A robots.txt answer stored in Redis longer ago than `--robots-max-age`
/// is fetched again by the worker that needs it (RFC 9309 §2.4), not
/// obeyed for the rest of the crawl; one stored without its time (by an
/// older version) is used as it is.
#[test]
fn a_stored_robots_txt_older_than_its_max_age_is_fetched_again() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 5, Duration::from_millis(2));
    let dir = TempDir::new("robots-age");
    let redis = Redis::start();
    let key = "solo:{aged}:robots";
    let disallow = "User-agent: *\nDisallow: /\n";
    let host = |i: usize| format!("127.0.0.1:{}", site.ports[i]);
    // Stored in 1970: stale. Stored without a time: kept.
    redis.cmd(&["HSET", key, &host(0), &format!("200 1000\n{disallow}")]);
    redis.cmd(&["HSET", key, &host(1), &format!("200\n{disallow}")]);
    let out = dir.path("w.jsonl");
    let child = spawn(&shared(&site, &redis, "aged", &out, &[]));
    let (code, err) = wait(child, LIMIT);
    assert!(!err.contains("panicked"), "{err}");
    assert!(code.is_some(), "{err}");
    assert_eq!(site.robots_fetches(), [1, 0], "the stale one only");
    let fetched: BTreeSet<String> = urls(&out).into_iter().collect();
    let first = format!("http://{}/", host(0));
    let second = format!("http://{}/", host(1));
    assert!(site
        .all()
        .iter()
        .filter(|u| u.starts_with(&first))
        .all(|u| fetched.contains(u)));
    let records = std::fs::read_to_string(&out).unwrap();
    for line in records.lines().filter(|l| l.contains(&second)) {
        assert!(line.contains("\"status\":null"), "{line}");
    }
    let stored = redis.cmd(&["HGET", key, &host(0)]);
    assert!(
        stored.starts_with("404 "),
        "stored again with its time: {stored:?}"
    );
}

/// Waits until the files in `outs` hold `n` records together.
fn await_lines(outs: &[std::path::PathBuf], n: usize) {
    let deadline = std::time::Instant::now() + LIMIT;
    while outs.iter().map(|o| lines(o)).sum::<usize>() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the crawl made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every page of `site` is in the union of `outs`.
#[track_caller]
fn assert_all_pages(site: &Site, outs: &[std::path::PathBuf]) {
    let got: BTreeSet<String> = outs.iter().flat_map(|o| urls(o)).collect();
    let missing: Vec<_> = site.all().difference(&got).cloned().collect();
    assert!(missing.is_empty(), "pages lost: {missing:?}");
}

#[test]
fn per_host_limit_holds_over_all_workers() {
    if !redis_available() {
        return;
    }
    let site = Site::start(4, 25, Duration::from_millis(40));
    let redis = Redis::start();
    let dir = TempDir::new("perhost");
    let outs: Vec<_> = (0..3).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    let first = spawn(&shared(
        &site,
        &redis,
        "polite",
        &outs[0],
        &["--per-host=2", "--concurrency=16"],
    ));
    // Workers started with the crawl wait for it to be stored.
    let others: Vec<_> = outs[1..]
        .iter()
        .map(|o| spawn(&worker(&redis, "polite", o)))
        .collect();
    for child in std::iter::once(first).chain(others) {
        let (code, err) = wait(child, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_all_pages(&site, &outs);
    let max = site.max_in_flight();
    // Three workers of 16 each would send up to 6 at once to a host on
    // their own; the shared limit is 2.
    assert!(max.iter().all(|&m| (1..=2).contains(&m)), "{max:?}");
}

/// Crawls `site` with four workers (`--per-host=2 --lease-timeout=1`),
/// SIGKILLs two of them mid-crawl (after 30 pages) and starts a fifth;
/// the others exit 0. The five outputs.
fn kill_two_of_four(
    site: &Site,
    redis: &Redis,
    id: &str,
    dir: &TempDir,
    extra: &[&str],
) -> Vec<std::path::PathBuf> {
    let mut outs: Vec<_> = (0..4).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    let mut flags = vec!["--per-host=2", "--lease-timeout=1"];
    flags.extend(extra);
    let mut children = vec![spawn(&shared(site, redis, id, &outs[0], &flags))];
    await_crawl(redis, id);
    for o in &outs[1..] {
        children.push(spawn(&worker(redis, id, o)));
    }
    await_lines(&outs, 30);
    for mut c in children.drain(2..) {
        c.kill().expect("SIGKILL"); // mid-fetch: their leases must come back
        let _ = c.wait();
    }
    outs.push(dir.path("late.jsonl"));
    children.push(spawn(&worker(redis, id, &outs[4])));
    for c in children {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    outs
}

#[test]
fn killed_workers_lose_no_page() {
    if !redis_available() {
        return;
    }
    let site = Site::start(4, 50, Duration::from_millis(60));
    let redis = Redis::start();
    let dir = TempDir::new("kill");
    let outs = kill_two_of_four(&site, &redis, "kill", &dir, &[]);
    assert_all_pages(&site, &outs);
    let reclaimed = redis.cmd(&["HGET", "solo:{kill}:stats", "reclaimed_workers"]);
    assert_eq!(
        reclaimed, "2",
        "both killed workers' leases were taken back"
    );
}

#[test]
fn a_worker_that_joins_late_takes_work() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 40, Duration::from_millis(100));
    let redis = Redis::start();
    let dir = TempDir::new("late");
    let outs = vec![dir.path("first.jsonl"), dir.path("late.jsonl")];
    let first = spawn(&shared(&site, &redis, "late", &outs[0], &["--per-host=2"]));
    await_lines(&outs[..1], 10);
    let late = spawn(&worker(&redis, "late", &outs[1]));
    for c in [first, late] {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    assert!(lines(&outs[1]) > 0, "the late worker fetched nothing");
    assert_all_pages(&site, &outs);
}

#[test]
fn redis_errors_are_one_clear_message() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        "sesame",
    ]);
    let wrong = format!("redis://:guess@127.0.0.1:{}/0", redis.port);
    let right = format!("redis://:sesame@127.0.0.1:{}/0", redis.port);
    let u = "http://127.0.0.1:1/";
    // A web server where Redis was expected.
    let web = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let not_redis = format!("redis://127.0.0.1:{}/0", web.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut c in web.incoming().flatten() {
            use std::io::Write;
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["status", "--redis", &not_redis, "--crawl-id", "a"],
            1,
            "not Redis's protocol",
        ),
        (
            &["crawl", u, "--redis", &not_redis, "--crawl-id", "a"],
            1,
            "not Redis's protocol",
        ),
        (
            &["crawl", u, "--redis", "http://x/", "--crawl-id", "a"],
            1,
            "not a Redis URL",
        ),
        (
            &[
                "crawl",
                u,
                "--redis",
                "redis://127.0.0.1:1/0",
                "--crawl-id",
                "a",
            ],
            1,
            "connection refused",
        ),
        (
            &["crawl", u, "--redis", &wrong, "--crawl-id", "a"],
            1,
            "authentication failed",
        ),
        (
            &["worker", "--redis", &right, "--crawl-id", "nope"],
            1,
            "no crawl \"nope\"",
        ),
        (
            &["status", "--redis", &right, "--crawl-id", "nope"],
            1,
            "no crawl \"nope\"",
        ),
        (&["crawl", u, "--redis", &right], 2, "--crawl-id"),
        (
            &[
                "crawl",
                u,
                "--redis",
                &right,
                "--crawl-id",
                "a",
                "--workers",
                "2",
            ],
            2,
            "needs --output",
        ),
    ];
    let first = run(&[
        "crawl",
        u,
        "--redis",
        &right,
        "--crawl-id",
        "same",
        "--depth=1",
        "--output=/dev/null",
    ]);
    // Its start URL answers nothing: the crawl is made, and fails as a
    // crawl whose start URLs all failed.
    let said = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{said}");
    assert!(said.contains("no start URL could be fetched"), "{said}");
    let other = [
        "crawl",
        u,
        "--redis",
        &right,
        "--crawl-id",
        "same",
        "--depth=2",
    ];
    let cases = [
        cases,
        &[(
            &other[..],
            1,
            "other settings (depth: 1 (stored) -> 2 (now))",
        )],
    ]
    .concat();
    for (args, code, needle) in &cases {
        let o = run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: wanted {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
        if *code == 1 {
            let said = err.lines().filter(|l| !l.contains("waiting for crawl"));
            assert_eq!(said.count(), 1, "one line: {err}");
        }
        assert!(
            !err.contains("sesame") && !err.contains("guess"),
            "password shown: {err}"
        );
    }
}

#[test]
fn a_crawl_laid_out_by_another_version_is_refused_in_one_sentence() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start();
    // What a solo-crawl of the first layout leaves: counters, no mark.
    assert_eq!(
        redis.cmd(&["HSET", "solo:{old}:stats", "queued", "3"]),
        ":1"
    );
    let o = run(&[
        "crawl",
        "http://127.0.0.1:1/",
        "--redis",
        &redis.url(),
        "--crawl-id",
        "old",
        "--output=/dev/null",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("started by another version of solo-crawl")
            && err.contains("start a new --crawl-id"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Its keys are left as they were.
    assert_eq!(redis.cmd(&["EXISTS", "solo:{old}:layout"]), ":0");
    assert_eq!(redis.cmd(&["HGET", "solo:{old}:stats", "queued"]), "3");
}

/// A crawl that layout 2 (before the host states kept their first rank)
/// laid out is taken over by this version and finished: its host states
/// are read without that rank (asked of the ranks' set), and its mark
/// becomes 3, so a worker of the older version now refuses it.
#[test]
fn a_crawl_of_the_previous_layout_is_taken_over_and_finished() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 40, Duration::from_millis(60));
    let redis = Redis::start();
    let dir = TempDir::new("prev");
    let outs = vec![dir.path("first.jsonl"), dir.path("then.jsonl")];
    // A first slice leaves work queued.
    let first = spawn(&shared(
        &site,
        &redis,
        "prev",
        &outs[0],
        &["--per-host=1", "--max-time=1s"],
    ));
    let (code, err) = wait(first, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        lines(&outs[0]) < site.all().len(),
        "the first slice did it all"
    );
    // What layout 2 would have written: host states of five numbers.
    let downgrade = "local all = redis.call('HGETALL', KEYS[1]) local n = 0 \
        for i = 1, #all, 2 do \
          local five, first = string.match(all[i + 1], '^(%d+ %d+ %d+ %d+ %d+) ?(%x*)$') \
          if first ~= '' then n = n + 1 end \
          redis.call('HSET', KEYS[1], all[i], five) \
        end \
        redis.call('SET', KEYS[2], '2') return n";
    let had_first = redis.cmd(&[
        "EVAL",
        downgrade,
        "2",
        "solo:{prev}:host",
        "solo:{prev}:layout",
    ]);
    assert_ne!(had_first, ":0", "no host state kept its first rank");
    let then = spawn(&worker(&redis, "prev", &outs[1]));
    let (code, err) = wait(then, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(redis.cmd(&["GET", "solo:{prev}:layout"]), "3");
    assert_all_pages(&site, &outs);
}

#[test]
fn a_redis_restart_mid_crawl_loses_nothing() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 50, Duration::from_millis(60));
    let mut redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]);
    let dir = TempDir::new("restart");
    let outs = vec![dir.path("w0.jsonl"), dir.path("w1.jsonl")];
    let first = spawn(&shared(
        &site,
        &redis,
        "restart",
        &outs[0],
        &["--per-host=2"],
    ));
    await_crawl(&redis, "restart");
    let second = spawn(&worker(&redis, "restart", &outs[1]));
    await_lines(&outs, 15);
    redis.stop();
    std::thread::sleep(Duration::from_millis(700));
    redis.restart();
    for c in [first, second] {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(err.matches("pausing").count(), 1, "said once: {err}");
        assert!(err.contains("is back"), "{err}");
    }
    assert_all_pages(&site, &outs);
}

/// A Redis that hangs (stopped, its connections open: no reset, no
/// refusal) is reported within seconds, once, and its answer when it
/// comes; the crawl then goes on. Before, the workers said nothing until
/// the socket's 30 s timeout.
#[test]
fn a_redis_that_hangs_is_reported_within_seconds() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 60, Duration::from_millis(40));
    let redis = Redis::start_with(&["--save", "", "--appendonly", "no"]);
    let dir = TempDir::new("hang");
    let out = dir.path("w0.jsonl");
    let first = spawn(&shared(&site, &redis, "hang", &out, &["--per-host=2"]));
    await_crawl(&redis, "hang");
    await_lines(std::slice::from_ref(&out), 5);
    redis.freeze(true);
    std::thread::sleep(Duration::from_secs(7));
    redis.freeze(false);
    let (code, err) = wait(first, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("has not answered for 5 s").count(), 1, "{err}");
    assert!(err.contains("answered after"), "{err}");
    assert_all_pages(&site, std::slice::from_ref(&out));
}

/// A Redis restarted without persistence has forgotten the crawl: the
/// workers say so and fail, instead of crawling on under the same id in
/// a new, empty crawl and ending with exit 0 and half the pages.
#[test]
fn a_crawl_redis_forgot_is_an_error_not_a_finish() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 50, Duration::from_millis(60));
    let mut redis = Redis::start();
    let dir = TempDir::new("forgot");
    let out = dir.path("w0.jsonl");
    let first = spawn(&shared(&site, &redis, "forgot", &out, &["--per-host=2"]));
    await_crawl(&redis, "forgot");
    await_lines(std::slice::from_ref(&out), 5);
    redis.restart();
    let (code, err) = wait(first, LIMIT);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("the crawl is gone from this Redis"), "{err}");
    assert!(lines(&out) < site.all().len(), "it stopped: {err}");
    // Nothing was started again under its name.
    assert_eq!(redis.cmd(&["EXISTS", "solo:{forgot}:layout"]), ":0");
}

#[test]
fn ctrl_c_gives_the_leases_back_at_once() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 40, Duration::from_millis(80));
    let redis = Redis::start();
    let dir = TempDir::new("ctrlc");
    let outs = vec![dir.path("w0.jsonl"), dir.path("w1.jsonl")];
    // Leases of a vanished worker would come back only after 60 s.
    let first = spawn(&shared(
        &site,
        &redis,
        "ctrlc",
        &outs[0],
        &["--per-host=2", "--lease-timeout=60"],
    ));
    await_crawl(&redis, "ctrlc");
    let second = spawn(&worker(&redis, "ctrlc", &outs[1]));
    await_lines(&outs, 10);
    harness::kill("-INT", first.id());
    let (code, err) = wait(first, LIMIT);
    assert_eq!(code, Some(130), "{err}");
    let (code, err) = wait(second, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &outs);
    let reclaimed = redis.cmd(&["HGET", "solo:{ctrlc}:stats", "reclaimed_workers"]);
    assert_eq!(
        reclaimed, "",
        "the leases were released, not reclaimed after expiry"
    );
}

#[test]
fn workers_n_starts_n_processes_with_numbered_outputs() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 30, Duration::from_millis(20));
    let redis = Redis::start();
    let dir = TempDir::new("workers");
    let out = dir.path("pages.jsonl");
    let (code, err) = wait(
        spawn(&shared(
            &site,
            &redis,
            "many",
            &out,
            &["--workers=3", "--per-host=2"],
        )),
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let outs: Vec<_> = (0..3)
        .map(|i| dir.path(&format!("pages.{i}.jsonl")))
        .collect();
    assert!(outs.iter().all(|o| o.exists()), "numbered outputs");
    assert!(!out.exists(), "no unnumbered output");
    assert_all_pages(&site, &outs);
    let total: usize = outs.iter().map(|o| lines(o)).sum();
    assert_eq!(total, site.all().len(), "each page once");
    // --workers 1 numbers its output too (scripts glob FILE.*.jsonl).
    let one = dir.path("one.jsonl");
    let (code, err) = wait(
        spawn(&shared(&site, &redis, "one", &one, &["--workers=1"])),
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &[dir.path("one.0.jsonl")]);
}

/// The shortest gap between two page requests a host saw, and the span
/// from the first to the last.
fn gaps(times: &[std::time::Instant]) -> (Duration, Duration) {
    let min = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or_default();
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) => *b - *a,
        _ => Duration::ZERO,
    };
    (min, span)
}

#[test]
fn crawl_delay_and_delay_pace_a_host_over_all_workers() {
    if !redis_available() {
        return;
    }
    // Host 0 asks for Crawl-delay: 0.2 in its robots.txt, host 1 for
    // nothing; pages answer at once.
    let site = Site::start_crawl_delayed(2, 12, Duration::from_millis(1), "0.2");
    let redis = Redis::start();
    let dir = TempDir::new("delays");
    let outs: Vec<_> = (0..3).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    for c in crawl_and_workers(&site, &redis, "delays", &outs, &["--per-host=4"]) {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_all_pages(&site, &outs);
    let times = site.arrival_times();
    // Host 0: one lease per 200 ms over all workers, so its 12 requests
    // span at least 11 x 200 ms (less what a worker may take to start a
    // leased request), never two at once.
    let (min0, span0) = gaps(&times[0]);
    assert!(
        span0 >= Duration::from_millis(2000),
        "host 0 span {span0:?}"
    );
    assert!(min0 >= Duration::from_millis(50), "host 0 gap {min0:?}");
    assert_eq!(site.max_in_flight()[0], 1);
    // Host 1 is not paced: requests overlap or follow at once.
    let (min1, _) = gaps(&times[1]);
    assert!(min1 < Duration::from_millis(50), "host 1 gap {min1:?}");

    // --delay (200 ms, jittered 0.5-1.5x in one process) paces every
    // host the same way, over all workers.
    let site = Site::start(2, 8, Duration::from_millis(1));
    let outs: Vec<_> = (0..2).map(|i| dir.path(&format!("d{i}.jsonl"))).collect();
    for c in crawl_and_workers(&site, &redis, "delay", &outs, &["--delay=200"]) {
        let (code, err) = wait(c, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_all_pages(&site, &outs);
    for (h, t) in site.arrival_times().iter().enumerate() {
        let (min, span) = gaps(t);
        assert!(span >= Duration::from_millis(650), "host {h} span {span:?}");
        assert!(min >= Duration::from_millis(30), "host {h} gap {min:?}");
    }
}

/// A short `--delay` paces a host at about that delay, not at Redis's
/// timer tick: a worker with nothing leased waited for work with a BLPOP
/// whose timeout Redis only ends every 100 ms (`hz 10`), so every page
/// of a delayed host took ~100 ms whatever the delay. The step now says
/// when the first host's delay ends, and the worker waits that long.
#[test]
fn a_short_delay_is_not_stretched_to_redis_timer_tick() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 30, Duration::from_millis(1));
    let redis = Redis::start();
    let dir = TempDir::new("short-delay");
    let out = dir.path("pages.jsonl");
    let (code, err) = wait(
        spawn(&shared(&site, &redis, "short", &out, &["--delay=20"])),
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &[out]);
    // The mechanism, not a timing: a worker waiting for a delay of 10-30
    // ms waits on its own, so it does not park in a BLPOP (whose timeout
    // only ends on Redis's tick) once per page.
    let stats = redis.cmd(&["INFO", "commandstats"]);
    let blpops: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_blpop:calls="))
        .and_then(|v| v.split(',').next()?.parse().ok())
        .unwrap_or(0);
    assert!(blpops < 10, "{blpops} BLPOPs for 30 pages: {stats}");
}

#[test]
fn a_crawl_runs_on_redis_cluster_through_any_node() {
    if !redis_available() {
        return;
    }
    let cluster = Cluster::start();
    let id = "clustered";
    let (home, others): (Vec<&Redis>, Vec<&Redis>) =
        cluster.nodes.iter().partition(|n| Cluster::serves(n, id));
    assert_eq!((home.len(), others.len()), (1, 2));
    let site = Site::start(3, 40, Duration::from_millis(2));
    let dir = TempDir::new("cluster");
    let out = dir.path("pages.jsonl");
    // Started through a node that does not serve the crawl's slot: its
    // MOVED is followed.
    let (code, err) = wait(
        spawn(&shared(&site, others[0], id, &out, &["--workers=2"])),
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let outs: Vec<_> = (0..2)
        .map(|i| dir.path(&format!("pages.{i}.jsonl")))
        .collect();
    assert_all_pages(&site, &outs);
    let total: usize = outs.iter().map(|o| lines(o)).sum();
    assert_eq!(total, site.all().len(), "each page once");
    // Every key of the crawl is in its one slot, on one node.
    assert_ne!(home[0].cmd(&["DBSIZE"]), ":0");
    for n in &others {
        assert_eq!(n.cmd(&["DBSIZE"]), ":0");
    }
    let st = run(&["status", "--redis", &others[1].url(), "--crawl-id", id]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("finished"), "{text}");
    assert!(
        text.contains(&format!("pages        {}", site.all().len())),
        "{text}"
    );
}

/// On a Redis Cluster whose node holding the crawl's slot goes down, the
/// workers name that node, not the one of the URL (which is up). Before,
/// the message blamed the URL's node alone.
#[test]
fn a_cluster_nodes_outage_names_that_node() {
    if !redis_available() {
        return;
    }
    let mut cluster = Cluster::start();
    let id = "nodedown";
    let home = cluster
        .nodes
        .iter()
        .position(|n| Cluster::serves(n, id))
        .unwrap();
    let entry = (home + 1) % cluster.nodes.len();
    let site = Site::start(2, 200, Duration::from_millis(30));
    let dir = TempDir::new("nodedown");
    let out = dir.path("pages.jsonl");
    let child = spawn(&shared(
        &site,
        &cluster.nodes[entry],
        id,
        &out,
        &["--per-host=1"],
    ));
    await_lines(std::slice::from_ref(&out), 3);
    let home_port = cluster.nodes[home].port;
    cluster.nodes[home].crash();
    std::thread::sleep(Duration::from_secs(2));
    let (_, err) = wait(child, Duration::from_millis(100));
    assert!(
        err.contains(&format!(
            "(cluster node 127.0.0.1:{home_port}, which holds the crawl's slot)"
        )),
        "{err}"
    );
}

/// From page 0, asks for pages 1..=20 at priority 0, then page 21 at
/// priority 10.
struct Urgent(String);

impl solo_crawl::Spider for Urgent {
    type Callback = ();
    fn start_requests(&self) -> Vec<solo_crawl::Request<()>> {
        vec![solo_crawl::Request::new(self.page(0), ())]
    }
    async fn parse(
        &self,
        _: (),
        response: &solo_crawl::Response,
        out: &mut solo_crawl::Output<()>,
    ) {
        if response.url().path() == "/p/0" {
            for i in 1..=20 {
                out.follow(solo_crawl::Request::new(self.page(i), ()));
            }
            out.follow(solo_crawl::Request::new(self.page(21), ()).with_priority(10));
        }
    }
}

impl Urgent {
    fn page(&self, i: usize) -> url::Url {
        url::Url::parse(&format!("{}/p/{i}", self.0)).unwrap()
    }
}

#[test]
fn a_hosts_queue_in_redis_is_in_priority_order() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 30, Duration::from_millis(2));
    let redis = Redis::start();
    let pages = solo_crawl::output::SharedBuf::default();
    let out = solo_crawl::OutputConfig {
        pages: solo_crawl::Target::Buffer(pages.clone()),
        items: solo_crawl::Target::Discard,
        ..Default::default()
    };
    // One request at a time, so that the order is Redis's, not the
    // worker's (which orders what it holds by priority itself).
    let cfg = solo_crawl::Config {
        concurrency: 1,
        per_host: 1,
        obey_robots: false,
        frontier: solo_crawl::FrontierBackend::Redis(solo_crawl::RedisFrontier::new(
            redis.url(),
            "urgent",
        )),
        ..Default::default()
    };
    let spider = Urgent(format!("http://127.0.0.1:{}", site.ports[0]));
    solo::run(solo_crawl::Crawler::new(spider, cfg).output(out).run()).unwrap();
    let text = String::from_utf8(pages.lock().unwrap().clone()).unwrap();
    let order: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let want: Vec<String> = [0, 21]
        .into_iter()
        .chain(1..=20)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(order, want);
}

/// Logs in on the login site's form (alice), then asks for each private
/// page `copies` times (a query apart): many pages behind the login, for
/// any worker to lease.
struct Login {
    base: url::Url,
    copies: u32,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
enum Step {
    #[default]
    Form,
    Account,
    Secret,
}

impl solo_crawl::Spider for Login {
    type Callback = Step;
    fn start_requests(&self) -> Vec<solo_crawl::Request<Step>> {
        vec![solo_crawl::Request::new(
            self.base.join("/login").unwrap(),
            Step::Form,
        )]
    }
    async fn parse(
        &self,
        step: Step,
        response: &solo_crawl::Response,
        out: &mut solo_crawl::Output<Step>,
    ) {
        let text = |css: &str| -> Option<String> {
            let found = response.select(css).ok()?;
            Some(found.first()?.text().collect())
        };
        match step {
            Step::Form => {
                let login = solo_crawl::FormRequest::from_response(response)
                    .form_id("login")
                    .formdata([("username", "alice"), ("password", "wonderland")])
                    .request(Step::Account)
                    .unwrap();
                out.follow(login);
            }
            Step::Account => {
                out.item(serde_json::json!({ "account": text("h1.user") }));
                for a in response.select("a").unwrap() {
                    let href = a.attr("href").unwrap();
                    for c in 0..self.copies {
                        let r = response
                            .follow(&format!("{href}?copy={c}"), Step::Secret)
                            .unwrap();
                        out.follow(r);
                    }
                }
            }
            Step::Secret => out.item(serde_json::json!({ "secret": text("p.secret") })),
        }
    }
}

/// A login done by one worker opens the pages behind it for all: its
/// session cookie travels through Redis with (or before) the requests
/// queued after it, whichever worker leases them.
#[test]
fn a_login_by_one_worker_opens_the_pages_behind_it_for_every_worker() {
    if !redis_available() {
        return;
    }
    let site = solo_crawl::login_site::start().unwrap();
    let redis = Redis::start();
    let copies = 20;
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (pages, items) = (
                solo_crawl::output::SharedBuf::default(),
                solo_crawl::output::SharedBuf::default(),
            );
            let (base, url) = (site.url(), redis.url());
            let (p, i) = (pages.clone(), items.clone());
            let t = std::thread::spawn(move || {
                let out = solo_crawl::OutputConfig {
                    pages: solo_crawl::Target::Buffer(p),
                    items: solo_crawl::Target::Buffer(i),
                    ..Default::default()
                };
                let cfg = solo_crawl::Config {
                    cookies: true,
                    obey_robots: false,
                    per_host: 3,
                    frontier: solo_crawl::FrontierBackend::Redis(solo_crawl::RedisFrontier::new(
                        url, "login",
                    )),
                    ..Default::default()
                };
                let spider = Login { base, copies };
                solo::run(solo_crawl::Crawler::new(spider, cfg).output(out).run()).unwrap();
            });
            (t, pages, items)
        })
        .collect();
    let mut behind = Vec::new();
    let mut secrets = 0;
    for (t, pages, items) in workers {
        t.join().expect("a worker crawled");
        let text = String::from_utf8(pages.lock().unwrap().clone()).unwrap();
        let protected: Vec<(String, Option<u64>)> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| {
                let u = v["url"].as_str().unwrap();
                u.contains("/private/") || u.ends_with("/account")
            })
            .map(|v| (v["url"].as_str().unwrap().to_owned(), v["status"].as_u64()))
            .collect();
        behind.push(protected);
        let items = String::from_utf8(items.lock().unwrap().clone()).unwrap();
        for l in items.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(s) = v["secret"].as_str() {
                assert!(s.ends_with(" of alice"), "{s}");
                secrets += 1;
            }
        }
    }
    let all: Vec<&(String, Option<u64>)> = behind.iter().flatten().collect();
    let n = 1 + (solo_crawl::login_site::PRIVATE_PAGES * copies) as usize;
    assert_eq!(all.len(), n, "{all:?}");
    let refused: Vec<_> = all.iter().filter(|(_, s)| *s != Some(200)).collect();
    assert!(refused.is_empty(), "fetched logged out: {refused:?}");
    assert_eq!(secrets, n - 1);
    // The pages behind the login went to more than the worker that
    // logged in (else this would test nothing).
    let busy = behind.iter().filter(|b| !b.is_empty()).count();
    assert!(busy >= 2, "{behind:?}");
}

/// A site that sets a cookie (a new value) on every response keeps one
/// cookie in Redis: its latest state, not one entry per page.
#[test]
fn a_cookie_set_on_every_response_is_one_entry_in_redis() {
    if !redis_available() {
        return;
    }
    let n = std::sync::atomic::AtomicUsize::new(0);
    let pages = 40;
    let site = solo_crawl::demo_site::DemoSite::with_handler(move |_| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let links: String = (0..pages)
            .map(|p| format!("<a href=\"/p/{p}\">p</a>"))
            .collect();
        std::future::ready(
            solo_crawl::demo_site::SiteResponse::html(format!("<html><body>{links}</body></html>"))
                .with_header("Set-Cookie", &format!("visits={i}; Path=/")),
        )
    })
    .unwrap();
    let redis = Redis::start();
    let dir = TempDir::new("cookie-bound");
    let out = dir.path("w0.jsonl");
    let args = s(&[
        "crawl",
        site.url().as_str(),
        "--ignore-robots",
        "--cookies",
        "--redis",
        &redis.url(),
        "--crawl-id",
        "bound",
        &format!("--output={}", out.display()),
    ]);
    let (code, err) = wait(spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines(&out), pages + 1, "{err}");
    // Changed on every page (each change stored), kept once.
    let changes = redis.cmd(&["HGET", "solo:{bound}:stats", "cookie_seq"]);
    assert_eq!(changes, (pages + 1).to_string());
    assert_eq!(redis.cmd(&["HLEN", "solo:{bound}:cookies"]), ":1");
    assert_eq!(redis.cmd(&["ZCARD", "solo:{bound}:cookieseq"]), ":1");
    // Values are secrets: never in the log.
    assert!(!err.contains("visits="), "{err}");
}

/// A worker whose spider cannot read what another spider queued drops
/// those leases (counted, said once), and the crawl still ends.
#[test]
fn requests_another_spider_queued_are_dropped_and_the_crawl_ends() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 30, Duration::from_millis(1));
    let redis = Redis::start();
    let frontier =
        || solo_crawl::FrontierBackend::Redis(solo_crawl::RedisFrontier::new(redis.url(), "mixed"));
    let discard = || solo_crawl::OutputConfig {
        pages: solo_crawl::Target::Discard,
        items: solo_crawl::Target::Discard,
        ..Default::default()
    };
    // Urgent's callbacks are `()`: page 0 queues 21 requests, then the
    // page budget ends its part.
    let first = solo_crawl::Config {
        concurrency: 1,
        per_host: 1,
        obey_robots: false,
        max_pages: Some(1),
        frontier: frontier(),
        ..Default::default()
    };
    let spider = Urgent(format!("http://127.0.0.1:{}", site.ports[0]));
    let done = solo::run(
        solo_crawl::Crawler::new(spider, first)
            .output(discard())
            .run(),
    )
    .unwrap();
    assert_eq!(done.counts.pages, 1);
    // LinkSpider's callbacks are an enum that `null` is not.
    let second = solo_crawl::Config {
        concurrency: 4,
        per_host: 4,
        obey_robots: false,
        frontier: frontier(),
        ..Default::default()
    };
    let spider = solo_crawl::LinkSpider::new(vec![]);
    let done = solo::run(
        solo_crawl::Crawler::new(spider, second)
            .output(discard())
            .run(),
    )
    .unwrap();
    assert_eq!(done.counts.pages, 0);
    assert_eq!(done.counts.errors.get("redis_decode"), Some(&21));
    let st = run(&["status", "--redis", &redis.url(), "--crawl-id", "mixed"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("finished"),
        "{text}{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// Crawls `site` with `n` workers (`crawl --redis` and `n - 1` `worker`
/// processes, 4 requests in flight each), every page a start URL so that
/// every worker has work at once; each exits 0. Their outputs.
fn crawl_every_page(
    site: &Site,
    redis: &Redis,
    id: &str,
    dir: &TempDir,
    n: usize,
    extra: &[&str],
) -> Vec<std::path::PathBuf> {
    let outs: Vec<_> = (0..n).map(|i| dir.path(&format!("w{i}.jsonl"))).collect();
    let mut flags = s(&["--concurrency=4"]);
    flags.extend(s(extra));
    flags.extend(site.all());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let first = spawn(&shared(site, redis, id, &outs[0], &flags));
    await_crawl(redis, id);
    let others: Vec<_> = outs[1..]
        .iter()
        .map(|o| spawn(&worker(redis, id, o)))
        .collect();
    for child in std::iter::once(first).chain(others) {
        let (code, err) = wait(child, LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    outs
}

#[test]
fn the_overload_backoff_holds_over_all_workers() {
    if !redis_available() {
        return;
    }
    // One host that answers its page requests 40..200 with a 503, like a
    // server shedding load for a while.
    let (first, n) = (40, 160);
    let site = Site::start_with(1, 240, Duration::from_millis(50), Some((first, n)));
    let redis = Redis::start();
    let dir = TempDir::new("shed");
    let outs = crawl_every_page(&site, &redis, "shed", &dir, 4, &["--per-host=16"]);
    assert_all_pages(&site, &outs);
    let a = &site.arrivals()[0];
    assert!(
        a.len() > first + n,
        "the outage ended: {} requests",
        a.len()
    );
    // Once the outage has cut the limit (a few bursts of 503s), the whole
    // crawl sends one request at a time, not one per worker.
    let late = &a[first + n / 2..first + n];
    let over: Vec<_> = late.iter().filter(|&&k| k > 2).collect();
    assert!(
        over.is_empty(),
        "requests in flight at once (over all workers) late in the outage: {late:?}"
    );
    // And the limit grows back after it.
    let after = a[first + n..].iter().max().copied().unwrap_or(0);
    assert!(
        after >= 4,
        "after the outage: at most {after} at once: {a:?}"
    );
    let cuts = redis.cmd(&["HGET", "solo:{shed}:stats", "shed_cuts"]);
    assert!(cuts.parse::<u32>().is_ok_and(|c| c >= 2), "{cuts}");
}

#[test]
fn the_autothrottle_paces_a_host_over_all_workers() {
    if !redis_available() {
        return;
    }
    // Pages that take 100 ms: the autothrottle's pause (target 1)
    // settles at about that, so the host gets about one request at a
    // time from the whole crawl, where each worker pacing itself would
    // send one per worker.
    let site = Site::start(1, 50, Duration::from_millis(100));
    let redis = Redis::start();
    let dir = TempDir::new("autothrottle");
    let flags = ["--per-host=8", "--autothrottle"];
    let outs = crawl_every_page(&site, &redis, "paced", &dir, 3, &flags);
    assert_all_pages(&site, &outs);
    let a = &site.arrivals()[0];
    assert!(a.iter().all(|&k| k <= 2), "in flight at once: {a:?}");
    // The crawl-wide pause followed the latency down from 1 s.
    let host = format!("127.0.0.1:{}", site.ports[0]);
    let pause = redis.cmd(&["HGET", "solo:{paced}:autodelay", &host]);
    let ms: u64 = pause.parse().unwrap_or(0);
    assert!((100..900).contains(&ms), "pause {pause:?}");
}

#[test]
fn max_pages_counts_pages_written_even_when_workers_are_killed() {
    if !redis_available() {
        return;
    }
    let site = Site::start(4, 50, Duration::from_millis(60));
    let redis = Redis::start();
    let dir = TempDir::new("budget");
    // Killed mid-fetch: their leases come back, and must not use up the
    // budget twice.
    let outs = kill_two_of_four(&site, &redis, "budget", &dir, &["--max-pages=80"]);
    let all: Vec<String> = outs.iter().flat_map(|o| urls(o)).collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    // 80 pages counted (acknowledged) in all; a killed worker's pages
    // written but not yet acknowledged come on top (8 leases at most:
    // 4 hosts, 2 each).
    assert!(
        (80..=88).contains(&distinct.len()),
        "{} distinct pages, {} records",
        distinct.len(),
        all.len()
    );
    assert_eq!(redis.cmd(&["HGET", "solo:{budget}:stats", "written"]), "80");
    let st = run(&["status", "--redis", &redis.url(), "--crawl-id", "budget"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("finished"), "{text}");
}

#[test]
fn robots_txt_fetches_count_against_the_hosts_global_limit() {
    if !redis_available() {
        return;
    }
    // robots.txt answers as slowly as a page, and every worker has pages
    // of every host at once: with --per-host=1 a robots.txt fetch must
    // not overlap a page request (or another robots.txt fetch).
    let site = Site::start(3, 20, Duration::from_millis(40));
    let redis = Redis::start();
    let dir = TempDir::new("robots");
    let outs = crawl_every_page(&site, &redis, "robots", &dir, 3, &["--per-host=1"]);
    assert_all_pages(&site, &outs);
    assert_eq!(site.robots_fetches(), [1, 1, 1], "once per crawl");
    let max = site.max_any_in_flight();
    assert!(max.iter().all(|&m| m == 1), "{max:?}");
}

#[test]
fn workers_n_write_one_warc_set_each_and_every_answer_once() {
    if !redis_available() {
        return;
    }
    let Some(bin) = warcio::warcio() else { return };
    let site = Site::start(3, 30, Duration::from_millis(10));
    let redis = Redis::start();
    let dir = TempDir::new("warc");
    let out = dir.path("pages.jsonl");
    let warc = format!("--warc={}", dir.path("crawl.warc.gz").display());
    let flags = ["--workers=3", "--per-host=2", &warc];
    let (code, err) = wait(spawn(&shared(&site, &redis, "warc", &out, &flags)), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let mut files: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "crawl.0-00000.warc.gz",
            "crawl.1-00000.warc.gz",
            "crawl.2-00000.warc.gz"
        ],
        "one set per worker"
    );
    for f in &files {
        let check = std::process::Command::new(bin.join("warcio"))
            .args(["check", "-v"])
            .arg(f)
            .output()
            .expect("warcio runs");
        assert!(
            check.status.success(),
            "warcio check {}: {}",
            f.display(),
            String::from_utf8_lossy(&check.stdout)
        );
    }
    let index = std::process::Command::new(bin.join("warcio"))
        .arg("index")
        .args(&files)
        .output()
        .expect("warcio runs");
    // Each URL fetched (every page, each host's robots.txt) has exactly
    // one answer (a response, or a revisit of an identical body) in all
    // the files together.
    let mut answers: std::collections::BTreeMap<String, usize> = Default::default();
    for line in String::from_utf8_lossy(&index.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("warcio index JSON");
        if matches!(v["warc-type"].as_str(), Some("response" | "revisit")) {
            let uri = v["warc-target-uri"].as_str().unwrap_or_default();
            *answers.entry(uri.to_owned()).or_default() += 1;
        }
    }
    let mut expected = site.all();
    for p in &site.ports {
        expected.insert(format!("http://127.0.0.1:{p}/robots.txt"));
    }
    let got: BTreeSet<String> = answers.keys().cloned().collect();
    assert_eq!(got, expected);
    let twice: Vec<_> = answers.iter().filter(|(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "{twice:?}");
}

/// With `--redis`, SIGUSR1's statistics (and `--log-stats`) tell the
/// requests left in the whole crawl, not the worker's own frontier, which
/// holds only its leases ("0 left queued" while Redis held dozens).
#[test]
fn sigusr1_tells_the_crawls_queue_under_redis() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 40, Duration::from_millis(150));
    let redis = Redis::start();
    let dir = TempDir::new("usr1");
    let out = dir.path("pages.jsonl");
    let mut child = spawn(&shared(
        &site,
        &redis,
        "usr1",
        &out,
        &["--concurrency=1", "--per-host=1"],
    ));
    let pid = child.id().to_string();
    // Wait for a few pages, so the seeds' links are queued in Redis.
    let t0 = std::time::Instant::now();
    while lines(&out) < 3 {
        assert!(t0.elapsed() < LIMIT, "no pages");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = |sig: &str| {
        assert!(std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success())
    };
    kill("-USR1");
    std::thread::sleep(Duration::from_millis(500));
    kill("-KILL");
    let _ = child.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let urls = err
        .lines()
        .find(|l| l.starts_with("urls"))
        .unwrap_or_else(|| panic!("no statistics: {err}"));
    let left: u64 = urls
        .split(", ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{urls}"));
    assert!(left > 0, "{urls}");
    assert!(err.contains("solo-crawl status --redis"), "{err}");
}
