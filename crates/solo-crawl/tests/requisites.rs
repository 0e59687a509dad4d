//! `--page-requisites` (wget's `-p`): a page at the last depth still gets
//! what it embeds — an image and its `srcset`, a script, an iframe, a
//! stylesheet with an `@import` and a font, an inline `style` url(), a
//! `<style>` block's url(), an image on a second host — and those are not
//! followed (the iframe past --depth: its link and image are not fetched;
//! one within --depth that is linked too is crawled as a page), robots.txt
//! still applies, and the page's `nofollow` does not drop them. Without the option the crawl fetches what it did
//! before; with `--warc` the archive holds every requisite, read back by
//! warcio.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use solo_crawl::demo_site::SiteResponse;
use solo_crawl::Config;

mod common;

use common::{blocking, crawl_links, quick, record, start, start_on, stdout_of, Site};

/// The main site's answer to `path`: (status, content type, body).
/// `cdn` is the second host's base URL (no trailing slash).
fn answer(path: &str, cdn: &str) -> (u16, &'static str, String) {
    let html = |s: String| (200, "text/html", s);
    match path {
        "/robots.txt" => (200, "text/plain", "User-agent: *\nDisallow: /private\n".into()),
        // The icon is a link too (within --depth): with the option, a
        // requisite first.
        "/" => html(
            r#"<title>home</title><link rel=icon href="/favicon.ico"><a href="/last.html">last</a>"#
                .into(),
        ),
        // Depth 1, the last one with --depth 1.
        "/last.html" => html(format!(
            r#"<html><head><title>last</title><meta name=robots content=nofollow>
            <link rel=stylesheet href="/s.css"><link rel=icon href="/favicon.ico">
            <style>.hero {{ background: url(/style-block.png) }}</style>
            <script src="/app.js"></script></head>
            <body><div style="background-image: url('/inline.png')">x</div>
            <img src="/img.png" srcset="/img-2x.png 2x, /img-3x.png 3x">
            <iframe src="/frame.html"></iframe>
            <img src="{cdn}/cdn.png"><img src="/private.png">
            <a href="/deeper.html">deeper</a></body></html>"#
        )),
        "/s.css" => (
            200,
            "text/css",
            "@import \"imp.css\";\n@font-face { font-family: F; src: url(fonts/f.woff2) format('woff2') }\n".into(),
        ),
        "/imp.css" => (200, "text/css", "body { background: url(\"imp-bg.png\") }".into()),
        // Fetched as a requisite: not followed.
        "/frame.html" => html(r#"<a href="/from-frame.html">x</a><img src="/frame-img.png">"#.into()),
        "/deeper.html" | "/from-frame.html" => html("<title>too far</title>".into()),
        p if p.ends_with(".png") || p.ends_with(".js") || p.ends_with(".woff2") || p.ends_with(".ico") => {
            (200, "application/octet-stream", format!("bytes of {p}"))
        }
        _ => (404, "text/plain", "no such thing".into()),
    }
}

/// What the main site serves with `--depth 1` and no option: the pages.
const TODAY: &[&str] = &["/", "/favicon.ico", "/last.html", "/robots.txt"];

/// What `--page-requisites` adds on the main site (not /private.png:
/// robots.txt; not the iframe's link and image, nor /deeper.html).
const REQUISITES: &[&str] = &[
    "/app.js",
    "/fonts/f.woff2",
    "/frame.html",
    "/imp-bg.png",
    "/imp.css",
    "/img-2x.png",
    "/img-3x.png",
    "/img.png",
    "/inline.png",
    "/s.css",
    "/style-block.png",
];

fn sorted(v: impl IntoIterator<Item = impl Into<String>>) -> BTreeSet<String> {
    v.into_iter().map(Into::into).collect()
}

fn paths_with_requisites() -> BTreeSet<String> {
    sorted(TODAY.iter().chain(REQUISITES).copied())
}

/// The main site and the second host (127.0.0.2), in this loop.
async fn sites() -> (Site, Site) {
    let cdn = start_on(
        "127.0.0.2",
        common::routes(vec![(
            "/cdn.png",
            SiteResponse::typed(200, "image/png", "png"),
        )]),
    )
    .await;
    let base = cdn.base.as_str().trim_end_matches('/').to_owned();
    let site = start(move |path: String| {
        let (status, ctype, body) = answer(&path, &base);
        std::future::ready(SiteResponse::typed(status, ctype, body))
    })
    .await;
    (site, cdn)
}

fn cfg(requisites: bool) -> Config {
    Config {
        depth_limit: Some(1),
        obey_robots: true,
        page_requisites: requisites,
        ..quick()
    }
}

#[test]
fn without_the_option_the_crawl_fetches_what_it_did() {
    solo::run(async {
        let (site, cdn) = sites().await;
        let (_, records) = crawl_links(vec![site.url("/")], cfg(false)).await;
        assert_eq!(sorted(site.paths()), sorted(TODAY.iter().copied()));
        assert!(cdn.paths().is_empty(), "{:?}", cdn.paths());
        assert_eq!(record(&records, "/last.html").requisites, 0);
        assert!(!record(&records, "/favicon.ico").requisite);
    });
}

#[test]
fn requisites_of_a_page_at_the_last_depth_are_fetched_and_not_followed() {
    solo::run(async {
        let (site, cdn) = sites().await;
        let (summary, records) = crawl_links(vec![site.url("/")], cfg(true)).await;
        assert_eq!(sorted(site.paths()), paths_with_requisites());
        // Each once; the second host too (with its robots.txt).
        assert_eq!(site.paths().len(), paths_with_requisites().len());
        assert_eq!(sorted(cdn.paths()), sorted(["/cdn.png", "/robots.txt"]));
        let last = record(&records, "/last.html");
        // Embeds are not links: a nofollow page keeps them.
        assert!(!last.requisite && last.nofollow);
        // Its 10 URLs and the one robots.txt turns away; not the link.
        assert_eq!(last.requisites, 11);
        let img = record(&records, "/img.png");
        assert!(img.requisite);
        assert_eq!((img.depth, img.status), (2, Some(200)));
        assert!(img.referer.as_deref().unwrap().ends_with("/last.html"));
        let icon = record(&records, "/favicon.ico");
        assert!(icon.requisite && icon.referer.as_deref().unwrap().ends_with('/'));
        let css = record(&records, "/s.css");
        assert_eq!((css.requisite, css.requisites), (true, 2));
        assert_eq!(record(&records, "/fonts/f.woff2").depth, 3);
        assert_eq!(record(&records, "/imp-bg.png").depth, 4);
        assert_eq!(record(&records, "/frame.html").links, 0, "not scanned");
        assert_eq!(summary.filtered["robots"], 1, "/private.png");
    });
}

#[test]
fn requisites_in_scope_stay_on_the_crawls_hosts() {
    solo::run(async {
        let (site, cdn) = sites().await;
        let cfg = Config {
            requisites_in_scope: true,
            ..cfg(true)
        };
        let _ = crawl_links(vec![site.url("/")], cfg).await;
        assert_eq!(sorted(site.paths()), paths_with_requisites());
        assert!(cdn.paths().is_empty(), "{:?}", cdn.paths());
    });
}

#[test]
fn an_embedded_page_within_depth_is_crawled_as_a_page() {
    solo::run(async {
        let site = start(|path: String| {
            let html = |b: &str| SiteResponse::typed(200, "text/html", b.to_owned());
            std::future::ready(match path.as_str() {
                // Embedded and linked: with the option, a requisite first.
                "/" => html(r#"<iframe src="/frame.html"></iframe><a href="/frame.html">f</a>"#),
                "/frame.html" => html(r#"<a href="/frame-link">x</a><img src="/f.png">"#),
                "/frame-link" => html("<title>reached</title>"),
                "/f.png" => SiteResponse::typed(200, "image/png", "png".to_owned()),
                _ => SiteResponse::typed(404, "text/plain", String::new()),
            })
        })
        .await;
        let cfg = Config {
            depth_limit: Some(2),
            ..cfg(true)
        };
        let (_, records) = crawl_links(vec![site.url("/")], cfg).await;
        let frame = record(&records, "/frame.html");
        // Fetched as a requisite, crawled as the page the link finds.
        assert_eq!(
            (frame.requisite, frame.links, frame.requisites),
            (true, 1, 1)
        );
        let link = record(&records, "/frame-link");
        assert_eq!(
            (link.requisite, link.depth, link.status),
            (false, 2, Some(200))
        );
        // Its own image is a requisite of a page (one hop).
        assert_eq!(
            (
                record(&records, "/f.png").requisite,
                record(&records, "/f.png").depth
            ),
            (true, 2)
        );
    });
}

#[test]
fn requisites_past_the_link_cap_are_reported_as_requisites_cut() {
    solo::run(async {
        let site = start(|path: String| {
            std::future::ready(match path.as_str() {
                "/" => SiteResponse::typed(
                    200,
                    "text/html",
                    r#"<link rel=stylesheet href=/s.css><img src=/1.png><img src=/2.png>
                    <a href=/other>o</a>"#
                        .to_owned(),
                ),
                "/s.css" => SiteResponse::typed(
                    200,
                    "text/css",
                    "a{b:url(/c1.png)} c{d:url(/c2.png)} e{f:url(/c3.png)}".to_owned(),
                ),
                _ => SiteResponse::typed(200, "image/png", "png".to_owned()),
            })
        })
        .await;
        let cfg = Config {
            max_links_per_page: 2,
            ..cfg(true)
        };
        let (_, records) = crawl_links(vec![site.url("/")], cfg).await;
        // Three embeds, two kept; the two links (the stylesheet's
        // `link[href]` and the `a`) are whole.
        let home = record(&records, "/");
        assert_eq!((home.links, home.requisites), (2, 2));
        assert_eq!(home.truncated, ["requisites"]);
        let css = record(&records, "/s.css");
        assert_eq!(
            (css.requisites, &css.truncated[..]),
            (2, &["requisites".to_owned()][..])
        );
    });
}

/// The target URIs of the `response` records of the WARC files in `dir`,
/// after `warcio check` passes on each.
fn archived(bin: &Path, dir: &Path) -> BTreeSet<String> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    assert!(!files.is_empty(), "no WARC file in {}", dir.display());
    let mut uris = BTreeSet::new();
    for f in &files {
        stdout_of(Command::new(bin.join("warcio")).arg("check").arg(f));
        let script = "import sys\nfrom warcio.archiveiterator import ArchiveIterator\n\
            for r in ArchiveIterator(open(sys.argv[1], 'rb')):\n\
            \x20   if r.rec_type == 'response': print(r.rec_headers.get_header('WARC-Target-URI'))\n";
        let out = stdout_of(Command::new(bin.join("python")).args(["-c", script]).arg(f));
        uris.extend(String::from_utf8(out).unwrap().lines().map(str::to_owned));
    }
    uris
}

#[test]
fn the_warc_of_a_crawl_with_page_requisites_holds_them() {
    let Some(bin) = common::warcio::warcio() else {
        return;
    };
    let http = |ctype: &str, status: u16, body: String| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let cdn = blocking::serve_on("127.0.0.2", move |r| match r.path.as_str() {
        "/cdn.png" => http("image/png", 200, "png".into()),
        _ => http("text/plain", 404, String::new()),
    });
    let cdn2 = cdn.clone();
    let site = blocking::serve(move |r| {
        let (status, ctype, body) = answer(&r.path, &cdn2);
        http(ctype, status, body)
    });
    for (option, want) in [
        (None, sorted(TODAY.iter().copied())),
        (
            Some("--page-requisites"),
            paths_with_requisites()
                .into_iter()
                .chain(["cdn:/cdn.png".into(), "cdn:/robots.txt".into()])
                .collect(),
        ),
    ] {
        let dir = common::fresh_dir(&format!("requisites-warc-{}", option.is_some()));
        let warc = dir.join("crawl.warc.gz");
        let mut args = vec![
            "crawl".to_owned(),
            format!("{site}/"),
            "--depth".into(),
            "1".into(),
            "--warc".into(),
            warc.to_string_lossy().into_owned(),
            "--output".into(),
            dir.join("pages.jsonl").to_string_lossy().into_owned(),
        ];
        args.extend(option.map(str::to_owned));
        stdout_of(Command::new(env!("CARGO_BIN_EXE_solo-crawl")).args(&args));
        let got: BTreeSet<String> = archived(&bin, &dir)
            .into_iter()
            .map(|u| match (u.strip_prefix(&site), u.strip_prefix(&cdn)) {
                (Some(path), _) => path.to_owned(),
                (_, Some(path)) => format!("cdn:{path}"),
                _ => u,
            })
            .collect();
        assert_eq!(got, want, "{option:?}");
    }
}

#[test]
fn requisites_in_scope_alone_is_a_usage_error_that_says_what_to_add() {
    let out = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(["crawl", "http://127.0.0.1:9/", "--requisites-in-scope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("add --page-requisites"), "{err}");
}

#[test]
fn a_recrawl_asks_again_for_the_requisites_of_an_unchanged_page() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let flaky = Arc::new(AtomicUsize::new(0));
    let hits = flaky.clone();
    let site = blocking::serve(move |r| {
        let unchanged = r.header("if-none-match") == Some("\"v1\"");
        let (status, body) = match r.path.as_str() {
            "/" => ("200 OK", r#"<a href="/last.html">last</a>"#),
            "/last.html" if unchanged => ("304 Not Modified", ""),
            "/last.html" => ("200 OK", r#"<img src="/flaky.png"><img src="/ok.png">"#),
            // Missing in the first pass, there in the second.
            "/flaky.png" if hits.fetch_add(1, Ordering::SeqCst) == 0 => ("404 Not Found", ""),
            "/flaky.png" | "/ok.png" => ("200 OK", "png"),
            _ => ("404 Not Found", ""),
        };
        format!(
            "HTTP/1.1 {status}\r\nETag: \"v1\"\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let dir = common::fresh_dir("requisites-recrawl");
    let run = |out: &str, extra: &[&str]| {
        let state = dir.join("state");
        let args = [
            "crawl",
            &format!("{site}/"),
            "--depth",
            "1",
            "--page-requisites",
        ];
        stdout_of(
            Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
                .args(args)
                .arg("--state")
                .arg(&state)
                .arg("--output")
                .arg(dir.join(out))
                .args(extra),
        );
        let text = std::fs::read_to_string(dir.join(out)).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<solo_crawl::PageRecord>>()
    };
    let first = run("pass1.jsonl", &[]);
    assert_eq!(record(&first, "/flaky.png").status, Some(404));
    let second = run("pass2.jsonl", &["--recrawl"]);
    let last = record(&second, "/last.html");
    assert!(last.not_modified);
    // Its links are its links; its requisites are asked for again.
    assert_eq!((last.links, last.requisites), (0, 2));
    let again = record(&second, "/flaky.png");
    assert_eq!((again.status, again.requisite), (Some(200), true));
    assert_eq!(flaky.load(Ordering::SeqCst), 2);
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
enum Cb {
    #[default]
    Product,
    Reviews,
}

/// A product spider: the product page's callback emits one item and
/// follows the reviews page itself (its own callback); it never asks
/// for the page's iframes.
struct Products(url::Url);

impl solo_crawl::Spider for Products {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<solo_crawl::Request<Cb>> {
        vec![solo_crawl::Request::new(self.0.clone(), Cb::Product)]
    }
    async fn parse(
        &self,
        cb: Cb,
        response: &solo_crawl::Response,
        out: &mut solo_crawl::Output<Cb>,
    ) {
        out.item(serde_json::json!({ "cb": format!("{cb:?}"), "path": response.url().path() }));
        if cb == Cb::Product {
            out.follow(response.follow("/reviews.html", Cb::Reviews).unwrap());
        }
    }
}

/// With page requisites on, a custom spider's callbacks see only what it
/// asked for: the product page's iframes (a reviews widget, an ad) are
/// fetched for the archive, not parsed with the product's callback (two
/// bogus products, before), and the reviews page the spider follows
/// itself is fetched with its own callback although it was embedded
/// first (it was dropped as seen). `LinkSpider` still crawls an
/// embedded page within scope as a page (the test above).
#[test]
fn a_custom_spiders_callbacks_see_no_requisite_it_did_not_claim() {
    solo::run(async {
        let product = r#"<title>p</title><iframe src="/reviews.html"></iframe><iframe src="/ad.html"></iframe>"#;
        let site = start(common::routes(vec![
            ("/product", SiteResponse::html(product)),
            (
                "/reviews.html",
                SiteResponse::html("<title>reviews</title>"),
            ),
            ("/ad.html", SiteResponse::html("<title>ad</title>")),
        ]))
        .await;
        let items = solo_crawl::output::SharedBuf::default();
        let out = solo_crawl::OutputConfig {
            items: solo_crawl::Target::Buffer(items.clone()),
            ..Default::default()
        };
        let summary = solo_crawl::Crawler::new(Products(site.url("/product")), cfg(true))
            .output(out)
            .run()
            .await
            .unwrap();
        let text = String::from_utf8(items.lock().unwrap().clone()).unwrap();
        let got: BTreeSet<String> = text.lines().map(str::to_owned).collect();
        let want: BTreeSet<String> = [
            r#"{"cb":"Product","path":"/product"}"#,
            r#"{"cb":"Reviews","path":"/reviews.html"}"#,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(got, want);
        assert_eq!(summary.counts.items, 2);
        // Each iframe fetched once as a requisite; the reviews page once
        // more for the spider's own request.
        assert_eq!(site.count("/ad.html"), 1);
        assert_eq!(site.count("/reviews.html"), 2);
    });
}

/// What a client without scripts sees inside `<noscript>` is crawled, as
/// wget -r -p and Scrapy find it (audit: a pagination fallback, a
/// lazy-load image's fallback and a stylesheet in `<head>` were missed,
/// and left out of the page's link count).
#[test]
fn links_and_requisites_inside_noscript_are_found() {
    solo::run(async {
        let site = start(|path: String| {
            let html = |b: &str| SiteResponse::typed(200, "text/html", b.to_owned());
            std::future::ready(match path.as_str() {
                "/" => html(
                    r#"<html><head><noscript><link rel=stylesheet href="/ns.css"></noscript></head>
                    <body><a href="/visible">v</a>
                    <img data-src="/lazy.jpg"><noscript><img src="/ns-img.jpg"></noscript>
                    <noscript><a href="/page/2">Next page</a></noscript></body></html>"#,
                ),
                "/ns.css" => SiteResponse::typed(200, "text/css", "p {}".to_owned()),
                "/ns-img.jpg" => SiteResponse::typed(200, "image/jpeg", "jpg".to_owned()),
                "/visible" | "/page/2" => html("<title>a page</title>"),
                _ => SiteResponse::typed(404, "text/plain", String::new()),
            })
        })
        .await;
        let (_, records) = crawl_links(vec![site.url("/")], cfg(true)).await;
        let wget = [
            "/",
            "/ns-img.jpg",
            "/ns.css",
            "/page/2",
            "/robots.txt",
            "/visible",
        ];
        assert_eq!(sorted(site.paths()), sorted(wget));
        let home = record(&records, "/");
        // The stylesheet, the link in the text and the fallback link.
        assert_eq!((home.links, home.requisites), (3, 2));
    });
}
