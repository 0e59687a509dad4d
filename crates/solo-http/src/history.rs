//! The redirects that led to a response, like httpx's
//! `Response.history` and aiohttp's `resp.history`.
//!
//! Owns: [`Redirected`], what is kept of one redirect response that was
//! followed: the URL it answered, the method of that request, its status,
//! version and headers. Must not: keep a body (a redirect's body is read
//! and dropped so its connection can serve the next hop, see `send`), or
//! cost anything to a request that was not redirected: the history is a
//! `Vec` that stays empty, and an empty `Vec` allocates nothing.
//!
//! Design: `send`'s redirect loop takes each redirect response's head
//! (its headers moved out, not copied) before draining its body, and
//! hands the list, oldest first, to the final [`Response`](crate::Response).

use std::fmt;

use http::{HeaderMap, Method, StatusCode, Version};
use url::Url;

/// One redirect response that was followed on the way to a
/// [`Response`](crate::Response): see
/// [`Response::history`](crate::Response::history). Its head only: the
/// body of a redirect is read and dropped, never kept.
///
/// ```
/// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
/// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
/// for hop in resp.history() {
///     println!("{} {} -> {:?}", hop.status(), hop.url(), hop.headers().get("location"));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Redirected {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

impl Redirected {
    /// The URL of the request this redirect answered.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
    /// if let Some(first) = resp.history().first() {
    ///     assert_eq!(first.url().path(), "/old");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The method of the request this redirect answered (a POST answered
    /// by a 303 is followed by a GET: the POST is here, the GET in the
    /// next hop).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.post("http://127.0.0.1:8080/form").body("a=1").send().await?;
    /// let methods: Vec<_> = resp.history().iter().map(|h| h.method().clone()).collect();
    /// # Ok(()) }
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The redirect's status (301, 302, 303, 307 or 308).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
    /// let permanent = resp.history().iter().all(|h| h.status() == 301 || h.status() == 308);
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the redirect came with.
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
    /// let h2 = resp.history().iter().any(|h| h.version() == http::Version::HTTP_2);
    /// # Ok(()) }
    /// ```
    pub fn version(&self) -> Version {
        self.version
    }

    /// The redirect's headers as received (`Location`, `Set-Cookie`...).
    ///
    /// ```
    /// # async fn demo(client: solo_http::Client) -> Result<(), solo_http::Error> {
    /// let resp = client.get("http://127.0.0.1:8080/old").send().await?;
    /// let locations: Vec<_> = resp.history().iter().filter_map(|h| h.headers().get("location")).collect();
    /// # Ok(()) }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl fmt::Debug for Redirected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redirected")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}
