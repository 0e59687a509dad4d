//! Test servers on solo: a hyper HTTP/1.1 server with the routes the
//! tests need, and a raw TCP server for faults hyper would not commit.
//! Both count the TCP connections they accept and how many are open at
//! once.

#![allow(dead_code)]

pub mod nginx_process;
pub mod relay;
pub mod tls;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use solo::net::{TcpListener, TcpStream};

/// Any response body (not `Send`: bodies are fed by solo tasks).
pub type Body = Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = Infallible>>>;

/// Runs `f` on a new loop, failing the test if it takes over 30 s.
pub fn run<F: Future>(f: F) -> F::Output {
    solo::run(async {
        solo::timeout(Duration::from_secs(30), f)
            .await
            .expect("the test hung")
    })
}

/// Connections a server accepted, and how many were open at most.
#[derive(Default)]
pub struct Stats {
    accepted: Cell<usize>,
    open: Cell<usize>,
    max_open: Cell<usize>,
}

impl Stats {
    pub fn accepted(&self) -> usize {
        self.accepted.get()
    }

    pub fn max_open(&self) -> usize {
        self.max_open.get()
    }

    pub fn open(&self) -> usize {
        self.open.get()
    }

    fn enter(self: &Rc<Self>) -> OpenGuard {
        self.accepted.set(self.accepted.get() + 1);
        self.open.set(self.open.get() + 1);
        self.max_open.set(self.max_open.get().max(self.open.get()));
        OpenGuard(self.clone())
    }
}

struct OpenGuard(Rc<Stats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub stats: Rc<Stats>,
}

impl Server {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The same server under the name `localhost` (another host).
    pub fn other_host_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }
}

/// Starts the hyper test server on 127.0.0.1.
pub async fn start() -> Server {
    start_raw(|stream: TcpStream| async move {
        let addr = stream.local_addr().unwrap();
        let io = hyper_util::rt::TokioIo::new(solo::compat::TokioIo::new(stream));
        let service = hyper::service::service_fn(move |req| route(req, addr));
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    })
    .await
}

/// Starts a raw TCP server: `handle` gets each accepted connection.
pub async fn start_raw<F, Fut>(handle: F) -> Server
where
    F: Fn(TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Rc::new(Stats::default());
    let s = stats.clone();
    solo::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let guard = s.enter();
            let fut = handle(stream);
            solo::spawn(async move {
                let _guard = guard;
                fut.await;
            });
        }
    });
    Server { addr, stats }
}

fn full(b: impl Into<Bytes>) -> Body {
    Box::pin(Full::new(b.into()))
}

fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().append(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

fn redirect(status: u16, to: &str) -> Response<Body> {
    reply(status, &[("location", to)], "")
}

/// A body fed from a channel: the sender decides the pace.
pub struct ChannelBody(solo::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// A body of `n` bytes, one every `every`.
fn trickle(n: usize, every: Duration) -> Body {
    let (tx, rx) = solo::sync::mpsc::channel(1);
    solo::spawn(async move {
        for _ in 0..n {
            solo::sleep(every).await;
            if tx.send(Bytes::from_static(b"x")).await.is_err() {
                return;
            }
        }
    });
    Box::pin(ChannelBody(rx))
}

/// A body of `n` bytes in 16 KiB frames, without a length.
fn chunked(n: usize) -> Body {
    let (tx, rx) = solo::sync::mpsc::channel(1);
    solo::spawn(async move {
        let mut left = n;
        while left > 0 {
            let k = left.min(16 << 10);
            left -= k;
            if tx.send(Bytes::from(vec![b'z'; k])).await.is_err() {
                return;
            }
        }
    });
    Box::pin(ChannelBody(rx))
}

pub const TEXT: &str = "The quick brown fox jumps over the lazy dog. ";

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

/// The size [`br_bomb`] decodes to: just over the default limit.
pub const BR_BOMB_SIZE: usize = (64 << 20) + 1;

/// A few hundred bytes of brotli that decode to [`BR_BOMB_SIZE`] zeros.
fn br_bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| brotli(&vec![0u8; BR_BOMB_SIZE]))
        .clone()
}

/// About 2 KiB of zstd that decode to [`BR_BOMB_SIZE`] zeros.
fn zstd_bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| zstd::bulk::compress(&vec![0u8; BR_BOMB_SIZE], 3).unwrap())
        .clone()
}

