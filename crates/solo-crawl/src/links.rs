//! Reading HTML: charset decoding, link extraction, the title.
//!
//! Owns: how bytes become text (the `charset` of `Content-Type`, else a
//! BOM, else a `<meta charset>` in the first 1024 bytes, else UTF-8 with
//! invalid bytes replaced — never an error), and the [`scan`] every HTML
//! page gets: its title and which URLs it links to — `a[href]`,
//! `area[href]` and `link[href]`, resolved against `<base href>` (the
//! first one) or the page URL, http and https only, fragments dropped, each
//! URL once per page in document order. Must not: decide whether a link is
//! crawled (the frontier does).
//!
//! The scan streams through the document with lol_html instead of
//! building a DOM with scraper (html5ever): 1.7× the pages/s on 2.4 KB
//! pages and 4.0-4.4× on 100 KB ones, same results
//! (`cargo run --release -p solo-bench --bin html-parse`; see
//! BENCHMARKS.md). The DOM is built only when a spider asks for CSS
//! selection ([`Response::select`](crate::Response::select)).

use std::borrow::Cow;
use std::collections::HashSet;

use encoding_rs::Encoding;
use url::Url;

/// Decodes a body to text. `content_type` is the header value, if any.
///
/// ```
/// use solo_crawl::links::decode;
/// assert_eq!(decode(b"caf\xe9", Some("text/html; charset=ISO-8859-1")), "café");
/// assert_eq!(decode(b"<meta charset=latin1>caf\xe9", None), "<meta charset=latin1>café");
/// assert_eq!(decode(b"bad \xff utf-8", None), "bad \u{fffd} utf-8");
/// ```
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| Encoding::for_bom(body).map(|(e, _)| e))
        .or_else(|| meta_charset(&body[..body.len().min(1024)]))
        .unwrap_or(encoding_rs::UTF_8);
    // `decode` sniffs a BOM (which wins) and replaces malformed sequences.
    encoding.decode(body).0
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// A `<meta charset=..>` or `<meta http-equiv content="..; charset=..">`
/// in the first bytes of a document (a simplified HTML prescan).
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<meta") {
        rest = &rest[i + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(j) = tag.find("charset") {
            let after = tag[j + 7..].trim_start();
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start().trim_start_matches(['"', '\'']);
                let end = v
                    .find(|c: char| {
                        c == '"' || c == '\'' || c == ';' || c.is_whitespace() || c == '/'
                    })
                    .unwrap_or(v.len());
                if let Some(e) = Encoding::for_label(&v.as_bytes()[..end]) {
                    // A page that says UTF-16 in ASCII is not UTF-16.
                    return Some(
                        if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE {
                            encoding_rs::UTF_8
                        } else {
                            e
                        },
                    );
                }
            }
        }
    }
    None
}

/// Whether a `Content-Type` names HTML (or XHTML). A missing type counts
/// as HTML when the body looks like markup.
///
/// ```
/// use solo_crawl::links::is_html;
/// assert!(is_html(Some("text/html; charset=utf-8"), b""));
/// assert!(is_html(Some("application/xhtml+xml"), b""));
/// assert!(!is_html(Some("application/json"), b"<a href=x>"));
/// assert!(is_html(None, b"  <!doctype html><p>"));
/// assert!(!is_html(None, b"%PDF-1.4"));
/// ```
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type {
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("text/html")
                || mime.eq_ignore_ascii_case("application/xhtml+xml")
        }
        None => body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'<'),
    }
}

