//! The response: status and headers at once, the body on demand.
//!
//! Design: [`Client::send`](crate::RequestBuilder::send) returns as soon
//! as the response head is in; the body is read only when asked for,
//! either piece by piece with [`Response::chunk`] (streaming, nothing
//! buffered) or collected with [`bytes`](Response::bytes),
//! [`text`](Response::text) or [`json`](Response::json). The time and size
//! limits of the request keep applying while the body is read (see
//! `body`). Until the body has been read to its end the response holds
//! its connection (and its per-host slot): read it or drop it. Over
//! HTTP/2 the connection is shared: a response held unread takes no
//! slot, buffers up to 2 MiB of its body (its stream's flow-control
//! window) and leaves the connection to the others; 256 held at once
//! with 2 MiB each would fill the connection's window, and the host's
//! other responses would then wait for one of them to be read or
//! dropped.
//!
//! When the client decompresses the body (unless the client or the
//! request turned it off: `ClientBuilder::decompress`,
//! `RequestBuilder::decompress`), the `Content-Encoding` and
//! `Content-Length` headers are removed, since they describe the bytes on
//! the wire, not the ones the caller gets. It decompresses a body through
//! every coding listed (`gzip, br`, or two `gzip` lines for a body
//! compressed twice) or not at all: when one is unknown, the body and
//! both headers stay as sent, so a `Content-Encoding` is never removed
//! from a body that still has it. A response without a body
//! (to a HEAD, a 204 or a 304) keeps them: nothing is decoded, and they
//! describe what a GET would get.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{StatusCode, Version};
use serde::de::DeserializeOwned;
use url::Url;

use crate::body::{Body, Limits};
use crate::decode::{self, Decoder};
use crate::error::{Error, ErrorKind};
use crate::history::Redirected;
use crate::pool::Lease;
use crate::wire::Capture;

/// A response to a request.
///
/// ```
/// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
/// let mut resp = client.get("http://127.0.0.1:8080/big").send().await?;
/// println!("{} {:?}", resp.status(), resp.headers().get("content-type"));
/// while let Some(chunk) = resp.chunk().await? {
///     println!("got {} bytes", chunk.len());
/// }
/// # Ok(()) }
/// ```
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Url,
    body: Body,
    capture: Option<Box<Capture>>,
    /// The redirects followed to get here, oldest first.
    history: Vec<Redirected>,
}

impl Response {
    pub(crate) fn new(
        head: http::response::Parts,
        incoming: hyper::body::Incoming,
        lease: Lease,
        url: Url,
        limits: Limits,
        decompress: bool,
        capture: Option<Capture>,
    ) -> Response {
        let mut headers = head.headers;
        let decoder = Decoder::for_headers(&headers, decompress);
        let content_length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let decoded = !decoder.is_identity();
        // A response without a body (HEAD, 204, 304) has nothing decoded:
        // its headers still say what a GET would have sent.
        if decoded && !hyper::body::Body::is_end_stream(&incoming) {
            headers.remove(CONTENT_ENCODING);
            headers.remove(CONTENT_LENGTH);
        }
        let keep_alive = keep_alive(head.version, &headers);
        let mut body = Body::new(incoming, lease, decoder, limits, content_length, keep_alive);
        // Without content decoding the chunks are the bytes as received:
        // no copy to keep.
        if capture.is_some() && decoded {
            body.keep_raw();
        }
        Response {
            status: head.status,
            version: head.version,
            headers,
            url,
            body,
            capture: capture.map(Box::new),
            history: Vec::new(),
        }
    }

    /// The response with the redirects that led to it.
    pub(crate) fn with_history(mut self, history: Vec<Redirected>) -> Response {
        self.history = history;
        self
    }

    /// What the history keeps of this redirect response, answer to a
    /// `method` request: its head, headers moved out (the body is only
    /// drained after this).
    pub(crate) fn take_head(&mut self, method: http::Method) -> Redirected {
        Redirected {
            method,
            url: self.url.clone(),
            status: self.status,
            version: self.version,
            headers: std::mem::take(&mut self.headers),
        }
    }

    pub(crate) async fn drain(mut self, max: u64) {
        self.body.drain(max).await;
    }

