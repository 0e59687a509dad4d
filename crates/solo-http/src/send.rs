//! Sending a request: the total time limit, the redirect loop, and each
//! hop on a pooled connection.
//!
//! Owns: building hyper's request, waiting for its head, and whether a
//! failed hop is sent again (and on which connection: it tells the pool
//! to retire a dead or closing one). Must not: send again a request the
//! server may have processed, unless its method is idempotent; or keep
//! connections itself (that is `pool`).
//!
//! Design: [`Client::execute`] wraps everything in the total deadline.
//! Inside, `follow` sends one hop at a time and asks `redirect` whether
//! there is another; the body of a redirect response is drained (a little,
//! for a second at most) so its connection can go back to the pool, and
//! the head of each redirect followed goes into the final response's
//! history (see `history`; none kept, nothing allocated, without one). A hop takes a connection
//! from the pool, builds hyper's request (origin-form URI and `Host`, the
//! first header, for HTTP/1.1; absolute URI for HTTP/2, whose authority
//! is the request's `Host` if it sets one) and waits for the response head
//! under the read timeout, which counts the connection's silence (see
//! `silence`), not the time the request takes to upload.
//!
//! A user and password in the URL become `Authorization: Basic` (unless
//! the request has its own `Authorization`) and are taken out of the URL
//! before anything else, so no request target, `Response::url` or error
//! carries them. A POST, PUT or PATCH without a body says
//! `Content-Length: 0` (RFC 9110 section 8.6).
//!
//! A connection taken from the pool may have been closed by the server
//! while it sat idle, and the request then fails before any answer. When
//! that happens on a reused connection and the request was not sent, or
//! its method is idempotent, the hop is tried once more on a new
//! connection: the caller never sees the stale connection. Bodies are
//! `Bytes`, so sending one again costs nothing.
//!
//! An HTTP/2 server that closes a connection (a graceful `GOAWAY`, as
//! nginx sends after `keepalive_requests` streams) or refuses a stream
//! (`REFUSED_STREAM`) has not processed the requests it turned away
//! (RFC 9113 sections 6.8 and 8.7), nor the ones still queued in the
//! client for that connection: those are sent again, whatever their
//! method. The connection is retired from the pool, so they all share
//! the one new connection that the first of them opens (HTTP/2
//! multiplexes): a burst of refused requests is not a burst of
//! handshakes. A request turned away by a connection it shared with
//! others is sent again each time (the host is serving the others, so
//! it gets its turn); one turned away by a connection it opened itself,
//! once.
//!
//! Over HTTP/2 the read timeout counts the whole connection's silence
//! (see `silence`): a request that times out waiting for its head leaves
//! a connection on which nothing arrived for that long, likely dead
//! (a NAT or firewall dropped the flow, the host is gone). It is retired
//! too, so the next request opens a new one rather than wait on it.

use std::cell::RefCell;

