//! Reading HTML: charset decoding, link extraction, the title.
//!
//! Owns: how bytes become text (the `charset` of `Content-Type`, else a
//! BOM, else a `<meta charset>` in the first 1024 bytes, else UTF-8 if
//! the bytes are UTF-8 and windows-1252 if not, as browsers do; invalid
//! bytes of a named charset replaced — never an error; a JSON body's
//! text by RFC 8259's rule, [`json_text`]), and the [`scan`] every HTML
//! page gets: its title and which URLs it links to — `a[href]`,
//! `area[href]` and `link[href]` (those inside `<noscript>` too, the
//! first 256 of a page: no script runs here, so its content is markup,
//! as to wget and Scrapy),
//! resolved against `<base href>` (the first one) or the page URL, http and https only, fragments dropped, each
//! URL once per page in document order, the query in the page's charset
//! ([`join_in`]); with `--page-requisites`, also what the page embeds
//! (found by [`requisites`](crate::requisites), in the same pass; none
//! when off). Must not:
//! decide whether a link is crawled (the frontier does).
//!
//! The scan streams through the document with a tokenizer of our own
//! ([`html_tokens`](crate::html_tokens)) instead of building a DOM with
//! scraper (html5ever), same results (`cargo run --release -p solo-bench
//! --bin html-parse`; see BENCHMARKS.md); it replaced lol_html, which
//! cost more per page than the rest of the scan. The DOM is built only
//! when a spider asks for CSS selection
//! ([`Response::select`](crate::Response::select)).

use std::borrow::Cow;
use std::hash::BuildHasher as _;

use encoding_rs::Encoding;
use url::Url;

/// Decodes a body to text. `content_type` is the header value, if any.
#[cfg_attr(not(test), allow(dead_code))] // the tests' shorthand
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    decode_page(body, content_type).0
}

/// [`decode`], and the charset it decoded with (the page's encoding, in
/// which its forms and the queries of its links are sent).
pub fn decode_page<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    let named = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| Encoding::for_bom(body).map(|(e, _)| e))
        .or_else(|| meta_charset(&body[..body.len().min(1024)]));
    let encoding = match named {
        Some(e) => e,
        None => match std::str::from_utf8(body) {
            Ok(text) => return (Cow::Borrowed(text), encoding_rs::UTF_8),
            // UTF-8 text cut inside its last character (a body cut at a
            // size limit): what comes before has UTF-8's multibyte
            // characters and no error.
            Err(e) if e.error_len().is_none() && !body[..e.valid_up_to()].is_ascii() => {
                encoding_rs::UTF_8
            }
            // Not UTF-8 and nothing says what it is: the web's legacy
            // default, as browsers (WHATWG's fallback for most locales)
            // and Scrapy (w3lib) read such pages.
            Err(_) => encoding_rs::WINDOWS_1252,
        },
    };
    // `decode` sniffs a BOM (which wins) and replaces malformed sequences.
    let (text, used, _) = encoding.decode(body);
    (text, used)
}

/// A JSON body as a parser takes it (see [`json_text`]).
pub(crate) enum JsonText<'a> {
    /// UTF-8 bytes, a byte order mark skipped: parsed as they are.
    Utf8(&'a [u8]),
    /// The body decoded from another charset.
    Decoded(String),
}