fn query_n(req: &Request<Incoming>, default: usize) -> usize {
    req.uri()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

pub async fn route(req: Request<Incoming>, addr: SocketAddr) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let text = TEXT.repeat(100);
    Ok(match path.as_str() {
        "/text" => reply(200, &[("content-type", "text/plain")], "hello world"),
        // About n KiB of response headers, in headers of 10 KiB.
        "/big-head" => {
            let value = "v".repeat(10 << 10);
            let names: Vec<String> = (0..query_n(&req, 20).div_ceil(10))
                .map(|i| format!("x-big-{i}"))
                .collect();
            let headers: Vec<(&str, &str)> =
                names.iter().map(|n| (n.as_str(), value.as_str())).collect();
            reply(200, &headers, "big head")
        }
        "/json" => reply(
            200,
            &[("content-type", "application/json")],
            r#"{"name":"solo","n":3}"#,
        ),
        "/json-bom" => reply(
            200,
            &[("content-type", "application/json")],
            &b"\xef\xbb\xbf{\"name\":\"solo\",\"n\":3}"[..],
        ),
        "/echo" | "/cookie/echo" => {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let v = serde_json::json!({
                "method": method,
                "uri": uri,
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            });
            reply(200, &[("content-type", "application/json")], v.to_string())
        }
        "/gzip" => reply(200, &[("content-encoding", "gzip")], gzip(text.as_bytes())),
        "/deflate" => reply(200, &[("content-encoding", "deflate")], deflate(text.as_bytes())),
        // Two gzip members (RFC 1952 2.2), then what `?tail=` says.
        "/gzip-members" => {
            let mut body = gzip(b"first member; ");
            body.extend_from_slice(&gzip(b"second member"));
            if let Some(tail) = req.uri().query().and_then(|q| q.strip_prefix("tail=")) {
                body.extend_from_slice(tail.as_bytes());
            }
            reply(200, &[("content-encoding", "gzip")], body)
        }
        // Gzipped twice (an application and a proxy in front of it), the
        // codings listed on two lines; `?one-line`: as `gzip, gzip`;
        // `?unknown`: a `compress` line before them (not decodable).
        "/gzip-twice" => {
            let body = gzip(&gzip(text.as_bytes()));
            let lines: &[(&str, &str)] = match req.uri().query() {
                Some("one-line") => &[("content-encoding", "gzip, gzip")],
                Some("unknown") => &[
                    ("content-encoding", "compress"),
                    ("content-encoding", "gzip"),
                    ("content-encoding", "gzip"),
                ],
                _ => &[("content-encoding", "gzip"), ("content-encoding", "gzip")],
            };
            reply(200, lines, body)
        }
        // 8 MiB of zeros, gzipped twice.
        "/bomb-twice" => reply(
            200,
            &[("content-encoding", "gzip"), ("content-encoding", "gzip")],
            gzip(&gzip(&vec![0u8; 8 << 20])),
        ),
        "/br" => reply(200, &[("content-encoding", "br")], brotli(text.as_bytes())),
        "/br-bomb" => reply(200, &[("content-encoding", "br")], br_bomb()),
        "/zstd" => reply(
            200,
            &[("content-encoding", "zstd")],
            zstd::bulk::compress(text.as_bytes(), 3).unwrap(),
        ),
        // Gzipped, then zstd on top (an application and a proxy).
        "/gzip-zstd" => reply(
            200,
            &[("content-encoding", "gzip"), ("content-encoding", "zstd")],
            zstd::bulk::compress(&gzip(text.as_bytes()), 3).unwrap(),
        ),
        // The first half of the gzipped text, as a `206` part: it does
        // not decode on its own.
        "/gzip-range" => {
            let whole = gzip(text.as_bytes());
            let half = whole.len() / 2;
            let range = format!("bytes 0-{}/{}", half - 1, whole.len());
            reply(
                206,
                &[("content-encoding", "gzip"), ("content-range", &range)],
                whole[..half].to_vec(),
            )
        }
        "/zstd-bomb" => reply(200, &[("content-encoding", "zstd")], zstd_bomb()),
        "/latin1" => reply(
            200,
            &[("content-type", "text/plain; charset=iso-8859-1")],
            &b"caf\xe9"[..],
        ),
        "/meta" => reply(
            200,
            &[("content-type", "text/html")],
            &b"<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body>"[..],
        ),
        "/bom" => reply(
            200,
            &[("content-type", "text/plain; charset=iso-8859-1")],
            &b"\xff\xfeh\x00i\x00"[..],
        ),
        "/status/404" => reply(404, &[], "not here"),
        "/close" => reply(200, &[("connection", "close")], "bye"),
        "/big" => reply(200, &[], vec![b'a'; query_n(&req, 1 << 20)]),
        "/big-chunked" => Response::new(chunked(query_n(&req, 1 << 20))),
        "/bomb" => reply(200, &[("content-encoding", "gzip")], gzip(&vec![0u8; 8 << 20])),
        "/trickle" => {
            let mut r = Response::new(trickle(50, Duration::from_millis(100)));
            r.headers_mut().insert("content-length", "50".parse().unwrap());
            r
        }
        "/pause" => {
            solo::sleep(Duration::from_millis(20)).await;
            reply(200, &[], "paused")
        }
        "/slow" => {
            solo::sleep(Duration::from_millis(300)).await;
            reply(200, &[], "slow")
        }
        "/never" => std::future::pending().await,
        "/redirect/loop-a" => redirect(302, "/redirect/loop-b"),
        "/redirect/loop-b" => redirect(302, "/redirect/loop-a"),
        "/redirect/file" => redirect(302, "file:///etc/passwd"),
        "/redirect/other-host" => {
            redirect(302, &format!("http://localhost:{}/echo", addr.port()))
        }
        "/redirect/same-host" => redirect(302, "/echo"),
        "/redirect/never" => redirect(302, "/never"),
        "/redirect/303" => redirect(303, "/echo"),
        "/redirect/307" => redirect(307, "/echo"),
        "/redirect/302" => redirect(302, "/echo"),
        "/cookie/set" => reply(
            200,
            &[
                ("set-cookie", "session=abc; Path=/"),
                ("set-cookie", "scoped=1; Path=/cookie"),
            ],
            "",
        ),
        "/cookie/redirect" => reply(
            302,
            &[("set-cookie", "via=redirect; Path=/"), ("location", "/echo")],
            "",
        ),
        // Sets a cookie and redirects to itself until the cookie comes
        // back (a site's cookie check); always, at `?forever`.
        "/cookie/bounce" => {
            let seen = req
                .headers()
                .get("cookie")
                .is_some_and(|c| c.as_bytes().windows(6).any(|w| w == b"seen=1"));
            if seen && req.uri().query() != Some("forever") {
                reply(200, &[], "welcome")
            } else {
                let location = match req.uri().query() {
                    Some(q) => format!("/cookie/bounce?{q}"),
                    None => "/cookie/bounce".to_owned(),
                };
                reply(
                    302,
                    &[("set-cookie", "seen=1; Path=/"), ("location", &location)],
                    "",
                )
            }
        }
        p if p.starts_with("/redirect/chain/") => {
            let n: usize = p["/redirect/chain/".len()..].parse().unwrap_or(0);
            if n == 0 {
                reply(200, &[], "end of chain")
            } else {
                redirect(302, &format!("/redirect/chain/{}", n - 1))
            }
        }
        _ => reply(404, &[], "no such route"),
    })
}

