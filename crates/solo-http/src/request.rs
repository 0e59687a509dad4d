//! Building a request: [`RequestBuilder`].
//!
//! Design: every method takes and returns the builder by value, so calls
//! chain, and none of them can fail or panic: an invalid URL, header name
//! or value, or a body that cannot be serialized is remembered and
//! returned as the error of [`send`](RequestBuilder::send). The first
//! such mistake wins. Bodies are held whole in memory ([`Bytes`]), which
//! lets the client send them again on a retry or a 307/308 redirect.
//!
//! Credentials: [`basic_auth`](RequestBuilder::basic_auth),
//! [`bearer_auth`](RequestBuilder::bearer_auth) and `Authorization`
//! headers are marked sensitive, so `Debug` never prints them. A user and
//! password in the URL are taken out of it at send (see `send`).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::Method;
use serde::Serialize;
use url::Url;

use crate::auth;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::response::Response;

/// What the request methods accept as a URL: `&str`, `String`, `&String`,
/// `Url` or `&Url`. Parsing happens when the request is sent.
///
/// ```
/// use solo_http::IntoUrl;
/// let u = url::Url::parse("http://example.com/").unwrap();
/// assert_eq!(u.clone().into_url().unwrap(), u);
/// assert!("http://example.com/a b".into_url().is_ok());
/// assert!("no scheme".into_url().is_err());
/// ```
pub trait IntoUrl {
    /// Parses or converts into a [`Url`]; errors are of kind
    /// [`InvalidUrl`](ErrorKind::InvalidUrl).
    fn into_url(self) -> Result<Url, Error>;
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Error> {
        Ok(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, Error> {
        Ok(self.clone())
    }
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Error> {
        Url::parse(self).map_err(|e| {
            let shown = auth::redact(self);
            Error::new(ErrorKind::InvalidUrl, format!("invalid URL {shown:?}")).with_source(e)
        })
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

/// A request being built; [`send`](RequestBuilder::send) sends it.
/// Made by [`Client::get`] and its siblings.
///
/// ```
/// # async fn demo() -> Result<(), solo_http::Error> {
/// let client = solo_http::Client::new();
/// let resp = client
///     .post("http://127.0.0.1:8080/items")
///     .header("x-request-id", "42")
///     .query(&[("page", "2")])
///     .json(&serde_json::json!({ "name": "solo" }))
///     .timeout(std::time::Duration::from_secs(5))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    pub(crate) client: Client,
    pub(crate) method: Method,
    pub(crate) url: Result<Url, Error>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) capture: bool,
    pub(crate) max_body_size: Option<u64>,
    /// Decode the body or not, over the client's setting.
    pub(crate) decompress: Option<bool>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: Result<Url, Error>) -> RequestBuilder {
        RequestBuilder {
            client,
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            capture: false,
            max_body_size: None,
            decompress: None,
        }
    }

    fn fail(mut self, err: Error) -> RequestBuilder {
        if self.url.is_ok() {
            self.url = Err(err);
        }
        self
    }

    /// Adds a header (after the client's default headers, replacing any of
    /// theirs with the same name; calling it twice with one name sends
    /// both values). An invalid name or value is an error at send.
    ///
    /// ```
    /// solo::run(async {
    ///     let client = solo_http::Client::new();
    ///     let err = client.get("http://127.0.0.1:1/").header("x-ok", "bad\nvalue").send().await.unwrap_err();
    ///     assert_eq!(err.kind(), solo_http::ErrorKind::InvalidUrl);
    /// });
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        let name = match HeaderName::try_from(name) {
            Ok(n) => n,
            Err(e) => return self.fail(invalid("invalid header name", e.into())),
        };
        match HeaderValue::try_from(value) {
            Ok(mut v) => {
                auth::protect(&name, &mut v);
                self.headers.append(name, v);
                self
            }
            Err(e) => {
                let msg = format!("invalid value for header '{name}'");
                self.fail(invalid(&msg, e.into()))
            }
        }
    }