/// What the crawler reads from every HTML page, found in one streaming
/// pass (lol_html; no DOM is built): the `<title>`, the base URL and the
/// links.
///
/// ```
/// let page = url::Url::parse("http://a.test/dir/page").unwrap();
/// let s = solo_crawl::links::scan(
///     r#"<title> Tom &amp; Jerry </title><base href="/sub/"><a href="x?a=1&amp;b=2#f">x</a>"#,
///     &page,
/// );
/// assert_eq!(s.title.as_deref(), Some("Tom & Jerry"));
/// assert_eq!(s.base.as_str(), "http://a.test/sub/");
/// assert_eq!(s.links[0].as_str(), "http://a.test/sub/x?a=1&b=2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageScan {
    /// The text of the first `<title>`, character references expanded,
    /// whitespace collapsed; `None` when absent or empty.
    pub title: Option<String>,
    /// The first `<base href>` resolved against the page URL (if http or
    /// https), else the page URL: what relative links resolve against.
    pub base: Url,
    /// The http(s) links (`a[href]`, `area[href]`, `link[href]`), resolved
    /// against `base`, fragments dropped, each once, in document order; at
    /// most the scan's cap (see [`scan_capped`]).
    pub links: Vec<Url>,
    /// The page had more links than the cap; the rest were not resolved.
    pub capped: bool,
}

/// Scans a decoded HTML document (see [`PageScan`]). Never fails: markup
/// the tokenizer gives up on ends the scan there, with what was found.
///
/// lol_html hands out attribute values and text as written, so character
/// references are expanded here by the WHATWG rules (those for attribute
/// values differ: `&amp;b=2` is `&b=2`, but `&copy=2` stays as is).
///
/// ```
/// let page = url::Url::parse("http://a.test/").unwrap();
/// let s = solo_crawl::links::scan(
///     r#"<a href="/b">1</a><a href="/c#x">2</a><link rel=next href="/b"><a href="mailto:x@y">m</a>
///        <script>var s = '<a href="/in-script">';</script><!-- <a href="/in-comment"> -->"#,
///     &page,
/// );
/// let links: Vec<&str> = s.links.iter().map(|u| u.as_str()).collect();
/// assert_eq!(links, ["http://a.test/b", "http://a.test/c"]);
/// assert_eq!(s.title, None);
/// ```
pub fn scan(html: &str, page: &Url) -> PageScan {
    scan_capped(html, page, usize::MAX)
}

/// [`scan`], keeping the first `max_links` links only (and saying so in
/// [`PageScan::capped`]): a page with a million links costs a million URL
/// parses and a million requests offered to the frontier, not its bytes.
///
/// ```
/// let page = url::Url::parse("http://a.test/").unwrap();
/// let html = "<a href=/1>1</a><a href=/1#x>1</a><a href=/2>2</a><a href=/3>3</a>";
/// let s = solo_crawl::links::scan_capped(html, &page, 2);
/// assert_eq!(s.links.len(), 2);
/// assert!(s.capped);
/// assert!(!solo_crawl::links::scan_capped(html, &page, 3).capped);
/// ```
pub fn scan_capped(html: &str, page: &Url, max_links: usize) -> PageScan {
    use lol_html::{element, text, HtmlRewriter, Settings};
    use std::cell::RefCell;

    let base: RefCell<Option<String>> = RefCell::new(None);
    let hrefs: RefCell<Vec<String>> = RefCell::new(Vec::new());
    // The first <title> only: 0 before it, 1 inside, 2 after.
    let title_state = RefCell::new(0u8);
    let title = RefCell::new(String::new());
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: vec![
                element!("base[href]", |el| {
                    let mut b = base.borrow_mut();
                    if b.is_none() {
                        *b = el.get_attribute("href");
                    }
                    Ok(())
                }),
                element!("a[href], area[href], link[href]", |el| {
                    if let Some(h) = el.get_attribute("href") {
                        hrefs.borrow_mut().push(h);
                    }
                    Ok(())
                }),
                element!("title", |_| {
                    let mut st = title_state.borrow_mut();
                    if *st == 0 {
                        *st = 1;
                    }
                    Ok(())
                }),
                text!("title", |t| {
                    let mut st = title_state.borrow_mut();
                    if *st == 1 {
                        title.borrow_mut().push_str(t.as_str());
                        if t.last_in_text_node() {
                            *st = 2;
                        }
                    }
                    Ok(())
                }),
            ],
            // Never bail out on ambiguous markup: take what comes.
            strict: false,
            ..Settings::new()
        },
        |_: &[u8]| {},
    );
    // An error (only a memory limit could raise one) ends the scan; what
    // was found so far stands.
    if rewriter.write(html.as_bytes()).is_ok() {
        let _ = rewriter.end();
    } else {
        drop(rewriter);
    }
    let base_href = base.into_inner().map(htmlize::unescape_attribute);
    let hrefs = hrefs.into_inner();
    finish(
        page,
        base_href.as_deref(),
        hrefs.into_iter().map(htmlize::unescape_attribute),
        &htmlize::unescape(title.into_inner()),
        max_links,
    )
}