use http::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH, COOKIE, HOST,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{Method, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use url::{Position, Url};

use crate::auth;
use crate::body::{Deadline, Limits};
use crate::client::Client;
use crate::connect::{Key, ReqBody, MAX_HEAD_BYTES};
use crate::error::{Error, ErrorKind, Phase};
use crate::pool::{Conn, Lease};
use crate::redirect::{Hop, Redirects};
use crate::request::RequestBuilder;
use crate::response::Response;
use crate::silence;
use crate::wire::{self, Capture, Tap};

/// How much of a redirect response's body is read to keep its connection.
const DRAIN_LIMIT: u64 = 64 << 10;

/// How long a redirect response's body is waited for to keep its
/// connection; after that the connection is closed and the redirect
/// followed on another.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

impl Client {
    pub(crate) async fn execute(&self, req: RequestBuilder) -> Result<Response, Error> {
        let mut url = req.url?;
        let mut headers = req.headers;
        if let Some(credentials) = auth::take_userinfo(&mut url) {
            headers.entry(AUTHORIZATION).or_insert(credentials);
        }
        check_url(&url)?;
        let hop = Hop {
            method: req.method,
            url,
            headers: with_defaults(&self.inner.config.headers, headers),
            body: req.body,
        };
        let limit = req.timeout.or(self.inner.config.timeout);
        let deadline = limit.and_then(|limit| {
            let at = solo::time::now().checked_add(limit)?;
            Some(Deadline { at, limit })
        });
        let asks = Asks {
            capture: req.capture,
            decompress: req.decompress,
        };
        let max_size = req.max_body_size.or(self.inner.config.max_body_size);
        match deadline {
            None => self.follow(hop, None, asks, max_size, None).await,
            Some(d) => {
                // The hop under way when time runs out: the error's URL.
                let current = RefCell::new(hop.url.clone());
                let follow = self.follow(hop, deadline, asks, max_size, Some(&current));
                solo::time::timeout_at(d.at, follow)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::timeout(Phase::Total, d.limit).with_url(&current.borrow()))
                    })
            }
        }
    }

    /// Sends `hop` and the redirects that follow; `current`, if given,
    /// is kept up to date with the URL of the hop under way.
    async fn follow(
        &self,
        mut hop: Hop,
        deadline: Option<Deadline>,
        asks: Asks,
        max_size: Option<u64>,
        current: Option<&RefCell<Url>>,
    ) -> Result<Response, Error> {
        let config = &self.inner.config;
        let limits = Limits {
            max_size,
            read_timeout: config.read_timeout,
            deadline,
        };
        let jar = self.inner.jar.as_ref();
        let cookies = |url: &Url| jar.and_then(|jar| jar.header_for(url));
        let mut redirects = Redirects::new(config.redirect_limit, &hop, &cookies);
        // The redirects followed, oldest first: empty (no allocation)
        // unless there is one.
        let mut history = Vec::new();
        loop {
            let (resp, lease, decompress, captured) = self
                .send_hop(&hop, asks)
                .await
                .map_err(|e| e.or_url(&hop.url))?;
            let (head, incoming) = resp.into_parts();
            if let Some(jar) = &self.inner.jar {
                jar.store(&hop.url, &head.headers);
            }
            let here = hop.url.clone();
            // The method that got a redirect, for the history (`next`
            // changes `hop`); only cloned for a 3xx.
            let method = head.status.is_redirection().then(|| hop.method.clone());
            let next = match redirects.enabled() {
                true => redirects.next(&mut hop, head.status, &head.headers, &cookies),
                false => Ok(false),
            };
            if let Ok(false) = next {
                let resp = Response::new(head, incoming, lease, here, limits, decompress, captured);
                return Ok(resp.with_history(history));
            }
            // A redirect, followed or refused: read its (small) body so the
            // connection can serve the next request; one that does not
            // come at once closes the connection instead (a body dripped
            // a byte at a time would hold the request for hours).
            let mut redirect = Response::new(head, incoming, lease, here, limits, false, None);
            if let (Ok(true), Some(method)) = (&next, method) {
                history.push(redirect.take_head(method));
            }
            let _ = solo::time::timeout(DRAIN_TIME, redirect.drain(DRAIN_LIMIT)).await;
            next?;
            if let Some(current) = current {
                current.replace(hop.url.clone());
            }
        }
    }

    /// One request on one connection, retried once on a new connection if
    /// a reused one turns out to be stale, and again when HTTP/2 turns it
    /// away unprocessed; with `asks.capture`, its wire bytes.
    async fn send_hop(&self, hop: &Hop, asks: Asks) -> Result<Sent, Error> {
        let inner = &self.inner;
        let key = Key::of(&hop.url);
        let mut fresh = false;
        // Turned away by an HTTP/2 connection this request opened.
        let mut refused_by_own = false;
        loop {
            let mut lease = inner.pool.lease(&key, &inner.connector, fresh).await?;
            let (req, decompress) = self.build(hop, lease.is_http2(), asks.decompress)?;
            let tap = lease.tap().filter(|_| asks.capture).cloned();
            let h2_text = match (&tap, lease.is_http2()) {
                (Some(_), true) => {
                    Some(wire::request_text(&req, hop.body.as_deref().unwrap_or(&[])))
                }
                _ => None,
            };
            if let (Some(tap), None) = (&tap, &h2_text) {
                tap.arm();
            }
            // The read timeout counts the connection's silence (see
            // `silence`): nothing sent and nothing received.
            let conn_tap = lease.tap().cloned();
            let moved = move || conn_tap.as_ref().map_or(0, |t| t.moved());
            let sending = async {
                match lease.conn() {
                    Conn::Http1(s) => s.try_send_request(req).await,
                    Conn::Http2(s) => s.try_send_request(req).await,
                }
            };
            let result = match inner.config.read_timeout {
                None => sending.await,
                Some(d) => match silence::head_within(d, &moved, sending).await {
                    Ok(result) => result,
                    Err(e) => {
                        // Over HTTP/2: the whole connection was silent.
                        lease.retire();
                        return Err(e);
                    }
                },
            };
            // Host, port, path and query: never the userinfo.
            let target = || &hop.url[Position::BeforeHost..Position::AfterQuery];
            match result {
                Ok(resp) => {
                    tracing::debug!(
                        method = %hop.method,
                        target = target(),
                        status = resp.status().as_u16(),
                        reused = lease.reused(),
                        http2 = lease.is_http2(),
                        "response head"
                    );
                    if resp.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                        if let Some(proxy) = inner.connector.proxies.forwarding(&hop.url) {
                            return Err(proxy.refused(
                                target(),
                                407,
                                "407 Proxy Authentication Required",
                            ));
                        }
                    }
                    let mut captured = tap.map(|tap| captured(&tap, h2_text, &resp));
                    if let Some(c) = captured.as_mut().filter(|_| !lease.is_http2()) {
                        if inner.connector.proxies.forwarding(&hop.url).is_some() {
                            // Archived as the server would have it sent
                            // directly: no proxy in the request.
                            c.request = crate::proxy::as_direct(&c.request).into();
                        }
                    }
                    return Ok((resp, lease, decompress, captured));
                }
                Err(mut e) => {
                    if let Some(tap) = &tap {
                        tap.take();
                    }
                    let unsent = e.take_message().is_some();
                    let e = e.into_error();
                    let h2 = lease.is_http2();
                    if h2 && (unsent || refused(&e) || dispatch_gone(&e)) {
                        // Not processed: again, on the host's next
                        // connection, which the others share.
                        lease.retire();
                        if lease.reused() || !std::mem::replace(&mut refused_by_own, true) {
                            tracing::debug!(
                                target = target(),
                                "closing HTTP/2 connection: sending again on the next one"
                            );
                            continue;
                        }
                    } else if !fresh
                        && lease.reused()
                        && (unsent || idempotent(&hop.method) && stale(&e))
                    {
                        tracing::debug!(
                            target = target(),
                            "stale connection: sending again on a new one"
                        );
                        lease.retire();
                        fresh = true;
                        continue;
                    }
                    return Err(send_error(&key, e));
                }
            }
        }
    }

    /// hyper's request for `hop`, and whether the client decompresses the
    /// answer (`decompress`: the request's own choice, if it made one).
    fn build(
        &self,
        hop: &Hop,
        http2: bool,
        decompress: Option<bool>,
    ) -> Result<(http::Request<ReqBody>, bool), Error> {
        let config = &self.inner.config;
        let url = &hop.url;
        let forward = match http2 {
            true => None,
            false => self.inner.connector.proxies.forwarding(url),
        };
        let mut headers = hop.headers.clone();
        let host = match headers.remove(HOST) {
            Some(host) => host,
            None => url_authority(url)?,
        };
        let uri = match http2 {
            true => h2_uri(url, &host)?,
            false => {
                let target = match forward {
                    Some(_) => &url[..Position::AfterQuery],
                    None => &url[Position::BeforePath..Position::AfterQuery],
                };
                parse_uri(target)?
            }
        };
        if !http2 {
            // RFC 9110 section 7.2: Host first.
            let rest = std::mem::take(&mut headers);
            headers.insert(HOST, host);
            headers.extend(rest);
        }
        if let Some(auth) = forward.and_then(|p| p.authorization()) {
            headers
                .entry(PROXY_AUTHORIZATION)
                .or_insert_with(|| auth.clone());
        }
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        // The request's own Accept-Encoding: the body as sent, unless
        // the request asks for decoding all the same. Its
        // `decompress(false)` keeps the client's Accept-Encoding (as
        // httpx's `iter_raw` and aiohttp's `auto_decompress=False`).
        let own = headers.contains_key(ACCEPT_ENCODING);
        if !own && (config.decompress || decompress == Some(true)) {
            headers.insert(
                ACCEPT_ENCODING,
                HeaderValue::from_static("gzip, deflate, br, zstd"),
            );
        }
        let decompress = decompress.unwrap_or(config.decompress && !own);
        let empty = hop.body.as_ref().is_none_or(|b| b.is_empty());
        if empty
            && matches!(hop.method, Method::POST | Method::PUT | Method::PATCH)
            && !headers.contains_key(TRANSFER_ENCODING)
        {
            // RFC 9110 section 8.6: these methods anticipate content, so
            // an empty one is said (some servers answer 411 otherwise).
            headers
                .entry(CONTENT_LENGTH)
                .or_insert(HeaderValue::from_static("0"));
        }
        if let Some(jar) = &self.inner.jar {
            if !headers.contains_key(COOKIE) {
                if let Some(cookies) = jar.header_for(url) {
                    headers.insert(COOKIE, cookies);
                }
            }
        }
        let mut req = http::Request::new(Full::new(hop.body.clone().unwrap_or_default()));
        *req.method_mut() = hop.method.clone();
        *req.uri_mut() = uri;
        *req.version_mut() = if http2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        *req.headers_mut() = headers;
        Ok((req, decompress))
    }
}

