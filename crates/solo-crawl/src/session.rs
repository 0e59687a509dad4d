//! Sessions: the crawl's cookie jars.
//!
//! Owns: one [`solo_http::CookieJar`] per session id — the crawl's default
//! jar (requests without a [`cookie_jar`](crate::Request::cookie_jar),
//! only when [`Config::cookies`](crate::Config::cookies) is on) and one per
//! id that requests name (Scrapy's `cookiejar` meta) — created on first
//! use and kept for the whole crawl; and the two steps of an exchange
//! that touch them: the `Cookie` header a request gets, and keeping what
//! the response's `Set-Cookie` headers set (every answer, redirects
//! included). Must not: parse cookies itself (solo-http's jar does), or
//! persist them (a resumed crawl starts with empty jars, as Scrapy's
//! `JOBDIR` does).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use solo_http::CookieJar;
use url::Url;

use crate::fetch::header;

/// The crawl's cookie jars, by session id (`None`: the default jar).
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    default_on: bool,
    jars: RefCell<HashMap<Option<String>, Rc<CookieJar>>>,
}

impl Sessions {
    /// Jars for a crawl; the default one only if `cookies` is on.
    pub(crate) fn new(cookies: bool) -> Sessions {
        Sessions {
            default_on: cookies,
            jars: RefCell::default(),
        }
    }

    /// The jar of session `id`; `None` if the request keeps no cookies
    /// (no id and the default jar is off).
    pub(crate) fn jar(&self, id: Option<&str>) -> Option<Rc<CookieJar>> {
        if id.is_none() && !self.default_on {
            return None;
        }
        let key = id.map(str::to_owned);
        Some(self.jars.borrow_mut().entry(key).or_default().clone())
    }
}

/// Adds the jar's `Cookie` header for `url`, unless the request sets its
/// own (then it is sent as given, as solo-http does).
pub(crate) fn add_cookies(jar: &CookieJar, url: &Url, headers: &mut Vec<(String, String)>) {
    if header(headers, "cookie").is_none() {
        if let Some(line) = jar.cookie_header(url) {
            headers.push(("Cookie".to_owned(), line));
        }
    }
}

/// Keeps the cookies that a response from `url` with `headers` sets.
pub(crate) fn keep_cookies(jar: &CookieJar, url: &Url, headers: &[(String, String)]) {
    let lines = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str());
    jar.set_cookies(url, lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_separate_and_the_default_is_opt_in() {
        let off = Sessions::new(false);
        assert!(off.jar(None).is_none());
        let a = off.jar(Some("a")).unwrap();
        let b = off.jar(Some("b")).unwrap();
        let u = Url::parse("http://a.test/").unwrap();
        keep_cookies(&a, &u, &[("set-cookie".into(), "sid=1".into())]);
        assert!(Rc::ptr_eq(&a, &off.jar(Some("a")).unwrap()));
        let mut h = Vec::new();
        add_cookies(&b, &u, &mut h);
        assert!(h.is_empty());
        add_cookies(&a, &u, &mut h);
        assert_eq!(h, [("Cookie".to_string(), "sid=1".to_string())]);
        // A request's own Cookie header wins.
        let mut own = vec![("cookie".to_string(), "x=2".to_string())];
        add_cookies(&a, &u, &mut own);
        assert_eq!(own.len(), 1);
        assert!(Sessions::new(true).jar(None).is_some());
    }
}
