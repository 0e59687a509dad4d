//! Fixtures of the distributed tests: a `redis-server` of the test's own
//! (random port, temp dir, stopped at the end), a site of several hosts
//! (one port each) that counts concurrent page requests per host, and
//! `solo-crawl` processes.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_solo-crawl");

/// A free port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A directory of the test's own, removed at the end.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "solo-dist-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `redis-server` can run here. Without it the tests say
/// "SKIPPED" and pass, except in CI (`CI=true`), where they fail:
/// `.ci/run` installs it.
pub fn redis_available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let msg = "redis-server not found: install the Debian package redis-server \
                   (apt-get install -y redis-server; .ci/run does) to run the distributed tests";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// A `redis-server` on a random port, killed when dropped.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    extra: Vec<String>,
}

impl Redis {
    /// No persistence.
    pub fn start() -> Redis {
        Redis::start_with(&["--save", "", "--appendonly", "no"])
    }

    pub fn start_with(extra: &[&str]) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: TempDir::new("redis"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        r.launch();
        r
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir.0)
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (install the Debian package redis-server; .ci/run does)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"PING\r\n");
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf) {
                    if buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH") {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops it the way a restart does (SIGTERM: it writes its AOF).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// Freezes it (SIGSTOP: a hung server, its connections open) or
    /// thaws it (`false`: SIGCONT).
    pub fn freeze(&self, frozen: bool) {
        if let Some(c) = &self.child {
            let sig = if frozen { "-STOP" } else { "-CONT" };
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    /// Kills it the way a crash does (SIGKILL: nothing written).
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it after [`crash`](Redis::crash) or [`stop`](Redis::stop)
    /// on the same port and directory (it loads what it saved there).
    pub fn start_again(&mut self) {
        self.launch();
    }

    /// The keys matching `pattern` (`KEYS`: a test's small Redis).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("redis");
        let req = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
        s.write_all(req.as_bytes()).expect("write");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).expect("reply");
        let n: usize = line
            .trim()
            .trim_start_matches('*')
            .parse()
            .expect("an array");
        (0..n)
            .map(|_| {
                line.clear();
                r.read_line(&mut line).expect("length");
                let len: usize = line.trim().trim_start_matches('$').parse().expect("bulk");
                let mut buf = vec![0u8; len + 2];
                r.read_exact(&mut buf).expect("bulk");
                String::from_utf8_lossy(&buf[..len]).into_owned()
            })
            .collect()
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// A command's reply line(s), through redis-cli-free RESP.
    pub fn cmd(&self, args: &[&str]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("redis");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).expect("write");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).expect("reply");
        if let Some(n) = line.strip_prefix('$') {
            let n: i64 = n.trim().parse().unwrap_or(-1);
            if n < 0 {
                return String::new();
            }
            let mut buf = vec![0u8; n as usize + 2];
            r.read_exact(&mut buf).expect("bulk");
            return String::from_utf8_lossy(&buf[..n as usize]).into_owned();
        }
        line.trim().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A Redis Cluster of three masters on random ports (the 16384 slots
/// split in three), each node killed when dropped.
pub struct Cluster {
    pub nodes: Vec<Redis>,
}

impl Cluster {
    pub fn start() -> Cluster {
        // Each node's bus port set apart: port + 10000 may not exist.
        let bus: Vec<String> = (0..3).map(|_| free_port().to_string()).collect();
        let nodes: Vec<Redis> = bus
            .iter()
            .map(|bus| {
                Redis::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    bus,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
            })
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            let (lo, hi) = (i * 16384 / 3, (i + 1) * 16384 / 3 - 1);
            let r = n.cmd(&["CLUSTER", "ADDSLOTSRANGE", &lo.to_string(), &hi.to_string()]);
            assert_eq!(r, "+OK", "slots {lo}-{hi}");
        }
        for (n, bus) in nodes.iter().zip(&bus).skip(1) {
            let port = n.port.to_string();
            let r = nodes[0].cmd(&["CLUSTER", "MEET", "127.0.0.1", &port, bus]);
            assert_eq!(r, "+OK", "meet");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !nodes
            .iter()
            .all(|n| n.cmd(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster never formed");
            thread::sleep(Duration::from_millis(50));
        }
        Cluster { nodes }
    }

    /// Whether `node` serves the keys of crawl `id` (the others answer
    /// `MOVED`).
    pub fn serves(node: &Redis, id: &str) -> bool {
        !node
            .cmd(&["EXISTS", &format!("solo:{{{id}}}:settings")])
            .starts_with("-MOVED")
    }
}

/// What one host of a [`Site`] counts.
#[derive(Default)]
struct Counters {
    /// Page requests in flight now, and the most at once.
    now: AtomicUsize,
    max: AtomicUsize,
    robots: AtomicUsize,
    /// Requests in flight now, robots.txt included, and the most at once.
    any_now: AtomicUsize,
    any_max: AtomicUsize,
    /// Page requests in flight (this one included) when each page
    /// request came, in order.
    arrivals: Mutex<Vec<usize>>,
    /// When each page request came, in order.
    times: Mutex<Vec<Instant>>,
    /// Page requests so far.
    seq: AtomicUsize,
}

/// Hosts (one port each) of `pages` pages: page i links to pages 2i+1 and
/// 2i+2 of its host and to page i of the next host. Every page answers
/// after `delay`; each host counts its page requests in flight.
pub struct Site {
    pub ports: Vec<u16>,
    pub pages: usize,
    counters: Vec<Arc<Counters>>,
    stop: Arc<AtomicBool>,
}

impl Site {
    pub fn start(hosts: usize, pages: usize, delay: Duration) -> Site {
        Site::start_with(hosts, pages, delay, None)
    }

    /// With `outage` = (first, n): a host answers its page requests
    /// number first..first+n (counted from 0) with a 503, after `delay`,
    /// like a server that sheds load for a while.
    pub fn start_with(
        hosts: usize,
        pages: usize,
        delay: Duration,
        outage: Option<(usize, usize)>,
    ) -> Site {
        Site::start_shaped(hosts, pages, delay, outage, None, false, None)
    }

    /// Every host's robots.txt answers 503 (a server error, every time).
    pub fn start_robots_down(hosts: usize, pages: usize, delay: Duration) -> Site {
        Site::start_shaped(hosts, pages, delay, None, None, true, None)
    }

    /// With the first host's robots.txt asking for `Crawl-delay:
    /// crawl_delay` (the others have none).
    pub fn start_crawl_delayed(
        hosts: usize,
        pages: usize,
        delay: Duration,
        crawl_delay: &'static str,
    ) -> Site {
        Site::start_shaped(hosts, pages, delay, None, Some(crawl_delay), false, None)
    }

    /// Every host's robots.txt (a 404) answers after `robots_delay`.
    pub fn start_robots_slow(
        hosts: usize,
        pages: usize,
        delay: Duration,
        robots_delay: Duration,
    ) -> Site {
        Site::start_shaped(hosts, pages, delay, None, None, false, Some(robots_delay))
    }

    fn start_shaped(
        hosts: usize,
        pages: usize,
        delay: Duration,
        outage: Option<(usize, usize)>,
        crawl_delay: Option<&'static str>,
        robots_down: bool,
        robots_delay: Option<Duration>,
    ) -> Site {
        let listeners: Vec<TcpListener> = (0..hosts)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let mut counters = Vec::new();
        for (h, l) in listeners.into_iter().enumerate() {
            let next = ports[(h + 1) % hosts];
            let c = Arc::new(Counters::default());
            counters.push(c.clone());
            let stop = stop.clone();
            let shape = Shape {
                next,
                pages,
                delay,
                outage,
                crawl_delay: if h == 0 { crawl_delay } else { None },
                robots_down,
                robots_delay,
            };
            thread::spawn(move || {
                for conn in l.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let c = c.clone();
                    thread::spawn(move || serve(conn, shape, &c));
                }
            });
        }
        Site {
            ports,
            pages,
            counters,
            stop,
        }
    }

    /// The start URLs: page 0 of every host.
    pub fn seeds(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}/p/0"))
            .collect()
    }

    /// Every page URL.
    pub fn all(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for p in &self.ports {
            for i in 0..self.pages {
                s.insert(format!("http://127.0.0.1:{p}/p/{i}"));
            }
        }
        s
    }

    /// robots.txt requests per host so far.
    pub fn robots_fetches(&self) -> Vec<usize> {
        self.counters
            .iter()
            .map(|c| c.robots.load(Ordering::SeqCst))
            .collect()
    }

    /// The most page requests one host had in flight at once.
    pub fn max_in_flight(&self) -> Vec<usize> {
        self.counters
            .iter()
            .map(|c| c.max.load(Ordering::SeqCst))
            .collect()
    }

    /// The most requests one host had in flight at once, robots.txt
    /// included.
    pub fn max_any_in_flight(&self) -> Vec<usize> {
        self.counters
            .iter()
            .map(|c| c.any_max.load(Ordering::SeqCst))
            .collect()
    }

    /// Per host: the page requests in flight when each came (itself
    /// included), in order.
    /// When each page request came, per host, in order.
    pub fn arrival_times(&self) -> Vec<Vec<Instant>> {
        self.counters
            .iter()
            .map(|c| c.times.lock().expect("times").clone())
            .collect()
    }

    pub fn arrivals(&self) -> Vec<Vec<usize>> {
        self.counters
            .iter()
            .map(|c| c.arrivals.lock().expect("arrivals").clone())
            .collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for p in &self.ports {
            let _ = TcpStream::connect(("127.0.0.1", *p));
        }
    }
}

/// How a host of a [`Site`] answers.
#[derive(Clone, Copy)]
struct Shape {
    /// The port of the next host (its pages link there).
    next: u16,
    pages: usize,
    delay: Duration,
    outage: Option<(usize, usize)>,
    /// robots.txt's `Crawl-delay` (none: robots.txt is a 404).
    crawl_delay: Option<&'static str>,
    /// robots.txt answers 503.
    robots_down: bool,
    /// robots.txt answers after this (none: after `delay`).
    robots_delay: Option<Duration>,
}

fn serve(conn: TcpStream, shape: Shape, c: &Counters) {
    let Shape {
        next,
        pages,
        delay,
        outage,
        crawl_delay,
        robots_down,
        robots_delay,
    } = shape;
    let mut w = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(conn);
    loop {
        let mut first = String::new();
        if r.read_line(&mut first).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
        }
        let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
        if path == "/robots.txt" {
            c.robots.fetch_add(1, Ordering::SeqCst);
            // As slow as a page: a robots.txt fetch overlapping a page
            // request shows.
            let n = c.any_now.fetch_add(1, Ordering::SeqCst) + 1;
            c.any_max.fetch_max(n, Ordering::SeqCst);
            thread::sleep(robots_delay.unwrap_or(delay));
            c.any_now.fetch_sub(1, Ordering::SeqCst);
            if robots_down {
                let resp = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\ndown";
                if w.write_all(resp.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            if let Some(d) = crawl_delay {
                let body = format!("User-agent: *\nCrawl-delay: {d}\n");
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if w.write_all(resp.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
        }
        let page = path
            .strip_prefix("/p/")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n < pages);
        let (status, body) = match page {
            Some(i) => {
                let n = c.now.fetch_add(1, Ordering::SeqCst) + 1;
                c.max.fetch_max(n, Ordering::SeqCst);
                let any = c.any_now.fetch_add(1, Ordering::SeqCst) + 1;
                c.any_max.fetch_max(any, Ordering::SeqCst);
                c.arrivals.lock().expect("arrivals").push(n);
                c.times.lock().expect("times").push(Instant::now());
                let seq = c.seq.fetch_add(1, Ordering::SeqCst);
                if outage.is_some_and(|(first, n)| (first..first + n).contains(&seq)) {
                    thread::sleep(delay);
                    c.now.fetch_sub(1, Ordering::SeqCst);
                    c.any_now.fetch_sub(1, Ordering::SeqCst);
                    let resp = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy";
                    if w.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                    continue;
                }
                thread::sleep(delay);
                c.now.fetch_sub(1, Ordering::SeqCst);
                c.any_now.fetch_sub(1, Ordering::SeqCst);
                let mut links = String::new();
                for c in [2 * i + 1, 2 * i + 2] {
                    if c < pages {
                        links.push_str(&format!("<a href=\"/p/{c}\">p{c}</a>\n"));
                    }
                }
                links.push_str(&format!(
                    "<a href=\"http://127.0.0.1:{next}/p/{i}\">x</a>\n"
                ));
                (
                    "200 OK",
                    format!("<html><head><title>p{i}</title></head><body>{links}</body></html>"),
                )
            }
            None => ("404 Not Found", "no".to_owned()),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// The flags of a crawl of `site` (scope: every host).
pub fn crawl_flags(site: &Site) -> Vec<String> {
    let mut v: Vec<String> = site.seeds();
    v.extend([
        "--allow-domain=127.0.0.1".to_owned(),
        "--timeout=20".to_owned(),
    ]);
    v
}

/// Sends `sig` (`-INT`, `-TERM`, ...) to the process `pid`.
pub fn kill(sig: &str, pid: u32) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

/// Starts `solo-crawl ARGS`.
pub fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Waits for `child` at most `limit` (killed then); its status and stderr.
pub fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    let mut err = child.stderr.take();
    let reader = thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    (code, reader.join().unwrap_or_default())
}

/// Runs `solo-crawl ARGS` to its end.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The `url`s of the JSON Lines records in `path` (none if absent).
pub fn urls(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("url")?.as_str().map(str::to_owned))
        .collect()
}

/// Lines in `path` so far.
pub fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}
