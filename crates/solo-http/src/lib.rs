//! # solo-http — an HTTP client for solo, the aiohttp of this runtime
//!
//! One [`Client`] per program (like aiohttp's `ClientSession`), cheap to
//! clone, `!Send` like everything on solo's single thread:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! solo::run(async {
//!     // A tiny server to talk to; any HTTP server will do.
//!     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("http://{}/hello", listener.local_addr()?);
//!     solo::spawn(async move {
//!         let (s, _) = listener.accept().await.unwrap();
//!         let _ = s.read(&mut [0; 1024]).await;
//!         s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").await.unwrap();
//!     });
//!
//!     let client = solo_http::Client::new();
//!     let resp = client.get(&url).send().await?.error_for_status()?;
//!     assert_eq!(resp.status(), 200);
//!     assert_eq!(resp.text().await?, "hello");
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Redirects
//!
//! Up to [`redirect_limit`](ClientBuilder::redirect_limit) redirects (10
//! by default; 0 returns the 3xx response itself) are followed, with the
//! method that RFC 9110 (section 15.4) gives:
//!
//! | status | POST | HEAD | GET, PUT, PATCH, DELETE, ... |
//! |---|---|---|---|
//! | 301, 302 | becomes GET, body dropped | stays HEAD | kept, with the body |
//! | 303 | becomes GET, body dropped | stays HEAD | becomes GET, body dropped |
//! | 307, 308 | kept, with the body | stays HEAD | kept, with the body |
//!
//! Request bodies are held in memory ([`Bytes`]), so a kept body can
//! always be sent again. Browsers (the Fetch standard) follow the same
//! rules; Python's requests differs on 301/302: it also turns a PUT or
//! DELETE into a GET on a 302, and drops every body on a 301 or 302.
//!
//! On a redirect to another origin (scheme, host or port), the
//! `Authorization`, `Proxy-Authorization` and `Cookie` headers of the
//! request, its own and the client's
//! [`default_headers`](ClientBuilder::default_headers) alike, are dropped
//! (cookies from the jar are added again for the new host). A `Location` that is not an http(s) URL, a loop (the same
//! method and URL again, with the same cookies from the jar: a page that
//! sets a cookie and redirects to itself is followed), or one redirect
//! more than the limit is an error of kind [`Redirect`](ErrorKind::Redirect).
//! The redirects followed are in [`Response::history`], oldest first
//! (URL, method, status and headers; their bodies are not kept), like
//! httpx's `Response.history`.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use solo_http::{Client, Method};
//!
//! /// The method that reaches the end of a `code` redirect.
//! async fn method_after(client: &Client, base: &str, method: Method, code: u16) -> String {
//!     let url = format!("{base}/status/{code}");
//!     let resp = client.request(method, url).body("x").send().await.unwrap();
//!     resp.text().await.unwrap()
//! }
//!
//! solo::run(async {
//!     // A server that redirects /status/CODE to /done, which answers
//!     // with the method it got.
//!     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let base = format!("http://{}", listener.local_addr()?);
//!     solo::spawn(async move {
//!         while let Ok((s, _)) = listener.accept().await {
//!             solo::spawn(async move {
//!                 let mut buf = [0; 4096];
//!                 let n = s.read(&mut buf).await.unwrap_or(0);
//!                 let head = String::from_utf8_lossy(&buf[..n]).into_owned();
//!                 let mut words = head.split_whitespace();
//!                 let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
//!                 let answer = match path.strip_prefix("/status/") {
//!                     Some(code) => format!("HTTP/1.1 {code} Redirect\r\nlocation: /done\r\n\
//!                                            content-length: 0\r\nconnection: close\r\n\r\n"),
//!                     None => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\
//!                                      connection: close\r\n\r\n{method}", method.len()),
//!                 };
//!                 let _ = s.write_all(answer.as_bytes()).await;
//!                 while s.read(&mut buf).await.unwrap_or(0) > 0 {} // until the client closes
//!             });
//!         }
//!     });
//!
//!     let client = Client::new();
//!     assert_eq!(method_after(&client, &base, Method::POST, 302).await, "GET");
//!     assert_eq!(method_after(&client, &base, Method::PUT, 302).await, "PUT");
//!     assert_eq!(method_after(&client, &base, Method::PUT, 303).await, "GET");
//!     assert_eq!(method_after(&client, &base, Method::POST, 307).await, "POST");
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## Credentials
//!
//! [`RequestBuilder::basic_auth`] and [`RequestBuilder::bearer_auth`] set
//! `Authorization`. A user and password in the URL
//! (`http://user:pass@host/`, percent-decoded) are sent as
//! `Authorization: Basic` unless the request sets its own, and are taken
//! out of the URL before anything else: the request target,
//! [`Response::url`] and [`Error::url`] never hold them. Credentials are
//! never printed: `Debug` shows `Sensitive` for `Authorization` headers,
//! and an error that quotes a URL the client could not parse shows its
//! password as `***`.
//!
//! ## Design
//!
//! HTTP itself is [hyper] 1.x (HTTP/1.1 and HTTP/2), TLS is [rustls] with
//! the `ring` provider and the Mozilla roots, through `futures-rustls`,
//! with a client certificate for servers that ask for one (mutual TLS,
//! [`ClientBuilder::client_cert`]).
//! This crate is the client around them, on solo's loop:
//!
//! | module | concept |
//! |---|---|
//! | `client` | [`Client`], [`ClientBuilder`]: the shared state and defaults |
//! | `request` | [`RequestBuilder`]: a request, errors kept until `send` |
//! | `auth` | `Basic`/`Bearer` credentials, URL userinfo, redacting passwords |
//! | `send` | the total deadline, the redirect loop, one hop, retry on a stale or closing connection |
//! | `silence` | the read timeout while waiting for a response head |
//! | `redirect` | the redirect rules, as a pure decision |
//! | `history` | [`Redirected`]: the redirects a response came through ([`Response::history`]) |
//! | `pool` | idle keep-alive connections, HTTP/2 sharing, per-host limits |
//! | `connect` | DNS, TCP, proxy tunnel, TLS, hyper handshake, solo tasks |
//! | `eyeballs` | racing a host's addresses (Happy Eyeballs, RFC 8305) |
//! | `keepalive` | HTTP/2 keep-alive PINGs: hyper's timer on solo's clock |
//! | `tls` | rustls settings, roots in DER or PEM, ALPN, the plain-or-TLS stream |
//! | `client_cert` | the client certificate and key of mutual TLS ([`ClientBuilder::client_cert`]) |
//! | `dns` | a TTL cache over `solo::net::lookup_host` |
//! | `resolve` | the resolver hook: [`Resolve`], [`Resolver`] |
//! | `policy` | [`AddressPolicy`]: which addresses may be connected to |
//! | `proxy` | which proxy a request takes (one, or per scheme from the environment); `CONNECT` tunnels for https, forwarding for http |
//! | `no_proxy` | the hosts reached directly (`no_proxy` lists) |
//! | `response`, `body` | [`Response`]; streaming the body under limits |
//! | `decode` | gzip/deflate/br/zstd decompression, stacked codings, charset detection |
//! | `gzip` | gzip bodies of several members, bytes after the last |
//! | `zstandard` | zstd bodies: libzstd's streaming decoder, the window capped at 8 MiB (RFC 9659) |
//! | `cookie` | [`CookieJar`], the opt-in cookie jar, and [`Cookie`], one cookie of it (to share a session) |
//! | `cookie_date` | the dates of `Expires`, read as RFC 6265 says |
//! | `error` | [`Error`], [`ErrorKind`], [`Phase`] |
//!
//! How the pieces run:
//!
//! - **One thread, no unsafe.** hyper drives any I/O type implementing its
//!   `rt::Read`/`rt::Write`; solo's sockets speak futures-io. One adapter
//!   bridges them (`hyper_io`: reads go through a zeroed scratch buffer
//!   and only the bytes read are copied to hyper), so this crate needs no
//!   `unsafe`. Each
//!   connection's hyper future is a solo task (`solo::spawn`, `!Send` is
//!   fine); hyper's HTTP/2 executor is `solo::spawn` too.
//! - **Timeouts are solo's.** hyper's timer serves only the opt-in HTTP/2
//!   keep-alive PINGs ([`ClientBuilder::http2_keep_alive`]); every limit
//!   is a [`solo::timeout`] around a future:
//!   connect ([`Phase::Connect`]), the server's silence before the
//!   response head and between pieces of the body ([`Phase::Read`]: an
//!   upload in progress is not silence), the whole request, body
//!   included ([`Phase::Total`]), and the wait for a connection when
//!   [`max_connections_per_host`](ClientBuilder::max_connections_per_host)
//!   are all in use ([`Phase::Pool`]).
//! - **Pooling.** Idle HTTP/1.1 connections are kept per (scheme, host,
//!   port) and checked before reuse; a stale one is retried on a fresh
//!   connection transparently, and so are HTTP/2 requests a server turned
//!   away unprocessed (`GOAWAY`, `REFUSED_STREAM`), together on one new
//!   connection. HTTP/2 (negotiated by ALPN over TLS) puts all requests
//!   to a host on one connection (a response held unread buffers up to
//!   2 MiB of its body there, and does not block the others); it is
//!   replaced when a read timeout
//!   finds it silent, and closed when idle like an HTTP/1.1 one
//!   ([`ClientBuilder::pool_idle_timeout`]). With
//!   [`max_connections_per_host`](ClientBuilder::max_connections_per_host),
//!   requests wait their turn instead of opening more ([`ClientBuilder::pool_timeout`] at most).
//! - **Bodies stream.** A [`Response`] comes back with the head; its body
//!   is read piece by piece on demand, decompressed as it comes, and cut
//!   off with [`ErrorKind::TooLarge`] as soon as it passes the size limit
//!   (by default 64 MiB for a body collected whole, none for one streamed
//!   with [`Response::chunk`]; [`ClientBuilder::max_body_size`] and
//!   [`RequestBuilder::max_body_size`] set one for both).
//!   Reading the body to its end gives the connection back to the pool.
//!   Bodies are decoded (gzip, deflate, br, zstd, stacked too) unless
//!   [`ClientBuilder::decompress`] or, for one request,
//!   [`RequestBuilder::decompress`] says not (the bytes as sent, like
//!   httpx's `iter_raw`).
//! - **Errors, not panics.** Bad input (URL, header) is an error at send;
//!   whatever a server sends is at worst an error.
//! - **TLS without `close_notify`.** A server that closes TCP without
//!   TLS's goodbye ends the stream there, as curl, Python and browsers
//!   read it: a body delimited by the connection closing (HTTP/1.0 style)
//!   ends normally, while a `Content-Length` or chunked body cut short is
//!   still an [`ErrorKind::Body`] (the truncation `close_notify` guards
//!   against is caught by HTTP's framing; a close-delimited body has none
//!   to check).
//! - **An address policy, checked where the socket opens.** With
//!   [`ClientBuilder::address_policy`] (e.g.
//!   [`AddressPolicy::public_only`], the guard against server-side request
//!   forgery: no loopback, private, link-local or other special address,
//!   in IPv4-mapped, 6to4 and NAT64 forms too), every address is judged
//!   after DNS, just before connecting to it, for every request, redirect
//!   and proxy tunnel target: a name that resolves, or re-resolves, to a
//!   refused address fails with [`ErrorKind::BlockedAddress`], naming the
//!   address and the rule. By default every address is allowed. Names can
//!   be resolved by a [`Resolver`] of your own
//!   ([`ClientBuilder::resolver`]), e.g. [`Resolver::hosts`] in tests.
//! - **Wire bytes, for archives** (WARC): a request sent with
//!   [`RequestBuilder::capture`] keeps what went over the wire: the
//!   request as sent, the response's status line and header block as
//!   received (over HTTP/1.1 the very bytes, copied by a tap between hyper
//!   and the plain or TLS stream: header names in their case and order;
//!   over HTTP/2 written out from the decoded frames), the peer address
//!   ([`Response::capture`], a [`Capture`]) and, for a body whose
//!   content encoding is decoded, the body as received
//!   ([`Response::raw_body`]; any other body's chunks are those bytes
//!   already). A request that does not ask copies nothing.
//!
//! [hyper]: https://docs.rs/hyper
//! [rustls]: https://docs.rs/rustls

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod body;
mod client;
mod client_cert;
mod connect;
mod cookie;
mod cookie_date;
mod decode;
mod dns;
mod error;
mod eyeballs;
mod gzip;
mod history;
mod hyper_io;
mod keepalive;
pub mod multipart;
mod no_proxy;
mod policy;
mod pool;
mod proxy;
mod redirect;
mod request;
mod resolve;
mod response;
mod send;
mod silence;
mod tls;
mod wire;
mod zstandard;

pub use auth::redact_proxy;
pub use client::{Client, ClientBuilder, DEFAULT_MAX_BODY_SIZE};
pub use cookie::{Cookie, CookieJar};
pub use error::{Error, ErrorKind, Phase};
pub use history::Redirected;
pub use no_proxy::NoProxy;
pub use policy::{embedded_ipv4, special_range, AddressPolicy, Refused, SpecialRange};
pub use request::{IntoUrl, RequestBuilder};
pub use resolve::{Resolve, Resolver, Resolving};
pub use response::Response;
pub use wire::Capture;

pub use bytes::Bytes;
pub use http::{header, HeaderMap, Method, StatusCode, Version};
pub use ipnet::IpNet;
pub use url::Url;
