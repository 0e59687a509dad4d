//! Requests: what a spider asks the crawler to fetch.
//!
//! Owns: the [`Request`] value — a URL, the callback that will parse its
//! response, the user's data (`meta`), what goes on the wire besides the
//! URL (method, headers, body, timeout), the crawl's handling of it
//! (`dont_filter`, the cookie jar it belongs to), and the bookkeeping the
//! crawler fills in (depth, retries, referer); the builder methods that
//! read like Scrapy's `Request`/`FormRequest`/`JsonRequest`, and its
//! [`fingerprint`](Request::fingerprint). Requests are plain data: they
//! serialize, so the state store can persist the frontier (fields at their
//! default are left out, so a GET is stored as before and old rows still
//! decode). What a plain GET does not have ([`RequestExtras`]: method,
//! headers, body, timeout, `dont_filter`, cookie jar and cookies, redirect chain,
//! sitemap role and lastmod) lives behind one `Option<Box<..>>`, allocated
//! only when set: a crawl holds many queued requests, and most are plain
//! GETs of links. Must not: do I/O, or decide whether a request is allowed
//! (that is the frontier's job).

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use url::Url;

use crate::sitemap::SitemapRole;
use crate::sorted_keys::SortedKeys;

/// One page to fetch, and which callback parses it (Scrapy's
/// `Request(url, callback=..., meta=..., priority=...)`).
///
/// `depth` and `referer` are set by the crawler when a request is
/// followed from a page (depth of the page + 1, the page's URL); start
/// requests have depth 0 and no referer. `retries` counts the attempts
/// already made after the first. A redirect comes back as a new request
/// for its target, with the same callback, meta, depth and referer, and
/// the URLs it was redirected from in `redirected_from` (see
/// the `redirect` module).
///
/// Beyond a GET: a method, headers and a body (raw bytes, form fields or
/// JSON), a timeout of its own, `dont_filter` (fetched even if seen
/// before) and a cookie jar (a session; see [`cookie_jar`](Request::cookie_jar)),
/// set with the builder methods and read in [`extras`](Request::extras):
///
/// ```
/// use std::time::Duration;
/// use solo_crawl::Request;
/// let url = url::Url::parse("http://a.test/search").unwrap();
/// let r: Request<()> = Request::post(url)
///     .form([("q", "rust"), ("page", "2")])
///     .header("X-Requested-With", "XMLHttpRequest")
///     .timeout(Duration::from_secs(5))
///     .dont_filter()
///     .cookie_jar("alice");
/// assert_eq!(r.extras().method, hyper::Method::POST);
/// assert_eq!(r.extras().body, "q=rust&page=2");
/// assert_eq!(r.header_value("content-type"), Some("application/x-www-form-urlencoded"));
/// assert_eq!(r.extras().cookie_jar.as_deref(), Some("alice"));
/// ```
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
    /// Higher runs first among the requests queued for the same host
    /// (with a Redis frontier too: a host's queue in Redis keeps this
    /// order; see docs/distributed.md).
    #[serde(default)]
    pub priority: i32,
    /// Attempts already made after the first one.
    #[serde(default)]
    pub retries: u32,
    /// The page this request was found on.
    #[serde(default)]
    pub referer: Option<Url>,
    /// The [`Rule`](crate::Rule) of the spider's
    /// [`CrawlRules`](crate::CrawlRules) that made this request, by its
    /// place (Scrapy keeps it in `meta["rule"]`): it decides whether the
    /// page's links are followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<u32>,
    /// What a plain GET does not have (`None` for one): read it with
    /// [`extras`](Request::extras).
    #[serde(flatten, deserialize_with = "boxed_unless_plain")]
    extras: Option<Box<RequestExtras>>,
}

