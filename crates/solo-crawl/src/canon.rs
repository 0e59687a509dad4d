//! URL canonicalization and fingerprints, for dedup.
//!
//! Owns: the rule that decides when two URLs name the same page — scheme
//! and host lower-cased, the default port dropped, the fragment dropped,
//! percent-escapes in the path and query upper-cased and those of
//! unreserved characters (`A-Z a-z 0-9 - . _ ~`) decoded (RFC 3986
//! 6.2.2.1 and 6.2.2.2, as w3lib's `canonicalize_url`), an empty query
//! dropped and query parameters sorted — and the stable
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
    if let Some(p) = normalize_escapes(u.path()) {
        u.set_path(&p);
    }
    let query = u.query().and_then(normalize_escapes);
    if let Some(q) = query {
        u.set_query(Some(&q));
    }
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

/// `s` with its percent-escapes normalised (RFC 3986 6.2.2): hex digits
/// upper-cased, escapes of unreserved characters decoded; `None` when
/// nothing changes (no allocation for the common URL without escapes).
fn normalize_escapes(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let needs = |i: usize| match decode_escape(b, i) {
        Some(c) => is_unreserved(c) || b[i + 1..i + 3] != hex_upper(c),
        None => false,
    };
    let first = (0..b.len()).find(|&i| b[i] == b'%' && needs(i))?;
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        match decode_escape(b, i) {
            Some(c) if is_unreserved(c) => out.push(c),
            Some(c) => {
                out.push(b'%');
                out.extend_from_slice(&hex_upper(c));
            }
            None => {
                out.push(b[i]);
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    String::from_utf8(out).ok()
}

/// The byte `%XY` at `i` in `b` stands for, if it is an escape.
fn decode_escape(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    let hex = |c: u8| (c as char).to_digit(16);
    let (hi, lo) = (hex(*b.get(i + 1)?)?, hex(*b.get(i + 2)?)?);
    Some((hi * 16 + lo) as u8)
}

fn hex_upper(c: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]
}

/// RFC 3986's unreserved characters.
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
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
        assert_eq!(c("http://a.test/%7Euser"), "http://a.test/~user");
    }

    #[test]
    fn percent_escapes_are_normalised_as_rfc_3986_says() {
        // Case of the hex digits; unreserved characters decoded.
        assert_eq!(c("http://a.test/caf%c3%a9"), "http://a.test/caf%C3%A9");
        assert_eq!(c("http://a.test/%41%2d%2E%5f%7e"), "http://a.test/A-._~");
        // Reserved characters and others stay escaped.
        assert_eq!(c("http://a.test/a%2fb%3F%20"), "http://a.test/a%2Fb%3F%20");
        // In the query too, before the parameters are sorted.
        assert_eq!(
            c("http://a.test/?b=%7e&a=%c3%a9"),
            "http://a.test/?a=%C3%A9&b=~"
        );
        // Not escapes: kept as they are.
        assert_eq!(c("http://a.test/100%25%zz%4"), "http://a.test/100%25%zz%4");
        assert_eq!(c("http://a.test/plain?x=1"), "http://a.test/plain?x=1");
        assert!(normalize_escapes("/plain/%C3%A9").is_none());
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
