//! The downloader seam: one HTTP exchange, behind the [`Fetch`] trait.
//!
//! Owns: turning a [`FetchRequest`] into a [`Fetched`] response or a
//! [`FetchError`] with a kind the engine can act on (retry, record). The
//! default fetcher is [`solo_http::Client`] (hyper and rustls on solo:
//! `http://` and `https://`, keep-alive pooling, HTTP/2, decompression),
//! built for a crawl by [`client`]; its errors are mapped to
//! [`FetchErrorKind`], the body limit is enforced as the body streams in,
//! each chunk is charged to the crawl's [`BodyBudget`] (waiting while it
//! is spent), and each request's timeout bounds the whole exchange (not
//! counting the loop's stalls: see the `deadline` module); a redirect's
//! body gets [`REDIRECT_BODY_TIME`] of it, then is cut off (the capture
//! marked truncated for time) and the redirect answered. Must
//! not: follow redirects (a 3xx is an answer: the engine sends its target
//! back to the frontier, see the `redirect` module), retry, or
//! know about spiders, robots.txt or the frontier, so another client can
//! be dropped in by implementing [`Fetch`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use url::Url;

pub use crate::budget::{BodyBudget, Lease};
use crate::config::Config;
use crate::warc::Capture;

/// What to fetch, and the limits to fetch it under.
///
/// ```
/// let req = solo_crawl::fetch::FetchRequest::get(url::Url::parse("http://127.0.0.1:1/").unwrap());
/// assert_eq!(req.max_bytes, 64 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// The method.
    pub method: hyper::Method,
    /// The URL (http or https).
    pub url: Url,
    /// Extra request headers (`User-Agent`, `Referer`, ...).
    pub headers: Vec<(String, String)>,
    /// The whole exchange, connect to last body byte, must fit in this.
    pub timeout: Duration,
    /// A body larger than this is an error of kind [`FetchErrorKind::TooLarge`]
    /// (unless [`cut_at_max`](FetchRequest::cut_at_max)).
    pub max_bytes: usize,
    /// Keep the first `max_bytes` of a longer body and end the exchange
    /// there (its capture marked truncated for length) instead of
    /// failing: for a robots.txt, of which RFC 9309 lets a crawler read
    /// only the first 500 KiB or more.
    pub cut_at_max: bool,
    /// Charge the body to this budget as it arrives, waiting while it is
    /// spent; the returned body keeps its charge until it is dropped.
    /// `None`: no budget but `max_bytes`.
    pub budget: Option<BodyBudget>,
    /// The request body (empty for none).
    pub body: Bytes,
    /// Keep the exchange's wire bytes in [`Fetched::capture`] (for WARC
    /// output).
    pub capture: bool,
}

impl FetchRequest {
    /// A GET of `url` with no extra headers, a 30 s timeout and a 64 MiB
    /// body limit.
    ///
    /// ```
    /// let req = solo_crawl::fetch::FetchRequest::get(url::Url::parse("http://a.test/").unwrap());
    /// assert!(req.headers.is_empty());
    /// ```
    pub fn get(url: Url) -> FetchRequest {
        FetchRequest {
            method: hyper::Method::GET,
            url,
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            max_bytes: 64 << 20,
            cut_at_max: false,
            budget: None,
            body: Bytes::new(),
            capture: false,
        }
    }
}

/// A response: status, headers and the whole body.
///
/// ```
/// use solo_crawl::fetch::Fetched;
/// let f = Fetched {
///     status: 200,
///     headers: vec![("content-type".into(), "text/html".into())],
///     final_url: url::Url::parse("http://a.test/").unwrap(),
///     body: bytes::Bytes::from_static(b"<p>hi"),
///     elapsed: std::time::Duration::from_millis(3),
///     capture: None,
/// };
/// assert_eq!(f.header("Content-Type"), Some("text/html"));
/// ```
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The URL that answered: the one requested (a client that followed
    /// redirects would give the last one; the one from [`client`] does
    /// not follow them).
    pub final_url: Url,
    /// The body, de-chunked and decompressed.
    pub body: Bytes,
    /// How long the exchange took.
    pub elapsed: Duration,
    /// The exchange's wire bytes, when [`FetchRequest::capture`] asked
    /// (and the fetcher can: the default one does).
    pub capture: Option<Box<Capture>>,
}