/// Reads one request head from a raw connection; `None` at EOF.
pub async fn read_head_text(s: &TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    // Byte by byte: never read into the next request.
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(1) => buf.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads one request head from a raw connection and returns its target
/// (path, or `host:port` for CONNECT); `None` at EOF.
pub async fn read_request(s: &TcpStream) -> Option<String> {
    let head = read_head_text(s).await?;
    head.split_whitespace().nth(1).map(str::to_owned)
}

/// A raw server that misbehaves on purpose, by path:
///
/// - `/ok`: a normal keep-alive answer, "ok".
/// - `/reset`: half the promised body, then a TCP reset.
/// - `/truncated-chunked`: one chunk, then the connection closes.
/// - `/never`: reads the request and never answers.
/// - `/close-idle`: "ok" with keep-alive, then closes 50 ms later.
/// - `/close-now`: "ok" with keep-alive, then closes at once.
/// - `/garbage`: an answer that is not HTTP.
/// - `/once`: "ok" with keep-alive for the first request of a connection;
///   a later request on it is read, then the connection closes unanswered
///   (what a client sees when a server times out an idle connection just
///   as a request arrives).
pub async fn start_faulty() -> Server {
    start_raw(|s: TcpStream| async move {
        const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let mut served = 0;
        while let Some(path) = read_request(&s).await {
            served += 1;
            match path.as_str() {
                "/once" if served > 1 => return,
                "/once" => {
                    if s.write_all(OK).await.is_err() {
                        return;
                    }
                }
                "/ok" => {
                    if s.write_all(OK).await.is_err() {
                        return;
                    }
                }
                "/reset" => {
                    let mut r = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n".to_vec();
                    r.extend_from_slice(&[b'r'; 1000]);
                    let _ = s.write_all(&r).await;
                    solo::sleep(Duration::from_millis(20)).await;
                    let _ = s.set_linger(Some(Duration::ZERO));
                    return;
                }
                "/truncated-chunked" => {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
                        )
                        .await;
                    return;
                }
                "/never" => {
                    solo::sleep(Duration::from_secs(60)).await;
                    return;
                }
                "/close-idle" => {
                    let _ = s.write_all(OK).await;
                    solo::sleep(Duration::from_millis(50)).await;
                    return;
                }
                "/close-now" => {
                    let _ = s.write_all(OK).await;
                    return;
                }
                "/garbage" => {
                    let _ = s.write_all(b"SPDY/9 nonsense\r\n\r\n").await;
                    return;
                }
                _ => return,
            }
        }
    })
    .await
}

