//! Reading HTML: charset decoding, link extraction, the title.
//!
//! Owns: how bytes become text (the `charset` of `Content-Type`, else a
//! BOM, else a `<meta charset>` in the first 1024 bytes, else UTF-8 with
//! invalid bytes replaced — never an error), and which URLs a page links
//! to: `a[href]`, `area[href]` and `link[href]`, resolved against
//! `<base href>` (the first one) or the page URL, http and https only,
//! fragments dropped, each URL once per page in document order. Must not:
//! decide whether a link is crawled (the frontier does).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use encoding_rs::Encoding;
use scraper::{Html, Selector};
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

fn selector(cell: &'static OnceLock<Selector>, css: &str) -> &'static Selector {
    cell.get_or_init(|| Selector::parse(css).expect("built-in selector"))
}

/// The base URL of a document: its first `<base href>` resolved against
/// `page`, else `page`.
///
/// ```
/// let html = scraper::Html::parse_document(r#"<base href="/sub/"><a href="x">"#);
/// let page = url::Url::parse("http://a.test/dir/page").unwrap();
/// assert_eq!(solo_crawl::links::base_url(&html, &page).as_str(), "http://a.test/sub/");
/// ```
pub fn base_url(html: &Html, page: &Url) -> Url {
    static BASE: OnceLock<Selector> = OnceLock::new();
    html.select(selector(&BASE, "base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| page.join(h.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page.clone())
}

/// The http(s) links of a document, resolved against its base URL, each
/// once, fragments dropped, in document order.
///
/// ```
/// let html = scraper::Html::parse_document(
///     r#"<a href="b">1</a><a href="/c#x">2</a><link rel=next href="b"><a href="mailto:x@y">m</a>"#);
/// let page = url::Url::parse("http://a.test/dir/").unwrap();
/// let links: Vec<String> = solo_crawl::links::extract(&html, &page).iter().map(|u| u.to_string()).collect();
/// assert_eq!(links, ["http://a.test/dir/b", "http://a.test/c"]);
/// ```
pub fn extract(html: &Html, page: &Url) -> Vec<Url> {
    static LINKS: OnceLock<Selector> = OnceLock::new();
    let base = base_url(html, page);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for el in html.select(selector(&LINKS, "a[href], area[href], link[href]")) {
        let Some(href) = el.value().attr("href") else {
            continue;
        };
        let Ok(mut u) = base.join(href.trim()) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            continue;
        }
        u.set_fragment(None);
        if seen.insert(u.as_str().to_owned()) {
            out.push(u);
        }
    }
    out
}

/// The text of the first `<title>`, whitespace collapsed; `None` when
/// absent or empty.
///
/// ```
/// let html = scraper::Html::parse_document("<title>  Hello \n world </title>");
/// assert_eq!(solo_crawl::links::title(&html).as_deref(), Some("Hello world"));
/// ```
pub fn title(html: &Html) -> Option<String> {
    static TITLE: OnceLock<Selector> = OnceLock::new();
    let t = html.select(selector(&TITLE, "title")).next()?;
    let text = t.text().collect::<String>();
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| words.join(" "))
}
