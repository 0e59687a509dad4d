//! The CLI as a link checker uses it: broken pages counted per page (not
//! per retried response), a start URL that answers 4xx/5xx fails the
//! crawl, `--fail-on-broken` fails it on any broken page, and a link to a
//! file over `--max-bytes` keeps what its response head said.

mod common;

use std::process::{Command, Output, Stdio};

use common::fresh_dir;
use solo_crawl::demo_site::{DemoSite, SiteResponse};

fn crawl(args: &[&str]) -> Output {
    crawl_obeying_robots(&[args, &["--ignore-robots"]].concat())
}

/// A site whose home page links to a page that works, one that is gone
/// (404), one that fails (500) and a 2 MiB video.
fn site() -> DemoSite {
    DemoSite::with_handler(|req| async move {
        match req.path.as_str() {
            "/" => SiteResponse::html(
                "<a href=/ok>ok</a><a href=/gone>gone</a><a href=/err>err</a><a href=/v.mp4>v</a>",
            ),
            "/ok" => SiteResponse::html("<title>fine</title>"),
            "/err" => SiteResponse::status(500),
            "/v.mp4" => SiteResponse::typed(200, "video/mp4", vec![0u8; 2 << 20]),
            _ => SiteResponse::status(404),
        }
    })
    .unwrap()
}

fn records(out: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn broken_pages_are_counted_per_page_and_fail_the_crawl_when_asked() {
    let dir = fresh_dir("broken");
    let site = site();
    let (out, stats) = (dir.join("p.jsonl"), dir.join("stats.json"));
    let url = site.url();
    let args = [
        url.as_str(),
        "--max-bytes",
        "1M",
        "--retries",
        "2",
        "--output",
        out.to_str().unwrap(),
        "--stats-file",
        stats.to_str().unwrap(),
    ];
    let o = crawl(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    // One line per page: the 500 was tried three times, it is one page.
    assert!(
        stderr.contains("status       200: 3, 404: 1, 500: 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("responses    200: 3, 404: 1, 500: 3"),
        "{stderr}"
    );
    assert!(stderr.contains("broken       3 page(s)"), "{stderr}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["broken"], 3, "{s}");
    assert_eq!(s["page_statuses"]["500"], 1, "{s}");
    // The video's head arrived: its type and URL are kept, the body over
    // the limit is the error.
    let recs = records(&out);
    let video = recs
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with("/v.mp4"))
        .unwrap();
    assert_eq!(video["status"], 200, "{video}");
    assert_eq!(video["content_type"], "video/mp4", "{video}");
    assert_eq!(video["final_url"], video["url"], "{video}");
    assert!(
        video["error"].as_str().unwrap().starts_with("too_large"),
        "{video}"
    );
    // --fail-on-broken: the same crawl exits 1 and says why.
    let o = crawl(&[&args[..], &["--fail-on-broken"]].concat());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("3 broken page(s)"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_start_url_that_answers_4xx_or_5xx_fails_the_crawl() {
    let site = site();
    for path in ["gone", "err"] {
        let url = format!("{}{path}", site.url());
        let o = crawl(&[&url, "--retries", "0"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("start URL failed: {url}: it answered")),
            "{stderr}"
        );
    }
    // One start URL that works is enough.
    let ok = format!("{}ok", site.url());
    let gone = format!("{}gone", site.url());
    let o = crawl(&[&ok, &gone, "--retries", "0"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn crawl_obeying_robots(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .arg("crawl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A link to a dead host (its robots.txt unreachable) is a broken page;
/// the robots.txt that `--sitemaps` reads for its `Sitemap:` lines is
/// neither a start URL nor broken when the site has none (404).
#[test]
fn dead_links_are_broken_and_a_sitemaps_robots_txt_is_not_a_start_url() {
    let site = DemoSite::with_handler(|req| async move {
        match req.path.as_str() {
            "/" => SiteResponse::html("<a href=http://127.0.0.1:1/x>dead</a><a href=/ok>ok</a>"),
            "/ok" => SiteResponse::html("<title>fine</title>"),
            _ => SiteResponse::status(404),
        }
    })
    .unwrap();
    let url = site.url();
    let o = crawl_obeying_robots(&[
        url.as_str(),
        "--sitemaps",
        "--retries",
        "0",
        "--fail-on-broken",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 broken page(s)"), "{stderr}");
    assert!(!stderr.contains("start URL failed"), "{stderr}");
    // Without the dead link's page, the same crawl passes.
    let ok = format!("{url}ok");
    let o = crawl_obeying_robots(&[&ok, "--sitemaps", "--depth", "0", "--fail-on-broken"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A start URL that answers 404 fails, whatever robots.txt says.
    let robots = DemoSite::with_handler(|req| async move {
        match req.path.as_str() {
            "/robots.txt" => SiteResponse::typed(200, "text/plain", "User-agent: *\nAllow: /\n"),
            _ => SiteResponse::status(404),
        }
    })
    .unwrap();
    let gone = format!("{}gone", robots.url());
    let o = crawl_obeying_robots(&[&gone, "--sitemaps", "--retries", "0"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("start URL failed: {gone}: it answered 404")),
        "{stderr}"
    );
}

/// A slice of a `--state` crawl stopped by `--max-pages` before its
/// second start URL was tried is not a failed crawl.
#[test]
fn a_slice_stopped_by_a_limit_is_not_a_failed_crawl() {
    let dir = fresh_dir("slice");
    let site = site();
    let (gone, ok) = (format!("{}gone", site.url()), format!("{}ok", site.url()));
    let state = dir.join("state");
    let o = crawl(&[
        &gone,
        &ok,
        "--max-pages",
        "1",
        "--concurrency",
        "1",
        "--retries",
        "0",
        "--state",
        state.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("start URL failed"), "still told: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