/// A JSON body's text: UTF-8 (RFC 8259), unless a byte order mark
/// (UTF-16 or UTF-32, which wins) or the `Content-Type`'s charset says
/// otherwise, as Scrapy's `response.json()` reads `response.text`. A
/// UTF-8 body is not copied; bytes that are not in the named charset
/// become U+FFFD. A charset label that names nothing known is ignored.
pub(crate) fn json_text<'a>(body: &'a [u8], content_type: Option<&str>) -> JsonText<'a> {
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return JsonText::Utf8(rest);
    }
    // Before UTF-16's: UTF-32LE's mark starts with UTF-16LE's.
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE\0\0") {
        return JsonText::Decoded(decode_utf32(rest, false));
    }
    if let Some(rest) = body.strip_prefix(b"\0\0\xFE\xFF") {
        return JsonText::Decoded(decode_utf32(rest, true));
    }
    if let Some((utf16, bom)) = Encoding::for_bom(body) {
        let (text, _) = utf16.decode_without_bom_handling(&body[bom..]);
        return JsonText::Decoded(text.into_owned());
    }
    let Some(label) = content_type.and_then(charset_param) else {
        return JsonText::Utf8(body);
    };
    match label.to_ascii_lowercase().as_str() {
        "utf-32" | "utf-32be" => return JsonText::Decoded(decode_utf32(body, true)),
        "utf-32le" => return JsonText::Decoded(decode_utf32(body, false)),
        _ => {}
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(e) if e != encoding_rs::UTF_8 => {
            JsonText::Decoded(e.decode_without_bom_handling(body).0.into_owned())
        }
        _ => JsonText::Utf8(body),
    }
}

/// UTF-32 (big- or little-endian) to text; a unit that is no character,
/// and bytes left over, become U+FFFD.
fn decode_utf32(body: &[u8], big_endian: bool) -> String {
    let units = body.chunks(4).map(|c| match <[u8; 4]>::try_from(c) {
        Ok(b) if big_endian => char::from_u32(u32::from_be_bytes(b)),
        Ok(b) => char::from_u32(u32::from_le_bytes(b)),
        Err(_) => None,
    });
    units.map(|c| c.unwrap_or('\u{FFFD}')).collect()
}

/// `href` resolved against `base` as a page in `charset` does (the URL
/// Standard's query encoding, as browsers and Scrapy's `safe_url_string`
/// do): the query in the page's charset, a character it cannot encode
/// as `&#NNNN;`, the path in UTF-8. A UTF-8 page's is
/// [`Url::join`], with no extra work.
pub fn join_in(base: &Url, href: &str, charset: &'static Encoding) -> Result<Url, url::ParseError> {
    // Long links are left as they are: their growth costs less, relatively,
    // and the reused buffer stays small.
    if has_scheme(href) || href.len() > 4096 {
        return parse_join(base, href, charset);
    }
    // The url crate sizes a new URL's text by its input, and grows it (2-3
    // reallocations, ~3 % of a crawl's CPU) as a relative link's base is
    // copied in. The same link with trailing spaces, which the URL Standard
    // strips before parsing (so the result is the same), asks for the room
    // (at most `MAX_ROOM`: a page of a million links under a long URL must
    // not write and trim that URL's length in spaces a million times).
    const MAX_ROOM: usize = 256;
    PADDED.with(|p| {
        let mut p = p.borrow_mut();
        p.clear();
        p.push_str(href);
        p.extend(std::iter::repeat_n(' ', base.as_str().len().min(MAX_ROOM)));
        parse_join(base, &p, charset)
    })
}

thread_local! {
    /// [`join_in`]'s input, reused.
    static PADDED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Whether `href` starts with a scheme (`ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." ) ":"`): an absolute URL, which needs no room for its base.
fn has_scheme(href: &str) -> bool {
    let b = href.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    b.iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .is_some_and(|&c| c == b':')
}

/// `href` resolved against `base`, its query encoded in `charset` (see
/// [`join_in`], which decides whether `href` gets room first).
fn parse_join(base: &Url, href: &str, charset: &'static Encoding) -> Result<Url, url::ParseError> {
    // UTF-16 pages (and "replacement") send UTF-8.
    let charset = charset.output_encoding();
    if charset == encoding_rs::UTF_8 {
        return base.join(href);
    }
    let encode: &dyn Fn(&str) -> Cow<'_, [u8]> = &|s| query_bytes(charset, s);
    Url::options()
        .base_url(Some(base))
        .encoding_override(Some(encode))
        .parse(href)
}

/// A query in `charset` as the URL Standard encodes it: a character the
/// charset has not is `%26%23NNNN%3B` (its reference, percent-encoded,
/// so that its `&` does not split the query).
fn query_bytes<'a>(charset: &'static Encoding, s: &'a str) -> Cow<'a, [u8]> {
    let (bytes, _, unmappable) = charset.encode(s);
    if !unmappable {
        return bytes;
    }
    let mut encoder = charset.new_encoder();
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let room = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len() * 4 + 16);
        out.reserve(room);
        let (result, read) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return Cow::Owned(out),
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(c) => {
                out.extend_from_slice(format!("%26%23{}%3B", u32::from(c)).as_bytes());
            }
        }
    }
}

