//! The downloader seam: one HTTP exchange, behind the [`Fetch`] trait.
//!
//! Owns: turning a [`FetchRequest`] into a [`Fetched`] response or a
//! [`FetchError`] with a kind the engine can act on (retry, record). The
//! built-in [`HttpClient`] speaks plain HTTP/1.1 on
//! [`solo::net::TcpStream`], one request per connection: `Content-Length`,
//! chunked and read-to-close bodies, a body size limit, a total timeout.
//! Must not: follow redirects, retry, or know about spiders, robots.txt
//! or the frontier — the engine does all of that, so another client
//! (TLS, pooling) can be dropped in by implementing [`Fetch`].

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use solo::net::TcpStream;
use url::{Host, Url};

/// What to fetch, and the limits to fetch it under.
///
/// ```
/// let req = solo_crawl::fetch::FetchRequest::get(url::Url::parse("http://127.0.0.1:1/").unwrap());
/// assert_eq!(req.max_bytes, 64 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// The URL (http or https).
    pub url: Url,
    /// Extra request headers (`User-Agent`, `Referer`, ...).
    pub headers: Vec<(String, String)>,
    /// The whole exchange, connect to last body byte, must fit in this.
    pub timeout: Duration,
    /// A body larger than this is an error of kind [`FetchErrorKind::TooLarge`].
    pub max_bytes: usize,
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
            url,
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            max_bytes: 64 << 20,
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
/// };
/// assert_eq!(f.header("Content-Type"), Some("text/html"));
/// ```
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The URL that answered (after redirects, for a client that follows
    /// them; the built-in one does not).
    pub final_url: Url,
    /// The body, de-chunked.
    pub body: Bytes,
    /// How long the exchange took.
    pub elapsed: Duration,
}

