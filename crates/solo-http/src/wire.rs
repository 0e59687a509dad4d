//! The bytes on the wire of one exchange, for archives (WARC).
//!
//! Owns: the [`Tap`] every connection's byte stream goes through, and the
//! [`Capture`] a response carries when its request asked for one
//! ([`RequestBuilder::capture`](crate::RequestBuilder::capture)). Must
//! not: change a byte, or cost anything to requests that did not ask (a
//! tap that is not armed is one `Cell` read per read or write, and one
//! `Cell` sum: the count of bytes moved, which the read timeout looks
//! at).
//!
//! Design: hyper parses the response head into a `HeaderMap` and keeps
//! no copy of the bytes (its `preserve_header_case` map is private API),
//! so the bytes are taken below hyper: the tap sits between hyper and the
//! plain or TLS stream (so it sees plaintext), and while armed it copies
//! what hyper writes (the request line, headers and body, exactly as
//! sent) and what it reads. When the response head has arrived the tap
//! is disarmed and the head is cut from the bytes read: the status line
//! and header block exactly as received (names in their case and order,
//! folded or odd spacing included), after any `1xx` interim heads.
//!
//! HTTP/2 has no such bytes (HPACK-compressed frames, many streams on one
//! connection): there the request and the head are written out from what
//! hyper was given and parsed, in their HTTP/1.1 form with lower-case
//! names (as the IIPC's "WARC Extensions for HTTP/2" say archives keep
//! them, and as replay tools such as pywb read them: an origin-form
//! request line, `host` from `:authority`, `HTTP/1.1 200 OK`), and
//! [`Capture::http2`] says so. The body before content
//! decoding (de-chunked, still gzip/br if sent so) is collected by the
//! response's body reader as it streams in.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http::{HeaderMap, StatusCode};

/// What one connection's tap copies while armed; shared by the stream
/// and the connection's pool entry.
#[derive(Default)]
pub(crate) struct Tap {
    armed: Cell<bool>,
    /// Bytes read and written so far (for the read timeout: a connection
    /// that moves bytes is not silent).
    moved: Cell<u64>,
    sent: RefCell<Vec<u8>>,
    received: RefCell<Vec<u8>>,
    /// The address connected to (the proxy's, through a proxy).
    pub(crate) peer: Option<SocketAddr>,
}

impl Tap {
    pub(crate) fn new(peer: Option<SocketAddr>) -> Rc<Tap> {
        Rc::new(Tap {
            peer,
            ..Tap::default()
        })
    }

    /// How many bytes the connection read and wrote so far.
    pub(crate) fn moved(&self) -> u64 {
        self.moved.get()
    }

    /// Starts copying (before a request is handed to hyper).
    pub(crate) fn arm(&self) {
        self.sent.borrow_mut().clear();
        self.received.borrow_mut().clear();
        self.armed.set(true);
    }

    /// Stops copying; the bytes sent, and the final response head cut
    /// from the bytes received (`None` if no complete head is there).
    pub(crate) fn take(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        self.armed.set(false);
        let sent = std::mem::take(&mut *self.sent.borrow_mut());
        let mut received = std::mem::take(&mut *self.received.borrow_mut());
        // Cut in place (no copy of the head).
        let head = final_head(&received).map(|at| {
            received.truncate(at.end);
            received.drain(..at.start);
            received
        });
        (sent, head)
    }
}

impl Tap {
    fn count(&self, moved: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = moved {
            self.moved.set(self.moved.get() + *n as u64);
        }
    }
}

/// Where the last complete non-`1xx` response head at the start of
/// `bytes` is.
fn final_head(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    loop {
        let end = start + head_end(&bytes[start..])?;
        let head = &bytes[start..end];
        let interim = head.get(9) == Some(&b'1') && head.starts_with(b"HTTP/1.");
        if !interim {
            return Some(start..end);
        }
        start = end;
    }
}

/// Where the head ends: after the empty line (CRLF CRLF, or bare LFs as
/// hyper also accepts). Line ends are found with `memchr` (a byte-by-byte
/// scan was ~1,400 instructions per response on the loop thread).
fn head_end(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', b).find_map(|nl| {
        let rest = &b[nl + 1..];
        if rest.starts_with(b"\r\n") {
            Some(nl + 3)
        } else if rest.starts_with(b"\n") {
            Some(nl + 2)
        } else {
            None
        }
    })
}

