//! The cookie jar: [`CookieJar`], used by the client when
//! [`ClientBuilder::cookie_store`](crate::ClientBuilder::cookie_store) is
//! on, and usable on its own (a crawler keeps one per session).
//!
//! Design: a small RFC 6265 store, enough for crawling and sessions, not a
//! browser's. `Set-Cookie` headers of every response (redirects included)
//! are parsed and kept; each request gets a `Cookie` header with the
//! cookies whose domain and path match its URL, longest path first.
//!
//! - Domain: without a `Domain` attribute a cookie goes back only to the
//!   host that set it; with one, to that domain and its subdomains, and a
//!   host may only set it for itself or a parent domain that is not a
//!   public suffix (`com`, `co.uk`, `github.io`: Mozilla's Public Suffix
//!   List, compiled in by the `psl` crate), so no site sets cookies for
//!   its neighbours.
//! - At most 180 cookies per domain and 3000 in all, the oldest going
//!   first: one site cannot push another's session out of the jar.
//! - Path: the `Path` attribute, or the directory of the request path.
//! - `Secure` cookies go only over https, and only an https response
//!   sets, replaces or deletes one (RFC 6265bis 5.7: a plain http
//!   response that tries is ignored, so whoever sees one http request
//!   cannot plant or replace the session the client sends over https).
//!   `Max-Age` (which wins) and
//!   `Expires` (a date in any of the spellings RFC 6265 reads: see
//!   `cookie_date`) end a cookie; a time in the past deletes it. `HttpOnly`
//!   and `SameSite` do not matter to a client without scripts or pages.
//! - A request that sets its own `Cookie` header gets no cookies from the
//!   jar.
//! - A cookie's identity is its domain, path and name (RFC 6265 5.3): a
//!   `Set-Cookie` with the same three replaces it.
//!
//! Sharing a jar (between processes, or with a later run): a [`Cookie`] is
//! one cookie as the jar keeps it, every attribute resolved (domain,
//! host-only flag, path, absolute expiry), so it means the same anywhere.
//! [`CookieJar::set_cookies_at`] applies a response's lines at the time
//! it was received and returns the cookies that changed (new, another
//! value or attribute, deleted, or an expiry moved by more than a quarter
//! of its lifetime since it was last returned: a site that refreshes a
//! cookie on every response is not a change per response);
//! [`CookieJar::insert`] puts such a cookie into another jar, and
//! [`CookieJar::cookies`] lists them all. Values are secrets: `Debug`
//! never shows them.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

use crate::cookie_date;

/// At most this many cookies are kept; the oldest go first.
const MAX_COOKIES: usize = 3000;

/// At most this many cookies per domain (the oldest of the domain go
/// first), as browsers do (RFC 6265 asks for at least 50).
const MAX_PER_DOMAIN: usize = 180;

/// A cookie store: keeps what `Set-Cookie` headers set, and makes the
/// `Cookie` header for a request (see the rules above). It uses interior
/// mutability (one thread), so a shared reference is enough.
///
/// ```
/// use solo_http::{CookieJar, Url};
/// let jar = CookieJar::default();
/// let login = Url::parse("http://a.test/login").unwrap();
/// jar.set_cookies(&login, ["session=abc; Path=/; HttpOnly", "lang=en; Path=/"]);
/// let page = Url::parse("http://a.test/account").unwrap();
/// assert_eq!(jar.cookie_header(&page).as_deref(), Some("session=abc; lang=en"));
/// assert_eq!(jar.cookie_header(&Url::parse("http://b.test/").unwrap()), None);
/// assert_eq!(jar.len(), 2);
/// ```
#[derive(Default)]
pub struct CookieJar {
    cookies: RefCell<Vec<Kept>>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets (sessions): only say how many there are.
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish()
    }
}

