//! Credentials: `Authorization` header values, the user and password of
//! a URL, and keeping passwords out of everything printed.
//!
//! Owns: turning a user and password into `Basic` (RFC 7617) and a token
//! into `Bearer` (RFC 6750) header values, marked sensitive so that
//! `Debug` prints `Sensitive` instead of them (and HTTP/2 never indexes
//! them); taking the userinfo out of a URL (`http://user:pass@host/`,
//! percent-decoded as curl, requests and reqwest do) so the URL carried by
//! requests, responses and errors has none; and redacting the password in
//! a URL that is about to go into a message.
//!
//! Must not: decide when a header is sent or dropped (that is `send` and
//! `redirect`), or keep a password anywhere but in a header value.

use std::borrow::Cow;
use std::fmt::Display;

use base64::Engine;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue, AUTHORIZATION, PROXY_AUTHORIZATION,
};
use percent_encoding::percent_decode_str;
use url::Url;

/// `Basic base64(user ":" password)`, sensitive. No password means an
/// empty one (`user:`), as curl and reqwest send.
pub(crate) fn basic(user: impl Display, password: Option<impl Display>) -> HeaderValue {
    let pair = match password {
        Some(p) => format!("{user}:{p}"),
        None => format!("{user}:"),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .expect("base64 is always a valid header value");
    value.set_sensitive(true);
    value
}

/// `Bearer token`, sensitive; a token with characters a header cannot
/// hold (a line break) is an error.
pub(crate) fn bearer(token: impl Display) -> Result<HeaderValue, InvalidHeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Marks the value of an `Authorization` or `Proxy-Authorization` header
/// sensitive, whoever made it.
pub(crate) fn protect(name: &HeaderName, value: &mut HeaderValue) {
    if name == AUTHORIZATION || name == PROXY_AUTHORIZATION {
        value.set_sensitive(true);
    }
}

/// [`protect`] for every header of `headers`.
pub(crate) fn protect_all(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        protect(name, value);
    }
}

/// Takes the user and password out of `url` and returns them as a
/// `Basic` header value (`None` when the URL has neither).
pub(crate) fn take_userinfo(url: &mut Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let user = percent_decode_str(url.username()).decode_utf8_lossy();
    let password = url
        .password()
        .map(|p| percent_decode_str(p).decode_utf8_lossy());
    let value = basic(user, password);
    strip_userinfo(url);
    Some(value)
}

/// Removes the user and password of `url`, if any.
pub(crate) fn strip_userinfo(url: &mut Url) {
    // Both only fail for URLs that cannot have a userinfo (no host).
    let _ = url.set_password(None);
    let _ = url.set_username("");
}

/// `text` with the password of a URL in it replaced by `***`
/// (`http://user:***@host/`). Works on text that does not parse as a URL
/// too, since that is what error messages quote: as such text may have a
/// password with a `/` in it, the userinfo is taken to end at the last
/// `@` before any `?` or `#`, which hides too much rather than too little
/// when a path holds an `@`.
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    let Some(scheme_end) = text.find("://") else {
        return Cow::Borrowed(text);
    };
    let start = scheme_end + 3;
    let authority_len = text[start..].find(['?', '#']).unwrap_or(text.len() - start);
    let authority = &text[start..start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return Cow::Borrowed(text);
    };
    let Some(colon) = authority[..at].find(':') else {
        return Cow::Borrowed(text);
    };
    let (before, after) = (&text[..start + colon + 1], &text[start + at..]);
    Cow::Owned(format!("{before}***{after}"))
}

/// A proxy URL as given (`http://user:password@host:port`, or as proxy
/// vendors write it, `user:password@host:port`), with the password
/// masked for messages. A proxy URL has no path, so everything before
/// its last `@` is credentials (a password may hold `?`, `#` or `/`
/// unencoded, and the scheme may be missing or mistyped): what follows
/// the first `:` of that part is masked.
///
/// ```
/// assert_eq!(solo_http::redact_proxy("u:p@ss@h:3128"), "u:***@h:3128");
/// assert_eq!(solo_http::redact_proxy("http://h:3128"), "http://h:3128");
/// ```
pub fn redact_proxy(text: &str) -> Cow<'_, str> {
    let Some(at) = text.rfind('@') else {
        return Cow::Borrowed(text);
    };
    let start = text[..at].find("://").map_or(0, |i| i + 3);
    let Some(colon) = text[start..at].find(':') else {
        return Cow::Borrowed(text);
    };
    Cow::Owned(format!("{}***{}", &text[..start + colon + 1], &text[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_url_s_password_is_masked_however_it_is_written() {
        for (given, shown) in [
            (
                "http://alice:s3cret@127.0.0.1:3128",
                "http://alice:***@127.0.0.1:3128",
            ),
            ("alice:s3cret@127.0.0.1:3128", "alice:***@127.0.0.1:3128"),
            ("http//alice:s3cret@h:1", "http//alice:***@h:1"),
            ("http://alice:s3#c?r/et@h:1", "http://alice:***@h:1"),
            ("http://alice:s3@cret@h:1", "http://alice:***@h:1"),
            ("http://h:3128", "http://h:3128"),
            ("http://alice@h:3128", "http://alice@h:3128"),
        ] {
            assert_eq!(redact_proxy(given), shown);
        }
    }

    #[test]
    fn basic_matches_rfc_7617_and_is_sensitive() {
        // The example of RFC 7617, section 2.
        let v = basic("Aladdin", Some("open sesame"));
        assert_eq!(v, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
        assert_eq!(basic("u", None::<&str>), "Basic dTo=");
    }

    #[test]
    fn bearer_rejects_line_breaks() {
        assert_eq!(bearer("abc").unwrap(), "Bearer abc");
        assert!(bearer("abc").unwrap().is_sensitive());
        assert!(bearer("a\nb").is_err());
    }

    #[test]
    fn userinfo_is_decoded_and_taken_out() {
        let mut url = Url::parse("http://us%40er:p%3Ass@a.test:81/x?q#f").unwrap();
        let v = take_userinfo(&mut url).unwrap();
        assert_eq!(v, basic("us@er", Some("p:ss")));
        assert_eq!(url.as_str(), "http://a.test:81/x?q#f");
        let mut url = Url::parse("http://:pw@a.test/").unwrap();
        assert_eq!(take_userinfo(&mut url).unwrap(), basic("", Some("pw")));
        assert_eq!(url.as_str(), "http://a.test/");
        let mut url = Url::parse("http://a.test/").unwrap();
        assert!(take_userinfo(&mut url).is_none());
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("http://ada:secret@h.test/p?q@r"),
            "http://ada:***@h.test/p?q@r"
        );
        assert_eq!(redact("http://a:b:c@d@[bad/x"), "http://a:***@[bad/x");
        assert_eq!(redact("http://ada@h.test/"), "http://ada@h.test/");
        assert_eq!(redact("http://u:pa/ss@h.test/"), "http://u:***@h.test/");
        assert_eq!(redact("http://h.test/a@c?x:y@z"), "http://h.test/a@c?x:y@z");
        assert_eq!(redact("no url here"), "no url here");
    }
}