    /// The status code.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/").send().await?;
    /// if resp.status().is_success() { println!("ok"); }
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the response came with (`HTTP_2` when the server
    /// chose HTTP/2).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/").send().await?;
    /// assert_eq!(resp.version(), http::Version::HTTP_11);
    /// # Ok(()) }
    /// ```
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/").send().await?;
    /// let kind = resp.headers().get("content-type").and_then(|v| v.to_str().ok());
    /// # Ok(()) }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The URL of the response: the last one, after redirects.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
    /// println!("ended at {}", resp.url());
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The redirects followed to get this response, oldest first, like
    /// httpx's `Response.history` and aiohttp's `resp.history`: the URL,
    /// method, status, version and headers of each (not its body, which
    /// is read and dropped). Empty when the request was not redirected
    /// (or [`redirect_limit`](crate::ClientBuilder::redirect_limit) is 0),
    /// which costs nothing: no allocation.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// solo::run(async {
    ///     // /old redirects to /new, which answers.
    ///     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let base = format!("http://{}", listener.local_addr()?);
    ///     solo::spawn(async move {
    ///         while let Ok((s, _)) = listener.accept().await {
    ///             let mut buf = [0; 4096];
    ///             let n = s.read(&mut buf).await.unwrap_or(0);
    ///             let answer: &[u8] = if buf[..n].starts_with(b"GET /old ") {
    ///                 b"HTTP/1.1 301 Moved\r\nlocation: /new\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ///             } else {
    ///                 b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    ///             };
    ///             let _ = s.write_all(answer).await;
    ///         }
    ///     });
    ///
    ///     let client = solo_http::Client::new();
    ///     let resp = client.get(format!("{base}/old")).send().await?;
    ///     assert_eq!(resp.url().path(), "/new");
    ///     let [moved] = resp.history() else { panic!("one redirect") };
    ///     assert_eq!(moved.status(), 301);
    ///     assert_eq!(moved.url().path(), "/old");
    ///     assert_eq!(moved.headers()["location"], "/new");
    ///
    ///     let direct = client.get(format!("{base}/new")).send().await?;
    ///     assert!(direct.history().is_empty());
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn history(&self) -> &[Redirected] {
        &self.history
    }

    /// The exchange's bytes as they went over the wire, if the request
    /// asked with [`capture`](crate::RequestBuilder::capture).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/").capture(true).send().await?;
    /// let head = resp.capture().unwrap().response_head();
    /// # Ok(()) }
    /// ```
    pub fn capture(&self) -> Option<&Capture> {
        self.capture.as_deref()
    }

    /// The body as received so far, before content decoding (de-chunked,
    /// still gzip or br if the server sent it so), if the request asked
    /// with [`capture`](crate::RequestBuilder::capture) and the body is
    /// being decoded. A body without a content encoding to decode
    /// (none sent, or decompression off) gives `None`: its
    /// [`chunk`](Response::chunk)s are the bytes as received, and no copy
    /// is kept. Complete once `chunk` has returned `None`, or after an
    /// error when [`body_received`](Response::body_received) says so.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let mut resp = client.get("http://127.0.0.1:8080/").capture(true).send().await?;
    /// let mut body = Vec::new();
    /// while let Some(c) = resp.chunk().await? {
    ///     body.extend_from_slice(&c);
    /// }
    /// let as_sent: &[u8] = resp.raw_body().unwrap_or(&body);
    /// # Ok(()) }
    /// ```
    pub fn raw_body(&self) -> Option<&[u8]> {
        self.body.raw_copy()
    }

    /// Whether the body as sent has been received to its end, even when
    /// reading it failed afterwards (a body that could not be
    /// decompressed: with [`capture`](crate::RequestBuilder::capture), the
    /// rest is read for [`raw_body`](Response::raw_body) before the error).
    /// False while more is to come, or when the connection broke, the
    /// time ran out or the size limit was passed first: what was received
    /// is then cut short.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let mut resp = client.get("http://127.0.0.1:8080/").capture(true).send().await?;
    /// let read = loop {
    ///     match resp.chunk().await {
    ///         Ok(Some(_)) => {}
    ///         Ok(None) => break Ok(()),
    ///         Err(e) => break Err(e),
    ///     }
    /// };
    /// if read.is_err() && !resp.body_received() {
    ///     println!("the archive gets a truncated body");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn body_received(&self) -> bool {
        self.body.received()
    }