/// The `charset` parameter of a `Content-Type` value.
pub(crate) fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// A `<meta charset=..>` or `<meta http-equiv content="..; charset=..">`
/// in the first bytes of a document (a simplified HTML prescan, on bytes:
/// nothing is copied or allocated for a page that names no charset).
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let mut rest = head;
    while let Some(i) = memchr::memchr(b'<', rest) {
        rest = &rest[i + 1..];
        // `<meta` then a space or `/` (not `<metadata`).
        let is_meta = rest
            .get(..4)
            .is_some_and(|m| m.eq_ignore_ascii_case(b"meta"))
            && rest
                .get(4)
                .is_some_and(|&c| c == b'/' || c.is_ascii_whitespace());
        if !is_meta {
            continue;
        }
        rest = &rest[4..];
        let tag = &rest[..memchr::memchr(b'>', rest).unwrap_or(rest.len())];
        if let Some(e) = tag_charset(tag) {
            return Some(e);
        }
    }
    None
}

/// The encoding a `<meta>` tag's attributes name with `charset=`.
fn tag_charset(tag: &[u8]) -> Option<&'static Encoding> {
    let j = tag
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"charset"))?;
    let v = tag[j + 7..].trim_ascii_start().strip_prefix(b"=")?;
    let v = v.trim_ascii_start();
    let v = &v[v.iter().take_while(|&&c| c == b'"' || c == b'\'').count()..];
    let end = v
        .iter()
        .position(|&c| matches!(c, b'"' | b'\'' | b';' | b'/') || c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = Encoding::for_label(&v[..end])?;
    // A page that says UTF-16 in ASCII is not UTF-16.
    Some(
        if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE {
            encoding_rs::UTF_8
        } else {
            e
        },
    )
}

/// Whether a `Content-Type` names HTML (or XHTML). A missing type counts
/// as HTML when the body looks like markup.
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
/// pass (no DOM is built): the `<title>`, the base URL and the
/// links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageScan {
    /// The text of the first `<title>`, character references expanded,
    /// whitespace collapsed; `None` when absent or empty.
    pub title: Option<String>,
    /// The first `<base href>` resolved against the page URL (if http or
    /// https), else the page URL: what relative links resolve against.
    pub base: Url,
    /// The http(s) links (`a[href]`, `area[href]`, `link[href]`, those
    /// inside `<noscript>` too), resolved against `base`, fragments
    /// dropped, each once, in document order; at most the scan's cap (see
    /// `scan_capped`).
    pub links: Vec<Url>,
    /// The page had more links than the cap: the rest were not
    /// resolved.
    pub capped: bool,
    /// For each of `links`: whether it carries `rel="nofollow"` (every
    /// time it occurs on the page).
    pub rel_nofollow: Vec<bool>,
    /// The first `<link rel="canonical" href>`, resolved (http(s) only).
    pub canonical: Option<Url>,
    /// The `<meta name content>` tags that may hold robots directives
    /// (content mentioning `no`, e.g. `noindex`, `nofollow`, `none`):
    /// name lower-cased, content with character references expanded.
    /// [`Response::robots_directives`](crate::Response::robots_directives)
    /// reads them with the `X-Robots-Tag` headers into
    /// [`Directives`](crate::Directives).
    pub robots_meta: Vec<(String, String)>,
    /// The content of the first `<meta http-equiv="refresh">` (see
    /// `directives::Refresh`).
    pub refresh: Option<String>,
    /// The page's requisites, when the scan looked for them
    /// ([`Config::page_requisites`](crate::Config::page_requisites);
    /// empty otherwise): what its elements embed (images and every
    /// `srcset` candidate, scripts, frames, media, objects, icons,
    /// stylesheets, preloads, table and body backgrounds, SVG images) and the `url(...)`/`@import` of its `<style>` blocks
    /// and `style` attributes, resolved like `links`, each once in
    /// document order, at most the link cap (more set
    /// `requisites_capped`).
    pub requisites: Vec<Url>,
    /// The page embeds more requisites than the link cap: the rest were
    /// not resolved (`links` may be whole; see `capped`).
    pub requisites_capped: bool,
}