/// [`scan`] of a document already parsed into a DOM (scraper): the same
/// result without a second pass. [`Response`](crate::Response) uses it
/// when a spider's CSS selection has built the DOM first.
///
/// ```
/// let page = url::Url::parse("http://a.test/").unwrap();
/// let html = r#"<title>A &amp; B</title><a href="/x?a=1&amp;b=2">x</a>"#;
/// let dom = scraper::Html::parse_document(html);
/// assert_eq!(solo_crawl::links::scan_dom(&dom, &page), solo_crawl::links::scan(html, &page));
/// ```
pub fn scan_dom(doc: &scraper::Html, page: &Url) -> PageScan {
    scan_dom_capped(doc, page, usize::MAX)
}

/// [`scan_dom`] keeping the first `max_links` links (see [`scan_capped`]).
///
/// ```
/// let page = url::Url::parse("http://a.test/").unwrap();
/// let dom = scraper::Html::parse_document("<a href=/1>1</a><a href=/2>2</a>");
/// assert!(solo_crawl::links::scan_dom_capped(&dom, &page, 1).capped);
/// ```
pub fn scan_dom_capped(doc: &scraper::Html, page: &Url, max_links: usize) -> PageScan {
    use scraper::Selector;
    use std::sync::OnceLock;
    static SELECTORS: OnceLock<[Selector; 3]> = OnceLock::new();
    let [base, links, title] = SELECTORS.get_or_init(|| {
        ["base[href]", "a[href], area[href], link[href]", "title"]
            .map(|css| Selector::parse(css).expect("built-in selector"))
    });
    let base_href = doc.select(base).next().and_then(|b| b.value().attr("href"));
    let hrefs = doc.select(links).filter_map(|e| e.value().attr("href"));
    let title: String = doc
        .select(title)
        .next()
        .map(|t| t.text().collect())
        .unwrap_or_default();
    finish(page, base_href, hrefs, &title, max_links)
}