/// What a request has beyond a plain GET of its URL: the method,
/// headers and body, its own timeout, how the crawl treats it, and the
/// crawler's bookkeeping for redirects and sitemaps. Set with
/// [`Request`]'s builder methods (or
/// [`extras_mut`](Request::extras_mut)); a plain GET has none of it
/// allocated.
///
/// ```
/// let u = url::Url::parse("http://a.test/").unwrap();
/// let plain = solo_crawl::Request::new(u.clone(), ());
/// assert_eq!(plain.extras().method, hyper::Method::GET);
/// assert!(plain.extras().body.is_empty());
/// let post = solo_crawl::Request::new(u, ()).with_method(hyper::Method::POST).body("x=1");
/// assert_eq!(post.extras().body, "x=1");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestExtras {
    /// The URLs that redirected to this one, oldest first (empty unless
    /// the request is a redirect's target); its length is the hop count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirected_from: Vec<Url>,
    /// Set on a request that fetches a sitemap (or a robots.txt for its
    /// `Sitemap:` lines): its body is read by the sitemap reader
    /// instead of a parse callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sitemap: Option<SitemapRole>,
    /// The `<lastmod>` of the sitemap entry this request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod: Option<String>,
    /// The HTTP method (GET unless set).
    #[serde(default = "get", with = "method_text", skip_serializing_if = "is_get")]
    pub method: Method,
    /// Request headers, sent after (and replacing) the crawl's own
    /// `User-Agent`, `Accept` and `Referer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The request body (empty for none).
    #[serde(default, with = "body_text", skip_serializing_if = "Bytes::is_empty")]
    pub body: Bytes,
    /// This request's whole exchange must fit in this (instead of
    /// [`Config::timeout`](crate::Config::timeout)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Fetched even if an equal request was seen before (Scrapy's
    /// `dont_filter`); it is not added to the seen set either.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dont_filter: bool,
    /// The session (cookie jar) this request belongs to; `None` is the
    /// crawl's default jar, used only with
    /// [`Config::cookies`](crate::Config::cookies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_jar: Option<String>,
    /// Cookies this request puts into its jar before it is sent (Scrapy's
    /// `Request(cookies={...})`): see [`cookie`](Request::cookie).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<(String, String)>,
    /// A page requisite (`--page-requisites`, see
    /// [`Config::page_requisites`](crate::Config::page_requisites)): how
    /// many embeds away from the page that needs it (an image of a page:
    /// 1; a font of that page's stylesheet: 2); 0 for a link. A requisite
    /// is fetched past the depth limit and only a stylesheet's own
    /// requisites are read from it; one whose answer is HTML and that the
    /// crawl would have followed as a link is crawled as a page (see
    /// [`Config::page_requisites`](crate::Config::page_requisites)).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requisite: u8,
    /// A requisite the spider would parse as a page, should its answer
    /// be HTML ([`Spider::requisite_callback`](crate::Spider::requisite_callback)
    /// named its callback). Another requisite has a seen-set key of its
    /// own, so a request the spider makes for the same URL is not taken
    /// for it.
    #[serde(default, rename = "claimed", skip_serializing_if = "is_false")]
    pub(crate) requisite_page: bool,
    /// A requisite the frontier would have admitted as a link too
    /// (within the depth limit and the link scope): an HTML answer is
    /// crawled as a page. Set by the frontier.
    #[serde(default, rename = "linkable", skip_serializing_if = "is_false")]
    pub(crate) page_if_html: bool,
    /// The key of a `dont_filter` request in the state store (its
    /// fingerprint is not unique); set by the frontier.
    #[serde(default, rename = "key", skip_serializing_if = "Option::is_none")]
    pub(crate) store_key: Option<u64>,
    /// A recrawl of a known page: what the previous pass knew of it (see
    /// [`recrawl`](crate::recrawl)); set by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<Box<crate::recrawl::Previous>>,
    /// Its lease in the shared frontier (Redis), while this worker holds it.
    #[serde(skip)]
    pub(crate) lease: Option<u64>,
}

/// The extras of a plain GET.
static PLAIN: RequestExtras = RequestExtras {
    redirected_from: Vec::new(),
    sitemap: None,
    lastmod: None,
    method: Method::GET,
    headers: Vec::new(),
    body: Bytes::new(),
    timeout: None,
    dont_filter: false,
    cookie_jar: None,
    cookies: Vec::new(),
    requisite: 0,
    requisite_page: false,
    page_if_html: false,
    store_key: None,
    previous: None,
    lease: None,
};

