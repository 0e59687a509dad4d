//! Operating a crawl with the `solo-crawl` binary: a config file, the
//! settings kept with `--state`, logs, live metrics and the stats file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use solo_crawl::demo_site::DemoSite;

fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_solo-crawl"));
    c.args(args).env_remove("RUST_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("solo-crawl-ops-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_config_file_is_honoured_and_a_flag_overrides_it() {
    let site = DemoSite::start(200).unwrap();
    let dir = tmp("config");
    let conf = write(
        &dir.join("crawl.toml"),
        &format!(
            "urls = [\"{}\"]\nmax-pages = 5\nper-host = 2\nformat = \"csv\"\n",
            site.url()
        ),
    );
    let o = run(&["crawl", "--config", &conf]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // CSV: a header and 5 rows.
    assert_eq!(stdout(&o).lines().count(), 6, "{}", stdout(&o));

    let o = run(&[
        "crawl",
        "--config",
        &conf,
        "--max-pages",
        "3",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<_> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with('{'), "{}", lines[0]);

    let o = run(&["config", "--print", "--config", &conf, "--max-pages", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed = stdout(&o);
    assert!(printed.contains("max-pages = 3\n"), "{printed}");
    assert!(printed.contains("per-host = 2\n"), "{printed}");
    assert!(printed.contains("format = \"csv\"\n"), "{printed}");
    // What is printed is a config file that says the same.
    let again = write(&dir.join("printed.toml"), &printed);
    let o = run(&["config", "--print", "--config", &again]);
    assert_eq!(stdout(&o), printed);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_config_file_is_a_clear_error_naming_file_and_key() {
    let dir = tmp("badconf");
    let cases = [
        ("max-page = 5\n", "unknown key \"max-page\""),
        ("depth = \"deep\"\n", "key \"depth\": invalid value 'deep'"),
        ("concurrency = 0\n", "key \"concurrency\""),
        (
            "cookies = \"yes\"\n",
            "key \"cookies\": expected true or false",
        ),
        ("allow = [[1]]\n", "key \"allow\""),
        ("depth = \n", "not valid TOML"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let conf = write(&dir.join(format!("c{i}.toml")), text);
        let o = run(&["crawl", "http://127.0.0.1:1/", "--config", &conf]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(&conf), "{text}: {err}");
        assert!(err.contains(needle), "{text}: wanted {needle:?} in {err}");
    }
    let o = run(&[
        "crawl",
        "--config",
        "/no/such/file.toml",
        "http://127.0.0.1:1/",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.toml"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resuming_with_settings_that_change_the_crawl_is_refused_unless_forced() {
    let site = DemoSite::start(100).unwrap();
    let url = site.url().to_string();
    let dir = tmp("resume");
    let state = dir.join("state");
    let state = state.to_str().unwrap();
    let crawl = |extra: &[&str]| {
        let mut args = vec!["crawl", &url, "--state", state, "--output", "/dev/null"];
        args.extend(extra);
        run(&args)
    };
    let o = crawl(&["--depth", "1", "--deny", "/private/", "--log-level", "info"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("crawl starting"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("resuming"), "{}", stderr(&o));

    let o = crawl(&["--depth", "2", "--ignore-robots", "--deny", "/private/"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("depth: 1 (stored) -> 2 (now)"), "{err}");
    assert!(
        err.contains("ignore-robots: false (stored) -> true (now)"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(
        !err.contains("deny"),
        "unchanged settings are not listed: {err}"
    );

    // A config file that drops a stored pattern is a difference too.
    let conf = write(&dir.join("c.toml"), "depth = 1\n");
    let o = crawl(&["--config", &conf]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("deny: [\"/private/\"] (stored) -> [] (now)"),
        "{}",
        stderr(&o)
    );

    // Harmless ones may change.
    let o = crawl(&[
        "--depth",
        "1",
        "--deny",
        "/private/",
        "--concurrency",
        "3",
        "--timeout",
        "9",
        "--log-level",
        "info",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let resumed = format!("resuming the crawl kept in the state directory state={state}");
    assert!(stderr(&o).contains(&resumed), "{}", stderr(&o));

    // --force resumes, and the new settings are kept from then on.
    let o = crawl(&["--depth", "2", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = crawl(&["--depth", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = crawl(&["--depth", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The log lines in `text` (the summary and messages are not).
fn log_lines(text: &str) -> Vec<&str> {
    const LEVELS: [&str; 5] = [" ERROR ", "  WARN ", "  INFO ", " DEBUG ", " TRACE "];
    text.lines()
        .filter(|l| LEVELS.iter().any(|lv| l.contains(lv)))
        .collect()
}

fn has_level(lines: &[&str], level: &str) -> bool {
    lines.iter().any(|l| l.contains(&format!(" {level} ")))
}

#[test]
fn log_levels_choose_what_is_logged_and_records_stay_clean() {
    let site = DemoSite::start(30).unwrap();
    let url = site.url().to_string();
    let crawl = |level: &str| {
        let o = run(&["crawl", &url, "--log-level", level]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // The records on stdout are records only.
        for line in stdout(&o).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect(line);
            assert!(v.get("url").is_some() && v.get("level").is_none(), "{line}");
        }
        stderr(&o)
    };
    for quiet in ["error", "warn"] {
        let err = crawl(quiet);
        assert!(log_lines(&err).is_empty(), "{quiet}: {err}");
        assert!(err.contains("pages"), "the summary still comes: {err}");
    }
    let err = crawl("info");
    let lines = log_lines(&err);
    assert!(
        has_level(&lines, "INFO") && !has_level(&lines, "DEBUG"),
        "{err}"
    );
    // The demo site has a robots.txt, and /error/N pages that answer 500.
    for needle in [
        "crawl starting",
        "robots.txt: obeying its rules host=\"127.0.0.1\"",
        "retrying: HTTP 500",
        "giving up after 3 attempts: HTTP 500",
        "crawl finished",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    let err = crawl("debug");
    let lines = log_lines(&err);
    assert!(
        has_level(&lines, "DEBUG") && !has_level(&lines, "TRACE"),
        "{err}"
    );
    // A request line and a response line per page, in the request's span;
    // solo-http's own lines too.
    let page = format!("request{{url={url} host=\"127.0.0.1\" depth=0 attempt=1}}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&page) && l.contains("request method=GET")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&page) && l.contains("response status=200")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("solo_http") && l.contains("response head")),
        "{err}"
    );
    let err = crawl("trace");
    assert!(has_level(&log_lines(&err), "TRACE"), "{err}");
}

#[test]
fn json_logs_go_to_the_log_file_one_object_a_line_with_the_request_fields() {
    let site = DemoSite::start(30).unwrap();
    let url = site.url().to_string();
    let dir = tmp("jsonlog");
    let log = dir.join("crawl.log");
    let log_s = log.to_str().unwrap();
    let args = [
        "crawl",
        &url,
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--log-file",
        log_s,
    ];
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(log_lines(&stderr(&o)).is_empty(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("\"level\""), "{}", stderr(&o));
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(events.len() > 30, "{text}");
    for e in &events {
        assert!(e["timestamp"].is_string() && e["level"].is_string(), "{e}");
        assert!(e["fields"]["message"].is_string(), "{e}");
    }
    let response = events
        .iter()
        .find(|e| e["fields"]["message"] == "response" && e["span"]["url"] == url.as_str())
        .unwrap_or_else(|| panic!("a response event for {url} in {text}"));
    assert_eq!(response["level"], "DEBUG");
    assert_eq!(response["fields"]["status"], 200);
    assert_eq!(response["span"]["host"], "127.0.0.1");
    assert_eq!(response["span"]["depth"], 0);
    assert_eq!(response["span"]["attempt"], 1);
    // Appended to, never cut.
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = std::fs::read_to_string(&log).unwrap();
    assert!(again.starts_with(&text) && again.len() > text.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--quiet` (`-q`): no summary on stderr (cron mails what a command
/// prints), while the log file and the stats file still get it, and a
/// failure is still said.
#[test]
fn quiet_leaves_the_summary_off_stderr_but_not_out_of_the_files() {
    let site = DemoSite::start(30).unwrap();
    let url = site.url().to_string();
    let missing = site.url().join("/no-such-page").unwrap().to_string();
    let dir = tmp("quiet");
    let (log, stats) = (dir.join("crawl.log"), dir.join("stats.json"));
    let o = run(&[
        "crawl",
        &url,
        "--quiet",
        "--output",
        "/dev/null",
        "--log-file",
        log.to_str().unwrap(),
        "--stats-file",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "nothing for cron to mail");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("pages "), "the summary in the log: {text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert!(v["pages"].as_u64().unwrap() > 0, "{v}");
    // What went wrong is still said.
    let o = run(&["crawl", &missing, "-q", "--output", "/dev/null"]);
    assert!(
        stderr(&o).contains("solo-crawl: start URL failed: "),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("pages "), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With `--log-file`, the program's own messages (a start URL that
/// failed, no start URL that could be fetched) and the summary reach the
/// log file too, as log lines in its format, whatever the level; stderr
/// keeps them as text (the file got none of them: a crawl under systemd
/// or nohup left no trace of its failure in its log).
#[test]
fn the_log_file_gets_the_programs_messages_and_the_summary() {
    let site = DemoSite::start(30).unwrap();
    let url = site.url().to_string();
    let missing = site.url().join("/no-such-page").unwrap().to_string();
    let dir = tmp("logmsg");
    let log = dir.join("crawl.log");
    let log_s = log.to_str().unwrap();
    let o = run(&[
        "crawl",
        &url,
        &missing,
        "--log-format",
        "json",
        "--log-file",
        log_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("solo-crawl: start URL failed: "), "{err}");
    assert!(err.starts_with("pages "), "the summary as text: {err}");
    assert!(!err.contains("\"level\""), "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let said = |level: &str, start: &str| {
        events.iter().any(|e| {
            e["level"] == level
                && e["timestamp"].is_string()
                && e["fields"]["message"].as_str().unwrap().starts_with(start)
        })
    };
    assert!(said("WARN", "solo-crawl: start URL failed: "), "{text}");
    assert!(said("INFO", "pages "), "the summary: {text}");

    // Text logs; every start URL fails (exit 1), at --log-level error.
    let log = dir.join("crawl2.log");
    let o = run(&[
        "crawl",
        "http://127.0.0.1:1/",
        "--retries",
        "0",
        "--log-level",
        "error",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with("solo-crawl: no start URL could be fetched"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("  WARN solo_crawl: solo-crawl: "), "{line}");
    assert!(
        text.lines().any(|l| l.contains(" INFO solo_crawl: pages ")),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// JSON logs on stderr: stderr stays one JSON object a line, the
/// program's own messages and the summary included (the summary's plain
/// text lines came between the JSON lines, which a log shipper cannot
/// read).
#[test]
fn json_logs_on_stderr_keep_every_line_json_the_summary_too() {
    let site = DemoSite::start(30).unwrap();
    let url = site.url().to_string();
    let o = run(&[
        "crawl",
        &url,
        "--log-level",
        "info",
        "--log-format",
        "json",
        "--output",
        "/dev/null",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = events
        .iter()
        .find(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("pages/s"))
        })
        .unwrap_or_else(|| panic!("no summary in {err}"));
    assert_eq!(summary["level"], "INFO");
    assert!(
        summary["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{summary}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "crawl finished"),
        "{err}"
    );
    // A message before the logs start (a list that cannot be read) too.
    let o = run(&[
        "crawl",
        "-i",
        "/nonexistent/urls.txt",
        "--log-format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let line: serde_json::Value =
        serde_json::from_str(stderr(&o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let message = line["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("--urls-file"), "{line}");
    // And a command line the parser refuses (it was clap's plain text).
    let o = run(&["crawl", &url, "--log-format=json", "--max-pagez", "3"]);
    assert_eq!(o.status.code(), Some(2));
    let line: serde_json::Value =
        serde_json::from_str(stderr(&o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let message = line["fields"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("--max-pagez") && message.contains("Usage:"),
        "{line}"
    );
}

#[test]
fn rust_log_overrides_the_log_level() {
    let site = DemoSite::start(10).unwrap();
    let url = site.url().to_string();
    let o = run_env(
        &["crawl", &url, "--log-level", "error"],
        &[("RUST_LOG", "solo_http=debug")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines = log_lines(&err);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("solo_http") && l.contains("response head")),
        "{err}"
    );
    assert!(!lines.iter().any(|l| l.contains("solo_crawl")), "{err}");

    let o = run_env(&["crawl", &url], &[("RUST_LOG", "solo_crawl=loud")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RUST_LOG"), "{}", stderr(&o));
}

/// A site of 200 pages answering in 20 ms: /N links to /3N+1.. /3N+3;
/// every 25th page answers 500 (retried, then given up), /missing 404.
fn slow_site() -> DemoSite {
    use solo_crawl::demo_site::SiteResponse;
    DemoSite::with_handler(|req| async move {
        solo::sleep(std::time::Duration::from_millis(20)).await;
        let n: u64 = match req.path.trim_start_matches('/').parse() {
            Ok(n) => n,
            Err(_) => return SiteResponse::typed(404, "text/plain", "no"),
        };
        if n % 25 == 24 {
            return SiteResponse::typed(500, "text/plain", "oops");
        }
        let links: String = (3 * n + 1..=3 * n + 3)
            .filter(|i| *i < 200)
            .map(|i| format!("<a href=\"/{i}\">{i}</a>"))
            .collect();
        SiteResponse::html(format!("<a href=\"/missing\">x</a>{links}"))
    })
    .unwrap()
}

/// `GET /metrics` from `addr`: each sample line's name (with labels) and
/// value.
fn scrape(addr: &str) -> BTreeMap<String, f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap_or_else(|_| panic!("{l}")))
        })
        .collect()
}

/// A crawl of `url` serving metrics on a free port and lingering (60 s,
/// till Ctrl-C), with a stats file; its stderr read line by line.
struct Watched {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Its stderr so far.
    log: String,
    /// Where its metrics are served (from its log).
    addr: String,
}

impl Watched {
    fn start(url: &str, stats: &Path) -> Watched {
        Watched::start_with(url, stats, &[])
    }

    fn start_with(url: &str, stats: &Path, extra: &[&str]) -> Watched {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
            .args([
                "crawl",
                url,
                "--per-host",
                "4",
                "--output",
                "/dev/null",
                "--log-level",
                "info",
            ])
            .args(["--metrics", "127.0.0.1:0", "--metrics-linger", "60"])
            .args(["--stats-file", stats.to_str().unwrap()])
            .args(extra)
            .env_remove("RUST_LOG")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines() {
                let _ = tx.send(line.unwrap());
            }
        });
        let mut w = Watched {
            child,
            lines,
            log: String::new(),
            addr: String::new(),
        };
        w.addr = loop {
            let l = w.next_line();
            if let Some((_, rest)) = l.split_once("serving metrics at http://") {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        w
    }

    /// The next line of its stderr (a minute at most).
    fn next_line(&mut self) -> String {
        let l = self
            .lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect(&self.log);
        self.log.push_str(&l);
        self.log.push('\n');
        l
    }

    /// A line of its stderr if one came.
    fn line_now(&mut self) -> Option<String> {
        let l = self.lines.try_recv().ok()?;
        self.log.push_str(&l);
        self.log.push('\n');
        Some(l)
    }

    /// Ctrl-C ends the wait; then the summary and the stats file come.
    /// Its exit status.
    fn stop(&mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        while let Ok(l) = self.lines.recv_timeout(std::time::Duration::from_secs(60)) {
            self.log.push_str(&l);
            self.log.push('\n');
        }
        self.child.wait().unwrap().code()
    }
}

#[test]
fn metrics_grow_during_the_crawl_and_end_equal_to_the_summary_and_stats_file() {
    let site = slow_site();
    let url = site.url().join("/0").unwrap().to_string();
    let dir = tmp("metrics");
    let stats = dir.join("stats.json");
    let mut w = Watched::start(&url, &stats);
    let addr = w.addr.clone();
    // Scrape until the crawl is over: counters never go down.
    let mut scrapes: Vec<BTreeMap<String, f64>> = Vec::new();
    loop {
        scrapes.push(scrape(&addr));
        match w.line_now() {
            Some(l) if l.contains("crawl finished") => break,
            Some(_) => {}
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let last = scrape(&addr);
    let during = scrapes
        .iter()
        .filter(|s| s["solo_crawl_in_flight"] > 0.0)
        .count();
    assert!(during >= 2, "{during} scrapes while pages were in flight");
    scrapes.push(last.clone());
    for pair in scrapes.windows(2) {
        for (k, v) in &pair[0] {
            let counter = k.contains("_total") || k.contains("_bucket") || k.ends_with("_count");
            if counter {
                assert!(
                    pair[1].get(k).is_some_and(|w| w >= v),
                    "{k} went from {v} to {:?}",
                    pair[1].get(k)
                );
            }
        }
    }
    assert_eq!(w.stop(), Some(0), "{}", w.log);
    let log = &w.log;
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let n = |k: &str| file[k].as_u64().unwrap_or_else(|| panic!("{k} in {file}")) as f64;
    assert_eq!(last["solo_crawl_pages_total"], n("pages"));
    assert!(
        log.contains(&format!("pages        {} in", n("pages"))),
        "{log}"
    );
    assert_eq!(last["solo_crawl_bytes_total"], n("bytes"));
    assert_eq!(last["solo_crawl_retries_total"], n("retries"));
    assert_eq!(last["solo_crawl_redirects_total"], n("redirects"));
    assert_eq!(last["solo_crawl_robots_fetched_total"], n("robots_fetched"));
    assert_eq!(last["solo_crawl_in_flight"], 0.0);
    let mut classes: BTreeMap<String, f64> = BTreeMap::new();
    for (status, count) in file["statuses"].as_object().unwrap() {
        let class = format!("solo_crawl_responses_total{{class=\"{}xx\"}}", &status[..1]);
        *classes.entry(class).or_default() += count.as_f64().unwrap();
    }
    assert_eq!(classes.len(), 3, "2xx, 4xx, 5xx: {file}");
    for (k, v) in &classes {
        assert_eq!(last.get(k), Some(v), "{k}");
    }
    for (kind, count) in file["errors"].as_object().unwrap() {
        let k = format!("solo_crawl_errors_total{{kind=\"{kind}\"}}");
        assert_eq!(last.get(&k), count.as_f64().as_ref(), "{k}");
    }
    // Each page that answers 500 does so three times (two retries).
    let errors = file["statuses"]["500"].as_f64().unwrap();
    assert!(errors > 0.0 && n("retries") == errors / 3.0 * 2.0, "{file}");
    // Every page got an answer: each has a latency.
    assert_eq!(last["solo_crawl_fetch_latency_seconds_count"], n("pages"));
    assert!(last["process_resident_memory_bytes"] > 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// While `--metrics-linger` serves the final values, the elapsed time
/// stays the crawl's duration: the summary's and the stats file's.
/// Before, it kept growing with the wait.
#[test]
fn elapsed_seconds_stop_at_the_end_of_the_crawl_while_metrics_linger() {
    let site = DemoSite::start(30).unwrap();
    let dir = tmp("linger");
    let stats = dir.join("stats.json");
    let mut w = Watched::start(site.url().as_str(), &stats);
    while !w.next_line().contains("serving the final metrics") {}
    let first = scrape(&w.addr)["solo_crawl_elapsed_seconds"];
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let later = scrape(&w.addr)["solo_crawl_elapsed_seconds"];
    assert_eq!(w.stop(), Some(0), "{}", w.log);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(first, later, "elapsed grew while lingering");
    // (serde_json reads a float to within an ulp of what it wrote.)
    let secs = file["seconds"].as_f64().unwrap();
    assert!((first - secs).abs() < 1e-9, "{first} against {file}");
    let summary = format!("pages        {} in {first:.2} s", file["pages"]);
    assert!(w.log.contains(&summary), "{summary:?} in {}", w.log);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// On a terminal (a pseudo-terminal from `script`, util-linux), each log
/// line starts on a cleared line: the progress line is wiped first.
#[test]
fn log_lines_clear_the_progress_line_on_a_terminal() {
    let site = slow_site();
    let url = site.url().join("/0").unwrap();
    let dir = tmp("pty");
    let typescript = dir.join("typescript");
    let cmd = format!(
        "{} crawl {url} --per-host 4 --log-level info --output /dev/null",
        env!("CARGO_BIN_EXE_solo-crawl")
    );
    let o = Command::new("script")
        .args(["-qfec", &cmd, typescript.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .expect("script (util-linux) runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    assert!(
        text.contains("in flight"),
        "the progress line was drawn: {text:?}"
    );
    let mut logged = 0;
    for line in text.split('\n').filter(|l| l.contains(" INFO")) {
        // Coloured on a terminal: the timestamp starts with ESC[2m.
        let start = line.find("\x1b[2m20").unwrap_or_else(|| panic!("{line:?}"));
        let before = &line[..start];
        assert!(
            before.is_empty() || before.ends_with("\r\x1b[2K"),
            "{line:?}"
        );
        logged += 1;
    }
    assert!(logged >= 3, "{text:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_log_file_stats_file_or_metrics_address_is_a_clear_error() {
    const U: &str = "http://127.0.0.1:1/";
    let o = run(&["crawl", U, "--log-file", "/no/such/dir/crawl.log"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--log-file /no/such/dir/crawl.log"),
        "{}",
        stderr(&o)
    );
    let o = run(&["crawl", U, "--stats-file", "/no/such/dir/stats.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--stats-file /no/such/dir/stats.json"),
        "{}",
        stderr(&o)
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = run(&["crawl", U, "--metrics", &addr]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("--metrics {addr}: cannot listen there")),
        "{}",
        stderr(&o)
    );
    let o = run(&["crawl", U, "--metrics", "localhost"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--metrics"), "{}", stderr(&o));
}

/// A crawl stopped by `--max-pages` with `--state` keeps what it did not
/// get to in the store: `solo_crawl_left` ends equal to the summary's
/// `queued` (`solo_crawl_queued`, the requests in memory, says 0 then;
/// it was the only queue gauge, and so the metrics did not end equal to
/// the summary).
#[test]
fn the_left_gauge_ends_equal_to_the_summarys_queued() {
    let site = DemoSite::start(300).unwrap();
    let dir = tmp("left");
    let stats = dir.join("stats.json");
    let state = dir.join("state");
    let extra = ["--max-pages", "20", "--state", state.to_str().unwrap()];
    let mut w = Watched::start_with(site.url().as_str(), &stats, &extra);
    while !w.next_line().contains("serving the final metrics") {}
    let last = scrape(&w.addr);
    assert_eq!(w.stop(), Some(0), "{}", w.log);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let queued = file["queued"]
        .as_f64()
        .unwrap_or_else(|| panic!("queued in {file}"));
    assert!(queued > 0.0, "{file}");
    assert_eq!(last["solo_crawl_left"], queued);
    std::fs::remove_dir_all(&dir).unwrap();
}