/// Whether a `rel` value holds the token `token`.
fn rel_has(rel: &str, token: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|t| t.eq_ignore_ascii_case(token))
}

/// What the `<meta>` tags found: robots candidates and the refresh.
#[derive(Default, Debug, PartialEq)]
struct Metas {
    robots: Vec<(String, String)>,
    refresh: Option<String>,
}

impl Metas {
    /// One `<meta>` with these (decoded) attributes: with a `name`, a
    /// robots candidate; else perhaps the refresh.
    fn add(&mut self, name: Option<&str>, http_equiv: Option<&str>, content: Option<&str>) {
        let Some(content) = content else { return };
        if let Some(name) = name {
            if content.len() < 1024 && content.to_ascii_lowercase().contains("no") {
                self.robots
                    .push((name.trim().to_ascii_lowercase(), content.to_owned()));
            }
            return;
        }
        if self.refresh.is_none()
            && http_equiv.is_some_and(|h| h.trim().eq_ignore_ascii_case("refresh"))
        {
            self.refresh = Some(content.to_owned());
        }
    }
}

/// Scans a decoded HTML document (see [`PageScan`]). Never fails: any
/// text is a document (markup cut off at the end is dropped), and the
/// scan holds no stack of open elements, so nesting costs no memory.
///
/// The tokenizer hands out attribute values and text as written, so character
/// references are expanded here by the WHATWG rules (those for attribute
/// values differ: `&amp;b=2` is `&b=2`, but `&copy=2` stays as is).
pub fn scan(html: &str, page: &Url) -> PageScan {
    scan_capped(html, page, usize::MAX)
}

/// [`scan`], keeping the first `max_links` links only (and saying so in
/// [`PageScan::capped`]): a page with a million links costs a million URL
/// parses and a million requests offered to the frontier, not its bytes.
pub fn scan_capped(html: &str, page: &Url, max_links: usize) -> PageScan {
    scan_in(html, page, max_links, encoding_rs::UTF_8)
}

/// [`scan_capped`] of a page in `charset`: its links' queries are
/// encoded in it (see [`join_in`]).
pub fn scan_in(html: &str, page: &Url, max_links: usize, charset: &'static Encoding) -> PageScan {
    scan_with(html, page, max_links, charset, false)
}

/// [`scan_in`], and with `requisites` the page's requisites too (see
/// [`PageScan::requisites`]).
pub(crate) fn scan_with(
    html: &str,
    page: &Url,
    max_links: usize,
    charset: &'static Encoding,
    requisites: bool,
) -> PageScan {
    scan_found(page, stream(html, requisites, true), max_links, charset)
}

/// The scan of a page whose base, links (`a`, `area`, `link`) and
/// title another tokenizer found, as written: the HTML parse benchmark
/// runs lol_html through it, so that only the tokenizers differ.
pub(crate) fn scan_of_parts(
    page: &Url,
    base: Option<String>,
    hrefs: Vec<String>,
    title: String,
) -> PageScan {
    let found = Streamed {
        base,
        hrefs: hrefs.into_iter().map(|h| (h, false)).collect(),
        title,
        ..Streamed::default()
    };
    scan_found(page, found, usize::MAX, encoding_rs::UTF_8)
}

/// [`scan_with`] after its streaming pass.
fn scan_found(
    page: &Url,
    found: Streamed,
    max_links: usize,
    charset: &'static Encoding,
) -> PageScan {
    let base_href = found.base.map(htmlize::unescape_attribute);
    let canonical = found.canonical.map(htmlize::unescape_attribute);
    finish(
        page,
        base_href.as_deref(),
        found
            .hrefs
            .into_iter()
            .map(|(h, nf)| (htmlize::unescape_attribute(h), nf)),
        canonical.as_deref(),
        &htmlize::unescape(found.title),
        found.metas,
        max_links,
        charset,
        found.embeds,
    )
}