/// The request's headers over the client's defaults, name by name. They
/// are merged once, before the first hop, so that a redirect to another
/// origin drops a default `Authorization` or `Cookie` as it drops the
/// request's own (see `redirect`).
fn with_defaults(defaults: &HeaderMap, request: HeaderMap) -> HeaderMap {
    let mut headers = defaults.clone();
    for name in request.keys() {
        headers.remove(name);
    }
    headers.extend(request);
    headers
}

/// The request target (origin or absolute form) for HTTP/1.1.
fn parse_uri(target: &str) -> Result<http::Uri, Error> {
    target.parse().map_err(|e| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("invalid request target {target:?}"),
        )
        .with_source(e)
    })
}

/// The URI of an HTTP/2 request: the request's `Host` is its authority,
/// sent as `:authority` (RFC 9113 section 8.3.1), as curl and Go do; a
/// `host` field would make servers such as nginx answer 400.
fn h2_uri(url: &Url, host: &HeaderValue) -> Result<http::Uri, Error> {
    let authority = host
        .to_str()
        .ok()
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
        .filter(|a| !a.as_str().contains('@'))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid Host header {host:?}: it must be a host name or address, and a port if any"),
            )
            .with_url(url)
        })?;
    http::Uri::builder()
        .scheme(url.scheme())
        .authority(authority)
        .path_and_query(&url[Position::BeforePath..Position::AfterQuery])
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::InvalidUrl, "invalid request target")
                .with_url(url)
                .with_source(e)
        })
}

