//! Spiders: what to crawl and what to make of each page.
//!
//! Owns: the [`Spider`] trait (start requests, parse callbacks, the error
//! callback), the [`Output`] a callback writes to (items and follow-up
//! requests), and [`LinkSpider`], the built-in spider that follows every
//! link. Must not: fetch, schedule or write output itself — callbacks
//! only return what they found, the engine does the rest.
//!
//! # Heavy parsing
//!
//! Callbacks run on the loop thread: while one runs, no other request
//! makes progress (the loop-lag statistic shows it). For parsing that takes
//! milliseconds, hand the bytes to a worker thread with
//! [`solo::to_thread`] and await the result: the loop keeps crawling
//! meanwhile.
//!
//! ```
//! use solo_crawl::{Output, Request, Response, Spider};
//! # #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)] struct Cb;
//! struct Heavy;
//! impl Spider for Heavy {
//!     type Callback = Cb;
//!     fn start_requests(&self) -> Vec<Request<Cb>> { vec![] }
//!     async fn parse(&self, _: Cb, response: &Response, out: &mut Output<Cb>) {
//!         let body = response.body().clone(); // `Bytes`: cheap to clone, Send
//!         let words = solo::to_thread(move || {
//!             // Blocking, CPU-heavy work belongs here, off the loop.
//!             String::from_utf8_lossy(&body).split_whitespace().count()
//!         })
//!         .await;
//!         out.item(serde_json::json!({ "url": response.url().as_str(), "words": words }));
//!     }
//! }
//! # solo::run(async {
//! #     let r = Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "a b c".into());
//! #     let mut out = Output::new();
//! #     Heavy.parse(Cb, &r, &mut out).await;
//! #     assert_eq!(out.items()[0]["words"], 3);
//! # });
//! ```

use std::fmt::Debug;

use serde::{de::DeserializeOwned, Serialize};
use url::Url;

use crate::fetch::FetchError;
use crate::request::Request;
use crate::response::Response;

