//! The processes `--workers N` starts: their files named from the exact
//! bytes of `--output`, and how they stop together: a signal to the
//! parent alone reaches them all, and a killed parent stops them.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{kill, redis_available, run, wait, Redis, Site, TempDir, BIN};
use super::{assert_all_pages, await_lines, shared, LIMIT};

/// `--output` with a byte that is not UTF-8: each worker's file is that
/// name with its number (it was U+FFFD in place of the byte).
#[test]
fn workers_n_name_their_files_from_the_bytes_of_output() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 10, Duration::from_millis(5));
    let redis = Redis::start();
    let dir = TempDir::new("bytes");
    let mut args = shared(
        &site,
        &redis,
        "bytes",
        &dir.path("unused"),
        &["--workers=2"],
    );
    args.retain(|a| !a.starts_with("--output="));
    let child = Command::new(BIN)
        .args(&args)
        .arg("--output")
        .arg(dir.0.join(OsStr::from_bytes(b"\xffw.jsonl")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (code, err) = wait(child, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let outs: Vec<_> = (0..2)
        .map(|i| {
            dir.0.join(OsStr::from_bytes(
                &[b"\xffw.", i.to_string().as_bytes(), b".jsonl"].concat(),
            ))
        })
        .collect();
    assert!(
        outs.iter().all(|o| o.exists()),
        "{:?}",
        std::fs::read_dir(&dir.0).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    assert_all_pages(&site, &outs);
}

/// The pids whose parent is `parent`, waiting until there are `n`.
fn children_of(parent: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let kids: Vec<u32> = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| stat(pid).is_some_and(|(_, ppid)| ppid == parent))
            .collect();
        if kids.len() >= n {
            return kids;
        }
        assert!(Instant::now() < deadline, "{n} workers never started");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The state letter and parent pid of `pid` (none: gone).
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.next()?.parse().ok()?))
}

