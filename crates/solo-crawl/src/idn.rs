//! Internationalized host names: punycode on the wire, Unicode for people.
//!
//! The `url` crate does the conversion: `Url::parse("http://bücher.test/")`
//! (a start URL, a link, a `Location`, a sitemap `<loc>`) applies UTS 46
//! and keeps the ASCII form, `xn--bcher-kva.test`. So everything the crawl
//! keys or sends uses that one spelling: the seen set, per-host queues and
//! limits, robots.txt, DNS, the `Host` header and TLS SNI; the Unicode and
//! punycode spellings of a host are one host.
//!
//! Owns: the look-alike rule — a host whose label mixes scripts beyond
//! UTS 39's *highly restrictive* level (one script per label, or Latin
//! with Han, Japanese or Korean: `раypal` with a Cyrillic `р` and `а` is
//! refused) — and showing a URL with its host in Unicode, as records and
//! messages do ([`display_url`]). Must not: parse or convert URLs by hand
//! (that is the `url` and `idna` crates' job), or change what is fetched.

use std::borrow::Cow;

use unicode_security::{RestrictionLevel, RestrictionLevelDetection};
use url::{Host, Url};

/// Checks `url`'s host name: `Err` names the host and the label that
/// mixes scripts (a likely look-alike), or that is not valid punycode.
///
/// ```
/// use solo_crawl::idn::check_host;
/// let ok = url::Url::parse("http://bücher.test/").unwrap();
/// assert!(check_host(&ok).is_ok());
/// let mixed = url::Url::parse("http://раypal.test/").unwrap(); // Cyrillic р, а
/// assert!(check_host(&mixed).unwrap_err().contains("mixes scripts"));
/// ```
pub fn check_host(url: &Url) -> Result<(), String> {
    let Some(Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    if !has_punycode(host) {
        return Ok(());
    }
    let (unicode, decoded) = idna::domain_to_unicode(host);
    if decoded.is_err() {
        return Err(format!(
            "host {host:?} is not a valid international domain name"
        ));
    }
    for label in unicode.split('.') {
        let level = label.detect_restriction_level();
        if level > RestrictionLevel::HighlyRestrictive {
            return Err(format!(
                "host {unicode:?} ({host}) mixes scripts in the label {label:?}: \
                 refused as a likely look-alike (UTS 39); a label may use one \
                 script, or Latin with Han, Japanese or Korean"
            ));
        }
    }
    Ok(())
}

/// `url` with its host in Unicode (`http://bücher.test/` for
/// `http://xn--bcher-kva.test/`), as people read it; any other URL as it
/// is. A host that fails [`check_host`] stays in punycode.
///
/// ```
/// use solo_crawl::idn::display_url;
/// let u = url::Url::parse("http://xn--bcher-kva.test:8080/a?q=ü").unwrap();
/// assert_eq!(display_url(&u), "http://bücher.test:8080/a?q=%C3%BC");
/// ```
pub fn display_url(url: &Url) -> Cow<'_, str> {
    let Some(Host::Domain(host)) = url.host() else {
        return Cow::Borrowed(url.as_str());
    };
    if !has_punycode(host) || check_host(url).is_err() {
        return Cow::Borrowed(url.as_str());
    }
    let (unicode, _) = idna::domain_to_unicode(host);
    let before = &url[..url::Position::BeforeHost];
    let after = &url[url::Position::AfterHost..];
    Cow::Owned(format!("{before}{unicode}{after}"))
}

fn has_punycode(host: &str) -> bool {
    host.split('.').any(|l| l.starts_with("xn--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn unicode_hosts_are_punycode_in_the_url_and_unicode_on_display() {
        let a = u("http://Bücher.test:8080/a?q=ü#f");
        assert_eq!(a.host_str(), Some("xn--bcher-kva.test"));
        assert_eq!(a, u("http://xn--bcher-kva.test:8080/a?q=%C3%BC#f"));
        assert_eq!(display_url(&a), "http://bücher.test:8080/a?q=%C3%BC#f");
        let plain = u("http://a.test/");
        assert!(matches!(display_url(&plain), Cow::Borrowed(_)));
        assert_eq!(display_url(&u("http://[::1]:9/")), "http://[::1]:9/");
        assert_eq!(
            display_url(&u("http://例え.テスト/")),
            "http://例え.テスト/"
        );
    }

    #[test]
    fn look_alikes_and_bad_punycode_are_refused() {
        assert!(check_host(&u("http://bücher.test/")).is_ok());
        assert!(check_host(&u("http://日本market.test/")).is_ok()); // Han + Latin
        assert!(check_host(&u("http://a-1.test/")).is_ok());
        // Cyrillic р and а among Latin letters.
        let mixed = u("http://раypal.test/");
        let e = check_host(&mixed).unwrap_err();
        assert!(e.contains("mixes scripts") && e.contains("раypal"), "{e}");
        assert_eq!(display_url(&mixed), mixed.as_str());
        // Invalid punycode does not even parse.
        assert!(Url::parse("http://xn--a.test/").is_err());
    }
}