/// A crawl's logic (Scrapy's `Spider`): where to start, and for each
/// response, what items it holds and which pages to visit next.
///
/// Each request names its callback as a value of `Callback`, an enum the
/// spider defines; it is persisted with the frontier, hence the serde
/// bounds. Its `Default` is the callback of plain requests.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use solo_crawl::{Output, Request, Response, Spider};
///
/// #[derive(Clone, Debug, Default, Serialize, Deserialize)]
/// enum Cb { #[default] List, Detail }
///
/// struct Shop;
/// impl Spider for Shop {
///     type Callback = Cb;
///     fn start_requests(&self) -> Vec<Request<Cb>> {
///         vec![Request::parse("http://shop.test/list", Cb::List).unwrap()]
///     }
///     async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
///         match cb {
///             Cb::List => {
///                 for a in response.select("a.product").unwrap() {
///                     if let Some(r) = a.attr("href").and_then(|h| response.follow(h, Cb::Detail)) {
///                         out.follow(r);
///                     }
///                 }
///             }
///             Cb::Detail => out.item(serde_json::json!({
///                 "name": response.title(),
///                 "url": response.url().as_str(),
///             })),
///         }
///     }
/// }
///
/// solo::run(async {
///     let page = Response::new(url::Url::parse("http://shop.test/list").unwrap(), 200, vec![],
///         r#"<a class=product href="/p/1">1</a><a href="/about">about</a>"#.into());
///     let mut out = Output::new();
///     Shop.parse(Cb::List, &page, &mut out).await;
///     assert_eq!(out.requests().len(), 1);
///     assert_eq!(out.requests()[0].url.path(), "/p/1");
/// });
/// ```
#[allow(async_fn_in_trait)] // single-threaded: the futures need not be Send
pub trait Spider: 'static {
    /// Names a parse callback; carried by every request.
    type Callback: Clone + Debug + Default + Serialize + DeserializeOwned + 'static;

    /// The requests the crawl starts from (depth 0). They go through the
    /// seen set like any request, unlike Scrapy's (`dont_filter=True`):
    /// two for one URL are fetched once, and a later request for a start
    /// URL (a redirect back to `/login`) is dropped as seen. Mark one
    /// [`dont_filter`](Request::dont_filter) to fetch it regardless.
    fn start_requests(&self) -> Vec<Request<Self::Callback>>;

    /// Parses a successful (2xx) response fetched for a request naming
    /// `callback`: emit items and follow-up requests into `out`.
    async fn parse(
        &self,
        callback: Self::Callback,
        response: &Response,
        out: &mut Output<Self::Callback>,
    );

    /// The callback that parses a page found in a sitemap, or `None` to
    /// skip it (Scrapy's `sitemap_rules`; a
    /// [`SitemapRules`](crate::sitemap::SitemapRules) answers it). By
    /// default every page is crawled with the default callback.
    ///
    /// ```
    /// use solo_crawl::{SitemapRules, Output, Request, Response, Spider};
    /// #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
    /// enum Cb { #[default] Other, Product }
    /// struct Shop { rules: SitemapRules<Cb> }
    /// impl Spider for Shop {
    ///     type Callback = Cb;
    ///     fn start_requests(&self) -> Vec<Request<Cb>> {
    ///         vec![Request::sitemap(url::Url::parse("http://shop.test/robots.txt").unwrap(), Cb::Other)]
    ///     }
    ///     fn sitemap_callback(&self, url: &url::Url) -> Option<Cb> { self.rules.callback(url) }
    ///     async fn parse(&self, _: Cb, _: &Response, _: &mut Output<Cb>) {}
    /// }
    /// let shop = Shop { rules: SitemapRules::new([("/product/", Cb::Product)]).unwrap() };
    /// let u = url::Url::parse("http://shop.test/product/7").unwrap();
    /// assert!(matches!(shop.sitemap_callback(&u), Some(Cb::Product)));
    /// ```
    fn sitemap_callback(&self, url: &Url) -> Option<Self::Callback> {
        let _ = url;
        Some(Self::Callback::default())
    }

    /// Called once when the crawl is over (Scrapy's `closed(reason)`),
    /// after the item pipelines closed and the outputs were written, with
    /// the crawl's statistics: `summary.interrupted` is Scrapy's
    /// `"shutdown"`, a spent `--max-pages` its `"closespider_pagecount"`.
    /// Not called when the crawl fails with an error. Nothing by default.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use solo_crawl::{demo_site::DemoSite, Config, Crawler, Output, Request, Response, Spider, Summary};
    /// static PAGES: AtomicU64 = AtomicU64::new(0);
    /// struct Report(url::Url);
    /// impl Spider for Report {
    ///     type Callback = ();
    ///     fn start_requests(&self) -> Vec<Request<()>> { vec![Request::new(self.0.clone(), ())] }
    ///     async fn parse(&self, _: (), _: &Response, _: &mut Output<()>) {}
    ///     async fn closed(&self, summary: &Summary) {
    ///         PAGES.store(summary.counts.pages, Ordering::Relaxed); // e.g. a report, a notification
    ///     }
    /// }
    /// let site = DemoSite::start(5).unwrap();
    /// solo::run(Crawler::new(Report(site.url()), Config::default()).run()).unwrap();
    /// assert_eq!(PAGES.load(Ordering::Relaxed), 1);
    /// ```
    async fn closed(&self, summary: &crate::Summary) {
        let _ = summary;
    }

    /// With [`Config::page_requisites`](crate::Config::page_requisites):
    /// the callback that parses a requisite (a frame, an iframe) as a
    /// page when its answer is HTML and the crawl would have followed it
    /// as a link (within the scope and depth), or `None` (the default) to
    /// fetch it for the archive only. The spider asked for none of these
    /// URLs, so none reaches a callback unless it says so here; a request
    /// the spider makes itself for such a URL is fetched with its own
    /// callback, apart from the requisite. [`LinkSpider`] parses them
    /// as pages, so a frame that is also linked is crawled once.
    ///
    /// ```
    /// use solo_crawl::{LinkSpider, Spider};
    /// let u = url::Url::parse("http://a.test/frame.html").unwrap();
    /// assert!(LinkSpider::new(vec![]).requisite_callback(&u).is_some());
    /// ```
    fn requisite_callback(&self, url: &Url) -> Option<Self::Callback> {
        let _ = url;
        None
    }

    /// Whether to read a sitemap that an index or robots.txt lists
    /// (Scrapy's `sitemap_follow`); all by default.
    ///
    /// ```
    /// use solo_crawl::{LinkSpider, Spider};
    /// let u = url::Url::parse("http://a.test/sitemap-news.xml").unwrap();
    /// assert!(LinkSpider::new(vec![]).sitemap_follow(&u));
    /// ```
    fn sitemap_follow(&self, url: &Url) -> bool {
        let _ = url;
        true
    }

    /// Whether to take an entry of a sitemap, a page or a sitemap, given
    /// its `<lastmod>` as written (Scrapy's `sitemap_filter`): a news
    /// crawl skips old articles, and old monthly sitemaps, before they
    /// are fetched. All by default; [`lastmod_time`](crate::lastmod_time)
    /// reads the date. (`Config::sitemap_newer_than` skips by age alone.)
    ///
    /// ```
    /// use solo_crawl::lastmod_time;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// // In a spider: only entries dated 2024 or later, and undated ones.
    /// fn sitemap_filter(_: &url::Url, lastmod: Option<&str>) -> bool {
    ///     let since = UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01
    ///     lastmod.and_then(lastmod_time).map_or(true, |t| t >= since)
    /// }
    /// let u = url::Url::parse("http://news.test/a/1").unwrap();
    /// assert!(sitemap_filter(&u, Some("2024-03-01")));
    /// assert!(!sitemap_filter(&u, Some("2019-03-01T08:00Z")));
    /// assert!(sitemap_filter(&u, None));
    /// ```
    fn sitemap_filter(&self, url: &Url, lastmod: Option<&str>) -> bool {
        let _ = (url, lastmod);
        true
    }

    /// Called instead of [`parse`](Spider::parse) when a request failed
    /// for good (after retries): a non-2xx status or a fetch error. Does
    /// nothing by default; the page record carries the failure either way.
    async fn on_error(
        &self,
        request: &Request<Self::Callback>,
        failure: Failure<'_>,
        out: &mut Output<Self::Callback>,
    ) {
        let _ = (request, failure, out);
    }
}

