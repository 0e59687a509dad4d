//! Page requisites (`--page-requisites`, wget's `-p`, Heritrix's
//! embedded resources): what a page needs to be displayed, so that an
//! archive of it replays whole.
//!
//! Owns: which URLs an HTML element embeds (`img[src]`, every candidate
//! of a `srcset`, `script[src]`, frames, `embed`, `object[data]`, media
//! and their posters and tracks, `input[type=image]`, icons (Apple's
//! too), stylesheets and preloads, the `background` of `body` and tables,
//! SVG `<image>`, `url(...)` in `style` attributes), the `url(...)` and
//! `@import` of CSS (`<style>` blocks and stylesheets, read with
//! cssparser's tokenizer), how a stylesheet's bytes become text, and the
//! requests for what was found: marked as requisites
//! ([`RequestExtras::requisite`](crate::request::RequestExtras::requisite),
//! the number of embeds from the page), with the page's callback and
//! cookie session. Must not: decide whether they are fetched (the
//! frontier: seen set, robots.txt, `--max-pages`, `--deny`, and scope
//! unless `--page-requisites` exempts them), or find links
//! ([`links`](crate::links) does, and calls in here for the rest).

use std::borrow::Cow;

use cssparser::{Parser, ParserInput, Token};
use encoding_rs::Encoding;
use url::Url;

use crate::request::Request;

/// The elements that may embed something, as one selector (for the DOM
/// that scraper builds); [`element`] says what each one embeds, and takes
/// nothing from any other element but its `style`.
pub(crate) const SELECTOR: &str = "img, source, script[src], iframe[src], frame[src], \
    embed[src], object[data], video, audio[src], track[src], input[src], link[href][rel], [style], \
    body[background], table[background], td[background], th[background], image";

/// Embeds from a page followed at most: a page's stylesheet (1), one it
/// imports (2), a font or image of that one (3), one more import level
/// (4). A chain of stylesheets importing new ones ends there.
pub(crate) const MAX_HOPS: u8 = 4;

/// CSS blocks entered at most (`a { b { c (...) } }`); deeper ones are
/// skipped, their URLs not read (real stylesheets nest a few levels).
const MAX_NESTING: u32 = 32;

/// What the element `tag` (lower case) embeds, pushed to `out` as written
/// (unresolved); `attr` returns an attribute's decoded value.
pub(crate) fn element(tag: &str, attr: impl Fn(&str) -> Option<String>, out: &mut Vec<String>) {
    let mut push = |name: &str| {
        if let Some(v) = attr(name) {
            if !v.trim().is_empty() {
                out.push(v);
            }
        }
    };
    match tag {
        "img" | "source" => {
            push("src");
            if let Some(set) = attr("srcset") {
                srcset(&set, out);
            }
        }
        "script" | "iframe" | "frame" | "embed" | "audio" | "track" => push("src"),
        "video" => {
            push("src");
            push("poster");
        }
        "object" => push("data"),
        // Old table layouts' backgrounds (wget -p fetches them too).
        "body" | "table" | "td" | "th" => push("background"),
        // SVG's `<image>`: `href`, or SVG 1.1's `xlink:href` (a DOM
        // gives it by its local name, `href`).
        "image" => {
            push("href");
            push("xlink:href");
        }
        "input" => {
            let image = attr("type").is_some_and(|t| t.trim().eq_ignore_ascii_case("image"));
            if image {
                push("src");
            }
        }
        "link" => {
            let rel = attr("rel").unwrap_or_default();
            // Icons (Apple's too), stylesheets, and what a page preloads
            // (`as=image|font|style|script|...`: all needed to display it).
            const EMBEDS: [&str; 6] = [
                "icon",
                "stylesheet",
                "apple-touch-icon",
                "apple-touch-icon-precomposed",
                "preload",
                "modulepreload",
            ];
            let embeds = rel
                .split_ascii_whitespace()
                .any(|t| EMBEDS.iter().any(|e| t.eq_ignore_ascii_case(e)));
            if embeds {
                push("href");
            }
        }
        _ => {}
    }
    if let Some(style) = attr("style") {
        css(&style, out);
    }
}

