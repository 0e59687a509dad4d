//! Sessions: the crawl's cookie jars, and how they travel.
//!
//! Owns: one [`solo_http::CookieJar`] per session id — the crawl's default
//! jar (requests without a [`cookie_jar`](crate::Request::cookie_jar),
//! only when [`Config::cookies`](crate::Config::cookies) is on) and one per
//! id that requests name (Scrapy's `cookiejar` meta) — created on first
//! use and kept for the whole crawl; the two steps of an exchange that
//! touch them: the `Cookie` header a request gets (after the request's
//! own cookies went into its jar), and keeping what the
//! response's `Set-Cookie` headers set (every answer, redirects
//! included); and the cookies' shared form ([`SharedCookie`]): each change a
//! response makes goes to the [`sink`](Sessions::set_sink) (the `--state`
//! store, the Redis frontier), and changes from there go back into the
//! jars ([`Sessions::restore`]). Must not: parse cookies itself
//! (solo-http's jar does: its [`Cookie`] is the resolved cookie), or log a
//! cookie's value.
//!
//! Design: a cookie's identity is (session id, domain, path, name), the
//! jar's own RFC 6265 resolution deciding domain (host-only or not) and
//! path; [`SharedCookie::key`] is that identity as text (a JSON array), and
//! [`SharedCookie::state`] the cookie with an absolute expiry (JSON), so a
//! later run or another worker gets the same cookie, ending when it
//! would have. Only changes are told (the jar decides: a value, an
//! attribute, a deletion, an expiry moved by over a quarter of its
//! lifetime), not every response that sets a cookie again. A change is
//! told while the exchange that made it ends, before the page's callback
//! runs: the requests that the page makes are queued after it, in the
//! store (the same or a later commit) and in Redis (the same or a later
//! step), so they are never started without it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use solo_http::{Cookie, CookieJar};
use url::Url;

use crate::fetch::header;

/// Where the changes of the jars go: (key, state) of each, as [`SharedCookie`]
/// makes them (`state` of a deleted cookie: `None`).
pub(crate) type Sink = Box<dyn Fn(String, Option<String>)>;

/// Where the changes of other jars come in: (key, state), as
/// [`Sessions::restore`] takes them.
pub(crate) type News = Box<dyn Fn(&str, Option<&str>)>;

/// The crawl's cookie jars, by session id (`None`: the default jar).
#[derive(Default)]
pub(crate) struct Sessions {
    default_on: bool,
    jars: RefCell<HashMap<Option<String>, Rc<CookieJar>>>,
    sink: RefCell<Option<Sink>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("default_on", &self.default_on)
            .field("jars", &self.jars.borrow().len())
            .finish()
    }
}

impl Sessions {
    /// Jars for a crawl; the default one only if `cookies` is on.
    pub(crate) fn new(cookies: bool) -> Sessions {
        Sessions {
            default_on: cookies,
            ..Default::default()
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

    /// Puts a request's own `cookies` (name, value) into session `id`'s
    /// `jar`, for `url`'s host and path `/`, as if its server had set
    /// them; tells the sink what changed.
    pub(crate) fn add(
        &self,
        id: Option<&str>,
        jar: &CookieJar,
        url: &Url,
        cookies: &[(String, String)],
    ) -> bool {
        if cookies.is_empty() {
            return false;
        }
        // Given for an https URL: kept for https only, as a server's
        // `Secure` cookie (never sent over plain http after a redirect).
        let secure = if url.scheme() == "https" {
            "; Secure"
        } else {
            ""
        };
        let lines: Vec<(String, String)> = cookies
            .iter()
            .map(|(k, v)| ("set-cookie".to_owned(), format!("{k}={v}; Path=/{secure}")))
            .collect();
        self.keep(id, jar, url, &lines)
    }

    /// From now on, every change a response makes to a jar goes to `sink`.
    pub(crate) fn set_sink(&self, sink: Sink) {
        *self.sink.borrow_mut() = Some(sink);
    }

    /// Keeps the cookies that a response from `url` with `headers` sets
    /// in session `id`'s `jar`, and tells the sink what changed.
    pub(crate) fn keep(
        &self,
        id: Option<&str>,
        jar: &CookieJar,
        url: &Url,
        headers: &[(String, String)],
    ) -> bool {
        let lines = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str());
        let changed = jar.set_cookies_at(url, lines, SystemTime::now());
        if changed.is_empty() {
            return false;
        }
        if let Some(sink) = &*self.sink.borrow() {
            let now = SystemTime::now();
            for c in changed {
                let key = SharedCookie::key(id, &c);
                let alive = c.expires.is_none_or(|t| t > now);
                sink(key, alive.then(|| SharedCookie::state(&c)));
            }
        }
        true
    }

    /// Puts a cookie told by the store or another worker (`key` and
    /// `state` from [`SharedCookie`]; `None`: deleted) into its jar; an error if
    /// it does not decode. Not told to the sink again.
    pub(crate) fn restore(&self, key: &str, state: Option<&str>) -> Result<(), String> {
        let (id, domain, path, name): (Option<String>, String, String, String) =
            serde_json::from_str(key).map_err(|e| format!("cookie key: {e}"))?;
        let cookie = match state {
            Some(s) => {
                let st: SharedCookie =
                    serde_json::from_str(s).map_err(|e| format!("cookie state: {e}"))?;
                st.cookie(domain, path, name)
            }
            None => Cookie {
                name,
                value: String::new(),
                domain,
                host_only: true,
                path,
                secure: false,
                expires: Some(SystemTime::UNIX_EPOCH),
            },
        };
        let jar = match id.as_deref() {
            None if !self.default_on => return Ok(()),
            id => self.jar(id),
        };
        if let Some(jar) = jar {
            jar.insert(cookie);
        }
        Ok(())
    }
}

/// A cookie's state as it is stored and shared (its identity is in the
/// key, [`SharedCookie::key`]).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SharedCookie {
    value: String,
    host_only: bool,
    secure: bool,
    /// Milliseconds since the Unix epoch; `None`: a session cookie.
    expires_ms: Option<u64>,
}