/// One cookie as a [`CookieJar`] keeps it: what a `Set-Cookie` line set,
/// its attributes resolved against the URL that sent it (see the module
/// docs). Its identity is ([`domain`](Cookie::domain),
/// [`path`](Cookie::path), [`name`](Cookie::name)). `Debug` shows
/// everything but the value.
///
/// ```
/// use solo_http::{Cookie, CookieJar, Url};
/// let jar = CookieJar::default();
/// jar.set_cookies(&Url::parse("http://www.a.test/shop/cart").unwrap(), ["sid=s3cret"]);
/// let c: Cookie = jar.cookies().remove(0);
/// assert_eq!((c.domain.as_str(), c.host_only, c.path.as_str()), ("www.a.test", true, "/shop"));
/// assert!(!format!("{c:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Its name.
    pub name: String,
    /// Its value (a secret, often: a session).
    pub value: String,
    /// The host that set it (`host_only`), or the domain of its `Domain`
    /// attribute, lowercase, without a leading dot.
    pub domain: String,
    /// Sent only to `domain` itself (no `Domain` attribute), not to its
    /// subdomains.
    pub host_only: bool,
    /// Its `Path`, or the directory of the URL that set it.
    pub path: String,
    /// Sent over https only.
    pub secure: bool,
    /// When it ends (`None`: a session cookie, kept as long as the jar);
    /// a time in the past deletes it.
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookie")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("domain", &self.domain)
            .field("host_only", &self.host_only)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .field("expires", &self.expires)
            .finish()
    }
}

impl Cookie {
    /// Whether `other` is the same cookie (same domain, path and name),
    /// whatever its value.
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// let u = Url::parse("http://a.test/").unwrap();
    /// let first = jar.set_cookies_at(&u, ["k=1"], std::time::SystemTime::now());
    /// let second = jar.set_cookies_at(&u, ["k=2"], std::time::SystemTime::now());
    /// assert!(first[0].same_as(&second[0]));
    /// ```
    pub fn same_as(&self, other: &Cookie) -> bool {
        self.name == other.name && self.domain == other.domain && self.path == other.path
    }

    /// Whether this Secure cookie keeps `new`, set over plain http, out
    /// of the jar (RFC 6265bis 5.7 step 16, "leave Secure cookies
    /// alone"): same name, one domain within the other, and `new`'s path
    /// under this one's.
    fn shadows(&self, new: &Cookie) -> bool {
        let within = |a: &str, b: &str| domain_matches(b, false, a);
        self.secure
            && self.name == new.name
            && (within(&self.domain, &new.domain) || within(&new.domain, &self.domain))
            && path_matches(&self.path, &new.path)
    }

    /// Whether it has ended at `now`.
    fn ended(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }

    /// Whether replacing `self` (whose expiry was last told as `told`) by
    /// `new` is news for other jars: anything but the expiry changed, or
    /// the expiry moved by more than a quarter of `new`'s lifetime from
    /// `received` (at least a second).
    fn differs(&self, told: Option<SystemTime>, new: &Cookie, received: SystemTime) -> bool {
        let same_rest =
            self.value == new.value && self.host_only == new.host_only && self.secure == new.secure;
        match (told, new.expires) {
            _ if !same_rest => true,
            (None, None) => false,
            (Some(a), Some(b)) => {
                let moved = b.duration_since(a).or_else(|_| a.duration_since(b));
                let life = b.duration_since(received).unwrap_or_default();
                moved.map_or(true, |m| m > (life / 4).max(Duration::from_secs(1)))
            }
            _ => true,
        }
    }
}

/// A kept cookie, and its expiry as [`CookieJar::set_cookies_at`] last
/// returned it (or as it was inserted).
#[derive(Clone, Debug, PartialEq)]
struct Kept {
    cookie: Cookie,
    told: Option<SystemTime>,
}

impl CookieJar {
    /// Keeps the cookies that `headers` (of a response from `url`) set.
    pub(crate) fn store(&self, url: &Url, headers: &HeaderMap) {
        let lines = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        self.set_cookies(url, lines);
    }