impl Fetched {
    /// The first header named `name` (any case).
    ///
    /// ```
    /// # let f = solo_crawl::fetch::Fetched { status: 200, headers: vec![("location".into(), "/x".into())],
    /// #   final_url: url::Url::parse("http://a.test/").unwrap(), body: Default::default(), elapsed: Default::default() };
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
pub enum FetchErrorKind {
    /// The host name did not resolve.
    Dns,
    /// No connection could be made (refused, unreachable, reset early).
    Connect,
    /// The exchange did not finish in time.
    Timeout,
    /// The body was over the size limit.
    TooLarge,
    /// The server's bytes were not a valid HTTP/1 response.
    InvalidResponse,
    /// The connection failed mid-exchange.
    Io,
    /// The URL cannot be fetched by this client (e.g. https on the
    /// built-in one).
    Unsupported,
    /// Redirect trouble: too many hops, or a bad `Location` (set by the
    /// engine).
    Redirect,
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
            FetchErrorKind::InvalidResponse => "invalid_response",
            FetchErrorKind::Io => "io",
            FetchErrorKind::Unsupported => "unsupported",
            FetchErrorKind::Redirect => "redirect",
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
/// ```
/// use solo_crawl::fetch::{FetchError, FetchErrorKind};
/// let e = FetchError::new(FetchErrorKind::Connect, "connection refused");
/// assert_eq!(e.to_string(), "connect: connection refused");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// What went wrong.
    pub kind: FetchErrorKind,
    /// The details, for people.
    pub message: String,
    /// The status, when a response head arrived before the failure (e.g.
    /// a body over the limit).
    pub status: Option<u16>,
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
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for FetchError {}

/// Something that can perform one HTTP GET.
///
/// The crawler is generic over it; [`HttpClient`] is the built-in one.
/// Futures need not be `Send` (everything runs on the loop thread).
///
/// ```
/// use solo_crawl::fetch::{Fetch, FetchError, FetchRequest, Fetched};
/// struct Canned;
/// impl Fetch for Canned {
///     async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
///         Ok(Fetched { status: 200, headers: vec![], final_url: req.url.clone(),
///                      body: bytes::Bytes::from_static(b"ok"), elapsed: Default::default() })
///     }
/// }
/// let f = solo::run(Canned.fetch(&FetchRequest::get(url::Url::parse("http://a.test/").unwrap())));
/// assert_eq!(f.unwrap().body, "ok");
/// ```
#[allow(async_fn_in_trait)] // single-threaded: no Send bound wanted
pub trait Fetch: 'static {
    /// Performs the exchange. Must not follow redirects: the engine does.
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError>;
}

/// The built-in client: HTTP/1.1 over plain TCP, one request per
/// connection. `https` URLs fail with [`FetchErrorKind::Unsupported`].
///
/// ```
/// use solo_crawl::fetch::{Fetch, FetchErrorKind, FetchRequest, HttpClient};
/// let req = FetchRequest::get(url::Url::parse("https://example.com/").unwrap());
/// let err = solo::run(HttpClient::new().fetch(&req)).unwrap_err();
/// assert_eq!(err.kind, FetchErrorKind::Unsupported);
/// ```
#[derive(Clone, Debug, Default)]
pub struct HttpClient {
    _private: (),
}

impl HttpClient {
    /// A client.
    ///
    /// ```
    /// let _ = solo_crawl::fetch::HttpClient::new();
    /// ```
    pub fn new() -> HttpClient {
        HttpClient::default()
    }
}

impl Fetch for HttpClient {
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let start = Instant::now();
        match solo::timeout(req.timeout, exchange(req)).await {
            Ok(Ok((status, headers, body))) => Ok(Fetched {
                status,
                headers,
                final_url: req.url.clone(),
                body,
                elapsed: start.elapsed(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(FetchError::new(
                FetchErrorKind::Timeout,
                format!("no complete response within {:?}", req.timeout),
            )),
        }
    }
}

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

type Exchange = (u16, Vec<(String, String)>, Bytes);

async fn exchange(req: &FetchRequest) -> Result<Exchange, FetchError> {
    let url = &req.url;
    if url.scheme() != "http" {
        return Err(FetchError::new(
            FetchErrorKind::Unsupported,
            format!("the built-in client speaks http only, not {}", url.scheme()),
        ));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = match url.host() {
        Some(Host::Domain(d)) => solo::net::lookup_host(d, port)
            .await
            .map_err(|e| FetchError::new(FetchErrorKind::Dns, e.to_string()))?,
        Some(Host::Ipv4(ip)) => vec![(ip, port).into()],
        Some(Host::Ipv6(ip)) => vec![(ip, port).into()],
        None => return Err(FetchError::new(FetchErrorKind::Unsupported, "no host")),
    };
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| {
        let msg = last.map_or_else(|| "no address".to_owned(), |e| e.to_string());
        FetchError::new(
            FetchErrorKind::Connect,
            format!("{}: {msg}", host_port(url)),
        )
    })?;
    let _ = stream.set_nodelay(true);

    let mut head = String::with_capacity(256);
    head.push_str("GET ");
    head.push_str(&url[url::Position::BeforePath..url::Position::AfterQuery]);
    head.push_str(" HTTP/1.1\r\nHost: ");
    head.push_str(&host_port(url));
    head.push_str("\r\nConnection: close\r\nAccept-Encoding: identity\r\n");
    for (k, v) in &req.headers {
        if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            continue; // never let a header value split the request
        }
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(io_err)?;

    let mut r = Reader {
        stream: &stream,
        buf: Vec::with_capacity(16 * 1024),
        pos: 0,
        eof: false,
    };
    read_response(&mut r, req.max_bytes).await
}

/// `host[:port]` as the Host header wants it (port only when not default).
fn host_port(url: &Url) -> String {
    let host = match url.host() {
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

fn io_err(e: std::io::Error) -> FetchError {
    FetchError::new(FetchErrorKind::Io, e.to_string())
}

fn invalid(msg: impl Into<String>) -> FetchError {
    FetchError::new(FetchErrorKind::InvalidResponse, msg)
}

/// A read buffer over the stream: `buf[pos..]` is unread.
struct Reader<'a> {
    stream: &'a TcpStream,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl Reader<'_> {
    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more bytes; false at EOF.
    async fn fill(&mut self) -> Result<bool, FetchError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let len = self.buf.len();
        let want = (self.buf.capacity() - len).max(16 * 1024);
        self.buf.resize(len + want, 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(io_err(e));
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Reads until `buf[pos..]` holds at least `n` bytes; false at EOF
    /// before that.
    async fn need(&mut self, n: usize) -> Result<bool, FetchError> {
        while self.unread().len() < n {
            if !self.fill().await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The next CRLF- (or LF-) terminated line, without its terminator.
    async fn line(&mut self, limit: usize) -> Result<Vec<u8>, FetchError> {
        loop {
            if let Some(i) = self.unread().iter().position(|&b| b == b'\n') {
                let mut line = self.unread()[..i].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.pos += i + 1;
                return Ok(line);
            }
            if self.unread().len() > limit {
                return Err(invalid("chunk size line too long"));
            }
            if !self.fill().await? {
                return Err(invalid("connection closed inside the chunked body"));
            }
        }
    }
}

async fn read_response(r: &mut Reader<'_>, max_bytes: usize) -> Result<Exchange, FetchError> {
    loop {
        let (status, headers, head_len) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 128];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(r.unread()) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = resp.code.unwrap_or(0);
                    let headers = resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).trim().to_owned(),
                            )
                        })
                        .collect::<Vec<_>>();
                    break (status, headers, n);
                }
                Ok(httparse::Status::Partial) => {
                    if r.unread().len() > MAX_HEAD {
                        return Err(invalid("response head over 64 KiB"));
                    }
                    if !r.fill().await? {
                        return Err(if r.unread().is_empty() {
                            FetchError::new(
                                FetchErrorKind::Io,
                                "connection closed before any response",
                            )
                        } else {
                            invalid("connection closed inside the response head")
                        });
                    }
                }
                Err(e) => return Err(invalid(format!("bad response head: {e}"))),
            }
        };
        r.pos += head_len;
        if (100..200).contains(&status) && status != 101 {
            continue; // 100 Continue and friends: the real head follows
        }
        let with_status = |mut e: FetchError| {
            e.status = Some(status);
            e
        };
        let body = read_body(r, status, &headers, max_bytes)
            .await
            .map_err(with_status)?;
        return Ok((status, headers, body));
    }
}

