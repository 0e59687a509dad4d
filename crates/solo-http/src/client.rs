//! [`Client`] and [`ClientBuilder`]: one client per program.
//!
//! Design: like aiohttp's `ClientSession`, a client owns what requests
//! share: the connection pool, the DNS cache, the TLS settings, the cookie
//! jar and the defaults (timeouts, limits, headers). It is a handle: an
//! `Rc` inside, so cloning is cheap and every clone is the same client.
//! It is `!Send`, like everything on solo's one thread. Connections close
//! when the last clone (and the last response) is dropped.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, USER_AGENT};
use http::Method;

use crate::connect::Connector;
use crate::cookie::CookieJar;
use crate::dns::DnsCache;
use crate::error::Error;
use crate::no_proxy::NoProxy;
use crate::policy::AddressPolicy;
use crate::pool::{Pool, PoolOptions};
use crate::proxy::{Proxies, Proxy};
use crate::request::{IntoUrl, RequestBuilder};
use crate::resolve::{Resolve, Resolver};
use crate::tls::{self, TlsOptions};

/// The default limit of a body collected whole
/// ([`Response::bytes`](crate::Response::bytes), `text`, `json`): 64 MiB.
/// See [`ClientBuilder::max_body_size`].
pub const DEFAULT_MAX_BODY_SIZE: u64 = 64 << 20;

/// The default of [`ClientBuilder::pool_timeout`].
const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(30);

/// The request defaults of a client.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) headers: HeaderMap,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) redirect_limit: usize,
    /// `None`: the default (see `body`).
    pub(crate) max_body_size: Option<u64>,
    pub(crate) decompress: bool,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) pool: Pool,
    pub(crate) connector: Connector,
    pub(crate) jar: Option<CookieJar>,
}

/// An HTTP client: pooled connections, HTTP/1.1 and HTTP/2, TLS,
/// redirects, decompression. Clone it freely; clones share everything.
///
/// ```
/// # async fn demo() -> Result<(), solo_http::Error> {
/// let client = solo_http::Client::new();
/// let text = client.get("http://127.0.0.1:8080/").send().await?.text().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Rc<Inner>,
}

impl Client {
    /// A client with the default settings (see [`ClientBuilder`]).
    ///
    /// ```
    /// let client = solo_http::Client::new();
    /// let same = client.clone();
    /// ```
    pub fn new() -> Client {
        Client::builder()
            .build()
            .expect("the default client settings are valid")
    }

    /// A builder to choose the settings.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = solo_http::Client::builder()
    ///     .timeout(Duration::from_secs(30))
    ///     .max_connections_per_host(8)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A request with `method` to `url`.
    ///
    /// ```
    /// let _req = solo_http::Client::new().request(http::Method::OPTIONS, "http://example.com/");
    /// ```
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url.into_url())
    }

    /// A GET request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().get("http://example.com/");
    /// ```
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().post("http://example.com/").body("x");
    /// ```
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().put("http://example.com/x").body("x");
    /// ```
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().patch("http://example.com/x").body("x");
    /// ```
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().delete("http://example.com/x");
    /// ```
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A HEAD request.
    ///
    /// ```
    /// let _req = solo_http::Client::new().head("http://example.com/");
    /// ```
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// How many hosts the connection pool keeps state for (for tests of
    /// the pool; not a stable API).
    ///
    /// ```
    /// assert_eq!(solo_http::Client::new().pooled_hosts(), 0);
    /// ```
    #[doc(hidden)]
    pub fn pooled_hosts(&self) -> usize {
        self.inner.pool.host_count()
    }

    /// How many idle HTTP/1.1 connections the pool keeps over all hosts
    /// (for tests of the pool; not a stable API).
    ///
    /// ```
    /// assert_eq!(solo_http::Client::new().idle_connections(), 0);
    /// ```
    #[doc(hidden)]
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }
}