/// The common end of both scans, on decoded strings: resolve the base and
/// the links, drop the rest, collapse the title's whitespace.
fn finish<I, S>(
    page: &Url,
    base_href: Option<&str>,
    hrefs: I,
    title: &str,
    max_links: usize,
) -> PageScan
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let base = base_href
        .and_then(|h| page.join(h.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page.clone());
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    let mut capped = false;
    for h in hrefs {
        let Ok(mut u) = base.join(h.as_ref().trim()) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            continue;
        }
        u.set_fragment(None);
        if seen.insert(u.as_str().to_owned()) {
            if links.len() == max_links {
                capped = true;
                break;
            }
            links.push(u);
        }
    }
    let words: Vec<&str> = title.split_whitespace().collect();
    PageScan {
        title: (!words.is_empty()).then(|| words.join(" ")),
        base,
        links,
        capped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(html: &str) -> PageScan {
        let page = Url::parse("http://a.test/dir/page.html").unwrap();
        let streamed = scan(html, &page);
        let dom = scan_dom(&scraper::Html::parse_document(html), &page);
        assert_eq!(streamed, dom, "the two scans differ on {html:?}");
        streamed
    }

    fn links(s: &PageScan) -> Vec<&str> {
        s.links.iter().map(|u| u.as_str()).collect()
    }

    #[test]
    fn character_references_follow_the_attribute_rules() {
        let s = both(
            r#"<a href="/q?a=1&amp;b=2">1</a><a href="/q?x=&copy=3">2</a>
               <a href="/q?y=&copy;">3</a><a href="/&#x41;&#66;">4</a>"#,
        );
        assert_eq!(
            links(&s),
            [
                "http://a.test/q?a=1&b=2",
                // In an attribute, `&copy` followed by `=` is left alone.
                "http://a.test/q?x=&copy=3",
                "http://a.test/q?y=%C2%A9",
                "http://a.test/AB",
            ]
        );
    }

    #[test]
    fn links_hidden_from_the_dom_are_not_links() {
        let s = both(
            r#"<head><script>document.write('<a href="/s1">')</script>
               <style>a[href="/s2"] { color: red }</style></head>
               <body><!-- <a href="/c1"> --><textarea><a href="/t1"></textarea>
               <title>not the title? it is</title>
               <A HREF=/upper>u</A><a href = '/single' >s</a><a href>empty</a>
               <area href="/area"><link rel=next href="/next"></body>"#,
        );
        assert_eq!(
            links(&s),
            [
                "http://a.test/upper",
                "http://a.test/single",
                // An empty href is the page itself.
                "http://a.test/dir/page.html",
                "http://a.test/area",
                "http://a.test/next",
            ]
        );
        assert_eq!(s.title.as_deref(), Some("not the title? it is"));
    }

    #[test]
    fn base_rules() {
        // The first <base href> counts, wherever it is; a non-http one is
        // ignored.
        let s = both(r#"<a href="x">x</a><base href="/b1/"><base href="/b2/">"#);
        assert_eq!(s.base.as_str(), "http://a.test/b1/");
        assert_eq!(links(&s), ["http://a.test/b1/x"]);
        let s = both(r#"<base href="javascript:alert(1)"><a href="x">x</a>"#);
        assert_eq!(links(&s), ["http://a.test/dir/x"]);
        let s = both(r#"<base target=_blank><base href="//cdn.test/"><a href="y">"#);
        assert_eq!(links(&s), ["http://cdn.test/y"]);
    }

    #[test]
    fn titles() {
        assert_eq!(
            both("<title>\n  Tom &amp; Jerry &mdash; &lt;1&gt;\n</title><title>second</title>")
                .title
                .as_deref(),
            Some("Tom & Jerry — <1>")
        );
        assert_eq!(both("<title>  </title>").title, None);
        assert_eq!(both("<p>no title</p>").title, None);
        assert_eq!(
            both("<title>a <b>not bold</b></title>").title.as_deref(),
            Some("a <b>not bold</b>")
        );
    }

    #[test]
    fn broken_markup_still_scans() {
        let s = both("<a href=/1>1<a href='/2>2</a><div <a href=/3>3</div><a href=\"/4\"");
        assert!(links(&s).contains(&"http://a.test/1"), "{:?}", links(&s));
        let s = both("\u{feff}<a href=\"/caf\u{e9}\">caf\u{e9}</a><a href=\"http://[::1\">bad</a>");
        assert_eq!(links(&s), ["http://a.test/caf%C3%A9"]);
    }

    #[test]
    fn hostile_markup_neither_panics_nor_hangs() {
        let page = Url::parse("http://a.test/").unwrap();
        let deep = "<div>".repeat(100_000) + "<a href=/deep>x</a>";
        let wide = "<a href=/w>".repeat(50_000);
        let long_attr = format!("<a href=\"/{}\">", "x".repeat(2_000_000));
        let junk: String = (0..200_000u32)
            .map(|i| char::from_u32((i * 7919) % 0x7f + 1).unwrap())
            .collect();
        let cases = [
            deep.as_str(),
            wide.as_str(),
            long_attr.as_str(),
            junk.as_str(),
            "<!-- never closed <a href=/c>",
            "<a href=\"/nul\u{0}x\">\u{0}</a><title>\u{0}</title>",
            "<base href=\"http://[bad\"><a href=x>",
            "<a href=\"&#x110000;&#0;&#xD800;\">bad refs</a>",
            "<svg><a href=/svg>s</a></svg><math><a href=/m>m</a></math>",
        ];
        for html in cases {
            let s = scan(html, &page);
            assert!(s.links.len() <= 3, "{} links", s.links.len());
        }
        assert_eq!(scan(&deep, &page).links[0].as_str(), "http://a.test/deep");
        assert_eq!(scan(&long_attr, &page).links.len(), 1);
    }
}