/// The `Host` of `url`: its host, and its port unless the default.
fn url_authority(url: &Url) -> Result<HeaderValue, Error> {
    let host = url.host_str().unwrap_or_default();
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::from_str(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidUrl, "invalid host").with_source(e))
}

/// What a request asks of each hop besides the client's settings.
#[derive(Clone, Copy)]
struct Asks {
    /// Keep the wire bytes ([`RequestBuilder::capture`]).
    capture: bool,
    /// Decode the body or not, whatever the client says
    /// ([`RequestBuilder::decompress`]).
    decompress: Option<bool>,
}

/// What [`Client::send_hop`] gives: the response, its connection, whether
/// the body is decompressed, and the wire bytes if asked for.
type Sent = (http::Response<Incoming>, Lease, bool, Option<Capture>);

/// The wire bytes of an exchange whose response head just arrived.
fn captured(tap: &Tap, h2_request: Option<Vec<u8>>, resp: &http::Response<Incoming>) -> Capture {
    let (request, head, http2) = match h2_request {
        Some(req) => (req, None, true),
        None => {
            let (sent, head) = tap.take();
            (sent, head, false)
        }
    };
    let head = head.unwrap_or_else(|| wire::head_text(resp.status(), resp.headers()));
    Capture {
        peer: tap.peer,
        request: request.into(),
        response_head: head.into(),
        http2,
    }
}

