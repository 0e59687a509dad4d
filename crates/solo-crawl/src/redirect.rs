//! Redirects: what a 3xx answer leads to — the next request, or why none.
//!
//! Owns: the decision for one answer, as a pure function ([`follow_with`]):
//! whether the status is a redirect (301, 302, 303, 307, 308), where it
//! points (`Location` resolved against the URL that answered, fragment
//! and credentials dropped), with which method and whether the body is
//! kept ([`method_after`], RFC 9110's rules as solo-http has them), and the chain's limits — at most `max_redirects`
//! hops, and no hop back to a URL of its own chain (a loop, unless the
//! answer changed the request's cookies: a cookie wall) — in
//! [`hop`], which a `<meta http-equiv="refresh">` goes through too. The next
//! request is the old one at its new URL: same callback, meta, depth,
//! referer, headers (but a recrawl's conditional ones, which are the old
//! URL's), cookie jar and `dont_filter`, the method and body the
//! status allows (the body's `Content-*` headers dropped with it; the
//! `Authorization` and `Cookie` headers dropped when the origin changes),
//! priority + 2 as in Scrapy (a chain finishes before new pages
//! start), retries reset, and the chain so far in
//! [`Request::redirected_from`]. Must not: do I/O, or decide whether the
//! target may be fetched — scope, robots.txt, the seen set, the page
//! budget and the host's slots and delay are the frontier's, and the
//! engine pushes the next request there like any other (as Scrapy sends
//! a redirect back through its scheduler).
//!
//! Also owns the redirects a crawl has answered so far ([`Answered`]):
//! a hop whose target was reached by a link of its own is dropped as
//! seen by the frontier, so its chain never lists the hops before it; a
//! loop of such hops is found by walking the answered redirects instead.

use std::fmt;

use hyper::Method;
use url::Url;

use crate::canon::fingerprint;
use crate::request::Request;

/// How much a redirect raises the next request's priority (Scrapy's
/// `REDIRECT_PRIORITY_ADJUST`).
pub const PRIORITY_ADJUST: i32 = 2;

/// Whether `status` is a redirect that is followed.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The method of the next hop after a `status` answer to a `method`
/// request, and whether the body goes with it; `None` if `status` is not
/// a redirect. As RFC 9110 (and browsers) have it: 303 turns everything
/// but HEAD into GET; 301 and 302 turn POST into GET and keep other
/// methods with their body; 307 and 308 keep the method and the body.
pub fn method_after(status: u16, method: &Method) -> Option<(Method, bool)> {
    match status {
        303 if *method == Method::HEAD => Some((Method::HEAD, false)),
        303 => Some((Method::GET, false)),
        301 | 302 if *method == Method::POST => Some((Method::GET, false)),
        301 | 302 | 307 | 308 => Some((method.clone(), true)),
        _ => None,
    }
}

/// Why a redirect is not followed (recorded as the page's error, kind
/// `redirect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedirectError {
    /// A redirect status without a `Location` header.
    NoLocation {
        /// The status.
        status: u16,
    },
    /// A `Location` that is not a URL.
    BadLocation {
        /// The header as received.
        location: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A target that is not an http(s) URL with a host.
    Scheme(Url),
    /// The chain is already `limit` hops long.
    TooMany {
        /// The limit (`Config::max_redirects`).
        limit: u32,
        /// Where the redirect pointed (not followed).
        to: Url,
    },
    /// The target is a URL the chain already went through.
    Loop(Url),
    /// A [`Loop`](RedirectError::Loop) whose answer set a cookie, in a
    /// crawl that keeps none: a cookie wall (consent, session start) that
    /// a crawl with cookies on would pass.
    LoopWithoutCookies(Url),
}

impl RedirectError {
    /// Where the redirect pointed, when that is known.
    pub fn target(&self) -> Option<&Url> {
        match self {
            RedirectError::Scheme(u)
            | RedirectError::Loop(u)
            | RedirectError::LoopWithoutCookies(u)
            | RedirectError::TooMany { to: u, .. } => Some(u),
            _ => None,
        }
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::NoLocation { status } => {
                write!(f, "a {status} redirect without a Location header")
            }
            RedirectError::BadLocation { location, reason } => {
                write!(
                    f,
                    "the server redirected to an invalid Location {location:?}: {reason}"
                )
            }
            RedirectError::Scheme(u) => write!(
                f,
                "not following a redirect to {u}: only http and https URLs are crawled"
            ),
            RedirectError::TooMany { limit: 0, .. } => {
                write!(f, "redirects are not followed (the limit is 0)")
            }
            RedirectError::TooMany { limit, .. } => {
                write!(f, "more than {limit} redirects in a row (the limit)")
            }
            RedirectError::Loop(u) => {
                write!(f, "redirect loop: {u} was already visited in this chain")
            }
            RedirectError::LoopWithoutCookies(u) => write!(
                f,
                "redirect loop: {u} was already visited in this chain; the server set a \
                 cookie on the way, which this crawl does not keep: crawl with --cookies \
                 (Config::cookies) to pass a cookie wall"
            ),
        }
    }
}

