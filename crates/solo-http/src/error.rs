//! One error type for everything a request can run into.
//!
//! Design: callers branch on [`Error::kind`], a small `Copy` enum that says
//! *what went wrong* (could not connect, timed out in which phase, TLS,
//! redirects, a status the caller asked to treat as an error, the body,
//! the size limit, the URL or request as built, DNS). The details stay
//! inside: [`Error::url`] is the URL the error concerns (after redirects,
//! the hop that failed), `Display` is one line meant for a person (it ends
//! with the underlying cause, if any), and
//! [`source`](std::error::Error::source) gives the underlying error
//! (`std::io::Error`, `hyper::Error`, `rustls::Error`, ...) for
//! downcasting.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use url::Url;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The phase of a request in which a time limit ran out.
///
/// ```
/// use solo_http::{ErrorKind, Phase};
/// let k = ErrorKind::Timeout(Phase::Read);
/// assert!(matches!(k, ErrorKind::Timeout(Phase::Read)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the connection: DNS, TCP, proxy tunnel, TLS
    /// ([`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout)).
    Connect,
    /// Waiting for the server: for the response head once the request
    /// is sent, or for the next piece of the body
    /// ([`ClientBuilder::read_timeout`](crate::ClientBuilder::read_timeout)).
    Read,
    /// The whole request, body included
    /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout),
    /// [`RequestBuilder::timeout`](crate::RequestBuilder::timeout)).
    Total,
    /// Waiting for a free connection to the host, all of those
    /// [`max_connections_per_host`](crate::ClientBuilder::max_connections_per_host)
    /// allows being in use
    /// ([`ClientBuilder::pool_timeout`](crate::ClientBuilder::pool_timeout)).
    Pool,
}

/// What kind of failure an [`Error`] is.
///
/// ```
/// use solo_http::ErrorKind;
/// solo::run(async {
///     let err = solo_http::Client::new().get("not a url").send().await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::InvalidUrl);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection could not be opened, or it failed or closed before
    /// a response head arrived (refused, reset, closed early, or a proxy
    /// that could not reach the target: a 5xx answer to `CONNECT`; its
    /// own refusals are [`Proxy`](ErrorKind::Proxy)).
    Connect,
    /// A time limit ran out, in the given phase.
    Timeout(Phase),
    /// The TLS handshake failed (invalid or untrusted certificate, no
    /// common protocol), or the TLS settings could not be built.
    Tls,
    /// A redirect could not be followed: too many, a loop, a `Location`
    /// that is not a valid URL, or one to a scheme other than http(s).
    Redirect,
    /// The server answered with this error status, and the caller asked
    /// for that to be an error ([`Response::error_for_status`](crate::Response::error_for_status)).
    Status(StatusCode),
    /// Reading or decoding the body failed (reset or truncated mid-body,
    /// corrupt compressed data, JSON that does not match), or a request
    /// body could not be serialized.
    Body,
    /// The body is larger than the limit
    /// ([`ClientBuilder::max_body_size`](crate::ClientBuilder::max_body_size),
    /// [`RequestBuilder::max_body_size`](crate::RequestBuilder::max_body_size)),
    /// counted both as received and as decompressed; or the response
    /// head is larger than the client takes (about 400 KiB, HTTP/1.1 and
    /// HTTP/2 alike).
    TooLarge,
    /// The request as built is invalid: a URL that does not parse or is
    /// not http(s), or an invalid header name or value or method.
    InvalidUrl,
    /// The host name could not be resolved.
    Dns,
    /// The client's [`AddressPolicy`](crate::AddressPolicy) refused every
    /// address of the host (after DNS, for this connection); the message
    /// names the address and the rule. Trying again does not help.
    ///
    /// ```
    /// use solo_http::{AddressPolicy, ErrorKind};
    /// solo::run(async {
    ///     let client = solo_http::Client::builder()
    ///         .address_policy(AddressPolicy::public_only())
    ///         .build()
    ///         .unwrap();
    ///     // Refused before any packet is sent.
    ///     let err = client.get("http://127.0.0.1:1/").send().await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::BlockedAddress);
    ///     assert!(err.to_string().contains("127.0.0.1 is in 127.0.0.0/8 (loopback)"), "{err}");
    /// });
    /// ```
    BlockedAddress,
    /// The proxy refused to carry the request: it answered `CONNECT` with
    /// a 4xx status (407: it wants credentials, or not these; 403: its
    /// rules forbid the target), or answered a forwarded request with
    /// 407. Trying again the same way does not help: check the proxy URL
    /// and its credentials. A proxy that could not reach the target (a
    /// 5xx answer to `CONNECT`) is [`Connect`](ErrorKind::Connect).
    Proxy,
}

