//! Following redirects: what the next hop is, or why there is none.
//!
//! Design: a pure decision, separate from the I/O. Given a response's
//! status and `Location`, the request that got it and the hops so far,
//! [`Redirects::next`] says whether to follow, where, with which method,
//! and with or without the body and the credentials. The rules:
//!
//! - The method, as RFC 9110 section 15.4 has it: 301 and 302 turn a
//!   POST into a GET without its body and keep any other method with its
//!   body; 303 turns every method but HEAD into a GET without a body; 307
//!   and 308 keep the method and the body. Other statuses are not
//!   redirects. Request bodies are always held in memory (`Bytes`), so a
//!   kept body can always be sent again.
//! - A missing `Location` means the response is the answer. One that is
//!   not a valid URL, or whose scheme is not http(s) (`file:`, `ftp:`,
//!   `javascript:`...), is an error: never followed.
//! - At most `limit` redirects are followed; one more is an error. A
//!   redirect to a request already sent in this chain (same method, URL
//!   and cookies from the jar) is a loop: an error right away rather than
//!   a walk up to the limit. One whose cookies changed is followed (the
//!   "set a cookie and redirect to yourself" check many sites do).
//! - When the origin (scheme, host or port) changes, `Authorization`,
//!   `Proxy-Authorization` and `Cookie` headers set on the request are
//!   dropped, the client's default headers included (`send` merges them
//!   into the request before the first hop); cookies from the jar are
//!   added again per host. A user and
//!   password in the `Location` are taken out of it and not used (as
//!   Python's requests does), and never quoted in an error.

use std::collections::HashSet;

use http::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE,
    LOCATION, PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{Method, StatusCode};
use url::Url;

use crate::auth;
use crate::error::{Error, ErrorKind};

/// The request being sent, hop after hop.
pub(crate) struct Hop {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<bytes::Bytes>,
}

/// The cookies the jar has for a URL (`None`: none, or no jar).
pub(crate) type Cookies<'a> = &'a dyn Fn(&Url) -> Option<HeaderValue>;

/// The state of one chain of redirects.
pub(crate) struct Redirects {
    limit: usize,
    followed: usize,
    /// The requests sent: method, URL and the jar's cookies for it.
    seen: HashSet<(Method, Url, Option<HeaderValue>)>,
}