    /// The `Content-Length`, if the server sent one and the body is not
    /// being decompressed (a HEAD response keeps it, compressed or not).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.head("http://127.0.0.1:8080/file").send().await?;
    /// println!("{:?} bytes", resp.content_length());
    /// # Ok(()) }
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }

    /// The next piece of the body (decompressed), or `None` at its end.
    /// A decompressed piece is about 64 KiB at most, whatever the
    /// compression ratio. Streaming: nothing is buffered beyond the piece
    /// returned, so no
    /// size limit applies unless the request or the client set one
    /// ([`RequestBuilder::max_body_size`](crate::RequestBuilder::max_body_size)).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let mut resp = client.get("http://127.0.0.1:8080/big").send().await?;
    /// let mut total = 0;
    /// while let Some(chunk) = resp.chunk().await? {
    ///     total += chunk.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.body.chunk().await.map_err(|e| e.or_url(&self.url))
    }

    /// The whole body (decompressed), under the size limit: the request's
    /// or the client's, else [`DEFAULT_MAX_BODY_SIZE`](crate::DEFAULT_MAX_BODY_SIZE).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let body = client.get("http://127.0.0.1:8080/").send().await?.bytes().await?;
    /// # Ok(()) }
    /// ```
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        self.body.collecting();
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let mut all = BytesMut::with_capacity(first.len() + second.len());
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(c) = self.chunk().await? {
            all.extend_from_slice(&c);
        }
        Ok(all.freeze())
    }

    /// The whole body as text. The character set comes from a byte order
    /// mark, else the `charset` of `Content-Type`, else (for HTML) a
    /// `<meta charset>` tag in the first 1024 bytes, else UTF-8. Malformed
    /// bytes become U+FFFD.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let page = client.get("http://127.0.0.1:8080/").send().await?.text().await?;
    /// # Ok(()) }
    /// ```
    pub async fn text(self) -> Result<String, Error> {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.bytes().await?;
        Ok(decode::text(&body, content_type.as_deref()))
    }

    /// The whole body parsed as JSON into `T`. A UTF-8 byte order mark
    /// before it is skipped (RFC 8259 section 8.1 allows it; some .NET
    /// servers send one), as [`text`](Response::text) does. A body that
    /// is not valid JSON for `T` is an error of kind
    /// [`Body`](ErrorKind::Body).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Ip { origin: String }
    /// let ip: Ip = client.get("http://127.0.0.1:8080/ip").send().await?.json().await?;
    /// # Ok(()) }
    /// ```
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.url.clone();
        let body = self.bytes().await?;
        let json = body.strip_prefix(UTF8_BOM).unwrap_or(&body);
        serde_json::from_slice(json).map_err(|e| {
            Error::new(
                ErrorKind::Body,
                "the response body is not the JSON expected",
            )
            .with_url(&url)
            .with_source(e)
        })
    }

    /// Turns a 4xx or 5xx status into an error of kind
    /// [`Status`](ErrorKind::Status); other responses pass through.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let body = client.get("http://127.0.0.1:8080/").send().await?
    ///     .error_for_status()?
    ///     .text().await?;
    /// # Ok(()) }
    /// ```
    pub fn error_for_status(self) -> Result<Response, Error> {
        self.error_for_status_ref()?;
        Ok(self)
    }

    /// [`error_for_status`](Response::error_for_status) without giving up
    /// the response.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/").send().await?;
    /// if let Err(e) = resp.error_for_status_ref() {
    ///     eprintln!("{e}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn error_for_status_ref(&self) -> Result<&Response, Error> {
        let s = self.status;
        if s.is_client_error() || s.is_server_error() {
            let what = if s.is_client_error() {
                "client"
            } else {
                "server"
            };
            return Err(Error::new(
                ErrorKind::Status(s),
                format!("HTTP status {what} error {s}"),
            )
            .with_url(&self.url));
        }
        Ok(self)
    }
}

/// The UTF-8 byte order mark.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Whether the connection may serve another request after this response.
fn keep_alive(version: Version, headers: &HeaderMap) -> bool {
    let has = |token: &str| {
        headers.get_all(CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    match version {
        Version::HTTP_09 | Version::HTTP_10 => has("keep-alive"),
        _ => !has("close"),
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("redirects", &self.history.len())
            .finish_non_exhaustive()
    }
}
