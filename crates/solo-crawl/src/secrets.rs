//! Secrets in URLs: what a request tells the next server, and what the
//! crawl writes down.
//!
//! Owns: the `Referer` policy (RFC 9110 §10.1.3 and the browsers'
//! default, strict-origin-when-cross-origin: never userinfo or a
//! fragment; the full URL to the same origin, only the origin to another
//! one, nothing from https to http) and the redaction of URL credentials
//! in everything people read: records, error messages, the summary
//! (`https://user:***@host/`). Must not: change what is fetched — a
//! request keeps its credentials, the HTTP client sends them as
//! `Authorization` to the URL's own host.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

/// Whether a header named `name` carries credentials: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, and the API keys and tokens that
/// APIs take in headers of their own, known by the words of their names
/// (split at `-` and `_`): a word that is `key`, `session`, `password`,
/// `passwd`, `passcode`, `passphrase`, `credential(s)`, `bearer`,
/// `authorization`, `authentication`, `authn`, `authz`, or that ends in
/// `auth`, `token`, `secret` or `apikey` (`X-Api-Key`, `X-Auth-Token`,
/// `Private-Token`, `X-Session-Id`, `Ocp-Apim-Subscription-Key`,
/// `apikey`, `X-Authorization`, `X-OAuth`). A crawl sends such a header
/// given for its sites to them alone, and writes its value down masked.
///
/// ```
/// use solo_crawl::secrets::is_credential;
/// for name in ["authorization", "Cookie", "X-Api-Key", "apikey", "X-Auth-Token", "Private-Token", "X-Session-Id", "X_ACCESS_TOKEN",
///              "X-Authorization", "Authentication", "X-Forwarded-Authorization", "X-Bearer", "X-Passcode", "X-OAuth"] {
///     assert!(is_credential(name), "{name}");
/// }
/// for name in ["X-Api-Version", "Accept", "Keep-Alive", "X-Keyword", "X-Author", "X-Hockey", "Turnkey"] {
///     assert!(!is_credential(name), "{name}");
/// }
/// ```
pub fn is_credential(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    let whole = ["authorization", "proxy-authorization", "cookie"];
    whole.contains(&name.as_str())
        || name.split(['-', '_']).any(|word| {
            matches!(
                word,
                "key"
                    | "session"
                    | "password"
                    | "passwd"
                    | "passcode"
                    | "passphrase"
                    | "credential"
                    | "credentials"
                    | "bearer"
                    | "authorization"
                    | "authentication"
                    | "authn"
                    | "authz"
            ) || ["auth", "token", "secret", "apikey"]
                .iter()
                .any(|end| word.ends_with(end))
        })
}

/// A header as given on the command line (`Name: value`, or
/// `--header=Name: value`) with the value masked if it is a credential,
/// as the WARC's request records mask them (the scheme kept:
/// `Authorization: Bearer ***`); anything else as it is.
///
/// ```
/// use solo_crawl::secrets::redact_header_arg;
/// assert_eq!(redact_header_arg("Authorization: Bearer t0k"), "Authorization: Bearer ***");
/// assert_eq!(redact_header_arg("--header=cookie: sid=1"), "--header=cookie: ***");
/// assert_eq!(redact_header_arg("X-Api: 2"), "X-Api: 2");
/// ```
pub fn redact_header_arg(arg: &str) -> Cow<'_, str> {
    let (flag, header) = match arg.strip_prefix("--header=") {
        Some(h) => ("--header=", h),
        None => ("", arg),
    };
    let Some((name, value)) = header.split_once(':') else {
        return Cow::Borrowed(arg);
    };
    if !is_credential(name) {
        return Cow::Borrowed(arg);
    }
    Cow::Owned(format!("{flag}{name}: {}", masked_value(name, value)))
}

/// How the value of credential header `name` is written down: a
/// credential's scheme kept (`Bearer ***`), a cookie's all masked (`***`).
pub(crate) fn masked_value(name: &str, value: &str) -> String {
    match value.trim().split_once(' ') {
        Some((scheme, _)) if !name.trim().eq_ignore_ascii_case("cookie") => format!("{scheme} ***"),
        _ => "***".to_owned(),
    }
}

/// Takes the user and password out of `url` (credentials go as
/// `Authorization`, never in a URL that is sent on or written down).
pub(crate) fn strip_userinfo(url: &mut Url) {
    // Both only fail for URLs that cannot have a userinfo (no host).
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// The `Referer` to send when following a link from `from` to `to`, if
/// any (strict-origin-when-cross-origin, and never userinfo or a
/// fragment).
pub fn referer(from: &Url, to: &Url) -> Option<String> {
    if !matches!(from.scheme(), "http" | "https") {
        return None;
    }
    if from.scheme() == "https" && to.scheme() != "https" {
        return None;
    }
    let mut r = from.clone();
    strip_userinfo(&mut r);
    r.set_fragment(None);
    if from.origin() != to.origin() {
        r.set_path("/");
        r.set_query(None);
    }
    Some(r.into())
}

/// `url` as written in records and messages: its password masked
/// (`https://user:***@host/`), or a user name alone, often a token,
/// masked (`https://***@host/`), and an international host name in
/// Unicode (see [`display_url`](crate::idn::display_url)).
pub fn redact_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return crate::idn::display_url(url).into_owned();
    }
    let mut shown = url.clone();
    let _ = match url.password() {
        Some(_) => shown.set_password(Some("***")),
        None => shown.set_username("***"),
    };
    crate::idn::display_url(&shown).into_owned()
}