impl Fetched {
    /// The first header named `name` (any case).
    ///
    /// ```
    /// # let f = solo_crawl::fetch::Fetched { status: 200, headers: vec![("location".into(), "/x".into())],
    /// #   final_url: url::Url::parse("http://a.test/").unwrap(), body: Default::default(), elapsed: Default::default(), capture: None };
    /// assert_eq!(f.header("LOCATION"), Some("/x"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first header named `name` (any case) in a header list.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a fetch failed.
///
/// ```
/// use solo_crawl::fetch::FetchErrorKind;
/// assert_eq!(FetchErrorKind::Timeout.as_str(), "timeout");
/// assert!(FetchErrorKind::Connect.is_retryable());
/// assert!(!FetchErrorKind::TooLarge.is_retryable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// The host name did not resolve.
    Dns,
    /// No connection could be made (refused, unreachable, reset early).
    Connect,
    /// The exchange did not finish in time.
    Timeout,
    /// The body was over the size limit.
    TooLarge,
    /// The TLS handshake failed (untrusted or invalid certificate, no
    /// common protocol), or the TLS settings were invalid.
    Tls,
    /// The server's bytes were not a valid HTTP response (or its body
    /// not valid compressed data).
    InvalidResponse,
    /// The connection failed mid-exchange.
    Io,
    /// The request cannot be made: a URL that is not http(s), or an
    /// invalid header.
    Unsupported,
    /// A redirect that is not followed: too many hops, a loop, a missing
    /// or bad `Location` (the message says which).
    Redirect,
    /// The crawl's address guard refused every address of the host
    /// (private, loopback, link-local... or a `deny_networks` rule); the
    /// message names the address and the rule. Never retried.
    BlockedAddress,
    /// The proxy refused to carry the request (its credentials are
    /// wrong or missing, or its rules forbid the target); the message
    /// says which and what to fix. Never retried.
    Proxy,
}

impl FetchErrorKind {
    /// A short stable name, used in stats and records.
    ///
    /// ```
    /// assert_eq!(solo_crawl::fetch::FetchErrorKind::TooLarge.as_str(), "too_large");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorKind::Dns => "dns",
            FetchErrorKind::Connect => "connect",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::TooLarge => "too_large",
            FetchErrorKind::Tls => "tls",
            FetchErrorKind::InvalidResponse => "invalid_response",
            FetchErrorKind::Io => "io",
            FetchErrorKind::Unsupported => "unsupported",
            FetchErrorKind::Redirect => "redirect",
            FetchErrorKind::BlockedAddress => "blocked_address",
            FetchErrorKind::Proxy => "proxy",
        }
    }

    /// Whether trying again later may help (connect errors, timeouts,
    /// connections that broke).
    ///
    /// ```
    /// assert!(!solo_crawl::fetch::FetchErrorKind::Dns.is_retryable());
    /// ```
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            FetchErrorKind::Connect | FetchErrorKind::Timeout | FetchErrorKind::Io
        )
    }
}