    /// Keeps the cookies that these `Set-Cookie` header values (of a
    /// response from `url`) set; values that do not parse, or that set a
    /// cookie for another domain, are ignored.
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// let u = Url::parse("http://a.test/").unwrap();
    /// jar.set_cookies(&u, ["k=1", "evil=1; Domain=b.test", "=bad"]);
    /// assert_eq!(jar.cookie_header(&u).as_deref(), Some("k=1"));
    /// jar.set_cookies(&u, ["k=gone; Max-Age=0"]);
    /// assert!(jar.is_empty());
    /// ```
    pub fn set_cookies<'a>(&self, url: &Url, set_cookie: impl IntoIterator<Item = &'a str>) {
        self.set_cookies_at(url, set_cookie, SystemTime::now());
    }

    /// [`set_cookies`](CookieJar::set_cookies) for a response received at
    /// `received` (a `Max-Age` counts from then), returning the cookies
    /// whose change other jars should know, in the order applied: new
    /// ones, ones with another value or attribute, ones deleted (returned
    /// with their `expires` in the past) and ones whose expiry moved by
    /// more than a quarter of their lifetime since they were last
    /// returned; not a cookie set again as it was, or only refreshed.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// let u = Url::parse("http://a.test/").unwrap();
    /// let t = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    /// let set = jar.set_cookies_at(&u, ["sid=1; Max-Age=600"], t);
    /// assert_eq!(set[0].expires, Some(t + Duration::from_secs(600)));
    /// // Refreshed a second later: the same session, nothing to tell.
    /// assert!(jar.set_cookies_at(&u, ["sid=1; Max-Age=600"], t + Duration::from_secs(1)).is_empty());
    /// // Logged out: a deletion to tell.
    /// let gone = jar.set_cookies_at(&u, ["sid=; Max-Age=0"], t);
    /// assert!(gone[0].expires.unwrap() < t);
    /// assert!(jar.is_empty());
    /// ```
    pub fn set_cookies_at<'a>(
        &self,
        url: &Url,
        set_cookie: impl IntoIterator<Item = &'a str>,
        received: SystemTime,
    ) -> Vec<Cookie> {
        let mut news = Vec::new();
        let Some(host) = url.host_str() else {
            return news;
        };
        let host = host.to_ascii_lowercase();
        let secure_url = url.scheme() == "https";
        // A response replayed late: what has ended since is not kept.
        let now = received.max(SystemTime::now());
        let mut jar = self.cookies.borrow_mut();
        for line in set_cookie {
            let Some(c) = parse(line, &host, url.path(), received) else {
                continue;
            };
            if !secure_url && (c.secure || jar.iter().any(|k| k.cookie.shadows(&c))) {
                // RFC 6265bis 5.7 (steps 6 and 16): plain http neither
                // sets a Secure cookie nor replaces or deletes one.
                continue;
            }
            let old = jar
                .iter()
                .position(|k| k.cookie.same_as(&c))
                .map(|i| jar.remove(i));
            let ended = c.ended(now);
            let tell = match &old {
                Some(o) => ended || o.cookie.differs(o.told, &c, received),
                None => !ended,
            };
            let told = match (&old, tell) {
                (Some(o), false) => o.told,
                _ => c.expires,
            };
            if tell {
                news.push(c.clone());
            }
            if !ended {
                let domain = c.domain.clone();
                jar.push(Kept { cookie: c, told });
                trim(&mut jar, &domain);
            }
        }
        news
    }

    /// Puts `cookie` (of another jar: [`cookies`](CookieJar::cookies),
    /// [`set_cookies_at`](CookieJar::set_cookies_at)) into this one,
    /// replacing the cookie with the same domain, path and name; one that
    /// has ended deletes it.
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let (a, b) = (CookieJar::default(), CookieJar::default());
    /// let u = Url::parse("http://a.test/").unwrap();
    /// for c in a.set_cookies_at(&u, ["sid=1", "lang=en"], std::time::SystemTime::now()) {
    ///     b.insert(c);
    /// }
    /// assert_eq!(b.cookie_header(&u).as_deref(), Some("sid=1; lang=en"));
    /// for c in a.set_cookies_at(&u, ["sid=x; Max-Age=0"], std::time::SystemTime::now()) {
    ///     b.insert(c);
    /// }
    /// assert_eq!(b.cookie_header(&u).as_deref(), Some("lang=en"));
    /// ```
    pub fn insert(&self, cookie: Cookie) {
        let mut jar = self.cookies.borrow_mut();
        jar.retain(|k| !k.cookie.same_as(&cookie));
        if !cookie.ended(SystemTime::now()) {
            let told = cookie.expires;
            let domain = cookie.domain.clone();
            jar.push(Kept { cookie, told });
            trim(&mut jar, &domain);
        }
    }

    /// Every cookie kept and not ended, oldest first.
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// jar.set_cookies(&Url::parse("http://a.test/").unwrap(), ["a=1", "b=2; Max-Age=0"]);
    /// let names: Vec<String> = jar.cookies().into_iter().map(|c| c.name).collect();
    /// assert_eq!(names, ["a"]);
    /// ```
    pub fn cookies(&self) -> Vec<Cookie> {
        let now = SystemTime::now();
        self.cookies
            .borrow()
            .iter()
            .filter(|k| !k.cookie.ended(now))
            .map(|k| k.cookie.clone())
            .collect()
    }

    /// The `Cookie` header for a request to `url`, if any cookie matches.
    pub(crate) fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.cookie_header(url)?).ok()
    }

    /// The value of the `Cookie` header for a request to `url` (cookies
    /// whose domain, path and `Secure` flag match, longest path first), if
    /// any cookie matches.
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// jar.set_cookies(&Url::parse("https://a.test/").unwrap(), ["s=1; Secure"]);
    /// assert_eq!(jar.cookie_header(&Url::parse("http://a.test/").unwrap()), None);
    /// assert_eq!(jar.cookie_header(&Url::parse("https://a.test/x").unwrap()).as_deref(), Some("s=1"));
    /// ```
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        let https = url.scheme() == "https";
        let now = SystemTime::now();
        let mut jar = self.cookies.borrow_mut();
        jar.retain(|k| !k.cookie.ended(now));
        let mut matching: Vec<&Cookie> = jar
            .iter()
            .map(|k| &k.cookie)
            .filter(|c| {
                (https || !c.secure)
                    && domain_matches(&c.domain, c.host_only, &host)
                    && path_matches(&c.path, url.path())
            })
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let line = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ");
        Some(line)
    }

    /// How many cookies are kept (expired ones may still count until the
    /// next request).
    pub fn len(&self) -> usize {
        self.cookies.borrow().len()
    }

    /// Whether no cookie is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cookie (a logout).
    ///
    /// ```
    /// # use solo_http::{CookieJar, Url};
    /// let jar = CookieJar::default();
    /// jar.set_cookies(&Url::parse("http://a.test/").unwrap(), ["k=1"]);
    /// jar.clear();
    /// assert!(jar.is_empty());
    /// ```
    pub fn clear(&self) {
        self.cookies.borrow_mut().clear();
    }
}