/// Whether `pid` runs (a zombie nobody reaped has exited).
fn running(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Worker processes of crawl `id`, killed when dropped if still running
/// (a failed test leaves no crawler behind).
struct Workers {
    pids: Vec<u32>,
    id: &'static str,
}

impl Workers {
    /// Waits until none runs, at most `limit`; those still running.
    fn wait_exit(&self, limit: Duration) -> Vec<u32> {
        let deadline = Instant::now() + limit;
        loop {
            let left: Vec<u32> = self.pids.iter().copied().filter(|&p| running(p)).collect();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for &pid in &self.pids {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline).contains(self.id);
            if running(pid) && ours {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// `crawl --workers 3` of a site that takes minutes, running: the
/// parent, its two children, and the three outputs.
fn three_workers_crawling(
    site: &Site,
    redis: &Redis,
    dir: &TempDir,
    id: &'static str,
) -> (std::process::Child, Workers) {
    let out = dir.path("pages.jsonl");
    // Leases of a vanished worker would come back only after 60 s.
    let flags = ["--workers=3", "--per-host=2", "--lease-timeout=60"];
    // Stderr to a file: the children hold it too, and waiting for the
    // parent must not wait for them.
    let err = std::fs::File::create(dir.path("stderr.txt")).expect("stderr file");
    let parent = Command::new(BIN)
        .args(shared(site, redis, id, &out, &flags))
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("the binary runs");
    let outs: Vec<_> = (0..3)
        .map(|i| dir.path(&format!("pages.{i}.jsonl")))
        .collect();
    await_lines(&outs, 6);
    let kids = Workers {
        pids: children_of(parent.id(), 2),
        id,
    };
    (parent, kids)
}

/// SIGINT or SIGTERM to the parent alone (as `kill PID` or a supervisor
/// sends it): every worker stops gracefully within seconds and gives its
/// leases back. Before, SIGTERM killed the parent and its children
/// crawled on to the end; after SIGINT the parent waited for that end.
fn a_signal_to_the_parent_stops_every_worker(sig: &str, id: &'static str) {
    if !redis_available() {
        return;
    }
    // 3 hosts of 1000 pages, 200 ms each, 2 at once: ~100 s to crawl.
    let site = Site::start(3, 1000, Duration::from_millis(200));
    let redis = Redis::start();
    let dir = TempDir::new(id);
    let (parent, kids) = three_workers_crawling(&site, &redis, &dir, id);
    kill(sig, parent.id());
    let (code, _) = wait(parent, Duration::from_secs(60));
    let err = std::fs::read_to_string(dir.path("stderr.txt")).unwrap_or_default();
    assert_eq!(code, Some(130), "the parent stops gracefully: {err}");
    let left = kids.wait_exit(Duration::from_secs(30));
    assert!(left.is_empty(), "workers still running: {left:?}; {err}");
    // The workers are told what the parent was (they said "Ctrl-C" for
    // a SIGTERM, before).
    let err = std::fs::read_to_string(dir.path("stderr.txt")).unwrap_or_default();
    let told = if sig == "-TERM" {
        "SIGTERM:"
    } else {
        "Ctrl-C:"
    };
    let other = if sig == "-TERM" {
        "Ctrl-C:"
    } else {
        "SIGTERM:"
    };
    assert!(err.matches(told).count() >= 2, "{err}");
    assert!(!err.contains(other), "{err}");
    let status = run(&["status", "--redis", &redis.url(), "--crawl-id", id]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("state        running"),
        "stopped early: {text}"
    );
    assert!(
        text.contains("in flight    0\n"),
        "leases given back: {text}"
    );
    let reclaimed = redis.cmd(&["HGET", &format!("solo:{{{id}}}:stats"), "reclaimed_workers"]);
    assert_eq!(reclaimed, "", "released, not reclaimed after expiry");
}

#[test]
fn sigterm_to_the_parent_stops_every_worker_and_gives_the_leases_back() {
    a_signal_to_the_parent_stops_every_worker("-TERM", "term");
}

#[test]
fn sigint_to_the_parent_stops_every_worker_and_gives_the_leases_back() {
    a_signal_to_the_parent_stops_every_worker("-INT", "int");
}

/// The parent killed by SIGKILL (it can pass nothing on): its children
/// see their stdin close and stop gracefully within seconds. Before, they
/// crawled on to the end.
#[test]
fn workers_stop_when_their_parent_is_killed() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 1000, Duration::from_millis(200));
    let redis = Redis::start();
    let dir = TempDir::new("orphans");
    let (parent, kids) = three_workers_crawling(&site, &redis, &dir, "orphans");
    kill("-KILL", parent.id());
    let (code, _) = wait(parent, Duration::from_secs(60));
    assert_eq!(code, None, "killed");
    let left = kids.wait_exit(Duration::from_secs(30));
    assert!(left.is_empty(), "workers still running: {left:?}");
    // Their leases given back: only the parent's may be held (till they
    // expire). Live workers are listed as host:pid:tag.
    let status = run(&["status", "--redis", &redis.url(), "--crawl-id", "orphans"]);
    let text = String::from_utf8_lossy(&status.stdout);
    for pid in &kids.pids {
        assert!(!text.contains(&format!(":{pid}:")), "{pid} left: {text}");
    }
}

/// `--max-time` with `--workers 3`: each worker stops on its own limit,
/// and the command exits 0 as one process does. Before, the parent
/// passed its own limit's stop on as a Ctrl-C: the children said
/// "Ctrl-C" nobody pressed, those already stopping took it as a second
/// one ("exiting now"), and the command exited 1.
#[test]
fn max_time_with_workers_exits_0_and_plays_no_ctrl_c() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 1000, Duration::from_millis(50));
    let redis = Redis::start();
    let dir = TempDir::new("maxtime");
    for id in ["maxtime1", "maxtime2"] {
        let out = dir.path(&format!("{id}.jsonl"));
        let flags = ["--workers=3", "--per-host=4", "--max-time=1s"];
        let (code, err) = wait(
            super::harness::spawn(&shared(&site, &redis, id, &out, &flags)),
            LIMIT,
        );
        assert_eq!(code, Some(0), "{err}");
        assert!(!err.contains("Ctrl-C"), "{err}");
        assert!(!err.contains("exiting now"), "{err}");
    }
}

/// One SIGTERM to every process at once, as systemd's default
/// `KillMode=control-group` sends on `systemctl stop`: each worker stops
/// gracefully and gives its leases back. Before, each child took the
/// SIGTERM its parent passed on as a second one and quit at once,
/// leaving its leases out for --lease-timeout.
#[test]
fn one_sigterm_to_every_process_stops_them_all_gracefully() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 1000, Duration::from_millis(200));
    let redis = Redis::start();
    let dir = TempDir::new("cgroup");
    let (parent, kids) = three_workers_crawling(&site, &redis, &dir, "cgroup");
    let mut all: Vec<String> = vec!["-TERM".into(), parent.id().to_string()];
    all.extend(kids.pids.iter().map(u32::to_string));
    assert!(Command::new("kill")
        .args(&all)
        .status()
        .expect("kill")
        .success());
    let (code, _) = wait(parent, Duration::from_secs(60));
    let left = kids.wait_exit(Duration::from_secs(30));
    let err = std::fs::read_to_string(dir.path("stderr.txt")).unwrap_or_default();
    assert_eq!(code, Some(130), "{err}");
    assert!(left.is_empty(), "workers still running: {left:?}; {err}");
    assert!(!err.contains("exiting now"), "{err}");
    let status = run(&["status", "--redis", &redis.url(), "--crawl-id", "cgroup"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("in flight    0\n"),
        "leases given back: {text}"
    );
}