/// Why a request failed, for [`Spider::on_error`].
///
/// ```
/// use solo_crawl::{fetch::{FetchError, FetchErrorKind}, Failure};
/// let e = FetchError::new(FetchErrorKind::Timeout, "slow");
/// assert!(matches!(Failure::Fetch(&e), Failure::Fetch(_)));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The server answered with a non-2xx status (after retries and
    /// redirects).
    Status(&'a Response),
    /// No usable response: connection, timeout, size limit, ...
    Fetch(&'a FetchError),
}

/// What a callback found: items and requests to follow.
///
/// ```
/// let mut out = solo_crawl::Output::<()>::new();
/// out.item(serde_json::json!({"price": 3}));
/// out.follow(solo_crawl::Request::parse("http://a.test/next", ()).unwrap());
/// assert_eq!(out.items().len(), 1);
/// assert_eq!(out.requests().len(), 1);
/// ```
#[derive(Debug)]
pub struct Output<C> {
    items: Vec<serde_json::Value>,
    requests: Vec<Request<C>>,
    item_errors: Vec<String>,
}

impl<C> Default for Output<C> {
    fn default() -> Self {
        Output {
            items: Vec::new(),
            requests: Vec::new(),
            item_errors: Vec::new(),
        }
    }
}

impl<C> Output<C> {
    /// An empty output.
    ///
    /// ```
    /// assert!(solo_crawl::Output::<()>::new().items().is_empty());
    /// ```
    pub fn new() -> Output<C> {
        Output::default()
    }

    /// Emits an item (anything `Serialize`; written as one JSON line, or a
    /// CSV row). One that fails to serialize (a map with keys that are
    /// not strings, a `Serialize` impl that errs) is not written: it is
    /// counted in `errors` as `item_serialize`, the first one logged (a
    /// warning) with its page's URL and serde's message, which
    /// [`Summary::first_item_failure`](crate::Summary::first_item_failure)
    /// also says if no item was lost before.
    ///
    /// ```
    /// #[derive(serde::Serialize)] struct Quote { text: String }
    /// let mut out = solo_crawl::Output::<()>::new();
    /// out.item(Quote { text: "hi".into() });
    /// assert_eq!(out.items()[0]["text"], "hi");
    /// ```
    pub fn item(&mut self, item: impl Serialize) {
        match serde_json::to_value(item) {
            Ok(v) => self.items.push(v),
            Err(e) => self.item_errors.push(e.to_string()),
        }
    }

    /// Asks for `request` to be crawled. The crawler sets its depth (this
    /// page's + 1) and referer (this page); the frontier may still drop it
    /// (seen, off-site, too deep, filtered, robots.txt).
    ///
    /// ```
    /// let mut out = solo_crawl::Output::new();
    /// out.follow(solo_crawl::Request::parse("http://a.test/", 1u8).unwrap());
    /// assert_eq!(out.requests()[0].callback, 1);
    /// ```
    pub fn follow(&mut self, request: Request<C>) {
        self.requests.push(request);
    }

    /// The items emitted so far.
    ///
    /// ```
    /// assert!(solo_crawl::Output::<()>::new().items().is_empty());
    /// ```
    pub fn items(&self) -> &[serde_json::Value] {
        &self.items
    }

    /// The requests asked for so far.
    ///
    /// ```
    /// assert!(solo_crawl::Output::<()>::new().requests().is_empty());
    /// ```
    pub fn requests(&self) -> &[Request<C>] {
        &self.requests
    }

    /// Keeps only the requests `keep` accepts; how many were dropped.
    pub(crate) fn retain_requests(&mut self, keep: impl FnMut(&Request<C>) -> bool) -> usize {
        let before = self.requests.len();
        self.requests.retain(keep);
        before - self.requests.len()
    }

    /// Puts a page's requisites before the requests its callback asked
    /// for: a URL that is both (a stylesheet's `<link>`) is a requisite.
    pub(crate) fn embed(&mut self, requisites: Vec<Request<C>>) {
        self.requests.splice(0..0, requisites);
    }

    pub(crate) fn into_parts(self) -> (Vec<serde_json::Value>, Vec<Request<C>>, Vec<String>) {
        (self.items, self.requests, self.item_errors)
    }
}

/// The callback of [`LinkSpider`]: there is only one.
///
/// ```
/// assert_eq!(solo_crawl::LinkCallback::default(), solo_crawl::LinkCallback::Page);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum LinkCallback {
    /// Follow the page's links.
    #[default]
    Page,
}

