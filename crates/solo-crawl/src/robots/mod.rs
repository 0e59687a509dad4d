//! robots.txt: what a host lets the crawler fetch, and how often.
//!
//! Owns: turning a robots.txt response into [`RobotsRules`] (parsed by
//! `rules` for the crawler's agent name, its first [`MAX_PARSED`] bytes)
//! — a 2xx body is parsed, a 4xx but 429 (no robots.txt) allows
//! all, and a robots.txt that could not be had (a network error, a 5xx or
//! 429 after the engine's retries) disallows all (RFC 9309 §2.3.1.4), or
//! allows all as in Scrapy with [`RobotsUnreachable::Allow`] — and
//! answering "may this URL be fetched" and "what is the Crawl-delay". Rule paths and URL paths are
//! compared in one form (RFC 9309 §2.2.2, [`comparison_form`]): escapes of
//! unreserved characters decoded, other escapes' hex upper-cased. The
//! frontier asks before
//! each request of the host. Must not: fetch (the engine fetches
//! `/robots.txt` once per host before its first page).

mod rules;

use std::borrow::Cow;
use std::time::Duration;

use url::{Position, Url};

use rules::Rules;
pub use rules::{sitemaps, MAX_PARSED};

use crate::config::RobotsUnreachable;

/// A host's robots.txt rules.
pub struct RobotsRules {
    robot: Option<Rules>,
    /// robots.txt could not be had (why): every URL is disallowed.
    unreachable: Option<String>,
}

impl std::fmt::Debug for RobotsRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsRules")
            .field("allow_all", &self.robot.is_none())
            .field("unreachable", &self.unreachable)
            .field("crawl_delay", &self.crawl_delay())
            .finish()
    }
}

/// The longest Crawl-delay honoured (a larger one is clamped to it).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

impl RobotsRules {
    /// Rules that allow everything with no delay.
    pub fn allow_all() -> RobotsRules {
        RobotsRules {
            robot: None,
            unreachable: None,
        }
    }

    /// The rules for `agent` given the robots.txt fetch's status (`None`:
    /// it failed) and body, a robots.txt that could not be had disallowing
    /// all (see [`from_fetch`](RobotsRules::from_fetch)).
    #[cfg(test)]
    pub fn from_response(agent: &str, status: Option<u16>, body: &[u8]) -> RobotsRules {
        RobotsRules::from_fetch(agent, status, body, None, RobotsUnreachable::Disallow)
    }

    /// The rules for `agent` given the robots.txt fetch's status (`None`:
    /// it failed, for the reason `failure`) and body; `policy` says what
    /// a robots.txt that could not be had means.
    pub fn from_fetch(
        agent: &str,
        status: Option<u16>,
        body: &[u8],
        failure: Option<&str>,
        policy: RobotsUnreachable,
    ) -> RobotsRules {
        match status {
            Some(200..=299) => RobotsRules {
                robot: Some(rules::parse(agent, body)),
                unreachable: None,
            },
            Some(s) if !unreachable_status(s) => RobotsRules::allow_all(),
            _ if policy == RobotsUnreachable::Allow => RobotsRules::allow_all(),
            Some(s) => RobotsRules {
                robot: None,
                unreachable: Some(format!("HTTP {s}")),
            },
            None => RobotsRules {
                robot: None,
                unreachable: Some(failure.unwrap_or("the fetch failed").to_owned()),
            },
        }
    }

    /// What the crawl makes of a host's robots.txt fetched with `status`
    /// (`None`: it failed), for the log.
    pub fn decision(&self, status: Option<u16>) -> String {
        if let Some(why) = &self.unreachable {
            return format!(
                "unreachable ({why}): disallowing all (--robots-unreachable allow to crawl anyway)"
            );
        }
        match (status, &self.robot) {
            (Some(200..=299), Some(_)) => "obeying its rules".into(),
            (Some(200..=299), None) => "unparsable: allowing all".into(),
            (Some(s), _) if !unreachable_status(s) => format!("none (HTTP {s}): allowing all"),
            (Some(s), _) => {
                format!("unreachable (HTTP {s}): allowing all (--robots-unreachable allow)")
            }
            (None, _) => "unreachable: allowing all (--robots-unreachable allow)".into(),
        }
    }