/// A failed fetch.
///
/// [`source`](std::error::Error::source) gives the underlying error when
/// there is one (a [`solo_http::Error`] for the default fetcher).
///
/// ```
/// use solo_crawl::fetch::{FetchError, FetchErrorKind};
/// let e = FetchError::new(FetchErrorKind::Connect, "connection refused");
/// assert_eq!(e.to_string(), "connect: connection refused");
/// let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let e = e.with_source(io);
/// assert!(std::error::Error::source(&e).unwrap().is::<std::io::Error>());
/// ```
#[derive(Clone, Debug)]
pub struct FetchError {
    /// What went wrong.
    pub kind: FetchErrorKind,
    /// The details, for people.
    pub message: String,
    /// The status, when a response head arrived before the failure (e.g.
    /// a body over the limit).
    pub status: Option<u16>,
    /// The `Content-Type` of that response head, if it had one.
    pub content_type: Option<String>,
    /// What was received before the failure, when
    /// [`FetchRequest::capture`] asked and the response head had arrived:
    /// the head and the body so far, for the archive (its
    /// [`truncated`](Capture::truncated) says why it is cut short; a body
    /// that arrived whole but could not be decompressed is kept whole).
    pub capture: Option<Box<Capture>>,
    /// The underlying error (shared, so the error stays `Clone`).
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl FetchError {
    /// An error of `kind` with no status.
    ///
    /// ```
    /// let e = solo_crawl::fetch::FetchError::new(solo_crawl::fetch::FetchErrorKind::Io, "reset");
    /// assert!(e.status.is_none());
    /// ```
    pub fn new(kind: FetchErrorKind, message: impl Into<String>) -> FetchError {
        FetchError {
            kind,
            message: message.into(),
            status: None,
            content_type: None,
            capture: None,
            source: None,
        }
    }

    /// Keeps `source` as the underlying error, for
    /// [`source`](std::error::Error::source) and downcasting.
    ///
    /// ```
    /// use solo_crawl::fetch::{FetchError, FetchErrorKind};
    /// let e = FetchError::new(FetchErrorKind::Io, "reset")
    ///     .with_source(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    /// let io: &std::io::Error = std::error::Error::source(&e).unwrap().downcast_ref().unwrap();
    /// assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
    /// ```
    pub fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> FetchError {
        self.source = Some(Arc::new(source));
        self
    }
}

/// Equal when kind, message and status are (the source and capture are
/// not compared).
impl PartialEq for FetchError {
    fn eq(&self, other: &FetchError) -> bool {
        (self.kind, &self.message, self.status) == (other.kind, &other.message, other.status)
    }
}

impl Eq for FetchError {}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Something that can perform one HTTP exchange (any method, with a body).
///
/// The crawler is generic over it; [`solo_http::Client`] (built by
/// [`client`]) is the default one.
/// Futures need not be `Send` (everything runs on the loop thread).
///
/// ```
/// use solo_crawl::fetch::{Fetch, FetchError, FetchRequest, Fetched};
/// struct Canned;
/// impl Fetch for Canned {
///     async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
///         Ok(Fetched { status: 200, headers: vec![], final_url: req.url.clone(),
///                      body: bytes::Bytes::from_static(b"ok"), elapsed: Default::default(), capture: None })
///     }
/// }
/// let f = solo::run(Canned.fetch(&FetchRequest::get(url::Url::parse("http://a.test/").unwrap())));
/// assert_eq!(f.unwrap().body, "ok");
/// ```
#[allow(async_fn_in_trait)] // single-threaded: no Send bound wanted
pub trait Fetch: 'static {
    /// Performs the exchange. Must not follow redirects: a redirect's
    /// target goes back through the frontier as a request of its own.
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError>;
}

/// The [`solo_http::Client`] a crawl with `config` fetches with: redirects
/// not followed (a 3xx is the answer; the crawl queues its target),
/// `config`'s body limit and
/// `User-Agent`, up to `per_host` idle keep-alive connections kept per
/// host and twice `concurrency` (at least 64) over all hosts, name
/// resolution bounded by [`dns_timeout`], `config`'s extra TLS roots (or, if asked, no certificate checks
/// at all), its resolver, and its [`address_policy`].
///
/// ```
/// let cfg = solo_crawl::Config { root_certificates: vec![b"junk".to_vec()], ..Default::default() };
/// let err = solo_crawl::fetch::client(&cfg).unwrap_err();
/// assert_eq!(err.kind, solo_crawl::fetch::FetchErrorKind::Tls);
/// assert!(solo_crawl::fetch::client(&Default::default()).is_ok());
/// ```
pub fn client(config: &Config) -> Result<solo_http::Client, FetchError> {
    let mut b = solo_http::Client::builder()
        .redirect_limit(0)
        .max_body_size(config.max_bytes as u64)
        .user_agent(&config.user_agent)
        .pool_max_idle_per_host(config.per_host.max(1))
        // A crawl meets thousands of hosts: idle connections over all of
        // them stay within twice the requests in flight (each holds a
        // file descriptor and ~100 KiB; one per host exhausted
        // `ulimit -n 1024` on a broad crawl).
        .pool_max_idle(Some(config.concurrency.max(32).saturating_mul(2)))
        .dns_timeout(dns_timeout(config.timeout))
        .danger_accept_invalid_certs(config.danger_accept_invalid_certs)
        .address_policy(address_policy(config));
    if let Some(r) = &config.resolver {
        b = b.resolver(r.clone());
    }
    for der in &config.root_certificates {
        b = b.add_root_certificate(der.clone());
    }
    b = proxies(b, config);
    b.build().map_err(fetch_error)
}