impl std::error::Error for RedirectError {}

/// Where a `Location` header points from `base` (the URL that answered):
/// resolved, without its fragment, and only if it is http(s) with a
/// host. A user and password in the `Location` are not used; `base`'s go
/// with it to the same origin (scheme, host, port), as they go with the
/// page's links, and to no other.
pub fn target(base: &Url, location: Option<&str>) -> Result<Url, RedirectError> {
    target_in(base, location, encoding_rs::UTF_8)
}

/// [`target`] of a URL written on a page in `charset` (a `<meta
/// http-equiv="refresh">`): its query in that charset, as the page's
/// links have theirs ([`links::join_in`](crate::links::join_in)).
pub fn target_in(
    base: &Url,
    location: Option<&str>,
    charset: &'static encoding_rs::Encoding,
) -> Result<Url, RedirectError> {
    let Some(location) = location else {
        return Err(RedirectError::NoLocation { status: 0 });
    };
    let mut to = crate::links::join_in(base, location.trim(), charset).map_err(|e| {
        RedirectError::BadLocation {
            location: location.to_owned(),
            reason: e.to_string(),
        }
    })?;
    to.set_fragment(None);
    // Credentials in a Location are not used (as solo-http and Python's
    // requests do), nor written to the records; the crawl's own stay
    // with their origin (a redirect from /docs to /docs/ must not lose
    // them: the server asks for them again with a 401).
    crate::secrets::strip_userinfo(&mut to);
    if to.origin() == base.origin() && !base.username().is_empty() {
        let _ = to.set_username(base.username());
        let _ = to.set_password(base.password());
    }
    if !matches!(to.scheme(), "http" | "https") || to.host_str().is_none_or(|h| h.is_empty()) {
        return Err(RedirectError::Scheme(to));
    }
    Ok(to)
}

/// The next hop of a redirect chain: the request, and the method and body
/// rule it is sent with.
#[derive(Clone, Debug, PartialEq)]
pub struct Redirect<C> {
    /// The request for the target.
    pub request: Request<C>,
    /// Its method (see [`method_after`]).
    pub method: Method,
    /// Whether the original request's body goes with it.
    pub keep_body: bool,
}

/// [`follow_with`] for an answer that changed no cookie (the tests').
#[cfg(test)]
pub fn follow<C: Clone>(
    request: &Request<C>,
    method: &Method,
    status: u16,
    location: Option<&str>,
    base: &Url,
    max_redirects: u32,
) -> Result<Option<Redirect<C>>, RedirectError> {
    follow_with(
        request,
        method,
        status,
        location,
        base,
        max_redirects,
        false,
    )
}

/// What a `status` answer with header `location` to `request` (sent with
/// `method`, answered by `base`) leads to: `Ok(None)` if the status is not
/// a redirect, the next request, or why it cannot be followed.
/// `jar_changed` says the answer set cookies that changed the request's
/// jar: then a redirect back to a URL of the chain
/// is a new request, not a loop (a cookie wall: `302 Location: /gate`
/// with `Set-Cookie: consent=yes`, as browsers, curl and requests
/// follow it), sent past the seen set; the redirect limit still bounds
/// the chain.
pub(crate) fn follow_with<C: Clone>(
    request: &Request<C>,
    method: &Method,
    status: u16,
    location: Option<&str>,
    base: &Url,
    max_redirects: u32,
    jar_changed: bool,
) -> Result<Option<Redirect<C>>, RedirectError> {
    let Some((method, keep_body)) = method_after(status, method) else {
        return Ok(None);
    };
    let to = target(base, location).map_err(|e| match e {
        RedirectError::NoLocation { .. } => RedirectError::NoLocation { status },
        e => e,
    })?;
    let mut request = hop_with(request, to, base, max_redirects, jar_changed)?;
    set_method(&mut request, &method, keep_body);
    Ok(Some(Redirect {
        request,
        method,
        keep_body,
    }))
}