/// The `<noscript>` elements of a page whose content is scanned, in
/// both scans: each costs a parser of its own (a few microseconds), so a
/// page of a million of them would hold the loop for seconds; real pages
/// have a handful (analytics pixels, lazy-load fallbacks).
const MAX_NOSCRIPTS: usize = 256;

/// What one streaming pass found, as written (character references not
/// expanded yet, but in `embeds`).
#[derive(Default, Debug, PartialEq)]
struct Streamed {
    base: Option<String>,
    hrefs: Vec<(String, bool)>,
    canonical: Option<String>,
    metas: Metas,
    title: String,
    embeds: Vec<String>,
}

/// The streaming pass of [`scan_with`]. With `noscript`, the content of
/// each `<noscript>` is scanned too, for links and requisites only, in
/// its place: the tokenizer (like a browser running scripts) reads it as
/// raw text, but solo-crawl runs no scripts, so it sees what a client
/// without scripts sees, as wget, Scrapy (lxml) and SEO crawlers do
/// (pagination fallbacks, lazy-load `<img>` fallbacks, stylesheets).
fn stream(html: &str, requisites: bool, noscript: bool) -> Streamed {
    let mut scan = Streamer {
        requisites,
        noscript,
        found: Streamed::default(),
        title_state: 0,
        in_title: false,
        in_style: false,
        in_noscript: false,
        noscripts: 0,
    };
    crate::html_tokens::tokenize(html, &mut scan);
    scan.found
}

/// What [`stream`] keeps while the tokenizer runs.
struct Streamer {
    requisites: bool,
    noscript: bool,
    found: Streamed,
    /// The first `<title>` only: 0 before it, 1 inside, 2 after its text.
    title_state: u8,
    in_title: bool,
    in_style: bool,
    in_noscript: bool,
    /// `<noscript>`s scanned so far (at most [`MAX_NOSCRIPTS`]).
    noscripts: usize,
}

impl crate::html_tokens::Sink for Streamer {
    fn start_tag(&mut self, tag: &crate::html_tokens::StartTag<'_, '_>) {
        let found = &mut self.found;
        match tag.name {
            "base" if found.base.is_none() => {
                found.base = tag.attr("href").map(str::to_owned);
            }
            "a" | "area" | "link" => {
                if let Some(h) = tag.attr("href") {
                    let rel = tag.attr("rel").map(htmlize::unescape_attribute);
                    let rel = rel.as_deref().unwrap_or("");
                    if tag.name == "link" && found.canonical.is_none() && rel_has(rel, "canonical")
                    {
                        found.canonical = Some(h.to_owned());
                    }
                    found.hrefs.push((h.to_owned(), rel_has(rel, "nofollow")));
                }
            }
            "meta" => {
                if let Some(content) = tag.attr("content") {
                    let name = tag.attr("name");
                    // A meta with a name is not a pragma: look no further.
                    let equiv = name.is_none().then(|| tag.attr("http-equiv")).flatten();
                    if name.is_some() || equiv.is_some() {
                        let name = name.map(htmlize::unescape_attribute);
                        let equiv = equiv.map(htmlize::unescape_attribute);
                        found.metas.add(
                            name.as_deref(),
                            equiv.as_deref(),
                            Some(&htmlize::unescape_attribute(content)),
                        );
                    }
                }
            }
            "title" => {
                if self.title_state == 0 {
                    self.title_state = 1;
                }
                self.in_title = true;
            }
            "style" => self.in_style = true,
            "noscript" => self.in_noscript = true,
            _ => {}
        }
        // Every element: `element` takes only what an element embeds
        // (the DOM scan selects the same ones with `requisites::SELECTOR`).
        if self.requisites {
            let attr = |name: &str| {
                tag.attr(name)
                    .map(|v| htmlize::unescape_attribute(v).into_owned())
            };
            crate::requisites::element(tag.name, attr, &mut self.found.embeds);
        }
    }

