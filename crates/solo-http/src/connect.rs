//! Opening a connection: DNS, TCP, an optional proxy tunnel, TLS, and the
//! HTTP/1.1 or HTTP/2 handshake.
//!
//! Design: hyper does the HTTP; this module hands it a byte stream and
//! runs its connection future as a solo task. hyper reads and writes
//! through its own `rt::{Read, Write}` traits; solo's streams speak
//! futures-io. `HyperIo` bridges them without unsafe code (see
//! `hyper_io`). No tokio runtime runs.
//!
//! The connection future (which owns the socket and does the actual I/O)
//! is spawned with `solo::spawn`: it is `!Send`, which is fine on one
//! thread. For HTTP/2, hyper spawns more futures (one per stream) through
//! an [`Executor`](hyper::rt::Executor), which is also `solo::spawn`.
//! hyper's timer is set only for HTTP/2 keep-alive PINGs (`keepalive`),
//! when asked for: the client's timeouts are solo timeouts around the
//! futures.
//!
//! A response head may take up to [`MAX_HEAD_BYTES`] over either
//! protocol: hyper's HTTP/1.1 read buffer, and the HTTP/2 header list
//! size the client announces (hyper's default there is 16 KiB, which
//! real sites with long CSP headers and many cookies pass).
//!
//! HTTP/2 flow control: each response may have [`HTTP2_STREAM_WINDOW`]
//! (2 MiB) of its body sent ahead of the caller's reads, and the
//! connection 256 times that, so responses held unread do not stop the
//! server from answering the host's other requests on the shared
//! connection (see [`HTTP2_CONNECTION_WINDOW`]).
//!
//! The whole of this (DNS included) is the *connect* phase for
//! [`Phase::Connect`](crate::Phase::Connect).
//!
//! Every address of a request's host is checked against the client's
//! [`AddressPolicy`] after resolution, just before the socket connects to
//! it: the addresses judged are the ones connected to, whatever the URL
//! said and however often the name re-resolves (redirects and the targets
//! of proxy tunnels included). A refused address is skipped; when all
//! are refused the request fails with
//! [`ErrorKind::BlockedAddress`](crate::ErrorKind::BlockedAddress). The
//! proxy itself is the user's choice and is not checked.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use rustls::ClientConfig;
use solo::net::TcpStream;
use solo::time::Instant;
use url::Url;

use crate::dns::DnsCache;
use crate::error::{Error, ErrorKind, Phase};
use crate::eyeballs;
use crate::hyper_io::HyperIo;
use crate::keepalive::SoloTimer;
use crate::policy::AddressPolicy;
use crate::proxy::Proxies;
use crate::tls::{self, Stream};
use crate::wire::{Tap, Tapped};

/// The body type of every request: the whole body in memory, so a request
/// can be sent again (a retry on a stale connection, a 307 redirect).
pub(crate) type ReqBody = Full<Bytes>;

/// The largest response head accepted, in bytes: hyper's default HTTP/1.1
/// read buffer (which the head must fit), and the HTTP/2 header list size
/// (names, values and 32 bytes per field, RFC 9113 section 6.5.2).
pub(crate) const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// The HTTP/2 flow-control window of one response (stream): how much of
/// its body the server may send before the caller reads it, so the most
/// a response held unread buffers. hyper's default (2 MiB: about 20 MB/s
/// for one download at 100 ms of round trip).
pub(crate) const HTTP2_STREAM_WINDOW: u32 = 2 << 20;

/// The HTTP/2 flow-control window of a whole connection: 256 stream
/// windows (512 MiB), more than the streams servers allow at once (nginx
/// 128, most 100 to 256). Every request to a host shares its connection,
/// so with a window barely larger than a stream's (hyper's default is
/// 5 MiB) three responses held unread used it up and the server could
/// send no other response on it. Only bytes held unread fill it; the
/// memory is bounded by the stream window of each response held.
/// (hyper's adaptive window is not used: it sets both windows to the
/// same size, so one held response would block the rest.)
pub(crate) const HTTP2_CONNECTION_WINDOW: u32 = 256 * HTTP2_STREAM_WINDOW;