    /// Why robots.txt could not be had, when that disallows every URL.
    pub fn unreachable(&self) -> Option<&str> {
        self.unreachable.as_deref()
    }

    /// Whether `url` may be fetched: its path and query, in
    /// [`comparison_form`], against the rules.
    pub fn allowed(&self, url: &Url) -> bool {
        if self.unreachable.is_some() {
            return false;
        }
        self.robot.as_ref().is_none_or(|r| {
            r.allowed(&comparison_form(
                url[Position::BeforePath..Position::AfterQuery].as_bytes(),
            ))
        })
    }

    /// The Crawl-delay for this agent, clamped to [`MAX_CRAWL_DELAY`]: a
    /// larger one, infinite included (`1e300` and `inf` parse as such),
    /// asks for the most politeness and gets the cap. None for zero.
    pub fn crawl_delay(&self) -> Option<Duration> {
        let d = self.robot.as_ref()?.delay()?;
        (d > 0.0).then(|| {
            Duration::try_from_secs_f32(d).map_or(MAX_CRAWL_DELAY, |d| d.min(MAX_CRAWL_DELAY))
        })
    }
}

/// A robots.txt answer that says the server could not give it (RFC 9309
/// §2.3.1.4: 5xx; and 429, which asks to come back later), not that there
/// is none.
pub fn unreachable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// `text` with its percent-escapes in the one form RFC 9309 §2.2.2
/// compares: an escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`)
/// becomes the character, any other escape keeps its `%` with its hex
/// upper-cased (`%2f` → `%2F`, never `/`). Applied to a whole robots.txt
/// (only rule paths and sitemap URLs hold escapes there; a product token
/// cannot) and to each URL's path and query, so `/%7Ejoe` and `/~joe` match.
/// Borrowed when there is no `%` (most URLs: no copy per request).
fn comparison_form(text: &[u8]) -> Cow<'_, [u8]> {
    if !text.contains(&b'%') {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match escaped_byte(&text[i..]) {
            Some(b) if is_unreserved(b) => out.push(b),
            Some(b) => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend([b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            None => {
                out.push(text[i]);
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    Cow::Owned(out)
}

/// The byte a `%XX` escape at the start of `text` stands for, if it is one.
fn escaped_byte(text: &[u8]) -> Option<u8> {
    match text {
        [b'%', hi, lo, ..] => {
            let hex = |c: &u8| char::from(*c).to_digit(16);
            Some((hex(hi)? * 16 + hex(lo)?) as u8)
        }
        _ => None,
    }
}

/// RFC 3986's unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The robots.txt agent name of a User-Agent: its first word, without the
/// version (`solo-crawl/0.1 (+url)` → `solo-crawl`), or the bot a
/// browser-like one names after `compatible;` (`Mozilla/5.0 (compatible;
/// MyBot/1.0; +url)` → `MyBot`, as Googlebot's and Bingbot's are written).
pub fn agent_name(user_agent: &str) -> String {
    let first = user_agent.split_whitespace().next().unwrap_or("*");
    let first = first.split('/').next().unwrap_or("*");
    if first.eq_ignore_ascii_case("mozilla") {
        let lower = user_agent.to_ascii_lowercase();
        if let Some(at) = lower.find("compatible;") {
            let rest = user_agent[at + "compatible;".len()..].trim_start();
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            let token = &rest[..end];
            if !token.is_empty() && !token.eq_ignore_ascii_case("msie") {
                return token.to_owned();
            }
        }
    }
    first.to_owned()
}

/// Whether `name` can be a robots.txt product token (RFC 9309 §2.2.1:
/// letters, `-` and `_`), or why not.
pub fn check_agent(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphabetic() || c == '-' || c == '_';
    match name.is_empty() || !name.chars().all(ok) {
        true => Err(format!(
            "{name:?} is not a robots.txt product token (letters, - and _ only, as in User-agent: MyBot)"
        )),
        false => Ok(()),
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn decisions_name_what_the_crawl_does() {
        use super::RobotsRules;
        let none = RobotsRules::allow_all();
        assert_eq!(none.decision(Some(404)), "none (HTTP 404): allowing all");
        assert_eq!(
            none.decision(None),
            "unreachable: allowing all (--robots-unreachable allow)"
        );
        let rules = RobotsRules::from_response("bot", Some(200), b"User-agent: *\nDisallow: /x\n");
        assert_eq!(rules.decision(Some(200)), "obeying its rules");
    }

    #[test]
    fn example_1() {
        use solo_crawl::robots::RobotsRules;
        let rules = RobotsRules::from_response(
            "solo-crawl",
            Some(200),
            b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n",
        );
        let u = |s| url::Url::parse(s).unwrap();
        assert!(rules.allowed(&u("http://a.test/public")));
        assert!(!rules.allowed(&u("http://a.test/private/x")));
        assert_eq!(rules.crawl_delay(), Some(std::time::Duration::from_secs(2)));
        assert!(RobotsRules::from_response("solo-crawl", Some(404), b"")
            .allowed(&u("http://a.test/private/x")));
    }

    #[test]
    fn unreachable_robots_txt_disallows_all_unless_told_otherwise() {
        use super::{RobotsRules, RobotsUnreachable};
        let u = url::Url::parse("http://a.test/p/1").unwrap();
        for status in [None, Some(500), Some(503), Some(429)] {
            let r = RobotsRules::from_fetch(
                "bot",
                status,
                b"",
                Some("timeout"),
                RobotsUnreachable::Disallow,
            );
            assert!(!r.allowed(&u), "{status:?}");
            assert!(
                r.decision(status).starts_with("unreachable ("),
                "{status:?}"
            );
            let r = RobotsRules::from_fetch("bot", status, b"", None, RobotsUnreachable::Allow);
            assert!(r.allowed(&u) && r.unreachable().is_none(), "{status:?}");
        }
        let r = RobotsRules::from_response("bot", None, b"");
        assert_eq!(r.unreachable(), Some("the fetch failed"));
        for status in [400, 401, 403, 404, 410] {
            assert!(RobotsRules::from_response("bot", Some(status), b"").allowed(&u));
        }
    }

    #[test]
    fn example_2() {
        assert!(solo_crawl::robots::RobotsRules::allow_all()
            .crawl_delay()
            .is_none());
    }

    #[test]
    fn the_agent_of_a_browser_like_user_agent_is_the_bot_it_names() {
        use super::{agent_name, check_agent};
        let cases = [
            (
                "Mozilla/5.0 (compatible; MyBot/1.0; +https://x.test/bot)",
                "MyBot",
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot",
            ),
            ("Mozilla/5.0 (compatible;MyBot)", "MyBot"),
            (
                "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
                "Mozilla",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "Mozilla"),
            ("mybot/3", "mybot"),
            ("", "*"),
        ];
        for (ua, agent) in cases {
            assert_eq!(agent_name(ua), agent, "{ua}");
        }
        assert!(
            check_agent("My_Bot-2x").is_err(),
            "digits are not in a token"
        );
        assert!(check_agent("My_Bot-x").is_ok());
        assert!(check_agent("").is_err());
        assert!(check_agent("My Bot").is_err());
    }

    #[test]
    fn example_3() {
        assert_eq!(
            solo_crawl::robots::agent_name("solo-crawl/0.1 (+http://x)"),
            "solo-crawl"
        );
    }
}

/// Crawl-delay values: capped when too large, ignored when not a delay.
#[cfg(test)]
mod crawl_delay {
    use super::{RobotsRules, MAX_CRAWL_DELAY};
    use std::time::Duration;

    fn delay(value: &str) -> Option<Duration> {
        let body = format!("User-agent: *\nDisallow: /x\nCrawl-delay: {value}\n");
        RobotsRules::from_response("solo-crawl", Some(200), body.as_bytes()).crawl_delay()
    }

    #[test]
    fn a_delay_in_range_is_kept() {
        assert_eq!(delay("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(delay("60"), Some(MAX_CRAWL_DELAY));
    }

    #[test]
    fn a_delay_over_the_cap_or_infinite_gets_the_cap() {
        for value in [
            "61",
            "1e3",
            "86400",
            "99999999999",
            "1e20",
            "1e300",
            "inf",
            "infinity",
            "Infinity",
        ] {
            assert_eq!(delay(value), Some(MAX_CRAWL_DELAY), "Crawl-delay: {value}");
        }
    }

    #[test]
    fn no_delay_for_zero_nan_negative_or_unparsable() {
        for value in ["0", "nan", "NaN", "-1", "-inf", "soon", "1s", ""] {
            assert_eq!(delay(value), None, "Crawl-delay: {value}");
        }
    }
}

/// RFC 9309 §2.2.2: rule paths and URL paths compared with escapes of
/// unreserved characters decoded and hex case ignored.
#[cfg(test)]
mod percent_encoding {
    use super::{comparison_form, RobotsRules};

    fn rules(disallow: &str) -> RobotsRules {
        let body = format!("User-agent: *\nDisallow: {disallow}\n");
        RobotsRules::from_response("solo-crawl", Some(200), body.as_bytes())
    }

    fn allowed(rules: &RobotsRules, path: &str) -> bool {
        rules.allowed(&url::Url::parse(&format!("http://a.test{path}")).unwrap())
    }

    #[test]
    fn an_escaped_unreserved_character_in_the_rule_matches_it_plain() {
        let r = rules("/%7Ejoe");
        assert!(!allowed(&r, "/~joe/private"));
        assert!(!allowed(&r, "/%7Ejoe/private"));
        assert!(allowed(&r, "/joe"));
        let r = rules("/foo/bar/%62%61%7A");
        assert!(!allowed(&r, "/foo/bar/baz"), "RFC 9309's own example");
    }

    #[test]
    fn a_plain_unreserved_character_in_the_rule_matches_it_escaped() {
        let r = rules("/~joe");
        assert!(!allowed(&r, "/%7Ejoe/y"));
        assert!(!allowed(&r, "/%7ejoe/y"));
        assert!(!allowed(&r, "/~joe/y"));
        assert!(!allowed(&rules("/a-b_c.d"), "/%61%2D%62%5F%63%2E%64"));
    }

    #[test]
    fn hex_case_does_not_matter() {
        assert!(!allowed(&rules("/%7ejoe"), "/~joe/y"));
        assert!(!allowed(&rules("/a%2fb"), "/a%2Fb"));
        assert!(!allowed(&rules("/a%2Fb"), "/a%2fb"));
        assert!(!allowed(&rules("/caf%c3%a9"), "/caf%C3%A9"));
        assert!(!allowed(&rules("/café"), "/caf%c3%a9"));
    }

    #[test]
    fn reserved_characters_stay_escaped() {
        // `%2F` is not `/`: the two name different resources.
        assert!(allowed(&rules("/a%2Fb"), "/a/b"));
        assert!(allowed(&rules("/a/b"), "/a%2Fb"));
        assert!(allowed(&rules("/q?x=%26"), "/q?x=&"));
        // An escaped `*` or `$` is a character, not a wildcard or an end.
        assert!(allowed(&rules("/a%2Ab"), "/axb"));
        assert!(!allowed(&rules("/a%2Ab"), "/a%2ab"));
        assert!(allowed(&rules("/a%24"), "/a"));
    }

    #[test]
    fn the_comparison_form_of_odd_text() {
        let f = comparison_form;
        assert_eq!(&*f(b"/%7e%7E%2f%41%zz%4%"), b"/~~%2FA%zz%4%");
        assert_eq!(&*f(b"%25"), b"%25", "an escaped % stays escaped");
        assert_eq!(&*f(b"%2541"), b"%2541", "decoded once, not twice");
        assert_eq!(&*f(b"\xff%ff"), b"\xff%FF");
        assert!(matches!(
            f(b"/plain/path?q=1"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
