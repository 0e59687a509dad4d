//! What a page says about crawling it: `<meta name="robots">`, the
//! `X-Robots-Tag` header, and `<meta http-equiv="refresh">`.
//!
//! Owns: reading those values into [`Directives`] (`noindex`,
//! `nofollow`; `none` is both) for the crawler's agent name — a meta
//! named `robots` or the agent (e.g. `solo-crawl`), a header value
//! `noindex` or `solo-crawl: noindex` — and a refresh's delay and
//! target ([`Refresh`]). Must not: act on them (the engine drops the
//! links of a `nofollow` page, records `noindex`, and sends a refresh's
//! target to the frontier as a redirect), or scan the HTML (the
//! [`links`](crate::links) scan collects the raw values).

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
                // `agent: directives`, unless the word before the colon is
                // a directive that takes a value.
                Some((who, rest)) if !takes_value(who.trim()) => {
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
    /// standard's "shared declarative refresh steps", simplified): a
    /// non-negative number, then optionally `;` or `,` and `url=` (any
    /// case, optional) and the URL, quotes removed. `None` if there is no
    /// number.
    pub fn parse(content: &str) -> Option<Refresh> {
        let s = content.trim_start();
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let delay: f64 = s[..end].parse().ok()?;
        let rest = s[end..].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let rest = rest
            .trim_start()
            .trim_start_matches([';', ','])
            .trim_start();
        let rest = match rest.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("url") => {
                let after = rest[3..].trim_start();
                after.strip_prefix('=').map_or(rest, str::trim_start)
            }
            _ => rest,
        };
        let url = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest,
        }
        .trim();
        Some(Refresh {
            delay,
            url: (!url.is_empty()).then(|| url.to_owned()),
        })
    }
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