/// The URLs of a `srcset` (HTML's "parse a srcset attribute": candidates
/// are a URL and descriptors, split by commas; a descriptor may hold
/// commas inside parentheses).
///
/// `a.png 1x, b.png 2x,c.png` holds `a.png`, `b.png` and `c.png`;
/// `a.png,b.png` is one URL (a URL runs to the next space; only commas
/// at its end are not part of it).
pub(crate) fn srcset(set: &str, out: &mut Vec<String>) {
    let mut rest = set;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            return;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        rest = after;
        let bare = url.trim_end_matches(',');
        if !bare.is_empty() {
            out.push(bare.to_owned());
        }
        if bare.len() < url.len() {
            // `a.png,b.png`: the comma ended the candidate.
            continue;
        }
        // Skip the descriptors, up to a comma outside parentheses.
        let mut in_parens = false;
        let mut cut = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => in_parens = true,
                ')' => in_parens = false,
                ',' if !in_parens => {
                    cut = i;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[cut..];
    }
}

/// The URLs a piece of CSS (a stylesheet, a `<style>` block or a `style`
/// attribute) refers to: `url(...)` with or without quotes, the strings
/// of `@import` and of `image-set(...)`, as written (CSS escapes
/// expanded), unresolved. cssparser's tokenizer reads it as browsers do
/// (an unterminated string or `url(` ends at the line or the end, a bad
/// one is skipped); it never fails, and blocks nested deeper than
/// [`MAX_NESTING`] are skipped.
pub(crate) fn css(text: &str, out: &mut Vec<String>) {
    let mut input = ParserInput::new(text);
    let mut parser = Parser::new(&mut input);
    walk(&mut parser, 0, Strings::Text, out);
}

/// What the strings of a block are.
#[derive(Clone, Copy, PartialEq)]
enum Strings {
    Text,
    /// In `url("...")` or `src("...")`: the first token is the URL.
    FirstIsUrl,
    /// In `image-set(...)`: every string is a URL.
    Urls,
}

fn walk(p: &mut Parser<'_, '_>, depth: u32, mut strings: Strings, out: &mut Vec<String>) {
    let mut import = false;
    while let Ok(token) = p.next() {
        let after_import = std::mem::take(&mut import);
        let url_here = strings != Strings::Text;
        if strings == Strings::FirstIsUrl {
            strings = Strings::Text;
        }
        let nested = match token {
            Token::UnquotedUrl(u) => {
                out.push(u.to_string());
                None
            }
            Token::QuotedString(s) if after_import || url_here => {
                out.push(s.to_string());
                None
            }
            Token::AtKeyword(k) => {
                import = k.eq_ignore_ascii_case("import");
                None
            }
            Token::Function(name) => Some(
                if name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("src") {
                    Strings::FirstIsUrl
                } else if name.to_ascii_lowercase().ends_with("image-set") {
                    Strings::Urls
                } else {
                    Strings::Text
                },
            ),
            Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                Some(Strings::Text)
            }
            _ => None,
        };
        if let Some(inner) = nested.filter(|_| depth < MAX_NESTING) {
            let _ = p.parse_nested_block(|p| {
                walk(p, depth + 1, inner, out);
                Ok::<(), cssparser::ParseError<'_, ()>>(())
            });
        }
    }
}

/// Whether a `Content-Type` names a stylesheet (`text/css`).
pub(crate) fn is_css(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or("").trim();
        mime.eq_ignore_ascii_case("text/css")
    })
}