/// Sends `request` with `method`, and without its body (and the headers
/// that describe it) unless `keep_body`.
pub(crate) fn set_method<C>(request: &mut Request<C>, method: &Method, keep_body: bool) {
    if request.extras().method == *method && (keep_body || request.extras().body.is_empty()) {
        return; // nothing changes (and a plain GET stays unboxed)
    }
    let x = request.extras_mut();
    x.method = method.clone();
    if !keep_body {
        x.body = bytes::Bytes::new();
        x.headers.retain(|(k, _)| !is_about_body(k));
    }
}

/// The next hop of `request`'s chain to `to` (a resolved target, see
/// [`target`]), answered by `base`: the chain's limits apply (at most
/// `max_redirects` hops, no loop). [`follow_with`] uses it for a 3xx, the
/// engine for a `<meta http-equiv="refresh">`.
pub fn hop<C: Clone>(
    request: &Request<C>,
    to: Url,
    base: &Url,
    max_redirects: u32,
) -> Result<Request<C>, RedirectError> {
    hop_with(request, to, base, max_redirects, false)
}

/// [`hop`]; with `revisit`, a URL of the chain may come again (see
/// [`follow_with`]).
fn hop_with<C: Clone>(
    request: &Request<C>,
    to: Url,
    base: &Url,
    max_redirects: u32,
    revisit: bool,
) -> Result<Request<C>, RedirectError> {
    let hops = request.extras().redirected_from.len();
    if hops >= max_redirects as usize {
        return Err(RedirectError::TooMany {
            limit: max_redirects,
            to,
        });
    }
    let fp = fingerprint(&to);
    let visited = request
        .extras()
        .redirected_from
        .iter()
        .chain([&request.url, base])
        .any(|u| fingerprint(u) == fp);
    if visited && !revisit {
        return Err(RedirectError::Loop(to));
    }
    let mut chain = Vec::with_capacity(hops + 1);
    chain.extend(request.extras().redirected_from.iter().cloned());
    chain.push(request.url.clone());
    let mut next = request.clone();
    next.priority = request.priority.saturating_add(PRIORITY_ADJUST);
    next.retries = 0;
    // A recrawl's validators are the old URL's, not the target's.
    crate::recrawl::for_another_url(&mut next);
    let x = next.extras_mut();
    x.redirected_from = chain;
    x.store_key = None; // a request of its own in the store
    x.lease = None; // the lease is the first hop's
    if visited {
        // Seen already, by this chain: it is asked again on purpose.
        x.dont_filter = true;
    }
    if to.origin() != request.url.origin() {
        // Credentials set for one site do not go to another (as Scrapy
        // and solo-http do); the jar's cookies are chosen per URL anyway.
        x.headers.retain(|(k, _)| !crate::secrets::is_credential(k));
    }
    let downgrade = request.url.scheme() == "https" && to.scheme() == "http";
    if to.host() != request.url.host() || downgrade {
        // The request's own cookies (`Request::cookie`) are its host's,
        // as a jar keeps a cookie set without a Domain: another host
        // never gets them, with a jar or without (Scrapy's fix for
        // CVE-2022-0577), nor does plain http after https (they were
        // given for a secure connection). The same host over https
        // keeps them.
        x.cookies.clear();
    }
    next.url = to;
    Ok(next)
}

/// The redirects a crawl has answered so far: each request (by its
/// fingerprint) that redirected, and the request it redirected to. A
/// hop whose target was crawled or queued already is dropped by the
/// seen set, so its chain (`Request::redirected_from`) does not reach
/// the hops after it; these are found here: a hop from `a` to `b` whose
/// answered redirects lead from `b` back to `a` closes a loop, in
/// whatever order the loop's URLs were reached.
#[derive(Debug, Default)]
pub(crate) struct Answered {
    next: std::collections::HashMap<u64, u64>,
}

/// How far [`Answered::hop`] walks the answered redirects (a longer
/// loop has been stopped by `max_redirects` on its way anyway).
const LONGEST_WALK: usize = 1024;

