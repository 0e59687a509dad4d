//! A synthetic web site on solo, for the demo, the benchmark and tests.
//!
//! Owns: a small HTTP/1.1 server ([`serve`]: keep-alive, `Content-Length`
//! or chunked or close-delimited bodies, raw bytes for broken responses)
//! driven by a handler function, and the demo site built on it: pages
//! `/page/0` … `/page/N-1` linked by a fixed formula (so the set of
//! reachable pages is known: [`demo_reachable`]), a few slow pages, some
//! 404s and 500s, JSON files, and a robots.txt that disallows `/private/`
//! with a Crawl-delay of 0. [`DemoSite`] runs it on its own thread and loop,
//! on 127.0.0.1 and a free port. Must not: reach beyond loopback.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use solo::net::{TcpListener, TcpStream};
use url::Url;

/// A request as the site's handler sees it.
///
/// ```
/// let r = solo_crawl::demo_site::SiteRequest {
///     method: "GET".into(), path: "/a?b".into(), headers: vec![("host".into(), "x".into())], body: vec![],
/// };
/// assert_eq!(r.header("Host"), Some("x"));
/// ```
#[derive(Clone, Debug)]
pub struct SiteRequest {
    /// `GET`, ...
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` framing only; at most 1 MiB).
    pub body: Vec<u8>,
}

impl SiteRequest {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::fetch::header(&self.headers, name)
    }
}

/// How the body is framed on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`, in chunks of this size.
    Chunked(usize),
    /// No length: the body ends when the connection closes.
    Close,
    /// These exact bytes are the whole response (status and headers are
    /// ignored); the connection closes after them.
    Raw(Vec<u8>),
}

/// A response from the site's handler.
///
/// ```
/// use solo_crawl::demo_site::SiteResponse;
/// let r = SiteResponse::html("<p>hi").with_header("X-Test", "1");
/// assert_eq!(r.status, 200);
/// assert_eq!(SiteResponse::redirect(301, "/b").headers[0].1, "/b");
/// ```
#[derive(Clone, Debug)]
pub struct SiteResponse {
    /// Status code.
    pub status: u16,
    /// Headers (besides the framing ones, which are added).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Framing.
    pub framing: Framing,
}

impl SiteResponse {
    /// A 200 `text/html; charset=utf-8` response.
    pub fn html(body: impl Into<Vec<u8>>) -> SiteResponse {
        SiteResponse::typed(200, "text/html; charset=utf-8", body)
    }

    /// A response with a status, a content type and a body.
    pub fn typed(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> SiteResponse {
        SiteResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            framing: Framing::Length,
        }
    }

