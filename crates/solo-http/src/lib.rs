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
//! ## Design
//!
//! HTTP itself is [hyper] 1.x (HTTP/1.1 and HTTP/2), TLS is [rustls] with
//! the `ring` provider and the Mozilla roots, through `futures-rustls`.
//! This crate is the client around them, on solo's loop:
//!
//! | module | concept |
//! |---|---|
//! | `client` | [`Client`], [`ClientBuilder`]: the shared state and defaults |
//! | `request` | [`RequestBuilder`]: a request, errors kept until `send` |
//! | `send` | the total deadline, the redirect loop, one hop, stale-connection retry |
//! | `redirect` | the redirect rules, as a pure decision |
//! | `pool` | idle keep-alive connections, HTTP/2 sharing, per-host limits |
//! | `connect` | DNS, TCP, proxy tunnel, TLS, hyper handshake, solo tasks |
//! | `tls` | rustls settings, ALPN, the plain-or-TLS stream |
//! | `dns` | a TTL cache over `solo::net::lookup_host` |
//! | `proxy` | HTTP `CONNECT` tunnels |
//! | `response`, `body` | [`Response`]; streaming the body under limits |
//! | `decode` | gzip/deflate/br decompression, charset detection |
//! | `cookie` | the opt-in cookie jar |
//! | `error` | [`Error`], [`ErrorKind`], [`Phase`] |
//!
//! How the pieces run:
//!
//! - **One thread, no unsafe.** hyper drives any I/O type implementing its
//!   `rt::Read`/`rt::Write`; solo's sockets speak futures-io. Two adapters
//!   stack to bridge them (`solo::compat::TokioIo`, then
//!   `hyper_util::rt::TokioIo`), so this crate needs no `unsafe`. Each
//!   connection's hyper future is a solo task (`solo::spawn`, `!Send` is
//!   fine); hyper's HTTP/2 executor is `solo::spawn` too.
//! - **Timeouts are solo's.** hyper's timer wants `Send + Sync` sleeps, so
//!   it is not used; every limit is a [`solo::timeout`] around a future:
//!   connect ([`Phase::Connect`]), read between pieces of data
//!   ([`Phase::Read`]), and the whole request, body included
//!   ([`Phase::Total`]).
//! - **Pooling.** Idle HTTP/1.1 connections are kept per (scheme, host,
//!   port) and checked before reuse; a stale one is retried on a fresh
//!   connection transparently. HTTP/2 (negotiated by ALPN over TLS) puts
//!   all requests to a host on one connection. With
//!   [`max_connections_per_host`](ClientBuilder::max_connections_per_host),
//!   requests wait their turn instead of opening more.
//! - **Bodies stream.** A [`Response`] comes back with the head; its body
//!   is read piece by piece on demand, decompressed as it comes, and cut
//!   off with [`ErrorKind::TooLarge`] as soon as it passes the size limit.
//!   Reading the body to its end gives the connection back to the pool.
//! - **Errors, not panics.** Bad input (URL, header) is an error at send;
//!   whatever a server sends is at worst an error.
//!
//! [hyper]: https://docs.rs/hyper
//! [rustls]: https://docs.rs/rustls

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod client;
mod connect;
mod cookie;
mod decode;
mod dns;
mod error;
mod pool;
mod proxy;
mod redirect;
mod request;
mod response;
mod send;
mod tls;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_BODY_SIZE};
pub use error::{Error, ErrorKind, Phase};
pub use request::{IntoUrl, RequestBuilder};
pub use response::Response;

pub use bytes::Bytes;
pub use http::{header, HeaderMap, Method, StatusCode, Version};
pub use url::Url;
