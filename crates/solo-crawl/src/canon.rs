//! URL canonicalization and fingerprints, for dedup.
//!
//! Owns: the rule that decides when two URLs name the same page — scheme
//! and host lower-cased, the default port dropped, the fragment dropped,
//! an empty query dropped and query parameters sorted — and the stable
//! 64-bit fingerprint of that canonical form (xxh3; stable across runs and
//! versions, so the state store can keep it). Must not: change the URL
//! that is actually fetched (the frontier fetches what it was given).

use url::Url;

/// The canonical form of `url`.
pub fn canonicalize(url: &Url) -> Url {
    let mut u = url.clone();
    // `Url::parse` already lower-cases scheme and host and resolves `.`
    // and `..`; the default port it drops on parse, but not on `set_port`.
    if u.port().is_some() && u.port() == default_port(u.scheme()) {
        let _ = u.set_port(None);
    }
    u.set_fragment(None);
    match u.query() {
        None => {}
        Some(q) => {
            // Sorted by (name, value); each parameter keeps its own spelling
            // (`a` and `a=` stay distinct).
            let mut pairs: Vec<(&str, &str, &str)> = q
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k, v, p)
                })
                .collect();
            if pairs.is_empty() {
                u.set_query(None);
            } else {
                pairs.sort_unstable();
                let sorted = pairs.iter().map(|p| p.2).collect::<Vec<_>>().join("&");
                u.set_query(Some(&sorted));
            }
        }
    }
    u
}

/// The 64-bit fingerprint of `url`'s canonical form: equal for equivalent
/// URLs.
pub fn fingerprint(url: &Url) -> u64 {
    xxhash_rust::xxh3::xxh3_64(canonicalize(url).as_str().as_bytes())
}

/// The fingerprint of a request: its method, `url`'s canonical form, its
/// body and its cookie jar (headers are not part of it, as in Scrapy). A
/// GET with no body and no jar has the URL's [`fingerprint`], so a state
/// store written before requests had methods still deduplicates.
pub fn request_fingerprint(
    method: &hyper::Method,
    url: &Url,
    body: &[u8],
    cookie_jar: Option<&str>,
) -> u64 {
    if *method == hyper::Method::GET && body.is_empty() && cookie_jar.is_none() {
        return fingerprint(url);
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    // Each part with its length first: no two requests hash the same bytes.
    let canon = canonicalize(url);
    let jar = cookie_jar.map(str::as_bytes);
    for part in [
        Some(method.as_str().as_bytes()),
        Some(canon.as_str().as_bytes()),
        Some(body),
        jar,
    ]
    .into_iter()
    .flatten()
    {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.digest()
}

/// The port a scheme uses when none is given (only http and https are
/// crawled).
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The key of the host a URL is fetched from: `host:port`, with the
/// scheme's default port filled in. Per-host queues, limits, delays and
/// robots.txt are keyed by it.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port_or_known_default().unwrap_or(0);
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn equivalent_forms_agree() {
        assert_eq!(
            c("http://a.test:8080/p?b&a=1"),
            "http://a.test:8080/p?a=1&b"
        );
        assert_eq!(c("http://a.test/p?a=&b=1"), "http://a.test/p?a=&b=1");
        assert_eq!(c("http://a.test/p?&&"), "http://a.test/p");
        assert_eq!(c("http://a.test"), "http://a.test/");
        assert_eq!(c("http://a.test/%7Euser"), "http://a.test/%7Euser");
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::canon::canonicalize;
        let a = url::Url::parse("HTTP://Example.COM:80/a/./b/../c?z=1&a=2&a=1#frag").unwrap();
        assert_eq!(
            canonicalize(&a).as_str(),
            "http://example.com/a/c?a=1&a=2&z=1"
        );
        let b = url::Url::parse("https://example.com:443/?").unwrap();
        assert_eq!(canonicalize(&b).as_str(), "https://example.com/");
    }

    #[test]
    fn example_2() {
        use solo_crawl::canon::fingerprint;
        let p = |s| url::Url::parse(s).unwrap();
        assert_eq!(
            fingerprint(&p("http://a.test/x?b=2&a=1#top")),
            fingerprint(&p("http://A.test:80/x?a=1&b=2"))
        );
        assert_ne!(
            fingerprint(&p("http://a.test/x")),
            fingerprint(&p("http://a.test/y"))
        );
    }

    #[test]
    fn example_3() {
        let u = url::Url::parse("http://Example.com/x").unwrap();
        assert_eq!(solo_crawl::canon::host_key(&u), "example.com:80");
        let v6 = url::Url::parse("http://[0:0::1]:8080/x").unwrap();
        assert_eq!(solo_crawl::canon::host_key(&v6), "[::1]:8080");
        let idn = url::Url::parse("https://Bücher.test/x").unwrap();
        assert_eq!(solo_crawl::canon::host_key(&idn), "xn--bcher-kva.test:443");
    }

    #[test]
    fn example_4() {
        use hyper::Method;
        use solo_crawl::canon::{fingerprint, request_fingerprint};
        let u = url::Url::parse("http://a.test/x?b=2&a=1").unwrap();
        assert_eq!(
            request_fingerprint(&Method::GET, &u, b"", None),
            fingerprint(&u)
        );
        let one = request_fingerprint(&Method::POST, &u, b"q=1", None);
        assert_ne!(one, request_fingerprint(&Method::POST, &u, b"q=2", None));
        assert_ne!(one, request_fingerprint(&Method::PUT, &u, b"q=1", None));
        assert_ne!(
            one,
            request_fingerprint(&Method::POST, &u, b"q=1", Some("s1"))
        );
    }
}