/// A connection's byte stream with its tap.
pub(crate) struct Tapped<S> {
    pub(crate) inner: S,
    pub(crate) tap: Rc<Tap>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.tap.count(&r);
        if let (true, Poll::Ready(Ok(n))) = (this.tap.armed.get(), &r) {
            this.tap.received.borrow_mut().extend_from_slice(&buf[..*n]);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.tap.count(&r);
        if let (true, Poll::Ready(Ok(n))) = (this.tap.armed.get(), &r) {
            this.tap.sent.borrow_mut().extend_from_slice(&buf[..*n]);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.tap.count(&r);
        if let (true, Poll::Ready(Ok(n))) = (this.tap.armed.get(), &r) {
            let mut left = *n;
            let mut sent = this.tap.sent.borrow_mut();
            for b in bufs {
                let take = left.min(b.len());
                sent.extend_from_slice(&b[..take]);
                left -= take;
            }
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// One exchange as it went over the wire: what a web archive (WARC)
/// keeps. Asked for with
/// [`RequestBuilder::capture`](crate::RequestBuilder::capture); read
/// from [`Response::capture`](crate::Response::capture), and the body
/// before content decoding, when it was decoded, from
/// [`Response::raw_body`](crate::Response::raw_body).
///
/// ```
/// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
/// let mut resp = client.get("http://127.0.0.1:8080/").capture(true).send().await?;
/// while resp.chunk().await?.is_some() {}
/// let c = resp.capture().unwrap();
/// assert!(c.request().starts_with(b"GET / HTTP/1.1\r\n"));
/// assert!(c.response_head().starts_with(b"HTTP/1.1 "));
/// println!("from {:?}, gzip kept: {}", c.peer_addr(), resp.raw_body().is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Capture {
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) request: Bytes,
    pub(crate) response_head: Bytes,
    pub(crate) http2: bool,
}

impl Capture {
    /// The address the connection went to (through a proxy: the proxy's).
    ///
    /// ```
    /// # fn demo(c: &solo_http::Capture) { println!("{:?}", c.peer_addr().map(|a| a.ip())); }
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The request as sent: request line, headers, empty line and body.
    /// HTTP/1.1: the bytes written to the connection. HTTP/2: written out
    /// in HTTP/1.1 form, `GET /path HTTP/1.1` with a `host` header from
    /// the authority (see [`http2`](Capture::http2)).
    ///
    /// ```
    /// # fn demo(c: &solo_http::Capture) { assert!(c.request().windows(4).any(|w| w == b"\r\n\r\n")); }
    /// ```
    pub fn request(&self) -> &Bytes {
        &self.request
    }

    /// The response's status line and header block through the empty
    /// line. HTTP/1.1: the bytes as received (header names in their case
    /// and order; `1xx` interim responses left out). HTTP/2: written out
    /// in HTTP/1.1 form, `HTTP/1.1 <code> <reason>` with the decoded
    /// headers.
    ///
    /// ```
    /// # fn demo(c: &solo_http::Capture) { assert!(c.response_head().ends_with(b"\n")); }
    /// ```
    pub fn response_head(&self) -> &Bytes {
        &self.response_head
    }

    /// True when the exchange was HTTP/2, so the request and head are
    /// written out from the decoded frames, not copied.
    ///
    /// ```
    /// # fn demo(c: &solo_http::Capture) { if c.http2() { println!("reconstructed"); } }
    /// ```
    pub fn http2(&self) -> bool {
        self.http2
    }
}

/// The HTTP/1.1 form of a request that has no wire bytes (HTTP/2), as
/// the IIPC's "WARC Extensions for HTTP/2" write it: an origin-form
/// request line (`GET /path?q HTTP/1.1`) and a `host` header from the
/// `:authority` (unless the request set one), then the headers sent and
/// the body. A body goes with a `content-length` (unless the request set
/// it or a `transfer-encoding`): HTTP/2 frames delimit it, but an
/// HTTP/1.1 message without either has no body for its readers (warcio,
/// pywb), as the HTTP/1.1 capture of the same request has one.
pub(crate) fn request_text(req: &http::Request<crate::connect::ReqBody>, body: &[u8]) -> Vec<u8> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!("{} {target} HTTP/1.1\r\n", req.method()).into_bytes();
    let host = uri
        .authority()
        .filter(|_| !req.headers().contains_key(http::header::HOST));
    if let Some(authority) = host {
        // Host and port: never userinfo.
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(authority.host().as_bytes());
        if let Some(port) = authority.port() {
            out.extend_from_slice(format!(":{port}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    let headers = req.headers();
    if !body.is_empty()
        && !headers.contains_key(http::header::CONTENT_LENGTH)
        && !headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    headers_text(&mut out, headers);
    out.extend_from_slice(body);
    out
}

/// The HTTP/1.1 form of a response head that has no wire bytes (HTTP/2):
/// `HTTP/1.1 200 OK` (the code's usual reason phrase, none for a code
/// without one), then the decoded headers.
pub(crate) fn head_text(status: StatusCode, headers: &HeaderMap) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or("");
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
    headers_text(&mut out, headers);
    out
}

fn headers_text(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h2_request(
        method: &str,
        headers: &[(&str, &str)],
    ) -> http::Request<crate::connect::ReqBody> {
        let mut b = http::Request::builder()
            .method(method)
            .uri("https://example.test:8443/form?x=1")
            .version(http::Version::HTTP_2);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(Default::default()).unwrap()
    }

    /// An HTTP/2 request with a body is written out with its length, as
    /// an HTTP/1.1 message must be for its body to be read (before, the
    /// body followed headers that gave it none: length zero to warcio).
    #[test]
    fn an_http2_request_with_a_body_is_written_out_with_its_length() {
        let req = h2_request(
            "POST",
            &[("content-type", "application/x-www-form-urlencoded")],
        );
        let text = request_text(&req, b"a=1&b=2");
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "POST /form?x=1 HTTP/1.1\r\nhost: example.test:8443\r\ncontent-length: 7\r\n\
             content-type: application/x-www-form-urlencoded\r\n\r\na=1&b=2"
        );
        // A length the request set is kept, not said twice; a bodiless
        // request gets none.
        for (req, body, want) in [
            (
                h2_request("POST", &[("content-length", "7")]),
                &b"a=1&b=2"[..],
                1,
            ),
            (h2_request("POST", &[("content-length", "0")]), &b""[..], 1),
            (h2_request("GET", &[]), &b""[..], 0),
        ] {
            let text = String::from_utf8(request_text(&req, body)).unwrap();
            assert_eq!(text.matches("content-length").count(), want, "{text}");
        }
    }

    #[test]
    fn the_final_head_skips_interim_ones_and_stops_at_the_body() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody";
        assert_eq!(
            &wire[final_head(wire).unwrap()],
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n"
        );
        let bare = b"HTTP/1.1 204 No\n\nrest";
        assert_eq!(&bare[final_head(bare).unwrap()], b"HTTP/1.1 204 No\n\n");
        assert!(final_head(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n").is_none());
    }
}
