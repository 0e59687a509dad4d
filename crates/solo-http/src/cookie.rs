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
//!   host may only set it for itself or a parent domain. There is no
//!   public-suffix list, so a host could set a cookie for a whole TLD
//!   like `co.uk`: do not share one client's jar across distrusting sites.
//! - Path: the `Path` attribute, or the directory of the request path.
//! - `Secure` cookies go only over https. `Max-Age` (which wins) and
//!   `Expires` end a cookie; a time in the past deletes it. `HttpOnly`
//!   and `SameSite` do not matter to a client without scripts or pages.
//! - A request that sets its own `Cookie` header gets no cookies from the
//!   jar.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

/// At most this many cookies are kept; the oldest go first.
const MAX_COOKIES: usize = 3000;

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
    cookies: RefCell<Vec<Cookie>>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets (sessions): only say how many there are.
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
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
        let Some(host) = url.host_str() else { return };
        let host = host.to_ascii_lowercase();
        let now = SystemTime::now();
        let mut jar = self.cookies.borrow_mut();
        for line in set_cookie {
            let Some(c) = parse(line, &host, url.path(), now) else {
                continue;
            };
            jar.retain(|o| !(o.name == c.name && o.domain == c.domain && o.path == c.path));
            if c.expires.is_none_or(|t| t > now) {
                jar.push(c);
            }
        }
        let over = jar.len().saturating_sub(MAX_COOKIES);
        jar.drain(..over);
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
        jar.retain(|c| c.expires.is_none_or(|t| t > now));
        let mut matching: Vec<&Cookie> = jar
            .iter()
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
                c.domain = d;
                c.host_only = false;
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
            "expires" if c.expires.is_none() => c.expires = httpdate::parse_http_date(val).ok(),
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
    fn replaces_by_name_domain_and_path() {
        let jar = CookieJar::default();
        set(&jar, "http://a.test/", &["k=1"]);
        set(&jar, "http://a.test/", &["k=2", "=bad", "novalue"]);
        assert_eq!(get(&jar, "http://a.test/"), Some("k=2".into()));
    }
}
