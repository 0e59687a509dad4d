//! Requests: what a spider asks the crawler to fetch.
//!
//! Owns: the [`Request`] value — a URL, the callback that will parse its
//! response, the user's data (`meta`), and the bookkeeping the crawler
//! fills in (depth, retries, referer). Requests are plain data: they
//! serialize, so the state store can persist the frontier. Must not: do
//! I/O, or decide whether a request is allowed (that is the frontier's
//! job).

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use url::Url;

/// One page to fetch, and which callback parses it (Scrapy's
/// `Request(url, callback=..., meta=..., priority=...)`).
///
/// `depth` and `referer` are set by the crawler when a request is
/// followed from a page (depth of the page + 1, the page's URL); start
/// requests have depth 0 and no referer. `retries` counts the attempts
/// already made after the first. A redirect comes back as a new request
/// for its target, with the same callback, meta, depth and referer, and
/// the URLs it was redirected from in `redirected_from` (see
/// [`redirect`](crate::redirect)).
///
/// ```
/// use solo_crawl::Request;
/// let r = Request::parse("https://example.com/a?x=1", "detail")
///     .unwrap()
///     .with_meta(serde_json::json!({"section": "news"}))
///     .with_priority(5);
/// assert_eq!(r.url.path(), "/a");
/// assert_eq!(r.callback, "detail");
/// assert_eq!((r.depth, r.retries, r.priority), (0, 0, 5));
/// assert_eq!(r.meta["section"], "news");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "C: Serialize", deserialize = "C: DeserializeOwned"))]
pub struct Request<C> {
    /// The URL to fetch (as given; the frontier dedups on its canonical
    /// form).
    pub url: Url,
    /// Which of the spider's callbacks parses the response.
    pub callback: C,
    /// Links followed from the start requests to reach this one.
    pub depth: u32,
    /// The user's data, handed back on the response.
    #[serde(default)]
    pub meta: serde_json::Value,
    /// Higher runs first among the requests queued for the same host.
    #[serde(default)]
    pub priority: i32,
    /// Attempts already made after the first one.
    #[serde(default)]
    pub retries: u32,
    /// The page this request was found on.
    #[serde(default)]
    pub referer: Option<Url>,
    /// The URLs that redirected to this one, oldest first (empty unless
    /// the request is a redirect's target); its length is the hop count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirected_from: Vec<Url>,
}

impl<C> Request<C> {
    /// A start request (depth 0) for `url`, parsed by `callback`.
    ///
    /// ```
    /// let url = url::Url::parse("http://127.0.0.1:8080/").unwrap();
    /// let r = solo_crawl::Request::new(url, ());
    /// assert_eq!(r.depth, 0);
    /// assert!(r.referer.is_none());
    /// ```
    pub fn new(url: Url, callback: C) -> Request<C> {
        Request {
            url,
            callback,
            depth: 0,
            meta: serde_json::Value::Null,
            priority: 0,
            retries: 0,
            referer: None,
            redirected_from: Vec::new(),
        }
    }

    /// [`Request::new`] from a string.
    ///
    /// ```
    /// assert!(solo_crawl::Request::parse("not a url", ()).is_err());
    /// ```
    pub fn parse(url: &str, callback: C) -> Result<Request<C>, url::ParseError> {
        Ok(Request::new(Url::parse(url)?, callback))
    }

    /// Attaches user data, available as [`Response::meta`](crate::Response::meta).
    ///
    /// ```
    /// let r = solo_crawl::Request::parse("http://a.test/", ()).unwrap().with_meta(serde_json::json!(7));
    /// assert_eq!(r.meta, 7);
    /// ```
    pub fn with_meta(mut self, meta: serde_json::Value) -> Request<C> {
        self.meta = meta;
        self
    }

    /// Sets the priority (default 0; higher is fetched first among the
    /// requests waiting for the same host).
    ///
    /// ```
    /// let r = solo_crawl::Request::parse("http://a.test/", ()).unwrap().with_priority(-1);
    /// assert_eq!(r.priority, -1);
    /// ```
    pub fn with_priority(mut self, priority: i32) -> Request<C> {
        self.priority = priority;
        self
    }
}