/// `text` with the credentials of every URL in it masked, as
/// `redact_url` does (for error messages, which may quote URLs), and the
/// value of a `pass` or `password` query parameter too (how a Redis URL
/// of a unix socket carries its password: `unix:///run/redis.sock?pass=***`).
pub fn redact_text(text: &str) -> Cow<'_, str> {
    static QUERY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)([?&](?:pass|password)=)[^&#\s]*").expect("a valid regex")
    });
    // A message may go on right after the URL: "...?pass=x: failed".
    let mask = |c: &regex::Captures<'_>| {
        let value = &c[0][c[1].len()..];
        let tail = value.len() - value.trim_end_matches([':', ',', ';', '.', ')']).len();
        format!("{}***{}", &c[1], &value[value.len() - tail..])
    };
    match redact_userinfo(text) {
        Cow::Borrowed(t) => QUERY.replace_all(t, mask),
        Cow::Owned(t) => Cow::Owned(QUERY.replace_all(&t, mask).into_owned()),
    }
}

/// `text` with the userinfo of every URL in it masked.
fn redact_userinfo(text: &str) -> Cow<'_, str> {
    static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
        // scheme://user[:password]@ — the userinfo ends at the last '@'
        // before the path, query or fragment (a password may hold an
        // '@' of its own, unencoded: URL parsers and curl read it so);
        // a quote or an angle bracket ends a URL quoted in a message.
        Regex::new(r#"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s"<>]*@)"#).expect("a valid regex")
    });
    USERINFO.replace_all(text, |c: &regex::Captures<'_>| {
        let userinfo = &c[2][..c[2].len() - 1];
        let masked = match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@"),
            None => "***@".to_owned(),
        };
        format!("{}{masked}", &c[1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn referer_never_carries_userinfo_or_a_fragment() {
        let from = u("http://alice:pw@a.test:8080/dir/page?x=1#top");
        assert_eq!(
            referer(&from, &u("http://alice:pw@a.test:8080/other")).as_deref(),
            Some("http://a.test:8080/dir/page?x=1")
        );
        assert_eq!(
            referer(&from, &u("https://a.test:8080/")).as_deref(),
            Some("http://a.test:8080/")
        );
        assert_eq!(
            referer(&from, &u("http://b.test/")).as_deref(),
            Some("http://a.test:8080/")
        );
        let user_only = u("https://token@a.test/p");
        assert_eq!(
            referer(&user_only, &u("https://a.test/q")).as_deref(),
            Some("https://a.test/p")
        );
    }

    #[test]
    fn no_referer_from_https_to_http() {
        assert_eq!(referer(&u("https://a.test/p"), &u("http://b.test/")), None);
        assert_eq!(referer(&u("https://a.test/p"), &u("http://a.test/p")), None);
        assert!(referer(&u("http://a.test/p"), &u("https://a.test/p")).is_some());
    }

    #[test]
    fn redaction_masks_every_url_in_a_message() {
        assert_eq!(
            redact_text("a http://u:p@x.test/ and https://v:q%40r@y.test:1/z?w@x"),
            "a http://u:***@x.test/ and https://v:***@y.test:1/z?w@x"
        );
        assert_eq!(redact_text("mailto:a@b.test"), "mailto:a@b.test");
        // A password with '@' of its own, unencoded: masked up to the
        // last '@' (the security audit's 3: "user:***@ssSECRET@host").
        assert_eq!(
            redact_text("invalid URL \"http://user:p@ssSECRET@[::1/\" and http://h/x@y"),
            "invalid URL \"http://user:***@[::1/\" and http://h/x@y"
        );
        assert_eq!(redact_text("http://tok@en@h.test/"), "http://***@h.test/");
        assert_eq!(
            redact_text(
                "redis unix:///r/redis.sock?db=6&pass=s3cret: failed; redis+unix:///s?PassWord=x#f"
            ),
            "redis unix:///r/redis.sock?db=6&pass=***: failed; redis+unix:///s?PassWord=***#f"
        );
        assert_eq!(
            redact_text("/p?passage=1&bypass=2"),
            "/p?passage=1&bypass=2"
        );
        assert_eq!(redact_url(&u("http://a.test/")), "http://a.test/");
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::secrets::referer;
        let u = |s: &str| url::Url::parse(s).unwrap();
        // Same origin: the whole URL, without credentials or fragment.
        assert_eq!(
            referer(&u("https://al:pw@a.test/p?q#f"), &u("https://a.test/x")).as_deref(),
            Some("https://a.test/p?q")
        );
        // Another origin: only the origin.
        assert_eq!(
            referer(&u("https://a.test/p?q"), &u("https://b.test/")).as_deref(),
            Some("https://a.test/")
        );
        // From https to http: nothing.
        assert_eq!(referer(&u("https://a.test/p"), &u("http://a.test/p")), None);
    }

    #[test]
    fn example_2() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            solo_crawl::secrets::redact_url(&u("https://alice:pw@a.test/x#f")),
            "https://alice:***@a.test/x#f"
        );
        assert_eq!(
            solo_crawl::secrets::redact_url(&u("https://ghp_token@a.test/")),
            "https://***@a.test/"
        );
    }

    #[test]
    fn example_3() {
        use solo_crawl::secrets::redact_text;
        assert_eq!(
            redact_text("cannot connect to a.test:80 (http://alice:pw@a.test/x)"),
            "cannot connect to a.test:80 (http://alice:***@a.test/x)"
        );
        assert_eq!(
            redact_text("see https://tok@b.test/"),
            "see https://***@b.test/"
        );
        assert_eq!(
            redact_text("no secret at http://a.test/"),
            "no secret at http://a.test/"
        );
    }
}