/// Parses one `Set-Cookie` value received from `host` for `path`.
fn parse(line: &str, host: &str, path: &str, now: SystemTime) -> Option<Cookie> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut c = Cookie {
        name: name.to_owned(),
        value: value.trim().to_owned(),
        domain: host.to_owned(),
        host_only: true,
        path: default_path(path),
        secure: false,
        expires: None,
    };
    let mut max_age = None;
    for attr in parts {
        let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "domain" if !val.is_empty() => {
                let d = val.trim_start_matches('.').to_ascii_lowercase();
                if !domain_matches(&d, false, host)
                    || (host.parse::<std::net::IpAddr>().is_ok() && d != host)
                {
                    return None;
                }
                if is_public_suffix(&d) {
                    // For a whole TLD (`Domain=co.uk`) every site under
                    // it would get it: refused, unless the host is that
                    // suffix itself, then kept for the host alone (RFC
                    // 6265 §5.3, step 5).
                    if d != host {
                        return None;
                    }
                } else {
                    c.domain = d;
                    c.host_only = false;
                }
            }
            "path" if val.starts_with('/') => c.path = val.to_owned(),
            "secure" => c.secure = true,
            "max-age" => {
                max_age = val
                    .parse::<i64>()
                    .ok()
                    .map(|secs| match u64::try_from(secs) {
                        Ok(s) if s > 0 => now.checked_add(Duration::from_secs(s)).unwrap_or(now),
                        _ => SystemTime::UNIX_EPOCH,
                    });
            }
            "expires" if c.expires.is_none() => c.expires = cookie_date::parse(val),
            _ => {}
        }
    }
    if max_age.is_some() {
        c.expires = max_age;
    }
    Some(c)
}