impl RequestExtras {
    /// A plain GET's extras.
    pub(crate) fn plain() -> &'static RequestExtras {
        &PLAIN
    }
}

impl Default for RequestExtras {
    /// A plain GET's: nothing set.
    fn default() -> RequestExtras {
        PLAIN.clone()
    }
}

/// A stored request's extras, boxed only if it has any.
fn boxed_unless_plain<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<RequestExtras>>, D::Error> {
    let extras = RequestExtras::deserialize(d)?;
    Ok((extras != PLAIN).then(|| Box::new(extras)))
}

fn get() -> Method {
    Method::GET
}

fn is_get(m: &Method) -> bool {
    *m == Method::GET
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The method as its name in the stored JSON.
mod method_text {
    use hyper::Method;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Method, D::Error> {
        let name = String::deserialize(d)?;
        Method::from_bytes(name.as_bytes())
            .map_err(|_| D::Error::custom(format!("not an HTTP method: {name:?}")))
    }
}

/// The body in the stored JSON: a string when it is UTF-8 (forms, JSON),
/// else an array of bytes.
mod body_text {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A body as text when it is UTF-8, else in base64 (a binary upload
    /// as a JSON array of numbers took ~4 bytes a byte in the store and
    /// in Redis); an array is still read (what earlier versions wrote).
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr<'a> {
        Text(std::borrow::Cow<'a, str>),
        Base64 { base64: String },
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(b) {
            Ok(t) => Repr::Text(t.into()).serialize(s),
            Err(_) => Repr::Base64 {
                base64: data_encoding::BASE64.encode(b),
            }
            .serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(t) => Bytes::from(t.into_owned()),
            Repr::Base64 { base64 } => data_encoding::BASE64
                .decode(base64.as_bytes())
                .map(Bytes::from)
                .map_err(serde::de::Error::custom)?,
            Repr::Bytes(b) => Bytes::from(b),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::super::Request;

        /// A binary body is stored in base64, a text one as text, and
        /// both, and the arrays earlier versions wrote, read back.
        #[test]
        fn bodies_are_stored_as_text_or_base64() {
            let u = url::Url::parse("http://a.test/up").unwrap();
            let bin = Request::new(u.clone(), ()).body(vec![0u8, 0xff, 0xfe, b'a']);
            let text = serde_json::to_string(&bin).unwrap();
            assert!(text.contains(r#""body":{"base64":"AP/+YQ=="}"#), "{text}");
            let back: Request<()> = serde_json::from_str(&text).unwrap();
            assert_eq!(back.extras().body, bin.extras().body);
            let form = Request::new(u.clone(), ()).body("q=a");
            assert!(serde_json::to_string(&form)
                .unwrap()
                .contains(r#""body":"q=a""#));
            let old = text.replace(r#"{"base64":"AP/+YQ=="}"#, "[0,255,254,97]");
            let back: Request<()> = serde_json::from_str(&old).unwrap();
            assert_eq!(back.extras().body, bin.extras().body);
        }
    }
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
            rule: None,
            extras: None,
        }
    }

    /// What the request has beyond a plain GET of its URL (all at their
    /// defaults for one).
    ///
    /// ```
    /// let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).timeout(std::time::Duration::from_secs(3));
    /// assert_eq!(r.extras().timeout, Some(std::time::Duration::from_secs(3)));
    /// assert!(!r.extras().dont_filter);
    /// ```
    pub fn extras(&self) -> &RequestExtras {
        self.extras.as_deref().unwrap_or(&PLAIN)
    }

    /// What the previous pass knew of this page, on a recrawl.
    pub(crate) fn previous(&self) -> Option<&crate::recrawl::Previous> {
        self.extras.as_ref()?.previous.as_deref()
    }

    /// Sets (or clears) [`previous`](Request::previous); clearing a plain
    /// request allocates nothing.
    pub(crate) fn set_previous(&mut self, previous: Option<Box<crate::recrawl::Previous>>) {
        if previous.is_some() || self.extras.is_some() {
            self.extras_mut().previous = previous;
        }
    }

    /// Takes [`previous`](Request::previous) out.
    pub(crate) fn take_previous(&mut self) -> Option<Box<crate::recrawl::Previous>> {
        self.extras.as_mut()?.previous.take()
    }

    /// What the request sends, to send it again (`None` for a plain GET):
    /// its extras without the crawler's bookkeeping of this fetch (store
    /// key, lease, recrawl state, sitemap role, redirect chain).
    pub(crate) fn extras_to_send(&self) -> Option<Box<RequestExtras>> {
        let x = self.extras.as_deref()?;
        let sent = RequestExtras {
            store_key: None,
            previous: None,
            lease: None,
            sitemap: None,
            lastmod: None,
            redirected_from: Vec::new(),
            ..x.clone()
        };
        (sent != PLAIN).then(|| Box::new(sent))
    }

    /// The extras, to change them (allocated on first use).
    ///
    /// ```
    /// let u = url::Url::parse("http://a.test/").unwrap();
    /// let mut r = solo_crawl::Request::new(u, ());
    /// r.extras_mut().lastmod = Some("2024-05-01".into());
    /// assert_eq!(r.extras().lastmod.as_deref(), Some("2024-05-01"));
    /// ```
    pub fn extras_mut(&mut self) -> &mut RequestExtras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// A start request for a sitemap (Scrapy's `sitemap_urls`): a
    /// sitemap index, a urlset (`.xml`, `.xml.gz` or text), or a
    /// robots.txt (a URL whose path is `/robots.txt`), read for its
    /// `Sitemap:` lines. The pages it lists are crawled with the callback
    /// [`Spider::sitemap_callback`](crate::Spider::sitemap_callback)
    /// picks; `callback` is used if the sitemap itself fails
    /// ([`Spider::on_error`](crate::Spider::on_error)).
    ///
    /// ```
    /// let u = url::Url::parse("https://a.test/sitemap_index.xml").unwrap();
    /// let r = solo_crawl::Request::sitemap(u, ());
    /// assert!(r.extras().sitemap.is_some());
    /// ```
    pub fn sitemap(url: Url, callback: C) -> Request<C> {
        let role = if url.path() == "/robots.txt" {
            SitemapRole::Robots
        } else {
            SitemapRole::Sitemap { nesting: 0 }
        };
        let mut r = Request::new(url, callback);
        r.extras_mut().sitemap = Some(role);
        r
    }

    /// A GET of `url` parsed by the default callback; set another with
    /// [`callback`](Request::callback).
    ///
    /// ```
    /// let r: solo_crawl::Request<()> = solo_crawl::Request::get(url::Url::parse("http://a.test/").unwrap());
    /// assert_eq!(r.extras().method, hyper::Method::GET);
    /// ```
    pub fn get(url: Url) -> Request<C>
    where
        C: Default,
    {
        Request::new(url, C::default())
    }

    /// A POST to `url` (Scrapy's `Request(url, method="POST")`), parsed by
    /// the default callback; give it a body with [`form`](Request::form),
    /// [`json`](Request::json) or [`body`](Request::body).
    ///
    /// ```
    /// let r: solo_crawl::Request<()> = solo_crawl::Request::post(url::Url::parse("http://a.test/").unwrap());
    /// assert_eq!(r.extras().method, hyper::Method::POST);
    /// ```
    pub fn post(url: Url) -> Request<C>
    where
        C: Default,
    {
        Request::new(url, C::default()).with_method(Method::POST)
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

    /// Sets the callback that parses the response.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::<&str>::post(u).callback("results");
    /// assert_eq!(r.callback, "results");
    /// ```
    pub fn callback(mut self, callback: C) -> Request<C> {
        self.callback = callback;
        self
    }

    /// Sets the method.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).with_method(hyper::Method::PUT);
    /// assert_eq!(r.extras().method, "PUT");
    /// ```
    pub fn with_method(mut self, method: Method) -> Request<C> {
        if method != self.extras().method {
            self.extras_mut().method = method;
        }
        self
    }

    /// Sets a header, replacing any of the same name (any case).
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/api").unwrap();
    /// let r = solo_crawl::Request::new(u, ())
    ///     .header("Authorization", "Bearer t0ken")
    ///     .header("authorization", "Bearer other");
    /// assert_eq!(r.extras().headers, [("authorization".to_string(), "Bearer other".to_string())]);
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request<C> {
        let name = name.into();
        let headers = &mut self.extras_mut().headers;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
        headers.push((name, value.into()));
        self
    }

    /// The value of this request's header `name` (any case).
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).header("Accept", "application/json");
    /// assert_eq!(r.header_value("ACCEPT"), Some("application/json"));
    /// ```
    pub fn header_value(&self, name: &str) -> Option<&str> {
        crate::fetch::header(&self.extras().headers, name)
    }

    /// Sets the body as it is.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).with_method(hyper::Method::PUT).body("raw");
    /// assert_eq!(r.extras().body, "raw");
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> Request<C> {
        self.extras_mut().body = body.into();
        self
    }

    /// Form fields, URL-encoded (UTF-8), as an HTML form sends them: for a
    /// GET they replace the URL's query, otherwise they are the body (with
    /// `Content-Type: application/x-www-form-urlencoded`). Scrapy's
    /// `FormRequest(url, formdata=...)` is `Request::post(url).form(...)`.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/s?old=1").unwrap();
    /// use solo_crawl::Request;
    /// let get = Request::new(u.clone(), ()).form([("q", "a b"), ("lang", "é")]);
    /// assert_eq!(get.url.as_str(), "http://a.test/s?q=a+b&lang=%C3%A9");
    /// assert!(get.extras().body.is_empty());
    /// let post = Request::new(u, ()).with_method(hyper::Method::POST).form([("q", "a&b")]);
    /// assert_eq!(post.extras().body, "q=a%26b");
    /// assert_eq!(post.url.query(), Some("old=1"));
    /// ```
    pub fn form<K, V>(self, fields: impl IntoIterator<Item = (K, V)>) -> Request<C>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.form_in(encoding_rs::UTF_8, fields)
    }

    /// [`form`](Request::form) in another charset (Scrapy's
    /// `FormRequest(..., encoding=...)`), as a browser sends a form of a
    /// page in that charset: each character as its bytes there,
    /// percent-encoded, and one the charset has not as `&#NNNN;`. A
    /// [`FormRequest`](crate::FormRequest) uses the page's.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/s").unwrap();
    /// let r = solo_crawl::Request::new(u, ())
    ///     .form_in(encoding_rs::WINDOWS_1252, [("city", "M\u{fc}nchen"), ("x", "\u{2603}")]);
    /// assert_eq!(r.url.query(), Some("city=M%FCnchen&x=%26%239731%3B"));
    /// ```
    pub fn form_in<K, V>(
        mut self,
        charset: &'static encoding_rs::Encoding,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Request<C>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        // UTF-16 pages (and "replacement") send UTF-8.
        let charset = charset.output_encoding();
        let encode: &dyn Fn(&str) -> std::borrow::Cow<'_, [u8]> = &|s| charset.encode(s).0;
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        if charset != encoding_rs::UTF_8 {
            serializer.encoding_override(Some(encode));
        }
        let encoded = serializer.extend_pairs(fields).finish();
        if self.extras().method == Method::GET {
            self.url
                .set_query((!encoded.is_empty()).then_some(encoded.as_str()));
            self
        } else {
            self.body(encoded)
                .header("Content-Type", "application/x-www-form-urlencoded")
        }
    }

    /// A JSON body (Scrapy's `JsonRequest`): `Content-Type` and `Accept`
    /// set to `application/json` unless the request has its own (set
    /// before, as Scrapy's `setdefault`), and a GET becomes a POST. Object
    /// keys are sorted, as `JsonRequest` writes them (`sort_keys=True`),
    /// so the body and the request's fingerprint do not depend on the
    /// order the value was built in.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/api").unwrap();
    /// let r = solo_crawl::Request::new(u.clone(), ()).json(&serde_json::json!({"page": 2, "q": {"z": 1, "a": [{"y": 0, "b": 0}]}}));
    /// assert_eq!(r.extras().method, hyper::Method::POST);
    /// assert_eq!(r.extras().body, r#"{"page":2,"q":{"a":[{"b":0,"y":0}],"z":1}}"#);
    /// assert_eq!(r.header_value("content-type"), Some("application/json"));
    /// let own = solo_crawl::Request::new(u, ())
    ///     .header("Content-Type", "application/vnd.api+json")
    ///     .json(&serde_json::json!({}));
    /// assert_eq!(own.header_value("content-type"), Some("application/vnd.api+json"));
    /// ```
    pub fn json(mut self, value: &serde_json::Value) -> Request<C> {
        if self.extras().method == Method::GET {
            self.extras_mut().method = Method::POST;
        }
        let sorted = serde_json::to_string(&SortedKeys(value));
        self = self.body(sorted.unwrap_or_else(|_| value.to_string()));
        for (name, default) in [
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/javascript, */*; q=0.01"),
        ] {
            if self.header_value(name).is_none() {
                self = self.header(name, default);
            }
        }
        self
    }

    /// A `multipart/form-data` body (file uploads; forms whose `enctype`
    /// asks for it): its `Content-Type` names the boundary, and a GET
    /// becomes a POST. The same form gives the same bytes, so two equal
    /// uploads have one fingerprint.
    ///
    /// ```
    /// use solo_http::multipart::{Form, Part};
    /// # let u = url::Url::parse("http://a.test/upload").unwrap();
    /// let form = Form::new()
    ///     .text("title", "Q3")
    ///     .part("file", Part::bytes(&b"a,b\n"[..]).file_name("q3.csv"));
    /// let r = solo_crawl::Request::new(u, ()).multipart(&form);
    /// assert_eq!(r.extras().method, hyper::Method::POST);
    /// assert!(r.header_value("content-type").unwrap().starts_with("multipart/form-data; boundary="));
    /// # let u = url::Url::parse("http://a.test/upload").unwrap();
    /// assert_eq!(r.fingerprint(), solo_crawl::Request::new(u, ()).multipart(&form).fingerprint());
    /// ```
    pub fn multipart(mut self, form: &solo_http::multipart::Form) -> Request<C> {
        if self.extras().method == Method::GET {
            self.extras_mut().method = Method::POST;
        }
        let (content_type, body) = form.encode();
        self.body(body).header("Content-Type", content_type)
    }

    /// This request's own timeout for the whole exchange.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).timeout(std::time::Duration::from_secs(3));
    /// assert_eq!(r.extras().timeout, Some(std::time::Duration::from_secs(3)));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Request<C> {
        self.extras_mut().timeout = Some(timeout);
        self
    }

    /// Fetch it even if an equal request was seen (Scrapy's
    /// `dont_filter=True`), and wherever its host is: as Scrapy's offsite
    /// filter, the crawl's scope (the start hosts and
    /// [`Config::allow_domains`](crate::Config::allow_domains)) does not
    /// apply to it, nor to its redirects (a token endpoint on one host,
    /// the API on another). The other rules (depth, page budget,
    /// allow/deny patterns, robots.txt, the address guard) still apply.
    /// A start request marked so is still fetched once in all
    /// when a crawl with [`Config::state_dir`](crate::Config::state_dir)
    /// is stopped and resumed (the state holds it, done or queued); each
    /// of equal ones asked for several times, once.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/").unwrap();
    /// assert!(solo_crawl::Request::new(u, ()).dont_filter().extras().dont_filter);
    /// ```
    pub fn dont_filter(mut self) -> Request<C> {
        self.extras_mut().dont_filter = true;
        self
    }

    /// Sends and keeps cookies in the session (cookie jar) named `id`, as
    /// Scrapy's `meta={"cookiejar": id}`: one crawl can hold several
    /// logged-in sessions side by side. A request with a jar uses it even
    /// when the crawl's default jar is off; requests followed from its
    /// page do not inherit it (set it again, as in Scrapy). Unlike Scrapy,
    /// the jar is part of the fingerprint: the same page is fetched once
    /// per session.
    ///
    /// ```
    /// # let u = url::Url::parse("http://a.test/account").unwrap();
    /// use solo_crawl::Request;
    /// let a = Request::new(u.clone(), ()).cookie_jar(1);
    /// let b = Request::new(u, ()).cookie_jar("bob");
    /// assert_eq!(a.extras().cookie_jar.as_deref(), Some("1"));
    /// assert_ne!(a.fingerprint(), b.fingerprint());
    /// ```
    pub fn cookie_jar(mut self, id: impl ToString) -> Request<C> {
        self.extras_mut().cookie_jar = Some(id.to_string());
        self
    }

    /// A cookie for this request's host (path `/`), put into the
    /// request's jar before it is sent (Scrapy's `Request(cookies={name:
    /// value})`): its [`cookie_jar`](Request::cookie_jar), else the
    /// crawl's default jar ([`Config::cookies`](crate::Config::cookies)).
    /// The jar then sends it with the cookies it holds, keeps what the
    /// server sets (a redirect's too), and later requests of the session
    /// send it as well; it is kept in `--state` and shared by the workers
    /// of a `--redis` crawl like any cookie of the jar. (A raw `Cookie`
    /// header instead replaces the jar's cookies for the request and its
    /// redirects.) With no jar (the default jar off and no `cookie_jar`)
    /// it is sent in this request's `Cookie` header, and its redirects'
    /// to the same host. A redirect to another host never takes it (nor a
    /// raw `Cookie` or `Authorization` header). Bytes a cookie cannot hold (a `;`, a space, a control character,
    /// non-ASCII; and `=` in a name) are percent-encoded. Not part of the
    /// fingerprint (as in Scrapy).
    ///
    /// ```
    /// # let u = url::Url::parse("http://shop.test/").unwrap();
    /// let r = solo_crawl::Request::new(u, ()).cookie("currency", "USD").cookie("q", "a;b");
    /// assert_eq!(r.extras().cookies, [("currency".into(), "USD".into()), ("q".into(), "a%3Bb".into())]);
    /// ```
    pub fn cookie(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Request<C> {
        let name = cookie_octets(name.as_ref(), b"=");
        let value = cookie_octets(value.as_ref(), b"");
        let cookies = &mut self.extras_mut().cookies;
        cookies.retain(|(k, _)| *k != name);
        cookies.push((name, value));
        self
    }

    /// The request's identity for dedup: its method, canonical URL, body
    /// and cookie jar (the `canon` module's `request_fingerprint`). A
    /// plain GET's is its canonical URL's fingerprint.
    ///
    /// ```
    /// use solo_crawl::Request;
    /// let u = url::Url::parse("http://a.test/search").unwrap();
    /// let get = Request::new(u.clone(), ());
    /// let same = Request::parse("HTTP://A.test:80/search#top", ()).unwrap();
    /// assert_eq!(get.fingerprint(), same.fingerprint()); // one canonical URL
    /// let a = Request::new(u.clone(), ()).with_method(hyper::Method::POST).form([("q", "a")]);
    /// let b = Request::new(u, ()).with_method(hyper::Method::POST).form([("q", "b")]);
    /// assert_ne!(a.fingerprint(), b.fingerprint());
    /// assert_ne!(a.fingerprint(), get.fingerprint());
    /// ```
    pub fn fingerprint(&self) -> u64 {
        let x = self.extras();
        let fp = crate::canon::request_fingerprint(
            &x.method,
            &self.url,
            &x.body,
            x.cookie_jar.as_deref(),
        );
        if x.requisite > 0 && !x.requisite_page {
            // Fetched for the archive only: the spider's own request for
            // the URL is another.
            fp ^ UNCLAIMED_REQUISITE
        } else {
            fp
        }
    }

    /// The request's key in the state store: its fingerprint, or for a
    /// `dont_filter` request the unique key the frontier gave it.
    pub(crate) fn key(&self) -> u64 {
        self.extras()
            .store_key
            .unwrap_or_else(|| self.fingerprint())
    }
}

/// Mixed into the fingerprint of a requisite no callback parses.
const UNCLAIMED_REQUISITE: u64 = 0x005e_ed0f_a11e_9b5d;

/// `s` with the bytes a cookie cannot hold (RFC 6265's cookie-octet:
/// printable ASCII but `"`, `,`, `;` and `\`; also those of `more`)
/// percent-encoded (a `%` stays: values are often percent-encoded).
fn cookie_octets(s: &str, more: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let bad = !(0x21..=0x7e).contains(&b) || b"\",;\\".contains(&b) || more.contains(&b);
        if bad {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_get_is_small_and_allocates_no_extras() {
        // Queued requests are the crawl's bulk: 416 bytes each when the
        // extras were inline, 232 then (a URL and a referer are 88 each),
        // 280 since serde_json's preserve_order (items keep their fields'
        // order): `meta`, a Value, holds an IndexMap (72 bytes, not 24).
        let size = std::mem::size_of::<Request<crate::LinkCallback>>();
        assert!(size <= 280, "Request is {size} bytes");
        let u = Url::parse("http://a.test/p").unwrap();
        let plain = Request::new(u.clone(), 0u8).with_method(Method::GET);
        assert!(plain.extras.is_none());
        let mut moved = plain.clone();
        crate::redirect::set_method(&mut moved, &Method::GET, false);
        assert!(moved.extras.is_none());
        // A stored plain GET comes back unboxed too.
        let back: Request<u8> =
            serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
        assert!(back.extras.is_none());
        assert!(Request::new(u, 0u8)
            .timeout(Duration::from_secs(1))
            .extras
            .is_some());
    }

    #[test]
    fn json_keeps_the_content_type_and_accept_set_before() {
        let u = Url::parse("http://a.test/api").unwrap();
        let r = Request::new(u, ())
            .header("content-type", "application/vnd.api+json")
            .header("Accept", "application/vnd.api+json")
            .json(&serde_json::json!({"a": 1}));
        assert_eq!(
            r.extras().headers,
            [
                (
                    "content-type".to_string(),
                    "application/vnd.api+json".to_string()
                ),
                ("Accept".to_string(), "application/vnd.api+json".to_string()),
            ]
        );
        assert_eq!(r.extras().body, r#"{"a":1}"#);
    }

    #[test]
    fn stored_form_keeps_a_get_as_before_and_round_trips_the_rest() {
        let u = Url::parse("http://a.test/p").unwrap();
        let get = Request::new(u.clone(), 1u8);
        let text = serde_json::to_string(&get).unwrap();
        assert_eq!(
            text,
            r#"{"url":"http://a.test/p","callback":1,"depth":0,"meta":null,"priority":0,"retries":0,"referer":null}"#
        );
        // A row written before these fields existed still decodes.
        let old: Request<u8> = serde_json::from_str(&text).unwrap();
        assert_eq!(old, get);
        let mut post = Request::new(u, 2u8)
            .with_method(Method::POST)
            .form([("user", "ann")])
            .timeout(Duration::from_millis(1500))
            .dont_filter()
            .cookie_jar("s1")
            .cookie("currency", "USD");
        post.extras_mut().store_key = Some(42);
        let back: Request<u8> =
            serde_json::from_str(&serde_json::to_string(&post).unwrap()).unwrap();
        assert_eq!(back, post);
        let binary =
            Request::new(Url::parse("http://a.test/").unwrap(), 0u8).body(vec![0xff, 0, 1]);
        let back: Request<u8> =
            serde_json::from_str(&serde_json::to_string(&binary).unwrap()).unwrap();
        assert_eq!(back.extras().body, binary.extras().body);
        let bad = r#"{"url":"http://a.test/","callback":0,"depth":0,"method":"NOT A METHOD"}"#;
        let err = serde_json::from_str::<Request<u8>>(bad).unwrap_err();
        assert!(err.to_string().contains("not an HTTP method"), "{err}");
    }
}