impl SharedCookie {
    /// The identity of `c` in session `id`: `[id, domain, path, name]`
    /// as JSON.
    pub(crate) fn key(id: Option<&str>, c: &Cookie) -> String {
        serde_json::to_string(&(id, &c.domain, &c.path, &c.name)).unwrap_or_default()
    }

    /// `c`'s state as JSON.
    fn state(c: &Cookie) -> String {
        let expires_ms = c.expires.map(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
        });
        let st = SharedCookie {
            value: c.value.clone(),
            host_only: c.host_only,
            secure: c.secure,
            expires_ms,
        };
        serde_json::to_string(&st).unwrap_or_default()
    }

    fn cookie(self, domain: String, path: String, name: String) -> Cookie {
        Cookie {
            name,
            value: self.value,
            domain,
            host_only: self.host_only,
            path,
            secure: self.secure,
            expires: self
                .expires_ms
                .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
        }
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

/// Adds a request's own `cookies` to its `Cookie` header (there is no
/// jar to put them in).
pub(crate) fn add_to_header(cookies: &[(String, String)], headers: &mut Vec<(String, String)>) {
    if cookies.is_empty() {
        return;
    }
    let mut line = header(headers, "cookie").unwrap_or_default().to_owned();
    for (k, v) in cookies {
        if !line.is_empty() {
            line.push_str("; ");
        }
        line.push_str(&format!("{k}={v}"));
    }
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
    headers.push(("Cookie".to_owned(), line));
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
        off.keep(Some("a"), &a, &u, &[("set-cookie".into(), "sid=1".into())]);
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

    /// A request's own cookie given for an https URL is kept Secure: the
    /// jar never sends it over plain http (re-audit 5: it followed an
    /// https -> http redirect); one given over http goes to both.
    #[test]
    fn a_requests_own_cookie_for_https_stays_on_https() {
        let s = Sessions::new(true);
        let jar = s.jar(None).unwrap();
        let (https, http) = (
            Url::parse("https://a.test/").unwrap(),
            Url::parse("http://a.test/x").unwrap(),
        );
        s.add(None, &jar, &https, &[("sid".into(), "1".into())]);
        let sent = |u: &Url| {
            let mut h = Vec::new();
            add_cookies(&jar, u, &mut h);
            h
        };
        assert_eq!(sent(&https), [("Cookie".to_string(), "sid=1".to_string())]);
        assert!(sent(&http).is_empty());
        s.add(None, &jar, &http, &[("lang".into(), "en".into())]);
        assert_eq!(sent(&http), [("Cookie".to_string(), "lang=en".to_string())]);
    }

    #[test]
    fn changes_go_to_the_sink_and_restore_into_other_sessions() {
        type Told = Rc<RefCell<Vec<(String, Option<String>)>>>;
        let told: Told = Rc::default();
        let here = Sessions::new(true);
        let t = told.clone();
        here.set_sink(Box::new(move |k, s| t.borrow_mut().push((k, s))));
        let u = Url::parse("http://a.test/shop/x").unwrap();
        let set = |s: &Sessions, id: Option<&str>, line: &str| {
            let jar = s.jar(id).unwrap();
            s.keep(id, &jar, &u, &[("Set-Cookie".into(), line.into())]);
        };
        set(&here, None, "sid=s3cret; Max-Age=3600");
        set(&here, Some("bob"), "sid=b0b; Path=/");
        set(&here, None, "sid=s3cret; Max-Age=3600"); // the same: not told
        assert_eq!(told.borrow().len(), 2);
        let (k, st) = told.borrow()[0].clone();
        assert_eq!(k, r#"[null,"a.test","/shop","sid"]"#);
        assert!(st.as_deref().is_some_and(|s| s.contains("expires_ms")));
        let there = Sessions::new(true);
        for (k, s) in told.borrow().iter() {
            there.restore(k, s.as_deref()).unwrap();
        }
        let header = |s: &Sessions, id| s.jar(id).unwrap().cookie_header(&u);
        assert_eq!(header(&there, None).as_deref(), Some("sid=s3cret"));
        assert_eq!(header(&there, Some("bob")).as_deref(), Some("sid=b0b"));
        // A logout travels as a deletion.
        set(&here, Some("bob"), "sid=; Path=/; Max-Age=0");
        let (k, st) = told.borrow().last().cloned().unwrap();
        assert!(st.is_none());
        there.restore(&k, None).unwrap();
        assert_eq!(header(&there, Some("bob")), None);
        assert!(there.restore("not json", None).is_err());
        // Without the default jar, its cookies are not restored.
        let off = Sessions::new(false);
        off.restore(
            r#"[null,"a.test","/","k"]"#,
            Some(r#"{"value":"1","host_only":true,"secure":false,"expires_ms":null}"#),
        )
        .unwrap();
        assert!(off.jars.borrow().is_empty());
    }
}
