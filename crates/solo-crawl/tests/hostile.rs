//! Hostile pages and servers: huge pages with many links, bodies that
//! together would fill memory, titles made to attack a spreadsheet.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::*;
use solo_crawl::demo_site::{Framing, SiteResponse};
use solo_crawl::output::SharedBuf;
use solo_crawl::{Config, Crawler, Format, LinkSpider, OutputConfig, Target};

/// An HTML page of `n` distinct links (about 30 bytes each).
fn many_links(n: usize) -> String {
    let mut html = String::with_capacity(n * 32 + 64);
    html.push_str("<title>many</title>");
    for i in 0..n {
        html.push_str(&format!("<a href=\"/l/{i}\">{i}</a>\n"));
    }
    html
}

/// A site with `/big` (a page of `links` links) and `/other` (a small page
/// that answers after 200 ms).
async fn big_and_other(links: usize) -> Site {
    let big = Rc::new(many_links(links));
    start(move |path: String| {
        let big = big.clone();
        async move {
            match path.as_str() {
                "/big" => SiteResponse::html(big.as_bytes()),
                "/other" => {
                    solo::sleep(Duration::from_millis(200)).await;
                    page("other", &[])
                }
                _ => SiteResponse::status(404),
            }
        }
    })
    .await
}

#[test]
fn a_huge_page_neither_stalls_the_loop_nor_times_out_the_others() {
    solo::run(async {
        // 200,000 links, 6 MB: scanning it on the loop stalls it for
        // seconds (a debug build), past the other request's timeout.
        let site = big_and_other(200_000).await;
        let cfg = Config {
            depth_limit: Some(0),
            timeout: Duration::from_secs(1),
            max_retries: 1,
            parse_off_loop_bytes: 256 << 10,
            ..quick()
        };
        let seeds = vec![site.url("/big"), site.url("/other")];
        let (summary, recs) = crawl_links(seeds, cfg).await;
        let other = record(&recs, "/other");
        assert_eq!(other.status, Some(200), "{other:?}");
        assert!(other.error.is_none(), "{other:?}");
        assert!(other.elapsed_ms < 1000.0, "{other:?}");
        assert_eq!(site.count("/other"), 1, "no retry after a false timeout");
        assert_eq!(site.count("/big"), 1);
        let big = record(&recs, "/big");
        assert_eq!(big.status, Some(200), "{big:?}");
        assert_eq!(big.title.as_deref(), Some("many"));
        // Generous: the stall on the loop was seconds.
        assert!(
            summary.loop_lag_p99_ms < 700.0,
            "loop lag p99 {} ms",
            summary.loop_lag_p99_ms
        );
    });
}

#[test]
fn links_per_page_are_capped_and_the_record_says_so() {
    solo::run(async {
        let site = big_and_other(5_000).await;
        let cfg = Config {
            depth_limit: Some(0),
            max_links_per_page: 1000,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.url("/big"), site.url("/other")], cfg).await;
        let big = record(&recs, "/big");
        assert_eq!(big.links, 1000, "{big:?}");
        assert_eq!(big.truncated, ["links"]);
        assert!(record(&recs, "/other").truncated.is_empty());
        assert_eq!(summary.counts.links_capped, 1);
        // Only the first 1000 were offered to the frontier (all too deep).
        assert_eq!(summary.filtered["too_deep"], 1000);
        assert!(summary.to_string().contains("--max-links-per-page"));
    });
}

/// A site serving `/b/N`: bodies of `size` bytes in small chunks, and a
/// root linking to `n` of them.
async fn bodies(n: usize, size: usize) -> Site {
    start(move |path: String| async move {
        if path == "/" {
            let links: Vec<String> = (0..n).map(|i| format!("/b/{i}")).collect();
            let links: Vec<&str> = links.iter().map(|s| s.as_str()).collect();
            return page("root", &links);
        }
        SiteResponse::typed(200, "application/octet-stream", vec![b'x'; size])
            .with_framing(Framing::Chunked(8 << 10))
    })
    .await
}