/// The proxy settings of `config` on `b`: its proxy, or the
/// environment's, less its `no_proxy` hosts.
pub(crate) fn proxies(
    mut b: solo_http::ClientBuilder,
    config: &Config,
) -> solo_http::ClientBuilder {
    let direct = config.no_proxy.as_deref().map(solo_http::NoProxy::parse);
    if let Some(p) = &config.proxy {
        b = b.proxy(p);
    } else if config.proxy_from_env && !direct.as_ref().is_some_and(|d| d.matches_all()) {
        b = b.proxy_from_env();
    }
    if let Some(list) = &config.no_proxy {
        b = b.no_proxy(list);
    }
    b
}

/// Whether the proxies `config` asks for (its own or the environment's)
/// can be used: the error of the first that cannot, its password masked.
///
/// ```
/// let c = solo_crawl::Config { proxy: Some("socks5://u:pw@p.test:1".into()), ..Default::default() };
/// assert!(solo_crawl::fetch::check_proxies(&c).unwrap_err().contains("only http://"));
/// ```
pub fn check_proxies(config: &Config) -> Result<(), String> {
    proxies(solo_http::Client::builder(), config)
        .build()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// How long a request of a crawl with `timeout` waits for its host's
/// name to resolve: 90% of it, so that a name whose servers do not answer
/// fails as a DNS error that says so (and where the time went: queued
/// behind other lookups, or in the resolver) before the request's own
/// timeout ends it as "no complete response".
///
/// ```
/// use std::time::Duration;
/// assert_eq!(solo_crawl::fetch::dns_timeout(Duration::from_secs(10)), Duration::from_secs(9));
/// ```
pub fn dns_timeout(timeout: Duration) -> Duration {
    timeout.mul_f64(0.9)
}

/// The addresses a crawl with `config` may connect to: public ones only
/// (unless `allow_private_networks`), plus `allow_networks`, minus
/// `deny_networks`. [`Crawler::run`](crate::Crawler::run) adds the
/// networks its start URLs resolve to before it builds the client.
///
/// ```
/// let cfg = solo_crawl::Config { deny_networks: vec!["203.0.113.0/24".parse().unwrap()], ..Default::default() };
/// let p = solo_crawl::fetch::address_policy(&cfg);
/// assert!(p.check("10.0.0.1".parse().unwrap()).is_err());
/// assert!(p.check("1.1.1.1".parse().unwrap()).is_ok());
/// let open = solo_crawl::Config { allow_private_networks: true, ..cfg };
/// assert!(solo_crawl::fetch::address_policy(&open).check("10.0.0.1".parse().unwrap()).is_ok());
/// assert!(solo_crawl::fetch::address_policy(&open).check("203.0.113.9".parse().unwrap()).is_err());
/// ```
pub fn address_policy(config: &Config) -> solo_http::AddressPolicy {
    let mut p = match config.allow_private_networks {
        true => solo_http::AddressPolicy::allow_all(),
        false => solo_http::AddressPolicy::public_only(),
    };
    for net in &config.allow_networks {
        p = p.allow(*net);
    }
    for net in &config.deny_networks {
        p = p.deny(*net);
    }
    p
}

/// The default fetcher: pooled keep-alive HTTP/1.1 and HTTP/2, `http://`
/// and `https://`. Build it with [`client`] so that it does not follow
/// redirects itself. The body is decompressed (so the `Content-Encoding`
/// and `Content-Length` headers are dropped), read as it arrives and cut
/// off past `max_bytes`; the whole exchange is bounded by `timeout`.
///
/// ```
/// use solo_crawl::fetch::{Fetch, FetchErrorKind, FetchRequest};
/// solo::run(async {
///     let req = FetchRequest::get(url::Url::parse("http://127.0.0.1:1/").unwrap());
///     // The default guard refuses loopback (a crawl allows its start URLs' networks).
///     let client = solo_crawl::fetch::client(&Default::default()).unwrap();
///     assert_eq!(client.fetch(&req).await.unwrap_err().kind, FetchErrorKind::BlockedAddress);
///     // Allowed, nothing listens on port 1.
///     let cfg = solo_crawl::Config { allow_private_networks: true, ..Default::default() };
///     let client = solo_crawl::fetch::client(&cfg).unwrap();
///     assert_eq!(client.fetch(&req).await.unwrap_err().kind, FetchErrorKind::Connect);
/// });
/// ```
impl Fetch for solo_http::Client {
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let start = Instant::now();
        let date = std::time::SystemTime::now();
        // Set while the body waits for the budget, for the timeout's message.
        let waiting = std::cell::Cell::new(None);
        let mut progress = Progress::default();
        let done = {
            let exchange =
                std::pin::pin!(exchange(self, req, start, date, &waiting, &mut progress));
            crate::deadline::within(req.timeout, exchange).await
        };
        let result = done.unwrap_or_else(|| {
            let mut msg = format!("no complete response within {:.2?}", req.timeout);
            if let Some(since) = waiting.get() {
                let waited: Duration = Instant::now() - since;
                msg += &format!(
                    " (the body waited {waited:.1?} for memory: the crawl's body budget, \
                     --max-buffered, was spent)"
                );
            }
            let mut e = FetchError::new(FetchErrorKind::Timeout, msg);
            e.status = progress.resp.as_ref().map(|r| r.status().as_u16());
            Err(e)
        });
        result.map_err(|mut e| {
            e.capture = progress.partial(date, e.kind);
            e
        })
    }
}