/// Only http(s) URLs with a host can be requested.
fn check_url(url: &Url) -> Result<(), Error> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!(
                "unsupported URL scheme '{}': only http and https",
                url.scheme()
            ),
        )
        .with_url(url));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::new(ErrorKind::InvalidUrl, "the URL has no host").with_url(url));
    }
    Ok(())
}

fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Failures that mean the connection was already dead when it was used.
fn stale(e: &hyper::Error) -> bool {
    e.is_canceled()
        || e.is_incomplete_message()
        || io_kind(e).is_some_and(|k| {
            matches!(
                k,
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            )
        })
}

/// An HTTP/2 request the server never processed: its stream was above the
/// last stream id of the server's graceful `GOAWAY` (or it was opened
/// after that `GOAWAY`), or the server refused the stream
/// (`REFUSED_STREAM`). RFC 9113 section 8.7: such a request can be sent
/// again on a new connection, whatever its method.
fn refused(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.is_remote()
                && match h2.reason() {
                    Some(h2::Reason::NO_ERROR) => h2.is_go_away(),
                    Some(h2::Reason::REFUSED_STREAM) => h2.is_reset(),
                    _ => false,
                };
        }
        source = s.source();
    }
    false
}

/// hyper's error for a request whose answer channel was dropped: over
/// HTTP/2 that is the request it held back waiting for a stream slot
/// (pending open, so never on the wire) when the connection shut down, as
/// after a `GOAWAY` (hyper-1.12 `proto/h2/client.rs`, `fut_ctx`), or one
/// whose loop ended. hyper has no predicate for it; its text is stable.
fn dispatch_gone(e: &hyper::Error) -> bool {
    e.is_user() && e.to_string().starts_with("dispatch task is gone")
}

/// The HTTP/2 layer reset the stream for a protocol error in the
/// response head it received: over the header list size the client
/// announced (`MAX_HEAD_BYTES`), the likely case, or malformed (h2 says
/// the same for both).
fn head_refused_by_h2(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.is_library()
                && h2.is_reset()
                && h2.reason() == Some(h2::Reason::PROTOCOL_ERROR);
        }
        source = s.source();
    }
    false
}

/// What a server's TLS alert under `e` says about the client
/// certificate, if it is such an alert (rustls' errors come wrapped in
/// an `io::Error`, whose `source` skips them).
fn client_cert_refused(e: &hyper::Error) -> Option<&'static str> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return crate::tls::client_cert_refused_io(io);
        }
        source = s.source();
    }
    None
}

fn io_kind(e: &hyper::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// The error for a request that failed before its response head.
fn send_error(key: &Key, e: hyper::Error) -> Error {
    // Over TLS 1.3 a server checks the client's certificate after the
    // client's side of the handshake is over: its refusal is an alert
    // read with the response.
    if let Some(what) = client_cert_refused(&e) {
        return Error::new(ErrorKind::Tls, format!("{what} ({key})")).with_source(e);
    }
    // hyper's `is_parse_too_large` needs its server feature; the text is
    // its `Parse::TooLarge` (over the read buffer, or over 100 headers).
    let h1_too_large = e.is_parse() && e.to_string().starts_with("message head is too large");
    if h1_too_large || head_refused_by_h2(&e) {
        return Error::new(
            ErrorKind::TooLarge,
            format!(
                "the response head from {key} is larger than the limit of {MAX_HEAD_BYTES} bytes{}",
                if h1_too_large {
                    " or 100 header lines"
                } else {
                    " (or malformed: HTTP/2 refused it)"
                }
            ),
        )
        .with_source(e);
    }
    if e.is_timeout() {
        // The only hyper timer set: HTTP/2 keep-alive.
        return Error::new(
            ErrorKind::Timeout(Phase::Read),
            format!("the connection to {key} did not answer an HTTP/2 keep-alive PING in time (it is likely dead)"),
        )
        .with_source(e);
    }
    let what = if e.is_parse() {
        format!("{key} sent an invalid HTTP response")
    } else if e.is_incomplete_message() {
        format!("the connection to {key} closed before a response arrived")
    } else if stale(&e) {
        format!("the connection to {key} was reset before a response arrived")
    } else {
        format!("the request to {key} failed")
    };
    Error::new(ErrorKind::Connect, what).with_source(e)
}
