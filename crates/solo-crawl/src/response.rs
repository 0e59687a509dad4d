//! Responses as spiders see them.
//!
//! Owns: the [`Response`] handed to parse callbacks — status, headers,
//! body, the URL that answered and the redirects that led to it, the
//! request's depth, meta and sitemap `lastmod` —
//! and the views computed from it on first use and then cached: decoded
//! text, the streaming scan (title, base, links) every page gets — done on
//! a helper thread for big bodies, so the loop does not stall — and the
//! parsed HTML document (a DOM) that only selectors need, or an XML
//! body's tree.
//! Must not: fetch anything or touch the crawl's state.

use std::cell::OnceCell;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use encoding_rs::Encoding;
use scraper::{ElementRef, Html};
use url::Url;

use crate::fetch::header;
use crate::links::{self, PageScan};
use crate::request::{Request, RequestExtras};
use crate::selector::{self, Selector, SelectorList, XPathError, XPathIndex};

/// A fetched page, with lazily parsed views of it.
///
/// ```
/// use solo_crawl::Response;
/// let url = url::Url::parse("http://a.test/list").unwrap();
/// let r = Response::new(url, 200, vec![("content-type".into(), "text/html".into())],
///     "<title>Shop</title><ul><li><a href=\"/p/1\">One</a><li><a href=\"/p/2\">Two</a></ul>".into());
/// assert_eq!(r.title().as_deref(), Some("Shop"));
/// assert_eq!(r.links().len(), 2);
/// let names: Vec<String> = r.select("li a").unwrap().iter().map(|a| a.text().collect()).collect();
/// assert_eq!(names, ["One", "Two"]);
/// ```
pub struct Response {
    url: Url,
    request_url: Url,
    redirected_from: Vec<Url>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    depth: u32,
    meta: serde_json::Value,
    cookie_jar: Option<String>,
    lastmod: Option<String>,
    elapsed: Duration,
    /// What the request sent beyond a plain GET (`None` for one: nothing
    /// is copied for most requests).
    extras: Option<Box<RequestExtras>>,
    /// The crawl rule that made the request ([`Request`]'s `rule`).
    rule: Option<u32>,
    /// Links kept by the scan (see [`links::scan_capped`]).
    max_links: usize,
    /// The scan also finds the page's requisites (`--page-requisites`).
    requisites: bool,
    text: OnceCell<String>,
    /// The charset `text` was decoded with (set with it).
    charset: OnceCell<&'static Encoding>,
    html: OnceCell<Option<Html>>,
    /// An XML body as a DOM, for XPath.
    xml: OnceCell<Option<Html>>,
    /// Document order over `html` or `xml`, for XPath (built with the
    /// first selector).
    xpath_index: OnceCell<XPathIndex>,
    scan: OnceCell<Option<PageScan>>,
}

/// A CSS selector that did not parse: the selector, where and what is
/// wrong, in one line.
///
/// ```
/// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p>".into());
/// let e = r.select("a[[").unwrap_err();
/// assert_eq!(e.to_string(),
///     r#"bad CSS selector "a[[" at column 3: an attribute selector needs a name, found '['"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectError(pub String);

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad CSS selector {}", self.0)
    }
}

impl std::error::Error for SelectError {}

impl Response {
    /// A response for `url` (status, headers with lower-case names, body);
    /// useful to unit-test a spider's callbacks.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 404, vec![], bytes::Bytes::new());
    /// assert_eq!(r.status(), 404);
    /// ```
    pub fn new(url: Url, status: u16, headers: Vec<(String, String)>, body: Bytes) -> Response {
        Response {
            request_url: url.clone(),
            redirected_from: Vec::new(),
            url,
            status,
            headers,
            body,
            depth: 0,
            meta: serde_json::Value::Null,
            cookie_jar: None,
            lastmod: None,
            elapsed: Duration::ZERO,
            extras: None,
            rule: None,
            max_links: usize::MAX,
            requisites: false,
            text: OnceCell::new(),
            charset: OnceCell::new(),
            html: OnceCell::new(),
            xml: OnceCell::new(),
            xpath_index: OnceCell::new(),
            scan: OnceCell::new(),
        }
    }

