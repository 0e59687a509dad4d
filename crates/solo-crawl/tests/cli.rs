//! The `solo-crawl` binary: exit codes and messages for bad arguments and
//! unreachable seeds, and a real crawl of a local site (http and https).

mod common;

use std::process::{Command, Output};

use solo_crawl::demo_site::{demo_reachable, DemoSite};

/// The page record's fields, in order (the CSV header; JSON Lines leave
/// out `truncated` when nothing was cut).
const FIELDS: &str =
    "url,final_url,status,depth,content_type,bytes,title,links,elapsed_ms,referer,error,redirect_to,redirected_from,noindex,nofollow,canonical,lastmod,truncated,not_modified,requisite,requisites";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: wanted {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_arguments_give_a_clear_message_and_exit_2() {
    const U: &str = "http://127.0.0.1:1/";
    let cases: &[(&[&str], &str)] = &[
        (&["crawl"], "required"),
        (&["crawl", "not a url"], "invalid URL"),
        (&["crawl", "example.com"], "did you mean http://example.com"),
        (
            &["crawl", "ftp://example.com/"],
            "only http:// and https://",
        ),
        (&["crawl", U, "--allow", "("], "bad --allow regex"),
        (&["crawl", U, "--deny", "[z-a]"], "bad --deny regex"),
        (&["crawl", U, "--concurrency", "0"], "--concurrency"),
        (&["crawl", U, "--depth", "deep"], "--depth"),
        (&["crawl", U, "--per-ip", "0"], "--per-ip"),
        (&["crawl", U, "--timeout", "0"], "--timeout"),
        (&["crawl", U, "--timeout", "nan"], "--timeout"),
        (&["crawl", U, "--max-bytes", "lots"], "not a size"),
        (&["crawl", U, "--format", "xml"], "unknown format"),
        (
            &["crawl", U, "--allow-domain", "http://x/"],
            "--allow-domain",
        ),
        (&["crawl", U, "--user-agent", " "], "--user-agent"),
        (&["crawl", U, "--force"], "--force needs --state DIR"),
        (
            &["crawl", U, "--state-reset"],
            "--state-reset needs --state DIR",
        ),
        (
            &["crawl", U, "--autothrottle-target", "0"],
            "--autothrottle-target",
        ),
        (
            &["crawl", U, "--autothrottle-target", "nan"],
            "--autothrottle-target",
        ),
        (
            &["crawl", U, "--ca-cert", "/no/such/ca.pem"],
            "--ca-cert /no/such/ca.pem",
        ),
        (
            &["crawl", "--sitemap", "sitemap.xml"],
            "--sitemap: invalid URL",
        ),
        (
            &["crawl", U, "--max-refresh-delay", "nan"],
            "--max-refresh-delay",
        ),
        (
            &["crawl", "http://раypal.test/"],
            "mixes scripts in the label",
        ),
        (
            &["crawl", "http://xn--a.test/"],
            "invalid international domain name",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
        (&["bench", "--seconds", "0"], "--seconds"),
    ];
    for (args, needle) in cases {
        assert_usage_error(args, needle);
    }
}

#[test]
fn unreachable_seeds_exit_1_with_a_message() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    drop(l);
    let o = run(&["crawl", &url, "--timeout", "5"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("start URL failed"), "{err}");
    assert!(err.contains("no start URL could be fetched"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Its robots.txt could not be fetched either: the page is not tried
    // (RFC 9309), and the message says why.
    assert!(
        err.contains("robots.txt could not be fetched (connect:"),
        "{err}"
    );
    // Crawled as if it had no robots.txt: the error record is written.
    let o = run(&[
        "crawl",
        &url,
        "--timeout",
        "5",
        "--robots-unreachable",
        "allow",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let rec: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(rec["error"].as_str().unwrap().starts_with("connect:"));
    // An unresolvable host likewise.
    let o = run(&["crawl", "http://no-such-host.invalid/", "--timeout", "5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn crawls_https_with_ca_cert_or_insecure() {
    let (_, ca_pem, server) = common::tls::pki();
    let (tx, rx) = std::sync::mpsc::channel();
    // The site runs on its own loop in a thread for the whole test run.
    std::thread::spawn(move || {
        solo::run(async move {
            let (port, _) = common::tls::start_https(server).await;
            tx.send(port).unwrap();
            std::future::pending::<()>().await
        })
    });
    let url = format!("https://localhost:{}/", rx.recv().unwrap());
    let dir = std::env::temp_dir().join(format!("solo-crawl-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let pages = |o: &Output| -> Vec<serde_json::Value> {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let base = ["crawl", &url, "--ignore-robots", "--max-pages", "5"];
    let o = run(&[&base[..], &["--ca-cert", ca.to_str().unwrap()]].concat());
    let recs = pages(&o);
    assert_eq!(recs.len(), 5);
    assert!(recs.iter().all(|r| r["status"] == 200), "{recs:?}");
    assert_eq!(pages(&run(&[&base[..], &["--insecure"]].concat())).len(), 5);
    // Neither: the certificate is not trusted.
    let o = run(&base);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"error\":\"tls:"), "{out}");
    assert!(out.contains("not trusted"), "{out}");
    assert!(out.contains("--ca-cert FILE"), "{out}");
    // The crawl's options, not solo-http's API (a docs audit found it).
    assert!(!out.contains("ClientBuilder"), "{out}");
    assert!(!out.contains("not valid for"), "not a name mismatch: {out}");
    // An empty file, a text file.
    for (text, why) in [("", "empty"), ("localhost\n", "neither PEM")] {
        std::fs::write(&ca, text).unwrap();
        let args = [&base[..], &["--ca-cert", ca.to_str().unwrap()]].concat();
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("--ca-cert") && err.contains(why), "{err}");
        assert!(err.contains(ca.to_str().unwrap()), "{err}");
    }
    // Not a certificate.
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert_usage_error(
        &[&base[..], &["--ca-cert", ca.to_str().unwrap()]].concat(),
        "--ca-cert",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn autothrottle_crawls_with_growing_confidence() {
    let site = DemoSite::start(60).unwrap();
    let url = site.url().to_string();
    let start = std::time::Instant::now();
    let o = run(&["crawl", &url, "--autothrottle", "--max-pages", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 4);
    // The host starts at a 1 s pause, halving toward the (tiny) latency:
    // robots.txt, then pages after ~1, ~0.5, ~0.25 s.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn crawl_writes_jsonl_to_stdout_and_csv_to_a_file() {
    let site = DemoSite::start(60).unwrap();
    let url = site.url().to_string();
    let o = run(&["crawl", &url, "--per-host", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), demo_reachable(60).len());
    // The fields, in this order.
    let first = out.lines().next().unwrap();
    let mut at = 0;
    // (`truncated`, `not_modified`, `requisite` and `requisites` only when
    // they say something.)
    let sometimes = ["truncated", "not_modified", "requisite", "requisites"];
    for key in FIELDS.split(',').filter(|k| !sometimes.contains(k)) {
        let pos = first[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {first}"));
        at += pos;
    }
    assert!(stderr(&o).contains("pages/s"), "stats at the end");

    let dir = std::env::temp_dir().join(format!("solo-crawl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out.csv");
    let _ = std::fs::remove_file(&file);
    let o = run(&[
        "crawl",
        &url,
        "--depth",
        "1",
        "--format",
        "csv",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&file).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some(FIELDS));
    // "/" at depth 0 and /page/0 at depth 1.
    assert_eq!(rows.count(), 2);
    // A .csv --output without --format is CSV too (it was JSON Lines).
    let by_name = dir.join("by-name.CSV");
    let o = run(&[
        "crawl",
        &url,
        "--depth",
        "0",
        "--output",
        by_name.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&by_name).unwrap();
    assert_eq!(csv.lines().next(), Some(FIELDS));
    assert_eq!(csv.lines().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--urls-file FILE` (`-i`, `-` for stdin) starts from the URLs in the
/// file, with those given as arguments: with `--depth 0` exactly those
/// are fetched. Blank lines and `#` comments are skipped, and a file
/// that cannot be read is a usage error naming it.
#[test]
fn urls_file_starts_from_its_urls_and_the_arguments() {
    use std::io::Write as _;
    let site = DemoSite::start(60).unwrap();
    let base = site.url().to_string();
    let page = |i: u32| format!("{base}page/{i}");
    let dir = std::env::temp_dir().join(format!("solo-crawl-urls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("urls.txt");
    std::fs::write(&list, format!("# seeds\n{}\n\n  {}  \n", page(3), page(7))).unwrap();
    let o = run(&[
        "crawl",
        &page(1),
        "-i",
        list.to_str().unwrap(),
        "--depth",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut got: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    got.sort();
    assert_eq!(got, vec![page(1), page(3), page(7)]);

    let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", "--urls-file", "-", "--depth", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(format!("{}\n", page(9)).as_bytes())
        .unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);

    let missing = dir.join("nope.txt");
    assert_usage_error(
        &["crawl", "--urls-file", missing.to_str().unwrap()],
        "--urls-file",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A seed list's bad lines are skipped, as wget -i does, each named by
/// FILE:LINE and why (the first 10, then how many more), and the crawl
/// goes on from its good ones; a bad URL given as an argument is still a
/// usage error, and so is a list without one good URL.
#[test]
fn bad_lines_of_a_urls_file_are_skipped_and_named() {
    let site = DemoSite::start(60).unwrap();
    let base = site.url().to_string();
    let dir = std::env::temp_dir().join(format!("solo-crawl-badlines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("seeds.txt");
    let mut text = format!("# seeds\n{base}page/1\nwww.site5000.example\n");
    text += "http://site 7000.example/\nftp://files.example/x\n\n";
    for i in 0..10 {
        text += &format!("nope{i}\n");
    }
    text += &format!("{base}page/2\n");
    std::fs::write(&list, text).unwrap();
    let path = list.to_str().unwrap();
    let o = run(&["crawl", "-i", path, "--depth", "0"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        2,
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:3: invalid URL \"www.site5000.example\": no scheme"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:4: invalid URL \"http://site 7000.example/\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:5: invalid URL \"ftp://files.example/x\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:13: invalid URL \"nope6\"")),
        "{err}"
    );
    assert!(!err.contains("nope7"), "only the first 10 are told: {err}");
    assert!(err.contains("and 3 more bad line(s)"), "{err}");
    assert!(
        err.contains("skipped 13 bad line(s), crawling from its 2 URL(s)"),
        "{err}"
    );
    // Said again after the crawl (its log and summary come between).
    let again = format!("13 bad line(s) of --urls-file {path} were skipped");
    assert!(err.rfind(&again) > err.rfind("pages "), "{err}");

    assert_usage_error(
        &["crawl", "-i", path, "www.typo.example"],
        "www.typo.example",
    );
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "www.a.example\n# nothing else\n").unwrap();
    let o = run(&[
        "crawl",
        "-i",
        bad.to_str().unwrap(),
        &format!("{base}page/1"),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no URL to crawl in it"), "{err}");
    assert!(err.contains(&format!("{}:1:", bad.display())), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn robots_blocked_seed_explains_itself() {
    let site = DemoSite::start(10).unwrap();
    let url = site.url().join("/private/1").unwrap().to_string();
    let o = run(&["crawl", &url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--ignore-robots"), "{err}");
    let o = run(&["crawl", &url, "--ignore-robots"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn demo_runs_with_no_network() {
    let o = run(&["demo", "--pages", "300"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains("pages/s"), "{text}");
    assert!(text.contains("all of them"), "{text}");
}

/// Runs `args` with stdout a pipe whose reader is gone before anything
/// is written (as `solo-crawl ... | head -1` once head has exited).
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    // The demo's own messages: dropped, the crawl still counts.
    let o = run_into_closed_pipe(&["demo", "--pages", "300"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // Records to stdout: an output error that says what happened.
    let o = run_into_closed_pipe(&["demo", "--pages", "300", "--output", "-"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("writing stdout failed") && err.contains("stopped early"),
        "{err}"
    );
}

/// `solo-crawl crawl ... --stats-file F 2>&1 | head` once head has
/// exited: the summary meets a closed stderr. Before, the first write of
/// the summary panicked (exit 101) and the stats file, written after it,
/// stayed empty.
#[test]
fn a_closed_stderr_is_no_panic_and_the_stats_file_is_written() {
    let site = DemoSite::start(60).unwrap();
    let dir = std::env::temp_dir().join(format!("solo-crawl-cli-stderr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, stats) = (dir.join("pages.jsonl"), dir.join("stats.json"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", site.url().as_str(), "--per-host", "4"])
        .arg("--output")
        .arg(&out)
        .arg("--stats-file")
        .arg(&stats)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "no panic (101), a finished crawl");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).expect("complete JSON");
    let pages = demo_reachable(60).len() as u64;
    assert_eq!(json["pages"], pages, "{json}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count() as u64,
        pages
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An argument that is not UTF-8 (a file name) with --warc: the
/// warcinfo's description quotes the command line lossily. Before, reading
/// the command line for it panicked (exit 101).
#[test]
fn an_argument_that_is_not_utf8_is_no_panic_with_warc() {
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    let site = DemoSite::start(10).unwrap();
    let dir = std::env::temp_dir().join(format!("solo-crawl-cli-bytes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(std::ffi::OsStr::from_bytes(b"pages-\xff.jsonl"));
    let o = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", site.url().as_str(), "--max-pages", "2", "--output"])
        .arg(&out)
        .arg("--warc")
        .arg(dir.join("crawl.warc.gz"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&out).unwrap().split(|&b| b == b'\n').count(),
        3
    );
    let mut warc = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(dir.join("crawl-00000.warc.gz")).unwrap(),
    )
    .read_to_string(&mut warc)
    .unwrap();
    assert!(warc.contains("pages-\u{fffd}.jsonl --warc"), "{warc}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_reports_pages_per_second() {
    let o = run(&["bench", "--seconds", "1", "--concurrency", "16"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(
        text.contains("bench: ") && text.contains(" pages/s ("),
        "{text}"
    );
}

/// Serves `/sitemap.xml` (a urlset of /a and /b, with lastmod) and a small
/// page for any other path, one connection at a time, on a thread; the
/// paths asked for come back through the channel.
fn sitemap_server() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let b = base.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut line = String::new();
            let mut r = BufReader::new(conn.try_clone().unwrap());
            if r.read_line(&mut line).is_err() {
                continue;
            }
            while r.read_line(&mut String::new()).is_ok_and(|n| n > 2) {}
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            let (ct, body) = if path == "/sitemap.xml" {
                let body = format!(
                    "<urlset><url><loc>{b}/a</loc><lastmod>2024-05-01</lastmod></url><url><loc>{b}/b</loc></url></urlset>"
                );
                ("application/xml", body)
            } else {
                ("text/html", "<title>x</title>".to_owned())
            };
            let _ = tx.send(path);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, rx)
}

#[test]
fn sitemap_urls_alone_start_a_crawl() {
    let (base, paths) = sitemap_server();
    let o = run(&[
        "crawl",
        "--ignore-robots",
        "--sitemap",
        &format!("{base}/sitemap.xml"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut asked: Vec<String> = paths.try_iter().collect();
    asked.sort();
    assert_eq!(asked, ["/a", "/b", "/sitemap.xml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let a = out.lines().find(|l| l.contains("/a\"")).unwrap();
    assert!(a.contains("\"lastmod\":\"2024-05-01\""), "{a}");
    assert!(
        stderr(&o).contains("sitemaps     read: 1, urls: 2"),
        "{}",
        stderr(&o)
    );
}

/// Ctrl-C stops the crawl gracefully (the request in flight may finish);
/// a second one exits with status 130 at once. The binary decides that:
/// the library only reports the second Ctrl-C (`StopHandle::hurried`).
#[test]
fn a_second_ctrl_c_exits_130_at_once() {
    second_stop_exits_130_at_once("-INT", "Ctrl-C: finishing");
}

/// SIGTERM (supervisors, `docker stop`, `kill PID`) is a graceful stop
/// like Ctrl-C, and a second one exits at once.
#[test]
fn sigterm_stops_gracefully_and_a_second_exits_130_at_once() {
    second_stop_exits_130_at_once("-TERM", "SIGTERM: finishing");
}

fn second_stop_exits_130_at_once(signal: &str, said: &str) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    // A server that accepts and never answers: the page stays in flight.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (accepted_tx, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
            let _ = accepted_tx.send(());
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", &url, "--ignore-robots", "--timeout", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (line_tx, lines) = std::sync::mpsc::channel();
    let err = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let interrupt = || {
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
    };
    accepted
        .recv_timeout(Duration::from_secs(60))
        .expect("the crawl connects");
    std::thread::sleep(Duration::from_millis(300)); // the signal watcher is up
    interrupt();
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains(said)) {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no graceful-stop message; stderr: {seen:?}"));
        seen.push(line);
    }
    interrupt();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        // A graceful stop waits for the hung request (30 s here); at once
        // means well before that, even on a loaded machine.
        if t.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still running 15 s after the second {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    seen.extend(lines.try_iter());
    assert_eq!(status.code(), Some(130), "stderr: {seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("second Ctrl-C, SIGTERM or SIGHUP: exiting now")),
        "stderr: {seen:?}"
    );
}

/// SIGHUP (a closed terminal, a dropped ssh session, `kill -HUP`) is a
/// graceful stop like SIGTERM (it killed the crawl at once: no summary,
/// records lost, an empty `--stats-file`), and a second one exits at once.
#[test]
fn sighup_stops_gracefully_and_a_second_exits_130_at_once() {
    second_stop_exits_130_at_once("-HUP", "SIGHUP: finishing");
}

/// A server that accepts connections and never answers; its URL.
fn hanging_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    url
}

/// Starts a crawl of `url` with `extra` flags, its stderr piped; sends
/// it `signal` once it runs.
fn signalled_crawl(url: &str, extra: &[&str], signal: &str) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", url, "--ignore-robots"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    std::thread::sleep(std::time::Duration::from_millis(700)); // it is crawling
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap()
        .success());
    child
}

/// One SIGHUP ends the crawl as SIGTERM does: the request in flight
/// finishes (here: times out, not retried), then the summary and the `--stats-file`
/// are written and the exit status is 130. The stats file is written
/// whole at the end (beside it, then renamed): a crawl killed before
/// that leaves no empty file, and the previous one as it was.
#[test]
fn sighup_ends_with_the_summary_and_the_stats_file_a_kill_leaves_the_last_one() {
    let url = hanging_server();
    let dir = std::env::temp_dir().join(format!("solo-crawl-hup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stats = dir.join("stats.json");
    let stats_arg = stats.to_str().unwrap();
    let child = signalled_crawl(&url, &["--timeout", "2", "--stats-file", stats_arg], "-HUP");
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("SIGHUP: finishing the requests in flight"),
        "{err}"
    );
    assert!(err.contains(", interrupted\n"), "the summary: {err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true, "{json}");
    assert_eq!(
        json["errors"]["timeout"], 1,
        "the request in flight: {json}"
    );

    // Killed before its end: the last stats file stays as it was.
    let before = std::fs::read(&stats).unwrap();
    let mut child = signalled_crawl(
        &url,
        &["--timeout", "60", "--stats-file", stats_arg],
        "-KILL",
    );
    child.wait().unwrap();
    assert_eq!(std::fs::read(&stats).unwrap(), before);
    // Also when there was none: no empty file is left.
    let fresh = dir.join("fresh.json");
    let fresh_arg = fresh.to_str().unwrap();
    let mut child = signalled_crawl(
        &url,
        &["--timeout", "60", "--stats-file", fresh_arg],
        "-KILL",
    );
    child.wait().unwrap();
    assert!(!fresh.exists(), "an empty stats file was left");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["stats.json"], "nothing else is left beside it");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Under `nohup` (SIGHUP ignored when the crawl starts) a hangup is
/// still ignored: the crawl goes on.
#[test]
fn an_ignored_sighup_stays_ignored() {
    let url = hanging_server();
    let script = "trap '' HUP; exec \"$0\" \"$@\"";
    let mut child = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_solo-crawl")])
        .args(["crawl", &url, "--ignore-robots", "--timeout", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let pid = child.id().to_string();
    let kill = |signal: &str| {
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    };
    kill("-HUP");
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended the crawl"
    );
    kill("-KILL");
    let o = child.wait_with_output().unwrap();
    assert!(!stderr(&o).contains("SIGHUP"), "{}", stderr(&o));
}

/// SIGUSR1 prints the statistics so far, with the frontier's figures (it
/// said "0 seen, 0 left queued" in the middle of any crawl).
#[test]
fn sigusr1_prints_the_statistics_so_far() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    // "/" links to five pages that never answer: they stay in flight.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let n = conn.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                if head.starts_with("GET / ") {
                    let body: String = (0..5).map(|i| format!("<a href=\"/p{i}\">p</a>")).collect();
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
                std::thread::sleep(Duration::from_secs(600));
            });
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", &url, "--ignore-robots", "--timeout", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (line_tx, lines) = std::sync::mpsc::channel();
    let err = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut said = Vec::new();
    // Ask until the five links are seen (the root page may not be in yet).
    while !said
        .iter()
        .any(|l: &String| l.contains("urls") && l.contains("6 seen"))
    {
        assert!(
            Instant::now() < deadline,
            "no statistics with 6 seen: {said:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(Command::new("kill")
            .args(["-USR1", &pid])
            .status()
            .unwrap()
            .success());
        while let Ok(l) = lines.recv_timeout(Duration::from_millis(300)) {
            said.push(l);
        }
    }
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let _ = child.wait();
}

/// `--log-stats S` logs the progress every S seconds at info level
/// (Scrapy's LogStats), for crawls that run with no terminal.
#[test]
fn log_stats_says_the_progress_every_interval() {
    // Six pages of 400 ms each, one at a time: ~2.4 s, two intervals.
    let base = common::blocking::serve(|req| {
        std::thread::sleep(std::time::Duration::from_millis(400));
        let body = if req.path == "/" {
            (0..5)
                .map(|i| format!("<a href=\"/p{i}\">p</a>"))
                .collect::<String>()
        } else {
            String::from("<title>p</title>")
        };
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let out = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args([
            "crawl",
            &format!("{base}/"),
            "--ignore-robots",
            "--concurrency",
            "1",
        ])
        .args(["--log-level", "info", "--log-stats", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("pages/min")).collect();
    assert!(!lines.is_empty(), "{err}");
    assert!(
        lines[0].contains("crawled ") && lines[0].contains(" queued"),
        "{err}"
    );
    // The default level (warn) says nothing of it.
    let quiet = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args([
            "crawl",
            &format!("{base}/"),
            "--ignore-robots",
            "--concurrency",
            "1",
        ])
        .args(["--log-stats", "1"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("pages/min"));
}

/// A sitemap that robots.txt lists and that fails is not a start URL:
/// it was reported as "start URL failed".
#[test]
fn a_failed_sitemap_from_robots_txt_is_not_a_failed_start_url() {
    // The sitemap's port refuses connections: its fetch is an error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/gone.xml", closed.local_addr().unwrap());
    drop(closed);
    let robots = format!("User-agent: *\nSitemap: {gone}\n");
    let base = common::blocking::serve(move |req| {
        let (status, body) = match req.path.as_str() {
            "/robots.txt" => ("200 OK", robots.clone()),
            _ => ("200 OK", "<title>home</title>".to_owned()),
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let o = run(&["crawl", &format!("{base}/"), "--sitemaps"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("start URL failed"), "{err}");
    // Its host's robots.txt cannot be fetched: the sitemap is not either,
    // unless asked for (then its fetch error is its record).
    let o = run(&[
        "crawl",
        &format!("{base}/"),
        "--sitemaps",
        "--robots-unreachable",
        "allow",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("start URL failed"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.contains("/gone.xml") && l.contains("\"error\"")),
        "{out}"
    );
}

/// `--retries N` is how many times a retryable answer is tried again
/// (Scrapy's RETRY_TIMES), and `--backoff-max S` caps the wait, a
/// server's Retry-After included, saying so in the log. Before, neither
/// could be set from the command line, and a cut Retry-After was silent.
#[test]
fn retries_and_backoff_max_are_flags_and_a_cut_retry_after_is_said() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let base = common::blocking::serve(move |req| {
        if req.path == "/robots.txt" {
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
        }
        seen.fetch_add(1, Ordering::SeqCst);
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 90\r\nContent-Length: 0\r\n\r\n".to_vec()
    });
    let url = format!("{base}/");
    let o = run(&[
        "crawl",
        &url,
        "--retries",
        "3",
        "--backoff-max",
        "0.05",
        "--log-level",
        "info",
    ]);
    // The only start URL still answered 503: the crawl failed (exit 1).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(hits.load(Ordering::SeqCst), 4, "1 + 3 retries");
    let err = stderr(&o);
    assert!(
        err.contains("Retry-After of 90 s cut to the longest wait, 0.05 s"),
        "{err}"
    );
    hits.store(0, Ordering::SeqCst);
    let o = run(&["crawl", &url, "--retries", "0"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("it answered 503"), "{}", stderr(&o));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_usage_error(&["crawl", &url, "--backoff-max=-1"], "--backoff-max");
    assert_usage_error(&["crawl", &url, "--backoff-max=inf"], "--backoff-max");
}

/// `--header "Name: value"` goes with every request (robots.txt too);
/// a credential (`Authorization`) only to the start URLs' host, never to
/// another host the crawl reaches (here a linked one it may crawl); a
/// header that is no header is a usage error that does not echo the
/// secret. Before, the command line had no way to send a header.
#[test]
fn headers_go_with_every_request_and_credentials_stay_on_the_start_host() {
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, Option<String>, Option<String>, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let answer = |seen: Seen, body: String| {
        move |req: &common::blocking::RawRequest| {
            let h = |n: &str| req.header(n).map(str::to_owned);
            seen.lock().unwrap().push((
                req.path.clone(),
                h("authorization"),
                h("x-api"),
                h("x-api-key"),
            ));
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    let other =
        common::blocking::serve_on("127.0.0.2", answer(seen.clone(), "<p>other</p>".into()));
    // The start host on another port: another origin, no token either.
    let port = common::blocking::serve(answer(seen.clone(), "<p>port</p>".into()));
    let link = format!("<a href=\"{other}/there\">there</a><a href=\"{port}/port\">port</a>");
    let start = common::blocking::serve(answer(seen.clone(), link));
    let o = run(&[
        "crawl",
        &format!("{start}/"),
        "--allow-domain",
        "127.0.0.2",
        "--allow-private-networks",
        "--header",
        "Authorization: Bearer t0k",
        "--header=X-Api: 2",
        "--header",
        "X-Api-Key: k3y",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = seen.lock().unwrap().clone();
    let on = |path: &str| got.iter().find(|(p, _, _, _)| p == path).cloned();
    let (_, auth, api, key) = on("/").unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        (auth.as_deref(), api.as_deref(), key.as_deref()),
        (Some("Bearer t0k"), Some("2"), Some("k3y"))
    );
    // An API key in a header of its own is a credential too.
    let (_, auth, api, key) = on("/there").unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        (auth, api.as_deref(), key),
        (None, Some("2"), None),
        "no token to 127.0.0.2"
    );
    let (_, auth, _, key) = on("/port").unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        (auth, key),
        (None, None),
        "no token to another port of the start host"
    );
    let (_, _, api, _) = on("/robots.txt").unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(api.as_deref(), Some("2"));
    let o = run(&[
        "crawl",
        &format!("{start}/"),
        "--header",
        "Authorization Bearer s3cret",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--header") && !stderr(&o).contains("s3cret"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_time_limit_ends_the_crawl_with_status_0() {
    let site = DemoSite::start(400).unwrap();
    let url = site.url().to_string();
    let o = run(&[
        "crawl",
        &url,
        "--max-time",
        "1s",
        "--concurrency",
        "1",
        "--per-host",
        "1",
        "--delay",
        "150",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("stopped by --max-time with"), "{err}");
    let pages = String::from_utf8_lossy(&o.stdout).lines().count();
    assert!((1..400).contains(&pages), "{pages} pages");
    assert_usage_error(&["crawl", &url, "--max-time", "0s"], "--max-time");
    assert_usage_error(&["crawl", &url, "--max-time", "soon"], "not an age");
}

/// `--header @FILE` (curl's `-H @file`): headers read from a file, one a
/// line, so a token stays off the command line and out of the settings a
/// `--redis` crawl stores (they keep the file's name).
#[test]
fn headers_from_a_file_stay_off_the_command_line() {
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let start = common::blocking::serve(move |req: &common::blocking::RawRequest| {
        let h = |n: &str| req.header(n).map(str::to_owned);
        s.lock().unwrap().push((h("authorization"), h("x-api")));
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let dir = common::fresh_dir("header-file");
    let file = dir.join("headers");
    std::fs::write(
        &file,
        "\u{feff}# the API's headers\n\nAuthorization: Bearer fr0m-file\nX-Api: 7\n",
    )
    .unwrap();
    let at = format!("@{}", file.display());
    let o = run(&["crawl", &format!("{start}/"), "--header", &at]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = seen.lock().unwrap().clone();
    assert!(
        got.iter()
            .all(|(a, x)| a.as_deref() == Some("Bearer fr0m-file") && x.as_deref() == Some("7")),
        "{got:?}"
    );
    // The settings name the file, not the token.
    let o = run(&["config", "--print", "--header", &at]);
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(
        printed.contains(&at) && !printed.contains("fr0m-file"),
        "{printed}"
    );
    // A bad line is told by file and line, without its value.
    std::fs::write(&file, "X-Api: 7\nAuthorization Bearer s3cret\n").unwrap();
    let o = run(&["crawl", &format!("{start}/"), "--header", &at]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:2:", file.display())) && !err.contains("s3cret"),
        "{err}"
    );
    let o = run(&[
        "crawl",
        &format!("{start}/"),
        "--header",
        "@/nonexistent/headers",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/headers"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The open-files soft limit goes up to the hard one at start (a broad
/// crawl holds a socket per request in flight and per idle connection):
/// under a soft `ulimit -n 256` the process runs with the hard limit.
#[test]
fn the_open_files_limit_is_raised_to_the_hard_one() {
    let ours = std::fs::read_to_string("/proc/self/limits").unwrap();
    let hard: Option<u64> = ours
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4)?.parse().ok());
    if hard.is_some_and(|h| h <= 256) {
        eprintln!("skipped: the hard open-files limit is {hard:?}, nothing to raise");
        return;
    }
    let site = DemoSite::start(400).unwrap();
    let script = format!(
        "ulimit -Sn 256; exec {} crawl {} --max-time 10s --concurrency 1 --delay 200 --output /dev/null",
        env!("CARGO_BIN_EXE_solo-crawl"),
        site.url()
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let soft_hard = || -> Option<(String, String)> {
        let text = std::fs::read_to_string(&limits).ok()?;
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        let v: Vec<&str> = line.split_whitespace().collect();
        Some((v[3].to_owned(), v[4].to_owned()))
    };
    // Wait for the exec and the raise (bash's own limit is 256).
    let mut seen = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if let Some((soft, hard)) = soft_hard() {
            if soft != "256" {
                seen = Some((soft, hard));
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let (soft, hard) = seen.expect("the soft limit stayed 256");
    assert_eq!(soft, hard);
}
