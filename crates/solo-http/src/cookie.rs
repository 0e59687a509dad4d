//! The opt-in cookie jar ([`ClientBuilder::cookie_store`](crate::ClientBuilder::cookie_store)).
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

#[derive(Default)]
pub(crate) struct Jar {
    cookies: RefCell<Vec<Cookie>>,
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

impl Jar {
    /// Keeps the cookies that `headers` (of a response from `url`) set.
    pub(crate) fn store(&self, url: &Url, headers: &HeaderMap) {
        let Some(host) = url.host_str() else { return };
        let host = host.to_ascii_lowercase();
        let now = SystemTime::now();
        let mut jar = self.cookies.borrow_mut();
        for value in headers.get_all(SET_COOKIE) {
            let Some(c) = value
                .to_str()
                .ok()
                .and_then(|v| parse(v, &host, url.path(), now))
            else {
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
        HeaderValue::from_str(&line).ok()
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

    fn set(jar: &Jar, url: &str, lines: &[&str]) {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(SET_COOKIE, HeaderValue::from_str(l).unwrap());
        }
        jar.store(&Url::parse(url).unwrap(), &h);
    }

    fn get(jar: &Jar, url: &str) -> Option<String> {
        jar.header_for(&Url::parse(url).unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn host_only_and_domain_cookies() {
        let jar = Jar::default();
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
        let jar = Jar::default();
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
        let jar = Jar::default();
        set(&jar, "http://a.test/", &["k=1"]);
        set(&jar, "http://a.test/", &["k=2", "=bad", "novalue"]);
        assert_eq!(get(&jar, "http://a.test/"), Some("k=2".into()));
    }
}