async fn read_body(
    r: &mut Reader<'_>,
    status: u16,
    headers: &[(String, String)],
    max_bytes: usize,
) -> Result<Bytes, FetchError> {
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Bytes::new());
    }
    let too_large = || {
        FetchError::new(
            FetchErrorKind::TooLarge,
            format!("body over the limit of {max_bytes} bytes"),
        )
    };
    let chunked = headers.iter().any(|(k, v)| {
        k == "transfer-encoding"
            && v.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    });
    if chunked {
        let mut body = Vec::new();
        loop {
            let line = r.line(4096).await?;
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line; a close instead is fine.
                while !r.eof || !r.unread().is_empty() {
                    match r.line(MAX_HEAD).await {
                        Ok(l) if l.is_empty() => break,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                return Ok(Bytes::from(body));
            }
            if body.len().saturating_add(size) > max_bytes {
                return Err(too_large());
            }
            if !r.need(size).await? {
                return Err(invalid("connection closed inside a chunk"));
            }
            body.extend_from_slice(&r.unread()[..size]);
            r.pos += size;
            let _ = r.need(2).await?;
            let rest = r.unread();
            if rest.starts_with(b"\r\n") {
                r.pos += 2;
            } else if rest.starts_with(b"\n") {
                r.pos += 1;
            } else {
                return Err(invalid("chunk not followed by CRLF"));
            }
        }
    }
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(first) = lengths.first() {
        if lengths.iter().any(|v| v != first) {
            return Err(invalid("conflicting Content-Length headers"));
        }
        let len: u64 = first
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {first:?}")))?;
        if len > max_bytes as u64 {
            return Err(too_large());
        }
        let len = len as usize;
        if !r.need(len).await? {
            return Err(invalid(format!(
                "connection closed after {} of {len} body bytes",
                r.unread().len()
            )));
        }
        let body = Bytes::copy_from_slice(&r.unread()[..len]);
        r.pos += len;
        return Ok(body);
    }
    // No length: the body runs to the close.
    loop {
        if r.unread().len() > max_bytes {
            return Err(too_large());
        }
        if !r.fill().await? {
            break;
        }
    }
    let body = Bytes::copy_from_slice(r.unread());
    r.pos = r.buf.len();
    Ok(body)
}