/// A stylesheet's text, as CSS Syntax decodes it: a BOM wins, then the
/// `charset` of `Content-Type`, then an `@charset "..."` at the start,
/// else UTF-8; bad bytes replaced.
pub(crate) fn decode_css<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let named = content_type
        .and_then(crate::links::charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| {
            let rest = body.strip_prefix(b"@charset \"")?;
            let end = memchr::memchr(b'"', &rest[..rest.len().min(64)])?;
            Encoding::for_label(&rest[..end])
        });
    let e = match named {
        // A stylesheet that says UTF-16 in ASCII is not UTF-16.
        Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => encoding_rs::UTF_8,
        Some(e) => e,
        None => encoding_rs::UTF_8,
    };
    // `decode` lets a BOM win.
    e.decode(body).0
}

/// The requisites of a stylesheet, resolved against its URL (http(s)
/// only, fragments dropped, each once, at most `max`), and whether more
/// were cut.
pub(crate) fn of_stylesheet(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
    max: usize,
) -> (Vec<Url>, bool) {
    let mut found = Vec::new();
    css(&decode_css(body, content_type), &mut found);
    resolve(url, found, max, encoding_rs::UTF_8)
}

/// The requisites of a fetched stylesheet (see [`of_stylesheet`]), read
/// on a helper thread when it is larger than
/// [`parse_off_loop_bytes`](crate::Config::parse_off_loop_bytes).
pub(crate) async fn read_stylesheet(
    f: &crate::fetch::Fetched,
    cfg: &crate::Config,
) -> (Vec<Url>, bool) {
    let max = cfg.max_links_per_page;
    let content_type = f.header("content-type");
    if f.body.len() <= cfg.parse_off_loop_bytes {
        return of_stylesheet(&f.body, content_type, &f.final_url, max);
    }
    let (body, url) = (f.body.clone(), f.final_url.clone());
    let content_type = content_type.map(str::to_owned);
    solo::to_thread(move || of_stylesheet(&body, content_type.as_deref(), &url, max)).await
}

/// `found` resolved against `base` (queries in `charset`, see
/// [`join_in`](crate::links::join_in)): http(s) only, fragments dropped,
/// each once in the order found, at most `max` (and whether more were
/// cut).
pub(crate) fn resolve<I, S>(
    base: &Url,
    found: I,
    max: usize,
    charset: &'static Encoding,
) -> (Vec<Url>, bool)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = std::collections::HashSet::new();
    let mut urls = Vec::new();
    for h in found {
        let Ok(mut u) = crate::links::join_in(base, h.as_ref().trim(), charset) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            continue;
        }
        u.set_fragment(None);
        if seen.insert(u.as_str().to_owned()) {
            if urls.len() == max {
                return (urls, true);
            }
            urls.push(u);
        }
    }
    (urls, false)
}