    /// The response to `request`, answered by `url`.
    pub(crate) fn for_request<C>(
        request: &Request<C>,
        url: Url,
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
        elapsed: Duration,
    ) -> Response {
        let mut r = Response::new(url, status, headers, body);
        let x = request.extras();
        r.request_url = x.redirected_from.first().unwrap_or(&request.url).clone();
        r.redirected_from = x.redirected_from.clone();
        r.depth = request.depth;
        r.meta = request.meta.clone();
        r.cookie_jar = x.cookie_jar.clone();
        r.lastmod = x.lastmod.clone();
        r.elapsed = elapsed;
        r.extras = request.extras_to_send();
        r.rule = request.rule;
        r
    }

    /// The place of the crawl rule that made the request (see
    /// [`CrawlRules`](crate::CrawlRules)); `None` for a request the
    /// rules did not make.
    pub(crate) fn rule(&self) -> Option<u32> {
        self.rule
    }

    /// What the request that got this response sent besides its URL
    /// (Scrapy's `response.request.method`, `.body`, `.headers`): its
    /// method, headers, body, timeout, cookie jar and cookies (all at
    /// their defaults for a plain GET).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.request_extras().method, hyper::Method::GET);
    /// ```
    pub fn request_extras(&self) -> &RequestExtras {
        self.extras.as_deref().unwrap_or(RequestExtras::plain())
    }

    /// The request that got this response, to send again (Scrapy's
    /// `response.request.replace(dont_filter=True)`, e.g. to retry a
    /// soft ban): the URL that answered, the same method, headers, body,
    /// timeout, cookie jar, cookies, `dont_filter` and meta, parsed by
    /// `callback`. Add [`dont_filter`](Request::dont_filter) (unless it
    /// had it), or the frontier drops it as seen. Followed from this
    /// page, it gets this page's depth + 1.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/s").unwrap(), 200, vec![], "".into());
    /// let again = r.request("retry").dont_filter();
    /// assert_eq!(again.url.as_str(), "http://a.test/s");
    /// assert!(again.extras().dont_filter);
    /// ```
    pub fn request<C>(&self, callback: C) -> Request<C> {
        let mut r = Request::new(self.url.clone(), callback).with_meta(self.meta.clone());
        r.rule = self.rule;
        r.depth = self.depth;
        if let Some(x) = &self.extras {
            *r.extras_mut() = (**x).clone();
        }
        r
    }

    /// Keeps at most `n` links (the crawl's
    /// [`max_links_per_page`](crate::Config::max_links_per_page)).
    pub(crate) fn with_link_cap(mut self, n: usize) -> Response {
        self.max_links = n;
        self
    }

    /// Has the scan find the page's requisites too
    /// ([`PageScan::requisites`]).
    pub(crate) fn with_requisites(mut self, on: bool) -> Response {
        self.requisites = on;
        self
    }

    /// Decodes and scans an HTML body on a helper thread, so that a huge
    /// page does not stall the loop; [`text`](Response::text),
    /// [`scan`](Response::scan) and what comes from them are then ready.
    pub(crate) async fn scan_off_loop(&self) {
        if self.scan.get().is_some() || !self.is_html() {
            return;
        }
        let (body, url, max) = (self.body.clone(), self.url.clone(), self.max_links);
        let requisites = self.requisites;
        let content_type = self.content_type().map(str::to_owned);
        let (text, charset, scan) = solo::to_thread(move || {
            let (text, charset) = links::decode_page(&body, content_type.as_deref());
            let scan = links::scan_with(&text, &url, max, charset, requisites);
            (text.into_owned(), charset, scan)
        })
        .await;
        let _ = self.text.set(text);
        let _ = self.charset.set(charset);
        let _ = self.scan.set(Some(scan));
    }