/// `TCP_NOTSENT_LOWAT` of every connection: at most this many bytes wait
/// unsent in the kernel.
const NOTSENT_LOWAT: u32 = 128 << 10;

/// What hyper reads and writes.
type Io = HyperIo<Tapped<Stream>>;

/// Where a pooled connection goes: scheme, host and port. Connections
/// are shared only between requests with the same key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Key {
    /// The key of `url`, which must be http(s) with a host (the request
    /// builder checks).
    pub(crate) fn of(url: &Url) -> Key {
        Key {
            https: url.scheme() == "https",
            host: url.host_str().unwrap_or_default().to_owned(),
            port: url.port_or_known_default().unwrap_or(80),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A way to send requests on an open connection.
pub(crate) enum Sender {
    Http1(http1::SendRequest<ReqBody>),
    Http2(http2::SendRequest<ReqBody>),
}

/// Runs hyper's HTTP/2 background futures as solo tasks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoloExecutor;

impl<F> hyper::rt::Executor<F> for SoloExecutor
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        drop(solo::spawn(fut));
    }
}

/// Runs a hyper connection future (the socket's reads and writes) as a
/// solo task until the connection ends; its error, if any, reaches the
/// requests on it.
fn in_background<F: Future + 'static>(conn: F) {
    drop(solo::spawn(async move {
        let _ = conn.await;
    }));
}

/// Everything needed to open connections, shared by all requests of a
/// client.
pub(crate) struct Connector {
    pub(crate) dns: DnsCache,
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) proxies: Proxies,
    pub(crate) timeout: Option<Duration>,
    pub(crate) policy: AddressPolicy,
    /// HTTP/2 keep-alive: a PING after this long without a frame
    /// received, the connection closed if its answer takes as long.
    pub(crate) http2_keep_alive: Option<Duration>,
}

impl Connector {
    /// When a connect starting now must be done (the connect timeout from
    /// now), with the limit itself; `None` without a connect timeout.
    pub(crate) fn deadline(&self) -> Option<(Instant, Duration)> {
        let limit = self.timeout?;
        Some((solo::time::now().checked_add(limit)?, limit))
    }

    /// Runs `fut` (part of the connect phase: the connect itself, or the
    /// wait for another request's connect) until `deadline`, then fails
    /// with the connect timeout.
    pub(crate) async fn within<F: Future>(
        &self,
        deadline: Option<(Instant, Duration)>,
        fut: F,
    ) -> Result<F::Output, Error> {
        match deadline {
            None => Ok(fut.await),
            Some((at, limit)) => solo::time::timeout_at(at, fut)
                .await
                .map_err(|_| Error::timeout(Phase::Connect, limit)),
        }
    }