#[test]
fn bodies_held_at_once_stay_within_the_budget() {
    solo::run(async {
        // Eight bodies of 300 KB at once would be 2.4 MB; the budget is
        // 700 KB, and one body may always grow to max_bytes (400 KB).
        let site = bodies(8, 300 << 10).await;
        let cfg = Config {
            max_bytes: 400 << 10,
            max_buffered: 700 << 10,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 9);
        for r in &recs {
            assert_eq!(r.status, Some(200), "{r:?}");
            assert!(r.error.is_none(), "{r:?}");
        }
        assert!(
            summary.buffered_peak_bytes <= 700 << 10,
            "{}",
            summary.buffered_peak_bytes
        );
        assert!(summary.buffered_peak_bytes >= 300 << 10);
    });
}

#[test]
fn a_budget_of_one_body_still_finishes_every_download() {
    solo::run(async {
        // No room for two bodies: they take turns on the lane instead of
        // deadlocking with part of a body each. Bodies over the limit fail
        // and give their bytes back.
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page(
                    "root",
                    &["/b/1", "/b/2", "/b/3", "/endless/1", "/endless/2"],
                ),
                p if p.starts_with("/endless") => {
                    SiteResponse::typed(200, "text/plain", vec![b'y'; 1 << 20])
                        .with_framing(Framing::Close)
                }
                _ => SiteResponse::typed(200, "text/plain", vec![b'x'; 200 << 10])
                    .with_framing(Framing::Chunked(4 << 10)),
            }
        })
        .await;
        let cfg = Config {
            max_bytes: 256 << 10,
            max_buffered: 0, // counts as max_bytes
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 6);
        for i in 1..=3 {
            assert_eq!(record(&recs, &format!("/b/{i}")).bytes, 200 << 10);
        }
        for i in 1..=2 {
            let r = record(&recs, &format!("/endless/{i}"));
            assert!(
                r.error.as_deref().unwrap().starts_with("too_large:"),
                "{r:?}"
            );
        }
        assert!(summary.buffered_peak_bytes <= 256 << 10);
    });
}

/// A site whose titles attack spreadsheets and terminals, or are huge.
async fn evil_titles() -> Site {
    start(|path: String| async move {
        let title = match path.as_str() {
            "/" => return page("root", &["/formula", "/control", "/long"]),
            "/formula" => "=HYPERLINK(\"http://evil/\",\"click\")".to_owned(),
            "/control" => "nul\u{0}esc\u{1b}[2Jbell\u{7}".to_owned(),
            _ => "long ".repeat(40_000),
        };
        SiteResponse::html(format!("<title>{title}</title>"))
    })
    .await
}