/// The error of every fallible operation in this crate.
///
/// ```
/// use solo_http::ErrorKind;
/// solo::run(async {
///     // Nothing listens on port 1: refused.
///     let err = solo_http::Client::new().get("http://127.0.0.1:1/").send().await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::Connect);
///     assert_eq!(err.url().unwrap().as_str(), "http://127.0.0.1:1/");
///     assert!(err.to_string().starts_with("cannot connect to 127.0.0.1:1"));
///     let io: &std::io::Error = std::error::Error::source(&err).unwrap().downcast_ref().unwrap();
///     assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
/// });
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    url: Option<Url>,
    message: String,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                url: None,
                message: message.into(),
                source: None,
            }),
        }
    }

    pub(crate) fn with_url(mut self, url: &Url) -> Error {
        self.inner.url = Some(url.clone());
        self
    }

    /// Sets the URL unless one is set already.
    pub(crate) fn or_url(self, url: &Url) -> Error {
        match self.inner.url {
            Some(_) => self,
            None => self.with_url(url),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn timeout(phase: Phase, after: Duration) -> Error {
        let msg = match phase {
            Phase::Connect => format!("timed out after {after:?} connecting"),
            Phase::Read => format!("timed out after {after:?} waiting for the server to send data"),
            Phase::Total => {
                format!("timed out: the request took longer than its total time limit of {after:?}")
            }
            Phase::Pool => format!("timed out after {after:?} waiting for a free connection"),
        };
        Error::new(ErrorKind::Timeout(phase), msg)
    }

    /// No connection to `host` came free within `after`: the `limit` of
    /// `max_connections_per_host` were all in use.
    pub(crate) fn pool_timeout(after: Duration, limit: usize, host: &dyn fmt::Display) -> Error {
        Error::new(
            ErrorKind::Timeout(Phase::Pool),
            format!(
                "timed out after {after:?} waiting for a free connection to {host}: \
                 max_connections_per_host allows {limit} and all are in use, by requests \
                 or by responses whose body has not been read to its end; read or drop \
                 those responses, or raise max_connections_per_host or pool_timeout"
            ),
        )
    }

    pub(crate) fn too_large(limit: u64) -> Error {
        Error::new(
            ErrorKind::TooLarge,
            format!(
                "response body is larger than the limit of {limit} bytes \
                 (RequestBuilder::max_body_size sets another for a request)"
            ),
        )
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// use solo_http::{ErrorKind, Phase};
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/", l.local_addr().unwrap());
    ///     let _server = solo::spawn(async move { let _conn = l.accept().await; solo::sleep(Duration::from_secs(5)).await });
    ///     let client = solo_http::Client::builder().read_timeout(Duration::from_millis(50)).build().unwrap();
    ///     let err = client.get(&url).send().await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Read));
    /// });
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The URL the error concerns, when there is one (the hop that failed,
    /// after redirects).
    ///
    /// ```
    /// solo::run(async {
    ///     let err = solo_http::Client::new().get("ftp://example.com/").send().await.unwrap_err();
    ///     assert_eq!(err.url().map(|u| u.scheme()), Some("ftp"));
    /// });
    /// ```
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// True for [`ErrorKind::Timeout`] in any phase.
    ///
    /// ```
    /// solo::run(async {
    ///     let err = solo_http::Client::new().get("bad").send().await.unwrap_err();
    ///     assert!(!err.is_timeout());
    /// });
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout(_))
    }

    /// The status for [`ErrorKind::Status`].
    ///
    /// ```
    /// solo::run(async {
    ///     let err = solo_http::Client::new().get("bad").send().await.unwrap_err();
    ///     assert_eq!(err.status(), None);
    /// });
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self.inner.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(url) = &self.inner.url {
            if !self.inner.message.contains(url.as_str()) {
                write!(f, " ({url})")?;
            }
        }
        // The causes, on the same line: "what: why: why deeper".
        // Some errors repeat their source in their own text: said once.
        let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        let mut said = String::new();
        while let Some(c) = cause {
            let text = c.to_string();
            let text = text.lines().next().unwrap_or_default();
            if !text.is_empty() && !said.contains(text) {
                write!(f, ": {text}")?;
                said = text.to_owned();
            }
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("solo_http::Error");
        d.field("kind", &self.inner.kind);
        if let Some(url) = &self.inner.url {
            d.field("url", &url.as_str());
        }
        d.field("message", &self.inner.message);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_url_and_cause() {
        let url = Url::parse("http://example.com/x").unwrap();
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused\nmore");
        let e = Error::new(ErrorKind::Connect, "cannot connect to example.com:80")
            .with_url(&url)
            .with_source(io);
        assert_eq!(
            e.to_string(),
            "cannot connect to example.com:80 (http://example.com/x): refused"
        );
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.kind(), ErrorKind::Connect);
    }

    #[test]
    fn timeouts_say_their_phase() {
        let e = Error::timeout(Phase::Total, Duration::from_secs(2));
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Total));
        assert!(e.to_string().contains("total time limit of 2s"));
        assert!(Error::timeout(Phase::Connect, Duration::from_millis(5))
            .to_string()
            .contains("connecting"));
        let e = Error::pool_timeout(Duration::from_secs(30), 1, &"example.com:443");
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Pool));
        let msg = e.to_string();
        assert!(
            msg.contains("a free connection to example.com:443"),
            "{msg}"
        );
        assert!(msg.contains("max_connections_per_host allows 1"), "{msg}");
    }

    #[test]
    fn error_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}