    fn end_tag(&mut self, name: &str) {
        match name {
            "title" => self.in_title = false,
            "style" => self.in_style = false,
            "noscript" => self.in_noscript = false,
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_title && self.title_state == 1 {
            self.found.title.push_str(text);
            self.title_state = 2;
        }
        if self.requisites && self.in_style {
            crate::requisites::css(text, &mut self.found.embeds);
        }
        if self.noscript && self.in_noscript && self.noscripts < MAX_NOSCRIPTS {
            self.noscripts += 1;
            let inner = stream(text, self.requisites, false);
            self.found.hrefs.extend(inner.hrefs);
            self.found.embeds.extend(inner.embeds);
        }
    }
}

/// [`scan`] of a document already parsed into a DOM (scraper): the same
/// result without a second pass. [`Response`](crate::Response) uses it
/// when a spider's CSS selection has built the DOM first.
pub fn scan_dom(doc: &scraper::Html, page: &Url) -> PageScan {
    scan_dom_capped(doc, page, usize::MAX)
}

/// [`scan_dom`] keeping the first `max_links` links (see `scan_capped`).
pub fn scan_dom_capped(doc: &scraper::Html, page: &Url, max_links: usize) -> PageScan {
    scan_dom_in(doc, page, max_links, encoding_rs::UTF_8)
}

/// [`scan_dom_capped`] of a page in `charset` (see [`scan_in`]).
pub fn scan_dom_in(
    doc: &scraper::Html,
    page: &Url,
    max_links: usize,
    charset: &'static Encoding,
) -> PageScan {
    scan_dom_with(doc, page, max_links, charset, false)
}

/// [`scan_dom_in`], with the requisites as [`scan_with`] finds them.
pub(crate) fn scan_dom_with(
    doc: &scraper::Html,
    page: &Url,
    max_links: usize,
    charset: &'static Encoding,
    requisites: bool,
) -> PageScan {
    use scraper::Selector;
    use std::sync::OnceLock;
    static SELECTORS: OnceLock<[Selector; 4]> = OnceLock::new();
    let [base, links, title, meta] = SELECTORS.get_or_init(|| {
        [
            "base[href]",
            "a[href], area[href], link[href], noscript",
            "title",
            "meta[content]",
        ]
        .map(|css| Selector::parse(css).expect("built-in selector"))
    });
    let base_href = doc.select(base).next().and_then(|b| b.value().attr("href"));
    let mut canonical = None;
    let mut hrefs: Vec<(Cow<str>, bool)> = Vec::new();
    // What each <noscript> embeds, in order, for the requisites below.
    let mut noscript_embeds = Vec::new();
    for e in doc.select(links) {
        let el = e.value();
        if el.name() == "noscript" {
            if noscript_embeds.len() == MAX_NOSCRIPTS {
                continue;
            }
            let inner = noscript_content(e, requisites);
            let decoded = inner.hrefs.into_iter();
            hrefs.extend(decoded.map(|(h, nf)| (htmlize::unescape_attribute(h), nf)));
            noscript_embeds.push(inner.embeds);
            continue;
        }
        let Some(href) = el.attr("href") else {
            continue;
        };
        let rel = el.attr("rel").unwrap_or("");
        if canonical.is_none() && el.name() == "link" && rel_has(rel, "canonical") {
            canonical = Some(href);
        }
        hrefs.push((Cow::Borrowed(href), rel_has(rel, "nofollow")));
    }
    let mut metas = Metas::default();
    for m in doc.select(meta) {
        let el = m.value();
        metas.add(el.attr("name"), el.attr("http-equiv"), el.attr("content"));
    }
    let title: String = doc
        .select(title)
        .next()
        .map(|t| t.text().collect())
        .unwrap_or_default();
    let mut embeds = Vec::new();
    if requisites {
        static EMBEDS: OnceLock<Selector> = OnceLock::new();
        let sel = EMBEDS.get_or_init(|| {
            Selector::parse(&format!("{}, style, noscript", crate::requisites::SELECTOR))
                .expect("built-in selector")
        });
        let mut noscript_embeds = noscript_embeds.into_iter();
        for e in doc.select(sel) {
            let el = e.value();
            if el.name() == "noscript" {
                embeds.extend(noscript_embeds.next().unwrap_or_default());
                continue;
            }
            // `xlink:href` is a namespaced attribute in the DOM: matched
            // by its prefix, as the streaming scan matches its name.
            let attr = |name: &str| match name.split_once(':') {
                Some((prefix, local)) => el
                    .attrs
                    .iter()
                    .find(|(q, _)| q.prefix.as_deref() == Some(prefix) && &*q.local == local)
                    .map(|(_, v)| v.to_string()),
                None => el.attr(name).map(str::to_owned),
            };
            crate::requisites::element(el.name(), attr, &mut embeds);
            if el.name() == "style" {
                crate::requisites::css(&e.text().collect::<String>(), &mut embeds);
            }
        }
    }
    finish(
        page, base_href, hrefs, canonical, &title, metas, max_links, charset, embeds,
    )
}

/// What a `<noscript>` of a DOM holds, scanned as the streaming scan
/// scans it: html5ever (scripting on, as in a browser running scripts)
/// keeps its content as text, which is markup to a client without
/// scripts.
fn noscript_content(e: scraper::ElementRef<'_>, requisites: bool) -> Streamed {
    stream(&e.text().collect::<String>(), requisites, false)
}

/// The common end of both scans, on decoded strings: resolve the base and
/// the links and requisites, drop the rest, collapse the title's whitespace.
#[allow(clippy::too_many_arguments)] // the parts both scans found
fn finish<I, S>(
    page: &Url,
    base_href: Option<&str>,
    hrefs: I,
    canonical: Option<&str>,
    title: &str,
    metas: Metas,
    max_links: usize,
    charset: &'static Encoding,
    embeds: Vec<String>,
) -> PageScan
where
    I: IntoIterator<Item = (S, bool)>,
    S: AsRef<str>,
{
    let base = base_href
        .and_then(|h| join_in(page, h.trim(), charset).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page.clone());
    let resolve = |h: &str| {
        let mut u = join_in(&base, h.trim(), charset).ok()?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return None;
        }
        u.set_fragment(None);
        Some(u)
    };
    // Indexes into `links`, by their URL's hash.
    let state = hashbrown::DefaultHashBuilder::default();
    let mut seen = hashbrown::HashTable::<usize>::new();
    let mut links: Vec<Url> = Vec::new();
    let mut rel_nofollow = Vec::new();
    let mut capped = false;
    for (h, nofollow) in hrefs {
        let Some(u) = resolve(h.as_ref()) else {
            continue;
        };
        let hash = state.hash_one(u.as_str());
        let same = |&i: &usize| links[i].as_str() == u.as_str();
        let rehash = |&i: &usize| state.hash_one(links[i].as_str());
        match seen.entry(hash, same, rehash) {
            // Followable if any of its links is.
            hashbrown::hash_table::Entry::Occupied(i) => rel_nofollow[*i.get()] &= nofollow,
            hashbrown::hash_table::Entry::Vacant(v) => {
                if links.len() == max_links {
                    capped = true;
                    break;
                }
                v.insert(links.len());
                links.push(u);
                rel_nofollow.push(nofollow);
            }
        }
    }
    let (requisites, requisites_capped) =
        crate::requisites::resolve(&base, embeds, max_links, charset);
    let words: Vec<&str> = title.split_whitespace().collect();
    PageScan {
        requisites,
        title: (!words.is_empty()).then(|| words.join(" ")),
        canonical: canonical.and_then(resolve),
        base,
        links,
        rel_nofollow,
        robots_meta: metas.robots,
        refresh: metas.refresh,
        capped,
        requisites_capped,
    }
}