/// What an exchange got before it ended: the response once its head
/// arrived, and the body so far with its charge. Kept outside the
/// exchange's future, so that a failure, a timeout included, still finds
/// it for the archive.
#[derive(Default)]
struct Progress {
    resp: Option<solo_http::Response>,
    body: Vec<u8>,
    lease: Option<Lease>,
}

impl Progress {
    /// The capture of an exchange that failed with `kind` after its head
    /// arrived: the body as received so far (still charged to the
    /// budget), cut short unless it all arrived.
    fn partial(
        &mut self,
        date: std::time::SystemTime,
        kind: FetchErrorKind,
    ) -> Option<Box<Capture>> {
        use crate::warc::Truncated;
        let resp = self.resp.as_ref()?;
        let whole = resp.body_received() || (kind == FetchErrorKind::TooLarge && sent_whole(resp));
        let truncated = match (whole, kind) {
            (true, _) => None,
            (false, FetchErrorKind::TooLarge) => Some(Truncated::Length),
            (false, FetchErrorKind::Timeout) => Some(Truncated::Time),
            (false, FetchErrorKind::Io) => Some(Truncated::Disconnect),
            (false, _) => Some(Truncated::Unspecified),
        };
        let body = charged(std::mem::take(&mut self.body), self.lease.take());
        let mut c = capture(resp, date, body)?;
        c.truncated = truncated;
        Some(c)
    }
}