    /// A plain-text response with just a status.
    pub fn status(status: u16) -> SiteResponse {
        SiteResponse::typed(status, "text/plain", format!("status {status}\n"))
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> SiteResponse {
        SiteResponse {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
            framing: Framing::Length,
        }
    }

    /// These bytes and nothing else, then close.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> SiteResponse {
        SiteResponse {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            framing: Framing::Raw(bytes.into()),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> SiteResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the framing.
    pub fn with_framing(mut self, framing: Framing) -> SiteResponse {
        self.framing = framing;
        self
    }

    fn encode(&self, keep_alive: bool) -> Vec<u8> {
        if let Framing::Raw(b) = &self.framing {
            return b.clone();
        }
        let mut out = Vec::with_capacity(self.body.len() + 256);
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        match &self.framing {
            Framing::Length => {
                out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes())
            }
            Framing::Chunked(_) => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            Framing::Close | Framing::Raw(_) => {}
        }
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        match &self.framing {
            Framing::Chunked(size) => {
                for chunk in self.body.chunks((*size).max(1)) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            _ => out.extend_from_slice(&self.body),
        }
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Serves HTTP on `listener` with `handler` until the task is dropped.
/// Each connection is a task; requests on it are answered in turn
/// (keep-alive unless the client or the framing says close).
///
/// ```
/// use solo_crawl::demo_site::{serve, SiteResponse};
/// use solo_crawl::fetch::{Fetch, FetchRequest};
/// solo::run(async {
///     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let url = url::Url::parse(&format!("http://{}/hi", listener.local_addr().unwrap())).unwrap();
///     solo::spawn(serve(listener, |req| async move { SiteResponse::html(format!("you asked for {}", req.path)) }));
///     // A client of its own is guarded too: allow loopback.
///     let cfg = solo_crawl::Config { allow_networks: vec!["127.0.0.0/8".parse().unwrap()], ..Default::default() };
///     let client = solo_crawl::fetch::client(&cfg).unwrap();
///     let f = client.fetch(&FetchRequest::get(url)).await.unwrap();
///     assert_eq!(f.body, "you asked for /hi");
/// });
/// ```
pub async fn serve<H, Fut>(listener: TcpListener, handler: H)
where
    H: Fn(SiteRequest) -> Fut + 'static,
    Fut: Future<Output = SiteResponse> + 'static,
{
    let handler = Rc::new(handler);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let h = handler.clone();
                solo::spawn(async move {
                    let _ = connection(stream, &*h).await;
                });
            }
            Err(_) => solo::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Largest request body the site reads.
const MAX_REQUEST_BODY: usize = 1 << 20;

/// Reads what has arrived into `buf`; an error when the peer closed.
async fn read_more(stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

async fn connection<H, Fut>(stream: TcpStream, handler: &H) -> io::Result<()>
where
    H: Fn(SiteRequest) -> Fut,
    Fut: Future<Output = SiteResponse>,
{
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (req, used, close) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Request::new(&mut slots);
            match r.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let headers: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let close = r.version == Some(0)
                        || headers
                            .iter()
                            .any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"));
                    let len = crate::fetch::header(&headers, "content-length")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if len > MAX_REQUEST_BODY {
                        stream
                            .write_all(&SiteResponse::status(413).encode(false))
                            .await?;
                        return Ok(());
                    }
                    if buf.len() < n + len {
                        read_more(&stream, &mut buf).await?;
                        continue;
                    }
                    let req = SiteRequest {
                        method: r.method.unwrap_or("GET").to_owned(),
                        path: r.path.unwrap_or("/").to_owned(),
                        headers,
                        body: buf[n..n + len].to_vec(),
                    };
                    break (req, n + len, close);
                }
                Ok(httparse::Status::Partial) => {
                    if buf.len() > 64 * 1024 {
                        return Ok(());
                    }
                    read_more(&stream, &mut buf).await?;
                }
                Err(_) => {
                    stream
                        .write_all(&SiteResponse::status(400).encode(false))
                        .await?;
                    return Ok(());
                }
            }
        };
        buf.drain(..used);
        let resp = handler(req).await;
        let keep = !close && matches!(resp.framing, Framing::Length | Framing::Chunked(_));
        stream.write_all(&resp.encode(keep)).await?;
        if !keep {
            let _ = stream.shutdown(std::net::Shutdown::Write);
            return Ok(());
        }
    }
}

/// The links on demo page `n` of a site of `pages` pages, as written in
/// its HTML (some relative, some with fragments, one off-site, one mailto).
///
/// ```
/// let links = solo_crawl::demo_site::demo_links(3, 100);
/// assert!(links.contains(&"/page/7".to_string()));
/// assert!(links.contains(&"/missing/3".to_string()));
/// ```
pub fn demo_links(n: u64, pages: u64) -> Vec<String> {
    let mut v = Vec::new();
    for child in [2 * n + 1, 2 * n + 2] {
        if child < pages {
            v.push(format!("/page/{child}"));
        }
    }
    if n + 1 < pages {
        v.push(format!("{}", n + 1)); // relative to /page/n
    }
    v.push(format!("/page/{}#section", (n * 7919 + 13) % pages));
    v.push("../page/0".into());
    if n % 10 == 3 {
        v.push(format!("/missing/{n}"));
    }
    if n % 50 == 5 {
        v.push(format!("/error/{n}"));
    }
    if n % 20 == 7 {
        v.push(format!("/private/{n}"));
    }
    if n.is_multiple_of(25) {
        v.push(format!("/data/{n}.json"));
    }
    if n == 0 {
        v.push("http://elsewhere.invalid/".into());
        v.push("mailto:someone@example.invalid".into());
    }
    v
}

/// The demo page or file at `path` (`None`: 404).
fn demo_page(path: &str, pages: u64) -> Option<(SiteResponse, bool)> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path == "/" {
        return Some((
            SiteResponse::html(
                "<!doctype html><html><head><title>solo-crawl demo</title></head>\
                 <body><h1>Demo site</h1><a href=\"/page/0\">start</a></body></html>",
            ),
            false,
        ));
    }
    if path == "/robots.txt" {
        return Some((
            SiteResponse::typed(
                200,
                "text/plain",
                "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n",
            ),
            false,
        ));
    }
    let num = |prefix: &str, suffix: &str| -> Option<u64> {
        path.strip_prefix(prefix)?
            .strip_suffix(suffix)?
            .parse()
            .ok()
    };
    if let Some(n) = num("/page/", "").filter(|&n| n < pages) {
        let mut html = format!(
            "<!doctype html><html><head><title>Page {n}</title></head><body><h1>Page {n}</h1><ul>"
        );
        for l in demo_links(n, pages) {
            html.push_str(&format!("<li><a href=\"{l}\">{l}</a></li>"));
        }
        html.push_str(
            "</ul><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p></body></html>",
        );
        return Some((SiteResponse::html(html), n % 100 == 11));
    }
    if num("/error/", "").is_some() {
        return Some((SiteResponse::status(500), false));
    }
    if let Some(n) = num("/data/", ".json") {
        return Some((
            SiteResponse::typed(
                200,
                "application/json",
                format!("{{\"page\": {n}, \"html\": \"<a href='/page/1'>not a link</a>\"}}"),
            ),
            false,
        ));
    }
    if num("/private/", "").is_some() {
        return Some((SiteResponse::html("<title>private</title>secret"), false));
    }
    None
}