impl Default for Client {
    /// [`Client::new`].
    ///
    /// ```
    /// let _c = solo_http::Client::default();
    /// ```
    fn default() -> Client {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`]. Every setting has a default:
///
/// | setting | default |
/// |---|---|
/// | [`pool_max_idle_per_host`](ClientBuilder::pool_max_idle_per_host) | 32 |
/// | [`pool_max_idle`](ClientBuilder::pool_max_idle) (all hosts) | no limit |
/// | [`pool_idle_timeout`](ClientBuilder::pool_idle_timeout) | 90 s |
/// | [`max_connections_per_host`](ClientBuilder::max_connections_per_host) | no limit |
/// | [`pool_timeout`](ClientBuilder::pool_timeout) (wait for one of those) | 30 s |
/// | [`connect_timeout`](ClientBuilder::connect_timeout) | 30 s |
/// | [`read_timeout`](ClientBuilder::read_timeout) | 30 s |
/// | [`timeout`](ClientBuilder::timeout) (total) | none |
/// | [`redirect_limit`](ClientBuilder::redirect_limit) | 10 |
/// | [`max_body_size`](ClientBuilder::max_body_size) | 64 MiB collected whole, none streamed |
/// | [`http2_keep_alive`](ClientBuilder::http2_keep_alive) | off |
/// | [`user_agent`](ClientBuilder::user_agent) | `solo-http/<version>` |
/// | [`dns_ttl`](ClientBuilder::dns_ttl) | 60 s |
/// | [`dns_timeout`](ClientBuilder::dns_timeout) | the connect timeout |
/// | [`resolver`](ClientBuilder::resolver) | the system's |
/// | [`address_policy`](ClientBuilder::address_policy) | allow all |
/// | [`proxy`](ClientBuilder::proxy), [`proxy_from_env`](ClientBuilder::proxy_from_env) | none (the environment is read only when asked) |
/// | [`decompress`](ClientBuilder::decompress) (gzip, deflate, br, zstd) | on |
/// | cookies | off |
///
/// ```
/// use std::time::Duration;
/// let client = solo_http::Client::builder()
///     .pool_max_idle_per_host(4)
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .max_connections_per_host(4)
///     .connect_timeout(Duration::from_secs(5))
///     .read_timeout(Duration::from_secs(10))
///     .timeout(Duration::from_secs(60))
///     .redirect_limit(5)
///     .max_body_size(1 << 20)
///     .user_agent("crawler/1.0")
///     .build()
///     .unwrap();
/// ```
#[must_use = "a builder does nothing until built"]
pub struct ClientBuilder {
    config: Config,
    pool: PoolOptions,
    tls: TlsOptions,
    user_agent: Option<HeaderValue>,
    dns_ttl: Duration,
    dns_timeout: Option<Duration>,
    overrides: HashMap<String, Vec<IpAddr>>,
    resolver: Resolver,
    policy: AddressPolicy,
    proxies: Proxies,
    /// `no_proxy` as given to the builder (over the environment's).
    no_proxy: Option<NoProxy>,
    cookies: bool,
    http2_keep_alive: Option<Duration>,
    /// The first invalid setting, reported by `build`.
    error: Option<Error>,
}

impl ClientBuilder {
    /// The defaults (see the table on [`ClientBuilder`]).
    ///
    /// ```
    /// let _c = solo_http::ClientBuilder::new().build().unwrap();
    /// ```
    pub fn new() -> ClientBuilder {
        ClientBuilder {
            config: Config {
                headers: HeaderMap::new(),
                connect_timeout: Some(Duration::from_secs(30)),
                read_timeout: Some(Duration::from_secs(30)),
                timeout: None,
                redirect_limit: 10,
                max_body_size: None,
                decompress: true,
            },
            pool: PoolOptions {
                max_idle_per_host: 32,
                max_idle_total: None,
                idle_timeout: Some(Duration::from_secs(90)),
                max_connections_per_host: None,
                wait_timeout: Some(DEFAULT_POOL_TIMEOUT),
            },
            tls: TlsOptions::default(),
            user_agent: Some(HeaderValue::from_static(concat!(
                "solo-http/",
                env!("CARGO_PKG_VERSION")
            ))),
            dns_ttl: Duration::from_secs(60),
            dns_timeout: None,
            overrides: HashMap::new(),
            resolver: Resolver::system(),
            policy: AddressPolicy::allow_all(),
            proxies: Proxies::default(),
            no_proxy: None,
            cookies: false,
            http2_keep_alive: None,
            error: None,
        }
    }

    /// How many idle keep-alive connections to keep per host (0: none,
    /// every connection closes after its response).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    /// ```
    pub fn pool_max_idle_per_host(mut self, n: usize) -> ClientBuilder {
        self.pool.max_idle_per_host = n;
        self
    }

    /// How many idle keep-alive HTTP/1.1 connections to keep over all
    /// hosts (`None`: no limit but the per-host one). A connection that
    /// would go over is closed when its response is done. For clients
    /// that meet many hosts (a crawler): each idle connection holds a file
    /// descriptor and its buffers.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().pool_max_idle(Some(256)).build().unwrap();
    /// ```
    pub fn pool_max_idle(mut self, total: Option<usize>) -> ClientBuilder {
        self.pool.max_idle_total = total;
        self
    }

    /// How long an idle connection is kept before it is closed (`None`:
    /// until the server closes it). An HTTP/2 connection is idle with no
    /// request or unread response on it; the sweep that closes idle
    /// connections closes it between one and two idle timeouts after its
    /// last use.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .pool_idle_timeout(Some(std::time::Duration::from_secs(5)))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.pool.idle_timeout = timeout;
        self
    }

    /// At most `n` (at least 1) connections open to one host at a time;
    /// more requests wait for a free one, first come first served, for
    /// [`pool_timeout`](ClientBuilder::pool_timeout) at most. A response
    /// keeps its connection until its body is read or it is dropped. With
    /// HTTP/2 all requests share one connection and do not wait; a
    /// response held unread there buffers up to 2 MiB of its body and
    /// does not hold up the others (up to 256 such responses held at
    /// once).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().max_connections_per_host(4).build().unwrap();
    /// ```
    pub fn max_connections_per_host(mut self, n: usize) -> ClientBuilder {
        self.pool.max_connections_per_host = Some(n.max(1));
        self
    }

    /// How long a request waits for a free connection when
    /// [`max_connections_per_host`](ClientBuilder::max_connections_per_host)
    /// are all in use (default 30 s; `None`: no limit). It fails then with
    /// [`Timeout(Pool)`](crate::Phase::Pool), naming the limit: a
    /// response holds its connection until its body is read to its end
    /// or it is dropped, so a task that keeps a response and sends
    /// another request to the same host with a limit of 1 would wait
    /// for itself. The connect and read timeouts do not cover this wait;
    /// the total [`timeout`](ClientBuilder::timeout) does. HTTP/2
    /// requests never wait for a connection. The wait is the whole time
    /// in the queue: with many more requests sent at once than
    /// connections allowed, the last ones may wait that long behind the
    /// others; raise it (or set `None`) for such queues.
    ///
    /// ```
    /// use std::time::Duration;
    /// use solo_http::{ErrorKind, Phase};
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/", l.local_addr().unwrap());
    ///     let _server = solo::spawn(async move {
    ///         let (s, _) = l.accept().await.unwrap();
    ///         let _ = s.read(&mut [0; 1024]).await;
    ///         let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nunread").await;
    ///         solo::sleep(Duration::from_secs(5)).await;
    ///     });
    ///     let client = solo_http::Client::builder()
    ///         .max_connections_per_host(1)
    ///         .pool_timeout(Some(Duration::from_millis(100)))
    ///         .build()
    ///         .unwrap();
    ///     let held = client.get(&url).send().await.unwrap();
    ///     let err = client.get(&url).send().await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Pool));
    ///     drop(held);
    /// });
    /// ```
    pub fn pool_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.pool.wait_timeout = timeout;
        self
    }