/// Whether a compressed body refused for its decoded size (over
/// `--max-bytes` once decompressed) was still received whole as sent:
/// its `Content-Length` bytes are all in the capture. Then the archive
/// has the whole body, not a cut one (without a length, it cannot tell).
fn sent_whole(resp: &solo_http::Response) -> bool {
    let (Some(c), Some(raw)) = (resp.capture(), resp.raw_body()) else {
        return false;
    };
    content_length(c.response_head()) == Some(raw.len() as u64)
}

/// The `Content-Length` of a response head as received.
fn content_length(head: &[u8]) -> Option<u64> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        if !name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok()
    })
}

/// The capture of `resp`, if it has one, its body as received (`body`
/// unless it was decompressed).
fn capture(
    resp: &solo_http::Response,
    date: std::time::SystemTime,
    body: Bytes,
) -> Option<Box<Capture>> {
    let c = resp.capture()?;
    Some(Box::new(Capture {
        date,
        peer: c.peer_addr().map(|a| a.ip()),
        request: c.request().clone(),
        status: resp.status().as_u16(),
        response_head: c.response_head().clone(),
        // Not decompressed: the same bytes, no copy.
        body: match resp.raw_body() {
            Some(raw) => Bytes::copy_from_slice(raw),
            None => body,
        },
        http2: c.http2(),
        truncated: None,
    }))
}

/// `body`, keeping its charge to the budget while it lives.
fn charged(body: Vec<u8>, lease: Option<Lease>) -> Bytes {
    match lease {
        Some(lease) => Bytes::from_owner(Charged {
            body,
            _lease: lease,
        }),
        None => Bytes::from(body),
    }
}

/// One exchange, the body read in full into `progress` (the timeout is
/// the caller's).
async fn exchange(
    client: &solo_http::Client,
    req: &FetchRequest,
    start: Instant,
    date: std::time::SystemTime,
    waiting: &std::cell::Cell<Option<Instant>>,
    progress: &mut Progress,
) -> Result<Fetched, FetchError> {
    // The body is cut here, not refused by the client, when asked to.
    let limit = match req.cut_at_max {
        true => u64::MAX,
        false => req.max_bytes as u64,
    };
    let mut builder = client
        .request(req.method.clone(), &req.url)
        .capture(req.capture)
        .max_body_size(limit);
    if !req.body.is_empty() {
        builder = builder.body(req.body.clone());
    }
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let resp = builder.send().await.map_err(fetch_error)?;
    let resp = progress.resp.insert(resp);
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(solo_http::header::CONTENT_TYPE)
        .map(|v| header_text(&solo_http::header::CONTENT_TYPE, v.as_bytes()));
    let with_status = |mut e: FetchError| {
        e.status = Some(status);
        e.content_type.clone_from(&content_type);
        e
    };
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), header_text(k, v.as_bytes())))
        .collect();
    let head_len: usize = headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    if head_len > MAX_HEAD {
        return Err(with_status(FetchError::new(
            FetchErrorKind::InvalidResponse,
            "response head over 64 KiB",
        )));
    }
    // One buffer, sized once when the length is known (no doubling).
    let expected = resp.content_length().unwrap_or(0).min(req.max_bytes as u64);
    if resp.content_length() > Some(req.max_bytes as u64) && !req.cut_at_max {
        return Err(with_status(too_large(req.max_bytes)));
    }
    progress.body.reserve_exact(expected as usize);
    progress.lease = req.budget.as_ref().map(BodyBudget::lease);
    let read = read_body(resp, req, &mut progress.body, &mut progress.lease, waiting);
    // A redirect's body is not the page: one that drips is cut off after
    // a short while (the archive says so), not waited for until the
    // request's timeout fails the redirect.
    let cut = match redirect_body_time(status, &headers, req.timeout) {
        Some(limit) => match crate::deadline::within(limit, std::pin::pin!(read)).await {
            Some(done) => done.map_err(with_status)?,
            None => Some(crate::warc::Truncated::Time),
        },
        None => read.await.map_err(with_status)?,
    };
    let elapsed = start.elapsed();
    let mut body = std::mem::take(&mut progress.body);
    if body.capacity() - body.len() > 4096 {
        body.shrink_to_fit();
    }
    let body = charged(body, progress.lease.take());
    // solo-http sends a URL's credentials as `Authorization` and takes
    // them out of the URL; the page keeps them when it answered at the
    // URL asked for, so that its relative links (same origin) do too.
    let mut asked = req.url.clone();
    crate::secrets::strip_userinfo(&mut asked);
    let final_url = match *resp.url() == asked {
        true => req.url.clone(),
        false => resp.url().clone(),
    };
    let mut capture = capture(resp, date, body.clone());
    if let (Some(why), Some(c)) = (cut, &mut capture) {
        c.truncated = Some(why);
    }
    Ok(Fetched {
        status,
        headers,
        final_url,
        body,
        elapsed,
        capture,
    })
}