/// GET `url` and its body as text; panics on any error.
pub async fn text(client: &solo_http::Client, url: impl AsRef<str>) -> String {
    let url = url.as_ref();
    let resp = client.get(url).send().await;
    let resp = resp.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.text()
        .await
        .unwrap_or_else(|e| panic!("GET {url} body: {e}"))
}

/// The error of a GET of `url`, whether it comes at send or while the
/// body is read; panics if there is none.
pub async fn failure(client: &solo_http::Client, url: impl AsRef<str>) -> solo_http::Error {
    match client.get(url.as_ref()).send().await {
        Err(e) => e,
        Ok(resp) => resp.bytes().await.expect_err("the request should fail"),
    }
}

/// `n` concurrent GETs of `url`, their bodies as text.
pub async fn concurrent(
    client: &solo_http::Client,
    url: &str,
    n: usize,
) -> Vec<Result<String, solo_http::Error>> {
    let requests = (0..n).map(|_| {
        let c = client.clone();
        let u = url.to_owned();
        async move { c.get(u).send().await?.text().await }
    });
    solo::gather(requests).await
}

/// Sends `req` and parses the response body as JSON.
pub async fn json<T: serde::de::DeserializeOwned>(req: solo_http::RequestBuilder) -> T {
    req.send().await.unwrap().json().await.unwrap()
}

/// An HTTP proxy that opens `CONNECT` tunnels and forwards requests in
/// absolute form (`GET http://host:port/path`: its connection then goes to
/// that target, names under `.test` being this machine, as the tests'
/// resolver tables have them), and answers 407 to a request without
/// `Proxy-Authorization` when `password` is set. Keeps the heads it
/// received (the first of each connection).
pub async fn start_proxy(
    password: Option<&'static str>,
) -> (Server, Rc<std::cell::RefCell<Vec<String>>>) {
    let heads = Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = heads.clone();
    let server = start_raw(move |client: TcpStream| {
        let seen = seen.clone();
        async move {
            let Some(head) = read_head_text(&client).await else {
                return;
            };
            seen.borrow_mut().push(head.clone());
            let authorized = password.is_none_or(|p| {
                head.lines().any(|l| {
                    l.split_once(':').is_some_and(|(name, value)| {
                        name.eq_ignore_ascii_case("proxy-authorization")
                            && value.trim() == format!("Basic {p}")
                    })
                })
            });
            let target = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            if !authorized {
                let _ = client
                    .write_all(
                        // With an error page, in one write, as real
                        // proxies answer (squid, tinyproxy).
                        b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 16\r\n\r\nlog in, please.\n",
                    )
                    .await;
                return;
            }
            let tunnel = head.starts_with("CONNECT ");
            let authority = match target.strip_prefix("http://") {
                Some(rest) if !tunnel => {
                    let authority = rest.split('/').next().unwrap_or_default();
                    match authority.rsplit_once(':') {
                        Some((host, port)) if host.ends_with(".test") => format!("127.0.0.1:{port}"),
                        Some(_) => authority.to_owned(),
                        None => format!("{authority}:80"),
                    }
                }
                _ => target,
            };
            let Ok(upstream) = TcpStream::connect(authority.as_str()).await else {
                return;
            };
            if tunnel {
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
            } else if upstream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let (a, b) = (Rc::new(client), Rc::new(upstream));
            solo::gather!(pipe(a.clone(), b.clone()), pipe(b, a));
        }
    })
    .await;
    (server, heads)
}

/// Copies `from` to `to` until EOF, then half-closes `to`.
async fn pipe(from: Rc<TcpStream>, to: Rc<TcpStream>) {
    let mut buf = vec![0u8; 16 << 10];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// Reads the rest of `resp`'s body (decoded), leaving `resp` to be asked
/// about it afterwards (its capture, its raw body).
pub async fn read_body(resp: &mut solo_http::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        body.extend_from_slice(&c);
    }
    body
}

/// A server on 127.0.0.1:`port` answering "ok" and closing; the count
/// of connections it accepted.
pub async fn ok_server_on(port: u16) -> std::io::Result<Rc<Cell<usize>>> {
    let l = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let accepted = Rc::new(Cell::new(0));
    let count = accepted.clone();
    solo::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            count.set(count.get() + 1);
            solo::spawn(async move {
                if read_head_text(&s).await.is_some() {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                }
            });
        }
    });
    Ok(accepted)
}