#[cfg(test)]
#[path = "links_lol_tests.rs"]
mod lol_tests;

#[cfg(test)]
#[path = "links_tests.rs"]
mod tests;

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use super::meta_charset;
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::links::decode;
        assert_eq!(
            decode(b"caf\xe9", Some("text/html; charset=ISO-8859-1")),
            "café"
        );
        assert_eq!(
            decode(b"<meta charset=latin1>caf\xe9", None),
            "<meta charset=latin1>café"
        );
        // Not UTF-8, no charset named: windows-1252.
        assert_eq!(decode(b"bad \xff utf-8", None), "bad \u{ff} utf-8");
    }

    #[test]
    fn example_2() {
        use solo_crawl::links::is_html;
        assert!(is_html(Some("text/html; charset=utf-8"), b""));
        assert!(is_html(Some("application/xhtml+xml"), b""));
        assert!(!is_html(Some("application/json"), b"<a href=x>"));
        assert!(is_html(None, b"  <!doctype html><p>"));
        assert!(!is_html(None, b"%PDF-1.4"));
    }

    #[test]
    fn example_3() {
        let page = url::Url::parse("http://a.test/dir/page").unwrap();
        let s = solo_crawl::links::scan(
            r#"<title> Tom &amp; Jerry </title><base href="/sub/"><a href="x?a=1&amp;b=2#f">x</a>"#,
            &page,
        );
        assert_eq!(s.title.as_deref(), Some("Tom & Jerry"));
        assert_eq!(s.base.as_str(), "http://a.test/sub/");
        assert_eq!(s.links[0].as_str(), "http://a.test/sub/x?a=1&b=2");
    }

    #[test]
    fn example_4() {
        let page = url::Url::parse("http://a.test/").unwrap();
        let s = solo_crawl::links::scan(
            r#"<a href="/b">1</a><a href="/c#x">2</a><link rel=next href="/b"><a href="mailto:x@y">m</a>
               <script>var s = '<a href="/in-script">';</script><!-- <a href="/in-comment"> -->"#,
            &page,
        );
        let links: Vec<&str> = s.links.iter().map(|u| u.as_str()).collect();
        assert_eq!(links, ["http://a.test/b", "http://a.test/c"]);
        assert_eq!(s.title, None);
    }

    #[test]
    fn example_5() {
        let page = url::Url::parse("http://a.test/").unwrap();
        let html = "<a href=/1>1</a><a href=/1#x>1</a><a href=/2>2</a><a href=/3>3</a>";
        let s = solo_crawl::links::scan_capped(html, &page, 2);
        assert_eq!(s.links.len(), 2);
        assert!(s.capped);
        assert!(!solo_crawl::links::scan_capped(html, &page, 3).capped);
    }

    #[test]
    fn example_6() {
        let page = url::Url::parse("http://a.test/").unwrap();
        let html = r#"<title>A &amp; B</title><a href="/x?a=1&amp;b=2">x</a>"#;
        let dom = scraper::Html::parse_document(html);
        assert_eq!(
            solo_crawl::links::scan_dom(&dom, &page),
            solo_crawl::links::scan(html, &page)
        );
    }

    #[test]
    fn example_7() {
        let page = url::Url::parse("http://a.test/").unwrap();
        let dom = scraper::Html::parse_document("<a href=/1>1</a><a href=/2>2</a>");
        assert!(solo_crawl::links::scan_dom_capped(&dom, &page, 1).capped);
    }

    #[test]
    fn meta_charset_prescan() {
        let name = |html: &str| meta_charset(html.as_bytes()).map(|e| e.name());
        assert_eq!(
            name(r#"<html><META CharSet="ISO-8859-1">"#),
            Some("windows-1252")
        );
        assert_eq!(name("<meta charset = 'shift_jis' />"), Some("Shift_JIS"));
        assert_eq!(
            name(r#"<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">"#),
            Some("KOI8-R")
        );
        // The first <meta> naming a known charset wins; others are skipped.
        assert_eq!(
            name(r#"<meta name=x><meta charset="nonsense"><meta charset=utf-16le>"#),
            Some("UTF-8")
        );
        assert_eq!(name("<metadata charset=gbk>"), None);
        assert_eq!(name("<p>charset=gbk</p><meta name=charset>"), None);
        assert_eq!(name("<meta charset"), None);
        assert_eq!(name("no markup at all"), None);
        assert_eq!(meta_charset(b"<meta charset=\xff\xfe>"), None);
    }
}