impl Answered {
    /// Notes that the request `from` redirected to the request `to`
    /// (fingerprints), unless the redirects answered so far lead from
    /// `to` back to `from`: then it is a loop, `true`, and nothing is
    /// noted.
    pub(crate) fn hop(&mut self, from: u64, to: u64) -> bool {
        let mut at = to;
        for _ in 0..=self.next.len().min(LONGEST_WALK) {
            if at == from {
                return true;
            }
            match self.next.get(&at) {
                Some(&n) => at = n,
                None => break,
            }
        }
        self.next.insert(from, to);
        false
    }
}

/// Headers that describe a body, dropped with it.
fn is_about_body(name: &str) -> bool {
    [
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-location",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(u: &str) -> Request<u8> {
        let mut r = Request::parse(u, 7).unwrap();
        r.depth = 3;
        r.priority = 1;
        r.retries = 2;
        r.referer = Some(Url::parse("http://a.test/list").unwrap());
        r.meta = serde_json::json!({"k": "v"});
        r
    }

    fn next(
        r: &Request<u8>,
        status: u16,
        loc: &str,
        max: u32,
    ) -> Result<Request<u8>, RedirectError> {
        follow(r, &Method::GET, status, Some(loc), &r.url, max).map(|n| n.unwrap().request)
    }

    #[test]
    fn the_next_request_keeps_what_the_spider_gave_and_records_the_chain() {
        let a = req("http://a.test/a");
        let b = next(&a, 302, "/b", 10).unwrap();
        assert_eq!(b.url.as_str(), "http://a.test/b");
        assert_eq!((b.callback, b.depth, b.priority, b.retries), (7, 3, 3, 0));
        assert_eq!(b.meta, a.meta);
        assert_eq!(b.referer, a.referer);
        let c = next(&b, 301, "http://b.test/c", 10).unwrap();
        assert_eq!(c.extras().redirected_from, [a.url.clone(), b.url.clone()]);
    }

    /// A request's own credential headers (`Proxy-Authorization` too) do
    /// not follow a redirect to another origin (re-audit 5).
    #[test]
    fn credential_headers_stay_on_their_origin() {
        let r = req("http://a.test/")
            .header("Proxy-Authorization", "Basic c2VjcmV0")
            .header("X-Api", "2");
        let names = |r: &Request<u8>| -> Vec<String> {
            r.extras().headers.iter().map(|(k, _)| k.clone()).collect()
        };
        assert_eq!(
            names(&next(&r, 302, "/b", 10).unwrap()),
            ["Proxy-Authorization", "X-Api"]
        );
        assert_eq!(
            names(&next(&r, 302, "http://b.test/", 10).unwrap()),
            ["X-Api"]
        );
    }

    /// A request's own cookies stay on its host, and on https: not to
    /// another host, nor to plain http after https (re-audit 4: sent in
    /// clear); http to https on the same host keeps them.
    #[test]
    fn a_requests_own_cookies_stay_on_its_host_and_off_plain_http() {
        let with = |u: &str| req(u).cookie("s", "1");
        let kept = |from: &str, to: &str| {
            !next(&with(from), 302, to, 10)
                .unwrap()
                .extras()
                .cookies
                .is_empty()
        };
        assert!(kept("https://a.test/", "https://a.test/b"));
        assert!(kept("http://a.test/", "https://a.test/b"));
        assert!(kept("http://a.test/", "/b"));
        assert!(!kept("https://a.test/", "http://a.test/b"));
        assert!(!kept("http://a.test/", "http://b.test/"));
    }

    #[test]
    fn relative_locations_resolve_against_the_answering_url_and_lose_the_fragment() {
        let a = req("http://a.test/dir/page?x=1");
        assert_eq!(
            next(&a, 307, "other", 10).unwrap().url.as_str(),
            "http://a.test/dir/other"
        );
        assert_eq!(
            next(&a, 307, "?y=2", 10).unwrap().url.as_str(),
            "http://a.test/dir/page?y=2"
        );
        assert_eq!(
            next(&a, 308, "  /z#frag ", 10).unwrap().url.as_str(),
            "http://a.test/z"
        );
        let base = Url::parse("https://c.test/moved/").unwrap();
        let r = follow(&a, &Method::GET, 301, Some("here"), &base, 10)
            .unwrap()
            .unwrap();
        assert_eq!(r.request.url.as_str(), "https://c.test/moved/here");
        let creds = next(&a, 302, "http://user:secret@b.test/x", 10).unwrap();
        assert_eq!(creds.url.as_str(), "http://b.test/x");
    }

    #[test]
    fn statuses_and_methods() {
        let a = req("http://a.test/a");
        for s in [200, 204, 300, 304, 305, 404, 500] {
            assert_eq!(
                follow(&a, &Method::GET, s, Some("/b"), &a.url, 10),
                Ok(None),
                "{s}"
            );
        }
        let put = Method::PUT;
        assert_eq!(method_after(301, &put), Some((Method::PUT, true)));
        assert_eq!(method_after(302, &Method::POST), Some((Method::GET, false)));
        assert_eq!(method_after(303, &put), Some((Method::GET, false)));
        assert_eq!(
            method_after(303, &Method::HEAD),
            Some((Method::HEAD, false))
        );
        assert_eq!(method_after(308, &put), Some((Method::PUT, true)));
        let r = follow(&a, &Method::POST, 303, Some("/b"), &a.url, 10)
            .unwrap()
            .unwrap();
        assert_eq!((r.method, r.keep_body), (Method::GET, false));
    }

    #[test]
    fn a_post_keeps_or_drops_its_body_by_status_and_always_its_session() {
        let form = Request::new(Url::parse("http://a.test/login").unwrap(), 7u8)
            .with_method(Method::POST)
            .form([("user", "ann")])
            .header("Authorization", "Bearer t")
            .cookie_jar("ann")
            .dont_filter();
        let hop = |status, loc: &str| {
            follow(
                &form,
                &form.extras().method,
                status,
                Some(loc),
                &form.url,
                10,
            )
            .unwrap()
            .unwrap()
            .request
        };
        for status in [307, 308] {
            let r = hop(status, "/again");
            assert_eq!(
                (r.extras().method.clone(), r.extras().body.clone()),
                (Method::POST, form.extras().body.clone())
            );
            assert_eq!(r.extras().headers, form.extras().headers);
            assert_eq!(
                (r.extras().cookie_jar.as_deref(), r.extras().dont_filter),
                (Some("ann"), true)
            );
        }
        for status in [301, 302, 303] {
            let r = hop(status, "/account");
            assert_eq!(r.extras().method, Method::GET, "{status}");
            assert!(r.extras().body.is_empty());
            assert_eq!(r.header_value("content-type"), None);
            assert_eq!(r.header_value("authorization"), Some("Bearer t"));
            assert_eq!(r.extras().cookie_jar.as_deref(), Some("ann"));
        }
        // Another origin gets no credentials of this one.
        let r = hop(307, "https://a.test/login");
        assert_eq!(r.header_value("authorization"), None);
        assert_eq!(r.extras().body, form.extras().body);
        // Its own identity: not the fingerprint of the POST.
        assert_ne!(hop(303, "/account").fingerprint(), form.fingerprint());
    }

    #[test]
    fn bad_locations_are_errors() {
        let a = req("http://a.test/a");
        let no = follow(&a, &Method::GET, 302, None, &a.url, 10);
        assert_eq!(no, Err(RedirectError::NoLocation { status: 302 }));
        for bad in ["http://[::1", "http://a b.test/", "https://"] {
            let e = next(&a, 302, bad, 10).unwrap_err();
            assert!(
                matches!(e, RedirectError::BadLocation { .. }),
                "{bad}: {e:?}"
            );
        }
        for other in [
            "ftp://a.test/x",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
        ] {
            let e = next(&a, 302, other, 10).unwrap_err();
            assert!(matches!(e, RedirectError::Scheme(_)), "{other}: {e:?}");
            assert!(e.to_string().contains("only http and https"));
        }
    }

    #[test]
    fn answered_hops_close_a_loop_in_any_order() {
        let mut seen = Answered::default();
        assert!(!seen.hop(1, 2));
        assert!(!seen.hop(3, 1)); // a chain 3 -> 1 -> 2, no loop
        assert!(seen.hop(2, 3)); // 2 -> 3 -> 1 -> 2
        assert!(seen.hop(4, 4)); // to itself
                                 // A loop is never noted: a walk from elsewhere ends.
        assert!(seen.hop(2, 3));
        assert!(!seen.hop(9, 3));
        assert!(seen.hop(2, 9)); // 2 -> 9 -> 3 -> 1 -> 2
        assert!(!seen.hop(2, 10)); // 2 redirects elsewhere now
        assert!(seen.hop(10, 9)); // 10 -> 9 -> 3 -> 1 -> 2 -> 10
    }

    #[test]
    fn limits_and_loops() {
        let a = req("http://a.test/a");
        assert_eq!(
            next(&a, 302, "/a#x", 10),
            Err(RedirectError::Loop(a.url.clone()))
        );
        let b = next(&a, 302, "/b", 10).unwrap();
        // Back to the start, spelt differently: still the same page.
        let e = next(&b, 302, "HTTP://A.TEST:80/a", 10).unwrap_err();
        assert!(matches!(e, RedirectError::Loop(_)), "{e:?}");
        let c = Url::parse("http://a.test/c").unwrap();
        assert_eq!(
            next(&b, 302, "/c", 1),
            Err(RedirectError::TooMany { limit: 1, to: c })
        );
        let e = next(&a, 302, "/b", 0).unwrap_err();
        assert_eq!(e.target(), Some(&b.url));
        assert!(matches!(e, RedirectError::TooMany { limit: 0, .. }));
        assert!(next(&b, 302, "/c", 2).is_ok());
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::redirect::is_redirect;
        assert!(is_redirect(301) && is_redirect(308));
        assert!(!is_redirect(300) && !is_redirect(304) && !is_redirect(200));
    }

    #[test]
    fn example_2() {
        use hyper::Method;
        use solo_crawl::redirect::method_after;
        assert_eq!(method_after(302, &Method::POST), Some((Method::GET, false)));
        assert_eq!(method_after(307, &Method::POST), Some((Method::POST, true)));
        assert_eq!(method_after(200, &Method::GET), None);
    }

    #[test]
    fn example_3() {
        let to = url::Url::parse("http://a.test/next").unwrap();
        let e = solo_crawl::redirect::RedirectError::TooMany { limit: 3, to };
        assert_eq!(e.to_string(), "more than 3 redirects in a row (the limit)");
        assert_eq!(e.target().map(url::Url::as_str), Some("http://a.test/next"));
    }

    #[test]
    fn example_4() {
        use solo_crawl::redirect::RedirectError;
        let to = url::Url::parse("http://a.test/").unwrap();
        assert_eq!(RedirectError::Loop(to.clone()).target(), Some(&to));
        assert_eq!(RedirectError::NoLocation { status: 302 }.target(), None);
    }

    #[test]
    fn example_5() {
        use solo_crawl::redirect::{target, RedirectError};
        let base = url::Url::parse("http://a.test/dir/page").unwrap();
        assert_eq!(
            target(&base, Some("next#top")).unwrap().as_str(),
            "http://a.test/dir/next"
        );
        assert_eq!(
            target(&base, Some("//b.test/x")).unwrap().as_str(),
            "http://b.test/x"
        );
        assert!(matches!(
            target(&base, Some("mailto:x@a.test")),
            Err(RedirectError::Scheme(_))
        ));
        assert!(matches!(
            target(&base, Some("http://[::1")),
            Err(RedirectError::BadLocation { .. })
        ));
    }

    #[test]
    fn example_6() {
        use hyper::Method;
        use solo_crawl::{
            redirect::{follow, RedirectError},
            Request,
        };
        let first = Request::parse("http://a.test/old", "item")
            .unwrap()
            .with_meta(serde_json::json!(1));
        let next = follow(&first, &Method::GET, 301, Some("/new"), &first.url, 10)
            .unwrap()
            .unwrap()
            .request;
        assert_eq!(next.url.as_str(), "http://a.test/new");
        assert_eq!(
            (next.callback, next.depth, next.meta.clone()),
            ("item", 0, serde_json::json!(1))
        );
        assert_eq!(
            next.extras().redirected_from,
            std::slice::from_ref(&first.url)
        );
        // Back to where the chain started: a loop.
        let back = follow(&next, &Method::GET, 302, Some("/old"), &next.url, 10);
        assert!(matches!(back, Err(RedirectError::Loop(_))));
        assert_eq!(
            follow(&first, &Method::GET, 200, None, &first.url, 10),
            Ok(None)
        );
    }

    #[test]
    fn example_7() {
        use solo_crawl::{
            redirect::{hop, RedirectError},
            Request,
        };
        let a = Request::parse("http://a.test/a", ()).unwrap();
        let b = hop(&a, url::Url::parse("http://a.test/b").unwrap(), &a.url, 10).unwrap();
        assert_eq!(b.extras().redirected_from, std::slice::from_ref(&a.url));
        assert!(matches!(
            hop(&b, a.url.clone(), &b.url, 10),
            Err(RedirectError::Loop(_))
        ));
    }
}