/// The demo site's answer to `req` (slow pages sleep 50 ms first).
pub async fn demo_response(req: &SiteRequest, pages: u64) -> SiteResponse {
    match demo_page(&req.path, pages) {
        Some((resp, slow)) => {
            if slow {
                solo::sleep(Duration::from_millis(50)).await;
            }
            resp
        }
        None => SiteResponse::status(404),
    }
}

/// The paths a full crawl of the demo site from `/` requests (robots.txt
/// obeyed, so nothing under `/private/`; off-site and mailto links not
/// followed; robots.txt itself not counted).
///
/// ```
/// let all = solo_crawl::demo_site::demo_reachable(100);
/// assert!(all.contains("/page/99") && all.contains("/error/5") && all.contains("/data/0.json"));
/// assert!(!all.iter().any(|p| p.starts_with("/private/")));
/// ```
pub fn demo_reachable(pages: u64) -> BTreeSet<String> {
    let base = Url::parse("http://demo.invalid/").expect("valid");
    let mut seen = BTreeSet::from(["/".to_owned()]);
    let mut queue = VecDeque::from([0u64]);
    seen.insert("/page/0".into());
    while let Some(n) = queue.pop_front() {
        let page = base.join(&format!("/page/{n}")).expect("valid");
        for l in demo_links(n, pages) {
            let Ok(u) = page.join(&l) else { continue };
            if u.host_str() != Some("demo.invalid") || u.path().starts_with("/private/") {
                continue;
            }
            if seen.insert(u.path().to_owned()) {
                if let Some(k) = u.path().strip_prefix("/page/").and_then(|k| k.parse().ok()) {
                    queue.push_back(k);
                }
            }
        }
    }
    seen
}

/// The demo site running on its own thread (and its own solo loop) on
/// 127.0.0.1; stopped when dropped.
///
/// ```
/// let site = solo_crawl::demo_site::DemoSite::start(1000).unwrap();
/// assert_eq!(site.url().host_str(), Some("127.0.0.1"));
/// ```
pub struct DemoSite {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl DemoSite {
    /// Starts a demo site of `pages` pages on a free port.
    pub fn start(pages: u64) -> io::Result<DemoSite> {
        DemoSite::with_handler(move |req| async move { demo_response(&req, pages).await })
    }

    /// Serves another site, answered by `handler`, the same way (its own
    /// thread and loop, 127.0.0.1, a free port).
    ///
    /// ```
    /// use solo_crawl::demo_site::{DemoSite, SiteResponse};
    /// let site = DemoSite::with_handler(|_req| async { SiteResponse::html("<p>hello") }).unwrap();
    /// assert_eq!(site.requests(), 0);
    /// ```
    pub fn with_handler<H, Fut>(handler: H) -> io::Result<DemoSite>
    where
        H: Fn(SiteRequest) -> Fut + Send + 'static,
        Fut: Future<Output = SiteResponse> + 'static,
    {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        std_listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let (stop2, served2) = (stop.clone(), served.clone());
        let thread = std::thread::Builder::new()
            .name("demo-site".into())
            .spawn(move || {
                solo::run(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let server = solo::spawn(serve(listener, move |req| {
                        served2.fetch_add(1, Ordering::Relaxed);
                        handler(req)
                    }));
                    while !stop2.load(Ordering::Relaxed) {
                        solo::sleep(Duration::from_millis(20)).await;
                    }
                    server.cancel();
                });
            })?;
        Ok(DemoSite {
            addr,
            stop,
            served,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("valid")
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for DemoSite {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
