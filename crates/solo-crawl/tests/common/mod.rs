//! Test sites served on 127.0.0.1 by the test itself (same loop as the
//! crawler), counting what they were asked.
#![allow(dead_code)]

pub mod blocking;
pub mod nginx;
pub mod tls;
pub mod warcio;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo_crawl::demo_site::{serve, SiteRequest, SiteResponse};
use solo_crawl::output::SharedBuf;
use solo_crawl::{Config, Crawler, LinkSpider, OutputConfig, PageRecord, Spider, Summary, Target};
use url::Url;

/// One request the site received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub at: Instant,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub authorization: Option<String>,
}

/// A running test site.
#[derive(Clone)]
pub struct Site {
    pub base: Url,
    pub hits: Rc<RefCell<Vec<Hit>>>,
    pub current: Rc<Cell<usize>>,
    pub max_concurrent: Rc<Cell<usize>>,
}

impl Site {
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// Paths requested, in order.
    pub fn paths(&self) -> Vec<String> {
        self.hits.borrow().iter().map(|h| h.path.clone()).collect()
    }

    /// How often `path` was requested.
    pub fn count(&self, path: &str) -> usize {
        self.hits.borrow().iter().filter(|h| h.path == path).count()
    }

    /// When `path` was requested, in order.
    pub fn times(&self, path: &str) -> Vec<Instant> {
        self.hits
            .borrow()
            .iter()
            .filter(|h| h.path == path)
            .map(|h| h.at)
            .collect()
    }
}

/// Serves `handler` on 127.0.0.1 (a free port), counting requests and
/// how many are in progress at once. Must run inside `solo::run`.
pub async fn start<H, Fut>(handler: H) -> Site
where
    H: Fn(String) -> Fut + 'static,
    Fut: Future<Output = SiteResponse> + 'static,
{
    start_on("127.0.0.1", handler).await
}

/// [`start`] on another loopback address (e.g. 127.0.0.2: another host
/// to the crawler, with no DNS involved).
pub async fn start_on<H, Fut>(ip: &str, handler: H) -> Site
where
    H: Fn(String) -> Fut + 'static,
    Fut: Future<Output = SiteResponse> + 'static,
{
    let listener = solo::net::TcpListener::bind((ip, 0)).await.unwrap();
    start_with(listener, handler)
}

/// [`start`] on a listener of the caller's (e.g. a chosen port).
pub fn start_with<H, Fut>(listener: solo::net::TcpListener, handler: H) -> Site
where
    H: Fn(String) -> Fut + 'static,
    Fut: Future<Output = SiteResponse> + 'static,
{
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let site = Site {
        base,
        hits: Rc::default(),
        current: Rc::default(),
        max_concurrent: Rc::default(),
    };
    let s = site.clone();
    let handler = Rc::new(handler);
    solo::spawn(serve(listener, move |req: SiteRequest| {
        let s = s.clone();
        let handler = handler.clone();
        async move {
            s.hits.borrow_mut().push(Hit {
                path: req.path.clone(),
                at: Instant::now(),
                user_agent: req.header("user-agent").map(str::to_owned),
                referer: req.header("referer").map(str::to_owned),
                authorization: req.header("authorization").map(str::to_owned),
            });
            s.current.set(s.current.get() + 1);
            s.max_concurrent
                .set(s.max_concurrent.get().max(s.current.get()));
            let r = handler(req.path).await;
            s.current.set(s.current.get() - 1);
            r
        }
    }));
    site
}

/// A handler that serves fixed routes (the rest are 404s).
pub fn routes(
    table: Vec<(&'static str, SiteResponse)>,
) -> impl Fn(String) -> std::future::Ready<SiteResponse> {
    move |path: String| {
        let r = table
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| SiteResponse::status(404));
        std::future::ready(r)
    }
}

/// An HTML page linking to `links`.
pub fn page(title: &str, links: &[&str]) -> SiteResponse {
    let mut html = format!("<html><head><title>{title}</title></head><body>");
    for l in links {
        html.push_str(&format!("<a href=\"{l}\">{l}</a>\n"));
    }
    html.push_str("</body></html>");
    SiteResponse::html(html)
}

/// Settings for fast tests: no robots.txt, quick retries.
pub fn quick() -> Config {
    Config {
        obey_robots: false,
        backoff_base: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
        ..Config::default()
    }
}

/// Crawls with `spider`; the summary and the page records written.
pub async fn crawl<S: Spider>(spider: S, cfg: Config) -> (Summary, Vec<PageRecord>) {
    let buf = SharedBuf::default();
    let out = OutputConfig {
        pages: Target::Buffer(buf.clone()),
        items: Target::Discard,
        ..Default::default()
    };
    let summary = solo::timeout(
        Duration::from_secs(60),
        Crawler::new(spider, cfg).output(out).run(),
    )
    .await
    .expect("the crawl finishes within 60 s")
    .expect("the crawl runs");
    (summary, records(&buf))
}

/// Crawls from `seeds` following every link.
pub async fn crawl_links(seeds: Vec<Url>, cfg: Config) -> (Summary, Vec<PageRecord>) {
    crawl(LinkSpider::new(seeds), cfg).await
}

/// The page records in a buffer.
pub fn records(buf: &SharedBuf) -> Vec<PageRecord> {
    let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The record for the URL ending in `suffix`.
pub fn record<'a>(records: &'a [PageRecord], suffix: &str) -> &'a PageRecord {
    records
        .iter()
        .find(|r| r.url.ends_with(suffix))
        .unwrap_or_else(|| panic!("no record for {suffix}: {records:#?}"))
}

/// The paths (with query) of the records' URLs, sorted.
pub fn record_paths(records: &[PageRecord]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| {
            let u = Url::parse(&r.url).unwrap();
            u[url::Position::BeforePath..url::Position::AfterQuery].to_owned()
        })
        .collect();
    v.sort();
    v
}

/// An empty directory of this test process's own (`name` tells the tests
/// of one binary apart).
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd` to its end; its stdout, or a panic with its stderr when it
/// fails.
pub fn stdout_of(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