    /// The URL that answered (the last one of a redirect chain).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.url().as_str(), "http://a.test/");
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL that was requested first (before redirects).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.request_url(), r.url());
    /// ```
    pub fn request_url(&self) -> &Url {
        &self.request_url
    }

    /// The URLs that redirected to this response, oldest first (Scrapy's
    /// `meta["redirect_urls"]`); empty if none did.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert!(r.redirected_from().is_empty());
    /// ```
    pub fn redirected_from(&self) -> &[Url] {
        &self.redirected_from
    }

    /// The HTTP status.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.status(), 200);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, names lower-cased.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![("x".into(), "1".into())], "".into());
    /// assert_eq!(r.headers().len(), 1);
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header named `name` (any case).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![("server".into(), "solo".into())], "".into());
    /// assert_eq!(r.header("Server"), Some("solo"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The `Content-Type` header.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.content_type(), None);
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The raw body.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "abc".into());
    /// assert_eq!(r.body(), "abc");
    /// ```
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The request's depth (0 for start requests).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.depth(), 0);
    /// ```
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The request's user data.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert!(r.meta().is_null());
    /// ```
    pub fn meta(&self) -> &serde_json::Value {
        &self.meta
    }

    /// The session (cookie jar) of the request (Scrapy's
    /// `response.meta["cookiejar"]`), to pass on to the requests that
    /// should stay in it.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.cookie_jar(), None);
    /// ```
    pub fn cookie_jar(&self) -> Option<&str> {
        self.cookie_jar.as_deref()
    }

    /// What the page asks of crawlers named `agent` (the product token
    /// robots.txt groups use: `solo-crawl` unless the user agent was
    /// changed): `noindex` and `nofollow` from its `<meta name="robots">`
    /// (or named after `agent`) and its `X-Robots-Tag` headers, as the
    /// crawl reads them for the page record. A spider that keeps only
    /// indexable pages asks for `noindex` here.
    ///
    /// ```
    /// let page = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    ///     vec![("content-type".into(), "text/html".into()), ("x-robots-tag".into(), "nofollow".into())],
    ///     r#"<meta name="robots" content="noindex">"#.into());
    /// let d = page.robots_directives("solo-crawl");
    /// assert!(d.noindex && d.nofollow);
    /// ```
    pub fn robots_directives(&self, agent: &str) -> crate::Directives {
        let meta = self.scan().map_or(&[][..], |s| &s.robots_meta);
        crate::Directives::of_page(self.headers(), meta, agent)
    }

    /// The `<lastmod>` of the sitemap entry that listed this page, as
    /// written there (Scrapy's `entry["lastmod"]`); `None` for a page no
    /// sitemap listed, or listed without one.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.lastmod(), None);
    /// ```
    pub fn lastmod(&self) -> Option<&str> {
        self.lastmod.as_deref()
    }

    /// How long the fetch took.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert_eq!(r.elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether the body is HTML (by `Content-Type`, or by its look when
    /// there is none). Only HTML is parsed for links.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/x.json").unwrap(), 200,
    ///     vec![("content-type".into(), "application/json".into())], "{\"a\": \"<a href=/x>\"}".into());
    /// assert!(!r.is_html());
    /// assert!(r.links().is_empty());
    /// ```
    pub fn is_html(&self) -> bool {
        links::is_html(self.content_type(), &self.body)
    }

    /// The body as text, decoded by its charset (header, BOM, `<meta>`,
    /// else UTF-8, or windows-1252 for bytes that are not UTF-8, as
    /// browsers do); invalid bytes of a named charset become U+FFFD.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    ///     vec![("content-type".into(), "text/plain; charset=latin1".into())], bytes::Bytes::from_static(b"\xe9t\xe9"));
    /// assert_eq!(r.text(), "été");
    /// ```
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            let (text, charset) = links::decode_page(&self.body, self.content_type());
            let _ = self.charset.set(charset);
            text.into_owned()
        })
    }

    /// The charset the body is in (Scrapy's `response.encoding`), found
    /// as [`text`](Response::text) finds it: a form of the page is sent
    /// in it, and the queries of its links are encoded in it.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    ///     vec![("content-type".into(), "text/html; charset=latin1".into())], "<p>".into());
    /// assert_eq!(r.encoding(), encoding_rs::WINDOWS_1252);
    /// ```
    pub fn encoding(&self) -> &'static Encoding {
        self.text();
        self.charset.get().copied().unwrap_or(encoding_rs::UTF_8)
    }

    /// The parsed document (a DOM, built on first use), for HTML
    /// responses.
    ///
    /// Building it takes time that grows with the square of the nesting
    /// depth (html5ever's open-element stack): about 1.3 s for a page of
    /// 30,000 nested `<div>`s, on the loop thread. The crawl's own link
    /// scan never builds it; spiders that select on pages from untrusted
    /// sites may want to cap the [`body`](Response::body) size they select
    /// on (those 30,000 `<div>`s are 150 KB).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p>hi".into());
    /// assert!(r.html().is_some());
    /// ```
    pub fn html(&self) -> Option<&Html> {
        self.html
            .get_or_init(|| self.is_html().then(|| Html::parse_document(self.text())))
            .as_ref()
    }

    /// The document's `<title>`.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<title>T</title>".into());
    /// assert_eq!(r.title().as_deref(), Some("T"));
    /// ```
    pub fn title(&self) -> Option<String> {
        self.scan().and_then(|s| s.title.clone())
    }

    /// The title, base URL and links of an HTML page, from one streaming
    /// pass over it (no DOM; see [`links::scan`]); `None` for non-HTML.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<base href=/b/><a href=x>".into());
    /// assert_eq!(r.scan().unwrap().base.as_str(), "http://a.test/b/");
    /// ```
    pub fn scan(&self) -> Option<&PageScan> {
        self.scan
            .get_or_init(|| match self.html.get() {
                // A spider's CSS selection built the DOM already: use it.
                Some(dom) => dom.as_ref().map(|d| {
                    links::scan_dom_with(
                        d,
                        &self.url,
                        self.max_links,
                        self.encoding(),
                        self.requisites,
                    )
                }),
                None => self.is_html().then(|| {
                    links::scan_with(
                        self.text(),
                        &self.url,
                        self.max_links,
                        self.encoding(),
                        self.requisites,
                    )
                }),
            })
            .as_ref()
    }

    /// The page's http(s) links, absolute (see [`links::scan`]).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/d/").unwrap(), 200, vec![], "<a href=x>".into());
    /// assert_eq!(r.links()[0].as_str(), "http://a.test/d/x");
    /// ```
    pub fn links(&self) -> &[Url] {
        self.scan().map_or(&[], |s| &s.links)
    }

    /// The elements matching a CSS selector (none for non-HTML).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<b class=p>1</b><b class=p>2</b>".into());
    /// assert_eq!(r.select("b.p").unwrap().len(), 2);
    /// ```
    pub fn select(&self, css: &str) -> Result<Vec<ElementRef<'_>>, SelectError> {
        let sel = crate::css::parse(css).map_err(SelectError)?;
        Ok(match self.html() {
            Some(h) => h.select(&sel).collect(),
            None => Vec::new(),
        })
    }

    /// The results of XPath 1.0 expression `expr` over the page (Scrapy's
    /// `response.xpath`): elements, text nodes (`//h1/text()`), attribute
    /// values (`//a/@href`) or one scalar (`count(//li)`,
    /// `string(//title)`, `boolean(//form)`), read with
    /// [`get`](SelectorList::get) and [`getall`](SelectorList::getall);
    /// each selected element can be queried again
    /// ([`Selector::xpath`], [`Selector::css`]). An XML body (by its
    /// `Content-Type`: `text/xml`, `application/xml`, `...+xml`; feeds,
    /// sitemaps) is read as XML; anything else that is not HTML gives an
    /// empty list. Names are matched without namespaces (`//url/loc` in a
    /// sitemap, `//link` for `atom:link`), as in Scrapy's HTML responses
    /// and after its `remove_namespaces()`. The HTML DOM is html5ever's,
    /// as browsers build it, so a table's rows are under an implied
    /// `tbody` (lxml, under Scrapy, leaves it out).
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    ///     vec![("content-type".into(), "text/html".into())],
    ///     r#"<title>Shop</title><div class="p"><a href="/1">One</a></div><div class="p"><a href="/2">Two</a></div>"#.into());
    /// assert_eq!(r.xpath("//title/text()").unwrap().get().as_deref(), Some("Shop"));
    /// assert_eq!(r.xpath("//a/@href").unwrap().getall(), ["/1", "/2"]);
    /// assert_eq!(r.xpath("count(//div[@class='p'])").unwrap().get().as_deref(), Some("2"));
    /// for product in r.xpath("//div[@class='p']").unwrap() {
    ///     let name = product.xpath("./a/text()").unwrap().get();
    ///     assert!(name.is_some());
    /// }
    /// assert!(r.xpath("//a[").is_err());
    /// ```
    pub fn xpath(&self, expr: &str) -> Result<SelectorList<'_>, XPathError> {
        match self.document() {
            Some(doc) => doc.xpath(expr),
            None => selector::parse(expr).map(|_| SelectorList::default()),
        }
    }

    /// The elements matching a CSS selector, as [`Selector`]s (Scrapy's
    /// `response.css`) that can be queried again with XPath or CSS; in an
    /// XML body too (see [`xpath`](Response::xpath)), none in anything
    /// else. [`select`](Response::select) gives scraper's elements
    /// instead.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<div class=p><a href=/1>One</a></div>".into());
    /// let hrefs = r.css("div.p").unwrap().xpath("./a/@href").unwrap().getall();
    /// assert_eq!(hrefs, ["/1"]);
    /// ```
    pub fn css(&self, css: &str) -> Result<SelectorList<'_>, SelectError> {
        match self.document() {
            Some(doc) => doc.css(css),
            None => crate::css::parse(css)
                .map(|_| SelectorList::default())
                .map_err(SelectError),
        }
    }

    /// The document node, for XPath and CSS selectors: the HTML DOM, or
    /// for an XML body (feeds, sitemaps) its tree; `None` for anything
    /// else.
    fn document(&self) -> Option<Selector<'_>> {
        let xml = || {
            let xml = selector::xml::is_xml(self.content_type());
            xml.then(|| selector::xml::parse(self.text()))
        };
        let html = match self.html() {
            Some(h) => h,
            None => self.xml.get_or_init(xml).as_ref()?,
        };
        let index = self.xpath_index.get_or_init(|| XPathIndex::of(html));
        Some(selector::document(html, index))
    }

    /// The body parsed as JSON: a [`serde_json::Value`], or any type that
    /// deserializes (Scrapy's `response.json()`). The body is read as
    /// UTF-8 (RFC 8259), unless the `Content-Type` names another charset
    /// (`application/json; charset=iso-8859-1`) or the body starts with
    /// a UTF-16 or UTF-32 byte order mark, as Scrapy reads
    /// `response.text`; a UTF-8 byte order mark is skipped. A UTF-8 body
    /// is parsed where it is, not copied.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/api").unwrap();
    /// let latin1 = vec![("content-type".into(), "application/json; charset=latin1".into())];
    /// let r = solo_crawl::Response::new(u, 200, latin1, b"{\"name\":\"M\xFCller\"}".to_vec().into());
    /// let v: serde_json::Value = r.json().unwrap();
    /// assert_eq!(v["name"], "Müller");
    /// ```
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/api").unwrap();
    /// let r = solo_crawl::Response::new(u, 200, vec![], r#"{"items":[{"id":1},{"id":2}],"next":null}"#.into());
    /// let v: serde_json::Value = r.json().unwrap();
    /// assert_eq!(v["items"][1]["id"], 2);
    /// #[derive(serde::Deserialize)]
    /// struct Page { items: Vec<Item>, next: Option<String> }
    /// #[derive(serde::Deserialize)]
    /// struct Item { id: u32 }
    /// let page: Page = r.json().unwrap();
    /// assert_eq!((page.items.len(), page.items[0].id, page.next), (2, 1, None));
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match links::json_text(&self.body, self.content_type()) {
            links::JsonText::Utf8(body) => serde_json::from_slice(body),
            links::JsonText::Decoded(text) => serde_json::from_str(&text),
        }
    }

    /// A request for `href` resolved against this page's base URL (its
    /// `<base href>`, else its URL); `None` if it does not resolve to an
    /// http(s) URL. As in a browser (and Scrapy), the query is encoded in
    /// the page's [`encoding`](Response::encoding), the path in UTF-8: on
    /// a latin-1 page `café?q=München` is `caf%C3%A9?q=M%FCnchen`.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/d/").unwrap(), 200, vec![], "".into());
    /// let next = r.follow("../p?page=2", "list").unwrap();
    /// assert_eq!(next.url.as_str(), "http://a.test/p?page=2");
    /// assert!(r.follow("javascript:void(0)", "list").is_none());
    /// ```
    pub fn follow<C>(&self, href: &str, callback: C) -> Option<Request<C>> {
        let mut u = self.urljoin(href)?;
        if !matches!(u.scheme(), "http" | "https") {
            return None;
        }
        u.set_fragment(None);
        Some(Request::new(u, callback))
    }

    /// `href` resolved against this page's base URL, as [`follow`](Response::follow)
    /// resolves it, whatever its scheme (Scrapy's `response.urljoin`);
    /// `None` if it is not a URL.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/d/").unwrap(), 200, vec![], "<base href=/b/>".into());
    /// assert_eq!(r.urljoin("x.png#top").unwrap().as_str(), "http://a.test/b/x.png#top");
    /// assert_eq!(r.urljoin("mailto:m@a.test").unwrap().scheme(), "mailto");
    /// assert!(r.urljoin("http://[::1").is_none());
    /// ```
    pub fn urljoin(&self, href: &str) -> Option<Url> {
        let base = self.scan().map_or(&self.url, |s| &s.base);
        links::join_in(base, href.trim(), self.encoding()).ok()
    }

    /// Requests for the elements `css` selects (Scrapy's
    /// `response.follow_all(css=...)`): the `href` of each (`a`, `area`,
    /// `link`), else its `src` (`img`, `iframe`, `script`), resolved as
    /// [`follow`](Response::follow) does; elements with neither, or not
    /// an http(s) URL, are skipped. A URL comes once, in document order.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    /// #     r#"<ul class=pager><a href="/p2">2</a><a href="/p3">3</a><a href="/p2">again</a></ul><img class=pager src="/i.png">"#.into());
    /// let reqs = r.follow_all(".pager a, img.pager", "page").unwrap();
    /// let urls: Vec<_> = reqs.iter().map(|q| q.url.path()).collect();
    /// assert_eq!(urls, ["/p2", "/p3", "/i.png"]);
    /// assert!(r.follow_all("a[", "page").is_err());
    /// ```
    pub fn follow_all<C: Clone>(
        &self,
        css: &str,
        callback: C,
    ) -> Result<Vec<Request<C>>, SelectError> {
        let mut seen = std::collections::HashSet::new();
        Ok(self
            .select(css)?
            .into_iter()
            .filter_map(|el| el.value().attr("href").or_else(|| el.value().attr("src")))
            .filter_map(|href| self.follow(href, callback.clone()))
            .filter(|r| seen.insert(r.url.as_str().to_owned()))
            .collect())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &'static [u8]) -> Response {
        let url = Url::parse("http://a.test/api").unwrap();
        let ct = vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )];
        Response::new(url, 200, ct, Bytes::from_static(body))
    }

    #[test]
    fn json_skips_a_utf8_byte_order_mark() {
        let v: serde_json::Value = response(b"\xEF\xBB\xBF{\"a\": 1}").json().unwrap();
        assert_eq!(v, serde_json::json!({"a": 1}));
        // Only one, and only at the start.
        assert!(response(b"\xEF\xBB\xBF\xEF\xBB\xBF{}")
            .json::<serde_json::Value>()
            .is_err());
        assert!(response(b"{}\xEF\xBB\xBF")
            .json::<serde_json::Value>()
            .is_err());
    }

    #[test]
    fn links_and_follow_on_a_latin1_page_have_their_query_in_latin1() {
        let page = |ct: &str, body: &'static [u8]| {
            let u = Url::parse("http://h.test/").unwrap();
            Response::new(
                u,
                200,
                vec![("content-type".into(), ct.into())],
                body.into(),
            )
        };
        let want = "http://h.test/caf%C3%A9?q=M%FCnchen&page=2";
        let r = page(
            "text/html; charset=latin1",
            b"<a href=\"/caf\xe9?q=M\xfcnchen&page=2\">",
        );
        let f = r.follow("/caf\u{e9}?q=M\u{fc}nchen&page=2", ()).unwrap();
        assert_eq!(f.url.as_str(), want);
        assert_eq!(r.links()[0].as_str(), want);
        assert_eq!(r.encoding(), encoding_rs::WINDOWS_1252);
        // Through the DOM (a CSS selection first): the same.
        let r = page(
            "text/html; charset=latin1",
            b"<a href=\"/caf\xe9?q=M\xfcnchen&page=2\">",
        );
        assert_eq!(r.select("a").unwrap().len(), 1);
        assert_eq!(r.links()[0].as_str(), want);
        // A UTF-8 page: UTF-8.
        let r = page(
            "text/html",
            "<a href=\"/caf\u{e9}?q=M\u{fc}nchen\">".as_bytes(),
        );
        assert_eq!(
            r.links()[0].as_str(),
            "http://h.test/caf%C3%A9?q=M%C3%BCnchen"
        );
        assert_eq!(r.encoding(), encoding_rs::UTF_8);
    }
}