impl Redirects {
    pub(crate) fn new(limit: usize, first: &Hop, cookies: Cookies<'_>) -> Redirects {
        let mut seen = HashSet::new();
        seen.insert((first.method.clone(), first.url.clone(), cookies(&first.url)));
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
    /// request and returns true. `cookies` are the jar's, with what the
    /// response set already in it.
    pub(crate) fn next(
        &mut self,
        hop: &mut Hop,
        status: StatusCode,
        headers: &HeaderMap,
        cookies: Cookies<'_>,
    ) -> Result<bool, Error> {
        let (method, keep_body) = match status.as_u16() {
            301 | 302 if hop.method == Method::POST => (Method::GET, false),
            301 | 302 | 307 | 308 => (hop.method.clone(), true),
            303 if hop.method == Method::HEAD => (Method::HEAD, false),
            303 => (Method::GET, false),
            _ => return Ok(false),
        };
        let Some(location) = headers.get(LOCATION) else {
            return Ok(false);
        };
        let fail = |msg: String| Error::new(ErrorKind::Redirect, msg).with_url(&hop.url);
        let mut target = std::str::from_utf8(location.as_bytes())
            .ok()
            .and_then(|l| hop.url.join(l.trim()).ok())
            .ok_or_else(|| {
                let shown = String::from_utf8_lossy(location.as_bytes());
                fail(format!(
                    "the server redirected to an invalid Location {:?}",
                    auth::redact(&shown)
                ))
            })?;
        auth::strip_userinfo(&mut target);
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
        let jar = cookies(&target);
        if !self.seen.insert((method.clone(), target.clone(), jar)) {
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

    /// No cookie jar.
    const NO_JAR: Cookies<'static> = &|_| None;

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
        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(r
            .next(&mut h, StatusCode::SEE_OTHER, &to("/done"), NO_JAR)
            .unwrap());
        assert_eq!(h.method, Method::GET);
        assert_eq!(h.url.as_str(), "http://a.test/done");
        assert!(h.body.is_none());
        assert!(h.headers.get(CONTENT_TYPE).is_none());
        assert!(
            h.headers.get(AUTHORIZATION).is_some(),
            "same host keeps credentials"
        );
    }

    /// (method after, body kept) for each status and method before.
    fn rule(status: u16, method: Method) -> (Method, bool) {
        let mut h = hop(method, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        let status = StatusCode::from_u16(status).unwrap();
        assert!(r.next(&mut h, status, &to("/y"), NO_JAR).unwrap());
        assert_eq!(h.body.is_some(), h.headers.contains_key(CONTENT_TYPE));
        (h.method, h.body.is_some())
    }

    #[test]
    fn methods_follow_rfc_9110() {
        use Method as M;
        for status in [301, 302] {
            assert_eq!(rule(status, M::POST), (M::GET, false), "{status}");
            for m in [M::GET, M::PUT, M::PATCH, M::DELETE, M::HEAD] {
                assert_eq!(rule(status, m.clone()), (m, true), "{status}");
            }
        }
        for m in [M::GET, M::POST, M::PUT, M::PATCH, M::DELETE, M::OPTIONS] {
            assert_eq!(rule(303, m), (M::GET, false));
        }
        assert_eq!(rule(303, M::HEAD), (M::HEAD, false));
        for status in [307, 308] {
            for m in [M::GET, M::POST, M::PUT, M::PATCH, M::DELETE, M::HEAD] {
                assert_eq!(rule(status, m.clone()), (m, true), "{status}");
            }
        }
    }

    #[test]
    fn userinfo_in_location_is_dropped_and_not_quoted() {
        let mut h = hop(Method::GET, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        let loc = to("http://eve:s3cret@b.test/y");
        assert!(r.next(&mut h, StatusCode::FOUND, &loc, NO_JAR).unwrap());
        assert_eq!(h.url.as_str(), "http://b.test/y");
        assert!(h.headers.get(AUTHORIZATION).is_none());
        let e = r
            .next(
                &mut h,
                StatusCode::FOUND,
                &to("http://eve:s3cret@[bad/"),
                NO_JAR,
            )
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
    }

    #[test]
    fn temporary_redirect_keeps_method_and_body_and_head_stays_head() {
        let mut h = hop(Method::PUT, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(r
            .next(&mut h, StatusCode::PERMANENT_REDIRECT, &to("y"), NO_JAR)
            .unwrap());
        assert_eq!(
            (h.method.clone(), h.url.as_str()),
            (Method::PUT, "http://a.test/y")
        );
        assert!(h.body.is_some());
        let mut h = hop(Method::HEAD, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(r
            .next(&mut h, StatusCode::FOUND, &to("/z"), NO_JAR)
            .unwrap());
        assert_eq!(h.method, Method::HEAD);
    }

    #[test]
    fn credentials_are_dropped_across_origins() {
        let mut h = hop(Method::GET, "http://a.test/x");
        h.headers.insert(COOKIE, HeaderValue::from_static("s=1"));
        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(r
            .next(
                &mut h,
                StatusCode::FOUND,
                &to("http://a.test:8080/"),
                NO_JAR
            )
            .unwrap());
        assert!(h.headers.get(AUTHORIZATION).is_none());
        assert!(h.headers.get(COOKIE).is_none());
    }

    #[test]
    fn bad_targets_limits_and_loops_are_errors() {
        let mut h = hop(Method::GET, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("file:///etc/passwd"), NO_JAR)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);
        assert!(e.to_string().contains("file:///etc/passwd"));
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("http://[::1"), NO_JAR)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);

        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(r
            .next(&mut h, StatusCode::FOUND, &to("/y"), NO_JAR)
            .unwrap());
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("/x"), NO_JAR)
            .unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");

        let mut h = hop(Method::GET, "http://a.test/0");
        let mut r = Redirects::new(2, &h, NO_JAR);
        assert!(r
            .next(&mut h, StatusCode::FOUND, &to("/1"), NO_JAR)
            .unwrap());
        assert!(r
            .next(&mut h, StatusCode::FOUND, &to("/2"), NO_JAR)
            .unwrap());
        let e = r
            .next(&mut h, StatusCode::FOUND, &to("/3"), NO_JAR)
            .unwrap_err();
        assert!(e.to_string().contains("too many"), "{e}");
    }

    #[test]
    fn not_a_redirect() {
        let mut h = hop(Method::GET, "http://a.test/x");
        let mut r = Redirects::new(10, &h, NO_JAR);
        assert!(!r.next(&mut h, StatusCode::OK, &to("/y"), NO_JAR).unwrap());
        assert!(!r
            .next(&mut h, StatusCode::FOUND, &HeaderMap::new(), NO_JAR)
            .unwrap());
        assert!(!r
            .next(&mut h, StatusCode::NOT_MODIFIED, &to("/y"), NO_JAR)
            .unwrap());
    }
}