    /// Logs in with HTTP Basic authentication (RFC 7617): sets
    /// `Authorization: Basic base64(user:password)`, replacing any
    /// `Authorization` set before; no password sends `user:`.
    ///
    /// A user and password in the URL (`http://user:pass@host/`) do the
    /// same, unless the request sets its own `Authorization`. Either way
    /// the header is dropped when a redirect leads to another origin
    /// (scheme, host or port), and it is never printed: `Debug` shows
    /// `Sensitive`.
    ///
    /// ```
    /// let _req = solo_http::Client::new()
    ///     .get("http://127.0.0.1:8080/private")
    ///     .basic_auth("ada", Some("secret"));
    /// let _no_password = solo_http::Client::new()
    ///     .get("http://127.0.0.1:8080/private")
    ///     .basic_auth("api-key", None::<&str>);
    /// ```
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        mut self,
        user: U,
        password: Option<P>,
    ) -> RequestBuilder {
        self.headers
            .insert(AUTHORIZATION, auth::basic(user, password));
        self
    }

    /// Sends a bearer token (RFC 6750, OAuth 2.0): sets `Authorization:
    /// Bearer <token>`, replacing any `Authorization` set before. Like
    /// [`basic_auth`](RequestBuilder::basic_auth), it is dropped on a
    /// redirect to another origin and never printed. A token with a line
    /// break is an error at send (which does not quote the token).
    ///
    /// ```
    /// solo::run(async {
    ///     let client = solo_http::Client::new();
    ///     let _req = client.get("http://127.0.0.1:8080/api").bearer_auth("tok3n");
    ///     let err = client.get("http://127.0.0.1:1/").bearer_auth("a\nb").send().await.unwrap_err();
    ///     assert_eq!(err.kind(), solo_http::ErrorKind::InvalidUrl);
    /// });
    /// ```
    pub fn bearer_auth<T: fmt::Display>(mut self, token: T) -> RequestBuilder {
        match auth::bearer(token) {
            Ok(v) => {
                self.headers.insert(AUTHORIZATION, v);
                self
            }
            Err(e) => self.fail(invalid("invalid bearer token", e.into())),
        }
    }

    /// Adds all of `headers`; each name given replaces the values the
    /// request already had for it.
    ///
    /// ```
    /// let mut h = http::HeaderMap::new();
    /// h.insert("accept", "text/html".parse().unwrap());
    /// let _req = solo_http::Client::new().get("http://example.com/").headers(h);
    /// ```
    pub fn headers(mut self, headers: HeaderMap) -> RequestBuilder {
        let mut last = None;
        for (name, mut value) in headers {
            if let Some(n) = name.as_ref().or(last.as_ref()) {
                auth::protect(n, &mut value);
            }
            match name {
                Some(n) => {
                    self.headers.insert(n.clone(), value);
                    last = Some(n);
                }
                None => {
                    if let Some(n) = &last {
                        self.headers.append(n.clone(), value);
                    }
                }
            }
        }
        self
    }

    /// Appends query parameters, serialized with `serde_urlencoded` (a
    /// slice of pairs, a map, or a struct).
    ///
    /// ```
    /// let _req = solo_http::Client::new()
    ///     .get("http://example.com/search")
    ///     .query(&[("q", "solo runtime"), ("page", "1")]);
    /// ```
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> RequestBuilder {
        let encoded = match serde_urlencoded::to_string(query) {
            Ok(q) => q,
            Err(e) => {
                let err =
                    Error::new(ErrorKind::InvalidUrl, "the query cannot be encoded").with_source(e);
                return self.fail(err);
            }
        };
        if let Ok(url) = &mut self.url {
            if !encoded.is_empty() {
                let q = match url.query() {
                    Some(old) if !old.is_empty() => format!("{old}&{encoded}"),
                    _ => encoded,
                };
                url.set_query(Some(&q));
            }
        }
        self
    }

    /// Sets the body.
    ///
    /// ```
    /// let _req = solo_http::Client::new().put("http://example.com/file").body("contents");
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> RequestBuilder {
        self.body = Some(body.into());
        self
    }

    /// Sets a form body (`application/x-www-form-urlencoded`).
    ///
    /// ```
    /// let _req = solo_http::Client::new()
    ///     .post("http://example.com/login")
    ///     .form(&[("user", "ada"), ("pass", "secret")]);
    /// ```
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> RequestBuilder {
        match serde_urlencoded::to_string(form) {
            Ok(body) => self.typed_body(body.into(), "application/x-www-form-urlencoded"),
            Err(e) => {
                self.fail(Error::new(ErrorKind::Body, "the form cannot be encoded").with_source(e))
            }
        }
    }

    /// Sets a JSON body (`application/json`).
    ///
    /// ```
    /// let _req = solo_http::Client::new()
    ///     .post("http://example.com/items")
    ///     .json(&serde_json::json!({ "id": 1 }));
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> RequestBuilder {
        match serde_json::to_vec(json) {
            Ok(body) => self.typed_body(body.into(), "application/json"),
            Err(e) => self.fail(
                Error::new(ErrorKind::Body, "the JSON body cannot be encoded").with_source(e),
            ),
        }
    }

    /// Sets a `multipart/form-data` body (file uploads, and forms whose
    /// `enctype` asks for it). Its `Content-Type`, which names the
    /// boundary, replaces any set before.
    ///
    /// ```
    /// use solo_http::multipart::{Form, Part};
    ///
    /// let form = Form::new()
    ///     .text("title", "Report")
    ///     .part("file", Part::bytes(&b"a,b\n1,2\n"[..]).file_name("data.csv"));
    /// let _req = solo_http::Client::new().post("http://example.com/upload").multipart(&form);
    /// ```
    pub fn multipart(mut self, form: &crate::multipart::Form) -> RequestBuilder {
        let (content_type, body) = form.encode();
        match HeaderValue::try_from(content_type) {
            Ok(v) => {
                self.headers.insert(CONTENT_TYPE, v);
                self.body = Some(body);
                self
            }
            Err(e) => self.fail(
                Error::new(ErrorKind::Body, "the multipart Content-Type cannot be sent")
                    .with_source(e),
            ),
        }
    }

    fn typed_body(mut self, body: Bytes, content_type: &'static str) -> RequestBuilder {
        if !self.headers.contains_key(CONTENT_TYPE) {
            self.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        self.body = Some(body);
        self
    }

    /// The total time limit of this request, body included (instead of the
    /// client's [`timeout`](crate::ClientBuilder::timeout)).
    ///
    /// ```
    /// let _req = solo_http::Client::new()
    ///     .get("http://example.com/")
    ///     .timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> RequestBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The largest body accepted for this request's response, however it
    /// is read (instead of the client's
    /// [`max_body_size`](crate::ClientBuilder::max_body_size)): a larger
    /// one fails with [`ErrorKind::TooLarge`] as soon as it passes the
    /// limit. Use it to collect one large body with
    /// [`Response::bytes`], or to cap a streamed download.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let iso = client
    ///     .get("http://127.0.0.1:8080/debian.iso")
    ///     .max_body_size(1 << 30)
    ///     .send()
    ///     .await?
    ///     .bytes()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn max_body_size(mut self, bytes: u64) -> RequestBuilder {
        self.max_body_size = Some(bytes);
        self
    }

    /// Keeps the exchange's bytes as they went over the wire, for a web
    /// archive: the request as sent, the response head as received, the
    /// peer address ([`Response::capture`]) and the body before content
    /// decoding when it is decoded ([`Response::raw_body`]). Off by
    /// default: a request that
    /// does not ask copies nothing. With redirects followed, the capture
    /// is of the last hop.
    ///
    /// ```
    /// let _req = solo_http::Client::new().get("http://example.com/").capture(true);
    /// ```
    pub fn capture(mut self, on: bool) -> RequestBuilder {
        self.capture = on;
        self
    }

    /// Whether this response's body is decoded, over the client's
    /// [`decompress`](crate::ClientBuilder::decompress). `false` gives the
    /// body as sent, still gzip, br or zstd, with its `Content-Encoding`
    /// and `Content-Length`, like httpx's `iter_raw` and aiohttp's
    /// `auto_decompress=False`: for a `206` part of a compressed
    /// resource (which does not decode on its own), or to store a body
    /// as it came. The request still sends the client's
    /// `Accept-Encoding`, so a server may compress (set
    /// `Accept-Encoding: identity` to ask it not to). `true` decodes the
    /// body even when the client does not, or when the request sets its
    /// own `Accept-Encoding`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Write;
    /// solo::run(async {
    ///     // A server that sends a gzip body to every request.
    ///     let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    ///     gz.write_all(b"hello, hello")?;
    ///     let gzipped = gz.finish()?;
    ///     let listener = solo::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let url = format!("http://{}/", listener.local_addr()?);
    ///     let body = gzipped.clone();
    ///     solo::spawn(async move {
    ///         while let Ok((s, _)) = listener.accept().await {
    ///             let _ = s.read(&mut [0; 4096]).await;
    ///             let head = format!("HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\n\
    ///                                 content-length: {}\r\nconnection: close\r\n\r\n", body.len());
    ///             let _ = s.write_all(head.as_bytes()).await;
    ///             let _ = s.write_all(&body).await;
    ///         }
    ///     });
    ///
    ///     let client = solo_http::Client::new();
    ///     let raw = client.get(&url).decompress(false).send().await?;
    ///     assert_eq!(raw.headers()["content-encoding"], "gzip");
    ///     assert_eq!(raw.bytes().await?, gzipped);
    ///     let decoded = client.get(&url).send().await?;
    ///     assert_eq!(decoded.text().await?, "hello, hello");
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn decompress(mut self, on: bool) -> RequestBuilder {
        self.decompress = Some(on);
        self
    }

    /// Sends the request and waits for the response head; the body is read
    /// later, from the [`Response`]. Redirects are followed first.
    ///
    /// ```
    /// solo::run(async {
    ///     let err = solo_http::Client::new().get("http://no-such-host.invalid/").send().await.unwrap_err();
    ///     assert_eq!(err.kind(), solo_http::ErrorKind::Dns);
    /// });
    /// ```
    pub async fn send(self) -> Result<Response, Error> {
        let client = self.client.clone();
        client.execute(self).await
    }
}

fn invalid(what: &str, e: http::Error) -> Error {
    Error::new(ErrorKind::InvalidUrl, what).with_source(e)
}