/// Requests for the requisites `urls` of the page (or stylesheet)
/// `parent` fetched: one embed further than it, in its cookie session,
/// with the callback `page_callback` gives (one that would parse its
/// HTML answer as a page: see
/// [`Spider::requisite_callback`](crate::Spider::requisite_callback)),
/// else the parent's, never called; none past [`MAX_HOPS`].
pub(crate) fn requests<C: Clone>(
    parent: &Request<C>,
    urls: &[Url],
    page_callback: impl Fn(&Url) -> Option<C>,
) -> Vec<Request<C>> {
    let hop = parent.extras().requisite.saturating_add(1);
    if hop > MAX_HOPS {
        return Vec::new();
    }
    urls.iter()
        .map(|u| {
            let claimed = page_callback(u);
            let page = claimed.is_some();
            let mut r = Request::new(
                u.clone(),
                claimed.unwrap_or_else(|| parent.callback.clone()),
            );
            let x = r.extras_mut();
            x.requisite = hop;
            x.requisite_page = page;
            x.cookie_jar = parent.extras().cookie_jar.clone();
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn css_urls(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        css(text, &mut v);
        v
    }

    fn srcset_urls(set: &str) -> Vec<String> {
        let mut v = Vec::new();
        srcset(set, &mut v);
        v
    }

    #[test]
    fn css_url_and_import_forms() {
        let text = r#"@charset "utf-8";
            @import "a.css"; @import url(b.css) screen; @IMPORT url( 'c.css' );
            body { background: URL(bg.png) no-repeat, url("q\"uote.png"), url( sp\ ace.png ) }
            @font-face { font-family: X; src: url(f.woff2) format("woff2"), url('f.woff') }
            .x { background-image: image-set("lo.png" 1x, url(hi.png) 2x) }
            @media (min-width: 10px) { .y { cursor: url(c.cur), auto } }
            .z { content: "not a url(x.png)"; font-family: "Not A Url" }
            /* url(comment.png) */ .w { background: url(data:image/png;base64,AAAA) }
            .esc { background: url(a\29 b.png) }"#;
        assert_eq!(
            css_urls(text),
            [
                "a.css",
                "b.css",
                "c.css",
                "bg.png",
                "q\"uote.png",
                "sp ace.png",
                "f.woff2",
                "f.woff",
                "lo.png",
                "hi.png",
                "c.cur",
                "data:image/png;base64,AAAA",
                "a)b.png",
            ]
        );
    }

    #[test]
    fn hostile_css_neither_panics_nor_hangs() {
        // Unterminated string and url(: what comes before still counts.
        assert_eq!(
            css_urls("a{b:url(x.png)} c{content:\"never closed"),
            ["x.png"]
        );
        assert_eq!(
            css_urls("a{b:url(x.png)} c{b:url(never-closed"),
            ["x.png", "never-closed"]
        );
        // A string cut by a newline is bad (skipped); what follows parses.
        assert_eq!(
            css_urls("a{b:url('bad\nstring)}\nc{b:url(ok.png)}"),
            ["ok.png"]
        );
        assert_eq!(css_urls("a{b:url('one' 'two')}"), ["one"]);
        assert_eq!(
            css_urls("a{b:url(bad url.png)} c{b:url(ok.png)}"),
            ["ok.png"]
        );
        assert_eq!(css_urls("@import"), Vec::<String>::new());
        assert_eq!(css_urls("\\"), Vec::<String>::new());
        assert_eq!(css_urls("url(\\"), ["\u{fffd}"]);
        // A million nested blocks: skipped past the nesting limit, not a
        // stack overflow; the URL after them is found.
        let deep = "(".repeat(1_000_000) + &")".repeat(1_000_000) + "a{b:url(after.png)}";
        assert_eq!(css_urls(&deep), ["after.png"]);
        let deep_url = "{".repeat(100_000) + "url(in.png)";
        assert!(css_urls(&deep_url).is_empty());
        // Big: 8 MiB of rules, linear.
        let big = "a{background:url(/i.png)}".repeat(320_000);
        assert_eq!(css_urls(&big).len(), 320_000);
        let junk: String = (0..200_000u32)
            .map(|i| char::from_u32((i * 7919) % 0x7f + 1).unwrap())
            .collect();
        let _ = css_urls(&junk);
        let nul = "a{b:url(\u{0}x.png)} @import \"\u{0}\";";
        assert_eq!(css_urls(nul), ["\u{fffd}x.png", "\u{fffd}"]);
    }

    #[test]
    fn srcset_candidates() {
        assert_eq!(
            srcset_urls("a.png 1x, b.png 2x,c.png"),
            ["a.png", "b.png", "c.png"]
        );
        assert_eq!(
            srcset_urls(" /w.jpg 480w,\n/x,y.jpg 800w , z.jpg"),
            ["/w.jpg", "/x,y.jpg", "z.jpg"]
        );
        // A comma inside a URL is part of it (HTML's rule): one candidate.
        assert_eq!(srcset_urls("a.png,b.png"), ["a.png,b.png"]);
        assert_eq!(srcset_urls("a.png, b.png,"), ["a.png", "b.png"]);
        assert_eq!(srcset_urls("a.png (1x, 2x) 1x, b.png"), ["a.png", "b.png"]);
        assert!(srcset_urls(" , ,, ").is_empty());
        assert_eq!(srcset_urls("only.png"), ["only.png"]);
    }

    #[test]
    fn stylesheets_decode_as_css_says() {
        assert_eq!(decode_css(b"a{}", None), "a{}");
        assert_eq!(
            decode_css(b"@charset \"iso-8859-1\"; /* caf\xe9 */", None),
            "@charset \"iso-8859-1\"; /* café */"
        );
        assert_eq!(
            decode_css(b"caf\xe9", Some("text/css; charset=latin1")),
            "café"
        );
        assert_eq!(
            decode_css(b"\xef\xbb\xbfa", Some("text/css; charset=latin1")),
            "a"
        );
        assert_eq!(decode_css(b"bad \xff", None), "bad \u{fffd}");
        assert_eq!(
            decode_css(b"@charset \"utf-16\"; a", None),
            "@charset \"utf-16\"; a"
        );
        assert!(is_css(Some("Text/CSS; charset=utf-8")));
        assert!(!is_css(Some("text/html")) && !is_css(None));
    }

    #[test]
    fn a_stylesheets_requisites_resolve_against_it() {
        let u = Url::parse("http://a.test/css/site.css").unwrap();
        let got = of_stylesheet(
            b"@import 'more.css'; a{b:url(../img/x.png#f)} c{b:url(/img/x.png)} d{b:url(javascript:x)} e{b:url(//cdn.test/f.woff)}",
            Some("text/css"),
            &u,
            10,
        )
        .0;
        let got: Vec<&str> = got.iter().map(Url::as_str).collect();
        assert_eq!(
            got,
            [
                "http://a.test/css/more.css",
                "http://a.test/img/x.png",
                "http://cdn.test/f.woff"
            ]
        );
        assert_eq!(
            resolve(&u, ["a", "b", "c"], 2, encoding_rs::UTF_8),
            (vec![u.join("a").unwrap(), u.join("b").unwrap()], true)
        );
    }

    #[test]
    fn requisite_requests_count_their_hops_and_stop() {
        let page = Request::new(Url::parse("http://a.test/").unwrap(), ()).cookie_jar("s1");
        let urls = [Url::parse("http://a.test/s.css").unwrap()];
        let css = requests(&page, &urls, |_| None).remove(0);
        assert_eq!(css.extras().requisite, 1);
        assert_eq!(css.extras().cookie_jar.as_deref(), Some("s1"));
        let mut r = css;
        for hop in 2..=MAX_HOPS {
            r = requests(&r, &urls, |_| None).remove(0);
            assert_eq!(r.extras().requisite, hop);
        }
        assert!(requests(&r, &urls, |_| None).is_empty());
    }

    #[test]
    fn a_stored_requisite_stays_one_and_a_link_stores_nothing_more() {
        let page = Request::new(Url::parse("http://a.test/").unwrap(), ());
        let urls = [Url::parse("http://a.test/i.png").unwrap()];
        let img = requests(&page, &urls, |_| None).remove(0);
        let text = serde_json::to_string(&img).unwrap();
        let back: Request<()> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.extras().requisite, 1, "{text}");
        assert!(!serde_json::to_string(&page).unwrap().contains("requisite"));
    }

    /// A requisite no callback claims has a seen-set key of its own (the
    /// spider's request for the URL is another); a claimed one takes the
    /// callback and the URL's key, and both survive the store.
    #[test]
    fn unclaimed_requisites_are_keyed_apart_from_the_spiders_requests() {
        let page = Request::new(Url::parse("http://a.test/").unwrap(), 1u8);
        let urls = [Url::parse("http://a.test/frame.html").unwrap()];
        let own = Request::new(urls[0].clone(), 7u8);
        let archived = requests(&page, &urls, |_| None).remove(0);
        assert_ne!(archived.fingerprint(), own.fingerprint());
        let claimed = requests(&page, &urls, |_| Some(2u8)).remove(0);
        assert_eq!(claimed.callback, 2);
        assert_eq!(claimed.fingerprint(), own.fingerprint());
        for r in [archived, claimed] {
            let back: Request<u8> =
                serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back.fingerprint(), r.fingerprint());
        }
    }
}