/// The spider of the command line: starts from some URLs, follows every
/// link (the frontier decides which are in scope), emits no items — the
/// per-page records are the output.
///
/// ```
/// use solo_crawl::{LinkSpider, Spider};
/// let s = LinkSpider::new(vec![url::Url::parse("http://a.test/").unwrap()]);
/// assert_eq!(s.start_requests().len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct LinkSpider {
    start: Vec<Url>,
}

impl LinkSpider {
    /// A spider starting from `start`.
    ///
    /// ```
    /// let _ = solo_crawl::LinkSpider::new(vec![]);
    /// ```
    pub fn new(start: Vec<Url>) -> LinkSpider {
        LinkSpider { start }
    }
}

impl Spider for LinkSpider {
    type Callback = LinkCallback;

    fn start_requests(&self) -> Vec<Request<LinkCallback>> {
        self.start
            .iter()
            .map(|u| Request::new(u.clone(), LinkCallback::Page))
            .collect()
    }

    fn requisite_callback(&self, _: &Url) -> Option<LinkCallback> {
        Some(LinkCallback::Page)
    }

    async fn parse(&self, _: LinkCallback, response: &Response, out: &mut Output<LinkCallback>) {
        for link in response.links() {
            out.follow(Request::new(link.clone(), LinkCallback::Page));
        }
    }
}