/// A child worker killed (as the out-of-memory killer does): the command
/// exits 1 and says which worker died, and how. Before, it said nothing.
#[test]
fn a_child_worker_that_dies_is_named() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 100, Duration::from_millis(50));
    let redis = Redis::start();
    let dir = TempDir::new("dies");
    let out = dir.path("pages.jsonl");
    let flags = ["--workers=3", "--per-host=2", "--lease-timeout=2"];
    let err = std::fs::File::create(dir.path("stderr.txt")).expect("stderr file");
    let parent = Command::new(BIN)
        .args(shared(&site, &redis, "dies", &out, &flags))
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("the binary runs");
    let kids = Workers {
        pids: children_of(parent.id(), 2),
        id: "dies",
    };
    kill("-KILL", kids.pids[0]);
    let (code, _) = wait(parent, LIMIT);
    let err = std::fs::read_to_string(dir.path("stderr.txt")).unwrap_or_default();
    assert_eq!(code, Some(1), "{err}");
    let said = format!("(pid {}) was killed by SIGKILL (signal 9)", kids.pids[0]);
    let line = err.lines().find(|l| l.contains(&said));
    assert!(
        line.is_some_and(|l| l.starts_with("solo-crawl: worker ")),
        "{err}"
    );
    assert_eq!(err.matches("was killed by").count(), 1, "{err}");
}

/// The merge of CSV outputs that docs/distributed.md and the README
/// give, run on the files of `--workers 3`: one header row, then each
/// page once. Before, the docs said "concatenate them", which put a
/// header row of each worker in the middle of the merged file.
#[test]
fn the_documented_csv_merge_keeps_one_header_row() {
    if !redis_available() {
        return;
    }
    let doc = include_str!("../../../../docs/distributed.md");
    let readme = include_str!("../../../../README.md");
    let start = doc
        .find("{ head -n 1 pages.0.csv")
        .expect("a CSV merge in the docs");
    let len = doc[start..].find("> pages.csv").expect("its output") + "> pages.csv".len();
    let merge = &doc[start..start + len];
    assert!(readme.contains(merge), "the README gives another: {merge}");
    let site = Site::start(2, 20, Duration::from_millis(5));
    let redis = Redis::start();
    let dir = TempDir::new("csvmerge");
    let args = shared(
        &site,
        &redis,
        "csvmerge",
        &dir.path("pages.csv"),
        &["--workers=3"],
    );
    let (code, err) = wait(super::harness::spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let ran = Command::new("sh")
        .args(["-c", merge])
        .current_dir(&dir.0)
        .status()
        .expect("sh runs");
    assert!(ran.success(), "{merge}");
    let merged = std::fs::read_to_string(dir.path("pages.csv")).expect("merged");
    let mut rows = merged.lines();
    let header = rows.next().expect("a header row");
    assert!(header.starts_with("url,"), "{header}");
    let rows: Vec<&str> = rows.collect();
    assert!(
        !rows.contains(&header),
        "a header row in the middle: {merged}"
    );
    assert_eq!(rows.len(), site.all().len(), "{merged}");
}

/// A child worker killed while the others crawl on: the first process
/// names it at once, not when its own crawl is over (hours later, in a
/// long crawl).
#[test]
fn a_dying_child_worker_is_named_at_once() {
    if !redis_available() {
        return;
    }
    let site = Site::start(3, 1000, Duration::from_millis(200));
    let redis = Redis::start();
    let dir = TempDir::new("diesnow");
    let (mut parent, kids) = three_workers_crawling(&site, &redis, &dir, "diesnow");
    kill("-KILL", kids.pids[1]);
    let said = format!("(pid {}) was killed by SIGKILL", kids.pids[1]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        let err = std::fs::read_to_string(dir.path("stderr.txt")).unwrap_or_default();
        if err.contains(&said) || Instant::now() > deadline {
            break err;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let running = parent.try_wait().expect("the parent").is_none();
    kill("-TERM", parent.id());
    let (code, _) = wait(parent, Duration::from_secs(60));
    assert!(err.contains(&said), "{err}");
    assert!(running, "said before the crawl ended");
    assert_eq!(code, Some(130));
    assert!(kids.wait_exit(Duration::from_secs(30)).is_empty());
}
