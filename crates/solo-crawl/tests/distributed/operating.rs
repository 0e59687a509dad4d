//! Operating a shared crawl: what `status` says of a finished crawl,
//! what a second `crawl --redis` with other settings is told, and each
//! worker's own logs, metrics and stats file.

use std::time::Duration;

use super::harness::{self, redis_available, run, spawn, wait, Redis, Site, TempDir};
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
    // The server's memory, for sizing (it said nothing of Redis before).
    assert!(
        first.contains("redis        ") && first.contains("MiB used (no maxmemory"),
        "{first}"
    );
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
    // The same settings (another output: each worker's own) would join
    // it; it is finished, and that is what they are told.
    let same = ["--delay=5", "--per-host=4"];
    let other = dir.path("q.jsonl");
    let (code, err) = wait(spawn(&shared(&site, &redis, "c1", &other, &same)), LIMIT);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("is already finished") && !err.contains("other settings"),
        "{err}"
    );
}

/// A first port of `n` free ones in a row on 127.0.0.1.
fn free_ports(n: u16) -> u16 {
    let bind = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p));
    loop {
        let first = bind(0).and_then(|l| l.local_addr()).expect("a port").port();
        if first.checked_add(n).is_some() && (0..n).all(|i| bind(first + i).is_ok()) {
            return first;
        }
    }
}

/// `solo_crawl_pages_total` served at 127.0.0.1:`port` (none: nothing
/// listens there).
fn pages_served(port: u16) -> Option<u64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("solo_crawl_pages_total "))?;
    line.split(' ').nth(1)?.parse().ok()
}

/// The `pages` of a stats file.
fn pages_in(stats: &std::path::Path) -> u64 {
    let text = std::fs::read(stats).unwrap_or_else(|e| panic!("{}: {e}", stats.display()));
    let v: serde_json::Value = serde_json::from_slice(&text).expect("stats JSON");
    v["pages"].as_u64().unwrap_or_else(|| panic!("{v}"))
}