/// Crawls the evil site to CSV; each row's `url`, `title` and `truncated`
/// cells, by URL.
async fn csv_rows(site: &Site, csv_raw: bool) -> Vec<[String; 3]> {
    let buf = SharedBuf::default();
    let out = OutputConfig {
        pages: Target::Buffer(buf.clone()),
        format: Format::Csv,
        csv_raw,
        max_field_chars: 1000,
        ..Default::default()
    };
    Crawler::new(LinkSpider::new(vec![site.base.clone()]), quick())
        .output(out)
        .run()
        .await
        .unwrap();
    let data = buf.lock().unwrap().clone();
    let mut reader = csv::Reader::from_reader(data.as_slice());
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (url, title, truncated) = (col("url"), col("title"), col("truncated"));
    let mut rows: Vec<[String; 3]> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            [&r[url], &r[title], &r[truncated]].map(str::to_owned)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn csv_cells_are_safe_in_a_spreadsheet_and_text_fields_are_bounded() {
    solo::run(async {
        let site = evil_titles().await;
        let rows = csv_rows(&site, false).await;
        let title = |path: &str| {
            let row = rows
                .iter()
                .find(|r| r[0].ends_with(path))
                .unwrap_or_else(|| panic!("{path}: {rows:?}"));
            (row[1].clone(), row[2].clone())
        };
        let (formula, _) = title("/formula");
        assert_eq!(formula, "'=HYPERLINK(\"http://evil/\",\"click\")");
        let (control, _) = title("/control");
        assert!(
            !control.contains(['\u{0}', '\u{1b}', '\u{7}']),
            "{control:?}"
        );
        assert!(control.starts_with("nul\u{fffd}esc"), "{control:?}");
        let (long, truncated) = title("/long");
        assert_eq!(long.chars().count(), 1000);
        assert_eq!(truncated, "[\"title\"]");

        // --csv-raw: as the page has it.
        let rows = csv_rows(&site, true).await;
        let formula = rows.iter().find(|r| r[0].ends_with("/formula")).unwrap();
        assert_eq!(formula[1], "=HYPERLINK(\"http://evil/\",\"click\")");
    });
}

#[test]
fn jsonl_text_fields_are_bounded_and_marked() {
    solo::run(async {
        let site = evil_titles().await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        let long = record(&recs, "/long");
        assert_eq!(long.title.as_deref().unwrap().chars().count(), 8192);
        assert_eq!(long.truncated, ["title"]);
        // JSON escapes control characters itself.
        let control = record(&recs, "/control");
        assert_eq!(
            control.title.as_deref(),
            Some("nul\u{0}esc\u{1b}[2Jbell\u{7}")
        );
        assert!(control.truncated.is_empty());
    });
}

/// A spider that takes 3 s over `/hold` (keeping its body, and the
/// body budget it holds, that long).
struct SlowOverHold(Vec<url::Url>);

impl solo_crawl::Spider for SlowOverHold {
    type Callback = ();
    fn start_requests(&self) -> Vec<solo_crawl::Request<()>> {
        self.0
            .iter()
            .map(|u| solo_crawl::Request::new(u.clone(), ()))
            .collect()
    }
    async fn parse(&self, _: (), response: &solo_crawl::Response, _: &mut solo_crawl::Output<()>) {
        if response.url().path() == "/hold" {
            solo::sleep(Duration::from_secs(3)).await;
        }
    }
}

#[test]
fn a_download_waiting_for_the_budget_says_so_when_it_times_out() {
    solo::run(async {
        let site = start(|path: String| async move {
            if path == "/hold" {
                return SiteResponse::typed(200, "text/plain", vec![b'x'; 300 << 10]);
            }
            solo::sleep(Duration::from_millis(200)).await;
            SiteResponse::typed(200, "text/plain", vec![b'y'; 100 << 10])
        })
        .await;
        // Room for one body only: /hold's is held through its slow parse,
        // so /wait waits, and times out saying why.
        let cfg = Config {
            max_bytes: 1 << 20,
            max_buffered: 1 << 20,
            timeout: Duration::from_secs(1),
            max_retries: 0,
            ..quick()
        };
        let spider = SlowOverHold(vec![site.url("/hold"), site.url("/wait")]);
        let (summary, recs) = crawl(spider, cfg).await;
        let wait = record(&recs, "/wait");
        let e = wait.error.as_deref().unwrap_or_default();
        assert!(
            e.starts_with("timeout:") && e.contains("--max-buffered"),
            "{wait:?}"
        );
        assert_eq!(record(&recs, "/hold").bytes, 300 << 10);
        assert!(summary.buffered_peak_bytes <= 1 << 20);
    });
}

/// Millions of nested tags do not take the crawler's memory: the scan
/// once kept a stack of open elements that grew ~100 bytes a level (a
/// 12 MiB page of `<div>`s, 2.5 M levels, took several hundred MB); now
/// it keeps none, and reads the whole page.
/// Peak RSS of the binary, from its stats file.
#[test]
fn deeply_nested_markup_does_not_take_the_memory() {
    let mut page = String::from("<a href=\"/first\">x</a>");
    page.push_str(&"<div>".repeat(2_500_000));
    let body = page.into_bytes();
    let base = common::blocking::serve(move |req| {
        let body: &[u8] = if req.path == "/" {
            &body
        } else {
            b"<title>leaf</title>"
        };
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    });
    let dir = std::env::temp_dir().join(format!("solo-crawl-nested-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats = dir.join("stats.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args([
            "crawl",
            &format!("{base}/"),
            "--ignore-robots",
            "--stats-file",
        ])
        .arg(&stats)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["pages"], 2, "the link before the nest is followed: {s}");
    // The whole page was read: its links were not cut short.
    assert_eq!(s["links_capped"], 0, "{s}");
    let peak = s["peak_rss_bytes"].as_u64().unwrap();
    assert!(peak < 160 << 20, "peak RSS {} MiB", peak >> 20);
    let _ = std::fs::remove_dir_all(&dir);
}
