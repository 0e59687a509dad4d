//! Following redirects: what the next hop is, or why there is none.
//!
//! Design: a pure decision, separate from the I/O. Given a response's
//! status and `Location`, the request that got it and the hops so far,
//! [`Redirects::next`] says whether to follow, where, with which method,
//! and with or without the body and the credentials. The rules:
//!
//! - 301, 302 and 303 change the method to GET (HEAD stays HEAD) and drop
//!   the body; 307 and 308 keep both. Other statuses are not redirects.
//! - A missing `Location` means the response is the answer. One that is
//!   not a valid URL, or whose scheme is not http(s) (`file:`, `ftp:`,
//!   `javascript:`...), is an error: never followed.
//! - At most `limit` redirects are followed; one more is an error. A
//!   redirect to a (method, URL) already visited in this chain is a loop:
//!   an error right away rather than a walk up to the limit.
//! - When the origin (scheme, host or port) changes, `Authorization`,
//!   `Proxy-Authorization` and `Cookie` headers set on the request are
//!   dropped (cookies from the jar are added again per host).

use std::collections::HashSet;

use http::header::{
    HeaderMap, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{Method, StatusCode};
use url::Url;

use crate::error::{Error, ErrorKind};

/// The request being sent, hop after hop.
pub(crate) struct Hop {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<bytes::Bytes>,
}

/// The state of one chain of redirects.
pub(crate) struct Redirects {
    limit: usize,
    followed: usize,
    seen: HashSet<(Method, Url)>,
}

impl Redirects {
    pub(crate) fn new(limit: usize, first: &Hop) -> Redirects {
        let mut seen = HashSet::new();
        seen.insert((first.method.clone(), first.url.clone()));
        Redirects {
            limit,
            followed: 0,
            seen,
        }
    }

    /// Whether following is on at all (a limit of 0 turns it off).
    pub(crate) fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// If `status` and `headers` redirect `hop`, turns `hop` into the next
    /// request and returns true.
    pub(crate) fn next(
        &mut self,
        hop: &mut Hop,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<bool, Error> {
        let (method, keep_body) = match status.as_u16() {
            301..=303 if hop.method == Method::HEAD => (Method::HEAD, false),
            301..=303 => (Method::GET, false),
            307 | 308 => (hop.method.clone(), true),
            _ => return Ok(false),
        };
        let Some(location) = headers.get(LOCATION) else {
            return Ok(false);
        };
        let fail = |msg: String| Error::new(ErrorKind::Redirect, msg).with_url(&hop.url);
        let target = std::str::from_utf8(location.as_bytes())
            .ok()
            .and_then(|l| hop.url.join(l.trim()).ok())
            .ok_or_else(|| {
                fail(format!(
                    "the server redirected to an invalid Location {:?}",
                    String::from_utf8_lossy(location.as_bytes())
                ))
            })?;
        if !matches!(target.scheme(), "http" | "https") || target.host_str().is_none() {
            return Err(fail(format!(
                "refusing to follow a redirect to {target}: only http and https URLs are followed"
            )));
        }
        if self.followed >= self.limit {
            return Err(fail(format!(
                "too many redirects: stopped after {} (the limit)",
                self.limit
            )));
        }
        if !self.seen.insert((method.clone(), target.clone())) {
            return Err(fail(format!(
                "redirect loop: {target} was already visited in this chain"
            )));
        }
        self.followed += 1;
        if !same_origin(&hop.url, &target) {
            for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
                hop.headers.remove(name);
            }
        }
        if !keep_body {
            hop.body = None;
            for name in [
                CONTENT_TYPE,
                CONTENT_LENGTH,
                CONTENT_ENCODING,
                TRANSFER_ENCODING,
            ] {
                hop.headers.remove(name);
            }
        }
        hop.method = method;
        hop.url = target;
        Ok(true)
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn hop(method: Method, url: &str) -> Hop {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Hop {
            method,
            url: Url::parse(url).unwrap(),
            headers,
            body: Some(bytes::Bytes::from_static(b"data")),
        }
    }

    fn to(location: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(LOCATION, HeaderValue::from_str(location).unwrap());
        h
    }

    #[test]
    fn see_other_becomes_get_without_body() {
        let mut h = hop(Method::POST, "http://a.test/form");
        let mut r = Redirects::new(10, &h);
        assert!(r.next(&mut h, StatusCode::SEE_OTHER, &to("/done")).unwrap());
        assert_eq!(h.method, Method::GET);
        assert_eq!(h.url.as_str(), "http://a.test/done");
        assert!(h.body.is_none());
        assert!(h.headers.get(CONTENT_TYPE).is_none());
        assert!(
            h.headers.get(AUTHORIZATION).is_some(),
            "same host keeps credentials"
        );
    }

    #[test]
    fn temporary_redirect_keeps_method_and_body_and_head_stays_head() {
        let mut h = hop(Method::PUT, "http://a.test/x");
        let mut r = Redirects::new(10, &h);
        assert!(r
            .next(&mut h, StatusCode::PERMANENT_REDIRECT, &to("y"))
            .unwrap());
        assert_eq!(
            (h.method.clone(), h.url.as_str()),
            (Method::PUT, "http://a.test/y")
        );
        assert!(h.body.is_some());
        let mut h = hop(Method::HEAD, "http://a.test/x");
        let mut r = Redirects::new(10, &h);
        assert!(r.next(&mut h, StatusCode::FOUND, &to("/z")).unwrap());
        assert_eq!(h.method, Method::HEAD);
    }

    #[test]
    fn credentials_are_dropped_across_origins() {
        let mut h = hop(Method::GET, "http://a.test/x");
        h.headers.insert(COOKIE, HeaderValue::from_static("s=1"));
        let mut r = Redirects::new(10, &h);
        assert!(r
            .next(&mut h, StatusCode::FOUND, &to("http://a.test:8080/"))
            .unwrap());
        assert!(h.headers.get(AUTHORIZATION).is_none());
        assert!(h.headers.get(COOKIE).is_none());
    }

    #[test]
    fn bad_targets_limits_and_loops_are_errors() {
        let mut h = hop(Method::GET, "http://a.test/x");
        let mut r = Redirects::new(10, &h);
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("file:///etc/passwd"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);
        assert!(e.to_string().contains("file:///etc/passwd"));
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("http://[::1"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);

        let mut r = Redirects::new(10, &h);
        assert!(r.next(&mut h, StatusCode::FOUND, &to("/y")).unwrap());
        let e = r.next(&mut h, StatusCode::FOUND, &to("/x")).unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");

        let mut h = hop(Method::GET, "http://a.test/0");
        let mut r = Redirects::new(2, &h);
        assert!(r.next(&mut h, StatusCode::FOUND, &to("/1")).unwrap());
        assert!(r.next(&mut h, StatusCode::FOUND, &to("/2")).unwrap());
        let e = r.next(&mut h, StatusCode::FOUND, &to("/3")).unwrap_err();
        assert!(e.to_string().contains("too many"), "{e}");
    }

    #[test]
    fn not_a_redirect() {
        let mut h = hop(Method::GET, "http://a.test/x");
        let mut r = Redirects::new(10, &h);
        assert!(!r.next(&mut h, StatusCode::OK, &to("/y")).unwrap());
        assert!(!r
            .next(&mut h, StatusCode::FOUND, &HeaderMap::new())
            .unwrap());
        assert!(!r.next(&mut h, StatusCode::NOT_MODIFIED, &to("/y")).unwrap());
    }
}
