//! What a page says about crawling it: `<meta name="robots">`, the
//! `X-Robots-Tag` header, `<meta http-equiv="refresh">`, and the
//! canonical URL a `Link` header gives.
//!
//! Owns: reading those values into [`Directives`] (`noindex`,
//! `nofollow`; `none` is both) for the crawler's agent name — a meta
//! named `robots` or the agent (e.g. `solo-crawl`), a header value
//! `noindex` or `solo-crawl: noindex` — and a refresh's delay and
//! target ([`Refresh`]), the `rel="canonical"` target of `Link` headers
//! ([`link_canonical`], as a PDF or an image gives its canonical URL).
//! Must not: act on them (the engine drops the
//! links of a `nofollow` page, records `noindex`, and sends a refresh's
//! target to the frontier as a redirect), or scan the HTML (the
//! [`links`](crate::links) scan collects the raw values).

/// The first `rel="canonical"` target of the `Link` headers (RFC 8288:
/// `<URL>; rel="canonical"`, several links a header), resolved against
/// `base`; http(s) only.
pub fn link_canonical(headers: &[(String, String)], base: &url::Url) -> Option<url::Url> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("link"))
        .flat_map(|(_, v)| links_of(v))
        .find(|(_, params)| {
            params.split(';').any(|p| {
                let Some((name, value)) = p.split_once('=') else {
                    return false;
                };
                let value = value.trim().trim_matches('"');
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|(target, _)| base.join(target.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The links of one `Link` value: each `<target>` with the parameters
/// after it (up to the next `<`, so a comma inside a quoted parameter or
/// the target does not split it).
fn links_of(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split('<').skip(1).filter_map(|part| {
        let (target, params) = part.split_once('>')?;
        Some((target, params))
    })
}

/// `noindex` and `nofollow`, as a page asked for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Directives {
    /// The page asks not to be indexed.
    pub noindex: bool,
    /// The page asks that its links not be followed.
    pub nofollow: bool,
}

impl Directives {
    /// Adds the directives of one comma-separated value (`all`,
    /// `index`, `follow` and unknown ones change nothing).
    pub fn add(&mut self, value: &str) {
        for d in value.split(',') {
            let d = d.trim();
            if d.eq_ignore_ascii_case("noindex") {
                self.noindex = true;
            } else if d.eq_ignore_ascii_case("nofollow") {
                self.nofollow = true;
            } else if d.eq_ignore_ascii_case("none") {
                self.noindex = true;
                self.nofollow = true;
            }
        }
    }

    /// The directives of a page for `agent`: the meta tags (name, content)
    /// named `robots` or `agent`, and every `X-Robots-Tag` header in
    /// `headers` (names lower-case) that names no agent or `agent`.
    pub fn of_page(
        headers: &[(String, String)],
        meta: &[(String, String)],
        agent: &str,
    ) -> Directives {
        let mut d = Directives::default();
        for (name, content) in meta {
            if name.eq_ignore_ascii_case("robots") || name.eq_ignore_ascii_case(agent) {
                d.add(content);
            }
        }
        for (name, value) in headers {
            if name != "x-robots-tag" {
                continue;
            }
            match value.split_once(':') {
                // `agent: directives`, unless what comes before the colon
                // is no single word (`nofollow, max-image-preview:large`)
                // or a directive that takes a value.
                Some((who, rest))
                    if !who.trim().contains([',', ' ']) && !takes_value(who.trim()) =>
                {
                    if who.trim().eq_ignore_ascii_case(agent) {
                        d.add(rest);
                    }
                }
                _ => d.add(value),
            }
        }
        d
    }
}

/// The robots directives written `name: value`.
fn takes_value(word: &str) -> bool {
    [
        "unavailable_after",
        "max-snippet",
        "max-image-preview",
        "max-video-preview",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}

/// A `<meta http-equiv="refresh" content="5; url=/next">`: the delay in
/// seconds and the target as written (`None`: the page reloads itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Refresh {
    /// Seconds before the browser would go.
    pub delay: f64,
    /// Where to, unresolved.
    pub url: Option<String>,
}

impl Refresh {
    /// Parses a refresh `content` value as browsers do (the HTML
    /// standard's "shared declarative refresh steps"): ASCII whitespace,
    /// the delay (digits, then optionally `.` and digits or dots: `.5`,
    /// `1.5.0`), then nothing or `;`, `,` or ASCII whitespace and the URL
    /// part (`url=` and quotes removed). `None` (no refresh) if there is
    /// no delay or anything else follows it (`5x; url=/a`, `2e1`, `1abc`).
    pub fn parse(content: &str) -> Option<Refresh> {
        let (delay, rest) = split_delay(content.trim_start_matches(is_space))?;
        let rest = match rest.chars().next() {
            None => rest,
            Some(c) if c == ';' || c == ',' || is_space(c) => {
                let rest = rest.trim_start_matches(is_space);
                let rest = rest.strip_prefix([';', ',']).unwrap_or(rest);
                rest.trim_start_matches(is_space)
            }
            Some(_) => return None,
        };
        let url = target(rest).trim_matches(|c: char| c <= ' ');
        Some(Refresh {
            delay,
            url: (!url.is_empty()).then(|| url.to_owned()),
        })
    }
}

/// The delay at the start of `s` in seconds, and what follows it: the
/// run of digits and dots (none: `None`), read up to its second dot
/// (`1.5.0` is 1.5 s, `.` is 0 s).
fn split_delay(s: &str) -> Option<(f64, &str)> {
    let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if int_len == 0 && !s.starts_with('.') {
        return None;
    }
    let run_len = s.find(|c: char| !c.is_ascii_digit() && c != '.');
    let (run, rest) = s.split_at(run_len.unwrap_or(s.len()));
    let number = run
        .match_indices('.')
        .nth(1)
        .map_or(run, |(i, _)| &run[..i]);
    // Digits with at most one dot parse, but for `.` alone; a number too
    // long for an f64 parses to infinity (a delay never reached).
    Some((number.parse().unwrap_or(0.0), rest))
}

/// The URL part of a refresh after the delay and its separator, as the
/// standard reads it: `url =` (any case) removed when the part starts
/// so, then (unless the part began with a `u` but not `url =`) a
/// leading quote up to its closing one.
fn target(part: &str) -> &str {
    let value = match url_value(part) {
        Some(value) => value,
        None if part.starts_with(['u', 'U']) => return part,
        None => part,
    };
    match value.chars().next() {
        Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
        _ => value,
    }
}

/// What follows `url =` (any case, ASCII whitespace around the `=`) at
/// the start of `part`.
fn url_value(part: &str) -> Option<&str> {
    let key = part.get(..3)?;
    if !key.eq_ignore_ascii_case("url") {
        return None;
    }
    let value = part[3..].trim_start_matches(is_space).strip_prefix('=')?;
    Some(value.trim_start_matches(is_space))
}

/// The HTML standard's ASCII whitespace.
fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::directives::Directives;
        let mut d = Directives::default();
        d.add("NoIndex , follow");
        assert_eq!(
            d,
            Directives {
                noindex: true,
                nofollow: false
            }
        );
        d.add("none");
        assert!(d.nofollow);
    }

    #[test]
    fn example_2() {
        use solo_crawl::directives::Directives;
        let h = |v: &str| ("x-robots-tag".to_owned(), v.to_owned());
        let d = Directives::of_page(
            &[h("otherbot: noindex"), h("solo-crawl: nofollow")],
            &[],
            "solo-crawl",
        );
        assert_eq!(
            d,
            Directives {
                noindex: false,
                nofollow: true
            }
        );
        let d = Directives::of_page(
            &[h("unavailable_after: 25 Jun 2010 15:00:00 PST, noindex")],
            &[],
            "x",
        );
        assert!(d.noindex);
        // A valued directive after plain ones is no agent's name (it was
        // read as the agent "nofollow, max-image-preview", so nothing).
        for v in [
            "nofollow, max-image-preview:large",
            "noindex, unavailable_after: 25 Jun 2030 15:00:00 PST",
        ] {
            let d = Directives::of_page(&[h(v)], &[], "solo-crawl");
            assert!(d.nofollow || d.noindex, "{v}: {d:?}");
        }
        let meta = [
            ("googlebot".to_owned(), "noindex".to_owned()),
            ("robots".to_owned(), "nofollow".to_owned()),
        ];
        assert_eq!(
            Directives::of_page(&[], &meta, "solo-crawl"),
            Directives {
                noindex: false,
                nofollow: true
            }
        );
    }

    #[test]
    fn example_3() {
        use solo_crawl::directives::Refresh;
        let r = Refresh::parse("5; URL='/next?a=1'").unwrap();
        assert_eq!((r.delay, r.url.as_deref()), (5.0, Some("/next?a=1")));
        assert_eq!(
            Refresh::parse("0;http://a.test/").unwrap().url.as_deref(),
            Some("http://a.test/")
        );
        assert_eq!(Refresh::parse("30").unwrap().url, None);
        assert!(Refresh::parse("soon; url=/x").is_none());
    }
}

/// The refresh cases browsers agree on, valid and not.
#[cfg(test)]
mod refresh {
    use super::Refresh;

    /// The delay and URL of a valid refresh.
    fn parsed(content: &str) -> (f64, Option<String>) {
        let r = Refresh::parse(content).unwrap_or_else(|| panic!("{content:?}: no refresh"));
        (r.delay, r.url)
    }

    fn to(delay: f64, url: &str) -> (f64, Option<String>) {
        (delay, Some(url.to_owned()))
    }

    #[test]
    fn anything_but_a_separator_after_the_delay_makes_it_invalid() {
        for content in [
            "5x; url=/next",
            "2e1; url=/next",
            "1abc",
            "1e400; url=/t1",
            "0x10; url=/x",
            "-1; url=/x",
            "+1; url=/x",
            "soon; url=/x",
            "; url=/x",
            "url=/x",
            "",
            " \t",
            "ü; url=/x",
        ] {
            assert_eq!(Refresh::parse(content), None, "{content:?}");
        }
    }

    #[test]
    fn the_forms_that_worked_still_do() {
        assert_eq!(parsed("0; url=/x"), to(0.0, "/x"));
        assert_eq!(parsed("0;URL='/x'"), to(0.0, "/x"));
        assert_eq!(parsed("0, url=/x"), to(0.0, "/x"));
        assert_eq!(parsed("0; url=\"/x y\" trailing"), to(0.0, "/x y"));
        assert_eq!(parsed("0; url='/x"), to(0.0, "/x"));
        assert_eq!(parsed("0; url = /x "), to(0.0, "/x"));
        assert_eq!(parsed("3;http://a.test/"), to(3.0, "http://a.test/"));
        assert_eq!(parsed(" \t7 ; uRl=/x"), to(7.0, "/x"));
        assert_eq!(parsed("5"), (5.0, None));
        assert_eq!(parsed("5;"), (5.0, None));
        assert_eq!(parsed("5; url="), (5.0, None));
    }

    #[test]
    fn whitespace_alone_separates_and_dots_follow_the_digits() {
        assert_eq!(parsed("0 /x"), to(0.0, "/x"));
        assert_eq!(parsed("0\nurl=/x"), to(0.0, "/x"));
        assert_eq!(parsed("1.5; url=/x"), to(1.5, "/x"));
        assert_eq!(parsed("1.5.9; url=/x"), to(1.5, "/x"));
        assert_eq!(parsed("2.; url=/x"), to(2.0, "/x"));
        assert_eq!(parsed(".5; url=/x"), to(0.5, "/x"));
        assert_eq!(parsed(".; url=/x"), to(0.0, "/x"));
        assert_eq!(parsed(&"9".repeat(400)).0, f64::INFINITY);
    }

    #[test]
    fn a_part_that_is_not_url_equals_is_the_url_itself() {
        // One separator only: a second one belongs to the URL.
        assert_eq!(parsed("0;;url=/x"), to(0.0, ";url=/x"));
        // Begins with a `u` but is not `url =`: taken whole, quotes and all.
        assert_eq!(parsed("0; urlx"), to(0.0, "urlx"));
        assert_eq!(parsed("0; u'/x'"), to(0.0, "u'/x'"));
        // Any other start: a leading quote is still removed.
        assert_eq!(parsed("0; '/x'"), to(0.0, "/x"));
        assert_eq!(parsed("0; é"), to(0.0, "é"));
    }
}

#[cfg(test)]
mod link_header {
    use super::link_canonical;

    fn canonical(values: &[&str]) -> Option<String> {
        let base = url::Url::parse("http://a.test/doc.pdf").unwrap();
        let headers: Vec<(String, String)> = values
            .iter()
            .map(|v| ("Link".to_owned(), (*v).to_owned()))
            .collect();
        link_canonical(&headers, &base).map(String::from)
    }

    #[test]
    fn the_canonical_link_of_the_headers() {
        let both = r#"</style.css>; rel=preload, </docs/doc.html>; rel="Canonical""#;
        assert_eq!(
            canonical(&[both]).as_deref(),
            Some("http://a.test/docs/doc.html")
        );
        let two = [
            "<https://b.test/x>; rel=\"alternate canonical\"",
            "</y>; rel=canonical",
        ];
        assert_eq!(canonical(&two).as_deref(), Some("https://b.test/x"));
        let comma = r#"</a,b>; title="one, two"; rel=canonical"#;
        assert_eq!(canonical(&[comma]).as_deref(), Some("http://a.test/a,b"));
    }

    #[test]
    fn no_canonical_link() {
        assert_eq!(canonical(&[]), None);
        assert_eq!(canonical(&["</x>; rel=next"]), None);
        assert_eq!(canonical(&["<mailto:a@b.test>; rel=canonical"]), None);
        assert_eq!(canonical(&["garbage; rel=canonical"]), None);
        assert_eq!(canonical(&["<"]), None);
    }
}