/// How long the body of a `status` answer with `headers` may take when
/// it is a redirect that will be followed (a `Location` to go to): at
/// most [`REDIRECT_BODY_TIME`], within the request's `timeout`. `None`
/// for any other answer, whose body gets the whole timeout.
fn redirect_body_time(
    status: u16,
    headers: &[(String, String)],
    timeout: Duration,
) -> Option<Duration> {
    let follows = crate::redirect::is_redirect(status) && header(headers, "location").is_some();
    follows.then(|| REDIRECT_BODY_TIME.min(timeout))
}

/// How long a redirect's body may take before it is cut off (the body of
/// a 3xx is a note for people; the crawl goes where `Location` says).
pub const REDIRECT_BODY_TIME: Duration = Duration::from_secs(1);

/// Reads `resp`'s body into `body`, each chunk charged to `lease` (the
/// time it waits for the budget noted in `waiting`), up to `max_bytes`;
/// `Some(Length)` if it was cut there (`cut_at_max`).
async fn read_body(
    resp: &mut solo_http::Response,
    req: &FetchRequest,
    body: &mut Vec<u8>,
    lease: &mut Option<Lease>,
    waiting: &std::cell::Cell<Option<Instant>>,
) -> Result<Option<crate::warc::Truncated>, FetchError> {
    while let Some(mut chunk) = resp.chunk().await.map_err(fetch_error)? {
        let over = body.len().saturating_add(chunk.len()) > req.max_bytes;
        if over && !req.cut_at_max {
            return Err(too_large(req.max_bytes));
        }
        if over {
            chunk.truncate(req.max_bytes - body.len());
        }
        if let Some(l) = lease {
            waiting.set(Some(Instant::now()));
            l.grow(chunk.len()).await;
            waiting.set(None);
        }
        body.extend_from_slice(&chunk);
        if over {
            return Ok(Some(crate::warc::Truncated::Length));
        }
    }
    Ok(None)
}

/// The error of a body over `max_bytes`.
fn too_large(max_bytes: usize) -> FetchError {
    FetchError::new(
        FetchErrorKind::TooLarge,
        format!("body over the limit of {max_bytes} bytes (--max-bytes, Config::max_bytes)"),
    )
}

/// A body that keeps its charge to the budget while it lives.
struct Charged {
    body: Vec<u8>,
    _lease: Lease,
}