    /// Time limit to open a connection: DNS, TCP, proxy tunnel and TLS
    /// ([`Phase::Connect`](crate::Phase::Connect)). For an https host whose
    /// protocol is not known yet, the time spent waiting for another
    /// request's connect to it (which may bring an HTTP/2 connection to
    /// share) counts too. Waiting for a slot of
    /// [`max_connections_per_host`](ClientBuilder::max_connections_per_host)
    /// does not: [`pool_timeout`](ClientBuilder::pool_timeout) bounds it.
    ///
    /// A host with several addresses has them raced (Happy Eyeballs,
    /// RFC 8305, as in browsers, curl and aiohttp): the next address is
    /// tried 250 ms after the previous one (or at once when it fails)
    /// while the earlier ones keep going, and the first connection made
    /// is used; the limit covers the whole race. So an address that does
    /// not answer costs 250 ms, not the connect timeout.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .connect_timeout(std::time::Duration::from_secs(3))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.connect_timeout = Some(timeout);
        self
    }

    /// Time limit for the server's silence
    /// ([`Phase::Read`](crate::Phase::Read)): from the end of the request
    /// to the response head, and then between two pieces of the body.
    ///
    /// The time spent sending the request does not count while its bytes
    /// flow (a long upload to a server that reads it steadily is fine; a
    /// server that stops reading it times out). Over HTTP/2 the silence
    /// is the connection's: a request queued behind the server's limit of
    /// concurrent streams waits as long as the server answers the others.
    /// Neither counts the connect
    /// ([`connect_timeout`](ClientBuilder::connect_timeout)); the
    /// [`timeout`](ClientBuilder::timeout) bounds everything.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .read_timeout(std::time::Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.read_timeout = Some(timeout);
        self
    }

    /// Time limit of a whole request, from `send` to the end of the body
    /// ([`Phase::Total`](crate::Phase::Total)); a request can set its own
    /// with [`RequestBuilder::timeout`](crate::RequestBuilder::timeout).
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .timeout(std::time::Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.timeout = Some(timeout);
        self
    }

    /// How many redirects to follow at most (0: do not follow; the 3xx
    /// response is returned as it is). Which method and body each
    /// redirect keeps: see [Redirects](crate#redirects).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().redirect_limit(0).build().unwrap();
    /// ```
    pub fn redirect_limit(mut self, n: usize) -> ClientBuilder {
        self.config.redirect_limit = n;
        self
    }

    /// The largest body accepted, counted both as received and after
    /// decompression; a larger one fails with
    /// [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) as soon as it
    /// passes the limit, without buffering it. Set here, it applies to
    /// every response however its body is read;
    /// [`RequestBuilder::max_body_size`](crate::RequestBuilder::max_body_size)
    /// sets it for one request.
    ///
    /// Not set, a body collected whole ([`Response::bytes`](crate::Response::bytes),
    /// `text`, `json`) is limited to [`DEFAULT_MAX_BODY_SIZE`] (64 MiB),
    /// and a body streamed with [`Response::chunk`](crate::Response::chunk)
    /// is not limited, as with reqwest and aiohttp: a download of any size
    /// streams in constant memory.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().max_body_size(10 << 20).build().unwrap();
    /// ```
    pub fn max_body_size(mut self, bytes: u64) -> ClientBuilder {
        self.config.max_body_size = Some(bytes);
        self
    }

    /// The `User-Agent` header (an invalid value is an error at
    /// [`build`](ClientBuilder::build)).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().user_agent("crawler/1.0").build().unwrap();
    /// ```
    pub fn user_agent(mut self, agent: impl AsRef<str>) -> ClientBuilder {
        match HeaderValue::from_str(agent.as_ref()) {
            Ok(v) => self.user_agent = Some(v),
            Err(e) => self.fail(
                Error::new(
                    crate::ErrorKind::InvalidUrl,
                    format!("invalid User-Agent {:?}", agent.as_ref()),
                )
                .with_source(e),
            ),
        }
        self
    }

    /// Headers sent with every request (a request's own headers replace
    /// them name by name). They are the request's headers for the
    /// redirect rules too: a redirect to another origin drops an
    /// `Authorization`, `Proxy-Authorization` or `Cookie` set here.
    ///
    /// ```
    /// let mut h = http::HeaderMap::new();
    /// h.insert("accept-language", "en".parse().unwrap());
    /// let _c = solo_http::Client::builder().default_headers(h).build().unwrap();
    /// ```
    pub fn default_headers(mut self, mut headers: HeaderMap) -> ClientBuilder {
        crate::auth::protect_all(&mut headers);
        self.config.headers = headers;
        self
    }

    /// Whether to ask for compressed bodies (`Accept-Encoding: gzip,
    /// deflate, br, zstd`) and decompress them (default on). A body compressed
    /// more than once (`Content-Encoding: gzip, br`, or one header line
    /// per coding) is decoded through every layer; one with a coding the
    /// client does not know is given as sent, `Content-Encoding` kept. A
    /// request that sets its own `Accept-Encoding` gets the body as sent;
    /// one request can turn decoding off or on with
    /// [`RequestBuilder::decompress`](crate::RequestBuilder::decompress).
    /// Every coding is decoded a piece of about 64 KiB at a time under the
    /// body's size limit, so a small bomb stops at the limit. A zstd frame
    /// may ask for a window of 8 MiB at most (RFC 9659, as browsers
    /// decode it): one asking for more fails as a corrupt body.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// solo::run(async {
    ///     // A server that answers with a zstd body.
    ///     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let url = format!("http://{}/", listener.local_addr()?);
    ///     solo::spawn(async move {
    ///         let (s, _) = listener.accept().await.unwrap();
    ///         let mut buf = [0; 4096];
    ///         let n = s.read(&mut buf).await.unwrap();
    ///         let asked = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    ///         assert!(asked.contains("accept-encoding: gzip, deflate, br, zstd\r\n"));
    ///         let body = zstd::bulk::compress(&b"squeezed ".repeat(1000), 3).unwrap();
    ///         let head = format!("HTTP/1.1 200 OK\r\ncontent-encoding: zstd\r\n\
    ///                             content-length: {}\r\n\r\n", body.len());
    ///         s.write_all(head.as_bytes()).await.unwrap();
    ///         s.write_all(&body).await.unwrap();
    ///     });
    ///
    ///     let resp = solo_http::Client::new().get(&url).send().await?;
    ///     assert!(resp.headers().get("content-encoding").is_none(), "decoded");
    ///     assert_eq!(resp.text().await?, "squeezed ".repeat(1000));
    ///     let _raw = solo_http::Client::builder().decompress(false).build()?;
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn decompress(mut self, on: bool) -> ClientBuilder {
        self.config.decompress = on;
        self
    }

    /// How long resolved addresses are cached.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .dns_ttl(std::time::Duration::from_secs(300))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn dns_ttl(mut self, ttl: Duration) -> ClientBuilder {
        self.dns_ttl = ttl;
        self
    }

    /// The most a request waits for its host name to resolve (default:
    /// what is left of the [`connect_timeout`](ClientBuilder::connect_timeout),
    /// which also bounds this). Then it fails with [`ErrorKind::Dns`](crate::ErrorKind::Dns),
    /// and the message says name resolution timed out and where the time
    /// went: in the resolver (its name servers did not answer), or
    /// waiting for one of solo's DNS threads while all were busy with
    /// other lookups (`solo::Builder::max_dns_threads`). The lookup goes
    /// on after that, shared by the next requests for the name: a request
    /// with a longer deadline (or none) waits for its answer, one whose
    /// deadline is no longer than the one that ran out fails at once, and
    /// a name whose lookup failed fails at once for a short while
    /// (`solo::net::FAILED_TTL`).
    ///
    /// ```
    /// use std::{io, net::IpAddr, time::Duration};
    /// use solo_http::{ErrorKind, Resolver};
    /// fn no_answer(_: &str) -> io::Result<Vec<IpAddr>> {
    ///     std::thread::sleep(Duration::from_millis(500)); // a dead name server
    ///     Err(io::Error::other("no answer"))
    /// }
    /// solo::run(async {
    ///     let client = solo_http::Client::builder()
    ///         .resolver(Resolver::blocking(no_answer))
    ///         .dns_timeout(Duration::from_millis(50))
    ///         .build()
    ///         .unwrap();
    ///     let err = client.get("http://dead.test/").send().await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::Dns);
    ///     assert!(err.to_string().contains("name resolution of 'dead.test' timed out after 50.00ms"), "{err}");
    /// });
    /// ```
    pub fn dns_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.dns_timeout = Some(timeout);
        self
    }

    /// Resolves `host` to `ip` without asking DNS (like an `/etc/hosts`
    /// line for this client; the port comes from the URL). TLS still
    /// checks the certificate against `host`.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .resolve("example.test", "127.0.0.1".parse().unwrap())
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn resolve(mut self, host: &str, ip: IpAddr) -> ClientBuilder {
        self.overrides
            .entry(host.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(ip);
        self
    }

    /// Resolves host names with `resolver` instead of the system resolver
    /// (a [`Resolve`], e.g. a closure, or a shared [`Resolver`]). It is
    /// asked for every new connection: its answers are not cached.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .resolver(|_: &str| -> solo_http::Resolving {
    ///         Box::pin(async { Ok(vec![[127, 0, 0, 1].into()]) })
    ///     })
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn resolver(mut self, resolver: impl Resolve + 'static) -> ClientBuilder {
        self.resolver = Resolver::new(resolver);
        self
    }

    /// Which addresses the client may connect to (default: all). Every
    /// address is checked after DNS, when the connection is made, for
    /// every request, redirect and proxy tunnel target; a request whose
    /// host has no allowed address fails with
    /// [`ErrorKind::BlockedAddress`](crate::ErrorKind::BlockedAddress).
    /// [`AddressPolicy::public_only`] is the guard against server-side
    /// request forgery: no loopback, private, link-local (cloud metadata)
    /// or other special address. With a [`proxy`](ClientBuilder::proxy)
    /// and a policy, target names are resolved by this client and checked
    /// first (a name that resolves here only to refused addresses is
    /// refused); the proxy is then asked for the name, which it resolves
    /// again, and a name that does not resolve here is left to it.
    ///
    /// ```
    /// use solo_http::AddressPolicy;
    /// let _c = solo_http::Client::builder()
    ///     .address_policy(AddressPolicy::public_only().allow("10.20.0.0/16".parse().unwrap()))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn address_policy(mut self, policy: AddressPolicy) -> ClientBuilder {
        self.policy = policy;
        self
    }

    /// Trusts `cert` as a root, besides the built-in Mozilla roots: a
    /// DER-encoded certificate, or PEM text (a `.pem`/`.crt` file as read)
    /// with one or more `-----BEGIN CERTIFICATE-----` sections, all of
    /// which are trusted. Not a valid certificate: an error of kind
    /// [`Tls`](crate::ErrorKind::Tls) at [`build`](ClientBuilder::build).
    ///
    /// ```
    /// let err = solo_http::Client::builder().add_root_certificate(b"junk".to_vec()).build().unwrap_err();
    /// assert_eq!(err.kind(), solo_http::ErrorKind::Tls);
    /// assert!(err.to_string().contains("DER, or PEM"));
    /// ```
    pub fn add_root_certificate(mut self, cert: impl Into<Vec<u8>>) -> ClientBuilder {
        self.tls.extra_roots.push(cert.into());
        self
    }

    /// Shows this certificate to servers that ask for one (mutual TLS),
    /// like reqwest's `Identity` and httpx's `cert=(certfile, keyfile)`:
    /// `chain_pem` holds the client's certificate, then any intermediates
    /// (`-----BEGIN CERTIFICATE-----` sections), `key_pem` its private
    /// key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC
    /// PRIVATE KEY`, not encrypted); a file holding both can be given as
    /// both. Only a server that asks sees it. A bad PEM, or a key that is
    /// not the certificate's, is an error of kind
    /// [`Tls`](crate::ErrorKind::Tls) at [`build`](ClientBuilder::build);
    /// a server that requires a certificate and gets none, or refuses
    /// this one, fails the request with a `Tls` error that says so.
    ///
    /// ```
    /// use solo_http::{Client, ErrorKind};
    /// // A certificate and key as files would hold them (made here by rcgen).
    /// let key = rcgen::KeyPair::generate().unwrap();
    /// let params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
    /// let cert = params.self_signed(&key).unwrap();
    /// let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    ///
    /// let _client = Client::builder().client_cert(cert_pem.clone(), key_pem).build().unwrap();
    ///
    /// let err = Client::builder().client_cert(cert_pem, "not a key").build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Tls);
    /// assert!(err.to_string().contains("the client key is not PEM"), "{err}");
    /// ```
    pub fn client_cert(
        mut self,
        chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> ClientBuilder {
        self.tls.identity = Some(crate::client_cert::Identity {
            chain_pem: chain_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// Whether to trust the built-in Mozilla roots (default on); off, only
    /// the roots added with
    /// [`add_root_certificate`](ClientBuilder::add_root_certificate) are.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().builtin_roots(false).build().unwrap();
    /// ```
    pub fn builtin_roots(mut self, on: bool) -> ClientBuilder {
        self.tls.no_builtin_roots = !on;
        self
    }

    /// **Dangerous**: accept any TLS certificate, expired, self-signed or
    /// for another host. Anyone on the path can then read and change the
    /// traffic. For tests only.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    /// ```
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// Only HTTP/1.1: do not offer HTTP/2 in the TLS handshake.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().http1_only().build().unwrap();
    /// ```
    pub fn http1_only(mut self) -> ClientBuilder {
        self.tls.http1_only = true;
        self
    }

    /// HTTP/2 keep-alive (default off, as in reqwest): on a connection
    /// that received nothing for `interval`, busy or idle in the pool, the
    /// client sends a PING; without an answer within `interval` more, the
    /// connection is closed, the requests waiting for a response head on
    /// it fail (a [`Timeout`](crate::ErrorKind::Timeout) in the
    /// [`Read`](crate::Phase::Read) phase) and the next ones open a new
    /// connection. It finds a connection that died silently (a NAT or
    /// firewall that dropped the flow, a host gone) before a request waits
    /// on it, and keeps such flows alive while the pool holds them. `None`
    /// turns it off.
    ///
    /// Off, a dead HTTP/2 connection is found by the
    /// [`read_timeout`](ClientBuilder::read_timeout) of a request on it
    /// (over HTTP/2 that is the connection's silence): that request fails
    /// and the connection is retired, so the next request opens a new
    /// one. A zero interval is off too. Some servers answer PINGs more often than every few seconds
    /// with a `GOAWAY`; 30 s or more is safe.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _c = solo_http::Client::builder()
    ///     .http2_keep_alive(Some(Duration::from_secs(30)))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn http2_keep_alive(mut self, interval: Option<Duration>) -> ClientBuilder {
        self.http2_keep_alive = interval.filter(|d| !d.is_zero());
        self
    }

    /// Sends every request through the HTTP proxy at `url`
    /// (`http://[user:password@]host:port`; without a scheme, `http://`):
    /// `https` requests in a `CONNECT` tunnel, `http` ones forwarded (the
    /// whole URL as the request target), except for the hosts of
    /// [`no_proxy`](ClientBuilder::no_proxy). Replaces the proxies of
    /// [`proxy_from_env`](ClientBuilder::proxy_from_env). An invalid proxy
    /// URL is an error at [`build`](ClientBuilder::build).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().proxy("http://127.0.0.1:3128").build().unwrap();
    /// assert!(solo_http::Client::builder().proxy("socks5://x:1").build().is_err());
    /// ```
    pub fn proxy(mut self, url: &str) -> ClientBuilder {
        match Proxy::parse(url) {
            Ok(p) => self.proxies = Proxies::all(p),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Takes the proxies from the environment, as curl, wget and Python
    /// do: `https_proxy` for https URLs, `http_proxy` for http ones,
    /// `all_proxy` for either when its own is unset (upper case names
    /// too, but `HTTP_PROXY` not under CGI, where `REQUEST_METHOD` is
    /// set), `no_proxy` for hosts reached directly (see [`NoProxy`]);
    /// `localhost` and loopback addresses are always reached directly.
    /// Unset variables: no proxy. Replaces the proxy of
    /// [`proxy`](ClientBuilder::proxy). A variable whose URL this client
    /// cannot use (`socks5://`, `https://`) fails the requests it would
    /// carry (an [`InvalidUrl`](crate::ErrorKind::InvalidUrl) error that
    /// names it), not the others.
    ///
    /// ```
    /// let _c = solo_http::Client::builder().proxy_from_env().build();
    /// ```
    pub fn proxy_from_env(mut self) -> ClientBuilder {
        self.proxies = Proxies::from_env(|name| std::env::var(name).ok());
        self
    }

    /// The hosts reached directly although a proxy is set: a list as
    /// `no_proxy` and curl's `--noproxy` take it (`*` for all; names
    /// match their subdomains too; addresses, CIDR networks, optional
    /// ports: see [`NoProxy`]). Replaces the environment's `no_proxy`.
    ///
    /// ```
    /// let _c = solo_http::Client::builder()
    ///     .proxy("http://127.0.0.1:3128")
    ///     .no_proxy("localhost, .internal.example, 10.0.0.0/8")
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn no_proxy(mut self, list: &str) -> ClientBuilder {
        self.no_proxy = Some(NoProxy::parse(list));
        self
    }

    /// Keeps cookies: stores those that responses set and sends them back
    /// to the hosts and paths they belong to (default off).
    ///
    /// ```
    /// let _c = solo_http::Client::builder().cookie_store(true).build().unwrap();
    /// ```
    pub fn cookie_store(mut self, on: bool) -> ClientBuilder {
        self.cookies = on;
        self
    }

    fn fail(&mut self, err: Error) {
        self.error.get_or_insert(err);
    }

    /// Builds the client. Fails on an invalid root certificate, client
    /// certificate or key, proxy URL or user agent.
    ///
    /// ```
    /// let client: solo_http::Client = solo_http::Client::builder().build().unwrap();
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.config;
        if let Some(agent) = self.user_agent {
            config.headers.entry(USER_AGENT).or_insert(agent);
        }
        let connector = Connector {
            dns: DnsCache::new(
                self.dns_ttl,
                self.dns_timeout,
                self.overrides,
                self.resolver,
            ),
            tls: tls::client_config(&self.tls)?,
            proxies: {
                let mut p = self.proxies;
                if let Some(list) = self.no_proxy {
                    p.no_proxy = list;
                }
                p
            },
            timeout: config.connect_timeout,
            policy: self.policy,
            http2_keep_alive: self.http2_keep_alive,
        };
        Ok(Client {
            inner: Rc::new(Inner {
                config,
                pool: Pool::new(self.pool),
                connector,
                jar: self.cookies.then(CookieJar::default),
            }),
        })
    }
}

impl Default for ClientBuilder {
    /// [`ClientBuilder::new`].
    ///
    /// ```
    /// let _b = solo_http::ClientBuilder::default();
    /// ```
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}