/// RFC 6265 5.1.4: the directory of the request path.
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

/// Whether `domain` is a public suffix (`com`, `co.uk`, `github.io`, or
/// an unlisted TLD), from the Public Suffix List compiled into `psl`.
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix_str(domain).is_some_and(|s| s.len() == domain.len())
}

/// Keeps at most [`MAX_PER_DOMAIN`] cookies of `domain` in `jar`, then
/// [`MAX_COOKIES`] in all, dropping the oldest: one site cannot push
/// another's out of the jar.
fn trim(jar: &mut Vec<Kept>, domain: &str) {
    let mut n = jar.iter().filter(|k| k.cookie.domain == domain).count();
    while n > MAX_PER_DOMAIN {
        if let Some(i) = jar.iter().position(|k| k.cookie.domain == domain) {
            jar.remove(i);
        }
        n -= 1;
    }
    let over = jar.len().saturating_sub(MAX_COOKIES);
    jar.drain(..over);
}

fn domain_matches(domain: &str, host_only: bool, host: &str) -> bool {
    host == domain
        || (!host_only
            && host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn path_matches(cookie_path: &str, path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(jar: &CookieJar, url: &str, lines: &[&str]) {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(SET_COOKIE, HeaderValue::from_str(l).unwrap());
        }
        jar.store(&Url::parse(url).unwrap(), &h);
    }

    fn get(jar: &CookieJar, url: &str) -> Option<String> {
        jar.header_for(&Url::parse(url).unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn host_only_and_domain_cookies() {
        let jar = CookieJar::default();
        set(
            &jar,
            "http://www.a.test/x",
            &["h=1", "d=2; Domain=.a.test; Path=/"],
        );
        assert_eq!(get(&jar, "http://www.a.test/"), Some("h=1; d=2".into()));
        assert_eq!(get(&jar, "http://api.a.test/"), Some("d=2".into()));
        assert_eq!(get(&jar, "http://b.test/"), None);
        // A host cannot set a cookie for an unrelated domain.
        set(&jar, "http://www.a.test/", &["evil=1; Domain=b.test"]);
        assert_eq!(get(&jar, "http://b.test/"), None);
    }

    #[test]
    fn paths_secure_and_expiry() {
        let jar = CookieJar::default();
        set(
            &jar,
            "https://a.test/shop/cart",
            &["p=1", "root=2; Path=/", "s=3; Secure; Path=/"],
        );
        assert_eq!(
            get(&jar, "https://a.test/shop/item"),
            Some("p=1; root=2; s=3".into())
        );
        assert_eq!(get(&jar, "http://a.test/shopping"), Some("root=2".into()));
        set(&jar, "https://a.test/", &["root=gone; Path=/; Max-Age=0"]);
        assert_eq!(get(&jar, "https://a.test/"), Some("s=3".into()));
        set(
            &jar,
            "https://a.test/",
            &["s=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
        );
        assert_eq!(get(&jar, "https://a.test/"), None);
    }

    #[test]
    fn no_cookie_for_a_public_suffix_and_one_site_cannot_push_out_another() {
        // Domain=test (an unlisted TLD) and Domain=co.uk would reach every
        // site under them: refused. Domain=site-a.test is fine.
        let jar = CookieJar::default();
        set(
            &jar,
            "http://site-a.test/",
            &["all=1; Domain=test", "own=1; Domain=site-a.test"],
        );
        set(&jar, "http://shop.co.uk/", &["uk=1; Domain=co.uk"]);
        assert_eq!(get(&jar, "http://site-b.test/"), None);
        assert_eq!(get(&jar, "http://other.co.uk/"), None);
        assert_eq!(get(&jar, "http://www.site-a.test/"), Some("own=1".into()));
        // A host that is itself a suffix keeps its own, host-only.
        set(&jar, "http://github.io/", &["gh=1; Domain=github.io"]);
        assert_eq!(get(&jar, "http://github.io/"), Some("gh=1".into()));
        assert_eq!(get(&jar, "http://me.github.io/"), None);

        // B's session survives A setting thousands of cookies.
        let jar = CookieJar::default();
        set(&jar, "http://site-b.test/", &["session=b"]);
        for i in 0..4000 {
            set(&jar, "http://site-a.test/", &[format!("c{i}=x").as_str()]);
        }
        assert_eq!(get(&jar, "http://site-b.test/"), Some("session=b".into()));
        assert_eq!(jar.len(), MAX_PER_DOMAIN + 1);
    }

    #[test]
    fn expires_in_netscape_and_other_rfc_6265_spellings() {
        // A logout written the Netscape way (Perl CGI.pm, classic
        // ASP.NET): the cookie goes.
        for logout in [
            "sid=deleted; Expires=Thu, 01-Jan-1970 00:00:01 GMT; Path=/",
            "sid=deleted; expires=Thursday, 01-Jan-70 00:00:01 GMT; path=/",
            "sid=deleted; Expires=01 Jan 1970 00:00:01 UTC; Path=/",
        ] {
            let jar = CookieJar::default();
            set(&jar, "http://a.test/", &["sid=abc; Path=/"]);
            set(&jar, "http://a.test/", &[logout]);
            assert_eq!(get(&jar, "http://a.test/"), None, "{logout}");
        }
        // A future date in that spelling is kept as the cookie's expiry,
        // not dropped (which would make it a session cookie).
        let jar = CookieJar::default();
        let u = Url::parse("http://a.test/").unwrap();
        let in_2023 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let set = jar.set_cookies_at(&u, ["s=1; Expires=Wed, 01-Jan-2031 00:00:00 GMT"], in_2023);
        let want = SystemTime::UNIX_EPOCH + Duration::from_secs(1_924_992_000);
        assert_eq!(set[0].expires, Some(want));
    }

    #[test]
    fn replaces_by_name_domain_and_path() {
        let jar = CookieJar::default();
        set(&jar, "http://a.test/", &["k=1"]);
        set(&jar, "http://a.test/", &["k=2", "=bad", "novalue"]);
        assert_eq!(get(&jar, "http://a.test/"), Some("k=2".into()));
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000 + secs)
    }

    #[test]
    fn a_max_age_counts_from_the_receipt_time() {
        let jar = CookieJar::default();
        let u = Url::parse("http://a.test/").unwrap();
        let set = jar.set_cookies_at(&u, ["s=1; Max-Age=60"], at(0));
        assert_eq!(set[0].expires, Some(at(60)));
        // Replayed into another jar later: the original expiry holds.
        let other = CookieJar::default();
        other.insert(set[0].clone());
        assert_eq!(other.cookies()[0].expires, Some(at(60)));
        // Received long ago, already ended: neither kept nor told.
        let past = SystemTime::now() - Duration::from_secs(120);
        let old = CookieJar::default();
        assert!(old.set_cookies_at(&u, ["s=1; Max-Age=60"], past).is_empty());
        assert!(old.is_empty());
    }

    #[test]
    fn identity_is_domain_path_and_name() {
        let jar = CookieJar::default();
        let u = Url::parse("http://www.a.test/shop/cart").unwrap();
        let set = jar.set_cookies_at(
            &u,
            ["k=1", "k=2; Path=/", "k=3; Domain=a.test; Path=/"],
            at(0),
        );
        let ids: Vec<(&str, bool, &str)> = set
            .iter()
            .map(|c| (c.domain.as_str(), c.host_only, c.path.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("www.a.test", true, "/shop"),
                ("www.a.test", true, "/"),
                ("a.test", false, "/")
            ]
        );
        assert_eq!(jar.len(), 3);
        assert!(!set[0].same_as(&set[1]) && !set[1].same_as(&set[2]));
        // The same identity again replaces it.
        let again = jar.set_cookies_at(&u, ["k=4; Path=/shop"], at(1));
        assert!(again[0].same_as(&set[0]));
        assert_eq!(jar.len(), 3);
    }

    /// RFC 6265bis 5.7: plain http neither sets a Secure cookie nor
    /// replaces or deletes one (of the same name, domains within one
    /// another, path under it); https does both, and http keeps setting
    /// other cookies.
    #[test]
    fn plain_http_leaves_secure_cookies_alone() {
        let jar = CookieJar::default();
        set(&jar, "https://bank.test/", &["sid=GOOD; Secure; Path=/"]);
        set(&jar, "http://bank.test/", &["sid=EVIL; Path=/"]);
        set(
            &jar,
            "http://www.bank.test/a/",
            &["sid=EVIL; Domain=bank.test; Path=/a"],
        );
        set(&jar, "http://bank.test/", &["sid=; Path=/; Max-Age=0"]);
        assert_eq!(get(&jar, "https://bank.test/"), Some("sid=GOOD".into()));
        assert_eq!(get(&jar, "https://bank.test/a/"), Some("sid=GOOD".into()));
        set(&jar, "http://bank.test/", &["tok=INJECTED; Secure; Path=/"]);
        assert_eq!(get(&jar, "https://bank.test/"), Some("sid=GOOD".into()));
        // Another name, or another site, over http: kept.
        set(
            &jar,
            "http://bank.test/",
            &["lang=en; Path=/", "sid=1; Domain=other.test"],
        );
        set(&jar, "http://other.test/", &["sid=mine; Path=/"]);
        assert_eq!(get(&jar, "http://bank.test/"), Some("lang=en".into()));
        assert_eq!(get(&jar, "http://other.test/"), Some("sid=mine".into()));
        // https replaces it.
        set(&jar, "https://bank.test/", &["sid=NEW; Secure; Path=/"]);
        let sent = get(&jar, "https://bank.test/").unwrap();
        assert!(sent.split("; ").any(|c| c == "sid=NEW"), "{sent}");
    }

    #[test]
    fn only_changes_are_told() {
        let jar = CookieJar::default();
        let u = Url::parse("https://a.test/").unwrap();
        assert_eq!(jar.set_cookies_at(&u, ["s=1"], at(0)).len(), 1);
        // Set again as it was: no news.
        assert!(jar.set_cookies_at(&u, ["s=1"], at(1)).is_empty());
        // Another value, another attribute: news.
        assert_eq!(jar.set_cookies_at(&u, ["s=2"], at(2))[0].value, "2");
        assert!(jar.set_cookies_at(&u, ["s=2; Secure"], at(3))[0].secure);
        // Refreshed on every response: told once per quarter lifetime.
        let told: usize = (0..100)
            .map(|i| {
                jar.set_cookies_at(&u, ["s=2; Secure; Max-Age=100"], at(10 + i))
                    .len()
            })
            .sum();
        assert_eq!(told, 4, "the first, then every ~25 s");
        // Deleting one that is not there is no news; one that is, is.
        assert!(jar
            .set_cookies_at(&u, ["x=1; Max-Age=0"], at(200))
            .is_empty());
        let gone = jar.set_cookies_at(&u, ["s=; Max-Age=0"], at(200));
        assert!(gone[0].expires.is_some_and(|t| t < at(200)));
        assert!(jar.is_empty());
    }
}