/// `crawl --redis --workers 2` with a stats file, a log file and metrics:
/// worker i writes its own files numbered like its output and serves its
/// metrics on PORT+i; a `worker` started on its own takes the same
/// options. Each counts the pages its output holds, and together they
/// count the crawl. Before, `worker` refused these options and `--workers`
/// gave them to worker 0 alone, which counted its third of the crawl.
#[test]
fn every_worker_has_its_own_stats_file_log_and_metrics() {
    if !redis_available() {
        return;
    }
    let bad = run(&[
        "worker",
        "--redis=redis://127.0.0.1:1/0",
        "--crawl-id=x",
        "--workers=3",
        "--output=x.jsonl",
        "--metrics=127.0.0.1:65534",
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("--metrics 127.0.0.1:65534: worker 2"), "{err}");

    let site = Site::start(3, 100, Duration::from_millis(30));
    let redis = Redis::start();
    let dir = TempDir::new("observed");
    let port = free_ports(2);
    let (p, l, st) = (dir.path("p.jsonl"), dir.path("c.log"), dir.path("s.json"));
    let (l, st) = (l.display().to_string(), st.display().to_string());
    let metrics = format!("--metrics=127.0.0.1:{port}");
    let flags = [
        "--workers=2",
        "--per-host=2",
        "--log-level=info",
        &format!("--log-file={l}"),
        &format!("--stats-file={st}"),
        &metrics,
        "--metrics-linger=60",
    ];
    let parent = spawn(&shared(&site, &redis, "obs", &p, &flags));
    super::await_crawl(&redis, "obs");
    let (w_out, w_log, w_stats) = (dir.path("w.jsonl"), dir.path("w.log"), dir.path("w.json"));
    let mut alone = super::worker(&redis, "obs", &w_out);
    for (flag, path) in [("--log-file=", &w_log), ("--stats-file=", &w_stats)] {
        alone.push(format!("{flag}{}", path.display()));
    }
    alone.extend(
        [
            "--metrics=127.0.0.1:0",
            "--log-level=info",
            "--concurrency=2",
        ]
        .map(String::from),
    );
    let (code, err) = wait(spawn(&alone), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("these are this worker's statistics"), "{err}");
    let log = std::fs::read_to_string(&w_log).expect("the worker's log");
    assert!(
        log.contains("serving metrics at http://127.0.0.1:"),
        "{log}"
    );
    assert_eq!(pages_in(&w_stats), harness::lines(&w_out) as u64);

    // The crawl done, worker i serves its final count on PORT+i.
    let outs: Vec<_> = (0..2).map(|i| dir.path(&format!("p.{i}.jsonl"))).collect();
    let total = site.all().len() as u64;
    let deadline = std::time::Instant::now() + LIMIT;
    let served = loop {
        let served: Vec<u64> = (0..2)
            .map(|i| pages_served(port + i).unwrap_or(0))
            .collect();
        if served.iter().sum::<u64>() + pages_in(&w_stats) == total {
            break served;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{served:?} of {total}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("pages per worker: {served:?} and {}", pages_in(&w_stats));
    // Ctrl-C ends the linger with exit 0 once each worker lingers (sent
    // while a worker still said goodbye, it was an interrupted crawl: 130).
    let lingering = |i: u16| {
        std::fs::read_to_string(dir.path(&format!("c.{i}.log")))
            .is_ok_and(|l| l.contains("serving the final metrics"))
    };
    while !(lingering(0) && lingering(1)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the workers do not linger"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    harness::kill("-INT", parent.id());
    let (code, err) = wait(parent, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    for i in 0..2u16 {
        let n = |name: &str| dir.path(&name.replace('N', &i.to_string()));
        let lines = harness::lines(&outs[usize::from(i)]) as u64;
        assert_eq!(served[usize::from(i)], lines, "worker {i}'s metrics");
        assert_eq!(pages_in(&n("s.N.json")), lines, "worker {i}'s stats file");
        let log = std::fs::read_to_string(n("c.N.log")).expect("worker i's log");
        let at = format!("serving metrics at http://127.0.0.1:{}/", port + i);
        assert!(log.contains(&at), "{at} in {log}");
    }
    for unnumbered in ["s.json", "c.log", "p.jsonl"] {
        assert!(!dir.path(unnumbered).exists(), "{unnumbered}");
    }
}

/// `worker --concurrency 1` keeps one request in flight, whatever the
/// crawl's `--concurrency` and `--per-host` (its other settings are the
/// crawl's). Before, `worker` had no such option.
#[test]
fn a_worker_sets_its_own_concurrency() {
    if !redis_available() {
        return;
    }
    let site = Site::start(1, 60, Duration::from_millis(20));
    let redis = Redis::start();
    let dir = TempDir::new("conc");
    let first = dir.path("p.jsonl");
    let starter = spawn(&shared(&site, &redis, "conc", &first, &["--per-host=8"]));
    super::await_lines(std::slice::from_ref(&first), 3);
    harness::kill("-INT", starter.id());
    let (code, err) = wait(starter, LIMIT);
    assert_eq!(code, Some(130), "{err}");
    let before = site.arrivals()[0].len();
    let rest = dir.path("w.jsonl");
    let mut args = super::worker(&redis, "conc", &rest);
    args.push("--concurrency=1".into());
    let (code, err) = wait(spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    super::assert_all_pages(&site, &[first, rest]);
    let after = &site.arrivals()[0][before..];
    assert!(after.len() >= 10, "{after:?}");
    assert!(after.iter().all(|&n| n == 1), "{after:?}");
}

/// A stored crawl made gentler (as after a complaint from the site's
/// owner): `crawl --redis --force` with a lower --per-host and a --delay
/// replaces the stored settings and goes on with the crawl's queue, no
/// page fetched twice; a change of what it crawls is still refused.
/// Before, `--force` needed `--state` (exit 2) and the only way on was a
/// new --crawl-id, fetching every page again.
#[test]
fn force_replaces_the_politeness_of_a_stored_crawl() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 60, Duration::from_millis(100));
    let redis = Redis::start();
    let dir = TempDir::new("gentler");
    let (a, b) = (dir.path("a.jsonl"), dir.path("b.jsonl"));
    let first = ["--per-host=2", "--max-time=1s"];
    let (code, err) = wait(spawn(&shared(&site, &redis, "gentler", &a, &first)), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let gentler = ["--per-host=1", "--delay=20"];
    let (code, err) = wait(
        spawn(&shared(&site, &redis, "gentler", &b, &gentler)),
        LIMIT,
    );
    assert_eq!(code, Some(1), "refused without --force: {err}");
    let deeper = ["--per-host=1", "--depth=3", "--force"];
    let (code, err) = wait(spawn(&shared(&site, &redis, "gentler", &b, &deeper)), LIMIT);
    assert_eq!(code, Some(1), "what it crawls cannot change: {err}");
    assert!(err.contains("depth"), "{err}");
    let forced = ["--per-host=1", "--delay=20", "--force"];
    let (code, err) = wait(spawn(&shared(&site, &redis, "gentler", &b, &forced)), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stored settings replaced"), "{err}");
    let stored = redis.cmd(&["GET", "solo:{gentler}:settings"]);
    assert!(stored.contains("per-host = 1"), "{stored}");
    let (before, after) = (harness::lines(&a), harness::lines(&b));
    assert!(before > 0 && after > 0, "{before} then {after}");
    assert_eq!(before + after, 120, "each page once");
}