impl AsRef<[u8]> for Charged {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

/// A header value as text, trimmed. Bytes that are not UTF-8 are a
/// `Location`'s raw URL bytes, percent-encoded as they are (`/caf\xE9`
/// → `/caf%E9`, as curl sends them: U+FFFD would name another
/// resource); in any other header they become U+FFFD.
fn header_text(name: &hyper::header::HeaderName, value: &[u8]) -> String {
    if name != hyper::header::LOCATION {
        // Borrowed (no copy) unless the value is not UTF-8.
        return String::from_utf8_lossy(value).trim().to_owned();
    }
    let mut text = String::with_capacity(value.len());
    for chunk in value.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text.trim().to_owned()
}

/// Largest response head accepted (hyper's own limit is higher).
const MAX_HEAD: usize = 64 * 1024;

/// The crawl's kind of a [`solo_http::Error`]. solo-http's `Connect` and
/// `Body` are split by cause: no connection at all is
/// [`Connect`](FetchErrorKind::Connect); bytes that are not valid HTTP
/// (or a corrupt compressed body) are
/// [`InvalidResponse`](FetchErrorKind::InvalidResponse); a connection
/// that closed or broke mid-exchange is [`Io`](FetchErrorKind::Io).
fn fetch_error(e: solo_http::Error) -> FetchError {
    use solo_http::ErrorKind as K;
    let kind = match e.kind() {
        K::Dns => FetchErrorKind::Dns,
        K::Timeout(_) => FetchErrorKind::Timeout,
        K::Tls => FetchErrorKind::Tls,
        K::TooLarge => FetchErrorKind::TooLarge,
        K::Redirect => FetchErrorKind::Redirect,
        K::InvalidUrl => FetchErrorKind::Unsupported,
        K::BlockedAddress => FetchErrorKind::BlockedAddress,
        K::Proxy => FetchErrorKind::Proxy,
        K::Connect | K::Body => match cause(&e) {
            Cause::Invalid => FetchErrorKind::InvalidResponse,
            Cause::Broken => FetchErrorKind::Io,
            Cause::NoConnection if e.kind() == K::Body => FetchErrorKind::Io,
            Cause::NoConnection => FetchErrorKind::Connect,
        },
        // `Status` is never produced (the status is not turned into an
        // error here); a kind solo-http adds later counts as a bad
        // response until it gets its own mapping.
        _ => FetchErrorKind::InvalidResponse,
    };
    // solo-http names its own API; a crawl's user has the options.
    let mut message = e
        .to_string()
        .replace(
            "ClientBuilder::danger_accept_invalid_certs",
            "--insecure, Config::danger_accept_invalid_certs",
        )
        .replace(
            "ClientBuilder::add_root_certificate",
            "--ca-cert FILE, Config::root_certificates",
        );
    if kind == FetchErrorKind::TooLarge {
        message = max_bytes_message(&message);
    }
    if untrusted_authority(&e) && !message.contains("--ca-cert") {
        message.push_str("; trust a private CA with --ca-cert FILE");
    }
    FetchError::new(kind, message).with_source(e)
}

/// solo-http's size-limit message with the crawl's option in place of
/// its API (the parenthesis naming `RequestBuilder::max_body_size`).
fn max_bytes_message(message: &str) -> String {
    const OPTION: &str = "(--max-bytes, Config::max_bytes)";
    let api = message.find("RequestBuilder::max_body_size");
    let span = api.and_then(|at| {
        let start = message[..at].rfind('(')?;
        let end = at + message[at..].find(')')? + 1;
        Some((start, end))
    });
    match span {
        Some((start, end)) => format!("{}{OPTION}{}", &message[..start], &message[end..]),
        None if message.contains("--max-bytes") => message.to_owned(),
        None => format!("{message} {OPTION}"),
    }
}

/// Whether `e` is a server certificate from an authority not trusted
/// (rustls's error sits inside the TLS stream's I/O error).
fn untrusted_authority(e: &solo_http::Error) -> bool {
    use rustls::{CertificateError, Error as Tls};
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let tls = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Tls>())
            .or_else(|| s.downcast_ref::<Tls>());
        if let Some(Tls::InvalidCertificate(CertificateError::UnknownIssuer)) = tls {
            return true;
        }
        source = s.source();
    }
    false
}

enum Cause {
    /// The server's bytes were not valid HTTP, or not valid compressed data.
    Invalid,
    /// A connection was made, then closed or failed.
    Broken,
    /// No HTTP connection was made.
    NoConnection,
}

fn cause(e: &solo_http::Error) -> Cause {
    let mut hyper_seen = false;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_parse() {
                return Cause::Invalid;
            }
            hyper_seen = true;
        } else if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            ) {
                return Cause::Invalid;
            }
        }
        source = s.source();
    }
    if hyper_seen {
        Cause::Broken
    } else {
        Cause::NoConnection
    }
}