    /// Opens a connection to `key` and starts its hyper connection task
    /// (no time limit but the DNS lookups' by `deadline`: see
    /// [`Connector::within`]). The connection's [`Tap`] comes with it.
    pub(crate) async fn open(
        &self,
        key: &Key,
        deadline: Option<Instant>,
    ) -> Result<(Sender, Rc<Tap>), Error> {
        let tcp = match self.proxies.route(key)? {
            Some(proxy) if key.https => proxy.tunnel(self, key, deadline).await?,
            Some(proxy) => proxy.forward(self, key, deadline).await?,
            None => {
                let addrs = self.allowed_addrs(key, deadline).await?;
                self.connect_any(&addrs, &key.host, key.port, "").await?
            }
        };
        let tap = Tap::new(tcp.peer_addr().ok());
        let (stream, h2) = if key.https {
            tls::handshake(&self.tls, &key.host, tcp).await?
        } else {
            (Stream::Plain(tcp), false)
        };
        let stream = Tapped {
            inner: stream,
            tap: tap.clone(),
        };
        tracing::debug!(to = %key, tls = key.https, http2 = h2, "connected");
        let io = HyperIo(stream);
        let handshake_failed = |e| {
            Error::new(
                ErrorKind::Connect,
                format!("HTTP handshake with {key} failed"),
            )
            .with_source(e)
        };
        if h2 {
            let mut builder = http2::Builder::new(SoloExecutor);
            builder
                .max_header_list_size(MAX_HEAD_BYTES as u32)
                .initial_stream_window_size(HTTP2_STREAM_WINDOW)
                .initial_connection_window_size(HTTP2_CONNECTION_WINDOW);
            if let Some(interval) = self.http2_keep_alive {
                builder
                    .timer(SoloTimer)
                    .keep_alive_interval(interval)
                    .keep_alive_timeout(interval)
                    .keep_alive_while_idle(true);
            }
            let (sender, conn) = builder
                .handshake::<Io, ReqBody>(io)
                .await
                .map_err(handshake_failed)?;
            in_background(conn);
            Ok((Sender::Http2(sender), tap))
        } else {
            let (sender, conn) = http1::Builder::new()
                .max_buf_size(MAX_HEAD_BYTES)
                .handshake::<Io, ReqBody>(io)
                .await
                .map_err(handshake_failed)?;
            in_background(conn);
            Ok((Sender::Http1(sender), tap))
        }
    }

    /// The addresses of `key`'s host that the address policy allows, in
    /// the resolver's order; an error of kind
    /// [`BlockedAddress`](ErrorKind::BlockedAddress) naming the first
    /// refused address and its rule when it allows none. The lookup gives
    /// up at `deadline`.
    pub(crate) async fn allowed_addrs(
        &self,
        key: &Key,
        deadline: Option<Instant>,
    ) -> Result<Vec<SocketAddr>, Error> {
        let mut addrs = self.dns.resolve(&key.host, key.port, deadline).await?;
        if self.policy.allows_all() {
            return Ok(addrs);
        }
        let mut refused = None;
        addrs.retain(|a| match self.policy.check(a.ip()) {
            Ok(()) => true,
            Err(why) => {
                refused.get_or_insert(why);
                false
            }
        });
        match refused {
            Some(why) if addrs.is_empty() => Err(Error::new(
                ErrorKind::BlockedAddress,
                format!("the address policy refused to connect to {key}: {why}"),
            )),
            _ => Ok(addrs),
        }
    }

    /// A TCP connection to the proxy at `host:port` (not checked against
    /// the address policy), trying each address in turn.
    pub(crate) async fn proxy_tcp(
        &self,
        host: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> Result<TcpStream, Error> {
        let addrs = self.dns.resolve(host, port, deadline).await?;
        self.connect_any(&addrs, host, port, "the proxy ").await
    }

    /// A TCP connection to the first of `addrs` that answers, racing them
    /// (Happy Eyeballs: see `eyeballs`); an error names `what` (e.g.
    /// "the proxy ") and `host:port`.
    async fn connect_any(
        &self,
        addrs: &[SocketAddr],
        host: &str,
        port: u16,
        what: &str,
    ) -> Result<TcpStream, Error> {
        match eyeballs::connect_first(addrs).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                // Writes wait while this much is queued unsent, so an
                // upload's writes follow what the server reads rather
                // than fill the kernel's buffer (see `silence`).
                // In-flight data is not limited: throughput is not.
                let _ = socket2::SockRef::from(&s).set_tcp_notsent_lowat(NOTSENT_LOWAT);
                Ok(s)
            }
            Err(last) => {
                let err = Error::new(
                    ErrorKind::Connect,
                    format!("cannot connect to {what}{host}:{port}"),
                );
                Err(match last {
                    Some(e) => err.with_source(e),
                    None => err,
                })
            }
        }
    }
}
